// The filter chain: authentication -> routing -> authorization -> validation -> admission
// -> invocation -> audit.
#include "gateway/chain.h"

#include <algorithm>
#include <exception>
#include <optional>
#include <set>

namespace fnjail::gateway {

namespace {

constexpr size_t kMaxResponseHeaders = 32;
constexpr size_t kMaxResponseHeaderValue = 8192;
constexpr size_t kMaxFunctionMessage = 1024;

// Response headers a function may set. Everything else is dropped: hop-by-hop and framing
// headers belong to the server, and cookies or security headers on the gateway's origin
// are an operator's decision (ChainOptions::extra_response_headers).
constexpr std::string_view kAllowedResponseHeaders[] = {
    "cache-control", "content-disposition", "content-encoding", "content-language",
    "content-type",  "etag",                "expires",          "last-modified",
    "link",          "location",            "retry-after",      "vary"};

std::string Lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool IEquals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

bool IsToken(std::string_view s) noexcept {
  if (s.empty() || s.size() > 256) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    switch (c) {
      case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
      case '-': case '.': case '^': case '_': case '`': case '|': case '~':
        ok = true;
        break;
      default:
        break;
    }
    if (!ok) return false;
  }
  return true;
}

bool IsSafeHeaderValue(std::string_view v) noexcept {
  if (v.size() > kMaxResponseHeaderValue) return false;
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return false;
  }
  return true;
}

std::string Truncate(std::string_view s, size_t n) {
  return std::string(s.substr(0, n));
}

DecisionLabel LabelOf(const std::optional<bool>& allowed) {
  if (!allowed) return DecisionLabel::kNone;
  return *allowed ? DecisionLabel::kAllow : DecisionLabel::kDeny;
}

}  // namespace

int64_t SystemClock::WallMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t SystemClock::SteadyMicros() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

tl::expected<uint64_t, std::string> AuditWriterSink::Append(const crypto::AuditRecord& record) {
  auto seq = writer_->Append(record);
  if (!seq) return tl::unexpected(seq.error().ToString());
  return *seq;
}

tl::expected<void, std::string> AuditWriterSink::WaitDurable(uint64_t seq) {
  auto ok = writer_->WaitDurable(seq);
  if (!ok) return tl::unexpected(ok.error().ToString());
  return {};
}

