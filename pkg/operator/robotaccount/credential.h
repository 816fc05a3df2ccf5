// What the master Secret (`harbormaster-robot-<RobotAccount>` in the operator's namespace)
// holds: the only copy of each robot's secret. One typed, versioned record with one reader and
// one writer; every layout ever written still reads.
//
//   Credential c = readCredential(secretData);   // base64-decoded data, any version
//   c.slot(c.active).password …
//   secretData = writeCredential(c);             // always the current version
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "harbormaster/base/status.h"

namespace hm::op::robotaccount {

// A RobotAccount uses two Harbor robots in turn: slot "a" (`<name>`) and slot "b" (`<name>.b`).
enum class SlotName { kA, kB };
SlotName other(SlotName s);
const char* slotKey(SlotName s);  // "a", "b"

struct Slot {
  int64_t id = 0;                   // Harbor's robot id; 0: no robot
  std::string username;             // as Harbor shows it: robot$<project>+<name>
  std::string password;             // empty: unknown (to be reset)
  std::string pending;              // chosen and stored, not yet confirmed by Harbor (write-ahead)
  int64_t expiresAt = -1;           // unix seconds; -1: never
  int64_t createdAt = 0;            // unix seconds, when we created or adopted it
  int64_t checkedGeneration = -1;   // the spec generation Harbor's record was last compared to
  std::optional<int64_t> retireAt;  // unix seconds: rotated out, deleted after the grace

  bool exists() const { return id != 0; }
  bool operator==(const Slot&) const = default;
};

struct Credential {
  // 1: flat keys (`a.id`, `retire.b`, …), before this record existed. 2: one JSON document.
  static constexpr int kVersion = 2;

  SlotName active = SlotName::kA;
  Slot a, b;
  std::string lastRotation;   // RFC 3339, empty before the first rotation
  std::string rotateRequest;  // the last harbormaster.io/rotate value acted on

  Slot& slot(SlotName s) { return s == SlotName::kA ? a : b; }
  const Slot& slot(SlotName s) const { return s == SlotName::kA ? a : b; }
  bool operator==(const Credential&) const = default;
};

// The data key of the current layout.
inline constexpr const char* kCredentialKey = "credential.json";

// Decoded Secret data (key → bytes) of any version → the record. An unreadable record is an
// error, never an empty credential: that would create new robots and lose the old ones.
StatusOr<Credential> readCredential(const std::map<std::string, std::string>& data);
std::map<std::string, std::string> writeCredential(const Credential& credential);

}  // namespace hm::op::robotaccount
