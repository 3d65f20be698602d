// Seccomp filters: compiled with libseccomp in the parent, installed in the child.
#include "sandbox/internal/seccomp.h"

#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <memory>
#include <set>

#include "sandbox/internal/presets.h"
#include "sandbox/unique_fd.h"

namespace fnjail::sandbox::internal::seccomp {
namespace {

template <auto Fn>
struct FnDeleter {
  template <class T>
  void operator()(T* p) const noexcept {
    Fn(p);
  }
};
using ScmpCtx = std::unique_ptr<void, FnDeleter<seccomp_release>>;
using CString = std::unique_ptr<char, FnDeleter<std::free>>;

constexpr uint32_t kX32SyscallBit = 0x40000000;

// Namespace-creating clone flags. CLONE_NEWTIME shares its bit with CSIGNAL in clone(2), so
// it can only be asked for through clone3/unshare, both denied.
constexpr uint64_t kNamespaceCloneFlags[] = {CLONE_NEWNS,  CLONE_NEWCGROUP, CLONE_NEWUTS,
                                             CLONE_NEWIPC, CLONE_NEWUSER,   CLONE_NEWPID,
                                             CLONE_NEWNET};

// SCMP_A0() and friends are C compound literals; this is their C++ spelling.
scmp_arg_cmp Cmp(unsigned arg, scmp_compare op, uint64_t a, uint64_t b = 0) {
  scmp_arg_cmp c{};
  c.arg = arg;
  c.op = op;
  c.datum_a = a;
  c.datum_b = b;
  return c;
}

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

Result<ScmpCtx> NewFilter(uint32_t default_action) {
  ScmpCtx ctx(seccomp_init(default_action));
  if (!ctx) return Fail(Step::kSeccompCompile, ENOMEM, "seccomp_init");
  // The foreign-architecture answer: kill the process, as for anything not allowed.
  int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  // We set no_new_privs ourselves, in the checklist, before installing.
  if (rc == 0) rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0);
  // A binary tree of syscall numbers keeps a long allowlist at a few comparisons.
  if (rc == 0) rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2);
  if (rc != 0) return Fail(Step::kSeccompCompile, -rc, "seccomp_attr_set");
  return ctx;
}

Result<int> ResolveName(std::string_view name) {
  const std::string n(name);
  const int nr = seccomp_syscall_resolve_name(n.c_str());
  if (nr == __NR_SCMP_ERROR || nr < 0) {
    return Fail(Step::kSeccompCompile, EINVAL, "unknown syscall `" + n + "`");
  }
  return nr;
}

Result<void> Add(const ScmpCtx& ctx, uint32_t action, int nr, std::string_view what,
                 unsigned count = 0, const scmp_arg_cmp* cmps = nullptr) {
  const int rc = seccomp_rule_add_array(ctx.get(), action, nr, count, cmps);
  if (rc != 0) return Fail(Step::kSeccompCompile, -rc, "rule for `" + std::string(what) + "`");
  return {};
}

// Exports through a memfd and reads the program back.
Result<std::vector<sock_filter>> Export(const ScmpCtx& ctx) {
  UniqueFd fd(memfd_create("fnjail-seccomp", MFD_CLOEXEC));
  if (!fd) return Fail(Step::kSeccompCompile, errno, "memfd_create");
  const int rc = seccomp_export_bpf(ctx.get(), fd.get());
  if (rc != 0) return Fail(Step::kSeccompCompile, -rc, "seccomp_export_bpf");
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) return Fail(Step::kSeccompCompile, errno, "fstat memfd");
  const size_t size = static_cast<size_t>(st.st_size);
  if (size == 0 || size % sizeof(sock_filter) != 0 || size / sizeof(sock_filter) > BPF_MAXINSNS) {
    return Fail(Step::kSeccompCompile, EINVAL, "exported filter has a bad size");
  }
  std::vector<sock_filter> prog(size / sizeof(sock_filter));
  size_t done = 0;
  auto* bytes = reinterpret_cast<char*>(prog.data());
  while (done < size) {
    const ssize_t n = pread(fd.get(), bytes + done, size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Fail(Step::kSeccompCompile, n < 0 ? errno : EIO, "read memfd");
    done += static_cast<size_t>(n);
  }
  return prog;
}

