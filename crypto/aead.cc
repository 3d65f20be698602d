// AES-256-GCM and ChaCha20-Poly1305 over EVP, keyed once per object.
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <climits>

#include "crypto/crypto.h"
#include "crypto/internal/error.h"
#include "crypto/internal/handles.h"

namespace fnjail::crypto {

using internal::FailOpenSsl;

std::string_view AeadAlgorithmName(AeadAlgorithm alg) {
  switch (alg) {
    case AeadAlgorithm::kAes256Gcm:
      return "aes-256-gcm";
    case AeadAlgorithm::kChaCha20Poly1305:
      return "chacha20-poly1305";
  }
  return "unknown";
}

// Two contexts, one per direction, each holding the expanded key: a message only sets
// the nonce, which keeps the per-record cost at the cipher itself.
struct Aead::Impl {
  AeadAlgorithm alg;
  internal::CipherCtxPtr enc;
  internal::CipherCtxPtr dec;
};

Aead::Aead(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Aead::Aead(Aead&&) noexcept = default;
Aead& Aead::operator=(Aead&&) noexcept = default;
Aead::~Aead() = default;

AeadAlgorithm Aead::algorithm() const noexcept { return impl_->alg; }

Result<Aead> Aead::Create(AeadAlgorithm alg, ByteView key) {
  if (key.size() != kKeySize) {
    return Fail("aead init", "key must be " + std::to_string(kKeySize) + " bytes, got " +
                                 std::to_string(key.size()));
  }
  const EVP_CIPHER* cipher = alg == AeadAlgorithm::kAes256Gcm ? EVP_aes_256_gcm()
                                                              : EVP_chacha20_poly1305();
  auto impl = std::make_unique<Impl>();
  impl->alg = alg;
  impl->enc.reset(EVP_CIPHER_CTX_new());
  impl->dec.reset(EVP_CIPHER_CTX_new());
  if (!impl->enc || !impl->dec) return FailOpenSsl("aead init", "cannot allocate a context");
  if (EVP_EncryptInit_ex(impl->enc.get(), cipher, nullptr, key.data(), nullptr) != 1 ||
      EVP_DecryptInit_ex(impl->dec.get(), cipher, nullptr, key.data(), nullptr) != 1) {
    return FailOpenSsl("aead init", "cannot key the cipher");
  }
  return Aead(std::move(impl));
}

namespace {

bool FitsInt(size_t n) { return n <= static_cast<size_t>(INT_MAX); }

}  // namespace

Result<void> Aead::Seal(ByteView nonce, ByteView aad, ByteView plaintext,
                        std::span<uint8_t> out) {
  if (nonce.size() != kNonceSize) return Fail("aead seal", "nonce must be 12 bytes");
  if (out.size() != plaintext.size() + kTagSize) return Fail("aead seal", "bad output size");
  if (!FitsInt(plaintext.size()) || !FitsInt(aad.size())) {
    return Fail("aead seal", "message too large");
  }
  EVP_CIPHER_CTX* ctx = impl_->enc.get();
  int len = 0;
  if (EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce.data()) != 1) {
    return FailOpenSsl("aead seal", "cannot set the nonce");
  }
  if (!aad.empty() &&
      EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) {
    return FailOpenSsl("aead seal", "cannot absorb the associated data");
  }
  int total = 0;
  if (!plaintext.empty()) {
    if (EVP_EncryptUpdate(ctx, out.data(), &len, plaintext.data(),
                          static_cast<int>(plaintext.size())) != 1) {
      return FailOpenSsl("aead seal", "encryption failed");
    }
    total = len;
  }
  if (EVP_EncryptFinal_ex(ctx, out.data() + total, &len) != 1) {
    return FailOpenSsl("aead seal", "encryption failed");
  }
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kTagSize),
                          out.data() + plaintext.size()) != 1) {
    return FailOpenSsl("aead seal", "cannot read the tag");
  }
  return {};
}

Result<void> Aead::Open(ByteView nonce, ByteView aad, ByteView sealed, std::span<uint8_t> out) {
  if (nonce.size() != kNonceSize) return Fail("aead open", "nonce must be 12 bytes");
  if (sealed.size() < kTagSize) return Fail("aead open", "shorter than the tag");
  size_t ct_len = sealed.size() - kTagSize;
  if (out.size() != ct_len) return Fail("aead open", "bad output size");
  if (!FitsInt(ct_len) || !FitsInt(aad.size())) return Fail("aead open", "message too large");
  EVP_CIPHER_CTX* ctx = impl_->dec.get();
  // The tag is copied first: `out` may alias `sealed`, and decryption overwrites it.
  uint8_t tag[kTagSize];
  std::copy(sealed.begin() + static_cast<std::ptrdiff_t>(ct_len), sealed.end(), tag);
  int len = 0;
  if (EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce.data()) != 1) {
    return FailOpenSsl("aead open", "cannot set the nonce");
  }
  if (!aad.empty() &&
      EVP_DecryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) {
    return FailOpenSsl("aead open", "cannot absorb the associated data");
  }
  int total = 0;
  if (ct_len > 0) {
    if (EVP_DecryptUpdate(ctx, out.data(), &len, sealed.data(), static_cast<int>(ct_len)) !=
        1) {
      return FailOpenSsl("aead open", "decryption failed");
    }
    total = len;
  }
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kTagSize), tag) != 1) {
    return FailOpenSsl("aead open", "cannot set the tag");
  }
  if (EVP_DecryptFinal_ex(ctx, out.data() + total, &len) != 1) {
    // Never hand out plaintext that failed authentication.
    if (!out.empty()) OPENSSL_cleanse(out.data(), out.size());
    internal::DrainOpenSslErrors();
    return Fail("aead open", "authentication failed");
  }
  return {};
}

}  // namespace fnjail::crypto
