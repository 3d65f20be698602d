// JWT claim checks (RFC 7519) over a verified JWS, and the caching verifier.
#include <cmath>
#include <limits>
#include <list>
#include <mutex>
#include <unordered_map>

#include "crypto/crypto.h"
#include "crypto/internal/json.h"
#include "crypto/internal/jws.h"

namespace fnjail::crypto {
namespace {

constexpr const char* kOp = "jwt verify";
constexpr size_t kMaxClaimsDepth = 16;

// A NumericDate (RFC 7519 section 2): a JSON number of seconds, fractions dropped.
Result<std::optional<int64_t>> NumericDate(const nlohmann::json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end()) return std::optional<int64_t>();
  if (it->is_number_integer() && !it->is_number_unsigned()) {
    return std::optional<int64_t>(it->get<int64_t>());
  }
  if (it->is_number_unsigned()) {
    uint64_t v = it->get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Fail(kOp, std::string("`") + name + "` is out of range");
    }
    return std::optional<int64_t>(static_cast<int64_t>(v));
  }
  if (it->is_number_float()) {
    double d = it->get<double>();
    // +-2^62 keeps every later addition of a skew or lifetime far from overflow.
    if (!std::isfinite(d) || d > 4.6e18 || d < -4.6e18) {
      return Fail(kOp, std::string("`") + name + "` is out of range");
    }
    return std::optional<int64_t>(static_cast<int64_t>(std::floor(d)));
  }
  return Fail(kOp, std::string("`") + name + "` is not a number");
}

// Saturating add: time claims come from the token, so overflow must not wrap.
int64_t AddClamped(int64_t a, int64_t b) {
  int64_t out = 0;
  if (__builtin_add_overflow(a, b, &out)) {
    return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return out;
}

Result<void> CheckTimes(const VerifiedJwt& jwt, const JwtOptions& options, int64_t now) {
  const int64_t skew = options.clock_skew_seconds;
  if (now >= AddClamped(jwt.expires_at, skew)) {
    return Fail(kOp, "token expired at " + std::to_string(jwt.expires_at) + " (now " +
                         std::to_string(now) + ")");
  }
  if (jwt.not_before && AddClamped(now, skew) < *jwt.not_before) {
    return Fail(kOp, "token not valid before " + std::to_string(*jwt.not_before) + " (now " +
                         std::to_string(now) + ")");
  }
  if (jwt.issued_at && *jwt.issued_at > AddClamped(now, skew)) {
    return Fail(kOp, "token issued in the future at " + std::to_string(*jwt.issued_at) +
                         " (now " + std::to_string(now) + ")");
  }
  return {};
}

Result<void> CheckLifetime(const VerifiedJwt& jwt, const JwtOptions& options, int64_t now) {
  int64_t start = jwt.issued_at ? *jwt.issued_at : jwt.not_before ? *jwt.not_before : now;
  int64_t lifetime = 0;
  if (__builtin_sub_overflow(jwt.expires_at, start, &lifetime) ||
      lifetime > options.max_lifetime_seconds) {
    return Fail(kOp, "token lifetime exceeds the cap of " +
                         std::to_string(options.max_lifetime_seconds) + " s");
  }
  return {};
}

Result<std::string> OptionalString(const nlohmann::json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end()) return std::string();
  if (!it->is_string()) return Fail(kOp, std::string("`") + name + "` is not a string");
  return it->get<std::string>();
}

}  // namespace

