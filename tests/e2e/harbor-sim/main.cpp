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

#include "harbormaster/base/log.h"
#include "harbormaster/base/time.h"
#include "harbormaster/net/client.h"
#include "token.h"

namespace harborsim {
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

HttpResponse harborError(int status, const std::string& code, const std::string& message) {
  json body = {{"errors", json::array({{{"code", code}, {"message", message}}})}};
  return {status, "application/json", body.dump(), {}};
}

std::string percentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else if (s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
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
    q.emplace(percentDecode(pair.substr(0, eq)),
              eq == std::string_view::npos ? "" : percentDecode(pair.substr(eq + 1)));
    if (amp == std::string_view::npos) {
      break;
    }
    rest = rest.substr(amp + 1);
  }
  return q;
}

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
    std::string subject;
    bool admin = false;
    if (auto creds = basicAuth(req.header("Authorization"))) {
      if (creds->first == "admin" && creds->second == opts_.adminPassword) {
        admin = true;
        subject = "admin";
      } else {
        asio::steady_timer delay(co_await asio::this_coro::executor,
                                 std::chrono::milliseconds(1500));
        co_await delay.async_wait(asio::use_awaitable);
      }
    }
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
      if (admin) {
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
