#include "harbormaster/base/status.h"

#include <gtest/gtest.h>

namespace hm {
namespace {

StatusOr<int> half(int n) {
  if (n % 2 != 0) {
    return invalidArgument("odd");
  }
  return n / 2;
}

Status chain(int n) {
  HM_RETURN_IF_ERROR(half(n).status());
  return okStatus();
}

TEST(StatusTest, CarriesCodeAndMessage) {
  Status s = notFound("no such project");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(isNotFound(s));
  EXPECT_EQ(s.toString(), "NotFound: no such project");
  EXPECT_EQ(s.withContext("harbor").message(), "harbor: no such project");
  EXPECT_EQ(s.withContext("harbor").code(), StatusCode::kNotFound);
  EXPECT_EQ(okStatus().toString(), "OK");
}

TEST(StatusTest, StatusOrHoldsValueOrError) {
  auto good = half(4);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 2);
  auto bad = half(3);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "odd");
  EXPECT_TRUE(chain(2).ok());
  EXPECT_EQ(chain(3).code(), StatusCode::kInvalidArgument);
}

TEST(StatusTest, StatusOrFromOkStatusIsAnInternalError) {
  StatusOr<int> s{okStatus()};
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace hm
