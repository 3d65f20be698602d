// Integration tests of sandbox/launcher.cc: the checklist, outcomes, stdio and the jail's
// shape, each feature with a positive and a negative case.
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
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

using ::fnjail::sandbox::testing::ProbeJail;
using ::fnjail::testing::IsOk;
using ::testing::HasSubstr;
using Kind = Outcome::Kind;

SandboxSpec Build(const SandboxBuilder& b) {
  auto spec = b.TryBuild();
  EXPECT_THAT(spec, IsOk());
  return spec ? *spec : SandboxSpec{};
}

// A temporary directory removed at the end of a test.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/fnjail-test-XXXXXX";
    path_ = mkdtemp(tmpl);
    chmod(path_.c_str(), 0777);  // the jail's unprivileged uid writes here
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(LauncherTest, RunsDynamicBinaryFromUsr) {
  FNJAIL_RUN_OR_SKIP(r, Build(SandboxBuilder().DefaultSystemBinds().Command({"/bin/true"})));
  ASSERT_THAT(r.outcome, IsOk());
  EXPECT_EQ(r.outcome->kind, Kind::kExited);
  EXPECT_EQ(r.outcome->exit_code, 0);
}

TEST(LauncherTest, ExitCodePassesThrough) {
  FNJAIL_RUN_OR_SKIP(r, Build(ProbeJail({"exit", "7"})));
  ASSERT_THAT(r.outcome, IsOk());
  EXPECT_EQ(r.outcome->kind, Kind::kExited);
  EXPECT_EQ(r.outcome->exit_code, 7);
  EXPECT_EQ(r.outcome->ShellStatus(), 7);
}

TEST(LauncherTest, CommandIsFoundOnThePathInsideTheJail) {
  FNJAIL_RUN_OR_SKIP(r, Build(SandboxBuilder().DefaultSystemBinds().Command({"true"})));
  ASSERT_THAT(r.outcome, IsOk());
  EXPECT_EQ(r.outcome->exit_code, 0);
}

TEST(LauncherTest, MissingCommandIsASetupFailure) {
  FNJAIL_RUN_OR_SKIP(r, Build(SandboxBuilder().DefaultSystemBinds().Command({"/nonexistent"})));
  ASSERT_FALSE(r.outcome);
  EXPECT_EQ(r.outcome.error().step, Step::kFindCommand);
  EXPECT_EQ(r.outcome.error().err, ENOENT);
}

TEST(LauncherTest, HostPathsOutsideTheBindsAreAbsent) {
  // /etc is not bound: only /etc/ld.so.cache is.
  FNJAIL_RUN_OR_SKIP(r, Build(ProbeJail({"open_read", "/etc/passwd"})));
  ASSERT_THAT(r.outcome, IsOk());
  EXPECT_EQ(r.outcome->exit_code, ENOENT);
  FNJAIL_RUN_OR_SKIP(shadow, Build(ProbeJail({"open_read", "/etc/shadow"})));
  ASSERT_THAT(shadow.outcome, IsOk());
  EXPECT_EQ(shadow.outcome->exit_code, ENOENT);
  FNJAIL_RUN_OR_SKIP(ok, Build(ProbeJail({"open_read", "/etc/ld.so.cache"})));
  ASSERT_THAT(ok.outcome, IsOk());
  EXPECT_EQ(ok.outcome->exit_code, 0);
}

TEST(LauncherTest, StdioPassesThrough) {
  FNJAIL_RUN_OR_SKIP(r, Build(ProbeJail({"echo", "world"})), "hello\n");
  ASSERT_THAT(r.outcome, IsOk());
  EXPECT_EQ(r.outcome->exit_code, 0);
  EXPECT_EQ(r.out, "hello\nworld\n");
}

TEST(LauncherTest, EnvironmentHoldsOnlyListedVariables) {
  setenv("FNJAIL_TEST_HOST_SECRET", "leak", 1);
  FNJAIL_RUN_OR_SKIP(
      r, Build(SandboxBuilder().DefaultSystemBinds().Env("A", "1").Command({"/usr/bin/env"})));
  unsetenv("FNJAIL_TEST_HOST_SECRET");
  ASSERT_THAT(r.outcome, IsOk());
  EXPECT_EQ(r.out, "A=1\n");
}

