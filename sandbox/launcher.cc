// The launcher: prepares every plan in the parent, clones into the namespaces, runs the
// child checklist, then supervises the jail (deadline, output cap, limits, violations).
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>

#include "sandbox/internal/launch.h"

namespace fnjail::sandbox {

namespace {

using internal::ChildFail;
using internal::ChildOk;
using internal::ChildStatus;

constexpr int kChannelFd = 3;  // the channel, when the spec has one
constexpr int kReportFd = 4;   // the report pipe in the child (close-on-exec)
constexpr int kHighFd = 16;    // parent descriptors handed to the child start here

// Descriptor numbers (>= kHighFd) the child moves into place; fresh for every run.
constexpr size_t kMaxJoinFds = 8;

struct ChildFds {
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  int channel_fd = -1;
  int report_fd = -1;
  int sync_fd = -1;
  // cgroup v1 `tasks` files, opened by the parent, into which the child writes "0".
  int join_fds[kMaxJoinFds] = {};
  size_t join_count = 0;
};

std::string ReadSmallFile(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  std::string out;
  if (!fd) return out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd.get(), buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

std::vector<std::string> ExecCandidates(const SandboxSpec& spec) {
  const std::string& cmd = spec.argv[0];
  if (cmd.find('/') != std::string::npos) return {cmd};
  std::string path = "/usr/local/bin:/usr/bin:/bin";
  for (const std::string& e : spec.env) {
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  }
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    const std::string dir = path.substr(start, end - start);
    if (!dir.empty() && dir[0] == '/') out.push_back(dir + "/" + cmd);
    start = end + 1;
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// The child checklist (nsjail's containProc). Async-signal-safe calls only, no allocation,
// no logging: a failing step writes {step, errno} to the report pipe and _exit()s.

[[noreturn]] void Report(int fd, ChildStatus status) noexcept {
  ssize_t n;
  do {
    n = write(fd, &status, sizeof(status));
  } while (n < 0 && errno == EINTR);
  _exit(127);
}

[[noreturn]] void ChildMain(const PreparedJail::Plan& p, const ChildFds& fds) noexcept {
  int report = fds.report_fd;
  // Die with the launcher; if it is already gone the sync read below sees EOF.
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) Report(report, ChildFail(Step::kSync));
  // PERF: the child joins its cgroup itself, before anything else: writing "0" (the
  // caller) to a v1 `tasks` file moves one thread without the global threadgroup lock,
  // whose write side waits for an RCU grace period (milliseconds) when the parent moves
  // the process through `cgroup.procs`. Single-threaded, the thread is the process.
  for (size_t i = 0; i < fds.join_count; ++i) {
    ssize_t w;
    do {
      w = write(fds.join_fds[i], "0", 1);
    } while (w < 0 && errno == EINTR);
    if (w != 1) Report(report, ChildFail(Step::kCgroup, static_cast<uint32_t>(i)));
  }
  // PERF: the costly namespaces (a network namespace takes milliseconds) are made here, by
  // the child, while the parent writes the id maps and sets up the cgroup; clone() itself
  // made only the user and pid namespaces. The new user namespace already gives the child
  // every capability it needs for this, maps or not.
  if (unshare(static_cast<int>(CLONE_NEWNS | p.unshare_flags)) != 0) {
    Report(report, ChildFail(Step::kClone));
  }
  // Wait until the parent wrote the id maps and attached the monitor.
  char go = 0;
  ssize_t n;
  do {
    n = read(fds.sync_fd, &go, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) {
    errno = EPIPE;
    Report(report, ChildFail(Step::kSync));
  }
  // Become the inside identity first: files and mount points created by the unmapped
  // launcher ids would fail with EOVERFLOW. Capabilities in the new namespace survive the
  // switch (the namespace's root id is never the launcher's) until the caps step drops them.
  ChildStatus s = internal::user_ns::ApplyInChild(p.user);
  if (!s.ok()) Report(report, s);
  s = internal::mount_ns::ApplyInChild(p.mount);
  if (!s.ok()) Report(report, s);
  s = internal::net_ns::ApplyInChild(p.net);
  if (!s.ok()) Report(report, s);
  // The parent joins us to the jail's cgroup while the steps above run (a cgroup v1 move
  // waits for an RCU grace period: overlapped, not serialized). Wait for it: that cgroup
  // becomes the namespace's root, and its limits hold before anything of the command runs.
  do {
    n = read(fds.sync_fd, &go, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) {
    errno = EPIPE;
    Report(report, ChildFail(Step::kSync));
  }
  if (unshare(CLONE_NEWCGROUP) != 0) Report(report, ChildFail(Step::kCgroupNs));
  s = internal::rlimits::ApplyInChild(p.rlimits);
  if (!s.ok()) Report(report, s);

  // Standard streams, the channel and the report pipe at fixed numbers. Every source is
  // >= kHighFd, so no dup2 below clobbers another source.
  if (dup2(fds.stdin_fd, 0) < 0 || dup2(fds.stdout_fd, 1) < 0 || dup2(fds.stderr_fd, 2) < 0) {
    Report(report, ChildFail(Step::kStdio));
  }
  if (fds.channel_fd >= 0 && dup2(fds.channel_fd, kChannelFd) < 0) {
    Report(report, ChildFail(Step::kStdio));
  }
  if (dup3(report, kReportFd, O_CLOEXEC) < 0) Report(report, ChildFail(Step::kStdio));
  report = kReportFd;
  // SECURITY: no host descriptor survives into the jail but stdio and the channel; the
  // report pipe closes itself on exec.
  if (fds.channel_fd < 0 && close_range(kChannelFd, kChannelFd, 0) != 0) {
    Report(report, ChildFail(Step::kCloseFds));
  }
  if (close_range(kReportFd + 1, ~0U, 0) != 0) Report(report, ChildFail(Step::kCloseFds));
  // SECURITY: a new session has no controlling terminal: no TIOCSTI into the caller's tty.
  if (setsid() < 0) Report(report, ChildFail(Step::kSetsid));

  if (chdir(p.spec.cwd.c_str()) != 0) Report(report, ChildFail(Step::kChdir));
  s = p.caps->ApplyInChild();
  if (!s.ok()) Report(report, s);

  // Signals: nothing blocked or ignored is inherited from the launcher.
  sigset_t none;
  sigemptyset(&none);
  if (sigprocmask(SIG_SETMASK, &none, nullptr) != 0) Report(report, ChildFail(Step::kSignals));
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);
  }

  // Resolve the command before the filter, so a missing binary is a setup failure.
  const char* command = nullptr;
  int find_errno = ENOENT;
  for (const std::string& c : p.candidates) {
    if (access(c.c_str(), X_OK) == 0) {
      command = c.c_str();
      break;
    }
    if (errno != ENOENT) find_errno = errno;
  }
  if (command == nullptr) {
    errno = find_errno;
    Report(report, ChildFail(Step::kFindCommand));
  }

  // Seccomp last: nothing after it but execve.
  s = internal::seccomp::ApplyInChild(p.filter);
  if (!s.ok()) Report(report, s);
  execve(command, p.argv.data(), p.envp.data());
  Report(report, ChildFail(Step::kExec));
}

// ---------------------------------------------------------------------------------------
// The parent side.

Result<UniqueFd> MoveHigh(int fd) {
  const int high = fcntl(fd, F_DUPFD_CLOEXEC, kHighFd);
  if (high < 0) return Fail(Step::kPipe, errno, "F_DUPFD_CLOEXEC");
  return UniqueFd(high);
}

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

Result<Pipe> MakePipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Fail(Step::kPipe, errno, "pipe2");
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// The go-byte channel: a socket, so that a write to a child that died raises no SIGPIPE
// in whichever thread releases it (MSG_NOSIGNAL).
Result<Pipe> MakeSyncChannel() {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return Fail(Step::kPipe, errno, "socketpair");
  }
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

bool SendGo(int fd) {
  const char go = 1;
  ssize_t n;
  do {
    n = send(fd, &go, 1, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n == 1;
}

// Kills and reaps a child that never got going.
void Abandon(pid_t pid) {
  kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, __WALL | __WNOTHREAD) < 0 && errno == EINTR) {
  }
}

void WriteAll(int fd, const char* data, size_t size) {
  while (fd >= 0 && size > 0) {
    const ssize_t n = write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a closed reader discards the rest
    data += n;
    size -= static_cast<size_t>(n);
  }
}

// sandbox::Run's output: copied to the caller's descriptors, cut at the cap.
class FdSink : public internal::OutputSink {
 public:
  FdSink(const RunIo& io, uint64_t cap) : io_(io), cap_(cap) {}
  bool Take(bool is_err, const char* data, size_t size) override {
    const uint64_t left = cap_ - std::min(cap_, seen_);
    seen_ += size;
    WriteAll(is_err ? io_.stderr_fd : io_.stdout_fd, data,
             static_cast<size_t>(std::min<uint64_t>(size, left)));
    return seen_ <= cap_;
  }

 private:
  RunIo io_;
  uint64_t cap_;
  uint64_t seen_ = 0;
};

// Whether `sig`, about to be delivered to the jail's init, would end it: its default
// action terminates and the process neither catches nor ignores it (/proc status masks).
bool FatalToInit(pid_t pid, int sig) {
  switch (sig) {
    case SIGCHLD:
    case SIGCONT:
    case SIGSTOP:
    case SIGTSTP:
    case SIGTTIN:
    case SIGTTOU:
    case SIGURG:
    case SIGWINCH:
      return false;
    default:
      break;
  }
  if (sig < 1 || sig > 64) return false;
  const std::string status = ReadSmallFile("/proc/" + std::to_string(pid) + "/status");
  const uint64_t bit = uint64_t{1} << (sig - 1);
  for (const char* key : {"SigCgt:", "SigIgn:"}) {
    const size_t at = status.find(key);
    if (at == std::string::npos) return false;
    const uint64_t mask = std::strtoull(status.c_str() + at + std::strlen(key), nullptr, 16);
    if ((mask & bit) != 0) return false;
  }
  return true;
}

int PollTimeout(std::optional<int64_t> wakeup) {
  if (!wakeup) return -1;
  return static_cast<int>(std::clamp<int64_t>(*wakeup - internal::NowMs(), 0, INT_MAX));
}

}  // namespace

namespace internal {

int64_t NowMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

SignalScope::SignalScope() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, &old_);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  fd_.reset(signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK));
}

