// Unit tests of the generated seccomp filters (sandbox/seccomp.cc), run through a small
// classic-BPF interpreter: the architecture check and x32 cannot be probed live on a kernel
// without i386 or x32 entry, so the filter itself is proven here.
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "sandbox/internal/seccomp.h"
#include "sandbox/sandbox.h"
#include "tests/testing/result_matchers.h"

namespace fnjail::sandbox::internal::seccomp {
namespace {

using ::fnjail::testing::IsOk;

constexpr uint32_t kX32Bit = 0x40000000;
constexpr int kI386Getpid = 20;

// Evaluates a classic BPF program on `data` the way the kernel does for seccomp.
uint32_t Eval(const std::vector<sock_filter>& prog, const seccomp_data& data) {
  uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {};
  unsigned char bytes[sizeof(seccomp_data)];
  std::memcpy(bytes, &data, sizeof(data));
  for (size_t pc = 0; pc < prog.size(); ++pc) {
    const sock_filter& f = prog[pc];
    const uint32_t src = BPF_SRC(f.code) == BPF_X ? x : f.k;
    switch (BPF_CLASS(f.code)) {
      case BPF_LD:
        if (BPF_MODE(f.code) == BPF_ABS) {
          EXPECT_LE(f.k + 4, sizeof(bytes));
          std::memcpy(&a, bytes + f.k, 4);
        } else if (BPF_MODE(f.code) == BPF_IMM) {
          a = f.k;
        } else if (BPF_MODE(f.code) == BPF_MEM) {
          a = mem[f.k];
        } else {
          ADD_FAILURE() << "unsupported load mode";
          return 0;
        }
        break;
      case BPF_LDX:
        x = BPF_MODE(f.code) == BPF_MEM ? mem[f.k] : f.k;
        break;
      case BPF_ST:
        mem[f.k] = a;
        break;
      case BPF_STX:
        mem[f.k] = x;
        break;
      case BPF_ALU:
        switch (BPF_OP(f.code)) {
          case BPF_ADD: a += src; break;
          case BPF_SUB: a -= src; break;
          case BPF_MUL: a *= src; break;
          case BPF_DIV: a = src ? a / src : 0; break;
          case BPF_OR: a |= src; break;
          case BPF_AND: a &= src; break;
          case BPF_LSH: a <<= src; break;
          case BPF_RSH: a >>= src; break;
          case BPF_NEG: a = 0 - a; break;
          default: ADD_FAILURE() << "unsupported alu op"; return 0;
        }
        break;
      case BPF_JMP: {
        if (BPF_OP(f.code) == BPF_JA) {
          pc += f.k;
          break;
        }
        bool taken = false;
        switch (BPF_OP(f.code)) {
          case BPF_JEQ: taken = a == src; break;
          case BPF_JGT: taken = a > src; break;
          case BPF_JGE: taken = a >= src; break;
          case BPF_JSET: taken = (a & src) != 0; break;
          default: ADD_FAILURE() << "unsupported jump"; return 0;
        }
        pc += taken ? f.jt : f.jf;
        break;
      }
      case BPF_RET:
        return BPF_RVAL(f.code) == BPF_A ? a : f.k;
      case BPF_MISC:
        if (BPF_MISCOP(f.code) == BPF_TAX) x = a;
        else a = x;
        break;
      default:
        ADD_FAILURE() << "unsupported class";
        return 0;
    }
  }
  ADD_FAILURE() << "fell off the end of the program";
  return 0;
}

// The kernel runs every stacked filter and keeps the highest-precedence action (the lowest
// value of the action read as a signed number: KILL_PROCESS first).
uint32_t Decide(const Plan& plan, const seccomp_data& data) {
  const uint32_t d = Eval(plan.deny, data);
  const uint32_t l = Eval(plan.allow, data);
  const auto rank = [](uint32_t r) { return static_cast<int32_t>(r & SECCOMP_RET_ACTION_FULL); };
  return rank(d) <= rank(l) ? d : l;
}

seccomp_data Call(int nr, uint64_t a0 = 0, uint64_t a1 = 0, uint32_t arch = AUDIT_ARCH_X86_64) {
  seccomp_data d{};
  d.nr = nr;
  d.arch = arch;
  d.args[0] = a0;
  d.args[1] = a1;
  return d;
}

Plan Compile(SandboxSpec spec = {}) {
  spec.argv = {"/bin/true"};
  auto plan = PrepareInParent(spec);
  EXPECT_THAT(plan, IsOk());
  return plan ? *plan : Plan{};
}

constexpr uint32_t kKill = SECCOMP_RET_KILL_PROCESS;
constexpr uint32_t kAllow = SECCOMP_RET_ALLOW;
uint32_t Errno(int e) { return SECCOMP_RET_ERRNO | static_cast<uint32_t>(e); }

TEST(SeccompFilterTest, ForeignArchitectureIsKilled) {
  const Plan plan = Compile();
  EXPECT_EQ(Decide(plan, Call(kI386Getpid, 0, 0, AUDIT_ARCH_I386)), kKill);
  EXPECT_EQ(Eval(plan.deny, Call(kI386Getpid, 0, 0, AUDIT_ARCH_I386)), kKill);
  EXPECT_EQ(Eval(plan.allow, Call(kI386Getpid, 0, 0, AUDIT_ARCH_I386)), kKill);
  EXPECT_EQ(Decide(plan, Call(__NR_getpid, 0, 0, AUDIT_ARCH_AARCH64)), kKill);
  // The same number on the native architecture is fine.
  EXPECT_EQ(Decide(plan, Call(__NR_getpid)), kAllow);
}

TEST(SeccompFilterTest, X32SyscallNumbersAreKilled) {
  const Plan plan = Compile();
  EXPECT_EQ(Decide(plan, Call(static_cast<int>(kX32Bit | __NR_getpid))), kKill);
  EXPECT_EQ(Decide(plan, Call(static_cast<int>(kX32Bit | __NR_write))), kKill);
}

TEST(SeccompFilterTest, PresetSyscallsAreAllowedAndOthersKilled) {
  const Plan plan = Compile();
  EXPECT_EQ(Decide(plan, Call(__NR_read)), kAllow);
  EXPECT_EQ(Decide(plan, Call(__NR_execve)), kAllow);
  EXPECT_EQ(Decide(plan, Call(__NR_sched_setattr)), kKill);
  EXPECT_EQ(Decide(plan, Call(__NR_getppid)), kAllow);
}

TEST(SeccompFilterTest, MinimalPresetHasNoExec) {
  SandboxSpec spec;
  spec.syscalls.preset = "minimal";
  const Plan plan = Compile(spec);
  EXPECT_EQ(Decide(plan, Call(__NR_execve)), kKill);
  EXPECT_EQ(Decide(plan, Call(__NR_write)), kAllow);
}

TEST(SeccompFilterTest, AddedAndRemovedSyscalls) {
  SandboxSpec spec;
  spec.syscalls.add = {"sched_setattr"};
  spec.syscalls.remove = {"getppid"};
  const Plan plan = Compile(spec);
  EXPECT_EQ(Decide(plan, Call(__NR_sched_setattr)), kAllow);
  EXPECT_EQ(Decide(plan, Call(__NR_getppid)), kKill);
}

TEST(SeccompFilterTest, AlwaysDeniedSyscallsAreKilledWhateverThePreset) {
  SandboxSpec spec;
  spec.syscalls.preset = "python";
  const Plan plan = Compile(spec);
  for (const std::string& name : AlwaysDeniedSyscalls()) {
    const int n = [&] {
      for (int i = 0; i < 512; ++i) {
        if (SyscallName(i) == name) return i;
      }
      return -1;
    }();
    if (n < 0) continue;  // not a syscall on this architecture
    EXPECT_EQ(Eval(plan.deny, Call(n)), kKill) << name;
    EXPECT_EQ(Decide(plan, Call(n)), kKill) << name;
  }
}

TEST(SeccompFilterTest, DangerousOverrideLiftsExactlyOneSyscall) {
  SandboxSpec spec;
  spec.syscalls.dangerous_allow = {"ptrace"};
  const Plan plan = Compile(spec);
  EXPECT_EQ(Decide(plan, Call(__NR_ptrace)), kAllow);
  EXPECT_EQ(Decide(plan, Call(__NR_bpf)), kKill);
}

TEST(SeccompFilterTest, CloneWithNamespaceFlagsIsKilled) {
  const Plan plan = Compile();
  EXPECT_EQ(Decide(plan, Call(__NR_clone, SIGCHLD)), kAllow);
  EXPECT_EQ(Decide(plan, Call(__NR_clone, CLONE_VM | CLONE_THREAD | CLONE_SIGHAND)), kAllow);
  for (uint64_t flag : {CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWIPC,
                        CLONE_NEWUTS, CLONE_NEWCGROUP}) {
    EXPECT_EQ(Decide(plan, Call(__NR_clone, flag | SIGCHLD)), kKill) << flag;
  }
}

TEST(SeccompFilterTest, Clone3AnswersEnosys) {
  const Plan plan = Compile();
  EXPECT_EQ(Decide(plan, Call(__NR_clone3)), Errno(ENOSYS));
}

TEST(SeccompFilterTest, TerminalInjectionIoctlsAreKilledEvenWithHighBits) {
  const Plan plan = Compile();
  EXPECT_EQ(Decide(plan, Call(__NR_ioctl, 0, FIONREAD)), kAllow);
  EXPECT_EQ(Decide(plan, Call(__NR_ioctl, 0, TIOCSTI)), kKill);
  EXPECT_EQ(Decide(plan, Call(__NR_ioctl, 0, TIOCLINUX)), kKill);
  EXPECT_EQ(Decide(plan, Call(__NR_ioctl, 0, (uint64_t{1} << 32) | TIOCSTI)), kKill);
  EXPECT_EQ(Decide(plan, Call(__NR_ioctl, 0, (uint64_t{0xdead} << 32) | TIOCLINUX)), kKill);
}

TEST(SeccompFilterTest, SocketFamiliesFollowTheNetworkMode) {
  const Plan none = Compile();
  EXPECT_EQ(Decide(none, Call(__NR_socket, AF_UNIX)), kAllow);
  EXPECT_EQ(Decide(none, Call(__NR_socket, AF_INET)), Errno(EAFNOSUPPORT));
  EXPECT_EQ(Decide(none, Call(__NR_socket, AF_INET6)), Errno(EAFNOSUPPORT));
  EXPECT_EQ(Decide(none, Call(__NR_socket, AF_NETLINK)), Errno(EAFNOSUPPORT));
  EXPECT_EQ(Decide(none, Call(__NR_socket, 1000)), kKill);
  // High garbage bits never make a family match: fail closed.
  EXPECT_EQ(Decide(none, Call(__NR_socket, (uint64_t{1} << 32) | AF_UNIX)), kKill);

  SandboxSpec spec;
  spec.network = NetworkMode::kLoopback;
  const Plan loopback = Compile(spec);
  EXPECT_EQ(Decide(loopback, Call(__NR_socket, AF_INET)), kAllow);
  EXPECT_EQ(Decide(loopback, Call(__NR_socket, AF_INET6)), kAllow);
  EXPECT_EQ(Decide(loopback, Call(__NR_socket, AF_NETLINK)), Errno(EAFNOSUPPORT));
  EXPECT_EQ(Decide(loopback, Call(__NR_socketpair, AF_INET)), Errno(EAFNOSUPPORT));
  EXPECT_EQ(Decide(loopback, Call(__NR_socketpair, AF_UNIX)), kAllow);
}

TEST(SeccompFilterTest, UnknownNamesAreRejected) {
  SyscallPolicy p;
  p.add = {"not_a_syscall"};
  EXPECT_FALSE(ResolveAllowlist(p));
  p.add.clear();
  p.preset = "no-such-preset";
  EXPECT_FALSE(ResolveAllowlist(p));
  p.preset = "minimal";
  p.add = {"bpf"};  // always denied: only the dangerous override lifts it
  auto r = ResolveAllowlist(p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().err, EPERM);
}

TEST(SeccompFilterTest, SyscallNamesResolve) {
  EXPECT_EQ(SyscallName(__NR_getppid), "getppid");
  EXPECT_EQ(SyscallName(__NR_io_uring_setup), "io_uring_setup");
  EXPECT_EQ(SyscallName(99999), "syscall-99999");
  EXPECT_TRUE(IsKnownSyscall("openat"));
  EXPECT_FALSE(IsKnownSyscall("openat2x"));
}

}  // namespace
}  // namespace fnjail::sandbox::internal::seccomp
