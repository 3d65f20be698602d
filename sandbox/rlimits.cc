// Resource limits.
#include "sandbox/internal/rlimits.h"

namespace fnjail::sandbox::internal::rlimits {

Plan PrepareInParent(const SandboxSpec& spec) {
  Plan plan;
  const Limits& l = spec.limits;
  plan.entries.push_back({RLIMIT_NOFILE, l.open_files});
  plan.entries.push_back({RLIMIT_FSIZE, l.file_size_bytes});
  plan.entries.push_back({RLIMIT_CORE, 0});  // no core files, even inside the jail
  plan.entries.push_back({RLIMIT_MEMLOCK, 64 << 10});
  if (l.cpu_ms != 0) plan.entries.push_back({RLIMIT_CPU, (l.cpu_ms + 999) / 1000});
  if (spec.cgroup == CgroupMode::kRlimitsOnly) {
    // Stand-ins for the cgroup limits. RLIMIT_NPROC counts every process of the host uid,
    // which is the jail's own uid only when no other jail shares it: coarser than pids.max.
    plan.entries.push_back({RLIMIT_NPROC, l.pids});
    plan.entries.push_back({RLIMIT_DATA, l.memory_bytes});
  }
  return plan;
}

ChildStatus ApplyInChild(const Plan& plan) noexcept {
  for (uint32_t i = 0; i < plan.entries.size(); ++i) {
    const rlimit lim{plan.entries[i].value, plan.entries[i].value};
    if (setrlimit(static_cast<__rlimit_resource>(plan.entries[i].resource), &lim) != 0) {
      return ChildFail(Step::kRlimits, i);
    }
  }
  return ChildOk();
}

}  // namespace fnjail::sandbox::internal::rlimits
