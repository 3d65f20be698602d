// Tests gateway/auth.cc: each scheme, the principal it yields, and every refusal.
#include "gateway/auth.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace fnjail::gateway {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Kind = AuthFailure::Kind;

constexpr int64_t kNow = 1'800'000'000;

std::string B64(std::string_view s) { return crypto::Base64UrlEncode(crypto::AsBytes(s)); }

crypto::Bytes Key32(uint8_t fill) { return crypto::Bytes(32, fill); }

// An HS256 token signed with `key`.
std::string Hs256Token(const nlohmann::json& claims, const crypto::Bytes& key,
                       std::string_view kid = "k1") {
  std::string input = B64(nlohmann::json{{"alg", "HS256"}, {"kid", kid}, {"typ", "JWT"}}.dump()) +
                      "." + B64(claims.dump());
  auto mac = crypto::HmacSha256(key, crypto::AsBytes(input));
  return input + "." + crypto::Base64UrlEncode(*mac);
}

crypto::JwkSet OctSet(const crypto::Bytes& key, std::string_view kid = "k1") {
  std::string json = R"({"keys":[{"kty":"oct","kid":")" + std::string(kid) +
                     R"(","alg":"HS256","k":")" + crypto::Base64UrlEncode(key) + R"("}]})";
  auto set = crypto::JwkSet::Parse(json);
  EXPECT_TRUE(set.has_value());
  return *set;
}

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pepper_ = std::make_shared<crypto::SecretBytes>(crypto::AsBytes(std::string(32, 'p')));
    auto store = std::make_shared<crypto::ApiKeyStore>();
    auto key = store->Create(pepper_->view(), "ci", kNow);
    ASSERT_TRUE(key.has_value());
    api_key_ = key->key;
    api_key_id_ = key->info.id;
    auto other = store->Create(pepper_->view(), "unbound", kNow);
    ASSERT_TRUE(other.has_value());
    unbound_key_ = other->key;
    unbound_id_ = other->info.id;
    auto revoked = store->Create(pepper_->view(), "old", kNow);
    ASSERT_TRUE(revoked.has_value());
    revoked_key_ = revoked->key;
    ASSERT_TRUE(store->Revoke(revoked->info.id).has_value());

    AuthOptions options;
    ApiKeyAuth api;
    api.store = store;
    api.pepper = pepper_;
    api.bindings[api_key_id_] = {"alice", {"ops"}, {{"team", "blue"}}};
    options.api_keys = std::move(api);

    HmacAuth hmac;
    hmac.keys["ops-ci"] = {Key32(7), {"deployer", {"ci"}, {}}};
    options.hmac = std::move(hmac);

    JwtIssuer a;
    a.name = "corp";
    a.keys = OctSet(Key32(1));
    a.options.issuer = "https://id.example.com";
    a.principal_prefix = "corp:";
    a.default_groups = {"employees"};
    options.jwt_issuers.push_back(std::move(a));
    JwtIssuer b;
    b.name = "partner";
    b.keys = OctSet(Key32(2), "p1");
    b.options.issuer = "https://partner.example.net";
    b.groups_claim = "roles";
    options.jwt_issuers.push_back(std::move(b));

    auto auth = Authenticator::Create(std::move(options));
    ASSERT_TRUE(auth.has_value()) << auth.error();
    auth_ = std::move(*auth);
  }

  tl::expected<Principal, AuthFailure> Run(HeaderList headers, int64_t now = kNow) {
    request_.method = "POST";
    request_.target = "/v1/functions/hello/invoke";
    request_.headers = std::move(headers);
    request_.body = R"({"x":1})";
    return auth_->Authenticate({&request_, "/v1/functions/hello/invoke", ""}, now);
  }

  nlohmann::json Claims(std::string iss = "https://id.example.com") {
    return {{"iss", iss}, {"sub", "bob"}, {"exp", kNow + 600}, {"iat", kNow},
            {"groups", {"dev", "oncall"}}, {"scope", "read write"}, {"level", 3},
            {"admin", false}, {"nested", {{"a", 1}}}};
  }

  std::shared_ptr<crypto::SecretBytes> pepper_;
  std::string api_key_, api_key_id_, unbound_key_, unbound_id_, revoked_key_;
  std::unique_ptr<Authenticator> auth_;
  HttpRequest request_;
};

TEST_F(AuthTest, ApiKeyInHeaderYieldsTheBoundPrincipal) {
  auto p = Run({{"X-Api-Key", api_key_}});
  ASSERT_TRUE(p.has_value()) << p.error().detail;
  EXPECT_EQ(p->id, "alice");
  EXPECT_EQ(p->kind, AuthMethod::kApiKey);
  EXPECT_EQ(p->credential, api_key_id_);
  EXPECT_THAT(p->groups, ElementsAre("ops"));
  EXPECT_EQ(p->tags.size(), 1u);
}

