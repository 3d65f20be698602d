// fnjail::runtime pools: warm execution environments per function, scale from zero,
// bounded waiting, and metering of every invocation (docs/invoke.md).
//
// A Pool holds the environments (runtime/environment.h) of one function. An invocation
// takes an idle environment (warm) or starts one (cold) while the function is under its
// maximum concurrency; at the maximum it waits in a bounded queue until an environment frees
// up or its queue deadline passes, then fails with "over-capacity". Nothing ever queues
// without bound. An environment that failed an invocation (timeout, seccomp violation, out
// of memory, crash, tainted runtime) is destroyed, never reused; one that served
// max_invocations is recycled. With per-principal isolation an environment, once used,
// serves only the principal it first served. Idle environments past their time-to-live are
// destroyed by maintenance (Pool::Maintain, run by Environments' own thread), down to
// min_idle, which is also topped up there: min_idle 0 scales the function to zero.
//
// Environments owns one pool per deployed function and the sandbox::JailHost their jails
// run under.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "runtime/environment.h"
#include "runtime/metering.h"
#include "runtime/protocol.h"

namespace fnjail::sandbox {
class DangerousToken;
}  // namespace fnjail::sandbox

namespace fnjail::runtime {

struct FunctionSpec;  // runtime/function.h

struct InvokeResult {
  Response response;
  Metering metering;
};

// The time source of a pool: idle time-to-live and metering durations. The queue deadline
// is always real time (it is a condition-variable wait). Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point Now() const = 0;
};

// std::chrono::steady_clock.
std::shared_ptr<const Clock> SteadyClock();

