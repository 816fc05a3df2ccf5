#include "harbormaster/harbor/client.h"

#include "harbormaster/base/encoding.h"
#include "harbormaster/harbor/rate.h"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <openssl/evp.h>

#include <nlohmann/json.hpp>

namespace hm::harbor {

namespace asio = boost::asio;
using asio::awaitable;
using nlohmann::json;

namespace {

std::string artifactPath(const std::string& project, const std::string& repository,
                         const std::string& reference) {
  return "/api/v2.0/projects/" + hm::percentEncode(project) + "/repositories/" +
         encodeRepository(repository) + "/artifacts/" + hm::percentEncode(reference);
}

// The id at the end of a Location header (…/projects/7, …/webhook/policies/12).
std::optional<int64_t> locationId(std::string_view location) {
  size_t slash = location.rfind('/');
  std::string id(slash == std::string_view::npos ? "" : location.substr(slash + 1));
  if (id.empty() || id.size() > 18 ||
      !std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::stoll(id);
}

// Harbor over HTTP: the only implementation outside tests.
class ApiClient final : public Client {
 public:
  ApiClient(std::shared_ptr<net::HttpClient> http, HarborOptions options);

  boost::asio::awaitable<StatusOr<std::string>> health(Deadline deadline) override;
  boost::asio::awaitable<StatusOr<bool>> projectExists(std::string name,
                                                       Deadline deadline) override;
  boost::asio::awaitable<StatusOr<Project>> getProject(std::string name,
                                                       Deadline deadline) override;
  boost::asio::awaitable<StatusOr<int64_t>> createProject(ProjectSpec spec,
                                                          Deadline deadline) override;
  boost::asio::awaitable<Status> deleteProject(std::string name, Deadline deadline) override;
  boost::asio::awaitable<Status> updateProject(std::string name, ProjectUpdate update,
                                               Deadline deadline) override;
  boost::asio::awaitable<Status> setProjectMetadata(std::string name, std::string key,
                                                    std::string value, Deadline deadline) override;
  boost::asio::awaitable<Status> deleteProjectMetadata(std::string name, std::string key,
                                                       Deadline deadline) override;
  boost::asio::awaitable<StatusOr<Quota>> projectQuota(int64_t projectId,
                                                       Deadline deadline) override;
  boost::asio::awaitable<Status> setStorageQuota(int64_t quotaId, int64_t bytes,
                                                 Deadline deadline) override;
  boost::asio::awaitable<StatusOr<CveAllowlist>> systemAllowlist(Deadline deadline) override;
  boost::asio::awaitable<Status> setSystemAllowlist(CveAllowlist list, Deadline deadline) override;
  boost::asio::awaitable<StatusOr<SystemInfo>> systemInfo(Deadline deadline) override;
  boost::asio::awaitable<StatusOr<Artifact>> getArtifact(std::string project,
                                                         std::string repository,
                                                         std::string reference,
                                                         Deadline deadline) override;
  boost::asio::awaitable<StatusOr<std::optional<VulnerabilityReport>>> vulnerabilities(
      std::string project, std::string repository, std::string reference,
      Deadline deadline) override;
  boost::asio::awaitable<Status> scanArtifact(std::string project, std::string repository,
                                              std::string reference, Deadline deadline) override;
  boost::asio::awaitable<StatusOr<std::vector<WebhookPolicy>>> listWebhookPolicies(
      std::string project, Deadline deadline) override;
  boost::asio::awaitable<StatusOr<int64_t>> createWebhookPolicy(std::string project,
                                                                WebhookPolicy policy,
                                                                Deadline deadline) override;
  boost::asio::awaitable<Status> updateWebhookPolicy(std::string project, WebhookPolicy policy,
                                                     Deadline deadline) override;
  boost::asio::awaitable<Status> deleteWebhookPolicy(std::string project, int64_t id,
                                                     Deadline deadline) override;
  boost::asio::awaitable<StatusOr<std::vector<ImmutableRule>>> listImmutableRules(
      std::string project, Deadline deadline) override;
  boost::asio::awaitable<StatusOr<int64_t>> createImmutableRule(std::string project,
                                                                ImmutableRule rule,
                                                                Deadline deadline) override;
  boost::asio::awaitable<Status> updateImmutableRule(std::string project, ImmutableRule rule,
                                                     Deadline deadline) override;
  boost::asio::awaitable<Status> deleteImmutableRule(std::string project, int64_t id,
                                                     Deadline deadline) override;
  boost::asio::awaitable<StatusOr<RetentionPolicy>> getRetention(int64_t id,
                                                                 Deadline deadline) override;
  boost::asio::awaitable<StatusOr<int64_t>> createRetention(RetentionPolicy policy,
                                                            Deadline deadline) override;
  boost::asio::awaitable<Status> updateRetention(RetentionPolicy policy,
                                                 Deadline deadline) override;
  boost::asio::awaitable<StatusOr<std::vector<ProjectMember>>> listMembers(
      std::string project, Deadline deadline) override;
  boost::asio::awaitable<StatusOr<int64_t>> addMember(std::string project, MemberSpec member,
                                                      Deadline deadline) override;
  boost::asio::awaitable<Status> setMemberRole(std::string project, int64_t id, int role,
                                               Deadline deadline) override;
  boost::asio::awaitable<Status> removeMember(std::string project, int64_t id,
                                              Deadline deadline) override;
  boost::asio::awaitable<StatusOr<CreatedRobot>> createRobot(RobotSpec spec,
                                                             Deadline deadline) override;
  boost::asio::awaitable<StatusOr<std::vector<Robot>>> listProjectRobots(
      int64_t projectId, std::string storedName, Deadline deadline) override;
  boost::asio::awaitable<StatusOr<std::vector<Robot>>> listSystemRobots(std::string storedName,
                                                                        Deadline deadline) override;
  boost::asio::awaitable<StatusOr<Robot>> getRobot(int64_t id, Deadline deadline) override;
  boost::asio::awaitable<Status> updateRobot(Robot robot, Deadline deadline) override;
  boost::asio::awaitable<Status> deleteRobot(int64_t id, Deadline deadline) override;
  boost::asio::awaitable<StatusOr<std::string>> refreshRobotSecret(int64_t id,
                                                                   Deadline deadline) override;
  boost::asio::awaitable<Status> setRobotSecret(int64_t id, std::string secret,
                                                Deadline deadline) override;
  boost::asio::awaitable<Status> probeCredentials(std::string username, std::string secret,
                                                  Deadline deadline) override;

 private:
  boost::asio::awaitable<StatusOr<net::ClientResponse>> send(std::string method, std::string path,
                                                             std::string body, Deadline deadline);
  // POST that answers 201 with the new object's id in Location (projects, webhook policies,
  // immutable rules, retention policies, members); `what` names the call in errors.
  boost::asio::awaitable<StatusOr<int64_t>> create(std::string path, std::string body,
                                                   std::string what, Deadline deadline);
  // GET, expect 200, parse the body.
  template <typename T>
  boost::asio::awaitable<StatusOr<T>> get(std::string path, std::string what,
                                          StatusOr<T> (*parse)(std::string_view),
                                          Deadline deadline);
  // Sends and expects `want`; anything else becomes errorFrom(…, what).
  boost::asio::awaitable<Status> call(std::string method, std::string path, std::string body,
                                      int want, std::string what, Deadline deadline);
  Status errorFrom(const net::ClientResponse& res, const std::string& what) const;
  // Every page of a list (`path` ends in '?' or '&'), 100 a page, at most 1,000 pages.
  template <typename T>
  boost::asio::awaitable<StatusOr<std::vector<T>>> listPages(
      std::string path, std::string what, StatusOr<std::vector<T>> (*parse)(std::string_view),
      Deadline deadline);

  std::shared_ptr<net::HttpClient> http_;
  HarborOptions options_;
  // Read per request: the webhook's credentials are replaced when their Secret rotates.
  std::shared_ptr<const CredentialSource> credentials_;
  std::unique_ptr<RequestRate> rate_;  // null: no limit
};

}  // namespace

std::shared_ptr<Client> Client::create(std::shared_ptr<net::HttpClient> http,
                                       HarborOptions options) {
  return std::make_shared<ApiClient>(std::move(http), std::move(options));
}

std::string encodeRepository(std::string_view repository) {
  return hm::percentEncode(hm::percentEncode(repository));
}

ApiClient::ApiClient(std::shared_ptr<net::HttpClient> http, HarborOptions options)
    : http_(std::move(http)), options_(std::move(options)) {
  while (!options_.url.empty() && options_.url.back() == '/') {
    options_.url.pop_back();
  }
  credentials_ = options_.credentials != nullptr
                     ? options_.credentials
                     : std::make_shared<const CredentialSource>(
                           BasicCredentials{options_.username, options_.password});
  if (options_.requestsPerSecond > 0) {
    rate_ = std::make_unique<RequestRate>(options_.requestsPerSecond);
  }
}

RequestRate::RequestRate(double perSecond)
    : perSecond_(perSecond),
      interval_(std::chrono::nanoseconds(static_cast<int64_t>(1e9 / perSecond))),
      burst_(std::chrono::nanoseconds(static_cast<int64_t>(1e9))) {}

std::optional<RequestRate::Time> RequestRate::reserve(Time now, Time deadline) {
  std::lock_guard lock(mu_);
  const Time scheduled = std::max(next_, now);
  // A second's worth may go at once: the schedule may run up to burst_ ahead of now.
  Time at = scheduled - burst_ + interval_;
  if (at < now) {
    at = now;
  }
  if (at > deadline) {
    return std::nullopt;
  }
  next_ = scheduled + interval_;
  return at;
}

Status ApiClient::errorFrom(const net::ClientResponse& res, const std::string& what) const {
  auto [code, message] = harborError(res.body);
  std::string detail =
      code.empty() ? "" : " (" + code + (message.empty() ? "" : ": " + message) + ")";
  const std::string prefix = "Harbor " + what + ": HTTP " + std::to_string(res.status) + detail;
  // Harbor does not refuse bad credentials; it carries on as anonymous. So a 401 after sending
  // credentials means they were rejected, and a 403 that they lack the permission.
  const std::string user = credentials_->get().username;
  if (res.status == 401) {
    return unauthenticated(prefix + (user.empty()
                                         ? "; Harbor credentials are required"
                                         : "; the credentials for user " + user +
                                               " were rejected (Harbor treats them as anonymous)"));
  }
  if (res.status == 403) {
    return permissionDenied(
        prefix + (user.empty() ? "" : "; user " + user + " lacks the permission for this call"));
  }
  return net::statusFromHttp(res.status, prefix);
}

awaitable<StatusOr<net::ClientResponse>> ApiClient::send(std::string method, std::string path,
                                                         std::string body, Deadline deadline) {
  net::ClientRequest req;
  req.method = std::move(method);
  req.url = options_.url + path;
  req.deadline = deadline;
  req.headers.push_back({"Accept", "application/json"});
  req.headers.push_back({"X-Is-Resource-Name", "true"});
  if (!body.empty()) {
    req.headers.push_back({"Content-Type", "application/json"});
    req.body = std::move(body);
  }
  if (const BasicCredentials c = credentials_->get(); !c.empty()) {
    req.headers.push_back(
        {"Authorization", "Basic " + hm::base64Encode(c.username + ":" + c.password)});
  }
  if (rate_) {
    const auto now = std::chrono::steady_clock::now();
    auto at = rate_->reserve(now, deadline);
    if (!at) {
      co_return resourceExhausted("Harbor " + options_.url + ": --harbor-rate-limit (" +
                                  std::to_string(static_cast<int64_t>(rate_->perSecond())) +
                                  "/s) leaves no slot before the deadline");
    }
    if (*at > now) {
      boost::asio::steady_timer wait(co_await boost::asio::this_coro::executor, *at);
      co_await wait.async_wait(boost::asio::use_awaitable);
    }
  }
  auto res = co_await http_->send(std::move(req));
  if (!res.ok()) {
    co_return res.status().withContext("Harbor " + options_.url);
  }
  co_return res;
}

awaitable<Status> ApiClient::call(std::string method, std::string path, std::string body, int want,
                                  std::string what, Deadline deadline) {
  auto res = co_await send(std::move(method), std::move(path), std::move(body), deadline);
  if (!res.ok()) {
    co_return res.status();
  }
  if (res->status != want) {
    co_return errorFrom(*res, what);
  }
  co_return okStatus();
}

template <typename T>
awaitable<StatusOr<T>> ApiClient::get(std::string path, std::string what,
                                      StatusOr<T> (*parse)(std::string_view), Deadline deadline) {
  auto res = co_await send("GET", std::move(path), "", deadline);
  if (!res.ok()) {
    co_return res.status();
  }
  if (res->status != 200) {
    co_return errorFrom(*res, what);
  }
  co_return parse(res->body);
}

awaitable<StatusOr<std::string>> ApiClient::health(Deadline deadline) {
  auto res = co_await send("GET", "/api/v2.0/health", "", deadline);
  if (!res.ok()) {
    co_return res.status();
  }
  if (res->status != 200) {
    co_return errorFrom(*res, "health");
  }
  json j = json::parse(res->body, nullptr, false);
  if (!j.is_object() || !j.contains("status") || !j["status"].is_string()) {
    co_return invalidArgument("malformed Harbor health: no status");
  }
  co_return j["status"].get<std::string>();
}

awaitable<StatusOr<bool>> ApiClient::projectExists(std::string name, Deadline deadline) {
  auto res = co_await send("HEAD", "/api/v2.0/projects?project_name=" + hm::percentEncode(name), "",
                           deadline);
  if (!res.ok()) {
    co_return res.status();
  }
  if (res->status == 200) {
    co_return true;
  }
  if (res->status == 404) {
    co_return false;
  }
  co_return errorFrom(*res, "project " + name);
}

awaitable<StatusOr<Project>> ApiClient::getProject(std::string name, Deadline deadline) {
  std::string path = "/api/v2.0/projects/" + hm::percentEncode(name);
  co_return co_await get(std::move(path), "project " + name, &parseProject, deadline);
}

awaitable<StatusOr<int64_t>> ApiClient::createProject(ProjectSpec spec, Deadline deadline) {
  json body = {{"project_name", spec.name}, {"metadata", json::object()}};
  for (const auto& [k, v] : spec.metadata) {
    body["metadata"][k] = v;
  }
  if (spec.storageLimit) {
    body["storage_limit"] = *spec.storageLimit;
  }
  std::string what = "create project " + spec.name;
  co_return co_await create("/api/v2.0/projects", body.dump(), std::move(what), deadline);
}

awaitable<StatusOr<int64_t>> ApiClient::create(std::string path, std::string body, std::string what,
                                               Deadline deadline) {
  auto res = co_await send("POST", std::move(path), std::move(body), deadline);
  if (!res.ok()) {
    co_return res.status();
  }
  if (res->status != 201) {
    co_return errorFrom(*res, what);
  }
  auto id = locationId(res->header("Location"));
  if (!id) {
    co_return invalidArgument("Harbor: " + what + " succeeded but its Location header holds no id");
  }
  co_return *id;
}

awaitable<Status> ApiClient::deleteProject(std::string name, Deadline deadline) {
  std::string path = "/api/v2.0/projects/" + hm::percentEncode(name);
  co_return co_await call("DELETE", std::move(path), "", 200, "delete project " + name, deadline);
}

namespace {

json allowlistJson(const CveAllowlist& list) {
  json items = json::array();
  for (const auto& id : list.items) {
    items.push_back({{"cve_id", id}});
  }
  json j = {{"items", items}};
  j["expires_at"] = list.expiresAt ? json(*list.expiresAt) : json(nullptr);
  return j;
}

}  // namespace

awaitable<Status> ApiClient::updateProject(std::string name, ProjectUpdate update,
                                           Deadline deadline) {
  json body = {{"metadata", json::object()}};
  for (const auto& [k, v] : update.metadata) {
    body["metadata"][k] = v;
  }
  if (update.allowlist) {
    body["cve_allowlist"] = allowlistJson(*update.allowlist);
  }
  std::string path = "/api/v2.0/projects/" + hm::percentEncode(name);
  co_return co_await call("PUT", std::move(path), body.dump(), 200, "update project " + name,
                          deadline);
}

awaitable<Status> ApiClient::setProjectMetadata(std::string name, std::string key,
                                                std::string value, Deadline deadline) {
  std::string path =
      "/api/v2.0/projects/" + hm::percentEncode(name) + "/metadatas/" + hm::percentEncode(key);
  std::string body = json{{key, value}}.dump();
  co_return co_await call("PUT", std::move(path), std::move(body), 200,
                          "set metadata " + key + " of project " + name, deadline);
}

awaitable<Status> ApiClient::deleteProjectMetadata(std::string name, std::string key,
                                                   Deadline deadline) {
  std::string path =
      "/api/v2.0/projects/" + hm::percentEncode(name) + "/metadatas/" + hm::percentEncode(key);
  co_return co_await call("DELETE", std::move(path), "", 200,
                          "delete metadata " + key + " of project " + name, deadline);
}

awaitable<StatusOr<Quota>> ApiClient::projectQuota(int64_t projectId, Deadline deadline) {
  std::string path = "/api/v2.0/quotas?reference=project&reference_id=" + std::to_string(projectId);
  co_return co_await get(std::move(path), "quota of project " + std::to_string(projectId),
                         &parseQuotaList, deadline);
}

awaitable<Status> ApiClient::setStorageQuota(int64_t quotaId, int64_t bytes, Deadline deadline) {
  json body = {{"hard", {{"storage", bytes}}}};
  co_return co_await call("PUT", "/api/v2.0/quotas/" + std::to_string(quotaId), body.dump(), 200,
                          "set quota " + std::to_string(quotaId), deadline);
}

awaitable<StatusOr<CveAllowlist>> ApiClient::systemAllowlist(Deadline deadline) {
  co_return co_await get("/api/v2.0/system/CVEAllowlist", "system CVE allowlist", &parseAllowlist,
                         deadline);
}

awaitable<Status> ApiClient::setSystemAllowlist(CveAllowlist list, Deadline deadline) {
  std::string body = allowlistJson(list).dump();
  co_return co_await call("PUT", "/api/v2.0/system/CVEAllowlist", std::move(body), 200,
                          "set system CVE allowlist", deadline);
}

awaitable<StatusOr<SystemInfo>> ApiClient::systemInfo(Deadline deadline) {
  co_return co_await get("/api/v2.0/systeminfo", "systeminfo", &parseSystemInfo, deadline);
}

awaitable<StatusOr<Artifact>> ApiClient::getArtifact(std::string project, std::string repository,
                                                     std::string reference, Deadline deadline) {
  std::string path = artifactPath(project, repository, reference) +
                     "?with_scan_overview=true&with_accessory=true&with_tag=true";
  co_return co_await get(std::move(path),
                         "artifact " + project + "/" + repository + "@" + reference, &parseArtifact,
                         deadline);
}

awaitable<StatusOr<std::optional<VulnerabilityReport>>> ApiClient::vulnerabilities(
    std::string project, std::string repository, std::string reference, Deadline deadline) {
  std::string path = artifactPath(project, repository, reference) + "/additions/vulnerabilities";
  co_return co_await get(std::move(path),
                         "vulnerabilities of " + project + "/" + repository + "@" + reference,
                         &parseVulnerabilities, deadline);
}

awaitable<Status> ApiClient::scanArtifact(std::string project, std::string repository,
                                          std::string reference, Deadline deadline) {
  std::string path = artifactPath(project, repository, reference) + "/scan";
  std::string body = R"({"scan_type":"vulnerability"})";
  co_return co_await call("POST", std::move(path), std::move(body), 202,
                          "scan " + project + "/" + repository + "@" + reference, deadline);
}

namespace {

json permissionsJson(const std::vector<RobotPermission>& permissions) {
  json out = json::array();
  for (const auto& p : permissions) {
    json access = json::array();
    for (const auto& a : p.access) {
      access.push_back({{"resource", a.resource}, {"action", a.action}, {"effect", "allow"}});
    }
    out.push_back({{"kind", p.kind}, {"namespace", p.nameSpace}, {"access", access}});
  }
  return out;
}

}  // namespace

awaitable<StatusOr<CreatedRobot>> ApiClient::createRobot(RobotSpec spec, Deadline deadline) {
  json body = {{"name", spec.name},
               {"description", spec.description},
               {"duration", spec.durationDays},
               {"level", spec.level},
               {"disable", spec.disabled},
               {"permissions", permissionsJson(spec.permissions)}};
  auto res = co_await send("POST", "/api/v2.0/robots", body.dump(), deadline);
  if (!res.ok()) {
    co_return res.status();
  }
  if (res->status != 201) {
    co_return errorFrom(*res, "create robot " + spec.name);
  }
  json j = json::parse(res->body, nullptr, false);
  if (!j.is_object() || !j.contains("id") || !j["id"].is_number_integer() ||
      !j.contains("secret") || !j["secret"].is_string() || !j.contains("name") ||
      !j["name"].is_string()) {
    co_return invalidArgument("Harbor created robot " + spec.name +
                              " but its answer holds no id, name or secret");
  }
  CreatedRobot out{j["id"].get<int64_t>(), j["name"].get<std::string>(),
                   j["secret"].get<std::string>(),
                   j.contains("expires_at") && j["expires_at"].is_number_integer()
                       ? j["expires_at"].get<int64_t>()
                       : -1};
  co_return out;
}

namespace {

// Harbor's robot list query (q=Level=…,name=…). Harbor unescapes q a second time, so a '+' in a
// project robot's stored name is sent as %252B.
std::string robotsPath(std::string q, const std::string& storedName) {
  if (!storedName.empty()) {
    std::string escaped;
    for (char c : storedName) {
      escaped += c == '+' ? std::string("%2B") : std::string(1, c);
    }
    q += ",name=" + escaped;
  }
  return "/api/v2.0/robots?q=" + hm::percentEncode(q) + "&";
}

}  // namespace

awaitable<StatusOr<std::vector<Robot>>> ApiClient::listProjectRobots(int64_t projectId,
                                                                     std::string storedName,
                                                                     Deadline deadline) {
  std::string path = robotsPath("Level=project,ProjectID=" + std::to_string(projectId), storedName);
  co_return co_await listPages(std::move(path), "robots of project " + std::to_string(projectId),
                               &parseRobotList, deadline);
}

awaitable<StatusOr<std::vector<Robot>>> ApiClient::listSystemRobots(std::string storedName,
                                                                    Deadline deadline) {
  // Without Level Harbor lists system robots too; naming it says what is meant.
  std::string path = robotsPath("Level=system", storedName);
  co_return co_await listPages(std::move(path), "system robots", &parseRobotList, deadline);
}

template <typename T>
awaitable<StatusOr<std::vector<T>>> ApiClient::listPages(
    std::string path, std::string what, StatusOr<std::vector<T>> (*parse)(std::string_view),
    Deadline deadline) {
  std::vector<T> all;
  constexpr int kPageSize = 100;  // Harbor's maximum
  for (int page = 1; page <= 1000; ++page) {
    std::string url =
        path + "page=" + std::to_string(page) + "&page_size=" + std::to_string(kPageSize);
    auto res = co_await send("GET", std::move(url), "", deadline);
    if (!res.ok()) {
      co_return res.status();
    }
    if (res->status != 200) {
      co_return errorFrom(*res, what);
    }
    auto items = parse(res->body);
    if (!items.ok()) {
      co_return items.status();
    }
    const size_t n = items->size();
    all.insert(all.end(), std::make_move_iterator(items->begin()),
               std::make_move_iterator(items->end()));
    // Stop on a short page or when Harbor's Link header has no next page.
    if (n < static_cast<size_t>(kPageSize) ||
        linkRelations(res->header("Link")).count("next") == 0) {
      break;
    }
  }
  co_return all;
}

namespace {

std::string webhookPoliciesPath(const std::string& project) {
  return "/api/v2.0/projects/" + hm::percentEncode(project) + "/webhook/policies";
}

}  // namespace

awaitable<StatusOr<std::vector<WebhookPolicy>>> ApiClient::listWebhookPolicies(std::string project,
                                                                               Deadline deadline) {
  co_return co_await listPages(webhookPoliciesPath(project) + "?",
                               "webhook policies of project " + project, &parseWebhookPolicyList,
                               deadline);
}

awaitable<StatusOr<int64_t>> ApiClient::createWebhookPolicy(std::string project,
                                                            WebhookPolicy policy,
                                                            Deadline deadline) {
  std::string what = "create webhook policy " + policy.name + " in project " + project;
  co_return co_await create(webhookPoliciesPath(project), webhookPolicyJson(policy),
                            std::move(what), deadline);
}

awaitable<Status> ApiClient::updateWebhookPolicy(std::string project, WebhookPolicy policy,
                                                 Deadline deadline) {
  std::string path = webhookPoliciesPath(project) + "/" + std::to_string(policy.id);
  co_return co_await call("PUT", std::move(path), webhookPolicyJson(policy), 200,
                          "update webhook policy " + policy.name + " in project " + project,
                          deadline);
}

awaitable<Status> ApiClient::deleteWebhookPolicy(std::string project, int64_t id,
                                                 Deadline deadline) {
  std::string path = webhookPoliciesPath(project) + "/" + std::to_string(id);
  co_return co_await call("DELETE", std::move(path), "", 200,
                          "delete webhook policy " + std::to_string(id) + " in project " + project,
                          deadline);
}

namespace {

std::string immutableRulesPath(const std::string& project) {
  return "/api/v2.0/projects/" + hm::percentEncode(project) + "/immutabletagrules";
}

}  // namespace

awaitable<StatusOr<std::vector<ImmutableRule>>> ApiClient::listImmutableRules(std::string project,
                                                                              Deadline deadline) {
  co_return co_await listPages(immutableRulesPath(project) + "?",
                               "immutable tag rules of project " + project, &parseImmutableRuleList,
                               deadline);
}

awaitable<StatusOr<int64_t>> ApiClient::createImmutableRule(std::string project, ImmutableRule rule,
                                                            Deadline deadline) {
  rule.id = 0;
  std::string what = "create immutable tag rule in project " + project;
  co_return co_await create(immutableRulesPath(project), immutableRuleJson(rule), std::move(what),
                            deadline);
}

awaitable<Status> ApiClient::updateImmutableRule(std::string project, ImmutableRule rule,
                                                 Deadline deadline) {
  std::string path = immutableRulesPath(project) + "/" + std::to_string(rule.id);
  co_return co_await call(
      "PUT", std::move(path), immutableRuleJson(rule), 200,
      "update immutable tag rule " + std::to_string(rule.id) + " in project " + project, deadline);
}

awaitable<Status> ApiClient::deleteImmutableRule(std::string project, int64_t id,
                                                 Deadline deadline) {
  std::string path = immutableRulesPath(project) + "/" + std::to_string(id);
  co_return co_await call(
      "DELETE", std::move(path), "", 200,
      "delete immutable tag rule " + std::to_string(id) + " in project " + project, deadline);
}

awaitable<StatusOr<RetentionPolicy>> ApiClient::getRetention(int64_t id, Deadline deadline) {
  std::string path = "/api/v2.0/retentions/" + std::to_string(id);
  co_return co_await get(std::move(path), "retention policy " + std::to_string(id),
                         &parseRetentionPolicy, deadline);
}

awaitable<StatusOr<int64_t>> ApiClient::createRetention(RetentionPolicy policy, Deadline deadline) {
  policy.id = 0;
  std::string what = "create the retention policy of project " + std::to_string(policy.projectId);
  co_return co_await create("/api/v2.0/retentions", retentionPolicyJson(policy), std::move(what),
                            deadline);
}

awaitable<Status> ApiClient::updateRetention(RetentionPolicy policy, Deadline deadline) {
  std::string path = "/api/v2.0/retentions/" + std::to_string(policy.id);
  co_return co_await call("PUT", std::move(path), retentionPolicyJson(policy), 200,
                          "update retention policy " + std::to_string(policy.id), deadline);
}

namespace {

std::string membersPath(const std::string& project) {
  return "/api/v2.0/projects/" + hm::percentEncode(project) + "/members";
}

}  // namespace

awaitable<StatusOr<std::vector<ProjectMember>>> ApiClient::listMembers(std::string project,
                                                                       Deadline deadline) {
  co_return co_await listPages(membersPath(project) + "?", "members of project " + project,
                               &parseMemberList, deadline);
}

awaitable<StatusOr<int64_t>> ApiClient::addMember(std::string project, MemberSpec member,
                                                  Deadline deadline) {
  std::string what = "add member " + std::string(member.group ? "group " : "user ") + member.name +
                     " to project " + project;
  co_return co_await create(membersPath(project), memberJson(member), std::move(what), deadline);
}

awaitable<Status> ApiClient::setMemberRole(std::string project, int64_t id, int role,
                                           Deadline deadline) {
  std::string path = membersPath(project) + "/" + std::to_string(id);
  std::string body = json{{"role_id", role}}.dump();
  co_return co_await call("PUT", std::move(path), std::move(body), 200,
                          "set the role of member " + std::to_string(id) + " in project " + project,
                          deadline);
}

awaitable<Status> ApiClient::removeMember(std::string project, int64_t id, Deadline deadline) {
  std::string path = membersPath(project) + "/" + std::to_string(id);
  co_return co_await call("DELETE", std::move(path), "", 200,
                          "remove member " + std::to_string(id) + " from project " + project,
                          deadline);
}

awaitable<StatusOr<Robot>> ApiClient::getRobot(int64_t id, Deadline deadline) {
  std::string path = "/api/v2.0/robots/" + std::to_string(id);
  co_return co_await get(std::move(path), "robot " + std::to_string(id), &parseRobot, deadline);
}

awaitable<Status> ApiClient::updateRobot(Robot robot, Deadline deadline) {
  json body = {{"id", robot.id},
               {"name", robot.name},
               {"description", robot.description},
               {"level", robot.level},
               {"duration", robot.durationDays},
               {"disable", robot.disabled},
               {"permissions", permissionsJson(robot.permissions)}};
  std::string path = "/api/v2.0/robots/" + std::to_string(robot.id);
  co_return co_await call("PUT", std::move(path), body.dump(), 200, "update robot " + robot.name,
                          deadline);
}

awaitable<Status> ApiClient::deleteRobot(int64_t id, Deadline deadline) {
  std::string path = "/api/v2.0/robots/" + std::to_string(id);
  co_return co_await call("DELETE", std::move(path), "", 200, "delete robot " + std::to_string(id),
                          deadline);
}

awaitable<StatusOr<std::string>> ApiClient::refreshRobotSecret(int64_t id, Deadline deadline) {
  auto res = co_await send("PATCH", "/api/v2.0/robots/" + std::to_string(id), "{}", deadline);
  if (!res.ok()) {
    co_return res.status();
  }
  if (res->status != 200) {
    co_return errorFrom(*res, "refresh secret of robot " + std::to_string(id));
  }
  json j = json::parse(res->body, nullptr, false);
  if (!j.is_object() || !j.contains("secret") || !j["secret"].is_string()) {
    co_return invalidArgument("Harbor refreshed robot " + std::to_string(id) +
                              " but returned no secret");
  }
  co_return j["secret"].get<std::string>();
}

awaitable<Status> ApiClient::setRobotSecret(int64_t id, std::string secret, Deadline deadline) {
  json body = {{"secret", std::move(secret)}};
  co_return co_await call("PATCH", "/api/v2.0/robots/" + std::to_string(id), body.dump(), 200,
                          "set the secret of robot " + std::to_string(id), deadline);
}

awaitable<Status> ApiClient::probeCredentials(std::string username, std::string secret,
                                              Deadline deadline) {
  net::ClientRequest req;
  req.url = options_.url + "/api/v2.0/system/CVEAllowlist";
  req.deadline = deadline;
  req.headers.push_back({"Accept", "application/json"});
  req.headers.push_back({"Authorization", "Basic " + hm::base64Encode(username + ":" + secret)});
  auto res = co_await http_->send(std::move(req));
  if (!res.ok()) {
    co_return res.status().withContext("Harbor " + options_.url);
  }
  if (res->status == 401 || res->status == 403) {
    co_return unauthenticated("Harbor rejects the credentials of " + username);
  }
  if (res->status != 200) {
    co_return errorFrom(*res, "check the credentials of " + username);
  }
  co_return okStatus();
}

}  // namespace hm::harbor
