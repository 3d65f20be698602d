// Authorization: the policy engine's decision on one request, with an optional shadow
// policy set that is evaluated and audited but never enforced (safe rollout).
//
// The policy request is {principal, groups, action, resource, context}; the context keys
// the gateway fills are listed in docs/gateway-chain.md ("Context keys") and below. Default
// deny: no applicable allow, an evaluation error or an empty policy set all deny.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/auth.h"
#include "policy/policy.h"

namespace fnjail::gateway {

// The action and resource of invoking a function, and of reading the metrics.
inline constexpr std::string_view kInvokeAction = "function:Invoke";
inline constexpr std::string_view kReadMetricsAction = "gateway:ReadMetrics";
inline constexpr std::string_view kMetricsResource = "gateway:metrics";

// Context keys (compared case-insensitively by the evaluator).
inline constexpr std::string_view kKeySourceIp = "aws:SourceIp";
inline constexpr std::string_view kKeyCurrentTime = "aws:CurrentTime";  // 2026-01-02T03:04:05Z
inline constexpr std::string_view kKeyEpochTime = "aws:EpochTime";      // seconds
inline constexpr std::string_view kKeySecureTransport = "aws:SecureTransport";  // true|false
inline constexpr std::string_view kKeyUsername = "aws:username";        // principal id
inline constexpr std::string_view kKeyUserId = "aws:userid";            // principal id
inline constexpr std::string_view kKeyPrincipalTagPrefix = "aws:PrincipalTag/";  // + tag key
inline constexpr std::string_view kKeyGroups = "fnjail:PrincipalGroups";  // multivalued
inline constexpr std::string_view kKeyAuthMethod = "fnjail:AuthMethod";  // api-key|hmac|jwt
inline constexpr std::string_view kKeyCredential = "fnjail:CredentialId";  // key id / issuer
inline constexpr std::string_view kKeyMethod = "fnjail:RequestMethod";
inline constexpr std::string_view kKeyPath = "fnjail:RequestPath";
inline constexpr std::string_view kKeyFunction = "fnjail:FunctionName";
inline constexpr std::string_view kKeyClaimPrefix = "jwt:";  // + lower-case claim name

// What the decision is about.
struct AuthzInput {
  const Principal* principal = nullptr;  // REQUIRES: not null
  std::string_view action = kInvokeAction;
  std::string_view resource;  // e.g. `fn:hello`
  std::string_view function;  // empty when the resource is not a function
  std::string_view method;
  std::string_view path;
  std::string_view source_ip;
  bool tls = false;
  int64_t now_ms = 0;  // ms since the epoch
};

struct Verdict {
  bool allowed = false;
  policy::Reason reason = policy::Reason::kImplicitDeny;
  std::vector<std::string> statements;  // deciding statements as `policy#sid`
  std::vector<std::string> errors;      // evaluation errors, `policy#sid: message`
};

// A candidate policy set, decided beside the enforced one for the audit record only.
struct ShadowSet {
  std::string name;  // recorded with its decisions; may be empty when there is one set
  policy::PolicySet policies;
};

struct ShadowVerdict {
  std::string name;
  Verdict verdict;
};

struct AuthzResult {
  Verdict enforced;
  std::vector<ShadowVerdict> shadows;  // one per shadow set, in the configured order
  bool allowed() const noexcept { return enforced.allowed; }
};

// Immutable after construction (policy sets are immutable); thread-safe.
class Authorizer {
 public:
  // `enforced` decides; `shadow`, when given, is evaluated beside it for the audit record
  // (one unnamed shadow set).
  explicit Authorizer(policy::PolicySet enforced,
                      std::optional<policy::PolicySet> shadow = std::nullopt);
  // `enforced` decides; each of `shadows` is evaluated beside it for the audit record.
  Authorizer(policy::PolicySet enforced, std::vector<ShadowSet> shadows);

  AuthzResult Authorize(const AuthzInput& input) const;

  // The policy request for `input` (exposed for tests and `--explain` tooling).
  static policy::Request BuildRequest(const AuthzInput& input);

 private:
  policy::PolicySet enforced_;
  std::vector<ShadowSet> shadows_;
};

// `ms` since the epoch as ISO 8601 UTC with second precision: `2026-01-02T03:04:05Z`.
std::string FormatIsoTime(int64_t ms);

}  // namespace fnjail::gateway
