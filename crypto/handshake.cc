// The remote channel's handshake: X25519 key agreement authenticated by pinned static
// Ed25519 keys, as two I/O-free state machines and their socket drivers.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "crypto/crypto.h"
#include "crypto/internal/error.h"
#include "crypto/internal/handles.h"

namespace fnjail::crypto {

using internal::FailOpenSsl;

namespace {

constexpr uint8_t kVersion = 1;
constexpr uint8_t kTypeHello = 1;
constexpr uint8_t kTypeReply = 2;
constexpr uint8_t kTypeFinish = 3;

constexpr size_t kNonceSize = 32;
constexpr size_t kX25519Size = 32;
constexpr size_t kSigSize = Ed25519PublicKey::kSignatureSize;
constexpr size_t kMacSize = 32;
// hello body: u8 algorithm | nonce | ephemeral key | u16 id length | id
constexpr size_t kHelloFixed = 1 + kNonceSize + kX25519Size + 2;
// reply body: nonce | ephemeral key | signature | MAC
constexpr size_t kReplySigned = kNonceSize + kX25519Size;  // the part covered by th1
constexpr size_t kReplyBody = kReplySigned + kSigSize + kMacSize;
// finish body: signature | MAC
constexpr size_t kFinishBody = kSigSize + kMacSize;
static_assert(kHandshakeMaxMessage == kHandshakeHeaderSize + kHelloFixed + kHandshakeMaxInvocationId);

constexpr std::string_view kLabel = "fnjail-handshake-v1";
constexpr std::string_view kResponderSigLabel = "fnjail-handshake-v1 responder signature";
constexpr std::string_view kInitiatorSigLabel = "fnjail-handshake-v1 initiator signature";
constexpr std::string_view kResponderMacLabel = "fnjail-handshake-v1 responder finished";
constexpr std::string_view kInitiatorMacLabel = "fnjail-handshake-v1 initiator finished";
constexpr std::string_view kSecretLabel = "fnjail-handshake-v1 channel secret";

uint8_t AlgorithmCode(AeadAlgorithm alg) {
  return alg == AeadAlgorithm::kAes256Gcm ? 1 : 2;
}

std::optional<AeadAlgorithm> AlgorithmFromCode(uint8_t code) {
  if (code == 1) return AeadAlgorithm::kAes256Gcm;
  if (code == 2) return AeadAlgorithm::kChaCha20Poly1305;
  return std::nullopt;
}

void Append(Bytes& out, ByteView b) { out.insert(out.end(), b.begin(), b.end()); }
void Append(Bytes& out, std::string_view s) { Append(out, AsBytes(s)); }

Bytes Header(uint8_t type, size_t body) {
  return Bytes{kVersion, type, static_cast<uint8_t>(body & 0xff),
               static_cast<uint8_t>(body >> 8)};
}

// An ephemeral X25519 key pair, drawn fresh for every handshake.
struct Ephemeral {
  internal::PkeyPtr key;
  std::array<uint8_t, kX25519Size> pub{};
};

Result<Ephemeral> NewEphemeral(const char* op) {
  internal::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    return FailOpenSsl(op, "cannot generate an X25519 key");
  }
  Ephemeral e;
  e.key.reset(raw);
  size_t len = e.pub.size();
  if (EVP_PKEY_get_raw_public_key(e.key.get(), e.pub.data(), &len) != 1 || len != e.pub.size()) {
    return FailOpenSsl(op, "cannot export the X25519 public key");
  }
  return e;
}

// X25519(own, peer). A peer key of small order gives the all-zero secret, which would
// let a man in the middle fix the secret: refused (RFC 7748 section 6.1).
Result<SecretBytes> Agree(const Ephemeral& own, ByteView peer, const char* op) {
  internal::PkeyPtr peer_key(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer.data(), peer.size()));
  if (!peer_key) return FailOpenSsl(op, "invalid X25519 public key");
  internal::PkeyCtxPtr ctx(EVP_PKEY_CTX_new(own.key.get(), nullptr));
  SecretBytes shared(kX25519Size);
  size_t len = shared.size();
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), peer_key.get()) != 1 ||
      EVP_PKEY_derive(ctx.get(), shared.data(), &len) != 1 || len != shared.size()) {
    return FailOpenSsl(op, "X25519 agreement failed (a low-order peer key?)");
  }
  static constexpr std::array<uint8_t, kX25519Size> kZero{};
  if (CRYPTO_memcmp(shared.data(), kZero.data(), kZero.size()) == 0) {
    return Fail(op, "X25519 agreement gave the all-zero secret (a low-order peer key)");
  }
  return shared;
}

