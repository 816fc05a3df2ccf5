#include "robotaccount/plan.h"

#include <algorithm>
#include <array>

namespace hm::op::robotaccount {
namespace {

int64_t unixSeconds(WallTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

WallTime fromUnix(int64_t s) {
  return WallTime(std::chrono::seconds(s));
}

Action step(ActionKind kind, SlotName slot) {
  Action a;
  a.kind = kind;
  a.slot = slot;
  return a;
}

Action withEvent(Action a, std::string reason, std::string note, bool warning) {
  a.eventReason = std::move(reason);
  a.eventNote = std::move(note);
  a.warning = warning;
  return a;
}

bool isBarrier(ActionKind kind) {
  return kind == ActionKind::kProbe || kind == ActionKind::kReadRobot ||
         kind == ActionKind::kFindRobot || kind == ActionKind::kCreateRobot;
}

// kind, namespace, resource, action: a system robot's grants differ by project too.
using AccessList = std::vector<std::array<std::string, 4>>;

AccessList accessOf(const std::vector<harbor::RobotPermission>& permissions) {
  AccessList out;
  for (const auto& p : permissions) {
    for (const auto& a : p.access) {
      out.push_back({p.kind, p.nameSpace, a.resource, a.action});
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Harbor's robot with the spec applied, or nullopt when it already matches.
std::optional<harbor::Robot> repaired(const harbor::Robot& have, const harbor::RobotSpec& want) {
  if (!have.disabled && accessOf(have.permissions) == accessOf(want.permissions) &&
      have.description == want.description && have.durationDays == want.durationDays) {
    return std::nullopt;
  }
  harbor::Robot next = have;
  next.disabled = false;
  next.description = want.description;
  next.durationDays = want.durationDays;
  next.permissions = want.permissions;
  return next;
}

// The next step that makes `n`'s robot exist, enabled, as specified, with a secret Harbor
// accepts; nullopt when it is. At steady state this is one probe of the stored secret, which
// fails if the robot was deleted, disabled, expired or given another secret: only then, or
// when the spec changed since the last full check, is Harbor's record read.
std::optional<Action> ensure(const Situation& s, SlotName n) {
  const Slot& slot = s.credential.slot(n);
  const HarborFacts& f = s.facts(n);
  if (!slot.exists()) {
    if (!f.searched) {
      return step(ActionKind::kFindRobot, n);
    }
    if (f.found) {
      Action a = step(ActionKind::kAdoptRobot, n);
      a.robot = *f.found;
      return a;
    }
    Action a = step(ActionKind::kCreateRobot, n);
    a.robotSpec = desiredRobot(s, n);
    return a;
  }
  const bool trusted =
      slot.checkedGeneration == s.generation && !slot.password.empty() && slot.pending.empty();
  const bool read = f.robot || f.robotGone;
  if (trusted && !read) {
    if (f.probe == Probe::kUnknown) {
      return step(ActionKind::kProbe, n);
    }
    if (f.probe == Probe::kAccepted) {
      return std::nullopt;
    }
  }
  if (f.robotGone) {
    return withEvent(
        step(ActionKind::kForgetSlot, n), "RobotRecreated",
        "Harbor robot " + slot.username + " was deleted outside Harbormaster; creating it again",
        true);
  }
  if (!f.robot) {
    return step(ActionKind::kReadRobot, n);
  }
  if (auto next = repaired(*f.robot, desiredRobot(s, n))) {
    Action a = step(ActionKind::kUpdateRobot, n);
    a.robot = *next;
    if (f.robot->disabled) {
      return withEvent(
          a, "DriftRepaired",
          "Harbor robot " + f.robot->name + " was disabled outside Harbormaster; enabled it", true);
    }
    return withEvent(a, "RobotUpdated", "updated Harbor robot " + f.robot->name, false);
  }
  if (slot.username != f.robot->name || slot.expiresAt != f.robot->expiresAt) {
    Action a = step(ActionKind::kRecordRobot, n);
    a.robot = *f.robot;
    return a;
  }
  if (!slot.pending.empty()) {
    return step(ActionKind::kSetSecret, n);
  }
  if (slot.password.empty() || f.probe == Probe::kRejected) {
    Action a = step(ActionKind::kChooseSecret, n);
    a.secret = s.newSecret;
    if (f.probe == Probe::kRejected) {
      return withEvent(
          a, "CredentialRejected",
          "Harbor rejected the stored secret of " + slot.username + "; setting a new one", true);
    }
    return a;
  }
  if (f.probe == Probe::kUnknown) {
    return step(ActionKind::kProbe, n);
  }
  if (slot.checkedGeneration != s.generation) {
    return step(ActionKind::kMarkChecked, n);
  }
  return std::nullopt;
}

// A harbormaster.io/rotate value not acted on yet.
bool rotationRequested(const Situation& s) {
  return !s.rotateAnnotation.empty() && s.rotateAnnotation != s.credential.rotateRequest;
}

bool rotationWanted(const Situation& s) {
  auto due = rotationDue(s);
  return rotationRequested(s) || (due && *due <= s.now);
}

std::optional<Action> rotate(const Situation& s) {
  const SlotName active = s.credential.active;
  const SlotName incoming = other(active);
  if (s.credential.slot(incoming).retireAt) {
    // Still in its grace period from the last rotation: it cannot be the incoming robot.
    return step(ActionKind::kDeleteRobot, incoming);
  }
  if (auto a = ensure(s, incoming)) {
    return a;
  }
  if (s.written != incoming) {
    return step(ActionKind::kWriteSecrets, incoming);
  }
  Action a = step(ActionKind::kActivate, incoming);
  a.retireAt = unixSeconds(s.now + s.rotationGrace);
  a.rotateRequest = rotationRequested(s) ? s.rotateAnnotation : s.credential.rotateRequest;
  const Slot& in = s.credential.slot(incoming);
  const Slot& out = s.credential.slot(active);
  return withEvent(a, "SecretRotated",
                   "pull secrets now use " + in.username + "; " + out.username +
                       " retires after the grace period",
                   false);
}

std::optional<Action> next(const Situation& s) {
  const SlotName active = s.credential.active;
  if (auto a = ensure(s, active)) {
    return a;
  }
  if (rotationWanted(s)) {
    return rotate(s);
  }
  const SlotName idle = other(active);
  const Slot& rest = s.credential.slot(idle);
  // A retired robot past its grace, or an incoming one of a rotation no longer wanted.
  if (rest.exists() && (!rest.retireAt || *rest.retireAt <= unixSeconds(s.now))) {
    return step(ActionKind::kDeleteRobot, idle);
  }
  if (s.written != active) {
    return step(ActionKind::kWriteSecrets, active);
  }
  return std::nullopt;
}

std::optional<WallTime> revisit(const Situation& s) {
  std::optional<WallTime> at = rotationDue(s);
  const Slot& rest = s.credential.slot(other(s.credential.active));
  if (rest.exists() && rest.retireAt) {
    const WallTime retire = fromUnix(*rest.retireAt);
    at = at ? std::min(*at, retire) : retire;
  }
  return at;
}

}  // namespace

const char* actionName(ActionKind kind) {
  switch (kind) {
    case ActionKind::kProbe:
      return "Probe";
    case ActionKind::kReadRobot:
      return "ReadRobot";
    case ActionKind::kFindRobot:
      return "FindRobot";
    case ActionKind::kCreateRobot:
      return "CreateRobot";
    case ActionKind::kAdoptRobot:
      return "AdoptRobot";
    case ActionKind::kForgetSlot:
      return "ForgetSlot";
    case ActionKind::kUpdateRobot:
      return "UpdateRobot";
    case ActionKind::kRecordRobot:
      return "RecordRobot";
    case ActionKind::kChooseSecret:
      return "ChooseSecret";
    case ActionKind::kSetSecret:
      return "SetSecret";
    case ActionKind::kMarkChecked:
      return "MarkChecked";
    case ActionKind::kWriteSecrets:
      return "WriteSecrets";
    case ActionKind::kActivate:
      return "Activate";
    case ActionKind::kDeleteRobot:
      return "DeleteRobot";
  }
  return "?";
}

harbor::RobotSpec desiredRobot(const Situation& s, SlotName slot) {
  harbor::RobotSpec r;
  r.name = slot == SlotName::kA ? s.spec.name : s.spec.name + ".b";
  r.description = s.spec.description.empty()
                      ? "Managed by Harbormaster (RobotAccount " + s.owner + ")"
                      : s.spec.description;
  r.durationDays = s.spec.durationDays;
  if (s.spec.level == RobotLevel::kSystem) {
    r.level = "system";
    for (const auto& g : s.spec.projects) {
      r.permissions.push_back({"project", g.project, g.permissions});
    }
    return r;
  }
  r.permissions = {{"project", s.projectName, s.spec.permissions}};
  return r;
}

std::optional<WallTime> rotationDue(const Situation& s) {
  const Slot& active = s.credential.slot(s.credential.active);
  std::optional<WallTime> expiresAt;
  if (active.expiresAt > 0) {
    expiresAt = fromUnix(active.expiresAt);
  }
  // The active credential dates from the last rotation, or from its robot's creation.
  auto last = parseRfc3339(s.credential.lastRotation);
  const WallTime since = last.ok()              ? *last
                         : active.createdAt > 0 ? fromUnix(active.createdAt)
                                                : s.now;
  return nextRotation(s.spec, expiresAt, since);
}

Plan plan(const Situation& situation) {
  Plan p;
  p.revisitAt = revisit(situation);
  Situation s = situation;
  // Every step changes the situation, so this ends; the bound guards against a bug looping.
  for (int i = 0; i < 32; ++i) {
    auto a = next(s);
    if (!a) {
      break;
    }
    p.actions.push_back(*a);
    if (isBarrier(a->kind)) {
      break;
    }
    advance(s, *a);
  }
  return p;
}

void advance(Situation& s, const Action& a) {
  Slot& slot = s.credential.slot(a.slot);
  HarborFacts& f = s.facts(a.slot);
  switch (a.kind) {
    case ActionKind::kProbe:
    case ActionKind::kReadRobot:
    case ActionKind::kFindRobot:
    case ActionKind::kCreateRobot:
      break;  // their answers are folded in by the caller
    case ActionKind::kAdoptRobot:
      slot = Slot{};
      slot.id = a.robot.id;
      slot.username = a.robot.name;
      slot.expiresAt = a.robot.expiresAt;
      slot.createdAt = unixSeconds(s.now);
      f = HarborFacts{};
      f.searched = true;
      f.robot = a.robot;
      break;
    case ActionKind::kForgetSlot:
    case ActionKind::kDeleteRobot:
      slot = Slot{};
      f = HarborFacts{};
      if (s.written == a.slot) {
        s.written.reset();
      }
      break;
    case ActionKind::kUpdateRobot:
      f.robot = a.robot;
      break;
    case ActionKind::kRecordRobot:
      slot.username = a.robot.name;
      slot.expiresAt = a.robot.expiresAt;
      break;
    case ActionKind::kChooseSecret:
      slot.pending = a.secret;
      break;
    case ActionKind::kSetSecret:
      slot.password = slot.pending;
      slot.pending.clear();
      f.probe = Probe::kAccepted;
      break;
    case ActionKind::kMarkChecked:
      slot.checkedGeneration = s.generation;
      break;
    case ActionKind::kWriteSecrets:
      s.written = a.slot;
      break;
    case ActionKind::kActivate:
      s.credential.slot(s.credential.active).retireAt = a.retireAt;
      s.credential.active = a.slot;
      slot.retireAt.reset();
      s.credential.lastRotation = formatRfc3339(s.now);
      s.credential.rotateRequest = a.rotateRequest;
      break;
  }
}

void recordCreated(Situation& s, SlotName n, const harbor::CreatedRobot& created) {
  Slot& slot = s.credential.slot(n);
  slot = Slot{};
  slot.id = created.id;
  slot.username = created.name;
  slot.password = created.secret;
  slot.expiresAt = created.expiresAt;
  slot.createdAt = unixSeconds(s.now);
  slot.checkedGeneration = s.generation;  // made from this generation's spec
  HarborFacts& f = s.facts(n);
  f = HarborFacts{};
  f.searched = true;
  f.probe = Probe::kAccepted;  // Harbor just gave us this secret
}

}  // namespace hm::op::robotaccount
