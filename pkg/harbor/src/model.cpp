#include <nlohmann/json.hpp>

#include "harbormaster/harbor/model.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include "harbormaster/imageref/reference.h"

namespace hm::harbor {
namespace {

using nlohmann::json;

Status bad(const std::string& what, const std::string& field, const std::string& problem) {
  return invalidArgument("malformed Harbor " + what + ": " + field + " " + problem);
}

// Reads an optional field of the given JSON type; a present value of another type is an error.
template <typename T>
Status read(const json& obj, const char* key, T& out, const std::string& what) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    return okStatus();
  }
  if constexpr (std::is_same_v<T, std::string>) {
    if (!it->is_string()) {
      return bad(what, key, "must be a string");
    }
  } else {
    if (!it->is_number_integer()) {
      return bad(what, key, "must be an integer");
    }
  }
  out = it->get<T>();
  return okStatus();
}

StatusOr<json> parseObject(std::string_view body, const std::string& what) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return invalidArgument("malformed Harbor " + what + ": not a JSON object");
  }
  return j;
}

StatusOr<ScanSummary> readSummary(const json& j) {
  const std::string what = "scan overview";
  if (!j.is_object()) {
    return bad(what, "value", "must be an object");
  }
  ScanSummary s;
  HM_RETURN_IF_ERROR(read(j, "report_id", s.reportId, what));
  HM_RETURN_IF_ERROR(read(j, "scan_status", s.status, what));
  HM_RETURN_IF_ERROR(read(j, "severity", s.severity, what));
  if (auto sum = j.find("summary"); sum != j.end() && !sum->is_null()) {
    if (!sum->is_object()) {
      return bad(what, "summary", "must be an object");
    }
    HM_RETURN_IF_ERROR(read(*sum, "total", s.total, what));
    HM_RETURN_IF_ERROR(read(*sum, "fixable", s.fixable, what));
    if (auto counts = sum->find("summary"); counts != sum->end() && !counts->is_null()) {
      if (!counts->is_object()) {
        return bad(what, "summary.summary", "must be an object");
      }
      for (const auto& [severity, n] : counts->items()) {
        if (!n.is_number_integer() || n.get<int64_t>() < 0) {
          return bad(what, "summary.summary." + severity, "must be a non-negative integer");
        }
        s.counts[severity] = n.get<int64_t>();
      }
    }
  }
  return s;
}

StatusOr<CveAllowlist> readAllowlist(const json& j) {
  const std::string what = "CVE allowlist";
  if (!j.is_object()) {
    return bad(what, "value", "must be an object");
  }
  CveAllowlist list;
  if (auto e = j.find("expires_at"); e != j.end() && !e->is_null()) {
    if (!e->is_number_integer()) {
      return bad(what, "expires_at", "must be an integer");
    }
    list.expiresAt = e->get<int64_t>();
  }
  if (auto items = j.find("items"); items != j.end() && !items->is_null()) {
    if (!items->is_array()) {
      return bad(what, "items", "must be an array");
    }
    for (const auto& item : *items) {
      std::string id;
      if (!item.is_object()) {
        return bad(what, "items[]", "must be an object");
      }
      HM_RETURN_IF_ERROR(read(item, "cve_id", id, what));
      list.items.push_back(std::move(id));
    }
  }
  return list;
}

}  // namespace

StatusOr<CveAllowlist> parseAllowlist(std::string_view body) {
  auto j = parseObject(body, "CVE allowlist");
  if (!j.ok()) {
    return j.status();
  }
  return readAllowlist(*j);
}

StatusOr<SystemInfo> parseSystemInfo(std::string_view body) {
  auto j = parseObject(body, "systeminfo");
  if (!j.ok()) {
    return j.status();
  }
  SystemInfo info;
  HM_RETURN_IF_ERROR(read(*j, "auth_mode", info.authMode, "systeminfo"));
  HM_RETURN_IF_ERROR(read(*j, "harbor_version", info.harborVersion, "systeminfo"));
  HM_RETURN_IF_ERROR(read(*j, "external_url", info.externalUrl, "systeminfo"));
  if (auto ro = j->find("read_only"); ro != j->end() && !ro->is_null()) {
    if (!ro->is_boolean()) {
      return bad("systeminfo", "read_only", "must be a boolean");
    }
    info.readOnly = ro->get<bool>();
  }
  return info;
}

