// Launching and supervising one jail: shared by sandbox::Run (one jail, the calling thread)
// and JailHost (many jails, one launcher thread).
#pragma once

#include <poll.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sandbox/internal/caps.h"
#include "sandbox/internal/cgroup.h"
#include "sandbox/internal/child_status.h"
#include "sandbox/internal/learn.h"
#include "sandbox/internal/mount_ns.h"
#include "sandbox/internal/net_ns.h"
#include "sandbox/internal/rlimits.h"
#include "sandbox/internal/seccomp.h"
#include "sandbox/internal/user_ns.h"
#include "sandbox/sandbox.h"
#include "sandbox/unique_fd.h"

namespace fnjail::sandbox {

// Everything the child needs, computed once before any clone(). The child only reads it.
struct PreparedJail::Plan {
  SandboxSpec spec;
  internal::user_ns::Plan user;
  internal::mount_ns::Plan mount;
  internal::net_ns::Plan net;
  internal::rlimits::Plan rlimits;
  std::optional<internal::caps::Plan> caps;
  internal::seccomp::Plan filter;
  std::vector<std::string> candidates;  // where argv[0] may be inside the jail
  std::vector<char*> argv;              // into spec.argv
  std::vector<char*> envp;              // into spec.env
  std::optional<internal::cgroup::Layout> layout;
  unsigned long unshare_flags = 0;  // what the child unshares beyond CLONE_NEWNS
};

namespace internal {

// How often a supervisor looks at the cgroup counters and, in case a SIGCHLD went to
// another thread, polls for state changes of its processes: sandbox::Run's jails, and a
// JailHost's (which may hold thousands of mostly idle jails: OOM events are notified, the
// periodic look is for pids.events, which cgroup v1 may not notify).
inline constexpr int kLimitCheckMs = 10;
inline constexpr int kHostLimitCheckMs = 100;

int64_t NowMs();

// Blocks SIGCHLD and SIGPIPE for the calling thread and reads SIGCHLD through a signalfd
// (SIGPIPE stays blocked: a write to a closed reader returns EPIPE). Restores the mask on
// destruction.
class SignalScope {
 public:
  SignalScope();
  SignalScope(const SignalScope&) = delete;
  SignalScope& operator=(const SignalScope&) = delete;
  ~SignalScope();
  int fd() const { return fd_.get(); }
  bool ok() const { return fd_.valid(); }
  // Empties the signalfd.
  void Drain() const;

 private:
  sigset_t old_{};
  UniqueFd fd_;
};

// Validates `spec` and computes everything a launch needs (PreparedJail::Prepare; `mode`
// kLearn for fnjail profile learn).
Result<std::shared_ptr<const PreparedJail::Plan>> MakePlan(SandboxSpec spec, seccomp::Mode mode);

// A jail whose init is past clone(), traced and running its checklist up to the point
// where it waits to be released into its cgroup.
struct Launched {
  pid_t pid = -1;
  std::optional<cgroup::Jail> cgroup;  // set by the caller (MakeCgroup)
  bool self_joined = false;  // the child joins the cgroup itself (v1): Release must not
  UniqueFd sync;    // the second go-byte goes here (Release)
  UniqueFd report;  // EOF at exec; a ChildStatus when a step failed
  UniqueFd out;     // the jail's stdout
  UniqueFd err;     // the jail's stderr
};

// A launch in three calls, so the slow cgroup work stays off a JailHost's launcher thread:
//  1. MakeCgroup (any thread): the jail's cgroup, or none when the plan has no cgroup
//     layout or accepts rlimits only. Errors: kRequired and no cgroup.
//  2. Launch (the tracing thread): pipes, clone into new user and pid namespaces (the
//     child joins its v1 cgroup itself, then unshares mount, network, IPC and UTS), id
//     maps, the violation monitor, the first go-byte. `stdin_fd` < 0 means /dev/null;
//     `channel_fd` < 0 means no fd 3; `cgroup` may be null. The calling thread becomes the
//     jail's tracer and parent: it alone may wait for it (with __WNOTHREAD).
//  3. Release (any thread): joins the child to `cgroup_dirs` (empty when it joined itself)
//     and sends the second go-byte. On failure the caller kills the child (its own report
//     may hold the real reason).
Result<Launched> Launch(const PreparedJail::Plan& plan, int stdin_fd, int channel_fd,
                        const cgroup::Jail* cgroup);
Result<std::optional<cgroup::Jail>> MakeCgroup(const PreparedJail::Plan& plan);
Result<void> Release(pid_t pid, const std::vector<std::string>& cgroup_dirs, UniqueFd sync);

// Where a supervised jail's output goes.
class OutputSink {
 public:
  virtual ~OutputSink() = default;
  // Takes `size` bytes the jail wrote (stdout, or stderr when `is_err`). Returns false when
  // the output cap was passed: the caller kills the jail (the sink keeps only what fit).
  virtual bool Take(bool is_err, const char* data, size_t size) = 0;
};

// Supervises one launched jail: its pipes, cgroup events, ptrace stops, deadline and
// limits. Driven by a poll loop of its owner thread (the tracer).
class Supervisor {
 public:
  // `deadline_ms` is absolute (NowMs); nullopt: none.
  Supervisor(const PreparedJail::Plan& plan, Launched launched, OutputSink& sink,
             std::optional<int64_t> deadline_ms);
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  pid_t init() const { return init_; }
  bool reaped() const { return reaped_; }
  // The command is executing (the report pipe closed without a failure).
  bool exec_confirmed() const { return exec_confirmed_; }
  const std::optional<cgroup::Jail>& cgroup() const { return cgroup_; }

