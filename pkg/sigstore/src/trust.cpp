#include "harbormaster/sigstore/trust.h"

#include "proto_json.h"

#include <nlohmann/json.hpp>

#include "harbormaster/base/encoding.h"
#include "harbormaster/base/time.h"

namespace hm::sigstore {
namespace {

using nlohmann::json;

StatusOr<TimeRange> parseRange(const json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("start") || !j["start"].is_string()) {
    return invalidArgument(where + ": validFor has no start");
  }
  TimeRange r;
  auto start = parseRfc3339(j["start"].get<std::string>());
  if (!start.ok()) {
    return start.status().withContext(where + ": validFor.start");
  }
  r.start = *start;
  if (j.contains("end")) {
    auto end = parseRfc3339(j.value("end", ""));
    if (!end.ok()) {
      return end.status().withContext(where + ": validFor.end");
    }
    r.end = *end;
  }
  return r;
}

StatusOr<std::string> bytesField(const json& j, const char* key, const std::string& where) {
  auto decoded = base64Decode(j.is_object() ? j.value(key, "") : "");
  if (!decoded || decoded->empty()) {
    return invalidArgument(where + ": " + key + " is missing or not base64");
  }
  return *decoded;
}

StatusOr<std::vector<TransparencyLog>> parseLogs(const json& list, const std::string& what) {
  std::vector<TransparencyLog> out;
  for (size_t i = 0; i < list.size(); ++i) {
    const json& l = list[i];
    std::string where = what + "[" + std::to_string(i) + "]";
    TransparencyLog log;
    log.baseUrl = l.value("baseUrl", "");
    log.hashAlgorithm = l.value("hashAlgorithm", "SHA2_256");
    auto raw = bytesField(l.value("publicKey", json::object()), "rawBytes", where + ".publicKey");
    if (!raw.ok()) {
      return raw.status();
    }
    auto key = PublicKey::fromDer(*raw);
    if (!key.ok()) {
      return key.status().withContext(where + ".publicKey");
    }
    log.key = std::move(*key);
    auto id = bytesField(l.value("logId", json::object()), "keyId", where + ".logId");
    if (!id.ok()) {
      return id.status();
    }
    log.logId = std::move(*id);
    auto range = parseRange(l["publicKey"].value("validFor", json()), where + ".publicKey");
    if (!range.ok()) {
      return range.status();
    }
    log.validFor = *range;
    out.push_back(std::move(log));
  }
  return out;
}

StatusOr<std::vector<CertificateAuthority>> parseAuthorities(const json& list,
                                                             const std::string& what) {
  std::vector<CertificateAuthority> out;
  for (size_t i = 0; i < list.size(); ++i) {
    const json& a = list[i];
    std::string where = what + "[" + std::to_string(i) + "]";
    CertificateAuthority ca;
    ca.uri = a.value("uri", "");
    for (const json& c :
         a.value("certChain", json::object()).value("certificates", json::array())) {
      auto der = bytesField(c, "rawBytes", where + ".certChain");
      if (!der.ok()) {
        return der.status();
      }
      ca.chainDer.push_back(std::move(*der));
    }
    if (ca.chainDer.empty()) {
      return invalidArgument(where + ": certChain is empty");
    }
    auto range = parseRange(a.value("validFor", json()), where);
    if (!range.ok()) {
      return range.status();
    }
    ca.validFor = *range;
    out.push_back(std::move(ca));
  }
  return out;
}

}  // namespace

static StatusOr<TrustedRoot> parseTrustedRoot(std::string_view text) {
  json j = parseProtoJson(text);
  if (j.is_discarded() || !j.is_object()) {
    return invalidArgument("the trusted root is not a JSON object");
  }
  TrustedRoot root;
  auto tlogs = parseLogs(j.value("tlogs", json::array()), "tlogs");
  auto ctlogs = parseLogs(j.value("ctlogs", json::array()), "ctlogs");
  auto cas =
      parseAuthorities(j.value("certificateAuthorities", json::array()), "certificateAuthorities");
  auto tsas =
      parseAuthorities(j.value("timestampAuthorities", json::array()), "timestampAuthorities");
  for (const Status* s : {&tlogs.status(), &ctlogs.status(), &cas.status(), &tsas.status()}) {
    if (!s->ok()) {
      return s->withContext("trusted root");
    }
  }
  root.tlogs = std::move(*tlogs);
  root.ctlogs = std::move(*ctlogs);
  root.certificateAuthorities = std::move(*cas);
  root.timestampAuthorities = std::move(*tsas);
  return root;
}

TrustedRoot TrustedRoot::withRekorKey(PublicKey key, WallTime start) {
  TrustedRoot root;
  TransparencyLog log;
  log.logId = key.logId();
  log.key = std::move(key);
  log.validFor.start = start;
  root.tlogs.push_back(std::move(log));
  return root;
}

const TransparencyLog* TrustedRoot::tlog(std::string_view logId) const {
  for (const auto& l : tlogs) {
    if (l.logId == logId) {
      return &l;
    }
  }
  return nullptr;
}

// JSON of the wrong shape (a number where a string belongs) makes nlohmann throw; at this
// boundary that is a malformed input, reported as such.
StatusOr<TrustedRoot> TrustedRoot::parse(std::string_view text) {
  try {
    return parseTrustedRoot(text);
  } catch (const nlohmann::json::exception& e) {
    return invalidArgument(std::string("the trusted root is malformed: ") + e.what());
  }
}

}  // namespace hm::sigstore
