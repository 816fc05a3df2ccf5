#include "harbormaster/review/handler.h"

#include <nlohmann/json.hpp>

#include "harbormaster/base/log.h"
#include "harbormaster/base/time.h"
#include "harbormaster/harbor/model.h"

namespace hm::review {
namespace {

namespace asio = boost::asio;
using net::HttpRequest;
using net::HttpResponse;

HttpResponse notFound() {
  return {404, "application/json", R"({"error":"not found"})", {}};
}

HttpResponse methodNotAllowed(const char* method) {
  return {405,
          "application/json",
          std::string(R"({"error":"use )") + method + R"("})",
          {{"Allow", method}}};
}

// Label values come from a fixed set, never from the request, so a client cannot grow the
// metric cardinality.
std::string_view pathLabel(std::string_view path) {
  for (std::string_view known :
       {"/validate", "/mutate", "/healthz", "/readyz", "/metrics", "/harbor-events"}) {
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

// Compares in time independent of where the first difference is.
bool sameSecret(std::string_view given, const std::string& expected) {
  unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < expected.size(); ++i) {
    diff |= static_cast<unsigned char>(expected[i] ^ (i < given.size() ? given[i] : 0));
  }
  return diff == 0;
}

}  // namespace

WebhookHandler::WebhookHandler(Engine& engine, Policies policies, HandlerOptions options,
                               HandlerObserver observer)
    : engine_(engine),
      policies_(std::move(policies)),
      options_(std::move(options)),
      observer_(std::move(observer)) {}

asio::awaitable<HttpResponse> WebhookHandler::handle(HttpRequest req) {
  HttpResponse res;
  if ((req.path() == "/validate" || req.path() == "/mutate") && req.method == "POST") {
    res = co_await admit(req, req.path() == "/mutate");
  } else {
    res = route(req);
  }
  if (observer_.httpRequest) {
    observer_.httpRequest(pathLabel(req.path()), res.status);
  }
  co_return res;
}

asio::awaitable<HttpResponse> WebhookHandler::handleOps(HttpRequest req) {
  const bool tlsOnly =
      req.path() == "/validate" || req.path() == "/mutate" || req.path() == "/harbor-events";
  HttpResponse res = tlsOnly ? notFound() : route(req);
  if (observer_.httpRequest) {
    observer_.httpRequest(pathLabel(req.path()), res.status);
  }
  co_return res;
}

HttpResponse WebhookHandler::route(const HttpRequest& req) {
  std::string_view path = req.path();
  if (path == "/validate" || path == "/mutate") {
    return methodNotAllowed("POST");
  }
  if (path == "/harbor-events" && !options_.eventsSecret.empty()) {
    return harborEvent(req);
  }
  if (req.method != "GET") {
    return methodNotAllowed("GET");
  }
  if (path == "/healthz") {
    return {200, "application/json", R"({"status":"ok"})", {}};
  }
  if (path == "/readyz") {
    if (stopping_ || policies_() == nullptr) {
      return {503, "application/json", R"({"status":"shutting down"})", {}};
    }
    return {200, "application/json", R"({"status":"ready"})", {}};
  }
  if (path == "/metrics" && observer_.metricsText) {
    return {200, "text/plain; version=0.0.4; charset=utf-8", observer_.metricsText(), {}};
  }
  return notFound();
}

Deadline WebhookHandler::reviewDeadline(std::string_view target, Clock::SteadyTime now) const {
  auto budget = options_.reviewBudget;
  const size_t query = target.find('?');
  if (query != std::string_view::npos) {
    std::string_view rest = target.substr(query + 1);
    while (!rest.empty()) {
      std::string_view param = rest.substr(0, rest.find('&'));
      rest = param.size() < rest.size() ? rest.substr(param.size() + 1) : std::string_view();
      if (param.rfind("timeout=", 0) == 0) {
        // The API server writes Go's Duration.String(); a value we cannot read is ignored.
        if (auto t = parseGoDuration(param.substr(8)); t.ok() && t->count() > 0) {
          budget = std::min(budget, *t * 8 / 10);
        }
      }
    }
  }
  return now + budget;
}

// POST /validate and POST /mutate: one deadline, the same policies snapshot, the same records.
asio::awaitable<HttpResponse> WebhookHandler::admit(const HttpRequest& req, bool mutating) {
  const auto start = std::chrono::steady_clock::now();
  std::shared_ptr<const policy::PolicySet> policies = policies_();
  if (policies == nullptr) {
    co_return HttpResponse{503, "application/json", R"({"error":"no policy loaded yet"})", {}};
  }
  if (observer_.reviewStarted) {
    observer_.reviewStarted();
  }
  const Deadline deadline = reviewDeadline(req.target, start);
  admission::Outcome out;
  // GCC 12 miscompiles co_await inside ?:, hence the if.
  if (mutating) {
    out = co_await engine_.mutate(req.body, policies, deadline);
  } else {
    out = co_await engine_.review(req.body, policies, deadline);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto& record = mutating ? observer_.mutated : observer_.reviewed;
  if (record) {
    record(ReviewRecord{out, req.remote, kindLabel(out.request), operationLabel(out.request),
                        seconds});
  }
  co_return HttpResponse{out.httpStatus, "application/json", std::move(out.body), {}};
}

// Harbor's webhook notifications: a scan finished, an artifact was pushed or deleted. The
// affected digests are dropped from every cache so the next review asks again.
HttpResponse harborEvent(const HttpRequest& req, const std::string& secret, Engine& engine,
                         harbor::Invalidation* invalidated) {
  if (req.method != "POST") {
    return methodNotAllowed("POST");
  }
  if (!sameSecret(req.header("Authorization"), secret)) {
    log::warn("Refused a Harbor event with a wrong or missing Authorization header",
              {{"remote", req.remote}});
    return {401, "application/json", R"({"error":"wrong or missing Authorization"})", {}};
  }
  auto found = harbor::invalidationOf(req.body);
  if (!found.ok()) {
    nlohmann::json error = {{"error", found.status().message()}};
    return {400, "application/json", error.dump(), {}};
  }
  applyInvalidation(engine, *found);
  const size_t n = found->digests.size(), tags = found->tags.size();
  log::info("Harbor event", {{"invalidated", n}, {"tags", tags}});
  if (invalidated != nullptr) {
    *invalidated = std::move(*found);
  }
  return {200, "application/json", nlohmann::json{{"invalidated", n}, {"tags", tags}}.dump(), {}};
}

void applyInvalidation(Engine& engine, const harbor::Invalidation& invalidation) {
  for (const auto& d : invalidation.digests) {
    engine.invalidate(d);
  }
  for (const auto& t : invalidation.tags) {
    engine.forgetTag(t);
  }
}

HttpResponse WebhookHandler::harborEvent(const HttpRequest& req) {
  harbor::Invalidation invalidated;
  HttpResponse out = review::harborEvent(req, options_.eventsSecret, engine_, &invalidated);
  if (out.status == 200 && observer_.harborEvent) {
    observer_.harborEvent(invalidated.digests.size());
  }
  return out;
}

void logReview(const ReviewRecord& record) {
  const admission::Outcome& out = record.outcome;
  const admission::Request& r = out.request;
  if (out.decision == admission::Decision::kInvalid) {
    log::warn("Rejected malformed admission request",
              {{"remote", record.remote}, {"error", out.message}});
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
              {"pinned", out.pins.pinned},
              {"findings", findings},
              {"durationMs", record.seconds * 1000.0}});
}

std::vector<std::string_view> scanVerdicts(const admission::Outcome& out) {
  std::vector<std::string_view> verdicts;
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
    verdicts.push_back(outcome);
  }
  return verdicts;
}

std::vector<PolicyDecision> policyDecisions(const admission::Outcome& out) {
  std::vector<PolicyDecision> decisions;
  const policy::Evaluation& ev = out.evaluation;
  for (const std::string& name : ev.matchedPolicies) {
    bool found = false;
    for (const policy::Finding& f : ev.findings) {
      if (f.policy != name) {
        continue;
      }
      found = true;
      const std::string_view result = f.mode == policy::Mode::kEnforce ? "deny"
                                      : f.mode == policy::Mode::kWarn  ? "warn"
                                                                       : "audit";
      decisions.push_back({name, policy::checkName(f.check), result});
    }
    if (!found) {
      decisions.push_back({name, "all", "pass"});
    }
  }
  return decisions;
}

}  // namespace hm::review