StatusOr<Project> parseProject(std::string_view body) {
  auto j = parseObject(body, "project");
  if (!j.ok()) {
    return j.status();
  }
  Project p;
  HM_RETURN_IF_ERROR(read(*j, "project_id", p.id, "project"));
  HM_RETURN_IF_ERROR(read(*j, "name", p.name, "project"));
  HM_RETURN_IF_ERROR(read(*j, "repo_count", p.repoCount, "project"));
  if (auto meta = j->find("metadata"); meta != j->end() && !meta->is_null()) {
    if (!meta->is_object()) {
      return bad("project", "metadata", "must be an object");
    }
    for (const auto& [k, v] : meta->items()) {
      if (!v.is_string()) {
        return bad("project", "metadata." + k, "must be a string");
      }
      p.metadata[k] = v.get<std::string>();
    }
  }
  if (auto list = j->find("cve_allowlist"); list != j->end() && !list->is_null()) {
    auto allowlist = readAllowlist(*list);
    if (!allowlist.ok()) {
      return allowlist.status();
    }
    p.allowlist = std::move(*allowlist);
  }
  if (p.name.empty()) {
    return bad("project", "name", "is required");
  }
  return p;
}

namespace {

StatusOr<Robot> readRobot(const json& j) {
  if (!j.is_object()) {
    return bad("robot", "value", "must be an object");
  }
  Robot r;
  HM_RETURN_IF_ERROR(read(j, "id", r.id, "robot"));
  HM_RETURN_IF_ERROR(read(j, "name", r.name, "robot"));
  HM_RETURN_IF_ERROR(read(j, "description", r.description, "robot"));
  HM_RETURN_IF_ERROR(read(j, "level", r.level, "robot"));
  HM_RETURN_IF_ERROR(read(j, "duration", r.durationDays, "robot"));
  HM_RETURN_IF_ERROR(read(j, "expires_at", r.expiresAt, "robot"));
  if (auto d = j.find("disable"); d != j.end() && !d->is_null()) {
    if (!d->is_boolean()) {
      return bad("robot", "disable", "must be a boolean");
    }
    r.disabled = d->get<bool>();
  }
  if (auto perms = j.find("permissions"); perms != j.end() && !perms->is_null()) {
    if (!perms->is_array()) {
      return bad("robot", "permissions", "must be an array");
    }
    for (const auto& p : *perms) {
      if (!p.is_object()) {
        return bad("robot", "permissions[]", "must be an object");
      }
      RobotPermission perm;
      HM_RETURN_IF_ERROR(read(p, "kind", perm.kind, "robot"));
      HM_RETURN_IF_ERROR(read(p, "namespace", perm.nameSpace, "robot"));
      if (auto acc = p.find("access"); acc != p.end() && acc->is_array()) {
        for (const auto& a : *acc) {
          RobotAccess x;
          if (a.is_object()) {
            HM_RETURN_IF_ERROR(read(a, "resource", x.resource, "robot"));
            HM_RETURN_IF_ERROR(read(a, "action", x.action, "robot"));
          }
          perm.access.push_back(std::move(x));
        }
      }
      r.permissions.push_back(std::move(perm));
    }
  }
  if (r.id == 0 || r.name.empty()) {
    return bad("robot", "id/name", "are required");
  }
  return r;
}

}  // namespace

StatusOr<Robot> parseRobot(std::string_view body) {
  auto j = parseObject(body, "robot");
  if (!j.ok()) {
    return j.status();
  }
  return readRobot(*j);
}

StatusOr<Quota> parseQuotaList(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_array()) {
    return invalidArgument("malformed Harbor quota list: not a JSON array");
  }
  if (j.empty()) {
    return notFound("Harbor has no quota for the project");
  }
  const json& q = j[0];
  if (!q.is_object()) {
    return bad("quota", "value", "must be an object");
  }
  Quota out;
  HM_RETURN_IF_ERROR(read(q, "id", out.id, "quota"));
  for (auto [key, target] :
       {std::pair<const char*, int64_t*>{"hard", &out.hardStorage}, {"used", &out.usedStorage}}) {
    if (auto list = q.find(key); list != q.end() && list->is_object()) {
      HM_RETURN_IF_ERROR(read(*list, "storage", *target, "quota"));
    }
  }
  return out;
}

