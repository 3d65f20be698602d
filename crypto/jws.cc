// Compact JWS signature verification (RFC 7515) with the key-selection rules of the profile.
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include <algorithm>

#include "crypto/crypto.h"
#include "crypto/internal/error.h"
#include "crypto/internal/handles.h"
#include "crypto/internal/json.h"
#include "crypto/internal/jws.h"

namespace fnjail::crypto {

std::string_view JwtAlgorithmName(JwtAlgorithm alg) {
  switch (alg) {
    case JwtAlgorithm::kRs256:
      return "RS256";
    case JwtAlgorithm::kEs256:
      return "ES256";
    case JwtAlgorithm::kEdDsa:
      return "EdDSA";
    case JwtAlgorithm::kHs256:
      return "HS256";
  }
  return "unknown";
}

namespace internal {
namespace {

constexpr const char* kOp = "jwt verify";

// The order n of the P-256 group (SEC 2, section 2.4.2), big-endian.
constexpr uint8_t kP256Order[32] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};

// True when the 32-byte big-endian integer is in [1, n-1].
bool InScalarRange(ByteView v) {
  bool all_zero = std::all_of(v.begin(), v.end(), [](uint8_t b) { return b == 0; });
  if (all_zero) return false;
  return std::lexicographical_compare(v.begin(), v.end(), std::begin(kP256Order),
                                      std::end(kP256Order));
}

// JOSE ES256 signatures are r||s, 32 bytes each (RFC 7518 section 3.4); OpenSSL verifies
// DER. Anything but exactly 64 bytes (notably a DER signature passed through) is refused,
// and r = 0 or s = 0 (the "psychic signatures" forgery) never reaches the verifier.
Result<Bytes> EcdsaJoseToDer(ByteView sig) {
  if (sig.size() != 64) {
    return Fail(kOp, "ES256 signature must be 64 bytes (r||s), got " + std::to_string(sig.size()));
  }
  ByteView r = sig.subspan(0, 32);
  ByteView s = sig.subspan(32, 32);
  if (!InScalarRange(r) || !InScalarRange(s)) {
    return Fail(kOp, "ES256 signature has r or s outside [1, n-1]");
  }
  EcdsaSigPtr ecdsa(ECDSA_SIG_new());
  BignumPtr bn_r(BN_bin2bn(r.data(), 32, nullptr));
  BignumPtr bn_s(BN_bin2bn(s.data(), 32, nullptr));
  if (!ecdsa || !bn_r || !bn_s) return FailOpenSsl(kOp, "cannot allocate");
  if (ECDSA_SIG_set0(ecdsa.get(), bn_r.get(), bn_s.get()) != 1) {
    return FailOpenSsl(kOp, "cannot build the ECDSA signature");
  }
  // ECDSA_SIG_set0 took ownership of both numbers.
  (void)bn_r.release();
  (void)bn_s.release();
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(ecdsa.get(), &der);
  OpenSslBufferPtr owned(der);
  if (len <= 0) return FailOpenSsl(kOp, "cannot encode the ECDSA signature");
  return Bytes(der, der + len);
}

Result<void> DigestVerify(EVP_PKEY* pkey, const EVP_MD* md, std::string_view input,
                          ByteView sig) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, pkey) != 1) {
    return FailOpenSsl(kOp, "cannot initialise verification");
  }
  int rc = EVP_DigestVerify(ctx.get(), sig.data(), sig.size(),
                            reinterpret_cast<const unsigned char*>(input.data()), input.size());
  if (rc != 1) {
    DrainOpenSslErrors();
    return Fail(kOp, "signature does not verify");
  }
  return {};
}

std::optional<JwtAlgorithm> ParseAlg(std::string_view name) {
  if (name == "RS256") return JwtAlgorithm::kRs256;
  if (name == "ES256") return JwtAlgorithm::kEs256;
  if (name == "EdDSA") return JwtAlgorithm::kEdDsa;
  if (name == "HS256") return JwtAlgorithm::kHs256;
  return std::nullopt;
}

bool IsNone(std::string_view alg) {
  if (alg.size() != 4) return false;
  std::string lower(alg);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
  return lower == "none";
}

}  // namespace

