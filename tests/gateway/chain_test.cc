// Tests gateway/chain.cc: the order of the stages, each refusal's answer and audit record,
// and what callers can and cannot learn.
#include "gateway/chain.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace fnjail::gateway {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kWallMs = 1'800'000'000'000;

class FakeClock : public Clock {
 public:
  int64_t WallMs() const override { return kWallMs; }
  int64_t SteadyMicros() const override { return steady_us.fetch_add(10); }
  mutable std::atomic<int64_t> steady_us{1'000'000'000};
};

class FakeInvoker : public Invoker {
 public:
  tl::expected<InvokeSuccess, InvokeFailure> Invoke(const runtime::Invocation& inv) override {
    {
      std::lock_guard lock(mu);
      calls.push_back(inv);
    }
    if (block) {
      std::unique_lock lock(mu);
      ++blocked;
      cv.notify_all();
      cv.wait(lock, [&] { return !block; });
    }
    if (throw_error) throw std::runtime_error("boom");
    if (!fail_code.empty()) {
      InvokeFailure f{fail_code, "detail for logs", {}};
      f.metering.outcome = fail_code == "jail" ? "seccomp" : fail_code;
      f.metering.violation = fail_code == "jail" ? "ptrace" : "";
      return tl::unexpected(f);
    }
    InvokeSuccess s;
    s.response = response;
    s.metering = {1500, 2, 0, 1, 2048, true, "ok", ""};
    return s;
  }

  void Release() {
    std::lock_guard lock(mu);
    block = false;
    cv.notify_all();
  }

  std::mutex mu;
  std::condition_variable cv;
  bool block = false;
  int blocked = 0;
  bool throw_error = false;
  std::string fail_code;
  runtime::Response response;
  std::vector<runtime::Invocation> calls;
};

class FakeAudit : public AuditSink {
 public:
  tl::expected<uint64_t, std::string> Append(const crypto::AuditRecord& record) override {
    std::lock_guard lock(mu);
    if (fail_append) return tl::unexpected(std::string("disk full"));
    records.push_back(record);
    return records.size();
  }
  tl::expected<void, std::string> WaitDurable(uint64_t) override {
    std::lock_guard lock(mu);
    ++waits;
    if (fail_wait) return tl::unexpected(std::string("fdatasync failed"));
    return {};
  }
  crypto::AuditRecord Last() {
    std::lock_guard lock(mu);
    return records.empty() ? crypto::AuditRecord{} : records.back();
  }
  size_t Count() {
    std::lock_guard lock(mu);
    return records.size();
  }
  std::mutex mu;
  std::vector<crypto::AuditRecord> records;
  bool fail_append = false;
  bool fail_wait = false;
  int waits = 0;
};

constexpr const char* kPolicies = R"(
id = "alice"
attach = ["alice"]
[[statement]]
sid = "InvokeMost"
effect = "allow"
action = "function:Invoke"
resource = ["fn:hello", "fn:users", "fn:ghost", "fn:raw"]
[[statement]]
sid = "ReadMetrics"
effect = "allow"
action = "gateway:ReadMetrics"
resource = "gateway:metrics"
)";

constexpr const char* kSchema = R"({"type":"object","required":["name"],
  "properties":{"name":{"type":"string","maxLength":8}}})";

class ChainTest : public ::testing::Test {
 protected:
  void SetUp() override { Build(); }

