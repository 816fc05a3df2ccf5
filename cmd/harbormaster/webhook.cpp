// `harbormaster webhook`: wires policy, admission, metrics and the HTTPS server together.
#include "harbormaster/net/server.h"  // first: it works around a Boost 1.74 header

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "commands.h"
#include "flags.h"
#include "harbor_flags.h"
#include "harbormaster/admission/review.h"
#include "harbormaster/base/files.h"
#include "harbormaster/base/log.h"
#include "harbormaster/kube/config.h"
#include "harbormaster/metrics/metrics.h"
#include "harbormaster/net/server.h"
#include "harbormaster/policy/store.h"
#include "harbormaster/webhookcert/keeper.h"

namespace hm::cli {
namespace {

namespace asio = boost::asio;
using net::HttpRequest;
using net::HttpResponse;

struct WebhookOptions {
  net::ServerOptions server;
  std::optional<net::ServerOptions> metricsServer;
  std::string policyFile;
  std::string ownNamespace;
  unsigned threads = 2;
  std::chrono::milliseconds shutdownGrace{20'000};
  std::chrono::milliseconds policyCheckInterval{2'000};
  HarborFlags harbor;
  // One review's Harbor lookups must finish within this (and within 80 % of the API server's
  // ?timeout=), so a slow Harbor gives an answer before the API server gives up.
  std::chrono::milliseconds reviewBudget{8'000};
  // The Authorization value Harbor's webhook policy sends to POST /harbor-events; empty: off.
  std::string eventsSecret;
  // Self-managed certificates (--cert-secret): the keeper writes the serving pair to the files
  // --tls-cert/--tls-key name, from a Secret it maintains, and keeps the webhook configuration's
  // caBundle.
  std::optional<webhookcert::Settings> certificates;
  kube::LoadOptions kube;
  std::chrono::milliseconds certCheckInterval{60'000};
};

// --cert-secret and its companions; nullopt without --cert-secret.
StatusOr<std::optional<webhookcert::Settings>> parseCertificateFlags(const Flags& flags,
                                                                     const WebhookOptions& o) {
  if (!flags.has("cert-secret")) {
    for (const char* f : {"cert-service", "cert-webhook-configuration", "ca-validity",
                          "cert-validity", "ca-propagation", "cert-check-interval"}) {
      if (flags.has(f)) {
        return invalidArgument(std::string("--") + f + " needs --cert-secret");
      }
    }
    return std::optional<webhookcert::Settings>();
  }
  webhookcert::Settings c;
  c.secretName = flags.get("cert-secret");
  c.serviceName = flags.get("cert-service");
  c.webhookConfiguration = flags.get("cert-webhook-configuration");
  c.nameSpace = o.ownNamespace;
  c.certFile = o.server.tls->certFile;
  c.keyFile = o.server.tls->keyFile;
  if (c.serviceName.empty() || c.webhookConfiguration.empty()) {
    return invalidArgument("--cert-secret needs --cert-service and --cert-webhook-configuration");
  }
  if (c.nameSpace.empty()) {
    return invalidArgument("--cert-secret needs --namespace (or POD_NAMESPACE)");
  }
  struct SecondsFlag {
    const char* name;
    std::chrono::seconds* target;
  };
  for (auto [name, target] :
       {SecondsFlag{"ca-validity", &c.caValidity}, SecondsFlag{"cert-validity", &c.certValidity},
        SecondsFlag{"ca-propagation", &c.caPropagation}}) {
    if (flags.has(name)) {
      auto d = parseDuration(name, flags.get(name));
      if (!d.ok()) {
        return d.status();
      }
      *target = std::chrono::duration_cast<std::chrono::seconds>(*d);
    }
  }
  if (auto v = webhookcert::validate(c); !v.ok()) {
    return v;
  }
  return std::optional<webhookcert::Settings>(std::move(c));
}

StatusOr<WebhookOptions> parseWebhookOptions(const std::vector<std::string>& args) {
  FlagSpec spec{.valued = {"listen",
                           "tls-cert",
                           "tls-key",
                           "policy",
                           "metrics-listen",
                           "namespace",
                           "threads",
                           "request-timeout",
                           "idle-timeout",
                           "shutdown-grace",
                           "policy-check-interval",
                           "log-level",
                           "review-budget",
                           "harbor-events-secret-file",
                           "cert-secret",
                           "cert-service",
                           "cert-webhook-configuration",
                           "ca-validity",
                           "cert-validity",
                           "ca-propagation",
                           "cert-check-interval",
                           "kubeconfig",
                           "context"},
                .boolean = {}};
  spec.valued.insert(kHarborFlags.begin(), kHarborFlags.end());
  spec.valued.insert(kSignatureFlags.begin(), kSignatureFlags.end());
  auto flags = parseFlags(args, spec);
  if (!flags.ok()) {
    return flags.status();
  }
  auto harbor = parseHarborFlags(*flags);
  if (!harbor.ok()) {
    return harbor.status();
  }
  for (const char* required : {"tls-cert", "tls-key", "policy"}) {
    if (!flags->has(required)) {
      return invalidArgument(std::string("--") + required + " is required");
    }
  }
  WebhookOptions o;
  o.harbor = std::move(*harbor);
  if (flags->has("harbor-events-secret-file")) {
    if (!o.harbor.connection) {
      return invalidArgument("--harbor-events-secret-file needs --harbor-url");
    }
    auto secret = readFile(flags->get("harbor-events-secret-file"), 4096);
    if (!secret.ok()) {
      return secret.status().withContext("--harbor-events-secret-file");
    }
    o.eventsSecret = secret->substr(0, secret->find_first_of("\r\n"));
    if (o.eventsSecret.empty()) {
      return invalidArgument("--harbor-events-secret-file is empty");
    }
  }
  auto listen = net::parseListenAddress(flags->get("listen", ":8443"));
  if (!listen.ok()) {
    return listen.status();
  }
  o.server.address = listen->first;
  o.server.port = listen->second;
  o.server.tls = net::TlsFiles{flags->get("tls-cert"), flags->get("tls-key")};
  if (flags->has("metrics-listen")) {
    auto m = net::parseListenAddress(flags->get("metrics-listen"));
    if (!m.ok()) {
      return m.status();
    }
    net::ServerOptions ms;
    ms.address = m->first;
    ms.port = m->second;
    o.metricsServer = ms;
  }
  o.policyFile = flags->get("policy");
  const char* podNamespace = std::getenv("POD_NAMESPACE");
  o.ownNamespace = flags->get("namespace", podNamespace != nullptr ? podNamespace : "");
  if (flags->has("threads")) {
    int n = std::atoi(flags->get("threads").c_str());
    if (n < 1 || n > 256) {
      return invalidArgument("--threads must be between 1 and 256");
    }
    o.threads = static_cast<unsigned>(n);
  } else {
    o.threads = std::max(1u, std::thread::hardware_concurrency());
  }
  struct DurationFlag {
    const char* name;
    std::chrono::milliseconds* target;
  };
  for (auto [name, target] : {DurationFlag{"request-timeout", &o.server.requestTimeout},
                              DurationFlag{"idle-timeout", &o.server.idleTimeout},
                              DurationFlag{"shutdown-grace", &o.shutdownGrace},
                              DurationFlag{"policy-check-interval", &o.policyCheckInterval},
                              DurationFlag{"review-budget", &o.reviewBudget},
                              DurationFlag{"cert-check-interval", &o.certCheckInterval}}) {
    if (flags->has(name)) {
      auto d = parseDuration(name, flags->get(name));
      if (!d.ok()) {
        return d.status();
      }
      *target = *d;
    }
  }
  auto certificates = parseCertificateFlags(*flags, o);
  if (!certificates.ok()) {
    return certificates.status();
  }
  o.certificates = std::move(*certificates);
  o.kube.kubeconfig = flags->get("kubeconfig");
  o.kube.context = flags->get("context");
  std::string level = flags->get("log-level", "info");
  if (level == "debug") {
    log::configure(log::Level::kDebug);
  } else if (level == "info") {
    log::configure(log::Level::kInfo);
  } else if (level == "warn") {
    log::configure(log::Level::kWarn);
  } else if (level == "error") {
    log::configure(log::Level::kError);
  } else {
    return invalidArgument("--log-level must be debug, info, warn or error");
  }
  return o;
}

// Label values for metrics come from a fixed set, never from the request, so a client cannot
// grow the metric cardinality.
std::string_view pathLabel(std::string_view path) {
  for (std::string_view known :
       {"/validate", "/healthz", "/readyz", "/metrics", "/harbor-events"}) {
    if (path == known) {
      return known;
    }
  }
  return "other";
}

std::string_view kindLabel(const admission::Request& r) {
  for (std::string_view k : {"Pod", "Deployment", "ReplicaSet", "ReplicationController",
                             "StatefulSet", "DaemonSet", "Job", "CronJob"}) {
    if (r.kind == k) {
      return k;
    }
  }
  return r.kind.empty() ? "unknown" : "other";
}

std::string_view operationLabel(const admission::Request& r) {
  for (std::string_view op : {"CREATE", "UPDATE", "DELETE", "CONNECT"}) {
    if (r.operation == op) {
      return op;
    }
  }
  return "unknown";
}

class Webhook {
 public:
  Webhook(policy::PolicyStore& policies, metrics::WebhookMetrics& metrics, scangate::ScanGate* gate,
          signaturegate::SignatureGate* signatures, std::chrono::milliseconds budget,
          std::string eventsSecret)
      : policies_(policies),
        metrics_(metrics),
        gate_(gate),
        signatures_(signatures),
        budget_(budget),
        eventsSecret_(std::move(eventsSecret)) {}

  void setStopping() { stopping_ = true; }

  asio::awaitable<HttpResponse> handle(HttpRequest req) {
    HttpResponse res;
    if (req.path() == "/validate" && req.method == "POST") {
      res = co_await validate(req);
    } else {
      res = route(req);
    }
    metrics_.httpRequest(pathLabel(req.path()), res.status);
    co_return res;
  }

  // The plain metrics/health listener never serves /validate or /harbor-events.
  asio::awaitable<HttpResponse> handleOps(HttpRequest req) {
    const bool tlsOnly = req.path() == "/validate" || req.path() == "/harbor-events";
    HttpResponse res = tlsOnly ? notFound() : route(req);
    metrics_.httpRequest(pathLabel(req.path()), res.status);
    co_return res;
  }

 private:
  static HttpResponse notFound() {
    return {404, "application/json", R"({"error":"not found"})", {}};
  }

  HttpResponse route(const HttpRequest& req) {
    std::string_view path = req.path();
    if (path == "/validate") {
      return {405, "application/json", R"({"error":"use POST"})", {{"Allow", "POST"}}};
    }
    if (path == "/harbor-events" && !eventsSecret_.empty()) {
      return harborEvent(req);
    }
    if (req.method != "GET") {
      return {405, "application/json", R"({"error":"use GET"})", {{"Allow", "GET"}}};
    }
    if (path == "/healthz") {
      return {200, "application/json", R"({"status":"ok"})", {}};
    }
    if (path == "/readyz") {
      // Not ready while draining, so the Service stops sending new reviews here.
      if (stopping_ || policies_.current() == nullptr) {
        return {503, "application/json", R"({"status":"shutting down"})", {}};
      }
      return {200, "application/json", R"({"status":"ready"})", {}};
    }
    if (path == "/metrics") {
      return {200, "text/plain; version=0.0.4; charset=utf-8", metrics_.serialize(), {}};
    }
    return notFound();
  }

  // The API server says how long it waits (?timeout=10s); Harbor lookups get 80 % of that, at
  // most the configured budget.
  std::chrono::steady_clock::time_point reviewDeadline(const HttpRequest& req) const {
    auto budget = budget_;
    std::string_view target = req.target;
    if (size_t at = target.find("timeout="); at != std::string_view::npos) {
      std::string value(target.substr(at + 8, target.find('&', at) - at - 8));
      if (auto t = parseDuration("timeout", value); t.ok() && t->count() > 0) {
        budget = std::min(budget, *t * 8 / 10);
      }
    }
    return std::chrono::steady_clock::now() + budget;
  }

  asio::awaitable<HttpResponse> validate(const HttpRequest& req) {
    metrics_.reviewStarted();
    auto start = std::chrono::steady_clock::now();
    std::shared_ptr<const policy::PolicySet> policies = policies_.current();
    auto decoded = admission::decode(req.body);
    admission::Outcome out;
    if (!decoded.ok()) {
      out = admission::invalid(decoded.status());
    } else {
      admission::Request request = std::move(decoded).value();
      if (request.handled) {
        auto deadline = reviewDeadline(req);
        co_await scangate::attachScanFacts(gate_, *policies, request.ns, request.images, deadline);
        co_await signaturegate::attachSignatureFacts(signatures_, *policies, request.ns,
                                                     request.images, deadline);
      }
      out = admission::respond(std::move(request), *policies, std::chrono::system_clock::now());
    }
    countScanVerdicts(out);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    metrics_.reviewFinished();
    metrics_.observeReview(kindLabel(out.request), operationLabel(out.request),
                           admission::decisionName(out.decision), seconds);
    logDecision(req, out, seconds);
    co_return HttpResponse{out.httpStatus, "application/json", std::move(out.body), {}};
  }

  // Harbor's webhook notifications: a scan finished, an artifact was pushed or deleted. The
  // affected digests are dropped from the cache so the next review asks Harbor again.
  HttpResponse harborEvent(const HttpRequest& req) {
    if (req.method != "POST") {
      return {405, "application/json", R"({"error":"use POST"})", {{"Allow", "POST"}}};
    }
    if (!sameSecret(req.header("Authorization"), eventsSecret_)) {
      log::warn("Refused a Harbor event with a wrong or missing Authorization header",
                {{"remote", req.remote}});
      return {401, "application/json", R"({"error":"wrong or missing Authorization"})", {}};
    }
    auto digests = scangate::digestsInvalidatedBy(req.body);
    if (!digests.ok()) {
      nlohmann::json error = {{"error", digests.status().message()}};
      return {400, "application/json", error.dump(), {}};
    }
    for (const auto& d : *digests) {
      gate_->invalidate(d);
    }
    log::info("Harbor event", {{"invalidated", digests->size()}});
    return {200, "application/json", nlohmann::json{{"invalidated", digests->size()}}.dump(), {}};
  }

  // Compares in time independent of where the first difference is.
  static bool sameSecret(std::string_view given, const std::string& expected) {
    unsigned char diff = given.size() == expected.size() ? 0 : 1;
    for (size_t i = 0; i < expected.size(); ++i) {
      diff |= static_cast<unsigned char>(expected[i] ^ (i < given.size() ? given[i] : 0));
    }
    return diff == 0;
  }

  void countScanVerdicts(const admission::Outcome& out) {
    for (const policy::ImageUse& use : out.request.images) {
      if (!use.scan) {
        continue;
      }
      std::string_view outcome = "pass";
      for (const auto& f : out.evaluation.findings) {
        if (f.check == policy::Check::kVulnerabilities && f.use.path == use.path) {
          outcome = f.mode == policy::Mode::kEnforce ? "deny" : "warn";
          if (outcome == "deny") {
            break;
          }
        }
      }
      metrics_.scanVerdict(outcome);
    }
  }

  void logDecision(const HttpRequest& req, const admission::Outcome& out, double seconds) {
    const admission::Request& r = out.request;
    if (out.decision == admission::Decision::kInvalid) {
      log::warn("Rejected malformed admission request",
                {{"remote", req.remote}, {"error", out.message}});
      return;
    }
    auto level =
        out.decision == admission::Decision::kSkipped ? log::Level::kDebug : log::Level::kInfo;
    if (!log::enabled(level)) {
      return;
    }
    nlohmann::json findings = nlohmann::json::array();
    for (const auto& f : out.evaluation.findings) {
      findings.push_back({{"policy", f.policy},
                          {"mode", policy::modeName(f.mode)},
                          {"check", policy::checkName(f.check)},
                          {"path", f.use.path},
                          {"image", f.use.image}});
    }
    log::write(level, "Reviewed admission request",
               {{"uid", r.uid},
                {"kind", r.kind},
                {"namespace", r.ns},
                {"name", r.name},
                {"operation", r.operation},
                {"dryRun", r.dryRun},
                {"decision", admission::decisionName(out.decision)},
                {"images", r.images.size()},
                {"findings", findings},
                {"durationMs", seconds * 1000.0}});
  }

  policy::PolicyStore& policies_;
  metrics::WebhookMetrics& metrics_;
  scangate::ScanGate* gate_;  // null without --harbor-url
  signaturegate::SignatureGate* signatures_;
  std::chrono::milliseconds budget_;
  std::string eventsSecret_;
  std::atomic<bool> stopping_{false};
};

asio::awaitable<void> watchPolicy(asio::steady_timer& timer, std::chrono::milliseconds interval,
                                  policy::PolicyStore& store, metrics::WebhookMetrics& metrics,
                                  std::string path) {
  for (;;) {
    boost::system::error_code ec;
    timer.expires_after(interval);
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      co_return;
    }
    if (auto status = store.reloadIfChanged()) {
      metrics.policyReload(status->ok());
      if (status->ok()) {
        log::info("Reloaded policy",
                  {{"file", path}, {"policies", store.current()->policies.size()}});
      } else {
        log::error("Rejected invalid policy; the previous policy stays in force",
                   {{"file", path}, {"error", status->message()}});
      }
    }
  }
}

// The keeper's first pass runs before the server starts: the server needs the files it writes.
// A cluster that is briefly unreachable gets a minute; after that the pod restarts with the
// reason in its log.
StatusOr<std::unique_ptr<webhookcert::CertificateKeeper>> startCertificateKeeper(
    asio::io_context& ioc, const WebhookOptions& opts, metrics::WebhookMetrics& metrics) {
  auto config = kube::loadConfig(opts.kube);
  if (!config.ok()) {
    return config.status();
  }
  auto client = kube::Client::create(ioc.get_executor(), *config);
  if (!client.ok()) {
    return client.status();
  }
  webhookcert::CertificateKeeper::Observer observer;
  observer.synced = [&metrics](webhookcert::WallTime notAfter) {
    metrics.certificateSynced(static_cast<double>(std::chrono::system_clock::to_time_t(notAfter)));
  };
  observer.failed = [&metrics](const Status&) { metrics.certificateSyncFailed(); };
  auto keeper = std::make_unique<webhookcert::CertificateKeeper>(
      std::shared_ptr<kube::Client>(std::move(*client)), *opts.certificates, observer);
  Status first = internalError("not run");
  auto giveUp = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer pause(co_await asio::this_coro::executor);
        for (;;) {
          first =
              co_await keeper->sync(std::chrono::steady_clock::now() + std::chrono::seconds(10));
          if (first.ok() || std::chrono::steady_clock::now() > giveUp ||
              first.code() == StatusCode::kFailedPrecondition) {
            // Pooled connections keep timers; stop rather than wait for the context to drain.
            ioc.stop();
            co_return;
          }
          log::warn("Webhook certificates: first sync failed; retrying",
                    {{"error", first.message()}});
          pause.expires_after(std::chrono::seconds(2));
          co_await pause.async_wait(asio::use_awaitable);
        }
      },
      asio::detached);
  ioc.run();
  ioc.restart();
  if (!first.ok()) {
    return first;
  }
  return keeper;
}

}  // namespace

int runWebhook(const std::vector<std::string>& args) {
  auto opts = parseWebhookOptions(args);
  if (!opts.ok()) {
    std::cerr << "harbormaster webhook: " << opts.status().message() << "\n";
    return 2;
  }
  metrics::WebhookMetrics metrics;
  auto store = policy::PolicyStore::create(opts->policyFile, {.ownNamespace = opts->ownNamespace});
  if (!store.ok()) {
    log::error("Failed to load policy",
               {{"file", opts->policyFile}, {"error", store.status().message()}});
    return 2;
  }
  metrics.policyReload(true);
  asio::io_context ioc(static_cast<int>(opts->threads));
  std::unique_ptr<webhookcert::CertificateKeeper> keeper;
  if (opts->certificates) {
    auto k = startCertificateKeeper(ioc, *opts, metrics);
    if (!k.ok()) {
      log::error("Failed to set up self-managed certificates", {{"error", k.status().message()}});
      return 1;
    }
    keeper = std::move(*k);
  }
  std::unique_ptr<scangate::ScanGate> gate;
  if (opts->harbor.connection) {
    scangate::Observer observer;
    observer.harborCall = [&metrics](std::string_view endpoint, double seconds, bool ok) {
      metrics.harborCall(endpoint, seconds, ok);
    };
    observer.cacheLookup = [&metrics](bool hit) { metrics.scanCacheLookup(hit); };
    auto g = scangate::ScanGate::create(ioc.get_executor(), *opts->harbor.connection,
                                        opts->harbor.cache, observer);
    if (!g.ok()) {
      log::error("Failed to set up the Harbor connection", {{"error", g.status().message()}});
      return 2;
    }
    gate = std::move(*g);
  }
  signaturegate::Observer signatureObserver;
  signatureObserver.cacheLookup = [&metrics](bool hit) { metrics.signatureCacheLookup(hit); };
  signatureObserver.lookup = [&metrics](std::string_view outcome, double seconds) {
    metrics.signatureLookup(outcome, seconds);
  };
  auto signatures = makeSignatureGate(ioc.get_executor(), opts->harbor, signatureObserver);
  if (!signatures.ok()) {
    log::error("Failed to set up signature verification",
               {{"error", signatures.status().message()}});
    return 2;
  }
  Webhook webhook(**store, metrics, gate.get(), signatures->get(), opts->reviewBudget,
                  opts->eventsSecret);

  opts->server.onCertificateReload = [&metrics](const Status& s) {
    metrics.certificateReload(s.ok());
  };
  auto server = net::Server::create(
      ioc, opts->server, [&webhook](HttpRequest req) { return webhook.handle(std::move(req)); });
  if (!server.ok()) {
    log::error("Failed to start webhook server", {{"error", server.status().message()}});
    return 2;
  }
  std::unique_ptr<net::Server> opsServer;
  if (opts->metricsServer) {
    auto s = net::Server::create(ioc, *opts->metricsServer, [&webhook](HttpRequest req) {
      return webhook.handleOps(std::move(req));
    });
    if (!s.ok()) {
      log::error("Failed to start metrics server", {{"error", s.status().message()}});
      return 2;
    }
    opsServer = std::move(*s);
    opsServer->start();
  }
  (*server)->start();

  // The policy timer and the signal handler touch each other; one strand keeps them ordered.
  auto control = asio::make_strand(ioc);
  asio::steady_timer policyTimer(control);
  asio::co_spawn(
      control,
      watchPolicy(policyTimer, opts->policyCheckInterval, **store, metrics, opts->policyFile),
      asio::detached);

  if (keeper) {
    asio::co_spawn(control, keeper->run(opts->certCheckInterval, std::chrono::seconds(2)),
                   asio::detached);
  }

  asio::signal_set signals(control, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) {
      return;
    }
    log::info("Received signal; shutting down",
              {{"signal", signal}, {"graceMs", opts->shutdownGrace.count()}});
    webhook.setStopping();
    policyTimer.cancel();
    if (keeper) {
      keeper->stop();
    }
    auto pending = std::make_shared<int>(opsServer ? 2 : 1);
    auto finished = [&ioc, pending] {
      if (--*pending == 0) {
        log::info("Shut down");
        ioc.stop();
      }
    };
    (*server)->shutdown(opts->shutdownGrace, finished);
    if (opsServer) {
      opsServer->shutdown(opts->shutdownGrace, finished);
    }
  });

  log::info(
      "Started webhook",
      {{"listen", opts->server.address + ":" + std::to_string((*server)->port())},
       {"metricsListen",
        opsServer ? opts->metricsServer->address + ":" + std::to_string(opsServer->port()) : ""},
       {"policies", (*store)->current()->policies.size()},
       {"harbor", opts->harbor.connection ? opts->harbor.connection->url : ""},
       {"threads", opts->threads},
       {"version", HM_VERSION}});

  std::vector<std::thread> workers;
  for (unsigned i = 1; i < opts->threads; ++i) {
    workers.emplace_back([&ioc] { ioc.run(); });
  }
  ioc.run();
  for (auto& t : workers) {
    t.join();
  }
  return 0;
}

}  // namespace hm::cli
