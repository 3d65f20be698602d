// Tests for crypto/audit_writer.cc: group commit, checkpoints, recovery, kill -9 safety.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "tests/crypto/audit_test_util.h"
#include "tests/testing/result_matchers.h"

namespace fnjail::crypto {
namespace {

using ::fnjail::testing::HasError;
using ::fnjail::testing::IsOk;
using testing::ReadAll;
using testing::SampleRecord;
using testing::TempDir;

Ed25519SigningKey TestKey() {
  auto key = Ed25519SigningKey::FromSeed(Bytes(32, 0x11));
  EXPECT_TRUE(key.has_value());
  return std::move(*key);
}

std::unique_ptr<AuditWriter> OpenLog(AuditOptions options) {
  auto w = AuditWriter::Open(std::move(options), TestKey());
  EXPECT_THAT(w, IsOk());
  return w ? std::move(*w) : nullptr;
}

AuditVerifyReport Verify(const std::string& path, std::vector<std::string>* ids = nullptr) {
  auto report = VerifyAuditLog(path, TestKey().public_key(), {},
                               [ids](uint64_t, std::string_view json) {
                                 if (ids) {
                                   ids->push_back(nlohmann::json::parse(json)["request_id"]);
                                 }
                               });
  EXPECT_THAT(report, IsOk());
  return report.value_or(AuditVerifyReport{});
}

TEST(AuditWriterTest, AppendsDurablyAndVerifies) {
  TempDir dir;
  AuditOptions options;
  options.path = dir.File("audit.log");
  options.checkpoint_every_records = 4;
  auto log = OpenLog(options);
  ASSERT_NE(log, nullptr);
  for (uint64_t i = 0; i < 10; ++i) {
    auto seq = log->AppendDurable(SampleRecord(i));
    ASSERT_THAT(seq, IsOk());
  }
  ASSERT_THAT(log->Close(), IsOk());
  ASSERT_THAT(log->Close(), IsOk()) << "Close is idempotent";
  std::vector<std::string> ids;
  AuditVerifyReport r = Verify(options.path, &ids);
  EXPECT_TRUE(r.intact) << r.problem;
  EXPECT_EQ(r.records, 10u);
  // Every 4 records (2), plus the shutdown checkpoint sealing records 9 and 10.
  EXPECT_EQ(r.checkpoints, 3u);
  EXPECT_EQ(r.unsealed_records, 0u);
  EXPECT_EQ(r.entries, 1u + 10u + 3u);
  ASSERT_EQ(ids.size(), 10u);
  EXPECT_EQ(ids.front(), "req-0");
  EXPECT_EQ(ids.back(), "req-9");
  EXPECT_THAT(log->Append(SampleRecord(99)), HasError("closed"));
}

TEST(AuditWriterTest, ReopenContinuesTheChain) {
  TempDir dir;
  AuditOptions options;
  options.path = dir.File("audit.log");
  {
    auto log = OpenLog(options);
    ASSERT_THAT(log->AppendDurable(SampleRecord(1)), IsOk());
  }
  auto log = OpenLog(options);
  EXPECT_EQ(log->recovery().entries, 3u);  // genesis, record, shutdown checkpoint
  EXPECT_EQ(log->recovery().torn_bytes_cut, 0u);
  auto seq = log->AppendDurable(SampleRecord(2));
  ASSERT_THAT(seq, IsOk());
  EXPECT_EQ(*seq, 3u);
  ASSERT_THAT(log->Close(), IsOk());
  AuditVerifyReport r = Verify(options.path);
  EXPECT_TRUE(r.intact) << r.problem;
  EXPECT_EQ(r.records, 2u);
}

TEST(AuditWriterTest, EveryRecordSyncMode) {
  TempDir dir;
  AuditOptions options;
  options.path = dir.File("audit.log");
  options.sync = AuditSync::kEveryRecord;
  auto log = OpenLog(options);
  std::vector<uint64_t> seqs;
  for (int i = 0; i < 5; ++i) seqs.push_back(*log->Append(SampleRecord(static_cast<uint64_t>(i))));
  ASSERT_THAT(log->WaitDurable(seqs.back()), IsOk());
  ASSERT_THAT(log->Close(), IsOk());
  EXPECT_EQ(Verify(options.path).records, 5u);
}

TEST(AuditWriterTest, BatchedWithDelayStillAcknowledges) {
  TempDir dir;
  AuditOptions options;
  options.path = dir.File("audit.log");
  options.max_batch_delay_ms = 5;
  auto log = OpenLog(options);
  ASSERT_THAT(log->AppendDurable(SampleRecord(1)), IsOk());
  ASSERT_THAT(log->Close(), IsOk());
  EXPECT_TRUE(Verify(options.path).intact);
}

TEST(AuditWriterTest, ConcurrentAppendersGetDistinctDurableEntries) {
  TempDir dir;
  AuditOptions options;
  options.path = dir.File("audit.log");
  options.checkpoint_every_records = 100;
  auto log = OpenLog(options);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  std::vector<std::thread> threads;
  std::vector<std::vector<uint64_t>> seqs(kThreads);
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto seq = log->AppendDurable(SampleRecord(static_cast<uint64_t>(t * kPerThread + i)));
        if (seq) {
          seqs[static_cast<size_t>(t)].push_back(*seq);
        } else {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  std::set<uint64_t> all;
  for (const auto& v : seqs) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
  ASSERT_THAT(log->Close(), IsOk());
  AuditVerifyReport r = Verify(options.path);
  EXPECT_TRUE(r.intact) << r.problem;
  EXPECT_EQ(r.records, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(r.checkpoints, 16u);
}

TEST(AuditWriterTest, TimedCheckpointSealsIdleRecords) {
  TempDir dir;
  AuditOptions options;
  options.path = dir.File("audit.log");
  options.checkpoint_interval_ms = 20;
  auto log = OpenLog(options);
  ASSERT_THAT(log->AppendDurable(SampleRecord(1)), IsOk());
  AuditVerifyReport r;
  for (int i = 0; i < 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    r = Verify(options.path);
    if (r.checkpoints > 0) break;
  }
  EXPECT_EQ(r.checkpoints, 1u);
  EXPECT_EQ(r.unsealed_records, 0u);
  EXPECT_TRUE(r.intact);
}

TEST(AuditWriterTest, ExplicitCheckpointAndUnknownSeq) {
  TempDir dir;
  AuditOptions options;
  options.path = dir.File("audit.log");
  auto log = OpenLog(options);
  ASSERT_THAT(log->Append(SampleRecord(1)), IsOk());
  auto cp = log->Checkpoint();
  ASSERT_THAT(cp, IsOk());
  EXPECT_EQ(*cp, 2u);
  ASSERT_THAT(log->WaitDurable(*cp), IsOk());
  EXPECT_THAT(log->WaitDurable(1000), HasError("no entry 1000"));
}

TEST(AuditWriterTest, IsDurableAndWaitDurableFor) {
  TempDir dir;
  AuditOptions options;
  options.path = dir.File("audit.log");
  options.max_batch_delay_ms = 200;  // holds the batch open: not durable at once
  auto log = OpenLog(options);
  ASSERT_NE(log, nullptr);
  auto seq = log->Append(SampleRecord(1));
  ASSERT_THAT(seq, IsOk());
  EXPECT_FALSE(log->IsDurable(*seq));
  EXPECT_THAT(log->WaitDurableFor(*seq, 1), HasError("not durable within 1 ms"));
  EXPECT_THAT(log->WaitDurableFor(*seq, 10000), IsOk());
  EXPECT_TRUE(log->IsDurable(*seq));
  EXPECT_TRUE(log->IsDurable(0));  // the genesis entry
  EXPECT_FALSE(log->IsDurable(*seq + 100));
  EXPECT_THAT(log->WaitDurableFor(*seq + 100, 10), HasError("no entry"));
  // A timeout does not fail the writer.
  EXPECT_THAT(log->AppendDurable(SampleRecord(2)), IsOk());
  EXPECT_THAT(log->Close(), IsOk());
}

TEST(AuditWriterTest, OneWriterPerLog) {
  TempDir dir;
  AuditOptions options;
  options.path = dir.File("audit.log");
  auto first = OpenLog(options);
  EXPECT_THAT(AuditWriter::Open(options, TestKey()), HasError("locked by another writer"));
}

TEST(AuditWriterTest, RefusesAnotherKeysLog) {
  TempDir dir;
  AuditOptions options;
  options.path = dir.File("audit.log");
  ASSERT_THAT(OpenLog(options)->Close(), IsOk());
  auto other = Ed25519SigningKey::FromSeed(Bytes(32, 0x22));
  ASSERT_THAT(other, IsOk());
  EXPECT_THAT(AuditWriter::Open(options, std::move(*other)),
              HasError("different checkpoint key"));
}

TEST(AuditWriterTest, CutsOnlyATornTail) {
  TempDir dir;
  AuditOptions options;
  options.path = dir.File("audit.log");
  {
    auto log = OpenLog(options);
    for (uint64_t i = 0; i < 3; ++i) ASSERT_THAT(log->AppendDurable(SampleRecord(i)), IsOk());
  }
  Bytes intact = ReadAll(options.path);
  auto frames = testing::Frames(intact);
  // A crash mid-write: half of an extra frame at the end.
  Bytes torn = intact;
  torn.insert(torn.end(), intact.begin() + static_cast<long>(frames[1].offset),
              intact.begin() + static_cast<long>(frames[1].offset + frames[1].size / 2));
  testing::WriteAll(options.path, torn);
  {
    auto log = OpenLog(options);
    EXPECT_EQ(log->recovery().torn_bytes_cut, frames[1].size / 2);
    ASSERT_THAT(log->AppendDurable(SampleRecord(9)), IsOk());
  }
  AuditVerifyReport r = Verify(options.path);
  EXPECT_TRUE(r.intact) << r.problem;
  EXPECT_EQ(r.records, 4u);
  // Zero-filled blocks at the end (size extended, data never written): cut as well.
  Bytes zeros = ReadAll(options.path);
  zeros.resize(zeros.size() + 4096, 0);
  testing::WriteAll(options.path, zeros);
  EXPECT_EQ(OpenLog(options)->recovery().torn_bytes_cut, 4096u);
}

TEST(AuditWriterTest, RefusesToAppendToACorruptLog) {
  TempDir dir;
  AuditOptions options;
  options.path = dir.File("audit.log");
  {
    auto log = OpenLog(options);
    for (uint64_t i = 0; i < 3; ++i) ASSERT_THAT(log->AppendDurable(SampleRecord(i)), IsOk());
  }
  Bytes file = ReadAll(options.path);
  auto frames = testing::Frames(file);
  file[frames[2].offset + 60] ^= 1;  // inside record 2, with valid frames after it
  testing::WriteAll(options.path, file);
  EXPECT_THAT(AuditWriter::Open(options, TestKey()), HasError("entry 2 at offset"));
  EXPECT_EQ(ReadAll(options.path), file) << "a refused open must not touch the log";
  testing::WriteAll(options.path, Bytes{'n', 'o', 't', ' ', 'a', ' ', 'l', 'o', 'g', '!'});
  EXPECT_THAT(AuditWriter::Open(options, TestKey()), HasError("not an fnjail audit log"));
}

// kill -9 the writer at random moments: every acknowledged record must survive and the
// log must verify after recovery. Acknowledgments travel over a pipe, written only after
// AppendDurable returned.
TEST(AuditWriterTest, KillNineNeverLosesAnAcknowledgedRecord) {
  TempDir dir;
  AuditOptions options;
  options.path = dir.File("audit.log");
  options.checkpoint_every_records = 50;
  std::mt19937 rng(12345);
  std::set<std::string> acked;
  constexpr int kRounds = 12;
  for (int round = 0; round < kRounds; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      auto w = AuditWriter::Open(options, TestKey());
      if (!w) ::_exit(3);
      for (uint64_t i = 0;; ++i) {
        uint64_t id = static_cast<uint64_t>(round) * 1'000'000 + i;
        if (!(*w)->AppendDurable(SampleRecord(id))) ::_exit(4);
        if (::write(fds[1], &id, sizeof(id)) != sizeof(id)) ::_exit(5);
      }
    }
    ::close(fds[1]);
    std::this_thread::sleep_for(std::chrono::microseconds(2000 + rng() % 30000));
    ::kill(pid, SIGKILL);
    uint64_t id = 0;
    while (::read(fds[0], &id, sizeof(id)) == sizeof(id)) acked.insert("req-" + std::to_string(id));
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "writer exited early with " << WEXITSTATUS(status);
    // Recovery by the next writer, as the gateway would do on restart.
    auto w = AuditWriter::Open(options, TestKey());
    ASSERT_THAT(w, IsOk()) << "round " << round;
    ASSERT_THAT((*w)->Close(), IsOk());
    std::vector<std::string> ids;
    AuditVerifyReport r = Verify(options.path, &ids);
    ASSERT_TRUE(r.intact) << "round " << round << ": " << r.problem;
    std::set<std::string> present(ids.begin(), ids.end());
    for (const auto& a : acked) ASSERT_TRUE(present.count(a)) << a << " lost in round " << round;
  }
  EXPECT_GT(acked.size(), static_cast<size_t>(kRounds));
}

}  // namespace
}  // namespace fnjail::crypto