bool IsUsableRequestId(std::string_view id) noexcept {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

struct Chain::Function {
  FunctionConfig config;
  std::string resource;  // fn:<name>
  FunctionMetrics* metrics = nullptr;
  std::unique_ptr<ConcurrencyGate> gate;
};

// The state of one request as it moves through the chain: what the audit record and the
// metrics will say.
struct Chain::Request {
  const HttpRequest* http = nullptr;
  std::string id;
  int64_t start_us = 0;
  crypto::AuditRecord record;
  FunctionMetrics* metrics = nullptr;
  std::optional<bool> allowed;  // the enforced decision, once made
  bool audit = true;
  const Principal* principal = nullptr;
};

Chain::Chain(ChainOptions options, ChainDeps deps, Router router)
    : options_(std::move(options)), deps_(std::move(deps)), router_(std::move(router)) {}

Chain::~Chain() = default;

tl::expected<std::unique_ptr<Chain>, std::string> Chain::Create(ChainOptions options,
                                                                ChainDeps deps) {
  std::string errors;
  auto error = [&](std::string message) {
    if (!errors.empty()) errors += '\n';
    errors += message;
  };
  if (!deps.authenticator) error("the chain needs an authenticator");
  if (!deps.authorizer) error("the chain needs an authorizer");
  if (!deps.invoker) error("the chain needs an invoker");
  if (!deps.audit) error("the chain needs an audit sink");
  if (!deps.metrics) error("the chain needs a metrics registry");
  if (!deps.clock) deps.clock = std::make_shared<SystemClock>();
  std::set<std::string, std::less<>> names;
  for (const auto& fn : options.functions) {
    if (!IsValidFunctionName(fn.name)) error("function name `" + fn.name + "` is not valid");
    if (!names.insert(fn.name).second) error("function `" + fn.name + "` is declared twice");
    if (fn.timeout_ms == 0) error("function `" + fn.name + "` has a zero timeout");
  }
  for (const auto& r : options.routes) {
    if (!names.contains(r.function)) {
      error("route `" + r.method + " " + r.path + "` names unknown function `" + r.function + "`");
    }
  }
  for (auto& h : options.extra_response_headers) {
    h = Lowered(h);
    if (!IsToken(h)) error("response header `" + h + "` is not a valid header name");
  }
  auto router = Router::Build(options.routes, options.router);
  if (!router) error(router.error());
  if (!errors.empty()) return tl::unexpected(std::move(errors));

  std::unique_ptr<Chain> chain(new Chain(std::move(options), std::move(deps), std::move(*router)));
  chain->unknown_metrics_ = chain->deps_.metrics->ForFunction("");
  for (const auto& fn : chain->options_.functions) {
    auto f = std::make_unique<Function>();
    f->config = fn;
    f->resource = "fn:" + fn.name;
    f->metrics = chain->deps_.metrics->ForFunction(fn.name);
    f->gate = std::make_unique<ConcurrencyGate>(fn.max_concurrency);
    chain->functions_.emplace(fn.name, std::move(f));
  }
  return chain;
}

bool Chain::HeaderAllowed(std::string_view lower_name) const {
  if (lower_name == "x-request-id") return false;  // the gateway's own
  for (auto h : kAllowedResponseHeaders) {
    if (h == lower_name) return true;
  }
  for (const auto& h : options_.extra_response_headers) {
    if (h == lower_name) return true;
  }
  // The function's own `x-` headers, except ones a proxy or client could take for the
  // gateway's or another hop's.
  return lower_name.starts_with("x-") && !lower_name.starts_with("x-forwarded-") &&
         lower_name != "x-real-ip" && lower_name != "x-api-key";
}

HttpResponse Chain::Handle(const HttpRequest& request) {
  Request r;
  r.http = &request;
  try {
    r.start_us = deps_.clock->SteadyMicros();
    const std::string* given = FindHeader(request.headers, "x-request-id");
    r.id = (given != nullptr && IsUsableRequestId(*given)) ? *given : ids_.Next();
    r.metrics = unknown_metrics_;
    r.record.time_ms = deps_.clock->WallMs();
    r.record.request_id = r.id;
    r.record.source_ip = request.remote_ip;
    if (auto digest = crypto::Sha256(crypto::AsBytes(request.body))) {
      r.record.input_sha256 = crypto::ToHex(*digest);
    }
    return Run(r);
  } catch (const std::exception& e) {
    if (deps_.log) deps_.log("chain.exception", {{"request_id", r.id}, {"what", e.what()}});
  } catch (...) {
    if (deps_.log) deps_.log("chain.exception", {{"request_id", r.id}});
  }
  // Last resort: answer 500, still with its record; if even that fails, 503.
  try {
    if (r.id.empty()) r.id = ids_.Next();
    r.record.request_id = r.id;
    return Refuse(r, ErrorCode::kInternal, "internal error");
  } catch (...) {
    return ErrorReply(ErrorCode::kUnavailable, "the request could not be recorded", r.id);
  }
}

HttpResponse Chain::Run(Request& r) {
  const HttpRequest& http = *r.http;
  RouteMatch route = router_.Match(http.method, http.target);

  // Probes: public, before authentication; they reveal nothing about functions.
  if (route.status != RouteMatch::Status::kBadRequest &&
      route.status != RouteMatch::Status::kNotFound &&
      (route.kind == RouteKind::kHealth || route.kind == RouteKind::kReady)) {
    r.audit = options_.audit_probes;
    r.record.operation = "gateway:Probe";
    r.record.function = std::string(RouteKindName(route.kind));
    if (route.status == RouteMatch::Status::kMethodNotAllowed) {
      HttpResponse resp = Refuse(r, ErrorCode::kMethodNotAllowed, "method not allowed");
      resp.headers.emplace_back("Allow", route.allow);
      return resp;
    }
    bool ready = route.kind == RouteKind::kHealth || !deps_.ready || deps_.ready();
    if (!ready) return Refuse(r, ErrorCode::kUnavailable, "not ready");
    HttpResponse resp;
    resp.status = 200;
    resp.headers.emplace_back("Content-Type", "application/json");
    resp.headers.emplace_back("Cache-Control", "no-store");
    resp.body = R"({"status":"ok"})";
    r.record.outcome = "ok";
    return Finish(r, std::move(resp));
  }
  bool metrics_route = route.status == RouteMatch::Status::kMatched &&
                       route.kind == RouteKind::kMetrics;
  if (metrics_route && !options_.metrics_require_auth) {
    r.record.operation = std::string(kReadMetricsAction);
    r.record.function = std::string(kMetricsResource);
    HttpResponse resp;
    resp.headers.emplace_back("Content-Type", std::string(Metrics::kContentType));
    resp.headers.emplace_back("Cache-Control", "no-store");
    resp.body = deps_.metrics->Render();
    r.record.outcome = "ok";
    return Finish(r, std::move(resp));
  }

  // 1. Authentication, before anything about routes or functions is revealed.
  r.record.operation = metrics_route ? std::string(kReadMetricsAction) : std::string(kInvokeAction);
  if (metrics_route) {
    r.record.function = std::string(kMetricsResource);
  } else if (!route.function.empty()) {
    r.record.function = "fn:" + route.function;
  }
  std::string_view path = route.path;
  std::string_view query = route.query;
  AuthInput auth_input{&http, path, query};
  auto principal = deps_.authenticator->Authenticate(auth_input, r.record.time_ms / 1000);
  if (!principal) {
    const AuthFailure& f = principal.error();
    r.record.auth_method = std::string(AuthMethodName(f.method));
    r.record.violation = Truncate(f.detail, 512);
    if (deps_.log) {
      deps_.log("auth.failed", {{"request_id", r.id},
                                {"method", r.record.auth_method},
                                {"credential", f.credential},
                                {"source_ip", http.remote_ip},
                                {"detail", f.detail}});
    }
    HttpResponse resp;
    switch (f.kind) {
      case AuthFailure::Kind::kMissing:
        resp = Refuse(r, ErrorCode::kUnauthenticated, "credentials are required");
        break;
      case AuthFailure::Kind::kInvalid:
        resp = Refuse(r, ErrorCode::kInvalidCredentials, "the credentials are not valid");
        break;
      case AuthFailure::Kind::kAmbiguous:
        return Refuse(r, ErrorCode::kAmbiguousCredentials,
                      "send exactly one credential (X-Api-Key or Authorization)");
    }
    if (resp.status == 401) {
      resp.headers.emplace_back("WWW-Authenticate", "Bearer, ApiKey, FNJ1-HMAC-SHA256");
    }
    return resp;
  }
  r.principal = &*principal;
  r.record.principal = principal->id;
  r.record.auth_method = std::string(AuthMethodName(principal->kind));

  // 2. Routing.
  const Function* fn = nullptr;
  if (!route.function.empty()) {
    auto it = functions_.find(route.function);
    if (it != functions_.end()) {
      fn = it->second.get();
      r.metrics = fn->metrics;
    }
  }
  auto authorize = [&](std::string_view action, std::string_view resource,
                       std::string_view function) {
    AuthzInput in;
    in.principal = &*principal;
    in.action = action;
    in.resource = resource;
    in.function = function;
    in.method = http.method;
    in.path = path;
    in.source_ip = http.remote_ip;
    in.tls = http.tls;
    in.now_ms = r.record.time_ms;
    AuthzResult result = deps_.authorizer->Authorize(in);
    r.allowed = result.enforced.allowed;
    r.record.allowed = result.enforced.allowed;
    r.record.decision_reason = std::string(policy::ReasonName(result.enforced.reason));
    r.record.statements = std::move(result.enforced.statements);
    for (auto& shadow : result.shadows) {
      // Shadow decisions ride in the statement list, marked (`shadow:` or, for a named
      // set, `shadow:<name>:`), so the signed log holds what each candidate set decided.
      const std::string mark =
          shadow.name.empty() ? std::string("shadow:") : "shadow:" + shadow.name + ":";
      r.record.statements.push_back(mark +
                                    std::string(policy::ReasonName(shadow.verdict.reason)));
      for (auto& s : shadow.verdict.statements) r.record.statements.push_back(mark + s);
    }
    if (!result.enforced.errors.empty() && deps_.log) {
      std::string joined;
      for (const auto& e : result.enforced.errors) joined += (joined.empty() ? "" : "; ") + e;
      deps_.log("policy.errors", {{"request_id", r.id}, {"errors", joined}});
    }
    return r.record.allowed;
  };

  switch (route.status) {
    case RouteMatch::Status::kBadRequest:
      return Refuse(r, ErrorCode::kBadRequest, route.message);
    case RouteMatch::Status::kNotFound:
      return Refuse(r, ErrorCode::kNotFound, "no such route");
    case RouteMatch::Status::kMethodNotAllowed: {
      // A declared route's 405 would confirm the route exists: only for callers allowed
      // to invoke its function.
      if (route.kind == RouteKind::kFunctionRoute && fn != nullptr &&
          !authorize(kInvokeAction, fn->resource, fn->config.name) &&
          options_.hide_denied_routes) {
        return Refuse(r, ErrorCode::kNotFound, "no such route");
      }
      HttpResponse resp = Refuse(r, ErrorCode::kMethodNotAllowed, "method not allowed");
      resp.headers.emplace_back("Allow", route.allow);
      return resp;
    }
    case RouteMatch::Status::kMatched:
      break;
  }

  if (route.kind == RouteKind::kMetrics) {
    if (!authorize(kReadMetricsAction, kMetricsResource, {})) {
      return Refuse(r, ErrorCode::kForbidden, "the request is not allowed");
    }
    HttpResponse resp;
    resp.headers.emplace_back("Content-Type", std::string(Metrics::kContentType));
    resp.headers.emplace_back("Cache-Control", "no-store");
    resp.body = deps_.metrics->Render();
    r.record.outcome = "ok";
    return Finish(r, std::move(resp));
  }

  // 3. Authorization. An unknown function is decided like a known one, so a caller who
  // may not invoke `fn:x` gets the same 403 whether or not `x` exists.
  std::string resource = fn != nullptr ? fn->resource : "fn:" + route.function;
  if (!authorize(kInvokeAction, resource, route.function)) {
    if (route.kind == RouteKind::kFunctionRoute && options_.hide_denied_routes) {
      return Refuse(r, ErrorCode::kNotFound, "no such route");
    }
    return Refuse(r, ErrorCode::kForbidden, "the request is not allowed");
  }
  if (fn == nullptr) return Refuse(r, ErrorCode::kNotFound, "no such function");

  // 4. Input validation.
  if (auto valid = ValidateInput(http, fn->config.input); !valid) {
    r.record.violation = Truncate(valid.error().message, 512);
    return Refuse(r, valid.error().code, valid.error().message);
  }

  // 5. Admission.
  if (deps_.rate_limiter) {
    auto d = deps_.rate_limiter->Acquire(principal->id, deps_.clock->SteadyMicros() / 1000);
    if (!d.admitted) {
      HttpResponse resp = Refuse(r, ErrorCode::kRateLimited, "too many requests");
      resp.headers.emplace_back("Retry-After", std::to_string(RetryAfterSeconds(d.retry_after_ms)));
      return resp;
    }
  }
  auto ticket = fn->gate->TryEnter();
  if (!ticket) {
    HttpResponse resp =
        Refuse(r, ErrorCode::kConcurrencyLimited, "the function is at its concurrency limit");
    resp.headers.emplace_back("Retry-After", "1");
    return resp;
  }

  // 6. Invocation (the ticket is held until the answer is built).
  r.record.function = fn->resource;
  if (route.kind == RouteKind::kFunctionRoute) {
    // Declared routes hand the function an envelope: method, path, parameters, query and
    // the body (JSON functions: the validated JSON itself; raw: base64url).
    std::string event = R"({"method":")";
    AppendJsonEscaped(event, http.method);
    event += R"(","path":")";
    AppendJsonEscaped(event, route.path);
    event += R"(","params":{)";
    for (size_t i = 0; i < route.params.size(); ++i) {
      if (i != 0) event += ',';
      event += '"';
      AppendJsonEscaped(event, route.params[i].first);
      event += R"(":")";
      AppendJsonEscaped(event, route.params[i].second);
      event += '"';
    }
    event += R"(},"query":")";
    AppendJsonEscaped(event, route.query);
    event += '"';
    if (fn->config.input.kind == BodyKind::kJson) {
      event += R"(,"body":)";
      event += http.body.empty() ? std::string_view("null") : std::string_view(http.body);
    } else {
      event += R"(,"body_base64url":")";
      event += crypto::Base64UrlEncode(crypto::AsBytes(http.body));
      event += '"';
    }
    event += '}';
    return Invoke(r, *fn, std::move(event));
  }
  std::string event = http.body.empty() && fn->config.input.kind == BodyKind::kJson
                          ? std::string("null")
                          : http.body;
  return Invoke(r, *fn, std::move(event));
}