StatusOr<std::vector<Robot>> parseRobotList(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_array()) {
    return invalidArgument("malformed Harbor robot list: not a JSON array");
  }
  std::vector<Robot> out;
  for (const auto& item : j) {
    auto r = readRobot(item);
    if (!r.ok()) {
      return r.status();
    }
    out.push_back(std::move(*r));
  }
  return out;
}

namespace {

Status readBool(const json& obj, const char* key, bool& out, const std::string& what) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    return okStatus();
  }
  if (!it->is_boolean()) {
    return bad(what, key, "must be a boolean");
  }
  out = it->get<bool>();
  return okStatus();
}

StatusOr<WebhookPolicy> readWebhookPolicy(const json& j) {
  const std::string what = "webhook policy";
  if (!j.is_object()) {
    return invalidArgument("malformed Harbor " + what + ": not a JSON object");
  }
  WebhookPolicy p;
  p.enabled = false;  // Harbor shows it always; absent would mean its zero value
  HM_RETURN_IF_ERROR(read(j, "id", p.id, what));
  HM_RETURN_IF_ERROR(read(j, "name", p.name, what));
  HM_RETURN_IF_ERROR(read(j, "description", p.description, what));
  HM_RETURN_IF_ERROR(readBool(j, "enabled", p.enabled, what));
  if (j.contains("event_types") && j["event_types"].is_array()) {
    for (const auto& e : j["event_types"]) {
      if (!e.is_string()) {
        return bad(what, "event_types", "must hold strings");
      }
      p.eventTypes.push_back(e.get<std::string>());
    }
  }
  if (j.contains("targets") && j["targets"].is_array()) {
    for (const auto& t : j["targets"]) {
      if (!t.is_object()) {
        return bad(what, "targets", "must hold objects");
      }
      WebhookTarget target;
      target.payloadFormat.clear();
      HM_RETURN_IF_ERROR(read(t, "type", target.type, what));
      HM_RETURN_IF_ERROR(read(t, "address", target.address, what));
      HM_RETURN_IF_ERROR(read(t, "auth_header", target.authHeader, what));
      HM_RETURN_IF_ERROR(readBool(t, "skip_cert_verify", target.skipCertVerify, what));
      HM_RETURN_IF_ERROR(read(t, "payload_format", target.payloadFormat, what));
      p.targets.push_back(std::move(target));
    }
  }
  return p;
}

}  // namespace

StatusOr<std::vector<WebhookPolicy>> parseWebhookPolicyList(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_null()) {
    return std::vector<WebhookPolicy>{};  // go-swagger writes a nil slice as null
  }
  if (j.is_discarded() || !j.is_array()) {
    return invalidArgument("malformed Harbor webhook policy list: not a JSON array");
  }
  std::vector<WebhookPolicy> out;
  for (const auto& item : j) {
    auto p = readWebhookPolicy(item);
    if (!p.ok()) {
      return p.status();
    }
    out.push_back(std::move(*p));
  }
  return out;
}

std::string webhookPolicyJson(const WebhookPolicy& policy) {
  json targets = json::array();
  for (const auto& t : policy.targets) {
    targets.push_back({{"type", t.type},
                       {"address", t.address},
                       {"auth_header", t.authHeader},
                       {"skip_cert_verify", t.skipCertVerify},
                       {"payload_format", t.payloadFormat}});
  }
  return json{{"name", policy.name},
              {"description", policy.description},
              {"enabled", policy.enabled},
              {"event_types", policy.eventTypes},
              {"targets", targets}}
      .dump();
}

bool ImmutableRule::sameSelectors(const ImmutableRule& o) const {
  return !unmodelled && !o.unmodelled && repositoryDecoration == o.repositoryDecoration &&
         repositoryPattern == o.repositoryPattern && tagDecoration == o.tagDecoration &&
         tagPattern == o.tagPattern;
}

