// fnjail::crypto: OpenSSL 3 primitives behind a narrow, OpenSSL-free interface.
//
// Everything here is built on OpenSSL 3 EVP, but no OpenSSL type appears in this header:
// handles live in crypto/internal/. Failures are values: every fallible function returns
// crypto::Result, whose error names the operation and carries the drained OpenSSL error
// queue. Nothing here throws across the API and nothing writes to stderr.
//
// Thread-safety: free functions are safe to call concurrently. Keys may be shared for
// reading; an Aead is used by one thread at a time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

namespace fnjail::crypto {

// ---------------------------------------------------------------------------------------
// Errors.

// A failed operation: what was attempted (`operation`, e.g. "aead open"), why
// (`message`, lower-case, user input in backticks) and the OpenSSL error queue as it was
// drained at the failure (oldest first; empty when OpenSSL was not involved).
class Error {
 public:
  Error(std::string operation, std::string message, std::vector<std::string> openssl = {})
      : operation_(std::move(operation)),
        message_(std::move(message)),
        openssl_(std::move(openssl)) {}

  const std::string& operation() const noexcept { return operation_; }
  const std::string& message() const noexcept { return message_; }
  const std::vector<std::string>& openssl_errors() const noexcept { return openssl_; }

  // `operation: message` plus ` (openssl: e1; e2)` when the queue held entries.
  std::string ToString() const;

