// Tests for crypto/jwt.cc: claim checks (exp, nbf, iat, lifetime, iss, aud) and the cache.
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

constexpr int64_t kNow = 1'800'000'000;

class JwtTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ed = Ed25519SigningKey::Generate();
    ASSERT_THAT(ed, IsOk());
    ed_ = std::make_unique<Ed25519SigningKey>(std::move(*ed));
    auto set = JwkSet::Parse(json{{"keys", json::array({OkpJwk(ed_->public_key(), "ed")})}}.dump());
    ASSERT_THAT(set, IsOk());
    keys_ = *set;
    options_.issuer = "https://idp.example";
    options_.audiences = {"fnjail"};
  }

  std::string Sign(const json& claims) {
    std::string input = SigningInput(json{{"alg", "EdDSA"}, {"kid", "ed"}}.dump(), claims.dump());
    return input + "." + B64(*ed_->Sign(AsBytes(input)));
  }

  json Good() const {
    return {{"iss", "https://idp.example"}, {"aud", "fnjail"}, {"sub", "alice"},
            {"iat", kNow - 10},             {"exp", kNow + 3600}};
  }

  Result<VerifiedJwt> Check(const json& claims, int64_t now = kNow) {
    return VerifyJwt(Sign(claims), keys_, options_, now);
  }

  std::unique_ptr<Ed25519SigningKey> ed_;
  JwkSet keys_;
  JwtOptions options_;
};

TEST_F(JwtTest, AcceptsAGoodTokenAndReportsItsClaims) {
  json claims = Good();
  claims["groups"] = json::array({"ops"});
  auto jwt = Check(claims);
  ASSERT_THAT(jwt, IsOk());
  EXPECT_EQ(jwt->algorithm, JwtAlgorithm::kEdDsa);
  EXPECT_EQ(jwt->kid, "ed");
  EXPECT_EQ(jwt->subject, "alice");
  EXPECT_EQ(jwt->issuer, "https://idp.example");
  EXPECT_EQ(jwt->audience, std::vector<std::string>{"fnjail"});
  EXPECT_EQ(jwt->expires_at, kNow + 3600);
  EXPECT_EQ(jwt->issued_at, kNow - 10);
  EXPECT_EQ(json::parse(jwt->claims_json), claims);
}

TEST_F(JwtTest, ExpIsRequired) {
  json claims = Good();
  claims.erase("exp");
  EXPECT_THAT(Check(claims), HasError("token has no `exp`"));
  claims["exp"] = "tomorrow";
  EXPECT_THAT(Check(claims), HasError("`exp` is not a number"));
}

TEST_F(JwtTest, ExpiredTokensFailBeyondTheSkew) {
  json claims = Good();
  claims["exp"] = kNow - 30;  // inside the 60 s skew
  EXPECT_THAT(Check(claims), IsOk());
  claims["exp"] = kNow - 60;
  EXPECT_THAT(Check(claims), HasError("token expired at"));
  options_.clock_skew_seconds = 0;
  claims["exp"] = kNow;
  EXPECT_THAT(Check(claims), HasError("token expired at"));
  claims["exp"] = kNow + 1;
  EXPECT_THAT(Check(claims), IsOk());
}

TEST_F(JwtTest, LifetimeIsCapped) {
  json claims = Good();
  claims["exp"] = kNow - 10 + 24 * 3600;  // exactly the default cap from iat
  EXPECT_THAT(Check(claims), IsOk());
  claims["exp"] = kNow - 10 + 24 * 3600 + 1;
  EXPECT_THAT(Check(claims), HasError("lifetime exceeds the cap of 86400 s"));
  // Without iat, the lifetime counts from nbf, else from now.
  claims.erase("iat");
  claims["exp"] = kNow + 24 * 3600 + 5;
  EXPECT_THAT(Check(claims), HasError("lifetime exceeds"));
  claims["nbf"] = kNow + 10;
  EXPECT_THAT(Check(claims), IsOk());
  options_.max_lifetime_seconds = 300;
  EXPECT_THAT(Check(claims), HasError("cap of 300 s"));
  // A hostile exp far in the future cannot overflow the arithmetic.
  claims["exp"] = INT64_MAX;
  EXPECT_THAT(Check(claims), HasError("lifetime exceeds"));
  claims["nbf"] = INT64_MIN;
  EXPECT_THAT(Check(claims), HasError("lifetime exceeds"));
}

