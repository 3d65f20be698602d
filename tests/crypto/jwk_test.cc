// Tests for crypto/jwk.cc: which key sets load, and that every bad key fails the set.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "crypto/crypto.h"
#include "tests/crypto/jose_test_util.h"
#include "tests/testing/result_matchers.h"

namespace fnjail::crypto {
namespace {

using ::fnjail::testing::HasError;
using ::fnjail::testing::IsOk;
using nlohmann::json;
using namespace ::fnjail::crypto::testing;

std::string Set(const json& key) { return json{{"keys", json::array({key})}}.dump(); }

TEST(JwkTest, LoadsOneKeyOfEachType) {
  auto rsa = GenerateKey("RSA", nullptr, 2048);
  auto ec = GenerateKey("EC", "P-256");
  auto ed = Ed25519SigningKey::Generate();
  ASSERT_THAT(ed, IsOk());
  json keys = json::array({RsaJwk(rsa.get(), "r1"), EcJwk(ec.get(), "e1"),
                           OkpJwk(ed->public_key(), "o1"), OctJwk(Bytes(32, 7), "h1")});
  auto set = JwkSet::Parse(json{{"keys", keys}}.dump());
  ASSERT_THAT(set, IsOk());
  EXPECT_EQ(set->size(), 4u);
  EXPECT_EQ(set->kids(), (std::vector<std::string>{"r1", "e1", "o1", "h1"}));
}

TEST(JwkTest, EmptySetIsValidAndEmpty) {
  auto set = JwkSet::Parse(R"({"keys": []})");
  ASSERT_THAT(set, IsOk());
  EXPECT_EQ(set->size(), 0u);
}

TEST(JwkTest, EveryKeyIsBoundToOneAlgorithm) {
  auto rsa = GenerateKey("RSA", nullptr, 2048);
  json no_alg = RsaJwk(rsa.get(), "r");
  no_alg.erase("alg");
  EXPECT_THAT(JwkSet::Parse(Set(no_alg)), HasError("RSA keys need `alg` `RS256`"));
  json wrong_alg = RsaJwk(rsa.get(), "r");
  wrong_alg["alg"] = "HS256";
  EXPECT_THAT(JwkSet::Parse(Set(wrong_alg)), HasError("RSA keys need `alg` `RS256`"));
  json oct = OctJwk(Bytes(32, 1), "h");
  oct.erase("alg");
  EXPECT_THAT(JwkSet::Parse(Set(oct)), HasError("oct keys need `alg` `HS256`"));
  auto ec = GenerateKey("EC", "P-256");
  json ec_rs = EcJwk(ec.get(), "e");
  ec_rs["alg"] = "RS256";
  EXPECT_THAT(JwkSet::Parse(Set(ec_rs)), HasError("EC keys are `ES256`"));
}

TEST(JwkTest, RefusesWeakAndMalformedKeys) {
  auto small = GenerateKey("RSA", nullptr, 1024);
  EXPECT_THAT(JwkSet::Parse(Set(RsaJwk(small.get(), "r"))), HasError("1024 bits"));
  EXPECT_THAT(JwkSet::Parse(Set(OctJwk(Bytes(31, 1), "h"))), HasError("at least 32 bytes"));
  json ec = {{"kty", "EC"}, {"kid", "e"}, {"crv", "P-384"}, {"x", "AA"}, {"y", "AA"}};
  EXPECT_THAT(JwkSet::Parse(Set(ec)), HasError("crv `P-256`"));
  EXPECT_THAT(JwkSet::Parse(Set(json{{"kty", "OKP"}, {"kid", "o"}, {"crv", "X25519"},
                                     {"x", B64(Bytes(32, 9))}})),
              HasError("crv `Ed25519`"));
  EXPECT_THAT(JwkSet::Parse(Set(json{{"kty", "OKP"}, {"kid", "o"}, {"crv", "Ed25519"},
                                     {"x", B64(Bytes(31, 9))}})),
              HasError("32 bytes"));
  EXPECT_THAT(JwkSet::Parse(Set(json{{"kty", "PGP"}, {"kid", "x"}})),
              HasError("unsupported `kty` `PGP`"));
}

TEST(JwkTest, RefusesAnOffCurvePoint) {
  auto ec = GenerateKey("EC", "P-256");
  json jwk = EcJwk(ec.get(), "e");
  Bytes y = *Base64UrlDecode(jwk["y"].get<std::string>());
  y[31] ^= 1;  // (x, y') is not on the curve
  jwk["y"] = B64(y);
  EXPECT_THAT(JwkSet::Parse(Set(jwk)), HasError("key 0 (`e`)"));
}

TEST(JwkTest, RefusesPrivateMaterialAndWrongUse) {
  auto ec = GenerateKey("EC", "P-256");
  json with_d = EcJwk(ec.get(), "e");
  with_d["d"] = B64(Bytes(32, 3));
  EXPECT_THAT(JwkSet::Parse(Set(with_d)), HasError("private key member `d`"));
  json enc = EcJwk(ec.get(), "e");
  enc["use"] = "enc";
  EXPECT_THAT(JwkSet::Parse(Set(enc)), HasError("`use` must be `sig`"));
  json ops = EcJwk(ec.get(), "e");
  ops["key_ops"] = json::array({"sign"});
  EXPECT_THAT(JwkSet::Parse(Set(ops)), HasError("`key_ops` does not allow `verify`"));
}

TEST(JwkTest, RefusesMissingAndDuplicateKids) {
  json no_kid = OctJwk(Bytes(32, 1), "h");
  no_kid.erase("kid");
  EXPECT_THAT(JwkSet::Parse(Set(no_kid)), HasError("non-empty string `kid`"));
  json keys = json::array({OctJwk(Bytes(32, 1), "same"), OctJwk(Bytes(32, 2), "same")});
  EXPECT_THAT(JwkSet::Parse(json{{"keys", keys}}.dump()), HasError("key 1 (`same`): duplicate"));
}

TEST(JwkTest, RefusesMalformedDocuments) {
  EXPECT_THAT(JwkSet::Parse("{"), HasError("invalid JSON"));
  EXPECT_THAT(JwkSet::Parse("[]"), HasError("a key set is a JSON object"));
  EXPECT_THAT(JwkSet::Parse(R"({"keys": {}})"), HasError("no `keys` array"));
  EXPECT_THAT(JwkSet::Parse(R"({"keys": [], "keys": []})"), HasError("duplicate JSON key"));
  EXPECT_THAT(JwkSet::Parse(R"({"keys": [[[[[[[[[[]]]]]]]]]]})"), HasError("nested deeper"));
  EXPECT_THAT(JwkSet::Parse(R"({"keys": [1]})"), HasError("key 0: not a JSON object"));
}

TEST(JwkTest, LoadFileNamesThePath) {
  auto dir = std::filesystem::temp_directory_path() /
             ("fnjail_jwk_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto good = (dir / "good.json").string();
  std::ofstream(good) << Set(OctJwk(Bytes(32, 1), "h"));
  auto set = JwkSet::LoadFile(good);
  ASSERT_THAT(set, IsOk());
  EXPECT_EQ(set->size(), 1u);
  auto bad = (dir / "bad.json").string();
  std::ofstream(bad) << "{}";
  EXPECT_THAT(JwkSet::LoadFile(bad), HasError("bad.json`: no `keys` array"));
  EXPECT_THAT(JwkSet::LoadFile((dir / "none.json").string()), HasError("cannot open"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fnjail::crypto
