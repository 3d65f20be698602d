// Tests for policy/internal/values: number, date, IP, bool, base64 and ARN parsing.
#include "policy/internal/values.h"

#include <gtest/gtest.h>

namespace fnjail::policy::internal {
namespace {

int Cmp(std::string_view a, std::string_view b) {
  auto x = ParseDecimal(a);
  auto y = ParseDecimal(b);
  EXPECT_TRUE(x && y) << a << " " << b;
  return (x && y) ? CompareDecimal(*x, *y) : 99;
}

TEST(ValuesTest, DecimalsParseStrictly) {
  EXPECT_TRUE(ParseDecimal("42"));
  EXPECT_TRUE(ParseDecimal("-3.5"));
  EXPECT_TRUE(ParseDecimal("+.5"));
  EXPECT_TRUE(ParseDecimal("7."));
  EXPECT_FALSE(ParseDecimal(""));
  EXPECT_FALSE(ParseDecimal("."));
  EXPECT_FALSE(ParseDecimal("-"));
  EXPECT_FALSE(ParseDecimal("1e3"));
  EXPECT_FALSE(ParseDecimal(" 1"));
  EXPECT_FALSE(ParseDecimal("0x10"));
  EXPECT_FALSE(ParseDecimal("1.2.3"));
}

TEST(ValuesTest, DecimalsCompareExactly) {
  EXPECT_EQ(Cmp("1", "1.000"), 0);
  EXPECT_EQ(Cmp("-0", "0.0"), 0);
  EXPECT_EQ(Cmp("2", "10"), -1);
  EXPECT_EQ(Cmp("-2", "-10"), 1);
  EXPECT_EQ(Cmp("0.1", "0.09"), 1);
  EXPECT_EQ(Cmp("-0.1", "-0.09"), -1);
  EXPECT_EQ(Cmp("123456789012345678901234567890", "123456789012345678901234567891"), -1);
}

TEST(ValuesTest, InstantsFromIsoAndEpoch) {
  auto a = ParseInstant("1970-01-01T00:00:00Z");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->seconds, 0);
  EXPECT_EQ(ParseInstant("2000-03-01")->seconds, 951868800);
  EXPECT_EQ(ParseInstant("2024-02-29T23:59:59Z")->seconds, 1709251199);
  EXPECT_EQ(ParseInstant("2026-03-01T13:00:00+01:00")->seconds, 1772366400);
  EXPECT_EQ(ParseInstant("2026-03-01T12:00:00.5Z")->nanos, 500000000);
  EXPECT_EQ(ParseInstant("2026-03-01T12:00Z")->seconds, 1772366400);
  EXPECT_EQ(ParseInstant("1772366400")->seconds, 1772366400);
  auto neg = ParseInstant("-1.5");
  ASSERT_TRUE(neg);
  EXPECT_EQ(neg->seconds, -2);
  EXPECT_EQ(neg->nanos, 500000000);
  EXPECT_FALSE(ParseInstant("2023-02-29"));
  EXPECT_FALSE(ParseInstant("2026-13-01"));
  EXPECT_FALSE(ParseInstant("2026-01-01T24:00:00Z"));
  EXPECT_FALSE(ParseInstant("2026-01-01T12:00:00Q"));
  EXPECT_FALSE(ParseInstant("2026-01-01T12:00:00+25:00"));
  EXPECT_FALSE(ParseInstant("yesterday"));
  EXPECT_FALSE(ParseInstant(""));
}

TEST(ValuesTest, IpNetworks) {
  auto net = ParseIpNetwork("10.0.0.0/8");
  ASSERT_TRUE(net);
  EXPECT_TRUE(net->Contains(*ParseIpAddress("10.255.0.1")));
  EXPECT_FALSE(net->Contains(*ParseIpAddress("11.0.0.1")));
  EXPECT_FALSE(net->Contains(*ParseIpAddress("::a00:1")));  // not v4-mapped
  auto host = ParseIpNetwork("10.1.2.3/8");  // host bits ignored
  ASSERT_TRUE(host);
  EXPECT_TRUE(host->Contains(*ParseIpAddress("10.9.9.9")));
  EXPECT_TRUE(ParseIpNetwork("::/0")->Contains(*ParseIpAddress("1.2.3.4")));
  EXPECT_TRUE(ParseIpNetwork("2001:db8::/127")->Contains(*ParseIpAddress("2001:db8::1")));
  EXPECT_FALSE(ParseIpNetwork("2001:db8::/127")->Contains(*ParseIpAddress("2001:db8::2")));
  EXPECT_FALSE(ParseIpNetwork("10.0.0.0/33"));
  EXPECT_FALSE(ParseIpNetwork("2001:db8::/129"));
  EXPECT_FALSE(ParseIpNetwork("10.0.0.0/"));
  EXPECT_FALSE(ParseIpNetwork("10.0.0/8"));
  EXPECT_FALSE(ParseIpNetwork("300.0.0.0/8"));
  EXPECT_FALSE(ParseIpAddress("fe80::1%eth0"));
  EXPECT_FALSE(ParseIpAddress("1.2.3.4/32"));
}

TEST(ValuesTest, BoolsAndBase64) {
  EXPECT_EQ(ParseBool("True"), true);
  EXPECT_EQ(ParseBool("false"), false);
  EXPECT_FALSE(ParseBool("yes"));
  EXPECT_EQ(DecodeBase64("aGVsbG8="), "hello");
  EXPECT_EQ(DecodeBase64("aGVsbG8"), "hello");
  EXPECT_EQ(DecodeBase64(""), "");
  EXPECT_FALSE(DecodeBase64("a"));
  EXPECT_FALSE(DecodeBase64("aGVs bG8="));
}

TEST(ValuesTest, ArnsSplitIntoSixComponents) {
  auto parts = SplitArn("arn:aws:logs:us-east-1:123:log-group:x:*");
  ASSERT_TRUE(parts);
  EXPECT_EQ((*parts)[2], "logs");
  EXPECT_EQ((*parts)[4], "123");
  EXPECT_EQ((*parts)[5], "log-group:x:*");
  EXPECT_TRUE(SplitArn("arn:aws:s3:::bucket"));
  EXPECT_FALSE(SplitArn("arn:aws:s3"));
}

}  // namespace
}  // namespace fnjail::policy::internal
