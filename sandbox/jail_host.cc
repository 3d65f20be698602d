// JailHost and LiveJail: one launcher thread starts, supervises and reaps many jails;
// other threads start jails, hand them work through their channel and collect outcomes.
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "sandbox/internal/launch.h"

namespace fnjail::sandbox {

using internal::NowMs;

// What the holder and the launcher thread share about one jail. `mu` guards everything
// mutable; the launcher thread is the only writer of `ended` and `outcome`.
struct LiveJail::State {
  pid_t pid = -1;
  std::shared_ptr<const PreparedJail::Plan> plan;
  std::optional<internal::cgroup::Paths> cgroup;  // counters for SampleUsage
  uint64_t output_cap = 0;
  size_t output_keep = 0;
  JailHost::Impl* host = nullptr;  // valid while !ended (the host ends every jail first)

  mutable std::mutex mu;
  std::condition_variable cv;
  bool ended = false;
  Outcome outcome;
  std::string output;         // the most recent output_keep bytes
  uint64_t output_count = 0;  // bytes written since the last TakeOutput
  bool kill_requested = false;
  Outcome::Kind kill_reason = Outcome::Kind::kSignaled;  // valid when kill_requested

  // SampleUsage's three counter files, opened on first use and re-read with pread at
  // offset 0 (a cgroup file renders its value afresh on each read from the start): an
  // invocation then costs three reads, not six path walks, opens and closes.
  mutable std::mutex usage_mu;
  mutable bool usage_opened = false;
  mutable UniqueFd cpu_fd;      // v1 cpuacct.usage (ns), v2 cpu.stat (usage_usec)
  mutable UniqueFd memory_fd;   // v1 memory.usage_in_bytes, v2 memory.current
  mutable UniqueFd peak_fd;     // v1 memory.max_usage_in_bytes, v2 memory.peak
};

namespace {

// A live jail's output: kept in its State, counted against the cap since the last take.
class StateSink : public internal::OutputSink {
 public:
  explicit StateSink(LiveJail::State& state) : state_(state) {}
  bool Take(bool /*is_err*/, const char* data, size_t size) override {
    std::lock_guard lock(state_.mu);
    const uint64_t left = state_.output_cap - std::min(state_.output_cap, state_.output_count);
    state_.output_count += size;
    state_.output.append(data, static_cast<size_t>(std::min<uint64_t>(size, left)));
    if (state_.output.size() > state_.output_keep) {
      state_.output.erase(0, state_.output.size() - state_.output_keep);
    }
    return state_.output_count <= state_.output_cap;
  }

 private:
  LiveJail::State& state_;
};

// The value after `key` in a /proc status file, or 0.
uint64_t StatusField(const std::string& status, const char* key) {
  const size_t at = status.find(key);
  if (at == std::string::npos) return 0;
  return std::strtoull(status.c_str() + at + std::strlen(key), nullptr, 10);
}

std::string ReadProcFile(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  std::string out;
  if (!fd) return out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd.get(), buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

// The text of an open cgroup counter file, read from its start; empty if unreadable.
std::string PreadAll(const UniqueFd& fd) {
  std::string out;
  if (!fd) return out;
  char buf[1024];
  off_t at = 0;
  ssize_t n;
  while ((n = pread(fd.get(), buf, sizeof(buf), at)) > 0) {
    out.append(buf, static_cast<size_t>(n));
    at += n;
  }
  return out;
}

uint64_t FirstNumber(const std::string& text) { return std::strtoull(text.c_str(), nullptr, 10); }

// `key value` lines (cgroup v2 cpu.stat): the value of `key`, 0 if absent.
uint64_t KeyedNumber(const std::string& text, std::string_view key) {
  size_t at = 0;
  while (at < text.size()) {
    const size_t eol = std::min(text.find('\n', at), text.size());
    const std::string_view line(text.data() + at, eol - at);
    if (line.size() > key.size() && line.substr(0, key.size()) == key &&
        line[key.size()] == ' ') {
      return std::strtoull(text.c_str() + at + key.size() + 1, nullptr, 10);
    }
    at = eol + 1;
  }
  return 0;
}

UniqueFd OpenCounter(const std::string& path) {
  return UniqueFd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
}

Error ShuttingDown() { return Error{Step::kClone, ECANCELED, "the jail host is shutting down"}; }

}  // namespace

struct JailHost::Impl {
  // What the launcher thread hands back once the child is cloned and traced: the caller
  // joins it to its cgroup and releases it (off the launcher thread: a cgroup v1 move can
  // wait milliseconds for an RCU grace period).
  struct Cloned {
    std::shared_ptr<LiveJail::State> state;
    UniqueFd sync;
    bool self_joined = false;
  };

