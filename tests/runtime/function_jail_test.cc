// The jail of a function. JailSpecFor against the design brief's jail invariants (read-only
// binds only, no network, no host descriptors, capped tmpfs and output, memory and pids
// limits, a clean environment, no dangerous switch), for a Lua and an exec function; then
// the Lua runtime's own seccomp filter in a real jail: a Lua environment carries one more
// filter than an exec environment (the jail's, plus the runtime's lockdown) and holds no
// descriptor but stdio and its channel.
#include <dirent.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/function.h"
#include "runtime/protocol.h"
#include "sandbox/sandbox.h"
#include "tests/runtime/runtime_testing.h"
#include "tests/testing/result_matchers.h"

namespace fnjail::runtime {
namespace {

using ::fnjail::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using ::testing::UnorderedElementsAreArray;
using testing::MakeInvocation;
using testing::TempDir;
using namespace std::chrono_literals;

// A function folder holding a Lua handler and an exec handler, and the two function files.
class FunctionJailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::chmod(dir_.path().c_str(), 0755);  // the jail's unprivileged uid binds it
    dir_.Write("handler.lua", "function handler(event, ctx) return {ok = true} end");
    dir_.Write("handler.sh", "#!/bin/sh\ncat\n");
    ::chmod((dir_.path() + "/handler.sh").c_str(), 0755);
    dir_.Write("lua.toml", "name = \"lua-fn\"\nruntime = \"lua\"\nhandler = \"handler.lua\"\n");
    dir_.Write("exec.toml", "name = \"exec-fn\"\nruntime = \"exec\"\nhandler = \"handler.sh\"\n"
                            "[profile.filesystem]\nsystem_binds = true\n");
  }

  Result<sandbox::SandboxSpec> SpecOf(const std::string& file) {
    auto fn = LoadFunction(dir_.path() + "/" + file);
    if (!fn) return tl::unexpected(fn.error());
    JailOptions options;
    options.runtime_binary = testing::RuntimeBinary();
    return JailSpecFor(*fn, options);
  }

  // The invariants every function's jail keeps unless its profile says otherwise.
  static void ExpectJailInvariants(const sandbox::SandboxSpec& spec) {
    for (const sandbox::Bind& b : spec.binds) {
      EXPECT_FALSE(b.writable) << b.source << " -> " << b.target;
    }
    EXPECT_EQ(spec.network, sandbox::NetworkMode::kNone);
    EXPECT_EQ(spec.channel_fd, -1) << "the caller hands the channel, nothing else";
    EXPECT_FALSE(spec.dangerous.has_value());
    EXPECT_THAT(spec.syscalls.dangerous_allow, IsEmpty());
    EXPECT_THAT(spec.env, IsEmpty()) << "a clean environment: only what the profile lists";
    EXPECT_NE(spec.uid, 0u);
    EXPECT_NE(spec.gid, 0u);
    EXPECT_EQ(spec.cgroup, sandbox::CgroupMode::kRequired);
    const sandbox::Limits& l = spec.limits;
    EXPECT_GT(l.memory_bytes, 0u);
    EXPECT_LE(l.memory_bytes, 256ull << 20);
    EXPECT_GT(l.pids, 0u);
    EXPECT_LE(l.pids, 64u);
    EXPECT_GT(l.timeout_ms, 0u);
    EXPECT_GT(l.tmpfs_bytes, 0u);
    EXPECT_LE(l.tmpfs_bytes, 64ull << 20);
    EXPECT_GT(l.output_bytes, 0u);
    EXPECT_LE(l.output_bytes, 1ull << 20);
    EXPECT_GT(l.file_size_bytes, 0u);
    EXPECT_GT(l.open_files, 0u);
    EXPECT_TRUE(sandbox::ValidateSpec(spec)) << "JailSpecFor returns a sound spec";
  }

  TempDir dir_;
};

