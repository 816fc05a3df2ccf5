// harbor-sim: the part of Harbor that Harbormaster talks to, for tests. See README.md.
#include "harbormaster/net/server.h"

#include <openssl/evp.h>
#include <strings.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "api.h"
#include "harbormaster/base/encoding.h"
#include "harbormaster/base/files.h"
#include "harbormaster/base/log.h"
#include "harbormaster/base/time.h"
#include "harbormaster/net/client.h"
#include "state.h"
#include "token.h"

namespace harborsim {

using hm::net::HttpRequest;
using hm::net::HttpResponse;
using nlohmann::json;

HttpResponse harborError(int status, const std::string& code, const std::string& message) {
  json body = {{"errors", json::array({{{"code", code}, {"message", message}}})}};
  return {status, "application/json", body.dump(), {}};
}

std::string formDecode(std::string_view s) {
  return hm::percentDecode(s, /*plusAsSpace=*/true);
}

std::optional<HttpResponse> readPaging(const HttpRequest& req, Paging& out) {
  auto q = req.query();
  try {
    if (q.count("page")) {
      out.page = std::stoll(q.find("page")->second);
    }
    if (q.count("page_size")) {
      out.pageSize = std::stoll(q.find("page_size")->second);
    }
  } catch (const std::exception&) {
    return harborError(422, "UNPROCESSABLE_ENTITY", "page and page_size must be integers");
  }
  if (out.pageSize > 100 || out.pageSize < 1 || out.page < 1) {
    return harborError(422, "UNPROCESSABLE_ENTITY",
                       "page_size in query should be less than or equal to 100");
  }
  return std::nullopt;
}

std::vector<std::string> segments(std::string_view path) {
  std::string once = hm::percentDecode(path, false);
  std::vector<std::string> out;
  size_t start = 1;
  while (start <= once.size()) {
    size_t slash = once.find('/', start);
    out.push_back(once.substr(start, slash == std::string::npos ? slash : slash - start));
    if (slash == std::string::npos) {
      break;
    }
    start = slash + 1;
  }
  return out;
}

namespace {

namespace asio = boost::asio;
using hm::net::HttpRequest;
using hm::net::HttpResponse;
using nlohmann::json;

constexpr const char* kIssuer = "harbor-token-issuer";
constexpr const char* kService = "harbor-registry";

struct Options {
  std::string listen = "127.0.0.1:0";
  std::string adminPassword;
  std::string registryUrl;
  std::string tokenCert;
  std::string tokenKey;
  std::string tlsCert;
  std::string tlsKey;
  std::string externalUrl;
  std::string portsFile;
  std::string notifyCa;  // CA bundle trusted for webhook targets, besides the system store
};

// A /sim/faults entry: the next `count` requests whose path starts with `pathPrefix` wait
// `latency` and, when `status` is set, get that status with Harbor's error body.
struct Fault {
  std::string pathPrefix;
  int status = 0;
  int count = 1;
  std::chrono::milliseconds latency{0};
};

std::optional<std::pair<std::string, std::string>> basicAuth(std::string_view header) {
  if (header.substr(0, 6) != "Basic ") {
    return std::nullopt;
  }
  std::string in(header.substr(6));
  std::string out(in.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) {
    return std::nullopt;
  }
  size_t pad = in.size() >= 2 && in.substr(in.size() - 2) == "==" ? 2
               : !in.empty() && in.back() == '='                  ? 1
                                                                  : 0;
  out.resize(static_cast<size_t>(n) - pad);
  size_t colon = out.find(':');
  if (colon == std::string::npos) {
    return std::nullopt;
  }
  return std::make_pair(out.substr(0, colon), out.substr(colon + 1));
}

class HarborSim {
 public:
  HarborSim(Options opts, std::unique_ptr<TokenSigner> signer,
            std::shared_ptr<hm::net::HttpClient> upstream,
            std::shared_ptr<hm::net::HttpClient> notifier,
            std::shared_ptr<hm::net::HttpClient> insecureNotifier, asio::any_io_executor executor)
      : opts_(std::move(opts)),
        signer_(std::move(signer)),
        upstream_(std::move(upstream)),
        notifier_(std::move(notifier)),
        insecureNotifier_(std::move(insecureNotifier)),
        executor_(std::move(executor)) {
    state_.setEventSink([this](HarborEvent e) { notify(std::move(e)); });
  }