  void SetDeadline(std::optional<int64_t> deadline_ms) { deadline_ = deadline_ms; }
  void SetCheckInterval(int ms) { check_interval_ms_ = ms; }
  // Records a learning jail's trace stops (not owned; may be null).
  void SetLearner(Learner* learner) { learner_ = learner; }

  // Kills the jail's init (and so its pid namespace). `reason` becomes the outcome unless
  // one is already known.
  void KillJail(std::optional<Outcome::Kind> reason);

  // Appends the descriptors to poll; `owners` gets `this` for each.
  void AddPollFds(std::vector<pollfd>& fds) const;
  // Handles a ready descriptor added by AddPollFds.
  void OnReady(int fd);
  // Handles a state change reported by wait4 for a process of this jail.
  void OnWaitStatus(pid_t pid, int status, const rusage& usage);
  // Deadline and periodic limit checks.
  void Tick(int64_t now_ms);
  // When Tick wants to run next (absolute ms), or nullopt.
  std::optional<int64_t> NextWakeup() const;

  // pids of new processes seen through fork/clone events since the last call.
  std::vector<pid_t> TakeNewPids() { return std::exchange(new_pids_, {}); }

  // After reaped(): drains the pipes, removes the cgroup and returns the outcome (or the
  // setup failure).
  Result<Outcome> Finish(int64_t end_ms);

 private:
  void Forward(UniqueFd& from, bool is_err);
  void CheckLimits();
  void OnStop(pid_t pid, int status);
  Outcome MakeOutcome(int64_t wall_ms);

  const PreparedJail::Plan& plan_;
  pid_t init_;
  OutputSink& sink_;
  std::optional<cgroup::Jail> cgroup_;
  UniqueFd report_;
  UniqueFd out_;
  UniqueFd err_;
  int64_t start_ms_;
  int64_t last_check_ms_;
  std::optional<int64_t> deadline_;
  int check_interval_ms_ = kLimitCheckMs;
  bool draining_ = false;
  bool killed_ = false;
  bool reaped_ = false;
  bool exec_confirmed_ = false;
  std::optional<ChildStatus> setup_failure_;
  int init_status_ = 0;
  rusage init_rusage_{};
  std::optional<Outcome::Kind> kill_reason_;
  std::optional<std::string> violation_;
  std::optional<int> fatal_signal_;
  std::vector<pid_t> new_pids_;
  Learner* learner_ = nullptr;
};

// Launches `plan` and supervises it to the end in the calling thread (sandbox::Run).
Result<Outcome> RunPlan(const PreparedJail::Plan& plan, const RunIo& io, Learner* learner);

}  // namespace internal
}  // namespace fnjail::sandbox
