// Tests for policy/toml_writer.cc: layout, escaping, and round trips through the front ends.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "policy/policy.h"
#include "tests/testing/result_matchers.h"
#include "tests/testing/shared_corpus.h"

namespace fnjail::policy {
namespace {

using ::fnjail::testing::IsOk;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

Literal Lit(std::string text) { return Literal{std::move(text), {}}; }

std::vector<Literal> Lits(std::vector<std::string> texts) {
  std::vector<Literal> out;
  for (auto& t : texts) out.push_back(Lit(std::move(t)));
  return out;
}

Element Elem(std::vector<std::string> values, bool negated = false) {
  return Element{negated, Lits(std::move(values)), {}};
}

Condition Cond(const std::string& op, std::string key, std::vector<std::string> values) {
  Condition c;
  auto spec = ParseOperator(op);
  if (!spec) ADD_FAILURE() << "unknown operator in test: " << op;
  c.spec = spec.value_or(OperatorSpec{});
  c.operator_text = Lit(op);
  c.key = Lit(std::move(key));
  c.values = Lits(std::move(values));
  return c;
}

Statement Stmt(std::string sid, Effect effect, std::vector<std::string> actions,
               std::vector<std::string> resources) {
  Statement s;
  s.sid = std::move(sid);
  s.effect = effect;
  s.action = Elem(std::move(actions));
  s.resource = Elem(std::move(resources));
  return s;
}

Document Doc(std::string id, std::vector<Statement> statements) {
  Document d;
  d.id = std::move(id);
  for (size_t i = 0; i < statements.size(); ++i) statements[i].index = i;
  d.statements = std::move(statements);
  return d;
}

std::vector<std::string> Texts(const std::vector<Literal>& literals) {
  std::vector<std::string> out;
  for (const auto& l : literals) out.push_back(l.text);
  return out;
}

std::string DescribeElement(const std::optional<Element>& e) {
  if (!e) return "absent";
  std::string out = e->negated ? "not[" : "[";
  for (const auto& v : e->values) out += "`" + v.text + "` ";
  return out + "]";
}

// The first difference in meaning between two documents, or empty when they are
// equivalent: everything but spans, the file name and how operators were spelled.
std::string Difference(const Document& a, const Document& b) {
  if (a.id != b.id) return "id `" + a.id + "` vs `" + b.id + "`";
  if (a.description != b.description) return "description differs";
  if (a.kind != b.kind) return "kind differs";
  if (Texts(a.attach) != Texts(b.attach)) return "attach differs";
  if (a.statements.size() != b.statements.size()) return "statement count differs";
  for (size_t i = 0; i < a.statements.size(); ++i) {
    const Statement& x = a.statements[i];
    const Statement& y = b.statements[i];
    const std::string where = "statement " + std::to_string(i) + ": ";
    if (x.sid != y.sid) return where + "sid `" + x.sid + "` vs `" + y.sid + "`";
    if (x.index != y.index) return where + "index differs";
    if (x.effect != y.effect) return where + "effect differs";
    const std::pair<const std::optional<Element>*, const std::optional<Element>*> elements[] = {
        {&x.principal, &y.principal}, {&x.action, &y.action}, {&x.resource, &y.resource}};
    for (const auto& [ex, ey] : elements) {
      const std::string dx = DescribeElement(*ex);
      const std::string dy = DescribeElement(*ey);
      if (dx != dy) return where + dx + " vs " + dy;
    }
    if (x.conditions.size() != y.conditions.size()) return where + "condition count differs";
    for (size_t k = 0; k < x.conditions.size(); ++k) {
      const Condition& cx = x.conditions[k];
      const Condition& cy = y.conditions[k];
      if (OperatorName(cx.spec) != OperatorName(cy.spec)) {
        return where + "operator " + OperatorName(cx.spec) + " vs " + OperatorName(cy.spec);
      }
      if (cx.key.text != cy.key.text) return where + "key `" + cx.key.text + "` differs";
      if (Texts(cx.values) != Texts(cy.values)) {
        return where + "values of `" + cx.key.text + "` differ";
      }
    }
  }
  return {};
}

// ToToml, then ParseToml under the same file name.
Result<Document> RoundTrip(const Document& doc) {
  return ParseToml(ToToml(doc), doc.file.empty() ? "round-trip.toml" : doc.file);
}

bool IsPrintableAsciiOrNewline(const std::string& text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return c == '\n' || (static_cast<unsigned char>(c) >= 0x20 && c != 0x7F &&
                         static_cast<unsigned char>(c) < 0x80);
  });
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string text(std::filesystem::file_size(path), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  return text;
}

// ---- layout ------------------------------------------------------------------------------

TEST(TomlWriterTest, WritesTheDocumentedLayout) {
  Statement hello = Stmt("AllowHello", Effect::kAllow, {"function:Invoke"}, {"fn:hello"});
  hello.principal = Elem({"alice"});
  hello.conditions.push_back(Cond("StringEquals", "aws:username", {"alice"}));
  Document doc = Doc("invoke-hello", {hello});
  doc.file = "policies/invoke-hello.json";
  doc.description = "alice calls hello";
  doc.kind = PolicyKind::kResource;
  doc.attach = Lits({"fn:hello"});
  EXPECT_EQ(ToToml(doc),
            "# imported from policies/invoke-hello.json\n"
            "id = \"invoke-hello\"\n"
            "description = \"alice calls hello\"\n"
            "kind = \"resource\"\n"
            "attach = [\"fn:hello\"]\n"
            "\n"
            "[[statement]]\n"
            "sid = \"AllowHello\"\n"
            "effect = \"allow\"\n"
            "principal = [\"alice\"]\n"
            "action = [\"function:Invoke\"]\n"
            "resource = [\"fn:hello\"]\n"
            "\n"
            "[[statement.condition]]\n"
            "operator = \"StringEquals\"\n"
            "key = \"aws:username\"\n"
            "values = [\"alice\"]\n");
}

TEST(TomlWriterTest, OmitsWhatIsEmptyAndWritesNegatedElements) {
  Statement s = Stmt("", Effect::kDeny, {}, {});
  s.action = Elem({"function:Invoke"}, /*negated=*/true);
  s.resource = Elem({"fn:public-*"}, /*negated=*/true);
  s.principal = Elem({"ops"}, /*negated=*/true);
  EXPECT_EQ(ToToml(Doc("guard", {s})),
            "id = \"guard\"\n"
            "kind = \"identity\"\n"
            "\n"
            "[[statement]]\n"
            "effect = \"deny\"\n"
            "not_principal = [\"ops\"]\n"
            "not_action = [\"function:Invoke\"]\n"
            "not_resource = [\"fn:public-*\"]\n");
}

TEST(TomlWriterTest, WritesCanonicalOperatorNames) {
  Statement s = Stmt("S", Effect::kAllow, {"function:Invoke"}, {"fn:a"});
  s.conditions.push_back(Cond("ForAllValues:StringLikeIfExists", "aws:TagKeys", {"team-*"}));
  EXPECT_THAT(ToToml(Doc("d", {s})), HasSubstr("operator = \"ForAllValues:StringLikeIfExists\"\n"
                                               "key = \"aws:TagKeys\"\n"));
}

TEST(TomlWriterTest, LongListsAreWrittenOneValuePerLine) {
  Statement s =
      Stmt("S", Effect::kAllow, {"s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:Head*"},
           {"arn:aws:s3:::bucket"});
  EXPECT_THAT(ToToml(Doc("d", {s})), HasSubstr("action = [\n"
                                               "  \"s3:GetObject\",\n"
                                               "  \"s3:PutObject\",\n"
                                               "  \"s3:ListBucket\",\n"
                                               "  \"s3:Head*\",\n"
                                               "]\n"
                                               "resource = [\"arn:aws:s3:::bucket\"]\n"));
}

// ---- escaping ----------------------------------------------------------------------------

TEST(TomlWriterTest, EscapesQuotesBackslashesAndControlCharacters) {
  Document doc = Doc("d", {Stmt("S", Effect::kAllow, {"function:Invoke"}, {"fn:a"})});
  doc.description = "say \"hi\" \\ tab\there\nnew\rline\b\f\x01\x1f\x7f";
  EXPECT_THAT(ToToml(doc),
              HasSubstr("description = \"say \\\"hi\\\" \\\\ tab\\there\\nnew\\rline\\b\\f"
                        "\\u0001\\u001F\\u007F\"\n"));
}

TEST(TomlWriterTest, WritesNonAsciiAsUnicodeEscapes) {
  Document doc = Doc("d", {Stmt("S", Effect::kAllow, {"function:Invoke"}, {"fn:a"})});
  doc.description = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80";  // é € 😀
  EXPECT_THAT(ToToml(doc), HasSubstr("description = \"caf\\u00E9 \\u20AC \\U0001F600\"\n"));
}

TEST(TomlWriterTest, MalformedUtf8BecomesReplacementCharacters) {
  Document doc = Doc("d", {Stmt("S", Effect::kAllow, {"function:Invoke"}, {"fn:a"})});
  // A lone continuation byte, an overlong `/`, a truncated sequence, an encoded surrogate.
  doc.description =
      "a\x80"
      "b\xC0\xAF"
      "c\xE2\x82"
      "d\xED\xA0\x80";
  const std::string toml = ToToml(doc);
  EXPECT_THAT(toml, HasSubstr("description = \"a\\uFFFDb\\uFFFD\\uFFFDc\\uFFFD\\uFFFDd"
                              "\\uFFFD\\uFFFD\\uFFFD\"\n"));
  EXPECT_THAT(RoundTrip(doc), IsOk());
}

TEST(TomlWriterTest, OutputIsPrintableAscii) {
  Statement s = Stmt("S\t\xC3\xA9", Effect::kAllow, {"function:Invoke"}, {"fn:\x01\xE2\x82\xAC"});
  s.conditions.push_back(Cond("StringEquals", "k\n:k", {"\x7f", "\xF0\x9F\x98\x80"}));
  Document doc = Doc("id\r\n", {s});
  doc.file = "dir\n/f\xC3\xA9.json";
  EXPECT_TRUE(IsPrintableAsciiOrNewline(ToToml(doc))) << ToToml(doc);
}

TEST(TomlWriterTest, FileNameCannotInjectIntoTheOutput) {
  Document doc = Doc("real", {Stmt("S", Effect::kAllow, {"function:Invoke"}, {"fn:a"})});
  doc.file = "x.json\nid = \"forged\"";
  const std::string toml = ToToml(doc);
  EXPECT_THAT(toml, StartsWith("# imported from x.json?id = \"forged\"\nid = \"real\"\n"));
  auto parsed = ParseToml(toml, "x.toml");
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->id, "real");
}