  void setExternalUrl(std::string url) { info_.externalUrl = std::move(url); }

  asio::awaitable<HttpResponse> handle(HttpRequest req) {
    std::string path(req.path());
    if (path.rfind("/sim/", 0) == 0) {
      co_return control(req);
    }
    countRequest(req.method, path);
    std::optional<Fault> fault = takeFault(path);
    if (fault && fault->latency.count() > 0) {
      asio::steady_timer delay(co_await asio::this_coro::executor, fault->latency);
      co_await delay.async_wait(asio::use_awaitable);
    }
    if (fault && fault->status != 0) {
      co_return harborError(fault->status, "SIMULATED_FAULT",
                            "fault injected by harbor-sim for " + fault->pathPrefix);
    }
    co_return co_await serve(std::move(req), path);
  }

 private:
  asio::awaitable<HttpResponse> serve(HttpRequest req, const std::string& path) {
    if (path == "/service/token") {
      co_return co_await token(req);
    }
    if (size_t r = path.find("/referrers/");
        path.rfind("/v2/", 0) == 0 && r != std::string::npos && req.method == "GET") {
      co_return co_await referrers(req, path.substr(4, r - 4), path.substr(r + 11));
    }
    if (path == "/v2" || path.rfind("/v2/", 0) == 0) {
      co_return co_await proxy(req);
    }
    if (path == "/api/v2.0/ping") {
      co_return HttpResponse{200, "text/plain", "Pong", {}};
    }
    if (path == "/api/v2.0/health") {
      json components = json::array();
      for (const char* c : {"core", "database", "jobservice", "portal", "redis", "registry",
                            "registryctl", "trivy"}) {
        components.push_back({{"name", c}, {"status", "healthy"}});
      }
      co_return HttpResponse{200,
                             "application/json",
                             json{{"status", "healthy"}, {"components", components}}.dump(),
                             {}};
    }
    if (path.rfind("/api/v2.0/", 0) != 0) {
      co_return harborError(404, "NOT_FOUND", "path " + path + " was not found");
    }
    Caller caller = co_await authenticate(req);
    if (path.rfind("/api/v2.0/projects", 0) == 0) {
      co_return projectsApi(state_, req, caller);
    }
    if (path.rfind("/api/v2.0/robots", 0) == 0) {
      co_return robotsApi(state_, req, caller);
    }
    if (path.rfind("/api/v2.0/quotas", 0) == 0) {
      co_return quotasApi(state_, req, caller);
    }
    if (path.rfind("/api/v2.0/retentions", 0) == 0) {
      co_return retentionsApi(state_, req, caller);
    }
    co_return systemApi(state_, req, caller, info_);
  }

