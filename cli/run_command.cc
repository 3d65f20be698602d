// `fnjail run`: runs one command in a jail built from a profile and/or flags.
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/run_options.h"
#include "sandbox/sandbox.h"

namespace fnjail::cli {
namespace {

constexpr const char* kRunDescription =
    "Run a command in a jail.\n"
    "\n"
    "CMD runs in new user (an unprivileged id on the host), pid, mount, network, IPC,\n"
    "UTS and cgroup namespaces; a read-only root holding only the binds; no capabilities,\n"
    "no_new_privs, a seccomp allowlist installed last (kill on anything else); cgroup\n"
    "memory/pids/CPU limits; a wall-clock deadline and an output cap that kill the jail.\n"
    "\n"
    "With no flags the jail is the strictest one that runs a dynamically linked program\n"
    "from /usr: read-only /usr, /lib*, /bin, /sbin and /etc/ld.so.cache; no network; a\n"
    "64 MiB tmpfs /tmp; 256 MiB memory, 64 pids, 30 s, 1 MiB of output; an empty\n"
    "environment (CMD is still looked up in /usr/local/bin:/usr/bin:/bin).\n"
    "\n"
    "stdin, stdout and stderr pass through (stdout and stderr together are capped).\n"
    "Flags override the profile.\n";

constexpr const char* kRunFooter =
    "Exit status: the command's own, or 128+N when signal N ended it (a seccomp violation\n"
    "is 128+SIGSYS; timeout, memory, pids and output limits are 128+SIGKILL), or 125 when\n"
    "the jail could not be set up (the reason is printed as `fnjail: setup failed: ...`).\n"
    "\n"
    "--report FILE.json writes one JSON object:\n"
    "  {\"outcome\": \"exited|signaled|timeout|oom|pids|seccomp|output-limit|setup-failure\",\n"
    "   \"exit_code\": N, \"signal\": N, \"syscall\": \"name\", \"wall_ms\": N, \"cpu_ms\": N,\n"
    "   \"max_rss_kb\": N}\n"
    "plus \"step\" and \"error\" for a setup failure.\n"
    "\n"
    "Examples:\n"
    "  fnjail run -- /bin/echo hello\n"
    "  fnjail run --profile fn.toml --timeout-ms 500 --report out.json -- python3 main.py\n"
    "  fnjail run --ro-bind ./app:/app --net loopback --env PORT=8080 -- /app/server\n"
    "\n"
    "See docs/function-profile.md for profiles and docs/sandbox.md for the threat model.";

struct RunCommandFlags {
  RunFlags jail;
  std::string report;
};

// Adds `SRC[:DST]` binds; a relative SRC is taken from the current directory.
void AddBinds(sandbox::SandboxBuilder& b, const std::vector<std::string>& specs, bool writable) {
  for (const std::string& spec : specs) {
    const size_t colon = spec.find(':');
    std::string src = spec.substr(0, colon);
    std::string dst = colon == std::string::npos ? std::string() : spec.substr(colon + 1);
    std::error_code ec;
    const std::filesystem::path abs = std::filesystem::absolute(src, ec);
    if (!ec) src = abs.lexically_normal().string();
    if (src.size() > 1 && src.back() == '/') src.pop_back();
    if (dst.empty()) dst = src;
    if (writable) {
      b.WritableBind(src, dst);
    } else {
      b.ReadOnlyBind(src, dst);
    }
  }
}

bool WriteReport(const std::string& path, const nlohmann::json& report) {
  std::ofstream out(path, std::ios::trunc);
  out << report.dump() << '\n';
  out.close();
  if (!out) {
    std::cerr << "fnjail: cannot write report `" << path << "`\n";
    return false;
  }
  return true;
}

}  // namespace

std::optional<sandbox::SandboxSpec> BuildSpec(const RunFlags& f) {
  sandbox::SandboxSpec base;
  base.binds = sandbox::DefaultSystemBinds();
  std::optional<sandbox::Profile> profile;
  if (!f.profile.empty()) {
    auto loaded = sandbox::LoadProfile(f.profile);
    if (!loaded) {
      std::cerr << loaded.error().detail << '\n';
      return std::nullopt;
    }
    profile = std::move(*loaded);
    base = profile->spec;
  }
  sandbox::SandboxBuilder b(std::move(base));
  if (profile) {
    // SECURITY: dangerous switches are honoured only when the profile spells them out, and
    // always announced.
    if (profile->host_network) {
      std::cerr << "fnjail: warning: profile `" << f.profile
                << "` shares the host network ([dangerous] host_network)\n";
      b.ShareHostNetwork(sandbox::MintDangerousToken());
    }
    for (const std::string& name : profile->dangerous_syscalls) {
      std::cerr << "fnjail: warning: profile `" << f.profile << "` lifts the always-denied `"
                << name << "` ([dangerous] allow_syscalls)\n";
      b.AllowDangerousSyscall(name, sandbox::MintDangerousToken());
    }
  }
  if (!f.preset.empty()) b.Preset(f.preset);
  AddBinds(b, f.ro_binds, false);
  AddBinds(b, f.rw_binds, true);
  if (f.tmpfs_mb) b.TmpfsSize(*f.tmpfs_mb << 20);
  if (f.memory_mb) b.MemoryLimit(*f.memory_mb << 20);
  if (f.pids) b.PidsLimit(*f.pids);
  if (f.timeout_ms) b.Timeout(*f.timeout_ms);
  if (f.cpu_ms) b.CpuTime(*f.cpu_ms);
  if (f.output_limit_kb) b.OutputLimit(*f.output_limit_kb << 10);
  if (f.net == "none") b.Network(sandbox::NetworkMode::kNone);
  if (f.net == "loopback") b.Network(sandbox::NetworkMode::kLoopback);
  for (const std::string& kv : f.env) {
    const size_t eq = kv.find('=');
    b.Env(kv.substr(0, eq), eq == std::string::npos ? std::string() : kv.substr(eq + 1));
  }
  if (f.rlimits_only) b.AcceptRlimitsOnly();
  b.Command(f.command);
  auto spec = b.TryBuild();
  if (!spec) {
    std::cerr << "fnjail: invalid jail: " << spec.error().detail << '\n';
    return std::nullopt;
  }
  return std::move(*spec);
}

namespace {

int Execute(const RunCommandFlags& flags) {
  const RunFlags& f = flags.jail;
  nlohmann::json report;
  auto spec = BuildSpec(f);
  if (!spec) return 2;
  auto outcome = sandbox::Run(*spec);
  if (!outcome) {
    const sandbox::Error& e = outcome.error();
    std::cerr << "fnjail: setup failed: " << e.ToString() << '\n';
    if (!flags.report.empty()) {
      report = {{"outcome", "setup-failure"},
                {"step", std::string(sandbox::StepName(e.step))},
                {"error", e.ToString()}};
      WriteReport(flags.report, report);
    }
    return kSetupFailureStatus;
  }
  const sandbox::Outcome& o = *outcome;
  if (!flags.report.empty()) {
    report = {{"outcome", std::string(sandbox::OutcomeKindName(o.kind))},
              {"exit_code", o.exit_code},
              {"signal", o.signal},
              {"syscall", o.syscall},
              {"wall_ms", o.wall_ms},
              {"cpu_ms", o.cpu_ms},
              {"max_rss_kb", o.max_rss_kb}};
    WriteReport(flags.report, report);
  }
  switch (o.kind) {
    case sandbox::Outcome::Kind::kExited:
    case sandbox::Outcome::Kind::kSignaled:
      break;
    case sandbox::Outcome::Kind::kSeccompViolation:
      std::cerr << "fnjail: killed: forbidden syscall `" << o.syscall << "`\n";
      break;
    case sandbox::Outcome::Kind::kTimeout:
      std::cerr << "fnjail: killed: deadline of " << spec->limits.timeout_ms << " ms passed\n";
      break;
    case sandbox::Outcome::Kind::kOomKilled:
      std::cerr << "fnjail: killed: memory limit of " << (spec->limits.memory_bytes >> 20)
                << " MiB reached\n";
      break;
    case sandbox::Outcome::Kind::kPidsLimit:
      std::cerr << "fnjail: killed: pids limit of " << spec->limits.pids << " reached\n";
      break;
    case sandbox::Outcome::Kind::kOutputLimit:
      std::cerr << "\nfnjail: killed: output limit of " << (spec->limits.output_bytes >> 10)
                << " KiB reached\n";
      break;
  }
  return o.ShellStatus();
}

}  // namespace

void AddJailOptions(CLI::App* cmd, RunFlags* flags) {
  cmd->add_option("--profile", flags->profile, "Function profile (TOML) to start from")
      ->option_text("FILE.toml");
  cmd->add_option("--preset", flags->preset,
                  "Syscall preset: minimal, lua, exec-default (default), python")
      ->option_text("NAME");
  cmd->add_option("--ro-bind", flags->ro_binds, "Bind SRC read-only at DST (default: SRC)")
      ->option_text("SRC[:DST]");
  cmd->add_option("--rw-bind", flags->rw_binds,
                  "Bind SRC writable (but not executable) at DST (default: SRC)")
      ->option_text("SRC[:DST]");
  cmd->add_option("--tmpfs-mb", flags->tmpfs_mb, "Size of the tmpfs /tmp; 0 for none (64)")
      ->option_text("N");
  cmd->add_option("--memory-mb", flags->memory_mb, "Memory limit (256)")
      ->option_text("N")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--pids", flags->pids, "Process/thread limit (64)")
      ->option_text("N")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--timeout-ms", flags->timeout_ms, "Wall-clock deadline (30000)")
      ->option_text("N")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--cpu-ms", flags->cpu_ms, "CPU time limit, rounded up to seconds (none)")
      ->option_text("N");
  cmd->add_option("--output-limit-kb", flags->output_limit_kb,
                  "Cap on stdout+stderr together (1024)")
      ->option_text("N")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--net", flags->net,
                  "none: empty network namespace, AF_UNIX only (default); loopback: own "
                  "`lo` with AF_INET/AF_INET6")
      ->check(CLI::IsMember({"none", "loopback"}))
      ->option_text("none|loopback");
  cmd->add_option("--env", flags->env, "Set K=V in the otherwise empty environment")
      ->option_text("K=V");
  cmd->add_flag("--rlimits-only", flags->rlimits_only,
                "Run even without a usable cgroup, with rlimits standing in for the memory "
                "and pids limits (coarser)");
  cmd->add_option("command", flags->command, "The command and its arguments, after --")
      ->required()
      ->option_text("-- CMD [ARGS...]");
}

void RegisterRunCommand(CLI::App& app, Runner* run) {
  auto flags = std::make_shared<RunCommandFlags>();
  CLI::App* cmd = app.add_subcommand("run", "Run a command in a jail");
  cmd->description(kRunDescription);
  cmd->footer(kRunFooter);
  AddJailOptions(cmd, &flags->jail);
  cmd->add_option("--report", flags->report, "Write the outcome as JSON to FILE")
      ->option_text("FILE.json");
  cmd->callback([flags, run] {
    *run = [flags] { return Execute(*flags); };
  });
}

}  // namespace fnjail::cli
