// fnjail-runtime's Lua runtime, run directly (no jail) over a socketpair: the handler
// contract, the JSON mapping, the restricted standard library, the memory cap and the
// deadline hook.
#include <chrono>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/protocol.h"
#include "tests/runtime/runtime_testing.h"
#include "tests/testing/result_matchers.h"

namespace fnjail::runtime {
namespace {

using ::fnjail::testing::HasError;
using ::fnjail::testing::IsOk;
using ::testing::HasSubstr;
using testing::MakeInvocation;
using testing::RuntimeProcess;
using testing::TempDir;
using namespace std::chrono_literals;

// One Lua environment: a handler file in a temp folder, the runtime and its session.
class LuaEnv {
 public:
  explicit LuaEnv(const std::string& source, std::vector<std::string> options = {},
                  const std::vector<std::pair<std::string, std::string>>& files = {}) {
    for (const auto& [name, text] : files) dir_.Write(name, text);
    std::string handler = dir_.Write("handler.lua", source);
    std::vector<std::string> args = {"lua"};
    args.insert(args.end(), options.begin(), options.end());
    args.push_back(handler);
    process_ = std::make_unique<RuntimeProcess>(args);
    auto s = Session::Create(process_->fd());
    EXPECT_THAT(s, IsOk());
    if (s) session_.emplace(std::move(*s));
  }

  Result<Response> Invoke(const std::string& event, uint64_t deadline_ms = 5000) {
    return session_->Invoke(MakeInvocation(event, "req-" + std::to_string(++n_), deadline_ms),
                            std::chrono::milliseconds(deadline_ms + 5000));
  }
  // The body of a successful invocation; records a failure otherwise.
  std::string Body(const std::string& event = "{}") {
    auto r = Invoke(event);
    EXPECT_THAT(r, IsOk());
    if (!r) return {};
    EXPECT_EQ(r->kind, Response::Kind::kOk) << r->error_type << ": " << r->error_message;
    return r->body;
  }
  RuntimeProcess& process() { return *process_; }

 private:
  TempDir dir_;
  std::unique_ptr<RuntimeProcess> process_;
  std::optional<Session> session_;
  int n_ = 0;
};

TEST(LuaRuntimeTest, StringReturnIsTheBody) {
  LuaEnv env(R"lua(function handler(event, ctx) return "hello " .. event.name end)lua");
  EXPECT_EQ(env.Body(R"lua({"name":"world"})lua"), "hello world");
}

TEST(LuaRuntimeTest, TableReturnIsJsonAndAFullResponseIsHonoured) {
  LuaEnv env(R"lua(
function handler(event, ctx)
  if event.full then
    return {statusCode = 201, headers = {["x-kind"] = "full", ["x-n"] = 7},
            body = {items = json.array(), nested = {1, 2, 3}}}
  end
  return {sum = event.a + event.b, list = {true, false, json.null}, pi = 3.25}
end)lua");
  auto r = env.Invoke(R"lua({"a": 2, "b": 40})lua");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 200);
  EXPECT_THAT(r->headers, ::testing::Contains(std::pair<std::string, std::string>(
                              "content-type", "application/json")));
  auto body = nlohmann::json::parse(r->body);
  EXPECT_EQ(body["sum"], 42);
  EXPECT_EQ(body["list"], nlohmann::json::parse("[true,false,null]"));
  EXPECT_EQ(body["pi"], 3.25);

