// Tests for the AWS IAM JSON front end, including the whole AWS managed-policy corpus.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "policy/policy.h"
#include "tests/testing/result_matchers.h"
#include "tests/testing/shared_corpus.h"

namespace fnjail::policy {
namespace {

using ::fnjail::testing::IsOk;
using ::testing::SizeIs;

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

constexpr std::string_view kBucketPolicy = R"({
  "Version": "2012-10-17",
  "Id": "bucket-policy",
  "Statement": [
    {
      "Sid": "ReadObjects",
      "Effect": "Allow",
      "Principal": {"AWS": ["123456789012", "arn:aws:iam::111122223333:user/x"],
                    "Service": "s3.amazonaws.com", "Federated": "cognito-identity.amazonaws.com",
                    "CanonicalUser": "79a59df9"},
      "Action": "s3:GetObject",
      "Resource": ["arn:aws:s3:::b/${aws:username}/*"],
      "Condition": {
        "NumericLessThan": {"s3:max-keys": 10},
        "ForAnyValue:StringLikeIfExists": {"aws:TagKeys": ["a*", 1.5e3, true]}
      }
    },
    {"Effect": "Deny", "NotPrincipal": {"AWS": "*"}, "NotAction": ["s3:*"], "NotResource": "x"}
  ]
})";

TEST(IamJsonTest, MapsEveryElementWithSpans) {
  auto doc = ParseIamJson(kBucketPolicy, "p/bucket.json");
  ASSERT_THAT(doc, IsOk());
  EXPECT_EQ(doc->id, "bucket-policy");
  EXPECT_EQ(doc->file, "p/bucket.json");
  // Statements that name principals make a resource-based policy.
  EXPECT_EQ(doc->kind, PolicyKind::kResource);
  ASSERT_THAT(doc->statements, SizeIs(2));

  const Statement& read = doc->statements[0];
  EXPECT_EQ(read.sid, "ReadObjects");
  EXPECT_EQ(read.effect, Effect::kAllow);
  EXPECT_EQ(Where(read.span), "p/bucket.json:5:5");
  ASSERT_TRUE(read.principal.has_value());
  EXPECT_FALSE(read.principal->negated);
  EXPECT_EQ(Texts(read.principal->values),
            "arn:aws:iam::123456789012:root,arn:aws:iam::111122223333:user/x,"
            "service:s3.amazonaws.com,federated:cognito-identity.amazonaws.com,"
            "canonical-user:79a59df9");
  EXPECT_EQ(Where(read.principal->span), "p/bucket.json:8:7");
  EXPECT_EQ(Where(read.principal->values[0].span), "p/bucket.json:8:29");
  ASSERT_TRUE(read.action.has_value());
  EXPECT_EQ(Texts(read.action->values), "s3:GetObject");
  EXPECT_EQ(Where(read.action->values[0].span), "p/bucket.json:11:17");
  EXPECT_EQ(Texts(read.resource->values), "arn:aws:s3:::b/${aws:username}/*");

  ASSERT_THAT(read.conditions, SizeIs(2));
  EXPECT_EQ(read.conditions[0].spec.op, Operator::kNumericLessThan);
  EXPECT_EQ(read.conditions[0].key.text, "s3:max-keys");
  EXPECT_EQ(Where(read.conditions[0].key.span), "p/bucket.json:14:29");
  EXPECT_EQ(Where(read.conditions[0].operator_text.span), "p/bucket.json:14:9");
  EXPECT_EQ(Texts(read.conditions[0].values), "10");
  EXPECT_EQ(read.conditions[1].spec.qualifier, SetQualifier::kForAnyValue);
  EXPECT_TRUE(read.conditions[1].spec.if_exists);
  // Numbers keep their text as written; booleans become `true` / `false`.
  EXPECT_EQ(Texts(read.conditions[1].values), "a*,1.5e3,true");

  const Statement& deny = doc->statements[1];
  EXPECT_EQ(StatementName(deny), "1");
  EXPECT_EQ(deny.effect, Effect::kDeny);
  EXPECT_TRUE(deny.principal->negated);
  EXPECT_EQ(Texts(deny.principal->values), "*");
  EXPECT_TRUE(deny.action->negated);
  EXPECT_TRUE(deny.resource->negated);
}

