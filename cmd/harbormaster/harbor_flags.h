// The flags that connect `webhook` and `check` to Harbor.
#pragma once

#include <optional>
#include <set>
#include <string>

#include "flags.h"
#include "harbormaster/scangate/scan_gate.h"
#include "harbormaster/signaturegate/signature_gate.h"

namespace hm::cli {

// --harbor-url U [--harbor-ca F] [--harbor-credentials-file F] [--registry-host H]...
// [--scan-cache-ttl D] [--scan-negative-ttl D]
extern const std::set<std::string> kHarborFlags;
// For signatures (any registry; webhook and check):
// [--plain-http-registry H]... [--signature-cache-ttl D] [--signature-negative-ttl D]
extern const std::set<std::string> kSignatureFlags;

struct HarborFlags {
  std::optional<scangate::HarborConnection> connection;  // absent without --harbor-url
  scangate::CacheOptions cache;
  signaturegate::Options signatures;
  std::vector<std::string> plainHttpRegistries;  // local registries without TLS (never production)
};

// Credentials come from --harbor-credentials-file (one line "username:password", as a mounted
// Secret holds it) or else HARBOR_USERNAME / HARBOR_PASSWORD.
StatusOr<HarborFlags> parseHarborFlags(const Flags& flags);

// The registry client signatures are looked up with: any registry, anonymously, except Harbor's
// hosts, which get Harbor's credentials and CA (on top of the system trust store).
StatusOr<std::unique_ptr<signaturegate::SignatureGate>> makeSignatureGate(
    boost::asio::any_io_executor executor, const HarborFlags& flags,
    signaturegate::Observer observer = {});

}  // namespace hm::cli
