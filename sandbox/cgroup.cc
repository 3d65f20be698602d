// Cgroups v1 and v2: one cgroup per jail, limits, limit events, stats, removal.
#include "sandbox/internal/cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <utility>

namespace fnjail::sandbox::internal::cgroup {
namespace {

constexpr const char* kPrefix = "fnjail-";
constexpr uint64_t kCpuPeriodUs = 100'000;

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The value of `key` in a "key value" per line file (memory.events, pids.events, ...).
uint64_t ReadKeyed(const std::string& path, const std::string& key) {
  std::istringstream in(ReadFile(path));
  std::string k;
  uint64_t v = 0;
  while (in >> k >> v) {
    if (k == key) return v;
  }
  return 0;
}

uint64_t ReadNumber(const std::string& path) {
  std::istringstream in(ReadFile(path));
  uint64_t v = 0;
  in >> v;
  return v;
}

Result<void> WriteFile(const std::string& path, const std::string& value, bool optional) {
  const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    if (optional && errno == ENOENT) return {};
    return Fail(Step::kCgroup, errno, "open " + path);
  }
  UniqueFd owner(fd);
  const ssize_t n = write(fd, value.data(), value.size());
  if (n != static_cast<ssize_t>(value.size())) {
    return Fail(Step::kCgroup, n < 0 ? errno : EIO, "write `" + value + "` to " + path);
  }
  return {};
}

// Kills what is left in `dir` and removes it. The pid namespace is normally gone already;
// this covers a launcher that crashed mid-run.
void KillAndRemove(const std::string& dir) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    std::istringstream procs(ReadFile(dir + "/cgroup.procs"));
    pid_t pid = 0;
    while (procs >> pid) kill(pid, SIGKILL);
    if (rmdir(dir.c_str()) == 0 || errno == ENOENT) return;
    if (errno != EBUSY) return;
    const timespec pause{0, 1'000'000};
    nanosleep(&pause, nullptr);
  }
}

// Removes `fnjail-<pid>-*` children of `base` whose launcher pid no longer exists. Each
// launcher pid is looked up once (a busy host holds many live jails of one launcher).
void CleanStale(const std::string& base) {
  DIR* d = opendir(base.c_str());
  if (d == nullptr) return;
  std::vector<std::string> stale;
  std::vector<std::pair<pid_t, bool>> checked;  // pid, gone
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name.rfind(kPrefix, 0) != 0) continue;
    const auto parts = Split(name.substr(std::char_traits<char>::length(kPrefix)), '-');
    if (parts.size() != 2) continue;
    const pid_t pid = static_cast<pid_t>(std::strtol(parts[0].c_str(), nullptr, 10));
    if (pid <= 0 || pid == getpid()) continue;
    auto it = std::find_if(checked.begin(), checked.end(),
                           [pid](const auto& c) { return c.first == pid; });
    if (it == checked.end()) {
      checked.push_back({pid, kill(pid, 0) != 0 && errno == ESRCH});
      it = checked.end() - 1;
    }
    if (it->second) stale.push_back(base + "/" + name);
  }
  closedir(d);
  for (const std::string& dir : stale) KillAndRemove(dir);
}

}  // namespace

std::vector<Write> PlanWrites(Version version, const Limits& limits) {
  std::vector<Write> w;
  const std::string mem = std::to_string(limits.memory_bytes);
  if (version == Version::kV1) {
    w.push_back({"memory", "memory.limit_in_bytes", mem});
    // Memory plus swap: without it a jail could page its way past the limit.
    w.push_back({"memory", "memory.memsw.limit_in_bytes", mem, true});
    w.push_back({"pids", "pids.max", std::to_string(limits.pids)});
    if (limits.cpu_shares != 0) {
      w.push_back({"cpu", "cpu.shares", std::to_string(limits.cpu_shares)});
    }
    if (limits.cpu_quota_percent != 0) {
      w.push_back({"cpu", "cpu.cfs_period_us", std::to_string(kCpuPeriodUs)});
      w.push_back({"cpu", "cpu.cfs_quota_us",
                   std::to_string(kCpuPeriodUs * limits.cpu_quota_percent / 100)});
    }
    return w;
  }
  w.push_back({"", "memory.max", mem});
  w.push_back({"", "memory.swap.max", "0", true});
  // One OOM kill takes the whole jail down, as the design asks.
  w.push_back({"", "memory.oom.group", "1", true});
  w.push_back({"", "pids.max", std::to_string(limits.pids)});
  if (limits.cpu_shares != 0) {
    // cgroup v1 shares [2, 262144] map onto v2 weight [1, 10000] as the kernel docs do.
    const uint64_t shares = std::max<uint64_t>(2, std::min<uint64_t>(limits.cpu_shares, 262144));
    w.push_back({"", "cpu.weight", std::to_string(1 + ((shares - 2) * 9999) / 262142)});
  }
  if (limits.cpu_quota_percent != 0) {
    w.push_back({"", "cpu.max",
                 std::to_string(kCpuPeriodUs * limits.cpu_quota_percent / 100) + " " +
                     std::to_string(kCpuPeriodUs)});
  }
  return w;
}

