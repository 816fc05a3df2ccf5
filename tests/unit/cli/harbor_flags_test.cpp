#include "harbor_flags.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "commands.h"
#include "sources.h"
#include "support/temp_dir.h"

namespace hm::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

StatusOr<HarborFlags> parse(const std::vector<std::string>& args) {
  FlagSpec spec;
  spec.add("Harbor", harborFlags());
  auto flags = parseFlags(args, spec);
  if (!flags.ok()) {
    return flags.status();
  }
  return parseHarborFlags(*flags);
}

TEST(HarborFlagsTest, LookupLimitsAreWholeNumbersAndReachTheEngine) {
  FlagSpec spec;
  spec.add("Registries", registryFlags());
  auto flags = parseFlags(
      {"--max-image-lookups-per-review", "8", "--max-image-lookups-in-flight", "100"}, spec);
  ASSERT_TRUE(flags.ok()) << flags.status().message();
  auto f = parseHarborFlags(*flags);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->engineOptions().settings.maxImageLookupsPerReview, 8u);
  EXPECT_EQ(f->engineOptions().settings.maxImageLookupsInFlight, 100u);
  for (const char* bad : {"0", "-1", "ten", "", "100001", "99999999999"}) {
    auto b = parseFlags({"--max-image-lookups-per-review", bad}, spec);
    ASSERT_TRUE(b.ok()) << bad;
    auto r = parseHarborFlags(*b);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_THAT(r.status().message(),
                HasSubstr("--max-image-lookups-per-review must be a whole number from 1 to "
                          "100000"));
  }
  // Defaults when not given.
  auto none = parseFlags({}, spec);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(parseHarborFlags(*none)->engineOptions().settings.maxImageLookupsPerReview, 64u);
}

TEST(HarborFlagsTest, TheHarborRateLimitIsAWholeNumberOfRequestsPerSecond) {
  auto f = parse({"--harbor-url", "https://harbor.example.com", "--harbor-rate-limit", "50"});
  ASSERT_TRUE(f.ok()) << f.status().message();
  ASSERT_TRUE(f->connection.has_value());
  EXPECT_EQ(f->connection->requestsPerSecond, 50);
  EXPECT_EQ(f->engineOptions().harbor->requestsPerSecond, 50) << "the engine's connection too";
  auto unlimited = parse({"--harbor-url", "https://harbor.example.com"});
  ASSERT_TRUE(unlimited.ok());
  EXPECT_EQ(unlimited->connection->requestsPerSecond, 0) << "no limit unless asked";
  for (const char* bad : {"0", "-5", "1.5", "fast"}) {
    auto b = parse({"--harbor-url", "https://harbor.example.com", "--harbor-rate-limit", bad});
    ASSERT_FALSE(b.ok()) << bad;
    EXPECT_THAT(b.status().message(), HasSubstr("--harbor-rate-limit")) << bad;
  }
  auto alone = parse({"--harbor-rate-limit", "5"});
  ASSERT_FALSE(alone.ok());
  EXPECT_THAT(alone.status().message(), HasSubstr("needs --harbor-url"));
}

TEST(HarborFlagsTest, ReadsUsernameAndPasswordFromTheCredentialsFile) {
  hm::testing::TempDir dir;
  dir.write("creds", "robot$ci+bot:pa:ss\r\nignored\n");
  auto f = parse({"--harbor-url", "https://harbor.example.com", "--harbor-credentials-file",
                  dir.file("creds")});
  ASSERT_TRUE(f.ok()) << f.status().message();
  ASSERT_TRUE(f->connection.has_value());
  EXPECT_EQ(f->connection->username, "robot$ci+bot");
  EXPECT_EQ(f->connection->password, "pa:ss") << "only the first colon separates";
}

