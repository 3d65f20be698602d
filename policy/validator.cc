// Lint: findings about policy documents that load but probably do not say what was meant.
//
// Every finding must be true: when a check cannot be sure (variables, set qualifiers,
// patterns too complex to compare), it stays silent. Precision over recall.
#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "policy/internal/values.h"
#include "policy/policy.h"

namespace fnjail::policy {
namespace {

// ---- text helpers ---------------------------------------------------------------------

constexpr size_t kMaxQuotedChars = 80;

char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (LowerAscii(a[i]) != LowerAscii(b[i])) return false;
  }
  return true;
}

std::string LowerCopy(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = LowerAscii(c);
  return out;
}

bool HasVariable(std::string_view s) { return s.find("${") != std::string_view::npos; }

// User input in backticks, on one line: control characters are escaped so a value cannot
// forge further diagnostic lines, and very long values are shortened.
std::string Code(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "`";
  size_t shown = 0;
  for (char ch : s) {
    if (shown == kMaxQuotedChars) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += ch;
    }
    ++shown;
  }
  out += '`';
  return out;
}

std::string StatementCode(const Statement& s) { return "statement " + Code(StatementName(s)); }

std::string AtLine(const SourceSpan& span) {
  return span.line > 0 ? " (line " + std::to_string(span.line) + ")" : std::string();
}

// Element names as the author wrote them: IAM JSON or the native TOML spelling.
struct Spelling {
  std::string_view action;
  std::string_view not_action;
  std::string_view resource;
  std::string_view not_resource;
  std::string_view principal;
  std::string_view not_principal;
};

constexpr Spelling kTomlSpelling = {"action",       "not_action", "resource",
                                    "not_resource", "principal",  "not_principal"};
constexpr Spelling kIamSpelling = {"Action",      "NotAction", "Resource",
                                   "NotResource", "Principal", "NotPrincipal"};

enum class ElementKind { kPrincipal, kAction, kResource };

std::string_view ElementName(const Spelling& spelling, ElementKind kind, bool negated) {
  switch (kind) {
    case ElementKind::kPrincipal:
      return negated ? spelling.not_principal : spelling.principal;
    case ElementKind::kAction:
      return negated ? spelling.not_action : spelling.action;
    case ElementKind::kResource:
      return negated ? spelling.not_resource : spelling.resource;
  }
  return {};
}

// ---- pattern coverage -----------------------------------------------------------------

// A pattern of only `*` matches every string.
bool MatchesEverything(std::string_view pattern) {
  return !pattern.empty() && pattern.find_first_not_of('*') == std::string_view::npos;
}

bool IsWildcard(char c) { return c == '*' || c == '?'; }

// Replaces each `${...}` (variables and the `${*}` `${?}` `${$}` escapes) with `*`.
// Whatever a variable resolves to, the resolved pattern matches a subset of what this one
// matches, so coverage of the result is coverage of the original. Nullopt for an
// unterminated `${`.
std::optional<std::string> VariablesAsStars(std::string_view s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    if (s.compare(i, 2, "${") != 0) {
      out += s[i++];
      continue;
    }
    // The closing brace is the first one outside a quoted default (`''` inside quotes is
    // a quote, which toggling twice handles).
    size_t close = i + 2;
    bool quoted = false;
    while (close < s.size() && (quoted || s[close] != '}')) {
      if (s[close] == '\'') quoted = !quoted;
      ++close;
    }
    if (close == s.size()) return std::nullopt;
    out += '*';
    i = close + 1;
  }
  return out;
}

