// The gateway's configuration (`fnjail.toml`, docs/gateway-config.md): plain data, how it is
// read and checked, and everything it names loaded for `fnjail serve`.
//
// Two levels, both reporting every problem as `file:line:col: error: message`:
// - LoadConfig reads one file: unknown keys, wrong types, bad values and addresses, paths
//   that do not exist, secret files that group or others can read, a missing functions
//   folder. Relative paths resolve against the config file's folder.
// - LoadDeployment goes on to load what the config names: every function file, every
//   policy (with the policy library's own positions), the API key store and its pepper,
//   the HMAC secrets, each JWKS, the audit signing key, the TLS certificate and key and
//   the secret store. `fnjail config check` is LoadConfig + LoadDeployment; `fnjail serve`
//   runs on the Deployment it returns, so a config that checks is a config that starts.
//
// Thread-safety: the functions are reentrant; they read files and touch no global state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "crypto/crypto.h"
#include "policy/diagnostics.h"
#include "policy/policy.h"
#include "runtime/function.h"

namespace fnjail::gateway {

// Configuration problems use the policy library's diagnostics: the same
// `file:line:col: error: message` lines with optional help, errors and warnings.
using policy::Diagnostic;
using policy::Diagnostics;
using policy::SourceSpan;

template <class T>
class [[nodiscard]] ConfigResult : public tl::expected<T, Diagnostics> {
 public:
  using tl::expected<T, Diagnostics>::expected;
};

// Hard input limits: larger files are refused before they are parsed.
inline constexpr size_t kMaxConfigFileBytes = 1 << 20;
inline constexpr size_t kMaxSecretFileBytes = 64 * 1024;

// ---------------------------------------------------------------------------------------
// [server]

// An address to listen on: an IPv4 literal or a bracketed IPv6 literal, and a port
// (`127.0.0.1:8080`, `[::1]:8443`). Port 0 asks the kernel for a free port (tests).
struct ListenAddress {
  std::string host = "127.0.0.1";  // the literal, without brackets
  uint16_t port = 8080;
  bool ipv6 = false;
  SourceSpan span;

