// The invocation step of the filter chain: an interface over the execution environments,
// so the chain is tested with a fake and the service binds runtime::Environments.
#pragma once

#include <cstdint>
#include <string>

#include <tl/expected.hpp>

#include "runtime/protocol.h"

namespace fnjail::gateway {

// What one invocation cost (runtime::Metering, plus the violation when there was one).
struct InvokeMetering {
  uint64_t duration_us = 0;
  uint64_t billed_ms = 0;
  uint64_t init_ms = 0;
  uint64_t cpu_ms = 0;
  uint64_t peak_memory_kb = 0;
  bool cold = false;
  std::string outcome;    // "ok", "function-error", "timeout", "seccomp", "oom", ...
  std::string violation;  // e.g. the blocked syscall; empty when none
};

struct InvokeSuccess {
  runtime::Response response;
  InvokeMetering metering;
};

// Why nothing or nothing usable came back. `code` is one of the pool's error codes, which
// the chain maps to HTTP (docs/gateway-chain.md, "Status codes"):
//   "over-capacity" 503, "timeout" 504, "jail" 502, "unknown-function" 404,
//   "invalid" 400; anything else 500.
struct InvokeFailure {
  std::string code;
  std::string message;  // for logs and the audit record, never for the caller
  InvokeMetering metering;
};

// Runs invocations. Implementations are thread-safe and block until the function answers
// or its deadline (invocation.deadline_ms) passes.
class Invoker {
 public:
  virtual ~Invoker() = default;
  virtual tl::expected<InvokeSuccess, InvokeFailure> Invoke(
      const runtime::Invocation& invocation) = 0;
};

}  // namespace fnjail::gateway