  auto full = env.Invoke(R"lua({"full": true})lua");
  ASSERT_THAT(full, IsOk());
  EXPECT_EQ(full->status, 201);
  EXPECT_THAT(full->headers, ::testing::Contains(std::pair<std::string, std::string>(
                                 "x-kind", "full")));
  EXPECT_THAT(full->headers,
              ::testing::Contains(std::pair<std::string, std::string>("x-n", "7")));
  EXPECT_EQ(nlohmann::json::parse(full->body),
            nlohmann::json::parse(R"lua({"items":[],"nested":[1,2,3]})lua"));
}

TEST(LuaRuntimeTest, ContextCarriesTheInvocation) {
  LuaEnv env(R"lua(
function handler(event, ctx)
  ctx.log("seen", ctx.request_id, 42)
  print("printed")
  return json.encode({id = ctx.request_id, fn = ctx.function_name,
                      principal = ctx.principal.id, groups = ctx.principal.groups,
                      deadline_ok = ctx.deadline_ms > 4000 and ctx.deadline_ms <= 5000,
                      remaining_ok = ctx.remaining_ms() <= ctx.deadline_ms})
end)lua");
  auto r = env.Invoke("{}");
  ASSERT_THAT(r, IsOk());
  auto body = nlohmann::json::parse(r->body);
  EXPECT_EQ(body["id"], "req-1");
  EXPECT_EQ(body["fn"], "hello");
  EXPECT_EQ(body["principal"], "alice");
  EXPECT_EQ(body["groups"], nlohmann::json::parse(R"lua(["admins","dev"])lua"));
  EXPECT_EQ(body["deadline_ok"], true);
  EXPECT_EQ(body["remaining_ok"], true);
  EXPECT_EQ(r->logs, (std::vector<std::string>{"seen\treq-1\t42", "printed"}));
}

TEST(LuaRuntimeTest, HandlerFileIsLoadedOnceAndStateIsKept) {
  LuaEnv env(R"lua(
local loads = (loads or 0) + 1
local calls = 0
function handler()
  calls = calls + 1
  return loads .. ":" .. calls
end)lua");
  EXPECT_EQ(env.Body(), "1:1");
  EXPECT_EQ(env.Body(), "1:2");
  EXPECT_EQ(env.Body(), "1:3");
}

TEST(LuaRuntimeTest, HandledAndUnhandledErrors) {
  LuaEnv env(R"lua(
function handler(event)
  if event.mode == "handled" then return nil, {type = "NotFound", message = "no such item"} end
  if event.mode == "string" then return nil, "plain" end
  if event.mode == "table" then error({message = "from a table"}) end
  error("boom")
end)lua");
  auto handled = env.Invoke(R"lua({"mode":"handled"})lua");
  ASSERT_THAT(handled, IsOk());
  EXPECT_EQ(handled->kind, Response::Kind::kHandledError);
  EXPECT_EQ(handled->error_type, "NotFound");
  EXPECT_EQ(handled->error_message, "no such item");
  auto plain = env.Invoke(R"lua({"mode":"string"})lua");
  ASSERT_THAT(plain, IsOk());
  EXPECT_EQ(plain->error_type, "error");
  EXPECT_EQ(plain->error_message, "plain");

  auto boom = env.Invoke(R"lua({"mode":"raise"})lua");
  ASSERT_THAT(boom, IsOk());
  EXPECT_EQ(boom->kind, Response::Kind::kUnhandledError);
  EXPECT_EQ(boom->error_type, "error");
  EXPECT_EQ(boom->error_message, "handler.lua:6: boom");
  EXPECT_THAT(boom->error_message, ::testing::Not(HasSubstr("traceback")));
  EXPECT_FALSE(boom->tainted);
  auto table = env.Invoke(R"lua({"mode":"table"})lua");
  ASSERT_THAT(table, IsOk());
  EXPECT_EQ(table->error_message, "from a table");
  // An error does not spoil the environment.
  auto again = env.Invoke(R"lua({"mode":"handled"})lua");
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->kind, Response::Kind::kHandledError);
}

TEST(LuaRuntimeTest, EventsWithDuplicateKeysOrDeepNestingAreRefused) {
  LuaEnv env(R"lua(function handler(event) return "ok" end)lua");
  auto dup = env.Invoke(R"lua({"a": 1, "a": 2})lua");
  ASSERT_THAT(dup, IsOk());
  EXPECT_EQ(dup->kind, Response::Kind::kUnhandledError);
  EXPECT_THAT(dup->error_message, HasSubstr("duplicate key `a`"));

  std::string deep = std::string(65, '[') + std::string(65, ']');
  auto too_deep = env.Invoke(deep);
  ASSERT_THAT(too_deep, IsOk());
  EXPECT_EQ(too_deep->error_type, "invalid-event");
  EXPECT_THAT(too_deep->error_message, HasSubstr("deeper than 64"));
  std::string ok_deep = std::string(64, '[') + std::string(64, ']');
  EXPECT_EQ(env.Body(ok_deep), "ok");

  auto invalid = env.Invoke(R"lua({"a": })lua");
  ASSERT_THAT(invalid, IsOk());
  EXPECT_EQ(invalid->error_type, "invalid-event");
  auto bad_utf8 = env.Invoke("\"\xc3\x28\"");
  ASSERT_THAT(bad_utf8, IsOk());
  EXPECT_EQ(bad_utf8->error_type, "invalid-event");
}

