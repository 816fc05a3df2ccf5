// Harbor credentials from a file or a mounted Secret, and their reload as the operator rotates
// the Secret (Kubernetes swaps the volume's ..data symlink; both layouts are read).
#include "harbormaster/base/credentials.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "support/temp_dir.h"

namespace hm {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

using testing::SecretVolume;

TEST(CredentialsTest, AFileHoldsUsernameColonPasswordOnItsFirstLine) {
  testing::TempDir dir;
  dir.write("creds", "robot$webhook:pa:ss\r\nignored\n");
  auto c = readCredentials(dir.file("creds"));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->username, "robot$webhook");
  EXPECT_EQ(c->password, "pa:ss") << "only the first colon separates";

  dir.write("bad", "no-colon-Secret123\n");
  auto bad = readCredentials(dir.file("bad"));
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("username:password"));
  EXPECT_THAT(bad.status().message(), Not(HasSubstr("Secret123"))) << "never echo a secret";
  EXPECT_FALSE(readCredentials(dir.file("missing")).ok());
}

TEST(CredentialsTest, AMountedSecretDirectoryHoldsUsernameAndPasswordKeys) {
  testing::TempDir dir;
  SecretVolume volume(dir, "secret");
  auto none = readCredentials(volume.path());
  ASSERT_TRUE(none.ok()) << "an optional Secret not written yet: no credentials, no error";
  EXPECT_TRUE(none->empty());

  volume.write({{"username", "robot$webhook\n"}, {"password", "S3cretA"}, {"registry", "h"}});
  auto c = readCredentials(volume.path());
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(*c, (BasicCredentials{"robot$webhook", "S3cretA"}));

  testing::TempDir half;
  half.write("username", "robot$x");
  auto missing = readCredentials(half.path());
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("username without password"));
}

TEST(CredentialsTest, ReloadSwapsTheSharedValueOnlyWhenTheCredentialChanges) {
  testing::TempDir dir;
  SecretVolume volume(dir, "secret");
  auto file = CredentialsFile::open(volume.path());
  ASSERT_TRUE(file.ok());
  std::shared_ptr<const CredentialSource> source = (*file)->source();
  EXPECT_TRUE(source->get().empty());
  EXPECT_EQ((*file)->reload(), std::nullopt) << "still nothing";

  // The operator writes the Secret: picked up at the next check.
  volume.write({{"username", "robot$webhook"}, {"password", "Hm1first"}});
  auto first = (*file)->reload();
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(first->ok());
  EXPECT_EQ(source->get(), (BasicCredentials{"robot$webhook", "Hm1first"}));
  EXPECT_EQ((*file)->reload(), std::nullopt) << "unchanged: nothing to report";

  // A rotation: the same handle clients hold now gives the new robot.
  volume.write({{"username", "robot$webhook.b"}, {"password", "Hm1second"}});
  ASSERT_TRUE((*file)->reload().has_value());
  EXPECT_EQ(source->get(), (BasicCredentials{"robot$webhook.b", "Hm1second"}));

  // Emptied or broken: refused once, the working credential stays.
  volume.write({{"username", "robot$webhook.b"}, {"password", ""}});
  auto refused = (*file)->reload();
  ASSERT_TRUE(refused.has_value());
  EXPECT_FALSE(refused->ok());
  EXPECT_EQ((*file)->reload(), std::nullopt) << "the same refusal is reported once";
  EXPECT_EQ(source->get().password, "Hm1second");
  volume.write({});  // the keys' symlinks now dangle, as in a Secret emptied
  auto gone = (*file)->reload();
  ASSERT_TRUE(gone.has_value());
  EXPECT_THAT(gone->message(), HasSubstr("keeping the previous ones"));
  EXPECT_EQ(source->get().username, "robot$webhook.b");
}

}  // namespace
}  // namespace hm
