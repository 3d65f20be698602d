// Tests of gateway/config.cc and gateway/config_toml.cc: fnjail.toml read, checked, loaded.
#include "gateway/config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fnjail::gateway {
namespace {

namespace fs = std::filesystem;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Every diagnostic, rendered, for exact comparisons.
std::vector<std::string> Lines(const Diagnostics& diags) {
  std::vector<std::string> out;
  for (const Diagnostic& d : diags) out.push_back(d.ToString());
  return out;
}

// A temporary folder holding a config and the files it names.
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/fnjail-config-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fs::create_directory(dir_ / "functions");
    fs::create_directory(dir_ / "state");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  std::string Write(const std::string& name, const std::string& text, mode_t mode = 0600) {
    const std::string path = Path(name);
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    chmod(path.c_str(), mode);
    return path;
  }

  // The audit key every valid config needs.
  void WriteAuditKey() {
    auto key = crypto::Ed25519SigningKey::Generate();
    ASSERT_TRUE(key.has_value());
    auto pem = key->ToPem();
    ASSERT_TRUE(pem.has_value());
    Write("state/audit.pem", *pem);
  }

  std::string WriteConfig(const std::string& text) { return Write("fnjail.toml", text, 0644); }

  // The smallest valid config: an audit log and nothing else.
  static constexpr const char* kMinimal =
      "[audit]\n"
      "path = \"state/audit.log\"\n"
      "signing_key = \"state/audit.pem\"\n";

  ConfigResult<Config> Load(const std::string& text) {
    WriteConfig(text);
    return LoadConfig(Path("fnjail.toml"));
  }

  // The errors of loading `text`, rendered; empty when it loaded.
  std::vector<std::string> LoadErrors(const std::string& text) {
    auto config = Load(text);
    if (config) return {};
    return Lines(config.error());
  }

  std::string File() const { return Path("fnjail.toml"); }

  fs::path dir_;
};

TEST_F(ConfigTest, MinimalConfigTakesTheDefaults) {
  WriteAuditKey();
  auto config = Load(kMinimal);
  ASSERT_TRUE(config.has_value()) << Lines(config.error()).front();
  ASSERT_EQ(config->server.listen.size(), 1u);
  EXPECT_EQ(config->server.listen[0].ToString(), "127.0.0.1:8080");
  EXPECT_GE(config->server.worker_threads, 1u);
  EXPECT_FALSE(config->server.tls.enabled);
  EXPECT_EQ(config->limits.max_body_bytes, 1u << 20);
  EXPECT_EQ(config->limits.max_json_depth, 64u);
  EXPECT_EQ(config->functions.folder, Path("functions"));
  EXPECT_EQ(config->audit.path, Path("state/audit.log"));
  EXPECT_EQ(config->audit.sync, AuditSyncMode::kStrict);
  EXPECT_TRUE(config->metrics.enabled);
  EXPECT_FALSE(config->metrics.listen.has_value());
  EXPECT_EQ(config->admission.default_rate.rate_per_second, 50);
  EXPECT_EQ(config->admission.default_rate.burst, 100);
}

