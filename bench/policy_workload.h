// A generated, realistic IAM-style policy workload for the policy benchmarks, written out
// both as fnjail policies (TOML) and as Cedar, with requests for both engines.
//
// One description (Workload) is rendered into each language, so the two engines see the
// same policies and the same requests. The mix follows what real policy sets hold (compare
// ../shared/corpus/aws-managed-policies): exact and prefix-wildcard actions over many
// services, ARN resource patterns with wildcards and `${aws:username}`, about 40% of the
// statements with conditions (StringEquals, StringLike, IpAddress, NumericLessThan, Bool,
// DateGreaterThan), a few deny guardrails; policies attached to everyone, to one user or to
// a group. About 60% of the requests are derived from an allow statement (mostly hits, some
// then hit a guardrail), the rest are random (mostly implicit denies).
//
// Cedar has no wildcard actions and no policy variables, so the Cedar form matches the
// action and resource text from the request context with `like`, guards every condition
// with `has` (IAM: a missing key fails a non-negated operator), and is only available for
// workloads generated without variables (WorkloadOptions::variables = false).
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policy/policy.h"

namespace fnjail::bench {

// The condition operators the workload uses; each goes with one context key (kKeys).
enum class Test {
  kStringEquals,
  kStringLike,
  kIpAddress,
  kNumericLessThan,
  kBool,
  kDateGreaterThan
};

struct WorkloadCondition {
  Test test = Test::kStringEquals;
  std::vector<std::string> values;
};

struct WorkloadStatement {
  std::string sid;
  bool deny = false;
  std::vector<std::string> actions;    // `svc:Name`, `svc:Prefix*`, `svc:*` or `*`
  std::vector<std::string> resources;  // patterns with `*` and, maybe, `${aws:username}`
  std::vector<WorkloadCondition> conditions;
};

struct WorkloadPolicy {
  std::string id;
  std::string attach;  // empty (everyone), a user name, or `group:NAME`
  std::vector<WorkloadStatement> statements;
};

// Context values are kept as text; their type follows from the key (KeyOf).
struct WorkloadRequest {
  std::string principal;
  std::vector<std::string> groups;
  std::string action;
  std::string resource;
  std::vector<std::pair<Test, std::string>> context;
  std::string username;  // aws:username, always present
};

struct Workload {
  std::vector<WorkloadPolicy> policies;
  std::vector<WorkloadRequest> requests;
};

struct WorkloadOptions {
  size_t statements = 100;
  size_t requests = 1000;
  uint64_t seed = 1;
  // `${aws:username}` in some resources; Cedar has no equivalent, so ToCedar needs false.
  bool variables = true;
};

// ---------------------------------------------------------------------------------------
// Implementation details.

namespace workload_internal {

// splitmix64: a fixed, portable sequence for a given seed (std distributions are not).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // A value in [0, n). REQUIRES: n > 0.
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }
  // True with probability percent/100.
  bool Chance(unsigned percent) { return Below(100) < percent; }
  template <class C>
  const typename C::value_type& Of(const C& c) {
    return c[Below(c.size())];
  }

 private:
  uint64_t state_;
};

struct KeyInfo {
  Test test;
  std::string_view key;
  std::string_view op;
};

inline constexpr KeyInfo kKeys[] = {
    {Test::kStringEquals, "aws:PrincipalTag/team", "StringEquals"},
    {Test::kStringLike, "s3:prefix", "StringLike"},
    {Test::kIpAddress, "aws:SourceIp", "IpAddress"},
    {Test::kNumericLessThan, "s3:max-keys", "NumericLessThan"},
    {Test::kBool, "aws:SecureTransport", "Bool"},
    {Test::kDateGreaterThan, "aws:CurrentTime", "DateGreaterThan"},
};

inline const KeyInfo& KeyOf(Test t) { return kKeys[static_cast<size_t>(t)]; }

inline constexpr std::array<std::string_view, 20> kServices = {
    "s3",  "ec2",     "dynamodb",   "lambda",         "sqs",      "sns", "kms",
    "iam", "logs",    "cloudwatch", "secretsmanager", "ssm",      "ecr", "ecs",
    "rds", "kinesis", "states",     "events",         "function", "glue"};