Result<Digest> Hash(std::initializer_list<ByteView> parts) {
  Bytes all;
  for (ByteView p : parts) Append(all, p);
  return Sha256(all);
}

Result<SecretBytes> Derive(const SecretBytes& shared, const Digest& salt,
                           std::string_view label, size_t length) {
  return HkdfSha256(shared.view(), salt, AsBytes(label), length);
}

// Parses the header of `message` and checks it is a whole message of type `type`.
Result<ByteView> Body(ByteView message, uint8_t type, const char* op) {
  if (message.size() < kHandshakeHeaderSize) return Fail(op, "truncated handshake message");
  auto size = HandshakeMessageSize(message.first(kHandshakeHeaderSize));
  if (!size) return Fail(op, size.error().message());
  if (message[1] != type) {
    return Fail(op, "unexpected handshake message type " + std::to_string(message[1]));
  }
  if (message.size() != *size) {
    return Fail(op, "handshake message of " + std::to_string(message.size()) +
                        " bytes, its header says " + std::to_string(*size));
  }
  return message.subspan(kHandshakeHeaderSize);
}

}  // namespace

Result<size_t> HandshakeMessageSize(ByteView header) {
  const char* op = "channel handshake";
  if (header.size() < kHandshakeHeaderSize) return Fail(op, "truncated handshake header");
  if (header[0] != kVersion) {
    return Fail(op, "unknown handshake version " + std::to_string(header[0]));
  }
  size_t body = header[2] | (static_cast<size_t>(header[3]) << 8);
  bool fits = false;
  switch (header[1]) {
    case kTypeHello:
      fits = body > kHelloFixed && body <= kHelloFixed + kHandshakeMaxInvocationId;
      break;
    case kTypeReply:
      fits = body == kReplyBody;
      break;
    case kTypeFinish:
      fits = body == kFinishBody;
      break;
    default:
      return Fail(op, "unknown handshake message type " + std::to_string(header[1]));
  }
  if (!fits) {
    return Fail(op, "bad length " + std::to_string(body) + " for handshake message type " +
                        std::to_string(header[1]));
  }
  return kHandshakeHeaderSize + body;
}

// ---- initiator ---------------------------------------------------------------------------

struct HandshakeInitiator::Impl {
  const Ed25519SigningKey* own = nullptr;
  Ed25519PublicKey peer;
  AeadAlgorithm algorithm = AeadAlgorithm::kAes256Gcm;
  Bytes invocation_id;
  Ephemeral ephemeral;
  Bytes hello;
  enum class State { kSentHello, kDone, kTaken, kFailed } state = State::kSentHello;
  HandshakeResult result;
};

HandshakeInitiator::HandshakeInitiator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HandshakeInitiator::HandshakeInitiator(HandshakeInitiator&&) noexcept = default;
HandshakeInitiator& HandshakeInitiator::operator=(HandshakeInitiator&&) noexcept = default;
HandshakeInitiator::~HandshakeInitiator() = default;

Result<HandshakeInitiator> HandshakeInitiator::Create(const Ed25519SigningKey& own_key,
                                                      const Ed25519PublicKey& peer_key,
                                                      ByteView invocation_id,
                                                      AeadAlgorithm algorithm) {
  const char* op = "channel handshake";
  if (invocation_id.empty() || invocation_id.size() > kHandshakeMaxInvocationId) {
    return Fail(op, "the invocation id must be 1 to 256 bytes");
  }
  auto impl = std::make_unique<Impl>();
  impl->own = &own_key;
  impl->peer = peer_key;
  impl->algorithm = algorithm;
  impl->invocation_id.assign(invocation_id.begin(), invocation_id.end());
  auto eph = NewEphemeral(op);
  if (!eph) return tl::unexpected(eph.error());
  impl->ephemeral = std::move(*eph);
  std::array<uint8_t, kNonceSize> nonce{};
  auto filled = FillRandom(nonce);
  if (!filled) return tl::unexpected(filled.error());
  Bytes& h = impl->hello;
  h = Header(kTypeHello, kHelloFixed + invocation_id.size());
  h.push_back(AlgorithmCode(algorithm));
  Append(h, nonce);
  Append(h, impl->ephemeral.pub);
  h.push_back(static_cast<uint8_t>(invocation_id.size() & 0xff));
  h.push_back(static_cast<uint8_t>(invocation_id.size() >> 8));
  Append(h, invocation_id);
  return HandshakeInitiator(std::move(impl));
}

