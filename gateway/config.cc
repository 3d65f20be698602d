// Loading the gateway configuration: the files it names checked (LoadConfig) and loaded
// (LoadDeployment). The TOML text itself is read in config_toml.cc.
#include "gateway/config.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <utility>


namespace fnjail::gateway {
namespace {

namespace fs = std::filesystem;

std::string OctalMode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "0%03o", static_cast<unsigned>(mode & 0777));
  return text;
}

// How strictly a named file's mode is checked.
enum class FileRole {
  kSecret,   // keys and peppers: no access at all for group and others
  kTrusted,  // trust anchors (key stores, JWKS, certificates): nobody else may write them
};

// Checks that `path` is a regular file of an acceptable mode; reports at `span`.
void CheckFile(const std::string& path, const SourceSpan& span, FileRole role,
               Diagnostics& diags) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      diags.Error(span, "`" + path + "` does not exist");
    } else {
      diags.Error(span, "`" + path + "` cannot be read: " + std::strerror(err));
    }
    return;
  }
  if (!S_ISREG(st.st_mode)) {
    diags.Error(span, "`" + path + "` is not a regular file");
    return;
  }
  if (role == FileRole::kSecret && (st.st_mode & 077) != 0) {
    diags.Error(span,
                "`" + path + "` is accessible by group or others (mode " +
                    OctalMode(st.st_mode) + "); secret files must not be",
                "chmod 600 " + path);
  } else if (role == FileRole::kTrusted && (st.st_mode & 022) != 0) {
    diags.Error(span,
                "`" + path + "` is writable by group or others (mode " + OctalMode(st.st_mode) +
                    "); anyone who can write it can change who is trusted",
                "chmod go-w " + path);
  }
}

void CheckFolder(const std::string& path, const SourceSpan& span, std::string_view what,
                 Diagnostics& diags) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) {
    diags.Error(span, std::string(what) + " `" + path + "` does not exist");
  } else if (!fs::is_directory(status)) {
    diags.Error(span, std::string(what) + " `" + path + "` is not a folder");
  }
}

void CheckExists(const std::string& path, const SourceSpan& span, Diagnostics& diags) {
  std::error_code ec;
  if (!fs::exists(path, ec)) diags.Error(span, "`" + path + "` does not exist");
}

void CheckPolicyPaths(const PolicyPathsConfig& p, Diagnostics& diags) {
  for (size_t i = 0; i < p.paths.size() && i < p.path_spans.size(); ++i) {
    CheckExists(p.paths[i], p.path_spans[i], diags);
  }
  for (size_t i = 0; i < p.boundaries.size() && i < p.boundary_spans.size(); ++i) {
    CheckExists(p.boundaries[i], p.boundary_spans[i], diags);
  }
}

// The files of a parsed config, checked without reading any of them.
void CheckNamedFiles(const Config& config, Diagnostics& diags) {
  const TlsConfig& tls = config.server.tls;
  if (tls.enabled) {
    if (!tls.certificate.empty()) {
      CheckFile(tls.certificate, tls.certificate_span, FileRole::kTrusted, diags);
    }
    if (!tls.key.empty()) CheckFile(tls.key, tls.key_span, FileRole::kSecret, diags);
  }
  const ApiKeysConfig& api = config.auth.api_keys;
  if (api.enabled) {
    if (!api.store.empty()) {
      CheckFile(api.store, api.store_span, FileRole::kTrusted, diags);
    }
    if (!api.pepper.empty()) CheckFile(api.pepper, api.pepper_span, FileRole::kSecret, diags);
  }
  for (const HmacKeyConfig& key : config.auth.hmac.keys) {
    CheckFile(key.secret_file, key.span, FileRole::kSecret, diags);
  }
  for (const JwtIssuerConfig& issuer : config.auth.jwt) {
    if (!issuer.jwks.empty()) CheckFile(issuer.jwks, issuer.jwks_span, FileRole::kTrusted, diags);
  }
  CheckPolicyPaths(config.policies.enforced, diags);
  for (const ShadowPolicyConfig& shadow : config.policies.shadow) {
    CheckPolicyPaths(shadow.policies, diags);
  }
  CheckFolder(config.functions.folder, config.functions.span, "functions folder", diags);
  if (config.secrets.enabled) {
    if (!config.secrets.store.empty()) {
      CheckFile(config.secrets.store, config.secrets.store_span, FileRole::kTrusted, diags);
    }
    if (!config.secrets.master_key.empty()) {
      CheckFile(config.secrets.master_key, config.secrets.master_key_span, FileRole::kSecret,
                diags);
    }
  }
  const AuditConfig& audit = config.audit;
  if (!audit.path.empty()) {
    const fs::path log(audit.path);
    CheckFolder(log.parent_path().string(), audit.path_span, "audit log folder", diags);
    std::error_code ec;
    if (fs::exists(log, ec)) CheckFile(audit.path, audit.path_span, FileRole::kTrusted, diags);
  }
  if (!audit.signing_key.empty()) {
    CheckFile(audit.signing_key, audit.signing_key_span, FileRole::kSecret, diags);
  }
  if (!audit.public_key.empty()) {
    CheckFile(audit.public_key, audit.public_key_span, FileRole::kTrusted, diags);
  }
}