TEST_F(AuthTest, ApiKeyInAuthorizationAndUnboundKeys) {
  auto p = Run({{"authorization", "apikey " + unbound_key_}});
  ASSERT_TRUE(p.has_value()) << p.error().detail;
  EXPECT_EQ(p->id, "api-key:" + unbound_id_);
  EXPECT_TRUE(p->groups.empty());
}

TEST_F(AuthTest, NoCredentialIsMissing) {
  auto p = Run({{"Host", "x"}});
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().kind, Kind::kMissing);
}

TEST_F(AuthTest, TwoCredentialsAreAmbiguous) {
  std::string token = Hs256Token(Claims(), Key32(1));
  for (const HeaderList& headers :
       {HeaderList{{"X-Api-Key", api_key_}, {"Authorization", "Bearer " + token}},
        HeaderList{{"X-Api-Key", api_key_}, {"x-api-key", api_key_}},
        HeaderList{{"Authorization", "Bearer " + token}, {"Authorization", "Bearer " + token}}}) {
    auto p = Run(headers);
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().kind, Kind::kAmbiguous);
  }
}

TEST_F(AuthTest, BadApiKeysAreInvalidWithDetailOnlyInTheFailure) {
  // Change a character inside the secret: the last one also carries padding bits, and a
  // change there can make the key malformed rather than wrong.
  std::string wrong = api_key_;
  char& c = wrong[wrong.size() - 5];
  c = c == 'A' ? 'B' : 'A';
  for (const std::string& key : {wrong, revoked_key_, std::string("fnjk_000000000000_x"),
                                 std::string("garbage"), std::string()}) {
    auto p = Run({{"X-Api-Key", key}});
    ASSERT_FALSE(p) << key;
    EXPECT_EQ(p.error().kind, Kind::kInvalid);
    EXPECT_EQ(p.error().method, AuthMethod::kApiKey);
    EXPECT_FALSE(p.error().detail.empty());
  }
  // The wrong key and the revoked key look the same from outside (same kind, same method).
  EXPECT_EQ(Run({{"X-Api-Key", wrong}}).error().detail,
            Run({{"X-Api-Key", revoked_key_}}).error().detail);
}

TEST_F(AuthTest, UnsupportedSchemeIsInvalid) {
  auto p = Run({{"Authorization", "Basic YWxpY2U6cHc="}});
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().kind, Kind::kInvalid);
}

TEST_F(AuthTest, JwtPrincipalGroupsAndClaims) {
  auto p = Run({{"Authorization", "Bearer " + Hs256Token(Claims(), Key32(1))}});
  ASSERT_TRUE(p.has_value()) << p.error().detail;
  EXPECT_EQ(p->id, "corp:bob");
  EXPECT_EQ(p->kind, AuthMethod::kJwt);
  EXPECT_EQ(p->credential, "corp");
  EXPECT_THAT(p->groups, ElementsAre("employees", "dev", "oncall"));
  std::map<std::string, std::vector<std::string>> claims(p->claims.begin(), p->claims.end());
  EXPECT_THAT(claims["scope"], ElementsAre("read write"));
  EXPECT_THAT(claims["level"], ElementsAre("3"));
  EXPECT_THAT(claims["admin"], ElementsAre("false"));
  EXPECT_THAT(claims["groups"], ElementsAre("dev", "oncall"));
  EXPECT_EQ(claims.count("nested"), 0u);  // objects are not flattened
}

TEST_F(AuthTest, JwtIssuerIsChosenByIssAndKeysAreNotShared) {
  nlohmann::json partner = Claims("https://partner.example.net");
  partner["roles"] = "auditor";
  auto p = Run({{"Authorization", "Bearer " + Hs256Token(partner, Key32(2), "p1")}});
  ASSERT_TRUE(p.has_value()) << p.error().detail;
  EXPECT_EQ(p->id, "bob");
  EXPECT_THAT(p->groups, ElementsAre("auditor"));
  // A token claiming the partner issuer but signed with the corp key fails.
  auto forged = Run({{"Authorization", "Bearer " + Hs256Token(partner, Key32(1), "p1")}});
  ASSERT_FALSE(forged);
  EXPECT_EQ(forged.error().kind, Kind::kInvalid);
  EXPECT_EQ(forged.error().credential, "partner");
}

