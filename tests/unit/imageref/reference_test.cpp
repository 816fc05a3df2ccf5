#include "harbormaster/imageref/reference.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hm::imageref {
namespace {

using ::testing::HasSubstr;

const std::string kSha256 = "sha256:" + std::string(64, 'a');
const std::string kSha512 = "sha512:" + std::string(128, 'b');

struct Valid {
  std::string input;
  std::string registry;
  std::string repository;
  std::string tag;
  std::string digest;
  std::string normalized;
  std::string familiar;
};

class ValidReferenceTest : public ::testing::TestWithParam<Valid> {};

TEST_P(ValidReferenceTest, ParsesAndNormalises) {
  const Valid& v = GetParam();
  auto ref = parse(v.input);
  ASSERT_TRUE(ref.ok()) << v.input << ": " << ref.status().message();
  EXPECT_EQ(ref->registry, v.registry);
  EXPECT_EQ(ref->repository, v.repository);
  EXPECT_EQ(ref->tag, v.tag);
  EXPECT_EQ(ref->digest, v.digest);
  EXPECT_EQ(ref->normalized(), v.normalized);
  EXPECT_EQ(ref->familiar(), v.familiar);
  EXPECT_EQ(ref->isPinned(), !v.digest.empty());
  // Normalising is idempotent, and the familiar form names the same image.
  auto again = parse(ref->normalized());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->normalized(), v.normalized);
  auto fromFamiliar = parse(ref->familiar());
  ASSERT_TRUE(fromFamiliar.ok()) << ref->familiar();
  EXPECT_EQ(fromFamiliar->normalized(), v.normalized);
}

