// JWT verification per algorithm, uncached (VerifyJwt) and through JwtVerifier's cache.
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <string>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "crypto/internal/handles.h"

namespace {

using namespace fnjail::crypto;
using nlohmann::json;

constexpr int64_t kNow = 1'800'000'000;

std::string B64(ByteView b) { return Base64UrlEncode(b); }
std::string B64(const std::string& s) { return Base64UrlEncode(AsBytes(s)); }

Bytes BnParam(EVP_PKEY* key, const char* name, size_t pad) {
  BIGNUM* raw = nullptr;
  EVP_PKEY_get_bn_param(key, name, &raw);
  internal::BignumPtr bn(raw);
  size_t len = std::max<size_t>(pad, static_cast<size_t>(BN_num_bytes(bn.get())));
  Bytes out(len);
  BN_bn2binpad(bn.get(), out.data(), static_cast<int>(len));
  return out;
}

Bytes DigestSign(EVP_PKEY* key, const std::string& input) {
  internal::MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key);
  size_t len = 0;
  auto* data = reinterpret_cast<const unsigned char*>(input.data());
  EVP_DigestSign(ctx.get(), nullptr, &len, data, input.size());
  Bytes sig(len);
  EVP_DigestSign(ctx.get(), sig.data(), &len, data, input.size());
  sig.resize(len);
  return sig;
}

Bytes DerToJose(const Bytes& der) {
  const unsigned char* p = der.data();
  internal::EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  Bytes out(64);
  BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out.data(), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out.data() + 32, 32);
  return out;
}

struct Fixture {
  JwkSet keys;
  std::string tokens[4];  // RS256, ES256, EdDSA, HS256

  Fixture() {
    internal::PkeyPtr rsa_key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
    internal::PkeyPtr ec_key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    EVP_PKEY* rsa = rsa_key.get();
    EVP_PKEY* ec = ec_key.get();
    auto ed = Ed25519SigningKey::FromSeed(Bytes(32, 3));
    Bytes hs(32, 4);
    json set = {{"keys",
                 {{{"kty", "RSA"}, {"kid", "rs"}, {"alg", "RS256"},
                   {"n", B64(BnParam(rsa, OSSL_PKEY_PARAM_RSA_N, 0))},
                   {"e", B64(BnParam(rsa, OSSL_PKEY_PARAM_RSA_E, 0))}},
                  {{"kty", "EC"}, {"kid", "es"}, {"crv", "P-256"},
                   {"x", B64(BnParam(ec, OSSL_PKEY_PARAM_EC_PUB_X, 32))},
                   {"y", B64(BnParam(ec, OSSL_PKEY_PARAM_EC_PUB_Y, 32))}},
                  {{"kty", "OKP"}, {"kid", "ed"}, {"crv", "Ed25519"},
                   {"x", B64(ed->public_key().raw())}},
                  {{"kty", "oct"}, {"kid", "hs"}, {"alg", "HS256"}, {"k", B64(hs)}}}}};
    keys = *JwkSet::Parse(set.dump());
    std::string claims = B64(json{{"iss", "idp"}, {"aud", "fnjail"}, {"sub", "alice"},
                                  {"iat", kNow}, {"exp", kNow + 3600}}
                                 .dump());
    auto input = [&](const char* alg, const char* kid) {
      return B64(json{{"alg", alg}, {"kid", kid}}.dump()) + "." + claims;
    };
    std::string in = input("RS256", "rs");
    tokens[0] = in + "." + B64(DigestSign(rsa, in));
    in = input("ES256", "es");
    tokens[1] = in + "." + B64(DerToJose(DigestSign(ec, in)));
    in = input("EdDSA", "ed");
    tokens[2] = in + "." + B64(*ed->Sign(AsBytes(in)));
    in = input("HS256", "hs");
    tokens[3] = in + "." + B64(*HmacSha256(hs, AsBytes(in)));
  }
};

const Fixture& GetFixture() {
  static const Fixture* f = new Fixture();
  return *f;
}

JwtOptions Options() {
  JwtOptions o;
  o.issuer = "idp";
  o.audiences = {"fnjail"};
  return o;
}

// range(0): 0 RS256, 1 ES256, 2 EdDSA, 3 HS256.
void BM_JwtVerify(benchmark::State& state) {
  const Fixture& f = GetFixture();
  const std::string& token = f.tokens[state.range(0)];
  JwtOptions options = Options();
  for (auto _ : state) {
    auto r = VerifyJwt(token, f.keys, options, kNow);
    if (!r) state.SkipWithError(r.error().ToString().c_str());
    benchmark::DoNotOptimize(r);
  }
  state.SetLabel(std::string(JwtAlgorithmName(static_cast<JwtAlgorithm>(state.range(0)))));
}

void BM_JwtVerifyCached(benchmark::State& state) {
  const Fixture& f = GetFixture();
  const std::string& token = f.tokens[state.range(0)];
  JwtVerifier verifier(f.keys, Options());
  for (auto _ : state) {
    auto r = verifier.Verify(token, kNow);
    if (!r) state.SkipWithError(r.error().ToString().c_str());
    benchmark::DoNotOptimize(r);
  }
  state.SetLabel(std::string(JwtAlgorithmName(static_cast<JwtAlgorithm>(state.range(0)))));
}

BENCHMARK(BM_JwtVerify)->DenseRange(0, 3)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_JwtVerifyCached)->DenseRange(0, 3)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