ByteView HandshakeInitiator::hello() const noexcept { return impl_->hello; }

Result<Bytes> HandshakeInitiator::ReadReply(ByteView reply) {
  const char* op = "channel handshake";
  Impl& s = *impl_;
  if (s.state != Impl::State::kSentHello) {
    return Fail(op, s.state == Impl::State::kFailed ? "the handshake already failed"
                                                    : "the reply was already read");
  }
  s.state = Impl::State::kFailed;  // until everything below checks out
  auto body = Body(reply, kTypeReply, op);
  if (!body) return tl::unexpected(body.error());
  ByteView peer_eph = body->subspan(kNonceSize, kX25519Size);
  ByteView sig_r = body->subspan(kReplySigned, kSigSize);
  ByteView mac_r = body->subspan(kReplySigned + kSigSize, kMacSize);

  auto shared = Agree(s.ephemeral, peer_eph, op);
  if (!shared) return tl::unexpected(shared.error());
  auto th1 = Hash({AsBytes(kLabel), s.own->public_key().raw(), s.peer.raw(), s.hello,
                   reply.first(kHandshakeHeaderSize + kReplySigned)});
  if (!th1) return tl::unexpected(th1.error());
  Bytes signed_r;
  Append(signed_r, kResponderSigLabel);
  Append(signed_r, *th1);
  // Security: the signature under the pinned key over a transcript holding our fresh
  // nonce and ephemeral key proves the responder is live and saw this very hello; the
  // MAC proves it holds the X25519 secret bound to that transcript.
  if (!s.peer.Verify(signed_r, sig_r)) {
    return Fail(op, "the responder's signature does not verify: a wrong key, a man in the "
                    "middle or a replayed reply");
  }
  auto fk_r = Derive(*shared, *th1, kResponderMacLabel, kMacSize);
  if (!fk_r) return tl::unexpected(fk_r.error());
  Bytes mac_input(th1->begin(), th1->end());
  Append(mac_input, sig_r);
  auto expect_r = HmacSha256(fk_r->view(), mac_input);
  if (!expect_r) return tl::unexpected(expect_r.error());
  if (!ConstantTimeEqual(*expect_r, mac_r)) {
    return Fail(op, "the responder's MAC does not verify");
  }
  auto th2 = Hash({*th1, sig_r, mac_r});
  if (!th2) return tl::unexpected(th2.error());

  Bytes signed_i;
  Append(signed_i, kInitiatorSigLabel);
  Append(signed_i, *th2);
  auto sig_i = s.own->Sign(signed_i);
  if (!sig_i) return tl::unexpected(sig_i.error());
  auto fk_i = Derive(*shared, *th1, kInitiatorMacLabel, kMacSize);
  if (!fk_i) return tl::unexpected(fk_i.error());
  Bytes mac_i_input(th2->begin(), th2->end());
  Append(mac_i_input, *sig_i);
  auto mac_i = HmacSha256(fk_i->view(), mac_i_input);
  if (!mac_i) return tl::unexpected(mac_i.error());
  auto th3 = Hash({*th2, *sig_i, *mac_i});
  if (!th3) return tl::unexpected(th3.error());
  auto secret = Derive(*shared, *th3, kSecretLabel, kHandshakeSecretSize);
  if (!secret) return tl::unexpected(secret.error());

  Bytes finish = Header(kTypeFinish, kFinishBody);
  Append(finish, *sig_i);
  Append(finish, *mac_i);
  s.result.secret = std::move(*secret);
  s.result.invocation_id = s.invocation_id;
  s.result.algorithm = s.algorithm;
  s.result.transcript = *th3;
  s.state = Impl::State::kDone;
  return finish;
}

