#include "flags.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hm::cli {
namespace {

FlagSpec spec() {
  FlagSpec s;
  s.add("Test", {{"policy", "FILE", "a policy"},
                 {"registry-host", "HOST", "a host", "", "", true},
                 {"verbose", "", "say more"}});
  return s;
}
const FlagSpec kSpec = spec();

TEST(FlagsTest, ParsesValuesBooleansAndPositionals) {
  auto f = parseFlags({"--policy", "p.yaml", "img1", "--registry-host=a", "--registry-host", "b",
                       "--verbose", "img2", "--", "--not-a-flag"},
                      kSpec);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->get("policy"), "p.yaml");
  EXPECT_EQ(f->values.at("registry-host"), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(f->has("verbose"));
  EXPECT_EQ(f->positional, (std::vector<std::string>{"img1", "img2", "--not-a-flag"}));
}

TEST(FlagsTest, RejectsUnknownAndIncompleteFlags) {
  EXPECT_FALSE(parseFlags({"--polcy", "x"}, kSpec).ok());
  EXPECT_FALSE(parseFlags({"--policy"}, kSpec).ok());
  EXPECT_FALSE(parseFlags({"--verbose=yes"}, kSpec).ok());
}

TEST(FlagsTest, ParsesDurations) {
  EXPECT_EQ(*parseDuration("t", "10s"), std::chrono::milliseconds(10'000));
  EXPECT_EQ(*parseDuration("t", "250ms"), std::chrono::milliseconds(250));
  EXPECT_EQ(*parseDuration("t", "2m"), std::chrono::milliseconds(120'000));
  EXPECT_EQ(*parseDuration("t", "2160h"), std::chrono::milliseconds(2160LL * 3'600'000));
  // The CRDs' grammar: what a RobotAccount accepts, a flag accepts (and a bare number is
  // refused in both, as by Kubernetes' own flags).
  EXPECT_EQ(*parseDuration("t", "1h30m"), std::chrono::minutes(90));
  EXPECT_EQ(*parseDuration("t", "1.5s"), std::chrono::milliseconds(1'500));
  EXPECT_FALSE(parseDuration("t", "3").ok());
  auto negative = parseDuration("resync", "-5m");
  ASSERT_FALSE(negative.ok());
  EXPECT_THAT(negative.status().message(), testing::StartsWith("--resync: \"-5m\" is negative"));
  EXPECT_FALSE(parseDuration("t", "").ok());
  EXPECT_FALSE(parseDuration("t", "s").ok());
  EXPECT_FALSE(parseDuration("t", "10d").ok());
  EXPECT_FALSE(parseDuration("t", "99999999999999s").ok());
}

TEST(FlagsTest, ServerBoundsComeFromFlagsAndBadValuesAreRefused) {
  FlagSpec spec;
  spec.add("Listener bounds", serverFlags({}));
  auto f = parseFlags(
      {"--max-connections", "64", "--max-buffered-bytes", "20Mi", "--header-timeout", "2s",
       "--idle-timeout", "15s", "--handshake-timeout", "500ms", "--request-timeout", "4s"},
      spec);
  ASSERT_TRUE(f.ok()) << f.status().message();
  net::ServerOptions o;
  ASSERT_TRUE(applyServerFlags(*f, o).ok());
  EXPECT_EQ(o.maxConnections, 64u);
  EXPECT_EQ(o.maxBufferedBytes, 20u * 1024 * 1024);
  EXPECT_EQ(o.headerTimeout, std::chrono::milliseconds(2'000));
  EXPECT_EQ(o.idleTimeout, std::chrono::milliseconds(15'000));
  EXPECT_EQ(o.handshakeTimeout, std::chrono::milliseconds(500));
  EXPECT_EQ(o.requestTimeout, std::chrono::milliseconds(4'000));
  for (std::vector<std::string> bad :
       {std::vector<std::string>{"--max-connections", "0"},
        {"--max-connections", "many"},
        {"--max-buffered-bytes", "1Mi"} /* under twice the body limit */,
        {"--max-buffered-bytes", "64MB"},
        {"--idle-timeout", "0s"}}) {
    auto parsed = parseFlags(bad, spec);
    ASSERT_TRUE(parsed.ok());
    net::ServerOptions defaults;
    EXPECT_FALSE(applyServerFlags(*parsed, defaults).ok()) << bad[0] << " " << bad[1];
  }
  EXPECT_EQ(*parseByteSize("x", "64Ki"), 65536u);
  EXPECT_EQ(*parseByteSize("x", "7"), 7u);
}

}  // namespace
}  // namespace hm::cli
