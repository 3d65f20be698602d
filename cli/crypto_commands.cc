// `fnjail token`, `fnjail audit` and `fnjail keys`: operator tools over the crypto library.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "crypto/crypto.h"

namespace fnjail::cli {
namespace {

namespace crypto = ::fnjail::crypto;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitBadInput = 2;

int64_t NowUnix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---- token verify ---------------------------------------------------------------------

struct TokenVerifyOptions {
  std::string jwks;
  std::string issuer;
  std::vector<std::string> audiences;
  int64_t max_lifetime = 24 * 3600;
  int64_t clock_skew = 60;
  std::optional<int64_t> now;
  std::string token;
};

int RunTokenVerify(const TokenVerifyOptions& opts) {
  auto keys = crypto::JwkSet::LoadFile(opts.jwks);
  if (!keys) {
    std::cerr << "fnjail: " << keys.error() << '\n';
    return kExitBadInput;
  }
  std::string token = opts.token;
  if (token == "-") {
    token.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' ||
                              token.back() == ' ' || token.back() == '\t')) {
      token.pop_back();
    }
  }
  crypto::JwtOptions options;
  options.issuer = opts.issuer;
  options.audiences = opts.audiences;
  options.max_lifetime_seconds = opts.max_lifetime;
  options.clock_skew_seconds = opts.clock_skew;
  auto jwt = crypto::VerifyJwt(token, *keys, options, opts.now.value_or(NowUnix()));
  if (!jwt) {
    std::cerr << "fnjail: token rejected: " << jwt.error().message() << '\n';
    return kExitFailed;
  }
  std::cout << nlohmann::json::parse(jwt->claims_json).dump(2) << '\n';
  std::cerr << "fnjail: token valid: alg " << crypto::JwtAlgorithmName(jwt->algorithm)
            << ", key `" << jwt->kid << "`, expires at " << jwt->expires_at << '\n';
  return kExitOk;
}

// ---- audit configuration --------------------------------------------------------------

// The `[audit]` section of the gateway configuration (docs/audit.md). Until the gateway's
// configuration loader exists, this reads just that section: one `key = "string"` or
// `key = integer` per line, `#` comments; other sections are skipped line by line.
struct AuditConfig {
  std::string log;
  std::string public_key;
  std::string signing_key;
};

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

// Returns an error message (`file:line: error: ...`) or an empty string.
std::string ReadAuditConfig(const std::string& file, AuditConfig* out) {
  auto text = crypto::ReadFileLimited(file, 1 << 20);
  if (!text) return text.error().message();
  const std::filesystem::path base = std::filesystem::path(file).parent_path();
  auto resolve = [&](const std::string& p) {
    std::filesystem::path path(p);
    return path.is_absolute() ? p : (base / path).lexically_normal().string();
  };
  std::istringstream lines(*text);
  std::string raw;
  std::string section;
  int line_no = 0;
  while (std::getline(lines, raw)) {
    ++line_no;
    auto where = [&] { return file + ":" + std::to_string(line_no) + ": error: "; };
    // Drop a comment: a `#` outside a double-quoted string.
    bool quoted = false;
    size_t cut = raw.size();
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '"') quoted = !quoted;
      if (raw[i] == '#' && !quoted) {
        cut = i;
        break;
      }
    }
    std::string line = Trim(std::string_view(raw).substr(0, cut));
    if (!line.empty() && line.back() == '\r') line = Trim(line.substr(0, line.size() - 1));
    if (line.empty()) continue;
    if (line.front() == '[') {
      section = line == "[audit]" ? "audit" : line;
      continue;
    }
    if (section != "audit") continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) return where() + "expected `key = value` in [audit]";
    std::string key = Trim(std::string_view(line).substr(0, eq));
    std::string value = Trim(std::string_view(line).substr(eq + 1));
    bool is_string = value.size() >= 2 && value.front() == '"' && value.back() == '"' &&
                     value.find('"', 1) == value.size() - 1 &&
                     value.find('\\') == std::string::npos;
    bool is_integer = !value.empty() && value.find_first_not_of("0123456789") == std::string::npos;
    if (key == "path" || key == "public_key" || key == "signing_key" || key == "sync") {
      if (!is_string) {
        return where() + "`" + key + "` takes a double-quoted string without escapes";
      }
      std::string v = value.substr(1, value.size() - 2);
      if (key == "path") out->log = resolve(v);
      if (key == "public_key") out->public_key = resolve(v);
      if (key == "signing_key") out->signing_key = resolve(v);
      if (key == "sync" && v != "strict" && v != "batched" && v != "every-record") {
        return where() + "`sync` is `strict`, `batched` or `every-record`";
      }
    } else if (key == "checkpoint_every_records" || key == "checkpoint_interval_ms" ||
               key == "max_batch_delay_ms") {
      if (!is_integer) return where() + "`" + key + "` takes a non-negative integer";
    } else {
      return where() + "unknown key `" + key + "` in [audit]";
    }
  }
  return {};
}

