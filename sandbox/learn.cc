// Learning a least-privilege profile: a jail whose filter traces instead of killing, the
// syscalls and paths it used, the binds those paths need, and the profile that allows
// exactly that.
#include "sandbox/internal/learn.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "sandbox/internal/launch.h"
#include "sandbox/internal/presets.h"
#include "sandbox/internal/seccomp.h"
#include "sandbox/sandbox.h"

namespace fnjail::sandbox {
namespace internal {
namespace {

constexpr size_t kMaxPaths = 20'000;  // distinct paths kept; a runaway scan stops there
constexpr int kMaxSymlinks = 40;      // the kernel's own limit (ELOOP)

#if defined(__x86_64__)
// Where a path-taking syscall keeps its path: the argument index of the path and of the
// directory descriptor it is relative to (-1: none; informational).
struct PathArg {
  long nr;
  int path;
  int dirfd;
};
constexpr PathArg kPathArgs[] = {
    {SYS_execve, 0, -1},     {SYS_execveat, 1, 0},    {SYS_open, 0, -1},
    {SYS_creat, 0, -1},      {SYS_openat, 1, 0},      {SYS_openat2, 1, 0},
    {SYS_stat, 0, -1},       {SYS_lstat, 0, -1},      {SYS_newfstatat, 1, 0},
    {SYS_statx, 1, 0},       {SYS_access, 0, -1},     {SYS_faccessat, 1, 0},
    {SYS_faccessat2, 1, 0},  {SYS_readlink, 0, -1},   {SYS_readlinkat, 1, 0},
    {SYS_chdir, 0, -1},      {SYS_mkdir, 0, -1},      {SYS_mkdirat, 1, 0},
    {SYS_unlink, 0, -1},     {SYS_unlinkat, 1, 0},    {SYS_rmdir, 0, -1},
    {SYS_truncate, 0, -1},   {SYS_chmod, 0, -1},      {SYS_fchmodat, 1, 0},
    {SYS_statfs, 0, -1},     {SYS_getxattr, 0, -1},   {SYS_lgetxattr, 0, -1},
    {SYS_listxattr, 0, -1},  {SYS_llistxattr, 0, -1}, {SYS_utimensat, 1, 0},
    {SYS_symlink, 1, -1},    {SYS_link, 0, -1},       {SYS_rename, 0, -1},
    {SYS_mknod, 0, -1},      {SYS_inotify_add_watch, 1, -1},
};

uint64_t Arg(const user_regs_struct& r, int i) {
  switch (i) {
    case 0:
      return r.rdi;
    case 1:
      return r.rsi;
    case 2:
      return r.rdx;
    case 3:
      return r.r10;
    case 4:
      return r.r8;
    default:
      return r.r9;
  }
}
#endif

// Reads a NUL-terminated string of at most PATH_MAX bytes from the tracee, page by page so
// that a string ending just before an unmapped page still reads.
std::string ReadString(pid_t pid, uint64_t address) {
  std::string out;
  constexpr uint64_t kPage = 4096;
  while (address != 0 && out.size() < 4096) {
    char buf[kPage];
    const size_t chunk = static_cast<size_t>(kPage - (address % kPage));
    iovec local{buf, chunk};
    iovec remote{reinterpret_cast<void*>(address), chunk};
    const ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (n <= 0) return {};
    const void* nul = std::memchr(buf, '\0', static_cast<size_t>(n));
    if (nul != nullptr) {
      out.append(buf, static_cast<size_t>(static_cast<const char*>(nul) - buf));
      return out;
    }
    out.append(buf, static_cast<size_t>(n));
    address += static_cast<uint64_t>(n);
  }
  return {};
}

std::string DescribeDenied(long nr) {
#if defined(__x86_64__)
  if (nr == SYS_clone) return "clone with namespace flags";
  if (nr == SYS_ioctl) return "ioctl TIOCSTI or TIOCLINUX";
#endif
  return seccomp::SyscallName(nr);
}

}  // namespace

void Learner::OnSeccompStop(pid_t pid) {
#if defined(__x86_64__)
  unsigned long data = 0;
  if (ptrace(PTRACE_GETEVENTMSG, pid, nullptr, &data) != 0) return;
  user_regs_struct regs{};
  if (ptrace(PTRACE_GETREGS, pid, nullptr, &regs) != 0) return;
  const long nr = static_cast<long>(regs.orig_rax);
  // Between the filters and the command, the launcher itself installs the second filter:
  // that call is not the command's.
  if (!exec_seen_ && nr == SYS_seccomp) return;
  if (nr == SYS_execve || nr == SYS_execveat) exec_seen_ = true;
  if (data == seccomp::kTraceDenied || data == seccomp::kTraceUsedNoFamily) {
    if (data == seccomp::kTraceDenied) {
      denied_.insert(DescribeDenied(nr));
    } else {
      used_.insert(nr);
    }
    // Skip the call: syscall number -1, and the answer the enforcing filter would not give
    // (EPERM: in enforcement it kills) or would (EAFNOSUPPORT).
    const long answer = data == seccomp::kTraceDenied ? EPERM : EAFNOSUPPORT;
    regs.orig_rax = static_cast<unsigned long long>(-1);
    regs.rax = static_cast<unsigned long long>(-answer);
    ptrace(PTRACE_SETREGS, pid, nullptr, &regs);
    return;
  }
  used_.insert(nr);
  for (const PathArg& p : kPathArgs) {
    if (p.nr != nr) continue;
    const std::string path = ReadString(pid, Arg(regs, p.path));
    // Only absolute paths: a path relative to a descriptor went through that descriptor's
    // path, recorded when it was opened; one relative to the cwd, through the cwd (whose
    // bind is always kept).
    if (path.empty() || path[0] != '/') break;
    if (paths_.size() < kMaxPaths) paths_.insert(path);
    if ((nr == SYS_execve || nr == SYS_execveat) && exec_paths_.size() < kMaxPaths) {
      exec_paths_.insert(path);
    }
    break;
  }
#else
  (void)pid;
#endif
}

namespace {

std::vector<std::string> Components(std::string_view path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view c = path.substr(start, end - start);
    if (!c.empty() && c != ".") out.emplace_back(c);
    start = end + 1;
  }
  return out;
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

// The index of the bind whose target is `path` or its nearest ancestor, or -1.
long InnermostBind(const std::vector<Bind>& binds, const std::string& path) {
  long best = -1;
  size_t best_len = 0;
  for (size_t i = 0; i < binds.size(); ++i) {
    const std::string& t = binds[i].target;
    const bool covers = path == t || (path.size() > t.size() && path.compare(0, t.size(), t) == 0 &&
                                      (t == "/" || path[t.size()] == '/'));
    if (covers && (best < 0 || t.size() > best_len)) {
      best = static_cast<long>(i);
      best_len = t.size();
    }
  }
  return best;
}

struct Resolution {
  std::vector<size_t> binds;
  std::string host;  // the host file the path ends at; empty outside the binds
};

Resolution Resolve(const std::vector<Bind>& binds, const std::string& path) {
  Resolution r;
  std::deque<std::string> todo;
  for (std::string& c : Components(path)) todo.push_back(std::move(c));
  std::vector<std::string> done;
  int links = 0;
  while (!todo.empty()) {
    std::string c = std::move(todo.front());
    todo.pop_front();
    if (c == "..") {
      if (!done.empty()) done.pop_back();
      continue;
    }
    done.push_back(std::move(c));
    const std::string cur = Join(done);
    const long b = InnermostBind(binds, cur);
    r.host.clear();
    if (b < 0) continue;  // in the jail's own root (proc, dev, tmp, mount points)
    const size_t index = static_cast<size_t>(b);
    if (std::find(r.binds.begin(), r.binds.end(), index) == r.binds.end()) {
      r.binds.push_back(index);
    }
    r.host = binds[index].source + cur.substr(binds[index].target == "/" ? 0 : binds[index].target.size());
    struct stat st {};
    if (lstat(r.host.c_str(), &st) != 0 || !S_ISLNK(st.st_mode) || links >= kMaxSymlinks) {
      continue;
    }
    char target[4096];
    const ssize_t n = readlink(r.host.c_str(), target, sizeof(target) - 1);
    if (n <= 0) continue;
    ++links;
    const std::string link(target, static_cast<size_t>(n));
    done.pop_back();
    if (link[0] == '/') done.clear();
    std::vector<std::string> parts = Components(link);
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) todo.push_front(*it);
  }
  return r;
}

std::string ReadPrefix(const std::string& host_path, size_t size) {
  UniqueFd fd(open(host_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  std::string out(size, '\0');
  if (!fd) return {};
  const ssize_t n = pread(fd.get(), out.data(), size, 0);
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

// The program the kernel loads on its own when executing `host_path`: the ELF interpreter
// (PT_INTERP) or the #! interpreter. Empty when there is none.
std::string ImplicitInterpreter(const std::string& host_path) {
  const std::string head = ReadPrefix(host_path, 256);
  if (head.size() > 2 && head[0] == '#' && head[1] == '!') {
    size_t start = head.find_first_not_of(" \t", 2);
    if (start == std::string::npos) return {};
    const size_t end = head.find_first_of(" \t\n", start);
    return head.substr(start, end == std::string::npos ? std::string::npos : end - start);
  }
  if (head.size() < sizeof(Elf64_Ehdr) || std::memcmp(head.data(), ELFMAG, SELFMAG) != 0 ||
      head[EI_CLASS] != ELFCLASS64) {
    return {};
  }
  Elf64_Ehdr eh;
  std::memcpy(&eh, head.data(), sizeof(eh));
  if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 256) return {};
  UniqueFd fd(open(host_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return {};
  for (uint16_t i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    const off_t at = static_cast<off_t>(eh.e_phoff + i * sizeof(Elf64_Phdr));
    if (pread(fd.get(), &ph, sizeof(ph), at) != static_cast<ssize_t>(sizeof(ph))) return {};
    if (ph.p_type != PT_INTERP || ph.p_filesz == 0 || ph.p_filesz > 4096) continue;
    std::string interp(ph.p_filesz, '\0');
    if (pread(fd.get(), interp.data(), ph.p_filesz, static_cast<off_t>(ph.p_offset)) !=
        static_cast<ssize_t>(ph.p_filesz)) {
      return {};
    }
    interp.resize(std::strlen(interp.c_str()));
    return interp;
  }
  return {};
}

bool Under(const std::string& path, const std::string& dir) {
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                         path[dir.size()] == '/');
}

}  // namespace
}  // namespace internal

std::vector<size_t> BindsOnPath(const std::vector<Bind>& binds, const std::string& path) {
  return internal::Resolve(binds, path).binds;
}

Result<LearnReport> Learn(const SandboxSpec& spec, const RunIo& io) {
  auto plan = internal::MakePlan(spec, internal::seccomp::Mode::kLearn);
  if (!plan) return tl::unexpected(plan.error());
  internal::Learner learner;
  auto outcome = internal::RunPlan(**plan, io, &learner);
  if (!outcome) return tl::unexpected(outcome.error());

  LearnReport report;
  report.outcome = *outcome;
  for (const long nr : learner.used()) {
    report.syscalls.push_back(internal::seccomp::SyscallName(nr));
  }
  std::sort(report.syscalls.begin(), report.syscalls.end());
  report.denied.assign(learner.denied().begin(), learner.denied().end());

  std::set<std::string> paths = learner.paths();
  // What the kernel opened by itself for an execve: interpreters, and theirs.
  std::vector<std::string> execs(learner.exec_paths().begin(), learner.exec_paths().end());
  for (size_t i = 0; i < execs.size() && i < 64; ++i) {
    const internal::Resolution r = internal::Resolve(spec.binds, execs[i]);
    if (r.host.empty()) continue;
    const std::string interp = internal::ImplicitInterpreter(r.host);
    if (!interp.empty() && interp[0] == '/' && paths.insert(interp).second) {
      execs.push_back(interp);
    }
  }
  report.paths.assign(paths.begin(), paths.end());

  std::vector<bool> used(spec.binds.size(), false);
  const auto mark = [&](const std::string& path) {
    for (const size_t i : BindsOnPath(spec.binds, path)) used[i] = true;
  };
  mark(spec.cwd);  // relative paths go through the working directory
  for (const std::string& p : report.paths) mark(p);
  for (size_t i = 0; i < spec.binds.size(); ++i) {
    if (used[i]) report.binds.push_back(spec.binds[i]);
  }
  report.used_tmp = internal::Under(spec.cwd, "/tmp");
  for (const std::string& p : report.paths) {
    report.used_tmp = report.used_tmp || internal::Under(p, "/tmp");
  }
  return report;
}

namespace {

// A TOML basic string.
std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::string List(const std::vector<std::string>& items) {
  if (items.empty()) return "[]";
  std::string out = "[\n";
  for (const std::string& i : items) out += "  " + Quote(i) + ",\n";
  return out + "]";
}

std::string BindSpec(const Bind& b) {
  return b.source == b.target ? b.source : b.source + ":" + b.target;
}

uint64_t RoundUpShift(uint64_t v, int shift) {
  return (v + ((uint64_t{1} << shift) - 1)) >> shift;
}

}  // namespace

std::string LearnedProfileToml(const SandboxSpec& spec, const LearnReport& report) {
  std::string out;
  out += "# Learned by `fnjail profile learn` from: ";
  for (size_t i = 0; i < spec.argv.size(); ++i) out += (i ? " " : "") + spec.argv[i];
  out += "\n# Exactly what that run used: review it, and learn again after changes.\n";
  if (!report.denied.empty()) {
    out += "# Tried and refused (always denied, not granted):";
    for (const std::string& d : report.denied) out += " " + d + ";";
    out.pop_back();
    out += "\n";
  }

  const Limits defaults;
  const Limits& l = spec.limits;
  std::string limits;
  const auto limit = [&limits](const char* key, uint64_t value) {
    limits += std::string(key) + " = " + std::to_string(value) + "\n";
  };
  if (l.memory_bytes != defaults.memory_bytes) limit("memory_mb", RoundUpShift(l.memory_bytes, 20));
  if (l.pids != defaults.pids) limit("pids", l.pids);
  if (l.cpu_shares != 0) limit("cpu_shares", l.cpu_shares);
  if (l.cpu_quota_percent != 0) limit("cpu_quota_percent", l.cpu_quota_percent);
  if (l.timeout_ms != defaults.timeout_ms) limit("timeout_ms", l.timeout_ms);
  if (l.cpu_ms != 0) limit("cpu_ms", l.cpu_ms);
  if (l.file_size_bytes != defaults.file_size_bytes) {
    limit("file_size_mb", RoundUpShift(l.file_size_bytes, 20));
  }
  if (l.open_files != defaults.open_files) limit("open_files", l.open_files);
  const uint64_t tmpfs = report.used_tmp ? l.tmpfs_bytes : 0;
  if (tmpfs != defaults.tmpfs_bytes) limit("tmpfs_mb", RoundUpShift(tmpfs, 20));
  if (l.output_bytes != defaults.output_bytes) {
    limit("output_limit_kb", RoundUpShift(l.output_bytes, 10));
  }
  if (spec.cgroup == CgroupMode::kRlimitsOnly) limits += "rlimits_only = true\n";
  if (!limits.empty()) out += "\n[limits]\n" + limits;

  std::vector<std::string> ro, rw;
  for (const Bind& b : report.binds) (b.writable ? rw : ro).push_back(BindSpec(b));
  out += "\n[filesystem]\nsystem_binds = false\n";
  out += "ro_binds = " + List(ro) + "\n";
  if (!rw.empty()) out += "rw_binds = " + List(rw) + "\n";

  if (spec.network == NetworkMode::kLoopback) out += "\n[network]\nmode = \"loopback\"\n";

  std::string env;
  if (!spec.env.empty()) {
    env += "vars = {";
    for (size_t i = 0; i < spec.env.size(); ++i) {
      const size_t eq = spec.env[i].find('=');
      env += (i ? ", " : " ") + Quote(spec.env[i].substr(0, eq)) + " = " +
             Quote(eq == std::string::npos ? "" : spec.env[i].substr(eq + 1));
    }
    env += " }\n";
  }
  const SandboxSpec defaults_spec;
  if (spec.cwd != defaults_spec.cwd) env += "cwd = " + Quote(spec.cwd) + "\n";
  if (spec.uid != defaults_spec.uid) env += "uid = " + std::to_string(spec.uid) + "\n";
  if (spec.gid != defaults_spec.gid) env += "gid = " + std::to_string(spec.gid) + "\n";
  if (spec.hostname != defaults_spec.hostname) env += "hostname = " + Quote(spec.hostname) + "\n";
  if (!env.empty()) out += "\n[environment]\n" + env;

  // Exactly the syscalls used: the smallest preset, plus what it lacks, minus what went
  // unused. Lifted always-denied ones stay in [dangerous], visibly.
  const auto minimal = internal::presets::Find("minimal");
  std::set<std::string> base;
  if (minimal) base.insert(minimal->begin(), minimal->end());
  const std::set<std::string> used(report.syscalls.begin(), report.syscalls.end());
  const auto dangerous = [&spec](const std::string& n) {
    return std::find(spec.syscalls.dangerous_allow.begin(), spec.syscalls.dangerous_allow.end(),
                     n) != spec.syscalls.dangerous_allow.end();
  };
  std::vector<std::string> allow, deny, lifted;
  for (const std::string& n : used) {
    if (dangerous(n)) {
      lifted.push_back(n);
    } else if (base.count(n) == 0 && internal::seccomp::IsKnownSyscall(n)) {
      allow.push_back(n);
    }
  }
  for (const std::string& n : base) {
    if (used.count(n) == 0) deny.push_back(n);
  }
  out += "\n[syscalls]\npreset = \"minimal\"\n";
  out += "allow = " + List(allow) + "\n";
  out += "deny = " + List(deny) + "\n";
  if (!lifted.empty() || spec.network == NetworkMode::kHost) {
    out += "\n[dangerous]\n";
    if (spec.network == NetworkMode::kHost) out += "host_network = true\n";
    if (!lifted.empty()) out += "allow_syscalls = " + List(lifted) + "\n";
  }
  return out;
}

}  // namespace fnjail::sandbox