  // The /sim/ control API (README.md): scan reports, faults, request counts.
  HttpResponse control(const HttpRequest& req) {
    std::string path(req.path());
    if (path == "/sim/scan" && req.method == "POST") {
      return simScan(req);
    }
    std::lock_guard lock(simMu_);
    if (path == "/sim/faults" && req.method == "POST") {
      json body = json::parse(req.body, nullptr, false);
      if (!body.is_object() || !body.contains("path_prefix") || !body["path_prefix"].is_string()) {
        return harborError(400, "BAD_REQUEST", "need path_prefix");
      }
      Fault f{body["path_prefix"].get<std::string>(), body.value("status", 0),
              body.value("count", 1), std::chrono::milliseconds(body.value("latency_ms", 0))};
      faults_.push_back(std::move(f));
      return {200, "application/json", "{}", {}};
    }
    // The registry behind the sim, when it was started after the sim (its token realm needs
    // the sim's port, which the sim chose).
    if (path == "/sim/registry" && req.method == "PUT") {
      json body = json::parse(req.body, nullptr, false);
      if (!body.is_object() || !body.contains("url") || !body["url"].is_string()) {
        return harborError(400, "BAD_REQUEST", "need url");
      }
      registryUrl_ = body["url"].get<std::string>();
      return {200, "application/json", "{}", {}};
    }
    if (path == "/sim/faults" && req.method == "DELETE") {
      faults_.clear();
      return {200, "application/json", "{}", {}};
    }
    if (path == "/sim/stats" && req.method == "GET") {
      json byPath = json::object();
      for (const auto& [key, n] : stats_) {
        byPath[key] = n;
      }
      return {200, "application/json", json{{"requests", byPath}}.dump(), {}};
    }
    if (path == "/sim/sink" && req.method == "POST") {
      return {200, "application/json", "{}", {}};  // a webhook target for tests
    }
    if (path == "/sim/notifications" && req.method == "GET") {
      return {200, "application/json", json{{"deliveries", deliveries_}}.dump(), {}};
    }
    if (path == "/sim/stats" && req.method == "DELETE") {
      stats_.clear();
      return {200, "application/json", "{}", {}};
    }
    return harborError(404, "NOT_FOUND", "path " + path + " was not found");
  }

  // Harbor's job service posts each notification on its own, after the request that caused
  // it, and tries a failed one again (three attempts here, a second apart).
  void notify(HarborEvent event) {
    std::vector<Notification> out;
    {
      std::lock_guard lock(simMu_);
      std::string host = info_.externalUrl.substr(info_.externalUrl.find("://") + 3);
      out = notificationsFor(state_, event, host, nextEventId_);
    }
    for (auto& n : out) {
      asio::co_spawn(executor_, deliver(std::move(n)), [](std::exception_ptr e) {
        if (e) {
          hm::log::error("harbor-sim: a notification failed unexpectedly", {});
        }
      });
    }
  }

  asio::awaitable<void> deliver(Notification n) {
    json record = {{"address", n.address},
                   {"event_type", n.eventType},
                   {"content_type", n.contentType},
                   {"body", json::parse(n.body)}};
    for (int attempt = 1; attempt <= 3; ++attempt) {
      hm::net::ClientRequest req;
      req.method = "POST";
      req.url = n.address;
      req.body = n.body;
      req.headers.push_back({"Content-Type", n.contentType});
      if (!n.authHeader.empty()) {
        req.headers.push_back({"Authorization", n.authHeader});
      }
      req.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      auto& client = n.skipCertVerify ? insecureNotifier_ : notifier_;
      auto res = co_await client->send(std::move(req));
      record["attempts"] = attempt;
      if (res.ok()) {
        record["status"] = res->status;
        if (res->status >= 200 && res->status < 300) {
          break;
        }
      } else {
        record["status"] = 0;
        record["error"] = res.status().message();
      }
      asio::steady_timer wait(executor_, std::chrono::seconds(1));
      co_await wait.async_wait(asio::use_awaitable);
    }
    std::lock_guard lock(simMu_);
    deliveries_.push_back(std::move(record));
  }

  void countRequest(const std::string& method, const std::string& path) {
    std::lock_guard lock(simMu_);
    ++stats_[method + " " + path];
  }

  // The first matching fault with calls left; a negative count never runs out.
  std::optional<Fault> takeFault(const std::string& path) {
    std::lock_guard lock(simMu_);
    for (auto it = faults_.begin(); it != faults_.end(); ++it) {
      if (path.rfind(it->pathPrefix, 0) == 0) {
        Fault f = *it;
        if (it->count > 0 && --it->count == 0) {
          faults_.erase(it);
        }
        return f;
      }
    }
    return std::nullopt;
  }

