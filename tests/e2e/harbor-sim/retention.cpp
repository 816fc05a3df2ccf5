// /api/v2.0/retentions[/{id}] and /retentions/metadatas as Harbor's retention handler and
// controller serve them (server/v2.0/handler/retention.go, pkg/retention/policy/models.go,
// policy/rule/index): at most 15 rules, identical rules 409, project scope only, one policy a
// project (its id kept in the project's metadata `retention_id`, which DELETE leaves behind),
// PUT only for the id that metadata names, templates and their required parameters checked.
#include <nlohmann/json.hpp>

#include "api.h"

namespace harborsim {
namespace {

using hm::net::HttpRequest;
using hm::net::HttpResponse;
using nlohmann::json;

// policy/rule/index: the registered templates and their required parameter.
const std::map<std::string, std::string> kTemplates = {{"latestPushedK", "latestPushedK"},
                                                       {"latestPulledN", "latestPulledN"},
                                                       {"latestActiveK", "latestActiveK"},
                                                       {"lastXDays", "lastXDays"},
                                                       {"nDaysSinceLastPull", "nDaysSinceLastPull"},
                                                       {"nDaysSinceLastPush", "nDaysSinceLastPush"},
                                                       {"always", ""}};

std::optional<std::string> invalidSelector(const json& s) {
  if (!s.is_object()) {
    return "invalid selector";
  }
  for (const char* key : {"kind", "decoration", "pattern"}) {
    if (!s.contains(key) || !s[key].is_string() || s[key].get<std::string>().empty()) {
      return std::string(key) + " can not be empty";
    }
  }
  if (s["kind"].get<std::string>().find("doublestar") == std::string::npos) {
    return "Kind must match /doublestar/";
  }
  return std::nullopt;
}

// Metadata.Valid and the handler's checks, in the handler's order.
std::optional<HttpResponse> validate(const json& p) {
  const json rules = p.contains("rules") && p["rules"].is_array() ? p["rules"] : json::array();
  if (rules.size() > 15) {
    return harborError(400, "BAD_REQUEST", "only 15 rules are allowed at most");
  }
  std::map<std::string, size_t> seen;
  for (size_t n = 0; n < rules.size(); ++n) {
    json r = rules[n];
    if (r.is_object()) {
      r.erase("id");
    }
    auto [it, added] = seen.emplace(r.dump(), n);
    if (!added) {
      return harborError(
          409, "CONFLICT",
          "rule " + std::to_string(n) + " is conflict with rule " + std::to_string(it->second));
    }
  }
  if (!p.contains("algorithm") || p["algorithm"] != "or") {
    return harborError(400, "BAD_REQUEST", "Algorithm must match /or/");
  }
  if (!p.contains("trigger") || !p["trigger"].is_object()) {
    return harborError(400, "BAD_REQUEST", "Trigger Can not be empty");
  }
  if (!p.contains("scope") || !p["scope"].is_object()) {
    return harborError(400, "BAD_REQUEST", "Scope Can not be empty");
  }
  const json& trigger = p["trigger"];
  if (trigger.value("kind", "") == "Schedule" &&
      (!trigger.contains("settings") || !trigger["settings"].is_object() ||
       !trigger["settings"].contains("cron"))) {
    return harborError(400, "BAD_REQUEST", "Trigger.Settings.cron Can not be empty");
  }
  for (const json& r : rules) {
    if (!r.is_object()) {
      return harborError(400, "BAD_REQUEST", "invalid rule");
    }
    const std::string templ = r.value("template", "");
    auto t = kTemplates.find(templ);
    if (templ.empty()) {
      return harborError(400, "BAD_REQUEST", "empty rule template ID");
    }
    if (t == kTemplates.end()) {
      return harborError(400, "BAD_REQUEST", "rule evaluator " + templ + " is not registered");
    }
    const json params = r.contains("params") && r["params"].is_object() ? r["params"] : json();
    if (!t->second.empty() && (params.is_null() || !params.contains(t->second))) {
      return harborError(400, "BAD_REQUEST",
                         "missing required parameter " + t->second + " for rule " + templ);
    }
    if (!t->second.empty() &&
        (!params[t->second].is_number() || params[t->second].get<double>() < 0)) {
      return harborError(400, "BAD_REQUEST", "invalid parameter " + t->second);
    }
    if (r.value("action", "").empty()) {
      return harborError(400, "BAD_REQUEST", "Action can not be empty");
    }
    if (!r.contains("tag_selectors") || !r["tag_selectors"].is_array() ||
        r["tag_selectors"].empty() || !r.contains("scope_selectors") ||
        !r["scope_selectors"].is_object() || r["scope_selectors"].empty()) {
      return harborError(400, "BAD_REQUEST", "TagSelectors and ScopeSelectors can not be empty");
    }
    for (const json& s : r["tag_selectors"]) {
      if (auto why = invalidSelector(s)) {
        return harborError(400, "BAD_REQUEST", *why);
      }
    }
    for (const auto& [_, list] : r["scope_selectors"].items()) {
      for (const json& s : list.is_array() ? list : json::array({json()})) {
        if (auto why = invalidSelector(s)) {
          return harborError(400, "BAD_REQUEST", *why);
        }
      }
    }
  }
  return std::nullopt;
}

json metadataPayload() {
  json templates = json::array();
  for (const auto& [id, text, unit] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"latestPushedK", "the most recently pushed # artifacts", "COUNT"},
           {"latestPulledN", "the most recently pulled # artifacts", "COUNT"},
           {"nDaysSinceLastPush", "pushed within the last # days", "DAYS"},
           {"nDaysSinceLastPull", "pulled within the last # days", "DAYS"},
           {"always", "always", ""}}) {
    json params = json::array();
    if (!unit.empty()) {
      params.push_back({{"type", "int"}, {"unit", unit}, {"required", true}});
    }
    templates.push_back(
        {{"rule_template", id}, {"display_text", text}, {"action", "retain"}, {"params", params}});
  }
  return {{"templates", templates},
          {"scope_selectors",
           {{{"display_text", "Repositories"},
             {"kind", "doublestar"},
             {"decorations", {"repoMatches", "repoExcludes"}}}}},
          {"tag_selectors",
           {{{"display_text", "Tags"},
             {"kind", "doublestar"},
             {"decorations", {"matches", "excludes"}}}}}};
}

}  // namespace

