// `fnjail serve`, assembled: the configuration loaded and checked, the execution
// environments (and their jail host) started first, then the audit writer, the filter
// chain, the HTTP(S) server and the metrics listener; reloads that swap configuration,
// functions and policies atomically; and a graceful stop that drains requests and seals
// the audit log with a final signed checkpoint.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

namespace fnjail::gateway {

class Invoker;

// A structured log event: level ("info", "warn", "error"), event name and string fields.
// Never carries secrets. Thread-safe.
using ServiceLogFn = std::function<void(
    std::string_view level, std::string_view event,
    const std::vector<std::pair<std::string, std::string>>& fields)>;

// One JSON object per line on stderr, written with a single write(2):
// {"time":"2026-01-02T03:04:05.678Z","level":"info","event":"...", fields...}.
ServiceLogFn JsonStderrLog();

struct ServiceOptions {
  std::string config_path;
  // How long a stop waits for requests in flight before closing them.
  std::chrono::milliseconds drain_timeout{30'000};
  ServiceLogFn log;  // empty: JsonStderrLog()
  // Replaces the execution environments (tests, benchmarks of the gateway alone). When
  // null the service runs every function in jails under runtime::Environments.
  std::shared_ptr<Invoker> invoker;
};

struct ServiceErrors {
  std::vector<std::string> messages;  // one line each, `file:line:col: error: ...` when known
  std::string ToString() const;
};

class Service {
 public:
  // Loads the configuration and starts everything; returns once the listeners accept.
  // The execution environments start before any other thread (their jail host must).
  // Errors: every configuration problem, or what failed to start (a function that cannot
  // be deployed, an audit log that cannot be opened, a port that cannot be bound).
  static tl::expected<std::unique_ptr<Service>, ServiceErrors> Start(ServiceOptions options);
  ~Service();  // Shutdown()
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Bound ports of the main listeners (config order), and of the metrics listener.
  std::vector<uint16_t> ports() const;
  std::optional<uint16_t> metrics_port() const;

  // Loads the configuration again and, when all of it checks and every function deploys,
  // swaps configuration, functions and policies in one step: requests in flight finish on
  // the version they started with. A bad version is refused whole (its errors returned and
  // logged) and the running one kept. Listeners, TLS, limits and the audit log are fixed
  // at start; changing them is logged as needing a restart. Thread-safe (serialized).
  tl::expected<void, ServiceErrors> Reload();

  // Reloads when a watched file (the config, functions, policies, keys) changed since the
  // last load. Returns true when it reloaded successfully.
  bool ReloadIfChanged();

  // Graceful stop: stops accepting, lets requests in flight finish within drain_timeout,
  // closes the audit log with a final signed checkpoint. True when nothing had to be cut
  // off and the checkpoint was written. Idempotent.
  bool Shutdown();

  // Configuration versions served so far (1 after Start, +1 per successful reload).
  uint64_t generation() const;

 private:
  struct Impl;
  explicit Service(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The `fnjail serve` process: blocks SIGHUP, SIGTERM, SIGINT and SIGPIPE in the calling
// thread before any thread starts, starts the service, then reloads on SIGHUP or a watched
// file change (checked every `watch_interval`; 0 disables) and stops on SIGTERM or SIGINT.
// Returns the exit status: 0 after a clean stop, 1 when the service cannot start or the
// stop fails (requests cut off, final checkpoint not written).
int RunService(ServiceOptions options, std::chrono::milliseconds watch_interval);

}  // namespace fnjail::gateway
