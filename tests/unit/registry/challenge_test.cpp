#include "harbormaster/registry/challenge.h"

#include <gtest/gtest.h>

namespace hm::registry {
namespace {

TEST(ChallengeTest, ParsesHarborsBearerChallenge) {
  auto c = parseChallenge(
      R"(Bearer realm="https://harbor.example.com/service/token",service="harbor-registry",scope="repository:team/app:pull,push")");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->scheme, "bearer");
  EXPECT_EQ(c->param("realm"), "https://harbor.example.com/service/token");
  EXPECT_EQ(c->param("service"), "harbor-registry");
  EXPECT_EQ(c->param("scope"), "repository:team/app:pull,push");
}

TEST(ChallengeTest, AcceptsSpacingCaseTokensAndEscapes) {
  auto c = parseChallenge("  BASIC   Realm = \"a \\\"quoted\\\" realm\" ,  charset=UTF-8");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->scheme, "basic");
  EXPECT_EQ(c->param("realm"), "a \"quoted\" realm");
  EXPECT_EQ(c->param("charset"), "UTF-8");
  EXPECT_EQ(c->param("missing"), "");
}

TEST(ChallengeTest, StopsAtASecondChallenge) {
  auto c = parseChallenge(R"(Bearer realm="https://r/token", Basic realm="x")");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->param("realm"), "https://r/token");
}

TEST(ChallengeTest, RejectsMalformedHeaders) {
  for (const char* bad : {"", "   ", "=x", "Bearer realm", "Bearer realm=\"open",
                          "Bearer realm=\"a\" junk", "Bearer ,", "Bearer realm=\"a\",,="}) {
    auto c = parseChallenge(bad);
    EXPECT_FALSE(c.ok()) << bad;
  }
  EXPECT_FALSE(parseChallenge("Bearer realm=\"" + std::string(10000, 'a') + "\"").ok());
}

}  // namespace
}  // namespace hm::registry