std::string ImmutableRule::describe() const {
  if (unmodelled) {
    return "rule " + std::to_string(id) + " (selectors Harbormaster does not declare)";
  }
  auto verb = [](const std::string& decoration) {
    return decoration.find("xcludes") != std::string::npos ? "excluding" : "matching";
  };
  return "tags " + std::string(verb(tagDecoration)) + " " + tagPattern + " in repositories " +
         verb(repositoryDecoration) + " " + repositoryPattern;
}

namespace {

// One doublestar selector {kind, decoration, pattern}; false when it is another kind.
bool readSelector(const json& s, std::string& decoration, std::string& pattern) {
  if (!s.is_object() || !s.contains("kind") || s["kind"] != "doublestar") {
    return false;
  }
  auto text = [&](const char* key) {
    auto it = s.find(key);
    return it != s.end() && it->is_string() ? it->get<std::string>() : "";
  };
  decoration = text("decoration");
  pattern = text("pattern");
  return !decoration.empty() && !pattern.empty();
}

StatusOr<ImmutableRule> readImmutableRule(const json& j) {
  const std::string what = "immutable tag rule";
  if (!j.is_object()) {
    return invalidArgument("malformed Harbor " + what + ": not a JSON object");
  }
  ImmutableRule r;
  HM_RETURN_IF_ERROR(read(j, "id", r.id, what));
  HM_RETURN_IF_ERROR(readBool(j, "disabled", r.disabled, what));
  const json tags = j.contains("tag_selectors") ? j["tag_selectors"] : json();
  const json scopes = j.contains("scope_selectors") ? j["scope_selectors"] : json();
  const bool oneTag = tags.is_array() && tags.size() == 1;
  const bool oneRepository = scopes.is_object() && scopes.size() == 1 &&
                             scopes.contains("repository") && scopes["repository"].is_array() &&
                             scopes["repository"].size() == 1;
  r.unmodelled =
      !oneTag || !oneRepository || !readSelector(tags[0], r.tagDecoration, r.tagPattern) ||
      !readSelector(scopes["repository"][0], r.repositoryDecoration, r.repositoryPattern) ||
      !j.contains("action") || j["action"] != "immutable";
  return r;
}

}  // namespace

StatusOr<std::vector<ImmutableRule>> parseImmutableRuleList(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_null()) {
    return std::vector<ImmutableRule>{};  // go-swagger writes a nil slice as null
  }
  if (j.is_discarded() || !j.is_array()) {
    return invalidArgument("malformed Harbor immutable tag rule list: not a JSON array");
  }
  std::vector<ImmutableRule> out;
  for (const auto& item : j) {
    auto r = readImmutableRule(item);
    if (!r.ok()) {
      return r.status();
    }
    out.push_back(std::move(*r));
  }
  return out;
}

std::string RetentionRule::describe() const {
  if (unmodelled) {
    return "a rule Harbormaster does not declare";
  }
  auto verb = [](const std::string& decoration) {
    return decoration.find("xcludes") != std::string::npos ? "excluding" : "matching";
  };
  std::string keep;
  const std::string n = std::to_string(param);
  if (templ == "latestPushedK") {
    keep = "the " + n + " most recently pushed";
  } else if (templ == "latestPulledN") {
    keep = "the " + n + " most recently pulled";
  } else if (templ == "nDaysSinceLastPush") {
    keep = "those pushed within " + n + " days";
  } else if (templ == "nDaysSinceLastPull") {
    keep = "those pulled within " + n + " days";
  } else {
    keep = "all";
  }
  return "keep " + keep + " of tags " + verb(tagDecoration) + " " + tagPattern +
         " in repositories " + verb(repositoryDecoration) + " " + repositoryPattern +
         (disabled ? " (disabled)" : "");
}

