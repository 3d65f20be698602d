// Runs every AWS StringLike / StringEquals vector of ../shared/corpus/iam-stringlike-vectors
// through a compiled policy set: each trust condition becomes an allow statement's
// conditions, each subject (and claim set) the request context.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "policy/policy.h"
#include "tests/policy/policy_builder.h"
#include "tests/testing/result_matchers.h"
#include "tests/testing/shared_corpus.h"

namespace fnjail::policy {
namespace {

using ::fnjail::policy::testing::Cond;
using ::fnjail::policy::testing::Doc;
using ::fnjail::policy::testing::Stmt;
using json = nlohmann::json;

// Adds the IAM conditions of one vector condition (`aws-stringlike`, `aws-stringequals`
// or `aws-all`, an AND of the others) to `stmt`.
void AddConditions(const json& cond, Stmt* stmt) {
  const std::string consumer = cond.at("consumer").get<std::string>();
  if (consumer == "aws-all") {
    for (const json& part : cond.at("of")) AddConditions(part, stmt);
    return;
  }
  ASSERT_TRUE(consumer == "aws-stringlike" || consumer == "aws-stringequals") << consumer;
  std::vector<std::string> values;
  const json& pattern = cond.at("pattern");
  if (pattern.is_array()) {
    for (const json& p : pattern) values.push_back(p.get<std::string>());
  } else {
    values.push_back(pattern.get<std::string>());
  }
  const std::string claim = cond.value("claim", std::string("sub"));
  stmt->When(Cond(consumer == "aws-stringlike" ? "StringLike" : "StringEquals", claim, values));
}

TEST(StringLikeVectorsTest, EveryVectorAgrees) {
  FNJAIL_REQUIRE_SHARED_CORPUS(dir, "iam-stringlike-vectors");
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() == ".json" && name.find("schema") == std::string::npos) {
      files.push_back(entry.path());
    }
  }
  ASSERT_FALSE(files.empty());
  size_t checked = 0;
  for (const auto& file : files) {
    std::ifstream in(file);
    std::stringstream buf;
    buf << in.rdbuf();
    const json suite = json::parse(buf.str());
    for (const json& v : suite.at("vectors")) {
      const std::string id = v.at("id").get<std::string>();
      SCOPED_TRACE(file.filename().string() + ": " + id);
      Stmt stmt(Effect::kAllow);
      stmt.Sid("Trust").Action({"sts:AssumeRoleWithWebIdentity"}).Resource({"*"});
      AddConditions(v.at("condition"), &stmt);
      auto set = PolicySet::Compile({Doc("trust", {stmt})});
      ASSERT_THAT(set, ::fnjail::testing::IsOk());

      Request request;
      request.principal = "oidc";
      request.action = "sts:AssumeRoleWithWebIdentity";
      request.resource = "arn:aws:iam::123456789012:role/ci";
      if (v.contains("claims")) {
        for (const auto& [claim, value] : v.at("claims").items()) {
          request.context[claim] = ContextValue{{value.get<std::string>()}, false};
        }
      } else {
        request.context["sub"] = ContextValue{{v.at("subject").get<std::string>()}, false};
      }
      const bool expect_match = v.at("expect").get<std::string>() == "match";
      Decision d = set->Decide(request);
      EXPECT_EQ(d.allowed, expect_match);
      EXPECT_TRUE(d.errors.empty());
      ++checked;
    }
  }
  EXPECT_EQ(checked, 68u);  // the corpus README's count
}

}  // namespace
}  // namespace fnjail::policy
