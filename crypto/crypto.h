// fnjail::crypto: primitives, JWT verification, the record channel and the audit log.
//
// Everything here is built on OpenSSL 3 EVP, but no OpenSSL type appears in this header:
// handles live in crypto/internal/. Failures are values: every fallible function returns
// crypto::Result, whose error names the operation and carries the drained OpenSSL error
// queue. Nothing here throws across the API and nothing writes to stderr.
//
// Thread-safety: free functions are safe to call concurrently. Keys and JwkSet may be
// shared for reading; an Aead is used by one thread at a time; JwtVerifier and
// AuditWriter are internally synchronized.
#pragma once

#include <array>
#include <functional>
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

// ---------------------------------------------------------------------------------------
// JWT verification (RFC 7519 over RFC 7515 compact JWS). docs/jwt.md has the profile.
//
// One key, one algorithm: each key of the local JWK set is bound to exactly one algorithm
// and a token is checked only with a key whose algorithm equals the token's `alg`.
// `none` and every algorithm outside the four below are refused. `kid` is looked up only
// in the local set; `jku`, `x5u`, `jwk` and `x5c` headers are ignored; `crit` is refused.

enum class JwtAlgorithm { kRs256, kEs256, kEdDsa, kHs256 };
std::string_view JwtAlgorithmName(JwtAlgorithm alg);  // "RS256", "ES256", "EdDSA", "HS256"

// A JSON Web Key Set (RFC 7517): `{"keys": [...]}`. Accepted keys: RSA (>= 2048 bits,
// RS256), EC P-256 (ES256), OKP Ed25519 (EdDSA) and oct (>= 32 bytes, HS256). Every key
// needs a unique `kid`; `alg` is required for RSA and oct keys and, when given, must fit
// the key type; `use`, when given, must be `sig`. Any bad key fails the whole set (fail
// closed: a typo must not silently drop a key). Immutable and cheap to copy.
class JwkSet {
 public:
  static constexpr size_t kMaxFileBytes = 1 << 20;

  JwkSet();
  static Result<JwkSet> Parse(std::string_view json);
  static Result<JwkSet> LoadFile(const std::string& path);

  size_t size() const noexcept;
  // The key ids, in file order.
  std::vector<std::string> kids() const;

  struct Impl;
  const Impl& impl() const noexcept { return *impl_; }

 private:
  std::shared_ptr<const Impl> impl_;
};

struct JwtOptions {
  std::string issuer;                  // when non-empty, `iss` must equal it
  std::vector<std::string> audiences;  // when non-empty, `aud` must contain one of them
  int64_t max_lifetime_seconds = 24 * 3600;  // exp - (iat, else nbf, else now) cap
  int64_t clock_skew_seconds = 60;           // allowed on exp, nbf and iat
  size_t max_token_bytes = 16 * 1024;
};

struct VerifiedJwt {
  JwtAlgorithm algorithm = JwtAlgorithm::kRs256;
  std::string kid;
  std::string issuer;
  std::string subject;
  std::vector<std::string> audience;
  int64_t expires_at = 0;
  std::optional<int64_t> not_before;
  std::optional<int64_t> issued_at;
  std::string claims_json;  // the claims object, re-serialized compactly
};

// Verifies a compact JWS token against `keys` at time `now_unix` (seconds). The error's
// operation is "jwt verify" and its message says exactly what was wrong.
Result<VerifiedJwt> VerifyJwt(std::string_view token, const JwkSet& keys,
                              const JwtOptions& options, int64_t now_unix);

// VerifyJwt with a bounded cache of verified tokens keyed by the token's SHA-256. A hit
// re-checks the time claims against `now_unix`, so an entry expires with its token; when
// full, the oldest entry is dropped. Failures are never cached. Thread-safe.
class JwtVerifier {
 public:
  JwtVerifier(JwkSet keys, JwtOptions options, size_t cache_capacity = 4096);
  ~JwtVerifier();
  JwtVerifier(const JwtVerifier&) = delete;
  JwtVerifier& operator=(const JwtVerifier&) = delete;

  Result<VerifiedJwt> Verify(std::string_view token, int64_t now_unix);
  size_t cache_size() const;

 private:
  struct Cache;
  JwkSet keys_;
  JwtOptions options_;
  std::unique_ptr<Cache> cache_;
};


