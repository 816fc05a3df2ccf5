#include "state.h"

#include <algorithm>
#include <regex>

#include "harbormaster/base/encoding.h"
#include "harbormaster/base/time.h"

namespace harborsim {

using nlohmann::json;

namespace {

constexpr const char* kReportType = "application/vnd.security.vulnerability.report; version=1.1";

std::string now() {
  return hm::formatRfc3339(std::chrono::system_clock::now(), true);
}

std::string encodeTwice(const std::string& s) {
  std::string out;
  for (char c : s) {
    out += c == '/' ? std::string("%252F") : std::string(1, c);
  }
  return out;
}

}  // namespace

int severityCode(const std::string& s) {
  static const std::map<std::string, int> codes = {
      {"None", 0},   {"Unknown", 0}, {"Negligible", 1}, {"Low", 2},
      {"Medium", 3}, {"High", 4},    {"Critical", 5}};
  auto it = codes.find(s);
  return it == codes.end() ? 99 : it->second;
}

std::pair<int, std::string> State::createProject(const std::string& name,
                                                 std::map<std::string, std::string> metadata,
                                                 int64_t& id) {
  static const std::regex rule("^[a-z0-9]+(?:[._-][a-z0-9]+)*$");
  if (name.empty() || name.size() > 255 || !std::regex_match(name, rule)) {
    return {400, "project name is not in lower case or contains illegal characters"};
  }
  std::lock_guard lock(mu_);
  if (projects_.count(name)) {
    return {409, "The project named " + name + " already exists"};
  }
  if (!metadata.count("public")) {
    metadata["public"] = "false";
  }
  Project p;
  p.id = nextId_++;
  p.name = name;
  p.metadata = std::move(metadata);
  p.created = now();
  p.allowlist.id = p.id + 1000;  // Harbor creates an empty list with every project
  p.allowlist.projectId = p.id;
  id = p.id;
  projects_[name] = std::move(p);
  return {201, ""};
}

std::optional<Project> State::project(const std::string& nameOrId, bool byName) const {
  std::lock_guard lock(mu_);
  if (!byName && !nameOrId.empty() &&
      std::all_of(nameOrId.begin(), nameOrId.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    for (const auto& [_, p] : projects_) {
      if (std::to_string(p.id) == nameOrId) {
        return p;
      }
    }
    return std::nullopt;
  }
  auto it = projects_.find(nameOrId);
  return it == projects_.end() ? std::nullopt : std::optional<Project>(it->second);
}

std::vector<Project> State::projects() const {
  std::lock_guard lock(mu_);
  std::vector<Project> out;
  for (const auto& [name, p] : projects_) {
    out.push_back(p);
  }
  return out;
}

bool State::projectHasRepositories(const std::string& name) const {
  std::lock_guard lock(mu_);
  return std::any_of(artifacts_.begin(), artifacts_.end(), [&](const auto& kv) {
    return kv.second.repository.rfind(name + "/", 0) == 0;
  });
}

bool State::deleteRepository(const std::string& repository) {
  std::lock_guard lock(mu_);
  bool found = false;
  for (auto it = artifacts_.begin(); it != artifacts_.end();) {
    if (it->second.repository == repository) {
      it = artifacts_.erase(it);
      found = true;
    } else {
      ++it;
    }
  }
  return found;
}

bool State::deleteProject(const std::string& name) {
  std::lock_guard lock(mu_);
  return projects_.erase(name) > 0;
}

bool State::updateProject(const std::string& name, const std::function<void(Project&)>& change) {
  std::lock_guard lock(mu_);
  auto it = projects_.find(name);
  if (it == projects_.end()) {
    return false;
  }
  change(it->second);
  return true;
}

int Project::roleOf(const std::string& user) const {
  for (const Member& m : members) {
    if (m.entityType == "u" && m.name == user) {
      return m.role;
    }
  }
  return 0;
}

std::pair<int, std::string> State::createGroup(UserGroup& group) {
  std::lock_guard lock(mu_);
  for (const auto& [_, g] : groups_) {
    if (g.name == group.name && g.type == group.type) {
      return {409, "group " + group.name + " already exists"};
    }
  }
  group.id = nextId_++;
  groups_[group.id] = group;
  return {201, ""};
}

std::optional<UserGroup> State::group(const std::string& name, int type) const {
  std::lock_guard lock(mu_);
  for (const auto& [_, g] : groups_) {
    if (g.name == name && (type == 0 || g.type == type)) {
      return g;
    }
  }
  return std::nullopt;
}

std::optional<UserGroup> State::groupById(int64_t id) const {
  std::lock_guard lock(mu_);
  auto it = groups_.find(id);
  return it == groups_.end() ? std::nullopt : std::optional<UserGroup>(it->second);
}

std::vector<UserGroup> State::groups() const {
  std::lock_guard lock(mu_);
  std::vector<UserGroup> out;
  for (const auto& [_, g] : groups_) {
    out.push_back(g);
  }
  return out;
}

CveAllowlist State::systemAllowlist() const {
  std::lock_guard lock(mu_);
  return systemAllowlist_;
}

void State::setSystemAllowlist(CveAllowlist list) {
  std::lock_guard lock(mu_);
  list.id = 1;
  list.projectId = 0;
  systemAllowlist_ = std::move(list);
}

std::pair<int, std::string> State::createUser(User& user) {
  static const std::regex rule("^[A-Za-z0-9._-]{1,255}$");
  if (!std::regex_match(user.name, rule) || user.name == "admin") {
    return {400, "username contains illegal characters"};
  }
  std::lock_guard lock(mu_);
  if (users_.count(user.name)) {
    return {409, "username " + user.name + " already exists"};
  }
  user.id = nextId_++;
  users_[user.name] = user;
  return {201, ""};
}

std::optional<User> State::user(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = users_.find(name);
  return it == users_.end() ? std::nullopt : std::optional<User>(it->second);
}

bool State::setSysadmin(int64_t id, bool sysadmin) {
  std::lock_guard lock(mu_);
  for (auto& [_, u] : users_) {
    if (u.id == id) {
      u.sysadmin = sysadmin;
      return true;
    }
  }
  return false;
}

bool Artifact::isIndex() const {
  return mediaType == "application/vnd.oci.image.index.v1+json" ||
         mediaType == "application/vnd.docker.distribution.manifest.list.v2+json";
}

bool Artifact::scannable() const {
  return !isAccessory &&
         (isIndex() || configMediaType == "application/vnd.oci.image.config.v1+json" ||
          configMediaType == "application/vnd.docker.container.image.v1+json");
}

namespace {

const std::string kCosignSignature = "application/vnd.dev.cosign.artifact.sig.v1+json";
const std::string kSigstoreBundle = "application/vnd.dev.sigstore.bundle.v0.3+json";
const std::string kSimpleSigning = "application/vnd.dev.cosign.simplesigning.v1+json";

std::string stringAt(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

// The subject digest this manifest is a cosign signature of, or "".
std::string cosignSubject(const json& m, const std::string& reference) {
  static const std::regex legacyTag("^sha256-([0-9a-f]{64})\\.sig$");
  std::smatch match;
  if (std::regex_match(reference, match, legacyTag) && m.contains("layers") &&
      m["layers"].is_array()) {
    for (const auto& layer : m["layers"]) {
      if (stringAt(layer, "mediaType") == kSimpleSigning) {
        return "sha256:" + match[1].str();
      }
    }
  }
  std::string type = stringAt(m, "artifactType");
  if (type.empty() && m.contains("config")) {
    type = stringAt(m["config"], "mediaType");
  }
  if (m.contains("subject") && (type == kCosignSignature || type == kSigstoreBundle)) {
    return stringAt(m["subject"], "digest");
  }
  return "";
}

}  // namespace

void State::recordPush(const std::string& repository, const std::string& reference,
                       const std::string& digest, const std::string& mediaType,
                       const std::string& manifest) {
  json m = json::parse(manifest, nullptr, false);
  std::string subject = cosignSubject(m, reference);
  std::lock_guard lock(mu_);
  std::string project = repository.substr(0, repository.find('/'));
  auto p = projects_.find(project);
  if (p == projects_.end()) {
    return;
  }
  Artifact& a = artifacts_[repository + "@" + digest];
  if (a.id == 0) {
    a.id = nextId_++;
    a.projectId = p->second.id;
    a.repository = repository;
    a.digest = digest;
    a.size = static_cast<int64_t>(manifest.size());
    a.pushed = now();
    std::string declared = stringAt(m, "mediaType");
    a.mediaType = declared.empty() ? mediaType : declared;
    if (m.contains("config")) {
      a.configMediaType = stringAt(m["config"], "mediaType");
    }
    if (m.contains("manifests") && m["manifests"].is_array()) {
      for (const auto& child : m["manifests"]) {
        a.children.push_back(stringAt(child, "digest"));
        const json platform = child.value("platform", json::object());
        a.platforms.emplace_back(stringAt(platform, "os"), stringAt(platform, "architecture"));
      }
    }
    a.isAccessory = !subject.empty();
  }
  if (m.is_object() && m.contains("subject") && m["subject"].is_object()) {
    // Any manifest with a subject is a referrer; artifactType falls back to the config's type.
    std::string type = stringAt(m, "artifactType");
    if (type.empty() && m.contains("config")) {
      type = stringAt(m["config"], "mediaType");
    }
    json d = {{"mediaType", a.mediaType},
              {"digest", digest},
              {"size", static_cast<int64_t>(manifest.size())},
              {"artifactType", type}};
    if (m.contains("annotations") && m["annotations"].is_object()) {
      d["annotations"] = m["annotations"];
    }
    auto& list = referrers_[repository + "@" + stringAt(m["subject"], "digest")];
    if (std::none_of(list.begin(), list.end(),
                     [&](const json& x) { return x["digest"] == digest; })) {
      list.push_back(std::move(d));
    }
  }
  if (!subject.empty()) {
    auto& list = accessories_[repository + "@" + subject];
    // A re-pushed legacy .sig (cosign appends signatures) replaces the one the tag held.
    const std::string legacyTag = reference.rfind("sha256-", 0) == 0 ? reference : "";
    list.erase(std::remove_if(list.begin(), list.end(),
                              [&](const Accessory& x) {
                                return x.digest == digest ||
                                       (!legacyTag.empty() && x.legacyTag == legacyTag);
                              }),
               list.end());
    list.push_back(Accessory{nextId_++, digest, "signature.cosign",
                             static_cast<int64_t>(manifest.size()), now(), legacyTag});
  }
  if (reference.rfind("sha256:", 0) != 0) {
    // A tag moves: it leaves whatever artifact of this repository held it before.
    for (auto& [_, other] : artifacts_) {
      if (other.repository == repository) {
        other.tags.erase(std::remove(other.tags.begin(), other.tags.end(), reference),
                         other.tags.end());
      }
    }
    a.tags.push_back(reference);
  }
}

std::optional<Artifact> State::artifact(const std::string& repository,
                                        const std::string& reference) const {
  std::lock_guard lock(mu_);
  for (const auto& [_, a] : artifacts_) {
    if (a.repository != repository) {
      continue;
    }
    if (a.digest == reference ||
        std::find(a.tags.begin(), a.tags.end(), reference) != a.tags.end()) {
      Artifact out = a;
      auto acc = accessories_.find(repository + "@" + a.digest);
      if (acc != accessories_.end()) {
        out.accessories = acc->second;
      }
      return out;
    }
  }
  return std::nullopt;
}

std::vector<json> State::referrers(const std::string& repository, const std::string& digest) const {
  std::lock_guard lock(mu_);
  auto it = referrers_.find(repository + "@" + digest);
  return it == referrers_.end() ? std::vector<json>{} : it->second;
}

std::optional<ScanReport> State::effectiveReport(const Artifact& artifact) const {
  std::lock_guard lock(mu_);
  auto own = reports_.find(artifact.digest);
  if (own != reports_.end() || !artifact.isIndex()) {
    return own == reports_.end() ? std::nullopt : std::optional<ScanReport>(own->second);
  }
  // pkg/scan/vuln/summary.go: status precedence Running > Stopped > Success > others; findings
  // unique by id-package-version; report_id = base64 of the ids joined by '|'.
  auto rank = [](const std::string& s) {
    return s == "Running" ? 3 : s == "Stopped" ? 2 : s == "Success" ? 1 : 0;
  };
  std::optional<ScanReport> merged;
  std::string ids;
  for (const auto& child : artifact.children) {
    auto r = reports_.find(child);
    if (r == reports_.end()) {
      continue;
    }
    if (!merged) {
      merged = r->second;
      merged->findings.clear();
    } else if (rank(r->second.status) > rank(merged->status)) {
      merged->status = r->second.status;
    }
    ids += (ids.empty() ? "" : "|") + r->second.id;
    for (const auto& f : r->second.findings) {
      bool seen = std::any_of(merged->findings.begin(), merged->findings.end(), [&](const auto& g) {
        return g.id == f.id && g.package == f.package && g.version == f.version;
      });
      if (!seen) {
        merged->findings.push_back(f);
      }
    }
  }
  if (merged) {
    merged->id = hm::base64Encode(ids);
  }
  return merged;
}

std::pair<int, std::string> State::triggerScan(const Artifact& artifact) {
  if (!artifact.scannable()) {
    return {400, "the configured scanner Trivy does not support media type " + artifact.mediaType};
  }
  std::vector<std::string> targets =
      artifact.isIndex() ? artifact.children : std::vector<std::string>{artifact.digest};
  std::lock_guard lock(mu_);
  for (const auto& d : targets) {
    auto r = reports_.find(d);
    if (r != reports_.end() && (r->second.status == "Pending" || r->second.status == "Running")) {
      return {409, "a previous scan process is " + r->second.status};
    }
  }
  for (const auto& d : targets) {
    ScanReport pending;
    pending.id = "report-" + std::to_string(nextId_++);
    pending.status = "Pending";
    pending.started = now();
    pending.ended = "0001-01-01T00:00:00.000Z";
    reports_[d] = std::move(pending);
  }
  return {202, ""};
}

bool Robot::can(const std::string& project, const std::string& resource,
                const std::string& action) const {
  for (const auto& p : permissions) {
    if (p.kind != "project" || (p.nameSpace != project && p.nameSpace != "*")) {
      continue;
    }
    for (const auto& a : p.access) {
      bool pushImpliesPull = resource == "repository" && action == "pull" &&
                             a.resource == "repository" && a.action == "push";
      if ((a.resource == resource && a.action == action) || pushImpliesPull) {
        return a.effect.empty() || a.effect == "allow";
      }
    }
  }
  return false;
}

std::pair<int, std::string> State::createRobot(Robot& robot) {
  std::lock_guard lock(mu_);
  for (const auto& [_, r] : robots_) {
    if (r.name == robot.name) {
      return {409, "robot account " + std::to_string(robot.projectId) + ":" + robot.name +
                       " already exists"};
    }
  }
  robot.id = nextId_++;
  robots_[robot.id] = robot;
  return {201, ""};
}

std::optional<Robot> State::robot(int64_t id) const {
  std::lock_guard lock(mu_);
  auto it = robots_.find(id);
  return it == robots_.end() ? std::nullopt : std::optional<Robot>(it->second);
}

std::vector<Robot> State::robots() const {
  std::lock_guard lock(mu_);
  std::vector<Robot> out;
  for (const auto& [_, r] : robots_) {
    out.push_back(r);
  }
  return out;
}

bool State::putRobot(const Robot& robot) {
  std::lock_guard lock(mu_);
  auto it = robots_.find(robot.id);
  if (it == robots_.end()) {
    return false;
  }
  it->second = robot;
  return true;
}

bool State::deleteRobot(int64_t id) {
  std::lock_guard lock(mu_);
  return robots_.erase(id) > 0;
}

std::optional<Robot> State::authenticateRobot(const std::string& prefixedName,
                                              const std::string& secret) const {
  if (prefixedName.rfind("robot$", 0) != 0) {
    return std::nullopt;
  }
  std::string stored = prefixedName.substr(6);
  auto nowUnix = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  std::lock_guard lock(mu_);
  for (const auto& [_, r] : robots_) {
    if (r.name == stored && r.secret == secret && !r.disabled &&
        (r.expiresAt == -1 || r.expiresAt > nowUnix)) {
      return r;
    }
  }
  return std::nullopt;
}

std::optional<Artifact> State::deleteArtifact(const std::string& repository,
                                              const std::string& reference) {
  std::lock_guard lock(mu_);
  for (auto it = artifacts_.begin(); it != artifacts_.end(); ++it) {
    const Artifact& a = it->second;
    if (a.repository == repository &&
        (a.digest == reference ||
         std::find(a.tags.begin(), a.tags.end(), reference) != a.tags.end())) {
      Artifact out = a;
      artifacts_.erase(it);
      return out;
    }
  }
  return std::nullopt;
}

std::vector<Artifact> State::artifactsWithDigest(const std::string& digest) const {
  std::lock_guard lock(mu_);
  std::vector<Artifact> out;
  for (const auto& [_, a] : artifacts_) {
    if (a.digest == digest) {
      out.push_back(a);
    }
  }
  return out;
}

std::vector<Artifact> State::repositoryArtifacts(const std::string& repository) const {
  std::lock_guard lock(mu_);
  std::vector<Artifact> out;
  for (const auto& [_, a] : artifacts_) {
    if (a.repository == repository) {
      out.push_back(a);
    }
  }
  return out;
}

std::pair<int, std::string> State::createWebhookPolicy(WebhookPolicy& policy) {
  std::lock_guard lock(mu_);
  for (const auto& [_, p] : webhookPolicies_) {
    if (p.projectId == policy.projectId && p.name == policy.name) {
      return {409, "notification policy " + policy.name + " already exists"};
    }
  }
  policy.id = nextId_++;
  policy.created = policy.updated = now();
  webhookPolicies_[policy.id] = policy;
  return {201, ""};
}

std::optional<WebhookPolicy> State::webhookPolicy(int64_t id) const {
  std::lock_guard lock(mu_);
  auto it = webhookPolicies_.find(id);
  return it == webhookPolicies_.end() ? std::nullopt : std::optional<WebhookPolicy>(it->second);
}

std::vector<WebhookPolicy> State::webhookPolicies(int64_t projectId) const {
  std::lock_guard lock(mu_);
  std::vector<WebhookPolicy> out;
  for (const auto& [_, p] : webhookPolicies_) {
    if (p.projectId == projectId) {
      out.push_back(p);
    }
  }
  return out;
}

std::pair<int, std::string> State::putWebhookPolicy(const WebhookPolicy& policy) {
  std::lock_guard lock(mu_);
  auto it = webhookPolicies_.find(policy.id);
  if (it == webhookPolicies_.end()) {
    return {404, "notification policy " + std::to_string(policy.id) + " not found"};
  }
  for (const auto& [id, p] : webhookPolicies_) {
    if (id != policy.id && p.projectId == policy.projectId && p.name == policy.name) {
      return {409, "notification policy " + policy.name + " already exists"};
    }
  }
  WebhookPolicy stored = policy;
  stored.created = it->second.created;
  stored.creator = it->second.creator;
  stored.updated = now();
  it->second = std::move(stored);
  return {200, ""};
}

namespace {

// What Harbor's unique (project_id, tag_filter) constraint compares: the rule as stored.
bool sameRule(const ImmutableRule& a, const ImmutableRule& b) {
  return a.projectId == b.projectId && a.disabled == b.disabled && a.priority == b.priority &&
         a.action == b.action && a.templ == b.templ && a.params == b.params &&
         a.tagSelectors == b.tagSelectors && a.scopeSelectors == b.scopeSelectors;
}

}  // namespace

std::pair<int, std::string> State::createImmutableRule(ImmutableRule& rule) {
  std::lock_guard lock(mu_);
  rule.disabled = false;  // the DAO enables every new rule
  for (const auto& [_, r] : immutableRules_) {
    if (sameRule(r, rule)) {
      return {409, "immutable rule already exists"};
    }
  }
  rule.id = nextId_++;
  immutableRules_[rule.id] = rule;
  return {201, ""};
}

std::optional<ImmutableRule> State::immutableRule(int64_t id) const {
  std::lock_guard lock(mu_);
  auto it = immutableRules_.find(id);
  return it == immutableRules_.end() ? std::nullopt : std::optional<ImmutableRule>(it->second);
}

std::vector<ImmutableRule> State::immutableRules(int64_t projectId) const {
  std::lock_guard lock(mu_);
  std::vector<ImmutableRule> out;
  for (const auto& [_, r] : immutableRules_) {
    if (r.projectId == projectId) {
      out.push_back(r);
    }
  }
  return out;
}

bool State::putImmutableRule(const ImmutableRule& rule) {
  std::lock_guard lock(mu_);
  auto it = immutableRules_.find(rule.id);
  if (it == immutableRules_.end()) {
    return false;
  }
  it->second = rule;
  return true;
}

bool State::deleteImmutableRule(int64_t id) {
  std::lock_guard lock(mu_);
  return immutableRules_.erase(id) > 0;
}

int64_t State::createRetention(nlohmann::json policy) {
  std::lock_guard lock(mu_);
  const int64_t id = nextId_++;
  policy["id"] = id;
  retentions_[id] = std::move(policy);
  return id;
}

std::optional<nlohmann::json> State::retention(int64_t id) const {
  std::lock_guard lock(mu_);
  auto it = retentions_.find(id);
  return it == retentions_.end() ? std::nullopt : std::optional<nlohmann::json>(it->second);
}

void State::putRetention(int64_t id, nlohmann::json policy) {
  std::lock_guard lock(mu_);
  retentions_[id] = std::move(policy);
}

void State::deleteRetention(int64_t id) {
  std::lock_guard lock(mu_);
  retentions_.erase(id);
}

bool State::deleteWebhookPolicy(int64_t id) {
  std::lock_guard lock(mu_);
  return webhookPolicies_.erase(id) > 0;
}

void State::setEventSink(std::function<void(HarborEvent)> sink) {
  std::lock_guard lock(mu_);
  eventSink_ = std::move(sink);
}

void State::publish(HarborEvent event) const {
  std::function<void(HarborEvent)> sink;
  {
    std::lock_guard lock(mu_);
    sink = eventSink_;
  }
  if (sink) {
    sink(std::move(event));
  }
}

void State::setReport(const std::string& digest, ScanReport report) {
  std::lock_guard lock(mu_);
  report.id = "report-" + std::to_string(nextId_++);
  reports_[digest] = std::move(report);
}

std::optional<ScanReport> State::report(const std::string& digest) const {
  std::lock_guard lock(mu_);
  auto it = reports_.find(digest);
  return it == reports_.end() ? std::nullopt : std::optional<ScanReport>(it->second);
}

json artifactJson(const Artifact& a, const std::optional<ScanReport>& report, bool withScanOverview,
                  bool withAccessory, const std::string& project) {
  std::string repoInProject = a.repository.substr(project.size() + 1);
  json tags = json::array();
  for (size_t i = 0; i < a.tags.size(); ++i) {
    tags.push_back({{"id", a.id * 100 + static_cast<int64_t>(i)},
                    {"artifact_id", a.id},
                    {"name", a.tags[i]},
                    {"push_time", a.pushed},
                    {"immutable", false}});
  }
  json j = {{"id", a.id},
            {"type", a.scannable() ? "IMAGE" : "UNKNOWN"},
            {"manifest_media_type", a.mediaType},
            {"media_type", a.mediaType},
            {"project_id", a.projectId},
            {"repository_name", a.repository},
            {"digest", a.digest},
            {"size", a.size},
            {"push_time", a.pushed},
            {"pull_time", "0001-01-01T00:00:00.000Z"},
            {"tags", tags}};
  // The vulnerabilities link appears only when the scanner can scan the artifact.
  if (a.scannable()) {
    j["addition_links"] = {
        {"vulnerabilities",
         {{"absolute", false},
          {"href", "/api/v2.0/projects/" + project + "/repositories/" + encodeTwice(repoInProject) +
                       "/artifacts/" + a.digest + "/additions/vulnerabilities"}}}};
  }
  if (!a.children.empty()) {
    json refs = json::array();
    for (size_t i = 0; i < a.children.size(); ++i) {
      refs.push_back(
          {{"parent_id", a.id},
           {"child_digest", a.children[i]},
           {"platform", {{"os", a.platforms[i].first}, {"architecture", a.platforms[i].second}}}});
    }
    j["references"] = refs;
  }
  if (withAccessory && !a.accessories.empty()) {
    json list = json::array();
    for (const auto& acc : a.accessories) {
      list.push_back({{"id", acc.id},
                      {"artifact_id", acc.id},
                      {"subject_artifact_id", a.id},
                      {"subject_artifact_repo", a.repository},
                      {"subject_artifact_digest", a.digest},
                      {"digest", acc.digest},
                      {"size", acc.size},
                      {"type", acc.type},
                      {"creation_time", acc.created}});
    }
    j["accessories"] = list;
  }
  if (withScanOverview && report) {
    json summary = {{"report_id", report->id},
                    {"scan_status", report->status},
                    {"start_time", report->started},
                    {"end_time", report->ended},
                    {"duration", 12}};
    if (report->status == "Success") {
      // severity is the highest finding; summary lists only severities that occur.
      std::string severity = "None";
      json counts = json::object();
      int64_t fixable = 0;
      for (const auto& f : report->findings) {
        if (severityCode(f.severity) > severityCode(severity)) {
          severity = f.severity;
        }
        counts[f.severity] = counts.value(f.severity, 0) + 1;
        fixable += f.fixVersion.empty() ? 0 : 1;
      }
      summary["severity"] = severity;
      summary["summary"] = {
          {"total", report->findings.size()}, {"fixable", fixable}, {"summary", counts}};
      summary["complete_percent"] = 100;
      summary["scanner"] = {{"name", "Trivy"}, {"vendor", "Aqua Security"}, {"version", "v0.60.0"}};
    }
    j["scan_overview"] = {{kReportType, summary}};
  }
  return j;
}

json vulnerabilitiesJson(const std::optional<ScanReport>& report) {
  if (!report || report->status != "Success") {
    return json::object();
  }
  json list = json::array();
  std::string severity = "None";
  for (const auto& f : report->findings) {
    if (severityCode(f.severity) > severityCode(severity)) {
      severity = f.severity;
    }
    list.push_back({{"id", f.id},
                    {"package", f.package},
                    {"version", f.version},
                    {"fix_version", f.fixVersion},
                    {"severity", f.severity},
                    {"links", json::array({""})},
                    {"cwe_ids", json::array({""})}});
  }
  return {{kReportType,
           {{"generated_at", report->ended},
            {"scanner", {{"name", "Trivy"}, {"vendor", "Aqua Security"}, {"version", "v0.60.0"}}},
            {"severity", severity},
            {"vulnerabilities", list}}}};
}

}  // namespace harborsim
