// `fnjail invoke` (run a function through its runtime in a jail, as the gateway does) and
// `fnjail usage` (sum invocation metering from the audit log).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "crypto/crypto.h"
#include "gateway/config.h"
#include "runtime/function.h"
#include "runtime/pool.h"
#include "sandbox/sandbox.h"

namespace fnjail::cli {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFunctionError = 1;
constexpr int kExitPlatformError = 2;

// ---- invoke ---------------------------------------------------------------------------

constexpr const char* kInvokeDescription =
    "Invoke a function once (or more) through its runtime in a jail, as the gateway does.\n"
    "\n"
    "The function comes from its file (--function FILE.toml, see docs/runtimes.md) or from\n"
    "a handler alone: --runtime lua --handler FILE.lua (the folder holding the file is\n"
    "bound read-only), or --runtime exec --handler PROGRAM [--arg ARG]... (its folder\n"
    "too; --mode persistent for the framed protocol). Profile options as in `fnjail run`\n"
    "adjust the jail (they override the function file's profile).\n"
    "\n"
    "The event is read from --event FILE, or stdin with --event - (default: `{}`). The\n"
    "first invocation starts an environment (cold); --repeat N then runs N more in that\n"
    "same warm environment. The response body of the last invocation is printed on\n"
    "stdout; the function's log lines and any error go to stderr.\n";

constexpr const char* kInvokeFooter =
    "Exit status: 0 when the function answered, 1 on a function error (the handler\n"
    "reported or raised one; `type: message` on stderr), 2 on a platform error: the\n"
    "function could not be loaded or its jail set up, it ran past its deadline, broke its\n"
    "seccomp filter, ran out of memory or crashed (the reason on stderr), or bad usage.\n"
    "\n"
    "--report FILE.json writes one JSON object:\n"
    "  {\"outcome\": \"ok|function-error|timeout|seccomp|oom|pids|output-limit|crashed|\n"
    "               protocol|start-failed|setup-failure\",\n"
    "   \"status\": N, \"error\": \"...\", \"syscall\": \"name\", \"invocations\": N,\n"
    "   \"wall_ms\": N, \"cpu_ms\": N, \"init_ms\": N, \"cold_ms\": N, \"warm_p50_ms\": N,\n"
    "   \"warm_p99_ms\": N, \"billed_ms\": N, \"max_rss_kb\": N}\n"
    "cold_ms is the first invocation as its caller saw it (environment start included),\n"
    "warm_p50_ms/warm_p99_ms the percentiles of the --repeat ones (0 without), billed_ms\n"
    "the billed milliseconds of all, max_rss_kb the environment's peak memory.\n"
    "\n"
    "Examples:\n"
    "  fnjail invoke --function examples/functions/python-graph/function.toml \\\n"
    "      --event examples/functions/python-graph/event.json\n"
    "  echo '{\"name\":\"you\"}' | fnjail invoke --runtime lua --handler hello.lua --event -\n"
    "  fnjail invoke --runtime exec --handler ./main.py --memory-mb 64 --repeat 100 \\\n"
    "      --report out.json\n"
    "\n"
    "See docs/invoke.md for pools and metering, docs/runtimes.md for the runtimes.";

struct InvokeFlags {
  std::string function_file;
  std::string runtime;
  std::string handler;
  std::vector<std::string> args;
  std::string mode;
  std::string event;
  uint32_t repeat = 0;
  std::string report;
  std::string principal = "cli";
  // Profile options, as `fnjail run`.
  std::string profile;
  std::string preset;
  std::vector<std::string> ro_binds;
  std::vector<std::string> rw_binds;
  std::optional<uint64_t> tmpfs_mb;
  std::optional<uint64_t> memory_mb;
  std::optional<uint32_t> pids;
  std::optional<uint64_t> timeout_ms;
  std::optional<uint64_t> cpu_ms;
  std::optional<uint64_t> output_limit_kb;
  std::string net;
  std::vector<std::string> env;
  bool rlimits_only = false;
};

bool WriteJson(const std::string& path, const nlohmann::ordered_json& value) {
  std::ofstream out(path, std::ios::trunc);
  out << value.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << '\n';
  out.close();
  if (!out) {
    std::cerr << "fnjail: cannot write report `" << path << "`\n";
    return false;
  }
  return true;
}

// An absolute, normalized form of `path` (relative to the working directory).
std::string Absolute(const std::string& path) {
  std::error_code ec;
  const std::filesystem::path abs = std::filesystem::absolute(path, ec);
  std::string s = ec ? path : abs.lexically_normal().string();
  if (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

// `SRC[:DST]` binds onto `spec`.
void AddSpecBinds(sandbox::SandboxSpec& spec, const std::vector<std::string>& specs,
                  bool writable) {
  for (const std::string& b : specs) {
    const size_t colon = b.find(':');
    const std::string src = Absolute(b.substr(0, colon));
    std::string dst = colon == std::string::npos ? std::string() : b.substr(colon + 1);
    if (dst.empty()) dst = src;
    spec.binds.push_back(sandbox::Bind{src, dst, writable});
  }
}

// Applies the profile options to the function's jail profile; false (after a message) when
// --profile cannot be loaded.
bool ApplyProfileFlags(const InvokeFlags& f, runtime::FunctionSpec& fn) {
  sandbox::SandboxSpec& spec = fn.profile.spec;
  if (!f.profile.empty()) {
    auto loaded = sandbox::LoadProfile(f.profile);
    if (!loaded) {
      std::cerr << loaded.error().detail << '\n';
      return false;
    }
    fn.profile = std::move(*loaded);
  }
  if (!f.preset.empty()) spec.syscalls.preset = f.preset;
  AddSpecBinds(spec, f.ro_binds, false);
  AddSpecBinds(spec, f.rw_binds, true);
  if (f.tmpfs_mb) spec.limits.tmpfs_bytes = *f.tmpfs_mb << 20;
  if (f.memory_mb) spec.limits.memory_bytes = *f.memory_mb << 20;
  if (f.pids) spec.limits.pids = *f.pids;
  if (f.cpu_ms) spec.limits.cpu_ms = *f.cpu_ms;
  if (f.output_limit_kb) spec.limits.output_bytes = *f.output_limit_kb << 10;
  if (f.timeout_ms) fn.timeout_ms = *f.timeout_ms;
  if (f.net == "none") spec.network = sandbox::NetworkMode::kNone;
  if (f.net == "loopback") spec.network = sandbox::NetworkMode::kLoopback;
  for (const std::string& kv : f.env) spec.env.push_back(kv.find('=') == std::string::npos
                                                            ? kv + "="
                                                            : kv);
  if (f.rlimits_only) spec.cgroup = sandbox::CgroupMode::kRlimitsOnly;
  return true;
}

// A function name made from a handler's file name: lower-case, [a-z0-9_-] only.
std::string NameFromHandler(const std::string& handler) {
  std::string stem = std::filesystem::path(handler).stem().string();
  std::string name;
  for (char c : stem) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (name.size() < 64) name.push_back(ok ? c : '-');
  }
  if (name.empty() || name.front() == '_' || name.front() == '-') name.insert(0, "fn");
  return name.substr(0, 64);
}

// A TOML basic string holding `s` (JSON's escapes are TOML's for ASCII and the BMP).
std::string TomlString(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', /*ensure_ascii=*/true,
                                nlohmann::json::error_handler_t::replace);
}

bool UnderSystemDir(const std::string& path) {
  for (const char* dir : {"/usr/", "/bin/", "/sbin/", "/lib/", "/lib64/"}) {
    if (path.rfind(dir, 0) == 0) return true;
  }
  return false;
}

// The function to invoke: its file, or one made from --runtime and --handler, read by the
// same parser (and so checked the same way) as a function file.
std::optional<runtime::FunctionSpec> LoadInvokedFunction(const InvokeFlags& f) {
  if (!f.function_file.empty()) {
    if (!f.runtime.empty() || !f.handler.empty() || !f.args.empty() || !f.mode.empty()) {
      std::cerr << "fnjail: --function takes the runtime and handler from the file: drop "
                   "--runtime, --handler, --arg and --mode\n";
      return std::nullopt;
    }
    auto fn = runtime::LoadFunction(f.function_file);
    if (!fn) {
      std::cerr << fn.error().message << '\n';
      return std::nullopt;
    }
    return std::move(*fn);
  }
  if (f.runtime.empty() || f.handler.empty()) {
    std::cerr << "fnjail: give --function FILE.toml, or --runtime lua|exec and --handler PATH\n";
    return std::nullopt;
  }
  if (f.runtime == "lua" && (!f.args.empty() || !f.mode.empty())) {
    std::cerr << "fnjail: --arg and --mode are for --runtime exec\n";
    return std::nullopt;
  }
  // A handler in a system folder (e.g. /usr/bin/python3) runs as it is; any other is bound
  // read-only with the folder holding it, which is also the working directory.
  const std::string handler = Absolute(f.handler);
  const bool system = f.runtime == "exec" && UnderSystemDir(handler);
  const std::filesystem::path anchor =
      system ? std::filesystem::current_path() / "invoke.toml"
             : std::filesystem::path(handler).parent_path() / "invoke.toml";
  std::ostringstream toml;
  toml << "name = " << TomlString(NameFromHandler(handler)) << "\n"
       << "runtime = " << TomlString(f.runtime) << "\n"
       << "handler = "
       << TomlString(system ? handler : std::filesystem::path(handler).filename().string())
       << "\n";
  if (f.runtime == "exec") {
    toml << "mode = " << TomlString(f.mode.empty() ? "simple" : f.mode) << "\n";
    toml << "args = [";
    for (size_t i = 0; i < f.args.size(); ++i) toml << (i ? ", " : "") << TomlString(f.args[i]);
    toml << "]\n";
  }
  auto fn = runtime::ParseFunctionToml(toml.str(), anchor.string());
  if (!fn) {
    // The messages point into the made-up file: say what was made up instead.
    std::cerr << "fnjail: --handler `" << f.handler << "`: " << fn.error().message << '\n';
    return std::nullopt;
  }
  fn->file.clear();
  return std::move(*fn);
}

std::optional<std::string> ReadEvent(const std::string& source) {
  if (source.empty()) return std::string("{}");
  std::string text;
  if (source == "-") {
    std::ostringstream in;
    in << std::cin.rdbuf();
    text = in.str();
  } else {
    std::ifstream in(source, std::ios::binary);
    if (!in) {
      std::cerr << "fnjail: cannot read the event `" << source << "`\n";
      return std::nullopt;
    }
    std::ostringstream s;
    s << in.rdbuf();
    text = s.str();
  }
  if (text.size() > runtime::kMaxEventBytes) {
    std::cerr << "fnjail: the event is larger than " << (runtime::kMaxEventBytes >> 20)
              << " MiB\n";
    return std::nullopt;
  }
  return text;
}

double Millis(std::chrono::steady_clock::duration d) {
  return std::round(std::chrono::duration<double, std::milli>(d).count() * 1000.0) / 1000.0;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

int RunInvoke(const InvokeFlags& f) {
  std::optional<runtime::FunctionSpec> fn = LoadInvokedFunction(f);
  if (!fn || !ApplyProfileFlags(f, *fn)) return kExitPlatformError;
  std::optional<std::string> event = ReadEvent(f.event);
  if (!event) return kExitPlatformError;
  // One environment, kept for the repeats; nothing pre-started, so the first is cold.
  fn->pool.min_idle = 0;
  fn->pool.prewarm = 0;
  fn->pool.max_concurrency = 1;
  fn->concurrency = 1;
  fn->pool.max_invocations = 0;
  fn->pool.per_principal = false;
  fn->pool.idle_ttl_ms = 24ull * 3600 * 1000;

  nlohmann::ordered_json report;
  auto setup_failure = [&](const runtime::Error& e) {
    std::cerr << "fnjail: " << e.message << '\n';
    if (!f.report.empty()) {
      report = {{"outcome", "setup-failure"}, {"error", e.message}};
      WriteJson(f.report, report);
    }
    return kExitPlatformError;
  };
  runtime::EnvironmentsOptions options;
  const sandbox::DangerousToken token = sandbox::MintDangerousToken();
  // SECURITY: dangerous switches are honoured only when the profile spells them out, and
  // always announced, as `fnjail run` does.
  if (fn->profile.host_network) {
    std::cerr << "fnjail: warning: function `" << fn->name
              << "` shares the host network ([dangerous] host_network)\n";
  }
  for (const std::string& name : fn->profile.dangerous_syscalls) {
    std::cerr << "fnjail: warning: function `" << fn->name << "` lifts the always-denied `"
              << name << "` ([dangerous] allow_syscalls)\n";
  }
  options.dangerous = &token;
  auto environments = runtime::Environments::Create(std::move(options));
  if (!environments) return setup_failure(environments.error());
  if (auto deployed = (*environments)->Deploy(*fn); !deployed) {
    return setup_failure(deployed.error());
  }

  runtime::Invocation inv;
  inv.function = fn->name;
  inv.deadline_ms = fn->timeout_ms;
  inv.principal_id = f.principal;
  inv.event = std::move(*event);

  std::vector<double> warm_ms;
  double cold_ms = 0;
  uint64_t billed_ms = 0, cpu_ms = 0, max_rss_kb = 0, init_ms = 0, invocations = 0;
  const auto begin = std::chrono::steady_clock::now();
  std::optional<runtime::InvokeResult> last;
  std::optional<runtime::Error> failure;
  runtime::Metering failed;
  for (uint32_t i = 0; i <= f.repeat; ++i) {
    inv.request_id = "invoke-" + std::to_string(getpid()) + "-" + std::to_string(i + 1);
    const auto t0 = std::chrono::steady_clock::now();
    runtime::Metering m;
    auto r = (*environments)->Invoke(fn->name, inv, &m);
    const double took = Millis(std::chrono::steady_clock::now() - t0);
    ++invocations;
    billed_ms += m.billed_ms;
    cpu_ms += m.cpu_ms;
    max_rss_kb = std::max(max_rss_kb, m.peak_memory_kb);
    if (m.cold) init_ms = m.init_ms;
    if (i == 0) {
      cold_ms = took;
    } else {
      warm_ms.push_back(took);
    }
    if (!r) {
      failure = r.error();
      failed = m;
      break;
    }
    for (const std::string& line : r->response.logs) std::cerr << line << '\n';
    const bool ok = r->response.kind == runtime::Response::Kind::kOk;
    last = std::move(*r);
    if (!ok) break;
  }
  const double wall_ms = Millis(std::chrono::steady_clock::now() - begin);

  int status = kExitOk;
  std::string outcome;
  if (failure) {
    outcome = failed.outcome;
    std::cerr << "fnjail: " << failure->code << ": " << failure->message << '\n';
    status = kExitPlatformError;
  } else {
    const runtime::Response& resp = last->response;
    outcome = last->metering.outcome;
    std::cout << resp.body;
    std::cout.flush();
    if (resp.kind != runtime::Response::Kind::kOk) {
      std::cerr << "fnjail: function error: " << resp.error_type << ": " << resp.error_message
                << '\n';
      status = kExitFunctionError;
    }
  }
  if (!f.report.empty()) {
    report["outcome"] = outcome;
    report["status"] = last && !failure ? last->response.status : 0;
    report["error"] = failure ? failure->message
                      : last && last->response.kind != runtime::Response::Kind::kOk
                          ? last->response.error_type + ": " + last->response.error_message
                          : std::string();
    report["syscall"] = failure ? failed.violation : std::string();
    report["invocations"] = invocations;
    report["wall_ms"] = wall_ms;
    report["cpu_ms"] = cpu_ms;
    report["init_ms"] = init_ms;
    report["cold_ms"] = cold_ms;
    report["warm_p50_ms"] = Percentile(warm_ms, 0.50);
    report["warm_p99_ms"] = Percentile(warm_ms, 0.99);
    report["billed_ms"] = billed_ms;
    report["max_rss_kb"] = max_rss_kb;
    if (!WriteJson(f.report, report)) return kExitPlatformError;
  }
  return status;
}

void AddProfileOptions(CLI::App* cmd, InvokeFlags* f) {
  cmd->add_option("--profile", f->profile,
                  "Function profile (TOML) replacing the function file's own")
      ->option_text("FILE.toml");
  cmd->add_option("--preset", f->preset,
                  "Syscall preset: minimal, lua, exec-default, python")
      ->option_text("NAME");
  cmd->add_option("--ro-bind", f->ro_binds, "Also bind SRC read-only at DST (default: SRC)")
      ->option_text("SRC[:DST]");
  cmd->add_option("--rw-bind", f->rw_binds,
                  "Also bind SRC writable (but not executable) at DST (default: SRC)")
      ->option_text("SRC[:DST]");
  cmd->add_option("--tmpfs-mb", f->tmpfs_mb, "Size of the tmpfs /tmp; 0 for none")
      ->option_text("N");
  cmd->add_option("--memory-mb", f->memory_mb, "Memory limit of the environment")
      ->option_text("N")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--pids", f->pids, "Process/thread limit")
      ->option_text("N")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--timeout-ms", f->timeout_ms, "Deadline of each invocation")
      ->option_text("N")
      ->check(CLI::Range(uint64_t{1}, runtime::kMaxDeadlineMs));
  cmd->add_option("--cpu-ms", f->cpu_ms, "CPU time limit of the environment, rounded up to s")
      ->option_text("N");
  cmd->add_option("--output-limit-kb", f->output_limit_kb,
                  "Cap on the runtime's own stdout+stderr between invocations")
      ->option_text("N")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--net", f->net,
                  "none: empty network namespace, AF_UNIX only; loopback: own `lo`")
      ->check(CLI::IsMember({"none", "loopback"}))
      ->option_text("none|loopback");
  cmd->add_option("--env", f->env, "Set K=V in the function's environment")
      ->option_text("K=V");
  cmd->add_flag("--rlimits-only", f->rlimits_only,
                "Run even without a usable cgroup (rlimits stand in for memory and pids)");
}
// ---- usage ----------------------------------------------------------------------------

constexpr const char* kUsageDescription =
    "Sum the metering of invocations per function and principal, from the audit log.\n"
    "\n"
    "Reads every record of the log after checking the whole chain and every checkpoint\n"
    "signature against the checkpoint key (a damaged log is refused, never summed), and\n"
    "prints one row per function and principal: invocations the policy allowed, failures\n"
    "among them (any outcome but `ok`: function errors, timeouts, jail kills, over\n"
    "capacity), requests the policy denied, billed and run milliseconds, CPU milliseconds\n"
    "and the largest peak memory. Requests refused before a function was named (bad\n"
    "route, failed authentication) are not a function's usage and are not counted.\n";

constexpr const char* kUsageFooter =
    "The log and its key come from the [audit] section of --config (`path`, and the public\n"
    "half of `signing_key`), or from --audit and --public-key (which override it).\n"
    "\n"
    "Exit status: 0 when the log was read and summed, 1 when it is damaged, 2 on bad usage\n"
    "or an unreadable log, configuration or key.\n"
    "\n"
    "--json prints one JSON array of rows instead: {\"function\", \"principal\",\n"
    "\"invocations\", \"failures\", \"denied\", \"billed_ms\", \"duration_ms\", \"cpu_ms\",\n"
    "\"max_peak_memory_bytes\"}.\n"
    "\n"
    "Examples:\n"
    "  fnjail usage --config fnjail.toml\n"
    "  fnjail usage --audit /var/lib/fnjail/audit.log --public-key audit.pub --json\n";

struct UsageFlags {
  std::string config;
  std::string audit;
  std::string public_key;
  bool json = false;
};

struct UsageRow {
  uint64_t invocations = 0;
  uint64_t failures = 0;
  uint64_t denied = 0;
  uint64_t billed_ms = 0;
  uint64_t duration_ms = 0;
  uint64_t cpu_ms = 0;
  uint64_t max_peak_memory_bytes = 0;
};

// A non-negative integer field of `obj`, or 0.
uint64_t Count(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number()) return 0;
  if (it->is_number_unsigned()) return it->get<uint64_t>();
  if (it->is_number_integer()) return static_cast<uint64_t>(std::max<int64_t>(0, it->get<int64_t>()));
  return static_cast<uint64_t>(std::max(0.0, it->get<double>()));
}

