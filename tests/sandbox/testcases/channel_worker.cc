// Worker run inside warm-started jails: blocks reading lines from fd 3 (the channel) and
// answers each on fd 3. Commands:
//   echo TEXT    -> "TEXT"
//   print TEXT   -> writes TEXT and a newline to stdout, answers "printed"
//   fds          -> the open descriptors, e.g. "0 1 2 3"
//   exit N       -> exits with N
//   segv         -> crashes
//   violate      -> calls io_uring_setup (always denied)
//   alloc        -> allocates and touches memory until stopped
//   flood        -> writes to stdout until stopped
// EOF on fd 3 exits 0. Built static and without sanitizers, like try_syscall.
#include <fcntl.h>
#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

constexpr int kChannel = 3;

void WriteAll(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    const ssize_t n = write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(120);
    done += static_cast<size_t>(n);
  }
}

void Answer(const std::string& s) { WriteAll(kChannel, s + "\n"); }

void Handle(const std::string& line) {
  const size_t space = line.find(' ');
  const std::string cmd = line.substr(0, space);
  const std::string arg = space == std::string::npos ? "" : line.substr(space + 1);
  if (cmd == "echo") {
    Answer(arg);
  } else if (cmd == "print") {
    WriteAll(1, arg + "\n");
    Answer("printed");
  } else if (cmd == "fds") {
    std::string list;
    for (int fd = 0; fd < 1024; ++fd) {
      if (syscall(SYS_fcntl, fd, F_GETFD) >= 0) list += (list.empty() ? "" : " ") + std::to_string(fd);
    }
    Answer(list);
  } else if (cmd == "exit") {
    _exit(std::atoi(arg.c_str()));
  } else if (cmd == "segv") {
    volatile int* nowhere = nullptr;
    *nowhere = 1;
  } else if (cmd == "violate") {
    io_uring_params p{};
    syscall(SYS_io_uring_setup, 1, &p);
    Answer("survived");
  } else if (cmd == "alloc") {
    for (;;) {
      char* p = static_cast<char*>(
          mmap(nullptr, 16 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
      if (p == MAP_FAILED) _exit(errno);
      std::memset(p, 1, 16 << 20);
    }
  } else if (cmd == "flood") {
    const std::string chunk(4096, 'y');
    for (;;) WriteAll(1, chunk);
  } else {
    Answer("unknown " + cmd);
  }
}

}  // namespace

int main() {
  std::string pending;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(kChannel, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;
    pending.append(buf, static_cast<size_t>(n));
    size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      const std::string line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      Handle(line);
    }
  }
}