TEST_F(ConfigTest, EveryKeyIsRead) {
  WriteAuditKey();
  Write("tls/cert.pem", "not checked by LoadConfig", 0644);
  Write("tls/key.pem", "x");
  Write("keys.json", "{\"keys\": []}", 0644);
  Write("pepper", std::string(32, 'p'));
  Write("hmac/ci.key", std::string(32, 'k'));
  Write("jwks.json", "{}", 0644);
  Write("secrets.json", "{}", 0600);
  Write("master.key", std::string(32, 'm'));
  fs::create_directory(dir_ / "policies");
  fs::create_directory(dir_ / "boundaries");
  fs::create_directory(dir_ / "next");
  fs::create_directory(dir_ / "fns");
  auto config = Load(R"(
[server]
listen = ["0.0.0.0:0", "[::1]:8443"]
worker_threads = 3

[server.tls]
certificate = "tls/cert.pem"
key = "tls/key.pem"
min_version = "1.3"

[limits]
max_connections = 10
max_header_bytes = 2048
max_headers = 20
max_body_bytes = 4096
max_json_depth = 8
max_string_bytes = 100
header_timeout_ms = 1
body_timeout_ms = 2
idle_timeout_ms = 3
write_timeout_ms = 4
max_keepalive_requests = 5

[auth.api_keys]
store = "keys.json"
pepper = "pepper"
header = "X-Key"

[auth.hmac]
window_seconds = 60
replay_capacity = 10
[auth.hmac.keys]
ci = "hmac/ci.key"

[[auth.jwt]]
name = "idp"
issuer = "https://idp.example"
jwks = "jwks.json"
audience = ["fnjail", "other"]
max_lifetime_seconds = 600
clock_skew_seconds = 5
principal_claim = "email"
groups_claim = "groups"

[principals.demo]
groups = ["readers", "ops"]
tags = { team = "blue" }

[policies]
paths = ["policies"]
boundaries = "boundaries"

[[policies.shadow]]
name = "next"
paths = ["next"]

[functions]
folder = "fns"

[secrets]
store = "secrets.json"
master_key = "master.key"

[audit]
path = "/tmp/../tmp/audit.log"
signing_key = "state/audit.pem"
sync = "batched"
max_batch_delay_ms = 2
checkpoint_every_records = 7
checkpoint_interval_ms = 8

[metrics]
listen = "127.0.0.1:9100"

[admission]
rate = 2.5
burst = 5
max_concurrency_per_function = 3
queue_timeout_ms = 9
[admission.principals.demo]
rate = 100
)");
  ASSERT_TRUE(config.has_value()) << ::testing::PrintToString(Lines(config.error()));
  const Config& c = *config;
  ASSERT_EQ(c.server.listen.size(), 2u);
  EXPECT_EQ(c.server.listen[0].ToString(), "0.0.0.0:0");
  EXPECT_TRUE(c.server.listen[1].ipv6);
  EXPECT_EQ(c.server.listen[1].host, "::1");
  EXPECT_EQ(c.server.listen[1].port, 8443);
  EXPECT_EQ(c.server.worker_threads, 3u);
  EXPECT_TRUE(c.server.tls.enabled);
  EXPECT_EQ(c.server.tls.certificate, Path("tls/cert.pem"));
  EXPECT_EQ(c.server.tls.min_version, TlsVersion::kTls13);
  EXPECT_EQ(c.limits.max_connections, 10u);
  EXPECT_EQ(c.limits.max_header_bytes, 2048u);
  EXPECT_EQ(c.limits.max_headers, 20u);
  EXPECT_EQ(c.limits.max_body_bytes, 4096u);
  EXPECT_EQ(c.limits.max_json_depth, 8u);
  EXPECT_EQ(c.limits.max_string_bytes, 100u);
  EXPECT_EQ(c.limits.header_timeout_ms, 1u);
  EXPECT_EQ(c.limits.body_timeout_ms, 2u);
  EXPECT_EQ(c.limits.idle_timeout_ms, 3u);
  EXPECT_EQ(c.limits.write_timeout_ms, 4u);
  EXPECT_EQ(c.limits.max_keepalive_requests, 5u);
  EXPECT_TRUE(c.auth.api_keys.enabled);
  EXPECT_EQ(c.auth.api_keys.store, Path("keys.json"));
  EXPECT_EQ(c.auth.api_keys.header, "X-Key");
  EXPECT_TRUE(c.auth.hmac.enabled);
  EXPECT_EQ(c.auth.hmac.window_seconds, 60);
  EXPECT_EQ(c.auth.hmac.replay_capacity, 10u);
  ASSERT_EQ(c.auth.hmac.keys.size(), 1u);
  EXPECT_EQ(c.auth.hmac.keys[0].id, "ci");
  EXPECT_EQ(c.auth.hmac.keys[0].secret_file, Path("hmac/ci.key"));
  ASSERT_EQ(c.auth.jwt.size(), 1u);
  const JwtIssuerConfig& jwt = c.auth.jwt[0];
  EXPECT_EQ(jwt.name, "idp");
  EXPECT_EQ(jwt.issuer, "https://idp.example");
  EXPECT_THAT(jwt.audiences, ElementsAre("fnjail", "other"));
  EXPECT_EQ(jwt.max_lifetime_seconds, 600);
  EXPECT_EQ(jwt.clock_skew_seconds, 5);
  EXPECT_EQ(jwt.principal_claim, "email");
  EXPECT_EQ(jwt.principal_prefix, "idp:");
  EXPECT_EQ(jwt.groups_claim, "groups");
  const PrincipalConfig* demo = c.FindPrincipal("demo");
  ASSERT_NE(demo, nullptr);
  EXPECT_THAT(demo->groups, ElementsAre("readers", "ops"));
  EXPECT_EQ(demo->tags.at("team"), "blue");
  EXPECT_EQ(c.FindPrincipal("nobody"), nullptr);
  EXPECT_THAT(c.policies.enforced.paths, ElementsAre(Path("policies")));
  EXPECT_THAT(c.policies.enforced.boundaries, ElementsAre(Path("boundaries")));
  ASSERT_EQ(c.policies.shadow.size(), 1u);
  EXPECT_EQ(c.policies.shadow[0].name, "next");
  EXPECT_EQ(c.functions.folder, Path("fns"));
  EXPECT_TRUE(c.secrets.enabled);
  EXPECT_EQ(c.audit.path, "/tmp/audit.log");  // absolute paths are kept, normalised
  EXPECT_EQ(c.audit.sync, AuditSyncMode::kBatched);
  EXPECT_EQ(c.audit.max_batch_delay_ms, 2);
  EXPECT_EQ(c.audit.checkpoint_every_records, 7u);
  EXPECT_EQ(c.audit.checkpoint_interval_ms, 8);
  ASSERT_TRUE(c.metrics.listen.has_value());
  EXPECT_EQ(c.metrics.listen->port, 9100);
  EXPECT_EQ(c.admission.default_rate.rate_per_second, 2.5);
  EXPECT_EQ(c.admission.default_rate.burst, 5);
  EXPECT_EQ(c.admission.max_concurrency_per_function, 3u);
  EXPECT_EQ(c.admission.queue_timeout_ms, 9u);
  EXPECT_EQ(c.admission.principal_rates.at("demo").rate_per_second, 100);
  EXPECT_EQ(c.admission.principal_rates.at("demo").burst, 5);  // inherited
}