Result<Layout> ParseLayout(const std::string& mountinfo, const std::string& self_cgroup,
                           const std::string& v2_controllers) {
  // /proc/self/cgroup: "id:controllers:path".
  std::vector<std::pair<std::vector<std::string>, std::string>> memberships;
  std::string v2_path;
  bool have_v2_path = false;
  for (const std::string& line : Split(self_cgroup, '\n')) {
    const size_t a = line.find(':');
    const size_t b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1);
    const std::string path = line.substr(b + 1);
    if (line.substr(0, a) == "0" && controllers.empty()) {
      v2_path = path;
      have_v2_path = true;
    } else {
      memberships.push_back({Split(controllers, ','), path});
    }
  }
  // mountinfo: "id parent maj:min root mountpoint opts ... - fstype source superopts".
  struct Mount {
    std::string root, point, fstype;
    std::vector<std::string> super;
  };
  std::vector<Mount> mounts;
  for (const std::string& line : Split(mountinfo, '\n')) {
    const auto f = Split(line, ' ');
    size_t dash = 0;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (f.size() < 5 || dash + 3 >= f.size()) continue;
    mounts.push_back({f[3], f[4], f[dash + 1], Split(f[dash + 3], ',')});
  }
  auto join = [](const Mount& m, const std::string& path) {
    std::string rel = path;
    if (m.root != "/" && rel.rfind(m.root, 0) == 0) rel = rel.substr(m.root.size());
    if (rel == "/") rel.clear();
    return m.point + rel;
  };

  Layout layout;
  const auto v2_has = [&](const std::string& c) {
    for (const std::string& x : Split(v2_controllers, ' ')) {
      if (x == c || x == c + "\n") return true;
    }
    return false;
  };
  if (have_v2_path && v2_has("memory") && v2_has("pids")) {
    for (const Mount& m : mounts) {
      if (m.fstype != "cgroup2") continue;
      layout.version = Version::kV2;
      layout.bases.push_back({"", join(m, v2_path)});
      return layout;
    }
  }
  layout.version = Version::kV1;
  for (const char* controller : {"memory", "pids", "cpu", "cpuacct"}) {
    for (const Mount& m : mounts) {
      if (m.fstype != "cgroup") continue;
      bool has = false;
      for (const std::string& o : m.super) has = has || o == controller;
      if (!has) continue;
      for (const auto& [controllers, path] : memberships) {
        bool member = false;
        for (const std::string& c : controllers) member = member || c == controller;
        if (member) layout.bases.push_back({controller, join(m, path)});
      }
      break;
    }
  }
  bool memory = false, pids = false;
  for (const auto& [c, dir] : layout.bases) {
    memory = memory || c == "memory";
    pids = pids || c == "pids";
  }
  if (!memory || !pids) {
    return Fail(Step::kCgroup, ENOENT, "no cgroup hierarchy with the memory and pids controllers");
  }
  return layout;
}

Result<Layout> DetectLayout() {
  const std::string self = ReadFile("/proc/self/cgroup");
  const std::string mountinfo = ReadFile("/proc/self/mountinfo");
  // The v2 controllers of our own cgroup decide between the backends.
  std::string controllers;
  auto v1_only = ParseLayout(mountinfo, self, "memory pids");
  if (v1_only && v1_only->version == Version::kV2) {
    controllers = ReadFile(v1_only->bases.front().second + "/cgroup.controllers");
  }
  return ParseLayout(mountinfo, self, controllers);
}

Jail::~Jail() { Remove(); }

