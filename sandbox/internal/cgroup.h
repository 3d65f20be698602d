// Cgroups: one cgroup per jail with memory, pids and CPU limits; v1 and v2 backends.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sandbox/sandbox.h"
#include "sandbox/unique_fd.h"

namespace fnjail::sandbox::internal::cgroup {

enum class Version : uint8_t { kV1, kV2 };

// One file write, relative to a controller's jail directory.
struct Write {
  std::string controller;  // v1 hierarchy ("memory", "pids", "cpu"); "" for v2
  std::string file;
  std::string value;
  bool optional = false;  // skipped when the kernel lacks the file (e.g. no swap accounting)

  bool operator==(const Write&) const = default;
};

// The limit writes for `limits` in the given hierarchy version, in order. Pure.
std::vector<Write> PlanWrites(Version version, const Limits& limits);

// Where the hierarchies are and which cgroup we are in, read from /proc/self/mountinfo and
// /proc/self/cgroup (or given by tests).
struct Layout {
  Version version = Version::kV1;
  // v1: controller -> the directory of our own cgroup in that hierarchy;
  // v2: a single entry with controller "".
  std::vector<std::pair<std::string, std::string>> bases;
};

// Parses mountinfo and /proc/self/cgroup texts into a Layout. Prefers v2 when the unified
// hierarchy holds the memory and pids controllers, else v1 (memory, pids, cpu, cpuacct).
// Errors: no usable hierarchy.
Result<Layout> ParseLayout(const std::string& mountinfo, const std::string& self_cgroup,
                           const std::string& v2_controllers);

// Reads the live layout.
Result<Layout> DetectLayout();

// Counters read after (or during) a run.
struct Stats {
  uint64_t oom_kills = 0;
  uint64_t memory_limit_hits = 0;  // v1 memory.failcnt, v2 memory.events `oom`
  uint64_t pids_max_events = 0;
  uint64_t cpu_usage_ns = 0;
  uint64_t memory_peak_bytes = 0;
  uint64_t memory_current_bytes = 0;
};

// Where a jail cgroup's counters are: copyable, so another thread can read them while the
// launcher owns the Jail. Reading after removal yields zeros.
struct Paths {
  Version version = Version::kV1;
  std::vector<std::pair<std::string, std::string>> controller_dirs;
};

// Reads the counters under `paths`. Thread-safe (plain file reads).
Stats ReadStats(const Paths& paths);

// Reads only the two limit-event counters (oom_kills, pids_max_events; the rest stays 0):
// what a supervisor looks at periodically, in two small file reads.
Stats ReadLimitEvents(const Paths& paths);

// Removes stale `fnjail-<pid>-<n>` cgroups whose launcher pid is gone, under every base.
// Done once per prepared jail (not per launch: a base may hold thousands of live jails).
void CleanStale(const Layout& layout);

// Moves `pid` into each of `dirs` (a Jail's dirs()). Thread-safe (file writes).
Result<void> JoinDirs(const std::vector<std::string>& dirs, pid_t pid);

// A created jail cgroup. Removes its directories on destruction (after killing anything
// left inside). Move-only.
class Jail {
 public:
  Jail(Jail&&) noexcept = default;
  Jail& operator=(Jail&&) noexcept = default;
  Jail(const Jail&) = delete;
  Jail& operator=(const Jail&) = delete;
  ~Jail();

  // Creates a fresh `fnjail-<pid>-<n>` cgroup under each base the limits need (the v1
  // `cpu` hierarchy only for a CPU limit) and writes the limits.
  static Result<Jail> Create(const Layout& layout, const Limits& limits);

  // Moves `pid` into every hierarchy of this cgroup.
  Result<void> Join(pid_t pid) const;

  // What to poll for limit events: pids.events and memory.events (v2) signal POLLPRI when
  // they change (cgroup files always poll readable, so POLLIN must not be asked for); the
  // v1 OOM eventfd signals POLLIN. May be empty.
  struct EventFd {
    int fd;
    short events;
  };
  const std::vector<EventFd>& event_fds() const { return event_fd_numbers_; }

  Stats ReadStats() const;
  Paths paths() const { return Paths{version_, controller_dirs_}; }

  // Kills every process left in the cgroup and removes the directories. Idempotent.
  void Remove();

  const std::vector<std::string>& dirs() const { return dirs_; }
  Version version() const { return version_; }

 private:
  Jail() = default;
  Version version_ = Version::kV1;
  std::vector<std::pair<std::string, std::string>> controller_dirs_;
  std::vector<std::string> dirs_;
  std::vector<UniqueFd> event_fds_;
  std::vector<EventFd> event_fd_numbers_;
};

}  // namespace fnjail::sandbox::internal::cgroup
