// The jail's filesystem: a tmpfs root holding binds, /proc, a minimal /dev and /tmp.
#pragma once

#include <string>
#include <vector>

#include "sandbox/internal/child_status.h"
#include "sandbox/sandbox.h"

namespace fnjail::sandbox::internal::mount_ns {

// Where the host root stays reachable between pivot_root and its detachment.
inline constexpr const char* kOldRoot = "/.oldroot";

struct Op {
  enum class Kind : uint8_t {
    kMkdir,    // mkdir(target, 0755)
    kMkfile,   // create an empty file at target (a mount point for a file bind)
    kSymlink,  // symlink(source, target)
    kBind,     // bind source (under kOldRoot) on target, recursively
    kSetAttr,  // mount_setattr(target, AT_RECURSIVE, attr_set = flags)
    kTmpfs,    // tmpfs on target with options `data`, mount flags `flags`
    kProc,     // proc on target
    kRemount,  // MS_REMOUNT|MS_BIND with `flags` on target
  };
  Kind kind = Kind::kMkdir;
  std::string source;
  std::string target;
  std::string data;
  unsigned long flags = 0;
};

// The whole plan. The child runs: make / private, mount a tmpfs on `staging`, pivot_root
// into it (the host root goes to kOldRoot), run `ops`, detach the old root, then remount
// the new root read-only.
struct Plan {
  std::string staging = "/tmp";
  std::string root_options;  // tmpfs options of the new root
  std::vector<Op> ops;
};

// Builds the plan for `spec`: canonical sources, mount points created only inside tmpfs
// (never inside a bind, which would write to the host), binds ordered parents first.
// Errors: a missing source, a target that would need creating a directory inside a bind.
Result<Plan> PrepareInParent(const SandboxSpec& spec);

// Runs the plan. Async-signal-safe, no allocation. REQUIRES: a new mount namespace with
// CAP_SYS_ADMIN in its user namespace, a new pid namespace (for /proc).
ChildStatus ApplyInChild(const Plan& plan) noexcept;

// Human context for a failed op (its paths), computed in the parent.
std::string Describe(const Plan& plan, const ChildStatus& status);

}  // namespace fnjail::sandbox::internal::mount_ns
