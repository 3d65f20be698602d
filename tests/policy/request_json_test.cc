// Tests for the request JSON of `fnjail policy eval`.
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

template <class T>
std::string ErrorsOf(const Result<T>& result) {
  if (result.has_value()) return "<no error>";
  return result.error().ToString();
}

TEST(RequestJsonTest, ParsesEveryField) {
  auto request = ParseRequestJson(R"({
    "principal": "alice", "groups": ["ops", "dev"],
    "action": "function:Invoke", "resource": "fn:hello",
    "context": {"aws:SourceIp": "10.1.2.3", "aws:MultiFactorAuthPresent": true,
                "aws:MultiFactorAuthAge": 300, "ratio": -1.5e-3, "tags": ["a", 2, false],
                "empty": []}})",
                                  "req.json");
  ASSERT_THAT(request, IsOk());
  EXPECT_EQ(request->principal, "alice");
  EXPECT_THAT(request->groups, ElementsAre("ops", "dev"));
  EXPECT_EQ(request->action, "function:Invoke");
  EXPECT_EQ(request->resource, "fn:hello");
  const auto& context = request->context;
  ASSERT_EQ(context.size(), 6u);
  EXPECT_THAT(context.at("aws:SourceIp").values, ElementsAre("10.1.2.3"));
  EXPECT_FALSE(context.at("aws:SourceIp").multi);
  EXPECT_THAT(context.at("aws:MultiFactorAuthPresent").values, ElementsAre("true"));
  // Numbers are kept exactly as written, as IAM passes them as strings.
  EXPECT_THAT(context.at("aws:MultiFactorAuthAge").values, ElementsAre("300"));
  EXPECT_THAT(context.at("ratio").values, ElementsAre("-1.5e-3"));
  EXPECT_THAT(context.at("tags").values, ElementsAre("a", "2", "false"));
  EXPECT_TRUE(context.at("tags").multi);
  EXPECT_TRUE(context.at("empty").values.empty());
  EXPECT_TRUE(context.at("empty").multi);
}

TEST(RequestJsonTest, GroupsAndContextAreOptional) {
  auto request = ParseRequestJson(R"({"principal": "p", "action": "a:b", "resource": "r"})", "-");
  ASSERT_THAT(request, IsOk());
  EXPECT_TRUE(request->groups.empty());
  EXPECT_TRUE(request->context.empty());
}

TEST(RequestJsonTest, ReportsEveryErrorWithItsPosition) {
  constexpr std::string_view kBad = R"({
  "principal": 7,
  "actions": "function:Invoke",
  "resource": "",
  "groups": ["ops", null],
  "context": {"k": {"nested": 1}, "K": "again", "list": [[1]], "n": null}
})";
  EXPECT_EQ(ErrorsOf(ParseRequestJson(kBad, "bad.json")),
            "bad.json:2:16: error: `principal` must be a string, found a number\n"
            "bad.json:3:3: error: unknown key `actions` in request\n"
            "  help: did you mean `action`?\n"
            "bad.json:4:15: error: `resource` must not be empty\n"
            "bad.json:5:21: error: elements of `groups` must be strings, found null\n"
            "bad.json:6:20: error: context key `k` must be a string, number, boolean or "
            "array, found an object\n"
            "bad.json:6:35: error: duplicate context key `K`\n"
            "  help: context keys are case-insensitive\n"
            "bad.json:6:58: error: elements of context key `list` must be strings, "
            "numbers or booleans, found an array\n"
            "bad.json:6:69: error: context key `n` must be a string, number, boolean or "
            "array, found null\n"
            "bad.json:1:1: error: request is missing `action`\n");
}

TEST(RequestJsonTest, MalformedJsonIsAnError) {
  EXPECT_EQ(ErrorsOf(ParseRequestJson("[\"principal\"]", "r.json")),
            "r.json:1:1: error: a request must be a JSON object, found an array\n");
  EXPECT_EQ(ErrorsOf(ParseRequestJson("{\"principal\": \"a\", \"principal\": \"b\", "
                                      "\"action\": \"x:y\", \"resource\": \"r\"}",
                                      "d.json")),
            "d.json:1:20: error: duplicate key `principal`\n");
  EXPECT_EQ(ErrorsOf(ParseRequestJson("", "e.json")),
            "e.json:1:1: error: invalid JSON: syntax error while parsing value - unexpected end "
            "of input; expected `[`, `{`, or a literal\n");
  EXPECT_EQ(ErrorsOf(ParseRequestJson("{} {}", "t.json")),
            "t.json:1:4: error: invalid JSON: syntax error while parsing value - unexpected `{`; "
            "expected end of input\n");
}

TEST(RequestJsonTest, ByteOrderMarkIsSkippedAndPositionsStayRight) {
  EXPECT_EQ(ErrorsOf(ParseRequestJson("\xef\xbb\xbf{\"principal\": 1}", "bom.json")),
            "bom.json:1:15: error: `principal` must be a string, found a number\n"
            "bom.json:1:1: error: request is missing `action`\n"
            "bom.json:1:1: error: request is missing `resource`\n");
}

TEST(RequestJsonTest, DeepNestingIsRefused) {
  std::string deep =
      "{\"principal\": \"p\", \"action\": \"a:b\", \"resource\": \"r\", \"context\": "
      "{\"k\": ";
  deep += std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']') + "}}";
  EXPECT_EQ(ErrorsOf(ParseRequestJson(deep, "deep.json")),
            "deep.json:1:133: error: JSON nested deeper than 64 levels\n");
}

}  // namespace
}  // namespace fnjail::policy
