// RobotAccount → Harbor robots, the master Secret and pull secrets: plan.h decides, this file
// does the I/O. After each step that changes the credential, the master Secret is written
// before the next step runs, so a crash anywhere resumes from a record that matches Harbor.
#include "robotaccount/reconciler.h"

#include <openssl/rand.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <set>

#include "harbormaster/base/encoding.h"
#include "robotaccount/plan.h"

namespace hm::op::robotaccount {
namespace {

using boost::asio::awaitable;
using nlohmann::json;
using Data = std::map<std::string, std::string>;

std::string masterName(const std::string& robotAccount) {
  return "harbormaster-robot-" + robotAccount;
}

Data decode(const json& secret) {
  Data out;
  const json fields = secret.value("data", json::object());
  for (const auto& [k, v] : fields.items()) {
    if (v.is_string()) {
      if (auto d = hm::base64Decode(v.get<std::string>())) {
        out[k] = *d;
      }
    }
  }
  return out;
}

json encode(const Data& data) {
  json out = json::object();
  for (const auto& [k, v] : data) {
    out[k] = hm::base64Encode(v);
  }
  return out;
}

// A failed step: the condition reason and whether a retry can help.
struct StepError {
  std::string reason;
  Status status;
  bool terminal = false;
};

// Harbor refusing what we sent (400) will refuse it again until the spec changes.
StepError harborError(Status s) {
  if (s.code() == StatusCode::kInvalidArgument) {
    return {reason::kHarborRejected, std::move(s), true};
  }
  return {reason::kHarborError, std::move(s), false};
}

bool isHarborStep(ActionKind k) {
  return k != ActionKind::kWriteSecrets && k != ActionKind::kAdoptRobot &&
         k != ActionKind::kForgetSlot && k != ActionKind::kRecordRobot &&
         k != ActionKind::kChooseSecret && k != ActionKind::kMarkChecked &&
         k != ActionKind::kActivate;
}

struct RobotRun {
  Context& ctx;
  const Caches& caches;
  json object;
  std::string owner;
  RobotAccountSpec spec;
  int64_t projectId = 0;
  Situation s = {};
  json master = nullptr;   // the master Secret as last read or written
  Credential stored = {};  // what it holds
  json status = json::object();
  int namespaces = 0;
  std::vector<std::string> conflicts = {};

  const Slot& slot(SlotName n) const { return s.credential.slot(n); }

  // The master Secret: read fresh (not from a cache) because it is the source of truth.
  awaitable<Status> readMaster() {
    auto got =
        co_await ctx.kube->get(kSecrets, ctx.options.nameSpace, masterName(owner), ctx.deadline());
    if (!got.ok()) {
      co_return got.status().code() == StatusCode::kNotFound ? okStatus() : got.status();
    }
    auto credential = readCredential(decode(*got));
    if (!credential.ok()) {
      co_return credential.status().withContext("the master Secret " + masterName(owner));
    }
    master = std::move(*got);
    stored = *credential;
    s.credential = stored;
    co_return okStatus();
  }

  awaitable<Status> writeMaster() {
    if (s.credential == stored) {
      co_return okStatus();
    }
    StatusOr<json> written = internalError("not written");
    if (master.is_null()) {
      json fresh = {{"apiVersion", "v1"},
                    {"kind", "Secret"},
                    {"metadata",
                     {{"name", masterName(owner)},
                      {"namespace", ctx.options.nameSpace},
                      {"labels", managedLabels(owner, kRoleCredential)},
                      {"annotations", {{kOwnerAnnotation, owner}}}}},
                    {"type", "Opaque"},
                    {"data", encode(writeCredential(s.credential))}};
      written = co_await ctx.kube->create(kSecrets, ctx.options.nameSpace, fresh, ctx.deadline());
    } else {
      json next = master;
      next["data"] = encode(writeCredential(s.credential));  // older layouts' keys go
      written = co_await ctx.kube->update(kSecrets, ctx.options.nameSpace, next, ctx.deadline());
    }
    if (!written.ok()) {
      co_return written.status().withContext("store the robot credential");
    }
    master = std::move(*written);
    stored = s.credential;
    co_return okStatus();
  }