struct AuditCommonOptions {
  std::string config;
  std::string log;
  std::string public_key;
};

// Resolves the log path and the trusted public key; prints the problem and returns false
// when they cannot be had.
bool ResolveAudit(const AuditCommonOptions& opts, std::string* log,
                  std::optional<crypto::Ed25519PublicKey>* key) {
  AuditConfig config;
  if (!opts.config.empty()) {
    std::string error = ReadAuditConfig(opts.config, &config);
    if (!error.empty()) {
      std::cerr << "fnjail: " << error << '\n';
      return false;
    }
  }
  *log = opts.log.empty() ? config.log : opts.log;
  if (log->empty()) {
    std::cerr << "fnjail: no audit log: set `path` in [audit] of --config, or --log\n";
    return false;
  }
  std::string pub_file = opts.public_key.empty() ? config.public_key : opts.public_key;
  if (!pub_file.empty()) {
    auto pem = crypto::ReadFileLimited(pub_file, 64 * 1024);
    auto pub = pem ? crypto::Ed25519PublicKey::FromPem(*pem)
                   : crypto::Result<crypto::Ed25519PublicKey>(tl::unexpected(pem.error()));
    if (!pub) {
      std::cerr << "fnjail: public key `" << pub_file << "`: " << pub.error().message() << '\n';
      return false;
    }
    *key = *pub;
    return true;
  }
  if (!config.signing_key.empty()) {
    auto pem = crypto::ReadFileLimited(config.signing_key, 64 * 1024);
    auto signing = pem ? crypto::Ed25519SigningKey::FromPem(*pem)
                       : crypto::Result<crypto::Ed25519SigningKey>(tl::unexpected(pem.error()));
    if (!signing) {
      std::cerr << "fnjail: signing key `" << config.signing_key
                << "`: " << signing.error().message() << '\n';
      return false;
    }
    *key = signing->public_key();
    return true;
  }
  std::cerr << "fnjail: no checkpoint key: set `public_key` in [audit] of --config, or "
               "--public-key\n";
  return false;
}

void PrintDamage(const std::string& log, const crypto::AuditVerifyReport& r) {
  std::cerr << "fnjail: audit log `" << log << "` is damaged at entry " << r.bad_index
            << " (offset " << r.bad_offset << "): " << r.problem << '\n';
}

// ---- audit verify ---------------------------------------------------------------------

struct AuditVerifyOptions {
  AuditCommonOptions common;
  std::vector<std::string> checkpoints;
};

