// ScanGate: Harbor scan facts for images, cached by digest, one Harbor lookup per digest at a
// time.
//
//   auto gate = ScanGate::create(executor, {.url = "https://harbor.example.com", …}, {});
//   std::shared_ptr<const policy::ScanFacts> facts =
//       co_await (*gate)->facts(ref, /*triggerScan=*/false, deadline);
//
// facts() never fails: what went wrong is in ScanFacts::source and ::error (unreachable,
// credentials, not found), so the policy decides what an outage means. Tags are resolved to
// digests through the registry; everything after that is keyed by repository@digest:
// Success facts live `ttl`, other states `negativeTtl`, and entries stay `keepStale` longer to
// serve harborUnreachable: AllowIfCached. Concurrent calls for one key share one lookup.
#pragma once

#include "harbormaster/net/client.h"  // first: it works around a Boost 1.74 header

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "harbormaster/base/status.h"
#include "harbormaster/imageref/reference.h"
#include "harbormaster/policy/evaluate.h"
#include "harbormaster/policy/scan.h"

namespace hm::scangate {

struct HarborConnection {
  std::string url;     // https://harbor.example.com
  std::string caFile;  // PEM bundle; empty: the system trust store
  std::string username;
  std::string password;
  // Other host[:port] names the Harbor's registry is reached by (the URL's host always is).
  std::vector<std::string> registryHosts;
};

struct CacheOptions {
  std::chrono::seconds ttl{60};
  std::chrono::seconds negativeTtl{10};
  std::chrono::seconds keepStale{3600};
  size_t maxEntries = 10000;
};

// Hooks for metrics; any may be empty.
struct Observer {
  // endpoint: resolve, artifact, vulnerabilities, project, system_allowlist, scan.
  std::function<void(std::string_view endpoint, double seconds, bool ok)> harborCall;
  std::function<void(bool hit)> cacheLookup;
};

using Deadline = std::chrono::steady_clock::time_point;

class ScanGate {
 public:
  static StatusOr<std::unique_ptr<ScanGate>> create(boost::asio::any_io_executor executor,
                                                    HarborConnection harbor, CacheOptions cache,
                                                    Observer observer = {});
  virtual ~ScanGate() = default;

  // Whether images from this reference's registry are looked up in our Harbor.
  virtual bool serves(const imageref::Reference& ref) const = 0;
  virtual const std::string& harborUrl() const = 0;
  // `triggerScan`: ask Harbor to scan an unscanned image (policy notScanned: ScanAndDeny).
  virtual boost::asio::awaitable<std::shared_ptr<const policy::ScanFacts>> facts(
      imageref::Reference ref, bool triggerScan, Deadline deadline) = 0;
  // Forgets every cached entry for this digest (a Harbor event said it changed).
  virtual void invalidate(const std::string& digest) = 0;
};

// A Harbor webhook notification (Default or CloudEvents payload format) → the digests whose
// cached facts it makes stale: SCANNING_COMPLETED/FAILED/STOPPED, PUSH_ARTIFACT and
// DELETE_ARTIFACT (harbor.scan.completed, … as CloudEvents). Other event types give an empty
// list; a body that is no Harbor event is InvalidArgument.
StatusOr<std::vector<std::string>> digestsInvalidatedBy(std::string_view body);

// Looks up scan facts for every image a policy with spec.vulnerabilities judges, and fills
// ImageUse::scan (and resolvedDigest for tags). Images from other registries get kNotHarbor
// facts. With no gate, nothing is filled and evaluate() says Harbor is not configured.
boost::asio::awaitable<void> attachScanFacts(ScanGate* gate, const policy::PolicySet& policies,
                                             std::string ns, std::vector<policy::ImageUse>& images,
                                             Deadline deadline);

}  // namespace hm::scangate