  awaitable<Status> probe(const Action& a) {
    Status p = co_await ctx.harbor->probeCredentials(slot(a.slot).username, slot(a.slot).password,
                                                     ctx.deadline());
    if (p.ok() || p.code() == StatusCode::kUnauthenticated) {
      s.facts(a.slot).probe = p.ok() ? Probe::kAccepted : Probe::kRejected;
      co_return okStatus();
    }
    co_return p;
  }

  awaitable<Status> readRobot(const Action& a) {
    auto robot = co_await ctx.harbor->getRobot(slot(a.slot).id, ctx.deadline());
    if (robot.ok()) {
      s.facts(a.slot).robot = std::move(*robot);
      co_return okStatus();
    }
    if (robot.status().code() == StatusCode::kNotFound) {
      s.facts(a.slot).robotGone = true;
      co_return okStatus();
    }
    co_return robot.status();
  }

  awaitable<Status> findRobot(const Action& a) {
    // Harbor stores a project robot as <project>+<name>, a system robot as <name>.
    const std::string name = desiredRobot(s, a.slot).name;
    StatusOr<std::vector<harbor::Robot>> found = internalError("not listed");
    if (spec.level == RobotLevel::kSystem) {
      found = co_await ctx.harbor->listSystemRobots(name, ctx.deadline());
    } else {
      const std::string stored = s.projectName + "+" + name;
      found = co_await ctx.harbor->listProjectRobots(projectId, stored, ctx.deadline());
    }
    if (!found.ok()) {
      co_return found.status();
    }
    s.facts(a.slot).searched = true;
    if (!found->empty()) {
      s.facts(a.slot).found = found->front();
    }
    co_return okStatus();
  }

  awaitable<Status> createRobot(const Action& a) {
    auto created = co_await ctx.harbor->createRobot(a.robotSpec, ctx.deadline());
    if (!created.ok()) {
      co_return created.status();
    }
    recordCreated(s, a.slot, *created);
    co_await recordEvent(ctx, object, eventtype::kNormal, reason::kRobotCreated,
                         "created Harbor robot " + created->name);
    co_return okStatus();
  }

  awaitable<Status> updateRobot(const Action& a) {
    if (Status u = co_await ctx.harbor->updateRobot(a.robot, ctx.deadline()); !u.ok()) {
      co_return u;
    }
    advance(s, a);
    auto reread = co_await ctx.harbor->getRobot(a.robot.id, ctx.deadline());
    if (reread.ok()) {
      s.facts(a.slot).robot = std::move(*reread);  // Harbor's expiry, as it computed it
    }
    co_return okStatus();
  }

  awaitable<Status> writeSecrets(const Action& a) {
    auto fanned =
        co_await fanOut(ctx, caches, owner, spec, slot(a.slot).username, slot(a.slot).password);
    if (!fanned.ok()) {
      co_return fanned.status();
    }
    namespaces = fanned->first;
    conflicts = fanned->second;
    advance(s, a);
    co_return okStatus();
  }

  awaitable<Status> harborStep(const Action& a) {
    switch (a.kind) {
      case ActionKind::kProbe:
        co_return co_await probe(a);
      case ActionKind::kReadRobot:
        co_return co_await readRobot(a);
      case ActionKind::kFindRobot:
        co_return co_await findRobot(a);
      case ActionKind::kCreateRobot:
        co_return co_await createRobot(a);
      case ActionKind::kUpdateRobot:
        co_return co_await updateRobot(a);
      case ActionKind::kSetSecret: {
        Status set = co_await ctx.harbor->setRobotSecret(slot(a.slot).id, slot(a.slot).pending,
                                                         ctx.deadline());
        if (set.ok()) {
          advance(s, a);
        }
        co_return set;
      }
      case ActionKind::kDeleteRobot: {
        Status d = co_await ctx.harbor->deleteRobot(slot(a.slot).id, ctx.deadline());
        if (d.ok() || d.code() == StatusCode::kNotFound) {
          advance(s, a);
          co_return okStatus();
        }
        co_return d;
      }
      default:
        co_return internalError(std::string("not a Harbor step: ") + actionName(a.kind));
    }
  }