int RunAuditVerify(const AuditVerifyOptions& opts) {
  std::string log;
  std::optional<crypto::Ed25519PublicKey> key;
  if (!ResolveAudit(opts.common, &log, &key)) return kExitBadInput;
  std::vector<crypto::AuditCheckpoint> expected;
  for (const auto& file : opts.checkpoints) {
    auto text = crypto::ReadFileLimited(file, 16 << 20);
    if (!text) {
      std::cerr << "fnjail: " << text.error().message() << '\n';
      return kExitBadInput;
    }
    std::istringstream lines(*text);
    std::string line;
    int line_no = 0;
    while (std::getline(lines, line)) {
      ++line_no;
      if (Trim(line).empty()) continue;
      auto cp = crypto::AuditCheckpoint::FromJson(line);
      if (!cp) {
        std::cerr << "fnjail: " << file << ":" << line_no << ": error: " << cp.error().message()
                  << '\n';
        return kExitBadInput;
      }
      expected.push_back(*cp);
    }
  }
  auto report = crypto::VerifyAuditLog(log, *key, expected);
  if (!report) {
    std::cerr << "fnjail: " << report.error().message() << '\n';
    return kExitBadInput;
  }
  if (!report->intact) {
    PrintDamage(log, *report);
    return kExitFailed;
  }
  std::cout << "ok: " << report->records << " records, " << report->checkpoints
            << " checkpoints";
  if (report->last_checkpoint) std::cout << ", last at entry " << report->last_checkpoint->seq;
  std::cout << ", " << report->unsealed_records << " records after it (unsealed)";
  if (!expected.empty()) std::cout << ", " << expected.size() << " exported checkpoints found";
  std::cout << '\n';
  return kExitOk;
}

// ---- audit show -----------------------------------------------------------------------

int RunAuditShow(const AuditCommonOptions& opts) {
  std::string log;
  std::optional<crypto::Ed25519PublicKey> key;
  if (!ResolveAudit(opts, &log, &key)) return kExitBadInput;
  auto report = crypto::VerifyAuditLog(log, *key, {}, [](uint64_t seq, std::string_view json) {
    nlohmann::ordered_json out;
    out["seq"] = seq;
    auto record = nlohmann::ordered_json::parse(json, nullptr, /*allow_exceptions=*/false);
    if (record.is_object()) {
      for (auto it = record.begin(); it != record.end(); ++it) out[it.key()] = it.value();
    } else {
      out["unparsable_record"] = true;
    }
    std::cout << out.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace)
              << '\n';
  });
  if (!report) {
    std::cerr << "fnjail: " << report.error().message() << '\n';
    return kExitBadInput;
  }
  if (!report->intact) {
    PrintDamage(log, *report);
    return kExitFailed;
  }
  return kExitOk;
}

// ---- audit checkpoint -----------------------------------------------------------------

int RunAuditCheckpoint(const AuditCommonOptions& opts) {
  std::string log;
  std::optional<crypto::Ed25519PublicKey> key;
  if (!ResolveAudit(opts, &log, &key)) return kExitBadInput;
  auto report = crypto::VerifyAuditLog(log, *key);
  if (!report) {
    std::cerr << "fnjail: " << report.error().message() << '\n';
    return kExitBadInput;
  }
  if (!report->intact) {
    PrintDamage(log, *report);
    return kExitFailed;
  }
  if (!report->last_checkpoint) {
    std::cerr << "fnjail: audit log `" << log << "` has no checkpoint yet\n";
    return kExitFailed;
  }
  std::cout << report->last_checkpoint->ToJson() << '\n';
  return kExitOk;
}

void AddAuditCommonOptions(CLI::App* cmd, AuditCommonOptions* opts) {
  cmd->add_option("--config", opts->config,
                  "Gateway configuration file; its [audit] section names the log and key");
  cmd->add_option("--log", opts->log, "The audit log file (overrides [audit] path)");
  cmd->add_option("--public-key", opts->public_key,
                  "Ed25519 checkpoint public key, PEM (overrides [audit] public_key)");
}

// ---- keys ---------------------------------------------------------------------------------

struct KeysOptions {
  std::string store;
  std::string pepper;
  std::string name;
  std::string id;
};

