// fnjail-runtime inside real jails (sandbox::PreparedJail::Run with the channel as fd 3):
// the jail spec of a function (JailSpecFor) is all the runtime needs, the Lua runtime
// lives within the `lua` syscall preset, and the Python persistent example runs jailed.
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/function.h"
#include "runtime/protocol.h"
#include "sandbox/sandbox.h"
#include "tests/runtime/runtime_testing.h"
#include "tests/testing/result_matchers.h"

namespace fnjail::runtime {
namespace {

using ::fnjail::testing::IsOk;
using ::testing::HasSubstr;
using testing::MakeInvocation;
using testing::TempDir;
using namespace std::chrono_literals;

// True when the environment, not the spec, refused the jail (no user namespaces or cgroups,
// or a build tree the jail's unprivileged uid may not enter).
bool EnvironmentRefused(const sandbox::Error& e) {
  using sandbox::Step;
  return (e.step == Step::kClone && (e.err == EPERM || e.err == EINVAL || e.err == ENOSPC ||
                                     e.err == EUSERS)) ||
         ((e.step == Step::kBind || e.step == Step::kFindCommand) && e.err == EACCES) ||
         e.step == Step::kUserNsMap || (e.step == Step::kCgroup && geteuid() != 0);
}

// One jailed environment: the jail runs on a thread of its own (Run is synchronous), the
// test drives the session.
class JailedEnv {
 public:
  explicit JailedEnv(sandbox::SandboxSpec spec) {
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv_) != 0) return;
    spec.channel_fd = sv_[1];
    spec.limits.timeout_ms = 60'000;
    auto prepared = sandbox::PreparedJail::Prepare(std::move(spec));
    if (!prepared) {
      setup_error_ = prepared.error();
      return;
    }
    prepared_.emplace(std::move(*prepared));
    char err_path[] = "/tmp/fnjail-runtime-jail-err-XXXXXX";
    err_fd_ = ::mkstemp(err_path);
    ::unlink(err_path);
    thread_ = std::thread([this] {
      sandbox::RunIo io;
      io.stdin_fd = -1;
      io.stdout_fd = err_fd_;
      io.stderr_fd = err_fd_;
      outcome_ = prepared_->Run(io);
    });
    auto s = Session::Create(sv_[0]);
    if (s) session_.emplace(std::move(*s));
  }

  ~JailedEnv() {
    Close();
    if (err_fd_ >= 0) ::close(err_fd_);
  }

  // Closes the channel and waits for the jail to end.
  void Close() {
    if (sv_[0] >= 0) ::close(sv_[0]);
    sv_[0] = -1;
    if (thread_.joinable()) thread_.join();
    if (sv_[1] >= 0) ::close(sv_[1]);
    sv_[1] = -1;
  }

