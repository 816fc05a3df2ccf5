// Pull secrets (kubernetes.io/dockerconfigjson) and ServiceAccount imagePullSecrets entries.
#include "robotaccount/fan_out.h"

#include <map>

#include "harbormaster/base/encoding.h"

namespace hm::op::robotaccount {
namespace {

using boost::asio::awaitable;
using nlohmann::json;

json dockerConfig(const std::vector<std::string>& hosts, const std::string& username,
                  const std::string& password) {
  json auths = json::object();
  for (const auto& h : hosts) {
    auths[h] = {{"username", username},
                {"password", password},
                {"auth", hm::base64Encode(username + ":" + password)}};
  }
  return {{"auths", auths}};
}

bool ours(const json& secret, const std::string& owner) {
  const json meta = secret.value("metadata", json::object());
  return meta.value("labels", json::object()).value(kManagedByLabel, "") == kManagedByValue &&
         meta.value("annotations", json::object()).value(kOwnerAnnotation, "") == owner;
}

std::set<std::string> targetNamespaces(const Caches& caches, const PullSecretSpec& ps) {
  std::set<std::string> out;
  for (const auto& ns : caches.namespaces->list()) {
    const json& meta = ns["metadata"];
    if (meta.contains("deletionTimestamp")) {
      continue;
    }
    const std::string name = meta.value("name", "");
    const bool listed =
        std::find(ps.namespaces.begin(), ps.namespaces.end(), name) != ps.namespaces.end();
    const bool selected =
        ps.namespaceSelector && ps.namespaceSelector->matches(meta.value("labels", json::object()));
    if (listed || selected) {
      out.insert(name);
    }
  }
  return out;
}

// The ServiceAccounts of `ns` that should list the secret.
std::vector<json> targetAccounts(const Caches& caches, const PullSecretSpec& ps,
                                 const std::string& ns) {
  std::vector<json> out;
  const bool all = std::find(ps.serviceAccounts.begin(), ps.serviceAccounts.end(), "*") !=
                   ps.serviceAccounts.end();
  for (const auto& sa : caches.serviceAccounts->byIndex(kAccountsByNamespace, ns)) {
    const std::string name = sa["metadata"].value("name", "");
    if (all || std::find(ps.serviceAccounts.begin(), ps.serviceAccounts.end(), name) !=
                   ps.serviceAccounts.end()) {
      out.push_back(sa);
    }
  }
  return out;
}

int entryIndex(const json& sa, const std::string& secret) {
  const json list = sa.value("imagePullSecrets", json::array());
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i].is_object() && list[i].value("name", "") == secret) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

// JSON patches guarded by the resourceVersion: other writers' entries are never disturbed, and
// a concurrent change makes the patch fail (and the item retry) instead of clobbering it.
awaitable<Status> patchAccount(Context& ctx, const json& sa, const std::string& secret, bool add) {
  const int at = entryIndex(sa, secret);
  if ((add && at >= 0) || (!add && at < 0)) {
    co_return okStatus();
  }
  json ops = json::array({{{"op", "test"},
                           {"path", "/metadata/resourceVersion"},
                           {"value", sa["metadata"].value("resourceVersion", "")}}});
  if (!add) {
    ops.push_back({{"op", "remove"}, {"path", "/imagePullSecrets/" + std::to_string(at)}});
  } else if (sa.contains("imagePullSecrets") && sa["imagePullSecrets"].is_array()) {
    ops.push_back({{"op", "add"}, {"path", "/imagePullSecrets/-"}, {"value", {{"name", secret}}}});
  } else {
    ops.push_back({{"op", "add"},
                   {"path", "/imagePullSecrets"},
                   {"value", json::array({{{"name", secret}}})}});
  }
  auto res = co_await ctx.kube->patch(kServiceAccounts, sa["metadata"].value("namespace", ""),
                                      sa["metadata"].value("name", ""), kube::PatchType::kJsonPatch,
                                      ops, ctx.deadline());
  if (!res.ok() && res.status().code() == StatusCode::kInvalidArgument) {
    co_return conflict("ServiceAccount " + sa["metadata"].value("name", "") +
                       " changed while being patched; retrying");
  }
  co_return res.ok() || res.status().code() == StatusCode::kNotFound ? okStatus() : res.status();
}

// A Secret we write: its role label, type and data (values not yet base64-encoded).
struct SecretContent {
  const char* role;
  std::string type;
  std::map<std::string, std::string> data;
};

// Creates or updates the Secret in `ns`. False when a foreign Secret holds the name.
awaitable<StatusOr<bool>> writeSecret(Context& ctx, const Caches& caches, const std::string& owner,
                                      const std::string& ns, const std::string& name,
                                      const SecretContent& content) {
  json data = json::object();
  for (const auto& [key, value] : content.data) {
    data[key] = hm::base64Encode(value);
  }
  json desired = {{"apiVersion", "v1"},
                  {"kind", "Secret"},
                  {"metadata",
                   {{"name", name},
                    {"namespace", ns},
                    {"labels", managedLabels(owner, content.role)},
                    {"annotations", {{kOwnerAnnotation, owner}}}}},
                  {"type", content.type},
                  {"data", data}};
  auto cached = caches.secrets->get(ns + "/" + name);
  if (cached && ours(*cached, owner) && cached->value("data", json::object()) == desired["data"] &&
      cached->value("type", "") == desired["type"]) {
    co_return true;  // steady state: no write
  }
  auto created = co_await ctx.kube->create(kSecrets, ns, desired, ctx.deadline());
  if (created.ok()) {
    co_return true;
  }
  if (created.status().code() != StatusCode::kAlreadyExists) {
    co_return created.status();
  }
  auto current = co_await ctx.kube->get(kSecrets, ns, name, ctx.deadline());
  if (!current.ok()) {
    co_return current.status();
  }
  if (!ours(*current, owner)) {
    co_return false;
  }
  if (current->value("type", "") != content.type) {
    // The type is immutable: replace the Secret.
    kube::DeleteOptions plain;  // a named local: GCC 12 mishandles `{}` in a co_await call
    auto removed = co_await ctx.kube->remove(kSecrets, ns, name, plain, ctx.deadline());
    if (!removed.ok()) {
      co_return removed.status();
    }
    auto again = co_await ctx.kube->create(kSecrets, ns, desired, ctx.deadline());
    co_return again.ok() ? StatusOr<bool>(true) : StatusOr<bool>(again.status());
  }
  desired["metadata"]["resourceVersion"] = (*current)["metadata"]["resourceVersion"];
  auto updated = co_await ctx.kube->update(kSecrets, ns, desired, ctx.deadline());
  co_return updated.ok() ? StatusOr<bool>(true) : StatusOr<bool>(updated.status());
}

}  // namespace

