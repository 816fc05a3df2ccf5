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

// How a registry host is compared everywhere — policy matching (match.images, exclude,
// registries, exception images), Harbor host detection, credentials and plain-HTTP lists: lower
// case (host names are case-insensitive, as the container runtime treats them), ":443" dropped
// (HTTPS's own port: a registry on 443 is reached over HTTPS), and Docker Hub's other names
// (index.docker.io, registry-1.docker.io) as docker.io. parse() puts every Reference::registry
// in this form.
std::string normalizeHost(std::string_view host);

// `text` with its first '/'-separated part normalised as above when that part names a registry
// host by Docker's rule (has '.' or ':', is localhost, has upper case, is a bracketed IPv6
// address); otherwise unchanged. For image globs: "HARBOR.example.com:443/p/*" →
// "harbor.example.com/p/*".
std::string normalizeLeadingHost(std::string_view text);

// Validates "algorithm:hex" on its own (sha256 with 64, sha512 with 128 lower-case hex digits).
Status validateDigest(std::string_view digest);

}  // namespace hm::imageref
