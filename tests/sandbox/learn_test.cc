// Tests of sandbox/learn.cc: learning runs, the learned profile, and bind resolution.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sandbox/sandbox.h"
#include "tests/sandbox/jail_testing.h"
#include "tests/testing/result_matchers.h"

namespace fnjail::sandbox {
namespace {

using ::fnjail::sandbox::testing::KernelRefused;
using ::fnjail::sandbox::testing::ProbeJail;
using ::fnjail::testing::IsOk;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using Kind = Outcome::Kind;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/fnjail-learn-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(BindsOnPathTest, FindsTheInnermostBind) {
  TempDir t;
  std::filesystem::create_directories(t.path() + "/a/b");
  const std::vector<Bind> binds = {{t.path() + "/a", "/a", false},
                                   {t.path() + "/a/b", "/a/b", false}};
  EXPECT_THAT(BindsOnPath(binds, "/a/file"), ElementsAre(0u));
  EXPECT_THAT(BindsOnPath(binds, "/a/b/file"), ElementsAre(0u, 1u));
  EXPECT_THAT(BindsOnPath(binds, "/ab/file"), IsEmpty());  // a prefix, not a parent
  EXPECT_THAT(BindsOnPath(binds, "/proc/self/status"), IsEmpty());
}

TEST(BindsOnPathTest, FollowsSymlinksIntoOtherBinds) {
  TempDir t;
  std::filesystem::create_directories(t.path() + "/real");
  std::ofstream(t.path() + "/real/file") << "x";
  std::filesystem::create_directory_symlink("real", t.path() + "/rel");
  std::filesystem::create_symlink("/real/file", t.path() + "/abs");
  const std::vector<Bind> binds = {{t.path() + "/real", "/real", false},
                                   {t.path() + "/rel", "/rel", false},
                                   {t.path() + "/abs", "/abs", false},
                                   {t.path() + "/real", "/unused", false}};
  // A bind whose source is a symlink is that symlink in the jail: relative...
  EXPECT_THAT(BindsOnPath(binds, "/rel/file"), ElementsAre(1u, 0u));
  // ... or absolute, resolved against the jail's root.
  EXPECT_THAT(BindsOnPath(binds, "/abs"), ElementsAre(2u, 0u));
  // `..` leaves a bind the way the kernel does.
  EXPECT_THAT(BindsOnPath(binds, "/real/../rel/file"), ElementsAre(0u, 1u));
}

TEST(BindsOnPathTest, SymlinkLoopsStop) {
  TempDir t;
  std::filesystem::create_symlink("/loop/x", t.path() + "/loop");
  const std::vector<Bind> binds = {{t.path() + "/loop", "/loop", false}};
  EXPECT_THAT(BindsOnPath(binds, "/loop/x"), ElementsAre(0u));
}

// Learns `builder`'s jail; skips when the kernel refuses.
#define LEARN_OR_SKIP(var, spec)                                                  \
  auto var = Learn(spec, RunIo{-1, -1, -1});                                     \
  if (!var && KernelRefused(var.error())) GTEST_SKIP() << var.error().ToString(); \
  ASSERT_THAT(var, IsOk())

SandboxSpec Build(const SandboxBuilder& b) {
  auto spec = b.TryBuild();
  EXPECT_THAT(spec, IsOk());
  return spec ? *spec : SandboxSpec{};
}

// The spec the learned profile gives, running `argv`.
SandboxSpec FromLearned(const std::string& toml, std::vector<std::string> argv) {
  auto profile = ParseProfileToml(toml, "learned.toml");
  EXPECT_THAT(profile, IsOk()) << toml;
  if (!profile) return {};
  return Build(SandboxBuilder(profile->spec).Command(std::move(argv)));
}

TEST(LearnTest, RecordsTheSyscallsAndBindsUsed) {
  const SandboxSpec spec = Build(ProbeJail({"getppid"}));
  LEARN_OR_SKIP(r, spec);
  EXPECT_EQ(r->outcome.kind, Kind::kExited);
  EXPECT_EQ(r->outcome.exit_code, 0);
  EXPECT_THAT(r->syscalls, Contains("getppid"));
  EXPECT_THAT(r->syscalls, Contains("execve"));
  EXPECT_THAT(r->syscalls, Not(Contains("seccomp")));  // the launcher's, not the command's
  EXPECT_THAT(r->denied, IsEmpty());
  EXPECT_THAT(r->paths, Contains(testing::TrySyscall()));
  // The static probe needs only its own directory; the system binds went unused.
  ASSERT_EQ(r->binds.size(), 1u);
  EXPECT_EQ(r->binds[0].target,
            std::filesystem::path(testing::TrySyscall()).parent_path().string());
  EXPECT_FALSE(r->used_tmp);
}

TEST(LearnTest, LearnedProfileRunsAndRemovingALearnedSyscallKills) {
  const SandboxSpec spec = Build(ProbeJail({"getppid"}));
  LEARN_OR_SKIP(r, spec);
  const std::string toml = LearnedProfileToml(spec, *r);
  FNJAIL_RUN_OR_SKIP(ok, FromLearned(toml, spec.argv));
  ASSERT_THAT(ok.outcome, IsOk());
  EXPECT_EQ(ok.outcome->kind, Kind::kExited);
  EXPECT_EQ(ok.outcome->exit_code, 0);
  SandboxSpec without = FromLearned(toml, spec.argv);
  without.syscalls.remove.push_back("getppid");
  FNJAIL_RUN_OR_SKIP(killed, without);
  ASSERT_THAT(killed.outcome, IsOk());
  EXPECT_EQ(killed.outcome->kind, Kind::kSeccompViolation);
  EXPECT_EQ(killed.outcome->syscall, "getppid");
}

TEST(LearnTest, LearnedProfileOfADynamicProgramRuns) {
  const SandboxSpec spec =
      Build(SandboxBuilder().DefaultSystemBinds().Command({"/bin/ls", "/usr"}));
  LEARN_OR_SKIP(r, spec);
  EXPECT_EQ(r->outcome.exit_code, 0);
  EXPECT_THAT(r->syscalls, Contains("getdents64"));
  // The loader came in through the kernel (PT_INTERP), and the library cache by path.
  EXPECT_THAT(r->paths, Contains("/etc/ld.so.cache"));
  const std::string toml = LearnedProfileToml(spec, *r);
  EXPECT_THAT(toml, HasSubstr("system_binds = false"));
  EXPECT_THAT(toml, HasSubstr("tmpfs_mb = 0"));
  FNJAIL_RUN_OR_SKIP(plain, spec);
  FNJAIL_RUN_OR_SKIP(learned, FromLearned(toml, spec.argv));
  ASSERT_THAT(learned.outcome, IsOk());
  EXPECT_EQ(learned.outcome->kind, Kind::kExited) << learned.err;
  EXPECT_EQ(learned.outcome->exit_code, 0) << learned.err;
  EXPECT_EQ(learned.out, plain.out);
  SandboxSpec without = FromLearned(toml, spec.argv);
  without.syscalls.remove.push_back("getdents64");
  FNJAIL_RUN_OR_SKIP(killed, without);
  ASSERT_THAT(killed.outcome, IsOk());
  EXPECT_EQ(killed.outcome->kind, Kind::kSeccompViolation);
  EXPECT_EQ(killed.outcome->syscall, "getdents64");
}

TEST(LearnTest, ChildProcessesAreLearnedToo) {
  const SandboxSpec spec = Build(SandboxBuilder().DefaultSystemBinds().Command(
      {"/bin/sh", "-c", "echo hi > /tmp/x && /bin/cat /tmp/x"}));
  LEARN_OR_SKIP(r, spec);
  EXPECT_EQ(r->outcome.exit_code, 0);
  EXPECT_THAT(r->paths, Contains("/bin/cat"));
  EXPECT_TRUE(r->used_tmp);
  const std::string toml = LearnedProfileToml(spec, *r);
  EXPECT_THAT(toml, Not(HasSubstr("tmpfs_mb")));  // /tmp stays at its default
  FNJAIL_RUN_OR_SKIP(learned, FromLearned(toml, spec.argv));
  ASSERT_THAT(learned.outcome, IsOk());
  EXPECT_EQ(learned.outcome->exit_code, 0) << learned.err;
  EXPECT_EQ(learned.out, "hi\n");
}

TEST(LearnTest, AlwaysDeniedCallsAreReportedAndNeverGranted) {
  const SandboxSpec spec = Build(ProbeJail({"io_uring_setup"}));
  LEARN_OR_SKIP(r, spec);
  // Answered EPERM instead of killing, so the learning run goes on.
  EXPECT_EQ(r->outcome.kind, Kind::kExited);
  EXPECT_EQ(r->outcome.exit_code, EPERM);
  EXPECT_THAT(r->denied, ElementsAre("io_uring_setup"));
  EXPECT_THAT(r->syscalls, Not(Contains("io_uring_setup")));
  auto profile = ParseProfileToml(LearnedProfileToml(spec, *r), "learned.toml");
  ASSERT_THAT(profile, IsOk());
  EXPECT_THAT(profile->spec.syscalls.add, Not(Contains("io_uring_setup")));
  EXPECT_THAT(profile->dangerous_syscalls, IsEmpty());
}

TEST(LearnTest, NamespaceFlagsToCloneAreReportedAsDenied) {
  const SandboxSpec spec = Build(ProbeJail({"clone_newuser"}));
  LEARN_OR_SKIP(r, spec);
  EXPECT_EQ(r->outcome.exit_code, EPERM);
  EXPECT_THAT(r->denied, ElementsAre("clone with namespace flags"));
}

TEST(LearnTest, RefusedSocketFamiliesAreLearnedAsTheyWouldBeAnswered) {
  const SandboxSpec spec = Build(ProbeJail({"socket_inet"}));
  LEARN_OR_SKIP(r, spec);
  EXPECT_EQ(r->outcome.exit_code, EAFNOSUPPORT);  // as network mode none answers
  EXPECT_THAT(r->syscalls, Contains("socket"));
  FNJAIL_RUN_OR_SKIP(learned, FromLearned(LearnedProfileToml(spec, *r), spec.argv));
  ASSERT_THAT(learned.outcome, IsOk());
  EXPECT_EQ(learned.outcome->exit_code, EAFNOSUPPORT);
}

TEST(LearnTest, ProfileKeepsTheGivenSettings) {
  SandboxSpec spec = Build(ProbeJail({"exit", "0"})
                               .MemoryLimit(64 << 20)
                               .Timeout(5000)
                               .Env("MODE", "a \"quoted\" value")
                               .Network(NetworkMode::kLoopback));
  LearnReport report;
  report.syscalls = {"execve", "exit_group"};
  report.binds = {spec.binds.back()};
  const std::string toml = LearnedProfileToml(spec, report);
  auto profile = ParseProfileToml(toml, "learned.toml");
  ASSERT_THAT(profile, IsOk()) << toml;
  EXPECT_EQ(profile->spec.limits.memory_bytes, 64u << 20);
  EXPECT_EQ(profile->spec.limits.timeout_ms, 5000u);
  EXPECT_EQ(profile->spec.limits.tmpfs_bytes, 0u);
  EXPECT_EQ(profile->spec.network, NetworkMode::kLoopback);
  EXPECT_THAT(profile->spec.env, ElementsAre("MODE=a \"quoted\" value"));
  ASSERT_EQ(profile->spec.binds.size(), 1u);
  EXPECT_EQ(profile->spec.binds[0].target, spec.binds.back().target);
  EXPECT_EQ(profile->spec.syscalls.preset, "minimal");
  EXPECT_THAT(profile->spec.syscalls.add, ElementsAre("execve"));
}

}  // namespace
}  // namespace fnjail::sandbox
