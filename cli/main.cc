// The fnjail binary: parses the command line and hands off to the libraries.
#include <cstdio>
#include <exception>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "fnjail_version.h"

namespace {

constexpr const char* kDescription =
    "fnjail: a self-hosted serverless platform: an authenticating, policy-authorizing\n"
    "gateway in front of functions that run in namespaced seccomp jails.\n"
    "\n"
    "Run `fnjail COMMAND --help` for the manual of a command.";

// Lists each subcommand by the first line of its description only; the full text is the
// opening of that command's own --help.
class ManualFormatter : public CLI::Formatter {
 public:
  std::string make_subcommand(const CLI::App* sub) const override {
    std::string summary = sub->get_description();
    summary = summary.substr(0, summary.find('\n'));
    std::ostringstream out;
    CLI::detail::format_help(out, sub->get_display_name(true), summary, get_column_width());
    return out.str();
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{kDescription, "fnjail"};
  app.formatter(std::make_shared<ManualFormatter>());
  app.require_subcommand(1);
  app.fallthrough(false);
  app.footer("Exit status: 0 on success, 1 when a check or test fails, 2 on bad usage or "
             "bad input.\nDocumentation: docs/ in the source tree.");

  fnjail::cli::Runner run;
  auto* version = app.add_subcommand("version", "Print the fnjail version and exit");
  version->callback([&run] {
    run = [] {
      std::cout << "fnjail " << FNJAIL_VERSION << '\n';
      return 0;
    };
  });
  fnjail::cli::RegisterPolicyCommands(app, &run);
  fnjail::cli::RegisterTokenCommands(app, &run);
  fnjail::cli::RegisterAuditCommands(app, &run);
  fnjail::cli::RegisterKeysCommands(app, &run);
  fnjail::cli::RegisterRunCommand(app, &run);
  fnjail::cli::RegisterProfileCommands(app, &run);
  fnjail::cli::RegisterSecretsCommands(app, &run);
  fnjail::cli::RegisterInvokeCommands(app, &run);
  fnjail::cli::RegisterConfigCommands(app, &run);
  fnjail::cli::RegisterServeCommand(app, &run);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  if (!run) {
    std::cerr << app.help();
    return 2;
  }
  try {
    return run();
  } catch (const std::exception& e) {
    std::cerr << "fnjail: internal error: " << e.what() << '\n';
    return 2;
  }
}