  void Build(ChainOptions options = {}, bool with_rate_limit = false,
             std::vector<ShadowSet> shadows = {}) {
    pepper_ = std::make_shared<crypto::SecretBytes>(crypto::AsBytes(std::string(32, 'p')));
    auto store = std::make_shared<crypto::ApiKeyStore>();
    auto alice = store->Create(pepper_->view(), "alice", 0);
    auto bob = store->Create(pepper_->view(), "bob", 0);
    ASSERT_TRUE(alice && bob);
    alice_key_ = alice->key;
    bob_key_ = bob->key;
    AuthOptions auth;
    auth.api_keys = ApiKeyAuth{store, pepper_, {}};
    auth.api_keys->bindings[alice->info.id] = {"alice", {"ops"}, {}};
    auth.api_keys->bindings[bob->info.id] = {"bob", {}, {}};
    auto authenticator = Authenticator::Create(std::move(auth));
    ASSERT_TRUE(authenticator.has_value());

    auto doc = policy::ParseToml(kPolicies, "alice.toml");
    ASSERT_TRUE(doc.has_value());
    auto set = policy::PolicySet::Compile({std::move(*doc)});
    ASSERT_TRUE(set.has_value());

    if (options.functions.empty()) {
      FunctionConfig hello{"hello", {}, 0, 5000};
      auto schema = SchemaValidator::Compile(kSchema);
      ASSERT_TRUE(schema.has_value());
      hello.input.schema = *schema;
      hello.input.max_body_bytes = 1024;
      FunctionConfig users{"users", {}, 1, 5000};
      FunctionConfig raw{"raw", {}, 0, 5000};
      raw.input.kind = BodyKind::kRaw;
      FunctionConfig secret{"secret", {}, 0, 5000};
      options.functions = {hello, users, raw, secret};
      options.routes = {{"users", "GET", "/users/{id}"}, {"users", "PUT", "/users/{id}"},
                        {"raw", "POST", "/upload/{name}"}, {"secret", "GET", "/secret/{x}"}};
    }
    invoker_ = std::make_shared<FakeInvoker>();
    invoker_->response.status = 200;
    invoker_->response.body = R"({"ok":true})";
    invoker_->response.headers = {{"Content-Type", "application/json"}};
    audit_ = std::make_shared<FakeAudit>();
    metrics_ = std::make_shared<Metrics>();
    ChainDeps deps;
    deps.authenticator = std::move(*authenticator);
    deps.authorizer = std::make_shared<Authorizer>(std::move(*set), std::move(shadows));
    if (with_rate_limit) {
      RateLimiterOptions rl;
      rl.default_limit = {1, 2};
      deps.rate_limiter = std::make_shared<RateLimiter>(rl);
    }
    deps.invoker = invoker_;
    deps.audit = audit_;
    deps.metrics = metrics_;
    deps.clock = std::make_shared<FakeClock>();
    deps.ready = [this] { return ready_.load(); };
    deps.log = [this](std::string_view event, const auto& fields) {
      std::lock_guard lock(log_mu_);
      std::string line(event);
      for (const auto& [k, v] : fields) line += " " + k + "=" + v;
      log_.push_back(line);
    };
    auto chain = Chain::Create(std::move(options), std::move(deps));
    ASSERT_TRUE(chain.has_value()) << chain.error();
    chain_ = std::move(*chain);
  }

  HttpRequest Req(std::string method, std::string target, std::string key,
                  std::string body = R"({"name":"ann"})") {
    HttpRequest r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.headers = {{"Host", "gw.example"}};
    if (!key.empty()) r.headers.emplace_back("X-Api-Key", std::move(key));
    if (!body.empty()) r.headers.emplace_back("Content-Type", "application/json");
    r.body = std::move(body);
    r.remote_ip = "192.0.2.7";
    r.remote_port = 5555;
    return r;
  }

  HttpResponse Invoke(std::string fn, std::string key, std::string body = R"({"name":"ann"})") {
    return chain_->Handle(Req("POST", "/v1/functions/" + fn + "/invoke", key, body));
  }

  static std::string Header(const HttpResponse& r, std::string_view name) {
    const std::string* v = FindHeader(r.headers, name);
    return v ? *v : "<absent>";
  }

  static nlohmann::json Error(const HttpResponse& r) {
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    EXPECT_TRUE(j.is_object() && j.contains("error")) << r.body;
    return j.is_object() && j.contains("error") ? j["error"] : nlohmann::json::object();
  }

  // The error body without its request id: what a caller can compare across requests.
  static std::string Shape(const HttpResponse& r) {
    nlohmann::json e = Error(r);
    e.erase("request_id");
    return std::to_string(r.status) + " " + e.dump();
  }

  std::shared_ptr<crypto::SecretBytes> pepper_;
  std::string alice_key_, bob_key_;
  std::shared_ptr<FakeInvoker> invoker_;
  std::shared_ptr<FakeAudit> audit_;
  std::shared_ptr<Metrics> metrics_;
  std::unique_ptr<Chain> chain_;
  std::atomic<bool> ready_{true};
  std::mutex log_mu_;
  std::vector<std::string> log_;
};

