// Condition operators of IAM, compiled once (policy values parsed, keys lower-cased) and
// evaluated against a request's context without allocating in the common cases.
#pragma once

#include <string>
#include <vector>

#include "policy/ast.h"
#include "policy/diagnostics.h"
#include "policy/internal/glob.h"
#include "policy/internal/values.h"
#include "policy/internal/variables.h"

namespace fnjail::policy::internal {

// One compiled `operator: key: [values]` test. Semantics (docs/policy-evaluation.md):
// - key absent (or present with no values): `...IfExists` is true; `ForAllValues:` is
//   true; `ForAnyValue:` is false; otherwise negated operators are true and the rest false.
// - Null: value `true` holds when the key is absent, `false` when present (values OR).
// - several policy values are ORed; a negated operator is the negation of its positive
//   form over all of them ("matches none of the values").
// - no qualifier: the positive form holds when some request value matches some policy
//   value (for a multivalued key, any of its values); a negated operator holds when none
//   does. `ForAllValues:` holds when every request value passes (positive: matches some
//   policy value; negated: matches none); `ForAnyValue:` when at least one does.
// - a request value of the wrong type (not a number for Numeric*, not an IP address for
//   IpAddress, ...) or a policy variable without a value is an error, never a match.
//
// Thread-safety: immutable after Compile; Evaluate may run concurrently.
class CompiledCondition {
 public:
  enum class Outcome { kFalse, kTrue, kError };

  // Compiles `condition`. Policy values that cannot be parsed for the operator (a bad
  // CIDR, a non-number for Numeric*, a malformed policy variable), a set qualifier on
  // Null and a condition without values are diagnostics at the offending span.
  static Result<CompiledCondition> Compile(const Condition& condition);

  // Evaluates against `context`. On kError, `*error` says why (for EvalError). When
  // `note` is not null it receives a short explanation of the outcome for --explain.
  Outcome Evaluate(const ContextView& context, std::string* error, std::string* note) const;

  // "`StringEquals` on `aws:username`", for messages.
  std::string Describe() const;

  // True when the condition is false whenever its key is absent (or has no values): a
  // positive operator without `IfExists` or `ForAllValues:`, `ForAnyValue:` anything, or
  // `Null` with only `false`. Lets the evaluator rule a statement out from the keys alone.
  bool RequiresKey() const;
  const std::string& lower_key() const { return key_lower_; }

 private:
  // A string or ARN value; `dynamic` when it holds policy variables and must be
  // resolved per request.
  struct TextValue {
    Template tmpl;
    bool dynamic = false;
    std::string text;        // static: as compared (lower-cased for IgnoreCase)
    Glob glob;               // static StringLike
    std::vector<Glob> arn;   // static Arn*: six component patterns
  };

  // Matches one request value against the positive form over all policy values.
  Outcome MatchOne(std::string_view value, const std::vector<TextValue>& text_values,
                   std::string* error) const;
  // Resolves dynamic string/ARN values into `out`. False with `*error` on a missing
  // variable.
  bool Resolve(const ContextView& context, std::vector<TextValue>* out,
               std::string* error) const;

  OperatorSpec spec_;
  Operator base_ = Operator::kStringEquals;  // the positive form of a negated operator
  bool negated_ = false;
  ValueKind family_ = ValueKind::kString;
  std::string key_;        // as written
  std::string key_lower_;  // for lookups
  std::string op_name_;    // canonical spelling

  bool has_dynamic_ = false;
  std::vector<TextValue> texts_;
  std::vector<Decimal> numbers_;
  std::vector<Instant> dates_;
  std::vector<bool> bools_;        // Bool and Null
  std::vector<std::string> binaries_;
  std::vector<IpNetwork> networks_;
};

}  // namespace fnjail::policy::internal
