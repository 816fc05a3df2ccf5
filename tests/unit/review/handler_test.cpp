// The webhook's HTTP surface without sockets: routes, deadlines, Harbor events, hooks.
#include "harbormaster/review/handler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fakes.h"
#include "support/async.h"
#include "support/fake_clock.h"

namespace hm::review {
namespace {

using namespace hm::review::testing;
using hm::testing::runOn;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

class HandlerTest : public ::testing::Test {
 protected:
  HandlerTest()
      : source_(std::make_shared<FakeSource>(
            "scan",
            [](imageref::Reference pinned, facts::Deadline) -> awaitable<facts::Attach> {
              co_return cleanScan(pinned.digest);
            })),
        engine_({source_}, nullptr, {}, clock_) {}

  WebhookHandler handler(HandlerObserver hooks = {}, std::string secret = "s3cret") {
    return WebhookHandler(
        engine_, [this] { return policies_; },
        {.reviewBudget = 8s, .eventsSecret = std::move(secret)}, std::move(hooks));
  }

  net::HttpResponse call(WebhookHandler& h, std::string method, std::string target,
                         std::string body = "", std::vector<net::Header> headers = {}) {
    net::HttpRequest req;
    req.method = std::move(method);
    req.target = std::move(target);
    req.body = std::move(body);
    req.headers = std::move(headers);
    req.remote = "10.0.0.1:5555";
    return runOn(io_.ioc(), h.handle(std::move(req)));
  }

  hm::testing::FakeClock clock_;
  hm::testing::IoThreads io_;
  std::shared_ptr<FakeSource> source_;
  Engine engine_;
  std::shared_ptr<const policy::PolicySet> policies_ = scanPolicy();
};

TEST_F(HandlerTest, TheDeadlineIsTheBudgetCutToEightyPercentOfTheApiServersTimeout) {
  auto h = handler();
  const auto now = std::chrono::steady_clock::now();
  EXPECT_EQ(h.reviewDeadline("/validate", now), now + 8s);
  EXPECT_EQ(h.reviewDeadline("/validate?timeout=10s", now), now + 8s);
  EXPECT_EQ(h.reviewDeadline("/validate?timeout=2s", now), now + 1600ms);
  EXPECT_EQ(h.reviewDeadline("/validate?x=1&timeout=1m30s", now), now + 8s);
  EXPECT_EQ(h.reviewDeadline("/validate?timeout=500ms", now), now + 400ms);
  // Go's Duration.String() forms, read by the one grammar (fractions, µs).
  EXPECT_EQ(h.reviewDeadline("/validate?timeout=2.5s", now), now + 2000ms);
  EXPECT_EQ(h.reviewDeadline("/validate?timeout=1500000us", now), now + 1200ms);
  for (const char* junk : {"/validate?timeout=", "/validate?timeout=soon", "/validate?timeout=-3s",
                           "/validate?mytimeout=1s"}) {
    EXPECT_EQ(h.reviewDeadline(junk, now), now + 8s) << junk;
  }
}

TEST_F(HandlerTest, ValidateReviewsAndReportsThroughTheHooks) {
  std::vector<std::string> seen;
  HandlerObserver hooks;
  hooks.reviewed = [&](const ReviewRecord& r) {
    seen.push_back(std::string(r.kind) + " " + std::string(r.operation) + " " +
                   std::string(admission::decisionName(r.outcome.decision)));
  };
  hooks.httpRequest = [&](std::string_view path, int status) {
    seen.push_back(std::string(path) + " " + std::to_string(status));
  };
  auto h = handler(hooks);
  auto res = call(h, "POST", "/validate?timeout=10s",
                  podReview({"harbor.example.com/shop/web@" + kDigest}));
  EXPECT_EQ(res.status, 200);
  EXPECT_THAT(res.body, HasSubstr(R"("allowed":true)"));
  EXPECT_EQ(seen, (std::vector<std::string>{"Pod CREATE allowed", "/validate 200"}));
  res = call(h, "POST", "/validate", "{not json");
  EXPECT_EQ(res.status, 400);
}

TEST_F(HandlerTest, RoutesMethodsAndReadiness) {
  auto h = handler();
  EXPECT_EQ(call(h, "GET", "/healthz").status, 200);
  EXPECT_EQ(call(h, "GET", "/readyz").status, 200);
  EXPECT_EQ(call(h, "GET", "/validate").status, 405);
  EXPECT_EQ(call(h, "DELETE", "/healthz").status, 405);
  EXPECT_EQ(call(h, "GET", "/nope").status, 404);
  EXPECT_EQ(call(h, "GET", "/metrics").status, 404) << "no metrics hook, no metrics";
  h.setStopping();
  EXPECT_EQ(call(h, "GET", "/readyz").status, 503);
  policies_ = nullptr;
  auto fresh = handler();
  EXPECT_EQ(call(fresh, "GET", "/readyz").status, 503) << "no policy, not ready";
  EXPECT_EQ(call(fresh, "POST", "/validate", podReview({"nginx"})).status, 503)
      << "never allowed without a policy";
}

TEST_F(HandlerTest, TheOpsPortNeverServesReviewsOrEvents) {
  auto h = handler();
  for (const char* path : {"/validate", "/harbor-events"}) {
    net::HttpRequest req;
    req.method = "POST";
    req.target = path;
    EXPECT_EQ(runOn(io_.ioc(), h.handleOps(req)).status, 404) << path;
  }
}

TEST_F(HandlerTest, HarborEventsNeedTheSecretAndInvalidateEverySource) {
  auto h = handler();
  const std::string event =
      R"({"type":"SCANNING_COMPLETED","event_data":{"resources":[{"digest":")" + kDigest +
      R"("}]}})";
  EXPECT_EQ(call(h, "POST", "/harbor-events", event, {{"Authorization", "wrong"}}).status, 401);
  EXPECT_EQ(call(h, "POST", "/harbor-events", event).status, 401);
  EXPECT_TRUE(source_->invalidated.empty());
  auto res = call(h, "POST", "/harbor-events", event, {{"Authorization", "s3cret"}});
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(source_->invalidated, std::vector<std::string>{kDigest});
  EXPECT_EQ(call(h, "POST", "/harbor-events", "[]", {{"Authorization", "s3cret"}}).status, 400);
  auto off = handler({}, "");
  EXPECT_EQ(call(off, "POST", "/harbor-events", event, {{"Authorization", "s3cret"}}).status, 405)
      << "without a secret the route is off";
}

}  // namespace
}  // namespace hm::review