StatusOr<RetentionPolicy> parseRetentionPolicy(std::string_view body) {
  auto j = parseObject(body, "retention policy");
  if (!j.ok()) {
    return j.status();
  }
  const std::string what = "retention policy";
  RetentionPolicy p;
  HM_RETURN_IF_ERROR(read(*j, "id", p.id, what));
  const json scope = j->contains("scope") && (*j)["scope"].is_object() ? (*j)["scope"] : json();
  if (scope.is_object()) {
    HM_RETURN_IF_ERROR(read(scope, "ref", p.projectId, what));
  }
  const json trigger =
      j->contains("trigger") && (*j)["trigger"].is_object() ? (*j)["trigger"] : json();
  const std::string kind =
      trigger.is_object() && trigger.contains("kind") && trigger["kind"].is_string()
          ? trigger["kind"].get<std::string>()
          : "";
  if (kind == "Schedule" && trigger.contains("settings") && trigger["settings"].is_object() &&
      trigger["settings"].contains("cron") && trigger["settings"]["cron"].is_string()) {
    p.cron = trigger["settings"]["cron"].get<std::string>();
  }
  p.unmodelled = !j->contains("algorithm") || (*j)["algorithm"] != "or" ||
                 (kind != "Schedule" && !kind.empty());
  if (j->contains("rules") && (*j)["rules"].is_array()) {
    for (const json& r : (*j)["rules"]) {
      if (!r.is_object()) {
        return invalidArgument("malformed Harbor retention rule: not a JSON object");
      }
      RetentionRule rule;
      HM_RETURN_IF_ERROR(readBool(r, "disabled", rule.disabled, what));
      HM_RETURN_IF_ERROR(read(r, "template", rule.templ, what));
      const json tags = r.contains("tag_selectors") ? r["tag_selectors"] : json();
      const json scopes = r.contains("scope_selectors") ? r["scope_selectors"] : json();
      const json params = r.contains("params") ? r["params"] : json();
      const bool oneTag = tags.is_array() && tags.size() == 1;
      const bool oneRepository = scopes.is_object() && scopes.size() == 1 &&
                                 scopes.contains("repository") && scopes["repository"].is_array() &&
                                 scopes["repository"].size() == 1;
      rule.unmodelled = !oneTag || !oneRepository ||
                        !readSelector(tags[0], rule.tagDecoration, rule.tagPattern) ||
                        !readSelector(scopes["repository"][0], rule.repositoryDecoration,
                                      rule.repositoryPattern) ||
                        !r.contains("action") || r["action"] != "retain";
      if (oneTag && tags[0].is_object() && tags[0].contains("extras") &&
          tags[0]["extras"].is_string()) {
        const json extras = json::parse(tags[0]["extras"].get<std::string>(), nullptr, false);
        rule.untagged =
            extras.is_object() && extras.contains("untagged") && extras["untagged"] == true;
      } else {
        rule.untagged = false;
      }
      if (rule.templ != "always") {
        // An integer as Harbor stores it; a float within range counts, anything else (a
        // hostile 1e300) is a rule we do not model, never an out-of-range cast.
        const json value =
            params.is_object() && params.contains(rule.templ) ? params[rule.templ] : json();
        if (value.is_number_integer()) {
          rule.param = value.get<int64_t>();
        } else if (value.is_number_float() && std::abs(value.get<double>()) < 1e15) {
          rule.param = static_cast<int64_t>(value.get<double>());
        } else {
          rule.unmodelled = true;
        }
      }
      p.rules.push_back(std::move(rule));
    }
  }
  return p;
}

std::string retentionPolicyJson(const RetentionPolicy& policy) {
  json rules = json::array();
  for (const RetentionRule& r : policy.rules) {
    json params = json::object();
    if (r.templ != "always") {
      params[r.templ] = r.param;
    }
    rules.push_back(
        {{"disabled", r.disabled},
         {"action", "retain"},
         {"template", r.templ},
         {"params", params},
         {"tag_selectors", json::array({{{"kind", "doublestar"},
                                         {"decoration", r.tagDecoration},
                                         {"pattern", r.tagPattern},
                                         {"extras", json{{"untagged", r.untagged}}.dump()}}})},
         {"scope_selectors",
          {{"repository", json::array({{{"kind", "doublestar"},
                                        {"decoration", r.repositoryDecoration},
                                        {"pattern", r.repositoryPattern}}})}}}});
  }
  json body = {{"algorithm", "or"},
               {"rules", rules},
               {"trigger",
                {{"kind", "Schedule"},
                 {"settings", {{"cron", policy.cron}}},
                 {"references", json::object()}}},
               {"scope", {{"level", "project"}, {"ref", policy.projectId}}}};
  if (policy.id != 0) {
    body["id"] = policy.id;
  }
  return body.dump();
}

