// Fuzzer of the remote channel's handshake parser: HandshakeMessageSize and the two state
// machines on arbitrary messages.
//
// The first byte picks the side and options; the rest is read as a stream of handshake
// messages exactly as the socket driver reads it (header, size check, body). Invariants:
// a size is never above kHandshakeMaxMessage; a failed state machine stays failed; and no
// input completes a handshake, since every honest reply or finish signs a transcript
// holding the other side's fresh nonce and ephemeral key. The handshake draws fresh
// randomness, but no outcome depends on it: only forging a signature would.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "crypto/crypto.h"

namespace {

namespace crypto = fnjail::crypto;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "channel_handshake_fuzzer: invariant violated: %s\n", what);
    std::abort();
  }
}

crypto::Ed25519SigningKey Key(uint8_t b) {
  crypto::Bytes seed(32, b);
  auto key = crypto::Ed25519SigningKey::FromSeed(seed);
  Check(key.has_value(), "key setup failed");
  return std::move(*key);
}

// The next message of the stream as the socket driver would read it, or nullopt when
// the stream ends first or the header is refused.
std::optional<crypto::ByteView> NextMessage(crypto::ByteView& rest) {
  if (rest.size() < crypto::kHandshakeHeaderSize) return std::nullopt;
  auto size = crypto::HandshakeMessageSize(rest.first(crypto::kHandshakeHeaderSize));
  if (!size) return std::nullopt;
  Check(*size <= crypto::kHandshakeMaxMessage, "message size above the maximum");
  Check(*size > crypto::kHandshakeHeaderSize, "message without a body");
  if (rest.size() < *size) return std::nullopt;
  crypto::ByteView message = rest.first(*size);
  rest = rest.subspan(*size);
  return message;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const crypto::Ed25519SigningKey gateway = Key(1);
  static const crypto::Ed25519SigningKey worker = Key(2);
  const uint8_t mode = data[0];
  const auto alg = (mode & 0x02) != 0 ? crypto::AeadAlgorithm::kChaCha20Poly1305
                                      : crypto::AeadAlgorithm::kAes256Gcm;
  crypto::ByteView rest(data + 1, size - 1);
  // The raw header check on whatever the first bytes are.
  if (rest.size() >= crypto::kHandshakeHeaderSize) {
    auto s = crypto::HandshakeMessageSize(rest.first(crypto::kHandshakeHeaderSize));
    Check(!s || *s <= crypto::kHandshakeMaxMessage, "size above the maximum");
  }

  if ((mode & 0x01) == 0) {
    // The worker's side: a hello, then a finish.
    const crypto::Bytes expected = {'f', 'u', 'z', 'z'};
    auto responder = crypto::HandshakeResponder::Create(
        worker, gateway.public_key(), alg,
        (mode & 0x04) != 0 ? crypto::ByteView(expected) : crypto::ByteView());
    Check(responder.has_value(), "responder setup failed");
    auto hello = NextMessage(rest);
    if (!hello) return 0;
    auto reply = responder->ReadHello(*hello);
    if (!reply) {
      Check(!responder->ReadHello(*hello).has_value(), "failure was not sticky");
      return 0;
    }
    auto reply_size = crypto::HandshakeMessageSize(*reply);
    Check(reply_size.has_value() && *reply_size == reply->size(), "reply misframed");
    while (auto finish = NextMessage(rest)) {
      Check(!responder->ReadFinish(*finish).has_value(), "a forged finish was accepted");
    }
    return 0;
  }
  // The gateway's side: replies to a fresh hello.
  auto initiator = crypto::HandshakeInitiator::Create(gateway, worker.public_key(),
                                                      crypto::AsBytes("fuzz"), alg);
  Check(initiator.has_value(), "initiator setup failed");
  while (auto reply = NextMessage(rest)) {
    Check(!initiator->ReadReply(*reply).has_value(), "a forged reply was accepted");
  }
  Check(!initiator->TakeResult().has_value(), "a result without a handshake");
  return 0;
}
