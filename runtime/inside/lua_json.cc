// JSON <-> Lua values for the Lua runtime.
//
// Functions here that take a lua_State run in Lua's protected mode, where an error is a
// longjmp: their frames hold only trivially destructible values, and any buffer lives in
// a Lua userdata whose finalizer frees it.
#include "runtime/inside/lua_json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include <nlohmann/json.hpp>

#include "runtime/internal/wire.h"

namespace fnjail::runtime::inside {
namespace {

constexpr const char* kArrayMeta = "fnjail.json.array";
constexpr const char* kBufferMeta = "fnjail.json.buffer";
constexpr const char* kTokensMeta = "fnjail.json.tokens";
// json.null is a light userdata holding the address of this byte.
const char kNullSentinel = 0;

void* NullSentinel() { return const_cast<char*>(&kNullSentinel); }

// nlohmann SAX consumer that flattens the value into tokens.
class Flattener {
 public:
  using Kind = JsonTokens::Kind;
  explicit Flattener(JsonTokens* out) : out_(out) {}

  bool null() { return Add(Kind::kNull); }
  bool boolean(bool v) { return Add(v ? Kind::kTrue : Kind::kFalse); }
  bool number_integer(int64_t v) {
    JsonTokens::Token t{Kind::kInteger};
    t.integer = v;
    out_->tokens.push_back(t);
    return true;
  }
  bool number_unsigned(uint64_t v) {
    if (v <= static_cast<uint64_t>(INT64_MAX)) return number_integer(static_cast<int64_t>(v));
    return number_float(static_cast<double>(v), {});
  }
  bool number_float(double v, const std::string& /*text*/) {
    if (!std::isfinite(v)) return Fail("number out of range");
    JsonTokens::Token t{Kind::kFloat};
    t.number = v;
    out_->tokens.push_back(t);
    return true;
  }
  bool string(std::string& s) { return AddText(Kind::kString, s); }
  bool binary(nlohmann::json::binary_t& /*b*/) { return Fail("binary values are not JSON"); }
  bool key(std::string& s) { return AddText(Kind::kKey, s); }
  bool start_object(size_t /*n*/) { return Open(Kind::kBeginObject); }
  bool end_object() { return Close(Kind::kEndObject); }
  bool start_array(size_t /*n*/) { return Open(Kind::kBeginArray); }
  bool end_array() { return Close(Kind::kEndArray); }
  bool parse_error(size_t position, const std::string& /*last*/,
                   const nlohmann::detail::exception& /*e*/) {
    return Fail("invalid JSON at byte " + std::to_string(position));
  }

  const std::string& error() const { return error_; }

