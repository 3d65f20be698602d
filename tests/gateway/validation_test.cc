// Tests gateway/validation.cc: strict JSON, content types, sizes and JSON Schema.
#include "gateway/validation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fnjail::gateway {
namespace {

using ::testing::HasSubstr;

HttpRequest JsonRequest(std::string body, std::string type = "application/json") {
  HttpRequest r;
  r.method = "POST";
  r.target = "/v1/functions/f/invoke";
  if (!type.empty()) r.headers.emplace_back("Content-Type", std::move(type));
  r.body = std::move(body);
  return r;
}

std::shared_ptr<const SchemaValidator> Compile(std::string_view schema, JsonLimits limits = {}) {
  auto s = SchemaValidator::Compile(schema, limits);
  EXPECT_TRUE(s.has_value()) << (s ? "" : s.error());
  return s ? *s : nullptr;
}

TEST(ValidationTest, StrictJsonAcceptsValidDocuments) {
  JsonLimits limits;
  for (const char* doc : {"{}", "[]", "null", "1", "\"x\"", R"({"a":[1,2,{"b":null}]})",
                          " {\"a\" : true} "}) {
    EXPECT_TRUE(CheckJson(doc, limits)) << doc;
  }
}

TEST(ValidationTest, DuplicateKeysAreRefusedWithTheirPath) {
  auto r = CheckJson(R"({"a":{"b":1,"b":2}})", {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidBody);
  EXPECT_THAT(r.error().message, HasSubstr("duplicate key `b`"));
  EXPECT_EQ(r.error().path, "/a/b");
  // The same key spelled with an escape is the same key.
  EXPECT_FALSE(CheckJson(R"({"a":1,"\u0061":2})", {}));
  // Equal keys in different objects are fine.
  EXPECT_TRUE(CheckJson(R"([{"a":1},{"a":2}])", {}));
}

TEST(ValidationTest, DepthLimit) {
  JsonLimits limits;
  limits.max_depth = 4;
  EXPECT_TRUE(CheckJson("[[[[1]]]]", limits));
  auto r = CheckJson("[[[[[1]]]]]", limits);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("deeper than 4"));
  EXPECT_EQ(r.error().path, "/0/0/0/0");
  // Deep nesting far beyond the limit stops at the limit, without recursion.
  std::string deep(1'000'000, '[');
  EXPECT_FALSE(CheckJson(deep, {}));
}

TEST(ValidationTest, ErrorPathNamesArrayIndexAndEscapedKey) {
  JsonLimits limits;
  limits.max_depth = 2;
  auto r = CheckJson(R"({"a/b~":[1,2,[3]]})", limits);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().path, "/a~1b~0/2");
}

TEST(ValidationTest, InvalidJsonNamesTheByte) {
  for (const char* doc : {"", "{", "{\"a\":}", "[1,]", "{'a':1}", "01", "NaN", "\"\xff\"",
                          "{} {}", "[1] x", "\"a\x01\""}) {
    auto r = CheckJson(doc, {});
    ASSERT_FALSE(r) << doc;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidBody);
    EXPECT_THAT(r.error().message, HasSubstr("not valid JSON")) << doc;
  }
}

TEST(ValidationTest, StringBound) {
  JsonLimits limits;
  limits.max_string_bytes = 4;
  EXPECT_TRUE(CheckJson(R"({"abcd":"wxyz"})", limits));
  auto v = CheckJson(R"({"a":["ok","toolong"]})", limits);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().path, "/a/1");
  auto k = CheckJson(R"({"toolong":1})", limits);
  ASSERT_FALSE(k);
  EXPECT_THAT(k.error().message, HasSubstr("key is longer"));
}

