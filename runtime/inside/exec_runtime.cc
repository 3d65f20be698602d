// The exec runtime (docs/runtimes.md, "Exec").
#include "runtime/inside/exec_runtime.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <string_view>

#include <nlohmann/json.hpp>

extern char** environ;

namespace fnjail::runtime::inside {
namespace {

constexpr size_t kStderrKeepBytes = 64u << 10;
constexpr size_t kMaxMetaBytes = 64u << 10;

// An owned descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// A running handler process with its standard streams on pipes (our ends non-blocking).
struct Process {
  pid_t pid = -1;
  Fd in, out, err;
};

bool MakePipe(Fd* read_end, Fd* write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  *read_end = Fd(fds[0]);
  *write_end = Fd(fds[1]);
  return true;
}

void SetNonBlocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

// Starts `argv` in a process group of its own with default signal handling, an empty
// signal mask and the runtime's environment plus `extra_env`. The channel (fd 3) and
// every other descriptor of the runtime are close-on-exec, so the handler gets only its
// three pipes.
bool Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
           Process* p, std::string* error) {
  Fd in_r, in_w, out_r, out_w, err_r, err_w;
  if (!MakePipe(&in_r, &in_w) || !MakePipe(&out_r, &out_w) || !MakePipe(&err_r, &err_w)) {
    *error = std::string("pipe: ") + std::strerror(errno);
    return false;
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) env.push_back(*e);
  for (const auto& e : extra_env) env.push_back(const_cast<char*>(e.c_str()));
  env.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_adddup2(&actions, in_r.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err_w.get(), 2);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);  // SIGPIPE is ignored in the runtime
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, args[0], &actions, &attr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    *error = "cannot start `" + argv[0] + "`: " + std::strerror(rc);
    return false;
  }
  p->pid = pid;
  p->in = std::move(in_w);
  p->out = std::move(out_r);
  p->err = std::move(err_r);
  SetNonBlocking(p->in.get());
  SetNonBlocking(p->out.get());
  SetNonBlocking(p->err.get());
  return true;
}

void KillGroup(pid_t pid) {
  if (pid <= 0) return;
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
}

// Waits for `pid` to end, killing its group at `deadline`. Returns its wait status, or -1.
int Reap(pid_t pid, Clock::time_point deadline, bool* killed) {
  long pause_ns = 100'000;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return -1;
    if (Clock::now() >= deadline) {
      KillGroup(pid);
      *killed = true;
      while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return -1;
      }
      return status;
    }
    timespec ts{0, pause_ns};
    ::nanosleep(&ts, nullptr);
    if (pause_ns < 5'000'000) pause_ns *= 2;
  }
}

// The handler's streams during one invocation: input to write, stdout collected (capped),
// stderr collected (its tail kept).
struct Streams {
  int in = -1, out = -1, err = -1;  // not owned; -1 once finished
  std::string_view pending;         // input still to write
  bool close_in_when_written = false;
  std::string out_buf;
  size_t out_cap = kMaxBodyBytes;
  bool out_eof = false, err_eof = false, in_broken = false;
  std::string err_buf;
};

// Reads what `fd` has, at most 256 KiB per call so a handler that writes without pause
// cannot keep the caller from its deadline checks; `keep_tail` > 0 keeps only the end.
void Drain(int fd, std::string* buf, bool* eof, size_t keep_tail) {
  char chunk[16384];
  for (int round = 0; round < 16; ++round) {
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n > 0) {
      buf->append(chunk, static_cast<size_t>(n));
      if (keep_tail > 0 && buf->size() > 2 * keep_tail) {
        buf->erase(0, buf->size() - keep_tail);
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) *eof = true;
    return;  // EOF, EAGAIN or an error
  }
}

