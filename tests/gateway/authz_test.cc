// Tests gateway/authz.cc: the policy request, default deny, context keys and shadow sets.
#include "gateway/authz.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fnjail::gateway {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

policy::PolicySet Policies(std::vector<std::string> texts) {
  std::vector<policy::Document> docs;
  for (size_t i = 0; i < texts.size(); ++i) {
    auto doc = policy::ParseToml(texts[i], "p" + std::to_string(i) + ".toml");
    EXPECT_TRUE(doc.has_value());
    if (doc) docs.push_back(std::move(*doc));
  }
  auto set = policy::PolicySet::Compile(std::move(docs));
  EXPECT_TRUE(set.has_value());
  return set ? std::move(*set) : policy::PolicySet();
}

Principal Alice() {
  Principal p;
  p.id = "alice";
  p.kind = AuthMethod::kJwt;
  p.credential = "corp";
  p.groups = {"ops"};
  p.tags = {{"Team", "blue"}, {"team", "red"}};
  p.claims = {{"scope", {"read", "write"}}, {"Tier", {"gold"}}};
  return p;
}

AuthzInput Input(const Principal& p, std::string_view fn = "hello") {
  AuthzInput in;
  in.principal = &p;
  in.resource = fn == "hello" ? "fn:hello" : "fn:other";
  in.function = fn;
  in.method = "POST";
  in.path = "/v1/functions/hello/invoke";
  in.source_ip = "10.1.2.3";
  in.tls = true;
  in.now_ms = 1'800'000'000'123;
  return in;
}

constexpr const char* kAllowHello = R"(
id = "invoke"
[[statement]]
sid = "AllowHello"
effect = "allow"
action = "function:Invoke"
resource = "fn:hello"
)";

TEST(AuthzTest, EmptySetDeniesImplicitly) {
  Authorizer authz{policy::PolicySet()};
  Principal p = Alice();
  AuthzResult r = authz.Authorize(Input(p));
  EXPECT_FALSE(r.allowed());
  EXPECT_EQ(r.enforced.reason, policy::Reason::kImplicitDeny);
  EXPECT_TRUE(r.shadows.empty());
}

TEST(AuthzTest, AllowNamesTheDecidingStatement) {
  Authorizer authz{Policies({kAllowHello})};
  Principal p = Alice();
  AuthzResult r = authz.Authorize(Input(p));
  EXPECT_TRUE(r.allowed());
  EXPECT_EQ(r.enforced.reason, policy::Reason::kExplicitAllow);
  EXPECT_THAT(r.enforced.statements, ElementsAre("invoke#AllowHello"));
  EXPECT_FALSE(authz.Authorize(Input(p, "other")).allowed());
}

TEST(AuthzTest, ContextKeysAreFilled) {
  Principal p = Alice();
  policy::Request req = Authorizer::BuildRequest(Input(p));
  EXPECT_EQ(req.principal, "alice");
  EXPECT_THAT(req.groups, ElementsAre("ops"));
  EXPECT_EQ(req.action, "function:Invoke");
  EXPECT_EQ(req.resource, "fn:hello");
  auto value = [&](std::string_view key) {
    auto it = req.context.find(std::string(key));
    return it == req.context.end() ? std::vector<std::string>{"<absent>"} : it->second.values;
  };
  EXPECT_THAT(value(kKeySourceIp), ElementsAre("10.1.2.3"));
  EXPECT_THAT(value(kKeyCurrentTime), ElementsAre("2027-01-15T08:00:00Z"));
  EXPECT_THAT(value(kKeyEpochTime), ElementsAre("1800000000"));
  EXPECT_THAT(value(kKeySecureTransport), ElementsAre("true"));
  EXPECT_THAT(value(kKeyUsername), ElementsAre("alice"));
  EXPECT_THAT(value(kKeyAuthMethod), ElementsAre("jwt"));
  EXPECT_THAT(value(kKeyCredential), ElementsAre("corp"));
  EXPECT_THAT(value(kKeyMethod), ElementsAre("POST"));
  EXPECT_THAT(value(kKeyPath), ElementsAre("/v1/functions/hello/invoke"));
  EXPECT_THAT(value(kKeyFunction), ElementsAre("hello"));
  EXPECT_THAT(value(kKeyGroups), ElementsAre("ops"));
  EXPECT_TRUE(req.context.at(std::string(kKeyGroups)).multi);
  // Tag keys and claim names are lower-cased; the first of two spellings wins.
  EXPECT_THAT(value("aws:PrincipalTag/team"), ElementsAre("blue"));
  EXPECT_THAT(value("jwt:scope"), ElementsAre("read", "write"));
  EXPECT_TRUE(req.context.at("jwt:scope").multi);
  EXPECT_THAT(value("jwt:tier"), ElementsAre("gold"));
}

