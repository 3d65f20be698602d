// Ed25519 keys and signatures (RFC 8032) over EVP.
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "crypto/crypto.h"
#include "crypto/internal/error.h"
#include "crypto/internal/handles.h"

namespace fnjail::crypto {

using internal::FailOpenSsl;

namespace {

std::string BioToString(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return len > 0 ? std::string(data, static_cast<size_t>(len)) : std::string();
}

internal::BioPtr MemBio(std::string_view text) {
  if (text.size() > static_cast<size_t>(INT_MAX)) return nullptr;
  return internal::BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

}  // namespace

Result<Ed25519PublicKey> Ed25519PublicKey::FromRaw(ByteView raw) {
  if (raw.size() != kSize) return Fail("ed25519 public key", "must be 32 bytes");
  // Round-trip through OpenSSL so an invalid encoding is refused here, not at Verify.
  internal::PkeyPtr pkey(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw.data(), raw.size()));
  if (!pkey) return FailOpenSsl("ed25519 public key", "invalid key");
  Ed25519PublicKey key;
  std::copy(raw.begin(), raw.end(), key.raw_.begin());
  return key;
}

Result<Ed25519PublicKey> Ed25519PublicKey::FromPem(std::string_view pem) {
  internal::BioPtr bio = MemBio(pem);
  if (!bio) return FailOpenSsl("ed25519 public key", "cannot buffer the PEM text");
  internal::PkeyPtr pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!pkey) return FailOpenSsl("ed25519 public key", "not a PEM public key");
  if (EVP_PKEY_get_id(pkey.get()) != EVP_PKEY_ED25519) {
    return Fail("ed25519 public key", "the PEM key is not an Ed25519 key");
  }
  Ed25519PublicKey key;
  size_t len = key.raw_.size();
  if (EVP_PKEY_get_raw_public_key(pkey.get(), key.raw_.data(), &len) != 1 || len != kSize) {
    return FailOpenSsl("ed25519 public key", "cannot extract the key");
  }
  return key;
}

std::string Ed25519PublicKey::ToPem() const {
  internal::PkeyPtr pkey(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw_.data(), raw_.size()));
  internal::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!pkey || !bio || PEM_write_bio_PUBKEY(bio.get(), pkey.get()) != 1) {
    internal::DrainOpenSslErrors();
    return {};
  }
  return BioToString(bio.get());
}

bool Ed25519PublicKey::Verify(ByteView message, ByteView signature) const noexcept {
  if (signature.size() != kSignatureSize) return false;
  internal::PkeyPtr pkey(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw_.data(), raw_.size()));
  internal::MdCtxPtr ctx(EVP_MD_CTX_new());
  bool ok = pkey && ctx &&
            EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) == 1 &&
            EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(),
                             message.size()) == 1;
  if (!ok) internal::DrainOpenSslErrors();
  return ok;
}

Result<Ed25519SigningKey> Ed25519SigningKey::Generate() {
  SecretBytes seed(kSeedSize);
  auto filled = FillRandom(seed.span());
  if (!filled) return tl::unexpected(std::move(filled.error()));
  return FromSeed(seed.view());
}

Result<Ed25519SigningKey> Ed25519SigningKey::FromSeed(ByteView seed) {
  if (seed.size() != kSeedSize) return Fail("ed25519 signing key", "seed must be 32 bytes");
  internal::PkeyPtr pkey(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  if (!pkey) return FailOpenSsl("ed25519 signing key", "invalid seed");
  std::array<uint8_t, Ed25519PublicKey::kSize> pub{};
  size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(pkey.get(), pub.data(), &len) != 1 || len != pub.size()) {
    return FailOpenSsl("ed25519 signing key", "cannot derive the public key");
  }
  auto public_key = Ed25519PublicKey::FromRaw(pub);
  if (!public_key) return tl::unexpected(std::move(public_key.error()));
  Ed25519SigningKey key;
  key.seed_ = SecretBytes(seed);
  key.public_key_ = *public_key;
  return key;
}

Result<Ed25519SigningKey> Ed25519SigningKey::FromPem(std::string_view pem) {
  internal::BioPtr bio = MemBio(pem);
  if (!bio) return FailOpenSsl("ed25519 signing key", "cannot buffer the PEM text");
  internal::PkeyPtr pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!pkey) return FailOpenSsl("ed25519 signing key", "not a PEM private key");
  if (EVP_PKEY_get_id(pkey.get()) != EVP_PKEY_ED25519) {
    return Fail("ed25519 signing key", "the PEM key is not an Ed25519 key");
  }
  SecretBytes seed(kSeedSize);
  size_t len = seed.size();
  if (EVP_PKEY_get_raw_private_key(pkey.get(), seed.data(), &len) != 1 || len != kSeedSize) {
    return FailOpenSsl("ed25519 signing key", "cannot extract the key");
  }
  return FromSeed(seed.view());
}

Result<std::array<uint8_t, 64>> Ed25519SigningKey::Sign(ByteView message) const {
  internal::PkeyPtr pkey(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed_.data(), seed_.size()));
  internal::MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!pkey || !ctx) return FailOpenSsl("ed25519 sign", "cannot load the key");
  std::array<uint8_t, 64> sig{};
  size_t len = sig.size();
  if (EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), sig.data(), &len, message.data(), message.size()) != 1 ||
      len != sig.size()) {
    return FailOpenSsl("ed25519 sign", "signing failed");
  }
  return sig;
}

Result<std::string> Ed25519SigningKey::ToPem() const {
  internal::PkeyPtr pkey(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed_.data(), seed_.size()));
  internal::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!pkey || !bio ||
      PEM_write_bio_PrivateKey(bio.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1) {
    return FailOpenSsl("ed25519 signing key", "cannot write PEM");
  }
  std::string pem = BioToString(bio.get());
  return pem;
}

}  // namespace fnjail::crypto