Result<HandshakeResult> HandshakeInitiator::TakeResult() {
  Impl& s = *impl_;
  if (s.state != Impl::State::kDone) {
    return Fail("channel handshake", "the handshake is not complete");
  }
  s.state = Impl::State::kTaken;
  return std::move(s.result);
}

// ---- responder ---------------------------------------------------------------------------

struct HandshakeResponder::Impl {
  const Ed25519SigningKey* own = nullptr;
  Ed25519PublicKey peer;
  AeadAlgorithm algorithm = AeadAlgorithm::kAes256Gcm;
  Bytes expected_id;
  enum class State { kAwaitHello, kAwaitFinish, kDone, kFailed } state = State::kAwaitHello;
  SecretBytes shared;
  Digest th1{};
  Digest th2{};
  Bytes invocation_id;
};

HandshakeResponder::HandshakeResponder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HandshakeResponder::HandshakeResponder(HandshakeResponder&&) noexcept = default;
HandshakeResponder& HandshakeResponder::operator=(HandshakeResponder&&) noexcept = default;
HandshakeResponder::~HandshakeResponder() = default;

Result<HandshakeResponder> HandshakeResponder::Create(const Ed25519SigningKey& own_key,
                                                      const Ed25519PublicKey& peer_key,
                                                      AeadAlgorithm algorithm,
                                                      ByteView expected_invocation_id) {
  if (expected_invocation_id.size() > kHandshakeMaxInvocationId) {
    return Fail("channel handshake", "the invocation id must be 1 to 256 bytes");
  }
  auto impl = std::make_unique<Impl>();
  impl->own = &own_key;
  impl->peer = peer_key;
  impl->algorithm = algorithm;
  impl->expected_id.assign(expected_invocation_id.begin(), expected_invocation_id.end());
  return HandshakeResponder(std::move(impl));
}

Result<Bytes> HandshakeResponder::ReadHello(ByteView hello) {
  const char* op = "channel handshake";
  Impl& s = *impl_;
  if (s.state != Impl::State::kAwaitHello) {
    return Fail(op, s.state == Impl::State::kFailed ? "the handshake already failed"
                                                    : "a second hello");
  }
  s.state = Impl::State::kFailed;
  auto body = Body(hello, kTypeHello, op);
  if (!body) return tl::unexpected(body.error());
  auto alg = AlgorithmFromCode((*body)[0]);
  if (!alg) return Fail(op, "unknown channel algorithm " + std::to_string((*body)[0]));
  if (*alg != s.algorithm) {
    return Fail(op, "the initiator asks for " + std::string(AeadAlgorithmName(*alg)) +
                        ", this end accepts only " +
                        std::string(AeadAlgorithmName(s.algorithm)));
  }
  ByteView peer_eph = body->subspan(1 + kNonceSize, kX25519Size);
  size_t id_len = (*body)[kHelloFixed - 2] | (static_cast<size_t>((*body)[kHelloFixed - 1]) << 8);
  if (id_len == 0 || kHelloFixed + id_len != body->size()) {
    return Fail(op, "the hello's invocation id length does not match its size");
  }
  ByteView id = body->subspan(kHelloFixed, id_len);
  if (!s.expected_id.empty() && !std::equal(id.begin(), id.end(), s.expected_id.begin(),
                                            s.expected_id.end())) {
    return Fail(op, "the hello names another invocation");
  }

  auto eph = NewEphemeral(op);
  if (!eph) return tl::unexpected(eph.error());
  auto shared = Agree(*eph, peer_eph, op);
  if (!shared) return tl::unexpected(shared.error());
  std::array<uint8_t, kNonceSize> nonce{};
  auto filled = FillRandom(nonce);
  if (!filled) return tl::unexpected(filled.error());

  Bytes reply = Header(kTypeReply, kReplyBody);
  Append(reply, nonce);
  Append(reply, eph->pub);
  auto th1 = Hash({AsBytes(kLabel), s.peer.raw(), s.own->public_key().raw(), hello, reply});
  if (!th1) return tl::unexpected(th1.error());
  Bytes signed_r;
  Append(signed_r, kResponderSigLabel);
  Append(signed_r, *th1);
  auto sig_r = s.own->Sign(signed_r);
  if (!sig_r) return tl::unexpected(sig_r.error());
  auto fk_r = Derive(*shared, *th1, kResponderMacLabel, kMacSize);
  if (!fk_r) return tl::unexpected(fk_r.error());
  Bytes mac_input(th1->begin(), th1->end());
  Append(mac_input, *sig_r);
  auto mac_r = HmacSha256(fk_r->view(), mac_input);
  if (!mac_r) return tl::unexpected(mac_r.error());
  Append(reply, *sig_r);
  Append(reply, *mac_r);
  auto th2 = Hash({*th1, *sig_r, *mac_r});
  if (!th2) return tl::unexpected(th2.error());

  s.shared = std::move(*shared);
  s.th1 = *th1;
  s.th2 = *th2;
  s.invocation_id.assign(id.begin(), id.end());
  s.state = Impl::State::kAwaitFinish;
  return reply;
}

