// Tests for crypto/handshake.cc: both ends agree on one fresh secret; a wrong static key,
// a man in the middle, replayed, spliced, altered, truncated or oversized messages all fail
// closed; the socket drivers work over socketpairs and loopback TCP and never hang.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "crypto/crypto.h"
#include "tests/testing/result_matchers.h"

namespace fnjail::crypto {
namespace {

using ::fnjail::testing::HasError;
using ::fnjail::testing::IsOk;

Ed25519SigningKey KeyFromByte(uint8_t b) {
  Bytes seed(32, b);
  auto key = Ed25519SigningKey::FromSeed(seed);
  EXPECT_THAT(key, IsOk());
  return std::move(*key);
}

const Bytes kId = {'r', 'e', 'q', '-', '4', '2'};

struct Keys {
  Ed25519SigningKey gateway = KeyFromByte(1);
  Ed25519SigningKey worker = KeyFromByte(2);
  Ed25519SigningKey stranger = KeyFromByte(3);
};

struct Transcript {
  Bytes hello, reply, finish;
  HandshakeResult initiator, responder;
};

// Runs one handshake in memory and returns its messages and both results.
Transcript RunHandshake(const Keys& k, AeadAlgorithm alg = AeadAlgorithm::kAes256Gcm) {
  Transcript t;
  auto init = HandshakeInitiator::Create(k.gateway, k.worker.public_key(), kId, alg);
  auto resp = HandshakeResponder::Create(k.worker, k.gateway.public_key(), alg);
  EXPECT_THAT(init, IsOk());
  EXPECT_THAT(resp, IsOk());
  t.hello.assign(init->hello().begin(), init->hello().end());
  auto reply = resp->ReadHello(t.hello);
  EXPECT_THAT(reply, IsOk());
  t.reply = *reply;
  auto finish = init->ReadReply(t.reply);
  EXPECT_THAT(finish, IsOk());
  t.finish = *finish;
  auto ri = init->TakeResult();
  auto rr = resp->ReadFinish(t.finish);
  EXPECT_THAT(ri, IsOk());
  EXPECT_THAT(rr, IsOk());
  t.initiator = std::move(*ri);
  t.responder = std::move(*rr);
  return t;
}

bool SameBytes(ByteView a, ByteView b) { return std::equal(a.begin(), a.end(), b.begin(), b.end()); }

TEST(HandshakeTest, BothEndsAgreeOnSecretIdAndTranscript) {
  Keys k;
  Transcript t = RunHandshake(k);
  EXPECT_EQ(t.initiator.secret.size(), kHandshakeSecretSize);
  EXPECT_TRUE(SameBytes(t.initiator.secret.view(), t.responder.secret.view()));
  EXPECT_EQ(t.initiator.invocation_id, kId);
  EXPECT_EQ(t.responder.invocation_id, kId);
  EXPECT_EQ(t.initiator.transcript, t.responder.transcript);
  EXPECT_EQ(t.responder.algorithm, AeadAlgorithm::kAes256Gcm);
  EXPECT_EQ(t.hello.size(), kHandshakeHeaderSize + 67 + kId.size());
  EXPECT_EQ(t.reply.size(), kHandshakeHeaderSize + 160);
  EXPECT_EQ(t.finish.size(), kHandshakeHeaderSize + 96);
}

TEST(HandshakeTest, EveryHandshakeHasFreshKeysAndSecret) {
  Keys k;
  Transcript a = RunHandshake(k);
  Transcript b = RunHandshake(k);
  EXPECT_FALSE(SameBytes(a.initiator.secret.view(), b.initiator.secret.view()));
  EXPECT_NE(a.hello, b.hello);
  EXPECT_NE(a.reply, b.reply);
  EXPECT_NE(a.initiator.transcript, b.initiator.transcript);
}

TEST(HandshakeTest, ChaChaIsAgreedWhenBothAskForIt) {
  Keys k;
  Transcript t = RunHandshake(k, AeadAlgorithm::kChaCha20Poly1305);
  EXPECT_EQ(t.responder.algorithm, AeadAlgorithm::kChaCha20Poly1305);
  EXPECT_TRUE(SameBytes(t.initiator.secret.view(), t.responder.secret.view()));
}

TEST(HandshakeTest, AlgorithmMismatchIsRefused) {
  Keys k;
  auto init = HandshakeInitiator::Create(k.gateway, k.worker.public_key(), kId,
                                         AeadAlgorithm::kChaCha20Poly1305);
  auto resp = HandshakeResponder::Create(k.worker, k.gateway.public_key());
  ASSERT_THAT(init, IsOk());
  EXPECT_THAT(resp->ReadHello(init->hello()), HasError("accepts only aes-256-gcm"));
}

TEST(HandshakeTest, ResponderWithAnotherStaticKeyIsRefused) {
  Keys k;
  // The gateway pins the worker's key; a stranger answers (an impostor or a MITM).
  auto init = HandshakeInitiator::Create(k.gateway, k.worker.public_key(), kId);
  auto impostor = HandshakeResponder::Create(k.stranger, k.gateway.public_key());
  ASSERT_THAT(init, IsOk());
  auto reply = impostor->ReadHello(init->hello());
  ASSERT_THAT(reply, IsOk());
  EXPECT_THAT(init->ReadReply(*reply), HasError("responder's signature does not verify"));
  EXPECT_THAT(init->TakeResult(), HasError("not complete"));
}

TEST(HandshakeTest, InitiatorWithAnotherStaticKeyIsRefused) {
  Keys k;
  // The worker pins the gateway's key; a stranger connects. The stranger learns the
  // worker is there (its key is public) but gets no channel.
  auto init = HandshakeInitiator::Create(k.stranger, k.worker.public_key(), kId);
  auto resp = HandshakeResponder::Create(k.worker, k.gateway.public_key());
  ASSERT_THAT(init, IsOk());
  auto reply = resp->ReadHello(init->hello());
  ASSERT_THAT(reply, IsOk());
  // The reply names the pinned gateway key in its transcript, not the stranger's.
  EXPECT_THAT(init->ReadReply(*reply), HasError("responder's signature does not verify"));

  // A stranger that ignores that and signs anyway is refused by the worker.
  auto init2 = HandshakeInitiator::Create(k.stranger, k.worker.public_key(), kId);
  auto resp2 = HandshakeResponder::Create(k.worker, k.stranger.public_key());
  auto real = HandshakeResponder::Create(k.worker, k.gateway.public_key());
  auto reply2 = resp2->ReadHello(init2->hello());
  ASSERT_THAT(reply2, IsOk());
  auto finish2 = init2->ReadReply(*reply2);
  ASSERT_THAT(finish2, IsOk());
  ASSERT_THAT(real->ReadHello(init2->hello()), IsOk());
  EXPECT_THAT(real->ReadFinish(*finish2), HasError("initiator's signature does not verify"));
}

TEST(HandshakeTest, ManInTheMiddleSwappingEphemeralKeysIsDetected) {
  Keys k;
  // The attacker replaces the gateway's ephemeral key with its own in the hello.
  auto init = HandshakeInitiator::Create(k.gateway, k.worker.public_key(), kId);
  auto attacker = HandshakeInitiator::Create(k.stranger, k.worker.public_key(), kId);
  auto resp = HandshakeResponder::Create(k.worker, k.gateway.public_key());
  Bytes hello(init->hello().begin(), init->hello().end());
  ByteView theirs = attacker->hello();
  std::copy(theirs.begin() + 4 + 1 + 32, theirs.begin() + 4 + 1 + 64, hello.begin() + 4 + 1 + 32);
  auto reply = resp->ReadHello(hello);
  ASSERT_THAT(reply, IsOk());
  EXPECT_THAT(init->ReadReply(*reply), HasError("does not verify"));

  // And the other way: the worker's ephemeral key replaced in the reply.
  auto init2 = HandshakeInitiator::Create(k.gateway, k.worker.public_key(), kId);
  auto resp2 = HandshakeResponder::Create(k.worker, k.gateway.public_key());
  auto reply2 = resp2->ReadHello(init2->hello());
  ASSERT_THAT(reply2, IsOk());
  std::copy(theirs.begin() + 4 + 1 + 32, theirs.begin() + 4 + 1 + 64, reply2->begin() + 4 + 32);
  EXPECT_THAT(init2->ReadReply(*reply2), HasError("does not verify"));
}

TEST(HandshakeTest, ReplayedReplyIsRefused) {
  Keys k;
  Transcript old = RunHandshake(k);
  auto init = HandshakeInitiator::Create(k.gateway, k.worker.public_key(), kId);
  EXPECT_THAT(init->ReadReply(old.reply), HasError("does not verify"));
}

TEST(HandshakeTest, ReplayedHelloAndFinishDoNotOpenAChannel) {
  Keys k;
  Transcript old = RunHandshake(k);
  // An attacker replays a recorded hello: the worker answers with fresh values, so the
  // recorded finish no longer fits.
  auto resp = HandshakeResponder::Create(k.worker, k.gateway.public_key());
  ASSERT_THAT(resp->ReadHello(old.hello), IsOk());
  EXPECT_THAT(resp->ReadFinish(old.finish), HasError("does not verify"));
}

TEST(HandshakeTest, SplicedHandshakesAreRefused) {
  Keys k;
  // Two concurrent handshakes; the finish of one is delivered to the other's responder.
  auto init_a = HandshakeInitiator::Create(k.gateway, k.worker.public_key(), kId);
  auto init_b = HandshakeInitiator::Create(k.gateway, k.worker.public_key(), kId);
  auto resp_a = HandshakeResponder::Create(k.worker, k.gateway.public_key());
  auto resp_b = HandshakeResponder::Create(k.worker, k.gateway.public_key());
  auto reply_a = resp_a->ReadHello(init_a->hello());
  auto reply_b = resp_b->ReadHello(init_b->hello());
  ASSERT_THAT(reply_a, IsOk());
  ASSERT_THAT(reply_b, IsOk());
  // Reply of B to initiator A: refused.
  auto init_c = HandshakeInitiator::Create(k.gateway, k.worker.public_key(), kId);
  EXPECT_THAT(init_c->ReadReply(*reply_b), HasError("does not verify"));
  auto finish_a = init_a->ReadReply(*reply_a);
  ASSERT_THAT(finish_a, IsOk());
  EXPECT_THAT(resp_b->ReadFinish(*finish_a), HasError("does not verify"));
}

TEST(HandshakeTest, EveryAlteredByteFailsTheHandshake) {
  Keys k;
  Transcript t = RunHandshake(k);
  // Each byte of the hello: either the responder refuses the hello, or the initiator
  // (which kept the original) refuses the reply.
  for (size_t i = 0; i < t.hello.size(); ++i) {
    auto init = HandshakeInitiator::Create(k.gateway, k.worker.public_key(), kId);
    Bytes hello(init->hello().begin(), init->hello().end());
    hello[i] ^= 0x01;
    auto resp = HandshakeResponder::Create(k.worker, k.gateway.public_key());
    auto reply = resp->ReadHello(hello);
    if (reply) {
      EXPECT_FALSE(init->ReadReply(*reply).has_value()) << "hello byte " << i;
    }
  }
  for (size_t i = 0; i < t.reply.size(); ++i) {
    auto init = HandshakeInitiator::Create(k.gateway, k.worker.public_key(), kId);
    auto resp = HandshakeResponder::Create(k.worker, k.gateway.public_key());
    auto reply = resp->ReadHello(init->hello());
    ASSERT_THAT(reply, IsOk());
    (*reply)[i] ^= 0x80;
    EXPECT_FALSE(init->ReadReply(*reply).has_value()) << "reply byte " << i;
  }
  for (size_t i = 0; i < t.finish.size(); ++i) {
    auto init = HandshakeInitiator::Create(k.gateway, k.worker.public_key(), kId);
    auto resp = HandshakeResponder::Create(k.worker, k.gateway.public_key());
    auto reply = resp->ReadHello(init->hello());
    auto finish = init->ReadReply(*reply);
    ASSERT_THAT(finish, IsOk());
    (*finish)[i] ^= 0x02;
    EXPECT_FALSE(resp->ReadFinish(*finish).has_value()) << "finish byte " << i;
  }
}

TEST(HandshakeTest, TruncatedAndOversizedMessagesAreRefused) {
  Keys k;
  Transcript t = RunHandshake(k);
  for (size_t n : {size_t{0}, size_t{3}, size_t{4}, t.hello.size() - 1}) {
    auto resp = HandshakeResponder::Create(k.worker, k.gateway.public_key());
    EXPECT_FALSE(resp->ReadHello(ByteView(t.hello).first(n)).has_value()) << n;
  }
  Bytes longer = t.hello;
  longer.push_back(0);
  auto resp = HandshakeResponder::Create(k.worker, k.gateway.public_key());
  EXPECT_THAT(resp->ReadHello(longer), HasError("its header says"));

  // Header checks alone bound what a reader waits for.
  EXPECT_THAT(HandshakeMessageSize(Bytes{1, 1, 0xff, 0xff}), HasError("bad length 65535"));
  EXPECT_THAT(HandshakeMessageSize(Bytes{1, 2, 161, 0}), HasError("bad length 161"));
  EXPECT_THAT(HandshakeMessageSize(Bytes{1, 3, 95, 0}), HasError("bad length 95"));
  EXPECT_THAT(HandshakeMessageSize(Bytes{2, 1, 70, 0}), HasError("unknown handshake version"));
  EXPECT_THAT(HandshakeMessageSize(Bytes{1, 9, 70, 0}), HasError("unknown handshake message type"));
  EXPECT_THAT(HandshakeMessageSize(Bytes{1, 1, 67, 0}), HasError("bad length 67"));
  EXPECT_THAT(HandshakeMessageSize(Bytes{1, 1}), HasError("truncated"));
  // 0x144 = 324 = the longest hello body plus one; 0x143 the longest.
  auto max = HandshakeMessageSize(Bytes{1, 1, 0x44, 1});
  EXPECT_THAT(max, HasError("bad length"));
  auto ok = HandshakeMessageSize(Bytes{1, 1, 0x43, 1});
  ASSERT_THAT(ok, IsOk());
  EXPECT_EQ(*ok, kHandshakeMaxMessage);
}

TEST(HandshakeTest, MessagesOfTheWrongTypeOrOrderAreRefused) {
  Keys k;
  Transcript t = RunHandshake(k);
  auto resp = HandshakeResponder::Create(k.worker, k.gateway.public_key());
  EXPECT_THAT(resp->ReadFinish(t.finish), HasError("before the hello"));
  auto resp2 = HandshakeResponder::Create(k.worker, k.gateway.public_key());
  EXPECT_THAT(resp2->ReadHello(t.reply), HasError("unexpected handshake message type 2"));
  // Failed for good: a good hello afterwards does not revive it.
  EXPECT_THAT(resp2->ReadHello(t.hello), HasError("already failed"));
  auto init = HandshakeInitiator::Create(k.gateway, k.worker.public_key(), kId);
  EXPECT_THAT(init->ReadReply(t.hello), HasError("unexpected handshake message type 1"));
}

TEST(HandshakeTest, LowOrderEphemeralKeysAreRefused) {
  Keys k;
  // u = 0 and u = 1 are points of small order: X25519 with them gives all zeros.
  for (uint8_t u : {0, 1}) {
    auto init = HandshakeInitiator::Create(k.gateway, k.worker.public_key(), kId);
    Bytes hello(init->hello().begin(), init->hello().end());
    std::fill(hello.begin() + 4 + 1 + 32, hello.begin() + 4 + 1 + 64, 0);
    hello[4 + 1 + 32] = u;
    auto resp = HandshakeResponder::Create(k.worker, k.gateway.public_key());
    EXPECT_THAT(resp->ReadHello(hello), HasError("X25519")) << int{u};
  }
}

TEST(HandshakeTest, InvocationIdsAreCheckedAndBound) {
  Keys k;
  EXPECT_THAT(HandshakeInitiator::Create(k.gateway, k.worker.public_key(), Bytes{}),
              HasError("1 to 256 bytes"));
  EXPECT_THAT(HandshakeInitiator::Create(k.gateway, k.worker.public_key(), Bytes(257, 'x')),
              HasError("1 to 256 bytes"));
  auto init = HandshakeInitiator::Create(k.gateway, k.worker.public_key(), kId);
  Bytes other = {'r', 'e', 'q', '-', '4', '3'};
  auto resp = HandshakeResponder::Create(k.worker, k.gateway.public_key(),
                                         AeadAlgorithm::kAes256Gcm, other);
  EXPECT_THAT(resp->ReadHello(init->hello()), HasError("names another invocation"));
  // A hello whose id length disagrees with its size.
  Bytes hello(init->hello().begin(), init->hello().end());
  hello[4 + 65] = 5;
  auto resp2 = HandshakeResponder::Create(k.worker, k.gateway.public_key());
  EXPECT_THAT(resp2->ReadHello(hello), HasError("invocation id length"));
}

TEST(HandshakeTest, SecretFeedsTheRecordChannel) {
  Keys k;
  Transcript t = RunHandshake(k);
  auto sealer = RecordSealer::Create(t.initiator.secret.view(), t.initiator.invocation_id,
                                     ChannelRole::kGateway);
  auto opener = RecordOpener::Create(t.responder.secret.view(), t.responder.invocation_id,
                                     ChannelRole::kGateway);
  ASSERT_THAT(sealer, IsOk());
  ASSERT_THAT(opener, IsOk());
  Bytes record;
  ASSERT_THAT(sealer->Seal(AsBytes("hello worker"), record), IsOk());
  Bytes payload;
  bool final = false;
  ASSERT_THAT(opener->Open(record, &payload, &final), IsOk());
  EXPECT_EQ(AsChars(payload), "hello worker");
}

// ---- over sockets --------------------------------------------------------------------

struct SocketPair {
  int a = -1, b = -1;
  SocketPair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    a = fds[0];
    b = fds[1];
  }
  ~SocketPair() {
    if (a >= 0) ::close(a);
    if (b >= 0) ::close(b);
  }
};

// Runs a conversation over connected descriptors: the gateway sends a request right
// after its finish message (no extra round trip), the worker answers, both close.
void Converse(const Keys& k, int gateway_fd, int worker_fd) {
  auto worker = std::async(std::launch::async, [&]() -> std::string {
    auto accepted = ChannelEndpoint::AcceptAuthenticated(worker_fd, k.worker, k.gateway.public_key());
    if (!accepted) return "accept: " + accepted.error().ToString();
    if (accepted->invocation_id != kId) return "wrong invocation id";
    auto request = accepted->endpoint.Receive();
    if (!request || !*request) return "no request";
    Bytes answer = **request;
    answer.insert(answer.begin(), {'r', 'e', ':'});
    if (!accepted->endpoint.Send(answer) || !accepted->endpoint.Close()) return "send failed";
    // The rest of the request, then the gateway's final record.
    size_t total = request->value().size();
    for (;;) {
      auto more = accepted->endpoint.Receive();
      if (!more) return "receive: " + more.error().ToString();
      if (!*more) break;
      total += (*more)->size();
    }
    return total == 100000 ? "ok" : "got " + std::to_string(total) + " bytes";
  });
  auto gateway = ChannelEndpoint::ConnectAuthenticated(gateway_fd, k.gateway,
                                                       k.worker.public_key(), kId);
  ASSERT_THAT(gateway, IsOk());
  Bytes big(100000, 0x5a);
  ASSERT_THAT(gateway->Send(big), IsOk());
  Bytes got;
  for (;;) {
    auto part = gateway->Receive();
    ASSERT_THAT(part, IsOk());
    if (!*part) break;
    got.insert(got.end(), (*part)->begin(), (*part)->end());
  }
  ASSERT_THAT(gateway->Close(), IsOk());
  // The worker received the message in records of at most 16 KiB; it answered the first.
  EXPECT_EQ(worker.get(), "ok");
  EXPECT_EQ(got.size(), 3 + kChannelMaxPayload);
}

TEST(HandshakeSocketTest, SocketPairConversation) {
  Keys k;
  SocketPair p;
  Converse(k, p.a, p.b);
}

TEST(HandshakeSocketTest, LoopbackTcpConversation) {
  Keys k;
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 1), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  int server = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(server, 0);
  Converse(k, client, server);
  ::close(client);
  ::close(server);
  ::close(listener);
}

