// Random bytes, SHA-256, HMAC-SHA256, HKDF-SHA256, constant-time compare, CRC-32C.
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include <array>
#include <climits>

#include "crypto/crypto.h"
#include "crypto/internal/error.h"
#include "crypto/internal/handles.h"

namespace fnjail::crypto {

using internal::FailOpenSsl;

Result<void> FillRandom(std::span<uint8_t> out) {
  // RAND_bytes takes an int: fill in chunks so any span size is handled.
  size_t done = 0;
  while (done < out.size()) {
    size_t chunk = std::min<size_t>(out.size() - done, 1u << 20);
    if (RAND_bytes(out.data() + done, static_cast<int>(chunk)) != 1) {
      return FailOpenSsl("random", "the DRBG failed");
    }
    done += chunk;
  }
  return {};
}

Result<Bytes> RandomBytes(size_t size) {
  Bytes out(size);
  auto filled = FillRandom(out);
  if (!filled) return tl::unexpected(std::move(filled.error()));
  return out;
}

Result<Digest> Sha256(ByteView data) {
  Digest out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != out.size()) {
    return FailOpenSsl("sha256", "digest failed");
  }
  return out;
}

Result<Digest> HmacSha256(ByteView key, ByteView data) {
  if (key.empty()) return Fail("hmac-sha256", "empty key");
  internal::MacPtr mac(EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr));
  if (!mac) return FailOpenSsl("hmac-sha256", "cannot fetch HMAC");
  internal::MacCtxPtr ctx(EVP_MAC_CTX_new(mac.get()));
  if (!ctx) return FailOpenSsl("hmac-sha256", "cannot allocate a context");
  char digest_name[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
      OSSL_PARAM_construct_end()};
  Digest out{};
  size_t len = 0;
  if (EVP_MAC_init(ctx.get(), key.data(), key.size(), params) != 1 ||
      EVP_MAC_update(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1 || len != out.size()) {
    return FailOpenSsl("hmac-sha256", "mac computation failed");
  }
  return out;
}

bool ConstantTimeEqual(ByteView a, ByteView b) noexcept {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Result<SecretBytes> HkdfSha256(ByteView ikm, ByteView salt, ByteView info, size_t length) {
  if (length == 0 || length > 255 * 32) {
    return Fail("hkdf-sha256", "output length " + std::to_string(length) + " out of range");
  }
  internal::KdfPtr kdf(EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_HKDF, nullptr));
  if (!kdf) return FailOpenSsl("hkdf-sha256", "cannot fetch HKDF");
  internal::KdfCtxPtr ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) return FailOpenSsl("hkdf-sha256", "cannot allocate a context");
  char digest_name[] = "SHA256";
  // OSSL_PARAM wants non-const pointers; the KDF only reads these buffers.
  auto* ikm_ptr = const_cast<uint8_t*>(ikm.data());
  auto* salt_ptr = const_cast<uint8_t*>(salt.data());
  auto* info_ptr = const_cast<uint8_t*>(info.data());
  std::array<OSSL_PARAM, 5> params{};
  size_t n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest_name, 0);
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, ikm_ptr, ikm.size());
  if (!salt.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt_ptr, salt.size());
  }
  if (!info.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info_ptr, info.size());
  }
  params[n] = OSSL_PARAM_construct_end();
  SecretBytes out(length);
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params.data()) != 1) {
    return FailOpenSsl("hkdf-sha256", "derivation failed");
  }
  return out;
}

namespace {

// CRC-32C, reflected polynomial 0x82F63B78, slicing-by-8 tables built at compile time.
struct Crc32cTables {
  std::array<std::array<uint32_t, 256>, 8> t{};
  constexpr Crc32cTables() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i) {
      for (size_t s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
    }
  }
};

constexpr Crc32cTables kCrc32c;

}  // namespace

uint32_t Crc32c(ByteView data, uint32_t crc) noexcept {
  const auto& t = kCrc32c.t;
  uint32_t c = ~crc;
  const uint8_t* p = data.data();
  size_t n = data.size();
  while (n >= 8) {
    uint32_t lo = (uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 |
                   uint32_t{p[3]} << 24) ^ c;
    c = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
        t[3][p[4]] ^ t[2][p[5]] ^ t[1][p[6]] ^ t[0][p[7]];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = (c >> 8) ^ t[0][(c ^ *p++) & 0xff];
  return ~c;
}

}  // namespace fnjail::crypto