std::string StringAt(const nlohmann::json& record, std::initializer_list<const char*> path) {
  const nlohmann::json* at = &record;
  for (const char* key : path) {
    if (!at->is_object()) return {};
    auto it = at->find(key);
    if (it == at->end()) return {};
    at = &*it;
  }
  return at->is_string() ? at->get<std::string>() : std::string();
}

// The function a record is about: its first resource of type "function" (`fn:NAME`).
std::string RecordFunction(const nlohmann::json& record) {
  auto it = record.find("resources");
  if (it != record.end() && it->is_array()) {
    for (const auto& r : *it) {
      if (r.is_object() && r.value("type", std::string()) == "function") {
        return r.value("name", std::string());
      }
    }
  }
  return {};
}

void AddRecord(const nlohmann::json& record,
               std::map<std::pair<std::string, std::string>, UsageRow>& rows) {
  std::string function = RecordFunction(record);
  // Only function invocations (`fn:NAME`); other resources (metrics) are not metered.
  if (function.rfind("fn:", 0) != 0) return;
  function.erase(0, 3);
  std::string principal = StringAt(record, {"actor", "user", "uid"});
  if (principal.empty()) principal = "-";
  UsageRow& row = rows[{function, principal}];
  auto decision = record.find("decision");
  const bool allowed = decision != record.end() && decision->is_object() &&
                       decision->value("allowed", false);
  if (!allowed) {
    ++row.denied;
    return;
  }
  ++row.invocations;
  auto metering = record.find("metering");
  if (metering == record.end() || !metering->is_object()) {
    ++row.failures;
    return;
  }
  if (metering->value("outcome", std::string()) != "ok") ++row.failures;
  row.billed_ms += Count(*metering, "billed_duration_ms");
  row.duration_ms += Count(*metering, "duration_ms");
  row.cpu_ms += Count(*metering, "cpu_ms");
  row.max_peak_memory_bytes =
      std::max(row.max_peak_memory_bytes, Count(*metering, "peak_memory_bytes"));
}

