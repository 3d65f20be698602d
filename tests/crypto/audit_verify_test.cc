// Tests for crypto/audit_verify.cc: every kind of tampering is found, with its index.
#include <gtest/gtest.h>

#include "crypto/crypto.h"
#include "crypto/internal/audit_format.h"
#include "tests/crypto/audit_test_util.h"
#include "tests/testing/result_matchers.h"

namespace fnjail::crypto {
namespace {

using ::fnjail::testing::HasError;
using ::fnjail::testing::IsOk;
using testing::FixCrc;
using testing::FrameSpan;
using testing::ReadAll;
using testing::SampleRecord;
using testing::TempDir;

constexpr uint8_t kRecordType = 1;
constexpr uint8_t kCheckpointType = 2;

Ed25519SigningKey TestKey(uint8_t seed = 0x33) {
  auto key = Ed25519SigningKey::FromSeed(Bytes(32, seed));
  EXPECT_TRUE(key.has_value());
  return std::move(*key);
}

// A log of 20 records with a checkpoint after every 5: entries are genesis (0), then
// records 1-5, checkpoint 6, records 7-11, checkpoint 12, ... checkpoint 24.
class AuditVerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("audit.log");
    AuditOptions options;
    options.path = path_;
    options.checkpoint_every_records = 5;
    auto log = AuditWriter::Open(options, TestKey());
    ASSERT_THAT(log, IsOk());
    for (uint64_t i = 0; i < 20; ++i) ASSERT_THAT((*log)->Append(SampleRecord(i)), IsOk());
    ASSERT_THAT((*log)->Close(), IsOk());
    original_ = ReadAll(path_);
    frames_ = testing::Frames(original_);
    ASSERT_EQ(frames_.size(), 25u);
  }

  AuditVerifyReport VerifyBytes(const Bytes& bytes, const std::vector<AuditCheckpoint>& cps = {}) {
    testing::WriteAll(path_, bytes);
    auto r = VerifyAuditLog(path_, TestKey().public_key(), cps);
    EXPECT_THAT(r, IsOk());
    return r.value_or(AuditVerifyReport{});
  }

  Bytes Without(size_t index) const {
    Bytes out = original_;
    const FrameSpan& f = frames_[index];
    out.erase(out.begin() + static_cast<long>(f.offset),
              out.begin() + static_cast<long>(f.offset + f.size));
    return out;
  }

  Bytes FrameBytes(size_t index) const {
    const FrameSpan& f = frames_[index];
    return Bytes(original_.begin() + static_cast<long>(f.offset),
                 original_.begin() + static_cast<long>(f.offset + f.size));
  }

  TempDir dir_;
  std::string path_;
  Bytes original_;
  std::vector<FrameSpan> frames_;
};

TEST_F(AuditVerifyTest, IntactLogVerifies) {
  AuditVerifyReport r = VerifyBytes(original_);
  EXPECT_TRUE(r.intact) << r.problem;
  EXPECT_EQ(r.entries, 25u);
  EXPECT_EQ(r.records, 20u);
  EXPECT_EQ(r.checkpoints, 4u);
  ASSERT_TRUE(r.last_checkpoint.has_value());
  EXPECT_EQ(r.last_checkpoint->seq, 24u);
  EXPECT_EQ(testing::FrameType(original_, frames_[6]), kCheckpointType);
  EXPECT_EQ(testing::FrameType(original_, frames_[7]), kRecordType);
}

TEST_F(AuditVerifyTest, ModifiedRecordIsFound) {
  Bytes bytes = original_;
  bytes[frames_[8].offset + 70] ^= 0x20;
  AuditVerifyReport r = VerifyBytes(bytes);
  EXPECT_FALSE(r.intact);
  EXPECT_EQ(r.bad_index, 8u);
  EXPECT_EQ(r.bad_offset, frames_[8].offset);
  EXPECT_NE(r.problem.find("CRC mismatch"), std::string::npos) << r.problem;
}

TEST_F(AuditVerifyTest, ModifiedRecordWithRecomputedCrcBreaksTheChain) {
  Bytes bytes = original_;
  bytes[frames_[8].offset + 70] ^= 0x20;
  FixCrc(bytes, frames_[8]);
  AuditVerifyReport r = VerifyBytes(bytes);
  EXPECT_FALSE(r.intact);
  EXPECT_EQ(r.bad_index, 9u);
  EXPECT_NE(r.problem.find("chain broken"), std::string::npos) << r.problem;
}

// An attacker without the key rewrites a record and recomputes every later hash and CRC:
// the next checkpoint's signature no longer matches.
TEST_F(AuditVerifyTest, RewrittenChainFailsAtTheNextCheckpoint) {
  Bytes bytes = original_;
  bytes[frames_[8].offset + 70] ^= 0x20;
  FixCrc(bytes, frames_[8]);
  for (size_t i = 9; i < frames_.size(); ++i) {
    const FrameSpan& prev = frames_[i - 1];
    ByteView body(bytes.data() + prev.offset + 8, prev.size - 8);
    Digest h = *Sha256(body);
    std::copy(h.begin(), h.end(), bytes.begin() + static_cast<long>(frames_[i].offset + 8 + 9));
    FixCrc(bytes, frames_[i]);
  }
  AuditVerifyReport r = VerifyBytes(bytes);
  EXPECT_FALSE(r.intact);
  EXPECT_EQ(r.bad_index, 12u);
  EXPECT_NE(r.problem.find("checkpoint signature"), std::string::npos) << r.problem;
}

