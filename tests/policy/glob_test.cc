// Tests for policy/internal/glob: `*` and `?` wildcards, literal pieces, splitting.
#include "policy/internal/glob.h"

#include <random>
#include <string>

#include <gtest/gtest.h>

namespace fnjail::policy::internal {
namespace {

TEST(GlobTest, LiteralMatchesExactlyAndCaseSensitively) {
  Glob g = Glob::Compile("fn:hello");
  EXPECT_TRUE(g.IsLiteral());
  EXPECT_TRUE(g.Matches("fn:hello"));
  EXPECT_FALSE(g.Matches("fn:Hello"));
  EXPECT_FALSE(g.Matches("fn:hello2"));
  EXPECT_FALSE(g.Matches("fn:hell"));
  EXPECT_FALSE(g.Matches(""));
}

TEST(GlobTest, StarAloneMatchesEverythingIncludingEmpty) {
  Glob g = Glob::Compile("*");
  EXPECT_TRUE(g.MatchesEverything());
  EXPECT_TRUE(g.Matches(""));
  EXPECT_TRUE(g.Matches("arn:aws:s3:::bucket/key"));
  EXPECT_TRUE(Glob::Compile("***").MatchesEverything());
}

TEST(GlobTest, StarSpansColonsAndSlashes) {
  Glob g = Glob::Compile("arn:aws:s3:::bucket/*");
  EXPECT_TRUE(g.Matches("arn:aws:s3:::bucket/"));
  EXPECT_TRUE(g.Matches("arn:aws:s3:::bucket/a/b:c"));
  EXPECT_FALSE(g.Matches("arn:aws:s3:::bucket"));
  EXPECT_TRUE(Glob::Compile("arn:*:key").Matches("arn:aws:s3:us:1:key"));
}

TEST(GlobTest, QuestionMarkMatchesExactlyOneCharacter) {
  Glob g = Glob::Compile("s3:Get?bject");
  EXPECT_TRUE(g.Matches("s3:GetObject"));
  EXPECT_TRUE(g.Matches("s3:Get/bject"));
  EXPECT_FALSE(g.Matches("s3:Getbject"));
  EXPECT_FALSE(g.Matches("s3:GetOObject"));
  EXPECT_TRUE(Glob::Compile("???").Matches("abc"));
  EXPECT_FALSE(Glob::Compile("???").Matches("ab"));
}

TEST(GlobTest, PrefixPatterns) {
  Glob g = Glob::Compile("s3:Get*");
  EXPECT_EQ(g.LiteralPrefix(), "s3:Get");
  EXPECT_TRUE(g.Matches("s3:Get"));
  EXPECT_TRUE(g.Matches("s3:GetObject"));
  EXPECT_FALSE(g.Matches("s3:PutObject"));
  EXPECT_FALSE(g.Matches("s3:Ge"));
}

TEST(GlobTest, InnerAndLeadingStarsBacktrack) {
  Glob g = Glob::Compile("*a*b?c*");
  EXPECT_TRUE(g.Matches("abxc"));
  EXPECT_TRUE(g.Matches("xxaxxbbbcyy"));
  EXPECT_FALSE(g.Matches("acb"));
  EXPECT_TRUE(Glob::Compile("*Describe*").Matches("ec2:DescribeInstances"));
  EXPECT_TRUE(Glob::Compile("a*a*a").Matches("aaaa"));
  EXPECT_FALSE(Glob::Compile("a*a*a").Matches("aa"));
  EXPECT_TRUE(Glob::Compile("*.txt").Matches("x.txt.txt"));
  EXPECT_FALSE(Glob::Compile("*.txt").Matches("x.txt.tx"));
}

TEST(GlobTest, PathologicalPatternStaysFast) {
  std::string text(4000, 'a');
  Glob g = Glob::Compile("*a*a*a*a*a*a*a*a*b");
  EXPECT_FALSE(g.Matches(text));
  text.back() = 'b';
  EXPECT_TRUE(g.Matches(text));
}

TEST(GlobTest, LiteralPiecesKeepWildcardCharactersLiteral) {
  Glob g = Glob::Compile("home/");
  g.AppendLiteral("a*b?");
  g.AppendPattern("/*");
  EXPECT_TRUE(g.Matches("home/a*b?/x"));
  EXPECT_FALSE(g.Matches("home/aXXbc/x"));
  EXPECT_EQ(g.ToString(), "home/a${*}b${?}/*");
}

TEST(GlobTest, SplitOnLiteralSeparatorsOnly) {
  Glob g = Glob::Compile("arn:aws:logs:*:123:log-group:x:*");
  std::vector<Glob> parts = g.Split(':', 6);
  ASSERT_EQ(parts.size(), 6u);
  EXPECT_TRUE(parts[0].Matches("arn"));
  EXPECT_TRUE(parts[3].MatchesEverything());
  EXPECT_TRUE(parts[5].Matches("log-group:x:stream"));
  EXPECT_FALSE(parts[5].Matches("log-group:y:stream"));
  EXPECT_EQ(Glob::Compile("no-colons").Split(':', 6).size(), 1u);
}

// A plain recursive matcher, obviously right, to check the fast paths against.
bool ReferenceMatch(std::string_view p, std::string_view t) {
  if (p.empty()) return t.empty();
  if (p[0] == '*') return ReferenceMatch(p.substr(1), t) || (!t.empty() && ReferenceMatch(p, t.substr(1)));
  if (t.empty()) return false;
  return (p[0] == '?' || p[0] == t[0]) && ReferenceMatch(p.substr(1), t.substr(1));
}

TEST(GlobTest, AgreesWithReferenceMatcherOnRandomInputs) {
  std::mt19937 rng(42);
  const std::string pattern_chars = "ab**?";
  for (int i = 0; i < 20000; ++i) {
    std::string p;
    std::string t;
    const size_t plen = rng() % 7;
    const size_t tlen = rng() % 9;
    for (size_t j = 0; j < plen; ++j) p += pattern_chars[rng() % pattern_chars.size()];
    for (size_t j = 0; j < tlen; ++j) t += "ab"[rng() % 2];
    ASSERT_EQ(Glob::Compile(p).Matches(t), ReferenceMatch(p, t)) << "pattern `" << p << "` text `" << t << "`";
  }
}

TEST(GlobTest, StarOnlyPatternsMatchSegmentBySegment) {
  EXPECT_TRUE(Glob::Compile("*:describe*").Matches("ec2:describeinstances"));
  EXPECT_FALSE(Glob::Compile("*:describe*").Matches("ec2:listinstances"));
  EXPECT_TRUE(Glob::Compile("arn:*:key/*").Matches("arn:aws:kms:us:1:key/k"));
  EXPECT_FALSE(Glob::Compile("ab*ba").Matches("aba"));
  EXPECT_TRUE(Glob::Compile("ab*ba").Matches("abba"));
  EXPECT_TRUE(Glob::Compile("*x*y*z").Matches("xxyyzz"));
  EXPECT_FALSE(Glob::Compile("*x*y*z").Matches("zyx"));
}

TEST(GlobTest, AsciiHelpers) {
  EXPECT_EQ(ToLowerAscii("S3:GetObject"), "s3:getobject");
  EXPECT_TRUE(EqualsIgnoreCaseAscii("aws:SourceIp", "AWS:SOURCEIP"));
  EXPECT_FALSE(EqualsIgnoreCaseAscii("aws:SourceIp", "aws:SourceIps"));
}

}  // namespace
}  // namespace fnjail::policy::internal