  // A Start() waiting for the launcher thread.
  struct StartRequest {
    std::shared_ptr<const PreparedJail::Plan> plan;
    StartOptions options;
    std::optional<internal::cgroup::Jail> cgroup;  // made by the caller
    std::promise<Result<Cloned>> cloned;
    std::promise<Result<std::shared_ptr<LiveJail>>> reply;
  };

  // A jail the launcher thread supervises. Touched by the launcher thread only.
  struct Entry {
    std::shared_ptr<LiveJail::State> state;
    std::unique_ptr<StateSink> sink;
    std::unique_ptr<internal::Supervisor> supervisor;
    std::optional<std::promise<Result<std::shared_ptr<LiveJail>>>> starting;
    StartOptions options;
    std::unordered_set<pid_t> tracees;  // other live processes of the jail
  };

  UniqueFd wake;  // eventfd: requests are queued
  std::unique_ptr<internal::SignalScope> signals;  // made on the launcher thread
  std::thread thread;

  mutable std::mutex mu;  // guards the queues, stopping and live
  std::deque<std::unique_ptr<StartRequest>> starts;
  std::vector<std::shared_ptr<LiveJail::State>> kills;
  bool stopping = false;
  size_t live = 0;

  // Launcher thread only.
  std::map<pid_t, std::unique_ptr<Entry>> entries;  // by init pid
  std::unordered_map<pid_t, Entry*> by_pid;        // every known pid of every jail

  void Wake() const {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = write(wake.get(), &one, sizeof(one));
  }

