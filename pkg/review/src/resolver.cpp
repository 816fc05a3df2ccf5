#include "harbormaster/facts/fact_cache.h"
#include "harbormaster/registry/client.h"
#include "harbormaster/review/engine.h"

namespace hm::review {
namespace {

using boost::asio::awaitable;

// A resolution, kept whether it succeeded (tagTtl) or not (failureTtl, reused only for
// messages).
struct Resolution {
  std::string digest;
  Status error;
};

class RegistryResolver final : public DigestResolver {
 public:
  RegistryResolver(std::shared_ptr<registry::Client> registry, DigestOptions options,
                   const Clock& clock)
      : registry_(std::move(registry)),
        cache_({options.tagTtl, options.failureTtl, std::chrono::seconds(0), options.maxEntries},
               clock) {}

  awaitable<StatusOr<std::string>> resolve(imageref::Reference tag, bool forFacts,
                                           Deadline deadline) override {
    if (tag.isPinned()) {
      co_return tag.digest;
    }
    facts::FactCache<Resolution>::Accept accept = acceptFor(forFacts);
    // Only a message needs this digest: no review waits for someone else's lookup of it.
    const Deadline waitUntil = forFacts ? deadline : std::chrono::steady_clock::now();
    // Named first, awaited after: GCC 12 destroys temporaries inside a co_await expression
    // twice.
    facts::FactCache<Resolution>::Lookup lookup = [this, tag, deadline] {
      return lookUp(tag, deadline);
    };
    auto call = cache_.get(tag.normalized(), waitUntil, std::move(lookup), std::move(accept));
    auto got = co_await std::move(call);
    if (!got.status.ok()) {
      co_return got.status;
    }
    if (!got.value->error.ok()) {
      co_return got.value->error;
    }
    co_return got.value->digest;
  }

  std::optional<StatusOr<std::string>> cached(const imageref::Reference& tag,
                                              bool forFacts) override {
    if (tag.isPinned()) {
      return StatusOr<std::string>(tag.digest);
    }
    auto hit = cache_.peek(tag.normalized(), acceptFor(forFacts));
    if (!hit) {
      return std::nullopt;
    }
    if (!hit->error.ok()) {
      return StatusOr<std::string>(hit->error);
    }
    return StatusOr<std::string>(hit->digest);
  }

  // Keys are normalized references, "host/project/repository:tag": every host's entry goes.
  void forget(const std::string& repositoryTag) override {
    const std::string suffix = "/" + repositoryTag;
    cache_.eraseIf([&](const std::string& key) {
      return key.size() > suffix.size() &&
             key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0 &&
             key.find('/') == key.size() - suffix.size();
    });
  }

 private:
  // A failure remembered for messages is not good enough for a fact source.
  static facts::FactCache<Resolution>::Accept acceptFor(bool forFacts) {
    if (!forFacts) {
      return {};
    }
    return [](const Resolution& r) { return r.error.ok(); };
  }

  awaitable<StatusOr<facts::Looked<Resolution>>> lookUp(imageref::Reference tag,
                                                        Deadline deadline) {
    auto digest = co_await registry_->resolveDigest(tag, deadline);
    auto r = std::make_shared<Resolution>();
    if (digest.ok()) {
      r->digest = *digest;
    } else {
      r->error = digest.status();
    }
    co_return facts::Looked<Resolution>{r, digest.ok()};
  }

  std::shared_ptr<registry::Client> registry_;
  facts::FactCache<Resolution> cache_;
};

}  // namespace

std::shared_ptr<DigestResolver> makeRegistryResolver(std::shared_ptr<registry::Client> registry,
                                                     DigestOptions options, const Clock& clock) {
  return std::make_shared<RegistryResolver>(std::move(registry), options, clock);
}

}  // namespace hm::review