  const std::optional<sandbox::Error>& setup_error() const { return setup_error_; }
  Result<Response> Invoke(const std::string& event, uint64_t deadline_ms = 5000) {
    return session_->Invoke(MakeInvocation(event, "req-" + std::to_string(++n_), deadline_ms),
                            std::chrono::milliseconds(deadline_ms + 10'000));
  }
  const sandbox::Result<sandbox::Outcome>& outcome() const { return outcome_; }
  std::string output() const {
    std::string s;
    char buf[4096];
    ssize_t n;
    off_t off = 0;
    while ((n = ::pread(err_fd_, buf, sizeof buf, off)) > 0) {
      s.append(buf, static_cast<size_t>(n));
      off += n;
    }
    return s;
  }

 private:
  int sv_[2] = {-1, -1};
  int err_fd_ = -1;
  std::optional<sandbox::PreparedJail> prepared_;
  std::optional<sandbox::Error> setup_error_;
  std::optional<Session> session_;
  std::thread thread_;
  sandbox::Result<sandbox::Outcome> outcome_ = tl::unexpected(sandbox::Error{});
  int n_ = 0;
};

#define FNJAIL_JAIL_OR_SKIP(env)                                                          \
  if ((env).setup_error()) {                                                              \
    if (EnvironmentRefused(*(env).setup_error())) {                                       \
      GTEST_SKIP() << "kernel refused: " << (env).setup_error()->ToString();              \
    }                                                                                     \
    FAIL() << (env).setup_error()->ToString();                                            \
  }

// Sanitizer runtimes make syscalls of their own at start (and read /proc): the jailed
// runtime is proven in the plain builds, where it is the binary that ships.
#if defined(__SANITIZE_ADDRESS__)
#define FNJAIL_SKIP_UNDER_SANITIZERS() \
  GTEST_SKIP() << "fnjail-runtime is sanitizer-instrumented in this build"
#else
#define FNJAIL_SKIP_UNDER_SANITIZERS() (void)0
#endif

TEST(RuntimeJailTest, LuaFunctionLivesWithinTheLuaPresetAndItsBinds) {
  FNJAIL_SKIP_UNDER_SANITIZERS();
  TempDir dir;
  ::chmod(dir.path().c_str(), 0755);  // the jail's unprivileged uid binds it
  dir.Write("util.lua", "return {double = function(x) return 2 * x end}");
  dir.Write("handler.lua", R"lua(
local util = require("util")
local count = 0
function handler(event, ctx)
  count = count + 1
  ctx.log("call", count)
  if event.mode == "spin" then while true do end end
  if event.mode == "hog" then local t = {} for i = 1, 1e9 do t[i] = ("x"):rep(4096) .. i end end
  if event.mode == "fail" then error("failed on purpose") end
  return {count = count, double = util.double(event.n or 0), id = ctx.request_id,
          os_keys = os.time() > 0, has_io = io ~= nil}
end)lua");
  dir.Write("fn.toml", "name = \"jailed\"\nruntime = \"lua\"\nhandler = \"handler.lua\"\n"
                       "[profile.limits]\nmemory_mb = 64\npids = 2\n");
  auto fn = LoadFunction(dir.path() + "/fn.toml");
  ASSERT_THAT(fn, IsOk());
  JailOptions options;
  options.runtime_binary = testing::RuntimeBinary();
  auto spec = JailSpecFor(*fn, options);
  ASSERT_THAT(spec, IsOk());
  ASSERT_EQ(spec->syscalls.preset, "lua");

  JailedEnv env(std::move(*spec));
  FNJAIL_JAIL_OR_SKIP(env);
  for (int i = 1; i <= 3; ++i) {
    auto r = env.Invoke("{\"n\": " + std::to_string(i) + "}");
    ASSERT_THAT(r, IsOk()) << env.output();
    ASSERT_EQ(r->kind, Response::Kind::kOk) << r->error_message;
    auto body = nlohmann::json::parse(r->body);
    EXPECT_EQ(body["count"], i);
    EXPECT_EQ(body["double"], 2 * i);
    EXPECT_EQ(body["has_io"], false);
    EXPECT_EQ(r->logs, (std::vector<std::string>{"call\t" + std::to_string(i)}));
  }
  auto failed = env.Invoke(R"({"mode": "fail"})");
  ASSERT_THAT(failed, IsOk());
  EXPECT_EQ(failed->kind, Response::Kind::kUnhandledError);
  EXPECT_THAT(failed->error_message, HasSubstr("failed on purpose"));
  // The Lua allocator refuses before the cgroup limit is reached: an error, not a kill.
  auto hog = env.Invoke(R"({"mode": "hog"})");
  ASSERT_THAT(hog, IsOk()) << env.output();
  EXPECT_EQ(hog->error_type, "out-of-memory");
  EXPECT_TRUE(hog->tainted);
  env.Close();
  // Every syscall the runtime made stayed within the lua preset, or the jail would have
  // been killed with a seccomp outcome; it ended by itself when the channel closed.
  ASSERT_THAT(env.outcome(), IsOk());
  EXPECT_EQ(env.outcome()->kind, sandbox::Outcome::Kind::kExited)
      << sandbox::OutcomeKindName(env.outcome()->kind) << " " << env.outcome()->syscall << "\n"
      << env.output();
  EXPECT_EQ(env.outcome()->exit_code, 0) << env.output();
}

TEST(RuntimeJailTest, LuaDeadlineHookAnswersBeforeTheJailIsKilled) {
  FNJAIL_SKIP_UNDER_SANITIZERS();
  TempDir dir;
  ::chmod(dir.path().c_str(), 0755);
  dir.Write("spin.lua", "function handler() while true do end end");
  dir.Write("fn.toml", "name = \"spin\"\nruntime = \"lua\"\nhandler = \"spin.lua\"\n");
  auto fn = LoadFunction(dir.path() + "/fn.toml");
  ASSERT_THAT(fn, IsOk());
  JailOptions options;
  options.runtime_binary = testing::RuntimeBinary();
  auto spec = JailSpecFor(*fn, options);
  ASSERT_THAT(spec, IsOk());
  JailedEnv env(std::move(*spec));
  FNJAIL_JAIL_OR_SKIP(env);
  auto r = env.Invoke("{}", 300);
  ASSERT_THAT(r, IsOk()) << env.output();
  EXPECT_EQ(r->error_type, "timeout");
  EXPECT_TRUE(r->tainted);
  env.Close();
  ASSERT_THAT(env.outcome(), IsOk());
  EXPECT_EQ(env.outcome()->kind, sandbox::Outcome::Kind::kExited) << env.output();
}

TEST(RuntimeJailTest, PythonPersistentExampleRunsJailed) {
  FNJAIL_SKIP_UNDER_SANITIZERS();
  auto fn = LoadFunction(std::string(FNJAIL_SOURCE_DIR) +
                         "/examples/functions/python-persistent/hello.toml");
  ASSERT_THAT(fn, IsOk());
  JailOptions options;
  options.runtime_binary = testing::RuntimeBinary();
  auto spec = JailSpecFor(*fn, options);
  ASSERT_THAT(spec, IsOk());
  JailedEnv env(std::move(*spec));
  FNJAIL_JAIL_OR_SKIP(env);
  for (int i = 1; i <= 3; ++i) {
    auto r = env.Invoke(R"({"name": "jail"})");
    ASSERT_THAT(r, IsOk()) << env.output();
    ASSERT_EQ(r->kind, Response::Kind::kOk) << r->error_type << ": " << r->error_message
                                            << "\n" << env.output();
    auto body = nlohmann::json::parse(r->body);
    EXPECT_EQ(body["message"], "hello, jail!");
    EXPECT_EQ(body["served_by_this_process"], i);
  }
  env.Close();
  ASSERT_THAT(env.outcome(), IsOk());
  EXPECT_EQ(env.outcome()->kind, sandbox::Outcome::Kind::kExited)
      << sandbox::OutcomeKindName(env.outcome()->kind) << " " << env.outcome()->syscall;
}

}  // namespace
}  // namespace fnjail::runtime