SignalScope::~SignalScope() {
  // Consume a SIGPIPE raised while blocked, unless the caller had it blocked already.
  if (sigismember(&old_, SIGPIPE) == 0) {
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    const timespec zero{0, 0};
    while (sigtimedwait(&pipe, nullptr, &zero) > 0) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_, nullptr);
}

void SignalScope::Drain() const {
  signalfd_siginfo info;
  while (read(fd_.get(), &info, sizeof(info)) == sizeof(info)) {
  }
}

Result<Launched> Launch(const PreparedJail::Plan& p, int stdin_fd, int channel_fd,
                        const cgroup::Jail* cgroup) {
  Launched l;
  // The child's own way into a v1 cgroup (see ChildMain); v2 is joined by Release.
  std::vector<UniqueFd> join;
  if (cgroup != nullptr && cgroup->version() == cgroup::Version::kV1 &&
      cgroup->dirs().size() <= kMaxJoinFds) {
    for (const std::string& dir : cgroup->dirs()) {
      UniqueFd fd(open((dir + "/tasks").c_str(), O_WRONLY | O_CLOEXEC));
      if (!fd) return Fail(Step::kCgroup, errno, "open " + dir + "/tasks");
      join.push_back(std::move(fd));
    }
    l.self_joined = true;
  }
  // Descriptors for the child, all at or above kHighFd.
  auto report = MakePipe();
  auto sync = MakeSyncChannel();
  auto out = MakePipe();
  auto err = MakePipe();
  if (!report || !sync || !out || !err) return Fail(Step::kPipe, errno, "pipe2");
  UniqueFd devnull;
  if (stdin_fd < 0) {
    devnull.reset(open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!devnull) return Fail(Step::kPipe, errno, "/dev/null");
  }
  auto in_high = MoveHigh(stdin_fd < 0 ? devnull.get() : stdin_fd);
  auto out_high = MoveHigh(out->write.get());
  auto err_high = MoveHigh(err->write.get());
  auto report_high = MoveHigh(report->write.get());
  auto sync_high = MoveHigh(sync->read.get());
  if (!in_high || !out_high || !err_high || !report_high || !sync_high) {
    return Fail(Step::kPipe, errno, "F_DUPFD_CLOEXEC");
  }
  out->write.reset();
  err->write.reset();
  report->write.reset();
  sync->read.reset();
  std::optional<UniqueFd> channel_high;
  if (channel_fd >= 0) {
    auto c = MoveHigh(channel_fd);
    if (!c) return tl::unexpected(c.error());
    channel_high.emplace(std::move(*c));
  }
  ChildFds fds;
  fds.stdin_fd = in_high->get();
  fds.stdout_fd = out_high->get();
  fds.stderr_fd = err_high->get();
  fds.report_fd = report_high->get();
  fds.sync_fd = sync_high->get();
  fds.channel_fd = channel_high ? channel_high->get() : -1;
  for (const UniqueFd& j : join) fds.join_fds[fds.join_count++] = j.get();

  // Only the user and pid namespaces here (the child must be the new namespace's pid 1);
  // the child unshares the rest itself.
  const unsigned long flags = CLONE_NEWUSER | CLONE_NEWPID | SIGCHLD;
  const long rc = syscall(SYS_clone, flags, nullptr, nullptr, nullptr, nullptr);
  if (rc < 0) return Fail(Step::kClone, errno, "clone into new namespaces");
  if (rc == 0) ChildMain(p, fds);
  const pid_t pid = static_cast<pid_t>(rc);

  // The child's ends belong to the child now.
  in_high->reset();
  out_high->reset();
  err_high->reset();
  report_high->reset();
  sync_high->reset();
  if (channel_high) channel_high->reset();

  // A child that failed a step meanwhile is gone, which fails what we do to it: its step
  // is the real reason.
  const auto child_failure_or = [&](Error e) -> tl::unexpected<Error> {
    Abandon(pid);
    ChildStatus st;
    if (read(report->read.get(), &st, sizeof(st)) == sizeof(st) && !st.ok()) {
      return tl::unexpected(Error{st.step, st.err, mount_ns::Describe(p.mount, st)});
    }
    return tl::unexpected(std::move(e));
  };
  if (auto r = user_ns::FinishInParent(p.user, pid); !r) return child_failure_or(r.error());
  // The violation monitor: reports which syscall a seccomp kill was for. EXITKILL: if the
  // tracing thread dies, so does every traced process of the jail.
  long options = PTRACE_O_TRACEEXIT | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
                 PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL;
  // A learning filter answers with trace stops; without this option they would fail ENOSYS.
  if (p.filter.learn) options |= PTRACE_O_TRACESECCOMP;
  if (ptrace(PTRACE_SEIZE, pid, nullptr, reinterpret_cast<void*>(options)) != 0) {
    return child_failure_or(Error{Step::kPtrace, errno, "PTRACE_SEIZE"});
  }
  // Two go-bytes: the first starts the checklist, the second (Release) says the cgroup is
  // joined.
  if (!SendGo(sync->write.get())) {
    return child_failure_or(Error{Step::kSync, errno, "start the child"});
  }
  l.pid = pid;
  l.sync = std::move(sync->write);
  l.report = std::move(report->read);
  l.out = std::move(out->read);
  l.err = std::move(err->read);
  for (const int fd : {l.out.get(), l.err.get(), l.report.get()}) {
    fcntl(fd, F_SETFL, O_NONBLOCK);
  }
  return l;
}