Result<Jail> Jail::Create(const Layout& layout, const Limits& limits) {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  const std::string name = std::string(kPrefix) + std::to_string(getpid()) + "-" +
                           std::to_string(static_cast<uint64_t>(now.tv_sec) * 1'000'000'000u +
                                          static_cast<uint64_t>(now.tv_nsec));
  Jail jail;
  jail.version_ = layout.version;
  // PERF: a v1 `cpu` cgroup costs milliseconds to create (per-CPU scheduler entities):
  // only when a CPU limit asks for it. CPU time comes from `cpuacct`.
  const bool needs_cpu = limits.cpu_shares != 0 || limits.cpu_quota_percent != 0;
  for (const auto& [controller, base] : layout.bases) {
    if (controller == "cpu" && !needs_cpu) continue;
    const std::string dir = base + "/" + name;
    bool exists = false;
    for (const std::string& d : jail.dirs_) exists = exists || d == dir;
    if (!exists) {
      if (mkdir(dir.c_str(), 0700) != 0) return Fail(Step::kCgroup, errno, "mkdir " + dir);
      jail.dirs_.push_back(dir);
    }
    jail.controller_dirs_.push_back({controller, dir});
  }
  auto dir_of = [&jail](const std::string& controller) -> std::string {
    for (const auto& [c, d] : jail.controller_dirs_) {
      if (c == controller) return d;
    }
    return {};
  };
  for (const Write& w : PlanWrites(layout.version, limits)) {
    const std::string dir = dir_of(w.controller);
    if (dir.empty()) {
      if (w.controller == "cpu") continue;  // no cpu hierarchy: CPU limits are best effort
      return Fail(Step::kCgroup, ENOENT, "no `" + w.controller + "` hierarchy");
    }
    if (auto r = WriteFile(dir + "/" + w.file, w.value, w.optional); !r) {
      return tl::unexpected(r.error());
    }
  }
  // Limit events the launcher polls for.
  const std::string pids_dir = layout.version == Version::kV1 ? dir_of("pids") : dir_of("");
  if (int fd = open((pids_dir + "/pids.events").c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {
    jail.event_fds_.emplace_back(fd);
    jail.event_fd_numbers_.push_back({fd, POLLPRI});
  }
  if (layout.version == Version::kV1) {
    const std::string mem = dir_of("memory");
    UniqueFd oom(open((mem + "/memory.oom_control").c_str(), O_RDONLY | O_CLOEXEC));
    UniqueFd efd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (oom && efd) {
      const std::string reg = std::to_string(efd.get()) + " " + std::to_string(oom.get());
      if (WriteFile(mem + "/cgroup.event_control", reg, false)) {
        jail.event_fd_numbers_.push_back({efd.get(), POLLIN});
        jail.event_fds_.push_back(std::move(efd));
      }
    }
  } else if (int fd = open((dir_of("") + "/memory.events").c_str(), O_RDONLY | O_CLOEXEC);
             fd >= 0) {
    jail.event_fds_.emplace_back(fd);
    jail.event_fd_numbers_.push_back({fd, POLLPRI});
  }
  return jail;
}

Stats ReadLimitEvents(const Paths& paths) {
  Stats s;
  for (const auto& [controller, dir] : paths.controller_dirs) {
    if (paths.version == Version::kV2) {
      s.oom_kills = ReadKeyed(dir + "/memory.events", "oom_kill");
      s.pids_max_events = ReadKeyed(dir + "/pids.events", "max");
    } else if (controller == "memory") {
      s.oom_kills = ReadKeyed(dir + "/memory.oom_control", "oom_kill");
    } else if (controller == "pids") {
      s.pids_max_events = ReadKeyed(dir + "/pids.events", "max");
    }
  }
  return s;
}

void CleanStale(const Layout& layout) {
  std::vector<std::string> done;
  for (const auto& [controller, base] : layout.bases) {
    if (std::find(done.begin(), done.end(), base) != done.end()) continue;
    CleanStale(base);
    done.push_back(base);
  }
}

Result<void> Jail::Join(pid_t pid) const { return JoinDirs(dirs_, pid); }

Result<void> JoinDirs(const std::vector<std::string>& dirs, pid_t pid) {
  for (const std::string& dir : dirs) {
    if (auto r = WriteFile(dir + "/cgroup.procs", std::to_string(pid), false); !r) return r;
  }
  return {};
}

Stats Jail::ReadStats() const { return cgroup::ReadStats(paths()); }

Stats ReadStats(const Paths& paths) {
  Stats s;
  for (const auto& [controller, dir] : paths.controller_dirs) {
    if (paths.version == Version::kV2) {
      s.oom_kills = ReadKeyed(dir + "/memory.events", "oom_kill");
      s.memory_limit_hits = ReadKeyed(dir + "/memory.events", "oom");
      s.pids_max_events = ReadKeyed(dir + "/pids.events", "max");
      s.cpu_usage_ns = ReadKeyed(dir + "/cpu.stat", "usage_usec") * 1000;
      s.memory_peak_bytes = ReadNumber(dir + "/memory.peak");
      s.memory_current_bytes = ReadNumber(dir + "/memory.current");
    } else if (controller == "memory") {
      s.oom_kills = ReadKeyed(dir + "/memory.oom_control", "oom_kill");
      s.memory_limit_hits = ReadNumber(dir + "/memory.failcnt");
      s.memory_peak_bytes = ReadNumber(dir + "/memory.max_usage_in_bytes");
      s.memory_current_bytes = ReadNumber(dir + "/memory.usage_in_bytes");
    } else if (controller == "pids") {
      s.pids_max_events = ReadKeyed(dir + "/pids.events", "max");
    } else if (controller == "cpuacct") {
      s.cpu_usage_ns = ReadNumber(dir + "/cpuacct.usage");
    }
  }
  return s;
}

void Jail::Remove() {
  event_fd_numbers_.clear();
  event_fds_.clear();
  for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) KillAndRemove(*it);
  dirs_.clear();
  controller_dirs_.clear();
}

}  // namespace fnjail::sandbox::internal::cgroup
