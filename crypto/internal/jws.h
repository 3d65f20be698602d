// JWK keys and compact JWS signature verification, below the JWT claim checks.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "crypto/crypto.h"
#include "crypto/internal/handles.h"

namespace fnjail::crypto::internal {

// One verification key, bound to exactly one algorithm.
struct JwkKey {
  std::string kid;
  JwtAlgorithm alg = JwtAlgorithm::kRs256;
  PkeyPtr pkey;         // RS256, ES256, EdDSA
  SecretBytes secret;   // HS256
};

// The parsed JWS: algorithm and key id used, and the decoded payload bytes.
struct VerifiedJws {
  JwtAlgorithm alg = JwtAlgorithm::kRs256;
  std::string kid;
  Bytes payload;
};

// Verifies the signature of a compact JWS (`header.payload.signature`) with the one key
// of `keys` the header selects, applying the key-selection rules of crypto.h (alg bound to
// the key, `none` refused, `kid` only from the set, `jku`/`x5u`/`jwk`/`x5c` ignored,
// `crit` refused). The payload is returned undecoded as JSON: it is not a JWT yet.
Result<VerifiedJws> VerifyJws(std::string_view token, const JwkSet& keys, size_t max_bytes);

// Checks `signature` over `signing_input` with `key` (sizes and encodings included: ES256
// must be exactly 64 bytes r||s with 0 < r, s < n).
Result<void> VerifySignature(const JwkKey& key, std::string_view signing_input,
                             ByteView signature);

}  // namespace fnjail::crypto::internal

namespace fnjail::crypto {

struct JwkSet::Impl {
  std::vector<internal::JwkKey> keys;
  const internal::JwkKey* FindKid(std::string_view kid) const {
    for (const auto& k : keys) {
      if (k.kid == kid) return &k;
    }
    return nullptr;
  }
};

}  // namespace fnjail::crypto
