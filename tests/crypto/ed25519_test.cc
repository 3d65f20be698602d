// Tests for crypto/ed25519.cc: RFC 8032 vectors, PEM round trips, forgery rejected.
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

struct Rfc8032Vector {
  const char* secret;
  const char* public_key;
  const char* message;
  const char* signature;
};

// RFC 8032 section 7.1, TEST 1 and TEST 2.
const Rfc8032Vector kVectors[] = {
    {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3970"
     "1cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613"
     "d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
};

TEST(Ed25519Test, Rfc8032KnownAnswers) {
  for (const auto& v : kVectors) {
    auto key = Ed25519SigningKey::FromSeed(Hex(v.secret));
    ASSERT_THAT(key, IsOk());
    EXPECT_EQ(ToHex(key->public_key().raw()), v.public_key);
    auto sig = key->Sign(Hex(v.message));
    ASSERT_THAT(sig, IsOk());
    EXPECT_EQ(ToHex(*sig), v.signature);
    auto pub = Ed25519PublicKey::FromRaw(Hex(v.public_key));
    ASSERT_THAT(pub, IsOk());
    EXPECT_TRUE(pub->Verify(Hex(v.message), *sig));
  }
}

TEST(Ed25519Test, RejectsForgeries) {
  auto key = Ed25519SigningKey::Generate();
  ASSERT_THAT(key, IsOk());
  auto sig = key->Sign(AsBytes("checkpoint 7"));
  ASSERT_THAT(sig, IsOk());
  const auto& pub = key->public_key();
  EXPECT_TRUE(pub.Verify(AsBytes("checkpoint 7"), *sig));
  EXPECT_FALSE(pub.Verify(AsBytes("checkpoint 8"), *sig));
  for (size_t i = 0; i < sig->size(); i += 7) {
    auto bad = *sig;
    bad[i] ^= 0x40;
    EXPECT_FALSE(pub.Verify(AsBytes("checkpoint 7"), bad)) << i;
  }
  EXPECT_FALSE(pub.Verify(AsBytes("checkpoint 7"), ByteView(sig->data(), 63)));
  auto other = Ed25519SigningKey::Generate();
  ASSERT_THAT(other, IsOk());
  EXPECT_FALSE(other->public_key().Verify(AsBytes("checkpoint 7"), *sig));
}

TEST(Ed25519Test, PemRoundTrip) {
  auto key = Ed25519SigningKey::Generate();
  ASSERT_THAT(key, IsOk());
  auto pem = key->ToPem();
  ASSERT_THAT(pem, IsOk());
  EXPECT_NE(pem->find("BEGIN PRIVATE KEY"), std::string::npos);
  auto back = Ed25519SigningKey::FromPem(*pem);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->public_key(), key->public_key());
  std::string pub_pem = key->public_key().ToPem();
  EXPECT_NE(pub_pem.find("BEGIN PUBLIC KEY"), std::string::npos);
  auto pub = Ed25519PublicKey::FromPem(pub_pem);
  ASSERT_THAT(pub, IsOk());
  EXPECT_EQ(*pub, key->public_key());
}

TEST(Ed25519Test, RejectsBadInput) {
  EXPECT_THAT(Ed25519SigningKey::FromSeed(Bytes(31, 0)), HasError("seed must be 32 bytes"));
  EXPECT_THAT(Ed25519PublicKey::FromRaw(Bytes(33, 0)), HasError("must be 32 bytes"));
  EXPECT_THAT(Ed25519PublicKey::FromPem("not pem"), HasError("not a PEM public key"));
  EXPECT_THAT(Ed25519SigningKey::FromPem("not pem"), HasError("not a PEM private key"));
}

}  // namespace
}  // namespace fnjail::crypto
