// OCI / Docker image references: parsing, validation and normalisation.
//
//   auto ref = hm::imageref::parse("nginx:1.25");
//   ref->normalized()  == "docker.io/library/nginx:1.25"
//   ref->familiar()    == "nginx:1.25"
//   ref->isPinned()    == false
//
// The grammar is that of distribution/reference (the one the container runtimes use): a first
// path component is a registry host when it contains '.' or ':', is "localhost", or has upper
// case letters; otherwise the image lives on docker.io, and single-component names there get
// the "library/" prefix. A tag of "latest" is implied only when neither tag nor digest is given.
#pragma once

#include <string>
#include <string_view>

#include "harbormaster/base/status.h"

namespace hm::imageref {

inline constexpr std::string_view kDefaultRegistry = "docker.io";
inline constexpr size_t kMaxNameLength = 255;
inline constexpr size_t kMaxTagLength = 128;

struct Reference {
  std::string registry;     // host[:port], "docker.io" for Docker Hub, "[::1]:5000" for IPv6
  std::string repository;   // path below the registry, e.g. "library/nginx"
  std::string tag;          // empty when absent; "latest" when implied
  std::string digest;       // "sha256:<64 hex>" or "sha512:<128 hex>", empty when absent
  bool tagImplied = false;  // neither tag nor digest was written

  bool isPinned() const { return !digest.empty(); }
  // "registry/repository".
  std::string name() const;
  // "registry/repository[:tag][@digest]", with ":latest" where it is implied.
  std::string normalized() const;
  // The short form people write: "nginx:1.25", "acme/app@sha256:…", "harbor.example.com/a/b:1".
  std::string familiar() const;
  // "registry/repository@<digest>": what to write instead of a tag.
  std::string withDigest(std::string_view digest) const;
};

// Parses and normalises. An error names the offending part ("tag", "digest", "registry host",
// "path component") and the whole input.
StatusOr<Reference> parse(std::string_view text);

// Validates "algorithm:hex" on its own (sha256 with 64, sha512 with 128 lower-case hex digits).
Status validateDigest(std::string_view digest);

}  // namespace hm::imageref
