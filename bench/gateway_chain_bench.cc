// The gateway's filter chain without HTTP: allowed and denied requests through every stage
// with a fake invoker, so the figure is the chain's own cost per request (authentication,
// routing, authorization, validation, admission, audit record, metrics).
#include <filesystem>
#include <memory>
#include <string>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include "gateway/chain.h"

namespace {

using namespace fnjail;
using namespace fnjail::gateway;

constexpr int64_t kNow = 1'800'000'000;

class EchoInvoker : public Invoker {
 public:
  tl::expected<InvokeSuccess, InvokeFailure> Invoke(const runtime::Invocation& inv) override {
    InvokeSuccess s;
    s.response.status = 200;
    s.response.headers = {{"Content-Type", "application/json"}};
    s.response.body = inv.event;
    s.metering.outcome = "ok";
    s.metering.billed_ms = 1;
    return s;
  }
};

// Keeps nothing: the chain's cost without the log's.
class NullAudit : public AuditSink {
 public:
  tl::expected<uint64_t, std::string> Append(const crypto::AuditRecord& record) override {
    benchmark::DoNotOptimize(record.request_id.data());
    return ++seq_;
  }
  tl::expected<void, std::string> WaitDurable(uint64_t) override { return {}; }

 private:
  std::atomic<uint64_t> seq_{0};
};

struct Setup {
  std::unique_ptr<Chain> chain;
  std::string alice_key, bob_key, token;
  std::unique_ptr<crypto::AuditWriter> writer;  // when a real log is used
  std::filesystem::path dir;

  ~Setup() {
    chain.reset();
    if (writer) (void)writer->Close();
    if (!dir.empty()) std::filesystem::remove_all(dir);
  }
};

// A policy set of ~100 statements: alice's allow among 99 statements for other principals.
std::string Policies() {
  std::string text = R"(
id = "alice"
attach = ["alice", "jwt:alice"]
[[statement]]
sid = "InvokeHello"
effect = "allow"
action = "function:Invoke"
resource = "fn:hello"
)";
  for (int i = 0; i < 99; ++i) {
    text += "[[statement]]\nsid = \"Other" + std::to_string(i) +
            "\"\neffect = \"allow\"\naction = \"function:Invoke\"\nresource = \"fn:team" +
            std::to_string(i) + "-*\"\nprincipal = \"user" + std::to_string(i) + "\"\n";
  }
  return text;
}

std::unique_ptr<Setup> MakeSetup(bool real_audit) {
  auto s = std::make_unique<Setup>();
  auto pepper = std::make_shared<crypto::SecretBytes>(crypto::AsBytes(std::string(32, 'p')));
  auto store = std::make_shared<crypto::ApiKeyStore>();
  auto alice = store->Create(pepper->view(), "alice", kNow);
  auto bob = store->Create(pepper->view(), "bob", kNow);
  s->alice_key = alice->key;
  s->bob_key = bob->key;
  AuthOptions auth;
  auth.api_keys = ApiKeyAuth{store, pepper, {}};
  auth.api_keys->bindings[alice->info.id] = {"alice", {"ops"}, {}};
  auth.api_keys->bindings[bob->info.id] = {"bob", {}, {}};

  crypto::Bytes hkey(32, 9);
  std::string jwks = R"({"keys":[{"kty":"oct","kid":"k","alg":"HS256","k":")" +
                     crypto::Base64UrlEncode(hkey) + R"("}]})";
  JwtIssuer issuer;
  issuer.name = "corp";
  issuer.keys = *crypto::JwkSet::Parse(jwks);
  issuer.options.issuer = "https://id.example.com";
  issuer.principal_prefix = "jwt:";
  auth.jwt_issuers.push_back(std::move(issuer));
  // The token expires long after any run: the bench uses the wall clock.
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  nlohmann::json claims = {{"iss", "https://id.example.com"}, {"sub", "alice"},
                           {"iat", now}, {"exp", now + 3600}, {"groups", {"ops"}}};
  std::string input =
      crypto::Base64UrlEncode(crypto::AsBytes(R"({"alg":"HS256","kid":"k","typ":"JWT"})")) +
      "." + crypto::Base64UrlEncode(crypto::AsBytes(claims.dump()));
  s->token = input + "." + crypto::Base64UrlEncode(*crypto::HmacSha256(hkey, crypto::AsBytes(input)));

  auto doc = policy::ParseToml(Policies(), "alice.toml");
  auto set = policy::PolicySet::Compile({std::move(*doc)});

  ChainOptions options;
  FunctionConfig hello{"hello", {}, 0, 5000};
  hello.input.schema = *SchemaValidator::Compile(
      R"({"type":"object","properties":{"name":{"type":"string","maxLength":64}}})");
  options.functions = {hello};
  ChainDeps deps;
  deps.authenticator = std::move(*Authenticator::Create(std::move(auth)));
  deps.authorizer = std::make_shared<Authorizer>(std::move(*set));
  deps.invoker = std::make_shared<EchoInvoker>();
  if (real_audit) {
    s->dir = std::filesystem::temp_directory_path() /
             ("fnjail-chain-bench-" + std::to_string(::getpid()));
    std::filesystem::create_directories(s->dir);
    crypto::AuditOptions ao;
    ao.path = (s->dir / "audit.log").string();
    auto writer = crypto::AuditWriter::Open(ao, *crypto::Ed25519SigningKey::Generate());
    s->writer = std::move(*writer);
    deps.audit = std::make_shared<AuditWriterSink>(s->writer.get());
  } else {
    deps.audit = std::make_shared<NullAudit>();
  }
  deps.metrics = std::make_shared<Metrics>();
  s->chain = std::move(*Chain::Create(std::move(options), std::move(deps)));
  return s;
}