Result<std::optional<cgroup::Jail>> MakeCgroup(const PreparedJail::Plan& p) {
  if (!p.layout) return std::optional<cgroup::Jail>();
  auto jail = cgroup::Jail::Create(*p.layout, p.spec.limits);
  if (jail) return std::optional<cgroup::Jail>(std::move(*jail));
  if (p.spec.cgroup != CgroupMode::kRequired) return std::optional<cgroup::Jail>();
  Error e = jail.error();
  e.detail += "; without a usable cgroup the jail refuses to run unless the profile "
              "accepts rlimits only";
  return tl::unexpected(e);
}

Result<void> Release(pid_t pid, const std::vector<std::string>& cgroup_dirs, UniqueFd sync) {
  if (auto r = cgroup::JoinDirs(cgroup_dirs, pid); !r) return r;
  if (!SendGo(sync.get())) return Fail(Step::kSync, errno, "release the child");
  return {};
}

Supervisor::Supervisor(const PreparedJail::Plan& plan, Launched launched, OutputSink& sink,
                       std::optional<int64_t> deadline_ms)
    : plan_(plan),
      init_(launched.pid),
      sink_(sink),
      cgroup_(std::move(launched.cgroup)),
      report_(std::move(launched.report)),
      out_(std::move(launched.out)),
      err_(std::move(launched.err)),
      start_ms_(NowMs()),
      last_check_ms_(start_ms_),
      deadline_(deadline_ms) {}

