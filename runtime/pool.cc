// Pool: warm environments of one function, bounded waiting, recycling and metering.
#include "runtime/pool.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "runtime/metering.h"

namespace fnjail::runtime {
namespace {

class SteadyClockImpl final : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() const override {
    return std::chrono::steady_clock::now();
  }
};

// The pool's error code for an environment failure code (runtime/environment.h).
std::string PublicCode(const std::string& environment_code) {
  if (environment_code == "timeout" || environment_code == "invalid") return environment_code;
  return "jail";
}

}  // namespace

std::chrono::milliseconds DeadlineGrace(std::chrono::milliseconds budget) {
  return std::clamp(budget / 10, std::chrono::milliseconds(20), std::chrono::milliseconds(1000));
}

std::shared_ptr<const Clock> SteadyClock() { return std::make_shared<SteadyClockImpl>(); }

Result<void> ValidatePoolOptions(const PoolOptions& o) {
  if (o.max_concurrency == 0) return Fail("invalid", "max_concurrency must be at least 1");
  if (o.min_idle > o.max_concurrency) {
    return Fail("invalid", "min_idle (" + std::to_string(o.min_idle) +
                               ") is above max_concurrency (" +
                               std::to_string(o.max_concurrency) + ")");
  }
  if (o.prewarm > o.max_concurrency) {
    return Fail("invalid", "prewarm (" + std::to_string(o.prewarm) +
                               ") is above max_concurrency (" +
                               std::to_string(o.max_concurrency) + ")");
  }
  if (o.idle_ttl.count() <= 0) return Fail("invalid", "idle_ttl_ms must be positive");
  if (o.timeout.count() <= 0) return Fail("invalid", "timeout_ms must be positive");
  if (o.queue_timeout.count() < 0) return Fail("invalid", "queue_timeout_ms must not be negative");
  return {};
}

struct Pool::Slot {
  std::unique_ptr<Environment> env;
  // With per-principal isolation: the principal this environment served first, and the
  // only one it may ever serve. Unset: never used (pre-warmed), usable by anyone.
  std::optional<std::string> owner;
  uint64_t invocations = 0;
  uint64_t init_ms = 0;  // how long its start took; reported by its first invocation
  std::chrono::steady_clock::time_point idle_since;
  ResourceSample last;  // usage at the end of its previous invocation (or at its start)
};

Pool::Pool(std::string function, PoolOptions options,
           std::shared_ptr<EnvironmentFactory> factory, std::shared_ptr<const Clock> clock)
    : function_(std::move(function)),
      options_(options),
      factory_(std::move(factory)),
      clock_(std::move(clock)) {}

Result<std::unique_ptr<Pool>> Pool::Create(std::string function, PoolOptions options,
                                           std::shared_ptr<EnvironmentFactory> factory,
                                           std::shared_ptr<const Clock> clock) {
  if (auto valid = ValidatePoolOptions(options); !valid) {
    return tl::unexpected(Error{"invalid", "function `" + function + "`: pool: " +
                                               valid.error().message});
  }
  if (!factory) return Fail("invalid", "function `" + function + "`: no environment factory");
  if (!clock) clock = SteadyClock();
  return std::unique_ptr<Pool>(
      new Pool(std::move(function), options, std::move(factory), std::move(clock)));
}

Pool::~Pool() { Close(); }

size_t Pool::AliveLocked() const { return idle_.size() + busy_ + starting_ + dying_; }

void Pool::Bury(std::vector<std::unique_ptr<Slot>> slots) {
  if (slots.empty()) return;
  const size_t n = slots.size();
  slots.clear();  // outside the lock: killing a jail takes a while
  {
    std::lock_guard lock(mu_);
    dying_ -= n;
  }
  freed_.notify_all();
}

std::unique_ptr<Pool::Slot> Pool::TakeIdleLocked(const std::string& owner) {
  // Most recently used first: its caches are the warmest, and the oldest ones age out.
  auto pick = idle_.end();
  for (auto it = idle_.rbegin(); it != idle_.rend(); ++it) {
    const Slot& s = **it;
    if (!options_.per_principal || s.owner == owner) {
      pick = std::prev(it.base());
      break;
    }
    if (!s.owner && pick == idle_.end()) pick = std::prev(it.base());
  }
  if (pick == idle_.end()) return nullptr;
  std::unique_ptr<Slot> slot = std::move(*pick);
  idle_.erase(pick);
  return slot;
}

Result<std::unique_ptr<Pool::Slot>> Pool::StartSlot() {
  const auto start = clock_->Now();
  auto env = factory_->Start();
  const auto ready = clock_->Now();
  if (!env) return tl::unexpected(env.error());
  auto slot = std::make_unique<Slot>();
  slot->env = std::move(*env);
  slot->init_ms = CeilMillis(ready - start);
  slot->last = slot->env->SampleUsage();
  slot->idle_since = ready;
  return slot;
}

