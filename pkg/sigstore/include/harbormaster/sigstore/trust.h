// A Sigstore trusted root (trusted_root.json, application/vnd.dev.sigstore.trustedroot+json):
// the transparency logs, CT logs, certificate authorities and timestamp authorities one trust
// domain (the public-good instance or a private one) vouches for, each with its validity.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harbormaster/base/status.h"
#include "harbormaster/sigstore/keys.h"

namespace hm::sigstore {

using WallTime = std::chrono::system_clock::time_point;

// Both ends inclusive; no end: open.
struct TimeRange {
  WallTime start;
  std::optional<WallTime> end;
  bool contains(WallTime t) const { return t >= start && (!end || t <= *end); }
};

struct TransparencyLog {
  std::string baseUrl;
  std::string logId;  // raw bytes (SHA-256 of the key's DER for Rekor v1)
  PublicKey key;
  std::string hashAlgorithm = "SHA2_256";
  TimeRange validFor;
};

struct CertificateAuthority {
  std::string uri;
  std::vector<std::string> chainDer;  // leaf-most first, root last
  TimeRange validFor;
};

struct TrustedRoot {
  std::vector<TransparencyLog> tlogs;
  std::vector<TransparencyLog> ctlogs;
  std::vector<CertificateAuthority> certificateAuthorities;
  std::vector<CertificateAuthority> timestampAuthorities;

  // Every entry is checked: a key that does not parse or a validity without a start is an error,
  // not a silently smaller trust set.
  static StatusOr<TrustedRoot> parse(std::string_view json);
  // A root that trusts one Rekor key from `start` on (cosign's SIGSTORE_REKOR_PUBLIC_KEY).
  static TrustedRoot withRekorKey(PublicKey key, WallTime start = {});

  const TransparencyLog* tlog(std::string_view logId) const;
};

}  // namespace hm::sigstore