// True when `outer` matches every string that `inner` matches; both are globs with `*` (any
// run of characters) and `?` (one character). Sound, and complete for the shapes policies
// use: it matches `outer` against the text of `inner`, where a `*` of `inner` can only be
// consumed by a `*` of `outer`, a `?` of `inner` by a `?` or `*` of `outer`, and a literal
// character by the same character, `?` or `*`.
bool GlobCovers(std::string_view outer, std::string_view inner, bool fold_case) {
  auto same = [fold_case](char a, char b) {
    return fold_case ? LowerAscii(a) == LowerAscii(b) : a == b;
  };
  // Quick rejection on the literal prefix of `outer`, the common case for action lists.
  size_t prefix = 0;
  while (prefix < outer.size() && !IsWildcard(outer[prefix])) {
    if (prefix >= inner.size() || IsWildcard(inner[prefix]) ||
        !same(outer[prefix], inner[prefix])) {
      return false;
    }
    ++prefix;
  }
  if (prefix == outer.size()) return prefix == inner.size();
  outer.remove_prefix(prefix);
  inner.remove_prefix(prefix);

  // reach[j]: the outer prefix seen so far can consume exactly inner[0, j).
  std::array<char, 128> small;  // only the first inner.size() + 1 entries are used
  std::vector<char> large;
  char* reach = small.data();
  if (inner.size() + 1 > small.size()) {
    large.resize(inner.size() + 1);
    reach = large.data();
  }
  std::fill_n(reach, inner.size() + 1, 0);
  reach[0] = 1;
  for (char o : outer) {
    if (o == '*') {
      // A star extends any reachable position to every later one.
      for (size_t j = 1; j <= inner.size(); ++j) reach[j] = reach[j] || reach[j - 1];
      continue;
    }
    for (size_t j = inner.size(); j > 0; --j) {
      const char i = inner[j - 1];
      const bool consumes = o == '?' ? i != '*' : (!IsWildcard(i) && same(o, i));
      reach[j] = reach[j - 1] && consumes;
    }
    reach[0] = 0;
  }
  return reach[inner.size()] != 0;
}

bool PatternCovers(std::string_view outer, std::string_view inner, ElementKind kind) {
  if (kind == ElementKind::kPrincipal) return outer == "*" || outer == inner;
  const bool fold_case = kind == ElementKind::kAction;
  if (MatchesEverything(outer)) return true;
  // A variable in the covering pattern resolves per request: only the same text is sure.
  if (HasVariable(outer)) return fold_case ? EqualsIgnoreCase(outer, inner) : outer == inner;
  if (HasVariable(inner)) {
    auto skeleton = VariablesAsStars(inner);
    return skeleton.has_value() && GlobCovers(outer, *skeleton, fold_case);
  }
  return GlobCovers(outer, inner, fold_case);
}

// Every pattern of `inner` is covered by some single pattern of `outer`.
bool ValuesCover(const std::vector<Literal>& outer, const std::vector<Literal>& inner,
                 ElementKind kind) {
  for (const auto& in : inner) {
    bool covered = false;
    for (const auto& out : outer) {
      if (PatternCovers(out.text, in.text, kind)) {
        covered = true;
        break;
      }
    }
    if (!covered) return false;
  }
  return true;
}

// Why a pattern can match nothing.
enum class DeadPattern { kNone, kEmpty, kNoService };

DeadPattern ClassifyPattern(std::string_view text, ElementKind kind) {
  // Requests never name an empty principal, action or resource.
  if (text.empty()) return DeadPattern::kEmpty;
  // Actions are `service:name`; without a colon or a wildcard that could stand for one, a
  // pattern matches no action.
  if (kind == ElementKind::kAction && text.find_first_of(":*?") == std::string_view::npos) {
    return DeadPattern::kNoService;
  }
  return DeadPattern::kNone;
}

bool AnyMatchesEverything(const std::vector<Literal>& values, ElementKind kind) {
  for (const auto& v : values) {
    if (kind == ElementKind::kPrincipal ? v.text == "*" : MatchesEverything(v.text)) return true;
  }
  return false;
}

// True when element `a` matches everything element `b` matches (same element of two
// statements). An absent element is only known to cover another absent one.
bool ElementCovers(const std::optional<Element>& a, const std::optional<Element>& b,
                   ElementKind kind) {
  if (!a.has_value() || !b.has_value()) return !a.has_value() && !b.has_value();
  if (!a->negated && !b->negated) return ValuesCover(a->values, b->values, kind);
  if (!a->negated && b->negated) return AnyMatchesEverything(a->values, kind);
  // Not(X) covers Not(Y) when X matches no more than Y. Not(X) covering a positive list
  // would need disjointness of globs: left unjudged.
  if (a->negated && b->negated) return ValuesCover(b->values, a->values, kind);
  return false;
}

