// Probe run inside a jail: `try_syscall NAME [ARG]` tries exactly one syscall (or one escape
// technique) through syscall(SYS_...) and exits 0 when it succeeded, else with its errno.
// A seccomp kill never returns, so the launcher reports the syscall by name.
//
// Built static and without sanitizers, so it runs in a jail holding only its directory.
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/perf_event.h>
#include <linux/userfaultfd.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <cstring>

namespace {

int Result(long rc) { return rc >= 0 ? 0 : (errno == 0 ? 255 : errno); }

// Returns 1 until patch_self_mem rewrites its code through /proc/self/mem.
__attribute__((noinline)) int PatchMe() {
  asm volatile("");
  return 1;
}

long Connect(int family, const char* arg) {
  const int fd = static_cast<int>(syscall(SYS_socket, family, SOCK_STREAM, 0));
  if (fd < 0) return fd;
  if (family == AF_INET) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(std::atoi(arg)));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return syscall(SYS_connect, fd, &a, sizeof(a));
  }
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  // Abstract name: leading NUL.
  std::strncpy(a.sun_path + 1, arg, sizeof(a.sun_path) - 2);
  const socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + std::strlen(arg));
  return syscall(SYS_connect, fd, &a, len);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: try_syscall NAME [ARG]\n");
    return 254;
  }
  const char* name = argv[1];
  const char* arg = argc > 2 ? argv[2] : "0";
  auto is = [name](const char* n) { return std::strcmp(name, n) == 0; };
  errno = 0;

  // Allowed by the exec-default preset.
  if (is("getppid")) return Result(syscall(SYS_getppid));
  // Always denied.
  if (is("io_uring_setup")) {
    io_uring_params p{};
    return Result(syscall(SYS_io_uring_setup, 1, &p));
  }
  if (is("userfaultfd")) return Result(syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY));
  if (is("bpf")) return Result(syscall(SYS_bpf, 0, nullptr, 0));
  if (is("perf_event_open")) {
    perf_event_attr attr{};
    attr.size = sizeof(attr);
    return Result(syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0));
  }
  if (is("keyctl")) return Result(syscall(SYS_keyctl, 0, 0, 0, 0, 0));
  if (is("add_key")) return Result(syscall(SYS_add_key, "user", "k", "v", 1, -3));
  if (is("request_key")) return Result(syscall(SYS_request_key, "user", "k", nullptr, 0));
  if (is("ptrace")) return Result(syscall(SYS_ptrace, 16 /* PTRACE_ATTACH */, 1, 0, 0));
  if (is("process_vm_readv")) return Result(syscall(SYS_process_vm_readv, 1, nullptr, 0, nullptr, 0, 0));
  if (is("mount")) return Result(syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, nullptr));
  if (is("umount2")) return Result(syscall(SYS_umount2, "/tmp", 0));
  if (is("open_tree")) return Result(syscall(SYS_open_tree, AT_FDCWD, "/", 0));
  if (is("fsopen")) return Result(syscall(SYS_fsopen, "tmpfs", 0));
  if (is("move_mount")) return Result(syscall(SYS_move_mount, -1, "", -1, "", 0));
  if (is("pivot_root")) return Result(syscall(SYS_pivot_root, "/tmp", "/tmp"));
  if (is("chroot")) return Result(syscall(SYS_chroot, "/tmp"));
  if (is("unshare")) return Result(syscall(SYS_unshare, CLONE_NEWUSER));
  if (is("setns")) return Result(syscall(SYS_setns, 0, 0));
  if (is("personality")) return Result(syscall(SYS_personality, 0x0040000 /* ADDR_NO_RANDOMIZE */));
  if (is("open_by_handle_at")) return Result(syscall(SYS_open_by_handle_at, AT_FDCWD, nullptr, 0));
  if (is("name_to_handle_at")) return Result(syscall(SYS_name_to_handle_at, AT_FDCWD, "/", nullptr, nullptr, 0));
  if (is("kexec_load")) return Result(syscall(SYS_kexec_load, 0, 0, nullptr, 0));
  if (is("init_module")) return Result(syscall(SYS_init_module, nullptr, 0, ""));
  if (is("finit_module")) return Result(syscall(SYS_finit_module, -1, "", 0));
  if (is("delete_module")) return Result(syscall(SYS_delete_module, "x", 0));
  if (is("acct")) return Result(syscall(SYS_acct, nullptr));
  if (is("swapon")) return Result(syscall(SYS_swapon, "/tmp/x", 0));
  if (is("swapoff")) return Result(syscall(SYS_swapoff, "/tmp/x"));
  if (is("reboot")) return Result(syscall(SYS_reboot, 0, 0, 0, nullptr));  // bad magic
  if (is("syslog")) return Result(syscall(SYS_syslog, 10 /* SIZE_BUFFER */, nullptr, 0));
  if (is("quotactl")) return Result(syscall(SYS_quotactl, 0, nullptr, 0, nullptr));
  if (is("fanotify_init")) return Result(syscall(SYS_fanotify_init, 0, 0));
  // Argument filters.
  if (is("clone_newuser")) {
    const long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, 0);
    if (pid == 0) _exit(0);
    return Result(pid);
  }
  if (is("clone_plain")) {
    const long pid = syscall(SYS_clone, SIGCHLD, nullptr, nullptr, nullptr, 0);
    if (pid == 0) _exit(0);
    return Result(pid);
  }
  if (is("clone3")) return Result(syscall(SYS_clone3, nullptr, 0));
  if (is("tiocsti")) {
    const char c = 'x';
    return Result(syscall(SYS_ioctl, 0, TIOCSTI, &c));
  }
  if (is("tiocsti_high_bits")) {
    const char c = 'x';
    return Result(syscall(SYS_ioctl, 0, (1UL << 32) | TIOCSTI, &c));
  }
  if (is("tioclinux")) {
    char sub = 0;
    return Result(syscall(SYS_ioctl, 0, TIOCLINUX, &sub));
  }
  if (is("ioctl_fionread")) {
    int n = 0;
    return Result(syscall(SYS_ioctl, 0, FIONREAD, &n));
  }
  if (is("socket_unix")) return Result(syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0));
  if (is("socket_inet")) return Result(syscall(SYS_socket, AF_INET, SOCK_STREAM, 0));
  if (is("socket_netlink")) return Result(syscall(SYS_socket, AF_NETLINK, SOCK_RAW, 0));
  // Escape techniques.
  if (is("connect_tcp")) return Result(Connect(AF_INET, arg));
  if (is("connect_abstract")) return Result(Connect(AF_UNIX, arg));
  if (is("kill_pid")) return Result(syscall(SYS_kill, std::atoi(arg), 0));
  if (is("kill_all")) return Result(syscall(SYS_kill, -1, SIGKILL));
  if (is("open_read")) return Result(syscall(SYS_openat, AT_FDCWD, arg, O_RDONLY));
  if (is("open_write")) return Result(syscall(SYS_openat, AT_FDCWD, arg, O_WRONLY | O_CREAT, 0600));
  if (is("open_fds")) {
    // Exit with the first open descriptor above stderr, 0 when there is none.
    for (int fd = 3; fd < 1024; ++fd) {
      if (syscall(SYS_fcntl, fd, F_GETFD) >= 0) return fd;
    }
    return 0;
  }
  if (is("fork_bomb")) {
    for (;;) {
      const long pid = syscall(SYS_clone, SIGCHLD, nullptr, nullptr, nullptr, 0);
      if (pid == 0) pause();
    }
  }
  if (is("memory_bomb")) {
    for (;;) {
      char* p = static_cast<char*>(mmap(nullptr, 16 << 20, PROT_READ | PROT_WRITE,
                                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
      if (p == MAP_FAILED) return errno;
      std::memset(p, 1, 16 << 20);
    }
  }
  if (is("tmpfs_fill")) {
    const int fd = static_cast<int>(syscall(SYS_openat, AT_FDCWD, "/tmp/fill", O_WRONLY | O_CREAT, 0600));
    if (fd < 0) return errno;
    static char block[1 << 16];
    for (;;) {
      if (syscall(SYS_write, fd, block, sizeof(block)) < 0) return errno;
    }
  }
  if (is("spin")) {
    volatile unsigned long i = 0;
    for (;;) i = i + 1UL;
  }
  if (is("burn")) {
    // Spins until this process has used `arg` ms of CPU, then exits 0: a known CPU cost
    // however loaded the machine is.
    const long want_ns = std::atol(arg) * 1'000'000L;
    volatile unsigned long i = 0;
    for (;;) {
      for (int k = 0; k < 100'000; ++k) i = i + 1UL;
      timespec t{};
      if (syscall(SYS_clock_gettime, CLOCK_PROCESS_CPUTIME_ID, &t) != 0) return errno;
      if (t.tv_sec * 1'000'000'000L + t.tv_nsec >= want_ns) return 0;
    }
  }
  if (is("flood")) {
    static char line[1 << 12];
    std::memset(line, 'y', sizeof(line));
    for (;;) {
      if (syscall(SYS_write, 1, line, sizeof(line)) < 0) return errno;
    }
  }
  if (is("patch_self_mem")) {
    // Rewrite our own (read-only, executable) code through /proc/self/mem to `mov eax, 42;
    // ret`, prove the patch took, then try a denied syscall: self-modification changes
    // nothing about the jail, the filter lives in the kernel.
    const int fd = static_cast<int>(syscall(SYS_openat, AT_FDCWD, "/proc/self/mem", O_RDWR));
    if (fd < 0) return errno;
    const unsigned char code[] = {0xb8, 42, 0, 0, 0, 0xc3};
    int (*volatile fn)() = PatchMe;
    const auto where = static_cast<long>(reinterpret_cast<uintptr_t>(fn));
    if (syscall(SYS_pwrite64, fd, code, sizeof(code), where) != static_cast<long>(sizeof(code))) {
      return errno;
    }
    if (fn() != 42) return 200;
    io_uring_params p{};
    syscall(SYS_io_uring_setup, 1, &p);
    return 201;
  }
  if (is("euid")) {
    // 0 when running as whoever started us (a setuid bit gave nothing), 42 otherwise.
    uid_t r, e, s;
    gid_t rg, eg, sg;
    if (getresuid(&r, &e, &s) != 0 || getresgid(&rg, &eg, &sg) != 0) return errno;
    return (r == e && e == s && rg == eg && eg == sg && e != 0) ? 0 : 42;
  }
  if (is("tiocsti_ctty")) {
    // Make stdin (a terminal) our controlling tty, then push a byte into its input.
    syscall(SYS_ioctl, 0, TIOCSCTTY, 0);
    const char c = 'x';
    return Result(syscall(SYS_ioctl, 0, TIOCSTI, &c));
  }
  if (is("echo")) {
    // Copies stdin to stdout, then prints its arguments: shows stdio passes through.
    char buf[4096];
    long n;
    while ((n = syscall(SYS_read, 0, buf, sizeof(buf))) > 0) syscall(SYS_write, 1, buf, n);
    std::printf("%s\n", arg);
    return 0;
  }
  if (is("exit")) return std::atoi(arg);
  if (is("segv")) {
    volatile int* nowhere = nullptr;
    *nowhere = 1;
    return 0;
  }
  std::fprintf(stderr, "try_syscall: unknown probe `%s`\n", name);
  return 254;
}
