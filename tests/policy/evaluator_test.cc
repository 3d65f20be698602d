// Tests for policy/evaluator.cc: the decision table, policy kinds, boundaries, fail-closed
// errors, the action index and --explain traces.
#include <algorithm>
#include <random>
#include <thread>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "policy/policy.h"
#include "tests/policy/policy_builder.h"
#include "tests/testing/result_matchers.h"
#include "tests/testing/shared_corpus.h"

namespace fnjail::policy {
namespace {

using ::fnjail::policy::testing::Cond;
using ::fnjail::policy::testing::Doc;
using ::fnjail::policy::testing::Multi;
using ::fnjail::policy::testing::Req;
using ::fnjail::policy::testing::Stmt;
using ::fnjail::policy::testing::V;
using ::fnjail::testing::HasError;
using ::fnjail::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr Effect kAllow = Effect::kAllow;
constexpr Effect kDeny = Effect::kDeny;

PolicySet MustCompile(std::vector<Document> docs) {
  auto set = PolicySet::Compile(std::move(docs));
  EXPECT_THAT(set, IsOk());
  return set ? *set : PolicySet();
}

std::vector<std::string> Names(const std::vector<StatementRef>& refs) {
  std::vector<std::string> out;
  for (const auto& r : refs) out.push_back(r.policy + "/" + r.sid);
  return out;
}

// Decides with and without explain and checks both agree, so every test also checks
// that the index never hides a statement from the fast path.
Decision Decide(const PolicySet& set, const Request& r) {
  Decision fast = set.Decide(r);
  Decision slow = set.Decide(r, DecideOptions{.explain = true});
  EXPECT_EQ(fast.allowed, slow.allowed);
  EXPECT_EQ(fast.reason, slow.reason);
  EXPECT_EQ(Names(fast.statements), Names(slow.statements));
  EXPECT_EQ(fast.errors.size(), slow.errors.size());
  EXPECT_TRUE(fast.trace.empty());
  EXPECT_EQ(slow.trace.size(), set.statement_count());
  return fast;
}

// --- Decision table ---------------------------------------------------------------------

TEST(EvaluatorTest, EmptySetDeniesImplicitly) {
  PolicySet set;
  Decision d = Decide(set, Req("alice", "function:Invoke", "fn:hello"));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, Reason::kImplicitDeny);
  EXPECT_THAT(d.statements, IsEmpty());
  EXPECT_EQ(set.document_count(), 0u);
}

TEST(EvaluatorTest, MatchingAllowIsExplicitAllowListingTheAllows) {
  PolicySet set = MustCompile({Doc("p", {
      Stmt(kAllow).Sid("Invoke").Action({"function:Invoke"}).Resource({"fn:*"}),
      Stmt(kAllow).Sid("All").Action({"function:*"}).Resource({"*"}),
      Stmt(kAllow).Sid("Other").Action({"function:Delete"}).Resource({"*"}),
  })});
  Decision d = Decide(set, Req("alice", "function:Invoke", "fn:hello"));
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.reason, Reason::kExplicitAllow);
  EXPECT_THAT(Names(d.statements), ElementsAre("p/Invoke", "p/All"));
}

TEST(EvaluatorTest, NoApplicableAllowIsImplicitDeny) {
  PolicySet set = MustCompile(
      {Doc("p", {Stmt(kAllow).Action({"function:Invoke"}).Resource({"fn:other"})})});
  Decision d = Decide(set, Req("alice", "function:Invoke", "fn:hello"));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, Reason::kImplicitDeny);
  EXPECT_THAT(d.statements, IsEmpty());
}

TEST(EvaluatorTest, ExplicitDenyOverridesAllowAndListsEveryMatchingDeny) {
  PolicySet set = MustCompile({
      Doc("allow", {Stmt(kAllow).Sid("A").Action({"*"}).Resource({"*"})}),
      Doc("guard", {Stmt(kDeny).Sid("D1").Action({"function:*"}).Resource({"fn:prod-*"}),
                    Stmt(kDeny).Sid("D2").Action({"*:Invoke"}).Resource({"*"}),
                    Stmt(kDeny).Sid("D3").Action({"function:Delete"}).Resource({"*"})}),
  });
  Decision d = Decide(set, Req("alice", "function:Invoke", "fn:prod-db"));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, Reason::kExplicitDeny);
  EXPECT_THAT(Names(d.statements), ElementsAre("guard/D1", "guard/D2"));
  EXPECT_TRUE(Decide(set, Req("alice", "function:List", "fn:dev-db")).allowed);
}

TEST(EvaluatorTest, StatementsWithoutSidAreNamedByIndex) {
  PolicySet set = MustCompile({Doc("p", {Stmt(kDeny).Action({"x:y"}).Resource({"*"}),
                                         Stmt(kAllow).Action({"x:*"}).Resource({"*"})})});
  EXPECT_THAT(Names(Decide(set, Req("a", "x:z", "r")).statements), ElementsAre("p/1"));
  EXPECT_THAT(Names(Decide(set, Req("a", "x:y", "r")).statements), ElementsAre("p/0"));
}

