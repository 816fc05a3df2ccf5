#include "harbormaster/operator/spec.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <regex>
#include <set>

#include "harbormaster/base/time.h"

namespace hm::op {
namespace {

using nlohmann::json;

// Harbor's project-scope resource:action pairs (common/rbac/const.go, see API-NOTES.md §4).
const std::set<std::string>& projectPermissions() {
  static const std::set<std::string> all = [] {
    std::set<std::string> out;
    const std::map<std::string, std::vector<std::string>> byResource = {
        {"repository", {"read", "update", "delete", "list", "pull", "push"}},
        {"artifact", {"read", "create", "list", "delete"}},
        {"tag", {"create", "list", "delete"}},
        {"scan", {"create", "read", "stop"}},
        {"sbom", {"create", "read", "stop"}},
        {"accessory", {"list"}},
        {"artifact-addition", {"read"}},
        {"artifact-label", {"create", "delete"}},
        {"project", {"read", "update", "delete"}},
        {"metadata", {"read", "create", "update", "delete", "list"}},
        {"label", {"read", "create", "update", "delete", "list"}},
        {"tag-retention", {"read", "create", "update", "delete", "list"}},
        {"notification-policy", {"read", "create", "update", "delete", "list"}},
        {"preheat-policy", {"read", "create", "update", "delete", "list"}},
        {"member", {"create", "read", "update", "list", "delete"}},
        {"immutable-tag", {"create", "update", "delete", "list"}},
        {"robot", {"create", "read", "list", "delete"}},
        {"scanner", {"create", "read"}},
        {"export-cve", {"create", "read"}},
        {"log", {"list"}},
        {"quota", {"read"}}};
    for (const auto& [resource, actions] : byResource) {
      for (const auto& a : actions) {
        out.insert(resource + ":" + a);
      }
    }
    return out;
  }();
  return all;
}

bool harborName(const std::string& s) {
  static const std::regex re("^[a-z0-9]+(?:[._-][a-z0-9]+)*$");
  return !s.empty() && s.size() <= 255 && std::regex_match(s, re);
}

bool robotName(const std::string& s) {
  static const std::regex re("^[a-z0-9]+(?:[_-][a-z0-9]+)*$");
  return !s.empty() && s.size() <= 200 && std::regex_match(s, re);
}

// Reads an optional field of the expected JSON type; a wrong type is an error naming it.
template <typename T>
Status read(const json& parent, const std::string& path, const char* key, T& out) {
  if (!parent.is_object() || !parent.contains(key) || parent[key].is_null()) {
    return okStatus();
  }
  try {
    out = parent[key].get<T>();
  } catch (const json::exception&) {
    return invalidArgument(path + "." + key + " has the wrong type");
  }
  return okStatus();
}

StatusOr<const json*> specOf(const json& object) {
  if (!object.is_object()) {
    return invalidArgument("the object is not a JSON object");
  }
  static const json empty = json::object();
  if (!object.contains("spec")) {
    return &empty;
  }
  if (!object["spec"].is_object()) {
    return invalidArgument("spec must be an object");
  }
  return &object["spec"];
}

StatusOr<DeletionPolicy> deletionPolicy(const json& spec, DeletionPolicy fallback) {
  std::string text;
  if (auto s = read(spec, "spec", "deletionPolicy", text); !s.ok()) {
    return s;
  }
  if (text.empty()) {
    return fallback;
  }
  if (text == "Retain") {
    return DeletionPolicy::kRetain;
  }
  if (text == "Delete") {
    return DeletionPolicy::kDelete;
  }
  return invalidArgument("spec.deletionPolicy must be Retain or Delete, not \"" + text + "\"");
}

StatusOr<LabelSelector> parseSelector(const json& j) {
  LabelSelector sel;
  if (!j.is_object()) {
    return invalidArgument("spec.pullSecret.namespaceSelector must be an object");
  }
  if (auto s = read(j, "spec.pullSecret.namespaceSelector", "matchLabels", sel.matchLabels);
      !s.ok()) {
    return s;
  }
  for (const auto& e : j.value("matchExpressions", json::array())) {
    LabelRequirement r;
    if (!e.is_object()) {
      return invalidArgument("spec.pullSecret.namespaceSelector.matchExpressions: not an object");
    }
    const std::string path = "spec.pullSecret.namespaceSelector.matchExpressions";
    for (Status s : {read(e, path, "key", r.key), read(e, path, "operator", r.op),
                     read(e, path, "values", r.values)}) {
      if (!s.ok()) {
        return s;
      }
    }
    const bool needsValues = r.op == "In" || r.op == "NotIn";
    if (r.key.empty() || (!needsValues && r.op != "Exists" && r.op != "DoesNotExist") ||
        (needsValues && r.values.empty()) || (!needsValues && !r.values.empty())) {
      return invalidArgument(
          "spec.pullSecret.namespaceSelector.matchExpressions: each needs a key and an operator "
          "In/NotIn (with values) or Exists/DoesNotExist (without)");
    }
    sel.matchExpressions.push_back(std::move(r));
  }
  return sel;
}

}  // namespace

bool LabelSelector::matches(const json& labels) const {
  auto value = [&](const std::string& k) -> std::optional<std::string> {
    if (labels.is_object() && labels.contains(k) && labels[k].is_string()) {
      return labels[k].get<std::string>();
    }
    return std::nullopt;
  };
  for (const auto& [k, v] : matchLabels) {
    if (value(k) != v) {
      return false;
    }
  }
  for (const auto& r : matchExpressions) {
    auto v = value(r.key);
    const bool in = v && std::find(r.values.begin(), r.values.end(), *v) != r.values.end();
    if ((r.op == "In" && !in) || (r.op == "NotIn" && in) || (r.op == "Exists" && !v) ||
        (r.op == "DoesNotExist" && v)) {
      return false;
    }
  }
  return true;
}

std::map<std::string, std::string> HarborProjectSpec::harborMetadata() const {
  auto b = [](bool v) { return std::string(v ? "true" : "false"); };
  return {{"public", b(isPublic)},
          {"auto_scan", b(autoScan)},
          {"auto_sbom_generation", b(autoSbomGeneration)},
          {"prevent_vul", b(preventVulnerable)},
          {"severity", severity},
          {"enable_content_trust_cosign", b(cosignRequired)},
          {"reuse_sys_cve_allowlist", b(reuseSystemAllowlist)}};
}

// A decimal the regular expressions above matched; infinite when too large for a double (which
// every caller refuses as out of range). std::stod would throw there (a fuzz finding).
static double decimal(const std::string& digits) {
  errno = 0;
  const double d = std::strtod(digits.c_str(), nullptr);
  return errno == ERANGE ? std::numeric_limits<double>::infinity() : d;
}

StatusOr<int64_t> parseStorageQuantity(const std::string& text) {
  if (text == "unlimited") {
    return -1;
  }
  static const std::regex re("^([0-9]+(?:\\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$");
  std::smatch m;
  if (!std::regex_match(text, m, re)) {
    return invalidArgument("spec.storageQuota \"" + text +
                           "\" is neither a quantity (10Gi, 500M) nor \"unlimited\"");
  }
  static const std::map<std::string, double> scale = {{"", 1},
                                                      {"k", 1e3},
                                                      {"M", 1e6},
                                                      {"G", 1e9},
                                                      {"T", 1e12},
                                                      {"P", 1e15},
                                                      {"E", 1e18},
                                                      {"Ki", 1024.0},
                                                      {"Mi", 1048576.0},
                                                      {"Gi", 1073741824.0},
                                                      {"Ti", 1099511627776.0},
                                                      {"Pi", 1125899906842624.0},
                                                      {"Ei", 1152921504606846976.0}};
  double bytes = decimal(m[1].str()) * scale.at(m[2].str());
  if (bytes < 1 || bytes > 9.2e18) {
    return invalidArgument("spec.storageQuota \"" + text + "\" is out of range");
  }
  return static_cast<int64_t>(std::ceil(bytes));
}

std::optional<WallTime> nextRotation(const RobotAccountSpec& spec,
                                     std::optional<WallTime> expiresAt, WallTime since) {
  std::optional<WallTime> due;
  if (expiresAt) {
    due = *expiresAt - spec.rotateBefore;
  }
  if (spec.rotateEvery) {
    WallTime every = since + *spec.rotateEvery;
    due = due ? std::min(*due, every) : every;
  }
  return due;
}

// metadata.name, or "" when metadata or the name is of another JSON type (json::value() would
// throw: a fuzz finding).
std::string metadataName(const json& object) {
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) {
    return "";
  }
  auto name = meta->find("name");
  return name != meta->end() && name->is_string() ? name->get<std::string>() : "";
}

