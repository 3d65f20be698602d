// The exec runtime: any executable as a handler, one process per invocation (simple) or
// one long-lived process speaking length-prefixed frames on stdin/stdout (persistent).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "runtime/inside/runtime.h"

namespace fnjail::runtime::inside {

struct ExecOptions {
  std::vector<std::string> argv;  // the handler command; argv[0] resolved against PATH
  bool persistent = false;
};

// Creates the runtime. A persistent handler is started at once; if it cannot be, every
// invocation answers an unhandled "init-error", tainted.
std::unique_ptr<Runtime> MakeExecRuntime(const ExecOptions& options);

}  // namespace fnjail::runtime::inside