INSTANTIATE_TEST_SUITE_P(
    Grammar, ValidReferenceTest,
    ::testing::Values(
        Valid{"nginx", "docker.io", "library/nginx", "latest", "", "docker.io/library/nginx:latest",
              "nginx"},
        Valid{"nginx:1.25", "docker.io", "library/nginx", "1.25", "",
              "docker.io/library/nginx:1.25", "nginx:1.25"},
        Valid{"library/nginx:1.25", "docker.io", "library/nginx", "1.25", "",
              "docker.io/library/nginx:1.25", "nginx:1.25"},
        Valid{"docker.io/nginx", "docker.io", "library/nginx", "latest", "",
              "docker.io/library/nginx:latest", "nginx"},
        Valid{"index.docker.io/library/nginx:1", "docker.io", "library/nginx", "1", "",
              "docker.io/library/nginx:1", "nginx:1"},
        Valid{"acme/app:v2", "docker.io", "acme/app", "v2", "", "docker.io/acme/app:v2",
              "acme/app:v2"},
        Valid{"nginx@" + kSha256, "docker.io", "library/nginx", "", kSha256,
              "docker.io/library/nginx@" + kSha256, "nginx@" + kSha256},
        Valid{"nginx:1.25@" + kSha256, "docker.io", "library/nginx", "1.25", kSha256,
              "docker.io/library/nginx:1.25@" + kSha256, "nginx:1.25@" + kSha256},
        Valid{"harbor.example.com/shop/web:1.4", "harbor.example.com", "shop/web", "1.4", "",
              "harbor.example.com/shop/web:1.4", "harbor.example.com/shop/web:1.4"},
        Valid{"harbor.example.com/shop/web", "harbor.example.com", "shop/web", "latest", "",
              "harbor.example.com/shop/web:latest", "harbor.example.com/shop/web"},
        Valid{"harbor.example.com/web", "harbor.example.com", "web", "latest", "",
              "harbor.example.com/web:latest", "harbor.example.com/web"},
        Valid{"harbor.example.com:8443/a/b/c/d:x", "harbor.example.com:8443", "a/b/c/d", "x", "",
              "harbor.example.com:8443/a/b/c/d:x", "harbor.example.com:8443/a/b/c/d:x"},
        Valid{"localhost/app", "localhost", "app", "latest", "", "localhost/app:latest",
              "localhost/app"},
        // On Docker Hub, a first path component that reads as a host keeps "docker.io/".
        Valid{"docker.io/a.b/c", "docker.io", "a.b/c", "latest", "", "docker.io/a.b/c:latest",
              "docker.io/a.b/c"},
        Valid{"docker.io/localhost/x:1", "docker.io", "localhost/x", "1", "",
              "docker.io/localhost/x:1", "docker.io/localhost/x:1"},
        Valid{"docker.io/library/a.b", "docker.io", "library/a.b", "latest", "",
              "docker.io/library/a.b:latest", "a.b"},
        Valid{"localhost:5000/app:1", "localhost:5000", "app", "1", "", "localhost:5000/app:1",
              "localhost:5000/app:1"},
        Valid{"127.0.0.1:5000/app@" + kSha512, "127.0.0.1:5000", "app", "", kSha512,
              "127.0.0.1:5000/app@" + kSha512, "127.0.0.1:5000/app@" + kSha512},
        Valid{"[::1]:5000/app:1", "[::1]:5000", "app", "1", "", "[::1]:5000/app:1",
              "[::1]:5000/app:1"},
        Valid{"[2001:db8::1]/team/app", "[2001:db8::1]", "team/app", "latest", "",
              "[2001:db8::1]/team/app:latest", "[2001:db8::1]/team/app"},
        // Host names compare case-insensitively: one registry however it is spelled.
        Valid{"Registry.Example.com/app", "registry.example.com", "app", "latest", "",
              "registry.example.com/app:latest", "registry.example.com/app"},
        Valid{"registry.example.com:443/app", "registry.example.com", "app", "latest", "",
              "registry.example.com/app:latest", "registry.example.com/app"},
        Valid{"MYHOST/app", "MYHOST", "app", "latest", "", "MYHOST/app:latest", "MYHOST/app"},
        Valid{"a/b_c/d__e/f-g/h--i/j.k:T_a.g-1", "docker.io", "a/b_c/d__e/f-g/h--i/j.k", "T_a.g-1",
              "", "docker.io/a/b_c/d__e/f-g/h--i/j.k:T_a.g-1", "a/b_c/d__e/f-g/h--i/j.k:T_a.g-1"},
        Valid{"docker.io/library/a/b", "docker.io", "library/a/b", "latest", "",
              "docker.io/library/a/b:latest", "library/a/b"},
        Valid{"x:" + std::string(128, 't'), "docker.io", "library/x", std::string(128, 't'), "",
              "docker.io/library/x:" + std::string(128, 't'), "x:" + std::string(128, 't')}));

struct Invalid {
  std::string input;
  std::string mentions;  // the error must name the offending part
};

class InvalidReferenceTest : public ::testing::TestWithParam<Invalid> {};

