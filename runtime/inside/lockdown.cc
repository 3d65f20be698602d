#include "runtime/inside/lockdown.h"

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

namespace fnjail::runtime::inside {
namespace {

#if defined(__x86_64__)
constexpr uint32_t kAuditArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr uint32_t kAuditArch = AUDIT_ARCH_AARCH64;
#else
#error "fnjail-runtime: no seccomp architecture for this target"
#endif

// x32 syscalls carry this bit in their number on an x86-64 kernel (the jail's filter kills
// them too; this filter stands on its own).
constexpr uint32_t kX32SyscallBit = 0x40000000u;

constexpr uint32_t kOffsetNr = offsetof(seccomp_data, nr);
constexpr uint32_t kOffsetArch = offsetof(seccomp_data, arch);
// The low 32 bits of the first argument (little-endian targets only, as above).
constexpr uint32_t kOffsetArg0Low = offsetof(seccomp_data, args);

sock_filter Statement(uint16_t code, uint32_t k) { return BPF_STMT(code, k); }
sock_filter Jump(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) {
  return BPF_JUMP(code, k, jt, jf);
}

// `nr` kills the process.
void KillOn(std::vector<sock_filter>& p, uint32_t nr) {
  p.push_back(Jump(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1));
  p.push_back(Statement(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
}

}  // namespace

std::vector<sock_filter> LuaLockdownProgram() {
  std::vector<sock_filter> p;
  p.push_back(Statement(BPF_LD | BPF_W | BPF_ABS, kOffsetArch));
  p.push_back(Jump(BPF_JMP | BPF_JEQ | BPF_K, kAuditArch, 1, 0));
  p.push_back(Statement(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
  p.push_back(Statement(BPF_LD | BPF_W | BPF_ABS, kOffsetNr));
#if defined(__x86_64__)
  p.push_back(Jump(BPF_JMP | BPF_JGE | BPF_K, kX32SyscallBit, 0, 1));
  p.push_back(Statement(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
#endif
  KillOn(p, __NR_execve);
  KillOn(p, __NR_execveat);
#ifdef __NR_fork
  KillOn(p, __NR_fork);
#endif
#ifdef __NR_vfork
  KillOn(p, __NR_vfork);
#endif
  p.push_back(Jump(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1));
  p.push_back(Statement(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS));
  // Anything but clone goes on to the jail's filter; clone may make a thread, not a process.
  p.push_back(Jump(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 1, 0));
  p.push_back(Statement(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  p.push_back(Statement(BPF_LD | BPF_W | BPF_ABS, kOffsetArg0Low));
  p.push_back(Jump(BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD, 0, 1));
  p.push_back(Statement(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  p.push_back(Statement(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
  return p;
}

bool InstallLuaLockdown(std::string* error) {
  std::vector<sock_filter> program = LuaLockdownProgram();
  sock_fprog fprog{};
  fprog.len = static_cast<unsigned short>(program.size());
  fprog.filter = program.data();
  long r = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog);
  if (r != 0 && errno == EACCES) {
    // Not in a jail and without CAP_SYS_ADMIN: the kernel wants no_new_privs first.
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0) {
      r = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog);
    }
  }
  if (r != 0) {
    *error = std::string("cannot install the runtime's seccomp filter: ") +
             std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace fnjail::runtime::inside
