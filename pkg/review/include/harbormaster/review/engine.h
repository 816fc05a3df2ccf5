// The review engine: what the webhook, `harbormaster check` and (next) the operator's
// compliance pass call to judge images.
//
//   auto engine = review::connect(executor, options);                  // one connection, all
//   sources admission::Outcome out = co_await (*engine)->review(body, policies, deadline);
//   // or, for images without an AdmissionReview (check):
//   review::Gathered g = co_await (*engine)->gather(images, ns, policies, deadline, {});
//   policy::Evaluation ev = policy::evaluate(*policies, ns, g.images, g.plan, now);
//
// A review runs decode → plan (every reference parsed once, the judging policies found once:
// policy::planReview) → gather (each tag resolved to its digest once; every lookup of every fact
// source for every image started together, cut at the deadline) → judge (policy::evaluate, pure)
// → respond (admission::respond). A lookup that did not finish is attached as "could not check",
// never as a pass. docs/architecture.md describes the pipeline and how to add a fact source.
#pragma once

#include "harbormaster/net/client.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harbormaster/admission/review.h"
#include "harbormaster/base/clock.h"
#include "harbormaster/facts/module.h"
#include "harbormaster/facts/source.h"
#include "harbormaster/harbor/connect.h"
#include "harbormaster/policy/evaluate.h"
#include "harbormaster/registry/client.h"

namespace hm::review {

using Deadline = std::chrono::steady_clock::time_point;

// Resolves tags to the digests they point to now.
class DigestResolver {
 public:
  virtual ~DigestResolver() = default;
  // `forFacts`: a fact source needs the digest, so a failure remembered for messages only is not
  // reused (the registry is asked again).
  virtual boost::asio::awaitable<StatusOr<std::string>> resolve(imageref::Reference tag,
                                                                bool forFacts,
                                                                Deadline deadline) = 0;
  // What resolve() would answer from its cache alone; nullopt when it would have to ask.
  virtual std::optional<StatusOr<std::string>> cached(const imageref::Reference& tag,
                                                      bool forFacts) {
    (void)tag;
    (void)forFacts;
    return std::nullopt;
  }
  // A tag moved (Harbor's push event): "project/repository:tag", on whichever registry host.
  virtual void forget(const std::string& repositoryTag) { (void)repositoryTag; }
};

struct DigestOptions {
  // How long a tag's digest is reused; tags move, so briefly.
  std::chrono::seconds tagTtl{10};
  // How long a failed resolution is reused where only a message needs the digest.
  std::chrono::seconds failureTtl{10};
  size_t maxEntries = 10000;
};

// Through the registry client (its credentials, token cache and connections).
std::shared_ptr<DigestResolver> makeRegistryResolver(std::shared_ptr<registry::Client> registry,
                                                     DigestOptions options,
                                                     const Clock& clock = Clock::system());

struct EngineSettings {
  // A tag under a policy that requires digests is resolved only to name the real digest in the
  // fix; that may take at most this long (and never past the review deadline). Zero: never.
  std::chrono::milliseconds digestFixBudget{2'000};
  // ... and only on these registry hosts (Harbor's, normalised) or one a judging policy names in
  // spec.registries: a request names any host it likes, and a fix is no reason to call it.
  std::vector<std::string> fixHosts;
  // Distinct images one review may send out lookups for (tag resolution and fact lookups
  // together); an image beyond it is "could not check" under each policy's mode. A Pod names a
  // handful; a forged AdmissionReview can name thousands on hosts of its choosing.
  size_t maxImageLookupsPerReview = 64;
  // Images whose lookups are under way in this replica at once, across reviews (a lookup cut at
  // its review's deadline counts until it ends); beyond it, "could not check" at once rather
  // than a queue that grows.
  size_t maxImageLookupsInFlight = 512;
};

// Why the engine did not look an image up (harbormaster_image_lookups_refused_total{reason}).
inline constexpr std::string_view kRefusedPerReview = "per_review_limit";
inline constexpr std::string_view kRefusedInFlight = "in_flight_limit";
inline constexpr std::string_view kRefusedFixHost = "fix_host_not_trusted";

struct GatherOptions {
  bool dryRun = false;   // no side effects: no scan requests
  bool inspect = false;  // sources gather what they can even when no policy asks (check)
  // Image (as written) → the digest it is known to run at (the kubelet's imageID), taken
  // instead of resolving the tag: what runs is judged, wherever the tag points now.
  std::map<std::string, std::string> knownDigests;
};

// Images with their facts attached, and the plan they were gathered by (evaluate() takes it).
struct Gathered {
  std::vector<policy::ImageUse> images;
  policy::ReviewPlan plan;
};

// Counts what the engine refused (reason: one of the kRefused* constants).
using RefusedObserver = std::function<void(std::string_view reason)>;

class Engine {
 public:
  // `resolver` may be null: tags then stay unresolved (their facts say why).
  Engine(std::vector<std::shared_ptr<facts::Source>> sources,
         std::shared_ptr<DigestResolver> resolver, EngineSettings settings = {},
         const Clock& clock = Clock::system(), RefusedObserver refused = {});