TEST(LauncherTest, DeadlineKillsTheJail) {
  FNJAIL_RUN_OR_SKIP(r, Build(ProbeJail({"spin"}).Timeout(300)));
  ASSERT_THAT(r.outcome, IsOk());
  EXPECT_EQ(r.outcome->kind, Kind::kTimeout);
  EXPECT_GE(r.outcome->wall_ms, 300u);
  EXPECT_LT(r.outcome->wall_ms, 5000u);
  EXPECT_EQ(r.outcome->ShellStatus(), 128 + SIGKILL);
}

TEST(LauncherTest, FastCommandBeatsTheDeadline) {
  FNJAIL_RUN_OR_SKIP(r, Build(ProbeJail({"exit", "0"}).Timeout(5000)));
  ASSERT_THAT(r.outcome, IsOk());
  EXPECT_EQ(r.outcome->kind, Kind::kExited);
  EXPECT_LT(r.outcome->wall_ms, 5000u);
}

TEST(LauncherTest, OutputBeyondTheCapIsCutAndKills) {
  FNJAIL_RUN_OR_SKIP(r, Build(ProbeJail({"flood"}).OutputLimit(64 << 10)));
  ASSERT_THAT(r.outcome, IsOk());
  EXPECT_EQ(r.outcome->kind, Kind::kOutputLimit);
  EXPECT_EQ(r.out.size(), 64u << 10);
}

TEST(LauncherTest, OutputUnderTheCapIsComplete) {
  FNJAIL_RUN_OR_SKIP(r, Build(ProbeJail({"echo", "done"}).OutputLimit(5)), "");
  ASSERT_THAT(r.outcome, IsOk());
  EXPECT_EQ(r.outcome->kind, Kind::kExited);
  EXPECT_EQ(r.out, "done\n");
}

TEST(LauncherTest, SeccompViolationIsReportedByName) {
  FNJAIL_RUN_OR_SKIP(r, Build(ProbeJail({"io_uring_setup"})));
  ASSERT_THAT(r.outcome, IsOk());
  EXPECT_EQ(r.outcome->kind, Kind::kSeccompViolation);
  EXPECT_EQ(r.outcome->syscall, "io_uring_setup");
  EXPECT_EQ(r.outcome->ShellStatus(), 128 + SIGSYS);
}

TEST(LauncherTest, RemovedSyscallIsKilledAndKeptOneRuns) {
  FNJAIL_RUN_OR_SKIP(denied, Build(ProbeJail({"getppid"}).DenySyscall("getppid")));
  ASSERT_THAT(denied.outcome, IsOk());
  EXPECT_EQ(denied.outcome->kind, Kind::kSeccompViolation);
  EXPECT_EQ(denied.outcome->syscall, "getppid");
  FNJAIL_RUN_OR_SKIP(allowed, Build(ProbeJail({"getppid"})));
  ASSERT_THAT(allowed.outcome, IsOk());
  EXPECT_EQ(allowed.outcome->kind, Kind::kExited);
  EXPECT_EQ(allowed.outcome->exit_code, 0);
}