// ---- round trips -------------------------------------------------------------------------

TEST(TomlWriterTest, RoundTripKeepsEveryPartOfTheDocument) {
  Statement allow = Stmt("Allow \"quoted\"", Effect::kAllow,
                         {"function:Invoke", "function:Get*", "function:?ist"},
                         {"fn:${aws:username}/*", "fn:a\\b"});
  allow.principal = Elem({"*"});
  allow.conditions.push_back(Cond("IpAddress", "aws:SourceIp", {"10.0.0.0/8", "fd00::/8"}));
  allow.conditions.push_back(Cond("ForAnyValue:StringLike", "aws:TagKeys", {"team-*"}));
  allow.conditions.push_back(Cond("NumericLessThanEquals", "s:n", {"10", "-2.5"}));
  allow.conditions.push_back(
      Cond("DateGreaterThanIfExists", "aws:CurrentTime", {"2026-01-01T00:00:00Z"}));
  allow.conditions.push_back(Cond("Null", "aws:TokenIssueTime", {"false"}));
  allow.conditions.push_back(
      Cond("StringEquals", "s:text", {"caf\xC3\xA9 \"x\" \\ ${*}", "", "\xF0\x9F\x98\x80"}));
  Statement deny = Stmt("", Effect::kDeny, {}, {});
  deny.principal = Elem({"mallory", "arn:aws:iam::123456789012:root"}, /*negated=*/true);
  deny.action = Elem({"function:Invoke"}, /*negated=*/true);
  deny.resource = Elem({"fn:public-*"}, /*negated=*/true);
  Document doc = Doc("every-part", {allow, deny});
  doc.file = "every-part.toml";
  // Control characters are refused in identifiers and patterns, but free text keeps them.
  doc.description = "a description\nover two lines\t\x01\x7f" + std::string(1, '\0') + "!";
  doc.kind = PolicyKind::kResource;
  doc.attach = Lits({"fn:hello", "fn:echo-*"});

  auto parsed = RoundTrip(doc);
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(Difference(doc, *parsed), "");
  EXPECT_EQ(ToToml(*parsed), ToToml(doc));
}

