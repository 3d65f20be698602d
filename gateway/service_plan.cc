// Deployment (config.h) -> ServicePlan (service_plan.h): the configuration side of the
// seam; this file never sees the filter chain's types.
#include "gateway/service_plan.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "gateway/config.h"

namespace fnjail::gateway {
namespace {

PlanAddress ToPlan(const ListenAddress& a) { return PlanAddress{a.host, a.port}; }

std::vector<std::string> Lines(const Diagnostics& diags) {
  std::vector<std::string> lines;
  for (const auto& d : diags) lines.push_back(d.ToString());
  return lines;
}

void AddWatch(std::vector<std::string>& watch, const std::string& path) {
  if (!path.empty() && std::find(watch.begin(), watch.end(), path) == watch.end()) {
    watch.push_back(path);
  }
}

}  // namespace

std::string PlanAddress::ToString() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

const PlanPrincipal* ServicePlan::FindPrincipal(const std::string& id) const {
  for (const auto& p : principals) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

tl::expected<ServicePlan, std::vector<std::string>> LoadServicePlan(
    const std::string& config_path) {
  auto loaded = CheckConfig(config_path);
  if (!loaded) return tl::unexpected(Lines(loaded.error()));
  Deployment& d = *loaded;
  const Config& c = d.config;

  ServicePlan plan;
  plan.config_file = config_path;
  for (const auto& a : c.server.listen) plan.listen.push_back(ToPlan(a));
  plan.tls = c.server.tls.enabled;
  plan.tls_certificate = c.server.tls.certificate;
  plan.tls_key = c.server.tls.key;
  plan.tls13_only = c.server.tls.min_version == TlsVersion::kTls13;
  plan.worker_threads = c.server.worker_threads;
  plan.max_connections = c.limits.max_connections;
  plan.max_header_bytes = c.limits.max_header_bytes;
  plan.max_headers = c.limits.max_headers;
  plan.max_keepalive_requests = c.limits.max_keepalive_requests;
  plan.max_body_bytes = c.limits.max_body_bytes;
  plan.max_json_depth = c.limits.max_json_depth;
  plan.max_string_bytes = c.limits.max_string_bytes;
  plan.header_timeout_ms = c.limits.header_timeout_ms;
  plan.body_timeout_ms = c.limits.body_timeout_ms;
  plan.idle_timeout_ms = c.limits.idle_timeout_ms;
  plan.write_timeout_ms = c.limits.write_timeout_ms;

  if (c.auth.api_keys.enabled && d.api_keys) {
    plan.api_keys = true;
    plan.api_key_store = std::make_shared<const crypto::ApiKeyStore>(std::move(*d.api_keys));
    plan.api_key_pepper = std::make_shared<const crypto::SecretBytes>(std::move(d.pepper));
    plan.api_key_header = c.auth.api_keys.header;
  }
  if (c.auth.hmac.enabled) {
    for (const auto& [id, secret] : d.hmac_keys) {
      plan.hmac_keys.emplace(id, crypto::Bytes(secret.view().begin(), secret.view().end()));
    }
    plan.hmac_window_seconds = c.auth.hmac.window_seconds;
    plan.hmac_replay_capacity = c.auth.hmac.replay_capacity;
  }
  for (auto& issuer : d.jwt_issuers) {
    PlanJwtIssuer p;
    p.name = issuer.config.name;
    p.keys = std::move(issuer.keys);
    p.options = issuer.options;
    p.principal_prefix = issuer.config.principal_prefix;
    p.principal_claim = issuer.config.principal_claim;
    p.groups_claim = issuer.config.groups_claim;
    plan.jwt_issuers.push_back(std::move(p));
  }
  for (const auto& p : c.principals) {
    PlanPrincipal principal{p.id, p.groups, {}};
    for (const auto& [k, v] : p.tags) principal.tags.emplace_back(k, v);
    plan.principals.push_back(std::move(principal));
  }

  plan.policies = std::move(d.policies);
  for (auto& set : d.shadow_policies) {
    plan.shadow_policies.push_back(ShadowSet{set.name, std::move(set.policies)});
  }

  for (const auto& f : d.functions) plan.functions.push_back({f.name, f.file, f.spec});

  plan.default_rate = {c.admission.default_rate.rate_per_second, c.admission.default_rate.burst};
  for (const auto& [id, rate] : c.admission.principal_rates) {
    plan.principal_rates.emplace(id, PlanRate{rate.rate_per_second, rate.burst});
  }
  plan.max_concurrency_per_function = c.admission.max_concurrency_per_function;
  plan.queue_timeout_ms = c.admission.queue_timeout_ms;

  if (d.audit_key) plan.audit_key = std::shared_ptr<crypto::Ed25519SigningKey>(std::move(d.audit_key));
  plan.audit_options = d.audit_options;
  plan.strict_audit = c.audit.sync != AuditSyncMode::kBatched;

  plan.metrics_enabled = c.metrics.enabled;
  if (c.metrics.listen) plan.metrics_listen = ToPlan(*c.metrics.listen);

  AddWatch(plan.watch_paths, std::filesystem::absolute(config_path).string());
  AddWatch(plan.watch_paths, c.functions.folder);
  for (const auto& p : c.policies.enforced.paths) AddWatch(plan.watch_paths, p);
  for (const auto& p : c.policies.enforced.boundaries) AddWatch(plan.watch_paths, p);
  for (const auto& s : c.policies.shadow) {
    for (const auto& p : s.policies.paths) AddWatch(plan.watch_paths, p);
    for (const auto& p : s.policies.boundaries) AddWatch(plan.watch_paths, p);
  }
  if (c.auth.api_keys.enabled) AddWatch(plan.watch_paths, c.auth.api_keys.store);
  for (const auto& j : c.auth.jwt) AddWatch(plan.watch_paths, j.jwks);
  for (const auto& k : c.auth.hmac.keys) AddWatch(plan.watch_paths, k.secret_file);
  for (const auto& w : d.warnings) plan.warnings.push_back(w.ToString());
  return plan;
}

std::string FingerprintPaths(const std::vector<std::string>& paths) {
  std::string print;
  auto add = [&print](const std::filesystem::path& p) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) {
      print += p.string() + "|missing\n";
      return;
    }
    print += p.string() + "|" + std::to_string(st.st_size) + "|" +
             std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + "|" +
             std::to_string(st.st_ino) + "\n";
  };
  for (const auto& path : paths) {
    std::error_code ec;
    add(path);
    if (!std::filesystem::is_directory(path, ec)) continue;
    // Bounded: a watched folder is a config folder, not a data tree.
    size_t budget = 10000;
    std::vector<std::string> entries;
    for (auto it = std::filesystem::recursive_directory_iterator(
             path, std::filesystem::directory_options::skip_permission_denied, ec);
         !ec && it != std::filesystem::recursive_directory_iterator() && budget > 0;
         it.increment(ec), --budget) {
      entries.push_back(it->path().string());
    }
    std::sort(entries.begin(), entries.end());
    for (const auto& e : entries) add(e);
  }
  return print;
}

}  // namespace fnjail::gateway
