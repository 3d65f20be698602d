// Operator spellings and small helpers of the policy AST.
#include "policy/ast.h"

#include <array>
#include <utility>

namespace fnjail::policy {
namespace {

struct OperatorNameEntry {
  std::string_view name;
  Operator op;
};

constexpr std::array<OperatorNameEntry, 27> kOperatorNames = {{
    {"StringEquals", Operator::kStringEquals},
    {"StringNotEquals", Operator::kStringNotEquals},
    {"StringEqualsIgnoreCase", Operator::kStringEqualsIgnoreCase},
    {"StringNotEqualsIgnoreCase", Operator::kStringNotEqualsIgnoreCase},
    {"StringLike", Operator::kStringLike},
    {"StringNotLike", Operator::kStringNotLike},
    {"NumericEquals", Operator::kNumericEquals},
    {"NumericNotEquals", Operator::kNumericNotEquals},
    {"NumericLessThan", Operator::kNumericLessThan},
    {"NumericLessThanEquals", Operator::kNumericLessThanEquals},
    {"NumericGreaterThan", Operator::kNumericGreaterThan},
    {"NumericGreaterThanEquals", Operator::kNumericGreaterThanEquals},
    {"DateEquals", Operator::kDateEquals},
    {"DateNotEquals", Operator::kDateNotEquals},
    {"DateLessThan", Operator::kDateLessThan},
    {"DateLessThanEquals", Operator::kDateLessThanEquals},
    {"DateGreaterThan", Operator::kDateGreaterThan},
    {"DateGreaterThanEquals", Operator::kDateGreaterThanEquals},
    {"Bool", Operator::kBool},
    {"BinaryEquals", Operator::kBinaryEquals},
    {"IpAddress", Operator::kIpAddress},
    {"NotIpAddress", Operator::kNotIpAddress},
    {"ArnEquals", Operator::kArnEquals},
    {"ArnLike", Operator::kArnLike},
    {"ArnNotEquals", Operator::kArnNotEquals},
    {"ArnNotLike", Operator::kArnNotLike},
    {"Null", Operator::kNull},
}};

constexpr std::string_view kIfExists = "IfExists";
constexpr std::string_view kForAll = "ForAllValues:";
constexpr std::string_view kForAny = "ForAnyValue:";

}  // namespace

std::optional<OperatorSpec> ParseOperator(std::string_view text) {
  OperatorSpec spec;
  if (text.starts_with(kForAll)) {
    spec.qualifier = SetQualifier::kForAllValues;
    text.remove_prefix(kForAll.size());
  } else if (text.starts_with(kForAny)) {
    spec.qualifier = SetQualifier::kForAnyValue;
    text.remove_prefix(kForAny.size());
  }
  auto lookup = [](std::string_view name) -> std::optional<Operator> {
    for (const auto& entry : kOperatorNames) {
      if (entry.name == name) return entry.op;
    }
    return std::nullopt;
  };
  if (auto op = lookup(text)) {
    spec.op = *op;
    return spec;
  }
  if (text.ends_with(kIfExists)) {
    text.remove_suffix(kIfExists.size());
    auto op = lookup(text);
    // IAM has no NullIfExists: Null already tests existence.
    if (!op || *op == Operator::kNull) return std::nullopt;
    spec.op = *op;
    spec.if_exists = true;
    return spec;
  }
  return std::nullopt;
}

std::string OperatorName(const OperatorSpec& spec) {
  std::string out;
  if (spec.qualifier == SetQualifier::kForAllValues) out += kForAll;
  if (spec.qualifier == SetQualifier::kForAnyValue) out += kForAny;
  for (const auto& entry : kOperatorNames) {
    if (entry.op == spec.op) {
      out += entry.name;
      break;
    }
  }
  if (spec.if_exists) out += kIfExists;
  return out;
}

Operator PositiveForm(Operator op) {
  switch (op) {
    case Operator::kStringNotEquals:
      return Operator::kStringEquals;
    case Operator::kStringNotEqualsIgnoreCase:
      return Operator::kStringEqualsIgnoreCase;
    case Operator::kStringNotLike:
      return Operator::kStringLike;
    case Operator::kNumericNotEquals:
      return Operator::kNumericEquals;
    case Operator::kDateNotEquals:
      return Operator::kDateEquals;
    case Operator::kNotIpAddress:
      return Operator::kIpAddress;
    case Operator::kArnNotEquals:
      return Operator::kArnEquals;
    case Operator::kArnNotLike:
      return Operator::kArnLike;
    case Operator::kStringEquals:
    case Operator::kStringEqualsIgnoreCase:
    case Operator::kStringLike:
    case Operator::kNumericEquals:
    case Operator::kNumericLessThan:
    case Operator::kNumericLessThanEquals:
    case Operator::kNumericGreaterThan:
    case Operator::kNumericGreaterThanEquals:
    case Operator::kDateEquals:
    case Operator::kDateLessThan:
    case Operator::kDateLessThanEquals:
    case Operator::kDateGreaterThan:
    case Operator::kDateGreaterThanEquals:
    case Operator::kBool:
    case Operator::kBinaryEquals:
    case Operator::kIpAddress:
    case Operator::kArnEquals:
    case Operator::kArnLike:
    case Operator::kNull:
      return op;
  }
  return op;
}

bool IsNegated(Operator op) { return PositiveForm(op) != op; }

ValueKind ValueKindOf(Operator op) {
  switch (PositiveForm(op)) {
    case Operator::kNumericEquals:
    case Operator::kNumericLessThan:
    case Operator::kNumericLessThanEquals:
    case Operator::kNumericGreaterThan:
    case Operator::kNumericGreaterThanEquals:
      return ValueKind::kNumber;
    case Operator::kDateEquals:
    case Operator::kDateLessThan:
    case Operator::kDateLessThanEquals:
    case Operator::kDateGreaterThan:
    case Operator::kDateGreaterThanEquals:
      return ValueKind::kDate;
    case Operator::kBool:
      return ValueKind::kBool;
    case Operator::kBinaryEquals:
      return ValueKind::kBinary;
    case Operator::kIpAddress:
      return ValueKind::kIp;
    case Operator::kArnEquals:
    case Operator::kArnLike:
      return ValueKind::kArn;
    case Operator::kNull:
      return ValueKind::kNull;
    case Operator::kStringEquals:
    case Operator::kStringEqualsIgnoreCase:
    case Operator::kStringLike:
    // INVARIANT: PositiveForm never returns one of the negated operators below.
    case Operator::kStringNotEquals:
    case Operator::kStringNotEqualsIgnoreCase:
    case Operator::kStringNotLike:
    case Operator::kNumericNotEquals:
    case Operator::kDateNotEquals:
    case Operator::kNotIpAddress:
    case Operator::kArnNotEquals:
    case Operator::kArnNotLike:
      return ValueKind::kString;
  }
  return ValueKind::kString;
}

std::string StatementName(const Statement& s) {
  return s.sid.empty() ? std::to_string(s.index) : s.sid;
}

std::string_view EffectName(Effect e) { return e == Effect::kAllow ? "allow" : "deny"; }

std::string_view PolicyKindName(PolicyKind k) {
  switch (k) {
    case PolicyKind::kIdentity:
      return "identity";
    case PolicyKind::kResource:
      return "resource";
    case PolicyKind::kBoundary:
      return "boundary";
  }
  return "identity";
}

std::string Diagnostic::ToString() const {
  std::string out = span.file;
  if (span.line > 0) {
    out += ':' + std::to_string(span.line) + ':' + std::to_string(span.column);
  }
  out += severity == Severity::kError ? ": error: " : ": warning: ";
  out += message;
  if (!help.empty()) out += "\n  help: " + help;
  return out;
}

bool Diagnostics::HasErrors() const {
  for (const auto& d : entries_) {
    if (d.severity == Severity::kError) return true;
  }
  return false;
}

std::string Diagnostics::ToString() const {
  std::string out;
  for (const auto& d : entries_) {
    out += d.ToString();
    out += '\n';
  }
  return out;
}

}  // namespace fnjail::policy