TEST_F(AuthTest, JwtRefusals) {
  nlohmann::json expired = Claims();
  expired["exp"] = kNow - 3600;
  nlohmann::json no_sub = Claims();
  no_sub.erase("sub");
  nlohmann::json unknown = Claims("https://evil.example.org");
  std::string good = Hs256Token(Claims(), Key32(1));
  std::string tampered = good;
  tampered[tampered.size() - 2] = tampered[tampered.size() - 2] == 'A' ? 'B' : 'A';
  std::string none_alg = B64(R"({"alg":"none"})") + "." + B64(Claims().dump()) + ".";
  for (const std::string& token :
       {Hs256Token(expired, Key32(1)), Hs256Token(no_sub, Key32(1)),
        Hs256Token(unknown, Key32(1)), tampered, none_alg, std::string("a.b.c"),
        std::string("not-a-token"), std::string()}) {
    auto p = Run({{"Authorization", "Bearer " + token}});
    ASSERT_FALSE(p) << token;
    EXPECT_EQ(p.error().kind, Kind::kInvalid) << token;
    EXPECT_EQ(p.error().method, AuthMethod::kJwt);
  }
}

TEST_F(AuthTest, HmacSignedRequest) {
  request_.method = "POST";
  request_.body = R"({"x":1})";
  HeaderList headers = {{"Host", "api.example.com"}};
  crypto::HttpRequestView view{"POST", "/v1/functions/hello/invoke", "", headers, request_.body};
  auto header = crypto::SignRequest(Key32(7), "ops-ci", view, {"host"}, kNow);
  ASSERT_TRUE(header.has_value());
  headers.emplace_back("Authorization", *header);
  auto p = Run(headers);
  ASSERT_TRUE(p.has_value()) << p.error().detail;
  EXPECT_EQ(p->id, "deployer");
  EXPECT_EQ(p->kind, AuthMethod::kHmac);
  EXPECT_EQ(p->credential, "ops-ci");

  // The same request again is a replay.
  auto replay = Run(headers);
  ASSERT_FALSE(replay);
  EXPECT_EQ(replay.error().kind, Kind::kInvalid);
  EXPECT_THAT(replay.error().detail, HasSubstr("replay"));
}

TEST_F(AuthTest, HmacRefusals) {
  HeaderList headers = {{"Host", "api.example.com"}};
  crypto::HttpRequestView view{"POST", "/v1/functions/hello/invoke", "", headers, R"({"x":1})"};
  auto wrong_key = crypto::SignRequest(Key32(8), "ops-ci", view, {"host"}, kNow);
  auto unknown = crypto::SignRequest(Key32(7), "nobody", view, {"host"}, kNow);
  auto old = crypto::SignRequest(Key32(7), "ops-ci", view, {"host"}, kNow - 3600);
  crypto::HttpRequestView other_body = view;
  other_body.body = R"({"x":2})";
  auto body_changed = crypto::SignRequest(Key32(7), "ops-ci", other_body, {"host"}, kNow);
  for (const auto& h : {*wrong_key, *unknown, *old, *body_changed}) {
    HeaderList with = headers;
    with.emplace_back("Authorization", h);
    auto p = Run(with);
    ASSERT_FALSE(p) << h;
    EXPECT_EQ(p.error().kind, Kind::kInvalid);
    EXPECT_EQ(p.error().method, AuthMethod::kHmac);
  }
}

