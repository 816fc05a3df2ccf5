// /api/v2.0/projects… as API-NOTES §3 and §5 describe Harbor's project and artifact APIs.
#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <set>

#include "api.h"
#include "harbormaster/base/encoding.h"

namespace harborsim {
namespace {

using hm::net::HttpRequest;
using hm::net::HttpResponse;
using nlohmann::json;

HttpResponse ok(int status = 200, std::string body = "") {
  return {status, "application/json", std::move(body), {}};
}

// Harbor's GET lower-cases `severity` and maps it onto CVSS v3 names (API-NOTES §3).
std::string shownSeverity(const std::string& stored) {
  std::string s = stored;
  std::transform(s.begin(), s.end(), s.begin(), ::tolower);
  if (s == "negligible") {
    return "none";
  }
  static const std::set<std::string> known = {"none", "low", "medium", "high", "critical"};
  return known.count(s) ? s : "unknown";
}

json allowlistJson(const CveAllowlist& list) {
  json items = json::array();
  for (const auto& id : list.items) {
    items.push_back({{"cve_id", id}});
  }
  json j = {{"id", list.id},
            {"project_id", list.projectId},
            {"items", items},
            {"creation_time", "0001-01-01T00:00:00.000Z"},
            {"update_time", "0001-01-01T00:00:00.000Z"}};
  if (list.expiresAt) {
    j["expires_at"] = *list.expiresAt;
  }
  return j;
}

json projectJson(const State& state, const Project& p) {
  json metadata = json::object();
  for (const auto& [k, v] : p.metadata) {
    metadata[k] = k == "severity" ? shownSeverity(v) : v;
  }
  return {{"project_id", p.id},
          {"name", p.name},
          {"owner_id", 1},
          {"owner_name", "admin"},
          {"repo_count", state.projectHasRepositories(p.name) ? 1 : 0},
          {"creation_time", p.created},
          {"update_time", p.created},
          {"metadata", metadata},
          {"cve_allowlist", allowlistJson(p.allowlist)}};
}

// Reads {"metadata": {...}} values, which Harbor requires to be strings (422 otherwise).
std::optional<HttpResponse> readMetadata(const json& body,
                                         std::map<std::string, std::string>& out) {
  if (!body.contains("metadata")) {
    return std::nullopt;
  }
  if (!body["metadata"].is_object()) {
    return harborError(422, "UNPROCESSABLE_ENTITY", "metadata in body must be of type object");
  }
  for (const auto& [k, v] : body["metadata"].items()) {
    if (!v.is_string()) {
      return harborError(422, "UNPROCESSABLE_ENTITY",
                         "metadata." + k + " in body must be of type string");
    }
    out[k] = v.get<std::string>();
  }
  if (out.count("public") && out["public"] != "true" && out["public"] != "false") {
    return harborError(400, "BAD_REQUEST", "invalid public metadata: " + out["public"]);
  }
  return std::nullopt;
}

// A cve_allowlist body: empty or duplicate ids are untyped errors in Harbor, hence 500.
std::optional<HttpResponse> readAllowlist(const json& j, int64_t projectId, CveAllowlist& out) {
  if (!j.is_object()) {
    return harborError(422, "UNPROCESSABLE_ENTITY", "cve_allowlist in body must be of type object");
  }
  if (j.contains("project_id") && j["project_id"].is_number_integer() &&
      j["project_id"].get<int64_t>() != 0 && j["project_id"].get<int64_t>() != projectId) {
    return harborError(400, "BAD_REQUEST",
                       "project_id in cve_allowlist must be 0 or the project's");
  }
  out.projectId = projectId;
  out.items.clear();
  out.expiresAt.reset();
  if (j.contains("expires_at") && !j["expires_at"].is_null()) {
    if (!j["expires_at"].is_number_integer()) {
      return harborError(422, "UNPROCESSABLE_ENTITY", "expires_at must be of type int64");
    }
    out.expiresAt = j["expires_at"].get<int64_t>();
  }
  for (const auto& item : j.value("items", json::array())) {
    std::string id = item.is_object() && item.contains("cve_id") && item["cve_id"].is_string()
                         ? item["cve_id"].get<std::string>()
                         : "";
    if (id.empty() || std::count(out.items.begin(), out.items.end(), id)) {
      return harborError(500, "UNKNOWN", "internal server error");
    }
    out.items.push_back(id);
  }
  return std::nullopt;
}

HttpResponse createProject(State& state, const HttpRequest& req, const Caller& caller) {
  if (!caller.admin) {
    return caller.robot
               ? harborError(403, "FORBIDDEN", "Only system level robot can create project")
           : caller.user ? harborError(403, "FORBIDDEN", "Only system admin can create project")
                         : refused(caller);
  }
  json body = json::parse(req.body, nullptr, false);
  if (!body.is_object() || !body.contains("project_name") || !body["project_name"].is_string()) {
    return harborError(422, "UNPROCESSABLE_ENTITY", "project_name in body is required");
  }
  std::map<std::string, std::string> metadata;
  if (auto err = readMetadata(body, metadata)) {
    return *err;
  }
  int64_t id = 0;
  auto [status, message] =
      state.createProject(body["project_name"].get<std::string>(), metadata, id);
  if (status != 201) {
    return harborError(status, status == 409 ? "CONFLICT" : "BAD_REQUEST", message);
  }
  // The creator becomes the project's first member, a project admin (the admin user, id 1).
  state.updateProject(body["project_name"].get<std::string>(), [](Project& p) {
    p.members.push_back(Member{p.nextMemberId++, "u", "admin", 1, 1});
  });
  if (body.contains("storage_limit") && body["storage_limit"].is_number_integer()) {
    int64_t limit = body["storage_limit"].get<int64_t>();
    state.updateProject(body["project_name"].get<std::string>(),
                        [&](Project& p) { p.storageLimit = limit == 0 ? -1 : limit; });
  }
  if (body.contains("cve_allowlist")) {
    CveAllowlist list;
    if (auto err = readAllowlist(body["cve_allowlist"], id, list)) {
      return *err;
    }
    state.updateProject(body["project_name"].get<std::string>(),
                        [&](Project& p) { p.allowlist = list; });
  }
  return {201, "application/json", "", {{"Location", "/api/v2.0/projects/" + std::to_string(id)}}};
}

// PUT /projects/{p}: a merge. Metadata keys are upserted, never deleted; a cve_allowlist
// replaces the project's list; name, public and storage_limit are ignored.
HttpResponse updateProject(State& state, const HttpRequest& req, const Project& project) {
  json body = json::parse(req.body, nullptr, false);
  if (!body.is_object()) {
    return harborError(400, "BAD_REQUEST", "invalid project request body");
  }
  std::map<std::string, std::string> metadata;
  if (auto err = readMetadata(body, metadata)) {
    return *err;
  }
  std::optional<CveAllowlist> list;
  if (body.contains("cve_allowlist")) {
    list = project.allowlist;
    if (auto err = readAllowlist(body["cve_allowlist"], project.id, *list)) {
      return *err;
    }
  }
  state.updateProject(project.name, [&](Project& p) {
    for (const auto& [k, v] : metadata) {
      p.metadata[k] = v;
    }
    if (list) {
      list->id = p.allowlist.id;
      p.allowlist = *list;
    }
  });
  return ok();
}

// /projects/{p}/metadatas[/{key}]: the only place Harbor validates metadata values.
HttpResponse metadataApi(State& state, const HttpRequest& req, const Caller& caller,
                         const Project& project, const std::vector<std::string>& segs) {
  const std::string& m = req.method;
  const std::string action = m == "GET" ? "read" : m == "PUT" ? "update" : "delete";
  if (!caller.can(project, "metadata", action)) {
    return refused(caller);
  }
  if (segs.size() == 5) {
    if (m != "GET") {
      return harborError(405, "METHOD_NOT_ALLOWED", "method not allowed");
    }
    return ok(200, json(project.metadata).dump());
  }
  const std::string& key = segs[5];
  auto it = project.metadata.find(key);
  if (m == "GET" || m == "DELETE") {
    if (it == project.metadata.end()) {
      return harborError(404, "NOT_FOUND",
                         "metadata " + key + " of project " + project.name + " not found");
    }
    if (m == "GET") {
      return ok(200, json{{key, it->second}}.dump());
    }
    state.updateProject(project.name, [&](Project& p) { p.metadata.erase(key); });
    return ok();
  }
  if (m != "PUT") {
    return harborError(405, "METHOD_NOT_ALLOWED", "method not allowed");
  }
  json body = json::parse(req.body, nullptr, false);
  if (!body.is_object() || body.size() != 1 || !body.contains(key) || !body[key].is_string()) {
    return harborError(400, "BAD_REQUEST",
                       "invalid request: the body must be {\"" + key + "\": \"<string>\"}");
  }
  std::string value = body[key].get<std::string>();
  static const std::set<std::string> booleans = {
      "public",    "enable_content_trust", "enable_content_trust_cosign", "prevent_vul",
      "auto_scan", "auto_sbom_generation", "reuse_sys_cve_allowlist"};
  static const std::set<std::string> severities = {"none", "low", "medium", "high", "critical"};
  if ((booleans.count(key) && value != "true" && value != "false") ||
      (key == "severity" && !severities.count(value))) {
    return harborError(400, "BAD_REQUEST", "invalid value: " + value);
  }
  state.updateProject(project.name, [&](Project& p) { p.metadata[key] = value; });
  return ok();
}

const char* roleName(int role) {
  switch (role) {
    case 1:
      return "projectAdmin";
    case 2:
      return "developer";
    case 3:
      return "guest";
    case 4:
      return "maintainer";
    case 5:
      return "limitedGuest";
  }
  return "";
}

json memberJson(const Member& m, int64_t projectId) {
  return {{"id", m.id},
          {"project_id", projectId},
          {"entity_name", m.name},
          {"role_name", roleName(m.role)},
          {"role_id", m.role},
          {"entity_id", m.entityId},
          {"entity_type", m.entityType}};
}

// POST …/members as controller/member.Create: a user by id or name, a group by id, LDAP DN or
// name and type; a member already there is 409 before the role is checked; a group Harbor does
// not know cannot be onboarded in db_auth mode (auth.SearchAndOnBoardGroup: "The group does not
// exist", an untyped error, so 500).
HttpResponse addMember(State& state, const json& body, const Project& project) {
  const int role = body.contains("role_id") && body["role_id"].is_number_integer()
                       ? body["role_id"].get<int>()
                       : 0;
  const json user = body.contains("member_user") && body["member_user"].is_object()
                        ? body["member_user"]
                        : json::object();
  const json group = body.contains("member_group") && body["member_group"].is_object()
                         ? body["member_group"]
                         : json::object();
  auto text = [](const json& j, const char* key) {
    return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
  };
  auto number = [](const json& j, const char* key) {
    return j.contains(key) && j[key].is_number_integer() ? j[key].get<int64_t>() : int64_t{0};
  };
  Member m;
  if (number(user, "user_id") <= 0 && text(user, "username").empty() && number(group, "id") <= 0 &&
      text(group, "group_name").empty() && text(group, "ldap_group_dn").empty()) {
    return harborError(400, "BAD_REQUEST",
                       "at least one of member_user or member_group must be provided");
  }
  if (!text(user, "username").empty() || number(user, "user_id") > 0) {
    const std::string name = text(user, "username");
    auto u = state.user(name);
    if (!u) {
      return harborError(404, "NOT_FOUND", "user " + name + " is not found");
    }
    m = {0, "u", u->name, u->id, role};
  } else {
    std::optional<UserGroup> g;
    if (number(group, "id") > 0) {
      g = state.groupById(number(group, "id"));
      if (!g) {
        return harborError(400, "BAD_REQUEST",
                           "Group " + std::to_string(number(group, "id")) + " not found");
      }
    } else {
      const int type =
          text(group, "ldap_group_dn").empty() ? static_cast<int>(number(group, "group_type")) : 1;
      g = state.group(text(group, "group_name"), type);
    }
    if (!g) {
      return harborError(500, "UNKNOWN", "The group does not exist");
    }
    m = {0, "g", g->name, g->id, role};
  }
  for (const Member& held : project.members) {
    // Users by name (the simulator's admin, Harbor's user 1, has no row in its user table),
    // groups by id.
    const bool same = m.entityType == "u" ? held.name == m.name : held.entityId == m.entityId;
    if (held.entityType == m.entityType && same) {
      return harborError(409, "CONFLICT", "The project member specified already exist");
    }
  }
  if (role < 1 || role > 5) {
    return harborError(400, "BAD_REQUEST",
                       "invalid role: must be a built-in project role (1-5) or an existing custom "
                       "role");
  }
  int64_t id = 0;
  state.updateProject(project.name, [&](Project& p) {
    m.id = id = p.nextMemberId++;
    p.members.push_back(m);
  });
  return {201,
          "application/json",
          "",
          {{"Location", "/api/v2.0/projects/" + project.name + "/members/" + std::to_string(id)}}};
}

HttpResponse membersApi(State& state, const HttpRequest& req, const Caller& caller,
                        const Project& project, const std::vector<std::string>& segs) {
  // api, v2.0, projects, {p}, members[, {mid}]
  const std::string& m = req.method;
  if (segs.size() == 5) {
    if (m == "GET") {
      if (!caller.can(project, "member", "list")) {
        return refused(caller);
      }
      Paging paging;
      if (auto bad = readPaging(req, paging)) {
        return *bad;
      }
      const auto q = req.query();
      const auto filter = q.find("entityname");
      std::vector<Member> all;
      for (const Member& member : project.members) {
        // The DAO matches entityname with LIKE %…%.
        if (filter == q.end() ||
            member.name.find(formDecode(filter->second)) != std::string::npos) {
          all.push_back(member);
        }
      }
      json list = json::array();
      for (size_t i = static_cast<size_t>((paging.page - 1) * paging.pageSize);
           i < all.size() && list.size() < static_cast<size_t>(paging.pageSize); ++i) {
        list.push_back(memberJson(all[i], project.id));
      }
      return {200,
              "application/json",
              list.dump(),
              {{"X-Total-Count", std::to_string(project.members.size())}}};
    }
    if (m != "POST") {
      return harborError(405, "METHOD_NOT_ALLOWED", "method not allowed");
    }
    if (!caller.can(project, "member", "create")) {
      return refused(caller);
    }
    json body = json::parse(req.body, nullptr, false);
    if (!body.is_object()) {
      return harborError(400, "BAD_REQUEST", "the project member should provide");
    }
    return addMember(state, body, project);
  }
  int64_t mid = std::strtoll(segs[5].c_str(), nullptr, 10);
  if (mid <= 0 || std::to_string(mid) != segs[5]) {
    return harborError(422, "UNPROCESSABLE_ENTITY",
                       "mid in path must be of type int64: \"" + segs[5] + "\"");
  }
  const std::string action = m == "GET" ? "read" : m == "PUT" ? "update" : "delete";
  if (m != "GET" && m != "PUT" && m != "DELETE") {
    return harborError(405, "METHOD_NOT_ALLOWED", "method not allowed");
  }
  if (!caller.can(project, "member", action)) {
    return refused(caller);
  }
  auto held = std::find_if(project.members.begin(), project.members.end(),
                           [&](const Member& x) { return x.id == mid; });
  if (m == "GET") {
    return held == project.members.end()
               ? harborError(404, "NOT_FOUND", "member " + segs[5] + " not found")
               : HttpResponse{200, "application/json", memberJson(*held, project.id).dump(), {}};
  }
  if (m == "DELETE") {
    // The DAO deletes by project and id; nothing to delete is no error.
    state.updateProject(project.name, [&](Project& p) {
      p.members.erase(std::remove_if(p.members.begin(), p.members.end(),
                                     [&](const Member& x) { return x.id == mid; }),
                      p.members.end());
    });
    return ok();
  }
  json body = json::parse(req.body, nullptr, false);
  if (!body.is_object() || !body.contains("role_id") || !body["role_id"].is_number_integer()) {
    return harborError(400, "BAD_REQUEST", "role can not be empty");
  }
  const int role = body["role_id"].get<int>();
  if (role < 1 || role > 5) {
    return harborError(400, "BAD_REQUEST",
                       "invalid role: must be a built-in project role (1-5) or an existing custom "
                       "role");
  }
  state.updateProject(project.name, [&](Project& p) {
    for (Member& x : p.members) {
      if (x.id == mid) {
        x.role = role;
      }
    }
  });
  return ok();
}

// Harbor's DELETE_ARTIFACT for an artifact just deleted (its first tag, else its digest).
HarborEvent deletedEvent(const Artifact& a, const Project& project, const Caller& caller) {
  HarborEvent e;
  e.type = "DELETE_ARTIFACT";
  e.project = project.name;
  e.repository = a.repository;
  e.resources.emplace_back(a.digest, a.tags.empty() ? a.digest : a.tags.front());
  e.operatorName = caller.robot  ? "robot$" + caller.robot->name
                   : caller.user ? caller.user->name
                                 : "admin";
  e.occurAt = std::chrono::duration_cast<std::chrono::seconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  auto pub = project.metadata.find("public");
  e.publicProject = pub != project.metadata.end() && pub->second == "true";
  return e;
}

// projects/{p}/repositories/{r}/artifacts/{ref}[/scan | /accessories | /additions/vulnerabilities]
HttpResponse artifactsApi(State& state, const HttpRequest& req, const Caller& caller,
                          const Project& project, const std::vector<std::string>& segs) {
  const std::string tail = segs.size() == 8    ? ""
                           : segs.size() == 9  ? segs[8]
                           : segs.size() == 10 ? segs[8] + "/" + segs[9]
                                               : "?";
  std::string resource = "artifact", action = "read";
  if (tail == "scan") {
    resource = "scan";
    action = "create";
  } else if (tail == "accessories") {
    resource = "accessory";
    action = "list";
  } else if (tail == "additions/vulnerabilities") {
    resource = "artifact-addition";
  } else if (tail.empty() && req.method == "DELETE") {
    action = "delete";
  } else if (!tail.empty()) {
    return harborError(404, "NOT_FOUND", "path " + std::string(req.path()) + " was not found");
  }
  const std::string expectedMethod = tail == "scan"       ? "POST"
                                     : action == "delete" ? "DELETE"
                                                          : "GET";
  if (req.method != expectedMethod) {
    return harborError(405, "METHOD_NOT_ALLOWED", "method not allowed");
  }
  if (!caller.can(project, resource, action)) {
    return refused(caller);
  }
  // go-swagger unescaped the path once; Harbor unescapes the repository a second time.
  std::string repository = project.name + "/" + hm::percentDecode(segs[5], false);
  const std::string& reference = segs[7];
  auto artifact = state.artifact(repository, reference);
  if (!artifact) {
    bool digest = reference.rfind("sha256:", 0) == 0;
    return harborError(404, "NOT_FOUND",
                       "artifact " + repository + (digest ? "@" : ":") + reference + " not found");
  }
  if (action == "delete") {
    state.deleteArtifact(repository, artifact->digest);
    state.publish(deletedEvent(*artifact, project, caller));
    return ok();
  }
  auto q = req.query();
  auto flag = [&](const char* name) { return q.count(name) && q.find(name)->second == "true"; };
  if (tail == "scan") {
    json body = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
    std::string type = body.is_object() ? body.value("scan_type", "vulnerability") : "";
    if (type != "vulnerability" && type != "sbom") {
      return harborError(422, "UNPROCESSABLE_ENTITY", "scan_type must be vulnerability or sbom");
    }
    if (type == "sbom") {
      return ok(202);  // SBOMs are outside the simulator; accepted and dropped
    }
    auto [status, message] = state.triggerScan(*artifact);
    if (status != 202) {
      return harborError(status, status == 409 ? "CONFLICT" : "BAD_REQUEST", message);
    }
    return ok(202);
  }
  if (tail == "accessories") {
    json list = artifactJson(*artifact, std::nullopt, false, true, project.name)
                    .value("accessories", json::array());
    return {200, "application/json", list.dump(), {{"X-Total-Count", std::to_string(list.size())}}};
  }
  auto report = state.effectiveReport(*artifact);
  if (tail == "additions/vulnerabilities") {
    return ok(200, vulnerabilitiesJson(report).dump());
  }
  return ok(200, artifactJson(*artifact, report, flag("with_scan_overview"), flag("with_accessory"),
                              project.name)
                     .dump());
}

HttpResponse projectRoot(State& state, const HttpRequest& req, const Caller& caller) {
  if (req.method == "HEAD") {
    if (caller.anonymous()) {
      return harborError(401, "UNAUTHORIZED", "unauthorized");
    }
    auto q = req.query();
    auto name = q.count("project_name") ? q.find("project_name")->second : "";
    return ok(state.project(name, true) ? 200 : 404);
  }
  if (req.method == "POST") {
    return createProject(state, req, caller);
  }
  return harborError(405, "METHOD_NOT_ALLOWED", "method not allowed");
}

}  // namespace

HttpResponse projectsApi(State& state, const HttpRequest& req, const Caller& caller) {
  auto segs = segments(req.path());  // api, v2.0, projects, ...
  if (segs.size() == 3) {
    return projectRoot(state, req, caller);
  }
  const std::string& ref = segs[3];
  const bool byName = req.header("X-Is-Resource-Name") == "true";
  auto project = state.project(ref, byName);
  if (!project) {
    // Harbor does not tell non-admins whether a project exists.
    return caller.admin ? harborError(404, "NOT_FOUND", "project " + ref + " not found")
                        : refused(caller);
  }
  const std::string& m = req.method;
  if (segs.size() == 4) {
    const std::string action = m == "GET" ? "read" : m == "PUT" ? "update" : "delete";
    if (m != "GET" && m != "PUT" && m != "DELETE") {
      return harborError(405, "METHOD_NOT_ALLOWED", "method not allowed");
    }
    if (!caller.can(*project, "project", action)) {
      return refused(caller);
    }
    if (m == "GET") {
      return ok(200, projectJson(state, *project).dump());
    }
    if (m == "PUT") {
      return updateProject(state, req, *project);
    }
    if (state.projectHasRepositories(project->name)) {
      return harborError(
          412, "PRECONDITION",
          "precondition failed: the project contains repositories, can not be deleted");
    }
    state.deleteProject(project->name);
    return ok();
  }
  if (segs[4] == "metadatas" && segs.size() <= 6) {
    return metadataApi(state, req, caller, *project, segs);
  }
  if (segs[4] == "members" && segs.size() <= 6) {
    return membersApi(state, req, caller, *project, segs);
  }
  if (segs[4] == "webhook") {
    return webhooksApi(state, req, caller, *project, segs);
  }
  if (segs[4] == "immutabletagrules" && segs.size() <= 6) {
    return immutableApi(state, req, caller, *project, segs);
  }
  if (segs[4] == "repositories" && segs.size() == 6 && req.method == "DELETE") {
    // The registry keeps the blobs until garbage collection, as in Harbor; the repository is
    // gone from the API at once.
    if (!caller.can(*project, "repository", "delete")) {
      return refused(caller);
    }
    std::string repository = project->name + "/" + hm::percentDecode(segs[5], false);
    auto artifacts = state.repositoryArtifacts(repository);
    if (!state.deleteRepository(repository)) {
      return harborError(404, "NOT_FOUND", "repository " + repository + " not found");
    }
    // Harbor deletes the repository's artifacts one by one, each with its DELETE_ARTIFACT.
    for (const auto& a : artifacts) {
      state.publish(deletedEvent(a, *project, caller));
    }
    return ok();
  }
  if (segs[4] == "repositories" && segs.size() >= 8 && segs[6] == "artifacts") {
    return artifactsApi(state, req, caller, *project, segs);
  }
  return harborError(404, "NOT_FOUND", "path " + std::string(req.path()) + " was not found");
}

// GET /quotas?reference=project&reference_id=N and PUT /quotas/{id} {"hard":{"storage":N}}.
HttpResponse quotasApi(State& state, const HttpRequest& req, const Caller& caller) {
  auto segs = segments(req.path());
  auto quotaJson = [](const Project& p) {
    return json{{"id", quotaIdOf(p.id)},
                {"ref", {{"id", p.id}, {"name", p.name}, {"owner_name", "admin"}}},
                {"hard", {{"storage", p.storageLimit}}},
                {"used", {{"storage", 0}}},
                {"creation_time", p.created},
                {"update_time", p.created}};
  };
  if (req.method == "GET" && segs.size() == 3) {
    auto q = req.query();
    auto ref = q.find("reference_id");
    json out = json::array();
    for (const auto& p : state.projects()) {
      if (ref != q.end() && ref->second != std::to_string(p.id)) {
        continue;
      }
      if (caller.can(p, "quota", "read")) {
        out.push_back(quotaJson(p));
      }
    }
    if (caller.anonymous()) {
      return refused(caller);
    }
    return ok(200, out.dump());
  }
  if (req.method == "PUT" && segs.size() == 4) {
    if (!caller.admin) {
      return refused(caller);  // quota:update is a system-level permission
    }
    std::optional<Project> project;
    for (const auto& p : state.projects()) {
      if (std::to_string(quotaIdOf(p.id)) == segs[3]) {
        project = p;
      }
    }
    if (!project) {
      return harborError(404, "NOT_FOUND", "quota " + segs[3] + " not found");
    }
    json body = json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.contains("hard") || !body["hard"].is_object() ||
        !body["hard"].contains("storage") || !body["hard"]["storage"].is_number_integer()) {
      return harborError(400, "BAD_REQUEST", "hard.storage in body is required");
    }
    int64_t limit = body["hard"]["storage"].get<int64_t>();
    if (limit == 0 || limit < -1) {
      return harborError(400, "BAD_REQUEST", "invalid hard limit for storage");
    }
    state.updateProject(project->name, [&](Project& p) { p.storageLimit = limit; });
    return ok();
  }
  return harborError(405, "METHOD_NOT_ALLOWED", "method not allowed");
}

}  // namespace harborsim