TEST(LuaRuntimeTest, JsonHelpers) {
  LuaEnv env(R"lua(
function handler(event)
  local v = json.decode('{"x": [1, 2.5, "s", null, {"y": true}]}')
  assert(v.x[1] == 1 and math.type(v.x[1]) == "integer")
  assert(v.x[2] == 2.5 and v.x[3] == "s" and v.x[4] == json.null and v.x[5].y == true)
  local ok1, e1 = pcall(json.decode, '{"k": 1, "k": 2}')
  local ok2, e2 = pcall(json.encode, {f = print})
  local cyclic = {}; cyclic.self = cyclic
  local ok3, e3 = pcall(json.encode, cyclic)
  local ok4, e4 = pcall(json.encode, 0/0)
  local ok5, e5 = pcall(json.encode, "\xff")
  return json.encode({ok1, e1, ok2, e2, ok3, e3, ok4, e4, ok5, e5,
                      json.encode({}), json.encode(json.array({})), json.encode("q\"\n\1")})
end)lua");
  auto body = nlohmann::json::parse(env.Body());
  EXPECT_EQ(body[0], false);
  EXPECT_THAT(body[1].get<std::string>(), HasSubstr("duplicate key `k`"));
  EXPECT_EQ(body[2], false);
  EXPECT_THAT(body[3].get<std::string>(), HasSubstr("cannot encode a function"));
  EXPECT_THAT(body[5].get<std::string>(), HasSubstr("deeper than 64"));
  EXPECT_THAT(body[7].get<std::string>(), HasSubstr("NaN"));
  EXPECT_THAT(body[9].get<std::string>(), HasSubstr("UTF-8"));
  EXPECT_EQ(body[10], "{}");
  EXPECT_EQ(body[11], "[]");
  EXPECT_EQ(body[12], "\"q\\\"\\n\\u0001\"");
}