inline constexpr std::array<std::string_view, 11> kVerbs = {
    "Get",    "List",   "Describe", "Put",   "Create", "Delete",
    "Update", "Invoke", "Tag",      "Start", "Stop"};

inline constexpr std::array<std::string_view, 21> kNouns = {
    "Object", "Bucket",  "Item",     "Table",  "Function",  "Queue",  "Topic",
    "Key",    "User",    "Role",     "Events", "Metric",    "Secret", "Parameter",
    "Image",  "Cluster", "Instance", "Stream", "Execution", "Rule",   "Snapshot"};

inline constexpr size_t kUsers = 64;
inline constexpr size_t kGroups = 12;
inline constexpr size_t kTeams = 10;
inline constexpr size_t kBuckets = 40;
inline constexpr size_t kApps = 60;

inline std::string User(size_t i) { return "user-" + std::to_string(i); }
inline std::string Group(size_t i) { return "grp-" + std::to_string(i); }
inline std::vector<std::string> GroupsOf(size_t user) {
  std::vector<std::string> g = {Group(user % kGroups)};
  if (user % 3 == 0) g.push_back(Group((user / 3 + 5) % kGroups));
  if (g.size() == 2 && g[0] == g[1]) g.pop_back();
  return g;
}

// Nouns a service's actions use: six per service, overlapping between services.
inline std::string_view NounOf(size_t service, size_t k) {
  return kNouns[(service * 3 + k) % kNouns.size()];
}

inline std::string Action(Rng& rng, size_t service) {
  return std::string(kServices[service]) + ":" + std::string(rng.Of(kVerbs)) +
         std::string(NounOf(service, rng.Below(6)));
}

inline std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

inline std::string ResourceBase(size_t service, size_t noun) {
  if (kServices[service] == "s3") return "arn:aws:s3:::";
  return "arn:aws:" + std::string(kServices[service]) +
         ":us-east-1:123456789012:" + Lower(NounOf(service, noun)) + "/";
}

inline std::string ResourcePattern(Rng& rng, size_t service, bool variables) {
  const size_t roll = rng.Below(100);
  const std::string base = ResourceBase(service, rng.Below(6));
  const bool s3 = kServices[service] == "s3";
  if (roll < 10) return "*";
  if (variables && roll < 20) {
    return s3 ? "arn:aws:s3:::home-bucket/${aws:username}/*" : base + "${aws:username}-*";
  }
  if (roll < 45) {
    return s3 ? base + "bucket-" + std::to_string(rng.Below(kBuckets)) + "/*"
              : base + "app-" + std::to_string(rng.Below(kApps)) + "-*";
  }
  if (roll < 70) {
    return s3 ? base + "bucket-" + std::to_string(rng.Below(kBuckets)) + "/team-" +
                    std::to_string(rng.Below(kTeams)) + "/*"
              : base + "app-" + std::to_string(rng.Below(kApps)) + "-main";
  }
  return s3 ? base + "bucket-" + std::to_string(rng.Below(kBuckets)) + "/shared/index.html"
            : base + "app-" + std::to_string(rng.Below(kApps)) + "-*";
}

inline std::string TwoDigits(size_t v) { return (v < 10 ? "0" : "") + std::to_string(v); }

inline WorkloadCondition MakeCondition(Rng& rng, Test test) {
  WorkloadCondition c{test, {}};
  const size_t count = 1 + rng.Below(2);
  for (size_t i = 0; i < count; ++i) {
    switch (test) {
      case Test::kStringEquals:
        c.values.push_back("team-" + std::to_string(rng.Below(kTeams)));
        break;
      case Test::kStringLike:
        c.values.push_back(rng.Chance(50) ? "home/*"
                                          : "team-" + std::to_string(rng.Below(kTeams)) + "/*");
        break;
      case Test::kIpAddress:
        c.values.push_back(rng.Chance(60) ? "10." + std::to_string(rng.Below(32)) + ".0.0/16"
                                          : "192.168." + std::to_string(rng.Below(32)) + ".0/24");
        break;
      case Test::kNumericLessThan:
        c.values.push_back(std::to_string(10 * (1 + rng.Below(100))));
        break;
      case Test::kBool:
        c.values.push_back("true");
        return c;  // one value only: a Bool test on both values always holds
      case Test::kDateGreaterThan:
        c.values.push_back("2025-" + TwoDigits(1 + rng.Below(12)) + "-01T00:00:00Z");
        return c;
    }
  }
  return c;
}

