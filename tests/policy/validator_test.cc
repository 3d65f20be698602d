// Tests for policy/validator.cc: each lint finding, where it points, and where it stays silent.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policy/policy.h"
#include "tests/testing/shared_corpus.h"

namespace fnjail::policy {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kFile[] = "p.toml";

SourceSpan At(uint32_t line, uint32_t column = 1) { return {kFile, line, column}; }

// An element on `line`; its k-th value sits at column 20 + 10 * k.
Element Elem(std::vector<std::string> values, uint32_t line, bool negated = false) {
  Element e;
  e.negated = negated;
  e.span = At(line);
  for (size_t k = 0; k < values.size(); ++k) {
    e.values.push_back({std::move(values[k]), At(line, static_cast<uint32_t>(20 + 10 * k))});
  }
  return e;
}

// A condition on `line`; its k-th value sits at column 20 + 10 * k.
Condition Cond(const std::string& op, std::string key, std::vector<std::string> values,
               uint32_t line) {
  Condition c;
  auto spec = ParseOperator(op);
  if (!spec) ADD_FAILURE() << "unknown operator in test: " << op;
  c.spec = spec.value_or(OperatorSpec{});
  c.operator_text = {op, At(line, 12)};
  c.key = {std::move(key), At(line + 1, 7)};
  c.span = At(line);
  for (size_t k = 0; k < values.size(); ++k) {
    c.values.push_back({std::move(values[k]), At(line + 2, static_cast<uint32_t>(20 + 10 * k))});
  }
  return c;
}

// A statement at `line`, with its action on line+1 and its resource on line+2.
Statement Stmt(std::string sid, Effect effect, uint32_t line, std::vector<std::string> actions,
               std::vector<std::string> resources) {
  Statement s;
  s.sid = std::move(sid);
  s.effect = effect;
  s.span = At(line);
  s.action = Elem(std::move(actions), line + 1);
  s.resource = Elem(std::move(resources), line + 2);
  return s;
}

Document Doc(std::vector<Statement> statements, PolicyKind kind = PolicyKind::kIdentity,
             std::string file = kFile) {
  Document d;
  d.id = "test";
  d.file = file;
  d.kind = kind;
  for (size_t i = 0; i < statements.size(); ++i) statements[i].index = i;
  d.statements = std::move(statements);
  return d;
}

// Each finding rendered as `file:line:col: severity: message` (help on its own line).
std::vector<std::string> Findings(const Document& doc) {
  std::vector<std::string> out;
  for (const auto& d : Lint(doc)) out.push_back(d.ToString());
  return out;
}

constexpr Effect kAllow = Effect::kAllow;
constexpr Effect kDeny = Effect::kDeny;

TEST(ValidatorTest, ReasonablePolicyHasNoFindings) {
  Statement invoke = Stmt("Invoke", kAllow, 1, {"function:Invoke"}, {"fn:hello", "fn:echo"});
  Statement logs = Stmt("Logs", kAllow, 10, {"function:GetLogs"}, {"fn:*/logs/${aws:username}"});
  Statement guard = Stmt("Guard", kDeny, 20, {"function:*"}, {"fn:admin-*"});
  guard.conditions.push_back(Cond("BoolIfExists", "aws:MultiFactorAuthPresent", {"false"}, 24));
  guard.conditions.push_back(Cond("IpAddress", "aws:SourceIp", {"10.0.0.0/8", "fd00::/8"}, 28));
  guard.conditions.push_back(Cond("DateLessThan", "aws:CurrentTime", {"2027-01-01T00:00:00Z"}, 32));
  guard.conditions.push_back(Cond("NumericLessThanEquals", "s:n", {"10", "1.5"}, 36));
  EXPECT_THAT(Findings(Doc({invoke, logs, guard})), IsEmpty());
}

TEST(ValidatorTest, UnfamiliarConditionKeysAreFine) {
  // IAM accepts any key; a key nobody sends simply never matches, which is not provable.
  Statement s = Stmt("S", kAllow, 1, {"function:Invoke"}, {"fn:a"});
  s.conditions.push_back(Cond("StringLike", "myteam:Build-Stage", {"prod-*"}, 4));
  s.conditions.push_back(Cond("StringEquals", "nokey", {"x"}, 8));
  EXPECT_THAT(Findings(Doc({s})), IsEmpty());
}

// ---- allow of `*` on `*` ----------------------------------------------------------------

TEST(ValidatorTest, AllowStarOnStarWithoutConditionsGrantsEverything) {
  EXPECT_THAT(
      Findings(Doc({Stmt("All", kAllow, 3, {"*"}, {"*"})})),
      ElementsAre(AllOf(StartsWith("p.toml:4:20: warning: statement `All` allows action `*` on "
                                   "resource `*` with no conditions: it grants everything"),
                        HasSubstr("help: "))));
}

TEST(ValidatorTest, AllowStarOnStarWithConditionsIsReportedWithoutSayingEverything) {
  Statement s = Stmt("Mfa", kAllow, 3, {"function:Invoke", "*"}, {"fn:a", "*"});
  s.conditions.push_back(Cond("Bool", "aws:MultiFactorAuthPresent", {"true"}, 6));
  auto findings = Findings(Doc({s}));
  ASSERT_THAT(findings, ElementsAre(StartsWith("p.toml:4:30: warning: statement `Mfa` allows "
                                               "action `*` on resource `*`")));
  EXPECT_THAT(findings[0], Not(HasSubstr("grants everything")));
}

TEST(ValidatorTest, BroadAllowsInABoundaryAreNotReported) {
  // A boundary only limits: allow everything, then deny what is out of bounds.
  Statement all = Stmt("All", kAllow, 1, {"*"}, {"*"});
  Statement most = Stmt("AllButIam", kAllow, 10, {}, {"*"});
  most.action = Elem({"iam:*"}, 11, /*negated=*/true);
  Statement deny = Stmt("NoBilling", kDeny, 20, {"billing:*"}, {"*"});
  EXPECT_THAT(Findings(Doc({all, deny}, PolicyKind::kBoundary)), IsEmpty());
  EXPECT_THAT(Findings(Doc({most, deny}, PolicyKind::kBoundary)), IsEmpty());
}

TEST(ValidatorTest, StarOnStarIsFineInDenyAndWithNarrowerElements) {
  EXPECT_THAT(Findings(Doc({Stmt("DenyAll", kDeny, 1, {"*"}, {"*"})})), IsEmpty());
  EXPECT_THAT(Findings(Doc({Stmt("AnyAction", kAllow, 1, {"*"}, {"fn:hello"})})), IsEmpty());
  EXPECT_THAT(Findings(Doc({Stmt("AnyFn", kAllow, 1, {"function:*"}, {"*"})})), IsEmpty());
}

// ---- negated elements in an allow -------------------------------------------------------

TEST(ValidatorTest, NotActionInAllowIsReportedAtTheElement) {
  Statement s = Stmt("AllButIam", kAllow, 1, {}, {"*"});
  s.action = Elem({"iam:*"}, 2, /*negated=*/true);
  EXPECT_THAT(Findings(Doc({s})),
              ElementsAre(StartsWith("p.toml:2:1: warning: `not_action` in an allow grants "
                                     "every action except the ones listed")));
}

TEST(ValidatorTest, NotResourceAndNotPrincipalInAllowUseTheIamSpellingForJson) {
  Statement s = Stmt("S", kAllow, 1, {"function:Invoke"}, {});
  s.resource = Elem({"fn:admin"}, 3, /*negated=*/true);
  s.principal = Elem({"mallory"}, 4, /*negated=*/true);
  EXPECT_THAT(Findings(Doc({s}, PolicyKind::kResource, "p.json")),
              ElementsAre(StartsWith("p.toml:3:1: warning: `NotResource` in an allow grants every "
                                     "resource except the ones listed"),
                          StartsWith("p.toml:4:1: warning: `NotPrincipal` in an allow grants every "
                                     "principal except the ones listed")));
}

TEST(ValidatorTest, NegatedElementsInDenyAreFine) {
  Statement s = Stmt("OnlyInvoke", kDeny, 1, {}, {});
  s.action = Elem({"function:Invoke"}, 2, /*negated=*/true);
  s.resource = Elem({"fn:public-*"}, 3, /*negated=*/true);
  EXPECT_THAT(Findings(Doc({s})), IsEmpty());
}

// ---- patterns that never match ----------------------------------------------------------

TEST(ValidatorTest, EmptyPatternIsReportedAndStatementNeverMatchesWhenItIsTheOnlyOne) {
  EXPECT_THAT(Findings(Doc({Stmt("S", kAllow, 1, {"function:Invoke"}, {""})})),
              ElementsAre(AllOf(StartsWith("p.toml:3:20: warning: empty pattern in `resource` "
                                           "never matches"),
                                HasSubstr("help: statement `S` never matches"))));
  EXPECT_THAT(Findings(Doc({Stmt("S", kAllow, 1, {"function:Invoke"}, {"fn:a", ""})})),
              ElementsAre(AllOf(StartsWith("p.toml:3:30: warning: empty pattern in `resource` "
                                           "never matches"),
                                HasSubstr("help: remove it"))));
  // A request may name a resource made of spaces; an empty one it cannot.
  EXPECT_THAT(Findings(Doc({Stmt("S", kAllow, 1, {"function:Invoke"}, {" "})})), IsEmpty());
}

TEST(ValidatorTest, ActionWithoutServicePrefixMatchesNoServiceAction) {
  EXPECT_THAT(Findings(Doc({Stmt("S", kAllow, 1, {"Invoke"}, {"fn:a"})})),
              ElementsAre(AllOf(StartsWith("p.toml:2:20: warning: action `Invoke` has no service "
                                           "prefix and matches no `service:name` action"),
                                HasSubstr("statement `S` matches no `service:name` action"))));
  EXPECT_THAT(Findings(Doc({Stmt("S", kAllow, 1, {"Invoke", "function:Get*"}, {"fn:a"})})),
              ElementsAre(AllOf(StartsWith("p.toml:2:20: warning: action `Invoke` has no service "
                                           "prefix"),
                                HasSubstr("help: actions are written `service:name`, e.g. "
                                          "`function:Invoke`; remove it"))));
  // Wildcards can stand for the colon.
  EXPECT_THAT(Findings(Doc({Stmt("S", kAllow, 1, {"function*", "fn?Invoke"}, {"fn:a"})})),
              IsEmpty());
}

TEST(ValidatorTest, EmptyPositiveElementNeverMatches) {
  Statement s = Stmt("S", kAllow, 1, {"function:Invoke"}, {});
  EXPECT_THAT(Findings(Doc({s})),
              ElementsAre(StartsWith("p.toml:3:1: warning: `resource` lists nothing, so "
                                     "statement `S` never matches")));
}

TEST(ValidatorTest, ResourcePolicyStatementWithoutPrincipalNeverMatches) {
  Statement s = Stmt("NoOne", kAllow, 5, {"function:Invoke"}, {"fn:hello"});
  EXPECT_THAT(Findings(Doc({s}, PolicyKind::kResource)),
              ElementsAre(StartsWith("p.toml:5:1: warning: statement `NoOne` of a resource "
                                     "policy has no `principal` and never matches")));
  s.principal = Elem({"carol"}, 8);
  EXPECT_THAT(Findings(Doc({s}, PolicyKind::kResource)), IsEmpty());
  s.principal.reset();
  EXPECT_THAT(Findings(Doc({s}, PolicyKind::kIdentity)), IsEmpty());
}

// ---- condition values -------------------------------------------------------------------

TEST(ValidatorTest, ValuesThatDoNotParseForTheirOperatorAreErrors) {
  Statement s = Stmt("S", kAllow, 1, {"function:Invoke"}, {"fn:a"});
  s.conditions.push_back(Cond("NumericLessThan", "s:n", {"10", "ten"}, 4));
  s.conditions.push_back(Cond("DateGreaterThan", "aws:CurrentTime", {"2026-02-30"}, 8));
  s.conditions.push_back(Cond("NotIpAddress", "aws:SourceIp", {"10.0.0.0/33"}, 12));
  s.conditions.push_back(Cond("ForAnyValue:NumericEquals", "s:m", {"1e3"}, 16));
  s.conditions.push_back(Cond("Null", "aws:TokenIssueTime", {"true", "yes"}, 20));
  s.conditions.push_back(Cond("BoolIfExists", "aws:SecureTransport", {"1"}, 24));
  s.conditions.push_back(Cond("BinaryEquals", "s:b", {"not base64!"}, 28));
  auto diags = Lint(Doc({s}));
  EXPECT_TRUE(diags.HasErrors());
  std::vector<std::string> findings;
  for (const auto& d : diags) findings.push_back(d.ToString());
  EXPECT_THAT(
      findings,
      ElementsAre("p.toml:6:30: error: `ten` is not a number (in `NumericLessThan` on `s:n`)",
                  "p.toml:10:20: error: `2026-02-30` is not a date (in `DateGreaterThan` on "
                  "`aws:CurrentTime`)\n  help: write an ISO 8601 date-time such as "
                  "`2026-01-31T12:00:00Z` or epoch seconds",
                  "p.toml:14:20: error: `10.0.0.0/33` is not an IP address or CIDR block (in "
                  "`NotIpAddress` on `aws:SourceIp`)\n  help: write e.g. `203.0.113.0/24` or "
                  "`2001:db8::/32`",
                  "p.toml:18:20: error: `1e3` is not a number (in `ForAnyValue:NumericEquals` on "
                  "`s:m`)",
                  "p.toml:22:30: error: `yes` is not `true` or `false` (in `Null` on "
                  "`aws:TokenIssueTime`)",
                  "p.toml:26:20: error: `1` is not `true` or `false` (in `BoolIfExists` on "
                  "`aws:SecureTransport`)",
                  "p.toml:30:20: error: `not base64!` is not base64 (in `BinaryEquals` on `s:b`)"));
}

TEST(ValidatorTest, ValueErrorsAreTheOnesCompilingTheSetReports) {
  Statement s = Stmt("S", kAllow, 1, {"function:Invoke"}, {"fn:a"});
  s.conditions.push_back(Cond("DateLessThan", "aws:CurrentTime", {"yesterday"}, 4));
  s.conditions.push_back(Cond("IpAddress", "aws:SourceIp", {"300.0.0.1"}, 8));
  s.conditions.push_back(Cond("Bool", "aws:SecureTransport", {"yes"}, 12));
  s.conditions.push_back(Cond("ArnLike", "aws:SourceArn", {"arn:aws:s3:::b", "arn:aws:s3"}, 16));
  // Variables expand only in string and ARN conditions; elsewhere `${` makes a bad value.
  s.conditions.push_back(Cond("NumericLessThan", "s:n", {"${s:limit}"}, 20));
  s.conditions.push_back(Cond("DateLessThan", "aws:CurrentTime", {"2027-01-01T00:00:0${a0Z"}, 24));
  s.conditions.push_back(Cond("IpAddress", "aws:SourceIp", {"${aws:SourceIp}"}, 28));
  s.conditions.push_back(Cond("ArnLike", "aws:SourceArn", {"arn:aws:s3:::${aws:username}"}, 32));
  Document doc = Doc({s});
  auto compiled = PolicySet::Compile({doc});
  ASSERT_FALSE(compiled.has_value());
  std::vector<std::string> from_compile;
  for (const auto& d : compiled.error()) from_compile.push_back(d.ToString());
  auto lint = Lint(doc);
  EXPECT_EQ(lint.size(), 7u);
  EXPECT_EQ(compiled.error().size(), 7u);
  for (const auto& d : lint) EXPECT_THAT(from_compile, Contains(d.ToString()));
}

TEST(ValidatorTest, WellFormedValuesInTheirUsualSpellingsAreAccepted) {
  Statement s = Stmt("S", kAllow, 1, {"function:Invoke"}, {"fn:a"});
  s.conditions.push_back(Cond("NumericEquals", "s:n", {"-3", "+4", "1.25", ".5", "7."}, 4));
  s.conditions.push_back(Cond("DateEquals", "aws:CurrentTime",
                              {"2026-02-28", "2024-02-29T23:59:59Z", "2026-01-01T00:00Z",
                               "2026-01-01T00:00:00.123+02:00", "1767225600"},
                              8));
  s.conditions.push_back(
      Cond("IpAddress", "aws:SourceIp", {"192.0.2.1", "10.0.0.0/8", "::1", "2001:db8::/32"}, 12));
  s.conditions.push_back(Cond("Bool", "aws:SecureTransport", {"true", "False"}, 16));
  s.conditions.push_back(Cond("Null", "s:k", {"TRUE"}, 20));
  s.conditions.push_back(Cond("BinaryEquals", "s:b", {"QmluYXJ5"}, 24));
  EXPECT_THAT(Findings(Doc({s})), IsEmpty());
}

// ---- conditions no single value satisfies -------------------------------------------------

TEST(ValidatorTest, DisjointNumericRangeOnOneKeyHoldsForNoSingleValue) {
  Statement s = Stmt("S", kAllow, 1, {"function:Invoke"}, {"fn:a"});
  s.conditions.push_back(Cond("NumericLessThan", "s:Count", {"5"}, 4));
  s.conditions.push_back(Cond("NumericGreaterThan", "S:COUNT", {"10"}, 8));
  EXPECT_THAT(Findings(Doc({s})),
              ElementsAre(AllOf(StartsWith("p.toml:8:1: warning: conditions on key `S:COUNT` "
                                           "cannot both hold for one value: the value must be "
                                           "less than `5` and greater than `10`"),
                                HasSubstr("help: the other condition is (line 4); statement "
                                          "`S` matches only a request giving `S:COUNT` several "
                                          "values, so for a single-valued key it never "
                                          "matches"))));
}

TEST(ValidatorTest, TouchingBoundsConflictOnlyWhenOneIsStrict) {
  Statement strict = Stmt("S", kAllow, 1, {"function:Invoke"}, {"fn:a"});
  strict.conditions.push_back(Cond("NumericGreaterThanEquals", "s:n", {"5"}, 4));
  strict.conditions.push_back(Cond("NumericLessThan", "s:n", {"5"}, 8));
  EXPECT_THAT(Findings(Doc({strict})),
              ElementsAre(StartsWith("p.toml:8:1: warning: conditions on key `s:n` cannot "
                                     "both hold for one value: the value must be less than `5` "
                                     "and at least `5`")));
  Statement inclusive = Stmt("S", kAllow, 1, {"function:Invoke"}, {"fn:a"});
  inclusive.conditions.push_back(Cond("NumericGreaterThanEquals", "s:n", {"5"}, 4));
  inclusive.conditions.push_back(Cond("NumericLessThanEquals", "s:n", {"5"}, 8));
  EXPECT_THAT(Findings(Doc({inclusive})), IsEmpty());
}

TEST(ValidatorTest, RangesThatCanHoldAreNotReported) {
  auto with = [](Condition a, Condition b) {
    Statement s = Stmt("S", kAllow, 1, {"function:Invoke"}, {"fn:a"});
    s.conditions.push_back(std::move(a));
    s.conditions.push_back(std::move(b));
    return Doc({s});
  };
  // Overlapping.
  EXPECT_THAT(Findings(with(Cond("NumericLessThan", "s:n", {"10"}, 4),
                            Cond("NumericGreaterThan", "s:n", {"5"}, 8))),
              IsEmpty());
  // Values OR: `< 3 or < 20` is `< 20`.
  EXPECT_THAT(Findings(with(Cond("NumericLessThan", "s:n", {"3", "20"}, 4),
                            Cond("NumericGreaterThan", "s:n", {"10"}, 8))),
              IsEmpty());
  // Different keys.
  EXPECT_THAT(Findings(with(Cond("NumericLessThan", "s:n", {"5"}, 4),
                            Cond("NumericGreaterThan", "s:m", {"10"}, 8))),
              IsEmpty());
  // Both IfExists: a missing key satisfies both.
  EXPECT_THAT(Findings(with(Cond("NumericLessThanIfExists", "s:n", {"5"}, 4),
                            Cond("NumericGreaterThanIfExists", "s:n", {"10"}, 8))),
              IsEmpty());
  // A multivalued key can satisfy each with a different value.
  EXPECT_THAT(Findings(with(Cond("ForAnyValue:NumericLessThan", "s:n", {"5"}, 4),
                            Cond("ForAnyValue:NumericGreaterThan", "s:n", {"10"}, 8))),
              IsEmpty());
  // Numeric conditions expand no variables: the value is an error (as Compile says), and
  // no range finding is made from it.
  EXPECT_THAT(Findings(with(Cond("NumericLessThan", "s:n", {"${s:max}"}, 4),
                            Cond("NumericGreaterThan", "s:n", {"10"}, 8))),
              ElementsAre(HasSubstr("error: `${s:max}` is not a number")));
}

TEST(ValidatorTest, DisjointDateRangeHoldsForNoSingleValue) {
  Statement s = Stmt("S", kAllow, 1, {"function:Invoke"}, {"fn:a"});
  s.conditions.push_back(Cond("DateGreaterThan", "aws:CurrentTime", {"2026-06-01T00:00:00Z"}, 4));
  s.conditions.push_back(
      Cond("DateLessThanIfExists", "aws:CurrentTime", {"2026-06-01T01:00:00+02:00"}, 8));
  EXPECT_THAT(Findings(Doc({s})),
              ElementsAre(StartsWith("p.toml:8:1: warning: conditions on key `aws:CurrentTime` "
                                     "cannot both hold for one value")));
}

TEST(ValidatorTest, StringEqualsWithDifferentValuesOnOneKeyHoldsForNoSingleValue) {
  Statement s = Stmt("S", kAllow, 1, {"function:Invoke"}, {"fn:a"});
  s.conditions.push_back(Cond("StringEquals", "aws:username", {"alice"}, 4));
  s.conditions.push_back(Cond("StringEquals", "aws:username", {"bob"}, 8));
  EXPECT_THAT(Findings(Doc({s})),
              ElementsAre(StartsWith("p.toml:8:1: warning: conditions on key `aws:username` "
                                     "cannot both hold for one value: the value must be one of "
                                     "`alice` and also one of `bob`")));
}

// Why the finding says "for one value": the evaluator lets a multivalued key satisfy each
// condition with a different value, so the statement is not dead for such a request.
TEST(ValidatorTest, ConflictingConditionsStillMatchAMultivaluedKey) {
  Statement s = Stmt("S", kAllow, 1, {"function:Invoke"}, {"fn:a"});
  s.conditions.push_back(Cond("StringEquals", "s:team", {"red"}, 4));
  s.conditions.push_back(Cond("StringEquals", "s:team", {"blue"}, 8));
  Document doc = Doc({s});
  ASSERT_EQ(Lint(doc).size(), 1u);
  auto set = PolicySet::Compile({doc});
  ASSERT_TRUE(set.has_value()) << set.error().ToString();
  Request request;
  request.principal = "alice";
  request.action = "function:Invoke";
  request.resource = "fn:a";
  request.context["s:team"] = ContextValue{{"red"}, false};
  EXPECT_FALSE(set->Decide(request).allowed);
  request.context["s:team"] = ContextValue{{"red", "blue"}, true};
  EXPECT_TRUE(set->Decide(request).allowed);
}

TEST(ValidatorTest, StringEqualsThatCanBothHoldAreNotReported) {
  auto with = [](Condition a, Condition b) {
    Statement s = Stmt("S", kAllow, 1, {"function:Invoke"}, {"fn:a"});
    s.conditions.push_back(std::move(a));
    s.conditions.push_back(std::move(b));
    return Doc({s});
  };
  EXPECT_THAT(Findings(with(Cond("StringEquals", "k:k", {"a", "b"}, 4),
                            Cond("StringEquals", "k:k", {"b", "c"}, 8))),
              IsEmpty());
  EXPECT_THAT(Findings(with(Cond("StringEquals", "k:k", {"Alice"}, 4),
                            Cond("StringEqualsIgnoreCase", "k:k", {"alice"}, 8))),
              IsEmpty());
  EXPECT_THAT(Findings(with(Cond("StringEquals", "k:k", {"${aws:username}"}, 4),
                            Cond("StringEquals", "k:k", {"alice"}, 8))),
              IsEmpty());
  EXPECT_THAT(Findings(with(Cond("ForAnyValue:StringEquals", "k:k", {"a"}, 4),
                            Cond("ForAnyValue:StringEquals", "k:k", {"b"}, 8))),
              IsEmpty());
  EXPECT_THAT(Findings(with(Cond("StringEqualsIfExists", "k:k", {"a"}, 4),
                            Cond("StringEqualsIfExists", "k:k", {"b"}, 8))),
              IsEmpty());
  EXPECT_THAT(
      Findings(with(Cond("StringLike", "k:k", {"a*"}, 4), Cond("StringLike", "k:k", {"b*"}, 8))),
      IsEmpty());
}

// ---- shadowed statements ----------------------------------------------------------------

TEST(ValidatorTest, StatementCoveredByEarlierUnconditionalStatementIsShadowed) {
  Statement wide = Stmt("Wide", kAllow, 1, {"function:*"}, {"fn:*"});
  Statement narrow = Stmt("Narrow", kAllow, 10, {"function:Invoke"}, {"fn:hello"});
  narrow.conditions.push_back(Cond("StringEquals", "aws:username", {"alice"}, 14));
  EXPECT_THAT(Findings(Doc({wide, narrow})),
              ElementsAre(AllOf(StartsWith("p.toml:10:1: warning: statement `Narrow` is shadowed "
                                           "by statement `Wide` (line 1), which has no "
                                           "conditions and matches every request `Narrow` "
                                           "matches"),
                                HasSubstr("help: remove statement `Narrow`, or narrow "
                                          "statement `Wide`"))));
}

TEST(ValidatorTest, ShadowingNeedsAnEarlierUnconditionalStatementCoveringEveryElement) {
  Statement wide = Stmt("Wide", kAllow, 1, {"function:*"}, {"fn:*"});
  Statement narrow = Stmt("Narrow", kAllow, 10, {"function:Invoke"}, {"fn:hello"});
  // Later covering statement: the later one is the redundant one only if it is covered.
  EXPECT_THAT(Findings(Doc({narrow, wide})), IsEmpty());
  // Conditions on the covering statement.
  Statement conditional = wide;
  conditional.conditions.push_back(Cond("StringEquals", "aws:username", {"alice"}, 4));
  EXPECT_THAT(Findings(Doc({conditional, narrow})), IsEmpty());
  // One resource not covered.
  Statement partly = Stmt("Partly", kAllow, 10, {"function:Invoke"}, {"fn:hello", "db:x"});
  EXPECT_THAT(Findings(Doc({wide, partly})), IsEmpty());
  // A different effect the other way round: an allow does not shadow a deny.
  Statement deny = Stmt("Deny", kDeny, 10, {"function:Invoke"}, {"fn:hello"});
  EXPECT_THAT(Findings(Doc({wide, deny})), IsEmpty());
  // Principals: a statement naming a principal does not cover one without.
  Statement carol = wide;
  carol.principal = Elem({"carol"}, 4);
  Statement anyone = narrow;
  anyone.principal = Elem({"*"}, 13);
  EXPECT_THAT(Findings(Doc({carol, anyone}, PolicyKind::kResource)), IsEmpty());
  EXPECT_THAT(Findings(Doc({anyone, carol}, PolicyKind::kResource)), IsEmpty());
}

TEST(ValidatorTest, AllowCoveredByUnconditionalDenyCanNeverAllow) {
  Statement allow = Stmt("Hello", kAllow, 1, {"function:Invoke"}, {"fn:hello"});
  Statement deny = Stmt("NoFunctions", kDeny, 10, {"function:*"}, {"*"});
  EXPECT_THAT(Findings(Doc({allow, deny})),
              ElementsAre(StartsWith("p.toml:1:1: warning: statement `Hello` can never allow: "
                                     "deny statement `NoFunctions` (line 10) has no conditions "
                                     "and matches every request `Hello` matches")));
  deny.conditions.push_back(Cond("Bool", "aws:SecureTransport", {"false"}, 14));
  EXPECT_THAT(Findings(Doc({allow, deny})), IsEmpty());
}

TEST(ValidatorTest, IdenticalStatementsReportOnlyTheLaterOne) {
  Statement a = Stmt("A", kDeny, 1, {"function:Invoke"}, {"fn:x"});
  Statement b = Stmt("B", kDeny, 10, {"FUNCTION:invoke"}, {"fn:x"});
  EXPECT_THAT(Findings(Doc({a, b})),
              ElementsAre(StartsWith("p.toml:10:1: warning: statement `B` is shadowed by "
                                     "statement `A`")));
}

// Glob coverage as seen through shadowing: `covered` when `outer` matches all `inner` does.
bool Shadows(const std::string& outer, const std::string& inner, bool on_action) {
  Statement a = on_action ? Stmt("A", kAllow, 1, {outer}, {"fn:x"})
                          : Stmt("A", kAllow, 1, {"function:Invoke"}, {outer});
  Statement b = on_action ? Stmt("B", kAllow, 10, {inner}, {"fn:x"})
                          : Stmt("B", kAllow, 10, {"function:Invoke"}, {inner});
  return !Lint(Doc({a, b})).empty();
}

TEST(ValidatorTest, ResourceGlobCoverage) {
  EXPECT_TRUE(Shadows("fn:*", "fn:hello", false));
  EXPECT_TRUE(Shadows("fn:*", "fn:a*/b?", false));
  EXPECT_TRUE(Shadows("fn:a*", "fn:ab?", false));
  EXPECT_TRUE(Shadows("fn:a?c", "fn:abc", false));
  EXPECT_TRUE(Shadows("fn:*-prod", "fn:api-*-prod", false));
  EXPECT_TRUE(Shadows("*", "fn:${aws:username}", false));
  EXPECT_TRUE(Shadows("fn:*", "fn:${aws:username}/logs", false));
  EXPECT_TRUE(Shadows("fn:${aws:username}", "fn:${aws:username}", false));
  EXPECT_FALSE(Shadows("fn:a?", "fn:a*", false));
  EXPECT_FALSE(Shadows("fn:a?", "fn:a", false));
  EXPECT_FALSE(Shadows("fn:abc", "fn:a?c", false));
  EXPECT_FALSE(Shadows("fn:*-prod", "fn:api-*", false));
  EXPECT_FALSE(Shadows("fn:*", "FN:hello", false));  // resources are case-sensitive
  EXPECT_FALSE(Shadows("fn:${aws:username}", "fn:alice", false));
  EXPECT_FALSE(Shadows("fn:alice", "fn:${aws:username}", false));
  EXPECT_FALSE(Shadows("fn:a/*", "fn:${x}/b", false));
  // A default may hold a closing brace: the variable ends at the one outside quotes.
  EXPECT_TRUE(Shadows("fn:*", "fn:${aws:username, 'anonymous'}", false));
  EXPECT_TRUE(Shadows("fn:*/x", "fn:${k, '}'}/x", false));
  EXPECT_FALSE(Shadows("fn:*'}", "fn:${k, '}'}", false));
  EXPECT_FALSE(Shadows("fn:*'}", "fn:${k, 'it''s}'}", false));
}

// A plain glob matcher over the whole string, as the reference for the property below.
bool GlobMatches(std::string_view pattern, std::string_view text) {
  if (pattern.empty()) return text.empty();
  if (pattern[0] == '*') {
    for (size_t skip = 0; skip <= text.size(); ++skip) {
      if (GlobMatches(pattern.substr(1), text.substr(skip))) return true;
    }
    return false;
  }
  if (text.empty()) return false;
  return (pattern[0] == '?' || pattern[0] == text[0]) &&
         GlobMatches(pattern.substr(1), text.substr(1));
}

// Soundness of coverage, by brute force: whenever lint says `outer` covers `inner`, every
// short string `inner` matches is matched by `outer`.
TEST(ValidatorTest, GlobCoverageNeverClaimsWhatIsFalse) {
  std::mt19937 rng(20261127);
  const std::string alphabet = "ab*?";
  auto random_glob = [&] {
    std::string g;
    const size_t length = rng() % 6;
    for (size_t i = 0; i < length; ++i) g += alphabet[rng() % alphabet.size()];
    return g;
  };
  std::vector<std::string> texts = {""};
  for (size_t begin = 0, length = 0; length < 7; ++length) {
    const size_t end = texts.size();
    for (size_t i = begin; i < end; ++i) {
      texts.push_back(texts[i] + "a");
      texts.push_back(texts[i] + "b");
    }
    begin = end;
  }
  size_t claims = 0;
  for (int round = 0; round < 3000; ++round) {
    const std::string outer = random_glob();
    const std::string inner = random_glob();
    if (!Shadows("fn:" + outer, "fn:" + inner, false)) continue;
    ++claims;
    for (const auto& text : texts) {
      if (GlobMatches(inner, text)) {
        ASSERT_TRUE(GlobMatches(outer, text))
            << "`" << outer << "` said to cover `" << inner << "` but misses `" << text << "`";
      }
    }
  }
  EXPECT_GT(claims, 300u);  // the property was exercised, not vacuously true
}

TEST(ValidatorTest, ActionGlobCoverageIgnoresCase) {
  EXPECT_TRUE(Shadows("function:*", "FUNCTION:Invoke", true));
  EXPECT_TRUE(Shadows("Function:Get*", "function:getlogs", true));
  EXPECT_FALSE(Shadows("function:Get*", "function:List*", true));
}

TEST(ValidatorTest, NegatedElementsCoverWhenTheyExcludeLess) {
  Statement a = Stmt("A", kDeny, 1, {}, {"*"});
  a.action = Elem({"iam:*"}, 2, /*negated=*/true);
  Statement b = Stmt("B", kDeny, 10, {}, {"*"});
  b.action = Elem({"iam:*", "s3:*"}, 11, /*negated=*/true);
  // B matches every action but iam:* and s3:*, a subset of what A matches.
  EXPECT_THAT(Findings(Doc({a, b})),
              ElementsAre(StartsWith("p.toml:10:1: warning: statement `B` is shadowed by "
                                     "statement `A`")));
  b.index = 0;
  a.index = 1;
  EXPECT_THAT(Findings(Doc({b, a})), IsEmpty());
  // A negated element is covered by a positive `*` but by nothing narrower.
  Statement star = Stmt("Star", kDeny, 1, {"*"}, {"*"});
  Statement some = Stmt("Some", kDeny, 1, {"s3:*"}, {"*"});
  EXPECT_THAT(Findings(Doc({star, b})),
              ElementsAre(StartsWith("p.toml:10:1: warning: statement `B` is shadowed by "
                                     "statement `Star`")));
  EXPECT_THAT(Findings(Doc({some, b})), IsEmpty());
}

TEST(ValidatorTest, StatementsThatNeverMatchAreNotAlsoReportedAsShadowed) {
  Statement wide = Stmt("Wide", kAllow, 1, {"function:*"}, {"fn:*"});
  Statement dead = Stmt("Dead", kAllow, 10, {"function:Invoke"}, {"fn:a"});
  dead.conditions.push_back(Cond("StringEquals", "k:k", {"a"}, 14));
  dead.conditions.push_back(Cond("StringEquals", "k:k", {"b"}, 18));
  EXPECT_THAT(Findings(Doc({wide, dead})),
              ElementsAre(StartsWith("p.toml:18:1: warning: conditions on key `k:k`")));
}

// ---- sids and message hygiene -----------------------------------------------------------

TEST(ValidatorTest, DuplicateSidIsReportedAtTheSecondStatement) {
  Statement a = Stmt("Same", kAllow, 1, {"function:Invoke"}, {"fn:a"});
  Statement b = Stmt("Same", kAllow, 10, {"function:Invoke"}, {"fn:b"});
  Statement c = Stmt("", kAllow, 20, {"function:Invoke"}, {"fn:c"});
  Statement d = Stmt("", kAllow, 30, {"function:Invoke"}, {"fn:d"});
  EXPECT_THAT(Findings(Doc({a, b, c, d})),
              ElementsAre(AllOf(StartsWith("p.toml:10:1: warning: duplicate sid `Same`"),
                                HasSubstr("first used by the statement (line 1)"))));
}

TEST(ValidatorTest, UserTextCannotBreakTheOneLineMessage) {
  Statement a = Stmt("Evil\nother.toml:1:1: error: forged", kAllow, 1, {"*"}, {"*"});
  auto diags = Lint(Doc({a}));
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_THAT(diags.entries()[0].message, Not(HasSubstr("\n")));
  EXPECT_THAT(diags.entries()[0].message, HasSubstr("`Evil\\x0aother.toml"));
}

TEST(ValidatorTest, MessagesFollowTheHouseStyle) {
  Statement all = Stmt("All", kAllow, 1, {"*"}, {"*"});
  Statement neg = Stmt("All", kAllow, 10, {}, {"*"});
  neg.action = Elem({"iam:*"}, 11, /*negated=*/true);
  Statement odd = Stmt("Odd", kAllow, 20, {"Invoke", ""}, {"fn:a"});
  odd.conditions.push_back(Cond("Null", "k:k", {"maybe"}, 24));
  odd.conditions.push_back(Cond("NumericLessThan", "k:n", {"1"}, 28));
  odd.conditions.push_back(Cond("NumericGreaterThan", "k:n", {"2"}, 32));
  odd.conditions.push_back(Cond("DateEquals", "k:d", {"soon"}, 36));
  auto diags = Lint(Doc({all, neg, odd}, PolicyKind::kResource));
  ASSERT_GE(diags.size(), 8u);
  for (const auto& d : diags) {
    ASSERT_FALSE(d.message.empty());
    const char first = d.message.front();
    EXPECT_TRUE(first == '`' || (first >= 'a' && first <= 'z')) << d.message;
    EXPECT_NE(d.message.back(), '.') << d.message;
    EXPECT_NE(d.help.empty() ? ' ' : d.help.back(), '.') << d.help;
    EXPECT_GT(d.span.line, 0u) << d.message;
  }
}

// ---- the AWS managed policies -----------------------------------------------------------

// Real policies written by people who know IAM: lint must find no errors there (they all
// work in AWS) and only a few warnings, each of them one a reviewer would agree with.
TEST(ValidatorTest, AwsManagedPoliciesGiveNoErrorsAndFewWarnings) {
  FNJAIL_REQUIRE_SHARED_CORPUS(corpus, "aws-managed-policies");
  size_t documents = 0;
  size_t warnings = 0;
  std::string errors;
  for (const auto& entry : std::filesystem::directory_iterator(corpus)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string text(std::filesystem::file_size(entry.path()), '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    auto doc = ParseIamJson(text, entry.path().filename().string());
    ASSERT_TRUE(doc.has_value()) << doc.error().ToString();
    ++documents;
    for (const auto& d : Lint(*doc)) {
      if (d.severity == Severity::kError) errors += d.ToString() + "\n";
      if (d.severity == Severity::kWarning) ++warnings;
      EXPECT_GT(d.span.line, 0u) << d.ToString();
    }
  }
  EXPECT_GT(documents, 1000u);
  EXPECT_EQ(errors, "");
  // At most one finding per fifty documents: lint that cries wolf gets ignored.
  EXPECT_LE(warnings * 50, documents) << warnings << " warnings";
}

}  // namespace
}  // namespace fnjail::policy