TEST_P(InvalidReferenceTest, RejectsWithAnErrorNamingThePart) {
  const Invalid& v = GetParam();
  auto ref = parse(v.input);
  ASSERT_FALSE(ref.ok()) << "accepted: " << v.input;
  EXPECT_EQ(ref.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(ref.status().message(), HasSubstr(v.mentions)) << v.input;
  EXPECT_THAT(ref.status().message(), HasSubstr("invalid image reference"));
}

INSTANTIATE_TEST_SUITE_P(
    Grammar, InvalidReferenceTest,
    ::testing::Values(
        Invalid{"", "empty"}, Invalid{":", "tag"}, Invalid{":1.0", "repository name is empty"},
        Invalid{"nginx:", "tag after ':' is empty"}, Invalid{"nginx:-x", "tag"},
        Invalid{"nginx:.x", "tag"}, Invalid{"nginx:a/b", "port"},
        Invalid{"nginx:" + std::string(129, 't'), "longer than 128"}, Invalid{"Nginx", "lowercase"},
        Invalid{"acme/App", "lowercase"}, Invalid{"harbor.example.com/Shop/web", "lowercase"},
        Invalid{"/nginx", "empty path component"}, Invalid{"nginx/", "empty path component"},
        Invalid{"a//b", "empty path component"}, Invalid{"a/-b", "path component"},
        Invalid{"a/b-", "path component"}, Invalid{"a/b___c", "path component"},
        Invalid{"a/b..c", "path component"}, Invalid{"a/.b", "path component"},
        Invalid{"nginx@", "digest"}, Invalid{"nginx@sha256", "algorithm:hex"},
        Invalid{"nginx@sha256:abc", "64 lower-case hex"},
        Invalid{"nginx@sha256:" + std::string(64, 'A'), "64 lower-case hex"},
        Invalid{"nginx@sha256:" + std::string(63, 'a') + "g", "64 lower-case hex"},
        Invalid{"nginx@sha512:" + std::string(64, 'a'), "128 lower-case hex"},
        Invalid{"nginx@md5:" + std::string(32, 'a'), "not supported"},
        Invalid{"nginx@" + kSha256 + "@" + kSha256, "digest"},
        Invalid{"harbor.example.com:/app", "port"}, Invalid{"harbor.example.com:99999/app", "port"},
        Invalid{"harbor.example.com:80a/app", "port"},
        Invalid{"-bad.example.com/app", "registry host"},
        Invalid{"bad-.example.com/app", "registry host"},
        Invalid{"bad..example.com/app", "registry host"},
        Invalid{"ba_d.example.com/app", "registry host"}, Invalid{"[::1/app", "closing ']'"},
        Invalid{"[zz::1]/app", "IPv6"}, Invalid{"[]/app", "IPv6"},
        Invalid{"[::1]x/app", "after the IPv6"}, Invalid{"[::1]:0/app", "port"},
        Invalid{"nginx 1.25", "whitespace"}, Invalid{"nginx\n", "control"},
        Invalid{std::string("ngi\0nx", 6), "control"}, Invalid{"ng\xc3\xa9nx", "non-ASCII"},
        Invalid{"\t", "whitespace"}, Invalid{std::string(256, 'a'), "longer than 255"},
        Invalid{"a/" + std::string(254, 'b'), "longer than 255"},
        // 250 characters as written, 268 once normalised to docker.io/library/...
        Invalid{std::string(250, 'n'), "longer than 255 characters once normalised"},
        Invalid{std::string(5000, 'a'), "longer than 1024"},
        Invalid{std::string(300, '/'), "longer than 255"}, Invalid{"a@b@c", "digest"},
        Invalid{"@" + kSha256, "repository name is empty"}));

TEST(ReferenceTest, ErrorQuotesHostileInputSafely) {
  auto ref = parse("evil\x1b[31m\"quote");
  ASSERT_FALSE(ref.ok());
  EXPECT_THAT(ref.status().message(), HasSubstr("\\x1b"));
  EXPECT_THAT(ref.status().message(), ::testing::Not(HasSubstr("\x1b")));
}

TEST(ReferenceTest, ErrorCutsVeryLongInput) {
  auto ref = parse(std::string(1000, 'A'));
  ASSERT_FALSE(ref.ok());
  EXPECT_LT(ref.status().message().size(), 500u);
}

TEST(ReferenceTest, WithDigestGivesThePinnedName) {
  auto ref = parse("nginx:1.25");
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->withDigest(kSha256), "docker.io/library/nginx@" + kSha256);
  EXPECT_TRUE(ref->tagImplied == false);
  auto implied = parse("nginx");
  ASSERT_TRUE(implied.ok());
  EXPECT_TRUE(implied->tagImplied);
  auto pinned = parse("nginx@" + kSha256);
  ASSERT_TRUE(pinned.ok());
  EXPECT_TRUE(pinned->tag.empty()) << "no tag is implied when a digest is given";
}

TEST(ReferenceTest, ValidateDigestStandsAlone) {
  EXPECT_TRUE(validateDigest(kSha256).ok());
  EXPECT_TRUE(validateDigest(kSha512).ok());
  EXPECT_FALSE(validateDigest("sha256:").ok());
  EXPECT_FALSE(validateDigest(kSha256 + "a").ok());
}

