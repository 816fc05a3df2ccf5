// SignatureGate: which of a policy's attestors signed an image, found in the registry and
// verified offline, cached by (signature repository, digest, rule); and SignatureSource, which
// offers the verdicts to the review pipeline as a fact source.
//
//   SignatureGate gate(registryClient, {});
//   std::shared_ptr<const policy::SignatureFacts> facts = co_await gate.facts(ref, rule, deadline);
//
// Discovery follows shared/sigstore/FORMATS.md: OCI 1.1 referrers (the referrers API, else the
// "sha256-<hex>" fallback index) whose manifests name the digest as subject — every layer whose
// mediaType starts with application/vnd.dev.sigstore.bundle is a candidate, whatever the
// artifactType says — and the legacy "sha256-<hex>.sig" tag, whose simple-signing layers are
// candidates. Every blob is fetched by digest and checked. An attestor is verified when any
// candidate verifies with its keys or identities; otherwise its reason is the most telling
// failure (a broken or misdirected signature before someone else's).
//
// facts() never fails: a registry that cannot be asked gives Source::kUnreachable ("could not
// check signatures"), never "unsigned", and is not cached. Verdicts that satisfy the rule live
// `positiveTtl` (a digest never changes), others `negativeTtl` (someone may sign it now).
// Concurrent calls for one key share one discovery and verification (facts::FactCache). The
// referrers and the legacy .sig manifest are asked together, then every referrer manifest and
// legacy payload together: two round trips for a legacy signature, three for a bundle.
#pragma once

#include "harbormaster/net/client.h"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "harbormaster/base/clock.h"
#include "harbormaster/facts/module.h"
#include "harbormaster/facts/source.h"
#include "harbormaster/imageref/reference.h"
#include "harbormaster/policy/evaluate.h"
#include "harbormaster/registry/client.h"

namespace hm::signaturegate {

struct Options {
  std::chrono::seconds positiveTtl{24 * 3600};
  std::chrono::seconds negativeTtl{30};
  size_t maxEntries = 10000;
  // Signatures looked at per digest; more (e.g. a flood of junk referrers) are ignored.
  size_t maxCandidates = 32;
};

// Hooks for metrics; any may be empty.
struct Observer {
  std::function<void(bool hit)> cacheLookup;
  // outcome: verified, unverified, unreachable
  std::function<void(std::string_view outcome, double seconds)> lookup;
};

using Deadline = std::chrono::steady_clock::time_point;

class SignatureGate {
 public:
  SignatureGate(std::shared_ptr<registry::Client> registry, Options options, Observer observer = {},
                const Clock& clock = Clock::system());
  ~SignatureGate();
  SignatureGate(const SignatureGate&) = delete;
  SignatureGate& operator=(const SignatureGate&) = delete;

  // `rule` is read during the call only. The pipeline passes pinned references; a tag is
  // resolved here, uncached.
  boost::asio::awaitable<std::shared_ptr<const policy::SignatureFacts>> facts(
      imageref::Reference ref, const policy::SignatureRule& rule, Deadline deadline);

  // The fresh cached verdict facts() would return for a pinned reference, without a lookup;
  // null when there is none.
  std::shared_ptr<const policy::SignatureFacts> cached(const imageref::Reference& pinned,
                                                       const policy::SignatureRule& rule);

  size_t cachedVerdicts() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// The fact source for spec.signatures: one lookup per image and rule that judges it.
std::shared_ptr<facts::Source> makeSignatureSource(std::shared_ptr<SignatureGate> gate);

// The module (facts/module.h): --signature-cache-ttl and --signature-negative-ttl; metrics
// harbormaster_signature_cache_lookups_total{result} and
// harbormaster_signature_lookup_duration_seconds{outcome}; reads every registry.
std::shared_ptr<facts::SourceModule> sourceModule();

}  // namespace hm::signaturegate