TEST(HarborFlagsTest, AMalformedOrMissingCredentialsFileIsAClearErrorThatHidesItsContent) {
  hm::testing::TempDir dir;
  for (const std::string content : {"just-a-s3cret-token\n", ":s3cret\n", ""}) {
    dir.write("creds", content);
    auto f = parse({"--harbor-url", "https://harbor.example.com", "--harbor-credentials-file",
                    dir.file("creds")});
    ASSERT_FALSE(f.ok()) << "accepted " << content;
    EXPECT_THAT(f.status().message(), HasSubstr("must be username:password"));
    EXPECT_THAT(f.status().message(), Not(HasSubstr("s3cret")));
  }
  auto missing = parse({"--harbor-url", "https://harbor.example.com", "--harbor-credentials-file",
                        dir.file("nope")});
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("--harbor-credentials-file"));
}

}  // namespace
}  // namespace hm::cli

namespace hm::cli {
namespace {

using ::testing::Contains;
using ::testing::IsSupersetOf;

TEST(SourceModulesTest, EachModulesFlagsAreTheEnginesAndReachTheModule) {
  const std::set<std::string> accepted = engineFlags();
  for (const auto& module : sourceModules()) {
    for (const auto& f : module->flags()) {
      EXPECT_THAT(accepted, Contains(f.name)) << module->name();
      EXPECT_FALSE(f.help.empty()) << f.name;
    }
  }
  EXPECT_THAT(accepted, IsSupersetOf({"scan-cache-ttl", "signature-negative-ttl", "harbor-url",
                                      "tag-digest-ttl"}));
  FlagSpec spec;
  addEngineFlags(spec);
  auto good = parseFlags({"--scan-cache-ttl", "90s", "--signature-negative-ttl", "1m"}, spec);
  ASSERT_TRUE(good.ok());
  auto parsed = parseHarborFlags(*good);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->engineOptions().sources.size(), sourceModules().size());
  auto bad = parseFlags({"--scan-cache-ttl", "soon"}, spec);
  ASSERT_TRUE(bad.ok());
  auto refused = parseHarborFlags(*bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("--scan-cache-ttl"));
  EXPECT_THAT(refused.status().message(), HasSubstr("is not a duration"));
}

}  // namespace
}  // namespace hm::cli

namespace hm::cli {
namespace {

TEST(HarborEnvironmentTest, GitLabsVariablesFillWhatTheFlagsLeaveOut) {
  const FlagSpec spec = checkFlagSpec();
  const HarborEnvironment env{"https://harbor.example.com", "harbor.example.com", "robot$shop+ci",
                              "s3cret"};
  auto flags = parseFlags({"--policy", "p.yaml", "img"}, spec);
  ASSERT_TRUE(flags.ok());
  EXPECT_EQ(withHarborEnvironment({"--policy", "p.yaml", "img"}, *flags, env),
            (std::vector<std::string>{"--policy", "p.yaml", "img",
                                      "--harbor-url=https://harbor.example.com",
                                      "--registry-host=harbor.example.com"}));
  auto explicitUrl = parseFlags({"--harbor-url", "https://other"}, spec);
  ASSERT_TRUE(explicitUrl.ok());
  EXPECT_EQ(withHarborEnvironment({"--harbor-url", "https://other"}, *explicitUrl, env),
            (std::vector<std::string>{"--harbor-url", "https://other"}))
      << "the flag wins over HARBOR_URL";
  auto dashed = parseFlags({"--", "img"}, spec);
  ASSERT_TRUE(dashed.ok());
  EXPECT_EQ(withHarborEnvironment({"--", "img"}, *dashed, {"https://h", "", "", ""}),
            (std::vector<std::string>{"--harbor-url=https://h", "--", "img"}))
      << "inserted where they are still flags";
  EXPECT_EQ(withHarborEnvironment({"img"}, *flags, {}), (std::vector<std::string>{"img"}));
}

TEST(HarborEnvironmentTest, CredentialsComeFromTheEnvironmentAndAnEscapedRobotNameIsRead) {
  setenv("HARBOR_USERNAME", "robot$$shop+ci", 1);
  setenv("HARBOR_PASSWORD", "s3cret", 1);
  auto f = parse({"--harbor-url", "https://harbor.example.com"});
  unsetenv("HARBOR_USERNAME");
  unsetenv("HARBOR_PASSWORD");
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->connection->username, "robot$shop+ci");
  EXPECT_EQ(f->connection->password, "s3cret");
}

}  // namespace
}  // namespace hm::cli
