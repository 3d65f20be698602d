// Network, UTS and IPC namespaces: `lo` up, the jail's hostname.
#pragma once

#include <string>

#include "sandbox/internal/child_status.h"
#include "sandbox/sandbox.h"

namespace fnjail::sandbox::internal::net_ns {

struct Plan {
  bool own_namespace = true;  // false only for NetworkMode::kHost
  std::string hostname;
};

// Clone flags this plan needs beyond user/pid/mount (CLONE_NEWNET, CLONE_NEWUTS, CLONE_NEWIPC).
unsigned long CloneFlags(const Plan& plan) noexcept;

Plan PrepareInParent(const SandboxSpec& spec);

// Brings `lo` up in the new network namespace and sets the hostname.
ChildStatus ApplyInChild(const Plan& plan) noexcept;

}  // namespace fnjail::sandbox::internal::net_ns
