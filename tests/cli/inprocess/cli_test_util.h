// Runs a registered fnjail command in-process and captures its output and exit status.
#pragma once

#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/commands.h"

namespace fnjail::cli::testing {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Parses `args` (without the program name) with the commands `reg` adds, runs the chosen
// command with `input` as stdin, and returns what it printed. Parse errors give 2, as
// cli/main.cc does.
template <class Register>
CommandResult RunCommand(Register reg, const std::vector<std::string>& args,
                         const std::string& input = "") {
  CLI::App app{"fnjail", "fnjail"};
  app.require_subcommand(1);
  Runner run;
  reg(app, &run);
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  CommandResult result;
  std::ostringstream out;
  std::ostringstream err;
  std::istringstream in(input);
  auto* old_out = std::cout.rdbuf(out.rdbuf());
  auto* old_err = std::cerr.rdbuf(err.rdbuf());
  auto* old_in = std::cin.rdbuf(in.rdbuf());
  try {
    app.parse(reversed);
    result.exit_code = run ? run() : 2;
  } catch (const CLI::ParseError& e) {
    result.exit_code = e.get_exit_code() == 0 ? 0 : 2;
    err << e.what();
  }
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  std::cin.rdbuf(old_in);
  result.out = out.str();
  result.err = err.str();
  return result;
}

}  // namespace fnjail::cli::testing
