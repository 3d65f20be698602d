// JSON Web Key Set parsing (RFC 7517, RFC 7518 section 6, RFC 8037): verification keys only.
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "crypto/crypto.h"
#include "crypto/internal/error.h"
#include "crypto/internal/handles.h"
#include "crypto/internal/json.h"
#include "crypto/internal/jws.h"

namespace fnjail::crypto {

using internal::FailOpenSsl;
using internal::JwkKey;

namespace {

constexpr const char* kOp = "jwks";
constexpr size_t kMaxKeys = 256;
constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 16384;
constexpr size_t kMinHmacKeyBytes = 32;

tl::unexpected<Error> KeyError(size_t index, const std::string& kid, const std::string& what,
                               std::vector<std::string> openssl = {}) {
  std::string where = "key " + std::to_string(index);
  if (!kid.empty()) where += " (`" + kid + "`)";
  return tl::unexpected(Error(kOp, where + ": " + what, std::move(openssl)));
}

// Reads a required base64url member.
Result<Bytes> B64Member(const nlohmann::json& jwk, const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) {
    return Fail(kOp, std::string("missing string member `") + name + "`");
  }
  auto bytes = Base64UrlDecode(it->get<std::string>());
  if (!bytes) return Fail(kOp, std::string("member `") + name + "` is not base64url");
  return bytes;
}

Result<internal::PkeyPtr> RsaFromJwk(const nlohmann::json& jwk) {
  auto n = B64Member(jwk, "n");
  if (!n) return tl::unexpected(n.error());
  auto e = B64Member(jwk, "e");
  if (!e) return tl::unexpected(e.error());
  if (n->empty() || e->empty() || e->size() > 8) return Fail(kOp, "bad RSA modulus or exponent");
  internal::BignumPtr bn_n(BN_bin2bn(n->data(), static_cast<int>(n->size()), nullptr));
  internal::BignumPtr bn_e(BN_bin2bn(e->data(), static_cast<int>(e->size()), nullptr));
  if (!bn_n || !bn_e) return FailOpenSsl(kOp, "cannot read RSA numbers");
  int bits = BN_num_bits(bn_n.get());
  if (bits < kMinRsaBits || bits > kMaxRsaBits) {
    return Fail(kOp, "RSA modulus of " + std::to_string(bits) + " bits (need " +
                         std::to_string(kMinRsaBits) + " to " + std::to_string(kMaxRsaBits) +
                         ")");
  }
  if (!BN_is_odd(bn_e.get()) || BN_is_one(bn_e.get())) return Fail(kOp, "bad RSA exponent");
  internal::ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    return FailOpenSsl(kOp, "cannot build RSA parameters");
  }
  internal::ParamsPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  internal::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return FailOpenSsl(kOp, "cannot load the RSA key");
  }
  return internal::PkeyPtr(raw);
}

Result<internal::PkeyPtr> EcFromJwk(const nlohmann::json& jwk) {
  auto crv = jwk.find("crv");
  if (crv == jwk.end() || *crv != "P-256") return Fail(kOp, "EC keys must have crv `P-256`");
  auto x = B64Member(jwk, "x");
  if (!x) return tl::unexpected(x.error());
  auto y = B64Member(jwk, "y");
  if (!y) return tl::unexpected(y.error());
  // RFC 7518 section 6.2.1.2: each coordinate is exactly the field size, 32 bytes.
  if (x->size() != 32 || y->size() != 32) return Fail(kOp, "P-256 coordinates must be 32 bytes");
  Bytes point;
  point.reserve(65);
  point.push_back(0x04);  // uncompressed SEC1 point
  point.insert(point.end(), x->begin(), x->end());
  point.insert(point.end(), y->begin(), y->end());
  internal::ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) !=
          1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return FailOpenSsl(kOp, "cannot build EC parameters");
  }
  internal::ParamsPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  internal::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return FailOpenSsl(kOp, "cannot load the EC key (is the point on the curve?)");
  }
  internal::PkeyPtr pkey(raw);
  // An off-curve or identity point would make every later verification meaningless.
  internal::PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    return FailOpenSsl(kOp, "the EC point is not a valid P-256 public key");
  }
  return pkey;
}

Result<internal::PkeyPtr> OkpFromJwk(const nlohmann::json& jwk) {
  auto crv = jwk.find("crv");
  if (crv == jwk.end() || *crv != "Ed25519") return Fail(kOp, "OKP keys must have crv `Ed25519`");
  auto x = B64Member(jwk, "x");
  if (!x) return tl::unexpected(x.error());
  if (x->size() != 32) return Fail(kOp, "Ed25519 keys are 32 bytes");
  internal::PkeyPtr pkey(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, x->data(), x->size()));
  if (!pkey) return FailOpenSsl(kOp, "cannot load the Ed25519 key");
  return pkey;
}

