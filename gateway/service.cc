// `fnjail serve` assembled (gateway/service.h): plan -> environments -> audit -> chain ->
// server; reload by building a whole new chain and swapping one pointer.
#include "gateway/service.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "gateway/chain.h"
#include "gateway/http_server.h"
#include "gateway/service_plan.h"
#include "runtime/function.h"
#include "runtime/pool.h"

namespace fnjail::gateway {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

std::string NowIso() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  std::tm tm{};
  gmtime_r(&ts.tv_sec, &tm);
  char text[64];
  const size_t n = std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm);
  char millis[24];
  std::snprintf(millis, sizeof(millis), ".%03ldZ", ts.tv_nsec / 1'000'000);
  return std::string(text, n) + millis;
}

// Levels of the events the server and the chain report.
std::string_view LevelOf(std::string_view event) {
  if (event == "http.handler_exception" || event == "chain.exception" ||
      event == "audit.failed" || event == "http.io_exception") {
    return "error";
  }
  if (event == "http.rejected" || event == "http.timeout" || event == "auth.failed" ||
      event == "http.tls_handshake_failed" || event == "http.drained") {
    return "info";
  }
  return "warn";
}

// runtime::Environments behind the chain's Invoker interface.
class EnvironmentsInvoker final : public Invoker {
 public:
  explicit EnvironmentsInvoker(runtime::Environments* environments)
      : environments_(environments) {}

  tl::expected<InvokeSuccess, InvokeFailure> Invoke(
      const runtime::Invocation& invocation) override {
    runtime::Metering metering;
    auto result = environments_->Invoke(invocation.function, invocation, &metering);
    if (!result) {
      return tl::unexpected(
          InvokeFailure{result.error().code, result.error().message, Convert(metering)});
    }
    return InvokeSuccess{std::move(result->response), Convert(result->metering)};
  }

 private:
  static InvokeMetering Convert(const runtime::Metering& m) {
    return InvokeMetering{m.duration_us, m.billed_ms, m.init_ms,   m.cpu_ms,
                          m.peak_memory_kb, m.cold,   m.outcome,   m.violation};
  }
  runtime::Environments* environments_;
};

// The server's handler: the chain of the current configuration version. A request keeps
// the chain it started with (its shared_ptr) until it is answered.
class SwitchHandler final : public Handler {
 public:
  HttpResponse Handle(const HttpRequest& request) override {
    std::shared_ptr<Handler> current;
    {
      std::lock_guard lock(mu_);
      current = current_;
    }
    if (!current) {
      const std::string* id = FindHeader(request.headers, "X-Request-Id");
      return ErrorResponse(503, "unavailable", "not ready", id ? *id : std::string());
    }
    return current->Handle(request);
  }
  void Set(std::shared_ptr<Handler> handler) {
    std::lock_guard lock(mu_);
    current_.swap(handler);
    // The old chain is released outside the lock (here, as `handler` goes out of scope)
    // once the requests still holding it finish.
  }

 private:
  std::mutex mu_;
  std::shared_ptr<Handler> current_;
};

// The metrics listener of its own: GET /metrics only, no credentials (bind it to a private
// address).
class MetricsHandler final : public Handler {
 public:
  explicit MetricsHandler(std::shared_ptr<Metrics> metrics) : metrics_(std::move(metrics)) {}
  HttpResponse Handle(const HttpRequest& request) override {
    const std::string* id = FindHeader(request.headers, "X-Request-Id");
    const std::string request_id = id ? *id : std::string();
    const std::string_view path =
        std::string_view(request.target).substr(0, request.target.find('?'));
    if (path != "/metrics") return ErrorResponse(404, "not-found", "no such route", request_id);
    if (request.method != "GET" && request.method != "HEAD") {
      HttpResponse r =
          ErrorResponse(405, "method-not-allowed", "the route does not take this method",
                        request_id);
      r.headers.emplace_back("Allow", "GET, HEAD");
      return r;
    }
    HttpResponse r;
    r.headers.emplace_back("Content-Type", std::string(Metrics::kContentType));
    r.headers.emplace_back("Cache-Control", "no-store");
    r.body = metrics_->Render();
    return r;
  }