// ---------------------------------------------------------------------------------------
// API keys (docs/auth.md). A key is `fnjk_<id>_<secret>`: a 12-hex-digit public id and 32
// random bytes (base64url). It is shown once; the store keeps only
// HMAC-SHA256(pepper, key), where the pepper is a server secret read from a 0600 file, so
// a leaked store alone does not allow offline guessing.

struct ApiKeyInfo {
  std::string id;
  std::string name;
  int64_t created_at = 0;
  bool revoked = false;
  std::string hash;  // hex HMAC-SHA256(pepper, key)
};

struct NewApiKey {
  std::string key;  // the only copy of the secret: show it once, never store it
  ApiKeyInfo info;
};

// Reads the pepper: at least 32 bytes, from a regular file not readable or writable by
// group or others (refused otherwise).
Result<SecretBytes> LoadPepperFile(const std::string& path);

// The public id of a key in the `fnjk_<id>_<secret>` form.
Result<std::string> ApiKeyId(std::string_view key);

// A JSON file of ApiKeyInfo. Not thread-safe; the gateway loads it read-only.
class ApiKeyStore {
 public:
  // A missing file is an empty store.
  static Result<ApiKeyStore> Load(const std::string& path);
  // Writes atomically (temporary file, fsync, rename), mode 0600.
  Result<void> Save(const std::string& path) const;

  Result<NewApiKey> Create(ByteView pepper, const std::string& name, int64_t now_unix);
  Result<void> Revoke(const std::string& id);
  const std::vector<ApiKeyInfo>& keys() const noexcept { return keys_; }

  // The key's record when `key` matches a stored, unrevoked key (hashes compared in
  // constant time); otherwise an error that does not say which part was wrong.
  Result<ApiKeyInfo> Authenticate(std::string_view key, ByteView pepper) const;

 private:
  std::vector<ApiKeyInfo> keys_;
};

// ---------------------------------------------------------------------------------------
// Secrets at rest. Function secrets are stored encrypted with AES-256-GCM under a master
// key read from a 0600 file (exactly 32 bytes); the function and secret names are the
// associated data, so a ciphertext moved to another function or name does not decrypt.
// Values are decrypted only to be handed to the jail that needs them.

// Reads the master key: exactly 32 bytes, from a file group and others cannot access.
Result<SecretBytes> LoadMasterKeyFile(const std::string& path);

// A JSON file of encrypted secrets. Const methods may run concurrently (the gateway loads
// the store once and reveals from many threads); the mutators need exclusive access.
class SecretStore {
 public:
  static constexpr size_t kMaxValueBytes = 64 * 1024;

  // A missing file is an empty store.
  static Result<SecretStore> Load(const std::string& path);
  // Writes atomically, mode 0600.
  Result<void> Save(const std::string& path) const;

  // Encrypts `value` for (function, name) with a fresh random nonce, replacing any
  // previous value. Names are non-empty, at most 128 bytes, without NUL.
  Result<void> Set(ByteView master_key, const std::string& function, const std::string& name,
                   ByteView value);
  // Decrypts the value; fails when absent or when the key, names or bytes do not match.
  Result<SecretBytes> Get(ByteView master_key, const std::string& function,
                          const std::string& name) const;
  Result<void> Remove(const std::string& function, const std::string& name);
  // (function, name) pairs, sorted; never values.
  std::vector<std::pair<std::string, std::string>> List() const;

  // What the gateway hands to one function's jail: every secret of `function`, sorted by
  // name, decrypted. Fails (and returns nothing) when any of them does not decrypt: a
  // jail never starts with part of its secrets.
  Result<std::vector<std::pair<std::string, SecretBytes>>> Reveal(
      ByteView master_key, const std::string& function) const;
  // Exactly the secrets `names` of `function` (as a function file declares them), in that
  // order. Fails when one is missing or does not decrypt, naming it.
  Result<std::vector<std::pair<std::string, SecretBytes>>> Reveal(
      ByteView master_key, const std::string& function,
      const std::vector<std::string>& names) const;
  // Checks that every stored entry decrypts under `master_key`, so a store never ends up
  // holding entries under two master keys. An empty store passes.
  Result<void> CheckMasterKey(ByteView master_key) const;

