// Fuzzer of the whole filter chain (gateway::Chain) with a fake invoker and audit sink.
// The input is a request in a simple text form: the method, the target, then
// `name: value` header lines up to an empty line, then the body. `@ALICE@` and `@BOB@` in
// a header value become the API keys of an allowed and of a denied principal.
//
// Laws: every answer has a status in 200..599 and exactly one X-Request-Id; every error the
// chain answers itself is the JSON error shape with that request id; every answer except
// a probe's leaves exactly one audit record; the invoker runs only for an allowed,
// authenticated principal and only for a deployed function.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "gateway/chain.h"

namespace {

namespace gw = fnjail::gateway;
namespace crypto = fnjail::crypto;

[[noreturn]] void Violation(const char* what) {
  std::fprintf(stderr, "gateway_chain_fuzzer: %s\n", what);
  std::abort();
}

class FixedClock : public gw::Clock {
 public:
  int64_t WallMs() const override { return 1'800'000'000'000; }
  int64_t SteadyMicros() const override { return 1'000'000; }
};

class Invoker : public gw::Invoker {
 public:
  tl::expected<gw::InvokeSuccess, gw::InvokeFailure> Invoke(
      const fnjail::runtime::Invocation& inv) override {
    ++calls;
    last_principal = inv.principal_id;
    gw::InvokeSuccess s;
    // The response echoes the event's first byte into the status, to vary the answer.
    s.response.status = inv.event.empty() ? 200 : 100 + static_cast<unsigned char>(inv.event[0]) * 2;
    s.response.headers = {{"Content-Type", "text/plain"}, {"X-Echo", inv.event.substr(0, 16)}};
    s.response.body = inv.event;
    s.metering.outcome = "ok";
    return s;
  }
  int calls = 0;
  std::string last_principal;
};

class Audit : public gw::AuditSink {
 public:
  tl::expected<uint64_t, std::string> Append(const crypto::AuditRecord&) override {
    return ++records;
  }
  tl::expected<void, std::string> WaitDurable(uint64_t) override { return {}; }
  uint64_t records = 0;
};

struct World {
  std::unique_ptr<gw::Chain> chain;
  std::shared_ptr<Invoker> invoker = std::make_shared<Invoker>();
  std::shared_ptr<Audit> audit = std::make_shared<Audit>();
  std::string alice, bob;
};

World& TheWorld() {
  static World* world = [] {
    auto* w = new World;
    auto pepper = std::make_shared<crypto::SecretBytes>(crypto::AsBytes(std::string(32, 'p')));
    auto store = std::make_shared<crypto::ApiKeyStore>();
    auto a = store->Create(pepper->view(), "alice", 0);
    auto b = store->Create(pepper->view(), "bob", 0);
    if (!a || !b) Violation("key setup");
    w->alice = a->key;
    w->bob = b->key;
    gw::AuthOptions auth;
    auth.api_keys = gw::ApiKeyAuth{store, pepper, {}};
    auth.api_keys->bindings[a->info.id] = {"alice", {"ops"}, {}};
    auth.api_keys->bindings[b->info.id] = {"bob", {}, {}};
    auto doc = fnjail::policy::ParseToml(R"(
id = "p"
attach = ["alice"]
[[statement]]
effect = "allow"
action = ["function:Invoke", "gateway:ReadMetrics"]
resource = ["fn:hello", "fn:users", "fn:ghost", "gateway:metrics"]
)",
                                         "p.toml");
    if (!doc) Violation("policy setup");
    auto set = fnjail::policy::PolicySet::Compile({std::move(*doc)});
    gw::ChainOptions options;
    gw::FunctionConfig hello{"hello", {}, 0, 1000};
    auto schema = gw::SchemaValidator::Compile(
        R"({"type":"object","properties":{"name":{"type":"string","pattern":"^[a-z]+$"}}})");
    if (!schema) Violation("schema setup");
    hello.input.schema = *schema;
    hello.input.max_body_bytes = 4096;
    gw::FunctionConfig users{"users", {}, 0, 1000};
    users.input.kind = gw::BodyKind::kRaw;
    options.functions = {hello, users};
    options.routes = {{"users", "GET", "/users/{id}"}, {"users", "POST", "/users/{id}/x"}};
    gw::ChainDeps deps;
    deps.authenticator = std::move(*gw::Authenticator::Create(std::move(auth)));
    deps.authorizer = std::make_shared<gw::Authorizer>(std::move(*set));
    deps.invoker = w->invoker;
    deps.audit = w->audit;
    deps.metrics = std::make_shared<gw::Metrics>();
    deps.clock = std::make_shared<FixedClock>();
    auto chain = gw::Chain::Create(std::move(options), std::move(deps));
    if (!chain) Violation("chain setup");
    w->chain = std::move(*chain);
    return w;
  }();
  return *world;
}

std::string Substitute(std::string value, const World& w) {
  for (auto [token, key] : {std::pair<std::string_view, const std::string*>{"@ALICE@", &w.alice},
                            {"@BOB@", &w.bob}}) {
    size_t pos;
    while ((pos = value.find(token)) != std::string::npos) value.replace(pos, token.size(), *key);
  }
  return value;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  World& w = TheWorld();
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto next_line = [&]() {
    size_t nl = in.find('\n');
    std::string_view line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    return line;
  };
  gw::HttpRequest req;
  req.method = std::string(next_line());
  req.target = std::string(next_line());
  while (!in.empty()) {
    std::string_view line = next_line();
    if (line.empty()) break;
    size_t colon = line.find(':');
    std::string_view name = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    req.headers.emplace_back(std::string(name), Substitute(std::string(value), w));
  }
  req.body = std::string(in);
  req.remote_ip = "127.0.0.1";

  uint64_t records_before = w.audit->records;
  int calls_before = w.invoker->calls;
  gw::HttpResponse resp = w.chain->Handle(req);

  if (resp.status < 200 || resp.status > 599) Violation("status out of range");
  int ids = 0;
  const std::string* id = nullptr;
  for (const auto& [name, value] : resp.headers) {
    std::string lower;
    for (char c : name) lower += (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    if (lower == "x-request-id") {
      ++ids;
      id = &value;
    }
  }
  if (ids != 1) Violation("not exactly one X-Request-Id");
  bool invoked = w.invoker->calls != calls_before;
  if (invoked && w.invoker->last_principal != "alice") Violation("invoked for a denied principal");
  if (!invoked && resp.status >= 400) {
    auto j = nlohmann::json::parse(resp.body, nullptr, false);
    if (!j.is_object() || !j.contains("error") || !j["error"].is_object() ||
        !j["error"].contains("code") || j["error"]["request_id"] != *id) {
      Violation("an error answer without the JSON error shape");
    }
  }
  std::string_view path = std::string_view(req.target).substr(0, req.target.find('?'));
  bool probe = path == "/healthz" || path == "/readyz";
  if (!probe && w.audit->records != records_before + 1) Violation("not exactly one audit record");
  return 0;
}
