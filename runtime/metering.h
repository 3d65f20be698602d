// fnjail::runtime metering: what one invocation cost, as billed and audited.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "runtime/environment.h"

namespace fnjail::runtime {

// What one invocation cost, returned with its result (and, for a failed invocation, through
// Pool::Invoke's `metering` out-parameter) so the gateway can audit and count it.
struct Metering {
  uint64_t duration_us = 0;  // from handing the event over to the complete response
  uint64_t billed_ms = 0;    // duration rounded up to the next whole millisecond, at least 1
  uint64_t init_ms = 0;      // cold start only: starting the environment (not billed)
  uint64_t cpu_ms = 0;       // CPU time the environment used since its previous invocation
  uint64_t peak_memory_kb = 0;  // the environment's peak memory charge so far
  bool cold = false;
  // "ok", "function-error" (the handler reported or raised an error), or an Environment
  // failure code: "timeout", "seccomp", "oom", "pids", "output-limit", "crashed",
  // "protocol", "invalid"; "over-capacity", "start-failed" and "unknown-function" when
  // nothing ran.
  std::string outcome;
  // For "seccomp": the forbidden syscall (the audit record's `violation`).
  std::string violation;
};

// `d` in whole milliseconds, rounded up (a negative duration counts as zero).
uint64_t CeilMillis(std::chrono::nanoseconds d) noexcept;

// The billed duration of `duration_us`: rounded up to whole milliseconds, at least 1.
uint64_t BilledMillis(uint64_t duration_us) noexcept;

// The metering of one invocation that ran from `begin` to `end`, with the environment's
// cumulative usage `before` and `after` it: duration, billed duration, the CPU time in
// between (counters that went backwards count as zero) and the peak memory so far. `cold`,
// `init_ms` and `outcome` are left to the caller.
Metering MeterInvocation(std::chrono::steady_clock::time_point begin,
                         std::chrono::steady_clock::time_point end,
                         const ResourceSample& before, const ResourceSample& after) noexcept;

}  // namespace fnjail::runtime
