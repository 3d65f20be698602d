// `fnjail profile learn`: runs a command in a learning jail and prints the smallest profile
// that lets it run.
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/run_options.h"
#include "sandbox/sandbox.h"

namespace fnjail::cli {
namespace {

constexpr const char* kLearnDescription =
    "Learn a least-privilege profile: run a command and print the smallest profile that\n"
    "lets it do what it just did.\n"
    "\n"
    "CMD runs in the jail `fnjail run` would build from the same options, except that the\n"
    "seccomp allowlist does not kill: every syscall stops in the launcher (SECCOMP_RET_TRACE\n"
    "through its ptrace monitor), which records it, and the paths it names, and lets it run.\n"
    "Always-denied syscalls (io_uring, bpf, mount, ptrace, namespace flags to clone, TIOCSTI,\n"
    "...) fail with EPERM instead of killing: they are reported, never granted.\n"
    "\n"
    "The profile (docs/function-profile.md) allows exactly the syscalls used (preset\n"
    "`minimal` plus `allow` minus `deny`), binds only what the command's absolute paths went\n"
    "through (symlinks followed, ELF and #! interpreters included, plus the working\n"
    "directory's bind), drops /tmp unless used, and keeps the options given here. Feed it to\n"
    "`fnjail run --profile`. It covers the code paths this run took, no others: learn with\n"
    "representative input, and review the result.\n"
    "\n"
    "The command's stdout and stderr go to stderr, so that stdout holds only the profile\n"
    "(with --output, stdout passes through). Syscall-by-syscall tracing makes the run much\n"
    "slower than `fnjail run`; raise --timeout-ms for long commands.\n";

constexpr const char* kLearnFooter =
    "Exit status: as `fnjail run`: the command's own, or 128+N when signal N ended it, or\n"
    "125 when the jail could not be set up (nothing learned then); 2 on a usage error or\n"
    "when the profile cannot be written. The profile is written whatever the command's\n"
    "status, with a comment when it did not exit 0.\n"
    "\n"
    "Examples:\n"
    "  fnjail profile learn -- /bin/ls /usr > ls.toml\n"
    "  fnjail run --profile ls.toml -- /bin/ls /usr\n"
    "  fnjail profile learn --ro-bind ./app:/app --output app.toml -- /app/server --selftest\n"
    "\n"
    "See docs/sandbox.md (\"Learning a profile\").";

struct LearnFlags {
  RunFlags jail;
  std::string output;
};

int Learn(const LearnFlags& flags) {
  auto spec = BuildSpec(flags.jail);
  if (!spec) return 2;
  sandbox::RunIo io;
  io.stdout_fd = flags.output.empty() ? 2 : 1;
  auto report = sandbox::Learn(*spec, io);
  if (!report) {
    std::cerr << "fnjail: setup failed: " << report.error().ToString() << '\n';
    return kSetupFailureStatus;
  }
  const sandbox::Outcome& o = report->outcome;
  std::string profile = sandbox::LearnedProfileToml(*spec, *report);
  if (o.kind != sandbox::Outcome::Kind::kExited || o.exit_code != 0) {
    profile = "# The learning run ended with " + std::string(sandbox::OutcomeKindName(o.kind)) +
              " (status " + std::to_string(o.ShellStatus()) + "): paths after it are missing.\n" +
              profile;
  }
  for (const std::string& d : report->denied) {
    std::cerr << "fnjail: refused always-denied `" << d << "` (answered EPERM, not granted)\n";
  }
  if (o.kind != sandbox::Outcome::Kind::kExited && o.kind != sandbox::Outcome::Kind::kSignaled) {
    std::cerr << "fnjail: the command was killed (" << sandbox::OutcomeKindName(o.kind) << ")\n";
  }
  if (flags.output.empty()) {
    std::cout << profile << std::flush;
  } else {
    std::ofstream out(flags.output, std::ios::trunc);
    out << profile;
    out.close();
    if (!out) {
      std::cerr << "fnjail: cannot write `" << flags.output << "`\n";
      return 2;
    }
  }
  std::cerr << "fnjail: learned " << report->syscalls.size() << " syscalls and "
            << report->binds.size() << " binds\n";
  return o.ShellStatus();
}

}  // namespace

void RegisterProfileCommands(CLI::App& app, Runner* run) {
  CLI::App* profile = app.add_subcommand("profile", "Work with function profiles");
  profile->require_subcommand(1);
  auto flags = std::make_shared<LearnFlags>();
  CLI::App* learn =
      profile->add_subcommand("learn", "Run a command and print the smallest profile it needs");
  learn->description(kLearnDescription);
  learn->footer(kLearnFooter);
  AddJailOptions(learn, &flags->jail);
  learn->add_option("-o,--output", flags->output, "Write the profile to FILE, not stdout")
      ->option_text("FILE.toml");
  learn->callback([flags, run] {
    *run = [flags] { return Learn(*flags); };
  });
}

}  // namespace fnjail::cli