TEST_F(ConfigTest, UnknownKeysAreErrorsAtTheKeyWithASuggestion) {
  WriteAuditKey();
  auto config = Load(std::string(kMinimal) +
                     "[server]\n"
                     "lisen = \"127.0.0.1:1\"\n"
                     "\n"
                     "[limitz]\n");
  ASSERT_FALSE(config.has_value());
  EXPECT_THAT(Lines(config.error()),
              ElementsAre(File() + ":7:2: error: unknown key `limitz` in the config file\n"
                                   "  help: did you mean `limits`?",
                          File() + ":5:1: error: unknown key `lisen` in [server]\n"
                                   "  help: did you mean `listen`?"));
}

// The server always names its request id header `X-Request-Id`: a key to rename it would
// be ignored, so there is none.
TEST_F(ConfigTest, RequestIdHeaderIsNotAKey) {
  WriteAuditKey();
  auto config = Load(std::string(kMinimal) +
                     "[server]\n"
                     "request_id_header = \"X-Trace-Id\"\n");
  ASSERT_FALSE(config.has_value());
  EXPECT_THAT(Lines(config.error()),
              Contains(HasSubstr(File() + ":5:1: error: unknown key `request_id_header` in "
                                          "[server]")));
}

TEST_F(ConfigTest, WrongTypesAreErrorsAtTheValue) {
  WriteAuditKey();
  EXPECT_THAT(LoadErrors(std::string(kMinimal) +
                         "[limits]\n"
                         "max_body_bytes = \"1MB\"\n"
                         "max_connections = 1.5\n"
                         "[metrics]\n"
                         "enabled = 1\n"),
              ElementsAre(File() + ":6:19: error: `max_connections` must be an integer, found a float",
                          File() + ":5:18: error: `max_body_bytes` must be an integer, found a string",
                          File() + ":8:11: error: `enabled` must be true or false, found an integer"));
}

TEST_F(ConfigTest, ValuesOutOfRangeAreErrors) {
  WriteAuditKey();
  EXPECT_THAT(LoadErrors(std::string(kMinimal) +
                         "[limits]\n"
                         "max_json_depth = 0\n"),
              ElementsAre(File() + ":5:18: error: `max_json_depth` must be within [1, 1000], "
                                   "found 0"));
}

TEST_F(ConfigTest, BadListenAddressesAreErrorsAtTheAddress) {
  WriteAuditKey();
  EXPECT_THAT(
      LoadErrors(std::string(kMinimal) +
                 "[server]\n"
                 "listen = [\"localhost:8080\", \"127.0.0.1:70000\", \"::1:80\", \"10.0.0.1\"]\n"),
      ElementsAre(
          File() + ":5:11: error: invalid listen address `localhost:8080`: the host must be an "
                   "IP address\n  help: write an IP address and a port, e.g. `127.0.0.1:8080` or "
                   "`[::1]:8080`",
          File() + ":5:29: error: invalid listen address `127.0.0.1:70000`: the port must be a "
                   "number from 0 to 65535\n  help: write an IP address and a port, e.g. "
                   "`127.0.0.1:8080` or `[::1]:8080`",
          File() + ":5:48: error: invalid listen address `::1:80`: write IPv6 addresses in "
                   "brackets\n  help: write an IP address and a port, e.g. `127.0.0.1:8080` or "
                   "`[::1]:8080`",
          File() + ":5:58: error: invalid listen address `10.0.0.1`: no port\n  help: write an "
                   "IP address and a port, e.g. `127.0.0.1:8080` or `[::1]:8080`"));
}

TEST_F(ConfigTest, ParseListenAddressAcceptsPortZero) {
  auto a = ParseListenAddress("127.0.0.1:0");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->port, 0);
  EXPECT_FALSE(ParseListenAddress("127.0.0.1:").has_value());
  EXPECT_FALSE(ParseListenAddress("127.0.0.1:+80").has_value());
  EXPECT_FALSE(ParseListenAddress("[::1:80").has_value());
  EXPECT_FALSE(ParseListenAddress("256.0.0.1:80").has_value());
}