// The log path and the trusted checkpoint key, or a message.
bool ResolveUsageLog(const UsageFlags& f, std::string* log,
                     std::optional<crypto::Ed25519PublicKey>* key) {
  std::string signing_key;
  if (!f.config.empty()) {
    auto config = gateway::LoadConfig(f.config);
    if (!config) {
      for (const auto& d : config.error()) std::cerr << d.ToString() << '\n';
      return false;
    }
    *log = config->audit.path;
    signing_key = config->audit.signing_key;
  }
  if (!f.audit.empty()) *log = f.audit;
  if (log->empty()) {
    std::cerr << "fnjail: no audit log: --audit LOG, or `path` in [audit] of --config\n";
    return false;
  }
  if (!f.public_key.empty()) {
    auto pem = crypto::ReadFileLimited(f.public_key, 64 << 10);
    auto pub = pem ? crypto::Ed25519PublicKey::FromPem(*pem)
                   : crypto::Result<crypto::Ed25519PublicKey>(tl::unexpected(pem.error()));
    if (!pub) {
      std::cerr << "fnjail: public key `" << f.public_key << "`: " << pub.error().message()
                << '\n';
      return false;
    }
    *key = std::move(*pub);
    return true;
  }
  if (!signing_key.empty()) {
    auto pem = crypto::ReadFileLimited(signing_key, 64 << 10);
    auto signing = pem ? crypto::Ed25519SigningKey::FromPem(*pem)
                       : crypto::Result<crypto::Ed25519SigningKey>(tl::unexpected(pem.error()));
    if (!signing) {
      std::cerr << "fnjail: signing key `" << signing_key << "`: " << signing.error().message()
                << '\n';
      return false;
    }
    *key = signing->public_key();
    return true;
  }
  std::cerr << "fnjail: no checkpoint key: --public-key PEM, or `signing_key` in [audit] of "
               "--config\n";
  return false;
}

