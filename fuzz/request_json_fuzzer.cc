// Fuzzer of the request JSON front end (ParseRequestJson), the input of
// `fnjail policy eval`, followed by a decision on whatever it accepted.
//
// Any input must come back as a request or as diagnostics, never a crash. An accepted
// request must be decidable: the empty set denies it, and a small fixed set decides it
// the same way twice.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <utility>
#include <vector>

#include "policy/ast.h"
#include "policy/policy.h"

namespace {

namespace policy = fnjail::policy;

[[noreturn]] void Violation(const char* what) {
  std::fprintf(stderr, "request_json_fuzzer: %s\n", what);
  std::abort();
}

policy::Literal Lit(std::string text) { return policy::Literal{std::move(text), {}}; }

policy::Condition Cond(const char* op, const char* key, std::vector<const char*> values) {
  policy::Condition c;
  c.spec = *policy::ParseOperator(op);
  c.operator_text = Lit(op);
  c.key = Lit(key);
  for (const char* v : values) c.values.push_back(Lit(v));
  return c;
}

policy::Statement Stmt(policy::Effect effect, const char* action, const char* resource,
                       std::vector<policy::Condition> conditions) {
  policy::Statement s;
  s.effect = effect;
  s.action = policy::Element{false, {Lit(action)}, {}};
  s.resource = policy::Element{false, {Lit(resource)}, {}};
  s.conditions = std::move(conditions);
  return s;
}

// A set that reads the context in every way a request can feed it: variables, strings,
// numbers, dates, addresses, booleans and multivalued keys.
policy::PolicySet ProbeSet() {
  policy::Document doc;
  doc.id = "probe";
  doc.statements = {
      Stmt(policy::Effect::kAllow, "function:*", "fn:${aws:username}-*", {}),
      Stmt(policy::Effect::kAllow, "s3:Get*", "arn:aws:s3:::bucket/*",
           {Cond("IpAddress", "aws:SourceIp", {"10.0.0.0/8", "2001:db8::/32"}),
            Cond("NumericLessThan", "s3:max-keys", {"100"})}),
      Stmt(policy::Effect::kDeny, "*", "*",
           {Cond("BoolIfExists", "aws:SecureTransport", {"false"})}),
      Stmt(policy::Effect::kDeny, "*", "*",
           {Cond("DateGreaterThan", "aws:CurrentTime", {"2030-01-01T00:00:00Z"})}),
      Stmt(policy::Effect::kAllow, "*", "*",
           {Cond("ForAllValues:StringLike", "aws:TagKeys", {"team", "env*"}),
            Cond("ForAnyValue:StringEquals", "aws:PrincipalTag/team", {"ops"})}),
  };
  for (size_t i = 0; i < doc.statements.size(); ++i) doc.statements[i].index = i;
  std::vector<policy::Document> docs;
  docs.push_back(std::move(doc));
  auto set = policy::PolicySet::Compile(std::move(docs));
  if (!set) Violation("the probe set does not compile");
  return std::move(*set);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const policy::PolicySet kProbeSet = ProbeSet();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto request = policy::ParseRequestJson(text, "fuzz.json");
  if (!request) {
    if (!request.error().HasErrors()) Violation("a refused request carries no error");
    return 0;
  }
  if (policy::PolicySet().Decide(*request).allowed) Violation("the empty set allowed a request");
  const policy::Decision first = kProbeSet.Decide(*request);
  const policy::Decision second = kProbeSet.Decide(*request);
  if (first.allowed != second.allowed || first.reason != second.reason) {
    Violation("the same request was decided differently twice");
  }
  return 0;
}
