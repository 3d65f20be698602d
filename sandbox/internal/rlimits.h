// Resource limits applied with setrlimit in the child.
#pragma once

#include <sys/resource.h>

#include <vector>

#include "sandbox/internal/child_status.h"
#include "sandbox/sandbox.h"

namespace fnjail::sandbox::internal::rlimits {

struct Entry {
  int resource = 0;
  rlim_t value = 0;
};

struct Plan {
  std::vector<Entry> entries;
};

// Always: NOFILE, FSIZE, CORE=0, MEMLOCK, CPU (when set). Without a cgroup (kRlimitsOnly)
// also NPROC and DATA stand in for the pids and memory limits.
Plan PrepareInParent(const SandboxSpec& spec);

ChildStatus ApplyInChild(const Plan& plan) noexcept;

}  // namespace fnjail::sandbox::internal::rlimits
