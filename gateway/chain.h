// The filter chain: every request through authentication, routing, authorization, input
// validation, admission, invocation and audit, in that order (docs/gateway-chain.md).
//
// Each stage is a component of its own (auth.h, routes.h, authz.h, validation.h,
// admission.h, invoker.h, metrics.h); the chain owns no policy of its own beyond the order
// and the mapping of each stage's refusal to an HTTP answer. Every answer, allowed or
// refused, carries X-Request-Id and leaves one audit record; in strict mode the record is
// durable before the answer is returned, and a record that cannot be written turns the
// answer into 503 (fail closed: never an answer without its record).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

#include "crypto/crypto.h"
#include "gateway/admission.h"
#include "gateway/auth.h"
#include "gateway/authz.h"
#include "gateway/errors.h"
#include "gateway/http.h"
#include "gateway/invoker.h"
#include "gateway/metrics.h"
#include "gateway/routes.h"
#include "gateway/validation.h"

namespace fnjail::gateway {

// Time sources: wall clock for credentials, policy time and audit; a monotonic clock for
// durations and token buckets. Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t WallMs() const = 0;       // ms since the epoch
  virtual int64_t SteadyMicros() const = 0;  // monotonic
};

class SystemClock final : public Clock {
 public:
  int64_t WallMs() const override;
  int64_t SteadyMicros() const override;
};

// Where audit records go. Thread-safe.
class AuditSink {
 public:
  virtual ~AuditSink() = default;
  // Adds a record; returns its sequence number. Not yet durable.
  virtual tl::expected<uint64_t, std::string> Append(const crypto::AuditRecord& record) = 0;
  // Blocks until record `seq` is durable.
  virtual tl::expected<void, std::string> WaitDurable(uint64_t seq) = 0;
};

// An AuditSink over crypto::AuditWriter. `writer` must outlive the sink.
class AuditWriterSink final : public AuditSink {
 public:
  explicit AuditWriterSink(crypto::AuditWriter* writer) : writer_(writer) {}
  tl::expected<uint64_t, std::string> Append(const crypto::AuditRecord& record) override;
  tl::expected<void, std::string> WaitDurable(uint64_t seq) override;

 private:
  crypto::AuditWriter* writer_;
};

// Structured events for the gateway's log ("auth.failed", "invoke.failed", "audit.failed",
// "chain.exception"), with string fields; never secrets. Thread-safe, non-blocking.
using ChainLogFn = std::function<void(
    std::string_view event, const std::vector<std::pair<std::string, std::string>>& fields)>;

// One deployed function, as the chain needs it.
struct FunctionConfig {
  std::string name;
  InputRules input;
  size_t max_concurrency = 0;  // invocations at once through this gateway; 0: no limit
  uint64_t timeout_ms = 30'000;  // the invocation's deadline
};

struct ChainOptions {
  std::vector<FunctionConfig> functions;
  std::vector<DeclaredRoute> routes;  // each names a function of `functions`
  RouterOptions router;
  // Strict: the audit record is durable (fdatasync) before the answer is returned.
  bool strict_audit = true;
  // Probes (/healthz, /readyz) carry no credentials and touch no function; they are not
  // audited unless this is set.
  bool audit_probes = false;
  // A caller denied on a declared route gets 404, exactly as for a path no route has, so
  // routes cannot be discovered by callers not allowed to use them.
  bool hide_denied_routes = true;
  // /metrics needs an authenticated principal allowed `gateway:ReadMetrics` on
  // `gateway:metrics`. Set false only on a listener of its own (e.g. loopback).
  bool metrics_require_auth = true;
  // Response headers a function may set beyond the built-in allowlist (lower-case names).
  std::vector<std::string> extra_response_headers;
};

struct ChainDeps {
  std::shared_ptr<const Authenticator> authenticator;  // required
  std::shared_ptr<const Authorizer> authorizer;        // required
  std::shared_ptr<RateLimiter> rate_limiter;           // null: no rate limit
  std::shared_ptr<Invoker> invoker;                    // required
  std::shared_ptr<AuditSink> audit;                    // required
  std::shared_ptr<Metrics> metrics;                    // required
  std::shared_ptr<const Clock> clock;                  // null: SystemClock
  std::function<bool()> ready;                         // /readyz; null: always ready
  ChainLogFn log;                                      // may be empty
};

class Chain final : public Handler {
 public:
  // Checks the options (valid, unique function names; routes naming known functions and
  // passing Router::Build) and the required dependencies. Errors: one line per problem.
  static tl::expected<std::unique_ptr<Chain>, std::string> Create(ChainOptions options,
                                                                  ChainDeps deps);
  ~Chain() override;

  // Thread-safe; never throws (an escaped exception becomes a 500 with its audit record).
  HttpResponse Handle(const HttpRequest& request) override;

 private:
  struct Function;
  struct Request;
  Chain(ChainOptions options, ChainDeps deps, Router router);

  HttpResponse Run(Request& r);
  HttpResponse Invoke(Request& r, const Function& fn, std::string event);
  HttpResponse Refuse(Request& r, ErrorCode code, std::string_view message);
  HttpResponse Finish(Request& r, HttpResponse response);
  bool HeaderAllowed(std::string_view lower_name) const;

  ChainOptions options_;
  ChainDeps deps_;
  Router router_;
  std::unordered_map<std::string, std::unique_ptr<Function>> functions_;
  RequestIdGenerator ids_;
  FunctionMetrics* unknown_metrics_ = nullptr;  // requests naming no deployed function
};

// A request id the client or server supplied is used when it is 1-128 of
// [A-Za-z0-9._:-]; otherwise the chain assigns one.
bool IsUsableRequestId(std::string_view id) noexcept;

}  // namespace fnjail::gateway