 private:
  struct Entry {
    std::string function;
    std::string name;
    Bytes nonce;
    Bytes sealed;  // ciphertext || tag
  };
  std::vector<Entry> entries_;
};

// ---------------------------------------------------------------------------------------
// HMAC-signed requests (docs/auth.md has the scheme and a worked example).
//
// The client signs a canonical form of the request (method, path, sorted query, signed
// headers, body SHA-256, timestamp) with HMAC-SHA256 and sends
//   Authorization: FNJ1-HMAC-SHA256 KeyId=<id>, Timestamp=<unix s>,
//                  SignedHeaders=<a;b>, Signature=<64 hex>
// The server recomputes it, compares in constant time, and accepts the timestamp only
// within a window, remembering signatures seen inside it so none is accepted twice.

inline constexpr std::string_view kHmacScheme = "FNJ1-HMAC-SHA256";

struct HttpRequestView {
  std::string_view method;  // e.g. "POST"
  std::string_view path;    // as sent, starts with `/`, without the query
  std::string_view query;   // as sent, without `?`; may be empty
  std::vector<std::pair<std::string, std::string>> headers;  // as received
  std::string_view body;
};

struct RequestSignature {
  std::string key_id;
  int64_t timestamp = 0;
  std::vector<std::string> signed_headers;  // lower-case, sorted, `host` included
  std::string signature;                    // 64 lower-case hex digits
};

// The canonical request of docs/auth.md. `signed_headers` are names (any case); each must
// be present exactly once in the request, and `host` must be among them.
Result<std::string> CanonicalRequest(const HttpRequestView& request,
                                     const std::vector<std::string>& signed_headers,
                                     int64_t timestamp);

// Signs `request` and returns the Authorization header value. REQUIRES: key not empty.
Result<std::string> SignRequest(ByteView key, std::string_view key_id,
                                const HttpRequestView& request,
                                const std::vector<std::string>& signed_headers,
                                int64_t timestamp);

// Parses an Authorization header value of the scheme above (strictly: each parameter
// exactly once, nothing else).
Result<RequestSignature> ParseRequestSignature(std::string_view authorization);

// Verifies signed requests. Thread-safe.
class HmacRequestVerifier {
 public:
  // Returns the key for a key id, or nullopt when there is none.
  using KeyLookup = std::function<std::optional<Bytes>(std::string_view key_id)>;

  explicit HmacRequestVerifier(KeyLookup lookup, int64_t window_seconds = 300,
                               size_t replay_capacity = 100000);
  ~HmacRequestVerifier();
  HmacRequestVerifier(const HmacRequestVerifier&) = delete;
  HmacRequestVerifier& operator=(const HmacRequestVerifier&) = delete;

  // Returns the verified signature (its key id names the caller). Fails on a malformed
  // header, an unknown key, a timestamp outside now +- window, a wrong signature, or a
  // signature already accepted within the window (a replay). When the replay memory is
  // full, requests are refused rather than let a replay through (fail closed).
  Result<RequestSignature> Verify(const HttpRequestView& request,
                                  std::string_view authorization, int64_t now_unix);

 private:
  struct State;
  KeyLookup lookup_;
  int64_t window_;
  std::unique_ptr<State> state_;
};

// ---------------------------------------------------------------------------------------
// The record channel between the gateway and a runtime (docs/channel.md has the wire
// format). Each direction has its own key, derived with HKDF-SHA256 from a per-launch
// secret and bound to the invocation id. Records carry an authenticated header with a
// sequence number; nonces come from that counter; an explicit final record ends a stream,
// so truncation is detected. Keys roll forward on their own before 2^24 records or 2^32
// bytes. Any gap, reorder, replay, bad tag or data after the final record ends the stream
// for good (the opener stays failed).

enum class ChannelRole { kGateway, kRuntime };

struct ChannelOptions {
  AeadAlgorithm algorithm = AeadAlgorithm::kAes256Gcm;
  uint64_t rekey_records = uint64_t{1} << 24;  // at most 2^24 (clamped)
  uint64_t rekey_bytes = uint64_t{1} << 32;    // at most 2^32 (clamped)
};

inline constexpr size_t kChannelHeaderSize = 16;
inline constexpr size_t kChannelMaxPayload = 16 * 1024;
inline constexpr size_t kChannelMinSecret = 32;