TEST_F(ConfigTest, MissingFilesAreErrorsAtTheValueThatNamedThem) {
  WriteAuditKey();
  EXPECT_THAT(LoadErrors(std::string(kMinimal) +
                         "[auth.api_keys]\n"
                         "store = \"keys.json\"\n"
                         "pepper = \"no-pepper\"\n"),
              ElementsAre(File() + ":5:9: error: `" + Path("keys.json") + "` does not exist",
                          File() + ":6:10: error: `" + Path("no-pepper") + "` does not exist"));
}

TEST_F(ConfigTest, SecretFilesWithLoosePermissionsAreRefused) {
  WriteAuditKey();
  Write("keys.json", "{\"keys\": []}", 0666);
  Write("pepper", std::string(32, 'p'), 0640);
  Write("ci.key", std::string(32, 'k'), 0604);
  EXPECT_THAT(
      LoadErrors(std::string(kMinimal) +
                 "[auth.api_keys]\n"
                 "store = \"keys.json\"\n"
                 "pepper = \"pepper\"\n"
                 "[auth.hmac.keys]\n"
                 "ci = \"ci.key\"\n"),
      ElementsAre(File() + ":5:9: error: `" + Path("keys.json") +
                      "` is writable by group or others (mode 0666); anyone who can write it "
                      "can change who is trusted\n  help: chmod go-w " + Path("keys.json"),
                  File() + ":6:10: error: `" + Path("pepper") +
                      "` is accessible by group or others (mode 0640); secret files must not "
                      "be\n  help: chmod 600 " + Path("pepper"),
                  File() + ":8:6: error: `" + Path("ci.key") +
                      "` is accessible by group or others (mode 0604); secret files must not "
                      "be\n  help: chmod 600 " + Path("ci.key")));
}

TEST_F(ConfigTest, TheAuditSigningKeyMustBeSecret) {
  WriteAuditKey();
  chmod(Path("state/audit.pem").c_str(), 0644);
  EXPECT_THAT(LoadErrors(kMinimal),
              ElementsAre(File() + ":3:15: error: `" + Path("state/audit.pem") +
                          "` is accessible by group or others (mode 0644); secret files must "
                          "not be\n  help: chmod 600 " + Path("state/audit.pem")));
}

TEST_F(ConfigTest, AMissingFunctionsFolderIsAnError) {
  WriteAuditKey();
  Write("not-a-folder", "", 0644);
  EXPECT_THAT(LoadErrors(std::string(kMinimal) + "[functions]\nfolder = \"fns\"\n"),
              ElementsAre(File() + ":5:10: error: functions folder `" + Path("fns") +
                          "` does not exist"));
  EXPECT_THAT(LoadErrors(std::string(kMinimal) + "[functions]\nfolder = \"not-a-folder\"\n"),
              ElementsAre(File() + ":5:10: error: functions folder `" + Path("not-a-folder") +
                          "` is not a folder"));
}

TEST_F(ConfigTest, TheDefaultFunctionsFolderMustExistToo) {
  WriteAuditKey();
  fs::remove(dir_ / "functions");
  EXPECT_THAT(LoadErrors(kMinimal),
              ElementsAre(File() + ":1:1: error: functions folder `" + Path("functions") +
                          "` does not exist"));
}

TEST_F(ConfigTest, AConfigWithoutAnAuditLogIsRefused) {
  EXPECT_THAT(LoadErrors("[server]\nlisten = \"127.0.0.1:0\"\n"),
              ElementsAre(File() + ":1:1: error: missing [audit] section\n  help: add `[audit]` "
                                   "with `path` (the log file) and `signing_key` (an Ed25519 "
                                   "key)"));
}

TEST_F(ConfigTest, MissingRequiredKeysAreErrorsAtTheirTable) {
  WriteAuditKey();
  EXPECT_THAT(LoadErrors(std::string(kMinimal) +
                         "\n"
                         "[[auth.jwt]]\n"
                         "name = \"idp\"\n"
                         "jwks = \"jwks.json\"\n"),
              ElementsAre(File() + ":5:1: error: missing `issuer` in [[auth.jwt]]",
                          File() + ":5:1: error: missing `audience` in [[auth.jwt]]\n  help: "
                                   "name the audience tokens for this gateway carry, e.g. "
                                   "`audience = \"fnjail\"`",
                          File() + ":7:8: error: `" + Path("jwks.json") + "` does not exist"));
}

TEST_F(ConfigTest, BadEnumerationsAreErrorsWithTheChoices) {
  WriteAuditKey();
  Write("cert.pem", "x", 0644);
  Write("key.pem", "x");
  EXPECT_THAT(LoadErrors("[audit]\n"
                         "path = \"state/audit.log\"\n"
                         "signing_key = \"state/audit.pem\"\n"
                         "sync = \"strikt\"\n"
                         "[server.tls]\n"
                         "certificate = \"cert.pem\"\n"
                         "key = \"key.pem\"\n"
                         "min_version = \"1.1\"\n"),
              ElementsAre(File() + ":8:15: error: unknown TLS version `1.1`\n  help: write "
                                   "\"1.2\" or \"1.3\"; older versions are not offered",
                          File() + ":4:8: error: unknown audit sync mode `strikt`\n  help: did "
                                   "you mean `strict`?"));
}