TEST_F(JwtTest, NotBeforeAndIssuedAt) {
  json claims = Good();
  claims["nbf"] = kNow + 30;  // inside the skew
  EXPECT_THAT(Check(claims), IsOk());
  claims["nbf"] = kNow + 61;
  EXPECT_THAT(Check(claims), HasError("not valid before"));
  claims = Good();
  claims["iat"] = kNow + 120;
  EXPECT_THAT(Check(claims), HasError("issued in the future"));
  claims["iat"] = 1.5e300;
  EXPECT_THAT(Check(claims), HasError("`iat` is out of range"));
  claims["iat"] = static_cast<double>(kNow) + 0.75;  // fractions are allowed
  EXPECT_THAT(Check(claims), IsOk());
  claims["iat"] = UINT64_MAX;
  EXPECT_THAT(Check(claims), HasError("`iat` is out of range"));
}

TEST_F(JwtTest, IssuerMustMatch) {
  json claims = Good();
  claims["iss"] = "https://evil.example";
  EXPECT_THAT(Check(claims), HasError("issuer `https://evil.example` is not"));
  claims.erase("iss");
  EXPECT_THAT(Check(claims), HasError("issuer `` is not"));
  claims["iss"] = 5;
  EXPECT_THAT(Check(claims), HasError("`iss` is not a string"));
  options_.issuer.clear();
  claims["iss"] = "anyone";
  EXPECT_THAT(Check(claims), IsOk());
}

TEST_F(JwtTest, AudienceMustMatch) {
  json claims = Good();
  claims["aud"] = "other";
  EXPECT_THAT(Check(claims), HasError("no accepted audience"));
  claims["aud"] = json::array({"other", "fnjail"});
  EXPECT_THAT(Check(claims), IsOk());
  claims["aud"] = json::array({"other", 3});
  EXPECT_THAT(Check(claims), HasError("`aud` holds a non-string"));
  claims["aud"] = json::object();
  EXPECT_THAT(Check(claims), HasError("`aud` is neither"));
  claims.erase("aud");
  EXPECT_THAT(Check(claims), HasError("no accepted audience"));
  options_.audiences.clear();
  EXPECT_THAT(Check(claims), IsOk());
}

TEST_F(JwtTest, ClaimsMustBeAStrictJsonObject) {
  auto sign_raw = [&](const std::string& payload) {
    std::string input = B64(json{{"alg", "EdDSA"}, {"kid", "ed"}}.dump()) + "." + B64(payload);
    return input + "." + B64(*ed_->Sign(AsBytes(input)));
  };
  EXPECT_THAT(VerifyJwt(sign_raw("[]"), keys_, options_, kNow), HasError("not a JSON object"));
  EXPECT_THAT(VerifyJwt(sign_raw("{"), keys_, options_, kNow), HasError("invalid JSON"));
  // Two `sub` claims: a reader taking the first and one taking the last would disagree.
  std::string dup = R"({"sub":"alice","sub":"admin","exp":)" + std::to_string(kNow + 60) + "}";
  EXPECT_THAT(VerifyJwt(sign_raw(dup), keys_, options_, kNow), HasError("duplicate JSON key `sub`"));
  std::string bad_utf8 = std::string(R"({"sub":")") + "\xff" + R"(","exp":1})";
  EXPECT_THAT(VerifyJwt(sign_raw(bad_utf8), keys_, options_, kNow), HasError("invalid JSON"));
}

TEST_F(JwtTest, CacheServesHitsAndExpiresEntries) {
  JwtVerifier verifier(keys_, options_, 2);
  std::string token = Sign(Good());
  ASSERT_THAT(verifier.Verify(token, kNow), IsOk());
  EXPECT_EQ(verifier.cache_size(), 1u);
  auto again = verifier.Verify(token, kNow + 1);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->subject, "alice");
  EXPECT_EQ(verifier.cache_size(), 1u);
  // Past exp (+ skew), the cached entry fails and leaves the cache.
  EXPECT_THAT(verifier.Verify(token, kNow + 3600 + 60), HasError("expired"));
  EXPECT_EQ(verifier.cache_size(), 0u);
}

TEST_F(JwtTest, CacheNeverStoresFailuresAndIsBounded) {
  JwtVerifier verifier(keys_, options_, 2);
  json bad = Good();
  bad["aud"] = "other";
  EXPECT_THAT(verifier.Verify(Sign(bad), kNow), HasError("audience"));
  EXPECT_EQ(verifier.cache_size(), 0u);
  std::string tampered = Sign(Good());
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_THAT(verifier.Verify(tampered, kNow), HasError("signature"));
  EXPECT_EQ(verifier.cache_size(), 0u);
  for (int i = 0; i < 5; ++i) {
    json claims = Good();
    claims["jti"] = i;
    ASSERT_THAT(verifier.Verify(Sign(claims), kNow), IsOk());
  }
  EXPECT_EQ(verifier.cache_size(), 2u);
}

}  // namespace
}  // namespace fnjail::crypto