// Seals records in one direction (from `sender`). Not thread-safe; move-only.
class RecordSealer {
 public:
  // REQUIRES: secret.size() >= kChannelMinSecret; invocation_id not empty.
  static Result<RecordSealer> Create(ByteView secret, ByteView invocation_id,
                                     ChannelRole sender, const ChannelOptions& options = {});
  RecordSealer(RecordSealer&&) noexcept;
  RecordSealer& operator=(RecordSealer&&) noexcept;
  ~RecordSealer();

  // Appends one data record carrying `payload` (at most kChannelMaxPayload bytes) to `out`.
  // REQUIRES: `payload` does not point into `out` (it may be reallocated).
  Result<void> Seal(ByteView payload, Bytes& out);
  // Appends the final record; nothing can be sealed after it.
  Result<void> SealFinal(Bytes& out);
  uint64_t records() const noexcept;  // records sealed so far (the next sequence number)

 private:
  struct Impl;
  explicit RecordSealer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Opens the records of one direction (sent by `sender`). Not thread-safe; move-only.
class RecordOpener {
 public:
  static Result<RecordOpener> Create(ByteView secret, ByteView invocation_id,
                                     ChannelRole sender, const ChannelOptions& options = {});
  RecordOpener(RecordOpener&&) noexcept;
  RecordOpener& operator=(RecordOpener&&) noexcept;
  ~RecordOpener();

  // One step of parsing `data` (buffered stream bytes, starting at a record boundary):
  // returns the bytes consumed, 0 when `data` does not yet hold a whole record. On a data
  // record the payload replaces `*payload`; on the final record `*final` becomes true.
  // Any error fails the opener for good.
  Result<size_t> Open(ByteView data, Bytes* payload, bool* final);
  // At the end of the stream: an error unless the final record was seen.
  Result<void> Finish() const;
  bool finished() const noexcept;

