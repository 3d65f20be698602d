// The in-jail program's view of one runtime: a handler called once per invocation.
#pragma once

#include <chrono>
#include <string>

#include "runtime/protocol.h"

namespace fnjail::runtime::inside {

using Clock = std::chrono::steady_clock;

// One kind of runtime (Lua, exec simple, exec persistent). Handle is called for one
// invocation at a time; it never throws and always produces a response (errors of the
// function are responses, not failures of the runtime).
class Runtime {
 public:
  virtual ~Runtime() = default;
  // Runs `invocation`, stopping the function at `deadline`.
  virtual Response Handle(const Invocation& invocation, Clock::time_point deadline) = 0;
};

// A response reporting an unhandled function error.
inline Response UnhandledError(std::string type, std::string message, bool tainted) {
  Response r;
  r.kind = Response::Kind::kUnhandledError;
  r.status = 500;
  r.error_type = std::move(type);
  r.error_message = std::move(message);
  r.tainted = tainted;
  return r;
}

}  // namespace fnjail::runtime::inside