// --- Matching of elements -----------------------------------------------------------------

TEST(EvaluatorTest, ActionsAreCaseInsensitiveAndResourcesCaseSensitive) {
  PolicySet set = MustCompile(
      {Doc("p", {Stmt(kAllow).Action({"S3:GetObject*"}).Resource({"arn:aws:s3:::Bucket/*"})})});
  EXPECT_TRUE(Decide(set, Req("a", "s3:getobjectacl", "arn:aws:s3:::Bucket/k")).allowed);
  EXPECT_TRUE(Decide(set, Req("a", "S3:GETOBJECT", "arn:aws:s3:::Bucket/k")).allowed);
  EXPECT_FALSE(Decide(set, Req("a", "s3:GetObject", "arn:aws:s3:::bucket/k")).allowed);
}

TEST(EvaluatorTest, LongActionsAndManyContextKeysTakeTheSlowPathsCorrectly) {
  const std::string long_name(300, 'X');
  PolicySet set = MustCompile({Doc("p", {
      Stmt(kAllow).Sid("Long").Action({"svc:" + long_name}).Resource({"*"})
          .When(Cond("StringEquals", "key29", {"v"})),
  })});
  std::vector<std::pair<std::string, ContextValue>> ctx;
  for (int i = 0; i < 40; ++i) ctx.emplace_back("Key" + std::to_string(i), V("v"));
  const std::string lower = "SVC:" + std::string(300, 'x');
  EXPECT_TRUE(Decide(set, Req("a", lower, "r", ctx)).allowed);
  EXPECT_FALSE(Decide(set, Req("a", lower + "y", "r", ctx)).allowed);
  EXPECT_FALSE(Decide(set, Req("a", lower, "r")).allowed);
}

TEST(EvaluatorTest, QuestionMarkAndInnerWildcardsInActions) {
  PolicySet set = MustCompile({Doc("p", {
      Stmt(kAllow).Sid("Q").Action({"fn:Get?"}).Resource({"*"}),
      Stmt(kAllow).Sid("Inner").Action({"*:Describe*"}).Resource({"*"}),
  })});
  EXPECT_TRUE(Decide(set, Req("a", "fn:GetX", "r")).allowed);
  EXPECT_FALSE(Decide(set, Req("a", "fn:GetXY", "r")).allowed);
  EXPECT_TRUE(Decide(set, Req("a", "ec2:DescribeInstances", "r")).allowed);
}

TEST(EvaluatorTest, NotActionAppliesToEveryOtherAction) {
  PolicySet set = MustCompile({Doc("p", {
      Stmt(kAllow).Sid("A").Action({"*"}).Resource({"*"}),
      Stmt(kDeny).Sid("ExceptIam").NotAction({"iam:*", "sts:GetCallerIdentity"}).Resource({"*"}),
  })});
  EXPECT_FALSE(Decide(set, Req("a", "s3:GetObject", "r")).allowed);
  EXPECT_TRUE(Decide(set, Req("a", "iam:ListUsers", "r")).allowed);
  EXPECT_TRUE(Decide(set, Req("a", "STS:GetCallerIdentity", "r")).allowed);
}

TEST(EvaluatorTest, NotResourceAppliesToEveryOtherResource) {
  PolicySet set = MustCompile({Doc("p", {
      Stmt(kAllow).Sid("A").Action({"*"}).NotResource({"fn:admin-*"}),
  })});
  EXPECT_TRUE(Decide(set, Req("a", "function:Invoke", "fn:hello")).allowed);
  EXPECT_FALSE(Decide(set, Req("a", "function:Invoke", "fn:admin-x")).allowed);
}

TEST(EvaluatorTest, MissingResourceMeansEveryResource) {
  PolicySet set = MustCompile({Doc("p", {Stmt(kAllow).Action({"function:Invoke"})})});
  EXPECT_TRUE(Decide(set, Req("a", "function:Invoke", "fn:anything")).allowed);
}

TEST(EvaluatorTest, PrincipalAndNotPrincipalInIdentityStatements) {
  PolicySet set = MustCompile({Doc("p", {
      Stmt(kAllow).Sid("Alice").Principal({"alice"}).Action({"*"}).Resource({"*"}),
      Stmt(kDeny).Sid("NotAdmin").NotPrincipal({"admin", "alice"}).Action({"x:Drop"}).Resource({"*"}),
  })});
  EXPECT_TRUE(Decide(set, Req("alice", "x:Drop", "r")).allowed);
  EXPECT_FALSE(Decide(set, Req("bob", "x:Read", "r")).allowed);
  Decision d = Decide(set, Req("bob", "x:Drop", "r"));
  EXPECT_EQ(d.reason, Reason::kExplicitDeny);
}

