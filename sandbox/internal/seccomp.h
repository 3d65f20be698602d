// Seccomp: filters compiled with libseccomp in the parent, installed with one syscall each
// in the child, last before execve.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sandbox/internal/child_status.h"
#include "sandbox/sandbox.h"

namespace fnjail::sandbox::internal::seccomp {

// Two stacked filters; the kernel applies the most restrictive answer of the two.
//  - `deny`: default allow; kills the always-denied syscalls and the dangerous argument
//    shapes (clone with namespace flags, ioctl TIOCSTI / TIOCLINUX), answers clone3 with
//    ENOSYS. libseccomp cannot express "allow ioctl except these requests" in one filter,
//    stacking can.
//  - `allow`: default kill-process; allows the profile's syscalls, socket families by mode.
// Both kill the process on a foreign architecture (i386, x32 numbers included).
struct Plan {
  std::vector<sock_filter> deny;
  std::vector<sock_filter> allow;
  bool learn = false;  // Mode::kLearn: installed allow first, then deny
};

// kEnforce kills on anything not allowed. kLearn (fnjail profile learn) answers every
// syscall with a ptrace stop (SECCOMP_RET_TRACE, data below) for the launcher to record:
// the always-denied ones and argument shapes with kTraceDenied (the launcher makes them
// fail with EPERM), socket families the network mode refuses with kTraceUsedNoFamily
// (EAFNOSUPPORT), everything else with kTraceUsed (it runs).
enum class Mode : uint8_t { kEnforce, kLearn };
inline constexpr uint16_t kTraceUsed = 1;
inline constexpr uint16_t kTraceDenied = 2;
inline constexpr uint16_t kTraceUsedNoFamily = 3;

// The syscall names the allowlist holds for `policy` (preset + add - remove + dangerous).
// Errors: unknown preset or syscall name.
Result<std::vector<std::string>> ResolveAllowlist(const SyscallPolicy& policy);

// Compiles both filters for `spec` and exports them through a memfd (libseccomp 2.5 has
// no export to memory).
Result<Plan> PrepareInParent(const SandboxSpec& spec, Mode mode = Mode::kEnforce);

// Installs `deny` then `allow` (the other way round when learning). REQUIRES: no_new_privs
// already set.
ChildStatus ApplyInChild(const Plan& plan) noexcept;

// Whether `name` is a syscall of the native architecture.
bool IsKnownSyscall(std::string_view name);

// The native name of syscall number `nr` ("getppid"), or "syscall-<nr>" when unknown
// (x32 numbers are named "x32:<name>").
std::string SyscallName(long nr);

}  // namespace fnjail::sandbox::internal::seccomp