HttpResponse Chain::Invoke(Request& r, const Function& fn, std::string event) {
  runtime::Invocation inv;
  inv.request_id = r.id;
  inv.function = fn.config.name;
  inv.deadline_ms = fn.config.timeout_ms;
  inv.principal_id = r.principal->id;
  inv.principal_groups = r.principal->groups;
  inv.event = std::move(event);
  auto result = deps_.invoker->Invoke(inv);

  const InvokeMetering& m = result ? result->metering : result.error().metering;
  r.record.billed_duration_ms = static_cast<int64_t>(m.billed_ms);
  r.record.cpu_ms = static_cast<int64_t>(m.cpu_ms);
  r.record.peak_memory_bytes = static_cast<int64_t>(m.peak_memory_kb) * 1024;
  r.record.outcome = m.outcome;
  r.record.violation = m.violation;
  if (!m.outcome.empty()) fn.metrics->RecordOutcome(m.outcome);

  if (!result) {
    const InvokeFailure& f = result.error();
    if (r.record.outcome.empty()) r.record.outcome = f.code;
    if (deps_.log) {
      deps_.log("invoke.failed", {{"request_id", r.id},
                                  {"function", fn.config.name},
                                  {"code", f.code},
                                  {"message", f.message}});
    }
    std::string outcome = r.record.outcome;
    HttpResponse resp;
    if (f.code == "over-capacity") {
      resp = Refuse(r, ErrorCode::kOverCapacity, "no execution environment is available");
      resp.headers.emplace_back("Retry-After", "1");
    } else if (f.code == "timeout") {
      resp = Refuse(r, ErrorCode::kGatewayTimeout, "the function did not answer in time");
    } else if (f.code == "jail") {
      resp = Refuse(r, ErrorCode::kBadGateway, "the function's environment failed");
    } else if (f.code == "unknown-function") {
      resp = Refuse(r, ErrorCode::kNotFound, "no such function");
    } else if (f.code == "invalid") {
      resp = Refuse(r, ErrorCode::kBadRequest, "the request cannot be passed to the function");
    } else {
      resp = Refuse(r, ErrorCode::kInternal, "internal error");
    }
    return resp;
  }

  runtime::Response& fr = result->response;
  if (r.record.outcome.empty()) {
    r.record.outcome = fr.kind == runtime::Response::Kind::kOk ? "ok" : "function-error";
  }
  switch (fr.kind) {
    case runtime::Response::Kind::kOk:
      break;
    case runtime::Response::Kind::kHandledError: {
      // The function reported the error itself: its status when it is a 4xx or 5xx
      // (else 500) and its message, in the gateway's error shape.
      std::string message = Truncate(fr.error_message, kMaxFunctionMessage);
      if (message.empty()) message = "the function reported an error";
      HttpResponse resp = ErrorReply(ErrorCode::kFunctionError, message, r.id);
      resp.status = fr.status >= 400 && fr.status <= 599 ? fr.status : 500;
      return Finish(r, std::move(resp));
    }
    case runtime::Response::Kind::kUnhandledError:
      r.record.violation = r.record.violation.empty() ? Truncate(fr.error_type, 128)
                                                      : r.record.violation;
      return Refuse(r, ErrorCode::kFunctionError, "the function failed");
  }
  if (fr.status < 200 || fr.status > 599) {
    r.record.outcome = "bad-response";
    return Refuse(r, ErrorCode::kBadGateway, "the function returned an invalid status");
  }
  HttpResponse resp;
  resp.status = fr.status;
  for (auto& [name, value] : fr.headers) {
    if (resp.headers.size() >= kMaxResponseHeaders) break;
    std::string lower = Lowered(name);
    if (!IsToken(name) || !HeaderAllowed(lower) || !IsSafeHeaderValue(value)) continue;
    resp.headers.emplace_back(std::move(name), std::move(value));
  }
  resp.headers.emplace_back("X-Content-Type-Options", "nosniff");
  resp.body = std::move(fr.body);
  return Finish(r, std::move(resp));
}