Result<void> VerifySignature(const JwkKey& key, std::string_view signing_input,
                             ByteView signature) {
  switch (key.alg) {
    case JwtAlgorithm::kHs256: {
      if (signature.size() != 32) {
        return Fail(kOp, "HS256 signature must be 32 bytes, got " +
                             std::to_string(signature.size()));
      }
      auto mac = HmacSha256(key.secret.view(), AsBytes(signing_input));
      if (!mac) return tl::unexpected(mac.error());
      // CRYPTO_memcmp: the comparison time says nothing about how many bytes matched.
      if (!ConstantTimeEqual(*mac, signature)) return Fail(kOp, "signature does not verify");
      return {};
    }
    case JwtAlgorithm::kRs256: {
      int size = EVP_PKEY_get_size(key.pkey.get());
      if (size <= 0 || signature.size() != static_cast<size_t>(size)) {
        return Fail(kOp, "RS256 signature must be " + std::to_string(size) + " bytes, got " +
                             std::to_string(signature.size()));
      }
      return DigestVerify(key.pkey.get(), EVP_sha256(), signing_input, signature);
    }
    case JwtAlgorithm::kEs256: {
      auto der = EcdsaJoseToDer(signature);
      if (!der) return tl::unexpected(der.error());
      return DigestVerify(key.pkey.get(), EVP_sha256(), signing_input, *der);
    }
    case JwtAlgorithm::kEdDsa: {
      if (signature.size() != 64) {
        return Fail(kOp, "EdDSA signature must be 64 bytes, got " +
                             std::to_string(signature.size()));
      }
      return DigestVerify(key.pkey.get(), nullptr, signing_input, signature);
    }
  }
  return Fail(kOp, "unknown key algorithm");
}

Result<VerifiedJws> VerifyJws(std::string_view token, const JwkSet& keys, size_t max_bytes) {
  if (token.size() > max_bytes) {
    return Fail(kOp, "token longer than " + std::to_string(max_bytes) + " bytes");
  }
  size_t dot1 = token.find('.');
  size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Fail(kOp, "not a compact JWS (want three dot-separated parts)");
  }
  std::string_view header_b64 = token.substr(0, dot1);
  std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  std::string_view sig_b64 = token.substr(dot2 + 1);

  auto header_bytes = Base64UrlDecode(header_b64);
  if (!header_bytes) return Fail(kOp, "header is not base64url");
  auto header = ParseStrictJson(AsChars(*header_bytes), 4, kOp);
  if (!header) return Fail(kOp, "header: " + header.error().message());
  if (!header->is_object()) return Fail(kOp, "header is not a JSON object");

  auto alg_it = header->find("alg");
  if (alg_it == header->end() || !alg_it->is_string()) return Fail(kOp, "header has no `alg`");
  const std::string alg_name = alg_it->get<std::string>();
  // Unsecured JWS is never accepted, whatever the key set holds.
  if (IsNone(alg_name)) return Fail(kOp, "alg `" + alg_name + "` is not accepted");
  std::optional<JwtAlgorithm> alg = ParseAlg(alg_name);
  if (!alg) return Fail(kOp, "unsupported alg `" + alg_name + "`");
  // RFC 7515 section 4.1.11: extensions marked critical must be understood; none are.
  if (header->contains("crit")) return Fail(kOp, "header has `crit`, no extension is supported");
  // `jku`, `x5u`, `jwk` and `x5c` name or carry keys; they are deliberately never read:
  // trusting them would let the token choose the key that verifies it.

  const JwkKey* key = nullptr;
  std::string kid;
  if (auto kid_it = header->find("kid"); kid_it != header->end()) {
    if (!kid_it->is_string()) return Fail(kOp, "`kid` is not a string");
    kid = kid_it->get<std::string>();
    key = keys.impl().FindKid(kid);
    if (key == nullptr) return Fail(kOp, "no key with kid `" + kid + "` in the key set");
  } else {
    size_t matches = 0;
    for (const auto& k : keys.impl().keys) {
      if (k.alg == *alg) {
        key = &k;
        ++matches;
      }
    }
    if (matches != 1) {
      return Fail(kOp, "token has no `kid` and the key set holds " + std::to_string(matches) +
                           " " + alg_name + " keys (need exactly one)");
    }
    kid = key->kid;
  }
  // One key, one algorithm: this is what stops RS256 -> HS256 confusion, where an RSA
  // public key would be used as an HMAC secret.
  if (key->alg != *alg) {
    return Fail(kOp, "key `" + kid + "` is for " + std::string(JwtAlgorithmName(key->alg)) +
                         ", token says " + alg_name);
  }

  auto sig = Base64UrlDecode(sig_b64);
  if (!sig) return Fail(kOp, "signature is not base64url");
  auto verified = VerifySignature(*key, token.substr(0, dot2), *sig);
  if (!verified) return tl::unexpected(verified.error());

  auto payload = Base64UrlDecode(payload_b64);
  if (!payload) return Fail(kOp, "payload is not base64url");
  VerifiedJws out;
  out.alg = *alg;
  out.kid = std::move(kid);
  out.payload = std::move(*payload);
  return out;
}

}  // namespace internal
}  // namespace fnjail::crypto
