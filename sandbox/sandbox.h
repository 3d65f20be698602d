// fnjail::sandbox: run a command in a namespaced, capability-less, seccomp-filtered jail.
//
// The flow is "plan in the parent, apply in the child" (docs/sandbox.md):
//   1. A SandboxSpec (plain data) is built with SandboxBuilder, or loaded from a function
//      profile (ParseProfileToml), and validated.
//   2. Run() prepares everything that can fail or allocate in the parent: the mount plan,
//      the id maps, the compiled seccomp BPF, the cgroup with its limits.
//   3. The child runs a fixed checklist of async-signal-safe steps (sandbox/launcher.cc),
//      seccomp last before execve. A failing step reports {step, errno} and exits; Run()
//      returns it as an Error. What the jailed command then did is an Outcome value.
//
// Thread-safety: Run() clones, traces and waits for its jail in the calling thread (it only
// ever waits for that thread's own children), so concurrent Run() calls from several
// threads are safe, but each blocks its thread for the whole run. Servers use a JailHost:
// one launcher thread that starts, supervises and reaps every jail, with a thread-safe
// front end (Start / LiveJail). Everything else is pure.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

#include "sandbox/unique_fd.h"

namespace fnjail::sandbox {

// ---------------------------------------------------------------------------------------
// Errors.

// The setup step that failed. Parent steps come first, then the child checklist in the
// order it runs.
enum class Step : uint8_t {
  kNone = 0,
  kValidate,       // the spec is invalid (err is EINVAL)
  kProfile,        // a profile file could not be read or parsed
  kPrepare,        // parent-side preparation (paths, tables)
  kSeccompCompile, // libseccomp could not build or export the filter
  kCgroup,         // creating, limiting or joining the jail's cgroup
  kPipe,           // creating the launcher's pipes
  kClone,          // clone() into the new namespaces
  kUserNsMap,      // writing uid_map / gid_map / setgroups
  kPtrace,         // attaching the violation monitor
  kSync,           // the child lost the parent while waiting to start
  kMountPrivate,   // making the inherited mounts private
  kMountRoot,      // mounting the new root tmpfs
  kPivotRoot,      // pivot_root into it
  kMkdir,          // creating a mount point
  kMkfile,         // creating a file mount point
  kSymlink,        // creating a symlink in the new root
  kBind,           // a bind mount
  kRemount,        // remounting a bind or the root read-only
  kTmpfs,          // mounting a tmpfs
  kProc,           // mounting /proc
  kDetachOldRoot,  // unmounting the old root
  kNetwork,        // bringing `lo` up
  kHostname,       // sethostname
  kCgroupNs,       // unshare(CLONE_NEWCGROUP) after joining the cgroup
  kRlimits,        // setrlimit
  kStdio,          // wiring stdin/stdout/stderr
  kCloseFds,       // closing every inherited descriptor
  kSetsid,         // setsid
  kChdir,          // chdir to the working directory
  kSetGroups,      // dropping supplementary groups
  kSetGid,         // setresgid
  kSetUid,         // setresuid
  kSecureBits,     // locking the securebits
  kCapBounding,    // dropping the bounding set
  kCapAmbient,     // clearing the ambient set
  kCaps,           // clearing effective, permitted and inheritable
  kNoNewPrivs,     // PR_SET_NO_NEW_PRIVS
  kSignals,        // resetting the signal mask and dispositions
  kFindCommand,    // the command is not an executable inside the jail
  kSeccomp,        // installing the filter
  kExec,           // execve
  kWait,           // the parent's wait loop
};

// A short stable name for `step`, e.g. "pivot-root".
std::string_view StepName(Step step) noexcept;

// A failed setup: which step, the errno it failed with, and context for a human.
struct Error {
  Step step = Step::kNone;
  int err = 0;
  std::string detail;  // e.g. the path involved; may be empty

