// WebhookHandler: the webhook's HTTP surface over the review engine — POST /validate and POST
// /mutate (the deadline from the API server's ?timeout= and the review budget), POST
// /harbor-events, GET /healthz, /readyz and /metrics — with metrics and decision logs through
// observer hooks, so it is tested without sockets.
//
//   WebhookHandler handler(engine, [&] { return store.current(); }, {.reviewBudget = 8s}, hooks);
//   net::Server::create(ioc, opts, [&](net::HttpRequest r) { return handler.handle(r); });
#pragma once

#include "harbormaster/net/server.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "harbormaster/admission/review.h"
#include "harbormaster/review/engine.h"

namespace hm::review {

struct HandlerOptions {
  // One review's lookups finish within this, and within 80 % of the API server's ?timeout=, so a
  // slow Harbor gives an answer before the API server gives up.
  std::chrono::milliseconds reviewBudget{8'000};
  // The Authorization value Harbor's webhook policy sends to POST /harbor-events; empty: off.
  std::string eventsSecret;
};

// One finished review, for metrics and the decision log.
struct ReviewRecord {
  const admission::Outcome& outcome;
  std::string_view remote;
  std::string_view kind;       // a label from a fixed set (never from the request as such)
  std::string_view operation;  // likewise
  double seconds = 0;
};

struct HandlerObserver {
  std::function<void(std::string_view path, int status)> httpRequest;  // path from a fixed set
  std::function<void()> reviewStarted;
  std::function<void(const ReviewRecord&)> reviewed;
  std::function<void(const ReviewRecord&)> mutated;  // POST /mutate
  std::function<void(size_t invalidated)> harborEvent;
  std::function<std::string()> metricsText;  // the /metrics body
};

// POST /harbor-events, for the webhook and the operator alike: Harbor's notification,
// authenticated by the Authorization value its webhook policy sends (compared in constant time),
// what it makes stale forgotten by `engine` (applyInvalidation) and put into `invalidated`. 401
// for a wrong secret, 400 for a body that is no Harbor event.
net::HttpResponse harborEvent(const net::HttpRequest& req, const std::string& secret,
                              Engine& engine, harbor::Invalidation* invalidated = nullptr);
// The digests' facts and the tags' resolutions forgotten (a relayed notification too).
void applyInvalidation(Engine& engine, const harbor::Invalidation& invalidation);

class WebhookHandler {
 public:
  using Policies = std::function<std::shared_ptr<const policy::PolicySet>()>;

  WebhookHandler(Engine& engine, Policies policies, HandlerOptions options,
                 HandlerObserver observer = {});

  // Not ready while draining, so the Service stops sending new reviews here.
  void setStopping() { stopping_ = true; }

  // The TLS port: every route.
  boost::asio::awaitable<net::HttpResponse> handle(net::HttpRequest req);
  // The plain metrics/health port: never /validate or /harbor-events.
  boost::asio::awaitable<net::HttpResponse> handleOps(net::HttpRequest req);

  // When a review must be answered by: the budget, cut to 80 % of ?timeout= when given.
  Deadline reviewDeadline(std::string_view target, Clock::SteadyTime now) const;

 private:
  boost::asio::awaitable<net::HttpResponse> admit(const net::HttpRequest& req, bool mutating);
  net::HttpResponse route(const net::HttpRequest& req);
  net::HttpResponse harborEvent(const net::HttpRequest& req);

  Engine& engine_;
  Policies policies_;
  HandlerOptions options_;
  HandlerObserver observer_;
  std::atomic<bool> stopping_{false};
};

// The decision log line for a review (JSON): uid, object, decision, findings, duration.
void logReview(const ReviewRecord& record);
// Per image a scan policy judged: "pass", "warn" or "deny" (harbormaster_scan_verdicts_total).
std::vector<std::string_view> scanVerdicts(const admission::Outcome& outcome);
// Per policy that matched: each finding as (policy, check, deny|warn|audit), and a policy with
// none as (policy, "all", "pass") — harbormaster_policy_decisions_total.
struct PolicyDecision {
  std::string_view policy;
  std::string_view check;
  std::string_view result;
};
std::vector<PolicyDecision> policyDecisions(const admission::Outcome& outcome);

}  // namespace hm::review