HttpRequest Request(std::string_view header, std::string value) {
  HttpRequest r;
  r.method = "POST";
  r.target = "/v1/functions/hello/invoke";
  r.headers = {{"Host", "gw.example"}, {"Content-Type", "application/json"},
               {"User-Agent", "wrk"}, {"X-Request-Id", "bench-1"}};
  if (!header.empty()) r.headers.emplace_back(std::string(header), std::move(value));
  r.body = R"({"name":"world"})";
  r.remote_ip = "127.0.0.1";
  return r;
}

Setup* Shared(bool real_audit) {
  static std::unique_ptr<Setup> fake = MakeSetup(false);
  static std::unique_ptr<Setup> real;
  if (!real_audit) return fake.get();
  if (!real) real = MakeSetup(true);
  return real.get();
}

void Run(benchmark::State& state, const HttpRequest& req, int want, Setup* s) {
  for (auto _ : state) {
    HttpResponse r = s->chain->Handle(req);
    if (r.status != want) {
      state.SkipWithError(("unexpected status " + std::to_string(r.status)).c_str());
      break;
    }
    benchmark::DoNotOptimize(r.body.data());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_AllowedApiKey(benchmark::State& state) {
  Setup* s = Shared(false);
  Run(state, Request("X-Api-Key", s->alice_key), 200, s);
}
void BM_AllowedJwt(benchmark::State& state) {
  Setup* s = Shared(false);
  Run(state, Request("Authorization", "Bearer " + s->token), 200, s);
}
void BM_DeniedApiKey(benchmark::State& state) {
  Setup* s = Shared(false);
  Run(state, Request("X-Api-Key", s->bob_key), 403, s);
}
void BM_Unauthenticated(benchmark::State& state) {
  Setup* s = Shared(false);
  Run(state, Request("", ""), 401, s);
}
// The same with the real audit log in strict mode: every answer waits for its group
// commit (fdatasync), so this measures the log, not the chain; run it with threads.
void BM_AllowedApiKeyStrictAudit(benchmark::State& state) {
  Setup* s = Shared(true);
  Run(state, Request("X-Api-Key", s->alice_key), 200, s);
}

BENCHMARK(BM_AllowedApiKey)->ThreadRange(1, 2)->UseRealTime();
BENCHMARK(BM_AllowedJwt)->ThreadRange(1, 2)->UseRealTime();
BENCHMARK(BM_DeniedApiKey)->ThreadRange(1, 2)->UseRealTime();
BENCHMARK(BM_Unauthenticated)->ThreadRange(1, 2)->UseRealTime();
BENCHMARK(BM_AllowedApiKeyStrictAudit)->Threads(1)->Threads(16)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
