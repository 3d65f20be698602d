// Authentication: API keys, HMAC-signed requests and JWT bearer tokens.
#include "gateway/auth.h"

#include <nlohmann/json.hpp>

namespace fnjail::gateway {

namespace {

char Lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool IEquals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

std::string_view TrimOws(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

tl::unexpected<AuthFailure> Invalid(AuthMethod method, std::string credential,
                                    std::string detail) {
  return tl::unexpected(AuthFailure{AuthFailure::Kind::kInvalid, method, std::move(credential),
                                    std::move(detail)});
}

void ApplyBinding(const PrincipalBinding& binding, Principal& p) {
  if (!binding.id.empty()) p.id = binding.id;
  p.groups = binding.groups;
  p.tags = binding.tags;
}

// Flattens the top-level claims into text values (see Principal::claims).
void FlattenClaims(const nlohmann::json& claims, Principal& p) {
  auto scalar = [](const nlohmann::json& v, std::string& out) {
    if (v.is_string()) {
      out = v.get_ref<const std::string&>();
    } else if (v.is_boolean()) {
      out = v.get<bool>() ? "true" : "false";
    } else if (v.is_number()) {
      out = v.dump();
    } else {
      return false;
    }
    return out.size() <= kMaxClaimBytes;
  };
  for (const auto& [key, value] : claims.items()) {
    if (p.claims.size() >= kMaxClaims) break;
    if (key.size() > 128) continue;
    std::vector<std::string> values;
    std::string text;
    if (value.is_array()) {
      for (const auto& item : value) {
        if (values.size() >= kMaxGroups) break;
        if (scalar(item, text)) values.push_back(std::move(text));
      }
    } else if (scalar(value, text)) {
      values.push_back(std::move(text));
    } else {
      continue;
    }
    p.claims.emplace_back(key, std::move(values));
  }
}

}  // namespace

std::string_view AuthMethodName(AuthMethod method) noexcept {
  switch (method) {
    case AuthMethod::kNone:
      return "none";
    case AuthMethod::kApiKey:
      return "api-key";
    case AuthMethod::kHmac:
      return "hmac";
    case AuthMethod::kJwt:
      return "jwt";
  }
  return "none";
}

struct Authenticator::Impl {
  AuthOptions options;
  std::unique_ptr<crypto::HmacRequestVerifier> hmac;
  struct Issuer {
    const JwtIssuer* config = nullptr;
    std::unique_ptr<crypto::JwtVerifier> verifier;
  };
  std::vector<Issuer> issuers;