 private:
  std::shared_ptr<Metrics> metrics_;
};

bool SameAddresses(const std::vector<PlanAddress>& a, const std::vector<PlanAddress>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].host != b[i].host || a[i].port != b[i].port) return false;
  }
  return true;
}

// What a running server cannot change without a restart.
struct FixedSettings {
  std::vector<PlanAddress> listen;
  bool tls = false;
  std::string tls_certificate, tls_key;
  size_t worker_threads = 0, max_connections = 0, max_header_bytes = 0, max_body_bytes = 0;
  uint64_t header_timeout_ms = 0, body_timeout_ms = 0, idle_timeout_ms = 0,
           write_timeout_ms = 0;
  std::string audit_path;
  bool metrics_enabled = true;
  std::optional<PlanAddress> metrics_listen;
  bool tls13_only = false;
  size_t max_headers = 0, max_keepalive_requests = 0;

  static FixedSettings Of(const ServicePlan& p) {
    FixedSettings f{p.listen,           p.tls,
                    p.tls_certificate,  p.tls_key,
                    p.worker_threads,   p.max_connections,
                    p.max_header_bytes, p.max_body_bytes,
                    p.header_timeout_ms, p.body_timeout_ms,
                    p.idle_timeout_ms,  p.write_timeout_ms,
                    p.audit_options.path, p.metrics_enabled,
                    p.metrics_listen};
    f.tls13_only = p.tls13_only;
    f.max_headers = p.max_headers;
    f.max_keepalive_requests = p.max_keepalive_requests;
    return f;
  }
  // The names of the settings that differ.
  std::vector<std::string> Diff(const FixedSettings& o) const {
    std::vector<std::string> out;
    if (!SameAddresses(listen, o.listen)) out.push_back("server.listen");
    if (tls != o.tls || tls_certificate != o.tls_certificate || tls_key != o.tls_key ||
        tls13_only != o.tls13_only) {
      out.push_back("server.tls");
    }
    if (worker_threads != o.worker_threads) out.push_back("server.worker_threads");
    if (max_connections != o.max_connections || max_header_bytes != o.max_header_bytes ||
        max_body_bytes != o.max_body_bytes || header_timeout_ms != o.header_timeout_ms ||
        body_timeout_ms != o.body_timeout_ms || idle_timeout_ms != o.idle_timeout_ms ||
        write_timeout_ms != o.write_timeout_ms || max_headers != o.max_headers ||
        max_keepalive_requests != o.max_keepalive_requests) {
      out.push_back("limits");
    }
    if (audit_path != o.audit_path) out.push_back("audit.path");
    const bool same_metrics =
        metrics_enabled == o.metrics_enabled &&
        metrics_listen.has_value() == o.metrics_listen.has_value() &&
        (!metrics_listen || (metrics_listen->host == o.metrics_listen->host &&
                             metrics_listen->port == o.metrics_listen->port));
    if (!same_metrics) out.push_back("metrics");
    return out;
  }
};

}  // namespace

std::string ServiceErrors::ToString() const {
  std::string out;
  for (const auto& m : messages) {
    if (!out.empty()) out += '\n';
    out += m;
  }
  return out;
}

