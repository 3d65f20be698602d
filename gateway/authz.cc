// Authorization through the policy engine, enforced and shadow.
#include "gateway/authz.h"

#include <ctime>

namespace fnjail::gateway {

namespace {

std::string Lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

void Put(policy::Request& r, std::string_view key, std::string value) {
  policy::ContextValue v;
  v.values.push_back(std::move(value));
  r.context.emplace(std::string(key), std::move(v));
}

Verdict ToVerdict(const policy::Decision& d) {
  Verdict v;
  v.allowed = d.allowed;
  v.reason = d.reason;
  v.statements.reserve(d.statements.size());
  for (const auto& s : d.statements) v.statements.push_back(s.policy + "#" + s.sid);
  for (const auto& e : d.errors) {
    v.errors.push_back(e.statement.policy + "#" + e.statement.sid + ": " + e.message);
  }
  return v;
}

}  // namespace

std::string FormatIsoTime(int64_t ms) {
  time_t secs = static_cast<time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[32];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

Authorizer::Authorizer(policy::PolicySet enforced, std::optional<policy::PolicySet> shadow)
    : enforced_(std::move(enforced)) {
  if (shadow) shadows_.push_back(ShadowSet{{}, std::move(*shadow)});
}

Authorizer::Authorizer(policy::PolicySet enforced, std::vector<ShadowSet> shadows)
    : enforced_(std::move(enforced)), shadows_(std::move(shadows)) {}

policy::Request Authorizer::BuildRequest(const AuthzInput& input) {
  const Principal& p = *input.principal;
  policy::Request r;
  r.principal = p.id;
  r.groups = p.groups;
  r.action = std::string(input.action);
  r.resource = std::string(input.resource);
  Put(r, kKeySourceIp, std::string(input.source_ip));
  Put(r, kKeyCurrentTime, FormatIsoTime(input.now_ms));
  Put(r, kKeyEpochTime, std::to_string(input.now_ms / 1000));
  Put(r, kKeySecureTransport, input.tls ? "true" : "false");
  Put(r, kKeyUsername, p.id);
  Put(r, kKeyUserId, p.id);
  Put(r, kKeyAuthMethod, std::string(AuthMethodName(p.kind)));
  Put(r, kKeyCredential, p.credential);
  Put(r, kKeyMethod, std::string(input.method));
  Put(r, kKeyPath, std::string(input.path));
  if (!input.function.empty()) Put(r, kKeyFunction, std::string(input.function));
  {
    policy::ContextValue groups;
    groups.values = p.groups;
    groups.multi = true;
    r.context.emplace(std::string(kKeyGroups), std::move(groups));
  }
  // Tag keys and claim names are lower-cased: the evaluator compares keys without regard
  // to case and treats two spellings of one key as an error, so `Team` and `team` must
  // not both reach it (the first one given wins).
  for (const auto& [key, value] : p.tags) {
    policy::ContextValue v;
    v.values.push_back(value);
    r.context.emplace(std::string(kKeyPrincipalTagPrefix) + Lowered(key), std::move(v));
  }
  for (const auto& [name, values] : p.claims) {
    policy::ContextValue v;
    v.values = values;
    v.multi = values.size() != 1;
    r.context.emplace(std::string(kKeyClaimPrefix) + Lowered(name), std::move(v));
  }
  return r;
}

AuthzResult Authorizer::Authorize(const AuthzInput& input) const {
  policy::Request request = BuildRequest(input);
  AuthzResult result;
  result.enforced = ToVerdict(enforced_.Decide(request));
  result.shadows.reserve(shadows_.size());
  for (const auto& set : shadows_) {
    result.shadows.push_back(ShadowVerdict{set.name, ToVerdict(set.policies.Decide(request))});
  }
  return result;
}

}  // namespace fnjail::gateway