  // Runs one step, then stores the credential if the step changed it.
  awaitable<std::optional<StepError>> run(const Action& a) {
    if (isHarborStep(a.kind)) {
      if (Status h = co_await harborStep(a); !h.ok()) {
        if (h.code() == StatusCode::kPermissionDenied && spec.level == RobotLevel::kSystem) {
          h = h.withContext(
              "a System robot needs the operator's Harbor account to be a Harbor administrator");
        }
        co_return harborError(std::move(h));
      }
    } else if (a.kind == ActionKind::kWriteSecrets) {
      if (Status w = co_await writeSecrets(a); !w.ok()) {
        co_return StepError{reason::kKubernetesError, w};
      }
    } else {
      advance(s, a);
    }
    if (Status w = co_await writeMaster(); !w.ok()) {
      co_return StepError{reason::kKubernetesError, w};
    }
    if (!a.eventReason.empty()) {
      const std::string type = a.warning ? eventtype::kWarning : eventtype::kNormal;
      co_await recordEvent(ctx, object, type, a.eventReason, a.eventNote);
    }
    co_return std::nullopt;
  }

  void conditions(const char* ready, const std::string& why, const std::string& message,
                  const char* synced) {
    const int64_t generation = s.generation;
    setCondition(status, {condition::kReady, ready, why, message}, generation, s.now);
    setCondition(status, {condition::kSynced, synced, why, message}, generation, s.now);
    status["observedGeneration"] = generation;
  }

  awaitable<Result> fail(const std::string& why, const std::string& message,
                         std::optional<std::chrono::milliseconds> requeue = std::nullopt,
                         Status error = okStatus(), bool terminal = false) {
    conditions(condition::kFalse, why, message, condition::kFalse);
    Status written = co_await writeStatus(ctx, kRobots, object, status);
    if (!error.ok()) {
      co_return terminal ? Result::terminalError(error) : Result::retry(error);
    }
    co_return resultOf(written, requeue);
  }

  // Status fields and conditions once the plan has converged.
  void report() {
    const Slot& active = slot(s.credential.active);
    status["robotID"] = active.id;
    status["robotName"] = active.username;
    if (active.expiresAt > 0) {
      status["expiresAt"] = formatRfc3339(WallTime(std::chrono::seconds(active.expiresAt)));
    } else {
      status.erase("expiresAt");
    }
    if (!s.credential.lastRotation.empty()) {
      status["lastRotation"] = s.credential.lastRotation;
    }
    status["secretNamespaces"] = namespaces;
    if (conflicts.empty()) {
      conditions(condition::kTrue, reason::kSynced,
                 "robot " + active.username + " is in pull secrets in " +
                     std::to_string(namespaces) + " namespace(s)",
                 condition::kTrue);
      return;
    }
    std::string list;
    for (const auto& c : conflicts) {
      list += (list.empty() ? "" : ", ") + c;
    }
    conditions(condition::kFalse, reason::kSecretConflict,
               "Secrets not managed by Harbormaster already exist with the name of a Secret this "
               "RobotAccount writes, left untouched: " +
                   list,
               condition::kTrue);
  }