  void Main(std::promise<Result<void>>& ready);
  void StartOne(std::unique_ptr<StartRequest> request);
  void ReapAll();
  Entry* FindEntry(pid_t pid);
  void FinishEntry(Entry& entry);
  void HandleQueues();
};

void JailHost::Impl::Main(std::promise<Result<void>>& ready) {
  // SIGCHLD through a signalfd; SIGPIPE blocked for good on this thread.
  signals = std::make_unique<internal::SignalScope>();
  if (!signals->ok()) {
    ready.set_value(Fail(Step::kPipe, errno, "signalfd"));
    return;
  }
  ready.set_value({});
  std::vector<pollfd> fds;
  std::vector<Entry*> owners;
  for (;;) {
    HandleQueues();
    {
      std::lock_guard lock(mu);
      if (stopping && entries.empty()) break;
    }
    fds.clear();
    owners.clear();
    fds.push_back({wake.get(), POLLIN, 0});
    fds.push_back({signals->fd(), POLLIN, 0});
    owners.resize(2, nullptr);
    std::optional<int64_t> wakeup;
    for (auto& [pid, entry] : entries) {
      entry->supervisor->AddPollFds(fds);
      owners.resize(fds.size(), entry.get());
      if (auto at = entry->supervisor->NextWakeup()) {
        wakeup = wakeup ? std::min(*wakeup, *at) : *at;
      }
    }
    int timeout = -1;
    if (wakeup) timeout = static_cast<int>(std::clamp<int64_t>(*wakeup - NowMs(), 0, 1000));
    const int ready_count = poll(fds.data(), fds.size(), timeout);
    if (ready_count < 0 && errno != EINTR) {
      // Nothing sensible to do but retry; never spin at full speed.
      poll(nullptr, 0, internal::kLimitCheckMs);
    }
    if (fds[0].revents != 0) {
      uint64_t count;
      [[maybe_unused]] const ssize_t n = read(wake.get(), &count, sizeof(count));
    }
    for (size_t i = 2; i < fds.size(); ++i) {
      if (fds[i].revents != 0) owners[i]->supervisor->OnReady(fds[i].fd);
    }
    signals->Drain();
    ReapAll();
    const int64_t now = NowMs();
    std::vector<Entry*> done;
    for (auto& [pid, entry] : entries) {
      internal::Supervisor& s = *entry->supervisor;
      s.Tick(now);
      if (entry->starting && s.exec_confirmed() && !s.reaped()) {
        // Running: the setup bound gives way to the holder's lifetime.
        std::optional<int64_t> deadline;
        if (entry->options.lifetime_ms > 0) {
          deadline = now + static_cast<int64_t>(entry->options.lifetime_ms);
        }
        s.SetDeadline(deadline);
        entry->starting->set_value(std::make_shared<LiveJail>(entry->state));
        entry->starting.reset();
      }
      if (s.reaped()) done.push_back(entry.get());
    }
    for (Entry* e : done) FinishEntry(*e);
  }
}

void JailHost::Impl::HandleQueues() {
  std::deque<std::unique_ptr<StartRequest>> new_starts;
  std::vector<std::shared_ptr<LiveJail::State>> new_kills;
  bool stop = false;
  {
    std::lock_guard lock(mu);
    new_starts.swap(starts);
    new_kills.swap(kills);
    stop = stopping;
  }
  for (auto& request : new_starts) {
    if (stop) {
      request->cloned.set_value(tl::unexpected(ShuttingDown()));
    } else {
      StartOne(std::move(request));
    }
  }
  for (const auto& state : new_kills) {
    auto it = entries.find(state->pid);
    if (it == entries.end() || it->second->state != state) continue;
    Outcome::Kind reason;
    {
      std::lock_guard lock(state->mu);
      reason = state->kill_reason;
    }
    it->second->supervisor->KillJail(reason);
  }
  if (stop) {
    for (auto& [pid, entry] : entries) entry->supervisor->KillJail(std::nullopt);
  }
}

void JailHost::Impl::StartOne(std::unique_ptr<StartRequest> request) {
  const PreparedJail::Plan& plan = *request->plan;
  const int channel = request->options.channel_fd >= 0 ? request->options.channel_fd
                                                       : plan.spec.channel_fd;
  auto launched = internal::Launch(plan, -1, channel,
                                   request->cgroup ? &*request->cgroup : nullptr);
  if (!launched) {
    request->cloned.set_value(tl::unexpected(launched.error()));
    return;
  }
  launched->cgroup = std::move(request->cgroup);
  UniqueFd sync = std::move(launched->sync);
  const bool self_joined = launched->self_joined;
  auto entry = std::make_unique<Entry>();
  entry->options = request->options;
  entry->state = std::make_shared<LiveJail::State>();
  LiveJail::State& state = *entry->state;
  state.pid = launched->pid;
  state.plan = request->plan;
  if (launched->cgroup) state.cgroup = launched->cgroup->paths();
  state.output_cap = plan.spec.limits.output_bytes;
  state.output_keep = request->options.output_keep_bytes;
  state.host = this;
  entry->sink = std::make_unique<StateSink>(state);
  // Until the command runs, the spec's timeout bounds the setup.
  entry->supervisor = std::make_unique<internal::Supervisor>(
      plan, std::move(*launched), *entry->sink,
      NowMs() + static_cast<int64_t>(plan.spec.limits.timeout_ms));
  entry->supervisor->SetCheckInterval(internal::kHostLimitCheckMs);
  entry->starting.emplace(std::move(request->reply));
  const pid_t pid = state.pid;
  std::shared_ptr<LiveJail::State> shared = entry->state;
  by_pid[pid] = entry.get();
  entries[pid] = std::move(entry);
  {
    std::lock_guard lock(mu);
    ++live;
  }
  request->cloned.set_value(Cloned{std::move(shared), std::move(sync), self_joined});
}

JailHost::Impl::Entry* JailHost::Impl::FindEntry(pid_t pid) {
  if (auto it = by_pid.find(pid); it != by_pid.end()) return it->second;
  // A new process whose parent's fork event has not been seen yet: find its jail through
  // its thread group or parent (host pids: the launcher lives in the root pid namespace).
  const std::string status = ReadProcFile("/proc/" + std::to_string(pid) + "/status");
  for (const char* key : {"Tgid:", "PPid:"}) {
    const pid_t other = static_cast<pid_t>(StatusField(status, key));
    if (auto it = by_pid.find(other); other > 0 && it != by_pid.end()) {
      by_pid[pid] = it->second;
      it->second->tracees.insert(pid);
      return it->second;
    }
  }
  return nullptr;
}

void JailHost::Impl::ReapAll() {
  for (;;) {
    int status = 0;
    rusage ru{};
    const pid_t w = wait4(-1, &status, WNOHANG | __WALL | __WNOTHREAD, &ru);
    if (w <= 0) return;
    Entry* entry = FindEntry(w);
    if (entry == nullptr) {
      // A process of a jail that already ended: let it go on to its death.
      if (WIFSTOPPED(status)) ptrace(PTRACE_CONT, w, nullptr, nullptr);
      continue;
    }
    entry->supervisor->OnWaitStatus(w, status, ru);
    for (const pid_t child : entry->supervisor->TakeNewPids()) {
      by_pid[child] = entry;
      entry->tracees.insert(child);
    }
    if (!WIFSTOPPED(status) && w != entry->supervisor->init()) {
      by_pid.erase(w);
      entry->tracees.erase(w);
    }
  }
}

void JailHost::Impl::FinishEntry(Entry& entry) {
  const pid_t pid = entry.supervisor->init();
  Result<Outcome> result = entry.supervisor->Finish(NowMs());
  for (const pid_t t : entry.tracees) {
    if (auto it = by_pid.find(t); it != by_pid.end() && it->second == &entry) by_pid.erase(it);
  }
  by_pid.erase(pid);
  {
    // Counted out before anyone can see the end, so live_jails() never lags behind it.
    std::lock_guard lock(mu);
    --live;
  }
  {
    std::lock_guard lock(entry.state->mu);
    entry.state->ended = true;
    if (result) {
      entry.state->outcome = *result;
    } else {
      entry.state->outcome = Outcome{};
      entry.state->outcome.kind = Outcome::Kind::kSignaled;
      entry.state->outcome.signal = SIGKILL;
    }
    entry.state->host = nullptr;
  }
  entry.state->cv.notify_all();
  if (entry.starting) {
    // Ended before its command ran: a setup failure (or killed while setting up).
    if (!result) {
      entry.starting->set_value(tl::unexpected(result.error()));
    } else {
      entry.starting->set_value(tl::unexpected(
          Error{Step::kExec, ECHILD,
                std::string("the jail ended before its command ran (") +
                    std::string(OutcomeKindName(result->kind)) + ")"}));
    }
  }
  entries.erase(pid);
}

JailHost::JailHost(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<JailHost>> JailHost::Create() {
  auto impl = std::make_unique<Impl>();
  impl->wake.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!impl->wake) return Fail(Step::kPipe, errno, "eventfd");
  // Blocked here, so that threads created after the host (which inherit this mask) leave
  // SIGCHLD pending for the launcher thread's signalfd.
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  pthread_sigmask(SIG_BLOCK, &chld, nullptr);
  std::promise<Result<void>> ready;
  auto started = ready.get_future();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw, &ready] { raw->Main(ready); });
  auto r = started.get();
  if (!r) {
    impl->thread.join();
    return tl::unexpected(r.error());
  }
  return std::unique_ptr<JailHost>(new JailHost(std::move(impl)));
}