// One round of I/O. Returns false when the deadline passed first.
bool Step(Streams& s, Clock::time_point deadline) {
  pollfd fds[3];
  int n = 0;
  int in_slot = -1, out_slot = -1, err_slot = -1;
  if (s.in >= 0 && !s.pending.empty() && !s.in_broken) {
    in_slot = n;
    fds[n++] = pollfd{s.in, POLLOUT, 0};
  }
  if (s.out >= 0 && !s.out_eof) {
    out_slot = n;
    fds[n++] = pollfd{s.out, POLLIN, 0};
  }
  if (s.err >= 0 && !s.err_eof) {
    err_slot = n;
    fds[n++] = pollfd{s.err, POLLIN, 0};
  }
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) return false;
  if (n == 0) return true;
  int ready = ::poll(fds, static_cast<nfds_t>(n), left > 1'000'000 ? 1'000'000
                                                                    : static_cast<int>(left));
  if (ready < 0) return true;  // EINTR (or a transient failure): the caller loops
  if (in_slot >= 0 && fds[in_slot].revents != 0) {
    ssize_t w = ::write(s.in, s.pending.data(), s.pending.size());
    if (w > 0) {
      s.pending.remove_prefix(static_cast<size_t>(w));
    } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
      s.in_broken = true;  // the handler stopped reading (EPIPE): what it said still counts
    }
  }
  if (out_slot >= 0 && fds[out_slot].revents != 0) Drain(s.out, &s.out_buf, &s.out_eof, 0);
  if (err_slot >= 0 && fds[err_slot].revents != 0) {
    Drain(s.err, &s.err_buf, &s.err_eof, kStderrKeepBytes);
  }
  return true;
}

// stderr as log lines (the last kMaxLogLines).
std::vector<std::string> StderrLines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    size_t end = nl == std::string::npos ? text.size() : nl;
    lines.emplace_back(text.substr(start, std::min(end - start, kMaxLogLineBytes)));
    start = end + 1;
  }
  if (lines.size() > kMaxLogLines) {
    lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(kMaxLogLines));
  }
  return lines;
}

std::string Tail(const std::string& text, size_t n) {
  std::string t = text.size() > n ? text.substr(text.size() - n) : text;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  return t;
}

std::string ContextJson(const Invocation& inv, int64_t deadline_ms) {
  nlohmann::json ctx = {
      {"request_id", inv.request_id},
      {"function_name", inv.function},
      {"deadline_ms", deadline_ms},
      {"principal", {{"id", inv.principal_id}, {"groups", inv.principal_groups}}},
  };
  return ctx.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int64_t RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int64_t>(left.count());
}

// ---------------------------------------------------------------------------------------

class SimpleExec final : public Runtime {
 public:
  explicit SimpleExec(ExecOptions options) : options_(std::move(options)) {}

  Response Handle(const Invocation& inv, Clock::time_point deadline) override {
    int64_t deadline_ms = RemainingMs(deadline);
    std::vector<std::string> env = {
        "FNJAIL_REQUEST_ID=" + inv.request_id,
        "FNJAIL_FUNCTION_NAME=" + inv.function,
        "FNJAIL_DEADLINE_MS=" + std::to_string(deadline_ms),
        "FNJAIL_CONTEXT=" + ContextJson(inv, deadline_ms),
    };
    Process p;
    std::string error;
    if (!Spawn(options_.argv, env, &p, &error)) return UnhandledError("spawn", error, false);

    Streams s;
    s.in = p.in.get();
    s.out = p.out.get();
    s.err = p.err.get();
    s.pending = inv.event;
    bool timed_out = false, too_large = false;
    while (!(s.out_eof && s.err_eof)) {
      if (s.pending.empty() && p.in.get() >= 0) {
        p.in.Reset();  // all of the event is written: the handler sees end of input
        s.in = -1;
      }
      if (!Step(s, deadline)) {
        timed_out = true;
        break;
      }
      if (s.out_buf.size() > s.out_cap) {
        too_large = true;
        break;
      }
    }
    if (timed_out || too_large) KillGroup(p.pid);
    bool killed = false;
    int status = Reap(p.pid, deadline, &killed);
    KillGroup(p.pid);  // anything it left behind in its group
    Response r;
    r.logs = StderrLines(s.err_buf);
    if (timed_out || killed) {
      auto t = UnhandledError("timeout",
                              "the handler ran past its deadline of " +
                                  std::to_string(inv.deadline_ms) + " ms",
                              true);
      t.logs = std::move(r.logs);
      return t;
    }
    if (too_large) {
      auto t = UnhandledError("response-too-large",
                              "the handler wrote more than " + std::to_string(s.out_cap) +
                                  " bytes to stdout",
                              false);
      t.logs = std::move(r.logs);
      return t;
    }
    if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      r.body = std::move(s.out_buf);
      return r;
    }
    std::string what = status == -1            ? "the handler could not be waited for"
                       : WIFSIGNALED(status) ? "the handler was killed by signal " +
                                                   std::to_string(WTERMSIG(status))
                                             : "the handler exited with status " +
                                                   std::to_string(WEXITSTATUS(status));
    std::string tail = Tail(s.err_buf, 2048);
    auto t = UnhandledError(WIFSIGNALED(status) ? "signal" : "exit",
                            tail.empty() ? what : what + ": " + tail, false);
    t.logs = std::move(r.logs);
    return t;
  }

 private:
  ExecOptions options_;
};

