// Capabilities: every set emptied with libcap (bounding, ambient, inheritable, effective,
// permitted), securebits locked, no_new_privs.
#pragma once

#include <memory>

#include "sandbox/internal/child_status.h"
#include "sandbox/sandbox.h"

namespace fnjail::sandbox::internal::caps {

// The prepared state: an empty capability set allocated in the parent (libcap allocates)
// and the highest capability number of the running kernel.
class Plan {
 public:
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;
  Plan(Plan&&) noexcept;
  Plan& operator=(Plan&&) noexcept;
  ~Plan();

  static Result<Plan> PrepareInParent();

  // Locks securebits, drops the bounding and ambient sets, clears the other three, and sets
  // no_new_privs. REQUIRES: CAP_SETPCAP in the current user namespace.
  ChildStatus ApplyInChild() const noexcept;

 private:
  Plan() = default;
  void* empty_ = nullptr;  // cap_t; kept opaque so libcap stays out of this header
  int last_cap_ = 0;
};

}  // namespace fnjail::sandbox::internal::caps