TEST_F(ChainTest, AllowedInvocationReturnsTheFunctionsAnswer) {
  invoker_->response.status = 201;
  invoker_->response.headers = {{"Content-Type", "application/json"},
                                {"X-Custom", "1"},
                                {"Set-Cookie", "a=b"},
                                {"Transfer-Encoding", "chunked"},
                                {"Content-Length", "999"},
                                {"X-Request-Id", "forged"},
                                {"X-Forwarded-For", "1.2.3.4"},
                                {"X-Bad", "a\r\nInjected: 1"},
                                {"Bad Name", "x"}};
  HttpResponse r = Invoke("hello", alice_key_);
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body, R"({"ok":true})");
  EXPECT_EQ(Header(r, "content-type"), "application/json");
  EXPECT_EQ(Header(r, "x-custom"), "1");
  EXPECT_EQ(Header(r, "X-Content-Type-Options"), "nosniff");
  for (const char* dropped : {"set-cookie", "transfer-encoding", "content-length",
                              "x-forwarded-for", "x-bad", "injected", "bad name"}) {
    EXPECT_EQ(Header(r, dropped), "<absent>") << dropped;
  }
  std::string id = Header(r, "x-request-id");
  EXPECT_EQ(id.size(), RequestIdGenerator::kLength);
  EXPECT_NE(id, "forged");

  ASSERT_EQ(invoker_->calls.size(), 1u);
  const runtime::Invocation& inv = invoker_->calls[0];
  EXPECT_EQ(inv.request_id, id);
  EXPECT_EQ(inv.function, "hello");
  EXPECT_EQ(inv.deadline_ms, 5000u);
  EXPECT_EQ(inv.principal_id, "alice");
  EXPECT_THAT(inv.principal_groups, ElementsAre("ops"));
  EXPECT_EQ(inv.event, R"({"name":"ann"})");

  ASSERT_EQ(audit_->Count(), 1u);
  crypto::AuditRecord rec = audit_->Last();
  EXPECT_EQ(rec.time_ms, kWallMs);
  EXPECT_EQ(rec.request_id, id);
  EXPECT_EQ(rec.principal, "alice");
  EXPECT_EQ(rec.auth_method, "api-key");
  EXPECT_EQ(rec.operation, "function:Invoke");
  EXPECT_EQ(rec.function, "fn:hello");
  EXPECT_EQ(rec.source_ip, "192.0.2.7");
  EXPECT_EQ(rec.http_status, 201);
  EXPECT_TRUE(rec.allowed);
  EXPECT_EQ(rec.decision_reason, "explicit-allow");
  EXPECT_THAT(rec.statements, ElementsAre("alice#InvokeMost"));
  auto digest = crypto::Sha256(crypto::AsBytes(R"({"name":"ann"})"));
  EXPECT_EQ(rec.input_sha256, crypto::ToHex(*digest));
  EXPECT_EQ(rec.billed_duration_ms, 2);
  EXPECT_EQ(rec.cpu_ms, 1);
  EXPECT_EQ(rec.peak_memory_bytes, 2048 * 1024);
  EXPECT_EQ(rec.outcome, "ok");
  EXPECT_EQ(audit_->waits, 1);  // strict by default
  EXPECT_EQ(metrics_->ForFunction("hello")->requests(201, DecisionLabel::kAllow), 1u);
}

TEST_F(ChainTest, NoCredentialsIs401AndAudited) {
  HttpResponse r = Invoke("hello", "");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(Error(r)["code"], "unauthenticated");
  EXPECT_EQ(Error(r)["request_id"], Header(r, "x-request-id"));
  EXPECT_EQ(Header(r, "content-type"), "application/json");
  EXPECT_THAT(Header(r, "www-authenticate"), HasSubstr("Bearer"));
  EXPECT_TRUE(invoker_->calls.empty());
  crypto::AuditRecord rec = audit_->Last();
  EXPECT_EQ(rec.http_status, 401);
  EXPECT_EQ(rec.principal, "");
  EXPECT_FALSE(rec.allowed);
  EXPECT_EQ(rec.outcome, "unauthenticated");
  EXPECT_EQ(metrics_->ForFunction("")->requests(401, DecisionLabel::kNone), 1u);
}

