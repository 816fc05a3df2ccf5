// The webhook's certificates as a third party (the openssl command line) sees them: chain,
// purpose and host name.
#include <gtest/gtest.h>

#include "harbormaster/pki/pki.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace hm::pki {
namespace {

using namespace std::chrono_literals;

TEST(PkiOpenSslTest, OpenSslAcceptsServingCertificatesForTheirNamesOnly) {
  auto now = std::chrono::system_clock::now();
  auto ca = createCa("test CA", now - 5min, now + 24h);
  ASSERT_TRUE(ca.ok());
  auto leaf = issueServing(*ca, {"svc.ns.svc", "svc"}, now - 5min, now + 1h);
  ASSERT_TRUE(leaf.ok()) << leaf.status().message();
  testing::TempDir dir;
  dir.write("ca.pem", ca->certPem);
  dir.write("leaf.pem", leaf->certPem);
  std::string out;
  EXPECT_EQ(
      testing::runCommand({"openssl", "verify", "-CAfile", dir.file("ca.pem"), "-purpose",
                           "sslserver", "-verify_hostname", "svc.ns.svc", dir.file("leaf.pem")},
                          out),
      0)
      << out;
  EXPECT_NE(testing::runCommand({"openssl", "verify", "-CAfile", dir.file("ca.pem"),
                                 "-verify_hostname", "other.ns.svc", dir.file("leaf.pem")},
                                out),
            0);
  // A leaf is no CA: it cannot vouch for another certificate.
  EXPECT_NE(testing::runCommand(
                {"openssl", "verify", "-CAfile", dir.file("leaf.pem"), dir.file("leaf.pem")}, out),
            0);
}

}  // namespace
}  // namespace hm::pki