  // `host:port`, IPv6 hosts in brackets.
  std::string ToString() const;
};

// Parses `host:port` as above. The error is a message for a diagnostic.
tl::expected<ListenAddress, std::string> ParseListenAddress(std::string_view text);

enum class TlsVersion { kTls12, kTls13 };

// TLS on every listener when `enabled`. Cipher suites are not configurable: TLS 1.3 suites
// and, for 1.2, ECDHE with AES-GCM or ChaCha20-Poly1305 only.
struct TlsConfig {
  bool enabled = false;
  std::string certificate;  // PEM chain, leaf first
  std::string key;          // PEM private key; a file group and others cannot access
  TlsVersion min_version = TlsVersion::kTls12;
  SourceSpan certificate_span, key_span;
};

struct ServerConfig {
  std::vector<ListenAddress> listen;  // default: 127.0.0.1:8080
  TlsConfig tls;
  size_t worker_threads = 0;  // resolved: the configured count, else one per core
};

// [limits]: what one connection and one request may use.
struct LimitsConfig {
  size_t max_connections = 1024;
  size_t max_header_bytes = 16 * 1024;  // request line and headers together
  size_t max_headers = 100;
  size_t max_body_bytes = 1 << 20;
  size_t max_json_depth = 64;
  size_t max_string_bytes = 64 * 1024;  // longest JSON string checked against a schema
  uint64_t header_timeout_ms = 10000;   // from the first byte to the end of the headers
  uint64_t body_timeout_ms = 30000;     // for the whole body
  uint64_t idle_timeout_ms = 60000;     // between requests on a kept-alive connection
  uint64_t write_timeout_ms = 30000;    // to send a response
  size_t max_keepalive_requests = 1000;
};

// ---------------------------------------------------------------------------------------
// [auth]. Each credential yields a principal id (the policy engine's `principal`); the
// principal's groups and tags come from [principals.<id>], and for JWTs also from a claim.

// [auth.api_keys]: keys from `fnjail keys create`. The principal id is the key's name.
struct ApiKeysConfig {
  bool enabled = false;
  std::string store;   // the JSON store of peppered hashes
  std::string pepper;  // 32..4096 bytes, a file group and others cannot access
  std::string header = "X-Api-Key";
  SourceSpan store_span, pepper_span;
};

// One HMAC signing key: its id is the principal id.
struct HmacKeyConfig {
  std::string id;
  std::string secret_file;  // >= 32 bytes, a file group and others cannot access
  SourceSpan span;
};

// [auth.hmac]: signed requests (docs/auth.md).
struct HmacConfig {
  bool enabled = false;
  std::vector<HmacKeyConfig> keys;
  int64_t window_seconds = 300;
  size_t replay_capacity = 100000;
};

// [[auth.jwt]]: one trusted issuer. The principal id is `principal_prefix` followed by
// the value of `principal_claim`; its groups are the (string or array of strings)
// `groups_claim`, plus those of [principals.<id>].
struct JwtIssuerConfig {
  std::string name;    // short name, unique; the default prefix is `<name>:`
  std::string issuer;  // the `iss` a token must carry
  std::string jwks;    // path of the JWK set
  std::vector<std::string> audiences;  // `aud` must hold one of them
  int64_t max_lifetime_seconds = 3600;
  int64_t clock_skew_seconds = 60;
  std::string principal_claim = "sub";
  std::string principal_prefix;  // resolved: `<name>:` unless configured
  std::string groups_claim;      // empty: groups only from [principals]
  SourceSpan span, jwks_span;
};

struct AuthConfig {
  ApiKeysConfig api_keys;
  HmacConfig hmac;
  std::vector<JwtIssuerConfig> jwt;
};

// [principals.<id>]: attributes of a principal, whichever credential named it.
struct PrincipalConfig {
  std::string id;
  std::vector<std::string> groups;  // plain names; policies attach to `group:NAME`
  std::map<std::string, std::string> tags;  // context `aws:PrincipalTag/<key>`
  SourceSpan span;
};

// ---------------------------------------------------------------------------------------
// [policies]: which policy files decide. Attachment is written in the policy files
// themselves (`kind` and `attach`, docs/policy-language.md); the config names where they are.

struct PolicyPathsConfig {
  std::vector<std::string> paths;       // files or folders of policies
  std::vector<std::string> boundaries;  // loaded as permission boundaries
  std::vector<SourceSpan> path_spans, boundary_spans;
};

// [[policies.shadow]]: a candidate policy set evaluated and audited beside the enforced one
// but never enforced, for safe rollout.
struct ShadowPolicyConfig {
  std::string name;
  PolicyPathsConfig policies;
  SourceSpan span;
};

struct PoliciesConfig {
  PolicyPathsConfig enforced;
  std::vector<ShadowPolicyConfig> shadow;
};

// [functions]
struct FunctionsConfig {
  std::string folder;  // every `*.toml` in it is a function file
  SourceSpan span;
};

// [secrets]: function secrets at rest (`fnjail secrets`); optional.
struct SecretsConfig {
  bool enabled = false;
  std::string store;
  std::string master_key;  // exactly 32 bytes, a file group and others cannot access
  SourceSpan store_span, master_key_span;
};

// [audit]
enum class AuditSyncMode {
  kStrict,       // a request's record is durable before its response is sent (group commit)
  kEveryRecord,  // as strict, with one fdatasync per record instead of per batch
  kBatched,      // group commit; the response does not wait for the disk
};

struct AuditConfig {
  std::string path;         // the log file; its folder must exist
  std::string signing_key;  // Ed25519 PKCS#8 PEM; group and others cannot access
  std::string public_key;   // optional: its public half (for verifiers); must match
  AuditSyncMode sync = AuditSyncMode::kStrict;
  int64_t max_batch_delay_ms = 0;
  uint64_t checkpoint_every_records = 1000;
  int64_t checkpoint_interval_ms = 5000;
  SourceSpan path_span, signing_key_span, public_key_span;
};

// [metrics]
struct MetricsConfig {
  bool enabled = true;
  // A separate plain-HTTP listener for `GET /metrics`; when unset, /metrics is served on
  // the main listeners.
  std::optional<ListenAddress> listen;
};

// [admission]: per-principal token buckets and per-function concurrency.
struct RateLimitConfig {
  double rate_per_second = 50;  // tokens added per second
  double burst = 100;           // bucket size
};

struct AdmissionConfig {
  RateLimitConfig default_rate;
  std::map<std::string, RateLimitConfig> principal_rates;  // [admission.principals.<id>]
  size_t max_concurrency_per_function = 64;  // when the function sets none
  uint64_t queue_timeout_ms = 1000;          // wait for a free slot, then 429/503
};

struct Config {
  std::string file;    // the file it was loaded from, as given
  std::string folder;  // its folder (absolute): relative paths resolve against it
  ServerConfig server;
  LimitsConfig limits;
  AuthConfig auth;
  std::vector<PrincipalConfig> principals;
  PoliciesConfig policies;
  FunctionsConfig functions;
  SecretsConfig secrets;
  AuditConfig audit;
  MetricsConfig metrics;
  AdmissionConfig admission;