// Harbor keeps at most this many immutable tag rules a project in its UI; more is a typo.
constexpr size_t kMaxImmutableRules = 15;
constexpr size_t kMaxPatternLength = 256;

// {matches: [patterns]} or {excludes: [patterns]} at `path` → a doublestar selector: Harbor's
// decoration and one pattern ("{a,b}" for several). Absent: everything.
Status readSelector(const json& rule, const std::string& path, const char* key,
                    const std::string& matches, const std::string& excludes,
                    std::string& decoration, std::string& pattern) {
  const std::string at = path + "." + key;
  if (!rule.contains(key) || rule[key].is_null()) {
    decoration = matches;
    pattern = "**";
    return okStatus();
  }
  const json& s = rule[key];
  if (!s.is_object() || s.size() != 1 || (!s.contains("matches") && !s.contains("excludes"))) {
    return invalidArgument(at +
                           " must hold exactly one of matches or excludes, e.g. {matches: "
                           "[\"release-*\"]}");
  }
  const bool match = s.contains("matches");
  const json& list = match ? s["matches"] : s["excludes"];
  const std::string field = at + (match ? ".matches" : ".excludes");
  if (!list.is_array() || list.empty() || list.size() > 32) {
    return invalidArgument(field + " must be a list of 1 to 32 patterns");
  }
  std::vector<std::string> patterns;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string item = field + "[" + std::to_string(i) + "]";
    if (!list[i].is_string() || list[i].get<std::string>().empty() ||
        list[i].get<std::string>().size() > kMaxPatternLength) {
      return invalidArgument(item + " must be a pattern of 1 to " +
                             std::to_string(kMaxPatternLength) + " characters");
    }
    const std::string p = list[i].get<std::string>();
    if (list.size() > 1 && p.find_first_of(",{}") != std::string::npos) {
      // Several patterns become one "{a,b}" for Harbor: a ',' or brace inside would change it.
      return invalidArgument(item + " \"" + p +
                             "\" holds ',', '{' or '}': write it as the only pattern of its list");
    }
    patterns.push_back(p);
  }
  decoration = match ? matches : excludes;
  pattern = patterns.size() == 1 ? patterns[0] : "{";
  if (patterns.size() > 1) {
    for (size_t i = 0; i < patterns.size(); ++i) {
      pattern += (i ? "," : "") + patterns[i];
    }
    pattern += "}";
  }
  return okStatus();
}

