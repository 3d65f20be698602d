// Tests for policy/internal/index: the per-statement action matcher and the action index.
#include "policy/internal/index.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fnjail::policy::internal {
namespace {

std::vector<Glob> Globs(const std::vector<std::string>& patterns) {
  std::vector<Glob> out;
  for (const auto& p : patterns) out.push_back(Glob::Compile(p));
  return out;
}

std::vector<std::pair<uint32_t, bool>> Candidates(const ActionIndex& index, std::string_view action) {
  std::vector<std::pair<uint32_t, bool>> out;
  index.ForEachCandidate(action, [&](uint32_t id, bool known) { out.emplace_back(id, known); });
  return out;
}

TEST(ActionMatcherTest, ExactServiceAndLeadingWildcardPatterns) {
  ActionMatcher m = ActionMatcher::Build(
      Globs({"s3:getobject", "s3:list*", "ec2:describe?nstances", "*:tag*", "kms:decrypt"}));
  EXPECT_TRUE(m.Matches("s3:getobject"));
  EXPECT_TRUE(m.Matches("kms:decrypt"));
  EXPECT_TRUE(m.Matches("s3:listbucket"));
  EXPECT_TRUE(m.Matches("ec2:describeinstances"));
  EXPECT_TRUE(m.Matches("iam:tagrole"));
  EXPECT_FALSE(m.Matches("s3:putobject"));
  EXPECT_FALSE(m.Matches("s3express:listbucket"));
  EXPECT_FALSE(m.Matches("getobject"));
  EXPECT_FALSE(m.Matches(""));
}

TEST(ActionMatcherTest, MatchesWildcardsIgnoresExactPatterns) {
  ActionMatcher m = ActionMatcher::Build(Globs({"s3:getobject", "s3:list*", "*:tag*"}));
  EXPECT_FALSE(m.MatchesWildcards("s3:getobject"));
  EXPECT_TRUE(m.MatchesWildcards("s3:listbucket"));
  EXPECT_TRUE(m.MatchesWildcards("ec2:tagresource"));
}

TEST(ActionMatcherTest, LongListsStillMatchEveryEntry) {
  std::vector<std::string> patterns;
  for (int i = 0; i < 500; ++i) patterns.push_back("svc" + std::to_string(i % 7) + ":act" + std::to_string(i));
  patterns.push_back("svc3:wild*");
  ActionMatcher m = ActionMatcher::Build(Globs(patterns));
  for (int i = 0; i < 500; ++i) EXPECT_TRUE(m.Matches(patterns[i])) << patterns[i];
  EXPECT_TRUE(m.Matches("svc3:wildcard"));
  EXPECT_FALSE(m.Matches("svc4:wildcard"));
  EXPECT_FALSE(m.Matches("svc1:act500"));
}

TEST(ActionIndexTest, BucketsAndMergesCandidatesOncePerStatementInOrder) {
  ActionIndex index;
  index.Add(0, 0, 0, Globs({"s3:getobject", "s3:get*"}), false);  // exact and service
  index.Add(1, 0, 0, Globs({"s3:*"}), false);                      // service
  index.Add(2, 0, 0, Globs({"*"}), false);                         // always
  index.Add(3, 0, 0, Globs({"ec2:*"}), false);                     // other service
  index.Add(4, 0, 0, Globs({"iam:*"}), true);                      // NotAction: always
  index.Add(5, 0, 0, Globs({"s3:getobject"}), false);              // exact
  EXPECT_EQ(index.always_count(), 2u);
  using P = std::pair<uint32_t, bool>;
  EXPECT_THAT(Candidates(index, "s3:getobject"),
              ::testing::ElementsAre(P{0, true}, P{1, false}, P{2, false}, P{4, false}, P{5, true}));
  EXPECT_THAT(Candidates(index, "ec2:run"), ::testing::ElementsAre(P{2, false}, P{3, false}, P{4, false}));
  EXPECT_THAT(Candidates(index, "nocolon"), ::testing::ElementsAre(P{2, false}, P{4, false}));
}

TEST(ActionIndexTest, ListsAndPartitionsAreKeptApart) {
  ActionIndex index;
  index.Add(0, 0, 0, Globs({"fn:invoke"}), false);
  index.Add(1, 2, 0, Globs({"fn:*"}), false);
  index.Add(2, 1, 1, Globs({"fn:invoke"}), false);
  index.Add(3, 2, 1, Globs({"*"}), false);
  index.Add(4, 1, 0, Globs({"fn:invoke"}), false);
  using P = std::pair<uint32_t, bool>;
  auto collect = [&](size_t list, std::vector<uint32_t> partitions) {
    CandidateLists lists;
    index.Collect(index.Find("fn:invoke"), list, partitions.data(), partitions.size(), &lists);
    std::vector<P> out;
    MergeCandidates(lists, [&](uint32_t id, bool known) { out.emplace_back(id, known); });
    return out;
  };
  EXPECT_THAT(collect(0, {0}), ::testing::ElementsAre(P{0, true}));
  EXPECT_THAT(collect(0, {0, 1, 2}), ::testing::ElementsAre(P{0, true}, P{1, false}, P{4, true}));
  EXPECT_THAT(collect(0, {2, 1}), ::testing::ElementsAre(P{1, false}, P{4, true}));
  EXPECT_THAT(collect(1, {0, 1, 2}), ::testing::ElementsAre(P{2, true}, P{3, false}));
  EXPECT_THAT(collect(1, {0}), ::testing::IsEmpty());
}

TEST(ActionIndexTest, ManyListsOverflowTheInlineStorage) {
  ActionIndex index;
  std::vector<uint32_t> partitions;
  for (uint32_t p = 0; p < 40; ++p) {
    index.Add(p, p, 0, Globs({"fn:invoke", "fn:*", "*"}), false);
    partitions.push_back(p);
  }
  CandidateLists lists;
  index.Collect(index.Find("fn:invoke"), 0, partitions.data(), partitions.size(), &lists);
  EXPECT_EQ(lists.size(), 120u);
  std::vector<uint32_t> ids;
  MergeCandidates(lists, [&](uint32_t id, bool known) {
    EXPECT_TRUE(known);
    ids.push_back(id);
  });
  EXPECT_EQ(ids, partitions);
}

}  // namespace
}  // namespace fnjail::policy::internal
