#include "state.h"

#include <algorithm>
#include <regex>

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
  Project p{nextId_++, name, std::move(metadata), now()};
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

bool State::projectHasRepositories(const std::string& name) const {
  std::lock_guard lock(mu_);
  return std::any_of(artifacts_.begin(), artifacts_.end(), [&](const auto& kv) {
    return kv.second.repository.rfind(name + "/", 0) == 0;
  });
}

bool State::deleteProject(const std::string& name) {
  std::lock_guard lock(mu_);
  return projects_.erase(name) > 0;
}

void State::recordPush(const std::string& repository, const std::string& reference,
                       const std::string& digest, const std::string& mediaType, int64_t size) {
  std::lock_guard lock(mu_);
  std::string project = repository.substr(0, repository.find('/'));
  auto p = projects_.find(project);
  if (p == projects_.end()) {
    return;
  }
  Artifact& a = artifacts_[repository + "@" + digest];
  if (a.id == 0) {
    a = Artifact{nextId_++, p->second.id, repository, digest, mediaType, size, {}, now()};
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
      return a;
    }
  }
  return std::nullopt;
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
                  const std::string& project) {
  std::string repoInProject = a.repository.substr(project.size() + 1);
  json tags = json::array();
  for (size_t i = 0; i < a.tags.size(); ++i) {
    tags.push_back({{"id", a.id * 100 + static_cast<int64_t>(i)},
                    {"artifact_id", a.id},
                    {"name", a.tags[i]},
                    {"push_time", a.pushed},
                    {"immutable", false}});
  }
  json j = {
      {"id", a.id},
      {"type", "IMAGE"},
      {"manifest_media_type", a.mediaType},
      {"media_type", a.mediaType},
      {"project_id", a.projectId},
      {"repository_name", a.repository},
      {"digest", a.digest},
      {"size", a.size},
      {"push_time", a.pushed},
      {"pull_time", "0001-01-01T00:00:00.000Z"},
      {"tags", tags},
      {"addition_links",
       {{"vulnerabilities",
         {{"absolute", false},
          {"href", "/api/v2.0/projects/" + project + "/repositories/" + encodeTwice(repoInProject) +
                       "/artifacts/" + a.digest + "/additions/vulnerabilities"}}}}}};
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
