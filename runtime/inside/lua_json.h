// JSON for the Lua runtime: events decoded to Lua values, results encoded back, and the
// `json` table handlers use (json.encode, json.decode, json.null, json.array).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <lua.hpp>

namespace fnjail::runtime::inside {

inline constexpr int kMaxJsonDepth = 64;

// A JSON text checked and flattened by the parser, ready to become Lua values. Parsing
// needs no Lua state, so it runs outside Lua's protected mode with ordinary C++ objects.
struct JsonTokens {
  enum class Kind : uint8_t {
    kNull, kFalse, kTrue, kInteger, kFloat, kString, kKey,
    kBeginObject, kEndObject, kBeginArray, kEndArray,
  };
  struct Token {
    Kind kind;
    int64_t integer = 0;
    double number = 0;
    size_t offset = 0, length = 0;  // into `text` for strings and keys
  };
  std::vector<Token> tokens;
  std::string text;
};

// Parses `text` as one strict JSON value (RFC 8259, UTF-8): nesting deeper than
// kMaxJsonDepth, trailing bytes and invalid UTF-8 are errors. Duplicate keys are found when
// the tokens become Lua tables (PushJson). Returns false with a message on error.
bool ParseJson(std::string_view text, JsonTokens* out, std::string* error);

// Pushes the value of `tokens` on the stack. Objects become tables, arrays sequences marked
// as arrays (json.array), null json.null. Raises a Lua error on a duplicate key.
// REQUIRES: protected mode (it may raise); OpenJson was called on this state.
void PushJson(lua_State* L, const JsonTokens& tokens);

// Appends the JSON text of the value at `index` to a buffer and pushes it as a string.
// Raises a Lua error on a value JSON cannot hold (functions, NaN, cycles or nesting past
// kMaxJsonDepth, keys that are neither strings nor integers, invalid UTF-8).
// REQUIRES: protected mode.
void PushJsonEncoded(lua_State* L, int index);

// Sets the global `json` table. REQUIRES: protected mode.
void OpenJson(lua_State* L);

// Whether the value at `index` is json.null.
bool IsJsonNull(lua_State* L, int index);

}  // namespace fnjail::runtime::inside
