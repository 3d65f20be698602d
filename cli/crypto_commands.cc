// `fnjail token`: operator tools over the crypto library (JWT verification).
#include <chrono>
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

}  // namespace fnjail::cli
