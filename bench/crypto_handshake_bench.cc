// The cost of the remote channel's handshake: the two state machines in memory (CPU: two
// X25519 agreements, two Ed25519 signatures and verifications, HKDFs), and a whole
// ConnectAuthenticated/AcceptAuthenticated over a socketpair and over loopback TCP.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include <benchmark/benchmark.h>

#include "crypto/crypto.h"

namespace {

using namespace fnjail::crypto;

const Bytes kInvocation = {'b', 'e', 'n', 'c', 'h'};

struct Keys {
  Ed25519SigningKey gateway;
  Ed25519SigningKey worker;
};

std::optional<Keys> MakeKeys() {
  auto g = Ed25519SigningKey::Generate();
  auto w = Ed25519SigningKey::Generate();
  if (!g || !w) return std::nullopt;
  return Keys{std::move(*g), std::move(*w)};
}

void BM_HandshakeInMemory(benchmark::State& state) {
  auto keys = MakeKeys();
  if (!keys) {
    state.SkipWithError("key setup failed");
    return;
  }
  for (auto _ : state) {
    auto init = HandshakeInitiator::Create(keys->gateway, keys->worker.public_key(), kInvocation);
    auto resp = HandshakeResponder::Create(keys->worker, keys->gateway.public_key());
    auto reply = resp->ReadHello(init->hello());
    auto finish = reply ? init->ReadReply(*reply) : Result<Bytes>(Fail("bench", "hello"));
    auto done = finish ? resp->ReadFinish(*finish) : Result<HandshakeResult>(Fail("bench", "r"));
    if (!done) state.SkipWithError("handshake failed");
    benchmark::DoNotOptimize(done->secret.data());
  }
}

// One authenticated connection per iteration over an already connected pair of
// descriptors; the worker thread accepts in a loop.
void RunOverSockets(benchmark::State& state, int gateway_fd, int worker_fd) {
  auto keys = MakeKeys();
  if (!keys) {
    state.SkipWithError("key setup failed");
    return;
  }
  std::thread worker([&] {
    for (;;) {
      auto accepted =
          ChannelEndpoint::AcceptAuthenticated(worker_fd, keys->worker, keys->gateway.public_key());
      if (!accepted) break;
    }
  });
  for (auto _ : state) {
    auto gw = ChannelEndpoint::ConnectAuthenticated(gateway_fd, keys->gateway,
                                                    keys->worker.public_key(), kInvocation);
    if (!gw) state.SkipWithError("handshake failed");
  }
  ::shutdown(gateway_fd, SHUT_RDWR);
  worker.join();
}

void BM_HandshakeSocketPair(benchmark::State& state) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    state.SkipWithError("socketpair failed");
    return;
  }
  RunOverSockets(state, fds[0], fds[1]);
  ::close(fds[0]);
  ::close(fds[1]);
}

void BM_HandshakeLoopbackTcp(benchmark::State& state) {
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  if (listener < 0 || client < 0 ||
      ::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener, 1) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      ::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    state.SkipWithError("loopback setup failed");
    return;
  }
  int server = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  RunOverSockets(state, client, server);
  ::close(client);
  ::close(server);
  ::close(listener);
}

BENCHMARK(BM_HandshakeInMemory)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_HandshakeSocketPair)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_HandshakeLoopbackTcp)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
