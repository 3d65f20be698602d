// Contract tests of `fnjail policy ...`: exit codes, output shapes and messages that
// scripts depend on (issue contract: check, eval, test, import-iam).
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/testing/run_binary.h"
#include "tests/testing/shared_corpus.h"

namespace fnjail {
namespace {

using ::fnjail::testing::RunBinary;
using ::fnjail::testing::RunResult;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kSource = FNJAIL_SOURCE_DIR;

RunResult Fnjail(const std::vector<std::string>& args, const std::string& stdin_text = {}) {
  return RunBinary(FNJAIL_BINARY, args, stdin_text);
}

std::vector<nlohmann::json> JsonLines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

class PolicyCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("fnjail-cli-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    std::filesystem::path p = dir_ / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }

  std::filesystem::path dir_;
};

constexpr const char* kAllowHello = R"(id = "allow-hello"
[[statement]]
sid = "AllowHello"
effect = "allow"
action = ["function:Invoke"]
resource = ["fn:hello"]
)";

constexpr const char* kDenyAfterHours = R"(id = "deny-offsite"
[[statement]]
sid = "DenyOffsite"
effect = "deny"
action = ["function:*"]
resource = ["*"]
[[statement.condition]]
operator = "NotIpAddress"
key = "aws:SourceIp"
values = ["10.0.0.0/8"]
)";