 private:
  bool Add(Kind kind) {
    out_->tokens.push_back(JsonTokens::Token{kind});
    return true;
  }
  bool AddText(Kind kind, const std::string& s) {
    JsonTokens::Token t{kind};
    t.offset = out_->text.size();
    t.length = s.size();
    out_->text.append(s);
    out_->tokens.push_back(t);
    return true;
  }
  bool Open(Kind kind) {
    if (++depth_ > kMaxJsonDepth) {
      return Fail("JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    }
    return Add(kind);
  }
  bool Close(Kind kind) {
    --depth_;
    return Add(kind);
  }
  bool Fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    return false;
  }

  JsonTokens* out_;
  int depth_ = 0;
  std::string error_;
};

// A growable byte buffer in a Lua userdata, allocated with the state's allocator so the
// memory cap counts it; its finalizer frees it if an error unwinds past its user.
struct Buffer {
  char* data;
  size_t length;
  size_t capacity;
};

int BufferGc(lua_State* L) {
  auto* b = static_cast<Buffer*>(luaL_checkudata(L, 1, kBufferMeta));
  void* ud = nullptr;
  lua_Alloc alloc = lua_getallocf(L, &ud);
  if (b->data != nullptr) alloc(ud, b->data, b->capacity, 0);
  b->data = nullptr;
  b->capacity = b->length = 0;
  return 0;
}

Buffer* NewBuffer(lua_State* L) {
  auto* b = static_cast<Buffer*>(lua_newuserdatauv(L, sizeof(Buffer), 0));
  b->data = nullptr;
  b->length = b->capacity = 0;
  luaL_setmetatable(L, kBufferMeta);
  return b;
}

void Append(lua_State* L, Buffer* b, const char* s, size_t n) {
  if (b->capacity - b->length < n) {
    size_t want = b->capacity == 0 ? 256 : b->capacity;
    while (want - b->length < n) {
      if (want > (size_t{1} << 40)) luaL_error(L, "json: value too large");
      want *= 2;
    }
    void* ud = nullptr;
    lua_Alloc alloc = lua_getallocf(L, &ud);
    void* grown = alloc(ud, b->data, b->data == nullptr ? 0 : b->capacity, want);
    if (grown == nullptr) luaL_error(L, "not enough memory");
    b->data = static_cast<char*>(grown);
    b->capacity = want;
  }
  std::memcpy(b->data + b->length, s, n);
  b->length += n;
}

void AppendLiteral(lua_State* L, Buffer* b, const char* s) { Append(L, b, s, std::strlen(s)); }

void AppendString(lua_State* L, Buffer* b, const char* s, size_t n) {
  static const char kHex[] = "0123456789abcdef";
  Append(L, b, "\"", 1);
  std::string_view view(s, n);
  size_t i = 0;
  while (i < n) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t len = wire::Utf8SequenceLength(view, i);
      if (len == 0) luaL_error(L, "json: string is not valid UTF-8");
      Append(L, b, s + i, len);
      i += len;
      continue;
    }
    const char* short_escape = c == '"'    ? "\\\""
                               : c == '\\' ? "\\\\"
                               : c == '\n'  ? "\\n"
                               : c == '\r'  ? "\\r"
                               : c == '\t'  ? "\\t"
                                             : nullptr;
    if (short_escape != nullptr) {
      Append(L, b, short_escape, 2);
    } else if (c < 0x20 || c == 0x7f) {
      char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
      Append(L, b, esc, 6);
    } else {
      Append(L, b, s + i, 1);
    }
    ++i;
  }
  Append(L, b, "\"", 1);
}

void AppendInteger(lua_State* L, Buffer* b, lua_Integer v) {
  char text[32];
  int n = std::snprintf(text, sizeof text, "%lld", static_cast<long long>(v));
  Append(L, b, text, static_cast<size_t>(n));
}

void AppendNumber(lua_State* L, Buffer* b, lua_Number v) {
  if (!std::isfinite(v)) luaL_error(L, "json: cannot encode NaN or infinity");
  char text[40];
  int n = 0;
  // The shortest of %.15g..%.17g that reads back as the same double.
  for (int precision = 15; precision <= 17; ++precision) {
    n = std::snprintf(text, sizeof text, "%.*g", precision, v);
    if (std::strtod(text, nullptr) == v) break;
  }
  Append(L, b, text, static_cast<size_t>(n));
}

bool HasArrayMeta(lua_State* L, int index) {
  if (!lua_getmetatable(L, index)) return false;
  luaL_getmetatable(L, kArrayMeta);
  bool same = lua_rawequal(L, -1, -2) != 0;
  lua_pop(L, 2);
  return same;
}

void Encode(lua_State* L, Buffer* b, int index, int depth);

void EncodeTable(lua_State* L, Buffer* b, int index, int depth) {
  if (depth > kMaxJsonDepth) {
    luaL_error(L, "json: nested deeper than %d levels (or a cycle)", kMaxJsonDepth);
  }
  luaL_checkstack(L, 4, "json: nested too deeply");
  lua_Integer count = 0, max = 0;
  bool sequence = true;
  lua_pushnil(L);
  while (lua_next(L, index) != 0) {
    ++count;
    if (lua_isinteger(L, -2)) {
      lua_Integer k = lua_tointeger(L, -2);
      if (k < 1) sequence = false;
      if (k > max) max = k;
    } else {
      sequence = false;
    }
    lua_pop(L, 1);
  }
  bool as_array = HasArrayMeta(L, index) || (count > 0 && sequence && max == count);
  if (as_array) {
    lua_Integer n = static_cast<lua_Integer>(lua_rawlen(L, index));
    Append(L, b, "[", 1);
    for (lua_Integer i = 1; i <= n; ++i) {
      if (i > 1) Append(L, b, ",", 1);
      lua_rawgeti(L, index, i);
      Encode(L, b, lua_gettop(L), depth + 1);
      lua_pop(L, 1);
    }
    Append(L, b, "]", 1);
    return;
  }
  Append(L, b, "{", 1);
  bool first = true;
  lua_pushnil(L);
  while (lua_next(L, index) != 0) {
    if (!first) Append(L, b, ",", 1);
    first = false;
    // Keys are read without lua_tolstring, which would change a number key in place and
    // break the traversal.
    if (lua_type(L, -2) == LUA_TSTRING) {
      size_t n = 0;
      const char* s = lua_tolstring(L, -2, &n);
      AppendString(L, b, s, n);
    } else if (lua_isinteger(L, -2)) {
      Append(L, b, "\"", 1);
      AppendInteger(L, b, lua_tointeger(L, -2));
      Append(L, b, "\"", 1);
    } else {
      luaL_error(L, "json: object keys must be strings or integers, not %s",
                 luaL_typename(L, -2));
    }
    Append(L, b, ":", 1);
    Encode(L, b, lua_gettop(L), depth + 1);
    lua_pop(L, 1);
  }
  Append(L, b, "}", 1);
}

void Encode(lua_State* L, Buffer* b, int index, int depth) {
  switch (lua_type(L, index)) {
    case LUA_TNIL:
      AppendLiteral(L, b, "null");
      return;
    case LUA_TBOOLEAN:
      AppendLiteral(L, b, lua_toboolean(L, index) ? "true" : "false");
      return;
    case LUA_TNUMBER:
      if (lua_isinteger(L, index)) {
        AppendInteger(L, b, lua_tointeger(L, index));
      } else {
        AppendNumber(L, b, lua_tonumber(L, index));
      }
      return;
    case LUA_TSTRING: {
      size_t n = 0;
      const char* s = lua_tolstring(L, index, &n);
      AppendString(L, b, s, n);
      return;
    }
    case LUA_TTABLE:
      EncodeTable(L, b, index, depth);
      return;
    case LUA_TLIGHTUSERDATA:
      if (lua_touserdata(L, index) == NullSentinel()) {
        AppendLiteral(L, b, "null");
        return;
      }
      break;
    default:
      break;
  }
  luaL_error(L, "json: cannot encode a %s", luaL_typename(L, index));
}

// json.encode(value) -> string
int LuaEncode(lua_State* L) {
  luaL_checkany(L, 1);
  lua_settop(L, 1);
  PushJsonEncoded(L, 1);
  return 1;
}

int TokensGc(lua_State* L) {
  auto* t = static_cast<JsonTokens*>(luaL_checkudata(L, 1, kTokensMeta));
  t->~JsonTokens();
  return 0;
}

// json.decode(text) -> value, or raises with the parser's message.
int LuaDecode(lua_State* L) {
  size_t n = 0;
  const char* s = luaL_checklstring(L, 1, &n);
  // The tokens live in a userdata so a Lua error anywhere below still destroys them.
  void* mem = lua_newuserdatauv(L, sizeof(JsonTokens), 0);
  auto* tokens = new (mem) JsonTokens();
  luaL_setmetatable(L, kTokensMeta);
  char message[160];
  message[0] = '\0';
  {
    std::string error;
    if (!ParseJson(std::string_view(s, n), tokens, &error)) {
      std::snprintf(message, sizeof message, "json: %s", error.c_str());
    }
  }
  if (message[0] != '\0') return luaL_error(L, "%s", message);
  PushJson(L, *tokens);
  return 1;
}

// json.array(t) -> t, marked to encode as an array even when empty.
int LuaArray(lua_State* L) {
  if (lua_isnoneornil(L, 1)) {
    lua_settop(L, 0);
    lua_createtable(L, 0, 0);
  }
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  luaL_setmetatable(L, kArrayMeta);
  return 1;
}

}  // namespace

