// HarborProject → a Harbor project. Status carries the claim: status.projectName is written
// before the project is created, so an operator that crashes between the two adopts the
// project it made instead of reporting it as someone else's.
#include "harborproject/reconciler.h"

#include "harborproject/immutable.h"
#include "harborproject/members.h"
#include "harborproject/notifications.h"
#include "harborproject/retention.h"

namespace hm::op::harborproject {
namespace {

using boost::asio::awaitable;
using nlohmann::json;

bool harborTrue(const std::string& v) {
  std::string lower;
  for (char c : v) {
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return lower == "true" || lower == "1";
}

// Metadata keys whose Harbor value differs from the spec's (booleans compared as Harbor reads
// them; an absent reuse_sys_cve_allowlist means true).
std::map<std::string, std::string> metadataDrift(const HarborProjectSpec& spec,
                                                 const harbor::Project& project) {
  std::map<std::string, std::string> out;
  for (const auto& [key, want] : spec.harborMetadata()) {
    auto it = project.metadata.find(key);
    std::string have = it == project.metadata.end() ? "" : it->second;
    if (key == "severity") {
      if (have != want) {
        out[key] = want;
      }
      continue;
    }
    bool haveBool =
        it == project.metadata.end() ? key == "reuse_sys_cve_allowlist" : harborTrue(have);
    if (haveBool != (want == "true")) {
      out[key] = want;
    }
  }
  return out;
}

bool allowlistDrift(const HarborProjectSpec& spec, const harbor::Project& project) {
  if (!spec.cveAllowlist) {
    return false;
  }
  auto want = spec.cveAllowlist->items, have = project.allowlist.items;
  std::sort(want.begin(), want.end());
  std::sort(have.begin(), have.end());
  return want != have || spec.cveAllowlist->expiresAt != project.allowlist.expiresAt;
}

struct ProjectRun {
  Context& ctx;
  json object;
  int64_t generation;
  json status;
  WallTime now;
  // The retention policy the Harbor project names (metadata retention_id), 0 for none: read
  // with the project, so retention costs one more read only when declared.
  int64_t boundRetention;

  // Synced says whether Harbor matches the spec; Ready whether the project is there to use: a
  // project that exists stays Ready while an update to it fails.
  void conditions(bool synced, const std::string& why, const std::string& message) {
    const bool exists = status.contains("projectID") && why != reason::kDeletionBlocked;
    const char* yes = condition::kTrue;
    const char* no = condition::kFalse;
    setCondition(status, {condition::kSynced, synced ? yes : no, why, message}, generation, now);
    if (synced || !exists) {
      setCondition(status, {condition::kReady, synced ? yes : no, why, message}, generation, now);
    } else {
      setCondition(status,
                   {condition::kReady, yes, reason::kProjectExists,
                    "the Harbor project exists; not all of the spec is applied: " + message},
                   generation, now);
    }
    status["observedGeneration"] = generation;
  }

  // A failed reconcile: the conditions say why. Harbor refusing the request (400) and a spec
  // that cannot be applied are terminal: retrying cannot help until the object changes.
  awaitable<Result> fail(std::string why, const std::string& message,
                         std::optional<std::chrono::milliseconds> requeue = std::nullopt,
                         Status error = okStatus()) {
    const bool refused =
        why == reason::kHarborError && error.code() == StatusCode::kInvalidArgument;
    if (refused) {
      why = reason::kHarborRejected;
    }
    conditions(false, why, message);
    Status written = co_await writeStatus(ctx, kProjects, object, status);
    if (!error.ok()) {
      co_return refused ? Result::terminalError(error) : Result::retry(error);
    }
    if (why == reason::kInvalidSpec || why == reason::kAlreadyExists) {
      co_return Result::terminalError(invalidArgument(message));
    }
    co_return resultOf(written, requeue);
  }

  awaitable<Result> remove(const HarborProjectSpec* spec) {
    const std::string name = status.value("projectName", spec ? spec->projectName : std::string());
    const bool owned = status.contains("projectID");
    if (status.contains("webhookPolicyID") && !name.empty()) {
      // Harbor would keep posting to the operator about a project nothing manages.
      const int64_t id = status.value("webhookPolicyID", int64_t{0});
      Status s = co_await ctx.harbor->deleteWebhookPolicy(name, id, ctx.deadline());
      if (!s.ok() && s.code() != StatusCode::kNotFound) {
        co_return co_await fail(reason::kHarborError, s.message(), std::nullopt, s);
      }
      status.erase("webhookPolicyID");
      status.erase("webhookPolicyConfig");
    }
    if (spec && spec->deletionPolicy == DeletionPolicy::kDelete && owned && !name.empty()) {
      Status s = co_await ctx.harbor->deleteProject(name, ctx.deadline());
      if (s.code() == StatusCode::kFailedPrecondition) {
        co_await recordEvent(ctx, object, eventtype::kWarning, reason::kDeletionBlocked,
                             "Harbor project " + name + " still holds repositories");
        co_return co_await fail(
            reason::kDeletionBlocked,
            "Harbor project " + name +
                " still holds repositories: delete them in Harbor, or set deletionPolicy: "
                "Retain to keep the project",
            std::chrono::seconds(30));
      }
      if (!s.ok() && s.code() != StatusCode::kNotFound) {
        co_return co_await fail(reason::kHarborError, s.message(), std::nullopt, s);
      }
    }
    Status done = co_await setFinalizer(ctx, kProjects, object, false);
    co_return resultOf(done);
  }

  awaitable<Result> sync(const HarborProjectSpec& spec) {
    auto existing = co_await ctx.harbor->getProject(spec.projectName, ctx.deadline());
    if (!existing.ok() && existing.status().code() != StatusCode::kNotFound) {
      co_return co_await fail(reason::kHarborError, existing.status().message(), std::nullopt,
                              existing.status());
    }
    const bool claimed = status.value("projectName", "") == spec.projectName;
    if (!existing.ok()) {
      co_return co_await create(spec);
    }
    const bool ours = claimed && (status.value("projectID", int64_t{0}) == existing->id ||
                                  !status.contains("projectID"));
    if (!ours && !spec.adoptExisting) {
      co_return co_await fail(reason::kAlreadyExists,
                              "a Harbor project named " + spec.projectName +
                                  " already exists and was not made for this resource; set "
                                  "spec.adoptExisting: true to manage it");
    }
    if (!ours) {
      status["adopted"] = true;
      co_await recordEvent(ctx, object, eventtype::kNormal, reason::kProjectAdopted,
                           "adopted existing Harbor project " + spec.projectName);
    }
    status["projectName"] = spec.projectName;
    status["projectID"] = existing->id;
    co_return co_await update(spec, *existing);
  }

  awaitable<Result> create(const HarborProjectSpec& spec) {
    if (status.value("projectName", "") != spec.projectName) {
      status["projectName"] = spec.projectName;  // the claim, before Harbor has the project
      status.erase("projectID");
      setCondition(status,
                   {condition::kSynced, condition::kUnknown, reason::kCreating,
                    "creating the Harbor project"},
                   generation, now);
      Status claimed = co_await writeStatus(ctx, kProjects, object, status);
      if (!claimed.ok()) {
        co_return resultOf(claimed);
      }
      auto fresh =
          co_await ctx.kube->get(kProjects, "", object["metadata"]["name"], ctx.deadline());
      if (!fresh.ok()) {
        co_return Result::retry(fresh.status());
      }
      object = std::move(*fresh);
    }
    harbor::ProjectSpec ps;
    ps.name = spec.projectName;
    ps.metadata = spec.harborMetadata();
    ps.storageLimit = spec.storageLimitBytes;
    auto id = co_await ctx.harbor->createProject(ps, ctx.deadline());
    if (!id.ok()) {
      co_return co_await fail(reason::kHarborError, id.status().message(), std::nullopt,
                              id.status());
    }
    if (spec.cveAllowlist) {
      harbor::ProjectUpdate u;
      u.allowlist = spec.cveAllowlist;
      Status s = co_await ctx.harbor->updateProject(spec.projectName, u, ctx.deadline());
      if (!s.ok()) {
        co_return co_await fail(reason::kHarborError, s.message(), std::nullopt, s);
      }
    }
    status["projectID"] = *id;
    if (Status q = co_await syncQuota(spec, *id); !q.ok()) {
      co_return co_await fail(reason::kHarborError, q.message(), std::nullopt, q);
    }
    co_await recordEvent(ctx, object, eventtype::kNormal, reason::kProjectCreated,
                         "created Harbor project " + spec.projectName);
    co_return co_await synced(spec);
  }

  // The quota is a second Harbor read, so it is checked when the spec changed (or the last sync
  // did not finish), not at every resync.
  awaitable<Status> syncQuota(const HarborProjectSpec& spec, int64_t projectId) {
    const json old = object.value("status", json::object());
    if (!spec.storageLimitBytes ||
        (old.value("observedGeneration", int64_t{-1}) == generation &&
         conditionStatus(object, condition::kSynced) == condition::kTrue)) {
      co_return okStatus();
    }
    auto quota = co_await ctx.harbor->projectQuota(projectId, ctx.deadline());
    if (!quota.ok()) {
      co_return quota.status();
    }
    if (quota->hardStorage == *spec.storageLimitBytes) {
      co_return okStatus();
    }
    Status set =
        co_await ctx.harbor->setStorageQuota(quota->id, *spec.storageLimitBytes, ctx.deadline());
    if (set.code() == StatusCode::kPermissionDenied) {
      co_return permissionDenied("setting the storage quota needs a Harbor system administrator: " +
                                 set.message());
    }
    if (set.ok()) {
      std::string note = "storage quota of " + spec.projectName + " set to " +
                         std::to_string(*spec.storageLimitBytes) + " bytes";
      co_await recordEvent(ctx, object, eventtype::kNormal, reason::kQuotaUpdated, note);
    }
    co_return set;
  }

  awaitable<Result> update(const HarborProjectSpec& spec, const harbor::Project& project) {
    if (auto bound = project.metadata.find("retention_id"); bound != project.metadata.end()) {
      boundRetention = std::strtoll(bound->second.c_str(), nullptr, 10);
    }
    if (Status q = co_await syncQuota(spec, project.id); !q.ok()) {
      co_return co_await fail(reason::kHarborError, q.message(), std::nullopt, q);
    }
    auto drift = metadataDrift(spec, project);
    const bool allowlist = allowlistDrift(spec, project);
    if (!drift.empty() || allowlist) {
      harbor::ProjectUpdate u;
      u.metadata = drift;
      if (allowlist) {
        u.allowlist = spec.cveAllowlist;
      }
      Status s = co_await ctx.harbor->updateProject(spec.projectName, u, ctx.deadline());
      if (!s.ok()) {
        co_return co_await fail(reason::kHarborError, s.message(), std::nullopt, s);
      }
      // The same generation was in sync before: someone changed Harbor behind our back.
      const bool wasSynced =
          object.value("status", json::object()).value("observedGeneration", int64_t{-1}) ==
              generation &&
          conditionStatus(object, condition::kSynced) == condition::kTrue;
      std::string keys;
      for (const auto& [k, v] : drift) {
        keys += (keys.empty() ? "" : ", ") + k;
      }
      if (allowlist) {
        keys += std::string(keys.empty() ? "" : ", ") + "cve_allowlist";
      }
      // Locals, not ?: temporaries: GCC 12 destroys those twice around a co_await.
      std::string type = eventtype::kNormal, reason = reason::kProjectUpdated,
                  note = "updated Harbor project " + spec.projectName + ": " + keys;
      if (wasSynced) {
        type = eventtype::kWarning;
        reason = reason::kDriftRepaired;
        note = "Harbor project " + spec.projectName +
               " had been changed outside Harbormaster; restored " + keys;
      }
      co_await recordEvent(ctx, object, type, reason, note);
    }
    co_return co_await synced(spec);
  }

  // The project matches the spec; the notifications are synced on their own condition, and a
  // failure there is retried in 30 s without holding anything else back.
  awaitable<Result> synced(const HarborProjectSpec& spec) {
    // Each section on its own condition: Harbor refusing one holds back none of the others.
    const bool notified = co_await syncNotifications(spec);
    const bool immutable = co_await syncImmutableTags(spec);
    const bool members = co_await syncMembers(spec);
    const bool retention = co_await syncRetention(spec);
    conditions(true, reason::kSynced, "Harbor project " + spec.projectName + " matches the spec");
    Status done = co_await writeStatus(ctx, kProjects, object, status);
    std::optional<std::chrono::milliseconds> requeue;
    if (!notified || !immutable || !members || !retention) {
      requeue = std::chrono::seconds(30);
    }
    co_return resultOf(done, requeue);
  }

  // A section's change, told apart: held for this generation before means someone changed
  // Harbor behind our back (Warning DriftRepaired), else the spec changed (Normal `changed`).
  // `subject` names the section ("members of Harbor project shop"), `changes` what was done.
  awaitable<void> sectionEvent(const char* section, const char* changed, const std::string& subject,
                               const std::string& changes) {
    std::string type = eventtype::kNormal, why = changed, note = subject + ": " + changes;
    if (conditionHeldFor(object, section, generation)) {
      type = eventtype::kWarning;
      why = reason::kDriftRepaired;
      note = subject + " had been changed outside Harbormaster; " + changes;
    }
    co_await recordEvent(ctx, object, type, why, note);
  }

  // The project's retention policy (retention.h): one read when it matches.
  awaitable<bool> syncRetention(const HarborProjectSpec& spec) {
    if (!spec.retention) {
      removeCondition(status, condition::kRetention);
      co_return true;
    }
    auto refused = [this](const Status& s) {
      setCondition(status,
                   {condition::kRetention, condition::kFalse, reason::kHarborError, s.message()},
                   generation, now);
      return false;
    };
    std::optional<harbor::RetentionPolicy> held;
    if (boundRetention > 0) {
      auto got = co_await ctx.harbor->getRetention(boundRetention, ctx.deadline());
      if (got.ok()) {
        held = std::move(*got);
      } else if (got.status().code() != StatusCode::kNotFound) {
        co_return refused(got.status());
      }
    }
    const int64_t projectId = status.value("projectID", int64_t{0});
    const RetentionPlan plan = planRetention(*spec.retention, projectId, boundRetention, held);
    if (plan.unbind) {
      Status s = co_await ctx.harbor->deleteProjectMetadata(spec.projectName, "retention_id",
                                                            ctx.deadline());
      if (!s.ok() && s.code() != StatusCode::kNotFound) {
        co_return refused(s);
      }
    }
    if (plan.action == RetentionPlan::Action::kCreate) {
      auto id = co_await ctx.harbor->createRetention(plan.policy, ctx.deadline());
      if (!id.ok()) {
        co_return refused(id.status());
      }
      status["retentionPolicyID"] = *id;
    } else {
      status["retentionPolicyID"] = plan.policy.id;
    }
    if (plan.action == RetentionPlan::Action::kUpdate) {
      Status s = co_await ctx.harbor->updateRetention(plan.policy, ctx.deadline());
      if (!s.ok()) {
        co_return refused(s);
      }
    }
    if (plan.action != RetentionPlan::Action::kNone) {
      const std::string subject = "retention policy of Harbor project " + spec.projectName;
      co_await sectionEvent(condition::kRetention, reason::kRetentionPolicyUpdated, subject,
                            plan.changes);
    }
    setCondition(status,
                 {condition::kRetention, condition::kTrue, reason::kSynced,
                  describeRetention(*spec.retention)},
                 generation, now);
    co_return true;
  }

  // The project's members (members.h): each change on its own, so one member Harbor refuses (an
  // OIDC group it does not know) holds back no other; the condition names every refusal.
  awaitable<bool> syncMembers(const HarborProjectSpec& spec) {
    if (!spec.members) {
      removeCondition(status, condition::kMembers);
      co_return true;
    }
    auto held = co_await ctx.harbor->listMembers(spec.projectName, ctx.deadline());
    if (!held.ok()) {
      setCondition(
          status,
          {condition::kMembers, condition::kFalse, reason::kHarborError, held.status().message()},
          generation, now);
      co_return false;
    }
    const MembersPlan plan =
        planMembers(*spec.members, *held, spec.exclusiveMembers, ctx.options.harborUser);
    MembersPlan done;
    std::string refused;
    auto refuse = [&refused](const std::string& who, const Status& s) {
      refused += (refused.empty() ? "" : "; ") + who + ": " + s.message();
    };
    for (const harbor::ProjectMember& m : plan.remove) {
      Status s = co_await ctx.harbor->removeMember(spec.projectName, m.id, ctx.deadline());
      if (s.ok() || s.code() == StatusCode::kNotFound) {
        done.remove.push_back(m);
      } else {
        refuse(std::string(m.group ? "group " : "user ") + m.name, s);
      }
    }
    for (const MembersPlan::RoleChange& r : plan.roles) {
      Status s =
          co_await ctx.harbor->setMemberRole(spec.projectName, r.id, r.member.role, ctx.deadline());
      if (s.ok()) {
        done.roles.push_back(r);
      } else {
        refuse(memberName(r.member), s);
      }
    }
    for (const harbor::MemberSpec& m : plan.add) {
      auto id = co_await ctx.harbor->addMember(spec.projectName, m, ctx.deadline());
      if (id.ok() || id.status().code() == StatusCode::kConflict) {
        done.add.push_back(m);
      } else {
        refuse(memberName(m), id.status());
      }
    }
    if (!done.empty()) {
      const std::string subject = "members of Harbor project " + spec.projectName;
      const std::string changes = done.describe();
      co_await sectionEvent(condition::kMembers, reason::kMembersUpdated, subject, changes);
    }
    if (!refused.empty()) {
      setCondition(status,
                   {condition::kMembers, condition::kFalse, reason::kHarborError,
                    "Harbor refused " + refused},
                   generation, now);
      co_return false;
    }
    const size_t n = spec.members->size();
    setCondition(status,
                 {condition::kMembers, condition::kTrue, reason::kSynced,
                  std::to_string(n) + " declared member" + (n == 1 ? "" : "s") +
                      " with their roles" + (spec.exclusiveMembers ? "; no other member" : "")},
                 generation, now);
    co_return true;
  }

  // The project's immutable tag rules (immutable.h): one list call when they match, the changes
  // otherwise. False when Harbor refused a call.
  awaitable<bool> syncImmutableTags(const HarborProjectSpec& spec) {
    if (!spec.immutableTags) {
      removeCondition(status, condition::kImmutableTags);
      co_return true;
    }
    auto held = co_await ctx.harbor->listImmutableRules(spec.projectName, ctx.deadline());
    if (!held.ok()) {
      setCondition(status,
                   {condition::kImmutableTags, condition::kFalse, reason::kHarborError,
                    held.status().message()},
                   generation, now);
      co_return false;
    }
    const ImmutablePlan plan = planImmutableRules(*spec.immutableTags, *held);
    Status s = okStatus();
    for (const harbor::ImmutableRule& r : plan.remove) {
      if (s.ok()) {
        s = co_await ctx.harbor->deleteImmutableRule(spec.projectName, r.id, ctx.deadline());
        if (s.code() == StatusCode::kNotFound) {
          s = okStatus();  // gone already
        }
      }
    }
    for (const harbor::ImmutableRule& r : plan.enable) {
      if (s.ok()) {
        s = co_await ctx.harbor->updateImmutableRule(spec.projectName, r, ctx.deadline());
      }
    }
    for (const harbor::ImmutableRule& r : plan.create) {
      if (s.ok()) {
        auto id = co_await ctx.harbor->createImmutableRule(spec.projectName, r, ctx.deadline());
        // Someone created the same rule since the list: it is held, which is what we want.
        s = id.status();
        if (s.code() == StatusCode::kConflict) {
          s = okStatus();
        }
      }
    }
    if (!s.ok()) {
      setCondition(
          status, {condition::kImmutableTags, condition::kFalse, reason::kHarborError, s.message()},
          generation, now);
      co_return false;
    }
    if (!plan.empty()) {
      const std::string subject = "immutable tag rules of Harbor project " + spec.projectName;
      const std::string changes = plan.describe();
      co_await sectionEvent(condition::kImmutableTags, reason::kImmutableTagRulesUpdated, subject,
                            changes);
    }
    const size_t n = spec.immutableTags->size();
    setCondition(status,
                 {condition::kImmutableTags, condition::kTrue, reason::kSynced,
                  std::to_string(n) + " immutable tag rule" + (n == 1 ? "" : "s") + " as declared"},
                 generation, now);
    co_return true;
  }

  void notificationsCondition(const char* state, const std::string& why,
                              const std::string& message) {
    setCondition(status, {condition::kNotifications, state, why, message}, generation, now);
  }

  // The project's Harbor webhook policy (notifications.h). False when Harbor refused a call.
  awaitable<bool> syncNotifications(const HarborProjectSpec& spec) {
    const NotificationOptions& options = ctx.options.notifications;
    if (!managesNotifications(options)) {
      co_return true;
    }
    const auto desired = desiredWebhookPolicy(options, spec);
    auto observed = co_await ctx.harbor->listWebhookPolicies(spec.projectName, ctx.deadline());
    if (!observed.ok()) {
      notificationsCondition(condition::kFalse, reason::kHarborError, observed.status().message());
      co_return false;
    }
    const WebhookPlan plan = planWebhookPolicy(desired, *observed);
    const std::string policy = std::string("Harbor webhook policy ") + kWebhookPolicyName +
                               " of project " + spec.projectName;
    const bool hadOne = status.contains("webhookPolicyID");
    std::string type = eventtype::kNormal, why, note;
    Status s = okStatus();
    switch (plan.action) {
      case WebhookPlan::Action::kNone:
        if (desired) {
          status["webhookPolicyID"] = plan.policy.id;
        }
        break;
      case WebhookPlan::Action::kCreate: {
        auto id =
            co_await ctx.harbor->createWebhookPolicy(spec.projectName, plan.policy, ctx.deadline());
        s = id.status();
        if (id.ok()) {
          status["webhookPolicyID"] = *id;
          why = hadOne ? reason::kDriftRepaired : reason::kWebhookPolicyCreated;
          type = hadOne ? eventtype::kWarning : eventtype::kNormal;
          note = hadOne ? policy + " had been deleted outside Harbormaster; recreated it"
                        : "created " + policy + ": Harbor posts scan and artifact events to " +
                              options.url;
        }
        break;
      }
      case WebhookPlan::Action::kUpdate: {
        s = co_await ctx.harbor->updateWebhookPolicy(spec.projectName, plan.policy, ctx.deadline());
        status["webhookPolicyID"] = plan.policy.id;
        // Our configuration changed (a new URL, format or event list), or someone edited it.
        const bool reconfigured =
            status.value("webhookPolicyConfig", "") != webhookPolicyConfig(plan.policy);
        type = reconfigured ? eventtype::kNormal : eventtype::kWarning;
        why = reconfigured ? reason::kWebhookPolicyUpdated : reason::kDriftRepaired;
        note = reconfigured
                   ? "updated " + policy + " to the operator's configuration: " + plan.drift
                   : policy + " had been changed outside Harbormaster; restored " + plan.drift;
        break;
      }
      case WebhookPlan::Action::kDelete:
        s = co_await ctx.harbor->deleteWebhookPolicy(spec.projectName, plan.policy.id,
                                                     ctx.deadline());
        if (s.code() == StatusCode::kNotFound) {
          s = okStatus();
        }
        why = reason::kWebhookPolicyRemoved;
        note = "removed " + policy + " (spec.notifications.enabled is false)";
        break;
    }
    if (!s.ok()) {
      notificationsCondition(condition::kFalse, reason::kHarborError, s.message());
      co_return false;
    }
    if (!why.empty()) {
      co_await recordEvent(ctx, object, type, why, note);
    }
    if (!desired) {
      status.erase("webhookPolicyID");
      status.erase("webhookPolicyConfig");
      notificationsCondition(condition::kFalse, reason::kDisabled,
                             "spec.notifications.enabled is false: Harbor does not notify the "
                             "operator about this project");
    } else {
      status["webhookPolicyConfig"] = webhookPolicyConfig(*desired);
      notificationsCondition(
          condition::kTrue, reason::kSynced,
          "Harbor posts scan and artifact events of this project to " + options.url);
    }
    co_return true;
  }
};

class HarborProjectReconciler final : public Reconciler {
 public:
  HarborProjectReconciler(Context& ctx, std::shared_ptr<kube::Informer> projects)
      : ctx_(ctx), projects_(std::move(projects)) {}
  awaitable<Result> reconcile(std::string name) override;

 private:
  Context& ctx_;
  std::shared_ptr<kube::Informer> projects_;
};

awaitable<Result> HarborProjectReconciler::reconcile(std::string name) {
  Context ctx = ctx_.forReconcile();
  auto cached = projects_->get(name);
  if (!cached) {
    co_return Result::done();
  }
  ProjectRun run{ctx,
                 *cached,
                 (*cached)["metadata"].value("generation", int64_t{1}),
                 cached->value("status", json::object()),
                 ctx.clock->wallNow(),
                 0};
  auto spec = parseHarborProject(*cached);
  if ((*cached)["metadata"].contains("deletionTimestamp")) {
    if (!hasFinalizer(*cached)) {
      co_return Result::done();
    }
    const HarborProjectSpec* parsed = spec.ok() ? &*spec : nullptr;
    co_return co_await run.remove(parsed);
  }
  if (!hasFinalizer(*cached)) {
    // The update's watch event brings the object back with the finalizer.
    Status done = co_await setFinalizer(ctx, kProjects, *cached, true);
    co_return resultOf(done);
  }
  if (!spec.ok()) {
    co_return co_await run.fail(reason::kInvalidSpec, spec.status().message());
  }
  co_return co_await run.sync(*spec);
}

}  // namespace

std::shared_ptr<Reconciler> newReconciler(Context& ctx, std::shared_ptr<kube::Informer> projects) {
  return std::make_shared<HarborProjectReconciler>(ctx, std::move(projects));
}

void setup(Manager& mgr) {
  Context& ctx = mgr.context();
  if (ctx.harbor == nullptr) {
    return;  // nothing to reconcile into
  }
  mgr.controller("harborproject")
      .forResource(kProjects)
      .complete(newReconciler(ctx, mgr.informer(kProjects)));
}

}  // namespace hm::op::harborproject