Result<JwkKey> ParseKey(const nlohmann::json& jwk, size_t index) {
  if (!jwk.is_object()) return KeyError(index, "", "not a JSON object");
  auto kid_it = jwk.find("kid");
  if (kid_it == jwk.end() || !kid_it->is_string() || kid_it->get<std::string>().empty()) {
    return KeyError(index, "", "every key needs a non-empty string `kid`");
  }
  JwkKey key;
  key.kid = kid_it->get<std::string>();
  auto kty_it = jwk.find("kty");
  if (kty_it == jwk.end() || !kty_it->is_string()) return KeyError(index, key.kid, "no `kty`");
  const std::string kty = kty_it->get<std::string>();

  std::string alg;
  if (auto it = jwk.find("alg"); it != jwk.end()) {
    if (!it->is_string()) return KeyError(index, key.kid, "`alg` is not a string");
    alg = it->get<std::string>();
  }
  if (auto it = jwk.find("use"); it != jwk.end() && *it != "sig") {
    return KeyError(index, key.kid, "`use` must be `sig` for a verification key");
  }
  if (auto it = jwk.find("key_ops"); it != jwk.end()) {
    bool verify = it->is_array() && std::any_of(it->begin(), it->end(), [](const auto& op) {
                    return op == "verify";
                  });
    if (!verify) return KeyError(index, key.kid, "`key_ops` does not allow `verify`");
  }
  // A verification key set holds public keys: private parts mean a key file mix-up.
  if (kty != "oct") {
    for (const char* priv : {"d", "p", "q", "dp", "dq", "qi"}) {
      if (jwk.contains(priv)) {
        return KeyError(index, key.kid,
                        std::string("private key member `") + priv +
                            "` in a verification key set");
      }
    }
  }

  // One key, one algorithm: RSA and oct keys could serve several, so they must say which.
  Result<internal::PkeyPtr> pkey = internal::PkeyPtr();
  if (kty == "RSA") {
    if (alg != "RS256") return KeyError(index, key.kid, "RSA keys need `alg` `RS256`");
    key.alg = JwtAlgorithm::kRs256;
    pkey = RsaFromJwk(jwk);
  } else if (kty == "EC") {
    if (!alg.empty() && alg != "ES256") return KeyError(index, key.kid, "EC keys are `ES256`");
    key.alg = JwtAlgorithm::kEs256;
    pkey = EcFromJwk(jwk);
  } else if (kty == "OKP") {
    if (!alg.empty() && alg != "EdDSA") return KeyError(index, key.kid, "OKP keys are `EdDSA`");
    key.alg = JwtAlgorithm::kEdDsa;
    pkey = OkpFromJwk(jwk);
  } else if (kty == "oct") {
    if (alg != "HS256") return KeyError(index, key.kid, "oct keys need `alg` `HS256`");
    key.alg = JwtAlgorithm::kHs256;
    auto k = B64Member(jwk, "k");
    if (!k) return KeyError(index, key.kid, k.error().message());
    if (k->size() < kMinHmacKeyBytes) {
      return KeyError(index, key.kid, "HS256 keys must be at least 32 bytes");
    }
    key.secret = SecretBytes(*k);
    std::fill(k->begin(), k->end(), uint8_t{0});
  } else {
    return KeyError(index, key.kid, "unsupported `kty` `" + kty + "`");
  }
  if (!pkey) return KeyError(index, key.kid, pkey.error().message(), pkey.error().openssl_errors());
  key.pkey = std::move(*pkey);
  return key;
}

}  // namespace

JwkSet::JwkSet() : impl_(std::make_shared<const Impl>()) {}

size_t JwkSet::size() const noexcept { return impl_->keys.size(); }

std::vector<std::string> JwkSet::kids() const {
  std::vector<std::string> out;
  for (const auto& k : impl_->keys) out.push_back(k.kid);
  return out;
}

Result<JwkSet> JwkSet::Parse(std::string_view json) {
  auto doc = internal::ParseStrictJson(json, 8, kOp);
  if (!doc) return tl::unexpected(doc.error());
  if (!doc->is_object()) return Fail(kOp, "a key set is a JSON object");
  auto keys_it = doc->find("keys");
  if (keys_it == doc->end() || !keys_it->is_array()) {
    return Fail(kOp, "no `keys` array");
  }
  if (keys_it->size() > kMaxKeys) {
    return Fail(kOp, "more than " + std::to_string(kMaxKeys) + " keys");
  }
  auto impl = std::make_shared<Impl>();
  for (size_t i = 0; i < keys_it->size(); ++i) {
    auto key = ParseKey((*keys_it)[i], i);
    if (!key) return tl::unexpected(key.error());
    if (impl->FindKid(key->kid) != nullptr) {
      return KeyError(i, key->kid, "duplicate `kid`");
    }
    impl->keys.push_back(std::move(*key));
  }
  JwkSet set;
  set.impl_ = std::move(impl);
  return set;
}

Result<JwkSet> JwkSet::LoadFile(const std::string& path) {
  auto text = ReadFileLimited(path, kMaxFileBytes);
  if (!text) return tl::unexpected(text.error());
  auto set = Parse(*text);
  if (!set) {
    return Fail(kOp, "`" + path + "`: " + set.error().message());
  }
  return set;
}

}  // namespace fnjail::crypto