TEST_F(FunctionJailTest, LuaFunctionJailKeepsTheInvariants) {
  auto spec = SpecOf("lua.toml");
  ASSERT_THAT(spec, IsOk());
  ExpectJailInvariants(*spec);
  // The system binds (the profile's default), the runtime and the function's folder.
  std::vector<std::string> targets;
  for (const auto& b : spec->binds) targets.push_back(b.target);
  std::vector<std::string> expected = {std::string(kRuntimeInJail),
                                       std::string(kFunctionDirInJail)};
  for (const auto& b : sandbox::DefaultSystemBinds()) expected.push_back(b.target);
  EXPECT_THAT(targets, UnorderedElementsAreArray(expected));
  EXPECT_EQ(spec->cwd, std::string(kFunctionDirInJail));
  // The lua preset, plus execve (the launcher executes the runtime under the filter; the
  // runtime then stacks its own filter, which kills execve): nothing else.
  EXPECT_EQ(spec->syscalls.preset, "lua");
  EXPECT_THAT(spec->syscalls.add, ElementsAre("execve"));
  EXPECT_THAT(spec->syscalls.remove, IsEmpty());
  ASSERT_GE(spec->argv.size(), 2u);
  EXPECT_EQ(spec->argv[0], std::string(kRuntimeInJail));
  EXPECT_EQ(spec->argv[1], "lua");
  EXPECT_EQ(spec->argv.back(), std::string(kFunctionDirInJail) + "/handler.lua");
}

TEST_F(FunctionJailTest, ExecFunctionJailKeepsTheInvariants) {
  auto spec = SpecOf("exec.toml");
  ASSERT_THAT(spec, IsOk());
  ExpectJailInvariants(*spec);
  EXPECT_EQ(spec->syscalls.preset, "exec-default");
  EXPECT_THAT(spec->syscalls.add, IsEmpty()) << "nothing beyond the profile's preset";
  EXPECT_THAT(spec->argv, ElementsAre(std::string(kRuntimeInJail), "exec", "--mode", "simple",
                                      "--", std::string(kFunctionDirInJail) + "/handler.sh"));
}

TEST_F(FunctionJailTest, WritableBindsAndNetworkOnlyWhenTheProfileAsks) {
  TempDir data;
  ::chmod(data.path().c_str(), 0755);
  dir_.Write("rw.toml", "name = \"rw-fn\"\nruntime = \"lua\"\nhandler = \"handler.lua\"\n"
                        "[profile.filesystem]\nrw_binds = [\"" + data.path() + ":/data\"]\n"
                        "[profile.network]\nmode = \"loopback\"\n");
  auto spec = SpecOf("rw.toml");
  ASSERT_THAT(spec, IsOk());
  size_t writable = 0;
  for (const auto& b : spec->binds) {
    if (!b.writable) continue;
    ++writable;
    EXPECT_EQ(b.target, "/data");
  }
  EXPECT_EQ(writable, 1u);
  EXPECT_EQ(spec->network, sandbox::NetworkMode::kLoopback);
}

// ---------------------------------------------------------------------------------------
// In a real jail.

// True when the environment, not the spec, refused the jail.
bool EnvironmentRefused(const sandbox::Error& e) {
  using sandbox::Step;
  return (e.step == Step::kClone && (e.err == EPERM || e.err == EINVAL || e.err == ENOSPC ||
                                     e.err == EUSERS)) ||
         ((e.step == Step::kBind || e.step == Step::kFindCommand) && e.err == EACCES) ||
         e.step == Step::kUserNsMap || (e.step == Step::kCgroup && geteuid() != 0);
}

// One line's value of /proc/<pid>/status, or nullopt.
std::optional<std::string> StatusField(pid_t pid, const std::string& name) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + ":", 0) == 0) {
      std::string v = line.substr(name.size() + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  }
  return std::nullopt;
}

std::vector<int> OpenFds(pid_t pid) {
  std::vector<int> fds;
  DIR* d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (d == nullptr) return fds;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') fds.push_back(std::atoi(e->d_name));
  }
  ::closedir(d);
  std::sort(fds.begin(), fds.end());
  return fds;
}

struct Probe {
  std::string skipped;               // set when the kernel refused the jail
  std::optional<std::string> seccomp, filters, no_new_privs;
  std::vector<int> fds;
  std::optional<sandbox::Outcome> outcome;
};

