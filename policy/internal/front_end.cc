// Spelling suggestions and default ids for the policy front ends.
#include "policy/internal/front_end.h"

#include <algorithm>
#include <cstdio>
#include <utility>
#include <vector>

#include "policy/ast.h"
#include "policy/internal/variables.h"

namespace fnjail::policy::internal {
namespace {

// Letters only, lower-cased: `NotAction`, `not_action` and `not-action` compare equal.
std::string Normalize(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '_' || c == '-') continue;
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return out;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      const size_t substitution = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({above + 1, row[j - 1] + 1, substitution});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The closest of [first, last) to `unknown`, as a `did you mean` help text.
template <class Iterator>
std::string Closest(std::string_view unknown, Iterator first, Iterator last) {
  const std::string wanted = Normalize(unknown);
  if (wanted.empty()) return {};
  std::string_view best;
  size_t best_distance = 0;
  for (; first != last; ++first) {
    const std::string_view candidate = *first;
    const std::string normalized = Normalize(candidate);
    // A singular for a plural (`policy` for `policies`) shares all but its last letter.
    if (wanted.size() >= 4 && normalized.starts_with(wanted.substr(0, wanted.size() - 1))) {
      return "did you mean `" + std::string(candidate) + "`?";
    }
    const size_t distance = EditDistance(wanted, normalized);
    if (best.empty() || distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  // A typo changes a letter or two; anything further is a different word.
  const size_t limit = wanted.size() <= 4 ? 1 : 2;
  if (best.empty() || best_distance > limit) return {};
  return "did you mean `" + std::string(best) + "`?";
}

}  // namespace

std::string SuggestSpelling(std::string_view unknown,
                            std::initializer_list<std::string_view> known) {
  return Closest(unknown, known.begin(), known.end());
}

std::string SuggestSpelling(std::string_view unknown, const std::vector<std::string>& known) {
  return Closest(unknown, known.begin(), known.end());
}

std::string SuggestOperator(std::string_view unknown) {
  std::vector<std::string> names;
  for (int op = 0; op <= static_cast<int>(Operator::kNull); ++op) {
    for (SetQualifier qualifier :
         {SetQualifier::kNone, SetQualifier::kForAllValues, SetQualifier::kForAnyValue}) {
      for (bool if_exists : {false, true}) {
        const OperatorSpec spec{static_cast<Operator>(op), qualifier, if_exists};
        std::string name = OperatorName(spec);
        // Only spellings IAM accepts (there is no NullIfExists).
        if (ParseOperator(name)) names.push_back(std::move(name));
      }
    }
  }
  return SuggestSpelling(unknown, names);
}

std::string DocumentIdFromFile(std::string_view file) {
  std::string_view name = file;
  if (const size_t slash = name.find_last_of('/'); slash != std::string_view::npos) {
    name.remove_prefix(slash + 1);
  }
  if (const size_t dot = name.find_last_of('.'); dot != std::string_view::npos && dot > 0) {
    name = name.substr(0, dot);
  }
  return name.empty() ? std::string(file) : std::string(name);
}

bool CheckNoControlCharacters(std::string_view text, std::string_view key, SourceSpan span,
                              Diagnostics& diagnostics) {
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte != 0x7f) continue;
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", static_cast<unsigned>(byte));
    diagnostics.Error(std::move(span),
                      "control character `" + std::string(hex) + "` in `" + std::string(key) + "`");
    return false;
  }
  return true;
}

void CheckPolicyVariables(const Statement& statement, Diagnostics& diagnostics) {
  auto check = [&diagnostics](const Literal& value) {
    if (value.text.find("${") == std::string::npos) return;
    if (auto parsed = Template::Parse(value.text); !parsed) {
      diagnostics.Error(value.span, parsed.error());
    }
  };
  if (statement.resource) {
    for (const Literal& value : statement.resource->values) check(value);
  }
  for (const Condition& condition : statement.conditions) {
    // Variables are expanded only in string and ARN conditions; other values are checked
    // for their type.
    const ValueKind kind = ValueKindOf(condition.spec.op);
    if (kind == ValueKind::kString || kind == ValueKind::kArn) {
      for (const Literal& value : condition.values) check(value);
    }
  }
}

std::string AsciiLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace fnjail::policy::internal
