// harbor-sim: the part of Harbor that Harbormaster talks to, for tests. See README.md.
#include "harbormaster/net/server.h"  // first: it works around a Boost 1.74 header

#include <openssl/evp.h>

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "api.h"
#include "harbormaster/base/encoding.h"
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

std::multimap<std::string, std::string> queryOf(std::string_view target) {
  std::multimap<std::string, std::string> q;
  size_t qm = target.find('?');
  if (qm == std::string_view::npos) {
    return q;
  }
  std::string_view rest = target.substr(qm + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    size_t eq = pair.find('=');
    q.emplace(formDecode(pair.substr(0, eq)),
              eq == std::string_view::npos ? "" : formDecode(pair.substr(eq + 1)));
    if (amp == std::string_view::npos) {
      break;
    }
    rest = rest.substr(amp + 1);
  }
  return q;
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
            std::shared_ptr<hm::net::HttpClient> upstream)
      : opts_(std::move(opts)), signer_(std::move(signer)), upstream_(std::move(upstream)) {}

  asio::awaitable<HttpResponse> handle(HttpRequest req) {
    std::string path(req.path());
    if (path == "/service/token") {
      co_return co_await token(req);
    }
    if (path == "/v2" || path.rfind("/v2/", 0) == 0) {
      co_return co_await proxy(req);
    }
    if (path == "/sim/scan" && req.method == "POST") {
      co_return simScan(req);
    }
    if (path.rfind("/api/v2.0/projects", 0) == 0) {
      Caller caller = co_await authenticate(req);
      co_return projects(req, caller);
    }
    if (path.rfind("/api/v2.0/robots", 0) == 0) {
      Caller caller = co_await authenticate(req);
      co_return robotsApi(state_, req, caller);
    }
    if (path == "/api/v2.0/ping") {
      co_return HttpResponse{200, "text/plain", "Pong", {}};
    }
    if (path == "/api/v2.0/health") {
      json components = json::array();
      for (const char* c :
           {"core", "database", "jobservice", "portal", "redis", "registry", "registryctl"}) {
        components.push_back({{"name", c}, {"status", "healthy"}});
      }
      co_return HttpResponse{200,
                             "application/json",
                             json{{"status", "healthy"}, {"components", components}}.dump(),
                             {}};
    }
    co_return harborError(404, "NOT_FOUND", "path " + path + " was not found");
  }

 private:
  // Harbor's token service: valid credentials get the actions they ask for (the admin may do
  // anything); bad credentials are not refused but continue as anonymous, after Harbor's 1.5 s
  // failed-login delay, and anonymous gets no access to private projects.
  asio::awaitable<HttpResponse> token(const HttpRequest& req) {
    auto q = queryOf(req.target);
    Caller caller = co_await authenticate(req);
    const bool admin = caller.admin;
    std::string subject = admin ? "admin" : caller.robot ? "robot$" + caller.robot->name : "";
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
      const bool projectExists =
          state_.project(a.name.substr(0, a.name.find('/')), true).has_value();
      if (caller.robot && projectExists) {
        // A robot's token carries the repository actions its permissions allow.
        std::string project = a.name.substr(0, a.name.find('/'));
        for (const char* action : {"pull", "push"}) {
          if (scope.find(action, last) != std::string::npos &&
              caller.robot->can(project, "repository", action)) {
            a.actions.push_back(action);
          }
        }
      }
      if (admin && projectExists) {
        std::string actions = scope.substr(last + 1);
        size_t start = 0;
        while (start <= actions.size()) {
          size_t comma = actions.find(',', start);
          a.actions.push_back(
              actions.substr(start, comma == std::string::npos ? comma : comma - start));
          if (comma == std::string::npos) {
            break;
          }
          start = comma + 1;
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

  // Harbor's core fronts its registry on the same host and port.
  asio::awaitable<HttpResponse> proxy(const HttpRequest& req) {
    hm::net::ClientRequest up;
    up.method = req.method;
    up.url = opts_.registryUrl + req.target;
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
                        static_cast<int64_t>(req.body.size()));
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
    state_.setReport(body["digest"].get<std::string>(), std::move(r));
    return {200, "application/json", "{}", {}};
  }

  // Path segments after decoding the path once; repository segments are decoded again below,
  // as go-swagger and then Harbor's Prepare each unescape once (API-NOTES §0).
  static std::vector<std::string> segments(std::string_view path) {
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

  HttpResponse projects(const HttpRequest& req, const Caller& caller) {
    const bool admin = caller.admin;
    auto segs = segments(req.path());  // api, v2.0, projects, ...
    auto q = queryOf(req.target);
    const std::string& m = req.method;
    if (segs.size() == 3) {
      if (m == "HEAD") {
        if (caller.anonymous()) {
          return harborError(401, "UNAUTHORIZED", "unauthorized");
        }
        auto name = q.count("project_name") ? q.find("project_name")->second : "";
        return {state_.project(name, true) ? 200 : 404, "application/json", "", {}};
      }
      if (m == "POST") {
        return createProject(req, admin);
      }
      return harborError(405, "METHOD_NOT_ALLOWED", "method not allowed");
    }
    const std::string& ref = segs[3];
    const bool byName = req.header("X-Is-Resource-Name") == "true";
    auto project = state_.project(ref, byName);
    const bool isPublic = project && project->metadata["public"] == "true";
    // What the caller needs for this path: project:read, artifact:read or
    // artifact-addition:read; the admin may do anything, anonymous reads public projects.
    std::string resource = segs.size() >= 10  ? "artifact-addition"
                           : segs.size() >= 8 ? "artifact"
                                              : "project";
    bool allowed = admin || (m == "GET" && isPublic) ||
                   (caller.robot && project && caller.robot->can(project->name, resource, "read"));
    if (!allowed || (!project && !admin)) {
      return caller.anonymous() ? harborError(401, "UNAUTHORIZED", "unauthorized")
                                : harborError(403, "FORBIDDEN", "forbidden");
    }
    if (!project) {
      return harborError(404, "NOT_FOUND", "project " + ref + " not found");
    }
    if (segs.size() == 4) {
      if (m == "GET") {
        json metadata = json::object();
        for (const auto& [k, v] : project->metadata) {
          metadata[k] = v;
        }
        json j = {{"project_id", project->id},
                  {"name", project->name},
                  {"owner_id", 1},
                  {"owner_name", "admin"},
                  {"repo_count", state_.projectHasRepositories(project->name) ? 1 : 0},
                  {"creation_time", project->created},
                  {"update_time", project->created},
                  {"metadata", metadata}};
        return {200, "application/json", j.dump(), {}};
      }
      if (m == "DELETE" && admin) {
        if (state_.projectHasRepositories(project->name)) {
          return harborError(
              412, "PRECONDITION",
              "precondition failed: the project contains repositories, can not be deleted");
        }
        state_.deleteProject(project->name);
        return {200, "application/json", "", {}};
      }
      return harborError(405, "METHOD_NOT_ALLOWED", "method not allowed");
    }
    // projects/{p}/repositories/{r}/artifacts/{ref}[/additions/vulnerabilities]
    if ((segs.size() == 8 || segs.size() == 10) && segs[4] == "repositories" &&
        segs[6] == "artifacts" && m == "GET") {
      std::string repository = project->name + "/" + hm::percentDecode(segs[5], false);
      const std::string& reference = segs[7];
      auto artifact = state_.artifact(repository, reference);
      if (!artifact) {
        bool digest = reference.rfind("sha256:", 0) == 0;
        return harborError(
            404, "NOT_FOUND",
            "artifact " + repository + (digest ? "@" : ":") + reference + " not found");
      }
      auto report = state_.report(artifact->digest);
      if (segs.size() == 10 && segs[8] == "additions" && segs[9] == "vulnerabilities") {
        return {200, "application/json", vulnerabilitiesJson(report).dump(), {}};
      }
      if (segs.size() == 8) {
        bool withScan =
            q.count("with_scan_overview") && q.find("with_scan_overview")->second == "true";
        return {200,
                "application/json",
                artifactJson(*artifact, report, withScan, project->name).dump(),
                {}};
      }
    }
    return harborError(404, "NOT_FOUND", "path " + std::string(req.path()) + " was not found");
  }

  HttpResponse createProject(const HttpRequest& req, bool admin) {
    if (!admin) {
      return harborError(401, "UNAUTHORIZED", "unauthorized");
    }
    json body = json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.contains("project_name") || !body["project_name"].is_string()) {
      return harborError(422, "UNPROCESSABLE_ENTITY", "project_name in body is required");
    }
    std::map<std::string, std::string> metadata;
    if (body.contains("metadata")) {
      if (!body["metadata"].is_object()) {
        return harborError(422, "UNPROCESSABLE_ENTITY", "metadata in body must be of type object");
      }
      for (const auto& [k, v] : body["metadata"].items()) {
        if (!v.is_string()) {
          return harborError(422, "UNPROCESSABLE_ENTITY",
                             "metadata." + k + " in body must be of type string");
        }
        metadata[k] = v.get<std::string>();
      }
    }
    int64_t id = 0;
    auto [status, message] =
        state_.createProject(body["project_name"].get<std::string>(), metadata, id);
    if (status != 201) {
      return harborError(status, status == 409 ? "CONFLICT" : "BAD_REQUEST", message);
    }
    return {
        201, "application/json", "", {{"Location", "/api/v2.0/projects/" + std::to_string(id)}}};
  }

  State state_;
  Options opts_;
  std::unique_ptr<TokenSigner> signer_;
  std::shared_ptr<hm::net::HttpClient> upstream_;
};

int run(int argc, char** argv) {
  Options o;
  std::map<std::string, std::string*> flags = {
      {"--listen", &o.listen},        {"--admin-password", &o.adminPassword},
      {"--registry", &o.registryUrl}, {"--token-cert", &o.tokenCert},
      {"--token-key", &o.tokenKey},   {"--tls-cert", &o.tlsCert},
      {"--tls-key", &o.tlsKey}};
  for (int i = 1; i < argc; ++i) {
    auto it = flags.find(argv[i]);
    if (it == flags.end() || i + 1 >= argc) {
      std::cerr << "harbor-sim: unknown or incomplete flag " << argv[i] << "\n";
      return 2;
    }
    *it->second = argv[++i];
  }
  if (o.adminPassword.empty() || o.registryUrl.empty() || o.tokenCert.empty() ||
      o.tokenKey.empty()) {
    std::cerr
        << "harbor-sim: --admin-password, --registry, --token-cert and --token-key are required\n";
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
  HarborSim sim(o, std::move(*signer), std::shared_ptr<hm::net::HttpClient>(std::move(*upstream)));
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