  // Harbor's token service: each scope gets the requested actions the caller may do on that
  // project (Caller::can: admin, robot permissions, user roles, public read). Bad credentials
  // are not refused but continue as anonymous after Harbor's 1.5 s failed-login delay.
  asio::awaitable<HttpResponse> token(const HttpRequest& req) {
    auto q = req.query();
    Caller caller = co_await authenticate(req);
    std::string subject = caller.admin   ? "admin"
                          : caller.robot ? "robot$" + caller.robot->name
                          : caller.user  ? caller.user->name
                                         : "";
    std::vector<Access> granted;
    for (auto [it, end] = q.equal_range("scope"); it != end; ++it) {
      // repository:team/app:pull,push
      const std::string& scope = it->second;
      size_t first = scope.find(':');
      size_t last = scope.rfind(':');
      if (first == std::string::npos || last == first) {
        continue;
      }
      Access a{scope.substr(0, first), scope.substr(first + 1, last - first - 1), {}};
      // Harbor grants nothing on a repository whose project does not exist.
      auto project = state_.project(a.name.substr(0, a.name.find('/')), true);
      std::string actions = scope.substr(last + 1) + ",";
      for (size_t start = 0, comma; project && (comma = actions.find(',', start)) != actions.npos;
           start = comma + 1) {
        std::string action = actions.substr(start, comma - start);
        if (action == "*" ? caller.admin : caller.can(*project, "repository", action)) {
          a.actions.push_back(action);
        }
      }
      granted.push_back(std::move(a));
    }
    std::string service = q.count("service") ? q.find("service")->second : kService;
    std::string token = signer_->sign(kIssuer, subject, service, granted, 1800);
    json body = {{"token", token},
                 {"expires_in", 1800},
                 {"issued_at", hm::formatRfc3339(std::chrono::system_clock::now())}};
    co_return HttpResponse{200, "application/json", body.dump(), {}};
  }

  // Harbor (2.8+) serves the OCI 1.1 referrers API itself. The caller's registry token is
  // checked by asking the registry for the subject with it: its 401 (with the challenge) or 404
  // is the answer; otherwise an image index of the recorded referrers, filtered by artifactType.
  asio::awaitable<HttpResponse> referrers(const HttpRequest& req, const std::string& repository,
                                          const std::string& digest) {
    HttpRequest head = req;
    head.method = "HEAD";
    head.target = "/v2/" + repository + "/manifests/" + digest;
    // The caller asked for an index; the subject may be any manifest type.
    std::erase_if(head.headers,
                  [](const auto& h) { return strcasecmp(h.name.c_str(), "accept") == 0; });
    for (const char* type :
         {"application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
          "application/vnd.docker.distribution.manifest.v2+json",
          "application/vnd.docker.distribution.manifest.list.v2+json"}) {
      head.headers.push_back({"Accept", type});
    }
    HttpResponse subject = co_await proxy(head);
    if (subject.status != 200) {
      co_return subject;
    }
    auto q = req.query();
    std::string wanted = q.count("artifactType") ? q.find("artifactType")->second : "";
    json manifests = json::array();
    for (auto& d : state_.referrers(repository, digest)) {
      if (wanted.empty() || d["artifactType"] == wanted) {
        manifests.push_back(std::move(d));
      }
    }
    json index = {{"schemaVersion", 2},
                  {"mediaType", "application/vnd.oci.image.index.v1+json"},
                  {"manifests", manifests}};
    HttpResponse out{200, "application/vnd.oci.image.index.v1+json", index.dump(), {}};
    if (!wanted.empty()) {
      out.headers.push_back({"OCI-Filters-Applied", "artifactType"});
    }
    co_return out;
  }

  std::string registryUrl() {
    std::lock_guard lock(simMu_);
    return registryUrl_.empty() ? opts_.registryUrl : registryUrl_;
  }