HttpResponse Chain::Refuse(Request& r, ErrorCode code, std::string_view message) {
  if (r.record.outcome.empty()) r.record.outcome = std::string(ErrorCodeName(code));
  return Finish(r, ErrorReply(code, message, r.id));
}

HttpResponse Chain::Finish(Request& r, HttpResponse response) {
  bool has_id = false;
  for (const auto& [name, value] : response.headers) {
    if (IEquals(name, "x-request-id")) has_id = true;
  }
  if (!has_id) response.headers.emplace_back("X-Request-Id", r.id);
  int64_t elapsed_us = deps_.clock->SteadyMicros() - r.start_us;
  if (elapsed_us < 0) elapsed_us = 0;
  r.record.http_status = response.status;
  r.record.duration_ms = (elapsed_us + 999) / 1000;
  if (r.audit) {
    // 7. Audit. Fail closed: without its record, no answer but 503.
    int64_t before = deps_.clock->SteadyMicros();
    auto seq = deps_.audit->Append(r.record);
    tl::expected<void, std::string> durable;
    if (seq && options_.strict_audit) durable = deps_.audit->WaitDurable(*seq);
    if (!seq || !durable) {
      deps_.metrics->RecordAuditFailure();
      if (deps_.log) {
        deps_.log("audit.failed",
                  {{"request_id", r.id}, {"error", !seq ? seq.error() : durable.error()}});
      }
      response = ErrorReply(ErrorCode::kUnavailable, "the request could not be recorded", r.id);
    } else if (options_.strict_audit) {
      int64_t lag = deps_.clock->SteadyMicros() - before;
      deps_.metrics->RecordAuditCommit(static_cast<uint64_t>(lag < 0 ? 0 : lag));
    }
  }
  int64_t total_us = deps_.clock->SteadyMicros() - r.start_us;
  r.metrics->RecordRequest(response.status, LabelOf(r.allowed),
                           static_cast<uint64_t>(total_us < 0 ? 0 : total_us));
  return response;
}

}  // namespace fnjail::gateway