TEST_F(ConfigTest, GroupsAreWrittenWithoutTheirPolicyPrefix) {
  WriteAuditKey();
  EXPECT_THAT(LoadErrors(std::string(kMinimal) +
                         "[principals.alice]\n"
                         "groups = [\"ops\", \"group:dev\"]\n"),
              ElementsAre(File() + ":5:18: error: group `group:dev` is written with its "
                                   "prefix\n  help: write the plain name (`dev`); policies "
                                   "attach to it as `group:NAME`"));
}

TEST_F(ConfigTest, TagsHoldNoControlCharacters) {
  WriteAuditKey();
  EXPECT_THAT(LoadErrors(std::string(kMinimal) +
                         "[principals.alice]\n"
                         "tags = { team = \"ops\", \"t\\u0001\" = \"x\" }\n"),
              ElementsAre(File() + ":5:24: error: tag names must be non-empty, and tags hold no "
                                   "control characters"));
}

TEST_F(ConfigTest, DuplicateJwtIssuersAreRefused) {
  WriteAuditKey();
  Write("jwks.json", "{}", 0644);
  EXPECT_THAT(LoadErrors(std::string(kMinimal) +
                         "[[auth.jwt]]\n"
                         "name = \"a\"\n"
                         "issuer = \"https://idp\"\n"
                         "jwks = \"jwks.json\"\n"
                         "audience = \"fnjail\"\n"
                         "[[auth.jwt]]\n"
                         "name = \"b\"\n"
                         "issuer = \"https://idp\"\n"
                         "jwks = \"jwks.json\"\n"
                         "audience = \"fnjail\"\n"),
              ElementsAre(File() + ":9:1: error: issuer `https://idp` is already configured\n"
                                   "  help: one entry per issuer: put all its keys in one JWKS "
                                   "file"));
}

TEST_F(ConfigTest, NonAsciiAndSyntaxErrorsArePositioned) {
  EXPECT_THAT(LoadErrors("[server]\nlisten = \"caf\xc3\xa9\"\n"),
              ElementsAre(File() + ":2:14: error: non-ASCII byte `0xc3`; config files must be "
                                   "ASCII\n  help: write other characters as `\\uXXXX` escapes "
                                   "inside strings"));
  EXPECT_THAT(LoadErrors("[server\n"),
              ElementsAre(File() + ":1:8: error: invalid TOML in table header: expected `]`, "
                                   "saw `\\n`"));
  // toml++ quotes a newline as is: the message must stay on one line.
  EXPECT_THAT(LoadErrors("a = t\n"),
              ElementsAre(File() + ":1:6: error: invalid TOML in boolean: expected `true`, saw "
                                   "`t\\n`"));
  EXPECT_THAT(LoadErrors("a = " + std::string(120, '1') + "\n"),
              ElementsAre(File() + ":1:5: error: unquoted value or key longer than 100 "
                                   "characters\n  help: quote long keys and values"));
}

TEST_F(ConfigTest, TheApiKeyHeaderCannotBeAuthorization) {
  WriteAuditKey();
  Write("keys.json", "{\"keys\": []}", 0600);
  Write("pepper", std::string(32, 'p'), 0600);
  EXPECT_THAT(LoadErrors(std::string(kMinimal) +
                         "[auth.api_keys]\n"
                         "store = \"keys.json\"\n"
                         "pepper = \"pepper\"\n"
                         "header = \"AUTHORIZATION\"\n"),
              ElementsAre(File() + ":7:10: error: `header` cannot be `Authorization`"));
}

TEST_F(ConfigTest, TheBriefsCrashInputsAreRefusedCleanly) {
  // The two toml++ 3.3.0 crash inputs of the design brief.
  EXPECT_FALSE(ParseConfig("a = 1\n[=\nbt ]\"x\" \n", "crash1.toml").has_value());
  EXPECT_FALSE(ParseConfig("\xef\xbb\xb7" "a = .1\n\x01", "crash2.toml").has_value());
}

TEST_F(ConfigTest, AMissingConfigFileIsAnError) {
  auto config = LoadConfig(Path("nope.toml"));
  ASSERT_FALSE(config.has_value());
  EXPECT_THAT(Lines(config.error()),
              ElementsAre(Path("nope.toml") + ": error: config file does not exist"));
}

// ---------------------------------------------------------------------------------------
// LoadDeployment: what the config names, loaded.