int RunUsage(const UsageFlags& f) {
  std::string log;
  std::optional<crypto::Ed25519PublicKey> key;
  if (!ResolveUsageLog(f, &log, &key)) return kExitPlatformError;
  std::map<std::pair<std::string, std::string>, UsageRow> rows;
  uint64_t unreadable = 0;
  auto report = crypto::VerifyAuditLog(log, *key, {}, [&](uint64_t, std::string_view json) {
    auto record = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
    if (!record.is_object()) {
      ++unreadable;
      return;
    }
    AddRecord(record, rows);
  });
  if (!report) {
    std::cerr << "fnjail: " << report.error().message() << '\n';
    return kExitPlatformError;
  }
  if (!report->intact) {
    std::cerr << "fnjail: audit log `" << log << "` is damaged at entry " << report->bad_index
              << " (offset " << report->bad_offset << "): " << report->problem
              << "; nothing summed\n";
    return kExitFunctionError;
  }
  if (unreadable > 0) {
    std::cerr << "fnjail: warning: " << unreadable << " records are not JSON objects\n";
  }
  if (f.json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& [k, r] : rows) {
      out.push_back({{"function", k.first},
                     {"principal", k.second},
                     {"invocations", r.invocations},
                     {"failures", r.failures},
                     {"denied", r.denied},
                     {"billed_ms", r.billed_ms},
                     {"duration_ms", r.duration_ms},
                     {"cpu_ms", r.cpu_ms},
                     {"max_peak_memory_bytes", r.max_peak_memory_bytes}});
    }
    std::cout << out.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace)
              << '\n';
    return kExitOk;
  }
  size_t fw = 8, pw = 9;
  for (const auto& [k, r] : rows) {
    fw = std::max(fw, k.first.size());
    pw = std::max(pw, k.second.size());
  }
  std::ostringstream table;
  auto line = [&](const std::string& fn, const std::string& who, const UsageRow& r) {
    table << std::left << std::setw(static_cast<int>(fw)) << fn << "  "
          << std::setw(static_cast<int>(pw)) << who << std::right << std::setw(12)
          << r.invocations << std::setw(9) << r.failures << std::setw(8) << r.denied
          << std::setw(11) << r.billed_ms << std::setw(13) << r.duration_ms << std::setw(8)
          << r.cpu_ms << std::setw(16) << (r.max_peak_memory_bytes + 1023) / 1024 << '\n';
  };
  table << std::left << std::setw(static_cast<int>(fw)) << "FUNCTION" << "  "
        << std::setw(static_cast<int>(pw)) << "PRINCIPAL" << std::right << std::setw(12)
        << "INVOCATIONS" << std::setw(9) << "FAILURES" << std::setw(8) << "DENIED"
        << std::setw(11) << "BILLED_MS" << std::setw(13) << "DURATION_MS" << std::setw(8)
        << "CPU_MS" << std::setw(16) << "MAX_MEMORY_KB" << '\n';
  UsageRow total;
  for (const auto& [k, r] : rows) {
    line(k.first, k.second, r);
    total.invocations += r.invocations;
    total.failures += r.failures;
    total.denied += r.denied;
    total.billed_ms += r.billed_ms;
    total.duration_ms += r.duration_ms;
    total.cpu_ms += r.cpu_ms;
    total.max_peak_memory_bytes = std::max(total.max_peak_memory_bytes, r.max_peak_memory_bytes);
  }
  line("total", "", total);
  std::cout << table.str();
  return kExitOk;
}

}  // namespace

