// Network, UTS and IPC namespaces.
#include "sandbox/internal/net_ns.h"

#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace fnjail::sandbox::internal::net_ns {

unsigned long CloneFlags(const Plan& plan) noexcept {
  unsigned long flags = CLONE_NEWUTS | CLONE_NEWIPC;
  if (plan.own_namespace) flags |= CLONE_NEWNET;
  return flags;
}

Plan PrepareInParent(const SandboxSpec& spec) {
  Plan plan;
  plan.own_namespace = spec.network != NetworkMode::kHost;
  plan.hostname = spec.hostname;
  return plan;
}

ChildStatus ApplyInChild(const Plan& plan) noexcept {
  if (plan.own_namespace) {
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return ChildFail(Step::kNetwork);
    ifreq req{};
    std::memcpy(req.ifr_name, "lo", 3);
    if (ioctl(fd, SIOCGIFFLAGS, &req) != 0) {
      const ChildStatus s = ChildFail(Step::kNetwork);
      close(fd);
      return s;
    }
    req.ifr_flags = static_cast<short>(req.ifr_flags | IFF_UP | IFF_RUNNING);
    if (ioctl(fd, SIOCSIFFLAGS, &req) != 0) {
      const ChildStatus s = ChildFail(Step::kNetwork);
      close(fd);
      return s;
    }
    close(fd);
  }
  if (sethostname(plan.hostname.data(), plan.hostname.size()) != 0) {
    return ChildFail(Step::kHostname);
  }
  return ChildOk();
}

}  // namespace fnjail::sandbox::internal::net_ns