// --- Policy kinds ---------------------------------------------------------------------------

TEST(EvaluatorTest, IdentityPoliciesApplyToAttachedPrincipalsAndGroups) {
  PolicySet set = MustCompile({
      Doc("devs", {Stmt(kAllow).Sid("S").Action({"function:Invoke"}).Resource({"*"})},
          PolicyKind::kIdentity, {"alice", "group:developers"}),
  });
  EXPECT_TRUE(Decide(set, Req("alice", "function:Invoke", "fn:x")).allowed);
  EXPECT_TRUE(Decide(set, Req("bob", "function:Invoke", "fn:x", {}, {"ops", "developers"})).allowed);
  EXPECT_FALSE(Decide(set, Req("bob", "function:Invoke", "fn:x", {}, {"ops"})).allowed);
  // A principal literally named like a group entry is not the group.
  EXPECT_FALSE(Decide(set, Req("developers", "function:Invoke", "fn:x")).allowed);
}

TEST(EvaluatorTest, DocumentAttachedTwiceToTheRequestIsListedOnce) {
  PolicySet set = MustCompile({
      Doc("both", {Stmt(kAllow).Sid("S").Action({"fn:*"}).Resource({"*"})}, PolicyKind::kIdentity,
          {"alice", "group:ops", "group:dev"}),
      Doc("other", {Stmt(kDeny).Sid("D").Action({"*"}).Resource({"*"})}, PolicyKind::kIdentity,
          {"mallory"}),
  });
  Decision d = Decide(set, Req("alice", "fn:Invoke", "fn:x", {}, {"ops", "dev", "ops"}));
  EXPECT_TRUE(d.allowed);
  EXPECT_THAT(Names(d.statements), ElementsAre("both/S"));
}

TEST(EvaluatorTest, PrincipalInManyGroupsSeesEveryGroupsPolicies) {
  // More groups than the decision keeps inline: the overflow paths must see them all.
  std::vector<Document> docs;
  std::vector<std::string> groups;
  for (int i = 0; i < 40; ++i) {
    const std::string g = "g" + std::to_string(i);
    groups.push_back(g);
    docs.push_back(Doc("p" + std::to_string(i),
                       {Stmt(i == 39 ? kDeny : kAllow).Sid("S").Action({"fn:Invoke", "fn:*"})
                            .Resource({"*"})},
                       PolicyKind::kIdentity, {"group:" + g}));
  }
  PolicySet set = MustCompile(std::move(docs));
  Decision all = Decide(set, Req("u", "fn:Invoke", "fn:x", {}, groups));
  EXPECT_EQ(all.reason, Reason::kExplicitDeny);
  groups.pop_back();
  Decision allows = Decide(set, Req("u", "fn:Invoke", "fn:x", {}, groups));
  EXPECT_TRUE(allows.allowed);
  EXPECT_EQ(allows.statements.size(), 39u);
}

TEST(EvaluatorTest, ResourcePoliciesApplyToAttachedResourcesAndNamePrincipals) {
  PolicySet set = MustCompile({
      Doc("hello-fn", {
          Stmt(kAllow).Sid("Alice").Principal({"alice"}).Action({"function:Invoke"}),
          Stmt(kAllow).Sid("NoPrincipal").Action({"function:List"}).Resource({"*"}),
          Stmt(kAllow).Sid("Anyone").Principal({"*"}).Action({"function:Describe"}),
      }, PolicyKind::kResource, {"fn:hello", "fn:hello-*"}),
  });
  EXPECT_TRUE(Decide(set, Req("alice", "function:Invoke", "fn:hello")).allowed);
  EXPECT_TRUE(Decide(set, Req("alice", "function:Invoke", "fn:hello-v2")).allowed);
  EXPECT_FALSE(Decide(set, Req("bob", "function:Invoke", "fn:hello")).allowed);
  EXPECT_FALSE(Decide(set, Req("alice", "function:Invoke", "fn:other")).allowed);
  // IAM requires a principal in a resource policy: without one the statement never applies.
  EXPECT_FALSE(Decide(set, Req("alice", "function:List", "fn:hello")).allowed);
  EXPECT_TRUE(Decide(set, Req("anyone", "function:Describe", "fn:hello")).allowed);
}

TEST(EvaluatorTest, IdentityOrResourceAllowIsEnough) {
  PolicySet set = MustCompile({
      Doc("id", {Stmt(kAllow).Sid("S").Action({"function:List"}).Resource({"*"})}),
      Doc("res", {Stmt(kAllow).Sid("S").Principal({"bob"}).Action({"function:Invoke"})},
          PolicyKind::kResource, {"fn:hello"}),
  });
  EXPECT_TRUE(Decide(set, Req("bob", "function:Invoke", "fn:hello")).allowed);
  EXPECT_TRUE(Decide(set, Req("bob", "function:List", "fn:hello")).allowed);
}

