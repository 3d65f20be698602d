// The policy AST: what a loaded policy document says, with a source span on every element.
//
// Both front ends (fnjail TOML and AWS IAM JSON) produce this same tree, so the validator,
// the evaluator and the TOML writer see one language. The tree is plain data: it holds the
// text as the author wrote it (wildcards and `${...}` variables unexpanded); compiling it
// into a PolicySet (policy.h) is what prepares it for evaluation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/diagnostics.h"

namespace fnjail::policy {

enum class Effect { kAllow, kDeny };

// How a document is attached (docs/policy-language.md, "Policy kinds"):
// - kIdentity: applies to the principals and groups listed in `attach`, or to every
//   principal when `attach` is empty (the caller chose to load it for this principal);
// - kResource: applies to the resources listed in `attach` (patterns such as `fn:hello`), or
//   to every resource when empty; its statements name principals;
// - kBoundary: a permission boundary for the principals and groups in `attach` (all when
//   empty): an allow from any other policy counts only if a boundary also allows.
enum class PolicyKind { kIdentity, kResource, kBoundary };

// A string as written in the policy, with where it was written.
struct Literal {
  std::string text;
  SourceSpan span;
};

// Principal, Action or Resource element. `negated` means NotPrincipal / NotAction /
// NotResource. A statement without the element leaves the std::optional empty.
//
// Principal values are identifiers compared exactly (case-sensitive) with the request's
// principal, or `*` for anyone. IAM's typed principals import as `service:NAME`,
// `federated:NAME`, `canonical-user:ID` and, for `AWS`, the ARN itself (a bare 12-digit
// account id becomes `arn:aws:iam::ID:root`, as IAM normalises it).
// Action values are `service:name` patterns with `*` and `?`, matched case-insensitively.
// Resource values are patterns with `*`, `?` and `${var}`, matched case-sensitively.
struct Element {
  bool negated = false;
  std::vector<Literal> values;
  SourceSpan span;
};

// The condition operators of IAM, without qualifier or IfExists suffix.
enum class Operator {
  kStringEquals,
  kStringNotEquals,
  kStringEqualsIgnoreCase,
  kStringNotEqualsIgnoreCase,
  kStringLike,
  kStringNotLike,
  kNumericEquals,
  kNumericNotEquals,
  kNumericLessThan,
  kNumericLessThanEquals,
  kNumericGreaterThan,
  kNumericGreaterThanEquals,
  kDateEquals,
  kDateNotEquals,
  kDateLessThan,
  kDateLessThanEquals,
  kDateGreaterThan,
  kDateGreaterThanEquals,
  kBool,
  kBinaryEquals,
  kIpAddress,
  kNotIpAddress,
  kArnEquals,
  kArnLike,
  kArnNotEquals,
  kArnNotLike,
  kNull,
};

enum class SetQualifier { kNone, kForAllValues, kForAnyValue };

// A full operator spelling such as `ForAnyValue:StringLikeIfExists`, decomposed.
struct OperatorSpec {
  Operator op = Operator::kStringEquals;
  SetQualifier qualifier = SetQualifier::kNone;
  bool if_exists = false;
};

// Parses an operator spelling (case-sensitive, as IAM is). Returns nullopt for unknown
// spellings and for combinations IAM rejects (`NullIfExists`).
std::optional<OperatorSpec> ParseOperator(std::string_view text);

// The canonical spelling, e.g. `ForAllValues:StringEqualsIfExists`.
std::string OperatorName(const OperatorSpec& spec);

// What an operator's values are, which decides how they parse and compare.
enum class ValueKind { kString, kArn, kNumber, kDate, kBool, kBinary, kIp, kNull };
ValueKind ValueKindOf(Operator op);

// The operator a negated one negates (StringNotLike -> StringLike); others unchanged.
Operator PositiveForm(Operator op);

// True for the negated operators (StringNotEquals, StringNotLike, NumericNotEquals,
// DateNotEquals, NotIpAddress, ArnNotEquals, ArnNotLike, StringNotEqualsIgnoreCase),
// which are true on a missing key.
bool IsNegated(Operator op);

// One test: operator, context key, and the values any of which may satisfy it (values OR).
// Several conditions in a statement all must hold (AND).
struct Condition {
  OperatorSpec spec;
  Literal operator_text;  // as written, for messages
  Literal key;            // as written; keys compare case-insensitively
  std::vector<Literal> values;
  SourceSpan span;
};

struct Statement {
  std::string sid;  // may be empty; then the statement is named by its 0-based index
  size_t index = 0;
  SourceSpan span;
  Effect effect = Effect::kDeny;
  std::optional<Element> principal;
  std::optional<Element> action;
  std::optional<Element> resource;
  std::vector<Condition> conditions;
};

struct Document {
  std::string id;  // defaults to the file name without folders when the file has none
  std::string description;
  std::string file;
  PolicyKind kind = PolicyKind::kIdentity;
  std::vector<Literal> attach;
  std::vector<Statement> statements;
  SourceSpan span;
};

// The name a statement is reported under: its sid, else its index as text.
std::string StatementName(const Statement& s);

std::string_view EffectName(Effect e);        // "allow" | "deny"
std::string_view PolicyKindName(PolicyKind k);  // "identity" | "resource" | "boundary"

}  // namespace fnjail::policy