TEST_F(ChainTest, BadCredentialsGetOneGenericAnswer) {
  std::string wrong = alice_key_;
  char& changed = wrong[wrong.size() - 5];  // inside the secret, clear of its padding bits
  changed = changed == 'A' ? 'B' : 'A';
  HttpResponse a = Invoke("hello", wrong);
  HttpResponse b = Invoke("hello", "fnjk_000000000000_" + std::string(43, 'A'));
  HttpResponse c = Invoke("hello", "nonsense");
  EXPECT_EQ(a.status, 401);
  EXPECT_EQ(Shape(a), Shape(b));
  EXPECT_EQ(Shape(a), Shape(c));
  EXPECT_EQ(Error(a)["code"], "invalid-credentials");
  // The reason is kept for the audit record and the log, not the caller.
  EXPECT_FALSE(audit_->Last().violation.empty());
  EXPECT_THAT(a.body, Not(HasSubstr(audit_->records[0].violation)));
  EXPECT_EQ(audit_->records[0].auth_method, "api-key");
  std::lock_guard lock(log_mu_);
  EXPECT_THAT(log_, Contains(HasSubstr("auth.failed")));
}

TEST_F(ChainTest, TwoCredentialsAre400) {
  HttpRequest req = Req("POST", "/v1/functions/hello/invoke", alice_key_);
  req.headers.emplace_back("Authorization", "Bearer x.y.z");
  HttpResponse r = chain_->Handle(req);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Error(r)["code"], "ambiguous-credentials");
  EXPECT_TRUE(invoker_->calls.empty());
}

TEST_F(ChainTest, UnauthenticatedCallersLearnNothingAboutRoutes) {
  std::vector<HttpResponse> answers = {
      Invoke("hello", ""), Invoke("nosuch", ""),
      chain_->Handle(Req("GET", "/users/1", "")), chain_->Handle(Req("GET", "/nothing", "")),
      chain_->Handle(Req("DELETE", "/users/1", "")), chain_->Handle(Req("GET", "/metrics", "")),
      chain_->Handle(Req("GET", "/a/../b", ""))};
  for (const auto& a : answers) EXPECT_EQ(Shape(a), Shape(answers[0]));
}

TEST_F(ChainTest, ForbiddenAndUnknownFunctionsLookTheSameToDeniedCallers) {
  HttpResponse exists = Invoke("hello", bob_key_);
  HttpResponse missing = Invoke("nosuch", bob_key_);
  EXPECT_EQ(exists.status, 403);
  EXPECT_EQ(Error(exists)["code"], "forbidden");
  EXPECT_EQ(Shape(exists), Shape(missing));
  EXPECT_TRUE(invoker_->calls.empty());
  crypto::AuditRecord rec = audit_->Last();
  EXPECT_EQ(rec.function, "fn:nosuch");
  EXPECT_EQ(rec.decision_reason, "implicit-deny");
  EXPECT_FALSE(rec.allowed);
  // Unknown function names never become metric labels.
  EXPECT_EQ(metrics_->ForFunction("")->requests(403, DecisionLabel::kDeny), 1u);
  EXPECT_THAT(metrics_->Render(), Not(HasSubstr("nosuch")));
}

TEST_F(ChainTest, AllowedCallerOfAnUndeployedFunctionGets404) {
  HttpResponse r = Invoke("ghost", alice_key_);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Error(r)["code"], "not-found");
  EXPECT_TRUE(audit_->Last().allowed);
}

TEST_F(ChainTest, DeniedCallersSeeNoValidationErrors) {
  // Authorization runs before the body is parsed: a denied caller cannot probe a
  // function's schema, content type or size limit, and never reaches the parser.
  HttpResponse bad_json = Invoke("hello", bob_key_, "{nope");
  HttpResponse wrong_type = chain_->Handle([&] {
    HttpRequest r = Req("POST", "/v1/functions/hello/invoke", bob_key_);
    r.headers.back().second = "text/plain";
    return r;
  }());
  EXPECT_EQ(bad_json.status, 403);
  EXPECT_EQ(wrong_type.status, 403);
}

