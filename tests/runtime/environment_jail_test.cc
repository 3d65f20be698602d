// Integration tests of runtime/environment.cc: environments in real jails. A jail that
// never answers is killed at the budget; one that ends reports its sandbox outcome (crash,
// seccomp violation naming the syscall, out of memory); destroying an environment kills
// its jail. With the in-jail runtime built, also a full round trip.
#include "runtime/environment.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/pool.h"
#include "sandbox/sandbox.h"
#include "tests/testing/result_matchers.h"

namespace fnjail::runtime {
namespace {

using ::fnjail::testing::IsOk;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

bool KernelRefused(const Error& e) {
  return e.message.find("step clone") != std::string::npos ||
         e.message.find("step uid-map") != std::string::npos ||
         e.message.find("step cgroup") != std::string::npos;
}

Invocation Event(std::string event) {
  Invocation inv;
  inv.request_id = "req-1";
  inv.function = "probe";
  inv.principal_id = "alice";
  inv.deadline_ms = 1000;
  inv.event = std::move(event);
  return inv;
}

class EnvironmentJailTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto host = sandbox::JailHost::Create();
    ASSERT_TRUE(host) << host.error().ToString();
    host_ = std::move(*host).release();
  }
  static void TearDownTestSuite() {
    delete host_;
    host_ = nullptr;
  }

  // A factory of jails running `argv` with the system binds (and the python preset), plus
  // read-only `binds`.
  std::shared_ptr<EnvironmentFactory> Factory(std::vector<std::string> argv,
                                              uint64_t memory_bytes = 128ull << 20,
                                              std::vector<std::string> binds = {}) {
    sandbox::SandboxBuilder b;
    b.DefaultSystemBinds().Preset("python").MemoryLimit(memory_bytes).Timeout(10'000);
    for (const std::string& dir : binds) b.ReadOnlyBind(dir);
    auto spec = b.Command(std::move(argv)).TryBuild();
    EXPECT_TRUE(spec) << spec.error().ToString();
    if (!spec) return nullptr;
    auto prepared = sandbox::PreparedJail::Prepare(*spec);
    EXPECT_TRUE(prepared) << prepared.error().ToString();
    if (!prepared) return nullptr;
    return MakeJailEnvironmentFactory(*host_, std::move(*prepared));
  }

  // Starts one environment, or skips the test when the kernel refuses jails here.
  std::unique_ptr<Environment> StartOrSkip(const std::shared_ptr<EnvironmentFactory>& f) {
    if (!f) return nullptr;
    auto env = f->Start();
    if (!env) {
      if (KernelRefused(env.error())) skipped_ = env.error().ToString();
      else ADD_FAILURE() << env.error().ToString();
      return nullptr;
    }
    return std::move(*env);
  }

  static bool WaitNoLiveJails() {
    for (int i = 0; i < 300 && host_->live_jails() != 0; ++i) std::this_thread::sleep_for(10ms);
    return host_->live_jails() == 0;
  }

  static sandbox::JailHost* host_;
  std::string skipped_;
};

sandbox::JailHost* EnvironmentJailTest::host_ = nullptr;

#define START_OR_SKIP(env, factory)                     \
  std::unique_ptr<Environment> env = StartOrSkip(factory); \
  if (!skipped_.empty()) GTEST_SKIP() << "kernel refused: " << skipped_; \
  ASSERT_NE(env, nullptr)

TEST_F(EnvironmentJailTest, NoAnswerWithinTheBudgetKillsTheJail) {
  START_OR_SKIP(env, Factory({"/bin/sleep", "60"}));
  EXPECT_TRUE(env->Reusable());
  const auto start = std::chrono::steady_clock::now();
  auto r = env->Invoke(Event("{}"), 150ms);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "timeout");
  EXPECT_THAT(r.error().message, HasSubstr("150 ms"));
  EXPECT_GE(took, 150ms);
  EXPECT_LT(took, 5s);
  EXPECT_FALSE(env->Reusable());
  env.reset();
  EXPECT_TRUE(WaitNoLiveJails());
}