  boost::asio::awaitable<Gathered> gather(std::vector<policy::ImageUse> images, std::string ns,
                                          std::shared_ptr<const policy::PolicySet> policies,
                                          Deadline deadline, GatherOptions options);

  // A whole AdmissionReview: decoded, planned, gathered, judged and answered. Never fails: a
  // body that is no AdmissionReview gets the 400 outcome.
  boost::asio::awaitable<admission::Outcome> review(
      std::string body, std::shared_ptr<const policy::PolicySet> policies, Deadline deadline);
  // The mutating webhook: a Pod's images that digest: Pin policies judge, resolved and pinned
  // (admission::mutate). Gathers as a dry run (no side effects, sideEffects: None) and warms the
  // caches the validating review of the pinned Pod then hits.
  boost::asio::awaitable<admission::Outcome> mutate(
      std::string body, std::shared_ptr<const policy::PolicySet> policies, Deadline deadline);

  // A Harbor event said this digest changed: every source forgets it.
  void invalidate(const std::string& digest);
  // ... or that this tag ("project/repository:tag") moved: its resolution is forgotten, so the
  // next review asks the registry instead of pinning the old digest for --tag-digest-ttl.
  void forgetTag(const std::string& repositoryTag);

  const Clock& clock() const { return *clock_; }
  // Images whose lookups are under way now (at most EngineSettings::maxImageLookupsInFlight).
  size_t imageLookupsInFlight() const { return inFlight_->load(); }

 private:
  std::vector<std::shared_ptr<facts::Source>> sources_;
  std::shared_ptr<DigestResolver> resolver_;
  EngineSettings settings_;
  const Clock* clock_;
  RefusedObserver refused_;
  // Images with lookups under way (shared with the tasks, which may outlive a review).
  std::shared_ptr<std::atomic<size_t>> inFlight_;
};

// Where Harbor is and how to reach it: one connection (HTTP client, credentials, CA, token
// cache) serves every fact source and tag resolution.
// Harbor's URL, CA, credentials and registry hosts: the operator's connection too.
using HarborConnection = harbor::Connection;

struct EngineOptions {
  std::optional<HarborConnection> harbor;  // without it, sources that need Harbor stay off
  // Local registries without TLS (never production registries).
  std::vector<std::string> plainHttpRegistries;
  // The fact source modules, their flags already set (cmd/harbormaster/sources.cpp lists them).
  std::vector<std::shared_ptr<facts::SourceModule>> sources;
  DigestOptions digests;
  EngineSettings settings;
};

struct EngineObserver {
  RefusedObserver refused;
  // Where the source modules register their metric families; null: none (check).
  std::shared_ptr<prometheus::Registry> metrics;
};

// Builds the one connection and every module's source on it. Images on our Harbor are read
// with Harbor's credentials and CA (plus the system trust store), other registries anonymously.
StatusOr<std::unique_ptr<Engine>> connect(boost::asio::any_io_executor executor,
                                          EngineOptions options, EngineObserver observer = {},
                                          const Clock& clock = Clock::system());

}  // namespace hm::review