void Supervisor::KillJail(std::optional<Outcome::Kind> reason) {
  if (reason && !kill_reason_ && !violation_ && !fatal_signal_) kill_reason_ = reason;
  if (!killed_ && !reaped_) {
    // The init of the pid namespace: its death takes every process of the jail with it.
    kill(init_, SIGKILL);
    killed_ = true;
  }
}

void Supervisor::AddPollFds(std::vector<pollfd>& fds) const {
  if (report_) fds.push_back({report_.get(), POLLIN, 0});
  if (out_) fds.push_back({out_.get(), POLLIN, 0});
  if (err_) fds.push_back({err_.get(), POLLIN, 0});
  if (cgroup_) {
    for (const auto& e : cgroup_->event_fds()) fds.push_back({e.fd, e.events, 0});
  }
}

void Supervisor::OnReady(int fd) {
  if (report_ && fd == report_.get()) {
    ChildStatus st;
    const ssize_t n = read(report_.get(), &st, sizeof(st));
    if (n < 0 && errno == EAGAIN) return;
    if (n == sizeof(st)) {
      setup_failure_ = st;
    } else if (n == 0) {
      exec_confirmed_ = true;
    }
    report_.reset();
  } else if (out_ && fd == out_.get()) {
    Forward(out_, false);
  } else if (err_ && fd == err_.get()) {
    Forward(err_, true);
  } else {
    // A cgroup limit event: re-read to re-arm, then look at the counters.
    char buf[256];
    lseek(fd, 0, SEEK_SET);
    [[maybe_unused]] const ssize_t ignored = read(fd, buf, sizeof(buf));
    CheckLimits();
  }
}

