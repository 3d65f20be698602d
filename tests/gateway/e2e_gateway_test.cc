// End to end: the real `fnjail serve` service (gateway/service.h) over loopback, functions
// in real jails. Each case checks the HTTP answer and that it left an audit record; the
// last case verifies the whole log.
#include <future>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "gateway/service.h"
#include "tests/gateway/e2e_fixture.h"

namespace fnjail::gateway {
namespace {

using fnjail::testing::E2eDeployment;
using fnjail::testing::LogCapture;
using fnjail::testing::Request;
using fnjail::testing::TestConnection;
using Json = nlohmann::json;
using namespace std::chrono_literals;

const std::string kInvokeEcho = "/v1/functions/echo/invoke";

class E2eGatewayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (auto why = fnjail::testing::JailsUnavailable()) {
      skip_reason_ = new std::string(*why);
      return;
    }
    deployment_ = new E2eDeployment();
    logs_ = new LogCapture();
    ServiceOptions options;
    options.config_path = deployment_->config();
    options.drain_timeout = 5s;
    options.log = logs_->Fn();
    auto service = Service::Start(std::move(options));
    ASSERT_TRUE(service.has_value()) << service.error().ToString() << "\n" << logs_->All();
    service_ = service->release();
    port_ = service_->ports().at(0);
    request_ids_ = new std::set<std::string>();
  }
  static void TearDownTestSuite() {
    delete service_;
    delete deployment_;
    delete logs_;
    delete request_ids_;
    delete skip_reason_;
    service_ = nullptr;
    deployment_ = nullptr;
  }
  void SetUp() override {
    if (skip_reason_) GTEST_SKIP() << "jails unavailable: " << *skip_reason_;
    ASSERT_NE(service_, nullptr);
    request_ids_->clear();
  }

  // After every test (ctest runs each one in its own process): each request it got an
  // answer to left an audit record, and the whole log verifies. Strict audit: responses
  // are sent only after their records are durable, so all of them are on disk already.
  void TearDown() override {
    if (skip_reason_ || service_ == nullptr || request_ids_->empty()) return;
    std::set<std::string> audited;
    for (const auto& r : AuditedRecords()) audited.insert(r.request_id);
    for (const auto& id : *request_ids_) {
      EXPECT_TRUE(audited.count(id)) << "request " << id << " has no audit record";
    }
  }

  static std::vector<crypto::AuditRecord> AuditedRecords() {
    return fnjail::testing::VerifiedRecords(deployment_->audit_log(),
                                            deployment_->audit_public_key());
  }

  // Sends, checks the status and the JSON error code (when `code` is set), and remembers
  // the request id for the audit check.
  static Json Expect(int status, const std::string& code, const std::string& method,
                     const std::string& target,
                     std::vector<std::pair<std::string, std::string>> headers,
                     const std::string& body = "") {
    auto r = Request(port_, method, target, std::move(headers), body);
    EXPECT_TRUE(r.has_value()) << method << " " << target;
    if (!r) return Json();
    EXPECT_EQ(r->status, status) << r->body;
    const std::string id = r->Header("X-Request-Id");
    EXPECT_FALSE(id.empty());
    request_ids_->insert(id);
    Json body_json = Json::parse(r->body, nullptr, false);
    if (!code.empty()) {
      EXPECT_EQ(body_json["error"]["code"], code) << r->body;
      EXPECT_EQ(body_json["error"]["request_id"], id);
    }
    body_json["__retry_after"] = r->Header("Retry-After");
    return body_json;
  }

  static std::vector<std::pair<std::string, std::string>> ApiKey(const std::string& who) {
    return {{"X-Api-Key", deployment_->key(who)}};
  }
  static std::vector<std::pair<std::string, std::string>> Bearer(const std::string& token) {
    return {{"Authorization", "Bearer " + token}};
  }

  static inline E2eDeployment* deployment_ = nullptr;
  static inline LogCapture* logs_ = nullptr;
  static inline Service* service_ = nullptr;
  static inline uint16_t port_ = 0;
  static inline std::set<std::string>* request_ids_ = nullptr;
  static inline std::string* skip_reason_ = nullptr;
};

TEST_F(E2eGatewayTest, AllowedInvocationRunsInAJail) {
  Json body = Expect(200, "", "POST", kInvokeEcho, ApiKey("alice"), R"({"hello":"world"})");
  EXPECT_EQ(body["event"]["hello"], "world");
  EXPECT_EQ(body["principal"], "alice");
  EXPECT_FALSE(body["request_id"].get<std::string>().empty());
}

