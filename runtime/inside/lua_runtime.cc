// The Lua runtime (docs/runtimes.md, "Lua").
//
// Lua raises errors with longjmp. Every C function below that Lua calls, and every
// function marked "protected", keeps only trivially destructible values in its frame;
// C++ objects it fills live in the caller, outside Lua's protected call.
#include "runtime/inside/lua_runtime.h"

#include <fcntl.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include <lua.hpp>

#include "runtime/inside/lua_json.h"

namespace fnjail::runtime::inside {
namespace {

// How many Lua instructions run between two deadline checks. A check is one clock read
// (vDSO, ~20 ns); 1,000 instructions take a few microseconds.
constexpr int kHookInstructions = 1000;
constexpr size_t kMaxSourceBytes = 1u << 20;
constexpr size_t kMaxModuleNameBytes = 128;
constexpr const char* kFdBoxMeta = "fnjail.fdbox";
constexpr const char* kLoadedKey = "fnjail.loaded";

enum class Abort : uint8_t { kNone, kTimeout, kMemory };

// Per-environment state reachable from Lua through the state's extra space.
struct State {
  size_t used = 0;
  size_t limit = 0;
  // The last allocation was refused and none has succeeded since (Lua retries a refused
  // allocation after a full collection; only a failure that stands is out of memory).
  bool alloc_failed = false;
  Abort abort = Abort::kNone;
  Clock::time_point deadline = Clock::time_point::max();
  std::vector<std::string>* logs = nullptr;
  size_t logs_dropped = 0;
  std::string dir;  // the handler's folder, root of `require`
  int handler_ref = LUA_NOREF;
};

State* GetState(lua_State* L) { return *static_cast<State**>(lua_getextraspace(L)); }

void* Allocate(void* ud, void* ptr, size_t osize, size_t nsize) {
  auto* st = static_cast<State*>(ud);
  size_t old = ptr == nullptr ? 0 : osize;
  if (nsize == 0) {
    std::free(ptr);
    st->used -= old;
    return nullptr;
  }
  if (nsize > old && nsize - old > st->limit - st->used) {
    st->alloc_failed = true;
    return nullptr;
  }
  void* p = std::realloc(ptr, nsize);
  if (p == nullptr) {
    st->alloc_failed = true;
    return nullptr;
  }
  st->alloc_failed = false;
  st->used = st->used - old + nsize;
  return p;
}

// Raises the pending abort again so no handler code can swallow it.
[[noreturn]] void RaiseAbort(lua_State* L, State* st) {
  if (st->abort == Abort::kTimeout) {
    lua_pushliteral(L, "timeout: the handler ran past its deadline");
  } else {
    lua_pushliteral(L, "not enough memory");
  }
  lua_error(L);
  std::abort();  // lua_error does not return
}

// After a protected call failed with `status`: whether the runtime must abort.
bool AbortPending(State* st, int status) {
  if (status != LUA_OK && status != LUA_YIELD && st->abort == Abort::kNone &&
      (status == LUA_ERRMEM || st->alloc_failed)) {
    st->abort = Abort::kMemory;
  }
  return st->abort != Abort::kNone;
}

void Hook(lua_State* L, lua_Debug* /*ar*/) {
  State* st = GetState(L);
  if (st->abort == Abort::kNone && Clock::now() >= st->deadline) {
    st->abort = Abort::kTimeout;
    // Check at every instruction from now on in this coroutine.
    lua_sethook(L, Hook, LUA_MASKCOUNT, 1);
  }
  if (st->abort != Abort::kNone) RaiseAbort(L, st);
}

// ---------------------------------------------------------------------------------------
// The restricted base library.

// pcall and xpcall that cannot catch an abort (deadline, memory cap).
int FinishPcall(lua_State* L, int status, lua_KContext extra) {
  State* st = GetState(L);
  if (AbortPending(st, status)) RaiseAbort(L, st);
  if (status != LUA_OK && status != LUA_YIELD) {
    lua_pushboolean(L, 0);
    lua_pushvalue(L, -2);
    return 2;  // false, error object
  }
  return lua_gettop(L) - static_cast<int>(extra);  // true and the results
}

int SafePcall(lua_State* L) {
  luaL_checkany(L, 1);
  lua_pushboolean(L, 1);
  lua_insert(L, 1);
  int status = lua_pcallk(L, lua_gettop(L) - 2, LUA_MULTRET, 0, 0, FinishPcall);
  return FinishPcall(L, status, 0);
}

int SafeXpcall(lua_State* L) {
  int n = lua_gettop(L);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_pushboolean(L, 1);
  lua_pushvalue(L, 1);
  lua_rotate(L, 3, 2);  // f, handler, true, f, args...
  int status = lua_pcallk(L, n - 2, LUA_MULTRET, 2, 2, FinishPcall);
  return FinishPcall(L, status, 2);
}

// coroutine.resume that cannot catch an abort raised inside the coroutine.
int SafeResume(lua_State* L) {
  lua_State* co = lua_tothread(L, 1);
  int n = lua_gettop(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, n, LUA_MULTRET);
  State* st = GetState(L);
  if (co != nullptr && lua_toboolean(L, 1) == 0) AbortPending(st, lua_status(co));
  if (st->abort != Abort::kNone) RaiseAbort(L, st);
  return lua_gettop(L);
}

// load() of source text only: precompiled chunks can break the VM's memory safety.
int SafeLoad(lua_State* L) {
  const int n = lua_gettop(L);
  lua_settop(L, 4);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushvalue(L, 1);
  lua_pushvalue(L, 2);
  lua_pushliteral(L, "t");
  if (n >= 4) lua_pushvalue(L, 4);
  lua_call(L, n >= 4 ? 4 : 3, LUA_MULTRET);
  return lua_gettop(L) - 4;
}

// collectgarbage("count" | "collect" | "step"): the tuning options stay with the runtime.
int SafeCollectGarbage(lua_State* L) {
  const char* option = luaL_optstring(L, 1, "collect");
  if (std::strcmp(option, "count") == 0) {
    int kb = lua_gc(L, LUA_GCCOUNT);
    int bytes = lua_gc(L, LUA_GCCOUNTB);
    lua_pushnumber(L, static_cast<lua_Number>(kb) + bytes / 1024.0);
    return 1;
  }
  if (std::strcmp(option, "collect") == 0) {
    lua_gc(L, LUA_GCCOLLECT);
    lua_pushinteger(L, 0);
    return 1;
  }
  if (std::strcmp(option, "step") == 0) {
    lua_pushboolean(L, lua_gc(L, LUA_GCSTEP, 0));
    return 1;
  }
  return luaL_error(L, "collectgarbage: option `%s` is not allowed", option);
}

// Appends one log line per line of text; the lines of one invocation are capped.
void AddLog(State* st, std::string_view text) {
  if (st->logs == nullptr) return;  // the handler file's top level logs nowhere
  for (;;) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (st->logs->size() < kMaxLogLines) {
      st->logs->emplace_back(line.substr(0, kMaxLogLineBytes));
    } else {
      ++st->logs_dropped;
    }
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

// print(...) and ctx.log(...): the arguments as tostring() shows them, tab-separated.
int Log(lua_State* L) {
  int n = lua_gettop(L);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int i = 1; i <= n; ++i) {
    luaL_tolstring(L, i, nullptr);
    if (i > 1) luaL_addchar(&b, '\t');
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  size_t len = 0;
  const char* s = lua_tolstring(L, -1, &len);
  AddLog(GetState(L), std::string_view(s, len));
  return 0;
}

// ctx.remaining_ms(): milliseconds left before the deadline.
int RemainingMs(lua_State* L) {
  State* st = GetState(L);
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(st->deadline -
                                                                     Clock::now());
  lua_pushinteger(L, left.count() < 0 ? 0 : static_cast<lua_Integer>(left.count()));
  return 1;
}

// ---------------------------------------------------------------------------------------
// require: modules from the handler's folder only.

struct FdBox {
  int fd;
};

int FdBoxGc(lua_State* L) {
  auto* box = static_cast<FdBox*>(luaL_checkudata(L, 1, kFdBoxMeta));
  if (box->fd >= 0) ::close(box->fd);
  box->fd = -1;
  return 0;
}

// A module name is dot-separated identifiers: "util", "lib.strings". Nothing else can
// reach a path, so `..`, `/` and absolute names are impossible by construction.
bool ValidModuleName(const char* name, size_t n) {
  if (n == 0 || n > kMaxModuleNameBytes) return false;
  bool start = true;
  for (size_t i = 0; i < n; ++i) {
    char c = name[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    bool digit = c >= '0' && c <= '9';
    if (c == '.') {
      if (start) return false;
      start = true;
      continue;
    }
    if (!(alpha || (digit && !start))) return false;
    start = false;
  }
  return !start;
}

int Require(lua_State* L) {
  size_t n = 0;
  const char* name = luaL_checklstring(L, 1, &n);
  if (!ValidModuleName(name, n)) {
    return luaL_error(L, "require: invalid module name `%s` (dot-separated identifiers only)",
                      name);
  }
  lua_settop(L, 1);
  lua_getfield(L, LUA_REGISTRYINDEX, kLoadedKey);  // 2
  lua_pushvalue(L, 1);
  if (lua_rawget(L, 2) != LUA_TNIL) return 1;
  lua_pop(L, 1);

  State* st = GetState(L);
  char path[PATH_MAX];
  size_t used = static_cast<size_t>(
      std::snprintf(path, sizeof path, "%s/", st->dir.c_str()));
  if (used + n + 5 >= sizeof path) return luaL_error(L, "require: path too long");
  for (size_t i = 0; i < n; ++i) path[used + i] = name[i] == '.' ? '/' : name[i];
  std::memcpy(path + used + n, ".lua", 5);

  auto* box = static_cast<FdBox*>(lua_newuserdatauv(L, sizeof(FdBox), 0));  // 3
  box->fd = -1;
  luaL_setmetatable(L, kFdBoxMeta);
  box->fd = ::open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (box->fd < 0) {
    return luaL_error(L, "require: module `%s` not found in the handler's folder", name);
  }
  struct stat info {};
  if (::fstat(box->fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    return luaL_error(L, "require: `%s` is not a regular file", name);
  }
  if (static_cast<uint64_t>(info.st_size) > kMaxSourceBytes) {
    return luaL_error(L, "require: module `%s` is larger than 1 MiB", name);
  }
  size_t size = static_cast<size_t>(info.st_size);
  char* text = static_cast<char*>(lua_newuserdatauv(L, size + 1, 0));  // 4
  size_t got = 0;
  while (got < size) {
    ssize_t r = ::read(box->fd, text + got, size - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  ::close(box->fd);
  box->fd = -1;
  lua_pushfstring(L, "@%s.lua", name);
  if (luaL_loadbufferx(L, text, got, lua_tostring(L, -1), "t") != LUA_OK) {
    return lua_error(L);
  }
  lua_pushvalue(L, 1);
  lua_call(L, 1, 1);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_pushboolean(L, 1);
  }
  lua_pushvalue(L, 1);
  lua_pushvalue(L, -2);
  lua_rawset(L, 2);
  return 1;
}

// ---------------------------------------------------------------------------------------
// Setting up the state and calling the handler.

// Opens the safe standard library. Protected.
void OpenSandbox(lua_State* L) {
  luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
  luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
  luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
  luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
  luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
  luaL_requiref(L, LUA_COLIBNAME, luaopen_coroutine, 1);
  lua_settop(L, 0);

  // os: clocks, dates and the function's own environment; no execute, exit, remove,
  // rename, tmpname or setlocale.
  luaL_requiref(L, LUA_OSLIBNAME, luaopen_os, 0);
  lua_createtable(L, 0, 5);
  for (const char* name : {"time", "clock", "date", "difftime", "getenv"}) {
    lua_getfield(L, 1, name);
    lua_setfield(L, 2, name);
  }
  lua_setglobal(L, "os");
  lua_settop(L, 0);

  // The base library without file access, bytecode or GC tuning.
  for (const char* name : {"dofile", "loadfile"}) {
    lua_pushnil(L);
    lua_setglobal(L, name);
  }
  lua_getglobal(L, "load");
  lua_pushcclosure(L, SafeLoad, 1);
  lua_setglobal(L, "load");
  lua_pushcfunction(L, SafeCollectGarbage);
  lua_setglobal(L, "collectgarbage");
  lua_pushcfunction(L, SafePcall);
  lua_setglobal(L, "pcall");
  lua_pushcfunction(L, SafeXpcall);
  lua_setglobal(L, "xpcall");
  lua_pushcfunction(L, Log);
  lua_setglobal(L, "print");
  lua_getglobal(L, "coroutine");
  lua_getfield(L, -1, "resume");
  lua_pushcclosure(L, SafeResume, 1);
  lua_setfield(L, -2, "resume");
  lua_pop(L, 1);
  // string.dump makes bytecode; nothing may load it, but there is no use for it either.
  lua_getglobal(L, "string");
  lua_pushnil(L);
  lua_setfield(L, -2, "dump");
  lua_pop(L, 1);

  luaL_newmetatable(L, kFdBoxMeta);
  lua_pushcfunction(L, FdBoxGc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, kLoadedKey);
  lua_pushcfunction(L, Require);
  lua_setglobal(L, "require");
  OpenJson(L);
}

struct InitCall {
  const char* text;
  size_t size;
  const char* chunkname;
};

// Opens the library, runs the handler file and keeps its handler. Protected.
int InitTrampoline(lua_State* L) {
  auto* call = static_cast<InitCall*>(lua_touserdata(L, 1));
  lua_settop(L, 0);
  OpenSandbox(L);
  if (luaL_loadbufferx(L, call->text, call->size, call->chunkname, "t") != LUA_OK) {
    return lua_error(L);
  }
  lua_call(L, 0, 1);
  if (lua_type(L, -1) != LUA_TFUNCTION) {
    lua_pop(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    lua_getfield(L, -1, "handler");
    if (lua_type(L, -1) != LUA_TFUNCTION) {
      return luaL_error(L, "the handler file defines no function `handler` (and returns none)");
    }
  }
  GetState(L)->handler_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

struct InvokeCall {
  const Invocation* invocation;
  const JsonTokens* event;  // null: no event (nil)
  Response* out;
  int64_t deadline_ms;
};

void PushContext(lua_State* L, const InvokeCall& call) {
  const Invocation& inv = *call.invocation;
  lua_createtable(L, 0, 6);
  lua_pushlstring(L, inv.request_id.data(), inv.request_id.size());
  lua_setfield(L, -2, "request_id");
  lua_pushlstring(L, inv.function.data(), inv.function.size());
  lua_setfield(L, -2, "function_name");
  lua_pushinteger(L, static_cast<lua_Integer>(call.deadline_ms));
  lua_setfield(L, -2, "deadline_ms");
  lua_pushcfunction(L, RemainingMs);
  lua_setfield(L, -2, "remaining_ms");
  lua_pushcfunction(L, Log);
  lua_setfield(L, -2, "log");
  lua_createtable(L, 0, 2);
  lua_pushlstring(L, inv.principal_id.data(), inv.principal_id.size());
  lua_setfield(L, -2, "id");
  lua_createtable(L, static_cast<int>(inv.principal_groups.size()), 0);
  lua_Integer i = 0;
  for (const std::string& g : inv.principal_groups) {
    lua_pushlstring(L, g.data(), g.size());
    lua_rawseti(L, -2, ++i);
  }
  lua_setfield(L, -2, "groups");
  lua_setfield(L, -2, "principal");
}

void SetString(lua_State* L, int index, std::string* out) {
  size_t n = 0;
  const char* s = lua_tolstring(L, index, &n);
  out->assign(s, n);
}

void InvalidResponse(Response* out, const char* message) {
  out->kind = Response::Kind::kUnhandledError;
  out->status = 500;
  out->headers.clear();
  out->body.clear();
  out->error_type = "invalid-response";
  out->error_message = message;
}

// Fills `out` from the handler's results at `value` and `error`. Protected.
void ConvertResult(lua_State* L, int value, int error, Response* out) {
  const int type = lua_type(L, value);
  if (type == LUA_TNIL && !lua_isnoneornil(L, error)) {
    // `return nil, err`: an error the function handled itself.
    out->kind = Response::Kind::kHandledError;
    out->status = 500;
    out->error_type = "error";
    if (lua_type(L, error) == LUA_TTABLE) {
      if (lua_getfield(L, error, "type") == LUA_TSTRING) SetString(L, -1, &out->error_type);
      if (lua_getfield(L, error, "message") == LUA_TSTRING) {
        SetString(L, -1, &out->error_message);
      }
      lua_pop(L, 2);
    } else {
      luaL_tolstring(L, error, nullptr);
      SetString(L, -1, &out->error_message);
      lua_pop(L, 1);
    }
    return;
  }
  if (type == LUA_TNIL) return;  // 200, empty body
  if (type == LUA_TSTRING) {
    SetString(L, value, &out->body);
    return;
  }
  bool full = false;
  if (type == LUA_TTABLE) {
    for (const char* key : {"statusCode", "headers", "body"}) {
      lua_pushstring(L, key);
      if (lua_rawget(L, value) != LUA_TNIL) full = true;
      lua_pop(L, 1);
    }
  }
  if (!full) {
    PushJsonEncoded(L, value);
    SetString(L, -1, &out->body);
    lua_pop(L, 1);
    out->headers.emplace_back("content-type", "application/json");
    return;
  }
  // A full response: {statusCode = 201, headers = {...}, body = "..." or a table}.
  lua_getfield(L, value, "statusCode");
  if (!lua_isnil(L, -1)) {
    int is_int = 0;
    lua_Integer status = lua_tointegerx(L, -1, &is_int);
    if (!is_int || status < 100 || status > 599) {
      return InvalidResponse(out, "statusCode must be an integer from 100 to 599");
    }
    out->status = static_cast<int>(status);
  }
  lua_pop(L, 1);
  bool has_content_type = false;
  int headers_type = lua_getfield(L, value, "headers");
  if (headers_type == LUA_TTABLE) {
    int headers = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, headers) != 0) {
      int vt = lua_type(L, -1);
      if (lua_type(L, -2) != LUA_TSTRING || (vt != LUA_TSTRING && vt != LUA_TNUMBER)) {
        return InvalidResponse(out, "headers must map names to strings");
      }
      if (out->headers.size() >= kMaxHeaders) {
        return InvalidResponse(out, "too many headers");
      }
      lua_pushvalue(L, -1);  // tolstring converts numbers in place: work on a copy
      size_t kn = 0, vn = 0;
      const char* k = lua_tolstring(L, -3, &kn);
      const char* v = lua_tolstring(L, -1, &vn);
      out->headers.emplace_back(std::string(k, kn), std::string(v, vn));
      if (kn == 12 && strncasecmp(k, "content-type", 12) == 0) has_content_type = true;
      lua_pop(L, 2);
    }
  } else if (headers_type != LUA_TNIL) {
    return InvalidResponse(out, "headers must be a table");
  }
  lua_pop(L, 1);
  int body_type = lua_getfield(L, value, "body");
  if (body_type == LUA_TSTRING) {
    SetString(L, -1, &out->body);
  } else if (body_type != LUA_TNIL) {
    PushJsonEncoded(L, -1);
    SetString(L, -1, &out->body);
    lua_pop(L, 1);
    if (!has_content_type) out->headers.emplace_back("content-type", "application/json");
  }
  lua_pop(L, 1);
}

// Calls the handler. Protected.
int InvokeTrampoline(lua_State* L) {
  auto* call = static_cast<InvokeCall*>(lua_touserdata(L, 1));
  lua_settop(L, 0);
  lua_rawgeti(L, LUA_REGISTRYINDEX, GetState(L)->handler_ref);
  if (call->event != nullptr) {
    PushJson(L, *call->event);
  } else {
    lua_pushnil(L);
  }
  PushContext(L, *call);
  lua_call(L, 2, 2);
  ConvertResult(L, 1, 2, call->out);
  return 0;
}

// The message of an error object without running any Lua code (no __tostring).
std::string ErrorText(lua_State* L, int index) {
  index = lua_absindex(L, index);
  size_t n = 0;
  switch (lua_type(L, index)) {
    case LUA_TSTRING: {
      const char* s = lua_tolstring(L, index, &n);
      return std::string(s, n);
    }
    case LUA_TNUMBER:
      return std::to_string(lua_tonumber(L, index));
    case LUA_TTABLE: {
      // error({message = "..."}): look for a string field `message` with lua_next, which
      // neither allocates nor calls metamethods.
      lua_pushnil(L);
      std::string found = "(error object is a table value)";
      while (lua_next(L, index) != 0) {
        if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TSTRING) {
          const char* k = lua_tolstring(L, -2, &n);
          if (std::string_view(k, n) == "message") {
            const char* v = lua_tolstring(L, -1, &n);
            found.assign(v, n);
          }
        }
        lua_pop(L, 1);
      }
      return found;
    }
    default:
      return std::string("(error object is a ") + luaL_typename(L, index) + " value)";
  }
}

class LuaRuntime final : public Runtime {
 public:
  explicit LuaRuntime(const LuaOptions& options) : options_(options) {
    state_.limit = options.memory_limit_bytes;
    size_t slash = options.handler_path.rfind('/');
    state_.dir = slash == std::string::npos ? "." : options.handler_path.substr(0, slash);
    if (state_.dir.empty()) state_.dir = "/";
    init_error_ = Init();
  }

  // Closes the state, which runs the handler's __gc finalizers: fnjail-runtime never
  // destroys a Lua runtime (it ends with _exit), only tests of this class would.
  ~LuaRuntime() override {
    if (L_ != nullptr) lua_close(L_);
  }

  Response Handle(const Invocation& inv, Clock::time_point deadline) override {
    if (!init_error_.empty()) return UnhandledError("init-error", init_error_, true);
    if (state_.abort != Abort::kNone) {
      return UnhandledError("tainted", "the environment was stopped before", true);
    }
    JsonTokens event;
    if (!inv.event.empty()) {
      std::string problem;
      if (!ParseJson(inv.event, &event, &problem)) {
        return UnhandledError("invalid-event", "the event is not valid JSON: " + problem,
                              false);
      }
    }
    Response out;
    std::vector<std::string> logs;
    state_.logs = &logs;
    state_.logs_dropped = 0;
    state_.deadline = deadline;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    InvokeCall call{&inv, inv.event.empty() ? nullptr : &event, &out,
                    left.count() < 0 ? 0 : static_cast<int64_t>(left.count())};
    lua_settop(L_, 0);
    lua_pushcfunction(L_, InvokeTrampoline);
    lua_pushlightuserdata(L_, &call);
    int status = lua_pcall(L_, 1, 0, 0);
    if (status != LUA_OK || state_.abort != Abort::kNone) {
      if (AbortPending(&state_, status)) {
        out = state_.abort == Abort::kTimeout
                  ? UnhandledError("timeout",
                                   "the handler ran past its deadline of " +
                                       std::to_string(inv.deadline_ms) + " ms",
                                   true)
                  : UnhandledError("out-of-memory",
                                   "the handler passed its memory limit of " +
                                       std::to_string(state_.limit >> 20) + " MiB",
                                   true);
      } else {
        out = UnhandledError("error", ErrorText(L_, -1), false);
      }
    }
    lua_settop(L_, 0);
    state_.logs = nullptr;
    state_.deadline = Clock::time_point::max();
    if (state_.logs_dropped > 0) {
      logs.push_back("(" + std::to_string(state_.logs_dropped) + " more log lines dropped)");
    }
    out.logs = std::move(logs);
    return out;
  }

 private:
  // Returns the reason the handler cannot run, or empty.
  std::string Init() {
    std::string text;
    if (std::string problem = ReadSource(options_.handler_path, &text); !problem.empty()) {
      return problem;
    }
    L_ = lua_newstate(Allocate, &state_);
    if (L_ == nullptr) return "cannot create the Lua state (memory limit too low?)";
    *static_cast<State**>(lua_getextraspace(L_)) = &state_;
    lua_sethook(L_, Hook, LUA_MASKCOUNT, kHookInstructions);
    size_t slash = options_.handler_path.rfind('/');
    std::string chunkname =
        "@" + (slash == std::string::npos ? options_.handler_path
                                          : options_.handler_path.substr(slash + 1));
    InitCall call{text.data(), text.size(), chunkname.c_str()};
    state_.deadline = Clock::now() + std::chrono::milliseconds(options_.init_timeout_ms);
    lua_pushcfunction(L_, InitTrampoline);
    lua_pushlightuserdata(L_, &call);
    int status = lua_pcall(L_, 1, 0, 0);
    state_.deadline = Clock::time_point::max();
    std::string error;
    if (status != LUA_OK) {
      if (AbortPending(&state_, status)) {
        error = state_.abort == Abort::kTimeout
                    ? "the handler file's top level ran past " +
                          std::to_string(options_.init_timeout_ms) + " ms"
                    : "the handler file passed the memory limit while loading";
      } else {
        error = ErrorText(L_, -1);
      }
    }
    lua_settop(L_, 0);
    lua_gc(L_, LUA_GCCOLLECT);
    return error;
  }

  static std::string ReadSource(const std::string& path, std::string* text) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return "cannot open the handler `" + path + "`: " + std::strerror(errno);
    struct stat info {};
    std::string problem;
    if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
      problem = "the handler `" + path + "` is not a regular file";
    } else if (static_cast<uint64_t>(info.st_size) > kMaxSourceBytes) {
      problem = "the handler `" + path + "` is larger than 1 MiB";
    } else {
      text->resize(static_cast<size_t>(info.st_size));
      size_t got = 0;
      while (got < text->size()) {
        ssize_t r = ::read(fd, text->data() + got, text->size() - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += static_cast<size_t>(r);
      }
      text->resize(got);
    }
    ::close(fd);
    return problem;
  }

  LuaOptions options_;
  State state_;
  lua_State* L_ = nullptr;
  std::string init_error_;
};

}  // namespace

std::unique_ptr<Runtime> MakeLuaRuntime(const LuaOptions& options) {
  return std::make_unique<LuaRuntime>(options);
}

}  // namespace fnjail::runtime::inside
