// The Lua runtime's own seccomp filter (runtime/inside/lockdown.cc): its BPF program run
// through a small classic-BPF evaluator (architecture check, x32, each rule), and the
// installed filter in forked processes (execve, fork and a child clone are killed with
// SIGSYS; threads and ordinary syscalls still work).
#include "runtime/inside/lockdown.h"

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace fnjail::runtime::inside {
namespace {

#if defined(__x86_64__)
constexpr uint32_t kNativeArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr uint32_t kNativeArch = AUDIT_ARCH_AARCH64;
#endif

// Runs a classic BPF seccomp program on `data`; nullopt when the program is malformed (an
// instruction this evaluator does not know, a jump or load out of range, no return).
std::optional<uint32_t> Evaluate(const std::vector<sock_filter>& program,
                                 const seccomp_data& data) {
  uint32_t a = 0;
  size_t pc = 0;
  while (pc < program.size()) {
    const sock_filter& f = program[pc];
    switch (f.code) {
      case BPF_LD | BPF_W | BPF_ABS: {
        if (f.k % 4 != 0 || f.k + 4 > sizeof data) return std::nullopt;
        std::memcpy(&a, reinterpret_cast<const char*>(&data) + f.k, 4);
        ++pc;
        break;
      }
      case BPF_JMP | BPF_JEQ | BPF_K:
        pc += 1 + (a == f.k ? f.jt : f.jf);
        break;
      case BPF_JMP | BPF_JGE | BPF_K:
        pc += 1 + (a >= f.k ? f.jt : f.jf);
        break;
      case BPF_JMP | BPF_JSET | BPF_K:
        pc += 1 + ((a & f.k) != 0 ? f.jt : f.jf);
        break;
      case BPF_RET | BPF_K:
        return f.k;
      default:
        return std::nullopt;
    }
  }
  return std::nullopt;
}

seccomp_data Call(int nr, uint64_t arg0 = 0, uint32_t arch = kNativeArch) {
  seccomp_data d{};
  d.nr = nr;
  d.arch = arch;
  d.args[0] = arg0;
  return d;
}

constexpr uint32_t kKill = SECCOMP_RET_KILL_PROCESS;
constexpr uint32_t kAllow = SECCOMP_RET_ALLOW;

TEST(LockdownProgramTest, KillsNewProgramsAndProcesses) {
  const auto p = LuaLockdownProgram();
  EXPECT_EQ(Evaluate(p, Call(__NR_execve)), kKill);
  EXPECT_EQ(Evaluate(p, Call(__NR_execveat)), kKill);
#ifdef __NR_fork
  EXPECT_EQ(Evaluate(p, Call(__NR_fork)), kKill);
#endif
#ifdef __NR_vfork
  EXPECT_EQ(Evaluate(p, Call(__NR_vfork)), kKill);
#endif
  EXPECT_EQ(Evaluate(p, Call(__NR_clone, SIGCHLD)), kKill);
  EXPECT_EQ(Evaluate(p, Call(__NR_clone, CLONE_VM | CLONE_VFORK | SIGCHLD)), kKill);
  // The flags' high half is not CLONE_THREAD: only the low 32 bits carry flags.
  EXPECT_EQ(Evaluate(p, Call(__NR_clone, uint64_t{CLONE_THREAD} << 32)), kKill);
  EXPECT_EQ(Evaluate(p, Call(__NR_clone3)), SECCOMP_RET_ERRNO | ENOSYS);
}

TEST(LockdownProgramTest, LeavesThreadsAndEverythingElseToTheJailsFilter) {
  const auto p = LuaLockdownProgram();
  EXPECT_EQ(Evaluate(p, Call(__NR_clone, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
                                             CLONE_THREAD | CLONE_SYSVSEM)),
            kAllow);
  for (int nr : {__NR_read, __NR_write, __NR_openat, __NR_mmap, __NR_exit_group,
                 __NR_seccomp, __NR_recvmsg}) {
    EXPECT_EQ(Evaluate(p, Call(nr)), kAllow) << nr;
  }
}

TEST(LockdownProgramTest, ForeignArchitectureIsKilledBeforeAnyNumberIsRead) {
  const auto p = LuaLockdownProgram();
  // The first instruction reads the architecture, and a mismatch returns at once.
  ASSERT_GE(p.size(), 3u);
  EXPECT_EQ(p[0].code, BPF_LD | BPF_W | BPF_ABS);
  EXPECT_EQ(p[0].k, offsetof(seccomp_data, arch));
  for (uint32_t arch : {uint32_t{AUDIT_ARCH_I386}, uint32_t{AUDIT_ARCH_AARCH64},
                        uint32_t{AUDIT_ARCH_X86_64}, uint32_t{AUDIT_ARCH_ARM}}) {
    if (arch == kNativeArch) continue;
    // read on one architecture is another's execve or fork: all of them die.
    for (int nr = 0; nr < 450; ++nr) {
      ASSERT_EQ(Evaluate(p, Call(nr, 0, arch)), kKill) << "arch " << arch << " nr " << nr;
    }
  }
}

#if defined(__x86_64__)
TEST(LockdownProgramTest, X32SyscallsAreKilled) {
  const auto p = LuaLockdownProgram();
  constexpr int kX32 = 0x40000000;
  for (int nr : {__NR_read, __NR_write, __NR_execve, 520 /* x32 execve */}) {
    EXPECT_EQ(Evaluate(p, Call(kX32 | nr)), kKill) << nr;
  }
}
#endif

// Runs `body` in a forked child that first installs the lockdown; returns its wait status.
template <class Body>
int InLockedChild(Body body) {
  pid_t pid = ::fork();
  if (pid == 0) {
    std::string why;
    if (!InstallLuaLockdown(&why)) ::_exit(100);
    ::_exit(body());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

bool KilledBySigsys(int status) { return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS; }

TEST(LockdownTest, ExecveIsKilled) {
  int status = InLockedChild([] {
    char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
    char* envp[] = {nullptr};
    ::execve("/bin/true", argv, envp);
    return 1;
  });
  EXPECT_TRUE(KilledBySigsys(status)) << "status " << status;
}

TEST(LockdownTest, ExecveatIsKilled) {
  int status = InLockedChild([] {
    char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
    char* envp[] = {nullptr};
    ::syscall(__NR_execveat, AT_FDCWD, "/bin/true", argv, envp, 0);
    return 1;
  });
  EXPECT_TRUE(KilledBySigsys(status)) << "status " << status;
}

TEST(LockdownTest, ForkIsKilled) {
  int status = InLockedChild([] {
    pid_t child = ::fork();  // glibc: clone without CLONE_THREAD
    if (child == 0) ::_exit(0);
    return 1;
  });
  EXPECT_TRUE(KilledBySigsys(status)) << "status " << status;
}

TEST(LockdownTest, Clone3AnswersEnosys) {
  int status = InLockedChild([] {
    long r = ::syscall(__NR_clone3, nullptr, 0);
    return r == -1 && errno == ENOSYS ? 0 : 1;
  });
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// The `Seccomp_filters:` count of /proc/self/status, or -1.
int FilterCount() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Seccomp_filters:", 0) == 0) return std::stoi(line.substr(16));
  }
  return -1;
}

TEST(LockdownTest, ThreadsAndFilesStillWork) {
  const int before = FilterCount();
  ASSERT_GE(before, 0) << "the kernel does not report Seccomp_filters";
  int status = InLockedChild([before] {
    int value = 0;
    std::thread t([&value] { value = 42; });
    t.join();
    if (value != 42) return 1;
    // One more filter than before (read through openat and read, still allowed).
    return FilterCount() == before + 1 ? 0 : 2;
  });
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(LockdownTest, StacksOnAnExistingFilterWithoutReplacingIt) {
  const int before = FilterCount();
  int status = InLockedChild([before] {
    std::string why;
    if (!InstallLuaLockdown(&why)) return 1;
    return FilterCount() == before + 2 ? 0 : 2;
  });
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace fnjail::runtime::inside