// ---------------------------------------------------------------------------------------

void PutFrame(std::string& out, std::string_view bytes) {
  uint32_t n = static_cast<uint32_t>(bytes.size());
  char len[4] = {static_cast<char>(n >> 24), static_cast<char>((n >> 16) & 0xff),
                 static_cast<char>((n >> 8) & 0xff), static_cast<char>(n & 0xff)};
  out.append(len, 4);
  out.append(bytes);
}

// Parses a frame at `offset` of `buf`: true with its bounds when it is complete.
bool FrameAt(const std::string& buf, size_t offset, size_t* start, size_t* length) {
  if (buf.size() < offset + 4) return false;
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(buf[offset + i])); };
  *length = (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
  *start = offset + 4;
  return buf.size() >= *start + *length;
}

class PersistentExec final : public Runtime {
 public:
  explicit PersistentExec(ExecOptions options) : options_(std::move(options)) {
    std::string error;
    if (!Spawn(options_.argv, {}, &process_, &error)) init_error_ = error;
  }

  ~PersistentExec() override {
    if (process_.pid > 0) {
      KillGroup(process_.pid);
      ::waitpid(process_.pid, nullptr, 0);
    }
  }

  Response Handle(const Invocation& inv, Clock::time_point deadline) override {
    if (!init_error_.empty()) return UnhandledError("init-error", init_error_, true);
    if (stopped_) return UnhandledError("tainted", "the handler process was stopped", true);

    std::string request;
    PutFrame(request, ContextJson(inv, RemainingMs(deadline)));
    PutFrame(request, inv.event);
    Streams s;
    s.in = process_.in.get();
    s.out = process_.out.get();
    s.err = process_.err.get();
    s.err_eof = err_eof_;
    s.pending = request;

    // Write the request and read the two answer frames, all before the deadline.
    size_t meta_start = 0, meta_len = 0, body_start = 0, body_len = 0;
    std::string problem;
    bool timed_out = false;
    for (;;) {
      if (FrameAt(s.out_buf, 0, &meta_start, &meta_len) &&
          FrameAt(s.out_buf, meta_start + meta_len, &body_start, &body_len)) {
        break;
      }
      if (s.out_buf.size() >= 4) {
        size_t declared = 0, ignored = 0;
        FrameAt(s.out_buf, 0, &ignored, &declared);
        if (declared > kMaxMetaBytes) {
          problem = "the result frame is larger than 64 KiB";
          break;
        }
        if (s.out_buf.size() >= ignored + declared + 4) {
          FrameAt(s.out_buf, ignored + declared, &ignored, &declared);
          if (declared > kMaxBodyBytes) {
            problem = "the body frame is larger than the protocol allows";
            break;
          }
        }
      }
      if (s.out_eof) {
        problem = "the handler process closed its stdout";
        break;
      }
      if (s.in_broken) {
        problem = "the handler process stopped reading its stdin";
        break;
      }
      if (!Step(s, deadline)) {
        timed_out = true;
        break;
      }
    }
    // Whatever the process wrote to stderr meanwhile belongs to this invocation.
    if (!s.err_eof) Drain(s.err, &s.err_buf, &s.err_eof, kStderrKeepBytes);
    err_eof_ = s.err_eof;
    std::vector<std::string> logs = StderrLines(s.err_buf);

    if (timed_out || !problem.empty()) {
      std::string end = timed_out ? std::string() : ProcessEnd();
      Stop();
      Response r = timed_out
                       ? UnhandledError("timeout",
                                        "the handler ran past its deadline of " +
                                            std::to_string(inv.deadline_ms) + " ms",
                                        true)
                       : UnhandledError("crashed", problem + end, true);
      r.logs = std::move(logs);
      return r;
    }
    std::string_view meta(s.out_buf.data() + meta_start, meta_len);
    Response r = ParseResult(meta);
    if (r.kind == Response::Kind::kOk) r.body.assign(s.out_buf, body_start, body_len);
    // Bytes past the two frames are the start of an answer nobody asked for.
    if (body_start + body_len != s.out_buf.size()) {
      Stop();
      r = UnhandledError("crashed", "the handler process wrote more than one answer", true);
    }
    r.logs = std::move(logs);
    return r;
  }