ServiceLogFn JsonStderrLog() {
  return [](std::string_view level, std::string_view event, const Fields& fields) {
    std::string line = "{\"time\":\"" + NowIso() + "\",\"level\":\"";
    AppendJsonEscaped(line, level);
    line += "\",\"event\":\"";
    AppendJsonEscaped(line, event);
    line += '"';
    for (const auto& [key, value] : fields) {
      line += ",\"";
      AppendJsonEscaped(line, key);
      line += "\":\"";
      AppendJsonEscaped(line, value);
      line += '"';
    }
    line += "}\n";
    // One write per line: lines from concurrent threads never interleave (up to PIPE_BUF
    // on pipes; regular files and terminals take the whole write).
    const char* p = line.data();
    size_t left = line.size();
    while (left > 0) {
      const ssize_t n = ::write(STDERR_FILENO, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      p += n;
      left -= static_cast<size_t>(n);
    }
  };
}

struct Service::Impl {
  ServiceOptions options;
  ServiceLogFn log;

  // Destroyed in reverse order: the server (no more requests) before the chain, the chain
  // before the environments and the audit writer it uses.
  std::unique_ptr<runtime::Environments> environments;
  std::shared_ptr<Invoker> invoker;
  std::unique_ptr<crypto::AuditWriter> audit_writer;
  std::shared_ptr<AuditSink> audit_sink;
  std::shared_ptr<Metrics> metrics;
  std::shared_ptr<SwitchHandler> handler = std::make_shared<SwitchHandler>();
  std::unique_ptr<HttpServer> server;
  std::unique_ptr<HttpServer> metrics_server;

  std::mutex reload_mu;  // one reload (or stop) at a time
  FixedSettings fixed;
  std::vector<std::string> watch_paths;
  std::string watch_print;
  // Deployed functions: name -> (spec, fingerprint of its files).
  std::map<std::string, std::pair<std::shared_ptr<const runtime::FunctionSpec>, std::string>>
      deployed;
  std::atomic<uint64_t> generation{0};
  std::atomic<bool> stopping{false};
  // The installed version's audit mode, for the records of requests the server refuses.
  std::atomic<bool> strict_audit{true};
  bool stopped = false;
  bool stop_result = false;

  void Log(std::string_view level, std::string_view event, Fields fields) const {
    log(level, event, fields);
  }

  static std::string FunctionPrint(const runtime::FunctionSpec& spec) {
    std::vector<std::string> paths = {spec.file};
    if (!spec.folder.empty()) paths.push_back(spec.folder);
    if (!spec.input_schema_file.empty()) paths.push_back(spec.input_schema_file);
    return FingerprintPaths(paths);
  }

  // Builds the chain of `plan` (consuming its key material). Errors: one line per problem.
  tl::expected<std::shared_ptr<Chain>, std::vector<std::string>> BuildChain(ServicePlan& plan);

  // Deploys every function of `plan` whose files changed (all when `force`), rolling back
  // to the previous specs on the first failure. On success returns the names deployed.
  tl::expected<void, std::vector<std::string>> DeployFunctions(const ServicePlan& plan);
  void UndeployMissing(const ServicePlan& plan);

  // A request the server refused before the chain saw it (framing, size, deadline) still
  // gets its audit record: nothing that reached the gateway goes unrecorded.
  void AuditRefusal(std::string_view event, const Fields& fields) {
    if (!audit_sink) return;
    crypto::AuditRecord record;
    record.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    record.operation = "http:Request";
    record.decision_reason = "not-evaluated";
    for (const auto& [key, value] : fields) {
      if (key == "request_id") record.request_id = value;
      if (key == "remote") record.source_ip = value;
      if (key == "remote_port") record.source_port = static_cast<uint16_t>(std::atoi(value.c_str()));
      if (key == "status") record.http_status = std::atoi(value.c_str());
      if (key == "code") record.status_detail = value;
    }
    if (event == "http.timeout") {
      record.http_status = 408;
      record.status_detail = "timeout";
    }
    record.outcome = "refused";
    auto seq = audit_sink->Append(record);
    if (!seq) {
      metrics->RecordAuditFailure();
      Log("error", "audit.failed", {{"request_id", record.request_id}, {"problem", seq.error()}});
      return;
    }
    // Strict mode: like every other answer, the refusal goes out only once its record is
    // durable (the server writes the response after this returns). Refusals share the
    // group commit with everything else in flight.
    if (strict_audit.load(std::memory_order_relaxed)) {
      if (auto durable = audit_sink->WaitDurable(*seq); !durable) {
        metrics->RecordAuditFailure();
        Log("error", "audit.failed",
            {{"request_id", record.request_id}, {"problem", durable.error()}});
      }
    }
  }
};

tl::expected<std::shared_ptr<Chain>, std::vector<std::string>> Service::Impl::BuildChain(
    ServicePlan& plan) {
  std::vector<std::string> errors;
  auto groups_of = [&plan](const std::string& id, PrincipalBinding& binding) {
    binding.id = id;
    if (const PlanPrincipal* p = plan.FindPrincipal(id)) {
      binding.groups = p->groups;
      binding.tags = p->tags;
    }
  };

  AuthOptions auth;
  if (plan.api_keys) {
    ApiKeyAuth keys;
    keys.store = plan.api_key_store;
    keys.pepper = plan.api_key_pepper;
    keys.header = plan.api_key_header;
    for (const auto& info : plan.api_key_store->keys()) {
      if (info.revoked) continue;
      PrincipalBinding binding;
      groups_of(info.name, binding);  // the key's name is its principal
      keys.bindings.emplace(info.id, std::move(binding));
    }
    auth.api_keys = std::move(keys);
  }
  if (!plan.hmac_keys.empty()) {
    HmacAuth hmac;
    hmac.window_seconds = plan.hmac_window_seconds;
    hmac.replay_capacity = plan.hmac_replay_capacity;
    for (auto& [id, secret] : plan.hmac_keys) {
      HmacKey key;
      key.secret = secret;
      groups_of(id, key.principal);  // the key id is its principal
      hmac.keys.emplace(id, std::move(key));
    }
    auth.hmac = std::move(hmac);
  }
  for (auto& issuer : plan.jwt_issuers) {
    JwtIssuer j;
    j.name = issuer.name;
    j.keys = std::move(issuer.keys);
    j.options = issuer.options;
    j.principal_prefix = issuer.principal_prefix;
    j.principal_claim = issuer.principal_claim;
    j.groups_claim = issuer.groups_claim;
    for (const auto& p : plan.principals) {
      j.principals.emplace(p.id, PrincipalBinding{p.id, p.groups, p.tags});
    }
    auth.jwt_issuers.push_back(std::move(j));
  }
  auto authenticator = Authenticator::Create(std::move(auth));
  if (!authenticator) errors.push_back(plan.config_file + ": error: " + authenticator.error());

  ChainOptions chain;
  chain.strict_audit = plan.strict_audit;
  chain.router.serve_probes = true;
  chain.router.serve_metrics = plan.metrics_enabled && !plan.metrics_listen;
  const JsonLimits json{plan.max_json_depth, plan.max_string_bytes};
  for (const auto& f : plan.functions) {
    const runtime::FunctionSpec& spec = *f.spec;
    FunctionConfig fc;
    fc.name = spec.name;
    fc.timeout_ms = spec.timeout_ms;
    fc.max_concurrency = spec.concurrency ? *spec.concurrency : plan.max_concurrency_per_function;
    // Lua handlers take JSON events; an exec function takes raw bytes unless it declares a
    // schema, which makes its input JSON.
    const bool json_input =
        spec.runtime == runtime::RuntimeKind::kLua || !spec.input_schema.empty();
    fc.input.kind = json_input ? BodyKind::kJson : BodyKind::kRaw;
    fc.input.max_body_bytes = plan.max_body_bytes;
    fc.input.json = json;
    if (!spec.input_schema.empty()) {
      auto schema = SchemaValidator::Compile(spec.input_schema, json);
      if (!schema) {
        errors.push_back(f.file + ": error: input schema: " + schema.error());
        continue;
      }
      fc.input.schema = *schema;
    }
    for (const auto& route : spec.routes) {
      chain.routes.push_back(DeclaredRoute{spec.name, route.method, route.path});
    }
    chain.functions.push_back(std::move(fc));
  }
  if (!errors.empty()) return tl::unexpected(std::move(errors));

  RateLimiterOptions rates;
  rates.default_limit = RateLimit{plan.default_rate.rate_per_second, plan.default_rate.burst};
  for (const auto& [id, rate] : plan.principal_rates) {
    rates.per_principal.emplace(id, RateLimit{rate.rate_per_second, rate.burst});
  }

  ChainDeps deps;
  deps.authenticator = std::shared_ptr<const Authenticator>(std::move(*authenticator));
  deps.authorizer = std::make_shared<const Authorizer>(std::move(plan.policies),
                                                       std::move(plan.shadow_policies));
  deps.rate_limiter = std::make_shared<RateLimiter>(std::move(rates));
  deps.invoker = invoker;
  deps.audit = audit_sink;
  deps.metrics = metrics;
  deps.ready = [this] { return !stopping.load(); };
  deps.log = [this](std::string_view event, const Fields& fields) {
    Log(LevelOf(event), event, fields);
  };
  auto built = Chain::Create(std::move(chain), std::move(deps));
  if (!built) return tl::unexpected(std::vector<std::string>{plan.config_file + ": error: " + built.error()});
  return std::shared_ptr<Chain>(std::move(*built));
}

tl::expected<void, std::vector<std::string>> Service::Impl::DeployFunctions(
    const ServicePlan& plan) {
  if (!environments) return {};
  // name -> what was deployed before this call (null spec: nothing).
  std::vector<std::pair<std::string, std::shared_ptr<const runtime::FunctionSpec>>> changed;
  std::map<std::string, std::string> prints;
  for (const auto& f : plan.functions) {
    const std::string print = FunctionPrint(*f.spec);
    auto old = deployed.find(f.name);
    if (old != deployed.end() && old->second.second == print) continue;
    auto ok = environments->Deploy(*f.spec);
    if (!ok) {
      std::vector<std::string> errors = {f.file + ": error: function `" + f.name +
                                         "` does not deploy: " + ok.error().ToString()};
      // Roll back what this call already replaced: the running version stays whole.
      for (const auto& [name, previous] : changed) {
        if (previous) {
          auto back = environments->Deploy(*previous);
          if (!back) {
            errors.push_back("function `" + name + "` could not be restored: " +
                             back.error().ToString());
          }
        } else {
          environments->Undeploy(name);
        }
      }
      return tl::unexpected(std::move(errors));
    }
    changed.emplace_back(f.name, old == deployed.end() ? nullptr : old->second.first);
    prints[f.name] = print;
  }
  for (const auto& f : plan.functions) {
    auto p = prints.find(f.name);
    if (p != prints.end()) deployed[f.name] = {f.spec, p->second};
  }
  return {};
}

void Service::Impl::UndeployMissing(const ServicePlan& plan) {
  std::set<std::string> keep;
  for (const auto& f : plan.functions) keep.insert(f.name);
  for (auto it = deployed.begin(); it != deployed.end();) {
    if (keep.count(it->first)) {
      ++it;
      continue;
    }
    if (environments) environments->Undeploy(it->first);
    Log("info", "function.undeployed", {{"function", it->first}});
    it = deployed.erase(it);
  }
}

Service::Service(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Service::~Service() { Shutdown(); }

tl::expected<std::unique_ptr<Service>, ServiceErrors> Service::Start(ServiceOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->log = options.log ? options.log : JsonStderrLog();
  impl->options = std::move(options);
  Impl& s = *impl;
  auto fail = [&s](std::vector<std::string> messages) {
    for (const auto& m : messages) s.Log("error", "serve.start_failed", {{"problem", m}});
    return tl::unexpected(ServiceErrors{std::move(messages)});
  };

  auto plan = LoadServicePlan(s.options.config_path);
  if (!plan) return fail(plan.error());
  for (const auto& w : plan->warnings) s.Log("warn", "config.warning", {{"finding", w}});
  s.watch_paths = plan->watch_paths;
  s.watch_print = FingerprintPaths(s.watch_paths);

  // The execution environments first: their jail host's launcher thread must exist before
  // any other thread of this process (design brief, "jails launched from a single-threaded
  // launcher started before the worker threads").
  if (s.options.invoker) {
    s.invoker = s.options.invoker;
  } else {
    runtime::EnvironmentsOptions env_options;
    env_options.pool_defaults.queue_timeout = std::chrono::milliseconds(plan->queue_timeout_ms);
    auto environments = runtime::Environments::Create(std::move(env_options));
    if (!environments) {
      return fail({"execution environments: " + environments.error().ToString()});
    }
    s.environments = std::move(*environments);
    s.invoker = std::make_shared<EnvironmentsInvoker>(s.environments.get());
    if (auto deployed = s.DeployFunctions(*plan); !deployed) return fail(deployed.error());
  }
  if (s.options.invoker) {
    for (const auto& f : plan->functions) s.deployed[f.name] = {f.spec, Impl::FunctionPrint(*f.spec)};
  }

  if (!plan->audit_key) return fail({s.options.config_path + ": error: no audit signing key"});
  auto writer = crypto::AuditWriter::Open(plan->audit_options, std::move(*plan->audit_key));
  if (!writer) return fail({"audit log `" + plan->audit_options.path + "`: " + writer.error().ToString()});
  s.audit_writer = std::move(*writer);
  s.audit_sink = std::make_shared<AuditWriterSink>(s.audit_writer.get());

  s.metrics = std::make_shared<Metrics>();
  if (s.environments) {
    runtime::Environments* environments = s.environments.get();
    s.metrics->SetPoolSource([environments] {
      std::vector<PoolGauge> gauges;
      for (const auto& p : environments->Stats()) {
        gauges.push_back(PoolGauge{p.function, p.idle, p.busy, p.waiting, p.cold_starts});
      }
      return gauges;
    });
  }

  s.fixed = FixedSettings::Of(*plan);
  const size_t function_count = plan->functions.size();
  auto chain = s.BuildChain(*plan);
  if (!chain) return fail(chain.error());
  s.handler->Set(*chain);
  s.strict_audit = plan->strict_audit;

  HttpServerOptions http;
  http.listen.clear();
  for (const auto& a : s.fixed.listen) http.listen.push_back(HttpListen{a.host, a.port});
  if (s.fixed.tls) {
    http.tls = HttpTlsOptions{s.fixed.tls_certificate, s.fixed.tls_key, s.fixed.tls13_only};
  }
  http.max_header_bytes = s.fixed.max_header_bytes;
  http.max_headers = s.fixed.max_headers;
  http.max_keepalive_requests = s.fixed.max_keepalive_requests;
  http.max_body_bytes = s.fixed.max_body_bytes;
  http.max_connections = s.fixed.max_connections;
  http.header_timeout = std::chrono::milliseconds(s.fixed.header_timeout_ms);
  http.body_timeout = std::chrono::milliseconds(s.fixed.body_timeout_ms);
  http.idle_timeout = std::chrono::milliseconds(s.fixed.idle_timeout_ms);
  http.write_timeout = std::chrono::milliseconds(s.fixed.write_timeout_ms);
  http.io_threads = static_cast<unsigned>(s.fixed.worker_threads);
  // Handler threads mostly wait: on a jail, and in strict audit mode on the group commit.
  // More of them means larger commit batches, not more CPU.
  http.handler_threads = std::max(64u, 8 * std::max(1u, std::thread::hardware_concurrency()));
  // The chain assigns and validates request ids itself; the server passes a client's
  // well-formed id through and makes one otherwise.
  Impl* raw = &s;
  auto http_log = [raw](std::string_view event, const Fields& fields) {
    raw->Log(LevelOf(event), event, fields);
    if (event == "http.rejected" || event == "http.timeout") raw->AuditRefusal(event, fields);
  };
  auto server = HttpServer::Start(http, s.handler, http_log);
  if (!server) return fail({server.error().message});
  s.server = std::move(*server);

  if (s.fixed.metrics_enabled && s.fixed.metrics_listen) {
    HttpServerOptions m;
    m.listen = {HttpListen{s.fixed.metrics_listen->host, s.fixed.metrics_listen->port}};
    m.io_threads = 1;
    m.handler_threads = 1;
    m.max_connections = 64;
    auto metrics_server =
        HttpServer::Start(m, std::make_shared<MetricsHandler>(s.metrics), http_log);
    if (!metrics_server) return fail({"metrics: " + metrics_server.error().message});
    s.metrics_server = std::move(*metrics_server);
  }

  s.generation.store(1);
  std::string addresses;
  for (size_t i = 0; i < s.fixed.listen.size(); ++i) {
    if (!addresses.empty()) addresses += ",";
    addresses += PlanAddress{s.fixed.listen[i].host, s.server->ports()[i]}.ToString();
  }
  s.Log("info", "serve.started",
        {{"config", s.options.config_path},
         {"listen", addresses},
         {"tls", s.fixed.tls ? "true" : "false"},
         {"functions", std::to_string(function_count)},
         {"metrics", s.metrics_server ? PlanAddress{s.fixed.metrics_listen->host,
                                                    s.metrics_server->ports()[0]}
                                            .ToString()
                                      : (s.fixed.metrics_enabled ? "main" : "off")}});
  return std::unique_ptr<Service>(new Service(std::move(impl)));
}

std::vector<uint16_t> Service::ports() const {
  return impl_->server ? impl_->server->ports() : std::vector<uint16_t>{};
}

std::optional<uint16_t> Service::metrics_port() const {
  if (!impl_->metrics_server) return std::nullopt;
  return impl_->metrics_server->ports().at(0);
}

uint64_t Service::generation() const { return impl_->generation.load(); }

tl::expected<void, ServiceErrors> Service::Reload() {
  Impl& s = *impl_;
  std::lock_guard lock(s.reload_mu);
  if (s.stopped || s.stopping.load()) return tl::unexpected(ServiceErrors{{"the server is stopping"}});
  auto refuse = [&s](std::vector<std::string> messages) {
    for (const auto& m : messages) s.Log("error", "reload.rejected", {{"problem", m}});
    s.Log("warn", "reload.kept_running_version",
          {{"generation", std::to_string(s.generation.load())}});
    return tl::unexpected(ServiceErrors{std::move(messages)});
  };

  // Fingerprint first: a change made while loading is seen by the next check.
  std::string print = FingerprintPaths(s.watch_paths);
  auto plan = LoadServicePlan(s.options.config_path);
  if (!plan) {
    s.watch_print = print;  // do not retry the same bad files every tick
    return refuse(plan.error());
  }
  for (const auto& w : plan->warnings) s.Log("warn", "config.warning", {{"finding", w}});
  for (const auto& name : FixedSettings::Of(*plan).Diff(s.fixed)) {
    s.Log("warn", "reload.needs_restart", {{"setting", name}});
  }
  auto new_watch = plan->watch_paths;
  std::vector<std::string> names;
  for (const auto& f : plan->functions) names.push_back(f.name);

  // Build the chain before touching the environments: a chain that does not build changes
  // nothing.
  auto probe = plan->functions;  // specs outlive the chain build's moves
  auto chain = s.BuildChain(*plan);
  if (!chain) {
    s.watch_print = print;
    return refuse(chain.error());
  }
  if (!s.options.invoker) {
    ServicePlan functions_only;
    functions_only.functions = probe;
    if (auto deployed = s.DeployFunctions(functions_only); !deployed) {
      s.watch_print = print;
      return refuse(deployed.error());
    }
    s.handler->Set(*chain);
    s.UndeployMissing(functions_only);
  } else {
    s.handler->Set(*chain);
  }
  s.strict_audit = plan->strict_audit;
  if (s.options.invoker) {
    s.deployed.clear();
    for (const auto& f : probe) s.deployed[f.name] = {f.spec, Impl::FunctionPrint(*f.spec)};
  }
  // The print taken before loading: a change made while loading is seen by the next check.
  if (new_watch != s.watch_paths) print = FingerprintPaths(new_watch);
  s.watch_paths = std::move(new_watch);
  s.watch_print = std::move(print);
  const uint64_t generation = s.generation.fetch_add(1) + 1;
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ",") + n;
  s.Log("info", "reload.applied",
        {{"generation", std::to_string(generation)}, {"functions", list}});
  return {};
}

bool Service::ReloadIfChanged() {
  {
    std::lock_guard lock(impl_->reload_mu);
    if (impl_->stopped) return false;
    if (FingerprintPaths(impl_->watch_paths) == impl_->watch_print) return false;
  }
  impl_->Log("info", "reload.files_changed", {});
  return Reload().has_value();
}

bool Service::Shutdown() {
  Impl& s = *impl_;
  std::lock_guard lock(s.reload_mu);
  if (s.stopped) return s.stop_result;
  s.stopping.store(true);
  s.Log("info", "serve.stopping",
        {{"drain_timeout_ms", std::to_string(s.options.drain_timeout.count())}});
  bool clean = true;
  if (s.server) clean = s.server->Drain(s.options.drain_timeout);
  if (s.metrics_server) s.metrics_server->Drain(std::chrono::milliseconds(1000));
  s.server.reset();
  s.metrics_server.reset();
  s.handler->Set(nullptr);
  s.environments.reset();  // kills what is left in jails
  bool sealed = true;
  if (s.audit_writer) {
    auto closed = s.audit_writer->Close();
    sealed = closed.has_value();
    if (!closed) {
      s.Log("error", "audit.close_failed", {{"problem", closed.error().ToString()}});
    }
  }
  s.stopped = true;
  s.stop_result = clean && sealed;
  s.Log(s.stop_result ? "info" : "error", "serve.stopped",
        {{"drained", clean ? "true" : "false"}, {"audit_sealed", sealed ? "true" : "false"}});
  return s.stop_result;
}

int RunService(ServiceOptions options, std::chrono::milliseconds watch_interval) {
  // Before any thread exists, so every thread inherits the mask and only sigtimedwait below
  // sees these signals.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGPIPE);
  if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) return 1;

  ServiceLogFn log = options.log ? options.log : JsonStderrLog();
  options.log = log;
  auto service = Service::Start(std::move(options));
  if (!service) return 1;

  const auto tick = watch_interval.count() > 0 ? watch_interval : std::chrono::milliseconds(1000);
  for (;;) {
    timespec timeout{static_cast<time_t>(tick.count() / 1000),
                     static_cast<long>((tick.count() % 1000) * 1'000'000)};
    siginfo_t info{};
    const int sig = sigtimedwait(&set, &info, &timeout);
    if (sig == SIGTERM || sig == SIGINT) {
      log("info", "serve.signal", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
      break;
    }
    if (sig == SIGHUP) {
      log("info", "serve.signal", {{"signal", "SIGHUP"}});
      (void)(*service)->Reload();
      continue;
    }
    if (sig < 0 && watch_interval.count() > 0) (*service)->ReloadIfChanged();
  }
  return (*service)->Shutdown() ? 0 : 1;
}

}  // namespace fnjail::gateway
