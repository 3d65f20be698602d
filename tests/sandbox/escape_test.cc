// The escape battery: one technique per case, each asserting the exact outcome, run from a
// root launcher and from an unprivileged one (issue 3, "Tests").
#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sandbox/sandbox.h"
#include "tests/sandbox/jail_testing.h"

namespace fnjail::sandbox {
namespace {

using ::fnjail::sandbox::testing::ProbeJail;
using Kind = Outcome::Kind;

enum class Launcher { kRoot, kUnprivileged };

// What a probe run ended in, carried over a pipe from an unprivileged launcher.
struct Seen {
  bool skipped = false;
  std::string error;  // a setup failure
  Kind kind = Kind::kExited;
  int exit_code = 0;
  std::string syscall;
};

Seen FromResult(const Result<Outcome>& r) {
  Seen s;
  if (!r) {
    s.skipped = testing::KernelRefused(r.error());
    s.error = r.error().ToString();
    return s;
  }
  s.kind = r->kind;
  s.exit_code = r->exit_code;
  s.syscall = r->syscall;
  return s;
}

// Runs the probe jail `builder` from launcher `who`, with `stdin_fd` as its stdin (-1:
// /dev/null).
Seen RunProbe(Launcher who, SandboxBuilder builder, int stdin_fd = -1) {
  const RunIo io{stdin_fd, -1, -1};
  if (who == Launcher::kRoot) {
    if (geteuid() != 0) return Seen{true, "not root", Kind::kExited, 0, {}};
    auto spec = builder.TryBuild();
    if (!spec) return Seen{false, spec.error().ToString(), Kind::kExited, 0, {}};
    return FromResult(Run(*spec, io));
  }
  // An ordinary user: from root, fork and become nobody; otherwise we already are one.
  builder.AcceptRlimitsOnly();
  auto spec = builder.TryBuild();
  if (!spec) return Seen{false, spec.error().ToString(), Kind::kExited, 0, {}};
  if (geteuid() != 0) return FromResult(Run(*spec, io));
  int fds[2];
  if (pipe(fds) != 0) return Seen{false, "pipe", Kind::kExited, 0, {}};
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    if (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 ||
        setresuid(65534, 65534, 65534) != 0) {
      _exit(1);
    }
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    Seen s;
    if (access(testing::TrySyscall().c_str(), X_OK) != 0) {
      // The build tree sits where nobody may enter (a private checkout): not the jail's fault.
      s.skipped = true;
      s.error = "the probe is not reachable by an unprivileged user";
    } else {
      s = FromResult(Run(*spec, io));
    }
    char line[512];
    const int n = std::snprintf(line, sizeof(line), "%d %d %d %s|%s", s.skipped ? 1 : 0,
                                static_cast<int>(s.kind), s.exit_code,
                                s.syscall.empty() ? "-" : s.syscall.c_str(), s.error.c_str());
    [[maybe_unused]] const ssize_t w = write(fds[1], line, static_cast<size_t>(n));
    _exit(0);
  }
  close(fds[1]);
  char buf[512] = {};
  size_t got = 0;
  ssize_t n;
  while (got < sizeof(buf) - 1 && (n = read(fds[0], buf + got, sizeof(buf) - 1 - got)) > 0) {
    got += static_cast<size_t>(n);
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  Seen s;
  int skipped = 0, kind = 0;
  char syscall_name[128] = {};
  if (std::sscanf(buf, "%d %d %d %127[^|]", &skipped, &kind, &s.exit_code, syscall_name) != 4) {
    return Seen{false, "no result from the unprivileged launcher", Kind::kExited, 0, {}};
  }
  s.skipped = skipped != 0;
  s.kind = static_cast<Kind>(kind);
  s.syscall = std::strcmp(syscall_name, "-") == 0 ? "" : syscall_name;
  const char* bar = std::strchr(buf, '|');
  if (bar != nullptr) s.error = bar + 1;
  return s;
}

class EscapeTest : public ::testing::TestWithParam<Launcher> {
 protected:
  Seen Probe(std::vector<std::string> args, NetworkMode net = NetworkMode::kNone) {
    SandboxBuilder b = ProbeJail(std::move(args));
    b.Network(net);
    return RunProbe(GetParam(), std::move(b));
  }
  Seen Probe(SandboxBuilder b, int stdin_fd = -1) {
    return RunProbe(GetParam(), std::move(b), stdin_fd);
  }
  bool root_launcher() const { return GetParam() == Launcher::kRoot; }
};

// Whether the host can still start a process (nothing the jail did starved it).
bool HostCanFork() {
  const pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) _exit(0);
  int status = 0;
  return waitpid(pid, &status, 0) == pid && WIFEXITED(status);
}

// A temporary directory the jail's unprivileged host uid may enter.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/fnjail-escape-XXXXXX";
    path_ = mkdtemp(tmpl);
    chmod(path_.c_str(), 0755);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

#define SKIP_IF_REFUSED(seen)                                          \
  if ((seen).skipped) GTEST_SKIP() << "kernel refused: " << (seen).error; \
  ASSERT_TRUE((seen).error.empty()) << (seen).error

// Every always-denied syscall: the jail dies and the syscall is named.
TEST_P(EscapeTest, AlwaysDeniedSyscallsKillTheJailAndAreNamed) {
  const std::vector<std::string> probes = {
      "io_uring_setup", "userfaultfd", "bpf", "perf_event_open", "keyctl", "add_key",
      "request_key", "ptrace", "process_vm_readv", "mount", "umount2", "open_tree", "fsopen",
      "move_mount", "pivot_root", "chroot", "unshare", "setns", "personality",
      "open_by_handle_at", "name_to_handle_at", "kexec_load", "init_module", "finit_module",
      "delete_module", "acct", "swapon", "swapoff", "reboot", "syslog", "quotactl",
      "fanotify_init"};
  for (const std::string& p : probes) {
    const Seen s = Probe({p});
    SKIP_IF_REFUSED(s);
    EXPECT_EQ(s.kind, Kind::kSeccompViolation) << p;
    EXPECT_EQ(s.syscall, p);
  }
}

TEST_P(EscapeTest, NestedUserNamespaceThroughCloneIsKilled) {
  const Seen s = Probe({"clone_newuser"});
  SKIP_IF_REFUSED(s);
  EXPECT_EQ(s.kind, Kind::kSeccompViolation);
  EXPECT_EQ(s.syscall, "clone");
  const Seen plain = Probe({"clone_plain"});
  SKIP_IF_REFUSED(plain);
  EXPECT_EQ(plain.kind, Kind::kExited);
  EXPECT_EQ(plain.exit_code, 0);
}

TEST_P(EscapeTest, Clone3AnswersEnosysSoLibcFallsBack) {
  const Seen s = Probe({"clone3"});
  SKIP_IF_REFUSED(s);
  EXPECT_EQ(s.kind, Kind::kExited);
  EXPECT_EQ(s.exit_code, ENOSYS);
}

TEST_P(EscapeTest, TerminalInjectionIsKilled) {
  for (const char* p : {"tiocsti", "tiocsti_high_bits", "tioclinux"}) {
    const Seen s = Probe({p});
    SKIP_IF_REFUSED(s);
    EXPECT_EQ(s.kind, Kind::kSeccompViolation) << p;
    EXPECT_EQ(s.syscall, "ioctl") << p;
  }
  const Seen ok = Probe({"ioctl_fionread"});
  SKIP_IF_REFUSED(ok);
  EXPECT_EQ(ok.kind, Kind::kExited);
}

TEST_P(EscapeTest, KillingEverythingReachesOnlyTheJail) {
  const pid_t sleeper = fork();
  ASSERT_GE(sleeper, 0);
  if (sleeper == 0) {
    pause();
    _exit(0);
  }
  const Seen all = Probe({"kill_all"});
  const Seen host = Probe({"kill_pid", std::to_string(sleeper)});
  const bool alive = kill(sleeper, 0) == 0;
  kill(sleeper, SIGKILL);
  waitpid(sleeper, nullptr, 0);
  SKIP_IF_REFUSED(all);
  SKIP_IF_REFUSED(host);
  EXPECT_EQ(all.kind, Kind::kExited);
  EXPECT_EQ(host.exit_code, ESRCH);  // host pids do not exist in the jail
  EXPECT_TRUE(alive) << "a host process died";
}

TEST_P(EscapeTest, HostSecretsAndCgroupControlsAreAbsent) {
  const Seen shadow = Probe({"open_read", "/etc/shadow"});
  SKIP_IF_REFUSED(shadow);
  EXPECT_EQ(shadow.exit_code, ENOENT);
  const Seen agent = Probe({"open_write", "/sys/fs/cgroup/memory/release_agent"});
  SKIP_IF_REFUSED(agent);
  EXPECT_EQ(agent.exit_code, ENOENT);
}

TEST_P(EscapeTest, HostLoopbackPortIsUnreachable) {
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(listener, 1), 0);
  socklen_t len = sizeof(addr);
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string port = std::to_string(ntohs(addr.sin_port));
  const Seen s = Probe({"connect_tcp", port}, NetworkMode::kLoopback);
  const Seen none = Probe({"connect_tcp", port}, NetworkMode::kNone);
  close(listener);
  SKIP_IF_REFUSED(s);
  EXPECT_EQ(s.exit_code, ECONNREFUSED);  // the jail's own, empty loopback
  SKIP_IF_REFUSED(none);
  EXPECT_EQ(none.exit_code, EAFNOSUPPORT);
}

