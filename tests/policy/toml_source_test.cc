// Tests for the native TOML front end: policies, test suites, byte checks and spans.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "policy/policy.h"
#include "tests/testing/result_matchers.h"

namespace fnjail::policy {
namespace {

using ::fnjail::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::SizeIs;

// Every diagnostic of a failed result, one rendered entry per line.
template <class T>
std::string ErrorsOf(const Result<T>& result) {
  if (result.has_value()) return "<no error>";
  return result.error().ToString();
}

std::string Texts(const std::vector<Literal>& literals) {
  std::string out;
  for (const Literal& literal : literals) {
    if (!out.empty()) out += ',';
    out += literal.text;
  }
  return out;
}

std::string Where(const SourceSpan& span) {
  return span.file + ":" + std::to_string(span.line) + ":" + std::to_string(span.column);
}

constexpr std::string_view kInvokePolicy = R"(id = "invoke-hello"
description = "who may call hello"
attach = ["alice", "group:ops"]

[[statement]]
sid = "AllowHello"
effect = "allow"
action = ["function:Invoke"]
resource = "fn:hello"

[[statement.condition]]
operator = "ForAnyValue:StringLikeIfExists"
key = "aws:username"
values = ["alice", 3, 2.5, true, 1_000.5e1]

[[statement]]
effect = "deny"
not_action = "function:*"
not_resource = ["fn:public-*"]
)";

TEST(TomlSourceTest, ParsesDocumentWithSpans) {
  auto doc = ParseToml(kInvokePolicy, "policies/invoke.toml");
  ASSERT_THAT(doc, IsOk());
  EXPECT_EQ(doc->id, "invoke-hello");
  EXPECT_EQ(doc->description, "who may call hello");
  EXPECT_EQ(doc->file, "policies/invoke.toml");
  EXPECT_EQ(doc->kind, PolicyKind::kIdentity);
  EXPECT_EQ(Texts(doc->attach), "alice,group:ops");
  EXPECT_EQ(Where(doc->attach[1].span), "policies/invoke.toml:3:20");
  ASSERT_THAT(doc->statements, SizeIs(2));

  const Statement& allow = doc->statements[0];
  EXPECT_EQ(allow.sid, "AllowHello");
  EXPECT_EQ(allow.index, 0u);
  EXPECT_EQ(allow.effect, Effect::kAllow);
  EXPECT_EQ(Where(allow.span), "policies/invoke.toml:5:1");
  ASSERT_TRUE(allow.action.has_value());
  EXPECT_FALSE(allow.action->negated);
  EXPECT_EQ(Texts(allow.action->values), "function:Invoke");
  EXPECT_EQ(Where(allow.action->span), "policies/invoke.toml:8:1");
  EXPECT_EQ(Where(allow.action->values[0].span), "policies/invoke.toml:8:11");
  ASSERT_TRUE(allow.resource.has_value());
  EXPECT_EQ(Texts(allow.resource->values), "fn:hello");
  EXPECT_FALSE(allow.principal.has_value());

  ASSERT_THAT(allow.conditions, SizeIs(1));
  const Condition& condition = allow.conditions[0];
  EXPECT_EQ(condition.spec.op, Operator::kStringLike);
  EXPECT_EQ(condition.spec.qualifier, SetQualifier::kForAnyValue);
  EXPECT_TRUE(condition.spec.if_exists);
  EXPECT_EQ(condition.operator_text.text, "ForAnyValue:StringLikeIfExists");
  EXPECT_EQ(condition.key.text, "aws:username");
  EXPECT_EQ(Where(condition.key.span), "policies/invoke.toml:13:7");
  EXPECT_EQ(Where(condition.span), "policies/invoke.toml:11:1");
  // Numbers and booleans are kept as text, floats with the digits as written.
  EXPECT_EQ(Texts(condition.values), "alice,3,2.5,true,1000.5e1");

  const Statement& deny = doc->statements[1];
  EXPECT_EQ(deny.sid, "");
  EXPECT_EQ(StatementName(deny), "1");
  EXPECT_EQ(deny.effect, Effect::kDeny);
  ASSERT_TRUE(deny.action.has_value());
  EXPECT_TRUE(deny.action->negated);
  ASSERT_TRUE(deny.resource.has_value());
  EXPECT_TRUE(deny.resource->negated);
  EXPECT_EQ(Texts(deny.resource->values), "fn:public-*");
}

TEST(TomlSourceTest, IdDefaultsToFileStem) {
  auto doc = ParseToml("[[statement]]\neffect = \"allow\"\naction = \"a:b\"\nresource = \"*\"\n",
                       "some/dir/read-only.toml");
  ASSERT_THAT(doc, IsOk());
  EXPECT_EQ(doc->id, "read-only");
  EXPECT_EQ(doc->kind, PolicyKind::kIdentity);
  EXPECT_TRUE(doc->attach.empty());
}

TEST(TomlSourceTest, ReadsEveryKind) {
  constexpr std::string_view kBody =
      "\n[[statement]]\neffect = \"allow\"\nprincipal = \"*\"\naction = \"a:b\"\n"
      "resource = \"*\"\n";
  auto resource =
      ParseToml("kind = \"resource\"\nattach = \"fn:hello\"\n" + std::string(kBody), "r.toml");
  ASSERT_THAT(resource, IsOk());
  EXPECT_EQ(resource->kind, PolicyKind::kResource);
  ASSERT_TRUE(resource->statements[0].principal.has_value());
  EXPECT_EQ(Texts(resource->statements[0].principal->values), "*");

  auto boundary = ParseToml("kind = \"boundary\"\n" + std::string(kBody), "b.toml");
  ASSERT_THAT(boundary, IsOk());
  EXPECT_EQ(boundary->kind, PolicyKind::kBoundary);
}

TEST(TomlSourceTest, ResourcePolicyStatementsMustNamePrincipals) {
  auto doc = ParseToml(
      "kind = \"resource\"\n\n[[statement]]\neffect = \"allow\"\naction = \"a:b\"\n"
      "resource = \"*\"\n",
      "r.toml");
  EXPECT_EQ(ErrorsOf(doc),
            "r.toml:3:1: error: statement of a resource policy is missing `principal` (or "
            "`not_principal`)\n  help: use `principal = \"*\"` to mean anyone\n");
}

TEST(TomlSourceTest, ReportsEveryErrorWithItsSpan) {
  constexpr std::string_view kBad = R"(id = 3
kind = "role"
atach = ["x"]

[[statement]]
Effect = "allow"
actions = ["function:Invoke"]
action = []
not_resource = "x"
resource = "y"

[[statement.condition]]
operator = "StringEqualz"
key = "aws:username"
values = []

[[statement.condition]]
operator = "Foo"

[[statement]]
effect = "Allow"
action = [1, "x"]
resource = { a = 1 }
)";
  EXPECT_EQ(ErrorsOf(ParseToml(kBad, "bad.toml")),
            "bad.toml:1:6: error: `id` must be a string, found an integer\n"
            "bad.toml:2:8: error: unknown policy kind `role`\n"
            "  help: use `identity`, `resource` or `boundary`\n"
            "bad.toml:3:1: error: unknown key `atach` in policy\n"
            "  help: did you mean `attach`?\n"
            "bad.toml:5:1: error: statement is missing `effect`\n"
            "  help: add `effect = \"allow\"` or `effect = \"deny\"`\n"
            "bad.toml:6:1: error: unknown key `Effect` in statement\n"
            "  help: did you mean `effect`?\n"
            "bad.toml:7:1: error: unknown key `actions` in statement\n"
            "  help: did you mean `action`?\n"
            "bad.toml:8:10: error: `action` must not be empty\n"
            "bad.toml:10:1: error: a statement takes `resource` or `not_resource`, not both\n"
            "bad.toml:13:12: error: unknown condition operator `StringEqualz`\n"
            "  help: did you mean `StringEquals`?\n"
            "bad.toml:15:10: error: `values` must not be empty\n"
            "bad.toml:17:1: error: condition is missing `key`\n"
            "bad.toml:17:1: error: condition is missing `values`\n"
            "bad.toml:18:12: error: unknown condition operator `Foo`\n"
            "bad.toml:21:10: error: unknown effect `Allow`\n"
            "  help: use `allow` or `deny`\n"
            "bad.toml:22:11: error: elements of `action` must be strings, found an integer\n"
            "bad.toml:23:12: error: `resource` must be a string or an array of strings, found a "
            "table\n");
}