JailHost::~JailHost() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->Wake();
  impl_->thread.join();
}

Result<std::shared_ptr<LiveJail>> JailHost::Start(const PreparedJail& prepared,
                                                  const StartOptions& options) {
  // The cgroup is made here, on the caller's thread, so that starts from many threads
  // do their cgroup work in parallel and the launcher thread stays free for the jails.
  auto cgroup = internal::MakeCgroup(*prepared.plan_);
  if (!cgroup) return tl::unexpected(cgroup.error());
  const std::vector<std::string> dirs = *cgroup ? (*cgroup)->dirs() : std::vector<std::string>();
  auto request = std::make_unique<Impl::StartRequest>();
  request->plan = prepared.plan_;
  request->options = options;
  request->cgroup = std::move(*cgroup);
  auto cloned_future = request->cloned.get_future();
  auto reply = request->reply.get_future();
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopping) return tl::unexpected(ShuttingDown());
    impl_->starts.push_back(std::move(request));
  }
  impl_->Wake();
  auto cloned = cloned_future.get();
  if (!cloned) return tl::unexpected(cloned.error());
  auto released = internal::Release(cloned->state->pid,
                                    cloned->self_joined ? std::vector<std::string>() : dirs,
                                    std::move(cloned->sync));
  if (!released) {
    LiveJail(cloned->state).Kill(Outcome::Kind::kSignaled);
    auto ended = reply.get();
    // The child's own failed step, when it has one, is the real reason.
    if (!ended && !(ended.error().step == Step::kExec && ended.error().err == ECHILD)) {
      return tl::unexpected(ended.error());
    }
    return tl::unexpected(released.error());
  }
  return reply.get();
}