// Turns `file:line:col: error: message` lines (with `  help: ...` continuations), as the
// sandbox and runtime libraries write them, into diagnostics. Other lines are reported at
// `fallback`.
void AppendDiagnosticText(std::string_view text, const SourceSpan& fallback,
                          Diagnostics& diags) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    if (line.starts_with("  help: ") && !diags.empty()) {
      std::vector<Diagnostic> entries(diags.entries());
      entries.back().help = std::string(line.substr(8));
      diags = Diagnostics(std::move(entries));
      continue;
    }
    const size_t marker = line.find(": error: ");
    if (marker != std::string_view::npos) {
      const std::string_view position = line.substr(0, marker);
      const size_t col_colon = position.rfind(':');
      const size_t line_colon =
          col_colon == std::string_view::npos ? col_colon : position.rfind(':', col_colon - 1);
      uint32_t line_no = 0;
      uint32_t col_no = 0;
      if (line_colon != std::string_view::npos && line_colon > 0) {
        const std::string_view l = position.substr(line_colon + 1, col_colon - line_colon - 1);
        const std::string_view c = position.substr(col_colon + 1);
        const auto lr = std::from_chars(l.data(), l.data() + l.size(), line_no);
        const auto cr = std::from_chars(c.data(), c.data() + c.size(), col_no);
        if (lr.ec == std::errc() && lr.ptr == l.data() + l.size() && cr.ec == std::errc() &&
            cr.ptr == c.data() + c.size()) {
          diags.Error(SourceSpan{std::string(position.substr(0, line_colon)), line_no, col_no},
                      std::string(line.substr(marker + 9)));
          continue;
        }
      }
    }
    diags.Error(fallback, std::string(line));
  }
}

// Loads one policy set; lint findings that are warnings go to `warnings`.
std::optional<policy::PolicySet> LoadPolicySet(const PolicyPathsConfig& paths,
                                               Diagnostics& errors, Diagnostics& warnings,
                                               size_t* file_count) {
  std::vector<policy::Document> docs;
  bool ok = true;
  auto load = [&](const std::vector<std::string>& roots, bool boundary) {
    if (roots.empty()) return;
    auto files = policy::ExpandPaths(roots);
    if (!files) {
      errors.Append(files.error());
      ok = false;
      return;
    }
    for (const std::string& file : *files) {
      ++*file_count;
      auto doc = policy::LoadFile(file);
      if (!doc) {
        errors.Append(doc.error());
        ok = false;
        continue;
      }
      if (boundary) doc->kind = policy::PolicyKind::kBoundary;
      // Lint's value errors are also Compile's, which reports them below.
      for (const Diagnostic& d : policy::Lint(*doc)) {
        if (d.severity == policy::Severity::kWarning) warnings.Add(d);
      }
      docs.push_back(std::move(*doc));
    }
  };
  load(paths.paths, false);
  load(paths.boundaries, true);
  if (!ok) return std::nullopt;
  auto compiled = policy::PolicySet::Compile(std::move(docs));
  if (!compiled) {
    errors.Append(compiled.error());
    return std::nullopt;
  }
  return std::move(*compiled);
}