bool ParseJson(std::string_view text, JsonTokens* out, std::string* error) {
  out->tokens.clear();
  out->text.clear();
  Flattener sax(out);
  bool ok = false;
  try {
    ok = nlohmann::json::sax_parse(text.begin(), text.end(), &sax,
                                   nlohmann::json::input_format_t::json, true);
  } catch (const std::exception&) {
    ok = false;
  }
  if (!ok) {
    *error = sax.error().empty() ? "invalid JSON" : sax.error();
    return false;
  }
  return true;
}

void PushJson(lua_State* L, const JsonTokens& tokens) {
  using Kind = JsonTokens::Kind;
  struct Frame {
    bool array;
    lua_Integer count;
  };
  Frame frames[kMaxJsonDepth + 1];
  int top = -1;
  luaL_checkstack(L, 2 * kMaxJsonDepth + 8, "json: nested too deeply");
  for (const JsonTokens::Token& t : tokens.tokens) {
    switch (t.kind) {
      case Kind::kBeginObject:
      case Kind::kBeginArray:
        if (top + 1 > kMaxJsonDepth) luaL_error(L, "json: nested too deeply");
        lua_createtable(L, 0, 0);
        if (t.kind == Kind::kBeginArray) luaL_setmetatable(L, kArrayMeta);
        frames[++top] = Frame{t.kind == Kind::kBeginArray, 0};
        continue;
      case Kind::kKey:
        lua_pushlstring(L, tokens.text.data() + t.offset, t.length);
        lua_pushvalue(L, -1);
        if (lua_rawget(L, -3) != LUA_TNIL) {
          luaL_error(L, "json: duplicate key `%s`", lua_tostring(L, -2));
        }
        lua_pop(L, 1);
        continue;
      case Kind::kEndObject:
      case Kind::kEndArray:
        --top;
        break;
      case Kind::kNull:
        lua_pushlightuserdata(L, NullSentinel());
        break;
      case Kind::kFalse:
      case Kind::kTrue:
        lua_pushboolean(L, t.kind == Kind::kTrue);
        break;
      case Kind::kInteger:
        lua_pushinteger(L, static_cast<lua_Integer>(t.integer));
        break;
      case Kind::kFloat:
        lua_pushnumber(L, t.number);
        break;
      case Kind::kString:
        lua_pushlstring(L, tokens.text.data() + t.offset, t.length);
        break;
    }
    // A complete value is on top: attach it to its container, if any.
    if (top < 0) continue;
    if (frames[top].array) {
      lua_rawseti(L, -2, ++frames[top].count);
    } else {
      lua_rawset(L, -3);
    }
  }
}