TEST(IamJsonTest, AcceptsWrappedDocumentAndSingleStatement) {
  constexpr std::string_view kWrapped = R"({"PolicyVersion": {
    "CreateDate": "2026-02-12T18:00:18Z", "VersionId": "v3", "IsDefaultVersion": true,
    "Document": {"Version": "2012-10-17",
                 "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}}})";
  auto doc = ParseIamJson(kWrapped, "AdministratorAccess.json");
  ASSERT_THAT(doc, IsOk());
  EXPECT_EQ(doc->id, "AdministratorAccess");
  EXPECT_EQ(doc->kind, PolicyKind::kIdentity);
  ASSERT_THAT(doc->statements, SizeIs(1));
  EXPECT_EQ(doc->statements[0].index, 0u);
  EXPECT_FALSE(doc->statements[0].principal.has_value());
  EXPECT_EQ(Where(doc->statements[0].span), "AdministratorAccess.json:4:31");
}

TEST(IamJsonTest, ReportsEveryErrorWithItsSpan) {
  constexpr std::string_view kBad = R"({
  "Version": "2012-10-18",
  "Statment": [],
  "Statement": [
    {"Effect": "allow", "Action": [], "Resource": "*", "Conditon": {}},
    {"Effect": "Deny", "Action": "a:b", "NotAction": "c:d", "Resource": [1]},
    {"Sid": "NoEffect", "Principal": {"User": "x"}},
    {"Effect": "Allow", "Action": "a:b", "Resource": "*",
     "Condition": {"StringEqual": {"k": "v"}, "Bool": {"k": null}, "Null": []}},
    3
  ]
})";
  EXPECT_EQ(ErrorsOf(ParseIamJson(kBad, "bad.json")),
            "bad.json:2:14: error: unknown policy language version `2012-10-18`\n"
            "  help: use `2012-10-17`\n"
            "bad.json:3:3: error: unknown element `Statment` in policy\n"
            "  help: did you mean `Statement`?\n"
            "bad.json:5:16: error: unknown effect `allow`\n"
            "  help: use `Allow` or `Deny`\n"
            "bad.json:5:35: error: `Action` must not be empty\n"
            "bad.json:5:56: error: unknown element `Conditon` in statement\n"
            "  help: did you mean `Condition`?\n"
            "bad.json:6:41: error: a statement takes `Action` or `NotAction`, not both\n"
            "bad.json:6:74: error: elements of `Resource` must be strings, found a number\n"
            "bad.json:7:39: error: unknown principal type `User`\n"
            "bad.json:7:5: error: statement is missing `Effect`\n"
            "bad.json:7:5: error: statement is missing `Action` (or `NotAction`)\n"
            "bad.json:7:5: error: statement is missing `Resource` (or `NotResource`)\n"
            "bad.json:9:20: error: unknown condition operator `StringEqual`\n"
            "  help: did you mean `StringEquals`?\n"
            "bad.json:9:61: error: `k` must be a string, number or boolean, or an array of "
            "them, found null\n"
            "bad.json:9:76: error: `Null` must be an object of condition keys, found an array\n"
            "bad.json:10:5: error: a statement must be an object, found a number\n");
}

TEST(IamJsonTest, ControlCharactersInIdentifiersAreErrors) {
  EXPECT_EQ(ErrorsOf(ParseIamJson(
                R"({"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Action": "a:b",
  "Resource": ["fn:x", "fn:admin\u0000"], "Condition": {"Bool": {"k\u007f": "true"}}}})",
                "ctl.json")),
            "ctl.json:2:24: error: control character `0x00` in `Resource`\n"
            "ctl.json:2:66: error: control character `0x7f` in `Condition`\n");
}

TEST(IamJsonTest, MalformedPolicyVariablesAreErrors) {
  EXPECT_EQ(ErrorsOf(ParseIamJson(R"({"Version": "2012-10-17", "Statement": {"Effect": "Allow",
  "Action": "s3:*", "Resource": "arn:aws:s3:::b/${aws:username",
  "Condition": {"ArnLike": {"aws:SourceArn": "a${rn:aws:lambda:*"}}}})",
                                  "var.json")),
            "var.json:2:33: error: unterminated policy variable `${aws:username`\n"
            "var.json:3:46: error: unterminated policy variable `${rn:aws:lambda:*`\n");
}