Result<HandshakeResult> HandshakeResponder::ReadFinish(ByteView finish) {
  const char* op = "channel handshake";
  Impl& s = *impl_;
  if (s.state != Impl::State::kAwaitFinish) {
    return Fail(op, s.state == Impl::State::kFailed ? "the handshake already failed"
                                                    : "a finish message before the hello");
  }
  s.state = Impl::State::kFailed;
  auto body = Body(finish, kTypeFinish, op);
  if (!body) return tl::unexpected(body.error());
  ByteView sig_i = body->subspan(0, kSigSize);
  ByteView mac_i = body->subspan(kSigSize, kMacSize);
  Bytes signed_i;
  Append(signed_i, kInitiatorSigLabel);
  Append(signed_i, s.th2);
  // Security: th2 holds this end's fresh nonce and ephemeral key, so a finish message
  // replayed from another handshake, or signed by any key but the pinned one, fails here.
  if (!s.peer.Verify(signed_i, sig_i)) {
    return Fail(op, "the initiator's signature does not verify: a wrong key, a man in the "
                    "middle or a replayed handshake");
  }
  auto fk_i = Derive(s.shared, s.th1, kInitiatorMacLabel, kMacSize);
  if (!fk_i) return tl::unexpected(fk_i.error());
  Bytes mac_input(s.th2.begin(), s.th2.end());
  Append(mac_input, sig_i);
  auto expect_i = HmacSha256(fk_i->view(), mac_input);
  if (!expect_i) return tl::unexpected(expect_i.error());
  if (!ConstantTimeEqual(*expect_i, mac_i)) return Fail(op, "the initiator's MAC does not verify");
  auto th3 = Hash({s.th2, sig_i, mac_i});
  if (!th3) return tl::unexpected(th3.error());
  auto secret = Derive(s.shared, *th3, kSecretLabel, kHandshakeSecretSize);
  if (!secret) return tl::unexpected(secret.error());
  HandshakeResult result;
  result.secret = std::move(*secret);
  result.invocation_id = std::move(s.invocation_id);
  result.algorithm = s.algorithm;
  result.transcript = *th3;
  s.shared = SecretBytes();
  s.state = Impl::State::kDone;
  return result;
}

// ---- socket drivers ----------------------------------------------------------------------

namespace {

using Clock = std::chrono::steady_clock;

// Waits until `fd` is ready for `events` or the deadline passes.
Result<void> WaitReady(int fd, short events, Clock::time_point deadline, const char* op) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return Fail(op, "the handshake timed out");
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1 << 30)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Fail(op, std::string("poll failed: ") + std::strerror(errno));
    if (n > 0) return {};
  }
}

