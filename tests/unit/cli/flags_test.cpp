#include "flags.h"

#include <gtest/gtest.h>

namespace hm::cli {
namespace {

const FlagSpec kSpec{.valued = {"policy", "registry-host"}, .boolean = {"verbose"}};

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
  EXPECT_EQ(*parseDuration("t", "3"), std::chrono::milliseconds(3'000));
  EXPECT_FALSE(parseDuration("t", "").ok());
  EXPECT_FALSE(parseDuration("t", "s").ok());
  EXPECT_FALSE(parseDuration("t", "10d").ok());
  EXPECT_FALSE(parseDuration("t", "99999999999999s").ok());
}

}  // namespace
}  // namespace hm::cli
