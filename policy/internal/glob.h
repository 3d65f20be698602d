// Wildcard patterns of the policy language: `*` matches any run of characters (also
// empty, also across `:` and `/`), `?` exactly one character.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fnjail::policy::internal {

// A compiled wildcard pattern. Matching is byte-wise and case-sensitive; callers that
// need case-insensitive matching (actions) lower-case both sides once, up front.
//
// A pattern is assembled from pieces: wildcard text, where `*` and `?` are wildcards, and
// literal text, where they are ordinary characters (the `${*}` escapes and values of
// policy variables). Matching never allocates.
//
// Thread-safety: const methods are safe to call concurrently.
class Glob {
 public:
  // An empty pattern: matches only the empty string.
  Glob() = default;

  // Compiles `pattern` with `*` and `?` as wildcards.
  static Glob Compile(std::string_view pattern);

  // Appends text whose `*` and `?` are wildcards.
  void AppendPattern(std::string_view pattern);
  // Appends text matched literally, character for character.
  void AppendLiteral(std::string_view text);

  // True when `text` matches the whole pattern.
  bool Matches(std::string_view text) const noexcept;

  // True for a pattern that is exactly one `*` (matches everything).
  bool MatchesEverything() const { return shape_ == Shape::kEverything; }
  // True when the pattern has no wildcards; literal() is then the whole pattern.
  bool IsLiteral() const { return shape_ == Shape::kLiteral; }
  // The characters before the first wildcard.
  std::string_view LiteralPrefix() const;
  // The pattern with `*` and `?` written back (literal wildcard characters are shown
  // as `${*}` and `${?}`), for messages.
  std::string ToString() const;

  // Splits at the first `max_parts - 1` literal occurrences of `separator` (wildcards
  // never split). Returns fewer than `max_parts` pieces when there are not enough
  // separators.
  std::vector<Glob> Split(char separator, size_t max_parts) const;

 private:
  enum class Op : uint8_t { kChar, kAnyChar, kAnyRun };
  // kStars: only `*` wildcards (no `?`), matched segment by segment with find().
  enum class Shape : uint8_t { kLiteral, kPrefix, kEverything, kStars, kGeneral };

  void Push(Op op, char c);
  void UpdateShape();

  // INVARIANT: ops_ and chars_ have equal length; chars_[i] is meaningful for kChar.
  std::vector<Op> ops_;
  std::string chars_;
  // The pattern's characters when it is literal, or its prefix before a single final `*`.
  std::string literal_;
  // kStars: the literal runs between `*`s, and whether the pattern starts / ends with `*`.
  std::vector<std::string> segments_;
  bool leading_star_ = false;
  bool trailing_star_ = false;
  Shape shape_ = Shape::kLiteral;

  bool MatchStars(std::string_view text) const noexcept;
};

// Lower-cases ASCII letters of `text` (policy keys and actions are ASCII).
std::string ToLowerAscii(std::string_view text);
inline char LowerAsciiChar(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
// ASCII case-insensitive equality.
bool EqualsIgnoreCaseAscii(std::string_view a, std::string_view b);

}  // namespace fnjail::policy::internal