// Reads a key file into SecretBytes; reports at `span`.
std::optional<crypto::SecretBytes> ReadSecret(const std::string& path, const SourceSpan& span,
                                              std::string_view what, Diagnostics& errors) {
  auto text = crypto::ReadFileLimited(path, kMaxSecretFileBytes);
  if (!text) {
    errors.Error(span, std::string(what) + " `" + path + "`: " + text.error().message());
    return std::nullopt;
  }
  crypto::SecretBytes secret(crypto::AsBytes(*text));
  std::fill(text->begin(), text->end(), '\0');
  return secret;
}

void LoadFunctions(Deployment& d, Diagnostics& errors) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::directory_iterator it(d.config.functions.folder, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->path().extension() == ".toml") files.push_back(it->path());
  }
  if (ec) {
    errors.Error(d.config.functions.span, "functions folder `" + d.config.functions.folder +
                                              "` cannot be read: " + ec.message());
    return;
  }
  std::sort(files.begin(), files.end());
  std::map<std::string, std::string> names;  // name -> file
  for (const fs::path& file : files) {
    LoadedFunction loaded;
    loaded.file = file.string();
    auto spec = runtime::LoadFunction(loaded.file);
    if (!spec) {
      AppendDiagnosticText(spec.error().message, SourceSpan{loaded.file, 1, 1}, errors);
      continue;
    }
    loaded.name = spec->name;
    loaded.secrets = spec->secrets;
    loaded.spec = std::make_shared<const runtime::FunctionSpec>(std::move(*spec));
    if (auto [it, inserted] = names.emplace(loaded.name, loaded.file); !inserted) {
      errors.Error(SourceSpan{loaded.file, 1, 1},
                   "function `" + loaded.name + "` is also defined in `" + it->second + "`");
      continue;
    }
    d.functions.push_back(std::move(loaded));
  }
  if (files.empty()) {
    d.warnings.Warning(d.config.functions.span,
                       "functions folder `" + d.config.functions.folder +
                           "` holds no function files (`*.toml`)");
  }
}

}  // namespace