StatusOr<std::vector<harbor::ImmutableRule>> parseImmutableTags(const json& list) {
  if (!list.is_array()) {
    return invalidArgument(
        "spec.immutableTags must be a list of rules, e.g. [{tags: {matches: "
        "[\"v*\"]}}]");
  }
  if (list.size() > kMaxImmutableRules) {
    return invalidArgument("spec.immutableTags holds " + std::to_string(list.size()) +
                           " rules; Harbor keeps at most " + std::to_string(kMaxImmutableRules));
  }
  std::vector<harbor::ImmutableRule> out;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = "spec.immutableTags[" + std::to_string(i) + "]";
    const json& r = list[i];
    if (!r.is_object()) {
      return invalidArgument(path + " must be an object with repositories and tags");
    }
    for (const auto& [key, _] : r.items()) {
      if (key != "repositories" && key != "tags") {
        return invalidArgument(path + "." + key + " is not a field (repositories, tags)");
      }
    }
    harbor::ImmutableRule rule;
    HM_RETURN_IF_ERROR(readSelector(r, path, "repositories", "repoMatches", "repoExcludes",
                                    rule.repositoryDecoration, rule.repositoryPattern));
    HM_RETURN_IF_ERROR(
        readSelector(r, path, "tags", "matches", "excludes", rule.tagDecoration, rule.tagPattern));
    for (size_t k = 0; k < out.size(); ++k) {
      if (out[k].sameSelectors(rule)) {
        return invalidArgument(path + " repeats spec.immutableTags[" + std::to_string(k) + "]");
      }
    }
    out.push_back(std::move(rule));
  }
  return out;
}