TEST(IamJsonTest, DuplicateKeysAreErrors) {
  EXPECT_EQ(
      ErrorsOf(ParseIamJson("{\"Statement\": {\"Effect\": \"Allow\", \"Action\": \"a:b\",\n"
                            "  \"Resource\": \"*\", \"Effect\": \"Deny\"}, \"Statement\": []}",
                            "dup.json")),
      "dup.json:2:20: error: duplicate key `Effect`\n"
      "dup.json:2:39: error: duplicate key `Statement`\n");
}

TEST(IamJsonTest, DuplicateKeysAreFoundInLargeObjects) {
  std::string text = "{\"Statement\": [], \"Condition\": {";
  for (int i = 0; i < 40; ++i) text += "\"k" + std::to_string(i) + "\": 1, ";
  text += "\"k7\": 2}}";
  EXPECT_THAT(ParseIamJson(text, "big.json"),
              ::fnjail::testing::HasError("big.json:1:423: error: duplicate key `k7`"));
}

TEST(IamJsonTest, NestingDeeperThanTheLimitIsAnError) {
  const std::string deep =
      std::string(kMaxJsonDepth + 1, '[') + std::string(kMaxJsonDepth + 1, ']');
  EXPECT_EQ(ErrorsOf(ParseIamJson(deep, "deep.json")),
            "deep.json:1:65: error: JSON nested deeper than 64 levels\n");
  // Exactly the limit parses as JSON (and is then refused as a policy).
  const std::string limit = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  EXPECT_EQ(ErrorsOf(ParseIamJson(limit, "limit.json")),
            "limit.json:1:1: error: an IAM policy must be a JSON object, found an array\n");
}

TEST(IamJsonTest, SyntaxErrorsNameTheirPosition) {
  EXPECT_EQ(ErrorsOf(ParseIamJson("{\n  \"Version\": tru}", "s.json")),
            "s.json:2:17: error: invalid JSON: syntax error while parsing value - invalid "
            "literal\n");
  EXPECT_EQ(ErrorsOf(ParseIamJson("{\"a\": [1, 2", "eof.json")),
            "eof.json:1:12: error: invalid JSON: syntax error while parsing array - unexpected "
            "end of input; expected `]`\n");
  EXPECT_EQ(ErrorsOf(ParseIamJson("{\"a\": \"\xff\"}", "utf8.json")),
            "utf8.json:1:8: error: invalid JSON: syntax error while parsing value - invalid "
            "string: ill-formed UTF-8 byte\n");
}

TEST(IamJsonTest, PrincipalsMustBeInEveryStatementOrNone) {
  EXPECT_EQ(ErrorsOf(ParseIamJson(
                R"({"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Principal": "*", "Action": "a:b", "Resource": "*"},
  {"Effect": "Allow", "Action": "a:b", "Resource": "*"}]})",
                "mixed.json")),
            "mixed.json:3:3: error: statement has no `Principal`, but other statements of this "
            "policy name one\n"
            "  help: a resource-based policy names principals in every statement\n");
}

TEST(IamJsonTest, VariablesNeedThe2012Version) {
  EXPECT_EQ(
      ErrorsOf(ParseIamJson(
          R"({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/${aws:username}"}]})",
          "old.json")),
      "old.json:1:16: error: policy variables need `\"Version\": \"2012-10-17\"`; under "
      "the default version `2008-10-17` IAM reads `${...}` literally\n"
      "  help: add `\"Version\": \"2012-10-17\"` at the top of the policy\n");
  EXPECT_THAT(ParseIamJson(R"({"Version": "2008-10-17", "Statement": [{"Effect": "Allow",
                  "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"}]})",
                           "old-plain.json"),
              IsOk());
}

TEST(IamJsonTest, WrappedDocumentMetadataIsCheckedToo) {
  EXPECT_EQ(ErrorsOf(ParseIamJson(R"({"PolicyVersion": {"Document": "%7B%7D", "Arn": "x"},
  "Extra": 1})",
                                  "w.json")),
            "w.json:1:32: error: `Document` must be an object, found a string\n"
            "w.json:1:42: error: unknown element `Arn` in `PolicyVersion`\n"
            "w.json:1:19: error: `PolicyVersion` is missing `Document`\n"
            "w.json:2:3: error: unknown element `Extra` in a wrapped policy\n");
}