TEST(LauncherTest, CrashOfTheCommandIsReportedAsItsSignal) {
  FNJAIL_RUN_OR_SKIP(r, Build(ProbeJail({"segv"}).Timeout(10'000)));
  ASSERT_THAT(r.outcome, IsOk());
  EXPECT_EQ(r.outcome->kind, Kind::kSignaled);
  EXPECT_EQ(r.outcome->signal, SIGSEGV);
  EXPECT_LT(r.outcome->wall_ms, 5000u);
  EXPECT_EQ(r.outcome->ShellStatus(), 128 + SIGSEGV);
}

TEST(LauncherTest, ProcessRunsWithoutCapabilitiesAndWithNoNewPrivs) {
  FNJAIL_RUN_OR_SKIP(
      r, Build(SandboxBuilder().DefaultSystemBinds().Command({"/bin/cat", "/proc/self/status"})));
  ASSERT_THAT(r.outcome, IsOk());
  ASSERT_EQ(r.outcome->exit_code, 0) << r.err;
  for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
    EXPECT_THAT(r.out, HasSubstr(std::string(set) + ":\t0000000000000000")) << set;
  }
  EXPECT_THAT(r.out, HasSubstr("NoNewPrivs:\t1"));
  EXPECT_THAT(r.out, HasSubstr("Seccomp:\t2"));
  EXPECT_THAT(r.out, HasSubstr("Uid:\t1000\t1000\t1000\t1000"));
  // Root's supplementary groups are gone (an ordinary launcher keeps its own, unmapped).
  if (geteuid() == 0) {
    EXPECT_THAT(r.out, HasSubstr("Groups:\t \n"));
  }
}

TEST(LauncherTest, InsideIdentityIsConfigurable) {
  FNJAIL_RUN_OR_SKIP(r, Build(SandboxBuilder().DefaultSystemBinds().Identity(0, 0).Command(
                            {"/bin/cat", "/proc/self/status"})));
  ASSERT_THAT(r.outcome, IsOk());
  EXPECT_THAT(r.out, HasSubstr("Uid:\t0\t0\t0\t0"));
  // Root inside still has no capability at all.
  EXPECT_THAT(r.out, HasSubstr("CapEff:\t0000000000000000"));
}

TEST(LauncherTest, FilesWrittenByTheJailBelongToAnUnprivilegedHostUid) {
  TempDir dir;
  FNJAIL_RUN_OR_SKIP(
      r, Build(ProbeJail({"open_write", "/data/out"}).WritableBind(dir.path(), "/data")));
  ASSERT_THAT(r.outcome, IsOk());
  ASSERT_EQ(r.outcome->exit_code, 0);
  struct stat st {};
  ASSERT_EQ(stat((dir.path() + "/out").c_str(), &st), 0);
  // Root outside is never root on the host: the jail is "nobody" then.
  EXPECT_EQ(st.st_uid, geteuid() == 0 ? 65534u : geteuid());
  EXPECT_NE(st.st_uid, 0u);
}

TEST(LauncherTest, ReadOnlyBindRefusesWrites) {
  TempDir dir;
  FNJAIL_RUN_OR_SKIP(
      r, Build(ProbeJail({"open_write", "/data/out"}).ReadOnlyBind(dir.path(), "/data")));
  ASSERT_THAT(r.outcome, IsOk());
  EXPECT_EQ(r.outcome->exit_code, EROFS);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/out"));
}

TEST(LauncherTest, RootOfTheJailIsReadOnly) {
  FNJAIL_RUN_OR_SKIP(r, Build(ProbeJail({"open_write", "/newfile"})));
  ASSERT_THAT(r.outcome, IsOk());
  EXPECT_EQ(r.outcome->exit_code, EROFS);
}

TEST(LauncherTest, TmpIsASizeCappedTmpfs) {
  FNJAIL_RUN_OR_SKIP(r, Build(ProbeJail({"tmpfs_fill"}).TmpfsSize(1 << 20)));
  ASSERT_THAT(r.outcome, IsOk());
  EXPECT_EQ(r.outcome->exit_code, ENOSPC);
  FNJAIL_RUN_OR_SKIP(none, Build(ProbeJail({"tmpfs_fill"}).TmpfsSize(0)));
  ASSERT_THAT(none.outcome, IsOk());
  // No writable /tmp: absent, or (when the probe itself is bound from under the host's
  // /tmp) a read-only directory of the root.
  EXPECT_TRUE(none.outcome->exit_code == ENOENT || none.outcome->exit_code == EROFS)
      << none.outcome->exit_code;
}

TEST(LauncherTest, OnlyStdioAndTheChannelAreInherited) {
  // A host descriptor without close-on-exec, as a careless embedder would leave.
  const int leaked = open("/etc/hostname", O_RDONLY);
  ASSERT_GE(leaked, 0);
  FNJAIL_RUN_OR_SKIP(r, Build(ProbeJail({"open_fds"})));
  ASSERT_THAT(r.outcome, IsOk());
  EXPECT_EQ(r.outcome->exit_code, 0) << "descriptor leaked into the jail";
  FNJAIL_RUN_OR_SKIP(with_channel, Build(ProbeJail({"open_fds"}).ChannelFd(leaked)));
  close(leaked);
  ASSERT_THAT(with_channel.outcome, IsOk());
  EXPECT_EQ(with_channel.outcome->exit_code, 3);  // the channel, and nothing else
}

TEST(LauncherTest, NetworkNoneAllowsOnlyUnixSockets) {
  FNJAIL_RUN_OR_SKIP(inet, Build(ProbeJail({"socket_inet"})));
  ASSERT_THAT(inet.outcome, IsOk());
  EXPECT_EQ(inet.outcome->exit_code, EAFNOSUPPORT);
  FNJAIL_RUN_OR_SKIP(unix_socket, Build(ProbeJail({"socket_unix"})));
  ASSERT_THAT(unix_socket.outcome, IsOk());
  EXPECT_EQ(unix_socket.outcome->exit_code, 0);
}

TEST(LauncherTest, NetworkLoopbackAllowsInetSocketsInAnEmptyNamespace) {
  FNJAIL_RUN_OR_SKIP(r, Build(ProbeJail({"socket_inet"}).Network(NetworkMode::kLoopback)));
  ASSERT_THAT(r.outcome, IsOk());
  EXPECT_EQ(r.outcome->exit_code, 0);
  FNJAIL_RUN_OR_SKIP(netlink, Build(ProbeJail({"socket_netlink"}).Network(NetworkMode::kLoopback)));
  ASSERT_THAT(netlink.outcome, IsOk());
  EXPECT_EQ(netlink.outcome->exit_code, EAFNOSUPPORT);
}

TEST(LauncherTest, HostnameIsTheJails) {
  FNJAIL_RUN_OR_SKIP(r, Build(SandboxBuilder().DefaultSystemBinds().Hostname("fn-test").Command(
                            {"/bin/cat", "/proc/sys/kernel/hostname"})));
  ASSERT_THAT(r.outcome, IsOk());
  EXPECT_EQ(r.out, "fn-test\n");
}

TEST(LauncherTest, JailSeesOnlyItsOwnPidNamespace) {
  FNJAIL_RUN_OR_SKIP(
      r, Build(ProbeJail({"kill_pid", std::to_string(getpid())})));
  ASSERT_THAT(r.outcome, IsOk());
  EXPECT_EQ(r.outcome->exit_code, ESRCH);
  FNJAIL_RUN_OR_SKIP(self, Build(ProbeJail({"kill_pid", "1"})));
  ASSERT_THAT(self.outcome, IsOk());
  EXPECT_EQ(self.outcome->exit_code, 0);  // pid 1 is the command itself
}

TEST(LauncherTest, ReportsWallAndCpuTime) {
  // A known CPU cost rather than a wall-clock spin, so a loaded machine cannot starve it.
  FNJAIL_RUN_OR_SKIP(r, Build(ProbeJail({"burn", "150"}).Timeout(20'000)));
  ASSERT_THAT(r.outcome, IsOk());
  EXPECT_EQ(r.outcome->kind, Outcome::Kind::kExited);
  EXPECT_EQ(r.outcome->exit_code, 0);
  EXPECT_GE(r.outcome->cpu_ms, 150u);
  EXPECT_LT(r.outcome->cpu_ms, 5'000u);
  // One thread: the jail cannot have used more CPU than the time it existed.
  EXPECT_GE(r.outcome->wall_ms + 1, r.outcome->cpu_ms);
  EXPECT_GT(r.outcome->max_rss_kb, 0u);
}

TEST(LauncherTest, RunsAsAnOrdinaryUser) {
  // The same jail from an unprivileged launcher: fork, drop to nobody, run, report.
  if (geteuid() != 0) GTEST_SKIP() << "needs root to become another user";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 ||
        setresuid(65534, 65534, 65534) != 0) {
      _exit(10);
    }
    // A login of that user would be dumpable; a process that switched ids is not, which
    // makes its /proc files (the child's uid_map) root's.
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    // A build tree nobody may enter (a private checkout) cannot be tested this way.
    if (access(testing::TrySyscall().c_str(), X_OK) != 0) _exit(78);
    auto spec = ProbeJail({"io_uring_setup"}).AcceptRlimitsOnly().TryBuild();
    if (!spec) _exit(11);
    auto r = sandbox::Run(*spec, RunIo{-1, -1, -1});
    if (!r) {
      std::fprintf(stderr, "unprivileged run failed: %s\n", r.error().ToString().c_str());
      _exit(r.error().step == Step::kClone ? 77 : 12);
    }
    if (r->kind != Kind::kSeccompViolation || r->syscall != "io_uring_setup") _exit(13);
    auto ok = ProbeJail({"exit", "5"}).AcceptRlimitsOnly().TryBuild();
    auto r2 = sandbox::Run(*ok, RunIo{-1, -1, -1});
    if (!r2 || r2->exit_code != 5) _exit(14);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "unprivileged user namespaces are disabled";
  if (WEXITSTATUS(status) == 78) GTEST_SKIP() << "the probe is not reachable by nobody";
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// The jail cgroup directories of this process, as found from /proc/self/cgroup (v1).
std::vector<std::string> JailCgroups() {
  std::vector<std::string> found;
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    const size_t a = line.find(':');
    const size_t b = line.find(':', a + 1);
    const std::string controller = line.substr(a + 1, b - a - 1);
    if (controller != "memory" && controller != "pids") continue;
    const std::string dir = "/sys/fs/cgroup/" + controller + line.substr(b + 1);
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      if (e.path().filename().string().rfind("fnjail-" + std::to_string(getpid()) + "-", 0) == 0) {
        found.push_back(e.path().string());
      }
    }
  }
  return found;
}

TEST(LauncherTest, MemoryLimitEndsInOom) {
  FNJAIL_RUN_OR_SKIP(r, Build(ProbeJail({"memory_bomb"}).MemoryLimit(32 << 20)));
  ASSERT_THAT(r.outcome, IsOk());
  EXPECT_EQ(r.outcome->kind, Kind::kOomKilled) << OutcomeKindName(r.outcome->kind) << " "
                                               << r.outcome->exit_code << " "
                                               << r.outcome->signal;
  EXPECT_LE(r.outcome->max_rss_kb, 34u << 10);
  EXPECT_TRUE(JailCgroups().empty());
}

TEST(LauncherTest, UnderTheMemoryLimitRunsNormally) {
  FNJAIL_RUN_OR_SKIP(r, Build(ProbeJail({"exit", "0"}).MemoryLimit(32 << 20)));
  ASSERT_THAT(r.outcome, IsOk());
  EXPECT_EQ(r.outcome->kind, Kind::kExited);
}

TEST(LauncherTest, PidsLimitKillsAForkBomb) {
  FNJAIL_RUN_OR_SKIP(r, Build(ProbeJail({"fork_bomb"}).PidsLimit(8)));
  ASSERT_THAT(r.outcome, IsOk());
  EXPECT_EQ(r.outcome->kind, Kind::kPidsLimit);
  EXPECT_LT(r.outcome->wall_ms, 10'000u);
  EXPECT_TRUE(JailCgroups().empty());
}

TEST(LauncherTest, ForkingUnderThePidsLimitWorks) {
  FNJAIL_RUN_OR_SKIP(r, Build(ProbeJail({"clone_plain"}).PidsLimit(8)));
  ASSERT_THAT(r.outcome, IsOk());
  EXPECT_EQ(r.outcome->kind, Kind::kExited);
  EXPECT_EQ(r.outcome->exit_code, 0);
}

TEST(LauncherTest, CgroupIsRemovedAfterEveryRun) {
  FNJAIL_RUN_OR_SKIP(r, Build(ProbeJail({"segv"})));
  ASSERT_THAT(r.outcome, IsOk());
  EXPECT_TRUE(JailCgroups().empty());
}

TEST(LauncherTest, PreparedJailRunsManyTimes) {
  auto spec = ProbeJail({"exit", "4"}).TryBuild();
  ASSERT_THAT(spec, IsOk());
  auto prepared = PreparedJail::Prepare(*spec);
  if (!prepared && testing::KernelRefused(prepared.error())) GTEST_SKIP();
  ASSERT_THAT(prepared, IsOk());
  for (int i = 0; i < 3; ++i) {
    auto r = prepared->Run(RunIo{-1, -1, -1});
    if (!r && testing::KernelRefused(r.error())) GTEST_SKIP();
    ASSERT_THAT(r, IsOk());
    EXPECT_EQ(r->exit_code, 4);
  }
  EXPECT_TRUE(JailCgroups().empty());
}

TEST(LauncherTest, PreparedJailRefusesAnInvalidSpec) {
  SandboxSpec spec;  // no command
  EXPECT_FALSE(PreparedJail::Prepare(spec));
  spec.argv = {"/bin/true"};
  spec.syscalls.preset = "nonexistent";
  auto r = PreparedJail::Prepare(spec);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().step, Step::kValidate);
}

TEST(LauncherTest, CpuTimeLimitEndsASpinner) {
  FNJAIL_RUN_OR_SKIP(r, Build(ProbeJail({"spin"}).CpuTime(500).Timeout(15'000)));
  ASSERT_THAT(r.outcome, IsOk());
  EXPECT_EQ(r.outcome->kind, Kind::kSignaled);
  // SIGXCPU at the soft limit, or the kernel's SIGKILL at the (equal) hard one.
  EXPECT_TRUE(r.outcome->signal == SIGXCPU || r.outcome->signal == SIGKILL) << r.outcome->signal;
  FNJAIL_RUN_OR_SKIP(quick, Build(ProbeJail({"exit", "0"}).CpuTime(500)));
  ASSERT_THAT(quick.outcome, IsOk());
  EXPECT_EQ(quick.outcome->kind, Kind::kExited);
}

TEST(LauncherTest, FileSizeLimitStopsALargeWrite) {
  FNJAIL_RUN_OR_SKIP(r, Build(ProbeJail({"tmpfs_fill"}).FileSizeLimit(64 << 10)));
  ASSERT_THAT(r.outcome, IsOk());
  EXPECT_EQ(r.outcome->kind, Kind::kSignaled);
  EXPECT_EQ(r.outcome->signal, SIGXFSZ);
}

TEST(LauncherTest, CpuQuotaThrottlesTheJail) {
  FNJAIL_RUN_OR_SKIP(r, Build(ProbeJail({"spin"}).CpuQuotaPercent(10).Timeout(1000)));
  ASSERT_THAT(r.outcome, IsOk());
  EXPECT_EQ(r.outcome->kind, Kind::kTimeout);
  if (geteuid() == 0) {
    // 10% of one core over about a second, with scheduling slack.
    EXPECT_LT(r.outcome->cpu_ms, 400u);
  }
}

TEST(LauncherTest, SupervisorSleepsWhileTheJailWaits) {
  // With and without a cgroup: the supervisor wakes on events and a slow tick, never spins.
  for (const bool rlimits_only : {false, true}) {
    SandboxBuilder b;
    b.DefaultSystemBinds().Command({"/bin/sleep", "0.4"});
    if (rlimits_only) b.AcceptRlimitsOnly();
    rusage before{}, after{};
    getrusage(RUSAGE_SELF, &before);
    FNJAIL_RUN_OR_SKIP(r, Build(b));
    getrusage(RUSAGE_SELF, &after);
    ASSERT_THAT(r.outcome, IsOk());
    EXPECT_EQ(r.outcome->exit_code, 0);
    const auto ms = [](const timeval& tv) { return tv.tv_sec * 1000 + tv.tv_usec / 1000; };
    const long used = ms(after.ru_utime) - ms(before.ru_utime) + ms(after.ru_stime) -
                      ms(before.ru_stime);
    EXPECT_LT(used, 150) << (rlimits_only ? "rlimits only" : "cgroup");
  }
}

TEST(LauncherTest, ValidationErrorsStopBeforeAnythingRuns) {
  SandboxSpec spec;
  spec.argv = {"/bin/true"};
  spec.binds.push_back({"/nonexistent-source", "/x", false});
  auto r = sandbox::Run(spec);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().step, Step::kValidate);
  EXPECT_THAT(r.error().ToString(), HasSubstr("/nonexistent-source"));
}

}  // namespace
}  // namespace fnjail::sandbox