std::string Jwks(const crypto::Ed25519PublicKey& key, const std::string& kid) {
  return R"({"keys": [{"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": ")" +
         kid + R"(", "x": ")" + crypto::Base64UrlEncode(key.raw()) + "\"}]}";
}

class DeploymentTest : public ConfigTest {
 protected:
  void SetUp() override {
    ConfigTest::SetUp();
    WriteAuditKey();
    Write("state/pepper", std::string(32, 'p'));
    auto store = crypto::ApiKeyStore::Load(Path("state/keys.json"));
    ASSERT_TRUE(store.has_value());
    auto pepper = crypto::LoadPepperFile(Path("state/pepper"));
    ASSERT_TRUE(pepper.has_value());
    auto key = store->Create(pepper->view(), "demo", 1700000000);
    ASSERT_TRUE(key.has_value());
    ASSERT_TRUE(store->Save(Path("state/keys.json")).has_value());
    demo_key_ = key->key;
    auto jwt_key = crypto::Ed25519SigningKey::Generate();
    ASSERT_TRUE(jwt_key.has_value());
    Write("jwks.json", Jwks(jwt_key->public_key(), "demo-1"), 0644);
    Write("state/ci.key", std::string(40, 'c'));
    Write("policies/demo.toml",
          "attach = [\"demo\"]\n"
          "[[statement]]\n"
          "effect = \"allow\"\n"
          "action = \"function:Invoke\"\n"
          "resource = \"fn:hello\"\n",
          0644);
  }

  static constexpr const char* kGood =
      "[auth.api_keys]\n"
      "store = \"state/keys.json\"\n"
      "pepper = \"state/pepper\"\n"
      "[auth.hmac.keys]\n"
      "ci = \"state/ci.key\"\n"
      "[[auth.jwt]]\n"
      "name = \"idp\"\n"
      "issuer = \"https://idp.example\"\n"
      "jwks = \"jwks.json\"\n"
      "audience = \"fnjail\"\n"
      "[policies]\n"
      "paths = [\"policies\"]\n"
      "[audit]\n"
      "path = \"state/audit.log\"\n"
      "signing_key = \"state/audit.pem\"\n";

  ConfigResult<Deployment> Check(const std::string& text) {
    WriteConfig(text);
    return CheckConfig(File());
  }

  // The errors of checking `text` (warnings left out), rendered; empty when it loaded.
  std::vector<std::string> CheckErrors(const std::string& text) {
    auto d = Check(text);
    if (d) return {};
    std::vector<std::string> out;
    for (const Diagnostic& e : d.error()) {
      if (e.severity == policy::Severity::kError) out.push_back(e.ToString());
    }
    return out;
  }

  std::string demo_key_;
};

TEST_F(DeploymentTest, AGoodConfigLoadsEverythingItNames) {
  auto d = Check(kGood);
  ASSERT_TRUE(d.has_value()) << ::testing::PrintToString(Lines(d.error()));
  ASSERT_TRUE(d->api_keys.has_value());
  auto pepper = crypto::LoadPepperFile(Path("state/pepper"));
  ASSERT_TRUE(pepper.has_value());
  auto who = d->api_keys->Authenticate(demo_key_, d->pepper.view());
  ASSERT_TRUE(who.has_value());
  EXPECT_EQ(who->name, "demo");
  ASSERT_EQ(d->hmac_keys.count("ci"), 1u);
  EXPECT_EQ(d->hmac_keys.at("ci").size(), 40u);
  ASSERT_EQ(d->jwt_issuers.size(), 1u);
  EXPECT_THAT(d->jwt_issuers[0].keys.kids(), ElementsAre("demo-1"));
  EXPECT_EQ(d->jwt_issuers[0].options.issuer, "https://idp.example");
  EXPECT_THAT(d->jwt_issuers[0].options.audiences, ElementsAre("fnjail"));
  EXPECT_EQ(d->policy_files, 1u);
  EXPECT_EQ(d->policies.statement_count(), 1u);
  ASSERT_NE(d->audit_key, nullptr);
  EXPECT_EQ(d->audit_options.path, Path("state/audit.log"));
  // The enforced set decides as the policy says.
  policy::Request request;
  request.principal = "demo";
  request.action = "function:Invoke";
  request.resource = "fn:hello";
  EXPECT_TRUE(d->policies.Decide(request).allowed);
  request.principal = "intern";
  EXPECT_FALSE(d->policies.Decide(request).allowed);
}

TEST_F(DeploymentTest, PolicyErrorsKeepThePolicyFilesPositions) {
  Write("policies/broken.toml",
        "[[statement]]\n"
        "effect = \"allow\"\n"
        "actions = \"function:Invoke\"\n"
        "resource = \"fn:hello\"\n",
        0644);
  const std::string broken = Path("policies/broken.toml");
  EXPECT_THAT(CheckErrors(kGood),
              Contains(HasSubstr(broken + ":3:1: error: unknown key `actions` in statement")));
}