void Pool::Release(std::unique_ptr<Slot> slot, bool reuse, bool failed) {
  std::vector<std::unique_ptr<Slot>> graveyard;
  bool first_idle = false;
  {
    std::lock_guard lock(mu_);
    --busy_;
    if (reuse && !closed_) {
      slot->idle_since = clock_->Now();
      first_idle = idle_.empty();
      idle_.push_back(std::move(slot));
    } else {
      if (failed) {
        ++counters_.destroyed;
      } else if (!closed_) {
        ++counters_.recycled;
      }
      ++dying_;
      graveyard.push_back(std::move(slot));
    }
  }
  freed_.notify_one();
  if (first_idle && idle_listener_) idle_listener_();
  Bury(std::move(graveyard));
}

bool Pool::NeedsMaintenance() const {
  std::lock_guard lock(mu_);
  return !closed_ && (!idle_.empty() || options_.min_idle > 0);
}

Result<InvokeResult> Pool::Invoke(const Invocation& invocation, Metering* metering) {
  Metering m;
  auto fail = [&](std::string code, std::string message, std::string outcome) {
    m.outcome = std::move(outcome);
    if (metering != nullptr) *metering = m;
    return tl::unexpected(Error{std::move(code), std::move(message)});
  };
  const std::string owner = options_.per_principal ? invocation.principal_id : std::string();

  std::unique_ptr<Slot> slot;
  std::vector<std::unique_ptr<Slot>> graveyard;  // destroyed after the lock is released
  bool cold = false;
  {
    std::unique_lock lock(mu_);
    const auto queue_deadline = std::chrono::steady_clock::now() + options_.queue_timeout;
    bool queued = false;
    for (;;) {
      if (closed_) {
        return fail("unknown-function", "function `" + function_ + "` is not deployed",
                    "unknown-function");
      }
      while ((slot = TakeIdleLocked(owner)) != nullptr && !slot->env->Reusable()) {
        // Ended while idle (killed from outside, or its runtime died): never handed out.
        ++counters_.destroyed;
        ++dying_;
        graveyard.push_back(std::move(slot));
      }
      if (slot) {
        ++busy_;
        ++counters_.warm_starts;
        break;
      }
      if (AliveLocked() < options_.max_concurrency) {
        ++starting_;
        cold = true;
        break;
      }
      if (!idle_.empty()) {
        // Full, but only with other principals' idle environments: the least recently
        // used one makes room (it is never handed to this caller).
        graveyard.push_back(std::move(idle_.front()));
        idle_.erase(idle_.begin());
        ++dying_;
        ++counters_.evicted;
        ++starting_;
        cold = true;
        break;
      }
      if (!queued && waiting_ >= options_.max_waiting) {
        ++counters_.over_capacity;
        return fail("over-capacity",
                    "function `" + function_ + "` is at its concurrency limit (" +
                        std::to_string(options_.max_concurrency) + ") and " +
                        std::to_string(waiting_) + " invocations are already waiting",
                    "over-capacity");
      }
      if (queued && std::chrono::steady_clock::now() >= queue_deadline) {
        ++counters_.over_capacity;
        return fail("over-capacity",
                    "function `" + function_ + "` stayed at its concurrency limit (" +
                        std::to_string(options_.max_concurrency) + ") for " +
                        std::to_string(options_.queue_timeout.count()) + " ms",
                    "over-capacity");
      }
      queued = true;
      ++waiting_;
      freed_.wait_until(lock, queue_deadline);
      --waiting_;
    }
  }
  Bury(std::move(graveyard));

  if (cold) {
    auto started = StartSlot();
    {
      std::lock_guard lock(mu_);
      --starting_;
      if (started) {
        ++busy_;
        ++counters_.cold_starts;
      } else {
        ++counters_.start_failures;
      }
    }
    if (!started) {
      freed_.notify_one();
      return fail(PublicCode(started.error().code),
                  "function `" + function_ + "`: cannot start an environment: " +
                      started.error().message,
                  "start-failed");
    }
    slot = std::move(*started);
  }
  if (options_.per_principal && !slot->owner) slot->owner = owner;

  // The runtime stops the handler at the invocation's deadline and says so; the channel
  // waits a grace period longer, so a runtime that cannot (wedged, or killed) is caught.
  const Invocation* to_run = &invocation;
  std::optional<Invocation> adjusted;
  std::chrono::milliseconds budget = options_.timeout;
  if (invocation.deadline_ms == 0 ||
      invocation.deadline_ms > static_cast<uint64_t>(budget.count())) {
    adjusted = invocation;
    adjusted->deadline_ms = static_cast<uint64_t>(budget.count());
    to_run = &*adjusted;
  } else {
    budget = std::chrono::milliseconds(invocation.deadline_ms);
  }
  const auto begin = clock_->Now();
  auto response = slot->env->Invoke(*to_run, budget + DeadlineGrace(budget));
  const auto end = clock_->Now();
  const ResourceSample usage = slot->env->SampleUsage();
  m = MeterInvocation(begin, end, slot->last, usage);
  m.cold = cold;
  m.init_ms = cold ? slot->init_ms : 0;
  slot->last = usage;
  ++slot->invocations;

  if (!response) {
    Error e = std::move(response.error());
    m.violation = slot->env->Violation();
    // "invalid": the invocation never reached the runtime, the environment is intact.
    const bool reuse = e.code == "invalid" && slot->env->Reusable();
    if (e.code == "invalid") m.duration_us = m.billed_ms = m.cpu_ms = 0;
    Release(std::move(slot), reuse, !reuse);
    return fail(PublicCode(e.code), "function `" + function_ + "`: " + e.message, e.code);
  }
  if (response->tainted && response->kind == Response::Kind::kUnhandledError &&
      response->error_type == "timeout") {
    // The runtime stopped the handler at its deadline: a timeout, whoever noticed it.
    m.outcome = "timeout";
    Release(std::move(slot), false, true);
    return fail("timeout", "function `" + function_ + "`: " + response->error_message,
                "timeout");
  }
  m.outcome = response->kind == Response::Kind::kOk ? "ok" : "function-error";
  const bool healthy = !response->tainted && slot->env->Reusable();
  const bool spent =
      options_.max_invocations != 0 && slot->invocations >= options_.max_invocations;
  Release(std::move(slot), healthy && !spent, !healthy);
  if (metering != nullptr) *metering = m;
  return InvokeResult{std::move(*response), std::move(m)};
}