TEST(TomlSourceTest, MissingElementsAndNoStatements) {
  EXPECT_EQ(ErrorsOf(ParseToml("[[statement]]\neffect = \"deny\"\n", "m.toml")),
            "m.toml:1:1: error: statement is missing `action` (or `not_action`)\n"
            "m.toml:1:1: error: statement is missing `resource` (or `not_resource`)\n");
  EXPECT_EQ(ErrorsOf(ParseToml("id = \"empty\"\n", "e.toml")),
            "e.toml:1:1: error: policy has no statements\n"
            "  help: add one or more `[[statement]]` tables\n");
  EXPECT_EQ(ErrorsOf(ParseToml("statement = []\n", "z.toml")),
            "z.toml:1:1: error: policy has no statements\n"
            "  help: add one or more `[[statement]]` tables\n");
  EXPECT_EQ(ErrorsOf(ParseToml("[statement]\neffect = \"deny\"\n", "t.toml")),
            "t.toml:1:1: error: `statement` must be an array of tables, found a table\n"
            "  help: write each one under its own `[[statement]]` header\n");
  EXPECT_EQ(ErrorsOf(ParseToml("[[statement]]\neffect = \"deny\"\naction = \"a:b\"\n"
                               "resource = \"*\"\n[statement.condition]\noperator = \"Bool\"\n",
                               "c.toml")),
            "c.toml:5:1: error: `condition` must be an array of tables, found a table\n"
            "  help: write each one under its own `[[statement.condition]]` header\n");
}

