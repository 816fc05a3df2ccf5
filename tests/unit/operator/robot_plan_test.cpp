// The robot credential lifecycle (robotaccount::plan) as tables, and the whole lifecycle run
// against a model of Harbor and the master Secret with a crash after every step.
#include "robotaccount/plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

namespace hm::op::robotaccount {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;

const WallTime kStart = WallTime(std::chrono::seconds(1'800'000'000));

int64_t unix(WallTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

Situation situation() {
  Situation s;
  s.owner = "puller";
  s.generation = 1;
  s.spec.project = "team-a";
  s.spec.name = "puller";
  s.spec.permissions = {{"repository", "pull"}, {"artifact", "read"}};
  s.spec.durationDays = 30;
  s.projectName = "team-a";
  s.now = kStart;
  s.rotationGrace = 300s;
  s.newSecret = "Hm1chosen";
  return s;
}

std::vector<std::string> kinds(const Plan& p) {
  std::vector<std::string> out;
  for (const auto& a : p.actions) {
    out.push_back(std::string(actionName(a.kind)) + (a.slot == SlotName::kA ? " a" : " b"));
  }
  return out;
}

// A slot whose robot Harbor made for this spec, with a secret we hold.
Slot healthy(int64_t id, const std::string& name, WallTime created) {
  Slot s;
  s.id = id;
  s.username = "robot$team-a+" + name;
  s.password = "Hm1stored" + std::to_string(id);
  s.expiresAt = unix(created + 30 * 24h);
  s.createdAt = unix(created);
  s.checkedGeneration = 1;
  return s;
}

harbor::Robot harborRecord(const Situation& s, SlotName n, const Slot& slot) {
  harbor::Robot r;
  auto want = desiredRobot(s, n);
  r.id = slot.id;
  r.name = slot.username;
  r.description = want.description;
  r.durationDays = want.durationDays;
  r.expiresAt = slot.expiresAt;
  r.permissions = want.permissions;
  return r;
}

// --- The table: situation → the steps planned, up to the first answer the plan needs. ---

TEST(RobotPlanTest, ANewRobotAccountLooksForALeftoverRobotFirst) {
  EXPECT_THAT(kinds(plan(situation())), ElementsAre("FindRobot a"));
}

TEST(RobotPlanTest, NoLeftoverMeansCreateThenPullSecrets) {
  Situation s = situation();
  s.a.searched = true;
  Plan p = plan(s);
  ASSERT_THAT(kinds(p), ElementsAre("CreateRobot a"));
  EXPECT_EQ(p.actions[0].robotSpec.name, "puller");
  EXPECT_EQ(p.actions[0].robotSpec.permissions[0].nameSpace, "team-a");
  recordCreated(s, SlotName::kA, {7, "robot$team-a+puller", "Hm1fromHarbor", unix(kStart + 720h)});
  EXPECT_EQ(s.credential.a.password, "Hm1fromHarbor") << "stored the moment Harbor returns it";
  EXPECT_THAT(kinds(plan(s)), ElementsAre("WriteSecrets a")) << "no probe of a fresh secret";
}

TEST(RobotPlanTest, ALeftoverRobotIsAdoptedAndGivenASecretWeStoreFirst) {
  Situation s = situation();
  s.a.searched = true;
  harbor::Robot left = harborRecord(s, SlotName::kA, healthy(9, "puller", kStart));
  s.a.found = left;
  Plan p = plan(s);
  EXPECT_THAT(kinds(p), ElementsAre("AdoptRobot a", "ChooseSecret a", "SetSecret a",
                                    "MarkChecked a", "WriteSecrets a"));
  EXPECT_EQ(p.actions[1].secret, "Hm1chosen");
}

TEST(RobotPlanTest, SteadyStateIsOneProbeAndNothingElse) {
  Situation s = situation();
  s.credential.a = healthy(7, "puller", kStart);
  EXPECT_THAT(kinds(plan(s)), ElementsAre("Probe a"));
  s.a.probe = Probe::kAccepted;
  EXPECT_THAT(kinds(plan(s)), ElementsAre("WriteSecrets a"));
  s.written = SlotName::kA;
  Plan done = plan(s);
  EXPECT_TRUE(done.actions.empty());
  ASSERT_TRUE(done.revisitAt);
  EXPECT_EQ(*done.revisitAt, kStart + 30 * 24h - 168h) << "rotateBefore ahead of expiry";
}

TEST(RobotPlanTest, ARejectedSecretReadsHarborsRecordThenResets) {
  Situation s = situation();
  s.credential.a = healthy(7, "puller", kStart);
  s.a.probe = Probe::kRejected;
  EXPECT_THAT(kinds(plan(s)), ElementsAre("ReadRobot a"));
  s.a.robot = harborRecord(s, SlotName::kA, s.credential.a);
  Plan p = plan(s);
  EXPECT_THAT(kinds(p), ElementsAre("ChooseSecret a", "SetSecret a", "WriteSecrets a"));
  EXPECT_EQ(p.actions[0].eventReason, "CredentialRejected");
}

TEST(RobotPlanTest, ADisabledRobotIsEnabledWithAWarning) {
  Situation s = situation();
  s.credential.a = healthy(7, "puller", kStart);
  s.a.probe = Probe::kRejected;
  s.a.robot = harborRecord(s, SlotName::kA, s.credential.a);
  s.a.robot->disabled = true;
  Plan p = plan(s);
  ASSERT_FALSE(p.actions.empty());
  EXPECT_EQ(p.actions[0].kind, ActionKind::kUpdateRobot);
  EXPECT_FALSE(p.actions[0].robot.disabled);
  EXPECT_EQ(p.actions[0].eventReason, "DriftRepaired");
  EXPECT_TRUE(p.actions[0].warning);
}

TEST(RobotPlanTest, ARobotDeletedInHarborIsForgottenAndMadeAgain) {
  Situation s = situation();
  s.credential.a = healthy(7, "puller", kStart);
  s.a.probe = Probe::kRejected;
  s.a.robotGone = true;
  Plan p = plan(s);
  EXPECT_THAT(kinds(p), ElementsAre("ForgetSlot a", "FindRobot a"));
  EXPECT_EQ(p.actions[0].eventReason, "RobotRecreated");
}

TEST(RobotPlanTest, ASpecChangeReadsHarborsRecordAndUpdatesIt) {
  Situation s = situation();
  s.credential.a = healthy(7, "puller", kStart);
  s.generation = 2;
  EXPECT_THAT(kinds(plan(s)), ElementsAre("ReadRobot a")) << "no probe: the spec moved";
  s.a.robot = harborRecord(s, SlotName::kA, s.credential.a);
  s.spec.permissions.push_back({"repository", "push"});
  Plan p = plan(s);
  EXPECT_THAT(kinds(p), ElementsAre("UpdateRobot a", "Probe a"));
  EXPECT_EQ(p.actions[0].eventReason, "RobotUpdated");
  s.a.robot = p.actions[0].robot;
  s.a.probe = Probe::kAccepted;
  EXPECT_THAT(kinds(plan(s)), ElementsAre("MarkChecked a", "WriteSecrets a"));
}

TEST(RobotPlanTest, ASystemRobotHasAGrantPerProject) {
  Situation s = situation();
  s.spec.level = RobotLevel::kSystem;
  s.spec.project.clear();
  s.projectName.clear();
  s.spec.permissions.clear();
  s.spec.projects = {{"staging", {{"repository", "push"}}}, {"*", {{"project", "read"}}}};
  harbor::RobotSpec want = desiredRobot(s, SlotName::kB);
  EXPECT_EQ(want.level, "system");
  EXPECT_EQ(want.name, "puller.b");
  ASSERT_EQ(want.permissions.size(), 2u);
  EXPECT_EQ(want.permissions[0].kind, "project");
  EXPECT_EQ(want.permissions[0].nameSpace, "staging");
  EXPECT_EQ(want.permissions[0].access[0].action, "push");
  EXPECT_EQ(want.permissions[1].nameSpace, "*");
  EXPECT_EQ(desiredRobot(situation(), SlotName::kA).level, "project");

  // The same actions moved to another project is a change Harbor must hear of.
  s.credential.a = healthy(7, "puller", kStart);
  s.generation = 2;
  s.a.robot = harborRecord(s, SlotName::kA, s.credential.a);
  s.a.probe = Probe::kAccepted;
  EXPECT_THAT(kinds(plan(s)), ElementsAre("MarkChecked a", "WriteSecrets a"));
  s.spec.projects[0].project = "production";
  Plan p = plan(s);
  ASSERT_THAT(kinds(p), ElementsAre("UpdateRobot a", "MarkChecked a", "WriteSecrets a"));
  EXPECT_EQ(p.actions[0].robot.permissions[0].nameSpace, "production");
}

TEST(RobotPlanTest, APendingSecretIsSetBeforeAnythingElse) {
  Situation s = situation();
  s.credential.a = healthy(7, "puller", kStart);
  s.credential.a.pending = "Hm1crashed";
  s.a.robot = harborRecord(s, SlotName::kA, s.credential.a);
  Plan p = plan(s);
  EXPECT_THAT(kinds(p), ElementsAre("SetSecret a", "WriteSecrets a"));
}

TEST(RobotPlanTest, RotationWritesTheIncomingRobotEverywhereBeforeActivatingIt) {
  Situation s = situation();
  s.credential.a = healthy(7, "puller", kStart);
  s.now = kStart + 30 * 24h - 100h;  // inside rotateBefore (168h)
  s.a.probe = Probe::kAccepted;
  EXPECT_THAT(kinds(plan(s)), ElementsAre("FindRobot b"));
  s.b.searched = true;
  EXPECT_THAT(kinds(plan(s)), ElementsAre("CreateRobot b"));
  recordCreated(s, SlotName::kB, {8, "robot$team-a+puller.b", "Hm1b", unix(s.now + 720h)});
  Plan p = plan(s);
  ASSERT_THAT(kinds(p), ElementsAre("WriteSecrets b", "Activate b"));
  EXPECT_EQ(p.actions[1].retireAt, unix(s.now + 300s)) << "the old one retires after the grace";
  EXPECT_EQ(p.actions[1].eventReason, "SecretRotated");
}

TEST(RobotPlanTest, TheRotateAnnotationRotatesOncePerValue) {
  Situation s = situation();
  s.credential.a = healthy(7, "puller", kStart);
  s.a.probe = Probe::kAccepted;
  s.written = SlotName::kA;
  s.rotateAnnotation = "2026-12-03";
  EXPECT_THAT(kinds(plan(s)), ElementsAre("FindRobot b"));
  s.credential.rotateRequest = "2026-12-03";
  EXPECT_TRUE(plan(s).actions.empty()) << "that value was acted on";
}

TEST(RobotPlanTest, ARetiredRobotIsDeletedAfterItsGraceAndNotBefore) {
  Situation s = situation();
  s.credential.active = SlotName::kB;
  s.credential.b = healthy(8, "puller.b", kStart);
  s.credential.a = healthy(7, "puller", kStart - 24h);
  s.credential.a.retireAt = unix(kStart + 300s);
  s.credential.lastRotation = formatRfc3339(kStart);
  s.b.probe = Probe::kAccepted;
  s.written = SlotName::kB;
  Plan waiting = plan(s);
  EXPECT_TRUE(waiting.actions.empty());
  ASSERT_TRUE(waiting.revisitAt);
  EXPECT_EQ(*waiting.revisitAt, kStart + 300s);
  s.now = kStart + 301s;
  EXPECT_THAT(kinds(plan(s)), ElementsAre("DeleteRobot a"));
}

TEST(RobotPlanTest, AnUnfinishedRotationNoLongerWantedIsCleanedUp) {
  Situation s = situation();
  s.credential.a = healthy(7, "puller", kStart);
  s.credential.b = healthy(8, "puller.b", kStart);  // incoming, never activated
  s.a.probe = Probe::kAccepted;
  s.written = SlotName::kA;
  EXPECT_THAT(kinds(plan(s)), ElementsAre("DeleteRobot b"));
}

TEST(RobotPlanTest, AnUnfinishedRotationIsResumedNotRestarted) {
  Situation s = situation();
  s.credential.a = healthy(7, "puller", kStart);
  s.credential.b = healthy(8, "puller.b", kStart);
  s.rotateAnnotation = "now";
  s.a.probe = Probe::kAccepted;
  EXPECT_THAT(kinds(plan(s)), ElementsAre("Probe b")) << "the incoming robot is kept";
}

// --- The whole lifecycle against a model, with a crash after every step. ---

// Harbor's robots and the stored master Secret: what survives a crash of the operator.
struct World {
  std::map<int64_t, harbor::Robot> robots;
  std::map<int64_t, std::string> secrets;
  int64_t nextId = 1;
  Credential master;                   // as last written
  std::string pullUser, pullPassword;  // what every pull secret holds
  int creates = 0;
};

class Model {
 public:
  explicit Model(World& w) : w_(w) {}

  // Runs one step like the reconciler: I/O against the world, then the master is written.
  void run(Situation& s, const Action& a) {
    Slot& slot = s.credential.slot(a.slot);
    HarborFacts& f = s.facts(a.slot);
    switch (a.kind) {
      case ActionKind::kProbe: {
        auto it = w_.secrets.find(slot.id);
        const bool ok =
            it != w_.secrets.end() && it->second == slot.password && !w_.robots[slot.id].disabled;
        f.probe = ok ? Probe::kAccepted : Probe::kRejected;
        break;
      }
      case ActionKind::kReadRobot:
        if (w_.robots.count(slot.id)) {
          f.robot = w_.robots[slot.id];
        } else {
          f.robotGone = true;
        }
        break;
      case ActionKind::kFindRobot: {
        f.searched = true;
        const std::string name = "robot$team-a+" + desiredRobot(s, a.slot).name;
        for (const auto& [id, r] : w_.robots) {
          if (r.name == name) {
            f.found = r;
          }
        }
        break;
      }
      case ActionKind::kCreateRobot: {
        harbor::Robot r;
        r.id = w_.nextId++;
        r.name = "robot$team-a+" + a.robotSpec.name;
        r.description = a.robotSpec.description;
        r.durationDays = a.robotSpec.durationDays;
        r.permissions = a.robotSpec.permissions;
        r.expiresAt = unix(s.now) + r.durationDays * 86400;
        w_.robots[r.id] = r;
        w_.secrets[r.id] = "Hm1harbor" + std::to_string(r.id);
        ++w_.creates;
        if (crashInside_) {
          crashInside_ = false;
          throw Crash{};  // Harbor made it; the answer is lost
        }
        recordCreated(s, a.slot, {r.id, r.name, w_.secrets[r.id], r.expiresAt});
        break;
      }
      case ActionKind::kUpdateRobot:
        w_.robots[a.robot.id] = a.robot;
        advance(s, a);
        break;
      case ActionKind::kSetSecret:
        w_.secrets[slot.id] = slot.pending;
        advance(s, a);
        break;
      case ActionKind::kDeleteRobot:
        w_.robots.erase(slot.id);
        w_.secrets.erase(slot.id);
        advance(s, a);
        break;
      case ActionKind::kWriteSecrets:
        w_.pullUser = slot.username;
        w_.pullPassword = slot.password;
        advance(s, a);
        break;
      default:
        advance(s, a);
    }
    w_.master = s.credential;  // the reconciler writes it before the next step
  }

  struct Crash {};
  bool crashInside_ = false;

 private:
  World& w_;
};

// A reconcile from what survived; throws Model::Crash after `crashAfter` steps (−1: never).
// Returns the steps it ran.
int reconcile(World& w, WallTime now, const std::string& annotation, int crashAfter,
              bool crashInsideCreate = false) {
  Situation s = situation();
  s.now = now;
  s.rotateAnnotation = annotation;
  s.credential = w.master;
  s.newSecret = "Hm1chosen" + std::to_string(unix(now)) + std::to_string(crashAfter);
  Model m(w);
  int steps = 0;
  for (Plan p = plan(s); !p.actions.empty(); p = plan(s)) {
    if (steps == crashAfter) {
      m.crashInside_ = crashInsideCreate;
      if (!crashInsideCreate) {
        throw Model::Crash{};
      }
    }
    m.run(s, p.actions.front());
    ++steps;
    EXPECT_LT(steps, 64) << "the plan converges";
    if (steps >= 64) {
      break;
    }
  }
  return steps;
}

// What must hold whenever the operator is not running, crash or not.
void expectNothingLost(const World& w, const std::string& when) {
  // Every robot of ours in Harbor has its secret in the master Secret (as password or pending),
  // or is one whose creation's answer was lost (found by name later).
  for (const auto& [id, r] : w.robots) {
    bool known = false;
    for (SlotName n : {SlotName::kA, SlotName::kB}) {
      const Slot& slot = w.master.slot(n);
      if (slot.id == id) {
        known = slot.password == w.secrets.at(id) || slot.pending == w.secrets.at(id) ||
                slot.password.empty();
      }
    }
    const bool orphanOfLostCreate = !known && w.master.a.id != id && w.master.b.id != id;
    EXPECT_TRUE(known || orphanOfLostCreate) << when << ": robot " << r.name;
  }
  // Pull secrets never hold a credential Harbor refuses (once written at all).
  if (!w.pullUser.empty()) {
    bool accepted = false;
    for (const auto& [id, r] : w.robots) {
      accepted |= r.name == w.pullUser && w.secrets.at(id) == w.pullPassword && !r.disabled;
    }
    EXPECT_TRUE(accepted) << when << ": pull secrets hold " << w.pullUser;
  }
}

// After a clean reconcile: one robot per slot in use, the active one in the pull secrets.
void expectConverged(const World& w, const std::string& when) {
  std::map<std::string, int> byName;
  for (const auto& [id, r] : w.robots) {
    ++byName[r.name];
  }
  for (const auto& [name, n] : byName) {
    EXPECT_EQ(n, 1) << when << ": " << name << " created twice";
  }
  const Slot& active = w.master.slot(w.master.active);
  ASSERT_TRUE(w.secrets.count(active.id)) << when;
  EXPECT_EQ(w.secrets.at(active.id), active.password) << when;
  EXPECT_EQ(w.pullUser, active.username) << when;
  EXPECT_EQ(w.pullPassword, active.password) << when;
}

// The lifecycle: create, steady state, a rotation, the retirement after the grace.
struct Phase {
  WallTime now;
  std::string annotation;
};
const std::vector<Phase> kLifecycle = {
    {kStart, ""},
    {kStart + 1h, ""},
    {kStart + 2h, "rotate-1"},
    {kStart + 2h + 301s, "rotate-1"},
};

TEST(RobotLifecycleTest, ACleanRunConvergesInEveryPhase) {
  World w;
  for (const auto& ph : kLifecycle) {
    reconcile(w, ph.now, ph.annotation, -1);
    expectNothingLost(w, "clean");
    expectConverged(w, "clean");
  }
  EXPECT_EQ(w.creates, 2) << "a and b, once each";
  EXPECT_EQ(w.robots.size(), 1u) << "the retired robot is gone";
  EXPECT_EQ(w.master.active, SlotName::kB);
}

TEST(RobotLifecycleTest, ACrashAfterAnyStepLosesNothingAndTheNextRunConverges) {
  int crashes = 0;
  for (size_t phase = 0; phase < kLifecycle.size(); ++phase) {
    for (int crashAfter = 0;; ++crashAfter) {
      World w;
      for (size_t p = 0; p < phase; ++p) {
        reconcile(w, kLifecycle[p].now, kLifecycle[p].annotation, -1);
      }
      const Phase& ph = kLifecycle[phase];
      const std::string when =
          "phase " + std::to_string(phase) + ", crash after step " + std::to_string(crashAfter);
      try {
        reconcile(w, ph.now, ph.annotation, crashAfter);
      } catch (const Model::Crash&) {
        ++crashes;
        expectNothingLost(w, when + " (crashed)");
        reconcile(w, ph.now, ph.annotation, -1);
        expectNothingLost(w, when + " (rerun)");
        expectConverged(w, when + " (rerun)");
        continue;
      }
      break;  // the run had fewer steps than crashAfter: every crash point was covered
    }
  }
  EXPECT_GT(crashes, 10) << "the lifecycle has many steps";
}

TEST(RobotLifecycleTest, ACreateWhoseAnswerIsLostIsAdoptedNotRepeated) {
  World w;
  try {
    reconcile(w, kStart, "", 1, /*crashInsideCreate=*/true);  // step 1 is the create
    FAIL() << "the create should have crashed";
  } catch (const Model::Crash&) {
  }
  ASSERT_EQ(w.robots.size(), 1u);
  EXPECT_FALSE(w.master.a.exists()) << "its answer never arrived";
  reconcile(w, kStart, "", -1);
  EXPECT_EQ(w.creates, 1) << "found by name and adopted";
  expectConverged(w, "after adoption");
  EXPECT_EQ(w.secrets.begin()->second, w.master.a.password) << "a secret we chose and stored";
}

}  // namespace
}  // namespace hm::op::robotaccount