bool StatementCovers(const Statement& a, const Statement& b) {
  // Cheapest first: principals and resources are short lists, action lists can be long.
  return ElementCovers(a.principal, b.principal, ElementKind::kPrincipal) &&
         ElementCovers(a.resource, b.resource, ElementKind::kResource) &&
         ElementCovers(a.action, b.action, ElementKind::kAction);
}

// ---- condition values -----------------------------------------------------------------

// -1, 0 or 1 comparing two numbers or two dates; nullopt when either does not parse.
std::optional<int> CompareOrdered(ValueKind type, std::string_view a, std::string_view b) {
  if (type == ValueKind::kDate) {
    auto x = internal::ParseInstant(a);
    auto y = internal::ParseInstant(b);
    if (!x || !y) return std::nullopt;
    return *x < *y ? -1 : (*y < *x ? 1 : 0);
  }
  auto x = internal::ParseDecimal(a);
  auto y = internal::ParseDecimal(b);
  if (!x || !y) return std::nullopt;
  return internal::CompareDecimal(*x, *y);
}

// A one-sided bound that a range condition puts on its key: values OR, so the loosest
// value of the list is the bound.
struct Bound {
  bool upper = false;  // key < value (or <=) when true; key > value (or >=) otherwise
  bool strict = false;
  const Literal* literal = nullptr;
};

std::optional<Bound> RangeBound(const Condition& c, ValueKind type) {
  const Operator op = c.spec.op;
  Bound bound;
  if (op == Operator::kNumericLessThan || op == Operator::kDateLessThan) {
    bound.upper = true;
    bound.strict = true;
  } else if (op == Operator::kNumericLessThanEquals || op == Operator::kDateLessThanEquals) {
    bound.upper = true;
  } else if (op == Operator::kNumericGreaterThan || op == Operator::kDateGreaterThan) {
    bound.strict = true;
  } else if (op != Operator::kNumericGreaterThanEquals && op != Operator::kDateGreaterThanEquals) {
    return std::nullopt;
  }
  for (const auto& v : c.values) {
    const Literal& loosest = bound.literal == nullptr ? v : *bound.literal;
    auto order = CompareOrdered(type, v.text, loosest.text);
    if (!order) return std::nullopt;
    if (bound.literal == nullptr || (bound.upper ? *order > 0 : *order < 0)) bound.literal = &v;
  }
  if (bound.literal == nullptr) return std::nullopt;
  return bound;
}

// True when conditions `a` and `b` on one key both apply to a present, single value: no set
// qualifier, and not both `...IfExists` (a missing key would satisfy both).
bool BothConstrainOneValue(const Condition& a, const Condition& b) {
  return a.spec.qualifier == SetQualifier::kNone && b.spec.qualifier == SetQualifier::kNone &&
         !(a.spec.if_exists && b.spec.if_exists) && EqualsIgnoreCase(a.key.text, b.key.text);
}

// True when no string equals a value of both StringEquals(IgnoreCase) lists.
bool StringListsDisjoint(const Condition& a, const Condition& b) {
  const bool fold = a.spec.op == Operator::kStringEqualsIgnoreCase ||
                    b.spec.op == Operator::kStringEqualsIgnoreCase;
  if (a.values.empty() || b.values.empty()) return false;
  for (const auto& x : a.values) {
    if (HasVariable(x.text)) return false;
    for (const auto& y : b.values) {
      if (HasVariable(y.text)) return false;
      if (fold ? EqualsIgnoreCase(x.text, y.text) : x.text == y.text) return false;
    }
  }
  return true;
}

bool IsStringEquality(Operator op) {
  return op == Operator::kStringEquals || op == Operator::kStringEqualsIgnoreCase;
}

std::string ValueList(const std::vector<Literal>& values) {
  std::string out;
  for (const auto& v : values) {
    if (!out.empty()) out += ", ";
    out += Code(v.text);
  }
  return out;
}

// ---- the linter -----------------------------------------------------------------------

class Linter {
 public:
  explicit Linter(const Document& doc)
      : doc_(doc),
        spelling_(doc.file.ends_with(".json") ? kIamSpelling : kTomlSpelling),
        settled_(doc.statements.size(), false) {}

