// HarborProject → a Harbor project. Status carries the claim: status.projectName is written
// before the project is created, so an operator that crashes between the two adopts the
// project it made instead of reporting it as someone else's.
#include "context.h"

namespace hm::op {
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
  WallTime now = std::chrono::system_clock::now();

  void condition(const std::string& ready, const std::string& reason, const std::string& message) {
    setCondition(status, {"Ready", ready, reason, message}, generation, now);
    setCondition(status, {"Synced", ready, reason, message}, generation, now);
    status["observedGeneration"] = generation;
  }

  awaitable<Outcome> fail(const std::string& reason, const std::string& message,
                          std::optional<std::chrono::milliseconds> requeue = std::nullopt,
                          Status error = okStatus()) {
    condition("False", reason, message);
    Status written = co_await writeStatus(ctx, kProjects, object, status);
    co_return Outcome{error.ok() ? written : error, requeue};
  }

  awaitable<Outcome> remove(const HarborProjectSpec* spec) {
    const std::string name = status.value("projectName", spec ? spec->projectName : std::string());
    const bool owned = status.contains("projectID");
    if (spec && spec->deletionPolicy == DeletionPolicy::kDelete && owned && !name.empty()) {
      Status s = co_await ctx.harbor->deleteProject(name, ctx.deadline());
      if (s.code() == StatusCode::kFailedPrecondition) {
        co_await recordEvent(ctx, object, "Warning", "DeletionBlocked",
                             "Harbor project " + name + " still holds repositories");
        co_return co_await fail(
            "DeletionBlocked",
            "Harbor project " + name +
                " still holds repositories: delete them in Harbor, or set deletionPolicy: "
                "Retain to keep the project",
            std::chrono::seconds(30));
      }
      if (!s.ok() && s.code() != StatusCode::kNotFound) {
        co_return co_await fail("HarborError", s.message(), std::nullopt, s);
      }
    }
    Status done = co_await setFinalizer(ctx, kProjects, object, false);
    co_return Outcome{done, std::nullopt};
  }

  awaitable<Outcome> sync(const HarborProjectSpec& spec) {
    auto existing = co_await ctx.harbor->getProject(spec.projectName, ctx.deadline());
    if (!existing.ok() && existing.status().code() != StatusCode::kNotFound) {
      co_return co_await fail("HarborError", existing.status().message(), std::nullopt,
                              existing.status());
    }
    const bool claimed = status.value("projectName", "") == spec.projectName;
    if (!existing.ok()) {
      co_return co_await create(spec);
    }
    const bool ours = claimed && (status.value("projectID", int64_t{0}) == existing->id ||
                                  !status.contains("projectID"));
    if (!ours && !spec.adoptExisting) {
      co_return co_await fail("AlreadyExists",
                              "a Harbor project named " + spec.projectName +
                                  " already exists and was not made for this resource; set "
                                  "spec.adoptExisting: true to manage it");
    }
    if (!ours) {
      status["adopted"] = true;
      co_await recordEvent(ctx, object, "Normal", "ProjectAdopted",
                           "adopted existing Harbor project " + spec.projectName);
    }
    status["projectName"] = spec.projectName;
    status["projectID"] = existing->id;
    co_return co_await update(spec, *existing);
  }