TEST(TomlSourceTest, ActionAndNotActionAreExclusive) {
  EXPECT_EQ(ErrorsOf(ParseToml("[[statement]]\neffect = \"deny\"\nnot_action = \"a:*\"\n"
                               "action = \"a:b\"\nresource = \"*\"\n",
                               "x.toml")),
            "x.toml:4:1: error: a statement takes `action` or `not_action`, not both\n");
}

TEST(TomlSourceTest, UnknownOperatorIsAnError) {
  EXPECT_EQ(ErrorsOf(ParseToml("[[statement]]\neffect = \"deny\"\naction = \"a:b\"\n"
                               "resource = \"*\"\n[[statement.condition]]\n"
                               "operator = \"NullIfExists\"\nkey = \"k\"\nvalues = true\n",
                               "op.toml")),
            "op.toml:6:12: error: unknown condition operator `NullIfExists`\n");
}

// Design brief, "Known pitfalls": toml++ 3.3.0 asserted on this ASCII input (a table
// header `[=` reaches parse_key's precondition).
TEST(TomlSourceTest, CrashInputEmptyTableHeaderKeyIsAnError) {
  const std::string input = "a = 1\n[=\nbt ]\"x\" \n";
  EXPECT_EQ(ErrorsOf(ParseToml(input, "crash1.toml")),
            "crash1.toml:2:2: error: invalid TOML in key: expected bare key starting character "
            "or string delimiter, saw `=`\n");
  EXPECT_EQ(ErrorsOf(ParseTestSuite(input, "crash1.toml")),
            "crash1.toml:2:2: error: invalid TOML in key: expected bare key starting character "
            "or string delimiter, saw `=`\n");
  // The same precondition through an array-of-tables header (tomlplusplus#301).
  EXPECT_EQ(ErrorsOf(ParseToml("[[[1]]]\n", "crash3.toml")),
            "crash3.toml:1:3: error: invalid TOML in key: expected bare key starting character "
            "or string delimiter, saw `[`\n");
}

// Found by fuzzing: toml++ 3.3.0 asserted when an array element starts with `}` (the
// parse_value precondition); the value parser reports it properly once let through.
TEST(TomlSourceTest, CrashInputValueStartingWithATerminatorIsAnError) {
  EXPECT_EQ(ErrorsOf(ParseToml("a = [\n}", "crash4.toml")),
            "crash4.toml:2:1: error: invalid TOML in value: could not determine value type\n");
  const std::string found =
      "id = \"in0ine\"\nstatement = [\n  } sid = \"A\", effect ={ \"allow\"= [ { ";
  EXPECT_EQ(ErrorsOf(ParseTestSuite(found, "crash5.toml")),
            "crash5.toml:3:3: error: invalid TOML in value: could not determine value type\n");
}