StatusOr<std::vector<ProjectMember>> parseMemberList(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_null()) {
    return std::vector<ProjectMember>{};
  }
  if (j.is_discarded() || !j.is_array()) {
    return invalidArgument("malformed Harbor project member list: not a JSON array");
  }
  std::vector<ProjectMember> out;
  const std::string what = "project member";
  for (const auto& item : j) {
    if (!item.is_object()) {
      return invalidArgument("malformed Harbor " + what + ": not a JSON object");
    }
    ProjectMember m;
    std::string type;
    int64_t role = 0;
    HM_RETURN_IF_ERROR(read(item, "id", m.id, what));
    HM_RETURN_IF_ERROR(read(item, "entity_name", m.name, what));
    HM_RETURN_IF_ERROR(read(item, "entity_type", type, what));
    HM_RETURN_IF_ERROR(read(item, "role_id", role, what));
    m.group = type == "g";
    m.role = static_cast<int>(role);
    out.push_back(std::move(m));
  }
  return out;
}

std::string memberJson(const MemberSpec& member) {
  json body = {{"role_id", member.role}};
  if (member.group) {
    body["member_group"] = {{"group_name", member.name}, {"group_type", member.groupType}};
  } else {
    body["member_user"] = {{"username", member.name}};
  }
  return body.dump();
}

std::string immutableRuleJson(const ImmutableRule& rule) {
  // What Harbor's UI sends: one doublestar selector each, the template the UI names.
  json body = {{"disabled", rule.disabled},
               {"action", "immutable"},
               {"template", "immutable_template"},
               {"priority", 0},
               {"tag_selectors", json::array({{{"kind", "doublestar"},
                                               {"decoration", rule.tagDecoration},
                                               {"pattern", rule.tagPattern}}})},
               {"scope_selectors",
                {{"repository", json::array({{{"kind", "doublestar"},
                                              {"decoration", rule.repositoryDecoration},
                                              {"pattern", rule.repositoryPattern}}})}}}};
  if (rule.id != 0) {
    body["id"] = rule.id;
  }
  return body.dump();
}

StatusOr<Artifact> parseArtifact(std::string_view body) {
  auto j = parseObject(body, "artifact");
  if (!j.ok()) {
    return j.status();
  }
  Artifact a;
  HM_RETURN_IF_ERROR(read(*j, "id", a.id, "artifact"));
  HM_RETURN_IF_ERROR(read(*j, "digest", a.digest, "artifact"));
  HM_RETURN_IF_ERROR(read(*j, "manifest_media_type", a.mediaType, "artifact"));
  HM_RETURN_IF_ERROR(read(*j, "repository_name", a.repository, "artifact"));
  if (a.digest.empty()) {
    return bad("artifact", "digest", "is required");
  }
  if (auto tags = j->find("tags"); tags != j->end() && !tags->is_null()) {
    if (!tags->is_array()) {
      return bad("artifact", "tags", "must be an array");
    }
    for (const auto& t : *tags) {
      if (t.is_object() && t.contains("name") && t["name"].is_string()) {
        a.tags.push_back(t["name"].get<std::string>());
      }
    }
  }
  if (auto overview = j->find("scan_overview"); overview != j->end() && !overview->is_null()) {
    if (!overview->is_object()) {
      return bad("artifact", "scan_overview", "must be an object");
    }
    for (std::string_view type : {kReportV11, kReportV10}) {
      if (auto r = overview->find(std::string(type)); r != overview->end()) {
        auto s = readSummary(*r);
        if (!s.ok()) {
          return s.status();
        }
        a.scan = std::move(*s);
        break;
      }
    }
  }
  if (auto refs = j->find("references"); refs != j->end() && !refs->is_null()) {
    if (!refs->is_array()) {
      return bad("artifact", "references", "must be an array");
    }
    for (const auto& r : *refs) {
      std::string child;
      if (!r.is_object()) {
        return bad("artifact", "references[]", "must be an object");
      }
      HM_RETURN_IF_ERROR(read(r, "child_digest", child, "artifact reference"));
      a.children.push_back(std::move(child));
      std::string os, arch;
      if (auto pl = r.find("platform"); pl != r.end() && pl->is_object()) {
        HM_RETURN_IF_ERROR(read(*pl, "os", os, "artifact reference platform"));
        HM_RETURN_IF_ERROR(read(*pl, "architecture", arch, "artifact reference platform"));
      }
      a.childPlatforms.push_back(os.empty() && arch.empty() ? "" : os + "/" + arch);
    }
  }
  if (auto links = j->find("addition_links"); links != j->end() && links->is_object()) {
    a.scannable = links->contains("vulnerabilities");
  }
  if (auto acc = j->find("accessories"); acc != j->end() && !acc->is_null()) {
    if (!acc->is_array()) {
      return bad("artifact", "accessories", "must be an array");
    }
    for (const auto& item : *acc) {
      if (!item.is_object()) {
        return bad("artifact", "accessories[]", "must be an object");
      }
      Accessory x;
      HM_RETURN_IF_ERROR(read(item, "type", x.type, "accessory"));
      HM_RETURN_IF_ERROR(read(item, "digest", x.digest, "accessory"));
      HM_RETURN_IF_ERROR(read(item, "subject_artifact_digest", x.subjectDigest, "accessory"));
      a.accessories.push_back(std::move(x));
    }
  }
  return a;
}