// The two front ends are one language: the same policy written both ways reads the same.
TEST(IamJsonTest, SameMeaningAsTheNativeForm) {
  auto iam = ParseIamJson(R"({"Version": "2012-10-17", "Id": "same", "Statement": [
    {"Sid": "Read", "Effect": "Allow", "Principal": {"AWS": "111122223333"},
     "NotAction": ["s3:Delete*", "s3:Put*"], "Resource": "arn:aws:s3:::b/${aws:username}/*",
     "Condition": {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8"]},
                   "NumericLessThanEquals": {"s3:max-keys": 100}}}]})",
                          "same.json");
  auto toml = ParseToml(R"(id = "same"
kind = "resource"

[[statement]]
sid = "Read"
effect = "allow"
principal = "arn:aws:iam::111122223333:root"
not_action = ["s3:Delete*", "s3:Put*"]
resource = "arn:aws:s3:::b/${aws:username}/*"

[[statement.condition]]
operator = "IpAddress"
key = "aws:SourceIp"
values = ["10.0.0.0/8"]

[[statement.condition]]
operator = "NumericLessThanEquals"
key = "s3:max-keys"
values = 100
)",
                        "same.toml");
  ASSERT_THAT(iam, IsOk());
  ASSERT_THAT(toml, IsOk());
  EXPECT_EQ(iam->id, toml->id);
  EXPECT_EQ(iam->kind, toml->kind);
  ASSERT_THAT(iam->statements, SizeIs(1));
  ASSERT_THAT(toml->statements, SizeIs(1));
  const Statement& a = iam->statements[0];
  const Statement& b = toml->statements[0];
  EXPECT_EQ(a.sid, b.sid);
  EXPECT_EQ(a.effect, b.effect);
  EXPECT_EQ(a.principal->negated, b.principal->negated);
  EXPECT_EQ(Texts(a.principal->values), Texts(b.principal->values));
  EXPECT_EQ(a.action->negated, b.action->negated);
  EXPECT_EQ(Texts(a.action->values), Texts(b.action->values));
  EXPECT_EQ(Texts(a.resource->values), Texts(b.resource->values));
  ASSERT_THAT(a.conditions, SizeIs(2));
  ASSERT_THAT(b.conditions, SizeIs(2));
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(a.conditions[i].spec.op, b.conditions[i].spec.op);
    EXPECT_EQ(a.conditions[i].key.text, b.conditions[i].key.text);
    EXPECT_EQ(Texts(a.conditions[i].values), Texts(b.conditions[i].values));
  }
}

std::string ReadAll(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Every AWS managed policy loads; the counts are those of the corpus README.
TEST(IamJsonTest, LoadsTheWholeAwsManagedPolicyCorpus) {
  FNJAIL_REQUIRE_SHARED_CORPUS(corpus, "aws-managed-policies");
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(corpus)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<std::string> texts;
  texts.reserve(files.size());
  for (const auto& file : files) texts.push_back(ReadAll(file));

  size_t statements = 0;
  size_t denies = 0;
  size_t not_actions = 0;
  size_t not_resources = 0;
  size_t failures = 0;
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < files.size(); ++i) {
    auto doc = ParseIamJson(texts[i], files[i].string());
    if (!doc) {
      ADD_FAILURE() << doc.error().ToString();
      ++failures;
      continue;
    }
    EXPECT_EQ(doc->id, files[i].stem().string());
    for (const Statement& statement : doc->statements) {
      ++statements;
      denies += statement.effect == Effect::kDeny ? 1 : 0;
      not_actions += statement.action && statement.action->negated ? 1 : 0;
      not_resources += statement.resource && statement.resource->negated ? 1 : 0;
    }
  }
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  RecordProperty("parse_ms", static_cast<int>(elapsed.count()));
  std::printf("parsed %zu corpus policies in %lld ms\n", files.size(),
              static_cast<long long>(elapsed.count()));
  EXPECT_EQ(files.size(), 1523u);
  EXPECT_EQ(failures, 0u);
  EXPECT_EQ(statements, 7972u);
  EXPECT_EQ(denies, 81u);
  EXPECT_EQ(not_actions, 13u);
  EXPECT_EQ(not_resources, 15u);
}

}  // namespace
}  // namespace fnjail::policy