Result<void> Pool::Prewarm(size_t count) {
  count = std::min(count, options_.max_concurrency);
  size_t to_start = 0;
  {
    std::lock_guard lock(mu_);
    if (closed_) return Fail("unknown-function", "function `" + function_ + "` is not deployed");
    const size_t alive = AliveLocked();
    to_start = count > alive ? count - alive : 0;
    starting_ += to_start;
    warming_ += to_start;
  }
  Result<void> result;
  for (size_t i = 0; i < to_start; ++i) {
    // After a failure the remaining reservations are only given back.
    auto started = result ? StartSlot() : Result<std::unique_ptr<Slot>>(nullptr);
    std::vector<std::unique_ptr<Slot>> discard;
    {
      std::lock_guard lock(mu_);
      --starting_;
      --warming_;
      if (started && *started) {
        ++counters_.cold_starts;
        if (closed_) {
          discard.push_back(std::move(*started));
          ++dying_;
        } else {
          idle_.push_back(std::move(*started));
        }
      } else if (!started) {
        ++counters_.start_failures;
      }
    }
    freed_.notify_one();
    Bury(std::move(discard));
    if (!started && result) {
      result = tl::unexpected(Error{PublicCode(started.error().code),
                                    "function `" + function_ +
                                        "`: cannot start an environment: " +
                                        started.error().message});
    }
  }
  return result;
}

void Pool::Maintain() {
  std::vector<std::unique_ptr<Slot>> graveyard;
  size_t to_start = 0;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    const auto now = clock_->Now();
    size_t unowned = 0;
    for (const auto& s : idle_) {
      if (!s->owner && s->env->Reusable()) ++unowned;
    }
    // Oldest first, so the least recently used go and the warmest stay.
    for (auto it = idle_.begin(); it != idle_.end();) {
      Slot& s = **it;
      const bool dead = !s.env->Reusable();
      const bool expired = now - s.idle_since >= options_.idle_ttl;
      const bool kept_warm = !s.owner && unowned <= options_.min_idle;
      if (dead || (expired && !kept_warm)) {
        if (dead) {
          ++counters_.destroyed;
        } else {
          ++counters_.expired;
          if (!s.owner) --unowned;
        }
        graveyard.push_back(std::move(*it));
        it = idle_.erase(it);
        ++dying_;
      } else {
        ++it;
      }
    }
    const size_t warm = unowned + warming_;
    if (warm < options_.min_idle) {
      const size_t room = options_.max_concurrency - std::min(options_.max_concurrency,
                                                              AliveLocked());
      to_start = std::min(options_.min_idle - warm, room);
      starting_ += to_start;
      warming_ += to_start;
    }
  }
  Bury(std::move(graveyard));
  bool failed = false;
  for (size_t i = 0; i < to_start; ++i) {
    auto started = failed ? Result<std::unique_ptr<Slot>>(nullptr) : StartSlot();
    std::vector<std::unique_ptr<Slot>> discard;
    {
      std::lock_guard lock(mu_);
      --starting_;
      --warming_;
      if (started && *started) {
        ++counters_.cold_starts;
        if (closed_) {
          discard.push_back(std::move(*started));
          ++dying_;
        } else {
          idle_.push_back(std::move(*started));
        }
      } else if (!started) {
        ++counters_.start_failures;
        failed = true;  // tried again at the next maintenance, not in a tight loop
      }
    }
    freed_.notify_one();
    Bury(std::move(discard));
  }
}

void Pool::Close() {
  std::vector<std::unique_ptr<Slot>> graveyard;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    graveyard = std::move(idle_);
    idle_.clear();
    dying_ += graveyard.size();
  }
  freed_.notify_all();
  Bury(std::move(graveyard));
}

Pool::Stats Pool::GetStats() const {
  std::lock_guard lock(mu_);
  Stats s = counters_;
  s.idle = idle_.size();
  s.busy = busy_;
  s.starting = starting_;
  s.waiting = waiting_;
  return s;
}

}  // namespace fnjail::runtime
