// Jail launch latency and the per-syscall cost of the default filter.
//
//   BM_LaunchJailed      Run() of /bin/true fully jailed: every namespace, pivot_root, caps,
//                        seccomp, cgroup (when usable), rlimits, the supervisor.
//   BM_LaunchPrepared    the same from a PreparedJail: spec compiled once, jail per run.
//   BM_LaunchPlain       fork + execve /bin/true + waitpid: the floor.
//   BM_LaunchBwrap       fork + execve `bwrap --unshare-all` with a comparable bind set.
//   BM_SyscallCost/0|1   getppid() in a loop without / with the default filter stacked.
//   BM_WarmStart         JailHost::Start() of a jail that then blocks on its channel (fd 3):
//                        from the call until the command executes (manual time: the kill
//                        and reap that follow are not counted).
//   BM_WarmHandOff       a started jail echoing its channel (`cat <&3 >&3`): write 64 bytes
//                        to fd 3 until they come back: the cost of handing work to a warm
//                        jail.
//
// bench/sandbox_compare.sh runs the command-line peers interleaved and prints ratios.
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "sandbox/internal/seccomp.h"
#include "sandbox/sandbox.h"

namespace {

using fnjail::sandbox::SandboxBuilder;

int ForkExecWait(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
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
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void BM_LaunchJailed(benchmark::State& state) {
  SandboxBuilder b;
  b.DefaultSystemBinds().Command({"/bin/true"});
  if (geteuid() != 0) b.AcceptRlimitsOnly();
  auto spec = b.TryBuild();
  if (!spec) {
    state.SkipWithError(spec.error().ToString().c_str());
    return;
  }
  for (auto _ : state) {
    auto r = fnjail::sandbox::Run(*spec, {-1, -1, -1});
    if (!r || r->exit_code != 0) {
      state.SkipWithError(r ? "/bin/true failed in the jail" : r.error().ToString().c_str());
      return;
    }
  }
}
BENCHMARK(BM_LaunchJailed)->Unit(benchmark::kMillisecond);

// The warm path: the spec compiled once (PreparedJail), fresh namespaces and cgroup per run.
void BM_LaunchPrepared(benchmark::State& state) {
  SandboxBuilder b;
  b.DefaultSystemBinds().Command({"/bin/true"});
  if (geteuid() != 0) b.AcceptRlimitsOnly();
  auto spec = b.TryBuild();
  auto prepared = spec ? fnjail::sandbox::PreparedJail::Prepare(*spec)
                       : fnjail::sandbox::Result<fnjail::sandbox::PreparedJail>(
                             tl::unexpected(spec.error()));
  if (!prepared) {
    state.SkipWithError(prepared.error().ToString().c_str());
    return;
  }
  for (auto _ : state) {
    auto r = prepared->Run({-1, -1, -1});
    if (!r || r->exit_code != 0) {
      state.SkipWithError(r ? "/bin/true failed in the jail" : r.error().ToString().c_str());
      return;
    }
  }
}
BENCHMARK(BM_LaunchPrepared)->Unit(benchmark::kMillisecond);

void BM_LaunchPlain(benchmark::State& state) {
  for (auto _ : state) {
    if (ForkExecWait({"/bin/true"}) != 0) {
      state.SkipWithError("/bin/true failed");
      return;
    }
  }
}
BENCHMARK(BM_LaunchPlain)->Unit(benchmark::kMillisecond);

void BM_LaunchBwrap(benchmark::State& state) {
  if (access("/usr/bin/bwrap", X_OK) != 0) {
    state.SkipWithError("bwrap is not installed (scripts/install-deps.sh)");
    return;
  }
  const std::vector<std::string> argv = {
      "/usr/bin/bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/usr", "/usr",
      "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--symlink",
      "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin", "--ro-bind", "/etc/ld.so.cache",
      "/etc/ld.so.cache", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "/bin/true"};
  for (auto _ : state) {
    if (ForkExecWait(argv) != 0) {
      state.SkipWithError("bwrap could not run /bin/true here");
      return;
    }
  }
}
BENCHMARK(BM_LaunchBwrap)->Unit(benchmark::kMillisecond);

// A child that runs batches of getppid() on request, optionally under the default filter,
// and answers each with the elapsed nanoseconds.
constexpr int kBatch = 100'000;

void BM_SyscallCost(benchmark::State& state) {
  const bool filtered = state.range(0) != 0;
  fnjail::sandbox::internal::seccomp::Plan plan;
  if (filtered) {
    fnjail::sandbox::SandboxSpec spec;
    spec.argv = {"/bin/true"};
    auto p = fnjail::sandbox::internal::seccomp::PrepareInParent(spec);
    if (!p) {
      state.SkipWithError(p.error().ToString().c_str());
      return;
    }
    plan = std::move(*p);
  }
  int to_child[2], from_child[2];
  if (pipe(to_child) != 0 || pipe(from_child) != 0) {
    state.SkipWithError("pipe");
    return;
  }
  const pid_t pid = fork();
  if (pid == 0) {
    if (filtered) {
      prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
      if (!fnjail::sandbox::internal::seccomp::ApplyInChild(plan).ok()) _exit(1);
    }
    char cmd;
    while (read(to_child[0], &cmd, 1) == 1 && cmd == 'g') {
      timespec a{}, b{};
      clock_gettime(CLOCK_MONOTONIC, &a);
      for (int i = 0; i < kBatch; ++i) syscall(SYS_getppid);
      clock_gettime(CLOCK_MONOTONIC, &b);
      const int64_t ns = (b.tv_sec - a.tv_sec) * 1'000'000'000 + (b.tv_nsec - a.tv_nsec);
      if (write(from_child[1], &ns, sizeof(ns)) != sizeof(ns)) _exit(1);
    }
    _exit(0);
  }
  // One iteration is one batch; the per-syscall figure is the `ns_per_syscall` counter.
  int64_t total_ns = 0;
  for (auto _ : state) {
    int64_t ns = 0;
    if (write(to_child[1], "g", 1) != 1 || read(from_child[0], &ns, sizeof(ns)) != sizeof(ns)) {
      state.SkipWithError("the measuring child died");
      break;
    }
    total_ns += ns;
    state.SetIterationTime(static_cast<double>(ns) / 1e9);
  }
  (void)!write(to_child[1], "q", 1);
  close(to_child[0]);
  close(to_child[1]);
  close(from_child[0]);
  close(from_child[1]);
  waitpid(pid, nullptr, 0);
  if (state.iterations() > 0) {
    state.counters["ns_per_syscall"] =
        static_cast<double>(total_ns) / static_cast<double>(state.iterations() * kBatch);
  }
}
BENCHMARK(BM_SyscallCost)->Arg(0)->Arg(1)->UseManualTime()->Unit(benchmark::kMillisecond);

// A prepared jail whose command echoes its channel: `sh -c 'exec cat <&3 >&3'`.
fnjail::sandbox::Result<fnjail::sandbox::PreparedJail> EchoJail() {
  SandboxBuilder b;
  b.DefaultSystemBinds().Command({"/bin/sh", "-c", "exec cat <&3 >&3"});
  if (geteuid() != 0) b.AcceptRlimitsOnly();
  auto spec = b.TryBuild();
  if (!spec) return tl::unexpected(spec.error());
  return fnjail::sandbox::PreparedJail::Prepare(*spec);
}

double Seconds(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

void BM_WarmStart(benchmark::State& state) {
  auto host = fnjail::sandbox::JailHost::Create();
  auto prepared = EchoJail();
  if (!host || !prepared) {
    state.SkipWithError(!host ? host.error().ToString().c_str()
                              : prepared.error().ToString().c_str());
    return;
  }
  for (auto _ : state) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      state.SkipWithError("socketpair");
      return;
    }
    fnjail::sandbox::StartOptions options;
    options.channel_fd = sv[1];
    const auto start = std::chrono::steady_clock::now();
    auto jail = (*host)->Start(*prepared, options);
    const auto started = std::chrono::steady_clock::now();
    close(sv[1]);
    if (!jail) {
      close(sv[0]);
      state.SkipWithError(jail.error().ToString().c_str());
      return;
    }
    state.SetIterationTime(Seconds(start, started));
    close(sv[0]);  // EOF: cat exits
    (*jail)->WaitFor(std::chrono::seconds(10));
  }
}
BENCHMARK(BM_WarmStart)->UseManualTime()->Unit(benchmark::kMillisecond);

void BM_WarmHandOff(benchmark::State& state) {
  auto host = fnjail::sandbox::JailHost::Create();
  auto prepared = EchoJail();
  if (!host || !prepared) {
    state.SkipWithError(!host ? host.error().ToString().c_str()
                              : prepared.error().ToString().c_str());
    return;
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    state.SkipWithError("socketpair");
    return;
  }
  fnjail::sandbox::StartOptions options;
  options.channel_fd = sv[1];
  auto jail = (*host)->Start(*prepared, options);
  close(sv[1]);
  if (!jail) {
    close(sv[0]);
    state.SkipWithError(jail.error().ToString().c_str());
    return;
  }
  char work[64] = "work";
  char back[64];
  for (auto _ : state) {
    if (write(sv[0], work, sizeof(work)) != sizeof(work)) {
      state.SkipWithError("the jail closed its channel");
      break;
    }
    size_t got = 0;
    while (got < sizeof(back)) {
      const ssize_t n = read(sv[0], back + got, sizeof(back) - got);
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    if (got != sizeof(back)) {
      state.SkipWithError("the jail stopped echoing");
      break;
    }
  }
  close(sv[0]);
  (*jail)->WaitFor(std::chrono::seconds(10));
}
BENCHMARK(BM_WarmHandOff)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
