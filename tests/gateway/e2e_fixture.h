// End-to-end test deployment: a complete fnjail.toml in a temp folder (API keys, an HMAC
// key, a JWT issuer, policies, Lua functions, an audit log), the real Service on a loopback
// port chosen by the kernel, and clients that speak to it over raw sockets.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "gateway/service.h"
#include "tests/gateway/http_test_client.h"

namespace fnjail::testing {

namespace fs = std::filesystem;

inline void WriteFile(const fs::path& path, const std::string& text, mode_t mode = 0644) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  ::chmod(path.c_str(), mode);
}

inline std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline std::string B64(std::string_view s) { return crypto::Base64UrlEncode(crypto::AsBytes(s)); }

// The deployment every end-to-end test starts from.
//   principals: alice (API key, group staff; allowed everything), mallory (API key; allowed
//   by group staff, denied explicitly), bob (API key; no policy: implicitly denied), limited
//   (API key; allowed, rate 2 per ~forever), ci (HMAC; allowed), idp:<sub> (JWT; allowed when
//   in group readers; idp:dave is in group staff by [principals]).
//   functions: echo (Lua, echoes the event), strict (Lua, JSON Schema {name: string}),
//   spin (Lua, burns `ms` of CPU; timeout 3 s, concurrency 1).
class E2eDeployment {
 public:
  E2eDeployment() {
#ifdef FNJAIL_RUNTIME_BINARY
    // The in-jail runtime of this build (runtime::RuntimeBinaryPath reads it).
    ::setenv("FNJAIL_RUNTIME", FNJAIL_RUNTIME_BINARY, 0);
#endif
    dir_ = fs::temp_directory_path() /
           ("fnjail-e2e-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++) + "-" +
            std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(dir_ / "state");
    ::chmod((dir_ / "state").c_str(), 0700);

    auto pepper = crypto::RandomBytes(32).value();
    pepper_.assign(pepper.begin(), pepper.end());
    WriteFile(dir_ / "state/pepper", std::string(pepper.begin(), pepper.end()), 0600);
    auto store = crypto::ApiKeyStore::Load((dir_ / "state/api-keys.json").string()).value();
    for (const char* name : {"alice", "mallory", "bob", "limited"}) {
      auto key = store.Create(pepper, name, std::time(nullptr)).value();
      keys_[name] = key.key;
    }
    EXPECT_TRUE(store.Save((dir_ / "state/api-keys.json").string()).has_value());

    hmac_secret_ = crypto::RandomBytes(32).value();
    WriteFile(dir_ / "state/hmac-ci.key", std::string(hmac_secret_.begin(), hmac_secret_.end()),
              0600);

    jwt_key_ = std::make_unique<crypto::Ed25519SigningKey>(
        crypto::Ed25519SigningKey::Generate().value());
    const auto& pub = jwt_key_->public_key().raw();
    WriteFile(dir_ / "jwks.json",
              nlohmann::json{{"keys",
                              {{{"kty", "OKP"},
                                {"crv", "Ed25519"},
                                {"kid", "k1"},
                                {"alg", "EdDSA"},
                                {"x", crypto::Base64UrlEncode(crypto::ByteView(pub.data(), pub.size()))}}}}}
                  .dump());

    audit_key_ = std::make_unique<crypto::Ed25519SigningKey>(
        crypto::Ed25519SigningKey::Generate().value());
    WriteFile(dir_ / "state/audit-key.pem", audit_key_->ToPem().value(), 0600);

    WriteFile(dir_ / "policies/staff.toml", R"(id = "staff"
attach = ["group:staff"]
[[statement]]
sid = "StaffInvoke"
effect = "allow"
action = "function:Invoke"
resource = "fn:*"
)");
    WriteFile(dir_ / "policies/alice.toml", R"(id = "alice"
attach = ["alice", "limited", "ci"]
[[statement]]
sid = "Invoke"
effect = "allow"
action = ["function:Invoke", "gateway:ReadMetrics"]
resource = ["fn:*", "gateway:metrics"]
)");
    WriteFile(dir_ / "policies/deny-mallory.toml", R"(id = "deny-mallory"
attach = ["mallory"]
[[statement]]
sid = "Suspended"
effect = "deny"
action = "function:*"
resource = "fn:*"
)");
    WriteFile(dir_ / "policies/readers.toml", R"(id = "readers"
attach = ["group:readers"]
[[statement]]
sid = "ReadersInvokeEcho"
effect = "allow"
action = "function:Invoke"
resource = "fn:echo"
)");

    WriteFile(dir_ / "functions/echo.toml", R"(name = "echo"
runtime = "lua"
handler = "echo.lua"
timeout_ms = 2000
[pool]
min_idle = 1
max_concurrency = 4
)");
    WriteFile(dir_ / "functions/echo.lua", R"(function handler(event, ctx)
  return { event = event, principal = ctx.principal.id, request_id = ctx.request_id }
end
)");
    WriteFile(dir_ / "functions/strict.toml", R"(name = "strict"
runtime = "lua"
handler = "echo.lua"
timeout_ms = 2000
[input.schema]
type = "object"
required = ["name"]
properties = { name = { type = "string", maxLength = 16 } }
additionalProperties = false
)");
    WriteFile(dir_ / "functions/spin.toml", R"(name = "spin"
runtime = "lua"
handler = "spin.lua"
timeout_ms = 3000
concurrency = 1
[pool]
max_concurrency = 2
)");
    WriteFile(dir_ / "functions/spin.lua", R"(function handler(event, ctx)
  local t = os.clock()
  while os.clock() - t < (event.ms or 0) / 1000 do end
  return { spun = event.ms }
end
)");
    WriteConfig();
  }

  ~E2eDeployment() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // `extra` is appended to the generated fnjail.toml.
  void WriteConfig(const std::string& extra = "") {
    WriteFile(dir_ / "fnjail.toml", std::string(R"([server]
listen = ["127.0.0.1:0"]
worker_threads = 2

[limits]
max_body_bytes = 4096
max_header_bytes = 4096
header_timeout_ms = 500
body_timeout_ms = 1500
idle_timeout_ms = 10000

[auth.api_keys]
store = "state/api-keys.json"
pepper = "state/pepper"

[auth.hmac.keys]
ci = "state/hmac-ci.key"

[[auth.jwt]]
name = "idp"
issuer = "https://idp.test"
jwks = "jwks.json"
audience = "fnjail-test"
max_lifetime_seconds = 3600
groups_claim = "groups"

[principals.alice]
groups = ["staff"]

[principals.mallory]
groups = ["staff"]

[principals."idp:dave"]
groups = ["staff"]

[policies]
paths = ["policies"]

[functions]
folder = "functions"

[audit]
path = "state/audit.log"
signing_key = "state/audit-key.pem"
sync = "strict"

[admission]
rate = 10000
burst = 10000

[admission.principals.limited]
rate = 0.001
burst = 2
)") + extra);
  }

  const fs::path& dir() const { return dir_; }
  std::string config() const { return (dir_ / "fnjail.toml").string(); }
  std::string audit_log() const { return (dir_ / "state/audit.log").string(); }
  const std::string& key(const std::string& name) { return keys_.at(name); }
  const crypto::Bytes& hmac_secret() const { return hmac_secret_; }
  const crypto::Ed25519PublicKey& audit_public_key() const { return audit_key_->public_key(); }

  // A compact JWS over `header` and `claims`, signed with the issuer's key (EdDSA).
  std::string SignJwt(const nlohmann::json& header, const nlohmann::json& claims) const {
    const std::string input = B64(header.dump()) + "." + B64(claims.dump());
    auto sig = jwt_key_->Sign(crypto::AsBytes(input)).value();
    return input + "." + crypto::Base64UrlEncode(crypto::ByteView(sig.data(), sig.size()));
  }
  // A valid token of subject `sub` in `groups`.
  std::string Jwt(const std::string& sub, std::vector<std::string> groups,
                  int64_t lifetime = 600) const {
    const int64_t now = std::time(nullptr);
    return SignJwt({{"alg", "EdDSA"}, {"typ", "JWT"}, {"kid", "k1"}},
                   {{"iss", "https://idp.test"},
                    {"sub", sub},
                    {"aud", "fnjail-test"},
                    {"iat", now},
                    {"exp", now + lifetime},
                    {"groups", groups}});
  }

 private:
  static inline int counter_ = 0;
  fs::path dir_;
  std::map<std::string, std::string> keys_;
  std::string pepper_;
  crypto::Bytes hmac_secret_;
  std::unique_ptr<crypto::Ed25519SigningKey> jwt_key_;
  std::unique_ptr<crypto::Ed25519SigningKey> audit_key_;
};

// Captures the service's log events (and echoes them when FNJAIL_E2E_LOG is set).
class LogCapture {
 public:
  gateway::ServiceLogFn Fn() {
    return [this](std::string_view level, std::string_view event,
                  const std::vector<std::pair<std::string, std::string>>& fields) {
      nlohmann::json j = {{"level", level}, {"event", event}};
      for (const auto& [k, v] : fields) j[k] = v;
      if (std::getenv("FNJAIL_E2E_LOG")) std::fprintf(stderr, "%s\n", j.dump().c_str());
      std::lock_guard lock(mu_);
      events_.push_back(std::move(j));
    };
  }
  std::vector<nlohmann::json> Events(std::string_view event) {
    std::lock_guard lock(mu_);
    std::vector<nlohmann::json> out;
    for (const auto& e : events_) {
      if (e["event"] == event) out.push_back(e);
    }
    return out;
  }
  std::string All() {
    std::lock_guard lock(mu_);
    std::string out;
    for (const auto& e : events_) out += e.dump() + "\n";
    return out;
  }

 private:
  std::mutex mu_;
  std::vector<nlohmann::json> events_;
};

// One request on a fresh connection; the response or nullopt.
inline std::optional<TestConnection::Response> Request(
    uint16_t port, const std::string& method, const std::string& target,
    std::vector<std::pair<std::string, std::string>> headers, const std::string& body = "",
    std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) {
  TestConnection c(port);
  if (!c.ok()) return std::nullopt;
  std::string text = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  bool has_type = false;
  for (const auto& [k, v] : headers) {
    text += k + ": " + v + "\r\n";
    has_type = has_type || k == "Content-Type";
  }
  if (!body.empty() && !has_type) text += "Content-Type: application/json\r\n";
  text += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  text += body;
  c.Send(text);
  return c.ReadResponse(timeout);
}

// The records of a log, in order, after verifying it. Fails the test when not intact.
inline std::vector<crypto::AuditRecord> VerifiedRecords(
    const std::string& path, const crypto::Ed25519PublicKey& key,
    crypto::AuditVerifyReport* report_out = nullptr) {
  std::vector<crypto::AuditRecord> records;
  auto report = crypto::VerifyAuditLog(path, key, {}, [&](uint64_t, std::string_view json) {
    auto record = crypto::AuditRecord::FromJson(json);
    EXPECT_TRUE(record.has_value()) << json;
    if (record) records.push_back(std::move(*record));
  });
  EXPECT_TRUE(report.has_value());
  if (report) {
    EXPECT_TRUE(report->intact) << report->problem;
    if (report_out) *report_out = *report;
  }
  return records;
}

// True when the host can run jails (user namespaces); the reason otherwise.
inline std::optional<std::string> JailsUnavailable() {
  if (::geteuid() != 0) {
    std::ifstream f("/proc/sys/kernel/unprivileged_userns_clone");
    int v = 1;
    if (f >> v; v == 0) return "unprivileged user namespaces are disabled";
  }
  if (!fs::exists("/proc/self/ns/user")) return "no user namespaces";
  return std::nullopt;
}

}  // namespace fnjail::testing