TEST_F(PolicyCommandTest, TopLevelHelpListsCommands) {
  RunResult r = Fnjail({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("policy"));
  EXPECT_THAT(r.out, HasSubstr("version"));
}

TEST_F(PolicyCommandTest, VersionPrintsVersion) {
  RunResult r = Fnjail({"version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, ContainsRegex("^fnjail [0-9]+\\.[0-9]+\\.[0-9]+\n$"));
}

TEST_F(PolicyCommandTest, EverySubcommandHasManualStyleHelp) {
  for (const char* sub : {"check", "eval", "test", "import-iam"}) {
    SCOPED_TRACE(sub);
    RunResult r = Fnjail({"policy", sub, "--help"});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_THAT(r.out, HasSubstr("Exit status"));
    EXPECT_THAT(r.out, HasSubstr("Example"));
  }
}

TEST_F(PolicyCommandTest, UnknownOptionIsUsageError) {
  RunResult r = Fnjail({"policy", "check", "--frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
}

TEST_F(PolicyCommandTest, CheckAcceptsTheExamples) {
  RunResult r = Fnjail({"policy", "check", kSource + "/examples/policies",
                        kSource + "/examples/boundaries"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("0 errors"));
}

TEST_F(PolicyCommandTest, CheckReportsEveryErrorWithPosition) {
  std::string bad1 = Write("bad1.toml", R"(id = "bad1"
[[statement]]
effect = "permit"
action = ["function:Invoke"]
resource = ["fn:hello"]
)");
  std::string bad2 = Write("sub/bad2.toml", R"(id = "bad2"
[[statement]]
effect = "allow"
action = ["function:Invoke"]
resource = ["fn:hello"]
[[statement.condition]]
operator = "StringEqualz"
key = "aws:username"
values = ["alice"]
)");
  Write("sub/good.toml", kAllowHello);
  RunResult r = Fnjail({"policy", "check", bad1, (dir_ / "sub").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, ContainsRegex("bad1\\.toml:3:[0-9]+: error: .*permit"));
  EXPECT_THAT(r.err, ContainsRegex("bad2\\.toml:7:[0-9]+: error: .*StringEqualz"));
  EXPECT_THAT(r.err, HasSubstr("3 files checked, 2 errors"));
}

TEST_F(PolicyCommandTest, CheckReportsABadValueOnce) {
  std::string p = Write("cidr.toml", R"(id = "cidr"
[[statement]]
effect = "allow"
action = ["function:Invoke"]
resource = ["fn:hello"]
[[statement.condition]]
operator = "IpAddress"
key = "aws:SourceIp"
values = ["10.0.0.0/33"]
)");
  RunResult r = Fnjail({"policy", "check", p});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, ContainsRegex("cidr\\.toml:9:[0-9]+: error: .*10\\.0\\.0\\.0/33"));
  EXPECT_THAT(r.err, HasSubstr("1 file checked, 1 error,"));
}

TEST_F(PolicyCommandTest, CheckWarnsButPassesOnAllowStarStar) {
  std::string p = Write("wide.toml", R"(id = "wide"
[[statement]]
effect = "allow"
action = ["*"]
resource = ["*"]
)");
  RunResult r = Fnjail({"policy", "check", p});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, ContainsRegex("wide\\.toml:[0-9]+:[0-9]+: warning: "));
}

TEST_F(PolicyCommandTest, CheckMissingPathFails) {
  RunResult r = Fnjail({"policy", "check", (dir_ / "nope.toml").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("nope.toml"));
}

TEST_F(PolicyCommandTest, CheckAcceptsTheWholeAwsCorpus) {
  FNJAIL_REQUIRE_SHARED_CORPUS(corpus, "aws-managed-policies");
  RunResult r = Fnjail({"policy", "check", corpus.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err.substr(0, 4000);
  EXPECT_THAT(r.err, HasSubstr("1523 files checked, 0 errors"));
}

TEST_F(PolicyCommandTest, EvalPrintsOneDecisionPerRequest) {
  std::string allow = Write("allow.toml", kAllowHello);
  std::string deny = Write("deny.toml", kDenyAfterHours);
  std::string requests = Write("r.jsonl",
      R"({"principal":"alice","action":"function:Invoke","resource":"fn:hello","context":{"aws:SourceIp":"10.1.1.1"}}
{"principal":"alice","action":"function:Invoke","resource":"fn:hello","context":{"aws:SourceIp":"192.0.2.1"}}
{"principal":"alice","action":"function:Invoke","resource":"fn:other","context":{"aws:SourceIp":"10.1.1.1"}}
)");
  RunResult r = Fnjail({"policy", "eval", "--policies", allow, "--policies", deny,
                        "--requests", requests});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], nlohmann::json::parse(
      R"({"decision":"allow","reason":"explicit-allow","statements":[{"policy":"allow-hello","sid":"AllowHello"}]})"));
  EXPECT_EQ(lines[1], nlohmann::json::parse(
      R"({"decision":"deny","reason":"explicit-deny","statements":[{"policy":"deny-offsite","sid":"DenyOffsite"}]})"));
  EXPECT_EQ(lines[2], nlohmann::json::parse(
      R"({"decision":"deny","reason":"implicit-deny","statements":[]})"));
}

TEST_F(PolicyCommandTest, EvalReadsRequestFromStdin) {
  std::string allow = Write("allow.toml", kAllowHello);
  RunResult r = Fnjail({"policy", "eval", "--policies", allow, "--request", "-"},
                       R"({"principal":"a","action":"FUNCTION:invoke","resource":"fn:hello"})");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(JsonLines(r.out).at(0)["decision"], "allow");
}

TEST_F(PolicyCommandTest, EvalExplainSaysWhyEachStatementDidNotApply) {
  std::string allow = Write("allow.toml", kAllowHello);
  std::string deny = Write("deny.toml", kDenyAfterHours);
  std::string request = Write("r.json",
      R"({"principal":"alice","action":"function:Invoke","resource":"fn:other","context":{"aws:SourceIp":"10.1.1.1"}})");
  RunResult r = Fnjail({"policy", "eval", "--policies", allow, "--policies", deny, "--request",
                        request, "--explain"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json out = JsonLines(r.out).at(0);
  ASSERT_TRUE(out.contains("explain"));
  ASSERT_EQ(out["explain"].size(), 2u);
  for (const auto& entry : out["explain"]) {
    EXPECT_FALSE(entry["matched"].get<bool>());
    EXPECT_FALSE(entry["detail"].get<std::string>().empty());
  }
  std::string all = out["explain"].dump();
  EXPECT_THAT(all, HasSubstr("fn:other"));     // the resource that did not match
  EXPECT_THAT(all, HasSubstr("aws:SourceIp"));  // the condition key that did not hold
}

TEST_F(PolicyCommandTest, EvalBadRequestIsExitTwo) {
  std::string allow = Write("allow.toml", kAllowHello);
  std::string requests = Write("r.jsonl",
      "{\"principal\":\"a\",\"action\":\"function:Invoke\",\"resource\":\"fn:hello\"}\n"
      "{\"principal\":\"a\",\"action\":\n"
      "{\"principal\":\"a\",\"principal\":\"b\",\"action\":\"x:y\",\"resource\":\"r\"}\n");
  RunResult r = Fnjail({"policy", "eval", "--policies", allow, "--requests", requests});
  EXPECT_EQ(r.exit_code, 2);
  auto lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 3u);  // aligned with the input lines
  EXPECT_EQ(lines[0]["decision"], "allow");
  EXPECT_TRUE(lines[1].contains("error"));
  EXPECT_TRUE(lines[2].contains("error"));
  EXPECT_THAT(r.err, HasSubstr("r.jsonl:2"));
  EXPECT_THAT(r.err, HasSubstr("r.jsonl:3"));
}

TEST_F(PolicyCommandTest, EvalBadPolicyIsExitTwo) {
  std::string bad = Write("bad.toml", "id = \"x\"\n[[statement]]\neffect = \"allow\"\n");
  std::string request = Write("r.json", R"({"principal":"a","action":"x:y","resource":"r"})");
  RunResult r = Fnjail({"policy", "eval", "--policies", bad, "--request", request});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, ContainsRegex("bad\\.toml:[0-9]+:[0-9]+: error: "));
  EXPECT_EQ(r.out, "");
}

TEST_F(PolicyCommandTest, EvalBoundaryLimitsAllows) {
  std::string allow = Write("allow.toml", R"(id = "all-functions"
[[statement]]
effect = "allow"
action = ["function:Invoke"]
resource = ["fn:*"]
)");
  std::string boundary = Write("boundary.toml", R"(id = "public-only"
[[statement]]
sid = "PublicOnly"
effect = "allow"
action = ["function:Invoke"]
resource = ["fn:public-*"]
)");
  std::string requests = Write("r.jsonl",
      R"({"principal":"a","action":"function:Invoke","resource":"fn:public-status"}
{"principal":"a","action":"function:Invoke","resource":"fn:billing"}
)");
  RunResult r = Fnjail({"policy", "eval", "--policies", allow, "--boundary", boundary,
                        "--requests", requests});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["decision"], "allow");
  EXPECT_EQ(lines[1]["decision"], "deny");
  EXPECT_EQ(lines[1]["reason"], "implicit-deny");
}

TEST_F(PolicyCommandTest, TestRunsTheExampleSuite) {
  RunResult r = Fnjail({"policy", "test", kSource + "/examples/policy-tests"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, ContainsRegex("(^|\n)[0-9]+ passed, 0 failed\n$"));
}

TEST_F(PolicyCommandTest, TestReportsFailuresWithExpectedAndActual) {
  Write("allow.toml", kAllowHello);
  std::string suite = Write("s.test.toml", R"(policies = ["allow.toml"]

[[case]]
name = "hello is allowed"
principal = "alice"
action = "function:Invoke"
resource = "fn:hello"
expect = "allow"
reason = "explicit-allow"

[[case]]
name = "wrongly expected allow"
principal = "alice"
action = "function:Invoke"
resource = "fn:billing"
expect = "allow"
)");
  RunResult r = Fnjail({"policy", "test", suite});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, ContainsRegex("s\\.test\\.toml:11:[0-9]+: FAIL `wrongly expected allow`: "
                                   "expected allow, got deny \\(implicit-deny\\)"));
  EXPECT_THAT(r.out, Not(HasSubstr("hello is allowed")));
  EXPECT_THAT(r.out, ContainsRegex("\n1 passed, 1 failed\n$"));
}

TEST_F(PolicyCommandTest, TestBadSuiteIsExitTwo) {
  std::string suite = Write("s.test.toml", "policies = 3\n");
  RunResult r = Fnjail({"policy", "test", suite});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, ContainsRegex("s\\.test\\.toml:1:[0-9]+: error: "));
}

TEST_F(PolicyCommandTest, ImportIamKeepsTheMeaning) {
  std::string iam = Write("p.json", R"({
  "PolicyVersion": {
    "Document": {
      "Version": "2012-10-17",
      "Statement": [
        {"Sid": "Read", "Effect": "Allow", "Action": ["s3:Get*", "s3:List*"],
         "Resource": "arn:aws:s3:::bucket/${aws:username}/*",
         "Condition": {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]},
                       "Bool": {"aws:SecureTransport": true}}},
        {"Effect": "Deny", "NotAction": "s3:*", "Resource": "*"}
      ]
    },
    "VersionId": "v3",
    "IsDefaultVersion": true
  }
})");
  RunResult imported = Fnjail({"policy", "import-iam", iam});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  std::string toml = Write("p.toml", imported.out);
  RunResult check = Fnjail({"policy", "check", toml});
  EXPECT_EQ(check.exit_code, 0) << check.err << imported.out;

  std::string requests = Write("r.jsonl",
      R"({"principal":"a","action":"s3:GetObject","resource":"arn:aws:s3:::bucket/alice/x","context":{"aws:username":"alice","aws:SourceIp":"10.2.3.4","aws:SecureTransport":true}}
{"principal":"a","action":"s3:GetObject","resource":"arn:aws:s3:::bucket/bob/x","context":{"aws:username":"alice","aws:SourceIp":"10.2.3.4","aws:SecureTransport":true}}
{"principal":"a","action":"s3:ListBucket","resource":"arn:aws:s3:::bucket/alice/","context":{"aws:username":"alice","aws:SourceIp":"2001:db8::1","aws:SecureTransport":"true"}}
{"principal":"a","action":"s3:GetObject","resource":"arn:aws:s3:::bucket/alice/x","context":{"aws:username":"alice","aws:SourceIp":"192.0.2.1","aws:SecureTransport":true}}
{"principal":"a","action":"ec2:RunInstances","resource":"*","context":{}}
)");
  RunResult from_json = Fnjail({"policy", "eval", "--policies", iam, "--requests", requests});
  RunResult from_toml = Fnjail({"policy", "eval", "--policies", toml, "--requests", requests});
  ASSERT_EQ(from_json.exit_code, 0) << from_json.err;
  ASSERT_EQ(from_toml.exit_code, 0) << from_toml.err;
  auto a = JsonLines(from_json.out);
  auto b = JsonLines(from_toml.out);
  ASSERT_EQ(a.size(), 5u);
  ASSERT_EQ(b.size(), 5u);
  const char* expected[] = {"allow", "deny", "allow", "deny", "deny"};
  for (size_t i = 0; i < 5; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(a[i]["decision"], expected[i]);
    EXPECT_EQ(a[i]["decision"], b[i]["decision"]);
    EXPECT_EQ(a[i]["reason"], b[i]["reason"]);
  }
  EXPECT_EQ(a[4]["reason"], "explicit-deny");
}

TEST_F(PolicyCommandTest, ImportIamRejectsInvalidPolicy) {
  std::string iam = Write("p.json", R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
"Action":"s3:GetObject","Resource":"*","Condition":{"StringEqualz":{"a":"b"}}}]})");
  RunResult r = Fnjail({"policy", "import-iam", iam});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, ContainsRegex("p\\.json:2:[0-9]+: error: .*StringEqualz"));
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace fnjail
