// Tests for crypto/audit_format.cc: frame layout and torn-versus-corrupt classification.
#include <gtest/gtest.h>

#include "crypto/crypto.h"
#include "crypto/internal/audit_format.h"
#include "tests/testing/result_matchers.h"

namespace fnjail::crypto::internal {
namespace {

using ::fnjail::testing::HasError;
using ::fnjail::testing::IsOk;

TEST(AuditFormatTest, IntegersAreLittleEndian) {
  Bytes b;
  PutU32(b, 0x01020304u);
  PutU64(b, 0x0a0b0c0d0e0f1011ull);
  EXPECT_EQ(ToHex(b), "04030201" "11100f0e0d0c0b0a");
  EXPECT_EQ(GetU32(b.data()), 0x01020304u);
  EXPECT_EQ(GetU64(b.data() + 4), 0x0a0b0c0d0e0f1011ull);
}

TEST(AuditFormatTest, FrameLayout) {
  Bytes out;
  Digest prev{};
  prev[0] = 0xee;
  auto hash = AppendFrame(out, EntryType::kRecord, 5, prev, AsBytes("{}"));
  ASSERT_THAT(hash, IsOk());
  ASSERT_EQ(out.size(), kFrameHeaderSize + kBodyHeaderSize + 2);
  EXPECT_EQ(GetU32(out.data()), kBodyHeaderSize + 2);
  ByteView body(out.data() + kFrameHeaderSize, out.size() - kFrameHeaderSize);
  EXPECT_EQ(GetU32(out.data() + 4), Crc32c(body));
  EXPECT_EQ(body[0], 1);                  // type
  EXPECT_EQ(GetU64(body.data() + 1), 5u);  // seq
  EXPECT_EQ(body[9], 0xee);               // prev
  EXPECT_EQ(AsChars(body.subspan(kBodyHeaderSize)), "{}");
  EXPECT_EQ(*hash, *Sha256(body));
  Bytes big;
  EXPECT_THAT(AppendFrame(big, EntryType::kRecord, 1, prev, Bytes(kMaxBodySize, 0)),
              HasError("too large"));
}

TEST(AuditFormatTest, CheckpointMessageBindsEveryField) {
  LogId id{};
  Digest head{};
  Bytes base = CheckpointMessage(id, 7, head, 100);
  EXPECT_EQ(AsChars(ByteView(base).subspan(0, kCheckpointDomain.size())), kCheckpointDomain);
  LogId other_id = id;
  other_id[0] = 1;
  Digest other_head = head;
  other_head[31] = 1;
  EXPECT_NE(CheckpointMessage(other_id, 7, head, 100), base);
  EXPECT_NE(CheckpointMessage(id, 8, head, 100), base);
  EXPECT_NE(CheckpointMessage(id, 7, other_head, 100), base);
  EXPECT_NE(CheckpointMessage(id, 7, head, 101), base);
}

class ScanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = Ed25519SigningKey::FromSeed(Bytes(32, 5));
    ASSERT_THAT(key, IsOk());
    pub_ = key->public_key();
    file_.assign(std::begin(kFileMagic), std::end(kFileMagic));
    Bytes genesis(kLogIdSize + 8, 0);
    genesis.insert(genesis.end(), pub_.raw().begin(), pub_.raw().end());
    Digest h = *AppendFrame(file_, EntryType::kGenesis, 0, Digest{}, genesis);
    record_offset_ = file_.size();
    h = *AppendFrame(file_, EntryType::kRecord, 1, h, AsBytes("{\"a\":1}"));
    (void)*AppendFrame(file_, EntryType::kRecord, 2, h, AsBytes("{\"a\":2}"));
  }
  ScanResult Scan(const Bytes& bytes) {
    ChainState state;
    return ScanLog(bytes, pub_, state, nullptr);
  }
  Ed25519PublicKey pub_;
  Bytes file_;
  size_t record_offset_ = 0;
};

TEST_F(ScanTest, CleanLog) { EXPECT_EQ(Scan(file_).end, ScanEnd::kClean); }

TEST_F(ScanTest, PartialLastFrameIsTorn) {
  for (size_t cut = 1; cut < 20; ++cut) {
    Bytes b(file_.begin(), file_.end() - static_cast<long>(cut));
    ScanResult r = Scan(b);
    EXPECT_EQ(r.end, ScanEnd::kTorn) << cut;
    EXPECT_EQ(r.bad_index, 2u);
  }
  Bytes magic_only(std::begin(kFileMagic), std::begin(kFileMagic) + 3);
  EXPECT_EQ(Scan(magic_only).end, ScanEnd::kTorn);
}

TEST_F(ScanTest, GarbageInTheMiddleIsCorrupt) {
  Bytes b = file_;
  b[record_offset_ + 20] ^= 1;
  ScanResult r = Scan(b);
  EXPECT_EQ(r.end, ScanEnd::kCorrupt);
  EXPECT_EQ(r.bad_index, 1u);
  EXPECT_EQ(r.bad_offset, record_offset_);
  Bytes not_log = file_;
  not_log[0] = 'X';
  EXPECT_EQ(Scan(not_log).end, ScanEnd::kCorrupt);
}

}  // namespace
}  // namespace fnjail::crypto::internal