  // Harbor's core fronts its registry on the same host and port.
  asio::awaitable<HttpResponse> proxy(const HttpRequest& req) {
    hm::net::ClientRequest up;
    up.method = req.method;
    up.url = registryUrl() + req.target;
    up.body = req.body;
    up.idempotent = false;  // transparent: the client retries, not the proxy
    for (const auto& h : req.headers) {
      std::string lower = h.name;
      std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
      if (lower == "connection" || lower == "transfer-encoding" || lower == "content-length" ||
          lower == "keep-alive") {
        continue;
      }
      up.headers.push_back(h);  // Host included: the registry builds Location URLs from it
    }
    if (!opts_.tlsCert.empty()) {
      // As Harbor's nginx does, so the registry's Location URLs say https.
      up.headers.push_back({"X-Forwarded-Proto", "https"});
    }
    auto res = co_await upstream_->send(std::move(up));
    if (!res.ok()) {
      co_return harborError(502, "BAD_GATEWAY", "registry unreachable: " + res.status().message());
    }
    recordIfManifestPush(req, *res);
    HttpResponse out;
    out.status = res->status;
    out.body = std::move(res->body);
    out.contentType = std::string(res->header("Content-Type"));
    for (const auto& h : res->headers) {
      std::string lower = h.name;
      std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
      if (lower == "content-type" || lower == "connection" || lower == "transfer-encoding" ||
          lower == "keep-alive" || (lower == "content-length" && req.method != "HEAD")) {
        continue;
      }
      out.headers.push_back(h);
    }
    co_return out;
  }

  // Harbor records an artifact when a manifest is pushed through it.
  void recordIfManifestPush(const HttpRequest& req, const hm::net::ClientResponse& res) {
    std::string path(req.path());
    size_t m = path.find("/manifests/");
    if (req.method != "PUT" || res.status != 201 || m == std::string::npos) {
      return;
    }
    std::string repository = path.substr(4, m - 4);
    std::string reference = path.substr(m + 11);
    std::string digest(res.header("Docker-Content-Digest"));
    if (!digest.empty()) {
      state_.recordPush(repository, reference, digest, std::string(req.header("Content-Type")),
                        req.body);
      std::string project = repository.substr(0, repository.find('/'));
      if (auto p = state_.project(project, true)) {
        HarborEvent e;
        e.type = "PUSH_ARTIFACT";
        e.project = project;
        e.repository = repository;
        e.resources.emplace_back(digest, reference);  // a push by digest names the digest
        e.operatorName = tokenSubject(req.header("Authorization"));
        e.occurAt = unixNow();
        e.publicProject = p->metadata.count("public") && p->metadata.at("public") == "true";
        state_.publish(std::move(e));
      }
    }
  }

  asio::awaitable<Caller> authenticate(const HttpRequest& req) {
    Caller caller;
    auto creds = basicAuth(req.header("Authorization"));
    if (!creds) {
      co_return caller;
    }
    if (creds->first == "admin" && creds->second == opts_.adminPassword) {
      caller.admin = true;
      co_return caller;
    }
    if (auto robot = state_.authenticateRobot(creds->first, creds->second)) {
      caller.robot = std::move(robot);
      co_return caller;
    }
    if (auto user = state_.user(creds->first); user && user->password == creds->second) {
      caller.admin = user->sysadmin;
      caller.user = std::move(user);
      co_return caller;
    }
    // Bad credentials are not refused: a 1.5 s delay, then the caller is anonymous.
    asio::steady_timer delay(co_await asio::this_coro::executor, std::chrono::milliseconds(1500));
    co_await delay.async_wait(asio::use_awaitable);
    co_return caller;
  }