TEST(AuthzTest, ConditionsSeeTheContext) {
  Authorizer authz{Policies({R"(
id = "office"
[[statement]]
sid = "FromOfficeOverTls"
effect = "allow"
action = "function:Invoke"
resource = "fn:*"
[[statement.condition]]
operator = "IpAddress"
key = "aws:SourceIp"
values = ["10.0.0.0/8"]
[[statement.condition]]
operator = "Bool"
key = "aws:SecureTransport"
values = [true]
[[statement.condition]]
operator = "ForAnyValue:StringEquals"
key = "jwt:scope"
values = ["write"]
[[statement.condition]]
operator = "StringEquals"
key = "aws:PrincipalTag/team"
values = ["blue"]
)"})};
  Principal p = Alice();
  EXPECT_TRUE(authz.Authorize(Input(p)).allowed());
  AuthzInput outside = Input(p);
  outside.source_ip = "192.0.2.1";
  EXPECT_FALSE(authz.Authorize(outside).allowed());
  AuthzInput plain = Input(p);
  plain.tls = false;
  EXPECT_FALSE(authz.Authorize(plain).allowed());
}

TEST(AuthzTest, ExplicitDenyWins) {
  Authorizer authz{Policies({kAllowHello, R"(
id = "deny-ops"
attach = ["group:ops"]
[[statement]]
sid = "NoOps"
effect = "deny"
action = "function:*"
resource = "fn:*"
)"})};
  Principal p = Alice();
  AuthzResult r = authz.Authorize(Input(p));
  EXPECT_FALSE(r.allowed());
  EXPECT_EQ(r.enforced.reason, policy::Reason::kExplicitDeny);
  EXPECT_THAT(r.enforced.statements, Contains("deny-ops#NoOps"));
}

TEST(AuthzTest, ShadowIsEvaluatedButNotEnforced) {
  Authorizer authz{Policies({kAllowHello}), policy::PolicySet()};
  Principal p = Alice();
  AuthzResult r = authz.Authorize(Input(p));
  EXPECT_TRUE(r.allowed());
  ASSERT_EQ(r.shadows.size(), 1u);
  EXPECT_EQ(r.shadows[0].name, "");
  EXPECT_FALSE(r.shadows[0].verdict.allowed);
  EXPECT_EQ(r.shadows[0].verdict.reason, policy::Reason::kImplicitDeny);
  EXPECT_THAT(r.shadows[0].verdict.statements, IsEmpty());

  // And the other way round: a shadow allow never lets a request through.
  Authorizer strict{policy::PolicySet(), Policies({kAllowHello})};
  AuthzResult s = strict.Authorize(Input(p));
  EXPECT_FALSE(s.allowed());
  ASSERT_EQ(s.shadows.size(), 1u);
  EXPECT_TRUE(s.shadows[0].verdict.allowed);
}

TEST(AuthzTest, EveryNamedShadowSetIsEvaluatedInOrder) {
  std::vector<ShadowSet> shadows;
  shadows.push_back({"candidate-a", Policies({kAllowHello})});
  shadows.push_back({"candidate-b", policy::PolicySet()});
  Authorizer authz{policy::PolicySet(), std::move(shadows)};
  Principal p = Alice();
  AuthzResult r = authz.Authorize(Input(p));
  EXPECT_FALSE(r.allowed());
  ASSERT_EQ(r.shadows.size(), 2u);
  EXPECT_EQ(r.shadows[0].name, "candidate-a");
  EXPECT_TRUE(r.shadows[0].verdict.allowed);
  EXPECT_EQ(r.shadows[1].name, "candidate-b");
  EXPECT_FALSE(r.shadows[1].verdict.allowed);
  EXPECT_EQ(r.shadows[1].verdict.reason, policy::Reason::kImplicitDeny);
}

TEST(AuthzTest, IsoTime) {
  EXPECT_EQ(FormatIsoTime(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatIsoTime(1'800'000'000'999), "2027-01-15T08:00:00Z");
}

}  // namespace
}  // namespace fnjail::gateway