TEST(ValidationTest, ContentTypes) {
  EXPECT_TRUE(IsJsonContentType("application/json"));
  EXPECT_TRUE(IsJsonContentType("Application/JSON"));
  EXPECT_TRUE(IsJsonContentType("application/json; charset=utf-8"));
  EXPECT_TRUE(IsJsonContentType("application/json;charset=\"UTF-8\""));
  EXPECT_FALSE(IsJsonContentType("application/json; charset=latin1"));
  EXPECT_FALSE(IsJsonContentType("application/json; boundary=x"));
  EXPECT_FALSE(IsJsonContentType("application/jsonp"));
  EXPECT_FALSE(IsJsonContentType("text/plain"));
  EXPECT_FALSE(IsJsonContentType("application/json;charset"));
  EXPECT_FALSE(IsJsonContentType(""));
}

TEST(ValidationTest, ValidateInputChecksSizeTypeAndJson) {
  InputRules rules;
  rules.max_body_bytes = 16;
  EXPECT_TRUE(ValidateInput(JsonRequest(R"({"a":1})"), rules));
  EXPECT_EQ(ValidateInput(JsonRequest(R"({"a":"0123456789abcdef"})"), rules).error().code,
            ErrorCode::kPayloadTooLarge);
  EXPECT_EQ(ValidateInput(JsonRequest("{}", "text/plain"), rules).error().code,
            ErrorCode::kUnsupportedMediaType);
  EXPECT_EQ(ValidateInput(JsonRequest("{}", ""), rules).error().code,
            ErrorCode::kUnsupportedMediaType);
  EXPECT_EQ(ValidateInput(JsonRequest("{\"a\":1,\"a\":1}"), rules).error().code,
            ErrorCode::kInvalidBody);
  // An empty body needs no content type.
  EXPECT_TRUE(ValidateInput(JsonRequest("", ""), rules));
}

TEST(ValidationTest, RawFunctionsTakeAnyBytesWithinTheSize) {
  InputRules rules;
  rules.kind = BodyKind::kRaw;
  rules.max_body_bytes = 4;
  EXPECT_TRUE(ValidateInput(JsonRequest("\xff\x00x", "application/octet-stream"), rules));
  EXPECT_EQ(ValidateInput(JsonRequest("12345", "text/plain"), rules).error().code,
            ErrorCode::kPayloadTooLarge);
}

constexpr std::string_view kPersonSchema = R"({
  "type": "object",
  "required": ["name"],
  "additionalProperties": false,
  "properties": {
    "name": {"type": "string", "maxLength": 10, "pattern": "^[a-z]+$"},
    "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}}
  }
})";

TEST(ValidationTest, SchemaAcceptsAndRefusesWithPath) {
  auto schema = Compile(kPersonSchema);
  ASSERT_TRUE(schema);
  EXPECT_TRUE(schema->Validate(R"({"name":"ann","tags":["a"]})"));

  auto missing = schema->Validate(R"({"tags":[]})");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kSchemaViolation);

  auto bad_item = schema->Validate(R"({"name":"ann","tags":["a","zzz"]})");
  ASSERT_FALSE(bad_item);
  EXPECT_EQ(bad_item.error().path, "/tags/1");
  EXPECT_THAT(bad_item.error().message, HasSubstr("`/tags/1` does not match the schema"));

  auto pattern = schema->Validate(R"({"name":"Ann"})");
  ASSERT_FALSE(pattern);
  EXPECT_EQ(pattern.error().path, "/name");

  auto extra = schema->Validate(R"({"name":"ann","x":1})");
  ASSERT_FALSE(extra);
}

TEST(ValidationTest, SchemaValidationStillRefusesDuplicatesAndBadJson) {
  auto schema = Compile(kPersonSchema);
  ASSERT_TRUE(schema);
  EXPECT_EQ(schema->Validate(R"({"name":"a","name":"b"})").error().code, ErrorCode::kInvalidBody);
  EXPECT_EQ(schema->Validate("{").error().code, ErrorCode::kInvalidBody);
}

