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
  n.payloadFormat = flags.get("notifications-format");
  if (n.payloadFormat != "Default" && n.payloadFormat != "CloudEvents") {
    return invalidArgument("--notifications-format must be Default or CloudEvents");
  }
  return okStatus();
}

// Health probes and scrapes are small: a small budget keeps a flood far from the memory limit.
net::ServerOptions operatorServerDefaults() {
  net::ServerOptions server;
  server.bodyLimit = 64 * 1024;
  server.maxConnections = 256;
  server.maxBufferedBytes = 4 * 1024 * 1024;
  return server;
}

}  // namespace

FlagSpec operatorFlagSpec() {
  const op::OperatorOptions d;
  FlagSpec spec{
      "operator",
      "operator [--harbor-url URL] [flags]",
      "Reconciles HarborProject and RobotAccount resources into Harbor, writes pull\n"
      "secrets, keeps policy and exception status and (with --compliance) PolicyReports.\n"
      "Without --harbor-url (or HARBOR_URL) only policy and exception status runs.\n",
      {}};
  spec.add(
      "Cluster",
      {{"kubeconfig", "FILE", "kubeconfig for the API server (default: in-cluster)"},
       {"context", "NAME", "kubeconfig context"},
       {"namespace", "NS",
        "where robot credentials and the Lease live (default $POD_NAMESPACE, else "
        "harbormaster)"},
       {"resync", "DURATION", "how often every resource is reconciled again",
        formatDuration(d.resync)},
       {"rotation-grace", "DURATION", "how long a rotated robot secret's predecessor keeps working",
        formatDuration(d.rotationGrace)},
       {"reconcile-timeout", "DURATION", "one reconcile's deadline",
        formatDuration(d.reconcileTimeout)},
       {"workers", "N", "resources reconciled at once", std::to_string(d.workers)},
       {"policy-check-interval", "DURATION", "how often key files policies name are compared",
        formatDuration(d.policyCheckInterval)},
       {"shutdown-grace", "DURATION", "on SIGTERM, how long work under way may finish",
        formatDuration(d.shutdownGrace)}});
  spec.add("Leader election",
           {{"leader-elect", "BOOL", "run only while holding the Lease (true or false)", "true"},
            {"identity", "NAME", "this replica's name in the Lease (default $POD_NAME)"},
            {"leader-elect-lease-duration", "DURATION", "how long a Lease holds",
             formatDuration(d.leaseDuration)},
            {"leader-elect-renew-deadline", "DURATION", "how long the leader tries to renew",
             formatDuration(d.renewDeadline)},
            {"leader-elect-retry-period", "DURATION", "how often candidates try",
             formatDuration(d.retryPeriod)}});
  spec.add("Serving",
           {{"listen", "ADDR", "health probes, /metrics and /harbor-events", "0.0.0.0:8080"},
            {"tls-cert", "FILE", "serve the port over TLS with this certificate (PEM)"},
            {"tls-key", "FILE", "its private key"},
            {"ports-file", "FILE", "write \"listen=PORT\" once listening (for port 0)"},
            kLogLevelFlag});
  spec.add("Listener bounds", serverFlags(operatorServerDefaults()));
  spec.add("Compliance",
           {{"compliance", "", "judge what runs and write PolicyReports and Events"},
            {"compliance-interval", "DURATION", "the periodic full pass",
             formatDuration(
                 std::chrono::duration_cast<std::chrono::milliseconds>(d.compliance.interval))},
            {"compliance-reports", "API", "wgpolicyk8s.io/v1alpha2 or openreports.io/v1alpha1",
             d.compliance.reportApiVersion},
            {"harbor-events-secret-file", "FILE",
             "the Authorization value Harbor's notifications carry to /harbor-events"},
            {"harbor-events-relay", "", "relay what /harbor-events hears to every webhook replica"},
            {"notifications-url", "URL",
             "each HarborProject keeps a Harbor webhook policy posting here"},
            {"notifications-format", "FORMAT", "Default or CloudEvents", "Default"},
            {"notifications-skip-cert-verify", "",
             "Harbor does not verify the notification URL's certificate"}});
  return addEngineFlags(spec);
}

namespace {

StatusOr<OperatorCommand> parseOperatorOptions(std::vector<std::string> args) {
  const FlagSpec spec = operatorFlagSpec();
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
    c.op.harborUser = c.harbor.username;
  }
  c.kube.kubeconfig = flags->get("kubeconfig");
  c.kube.context = flags->get("context");
  const char* podNs = std::getenv("POD_NAMESPACE");
  c.op.nameSpace = flags->get("namespace", podNs ? podNs : "harbormaster");
  c.listen = flags->get("listen");
  c.portsFile = flags->get("ports-file");
  c.server = operatorServerDefaults();
  HM_RETURN_IF_ERROR(applyServerFlags(*flags, c.server));
  const std::string elect = flags->get("leader-elect");
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
    const std::string reports = flags->get("compliance-reports");
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
  if (helpRequested(args)) {
    std::cout << helpText(operatorFlagSpec());
    return 0;
  }
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
