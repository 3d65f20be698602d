// Tests for crypto/primitives.cc: known answers for SHA-256, HMAC, HKDF and CRC-32C.
#include <set>

#include <gtest/gtest.h>

#include "crypto/crypto.h"
#include "tests/testing/result_matchers.h"

namespace fnjail::crypto {
namespace {

using ::fnjail::testing::HasError;
using ::fnjail::testing::IsOk;

Bytes Hex(std::string_view h) {
  auto b = FromHex(h);
  EXPECT_TRUE(b.has_value()) << h;
  return b.value_or(Bytes{});
}

TEST(PrimitivesTest, Sha256KnownAnswers) {
  auto abc = Sha256(AsBytes("abc"));
  ASSERT_THAT(abc, IsOk());
  EXPECT_EQ(ToHex(*abc), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  auto empty = Sha256({});
  ASSERT_THAT(empty, IsOk());
  EXPECT_EQ(ToHex(*empty), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// RFC 4231 test cases 1 and 2.
TEST(PrimitivesTest, HmacSha256Rfc4231) {
  Bytes key1(20, 0x0b);
  auto t1 = HmacSha256(key1, AsBytes("Hi There"));
  ASSERT_THAT(t1, IsOk());
  EXPECT_EQ(ToHex(*t1), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  auto t2 = HmacSha256(AsBytes("Jefe"), AsBytes("what do ya want for nothing?"));
  ASSERT_THAT(t2, IsOk());
  EXPECT_EQ(ToHex(*t2), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(PrimitivesTest, HmacRejectsEmptyKey) {
  EXPECT_THAT(HmacSha256({}, AsBytes("x")), HasError("empty key"));
}

// RFC 5869 test cases 1 and 3 (SHA-256).
TEST(PrimitivesTest, HkdfRfc5869) {
  Bytes ikm(22, 0x0b);
  auto okm1 = HkdfSha256(ikm, Hex("000102030405060708090a0b0c"), Hex("f0f1f2f3f4f5f6f7f8f9"), 42);
  ASSERT_THAT(okm1, IsOk());
  EXPECT_EQ(ToHex(okm1->view()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b8871858"
            "65");
  auto okm3 = HkdfSha256(ikm, {}, {}, 42);
  ASSERT_THAT(okm3, IsOk());
  EXPECT_EQ(ToHex(okm3->view()),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96"
            "c8");
}

TEST(PrimitivesTest, HkdfRejectsBadLengths) {
  Bytes ikm(32, 1);
  EXPECT_THAT(HkdfSha256(ikm, {}, {}, 0), HasError("out of range"));
  EXPECT_THAT(HkdfSha256(ikm, {}, {}, 255 * 32 + 1), HasError("out of range"));
  EXPECT_THAT(HkdfSha256(ikm, {}, {}, 255 * 32), IsOk());
}

TEST(PrimitivesTest, ConstantTimeEqual) {
  EXPECT_TRUE(ConstantTimeEqual(AsBytes("abc"), AsBytes("abc")));
  EXPECT_FALSE(ConstantTimeEqual(AsBytes("abc"), AsBytes("abd")));
  EXPECT_FALSE(ConstantTimeEqual(AsBytes("abc"), AsBytes("ab")));
  EXPECT_TRUE(ConstantTimeEqual({}, {}));
}

TEST(PrimitivesTest, RandomBytesDiffer) {
  std::set<Bytes> seen;
  for (int i = 0; i < 16; ++i) {
    auto r = RandomBytes(32);
    ASSERT_THAT(r, IsOk());
    EXPECT_EQ(r->size(), 32u);
    seen.insert(*r);
  }
  EXPECT_EQ(seen.size(), 16u);
}

// The check value of CRC-32C (RFC 3720 appendix B.4 lists more; "123456789" is the
// standard catalogue check).
TEST(PrimitivesTest, Crc32cKnownAnswers) {
  EXPECT_EQ(Crc32c(AsBytes("123456789")), 0xe3069283u);
  EXPECT_EQ(Crc32c({}), 0u);
  Bytes zeros(32, 0);
  EXPECT_EQ(Crc32c(zeros), 0x8a9136aau);  // RFC 3720 B.4: 32 bytes of zeroes
  Bytes ones(32, 0xff);
  EXPECT_EQ(Crc32c(ones), 0x62a8ab43u);  // RFC 3720 B.4: 32 bytes of 0xff
}

TEST(PrimitivesTest, Crc32cContinues) {
  std::string text = "the quick brown fox jumps over the lazy dog, twice over";
  uint32_t whole = Crc32c(AsBytes(text));
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    uint32_t part = Crc32c(AsBytes(std::string_view(text).substr(0, cut)));
    EXPECT_EQ(Crc32c(AsBytes(std::string_view(text).substr(cut)), part), whole) << cut;
  }
}

}  // namespace
}  // namespace fnjail::crypto