TEST_F(E2eGatewayTest, ExplicitDenyWins) {
  // mallory is in group staff, which is allowed; her own deny statement wins.
  Expect(403, "forbidden", "POST", kInvokeEcho, ApiKey("mallory"), "{}");
}

TEST_F(E2eGatewayTest, NoPolicyIsImplicitDeny) {
  Expect(403, "forbidden", "POST", kInvokeEcho, ApiKey("bob"), "{}");
}

TEST_F(E2eGatewayTest, NoCredentialsIs401) {
  Expect(401, "unauthenticated", "POST", kInvokeEcho, {}, "{}");
}

TEST_F(E2eGatewayTest, WrongApiKeyIs401) {
  // Changed in the middle: the last character of an encoded key may only carry padding bits.
  std::string wrong = deployment_->key("alice");
  char& c = wrong[wrong.size() / 2];
  c = c == 'a' ? 'b' : 'a';
  Expect(401, "invalid-credentials", "POST", kInvokeEcho, {{"X-Api-Key", wrong}}, "{}");
  Expect(401, "invalid-credentials", "POST", kInvokeEcho, {{"X-Api-Key", "nonsense"}}, "{}");
}

TEST_F(E2eGatewayTest, UnknownFunctionLooksLikeAnyOtherDenial) {
  // A caller cannot learn which functions exist without being allowed to invoke them.
  Expect(401, "unauthenticated", "POST", "/v1/functions/nope/invoke", {}, "{}");
}

TEST_F(E2eGatewayTest, ValidJwtIsAllowed) {
  Json body = Expect(200, "", "POST", kInvokeEcho,
                     Bearer(deployment_->Jwt("carol", {"readers"})), R"({"n":1})");
  EXPECT_EQ(body["principal"], "idp:carol");
}

TEST_F(E2eGatewayTest, JwtPrincipalsGetTheirConfiguredGroups) {
  // [principals."idp:dave"] puts dave in staff although his token names no group.
  Json body = Expect(200, "", "POST", kInvokeEcho, Bearer(deployment_->Jwt("dave", {})),
                     R"({"n":2})");
  EXPECT_EQ(body["principal"], "idp:dave");
  Expect(403, "forbidden", "POST", kInvokeEcho, Bearer(deployment_->Jwt("erin", {})), "{}");
}

TEST_F(E2eGatewayTest, JwtAttacksAreRefused) {
  const int64_t now = std::time(nullptr);
  const Json claims = {{"iss", "https://idp.test"}, {"sub", "carol"}, {"aud", "fnjail-test"},
                       {"iat", now}, {"exp", now + 600}, {"groups", {"readers"}}};
  auto with = [&claims](std::vector<std::pair<std::string, Json>> changes) {
    Json c = claims;
    for (auto& [k, v] : changes) c[k] = v;
    return c;
  };
  const std::string valid = deployment_->Jwt("carol", {"readers"});
  const std::string signing_input = valid.substr(0, valid.rfind('.'));
  std::vector<std::pair<std::string, std::string>> attacks = {
      // alg none, with and without a signature.
      {"none", fnjail::testing::B64(R"({"alg":"none","typ":"JWT"})") + "." +
                   fnjail::testing::B64(claims.dump()) + "."},
      // alg confusion: HS256 "signed" with the public key.
      {"hs256", deployment_->SignJwt({{"alg", "HS256"}, {"kid", "k1"}}, claims)},
      // a signature that does not match.
      {"tampered", signing_input + "." + fnjail::testing::B64(std::string(64, 'x'))},
      // claims changed after signing.
      {"swapped-claims",
       valid.substr(0, valid.find('.')) + "." +
           fnjail::testing::B64(with({{"sub", "admin"}}).dump()) +
           valid.substr(valid.rfind('.'))},
      {"expired", deployment_->SignJwt({{"alg", "EdDSA"}, {"kid", "k1"}},
                                       with({{"exp", now - 3600}, {"iat", now - 4000}}))},
      {"no-exp", deployment_->SignJwt({{"alg", "EdDSA"}, {"kid", "k1"}},
                                      [&] { Json c = claims; c.erase("exp"); return c; }())},
      {"too-long", deployment_->Jwt("carol", {"readers"}, 30 * 24 * 3600)},
      {"wrong-aud", deployment_->SignJwt({{"alg", "EdDSA"}, {"kid", "k1"}},
                                         with({{"aud", "other"}}))},
      {"wrong-iss", deployment_->SignJwt({{"alg", "EdDSA"}, {"kid", "k1"}},
                                         with({{"iss", "https://evil"}}))},
      {"future-nbf", deployment_->SignJwt({{"alg", "EdDSA"}, {"kid", "k1"}},
                                          with({{"nbf", now + 3000}}))},
      {"unknown-kid", deployment_->SignJwt({{"alg", "EdDSA"}, {"kid", "k9"}}, claims)},
      {"jku", deployment_->SignJwt(
                  {{"alg", "EdDSA"}, {"kid", "k9"}, {"jku", "https://evil/jwks.json"}}, claims)},
      {"garbage", "not.a.token"},
  };
  for (const auto& [name, token] : attacks) {
    SCOPED_TRACE(name);
    Expect(401, "invalid-credentials", "POST", kInvokeEcho, Bearer(token), "{}");
  }
}