TEST(ValidationTest, SchemaBoundsStringsBeforePatternsRun) {
  auto schema = Compile(R"({"type":"object","properties":{"s":{"type":"string","pattern":"^a*$"}}})",
                        JsonLimits{.max_depth = 32, .max_string_bytes = 64});
  ASSERT_TRUE(schema);
  EXPECT_TRUE(schema->Validate(R"({"s":"aaaa"})"));
  std::string long_value = R"({"s":")" + std::string(100'000, 'a') + R"("})";
  auto r = schema->Validate(long_value);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidBody);
  EXPECT_EQ(r.error().path, "/s");
}

TEST(ValidationTest, DefaultStringBoundKeepsFormatRegexesShallow) {
  // valijson checks `format: date` with std::regex; a long string under the default bound
  // must be refused before it reaches the regex, not crash the process.
  auto schema = Compile(R"({"type":"string","format":"date"})");
  ASSERT_TRUE(schema);
  EXPECT_TRUE(schema->Validate(R"("2026-01-02")"));
  std::string huge = "\"" + std::string(1'000'000, '1') + "\"";
  EXPECT_EQ(schema->Validate(huge).error().code, ErrorCode::kInvalidBody);
  std::string at_bound = "\"" + std::string(SchemaValidator::kDefaultMaxStringBytes, '1') + "\"";
  EXPECT_FALSE(schema->Validate(at_bound));
}

TEST(ValidationTest, EmptyBodyIsNullForTheSchema) {
  auto object = Compile(R"({"type":"object"})");
  ASSERT_TRUE(object);
  EXPECT_EQ(object->Validate("").error().code, ErrorCode::kSchemaViolation);
  auto nullable = Compile(R"({"type":["object","null"]})");
  ASSERT_TRUE(nullable);
  EXPECT_TRUE(nullable->Validate(""));
}

TEST(ValidationTest, CompileRefusesDangerousPatterns) {
  for (const char* pattern : {"(a+)+", "(a*)*b", "(a|aa)*", "([a-z]+)*x", "(a+){2,}", "(a)\\1",
                              "((ab)*)+", "(a", "a)", "[a-"}) {
    auto r = CheckSchemaPattern(pattern);
    EXPECT_FALSE(r) << pattern;
  }
  for (const char* pattern : {"^[a-z]+$", "^(ab)+$", "^(a|b)$", "^(a+)?$", "^\\(a+\\)+$",
                              "^[()+*]+$", "^(x{1,1})+$", "^a{2,5}b*$"}) {
    auto r = CheckSchemaPattern(pattern);
    EXPECT_TRUE(r) << pattern << ": " << (r ? "" : r.error());
  }
}

TEST(ValidationTest, CompileReportsSchemaProblems) {
  auto pattern = SchemaValidator::Compile(R"({"properties":{"a":{"pattern":"(a+)+$"}}})");
  ASSERT_FALSE(pattern);
  EXPECT_THAT(pattern.error(), HasSubstr("/properties/a/pattern"));
  EXPECT_THAT(pattern.error(), HasSubstr("exponential"));
  auto pp = SchemaValidator::Compile(R"({"patternProperties":{"(x*)*":{}}})");
  EXPECT_FALSE(pp);
  EXPECT_FALSE(SchemaValidator::Compile("{"));
  EXPECT_FALSE(SchemaValidator::Compile("[1]"));
  EXPECT_FALSE(SchemaValidator::Compile(R"({"a":1,"a":2})"));
  auto remote = SchemaValidator::Compile(R"({"$ref":"http://example.com/s.json"})");
  EXPECT_FALSE(remote);
  auto bad_type = SchemaValidator::Compile(R"({"type":"strin"})");
  EXPECT_FALSE(bad_type);
}

TEST(ValidationTest, ValidateInputRunsTheSchema) {
  InputRules rules;
  rules.schema = Compile(kPersonSchema);
  EXPECT_TRUE(ValidateInput(JsonRequest(R"({"name":"bo"})"), rules));
  EXPECT_EQ(ValidateInput(JsonRequest(R"({"name":7})"), rules).error().code,
            ErrorCode::kSchemaViolation);
}

}  // namespace
}  // namespace fnjail::gateway
