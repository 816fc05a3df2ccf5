// /api/v2.0/robots as API-NOTES §4 describes Harbor's robot v2 API.
#include <openssl/rand.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "api.h"
#include "harbormaster/base/time.h"

namespace harborsim {
namespace {

using hm::net::HttpResponse;
using nlohmann::json;

const std::set<std::string> kProjectActions = {"repository:read",
                                               "repository:update",
                                               "repository:delete",
                                               "repository:list",
                                               "repository:pull",
                                               "repository:push",
                                               "artifact:read",
                                               "artifact:create",
                                               "artifact:list",
                                               "artifact:delete",
                                               "tag:create",
                                               "tag:list",
                                               "tag:delete",
                                               "scan:create",
                                               "scan:read",
                                               "scan:stop",
                                               "sbom:create",
                                               "sbom:read",
                                               "sbom:stop",
                                               "accessory:list",
                                               "artifact-addition:read",
                                               "artifact-label:create",
                                               "artifact-label:delete",
                                               "project:read",
                                               "project:update",
                                               "project:delete",
                                               "metadata:read",
                                               "metadata:create",
                                               "metadata:update",
                                               "metadata:delete",
                                               "metadata:list",
                                               "member:create",
                                               "member:read",
                                               "member:update",
                                               "member:list",
                                               "member:delete",
                                               "robot:create",
                                               "robot:read",
                                               "robot:list",
                                               "robot:delete",
                                               "quota:read",
                                               "log:list",
                                               "label:read",
                                               "label:create",
                                               "label:update",
                                               "label:delete",
                                               "label:list"};

int64_t nowUnix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string generateSecret() {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    std::abort();  // a test peer: never hand out a predictable secret
  }
  // Upper, lower and digit always present, as Harbor's generated secrets are.
  std::string s = "Aa1";
  for (unsigned char b : bytes) {
    s += alphabet[b % 62];
  }
  return s;
}

json robotJson(const Robot& r) {
  json perms = json::array();
  for (const auto& p : r.permissions) {
    json access = json::array();
    for (const auto& a : p.access) {
      access.push_back({{"resource", a.resource}, {"action", a.action}, {"effect", a.effect}});
    }
    perms.push_back({{"kind", p.kind}, {"namespace", p.nameSpace}, {"access", access}});
  }
  return {{"id", r.id},
          {"name", "robot$" + r.name},
          {"description", r.description},
          {"level", r.level},
          {"duration", r.duration},
          {"editable", true},
          {"disable", r.disabled},
          {"expires_at", r.expiresAt},
          {"creator_type", "local"},
          {"creator_ref", 1},
          {"creation_time", r.created},
          {"update_time", r.created},
          {"permissions", perms}};
}

// A system robot's project permissions name projects that exist, or "*" (toScope looks each
// one up; the API's transaction then rolls the robot back).
std::optional<HttpResponse> checkProjects(const State& state, const Robot& r) {
  for (const auto& p : r.permissions) {
    if (r.level == "system" && p.kind == "project" && p.nameSpace != "*" &&
        !state.project(p.nameSpace, true)) {
      return harborError(404, "NOT_FOUND", "project " + p.nameSpace + " not found");
    }
  }
  return std::nullopt;
}

// Reads permissions; returns an error response when they break Harbor's rules.
std::optional<HttpResponse> readPermissions(const json& body, Robot& r) {
  if (!body.contains("permissions") || !body["permissions"].is_array() ||
      body["permissions"].empty()) {
    return harborError(400, "BAD_REQUEST", "bad request permission: empty permission");
  }
  r.permissions.clear();
  for (const auto& p : body["permissions"]) {
    if (!p.is_object() || !p.contains("access") || !p["access"].is_array() || p["access"].empty()) {
      return harborError(400, "BAD_REQUEST", "bad request permission: empty access");
    }
    RobotPermission perm{p.value("kind", ""), p.value("namespace", ""), {}};
    // controller/robot/controller.go toScope: "system" covers "/", "project" a name or "*".
    if (perm.kind != "project" && perm.kind != "system") {
      return harborError(400, "BAD_REQUEST", "bad request permission level: " + perm.kind);
    }
    if (perm.kind == "system" && perm.nameSpace != "/") {
      return harborError(400, "BAD_REQUEST",
                         "unknown namespace:" + perm.nameSpace + " for the system kind");
    }
    if (r.level == "project" && perm.kind != "project") {
      return harborError(400, "BAD_REQUEST", "bad request permission");
    }
    for (const auto& a : p["access"]) {
      if (!a.is_object()) {
        return harborError(422, "UNPROCESSABLE_ENTITY", "access must be objects");
      }
      RobotAccess access{a.value("resource", ""), a.value("action", ""), a.value("effect", "")};
      if (perm.kind == "project" && !kProjectActions.count(access.resource + ":" + access.action)) {
        return harborError(400, "BAD_REQUEST",
                           "bad request permission: " + access.resource + ":" + access.action);
      }
      perm.access.push_back(access);
    }
    r.permissions.push_back(std::move(perm));
  }
  if (r.level == "project" && r.permissions.size() != 1) {
    return harborError(400, "BAD_REQUEST",
                       "bad request permission: a project robot takes one permission");
  }
  return std::nullopt;
}

HttpResponse create(State& state, const hm::net::HttpRequest& req, const Caller& caller) {
  if (!caller.admin) {
    return caller.anonymous() ? harborError(401, "UNAUTHORIZED", "unauthorized")
                              : harborError(403, "FORBIDDEN", "forbidden");
  }
  json body = json::parse(req.body, nullptr, false);
  if (!body.is_object() || !body.contains("name") || !body["name"].is_string()) {
    return harborError(422, "UNPROCESSABLE_ENTITY", "name in body is required");
  }
  static const std::regex rule("^[a-z0-9]+(?:[._-][a-z0-9]+)*$");
  Robot r;
  std::string name = body["name"].get<std::string>();
  if (!std::regex_match(name, rule)) {
    return harborError(400, "BAD_REQUEST",
                       "robot name is not in lower case or contains illegal characters");
  }
  if (!body.contains("duration") || !body["duration"].is_number_integer()) {
    return harborError(422, "UNPROCESSABLE_ENTITY", "duration in body must be of type int64");
  }
  r.duration = body["duration"].get<int64_t>();
  if (r.duration == 0 || r.duration < -1 || r.duration > 2147483646) {
    return harborError(400, "BAD_REQUEST",
                       "The duration of robot account must be -1 or 1 to 2147483646");
  }
  r.level = body.value("level", "");
  if (r.level != "system" && r.level != "project") {
    return harborError(400, "BAD_REQUEST", "bad request error level input: " + r.level);
  }
  if (auto err = readPermissions(body, r)) {
    return *err;
  }
  if (auto err = checkProjects(state, r)) {
    return *err;
  }
  // secret and disable in the request are ignored, as in Harbor.
  r.description = body.value("description", "");
  if (r.level == "project") {
    auto project = state.project(r.permissions[0].nameSpace, true);
    if (!project) {
      return harborError(404, "NOT_FOUND", "project " + r.permissions[0].nameSpace + " not found");
    }
    r.projectId = project->id;
    r.name = project->name + "+" + name;
  } else {
    r.name = name;
  }
  r.createdUnix = nowUnix();
  r.created = hm::formatRfc3339(std::chrono::system_clock::now(), true);
  r.expiresAt = r.duration == -1 ? -1 : r.createdUnix + r.duration * 86400;
  r.secret = generateSecret();
  auto [status, message] = state.createRobot(r);
  if (status != 201) {
    return harborError(status, "CONFLICT", message);
  }
  json out = {{"id", r.id},
              {"name", "robot$" + r.name},
              {"secret", r.secret},
              {"creation_time", r.created},
              {"expires_at", r.expiresAt}};
  return {201,
          "application/json",
          out.dump(),
          {{"Location", "/api/v2.0/robots/" + std::to_string(r.id)}}};
}

HttpResponse list(State& state, const hm::net::HttpRequest& req, const Caller& caller) {
  if (!caller.admin) {
    return caller.anonymous() ? harborError(401, "UNAUTHORIZED", "unauthorized")
                              : harborError(403, "FORBIDDEN", "forbidden");
  }
  auto q = req.query();
  Paging paging;
  if (auto bad = readPaging(req, paging)) {
    return *bad;
  }
  const int64_t page = paging.page, pageSize = paging.pageSize;
  // q is unescaped a second time before it is split on ',' (lib/q/builder.go).
  std::map<std::string, std::string> filter;
  std::string qs = q.count("q") ? formDecode(q.find("q")->second) : "";
  size_t start = 0;
  while (start < qs.size()) {
    size_t comma = qs.find(',', start);
    std::string kv = qs.substr(start, comma == std::string::npos ? comma : comma - start);
    size_t eq = kv.find('=');
    if (eq != std::string::npos) {
      filter[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    if (comma == std::string::npos) {
      break;
    }
    start = comma + 1;
  }
  std::string level = filter.count("Level") ? filter["Level"] : "system";
  if (level == "project" && (!filter.count("ProjectID") || filter["ProjectID"].empty() ||
                             !std::all_of(filter["ProjectID"].begin(), filter["ProjectID"].end(),
                                          [](char c) { return c >= '0' && c <= '9'; }))) {
    return harborError(400, "BAD_REQUEST", "must with project ID when to query project robots");
  }
  std::vector<Robot> matched;
  for (const auto& r : state.robots()) {
    if (r.level != level) {
      continue;
    }
    if (level == "project" && std::to_string(r.projectId) != filter["ProjectID"]) {
      continue;
    }
    if (filter.count("name") && r.name != filter["name"]) {
      continue;
    }
    matched.push_back(r);
  }
  json items = json::array();
  for (int64_t i = (page - 1) * pageSize;
       i < static_cast<int64_t>(matched.size()) && i < page * pageSize; ++i) {
    items.push_back(robotJson(matched[static_cast<size_t>(i)]));
  }
  std::vector<hm::net::Header> headers = {{"X-Total-Count", std::to_string(matched.size())}};
  std::string base =
      "/api/v2.0/robots?page_size=" + std::to_string(pageSize) + "&q=" + qs + "&page=";
  std::vector<std::string> links;
  if (page > 1) {
    links.push_back("<" + base + std::to_string(page - 1) + ">; rel=\"prev\"");
  }
  if (page * pageSize < static_cast<int64_t>(matched.size())) {
    links.push_back("<" + base + std::to_string(page + 1) + ">; rel=\"next\"");
  }
  if (!links.empty()) {
    std::string link = links[0];
    for (size_t i = 1; i < links.size(); ++i) {
      link += " , " + links[i];
    }
    headers.push_back({"Link", link});
  }
  return {200, "application/json", items.dump(), headers};
}

}  // namespace

HttpResponse robotsApi(State& state, const hm::net::HttpRequest& req, const Caller& caller) {
  std::string path(req.path());
  const std::string base = "/api/v2.0/robots";
  if (path == base) {
    if (req.method == "POST") {
      return create(state, req, caller);
    }
    if (req.method == "GET") {
      return list(state, req, caller);
    }
    return harborError(405, "METHOD_NOT_ALLOWED", "method not allowed");
  }
  std::string idText = path.substr(base.size() + 1);
  if (idText.empty() || idText.size() > 18 ||
      !std::all_of(idText.begin(), idText.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return harborError(422, "UNPROCESSABLE_ENTITY", "robot_id in path must be of type int64");
  }
  if (!caller.admin) {
    return caller.anonymous() ? harborError(401, "UNAUTHORIZED", "unauthorized")
                              : harborError(403, "FORBIDDEN", "forbidden");
  }
  int64_t id = std::stoll(idText);
  auto robot = state.robot(id);
  if (!robot) {
    return harborError(404, "NOT_FOUND", "robot " + idText + " not found");
  }
  if (req.method == "GET") {
    return {200, "application/json", robotJson(*robot).dump(), {}};
  }
  if (req.method == "DELETE") {
    state.deleteRobot(id);
    return {200, "application/json", "", {}};
  }
  json body = json::parse(req.body, nullptr, false);
  if (!body.is_object()) {
    return harborError(422, "UNPROCESSABLE_ENTITY", "body must be a JSON object");
  }
  if (req.method == "PATCH") {
    if (body.contains("secret") && body["secret"].is_string()) {
      static const std::regex strong("^(?=.*[A-Z])(?=.*[a-z])(?=.*[0-9]).{8,128}$");
      std::string chosen = body["secret"].get<std::string>();
      if (!std::regex_match(chosen, strong)) {
        return harborError(400, "BAD_REQUEST",
                           "the password or secret must be longer than 8 chars with at least 1 "
                           "uppercase letter, 1 lowercase letter and 1 number");
      }
      robot->secret = chosen;
      state.putRobot(*robot);
      return {200, "application/json", "{}", {}};
    }
    robot->secret = generateSecret();
    state.putRobot(*robot);
    return {200, "application/json", json{{"secret", robot->secret}}.dump(), {}};
  }
  if (req.method == "PUT") {
    if (body.value("name", "") != "robot$" + robot->name ||
        body.value("level", "") != robot->level) {
      return harborError(400, "BAD_REQUEST", "cannot update the level or name of robot");
    }
    Robot updated = *robot;
    if (auto err = readPermissions(body, updated)) {
      return *err;
    }
    if (updated.level == "project" &&
        updated.permissions[0].nameSpace != robot->permissions[0].nameSpace) {
      return harborError(400, "BAD_REQUEST", "cannot update the project of robot");
    }
    if (auto err = checkProjects(state, updated)) {
      return *err;
    }
    updated.description = body.value("description", "");
    updated.disabled = body.value("disable", false);  // omitting disable enables the robot
    if (body.contains("duration") && body["duration"].is_number_integer() &&
        body["duration"].get<int64_t>() != robot->duration) {
      updated.duration = body["duration"].get<int64_t>();
      updated.expiresAt =
          updated.duration == -1 ? -1 : robot->createdUnix + updated.duration * 86400;
    }
    state.putRobot(updated);
    return {200, "application/json", "", {}};
  }
  return harborError(405, "METHOD_NOT_ALLOWED", "method not allowed");
}

}  // namespace harborsim