TEST(EvaluatorTest, BoundaryMustAlsoAllow) {
  PolicySet set = MustCompile({
      Doc("admin", {Stmt(kAllow).Sid("All").Action({"*"}).Resource({"*"})}),
      Doc("boundary", {Stmt(kAllow).Sid("OnlyInvoke").Action({"function:Invoke"}).Resource({"*"})},
          PolicyKind::kBoundary, {"alice"}),
  });
  Decision invoke = Decide(set, Req("alice", "function:Invoke", "fn:x"));
  EXPECT_TRUE(invoke.allowed);
  EXPECT_EQ(invoke.reason, Reason::kExplicitAllow);
  EXPECT_THAT(Names(invoke.statements), ElementsAre("admin/All", "boundary/OnlyInvoke"));

  Decision del = Decide(set, Req("alice", "function:Delete", "fn:x"));
  EXPECT_FALSE(del.allowed);
  EXPECT_EQ(del.reason, Reason::kImplicitDeny);
  EXPECT_THAT(del.statements, IsEmpty());

  // The boundary is attached to alice only: bob keeps the full grant.
  EXPECT_TRUE(Decide(set, Req("bob", "function:Delete", "fn:x")).allowed);
}

TEST(EvaluatorTest, BoundaryAloneGrantsNothing) {
  PolicySet set = MustCompile({Doc("boundary", {Stmt(kAllow).Action({"*"}).Resource({"*"})},
                                   PolicyKind::kBoundary)});
  Decision d = Decide(set, Req("alice", "function:Invoke", "fn:x"));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, Reason::kImplicitDeny);
}

TEST(EvaluatorTest, DenyInABoundaryIsAnExplicitDeny) {
  PolicySet set = MustCompile({
      Doc("admin", {Stmt(kAllow).Action({"*"}).Resource({"*"})}),
      Doc("boundary", {Stmt(kAllow).Sid("All").Action({"*"}).Resource({"*"}),
                       Stmt(kDeny).Sid("NoDelete").Action({"function:Delete"}).Resource({"*"})},
          PolicyKind::kBoundary, {"group:contractors"}),
  });
  Decision d = Decide(set, Req("carol", "function:Delete", "fn:x", {}, {"contractors"}));
  EXPECT_EQ(d.reason, Reason::kExplicitDeny);
  EXPECT_THAT(Names(d.statements), ElementsAre("boundary/NoDelete"));
}

TEST(EvaluatorTest, AnyApplicableBoundaryAllowing) {
  PolicySet set = MustCompile({
      Doc("admin", {Stmt(kAllow).Action({"*"}).Resource({"*"})}),
      Doc("b1", {Stmt(kAllow).Sid("S").Action({"a:*"}).Resource({"*"})}, PolicyKind::kBoundary),
      Doc("b2", {Stmt(kAllow).Sid("S").Action({"b:*"}).Resource({"*"})}, PolicyKind::kBoundary),
  });
  EXPECT_TRUE(Decide(set, Req("x", "a:Go", "r")).allowed);
  EXPECT_TRUE(Decide(set, Req("x", "b:Go", "r")).allowed);
  EXPECT_FALSE(Decide(set, Req("x", "c:Go", "r")).allowed);
}

// --- Conditions and fail-closed errors ---------------------------------------------------

TEST(EvaluatorTest, ConditionsAreAndedAcrossKeys) {
  PolicySet set = MustCompile({Doc("p", {
      Stmt(kAllow).Sid("S").Action({"*"}).Resource({"*"})
          .When(Cond("IpAddress", "aws:SourceIp", {"10.0.0.0/8"}))
          .When(Cond("Bool", "aws:SecureTransport", {"true"})),
  })});
  EXPECT_TRUE(Decide(set, Req("a", "x:y", "r",
                              {{"aws:SourceIp", V("10.1.1.1")}, {"aws:SecureTransport", V("true")}}))
                  .allowed);
  EXPECT_FALSE(Decide(set, Req("a", "x:y", "r",
                               {{"aws:SourceIp", V("10.1.1.1")}, {"aws:SecureTransport", V("false")}}))
                   .allowed);
  EXPECT_FALSE(Decide(set, Req("a", "x:y", "r", {{"aws:SourceIp", V("10.1.1.1")}})).allowed);
}

TEST(EvaluatorTest, KeyGivenTwiceInDifferentCaseIsAnErrorEvenWithoutValues) {
  // The key prefilter must not hide the ambiguity: Decide() checks fast and explained agree.
  PolicySet set = MustCompile({Doc("p", {
      Stmt(kAllow).Sid("S").NotAction({"ec2:*"}).NotResource({"fn:hello"})
          .When(Cond("StringEquals", "aws:username", {"alice"})),
  })});
  Decision d = Decide(set, Req("alice", "function:Invoke", "fn:other",
                               {{"AWS:UserName", Multi({})}, {"aws:username", Multi({})}}));
  EXPECT_FALSE(d.allowed);
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_THAT(d.errors[0].message, HasSubstr("given more than once"));
}

