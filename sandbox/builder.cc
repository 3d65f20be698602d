// Spec validation and the fluent SandboxBuilder.
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "sandbox/internal/presets.h"
#include "sandbox/internal/seccomp.h"
#include "sandbox/sandbox.h"

namespace fnjail::sandbox {
namespace {

bool HasNul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

// Absolute, no empty, `.` or `..` components, no trailing slash.
bool IsNormalizedAbsolute(std::string_view p) {
  if (p.empty() || p[0] != '/' || HasNul(p)) return false;
  if (p == "/") return true;
  if (p.back() == '/') return false;
  size_t start = 1;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string_view::npos) end = p.size();
    const std::string_view part = p.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

bool IsAtOrUnder(std::string_view path, std::string_view dir) {
  return path == dir || (path.size() > dir.size() && path.substr(0, dir.size()) == dir &&
                         path[dir.size()] == '/');
}

Error Invalid(std::string message) { return Error{Step::kValidate, EINVAL, std::move(message)}; }

}  // namespace

Result<void> ValidateSpec(const SandboxSpec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty()) {
    return tl::unexpected(Invalid("the command is empty"));
  }
  // SECURITY: the child passes C strings; an embedded NUL would silently cut an argument
  // or a path short, so a checked string and the used one could differ.
  for (const std::string& a : spec.argv) {
    if (HasNul(a)) return tl::unexpected(Invalid("an argument holds a NUL byte"));
  }
  for (const std::string& e : spec.env) {
    const size_t eq = e.find('=');
    if (HasNul(e) || eq == std::string::npos || eq == 0) {
      return tl::unexpected(Invalid("environment entry `" + e.substr(0, e.find('\0')) +
                                    "` is not KEY=VALUE"));
    }
  }
  if (!IsNormalizedAbsolute(spec.cwd)) {
    return tl::unexpected(Invalid("working directory `" + spec.cwd + "` is not a normalized absolute path"));
  }
  std::set<std::string> targets;
  for (const Bind& b : spec.binds) {
    if (b.source.empty() || b.source[0] != '/' || HasNul(b.source)) {
      return tl::unexpected(Invalid("bind source `" + b.source + "` is not an absolute path"));
    }
    if (!IsNormalizedAbsolute(b.target) || b.target == "/") {
      return tl::unexpected(Invalid("bind target `" + b.target +
                                    "` is not a normalized absolute path other than /"));
    }
    if (IsAtOrUnder(b.target, "/proc") || IsAtOrUnder(b.target, "/dev")) {
      return tl::unexpected(Invalid("bind target `" + b.target + "` is inside the jail's own /proc or /dev"));
    }
    if (spec.limits.tmpfs_bytes != 0 && b.target == "/tmp") {
      return tl::unexpected(Invalid("bind target `/tmp` collides with the jail's tmpfs /tmp"));
    }
    if (!targets.insert(b.target).second) {
      return tl::unexpected(Invalid("bind target `" + b.target + "` appears twice"));
    }
  }
  const Limits& l = spec.limits;
  if (l.timeout_ms == 0) return tl::unexpected(Invalid("the timeout must be positive"));
  if (l.output_bytes == 0) return tl::unexpected(Invalid("the output limit must be positive"));
  if (l.memory_bytes < (1u << 20)) return tl::unexpected(Invalid("the memory limit is below 1 MiB"));
  if (l.pids == 0) return tl::unexpected(Invalid("the pids limit must be positive"));
  if (l.open_files < 4) return tl::unexpected(Invalid("the open files limit is below 4"));
  if (l.cpu_quota_percent > 100 * 1024) {
    return tl::unexpected(Invalid("the CPU quota is above 102400 percent"));
  }
  if (l.cpu_shares != 0 && (l.cpu_shares < 2 || l.cpu_shares > 262144)) {
    return tl::unexpected(Invalid("CPU shares must be within [2, 262144]"));
  }
  if (spec.hostname.empty() || spec.hostname.size() > 64 ||
      !std::all_of(spec.hostname.begin(), spec.hostname.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '.';
      })) {
    return tl::unexpected(Invalid("hostname `" + spec.hostname + "` is not a valid host name"));
  }
  if ((spec.network == NetworkMode::kHost || !spec.syscalls.dangerous_allow.empty()) &&
      !spec.dangerous.has_value()) {
    return tl::unexpected(
        Invalid("host networking or lifting an always-denied syscall needs a DangerousToken"));
  }
  if (auto names = internal::seccomp::ResolveAllowlist(spec.syscalls); !names) {
    return tl::unexpected(names.error());
  }
  if (spec.channel_fd >= 0 && fcntl(spec.channel_fd, F_GETFD) < 0) {
    return tl::unexpected(Invalid("the channel descriptor is not open"));
  }
  return {};
}