// Found by fuzzing: toml++ 3.3.0 asserted on a date-time whose time part starts with a
// letter (the parse_time precondition); parse_time reports it once let through.
TEST(TomlSourceTest, CrashInputDateTimeWithoutHourIsAnError) {
  EXPECT_EQ(ErrorsOf(ParseToml("a = 2026-01-01T:00\n", "crash6.toml")),
            "crash6.toml:1:16: error: invalid TOML in time: expected 2-digit hour, saw `:`\n");
  EXPECT_EQ(ErrorsOf(ParseToml("attach = [2026-01-01Taws:PrincipalTag/team]\n", "crash7.toml")),
            "crash7.toml:1:22: error: invalid TOML in time: expected 2-digit hour, saw `a`\n");
}

// toml++ 3.3.0 asserted when its look-ahead was asked to scan on from the terminator
// after `<date> <digit>` (the lambda in parse_value); let through, the value fails.
TEST(TomlSourceTest, CrashInputDateSpaceDigitIsAnError) {
  EXPECT_EQ(ErrorsOf(ParseToml("a = 1979-05-27 0\nb = 2\n", "crash8.toml")),
            "crash8.toml:1:5: error: invalid TOML in value: could not determine value type\n");
  EXPECT_EQ(ErrorsOf(ParseToml("a = [1979-05-27 0]\n", "crash9.toml")),
            "crash9.toml:1:6: error: invalid TOML in value: could not determine value type\n");
}

// A date padded with `_` past toml++'s 128-character look-ahead made it step back out of
// its buffer; such runs are refused before toml++ sees them.
TEST(TomlSourceTest, OverlongUnquotedRunsAreRefused) {
  const std::string padded = "a = 1" + std::string(115, '_') + "979-05-27 00:00:00\n";
  EXPECT_EQ(ErrorsOf(ParseToml("id = \"x\"\n" + padded, "pad.toml")),
            "pad.toml:2:5: error: unquoted key or value longer than 100 characters\n"
            "  help: put long keys in quotes\n");
  // toml++'s look-ahead runs through any character up to a terminator, quotes included,
  // so its extent is what is measured (the first input was found by fuzzing).
  const std::string junk =
      "a = 1`" + std::string(26, '_') + "[" + std::string(90, '_') + "9-05-27 00:00:00\n";
  EXPECT_EQ(ErrorsOf(ParseToml(junk, "junk.toml")),
            "junk.toml:1:5: error: unquoted key or value longer than 100 characters\n"
            "  help: put long keys in quotes\n");
  const std::string quoted =
      "a = [\n  1\"" + std::string(60, '_') + "\"" + std::string(60, '_') + "9-05-27 00:00:00]\n";
  EXPECT_EQ(ErrorsOf(ParseToml(quoted, "quoted.toml")),
            "quoted.toml:2:3: error: unquoted key or value longer than 100 characters\n"
            "  help: put long keys in quotes\n");
  EXPECT_EQ(ErrorsOf(ParseToml(std::string(101, 'k') + " = 1\n", "key.toml")),
            "key.toml:1:1: error: unquoted key or value longer than 100 characters\n"
            "  help: put long keys in quotes\n");
  // Quoted text and comments may be as long as they like, in every string form.
  const std::string long_text(300, 'x');
  const std::string policy = "# " + long_text + "\ndescription = \"\"\"" + long_text +
                             " \"\"\"\"\"\n[[statement]]\neffect = \"allow\"\naction = '" +
                             long_text + "'\nresource = [\'\'\'" + long_text + "\'\'\', \"a\\\"" +
                             long_text + "\"]\n";
  auto doc = ParseToml(policy, "long.toml");
  ASSERT_THAT(doc, IsOk());
  EXPECT_EQ(doc->description, long_text + " \"\"");
  EXPECT_EQ(doc->statements[0].resource->values[1].text, "a\"" + long_text);
}

// Design brief, "Known pitfalls": non-ASCII input that was undefined behaviour in toml++.
TEST(TomlSourceTest, CrashInputNonAsciiIsRefusedBeforeParsing) {
  const std::string input =
      "\xef\xbb\xb7"
      "a =.1\n\x01";
  EXPECT_EQ(ErrorsOf(ParseToml(input, "crash2.toml")),
            "crash2.toml:1:1: error: non-ASCII byte `0xef`; policy files must be ASCII\n"
            "  help: write other characters as `\\uXXXX` escapes inside strings\n");
}

