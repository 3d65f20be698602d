// Admission: a token bucket per principal and a concurrency limit per function. Over a
// limit the request is refused at once (429 with Retry-After), never queued silently.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace fnjail::gateway {

// A token bucket: `rate_per_second` tokens refill continuously up to `burst`; a request
// takes one. rate_per_second 0 means no limit.
struct RateLimit {
  double rate_per_second = 0;
  double burst = 0;  // at least 1 when rate_per_second > 0 (Create raises it to 1)
};

struct RateLimiterOptions {
  RateLimit default_limit;
  std::map<std::string, RateLimit, std::less<>> per_principal;  // overrides by principal id
  size_t max_tracked_principals = 100000;
};

// Token buckets by principal id. Thread-safe: buckets live in mutex-striped shards, so
// concurrent requests of different principals rarely contend. Memory is bounded: past
// max_tracked_principals, buckets that have refilled completely are dropped first (they
// are indistinguishable from new ones), then the least recently used.
class RateLimiter {
 public:
  explicit RateLimiter(RateLimiterOptions options);
  ~RateLimiter();
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  struct Decision {
    bool admitted = true;
    int64_t retry_after_ms = 0;  // when refused: time until the next token
  };

  // Takes one token from `principal`'s bucket at `now_ms` (any monotonic ms clock; a clock
  // that goes backwards refills nothing).
  Decision Acquire(std::string_view principal, int64_t now_ms);

  size_t tracked() const;

 private:
  struct Bucket {
    double tokens = 0;
    int64_t last_ms = 0;
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Bucket> buckets;
  };
  static constexpr size_t kShards = 16;

  const RateLimit& LimitFor(std::string_view principal) const;

  RateLimiterOptions options_;
  std::unique_ptr<Shard[]> shards_;
};

// Whole seconds to put in Retry-After for a wait of `ms`: rounded up, at least 1.
int64_t RetryAfterSeconds(int64_t ms) noexcept;

// At most `limit` holders at once. Lock-free; thread-safe. limit 0 means no limit.
class ConcurrencyGate {
 public:
  explicit ConcurrencyGate(size_t limit) : limit_(limit) {}

  // Releases its slot when destroyed. Move-only.
  class Ticket {
   public:
    Ticket() = default;
    explicit Ticket(ConcurrencyGate* gate) : gate_(gate) {}
    Ticket(Ticket&& other) noexcept : gate_(other.gate_) { other.gate_ = nullptr; }
    Ticket& operator=(Ticket&& other) noexcept {
      if (this != &other) {
        Release();
        gate_ = other.gate_;
        other.gate_ = nullptr;
      }
      return *this;
    }
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket() { Release(); }

   private:
    void Release() {
      if (gate_ != nullptr) gate_->in_flight_.fetch_sub(1, std::memory_order_acq_rel);
      gate_ = nullptr;
    }
    ConcurrencyGate* gate_ = nullptr;
  };

  // A ticket, or nullopt when `limit` holders already have one.
  std::optional<Ticket> TryEnter();

  size_t in_flight() const noexcept { return in_flight_.load(std::memory_order_relaxed); }
  size_t limit() const noexcept { return limit_; }

 private:
  const size_t limit_;
  std::atomic<size_t> in_flight_{0};
};

}  // namespace fnjail::gateway
