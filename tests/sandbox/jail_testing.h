// Helpers for the sandbox integration tests: a probe jail, captured output, skips.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sandbox/sandbox.h"

namespace fnjail::sandbox::testing {

// The probe binary (tests/sandbox/testcases/try_syscall.cc).
inline std::string TrySyscall() { return FNJAIL_TRY_SYSCALL; }

// The jail cgroup directories this process created and did not remove yet, found from
// /proc/self/cgroup (v1 memory and pids hierarchies, or the v2 one).
inline std::vector<std::string> LeftoverJailCgroups() {
  std::vector<std::string> found;
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    const size_t a = line.find(':');
    const size_t b = line.find(':', a + 1);
    const std::string controller = line.substr(a + 1, b - a - 1);
    std::string dir;
    if (controller == "memory" || controller == "pids") {
      dir = "/sys/fs/cgroup/" + controller + line.substr(b + 1);
    } else if (controller.empty()) {
      dir = "/sys/fs/cgroup" + line.substr(b + 1);
    } else {
      continue;
    }
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      if (e.path().filename().string().rfind("fnjail-" + std::to_string(getpid()) + "-", 0) ==
          0) {
        found.push_back(e.path().string());
      }
    }
  }
  return found;
}

// A builder for a jail that can run the probe: system binds plus the probe's directory.
inline SandboxBuilder ProbeJail(std::vector<std::string> args) {
  std::vector<std::string> argv = {TrySyscall()};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::string dir = std::filesystem::path(TrySyscall()).parent_path().string();
  SandboxBuilder b;
  b.DefaultSystemBinds().ReadOnlyBind(dir).Command(std::move(argv)).Timeout(20'000);
  return b;
}

// A run's outcome plus what the jail wrote.
struct Captured {
  Result<Outcome> outcome = tl::unexpected(Error{});
  std::string out;
  std::string err;
};

inline std::string Slurp(int fd) {
  std::string s;
  lseek(fd, 0, SEEK_SET);
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) s.append(buf, static_cast<size_t>(n));
  return s;
}

// Runs `spec` with stdout/stderr captured in temporary files and `input` on stdin.
inline Captured RunCaptured(const SandboxSpec& spec, const std::string& input = {}) {
  char out_path[] = "/tmp/fnjail-test-out-XXXXXX";
  char err_path[] = "/tmp/fnjail-test-err-XXXXXX";
  char in_path[] = "/tmp/fnjail-test-in-XXXXXX";
  const int out = mkstemp(out_path);
  const int err = mkstemp(err_path);
  const int in = mkstemp(in_path);
  unlink(out_path);
  unlink(err_path);
  unlink(in_path);
  if (!input.empty()) {
    [[maybe_unused]] const ssize_t n = write(in, input.data(), input.size());
    lseek(in, 0, SEEK_SET);
  }
  Captured c;
  c.outcome = Run(spec, RunIo{in, out, err});
  c.out = Slurp(out);
  c.err = Slurp(err);
  close(out);
  close(err);
  close(in);
  return c;
}

// True when an Error says the environment (not the spec) refused: no user namespaces, no
// cgroup, or a build tree the jail's unprivileged host uid may not enter (a private
// checkout: binds are made as that uid, by design).
inline bool KernelRefused(const Error& e) {
  return (e.step == Step::kClone && (e.err == EPERM || e.err == EINVAL || e.err == ENOSPC ||
                                     e.err == EUSERS)) ||
         ((e.step == Step::kBind || e.step == Step::kFindCommand) && e.err == EACCES) ||
         e.step == Step::kUserNsMap || (e.step == Step::kCgroup && geteuid() != 0);
}

}  // namespace fnjail::sandbox::testing

// Runs `spec`, skipping the test when the kernel refuses namespaces or cgroups, and binds
// the captured run to `var`.
#define FNJAIL_RUN_OR_SKIP(var, ...)                                                     \
  ::fnjail::sandbox::testing::Captured var = ::fnjail::sandbox::testing::RunCaptured(     \
      __VA_ARGS__);                                                                      \
  if (!var.outcome && ::fnjail::sandbox::testing::KernelRefused(var.outcome.error())) {   \
    GTEST_SKIP() << "kernel refused: " << var.outcome.error().ToString();                 \
  }