TEST_F(ChainTest, ValidationErrorsForAllowedCallers) {
  HttpResponse schema = Invoke("hello", alice_key_, R"({"name":"far too long a name"})");
  EXPECT_EQ(schema.status, 400);
  EXPECT_EQ(Error(schema)["code"], "schema-violation");
  EXPECT_THAT(Error(schema)["message"].get<std::string>(), HasSubstr("`/name`"));
  EXPECT_THAT(audit_->Last().violation, HasSubstr("/name"));

  HttpResponse dup = Invoke("hello", alice_key_, R"({"name":"a","name":"b"})");
  EXPECT_EQ(dup.status, 400);
  EXPECT_EQ(Error(dup)["code"], "invalid-body");

  HttpRequest plain = Req("POST", "/v1/functions/hello/invoke", alice_key_);
  plain.headers.back().second = "text/plain";
  EXPECT_EQ(chain_->Handle(plain).status, 415);

  HttpResponse big = Invoke("hello", alice_key_, R"({"name":")" + std::string(2000, 'a') + "\"}");
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(Error(big)["code"], "payload-too-large");
  EXPECT_TRUE(invoker_->calls.empty());
}

TEST_F(ChainTest, DeclaredRouteHandsTheFunctionAnEnvelope) {
  HttpResponse r = chain_->Handle(Req("PUT", "/users/j%40ne?full=1", alice_key_, R"({"a":[1]})"));
  EXPECT_EQ(r.status, 200);
  ASSERT_EQ(invoker_->calls.size(), 1u);
  auto event = nlohmann::json::parse(invoker_->calls[0].event);
  EXPECT_EQ(event["method"], "PUT");
  EXPECT_EQ(event["path"], "/users/j%40ne");
  EXPECT_EQ(event["params"]["id"], "j@ne");
  EXPECT_EQ(event["query"], "full=1");
  EXPECT_EQ(event["body"], nlohmann::json::parse(R"({"a":[1]})"));

  HttpRequest get = Req("GET", "/users/7", alice_key_, "");
  EXPECT_EQ(chain_->Handle(get).status, 200);
  EXPECT_TRUE(nlohmann::json::parse(invoker_->calls[1].event)["body"].is_null());
}

TEST_F(ChainTest, RawFunctionsGetTheBodyInBase64Url) {
  HttpRequest r = Req("POST", "/upload/x", alice_key_, "");
  r.body = std::string("\x00\xff", 2);
  r.headers.emplace_back("Content-Type", "application/octet-stream");
  EXPECT_EQ(chain_->Handle(r).status, 200);
  auto event = nlohmann::json::parse(invoker_->calls[0].event);
  EXPECT_EQ(event["body_base64url"], "AP8");
  // Through the invoke route the raw body passes as it is.
  HttpRequest direct = Req("POST", "/v1/functions/raw/invoke", alice_key_, "");
  direct.body = "plain bytes";
  EXPECT_EQ(chain_->Handle(direct).status, 200);
  EXPECT_EQ(invoker_->calls[1].event, "plain bytes");
}

TEST_F(ChainTest, DeclaredRoutesAreHiddenFromDeniedCallers) {
  HttpResponse denied = chain_->Handle(Req("GET", "/users/1", bob_key_, ""));
  HttpResponse nothing = chain_->Handle(Req("GET", "/nothing/1", bob_key_, ""));
  HttpResponse wrong_method = chain_->Handle(Req("DELETE", "/users/1", bob_key_, ""));
  EXPECT_EQ(denied.status, 404);
  EXPECT_EQ(Shape(denied), Shape(nothing));
  EXPECT_EQ(Shape(wrong_method), Shape(nothing));
  EXPECT_FALSE(audit_->records[0].allowed);
  EXPECT_EQ(audit_->records[0].function, "fn:users");

  HttpResponse allowed = chain_->Handle(Req("DELETE", "/users/1", alice_key_, ""));
  EXPECT_EQ(allowed.status, 405);
  EXPECT_EQ(Header(allowed, "allow"), "GET, PUT");
  // alice may not invoke `secret`, so its route does not exist for her either.
  EXPECT_EQ(chain_->Handle(Req("GET", "/secret/1", alice_key_, "")).status, 404);
}

TEST_F(ChainTest, DeniedRoutesCanAnswer403WhenConfigured) {
  ChainOptions options;
  FunctionConfig users{"users", {}, 0, 1000};
  options.functions = {users};
  options.routes = {{"users", "GET", "/users/{id}"}};
  options.hide_denied_routes = false;
  Build(std::move(options));
  EXPECT_EQ(chain_->Handle(Req("GET", "/users/1", bob_key_, "")).status, 403);
}