inline WorkloadStatement AllowStatement(Rng& rng, bool variables) {
  WorkloadStatement s;
  const size_t service = rng.Below(kServices.size());
  const size_t actions = 1 + rng.Below(4);
  for (size_t i = 0; i < actions; ++i) {
    const size_t svc = rng.Chance(85) ? service : rng.Below(kServices.size());
    const size_t roll = rng.Below(100);
    if (roll < 55) {
      s.actions.push_back(Action(rng, svc));
    } else if (roll < 92) {
      s.actions.push_back(std::string(kServices[svc]) + ":" + std::string(rng.Of(kVerbs)) + "*");
    } else {
      s.actions.push_back(std::string(kServices[svc]) + ":*");
    }
  }
  const size_t resources = 1 + rng.Below(3);
  for (size_t i = 0; i < resources; ++i)
    s.resources.push_back(ResourcePattern(rng, service, variables));
  if (rng.Chance(40)) {
    const size_t first = rng.Below(std::size(kKeys));
    s.conditions.push_back(MakeCondition(rng, kKeys[first].test));
    if (rng.Chance(35)) {
      const size_t second = (first + 1 + rng.Below(std::size(kKeys) - 1)) % std::size(kKeys);
      s.conditions.push_back(MakeCondition(rng, kKeys[second].test));
    }
  }
  return s;
}

// The guardrails real accounts carry: no plain HTTP, no deletes in a bucket after a freeze
// date, one team barred from changing IAM.
inline WorkloadStatement DenyGuardrail(Rng& rng) {
  WorkloadStatement s;
  s.deny = true;
  switch (rng.Below(3)) {
    case 0:
      s.actions = {"*"};
      s.resources = {"*"};
      s.conditions.push_back({Test::kBool, {"false"}});
      break;
    case 1:
      s.actions = {"s3:Delete*", "s3:PutBucket*"};
      s.resources = {"arn:aws:s3:::bucket-" + std::to_string(rng.Below(kBuckets)) + "/*"};
      s.conditions.push_back({Test::kDateGreaterThan, {"2026-01-01T00:00:00Z"}});
      break;
    default:
      s.actions = {"iam:Create*", "iam:Delete*", "iam:Put*"};
      s.resources = {"*"};
      s.conditions.push_back({Test::kStringEquals, {"team-" + std::to_string(rng.Below(kTeams))}});
      break;
  }
  return s;
}

// Text matching `pattern`: each `*` becomes a short token, `${aws:username}` the user.
inline std::string Instantiate(Rng& rng, std::string_view pattern, const std::string& user) {
  constexpr std::string_view kVar = "${aws:username}";
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern.substr(i, kVar.size()) == kVar) {
      out += user;
      i += kVar.size() - 1;
    } else if (pattern[i] == '*') {
      out += "obj-" + std::to_string(rng.Below(500));
    } else {
      out += pattern[i];
    }
  }
  return out;
}

inline std::string ActionInstance(Rng& rng, const std::string& pattern) {
  if (pattern == "*") return Action(rng, rng.Below(kServices.size()));
  if (pattern.back() != '*') return pattern;
  const std::string_view service(pattern.data(), pattern.find(':'));
  size_t index = 0;
  for (size_t i = 0; i < kServices.size(); ++i) {
    if (kServices[i] == service) index = i;
  }
  if (pattern.size() == service.size() + 2) return Action(rng, index);  // `svc:*`
  return pattern.substr(0, pattern.size() - 1) + std::string(NounOf(index, rng.Below(6)));
}

