#include "harbormaster/base/encoding.h"

#include <gtest/gtest.h>

namespace hm {
namespace {

TEST(EncodingTest, Base64MatchesRfc4648Vectors) {
  EXPECT_EQ(base64Encode(""), "");
  EXPECT_EQ(base64Encode("f"), "Zg==");
  EXPECT_EQ(base64Encode("fo"), "Zm8=");
  EXPECT_EQ(base64Encode("foo"), "Zm9v");
  EXPECT_EQ(base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64Encode(std::string("\xff\x00\xfe", 3)), "/wD+");
  EXPECT_EQ(base64Encode("robot$team+ci:s3cret"), "cm9ib3QkdGVhbStjaTpzM2NyZXQ=");
}

TEST(EncodingTest, Base64DecodesWhatItEncodesAndRefusesJunk) {
  for (const std::string& s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba",
                                                       "foobar", std::string("\0\xff\x10", 3)}) {
    auto d = base64Decode(base64Encode(s));
    ASSERT_TRUE(d.has_value()) << s;
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(base64Decode("Zm9v\nYmFy\r\n").value_or("?"), "foobar") << "line breaks are skipped";
  for (const char* bad : {"Zm9", "Zm9v=", "Zm=9v", "Zm9v!", "====", "Z==="}) {
    EXPECT_FALSE(base64Decode(bad).has_value()) << bad;
  }
}

TEST(EncodingTest, HexRoundTripsAndRefusesJunk) {
  EXPECT_EQ(hexEncode(std::string("\x00\x7f\xff\xc0", 4)), "007fffc0");
  EXPECT_EQ(hexDecode("007FffC0"), std::string("\x00\x7f\xff\xc0", 4));
  EXPECT_EQ(hexDecode(""), std::string());
  EXPECT_FALSE(hexDecode("abc").has_value());
  EXPECT_FALSE(hexDecode("zz").has_value());
  EXPECT_FALSE(hexDecode("0x").has_value());
}

TEST(EncodingTest, PercentEncodesAllButUnreserved) {
  EXPECT_EQ(percentEncode("AZaz09-_.~"), "AZaz09-_.~");
  EXPECT_EQ(percentEncode("team/app"), "team%2Fapp");
  EXPECT_EQ(percentEncode("repository:a:pull,push"), "repository%3Aa%3Apull%2Cpush");
  EXPECT_EQ(percentEncode("a+b %"), "a%2Bb%20%25");
  EXPECT_EQ(percentEncode("\xc3\xa9"), "%C3%A9");
}

TEST(EncodingTest, PercentDecodesOnceAndKeepsMalformedEscapes) {
  EXPECT_EQ(percentDecode("team%252Fapp", false), "team%2Fapp");
  EXPECT_EQ(percentDecode(percentDecode("team%252Fapp", false), false), "team/app");
  EXPECT_EQ(percentDecode("a+b%2B", true), "a b+");
  EXPECT_EQ(percentDecode("a+b", false), "a+b");
  EXPECT_EQ(percentDecode("100%", false), "100%");
  EXPECT_EQ(percentDecode("%zz%4", false), "%zz%4");
  EXPECT_EQ(percentDecode("%c3%A9", false), "\xc3\xa9");
}

}  // namespace
}  // namespace hm