class HmacSigner {
 public:
  static std::vector<std::pair<std::string, std::string>> Sign(const crypto::Bytes& key,
                                                               const std::string& body,
                                                               int64_t timestamp) {
    crypto::HttpRequestView view;
    view.method = "POST";
    view.path = kInvokeEcho;
    view.body = body;
    view.headers = {{"Host", "127.0.0.1"}};
    auto auth = crypto::SignRequest(key, "ci", view, {"host"}, timestamp);
    EXPECT_TRUE(auth.has_value());
    return {{"Authorization", auth ? *auth : ""}};
  }
};

TEST_F(E2eGatewayTest, HmacSignedRequests) {
  const int64_t now = std::time(nullptr);
  const std::string body = R"({"signed":true})";
  auto good = HmacSigner::Sign(deployment_->hmac_secret(), body, now);
  Json ok = Expect(200, "", "POST", kInvokeEcho, good, body);
  EXPECT_EQ(ok["principal"], "ci");
  // The same signed request again: a replay.
  Expect(401, "invalid-credentials", "POST", kInvokeEcho, good, body);
  // Outside the window.
  Expect(401, "invalid-credentials", "POST", kInvokeEcho,
         HmacSigner::Sign(deployment_->hmac_secret(), body, now - 3600), body);
  // Signed with the wrong key.
  crypto::Bytes wrong(32, 7);
  Expect(401, "invalid-credentials", "POST", kInvokeEcho,
         HmacSigner::Sign(wrong, body, now + 1), body);
  // A body other than the one signed.
  Expect(401, "invalid-credentials", "POST", kInvokeEcho,
         HmacSigner::Sign(deployment_->hmac_secret(), body, now + 2), R"({"signed":false})");
}

TEST_F(E2eGatewayTest, SchemaInvalidBodyIs400) {
  Expect(200, "", "POST", "/v1/functions/strict/invoke", ApiKey("alice"), R"({"name":"ok"})");
  Expect(400, "schema-violation", "POST", "/v1/functions/strict/invoke", ApiKey("alice"),
         R"({"name":42})");
  Expect(400, "schema-violation", "POST", "/v1/functions/strict/invoke", ApiKey("alice"),
         R"({"name":"ok","extra":1})");
  Expect(400, "invalid-body", "POST", "/v1/functions/strict/invoke", ApiKey("alice"),
         R"({"name":"a","name":"b"})");
  Expect(400, "invalid-body", "POST", kInvokeEcho, ApiKey("alice"), "{not json");
}

TEST_F(E2eGatewayTest, OversizeBodyAndHeaders) {
  // Over [limits] max_body_bytes: the server refuses before reading it.
  Expect(413, "payload-too-large", "POST", kInvokeEcho, ApiKey("alice"),
         "\"" + std::string(5000, 'a') + "\"");
  Expect(431, "header-too-large", "POST", kInvokeEcho,
         {{"X-Api-Key", deployment_->key("alice")}, {"X-Padding", std::string(5000, 'p')}}, "{}");
}

