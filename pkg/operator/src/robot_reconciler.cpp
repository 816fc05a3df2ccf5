// RobotAccount → one or two Harbor robots, their credential in a Secret in the operator's
// namespace (the "master" Secret), and pull secrets in the target namespaces.
//
// No secret is ever lost: a secret Harbor generated is stored the moment it is returned, and a
// secret we choose (when the stored one is missing or rejected) is stored before Harbor is told
// (`<slot>.pending`), so a crash anywhere leaves a credential that works or will on retry.
// Rotation never breaks a pull: the second robot (slot b, `<name>.b`) is created and written to
// every pull secret before the first is retired, and the retired one keeps working for
// rotationGrace.
#include <openssl/rand.h>

#include <set>

#include "context.h"
#include "harbormaster/base/encoding.h"

namespace hm::op {
namespace {

using boost::asio::awaitable;
using nlohmann::json;
using Data = std::map<std::string, std::string>;

std::string generateSecret() {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    // No secret from a failed generator: the reconcile fails and is retried.
    throw std::runtime_error("the random generator failed (RAND_bytes)");
  }
  std::string out = "Hm1";  // Harbor wants an upper-case letter, a lower-case one and a digit
  for (unsigned char b : bytes) {
    out += kAlphabet[b % 62];
  }
  return out;
}

int64_t unixNow(WallTime now) {
  return std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
}

std::string masterName(const std::string& robotAccount) {
  return "harbormaster-robot-" + robotAccount;
}

Data decode(const json& secret) {
  Data out;
  const json fields = secret.value("data", json::object());
  for (const auto& [k, v] : fields.items()) {
    if (v.is_string()) {
      auto d = hm::base64Decode(v.get<std::string>());
      if (d) {
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

// A failed step: the condition reason to report and the error.
struct StepError {
  std::string reason;  // HarborError, KubernetesError
  Status status;
};

struct RobotRun {
  Context& ctx;
  json object;
  std::string owner;  // the RobotAccount's name
  int64_t generation;
  json status;
  WallTime now = std::chrono::system_clock::now();
  std::string projectName = {};
  int64_t projectId = 0;
  json master = nullptr;  // the master Secret as last read or written
  Data data = {};

  std::string shortName(const RobotAccountSpec& spec, const std::string& slot) const {
    return slot == "a" ? spec.name : spec.name + ".b";
  }

  harbor::RobotSpec desired(const RobotAccountSpec& spec, const std::string& slot) const {
    harbor::RobotSpec r;
    r.name = shortName(spec, slot);
    r.description = spec.description.empty()
                        ? "Managed by Harbormaster (RobotAccount " + owner + ")"
                        : spec.description;
    r.durationDays = spec.durationDays;
    r.permissions = {{"project", projectName, spec.permissions}};
    return r;
  }

  void conditions(const std::string& ready, const std::string& reason, const std::string& message,
                  const std::string& synced) {
    setCondition(status, {"Ready", ready, reason, message}, generation, now);
    setCondition(status, {"Synced", synced, reason, message}, generation, now);
    status["observedGeneration"] = generation;
  }

  awaitable<Outcome> fail(const std::string& reason, const std::string& message,
                          std::optional<std::chrono::milliseconds> requeue = std::nullopt,
                          Status error = okStatus()) {
    conditions("False", reason, message, "False");
    Status written = co_await writeStatus(ctx, kRobots, object, status);
    co_return Outcome{error.ok() ? written : error, requeue};
  }

  // The master Secret: read fresh (not from a cache) because it is the source of truth.
  awaitable<Status> readMaster() {
    auto got =
        co_await ctx.kube->get(kSecrets, ctx.options.nameSpace, masterName(owner), ctx.deadline());
    if (got.ok()) {
      master = *got;
      data = decode(master);
      co_return okStatus();
    }
    if (got.status().code() != StatusCode::kNotFound) {
      co_return got.status();
    }
    master = nullptr;
    data.clear();
    co_return okStatus();
  }

  awaitable<Status> writeMaster() {
    if (master.is_null()) {
      json s = {{"apiVersion", "v1"},
                {"kind", "Secret"},
                {"metadata",
                 {{"name", masterName(owner)},
                  {"namespace", ctx.options.nameSpace},
                  {"labels", managedLabels(owner, kRoleCredential)},
                  {"annotations", {{kOwnerAnnotation, owner}}}}},
                {"type", "Opaque"},
                {"data", encode(data)}};
      auto created = co_await ctx.kube->create(kSecrets, ctx.options.nameSpace, s, ctx.deadline());
      if (!created.ok()) {
        co_return created.status().withContext("store the robot credential");
      }
      master = *created;
      co_return okStatus();
    }
    json next = master;
    next["data"] = encode(data);
    auto updated = co_await ctx.kube->update(kSecrets, ctx.options.nameSpace, next, ctx.deadline());
    if (!updated.ok()) {
      co_return updated.status().withContext("store the robot credential");
    }
    master = *updated;
    co_return okStatus();
  }

  void forgetSlot(const std::string& slot) {
    for (const char* k : {".id", ".username", ".password", ".pending", ".expiresAt",
                          ".checkedGeneration", ".createdAt"}) {
      data.erase(slot + k);
    }
    data.erase("retire." + slot);
  }

  // Chooses a new secret, stores it, then tells Harbor (write-ahead).
  awaitable<Status> resetSecret(const std::string& slot) {
    const int64_t id = number(data, slot + ".id", 0);
    if (!data.count(slot + ".pending")) {
      data[slot + ".pending"] = generateSecret();
      if (Status s = co_await writeMaster(); !s.ok()) {
        co_return s;
      }
    }
    Status s = co_await ctx.harbor->setRobotSecret(id, data[slot + ".pending"], ctx.deadline());
    if (!s.ok()) {
      co_return s;
    }
    data[slot + ".password"] = data[slot + ".pending"];
    data.erase(slot + ".pending");
    co_return co_await writeMaster();
  }

  awaitable<Status> createRobot(const RobotAccountSpec& spec, const std::string& slot) {
    const std::string stored = projectName + "+" + shortName(spec, slot);
    auto found = co_await ctx.harbor->listProjectRobots(projectId, stored, ctx.deadline());
    if (!found.ok()) {
      co_return found.status();
    }
    if (!found->empty()) {
      // Made by an earlier attempt that crashed before storing the secret: adopt and reset.
      const harbor::Robot& r = found->front();
      data[slot + ".id"] = std::to_string(r.id);
      data[slot + ".createdAt"] = std::to_string(unixNow(now));
      data[slot + ".username"] = r.name;
      data[slot + ".expiresAt"] = std::to_string(r.expiresAt);
      co_return co_await resetSecret(slot);
    }
    auto created = co_await ctx.harbor->createRobot(desired(spec, slot), ctx.deadline());
    if (!created.ok()) {
      co_return created.status();
    }
    data[slot + ".id"] = std::to_string(created->id);
    data[slot + ".createdAt"] = std::to_string(unixNow(now));
    data[slot + ".username"] = created->name;
    data[slot + ".password"] = created->secret;
    data[slot + ".expiresAt"] = std::to_string(created->expiresAt);
    co_await recordEvent(ctx, object, "Normal", "RobotCreated",
                         "created Harbor robot " + created->name);
    co_return co_await writeMaster();
  }

  // Makes the slot's robot exist, enabled, as specified, with a secret Harbor accepts.
  // At steady state this is one Harbor call: the stored secret is tried, which fails if the
  // robot was deleted, disabled, expired or given another secret. Harbor's record of the robot
  // is read (and repaired) only when that fails or the spec changed since the last full check.
  awaitable<Status> ensureRobot(const RobotAccountSpec& spec, const std::string& slot) {
    if (!data.count(slot + ".id")) {
      Status created = co_await createRobot(spec, slot);
      if (created.ok()) {
        data[slot + ".checkedGeneration"] = std::to_string(generation);
        created = co_await writeMaster();
      }
      co_return created;
    }
    const std::string checked = slot + ".checkedGeneration";
    if (number(data, checked, -1) == generation && data.count(slot + ".password") &&
        !data.count(slot + ".pending")) {
      Status probe = co_await ctx.harbor->probeCredentials(
          data[slot + ".username"], data[slot + ".password"], ctx.deadline());
      if (probe.code() != StatusCode::kUnauthenticated) {
        co_return probe;
      }
    }
    Status full = co_await fullCheck(spec, slot);
    if (full.ok() && number(data, checked, -1) != generation) {
      data[checked] = std::to_string(generation);
      full = co_await writeMaster();
    }
    co_return full;
  }

  awaitable<Status> fullCheck(const RobotAccountSpec& spec, const std::string& slot) {
    const int64_t id = number(data, slot + ".id", 0);
    auto robot = co_await ctx.harbor->getRobot(id, ctx.deadline());
    if (robot.status().code() == StatusCode::kNotFound) {
      co_await recordEvent(ctx, object, "Warning", "RobotRecreated",
                           "Harbor robot " + data[slot + ".username"] +
                               " was deleted outside Harbormaster; creating it again");
      forgetSlot(slot);
      co_return co_await createRobot(spec, slot);
    }
    if (!robot.ok()) {
      co_return robot.status();
    }
    harbor::RobotSpec want = desired(spec, slot);
    std::vector<std::pair<std::string, std::string>> haveAccess, wantAccess;
    for (const auto& p : robot->permissions) {
      for (const auto& a : p.access) {
        haveAccess.emplace_back(a.resource, a.action);
      }
    }
    for (const auto& a : spec.permissions) {
      wantAccess.emplace_back(a.resource, a.action);
    }
    std::sort(haveAccess.begin(), haveAccess.end());
    std::sort(wantAccess.begin(), wantAccess.end());
    if (robot->disabled || haveAccess != wantAccess || robot->description != want.description ||
        robot->durationDays != want.durationDays) {
      harbor::Robot next = *robot;
      next.disabled = false;
      next.description = want.description;
      next.durationDays = want.durationDays;
      next.permissions = want.permissions;
      if (Status s = co_await ctx.harbor->updateRobot(next, ctx.deadline()); !s.ok()) {
        co_return s;
      }
      std::string type = "Normal", reason = "RobotUpdated",
                  note = "updated Harbor robot " + robot->name;
      if (robot->disabled) {
        type = "Warning";
        reason = "DriftRepaired";
        note = "Harbor robot " + robot->name + " was disabled outside Harbormaster; enabled it";
      }
      co_await recordEvent(ctx, object, type, reason, note);
      auto reread = co_await ctx.harbor->getRobot(id, ctx.deadline());
      if (reread.ok()) {
        robot = std::move(reread);
      }
    }
    data[slot + ".username"] = robot->name;
    data[slot + ".expiresAt"] = std::to_string(robot->expiresAt);
    if (data.count(slot + ".pending") || !data.count(slot + ".password")) {
      co_return co_await resetSecret(slot);
    }
    Status probe = co_await ctx.harbor->probeCredentials(robot->name, data[slot + ".password"],
                                                         ctx.deadline());
    if (probe.code() == StatusCode::kUnauthenticated) {
      co_await recordEvent(
          ctx, object, "Warning", "CredentialRejected",
          "Harbor rejected the stored secret of " + robot->name + "; setting a new one");
      co_return co_await resetSecret(slot);
    }
    co_return probe;
  }

  std::optional<WallTime> rotationDue(const RobotAccountSpec& spec, const std::string& active) {
    const int64_t expires = number(data, active + ".expiresAt", -1);
    std::optional<WallTime> expiresAt;
    if (expires > 0) {
      expiresAt = WallTime(std::chrono::seconds(expires));
    }
    // The active credential dates from the last rotation, or from its robot's creation.
    auto last = parseRfc3339(data.count("lastRotation") ? data["lastRotation"] : "");
    WallTime since =
        last.ok()
            ? *last
            : WallTime(std::chrono::seconds(number(data, active + ".createdAt", unixNow(now))));
    return nextRotation(spec, expiresAt, since);
  }

  // Deletes the slot's robot from Harbor, if it has one (already gone is fine).
  awaitable<Status> deleteSlotRobot(const std::string& slot) {
    if (!data.count(slot + ".id")) {
      co_return okStatus();
    }
    Status d = co_await ctx.harbor->deleteRobot(number(data, slot + ".id", 0), ctx.deadline());
    co_return d.code() == StatusCode::kNotFound ? okStatus() : d;
  }

  // Deletes the slot's robot and forgets it.
  awaitable<std::optional<StepError>> dropSlot(const std::string& slot) {
    if (Status d = co_await deleteSlotRobot(slot); !d.ok()) {
      co_return StepError{"HarborError", d};
    }
    forgetSlot(slot);
    if (Status w = co_await writeMaster(); !w.ok()) {
      co_return StepError{"KubernetesError", w};
    }
    co_return std::nullopt;
  }

  // The other slot's robot is made and written to every pull secret before the active one is
  // marked for retirement. Updates `active`.
  awaitable<std::optional<StepError>> rotate(const RobotAccountSpec& spec, std::string& active,
                                             const std::string& request) {
    const std::string next = active == "a" ? "b" : "a";
    if (data.count(next + ".id")) {
      if (auto e = co_await dropSlot(next)) {
        co_return e;
      }
    }
    if (Status s = co_await ensureRobot(spec, next); !s.ok()) {
      co_return StepError{"HarborError", s};
    }
    auto fanned =
        co_await fanOut(ctx, owner, spec, data[next + ".username"], data[next + ".password"]);
    if (!fanned.ok()) {
      co_return StepError{"KubernetesError", fanned.status()};
    }
    const auto grace = std::chrono::duration_cast<std::chrono::seconds>(ctx.options.rotationGrace);
    data["active"] = next;
    data["retire." + active] = std::to_string(unixNow(now) + grace.count());
    data["lastRotation"] = formatRfc3339(now);
    if (!request.empty()) {
      data["rotateRequest"] = request;
    }
    if (Status w = co_await writeMaster(); !w.ok()) {
      co_return StepError{"KubernetesError", w};
    }
    std::string note = "pull secrets now use " + data[next + ".username"] + "; " +
                       data[active + ".username"] + " retires after the grace period";
    co_await recordEvent(ctx, object, "Normal", "SecretRotated", note);
    active = next;
    co_return std::nullopt;
  }

  // Deletes robots whose grace period is over; `retireAt` is the next one still waiting.
  awaitable<std::optional<StepError>> retire(const std::string& active,
                                             std::optional<WallTime>& retireAt) {
    for (const std::string slot : {"a", "b"}) {
      if (slot == active || !data.count("retire." + slot)) {
        continue;
      }
      WallTime when(std::chrono::seconds(number(data, "retire." + slot, 0)));
      if (when > now) {
        retireAt = retireAt ? std::min(*retireAt, when) : when;
      } else if (auto e = co_await dropSlot(slot)) {
        co_return e;
      }
    }
    co_return std::nullopt;
  }

  // Deleting the RobotAccount: its pull secrets go; its robots and credential per policy.
  awaitable<Status> remove(bool deleteRobots) {
    // From the API, not the cache: a Secret written just before the deletion must go too.
    kube::ListOptions selector;
    selector.labelSelector =
        std::string(kOwnerLabel) + "=" + owner + "," + kRoleLabel + "=" + kRolePull;
    auto listed = co_await ctx.kube->list(kSecrets, "", selector, ctx.deadline());
    if (!listed.ok()) {
      co_return listed.status();
    }
    const std::vector<json> owned = (*listed)["items"].get<std::vector<json>>();
    const std::set<std::string> keepNone;
    if (Status s = co_await removeFanOut(ctx, owned, keepNone); !s.ok()) {
      co_return s;
    }
    if (Status s = co_await readMaster(); !s.ok() || !deleteRobots) {
      co_return s;
    }
    for (const std::string slot : {"a", "b"}) {
      if (Status d = co_await deleteSlotRobot(slot); !d.ok()) {
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

  // Status fields and conditions after a successful fan-out.
  void report(const std::string& active, int namespaces,
              const std::vector<std::string>& conflicts) {
    status["robotID"] = number(data, active + ".id", 0);
    status["robotName"] = data[active + ".username"];
    const int64_t expires = number(data, active + ".expiresAt", -1);
    if (expires > 0) {
      status["expiresAt"] = formatRfc3339(WallTime(std::chrono::seconds(expires)));
    } else {
      status.erase("expiresAt");
    }
    if (data.count("lastRotation")) {
      status["lastRotation"] = data["lastRotation"];
    }
    status["secretNamespaces"] = namespaces;
    if (conflicts.empty()) {
      conditions("True", "Synced",
                 "robot " + data[active + ".username"] + " is in pull secrets in " +
                     std::to_string(namespaces) + " namespace(s)",
                 "True");
      return;
    }
    std::string list;
    for (const auto& c : conflicts) {
      list += (list.empty() ? "" : ", ") + c;
    }
    conditions("False", "SecretConflict",
               "Secrets not managed by Harbormaster already exist with the pull secret's name, "
               "left untouched: " +
                   list,
               "True");
  }
};

}  // namespace

awaitable<Outcome> reconcileRobot(Context& ctx, std::string name) {
  auto cached = ctx.robots->get(name);
  if (!cached) {
    co_return Outcome{};
  }
  RobotRun run{ctx, *cached, name, (*cached)["metadata"].value("generation", int64_t{1}),
               cached->value("status", json::object())};
  auto spec = parseRobotAccount(*cached);
  if ((*cached)["metadata"].contains("deletionTimestamp") || !hasFinalizer(*cached)) {
    const bool deleting = (*cached)["metadata"].contains("deletionTimestamp");
    if (deleting && !hasFinalizer(*cached)) {
      co_return Outcome{};
    }
    if (deleting) {
      const bool deleteRobots = !spec.ok() || spec->deletionPolicy == DeletionPolicy::kDelete;
      if (Status s = co_await run.remove(deleteRobots); !s.ok()) {
        co_return Outcome{s, std::nullopt};
      }
    }
    Status done = co_await setFinalizer(ctx, kRobots, *cached, !deleting);
    co_return Outcome{done, std::nullopt};
  }
  if (!spec.ok()) {
    co_return co_await run.fail("InvalidSpec", spec.status().message());
  }
  auto project = ctx.projects->get(spec->project);
  if (!project || conditionStatus(*project, "Ready") != "True" ||
      !(*project)["status"].contains("projectID")) {
    co_return co_await run.fail("ProjectNotReady",
                                "waiting for HarborProject " + spec->project + " to be Ready",
                                std::chrono::seconds(30));
  }
  run.projectName = (*project)["status"].value("projectName", spec->project);
  run.projectId = (*project)["status"].value("projectID", int64_t{0});
  if (Status s = co_await run.readMaster(); !s.ok()) {
    co_return co_await run.fail("KubernetesError", s.message(), std::nullopt, s);
  }
  std::string active = run.data.count("active") ? run.data["active"] : "a";
  if (Status s = co_await run.ensureRobot(*spec, active); !s.ok()) {
    co_return co_await run.fail("HarborError", s.message(), std::nullopt, s);
  }
  const std::string annotation =
      (*cached)["metadata"].value("annotations", json::object()).value(kRotateAnnotation, "");
  const bool requested = !annotation.empty() && annotation != run.data["rotateRequest"];
  auto due = run.rotationDue(*spec, active);
  if (requested || (due && *due <= run.now)) {
    const std::string request = requested ? annotation : std::string();
    if (auto e = co_await run.rotate(*spec, active, request)) {
      co_return co_await run.fail(e->reason, e->status.message(), std::nullopt, e->status);
    }
    due = run.rotationDue(*spec, active);
  }
  std::optional<WallTime> retireAt;
  if (auto e = co_await run.retire(active, retireAt)) {
    co_return co_await run.fail(e->reason, e->status.message(), std::nullopt, e->status);
  }
  auto fanned = co_await fanOut(ctx, name, *spec, run.data[active + ".username"],
                                run.data[active + ".password"]);
  if (!fanned.ok()) {
    co_return co_await run.fail("KubernetesError", fanned.status().message(), std::nullopt,
                                fanned.status());
  }
  if (!fanned->second.empty() && conditionReason(*cached, "Ready") != "SecretConflict") {
    std::string note = "pull secret name taken by Secrets not managed by Harbormaster";
    co_await recordEvent(ctx, *cached, "Warning", "SecretConflict", note);  // on transition
  }
  run.report(active, fanned->first, fanned->second);
  Status written = co_await writeStatus(ctx, kRobots, *cached, run.status);
  // Come back for the next rotation or retirement, unless the resync comes first.
  std::optional<std::chrono::milliseconds> requeue;
  for (auto at : {due, retireAt}) {
    if (at) {
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(*at - run.now) +
                  std::chrono::milliseconds(50);
      wait = std::max(wait, std::chrono::milliseconds(50));
      requeue = requeue ? std::min(*requeue, wait) : wait;
    }
  }
  if (requeue && *requeue > ctx.options.resync) {
    requeue.reset();
  }
  co_return Outcome{written, requeue};
}

}  // namespace hm::op
