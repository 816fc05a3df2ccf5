// `harbormaster operator`: flags and process wiring around hm::op::Operator.
#include "harbormaster/operator/operator.h"

#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <iostream>
#include <thread>

#include "commands.h"
#include "compliance/reconciler.h"
#include "flags.h"
#include "harbor_flags.h"
#include "harbormaster/base/files.h"
#include "harbormaster/base/log.h"
#include "harbormaster/eventrelay/relay.h"
#include "harbormaster/kube/config.h"
#include "harbormaster/net/task_group.h"
#include "harbormaster/review/handler.h"
#include "harborproject/reconciler.h"
#include "policystatus/reconciler.h"
#include "robotaccount/reconciler.h"
#include "sources.h"

namespace hm::cli {
namespace {

namespace asio = boost::asio;
using net::HttpRequest;

// The operator's controllers: each folder under pkg/operator/ registers itself (manager.h).
const std::vector<op::ControllerSetup> kControllers = {
    op::harborproject::setup,
    op::robotaccount::setup,
    op::policystatus::setup,
    op::compliance::setup,
};
using net::HttpResponse;

struct OperatorCommand {
  kube::LoadOptions kube;
  review::HarborConnection harbor;
  // With --compliance: the review engine's flags (registry access and every fact source's).
  std::optional<HarborFlags> engine;
  // With --compliance: the Authorization value Harbor's notifications carry to /harbor-events;
  // empty: the endpoint is off.
  std::string eventsSecret;
  // --harbor-events-relay: what /harbor-events hears is relayed to every webhook replica.
  bool eventsRelay = false;
  op::OperatorOptions op;
  std::string listen = "0.0.0.0:8080";
  std::string portsFile;      // --ports-file: the port bound, once listening
  net::ServerOptions server;  // bounds of the health and metrics listener
};

// --notifications-url: every HarborProject keeps a Harbor webhook policy posting to it with the
// --harbor-events-secret-file secret (so it needs that, and Harbor).
Status parseNotificationFlags(const Flags& flags, OperatorCommand& c) {
  if (!flags.has("notifications-url")) {
    for (const char* f : {"notifications-format", "notifications-skip-cert-verify"}) {
      if (flags.has(f)) {
        return invalidArgument(std::string("--") + f + " needs --notifications-url");
      }
    }
    return okStatus();
  }
  if (c.eventsSecret.empty()) {
    return invalidArgument(
        "--notifications-url needs --harbor-events-secret-file: Harbor sends that secret, and "
        "/harbor-events refuses notifications without it");
  }
  if (c.harbor.url.empty()) {
    return invalidArgument("--notifications-url needs --harbor-url");
  }
  op::NotificationOptions& n = c.op.notifications;
  n.url = flags.get("notifications-url");
  auto url = net::parseUrl(n.url);
  if (!url.ok()) {
    return url.status().withContext("--notifications-url");
  }
  n.authHeader = c.eventsSecret;
  n.skipCertVerify = flags.has("notifications-skip-cert-verify");
  n.payloadFormat = flags.get("notifications-format", "Default");
  if (n.payloadFormat != "Default" && n.payloadFormat != "CloudEvents") {
    return invalidArgument("--notifications-format must be Default or CloudEvents");
  }
  return okStatus();
}

StatusOr<OperatorCommand> parseOperatorOptions(std::vector<std::string> args) {
  FlagSpec spec;
  spec.valued = engineFlags();
  spec.boolean = {"compliance", "notifications-skip-cert-verify", "harbor-events-relay"};
  for (const char* f : {"kubeconfig",
                        "context",
                        "namespace",
                        "resync",
                        "leader-elect",
                        "listen",
                        "rotation-grace",
                        "reconcile-timeout",
                        "identity",
                        "workers",
                        "log-level",
                        "ports-file",
                        "leader-elect-lease-duration",
                        "leader-elect-renew-deadline",
                        "leader-elect-retry-period",
                        "policy-check-interval",
                        "shutdown-grace",
                        "compliance-interval",
                        "compliance-reports",
                        "harbor-events-secret-file",
                        "notifications-url",
                        "notifications-format",
                        "tls-cert",
                        "tls-key"}) {
    spec.valued.insert(f);
  }
  spec.valued.insert(kServerFlags.begin(), kServerFlags.end());
  auto flags = parseFlags(args, spec);
  if (!flags.ok()) {
    return flags.status();
  }
  if (!flags->has("harbor-url") && std::getenv("HARBOR_URL")) {
    args.push_back(std::string("--harbor-url=") + std::getenv("HARBOR_URL"));
    flags = parseFlags(args, spec);
  }
  if (!flags->positional.empty()) {
    return invalidArgument("unexpected argument \"" + flags->positional[0] + "\"");
  }
  auto harbor = parseHarborFlags(*flags);
  if (!harbor.ok()) {
    return harbor.status();
  }
  OperatorCommand c;
  // Without Harbor only the policy status controller runs.
  if (harbor->connection) {
    c.harbor = *harbor->connection;
  }
  c.kube.kubeconfig = flags->get("kubeconfig");
  c.kube.context = flags->get("context");
  const char* podNs = std::getenv("POD_NAMESPACE");
  c.op.nameSpace = flags->get("namespace", podNs ? podNs : "harbormaster");
  c.listen = flags->get("listen", c.listen);
  c.portsFile = flags->get("ports-file");
  // Health probes and scrapes are small: a small budget keeps a flood far from the memory limit.
  c.server.bodyLimit = 64 * 1024;
  c.server.maxConnections = 256;
  c.server.maxBufferedBytes = 4 * 1024 * 1024;
  HM_RETURN_IF_ERROR(applyServerFlags(*flags, c.server));
  const std::string elect = flags->get("leader-elect", "true");
  if (elect != "true" && elect != "false") {
    return invalidArgument("--leader-elect must be true or false");
  }
  c.op.leaderElect = elect == "true";
  for (auto [name, target] :
       {std::pair<const char*, std::chrono::milliseconds*>{"resync", &c.op.resync},
        {"rotation-grace", &c.op.rotationGrace},
        {"reconcile-timeout", &c.op.reconcileTimeout},
        {"leader-elect-lease-duration", &c.op.leaseDuration},
        {"leader-elect-renew-deadline", &c.op.renewDeadline},
        {"leader-elect-retry-period", &c.op.retryPeriod},
        {"policy-check-interval", &c.op.policyCheckInterval},
        {"shutdown-grace", &c.op.shutdownGrace}}) {
    if (flags->has(name)) {
      auto d = parseDuration(name, flags->get(name));
      if (!d.ok()) {
        return d.status();
      }
      *target = *d;
    }
  }
  // client-go's rules: leaseDuration > renewDeadline > retryPeriod (× its jitter, 1.2).
  if (c.op.leaseDuration <= c.op.renewDeadline ||
      c.op.renewDeadline * 10 <= c.op.retryPeriod * 12) {
    return invalidArgument(
        "--leader-elect-lease-duration must exceed --leader-elect-renew-deadline, which must "
        "exceed 1.2 × --leader-elect-retry-period");
  }
  if (c.op.reconcileTimeout < c.op.callTimeout) {
    return invalidArgument("--reconcile-timeout must be at least the call timeout (10s)");
  }
  if (c.op.resync < std::chrono::seconds(1)) {
    return invalidArgument("--resync must be at least 1s");
  }
  HM_RETURN_IF_ERROR(applyLogLevel(*flags));
  if (flags->has("workers")) {
    int n = std::atoi(flags->get("workers").c_str());
    if (n < 1 || n > 64) {
      return invalidArgument("--workers must be between 1 and 64");
    }
    c.op.workers = n;
  }
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  const char* pod = std::getenv("POD_NAME");
  c.op.identity =
      flags->get("identity", pod ? pod : std::string(host) + "_" + std::to_string(getpid()));
  if (flags->has("compliance")) {
    c.engine = *harbor;
    if (flags->has("compliance-interval")) {
      auto d = parseDuration("compliance-interval", flags->get("compliance-interval"));
      if (!d.ok()) {
        return d.status();
      }
      if (*d < std::chrono::minutes(1)) {
        return invalidArgument("--compliance-interval must be at least 1m");
      }
      c.op.compliance.interval = std::chrono::duration_cast<std::chrono::seconds>(*d);
    }
    const std::string reports = flags->get("compliance-reports", "wgpolicyk8s.io/v1alpha2");
    if (reports != "wgpolicyk8s.io/v1alpha2" && reports != "openreports.io/v1alpha1") {
      return invalidArgument(
          "--compliance-reports must be wgpolicyk8s.io/v1alpha2 or openreports.io/v1alpha1");
    }
    c.op.compliance.reportApiVersion = reports;
    if (flags->has("harbor-events-secret-file")) {
      auto secret = readSecretFlag(*flags, "harbor-events-secret-file");
      if (!secret.ok()) {
        return secret.status();
      }
      c.eventsSecret = std::move(*secret);
      c.op.compliance.changes = std::make_shared<op::DigestChanges>();
    }
  } else {
    // The engine's own flags mean nothing without it: refused rather than ignored.
    std::set<std::string> needs = {"compliance-interval", "compliance-reports",
                                   "harbor-events-secret-file"};
    for (const auto& f : engineFlags()) {
      if (!kHarborFlags.count(f)) {
        needs.insert(f);
      }
    }
    for (const auto& f : needs) {
      if (flags->has(f)) {
        return invalidArgument("--" + f + " needs --compliance");
      }
    }
  }
  if (flags->has("tls-cert") != flags->has("tls-key")) {
    return invalidArgument("--tls-cert and --tls-key go together");
  }
  if (flags->has("tls-cert")) {
    // Harbor's notifications reach /harbor-events over TLS; probes and scrapes use it too.
    c.server.tls = net::TlsFiles{flags->get("tls-cert"), flags->get("tls-key")};
  }
  HM_RETURN_IF_ERROR(parseNotificationFlags(*flags, c));
  c.eventsRelay = flags->has("harbor-events-relay");
  if (c.eventsRelay && c.eventsSecret.empty()) {
    return invalidArgument(
        "--harbor-events-relay needs --harbor-events-secret-file: it relays what /harbor-events "
        "hears");
  }
  if (!c.harbor.url.empty()) {
    // Refused here, before anything starts; runOperator connects with the same builder.
    HM_RETURN_IF_ERROR(net::parseUrl(c.harbor.url).status().withContext("--harbor-url"));
  }
  return c;
}

HttpResponse ops(const HttpRequest& req, const op::Operator& op, const metrics::Registry& metrics,
                 const OperatorCommand& c, eventrelay::Publisher* relay) {
  const std::string path(req.path());
  if (path == "/harbor-events" && !c.eventsSecret.empty()) {
    // Harbor's notification: the engine forgets the digests, compliance judges again what runs
    // them (a standby replica forgets too, and its queue drops the keys: it does not lead).
    harbor::Invalidation invalidated;
    HttpResponse out =
        review::harborEvent(req, c.eventsSecret, *c.op.compliance.engine, &invalidated);
    if (out.status == 200) {
      c.op.compliance.changes->publish(invalidated.digests);
      if (relay != nullptr) {
        relay->publish(std::move(invalidated));
      }
    }
    return out;
  }
  if (path == "/healthz") {
    return {200, "text/plain", "ok", {}};
  }
  if (path == "/readyz") {
    return op.ready() ? HttpResponse{200, "text/plain", "ok", {}}
                      : HttpResponse{503, "text/plain", "caches not synced", {}};
  }
  if (path == "/metrics") {
    return {200, "text/plain; version=0.0.4", metrics.serialize(), {}};
  }
  return {404, "text/plain", "not found", {}};
}

}  // namespace

int runOperator(const std::vector<std::string>& args) {
  if (Status s = registerPolicySections(); !s.ok()) {
    std::cerr << "harbormaster operator: " << s.message() << "\n";
    return 2;
  }
  auto c = parseOperatorOptions(args);
  if (!c.ok()) {
    std::cerr << "harbormaster operator: " << c.status().message() << "\n";
    return 2;
  }
  auto kubeConfig = kube::loadConfig(c->kube);
  if (!kubeConfig.ok()) {
    log::error("Failed to load the Kubernetes configuration",
               {{"error", kubeConfig.status().message()}});
    return 2;
  }
  asio::io_context ioc(2);
  auto kubeClient = kube::Client::create(ioc.get_executor(), *kubeConfig);
  if (!kubeClient.ok()) {
    log::error("Failed to set up the Kubernetes client",
               {{"error", kubeClient.status().message()}});
    return 2;
  }
  std::shared_ptr<harbor::Client> harbor;
  if (!c->harbor.url.empty()) {
    // The webhook's builder: the same CA handling (Harbor's CA and the system store) and the
    // same registry host names, which the pull secrets' auths keys are.
    auto connected = harbor::connect(ioc.get_executor(), c->harbor);
    if (!connected.ok()) {
      log::error("Failed to set up the Harbor client", {{"error", connected.status().message()}});
      return 2;
    }
    harbor = connected->client;
    c->op.registryHosts = connected->registryHosts;
  }
  auto metrics = std::make_shared<metrics::Registry>();
  if (c->engine) {
    // The webhook's engine on a connection of its own: what runs is judged as admission judged
    // it, with the same sources, caches and limits.
    review::EngineObserver observer;
    observer.metrics = metrics->registry();
    auto engine = review::connect(ioc.get_executor(), c->engine->engineOptions(), observer);
    if (!engine.ok()) {
      log::error("Failed to set up the review engine", {{"error", engine.status().message()}});
      return 2;
    }
    c->op.compliance.engine = std::shared_ptr<review::Engine>(std::move(*engine));
  }
  std::shared_ptr<kube::Client> kube(std::move(*kubeClient));
  op::Operator op(kube, harbor, metrics, c->op, kControllers);

  auto listen = net::parseListenAddress(c->listen);
  if (!listen.ok()) {
    log::error("Bad --listen", {{"error", listen.status().message()}});
    return 2;
  }
  net::ServerOptions so = c->server;
  so.onConnectionEvent = [metrics](net::ConnectionEvent e) {
    metrics->connectionEvent(net::connectionEventName(e));
  };
  so.address = listen->first;
  so.port = listen->second;
  // Harbor posts to one operator replica; the webhook replicas hear it through a ConfigMap.
  auto control = asio::make_strand(ioc);
  std::unique_ptr<eventrelay::Publisher> relay;
  if (c->eventsRelay) {
    relay = std::make_unique<eventrelay::Publisher>(control, kube, c->op.nameSpace);
  }
  auto server = net::Server::create(ioc, so, [&](HttpRequest req) -> asio::awaitable<HttpResponse> {
    co_return ops(req, op, *metrics, *c, relay.get());
  });
  if (!server.ok()) {
    log::error("Failed to start the health and metrics server",
               {{"error", server.status().message()}});
    return 2;
  }
  (*server)->start();
  asio::co_spawn(control, op.run(), net::LogFailure{"operator"});
  if (relay) {
    asio::co_spawn(control, relay->run(), net::LogFailure{"Harbor event relay"});
  }
  asio::signal_set signals(control, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) {
      return;
    }
    log::info("Received signal; releasing the lease and shutting down", {{"signal", signal}});
    asio::co_spawn(
        control,
        [&]() -> asio::awaitable<void> {
          co_await op.shutdown();
          if (relay) {
            relay->stop();
          }
          (*server)->shutdown(std::chrono::seconds(2), [&ioc] { ioc.stop(); });
        },
        net::LogFailure{"shutdown"});
  });
  if (!c->portsFile.empty()) {
    if (Status w = writePortsFile(c->portsFile, {{"listen", (*server)->port()}}); !w.ok()) {
      log::error("Failed to write the ports file", {{"error", w.message()}});
      return 2;
    }
  }
  log::info("Started operator", {{"namespace", c->op.nameSpace},
                                 {"harbor", c->harbor.url},
                                 {"kubernetes", kubeConfig->server},
                                 {"listen", so.address + ":" + std::to_string((*server)->port())},
                                 {"leaderElect", c->op.leaderElect},
                                 {"identity", c->op.identity},
                                 {"version", HM_VERSION}});
  std::thread second([&ioc] { ioc.run(); });
  ioc.run();
  second.join();
  return 0;
}

}  // namespace hm::cli