TEST_F(E2eGatewayTest, SlowClientIsCutOff) {
  TestConnection c(port_);
  ASSERT_TRUE(c.ok());
  const auto start = std::chrono::steady_clock::now();
  c.Send("POST /v1/functions/echo/invoke HTTP/1.1\r\nHost: x\r\n");
  EXPECT_TRUE(c.WaitClosed(5s));  // header_timeout_ms = 500
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST_F(E2eGatewayTest, SmugglingShapesAre400) {
  for (const std::string& shape :
       {std::string("POST /v1/functions/echo/invoke HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        std::string("POST /v1/functions/echo/invoke HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                    "xchunked\r\n\r\n"),
        std::string("POST /v1/functions/echo/invoke HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                    "Content-Length: 3\r\n\r\n{}"),
        std::string("GET /healthz HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n")}) {
    SCOPED_TRACE(shape);
    TestConnection c(port_);
    c.Send(shape);
    auto r = c.ReadResponse();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 400);
    EXPECT_TRUE(c.WaitClosed());
  }
}

TEST_F(E2eGatewayTest, RateLimitIs429WithRetryAfter) {
  Expect(200, "", "POST", kInvokeEcho, ApiKey("limited"), "{}");
  Expect(200, "", "POST", kInvokeEcho, ApiKey("limited"), "{}");
  Json refused = Expect(429, "rate-limited", "POST", kInvokeEcho, ApiKey("limited"), "{}");
  EXPECT_FALSE(refused["__retry_after"].get<std::string>().empty());
}

TEST_F(E2eGatewayTest, FunctionTimeoutIs504) {
  Expect(504, "function-timeout", "POST", "/v1/functions/spin/invoke", ApiKey("alice"),
         R"({"ms":60000})");
  // The jail that timed out was replaced: the function still answers.
  Expect(200, "", "POST", "/v1/functions/spin/invoke", ApiKey("alice"), R"({"ms":1})");
}

TEST_F(E2eGatewayTest, ConcurrencyLimitIs429) {
  // spin allows one invocation at a time; the first holds its slot for 200 ms of CPU or more.
  auto first = std::async(std::launch::async, [] {
    return Request(port_, "POST", "/v1/functions/spin/invoke", ApiKey("alice"), R"({"ms":200})");
  });
  std::this_thread::sleep_for(50ms);
  Json second = Expect(429, "concurrency-limited", "POST", "/v1/functions/spin/invoke",
                       ApiKey("alice"), R"({"ms":1})");
  EXPECT_FALSE(second["__retry_after"].get<std::string>().empty());
  auto r = first.get();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  request_ids_->insert(r->Header("X-Request-Id"));
}

TEST_F(E2eGatewayTest, ProbesAndMetrics) {
  auto health = Request(port_, "GET", "/healthz", {});
  ASSERT_TRUE(health.has_value());
  EXPECT_EQ(health->status, 200);
  auto ready = Request(port_, "GET", "/readyz", {});
  ASSERT_TRUE(ready.has_value());
  EXPECT_EQ(ready->status, 200);
  auto metrics = Request(port_, "GET", "/metrics", ApiKey("alice"));
  ASSERT_TRUE(metrics.has_value());
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("fnjail_"), std::string::npos);
  auto anonymous = Request(port_, "GET", "/metrics", {});
  ASSERT_TRUE(anonymous.has_value());
  EXPECT_EQ(anonymous->status, 401);
}

// Allowed, denied and refused requests each leave a record, with the decision, and the
// log verifies; requests the server refuses before the chain (oversize, smuggling) are
// audited too, as http:Request.
TEST_F(E2eGatewayTest, EveryKindOfRequestIsAuditedAndTheLogVerifies) {
  const size_t refused_before = [] {
    size_t n = 0;
    for (const auto& r : AuditedRecords()) n += r.operation == "http:Request";
    return n;
  }();
  Expect(200, "", "POST", kInvokeEcho, ApiKey("alice"), R"({"audit":"allowed"})");
  Expect(403, "forbidden", "POST", kInvokeEcho, ApiKey("mallory"), R"({"audit":"denied"})");
  Expect(401, "unauthenticated", "POST", kInvokeEcho, {}, R"({"audit":"anonymous"})");
  Expect(413, "payload-too-large", "POST", kInvokeEcho, ApiKey("alice"),
         "\"" + std::string(5000, 'a') + "\"");
  {
    TestConnection c(port_);
    c.Send("POST /v1/functions/echo/invoke HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
           "Content-Length: 3\r\n\r\n{}");
    auto r = c.ReadResponse();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 400);
    request_ids_->insert(r->Header("X-Request-Id"));
  }
  const auto records = AuditedRecords();
  size_t refused = 0;
  bool saw_deny = false, saw_allow = false;
  for (const auto& r : records) {
    refused += r.operation == "http:Request";
    if (!request_ids_->count(r.request_id)) continue;
    saw_deny = saw_deny || r.decision_reason == "explicit-deny";
    saw_allow = saw_allow || r.allowed;
  }
  EXPECT_GE(refused, refused_before + 2);  // the oversize body and the smuggling shape
  EXPECT_TRUE(saw_deny);
  EXPECT_TRUE(saw_allow);
}

}  // namespace
}  // namespace fnjail::gateway