  // "step pivot-root: Operation not permitted (detail)".
  std::string ToString() const;
};

// The sandbox library's result: a value or an Error.
template <class T>
class [[nodiscard]] Result : public tl::expected<T, Error> {
 public:
  using tl::expected<T, Error>::expected;
};

inline tl::unexpected<Error> Fail(Step step, int err, std::string detail = {}) {
  return tl::unexpected(Error{step, err, std::move(detail)});
}

// ---------------------------------------------------------------------------------------
// The spec: what the jail looks like. Plain data; ValidateSpec() says whether it is sound.

// Network of the jail. Every mode but kHost is a fresh network namespace holding only `lo`
// (up); kNone additionally limits sockets to AF_UNIX through the seccomp filter.
enum class NetworkMode : uint8_t { kNone, kLoopback, kHost };

// A bind mount from the host into the jail. `target` is an absolute, normalized path
// inside the jail. A source that is a symlink on the host is recreated as the same symlink.
struct Bind {
  std::string source;
  std::string target;
  bool writable = false;
};

// Resource limits. Zero means "no limit" where noted.
struct Limits {
  uint64_t memory_bytes = 256ull << 20;  // cgroup memory limit
  uint32_t pids = 64;                    // cgroup pids.max
  uint32_t cpu_shares = 0;               // relative CPU weight (v1 shares); 0: default
  uint32_t cpu_quota_percent = 0;        // CPU bandwidth, 100 = one core; 0: unlimited
  uint64_t timeout_ms = 30'000;          // wall-clock deadline; 0 is invalid
  uint64_t cpu_ms = 0;                   // CPU time (RLIMIT_CPU, rounded up to seconds); 0: none
  uint64_t file_size_bytes = 64ull << 20;  // RLIMIT_FSIZE
  uint32_t open_files = 256;             // RLIMIT_NOFILE
  uint64_t tmpfs_bytes = 64ull << 20;    // size of /tmp; 0: no /tmp
  uint64_t output_bytes = 1ull << 20;    // stdout + stderr together; 0 is invalid
};

// Whether a cgroup is required. Without a usable cgroup Run() refuses, unless the spec
// explicitly accepts rlimits only (no memory accounting, no pids limit but RLIMIT_NPROC).
enum class CgroupMode : uint8_t { kRequired, kRlimitsOnly };

// The syscall allowlist: a named preset plus explicit additions and removals. The
// always-denied list (docs/sandbox.md) applies whatever is added here, except for names in
// `dangerous_allow`, which the builder accepts only with a DangerousToken.
struct SyscallPolicy {
  std::string preset = "exec-default";
  std::vector<std::string> add;
  std::vector<std::string> remove;
  std::vector<std::string> dangerous_allow;
};

// A proof that the caller links fnjail::sandbox_dangerous. Only MintDangerousToken() (in
// that target) can create one, so `grep sandbox_dangerous` lists every code path able to
// weaken a jail.
class DangerousToken {
 private:
  DangerousToken() = default;
  friend DangerousToken MintDangerousToken();
};

// Defined in fnjail::sandbox_dangerous only.
DangerousToken MintDangerousToken();

struct SandboxSpec {
  std::vector<std::string> argv;  // argv[0] is resolved against PATH inside the jail
  std::vector<std::string> env;   // exactly the environment of the command, `K=V` each
  std::string cwd = "/";
  std::vector<Bind> binds;
  NetworkMode network = NetworkMode::kNone;
  Limits limits;
  uint32_t uid = 1000;  // identity inside the jail
  uint32_t gid = 1000;
  std::string hostname = "fnjail";
  CgroupMode cgroup = CgroupMode::kRequired;
  SyscallPolicy syscalls;
  int channel_fd = -1;  // a host descriptor handed to the jail as fd 3; -1: none
  // Set only through SandboxBuilder's dangerous switches; required by kHost networking and
  // by a non-empty syscalls.dangerous_allow.
  std::optional<DangerousToken> dangerous;
};

// Checks that `spec` is sound: non-empty argv, absolute normalized bind targets that do not
// shadow /proc, /dev or each other's parents unsafely, existing sources, sane limits,
// known syscall names and preset, dangerous settings only with a token.
Result<void> ValidateSpec(const SandboxSpec& spec);

// Names of the syscall presets, e.g. "minimal", "exec-default", "lua", "python".
std::vector<std::string> PresetNames();

// The always-denied syscall names (docs/sandbox.md).
std::vector<std::string> AlwaysDeniedSyscalls();

// The default binds for a dynamically linked program: read-only /usr, /lib*, /bin, /sbin,
// /etc/ld.so.cache (those that exist on the host; merged-/usr symlinks stay symlinks).
std::vector<Bind> DefaultSystemBinds();

// ---------------------------------------------------------------------------------------
// The fluent builder. Every setter returns *this; the first invalid call records an error
// that sticks (later calls are ignored) and TryBuild() returns it.
//
//   auto spec = SandboxBuilder().DefaultSystemBinds().MemoryLimit(64 << 20)
//                   .Command({"/bin/true"}).TryBuild();
class SandboxBuilder {
 public:
  SandboxBuilder() = default;
  // Starts from an existing spec, e.g. one loaded from a profile.
  explicit SandboxBuilder(SandboxSpec base) : spec_(std::move(base)) {}

