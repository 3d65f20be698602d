// Policy variables: `${key}`, `${key, 'default'}` and the `${*}` `${?}` `${$}` escapes,
// parsed once at compile time and resolved against a request's context at decision time.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "policy/internal/glob.h"
#include "policy/policy.h"

namespace fnjail::policy::internal {

// Case-insensitive read access to a request's context. Keys in policies are stored
// lower-cased; the request's keys are compared without copying them.
class ContextView {
 public:
  struct Lookup {
    const ContextValue* value = nullptr;  // null when the key is absent
    bool ambiguous = false;  // the request gave the key more than once (different case)
  };

  explicit ContextView(const std::map<std::string, ContextValue>& context);

  // Finds `lower_key` (already lower-case). Linear in the context size, no allocation.
  Lookup Find(std::string_view lower_key) const noexcept;

  // A 1024-bit Bloom-style set of the keys given (with or without values), over a
  // hash of the lower-cased key: a clear bit proves a key absent, a set bit proves
  // nothing. KeyBit(key) is the bit of `key` (either case).
  static uint16_t KeyBit(std::string_view key) noexcept {
    // The length and four characters (lower-cased), spread by a multiplicative hash:
    // constant time whatever the key's length. Collisions only cost precision.
    const size_t n = key.size();
    auto at = [&](size_t i) -> uint64_t {
      return i < n ? static_cast<uint8_t>(LowerAsciiChar(key[i])) : 0;
    };
    uint64_t h = n;
    h = h * 131 + at(n - 1);
    h = h * 131 + at(n - 2);
    h = h * 131 + at(n - 3);
    h = h * 131 + at(n / 2);
    h *= 0x9E3779B97F4A7C15ULL;
    return static_cast<uint16_t>(h >> (64 - kKeyBitsLog2));
  }
  bool MayHave(uint16_t bit) const noexcept { return (key_words_[bit >> 6] >> (bit & 63)) & 1U; }

 private:
  // Small contexts (the usual case) are scanned as a flat array rather than a tree.
  static constexpr size_t kFlatEntries = 24;
  static constexpr size_t kKeyBitsLog2 = 10;
  static constexpr size_t kKeyBits = size_t{1} << kKeyBitsLog2;
  struct Entry {
    std::string_view key;
    const ContextValue* value = nullptr;
  };
  const std::map<std::string, ContextValue>& context_;
  std::array<Entry, kFlatEntries> flat_;
  size_t flat_size_ = 0;
  bool flat_ok_ = false;
  std::array<uint64_t, kKeyBits / 64> key_words_{};
};

// A string from a policy with its policy variables parsed. Text outside `${...}` is kept
// as written (for patterns, its `*` and `?` stay wildcards); the value a variable takes
// and the escapes are always literal text, never wildcards.
class Template {
 public:
  // Parses `text`. Errors (as a message for a policy author): an unterminated `${`, an
  // empty variable name, a malformed default value.
  static tl::expected<Template, std::string> Parse(std::string_view text);

  // True when some part depends on the request context.
  bool HasVariables() const { return has_variables_; }

  // The text with escapes applied. REQUIRES: !HasVariables().
  std::string StaticString() const;
  // The pattern with escapes as literal characters. REQUIRES: !HasVariables().
  Glob StaticGlob() const;
  // The pattern with every variable replaced by `*`: whatever a variable resolves to, a
  // text the resolved pattern matches is also matched by this one. Lets a caller rule
  // out a match without resolving (and allocating).
  Glob Skeleton() const;

  // Substitutes variables from `context`. A variable resolves when its key is present
  // with exactly one value and was not given as an array (IAM cannot substitute
  // multivalued keys); otherwise its default is used when it has one. Returns false and
  // sets `*missing` to the key as written when a variable cannot be resolved.
  bool ResolveString(const ContextView& context, std::string* out, std::string* missing) const;
  bool ResolveGlob(const ContextView& context, Glob* out, std::string* missing) const;

 private:
  enum class PartKind { kText, kEscape, kVariable };
  struct Part {
    PartKind kind = PartKind::kText;
    std::string text;       // kText: as written; kEscape: the character; kVariable: key lower-cased
    std::string key;        // kVariable: key as written, for messages
    std::optional<std::string> default_value;
  };

  // Returns the value for a kVariable part, or nullopt.
  static std::optional<std::string_view> Value(const Part& part, const ContextView& context);

  std::vector<Part> parts_;
  bool has_variables_ = false;
};

}  // namespace fnjail::policy::internal
