// Helpers shared by the policy front ends (TOML, IAM JSON, request JSON, test suites).
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "policy/ast.h"
#include "policy/diagnostics.h"

namespace fnjail::policy::internal {

// Returns `did you mean `x`?` for the entry of `known` closest to `unknown` (same letters
// ignoring case, `_` and `-`, or within a small edit distance), or an empty string when
// nothing is close enough to be a plausible typo.
std::string SuggestSpelling(std::string_view unknown,
                            std::initializer_list<std::string_view> known);
std::string SuggestSpelling(std::string_view unknown, const std::vector<std::string>& known);

// SuggestSpelling over every IAM condition operator spelling (with set qualifiers and
// `IfExists`), for `unknown condition operator` messages.
std::string SuggestOperator(std::string_view unknown);

// The default document id for a file: its name without folders and extension
// (`policies/invoke.toml` -> `invoke`). Returns `file` unchanged when that would be empty.
std::string DocumentIdFromFile(std::string_view file);

// Adds an error at `span` and returns false when `text` (the value of `key`) holds a
// control character (below 0x20, or 0x7f), which no policy identifier or pattern needs
// and which would make it display as something it does not match.
bool CheckNoControlCharacters(std::string_view text, std::string_view key, SourceSpan span,
                              Diagnostics& diagnostics);

// Adds an error at the value for each policy variable that does not parse (an
// unterminated `${`, an empty name, a default not in single quotes), worded as
// PolicySet::Compile words it, in the places variables are expanded: resources and the
// values of string and ARN conditions. A policy that loads then also compiles.
void CheckPolicyVariables(const Statement& statement, Diagnostics& diagnostics);

// Lower-cases ASCII letters; other bytes are kept as they are.
std::string AsciiLower(std::string_view text);

}  // namespace fnjail::policy::internal
