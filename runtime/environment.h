// fnjail::runtime execution environments: one warm jail of one function, behind an
// interface so that pools (runtime/pool.h) are independent of how environments start.
//
// An Environment is one running instance of a function's runtime: for jails, one
// `fnjail-runtime` process in its own namespaces and cgroup, holding the channel. It serves
// one invocation at a time and is never shared between functions. Destroying it kills
// whatever still runs in it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "runtime/protocol.h"

namespace fnjail::sandbox {
class JailHost;
class PreparedJail;
}  // namespace fnjail::sandbox

namespace fnjail::runtime {

// Resource use of an environment so far (cumulative since it started).
struct ResourceSample {
  uint64_t cpu_ms = 0;          // user + system of everything in the environment
  uint64_t memory_kb = 0;       // current memory charge
  uint64_t peak_memory_kb = 0;  // peak memory charge since the environment started
};

// Why an environment failed an invocation, as the error code of Environment::Invoke. These
// are also the metering outcomes of failed invocations (Metering::outcome):
//   "timeout"       the budget passed; the environment was killed
//   "seccomp"       the jail called a forbidden syscall (the message names it)
//   "oom"           the jail reached its memory limit
//   "pids"          the jail reached its process limit
//   "output-limit"  the jail wrote more than its output cap
//   "crashed"       the runtime exited or died by a signal
//   "protocol"      the runtime sent something malformed or unauthenticated
//   "invalid"       the invocation breaks a protocol limit (nothing ran; still usable)
// Pools map "timeout" to their "timeout" error, "invalid" to "invalid" and every other code
// to "jail".
class Environment {
 public:
  virtual ~Environment() = default;

  // Runs one invocation within `budget`. A response whose kind is an error is a function
  // error, not a failure of the environment.
  // REQUIRES: no other call on this environment runs at the same time.
  virtual Result<Response> Invoke(const Invocation& invocation,
                                  std::chrono::milliseconds budget) = 0;

  // Cumulative resource use; cheap enough to call once per invocation. Thread-safe.
  virtual ResourceSample SampleUsage() const = 0;

  // Whether the environment may serve another invocation: false once an invocation failed,
  // the runtime said its state is tainted, or the environment ended on its own.
  // Thread-safe.
  virtual bool Reusable() const = 0;

  // After an invocation failed with "seccomp": the forbidden syscall's name. Empty
  // otherwise. Not thread-safe against Invoke.
  virtual std::string Violation() const { return {}; }
};

// Starts environments of one function ("cold starts"). Thread-safe: pools call Start() from
// any invoking thread and from their maintenance thread at the same time.
class EnvironmentFactory {
 public:
  virtual ~EnvironmentFactory() = default;

  // A new environment, ready for its first invocation. Errors: "jail" (the jail could not
  // be set up; the message says which step), "io".
  virtual Result<std::unique_ptr<Environment>> Start() = 0;
};

// Environments of one function in jails started by `host`: each is `prepared` (the function's
// jail, prepared once) holding one end of a fresh socketpair as its fd 3, with a Session
// (runtime/protocol.h) on the other end. A failed invocation kills the jail: a timeout with
// the sandbox's timeout outcome, and a jail that ended reports its sandbox outcome (a
// seccomp violation names the syscall). `host` must outlive the factory and every
// environment it started.
// REQUIRES: `prepared` was prepared from a spec without channel_fd (each start passes its
// own).
std::shared_ptr<EnvironmentFactory> MakeJailEnvironmentFactory(sandbox::JailHost& host,
                                                               sandbox::PreparedJail prepared);

}  // namespace fnjail::runtime
