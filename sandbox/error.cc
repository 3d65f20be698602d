// sandbox::Error rendering and the names of setup steps and outcomes.
#include <cstring>
#include <string>

#include "sandbox/sandbox.h"

namespace fnjail::sandbox {

std::string_view StepName(Step step) noexcept {
  switch (step) {
    case Step::kNone: return "none";
    case Step::kValidate: return "validate";
    case Step::kProfile: return "profile";
    case Step::kPrepare: return "prepare";
    case Step::kSeccompCompile: return "seccomp-compile";
    case Step::kCgroup: return "cgroup";
    case Step::kPipe: return "pipe";
    case Step::kClone: return "clone";
    case Step::kUserNsMap: return "user-ns-map";
    case Step::kPtrace: return "ptrace";
    case Step::kSync: return "sync";
    case Step::kMountPrivate: return "mount-private";
    case Step::kMountRoot: return "mount-root";
    case Step::kPivotRoot: return "pivot-root";
    case Step::kMkdir: return "mkdir";
    case Step::kMkfile: return "mkfile";
    case Step::kSymlink: return "symlink";
    case Step::kBind: return "bind";
    case Step::kRemount: return "remount";
    case Step::kTmpfs: return "tmpfs";
    case Step::kProc: return "proc";
    case Step::kDetachOldRoot: return "detach-old-root";
    case Step::kNetwork: return "network";
    case Step::kHostname: return "hostname";
    case Step::kCgroupNs: return "cgroup-ns";
    case Step::kRlimits: return "rlimits";
    case Step::kStdio: return "stdio";
    case Step::kCloseFds: return "close-fds";
    case Step::kSetsid: return "setsid";
    case Step::kChdir: return "chdir";
    case Step::kSetGroups: return "setgroups";
    case Step::kSetGid: return "setgid";
    case Step::kSetUid: return "setuid";
    case Step::kSecureBits: return "securebits";
    case Step::kCapBounding: return "cap-bounding";
    case Step::kCapAmbient: return "cap-ambient";
    case Step::kCaps: return "caps";
    case Step::kNoNewPrivs: return "no-new-privs";
    case Step::kSignals: return "signals";
    case Step::kFindCommand: return "find-command";
    case Step::kSeccomp: return "seccomp";
    case Step::kExec: return "exec";
    case Step::kWait: return "wait";
  }
  return "unknown";
}

std::string Error::ToString() const {
  std::string out = "step ";
  out += StepName(step);
  out += ": ";
  out += std::strerror(err);
  if (!detail.empty()) {
    out += " (";
    out += detail;
    out += ")";
  }
  return out;
}

std::string_view OutcomeKindName(Outcome::Kind kind) noexcept {
  switch (kind) {
    case Outcome::Kind::kExited: return "exited";
    case Outcome::Kind::kSignaled: return "signaled";
    case Outcome::Kind::kTimeout: return "timeout";
    case Outcome::Kind::kOomKilled: return "oom";
    case Outcome::Kind::kPidsLimit: return "pids";
    case Outcome::Kind::kSeccompViolation: return "seccomp";
    case Outcome::Kind::kOutputLimit: return "output-limit";
  }
  return "unknown";
}

int Outcome::ShellStatus() const {
  constexpr int kSigKill = 9;
  constexpr int kSigSys = 31;
  switch (kind) {
    case Kind::kExited: return exit_code;
    case Kind::kSignaled: return 128 + signal;
    case Kind::kSeccompViolation: return 128 + kSigSys;
    case Kind::kTimeout:
    case Kind::kOomKilled:
    case Kind::kPidsLimit:
    case Kind::kOutputLimit: return 128 + kSigKill;
  }
  return 128 + kSigKill;
}

}  // namespace fnjail::sandbox
