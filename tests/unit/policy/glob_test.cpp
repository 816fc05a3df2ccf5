#include <gtest/gtest.h>

#include "harbormaster/policy/policy.h"

namespace hm::policy {
namespace {

struct GlobCase {
  const char* pattern;
  const char* text;
  bool match;
};

class GlobTest : public ::testing::TestWithParam<GlobCase> {};

TEST_P(GlobTest, Matches) {
  const auto& c = GetParam();
  EXPECT_EQ(globMatch(c.pattern, c.text), c.match) << c.pattern << " vs " << c.text;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, GlobTest,
    ::testing::Values(GlobCase{"prod-*", "prod-eu", true}, GlobCase{"prod-*", "prod-", true},
                      GlobCase{"prod-*", "staging", false}, GlobCase{"*", "", true},
                      GlobCase{"", "", true}, GlobCase{"", "a", false},
                      GlobCase{"harbor.example.com/**", "harbor.example.com/shop/web", true},
                      GlobCase{"harbor.example.com/*", "harbor.example.com/shop/web", false},
                      GlobCase{"harbor.example.com/*", "harbor.example.com/web", true},
                      GlobCase{"harbor.example.com/*/web", "harbor.example.com/shop/web", true},
                      GlobCase{"**/web", "harbor.example.com/a/b/web", true},
                      GlobCase{"**/x*", "a/b/x1/x2", true}, GlobCase{"*/x*", "a/b/x1", false},
                      GlobCase{"docker.io/library/nginx:1.2?", "docker.io/library/nginx:1.25",
                               true},
                      GlobCase{"a?c", "a/c", false}, GlobCase{"exact", "exact", true},
                      GlobCase{"exact", "exactly", false}, GlobCase{"***", "a/b", true}));

TEST(GlobTest, HostileInputStaysFast) {
  // Exponential in a naive backtracking matcher; linear-times-pattern here.
  std::string text(1000, 'a');
  EXPECT_FALSE(globMatch("*a*a*a*a*a*a*a*a*a*a*a*a*b", text));
  EXPECT_FALSE(globMatch("**a**a**a**a**a**a**a**b", text));
}

}  // namespace
}  // namespace hm::policy