void PushJsonEncoded(lua_State* L, int index) {
  index = lua_absindex(L, index);
  Buffer* b = NewBuffer(L);
  int buffer_index = lua_gettop(L);
  Encode(L, b, index, 0);
  lua_pushlstring(L, b->data == nullptr ? "" : b->data, b->length);
  // Free the buffer now rather than at the next collection.
  lua_pushcfunction(L, BufferGc);
  lua_pushvalue(L, buffer_index);
  lua_call(L, 1, 0);
  lua_remove(L, buffer_index);
}

bool IsJsonNull(lua_State* L, int index) {
  return lua_type(L, index) == LUA_TLIGHTUSERDATA && lua_touserdata(L, index) == NullSentinel();
}

void OpenJson(lua_State* L) {
  luaL_newmetatable(L, kArrayMeta);
  lua_pop(L, 1);
  luaL_newmetatable(L, kBufferMeta);
  lua_pushcfunction(L, BufferGc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  luaL_newmetatable(L, kTokensMeta);
  lua_pushcfunction(L, TokensGc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);

  lua_createtable(L, 0, 4);
  lua_pushcfunction(L, LuaEncode);
  lua_setfield(L, -2, "encode");
  lua_pushcfunction(L, LuaDecode);
  lua_setfield(L, -2, "decode");
  lua_pushcfunction(L, LuaArray);
  lua_setfield(L, -2, "array");
  lua_pushlightuserdata(L, NullSentinel());
  lua_setfield(L, -2, "null");
  lua_setglobal(L, "json");
}

}  // namespace fnjail::runtime::inside
