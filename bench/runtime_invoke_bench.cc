// Invocation latency through execution environments, directly (no HTTP), and the memory
// of idle environments.
//
//   BM_WarmInvoke/lua|exec_simple|exec_persistent
//       Pool::Invoke on a warm environment (what the gateway pays per request once warm):
//       encrypt, hand over on the channel, run the handler, answer, meter.
//   BM_ColdInvoke/lua|exec_simple|exec_persistent
//       a new environment (jail start, runtime start, handler load) plus its first
//       invocation; destroying it afterwards is not counted (manual time). start_p50_us
//       is the part until the jail's command executes (JailHost::Start).
//   BM_SampleUsage
//       the metering read each invocation pays (the jail's cgroup counters).
//   BM_BwrapTrue
//       the peer of a cold start: `bwrap --unshare-all ... /bin/true` (fork, exec, wait);
//       bench/runtime_compare.sh prints the ratio of the two in one interleaved run.
//   BM_IdleEnvironments/N
//       N started, idle Lua environments: `cgroup_kb_per_env` sums what each jail's cgroup
//       is charged, `host_kb_per_env` is the fall of MemAvailable (/proc/meminfo) divided
//       by N (kernel objects outside the cgroups included); goal 1,000 in <= 1 GiB.
//
// Handlers: Lua `return event`; exec simple `/bin/cat` (a process per invocation); exec
// persistent a 15-line Python loop answering the event (docs/runtimes.md, "Exec").
// Every latency benchmark reports p50_us and p99_us over its iterations.
//
// The in-jail program is $FNJAIL_RUNTIME, else `fnjail-runtime` in ../cli/ beside this
// program (build it too: cmake --build build/release --target fnjail-runtime). Needs user
// namespaces; as root the jails also get their cgroups, as the gateway's do.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "runtime/environment.h"
#include "runtime/pool.h"
#include "sandbox/sandbox.h"

namespace {

using namespace fnjail;
using Clock = std::chrono::steady_clock;

constexpr const char* kLuaHandler = "function handler(event, ctx) return event end\n";
constexpr const char* kPersistentHandler =
    "import struct, sys\n"
    "i, o = sys.stdin.buffer, sys.stdout.buffer\n"
    "def frame():\n"
    "    head = i.read(4)\n"
    "    if len(head) < 4:\n"
    "        sys.exit(0)\n"
    "    return i.read(struct.unpack('>I', head)[0])\n"
    "meta = b'{\"status\": 200}'\n"
    "while True:\n"
    "    context, event = frame(), frame()\n"
    "    o.write(struct.pack('>I', len(meta)) + meta + struct.pack('>I', len(event)) + event)\n"
    "    o.flush()\n";
constexpr const char* kEvent = R"({"hello":"world","n":42})";

std::string RuntimeBinary() {
  if (const char* env = std::getenv("FNJAIL_RUNTIME"); env != nullptr && *env != '\0') {
    return env;
  }
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return (self.parent_path().parent_path() / "cli" / "fnjail-runtime").string();
}

// The handlers, written once into a folder the jails bind read-only.
const std::string& HandlerDir() {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/fnjail-runtime-bench-XXXXXX";
    std::string d = mkdtemp(tmpl);
    std::filesystem::permissions(d, std::filesystem::perms::owner_all |
                                        std::filesystem::perms::group_read |
                                        std::filesystem::perms::group_exec |
                                        std::filesystem::perms::others_read |
                                        std::filesystem::perms::others_exec);
    std::ofstream(d + "/handler.lua") << kLuaHandler;
    std::ofstream(d + "/persistent.py") << kPersistentHandler;
    return d;
  }();
  return dir;
}

sandbox::JailHost* Host() {
  static sandbox::JailHost* host = [] {
    // 1,000 environments hold several descriptors each on this side.
    rlimit nofile{};
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
      nofile.rlim_cur = nofile.rlim_max;
      setrlimit(RLIMIT_NOFILE, &nofile);
    }
    auto h = sandbox::JailHost::Create();
    return h ? h->release() : nullptr;
  }();
  return host;
}

enum Kind : int64_t { kLua = 0, kExecSimple = 1, kExecPersistent = 2 };

const char* KindName(int64_t kind) {
  switch (kind) {
    case kLua:
      return "lua";
    case kExecSimple:
      return "exec_simple";
    default:
      return "exec_persistent";
  }
}