  // Deleting the RobotAccount: its pull secrets go; its robots and credential per policy.
  awaitable<Status> remove(bool deleteRobots) {
    // From the API, not the cache: a Secret written just before the deletion must go too.
    kube::ListOptions selector;
    selector.labelSelector = std::string(kOwnerLabel) + "=" + owner + "," + kRoleLabel + " in (" +
                             kRolePull + "," + kRoleCiCredentials + ")";
    auto listed = co_await ctx.kube->list(kSecrets, "", selector, ctx.deadline());
    if (!listed.ok()) {
      co_return listed.status();
    }
    const std::vector<json> owned = (*listed)["items"].get<std::vector<json>>();
    const std::set<std::string> keepNone;
    if (Status st = co_await removeFanOut(ctx, caches, owned, keepNone); !st.ok()) {
      co_return st;
    }
    if (Status st = co_await readMaster(); !st.ok() || !deleteRobots) {
      co_return st;
    }
    for (SlotName n : {SlotName::kA, SlotName::kB}) {
      if (!slot(n).exists()) {
        continue;
      }
      Status d = co_await ctx.harbor->deleteRobot(slot(n).id, ctx.deadline());
      if (!d.ok() && d.code() != StatusCode::kNotFound) {
        co_return d;
      }
    }
    if (!master.is_null()) {
      kube::DeleteOptions plain;  // a named local: GCC 12 mishandles `{}` in a co_await call
      auto removed = co_await ctx.kube->remove(kSecrets, ctx.options.nameSpace, masterName(owner),
                                               plain, ctx.deadline());
      if (!removed.ok() && removed.status().code() != StatusCode::kNotFound) {
        co_return removed.status();
      }
    }
    co_return okStatus();
  }

  // Plans and runs steps until the plan is empty.
  awaitable<Result> converge(const json& cached) {
    Plan p = plan(s);
    // Each step moves the situation forward; the bound turns a planning bug into an error
    // instead of a loop that never ends.
    for (int steps = 0; !p.actions.empty(); ++steps, p = plan(s)) {
      if (steps == 64) {
        co_return co_await fail(reason::kHarborError, "the robot plan did not converge",
                                std::nullopt, internalError("the robot plan did not converge"));
      }
      if (auto e = co_await run(p.actions.front())) {
        co_return co_await fail(e->reason, e->status.message(), std::nullopt, e->status,
                                e->terminal);
      }
    }
    if (!conflicts.empty() &&
        conditionReason(cached, condition::kReady) != reason::kSecretConflict) {
      std::string note = "pull secret name taken by Secrets not managed by Harbormaster";
      co_await recordEvent(ctx, cached, eventtype::kWarning, reason::kSecretConflict, note);
    }
    report();
    Status written = co_await writeStatus(ctx, kRobots, cached, status);
    // Come back for the next rotation or retirement, unless the resync comes first.
    std::optional<std::chrono::milliseconds> requeue;
    if (p.revisitAt) {
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(*p.revisitAt - s.now) +
                  std::chrono::milliseconds(50);
      requeue = std::max(wait, std::chrono::milliseconds(50));
      if (*requeue > ctx.options.resync) {
        requeue.reset();
      }
    }
    co_return resultOf(written, requeue);
  }
};

class RobotAccountReconciler final : public Reconciler {
 public:
  RobotAccountReconciler(Context& ctx, Caches caches) : ctx_(ctx), caches_(std::move(caches)) {}