// A value of `test`'s key that satisfies `c` (the first of its values).
inline std::string Satisfying(Rng& rng, const WorkloadCondition& c) {
  const std::string& v = c.values[rng.Below(c.values.size())];
  switch (c.test) {
    case Test::kStringEquals:
    case Test::kBool:
      return v;
    case Test::kStringLike:
      return Instantiate(rng, v, "");
    case Test::kIpAddress: {
      // `a.b.0.0/16` or `a.b.c.0/24`: fill in the host part.
      std::string net = v.substr(0, v.find('/'));
      const bool wide = v.ends_with("/16");
      net.resize(net.rfind('.'));
      if (wide) {
        net.resize(net.rfind('.'));
        return net + "." + std::to_string(rng.Below(256)) + "." +
               std::to_string(1 + rng.Below(254));
      }
      return net + "." + std::to_string(1 + rng.Below(254));
    }
    case Test::kNumericLessThan:
      return std::to_string(rng.Below(static_cast<size_t>(std::stoul(v))));
    case Test::kDateGreaterThan:
      return "2026-03-" + TwoDigits(1 + rng.Below(28)) + "T12:00:00Z";
  }
  return v;
}

// The context every caller sends: who, from where, when, how; a tenth over plain HTTP.
inline void BaseContext(Rng& rng, WorkloadRequest& r, size_t user) {
  r.context = {
      {Test::kStringEquals, "team-" + std::to_string(user % kTeams)},
      {Test::kIpAddress, rng.Chance(70) ? "10." + std::to_string(rng.Below(32)) + ".4.7"
                                        : "203.0.113." + std::to_string(rng.Below(256))},
      {Test::kBool, rng.Chance(90) ? "true" : "false"},
      {Test::kDateGreaterThan, "2026-02-" + TwoDigits(1 + rng.Below(28)) + "T09:30:00Z"},
  };
  if (rng.Chance(50))
    r.context.emplace_back(Test::kNumericLessThan, std::to_string(rng.Below(1000)));
  if (rng.Chance(30)) r.context.emplace_back(Test::kStringLike, "home/" + r.principal + "/");
}

inline void SetContext(WorkloadRequest& r, Test test, std::string value) {
  for (auto& [t, v] : r.context) {
    if (t == test) {
      v = std::move(value);
      return;
    }
  }
  r.context.emplace_back(test, std::move(value));
}

inline WorkloadRequest NewRequest(Rng& rng, size_t user) {
  WorkloadRequest r;
  r.principal = User(user);
  r.username = r.principal;
  r.groups = GroupsOf(user);
  BaseContext(rng, r, user);
  return r;
}

inline size_t UserFor(Rng& rng, const WorkloadPolicy& p) {
  if (p.attach.empty()) return rng.Below(kUsers);
  if (p.attach.starts_with("group:")) {
    const std::string group = p.attach.substr(6);
    for (size_t tries = 0; tries < 4 * kUsers; ++tries) {
      const size_t u = rng.Below(kUsers);
      const auto groups = GroupsOf(u);
      if (std::find(groups.begin(), groups.end(), group) != groups.end()) return u;
    }
    return rng.Below(kUsers);
  }
  return static_cast<size_t>(std::stoul(p.attach.substr(5)));  // `user-N`
}

inline void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

inline std::string JsonList(const std::vector<std::string>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ", ";
    AppendJsonString(out, values[i]);
  }
  return out + "]";
}

}  // namespace workload_internal

// ---------------------------------------------------------------------------------------
// Generation and rendering.

