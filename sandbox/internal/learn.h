// Learning a profile: what a jail whose filter traces instead of killing did.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace fnjail::sandbox::internal {

// Records the syscalls (and the paths they name) at a learning jail's seccomp trace stops.
// Used by the tracing thread only.
class Learner {
 public:
  // Handles a PTRACE_EVENT_SECCOMP stop of `pid`: records the call; an always-denied call is
  // skipped with EPERM, a refused socket family with EAFNOSUPPORT. The caller resumes it.
  void OnSeccompStop(pid_t pid);

  const std::set<long>& used() const { return used_; }
  const std::set<std::string>& denied() const { return denied_; }
  const std::set<std::string>& paths() const { return paths_; }
  const std::set<std::string>& exec_paths() const { return exec_paths_; }

 private:
  bool exec_seen_ = false;
  std::set<long> used_;
  std::set<std::string> denied_;
  std::set<std::string> paths_;
  std::set<std::string> exec_paths_;
};

}  // namespace fnjail::sandbox::internal