// In learning mode every kill becomes a trace stop the launcher answers with EPERM.
Result<std::vector<sock_filter>> CompileDeny(const SyscallPolicy& policy, bool learn) {
  const uint32_t kill = learn ? SCMP_ACT_TRACE(kTraceDenied) : SCMP_ACT_KILL_PROCESS;
  auto ctx = NewFilter(SCMP_ACT_ALLOW);
  if (!ctx) return tl::unexpected(ctx.error());
  for (std::string_view name : presets::AlwaysDenied()) {
    if (Contains(policy.dangerous_allow, name)) continue;
    const int nr = seccomp_syscall_resolve_name(std::string(name).c_str());
    if (nr < 0) continue;  // not a syscall of this architecture
    if (auto r = Add(*ctx, kill, nr, name); !r) return tl::unexpected(r.error());
  }
  if (!Contains(policy.dangerous_allow, "clone3")) {
    // glibc falls back to clone() on ENOSYS, whose flags a classic filter can inspect
    // (clone3 passes them in memory, out of a filter's reach).
    if (auto r = Add(*ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), "clone3"); !r) {
      return tl::unexpected(r.error());
    }
  }
  if (!Contains(policy.dangerous_allow, "unshare")) {
    for (uint64_t flag : kNamespaceCloneFlags) {
      const scmp_arg_cmp cmp = Cmp(0, SCMP_CMP_MASKED_EQ, flag, flag);
      if (auto r = Add(*ctx, kill, SCMP_SYS(clone), "clone", 1, &cmp); !r) {
        return tl::unexpected(r.error());
      }
    }
  }
  // The kernel reads the request as an unsigned int: compare the low 32 bits only, so high
  // garbage bits cannot smuggle TIOCSTI past the filter.
  for (unsigned long request : {static_cast<unsigned long>(TIOCSTI),
                                static_cast<unsigned long>(TIOCLINUX)}) {
    const scmp_arg_cmp cmp = Cmp(1, SCMP_CMP_MASKED_EQ, 0xffffffffu, request);
    if (auto r = Add(*ctx, kill, SCMP_SYS(ioctl), "ioctl", 1, &cmp); !r) {
      return tl::unexpected(r.error());
    }
  }
  return Export(*ctx);
}

// Adds socket()/socketpair() rules: the allowed families pass, other known families get
// EAFNOSUPPORT (libc probes them), anything else hits the default kill. Learning traces
// both kinds.
Result<void> AddSocketRules(const ScmpCtx& ctx, int nr, std::string_view name,
                            const std::vector<int>& families, bool learn) {
  for (int family = 0; family < AF_MAX; ++family) {
    const bool allowed = std::find(families.begin(), families.end(), family) != families.end();
    const scmp_arg_cmp cmp = Cmp(0, SCMP_CMP_EQ, static_cast<uint64_t>(family));
    uint32_t action = allowed ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO(EAFNOSUPPORT);
    if (learn) {
      // An allowed family is the learning filter's default answer, which libseccomp
      // refuses as a rule.
      if (allowed) continue;
      action = SCMP_ACT_TRACE(kTraceUsedNoFamily);
    }
    if (auto r = Add(ctx, action, nr, name, 1, &cmp); !r) return r;
  }
  return {};
}

// Learning traces every syscall instead: the allowlist is what the command used.
Result<std::vector<sock_filter>> CompileAllow(const std::vector<std::string>& names,
                                              NetworkMode network, bool learn) {
  auto ctx = NewFilter(learn ? SCMP_ACT_TRACE(kTraceUsed) : SCMP_ACT_KILL_PROCESS);
  if (!ctx) return tl::unexpected(ctx.error());
  std::vector<int> families = {AF_UNIX};
  if (network != NetworkMode::kNone) {
    families.push_back(AF_INET);
    families.push_back(AF_INET6);
  }
  if (network == NetworkMode::kHost) families.push_back(AF_NETLINK);
  bool clone3_allowed = false;
  for (const std::string& name : names) {
    auto nr = ResolveName(name);
    if (!nr) return tl::unexpected(nr.error());
    if (name == "clone3") clone3_allowed = true;
    if (name == "socket" || name == "socketpair") {
      const std::vector<int> pair_families = {AF_UNIX};
      if (auto r = AddSocketRules(*ctx, *nr, name, name == "socket" ? families : pair_families,
                                  learn);
          !r) {
        return tl::unexpected(r.error());
      }
      continue;
    }
    if (learn) continue;
    if (auto r = Add(*ctx, SCMP_ACT_ALLOW, *nr, name); !r) return tl::unexpected(r.error());
  }
  if (!clone3_allowed) {
    if (auto r = Add(*ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), "clone3"); !r) {
      return tl::unexpected(r.error());
    }
  }
  return Export(*ctx);
}

}  // namespace

