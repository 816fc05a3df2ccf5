// harbor::connect, the one builder the webhook and the operator reach Harbor with: the registry
// host names pull secrets and the engine use, and clear errors for a bad URL or CA file.
#include "harbormaster/harbor/connect.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

namespace hm::harbor {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(HarborConnectTest, NamesTheRegistryAsImageReferencesDo) {
  boost::asio::io_context io;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"https://Harbor.Example.com", "harbor.example.com"},
      {"https://harbor.example.com:443", "harbor.example.com"},
      {"https://harbor.example.com:8443", "harbor.example.com:8443"},
      {"http://localhost:80", "localhost"},
      {"http://127.0.0.1:5000", "127.0.0.1:5000"},
      {"https://[::1]:8443", "[::1]:8443"},  // the brackets stay: "::1:8443" is no host
      {"https://[fd00::5]", "[fd00::5]"},
  };
  for (const auto& [url, host] : cases) {
    auto c = connect(io.get_executor(), Connection{url, "", "robot$x", "s", {}, 0});
    ASSERT_TRUE(c.ok()) << url << ": " << c.status().message();
    ASSERT_FALSE(c->registryHosts.empty());
    EXPECT_EQ(c->registryHosts.front(), host) << url;
    EXPECT_EQ(c->plainHttp, url.starts_with("http://")) << url;
    EXPECT_NE(c->client, nullptr);
    EXPECT_NE(c->http, nullptr);
  }
  auto more =
      connect(io.get_executor(),
              Connection{"https://harbor.example.com", "", "", "", {"Registry.Example.com"}, 0});
  ASSERT_TRUE(more.ok());
  EXPECT_THAT(more->registryHosts, ElementsAre("harbor.example.com", "registry.example.com"));
}

TEST(HarborConnectTest, ABadUrlOrCaFileIsAClearError) {
  boost::asio::io_context io;
  auto url = connect(io.get_executor(), Connection{"harbor.example.com", "", "", "", {}, 0});
  ASSERT_FALSE(url.ok());
  EXPECT_THAT(url.status().message(), HasSubstr("--harbor-url"));
  auto ca = connect(io.get_executor(),
                    Connection{"https://harbor.example.com", "/nonexistent/ca.pem", "", "", {}, 0});
  ASSERT_FALSE(ca.ok());
  EXPECT_THAT(ca.status().message(), HasSubstr("the Harbor connection"));
}

}  // namespace
}  // namespace hm::harbor