// One host normalisation for every comparison: case, HTTPS's default port and Docker Hub's
// other names never decide whether a policy selects an image.
TEST(ReferenceTest, NormalizesRegistryHostsForMatching) {
  struct Case {
    const char* host;
    const char* normalized;
  };
  for (const Case& c :
       {Case{"harbor.example.com", "harbor.example.com"},
        Case{"HARBOR.Example.COM", "harbor.example.com"},
        Case{"harbor.example.com:443", "harbor.example.com"},
        Case{"HARBOR.EXAMPLE.COM:443", "harbor.example.com"},
        Case{"harbor.example.com:8443", "harbor.example.com:8443"},
        Case{"harbor.example.com:4430", "harbor.example.com:4430"},
        Case{"localhost:443", "localhost"}, Case{"[::1]:443", "[::1]"},
        // Fuzz finding: without its port it would read as a Docker Hub namespace.
        Case{"rey-libregistryry-li:443", "rey-libregistryry-li:443"},
        Case{"MYHOST:443", "myhost:443"}, Case{"[::1]:5000", "[::1]:5000"},
        Case{"[FE80::1]", "[fe80::1]"}, Case{"index.docker.io", "docker.io"},
        Case{"Registry-1.Docker.IO:443", "docker.io"}, Case{"docker.io:443", "docker.io"}}) {
    EXPECT_EQ(normalizeHost(c.host), c.normalized) << c.host;
  }
  // Every spelling of one image parses to one registry and one normalised name.
  for (const char* image : {"harbor.example.com/p/x:t", "HARBOR.EXAMPLE.COM/p/x:t",
                            "harbor.example.com:443/p/x:t", "Harbor.Example.Com:443/p/x:t"}) {
    auto ref = parse(image);
    ASSERT_TRUE(ref.ok()) << image << ": " << ref.status().message();
    EXPECT_EQ(ref->registry, "harbor.example.com") << image;
    EXPECT_EQ(ref->normalized(), "harbor.example.com/p/x:t") << image;
  }
  // Fuzz finding: a host valid only once normalised is refused as written.
  EXPECT_FALSE(parse("regist.docker.io:443:443/lar").ok());
  auto hub = parse("INDEX.DOCKER.IO/nginx");
  ASSERT_TRUE(hub.ok());
  EXPECT_EQ(hub->normalized(), "docker.io/library/nginx:latest");
  // Globs: only a leading part that names a host changes.
  EXPECT_EQ(normalizeLeadingHost("HARBOR.example.com:443/p/*"), "harbor.example.com/p/*");
  EXPECT_EQ(normalizeLeadingHost("*.EXAMPLE.com/**"), "*.example.com/**");
  EXPECT_EQ(normalizeLeadingHost("library/nginx:*"), "library/nginx:*");
  EXPECT_EQ(normalizeLeadingHost("**"), "**");
  EXPECT_EQ(normalizeLeadingHost("nginx"), "nginx");
}

// Every single-byte mutation of a valid reference either parses to something that normalises
// stably or fails with InvalidArgument; nothing crashes (run under ASan/UBSan in CI).
TEST(ReferenceTest, SurvivesEveryByteMutation) {
  const std::string base = "harbor.example.com:8443/shop/web:1.4@" + kSha256;
  int accepted = 0;
  for (size_t i = 0; i < base.size(); ++i) {
    for (int b = 0; b < 256; b += 7) {
      std::string s = base;
      s[i] = static_cast<char>(b);
      auto ref = parse(s);
      if (ref.ok()) {
        ++accepted;
        auto again = parse(ref->normalized());
        ASSERT_TRUE(again.ok()) << s;
        EXPECT_EQ(again->normalized(), ref->normalized());
      } else {
        EXPECT_EQ(ref.status().code(), StatusCode::kInvalidArgument);
      }
    }
  }
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace hm::imageref