std::string harborProjectName(const nlohmann::json& project) {
  const nlohmann::json status = project.value("status", nlohmann::json::object());
  const nlohmann::json spec = project.value("spec", nlohmann::json::object());
  std::string name = status.value("projectName", "");
  if (name.empty()) {
    name = spec.value("projectName", "");
  }
  return name.empty() ? project["metadata"].value("name", "") : name;
}

json managedLabels(const std::string& owner, const std::string& role) {
  return {{kManagedByLabel, kManagedByValue}, {kOwnerLabel, owner}, {kRoleLabel, role}};
}

awaitable<StatusOr<std::pair<int, std::vector<std::string>>>> fanOut(
    Context& ctx, const Caches& caches, const std::string& owner, const RobotAccountSpec& spec,
    const std::string& username, const std::string& password) {
  std::pair<int, std::vector<std::string>> out{0, {}};
  std::set<std::string> targets;
  if (spec.pullSecret) {
    const PullSecretSpec& ps = *spec.pullSecret;
    targets = targetNamespaces(caches, ps);
    const SecretContent pull{
        kRolePull,
        "kubernetes.io/dockerconfigjson",
        {{".dockerconfigjson",
          dockerConfig(ctx.options.registryHosts, username, password).dump()}}};
    for (const auto& ns : targets) {
      auto written = co_await writeSecret(ctx, caches, owner, ns, ps.name, pull);
      if (!written.ok()) {
        co_return written.status().withContext("pull secret " + ns + "/" + ps.name);
      }
      if (!*written) {
        out.second.push_back(ns + "/" + ps.name);
        continue;
      }
      ++out.first;
      for (const auto& sa : targetAccounts(caches, ps, ns)) {
        if (Status s = co_await patchAccount(ctx, sa, ps.name, true); !s.ok()) {
          co_return s;
        }
      }
    }
  }
  std::set<std::string> keep;
  for (const auto& ns : targets) {
    keep.insert(ns + "/" + spec.pullSecret->name);
  }
  if (spec.credentialsSecret) {
    // For CI runners and secret syncers: a username and a password, and the registry to log in
    // to (its first name, as the pull secret's first auths key).
    const CredentialsSecretSpec& cs = *spec.credentialsSecret;
    const std::string registry =
        ctx.options.registryHosts.empty() ? "" : ctx.options.registryHosts.front();
    const SecretContent credentials{
        kRoleCiCredentials,
        "Opaque",
        {{"username", username}, {"password", password}, {"registry", registry}}};
    auto written = co_await writeSecret(ctx, caches, owner, cs.nameSpace, cs.name, credentials);
    if (!written.ok()) {
      co_return written.status().withContext("credentials Secret " + cs.nameSpace + "/" + cs.name);
    }
    if (!*written) {
      out.second.push_back(cs.nameSpace + "/" + cs.name);
    }
    keep.insert(cs.nameSpace + "/" + cs.name);
  }
  const std::vector<json> owned = caches.secrets->byIndex(kSecretsByPullOwner, owner);
  if (Status s = co_await removeFanOut(ctx, caches, owned, keep); !s.ok()) {
    co_return s;
  }
  co_return out;
}

awaitable<Status> removeFanOut(Context& ctx, const Caches& caches, const std::vector<json>& owned,
                               const std::set<std::string>& keep) {
  for (const auto& secret : owned) {
    const std::string ns = secret["metadata"].value("namespace", "");
    const std::string name = secret["metadata"].value("name", "");
    if (keep.count(ns + "/" + name)) {
      continue;
    }
    const json labels = secret["metadata"].value("labels", json::object());
    if (labels.value(kRoleLabel, "") == kRolePull) {
      for (const auto& sa : caches.serviceAccounts->byIndex(kAccountsByNamespace, ns)) {
        if (Status s = co_await patchAccount(ctx, sa, name, false); !s.ok()) {
          co_return s;
        }
      }
    }
    kube::DeleteOptions options;
    options.uidPrecondition = secret["metadata"].value("uid", "");
    auto removed = co_await ctx.kube->remove(kSecrets, ns, name, options, ctx.deadline());
    if (!removed.ok() && removed.status().code() != StatusCode::kNotFound) {
      co_return removed.status().withContext("remove Secret " + ns + "/" + name);
    }
  }
  co_return okStatus();
}

}  // namespace hm::op::robotaccount
