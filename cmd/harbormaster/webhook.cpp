// `harbormaster webhook`: wires policy, admission, metrics and the HTTPS server together.
#include "harbormaster/net/server.h"

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
#include "harbormaster/eventrelay/relay.h"

#include "commands.h"
#include "flags.h"
#include "harbor_flags.h"
#include "harbormaster/admission/review.h"
#include "harbormaster/base/files.h"
#include "harbormaster/base/log.h"
#include "harbormaster/kube/config.h"
#include "harbormaster/metrics/metrics.h"
#include "harbormaster/net/server.h"
#include "harbormaster/net/task_group.h"
#include "harbormaster/policy/store.h"
#include "harbormaster/policysource/cluster_policies.h"
#include "harbormaster/policysource/metrics.h"
#include "harbormaster/review/engine.h"
#include "harbormaster/review/handler.h"
#include "harbormaster/review/metrics.h"
#include "harbormaster/webhookcert/keeper.h"
#include "harbormaster/webhookcert/metrics.h"
#include "sources.h"

namespace hm::cli {
namespace {

// The webhook's metrics: each module registers its own families on the one registry that
// GET /metrics exposes.
struct WebhookMetrics {
  metrics::Registry registry;
  review::ReviewMetrics review{registry};
  policysource::PolicyMetrics policies{registry};
  webhookcert::CertificateMetrics certificates{registry};
};

namespace asio = boost::asio;
using net::HttpRequest;

struct WebhookOptions {
  net::ServerOptions server;
  std::optional<net::ServerOptions> metricsServer;
  std::string policyFile;  // may be empty with clusterPolicies
  std::string portsFile;   // --ports-file: the ports bound, once listening
  // ClusterImagePolicy, ImagePolicy and ImageException resources, read through informers.
  bool clusterPolicies = false;
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
  // --harbor-events-relay: hear the Harbor notifications the operator relays (eventrelay).
  bool eventsRelay = false;
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
    for (const char* f :
         {"cert-service", "cert-webhook-configuration", "cert-mutating-webhook-configuration",
          "ca-validity", "cert-validity", "ca-propagation", "cert-check-interval"}) {
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
  c.mutatingWebhookConfiguration = flags.get("cert-mutating-webhook-configuration");
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

using std::chrono::duration_cast;
using std::chrono::milliseconds;

}  // namespace

FlagSpec webhookFlagSpec() {
  const WebhookOptions d;
  const webhookcert::Settings cert;
  FlagSpec spec{
      "webhook",
      "webhook --tls-cert FILE --tls-key FILE (--policy FILE | --cluster-policies=true) [flags]",
      "Serves the validating (/validate) and mutating (/mutate) admission webhooks over HTTPS,\n"
      "Harbor's notifications (/harbor-events), /healthz, /readyz and /metrics.\n",
      {}};
  spec.add("Serving",
           {{"listen", "ADDR", "where the webhook listens (HOST:PORT or :PORT)", ":8443"},
            {"tls-cert", "FILE", "serving certificate (PEM), reloaded when it changes"},
            {"tls-key", "FILE", "its private key"},
            {"metrics-listen", "ADDR", "a separate plain-HTTP listener for /metrics (off unset)"},
            {"threads", "N", "threads serving reviews (default: one per CPU)"},
            {"shutdown-grace", "DURATION", "on SIGTERM, how long requests under way may finish",
             formatDuration(d.shutdownGrace)},
            {"review-budget", "DURATION",
             "a review's lookups stop at this (and at 80 % of the API server's timeout)",
             formatDuration(d.reviewBudget)},
            {"ports-file", "FILE", "write \"listen=PORT\" lines once listening (for port 0)"},
            kLogLevelFlag});
  spec.add("Listener bounds", serverFlags(d.server));
  spec.add(
      "Policies",
      {{"policy", "FILE", "ClusterImagePolicy, ImagePolicy and ImageException documents"},
       {"cluster-policies", "BOOL", "also read them as cluster resources (true or false)", "false"},
       {"policy-check-interval", "DURATION",
        "how often the policy file, the key files policies name and the Harbor credentials "
        "file are compared",
        formatDuration(d.policyCheckInterval)},
       {"namespace", "NS",
        "the webhook's own namespace, excluded from policies by default (default "
        "$POD_NAMESPACE)"},
       {"kubeconfig", "FILE", "kubeconfig for the API server (default: in-cluster)"},
       {"context", "NAME", "kubeconfig context"}});
  spec.add("Harbor events",
           {{"harbor-events-secret-file", "FILE",
             "the Authorization value Harbor's webhook policy sends to /harbor-events"},
            {"harbor-events-relay", "",
             "hear the notifications the operator relays through a ConfigMap"}});
  spec.add("Self-managed certificates",
           {{"cert-secret", "NAME", "Secret holding the CA and serving pair the webhook keeps"},
            {"cert-service", "NAME", "the Service the certificate is for"},
            {"cert-webhook-configuration", "NAME",
             "ValidatingWebhookConfiguration whose caBundle is kept"},
            {"cert-mutating-webhook-configuration", "NAME",
             "MutatingWebhookConfiguration whose caBundle is kept"},
            {"ca-validity", "DURATION", "the CA's lifetime",
             formatDuration(duration_cast<milliseconds>(cert.caValidity))},
            {"cert-validity", "DURATION", "a serving certificate's lifetime",
             formatDuration(duration_cast<milliseconds>(cert.certValidity))},
            {"ca-propagation", "DURATION", "how long a new CA is published before it signs",
             formatDuration(duration_cast<milliseconds>(cert.caPropagation))},
            {"cert-check-interval", "DURATION", "how often the certificates are checked",
             formatDuration(d.certCheckInterval)}});
  return addEngineFlags(spec);
}

namespace {

StatusOr<WebhookOptions> parseWebhookOptions(const std::vector<std::string>& args) {
  const FlagSpec spec = webhookFlagSpec();
  auto flags = parseFlags(args, spec);
  if (!flags.ok()) {
    return flags.status();
  }
  auto harbor = parseHarborFlags(*flags);
  if (!harbor.ok()) {
    return harbor.status();
  }
  for (const char* required : {"tls-cert", "tls-key"}) {
    if (!flags->has(required)) {
      return invalidArgument(std::string("--") + required + " is required");
    }
  }
  WebhookOptions o;
  const std::string cluster = flags->get("cluster-policies");
  if (cluster != "true" && cluster != "false") {
    return invalidArgument("--cluster-policies must be true or false");
  }
  o.clusterPolicies = cluster == "true";
  if (!flags->has("policy") && !o.clusterPolicies) {
    return invalidArgument("--policy is required unless --cluster-policies=true");
  }
  o.harbor = std::move(*harbor);
  if (flags->has("harbor-events-secret-file")) {
    if (!o.harbor.connection) {
      return invalidArgument("--harbor-events-secret-file needs --harbor-url");
    }
    auto secret = readSecretFlag(*flags, "harbor-events-secret-file");
    if (!secret.ok()) {
      return secret.status();
    }
    o.eventsSecret = std::move(*secret);
  }
  o.eventsRelay = flags->has("harbor-events-relay");
  if (o.eventsRelay && !o.harbor.connection) {
    return invalidArgument("--harbor-events-relay needs --harbor-url");
  }
  auto listen = net::parseListenAddress(flags->get("listen"));
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
  o.portsFile = flags->get("ports-file");
  const char* podNamespace = std::getenv("POD_NAMESPACE");
  o.ownNamespace = flags->get("namespace", podNamespace != nullptr ? podNamespace : "");
  if (o.eventsRelay && o.ownNamespace.empty()) {
    return invalidArgument("--harbor-events-relay needs --namespace (or POD_NAMESPACE)");
  }
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
  HM_RETURN_IF_ERROR(applyServerFlags(*flags, o.server));
  for (auto [name, target] : {DurationFlag{"shutdown-grace", &o.shutdownGrace},
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
  HM_RETURN_IF_ERROR(applyLogLevel(*flags));
  return o;
}

// The policy file and the key and trusted-root files of both file and cluster policies are
// compared every interval (a mounted ConfigMap or Secret changes under the process).
asio::awaitable<void> watchPolicy(asio::steady_timer& timer, std::chrono::milliseconds interval,
                                  policy::PolicyStore* store,
                                  policysource::ClusterPolicies* cluster, WebhookMetrics& metrics,
                                  std::string path, CredentialsFile* credentials) {
  for (;;) {
    boost::system::error_code ec;
    timer.expires_after(interval);
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      co_return;
    }
    // The operator writes a rotated robot into the webhook's Secret before the old one stops
    // (--rotation-grace): picked up here, the next request uses it and no review fails.
    if (credentials != nullptr) {
      if (auto status = credentials->reload()) {
        if (status->ok()) {
          log::info(
              "Reloaded Harbor credentials",
              {{"file", credentials->path()}, {"username", credentials->source()->get().username}});
        } else {
          log::error("Rejected new Harbor credentials; the previous ones stay",
                     {{"file", credentials->path()}, {"error", status->message()}});
        }
      }
    }
    if (cluster != nullptr) {
      if (size_t n = cluster->reloadChangedFiles(); n > 0) {
        log::info("Reloaded cluster policies whose key or trusted-root files changed",
                  {{"policies", n}});
      }
    }
    if (store != nullptr) {
      if (auto status = store->reloadIfChanged()) {
        // Logged before counted: whoever sees the counter move finds the reason in the log.
        if (status->ok()) {
          log::info("Reloaded policy",
                    {{"file", path}, {"policies", store->current()->policies.size()}});
        } else {
          log::error("Rejected invalid policy; the previous policy stays in force",
                     {{"file", path}, {"error", status->message()}});
        }
        metrics.policies.policyReload(status->ok());
      }
    }
    // Policy names are metric labels that tenants choose: a deleted policy's series go with it.
    auto current =
        cluster != nullptr ? cluster->current() : (store != nullptr ? store->current() : nullptr);
    if (current != nullptr) {
      std::set<std::string> names;
      for (const policy::ImagePolicy& p : current->policies) {
        names.insert(p.name);
      }
      metrics.review.retainPolicies(names);
    }
  }
}

// The keeper's first pass runs before the server starts: the server needs the files it writes.
// A cluster that is briefly unreachable gets a minute; after that the pod restarts with the
// reason in its log.
StatusOr<std::unique_ptr<webhookcert::CertificateKeeper>> startCertificateKeeper(
    asio::io_context& ioc, std::shared_ptr<kube::Client> client, const WebhookOptions& opts,
    WebhookMetrics& metrics) {
  webhookcert::CertificateKeeper::Observer observer;
  observer.synced = [&metrics](webhookcert::WallTime notAfter) {
    metrics.certificates.certificateSynced(
        static_cast<double>(std::chrono::system_clock::to_time_t(notAfter)));
  };
  observer.failed = [&metrics](const Status&) { metrics.certificates.certificateSyncFailed(); };
  auto keeper = std::make_unique<webhookcert::CertificateKeeper>(std::move(client),
                                                                 *opts.certificates, observer);
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
      net::LogFailure{"first certificate sync"});
  ioc.run();
  ioc.restart();
  if (!first.ok()) {
    return first;
  }
  return keeper;
}

// Informers for policy resources and namespaces; the policy file, when given, is merged in.
std::unique_ptr<policysource::ClusterPolicies> startClusterPolicies(
    std::shared_ptr<kube::Client> client, const WebhookOptions& opts, policy::PolicyStore* store,
    WebhookMetrics& metrics) {
  policysource::Options o;
  o.load.ownNamespace = opts.ownNamespace;
  if (store != nullptr) {
    o.filePolicies = [store] { return store->current(); };
  }
  policysource::Observer observer;
  observer.rejected = [&metrics](const std::string&, const Status&) {
    metrics.policies.policyResourceRejected();
  };
  return std::make_unique<policysource::ClusterPolicies>(std::move(client), std::move(o),
                                                         std::move(observer));
}

// One Kubernetes client (one connection, one credential) for the certificate keeper and the
// policy informers; null when neither is wanted.
StatusOr<std::shared_ptr<kube::Client>> kubeClient(asio::io_context& ioc,
                                                   const WebhookOptions& opts) {
  if (!opts.certificates && !opts.clusterPolicies && !opts.eventsRelay) {
    return std::shared_ptr<kube::Client>();
  }
  auto config = kube::loadConfig(opts.kube);
  if (!config.ok()) {
    return config.status();
  }
  auto client = kube::Client::create(ioc.get_executor(), *config);
  if (!client.ok()) {
    return client.status();
  }
  return std::shared_ptr<kube::Client>(std::move(*client));
}

}  // namespace

int runWebhook(const std::vector<std::string>& args) {
  if (helpRequested(args)) {
    std::cout << helpText(webhookFlagSpec());
    return 0;
  }
  if (Status s = registerPolicySections(); !s.ok()) {
    std::cerr << "harbormaster webhook: " << s.message() << "\n";
    return 2;
  }
  auto opts = parseWebhookOptions(args);
  if (!opts.ok()) {
    std::cerr << "harbormaster webhook: " << opts.status().message() << "\n";
    return 2;
  }
  WebhookMetrics metrics;
  std::unique_ptr<policy::PolicyStore> store;
  if (!opts->policyFile.empty()) {
    auto loaded =
        policy::PolicyStore::create(opts->policyFile, {.ownNamespace = opts->ownNamespace});
    if (!loaded.ok()) {
      log::error("Failed to load policy",
                 {{"file", opts->policyFile}, {"error", loaded.status().message()}});
      return 2;
    }
    store = std::move(*loaded);
    metrics.policies.policyReload(true);
  }
  asio::io_context ioc(static_cast<int>(opts->threads));
  auto kube = kubeClient(ioc, *opts);
  if (!kube.ok()) {
    log::error("Failed to set up the Kubernetes client", {{"error", kube.status().message()}});
    return 2;
  }
  std::unique_ptr<policysource::ClusterPolicies> cluster;
  if (opts->clusterPolicies) {
    cluster = startClusterPolicies(*kube, *opts, store.get(), metrics);
  }
  std::unique_ptr<webhookcert::CertificateKeeper> keeper;
  if (opts->certificates) {
    auto k = startCertificateKeeper(ioc, *kube, *opts, metrics);
    if (!k.ok()) {
      log::error("Failed to set up self-managed certificates", {{"error", k.status().message()}});
      return 1;
    }
    keeper = std::move(*k);
  }
  review::EngineObserver engineObserver;
  engineObserver.metrics = metrics.registry.registry();
  engineObserver.refused = [&metrics](std::string_view reason) {
    metrics.review.imageLookupRefused(reason);
  };
  auto engine =
      review::connect(ioc.get_executor(), opts->harbor.engineOptions(), std::move(engineObserver));
  if (!engine.ok()) {
    log::error("Failed to set up the registry and Harbor connection",
               {{"error", engine.status().message()}});
    return 2;
  }
  review::HandlerObserver hooks;
  hooks.httpRequest = [&metrics](std::string_view path, int status) {
    metrics.review.httpRequest(path, status);
  };
  hooks.reviewStarted = [&metrics] { metrics.review.reviewStarted(); };
  hooks.reviewed = [&metrics](const review::ReviewRecord& r) {
    for (std::string_view verdict : review::scanVerdicts(r.outcome)) {
      metrics.review.scanVerdict(verdict);
    }
    for (const review::PolicyDecision& d : review::policyDecisions(r.outcome)) {
      metrics.review.policyDecision(d.policy, d.check, d.result);
    }
    metrics.review.reviewFinished();
    metrics.review.observeReview(r.kind, r.operation, admission::decisionName(r.outcome.decision),
                                 r.seconds);
    review::logReview(r);
  };
  hooks.mutated = [&metrics](const review::ReviewRecord& r) {
    metrics.review.pins("pinned", r.outcome.pins.pinned);
    metrics.review.pins("already_pinned", r.outcome.pins.alreadyPinned);
    metrics.review.pins("unresolved", r.outcome.pins.unresolved);
    metrics.review.reviewFinished();
    metrics.review.observeMutation(admission::decisionName(r.outcome.decision), r.seconds);
    review::logReview(r);
  };
  hooks.metricsText = [&metrics] { return metrics.registry.serialize(); };
  auto policies = [&store, &cluster]() -> std::shared_ptr<const policy::PolicySet> {
    return cluster ? cluster->current() : store->current();
  };
  review::WebhookHandler webhook(
      **engine, policies, {.reviewBudget = opts->reviewBudget, .eventsSecret = opts->eventsSecret},
      std::move(hooks));

  opts->server.onCertificateReload = [&metrics](const Status& s) {
    metrics.certificates.certificateReload(s.ok());
  };
  opts->server.onConnectionEvent = [&metrics](net::ConnectionEvent e) {
    metrics.registry.connectionEvent(net::connectionEventName(e));
  };
  if (opts->metricsServer) {
    // The ops port gets the same bounds: it is as reachable as the webhook's.
    net::ServerOptions& ops = *opts->metricsServer;
    ops.maxConnections = opts->server.maxConnections;
    ops.maxBufferedBytes = opts->server.maxBufferedBytes;
    ops.requestTimeout = opts->server.requestTimeout;
    ops.idleTimeout = opts->server.idleTimeout;
    ops.headerTimeout = opts->server.headerTimeout;
    ops.onConnectionEvent = opts->server.onConnectionEvent;
  }
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
  asio::co_spawn(control,
                 watchPolicy(policyTimer, opts->policyCheckInterval, store.get(), cluster.get(),
                             metrics, opts->policyFile, opts->harbor.credentialsFile.get()),
                 net::LogFailure{"policy watch"});
  if (cluster) {
    asio::co_spawn(control, cluster->run(), net::LogFailure{"cluster policies"});
  }

  if (keeper) {
    asio::co_spawn(control, keeper->run(opts->certCheckInterval, std::chrono::seconds(2)),
                   net::LogFailure{"certificate keeper"});
  }
  // Harbor posts to one replica (the operator's); every replica hears it through the relay.
  std::unique_ptr<eventrelay::Subscriber> relay;
  if (opts->eventsRelay) {
    review::Engine* e = engine->get();
    relay = std::make_unique<eventrelay::Subscriber>(
        *kube, opts->ownNamespace, [e](const harbor::Invalidation& notice) {
          review::applyInvalidation(*e, notice);
          log::info("Relayed Harbor event",
                    {{"invalidated", notice.digests.size()}, {"tags", notice.tags.size()}});
        });
    asio::co_spawn(control, relay->run(), net::LogFailure{"Harbor event relay"});
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
    if (cluster) {
      cluster->stop();
    }
    if (keeper) {
      keeper->stop();
    }
    if (relay) {
      relay->stop();
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

  if (!opts->portsFile.empty()) {
    std::vector<std::pair<std::string, unsigned>> ports = {{"listen", (*server)->port()}};
    if (opsServer) {
      ports.emplace_back("metrics", opsServer->port());
    }
    if (Status w = writePortsFile(opts->portsFile, ports); !w.ok()) {
      log::error("Failed to write the ports file", {{"error", w.message()}});
      return 2;
    }
  }
  log::info(
      "Started webhook",
      {{"listen", opts->server.address + ":" + std::to_string((*server)->port())},
       {"metricsListen",
        opsServer ? opts->metricsServer->address + ":" + std::to_string(opsServer->port()) : ""},
       {"policyFile", opts->policyFile},
       {"clusterPolicies", opts->clusterPolicies},
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