TEST_P(EscapeTest, HostAbstractUnixSocketIsUnreachable) {
  const int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  const std::string name = "fnjail-escape-test-" + std::to_string(getpid());
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  const socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(listen(listener, 1), 0);
  const Seen s = Probe({"connect_abstract", name});
  close(listener);
  SKIP_IF_REFUSED(s);
  EXPECT_EQ(s.exit_code, ECONNREFUSED);
}

TEST_P(EscapeTest, HostProcessMemoryIsOutOfReach) {
  const pid_t sleeper = fork();
  ASSERT_GE(sleeper, 0);
  if (sleeper == 0) {
    pause();
    _exit(0);
  }
  const Seen mem = Probe({"open_write", "/proc/" + std::to_string(sleeper) + "/mem"});
  const Seen trace = Probe({"ptrace"});
  const bool alive = kill(sleeper, 0) == 0;
  kill(sleeper, SIGKILL);
  waitpid(sleeper, nullptr, 0);
  SKIP_IF_REFUSED(mem);
  EXPECT_EQ(mem.exit_code, ENOENT);  // no host pid in the jail's /proc
  SKIP_IF_REFUSED(trace);
  EXPECT_EQ(trace.kind, Kind::kSeccompViolation);
  EXPECT_EQ(trace.syscall, "ptrace");
  EXPECT_TRUE(alive);
}