TEST(TomlSourceTest, RefusesBadBytesWithTheirPosition) {
  EXPECT_EQ(ErrorsOf(ParseToml("id = \"a\"\nx = \"caf\xc3\xa9\"\n", "u.toml")),
            "u.toml:2:9: error: non-ASCII byte `0xc3`; policy files must be ASCII\n"
            "  help: write other characters as `\\uXXXX` escapes inside strings\n");
  EXPECT_EQ(ErrorsOf(ParseToml("\xef\xbb\xbfid = \"a\"\n", "bom.toml")),
            "bom.toml:1:1: error: non-ASCII byte `0xef`; policy files must be ASCII\n"
            "  help: remove the UTF-8 byte order mark at the start of the file\n");
  EXPECT_EQ(ErrorsOf(ParseToml(std::string("id = \"a\0\"\n", 10), "nul.toml")),
            "nul.toml:1:8: error: NUL byte in policy file\n");
  EXPECT_EQ(ErrorsOf(ParseToml("id = \"a\"\n\tx\x1b", "esc.toml")),
            "esc.toml:2:3: error: control character `0x1b` in policy file\n");
}

TEST(TomlSourceTest, EscapedNonAsciiIsAccepted) {
  auto doc = ParseToml(
      "description = \"caf\\u00e9\"\n[[statement]]\neffect = \"allow\"\naction = \"a:b\"\n"
      "resource = \"*\"\n",
      "e.toml");
  ASSERT_THAT(doc, IsOk());
  EXPECT_EQ(doc->description, "caf\xc3\xa9");
}

TEST(TomlSourceTest, ControlCharactersInIdentifiersAreErrors) {
  // A deny on `fn:admin\u0000` reads like a deny on `fn:admin` but never matches it.
  EXPECT_EQ(ErrorsOf(ParseToml("description = \"two\\nlines\"\n[[statement]]\neffect = \"deny\"\n"
                               "action = \"a:b\"\nresource = [\"fn:x\", \"fn:admin\\u0000\"]\n"
                               "sid = \"S\\t\"\n",
                               "ctl.toml")),
            "ctl.toml:5:21: error: control character `0x00` in `resource`\n"
            "ctl.toml:6:7: error: control character `0x09` in `sid`\n");
}

TEST(TomlSourceTest, MalformedPolicyVariablesAreErrors) {
  // Worded as PolicySet::Compile words them, so what loads also compiles.
  EXPECT_EQ(ErrorsOf(ParseToml("[[statement]]\neffect = \"allow\"\naction = \"a:b\"\n"
                               "resource = [\"fn:${aws:username\", \"fn:${aws:username}\"]\n"
                               "[[statement.condition]]\noperator = \"StringLike\"\n"
                               "key = \"k\"\nvalues = [\"${x, none}\"]\n"
                               "[[statement.condition]]\noperator = \"NumericEquals\"\n"
                               "key = \"n\"\nvalues = [\"${\"]\n",
                               "var.toml")),
            "var.toml:4:13: error: unterminated policy variable `${aws:username`\n"
            "var.toml:8:11: error: default value of policy variable `${x}` must be in single "
            "quotes\n");
}

TEST(TomlSourceTest, RefusesOversizedInput) {
  const std::string big(kMaxPolicyFileBytes + 1, '#');
  EXPECT_EQ(ErrorsOf(ParseToml(big, "big.toml")),
            "big.toml: error: policy file is larger than 1048576 bytes\n");
}

TEST(TomlSourceTest, SyntaxErrorsFollowTheHouseStyle) {
  EXPECT_EQ(ErrorsOf(ParseToml("id = \"a\"\nid = \"b\"\n", "dup.toml")),
            "dup.toml:2:6: error: invalid TOML in key-value pair: cannot redefine existing "
            "string `id`\n");
}

constexpr std::string_view kSuite = R"(policies = ["invoke.toml", "../shared/base.toml"]
boundaries = ["boundary.toml"]

[[case]]
name = "alice may invoke hello"
principal = "alice"
groups = ["ops"]
action = "function:Invoke"
resource = "fn:hello"
context = { "aws:SourceIp" = "10.1.2.3", "aws:MultiFactorAuthPresent" = true, "tags" = ["a", "b"], "n" = 42 }
expect = "allow"
reason = "explicit-allow"

[[case]]
name = "bob may not"
principal = "bob"
action = "function:Invoke"
resource = "fn:hello"
expect = "deny"
)";

