// Record channel throughput at 64 B, 1 KiB and 16 KiB records (compare with
// BM_RawEvpAesGcmSeal in crypto_aead_bench, or bench/crypto_compare.sh for the ratio),
// and the round trip of a 1 KiB message over a socketpair.
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include <benchmark/benchmark.h>

#include "crypto/crypto.h"

namespace {

using namespace fnjail::crypto;

const Bytes kSecret(32, 0x61);
const Bytes kInvocation = {'b', 'e', 'n', 'c', 'h'};

void BM_ChannelSeal(benchmark::State& state) {
  const auto size = static_cast<size_t>(state.range(0));
  auto sealer = RecordSealer::Create(kSecret, kInvocation, ChannelRole::kGateway);
  if (!sealer) {
    state.SkipWithError("setup failed");
    return;
  }
  Bytes payload(size, 0x5a);
  Bytes out;
  out.reserve(size + 64);
  for (auto _ : state) {
    out.clear();
    if (!sealer->Seal(payload, out)) state.SkipWithError("seal failed");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}

void BM_ChannelOpen(benchmark::State& state) {
  const auto size = static_cast<size_t>(state.range(0));
  // Pre-seal a batch of consecutive records and open them in order, re-creating the
  // pair (outside the timing) whenever the batch is used up.
  constexpr size_t kBatch = 1024;
  Bytes payload(size, 0x5a);
  std::vector<Bytes> records(kBatch);
  std::optional<RecordOpener> opener;
  size_t next = kBatch;
  Bytes out;
  bool final = false;
  for (auto _ : state) {
    if (next == kBatch) {
      state.PauseTiming();
      auto sealer = RecordSealer::Create(kSecret, kInvocation, ChannelRole::kGateway);
      for (auto& r : records) {
        r.clear();
        (void)sealer->Seal(payload, r);
      }
      opener.emplace(std::move(*RecordOpener::Create(kSecret, kInvocation, ChannelRole::kGateway)));
      next = 0;
      state.ResumeTiming();
    }
    if (!opener->Open(records[next++], &out, &final)) state.SkipWithError("open failed");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}

// 1 KiB from gateway to runtime and back over a socketpair, one thread per end.
void BM_ChannelRoundTrip1K(benchmark::State& state) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    state.SkipWithError("socketpair failed");
    return;
  }
  auto gw = ChannelEndpoint::Create(fds[0], kSecret, kInvocation, ChannelRole::kGateway);
  auto rt = ChannelEndpoint::Create(fds[1], kSecret, kInvocation, ChannelRole::kRuntime);
  std::thread echo([&] {
    for (;;) {
      auto msg = rt->Receive();
      if (!msg || !*msg) break;
      if (!rt->Send(**msg)) break;
    }
    (void)rt->Close();
  });
  Bytes message(1024, 0x42);
  for (auto _ : state) {
    if (!gw->Send(message)) state.SkipWithError("send failed");
    auto back = gw->Receive();
    if (!back || !*back) state.SkipWithError("receive failed");
  }
  (void)gw->Close();
  (void)gw->Receive();
  echo.join();
  ::close(fds[0]);
  ::close(fds[1]);
}

BENCHMARK(BM_ChannelSeal)->Arg(64)->Arg(1024)->Arg(16384);
BENCHMARK(BM_ChannelOpen)->Arg(64)->Arg(1024)->Arg(16384);
BENCHMARK(BM_ChannelRoundTrip1K)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