TEST(HandshakeSocketTest, WrongPinnedKeyFailsBothSidesOverASocket) {
  Keys k;
  SocketPair p;
  auto worker = std::async(std::launch::async, [&] {
    return ChannelEndpoint::AcceptAuthenticated(p.b, k.worker, k.gateway.public_key());
  });
  // The gateway pins the stranger's key: it refuses the worker's reply and closes.
  auto gateway = ChannelEndpoint::ConnectAuthenticated(p.a, k.gateway,
                                                       k.stranger.public_key(), kId);
  EXPECT_THAT(gateway, HasError("responder's signature does not verify"));
  ::shutdown(p.a, SHUT_RDWR);
  EXPECT_THAT(worker.get(), HasError("closed the connection"));
}

TEST(HandshakeSocketTest, TruncatedHelloFailsAtEof) {
  Keys k;
  SocketPair p;
  auto init = HandshakeInitiator::Create(k.gateway, k.worker.public_key(), kId);
  ASSERT_EQ(::write(p.a, init->hello().data(), 20), 20);
  ::shutdown(p.a, SHUT_WR);
  EXPECT_THAT(ChannelEndpoint::AcceptAuthenticated(p.b, k.worker, k.gateway.public_key()),
              HasError("closed the connection during the handshake"));
}

TEST(HandshakeSocketTest, OversizedHeaderFailsWithoutWaitingForTheBody) {
  Keys k;
  SocketPair p;
  const uint8_t header[] = {1, 1, 0xff, 0xff};
  ASSERT_EQ(::write(p.a, header, sizeof header), 4);
  HandshakeOptions options;
  options.timeout_ms = 60000;
  auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(ChannelEndpoint::AcceptAuthenticated(p.b, k.worker, k.gateway.public_key(), options),
              HasError("bad length 65535"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(HandshakeSocketTest, SilentPeerTimesOut) {
  Keys k;
  SocketPair p;
  HandshakeOptions options;
  options.timeout_ms = 150;
  auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(ChannelEndpoint::ConnectAuthenticated(p.a, k.gateway, k.worker.public_key(), kId,
                                                    options),
              HasError("timed out"));
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, std::chrono::milliseconds(140));
  EXPECT_LT(took, std::chrono::seconds(5));
}

}  // namespace
}  // namespace fnjail::crypto