TEST(EvaluatorTest, ErroringDenyCountsAsMatched) {
  PolicySet set = MustCompile({
      Doc("allow", {Stmt(kAllow).Sid("A").Action({"*"}).Resource({"*"})}),
      Doc("guard", {Stmt(kDeny).Sid("OutsideNet").Action({"*"}).Resource({"*"})
                        .When(Cond("NotIpAddress", "aws:SourceIp", {"10.0.0.0/8"}))}),
  });
  Decision d = Decide(set, Req("a", "x:y", "r", {{"aws:SourceIp", V("not-an-ip")}}));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, Reason::kExplicitDeny);
  EXPECT_THAT(Names(d.statements), ElementsAre("guard/OutsideNet"));
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(d.errors[0].statement.sid, "OutsideNet");
  EXPECT_THAT(d.errors[0].message, HasSubstr("`not-an-ip` is not an IP address"));
  EXPECT_TRUE(Decide(set, Req("a", "x:y", "r", {{"aws:SourceIp", V("10.0.0.9")}})).allowed);
}

TEST(EvaluatorTest, ErroringAllowDoesNotCountAndForcesDeny) {
  PolicySet set = MustCompile({Doc("p", {
      Stmt(kAllow).Sid("Plain").Action({"*"}).Resource({"*"}),
      Stmt(kAllow).Sid("Small").Action({"*"}).Resource({"*"})
          .When(Cond("NumericLessThan", "size", {"100"})),
  })});
  Decision d = Decide(set, Req("a", "x:y", "r", {{"size", V("huge")}}));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, Reason::kImplicitDeny);
  EXPECT_THAT(d.statements, IsEmpty());
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(d.errors[0].statement.sid, "Small");
  EXPECT_TRUE(Decide(set, Req("a", "x:y", "r", {{"size", V("5")}})).allowed);
  EXPECT_TRUE(Decide(set, Req("a", "x:y", "r")).allowed);  // key absent: no error
}

TEST(EvaluatorTest, FalseConditionOutweighsAnErrorInTheSameStatement) {
  // The statement cannot match whatever the erroring condition would have said.
  PolicySet set = MustCompile({Doc("p", {
      Stmt(kAllow).Sid("A").Action({"*"}).Resource({"*"}),
      Stmt(kDeny).Sid("D").Action({"*"}).Resource({"*"})
          .When(Cond("NumericLessThan", "n", {"1"}))
          .When(Cond("StringEquals", "env", {"prod"})),
  })});
  Decision d = Decide(set, Req("a", "x:y", "r", {{"n", V("oops")}, {"env", V("dev")}}));
  EXPECT_TRUE(d.allowed);
  EXPECT_THAT(d.errors, IsEmpty());
}

TEST(EvaluatorTest, ErroringBoundaryAllowForcesDeny) {
  PolicySet set = MustCompile({
      Doc("admin", {Stmt(kAllow).Action({"*"}).Resource({"*"})}),
      Doc("boundary", {Stmt(kAllow).Sid("B").Action({"*"}).Resource({"*"})
                           .When(Cond("DateLessThan", "aws:CurrentTime", {"2030-01-01"}))},
          PolicyKind::kBoundary),
  });
  Decision d = Decide(set, Req("a", "x:y", "r", {{"aws:CurrentTime", V("soon")}}));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.errors.size(), 1u);
  EXPECT_TRUE(
      Decide(set, Req("a", "x:y", "r", {{"aws:CurrentTime", V("2026-11-27T09:00:00Z")}})).allowed);
}

// --- Policy variables in resources --------------------------------------------------------

TEST(EvaluatorTest, ResourceVariablesResolveFromContext) {
  PolicySet set = MustCompile({Doc("home", {
      Stmt(kAllow).Sid("Own").Action({"fn:*"}).Resource({"fn:home/${aws:username}/*"}),
  })});
  auto ctx = [](std::string user) {
    return std::vector<std::pair<std::string, ContextValue>>{{"AWS:UserName", V(std::move(user))}};
  };
  EXPECT_TRUE(Decide(set, Req("alice", "fn:Invoke", "fn:home/alice/x", ctx("alice"))).allowed);
  EXPECT_FALSE(Decide(set, Req("alice", "fn:Invoke", "fn:home/bob/x", ctx("alice"))).allowed);
  // A value holding wildcards is literal, not a pattern.
  EXPECT_FALSE(Decide(set, Req("eve", "fn:Invoke", "fn:home/bob/x", ctx("*"))).allowed);
}

