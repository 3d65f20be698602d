// The jail options shared by `fnjail run` and `fnjail profile learn` (run_command.cc).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sandbox/sandbox.h"

namespace CLI {
class App;
}

namespace fnjail::cli {

// Exit status when the jail could not be set up (the command never ran), as env(1) and
// chroot(1) use 125 for their own failures.
inline constexpr int kSetupFailureStatus = 125;

struct RunFlags {
  std::string profile;
  std::string preset;
  std::vector<std::string> ro_binds;
  std::vector<std::string> rw_binds;
  std::optional<uint64_t> tmpfs_mb;
  std::optional<uint64_t> memory_mb;
  std::optional<uint32_t> pids;
  std::optional<uint64_t> timeout_ms;
  std::optional<uint64_t> cpu_ms;
  std::optional<uint64_t> output_limit_kb;
  std::string net;
  std::vector<std::string> env;
  bool rlimits_only = false;
  std::vector<std::string> command;
};

// Adds the jail options (--profile ... --rlimits-only) and the trailing `-- CMD [ARGS...]`
// to `cmd`, writing into `*flags`.
void AddJailOptions(CLI::App* cmd, RunFlags* flags);

// The spec the flags describe (profile first, flags over it). On failure prints the reason
// to stderr and returns nullopt (exit status 2).
std::optional<sandbox::SandboxSpec> BuildSpec(const RunFlags& flags);

}  // namespace fnjail::cli