 private:
  // The result frame: {"status": 200, "headers": {"k": "v"}} or
  // {"error": {"type": "...", "message": "..."}, "status": 4xx/5xx}.
  static Response ParseResult(std::string_view meta) {
    auto doc = nlohmann::json::parse(meta, nullptr, false);
    auto invalid = [](std::string why) {
      return UnhandledError("invalid-response", "the handler's result frame " + why, false);
    };
    if (doc.is_discarded() || !doc.is_object()) return invalid("is not a JSON object");
    Response r;
    if (auto it = doc.find("error"); it != doc.end()) {
      if (!it->is_object()) return invalid("has an `error` that is not an object");
      r.kind = Response::Kind::kHandledError;
      r.status = 500;
      r.error_type = it->value("type", std::string("error"));
      auto m = it->find("message");
      if (m != it->end() && m->is_string()) r.error_message = m->get<std::string>();
      if (r.error_type.empty()) r.error_type = "error";
    }
    if (auto it = doc.find("status"); it != doc.end()) {
      if (!it->is_number_integer() || it->get<int64_t>() < 100 || it->get<int64_t>() > 599) {
        return invalid("has a `status` that is not an integer from 100 to 599");
      }
      r.status = static_cast<int>(it->get<int64_t>());
    }
    if (auto it = doc.find("headers"); it != doc.end()) {
      if (!it->is_object()) return invalid("has `headers` that are not an object");
      for (auto& [name, value] : it->items()) {
        if (!value.is_string()) return invalid("has a header value that is not a string");
        r.headers.emplace_back(name, value.get<std::string>());
      }
    }
    return r;
  }

  // Kills the process group and reaps the process; the environment is then tainted.
  void Stop() {
    if (process_.pid > 0) {
      KillGroup(process_.pid);
      ::waitpid(process_.pid, nullptr, 0);
      process_.pid = -1;
    }
    stopped_ = true;
  }

  // " (it exited with status N)" when the process ended by itself within 100 ms.
  std::string ProcessEnd() {
    if (process_.pid <= 0) return {};
    bool killed = false;
    int status = Reap(process_.pid, Clock::now() + std::chrono::milliseconds(100), &killed);
    KillGroup(process_.pid);
    process_.pid = -1;
    if (status == -1 || killed) return {};
    if (WIFEXITED(status)) {
      return " (it exited with status " + std::to_string(WEXITSTATUS(status)) + ")";
    }
    if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL) {
      return " (it was killed by signal " + std::to_string(WTERMSIG(status)) + ")";
    }
    return {};
  }

  ExecOptions options_;
  Process process_;
  std::string init_error_;
  bool err_eof_ = false;
  bool stopped_ = false;
};

}  // namespace

std::unique_ptr<Runtime> MakeExecRuntime(const ExecOptions& options) {
  if (options.persistent) return std::make_unique<PersistentExec>(options);
  return std::make_unique<SimpleExec>(options);
}

}  // namespace fnjail::runtime::inside