// Generates `options.statements` statements (in policies of 1 to 5) and
// `options.requests` requests. Deterministic for a given options value.
inline Workload GenerateWorkload(const WorkloadOptions& options) {
  using namespace workload_internal;
  Rng rng(options.seed);
  Workload w;
  // About 3% guardrails, at least one, spread through the set.
  const size_t denies = std::max<size_t>(1, options.statements * 3 / 100);
  const size_t deny_every = options.statements / denies;
  size_t made = 0;
  while (made < options.statements) {
    WorkloadPolicy p;
    p.id = "p" + std::to_string(w.policies.size());
    const size_t roll = rng.Below(100);
    if (roll >= 60 && roll < 85) p.attach = User(rng.Below(kUsers));
    if (roll >= 85) p.attach = "group:" + Group(rng.Below(kGroups));
    const size_t count = std::min<size_t>(1 + rng.Below(5), options.statements - made);
    for (size_t i = 0; i < count; ++i, ++made) {
      WorkloadStatement s = made % deny_every == deny_every / 2
                                ? DenyGuardrail(rng)
                                : AllowStatement(rng, options.variables);
      s.sid = (s.deny ? "Deny" : "Allow") + std::to_string(i);
      p.statements.push_back(std::move(s));
    }
    // Guardrails apply to everyone.
    for (const auto& s : p.statements) {
      if (s.deny) p.attach.clear();
    }
    w.policies.push_back(std::move(p));
  }

  for (size_t i = 0; i < options.requests; ++i) {
    if (rng.Chance(60)) {
      const WorkloadPolicy& p = rng.Of(w.policies);
      const WorkloadStatement& s = rng.Of(p.statements);
      WorkloadRequest r = NewRequest(rng, UserFor(rng, p));
      r.action = ActionInstance(rng, rng.Of(s.actions));
      r.resource = Instantiate(rng, rng.Of(s.resources), r.username);
      if (r.resource == "obj-" || r.resource.starts_with("obj-")) {
        r.resource =
            "arn:aws:s3:::bucket-" + std::to_string(rng.Below(kBuckets)) + "/" + r.resource;
      }
      if (!s.deny) {
        for (const auto& c : s.conditions) SetContext(r, c.test, Satisfying(rng, c));
      }
      w.requests.push_back(std::move(r));
    } else {
      WorkloadRequest r = NewRequest(rng, rng.Below(kUsers));
      const size_t service = rng.Below(kServices.size());
      r.action = Action(rng, service);
      r.resource = Instantiate(rng, ResourcePattern(rng, service, false), r.username);
      if (r.resource.starts_with("obj-")) r.resource = "arn:aws:s3:::bucket-0/" + r.resource;
      w.requests.push_back(std::move(r));
    }
  }
  return w;
}

// The policy as a fnjail TOML document (docs/policy-language.md).
inline std::string ToFnjailToml(const WorkloadPolicy& p) {
  using namespace workload_internal;
  std::string out = "# Generated benchmark workload policy.\nid = ";
  AppendJsonString(out, p.id);
  out += "\nkind = \"identity\"\n";
  if (!p.attach.empty()) out += "attach = " + JsonList({p.attach}) + "\n";
  for (const auto& s : p.statements) {
    out += "\n[[statement]]\nsid = ";
    AppendJsonString(out, s.sid);
    out += s.deny ? "\neffect = \"deny\"\n" : "\neffect = \"allow\"\n";
    out += "action = " + JsonList(s.actions) + "\n";
    out += "resource = " + JsonList(s.resources) + "\n";
    for (const auto& c : s.conditions) {
      out += "\n[[statement.condition]]\noperator = \"" + std::string(KeyOf(c.test).op) +
             "\"\nkey = \"" + std::string(KeyOf(c.test).key) +
             "\"\nvalues = " + JsonList(c.values) + "\n";
    }
  }
  return out;
}

// The request as `fnjail policy eval` reads it (one line of a .jsonl file).
inline std::string ToRequestJson(const WorkloadRequest& r) {
  using namespace workload_internal;
  std::string out = "{\"principal\": ";
  AppendJsonString(out, r.principal);
  out += ", \"groups\": " + JsonList(r.groups) + ", \"action\": ";
  AppendJsonString(out, r.action);
  out += ", \"resource\": ";
  AppendJsonString(out, r.resource);
  out += ", \"context\": {\"aws:username\": ";
  AppendJsonString(out, r.username);
  for (const auto& [test, value] : r.context) {
    out += ", ";
    AppendJsonString(out, KeyOf(test).key);
    out += ": ";
    if (test == Test::kNumericLessThan || test == Test::kBool) {
      out += value;  // a JSON number or bool, as a client would send it
    } else {
      AppendJsonString(out, value);
    }
  }
  return out + "}}";
}