// Each forbidden capability, tried from the handler: the result lists what it could reach.
TEST(LuaRuntimeTest, StandardLibraryIsRestricted) {
  LuaEnv env(R"lua(
function handler()
  local reached = {}
  local function check(name, value) if value ~= nil then reached[#reached + 1] = name end end
  check("io", io)
  check("os.execute", os.execute)
  check("os.exit", os.exit)
  check("os.remove", os.remove)
  check("os.rename", os.rename)
  check("os.tmpname", os.tmpname)
  check("os.setlocale", os.setlocale)
  check("package", package)
  check("debug", debug)
  check("dofile", dofile)
  check("loadfile", loadfile)
  check("string.dump", string.dump)
  check("loadlib", package and package.loadlib)
  -- bytecode through load is refused
  local f = function() return 1 end
  local ok = pcall(load, "\27Lua\84\0")
  local chunk, err = load("\27Lua\84\0\25\147\13\10\26\10")
  if chunk ~= nil then reached[#reached + 1] = "load(bytecode)" end
  -- collectgarbage tuning is refused, counting is allowed
  if pcall(collectgarbage, "stop") then reached[#reached + 1] = "collectgarbage(stop)" end
  if pcall(collectgarbage, "incremental") then reached[#reached + 1] = "collectgarbage(incremental)" end
  assert(type(collectgarbage("count")) == "number")
  -- source text through load still works
  assert(load("return 6 * 7")() == 42)
  return json.encode({reached = json.array(reached), err = err})
end)lua");
  auto body = nlohmann::json::parse(env.Body());
  EXPECT_EQ(body["reached"], nlohmann::json::array()) << body.dump();
  EXPECT_THAT(body["err"].get<std::string>(), HasSubstr("binary chunk"));
}

TEST(LuaRuntimeTest, RequireLoadsOnlyFromTheHandlersFolder) {
  LuaEnv env(R"lua(
local util = require("util")
local deep = require("lib.strings")
function handler(event)
  local results = {util.twice(21), deep.shout("hi"), require("util") == util}
  for _, name in ipairs({"../etc/passwd", "/etc/passwd", "lib/strings", "..util", "util.",
                         "missing", "a-b"}) do
    local ok, err = pcall(require, name)
    results[#results + 1] = ok and "LOADED " .. name or err
  end
  return json.encode(results)
end)lua",
             {}, {{"util.lua", "return {twice = function(x) return 2 * x end}"},
                  {"lib/strings.lua", "return {shout = function(s) return s:upper() end}"}});
  auto body = nlohmann::json::parse(env.Body());
  EXPECT_EQ(body[0], 42);
  EXPECT_EQ(body[1], "HI");
  EXPECT_EQ(body[2], true);
  for (size_t i = 3; i < 8; ++i) {
    EXPECT_THAT(body[i].get<std::string>(), HasSubstr("invalid module name")) << body[i];
  }
  EXPECT_THAT(body[8].get<std::string>(), HasSubstr("not found in the handler's folder"));
  EXPECT_THAT(body[9].get<std::string>(), HasSubstr("invalid module name"));
}

TEST(LuaRuntimeTest, MemoryCapStopsTheHandlerAndTaintsTheEnvironment) {
  LuaEnv env(R"lua(
function handler(event)
  if event.small then return "fine" end
  local t = {}
  -- pcall cannot swallow the cap
  pcall(function() for i = 1, 1e9 do t[i] = string.rep("x", 1024) .. i end end)
  return "survived"
end)lua",
             {"--memory-limit-mb", "16"});
  EXPECT_EQ(env.Body(R"lua({"small": true})lua"), "fine");
  auto r = env.Invoke("{}");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->kind, Response::Kind::kUnhandledError);
  EXPECT_EQ(r->error_type, "out-of-memory");
  EXPECT_TRUE(r->tainted);
  auto after = env.Invoke(R"lua({"small": true})lua");
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ(after->error_type, "tainted");
}

TEST(LuaRuntimeTest, GarbageDoesNotCountAsOutOfMemory) {
  // Allocates ten times the cap in all, never more than a little at once.
  LuaEnv env(R"lua(
function handler()
  local n = 0
  for i = 1, 200 do n = n + #string.rep("y", 1 << 20) end
  return tostring(n)
end)lua",
             {"--memory-limit-mb", "20"});
  EXPECT_EQ(env.Body(), std::to_string(200 << 20));
}

TEST(LuaRuntimeTest, DeadlineHookStopsLoopsThatCatchErrors) {
  for (const char* body : {
           "while true do end",
           "while true do pcall(function() while true do end end) end",
           "while true do xpcall(function() while true do end end, function(e) return e end) end",
           "local co = coroutine.create(function() while true do end end)\n"
           "while true do coroutine.resume(co) end",
           "local f = coroutine.wrap(function() while true do end end)\n"
           "while true do pcall(f) end",
       }) {
    LuaEnv env(std::string("function handler(event)\n if event.quick then return 'quick' end\n") +
               body + "\nend");
    EXPECT_EQ(env.Body(R"lua({"quick": true})lua"), "quick");
    auto start = std::chrono::steady_clock::now();
    auto r = env.Invoke("{}", 200);
    auto took = std::chrono::steady_clock::now() - start;
    ASSERT_THAT(r, IsOk()) << body;
    EXPECT_EQ(r->kind, Response::Kind::kUnhandledError) << body;
    EXPECT_EQ(r->error_type, "timeout") << body;
    EXPECT_TRUE(r->tainted) << body;
    EXPECT_LT(took, 2s) << body;
  }
}

TEST(LuaRuntimeTest, InitErrorsAnswerEveryInvocation) {
  {
    LuaEnv env("this is not lua");
    auto r = env.Invoke("{}");
    ASSERT_THAT(r, IsOk());
    EXPECT_EQ(r->error_type, "init-error");
    EXPECT_THAT(r->error_message, HasSubstr("handler.lua:1:"));
    EXPECT_TRUE(r->tainted);
  }
  {
    LuaEnv env("x = 1");
    auto r = env.Invoke("{}");
    ASSERT_THAT(r, IsOk());
    EXPECT_THAT(r->error_message, HasSubstr("no function `handler`"));
  }
  {
    LuaEnv env("while true do end", {"--init-timeout-ms", "100"});
    auto r = env.Invoke("{}");
    ASSERT_THAT(r, IsOk());
    EXPECT_EQ(r->error_type, "init-error");
    EXPECT_THAT(r->error_message, HasSubstr("ran past 100 ms"));
  }
  {
    // A file that returns its handler instead of defining the global works too.
    LuaEnv env("return function(event) return 'returned' end");
    EXPECT_EQ(env.Body(), "returned");
  }
}

TEST(LuaRuntimeTest, ClosingTheChannelEndsTheRuntimeCleanly) {
  LuaEnv env(R"lua(function handler() return "x" end)lua");
  EXPECT_EQ(env.Body(), "x");
  EXPECT_EQ(env.process().CloseAndWait(), 0);
}

}  // namespace
}  // namespace fnjail::runtime