TEST_F(ChainTest, BadPathsAre400ForAuthenticatedCallers) {
  HttpResponse r = chain_->Handle(Req("GET", "/users/%2e%2e", alice_key_, ""));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Error(r)["code"], "bad-request");
  EXPECT_EQ(chain_->Handle(Req("GET", "/v1/functions/hello/invoke", alice_key_, "")).status, 405);
}

TEST_F(ChainTest, RateLimitIs429WithRetryAfter) {
  Build({}, /*with_rate_limit=*/true);
  EXPECT_EQ(Invoke("hello", alice_key_).status, 200);
  EXPECT_EQ(Invoke("hello", alice_key_).status, 200);
  HttpResponse r = Invoke("hello", alice_key_);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(Error(r)["code"], "rate-limited");
  EXPECT_EQ(Header(r, "retry-after"), "1");
  EXPECT_EQ(audit_->Last().http_status, 429);
  EXPECT_TRUE(audit_->Last().allowed);
  EXPECT_EQ(invoker_->calls.size(), 2u);
}

TEST_F(ChainTest, ConcurrencyLimitIs429) {
  invoker_->block = true;
  std::thread first([&] { EXPECT_EQ(chain_->Handle(Req("GET", "/users/1", alice_key_, "")).status, 200); });
  {
    std::unique_lock lock(invoker_->mu);
    invoker_->cv.wait(lock, [&] { return invoker_->blocked == 1; });
  }
  HttpResponse second = chain_->Handle(Req("GET", "/users/2", alice_key_, ""));
  EXPECT_EQ(second.status, 429);
  EXPECT_EQ(Error(second)["code"], "concurrency-limited");
  EXPECT_EQ(Header(second, "retry-after"), "1");
  invoker_->Release();
  first.join();
  // The slot is free again.
  EXPECT_EQ(chain_->Handle(Req("GET", "/users/3", alice_key_, "")).status, 200);
}

TEST_F(ChainTest, InvocationFailuresMapToStatuses) {
  const std::pair<std::string, int> cases[] = {{"timeout", 504},     {"jail", 502},
                                               {"over-capacity", 503}, {"unknown-function", 404},
                                               {"invalid", 400},     {"io", 500}};
  for (const auto& [code, status] : cases) {
    invoker_->fail_code = code;
    HttpResponse r = Invoke("hello", alice_key_);
    EXPECT_EQ(r.status, status) << code;
    EXPECT_THAT(r.body, Not(HasSubstr("detail for logs"))) << code;
    EXPECT_EQ(audit_->Last().http_status, status);
  }
  invoker_->fail_code = "jail";
  Invoke("hello", alice_key_);
  EXPECT_EQ(audit_->Last().outcome, "seccomp");
  EXPECT_EQ(audit_->Last().violation, "ptrace");
  invoker_->fail_code = "over-capacity";
  EXPECT_EQ(Header(Invoke("hello", alice_key_), "retry-after"), "1");
  EXPECT_THAT(metrics_->Render(), HasSubstr("outcome=\"seccomp\"} 2"));
}

TEST_F(ChainTest, FunctionErrors) {
  invoker_->response.kind = runtime::Response::Kind::kHandledError;
  invoker_->response.status = 422;
  invoker_->response.error_type = "ValidationError";
  invoker_->response.error_message = "name taken";
  HttpResponse handled = Invoke("hello", alice_key_);
  EXPECT_EQ(handled.status, 422);
  EXPECT_EQ(Error(handled)["code"], "function-error");
  EXPECT_EQ(Error(handled)["message"], "name taken");
  EXPECT_EQ(audit_->Last().outcome, "ok");  // as the fake meters it

  invoker_->response.status = 200;
  EXPECT_EQ(Invoke("hello", alice_key_).status, 500);

  invoker_->response.kind = runtime::Response::Kind::kUnhandledError;
  invoker_->response.error_message = "stack trace with secrets";
  HttpResponse unhandled = Invoke("hello", alice_key_);
  EXPECT_EQ(unhandled.status, 500);
  EXPECT_THAT(unhandled.body, Not(HasSubstr("secrets")));

  invoker_->response.kind = runtime::Response::Kind::kOk;
  invoker_->response.status = 700;
  EXPECT_EQ(Invoke("hello", alice_key_).status, 502);
  invoker_->response.status = 101;
  EXPECT_EQ(Invoke("hello", alice_key_).status, 502);
}