  Diagnostics Run() {
    CheckDuplicateSids();
    for (size_t i = 0; i < doc_.statements.size(); ++i) {
      const Statement& s = doc_.statements[i];
      CheckBroadAllow(s);
      // A statement that never matches, or whose values cannot be evaluated, is settled by
      // its own finding; comparing it with others would only add noise.
      bool settled = CheckPrincipalRequired(s);
      settled = CheckElementPatterns(s, s.action, ElementKind::kAction) || settled;
      settled = CheckElementPatterns(s, s.resource, ElementKind::kResource) || settled;
      settled = CheckElementPatterns(s, s.principal, ElementKind::kPrincipal) || settled;
      settled = CheckConditionValues(s) || settled;
      settled = CheckConditionPairs(s) || settled;
      settled_[i] = settled;
    }
    CheckShadowing();
    return std::move(diags_);
  }

 private:
  void CheckDuplicateSids() {
    std::unordered_map<std::string_view, const Statement*> first;
    for (const auto& s : doc_.statements) {
      if (s.sid.empty()) continue;
      auto [it, inserted] = first.emplace(s.sid, &s);
      if (inserted) continue;
      diags_.Warning(s.span, "duplicate sid " + Code(s.sid),
                     "the sid is first used by the statement" + AtLine(it->second->span) +
                         "; decisions name statements by sid, so give each its own");
    }
  }

  // Allows that grant far more than they read. A boundary grants nothing by itself, and
  // allowing `*` (or all but a few actions) with denies beside it is the usual way to write
  // one, so boundaries are left alone.
  void CheckBroadAllow(const Statement& s) {
    if (s.effect != Effect::kAllow || doc_.kind == PolicyKind::kBoundary) return;
    for (ElementKind kind :
         {ElementKind::kAction, ElementKind::kResource, ElementKind::kPrincipal}) {
      const std::optional<Element>& e = ElementOf(s, kind);
      if (!e || !e->negated) continue;
      std::string_view what = kind == ElementKind::kAction     ? "action"
                              : kind == ElementKind::kResource ? "resource"
                                                               : "principal";
      diags_.Warning(e->span,
                     Code(ElementName(spelling_, kind, true)) + " in an allow grants every " +
                         std::string(what) + " except the ones listed",
                     "list what is allowed in " + Code(ElementName(spelling_, kind, false)) +
                         ", or pair it with a deny");
    }
    if (!s.action || s.action->negated || !s.resource || s.resource->negated) return;
    const Literal* star_action = nullptr;
    for (const auto& v : s.action->values) {
      if (MatchesEverything(v.text)) star_action = &v;
    }
    if (star_action == nullptr ||
        !AnyMatchesEverything(s.resource->values, ElementKind::kResource)) {
      return;
    }
    if (s.conditions.empty()) {
      diags_.Warning(star_action->span,
                     StatementCode(s) +
                         " allows action `*` on resource `*` with no conditions: it grants "
                         "everything",
                     "grant only the actions and resources that are needed");
    } else {
      diags_.Warning(star_action->span, StatementCode(s) + " allows action `*` on resource `*`",
                     "its conditions are all that limit it; grant only the actions and "
                     "resources that are needed");
    }
  }

  // A statement of a resource policy applies to the principals it names; without a
  // principal element it applies to nobody.
  bool CheckPrincipalRequired(const Statement& s) {
    if (doc_.kind != PolicyKind::kResource || s.principal.has_value()) return false;
    diags_.Warning(
        s.span,
        StatementCode(s) + " of a resource policy has no " + Code(spelling_.principal) +
            " and never matches",
        "name who it applies to with " + Code(spelling_.principal) + " (`*` for anyone)");
    return true;
  }

