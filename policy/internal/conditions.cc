// Compilation and evaluation of IAM condition operators.
#include "policy/internal/conditions.h"

#include <utility>

namespace fnjail::policy::internal {
namespace {

// True when `cmp` (-1, 0, 1 for request vs policy value) satisfies a comparison operator.
bool CompareHolds(Operator op, int cmp) {
  switch (op) {
    case Operator::kNumericEquals:
    case Operator::kDateEquals:
      return cmp == 0;
    case Operator::kNumericLessThan:
    case Operator::kDateLessThan:
      return cmp < 0;
    case Operator::kNumericLessThanEquals:
    case Operator::kDateLessThanEquals:
      return cmp <= 0;
    case Operator::kNumericGreaterThan:
    case Operator::kDateGreaterThan:
      return cmp > 0;
    case Operator::kNumericGreaterThanEquals:
    case Operator::kDateGreaterThanEquals:
      return cmp >= 0;
    case Operator::kStringEquals:
    case Operator::kStringNotEquals:
    case Operator::kStringEqualsIgnoreCase:
    case Operator::kStringNotEqualsIgnoreCase:
    case Operator::kStringLike:
    case Operator::kStringNotLike:
    case Operator::kNumericNotEquals:
    case Operator::kDateNotEquals:
    case Operator::kBool:
    case Operator::kBinaryEquals:
    case Operator::kIpAddress:
    case Operator::kNotIpAddress:
    case Operator::kArnEquals:
    case Operator::kArnLike:
    case Operator::kArnNotEquals:
    case Operator::kArnNotLike:
    case Operator::kNull:
      return false;
  }
  return false;
}

template <class T>
int Compare3(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

bool MatchArn(const std::vector<Glob>& pattern, std::string_view value) {
  auto parts = SplitArn(value);
  if (!parts || pattern.size() != 6) return false;
  for (size_t i = 0; i < 6; ++i) {
    if (!pattern[i].Matches((*parts)[i])) return false;
  }
  return true;
}

}  // namespace

Result<CompiledCondition> CompiledCondition::Compile(const Condition& condition) {
  CompiledCondition c;
  c.spec_ = condition.spec;
  c.negated_ = IsNegated(condition.spec.op);
  c.base_ = PositiveForm(condition.spec.op);
  c.key_ = condition.key.text;
  c.key_lower_ = ToLowerAscii(condition.key.text);
  c.op_name_ = OperatorName(condition.spec);

  Diagnostics diags;
  if (condition.values.empty()) {
    diags.Error(condition.span, "condition `" + c.op_name_ + "` on `" + c.key_ + "` has no values");
  }
  if (condition.spec.op == Operator::kNull && condition.spec.qualifier != SetQualifier::kNone) {
    diags.Error(condition.operator_text.span,
                "`" + c.op_name_ + "` is not an operator: `Null` takes no set qualifier",
                "`Null` already tests whether the key is present; write `Null`");
  }
  c.family_ = ValueKindOf(c.base_);

  constexpr std::string_view kVarHelp =
      "policy variables are allowed only in string and ARN conditions";
  for (const Literal& v : condition.values) {
    auto bad = [&](std::string_view what, std::string help = {}) {
      if (help.empty() && v.text.find("${") != std::string::npos) help = kVarHelp;
      diags.Error(v.span, "`" + v.text + "` is not " + std::string(what) + " (in `" +
                              c.op_name_ + "` on `" + c.key_ + "`)",
                  std::move(help));
    };
    switch (c.family_) {
      case ValueKind::kString:
      case ValueKind::kArn: {
        auto tmpl = Template::Parse(v.text);
        if (!tmpl) {
          diags.Error(v.span, tmpl.error());
          break;
        }
        TextValue tv;
        tv.dynamic = tmpl->HasVariables();
        tv.tmpl = std::move(*tmpl);
        if (!tv.dynamic) {
          tv.text = tv.tmpl.StaticString();
          if (c.base_ == Operator::kStringEqualsIgnoreCase) tv.text = ToLowerAscii(tv.text);
          if (c.base_ == Operator::kStringLike) tv.glob = tv.tmpl.StaticGlob();
          if (c.family_ == ValueKind::kArn) {
            tv.arn = tv.tmpl.StaticGlob().Split(':', 6);
            if (tv.arn.size() != 6) {
              bad("an ARN", "write all six components: `arn:partition:service:region:account:resource`");
              break;
            }
          }
        }
        c.has_dynamic_ = c.has_dynamic_ || tv.dynamic;
        c.texts_.push_back(std::move(tv));
        break;
      }
      case ValueKind::kNumber:
        if (auto d = Decimal::Parse(v.text)) {
          c.numbers_.push_back(std::move(*d));
        } else {
          bad("a number");
        }
        break;
      case ValueKind::kDate:
        if (auto t = ParseInstant(v.text)) {
          c.dates_.push_back(*t);
        } else {
          bad("a date", "write an ISO 8601 date-time such as `2026-01-31T12:00:00Z` or epoch seconds");
        }
        break;
      case ValueKind::kBool:
      case ValueKind::kNull:
        if (auto b = ParseBool(v.text)) {
          c.bools_.push_back(*b);
        } else {
          bad("`true` or `false`");
        }
        break;
      case ValueKind::kBinary:
        if (auto bytes = DecodeBase64(v.text)) {
          c.binaries_.push_back(std::move(*bytes));
        } else {
          bad("base64");
        }
        break;
      case ValueKind::kIp:
        if (auto net = ParseIpNetwork(v.text)) {
          c.networks_.push_back(*net);
        } else {
          bad("an IP address or CIDR block", "write e.g. `203.0.113.0/24` or `2001:db8::/32`");
        }
        break;
    }
  }
  if (diags.HasErrors()) return Fail(std::move(diags));
  return c;
}

std::string CompiledCondition::Describe() const {
  return "`" + op_name_ + "` on `" + key_ + "`";
}

bool CompiledCondition::RequiresKey() const {
  if (family_ == ValueKind::kNull) {
    for (bool want_absent : bools_) {
      if (want_absent) return false;
    }
    return true;
  }
  if (spec_.if_exists) return false;
  switch (spec_.qualifier) {
    case SetQualifier::kForAllValues:
      return false;
    case SetQualifier::kForAnyValue:
      return true;
    case SetQualifier::kNone:
      return !negated_;
  }
  return false;
}

bool CompiledCondition::Resolve(const ContextView& context, std::vector<TextValue>* out,
                                std::string* error) const {
  out->clear();
  out->reserve(texts_.size());
  for (const TextValue& tv : texts_) {
    if (!tv.dynamic) continue;
    TextValue r;
    std::string missing;
    bool ok = true;
    if (family_ == ValueKind::kArn || base_ == Operator::kStringLike) {
      ok = tv.tmpl.ResolveGlob(context, &r.glob, &missing);
      if (ok && family_ == ValueKind::kArn) {
        r.arn = r.glob.Split(':', 6);
        if (r.arn.size() != 6) {
          *error = "condition " + Describe() + ": value `" + r.glob.ToString() +
                   "` is not an ARN after substituting policy variables";
          return false;
        }
      }
    } else {
      ok = tv.tmpl.ResolveString(context, &r.text, &missing);
      if (ok && base_ == Operator::kStringEqualsIgnoreCase) r.text = ToLowerAscii(r.text);
    }
    if (!ok) {
      *error = "condition " + Describe() + ": policy variable `${" + missing + "}` has no value";
      return false;
    }
    out->push_back(std::move(r));
  }
  return true;
}

CompiledCondition::Outcome CompiledCondition::MatchOne(std::string_view value,
                                                       const std::vector<TextValue>& resolved,
                                                       std::string* error) const {
  auto wrong_type = [&](std::string_view what) {
    *error = "condition " + Describe() + ": context value `" + std::string(value) + "` is not " +
             std::string(what);
    return Outcome::kError;
  };
  auto result = [](bool b) { return b ? Outcome::kTrue : Outcome::kFalse; };
  switch (family_) {
    case ValueKind::kString:
    case ValueKind::kArn: {
      std::optional<std::array<std::string_view, 6>> arn;
      if (family_ == ValueKind::kArn) {
        arn = SplitArn(value);
        if (!arn) return wrong_type("an ARN");
      }
      auto test = [&](const TextValue& tv) {
        switch (base_) {
          case Operator::kStringEquals:
            return value == tv.text;
          case Operator::kStringEqualsIgnoreCase:
            return EqualsIgnoreCaseAscii(value, tv.text);
          case Operator::kStringLike:
            return tv.glob.Matches(value);
          case Operator::kArnEquals:
          case Operator::kArnLike:
            return MatchArn(tv.arn, value);
          case Operator::kStringNotEquals:
          case Operator::kStringNotEqualsIgnoreCase:
          case Operator::kStringNotLike:
          case Operator::kNumericEquals:
          case Operator::kNumericNotEquals:
          case Operator::kNumericLessThan:
          case Operator::kNumericLessThanEquals:
          case Operator::kNumericGreaterThan:
          case Operator::kNumericGreaterThanEquals:
          case Operator::kDateEquals:
          case Operator::kDateNotEquals:
          case Operator::kDateLessThan:
          case Operator::kDateLessThanEquals:
          case Operator::kDateGreaterThan:
          case Operator::kDateGreaterThanEquals:
          case Operator::kBool:
          case Operator::kBinaryEquals:
          case Operator::kIpAddress:
          case Operator::kNotIpAddress:
          case Operator::kArnNotEquals:
          case Operator::kArnNotLike:
          case Operator::kNull:
            return false;
        }
        return false;
      };
      for (const TextValue& tv : texts_) {
        if (!tv.dynamic && test(tv)) return Outcome::kTrue;
      }
      for (const TextValue& tv : resolved) {
        if (test(tv)) return Outcome::kTrue;
      }
      return Outcome::kFalse;
    }
    case ValueKind::kNumber: {
      auto d = ParseDecimal(value);
      if (!d) return wrong_type("a number");
      for (const Decimal& p : numbers_) {
        if (CompareHolds(base_, CompareDecimal(*d, p.view()))) return Outcome::kTrue;
      }
      return Outcome::kFalse;
    }
    case ValueKind::kDate: {
      auto t = ParseInstant(value);
      if (!t) return wrong_type("a date");
      for (const Instant& p : dates_) {
        if (CompareHolds(base_, Compare3(*t, p))) return Outcome::kTrue;
      }
      return Outcome::kFalse;
    }
    case ValueKind::kBool: {
      auto b = ParseBool(value);
      if (!b) return wrong_type("`true` or `false`");
      for (bool p : bools_) {
        if (p == *b) return Outcome::kTrue;
      }
      return Outcome::kFalse;
    }
    case ValueKind::kBinary: {
      auto bytes = DecodeBase64(value);
      if (!bytes) return wrong_type("base64");
      for (const std::string& p : binaries_) {
        if (p == *bytes) return Outcome::kTrue;
      }
      return Outcome::kFalse;
    }
    case ValueKind::kIp: {
      auto ip = ParseIpAddress(value);
      if (!ip) return wrong_type("an IP address");
      for (const IpNetwork& n : networks_) {
        if (n.Contains(*ip)) return Outcome::kTrue;
      }
      return Outcome::kFalse;
    }
    case ValueKind::kNull:
      break;
  }
  return result(false);
}

CompiledCondition::Outcome CompiledCondition::Evaluate(const ContextView& context,
                                                       std::string* error,
                                                       std::string* note) const {
  auto set_note = [&](std::string text) {
    if (note != nullptr) *note = std::move(text);
  };
  ContextView::Lookup found = context.Find(key_lower_);
  if (found.ambiguous) {
    *error = "context key `" + key_ + "` is given more than once (keys are case-insensitive)";
    return Outcome::kError;
  }
  // A key given with no values (an empty array) counts as absent, as IAM treats a
  // null data set.
  const bool present = found.value != nullptr && !found.value->values.empty();

  if (family_ == ValueKind::kNull) {
    for (bool want_absent : bools_) {
      if (want_absent == !present) {
        set_note(present ? "key present" : "key absent");
        return Outcome::kTrue;
      }
    }
    set_note(present ? "key present" : "key absent");
    return Outcome::kFalse;
  }

  if (!present) {
    set_note("key absent");
    if (spec_.if_exists) return Outcome::kTrue;
    switch (spec_.qualifier) {
      case SetQualifier::kForAllValues:
        return Outcome::kTrue;
      case SetQualifier::kForAnyValue:
        return Outcome::kFalse;
      case SetQualifier::kNone:
        return negated_ ? Outcome::kTrue : Outcome::kFalse;
    }
    return Outcome::kFalse;
  }

  std::vector<TextValue> resolved;
  if (has_dynamic_ && !Resolve(context, &resolved, error)) return Outcome::kError;

  // Every request value is checked (no early exit) so a value of the wrong type is
  // always reported, whatever its position.
  size_t passed = 0;
  size_t total = 0;
  bool errored = false;
  for (const std::string& value : found.value->values) {
    std::string value_error;
    Outcome m = MatchOne(value, resolved, &value_error);
    ++total;
    if (m == Outcome::kError) {
      if (!errored) *error = std::move(value_error);
      errored = true;
      continue;
    }
    const bool positive = m == Outcome::kTrue;
    // A request value "passes" when it satisfies the operator as written: for a negated
    // operator, when it matches none of the policy values.
    if (positive != negated_) ++passed;
  }
  if (errored) return Outcome::kError;

  bool holds = false;
  switch (spec_.qualifier) {
    case SetQualifier::kForAllValues:
      holds = passed == total;
      break;
    case SetQualifier::kForAnyValue:
      holds = passed > 0;
      break;
    case SetQualifier::kNone:
      // Positive: some value matches. Negated: not (some value matches), i.e. every
      // value passes.
      holds = negated_ ? passed == total : passed > 0;
      break;
  }
  if (holds) {
    set_note("matched");
  } else if (spec_.qualifier == SetQualifier::kForAllValues) {
    set_note(negated_ ? "a value matched a policy value" : "a value matched no policy value");
  } else {
    set_note(negated_ ? "a value matched a policy value" : "no value matched");
  }
  return holds ? Outcome::kTrue : Outcome::kFalse;
}

}  // namespace fnjail::policy::internal
