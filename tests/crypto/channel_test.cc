// Tests for crypto/channel.cc: round trips, and every replay, reorder, drop, truncation,
// bit flip, key or binding mismatch ends the stream.
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include <gtest/gtest.h>

#include "crypto/crypto.h"
#include "tests/testing/result_matchers.h"

namespace fnjail::crypto {
namespace {

using ::fnjail::testing::HasError;
using ::fnjail::testing::IsOk;

const Bytes kSecret(32, 0x61);
const Bytes kInvocation = {'i', 'n', 'v', '-', '1'};

struct Pipe {
  RecordSealer sealer;
  RecordOpener opener;
};

Pipe MakePipe(const ChannelOptions& options = {}) {
  auto sealer = RecordSealer::Create(kSecret, kInvocation, ChannelRole::kGateway, options);
  auto opener = RecordOpener::Create(kSecret, kInvocation, ChannelRole::kGateway, options);
  EXPECT_THAT(sealer, IsOk());
  EXPECT_THAT(opener, IsOk());
  return Pipe{std::move(*sealer), std::move(*opener)};
}

// Seals each payload as its own record; returns the records.
std::vector<Bytes> SealAll(RecordSealer& sealer, const std::vector<Bytes>& payloads) {
  std::vector<Bytes> records;
  for (const auto& p : payloads) {
    Bytes out;
    EXPECT_THAT(sealer.Seal(p, out), IsOk());
    records.push_back(std::move(out));
  }
  return records;
}

Result<size_t> OpenOne(RecordOpener& opener, const Bytes& record, Bytes* payload) {
  bool final = false;
  return opener.Open(record, payload, &final);
}

class ChannelRoundTrip : public ::testing::TestWithParam<AeadAlgorithm> {};

TEST_P(ChannelRoundTrip, RecordsOfEverySizeComeBackInOrder) {
  ChannelOptions options;
  options.algorithm = GetParam();
  Pipe p = MakePipe(options);
  Bytes stream;
  std::vector<Bytes> payloads;
  for (size_t size : {0u, 1u, 100u, 4096u, 16384u}) {
    Bytes payload(size);
    for (size_t i = 0; i < size; ++i) payload[i] = static_cast<uint8_t>(i ^ size);
    ASSERT_THAT(p.sealer.Seal(payload, stream), IsOk());
    payloads.push_back(payload);
  }
  ASSERT_THAT(p.sealer.SealFinal(stream), IsOk());
  EXPECT_EQ(p.sealer.records(), payloads.size() + 1);
  // Feed the stream one byte at a time at first, then whole: the parser must wait for
  // a complete record and never misparse a prefix.
  ByteView rest(stream);
  size_t got = 0;
  bool final = false;
  Bytes payload;
  for (size_t have = 1; !final; ++have) {
    auto used = p.opener.Open(rest.subspan(0, std::min(have, rest.size())), &payload, &final);
    ASSERT_THAT(used, IsOk());
    if (*used == 0) continue;
    if (!final) {
      EXPECT_EQ(payload, payloads[got++]);
    }
    rest = rest.subspan(*used);
    have = 0;
  }
  EXPECT_EQ(got, payloads.size());
  EXPECT_TRUE(rest.empty());
  EXPECT_THAT(p.opener.Finish(), IsOk());
}

INSTANTIATE_TEST_SUITE_P(Algorithms, ChannelRoundTrip,
                         ::testing::Values(AeadAlgorithm::kAes256Gcm,
                                           AeadAlgorithm::kChaCha20Poly1305),
                         [](const ::testing::TestParamInfo<AeadAlgorithm>& p) {
                           return p.param == AeadAlgorithm::kAes256Gcm ? "AesGcm" : "ChaChaPoly";
                         });

TEST(ChannelTest, ReplayedRecordEndsTheStream) {
  Pipe p = MakePipe();
  auto records = SealAll(p.sealer, {Bytes{1}, Bytes{2}});
  Bytes payload;
  ASSERT_THAT(OpenOne(p.opener, records[0], &payload), IsOk());
  EXPECT_THAT(OpenOne(p.opener, records[0], &payload),
              HasError("record 1: sequence number 0 (record dropped, replayed or reordered)"));
  // Sticky: even the right next record is refused now.
  EXPECT_THAT(OpenOne(p.opener, records[1], &payload), HasError("sequence number 0"));
  EXPECT_THAT(p.opener.Finish(), HasError("sequence number 0"));
}

TEST(ChannelTest, ReorderedAndDroppedRecordsEndTheStream) {
  Pipe reorder = MakePipe();
  auto records = SealAll(reorder.sealer, {Bytes{1}, Bytes{2}, Bytes{3}});
  Bytes payload;
  EXPECT_THAT(OpenOne(reorder.opener, records[1], &payload), HasError("sequence number 1"));
  Pipe drop = MakePipe();
  records = SealAll(drop.sealer, {Bytes{1}, Bytes{2}, Bytes{3}});
  ASSERT_THAT(OpenOne(drop.opener, records[0], &payload), IsOk());
  EXPECT_THAT(OpenOne(drop.opener, records[2], &payload), HasError("record 1: sequence number 2"));
}

TEST(ChannelTest, AnyFlippedBitEndsTheStream) {
  Pipe reference = MakePipe();
  Bytes record = SealAll(reference.sealer, {Bytes(40, 0x77)})[0];
  for (size_t byte = 0; byte < record.size(); ++byte) {
    for (int bit : {0, 7}) {
      Pipe p = MakePipe();
      Bytes bad = record;
      bad[byte] ^= static_cast<uint8_t>(1 << bit);
      Bytes payload;
      bool final = false;
      auto used = p.opener.Open(bad, &payload, &final);
      // A changed length may make the opener wait for more bytes: the stream then ends
      // without its final record, which Finish reports.
      if (used && *used == 0) {
        EXPECT_THAT(p.opener.Finish(), HasError("truncated")) << byte;
      } else {
        EXPECT_FALSE(used.has_value()) << "byte " << byte << " bit " << bit;
      }
      EXPECT_TRUE(payload.empty());
    }
  }
}

TEST(ChannelTest, KeysAreBoundToDirectionInvocationAndSecret) {
  RecordSealer sealer = *RecordSealer::Create(kSecret, kInvocation, ChannelRole::kGateway);
  Bytes record = SealAll(sealer, {Bytes{42}})[0];
  Bytes payload;
  // A record reflected back to its sender (the other direction's key).
  RecordOpener reflected = *RecordOpener::Create(kSecret, kInvocation, ChannelRole::kRuntime);
  EXPECT_THAT(OpenOne(reflected, record, &payload), HasError("authentication failed"));
  // Spliced from another invocation.
  RecordOpener other_inv = *RecordOpener::Create(kSecret, AsBytes("inv-2"), ChannelRole::kGateway);
  EXPECT_THAT(OpenOne(other_inv, record, &payload), HasError("authentication failed"));
  Bytes other_secret = kSecret;
  other_secret[0] ^= 1;
  RecordOpener wrong = *RecordOpener::Create(other_secret, kInvocation, ChannelRole::kGateway);
  EXPECT_THAT(OpenOne(wrong, record, &payload), HasError("authentication failed"));
  ChannelOptions chacha;
  chacha.algorithm = AeadAlgorithm::kChaCha20Poly1305;
  RecordOpener other_alg =
      *RecordOpener::Create(kSecret, kInvocation, ChannelRole::kGateway, chacha);
  EXPECT_THAT(OpenOne(other_alg, record, &payload), HasError("authentication failed"));
}

TEST(ChannelTest, TruncationIsDetected) {
  Pipe p = MakePipe();
  Bytes stream;
  ASSERT_THAT(p.sealer.Seal(Bytes(10, 1), stream), IsOk());
  Bytes payload;
  bool final = false;
  auto used = p.opener.Open(stream, &payload, &final);
  ASSERT_THAT(used, IsOk());
  EXPECT_THAT(p.opener.Finish(), HasError("stream truncated"));
  // Half a final record is no final record either.
  Bytes fin;
  ASSERT_THAT(p.sealer.SealFinal(fin), IsOk());
  fin.resize(fin.size() / 2);
  EXPECT_THAT(p.opener.Open(fin, &payload, &final), IsOk());  // waits for more
  EXPECT_FALSE(p.opener.finished());
  EXPECT_THAT(p.opener.Finish(), HasError("stream truncated"));
}

TEST(ChannelTest, NothingAfterTheFinalRecord) {
  Pipe p = MakePipe();
  Bytes stream;
  ASSERT_THAT(p.sealer.SealFinal(stream), IsOk());
  EXPECT_THAT(p.sealer.Seal(Bytes{1}, stream), HasError("final record sent"));
  Bytes payload;
  bool final = false;
  ASSERT_THAT(p.opener.Open(stream, &payload, &final), IsOk());
  EXPECT_TRUE(final);
  EXPECT_THAT(p.opener.Open(Bytes(20, 0), &payload, &final),
              HasError("data after the final record"));
}

TEST(ChannelTest, LimitsAreEnforced) {
  Pipe p = MakePipe();
  Bytes out;
  EXPECT_THAT(p.sealer.Seal(Bytes(kChannelMaxPayload + 1, 0), out), HasError("exceeds 16384"));
  EXPECT_TRUE(out.empty());
  EXPECT_THAT(RecordSealer::Create(Bytes(31, 0), kInvocation, ChannelRole::kGateway),
              HasError("at least 32 bytes"));
  EXPECT_THAT(RecordOpener::Create(kSecret, {}, ChannelRole::kGateway),
              HasError("empty invocation id"));
  // A header announcing a record larger than the maximum fails at once, without waiting.
  Bytes header(kChannelHeaderSize, 0);
  header[0] = 1;
  header[1] = 1;
  header[4] = 0xff;
  header[5] = 0xff;
  header[6] = 0xff;
  Bytes payload;
  bool final = false;
  EXPECT_THAT(p.opener.Open(header, &payload, &final), HasError("bad record length"));
}

TEST(ChannelTest, KeysRollForwardInStep) {
  ChannelOptions options;
  options.rekey_records = 3;
  Pipe p = MakePipe(options);
  std::vector<Bytes> payloads(10, Bytes(8, 0x33));
  auto records = SealAll(p.sealer, payloads);
  for (const auto& r : records) {
    Bytes payload;
    ASSERT_THAT(OpenOne(p.opener, r, &payload), IsOk());
    EXPECT_EQ(payload, payloads[0]);
  }
  // A receiver that does not roll keys at the same record fails exactly there.
  RecordOpener stale = *RecordOpener::Create(kSecret, kInvocation, ChannelRole::kGateway);
  Bytes payload;
  for (size_t i = 0; i < 3; ++i) ASSERT_THAT(OpenOne(stale, records[i], &payload), IsOk());
  EXPECT_THAT(OpenOne(stale, records[3], &payload), HasError("record 3: authentication failed"));
}

TEST(ChannelTest, ByteBudgetRollsKeysToo) {
  ChannelOptions options;
  options.rekey_bytes = 1;  // clamped up to one full record per key
  Pipe p = MakePipe(options);
  auto records = SealAll(p.sealer, {Bytes(kChannelMaxPayload, 1), Bytes(kChannelMaxPayload, 1),
                                    Bytes(10, 1)});
  RecordOpener stale = *RecordOpener::Create(kSecret, kInvocation, ChannelRole::kGateway);
  Bytes payload;
  for (const auto& r : records) ASSERT_THAT(OpenOne(p.opener, r, &payload), IsOk());
  ASSERT_THAT(OpenOne(stale, records[0], &payload), IsOk());
  EXPECT_THAT(OpenOne(stale, records[1], &payload), HasError("authentication failed"));
}

TEST(ChannelEndpointTest, MessagesBothWaysOverASocketpair) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  auto gw = ChannelEndpoint::Create(fds[0], kSecret, kInvocation, ChannelRole::kGateway);
  auto rt = ChannelEndpoint::Create(fds[1], kSecret, kInvocation, ChannelRole::kRuntime);
  ASSERT_THAT(gw, IsOk());
  ASSERT_THAT(rt, IsOk());
  Bytes big(50'000);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 7);
  std::thread runtime([&] {
    // Echo every record back, then close.
    for (;;) {
      auto msg = rt->Receive();
      ASSERT_THAT(msg, IsOk());
      if (!*msg) break;
      ASSERT_THAT(rt->Send(**msg), IsOk());
    }
    ASSERT_THAT(rt->Close(), IsOk());
  });
  ASSERT_THAT(gw->Send(AsBytes("hello")), IsOk());
  auto echo = gw->Receive();
  ASSERT_THAT(echo, IsOk());
  ASSERT_TRUE(echo->has_value());
  EXPECT_EQ(std::string(AsChars(**echo)), "hello");
  ASSERT_THAT(gw->Send(big), IsOk());  // split into 16 KiB records
  Bytes joined;
  while (joined.size() < big.size()) {
    auto part = gw->Receive();
    ASSERT_THAT(part, IsOk());
    ASSERT_TRUE(part->has_value());
    joined.insert(joined.end(), (*part)->begin(), (*part)->end());
  }
  EXPECT_EQ(joined, big);
  ASSERT_THAT(gw->Close(), IsOk());
  auto end = gw->Receive();
  ASSERT_THAT(end, IsOk());
  EXPECT_FALSE(end->has_value());
  runtime.join();
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST(ChannelEndpointTest, PeerVanishingWithoutFinalIsAnError) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  auto gw = ChannelEndpoint::Create(fds[0], kSecret, kInvocation, ChannelRole::kGateway);
  auto rt = ChannelEndpoint::Create(fds[1], kSecret, kInvocation, ChannelRole::kRuntime);
  ASSERT_THAT(rt->Send(AsBytes("partial answer")), IsOk());
  ::close(fds[1]);  // the jail died
  auto first = gw->Receive();
  ASSERT_THAT(first, IsOk());
  EXPECT_TRUE(first->has_value());
  EXPECT_THAT(gw->Receive(), HasError("stream truncated"));
  ::close(fds[0]);
}

}  // namespace
}  // namespace fnjail::crypto