bool IsKnownSyscall(std::string_view name) {
  const int nr = seccomp_syscall_resolve_name(std::string(name).c_str());
  return nr >= 0;
}

std::string SyscallName(long nr) {
  const bool x32 = nr >= 0 && (static_cast<uint64_t>(nr) & kX32SyscallBit) != 0;
  const long plain = x32 ? static_cast<long>(static_cast<uint64_t>(nr) & ~uint64_t{kX32SyscallBit}) : nr;
  CString name(seccomp_syscall_resolve_num_arch(x32 ? SCMP_ARCH_X32 : SCMP_ARCH_NATIVE,
                                                static_cast<int>(plain)));
  if (!name) return "syscall-" + std::to_string(nr);
  return x32 ? "x32:" + std::string(name.get()) : std::string(name.get());
}

Result<std::vector<std::string>> ResolveAllowlist(const SyscallPolicy& policy) {
  auto base = presets::Find(policy.preset);
  if (!base) return Fail(Step::kValidate, EINVAL, "unknown syscall preset `" + policy.preset + "`");
  std::set<std::string> names(base->begin(), base->end());
  const auto denied = presets::AlwaysDenied();
  for (const std::string& n : policy.add) {
    if (!IsKnownSyscall(n)) return Fail(Step::kValidate, EINVAL, "unknown syscall `" + n + "`");
    if (std::find(denied.begin(), denied.end(), n) != denied.end() &&
        !Contains(policy.dangerous_allow, n)) {
      return Fail(Step::kValidate, EPERM,
                  "`" + n + "` is always denied; lifting it needs the dangerous override");
    }
    names.insert(n);
  }
  for (const std::string& n : policy.dangerous_allow) {
    if (!IsKnownSyscall(n)) return Fail(Step::kValidate, EINVAL, "unknown syscall `" + n + "`");
    names.insert(n);
  }
  for (const std::string& n : policy.remove) {
    if (!IsKnownSyscall(n)) return Fail(Step::kValidate, EINVAL, "unknown syscall `" + n + "`");
    names.erase(n);
  }
  return std::vector<std::string>(names.begin(), names.end());
}

Result<Plan> PrepareInParent(const SandboxSpec& spec, Mode mode) {
  const bool learn = mode == Mode::kLearn;
  auto names = ResolveAllowlist(spec.syscalls);
  if (!names) return tl::unexpected(names.error());
  if (learn) {
    // Socket rules for every socket call, whatever the preset says.
    for (const char* n : {"socket", "socketpair"}) {
      if (!Contains(*names, n)) names->push_back(n);
    }
  }
  Plan plan;
  plan.learn = learn;
  auto deny = CompileDeny(spec.syscalls, learn);
  if (!deny) return tl::unexpected(deny.error());
  plan.deny = std::move(*deny);
  auto allow = CompileAllow(*names, spec.network, learn);
  if (!allow) return tl::unexpected(allow.error());
  plan.allow = std::move(*allow);
  return plan;
}

ChildStatus ApplyInChild(const Plan& plan) noexcept {
  // Filters run newest first and the first of equally strict answers wins: a learning
  // jail installs the deny filter last, so its trace stop (denied) beats the allow
  // filter's (used).
  const std::vector<sock_filter>* first = plan.learn ? &plan.allow : &plan.deny;
  const std::vector<sock_filter>* second = plan.learn ? &plan.deny : &plan.allow;
  for (const std::vector<sock_filter>* f : {first, second}) {
    sock_fprog prog{};
    prog.len = static_cast<unsigned short>(f->size());
    prog.filter = const_cast<sock_filter*>(f->data());
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
      return ChildFail(Step::kSeccomp);
    }
  }
  return ChildOk();
}

}  // namespace fnjail::sandbox::internal::seccomp