TEST_F(EnvironmentJailTest, RuntimeThatExitsIsACrashWithItsLastOutput) {
  START_OR_SKIP(env, Factory({"/bin/sh", "-c", "echo cannot load handler >&2; exit 3"}));
  auto r = env->Invoke(Event("{}"), 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "crashed");
  EXPECT_THAT(r.error().message, HasSubstr("exited with status 3"));
  EXPECT_THAT(r.error().message, HasSubstr("cannot load handler"));
  EXPECT_FALSE(env->Reusable());
}

TEST_F(EnvironmentJailTest, SeccompViolationNamesTheSyscall) {
  // ptrace is always denied: the filter kills the jail on the spot.
  START_OR_SKIP(env, Factory({"/usr/bin/python3", "-c",
                              "import ctypes; ctypes.CDLL(None).syscall(101, 16, 1, 0, 0)"}));
  auto r = env->Invoke(Event("{}"), 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "seccomp");
  EXPECT_THAT(r.error().message, HasSubstr("forbidden syscall `ptrace`"));
  EXPECT_EQ(env->Violation(), "ptrace");
  EXPECT_FALSE(env->Reusable());
}

TEST_F(EnvironmentJailTest, MemoryLimitIsAnOom) {
  START_OR_SKIP(env, Factory({"/usr/bin/python3", "-c",
                              "import time; b = b'x' * (256 << 20); time.sleep(30)"},
                             48ull << 20));
  auto r = env->Invoke(Event("{}"), 8s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "oom") << r.error().ToString();
  EXPECT_FALSE(env->Reusable());
}

TEST_F(EnvironmentJailTest, SamplesUsageOfTheJail) {
  START_OR_SKIP(env, Factory({"/usr/bin/python3", "-c",
                              "import time\nb = b'x' * (16 << 20)\nx = 0\n"
                              "for i in range(3000000): x += i\ntime.sleep(30)"}));
  // The script fills 16 MiB and spins a while before it waits.
  ResourceSample s;
  for (int i = 0; i < 500; ++i) {
    s = env->SampleUsage();
    if (s.peak_memory_kb >= (16u << 10) && s.cpu_ms > 0) break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_GE(s.peak_memory_kb, 16u << 10);
  EXPECT_GT(s.cpu_ms, 0u);
  EXPECT_LT(s.peak_memory_kb, 128u << 10);
}

TEST_F(EnvironmentJailTest, DestroyingAnEnvironmentKillsItsJail) {
  const size_t before = host_->live_jails();
  START_OR_SKIP(env, Factory({"/bin/sleep", "60"}));
  EXPECT_EQ(host_->live_jails(), before + 1);
  env.reset();
  EXPECT_TRUE(WaitNoLiveJails());
}

TEST_F(EnvironmentJailTest, PoolReplacesAJailThatTimedOut) {
  auto factory = Factory({"/bin/sleep", "60"});
  START_OR_SKIP(probe, factory);
  probe.reset();
  PoolOptions options;
  options.timeout = 100ms;
  auto pool = Pool::Create("probe", options, factory, SteadyClock());
  ASSERT_THAT(pool, IsOk());
  Metering m;
  auto r = (*pool)->Invoke(Event("{}"), &m);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "timeout");
  EXPECT_EQ(m.outcome, "timeout");
  EXPECT_TRUE(m.cold);
  EXPECT_GE(m.billed_ms, 100u);
  EXPECT_EQ((*pool)->GetStats().idle, 0u);
  EXPECT_EQ((*pool)->GetStats().destroyed, 1u);
  EXPECT_TRUE(WaitNoLiveJails());
}

#ifdef FNJAIL_RUNTIME_BINARY

