// Tests for crypto/aead.cc: NIST GCM vectors, round trips, every tamper fails.
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

struct GcmVector {
  const char* name;
  const char* key;
  const char* iv;
  const char* plaintext;
  const char* aad;
  const char* ciphertext;
  const char* tag;
};

// AES-256 test cases 13, 14 and 16 of McGrew and Viega, "The Galois/Counter Mode of
// Operation", as used by NIST's GCM validation.
const GcmVector kGcmVectors[] = {
    {"tc13", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
    {"tc14", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "00000000000000000000000000000000", "",
     "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
    {"tc16", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e24"
     "49a6b525b16aedf5aa0de657ba637b39",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b10"
     "56828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

TEST(AeadTest, AesGcmKnownAnswers) {
  for (const auto& v : kGcmVectors) {
    SCOPED_TRACE(v.name);
    auto aead = Aead::Create(AeadAlgorithm::kAes256Gcm, Hex(v.key));
    ASSERT_THAT(aead, IsOk());
    Bytes pt = Hex(v.plaintext);
    Bytes out(pt.size() + Aead::kTagSize);
    ASSERT_THAT(aead->Seal(Hex(v.iv), Hex(v.aad), pt, out), IsOk());
    EXPECT_EQ(ToHex(out), std::string(v.ciphertext) + v.tag);
    Bytes back(pt.size());
    ASSERT_THAT(aead->Open(Hex(v.iv), Hex(v.aad), out, back), IsOk());
    EXPECT_EQ(back, pt);
  }
}

class AeadRoundTrip : public ::testing::TestWithParam<AeadAlgorithm> {};

TEST_P(AeadRoundTrip, SealOpenAndInPlace) {
  Bytes key(32, 7);
  auto aead = Aead::Create(GetParam(), key);
  ASSERT_THAT(aead, IsOk());
  EXPECT_EQ(aead->algorithm(), GetParam());
  Bytes nonce(12, 1);
  for (size_t size : {0u, 1u, 15u, 16u, 17u, 1000u, 16384u}) {
    Bytes pt(size);
    for (size_t i = 0; i < size; ++i) pt[i] = static_cast<uint8_t>(i * 31);
    Bytes buf(size + Aead::kTagSize);
    std::copy(pt.begin(), pt.end(), buf.begin());
    // In place: plaintext and output share the buffer.
    ASSERT_THAT(aead->Seal(nonce, AsBytes("hdr"), ByteView(buf.data(), size), buf), IsOk());
    if (size > 0) {
      EXPECT_NE(Bytes(buf.begin(), buf.begin() + static_cast<long>(size)), pt);
    }
    ASSERT_THAT(aead->Open(nonce, AsBytes("hdr"), buf, std::span<uint8_t>(buf.data(), size)),
                IsOk());
    EXPECT_EQ(Bytes(buf.begin(), buf.begin() + static_cast<long>(size)), pt);
  }
}

TEST_P(AeadRoundTrip, AnyChangeFailsAuthentication) {
  Bytes key(32, 9);
  auto aead = Aead::Create(GetParam(), key);
  ASSERT_THAT(aead, IsOk());
  Bytes nonce(12, 2);
  Bytes pt(64, 0x5a);
  Bytes sealed(pt.size() + Aead::kTagSize);
  ASSERT_THAT(aead->Seal(nonce, AsBytes("aad"), pt, sealed), IsOk());
  Bytes out(pt.size());

  for (size_t i = 0; i < sealed.size(); ++i) {
    Bytes bad = sealed;
    bad[i] ^= 0x01;
    EXPECT_THAT(aead->Open(nonce, AsBytes("aad"), bad, out), HasError("authentication failed"))
        << "flipped byte " << i;
    EXPECT_EQ(out, Bytes(out.size(), 0)) << "failed open must not leave plaintext";
  }
  Bytes other_nonce = nonce;
  other_nonce[11] ^= 1;
  EXPECT_THAT(aead->Open(other_nonce, AsBytes("aad"), sealed, out),
              HasError("authentication failed"));
  EXPECT_THAT(aead->Open(nonce, AsBytes("aae"), sealed, out), HasError("authentication failed"));
  EXPECT_THAT(aead->Open(nonce, {}, sealed, out), HasError("authentication failed"));
  auto other = Aead::Create(GetParam(), Bytes(32, 10));
  ASSERT_THAT(other, IsOk());
  EXPECT_THAT(other->Open(nonce, AsBytes("aad"), sealed, out), HasError("authentication failed"));
  // And the original still opens: a failure leaves the context usable.
  EXPECT_THAT(aead->Open(nonce, AsBytes("aad"), sealed, out), IsOk());
  EXPECT_EQ(out, pt);
}

INSTANTIATE_TEST_SUITE_P(Algorithms, AeadRoundTrip,
                         ::testing::Values(AeadAlgorithm::kAes256Gcm,
                                           AeadAlgorithm::kChaCha20Poly1305),
                         [](const ::testing::TestParamInfo<AeadAlgorithm>& p) {
                           return p.param == AeadAlgorithm::kAes256Gcm ? "AesGcm" : "ChaChaPoly";
                         });

TEST(AeadTest, RejectsBadSizes) {
  EXPECT_THAT(Aead::Create(AeadAlgorithm::kAes256Gcm, Bytes(16, 0)), HasError("32 bytes"));
  auto aead = Aead::Create(AeadAlgorithm::kAes256Gcm, Bytes(32, 0));
  ASSERT_THAT(aead, IsOk());
  Bytes out(20);
  EXPECT_THAT(aead->Seal(Bytes(8, 0), {}, Bytes(4, 0), out), HasError("nonce"));
  EXPECT_THAT(aead->Seal(Bytes(12, 0), {}, Bytes(5, 0), out), HasError("output size"));
  EXPECT_THAT(aead->Open(Bytes(12, 0), {}, Bytes(15, 0), out), HasError("shorter than the tag"));
}

TEST(AeadTest, NamesAlgorithms) {
  EXPECT_EQ(AeadAlgorithmName(AeadAlgorithm::kAes256Gcm), "aes-256-gcm");
  EXPECT_EQ(AeadAlgorithmName(AeadAlgorithm::kChaCha20Poly1305), "chacha20-poly1305");
}

}  // namespace
}  // namespace fnjail::crypto
