// The master Secret's record: one reader for every layout ever written, one writer.
#include "robotaccount/credential.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hm::op::robotaccount {
namespace {

using ::testing::HasSubstr;

Credential sample() {
  Credential c;
  c.active = SlotName::kB;
  c.a = {7, "robot$team-a+puller", "Hm1a", "", 1'900'000'000, 1'800'000'000, 3, 1'800'000'300};
  c.b = {8, "robot$team-a+puller.b", "Hm1b", "Hm1next", -1, 1'800'000'100, 3, std::nullopt};
  c.lastRotation = "2027-01-15T08:00:00Z";
  c.rotateRequest = "r1";
  return c;
}

TEST(CredentialTest, WhatIsWrittenReadsBackTheSame) {
  auto data = writeCredential(sample());
  ASSERT_TRUE(data.count(kCredentialKey));
  auto back = readCredential(data);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, sample());
  EXPECT_EQ(data["username"], "robot$team-a+puller.b") << "the active one, for people";
  EXPECT_EQ(data["password"], "Hm1b");
}

TEST(CredentialTest, TheFlatLayoutOfVersionOneStillReads) {
  std::map<std::string, std::string> v1 = {{"active", "b"},
                                           {"a.id", "7"},
                                           {"a.username", "robot$team-a+puller"},
                                           {"a.password", "Hm1a"},
                                           {"a.expiresAt", "1900000000"},
                                           {"a.createdAt", "1800000000"},
                                           {"a.checkedGeneration", "3"},
                                           {"retire.a", "1800000300"},
                                           {"b.id", "8"},
                                           {"b.username", "robot$team-a+puller.b"},
                                           {"b.password", "Hm1b"},
                                           {"b.pending", "Hm1next"},
                                           {"b.expiresAt", "-1"},
                                           {"b.createdAt", "1800000100"},
                                           {"b.checkedGeneration", "3"},
                                           {"lastRotation", "2027-01-15T08:00:00Z"},
                                           {"rotateRequest", "r1"}};
  auto c = readCredential(v1);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(*c, sample());
}

TEST(CredentialTest, AnEmptySecretIsAnEmptyCredential) {
  auto c = readCredential({});
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->a.exists());
  EXPECT_EQ(c->active, SlotName::kA);
}

TEST(CredentialTest, ADamagedOrNewerRecordIsAnErrorNeverAnEmptyCredential) {
  for (const char* doc :
       {"not json", "[]", R"({"slots":{}})", R"({"version":"2"})",
        R"({"version":2,"slots":{"a":{"id":"seven"}}})", R"({"version":2,"slots":{"a":[]}})",
        // A float where a whole number belongs: an error, not an undefined cast (fuzz finding).
        R"({"version":2,"slots":{"a":{"id":1e300}}})",
        R"({"version":2,"slots":{"a":{"id":7.5}}})"}) {
    auto c = readCredential({{kCredentialKey, doc}});
    EXPECT_FALSE(c.ok()) << doc;
  }
  auto newer = readCredential({{kCredentialKey, R"({"version":3})"}});
  ASSERT_FALSE(newer.ok());
  EXPECT_EQ(newer.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(newer.status().message(), HasSubstr("version 3"));
}

}  // namespace
}  // namespace hm::op::robotaccount
