// Authentication: who sent a request. API keys, HMAC-signed requests and JWT bearer tokens
// (docs/auth.md, docs/jwt.md) each yield a Principal for the policy engine.
//
// Untrusted-input posture: every header read here is attacker-controlled. Exactly one
// credential is accepted per request; a failure answers the caller with one generic
// message whatever went wrong, and the precise reason goes to the audit record and logs
// only (AuthFailure::detail), so the answer is no oracle for guessing keys or tokens.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

#include "crypto/crypto.h"
#include "gateway/http.h"

namespace fnjail::gateway {

enum class AuthMethod { kNone, kApiKey, kHmac, kJwt };
// "none", "api-key", "hmac", "jwt" (the audit record's auth_method).
std::string_view AuthMethodName(AuthMethod method) noexcept;

// Who a request comes from, as the policy engine sees it.
struct Principal {
  std::string id;                   // policy principal, e.g. `alice`
  AuthMethod kind = AuthMethod::kNone;
  std::string credential;           // API key id, HMAC key id, or JWT issuer name
  std::vector<std::string> groups;  // for policy attachment (`group:NAME`)
  std::vector<std::pair<std::string, std::string>> tags;  // aws:PrincipalTag/<key>
  // Token claims (JWT only): top-level string, number and boolean claims, and arrays of
  // them, as text. Capped at kMaxClaims claims of kMaxClaimBytes each; the rest dropped.
  std::vector<std::pair<std::string, std::vector<std::string>>> claims;
};

inline constexpr size_t kMaxClaims = 64;
inline constexpr size_t kMaxClaimBytes = 1024;
inline constexpr size_t kMaxGroups = 64;

// The principal a credential stands for, as configured (fnjail.toml).
struct PrincipalBinding {
  std::string id;
  std::vector<std::string> groups;
  std::vector<std::pair<std::string, std::string>> tags;
};

struct ApiKeyAuth {
  std::shared_ptr<const crypto::ApiKeyStore> store;
  std::shared_ptr<const crypto::SecretBytes> pepper;
  // Key id -> principal. A key without a binding is principal `api-key:<id>`, no groups.
  std::map<std::string, PrincipalBinding, std::less<>> bindings;
  // The request header carrying a key (besides `Authorization: ApiKey`); matched
  // case-insensitively. Not `Authorization`.
  std::string header = "X-Api-Key";
};

struct HmacKey {
  crypto::Bytes secret;        // at least 32 bytes
  PrincipalBinding principal;  // empty id: principal `hmac:<key id>`
};

struct HmacAuth {
  std::map<std::string, HmacKey, std::less<>> keys;  // key id -> key
  int64_t window_seconds = 300;
  size_t replay_capacity = 100000;
};

struct JwtIssuer {
  std::string name;  // names the issuer in the configuration and audit (credential)
  crypto::JwkSet keys;
  crypto::JwtOptions options;  // options.issuer must be set: `iss` selects the issuer
  std::string principal_prefix;  // principal id = prefix + the `principal_claim` claim
  std::string principal_claim = "sub";  // a non-empty string claim of at most 256 bytes
  std::string groups_claim = "groups";  // a string or array of strings; "" for none
  std::vector<std::string> default_groups;
  // Principal id (with its prefix) -> configured groups and tags ([principals.<id>]): the
  // groups are added to the token's, the tags are the principal's. The binding's id is unused.
  std::map<std::string, PrincipalBinding, std::less<>> principals;
};

struct AuthOptions {
  std::optional<ApiKeyAuth> api_keys;
  std::optional<HmacAuth> hmac;
  std::vector<JwtIssuer> jwt_issuers;
};

// Why a request is not authenticated.
struct AuthFailure {
  enum class Kind {
    kMissing,    // 401 unauthenticated: no credential at all
    kInvalid,    // 401 invalid-credentials: a credential that does not verify
    kAmbiguous,  // 400 ambiguous-credentials: more than one credential
  };
  Kind kind = Kind::kMissing;
  AuthMethod method = AuthMethod::kNone;  // the scheme attempted, when one was
  std::string credential;                 // key id or issuer, when known (for the audit)
  std::string detail;                     // the precise reason: audit and logs only
};

// The request parts a signature covers, split from the target by the router.
struct AuthInput {
  const HttpRequest* request = nullptr;
  std::string_view path;
  std::string_view query;
};

// Authenticates requests. Immutable after construction apart from the verifiers' own
// synchronized caches and replay memory; Authenticate is thread-safe.
class Authenticator {
 public:
  // Checks the options: JWT issuers need a unique, non-empty `options.issuer`; HMAC
  // secrets at least 32 bytes; API key auth needs both store and pepper.
  static tl::expected<std::unique_ptr<Authenticator>, std::string> Create(AuthOptions options);
  ~Authenticator();
  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  // Finds the request's one credential (the API key header, `Authorization: ApiKey`, `Bearer` or
  // FNJ1-HMAC-SHA256) and verifies it at `now_unix` (seconds since the epoch).
  tl::expected<Principal, AuthFailure> Authenticate(const AuthInput& input,
                                                    int64_t now_unix) const;

 private:
  struct Impl;
  explicit Authenticator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fnjail::gateway
