// The record channel: per-direction keys from HKDF, counter nonces, authenticated headers,
// an explicit final record, automatic key roll-forward, and a blocking socket endpoint.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "crypto/crypto.h"

namespace fnjail::crypto {
namespace {

constexpr uint8_t kVersion = 1;
constexpr uint8_t kTypeData = 1;
constexpr uint8_t kTypeFinal = 2;
constexpr size_t kKeyIvSize = Aead::kKeySize + Aead::kNonceSize;
constexpr std::string_view kLabel = "fnjail-channel-v1";

std::string_view RoleName(ChannelRole role) {
  return role == ChannelRole::kGateway ? "gateway-to-runtime" : "runtime-to-gateway";
}

void PutLe(uint8_t* p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

uint64_t GetLe(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// The key state of one direction. Both ends run the same schedule on the same record
// sizes, so they roll keys forward at the same record without any message.
struct Direction {
  ChannelOptions options;
  SecretBytes key_iv;  // current AEAD key || IV base
  std::optional<Aead> aead;
  std::array<uint8_t, Aead::kNonceSize> iv{};
  uint64_t seq = 0;
  uint64_t epoch_records = 0;
  uint64_t epoch_bytes = 0;

  Result<void> Install() {
    auto aead_or = Aead::Create(options.algorithm, key_iv.view().subspan(0, Aead::kKeySize));
    if (!aead_or) return tl::unexpected(aead_or.error());
    aead = std::move(*aead_or);
    std::copy(key_iv.data() + Aead::kKeySize, key_iv.data() + kKeyIvSize, iv.begin());
    return {};
  }

  // Called before each record with its payload size.
  Result<void> Advance(size_t payload) {
    if (epoch_records >= options.rekey_records || epoch_bytes + payload > options.rekey_bytes) {
      std::string info = std::string(kLabel) + " rekey";
      auto next = HkdfSha256(key_iv.view(), {}, AsBytes(info), kKeyIvSize);
      if (!next) return tl::unexpected(next.error());
      key_iv = std::move(*next);
      auto installed = Install();
      if (!installed) return installed;
      epoch_records = 0;
      epoch_bytes = 0;
    }
    ++epoch_records;
    epoch_bytes += payload;
    return {};
  }

  // Nonce = IV base XOR (0^32 || seq as 64-bit big-endian), as in TLS 1.3.
  std::array<uint8_t, Aead::kNonceSize> Nonce() const {
    std::array<uint8_t, Aead::kNonceSize> n = iv;
    for (int i = 0; i < 8; ++i) n[4 + i] ^= static_cast<uint8_t>(seq >> (8 * (7 - i)));
    return n;
  }
};

Result<Direction> MakeDirection(ByteView secret, ByteView invocation_id, ChannelRole sender,
                                const ChannelOptions& options, const char* op) {
  if (secret.size() < kChannelMinSecret) {
    return Fail(op, "the channel secret must be at least 32 bytes");
  }
  if (invocation_id.empty()) return Fail(op, "empty invocation id");
  Direction d;
  d.options = options;
  // Clamped: these bounds keep AES-GCM far inside its safety margins per key.
  d.options.rekey_records = std::clamp<uint64_t>(options.rekey_records, 1, uint64_t{1} << 24);
  d.options.rekey_bytes =
      std::clamp<uint64_t>(options.rekey_bytes, kChannelMaxPayload, uint64_t{1} << 32);
  std::string info = std::string(kLabel) + " " + std::string(AeadAlgorithmName(options.algorithm)) +
                     " " + std::string(RoleName(sender));
  auto key_iv = HkdfSha256(secret, invocation_id, AsBytes(info), kKeyIvSize);
  if (!key_iv) return tl::unexpected(key_iv.error());
  d.key_iv = std::move(*key_iv);
  auto installed = d.Install();
  if (!installed) return tl::unexpected(installed.error());
  return d;
}

}  // namespace

// ---- sealer ------------------------------------------------------------------------------

struct RecordSealer::Impl {
  Direction dir;
  bool final_sent = false;

  Result<void> SealRecord(uint8_t type, ByteView payload, Bytes& out) {
    const char* op = "channel seal";
    if (final_sent) return Fail(op, "the stream is closed (final record sent)");
    if (payload.size() > kChannelMaxPayload) {
      return Fail(op, "payload of " + std::to_string(payload.size()) + " bytes exceeds " +
                          std::to_string(kChannelMaxPayload));
    }
    auto advanced = dir.Advance(payload.size());
    if (!advanced) return advanced;
    size_t start = out.size();
    out.resize(start + kChannelHeaderSize + payload.size() + Aead::kTagSize);
    uint8_t* header = out.data() + start;
    header[0] = kVersion;
    header[1] = type;
    header[2] = 0;
    header[3] = 0;
    PutLe(header + 4, payload.size() + Aead::kTagSize, 4);
    PutLe(header + 8, dir.seq, 8);
    // Sealed straight from the caller's buffer into `out`: no staging copy.
    auto nonce = dir.Nonce();
    auto sealed = dir.aead->Seal(nonce, ByteView(header, kChannelHeaderSize), payload,
                                 std::span<uint8_t>(header + kChannelHeaderSize,
                                                    payload.size() + Aead::kTagSize));
    if (!sealed) {
      out.resize(start);
      return sealed;
    }
    ++dir.seq;
    if (type == kTypeFinal) final_sent = true;
    return {};
  }
};

RecordSealer::RecordSealer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RecordSealer::RecordSealer(RecordSealer&&) noexcept = default;
RecordSealer& RecordSealer::operator=(RecordSealer&&) noexcept = default;
RecordSealer::~RecordSealer() = default;

Result<RecordSealer> RecordSealer::Create(ByteView secret, ByteView invocation_id,
                                          ChannelRole sender, const ChannelOptions& options) {
  auto dir = MakeDirection(secret, invocation_id, sender, options, "channel seal");
  if (!dir) return tl::unexpected(dir.error());
  auto impl = std::make_unique<Impl>();
  impl->dir = std::move(*dir);
  return RecordSealer(std::move(impl));
}

Result<void> RecordSealer::Seal(ByteView payload, Bytes& out) {
  return impl_->SealRecord(kTypeData, payload, out);
}

Result<void> RecordSealer::SealFinal(Bytes& out) { return impl_->SealRecord(kTypeFinal, {}, out); }

uint64_t RecordSealer::records() const noexcept { return impl_->dir.seq; }

// ---- opener ------------------------------------------------------------------------------

struct RecordOpener::Impl {
  Direction dir;
  bool final_seen = false;
  std::optional<Error> failed;

  tl::unexpected<Error> FailStream(const std::string& message) {
    failed = Error("channel open", "record " + std::to_string(dir.seq) + ": " + message);
    return tl::unexpected(*failed);
  }
};

RecordOpener::RecordOpener(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RecordOpener::RecordOpener(RecordOpener&&) noexcept = default;
RecordOpener& RecordOpener::operator=(RecordOpener&&) noexcept = default;
RecordOpener::~RecordOpener() = default;

Result<RecordOpener> RecordOpener::Create(ByteView secret, ByteView invocation_id,
                                          ChannelRole sender, const ChannelOptions& options) {
  auto dir = MakeDirection(secret, invocation_id, sender, options, "channel open");
  if (!dir) return tl::unexpected(dir.error());
  auto impl = std::make_unique<Impl>();
  impl->dir = std::move(*dir);
  return RecordOpener(std::move(impl));
}

bool RecordOpener::finished() const noexcept { return impl_->final_seen; }

Result<void> RecordOpener::Finish() const {
  if (impl_->failed) return tl::unexpected(*impl_->failed);
  if (!impl_->final_seen) {
    return Fail("channel open", "stream truncated: it ended without a final record");
  }
  return {};
}

Result<size_t> RecordOpener::Open(ByteView data, Bytes* payload, bool* final) {
  Impl& s = *impl_;
  if (s.failed) return tl::unexpected(*s.failed);
  if (s.final_seen) {
    if (data.empty()) return size_t{0};
    return s.FailStream("data after the final record");
  }
  if (data.size() < kChannelHeaderSize) return size_t{0};
  const uint8_t* header = data.data();
  uint8_t type = header[1];
  auto sealed_len = static_cast<size_t>(GetLe(header + 4, 4));
  uint64_t seq = GetLe(header + 8, 8);
  // Header checks first: a bad length must not make the reader wait for bytes forever.
  if (header[0] != kVersion) return s.FailStream("unknown version " + std::to_string(header[0]));
  if (type != kTypeData && type != kTypeFinal) {
    return s.FailStream("unknown record type " + std::to_string(type));
  }
  if (header[2] != 0 || header[3] != 0) return s.FailStream("reserved header bits set");
  if (sealed_len < Aead::kTagSize || sealed_len > kChannelMaxPayload + Aead::kTagSize) {
    return s.FailStream("bad record length " + std::to_string(sealed_len));
  }
  if (type == kTypeFinal && sealed_len != Aead::kTagSize) {
    return s.FailStream("final record with a payload");
  }
  // The sequence number is also authenticated (the header is the AAD); checking it here
  // gives a precise message for a dropped, replayed or reordered record.
  if (seq != s.dir.seq) {
    return s.FailStream("sequence number " + std::to_string(seq) +
                        " (record dropped, replayed or reordered)");
  }
  if (data.size() < kChannelHeaderSize + sealed_len) return size_t{0};
  size_t payload_len = sealed_len - Aead::kTagSize;
  auto advanced = s.dir.Advance(payload_len);
  if (!advanced) return s.FailStream(advanced.error().message());
  payload->resize(payload_len);
  auto opened = s.dir.aead->Open(s.dir.Nonce(), ByteView(header, kChannelHeaderSize),
                                 data.subspan(kChannelHeaderSize, sealed_len), *payload);
  if (!opened) {
    payload->clear();
    return s.FailStream("authentication failed");
  }
  ++s.dir.seq;
  *final = type == kTypeFinal;
  if (*final) s.final_seen = true;
  return kChannelHeaderSize + sealed_len;
}

// ---- endpoint ----------------------------------------------------------------------------

struct ChannelEndpoint::Impl {
  int fd = -1;
  RecordSealer sealer;
  RecordOpener opener;
  Bytes out;
  Bytes in;
  size_t in_start = 0;  // bytes of `in` already consumed

  Impl(int f, RecordSealer s, RecordOpener o)
      : fd(f), sealer(std::move(s)), opener(std::move(o)) {}

  Result<void> Flush() {
    size_t done = 0;
    while (done < out.size()) {
      ssize_t n = ::send(fd, out.data() + done, out.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno == ENOTSOCK) n = ::write(fd, out.data() + done, out.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        out.clear();
        return Fail("channel send", std::string("write failed: ") + std::strerror(errno));
      }
      done += static_cast<size_t>(n);
    }
    out.clear();
    return {};
  }
};

ChannelEndpoint::ChannelEndpoint(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ChannelEndpoint::ChannelEndpoint(ChannelEndpoint&&) noexcept = default;
ChannelEndpoint& ChannelEndpoint::operator=(ChannelEndpoint&&) noexcept = default;
ChannelEndpoint::~ChannelEndpoint() = default;

Result<ChannelEndpoint> ChannelEndpoint::Create(int fd, ByteView secret, ByteView invocation_id,
                                                ChannelRole self, const ChannelOptions& options) {
  ChannelRole peer = self == ChannelRole::kGateway ? ChannelRole::kRuntime : ChannelRole::kGateway;
  auto sealer = RecordSealer::Create(secret, invocation_id, self, options);
  if (!sealer) return tl::unexpected(sealer.error());
  auto opener = RecordOpener::Create(secret, invocation_id, peer, options);
  if (!opener) return tl::unexpected(opener.error());
  return ChannelEndpoint(std::make_unique<Impl>(fd, std::move(*sealer), std::move(*opener)));
}

Result<void> ChannelEndpoint::Send(ByteView message) {
  size_t off = 0;
  do {
    size_t n = std::min(kChannelMaxPayload, message.size() - off);
    auto sealed = impl_->sealer.Seal(message.subspan(off, n), impl_->out);
    if (!sealed) {
      impl_->out.clear();
      return sealed;
    }
    off += n;
  } while (off < message.size());
  return impl_->Flush();
}

Result<void> ChannelEndpoint::Close() {
  auto sealed = impl_->sealer.SealFinal(impl_->out);
  if (!sealed) return sealed;
  return impl_->Flush();
}

Result<std::optional<Bytes>> ChannelEndpoint::Receive() {
  Impl& s = *impl_;
  for (;;) {
    Bytes payload;
    bool final = false;
    auto used = s.opener.Open(ByteView(s.in).subspan(s.in_start), &payload, &final);
    if (!used) return tl::unexpected(used.error());
    if (*used > 0) {
      s.in_start += *used;
      if (s.in_start == s.in.size()) {
        s.in.clear();
        s.in_start = 0;
      }
      if (final) return std::optional<Bytes>();
      return std::optional<Bytes>(std::move(payload));
    }
    if (s.opener.finished()) return std::optional<Bytes>();
    // Compact, then read more.
    if (s.in_start > 0) {
      s.in.erase(s.in.begin(), s.in.begin() + static_cast<std::ptrdiff_t>(s.in_start));
      s.in_start = 0;
    }
    size_t old = s.in.size();
    s.in.resize(old + 64 * 1024);
    ssize_t n = ::read(s.fd, s.in.data() + old, 64 * 1024);
    if (n < 0) {
      s.in.resize(old);
      if (errno == EINTR) continue;
      return Fail("channel receive", std::string("read failed: ") + std::strerror(errno));
    }
    s.in.resize(old + static_cast<size_t>(n));
    if (n == 0) {
      auto finished = s.opener.Finish();
      if (!finished) return tl::unexpected(finished.error());
      return std::optional<Bytes>();
    }
  }
}

}  // namespace fnjail::crypto
