// A position-aware JSON reader for the policy front ends (IAM policies, requests).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "policy/diagnostics.h"

namespace fnjail::policy::internal {

struct JsonMember;

// One parsed JSON value and where its first character is (1-based line and byte column).
struct JsonValue {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };

  Kind kind = Kind::kNull;
  // kString: the decoded text; kNumber: the number exactly as written; kBool: `true` or
  // `false`.
  std::string text;
  std::vector<JsonValue> items;     // kArray
  std::vector<JsonMember> members;  // kObject, in document order, keys unique
  uint32_t line = 0;
  uint32_t column = 0;

  bool is_string() const { return kind == Kind::kString; }
  bool is_object() const { return kind == Kind::kObject; }
  bool is_array() const { return kind == Kind::kArray; }
};

struct JsonMember {
  std::string key;
  uint32_t line = 0;  // of the key's opening quote
  uint32_t column = 0;
  JsonValue value;
};

// Parses one JSON value (RFC 8259, UTF-8; nlohmann-json's SAX parser) into a tree with
// positions. On top of what nlohmann checks, a duplicate key in an object and nesting
// deeper than kMaxJsonDepth (policy.h) are errors, and input longer than
// kMaxPolicyFileBytes is refused unread. Every duplicate key is reported; a syntax error
// or the depth limit stops the parse. Spans name `source`.
// Thread-safety: none needed (no shared state).
Result<JsonValue> ReadJson(std::string_view text, std::string_view source);

// `a string`, `an object`, ...: the JSON type of `kind` for messages.
std::string_view JsonKindName(JsonValue::Kind kind);

}  // namespace fnjail::policy::internal
