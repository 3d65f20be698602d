// Property fuzzer of the evaluator: builds a small policy set and a request from the input
// bytes and checks the laws every decision must obey.
//
// Laws checked (abort on a violation):
// - determinism: the same set and request give the same decision twice, and asking for an
//   explanation does not change the decision;
// - adding a deny statement never turns a deny into an allow;
// - adding an allow statement never turns an allow into a deny, unless the added statement
//   itself failed to evaluate (fail closed: an erroring allow forces a deny);
// - an explicit deny that matches the request always wins, with reason explicit-deny;
// - the empty set denies everything (implicit deny).
//
// The set is built as an AST directly (no front end), so this target reaches evaluator
// paths regardless of what the parsers accept. Strings come mostly from small vocabularies
// that overlap between policies and requests, so that statements actually match.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policy/ast.h"
#include "policy/policy.h"

namespace {

namespace policy = fnjail::policy;

// Splits the fuzzer input into small decisions. Once the input is exhausted every read
// returns zero, so any input (also the empty one) describes exactly one test case.
class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  uint8_t Byte() { return pos_ < size_ ? data_[pos_++] : 0; }

  // A value in [0, n). REQUIRES: n > 0.
  size_t Below(size_t n) { return Byte() % n; }

  bool Bool() { return (Byte() & 1) != 0; }

  // Up to `max_len` raw bytes: strings nobody would write, to reach odd matcher paths.
  std::string Raw(size_t max_len) {
    size_t len = Below(max_len + 1);
    std::string out;
    for (size_t i = 0; i < len && pos_ < size_; ++i) out.push_back(static_cast<char>(Byte()));
    return out;
  }

