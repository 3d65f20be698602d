// fnjail::runtime function definitions: one TOML file per function (docs/runtimes.md,
// "Function files"), and the jail spec that runs it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/protocol.h"
#include "sandbox/sandbox.h"

namespace fnjail::runtime {

// Where the runtime program and the function's folder appear inside every jail.
inline constexpr std::string_view kRuntimeInJail = "/run/fnjail/runtime";
inline constexpr std::string_view kFunctionDirInJail = "/run/fnjail/function";

inline constexpr size_t kMaxFunctionFileBytes = 256 << 10;
inline constexpr size_t kMaxSchemaBytes = 1 << 20;

enum class RuntimeKind : uint8_t { kLua, kExec };
enum class ExecMode : uint8_t { kSimple, kPersistent };

// "lua", "exec"; "simple", "persistent".
std::string_view RuntimeKindName(RuntimeKind kind) noexcept;
std::string_view ExecModeName(ExecMode mode) noexcept;

// A route the function declares besides /v1/functions/{name}/invoke.
struct Route {
  std::string method;  // upper-case token, or "*" for any
  std::string path;    // absolute; segments may be `{param}`
};

// Pool settings of the function; unset ones take the gateway's defaults.
struct FunctionPool {
  std::optional<uint32_t> min_idle;
  std::optional<uint32_t> max_concurrency;
  std::optional<uint64_t> idle_ttl_ms;
  std::optional<uint64_t> max_invocations;
  std::optional<bool> per_principal;
  std::optional<uint32_t> prewarm;
};

// A parsed, checked function file.
struct FunctionSpec {
  std::string name;  // [a-z0-9][a-z0-9_-]*, at most kMaxFunctionNameBytes
  std::string file;  // the function file as given (may be empty for text parsed alone)
  RuntimeKind runtime = RuntimeKind::kLua;
  // The handler as written, and where it is: for a relative handler, `folder` is its folder
  // on the host (absolute), bound read-only at kFunctionDirInJail, and `handler_in_jail`
  // is its path there; an absolute exec handler (e.g. /usr/bin/python3) is used as is.
  std::string handler;
  std::string folder;  // host folder bound at kFunctionDirInJail; empty: none
  std::string handler_in_jail;
  std::vector<std::string> args;  // exec: arguments after the handler
  ExecMode mode = ExecMode::kSimple;
  uint32_t lua_memory_mb = 0;     // lua: cap of the Lua heap; 0: 3/4 of the memory limit
  uint64_t timeout_ms = 3000;     // budget of one invocation
  std::optional<uint32_t> concurrency;  // invocations at once, across environments
  std::vector<std::string> secrets;     // names of the secrets the function receives
  std::vector<Route> routes;
  std::string input_schema;       // JSON Schema text of the event; empty: none
  std::string input_schema_file;  // host path it was read from; empty when inline
  FunctionPool pool;
  sandbox::Profile profile;  // the [profile] table (docs/function-profile.md)
};

// Parses a function file. `file` names it in messages and anchors relative paths (the
// handler, its folder and a schema file, which must exist). Errors: code "parse", the
// message one `file:line:col: error: ...` line per problem (unknown keys, wrong types,
// bad names, a missing or escaping handler, settings that do not fit the runtime, and every
// problem of the [profile] table), all of them, not just the first.
Result<FunctionSpec> ParseFunctionToml(std::string_view text, std::string_view file);

// Reads and parses `path`. Errors: "parse" (also when it cannot be read).
Result<FunctionSpec> LoadFunction(const std::string& path);

struct JailOptions {
  // The fnjail-runtime binary on the host; empty: RuntimeBinaryPath().
  std::string runtime_binary;
  // Grants the profile's [dangerous] switches. Without it a function whose profile asks
  // for any is refused: only callers linking fnjail::sandbox_dangerous can run one.
  const sandbox::DangerousToken* dangerous = nullptr;
};

// $FNJAIL_RUNTIME when set, else `fnjail-runtime` next to this process's executable.
std::string RuntimeBinaryPath();

// The jail spec of `fn`: its profile, plus the runtime binary bound read-only at
// kRuntimeInJail, the function's folder bound read-only at kFunctionDirInJail (also the
// working directory), and the runtime's argv. Lua functions run under the "lua" syscall
// preset. The spec has no channel yet (channel_fd -1). Errors: code "jail" (a dangerous
// profile without a token, a missing runtime binary, an invalid spec).
Result<sandbox::SandboxSpec> JailSpecFor(const FunctionSpec& fn, const JailOptions& options = {});

}  // namespace fnjail::runtime
