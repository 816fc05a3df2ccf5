// Fake fact sources, resolver and policies for the review pipeline's unit tests.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>

#include "harbormaster/net/flight.h"
#include "harbormaster/review/engine.h"

namespace hm::review::testing {

namespace asio = boost::asio;
using asio::awaitable;

using LookupBody =
    std::function<awaitable<facts::Attach>(imageref::Reference pinned, facts::Deadline deadline)>;

// A lookup whose run() is the test's; unfinished() attaches scan facts that say why.
class FakeLookup final : public facts::Lookup {
 public:
  FakeLookup(LookupBody body, bool needsDigest,
             std::function<std::optional<facts::Attach>(const imageref::Reference&)> cache)
      : body_(std::move(body)), needs_(needsDigest), cache_(std::move(cache)) {}
  bool needsDigest() const override { return needs_; }
  std::optional<facts::Attach> cached(const imageref::Reference& pinned) override {
    return cache_ ? cache_(pinned) : std::nullopt;
  }
  awaitable<facts::Attach> run(imageref::Reference pinned, facts::Deadline deadline) override {
    facts::Attach attach = co_await body_(std::move(pinned), deadline);
    co_return attach;
  }
  facts::Attach unfinished(const Status& why) const override {
    return [why](policy::ImageUse& use) {
      auto f = std::make_shared<policy::ScanFacts>();
      f->source = policy::ScanFacts::Source::kUnreachable;
      f->error = why.message();
      use.scan = f;
    };
  }

 private:
  LookupBody body_;
  bool needs_;
  std::function<std::optional<facts::Attach>(const imageref::Reference&)> cache_;
};

// A source with one lookup per image (when `wants` says so), recording what it was asked.
class FakeSource final : public facts::Source {
 public:
  FakeSource(std::string name, LookupBody body) : name_(std::move(name)), body_(std::move(body)) {}
  std::string_view name() const override { return name_; }
  std::vector<std::shared_ptr<facts::Lookup>> plan(const facts::ImageQuery& q) override {
    std::lock_guard lock(mu_);
    queries.push_back({q.image.image, q.dryRun, q.inspect});
    if (!q.image.ref.ok() || !wants(q)) {
      return {};
    }
    return {std::make_shared<FakeLookup>(body_, needsDigest, cache)};
  }
  void invalidate(const std::string& digest) override {
    std::lock_guard lock(mu_);
    invalidated.push_back(digest);
  }

  struct Query {
    std::string image;
    bool dryRun;
    bool inspect;
  };
  std::function<bool(const facts::ImageQuery&)> wants = [](const facts::ImageQuery&) {
    return true;
  };
  bool needsDigest = true;
  // What the source's cache knows (the warm path); empty: nothing.
  std::function<std::optional<facts::Attach>(const imageref::Reference&)> cache;
  std::vector<Query> queries;
  std::vector<std::string> invalidated;

 private:
  std::string name_;
  LookupBody body_;
  std::mutex mu_;
};

class FakeResolver final : public DigestResolver {
 public:
  explicit FakeResolver(StatusOr<std::string> answer) : answer_(std::move(answer)) {}
  awaitable<StatusOr<std::string>> resolve(imageref::Reference tag, bool forFacts,
                                           Deadline) override {
    ++calls;
    lastForFacts = forFacts;
    lastTag = tag.normalized();
    co_return answer_;
  }
  std::optional<StatusOr<std::string>> cached(const imageref::Reference&, bool) override {
    if (!cachedAnswer) {
      return std::nullopt;
    }
    return *cachedAnswer;
  }
  std::optional<StatusOr<std::string>> cachedAnswer;  // the warm path; empty: ask
  std::atomic<int> calls{0};
  std::atomic<bool> lastForFacts{false};
  std::string lastTag;

 private:
  StatusOr<std::string> answer_;
};

inline const std::string kDigest = "sha256:" + std::string(64, 'a');

// Scan facts of a clean, scanned image.
inline facts::Attach cleanScan(const std::string& digest) {
  auto f = std::make_shared<policy::ScanFacts>();
  f->digest = digest;
  policy::ArtifactScan a;
  a.digest = digest;
  a.state = policy::ScanState::kSuccess;
  a.status = "Success";
  f->artifacts.push_back(a);
  return [f](policy::ImageUse& use) { use.scan = f; };
}

// A policy judging namespace shop: spec.vulnerabilities (severity High), digests not required.
inline std::shared_ptr<const policy::PolicySet> scanPolicy(
    policy::DigestRule digest = policy::DigestRule::kOptional) {
  auto set = std::make_shared<policy::PolicySet>();
  policy::ImagePolicy p;
  p.name = "scanned";
  p.match.namespaces = {"shop"};
  p.digest = digest;
  p.vulnerabilities = policy::VulnerabilityRule{};
  p.vulnerabilities->severity = 4;
  set->policies.push_back(p);
  return set;
}

inline std::string podReview(const std::vector<std::string>& images, bool dryRun = false) {
  nlohmann::json containers = nlohmann::json::array();
  for (size_t i = 0; i < images.size(); ++i) {
    containers.push_back({{"name", "c" + std::to_string(i)}, {"image", images[i]}});
  }
  nlohmann::json doc = {{"apiVersion", "admission.k8s.io/v1"},
                        {"kind", "AdmissionReview"},
                        {"request",
                         {{"uid", "uid-1"},
                          {"kind", {{"group", ""}, {"version", "v1"}, {"kind", "Pod"}}},
                          {"resource", {{"group", ""}, {"version", "v1"}, {"resource", "pods"}}},
                          {"operation", "CREATE"},
                          {"namespace", "shop"},
                          {"name", "web"},
                          {"dryRun", dryRun},
                          {"object",
                           {{"apiVersion", "v1"},
                            {"kind", "Pod"},
                            {"metadata", {{"name", "web"}, {"namespace", "shop"}}},
                            {"spec", {{"containers", containers}}}}}}}};
  return doc.dump();
}

}  // namespace hm::review::testing