  SandboxBuilder& Command(std::vector<std::string> argv);
  SandboxBuilder& Env(std::string_view key, std::string_view value);
  SandboxBuilder& WorkingDirectory(std::string dir);
  SandboxBuilder& Identity(uint32_t uid, uint32_t gid);
  SandboxBuilder& Hostname(std::string name);
  // `target` defaults to `source`.
  SandboxBuilder& ReadOnlyBind(std::string source, std::string target = {});
  SandboxBuilder& WritableBind(std::string source, std::string target = {});
  SandboxBuilder& DefaultSystemBinds();
  // kNone or kLoopback; kHost needs ShareHostNetwork.
  SandboxBuilder& Network(NetworkMode mode);
  SandboxBuilder& ShareHostNetwork(const DangerousToken& token);
  SandboxBuilder& MemoryLimit(uint64_t bytes);
  SandboxBuilder& PidsLimit(uint32_t pids);
  SandboxBuilder& CpuShares(uint32_t shares);
  SandboxBuilder& CpuQuotaPercent(uint32_t percent);
  SandboxBuilder& Timeout(uint64_t ms);
  SandboxBuilder& CpuTime(uint64_t ms);
  SandboxBuilder& FileSizeLimit(uint64_t bytes);
  SandboxBuilder& OpenFilesLimit(uint32_t count);
  SandboxBuilder& TmpfsSize(uint64_t bytes);
  SandboxBuilder& OutputLimit(uint64_t bytes);
  SandboxBuilder& AcceptRlimitsOnly();
  SandboxBuilder& Preset(std::string name);
  SandboxBuilder& AllowSyscall(std::string name);
  SandboxBuilder& DenySyscall(std::string name);
  // Lifts one always-denied syscall. Visible in review through the token.
  SandboxBuilder& AllowDangerousSyscall(std::string name, const DangerousToken& token);
  // Hands `fd` (owned by the caller, must stay open during Run) to the jail as fd 3.
  SandboxBuilder& ChannelFd(int fd);

  // The spec, validated (ValidateSpec), or the first error recorded.
  Result<SandboxSpec> TryBuild() const;

 private:
  SandboxBuilder& Record(Error e);
  bool failed() const { return error_.has_value(); }

  SandboxSpec spec_;
  std::optional<Error> error_;
};

// ---------------------------------------------------------------------------------------
// Function profiles (docs/function-profile.md).

// A parsed profile: the spec (without a command) plus the dangerous switches it asks for,
// which the caller must grant explicitly with a DangerousToken.
struct Profile {
  SandboxSpec spec;
  bool host_network = false;
  std::vector<std::string> dangerous_syscalls;
};

inline constexpr size_t kMaxProfileBytes = 256 << 10;

// Parses a profile. Input must be ASCII (other text only through `\u` escapes) and at most
// kMaxProfileBytes. On failure the Error's detail holds every problem found, one
// `file:line:col: error: message` per line.
Result<Profile> ParseProfileToml(std::string_view text, std::string_view file);

// Reads and parses `path`.
Result<Profile> LoadProfile(const std::string& path);

// Parses the [profile] table of a function definition (runtime/function.h): the same
// rules and messages as ParseProfileToml, positions in the whole file; the file's other
// top-level keys are not looked at. No [profile] table is the default profile.
Result<Profile> ParseFunctionProfileToml(std::string_view text, std::string_view file);

// ---------------------------------------------------------------------------------------
// Running.

// What the jailed command did. Exactly one kind per run.
struct Outcome {
  enum class Kind : uint8_t {
    kExited,            // exit_code
    kSignaled,          // signal
    kTimeout,           // the wall-clock deadline passed; the jail was killed
    kOomKilled,         // the cgroup memory limit was hit
    kPidsLimit,         // the cgroup pids limit was hit; the jail was killed
    kSeccompViolation,  // syscall names the forbidden call; the jail was killed
    kOutputLimit,       // stdout + stderr passed the cap; the jail was killed
  };
  Kind kind = Kind::kExited;
  int exit_code = 0;
  int signal = 0;
  std::string syscall;
  uint64_t wall_ms = 0;
  uint64_t cpu_ms = 0;      // user + system of the whole jail
  uint64_t max_rss_kb = 0;  // peak resident set of the largest process (or the cgroup peak)