  HttpResponse simScan(const HttpRequest& req) {
    json body = json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.contains("digest") || !body["digest"].is_string() ||
        !body.contains("status") || !body["status"].is_string()) {
      return harborError(400, "BAD_REQUEST", "need digest and status");
    }
    ScanReport r;
    r.status = body["status"].get<std::string>();
    r.started = hm::formatRfc3339(std::chrono::system_clock::now(), true);
    r.ended = r.started;
    for (const auto& v : body.value("vulnerabilities", json::array())) {
      r.findings.push_back({v.value("id", ""), v.value("package", ""), v.value("version", ""),
                            v.value("fix_version", ""), v.value("severity", "Unknown")});
    }
    const std::string digest = body["digest"].get<std::string>();
    const std::string status = r.status;
    state_.setReport(digest, std::move(r));
    // Harbor notifies when a scan ends: completed, failed (Error) or stopped.
    const std::string type = status == "Success"   ? "SCANNING_COMPLETED"
                             : status == "Error"   ? "SCANNING_FAILED"
                             : status == "Stopped" ? "SCANNING_STOPPED"
                                                   : "";
    const std::string repository = body.value("repository", "");
    for (const auto& a : state_.artifactsWithDigest(digest)) {
      if (type.empty() || (!repository.empty() && a.repository != repository)) {
        continue;
      }
      std::string project = a.repository.substr(0, a.repository.find('/'));
      auto p = state_.project(project, true);
      if (!p) {
        continue;
      }
      HarborEvent e;
      e.type = type;
      e.project = project;
      e.repository = a.repository;
      e.resources.emplace_back(digest, a.tags.empty() ? digest : a.tags.front());
      e.operatorName = "admin";
      e.occurAt = unixNow();
      e.publicProject = p->metadata.count("public") && p->metadata.at("public") == "true";
      e.scanOverview = artifactJson(a, state_.effectiveReport(a), true, false, project)
                           .value("scan_overview", json());
      state_.publish(std::move(e));
    }
    return {200, "application/json", "{}", {}};
  }

  static int64_t unixNow() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  // The `sub` of the registry token a push carried: who pushed (Harbor's event operator).
  static std::string tokenSubject(std::string_view authorization) {
    if (authorization.substr(0, 7) != "Bearer ") {
      return "";
    }
    std::string jwt(authorization.substr(7));
    size_t a = jwt.find('.'), b = jwt.find('.', a + 1);
    if (a == std::string::npos || b == std::string::npos) {
      return "";
    }
    std::string part = jwt.substr(a + 1, b - a - 1);
    for (char& c : part) {
      c = c == '-' ? '+' : c == '_' ? '/' : c;
    }
    while (part.size() % 4 != 0) {
      part += '=';
    }
    auto decoded = hm::base64Decode(part);
    json claims = decoded ? json::parse(*decoded, nullptr, false) : json();
    return claims.is_object() ? claims.value("sub", "") : "";
  }

