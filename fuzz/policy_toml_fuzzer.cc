// Fuzzer of the native TOML front end (ParseToml), the linter and the TOML writer.
//
// Any input must come back as a document or as diagnostics, never a crash. When it parses
// and Lint finds no error, it must compile; and ToToml's output must parse again into a
// document with the same meaning (ToToml's contract). A failure there aborts.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policy/ast.h"
#include "policy/policy.h"

namespace {

namespace policy = fnjail::policy;

bool SameLiterals(const std::vector<policy::Literal>& a, const std::vector<policy::Literal>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].text != b[i].text) return false;
  }
  return true;
}

bool SameElement(const std::optional<policy::Element>& a, const std::optional<policy::Element>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || (a->negated == b->negated && SameLiterals(a->values, b->values));
}

bool SameCondition(const policy::Condition& a, const policy::Condition& b) {
  return a.spec.op == b.spec.op && a.spec.qualifier == b.spec.qualifier &&
         a.spec.if_exists == b.spec.if_exists && a.key.text == b.key.text &&
         SameLiterals(a.values, b.values);
}

// Meaning, not layout: spans, files and descriptions may differ; statement names may not,
// as decisions report them.
bool SameMeaning(const policy::Document& a, const policy::Document& b) {
  if (a.id != b.id || a.kind != b.kind || !SameLiterals(a.attach, b.attach) ||
      a.statements.size() != b.statements.size()) {
    return false;
  }
  for (size_t i = 0; i < a.statements.size(); ++i) {
    const policy::Statement& x = a.statements[i];
    const policy::Statement& y = b.statements[i];
    if (policy::StatementName(x) != policy::StatementName(y) || x.effect != y.effect ||
        !SameElement(x.principal, y.principal) || !SameElement(x.action, y.action) ||
        !SameElement(x.resource, y.resource) || x.conditions.size() != y.conditions.size()) {
      return false;
    }
    for (size_t c = 0; c < x.conditions.size(); ++c) {
      if (!SameCondition(x.conditions[c], y.conditions[c])) return false;
    }
  }
  return true;
}

[[noreturn]] void Violation(const char* what) {
  std::fprintf(stderr, "policy_toml_fuzzer: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto doc = policy::ParseToml(text, "fuzz.toml");
  if (!doc) {
    if (!doc.error().HasErrors()) Violation("a refused document carries no error");
    return 0;
  }
  // Lint may report errors too (a condition value its operator cannot read). What Lint
  // passes must load: `fnjail policy check` accepting a file that the gateway then refuses
  // would be a broken promise.
  const policy::Diagnostics findings = policy::Lint(*doc);
  std::vector<policy::Document> docs;
  docs.push_back(*doc);
  auto set = policy::PolicySet::Compile(std::move(docs));
  if (!set && !findings.HasErrors()) {
    std::fprintf(stderr, "%s", set.error().ToString().c_str());
    Violation("a document that parses and lints clean does not compile");
  }

  const std::string rendered = policy::ToToml(*doc);
  auto again = policy::ParseToml(rendered, "fuzz.toml");
  if (!again) {
    std::fprintf(stderr, "%s--- rendered:\n%s\n", again.error().ToString().c_str(),
                 rendered.c_str());
    Violation("ToToml output does not parse again");
  }
  if (!SameMeaning(*doc, *again)) {
    std::fprintf(stderr, "--- rendered:\n%s\n", rendered.c_str());
    Violation("ToToml output parses into a document of another meaning");
  }
  return 0;
}