  // Patterns that match nothing: empty text, or an action without a `service:` prefix.
  // Returns true when every pattern of a positive element is such a pattern.
  bool CheckElementPatterns(const Statement& s, const std::optional<Element>& e, ElementKind kind) {
    if (!e) return false;
    auto name = [&] { return Code(ElementName(spelling_, kind, e->negated)); };
    if (e->values.empty()) {
      if (e->negated) return false;
      diags_.Warning(e->span, name() + " lists nothing, so " + StatementCode(s) + " never matches");
      return true;
    }
    std::vector<std::pair<const Literal*, DeadPattern>> dead;
    for (const auto& v : e->values) {
      const DeadPattern why = ClassifyPattern(v.text, kind);
      if (why != DeadPattern::kNone) dead.emplace_back(&v, why);
    }
    if (dead.empty()) return false;
    const bool all_dead = dead.size() == e->values.size() && !e->negated;
    // Without a colon an action pattern can only match an action that is not
    // `service:name`, which the gateway never asks about.
    const std::string consequence = !all_dead ? "remove it"
                                    : kind == ElementKind::kAction
                                        ? StatementCode(s) + " matches no `service:name` action"
                                        : StatementCode(s) + " never matches";
    for (const auto& [v, why] : dead) {
      if (why == DeadPattern::kEmpty) {
        diags_.Warning(v->span, "empty pattern in " + name() + " never matches", consequence);
      } else {
        diags_.Warning(
            v->span,
            "action " + Code(v->text) +
                " has no service prefix and matches no `service:name` action",
            "actions are written `service:name`, e.g. `function:Invoke`; " + consequence);
      }
    }
    return all_dead;
  }

  // Values that do not parse for their operator: numbers, dates, booleans (Bool, Null),
  // base64 and addresses. These are errors, worded as the compiler of the policy set words
  // them: such a condition cannot be evaluated. Returns true when the statement has such
  // a value.
  bool CheckConditionValues(const Statement& s) {
    bool any_error = false;
    for (const auto& c : s.conditions) {
      const ValueKind type = ValueKindOf(c.spec.op);
      if (type == ValueKind::kString) continue;
      for (const auto& v : c.values) {
        // Only string and ARN values expand variables; an ARN holding one is checked per
        // request. Anywhere else `${` is just a character that makes the value unparsable.
        if (type == ValueKind::kArn && HasVariable(v.text)) continue;
        std::string_view what;
        std::string_view help;
        switch (type) {
          case ValueKind::kNumber:
            if (!internal::ParseDecimal(v.text)) what = "a number";
            break;
          case ValueKind::kDate:
            if (!internal::ParseInstant(v.text)) {
              what = "a date";
              help = "write an ISO 8601 date-time such as `2026-01-31T12:00:00Z` or epoch seconds";
            }
            break;
          case ValueKind::kBool:
          case ValueKind::kNull:
            if (!internal::ParseBool(v.text)) what = "`true` or `false`";
            break;
          case ValueKind::kBinary:
            if (!internal::DecodeBase64(v.text)) what = "base64";
            break;
          case ValueKind::kIp:
            if (!internal::ParseIpNetwork(v.text)) {
              what = "an IP address or CIDR block";
              help = "write e.g. `203.0.113.0/24` or `2001:db8::/32`";
            }
            break;
          case ValueKind::kArn:
            // Six colon-separated components, as the compiler splits the pattern.
            if (std::count(v.text.begin(), v.text.end(), ':') < 5) {
              what = "an ARN";
              help = "write all six components: `arn:partition:service:region:account:resource`";
            }
            break;
          case ValueKind::kString:
            break;
        }
        if (what.empty()) continue;
        if (help.empty() && HasVariable(v.text)) {
          help = "policy variables are allowed only in string and ARN conditions";
        }
        any_error = true;
        diags_.Error(v.span,
                     Code(v.text) + " is not " + std::string(what) + " (in " +
                         Code(OperatorName(c.spec)) + " on " + Code(c.key.text) + ")",
                     std::string(help));
      }
    }
    return any_error;
  }