std::string EncodeUtf8(char32_t code) {
  std::string out;
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code >> 18));
    out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
  return out;
}

// Any valid UTF-8 text survives the trip: quotes, backslashes, TOML's own syntax,
// characters from every plane, and (in the description, the one free-text field where the
// front ends accept them) every control character.
TEST(TomlWriterTest, RandomTextRoundTrips) {
  std::mt19937 rng(1127);
  bool controls = false;
  auto random_code = [&]() -> char32_t {
    switch (rng() % 6) {
      case 0:
        if (controls) return static_cast<char32_t>(rng() % 0x20);
        [[fallthrough]];
      case 1:
        return U"\"'#=[]{}.,$*?\\"[rng() % 14];  // syntax that must stay text
      case 2:
        return static_cast<char32_t>(0x80 + rng() % (0xD800 - 0x80));
      case 3:
        return static_cast<char32_t>(0xE000 + rng() % (0x110000 - 0xE000));
      default:
        return static_cast<char32_t>(0x20 + rng() % 0x5F);  // printable ASCII
    }
  };
  // Documents only come from the front ends, which refuse a malformed `${` variable; random
  // text that happens to open one is drawn again (well-formed variables have their own tests).
  auto random_text = [&](bool with_controls = false) {
    controls = with_controls;
    std::string text;
    do {
      text.clear();
      const size_t length = 1 + rng() % 12;
      for (size_t i = 0; i < length; ++i) text += EncodeUtf8(random_code());
    } while (text.find("${") != std::string::npos);
    return text;
  };
  for (int round = 0; round < 200; ++round) {
    Statement s = Stmt(random_text(), Effect::kAllow, {"svc:" + random_text()},
                       {random_text(), random_text()});
    s.conditions.push_back(Cond("StringLike", random_text(), {random_text(), random_text()}));
    Document doc = Doc(random_text(), {s});
    doc.description = random_text(/*with_controls=*/true) + "\x7f";
    doc.attach = Lits({random_text()});
    const std::string toml = ToToml(doc);
    ASSERT_TRUE(IsPrintableAsciiOrNewline(toml)) << toml;
    auto parsed = ParseToml(toml, "random.toml");
    ASSERT_THAT(parsed, IsOk()) << toml;
    ASSERT_EQ(Difference(doc, *parsed), "") << toml;
  }
}

