// Test-only JOSE helpers: key generation, JWK export and token signing with OpenSSL, so
// tests can build both honest and forged tokens.
#pragma once

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "crypto/internal/handles.h"

namespace fnjail::crypto::testing {

using internal::PkeyPtr;

inline PkeyPtr GenerateKey(const char* type, const char* param = nullptr, int bits = 0) {
  EVP_PKEY* key = nullptr;
  if (bits > 0) {
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, type, static_cast<size_t>(bits));
  } else if (param != nullptr) {
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, type, param);
  } else {
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, type);
  }
  EXPECT_NE(key, nullptr);
  return PkeyPtr(key);
}

inline std::string B64(ByteView b) { return Base64UrlEncode(b); }
inline std::string B64(std::string_view s) { return Base64UrlEncode(AsBytes(s)); }

inline Bytes BnParam(EVP_PKEY* key, const char* name, size_t pad = 0) {
  BIGNUM* bn = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(key, name, &bn), 1) << name;
  internal::BignumPtr owned(bn);
  size_t len = std::max<size_t>(pad, static_cast<size_t>(BN_num_bytes(bn)));
  Bytes out(len);
  EXPECT_EQ(BN_bn2binpad(bn, out.data(), static_cast<int>(len)), static_cast<int>(len));
  return out;
}

inline nlohmann::json RsaJwk(EVP_PKEY* key, const std::string& kid) {
  return {{"kty", "RSA"}, {"kid", kid}, {"alg", "RS256"}, {"use", "sig"},
          {"n", B64(BnParam(key, OSSL_PKEY_PARAM_RSA_N))},
          {"e", B64(BnParam(key, OSSL_PKEY_PARAM_RSA_E))}};
}

inline nlohmann::json EcJwk(EVP_PKEY* key, const std::string& kid) {
  return {{"kty", "EC"}, {"kid", kid}, {"crv", "P-256"},
          {"x", B64(BnParam(key, OSSL_PKEY_PARAM_EC_PUB_X, 32))},
          {"y", B64(BnParam(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32))}};
}

inline nlohmann::json OkpJwk(const Ed25519PublicKey& key, const std::string& kid) {
  return {{"kty", "OKP"}, {"kid", kid}, {"crv", "Ed25519"}, {"x", B64(key.raw())}};
}

inline nlohmann::json OctJwk(ByteView secret, const std::string& kid) {
  return {{"kty", "oct"}, {"kid", kid}, {"alg", "HS256"}, {"k", B64(secret)}};
}

// Signs with EVP_DigestSign: RSA PKCS#1 v1.5 or ECDSA (DER output) over SHA-256.
inline Bytes DigestSign(EVP_PKEY* key, std::string_view input) {
  internal::MdCtxPtr ctx(EVP_MD_CTX_new());
  EXPECT_EQ(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key), 1);
  size_t len = 0;
  auto* data = reinterpret_cast<const unsigned char*>(input.data());
  EXPECT_EQ(EVP_DigestSign(ctx.get(), nullptr, &len, data, input.size()), 1);
  Bytes sig(len);
  EXPECT_EQ(EVP_DigestSign(ctx.get(), sig.data(), &len, data, input.size()), 1);
  sig.resize(len);
  return sig;
}

// DER ECDSA-Sig-Value -> JOSE r||s.
inline Bytes DerToJose(const Bytes& der) {
  const unsigned char* p = der.data();
  internal::EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  EXPECT_NE(sig, nullptr);
  Bytes out(64);
  BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out.data(), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out.data() + 32, 32);
  return out;
}

// header.payload with both parts base64url-encoded from JSON text.
inline std::string SigningInput(const std::string& header, const std::string& claims) {
  return B64(header) + "." + B64(claims);
}

}  // namespace fnjail::crypto::testing