// A folder holding `handler.lua`, removed at the end of the test.
class HandlerDir {
 public:
  explicit HandlerDir(const std::string& lua) {
    char tmpl[] = "/tmp/fnjail-env-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all |
                                            std::filesystem::perms::group_read |
                                            std::filesystem::perms::group_exec |
                                            std::filesystem::perms::others_read |
                                            std::filesystem::perms::others_exec);
    std::ofstream(path_ + "/handler.lua") << lua;
  }
  ~HandlerDir() { std::filesystem::remove_all(path_); }
  std::string handler() const { return path_ + "/handler.lua"; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string RuntimeDir() {
  return std::filesystem::path(FNJAIL_RUNTIME_BINARY).parent_path().string();
}

TEST_F(EnvironmentJailTest, LuaRoundTripKeepsStateWhileWarm) {
  HandlerDir dir(
      "local calls = 0\n"
      "function handler(event, ctx)\n"
      "  calls = calls + 1\n"
      "  ctx.log('call ' .. calls)\n"
      "  return {calls = calls, name = event.name, who = ctx.principal.id}\n"
      "end\n");
  START_OR_SKIP(env, Factory({FNJAIL_RUNTIME_BINARY, "lua", dir.handler()}, 128ull << 20,
                             {RuntimeDir(), dir.path()}));
  for (int i = 1; i <= 3; ++i) {
    auto r = env->Invoke(Event(R"({"name":"world"})"), 5s);
    ASSERT_THAT(r, IsOk());
    EXPECT_EQ(r->kind, Response::Kind::kOk);
    EXPECT_THAT(r->body, HasSubstr("\"calls\":" + std::to_string(i)));
    EXPECT_THAT(r->body, HasSubstr("\"name\":\"world\""));
    EXPECT_THAT(r->body, HasSubstr("\"who\":\"alice\""));
    EXPECT_THAT(r->logs, ::testing::Contains(HasSubstr("call " + std::to_string(i))));
  }
  EXPECT_TRUE(env->Reusable());
}

TEST_F(EnvironmentJailTest, LuaHandlerErrorIsAFunctionErrorNotAFailure) {
  HandlerDir dir("function handler(event, ctx) error('no such order') end\n");
  START_OR_SKIP(env, Factory({FNJAIL_RUNTIME_BINARY, "lua", dir.handler()}, 128ull << 20,
                             {RuntimeDir(), dir.path()}));
  auto r = env->Invoke(Event("{}"), 5s);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->kind, Response::Kind::kUnhandledError);
  EXPECT_THAT(r->error_message, HasSubstr("no such order"));
  EXPECT_TRUE(env->Reusable());
}

TEST_F(EnvironmentJailTest, LuaEndlessLoopNeverOutlivesItsBudget) {
  HandlerDir dir("function handler(event, ctx) while true do end end\n");
  START_OR_SKIP(env, Factory({FNJAIL_RUNTIME_BINARY, "lua", dir.handler()}, 128ull << 20,
                             {RuntimeDir(), dir.path()}));
  Invocation inv = Event("{}");
  inv.deadline_ms = 100;
  const auto start = std::chrono::steady_clock::now();
  auto r = env->Invoke(inv, 300ms);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  // Either the runtime's own deadline hook stopped the handler (a tainted error), or the
  // budget passed and the jail was killed: in both cases the environment is not reused.
  if (r) {
    EXPECT_NE(r->kind, Response::Kind::kOk);
    EXPECT_TRUE(r->tainted);
  } else {
    EXPECT_EQ(r.error().code, "timeout");
  }
  EXPECT_FALSE(env->Reusable());
}

TEST_F(EnvironmentJailTest, ExecSimplePythonHandler) {
  HandlerDir dir("");
  std::ofstream(dir.path() + "/handler.py")
      << "import json, sys\nevent = json.load(sys.stdin)\n"
         "print(json.dumps({'sum': sum(event['numbers'])}))\n";
  START_OR_SKIP(env, Factory({FNJAIL_RUNTIME_BINARY, "exec", "--mode", "simple", "--",
                              "/usr/bin/python3", dir.path() + "/handler.py"},
                             128ull << 20, {RuntimeDir(), dir.path()}));
  for (int i = 0; i < 2; ++i) {
    auto r = env->Invoke(Event(R"({"numbers":[1,2,39]})"), 10s);
    ASSERT_THAT(r, IsOk());
    EXPECT_EQ(r->kind, Response::Kind::kOk) << r->error_type << ": " << r->error_message;
    EXPECT_THAT(r->body, HasSubstr("\"sum\": 42"));
  }
}

#endif  // FNJAIL_RUNTIME_BINARY

}  // namespace
}  // namespace fnjail::runtime
