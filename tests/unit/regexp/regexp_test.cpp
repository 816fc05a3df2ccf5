#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harbormaster/regexp/regexp.h"

namespace hm::regexp {
namespace {

using ::testing::HasSubstr;

struct SearchCase {
  const char* pattern;
  const char* text;
  bool matches;
};

// Go's regexp (RE2) syntax, searched as cosign's --certificate-identity-regexp is.
class RegExpSearchTest : public ::testing::TestWithParam<SearchCase> {};

TEST_P(RegExpSearchTest, MatchesAsGoDoes) {
  auto re = RegExp::compile(GetParam().pattern);
  ASSERT_TRUE(re.ok()) << re.status().message();
  EXPECT_EQ(re->search(GetParam().text), GetParam().matches)
      << GetParam().pattern << " on " << GetParam().text;
}

INSTANTIATE_TEST_SUITE_P(
    GoSyntax, RegExpSearchTest,
    ::testing::Values(
        // Searched, not matched whole: an unanchored pattern matches inside the text.
        SearchCase{"github.com/acme/", "https://github.com/acme/app/.github/workflows/r.yml", true},
        SearchCase{"^github.com/acme/", "https://github.com/acme/app", false},
        SearchCase{"^https://github\\.com/acme/.*$", "https://github.com/acme/app@refs/tags/v1",
                   true},
        SearchCase{"^https://github\\.com/acme/.*$", "https://github.com/acme", false},
        // Perl classes, \A and \z, flags, non-capturing and named groups (Go's (?P<name>)).
        SearchCase{"\\Arelease-\\d+\\z", "release-42", true},
        SearchCase{"\\Arelease-\\d+\\z", "release-42\n", false},
        SearchCase{"(?i)^MITR@REDHAT\\.COM$", "mitr@redhat.com", true},
        SearchCase{"^(?:ci|cd)@acme\\.io$", "cd@acme.io", true},
        SearchCase{"^(?P<team>[a-z]+)@acme\\.io$", "web@acme.io", true},
        SearchCase{"^[[:alpha:]]+$", "abc", true}, SearchCase{"\\pL+", "Grüße", true},
        // The dot does not cross lines unless (?s) says so, as in Go.
        SearchCase{"^a.b$", "a\nb", false}, SearchCase{"(?s)^a.b$", "a\nb", true}));

TEST(RegExpTest, RefusesWhatGoRefuses) {
  // Backreferences and look-around are not Go syntax; a pattern written for PCRE says so.
  for (const char* p : {"(a)\\1", "(?=x)", "(?<!x)y", "a{2,1}", "[z-a]", "(unclosed"}) {
    auto re = RegExp::compile(p);
    ASSERT_FALSE(re.ok()) << p;
    EXPECT_EQ(re.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(re.status().message(), HasSubstr("Go/RE2 syntax")) << p;
  }
}

TEST(RegExpTest, RefusesOversizedPatterns) {
  auto longPattern = RegExp::compile(std::string(1025, 'a'));
  ASSERT_FALSE(longPattern.ok());
  EXPECT_THAT(longPattern.status().message(), HasSubstr("at most 1024"));
  EXPECT_TRUE(RegExp::compile(std::string(1024, 'a')).ok());
  // Short to write, huge once compiled: refused rather than truncated.
  auto repeats = RegExp::compile("((a{100}){100}){100}");
  ASSERT_FALSE(repeats.ok());
  EXPECT_THAT(repeats.status().message(), HasSubstr("invalid repetition size"));
  auto huge = RegExp::compile("(\\pL{100}){10}");
  ASSERT_FALSE(huge.ok());
  EXPECT_THAT(huge.status().message(), HasSubstr("too large once compiled"));
  // Deep nesting within the length limit compiles without exhausting the stack.
  auto deep = RegExp::compile(std::string(500, '(') + "a" + std::string(500, ')'));
  EXPECT_TRUE(deep.ok() || deep.status().code() == StatusCode::kInvalidArgument);
}

TEST(RegExpTest, CatastrophicBacktrackingShapesRunInLinearTime) {
  // Nested quantifiers against a long identity that almost matches: a backtracking engine
  // (std::regex, which this replaced) takes minutes here; RE2 answers at once, so the test
  // finishes. 10,000 searches of a 72-character identity and of a 10 KiB text.
  const std::string identity =
      "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v12!";
  ASSERT_EQ(identity.size(), 72U);
  for (const char* p : {"^(a|aa)*$", "^([a-z/:.@-]+)*$", "^(.*a){20}$", "^((\\w+)*)*$"}) {
    auto re = RegExp::compile(p);
    ASSERT_TRUE(re.ok()) << p << ": " << re.status().message();
    for (int i = 0; i < 10'000; ++i) {
      ASSERT_FALSE(re->search(identity)) << p;
    }
    EXPECT_FALSE(re->search(std::string(10 * 1024, 'a') + "!")) << p;
  }
}

TEST(RegExpTest, SharedCopiesMatchTheSame) {
  auto re = RegExp::compile("^ci@acme\\.io$");
  ASSERT_TRUE(re.ok());
  RegExp copy = *re;
  EXPECT_TRUE(copy.search("ci@acme.io"));
  EXPECT_EQ(copy.pattern(), "^ci@acme\\.io$");
}

TEST(RegExpTest, KnowsWhetherItIsAnchored) {
  struct Case {
    const char* pattern;
    bool anchored;
  };
  for (const Case& c : {Case{"^https://github\\.com/acme/.*$", true}, Case{"\\Aci@acme\\z", true},
                        Case{"(?i)^ci@acme$", true}, Case{"https://github.com/acme/", false},
                        Case{"^https://github.com/acme/", false}, Case{"acme$", false},
                        Case{"^cost\\$", false}, Case{"^cost\\\\$", true}}) {
    auto re = RegExp::compile(c.pattern);
    ASSERT_TRUE(re.ok()) << c.pattern;
    EXPECT_EQ(re->anchored(), c.anchored) << c.pattern;
  }
}

}  // namespace
}  // namespace hm::regexp