TEST(TomlSourceTest, ParsesTestSuite) {
  auto suite = ParseTestSuite(kSuite, "tests/policy/invoke_test.toml");
  ASSERT_THAT(suite, IsOk());
  EXPECT_EQ(suite->file, "tests/policy/invoke_test.toml");
  EXPECT_THAT(suite->policies, ElementsAre("tests/policy/invoke.toml", "tests/shared/base.toml"));
  EXPECT_THAT(suite->boundaries, ElementsAre("tests/policy/boundary.toml"));
  ASSERT_THAT(suite->cases, SizeIs(2));

  const TestCase& alice = suite->cases[0];
  EXPECT_EQ(alice.name, "alice may invoke hello");
  EXPECT_EQ(Where(alice.span), "tests/policy/invoke_test.toml:4:1");
  EXPECT_EQ(alice.request.principal, "alice");
  EXPECT_THAT(alice.request.groups, ElementsAre("ops"));
  EXPECT_EQ(alice.request.action, "function:Invoke");
  EXPECT_EQ(alice.request.resource, "fn:hello");
  EXPECT_TRUE(alice.expect_allow);
  EXPECT_EQ(alice.expect_reason, Reason::kExplicitAllow);
  const auto& context = alice.request.context;
  ASSERT_EQ(context.size(), 4u);
  EXPECT_THAT(context.at("aws:SourceIp").values, ElementsAre("10.1.2.3"));
  EXPECT_FALSE(context.at("aws:SourceIp").multi);
  EXPECT_THAT(context.at("aws:MultiFactorAuthPresent").values, ElementsAre("true"));
  EXPECT_THAT(context.at("tags").values, ElementsAre("a", "b"));
  EXPECT_TRUE(context.at("tags").multi);
  EXPECT_THAT(context.at("n").values, ElementsAre("42"));

  const TestCase& bob = suite->cases[1];
  EXPECT_FALSE(bob.expect_allow);
  EXPECT_FALSE(bob.expect_reason.has_value());
  EXPECT_TRUE(bob.request.context.empty());
}

TEST(TomlSourceTest, SuitePathsBesideAFileInTheCurrentFolder) {
  auto suite = ParseTestSuite(
      "policies = \"p.toml\"\n[[case]]\nname = \"n\"\nprincipal = \"p\"\naction = \"a:b\"\n"
      "resource = \"r\"\nexpect = \"deny\"\n",
      "suite.toml");
  ASSERT_THAT(suite, IsOk());
  EXPECT_THAT(suite->policies, ElementsAre("p.toml"));
  EXPECT_TRUE(suite->boundaries.empty());
}

TEST(TomlSourceTest, ReportsEverySuiteError) {
  constexpr std::string_view kBad = R"(policy = ["x.toml"]

[[case]]
name = "typo"
principal = "alice"
acton = "function:Invoke"
resource = "fn:hello"
context = { "k" = 1, "K" = 2, "t" = { a = 1 } }
expect = "allowed"
reason = "because"
)";
  EXPECT_EQ(ErrorsOf(ParseTestSuite(kBad, "s.toml")),
            "s.toml:1:1: error: unknown key `policy` in test suite\n"
            "  help: did you mean `policies`?\n"
            "s.toml:1:1: error: test suite is missing `policies`\n"
            "  help: list the policy files under test, e.g. `policies = [\"invoke.toml\"]`\n"
            "s.toml:3:1: error: test case is missing `action`\n"
            "s.toml:6:1: error: unknown key `acton` in test case\n"
            "  help: did you mean `action`?\n"
            "s.toml:8:13: error: duplicate context key `k`\n"
            "  help: context keys are case-insensitive\n"
            "s.toml:8:37: error: context key `t` must be a string, number, boolean or array, "
            "found a table\n"
            "s.toml:9:10: error: unknown effect `allowed`\n"
            "  help: use `allow` or `deny`\n"
            "s.toml:10:10: error: unknown reason `because`\n"
            "  help: use `explicit-allow`, `explicit-deny` or `implicit-deny`\n");
  EXPECT_EQ(ErrorsOf(ParseTestSuite("policies = []\n", "none.toml")),
            "none.toml:1:1: error: test suite has no cases\n"
            "  help: add one or more `[[case]]` tables\n");
  EXPECT_EQ(ErrorsOf(ParseTestSuite("policies = []\ncase = []\n", "empty.toml")),
            "empty.toml:1:1: error: test suite has no cases\n"
            "  help: add one or more `[[case]]` tables\n");
}

}  // namespace
}  // namespace fnjail::policy
