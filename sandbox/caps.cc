// Capabilities: all five sets emptied with libcap, securebits locked, no_new_privs.
#include "sandbox/internal/caps.h"

#include <linux/securebits.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include <cerrno>
#include <fstream>
#include <utility>

namespace fnjail::sandbox::internal::caps {

Plan::Plan(Plan&& other) noexcept
    : empty_(std::exchange(other.empty_, nullptr)), last_cap_(other.last_cap_) {}

Plan& Plan::operator=(Plan&& other) noexcept {
  if (this != &other) {
    if (empty_ != nullptr) cap_free(empty_);
    empty_ = std::exchange(other.empty_, nullptr);
    last_cap_ = other.last_cap_;
  }
  return *this;
}

Plan::~Plan() {
  if (empty_ != nullptr) cap_free(empty_);
}

Result<Plan> Plan::PrepareInParent() {
  Plan plan;
  cap_t empty = cap_init();  // all three sets clear
  if (empty == nullptr) return Fail(Step::kPrepare, errno, "cap_init");
  plan.empty_ = empty;
  // The running kernel may know more capabilities than the libcap headers: ask it.
  std::ifstream in("/proc/sys/kernel/cap_last_cap");
  int last = -1;
  if (!(in >> last) || last < 0 || last > 255) last = static_cast<int>(cap_max_bits()) - 1;
  plan.last_cap_ = last;
  return plan;
}

ChildStatus Plan::ApplyInChild() const noexcept {
  // Root inside gains nothing from exec or setuid, and nobody may undo that.
  const unsigned bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                        SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
                        SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
  if (cap_set_secbits(bits) != 0) return ChildFail(Step::kSecureBits);
  // The bounding set first: dropping it needs CAP_SETPCAP, which the last step removes.
  for (int cap = 0; cap <= last_cap_; ++cap) {
    if (cap_drop_bound(static_cast<cap_value_t>(cap)) != 0 && errno != EINVAL) {
      return ChildFail(Step::kCapBounding, static_cast<uint32_t>(cap));
    }
  }
  if (cap_reset_ambient() != 0) return ChildFail(Step::kCapAmbient);
  if (cap_set_proc(static_cast<cap_t>(empty_)) != 0) return ChildFail(Step::kCaps);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return ChildFail(Step::kNoNewPrivs);
  return ChildOk();
}

}  // namespace fnjail::sandbox::internal::caps