int RunKeysCreate(const KeysOptions& opts) {
  auto pepper = crypto::LoadPepperFile(opts.pepper);
  if (!pepper) {
    std::cerr << "fnjail: " << pepper.error().message() << '\n';
    return kExitBadInput;
  }
  auto store = crypto::ApiKeyStore::Load(opts.store);
  if (!store) {
    std::cerr << "fnjail: " << store.error().message() << '\n';
    return kExitBadInput;
  }
  auto created = store->Create(pepper->view(), opts.name, NowUnix());
  if (!created) {
    std::cerr << "fnjail: " << created.error().message() << '\n';
    return kExitFailed;
  }
  auto saved = store->Save(opts.store);
  if (!saved) {
    std::cerr << "fnjail: " << saved.error().message() << '\n';
    return kExitFailed;
  }
  std::cout << created->key << '\n';
  std::cerr << "fnjail: created key `" << created->info.id << "` (" << opts.name
            << "); it is shown only this once\n";
  return kExitOk;
}

int RunKeysList(const KeysOptions& opts) {
  auto store = crypto::ApiKeyStore::Load(opts.store);
  if (!store) {
    std::cerr << "fnjail: " << store.error().message() << '\n';
    return kExitBadInput;
  }
  for (const auto& k : store->keys()) {
    nlohmann::ordered_json line;
    line["id"] = k.id;
    line["name"] = k.name;
    line["created"] = k.created_at;
    line["revoked"] = k.revoked;
    std::cout << line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace)
              << '\n';
  }
  return kExitOk;
}

int RunKeysRevoke(const KeysOptions& opts) {
  auto store = crypto::ApiKeyStore::Load(opts.store);
  if (!store) {
    std::cerr << "fnjail: " << store.error().message() << '\n';
    return kExitBadInput;
  }
  auto revoked = store->Revoke(opts.id);
  if (!revoked) {
    std::cerr << "fnjail: " << revoked.error().message() << '\n';
    return kExitFailed;
  }
  auto saved = store->Save(opts.store);
  if (!saved) {
    std::cerr << "fnjail: " << saved.error().message() << '\n';
    return kExitFailed;
  }
  std::cerr << "fnjail: revoked key `" << opts.id << "`\n";
  return kExitOk;
}

}  // namespace

void RegisterTokenCommands(CLI::App& app, Runner* run) {
  auto* group = app.add_subcommand("token", "Inspect and verify bearer tokens (JWT)");
  group->require_subcommand(1);
  group->footer("The verification profile is described in docs/jwt.md.");

  auto verify = std::make_shared<TokenVerifyOptions>();
  auto* cmd = group->add_subcommand(
      "verify",
      "Verify a JWT exactly as the gateway does, and say why it is rejected.\n\n"
      "Checks TOKEN against the keys of a JWK set file (RFC 7517): the key is chosen by\n"
      "`kid` from that file only (`jku`, `x5u`, `jwk`, `x5c` are ignored) and must be\n"
      "bound to the token's algorithm (RS256, ES256, EdDSA or HS256; never `none`).\n"
      "Then `exp` (required), `nbf`, `iat`, the lifetime cap, `iss` and `aud` are checked.\n"
      "On success the claims are printed on stdout as JSON and a summary line on stderr;\n"
      "on failure one line `fnjail: token rejected: <reason>` on stderr.");
  cmd->add_option("--jwks", verify->jwks, "JWK set file with the verification keys")
      ->required();
  cmd->add_option("--issuer", verify->issuer, "Required `iss` value (not checked when unset)");
  cmd->add_option("--audience", verify->audiences,
                  "Accepted `aud` value; repeatable (not checked when unset)");
  cmd->add_option("--max-lifetime", verify->max_lifetime,
                  "Longest accepted lifetime in seconds, from `iat` (else `nbf`, else now)")
      ->default_val(24 * 3600)
      ->check(CLI::PositiveNumber);
  cmd->add_option("--clock-skew", verify->clock_skew,
                  "Seconds of clock skew allowed on exp, nbf and iat")
      ->default_val(60)
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--now", verify->now,
                  "Verify as of this time (seconds since the epoch) instead of the clock");
  cmd->add_option("TOKEN", verify->token, "The compact JWT, or `-` to read it from stdin")
      ->required();
  cmd->footer(
      "Exit status: 0 when the token is valid, 1 when it is rejected, 2 on bad usage or an\n"
      "unreadable or invalid JWK set.\n"
      "Example: fnjail token verify --jwks /etc/fnjail/jwks.json \\\n"
      "           --issuer https://idp.example --audience fnjail - < token.txt");
  cmd->callback([run, verify] { *run = [verify] { return RunTokenVerify(*verify); }; });
}

