// /api/v2.0/projects/{p}/immutabletagrules[/{id}] as Harbor's immutable handler, controller and
// DAO serve them (the API spec's ImmutableRule; server/v2.0/handler/immutable.go,
// pkg/immutable/model/rule.go, pkg/immutable/dao): action, template, tag and scope selectors
// required, each selector of kind doublestar with a decoration and a pattern; a rule the project
// already holds is 409; PUT with another `disabled` only toggles the rule, otherwise it replaces
// the selectors; a rule of another project is 404.
#include <nlohmann/json.hpp>

#include "api.h"

namespace harborsim {
namespace {

using hm::net::HttpRequest;
using hm::net::HttpResponse;
using nlohmann::json;

json ruleJson(const ImmutableRule& r) {
  return {{"id", r.id},
          {"priority", r.priority},
          {"disabled", r.disabled},
          {"action", r.action},
          {"template", r.templ},
          {"params", r.params},
          {"tag_selectors", r.tagSelectors},
          {"scope_selectors", r.scopeSelectors}};
}

// beego's Valid on a Selector: kind Required and Match(doublestar), decoration and pattern
// Required.
std::optional<std::string> invalidSelector(const json& s) {
  if (!s.is_object()) {
    return "invalid selector";
  }
  for (const char* key : {"kind", "decoration", "pattern"}) {
    if (!s.contains(key) || !s[key].is_string() || s[key].get<std::string>().empty()) {
      return std::string(key == std::string("kind")         ? "Kind"
                         : key == std::string("decoration") ? "Decoration"
                                                            : "Pattern") +
             " can not be empty";
    }
  }
  if (s["kind"].get<std::string>().find("doublestar") == std::string::npos) {
    return "Kind must match /doublestar/";
  }
  return std::nullopt;
}

// The body of a create or update (JSONCopy into Metadata, then validation.Valid).
std::optional<HttpResponse> readRule(const std::string& body, ImmutableRule& out) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object()) {
    return harborError(400, "BAD_REQUEST", "invalid immutable rule body");
  }
  out.id = j.contains("id") && j["id"].is_number_integer() ? j["id"].get<int64_t>() : 0;
  out.priority = j.contains("priority") && j["priority"].is_number_integer()
                     ? j["priority"].get<int64_t>()
                     : 0;
  out.disabled = j.contains("disabled") && j["disabled"].is_boolean() && j["disabled"].get<bool>();
  out.action =
      j.contains("action") && j["action"].is_string() ? j["action"].get<std::string>() : "";
  out.templ =
      j.contains("template") && j["template"].is_string() ? j["template"].get<std::string>() : "";
  out.params = j.contains("params") && j["params"].is_object() ? j["params"] : json::object();
  out.tagSelectors =
      j.contains("tag_selectors") && j["tag_selectors"].is_array() ? j["tag_selectors"] : json();
  out.scopeSelectors = j.contains("scope_selectors") && j["scope_selectors"].is_object()
                           ? j["scope_selectors"]
                           : json();
  if (out.action.empty()) {
    return harborError(400, "BAD_REQUEST", "Action can not be empty");
  }
  if (out.templ.empty()) {
    return harborError(400, "BAD_REQUEST", "Template can not be empty");
  }
  if (out.tagSelectors.is_null() || out.tagSelectors.empty()) {
    return harborError(400, "BAD_REQUEST", "TagSelectors can not be empty");
  }
  if (out.scopeSelectors.is_null() || out.scopeSelectors.empty()) {
    return harborError(400, "BAD_REQUEST", "ScopeSelectors can not be empty");
  }
  for (const json& s : out.tagSelectors) {
    if (auto why = invalidSelector(s)) {
      return harborError(400, "BAD_REQUEST", *why);
    }
  }
  for (const auto& [_, list] : out.scopeSelectors.items()) {
    if (!list.is_array()) {
      return harborError(400, "BAD_REQUEST", "invalid scope selectors");
    }
    for (const json& s : list) {
      if (auto why = invalidSelector(s)) {
        return harborError(400, "BAD_REQUEST", *why);
      }
    }
  }
  return std::nullopt;
}

}  // namespace