// The whole workload as one Cedar policy set: one policy per statement.
// REQUIRES: generated with options.variables == false (Cedar has no policy variables).
inline std::string ToCedar(const Workload& w) {
  using namespace workload_internal;
  auto like_any = [](std::string_view field, const std::vector<std::string>& patterns) {
    std::string out = "(";
    for (size_t i = 0; i < patterns.size(); ++i) {
      if (patterns[i] == "*") return std::string();  // matches everything: no clause
      if (patterns[i].find("${") != std::string::npos) {
        std::fprintf(stderr, "policy workload: Cedar has no policy variables\n");
        std::abort();
      }
      if (i > 0) out += " || ";
      out += "context." + std::string(field);
      out += patterns[i].find('*') == std::string::npos ? " == " : " like ";
      AppendJsonString(out, patterns[i]);
    }
    return out + ")";
  };
  std::string out;
  for (const auto& p : w.policies) {
    for (const auto& s : p.statements) {
      out += "@id(\"" + p.id + "." + s.sid + "\")\n";
      out += s.deny ? "forbid (" : "permit (";
      if (p.attach.empty()) {
        out += "principal, ";
      } else if (p.attach.starts_with("group:")) {
        out += "principal in Group::\"" + p.attach.substr(6) + "\", ";
      } else {
        out += "principal == User::\"" + p.attach + "\", ";
      }
      out += "action, resource)\nwhen { true";
      for (const std::string& clause :
           {like_any("action", s.actions), like_any("resource", s.resources)}) {
        if (!clause.empty()) out += "\n  && " + clause;
      }
      for (const auto& c : s.conditions) {
        const std::string key = std::string(KeyOf(c.test).key);
        const std::string value = "context[\"" + key + "\"]";
        out += "\n  && context has \"" + key + "\" && (";
        for (size_t i = 0; i < c.values.size(); ++i) {
          if (i > 0) out += " || ";
          const std::string& v = c.values[i];
          switch (c.test) {
            case Test::kStringEquals:
              out += value + " == \"" + v + "\"";
              break;
            case Test::kStringLike:
              out += value + " like \"" + v + "\"";
              break;
            case Test::kIpAddress:
              out += value + ".isInRange(ip(\"" + v + "\"))";
              break;
            case Test::kNumericLessThan:
              out += value + " < " + v;
              break;
            case Test::kBool:
              out += value + " == " + v;
              break;
            case Test::kDateGreaterThan:
              out += value + " > datetime(\"" + v + "\")";
              break;
          }
        }
        out += ")";
      }
      out += "\n};\n\n";
    }
  }
  return out;
}

// The request as a cedar-wasm isAuthorized call without its `policies` (one JSON line):
// principal, action and resource entities, the context (with the action and resource text
// the policies match), and the principal's group memberships as entities.
inline std::string ToCedarRequestJson(const WorkloadRequest& r) {
  using namespace workload_internal;
  std::string out = "{\"principal\": {\"type\": \"User\", \"id\": ";
  AppendJsonString(out, r.principal);
  out += "}, \"action\": {\"type\": \"Action\", \"id\": ";
  AppendJsonString(out, r.action);
  out += "}, \"resource\": {\"type\": \"Resource\", \"id\": ";
  AppendJsonString(out, r.resource);
  out += "}, \"context\": {\"action\": ";
  AppendJsonString(out, r.action);
  out += ", \"resource\": ";
  AppendJsonString(out, r.resource);
  out += ", \"aws:username\": ";
  AppendJsonString(out, r.username);
  for (const auto& [test, value] : r.context) {
    out += ", ";
    AppendJsonString(out, KeyOf(test).key);
    out += ": ";
    switch (test) {
      case Test::kNumericLessThan:
      case Test::kBool:
        out += value;
        break;
      case Test::kIpAddress:
        out += "{\"__extn\": {\"fn\": \"ip\", \"arg\": \"" + value + "\"}}";
        break;
      case Test::kDateGreaterThan:
        out += "{\"__extn\": {\"fn\": \"datetime\", \"arg\": \"" + value + "\"}}";
        break;
      case Test::kStringEquals:
      case Test::kStringLike:
        AppendJsonString(out, value);
        break;
    }
  }
  out += "}, \"entities\": [{\"uid\": {\"type\": \"User\", \"id\": ";
  AppendJsonString(out, r.principal);
  out += "}, \"attrs\": {}, \"parents\": [";
  for (size_t i = 0; i < r.groups.size(); ++i) {
    if (i > 0) out += ", ";
    out += "{\"type\": \"Group\", \"id\": ";
    AppendJsonString(out, r.groups[i]);
    out += "}";
  }
  return out + "]}]}";
}