// The factory of one kind of environment, as a function file of that runtime would get.
runtime::Result<std::shared_ptr<runtime::EnvironmentFactory>> Factory(int64_t kind) {
  if (Host() == nullptr) return runtime::Fail("jail", "the jail host did not start");
  const std::string rt = RuntimeBinary();
  if (access(rt.c_str(), X_OK) != 0) {
    return runtime::Fail("jail", "no fnjail-runtime at " + rt + " (set FNJAIL_RUNTIME)");
  }
  sandbox::SandboxBuilder b;
  b.DefaultSystemBinds()
      .ReadOnlyBind(std::filesystem::path(rt).parent_path().string())
      .ReadOnlyBind(HandlerDir())
      .MemoryLimit(128ull << 20)
      .Timeout(10'000);
  if (geteuid() != 0) b.AcceptRlimitsOnly();
  switch (kind) {
    case kLua:
      b.Command({rt, "lua", HandlerDir() + "/handler.lua"});
      break;
    case kExecSimple:
      b.Command({rt, "exec", "--mode", "simple", "--", "/bin/cat"});
      break;
    default:
      b.Preset("python").Command({rt, "exec", "--mode", "persistent", "--", "/usr/bin/python3",
                                  HandlerDir() + "/persistent.py"});
      break;
  }
  auto spec = b.TryBuild();
  if (!spec) return runtime::Fail("jail", spec.error().ToString());
  auto prepared = sandbox::PreparedJail::Prepare(std::move(*spec));
  if (!prepared) return runtime::Fail("jail", prepared.error().ToString());
  return runtime::MakeJailEnvironmentFactory(*Host(), std::move(*prepared));
}

runtime::Invocation MakeInvocation() {
  runtime::Invocation inv;
  inv.request_id = "bench-1";
  inv.function = "bench";
  inv.principal_id = "bench";
  inv.deadline_ms = 5'000;
  inv.event = kEvent;
  return inv;
}

void ReportPercentiles(benchmark::State& state, std::vector<double>& us) {
  if (us.empty()) return;
  std::sort(us.begin(), us.end());
  state.counters["p50_us"] = us[us.size() / 2];
  state.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
}

void BM_WarmInvoke(benchmark::State& state) {
  state.SetLabel(KindName(state.range(0)));
  auto factory = Factory(state.range(0));
  if (!factory) {
    state.SkipWithError(factory.error().ToString().c_str());
    return;
  }
  runtime::PoolOptions options;
  options.max_concurrency = 1;
  options.timeout = std::chrono::milliseconds(5'000);
  auto pool = runtime::Pool::Create("bench", options, *factory, runtime::SteadyClock());
  if (!pool) {
    state.SkipWithError(pool.error().ToString().c_str());
    return;
  }
  const runtime::Invocation inv = MakeInvocation();
  // The first invocation starts the environment; the timed ones find it warm.
  if (auto first = (*pool)->Invoke(inv); !first) {
    state.SkipWithError(first.error().ToString().c_str());
    return;
  }
  std::vector<double> samples;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    auto r = (*pool)->Invoke(inv);
    const auto t1 = Clock::now();
    if (!r || r->response.kind != runtime::Response::Kind::kOk || r->metering.cold) {
      state.SkipWithError(r ? ("not a warm success: " + r->response.error_message).c_str()
                            : r.error().ToString().c_str());
      return;
    }
    const double s = std::chrono::duration<double>(t1 - t0).count();
    state.SetIterationTime(s);
    samples.push_back(s * 1e6);
  }
  ReportPercentiles(state, samples);
}
BENCHMARK(BM_WarmInvoke)
    ->Arg(kLua)
    ->Arg(kExecSimple)
    ->Arg(kExecPersistent)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

void BM_ColdInvoke(benchmark::State& state) {
  state.SetLabel(KindName(state.range(0)));
  auto factory = Factory(state.range(0));
  if (!factory) {
    state.SkipWithError(factory.error().ToString().c_str());
    return;
  }
  const runtime::Invocation inv = MakeInvocation();
  std::vector<double> samples;
  std::vector<double> start_us;  // of which: Start() until the jail's command executes
  for (auto _ : state) {
    const auto t0 = Clock::now();
    auto env = (*factory)->Start();
    if (!env) {
      state.SkipWithError(env.error().ToString().c_str());
      return;
    }
    const auto started = Clock::now();
    auto r = (*env)->Invoke(inv, std::chrono::milliseconds(5'000));
    const auto t1 = Clock::now();
    start_us.push_back(std::chrono::duration<double, std::micro>(started - t0).count());
    if (!r || r->kind != runtime::Response::Kind::kOk) {
      state.SkipWithError(r ? ("not a success: " + r->error_message).c_str()
                            : r.error().ToString().c_str());
      return;
    }
    const double s = std::chrono::duration<double>(t1 - t0).count();
    state.SetIterationTime(s);
    samples.push_back(s * 1e6);
    env->reset();  // not timed
  }
  ReportPercentiles(state, samples);
  if (!start_us.empty()) {
    std::sort(start_us.begin(), start_us.end());
    state.counters["start_p50_us"] = start_us[start_us.size() / 2];
  }
}
BENCHMARK(BM_ColdInvoke)
    ->Arg(kLua)
    ->Arg(kExecSimple)
    ->Arg(kExecPersistent)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// The per-invocation metering read: one SampleUsage() of a warm Lua environment.
void BM_SampleUsage(benchmark::State& state) {
  auto factory = Factory(kLua);
  if (!factory) {
    state.SkipWithError(factory.error().ToString().c_str());
    return;
  }
  auto env = (*factory)->Start();
  if (!env) {
    state.SkipWithError(env.error().ToString().c_str());
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize((*env)->SampleUsage());
}
BENCHMARK(BM_SampleUsage)->Unit(benchmark::kMicrosecond);

// The peer of a cold start: bwrap launching /bin/true with a comparable jail (fork, exec,
// wait), as bench/sandbox_launch_bench.cc's BM_LaunchBwrap.
void BM_BwrapTrue(benchmark::State& state) {
  if (access("/usr/bin/bwrap", X_OK) != 0) {
    state.SkipWithError("bwrap is not installed (scripts/install-deps.sh)");
    return;
  }
  std::vector<std::string> argv = {
      "/usr/bin/bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/usr", "/usr",
      "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--symlink",
      "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin", "--ro-bind", "/etc/ld.so.cache",
      "/etc/ld.so.cache", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "/bin/true"};
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  for (auto _ : state) {
    const pid_t pid = fork();
    if (pid == 0) {
      const int null = open("/dev/null", O_WRONLY);
      dup2(null, 1);
      dup2(null, 2);
      char* env[] = {nullptr};
      execve(args[0], args.data(), env);
      _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      state.SkipWithError("bwrap could not run /bin/true here");
      return;
    }
  }
}
BENCHMARK(BM_BwrapTrue)->Unit(benchmark::kMillisecond);

uint64_t MemAvailableKb() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t value = 0;
  std::string unit;
  while (in >> key >> value >> unit) {
    if (key == "MemAvailable:") return value;
  }
  return 0;
}

void BM_IdleEnvironments(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  auto factory = Factory(kLua);
  if (!factory) {
    state.SkipWithError(factory.error().ToString().c_str());
    return;
  }
  const runtime::Invocation inv = MakeInvocation();
  for (auto _ : state) {
    const uint64_t before = MemAvailableKb();
    std::vector<std::unique_ptr<runtime::Environment>> envs;
    envs.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      auto env = (*factory)->Start();
      if (!env) {
        state.SkipWithError(("environment " + std::to_string(i) + ": " +
                             env.error().ToString()).c_str());
        return;
      }
      // One invocation each, so every handler is loaded and has run: idle but warm.
      auto r = (*env)->Invoke(inv, std::chrono::milliseconds(5'000));
      if (!r) {
        state.SkipWithError(r.error().ToString().c_str());
        return;
      }
      envs.push_back(std::move(*env));
    }
    const uint64_t after = MemAvailableKb();
    uint64_t cgroup_kb = 0;
    for (const auto& env : envs) cgroup_kb += env->SampleUsage().memory_kb;
    state.counters["environments"] = static_cast<double>(n);
    state.counters["cgroup_kb_per_env"] = static_cast<double>(cgroup_kb) / static_cast<double>(n);
    state.counters["host_kb_per_env"] =
        before > after ? static_cast<double>(before - after) / static_cast<double>(n) : 0.0;
    state.counters["host_mib_total"] =
        before > after ? static_cast<double>(before - after) / 1024.0 : 0.0;
    state.PauseTiming();
    envs.clear();
    state.ResumeTiming();
  }
}
BENCHMARK(BM_IdleEnvironments)->Arg(100)->Arg(1000)->Iterations(1)->Unit(benchmark::kSecond);

}  // namespace

BENCHMARK_MAIN();
