// /api/v2.0/projects/{p}/webhook/… and the notifications Harbor sends, as API-NOTES §7, the API
// spec (WebhookPolicy, WebhookTargetObject) and Harbor's webhook handler describe them.
#include <nlohmann/json.hpp>
#include <set>

#include "api.h"
#include "harbormaster/base/time.h"

namespace harborsim {
namespace {

using hm::net::HttpRequest;
using hm::net::HttpResponse;
using nlohmann::json;

// notification.GetSupportedEventTypes(): the topics a webhook policy may subscribe to.
const std::vector<std::string> kEventTypes = {
    "DELETE_ARTIFACT",    "PULL_ARTIFACT", "PUSH_ARTIFACT",   "QUOTA_EXCEED",
    "QUOTA_WARNING",      "REPLICATION",   "SCANNING_FAILED", "SCANNING_STOPPED",
    "SCANNING_COMPLETED", "TAG_RETENTION"};
const std::vector<std::string> kNotifyTypes = {"http", "slack", "teams"};
const std::vector<std::string> kPayloadFormats = {"Default", "CloudEvents"};

// formats/cloudevents.go's eventTypeMapping.
const std::map<std::string, std::string> kCloudEventTypes = {
    {"DELETE_ARTIFACT", "harbor.artifact.deleted"},
    {"PULL_ARTIFACT", "harbor.artifact.pulled"},
    {"PUSH_ARTIFACT", "harbor.artifact.pushed"},
    {"QUOTA_EXCEED", "harbor.quota.exceeded"},
    {"QUOTA_WARNING", "harbor.quota.warned"},
    {"REPLICATION", "harbor.replication.status.changed"},
    {"SCANNING_FAILED", "harbor.scan.failed"},
    {"SCANNING_COMPLETED", "harbor.scan.completed"},
    {"SCANNING_STOPPED", "harbor.scan.stopped"},
    {"TAG_RETENTION", "harbor.tag_retention.finished"}};

bool contains(const std::vector<std::string>& list, const std::string& s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

json policyJson(const WebhookPolicy& p) {
  json targets = json::array();
  for (const auto& t : p.targets) {
    targets.push_back({{"type", t.type},
                       {"address", t.address},
                       {"auth_header", t.authHeader},
                       {"skip_cert_verify", t.skipCertVerify},
                       {"payload_format", t.payloadFormat}});
  }
  return {{"id", p.id},
          {"name", p.name},
          {"description", p.description},
          {"project_id", p.projectId},
          {"targets", targets},
          {"event_types", p.eventTypes},
          {"creator", p.creator},
          {"creation_time", p.created},
          {"update_time", p.updated},
          {"enabled", p.enabled}};
}

std::string stringField(const json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

// Harbor's utils.ParseEndpoint: an http or https URL (a bare host gets http://).
bool validEndpoint(std::string address, std::string& why) {
  while (!address.empty() && address.front() == ' ') {
    address.erase(0, 1);
  }
  while (!address.empty() && (address.back() == ' ' || address.back() == '/')) {
    address.pop_back();
  }
  if (address.empty()) {
    why = "empty URL";
    return false;
  }
  size_t scheme = address.find("://");
  if (scheme != std::string::npos) {
    std::string s = address.substr(0, scheme);
    if (s != "http" && s != "https") {
      why = "invalid scheme: " + s;
      return false;
    }
    if (scheme + 3 >= address.size()) {
      why = "parse \"" + address + "\": missing host";
      return false;
    }
  }
  return true;
}

// The body of a create or update, validated as the handler does: event types first, then
// targets (Default is the payload format of an http target that names none). Harbor's JSONCopy
// gives absent fields their zero value, so a policy sent without "enabled" is disabled.
std::optional<HttpResponse> readPolicy(const std::string& body, WebhookPolicy& out) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object()) {
    return harborError(400, "BAD_REQUEST", "invalid webhook policy body");
  }
  out.name = stringField(j, "name");
  out.description = stringField(j, "description");
  out.enabled = j.contains("enabled") && j["enabled"].is_boolean() && j["enabled"].get<bool>();
  out.eventTypes.clear();
  if (j.contains("event_types") && j["event_types"].is_array()) {
    for (const auto& e : j["event_types"]) {
      out.eventTypes.push_back(e.is_string() ? e.get<std::string>() : e.dump());
    }
  }
  if (out.eventTypes.empty()) {
    return harborError(400, "BAD_REQUEST", "empty event type");
  }
  for (const auto& e : out.eventTypes) {
    if (!contains(kEventTypes, e)) {
      return harborError(400, "BAD_REQUEST", "unsupported event type " + e);
    }
  }
  out.targets.clear();
  if (j.contains("targets") && j["targets"].is_array()) {
    for (const auto& t : j["targets"]) {
      if (!t.is_object()) {
        continue;
      }
      WebhookTarget target;
      target.type = stringField(t, "type");
      target.address = stringField(t, "address");
      target.authHeader = stringField(t, "auth_header");
      target.skipCertVerify = t.contains("skip_cert_verify") &&
                              t["skip_cert_verify"].is_boolean() &&
                              t["skip_cert_verify"].get<bool>();
      target.payloadFormat = stringField(t, "payload_format");
      out.targets.push_back(std::move(target));
    }
  }
  if (out.targets.empty()) {
    return harborError(400, "BAD_REQUEST", "empty notification target with policy " + out.name);
  }
  for (auto& t : out.targets) {
    std::string why;
    if (!validEndpoint(t.address, why)) {
      return harborError(400, "BAD_REQUEST", why);
    }
    if (!contains(kNotifyTypes, t.type)) {
      return harborError(400, "BAD_REQUEST",
                         "unsupported target type " + t.type + " with policy " + out.name);
    }
    if (!t.payloadFormat.empty() && t.type != "http") {
      return harborError(400, "BAD_REQUEST", "set payload format is not allowed for " + t.type);
    }
    if (!t.payloadFormat.empty() && !contains(kPayloadFormats, t.payloadFormat)) {
      return harborError(400, "BAD_REQUEST", "unsupported payload format type: " + t.payloadFormat);
    }
    if (t.payloadFormat.empty() && t.type == "http") {
      t.payloadFormat = "Default";
    }
  }
  return std::nullopt;
}

std::string callerName(const Caller& caller) {
  return caller.robot ? "robot$" + caller.robot->name : caller.user ? caller.user->name : "admin";
}

}  // namespace

HttpResponse webhooksApi(State& state, const HttpRequest& req, const Caller& caller,
                         const Project& project, const std::vector<std::string>& segs) {
  // api, v2.0, projects, {p}, webhook, (policies[/{id}] | events)
  const std::string& m = req.method;
  if (segs.size() == 6 && segs[5] == "events") {
    if (m != "GET") {
      return harborError(405, "METHOD_NOT_ALLOWED", "method not allowed");
    }
    if (!caller.can(project, "notification-policy", "read")) {
      return refused(caller);
    }
    json formats = {{{"notify_type", "http"}, {"formats", kPayloadFormats}}};
    json body = {
        {"event_type", kEventTypes}, {"notify_type", kNotifyTypes}, {"payload_formats", formats}};
    return {200, "application/json", body.dump(), {}};
  }
  if (segs.size() < 6 || segs.size() > 7 || segs[5] != "policies") {
    return harborError(404, "NOT_FOUND", "path " + std::string(req.path()) + " was not found");
  }
  if (segs.size() == 6) {
    if (m == "GET") {
      if (!caller.can(project, "notification-policy", "list")) {
        return refused(caller);
      }
      Paging paging;
      if (auto bad = readPaging(req, paging)) {
        return *bad;
      }
      const int64_t page = paging.page, pageSize = paging.pageSize;
      auto all = state.webhookPolicies(project.id);
      json list = json::array();
      for (size_t i = static_cast<size_t>((page - 1) * pageSize);
           i < all.size() && list.size() < static_cast<size_t>(pageSize); ++i) {
        list.push_back(policyJson(all[i]));
      }
      return {
          200, "application/json", list.dump(), {{"X-Total-Count", std::to_string(all.size())}}};
    }
    if (m != "POST") {
      return harborError(405, "METHOD_NOT_ALLOWED", "method not allowed");
    }
    if (!caller.can(project, "notification-policy", "create")) {
      return refused(caller);
    }
    WebhookPolicy policy;
    if (auto bad = readPolicy(req.body, policy)) {
      return *bad;
    }
    policy.projectId = project.id;
    policy.creator = callerName(caller);
    auto [status, message] = state.createWebhookPolicy(policy);
    if (status != 201) {
      return harborError(status, "CONFLICT", message);
    }
    std::string path(req.path());
    while (!path.empty() && path.back() == '/') {
      path.pop_back();
    }
    return {201, "application/json", "", {{"Location", path + "/" + std::to_string(policy.id)}}};
  }
  int64_t id = 0;
  try {
    size_t used = 0;
    id = std::stoll(segs[6], &used);
    if (used != segs[6].size()) {
      throw std::invalid_argument("id");
    }
  } catch (const std::exception&) {
    return harborError(422, "UNPROCESSABLE_ENTITY",
                       "webhook_policy_id in path must be of type int64: \"" + segs[6] + "\"");
  }
  const std::string action = m == "GET" ? "read" : m == "PUT" ? "update" : "delete";
  if (m != "GET" && m != "PUT" && m != "DELETE") {
    return harborError(405, "METHOD_NOT_ALLOWED", "method not allowed");
  }
  if (!caller.can(project, "notification-policy", action)) {
    return refused(caller);
  }
  auto existing = state.webhookPolicy(id);
  if (!existing || existing->projectId != project.id) {
    return harborError(404, "NOT_FOUND",
                       "project id:" + std::to_string(project.id) +
                           ", webhook policy id: " + std::to_string(id) + " not found");
  }
  if (m == "GET") {
    return {200, "application/json", policyJson(*existing).dump(), {}};
  }
  if (m == "DELETE") {
    state.deleteWebhookPolicy(id);
    return {200, "application/json", "", {}};
  }
  WebhookPolicy policy;
  if (auto bad = readPolicy(req.body, policy)) {
    return *bad;
  }
  policy.id = id;
  policy.projectId = project.id;
  auto [status, message] = state.putWebhookPolicy(policy);
  if (status != 200) {
    return harborError(status, status == 409 ? "CONFLICT" : "NOT_FOUND", message);
  }
  return {200, "application/json", "", {}};
}

Notification notificationFor(const HarborEvent& event, const WebhookPolicy& policy,
                             const WebhookTarget& target, const std::string& externalHost,
                             const std::string& id) {
  json resources = json::array();
  for (const auto& [digest, tag] : event.resources) {
    const bool byDigest = tag.rfind("sha256:", 0) == 0;
    json r = {
        {"digest", digest},
        {"tag", tag},
        {"resource_url", externalHost + "/" + event.repository + (byDigest ? "@" : ":") + tag}};
    if (!event.scanOverview.is_null()) {
      r["scan_overview"] = event.scanOverview;
    }
    resources.push_back(std::move(r));
  }
  const std::string name = event.repository.substr(event.repository.find('/') + 1);
  json repository = {{"name", name},
                     {"namespace", event.project},
                     {"repo_full_name", event.repository},
                     {"repo_type", event.publicProject ? "public" : "private"}};
  json data = {{"resources", resources}, {"repository", repository}};
  if (event.type.rfind("SCANNING_", 0) == 0) {
    data["scan"] = {{"scan_type", "vulnerability"}};
  }
  Notification out;
  out.address = target.address;
  out.authHeader = target.authHeader;
  out.skipCertVerify = target.skipCertVerify;
  out.eventType = event.type;
  if (target.payloadFormat == "CloudEvents") {
    auto type = kCloudEventTypes.find(event.type);
    json ce = {{"specversion", "1.0"},
               {"id", id},
               {"requestid", id},
               {"source", "/projects/" + std::to_string(policy.projectId) + "/webhook/policies/" +
                              std::to_string(policy.id)},
               {"type", type == kCloudEventTypes.end() ? event.type : type->second},
               {"datacontenttype", "application/json"},
               {"time", hm::formatRfc3339(std::chrono::system_clock::time_point(
                            std::chrono::seconds(event.occurAt)))},
               {"data", data},
               {"operator", event.operatorName}};
    out.contentType = "application/cloudevents+json";
    out.body = ce.dump();
  } else {
    json payload = {{"type", event.type},
                    {"occur_at", event.occurAt},
                    {"operator", event.operatorName},
                    {"event_data", data}};
    out.contentType = "application/json";
    out.body = payload.dump();
  }
  return out;
}

std::vector<Notification> notificationsFor(const State& state, const HarborEvent& event,
                                           const std::string& externalHost, int64_t& nextId) {
  std::vector<Notification> out;
  auto project = state.project(event.project, true);
  if (!project) {
    return out;
  }
  for (const auto& policy : state.webhookPolicies(project->id)) {
    if (!policy.enabled || !contains(policy.eventTypes, event.type)) {
      continue;
    }
    for (const auto& target : policy.targets) {
      if (target.type != "http") {
        continue;  // slack and teams are not simulated
      }
      out.push_back(notificationFor(event, policy, target, externalHost,
                                    "sim-event-" + std::to_string(++nextId)));
    }
  }
  return out;
}

}  // namespace harborsim
