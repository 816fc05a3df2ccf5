// Finding an image's cosign signatures in a registry (shared/sigstore/FORMATS.md §1.1, §2.3).
#pragma once

#include "harbormaster/net/client.h"

#include <string>
#include <vector>

#include "harbormaster/registry/client.h"
#include "harbormaster/sigstore/verify.h"

namespace hm::signaturegate {

struct Candidate {
  bool isBundle = false;
  std::string bundle;            // Sigstore bundle JSON (isBundle)
  sigstore::LegacyLayer legacy;  // a simple-signing layer (!isBundle)
};

// Every signature of `digest` kept in `repo`: bundle layers of its referrers and the
// simple-signing layers of its "sha256-<hex>.sig" manifest: at most `max` signatures, read from
// at most `max` referrer manifests. NotFound anywhere means "none there"; any other registry
// error is returned.
boost::asio::awaitable<StatusOr<std::vector<Candidate>>> discoverSignatures(
    registry::Client& registry, imageref::Reference repo, std::string digest, size_t max,
    registry::Deadline deadline);

}  // namespace hm::signaturegate
