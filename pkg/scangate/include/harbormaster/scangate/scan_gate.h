// ScanGate: Harbor scan facts for pinned images, cached by digest, one Harbor lookup per digest
// at a time; and ScanSource, which offers them to the review pipeline as a fact source.
//
//   auto gate = ScanGate::create(harborClient, {.url = "https://harbor.example.com"}, {});
//   std::shared_ptr<const policy::ScanFacts> facts =
//       co_await (*gate)->facts(pinnedRef, /*triggerScan=*/false, deadline);
//
// facts() never fails: what went wrong is in ScanFacts::source and ::error (unreachable,
// credentials, not found), so the policy decides what an outage means. Keyed by
// repository@digest (the pipeline resolves tags once for every source): Success facts live
// `ttl`, other states `negativeTtl`, and entries stay `keepStale` longer to serve
// harborUnreachable: AllowIfCached. A project's metadata and allowlist, and the system
// allowlist, are cached apart (`projectTtl`), so a fresh digest in a known project costs one
// round of concurrent calls (artifact and its vulnerability report), plus one for the platforms
// of an index.
#pragma once

#include "harbormaster/net/client.h"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "harbormaster/base/clock.h"
#include "harbormaster/base/status.h"
#include "harbormaster/facts/module.h"
#include "harbormaster/facts/source.h"
#include "harbormaster/imageref/reference.h"
#include "harbormaster/policy/evaluate.h"
#include "harbormaster/policy/scan.h"

namespace hm::harbor {
class Client;
}

namespace hm::scangate {

struct HarborEndpoint {
  std::string url;  // https://harbor.example.com, for messages and UI links
  // host[:port] names its registry is reached by (the URL's authority among them).
  std::vector<std::string> registryHosts;
};

struct CacheOptions {
  std::chrono::seconds ttl{60};
  std::chrono::seconds negativeTtl{10};
  std::chrono::seconds keepStale{3600};
  std::chrono::seconds projectTtl{60};
  size_t maxEntries = 10000;
};

// Hooks for metrics; any may be empty.
struct Observer {
  // endpoint: artifact, vulnerabilities, project, system_allowlist, scan.
  std::function<void(std::string_view endpoint, double seconds, bool ok)> harborCall;
  std::function<void(bool hit)> cacheLookup;
};

using Deadline = std::chrono::steady_clock::time_point;

class ScanGate {
 public:
  static StatusOr<std::unique_ptr<ScanGate>> create(std::shared_ptr<harbor::Client> harbor,
                                                    HarborEndpoint endpoint, CacheOptions cache,
                                                    Observer observer = {},
                                                    const Clock& clock = Clock::system());
  virtual ~ScanGate() = default;

  // Whether images from this reference's registry are looked up in our Harbor.
  virtual bool serves(const imageref::Reference& ref) const = 0;
  virtual const std::string& harborUrl() const = 0;
  // `pinned` names a digest. `triggerScan`: ask Harbor to scan an unscanned image (policy
  // notScanned: ScanAndDeny).
  virtual boost::asio::awaitable<std::shared_ptr<const policy::ScanFacts>> facts(
      imageref::Reference pinned, bool triggerScan, Deadline deadline) = 0;
  // The fresh cached facts facts() would return, without a lookup; null when there are none.
  virtual std::shared_ptr<const policy::ScanFacts> cached(const imageref::Reference& pinned,
                                                          bool triggerScan) = 0;
  // Forgets every cached entry for this digest (a Harbor event said it changed).
  virtual void invalidate(const std::string& digest) = 0;
};

// The fact source for spec.vulnerabilities: a lookup for every image a policy with
// spec.vulnerabilities judges (with ImageQuery::inspect, for every image on our Harbor). Images
// from other registries get kNotHarbor facts without a call. Dry runs never trigger a scan;
// their facts say one would have been requested.
std::shared_ptr<facts::Source> makeScanSource(std::shared_ptr<ScanGate> gate);

// The module (facts/module.h): --scan-cache-ttl and --scan-negative-ttl; metrics
// harbormaster_harbor_request_duration_seconds{endpoint},
// harbormaster_harbor_request_errors_total{endpoint} and
// harbormaster_scan_cache_lookups_total{result}; no source without Harbor.
std::shared_ptr<facts::SourceModule> sourceModule();

}  // namespace hm::scangate