  // The exit status a shell would report: exit_code, or 128 + signal (SIGKILL for kinds
  // where the launcher killed the jail, SIGSYS for a seccomp violation).
  int ShellStatus() const;
};

// "exited", "signaled", "timeout", "oom", "pids", "seccomp", "output-limit".
std::string_view OutcomeKindName(Outcome::Kind kind) noexcept;

// Where the jail's standard streams come from and go to. The launcher copies the jail's
// stdout and stderr to these descriptors (-1 discards) while counting against the cap.
struct RunIo {
  int stdin_fd = 0;  // -1: /dev/null
  int stdout_fd = 1;
  int stderr_fd = 2;
};

// Runs `spec` to completion. Returns the outcome, or the Error of the first setup step that
// failed (nothing of the command ran then). The jail's cgroup is removed before returning.
// Same as PreparedJail::Prepare(spec) followed by Run(io).
// Thread-safety: see the file comment; the calling thread blocks SIGCHLD and SIGPIPE while
// the jail runs.
Result<Outcome> Run(const SandboxSpec& spec, const RunIo& io = {});

// A spec validated and compiled once (mount plan, id maps, capability state, seccomp BPF,
// cgroup layout) and launched many times: the parent-side work of a launch is paid once
// per function, not once per invocation. Move-only; Run() is const and may be called
// repeatedly, also from several threads (each run gets fresh namespaces and a fresh
// cgroup).
class PreparedJail {
 public:
  struct Plan;  // opaque: defined in sandbox/internal/launch.h

  // Errors: as ValidateSpec, plus a failed preparation step (e.g. seccomp compilation) or,
  // for CgroupMode::kRequired, no usable cgroup hierarchy.
  static Result<PreparedJail> Prepare(SandboxSpec spec);

  // As sandbox::Run.
  Result<Outcome> Run(const RunIo& io = {}) const;

  const SandboxSpec& spec() const;

  PreparedJail(PreparedJail&&) noexcept;
  PreparedJail& operator=(PreparedJail&&) noexcept;
  PreparedJail(const PreparedJail&) = delete;
  PreparedJail& operator=(const PreparedJail&) = delete;
  ~PreparedJail();

