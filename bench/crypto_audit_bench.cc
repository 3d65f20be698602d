// Audit log appends per second with group commit (fdatasync per batch), against one
// fdatasync per record, on the disk of the current directory (or $FNJAIL_BENCH_DIR).
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <benchmark/benchmark.h>

#include "crypto/crypto.h"

namespace {

using namespace fnjail::crypto;

std::string BenchLog(const char* name) {
  const char* dir = std::getenv("FNJAIL_BENCH_DIR");
  std::filesystem::path p = std::filesystem::path(dir != nullptr ? dir : ".") /
                            (std::string("fnjail_bench_") + name + "_" +
                             std::to_string(::getpid()) + ".log");
  std::filesystem::remove(p);
  return p.string();
}

AuditRecord Record(uint64_t n) {
  AuditRecord r;
  r.time_ms = 1'800'000'000'000 + static_cast<int64_t>(n);
  r.request_id = "req-" + std::to_string(n);
  r.principal = "arn:fnjail:iam::team:user/alice";
  r.auth_method = "jwt";
  r.operation = "function:Invoke";
  r.function = "fn:resize-image";
  r.source_ip = "10.1.2.3";
  r.http_status = 200;
  r.allowed = true;
  r.decision_reason = "explicit-allow";
  r.statements = {"team-policy#AllowInvoke"};
  r.input_sha256 = std::string(64, 'c');
  r.duration_ms = 41;
  r.billed_duration_ms = 42;
  r.cpu_ms = 17;
  r.peak_memory_bytes = 23 << 20;
  r.outcome = "exited";
  return r;
}

std::unique_ptr<AuditWriter> Open(const std::string& path, AuditSync sync) {
  auto key = Ed25519SigningKey::FromSeed(Bytes(32, 9));
  AuditOptions options;
  options.path = path;
  options.sync = sync;
  auto w = AuditWriter::Open(options, std::move(*key));
  return w ? std::move(*w) : nullptr;
}

// A pipelined producer (the gateway's event loop): appends without waiting, the writer
// thread group-commits; the clock stops when the last record is durable.
void BM_AuditAppendGroupCommit(benchmark::State& state) {
  std::string path = BenchLog("group");
  auto log = Open(path, AuditSync::kBatched);
  if (!log) {
    state.SkipWithError("cannot open the log");
    return;
  }
  uint64_t n = 0;
  uint64_t last = 0;
  for (auto _ : state) {
    auto seq = log->Append(Record(n++));
    if (!seq) state.SkipWithError("append failed");
    last = seq.value_or(last);
  }
  if (!log->WaitDurable(last)) state.SkipWithError("sync failed");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  (void)log->Close();
  std::filesystem::remove(path);
}

// Many concurrent requests, each waiting for its own durable acknowledgment.
std::unique_ptr<AuditWriter> g_shared;
std::string g_shared_path;

void BM_AuditAppendDurableConcurrent(benchmark::State& state) {
  if (state.thread_index() == 0) {
    g_shared_path = BenchLog("concurrent");
    g_shared = Open(g_shared_path, AuditSync::kBatched);
  }
  uint64_t n = static_cast<uint64_t>(state.thread_index()) << 32;
  for (auto _ : state) {
    if (!g_shared || !g_shared->AppendDurable(Record(n++))) state.SkipWithError("append failed");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  if (state.thread_index() == 0) {
    if (g_shared) (void)g_shared->Close();
    g_shared.reset();
    std::filesystem::remove(g_shared_path);
  }
}

// The baseline: one fdatasync per record.
void BM_AuditAppendEveryRecordSync(benchmark::State& state) {
  std::string path = BenchLog("every");
  auto log = Open(path, AuditSync::kEveryRecord);
  if (!log) {
    state.SkipWithError("cannot open the log");
    return;
  }
  uint64_t n = 0;
  for (auto _ : state) {
    if (!log->AppendDurable(Record(n++))) state.SkipWithError("append failed");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  (void)log->Close();
  std::filesystem::remove(path);
}

BENCHMARK(BM_AuditAppendGroupCommit)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_AuditAppendDurableConcurrent)->Threads(64)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_AuditAppendEveryRecordSync)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
