// The tag resolver's cache: a moved tag (Harbor's push event) is forgotten on every registry
// host, and nothing else is.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harbormaster/review/engine.h"
#include "support/async.h"

namespace hm::review {
namespace {

using hm::testing::runOn;
using ::testing::_;
using ::testing::Return;

// registry::Client's mock, here rather than support/mock_clients.h: that header's Harbor mock
// and engine.h's Harbor connection do not compile in one TU with Boost 1.74.
template <typename T>
boost::asio::awaitable<T> ready(T value) {
  co_return value;
}

class RegistryMock : public registry::Client {
 public:
  template <typename T>
  using A = boost::asio::awaitable<T>;
  using Deadline = registry::Deadline;
  MOCK_METHOD(A<StatusOr<registry::Manifest>>, getManifest, (imageref::Reference, Deadline),
              (override));
  MOCK_METHOD(A<StatusOr<std::string>>, resolveDigest, (imageref::Reference, Deadline), (override));
  MOCK_METHOD(A<StatusOr<std::string>>, getBlob,
              (imageref::Reference, std::string, Deadline, size_t), (override));
  MOCK_METHOD(A<StatusOr<std::vector<registry::Descriptor>>>, referrers,
              (imageref::Reference, std::string, Deadline), (override));
  MOCK_METHOD(size_t, tokenRequests, (), (const, override));
};

TEST(ResolverTest, AMovedTagIsAskedAgainAndOtherTagsAreNot) {
  hm::testing::IoThreads io;
  auto registry = std::make_shared<::testing::StrictMock<RegistryMock>>();
  DigestOptions options;
  options.tagTtl = std::chrono::hours(1);
  auto resolver = makeRegistryResolver(registry, options);
  const std::string before = "sha256:" + std::string(64, 'a');
  const std::string after = "sha256:" + std::string(64, 'b');
  auto resolve = [&](const std::string& image) {
    auto ref = imageref::parse(image);
    EXPECT_TRUE(ref.ok());
    return runOn(
        io.ioc(),
        resolver->resolve(*ref, true, std::chrono::steady_clock::now() + std::chrono::seconds(5)));
  };
  EXPECT_CALL(*registry, resolveDigest(_, _))
      .WillOnce(Return(ready(StatusOr<std::string>(before))))  // web:1
      .WillOnce(Return(ready(StatusOr<std::string>(before))))  // web:10
      .WillOnce(Return(ready(StatusOr<std::string>(after))));  // web:1 again, once forgotten
  EXPECT_EQ(*resolve("harbor.example.com/shop/web:1"), before);
  EXPECT_EQ(*resolve("harbor.example.com/shop/web:10"), before);
  EXPECT_EQ(*resolve("harbor.example.com/shop/web:1"), before) << "cached";
  resolver->forget("web:1");        // not a repository path Harbor sends
  resolver->forget("other/web:1");  // another project
  resolver->forget("hop/web:1");    // a suffix of a path, not the path
  EXPECT_EQ(*resolve("harbor.example.com/shop/web:1"), before) << "still cached";
  resolver->forget("shop/web:1");
  EXPECT_EQ(*resolve("harbor.example.com/shop/web:1"), after) << "asked again";
  EXPECT_EQ(*resolve("harbor.example.com/shop/web:10"), before) << "web:10 did not move";
}

}  // namespace
}  // namespace hm::review
