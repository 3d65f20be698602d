// Tests of runtime/function.h: function files and the jail spec of a function.
#include "runtime/function.h"

#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/runtime/runtime_testing.h"
#include "tests/testing/result_matchers.h"

namespace fnjail::runtime {
namespace {

using ::fnjail::testing::HasError;
using ::fnjail::testing::IsOk;
using ::testing::Contains;
using ::testing::HasSubstr;
using testing::TempDir;

class FunctionFileTest : public ::testing::Test {
 protected:
  FunctionFileTest() {
    dir_.Write("hello.lua", "function handler() return 'hi' end");
    dir_.Write("lib/util.lua", "return {}");
    std::string script = dir_.Write("bin/run.sh", "#!/bin/sh\ncat\n");
    ::chmod(script.c_str(), 0755);
    dir_.Write("plain.txt", "not executable");
    dir_.Write("schema.json", R"({"type": "object"})");
  }
  Result<FunctionSpec> Parse(const std::string& text) {
    return ParseFunctionToml(text, dir_.path() + "/fn.toml");
  }
  std::string file() const { return dir_.path() + "/fn.toml"; }

  TempDir dir_;
};

TEST_F(FunctionFileTest, CompleteLuaFunction) {
  auto fn = Parse(R"toml(
name = "hello"
runtime = "lua"
handler = "hello.lua"
timeout_ms = 1500
concurrency = 20
lua_memory_mb = 24
secrets = ["DB_PASSWORD", "api_key"]

[[routes]]
method = "GET"
path = "/hello/{name}"

[[routes]]
path = "/hi"

[input.schema]
type = "object"
required = ["name"]
properties = { name = { type = "string", maxLength = 64 } }

[pool]
min_idle = 1
max_concurrency = 4
idle_ttl_ms = 30000
max_invocations = 1000
per_principal = true
prewarm = 2

[profile.limits]
memory_mb = 64
pids = 8
)toml");
  ASSERT_THAT(fn, IsOk());
  EXPECT_EQ(fn->name, "hello");
  EXPECT_EQ(fn->runtime, RuntimeKind::kLua);
  EXPECT_EQ(fn->handler, "hello.lua");
  EXPECT_EQ(fn->folder, dir_.path());
  EXPECT_EQ(fn->handler_in_jail, "/run/fnjail/function/hello.lua");
  EXPECT_EQ(fn->timeout_ms, 1500u);
  EXPECT_EQ(fn->concurrency, 20u);
  EXPECT_EQ(fn->lua_memory_mb, 24u);
  EXPECT_EQ(fn->secrets, (std::vector<std::string>{"DB_PASSWORD", "api_key"}));
  ASSERT_EQ(fn->routes.size(), 2u);
  EXPECT_EQ(fn->routes[0].method, "GET");
  EXPECT_EQ(fn->routes[0].path, "/hello/{name}");
  EXPECT_EQ(fn->routes[1].method, "*");
  EXPECT_THAT(fn->input_schema, HasSubstr(R"("required":["name"])"));
  EXPECT_EQ(fn->pool.min_idle, 1u);
  EXPECT_EQ(fn->pool.max_concurrency, 4u);
  EXPECT_EQ(fn->pool.idle_ttl_ms, 30000u);
  EXPECT_EQ(fn->pool.max_invocations, 1000u);
  EXPECT_EQ(fn->pool.per_principal, true);
  EXPECT_EQ(fn->pool.prewarm, 2u);
  EXPECT_EQ(fn->profile.spec.limits.memory_bytes, 64u << 20);
  EXPECT_EQ(fn->profile.spec.limits.pids, 8u);
}

TEST_F(FunctionFileTest, ExecFunctionsAndDefaults) {
  auto fn = Parse(R"toml(
name = "run"
runtime = "exec"
handler = "bin/run.sh"
args = ["--fast", "x"]
mode = "persistent"
[input]
schema_file = "schema.json"
)toml");
  ASSERT_THAT(fn, IsOk());
  EXPECT_EQ(fn->mode, ExecMode::kPersistent);
  EXPECT_EQ(fn->folder, dir_.path() + "/bin");
  EXPECT_EQ(fn->handler_in_jail, "/run/fnjail/function/run.sh");
  EXPECT_EQ(fn->args, (std::vector<std::string>{"--fast", "x"}));
  EXPECT_EQ(fn->timeout_ms, 3000u);
  EXPECT_FALSE(fn->concurrency.has_value());
  EXPECT_FALSE(fn->pool.min_idle.has_value());
  EXPECT_EQ(fn->input_schema, R"({"type":"object"})");
  EXPECT_EQ(fn->input_schema_file, dir_.path() + "/schema.json");

  auto system = Parse(R"toml(
name = "py"
runtime = "exec"
handler = "/usr/bin/python3"
args = ["-c", "print(1)"]
folder = "lib"
)toml");
  ASSERT_THAT(system, IsOk());
  EXPECT_EQ(system->handler_in_jail, "/usr/bin/python3");
  EXPECT_EQ(system->folder, dir_.path() + "/lib");
  EXPECT_EQ(system->mode, ExecMode::kSimple);
}

TEST_F(FunctionFileTest, EveryProblemIsReportedWithItsPosition) {
  auto fn = Parse(R"toml(name = "Bad Name"
runtime = "lua"
handler = "../outside.lua"
timeout_ms = "fast"
colour = "blue"
mode = "persistent"
secrets = ["OK", "OK", "1bad"]

[pool]
max_concurrency = 2
min_idle = 3
flavour = 1

[[routes]]
method = "get"
path = "no-slash"

[profile.limits]
memory_mb = "lots"
)toml");
  ASSERT_FALSE(fn.has_value());
  EXPECT_EQ(fn.error().code, "parse");
  const std::string& m = fn.error().message;
  const std::string f = file();
  EXPECT_THAT(m, HasSubstr(f + ":1:8: error: invalid function name `Bad Name`"));
  EXPECT_THAT(m, HasSubstr(f + ":3:11: error: handler `../outside.lua` must stay inside"));
  EXPECT_THAT(m, HasSubstr(f + ":4:14: error: `timeout_ms` must be an integer"));
  EXPECT_THAT(m, HasSubstr(f + ":5:1: error: unknown key `colour`"));
  EXPECT_THAT(m, HasSubstr(f + ":6:8: error: `mode` is for the exec runtime"));
  EXPECT_THAT(m, HasSubstr(f + ":7:18: error: secret `OK` is listed twice"));
  EXPECT_THAT(m, HasSubstr(f + ":7:24: error: invalid secret name `1bad`"));
  EXPECT_THAT(m, HasSubstr(f + ":11:12: error: `min_idle` is larger than `max_concurrency`"));
  EXPECT_THAT(m, HasSubstr(f + ":12:1: error: unknown key `flavour` in [pool]"));
  EXPECT_THAT(m, HasSubstr(f + ":15:10: error: invalid method `get`"));
  EXPECT_THAT(m, HasSubstr(f + ":16:8: error: invalid route path `no-slash`"));
  EXPECT_THAT(m, HasSubstr(f + ":19:13: error: `memory_mb` must be an integer"));
  // One line per problem, each with a position.
  size_t lines = static_cast<size_t>(std::count(m.begin(), m.end(), '\n')) + 1;
  EXPECT_EQ(lines, 12u) << m;
}

TEST_F(FunctionFileTest, MissingAndMisfittingSettings) {
  EXPECT_THAT(Parse(""), HasError(":1:1: error: missing `name`"));
  EXPECT_THAT(Parse(""), HasError("missing `runtime`"));
  EXPECT_THAT(Parse(""), HasError("missing `handler`"));
  EXPECT_THAT(Parse("name = \"a\"\nruntime = \"go\"\nhandler = \"x\""),
              HasError(":2:11: error: unknown runtime `go`"));
  EXPECT_THAT(Parse("name = \"a\"\nruntime = \"lua\"\nhandler = \"missing.lua\""),
              HasError(":3:11: error: handler `missing.lua` not found"));
  EXPECT_THAT(Parse("name = \"a\"\nruntime = \"lua\"\nhandler = \"/usr/bin/lua\""),
              HasError("a lua handler is a file in the function's folder"));
  EXPECT_THAT(Parse("name = \"a\"\nruntime = \"exec\"\nhandler = \"plain.txt\""),
              HasError("is not executable"));
  EXPECT_THAT(Parse("name = \"a\"\nruntime = \"exec\"\nhandler = \"lib\""),
              HasError("is not a regular file"));
  EXPECT_THAT(Parse("name = \"a\"\nruntime = \"lua\"\nhandler = \"hello.lua\"\n"
                    "[profile.syscalls]\npreset = \"python\""),
              HasError(":5:10: error: a lua function runs under the `lua` syscall preset"));
  EXPECT_THAT(Parse("name = \"a\"\nruntime = \"lua\"\nhandler = \"hello.lua\"\n"
                    "[profile.filesystem]\nsystem_binds = false"),
              HasError("a function needs `system_binds`"));
  EXPECT_THAT(Parse("name = \"a\"\nruntime = \"lua\"\nhandler = \"hello.lua\"\n"
                    "[input]\nschema = \"{not json\""),
              HasError("`schema` is not valid JSON"));
  EXPECT_THAT(Parse("name = \"a\"\nruntime = \"lua\"\nhandler = \"hello.lua\"\n"
                    "[input]\nschema_file = \"../x.json\""),
              HasError("must stay inside the function file's folder"));
  EXPECT_THAT(Parse("name = \"a\"\nruntime = \"lua\"\nhandler = \"hello.lua\"\nprofile = 3"),
              HasError("`profile` must be a table"));
  EXPECT_THAT(Parse("name = \"caf\xc3\xa9\""), HasError(":1:12: error: byte 0xc3"));
  EXPECT_THAT(Parse("name = "), HasError(":1:8: error:"));
  EXPECT_THAT(Parse(std::string(kMaxFunctionFileBytes + 1, '#')), HasError("larger than"));
  EXPECT_THAT(LoadFunction(dir_.path() + "/none.toml"), HasError("cannot read"));
}

TEST_F(FunctionFileTest, JailSpecOfALuaFunction) {
  auto fn = Parse("name = \"a\"\nruntime = \"lua\"\nhandler = \"hello.lua\"\n"
                  "[profile.limits]\nmemory_mb = 40\n"
                  "[profile.filesystem]\nro_binds = [\"/etc/hostname\"]\n");
  ASSERT_THAT(fn, IsOk());
  JailOptions options;
  options.runtime_binary = testing::RuntimeBinary();
  auto spec = JailSpecFor(*fn, options);
  ASSERT_THAT(spec, IsOk());
  EXPECT_EQ(spec->syscalls.preset, "lua");
  EXPECT_EQ(spec->argv, (std::vector<std::string>{
                            "/run/fnjail/runtime", "lua", "--memory-limit-mb", "30",
                            "--init-timeout-ms", "10000", "/run/fnjail/function/hello.lua"}));
  EXPECT_EQ(spec->cwd, "/run/fnjail/function");
  auto has_bind = [&](const std::string& source, const std::string& target) {
    for (const auto& b : spec->binds) {
      if (b.source == source && b.target == target && !b.writable) return true;
    }
    return false;
  };
  EXPECT_TRUE(has_bind(testing::RuntimeBinary(), "/run/fnjail/runtime"));
  EXPECT_TRUE(has_bind(dir_.path(), "/run/fnjail/function"));
  EXPECT_TRUE(has_bind("/etc/hostname", "/etc/hostname"));
  EXPECT_EQ(spec->limits.memory_bytes, 40u << 20);
  EXPECT_EQ(spec->channel_fd, -1);
  EXPECT_FALSE(spec->dangerous.has_value());
}

TEST_F(FunctionFileTest, JailSpecOfAnExecFunction) {
  auto fn = Parse("name = \"a\"\nruntime = \"exec\"\nhandler = \"bin/run.sh\"\n"
                  "mode = \"persistent\"\nargs = [\"one\", \"two\"]\n");
  ASSERT_THAT(fn, IsOk());
  JailOptions options;
  options.runtime_binary = testing::RuntimeBinary();
  auto spec = JailSpecFor(*fn, options);
  ASSERT_THAT(spec, IsOk());
  EXPECT_EQ(spec->syscalls.preset, "exec-default");
  EXPECT_EQ(spec->argv, (std::vector<std::string>{"/run/fnjail/runtime", "exec", "--mode",
                                                  "persistent", "--",
                                                  "/run/fnjail/function/run.sh", "one", "two"}));
}

TEST_F(FunctionFileTest, DangerousProfilesNeedAnExplicitGrant) {
  auto fn = Parse("name = \"a\"\nruntime = \"exec\"\nhandler = \"bin/run.sh\"\n"
                  "[profile.dangerous]\nhost_network = true\n");
  ASSERT_THAT(fn, IsOk());
  JailOptions options;
  options.runtime_binary = testing::RuntimeBinary();
  EXPECT_THAT(JailSpecFor(*fn, options), HasError("jail: the profile of `a` asks for dangerous"));
  const sandbox::DangerousToken token = sandbox::MintDangerousToken();
  options.dangerous = &token;
  auto spec = JailSpecFor(*fn, options);
  ASSERT_THAT(spec, IsOk());
  EXPECT_EQ(spec->network, sandbox::NetworkMode::kHost);

  auto syscalls = Parse("name = \"a\"\nruntime = \"exec\"\nhandler = \"bin/run.sh\"\n"
                        "[profile.dangerous]\nallow_syscalls = [\"ptrace\"]\n");
  ASSERT_THAT(syscalls, IsOk());
  options.dangerous = nullptr;
  EXPECT_THAT(JailSpecFor(*syscalls, options), HasError("dangerous"));
  // Without [dangerous], an always-denied syscall in `allow` stays denied: the spec is refused.
  auto sneaky = Parse("name = \"a\"\nruntime = \"exec\"\nhandler = \"bin/run.sh\"\n"
                      "[profile.syscalls]\nallow = [\"ptrace\"]\n");
  ASSERT_THAT(sneaky, IsOk());
  EXPECT_THAT(JailSpecFor(*sneaky, options), HasError("jail:"));
}

TEST_F(FunctionFileTest, MissingRuntimeBinaryIsAJailError) {
  auto fn = Parse("name = \"a\"\nruntime = \"lua\"\nhandler = \"hello.lua\"\n");
  ASSERT_THAT(fn, IsOk());
  JailOptions options;
  options.runtime_binary = dir_.path() + "/no-such-runtime";
  EXPECT_THAT(JailSpecFor(*fn, options), HasError("jail: the runtime program"));
}

TEST(FunctionExamplesTest, ShippedFunctionFilesLoad) {
  for (const char* rel : {"examples/functions/lua-greeter/greeter.toml",
                          "examples/functions/python-persistent/hello.toml"}) {
    auto fn = LoadFunction(std::string(FNJAIL_SOURCE_DIR) + "/" + rel);
    EXPECT_THAT(fn, IsOk()) << rel;
  }
}

}  // namespace
}  // namespace fnjail::runtime
