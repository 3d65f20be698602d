// Fuzzer of the AWS IAM JSON front end (ParseIamJson), and of what follows an import:
// compiling the document, deciding requests with it, and converting it to TOML.
//
// Any input must come back as a document or as diagnostics, never a crash. A parsed
// document that Lint finds no error in must compile on its own; its TOML rendering (what
// `fnjail policy import-iam` prints) must parse again and decide the probe requests exactly
// as the original does.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policy/ast.h"
#include "policy/policy.h"

namespace {

namespace policy = fnjail::policy;

[[noreturn]] void Violation(const char* what) {
  std::fprintf(stderr, "iam_json_fuzzer: %s\n", what);
  std::abort();
}

policy::Request Probe(std::string action, std::string resource) {
  policy::Request r;
  r.principal = "arn:aws:iam::123456789012:user/alice";
  r.groups = {"ops"};
  r.action = std::move(action);
  r.resource = std::move(resource);
  r.context["aws:username"] = {{"alice"}, false};
  r.context["aws:SourceIp"] = {{"10.1.2.3"}, false};
  r.context["aws:CurrentTime"] = {{"2026-03-01T12:00:00Z"}, false};
  r.context["aws:SecureTransport"] = {{"true"}, false};
  r.context["aws:PrincipalTag/team"] = {{"payments"}, false};
  r.context["aws:TagKeys"] = {{"team", "env"}, true};
  r.context["s3:max-keys"] = {{"10"}, false};
  return r;
}

// Fixed probes plus one built from the document itself (its first action and resource
// texts, wildcards left in: a pattern always matches its own text), so that statements
// of the fuzzed document are actually reached.
std::vector<policy::Request> Probes(const policy::Document& doc) {
  std::vector<policy::Request> probes = {
      Probe("s3:GetObject", "arn:aws:s3:::bucket/home/alice/notes.txt"),
      Probe("ec2:DescribeInstances", "*"),
      Probe("iam:CreateUser", "arn:aws:iam::123456789012:user/bob"),
  };
  for (const auto& s : doc.statements) {
    if (s.action && !s.action->values.empty() && s.resource && !s.resource->values.empty()) {
      probes.push_back(Probe(s.action->values.front().text, s.resource->values.front().text));
      break;
    }
  }
  return probes;
}

bool SameDecision(const policy::Decision& a, const policy::Decision& b) {
  if (a.allowed != b.allowed || a.reason != b.reason ||
      a.statements.size() != b.statements.size()) {
    return false;
  }
  for (size_t i = 0; i < a.statements.size(); ++i) {
    if (a.statements[i].policy != b.statements[i].policy ||
        a.statements[i].sid != b.statements[i].sid) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto doc = policy::ParseIamJson(text, "fuzz.json");
  if (!doc) {
    if (!doc.error().HasErrors()) Violation("a refused document carries no error");
    return 0;
  }
  const policy::Diagnostics findings = policy::Lint(*doc);

  auto imported = policy::ParseToml(policy::ToToml(*doc), "fuzz.json");
  if (!imported) {
    std::fprintf(stderr, "%s", imported.error().ToString().c_str());
    Violation("the TOML form of an imported document does not parse");
  }

  const std::vector<policy::Request> probes = Probes(*doc);
  std::vector<policy::Document> original_docs;
  original_docs.push_back(*doc);
  auto original = policy::PolicySet::Compile(std::move(original_docs));
  if (!original) {
    // Compile refuses condition values its operator cannot read; `fnjail policy check`
    // must have said so already, through Lint.
    if (!findings.HasErrors()) {
      std::fprintf(stderr, "%s", original.error().ToString().c_str());
      Violation("a document that parses and lints clean does not compile");
    }
    return 0;
  }
  std::vector<policy::Document> converted_docs;
  converted_docs.push_back(std::move(*imported));
  auto converted = policy::PolicySet::Compile(std::move(converted_docs));
  if (!converted) Violation("the TOML form of a parsed document does not compile");

  for (const auto& request : probes) {
    const policy::Decision a = original->Decide(request);
    const policy::Decision b = converted->Decide(request);
    if (!SameDecision(a, b)) Violation("the TOML form decides a request differently");
  }
  return 0;
}
