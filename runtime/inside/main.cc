// fnjail-runtime: the program inside a function's jail. It reads the per-launch secret
// from the channel (fd 3), then serves invocations on it, one at a time, until the gateway
// closes the channel (docs/runtimes.md).
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/crypto.h"
#include "runtime/inside/exec_runtime.h"
#include "runtime/inside/lockdown.h"
#include "runtime/inside/lua_runtime.h"
#include "runtime/internal/wire.h"
#include "runtime/protocol.h"

namespace fnjail::runtime::inside {
namespace {

constexpr int kChannelFd = 3;
constexpr int kExitUsage = 2;
constexpr int kExitChannel = 3;
constexpr int kExitLockdown = 4;
// An environment with no invocation for this long is idle: its freed heap goes back to
// the kernel (environments spend most of their life idle, and there may be a thousand).
constexpr int kIdleTrimMs = 50;

constexpr const char* kUsage =
    "usage: fnjail-runtime lua [--memory-limit-mb N] [--init-timeout-ms N] HANDLER.lua\n"
    "       fnjail-runtime exec --mode simple|persistent -- COMMAND [ARG...]\n"
    "\n"
    "The runtime inside a function's jail. It reads the launch message from fd 3, then\n"
    "serves invocations on fd 3, one at a time, until the gateway closes the channel\n"
    "(docs/runtimes.md has the protocol).\n"
    "\n"
    "  lua    loads HANDLER.lua once and calls its `handler(event, ctx)` per invocation;\n"
    "         --memory-limit-mb caps the Lua heap (default 64), --init-timeout-ms the\n"
    "         handler file's top level (default 10000)\n"
    "  exec   runs COMMAND: once per invocation (simple: event on stdin, body on stdout)\n"
    "         or once for all (persistent: length-prefixed frames on stdin and stdout)\n"
    "\n"
    "Exit status: 0 when the gateway closed the channel, 2 on a usage error, 3 when the\n"
    "channel failed (malformed, unauthenticated or cut input), 4 when the lua runtime\n"
    "could not install its own seccomp filter (no execve, no child process) and so\n"
    "refused to serve.\n";

int Usage(const char* problem) {
  std::fprintf(stderr, "fnjail-runtime: %s\n%s", problem, kUsage);
  return kExitUsage;
}

int ChannelFailure(const std::string& why) {
  std::fprintf(stderr, "fnjail-runtime: channel: %s\n", why.c_str());
  return kExitChannel;
}

bool ParseNumber(const char* text, uint64_t max, uint64_t* out) {
  std::string_view s(text);
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v == 0 || v > max) return false;
  *out = v;
  return true;
}

// Reads exactly `n` bytes. Returns the count read before EOF (n on success), or -1.
ssize_t ReadExact(int fd, char* buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  return static_cast<ssize_t>(got);
}

int Serve(Runtime& runtime, int fd) {
  char launch[wire::kLaunchBytes];
  ssize_t got = ReadExact(fd, launch, sizeof launch);
  if (got == 0) return 0;  // closed before launch: nothing to do
  if (got != static_cast<ssize_t>(sizeof launch)) return ChannelFailure("short launch message");
  auto secret = wire::DecodeLaunch(std::string_view(launch, sizeof launch));
  std::memset(launch, 0, sizeof launch);
  if (!secret) return ChannelFailure(secret.error().message);

  uint64_t last_counter = 0;
  bool trimmed = false;
  for (;;) {
    if (!trimmed) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, kIdleTrimMs) == 0) {
        ::malloc_trim(0);
        trimmed = true;
      }
    }
    char header[wire::kInvocationHeaderBytes];
    got = ReadExact(fd, header, sizeof header);
    if (got == 0) return 0;  // the gateway closed the channel between invocations
    if (got != static_cast<ssize_t>(sizeof header)) {
      return ChannelFailure("short invocation header");
    }
    auto h = wire::DecodeInvocationHeader(std::string_view(header, sizeof header));
    if (!h) return ChannelFailure(h.error().message);
    // Counters only grow: an old invocation replayed into the socket never opens again.
    if (h->counter <= last_counter) return ChannelFailure("invocation counter went backwards");
    last_counter = h->counter;
    std::string request_id(h->request_id_bytes, '\0');
    if (ReadExact(fd, request_id.data(), request_id.size()) !=
        static_cast<ssize_t>(request_id.size())) {
      return ChannelFailure("short request id");
    }
    if (!wire::ValidRequestId(request_id)) return ChannelFailure("invalid request id");

    std::string id = wire::ChannelInvocationId(h->counter, request_id);
    auto endpoint = crypto::ChannelEndpoint::Create(fd, crypto::AsBytes(*secret),
                                                    crypto::AsBytes(id),
                                                    crypto::ChannelRole::kRuntime);
    if (!endpoint) return ChannelFailure(endpoint.error().ToString());
    std::string message;
    for (;;) {
      auto record = endpoint->Receive();
      if (!record) return ChannelFailure(record.error().ToString());
      if (!record->has_value()) break;
      if (message.size() + (*record)->size() > wire::kMaxMessageBytes) {
        return ChannelFailure("invocation larger than the protocol allows");
      }
      message.append(crypto::AsChars(**record));
    }
    auto invocation = DecodeInvocation(message);
    if (!invocation) return ChannelFailure(invocation.error().message);
    if (invocation->request_id != request_id) {
      return ChannelFailure("the request id differs from the invocation header");
    }
    message.clear();
    message.shrink_to_fit();

    trimmed = false;
    const Clock::time_point deadline =
        Clock::now() + std::chrono::milliseconds(invocation->deadline_ms);
    Response response = runtime.Handle(*invocation, deadline);
    ClampResponse(response);
    auto encoded = EncodeResponse(response);
    if (!encoded) {
      // ClampResponse makes every response encodable; this is a bug, reported as such.
      Response fallback;
      fallback.kind = Response::Kind::kUnhandledError;
      fallback.status = 500;
      fallback.error_type = "runtime";
      fallback.error_message = "the runtime could not encode the response";
      fallback.tainted = true;
      encoded = EncodeResponse(fallback);
    }
    if (auto sent = endpoint->Send(crypto::AsBytes(*encoded)); !sent) {
      return ChannelFailure(sent.error().ToString());
    }
    if (auto closed = endpoint->Close(); !closed) {
      return ChannelFailure(closed.error().ToString());
    }
  }
}