  awaitable<Result> reconcile(std::string name) override {
    Context ctx = ctx_.forReconcile();
    auto cached = caches_.robots->get(name);
    if (!cached) {
      if (caches_.expiry.forget) {
        caches_.expiry.forget(name);  // a deleted RobotAccount's series go with it
      }
      co_return Result::done();
    }
    auto spec = parseRobotAccount(*cached);
    RobotRun run{ctx, caches_, *cached, name, spec.ok() ? *spec : RobotAccountSpec{}};
    run.status = cached->value("status", json::object());
    run.s.owner = name;
    run.s.generation = (*cached)["metadata"].value("generation", int64_t{1});
    run.s.now = ctx.clock->wallNow();
    const bool deleting = (*cached)["metadata"].contains("deletionTimestamp");
    if (deleting || !hasFinalizer(*cached)) {
      if (deleting && !hasFinalizer(*cached)) {
        co_return Result::done();
      }
      if (deleting) {
        const bool deleteRobots = !spec.ok() || spec->deletionPolicy == DeletionPolicy::kDelete;
        if (Status st = co_await run.remove(deleteRobots); !st.ok()) {
          co_return Result::retry(st);
        }
      }
      co_return resultOf(co_await setFinalizer(ctx, kRobots, *cached, !deleting));
    }
    if (!spec.ok()) {
      co_return co_await run.fail(reason::kInvalidSpec, spec.status().message(), std::nullopt,
                                  spec.status(), true);
    }
    if (spec->level == RobotLevel::kSystem) {
      if (auto waiting = unreadyProject(*spec)) {
        co_return co_await run.fail(reason::kProjectNotReady,
                                    "waiting for HarborProject " + *waiting + " to be Ready",
                                    std::chrono::seconds(30));
      }
    } else {
      auto project = caches_.projects->get(spec->project);
      if (!project || conditionStatus(*project, condition::kReady) != condition::kTrue ||
          !(*project)["status"].contains("projectID")) {
        co_return co_await run.fail(reason::kProjectNotReady,
                                    "waiting for HarborProject " + spec->project + " to be Ready",
                                    std::chrono::seconds(30));
      }
      run.s.projectName = (*project)["status"].value("projectName", spec->project);
      run.projectId = (*project)["status"].value("projectID", int64_t{0});
    }
    run.s.spec = *spec;
    run.s.rotateAnnotation =
        (*cached)["metadata"].value("annotations", json::object()).value(kRotateAnnotation, "");
    run.s.rotationGrace =
        std::chrono::duration_cast<std::chrono::seconds>(ctx.options.rotationGrace);
    auto secret = caches_.newSecret ? caches_.newSecret() : randomSecret();
    if (!secret.ok()) {
      co_return Result::retry(secret.status());
    }
    run.s.newSecret = std::move(*secret);
    if (Status st = co_await run.readMaster(); !st.ok()) {
      co_return co_await run.fail(reason::kKubernetesError, st.message(), std::nullopt, st);
    }
    Result out = co_await run.converge(*cached);
    if (out.error.ok()) {
      noteExpiry(ctx, caches_, name, run.status);
    }
    co_return out;
  }

 private:
  // A System robot names projects as Harbor does; one a HarborProject declares but has not made
  // Ready yet is waited for (applied together, the robot would otherwise meet Harbor's 404).
  // Projects no HarborProject declares are Harbor's to know: its answer is the condition.
  std::optional<std::string> unreadyProject(const RobotAccountSpec& spec) const {
    std::set<std::string> named;
    for (const auto& g : spec.projects) {
      named.insert(g.project);
    }
    for (const auto& p : caches_.projects->list()) {
      if (named.count(harborProjectName(p)) &&
          conditionStatus(p, condition::kReady) != condition::kTrue) {
        return p["metadata"].value("name", "");
      }
    }
    return std::nullopt;
  }

  // harbormaster_robot_days_to_expiry from the status just written.
  static void noteExpiry(const Context& ctx, const Caches& caches, const std::string& name,
                         const json& status) {
    auto expires = parseRfc3339(status.value("expiresAt", ""));
    if (expires.ok() && caches.expiry.set) {
      const double days =
          std::chrono::duration<double>(*expires - ctx.clock->wallNow()).count() / 86400.0;
      caches.expiry.set(name, days);
    }
  }