// Starts `spec` on `host`, serves one invocation, reads the runtime's status while it is
// idle and warm, then closes the channel and waits for the jail.
Probe StartInvokeAndInspect(sandbox::JailHost& host, sandbox::SandboxSpec spec,
                            const std::string& event) {
  Probe probe;
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    ADD_FAILURE() << "socketpair";
    return probe;
  }
  auto prepared = sandbox::PreparedJail::Prepare(std::move(spec));
  if (!prepared) {
    ADD_FAILURE() << prepared.error().ToString();
    return probe;
  }
  sandbox::StartOptions options;
  options.channel_fd = sv[1];
  auto jail = host.Start(*prepared, options);
  ::close(sv[1]);
  if (!jail) {
    ::close(sv[0]);
    if (EnvironmentRefused(jail.error())) probe.skipped = jail.error().ToString();
    else ADD_FAILURE() << jail.error().ToString();
    return probe;
  }
  auto session = Session::Create(sv[0]);
  if (!session) {
    ADD_FAILURE() << session.error().message;
  } else {
    auto r = session->Invoke(MakeInvocation(event), 20s);
    if (!r) {
      ADD_FAILURE() << r.error().code << ": " << r.error().message << "\n"
                    << (*jail)->TakeOutput();
    } else {
      EXPECT_EQ(r->kind, Response::Kind::kOk) << r->error_type << ": " << r->error_message;
    }
    const pid_t pid = (*jail)->pid();
    probe.seccomp = StatusField(pid, "Seccomp");
    probe.filters = StatusField(pid, "Seccomp_filters");
    probe.no_new_privs = StatusField(pid, "NoNewPrivs");
    probe.fds = OpenFds(pid);
  }
  ::close(sv[0]);
  probe.outcome = (*jail)->WaitFor(20s);
  if (!probe.outcome) (*jail)->Kill(sandbox::Outcome::Kind::kTimeout);
  return probe;
}

#if defined(__SANITIZE_ADDRESS__)
#define FNJAIL_SKIP_UNDER_SANITIZERS() \
  GTEST_SKIP() << "fnjail-runtime is sanitizer-instrumented in this build"
#else
#define FNJAIL_SKIP_UNDER_SANITIZERS() (void)0
#endif

TEST_F(FunctionJailTest, LuaRuntimeStacksItsOwnFilterInARealJail) {
  FNJAIL_SKIP_UNDER_SANITIZERS();
  auto host = sandbox::JailHost::Create();
  ASSERT_TRUE(host) << host.error().ToString();
  auto lua_spec = SpecOf("lua.toml");
  auto exec_spec = SpecOf("exec.toml");
  ASSERT_THAT(lua_spec, IsOk());
  ASSERT_THAT(exec_spec, IsOk());

  Probe lua = StartInvokeAndInspect(**host, std::move(*lua_spec), "{}");
  if (!lua.skipped.empty()) GTEST_SKIP() << "kernel refused: " << lua.skipped;
  Probe exec = StartInvokeAndInspect(**host, std::move(*exec_spec), "{\"x\": 1}");
  ASSERT_TRUE(exec.skipped.empty()) << exec.skipped;

  // Mode 2 (filter) with no_new_privs in both; the exec runtime keeps the jail's filter
  // alone (its handler needs execve), the Lua runtime adds its lockdown on top.
  EXPECT_EQ(lua.seccomp, "2");
  EXPECT_EQ(exec.seccomp, "2");
  EXPECT_EQ(lua.no_new_privs, "1");
  ASSERT_TRUE(lua.filters.has_value() && exec.filters.has_value())
      << "the kernel does not report Seccomp_filters";
  EXPECT_GE(std::stoi(*exec.filters), 1);
  EXPECT_EQ(std::stoi(*lua.filters), std::stoi(*exec.filters) + 1);
  // No host descriptor reached either runtime: stdio and the channel only.
  EXPECT_THAT(lua.fds, ElementsAre(0, 1, 2, 3));
  // Both ended by themselves when the channel closed.
  ASSERT_TRUE(lua.outcome.has_value());
  EXPECT_EQ(lua.outcome->kind, sandbox::Outcome::Kind::kExited)
      << sandbox::OutcomeKindName(lua.outcome->kind) << " " << lua.outcome->syscall;
  EXPECT_EQ(lua.outcome->exit_code, 0);
  ASSERT_TRUE(exec.outcome.has_value());
  EXPECT_EQ(exec.outcome->kind, sandbox::Outcome::Kind::kExited);
}

}  // namespace
}  // namespace fnjail::runtime
