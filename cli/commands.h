// Subcommand registration for the fnjail binary. Each file registers one command group.
#pragma once

#include <functional>
#include <vector>

namespace CLI {
class App;
}

namespace fnjail::cli {

// A registered command runs after parsing and returns the process exit code.
using Runner = std::function<int()>;

// Adds `policy` and its subcommands to `app`; the chosen one's runner is stored in `*run`.
void RegisterPolicyCommands(CLI::App& app, Runner* run);

// Adds `token` (JWT verification) and its subcommands; crypto_commands.cc.
void RegisterTokenCommands(CLI::App& app, Runner* run);

// Adds `audit` (verify, show, checkpoint export); crypto_commands.cc.
void RegisterAuditCommands(CLI::App& app, Runner* run);

// Adds `keys` (API keys: create, list, revoke); crypto_commands.cc.
void RegisterKeysCommands(CLI::App& app, Runner* run);

// Adds `run`: runs a command in a jail (sandbox/sandbox.h).
void RegisterRunCommand(CLI::App& app, Runner* run);

// Adds `profile` (learn a least-privilege profile); profile_command.cc.
void RegisterProfileCommands(CLI::App& app, Runner* run);

// Adds `secrets` (function secrets at rest: set, list, rm); secrets_command.cc.
void RegisterSecretsCommands(CLI::App& app, Runner* run);

// Adds `invoke` (run a function through its runtime) and `usage`; invoke_command.cc.
void RegisterInvokeCommands(CLI::App& app, Runner* run);

// Adds `config` (check a gateway configuration); config_command.cc.
void RegisterConfigCommands(CLI::App& app, Runner* run);

// Adds `serve` (the gateway); serve_command.cc.
void RegisterServeCommand(CLI::App& app, Runner* run);

}  // namespace fnjail::cli