HttpResponse retentionsApi(State& state, const HttpRequest& req, const Caller& caller) {
  auto segs = segments(req.path());  // api, v2.0, retentions[, {id} | metadatas]
  const std::string& m = req.method;
  if (caller.anonymous()) {
    return refused(caller);
  }
  if (segs.size() == 4 && segs[3] == "metadatas" && m == "GET") {
    return {200, "application/json", metadataPayload().dump(), {}};
  }
  auto projectOf = [&](const json& p) -> std::optional<Project> {
    const json scope = p.contains("scope") && p["scope"].is_object() ? p["scope"] : json::object();
    const int64_t ref =
        scope.contains("ref") && scope["ref"].is_number_integer() ? scope["ref"].get<int64_t>() : 0;
    return ref > 0 ? state.project(std::to_string(ref), false) : std::nullopt;
  };
  if (segs.size() == 3) {
    if (m != "POST") {
      return harborError(405, "METHOD_NOT_ALLOWED", "method not allowed");
    }
    json p = json::parse(req.body, nullptr, false);
    if (!p.is_object()) {
      return harborError(400, "BAD_REQUEST", "invalid retention policy body");
    }
    if (auto bad = validate(p)) {
      return *bad;
    }
    auto project = projectOf(p);
    const std::string level = p["scope"].value("level", "");
    if (level == "project" && project && !caller.can(*project, "tag-retention", "create")) {
      return refused(caller);
    }
    if (level != "project") {
      return harborError(400, "BAD_REQUEST", "scope " + level + " is not support");
    }
    if (!project) {
      return harborError(400, "BAD_REQUEST",
                         "invalid Project id " + p["scope"].value("ref", json(0)).dump());
    }
    if (auto old = project->metadata.find("retention_id"); old != project->metadata.end()) {
      return harborError(400, "BAD_REQUEST",
                         "project " + std::to_string(project->id) +
                             " already has retention policy " + old->second);
    }
    const int64_t id = state.createRetention(p);
    state.updateProject(project->name,
                        [&](Project& x) { x.metadata["retention_id"] = std::to_string(id); });
    return {
        201, "application/json", "", {{"Location", "/api/v2.0/retentions/" + std::to_string(id)}}};
  }
  if (segs.size() != 4) {
    return harborError(404, "NOT_FOUND", "path " + std::string(req.path()) + " was not found");
  }
  int64_t id = std::strtoll(segs[3].c_str(), nullptr, 10);
  if (id <= 0 || std::to_string(id) != segs[3]) {
    return harborError(422, "UNPROCESSABLE_ENTITY",
                       "id in path must be of type int64: \"" + segs[3] + "\"");
  }
  auto held = state.retention(id);
  if (m == "GET" || m == "DELETE") {
    if (!held) {
      // The manager's not-found, through the handler (DELETE wraps it as a bad request).
      return m == "GET"
                 ? harborError(404, "NOT_FOUND", "retention policy " + segs[3] + " not found")
                 : harborError(400, "BAD_REQUEST", "retention policy " + segs[3] + " not found");
    }
    auto project = projectOf(*held);
    if (!project || !caller.can(*project, "tag-retention", m == "GET" ? "read" : "delete")) {
      return refused(caller);
    }
    if (m == "GET") {
      return {200, "application/json", held->dump(), {}};
    }
    state.deleteRetention(id);  // the project's retention_id stays, as in Harbor
    return {200, "application/json", "", {}};
  }
  if (m != "PUT") {
    return harborError(405, "METHOD_NOT_ALLOWED", "method not allowed");
  }
  json p = json::parse(req.body, nullptr, false);
  if (!p.is_object()) {
    return harborError(400, "BAD_REQUEST", "invalid retention policy body");
  }
  if (auto bad = validate(p)) {
    return *bad;
  }
  auto project = projectOf(p);
  if (!project || !caller.can(*project, "tag-retention", "update")) {
    return refused(caller);
  }
  auto bound = project->metadata.find("retention_id");
  if (bound == project->metadata.end() || bound->second != segs[3] || !held) {
    return harborError(404, "NOT_FOUND", "the retention policy id " + segs[3] + " does not match");
  }
  p["id"] = id;
  state.putRetention(id, p);
  return {200, "application/json", "", {}};
}

}  // namespace harborsim