TEST(EvaluatorTest, UnresolvedVariableInResourceMatchesNothing) {
  PolicySet set = MustCompile({Doc("home", {
      Stmt(kAllow).Sid("Own").Action({"fn:*"}).Resource({"fn:home/${aws:username}/*", "fn:pub"}),
      Stmt(kDeny).Sid("Guard").Action({"fn:*"}).Resource({"fn:home/${aws:username}/secret"}),
  })});
  Decision d = Decide(set, Req("alice", "fn:Invoke", "fn:home/alice/x"));
  EXPECT_FALSE(d.allowed);
  EXPECT_THAT(d.errors, IsEmpty());
  EXPECT_TRUE(Decide(set, Req("alice", "fn:Invoke", "fn:pub")).allowed);
}

TEST(EvaluatorTest, UnresolvedVariableInNotResourceIsAnError) {
  PolicySet set = MustCompile({Doc("p", {
      Stmt(kAllow).Sid("A").Action({"*"}).Resource({"*"}),
      Stmt(kDeny).Sid("OthersHomes").Action({"*"}).NotResource({"fn:home/${aws:username}/*"}),
  })});
  Decision d = Decide(set, Req("alice", "fn:Invoke", "fn:home/alice/x"));
  EXPECT_EQ(d.reason, Reason::kExplicitDeny);
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_THAT(d.errors[0].message, HasSubstr("`${aws:username}` in `not_resource` has no value"));
  EXPECT_TRUE(Decide(set, Req("alice", "fn:Invoke", "fn:home/alice/x",
                              {{"aws:username", V("alice")}}))
                  .allowed);
}

TEST(EvaluatorTest, UnresolvedVariableInAllowConditionForcesDeny) {
  PolicySet set = MustCompile({Doc("p", {
      Stmt(kAllow).Sid("A").Action({"*"}).Resource({"*"}),
      Stmt(kAllow).Sid("Team").Action({"*"}).Resource({"*"})
          .When(Cond("StringEquals", "aws:ResourceTag/team", {"${aws:PrincipalTag/team}"})),
  })});
  Decision d = Decide(set, Req("a", "x:y", "r", {{"aws:ResourceTag/team", V("blue")}}));
  EXPECT_FALSE(d.allowed);
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_THAT(d.errors[0].message, HasSubstr("`${aws:PrincipalTag/team}` has no value"));
}

// --- Compile ---------------------------------------------------------------------------------

TEST(EvaluatorTest, CompileRejectsDuplicateIds) {
  auto set = PolicySet::Compile({Doc("p", {Stmt(kAllow).Action({"*"})}),
                                 Doc("p", {Stmt(kAllow).Action({"*"})})});
  EXPECT_THAT(set, HasError("duplicate policy id `p`"));
}

TEST(EvaluatorTest, CompileReportsEveryBadValueWithItsSpan) {
  Statement st = Stmt(kAllow).Action({"*"}).Resource({"*"})
                     .When(Cond("IpAddress", "aws:SourceIp", {"10.0.0.0/40"}))
                     .When(Cond("NumericLessThan", "n", {"x"}));
  const SourceSpan bad_ip = st.conditions[0].values[0].span;
  auto set = PolicySet::Compile({Doc("p", {st})});
  ASSERT_FALSE(set.has_value());
  ASSERT_EQ(set.error().size(), 2u);
  EXPECT_EQ(set.error().entries()[0].span.line, bad_ip.line);
  EXPECT_THAT(set.error().ToString(), HasSubstr("`10.0.0.0/40` is not an IP address"));
  EXPECT_THAT(set.error().ToString(), HasSubstr("`x` is not a number"));
}

TEST(EvaluatorTest, CompileRejectsStatementsWithoutActionAndEmptyElements) {
  EXPECT_THAT(PolicySet::Compile({Doc("p", {Stmt(kAllow).Resource({"*"})})}),
              HasError("has neither `action` nor `not_action`"));
  EXPECT_THAT(PolicySet::Compile({Doc("p", {Stmt(kAllow).NotAction({})})}),
              HasError("has an empty `not_action`"));
  EXPECT_THAT(PolicySet::Compile({Doc("p", {Stmt(kAllow).Action({"*"}).Resource({"a${b"})})}),
              HasError("unterminated policy variable"));
}

TEST(EvaluatorTest, CountsAndCheapCopies) {
  PolicySet set = MustCompile({Doc("a", {Stmt(kAllow).Action({"*"}), Stmt(kDeny).Action({"x:*"})}),
                               Doc("b", {Stmt(kAllow).Action({"y:*"})})});
  EXPECT_EQ(set.document_count(), 2u);
  EXPECT_EQ(set.statement_count(), 3u);
  PolicySet copy = set;
  EXPECT_EQ(copy.statement_count(), 3u);
  EXPECT_TRUE(copy.Decide(Req("p", "y:z", "r")).allowed);
}

