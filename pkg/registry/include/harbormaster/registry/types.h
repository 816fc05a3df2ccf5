// OCI distribution values: descriptors, manifests and indexes, parsed from untrusted JSON.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harbormaster/base/status.h"

namespace hm::registry {

inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";

struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;
};

struct Descriptor {
  std::string mediaType;
  std::string digest;
  int64_t size = 0;
  std::string artifactType;
  std::map<std::string, std::string> annotations;
  std::optional<Platform> platform;
};

struct Manifest {
  std::string digest;     // verified against the bytes
  std::string mediaType;  // from the body, else from Content-Type
  std::string body;       // the exact bytes the digest covers
  bool isIndex = false;
  std::string artifactType;
  std::optional<Descriptor> config;   // image manifests
  std::vector<Descriptor> layers;     // image manifests
  std::vector<Descriptor> manifests;  // indexes
  std::optional<Descriptor> subject;  // OCI 1.1 referrers
  std::map<std::string, std::string> annotations;
};

// Parses a manifest or index body. `contentType` is used when the body has no mediaType.
// Wrong types, missing digests and unknown media types are errors naming the field.
StatusOr<Manifest> parseManifest(std::string_view body, std::string_view contentType);

// "sha256:<hex>" of bytes, for "sha256" or "sha512".
StatusOr<std::string> digestOf(std::string_view algorithm, std::string_view bytes);
// Recomputes `expected`'s algorithm over bytes and compares.
Status verifyDigest(std::string_view expected, std::string_view bytes, std::string_view what);

}  // namespace hm::registry