StatusOr<std::optional<VulnerabilityReport>> parseVulnerabilities(std::string_view body) {
  auto j = parseObject(body, "vulnerability report");
  if (!j.ok()) {
    return j.status();
  }
  for (std::string_view type : {kReportV11, kReportV10}) {
    auto it = j->find(std::string(type));
    if (it == j->end()) {
      continue;
    }
    const std::string what = "vulnerability report";
    if (!it->is_object()) {
      return bad(what, "report", "must be an object");
    }
    VulnerabilityReport r;
    HM_RETURN_IF_ERROR(read(*it, "severity", r.severity, what));
    auto list = it->find("vulnerabilities");
    if (list != it->end() && !list->is_null()) {
      if (!list->is_array()) {
        return bad(what, "vulnerabilities", "must be an array");
      }
      for (const auto& v : *list) {
        if (!v.is_object()) {
          return bad(what, "vulnerabilities[]", "must be an object");
        }
        Vulnerability x;
        HM_RETURN_IF_ERROR(read(v, "id", x.id, what));
        HM_RETURN_IF_ERROR(read(v, "package", x.package, what));
        HM_RETURN_IF_ERROR(read(v, "version", x.version, what));
        HM_RETURN_IF_ERROR(read(v, "fix_version", x.fixVersion, what));
        HM_RETURN_IF_ERROR(read(v, "severity", x.severity, what));
        r.vulnerabilities.push_back(std::move(x));
      }
    }
    return std::optional<VulnerabilityReport>(std::move(r));
  }
  return std::optional<VulnerabilityReport>();
}

std::map<std::string, std::string> linkRelations(std::string_view header) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while ((pos = header.find('<', pos)) != std::string_view::npos) {
    size_t close = header.find('>', pos);
    if (close == std::string_view::npos) {
      break;
    }
    std::string target(header.substr(pos + 1, close - pos - 1));
    size_t next = header.find('<', close);
    std::string_view params = header.substr(
        close + 1, next == std::string_view::npos ? std::string_view::npos : next - close - 1);
    // rel=next, rel="next" or rel="next prev" (space-separated relation types).
    size_t rel = params.find("rel=");
    if (rel != std::string_view::npos) {
      std::string_view value = params.substr(rel + 4);
      bool quoted = !value.empty() && value.front() == '"';
      if (quoted) {
        value.remove_prefix(1);
      }
      size_t end = value.find_first_of(quoted ? "\"" : " ;,");
      value = value.substr(0, end);
      size_t start = 0;
      while (start < value.size()) {
        size_t space = value.find(' ', start);
        std::string name(
            value.substr(start, space == std::string_view::npos ? space : space - start));
        if (!name.empty()) {
          out.emplace(name, target);
        }
        if (space == std::string_view::npos) {
          break;
        }
        start = space + 1;
      }
    }
    pos = close + 1;
  }
  return out;
}

