// Metering of one invocation: durations rounded for billing and usage deltas.
#include "runtime/metering.h"

namespace fnjail::runtime {

uint64_t CeilMillis(std::chrono::nanoseconds d) noexcept {
  if (d.count() <= 0) return 0;
  const auto ns = static_cast<uint64_t>(d.count());
  return (ns + 999'999) / 1'000'000;
}

uint64_t BilledMillis(uint64_t duration_us) noexcept {
  const uint64_t ms = duration_us / 1000 + (duration_us % 1000 != 0 ? 1 : 0);
  return ms == 0 ? 1 : ms;
}

Metering MeterInvocation(std::chrono::steady_clock::time_point begin,
                         std::chrono::steady_clock::time_point end,
                         const ResourceSample& before, const ResourceSample& after) noexcept {
  Metering m;
  const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(end - begin);
  m.duration_us = elapsed.count() > 0 ? static_cast<uint64_t>(elapsed.count()) : 0;
  m.billed_ms = BilledMillis(m.duration_us);
  m.cpu_ms = after.cpu_ms > before.cpu_ms ? after.cpu_ms - before.cpu_ms : 0;
  m.peak_memory_kb = after.peak_memory_kb;
  return m;
}

}  // namespace fnjail::runtime