void RegisterAuditCommands(CLI::App& app, Runner* run) {
  auto* group = app.add_subcommand("audit", "Verify and read the tamper-evident audit log");
  group->require_subcommand(1);
  group->footer(
      "The log format, the guarantees and the [audit] configuration section are described\n"
      "in docs/audit.md. Paths in the configuration are relative to its folder.");

  auto verify = std::make_shared<AuditVerifyOptions>();
  auto* verify_cmd = group->add_subcommand(
      "verify",
      "Check that the audit log is intact.\n\n"
      "Reads every entry and checks its frame and CRC-32C, its sequence number, the SHA-256\n"
      "chain to the entry before, and every checkpoint's Ed25519 signature under the\n"
      "trusted public key. This detects any modified, inserted, deleted or reordered\n"
      "record. With --checkpoint, the log must also still hold each exported checkpoint,\n"
      "which detects a truncation or rewrite behind it. Prints a summary on success and\n"
      "the first bad entry's index, offset and problem on stderr otherwise.");
  AddAuditCommonOptions(verify_cmd, &verify->common);
  verify_cmd->add_option("--checkpoint", verify->checkpoints,
                         "File of exported checkpoints (JSON lines from `fnjail audit "
                         "checkpoint`); repeatable");
  verify_cmd->footer(
      "Exit status: 0 when the log is intact, 1 when it is damaged (the message names the\n"
      "first bad entry), 2 on bad usage or an unreadable configuration, key or log.\n"
      "Example: fnjail audit verify --config /etc/fnjail/fnjail.toml \\\n"
      "           --checkpoint /srv/offsite/fnjail-checkpoints.jsonl");
  verify_cmd->callback([run, verify] { *run = [verify] { return RunAuditVerify(*verify); }; });

  auto show = std::make_shared<AuditCommonOptions>();
  auto* show_cmd = group->add_subcommand(
      "show",
      "Print the audit records as JSON lines.\n\n"
      "Each record that verifies is printed on one line, `seq` first, then the record\n"
      "(time, request_id, actor, api, resources, src_endpoint, http_request, status,\n"
      "decision, metering). Records are checked as `audit verify` does; printing stops\n"
      "before the first bad entry, which is then reported on stderr.");
  AddAuditCommonOptions(show_cmd, show.get());
  show_cmd->footer(
      "Exit status: 0 when every entry verified, 1 when the log is damaged (records before\n"
      "the damage are printed), 2 on bad usage or an unreadable configuration, key or log.\n"
      "Example: fnjail audit show --config fnjail.toml | jq 'select(.decision.allowed == "
      "false)'");
  show_cmd->callback([run, show] { *run = [show] { return RunAuditShow(*show); }; });

  auto checkpoint = std::make_shared<AuditCommonOptions>();
  auto* cp_cmd = group->add_subcommand(
      "checkpoint",
      "Export the log's last signed checkpoint as one JSON line.\n\n"
      "Keep the output somewhere the gateway host cannot write; a later\n"
      "`fnjail audit verify --checkpoint FILE` proves the log only grew since. The log is\n"
      "verified first; nothing is printed for a damaged log.");
  AddAuditCommonOptions(cp_cmd, checkpoint.get());
  cp_cmd->footer(
      "Exit status: 0 when a checkpoint was printed, 1 when the log is damaged or has no\n"
      "checkpoint yet, 2 on bad usage or an unreadable configuration, key or log.\n"
      "Example: fnjail audit checkpoint --config fnjail.toml >> /mnt/offsite/checkpoints.jsonl");
  cp_cmd->callback(
      [run, checkpoint] { *run = [checkpoint] { return RunAuditCheckpoint(*checkpoint); }; });
}