int Main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty()) return Usage("missing runtime (lua or exec)");

  std::unique_ptr<Runtime> runtime;
  if (args[0] == "lua") {
    // First of all, before the launch secret is read and before any Lua is loaded: the
    // jail's filter allowed execve to start this program; nothing here needs it again.
    if (std::string why; !InstallLuaLockdown(&why)) {
      std::fprintf(stderr, "fnjail-runtime: %s; refusing to serve\n", why.c_str());
      return kExitLockdown;
    }
    LuaOptions options;
    size_t i = 1;
    for (; i < args.size() && args[i].substr(0, 2) == "--"; i += 2) {
      if (i + 1 >= args.size()) return Usage("option without a value");
      uint64_t v = 0;
      if (args[i] == "--memory-limit-mb") {
        if (!ParseNumber(argv[i + 2], 1 << 20, &v)) return Usage("bad --memory-limit-mb");
        options.memory_limit_bytes = static_cast<size_t>(v) << 20;
      } else if (args[i] == "--init-timeout-ms") {
        if (!ParseNumber(argv[i + 2], kMaxDeadlineMs, &v)) return Usage("bad --init-timeout-ms");
        options.init_timeout_ms = v;
      } else {
        return Usage("unknown option");
      }
    }
    if (i + 1 != args.size()) return Usage("lua takes exactly one handler file");
    options.handler_path = std::string(args[i]);
    runtime = MakeLuaRuntime(options);
  } else if (args[0] == "exec") {
    // Handler processes of this jail cannot read this process's memory through /proc: it
    // holds the channel secret. (The Lua runtime has no other process, and its syscall
    // preset has no prctl.)
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    ExecOptions options;
    if (args.size() < 5 || args[1] != "--mode" || args[3] != "--") {
      return Usage("exec needs --mode simple|persistent -- COMMAND");
    }
    if (args[2] == "persistent") {
      options.persistent = true;
    } else if (args[2] != "simple") {
      return Usage("--mode is simple or persistent");
    }
    for (size_t i = 4; i < args.size(); ++i) options.argv.emplace_back(args[i]);
    runtime = MakeExecRuntime(options);
  } else {
    return Usage("unknown runtime (lua or exec)");
  }
  const int code = Serve(*runtime, kChannelFd);
  // The exec runtimes stop their handler processes here. The Lua state is not closed:
  // closing it would run the handler's __gc finalizers, with no deadline, on the way out.
  // The process ends with _exit so no destructor (or leak check) touches it.
  if (args[0] == "lua") {
    (void)runtime.release();
  } else {
    runtime.reset();
  }
  std::fflush(nullptr);
  ::_exit(code);
}

}  // namespace
}  // namespace fnjail::runtime::inside

int main(int argc, char** argv) {
  if (argc == 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    std::fputs(fnjail::runtime::inside::kUsage, stdout);
    return 0;
  }
  // A handler process that stops reading must not kill the runtime (write gets EPIPE).
  ::signal(SIGPIPE, SIG_IGN);
  // Descriptors 0-2 exist, so no pipe ever lands there; the channel is never inherited.
  for (int fd = 0; fd < 3; ++fd) {
    if (::fcntl(fd, F_GETFD) < 0) ::open("/dev/null", O_RDWR);
  }
  if (::fcntl(fnjail::runtime::inside::kChannelFd, F_GETFD) < 0) {
    std::fprintf(stderr, "fnjail-runtime: no channel on fd 3\n");
    return 3;
  }
  ::fcntl(fnjail::runtime::inside::kChannelFd, F_SETFD, FD_CLOEXEC);
  return fnjail::runtime::inside::Main(argc, argv);
}