TEST(EvaluatorTest, DecideIsNoexceptAndSafeToShareAcrossThreads) {
  static_assert(noexcept(std::declval<const PolicySet&>().Decide(std::declval<const Request&>())));
  PolicySet set = MustCompile({Doc("p", {
      Stmt(kAllow).Sid("A").Action({"fn:*"}).Resource({"fn:home/${aws:username}/*"})
          .When(Cond("IpAddress", "aws:SourceIp", {"10.0.0.0/8"})),
      Stmt(kDeny).Sid("D").Action({"fn:Delete"}).Resource({"*"}),
  })});
  std::vector<Request> requests;
  for (int i = 0; i < 16; ++i) {
    const std::string user = "u" + std::to_string(i % 4);
    requests.push_back(Req(user, i % 3 == 0 ? "fn:Delete" : "fn:Invoke",
                           "fn:home/u" + std::to_string(i % 5) + "/x",
                           {{"aws:username", V(user)}, {"aws:SourceIp", V(i % 2 ? "10.0.0.1" : "8.8.8.8")}}));
  }
  std::vector<bool> expected;
  for (const Request& r : requests) expected.push_back(set.Decide(r).allowed);
  EXPECT_GT(std::count(expected.begin(), expected.end(), true), 0);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      PolicySet copy = set;  // copies share the compiled state
      for (int round = 0; round < 500; ++round) {
        for (size_t i = 0; i < requests.size(); ++i) {
          if (copy.Decide(requests[i]).allowed != expected[i]) ++mismatches[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_THAT(mismatches, ::testing::Each(0));
}

TEST(EvaluatorTest, ReasonNames) {
  EXPECT_EQ(ReasonName(Reason::kExplicitAllow), "explicit-allow");
  EXPECT_EQ(ReasonName(Reason::kExplicitDeny), "explicit-deny");
  EXPECT_EQ(ReasonName(Reason::kImplicitDeny), "implicit-deny");
}

// --- Explain -----------------------------------------------------------------------------

TEST(EvaluatorTest, ExplainTracesEveryStatementWithTheReason) {
  PolicySet set = MustCompile({
      Doc("p", {
          Stmt(kAllow).Sid("Match").Action({"function:Invoke"}).Resource({"fn:*"}),
          Stmt(kAllow).Sid("WrongAction").Action({"function:Delete"}).Resource({"*"}),
          Stmt(kAllow).Sid("WrongResource").Action({"*"}).Resource({"fn:other"}),
          Stmt(kAllow).Sid("Cond").Action({"*"}).Resource({"*"})
              .When(Cond("StringEquals", "env", {"prod"})),
          Stmt(kDeny).Sid("NotMe").NotPrincipal({"alice"}).Action({"*"}),
      }),
      Doc("bobs", {Stmt(kAllow).Sid("S").Action({"*"})}, PolicyKind::kIdentity, {"bob"}),
      Doc("res", {Stmt(kAllow).Sid("R").Action({"*"})}, PolicyKind::kResource, {"fn:hello"}),
  });
  Decision d = set.Decide(Req("alice", "function:Invoke", "fn:x"), DecideOptions{.explain = true});
  EXPECT_TRUE(d.allowed);
  ASSERT_EQ(d.trace.size(), 7u);
  auto detail = [&](size_t i) { return d.trace[i].detail; };
  EXPECT_TRUE(d.trace[0].matched);
  EXPECT_EQ(detail(0), "matched");
  EXPECT_EQ(d.trace[0].kind, PolicyKind::kIdentity);
  EXPECT_EQ(d.trace[0].effect, Effect::kAllow);
  EXPECT_EQ(detail(1), "action `function:Invoke` not in `action`");
  EXPECT_EQ(detail(2), "resource `fn:x` not in `resource`");
  EXPECT_EQ(detail(3), "condition `StringEquals` on `env` is false (key absent)");
  EXPECT_EQ(detail(4), "principal `alice` is in `not_principal`");
  EXPECT_EQ(detail(5),
            "identity policy `bobs` is not attached to principal `alice` or its groups");
  EXPECT_EQ(detail(6), "resource policy `res` is not attached to resource `fn:x`");
  for (size_t i = 1; i < d.trace.size(); ++i) EXPECT_FALSE(d.trace[i].matched) << i;
}

TEST(EvaluatorTest, ExplainMarksErrors) {
  PolicySet set = MustCompile({Doc("p", {
      Stmt(kDeny).Sid("D").Action({"*"}).When(Cond("IpAddress", "ip", {"10.0.0.0/8"})),
  })});
  Decision d = set.Decide(Req("a", "x:y", "r", {{"ip", V("nope")}}), DecideOptions{.explain = true});
  ASSERT_EQ(d.trace.size(), 1u);
  EXPECT_TRUE(d.trace[0].matched);
  EXPECT_THAT(d.trace[0].detail, HasSubstr("error: condition `IpAddress` on `ip`"));
  EXPECT_THAT(d.trace[0].detail, HasSubstr("an erroring deny counts as matched"));
}

// --- Index ---------------------------------------------------------------------------------

// Random sets mixing exact, service-wildcard, leading-wildcard and NotAction statements:
// the indexed fast path must decide exactly like the full scan of --explain.
TEST(EvaluatorTest, IndexedDecisionsEqualFullScan) {
  const std::vector<std::string> patterns = {
      "s3:GetObject", "s3:Get*", "s3:*", "*", "*:Get*", "ec2:Describe?nstances", "ec2:*",
      "S3:PUTOBJECT", "iam:PassRole", "s3*:List*", "fn:Invoke", "f?:Invoke", "lambda"};
  const std::vector<std::string> actions = {
      "s3:GetObject", "s3:PutObject", "s3:ListBucket", "ec2:DescribeInstances", "iam:PassRole",
      "fn:Invoke", "lambda", "s3express:ListAll", "x:y", ""};
  std::mt19937 rng(1234);
  for (int round = 0; round < 20; ++round) {
    std::vector<Statement> stmts;
    const int n = 5 + static_cast<int>(rng() % 30);
    for (int i = 0; i < n; ++i) {
      std::vector<std::string> acts;
      const int k = 1 + static_cast<int>(rng() % 3);
      for (int j = 0; j < k; ++j) acts.push_back(patterns[rng() % patterns.size()]);
      Stmt s(rng() % 4 == 0 ? kDeny : kAllow);
      s.Sid("S" + std::to_string(i)).Resource({rng() % 3 == 0 ? "res-*" : "*"});
      if (rng() % 5 == 0) {
        s.NotAction(acts);
      } else {
        s.Action(acts);
      }
      stmts.push_back(s);
    }
    PolicySet set = MustCompile({Doc("p", stmts)});
    for (const auto& a : actions) {
      Decide(set, Req("p", a, "res-1"));
      Decide(set, Req("p", a, "other"));
    }
  }
}

// --- The AWS managed policy corpus ---------------------------------------------------------

// All 1,523 AWS managed policies compile into one set, and for requests built from their
// own actions the indexed decision equals the full scan.
TEST(EvaluatorTest, AwsManagedCorpusCompilesAndIndexAgreesWithFullScan) {
  FNJAIL_REQUIRE_SHARED_CORPUS(dir, "aws-managed-policies");
  auto paths = ExpandPaths({dir.string()});
  ASSERT_THAT(paths, IsOk());
  std::vector<Document> docs;
  for (const std::string& path : *paths) {
    auto doc = LoadFile(path);
    ASSERT_THAT(doc, IsOk()) << path;
    docs.push_back(std::move(*doc));
  }
  std::vector<std::string> actions;
  for (const Document& doc : docs) {
    for (const Statement& st : doc.statements) {
      if (!st.action || actions.size() >= 60 || doc.statements.size() < 2) continue;
      std::string a = st.action->values.front().text;
      std::replace(a.begin(), a.end(), '?', 'x');
      if (size_t star = a.find('*'); star != std::string::npos) a.replace(star, 1, "Thing");
      actions.push_back(a);
    }
  }
  // Without the documents holding a deny, the grants show; with them (AWSDenyAll denies
  // everything) every decision is an explicit deny.
  std::vector<Document> grants_only;
  for (const Document& doc : docs) {
    if (std::none_of(doc.statements.begin(), doc.statements.end(),
                     [](const Statement& st) { return st.effect == Effect::kDeny; })) {
      grants_only.push_back(doc);
    }
  }
  PolicySet all = MustCompile(std::move(docs));
  EXPECT_EQ(all.document_count(), 1523u);
  EXPECT_EQ(all.statement_count(), 7972u);
  PolicySet grants = MustCompile(std::move(grants_only));
  size_t allowed = 0;
  for (const std::string& a : actions) {
    Request r = Req("arn:aws:iam::123456789012:user/alice", a, "arn:aws:s3:::bucket/key",
                    {{"aws:PrincipalAccount", V("123456789012")},
                     {"aws:SecureTransport", V("true")},
                     {"aws:TagKeys", Multi({"Env"})}});
    allowed += Decide(grants, r).allowed ? 1 : 0;
    Decision d = Decide(all, r);
    EXPECT_EQ(d.reason, Reason::kExplicitDeny) << a;
    EXPECT_THAT(Names(d.statements), ::testing::Contains(HasSubstr("AWSDenyAll/"))) << a;
  }
  // Managed policies grant most of their own actions; not all (conditions, resources).
  EXPECT_GT(allowed, actions.size() / 2);
}

}  // namespace
}  // namespace fnjail::policy