  // Mostly a vocabulary word, sometimes raw bytes.
  template <size_t N>
  std::string Pick(const std::array<std::string_view, N>& words) {
    uint8_t b = Byte();
    if (b >= 0xF0) return Raw(8);
    return std::string(words[b % N]);
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

constexpr std::array<std::string_view, 8> kPrincipals = {
    "alice", "bob", "carol", "*", "arn:aws:iam::123456789012:root", "service:lambda", "", "Alice"};

constexpr std::array<std::string_view, 5> kGroups = {"ops", "dev", "contractors", "", "*"};

constexpr std::array<std::string_view, 12> kActions = {
    "function:Invoke", "function:*",    "*",         "s3:GetObject", "s3:Get*", "S3:getobject",
    "s3:?etObject",    "ec2:Describe*", "iam:*User", "s3:*",         "ec2:*",   "function:GetLogs"};

constexpr std::array<std::string_view, 12> kResources = {
    "fn:hello",
    "fn:*",
    "*",
    "fn:admin-*",
    "fn:*/logs/${aws:username}",
    "arn:aws:s3:::bucket/*",
    "arn:aws:s3:::bucket/home/${aws:username}/*",
    "arn:aws:s3:::bucket/key",
    "fn:${aws:PrincipalTag/team, 'none'}-*",
    "fn:h?llo",
    "${unknown:key}",
    "fn:HELLO"};

constexpr std::array<std::string_view, 10> kKeys = {
    "aws:username", "aws:SourceIp",          "aws:CurrentTime", "aws:SecureTransport",
    "s3:max-keys",  "aws:PrincipalTag/team", "AWS:UserName",    "aws:MultiFactorAuthPresent",
    "aws:TagKeys",  "aws:EpochTime"};

constexpr std::array<std::string_view, 20> kValues = {"alice",
                                                      "bob",
                                                      "true",
                                                      "false",
                                                      "10",
                                                      "100",
                                                      "-3.5",
                                                      "1e3",
                                                      "10.0.0.0/8",
                                                      "10.1.2.3",
                                                      "::1",
                                                      "2001:db8::/32",
                                                      "2026-01-01T00:00:00Z",
                                                      "2025-06-30",
                                                      "1767225600",
                                                      "ops*",
                                                      "o?s",
                                                      "${aws:username}",
                                                      "",
                                                      "dGVzdA=="};

policy::Literal Lit(std::string text) { return policy::Literal{std::move(text), {}}; }

template <size_t N>
std::optional<policy::Element> MakeElement(ByteReader& in,
                                           const std::array<std::string_view, N>& words) {
  if (in.Below(8) == 0) return std::nullopt;  // element left out
  policy::Element e;
  e.negated = in.Below(6) == 0;
  size_t count = 1 + in.Below(3);
  for (size_t i = 0; i < count; ++i) e.values.push_back(Lit(in.Pick(words)));
  return e;
}

policy::Condition MakeCondition(ByteReader& in) {
  policy::Condition c;
  c.spec.op =
      static_cast<policy::Operator>(in.Below(static_cast<size_t>(policy::Operator::kNull) + 1));
  c.spec.qualifier = static_cast<policy::SetQualifier>(in.Below(3));
  // IAM has no NullIfExists; the front ends never produce it.
  c.spec.if_exists = c.spec.op != policy::Operator::kNull && in.Below(4) == 0;
  c.operator_text = Lit(policy::OperatorName(c.spec));
  c.key = Lit(in.Pick(kKeys));
  size_t count = 1 + in.Below(3);
  for (size_t i = 0; i < count; ++i) c.values.push_back(Lit(in.Pick(kValues)));
  return c;
}

policy::Statement MakeStatement(ByteReader& in, size_t index) {
  policy::Statement s;
  s.index = index;
  if (in.Bool()) s.sid = "S" + std::to_string(index);
  s.effect = in.Below(3) == 0 ? policy::Effect::kDeny : policy::Effect::kAllow;
  s.principal = MakeElement(in, kPrincipals);
  s.action = MakeElement(in, kActions);
  s.resource = MakeElement(in, kResources);
  size_t conditions = in.Below(4) == 0 ? 1 + in.Below(2) : 0;
  for (size_t i = 0; i < conditions; ++i) s.conditions.push_back(MakeCondition(in));
  return s;
}

std::vector<policy::Document> MakeDocuments(ByteReader& in) {
  std::vector<policy::Document> docs;
  size_t count = 1 + in.Below(3);
  for (size_t d = 0; d < count; ++d) {
    policy::Document doc;
    doc.id = "doc" + std::to_string(d);
    doc.file = doc.id + ".toml";
    doc.kind = static_cast<policy::PolicyKind>(in.Below(3));
    size_t attach = in.Below(3);
    for (size_t i = 0; i < attach; ++i) {
      if (doc.kind == policy::PolicyKind::kResource) {
        doc.attach.push_back(Lit(in.Pick(kResources)));
      } else if (in.Bool()) {
        doc.attach.push_back(Lit("group:" + in.Pick(kGroups)));
      } else {
        doc.attach.push_back(Lit(in.Pick(kPrincipals)));
      }
    }
    size_t statements = 1 + in.Below(3);
    for (size_t i = 0; i < statements; ++i) doc.statements.push_back(MakeStatement(in, i));
    docs.push_back(std::move(doc));
  }
  return docs;
}

policy::Request MakeRequest(ByteReader& in) {
  policy::Request r;
  r.principal = in.Pick(kPrincipals);
  size_t groups = in.Below(3);
  for (size_t i = 0; i < groups; ++i) r.groups.push_back(in.Pick(kGroups));
  r.action = in.Pick(kActions);
  r.resource = in.Pick(kResources);
  size_t keys = in.Below(5);
  for (size_t i = 0; i < keys; ++i) {
    policy::ContextValue value;
    value.multi = in.Below(4) == 0;
    size_t count = value.multi ? in.Below(3) : 1;
    for (size_t j = 0; j < count; ++j) value.values.push_back(in.Pick(kValues));
    r.context[in.Pick(kKeys)] = std::move(value);
  }
  return r;
}

[[noreturn]] void Violation(const char* law) {
  std::fprintf(stderr, "policy_eval_fuzzer: law violated: %s\n", law);
  std::abort();
}

bool SameRefs(const std::vector<policy::StatementRef>& a,
              const std::vector<policy::StatementRef>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].policy != b[i].policy || a[i].sid != b[i].sid) return false;
  }
  return true;
}