TEST_F(AuditVerifyTest, DeletedRecordIsFound) {
  AuditVerifyReport r = VerifyBytes(Without(3));
  EXPECT_FALSE(r.intact);
  EXPECT_EQ(r.bad_index, 3u);
  EXPECT_NE(r.problem.find("sequence number 4 where 3 was expected"), std::string::npos)
      << r.problem;
}

TEST_F(AuditVerifyTest, InsertedRecordIsFound) {
  Bytes bytes = original_;
  Bytes copy = FrameBytes(2);
  bytes.insert(bytes.begin() + static_cast<long>(frames_[5].offset), copy.begin(), copy.end());
  AuditVerifyReport r = VerifyBytes(bytes);
  EXPECT_FALSE(r.intact);
  EXPECT_EQ(r.bad_index, 5u);
}

TEST_F(AuditVerifyTest, ReorderedRecordsAreFound) {
  Bytes bytes = original_;
  Bytes a = FrameBytes(3);
  Bytes b = FrameBytes(4);
  Bytes swapped = b;
  swapped.insert(swapped.end(), a.begin(), a.end());
  std::copy(swapped.begin(), swapped.end(), bytes.begin() + static_cast<long>(frames_[3].offset));
  AuditVerifyReport r = VerifyBytes(bytes);
  EXPECT_FALSE(r.intact);
  EXPECT_EQ(r.bad_index, 3u);
}

TEST_F(AuditVerifyTest, TruncationMidEntryIsFound) {
  Bytes bytes(original_.begin(), original_.end() - 10);
  AuditVerifyReport r = VerifyBytes(bytes);
  EXPECT_FALSE(r.intact);
  EXPECT_EQ(r.bad_index, 24u);
  EXPECT_NE(r.problem.find("truncat"), std::string::npos) << r.problem;
}

// Cut back at an entry boundary, the log alone looks consistent (with unsealed
// records); an exported checkpoint kept elsewhere proves it once went further.
TEST_F(AuditVerifyTest, TruncationBehindAnExportedCheckpointIsFound) {
  AuditVerifyReport full = VerifyBytes(original_);
  ASSERT_TRUE(full.last_checkpoint.has_value());
  AuditCheckpoint exported = *full.last_checkpoint;
  EXPECT_TRUE(VerifyBytes(original_, {exported}).intact);

  Bytes cut(original_.begin(), original_.begin() + static_cast<long>(frames_[20].offset));
  AuditVerifyReport alone = VerifyBytes(cut);
  EXPECT_TRUE(alone.intact);
  EXPECT_EQ(alone.unsealed_records, 1u);  // record 19 after checkpoint 18
  AuditVerifyReport r = VerifyBytes(cut, {exported});
  EXPECT_FALSE(r.intact);
  EXPECT_NE(r.problem.find("log truncated"), std::string::npos) << r.problem;
}

TEST_F(AuditVerifyTest, ExportedCheckpointMustMatchTheLog) {
  AuditCheckpoint cp = *VerifyBytes(original_).last_checkpoint;
  AuditCheckpoint wrong_time = cp;
  wrong_time.time_ms += 1;
  EXPECT_FALSE(VerifyBytes(original_, {wrong_time}).intact);
  AuditCheckpoint wrong_log = cp;
  wrong_log.log_id = std::string(32, '0');
  EXPECT_NE(VerifyBytes(original_, {wrong_log}).problem.find("is for log"), std::string::npos);
}

TEST_F(AuditVerifyTest, WrongKeyOrNotALog) {
  testing::WriteAll(path_, original_);
  auto other = VerifyAuditLog(path_, TestKey(0x44).public_key());
  ASSERT_THAT(other, IsOk());
  EXPECT_FALSE(other->intact);
  EXPECT_EQ(other->bad_index, 0u);
  EXPECT_NE(other->problem.find("different checkpoint key"), std::string::npos);
  EXPECT_FALSE(VerifyBytes(Bytes{'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'}).intact);
  EXPECT_FALSE(VerifyBytes(Bytes{}).intact);
  EXPECT_THAT(VerifyAuditLog(dir_.File("missing.log"), TestKey().public_key()),
              HasError("cannot open"));
}

TEST_F(AuditVerifyTest, RecordsAreReportedInOrderUpToTheFirstBadOne) {
  Bytes bytes = original_;
  bytes[frames_[9].offset + 70] ^= 0x20;
  testing::WriteAll(path_, bytes);
  std::vector<uint64_t> seqs;
  auto r = VerifyAuditLog(path_, TestKey().public_key(), {},
                          [&](uint64_t seq, std::string_view) { seqs.push_back(seq); });
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(seqs, (std::vector<uint64_t>{1, 2, 3, 4, 5, 7, 8}));
}

