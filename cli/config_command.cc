// `fnjail config check`: validates a gateway configuration and everything it names.
#include <iostream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "gateway/config.h"

namespace fnjail::cli {
namespace {

namespace gateway = ::fnjail::gateway;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;

std::string Count(size_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

int RunCheck(const std::string& path) {
  auto deployment = gateway::CheckConfig(path);
  const gateway::Diagnostics& findings = deployment ? deployment->warnings : deployment.error();
  size_t errors = 0;
  size_t warnings = 0;
  for (const gateway::Diagnostic& d : findings) {
    std::cerr << d.ToString() << '\n';
    (d.severity == policy::Severity::kError ? errors : warnings) += 1;
  }
  std::string summary = path + ": ";
  if (deployment) {
    const gateway::Config& c = deployment->config;
    const size_t authn = (c.auth.api_keys.enabled ? 1 : 0) + (c.auth.hmac.enabled ? 1 : 0) +
                         c.auth.jwt.size();
    summary += Count(deployment->functions.size(), "function", "functions") + ", " +
               Count(deployment->policy_files, "policy file", "policy files") + ", " +
               Count(authn, "authentication provider", "authentication providers") +
               " checked, ";
  }
  summary += Count(errors, "error", "errors") + ", " + Count(warnings, "warning", "warnings");
  std::cerr << summary << '\n';
  return deployment ? kExitOk : kExitFailed;
}

}  // namespace

void RegisterConfigCommands(CLI::App& app, Runner* run) {
  auto* group = app.add_subcommand(
      "config",
      "Check a gateway configuration (fnjail.toml)\n"
      "The configuration is described in docs/gateway-config.md.");
  group->require_subcommand(1);

  auto path = std::make_shared<std::string>();
  auto* check = group->add_subcommand(
      "check",
      "Validate a gateway configuration and everything it names\n"
      "Reads FILE (fnjail.toml) and reports every problem as `file:line:col: error: message`:\n"
      "unknown keys, wrong types, bad values and listen addresses, files that do not exist,\n"
      "secret files that group or others can access, a missing functions folder. Then loads\n"
      "what the file names, exactly as `fnjail serve` would: every function file, every\n"
      "policy (reported at its own position; lint findings are warnings), the API key store\n"
      "and pepper, the HMAC secrets, each JWKS, the audit signing key, the TLS certificate\n"
      "and key, and the secret store. Problems go to stderr, then a summary line.");
  check->add_option("--config", *path, "The gateway configuration file")
      ->required()
      ->option_text("FILE");
  check->footer(
      "Exit status: 0 when the configuration is valid (warnings allowed), 1 when it is not,\n"
      "2 on bad usage.\n"
      "Example: fnjail config check --config examples/quickstart/fnjail.toml");
  check->callback([run, path] { *run = [path] { return RunCheck(*path); }; });
}

}  // namespace fnjail::cli