std::pair<std::string, std::string> harborError(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("errors") && j["errors"].is_array() && !j["errors"].empty() &&
      j["errors"][0].is_object()) {
    const json& e = j["errors"][0];
    std::string code =
        e.contains("code") && e["code"].is_string() ? e["code"].get<std::string>() : "";
    std::string msg =
        e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>() : "";
    return {code.substr(0, 64), msg.substr(0, 300)};
  }
  return {"", ""};
}

namespace {

// A tag as the distribution spec allows it, and a repository path as Harbor names them: what a
// notification names is checked before a cache key is built from it.
bool plausibleTag(const std::string& tag) {
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  return !tag.empty() && tag.size() <= 128 && word(tag[0]) &&
         std::all_of(tag.begin(), tag.end(),
                     [&](char c) { return word(c) || c == '.' || c == '-'; });
}
// project/repository: lower-case letters, digits and separators, at least one '/'.
bool plausibleRepository(const std::string& repo) {
  return !repo.empty() && repo.size() <= 255 && repo.find('/') != std::string::npos &&
         repo.front() != '/' && repo.back() != '/' && repo.find("//") == std::string::npos &&
         std::all_of(repo.begin(), repo.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                  c == '-' || c == '/';
         });
}

}  // namespace

StatusOr<Invalidation> invalidationOf(std::string_view body) {
  json j = json::parse(body, nullptr, false, /*ignore_comments=*/false);
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) {
    return invalidArgument("not a Harbor event: a JSON object with a string \"type\" is expected");
  }
  const std::string type = j["type"].get<std::string>();
  // CloudEvents carry event_data as "data" and dotted type names.
  const bool cloudEvent = j.contains("specversion");
  static const std::set<std::string> relevant = {
      "SCANNING_COMPLETED",     "SCANNING_FAILED",     "SCANNING_STOPPED",
      "PUSH_ARTIFACT",          "DELETE_ARTIFACT",     "harbor.scan.completed",
      "harbor.scan.failed",     "harbor.scan.stopped", "harbor.artifact.pushed",
      "harbor.artifact.deleted"};
  static const std::set<std::string> movesTags = {
      "PUSH_ARTIFACT", "DELETE_ARTIFACT", "harbor.artifact.pushed", "harbor.artifact.deleted"};
  if (!relevant.count(type)) {
    return Invalidation{};
  }
  const char* dataKey = cloudEvent ? "data" : "event_data";
  if (!j.contains(dataKey) || !j[dataKey].is_object() || !j[dataKey].contains("resources") ||
      !j[dataKey]["resources"].is_array()) {
    return invalidArgument(std::string("Harbor event ") + type + " has no " + dataKey +
                           ".resources list");
  }
  const json& data = j[dataKey];
  std::string repository;
  if (data.contains("repository") && data["repository"].is_object() &&
      data["repository"].contains("repo_full_name") &&
      data["repository"]["repo_full_name"].is_string()) {
    repository = data["repository"]["repo_full_name"].get<std::string>();
  }
  Invalidation out;
  for (const auto& r : data["resources"]) {
    if (!r.is_object()) {
      continue;
    }
    if (r.contains("digest") && r["digest"].is_string() &&
        imageref::validateDigest(r["digest"].get<std::string>()).ok()) {
      out.digests.push_back(r["digest"].get<std::string>());
    }
    // After a push by digest Harbor puts the digest in "tag": no tag moved.
    if (movesTags.count(type) && r.contains("tag") && r["tag"].is_string() &&
        plausibleTag(r["tag"].get<std::string>()) && plausibleRepository(repository)) {
      out.tags.push_back(repository + ":" + r["tag"].get<std::string>());
    }
  }
  return out;
}

namespace {

constexpr std::pair<int, std::string_view> kMemberRoles[] = {
    {1, "projectAdmin"}, {2, "developer"}, {3, "guest"}, {4, "maintainer"}, {5, "limitedGuest"}};

}  // namespace

std::optional<int> memberRoleId(std::string_view name) {
  for (const auto& [id, roleName] : kMemberRoles) {
    if (roleName == name) {
      return id;
    }
  }
  return std::nullopt;
}

std::string memberRoleName(int role) {
  for (const auto& [id, roleName] : kMemberRoles) {
    if (id == role) {
      return std::string(roleName);
    }
  }
  return "role " + std::to_string(role);
}

}  // namespace hm::harbor