// The configurable parts: the API key header, the claim naming a JWT principal, and the
// configured groups and tags of JWT principals.
TEST(AuthConfiguredTest, KeyHeaderPrincipalClaimAndPrincipalGroups) {
  auto pepper = std::make_shared<crypto::SecretBytes>(crypto::AsBytes(std::string(32, 'p')));
  auto store = std::make_shared<crypto::ApiKeyStore>();
  auto key = store->Create(pepper->view(), "ci", kNow);
  ASSERT_TRUE(key.has_value());
  AuthOptions options;
  ApiKeyAuth api;
  api.store = store;
  api.pepper = pepper;
  api.header = "X-Fnjail-Key";
  options.api_keys = std::move(api);
  JwtIssuer issuer;
  issuer.name = "corp";
  issuer.keys = OctSet(Key32(1));
  issuer.options.issuer = "https://id.example.com";
  issuer.principal_prefix = "corp:";
  issuer.principal_claim = "email";
  issuer.default_groups = {"employees"};
  issuer.principals["corp:bob@example.com"] = {{}, {"admins"}, {{"team", "red"}}};
  options.jwt_issuers.push_back(std::move(issuer));
  auto auth = Authenticator::Create(std::move(options));
  ASSERT_TRUE(auth.has_value()) << auth.error();

  HttpRequest req;
  auto run = [&](HeaderList headers) {
    req.headers = std::move(headers);
    return (*auth)->Authenticate({&req, "/", ""}, kNow);
  };
  auto by_key = run({{"x-fnjail-key", key->key}});
  ASSERT_TRUE(by_key.has_value()) << by_key.error().detail;
  EXPECT_EQ(by_key->credential, key->info.id);
  // The default header is no credential any more; with the configured one, two are.
  EXPECT_EQ(run({{"X-Api-Key", key->key}}).error().kind, Kind::kMissing);
  EXPECT_EQ(run({{"X-Fnjail-Key", key->key}, {"Authorization", "ApiKey " + key->key}})
                .error()
                .kind,
            Kind::kAmbiguous);

  nlohmann::json claims = {{"iss", "https://id.example.com"}, {"sub", "u-1"},
                           {"email", "bob@example.com"},      {"exp", kNow + 600},
                           {"groups", {"dev"}}};
  auto bob = run({{"Authorization", "Bearer " + Hs256Token(claims, Key32(1))}});
  ASSERT_TRUE(bob.has_value()) << bob.error().detail;
  EXPECT_EQ(bob->id, "corp:bob@example.com");
  EXPECT_THAT(bob->groups, ElementsAre("employees", "admins", "dev"));
  ASSERT_EQ(bob->tags.size(), 1u);
  EXPECT_EQ(bob->tags[0].second, "red");

  claims["email"] = "carol@example.com";  // no [principals] entry: token groups only
  auto carol = run({{"Authorization", "Bearer " + Hs256Token(claims, Key32(1))}});
  ASSERT_TRUE(carol.has_value()) << carol.error().detail;
  EXPECT_EQ(carol->id, "corp:carol@example.com");
  EXPECT_THAT(carol->groups, ElementsAre("employees", "dev"));
  EXPECT_TRUE(carol->tags.empty());

  for (const nlohmann::json& email : {nlohmann::json(), nlohmann::json(7), nlohmann::json(""),
                                      nlohmann::json(std::string(257, 'a'))}) {
    nlohmann::json bad = claims;
    if (email.is_null()) {
      bad.erase("email");
    } else {
      bad["email"] = email;
    }
    auto p = run({{"Authorization", "Bearer " + Hs256Token(bad, Key32(1))}});
    ASSERT_FALSE(p) << email.dump();
    EXPECT_EQ(p.error().kind, Kind::kInvalid);
    EXPECT_THAT(p.error().detail, HasSubstr("`email`"));
  }
}

TEST(AuthCreateTest, RefusesBadOptions) {
  AuthOptions no_pepper;
  no_pepper.api_keys = ApiKeyAuth{std::make_shared<crypto::ApiKeyStore>(), nullptr, {}};
  EXPECT_FALSE(Authenticator::Create(std::move(no_pepper)));

  AuthOptions short_hmac;
  short_hmac.hmac = HmacAuth{};
  short_hmac.hmac->keys["k"] = {crypto::Bytes(16, 1), {}};
  EXPECT_FALSE(Authenticator::Create(std::move(short_hmac)));

  AuthOptions same_iss;
  for (int i = 0; i < 2; ++i) {
    JwtIssuer j;
    j.name = "i" + std::to_string(i);
    j.keys = OctSet(Key32(1));
    j.options.issuer = "same";
    same_iss.jwt_issuers.push_back(std::move(j));
  }
  auto r = Authenticator::Create(std::move(same_iss));
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error(), HasSubstr("same `iss`"));

  AuthOptions no_iss;
  JwtIssuer j;
  j.name = "x";
  j.keys = OctSet(Key32(1));
  no_iss.jwt_issuers.push_back(std::move(j));
  EXPECT_FALSE(Authenticator::Create(std::move(no_iss)));

  for (const char* header : {"", "authorization"}) {
    AuthOptions bad_header;
    bad_header.api_keys = ApiKeyAuth{std::make_shared<crypto::ApiKeyStore>(),
                                     std::make_shared<crypto::SecretBytes>(
                                         crypto::AsBytes(std::string(32, 'p'))),
                                     {}, header};
    EXPECT_FALSE(Authenticator::Create(std::move(bad_header))) << header;
  }
}

TEST(AuthCreateTest, SchemesNotConfiguredAreInvalid) {
  auto auth = Authenticator::Create({});
  ASSERT_TRUE(auth.has_value());
  HttpRequest req;
  for (const char* h : {"Bearer a.b.c", "ApiKey fnjk_x", "FNJ1-HMAC-SHA256 KeyId=a"}) {
    req.headers = {{"Authorization", h}};
    auto p = (*auth)->Authenticate({&req, "/", ""}, kNow);
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().kind, Kind::kInvalid) << h;
  }
}

}  // namespace
}  // namespace fnjail::gateway
