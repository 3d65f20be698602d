// The Lua runtime: one Lua 5.4 state per environment, the handler file loaded once, a
// restricted standard library, a memory cap in the allocator and a deadline hook.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "runtime/inside/runtime.h"

namespace fnjail::runtime::inside {

struct LuaOptions {
  std::string handler_path;          // the handler file; its folder is the `require` root
  size_t memory_limit_bytes = 64u << 20;  // cap of the Lua allocator
  uint64_t init_timeout_ms = 10'000;      // budget of the handler file's top level
};

// Creates the Lua runtime. When the handler cannot be loaded (missing file, syntax error,
// no `handler` function, an error or timeout at its top level) the runtime still serves:
// every invocation then answers an unhandled "init-error" with the reason, tainted.
std::unique_ptr<Runtime> MakeLuaRuntime(const LuaOptions& options);

}  // namespace fnjail::runtime::inside
