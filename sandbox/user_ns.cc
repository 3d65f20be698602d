// The user namespace: the parent writes the id maps, the child switches identity.
#include "sandbox/internal/user_ns.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "sandbox/unique_fd.h"

namespace fnjail::sandbox::internal::user_ns {
namespace {

Result<void> WriteProcFile(pid_t pid, const char* name, const std::string& text) {
  const std::string path = "/proc/" + std::to_string(pid) + "/" + name;
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return Fail(Step::kUserNsMap, errno, path);
  const ssize_t n = write(fd.get(), text.data(), text.size());
  if (n != static_cast<ssize_t>(text.size())) {
    return Fail(Step::kUserNsMap, n < 0 ? errno : EIO, path);
  }
  return {};
}

}  // namespace

Plan PrepareInParent(const SandboxSpec& spec) {
  Plan plan;
  const bool root = geteuid() == 0;
  // SECURITY: a root launcher maps the jail to "nobody" on the host, never to itself, so a
  // breakout from the user namespace lands unprivileged. An ordinary user can only map its
  // own ids.
  const uid_t host_uid = root ? kRootLauncherHostId : geteuid();
  const gid_t host_gid = root ? kRootLauncherHostId : getegid();
  plan.uid = spec.uid;
  plan.gid = spec.gid;
  plan.host_uid = host_uid;
  plan.uid_map = std::to_string(spec.uid) + " " + std::to_string(host_uid) + " 1\n";
  plan.gid_map = std::to_string(spec.gid) + " " + std::to_string(host_gid) + " 1\n";
  // Root keeps setgroups allowed so the child can drop root's supplementary groups (group 0
  // among them); an ordinary user must deny it to be allowed to write gid_map.
  plan.deny_setgroups = !root;
  plan.drop_groups = root;
  return plan;
}

Result<void> FinishInParent(const Plan& plan, pid_t pid) {
  if (plan.deny_setgroups) {
    if (auto r = WriteProcFile(pid, "setgroups", "deny"); !r) return r;
  }
  if (auto r = WriteProcFile(pid, "uid_map", plan.uid_map); !r) return r;
  return WriteProcFile(pid, "gid_map", plan.gid_map);
}

// Raw syscalls, not the libc wrappers: in a process with threads, glibc's setgroups,
// setresgid and setresuid run a setxid broadcast to every thread it knows, under locks and
// futex waits. The child is a raw clone of one thread of such a process: those threads do
// not exist in it, and a lock some other thread held at clone time stays held forever, so
// the wrapper can hang the child before its command ever runs. The raw calls change the
// calling thread only, which is the whole child.
ChildStatus ApplyInChild(const Plan& plan) noexcept {
  if (plan.drop_groups && syscall(SYS_setgroups, 0, nullptr) != 0) {
    return ChildFail(Step::kSetGroups);
  }
  if (syscall(SYS_setresgid, plan.gid, plan.gid, plan.gid) != 0) return ChildFail(Step::kSetGid);
  if (syscall(SYS_setresuid, plan.uid, plan.uid, plan.uid) != 0) return ChildFail(Step::kSetUid);
  return ChildOk();
}

}  // namespace fnjail::sandbox::internal::user_ns