TEST_F(ChainTest, AuditFailureFailsClosed) {
  audit_->fail_wait = true;
  HttpResponse r = Invoke("hello", alice_key_);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(Error(r)["code"], "unavailable");
  EXPECT_THAT(r.body, Not(HasSubstr("ok\":true")));
  audit_->fail_wait = false;
  audit_->fail_append = true;
  EXPECT_EQ(Invoke("hello", alice_key_).status, 503);
  EXPECT_EQ(Invoke("hello", "").status, 503);  // refusals need their record too
  EXPECT_THAT(metrics_->Render(), HasSubstr("fnjail_audit_failures_total 3\n"));
}

TEST_F(ChainTest, NonStrictAuditDoesNotWait) {
  ChainOptions options;
  options.functions = {FunctionConfig{"hello", {}, 0, 1000}};
  options.strict_audit = false;
  Build(std::move(options));
  EXPECT_EQ(Invoke("hello", alice_key_).status, 200);
  EXPECT_EQ(audit_->waits, 0);
  EXPECT_EQ(audit_->Count(), 1u);
  audit_->fail_append = true;
  EXPECT_EQ(Invoke("hello", alice_key_).status, 503);
}

TEST_F(ChainTest, ProbesArePublicAndNotAuditedByDefault) {
  HttpResponse health = chain_->Handle(Req("GET", "/healthz", "", ""));
  EXPECT_EQ(health.status, 200);
  EXPECT_NE(Header(health, "x-request-id"), "<absent>");
  EXPECT_EQ(chain_->Handle(Req("GET", "/readyz", "", "")).status, 200);
  ready_ = false;
  EXPECT_EQ(chain_->Handle(Req("GET", "/readyz", "", "")).status, 503);
  EXPECT_EQ(chain_->Handle(Req("GET", "/healthz", "", "")).status, 200);
  HttpResponse post = chain_->Handle(Req("POST", "/healthz", "", ""));
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(Header(post, "allow"), "GET");
  EXPECT_EQ(audit_->Count(), 0u);

  ChainOptions options;
  options.audit_probes = true;
  options.functions = {FunctionConfig{"hello", {}, 0, 1000}};
  Build(std::move(options));
  chain_->Handle(Req("GET", "/healthz", "", ""));
  EXPECT_EQ(audit_->Last().operation, "gateway:Probe");
}

TEST_F(ChainTest, MetricsNeedAuthorization) {
  Invoke("hello", alice_key_);
  EXPECT_EQ(chain_->Handle(Req("GET", "/metrics", "", "")).status, 401);
  EXPECT_EQ(chain_->Handle(Req("GET", "/metrics", bob_key_, "")).status, 403);
  HttpResponse r = chain_->Handle(Req("GET", "/metrics", alice_key_, ""));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Header(r, "content-type"), Metrics::kContentType);
  EXPECT_THAT(r.body, HasSubstr("fnjail_requests_total{function=\"hello\",status=\"200\""));
  EXPECT_EQ(audit_->Last().operation, "gateway:ReadMetrics");
  EXPECT_TRUE(audit_->Last().allowed);
}

TEST_F(ChainTest, MetricsOnTheirOwnListener) {
  ChainOptions options;
  options.metrics_require_auth = false;
  options.functions = {FunctionConfig{"hello", {}, 0, 1000}};
  Build(std::move(options));
  EXPECT_EQ(chain_->Handle(Req("GET", "/metrics", "", "")).status, 200);
}

TEST_F(ChainTest, RequestIdFromTheServerIsKeptWhenWellFormed) {
  HttpRequest r = Req("POST", "/v1/functions/hello/invoke", alice_key_);
  r.headers.emplace_back("X-Request-Id", "abc-123");
  HttpResponse a = chain_->Handle(r);
  EXPECT_EQ(Header(a, "x-request-id"), "abc-123");
  EXPECT_EQ(invoker_->calls[0].request_id, "abc-123");
  r.headers.back().second = "bad id with spaces";
  HttpResponse b = chain_->Handle(r);
  EXPECT_NE(Header(b, "x-request-id"), "bad id with spaces");
  EXPECT_EQ(Header(b, "x-request-id").size(), RequestIdGenerator::kLength);
}

TEST_F(ChainTest, ShadowDecisionIsAudited) {
  std::vector<ShadowSet> shadows;
  shadows.push_back({"", policy::PolicySet()});
  Build({}, false, std::move(shadows));
  EXPECT_EQ(Invoke("hello", alice_key_).status, 200);
  EXPECT_THAT(audit_->Last().statements,
              ElementsAre("alice#InvokeMost", "shadow:implicit-deny"));
}

