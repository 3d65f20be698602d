// Environments in jails: a LiveJail started from the function's PreparedJail, holding one
// end of a socketpair as fd 3, and a Session on the other end.
#include "runtime/environment.h"

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "sandbox/sandbox.h"
#include "sandbox/unique_fd.h"

namespace fnjail::runtime {
namespace {

using sandbox::Outcome;

// How long a runtime that closed its channel gets to be reaped and classified by the jail
// host (a seccomp kill is reported by its monitor) before it is called a crash.
constexpr std::chrono::milliseconds kClassifyWait{2'000};
// How long destroying an environment waits for its jail to be gone, so that a replacement
// never overlaps it for long.
constexpr std::chrono::milliseconds kDestroyWait{2'000};

// The Environment failure code and message of a jail that ended.
Error DescribeEnded(const Outcome& o) {
  switch (o.kind) {
    case Outcome::Kind::kSeccompViolation:
      return {"seccomp", "killed: forbidden syscall `" + o.syscall + "`"};
    case Outcome::Kind::kOomKilled:
      return {"oom", "killed: memory limit reached"};
    case Outcome::Kind::kPidsLimit:
      return {"pids", "killed: process limit reached"};
    case Outcome::Kind::kOutputLimit:
      return {"output-limit", "killed: output limit reached"};
    case Outcome::Kind::kTimeout:
      return {"timeout", "killed: deadline passed"};
    case Outcome::Kind::kSignaled:
      return {"crashed", "the runtime died of signal " + std::to_string(o.signal)};
    case Outcome::Kind::kExited:
      break;
  }
  return {"crashed", "the runtime exited with status " + std::to_string(o.exit_code)};
}

// Appends the jail's own stdout/stderr (the runtime program's, not the handler's) as log
// lines, within the protocol's caps.
void AppendOutput(const std::string& output, std::vector<std::string>& logs) {
  size_t start = 0;
  while (start < output.size() && logs.size() < kMaxLogLines) {
    size_t end = output.find('\n', start);
    if (end == std::string::npos) end = output.size();
    if (end > start) {
      logs.push_back(output.substr(start, std::min(end - start, kMaxLogLineBytes)));
    }
    start = end + 1;
  }
}

class JailEnvironment final : public Environment {
 public:
  JailEnvironment(sandbox::UniqueFd channel, std::shared_ptr<sandbox::LiveJail> jail,
                  Session session)
      : channel_(std::move(channel)), jail_(std::move(jail)), session_(std::move(session)) {}

  ~JailEnvironment() override {
    jail_->Kill(Outcome::Kind::kSignaled);
    (void)jail_->WaitFor(kDestroyWait);
  }

  Result<Response> Invoke(const Invocation& invocation,
                          std::chrono::milliseconds budget) override {
    auto response = session_.Invoke(invocation, budget);
    if (response) {
      if (response->tainted) broken_ = true;
      const std::string output = jail_->TakeOutput();
      if (!output.empty()) AppendOutput(output, response->logs);
      return response;
    }
    const Error& e = response.error();
    if (e.code == "invalid") return response;  // nothing was sent; the channel is intact
    broken_ = true;
    if (e.code == "timeout") {
      // SECURITY: a handler past its deadline may still be running: the whole jail goes.
      jail_->Kill(Outcome::Kind::kTimeout);
      return Fail("timeout", "no response within " + std::to_string(budget.count()) +
                                 " ms; the environment was killed");
    }
    // The runtime closed the channel or broke the protocol. If the jail ended (or ends
    // now), its outcome says why; otherwise it is killed.
    std::optional<Outcome> outcome =
        jail_->WaitFor(e.code == "protocol" ? std::chrono::milliseconds(0) : kClassifyWait);
    if (outcome) {
      Error ended = DescribeEnded(*outcome);
      if (outcome->kind == Outcome::Kind::kSeccompViolation) violation_ = outcome->syscall;
      if (ended.code == "crashed" && e.code == "protocol") {
        return Fail("protocol", e.message);
      }
      std::string output = jail_->TakeOutput();
      if (!output.empty() && ended.code == "crashed") {
        if (output.size() > 512) output = output.substr(output.size() - 512);
        while (!output.empty() && output.back() == '\n') output.pop_back();
        ended.message += ": " + output;
      }
      return tl::unexpected(std::move(ended));
    }
    jail_->Kill(Outcome::Kind::kSignaled);
    return Fail(e.code == "protocol" ? "protocol" : "crashed", e.message);
  }

  ResourceSample SampleUsage() const override {
    const sandbox::Usage u = jail_->SampleUsage();
    return ResourceSample{u.cpu_ms, u.memory_kb, u.peak_memory_kb};
  }

  bool Reusable() const override { return !broken_ && !jail_->ended(); }

  std::string Violation() const override { return violation_; }

 private:
  // Declared first, destroyed last: the session uses the descriptor.
  sandbox::UniqueFd channel_;
  std::shared_ptr<sandbox::LiveJail> jail_;
  Session session_;
  std::atomic<bool> broken_{false};
  std::string violation_;
};

class JailEnvironmentFactory final : public EnvironmentFactory {
 public:
  JailEnvironmentFactory(sandbox::JailHost& host, sandbox::PreparedJail prepared)
      : host_(host), prepared_(std::move(prepared)) {}

  Result<std::unique_ptr<Environment>> Start() override {
    int ends[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) {
      return Fail("io", std::string("socketpair: ") + std::strerror(errno));
    }
    sandbox::UniqueFd host_end(ends[0]);
    sandbox::UniqueFd jail_end(ends[1]);
    // The launch secret waits in the socket buffer until the runtime reads it.
    auto session = Session::Create(host_end.get());
    if (!session) return tl::unexpected(session.error());
    sandbox::StartOptions options;
    options.channel_fd = jail_end.get();
    auto jail = host_.Start(prepared_, options);
    jail_end.reset();  // the jail holds its own copy
    if (!jail) return Fail("jail", jail.error().ToString());
    return std::unique_ptr<Environment>(
        new JailEnvironment(std::move(host_end), std::move(*jail), std::move(*session)));
  }

 private:
  sandbox::JailHost& host_;
  const sandbox::PreparedJail prepared_;
};

}  // namespace

std::shared_ptr<EnvironmentFactory> MakeJailEnvironmentFactory(sandbox::JailHost& host,
                                                               sandbox::PreparedJail prepared) {
  return std::make_shared<JailEnvironmentFactory>(host, std::move(prepared));
}

}  // namespace fnjail::runtime