void Supervisor::OnWaitStatus(pid_t pid, int status, const rusage& usage) {
  if (WIFSTOPPED(status)) {
    OnStop(pid, status);
    return;
  }
  if (pid == init_) {
    init_status_ = status;
    init_rusage_ = usage;
    reaped_ = true;
  }
}

void Supervisor::Tick(int64_t now_ms) {
  if (!killed_ && deadline_ && now_ms >= *deadline_) KillJail(Outcome::Kind::kTimeout);
  if (!killed_ && now_ms - last_check_ms_ >= check_interval_ms_) {
    last_check_ms_ = now_ms;
    CheckLimits();
  }
}

std::optional<int64_t> Supervisor::NextWakeup() const {
  // Not every kernel notifies pids.events on cgroup v1, and a SIGCHLD may be taken by
  // another thread's signalfd: look regularly.
  std::optional<int64_t> at = last_check_ms_ + check_interval_ms_;
  if (killed_) at = NowMs() + kLimitCheckMs;
  if (deadline_ && !killed_) at = std::min(*at, *deadline_);
  return at;
}

Result<Outcome> Supervisor::Finish(int64_t end_ms) {
  // Every writer is dead: drain what is left in the pipes.
  draining_ = true;
  while (out_ || err_) {
    if (out_) Forward(out_, false);
    if (err_) Forward(err_, true);
  }
  if (report_ && !setup_failure_ && !exec_confirmed_) {
    ChildStatus st;
    if (read(report_.get(), &st, sizeof(st)) == sizeof(st)) setup_failure_ = st;
  }
  report_.reset();
  Result<Outcome> result = MakeOutcome(end_ms - start_ms_);
  if (setup_failure_ && !violation_) {
    result = tl::unexpected(Error{setup_failure_->step, setup_failure_->err,
                                  mount_ns::Describe(plan_.mount, *setup_failure_)});
  }
  if (cgroup_) cgroup_->Remove();
  return result;
}