 private:
  friend class JailHost;
  explicit PreparedJail(std::shared_ptr<const Plan> plan);
  // Shared with the live jails started from it, which may outlive this object.
  std::shared_ptr<const Plan> plan_;
};

// ---------------------------------------------------------------------------------------
// Learning a least-privilege profile (fnjail profile learn; docs/sandbox.md).

// What a learning run saw.
struct LearnReport {
  Outcome outcome;                    // how the command ended
  std::vector<std::string> syscalls;  // every syscall it made (native names), sorted
  // Always-denied calls and argument shapes it tried ("io_uring_setup", "clone with
  // namespace flags"): answered with EPERM, reported, never granted.
  std::vector<std::string> denied;
  // Absolute in-jail paths it named (execve, open, stat, access, readlink, ... and the ELF
  // and #! interpreters of what it executed), sorted; relative paths are not recorded.
  std::vector<std::string> paths;
  std::vector<Bind> binds;  // the spec's binds those paths (and the cwd) go through
  bool used_tmp = false;    // a path under /tmp, or the cwd there
};

// Runs `spec` like Run(), but the allowlist answers every syscall with a ptrace stop
// (SECCOMP_RET_TRACE) that the launcher records before letting the call run; always-denied
// calls stop too and fail with EPERM instead of killing. Much slower than Run() (a stop per
// syscall). Errors: as Run(). Thread-safety: as Run().
Result<LearnReport> Learn(const SandboxSpec& spec, const RunIo& io = {});

// The smallest profile (TOML that ParseProfileToml accepts) that lets what `report` saw run
// under `spec`'s settings: preset "minimal" plus `allow` minus `deny` giving exactly the
// syscalls used, only the binds used, no /tmp unless used, and the spec's limits, network,
// environment and identity where they differ from the defaults. Pure.
std::string LearnedProfileToml(const SandboxSpec& spec, const LearnReport& report);

// The indexes of the `binds` that resolving the absolute in-jail `path` goes through, in
// the order met, following symlinks in bind sources the way the kernel would inside the
// jail (at most 40). Reads the host filesystem (lstat, readlink) only.
std::vector<size_t> BindsOnPath(const std::vector<Bind>& binds, const std::string& path);

// ---------------------------------------------------------------------------------------
// Warm start: jails started ahead of time and handed work later (docs/sandbox.md).

// Resource use of a jail so far (cgroup counters; /proc of the jail's init when the jail
// runs with rlimits only).
struct Usage {
  uint64_t cpu_ms = 0;          // user + system of the whole jail so far
  uint64_t memory_kb = 0;       // current memory charge
  uint64_t peak_memory_kb = 0;  // peak since start
};

struct StartOptions {
  // A host descriptor handed to the jail as fd 3 (overrides the spec's channel_fd); the
  // caller keeps ownership and must keep it open until Start() returns. -1: the spec's.
  int channel_fd = -1;
  // Wall-clock lifetime from the start; past it the jail is killed with outcome kTimeout.
  // 0: none (the holder enforces deadlines with Kill). The spec's timeout_ms bounds only
  // the setup of a started jail.
  uint64_t lifetime_ms = 0;
  // How much recent stdout + stderr output to keep for TakeOutput(); older bytes are
  // dropped. The spec's output cap applies to the output written between two TakeOutput()
  // calls: passing it cuts the excess and kills the jail (outcome kOutputLimit).
  size_t output_keep_bytes = 64 << 10;
};

class LiveJail;

// Owns the single launcher thread that clones, supervises (ptrace violation monitor,
// cgroup checks, deadlines, output caps) and reaps every jail it starts. Thread-safe front
// end: any thread may call Start() and use the LiveJails concurrently.
// Create it before the process starts other threads when possible: Create() blocks SIGCHLD
// for the calling thread, and threads created later inherit that mask, so the launcher
// thread hears of every jail's state change at once (otherwise it notices within 10 ms).
// The launcher thread waits only for its own children (__WNOTHREAD): other threads may
// fork and wait for their own children, but must not wait for "any child" (waitpid(-1)).
class JailHost {
 public:
  // Errors: the launcher thread's descriptors (eventfd, signalfd) could not be made.
  static Result<std::unique_ptr<JailHost>> Create();
  // Kills every live jail, reaps them, removes their cgroups, fails pending starts and
  // joins the launcher thread. LiveJails held elsewhere stay valid (ended).
  // REQUIRES: no Start() running concurrently (LiveJail calls may).
  ~JailHost();
  JailHost(const JailHost&) = delete;
  JailHost& operator=(const JailHost&) = delete;

  // Starts `prepared` (namespaces, mounts, cgroup, seccomp, exec of its argv) and returns
  // once the command is executing, or the setup Error (as sandbox::Run reports it). The
  // jail runs at once with stdin on /dev/null; it typically blocks reading fd 3 until
  // work arrives. `prepared` may be destroyed after Start() returns.
  Result<std::shared_ptr<LiveJail>> Start(const PreparedJail& prepared,
                                          const StartOptions& options = {});

  // How many started jails have not ended yet.
  size_t live_jails() const;

  struct Impl;  // defined in sandbox/jail_host.cc

 private:
  explicit JailHost(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A started jail. Thread-safe; shared between its holder and the launcher thread.
class LiveJail {
 public:
  struct State;  // defined in sandbox/jail_host.cc

  explicit LiveJail(std::shared_ptr<State> state);
  ~LiveJail();
  LiveJail(const LiveJail&) = delete;
  LiveJail& operator=(const LiveJail&) = delete;

  // Host pid of the jail's init (its pid 1). Do not signal it: the pid may be reused once
  // the jail ended; use Kill().
  pid_t pid() const;
  // Whether the jail ended and its outcome is known (cgroup already removed).
  bool ended() const;
  // Kills the whole jail; `reason` (e.g. kTimeout) is its outcome unless it already ended
  // by itself or was killed for another reason first. Idempotent, non-blocking.
  void Kill(Outcome::Kind reason);
  // Waits until the jail ended or `timeout` passed; the outcome as sandbox::Run reports it
  // (wall_ms counts from the start), or nullopt on timeout.
  std::optional<Outcome> WaitFor(std::chrono::milliseconds timeout);
  // The jail's resource use so far (final figures once it ended). A few small file reads.
  Usage SampleUsage() const;
  // The stdout + stderr bytes collected since the last call (at most output_keep_bytes,
  // the most recent ones), and restarts the output cap's count.
  std::string TakeOutput();

 private:
  std::shared_ptr<State> state_;
};

}  // namespace fnjail::sandbox
