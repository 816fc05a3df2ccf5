#include "robotaccount/credential.h"

#include <nlohmann/json.hpp>
#include <type_traits>

namespace hm::op::robotaccount {
namespace {

using nlohmann::json;
using Data = std::map<std::string, std::string>;

// Version 1 stored numbers as decimal strings; a damaged one reads as its default.
int64_t number(const Data& d, const std::string& key, int64_t fallback) {
  auto it = d.find(key);
  if (it == d.end()) {
    return fallback;
  }
  try {
    return std::stoll(it->second);
  } catch (const std::exception&) {
    return fallback;
  }
}

std::string text(const Data& d, const std::string& key) {
  auto it = d.find(key);
  return it == d.end() ? std::string() : it->second;
}

Slot readFlatSlot(const Data& d, const std::string& k) {
  Slot s;
  s.id = number(d, k + ".id", 0);
  s.username = text(d, k + ".username");
  s.password = text(d, k + ".password");
  s.pending = text(d, k + ".pending");
  s.expiresAt = number(d, k + ".expiresAt", -1);
  s.createdAt = number(d, k + ".createdAt", 0);
  s.checkedGeneration = number(d, k + ".checkedGeneration", -1);
  if (d.count("retire." + k)) {
    s.retireAt = number(d, "retire." + k, 0);
  }
  return s;
}

Credential readVersion1(const Data& d) {
  Credential c;
  c.active = text(d, "active") == "b" ? SlotName::kB : SlotName::kA;
  c.a = readFlatSlot(d, "a");
  c.b = readFlatSlot(d, "b");
  c.lastRotation = text(d, "lastRotation");
  c.rotateRequest = text(d, "rotateRequest");
  return c;
}

// A typed field or the default; a field of another JSON type is an error.
template <typename T>
Status field(const json& j, const char* key, T& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return okStatus();
  }
  // Whole numbers only: nlohmann converts a float (1e300) to an integer by a cast that is
  // undefined beyond the type's range (a fuzz finding).
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    if (!it->is_number_integer()) {
      return invalidArgument(std::string(key) + ": wrong type");
    }
  }
  try {
    out = it->get<T>();
  } catch (const json::exception&) {
    return invalidArgument(std::string(key) + ": wrong type");
  }
  return okStatus();
}

StatusOr<Slot> readSlot(const json& j) {
  Slot s;
  if (!j.is_object()) {
    return invalidArgument("a slot is not an object");
  }
  int64_t retire = 0;
  for (Status st :
       {field(j, "id", s.id), field(j, "username", s.username), field(j, "password", s.password),
        field(j, "pending", s.pending), field(j, "expiresAt", s.expiresAt),
        field(j, "createdAt", s.createdAt), field(j, "checkedGeneration", s.checkedGeneration),
        field(j, "retireAt", retire)}) {
    if (!st.ok()) {
      return st;
    }
  }
  if (j.contains("retireAt")) {
    s.retireAt = retire;
  }
  return s;
}

json writeSlot(const Slot& s) {
  json j = {{"id", s.id},
            {"username", s.username},
            {"password", s.password},
            {"expiresAt", s.expiresAt},
            {"createdAt", s.createdAt},
            {"checkedGeneration", s.checkedGeneration}};
  if (!s.pending.empty()) {
    j["pending"] = s.pending;
  }
  if (s.retireAt) {
    j["retireAt"] = *s.retireAt;
  }
  return j;
}

StatusOr<Credential> readVersion2(const std::string& document) {
  json j = json::parse(document, nullptr, false);
  if (!j.is_object()) {
    return invalidArgument(std::string(kCredentialKey) + " is not a JSON object");
  }
  int version = 0;
  if (!field(j, "version", version).ok() || version < 2) {
    return invalidArgument(std::string(kCredentialKey) + ": no valid version");
  }
  if (version > Credential::kVersion) {
    // Written by a newer operator (a rollback): refuse rather than drop what we cannot read.
    return failedPrecondition(std::string(kCredentialKey) + " has version " +
                              std::to_string(version) + "; this operator reads up to " +
                              std::to_string(Credential::kVersion));
  }
  Credential c;
  std::string active = "a";
  for (Status st : {field(j, "active", active), field(j, "lastRotation", c.lastRotation),
                    field(j, "rotateRequest", c.rotateRequest)}) {
    if (!st.ok()) {
      return st.withContext(kCredentialKey);
    }
  }
  c.active = active == "b" ? SlotName::kB : SlotName::kA;
  const json slots = j.value("slots", json::object());
  for (SlotName n : {SlotName::kA, SlotName::kB}) {
    if (slots.is_object() && slots.contains(slotKey(n))) {
      auto s = readSlot(slots[slotKey(n)]);
      if (!s.ok()) {
        return s.status().withContext(std::string(kCredentialKey) + ": slot " + slotKey(n));
      }
      c.slot(n) = *s;
    }
  }
  return c;
}

}  // namespace

SlotName other(SlotName s) {
  return s == SlotName::kA ? SlotName::kB : SlotName::kA;
}

const char* slotKey(SlotName s) {
  return s == SlotName::kA ? "a" : "b";
}

StatusOr<Credential> readCredential(const Data& data) {
  auto it = data.find(kCredentialKey);
  if (it != data.end()) {
    return readVersion2(it->second);
  }
  return readVersion1(data);
}

Data writeCredential(const Credential& c) {
  json slots = json::object();
  for (SlotName n : {SlotName::kA, SlotName::kB}) {
    if (c.slot(n) != Slot{}) {
      slots[slotKey(n)] = writeSlot(c.slot(n));
    }
  }
  json j = {{"version", Credential::kVersion}, {"active", slotKey(c.active)}, {"slots", slots}};
  if (!c.lastRotation.empty()) {
    j["lastRotation"] = c.lastRotation;
  }
  if (!c.rotateRequest.empty()) {
    j["rotateRequest"] = c.rotateRequest;
  }
  Data out;
  out[kCredentialKey] = j.dump();
  // The active credential also under plain keys, for people (kubectl get secret …) only; the
  // operator reads the record.
  const Slot& active = c.slot(c.active);
  if (!active.username.empty()) {
    out["username"] = active.username;
  }
  if (!active.password.empty()) {
    out["password"] = active.password;
  }
  return out;
}

}  // namespace hm::op::robotaccount