void Supervisor::Forward(UniqueFd& from, bool is_err) {
  char buf[64 << 10];
  const ssize_t n = read(from.get(), buf, sizeof(buf));
  if (n <= 0) {
    // While draining after the jail is gone, "nothing now" means "nothing ever".
    if (n == 0 || draining_ || (errno != EAGAIN && errno != EINTR)) from.reset();
    return;
  }
  if (!sink_.Take(is_err, buf, static_cast<size_t>(n))) KillJail(Outcome::Kind::kOutputLimit);
}

void Supervisor::CheckLimits() {
  if (!cgroup_) return;
  const cgroup::Stats st = cgroup::ReadLimitEvents(cgroup_->paths());
  if (st.oom_kills > 0) KillJail(Outcome::Kind::kOomKilled);
  if (st.pids_max_events > 0) KillJail(Outcome::Kind::kPidsLimit);
}

void Supervisor::OnStop(pid_t pid, int status) {
  const int event = (status >> 16) & 0xff;
  if (event == PTRACE_EVENT_EXIT) {
    unsigned long code = 0;
    ptrace(PTRACE_GETEVENTMSG, pid, nullptr, &code);
    const int exit_status = static_cast<int>(code);
    if (WIFSIGNALED(exit_status) && WTERMSIG(exit_status) == SIGSYS && !violation_) {
      // A seccomp kill restores the syscall-entry registers before the fatal SIGSYS, so
      // at this exit stop the syscall number is still in orig_rax.
#if defined(__x86_64__)
      user_regs_struct regs{};
      if (ptrace(PTRACE_GETREGS, pid, nullptr, &regs) == 0) {
        violation_ = seccomp::SyscallName(static_cast<long>(regs.orig_rax));
      } else {
        violation_ = "unknown";
      }
#else
      violation_ = "unknown";
#endif
      KillJail(std::nullopt);
    }
    ptrace(PTRACE_CONT, pid, nullptr, nullptr);
  } else if (event == PTRACE_EVENT_SECCOMP) {
    if (learner_ != nullptr) learner_->OnSeccompStop(pid);
    ptrace(PTRACE_CONT, pid, nullptr, nullptr);
  } else if (event != 0) {
    if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK ||
        event == PTRACE_EVENT_CLONE) {
      unsigned long child = 0;
      if (ptrace(PTRACE_GETEVENTMSG, pid, nullptr, &child) == 0) {
        new_pids_.push_back(static_cast<pid_t>(child));
      }
    }
    // fork/vfork/clone events and the initial stop of an auto-attached child. Group stops
    // are resumed too: a jail cannot park itself stopped past its deadline unobserved.
    ptrace(PTRACE_CONT, pid, nullptr, nullptr);
  } else {
    const int sig = WSTOPSIG(status);
    if (pid == init_ && !fatal_signal_ && FatalToInit(pid, sig)) {
      // The jail's init is traced, and the kernel keeps a traced init unkillable by its own
      // faults: it would retry the faulting instruction forever. What would have killed it
      // untraced kills the jail now, reported as that signal.
      fatal_signal_ = sig;
      KillJail(std::nullopt);
    }
    // A signal on its way: deliver it unchanged.
    ptrace(PTRACE_CONT, pid, nullptr, reinterpret_cast<void*>(static_cast<intptr_t>(sig)));
  }
}