std::vector<std::string> PresetNames() {
  const auto names = internal::presets::Names();
  return {names.begin(), names.end()};
}

std::vector<std::string> AlwaysDeniedSyscalls() {
  const auto names = internal::presets::AlwaysDenied();
  return {names.begin(), names.end()};
}

std::vector<Bind> DefaultSystemBinds() {
  std::vector<Bind> binds;
  for (const char* p : {"/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin",
                        "/etc/ld.so.cache"}) {
    struct stat st {};
    if (lstat(p, &st) == 0) binds.push_back({p, p, false});
  }
  return binds;
}

SandboxBuilder& SandboxBuilder::Record(Error e) {
  if (!error_) error_ = std::move(e);
  return *this;
}

SandboxBuilder& SandboxBuilder::Command(std::vector<std::string> argv) {
  if (failed()) return *this;
  if (argv.empty() || argv[0].empty()) return Record(Invalid("the command is empty"));
  spec_.argv = std::move(argv);
  return *this;
}

SandboxBuilder& SandboxBuilder::Env(std::string_view key, std::string_view value) {
  if (failed()) return *this;
  if (key.empty() || key.find('=') != std::string_view::npos || HasNul(key) || HasNul(value)) {
    return Record(Invalid("environment key `" + std::string(key) + "` is invalid"));
  }
  const std::string prefix = std::string(key) + "=";
  spec_.env.erase(std::remove_if(spec_.env.begin(), spec_.env.end(),
                                 [&](const std::string& e) { return e.rfind(prefix, 0) == 0; }),
                  spec_.env.end());
  spec_.env.push_back(prefix + std::string(value));
  return *this;
}

SandboxBuilder& SandboxBuilder::WorkingDirectory(std::string dir) {
  if (failed()) return *this;
  if (!IsNormalizedAbsolute(dir)) {
    return Record(Invalid("working directory `" + dir + "` is not a normalized absolute path"));
  }
  spec_.cwd = std::move(dir);
  return *this;
}

SandboxBuilder& SandboxBuilder::Identity(uint32_t uid, uint32_t gid) {
  if (failed()) return *this;
  spec_.uid = uid;
  spec_.gid = gid;
  return *this;
}

SandboxBuilder& SandboxBuilder::Hostname(std::string name) {
  if (failed()) return *this;
  spec_.hostname = std::move(name);
  return *this;
}

SandboxBuilder& SandboxBuilder::ReadOnlyBind(std::string source, std::string target) {
  if (failed()) return *this;
  if (target.empty()) target = source;
  if (source.empty() || source[0] != '/') {
    return Record(Invalid("bind source `" + source + "` is not an absolute path"));
  }
  if (!IsNormalizedAbsolute(target) || target == "/") {
    return Record(Invalid("bind target `" + target + "` is not a normalized absolute path other than /"));
  }
  spec_.binds.push_back({std::move(source), std::move(target), false});
  return *this;
}

SandboxBuilder& SandboxBuilder::WritableBind(std::string source, std::string target) {
  if (failed()) return *this;
  ReadOnlyBind(std::move(source), std::move(target));
  if (!failed()) spec_.binds.back().writable = true;
  return *this;
}

SandboxBuilder& SandboxBuilder::DefaultSystemBinds() {
  if (failed()) return *this;
  for (Bind& b : sandbox::DefaultSystemBinds()) spec_.binds.push_back(std::move(b));
  return *this;
}

SandboxBuilder& SandboxBuilder::Network(NetworkMode mode) {
  if (failed()) return *this;
  if (mode == NetworkMode::kHost) {
    return Record(Invalid("sharing the host network needs ShareHostNetwork(token)"));
  }
  spec_.network = mode;
  return *this;
}

SandboxBuilder& SandboxBuilder::ShareHostNetwork(const DangerousToken& token) {
  if (failed()) return *this;
  spec_.network = NetworkMode::kHost;
  spec_.dangerous = token;
  return *this;
}

