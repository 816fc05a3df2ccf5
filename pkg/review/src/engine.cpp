#include "harbormaster/review/engine.h"

#include <algorithm>
#include <mutex>

#include "harbormaster/net/task_group.h"

namespace hm::review {
namespace {

namespace asio = boost::asio;
using asio::awaitable;

// One lookup and what became of it. Written by its task, read by the pipeline once the group
// finished or the deadline passed: the task may outlive the review, so both share this.
struct Slot {
  std::shared_ptr<facts::Lookup> lookup;
  std::string source;
  std::optional<facts::Attach> found;
  Status failed;  // why the lookup did not run or finish
};

// Everything gathered for one distinct image.
struct ImageWork {
  size_t planned = 0;
  std::optional<imageref::Reference> ref;  // parsed; absent for an unparseable image
  bool resolve = false;                    // a tag whose digest someone needs
  bool forFacts = false;                   // ... a fact source (not only a message)
  std::string digest;                      // what the tag resolved to
  Status resolution;                       // why it could not be
  std::vector<std::shared_ptr<Slot>> slots;

  bool pending() const {
    return resolve || std::any_of(slots.begin(), slots.end(),
                                  [](const auto& s) { return !s->found && s->failed.ok(); });
  }
};

struct Work {
  std::mutex mu;
  std::vector<ImageWork> images;
};

awaitable<void> runLookup(std::shared_ptr<Work> work, std::shared_ptr<Slot> slot,
                          imageref::Reference pinned, Status resolution, Deadline deadline) {
  if (slot->lookup->needsDigest() && !resolution.ok()) {
    std::lock_guard lock(work->mu);
    slot->failed = resolution;
    co_return;
  }
  std::optional<facts::Attach> found;
  Status failed;
  try {
    found = co_await slot->lookup->run(std::move(pinned), deadline);
  } catch (const std::exception& e) {
    failed = internalError("the " + slot->source + " lookup failed: " + e.what());
  } catch (...) {
    failed = internalError("the " + slot->source + " lookup failed");
  }
  std::lock_guard lock(work->mu);
  slot->found = std::move(found);
  slot->failed = failed;
}

// What each source needs for each image of the plan.
Status resolutionError(const imageref::Reference& tag, const Status& s) {
  return Status(s.code(), "resolving " + tag.familiar() + ": " + s.message());
}

// The warm path: what the caches already know — the tag's digest, the facts for it — is taken
// synchronously, so a review whose facts are all cached starts no coroutine and no timer.
void takeCached(ImageWork& w, DigestResolver* resolver) {
  if (w.resolve && resolver) {
    if (auto known = resolver->cached(*w.ref, w.forFacts)) {
      w.resolve = false;
      if (known->ok()) {
        w.digest = **known;
      } else {
        w.resolution = resolutionError(*w.ref, known->status());
      }
    }
  }
  if (w.resolve) {
    return;  // the digest is not known yet
  }
  imageref::Reference pinned = *w.ref;
  if (!w.digest.empty()) {
    pinned.digest = w.digest;
  }
  for (auto& slot : w.slots) {
    if (slot->lookup->needsDigest() && !pinned.isPinned()) {
      continue;
    }
    if (auto attach = slot->lookup->cached(pinned)) {
      slot->found = std::move(*attach);
    }
  }
}

// Whether a tag may be resolved only to name its digest in a fix: on Harbor's hosts or one a
// policy that judges the image names in spec.registries, never on a host the request chose.
bool fixResolvable(const policy::PlannedImage& planned, const EngineSettings& settings) {
  const std::string& host = planned.ref->registry;
  if (std::find(settings.fixHosts.begin(), settings.fixHosts.end(), host) !=
      settings.fixHosts.end()) {
    return true;
  }
  return std::any_of(
      planned.judging.begin(), planned.judging.end(), [&](const policy::ImagePolicy* p) {
        return std::find(p->registries.begin(), p->registries.end(), host) != p->registries.end();
      });
}

std::shared_ptr<Work> planLookups(const policy::ReviewPlan& plan,
                                  const std::vector<std::shared_ptr<facts::Source>>& sources,
                                  const std::shared_ptr<const policy::PolicySet>& policies,
                                  GatherOptions options, const EngineSettings& settings,
                                  DigestResolver* resolver, const RefusedObserver& refused) {
  const bool resolveForFixes = settings.digestFixBudget.count() > 0;
  auto work = std::make_shared<Work>();
  for (size_t i = 0; i < plan.images.size(); ++i) {
    const policy::PlannedImage& planned = plan.images[i];
    ImageWork& w = work->images.emplace_back();
    w.planned = i;
    if (!planned.ref.ok()) {
      continue;  // evaluate() reports an unparseable reference itself
    }
    w.ref = *planned.ref;
    facts::ImageQuery query{planned, policies, options.dryRun, options.inspect};
    // A Pod image that a Pin policy rewrites needs its real digest, within the whole deadline.
    w.forFacts = planned.wantsPin();
    for (const auto& source : sources) {
      for (auto& lookup : source->plan(query)) {
        w.forFacts = w.forFacts || lookup->needsDigest();
        w.slots.push_back(std::make_shared<Slot>(
            Slot{std::move(lookup), std::string(source->name()), std::nullopt, okStatus()}));
      }
    }
    bool forFix = resolveForFixes && planned.wantsDigest();
    if (forFix && !w.forFacts && !fixResolvable(planned, settings)) {
      forFix = false;  // the fix says @sha256:<digest>
      if (refused) {
        refused(kRefusedFixHost);
      }
    }
    w.resolve = !w.ref->isPinned() && (w.forFacts || forFix);
    // A digest known to run is what the image is judged at, and what a fix names.
    if (auto known = options.knownDigests.find(planned.image);
        !w.ref->isPinned() && known != options.knownDigests.end()) {
      w.resolve = false;
      w.digest = known->second;
    }
    takeCached(w, resolver);
  }
  return work;
}

// An image that is not looked up: every lookup and the resolution say why ("could not check"
// under each policy's mode, never a pass).
void refuse(ImageWork& w, const Status& why) {
  if (w.resolve) {
    w.resolve = false;
    w.resolution = why;
  }
  for (auto& slot : w.slots) {
    if (!slot->found && slot->failed.ok()) {
      slot->failed = why;
    }
  }
}

// Holds one place among the replica's images in flight for as long as its lookups run.
class InFlight {
 public:
  // Null when `max` are under way already.
  static std::shared_ptr<InFlight> take(std::shared_ptr<std::atomic<size_t>> count, size_t max) {
    size_t now = count->load();
    do {
      if (now >= max) {
        return nullptr;
      }
    } while (!count->compare_exchange_weak(now, now + 1));
    return std::make_shared<InFlight>(std::move(count));
  }
  explicit InFlight(std::shared_ptr<std::atomic<size_t>> count) : count_(std::move(count)) {}
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;
  ~InFlight() { count_->fetch_sub(1); }