Result<VerifiedJwt> VerifyJwt(std::string_view token, const JwkSet& keys,
                              const JwtOptions& options, int64_t now_unix) {
  auto jws = internal::VerifyJws(token, keys, options.max_token_bytes);
  if (!jws) return tl::unexpected(jws.error());
  // Claims are read only once the signature holds.
  auto claims = internal::ParseStrictJson(AsChars(jws->payload), kMaxClaimsDepth, kOp);
  if (!claims) return Fail(kOp, "claims: " + claims.error().message());
  if (!claims->is_object()) return Fail(kOp, "claims are not a JSON object");

  VerifiedJwt out;
  out.algorithm = jws->alg;
  out.kid = jws->kid;
  auto exp = NumericDate(*claims, "exp");
  if (!exp) return tl::unexpected(exp.error());
  if (!*exp) return Fail(kOp, "token has no `exp`");
  out.expires_at = **exp;
  auto nbf = NumericDate(*claims, "nbf");
  if (!nbf) return tl::unexpected(nbf.error());
  out.not_before = *nbf;
  auto iat = NumericDate(*claims, "iat");
  if (!iat) return tl::unexpected(iat.error());
  out.issued_at = *iat;

  auto iss = OptionalString(*claims, "iss");
  if (!iss) return tl::unexpected(iss.error());
  out.issuer = std::move(*iss);
  auto sub = OptionalString(*claims, "sub");
  if (!sub) return tl::unexpected(sub.error());
  out.subject = std::move(*sub);
  if (auto it = claims->find("aud"); it != claims->end()) {
    if (it->is_string()) {
      out.audience.push_back(it->get<std::string>());
    } else if (it->is_array()) {
      for (const auto& a : *it) {
        if (!a.is_string()) return Fail(kOp, "`aud` holds a non-string");
        out.audience.push_back(a.get<std::string>());
      }
    } else {
      return Fail(kOp, "`aud` is neither a string nor an array");
    }
  }

  auto times = CheckTimes(out, options, now_unix);
  if (!times) return tl::unexpected(times.error());
  auto lifetime = CheckLifetime(out, options, now_unix);
  if (!lifetime) return tl::unexpected(lifetime.error());
  if (!options.issuer.empty() && out.issuer != options.issuer) {
    return Fail(kOp, "issuer `" + out.issuer + "` is not `" + options.issuer + "`");
  }
  if (!options.audiences.empty()) {
    bool match = false;
    for (const auto& want : options.audiences) {
      for (const auto& have : out.audience) match = match || have == want;
    }
    if (!match) return Fail(kOp, "no accepted audience in `aud`");
  }
  out.claims_json = claims->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return out;
}

// LRU of verified tokens, keyed by the token's SHA-256 (never the token itself).
struct JwtVerifier::Cache {
  using Entry = std::pair<std::string, VerifiedJwt>;
  explicit Cache(size_t cap) : capacity(cap) {}
  size_t capacity;
  mutable std::mutex mu;
  std::list<Entry> lru;  // front: most recently used
  std::unordered_map<std::string, std::list<Entry>::iterator> index;
};

JwtVerifier::JwtVerifier(JwkSet keys, JwtOptions options, size_t cache_capacity)
    : keys_(std::move(keys)),
      options_(std::move(options)),
      cache_(std::make_unique<Cache>(cache_capacity)) {}

JwtVerifier::~JwtVerifier() = default;

size_t JwtVerifier::cache_size() const {
  std::lock_guard<std::mutex> lock(cache_->mu);
  return cache_->index.size();
}

Result<VerifiedJwt> JwtVerifier::Verify(std::string_view token, int64_t now_unix) {
  if (token.size() > options_.max_token_bytes) {
    return Fail(kOp, "token longer than " + std::to_string(options_.max_token_bytes) + " bytes");
  }
  auto digest = Sha256(AsBytes(token));
  if (!digest) return tl::unexpected(digest.error());
  std::string key(AsChars(*digest));
  {
    std::lock_guard<std::mutex> lock(cache_->mu);
    auto it = cache_->index.find(key);
    if (it != cache_->index.end()) {
      // The signature and static claims were checked once; time moves on, so the time
      // claims are checked again and an expired entry leaves the cache.
      auto times = CheckTimes(it->second->second, options_, now_unix);
      if (!times) {
        cache_->lru.erase(it->second);
        cache_->index.erase(it);
        return tl::unexpected(times.error());
      }
      cache_->lru.splice(cache_->lru.begin(), cache_->lru, it->second);
      return it->second->second;
    }
  }
  auto verified = VerifyJwt(token, keys_, options_, now_unix);
  if (!verified || cache_->capacity == 0) return verified;
  std::lock_guard<std::mutex> lock(cache_->mu);
  if (cache_->index.find(key) == cache_->index.end()) {
    cache_->lru.emplace_front(key, *verified);
    cache_->index.emplace(key, cache_->lru.begin());
    while (cache_->index.size() > cache_->capacity) {
      cache_->index.erase(cache_->lru.back().first);
      cache_->lru.pop_back();
    }
  }
  return verified;
}

}  // namespace fnjail::crypto