Outcome Supervisor::MakeOutcome(int64_t wall_ms) {
  Outcome o;
  o.wall_ms = static_cast<uint64_t>(std::max<int64_t>(wall_ms, 0));
  const auto tv_ms = [](const timeval& tv) {
    return static_cast<uint64_t>(tv.tv_sec) * 1000 + static_cast<uint64_t>(tv.tv_usec) / 1000;
  };
  o.cpu_ms = tv_ms(init_rusage_.ru_utime) + tv_ms(init_rusage_.ru_stime);
  o.max_rss_kb = static_cast<uint64_t>(init_rusage_.ru_maxrss);
  if (cgroup_) {
    const cgroup::Stats st = cgroup_->ReadStats();
    if (st.cpu_usage_ns != 0) o.cpu_ms = st.cpu_usage_ns / 1'000'000;
    // With a cgroup its peak is the jail's own memory. The rusage peak would also count
    // the launcher's pages the child shared between clone() and execve().
    if (st.memory_peak_bytes != 0) o.max_rss_kb = st.memory_peak_bytes / 1024;
    if (!violation_ && !kill_reason_) {
      // The kernel counts an OOM kill only after sending the SIGKILL, so a fast reap can
      // beat the counter: a SIGKILL nobody here sent, in a cgroup that hit its memory
      // limit, is the OOM killer too.
      const bool foreign_sigkill = !killed_ && WIFSIGNALED(init_status_) &&
                                   WTERMSIG(init_status_) == SIGKILL;
      if (st.oom_kills > 0 || (foreign_sigkill && st.memory_limit_hits > 0)) {
        kill_reason_ = Outcome::Kind::kOomKilled;
      } else if (st.pids_max_events > 0) {
        kill_reason_ = Outcome::Kind::kPidsLimit;
      }
    }
  }
  if (violation_) {
    o.kind = Outcome::Kind::kSeccompViolation;
    o.syscall = *violation_;
    o.signal = SIGSYS;
  } else if (kill_reason_) {
    o.kind = *kill_reason_;
    o.signal = SIGKILL;
  } else if (fatal_signal_) {
    o.kind = Outcome::Kind::kSignaled;
    o.signal = *fatal_signal_;
  } else if (WIFEXITED(init_status_)) {
    o.kind = Outcome::Kind::kExited;
    o.exit_code = WEXITSTATUS(init_status_);
  } else {
    o.kind = Outcome::Kind::kSignaled;
    o.signal = WIFSIGNALED(init_status_) ? WTERMSIG(init_status_) : 0;
  }
  return o;
}

}  // namespace internal

PreparedJail::PreparedJail(std::shared_ptr<const Plan> plan) : plan_(std::move(plan)) {}
PreparedJail::PreparedJail(PreparedJail&&) noexcept = default;
PreparedJail& PreparedJail::operator=(PreparedJail&&) noexcept = default;
PreparedJail::~PreparedJail() = default;

const SandboxSpec& PreparedJail::spec() const { return plan_->spec; }