  State state_;
  Options opts_;
  SimInfo info_;
  std::mutex simMu_;
  std::vector<Fault> faults_;
  std::string registryUrl_;  // from PUT /sim/registry; else --registry
  std::map<std::string, int64_t> stats_;
  std::unique_ptr<TokenSigner> signer_;
  std::shared_ptr<hm::net::HttpClient> upstream_;
  std::shared_ptr<hm::net::HttpClient> notifier_;          // verifies targets' certificates
  std::shared_ptr<hm::net::HttpClient> insecureNotifier_;  // skip_cert_verify targets
  asio::any_io_executor executor_;
  int64_t nextEventId_ = 0;
  json deliveries_ = json::array();  // GET /sim/notifications
};

int run(int argc, char** argv) {
  Options o;
  std::map<std::string, std::string*> flags = {
      {"--listen", &o.listen},        {"--admin-password", &o.adminPassword},
      {"--registry", &o.registryUrl}, {"--token-cert", &o.tokenCert},
      {"--token-key", &o.tokenKey},   {"--tls-cert", &o.tlsCert},
      {"--tls-key", &o.tlsKey},       {"--external-url", &o.externalUrl},
      {"--ports-file", &o.portsFile}, {"--notify-ca", &o.notifyCa}};
  for (int i = 1; i < argc; ++i) {
    auto it = flags.find(argv[i]);
    if (it == flags.end() || i + 1 >= argc) {
      std::cerr << "harbor-sim: unknown or incomplete flag " << argv[i] << "\n";
      return 2;
    }
    *it->second = argv[++i];
  }
  // --registry may come later, through PUT /sim/registry.
  if (o.adminPassword.empty() || o.tokenCert.empty() || o.tokenKey.empty()) {
    std::cerr << "harbor-sim: --admin-password, --token-cert and --token-key are required\n";
    return 2;
  }
  auto signer = TokenSigner::load(o.tokenCert, o.tokenKey);
  if (!signer.ok()) {
    std::cerr << "harbor-sim: " << signer.status().message() << "\n";
    return 2;
  }
  asio::io_context ioc;
  hm::net::ClientOptions co;
  co.retry.maxAttempts = 1;
  co.maxResponseBytes = 256 * 1024 * 1024;
  auto upstream = hm::net::HttpClient::create(ioc.get_executor(), co);
  if (!upstream.ok()) {
    std::cerr << "harbor-sim: " << upstream.status().message() << "\n";
    return 2;
  }
  // Notifications verify the target's certificate against the system store and --notify-ca.
  hm::net::ClientOptions no;
  no.retry.maxAttempts = 1;
  if (!o.notifyCa.empty()) {
    no.caFile = o.notifyCa;
    no.alsoSystemTrust = true;
  }
  auto notifier = hm::net::HttpClient::create(ioc.get_executor(), no);
  no.insecureSkipVerify = true;
  no.caFile.reset();
  auto insecureNotifier = hm::net::HttpClient::create(ioc.get_executor(), no);
  if (!notifier.ok() || !insecureNotifier.ok()) {
    std::cerr << "harbor-sim: "
              << (notifier.ok() ? insecureNotifier.status() : notifier.status()).message() << "\n";
    return 2;
  }
  HarborSim sim(o, std::move(*signer), std::shared_ptr<hm::net::HttpClient>(std::move(*upstream)),
                std::shared_ptr<hm::net::HttpClient>(std::move(*notifier)),
                std::shared_ptr<hm::net::HttpClient>(std::move(*insecureNotifier)),
                ioc.get_executor());
  auto listen = hm::net::parseListenAddress(o.listen);
  if (!listen.ok()) {
    std::cerr << "harbor-sim: " << listen.status().message() << "\n";
    return 2;
  }
  hm::net::ServerOptions so;
  so.address = listen->first;
  so.port = listen->second;
  so.bodyLimit = 256 * 1024 * 1024;  // image layers pass through
  if (!o.tlsCert.empty()) {
    so.tls = hm::net::TlsFiles{o.tlsCert, o.tlsKey};
  }
  auto server =
      hm::net::Server::create(ioc, so, [&sim](HttpRequest r) { return sim.handle(std::move(r)); });
  if (!server.ok()) {
    std::cerr << "harbor-sim: " << server.status().message() << "\n";
    return 2;
  }
  (*server)->start();
  sim.setExternalUrl(!o.externalUrl.empty()
                         ? o.externalUrl
                         : (o.tlsCert.empty() ? "http://" : "https://") + so.address + ":" +
                               std::to_string((*server)->port()));
  if (!o.portsFile.empty()) {
    auto written = hm::writePortsFile(o.portsFile, {{"listen", (*server)->port()}});
    if (!written.ok()) {
      std::cerr << "harbor-sim: " << written.message() << "\n";
      return 2;
    }
  }
  hm::log::info("Started harbor-sim",
                {{"listen", so.address + ":" + std::to_string((*server)->port())}});
  asio::signal_set signals(ioc, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code&, int) {
    (*server)->shutdown(std::chrono::seconds(2), [&] { ioc.stop(); });
  });
  std::thread second([&] { ioc.run(); });
  ioc.run();
  second.join();
  return 0;
}

}  // namespace
}  // namespace harborsim

int main(int argc, char** argv) {
  return harborsim::run(argc, argv);
}
