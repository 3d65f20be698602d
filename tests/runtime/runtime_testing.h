// Helpers for the runtime tests: fnjail-runtime started directly (no jail) over a
// socketpair, temporary handler folders, invocations.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/protocol.h"

namespace fnjail::runtime::testing {

inline std::string RuntimeBinary() { return FNJAIL_RUNTIME_BINARY; }

// A temporary folder removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/fnjail-runtime-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string Write(const std::string& name, const std::string& text) const {
    std::string p = path_ + "/" + name;
    std::filesystem::create_directories(std::filesystem::path(p).parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }

 private:
  std::string path_;
};

// fnjail-runtime running as a child with one end of a socketpair as fd 3. Its stderr goes
// to a temporary file (stderr()).
class RuntimeProcess {
 public:
  explicit RuntimeProcess(std::vector<std::string> args) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return;
    char err_path[] = "/tmp/fnjail-runtime-err-XXXXXX";
    err_fd_ = ::mkstemp(err_path);
    ::unlink(err_path);
    std::vector<std::string> argv = {RuntimeBinary()};
    argv.insert(argv.end(), args.begin(), args.end());
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(sv[1], 3);  // dup2 clears close-on-exec
      ::dup2(err_fd_, 2);
      std::vector<char*> ptrs;
      for (auto& a : argv) ptrs.push_back(a.data());
      ptrs.push_back(nullptr);
      ::execv(ptrs[0], ptrs.data());
      ::_exit(127);
    }
    ::close(sv[1]);
    fd_ = sv[0];
  }
  ~RuntimeProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) ::close(fd_);
    if (err_fd_ >= 0) ::close(err_fd_);
  }
  RuntimeProcess(const RuntimeProcess&) = delete;
  RuntimeProcess& operator=(const RuntimeProcess&) = delete;

  int fd() const { return fd_; }
  pid_t pid() const { return pid_; }

  // Closes the host end and waits for the exit status (-1 if it did not exit normally).
  int CloseAndWait() {
    ::close(fd_);
    fd_ = -1;
    return Wait();
  }
  int Wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string stderr_text() const {
    std::string s;
    char buf[4096];
    ssize_t n;
    off_t off = 0;
    while ((n = ::pread(err_fd_, buf, sizeof buf, off)) > 0) {
      s.append(buf, static_cast<size_t>(n));
      off += n;
    }
    return s;
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  int err_fd_ = -1;
};

inline Invocation MakeInvocation(std::string event, std::string request_id = "req-1",
                                 uint64_t deadline_ms = 5000) {
  Invocation inv;
  inv.request_id = std::move(request_id);
  inv.function = "hello";
  inv.deadline_ms = deadline_ms;
  inv.principal_id = "alice";
  inv.principal_groups = {"admins", "dev"};
  inv.event = std::move(event);
  return inv;
}

}  // namespace fnjail::runtime::testing
