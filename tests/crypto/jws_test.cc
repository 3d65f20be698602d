// Tests for crypto/jws.cc: RFC 7515 / RFC 8037 examples and every signature-level attack.
#include <gtest/gtest.h>

#include "crypto/crypto.h"
#include "crypto/internal/jws.h"
#include "tests/crypto/jose_test_util.h"
#include "tests/testing/result_matchers.h"

namespace fnjail::crypto {
namespace {

using ::fnjail::testing::HasError;
using ::fnjail::testing::IsOk;
using internal::VerifyJws;
using nlohmann::json;
using namespace ::fnjail::crypto::testing;

constexpr size_t kMax = 16 * 1024;

JwkSet MustParse(const json& keys) {
  auto set = JwkSet::Parse(json{{"keys", keys}}.dump());
  EXPECT_THAT(set, IsOk());
  return set.value_or(JwkSet());
}

// RFC 7515 appendix A.1: the HS256 example, header with CRLF whitespace included.
TEST(JwsTest, Rfc7515HmacExample) {
  json jwk = {{"kty", "oct"},
              {"kid", "rfc7515"},
              {"alg", "HS256"},
              {"k",
               "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9"
               "CAow"}};
  JwkSet keys = MustParse(json::array({jwk}));
  const std::string token =
      "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
      ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0"
      "cnVlfQ"
      ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  auto jws = VerifyJws(token, keys, kMax);
  ASSERT_THAT(jws, IsOk());
  EXPECT_EQ(jws->alg, JwtAlgorithm::kHs256);
  EXPECT_EQ(jws->kid, "rfc7515");
  EXPECT_EQ(std::string(AsChars(jws->payload)),
            "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}");

  // And as a JWT, at a time before its expiry.
  JwtOptions options;
  options.issuer = "joe";
  auto jwt = VerifyJwt(token, keys, options, 1300819380 - 600);
  ASSERT_THAT(jwt, IsOk());
  EXPECT_EQ(jwt->issuer, "joe");
  EXPECT_EQ(jwt->expires_at, 1300819380);
  EXPECT_THAT(VerifyJwt(token, keys, options, 1300819380 + 3600), HasError("expired"));
}

// RFC 7515 appendices A.2 (RS256) and A.3 (ES256): the same claims, signed with the
// RFC's RSA and P-256 keys; the signatures are the RFC's, byte for byte.
const std::string kRfc7515Payload =
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0"
    "cnVlfQ";

TEST(JwsTest, Rfc7515RsaExample) {
  json jwk = {{"kty", "RSA"},
              {"kid", "rfc7515-a2"},
              {"alg", "RS256"},
              {"n",
               "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1"
               "Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpa"
               "SHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4"
               "LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"},
              {"e", "AQAB"}};
  JwkSet keys = MustParse(json::array({jwk}));
  const std::string token =
      "eyJhbGciOiJSUzI1NiJ9." + kRfc7515Payload +
      ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2"
      "Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQ"
      "BMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6Ie"
      "YI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
  auto jws = VerifyJws(token, keys, kMax);
  ASSERT_THAT(jws, IsOk());
  EXPECT_EQ(jws->alg, JwtAlgorithm::kRs256);
  EXPECT_EQ(jws->kid, "rfc7515-a2");
  auto jwt = VerifyJwt(token, keys, JwtOptions{}, 1300819380 - 600);
  ASSERT_THAT(jwt, IsOk());
  EXPECT_EQ(jwt->issuer, "joe");
  std::string tampered = token;
  tampered[tampered.size() - 2] = tampered[tampered.size() - 2] == 'R' ? 'S' : 'R';
  EXPECT_THAT(VerifyJws(tampered, keys, kMax), HasError("signature does not verify"));
}

TEST(JwsTest, Rfc7515EcdsaExample) {
  json jwk = {{"kty", "EC"},
              {"kid", "rfc7515-a3"},
              {"crv", "P-256"},
              {"x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"},
              {"y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}};
  JwkSet keys = MustParse(json::array({jwk}));
  const std::string token =
      "eyJhbGciOiJFUzI1NiJ9." + kRfc7515Payload +
      ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
  auto jws = VerifyJws(token, keys, kMax);
  ASSERT_THAT(jws, IsOk());
  EXPECT_EQ(jws->alg, JwtAlgorithm::kEs256);
  auto jwt = VerifyJwt(token, keys, JwtOptions{}, 1300819380 - 600);
  ASSERT_THAT(jwt, IsOk());
  EXPECT_EQ(jwt->expires_at, 1300819380);
  std::string tampered = token;
  tampered[token.rfind('.') + 1] = 'E';
  EXPECT_THAT(VerifyJws(tampered, keys, kMax), HasError("signature does not verify"));
}

// RFC 8037 appendix A.4: the Ed25519 example (the payload is not JSON; JWS level only).
TEST(JwsTest, Rfc8037Ed25519Example) {
  json jwk = {{"kty", "OKP"},
              {"kid", "rfc8037"},
              {"crv", "Ed25519"},
              {"x", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}};
  JwkSet keys = MustParse(json::array({jwk}));
  const std::string token =
      "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
      ".hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
  auto jws = VerifyJws(token, keys, kMax);
  ASSERT_THAT(jws, IsOk());
  EXPECT_EQ(jws->alg, JwtAlgorithm::kEdDsa);
  EXPECT_EQ(std::string(AsChars(jws->payload)), "Example of Ed25519 signing");
  std::string tampered = token;
  tampered[token.find('.') + 1] = 'S';
  EXPECT_THAT(VerifyJws(tampered, keys, kMax), HasError("signature does not verify"));
}

class JwsAttackTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = new PkeyPtr(GenerateKey("RSA", nullptr, 2048));
    ec_ = new PkeyPtr(GenerateKey("EC", "P-256"));
  }
  static void TearDownTestSuite() {
    delete rsa_;
    delete ec_;
  }
  void SetUp() override {
    auto ed = Ed25519SigningKey::Generate();
    ASSERT_THAT(ed, IsOk());
    ed_ = std::make_unique<Ed25519SigningKey>(std::move(*ed));
    keys_ = MustParse(json::array({RsaJwk(rsa_->get(), "rsa"), EcJwk(ec_->get(), "ec"),
                                   OkpJwk(ed_->public_key(), "ed"), OctJwk(hmac_key_, "hs")}));
  }

  std::string Rs256(const json& header, const std::string& claims = "{}") {
    std::string input = SigningInput(header.dump(), claims);
    return input + "." + B64(DigestSign(rsa_->get(), input));
  }
  std::string Es256(const json& header, const std::string& claims = "{}") {
    std::string input = SigningInput(header.dump(), claims);
    return input + "." + B64(DerToJose(DigestSign(ec_->get(), input)));
  }
  std::string Hs256(const json& header, ByteView key, const std::string& claims = "{}") {
    std::string input = SigningInput(header.dump(), claims);
    return input + "." + B64(*HmacSha256(key, AsBytes(input)));
  }

  static PkeyPtr* rsa_;
  static PkeyPtr* ec_;
  std::unique_ptr<Ed25519SigningKey> ed_;
  Bytes hmac_key_ = Bytes(32, 0x42);
  JwkSet keys_;
};

PkeyPtr* JwsAttackTest::rsa_ = nullptr;
PkeyPtr* JwsAttackTest::ec_ = nullptr;

TEST_F(JwsAttackTest, EachAlgorithmVerifies) {
  EXPECT_THAT(VerifyJws(Rs256({{"alg", "RS256"}, {"kid", "rsa"}}), keys_, kMax), IsOk());
  EXPECT_THAT(VerifyJws(Es256({{"alg", "ES256"}, {"kid", "ec"}}), keys_, kMax), IsOk());
  EXPECT_THAT(VerifyJws(Hs256({{"alg", "HS256"}, {"kid", "hs"}}, hmac_key_), keys_, kMax),
              IsOk());
  std::string input = SigningInput(json{{"alg", "EdDSA"}, {"kid", "ed"}}.dump(), "{}");
  std::string ed_token = input + "." + B64(*ed_->Sign(AsBytes(input)));
  EXPECT_THAT(VerifyJws(ed_token, keys_, kMax), IsOk());
}

TEST_F(JwsAttackTest, AlgNoneIsNeverAccepted) {
  for (const char* none : {"none", "None", "NONE", "nOnE"}) {
    std::string token = SigningInput(json{{"alg", none}, {"kid", "hs"}}.dump(), "{}") + ".";
    EXPECT_THAT(VerifyJws(token, keys_, kMax), HasError("is not accepted")) << none;
  }
  // Even with a key set holding nothing but a key claiming alg none (refused at load).
  EXPECT_THAT(JwkSet::Parse(R"({"keys":[{"kty":"oct","kid":"n","alg":"none","k":"AA"}]})"),
              HasError("oct keys need `alg` `HS256`"));
}

TEST_F(JwsAttackTest, UnknownAlgorithmsAreRefused) {
  for (const char* alg : {"RS512", "PS256", "ES384", "HS512", "", "rs256"}) {
    std::string token = SigningInput(json{{"alg", alg}, {"kid", "rsa"}}.dump(), "{}") + ".AA";
    EXPECT_THAT(VerifyJws(token, keys_, kMax), HasError("unsupported alg")) << alg;
  }
  std::string no_alg = SigningInput(R"({"kid":"rsa"})", "{}") + ".AA";
  EXPECT_THAT(VerifyJws(no_alg, keys_, kMax), HasError("no `alg`"));
}

// The classic confusion: an HS256 token "signed" with the RSA public key as HMAC secret.
TEST_F(JwsAttackTest, RsaPublicKeyAsHmacSecretIsRefused) {
  internal::BioPtr bio(BIO_new(BIO_s_mem()));
  ASSERT_EQ(PEM_write_bio_PUBKEY(bio.get(), rsa_->get()), 1);
  char* pem = nullptr;
  long len = BIO_get_mem_data(bio.get(), &pem);
  Bytes pem_bytes(pem, pem + len);
  Bytes modulus = BnParam(rsa_->get(), OSSL_PKEY_PARAM_RSA_N);
  for (const Bytes& secret : {pem_bytes, modulus}) {
    std::string token = Hs256({{"alg", "HS256"}, {"kid", "rsa"}}, secret);
    EXPECT_THAT(VerifyJws(token, keys_, kMax), HasError("key `rsa` is for RS256, token says HS256"));
  }
}

TEST_F(JwsAttackTest, KidOnlyFromTheLocalSet) {
  for (const char* kid : {"missing", "../../../../dev/null", "/etc/passwd", "RSA", "rsa ", ""}) {
    std::string token = Rs256({{"alg", "RS256"}, {"kid", kid}});
    EXPECT_THAT(VerifyJws(token, keys_, kMax), HasError("no key with kid")) << kid;
  }
  EXPECT_THAT(VerifyJws(Rs256({{"alg", "RS256"}, {"kid", 7}}), keys_, kMax),
              HasError("`kid` is not a string"));
}

TEST_F(JwsAttackTest, EmbeddedAndRemoteKeyHeadersAreIgnored) {
  // An attacker signs with their own EC key and embeds it (jwk) or points at it (jku,
  // x5u): verification still uses the local key `ec`, so the signature fails.
  auto attacker = GenerateKey("EC", "P-256");
  json header = {{"alg", "ES256"},
                 {"kid", "ec"},
                 {"jwk", EcJwk(attacker.get(), "ec")},
                 {"jku", "https://attacker.example/jwks.json"},
                 {"x5u", "https://attacker.example/cert.pem"},
                 {"x5c", json::array({"MIIB"})}};
  std::string input = SigningInput(header.dump(), "{}");
  std::string forged = input + "." + B64(DerToJose(DigestSign(attacker.get(), input)));
  EXPECT_THAT(VerifyJws(forged, keys_, kMax), HasError("signature does not verify"));
  // The same headers on an honestly signed token change nothing either.
  EXPECT_THAT(VerifyJws(Es256(header), keys_, kMax), IsOk());
}

TEST_F(JwsAttackTest, CritIsRefused) {
  std::string token = Rs256({{"alg", "RS256"}, {"kid", "rsa"}, {"crit", {"exp"}}});
  EXPECT_THAT(VerifyJws(token, keys_, kMax), HasError("`crit`"));
}

TEST_F(JwsAttackTest, Es256SignatureShapes) {
  json header = {{"alg", "ES256"}, {"kid", "ec"}};
  std::string input = SigningInput(header.dump(), "{}");
  Bytes der = DigestSign(ec_->get(), input);
  // A DER signature, as OpenSSL emits it, is not a JOSE signature.
  EXPECT_THAT(VerifyJws(input + "." + B64(der), keys_, kMax), HasError("must be 64 bytes"));
  // r = s = 0 verifies everything under some broken implementations (CVE-2022-21449).
  EXPECT_THAT(VerifyJws(input + "." + B64(Bytes(64, 0)), keys_, kMax),
              HasError("outside [1, n-1]"));
  // r = n, and s = n: out of range too.
  Bytes n_and_one = *FromHex(
      "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"
      "0000000000000000000000000000000000000000000000000000000000000001");
  EXPECT_THAT(VerifyJws(input + "." + B64(n_and_one), keys_, kMax), HasError("outside [1, n-1]"));
  Bytes jose = DerToJose(der);
  jose.pop_back();
  EXPECT_THAT(VerifyJws(input + "." + B64(jose), keys_, kMax), HasError("must be 64 bytes"));
}

TEST_F(JwsAttackTest, TruncatedOrAlteredSignaturesFail) {
  std::string rs = Rs256({{"alg", "RS256"}, {"kid", "rsa"}});
  size_t dot = rs.rfind('.');
  Bytes sig = *Base64UrlDecode(rs.substr(dot + 1));
  Bytes shorter(sig.begin(), sig.end() - 1);
  EXPECT_THAT(VerifyJws(rs.substr(0, dot + 1) + B64(shorter), keys_, kMax),
              HasError("RS256 signature must be 256 bytes, got 255"));
  sig[10] ^= 1;
  EXPECT_THAT(VerifyJws(rs.substr(0, dot + 1) + B64(sig), keys_, kMax),
              HasError("signature does not verify"));
  std::string hs = Hs256({{"alg", "HS256"}, {"kid", "hs"}}, hmac_key_);
  EXPECT_THAT(VerifyJws(hs.substr(0, hs.size() - 3), keys_, kMax),
              HasError("HS256 signature must be 32 bytes"));
  std::string wrong_key = Hs256({{"alg", "HS256"}, {"kid", "hs"}}, Bytes(32, 0x43));
  EXPECT_THAT(VerifyJws(wrong_key, keys_, kMax), HasError("signature does not verify"));
  EXPECT_THAT(VerifyJws(rs.substr(0, dot + 1), keys_, kMax), HasError("must be 256 bytes, got 0"));
}

TEST_F(JwsAttackTest, TamperedPayloadFails) {
  std::string token = Rs256({{"alg", "RS256"}, {"kid", "rsa"}}, R"({"sub":"alice"})");
  size_t d1 = token.find('.');
  size_t d2 = token.rfind('.');
  std::string forged = token.substr(0, d1 + 1) + B64(std::string(R"({"sub":"admin"})")) +
                       token.substr(d2);
  EXPECT_THAT(VerifyJws(forged, keys_, kMax), HasError("signature does not verify"));
}

TEST_F(JwsAttackTest, MalformedTokens) {
  EXPECT_THAT(VerifyJws("abc", keys_, kMax), HasError("three dot-separated parts"));
  EXPECT_THAT(VerifyJws("a.b", keys_, kMax), HasError("three dot-separated parts"));
  EXPECT_THAT(VerifyJws("a.b.c.d.e", keys_, kMax), HasError("three dot-separated parts"));
  EXPECT_THAT(VerifyJws("!!.e30.AA", keys_, kMax), HasError("header is not base64url"));
  EXPECT_THAT(VerifyJws(B64(std::string("[1]")) + ".e30.AA", keys_, kMax),
              HasError("header is not a JSON object"));
  std::string dup = B64(std::string(R"({"alg":"HS256","alg":"none"})")) + ".e30.AA";
  EXPECT_THAT(VerifyJws(dup, keys_, kMax), HasError("duplicate JSON key `alg`"));
  std::string big(kMax + 1, 'a');
  EXPECT_THAT(VerifyJws(big, keys_, kMax), HasError("longer than"));
  std::string hs = Hs256({{"alg", "HS256"}, {"kid", "hs"}}, hmac_key_);
  EXPECT_THAT(VerifyJws(hs + "=", keys_, kMax), HasError("not base64url"));
}

TEST_F(JwsAttackTest, MissingKidNeedsExactlyOneCandidate) {
  // One HS256 key in the set: selected without kid.
  EXPECT_THAT(VerifyJws(Hs256({{"alg", "HS256"}}, hmac_key_), keys_, kMax), IsOk());
  JwkSet two = MustParse(json::array({OctJwk(Bytes(32, 1), "a"), OctJwk(Bytes(32, 2), "b")}));
  EXPECT_THAT(VerifyJws(Hs256({{"alg", "HS256"}}, Bytes(32, 1)), two, kMax),
              HasError("holds 2 HS256 keys"));
  EXPECT_THAT(VerifyJws(Hs256({{"alg", "HS256"}}, Bytes(32, 1)), JwkSet(), kMax),
              HasError("holds 0 HS256 keys"));
}

}  // namespace
}  // namespace fnjail::crypto