  awaitable<Outcome> create(const HarborProjectSpec& spec) {
    if (status.value("projectName", "") != spec.projectName) {
      status["projectName"] = spec.projectName;  // the claim, before Harbor has the project
      status.erase("projectID");
      setCondition(status, {"Synced", "Unknown", "Creating", "creating the Harbor project"},
                   generation, now);
      Status claimed = co_await writeStatus(ctx, kProjects, object, status);
      if (!claimed.ok()) {
        co_return Outcome{claimed, std::nullopt};
      }
      auto fresh =
          co_await ctx.kube->get(kProjects, "", object["metadata"]["name"], ctx.deadline());
      if (!fresh.ok()) {
        co_return Outcome{fresh.status(), std::nullopt};
      }
      object = std::move(*fresh);
    }
    harbor::ProjectSpec ps;
    ps.name = spec.projectName;
    ps.metadata = spec.harborMetadata();
    ps.storageLimit = spec.storageLimitBytes;
    auto id = co_await ctx.harbor->createProject(ps, ctx.deadline());
    if (!id.ok()) {
      co_return co_await fail("HarborError", id.status().message(), std::nullopt, id.status());
    }
    if (spec.cveAllowlist) {
      harbor::ProjectUpdate u;
      u.allowlist = spec.cveAllowlist;
      Status s = co_await ctx.harbor->updateProject(spec.projectName, u, ctx.deadline());
      if (!s.ok()) {
        co_return co_await fail("HarborError", s.message(), std::nullopt, s);
      }
    }
    status["projectID"] = *id;
    if (Status q = co_await syncQuota(spec, *id); !q.ok()) {
      co_return co_await fail("HarborError", q.message(), std::nullopt, q);
    }
    co_await recordEvent(ctx, object, "Normal", "ProjectCreated",
                         "created Harbor project " + spec.projectName);
    condition("True", "Synced", "Harbor project " + spec.projectName + " matches the spec");
    Status done = co_await writeStatus(ctx, kProjects, object, status);
    co_return Outcome{done, std::nullopt};
  }

  // The quota is a second Harbor read, so it is checked when the spec changed (or the last sync
  // did not finish), not at every resync.
  awaitable<Status> syncQuota(const HarborProjectSpec& spec, int64_t projectId) {
    const json old = object.value("status", json::object());
    if (!spec.storageLimitBytes || (old.value("observedGeneration", int64_t{-1}) == generation &&
                                    conditionStatus(object, "Synced") == "True")) {
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
      co_await recordEvent(ctx, object, "Normal", "QuotaUpdated", note);
    }
    co_return set;
  }

  awaitable<Outcome> update(const HarborProjectSpec& spec, const harbor::Project& project) {
    if (Status q = co_await syncQuota(spec, project.id); !q.ok()) {
      co_return co_await fail("HarborError", q.message(), std::nullopt, q);
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
        co_return co_await fail("HarborError", s.message(), std::nullopt, s);
      }
      // The same generation was in sync before: someone changed Harbor behind our back.
      const bool wasSynced =
          object.value("status", json::object()).value("observedGeneration", int64_t{-1}) ==
              generation &&
          conditionStatus(object, "Synced") == "True";
      std::string keys;
      for (const auto& [k, v] : drift) {
        keys += (keys.empty() ? "" : ", ") + k;
      }
      if (allowlist) {
        keys += std::string(keys.empty() ? "" : ", ") + "cve_allowlist";
      }
      // Locals, not ?: temporaries: GCC 12 destroys those twice around a co_await.
      std::string type = "Normal", reason = "ProjectUpdated",
                  note = "updated Harbor project " + spec.projectName + ": " + keys;
      if (wasSynced) {
        type = "Warning";
        reason = "DriftRepaired";
        note = "Harbor project " + spec.projectName +
               " had been changed outside Harbormaster; restored " + keys;
      }
      co_await recordEvent(ctx, object, type, reason, note);
    }
    condition("True", "Synced", "Harbor project " + spec.projectName + " matches the spec");
    Status done = co_await writeStatus(ctx, kProjects, object, status);
    co_return Outcome{done, std::nullopt};
  }
};

}  // namespace

awaitable<Outcome> reconcileProject(Context& ctx, std::string name) {
  auto cached = ctx.projects->get(name);
  if (!cached) {
    co_return Outcome{};
  }
  ProjectRun run{ctx, *cached, (*cached)["metadata"].value("generation", int64_t{1}),
                 cached->value("status", json::object())};
  auto spec = parseHarborProject(*cached);
  if ((*cached)["metadata"].contains("deletionTimestamp")) {
    if (!hasFinalizer(*cached)) {
      co_return Outcome{};
    }
    const HarborProjectSpec* parsed = spec.ok() ? &*spec : nullptr;
    co_return co_await run.remove(parsed);
  }
  if (!hasFinalizer(*cached)) {
    // The update's watch event brings the object back with the finalizer.
    Status done = co_await setFinalizer(ctx, kProjects, *cached, true);
    co_return Outcome{done, std::nullopt};
  }
  if (!spec.ok()) {
    co_return co_await run.fail("InvalidSpec", spec.status().message());
  }
  co_return co_await run.sync(*spec);
}

}  // namespace hm::op