TEST_F(ChainTest, EveryNamedShadowSetIsAuditedUnderItsName) {
  std::vector<ShadowSet> shadows;
  shadows.push_back({"next", policy::PolicySet()});
  shadows.push_back({"strict", policy::PolicySet()});
  Build({}, false, std::move(shadows));
  EXPECT_EQ(Invoke("hello", alice_key_).status, 200);
  EXPECT_THAT(audit_->Last().statements,
              ElementsAre("alice#InvokeMost", "shadow:next:implicit-deny",
                          "shadow:strict:implicit-deny"));
}

TEST_F(ChainTest, ExceptionsBecome500WithARecord) {
  invoker_->throw_error = true;
  HttpResponse r = Invoke("hello", alice_key_);
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(Error(r)["code"], "internal");
  EXPECT_EQ(audit_->Last().http_status, 500);
  std::lock_guard lock(log_mu_);
  EXPECT_THAT(log_, Contains(HasSubstr("chain.exception")));
}

TEST_F(ChainTest, ConcurrentRequests) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        HttpResponse r = Invoke(i % 2 ? "hello" : "nosuch", t % 2 ? alice_key_ : bob_key_);
        if (r.status == 200) ok.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 4 * 100);
  EXPECT_EQ(audit_->Count(), 1600u);
  std::set<std::string> ids;
  for (const auto& rec : audit_->records) ids.insert(rec.request_id);
  EXPECT_EQ(ids.size(), 1600u);
}

TEST(ChainCreateTest, RefusesBadOptions) {
  ChainDeps none;
  auto missing = Chain::Create({}, none);
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error(), HasSubstr("authenticator"));
  EXPECT_THAT(missing.error(), HasSubstr("audit sink"));

  auto auth = Authenticator::Create({});
  ChainDeps deps;
  deps.authenticator = std::move(*auth);
  deps.authorizer = std::make_shared<Authorizer>(policy::PolicySet());
  deps.invoker = std::make_shared<FakeInvoker>();
  deps.audit = std::make_shared<FakeAudit>();
  deps.metrics = std::make_shared<Metrics>();
  ChainOptions options;
  options.functions = {FunctionConfig{"a", {}, 0, 1000}, FunctionConfig{"a", {}, 0, 1000},
                       FunctionConfig{"bad name", {}, 0, 1000}, FunctionConfig{"z", {}, 0, 0}};
  options.routes = {{"nobody", "GET", "/x"}};
  auto bad = Chain::Create(options, deps);
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error(), HasSubstr("declared twice"));
  EXPECT_THAT(bad.error(), HasSubstr("`bad name`"));
  EXPECT_THAT(bad.error(), HasSubstr("zero timeout"));
  EXPECT_THAT(bad.error(), HasSubstr("unknown function `nobody`"));
}

TEST(ErrorsTest, ErrorBodiesAreValidJson) {
  HttpResponse r = ErrorReply(ErrorCode::kForbidden, "no \"quotes\"\n\xff", "id-1");
  EXPECT_EQ(r.status, 403);
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["error"]["code"], "forbidden");
  EXPECT_EQ(j["error"]["message"], "no \"quotes\"\n\xef\xbf\xbd");
  EXPECT_EQ(j["error"]["request_id"], "id-1");
  EXPECT_EQ(ErrorStatus(ErrorCode::kGatewayTimeout), 504);
  EXPECT_EQ(ErrorStatus(ErrorCode::kBadGateway), 502);
  EXPECT_EQ(ErrorStatus(ErrorCode::kOverCapacity), 503);
  EXPECT_EQ(ErrorStatus(ErrorCode::kUnsupportedMediaType), 415);
}

TEST(ErrorsTest, RequestIdsAreUnique) {
  RequestIdGenerator ids(0x0123456789abcdef);
  EXPECT_EQ(ids.Next(), "0123456789abcdef0000000000000000");
  EXPECT_EQ(ids.Next(), "0123456789abcdef0000000000000001");
  RequestIdGenerator random_a, random_b;
  EXPECT_NE(random_a.Next(), random_b.Next());
}

}  // namespace
}  // namespace fnjail::gateway
