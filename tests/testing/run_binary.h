// Runs the fnjail binary in a child process and captures its exit code, stdout and stderr.
#pragma once

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

namespace fnjail::testing {

struct RunResult {
  int exit_code = -1;  // -1 when the child did not exit normally
  std::string out;
  std::string err;
};

// Runs `binary args...` with optional `stdin_text`, no shell involved. Reads both pipes
// with poll-free alternation kept simple by draining stderr into a temp file.
inline RunResult RunBinary(const std::string& binary, const std::vector<std::string>& args,
                           const std::string& stdin_text = {}) {
  RunResult result;
  // A command may exit (refusing its input) before reading stdin: the write below must
  // then fail with EPIPE rather than kill the test with SIGPIPE. The child gets the
  // default disposition back before exec.
  signal(SIGPIPE, SIG_IGN);
  int in_pipe[2], out_pipe[2];
  if (pipe(in_pipe) != 0 || pipe(out_pipe) != 0) return result;
  char err_template[] = "/tmp/fnjail-test-stderr-XXXXXX";
  int err_fd = mkstemp(err_template);
  if (err_fd < 0) return result;
  unlink(err_template);

  pid_t pid = fork();
  if (pid == 0) {
    signal(SIGPIPE, SIG_DFL);
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(err_fd, 2);
    close(in_pipe[1]);
    close(out_pipe[0]);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(binary.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  // Small inputs only: write all of stdin first, then drain stdout.
  size_t written = 0;
  while (written < stdin_text.size()) {
    ssize_t n = write(in_pipe[1], stdin_text.data() + written, stdin_text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  close(in_pipe[1]);
  std::array<char, 4096> buf;
  for (;;) {
    ssize_t n = read(out_pipe[0], buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    result.out.append(buf.data(), static_cast<size_t>(n));
  }
  close(out_pipe[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  lseek(err_fd, 0, SEEK_SET);
  for (;;) {
    ssize_t n = read(err_fd, buf.data(), buf.size());
    if (n <= 0) break;
    result.err.append(buf.data(), static_cast<size_t>(n));
  }
  close(err_fd);
  return result;
}

}  // namespace fnjail::testing
