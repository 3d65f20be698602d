// fnjail::runtime protocol: invocations and responses between the gateway and the runtime
// program inside a function's jail, over the encrypted record channel (docs/runtimes.md).
//
// One environment is one jail running `fnjail-runtime`, holding one end of a socketpair as
// fd 3. The gateway's Session owns nothing but the knowledge of the other end: it writes a
// fresh per-launch secret into the socket before the runtime reads anything, then runs one
// invocation at a time. Each invocation has channel keys of its own, derived from the secret
// and bound to the session's invocation counter and the request id, so a record of one
// invocation never opens in another. Every field on the wire is bounded (the k* limits
// below); a message out of bounds is refused by both encoders and decoders.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

namespace fnjail::runtime {

// ---------------------------------------------------------------------------------------
// Errors.

// A failed platform operation. `code` is a short stable word callers switch on:
//   "invalid"   the invocation or response breaks a limit of the protocol
//   "protocol"  the peer sent something malformed or unauthenticated
//   "closed"    the peer closed the channel (the runtime died)
//   "timeout"   the time budget passed before the response was complete
//   "io"        a socket or system call failed
//   "broken"    the session already failed once and must not be reused
//   "parse"     a function file is invalid (message: one `file:line:col: error: ...` per line)
//   "jail"      the function's jail spec could not be built
struct Error {
  std::string code;
  std::string message;

  // "code: message".
  std::string ToString() const;
};

template <class T>
class [[nodiscard]] Result : public tl::expected<T, Error> {
 public:
  using tl::expected<T, Error>::expected;
};

inline tl::unexpected<Error> Fail(std::string code, std::string message) {
  return tl::unexpected(Error{std::move(code), std::move(message)});
}

// ---------------------------------------------------------------------------------------
// Messages.

// Limits of the protocol (docs/runtimes.md, "Messages").
inline constexpr size_t kMaxRequestIdBytes = 128;
inline constexpr size_t kMaxFunctionNameBytes = 64;
inline constexpr size_t kMaxPrincipalIdBytes = 256;
inline constexpr size_t kMaxPrincipalGroups = 64;
inline constexpr size_t kMaxGroupBytes = 256;
inline constexpr size_t kMaxEventBytes = size_t{6} << 20;
inline constexpr size_t kMaxBodyBytes = size_t{6} << 20;
inline constexpr size_t kMaxHeaders = 64;
inline constexpr size_t kMaxHeaderNameBytes = 256;
inline constexpr size_t kMaxHeaderValueBytes = 8192;
inline constexpr size_t kMaxErrorTypeBytes = 128;
inline constexpr size_t kMaxErrorMessageBytes = 4096;
inline constexpr size_t kMaxLogLines = 256;
inline constexpr size_t kMaxLogLineBytes = 4096;
inline constexpr uint64_t kMaxDeadlineMs = 24ull * 3600 * 1000;

// One call of a function.
struct Invocation {
  std::string request_id;  // 1..kMaxRequestIdBytes printable ASCII; binds the channel keys
  std::string function;    // the function's name
  uint64_t deadline_ms = 0;  // time budget of this invocation, as the handler sees it
  std::string principal_id;
  std::vector<std::string> principal_groups;
  std::string event;  // raw bytes (JSON for Lua)
};

// What the function answered.
struct Response {
  enum class Kind : uint8_t {
    kOk,              // status, headers, body
    kHandledError,    // the function reported an error itself (error_type, error_message)
    kUnhandledError,  // the handler raised, crashed, timed out or ran out of memory
  };
  Kind kind = Kind::kOk;
  int status = 200;  // 100..599
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string error_type, error_message;  // for the two error kinds, e.g. "timeout"
  std::vector<std::string> logs;          // ctx.log() lines / stderr lines, capped
  // The runtime no longer trusts its own state (a handler stopped past its deadline or out
  // of memory, a persistent child that died): the environment must be destroyed, not reused.
  bool tainted = false;
};

// "ok", "handled-error", "unhandled-error".
std::string_view ResponseKindName(Response::Kind kind) noexcept;

// The message codecs (docs/runtimes.md has the byte layout). Encoders refuse values out of
// the limits with "invalid"; decoders refuse anything but one exact, in-bounds message
// with "protocol". Pure functions, safe on any input.
Result<std::string> EncodeInvocation(const Invocation& invocation);
Result<Invocation> DecodeInvocation(std::string_view bytes);
Result<std::string> EncodeResponse(const Response& response);
Result<Response> DecodeResponse(std::string_view bytes);

// Brings `response` within the limits: truncates log lines, error texts and surplus
// headers/logs, and turns a body too large into an unhandled error "response-too-large".
// The runtime calls it before encoding whatever a handler produced.
void ClampResponse(Response& response);

// ---------------------------------------------------------------------------------------
// The gateway's end of one environment's channel.

// Not thread-safe: one invocation at a time per session. Move-only. After any failed
// Invoke the session is broken (the channel is in an unknown state): the caller destroys the
// environment, and later Invoke calls fail with "broken".
class Session {
 public:
  // Draws a per-launch secret and writes the launch message (docs/runtimes.md) into
  // `host_fd`, the host end of the socketpair whose other end becomes fd 3 in the jail.
  // Call it before or right after starting the jail: the bytes wait in the socket buffer.
  // `host_fd` is not owned and must outlive the session.
  static Result<Session> Create(int host_fd);

  // Sends `invocation` and waits for the response, at most `budget` in all (poll()):
  // "timeout" when it passes (the caller then kills the jail), "closed" when the runtime
  // went away, "protocol" on anything malformed or unauthenticated, "invalid" when the
  // invocation breaks a limit (the session stays usable then).
  Result<Response> Invoke(const Invocation& invocation, std::chrono::milliseconds budget);

  // Invocations completed so far.
  uint64_t invocations() const noexcept { return completed_; }
  bool broken() const noexcept { return broken_; }

  Session(Session&& other) noexcept;
  Session& operator=(Session&& other) noexcept;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session();

 private:
  Session(int fd, std::string secret);

  int fd_ = -1;
  std::string secret_;
  uint64_t next_counter_ = 1;
  uint64_t completed_ = 0;
  bool broken_ = false;
};

}  // namespace fnjail::runtime