size_t JailHost::live_jails() const {
  std::lock_guard lock(impl_->mu);
  return impl_->live;
}

LiveJail::LiveJail(std::shared_ptr<State> state) : state_(std::move(state)) {}
LiveJail::~LiveJail() = default;

pid_t LiveJail::pid() const { return state_->pid; }

bool LiveJail::ended() const {
  std::lock_guard lock(state_->mu);
  return state_->ended;
}

void LiveJail::Kill(Outcome::Kind reason) {
  std::lock_guard lock(state_->mu);
  if (state_->ended || state_->kill_requested) return;
  state_->kill_requested = true;
  state_->kill_reason = reason;
  // INVARIANT: host is valid while !ended, and ended is set under this mutex: the host
  // cannot finish this jail (let alone be destroyed) while we hold it.
  {
    std::lock_guard host_lock(state_->host->mu);
    state_->host->kills.push_back(state_);
  }
  state_->host->Wake();
}

std::optional<Outcome> LiveJail::WaitFor(std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mu);
  if (!state_->cv.wait_for(lock, timeout, [this] { return state_->ended; })) return std::nullopt;
  return state_->outcome;
}

Usage LiveJail::SampleUsage() const {
  Usage u;
  {
    std::lock_guard lock(state_->mu);
    if (state_->ended) {
      u.cpu_ms = state_->outcome.cpu_ms;
      u.peak_memory_kb = state_->outcome.max_rss_kb;
      return u;
    }
  }
  if (state_->cgroup) {
    // Only the counters Usage reports (not the oom and pids event counters ReadStats also
    // reads), from descriptors kept open for the jail's life.
    std::lock_guard lock(state_->usage_mu);
    const bool v2 = state_->cgroup->version == internal::cgroup::Version::kV2;
    if (!state_->usage_opened) {
      state_->usage_opened = true;
      for (const auto& [controller, dir] : state_->cgroup->controller_dirs) {
        if (v2) {
          state_->cpu_fd = OpenCounter(dir + "/cpu.stat");
          state_->memory_fd = OpenCounter(dir + "/memory.current");
          state_->peak_fd = OpenCounter(dir + "/memory.peak");
        } else if (controller == "memory") {
          state_->memory_fd = OpenCounter(dir + "/memory.usage_in_bytes");
          state_->peak_fd = OpenCounter(dir + "/memory.max_usage_in_bytes");
        } else if (controller == "cpuacct") {
          state_->cpu_fd = OpenCounter(dir + "/cpuacct.usage");
        }
      }
    }
    const std::string cpu = PreadAll(state_->cpu_fd);
    u.cpu_ms = v2 ? KeyedNumber(cpu, "usage_usec") / 1000 : FirstNumber(cpu) / 1'000'000;
    u.memory_kb = FirstNumber(PreadAll(state_->memory_fd)) / 1024;
    u.peak_memory_kb = FirstNumber(PreadAll(state_->peak_fd)) / 1024;
    return u;
  }
  // Rlimits only: the init's own figures (its children's only once they were waited for).
  const std::string proc = "/proc/" + std::to_string(state_->pid);
  const std::string status = ReadProcFile(proc + "/status");
  u.memory_kb = StatusField(status, "VmRSS:");
  u.peak_memory_kb = StatusField(status, "VmHWM:");
  const std::string stat = ReadProcFile(proc + "/stat");
  const size_t close_paren = stat.rfind(')');
  if (close_paren != std::string::npos) {
    // After the command name: the state letter (field 3), then numbers; utime, stime,
    // cutime and cstime are fields 14 to 17.
    const char* p = std::strchr(stat.c_str() + close_paren, ' ');
    if (p != nullptr) p = std::strchr(p + 1, ' ');
    uint64_t ticks = 0;
    for (int field = 4; p != nullptr && field <= 17; ++field) {
      char* end = nullptr;
      const unsigned long long v = std::strtoull(p, &end, 10);
      if (end == p) break;
      if (field >= 14) ticks += v;
      p = end;
    }
    const long hz = sysconf(_SC_CLK_TCK);
    if (hz > 0) u.cpu_ms = ticks * 1000 / static_cast<uint64_t>(hz);
  }
  return u;
}

std::string LiveJail::TakeOutput() {
  std::lock_guard lock(state_->mu);
  state_->output_count = 0;
  return std::exchange(state_->output, {});
}

}  // namespace fnjail::sandbox