#define FNJAIL_LIMIT_SETTER(Name, field, type, check, what)       \
  SandboxBuilder& SandboxBuilder::Name(type value) {              \
    if (failed()) return *this;                                   \
    if (!(check)) return Record(Invalid(what));                   \
    spec_.limits.field = value;                                   \
    return *this;                                                 \
  }

FNJAIL_LIMIT_SETTER(MemoryLimit, memory_bytes, uint64_t, value >= (1u << 20),
                    "the memory limit is below 1 MiB")
FNJAIL_LIMIT_SETTER(PidsLimit, pids, uint32_t, value > 0, "the pids limit must be positive")
FNJAIL_LIMIT_SETTER(CpuShares, cpu_shares, uint32_t, value >= 2 && value <= 262144,
                    "CPU shares must be within [2, 262144]")
FNJAIL_LIMIT_SETTER(CpuQuotaPercent, cpu_quota_percent, uint32_t, value <= 100 * 1024,
                    "the CPU quota is above 102400 percent")
FNJAIL_LIMIT_SETTER(Timeout, timeout_ms, uint64_t, value > 0, "the timeout must be positive")
FNJAIL_LIMIT_SETTER(CpuTime, cpu_ms, uint64_t, true, "")
FNJAIL_LIMIT_SETTER(FileSizeLimit, file_size_bytes, uint64_t, true, "")
FNJAIL_LIMIT_SETTER(OpenFilesLimit, open_files, uint32_t, value >= 4,
                    "the open files limit is below 4")
FNJAIL_LIMIT_SETTER(TmpfsSize, tmpfs_bytes, uint64_t, true, "")
FNJAIL_LIMIT_SETTER(OutputLimit, output_bytes, uint64_t, value > 0,
                    "the output limit must be positive")
#undef FNJAIL_LIMIT_SETTER

SandboxBuilder& SandboxBuilder::AcceptRlimitsOnly() {
  if (failed()) return *this;
  spec_.cgroup = CgroupMode::kRlimitsOnly;
  return *this;
}

SandboxBuilder& SandboxBuilder::Preset(std::string name) {
  if (failed()) return *this;
  if (!internal::presets::Find(name)) {
    return Record(Invalid("unknown syscall preset `" + name + "`"));
  }
  spec_.syscalls.preset = std::move(name);
  return *this;
}

SandboxBuilder& SandboxBuilder::AllowSyscall(std::string name) {
  if (failed()) return *this;
  if (!internal::seccomp::IsKnownSyscall(name)) {
    return Record(Invalid("unknown syscall `" + name + "`"));
  }
  const auto denied = internal::presets::AlwaysDenied();
  if (std::find(denied.begin(), denied.end(), name) != denied.end()) {
    return Record(Error{Step::kValidate, EPERM,
                        "`" + name + "` is always denied; lifting it needs AllowDangerousSyscall"});
  }
  spec_.syscalls.add.push_back(std::move(name));
  return *this;
}

SandboxBuilder& SandboxBuilder::DenySyscall(std::string name) {
  if (failed()) return *this;
  if (!internal::seccomp::IsKnownSyscall(name)) {
    return Record(Invalid("unknown syscall `" + name + "`"));
  }
  spec_.syscalls.remove.push_back(std::move(name));
  return *this;
}

SandboxBuilder& SandboxBuilder::AllowDangerousSyscall(std::string name,
                                                      const DangerousToken& token) {
  if (failed()) return *this;
  if (!internal::seccomp::IsKnownSyscall(name)) {
    return Record(Invalid("unknown syscall `" + name + "`"));
  }
  spec_.syscalls.dangerous_allow.push_back(std::move(name));
  spec_.dangerous = token;
  return *this;
}

SandboxBuilder& SandboxBuilder::ChannelFd(int fd) {
  if (failed()) return *this;
  if (fd < 0 || fcntl(fd, F_GETFD) < 0) return Record(Invalid("the channel descriptor is not open"));
  spec_.channel_fd = fd;
  return *this;
}

Result<SandboxSpec> SandboxBuilder::TryBuild() const {
  if (error_) return tl::unexpected(*error_);
  if (auto r = ValidateSpec(spec_); !r) return tl::unexpected(r.error());
  return spec_;
}

}  // namespace fnjail::sandbox
