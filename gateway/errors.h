// The gateway's error answers: stable codes, their HTTP statuses, the JSON error body
// `{"error":{"code":"...","message":"...","request_id":"..."}}`, and request ids.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/http.h"

namespace fnjail::gateway {

// Every error the gateway itself answers with. Each has one HTTP status and one stable
// code (ErrorCodeName), so clients switch on `error.code`, never on the message text.
enum class ErrorCode {
  kBadRequest,            // 400 bad-request: a malformed path, query or header
  kAmbiguousCredentials,  // 400 ambiguous-credentials: more than one credential sent
  kInvalidBody,           // 400 invalid-body: not JSON, too deep, a duplicate key
  kSchemaViolation,       // 400 schema-violation: the body breaks the function's schema
  kUnauthenticated,       // 401 unauthenticated: no credentials
  kInvalidCredentials,    // 401 invalid-credentials: credentials that do not verify
  kForbidden,             // 403 forbidden: the policy denied the request
  kNotFound,              // 404 not-found
  kMethodNotAllowed,      // 405 method-not-allowed
  kPayloadTooLarge,       // 413 payload-too-large
  kUnsupportedMediaType,  // 415 unsupported-media-type
  kRateLimited,           // 429 rate-limited: the principal's token bucket is empty
  kConcurrencyLimited,    // 429 concurrency-limited: the function is at its limit
  kFunctionError,         // 500 function-error: the function failed (unhandled)
  kInternal,              // 500 internal: the gateway itself failed
  kBadGateway,            // 502 bad-gateway: the jail failed (crash, seccomp, oom, setup)
  kOverCapacity,          // 503 over-capacity: no execution environment available
  kUnavailable,           // 503 unavailable: not ready, or the audit log cannot record
  kGatewayTimeout,        // 504 function-timeout: the function ran past its deadline
};

// The HTTP status of `code`.
int ErrorStatus(ErrorCode code) noexcept;
// The stable code string of `code`, e.g. "invalid-credentials".
std::string_view ErrorCodeName(ErrorCode code) noexcept;

// Appends `s` to `out` as the inside of a JSON string (no quotes): `"` `\` and control
// characters escaped, bytes that are not well-formed UTF-8 replaced by U+FFFD, so the
// output is always valid JSON whatever the input.
void AppendJsonEscaped(std::string& out, std::string_view s);

// The JSON error body for `code`, `message` and `request_id`.
std::string RenderErrorBody(std::string_view code, std::string_view message,
                      std::string_view request_id);

// A complete error response: the status of `code`, Content-Type application/json,
// X-Request-Id, Cache-Control no-store and the JSON body.
HttpResponse ErrorReply(ErrorCode code, std::string_view message,
                           std::string_view request_id);

// Request ids: `<16 hex of a random per-process prefix><16 hex of a counter>`, unique
// within the process and, with overwhelming probability, across restarts. Lock-free and
// thread-safe; an id costs one atomic increment.
class RequestIdGenerator {
 public:
  static constexpr size_t kLength = 32;
  // Draws the prefix from the OpenSSL DRBG; falls back to time and address entropy only if
  // the DRBG cannot be seeded (ids stay unique within the process either way).
  RequestIdGenerator();
  // A generator with a fixed prefix, for deterministic tests.
  explicit RequestIdGenerator(uint64_t prefix) : prefix_(prefix) {}

  std::string Next();

 private:
  uint64_t prefix_;
  std::atomic<uint64_t> counter_{0};
};

}  // namespace fnjail::gateway
