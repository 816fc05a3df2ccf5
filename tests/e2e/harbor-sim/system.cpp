// Harbor's RBAC as the simulator applies it, and /systeminfo, /system/CVEAllowlist, /users.
#include <chrono>
#include <nlohmann/json.hpp>
#include <set>

#include "api.h"
#include "harbormaster/base/time.h"

namespace harborsim {
namespace {

using hm::net::HttpRequest;
using hm::net::HttpResponse;
using nlohmann::json;

// What anyone may do in a public project, and a limited guest anywhere it is a member.
const std::set<std::string> kReader = {
    "project:read",           "repository:pull", "repository:list", "repository:read",
    "artifact:read",          "artifact:list",   "tag:list",        "accessory:list",
    "artifact-addition:read", "scan:read",       "metadata:read",   "metadata:list"};
// Added for developers (role 2) over guests (3) and limited guests (5).
const std::set<std::string> kDeveloper = {"repository:push", "artifact:create", "tag:create",
                                          "scan:create", "scan:stop"};
// Added for maintainers (4).
const std::set<std::string> kMaintainer = {
    "repository:delete",        "artifact:delete",         "tag:delete", "robot:read", "robot:list",
    "notification-policy:read", "notification-policy:list"};

// rbac_role.go, reduced: 1 projectAdmin, 2 developer, 3 guest, 4 maintainer, 5 limitedGuest.
bool roleAllows(int role, const std::string& permission) {
  if (role == 1) {
    return true;
  }
  if (kReader.count(permission)) {
    return true;
  }
  if (role == 2 || role == 4) {
    if (kDeveloper.count(permission)) {
      return true;
    }
  }
  return role == 4 && kMaintainer.count(permission);
}

}  // namespace

bool Caller::can(const Project& project, const std::string& resource,
                 const std::string& action) const {
  if (admin) {
    return true;
  }
  const std::string permission = resource + ":" + action;
  auto pub = project.metadata.find("public");
  if (pub != project.metadata.end() && pub->second == "true" && kReader.count(permission)) {
    return true;
  }
  if (robot) {
    return robot->can(project.name, resource, action);
  }
  if (user) {
    const int role = project.roleOf(user->name);
    return role != 0 && roleAllows(role, permission);
  }
  return false;
}

HttpResponse refused(const Caller& caller) {
  return caller.anonymous() ? harborError(401, "UNAUTHORIZED", "unauthorized")
                            : harborError(403, "FORBIDDEN", "forbidden");
}

HttpResponse systemApi(State& state, const HttpRequest& req, const Caller& caller,
                       const SimInfo& info) {
  std::string path(req.path());
  const std::string& m = req.method;
  if (path == "/api/v2.0/systeminfo" && m == "GET") {
    json j = {{"auth_mode", "db_auth"},
              {"primary_auth_mode", false},
              {"self_registration", false},
              {"banner_message", ""},
              {"oidc_provider_name", ""}};
    if (!caller.anonymous()) {
      std::string host = info.externalUrl.substr(info.externalUrl.find("://") + 3);
      j.update({{"harbor_version", "v2.15.2-sim"},
                {"external_url", info.externalUrl},
                {"registry_url", host},
                {"read_only", false},
                {"has_ca_root", false},
                {"project_creation_restriction", "adminonly"},
                {"current_time", hm::formatRfc3339(std::chrono::system_clock::now(), true)}});
    }
    return {200, "application/json", j.dump(), {}};
  }
  if (path == "/api/v2.0/system/CVEAllowlist") {
    if (caller.anonymous()) {
      return refused(caller);
    }
    if (m == "GET") {
      CveAllowlist list = state.systemAllowlist();
      json items = json::array();
      for (const auto& id : list.items) {
        items.push_back({{"cve_id", id}});
      }
      json j = {{"id", 1}, {"project_id", 0}, {"items", items}};
      if (list.expiresAt) {
        j["expires_at"] = *list.expiresAt;
      }
      return {200, "application/json", j.dump(), {}};
    }
    if (m != "PUT") {
      return harborError(405, "METHOD_NOT_ALLOWED", "method not allowed");
    }
    if (!caller.admin) {
      return harborError(403, "FORBIDDEN", "forbidden");
    }
    json body = json::parse(req.body, nullptr, false);
    if (!body.is_object()) {
      return harborError(400, "BAD_REQUEST", "invalid allowlist");
    }
    CveAllowlist list;
    if (body.contains("expires_at") && body["expires_at"].is_number_integer()) {
      list.expiresAt = body["expires_at"].get<int64_t>();
    }
    for (const auto& item : body.value("items", json::array())) {
      std::string id = item.is_object() ? item.value("cve_id", "") : "";
      if (id.empty() || std::count(list.items.begin(), list.items.end(), id)) {
        return harborError(500, "UNKNOWN", "internal server error");
      }
      list.items.push_back(id);
    }
    state.setSystemAllowlist(std::move(list));
    return {200, "application/json", "", {}};
  }
  // POST /users {username, password, …}; PUT /users/{id}/sysadmin {"sysadmin_flag": bool}.
  if (!caller.admin) {
    return refused(caller);
  }
  json body = json::parse(req.body, nullptr, false);
  if (path == "/api/v2.0/users" && m == "POST") {
    if (!body.is_object() || !body.contains("username") || !body["username"].is_string() ||
        !body.contains("password") || !body["password"].is_string()) {
      return harborError(400, "BAD_REQUEST", "username and password are required");
    }
    User u{0, body["username"].get<std::string>(), body["password"].get<std::string>(), false};
    auto [status, message] = state.createUser(u);
    if (status != 201) {
      return harborError(status, status == 409 ? "CONFLICT" : "BAD_REQUEST", message);
    }
    return {201, "application/json", "", {{"Location", "/api/v2.0/users/" + std::to_string(u.id)}}};
  }
  if (path == "/api/v2.0/usergroups" && m == "POST") {
    // POST /usergroups {group_name, group_type, ldap_group_dn}: the groups a project member may
    // name (Harbor onboards OIDC and HTTP groups at login; tests declare them here).
    if (!body.is_object() || !body.contains("group_name") || !body["group_name"].is_string() ||
        !body.contains("group_type") || !body["group_type"].is_number_integer()) {
      return harborError(400, "BAD_REQUEST", "group_name and group_type are required");
    }
    UserGroup g{0, body["group_name"].get<std::string>(), body["group_type"].get<int>(),
                body.value("ldap_group_dn", "")};
    if (g.type < 1 || g.type > 3) {
      return harborError(400, "BAD_REQUEST", "invalid group type");
    }
    auto [status, message] = state.createGroup(g);
    if (status != 201) {
      return harborError(status, "CONFLICT", message);
    }
    return {201,
            "application/json",
            "",
            {{"Location", "/api/v2.0/usergroups/" + std::to_string(g.id)}}};
  }
  auto segs = segments(path);  // api, v2.0, users, {id}, sysadmin
  if (segs.size() == 5 && segs[2] == "users" && segs[4] == "sysadmin" && m == "PUT" &&
      body.is_object() && body.contains("sysadmin_flag") && body["sysadmin_flag"].is_boolean()) {
    int64_t id = std::strtoll(segs[3].c_str(), nullptr, 10);
    return state.setSysadmin(id, body["sysadmin_flag"].get<bool>())
               ? HttpResponse{200, "application/json", "", {}}
               : harborError(404, "NOT_FOUND", "user " + segs[3] + " not found");
  }
  return harborError(404, "NOT_FOUND", "path " + path + " was not found");
}

}  // namespace harborsim