struct PoolOptions {
  size_t min_idle = 0;         // idle environments kept warm; 0 scales to zero
  size_t max_concurrency = 8;  // environments alive at once (busy + idle + starting)
  std::chrono::milliseconds idle_ttl{60'000};  // an idle environment past this is destroyed
  uint64_t max_invocations = 0;  // invocations per environment before recycling; 0: no cap
  bool per_principal = false;    // an environment serves only the principal it first served
  size_t prewarm = 0;            // environments started by Prewarm() on deploy (>= min_idle)
  size_t max_waiting = 16;       // invocations queued at max_concurrency; beyond: refused
  std::chrono::milliseconds queue_timeout{1'000};  // longest wait in the queue
  std::chrono::milliseconds timeout{30'000};       // budget of one invocation
};

// How much longer than an invocation's deadline the channel waits for the runtime's answer:
// a tenth of it, from 20 ms to 1 s. The runtime stops a handler at the deadline itself and
// reports a timeout; the grace lets that report arrive before the environment is killed.
std::chrono::milliseconds DeadlineGrace(std::chrono::milliseconds budget);

// Checks `options`: max_concurrency >= 1, min_idle and prewarm <= max_concurrency, positive
// time-to-live and timeout. Error code "invalid".
Result<void> ValidatePoolOptions(const PoolOptions& options);

class Pool {
 public:
  struct Stats {
    size_t idle = 0;
    size_t busy = 0;
    size_t starting = 0;  // cold starts and warm-ups in progress
    size_t waiting = 0;   // invocations in the queue
    uint64_t cold_starts = 0;
    uint64_t warm_starts = 0;     // invocations served by an idle environment
    uint64_t destroyed = 0;       // environments destroyed after a failure
    uint64_t recycled = 0;        // after max_invocations
    uint64_t expired = 0;         // idle past the time-to-live
    uint64_t evicted = 0;         // another principal's idle one, to make room
    uint64_t over_capacity = 0;   // invocations refused
    uint64_t start_failures = 0;  // environments that could not start
  };

  // A pool of `function`'s environments, none started yet. Errors: as ValidatePoolOptions.
  static Result<std::unique_ptr<Pool>> Create(std::string function, PoolOptions options,
                                              std::shared_ptr<EnvironmentFactory> factory,
                                              std::shared_ptr<const Clock> clock);
  ~Pool();  // Close()
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Runs `invocation` in an environment of this pool. Its deadline is options.timeout, or
  // invocation.deadline_ms when that is smaller and not zero; the runtime sees that
  // deadline, and the environment is killed if no answer came DeadlineGrace() after it.
  // A runtime reporting that it stopped the handler at the deadline is a "timeout" too
  // (and its environment is destroyed). Errors (Error::code):
  //   "over-capacity"     the queue is full, or the queue deadline passed
  //   "timeout"           the invocation ran out of time (the environment was killed)
  //   "jail"              the environment could not start, or failed (seccomp, oom, crash,
  //                       protocol); it was destroyed
  //   "invalid"           the invocation breaks a protocol limit
  //   "unknown-function"  the pool was closed (the function was undeployed)
  // When `metering` is not null it receives the metering of a failed invocation too.
  // Thread-safe: any number of threads may invoke at once.
  Result<InvokeResult> Invoke(const Invocation& invocation, Metering* metering = nullptr);

  // Starts environments until `count` (at most max_concurrency) are idle or busy; returns
  // the first start error. Thread-safe.
  Result<void> Prewarm(size_t count);

  // Destroys idle environments past the time-to-live (keeping min_idle unassigned ones) or
  // no longer reusable, then starts environments up to min_idle. Called periodically by
  // Environments; tests call it with an injected clock. Thread-safe.
  void Maintain();

  // Refuses new invocations ("unknown-function"), wakes the queue, destroys idle
  // environments; busy ones are destroyed as their invocations end. Idempotent.
  void Close();

  Stats GetStats() const;
  // Whether Maintain() has anything to do now or later: an idle environment (to reap when
  // its time-to-live passes) or a min_idle to keep. Thread-safe.
  bool NeedsMaintenance() const;
  // `listener` is called (outside the pool's lock) when an environment goes idle in a pool
  // that had none idle, so a maintenance thread that sleeps while nothing is idle wakes.
  // REQUIRES: called before the pool is shared between threads.
  void SetIdleListener(std::function<void()> listener) { idle_listener_ = std::move(listener); }
  const std::string& function() const { return function_; }
  const PoolOptions& options() const { return options_; }

 private:
  struct Slot;
  Pool(std::string function, PoolOptions options, std::shared_ptr<EnvironmentFactory> factory,
       std::shared_ptr<const Clock> clock);

  // Takes an idle slot usable by `owner` out of idle_, or nullptr. REQUIRES: mu_ held.
  std::unique_ptr<Slot> TakeIdleLocked(const std::string& owner);
  size_t AliveLocked() const;
  Result<std::unique_ptr<Slot>> StartSlot();
  void Release(std::unique_ptr<Slot> slot, bool reuse, bool failed);
  // Destroys `slots` (counted in dying_) outside the lock, then frees their capacity.
  void Bury(std::vector<std::unique_ptr<Slot>> slots);

  const std::string function_;
  const PoolOptions options_;
  const std::shared_ptr<EnvironmentFactory> factory_;
  const std::shared_ptr<const Clock> clock_;
  std::function<void()> idle_listener_;

  mutable std::mutex mu_;
  std::condition_variable freed_;  // an environment went idle, or capacity freed up
  // Idle environments, least recently used first.
  std::vector<std::unique_ptr<Slot>> idle_;
  size_t busy_ = 0;
  size_t starting_ = 0;
  size_t warming_ = 0;  // of starting_: started by Maintain/Prewarm, not by an invocation
  size_t waiting_ = 0;
  // Environments being destroyed: they still count against max_concurrency, so a jail
  // being killed and its replacement never exceed the limit together.
  size_t dying_ = 0;
  bool closed_ = false;
  Stats counters_;
};

// Options of Environments::Create.
struct EnvironmentsOptions {
  // The in-jail runtime program; empty: runtime::RuntimeBinaryPath() ($FNJAIL_RUNTIME, else
  // `fnjail-runtime` beside this executable).
  std::string runtime_binary;
  // Grants functions' [dangerous] profile switches (runtime::JailOptions); null: a function
  // asking for one fails its deploy.
  const sandbox::DangerousToken* dangerous = nullptr;
  // How often idle environments are reaped and min_idle topped up, while any pool has an
  // idle environment or a min_idle; the maintenance thread sleeps while none has.
  std::chrono::milliseconds maintenance_interval{100};
  // Time source of the pools; null: SteadyClock().
  std::shared_ptr<const Clock> clock;
  // Makes the environment factory of a function; null: jails under Environments' own
  // sandbox::JailHost (created only then).
  std::function<Result<std::shared_ptr<EnvironmentFactory>>(const FunctionSpec&)> factory;
  // Pool settings for what a function file leaves unset, and the queue bound and queue
  // deadline (never in function files). `timeout` is ignored: it is the function's.
  PoolOptions pool_defaults;
};

// The pools of every deployed function. Thread-safe: Invoke runs concurrently from any
// number of threads, beside Deploy and Undeploy.
class Environments {
 public:
  // Starts the jail host (unless options.factory is set) and the maintenance thread.
  // Create it before the process starts other threads: the jail host blocks SIGCHLD for the
  // calling thread. Errors: "jail" when the jail host cannot start.
  static Result<std::unique_ptr<Environments>> Create(EnvironmentsOptions options = {});
  ~Environments();  // stops maintenance, closes every pool, kills every jail

  Environments(const Environments&) = delete;
  Environments& operator=(const Environments&) = delete;

  // (Re)creates `fn`'s pool from its [pool] settings and prepares its jail once, then
  // pre-warms it (max of prewarm and min_idle environments). A redeploy replaces the pool:
  // invocations already running finish in the old one. Errors: "jail" (the jail spec is
  // invalid or an environment fails to start), "invalid" (pool settings).
  Result<void> Deploy(const FunctionSpec& fn);
  void Undeploy(const std::string& name);

  // Runs `inv` in `function`'s pool: see Pool::Invoke ("unknown-function" when it is not
  // deployed).
  Result<InvokeResult> Invoke(const std::string& function, const Invocation& inv,
                              Metering* metering = nullptr);

  struct PoolStats {
    std::string function;
    size_t idle = 0, busy = 0, waiting = 0;
    uint64_t cold_starts = 0;
    Pool::Stats detail;
  };
  std::vector<PoolStats> Stats() const;

 private:
  struct Impl;
  explicit Environments(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The Pool options of `fn`: its [pool] settings, `defaults` for those unset (a function's
// `concurrency` stands in for an unset max_concurrency), its timeout_ms, and the queue
// settings of `defaults` (the queue deadline at most the timeout). Prewarm is at least
// min_idle.
PoolOptions PoolOptionsFor(const FunctionSpec& fn, const PoolOptions& defaults);

}  // namespace fnjail::runtime