 private:
  std::shared_ptr<std::atomic<size_t>> count_;
};

// One image: its tag resolved (once, for every source), then all its lookups at once.
awaitable<void> gatherImage(std::shared_ptr<DigestResolver> resolver, std::shared_ptr<Work> work,
                            size_t i, Deadline deadline, Deadline resolveBy,
                            std::shared_ptr<InFlight> held) {
  (void)held;  // kept in the frame: the image counts as in flight until its lookups end
  imageref::Reference pinned;
  bool resolve = false, forFacts = false;
  Status resolution;
  std::vector<std::shared_ptr<Slot>> slots;
  {
    std::lock_guard lock(work->mu);
    const ImageWork& w = work->images[i];
    pinned = *w.ref;
    if (!w.digest.empty()) {
      pinned.digest = w.digest;
    }
    resolve = w.resolve;
    forFacts = w.forFacts;
    resolution = w.resolution;
    for (const auto& slot : w.slots) {
      if (!slot->found) {
        slots.push_back(slot);
      }
    }
  }
  if (resolve && !resolver) {
    resolution = unavailable("resolving " + pinned.familiar() + ": no registry access");
  } else if (resolve) {
    auto digest = co_await resolver->resolve(pinned, forFacts, resolveBy);
    if (digest.ok()) {
      pinned.digest = *digest;
      std::lock_guard lock(work->mu);
      work->images[i].digest = *digest;
    } else {
      resolution = resolutionError(pinned, digest.status());
    }
  }
  if (!resolution.ok()) {
    std::lock_guard lock(work->mu);
    work->images[i].resolution = resolution;  // why, for the uses (a pin must say)
  }
  std::vector<net::Task> lookups;
  for (const auto& slot : slots) {
    lookups.push_back([work, slot, pinned, resolution, deadline]() {
      return runLookup(work, slot, pinned, resolution, deadline);
    });
  }
  co_await net::runConcurrently(std::move(lookups));
}

// Puts what every lookup found, or why it did not finish, on every use of its image. Under the
// lock: a lookup cut at the deadline may still finish on another thread.
void attachFound(Work& work, const policy::ReviewPlan& plan,
                 std::vector<policy::ImageUse>& images) {
  std::lock_guard lock(work.mu);
  for (const ImageWork& w : work.images) {
    for (size_t u : plan.images[w.planned].uses) {
      policy::ImageUse& use = images[u];
      if (use.resolvedDigest.empty()) {
        use.resolvedDigest = w.digest;
      }
      if (use.resolvedDigest.empty() && !w.resolution.ok()) {
        use.unresolved = w.resolution.message();
      }
      for (const auto& slot : w.slots) {
        facts::Attach attach;
        if (slot->found) {
          attach = *slot->found;
        } else if (!slot->failed.ok()) {
          attach = slot->lookup->unfinished(slot->failed);
        } else {
          attach = slot->lookup->unfinished(deadlineExceeded(
              "the " + slot->source + " lookup did not finish within the review deadline"));
        }
        attach(use);
      }
    }
  }
}

}  // namespace

Engine::Engine(std::vector<std::shared_ptr<facts::Source>> sources,
               std::shared_ptr<DigestResolver> resolver, EngineSettings settings,
               const Clock& clock, RefusedObserver refused)
    : sources_(std::move(sources)),
      resolver_(std::move(resolver)),
      settings_(std::move(settings)),
      clock_(&clock),
      refused_(std::move(refused)),
      inFlight_(std::make_shared<std::atomic<size_t>>(0)) {}

awaitable<Gathered> Engine::gather(std::vector<policy::ImageUse> images, std::string ns,
                                   std::shared_ptr<const policy::PolicySet> policies,
                                   Deadline deadline, GatherOptions options) {
  Gathered out;
  out.plan = policy::planReview(*policies, ns, images);
  out.images = std::move(images);
  auto work =
      planLookups(out.plan, sources_, policies, options, settings_, resolver_.get(), refused_);
  // A tag resolved only to name its digest in a fix gets the short budget.
  const Deadline fixBy =
      std::min(deadline, std::chrono::steady_clock::now() + settings_.digestFixBudget);
  std::vector<net::Task> tasks;
  std::optional<Status> overPerReview;
  for (size_t i = 0; i < work->images.size(); ++i) {
    ImageWork& w = work->images[i];
    if (!w.ref || !w.pending()) {
      continue;
    }
    // Outbound work is bounded per review and per replica; what is over is refused now (no
    // task, no connection), and its images are "could not check".
    std::string_view over;
    std::shared_ptr<InFlight> held;
    if (tasks.size() >= settings_.maxImageLookupsPerReview) {
      over = kRefusedPerReview;
      // One Status for all of them: a forged review can be over by thousands of images.
      if (!overPerReview) {
        overPerReview = resourceExhausted("not looked up: the request names more than " +
                                          std::to_string(settings_.maxImageLookupsPerReview) +
                                          " images that need registry or Harbor lookups");
      }
      refuse(w, *overPerReview);
    } else if (!(held = InFlight::take(inFlight_, settings_.maxImageLookupsInFlight))) {
      over = kRefusedInFlight;
      refuse(w, resourceExhausted(
                    "not looked up: " + std::to_string(settings_.maxImageLookupsInFlight) +
                    " image lookups are under way in this replica"));
    }
    if (!over.empty()) {
      if (refused_) {
        refused_(over);
      }
      continue;
    }
    const Deadline resolveBy = w.forFacts ? deadline : fixBy;
    tasks.push_back([resolver = resolver_, work, i, deadline, resolveBy, held]() {
      return gatherImage(resolver, work, i, deadline, resolveBy, held);
    });
  }
  if (!tasks.empty()) {
    co_await net::runConcurrently(std::move(tasks), deadline);
  }
  attachFound(*work, out.plan, out.images);
  co_return out;
}

awaitable<admission::Outcome> Engine::review(std::string body,
                                             std::shared_ptr<const policy::PolicySet> policies,
                                             Deadline deadline) {
  auto decoded = admission::decode(body);
  if (!decoded.ok()) {
    co_return admission::invalid(decoded.status());
  }
  admission::Request request = std::move(decoded).value();
  if (request.handled) {
    Gathered g = co_await gather(std::move(request.images), request.ns, policies, deadline,
                                 {.dryRun = request.dryRun, .inspect = false, .knownDigests = {}});
    request.images = std::move(g.images);
    co_return admission::respond(std::move(request), *policies, g.plan, clock_->wallNow());
  }
  co_return admission::respond(std::move(request), *policies, clock_->wallNow());
}

awaitable<admission::Outcome> Engine::mutate(std::string body,
                                             std::shared_ptr<const policy::PolicySet> policies,
                                             Deadline deadline) {
  auto decoded = admission::decode(body);
  if (!decoded.ok()) {
    co_return admission::invalid(decoded.status());
  }
  admission::Request request = std::move(decoded).value();
  if (!admission::mutationTarget(request)) {
    co_return admission::mutate(std::move(request), policy::ReviewPlan{});
  }
  const GatherOptions options{
      .dryRun = true, .inspect = false, .knownDigests = {}};  // named: GCC 12
  Gathered g = co_await gather(std::move(request.images), request.ns, policies, deadline, options);
  request.images = std::move(g.images);
  co_return admission::mutate(std::move(request), g.plan);
}

void Engine::invalidate(const std::string& digest) {
  for (const auto& source : sources_) {
    source->invalidate(digest);
  }
}

void Engine::forgetTag(const std::string& repositoryTag) {
  if (resolver_) {
    resolver_->forget(repositoryTag);
  }
}

}  // namespace hm::review