void RegisterInvokeCommands(CLI::App& app, Runner* run) {
  auto invoke = std::make_shared<InvokeFlags>();
  CLI::App* cmd = app.add_subcommand("invoke", "Invoke a function through its runtime in a jail");
  cmd->description(kInvokeDescription);
  cmd->footer(kInvokeFooter);
  cmd->add_option("--function", invoke->function_file, "The function file")
      ->option_text("FILE.toml");
  cmd->add_option("--runtime", invoke->runtime, "Without --function: the runtime")
      ->check(CLI::IsMember({"lua", "exec"}))
      ->option_text("lua|exec");
  cmd->add_option("--handler", invoke->handler,
                  "Without --function: the Lua file, or the program run by exec")
      ->option_text("PATH");
  cmd->add_option("--arg", invoke->args, "Without --function: an argument of the exec program")
      ->option_text("ARG")
      ->allow_extra_args(false);
  cmd->add_option("--mode", invoke->mode,
                  "Without --function, for exec: simple (a process per invocation, default) "
                  "or persistent (one process, framed protocol)")
      ->check(CLI::IsMember({"simple", "persistent"}))
      ->option_text("simple|persistent");
  cmd->add_option("--event", invoke->event, "The event: a file, or - for stdin (default {})")
      ->option_text("FILE|-");
  cmd->add_option("--repeat", invoke->repeat,
                  "Invocations to run in the warm environment after the cold one")
      ->option_text("N")
      ->check(CLI::Range(0u, 1'000'000u));
  cmd->add_option("--principal", invoke->principal,
                  "The calling principal's id the function sees (default cli)")
      ->option_text("ID");
  cmd->add_option("--report", invoke->report, "Write the outcome and timings as JSON to FILE")
      ->option_text("FILE.json");
  AddProfileOptions(cmd, invoke.get());
  cmd->callback([invoke, run] { *run = [invoke] { return RunInvoke(*invoke); }; });

  auto usage = std::make_shared<UsageFlags>();
  CLI::App* ucmd =
      app.add_subcommand("usage", "Sum invocation metering per function and principal");
  ucmd->description(kUsageDescription);
  ucmd->footer(kUsageFooter);
  ucmd->add_option("--config", usage->config, "Gateway configuration naming the log and key")
      ->option_text("FILE.toml");
  ucmd->add_option("--audit", usage->audit, "The audit log (overrides [audit] path)")
      ->option_text("LOG");
  ucmd->add_option("--public-key", usage->public_key,
                   "Ed25519 checkpoint public key, PEM (overrides [audit] signing_key)")
      ->option_text("PEM");
  ucmd->add_flag("--json", usage->json, "Print a JSON array instead of a table");
  ucmd->callback([usage, run] { *run = [usage] { return RunUsage(*usage); }; });
}

}  // namespace fnjail::cli