  tl::expected<Principal, AuthFailure> ApiKey(std::string_view key) const;
  tl::expected<Principal, AuthFailure> Hmac(const AuthInput& input,
                                            std::string_view authorization,
                                            int64_t now_unix) const;
  tl::expected<Principal, AuthFailure> Jwt(std::string_view token, int64_t now_unix) const;
};

Authenticator::Authenticator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Authenticator::~Authenticator() = default;

tl::expected<std::unique_ptr<Authenticator>, std::string> Authenticator::Create(
    AuthOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  auto& opts = impl->options;
  if (opts.api_keys && (!opts.api_keys->store || !opts.api_keys->pepper ||
                        opts.api_keys->pepper->size() < 32)) {
    return tl::unexpected(std::string("api key authentication needs a key store and a pepper "
                                      "of at least 32 bytes"));
  }
  if (opts.api_keys && (opts.api_keys->header.empty() ||
                        IEquals(opts.api_keys->header, "authorization"))) {
    return tl::unexpected(std::string("the api key header must be named and not `Authorization`"));
  }
  if (opts.hmac) {
    for (const auto& [id, key] : opts.hmac->keys) {
      if (key.secret.size() < 32) {
        return tl::unexpected("hmac key `" + id + "` is shorter than 32 bytes");
      }
    }
    if (opts.hmac->window_seconds <= 0 || opts.hmac->replay_capacity == 0) {
      return tl::unexpected(std::string("hmac window and replay capacity must be positive"));
    }
    const auto* keys = &opts.hmac->keys;
    impl->hmac = std::make_unique<crypto::HmacRequestVerifier>(
        [keys](std::string_view key_id) -> std::optional<crypto::Bytes> {
          auto it = keys->find(key_id);
          if (it == keys->end()) return std::nullopt;
          return it->second.secret;
        },
        opts.hmac->window_seconds, opts.hmac->replay_capacity);
  }
  for (const auto& issuer : opts.jwt_issuers) {
    if (issuer.options.issuer.empty()) {
      return tl::unexpected("jwt issuer `" + issuer.name + "` has no `iss` to match");
    }
    if (issuer.principal_claim.empty()) {
      return tl::unexpected("jwt issuer `" + issuer.name + "` has no principal claim");
    }
    for (const auto& other : impl->issuers) {
      if (other.config->options.issuer == issuer.options.issuer) {
        return tl::unexpected("jwt issuers `" + other.config->name + "` and `" + issuer.name +
                              "` have the same `iss`");
      }
    }
    impl->issuers.push_back(
        {&issuer, std::make_unique<crypto::JwtVerifier>(issuer.keys, issuer.options)});
  }
  return std::unique_ptr<Authenticator>(new Authenticator(std::move(impl)));
}

tl::expected<Principal, AuthFailure> Authenticator::Authenticate(const AuthInput& input,
                                                                 int64_t now_unix) const {
  const std::string* api_key = nullptr;
  const std::string* authorization = nullptr;
  int credentials = 0;
  const std::string_view key_header =
      impl_->options.api_keys ? std::string_view(impl_->options.api_keys->header) : "X-Api-Key";
  for (const auto& [name, value] : input.request->headers) {
    if (IEquals(name, key_header)) {
      api_key = &value;
      ++credentials;
    } else if (IEquals(name, "authorization")) {
      authorization = &value;
      ++credentials;
    }
  }
  // SECURITY: one credential per request. With two, a proxy and the gateway (or two
  // schemes) could disagree on who the caller is; refuse instead of picking one.
  if (credentials > 1) {
    return tl::unexpected(AuthFailure{AuthFailure::Kind::kAmbiguous, AuthMethod::kNone, {},
                                      "more than one credential header"});
  }
  if (credentials == 0) {
    return tl::unexpected(AuthFailure{AuthFailure::Kind::kMissing, AuthMethod::kNone, {},
                                      "no credential"});
  }
  if (api_key != nullptr) return impl_->ApiKey(TrimOws(*api_key));

  std::string_view value = TrimOws(*authorization);
  size_t space = value.find(' ');
  std::string_view scheme = value.substr(0, space);
  std::string_view rest =
      space == std::string_view::npos ? std::string_view() : TrimOws(value.substr(space + 1));
  if (IEquals(scheme, "Bearer")) return impl_->Jwt(rest, now_unix);
  if (IEquals(scheme, "ApiKey")) return impl_->ApiKey(rest);
  if (scheme == crypto::kHmacScheme) return impl_->Hmac(input, value, now_unix);
  return Invalid(AuthMethod::kNone, {}, "unsupported authorization scheme");
}

tl::expected<Principal, AuthFailure> Authenticator::Impl::ApiKey(std::string_view key) const {
  if (!options.api_keys) {
    return Invalid(AuthMethod::kApiKey, {}, "api key authentication is not configured");
  }
  auto id = crypto::ApiKeyId(key);
  if (!id) return Invalid(AuthMethod::kApiKey, {}, "malformed api key");
  auto info = options.api_keys->store->Authenticate(key, options.api_keys->pepper->view());
  if (!info) {
    return Invalid(AuthMethod::kApiKey, *id, "unknown, revoked or wrong api key");
  }
  Principal p;
  p.kind = AuthMethod::kApiKey;
  p.credential = info->id;
  p.id = "api-key:" + info->id;
  auto it = options.api_keys->bindings.find(info->id);
  if (it != options.api_keys->bindings.end()) ApplyBinding(it->second, p);
  return p;
}

tl::expected<Principal, AuthFailure> Authenticator::Impl::Hmac(const AuthInput& input,
                                                               std::string_view authorization,
                                                               int64_t now_unix) const {
  if (!hmac) return Invalid(AuthMethod::kHmac, {}, "hmac authentication is not configured");
  crypto::HttpRequestView view;
  view.method = input.request->method;
  view.path = input.path;
  view.query = input.query;
  view.headers = input.request->headers;
  view.body = input.request->body;
  auto sig = hmac->Verify(view, authorization, now_unix);
  if (!sig) {
    std::string key_id;
    if (auto parsed = crypto::ParseRequestSignature(authorization)) key_id = parsed->key_id;
    return Invalid(AuthMethod::kHmac, std::move(key_id), sig.error().message());
  }
  Principal p;
  p.kind = AuthMethod::kHmac;
  p.credential = sig->key_id;
  p.id = "hmac:" + sig->key_id;
  auto it = options.hmac->keys.find(sig->key_id);
  if (it != options.hmac->keys.end()) ApplyBinding(it->second.principal, p);
  return p;
}

tl::expected<Principal, AuthFailure> Authenticator::Impl::Jwt(std::string_view token,
                                                              int64_t now_unix) const {
  if (issuers.empty()) return Invalid(AuthMethod::kJwt, {}, "jwt authentication is not configured");
  if (token.empty() || token.size() > 64 * 1024) {
    return Invalid(AuthMethod::kJwt, {}, "missing or oversized bearer token");
  }
  const Issuer* issuer = issuers.size() == 1 ? &issuers[0] : nullptr;
  if (issuer == nullptr) {
    // Pick the issuer by the unverified `iss`; the chosen verifier then checks `iss`,
    // the signature and everything else, so a forged `iss` only selects whose keys fail.
    size_t dot1 = token.find('.');
    size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos) return Invalid(AuthMethod::kJwt, {}, "malformed token");
    auto payload = crypto::Base64UrlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1));
    if (!payload) return Invalid(AuthMethod::kJwt, {}, "malformed token payload");
    auto claims = nlohmann::json::parse(crypto::AsChars(*payload), nullptr, false);
    if (claims.is_discarded() || !claims.is_object() || !claims.contains("iss") ||
        !claims["iss"].is_string()) {
      return Invalid(AuthMethod::kJwt, {}, "token without a string `iss`");
    }
    const auto& iss = claims["iss"].get_ref<const std::string&>();
    for (const auto& candidate : issuers) {
      if (candidate.config->options.issuer == iss) issuer = &candidate;
    }
    if (issuer == nullptr) return Invalid(AuthMethod::kJwt, {}, "token of an unknown issuer");
  }
  auto verified = issuer->verifier->Verify(token, now_unix);
  if (!verified) {
    return Invalid(AuthMethod::kJwt, issuer->config->name, verified.error().message());
  }
  const JwtIssuer& config = *issuer->config;
  auto claims = nlohmann::json::parse(verified->claims_json, nullptr, false);
  std::string subject;
  if (config.principal_claim == "sub") {
    subject = verified->subject;
  } else if (claims.is_object() && claims.contains(config.principal_claim) &&
             claims[config.principal_claim].is_string()) {
    subject = claims[config.principal_claim].get<std::string>();
  }
  if (subject.empty() || subject.size() > 256) {
    return Invalid(AuthMethod::kJwt, config.name,
                   "token without a string `" + config.principal_claim + "` of 1-256 bytes");
  }
  Principal p;
  p.kind = AuthMethod::kJwt;
  p.credential = config.name;
  p.id = config.principal_prefix + subject;
  p.groups = config.default_groups;
  const auto bound = config.principals.find(p.id);
  if (bound != config.principals.end()) {
    for (const auto& g : bound->second.groups) {
      if (p.groups.size() >= kMaxGroups) break;
      p.groups.push_back(g);
    }
    p.tags = bound->second.tags;
  }
  if (claims.is_object()) {
    const auto& groups_claim = issuer->config->groups_claim;
    if (!groups_claim.empty() && claims.contains(groups_claim)) {
      const auto& g = claims[groups_claim];
      if (g.is_string()) {
        p.groups.push_back(g.get<std::string>());
      } else if (g.is_array()) {
        for (const auto& item : g) {
          if (p.groups.size() >= kMaxGroups) break;
          if (item.is_string() && item.get_ref<const std::string&>().size() <= 256) {
            p.groups.push_back(item.get<std::string>());
          }
        }
      }
    }
    FlattenClaims(claims, p);
  }
  return p;
}

}  // namespace fnjail::gateway
