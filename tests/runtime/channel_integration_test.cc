// Malformed, unauthenticated or replayed input from the gateway's side ends fnjail-runtime
// cleanly (exit 3, nothing answered); a clean close ends it with 0.
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "crypto/crypto.h"
#include "runtime/internal/wire.h"
#include "runtime/protocol.h"
#include "tests/runtime/runtime_testing.h"
#include "tests/testing/result_matchers.h"

namespace fnjail::runtime {
namespace {

using ::fnjail::testing::IsOk;
using ::testing::HasSubstr;
using testing::MakeInvocation;
using testing::RuntimeProcess;
using testing::TempDir;

class RawGateway {
 public:
  RawGateway() {
    handler_ = dir_.Write("h.lua", "function handler(e) return 'ok' end");
    process_ = std::make_unique<RuntimeProcess>(std::vector<std::string>{"lua", handler_});
  }
  void Write(const std::string& bytes) {
    ASSERT_EQ(::send(process_->fd(), bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  void Launch() { Write(wire::EncodeLaunch(secret_)); }
  // The header and sealed records of one invocation.
  std::string Sealed(uint64_t counter, const std::string& header_id, const Invocation& inv) {
    std::string out = wire::EncodeInvocationHeader(counter, header_id);
    std::string id = wire::ChannelInvocationId(counter, header_id);
    auto sealer = crypto::RecordSealer::Create(crypto::AsBytes(secret_), crypto::AsBytes(id),
                                               crypto::ChannelRole::kGateway);
    auto message = EncodeInvocation(inv);
    crypto::Bytes records;
    (void)sealer->Seal(crypto::AsBytes(*message), records);
    (void)sealer->SealFinal(records);
    out.append(crypto::AsChars(records));
    return out;
  }
  // Reads the runtime's answer to invocation `counter` until the final record.
  bool ReadsAnswer(uint64_t counter, const std::string& request_id) {
    std::string id = wire::ChannelInvocationId(counter, request_id);
    auto endpoint = crypto::ChannelEndpoint::Create(process_->fd(), crypto::AsBytes(secret_),
                                                    crypto::AsBytes(id),
                                                    crypto::ChannelRole::kGateway);
    std::string message;
    for (;;) {
      auto rec = endpoint->Receive();
      if (!rec) return false;
      if (!rec->has_value()) break;
      message.append(crypto::AsChars(**rec));
    }
    return DecodeResponse(message).has_value();
  }
  // Exit status once the runtime ended by itself; the host end stays open meanwhile, so
  // a 0 would mean it mistook the garbage for a close.
  int WaitExit() { return process_->Wait(); }
  std::string stderr_text() const { return process_->stderr_text(); }
  int CloseAndWait() { return process_->CloseAndWait(); }

 private:
  TempDir dir_;
  std::string handler_;
  std::string secret_ = std::string(wire::kSecretBytes, 'k');
  std::unique_ptr<RuntimeProcess> process_;
};

TEST(RuntimeChannelTest, CloseBeforeLaunchOrBetweenInvocationsExitsZero) {
  RawGateway idle;
  EXPECT_EQ(idle.CloseAndWait(), 0);
  RawGateway served;
  served.Launch();
  served.Write(served.Sealed(1, "r1", MakeInvocation("{}", "r1")));
  EXPECT_TRUE(served.ReadsAnswer(1, "r1"));
  EXPECT_EQ(served.CloseAndWait(), 0);
}

TEST(RuntimeChannelTest, BadLaunchMessage) {
  RawGateway g;
  g.Write("FJL\x02" + std::string(33, 's'));
  EXPECT_EQ(g.WaitExit(), 3);
  EXPECT_THAT(g.stderr_text(), HasSubstr("unsupported protocol version"));
}

TEST(RuntimeChannelTest, GarbageHeader) {
  RawGateway g;
  g.Launch();
  g.Write(std::string(16, 'x'));
  EXPECT_EQ(g.WaitExit(), 3);
  EXPECT_THAT(g.stderr_text(), HasSubstr("not an invocation header"));
}

TEST(RuntimeChannelTest, ReplayedInvocationIsRefused) {
  RawGateway g;
  g.Launch();
  std::string first = g.Sealed(1, "r1", MakeInvocation("{}", "r1"));
  g.Write(first);
  EXPECT_TRUE(g.ReadsAnswer(1, "r1"));
  g.Write(first);  // the same bytes again: its keys would repeat
  EXPECT_EQ(g.WaitExit(), 3);
  EXPECT_THAT(g.stderr_text(), HasSubstr("counter went backwards"));
}

TEST(RuntimeChannelTest, TamperedRecordIsRefusedWithoutAnAnswer) {
  RawGateway g;
  g.Launch();
  std::string sealed = g.Sealed(1, "r1", MakeInvocation("{}", "r1"));
  sealed[sealed.size() - 40] ^= 1;  // a bit of the data record's ciphertext
  g.Write(sealed);
  EXPECT_EQ(g.WaitExit(), 3);
  EXPECT_THAT(g.stderr_text(), HasSubstr("channel:"));
}

TEST(RuntimeChannelTest, RequestIdMustMatchTheHeader) {
  RawGateway g;
  g.Launch();
  g.Write(g.Sealed(1, "r1", MakeInvocation("{}", "other")));
  EXPECT_EQ(g.WaitExit(), 3);
  EXPECT_THAT(g.stderr_text(), HasSubstr("request id differs"));
}

TEST(RuntimeChannelTest, TruncatedInvocationThenClose) {
  RawGateway g;
  g.Launch();
  std::string sealed = g.Sealed(1, "r1", MakeInvocation("{}", "r1"));
  g.Write(sealed.substr(0, sealed.size() - 5));
  EXPECT_EQ(g.CloseAndWait(), 3);
}

}  // namespace
}  // namespace fnjail::runtime