TEST_F(DeploymentTest, ShadowSetsLoadBesideTheEnforcedOne) {
  Write("next/all.toml",
        "[[statement]]\neffect = \"allow\"\naction = \"function:Invoke\"\n"
        "resource = \"fn:*\"\n",
        0644);
  auto d = Check(std::string(kGood) + "[[policies.shadow]]\nname = \"next\"\npaths = [\"next\"]\n");
  ASSERT_TRUE(d.has_value()) << ::testing::PrintToString(Lines(d.error()));
  ASSERT_EQ(d->shadow_policies.size(), 1u);
  EXPECT_EQ(d->shadow_policies[0].name, "next");
  EXPECT_EQ(d->policy_files, 2u);
}

TEST_F(DeploymentTest, ABadJwksIsAnErrorAtTheConfigValue) {
  Write("jwks.json", R"({"keys": [{"kty": "oct", "k": "c2hvcnQ", "kid": "x", "alg": "HS256"}]})",
        0644);
  auto errors = CheckErrors(kGood);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], HasSubstr(File() + ":9:8: error: JWKS `" + Path("jwks.json") + "`: "));
}

TEST_F(DeploymentTest, AShortHmacSecretIsAnError) {
  Write("state/ci.key", "short");
  EXPECT_THAT(CheckErrors(kGood),
              ElementsAre(File() + ":5:6: error: HMAC secret `" + Path("state/ci.key") +
                          "` holds 5 bytes; at least 32 are needed\n  help: head -c 32 "
                          "/dev/urandom > " + Path("state/ci.key")));
}

TEST_F(DeploymentTest, AShortPepperIsAnError) {
  Write("state/pepper", "short");
  auto errors = CheckErrors(kGood);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], HasSubstr(File() + ":3:10: error: pepper `" + Path("state/pepper") +
                                   "`: "));
}

TEST_F(DeploymentTest, AnAuditKeyThatIsNotEd25519IsAnError) {
  Write("state/audit.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
  auto errors = CheckErrors(kGood);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], HasSubstr(File() + ":15:15: error: audit signing key `" +
                                   Path("state/audit.pem") + "`: "));
  EXPECT_THAT(errors[0], HasSubstr("help: openssl genpkey -algorithm ed25519 -out"));
}

TEST_F(DeploymentTest, NoPoliciesAndNoAuthenticationAreWarnings) {
  auto d = Check(kMinimal);
  ASSERT_TRUE(d.has_value()) << ::testing::PrintToString(Lines(d.error()));
  EXPECT_THAT(Lines(d->warnings),
              ElementsAre(File() + ":1:1: warning: no authentication is configured: every "
                                   "request will be refused\n  help: add [auth.api_keys], "
                                   "[auth.hmac] or [[auth.jwt]]",
                          File() + ":1:1: warning: no policies are configured: every request "
                                   "will be denied\n  help: name policy files or folders in "
                                   "[policies] paths",
                          File() + ":1:1: warning: functions folder `" + Path("functions") +
                              "` holds no function files (`*.toml`)"));
}

// A self-signed P-256 certificate and its key, written as PEM.
void WriteSelfSigned(const std::string& cert_path, const std::string& key_path) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  ASSERT_NE(key, nullptr);
  X509* cert = X509_new();
  ASSERT_NE(cert, nullptr);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  ASSERT_GT(X509_sign(cert, key, EVP_sha256()), 0);
  FILE* c = std::fopen(cert_path.c_str(), "w");
  ASSERT_NE(c, nullptr);
  PEM_write_X509(c, cert);
  std::fclose(c);
  FILE* k = std::fopen(key_path.c_str(), "w");
  ASSERT_NE(k, nullptr);
  PEM_write_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(k);
  chmod(key_path.c_str(), 0600);
  X509_free(cert);
  EVP_PKEY_free(key);
}

TEST_F(DeploymentTest, TlsCertificateAndKeyMustMatch) {
  WriteSelfSigned(Path("a.crt"), Path("a.key"));
  WriteSelfSigned(Path("b.crt"), Path("b.key"));
  const std::string tls = "[server.tls]\ncertificate = \"a.crt\"\nkey = \"a.key\"\n";
  auto d = Check(std::string(kGood) + tls);
  ASSERT_TRUE(d.has_value()) << ::testing::PrintToString(Lines(d.error()));
  EXPECT_TRUE(d->config.server.tls.enabled);
  EXPECT_THAT(CheckErrors(std::string(kGood) +
                          "[server.tls]\ncertificate = \"a.crt\"\nkey = \"b.key\"\n"),
              ElementsAre(File() + ":17:15: error: TLS key `" + Path("b.key") +
                          "` does not belong to certificate `" + Path("a.crt") + "`"));
}