  Context& ctx_;
  Caches caches_;
};

}  // namespace

std::shared_ptr<Reconciler> newReconciler(Context& ctx, Caches caches) {
  return std::make_shared<RobotAccountReconciler>(ctx, std::move(caches));
}

void setup(Manager& mgr) {
  Context& ctx = mgr.context();
  if (ctx.harbor == nullptr) {
    return;  // robots live in Harbor
  }
  Caches c;
  c.robots = mgr.informer(kRobots);
  c.projects = mgr.informer(kProjects);
  c.namespaces = mgr.informer(kNamespaces);
  const std::string managed = std::string(kManagedByLabel) + "=" + kManagedByValue;
  c.secrets = mgr.informer(kSecrets, managed);
  c.serviceAccounts = mgr.informer(kServiceAccounts);
  c.newSecret = randomSecret;
  auto registry = mgr.metricsRegistry().registry();
  auto& days = prometheus::BuildGauge()
                   .Name("harbormaster_robot_days_to_expiry")
                   .Help(
                       "Days until the active robot secret of a RobotAccount expires (absent: "
                       "never).")
                   .Register(*registry);
  // Each hook holds the registry its family lives in.
  c.expiry.set = [registry, &days](const std::string& robot, double d) {
    days.Add({{"robot_account", robot}}).Set(d);
  };
  c.expiry.forget = [registry, &days](const std::string& robot) {
    days.Remove(&days.Add({{"robot_account", robot}}));
  };
  // A Project robot by its HarborProject; a System robot by each project it names (as Harbor
  // names them), which robotsOfProject looks up by the project's Harbor name.
  mgr.addIndex(kRobots, kRobotsByProject, [](const json& o) {
    // Any shape a hand-made object may have: the spec is parsed (with errors) by the reconciler.
    auto text = [](const json& parent, const char* key) {
      auto it = parent.is_object() ? parent.find(key) : parent.end();
      return it != parent.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    const json spec = o.value("spec", json::object());
    std::vector<std::string> keys;
    if (text(spec, "level") == "System") {
      const json projects = spec.value("projects", json::array());
      for (const auto& g : projects.is_array() ? projects : json::array()) {
        if (const std::string p = text(g, "project"); !p.empty() && p != "*") {
          keys.push_back(p);
        }
      }
      return keys;
    }
    keys.push_back(text(spec, "project"));
    return keys;
  });
  mgr.addIndex(
      kSecrets, kSecretsByPullOwner,
      [](const json& o) {
        const json labels = o["metadata"].value("labels", json::object());
        const std::string role = labels.value(kRoleLabel, "");
        if (role != kRolePull && role != kRoleCiCredentials) {
          return std::vector<std::string>{};
        }
        return std::vector<std::string>{labels.value(kOwnerLabel, "")};
      },
      managed);
  mgr.addIndex(kServiceAccounts, kAccountsByNamespace, [](const json& o) {
    return std::vector<std::string>{o["metadata"].value("namespace", "")};
  });
  auto robots = c.robots;
  // A project's robots: when it appears, goes, or changes (its resync: the robots have theirs).
  auto robotsOfProject = [robots](const json& project) {
    std::set<std::string> keys;
    for (const std::string& key :
         {project["metadata"].value("name", ""), harborProjectName(project)}) {
      for (const auto& r : robots->byIndex(kRobotsByProject, key)) {
        keys.insert(r["metadata"].value("name", ""));
      }
    }
    return std::vector<std::string>(keys.begin(), keys.end());
  };
  // Namespaces and ServiceAccounts decide where pull secrets go: every robot that has one.
  auto everyFanOut = [robots](const json&) {
    std::vector<std::string> keys;
    for (const auto& r : robots->list()) {
      const json spec = r.value("spec", json::object());
      if (spec.contains("pullSecret") || spec.contains("credentialsSecret")) {
        keys.push_back(r["metadata"].value("name", ""));
      }
    }
    return keys;
  };
  // A changed or deleted pull secret or credential brings its owner back to repair it.
  auto owner = [](const json& secret) {
    const std::string name =
        secret["metadata"].value("labels", json::object()).value(kOwnerLabel, "");
    return name.empty() ? std::vector<std::string>{} : std::vector<std::string>{name};
  };
  WatchEvents created;
  created.update = false;
  created.remove = false;
  mgr.controller("robotaccount")
      .forResource(kRobots)
      .owns(kSecrets, managed, owner)
      .watches(kProjects, robotsOfProject)
      .watches(kNamespaces, everyFanOut)
      .watches(kServiceAccounts, everyFanOut, created)
      .complete(newReconciler(ctx, std::move(c)));
}

StatusOr<std::string> randomSecret() {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    return internalError("the random generator failed (RAND_bytes)");  // no weak secret
  }
  std::string out = "Hm1";
  for (unsigned char b : bytes) {
    out += kAlphabet[b % 62];
  }
  return out;
}

}  // namespace hm::op::robotaccount