  // Pairs of conditions on one key that no single value satisfies together. Reports at
  // most one pair per statement and key.
  bool CheckConditionPairs(const Statement& s) {
    bool never = false;
    std::vector<std::string> reported_keys;
    for (size_t j = 1; j < s.conditions.size(); ++j) {
      const Condition& b = s.conditions[j];
      for (size_t i = 0; i < j; ++i) {
        const Condition& a = s.conditions[i];
        if (!BothConstrainOneValue(a, b)) continue;
        std::string reason = Conflict(a, b);
        if (reason.empty()) continue;
        std::string key = LowerCopy(b.key.text);
        if (std::find(reported_keys.begin(), reported_keys.end(), key) != reported_keys.end()) {
          continue;
        }
        reported_keys.push_back(std::move(key));
        // Without a set qualifier a condition holds when any one of the request's values
        // satisfies it, so a multivalued key could satisfy each condition with another value.
        diags_.Warning(
            b.span,
            "conditions on key " + Code(b.key.text) + " cannot both hold for one value: " + reason,
            "the other condition is" + AtLine(a.span) + "; " + StatementCode(s) +
                " matches only a request giving " + Code(b.key.text) +
                " several values, so for a single-valued key it never matches");
        never = true;
        break;
      }
    }
    return never;
  }

  // Why conditions `a` and `b` (same key, single value) cannot both hold, or empty.
  static std::string Conflict(const Condition& a, const Condition& b) {
    if (IsStringEquality(a.spec.op) && IsStringEquality(b.spec.op)) {
      if (!StringListsDisjoint(a, b)) return {};
      return "the value must be one of " + ValueList(a.values) + " and also one of " +
             ValueList(b.values);
    }
    const ValueKind type = ValueKindOf(a.spec.op);
    if ((type != ValueKind::kNumber && type != ValueKind::kDate) ||
        ValueKindOf(b.spec.op) != type) {
      return {};
    }
    auto ba = RangeBound(a, type);
    auto bb = RangeBound(b, type);
    if (!ba || !bb || ba->upper == bb->upper) return {};
    const Bound& upper = ba->upper ? *ba : *bb;
    const Bound& lower = ba->upper ? *bb : *ba;
    auto order = CompareOrdered(type, lower.literal->text, upper.literal->text);
    const bool empty = order && (*order > 0 || (*order == 0 && (lower.strict || upper.strict)));
    if (!empty) return {};
    return "the value must be " + std::string(upper.strict ? "less than " : "at most ") +
           Code(upper.literal->text) + " and " + (lower.strict ? "greater than " : "at least ") +
           Code(lower.literal->text);
  }

  // A statement adds nothing when a statement without conditions matches every request it
  // matches: a later statement of the same effect is shadowed by an earlier one, and an
  // allow covered by a deny can never allow (deny wins wherever both match).
  void CheckShadowing() {
    const auto& statements = doc_.statements;
    for (size_t j = 0; j < statements.size(); ++j) {
      if (settled_[j]) continue;
      const Statement& b = statements[j];
      for (size_t i = 0; i < statements.size(); ++i) {
        if (i == j || settled_[i]) continue;
        const Statement& a = statements[i];
        if (!a.conditions.empty()) continue;
        const bool same_effect = a.effect == b.effect;
        const bool deny_over_allow = a.effect == Effect::kDeny && b.effect == Effect::kAllow;
        if (same_effect && i > j) continue;
        if (!same_effect && !deny_over_allow) continue;
        if (!StatementCovers(a, b)) continue;
        const std::string covers =
            " has no conditions and matches every request " + Code(StatementName(b)) + " matches";
        const std::string help = "remove " + StatementCode(b) + ", or narrow " + StatementCode(a);
        if (same_effect) {
          diags_.Warning(b.span,
                         StatementCode(b) + " is shadowed by " + StatementCode(a) + AtLine(a.span) +
                             ", which" + covers,
                         help);
        } else {
          diags_.Warning(b.span,
                         StatementCode(b) + " can never allow: deny " + StatementCode(a) +
                             AtLine(a.span) + covers,
                         help);
        }
        break;
      }
    }
  }

  static const std::optional<Element>& ElementOf(const Statement& s, ElementKind kind) {
    switch (kind) {
      case ElementKind::kPrincipal:
        return s.principal;
      case ElementKind::kAction:
        return s.action;
      case ElementKind::kResource:
        return s.resource;
    }
    return s.action;
  }

  const Document& doc_;
  const Spelling& spelling_;
  std::vector<bool> settled_;  // statements left out of the shadowing check
  Diagnostics diags_;
};

}  // namespace

Diagnostics Lint(const Document& doc) { return Linter(doc).Run(); }

}  // namespace fnjail::policy
