// The robot credential lifecycle as a pure function, in the way of webhookcert::plan(): what the
// master Secret holds, what Harbor showed during this reconcile, the spec and the time in; the
// next steps out. The reconciler runs the first step, folds its answer into the Situation and
// asks again, until the plan is empty.
//
//   Situation s = …;                      // credential from the master Secret, no facts yet
//   for (Plan p = plan(s); !p.actions.empty(); p = plan(s)) {
//     run(p.actions.front()) …            // Harbor/Kubernetes I/O, then advance(s, action)
//   }
//
// Guarantees the table tests check at every crash point:
// - no secret is lost: a secret Harbor generated is stored the moment it is returned; one we
//   choose is stored (pending) before Harbor hears of it;
// - no robot is created twice: before creating, the robot's name is looked up (an attempt whose
//   answer was lost left it there) and adopted;
// - rotation never breaks a pull: the incoming robot is in every pull secret before it becomes
//   active, and the outgoing one is deleted only after the grace period.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "harbormaster/base/time.h"
#include "harbormaster/harbor/model.h"
#include "harbormaster/operator/spec.h"
#include "robotaccount/credential.h"

namespace hm::op::robotaccount {

enum class Probe { kUnknown, kAccepted, kRejected };

// What Harbor said about one slot during this reconcile (nothing is carried across reconciles).
struct HarborFacts {
  Probe probe = Probe::kUnknown;       // does Harbor accept the stored secret?
  std::optional<harbor::Robot> robot;  // Harbor's record, once read
  bool robotGone = false;              // the read found no such robot
  bool searched = false;               // the robot's name was looked up …
  std::optional<harbor::Robot> found;  // … and found (made by an attempt whose answer was lost)
};

struct Situation {
  std::string owner;  // the RobotAccount's name
  int64_t generation = 1;
  RobotAccountSpec spec;
  std::string projectName;       // as Harbor knows it
  std::string rotateAnnotation;  // harbormaster.io/rotate, empty when absent
  Credential credential;
  HarborFacts a, b;
  // Whose credential the pull secrets were given in this reconcile.
  std::optional<SlotName> written;
  WallTime now;
  std::chrono::seconds rotationGrace{300};
  // A fresh random secret, used only if one must be chosen (the plan itself draws nothing).
  std::string newSecret;

  HarborFacts& facts(SlotName s) { return s == SlotName::kA ? a : b; }
  const HarborFacts& facts(SlotName s) const { return s == SlotName::kA ? a : b; }
};

enum class ActionKind {
  kProbe,         // read: does Harbor accept the slot's secret?
  kReadRobot,     // read: Harbor's record of the slot's robot
  kFindRobot,     // read: a robot of the slot's name, left by an attempt whose answer was lost
  kCreateRobot,   // create `robotSpec`; the secret Harbor returns is stored at once
  kAdoptRobot,    // take `robot` (found by name) into the slot, secret unknown
  kForgetSlot,    // the slot's robot was deleted outside Harbormaster
  kUpdateRobot,   // PUT `robot`: the spec changed, or someone disabled or edited it
  kRecordRobot,   // store Harbor's name and expiry of `robot` for the slot
  kChooseSecret,  // store `secret` as the slot's pending secret (before Harbor hears of it)
  kSetSecret,     // PATCH the pending secret into Harbor; it becomes the password
  kMarkChecked,   // Harbor's record matches this generation: later reconciles only probe
  kWriteSecrets,  // the pull secrets get the slot's credential
  kActivate,      // rotation: the slot becomes active, the other retires at `retireAt`
  kDeleteRobot,   // delete the slot's robot (already gone is fine) and forget the slot
};
const char* actionName(ActionKind kind);

struct Action {
  ActionKind kind = ActionKind::kProbe;
  SlotName slot = SlotName::kA;
  harbor::RobotSpec robotSpec;  // kCreateRobot
  harbor::Robot robot;          // kAdoptRobot, kUpdateRobot, kRecordRobot
  std::string secret;           // kChooseSecret: never logged
  int64_t retireAt = 0;         // kActivate: unix seconds
  std::string rotateRequest;    // kActivate: the annotation value it answers
  // For the Event the step records, when it is worth one: reason (CamelCase) and note.
  std::string eventReason, eventNote;
  bool warning = false;
};

struct Plan {
  // In order, up to and including the first step whose answer the plan needs (a read or a
  // create); empty: converged.
  std::vector<Action> actions;
  // When the next rotation or retirement is due (the reconciler looks again then).
  std::optional<WallTime> revisitAt;
};

Plan plan(const Situation& situation);

// What a step does to the Situation when it succeeds, for the steps whose result the plan
// knows in advance (not the reads or kCreateRobot: the reconciler folds their answers in).
void advance(Situation& situation, const Action& action);
// kCreateRobot's answer.
void recordCreated(Situation& situation, SlotName slot, const harbor::CreatedRobot& created);

// The robot Harbor should have for `slot`: `<name>` or `<name>.b`, in the project (or, for a
// System robot, with a grant per spec.projects entry), per spec.
harbor::RobotSpec desiredRobot(const Situation& situation, SlotName slot);
// When the active credential should be replaced (nullopt: never).
std::optional<WallTime> rotationDue(const Situation& situation);

}  // namespace hm::op::robotaccount
