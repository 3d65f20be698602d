// Tests for policy/internal/conditions: every IAM operator, missing keys, IfExists, set
// qualifiers on empty and missing keys, negated operators on multivalued keys.
#include "policy/internal/conditions.h"

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/policy/policy_builder.h"
#include "tests/testing/result_matchers.h"

namespace fnjail::policy::internal {
namespace {

using ::fnjail::policy::testing::Cond;
using ::fnjail::policy::testing::Multi;
using ::fnjail::policy::testing::V;
using ::fnjail::testing::HasError;
using ::fnjail::testing::IsOk;
using Outcome = CompiledCondition::Outcome;
using Context = std::map<std::string, ContextValue>;

constexpr Outcome kT = Outcome::kTrue;
constexpr Outcome kF = Outcome::kFalse;
constexpr Outcome kE = Outcome::kError;

Outcome Eval(const std::string& op, const std::string& key,
             const std::vector<std::string>& values, const Context& ctx,
             std::string* error_out = nullptr) {
  auto compiled = CompiledCondition::Compile(Cond(op, key, values));
  EXPECT_THAT(compiled, IsOk());
  if (!compiled) return kE;
  std::string error;
  Outcome o = compiled->Evaluate(ContextView(ctx), &error, nullptr);
  if (o == kE) {
    EXPECT_FALSE(error.empty());
  }
  if (error_out != nullptr) *error_out = error;
  return o;
}

// --- String operators -------------------------------------------------------------------

TEST(ConditionsTest, StringEqualsIsCaseSensitiveAndValuesAreOred) {
  Context ctx{{"aws:PrincipalTag/role", V("audit")}};
  EXPECT_EQ(Eval("StringEquals", "aws:PrincipalTag/role", {"audit"}, ctx), kT);
  EXPECT_EQ(Eval("StringEquals", "aws:PrincipalTag/role", {"Audit"}, ctx), kF);
  EXPECT_EQ(Eval("StringEquals", "aws:PrincipalTag/role", {"security", "audit"}, ctx), kT);
}

TEST(ConditionsTest, ConditionKeyNamesAreCaseInsensitive) {
  Context ctx{{"AWS:PRINCIPALTAG/ROLE", V("audit")}};
  EXPECT_EQ(Eval("StringEquals", "aws:PrincipalTag/role", {"audit"}, ctx), kT);
}

TEST(ConditionsTest, StringNotEqualsWithSeveralValuesMeansNoneOfThem) {
  // IAM: for negated operators several values act as a logical AND of the negations.
  Context audit{{"role", V("audit")}};
  Context dev{{"role", V("dev")}};
  EXPECT_EQ(Eval("StringNotEquals", "role", {"audit", "security"}, audit), kF);
  EXPECT_EQ(Eval("StringNotEquals", "role", {"audit", "security"}, dev), kT);
}

TEST(ConditionsTest, StringEqualsIgnoreCase) {
  Context ctx{{"k", V("Prod")}};
  EXPECT_EQ(Eval("StringEqualsIgnoreCase", "k", {"PROD"}, ctx), kT);
  EXPECT_EQ(Eval("StringNotEqualsIgnoreCase", "k", {"prod"}, ctx), kF);
  EXPECT_EQ(Eval("StringNotEqualsIgnoreCase", "k", {"dev"}, ctx), kT);
}

TEST(ConditionsTest, StringLikeWildcardsAreCaseSensitive) {
  Context ctx{{"s3:prefix", V("home/Alice/notes.txt")}};
  EXPECT_EQ(Eval("StringLike", "s3:prefix", {"home/*"}, ctx), kT);
  EXPECT_EQ(Eval("StringLike", "s3:prefix", {"home/alice/*"}, ctx), kF);
  EXPECT_EQ(Eval("StringLike", "s3:prefix", {"home/?lice/*"}, ctx), kT);
  EXPECT_EQ(Eval("StringNotLike", "s3:prefix", {"tmp/*", "home/*"}, ctx), kF);
  EXPECT_EQ(Eval("StringNotLike", "s3:prefix", {"tmp/*"}, ctx), kT);
}

TEST(ConditionsTest, StringEqualsTreatsWildcardsLiterally) {
  Context ctx{{"k", V("a*")}};
  EXPECT_EQ(Eval("StringEquals", "k", {"a*"}, ctx), kT);
  Context other{{"k", V("abc")}};
  EXPECT_EQ(Eval("StringEquals", "k", {"a*"}, other), kF);
}

// --- Missing keys -----------------------------------------------------------------------

TEST(ConditionsTest, MissingKeyIsFalseForPositiveAndTrueForNegatedOperators) {
  Context empty;
  EXPECT_EQ(Eval("StringEquals", "k", {"a"}, empty), kF);
  EXPECT_EQ(Eval("StringLike", "k", {"*"}, empty), kF);
  EXPECT_EQ(Eval("NumericLessThan", "k", {"5"}, empty), kF);
  EXPECT_EQ(Eval("IpAddress", "k", {"10.0.0.0/8"}, empty), kF);
  EXPECT_EQ(Eval("Bool", "k", {"false"}, empty), kF);
  EXPECT_EQ(Eval("StringNotEquals", "k", {"a"}, empty), kT);
  EXPECT_EQ(Eval("StringNotLike", "k", {"*"}, empty), kT);
  EXPECT_EQ(Eval("NumericNotEquals", "k", {"1"}, empty), kT);
  EXPECT_EQ(Eval("DateNotEquals", "k", {"2020-01-01"}, empty), kT);
  EXPECT_EQ(Eval("NotIpAddress", "k", {"10.0.0.0/8"}, empty), kT);
  EXPECT_EQ(Eval("ArnNotLike", "k", {"arn:aws:iam::*:role/x"}, empty), kT);
  EXPECT_EQ(Eval("ArnNotEquals", "k", {"arn:aws:iam::1:role/x"}, empty), kT);
}

TEST(ConditionsTest, IfExistsIsTrueOnMissingKeyAndOtherwiseTheOperator) {
  Context empty;
  Context t3{{"ec2:InstanceType", V("t3.micro")}};
  Context m5{{"ec2:InstanceType", V("m5.large")}};
  EXPECT_EQ(Eval("StringLikeIfExists", "ec2:InstanceType", {"t3.*"}, empty), kT);
  EXPECT_EQ(Eval("StringLikeIfExists", "ec2:InstanceType", {"t3.*"}, t3), kT);
  EXPECT_EQ(Eval("StringLikeIfExists", "ec2:InstanceType", {"t3.*"}, m5), kF);
  EXPECT_EQ(Eval("StringNotEqualsIfExists", "ec2:InstanceType", {"m5.large"}, m5), kF);
  EXPECT_EQ(Eval("NumericLessThanIfExists", "n", {"5"}, empty), kT);
  EXPECT_EQ(Eval("ForAnyValue:StringEqualsIfExists", "tags", {"a"}, empty), kT);
}

TEST(ConditionsTest, EmptyArrayCountsAsAbsentKey) {
  Context ctx{{"aws:TagKeys", Multi({})}};
  EXPECT_EQ(Eval("ForAllValues:StringEquals", "aws:TagKeys", {"a"}, ctx), kT);
  EXPECT_EQ(Eval("ForAnyValue:StringEquals", "aws:TagKeys", {"a"}, ctx), kF);
  EXPECT_EQ(Eval("Null", "aws:TagKeys", {"true"}, ctx), kT);
  EXPECT_EQ(Eval("StringNotEquals", "aws:TagKeys", {"a"}, ctx), kT);
}

// --- Null -------------------------------------------------------------------------------

TEST(ConditionsTest, NullTestsPresence) {
  Context present{{"aws:TokenIssueTime", V("2026-01-01T00:00:00Z")}};
  Context empty;
  EXPECT_EQ(Eval("Null", "aws:TokenIssueTime", {"true"}, empty), kT);
  EXPECT_EQ(Eval("Null", "aws:TokenIssueTime", {"true"}, present), kF);
  EXPECT_EQ(Eval("Null", "aws:TokenIssueTime", {"false"}, present), kT);
  EXPECT_EQ(Eval("Null", "aws:TokenIssueTime", {"FALSE"}, empty), kF);
  EXPECT_EQ(Eval("Null", "aws:TokenIssueTime", {"true", "false"}, empty), kT);
}

// --- Set qualifiers ---------------------------------------------------------------------

TEST(ConditionsTest, ForAllValuesEveryRequestValueMustMatchSomePolicyValue) {
  Context sub{{"aws:TagKeys", Multi({"Env", "Team"})}};
  Context extra{{"aws:TagKeys", Multi({"Env", "Owner"})}};
  EXPECT_EQ(Eval("ForAllValues:StringEquals", "aws:TagKeys", {"Env", "Team", "Cost"}, sub), kT);
  EXPECT_EQ(Eval("ForAllValues:StringEquals", "aws:TagKeys", {"Env", "Team", "Cost"}, extra), kF);
  EXPECT_EQ(Eval("ForAllValues:StringLike", "aws:TagKeys", {"E*", "T*"}, sub), kT);
}

TEST(ConditionsTest, ForAllValuesIsTrueOnMissingKey) {
  EXPECT_EQ(Eval("ForAllValues:StringEquals", "aws:TagKeys", {"Env"}, {}), kT);
}

TEST(ConditionsTest, ForAnyValueNeedsOneMatchAndIsFalseOnMissingKey) {
  Context ctx{{"aws:TagKeys", Multi({"Env", "Owner"})}};
  EXPECT_EQ(Eval("ForAnyValue:StringEquals", "aws:TagKeys", {"Owner"}, ctx), kT);
  EXPECT_EQ(Eval("ForAnyValue:StringEquals", "aws:TagKeys", {"Cost"}, ctx), kF);
  EXPECT_EQ(Eval("ForAnyValue:StringEquals", "aws:TagKeys", {"Owner"}, {}), kF);
}

TEST(ConditionsTest, NegatedOperatorsOnMultivaluedKeys) {
  Context both{{"aws:TagKeys", Multi({"DataClass", "Env"})}};
  Context none{{"aws:TagKeys", Multi({"Env", "Team"})}};
  Context all{{"aws:TagKeys", Multi({"DataClass", "Owner"})}};
  const std::vector<std::string> policy = {"DataClass", "Owner"};
  // ForAllValues:StringNotEquals: no request value may be one of the policy values.
  EXPECT_EQ(Eval("ForAllValues:StringNotEquals", "aws:TagKeys", policy, both), kF);
  EXPECT_EQ(Eval("ForAllValues:StringNotEquals", "aws:TagKeys", policy, none), kT);
  EXPECT_EQ(Eval("ForAllValues:StringNotEquals", "aws:TagKeys", policy, {}), kT);
  // ForAnyValue:StringNotEquals: some request value is none of the policy values.
  EXPECT_EQ(Eval("ForAnyValue:StringNotEquals", "aws:TagKeys", policy, both), kT);
  EXPECT_EQ(Eval("ForAnyValue:StringNotEquals", "aws:TagKeys", policy, all), kF);
  EXPECT_EQ(Eval("ForAnyValue:StringNotEquals", "aws:TagKeys", policy, {}), kF);
  // No qualifier: not (any request value matches any policy value).
  EXPECT_EQ(Eval("StringNotEquals", "aws:TagKeys", policy, both), kF);
  EXPECT_EQ(Eval("StringNotEquals", "aws:TagKeys", policy, none), kT);
  // No qualifier, positive: some request value matches.
  EXPECT_EQ(Eval("StringEquals", "aws:TagKeys", policy, both), kT);
  EXPECT_EQ(Eval("StringEquals", "aws:TagKeys", policy, none), kF);
}

TEST(ConditionsTest, SetQualifierOnSingleValueActsOnASetOfOne) {
  Context ctx{{"k", V("a")}};
  EXPECT_EQ(Eval("ForAllValues:StringEquals", "k", {"a"}, ctx), kT);
  EXPECT_EQ(Eval("ForAnyValue:StringEquals", "k", {"b"}, ctx), kF);
}

// --- Numeric ----------------------------------------------------------------------------

TEST(ConditionsTest, NumericOperatorsCompareIntegersAndDecimalsExactly) {
  Context ctx{{"n", V("10")}};
  EXPECT_EQ(Eval("NumericEquals", "n", {"10.0"}, ctx), kT);
  EXPECT_EQ(Eval("NumericEquals", "n", {"010"}, ctx), kT);
  EXPECT_EQ(Eval("NumericNotEquals", "n", {"10"}, ctx), kF);
  EXPECT_EQ(Eval("NumericLessThan", "n", {"10.5"}, ctx), kT);
  EXPECT_EQ(Eval("NumericLessThan", "n", {"10"}, ctx), kF);
  EXPECT_EQ(Eval("NumericLessThanEquals", "n", {"10"}, ctx), kT);
  EXPECT_EQ(Eval("NumericGreaterThan", "n", {"-3"}, ctx), kT);
  EXPECT_EQ(Eval("NumericGreaterThanEquals", "n", {"10.0001"}, ctx), kF);
  Context neg{{"n", V("-0.5")}};
  EXPECT_EQ(Eval("NumericLessThan", "n", {"0"}, neg), kT);
  EXPECT_EQ(Eval("NumericGreaterThan", "n", {"-1"}, neg), kT);
  EXPECT_EQ(Eval("NumericLessThan", "n", {"-0.25"}, neg), kT);
  Context big{{"n", V("10000000000000000001")}};
  EXPECT_EQ(Eval("NumericGreaterThan", "n", {"10000000000000000000"}, big), kT);
  Context zero{{"n", V("-0")}};
  EXPECT_EQ(Eval("NumericEquals", "n", {"0"}, zero), kT);
}

TEST(ConditionsTest, NumericWithNonNumberContextValueIsAnError) {
  std::string error;
  EXPECT_EQ(Eval("NumericLessThan", "n", {"5"}, {{"n", V("abc")}}, &error), kE);
  EXPECT_NE(error.find("`abc` is not a number"), std::string::npos) << error;
  // The error wins even for a negated operator: a bad value never silently passes.
  EXPECT_EQ(Eval("NumericNotEquals", "n", {"5"}, {{"n", V("1e3")}}), kE);
  // Every value of a multivalued key is type-checked, not only the first.
  EXPECT_EQ(Eval("ForAnyValue:NumericEquals", "n", {"1"}, {{"n", Multi({"1", "x"})}}), kE);
}

// --- Date -------------------------------------------------------------------------------

TEST(ConditionsTest, DatesCompareAsInstantsAcrossFormats) {
  Context iso{{"aws:CurrentTime", V("2026-03-01T12:00:00Z")}};
  EXPECT_EQ(Eval("DateGreaterThan", "aws:CurrentTime", {"2026-01-01T00:00:00Z"}, iso), kT);
  EXPECT_EQ(Eval("DateLessThan", "aws:CurrentTime", {"2026-03-01"}, iso), kF);
  EXPECT_EQ(Eval("DateEquals", "aws:CurrentTime", {"2026-03-01T13:00:00+01:00"}, iso), kT);
  EXPECT_EQ(Eval("DateEquals", "aws:CurrentTime", {"2026-03-01T07:00:00-0500"}, iso), kT);
  // 2026-03-01T12:00:00Z is 1772366400 seconds after the epoch.
  EXPECT_EQ(Eval("DateEquals", "aws:CurrentTime", {"1772366400"}, iso), kT);
  EXPECT_EQ(Eval("DateLessThanEquals", "aws:CurrentTime", {"1772366400"}, iso), kT);
  EXPECT_EQ(Eval("DateNotEquals", "aws:CurrentTime", {"1772366401"}, iso), kT);
  Context frac{{"t", V("2026-03-01T12:00:00.250Z")}};
  EXPECT_EQ(Eval("DateGreaterThan", "t", {"2026-03-01T12:00:00Z"}, frac), kT);
  Context epoch{{"aws:EpochTime", V("1772366400")}};
  EXPECT_EQ(Eval("DateGreaterThanEquals", "aws:EpochTime", {"2026-03-01T12:00:00Z"}, epoch), kT);
}

TEST(ConditionsTest, DateWithBadContextValueIsAnError) {
  EXPECT_EQ(Eval("DateLessThan", "t", {"2026-01-01"}, {{"t", V("yesterday")}}), kE);
  EXPECT_EQ(Eval("DateLessThan", "t", {"2026-01-01"}, {{"t", V("2026-02-30")}}), kE);
}

// --- Bool, Binary -----------------------------------------------------------------------

TEST(ConditionsTest, BoolIsCaseInsensitiveAndRejectsOtherValues) {
  Context t{{"aws:SecureTransport", V("TRUE")}};
  EXPECT_EQ(Eval("Bool", "aws:SecureTransport", {"true"}, t), kT);
  EXPECT_EQ(Eval("Bool", "aws:SecureTransport", {"false"}, t), kF);
  EXPECT_EQ(Eval("BoolIfExists", "aws:SecureTransport", {"false"}, {}), kT);
  EXPECT_EQ(Eval("Bool", "aws:SecureTransport", {"true"}, {{"aws:SecureTransport", V("1")}}),
            kE);
}

TEST(ConditionsTest, BinaryEqualsComparesDecodedBytes) {
  Context ctx{{"k", V("QmluYXJ5VmFsdWU=")}};  // "BinaryValue"
  EXPECT_EQ(Eval("BinaryEquals", "k", {"QmluYXJ5VmFsdWU="}, ctx), kT);
  EXPECT_EQ(Eval("BinaryEquals", "k", {"QmluYXJ5VmFsdWU"}, ctx), kT);  // padding optional
  EXPECT_EQ(Eval("BinaryEquals", "k", {"QmluYXJ5"}, ctx), kF);
  EXPECT_EQ(Eval("BinaryEquals", "k", {"QmluYXJ5"}, {{"k", V("not base64!")}}), kE);
}

// --- IP addresses -----------------------------------------------------------------------

TEST(ConditionsTest, IpAddressMatchesIpv4AndIpv6Cidrs) {
  Context v4{{"aws:SourceIp", V("203.0.113.77")}};
  Context v6{{"aws:SourceIp", V("2001:db8::1")}};
  EXPECT_EQ(Eval("IpAddress", "aws:SourceIp", {"203.0.113.0/24"}, v4), kT);
  EXPECT_EQ(Eval("IpAddress", "aws:SourceIp", {"203.0.112.0/24"}, v4), kF);
  EXPECT_EQ(Eval("IpAddress", "aws:SourceIp", {"203.0.113.77"}, v4), kT);  // bare = /32
  EXPECT_EQ(Eval("IpAddress", "aws:SourceIp", {"203.0.113.78"}, v4), kF);
  EXPECT_EQ(Eval("IpAddress", "aws:SourceIp", {"0.0.0.0/0"}, v4), kT);
  EXPECT_EQ(Eval("IpAddress", "aws:SourceIp", {"2001:db8::/32"}, v6), kT);
  EXPECT_EQ(Eval("IpAddress", "aws:SourceIp", {"2001:db9::/32"}, v6), kF);
  EXPECT_EQ(Eval("IpAddress", "aws:SourceIp", {"203.0.113.0/24", "2001:db8::/32"}, v6), kT);
  EXPECT_EQ(Eval("NotIpAddress", "aws:SourceIp", {"203.0.113.0/24", "2001:db8::/32"}, v6), kF);
  EXPECT_EQ(Eval("NotIpAddress", "aws:SourceIp", {"10.0.0.0/8"}, v4), kT);
}

TEST(ConditionsTest, Ipv4MappedAddressesCannotDodgeAnIpv4Rule) {
  Context mapped{{"aws:SourceIp", V("::ffff:10.1.2.3")}};
  EXPECT_EQ(Eval("IpAddress", "aws:SourceIp", {"10.0.0.0/8"}, mapped), kT);
  EXPECT_EQ(Eval("NotIpAddress", "aws:SourceIp", {"10.0.0.0/8"}, mapped), kF);
}

TEST(ConditionsTest, IpAddressWithNonIpContextValueIsAnError) {
  EXPECT_EQ(Eval("IpAddress", "aws:SourceIp", {"10.0.0.0/8"}, {{"aws:SourceIp", V("localhost")}}),
            kE);
  EXPECT_EQ(Eval("NotIpAddress", "aws:SourceIp", {"10.0.0.0/8"}, {{"aws:SourceIp", V("010.1.1.1")}}),
            kE);
}

// --- ARNs -------------------------------------------------------------------------------

TEST(ConditionsTest, ArnLikeMatchesComponentsSeparately) {
  Context ctx{{"aws:SourceArn", V("arn:aws:sns:us-east-1:123456789012:topic:sub")}};
  EXPECT_EQ(Eval("ArnLike", "aws:SourceArn", {"arn:aws:sns:*:123456789012:*"}, ctx), kT);
  EXPECT_EQ(Eval("ArnLike", "aws:SourceArn", {"arn:aws:sns:us-east-?:*:topic:*"}, ctx), kT);
  // `*` in the region component does not swallow the account's colon.
  EXPECT_EQ(Eval("ArnLike", "aws:SourceArn", {"arn:aws:sns:*:topic:sub"}, ctx), kF);
  EXPECT_EQ(Eval("ArnLike", "aws:SourceArn", {"arn:aws:sqs:*:*:*"}, ctx), kF);
  EXPECT_EQ(Eval("ArnEquals", "aws:SourceArn", {"arn:aws:sns:us-east-1:123456789012:topic:sub"},
                 ctx),
            kT);
  EXPECT_EQ(Eval("ArnNotLike", "aws:SourceArn", {"arn:aws:sns:*:999999999999:*"}, ctx), kT);
  EXPECT_EQ(Eval("ArnNotEquals", "aws:SourceArn", {"arn:aws:sns:*:*:*"}, ctx), kF);
}

TEST(ConditionsTest, ArnOperatorWithNonArnContextValueIsAnError) {
  EXPECT_EQ(Eval("ArnLike", "aws:SourceArn", {"arn:aws:sns:*:*:*"}, {{"aws:SourceArn", V("x")}}),
            kE);
}

// --- Policy variables in values -----------------------------------------------------------

TEST(ConditionsTest, PolicyVariablesInStringAndArnValues) {
  Context ctx{{"aws:username", V("alice")},
              {"s3:prefix", V("home/alice/a.txt")},
              {"aws:SourceArn", V("arn:aws:iam::1:user/alice")}};
  EXPECT_EQ(Eval("StringLike", "s3:prefix", {"home/${aws:username}/*"}, ctx), kT);
  EXPECT_EQ(Eval("StringEquals", "aws:username", {"${aws:username}"}, ctx), kT);
  EXPECT_EQ(Eval("ArnLike", "aws:SourceArn", {"arn:aws:iam::*:user/${aws:username}"}, ctx), kT);
  EXPECT_EQ(Eval("StringLike", "s3:prefix", {"home/${aws:PrincipalTag/x, 'alice'}/*"}, ctx), kT);
}

TEST(ConditionsTest, UnresolvedVariableInConditionIsAnErrorEvenForNegatedOperators) {
  Context ctx{{"s3:prefix", V("home/alice/a.txt")}};
  std::string error;
  EXPECT_EQ(Eval("StringLike", "s3:prefix", {"home/${aws:username}/*"}, ctx, &error), kE);
  EXPECT_NE(error.find("`${aws:username}` has no value"), std::string::npos) << error;
  EXPECT_EQ(Eval("StringNotLike", "s3:prefix", {"home/${aws:username}/*"}, ctx), kE);
  // ... but when the condition's own key is absent the values are never needed.
  EXPECT_EQ(Eval("StringNotLike", "other", {"home/${aws:username}/*"}, ctx), kT);
}

TEST(ConditionsTest, AmbiguousContextKeyIsAnError) {
  Context ctx{{"aws:SourceIp", V("10.0.0.1")}, {"AWS:SOURCEIP", V("8.8.8.8")}};
  EXPECT_EQ(Eval("NotIpAddress", "aws:SourceIp", {"10.0.0.0/8"}, ctx), kE);
}

TEST(ConditionsTest, RequiresKeyExactlyWhenAbsenceMakesTheConditionFalse) {
  struct Case {
    const char* op;
    std::vector<std::string> values;
  };
  const std::vector<Case> cases = {
      {"StringEquals", {"a"}},         {"StringNotEquals", {"a"}},
      {"StringLikeIfExists", {"a"}},   {"ForAllValues:StringEquals", {"a"}},
      {"ForAnyValue:StringEquals", {"a"}}, {"ForAnyValue:StringNotEquals", {"a"}},
      {"NumericLessThan", {"1"}},      {"NotIpAddress", {"10.0.0.0/8"}},
      {"Null", {"false"}},             {"Null", {"true"}},
      {"Null", {"true", "false"}},     {"BoolIfExists", {"true"}},
  };
  for (const Case& c : cases) {
    auto compiled = CompiledCondition::Compile(Cond(c.op, "k", c.values));
    ASSERT_THAT(compiled, IsOk());
    std::string error;
    const bool false_when_absent =
        compiled->Evaluate(ContextView(Context{}), &error, nullptr) == kF;
    EXPECT_EQ(compiled->RequiresKey(), false_when_absent) << c.op;
    EXPECT_EQ(compiled->lower_key(), "k");
  }
}

// --- Compile-time diagnostics -----------------------------------------------------------

TEST(ConditionsTest, UnparsablePolicyValuesAreDiagnosticsWithTheValueSpan) {
  Condition c = testing::Cond("IpAddress", "aws:SourceIp", {"10.0.0.0/8", "10.0.0.0/33"});
  auto r = CompiledCondition::Compile(c);
  ASSERT_FALSE(r.has_value());
  ASSERT_EQ(r.error().size(), 1u);
  const Diagnostic& d = r.error().entries().front();
  EXPECT_EQ(d.span.line, c.values[1].span.line);
  EXPECT_NE(d.message.find("`10.0.0.0/33` is not an IP address or CIDR block"), std::string::npos);

  EXPECT_THAT(CompiledCondition::Compile(testing::Cond("NumericLessThan", "n", {"ten"})),
              HasError("`ten` is not a number"));
  EXPECT_THAT(CompiledCondition::Compile(testing::Cond("DateLessThan", "t", {"tomorrow"})),
              HasError("`tomorrow` is not a date"));
  EXPECT_THAT(CompiledCondition::Compile(testing::Cond("Bool", "b", {"yes"})),
              HasError("`yes` is not `true` or `false`"));
  EXPECT_THAT(CompiledCondition::Compile(testing::Cond("Null", "b", {"maybe"})),
              HasError("is not `true` or `false`"));
  EXPECT_THAT(CompiledCondition::Compile(testing::Cond("BinaryEquals", "b", {"!!"})),
              HasError("is not base64"));
  EXPECT_THAT(CompiledCondition::Compile(testing::Cond("ArnLike", "a", {"not-an-arn"})),
              HasError("is not an ARN"));
  EXPECT_THAT(CompiledCondition::Compile(testing::Cond("StringLike", "a", {"${oops"})),
              HasError("unterminated policy variable"));
  EXPECT_THAT(CompiledCondition::Compile(testing::Cond("NumericEquals", "a", {"${aws:x}"})),
              HasError("allowed only in string and ARN conditions"));
  EXPECT_THAT(CompiledCondition::Compile(testing::Cond("StringEquals", "a", {})),
              HasError("has no values"));
}

TEST(ConditionsTest, AllErrorsOfAConditionAreReported) {
  auto r = CompiledCondition::Compile(testing::Cond("NumericEquals", "n", {"x", "1", "y"}));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().size(), 2u);
}

}  // namespace
}  // namespace fnjail::policy::internal