TEST_F(AuditVerifyTest, ReadAuditLogParsesEveryRecordWithItsSeq) {
  auto contents = ReadAuditLog(path_, TestKey().public_key());
  ASSERT_THAT(contents, IsOk());
  EXPECT_TRUE(contents->report.intact) << contents->report.problem;
  ASSERT_EQ(contents->records.size(), 20u);
  // Entries: genesis 0, records 1-5, checkpoint 6, records 7-11, ...
  EXPECT_EQ(contents->records[0].seq, 1u);
  EXPECT_EQ(contents->records[5].seq, 7u);
  for (uint64_t i = 0; i < 20; ++i) EXPECT_EQ(contents->records[i].record, SampleRecord(i));
}

TEST_F(AuditVerifyTest, ReadAuditLogStopsAtDamageAndSaysSo) {
  Bytes bytes = original_;
  bytes[frames_[9].offset + 70] ^= 0x20;
  testing::WriteAll(path_, bytes);
  auto contents = ReadAuditLog(path_, TestKey().public_key());
  ASSERT_THAT(contents, IsOk());
  EXPECT_FALSE(contents->report.intact);
  EXPECT_EQ(contents->report.bad_index, 9u);
  EXPECT_EQ(contents->records.size(), 7u);
  EXPECT_THAT(ReadAuditLog(dir_.File("missing.log"), TestKey().public_key()),
              HasError("cannot open"));
}

TEST_F(AuditVerifyTest, ForEachAuditRecordStreamsAndChecksExports) {
  auto key = TestKey();
  std::vector<uint64_t> seqs;
  auto report = VerifyAuditLog(path_, key.public_key());
  ASSERT_THAT(report, IsOk());
  ASSERT_TRUE(report->last_checkpoint.has_value());
  auto streamed = ForEachAuditRecord(
      path_, key.public_key(), [&](uint64_t seq, const AuditRecord&) { seqs.push_back(seq); },
      {*report->last_checkpoint});
  ASSERT_THAT(streamed, IsOk());
  EXPECT_TRUE(streamed->intact);
  EXPECT_EQ(seqs.size(), 20u);
  // Cut the log back behind the exported checkpoint: the reader reports it.
  Bytes cut(original_.begin(), original_.begin() + static_cast<long>(frames_[12].offset));
  testing::WriteAll(path_, cut);
  auto after = ForEachAuditRecord(path_, key.public_key(), {}, {*report->last_checkpoint});
  ASSERT_THAT(after, IsOk());
  EXPECT_FALSE(after->intact);
  EXPECT_NE(after->problem.find("log truncated"), std::string::npos) << after->problem;
}

TEST(AuditReaderTest, RecordsOfTheFirstFormatReadBack) {
  TempDir dir;
  auto key = TestKey();
  std::string path = dir.File("old.log");
  testing::WriteAll(
      path, testing::BuildLog(
                key, {R"({"time":1,"request_id":"a","actor":{"user":{"uid":"alice"},"auth":"jwt"},)"
                      R"("metering":{"duration_ms":12,"billed_duration_ms":13,"cpu_ms":4,)"
                      R"("peak_memory_bytes":1048576,"outcome":"exited"}})",
                      R"({"time":2,"request_id":"b"})"}));
  auto contents = ReadAuditLog(path, key.public_key());
  ASSERT_THAT(contents, IsOk());
  EXPECT_TRUE(contents->report.intact) << contents->report.problem;
  ASSERT_EQ(contents->records.size(), 2u);
  EXPECT_EQ(contents->records[0].record.principal, "alice");
  EXPECT_EQ(contents->records[0].record.billed_duration_ms, 13);
  EXPECT_EQ(contents->records[0].record.init_duration_ms, 0);
  EXPECT_EQ(contents->records[1].record.request_id, "b");
}

TEST(AuditReaderTest, ARecordThatDoesNotParseEndsTheReading) {
  TempDir dir;
  auto key = TestKey();
  std::string path = dir.File("bad.log");
  testing::WriteAll(path, testing::BuildLog(key, {R"({"time":1})", R"({"time":"x"})",
                                                  R"({"time":3})"}));
  // The chain itself is intact: the verifier vouches for the bytes.
  auto verified = VerifyAuditLog(path, key.public_key());
  ASSERT_THAT(verified, IsOk());
  EXPECT_TRUE(verified->intact);
  auto contents = ReadAuditLog(path, key.public_key());
  ASSERT_THAT(contents, IsOk());
  EXPECT_FALSE(contents->report.intact);
  EXPECT_EQ(contents->report.bad_index, 2u);
  EXPECT_NE(contents->report.problem.find("record 2 does not parse"), std::string::npos);
  ASSERT_EQ(contents->records.size(), 1u);
  EXPECT_EQ(contents->records[0].record.time_ms, 1);
}

}  // namespace
}  // namespace fnjail::crypto
