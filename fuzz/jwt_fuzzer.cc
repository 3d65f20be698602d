// Fuzzer of JWT verification, the JWK set parser and the base64url codec.
//
// The first byte picks the target:
//   0: the rest is a JWK set: Parse must return a set or an error, never crash.
//   1: the rest is a compact token, verified against a fixed key set (the RFC 7515 A.1
//      HS256 key and the RFC 8037 Ed25519 key) at a fixed time.
//   2: the rest is `header JSON \0 claims JSON`: the harness signs it with the HS256 key,
//      so the claim checks behind the signature are reached.
//   3: the rest is base64url text: a successful decode must re-encode to the same text
//      (the decoder accepts exactly one spelling per byte string).
// Invariants checked on success: `alg` is one of the four, `exp` was present and the
// lifetime and skew rules hold at the fixed time. A violation aborts.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "crypto/crypto.h"

namespace {

namespace crypto = fnjail::crypto;

constexpr int64_t kNow = 1300819000;  // just before the RFC 7515 A.1 token expires
constexpr std::string_view kHsKey =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";

const crypto::JwkSet& Keys() {
  static const crypto::JwkSet* keys = [] {
    std::string json = std::string(R"({"keys":[{"kty":"oct","kid":"hs","alg":"HS256","k":")") +
                       std::string(kHsKey) +
                       R"("},{"kty":"OKP","kid":"ed","crv":"Ed25519",)"
                       R"("x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]})";
    auto set = crypto::JwkSet::Parse(json);
    if (!set) {
      std::fprintf(stderr, "jwt_fuzzer: bad built-in key set: %s\n",
                   set.error().ToString().c_str());
      std::abort();
    }
    return new crypto::JwkSet(std::move(*set));
  }();
  return *keys;
}

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "jwt_fuzzer: invariant violated: %s\n", what);
    std::abort();
  }
}

void VerifyAndCheck(std::string_view token) {
  crypto::JwtOptions options;
  auto jwt = crypto::VerifyJwt(token, Keys(), options, kNow);
  if (!jwt) {
    Check(!jwt.error().message().empty(), "an error without a message");
    return;
  }
  Check(jwt->kid == "hs" || jwt->kid == "ed", "a key outside the set");
  Check(jwt->algorithm == crypto::JwtAlgorithm::kHs256 ||
            jwt->algorithm == crypto::JwtAlgorithm::kEdDsa,
        "an algorithm the set does not hold");
  Check(kNow < jwt->expires_at + options.clock_skew_seconds, "an expired token accepted");
  int64_t start = jwt->issued_at ? *jwt->issued_at : jwt->not_before ? *jwt->not_before : kNow;
  Check(jwt->expires_at - start <= options.max_lifetime_seconds, "lifetime cap exceeded");
  // Determinism, and the cache returns the same verdict.
  crypto::JwtVerifier verifier(Keys(), options, 4);
  Check(verifier.Verify(token, kNow).has_value(), "the cached verifier disagrees");
  Check(verifier.Verify(token, kNow).has_value(), "a cache hit disagrees");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: {
      auto set = crypto::JwkSet::Parse(rest);
      if (set) Check(set->kids().size() == set->size(), "kids and size disagree");
      break;
    }
    case 1:
      VerifyAndCheck(rest);
      break;
    case 2: {
      size_t nul = rest.find('\0');
      if (nul == std::string_view::npos) break;
      std::string input = crypto::Base64UrlEncode(crypto::AsBytes(rest.substr(0, nul))) + "." +
                          crypto::Base64UrlEncode(crypto::AsBytes(rest.substr(nul + 1)));
      auto key = crypto::Base64UrlDecode(kHsKey);
      auto mac = crypto::HmacSha256(*key, crypto::AsBytes(input));
      if (!mac) break;
      VerifyAndCheck(input + "." + crypto::Base64UrlEncode(*mac));
      break;
    }
    default: {
      auto bytes = crypto::Base64UrlDecode(rest);
      if (bytes) Check(crypto::Base64UrlEncode(*bytes) == rest, "two spellings decode alike");
      break;
    }
  }
  return 0;
}