 private:
  struct Impl;
  explicit RecordOpener(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------------------
// The authenticated handshake of the remote channel (docs/channel.md, "Remote workers").
//
// A gateway (the initiator) and a remote worker (the responder) that each hold a static
// Ed25519 key and the other's pinned public key agree on a channel secret over TCP:
//   hello   initiator -> responder: algorithm, nonce, ephemeral X25519 key, invocation id
//   reply   responder -> initiator: nonce, ephemeral X25519 key, signature, MAC
//   finish  initiator -> responder: signature, MAC
// Both signatures cover the running transcript hash (which names both static keys), and
// the MACs are keyed from the X25519 secret, so a replayed or spliced message, a wrong
// static key or a man in the middle fails the signature or MAC check. The secret is
// HKDF-SHA256 of the X25519 secret, salted with the hash of the whole transcript (which
// holds the invocation id); the record layer then binds the invocation id again. Fresh
// ephemeral keys and nonces every time. Any malformed, truncated, oversized or unexpected
// message fails the handshake for good (fail closed).
//
// The two state machines below do no I/O (the fuzz harness and tests drive them
// directly); ChannelEndpoint::ConnectAuthenticated / AcceptAuthenticated run them over a
// socket.

inline constexpr size_t kHandshakeHeaderSize = 4;     // u8 version | u8 type | u16 length
inline constexpr size_t kHandshakeMaxInvocationId = 256;
inline constexpr size_t kHandshakeMaxMessage = kHandshakeHeaderSize + 67 + kHandshakeMaxInvocationId;
inline constexpr size_t kHandshakeSecretSize = 32;

// The size of the whole message whose first kHandshakeHeaderSize bytes are `header`,
// after checking the version, the type and the length against that type's bounds, so a
// reader never waits for, or buffers, more than kHandshakeMaxMessage bytes.
// REQUIRES: header.size() >= kHandshakeHeaderSize (an error otherwise).
Result<size_t> HandshakeMessageSize(ByteView header);

// What a completed handshake yields. Both ends hold equal values.
struct HandshakeResult {
  SecretBytes secret;          // kHandshakeSecretSize bytes: the record channel's secret
  Bytes invocation_id;         // the id the initiator named in its hello
  AeadAlgorithm algorithm = AeadAlgorithm::kAes256Gcm;
  Digest transcript{};         // SHA-256 of the whole handshake
};

// The gateway's side. One use; not thread-safe; move-only.
class HandshakeInitiator {
 public:
  // Draws the ephemeral key and nonce and builds the hello. REQUIRES: `own_key` outlives
  // this object; invocation_id is 1 to kHandshakeMaxInvocationId bytes (checked).
  static Result<HandshakeInitiator> Create(const Ed25519SigningKey& own_key,
                                           const Ed25519PublicKey& peer_key,
                                           ByteView invocation_id,
                                           AeadAlgorithm algorithm = AeadAlgorithm::kAes256Gcm);
  HandshakeInitiator(HandshakeInitiator&&) noexcept;
  HandshakeInitiator& operator=(HandshakeInitiator&&) noexcept;
  ~HandshakeInitiator();

  // The hello, to send first.
  ByteView hello() const noexcept;
  // Checks the responder's reply (one whole message) and returns the finish message to
  // send; the result is then ready. Fails when the reply is malformed or its signature
  // or MAC does not verify under the pinned key and this handshake's transcript.
  Result<Bytes> ReadReply(ByteView reply);
  // The agreed secret, once ReadReply succeeded (moved out: call once).
  Result<HandshakeResult> TakeResult();

 private:
  struct Impl;
  explicit HandshakeInitiator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The worker's side. One use; not thread-safe; move-only.
class HandshakeResponder {
 public:
  // REQUIRES: `own_key` outlives this object. `algorithm` is the only one accepted.
  // When `expected_invocation_id` is not empty, a hello naming another id is refused.
  static Result<HandshakeResponder> Create(const Ed25519SigningKey& own_key,
                                           const Ed25519PublicKey& peer_key,
                                           AeadAlgorithm algorithm = AeadAlgorithm::kAes256Gcm,
                                           ByteView expected_invocation_id = {});
  HandshakeResponder(HandshakeResponder&&) noexcept;
  HandshakeResponder& operator=(HandshakeResponder&&) noexcept;
  ~HandshakeResponder();

  // Checks the hello (one whole message) and returns the reply to send.
  Result<Bytes> ReadHello(ByteView hello);
  // Checks the finish message; on success the initiator is authenticated and the result
  // is returned (once).
  Result<HandshakeResult> ReadFinish(ByteView finish);

 private:
  struct Impl;
  explicit HandshakeResponder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct HandshakeOptions {
  ChannelOptions channel;     // record options; channel.algorithm is the one agreed
  int64_t timeout_ms = 10000; // the whole handshake's deadline (a silent peer fails)
};

// A record channel over a connected stream socket (a socketpair to a jail, or TCP).
// Blocking. One thread sends and one receives at a time. Does not own the descriptor.
class ChannelEndpoint {
 public:
  static Result<ChannelEndpoint> Create(int fd, ByteView secret, ByteView invocation_id,
                                        ChannelRole self, const ChannelOptions& options = {});

  // The remote form: runs the handshake above as the initiator (the gateway, role
  // kGateway) over `fd`, then returns the endpoint keyed by its secret. Fails, without
  // leaving anything usable, on any handshake error, EOF, I/O error or the deadline.
  static Result<ChannelEndpoint> ConnectAuthenticated(int fd, const Ed25519SigningKey& own_key,
                                                      const Ed25519PublicKey& peer_key,
                                                      ByteView invocation_id,
                                                      const HandshakeOptions& options = {});
  // The responder's side (a worker, role kRuntime). Returns the endpoint and the
  // invocation id the initiator named (refused unless it equals `expected_invocation_id`
  // when that is not empty).
  struct Accepted;
  static Result<Accepted> AcceptAuthenticated(int fd, const Ed25519SigningKey& own_key,
                                              const Ed25519PublicKey& peer_key,
                                              const HandshakeOptions& options = {},
                                              ByteView expected_invocation_id = {});
  ChannelEndpoint(ChannelEndpoint&&) noexcept;
  ChannelEndpoint& operator=(ChannelEndpoint&&) noexcept;
  ~ChannelEndpoint();

  // Sends `message` as one or more records (split at kChannelMaxPayload).
  Result<void> Send(ByteView message);
  // Sends the final record: the peer's Receive then reports the end of the stream.
  Result<void> Close();
  // Receives the next record's payload; std::nullopt after the peer's final record. EOF
  // without a final record is an error ("truncated").
  Result<std::optional<Bytes>> Receive();

 private:
  struct Impl;
  explicit ChannelEndpoint(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct ChannelEndpoint::Accepted {
  ChannelEndpoint endpoint;
  Bytes invocation_id;
};

// ---------------------------------------------------------------------------------------
// The audit log (docs/audit.md has the file format).
//
// An append-only file of framed entries (length + CRC-32C), each hash-chained to the one
// before (SHA-256). Entry 0 names the log (a random id) and its checkpoint key; signed
// checkpoints (Ed25519, a key used for nothing else) are entries too, written every N
// records, every T ms and at clean shutdown, so they seal everything before them.

// One invocation, in the shape of OCSF API Activity plus the policy decision and metering
// (docs/audit.md has the stored JSON). Fields added later are optional on reading: a
// record written before them reads back with their defaults.
struct AuditRecord {
  int64_t time_ms = 0;            // when the request arrived, ms since the epoch
  std::string request_id;
  std::string principal;          // actor.user.uid
  std::string auth_method;        // actor.auth: "api-key", "hmac", "jwt"
  std::string operation;          // api.operation, e.g. "function:Invoke"
  std::string function;           // the resource, e.g. "fn:hello"
  std::string source_ip;          // src_endpoint.ip
  uint16_t source_port = 0;       // src_endpoint.port (0: unknown)
  std::string http_method;        // http_request.http_method
  std::string http_path;          // http_request.url.path, without the query
                                  // (http_request is left out when both are empty)
  int http_status = 0;
  std::string status_detail;      // why it failed, e.g. "timeout", "over-capacity"; may be empty
  bool allowed = false;           // the policy decision
  std::string decision_reason;    // "explicit-allow" | "explicit-deny" | "implicit-deny"
  std::vector<std::string> statements;  // the deciding statements, `policy#sid`
  std::string input_sha256;       // hex digest of the request body
  int64_t duration_ms = 0;
  int64_t billed_duration_ms = 0;
  int64_t init_duration_ms = 0;   // cold start only: starting the environment
  bool cold_start = false;
  int64_t cpu_ms = 0;
  int64_t peak_memory_bytes = 0;
  std::string outcome;            // "ok", "function-error", "timeout", "oom", "seccomp", ...
  std::string violation;          // e.g. the blocked syscall; empty when none

  // The canonical JSON form stored in the log (keys in a fixed order).
  std::string ToJson() const;
  // Parses a stored record. Keys missing (older records) keep their defaults and unknown
  // keys are ignored, so any version of the log reads back; a key of the wrong type or
  // anything but a JSON object is an error.
  static Result<AuditRecord> FromJson(std::string_view json);

  friend bool operator==(const AuditRecord&, const AuditRecord&) = default;
};

enum class AuditSync {
  kEveryRecord,  // one fdatasync per record
  kBatched,      // group commit: one fdatasync per batch, a batch closes within max delay
};

struct AuditOptions {
  std::string path;
  AuditSync sync = AuditSync::kBatched;
  int64_t max_batch_delay_ms = 0;  // kBatched: extra time to gather a batch (0: none)
  uint64_t checkpoint_every_records = 1000;
  int64_t checkpoint_interval_ms = 5000;
  // Milliseconds since the epoch; the system clock when unset (tests inject their own).
  std::function<int64_t()> clock;
};

// What opening an existing log found and repaired.
struct AuditRecovery {
  uint64_t entries = 0;          // valid entries kept (genesis and checkpoints included)
  uint64_t torn_bytes_cut = 0;   // bytes of an incomplete final frame removed
};

// The writer. Appends are serialized into the chain in call order; a dedicated thread
// writes and fdatasyncs batches. Thread-safe: any number of threads may Append and wait
// at once (one per request is the intended use); a batch's fdatasync wakes all of them. After any I/O error the writer is failed
// for good: every later call returns that error (fail closed; never a silent gap).
class AuditWriter {
 public:
  // Opens or creates the log at options.path (mode 0600). An existing log is checked
  // entry by entry; an incomplete final frame (a crash mid-write) is cut, anything else
  // wrong refuses the open. The key must be the one the log was created with.
  static Result<std::unique_ptr<AuditWriter>> Open(AuditOptions options,
                                                   Ed25519SigningKey key);
  ~AuditWriter();  // Close(), errors ignored
  AuditWriter(const AuditWriter&) = delete;
  AuditWriter& operator=(const AuditWriter&) = delete;

  // Adds the record to the chain and returns its sequence number. Not yet durable.
  Result<uint64_t> Append(const AuditRecord& record);
  // Blocks until entry `seq` is on disk (fdatasync returned), or the writer failed.
  Result<void> WaitDurable(uint64_t seq);
  // WaitDurable for at most `timeout_ms`: an error "not durable within N ms" when the disk
  // is slower than that (the writer is not failed by it; the entry may still land), so a
  // server can answer 503 rather than hang on a stuck disk.
  Result<void> WaitDurableFor(uint64_t seq, int64_t timeout_ms);
  // Whether entry `seq` is on disk already; never blocks.
  bool IsDurable(uint64_t seq) const;
  // Append, then WaitDurable: when this returns a value the record survives a crash.
  Result<uint64_t> AppendDurable(const AuditRecord& record);
  // Writes a signed checkpoint now (it becomes durable like any entry).
  Result<uint64_t> Checkpoint();
  // Writes a final checkpoint, syncs and stops the thread. Idempotent.
  Result<void> Close();

  const AuditRecovery& recovery() const noexcept;

 private:
  struct Impl;
  explicit AuditWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The signed state of a log at one checkpoint, as exported to be kept elsewhere.
struct AuditCheckpoint {
  std::string log_id;     // hex
  uint64_t seq = 0;       // the checkpoint entry's sequence number
  std::string head;       // hex SHA-256 of the entry before it (the chain head it seals)
  int64_t time_ms = 0;
  std::string signature;  // hex Ed25519 signature
  std::string ToJson() const;
  static Result<AuditCheckpoint> FromJson(std::string_view json);
};

struct AuditVerifyReport {
  bool intact = false;
  uint64_t entries = 0;            // valid entries read, genesis included
  uint64_t records = 0;
  uint64_t checkpoints = 0;
  uint64_t unsealed_records = 0;   // records after the last checkpoint
  std::optional<AuditCheckpoint> last_checkpoint;
  // When not intact: the index (sequence number) of the first bad entry, its byte offset
  // and what is wrong with it.
  uint64_t bad_index = 0;
  uint64_t bad_offset = 0;
  std::string problem;
};

// Reads and checks a whole log against the trusted checkpoint key: frames, CRCs, the
// chain, sequence numbers and every checkpoint signature; then that each of `expected`
// (exported earlier) is present, which proves the log was not cut back behind them.
// `on_record(seq, json)` sees each record that checked out, in order. The Result fails
// only when the file cannot be read; tampering is reported in the report.
Result<AuditVerifyReport> VerifyAuditLog(
    const std::string& path, const Ed25519PublicKey& key,
    const std::vector<AuditCheckpoint>& expected = {},
    const std::function<void(uint64_t seq, std::string_view json)>& on_record = {});

// Reading records back (for `fnjail usage`, reports, exports): the log is verified as
// VerifyAuditLog does, and each record that checked out is parsed. A record that is in the
// chain but does not parse ends the reading like damage does: the report is then not
// intact, with that record's index, and no later record is delivered.
//
// Streams the records to `on_record` in order; memory use does not grow with the log.
Result<AuditVerifyReport> ForEachAuditRecord(
    const std::string& path, const Ed25519PublicKey& key,
    const std::function<void(uint64_t seq, const AuditRecord& record)>& on_record,
    const std::vector<AuditCheckpoint>& expected = {});

struct AuditLogEntry {
  uint64_t seq = 0;  // the entry's sequence number in the log
  AuditRecord record;
};

struct AuditLogContents {
  std::vector<AuditLogEntry> records;  // every record before any damage, in order
  AuditVerifyReport report;            // check report.intact before trusting the whole
};

// The whole log at once. Fails only when the file cannot be read.
Result<AuditLogContents> ReadAuditLog(const std::string& path, const Ed25519PublicKey& key,
                                      const std::vector<AuditCheckpoint>& expected = {});

}  // namespace fnjail::crypto