TEST_P(EscapeTest, PatchingOwnCodeThroughProcSelfMemLeavesTheFilterInPlace) {
  // The jail may rewrite its own code (that is its business), and gains nothing by it.
  const Seen s = Probe({"patch_self_mem"});
  SKIP_IF_REFUSED(s);
  EXPECT_EQ(s.kind, Kind::kSeccompViolation) << "exit " << s.exit_code;
  EXPECT_EQ(s.syscall, "io_uring_setup");
}

TEST_P(EscapeTest, SetuidBinaryInsideTheJailStaysUnprivileged) {
  if (geteuid() != 0) GTEST_SKIP() << "making a setuid-root file needs root";
  TempDir dir;
  const std::string copy = dir.path() + "/suid_probe";
  std::filesystem::copy_file(testing::TrySyscall(), copy);
  ASSERT_EQ(chown(copy.c_str(), 0, 0), 0);
  ASSERT_EQ(chmod(copy.c_str(), 04755), 0);
  SandboxBuilder b;
  b.ReadOnlyBind(dir.path(), "/suid").Command({"/suid/suid_probe", "euid"}).Timeout(20'000);
  const Seen s = Probe(b);
  SKIP_IF_REFUSED(s);
  EXPECT_EQ(s.kind, Kind::kExited);
  EXPECT_EQ(s.exit_code, 0) << "the setuid bit changed the identity";
  // The host file is untouched.
  struct stat st {};
  ASSERT_EQ(stat(copy.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04755u);
}

TEST_P(EscapeTest, TiocstiOnALiveTerminalIsKilledAndInjectsNothing) {
  const int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(master, 0);
  ASSERT_EQ(grantpt(master), 0);
  ASSERT_EQ(unlockpt(master), 0);
  const int slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(slave, 0);
  // The nobody launcher opens nothing itself: the slave must be usable by it.
  fchmod(slave, 0666);
  termios raw{};
  ASSERT_EQ(tcgetattr(slave, &raw), 0);
  cfmakeraw(&raw);  // an injected byte would be readable at once, no newline needed
  ASSERT_EQ(tcsetattr(slave, TCSANOW, &raw), 0);
  for (const char* p : {"tiocsti", "tiocsti_ctty"}) {
    const Seen s = Probe(ProbeJail({p}), slave);
    if (s.skipped) {
      close(slave);
      close(master);
      GTEST_SKIP() << s.error;
    }
    EXPECT_TRUE(s.error.empty()) << s.error;
    EXPECT_EQ(s.kind, Kind::kSeccompViolation) << p;
    EXPECT_EQ(s.syscall, "ioctl") << p;
  }
  // Nothing reached the terminal's input queue.
  fcntl(slave, F_SETFL, O_NONBLOCK);
  char c;
  EXPECT_EQ(read(slave, &c, 1), -1);
  EXPECT_EQ(errno, EAGAIN);
  close(slave);
  close(master);
}

TEST_P(EscapeTest, DescriptorLeakedByTheLauncherIsNotInherited) {
  TempDir dir;
  const std::string secret = dir.path() + "/secret";
  std::ofstream(secret) << "host secret";
  const int leaked = open(secret.c_str(), O_RDONLY);  // no O_CLOEXEC, as a careless embedder
  ASSERT_GE(leaked, 0);
  const Seen s = Probe({"open_fds"});
  const Seen by_number = Probe({"open_read", "/proc/self/fd/" + std::to_string(leaked)});
  close(leaked);
  SKIP_IF_REFUSED(s);
  EXPECT_EQ(s.exit_code, 0) << "descriptor " << s.exit_code << " leaked into the jail";
  SKIP_IF_REFUSED(by_number);
  EXPECT_EQ(by_number.exit_code, ENOENT);
}

TEST_P(EscapeTest, ForkBombEndsTheJailAndTheHostStillForks) {
  const Seen s = Probe(ProbeJail({"fork_bomb"}).PidsLimit(16).Timeout(2000));
  SKIP_IF_REFUSED(s);
  // A cgroup kills at the pids limit; with rlimits only, RLIMIT_NPROC makes forks fail
  // and the spinning bomb meets its deadline.
  EXPECT_EQ(s.kind, root_launcher() ? Kind::kPidsLimit : Kind::kTimeout);
  EXPECT_TRUE(HostCanFork());
}

TEST_P(EscapeTest, MemoryBombIsContained) {
  const Seen s = Probe(ProbeJail({"memory_bomb"}).MemoryLimit(64 << 20));
  SKIP_IF_REFUSED(s);
  if (root_launcher()) {
    EXPECT_EQ(s.kind, Kind::kOomKilled);
  } else {
    // RLIMIT_DATA: the allocation fails instead.
    EXPECT_EQ(s.kind, Kind::kExited);
    EXPECT_EQ(s.exit_code, ENOMEM);
  }
}

TEST_P(EscapeTest, TmpfsFillStopsAtItsSize) {
  const Seen s = Probe(ProbeJail({"tmpfs_fill"}).TmpfsSize(1 << 20));
  SKIP_IF_REFUSED(s);
  EXPECT_EQ(s.kind, Kind::kExited);
  EXPECT_EQ(s.exit_code, ENOSPC);
}

TEST_P(EscapeTest, SpinningPastTheDeadlineIsKilled) {
  const Seen s = Probe(ProbeJail({"spin"}).Timeout(300));
  SKIP_IF_REFUSED(s);
  EXPECT_EQ(s.kind, Kind::kTimeout);
}

TEST_P(EscapeTest, OutputFloodIsCutAndKilled) {
  const Seen s = Probe(ProbeJail({"flood"}).OutputLimit(16 << 10));
  SKIP_IF_REFUSED(s);
  EXPECT_EQ(s.kind, Kind::kOutputLimit);
}

INSTANTIATE_TEST_SUITE_P(Launchers, EscapeTest,
                         ::testing::Values(Launcher::kRoot, Launcher::kUnprivileged),
                         [](const ::testing::TestParamInfo<Launcher>& p) {
                           return p.param == Launcher::kRoot ? "AsRoot" : "AsOrdinaryUser";
                         });

}  // namespace
}  // namespace fnjail::sandbox