TEST(TomlWriterTest, RoundTripKeepsEachPolicyKind) {
  for (PolicyKind kind : {PolicyKind::kIdentity, PolicyKind::kResource, PolicyKind::kBoundary}) {
    Statement s = Stmt("S", Effect::kAllow, {"function:Invoke"}, {"fn:a"});
    s.principal = Elem({"alice"});
    Document doc = Doc("k", {s});
    doc.kind = kind;
    auto parsed = RoundTrip(doc);
    ASSERT_THAT(parsed, IsOk());
    EXPECT_EQ(Difference(doc, *parsed), "") << PolicyKindName(kind);
  }
}

TEST(TomlWriterTest, EmptyIdIsOmittedSoTheFileNameNamesTheDocument) {
  Document doc = Doc("", {Stmt("S", Effect::kAllow, {"function:Invoke"}, {"fn:a"})});
  const std::string toml = ToToml(doc);
  EXPECT_THAT(toml, Not(ContainsRegex("(^|\n)id =")));
  auto parsed = ParseToml(toml, "folder/named-by-file.toml");
  ASSERT_THAT(parsed, IsOk());
  EXPECT_FALSE(parsed->id.empty());
}

TEST(TomlWriterTest, ExamplePoliciesRoundTrip) {
  const std::filesystem::path folder =
      std::filesystem::path(FNJAIL_SOURCE_DIR) / "examples" / "policies";
  size_t checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    const std::string path = entry.path().string();
    const std::string text = ReadFile(entry.path());
    Result<Document> doc =
        entry.path().extension() == ".json" ? ParseIamJson(text, path) : ParseToml(text, path);
    ASSERT_THAT(doc, IsOk()) << path;
    auto parsed = RoundTrip(*doc);
    ASSERT_THAT(parsed, IsOk()) << path << "\n" << ToToml(*doc);
    EXPECT_EQ(Difference(*doc, *parsed), "") << path;
    ++checked;
  }
  EXPECT_GT(checked, 0u);
}

TEST(TomlWriterTest, EveryAwsManagedPolicyRoundTripsThroughToml) {
  FNJAIL_REQUIRE_SHARED_CORPUS(corpus, "aws-managed-policies");
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(corpus)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());
  size_t failures = 0;
  for (const auto& file : files) {
    auto doc = ParseIamJson(ReadFile(file), file.string());
    ASSERT_THAT(doc, IsOk()) << file;
    const std::string toml = ToToml(*doc);
    auto parsed = ParseToml(toml, file.string());
    std::string difference;
    if (!parsed) {
      difference = parsed.error().ToString();
    } else {
      difference = Difference(*doc, *parsed);
      // Writing what was read back gives the same text: the form is stable.
      if (difference.empty() && ToToml(*parsed) != toml) difference = "output not stable";
    }
    if (!difference.empty()) {
      ADD_FAILURE() << file.filename() << ": " << difference;
      if (++failures == 10) break;
    }
  }
}

}  // namespace
}  // namespace fnjail::policy