Result<void> WriteAll(int fd, ByteView data, Clock::time_point deadline, const char* op) {
  size_t done = 0;
  while (done < data.size()) {
    auto ready = WaitReady(fd, POLLOUT, deadline, op);
    if (!ready) return ready;
    ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == ENOTSOCK) n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return Fail(op, std::string("write failed: ") + std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

// Reads exactly out.size() bytes. Never reads past them: the record stream follows the
// handshake on the same descriptor.
Result<void> ReadExactly(int fd, std::span<uint8_t> out, Clock::time_point deadline,
                         const char* op) {
  size_t done = 0;
  while (done < out.size()) {
    auto ready = WaitReady(fd, POLLIN, deadline, op);
    if (!ready) return ready;
    ssize_t n = ::recv(fd, out.data() + done, out.size() - done, MSG_DONTWAIT);
    if (n < 0 && errno == ENOTSOCK) n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return Fail(op, std::string("read failed: ") + std::strerror(errno));
    }
    if (n == 0) return Fail(op, "the peer closed the connection during the handshake");
    done += static_cast<size_t>(n);
  }
  return {};
}

// Reads one handshake message: the header, checked before any body byte is awaited.
Result<Bytes> ReadMessage(int fd, Clock::time_point deadline, const char* op) {
  Bytes message(kHandshakeHeaderSize);
  auto got = ReadExactly(fd, message, deadline, op);
  if (!got) return tl::unexpected(got.error());
  auto size = HandshakeMessageSize(message);
  if (!size) return tl::unexpected(size.error());
  message.resize(*size);
  got = ReadExactly(fd, std::span<uint8_t>(message).subspan(kHandshakeHeaderSize), deadline, op);
  if (!got) return tl::unexpected(got.error());
  return message;
}

Clock::time_point Deadline(const HandshakeOptions& options) {
  return Clock::now() + std::chrono::milliseconds(std::max<int64_t>(options.timeout_ms, 1));
}

}  // namespace

Result<ChannelEndpoint> ChannelEndpoint::ConnectAuthenticated(int fd,
                                                              const Ed25519SigningKey& own_key,
                                                              const Ed25519PublicKey& peer_key,
                                                              ByteView invocation_id,
                                                              const HandshakeOptions& options) {
  const char* op = "channel handshake";
  auto deadline = Deadline(options);
  auto initiator =
      HandshakeInitiator::Create(own_key, peer_key, invocation_id, options.channel.algorithm);
  if (!initiator) return tl::unexpected(initiator.error());
  auto sent = WriteAll(fd, initiator->hello(), deadline, op);
  if (!sent) return tl::unexpected(sent.error());
  auto reply = ReadMessage(fd, deadline, op);
  if (!reply) return tl::unexpected(reply.error());
  auto finish = initiator->ReadReply(*reply);
  if (!finish) return tl::unexpected(finish.error());
  sent = WriteAll(fd, *finish, deadline, op);
  if (!sent) return tl::unexpected(sent.error());
  auto result = initiator->TakeResult();
  if (!result) return tl::unexpected(result.error());
  return Create(fd, result->secret.view(), result->invocation_id, ChannelRole::kGateway,
                options.channel);
}

Result<ChannelEndpoint::Accepted> ChannelEndpoint::AcceptAuthenticated(
    int fd, const Ed25519SigningKey& own_key, const Ed25519PublicKey& peer_key,
    const HandshakeOptions& options, ByteView expected_invocation_id) {
  const char* op = "channel handshake";
  auto deadline = Deadline(options);
  auto responder = HandshakeResponder::Create(own_key, peer_key, options.channel.algorithm,
                                              expected_invocation_id);
  if (!responder) return tl::unexpected(responder.error());
  auto hello = ReadMessage(fd, deadline, op);
  if (!hello) return tl::unexpected(hello.error());
  auto reply = responder->ReadHello(*hello);
  if (!reply) return tl::unexpected(reply.error());
  auto sent = WriteAll(fd, *reply, deadline, op);
  if (!sent) return tl::unexpected(sent.error());
  auto finish = ReadMessage(fd, deadline, op);
  if (!finish) return tl::unexpected(finish.error());
  auto result = responder->ReadFinish(*finish);
  if (!result) return tl::unexpected(result.error());
  auto endpoint = Create(fd, result->secret.view(), result->invocation_id,
                         ChannelRole::kRuntime, options.channel);
  if (!endpoint) return tl::unexpected(endpoint.error());
  return Accepted{std::move(*endpoint), std::move(result->invocation_id)};
}

}  // namespace fnjail::crypto