bool SameDecision(const policy::Decision& a, const policy::Decision& b) {
  return a.allowed == b.allowed && a.reason == b.reason && SameRefs(a.statements, b.statements) &&
         a.errors.size() == b.errors.size();
}

// Compiles `docs`; nullopt when the set is refused (it can only be for duplicate ids,
// which MakeDocuments never produces, so a refusal is tolerated but skips the laws).
std::optional<policy::PolicySet> CompileSet(std::vector<policy::Document> docs) {
  auto set = policy::PolicySet::Compile(std::move(docs));
  if (!set) return std::nullopt;
  return std::move(*set);
}

// Where an added statement went, to recognise it in a decision.
struct Placement {
  std::string policy;
  std::string sid;
};

// `docs` plus `extra`, placed by `where`: into one of the existing non-boundary documents
// or into a new identity document attached to everyone. Boundaries are left alone: a new
// boundary document would restrict every allow, which is not "adding a statement".
std::vector<policy::Document> WithStatement(std::vector<policy::Document> docs,
                                            policy::Statement extra, size_t where,
                                            Placement* placed) {
  size_t slot = where % (docs.size() + 1);
  if (slot == docs.size() || docs[slot].kind == policy::PolicyKind::kBoundary) {
    policy::Document doc;
    doc.id = "extra";
    doc.file = "extra.toml";
    doc.kind = policy::PolicyKind::kIdentity;
    docs.push_back(std::move(doc));
    slot = docs.size() - 1;
  }
  policy::Document& doc = docs[slot];
  extra.index = doc.statements.size();
  extra.sid = "Extra" + std::to_string(extra.index);
  *placed = Placement{doc.id, extra.sid};
  doc.statements.push_back(std::move(extra));
  return docs;
}

bool HasErrorOf(const policy::Decision& d, const Placement& placed) {
  for (const auto& e : d.errors) {
    if (e.statement.policy == placed.policy && e.statement.sid == placed.sid) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteReader in(data, size);
  std::vector<policy::Document> docs = MakeDocuments(in);
  policy::Request request = MakeRequest(in);

  // The empty set denies everything.
  policy::PolicySet empty;
  if (empty.Decide(request).allowed) Violation("the empty set allowed a request");

  auto base = CompileSet(docs);
  if (!base) return 0;
  const policy::Decision first = base->Decide(request);
  const policy::Decision second = base->Decide(request);
  if (!SameDecision(first, second)) Violation("the same request was decided differently twice");
  const policy::Decision explained = base->Decide(request, policy::DecideOptions{true});
  if (!SameDecision(first, explained)) Violation("explaining a decision changed it");
  if (first.allowed != (first.reason == policy::Reason::kExplicitAllow)) {
    Violation("allowed disagrees with the reason");
  }

  // Adding a statement of either effect can only move the decision towards that effect.
  const policy::Statement extra = MakeStatement(in, 0);
  Placement placed;
  if (auto grown = CompileSet(WithStatement(docs, extra, in.Byte(), &placed))) {
    const policy::Decision after = grown->Decide(request);
    if (extra.effect == policy::Effect::kDeny && !first.allowed && after.allowed) {
      Violation("adding a deny statement turned a deny into an allow");
    }
    // Fail closed: the only excuse is that the added allow itself failed to evaluate.
    if (extra.effect == policy::Effect::kAllow && first.allowed && !after.allowed &&
        !HasErrorOf(after, placed)) {
      Violation("adding an allow statement turned an allow into a deny");
    }
  }

  // A deny that certainly matches (any principal, any action, any resource, no condition)
  // wins over everything, whatever else the set says.
  policy::Statement guard;
  guard.effect = policy::Effect::kDeny;
  guard.action = policy::Element{false, {Lit("*")}, {}};
  guard.resource = policy::Element{false, {Lit("*")}, {}};
  if (auto guarded = CompileSet(WithStatement(docs, guard, docs.size(), &placed))) {
    const policy::Decision after = guarded->Decide(request);
    if (after.allowed || after.reason != policy::Reason::kExplicitDeny) {
      Violation("a matching explicit deny did not win");
    }
    if (after.statements.empty()) Violation("an explicit deny names no deciding statement");
  }
  return 0;
}
