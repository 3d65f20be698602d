// Token buckets per principal and concurrency gates per function.
#include "gateway/admission.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace fnjail::gateway {

RateLimiter::RateLimiter(RateLimiterOptions options)
    : options_(std::move(options)), shards_(std::make_unique<Shard[]>(kShards)) {
  auto fix = [](RateLimit& l) {
    if (l.rate_per_second < 0 || !std::isfinite(l.rate_per_second)) l.rate_per_second = 0;
    if (l.rate_per_second > 0 && !(l.burst >= 1)) l.burst = 1;
  };
  fix(options_.default_limit);
  for (auto& [id, limit] : options_.per_principal) fix(limit);
  if (options_.max_tracked_principals < kShards) options_.max_tracked_principals = kShards;
}

RateLimiter::~RateLimiter() = default;

const RateLimit& RateLimiter::LimitFor(std::string_view principal) const {
  auto it = options_.per_principal.find(principal);
  return it == options_.per_principal.end() ? options_.default_limit : it->second;
}

RateLimiter::Decision RateLimiter::Acquire(std::string_view principal, int64_t now_ms) {
  const RateLimit& limit = LimitFor(principal);
  if (limit.rate_per_second <= 0) return {};
  Shard& shard = shards_[std::hash<std::string_view>{}(principal) % kShards];
  std::lock_guard lock(shard.mu);
  auto it = shard.buckets.find(std::string(principal));
  if (it == shard.buckets.end()) {
    size_t cap = options_.max_tracked_principals / kShards;
    if (shard.buckets.size() >= cap) {
      // Drop every bucket that has refilled completely; if none has, the stalest one.
      auto stalest = shard.buckets.end();
      for (auto b = shard.buckets.begin(); b != shard.buckets.end();) {
        const RateLimit& l = LimitFor(b->first);
        double refill = l.rate_per_second * static_cast<double>(now_ms - b->second.last_ms) / 1000.0;
        if (l.rate_per_second <= 0 || b->second.tokens + refill >= l.burst) {
          b = shard.buckets.erase(b);
          continue;
        }
        if (stalest == shard.buckets.end() || b->second.last_ms < stalest->second.last_ms) {
          stalest = b;
        }
        ++b;
      }
      if (shard.buckets.size() >= cap && stalest != shard.buckets.end()) {
        shard.buckets.erase(stalest);
      }
    }
    it = shard.buckets.emplace(std::string(principal), Bucket{limit.burst, now_ms}).first;
  }
  Bucket& b = it->second;
  if (now_ms > b.last_ms) {
    b.tokens = std::min(limit.burst, b.tokens + limit.rate_per_second *
                                                    static_cast<double>(now_ms - b.last_ms) /
                                                    1000.0);
    b.last_ms = now_ms;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return {};
  }
  double missing = 1.0 - b.tokens;
  // The epsilon keeps float noise (0.3 * 1000 = 300.00000000000006) from adding 1 ms.
  auto wait = static_cast<int64_t>(std::ceil(missing * 1000.0 / limit.rate_per_second - 1e-6));
  return {false, std::max<int64_t>(wait, 1)};
}

size_t RateLimiter::tracked() const {
  size_t n = 0;
  for (size_t i = 0; i < kShards; ++i) {
    std::lock_guard lock(shards_[i].mu);
    n += shards_[i].buckets.size();
  }
  return n;
}

int64_t RetryAfterSeconds(int64_t ms) noexcept {
  if (ms <= 1000) return 1;
  return (ms + 999) / 1000;
}

std::optional<ConcurrencyGate::Ticket> ConcurrencyGate::TryEnter() {
  if (limit_ == 0) {
    in_flight_.fetch_add(1, std::memory_order_acq_rel);
    return Ticket(this);
  }
  size_t current = in_flight_.load(std::memory_order_relaxed);
  do {
    if (current >= limit_) return std::nullopt;
  } while (!in_flight_.compare_exchange_weak(current, current + 1, std::memory_order_acq_rel,
                                             std::memory_order_relaxed));
  return Ticket(this);
}

}  // namespace fnjail::gateway
