// What `fnjail serve` runs on, in plain data: a loaded, checked deployment (config.h)
// translated into the pieces the server and the filter chain are built from.
//
// The plan is a seam between two translation units: service_plan.cc reads the configuration
// types (config.h) and service.cc builds the chain types (chain.h), and neither has to see
// both sets of names. Only crypto, policy and runtime types appear here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

#include "crypto/crypto.h"
#include "gateway/authz.h"
#include "policy/policy.h"

namespace fnjail::runtime {
struct FunctionSpec;  // runtime/function.h
}  // namespace fnjail::runtime

namespace fnjail::gateway {

struct PlanAddress {
  std::string host;
  uint16_t port = 0;
  std::string ToString() const;  // `host:port`, IPv6 in brackets
};

struct PlanPrincipal {
  std::string id;
  std::vector<std::string> groups;
  std::vector<std::pair<std::string, std::string>> tags;
};

struct PlanJwtIssuer {
  std::string name;
  crypto::JwkSet keys;
  crypto::JwtOptions options;
  std::string principal_prefix;
  std::string principal_claim = "sub";
  std::string groups_claim;
};

struct PlanRate {
  double rate_per_second = 0;
  double burst = 0;
};

struct PlanFunction {
  std::string name;
  std::string file;
  std::shared_ptr<const runtime::FunctionSpec> spec;
};

struct ServicePlan {
  std::string config_file;

  // [server], [limits]
  std::vector<PlanAddress> listen;
  bool tls = false;
  std::string tls_certificate, tls_key;
  bool tls13_only = false;  // [server.tls] min_version = "1.3"
  size_t worker_threads = 0;
  size_t max_connections = 0;
  size_t max_header_bytes = 0;
  size_t max_headers = 0;
  size_t max_keepalive_requests = 0;
  size_t max_body_bytes = 0;
  size_t max_json_depth = 0;
  size_t max_string_bytes = 0;
  uint64_t header_timeout_ms = 0, body_timeout_ms = 0, idle_timeout_ms = 0,
           write_timeout_ms = 0;

  // [auth], [principals]
  bool api_keys = false;
  std::shared_ptr<const crypto::ApiKeyStore> api_key_store;
  std::shared_ptr<const crypto::SecretBytes> api_key_pepper;
  std::string api_key_header = "X-Api-Key";
  std::map<std::string, crypto::Bytes, std::less<>> hmac_keys;  // key id -> secret
  int64_t hmac_window_seconds = 300;
  size_t hmac_replay_capacity = 100000;
  std::vector<PlanJwtIssuer> jwt_issuers;
  std::vector<PlanPrincipal> principals;

  // [policies]: the enforced set and the shadow sets, in the configured order.
  policy::PolicySet policies;
  std::vector<ShadowSet> shadow_policies;

  // [functions]
  std::vector<PlanFunction> functions;

  // [admission]
  PlanRate default_rate;
  std::map<std::string, PlanRate, std::less<>> principal_rates;
  size_t max_concurrency_per_function = 0;
  uint64_t queue_timeout_ms = 0;

  // [audit]
  std::shared_ptr<crypto::Ed25519SigningKey> audit_key;
  crypto::AuditOptions audit_options;
  bool strict_audit = true;

  // [metrics]
  bool metrics_enabled = true;
  std::optional<PlanAddress> metrics_listen;

  // Files and folders whose change means a reload (the audit log is never among them).
  std::vector<std::string> watch_paths;
  // Non-fatal findings (policy lint, settings that need a restart), one line each.
  std::vector<std::string> warnings;

  const PlanPrincipal* FindPrincipal(const std::string& id) const;
};

// Loads and checks `config_path` and everything it names (gateway::CheckConfig) and
// translates it. Errors: every problem, one `file:line:col: error: ...` line each.
tl::expected<ServicePlan, std::vector<std::string>> LoadServicePlan(
    const std::string& config_path);

// A fingerprint of `paths` (recursively: name, size and modification time of every file):
// equal fingerprints mean nothing visible changed.
std::string FingerprintPaths(const std::vector<std::string>& paths);

}  // namespace fnjail::gateway
