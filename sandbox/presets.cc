// Syscall presets: named allowlists, each a superset of the previous where noted.
#include "sandbox/internal/presets.h"

#include <array>

namespace fnjail::sandbox::internal::presets {
namespace {

// A static, single-threaded runtime: memory, time, signals, stdio and already-open fds.
constexpr std::array kMinimal = {
    "read", "write", "readv", "writev", "pread64", "pwrite64", "close", "fstat", "lseek",
    "brk", "mmap", "munmap", "mprotect", "mremap", "madvise", "exit", "exit_group",
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "restart_syscall",
    "getpid", "gettid", "getuid", "geteuid", "getgid", "getegid", "arch_prctl",
    "set_tid_address", "set_robust_list", "rseq", "futex", "clock_gettime", "clock_getres",
    "clock_nanosleep", "nanosleep", "gettimeofday", "getrandom", "prlimit64", "uname",
    "sched_yield", "fcntl", "dup", "dup2", "dup3", "poll", "ppoll", "pipe2", "tgkill",
    "getrusage"};

// File reading and the channel socket on top of minimal: what an embedded Lua runtime needs.
// `seccomp` lets a program stack a stricter filter of its own (fnjail-runtime drops execve
// and child processes that way); a filter can only take syscalls away.
constexpr std::array kLuaExtra = {
    "openat", "newfstatat", "statx", "readlink", "readlinkat", "access", "faccessat",
    "faccessat2", "getdents64", "getcwd", "sendmsg", "recvmsg", "sendto", "recvfrom",
    "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "times", "clock_getres",
    "sysinfo", "ftruncate", "fsync", "fdatasync", "unlink", "unlinkat", "rename",
    "renameat", "renameat2", "mkdir", "mkdirat", "rmdir", "seccomp"};

// Any dynamically linked program: exec, processes, files, sockets (families are filtered
// by network mode), timers.
constexpr std::array kExecExtra = {
    "execve", "execveat", "open", "stat", "lstat", "fstatfs", "statfs", "chdir", "fchdir",
    "ioctl", "pipe", "wait4", "waitid", "clone", "fork", "vfork", "kill", "getppid",
    "getpgrp", "setpgid", "getpgid", "getsid", "setsid", "umask", "symlink", "symlinkat",
    "link", "linkat", "chmod", "fchmod", "fchmodat", "fchown", "fchownat", "lchown", "chown",
    "utimensat", "futimesat", "utime", "utimes", "truncate", "fadvise64", "select",
    "pselect6", "epoll_create", "eventfd2", "timerfd_create", "timerfd_settime",
    "timerfd_gettime", "socket", "socketpair", "connect", "bind", "listen", "accept",
    "accept4", "shutdown", "getsockname", "getpeername", "setsockopt", "getsockopt",
    "sendmmsg", "recvmmsg", "sched_getaffinity", "getgroups", "getresuid", "getresgid",
    "capget", "prctl", "membarrier", "getitimer", "setitimer", "alarm", "copy_file_range",
    "sendfile", "splice", "tee", "flock", "memfd_create", "mincore", "msync",
    "sched_getparam", "sched_getscheduler", "getpriority", "getcpu", "readahead",
    "inotify_init1", "inotify_add_watch", "inotify_rm_watch", "rt_sigsuspend",
    "rt_sigtimedwait", "rt_sigqueueinfo", "pause", "setrlimit", "getrlimit", "fallocate",
    "close_range", "pidfd_open", "pidfd_send_signal", "mlock", "munlock", "get_robust_list",
    "rt_tgsigqueueinfo", "sched_get_priority_max", "sched_get_priority_min"};

// CPython's extras on top of exec-default.
constexpr std::array kPythonExtra = {"sched_setaffinity", "getxattr", "lgetxattr",
                                     "fgetxattr", "listxattr", "llistxattr", "flistxattr",
                                     "epoll_pwait2", "statx", "pkey_alloc", "pkey_free",
                                     "pkey_mprotect", "shmget", "shmat", "shmdt", "shmctl"};

constexpr std::array kAlwaysDenied = {
    "io_uring_setup", "io_uring_enter", "io_uring_register", "userfaultfd", "bpf",
    "perf_event_open", "keyctl", "add_key", "request_key", "ptrace", "process_vm_readv",
    "process_vm_writev", "mount", "umount2", "mount_setattr", "move_mount", "open_tree",
    "fsopen", "fsconfig", "fsmount", "fspick", "pivot_root", "chroot", "unshare", "setns",
    "personality", "open_by_handle_at", "name_to_handle_at", "kexec_load", "kexec_file_load",
    "init_module", "finit_module", "delete_module", "acct", "swapon", "swapoff", "reboot",
    "syslog", "quotactl", "quotactl_fd", "fanotify_init", "iopl", "ioperm", "settimeofday",
    "clock_settime", "clock_adjtime", "adjtimex", "vhangup", "lookup_dcookie", "pidfd_getfd",
    "process_madvise", "kcmp"};

template <class... Arrays>
std::vector<std::string_view> Concat(const Arrays&... arrays) {
  std::vector<std::string_view> out;
  (out.insert(out.end(), arrays.begin(), arrays.end()), ...);
  return out;
}

}  // namespace

std::optional<std::vector<std::string_view>> Find(std::string_view name) {
  if (name == "minimal") return Concat(kMinimal);
  if (name == "lua") return Concat(kMinimal, kLuaExtra);
  if (name == "exec-default") return Concat(kMinimal, kLuaExtra, kExecExtra);
  if (name == "python") return Concat(kMinimal, kLuaExtra, kExecExtra, kPythonExtra);
  return std::nullopt;
}

std::vector<std::string_view> Names() { return {"minimal", "lua", "exec-default", "python"}; }

std::vector<std::string_view> AlwaysDenied() { return Concat(kAlwaysDenied); }

}  // namespace fnjail::sandbox::internal::presets