TEST_F(DeploymentTest, FunctionFilesAreLoadedThroughTheRuntimeLibrary) {
  Write("functions/hello.lua", "function handler(event, ctx) return {} end\n", 0644);
  Write("functions/hello.toml", "name = \"hello\"\nruntime = \"lua\"\nhandler = \"hello.lua\"\n",
        0644);
  Write("functions/notes.txt", "not a function file", 0644);
  auto d = Check(kGood);
  ASSERT_TRUE(d.has_value()) << ::testing::PrintToString(Lines(d.error()));
  ASSERT_EQ(d->functions.size(), 1u);
  EXPECT_EQ(d->functions[0].name, "hello");
  EXPECT_EQ(d->functions[0].file, Path("functions/hello.toml"));
  ASSERT_NE(d->functions[0].spec, nullptr);
  EXPECT_EQ(d->functions[0].spec->handler, "hello.lua");
}

TEST_F(DeploymentTest, FunctionFileErrorsKeepTheirPositions) {
  Write("functions/hello.lua", "function handler(event, ctx) return {} end\n", 0644);
  Write("functions/bad.toml",
        "name = \"Bad Name\"\nruntime = \"lua\"\nhandler = \"hello.lua\"\ncolour = 1\n", 0644);
  const std::string bad = Path("functions/bad.toml");
  auto errors = CheckErrors(kGood);
  EXPECT_THAT(errors, Contains(HasSubstr(bad + ":1:8: error: invalid function name `Bad Name`")));
  EXPECT_THAT(errors, Contains(HasSubstr(bad + ":4:1: error: unknown key `colour`")));
}

TEST_F(DeploymentTest, FunctionNamesAreUnique) {
  Write("functions/hello.lua", "function handler(event, ctx) return {} end\n", 0644);
  const std::string fn = "name = \"hello\"\nruntime = \"lua\"\nhandler = \"hello.lua\"\n";
  Write("functions/a.toml", fn, 0644);
  Write("functions/b.toml", fn, 0644);
  EXPECT_THAT(CheckErrors(kGood),
              ElementsAre(Path("functions/b.toml") + ":1:1: error: function `hello` is also "
                                                     "defined in `" +
                          Path("functions/a.toml") + "`"));
}

TEST_F(DeploymentTest, SecretsAFunctionNeedsMustBeStored) {
  Write("functions/hello.lua", "function handler(event, ctx) return {} end\n", 0644);
  Write("functions/hello.toml",
        "name = \"hello\"\nruntime = \"lua\"\nhandler = \"hello.lua\"\n"
        "secrets = [\"DB_PASSWORD\", \"API_TOKEN\"]\n",
        0644);
  const std::string fn = Path("functions/hello.toml");
  EXPECT_THAT(CheckErrors(kGood),
              ElementsAre(fn + ":1:1: error: function `hello` needs secret `DB_PASSWORD` but no "
                               "[secrets] store is configured",
                          fn + ":1:1: error: function `hello` needs secret `API_TOKEN` but no "
                               "[secrets] store is configured"));

  Write("state/master.key", std::string(32, 'm'));
  auto master = crypto::LoadMasterKeyFile(Path("state/master.key"));
  ASSERT_TRUE(master.has_value());
  auto store = crypto::SecretStore::Load(Path("state/secrets.json"));
  ASSERT_TRUE(store.has_value());
  ASSERT_TRUE(store->Set(master->view(), "hello", "DB_PASSWORD", crypto::AsBytes("x")).has_value());
  ASSERT_TRUE(store->Save(Path("state/secrets.json")).has_value());
  const std::string secrets =
      "[secrets]\nstore = \"state/secrets.json\"\nmaster_key = \"state/master.key\"\n";
  EXPECT_THAT(CheckErrors(std::string(kGood) + secrets),
              ElementsAre(fn + ":1:1: error: function `hello` needs secret `API_TOKEN`, which the "
                               "secret store does not hold\n  help: fnjail secrets set --config " +
                               File() + " --function hello API_TOKEN"));
}

TEST_F(DeploymentTest, TheAuditPublicKeyMustBeTheSigningKeysHalf) {
  auto other = crypto::Ed25519SigningKey::Generate();
  ASSERT_TRUE(other.has_value());
  Write("state/audit.pub", other->public_key().ToPem(), 0644);
  EXPECT_THAT(CheckErrors(std::string(kGood) + "public_key = \"state/audit.pub\"\n"),
              ElementsAre(File() + ":16:14: error: audit public key `" + Path("state/audit.pub") +
                          "` is not the public half of the signing key `" +
                          Path("state/audit.pem") + "`\n  help: openssl pkey -in " +
                          Path("state/audit.pem") + " -pubout -out " + Path("state/audit.pub")));
}

TEST_F(DeploymentTest, ErrorsAreAllReportedTogether) {
  Write("state/ci.key", "short");
  Write("state/pepper", "short");
  Write("jwks.json", "{", 0644);
  EXPECT_EQ(CheckErrors(kGood).size(), 3u);
}

}  // namespace
}  // namespace fnjail::gateway