namespace internal {

Result<std::shared_ptr<const PreparedJail::Plan>> MakePlan(SandboxSpec spec, seccomp::Mode mode) {
  if (auto r = ValidateSpec(spec); !r) return tl::unexpected(r.error());
  auto p = std::make_shared<PreparedJail::Plan>();
  p->spec = std::move(spec);
  const SandboxSpec& s = p->spec;
  p->user = user_ns::PrepareInParent(s);
  auto mount = mount_ns::PrepareInParent(s);
  if (!mount) return tl::unexpected(mount.error());
  p->mount = std::move(*mount);
  p->net = net_ns::PrepareInParent(s);
  p->unshare_flags = net_ns::CloneFlags(p->net);
  p->rlimits = rlimits::PrepareInParent(s);
  auto caps = caps::Plan::PrepareInParent();
  if (!caps) return tl::unexpected(caps.error());
  p->caps.emplace(std::move(*caps));
  auto filter = seccomp::PrepareInParent(s, mode);
  if (!filter) return tl::unexpected(filter.error());
  p->filter = std::move(*filter);
  p->candidates = ExecCandidates(s);
  for (const std::string& a : s.argv) p->argv.push_back(const_cast<char*>(a.c_str()));
  p->argv.push_back(nullptr);
  for (const std::string& e : s.env) p->envp.push_back(const_cast<char*>(e.c_str()));
  p->envp.push_back(nullptr);
  auto layout = cgroup::DetectLayout();
  if (layout) {
    cgroup::CleanStale(*layout);
    p->layout = std::move(*layout);
  } else if (s.cgroup == CgroupMode::kRequired) {
    Error e = layout.error();
    e.detail += "; without a usable cgroup the jail refuses to run unless the profile accepts "
                "rlimits only";
    return tl::unexpected(e);
  }
  return std::shared_ptr<const PreparedJail::Plan>(std::move(p));
}

Result<Outcome> RunPlan(const PreparedJail::Plan& p, const RunIo& io, Learner* learner) {
  SignalScope signals;
  if (!signals.ok()) return Fail(Step::kPipe, errno, "signalfd");
  auto cgroup = MakeCgroup(p);
  if (!cgroup) return tl::unexpected(cgroup.error());
  auto launched = Launch(p, io.stdin_fd, p.spec.channel_fd, *cgroup ? &**cgroup : nullptr);
  if (!launched) return tl::unexpected(launched.error());
  Result<void> released =
      Release(launched->pid,
              *cgroup && !launched->self_joined ? (*cgroup)->dirs() : std::vector<std::string>(),
              std::move(launched->sync));
  if (!released) {
    Abandon(launched->pid);
    ChildStatus st;
    if (read(launched->report.get(), &st, sizeof(st)) == sizeof(st) && !st.ok()) {
      return tl::unexpected(Error{st.step, st.err, mount_ns::Describe(p.mount, st)});
    }
    return tl::unexpected(released.error());
  }
  launched->cgroup = std::move(*cgroup);
  FdSink sink(io, p.spec.limits.output_bytes);
  Supervisor supervisor(p, std::move(*launched), sink,
                        NowMs() + static_cast<int64_t>(p.spec.limits.timeout_ms));
  supervisor.SetLearner(learner);
  std::vector<pollfd> fds;
  while (!supervisor.reaped()) {
    fds.clear();
    fds.push_back({signals.fd(), POLLIN, 0});
    supervisor.AddPollFds(fds);
    const int ready = poll(fds.data(), fds.size(), PollTimeout(supervisor.NextWakeup()));
    if (ready < 0 && errno != EINTR) {
      const int e = errno;
      supervisor.KillJail(std::nullopt);
      Abandon(supervisor.init());
      return Fail(Step::kWait, e, "poll");
    }
    for (const pollfd& f : fds) {
      if (f.revents == 0 || f.fd == signals.fd()) continue;
      supervisor.OnReady(f.fd);
    }
    // Every state change of this thread's children and tracees (the jail's processes);
    // also without a SIGCHLD, which another thread's signalfd may have taken.
    signals.Drain();
    for (;;) {
      int status = 0;
      rusage ru{};
      const pid_t w = wait4(-1, &status, WNOHANG | __WALL | __WNOTHREAD, &ru);
      if (w <= 0) break;
      supervisor.OnWaitStatus(w, status, ru);
    }
    supervisor.Tick(NowMs());
  }
  return supervisor.Finish(NowMs());
}

}  // namespace internal

Result<PreparedJail> PreparedJail::Prepare(SandboxSpec spec) {
  auto plan = internal::MakePlan(std::move(spec), internal::seccomp::Mode::kEnforce);
  if (!plan) return tl::unexpected(plan.error());
  return PreparedJail(std::move(*plan));
}

Result<Outcome> Run(const SandboxSpec& spec, const RunIo& io) {
  auto prepared = PreparedJail::Prepare(spec);
  if (!prepared) return tl::unexpected(prepared.error());
  return prepared->Run(io);
}

Result<Outcome> PreparedJail::Run(const RunIo& io) const {
  return internal::RunPlan(*plan_, io, nullptr);
}

}  // namespace fnjail::sandbox