  // The principal's configured attributes, or nullptr.
  const PrincipalConfig* FindPrincipal(std::string_view id) const;
};

// Parses the text of a config file. `file` names it in diagnostics and anchors relative
// paths (its folder; made absolute against the working directory). Checks the text only:
// no file it names is looked at. Every problem is reported.
ConfigResult<Config> ParseConfig(std::string_view text, std::string_view file);

// ParseConfig's core: reads `text` into `*config` as far as it can, adding every problem
// to `*diags`. Returns false when nothing could be read (not TOML, not ASCII, too large).
bool ReadConfig(std::string_view text, std::string_view file, Config* config,
                Diagnostics* diags);

// Reads and parses `path`, then checks the files it names: they exist, secret files are
// regular files no wider than 0600 (or 0400), folders are folders. Every problem is
// reported, each at the value that named the file.
ConfigResult<Config> LoadConfig(const std::string& path);

// Checks that `certificate` (a PEM chain) and `key` (an unencrypted PEM private key) load
// and belong together. The error is a message for a diagnostic.
tl::expected<void, std::string> CheckTlsKeyPair(const std::string& certificate,
                                                const std::string& key);

// ---------------------------------------------------------------------------------------
// The deployment: what the config names, loaded.

struct LoadedJwtIssuer {
  JwtIssuerConfig config;
  crypto::JwkSet keys;
  crypto::JwtOptions options;
};

struct ShadowPolicySet {
  std::string name;
  policy::PolicySet policies;
};

// One function file, as runtime::LoadFunction read it.
struct LoadedFunction {
  std::string name;
  std::string file;
  std::vector<std::string> secrets;  // secret names it asks for
  std::shared_ptr<const runtime::FunctionSpec> spec;
};

struct Deployment {
  Config config;
  std::optional<crypto::ApiKeyStore> api_keys;
  crypto::SecretBytes pepper;
  std::map<std::string, crypto::SecretBytes, std::less<>> hmac_keys;  // key id -> secret
  std::vector<LoadedJwtIssuer> jwt_issuers;
  policy::PolicySet policies;
  std::vector<ShadowPolicySet> shadow_policies;
  std::vector<LoadedFunction> functions;
  std::optional<crypto::SecretStore> secret_store;
  crypto::SecretBytes secrets_master_key;
  std::unique_ptr<crypto::Ed25519SigningKey> audit_key;
  crypto::AuditOptions audit_options;  // path, sync and checkpoint settings (no clock)
  size_t policy_files = 0;             // counted for summaries
  Diagnostics warnings;                // policy lint findings; never errors
};

// Loads everything `config` names and checks it: the function files (and that function
// names are unique and the secrets they ask for exist in the secret store), the policies
// (parse, compile; lint findings as warnings), the API key store and pepper, the HMAC
// secrets, each JWKS, the audit signing key (and, when the log exists, nothing else: the
// log itself is checked when the writer opens it), the TLS certificate and key (that they
// parse and match). Every problem is reported; the Deployment is returned only when none.
ConfigResult<Deployment> LoadDeployment(Config config);

// LoadConfig, then LoadDeployment: what `fnjail config check` and `fnjail serve` do.
ConfigResult<Deployment> CheckConfig(const std::string& path);

}  // namespace fnjail::gateway
