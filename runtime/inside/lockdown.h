// The runtime's own seccomp filter, stacked on the jail's. The jail's filter must allow
// execve (the launcher installs it, then executes the runtime); once the Lua runtime runs,
// it never needs a new program or a child process, so it closes both on itself before it
// reads the channel or loads any Lua (docs/runtimes.md, "Security").
#pragma once

#include <linux/filter.h>

#include <string>
#include <vector>

namespace fnjail::runtime::inside {

// The classic BPF program of the Lua runtime's filter: a foreign architecture (and, on
// x86-64, an x32 syscall number) kills the process; so do execve, execveat, fork, vfork
// and clone without CLONE_THREAD; clone3 answers ENOSYS (its flags are in memory, out of
// a filter's reach, and libc then falls back to clone); everything else goes on to the
// jail's filter.
std::vector<sock_filter> LuaLockdownProgram();

// Installs LuaLockdownProgram on the calling process (no other thread exists yet). Inside a
// jail no_new_privs is already set; outside one (tests, a manual run) it is set here when
// the kernel asks for it. Returns false with the reason in `error` when the filter could not
// be installed: the caller must then refuse to serve.
bool InstallLuaLockdown(std::string* error);

}  // namespace fnjail::runtime::inside