void RegisterKeysCommands(CLI::App& app, Runner* run) {
  auto* group = app.add_subcommand("keys", "Create, list and revoke API keys");
  group->require_subcommand(1);
  group->footer(
      "A key is `fnjk_<id>_<secret>`. The store (a JSON file, mode 0600) keeps only the id,\n"
      "a name, the creation time, the revoked flag and HMAC-SHA256(pepper, key); the pepper\n"
      "is a server secret of 32+ random bytes in a file only its owner can read, e.g.\n"
      "`head -c 32 /dev/urandom > pepper && chmod 600 pepper`. See docs/auth.md.");

  auto create = std::make_shared<KeysOptions>();
  auto* create_cmd = group->add_subcommand(
      "create",
      "Create an API key and print it once.\n\n"
      "Draws a 256-bit random key, prints it on stdout (the only time it is ever shown),\n"
      "and adds its peppered hash to the store. Hand the key to its user now; it cannot\n"
      "be recovered, only revoked and replaced.");
  create_cmd->add_option("--store", create->store, "Key store file (created when missing)")
      ->required();
  create_cmd->add_option("--pepper", create->pepper, "Pepper file (mode 0600, 32+ bytes)")
      ->required();
  create_cmd->add_option("--name", create->name, "Who or what the key is for")->required();
  create_cmd->footer(
      "Exit status: 0 when the key was created and stored, 1 when it could not be stored,\n"
      "2 on bad usage, an unreadable store or a pepper file with loose permissions.\n"
      "Example: fnjail keys create --store /etc/fnjail/keys.json \\\n"
      "           --pepper /etc/fnjail/pepper --name \"ci deploy\" > ci.key");
  create_cmd->callback([run, create] { *run = [create] { return RunKeysCreate(*create); }; });

  auto list = std::make_shared<KeysOptions>();
  auto* list_cmd = group->add_subcommand(
      "list",
      "List the stored API keys as JSON lines.\n\n"
      "Prints one line per key: {\"id\", \"name\", \"created\", \"revoked\"}. Secrets are\n"
      "never stored, so never listed.");
  list_cmd->add_option("--store", list->store, "Key store file")->required();
  list_cmd->footer(
      "Exit status: 0 on success, 2 on bad usage or an unreadable store.\n"
      "Example: fnjail keys list --store /etc/fnjail/keys.json");
  list_cmd->callback([run, list] { *run = [list] { return RunKeysList(*list); }; });

  auto revoke = std::make_shared<KeysOptions>();
  auto* revoke_cmd = group->add_subcommand(
      "revoke",
      "Revoke an API key by its id.\n\n"
      "Marks the key revoked in the store; from then on it fails authentication. The\n"
      "entry is kept so the id stays reserved and the audit log stays readable.");
  revoke_cmd->add_option("--store", revoke->store, "Key store file")->required();
  revoke_cmd->add_option("ID", revoke->id, "The key id (the 12 hex digits after `fnjk_`)")
      ->required();
  revoke_cmd->footer(
      "Exit status: 0 when revoked, 1 when no key has that id or the store cannot be\n"
      "written, 2 on bad usage or an unreadable store.\n"
      "Example: fnjail keys revoke --store /etc/fnjail/keys.json 3f9a0c12d4e5");
  revoke_cmd->callback([run, revoke] { *run = [revoke] { return RunKeysRevoke(*revoke); }; });
}

}  // namespace fnjail::cli
