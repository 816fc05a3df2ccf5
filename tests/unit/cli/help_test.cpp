// Every command answers --help from the flag table its parser reads: each flag the parser
// accepts is listed with its default, and nothing else is.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "commands.h"
#include "harbor_flags.h"

namespace hm::cli {
namespace {

using ::testing::HasSubstr;

TEST(HelpTest, EveryFlagTheParserAcceptsIsInTheHelpWithItsDefault) {
  for (const FlagSpec& spec : {webhookFlagSpec(), checkFlagSpec(), operatorFlagSpec()}) {
    const std::string help = helpText(spec);
    EXPECT_THAT(help, HasSubstr("harbormaster " + spec.synopsis)) << spec.command;
    for (const FlagGroup& g : spec.groups) {
      for (const Flag& f : g.flags) {
        EXPECT_THAT(help, HasSubstr("--" + f.name + (f.arg.empty() ? "" : " " + f.arg)))
            << spec.command;
        EXPECT_FALSE(f.help.empty()) << spec.command << " --" << f.name;
        // Parsing the flag succeeds: what the help lists, the parser takes.
        std::vector<std::string> args = {"--" + f.name};
        if (!f.arg.empty()) {
          args.push_back("x");
        }
        EXPECT_TRUE(parseFlags(args, spec).ok()) << spec.command << " --" << f.name;
      }
    }
    EXPECT_FALSE(parseFlags({"--not-a-flag"}, spec).ok());
  }
  const std::string webhook = helpText(webhookFlagSpec());
  EXPECT_THAT(webhook, HasSubstr("--listen ADDR"));
  EXPECT_THAT(webhook, HasSubstr("(default :8443)"));
  EXPECT_THAT(webhook, HasSubstr("(default 20s)")) << "shutdown-grace, from WebhookOptions";
  EXPECT_THAT(webhook, HasSubstr("(default 32Mi)")) << "max-buffered-bytes, from ServerOptions";
  EXPECT_THAT(helpText(operatorFlagSpec()), HasSubstr("(default 4Mi)"))
      << "the operator's own listener bounds";
  EXPECT_THAT(helpText(operatorFlagSpec()), HasSubstr("(default 10m)")) << "resync";
  EXPECT_THAT(helpText(checkFlagSpec()), HasSubstr("-f, --filename FILE|DIR|-"));
}

TEST(HelpTest, HelpIsAskedForAnywhereBeforeDashDash) {
  EXPECT_TRUE(helpRequested({"--policy", "p", "--help"}));
  EXPECT_TRUE(helpRequested({"-h"}));
  EXPECT_FALSE(helpRequested({"--", "--help"}));
  EXPECT_FALSE(helpRequested({"--policy", "p"}));
}

TEST(HelpTest, ShorthandsAndDefaultsParse) {
  const FlagSpec spec = checkFlagSpec();
  auto f = parseFlags({"-f", "a.yaml", "-f", "-", "-o", "junit", "-R", "img"}, spec);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->values.at("filename"), (std::vector<std::string>{"a.yaml", "-"}));
  EXPECT_EQ(f->get("output"), "junit");
  EXPECT_TRUE(f->has("recursive"));
  EXPECT_EQ(f->get("namespace"), "default") << "the table's default";
  EXPECT_FALSE(f->has("namespace")) << "a default is not a flag given";
  EXPECT_EQ(f->positional, (std::vector<std::string>{"img"}));
  auto unknown = parseFlags({"-x"}, spec);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().message(), "unknown flag -x");
}

TEST(HelpTest, FormatsDurations) {
  using namespace std::chrono;
  EXPECT_EQ(formatDuration(seconds(20)), "20s");
  EXPECT_EQ(formatDuration(minutes(10)), "10m");
  EXPECT_EQ(formatDuration(hours(6)), "6h");
  EXPECT_EQ(formatDuration(seconds(90)), "1m30s");
  EXPECT_EQ(formatDuration(milliseconds(250)), "250ms");
  EXPECT_EQ(formatDuration(hours(24 * 365)), "8760h");
  EXPECT_EQ(*parseDuration("t", formatDuration(seconds(3725))), seconds(3725));
}

}  // namespace
}  // namespace hm::cli