 private:
  std::string operation_;
  std::string message_;
  std::vector<std::string> openssl_;
};

std::ostream& operator<<(std::ostream& os, const Error& e);

// The crypto library's result: a value or an Error.
template <class T>
class [[nodiscard]] Result : public tl::expected<T, Error> {
 public:
  using tl::expected<T, Error>::expected;
};

inline tl::unexpected<Error> Fail(std::string operation, std::string message) {
  return tl::unexpected(Error(std::move(operation), std::move(message)));
}

// ---------------------------------------------------------------------------------------
// Bytes.

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;
using Digest = std::array<uint8_t, 32>;

inline ByteView AsBytes(std::string_view s) noexcept {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsChars(ByteView b) noexcept {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Key material: zeroed (OPENSSL_cleanse) when destroyed or overwritten, and redacted when
// streamed, so a key never lands in a log by accident. Move-only.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t size) : bytes_(size) {}
  explicit SecretBytes(ByteView bytes) : bytes_(bytes.begin(), bytes.end()) {}
  SecretBytes(SecretBytes&& other) noexcept : bytes_(std::move(other.bytes_)) {
    other.bytes_.clear();
  }
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();

  uint8_t* data() noexcept { return bytes_.data(); }
  const uint8_t* data() const noexcept { return bytes_.data(); }
  size_t size() const noexcept { return bytes_.size(); }
  bool empty() const noexcept { return bytes_.empty(); }
  ByteView view() const noexcept { return {bytes_.data(), bytes_.size()}; }
  std::span<uint8_t> span() noexcept { return {bytes_.data(), bytes_.size()}; }

 private:
  void Wipe() noexcept;
  std::vector<uint8_t> bytes_;
};

// Prints `<secret: N bytes>`, never the bytes.
std::ostream& operator<<(std::ostream& os, const SecretBytes& s);

// Lower-case hex, and its strict inverse (even length, [0-9a-fA-F] only).
std::string ToHex(ByteView bytes);
Result<Bytes> FromHex(std::string_view hex);

// RFC 4648 section 5 base64url without padding (the JOSE form). The decoder is strict: it
// refuses padding, characters outside the alphabet, a length of 1 mod 4 and non-zero
// trailing bits, so every byte string has exactly one accepted encoding.
std::string Base64UrlEncode(ByteView bytes);
Result<Bytes> Base64UrlDecode(std::string_view text);

// ---------------------------------------------------------------------------------------
// Primitives.

// Fills `out` from the OpenSSL DRBG. Fails only when the DRBG cannot be seeded.
Result<void> FillRandom(std::span<uint8_t> out);
Result<Bytes> RandomBytes(size_t size);

// SHA-256 of `data`.
Result<Digest> Sha256(ByteView data);

// HMAC-SHA256 (RFC 2104). REQUIRES: key is not empty.
Result<Digest> HmacSha256(ByteView key, ByteView data);

// Compares two byte strings in time independent of their contents (CRYPTO_memcmp). A
// length mismatch is a mismatch; lengths are not secret.
bool ConstantTimeEqual(ByteView a, ByteView b) noexcept;

// HKDF-SHA256 (RFC 5869), extract then expand. `length` at most 255 * 32.
Result<SecretBytes> HkdfSha256(ByteView ikm, ByteView salt, ByteView info, size_t length);

// CRC-32C (Castagnoli, as in iSCSI and ext4), continuing from `crc` (0 to start). Detects
// torn and corrupted frames; it is not an integrity check against an adversary.
uint32_t Crc32c(ByteView data, uint32_t crc = 0) noexcept;

// An AEAD keyed once and used for many messages: the OpenSSL contexts are created when
// the object is built and only re-nonced per message. Not thread-safe; move-only.
enum class AeadAlgorithm { kAes256Gcm, kChaCha20Poly1305 };
std::string_view AeadAlgorithmName(AeadAlgorithm alg);

class Aead {
 public:
  static constexpr size_t kKeySize = 32;
  static constexpr size_t kNonceSize = 12;
  static constexpr size_t kTagSize = 16;

  // REQUIRES: key.size() == kKeySize (checked: an error otherwise).
  static Result<Aead> Create(AeadAlgorithm alg, ByteView key);

  Aead(Aead&&) noexcept;
  Aead& operator=(Aead&&) noexcept;
  ~Aead();

  AeadAlgorithm algorithm() const noexcept;

  // Encrypts `plaintext`, authenticating `aad` too, into `out` as ciphertext || tag.
  // REQUIRES: nonce.size() == kNonceSize, out.size() == plaintext.size() + kTagSize; a
  // nonce is never used twice with one key (the caller's counter guarantees it).
  // `out` may alias `plaintext` exactly (in-place).
  Result<void> Seal(ByteView nonce, ByteView aad, ByteView plaintext, std::span<uint8_t> out);

  // Decrypts ciphertext || tag into `out` (out.size() == sealed.size() - kTagSize). Fails
  // with "authentication failed" on any change to nonce, aad, ciphertext or tag; `out` is
  // then zeroed. `out` may alias the ciphertext exactly.
  Result<void> Open(ByteView nonce, ByteView aad, ByteView sealed, std::span<uint8_t> out);

 private:
  struct Impl;
  explicit Aead(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------------------
// Ed25519 (RFC 8032).

class Ed25519PublicKey {
 public:
  static constexpr size_t kSize = 32;
  static constexpr size_t kSignatureSize = 64;

  // From the 32-byte RFC 8032 encoding.
  static Result<Ed25519PublicKey> FromRaw(ByteView raw);
  // From a PEM `PUBLIC KEY` (SubjectPublicKeyInfo, as `openssl pkey -pubout` writes it).
  static Result<Ed25519PublicKey> FromPem(std::string_view pem);

  const std::array<uint8_t, kSize>& raw() const noexcept { return raw_; }
  std::string ToPem() const;

  // True when `signature` is a valid signature of `message` under this key.
  bool Verify(ByteView message, ByteView signature) const noexcept;

  friend bool operator==(const Ed25519PublicKey&, const Ed25519PublicKey&) = default;

 private:
  std::array<uint8_t, kSize> raw_{};
};

class Ed25519SigningKey {
 public:
  static constexpr size_t kSeedSize = 32;

  static Result<Ed25519SigningKey> Generate();
  // From the 32-byte RFC 8032 private key (the seed).
  static Result<Ed25519SigningKey> FromSeed(ByteView seed);
  // From a PEM `PRIVATE KEY` (PKCS#8, as `openssl genpkey -algorithm ed25519` writes it).
  static Result<Ed25519SigningKey> FromPem(std::string_view pem);

  const Ed25519PublicKey& public_key() const noexcept { return public_key_; }
  Result<std::array<uint8_t, 64>> Sign(ByteView message) const;
  // PKCS#8 PEM of the private key. The string holds the secret: the caller wipes it.
  Result<std::string> ToPem() const;

 private:
  SecretBytes seed_;
  Ed25519PublicKey public_key_;
};

// Reads a whole file (at most `max_bytes`), for key and token files.
Result<std::string> ReadFileLimited(const std::string& path, size_t max_bytes);

}  // namespace fnjail::crypto