HttpResponse immutableApi(State& state, const HttpRequest& req, const Caller& caller,
                          const Project& project, const std::vector<std::string>& segs) {
  // api, v2.0, projects, {p}, immutabletagrules[, {id}]
  const std::string& m = req.method;
  if (segs.size() == 5) {
    if (m == "GET") {
      if (!caller.can(project, "immutable-tag", "list")) {
        return refused(caller);
      }
      Paging paging;
      if (auto bad = readPaging(req, paging)) {
        return *bad;
      }
      auto all = state.immutableRules(project.id);
      json list = json::array();
      for (size_t i = static_cast<size_t>((paging.page - 1) * paging.pageSize);
           i < all.size() && list.size() < static_cast<size_t>(paging.pageSize); ++i) {
        list.push_back(ruleJson(all[i]));
      }
      return {
          200, "application/json", list.dump(), {{"X-Total-Count", std::to_string(all.size())}}};
    }
    if (m != "POST") {
      return harborError(405, "METHOD_NOT_ALLOWED", "method not allowed");
    }
    if (!caller.can(project, "immutable-tag", "create")) {
      return refused(caller);
    }
    ImmutableRule rule;
    if (auto bad = readRule(req.body, rule)) {
      return *bad;
    }
    rule.projectId = project.id;
    auto [status, message] = state.createImmutableRule(rule);
    if (status != 201) {
      return harborError(status, "CONFLICT", message);
    }
    std::string path(req.path());
    while (!path.empty() && path.back() == '/') {
      path.pop_back();
    }
    return {201, "application/json", "", {{"Location", path + "/" + std::to_string(rule.id)}}};
  }
  if (segs.size() != 6) {
    return harborError(404, "NOT_FOUND", "path " + std::string(req.path()) + " was not found");
  }
  int64_t id = 0;
  try {
    size_t used = 0;
    id = std::stoll(segs[5], &used);
    if (used != segs[5].size()) {
      throw std::invalid_argument("id");
    }
  } catch (const std::exception&) {
    return harborError(422, "UNPROCESSABLE_ENTITY",
                       "immutable_rule_id in path must be of type int64: \"" + segs[5] + "\"");
  }
  if (m != "PUT" && m != "DELETE") {
    return harborError(405, "METHOD_NOT_ALLOWED", "method not allowed");
  }
  ImmutableRule body;
  if (m == "PUT") {
    // The handler compares the path's id with the body's before anything else.
    json j = json::parse(req.body, nullptr, false);
    const int64_t bodyId = j.is_object() && j.contains("id") && j["id"].is_number_integer()
                               ? j["id"].get<int64_t>()
                               : 0;
    if (bodyId != id) {
      return harborError(400, "BAD_REQUEST",
                         "the immutable_rule_id doesn't match the id in the payload body of "
                         "ImmutableRule");
    }
  }
  if (!caller.can(project, "immutable-tag", m == "PUT" ? "update" : "delete")) {
    return refused(caller);
  }
  auto existing = state.immutableRule(id);
  if (!existing) {
    return harborError(404, "NOT_FOUND", "immutable rule " + std::to_string(id) + " not found");
  }
  if (existing->projectId != project.id) {
    return harborError(404, "NOT_FOUND",
                       "project id " + std::to_string(project.id) + " does not match");
  }
  if (m == "DELETE") {
    state.deleteImmutableRule(id);
    return {200, "application/json", "", {}};
  }
  if (auto bad = readRule(req.body, body)) {
    return *bad;
  }
  ImmutableRule stored = *existing;
  if (body.disabled != existing->disabled) {
    // The controller toggles and stops there: the rest of the body is not applied.
    stored.disabled = body.disabled;
  } else {
    stored.priority = body.priority;
    stored.action = body.action;
    stored.templ = body.templ;
    stored.params = body.params;
    stored.tagSelectors = body.tagSelectors;
    stored.scopeSelectors = body.scopeSelectors;
  }
  state.putImmutableRule(stored);
  return {200, "application/json", "", {}};
}

}  // namespace harborsim
