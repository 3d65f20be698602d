// Tests for policy/internal/variables: `${...}` parsing, defaults, escapes, context lookup.
#include "policy/internal/variables.h"

#include <map>
#include <string>

#include <gtest/gtest.h>

namespace fnjail::policy::internal {
namespace {

std::map<std::string, ContextValue> Ctx(
    std::initializer_list<std::pair<const std::string, ContextValue>> entries) {
  return std::map<std::string, ContextValue>(entries);
}

ContextValue One(std::string v) { return ContextValue{{std::move(v)}, false}; }

std::string Resolve(std::string_view text, const std::map<std::string, ContextValue>& ctx,
                    std::string* missing = nullptr) {
  auto t = Template::Parse(text);
  EXPECT_TRUE(t.has_value()) << t.error();
  std::string out;
  std::string miss;
  if (!t->ResolveString(ContextView(ctx), &out, &miss)) {
    if (missing != nullptr) *missing = miss;
    return "<unresolved>";
  }
  return out;
}

TEST(ContextViewTest, LookupIsCaseInsensitive) {
  auto ctx = Ctx({{"AWS:SourceIp", One("10.0.0.1")}});
  ContextView view(ctx);
  auto found = view.Find("aws:sourceip");
  ASSERT_NE(found.value, nullptr);
  EXPECT_EQ(found.value->values.front(), "10.0.0.1");
  EXPECT_EQ(view.Find("aws:sourceips").value, nullptr);
}

TEST(ContextViewTest, SameKeyInTwoSpellingsIsAmbiguous) {
  auto ctx = Ctx({{"aws:SourceIp", One("10.0.0.1")}, {"AWS:SOURCEIP", One("8.8.8.8")}});
  EXPECT_TRUE(ContextView(ctx).Find("aws:sourceip").ambiguous);
}

TEST(ContextViewTest, KeyBitsNeverMissAPresentKey) {
  std::map<std::string, ContextValue> ctx;
  for (int i = 0; i < 30; ++i) ctx["Aws:Key/" + std::to_string(i)] = One("v");
  ContextView view(ctx);  // more keys than the flat array holds
  for (int i = 0; i < 30; ++i) {
    const std::string lower = "aws:key/" + std::to_string(i);
    EXPECT_EQ(ContextView::KeyBit(lower), ContextView::KeyBit("AWS:KEY/" + std::to_string(i)));
    EXPECT_TRUE(view.MayHave(ContextView::KeyBit(lower))) << lower;
    EXPECT_NE(view.Find(lower).value, nullptr) << lower;
  }
  EXPECT_EQ(ContextView::KeyBit(""), ContextView::KeyBit(""));
}

TEST(TemplateTest, PlainTextHasNoVariables) {
  auto t = Template::Parse("arn:aws:ssm:*:*:automation-definition/x:$DEFAULT");
  ASSERT_TRUE(t.has_value());
  EXPECT_FALSE(t->HasVariables());
  EXPECT_EQ(t->StaticString(), "arn:aws:ssm:*:*:automation-definition/x:$DEFAULT");
}

TEST(TemplateTest, SubstitutesKeysCaseInsensitively) {
  auto ctx = Ctx({{"aws:username", One("alice")}});
  EXPECT_EQ(Resolve("home/${aws:username}/*", ctx), "home/alice/*");
  EXPECT_EQ(Resolve("home/${AWS:UserName}", ctx), "home/alice");
  EXPECT_EQ(Resolve("${ aws:username }", ctx), "alice");
}

TEST(TemplateTest, MissingKeyIsUnresolvedAndNamed) {
  std::string missing;
  EXPECT_EQ(Resolve("home/${aws:PrincipalTag/team}", {}, &missing), "<unresolved>");
  EXPECT_EQ(missing, "aws:PrincipalTag/team");
}

TEST(TemplateTest, DefaultsApplyOnlyWhenTheKeyIsMissing) {
  auto ctx = Ctx({{"aws:username", One("bob")}});
  EXPECT_EQ(Resolve("${aws:username, 'nobody'}", ctx), "bob");
  EXPECT_EQ(Resolve("${aws:PrincipalTag/team, 'none'}", ctx), "none");
  EXPECT_EQ(Resolve("${x,'it''s'}", ctx), "it's");
  EXPECT_EQ(Resolve("${x, ''}", ctx), "");
}

TEST(TemplateTest, MultivaluedKeysCannotBeSubstituted) {
  auto ctx = Ctx({{"aws:TagKeys", ContextValue{{"a", "b"}, true}},
                  {"single", ContextValue{{"a"}, true}}});
  EXPECT_EQ(Resolve("${aws:TagKeys}", ctx), "<unresolved>");
  EXPECT_EQ(Resolve("${single}", ctx), "<unresolved>");
  EXPECT_EQ(Resolve("${aws:TagKeys, 'd'}", ctx), "d");
}

TEST(TemplateTest, EscapesProduceLiteralCharacters) {
  auto t = Template::Parse("a${*}b${?}c${$}d*");
  ASSERT_TRUE(t.has_value());
  EXPECT_FALSE(t->HasVariables());
  EXPECT_EQ(t->StaticString(), "a*b?c$d*");
  Glob g = t->StaticGlob();
  EXPECT_TRUE(g.Matches("a*b?c$dxyz"));
  EXPECT_FALSE(g.Matches("aXbYc$d"));
}

TEST(TemplateTest, SubstitutedValuesAreNeverWildcards) {
  auto ctx = Ctx({{"aws:username", One("*")}});
  auto t = Template::Parse("home/${aws:username}/*");
  ASSERT_TRUE(t.has_value());
  Glob g;
  std::string missing;
  ASSERT_TRUE(t->ResolveGlob(ContextView(ctx), &g, &missing));
  EXPECT_TRUE(g.Matches("home/*/file"));
  EXPECT_FALSE(g.Matches("home/alice/file"));
}

TEST(TemplateTest, SkeletonCoversEveryResolution) {
  auto t = Template::Parse("arn:aws:s3:::${aws:username}-${x, 'd'}/${*}*");
  ASSERT_TRUE(t.has_value());
  Glob skeleton = t->Skeleton();
  EXPECT_TRUE(skeleton.Matches("arn:aws:s3:::alice-d/*file"));
  EXPECT_TRUE(skeleton.Matches("arn:aws:s3:::-/*"));
  EXPECT_FALSE(skeleton.Matches("arn:aws:s3:::alice-d/file"));  // `${*}` stays literal
  EXPECT_FALSE(skeleton.Matches("arn:aws:s3:::alice"));
}

TEST(TemplateTest, OneRoundOfSubstitutionOnly) {
  auto ctx = Ctx({{"a", One("${b}")}, {"b", One("x")}});
  EXPECT_EQ(Resolve("${a}", ctx), "${b}");
  EXPECT_EQ(Resolve("${missing, '${b}'}", ctx), "${b}");
}

TEST(TemplateTest, MalformedVariablesAreErrors) {
  EXPECT_FALSE(Template::Parse("home/${aws:username").has_value());
  EXPECT_FALSE(Template::Parse("${}").has_value());
  EXPECT_FALSE(Template::Parse("${key, default}").has_value());
  EXPECT_FALSE(Template::Parse("${key, 'open}").has_value());
  auto err = Template::Parse("home/${aws:username");
  EXPECT_NE(err.error().find("unterminated policy variable"), std::string::npos);
}

}  // namespace
}  // namespace fnjail::policy::internal