// ---------------------------------------------------------------------------------------
// Loading into fnjail and timing decisions.

// Parses and compiles the workload's policies, and parses its requests, through the
// public front ends (as `fnjail policy eval` would). Aborts with the diagnostics on a
// failure: a benchmark on a half-loaded workload would measure the wrong thing.
inline policy::PolicySet CompileWorkload(const Workload& w) {
  std::vector<policy::Document> docs;
  for (const auto& p : w.policies) {
    auto doc = policy::ParseToml(ToFnjailToml(p), p.id + ".toml");
    if (!doc) {
      std::fprintf(stderr, "%s", doc.error().ToString().c_str());
      std::abort();
    }
    docs.push_back(std::move(*doc));
  }
  auto set = policy::PolicySet::Compile(std::move(docs));
  if (!set) {
    std::fprintf(stderr, "%s", set.error().ToString().c_str());
    std::abort();
  }
  return std::move(*set);
}

inline std::vector<policy::Request> WorkloadRequests(const Workload& w) {
  std::vector<policy::Request> out;
  for (const auto& r : w.requests) {
    auto request = policy::ParseRequestJson(ToRequestJson(r), "workload");
    if (!request) {
      std::fprintf(stderr, "%s", request.error().ToString().c_str());
      std::abort();
    }
    out.push_back(std::move(*request));
  }
  return out;
}

// Times each decision on its own (manual timing), cycling through `requests`, and reports
// the latency percentiles p50/p99 (microseconds), decisions per second and the share of
// allowed decisions as counters. The clock read (~50 ns here) is inside each sample.
// REQUIRES: !requests.empty().
inline void TimeDecisions(benchmark::State& state, const policy::PolicySet& set,
                          const std::vector<policy::Request>& requests) {
  using Clock = std::chrono::steady_clock;
  std::vector<double> samples_us;
  samples_us.reserve(1 << 20);
  size_t next = 0;
  size_t allowed = 0;
  for (auto _ : state) {
    // A fresh copy, outside the timed region: a request the gateway has just parsed is in
    // cache, while cycling through thousands of stored requests would time cache misses
    // on request data instead of the decision.
    const policy::Request r = requests[next];
    next = next + 1 == requests.size() ? 0 : next + 1;
    const auto start = Clock::now();
    const policy::Decision d = set.Decide(r);
    const auto stop = Clock::now();
    benchmark::DoNotOptimize(d.allowed);
    allowed += d.allowed ? 1 : 0;
    const double us = std::chrono::duration<double, std::micro>(stop - start).count();
    state.SetIterationTime(us / 1e6);
    if (samples_us.size() < samples_us.capacity()) samples_us.push_back(us);
  }
  if (samples_us.empty()) return;
  auto percentile = [&](double p) {
    const size_t k = std::min(samples_us.size() - 1, static_cast<size_t>(p * samples_us.size()));
    std::nth_element(samples_us.begin(), samples_us.begin() + static_cast<std::ptrdiff_t>(k),
                     samples_us.end());
    return samples_us[k];
  };
  state.counters["p50_us"] = percentile(0.50);
  state.counters["p99_us"] = percentile(0.99);
  state.counters["allowed"] =
      static_cast<double>(allowed) / static_cast<double>(state.iterations());
  state.counters["statements"] = static_cast<double>(set.statement_count());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

}  // namespace fnjail::bench