// Harbor's cron (robfig/cron with seconds): six fields of digits, names and * / , - ?.
bool harborCron(const std::string& cron) {
  if (cron.size() > 128) {
    return false;
  }
  size_t fields = 0;
  bool inField = false;
  for (char c : cron) {
    if (c == ' ') {
      inField = false;
      continue;
    }
    if (!std::isalnum(static_cast<unsigned char>(c)) &&
        std::string_view("*/,-?").find(c) == std::string_view::npos) {
      return false;
    }
    if (!inField) {
      ++fields;
      inField = true;
    }
  }
  return fields == 6;
}

StatusOr<RetentionSpec> parseRetention(const json& r) {
  if (!r.is_object()) {
    return invalidArgument("spec.retention must be an object: {schedule, rules}");
  }
  for (const auto& [key, _] : r.items()) {
    if (key != "schedule" && key != "rules") {
      return invalidArgument("spec.retention." + key + " is not a field (schedule, rules)");
    }
  }
  RetentionSpec out;
  HM_RETURN_IF_ERROR(read(r, "spec.retention", "schedule", out.schedule));
  if (!out.schedule.empty() && !harborCron(out.schedule)) {
    return invalidArgument("spec.retention.schedule \"" + out.schedule +
                           "\" is not Harbor's cron: six fields, seconds first (\"0 0 2 * * *\" "
                           "runs at 02:00 every day)");
  }
  const json rules = r.contains("rules") && !r["rules"].is_null() ? r["rules"] : json::array();
  if (!rules.is_array() || rules.size() > 15) {
    return invalidArgument(
        "spec.retention.rules must be a list of at most 15 rules (Harbor's "
        "limit)");
  }
  static const std::vector<std::pair<std::string, int64_t>> kTemplates = {
      {"latestPushedK", 10'000},
      {"latestPulledN", 10'000},
      {"nDaysSinceLastPush", 36'500},
      {"nDaysSinceLastPull", 36'500}};
  for (size_t i = 0; i < rules.size(); ++i) {
    const std::string path = "spec.retention.rules[" + std::to_string(i) + "]";
    const json& rule = rules[i];
    if (!rule.is_object()) {
      return invalidArgument(path + " must be an object");
    }
    harbor::RetentionRule out_rule;
    std::string chosen;
    for (const auto& item : rule.items()) {
      // Named, not a structured binding: clang 14 (the fuzz build) cannot capture those.
      const std::string& key = item.key();
      const json& value = item.value();
      if (key == "repositories" || key == "tags") {
        continue;
      }
      auto t = std::find_if(kTemplates.begin(), kTemplates.end(),
                            [&key](const auto& x) { return x.first == key; });
      if (t == kTemplates.end() && key != "always") {
        return invalidArgument(path + "." + key +
                               " is not a field (repositories, tags, latestPushedK, "
                               "latestPulledN, nDaysSinceLastPush, nDaysSinceLastPull, always)");
      }
      if (!chosen.empty()) {
        return invalidArgument(path +
                               " must hold exactly one of latestPushedK, latestPulledN, "
                               "nDaysSinceLastPush, nDaysSinceLastPull or always: it holds " +
                               chosen + " and " + key);
      }
      chosen = key;
      if (key == "always") {
        if (!value.is_boolean() || !value.get<bool>()) {
          return invalidArgument(path + ".always must be true");
        }
        out_rule.templ = "always";
        continue;
      }
      if (!value.is_number_integer() || value.get<int64_t>() < 1 ||
          value.get<int64_t>() > t->second) {
        return invalidArgument(path + "." + key + " must be a whole number from 1 to " +
                               std::to_string(t->second));
      }
      out_rule.templ = key;
      out_rule.param = value.get<int64_t>();
    }
    if (chosen.empty()) {
      return invalidArgument(path +
                             " must hold one of latestPushedK, latestPulledN, "
                             "nDaysSinceLastPush, nDaysSinceLastPull or always");
    }
    HM_RETURN_IF_ERROR(readSelector(rule, path, "repositories", "repoMatches", "repoExcludes",
                                    out_rule.repositoryDecoration, out_rule.repositoryPattern));
    HM_RETURN_IF_ERROR(readSelector(rule, path, "tags", "matches", "excludes",
                                    out_rule.tagDecoration, out_rule.tagPattern));
    for (size_t k = 0; k < out.rules.size(); ++k) {
      if (out.rules[k] == out_rule) {
        return invalidArgument(path + " repeats spec.retention.rules[" + std::to_string(k) +
                               "] (Harbor refuses identical rules)");
      }
    }
    out.rules.push_back(std::move(out_rule));
  }
  return out;
}

constexpr size_t kMaxMembers = 256;

StatusOr<std::vector<harbor::MemberSpec>> parseMembers(const json& list) {
  if (!list.is_array()) {
    return invalidArgument(
        "spec.members must be a list, e.g. [{group: platform, type: oidc, role: developer}]");
  }
  if (list.size() > kMaxMembers) {
    return invalidArgument("spec.members holds " + std::to_string(list.size()) +
                           " members; at most " + std::to_string(kMaxMembers));
  }
  static const std::map<std::string, int> groupTypes = {{"ldap", 1}, {"http", 2}, {"oidc", 3}};
  std::vector<harbor::MemberSpec> out;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = "spec.members[" + std::to_string(i) + "]";
    const json& m = list[i];
    if (!m.is_object()) {
      return invalidArgument(path +
                             " must be an object: {user: NAME, role: ROLE} or {group: "
                             "NAME, type: oidc|ldap|http, role: ROLE}");
    }
    for (const auto& [key, _] : m.items()) {
      if (key != "user" && key != "group" && key != "type" && key != "role") {
        return invalidArgument(path + "." + key + " is not a field (user, group, type, role)");
      }
    }
    std::string user, group, type, role;
    for (Status s : {read(m, path, "user", user), read(m, path, "group", group),
                     read(m, path, "type", type), read(m, path, "role", role)}) {
      if (!s.ok()) {
        return s;
      }
    }
    if (user.empty() == group.empty()) {
      return invalidArgument(path + " must name exactly one of user or group");
    }
    harbor::MemberSpec spec;
    spec.group = !group.empty();
    spec.name = spec.group ? group : user;
    if (spec.name.size() > 255) {
      return invalidArgument(path + (spec.group ? ".group" : ".user") +
                             " is longer than 255 characters");
    }
    if (spec.group) {
      auto t = groupTypes.find(type);
      if (t == groupTypes.end()) {
        return invalidArgument(path + ".type must be oidc, ldap or http");
      }
      spec.groupType = t->second;
    } else if (!type.empty()) {
      return invalidArgument(path + ".type is for groups only");
    }
    auto r = harbor::memberRoleId(role);
    if (!r) {
      return invalidArgument(path +
                             ".role must be one of projectAdmin, maintainer, developer, "
                             "guest, limitedGuest");
    }
    spec.role = *r;
    for (size_t k = 0; k < out.size(); ++k) {
      if (out[k].group == spec.group && out[k].name == spec.name) {
        return invalidArgument(path + " names the same " + (spec.group ? "group" : "user") +
                               " as spec.members[" + std::to_string(k) + "]");
      }
    }
    out.push_back(std::move(spec));
  }
  return out;
}

StatusOr<HarborProjectSpec> parseHarborProject(const json& object) {
  auto specOr = specOf(object);
  if (!specOr.ok()) {
    return specOr.status();
  }
  const json& spec = **specOr;
  HarborProjectSpec p;
  p.projectName = metadataName(object);
  std::string quota;
  json prevent = json::object(), allowlist, notifications = json::object();
  bool notify = true;
  for (Status s :
       {read(spec, "spec", "projectName", p.projectName), read(spec, "spec", "public", p.isPublic),
        read(spec, "spec", "autoScan", p.autoScan),
        read(spec, "spec", "autoSbomGeneration", p.autoSbomGeneration),
        read(spec, "spec", "cosignRequired", p.cosignRequired),
        read(spec, "spec", "storageQuota", quota),
        read(spec, "spec", "reuseSystemAllowlist", p.reuseSystemAllowlist),
        read(spec, "spec", "adoptExisting", p.adoptExisting),
        read(spec, "spec", "preventVulnerable", prevent),
        read(spec, "spec", "cveAllowlist", allowlist),
        read(spec, "spec", "notifications", notifications),
        read(notifications, "spec.notifications", "enabled", notify),
        read(prevent, "spec.preventVulnerable", "enabled", p.preventVulnerable),
        read(prevent, "spec.preventVulnerable", "severity", p.severity)}) {
    if (!s.ok()) {
      return s;
    }
  }
  if (!notifications.is_object()) {
    return invalidArgument("spec.notifications must be an object, e.g. {enabled: false}");
  }
  if (notifications.contains("enabled")) {
    p.notifications = notify;
  }
  if (spec.contains("members") && !spec["members"].is_null()) {
    auto members = parseMembers(spec["members"]);
    if (!members.ok()) {
      return members.status();
    }
    p.members = std::move(*members);
  }
  if (spec.contains("retention") && !spec["retention"].is_null()) {
    auto retention = parseRetention(spec["retention"]);
    if (!retention.ok()) {
      return retention.status();
    }
    p.retention = std::move(*retention);
  }
  std::string membersPolicy = "Additive";
  HM_RETURN_IF_ERROR(read(spec, "spec", "membersPolicy", membersPolicy));
  if (membersPolicy != "Additive" && membersPolicy != "Exclusive") {
    return invalidArgument("spec.membersPolicy must be Additive or Exclusive");
  }
  p.exclusiveMembers = membersPolicy == "Exclusive";
  if (spec.contains("immutableTags") && !spec["immutableTags"].is_null()) {
    auto rules = parseImmutableTags(spec["immutableTags"]);
    if (!rules.ok()) {
      return rules.status();
    }
    p.immutableTags = std::move(*rules);
  }
  if (!harborName(p.projectName)) {
    return invalidArgument("spec.projectName \"" + p.projectName +
                           "\" is not a Harbor project name: lower-case letters and digits, "
                           "separated by single '.', '_' or '-', at most 255 characters");
  }
  static const std::set<std::string> severities = {"none", "low", "medium", "high", "critical"};
  if (!severities.count(p.severity)) {
    return invalidArgument(
        "spec.preventVulnerable.severity must be one of none, low, medium, "
        "high, critical");
  }
  if (!quota.empty()) {
    auto bytes = parseStorageQuantity(quota);
    if (!bytes.ok()) {
      return bytes.status();
    }
    p.storageLimitBytes = *bytes;
  }
  if (allowlist.is_object()) {
    harbor::CveAllowlist list;
    std::string expires;
    for (Status s : {read(allowlist, "spec.cveAllowlist", "items", list.items),
                     read(allowlist, "spec.cveAllowlist", "expiresAt", expires)}) {
      if (!s.ok()) {
        return s;
      }
    }
    if (!expires.empty()) {
      auto t = parseRfc3339(expires);
      if (!t.ok()) {
        return invalidArgument("spec.cveAllowlist.expiresAt: " + t.status().message());
      }
      list.expiresAt =
          std::chrono::duration_cast<std::chrono::seconds>(t->time_since_epoch()).count();
    }
    p.cveAllowlist = std::move(list);
  }
  auto policy = deletionPolicy(spec, DeletionPolicy::kRetain);
  if (!policy.ok()) {
    return policy.status();
  }
  p.deletionPolicy = *policy;
  return p;
}

namespace {

StatusOr<std::vector<harbor::RobotAccess>> parsePermissions(const json& list,
                                                            const std::string& path) {
  if (!list.is_array() || list.empty()) {
    return invalidArgument(path + " must be a non-empty list");
  }
  if (list.size() > 64) {
    return invalidArgument(path + " has more than 64 entries");
  }
  std::vector<harbor::RobotAccess> out;
  for (const auto& p : list) {
    harbor::RobotAccess a;
    for (Status s : {read(p, path, "resource", a.resource), read(p, path, "action", a.action)}) {
      if (!s.ok()) {
        return s;
      }
    }
    if (!projectPermissions().count(a.resource + ":" + a.action)) {
      return invalidArgument(path + ": \"" + a.resource + ":" + a.action +
                             "\" is not a Harbor project permission (e.g. repository:pull, "
                             "artifact:read, repository:push)");
    }
    out.push_back(std::move(a));
  }
  return out;
}

// spec.projects of a System robot; an entry without permissions gets spec.permissions.
StatusOr<std::vector<ProjectGrant>> parseGrants(const json& list,
                                                const std::vector<harbor::RobotAccess>& fallback) {
  if (!list.is_array() || list.empty()) {
    return invalidArgument(
        "spec.projects is required for level System: a list of {project, permissions}, "
        "project \"*\" for every project");
  }
  if (list.size() > 100) {
    return invalidArgument("spec.projects has more than 100 entries");
  }
  std::vector<ProjectGrant> out;
  std::set<std::string> seen;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = "spec.projects[" + std::to_string(i) + "]";
    if (!list[i].is_object()) {
      return invalidArgument(path + " must be an object: {project, permissions}");
    }
    ProjectGrant g;
    json permissions;
    for (Status s : {read(list[i], path, "project", g.project),
                     read(list[i], path, "permissions", permissions)}) {
      if (!s.ok()) {
        return s;
      }
    }
    if (g.project != "*" && !harborName(g.project)) {
      return invalidArgument(path + ".project \"" + g.project +
                             "\" is neither a Harbor project name nor \"*\" (every project)");
    }
    if (!seen.insert(g.project).second) {
      return invalidArgument(path + ".project \"" + g.project + "\" is listed twice");
    }
    if (permissions.is_null()) {
      g.permissions = fallback;
    } else {
      auto parsed = parsePermissions(permissions, path + ".permissions");
      if (!parsed.ok()) {
        return parsed.status();
      }
      g.permissions = std::move(*parsed);
    }
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace

StatusOr<RobotAccountSpec> parseRobotAccount(const json& object) {
  auto specOr = specOf(object);
  if (!specOr.ok()) {
    return specOr.status();
  }
  const json& spec = **specOr;
  RobotAccountSpec r;
  r.name = metadataName(object);
  json permissions, duration, pull, projects;
  std::string rotateBefore, rotateEvery, level = "Project";
  for (Status s :
       {read(spec, "spec", "level", level), read(spec, "spec", "projects", projects),
        read(spec, "spec", "project", r.project), read(spec, "spec", "name", r.name),
        read(spec, "spec", "description", r.description),
        read(spec, "spec", "permissions", permissions), read(spec, "spec", "duration", duration),
        read(spec, "spec", "rotateBefore", rotateBefore),
        read(spec, "spec", "rotateEvery", rotateEvery), read(spec, "spec", "pullSecret", pull)}) {
    if (!s.ok()) {
      return s;
    }
  }
  if (level != "Project" && level != "System") {
    return invalidArgument("spec.level must be Project or System");
  }
  r.level = level == "System" ? RobotLevel::kSystem : RobotLevel::kProject;
  if (r.level == RobotLevel::kProject && r.project.empty()) {
    return invalidArgument("spec.project is required: the HarborProject the robot belongs to");
  }
  if (r.level == RobotLevel::kProject && !projects.is_null()) {
    return invalidArgument(
        "spec.projects is for level System (a robot spanning projects); a Project robot "
        "names its HarborProject in spec.project");
  }
  if (r.level == RobotLevel::kSystem && !r.project.empty()) {
    return invalidArgument(
        "spec.project is for level Project; a System robot names its projects in "
        "spec.projects");
  }
  const std::string resourceName = metadataName(object);
  if (resourceName.size() > 63) {
    // It labels the pull secrets (harbormaster.io/robot-account), and label values stop at 63.
    return invalidArgument(
        "metadata.name is longer than 63 characters, the limit of the label "
        "that ties pull secrets to their RobotAccount");
  }
  if (!robotName(r.name)) {
    return invalidArgument("spec.name \"" + r.name +
                           "\" is not a robot name: lower-case letters and digits separated by "
                           "single '_' or '-' (no '.'), at most 200 characters");
  }
  if (permissions.is_null()) {
    r.permissions = {{"repository", "pull"}, {"artifact", "read"}};
  } else {
    auto parsed = parsePermissions(permissions, "spec.permissions");
    if (!parsed.ok()) {
      return parsed.status();
    }
    r.permissions = std::move(*parsed);
  }
  if (r.level == RobotLevel::kSystem) {
    auto grants = parseGrants(projects, r.permissions);
    if (!grants.ok()) {
      return grants.status();
    }
    r.projects = std::move(*grants);
    r.permissions.clear();
  }
  if (duration.is_string() && duration == "Never") {
    r.durationDays = -1;
  } else if (duration.is_number_integer() && duration.get<int64_t>() >= 1 &&
             duration.get<int64_t>() <= 2147483646) {
    r.durationDays = duration.get<int64_t>();
  } else if (!duration.is_null()) {
    return invalidArgument("spec.duration must be a number of days (1 or more) or \"Never\"");
  }
  if (!rotateBefore.empty()) {
    auto d = parseGoDuration(rotateBefore);
    if (!d.ok()) {
      return d.status().withContext("spec.rotateBefore");
    }
    r.rotateBefore = std::chrono::duration_cast<std::chrono::seconds>(*d);
  }
  if (!rotateEvery.empty()) {
    auto d = parseGoDuration(rotateEvery);
    if (!d.ok() || *d < std::chrono::seconds(1)) {
      return invalidArgument("spec.rotateEvery must be a duration of at least 1s, like 720h");
    }
    r.rotateEvery = std::chrono::duration_cast<std::chrono::seconds>(*d);
  }
  if (r.durationDays != -1 && r.rotateBefore >= std::chrono::hours(24) * r.durationDays) {
    return invalidArgument("spec.rotateBefore (" + rotateBefore +
                           ") must be shorter than spec.duration (" +
                           std::to_string(r.durationDays) + " days)");
  }
  if (pull.is_object()) {
    PullSecretSpec ps;
    for (Status s : {read(pull, "spec.pullSecret", "name", ps.name),
                     read(pull, "spec.pullSecret", "namespaces", ps.namespaces),
                     read(pull, "spec.pullSecret", "serviceAccounts", ps.serviceAccounts)}) {
      if (!s.ok()) {
        return s;
      }
    }
    if (ps.name.empty()) {
      return invalidArgument("spec.pullSecret.name is required");
    }
    if (pull.contains("namespaceSelector") && !pull["namespaceSelector"].is_null()) {
      auto sel = parseSelector(pull["namespaceSelector"]);
      if (!sel.ok()) {
        return sel.status();
      }
      ps.namespaceSelector = std::move(*sel);
    }
    r.pullSecret = std::move(ps);
  } else if (!pull.is_null()) {
    return invalidArgument("spec.pullSecret must be an object");
  }
  if (spec.contains("credentialsSecret") && !spec["credentialsSecret"].is_null()) {
    const json& cs = spec["credentialsSecret"];
    if (!cs.is_object()) {
      return invalidArgument("spec.credentialsSecret must be an object: {name, namespace}");
    }
    CredentialsSecretSpec out;
    for (Status s : {read(cs, "spec.credentialsSecret", "name", out.name),
                     read(cs, "spec.credentialsSecret", "namespace", out.nameSpace)}) {
      if (!s.ok()) {
        return s;
      }
    }
    static const std::regex dns1123(
        "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$");
    static const std::regex label("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$");
    if (out.name.empty() || out.name.size() > 253 || !std::regex_match(out.name, dns1123)) {
      return invalidArgument(
          "spec.credentialsSecret.name must be a Secret name (lower-case "
          "DNS subdomain)");
    }
    if (out.nameSpace.empty() || out.nameSpace.size() > 63 ||
        !std::regex_match(out.nameSpace, label)) {
      return invalidArgument("spec.credentialsSecret.namespace must be a namespace name");
    }
    if (r.pullSecret && r.pullSecret->name == out.name) {
      // The pull secret may land in the same namespace: one name would hold two Secrets.
      return invalidArgument("spec.credentialsSecret.name must differ from spec.pullSecret.name");
    }
    r.credentialsSecret = std::move(out);
  }
  auto policy = deletionPolicy(spec, DeletionPolicy::kDelete);
  if (!policy.ok()) {
    return policy.status();
  }
  r.deletionPolicy = *policy;
  return r;
}

}  // namespace hm::op
