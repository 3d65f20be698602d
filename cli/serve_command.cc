// `fnjail serve`: runs the gateway (gateway/service.h) until SIGTERM or SIGINT.
#include <chrono>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "gateway/service.h"

namespace fnjail::cli {
namespace {

struct ServeArgs {
  std::string config;
  uint64_t drain_timeout_ms = 30'000;
  uint64_t watch_interval_ms = 1'000;
};

int RunServe(const ServeArgs& args) {
  gateway::ServiceOptions options;
  options.config_path = args.config;
  options.drain_timeout = std::chrono::milliseconds(args.drain_timeout_ms);
  return gateway::RunService(std::move(options),
                             std::chrono::milliseconds(args.watch_interval_ms));
}

}  // namespace

void RegisterServeCommand(CLI::App& app, Runner* run) {
  auto args = std::make_shared<ServeArgs>();
  auto* serve = app.add_subcommand(
      "serve",
      "Run the gateway: authenticated, validated, policy-authorized, audited invocations\n"
      "Loads FILE (fnjail.toml; docs/gateway-config.md) and everything it names, exactly as\n"
      "`fnjail config check` does, and refuses to start on any problem. Then starts the\n"
      "functions' execution environments (jails), opens the audit log, and serves HTTP/1.1\n"
      "(HTTPS when [server.tls] is set) on the configured addresses: POST\n"
      "/v1/functions/{name}/invoke, the routes functions declare, GET /healthz, GET /readyz\n"
      "and GET /metrics (docs/gateway.md).\n"
      "\n"
      "SIGHUP, or a change to the configuration, a function file, a policy or a key file\n"
      "(checked every --watch-interval-ms), reloads: configuration, functions and policies\n"
      "swap at once; a version with any problem is refused whole, its problems logged, and\n"
      "the running one kept. SIGTERM or SIGINT stops: no new connections, requests in flight\n"
      "finish (up to --drain-timeout-ms), the audit log is sealed with a final signed\n"
      "checkpoint. Logs are JSON lines on stderr and never carry secrets.");
  serve->add_option("--config", args->config, "The gateway configuration file")
      ->required()
      ->option_text("FILE");
  serve->add_option("--drain-timeout-ms", args->drain_timeout_ms,
                    "How long a stop waits for requests in flight (default 30000)")
      ->option_text("MS");
  serve->add_option("--watch-interval-ms", args->watch_interval_ms,
                    "How often watched files are checked for changes; 0: only SIGHUP reloads "
                    "(default 1000)")
      ->option_text("MS");
  serve->footer(
      "Exit status: 0 after a clean stop (requests drained, final checkpoint written), 1 when\n"
      "the configuration does not check, the gateway cannot start, or the stop was not clean,\n"
      "2 on bad usage.\n"
      "Example: fnjail serve --config examples/quickstart/fnjail.toml");
  serve->callback([run, args] { *run = [args] { return RunServe(*args); }; });
}

}  // namespace fnjail::cli