std::string ListenAddress::ToString() const {
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

tl::expected<ListenAddress, std::string> ParseListenAddress(std::string_view text) {
  auto fail = [&](std::string why) {
    return tl::unexpected("invalid listen address `" + std::string(text) + "`: " + why);
  };
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return fail("no port");
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  ListenAddress out;
  if (host.starts_with('[')) {
    if (!host.ends_with(']')) return fail("unbalanced `[`");
    host = host.substr(1, host.size() - 2);
    out.ipv6 = true;
  } else if (host.find(':') != std::string_view::npos) {
    return fail("write IPv6 addresses in brackets");
  }
  if (host.empty()) return fail("no host");
  out.host = std::string(host);
  unsigned char buffer[16];
  if (inet_pton(out.ipv6 ? AF_INET6 : AF_INET, out.host.c_str(), buffer) != 1) {
    return fail(out.ipv6 ? "not an IPv6 address" : "the host must be an IP address");
  }
  if (port_text.empty() || port_text.size() > 5 ||
      !std::all_of(port_text.begin(), port_text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return fail("the port must be a number from 0 to 65535");
  }
  unsigned port = 0;
  std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port > 65535) return fail("the port must be a number from 0 to 65535");
  out.port = static_cast<uint16_t>(port);
  return out;
}

const PrincipalConfig* Config::FindPrincipal(std::string_view id) const {
  for (const PrincipalConfig& p : principals) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

ConfigResult<Config> LoadConfig(const std::string& path) {
  auto text = crypto::ReadFileLimited(path, kMaxConfigFileBytes);
  if (!text) {
    Diagnostics diags;
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      diags.Error(SourceSpan{path, 0, 0}, "config file does not exist");
    } else {
      diags.Error(SourceSpan{path, 0, 0}, "config file cannot be read: " +
                                              text.error().message());
    }
    return tl::unexpected(std::move(diags));
  }
  Config config;
  Diagnostics diags;
  // The named files are checked even when some values were wrong, so that one run
  // reports every problem; only text that is not TOML stops here.
  if (ReadConfig(*text, path, &config, &diags)) CheckNamedFiles(config, diags);
  if (diags.HasErrors()) return tl::unexpected(std::move(diags));
  return config;
}

ConfigResult<Deployment> LoadDeployment(Config config) {
  Deployment d;
  d.config = std::move(config);
  const Config& c = d.config;
  Diagnostics errors;

  // Authentication.
  if (c.auth.api_keys.enabled) {
    auto store = crypto::ApiKeyStore::Load(c.auth.api_keys.store);
    if (!store) {
      errors.Error(c.auth.api_keys.store_span,
                   "API key store `" + c.auth.api_keys.store + "`: " + store.error().message());
    } else {
      d.api_keys = std::move(*store);
    }
    auto pepper = crypto::LoadPepperFile(c.auth.api_keys.pepper);
    if (!pepper) {
      errors.Error(c.auth.api_keys.pepper_span,
                   "pepper `" + c.auth.api_keys.pepper + "`: " + pepper.error().message());
    } else {
      d.pepper = std::move(*pepper);
    }
  }
  for (const HmacKeyConfig& key : c.auth.hmac.keys) {
    auto secret = ReadSecret(key.secret_file, key.span, "HMAC secret", errors);
    if (!secret) continue;
    if (secret->size() < 32) {
      errors.Error(key.span, "HMAC secret `" + key.secret_file + "` holds " +
                                 std::to_string(secret->size()) +
                                 " bytes; at least 32 are needed",
                   "head -c 32 /dev/urandom > " + key.secret_file);
      continue;
    }
    d.hmac_keys.emplace(key.id, std::move(*secret));
  }
  for (const JwtIssuerConfig& issuer : c.auth.jwt) {
    auto keys = crypto::JwkSet::LoadFile(issuer.jwks);
    if (!keys) {
      errors.Error(issuer.jwks_span, "JWKS `" + issuer.jwks + "`: " + keys.error().message());
      continue;
    }
    if (keys->size() == 0) {
      errors.Error(issuer.jwks_span, "JWKS `" + issuer.jwks + "` holds no key");
      continue;
    }
    LoadedJwtIssuer loaded{issuer, std::move(*keys), {}};
    loaded.options.issuer = issuer.issuer;
    loaded.options.audiences = issuer.audiences;
    loaded.options.max_lifetime_seconds = issuer.max_lifetime_seconds;
    loaded.options.clock_skew_seconds = issuer.clock_skew_seconds;
    d.jwt_issuers.push_back(std::move(loaded));
  }
  if (!c.auth.api_keys.enabled && c.auth.hmac.keys.empty() && c.auth.jwt.empty()) {
    d.warnings.Warning(SourceSpan{c.file, 1, 1},
                       "no authentication is configured: every request will be refused",
                       "add [auth.api_keys], [auth.hmac] or [[auth.jwt]]");
  }

  // Policies.
  if (auto set = LoadPolicySet(c.policies.enforced, errors, d.warnings, &d.policy_files)) {
    d.policies = std::move(*set);
    if (d.policies.statement_count() == 0) {
      d.warnings.Warning(SourceSpan{c.file, 1, 1},
                         "no policies are configured: every request will be denied",
                         "name policy files or folders in [policies] paths");
    }
  }
  for (const ShadowPolicyConfig& shadow : c.policies.shadow) {
    if (auto set = LoadPolicySet(shadow.policies, errors, d.warnings, &d.policy_files)) {
      d.shadow_policies.push_back(ShadowPolicySet{shadow.name, std::move(*set)});
    }
  }

  // Functions and their secrets.
  LoadFunctions(d, errors);
  if (c.secrets.enabled) {
    auto store = crypto::SecretStore::Load(c.secrets.store);
    if (!store) {
      errors.Error(c.secrets.store_span,
                   "secret store `" + c.secrets.store + "`: " + store.error().message());
    } else {
      d.secret_store = std::move(*store);
    }
    auto key = crypto::LoadMasterKeyFile(c.secrets.master_key);
    if (!key) {
      errors.Error(c.secrets.master_key_span,
                   "master key `" + c.secrets.master_key + "`: " + key.error().message());
    } else {
      d.secrets_master_key = std::move(*key);
    }
  }
  for (const LoadedFunction& fn : d.functions) {
    for (const std::string& name : fn.secrets) {
      if (!d.secret_store) {
        if (!c.secrets.enabled) {
          errors.Error(SourceSpan{fn.file, 1, 1},
                       "function `" + fn.name + "` needs secret `" + name +
                           "` but no [secrets] store is configured");
        }
        continue;
      }
      const auto listed = d.secret_store->List();
      if (std::find(listed.begin(), listed.end(), std::make_pair(fn.name, name)) ==
          listed.end()) {
        errors.Error(SourceSpan{fn.file, 1, 1},
                     "function `" + fn.name + "` needs secret `" + name +
                         "`, which the secret store does not hold",
                     "fnjail secrets set --config " + c.file + " --function " + fn.name +
                         " " + name);
      }
    }
  }

  // Audit.
  if (auto pem = crypto::ReadFileLimited(c.audit.signing_key, kMaxSecretFileBytes)) {
    auto key = crypto::Ed25519SigningKey::FromPem(*pem);
    std::fill(pem->begin(), pem->end(), '\0');
    if (!key) {
      errors.Error(c.audit.signing_key_span, "audit signing key `" + c.audit.signing_key +
                                                 "`: " + key.error().message(),
                   "openssl genpkey -algorithm ed25519 -out " + c.audit.signing_key);
    } else {
      d.audit_key = std::make_unique<crypto::Ed25519SigningKey>(std::move(*key));
    }
    if (d.audit_key && !c.audit.public_key.empty()) {
      auto pub = crypto::ReadFileLimited(c.audit.public_key, kMaxSecretFileBytes);
      auto parsed = pub ? crypto::Ed25519PublicKey::FromPem(*pub)
                        : crypto::Result<crypto::Ed25519PublicKey>(tl::unexpected(pub.error()));
      if (!parsed) {
        errors.Error(c.audit.public_key_span, "audit public key `" + c.audit.public_key +
                                                  "`: " + parsed.error().message());
      } else if (!(*parsed == d.audit_key->public_key())) {
        errors.Error(c.audit.public_key_span,
                     "audit public key `" + c.audit.public_key +
                         "` is not the public half of the signing key `" + c.audit.signing_key +
                         "`",
                     "openssl pkey -in " + c.audit.signing_key + " -pubout -out " +
                         c.audit.public_key);
      }
    }
  } else {
    errors.Error(c.audit.signing_key_span, "audit signing key `" + c.audit.signing_key +
                                               "`: " + pem.error().message());
  }
  d.audit_options.path = c.audit.path;
  // Strict mode keeps group commit too: the response waits for the batch holding its
  // record (AuditWriter::WaitDurable), which is what makes it durable before responding.
  d.audit_options.sync = c.audit.sync == AuditSyncMode::kEveryRecord
                             ? crypto::AuditSync::kEveryRecord
                             : crypto::AuditSync::kBatched;
  d.audit_options.max_batch_delay_ms = c.audit.max_batch_delay_ms;
  d.audit_options.checkpoint_every_records = c.audit.checkpoint_every_records;
  d.audit_options.checkpoint_interval_ms = c.audit.checkpoint_interval_ms;

  // TLS.
  if (c.server.tls.enabled) {
    if (auto tls = CheckTlsKeyPair(c.server.tls.certificate, c.server.tls.key); !tls) {
      errors.Error(c.server.tls.certificate_span, tls.error());
    }
  }

  if (errors.HasErrors()) {
    errors.Append(d.warnings);
    return tl::unexpected(std::move(errors));
  }
  return d;
}

ConfigResult<Deployment> CheckConfig(const std::string& path) {
  auto config = LoadConfig(path);
  if (!config) return tl::unexpected(std::move(config.error()));
  return LoadDeployment(std::move(*config));
}

}  // namespace fnjail::gateway
