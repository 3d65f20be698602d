// The user namespace: id maps written by the parent, identity switched in the child.
#pragma once

#include <sys/types.h>

#include <string>

#include "sandbox/internal/child_status.h"
#include "sandbox/sandbox.h"

namespace fnjail::sandbox::internal::user_ns {

// The unprivileged host id a jail runs as when the launcher is root ("nobody").
inline constexpr uint32_t kRootLauncherHostId = 65534;

struct Plan {
  std::string uid_map;  // "inside outside 1\n"
  std::string gid_map;
  bool deny_setgroups = true;  // unprivileged launchers must deny setgroups to map gids
  bool drop_groups = false;    // root launchers drop every supplementary group in the child
  uid_t uid = 0;               // inside
  gid_t gid = 0;
  uid_t host_uid = 0;          // what the inside id is on the host
};

// Maps the jail's inside uid/gid to an unprivileged host id: 65534 when the launcher is
// root (so root outside is never root inside nor on the host), else the launcher's own ids.
Plan PrepareInParent(const SandboxSpec& spec);

// Writes setgroups, uid_map and gid_map of `pid`. The child waits until this is done.
Result<void> FinishInParent(const Plan& plan, pid_t pid);

// Drops supplementary groups (root launchers) and switches to the inside uid/gid.
ChildStatus ApplyInChild(const Plan& plan) noexcept;

}  // namespace fnjail::sandbox::internal::user_ns
