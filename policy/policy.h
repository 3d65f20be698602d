// fnjail::policy: IAM-style policies: load, check, compile and decide.
//
// The flow is Cedar's: a front end turns bytes into an AST (ast.h) with spans, the
// validator lints it, and Compile() builds an indexed, immutable PolicySet whose Decide()
// is pure (no I/O; the clock comes in the request context). Evaluation follows AWS IAM's
// documented logic and fails closed: explicit deny beats allow beats implicit deny, and an
// error in an applicable statement can only ever turn a decision into deny.
//
// Thread-safety: every function here is safe to call concurrently; a PolicySet is
// immutable once built and may be shared across threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/ast.h"
#include "policy/diagnostics.h"

namespace fnjail::policy {

// Hard input limits. Larger inputs are refused with a diagnostic, never parsed.
inline constexpr size_t kMaxPolicyFileBytes = 1 << 20;
inline constexpr size_t kMaxJsonDepth = 64;

// ---------------------------------------------------------------------------------------
// Front ends. `file` is the name used in spans and as the default document id.
// Every error found is reported (not just the first), each with file:line:col.

// Parses the native TOML form (docs/policy-language.md). Input must be ASCII (non-ASCII
// text only through `\u` escapes) and at most kMaxPolicyFileBytes.
Result<Document> ParseToml(std::string_view text, std::string_view file);

// Parses an AWS IAM JSON policy document, bare or wrapped as AWS returns it
// (`{"PolicyVersion": {"Document": {...}}}`). Duplicate keys and nesting deeper than
// kMaxJsonDepth are errors. Unknown elements are errors (fail closed).
Result<Document> ParseIamJson(std::string_view text, std::string_view file);

// Reads `path` and picks the front end by extension: `.toml` or `.json`.
Result<Document> LoadFile(const std::string& path);

// Expands files and directories (recursively, `.toml` and `.json`, sorted) into paths.
// A path that does not exist is an error.
Result<std::vector<std::string>> ExpandPaths(const std::vector<std::string>& paths);

// ---------------------------------------------------------------------------------------
// Validator and writer.

// Lint findings (warnings only; semantic errors are reported by the front ends): allow of
// `*` on `*`, NotAction/NotResource in an allow, statements that never match or are
// shadowed, duplicate sids, conditions that can never hold. One exception is reported as
// an error: a condition value that does not parse for its operator (a number, date,
// `true`/`false`, base64 or IP address; such a condition cannot be evaluated), worded as
// PolicySet::Compile words it. Never reports something it is not sure of. May be empty.
Diagnostics Lint(const Document& doc);

// Renders a document in the native TOML form with exactly the same meaning; parsing the
// output with ParseToml yields an equivalent document. The output is ASCII (other
// characters as `\u` escapes) and starts with `# imported from FILE` when `doc.file` is set.
// REQUIRES: strings are valid UTF-8 (a malformed byte is written as U+FFFD). What the TOML
// form cannot hold (a statement without action or resource, an empty list) is written as
// it is, and ParseToml refuses it; an empty id is omitted (the file name then names it).
std::string ToToml(const Document& doc);

// ---------------------------------------------------------------------------------------
// Requests.

// A context value: one or more scalars. JSON numbers and bools are kept as their text, as
// IAM passes everything as strings; `multi` is true when the value was given as an array
// (a multivalued key, for ForAllValues / ForAnyValue).
struct ContextValue {
  std::vector<std::string> values;
  bool multi = false;
};

struct Request {
  std::string principal;            // e.g. `alice` or an ARN
  std::vector<std::string> groups;  // the principal's groups, for attachment
  std::string action;               // e.g. `function:Invoke`
  std::string resource;             // e.g. `fn:hello`
  // Keys as given; lookups are case-insensitive.
  std::map<std::string, ContextValue> context;
};

// Parses the request JSON of `fnjail policy eval`:
// `{"principal": "...", "action": "...", "resource": "...", "groups": [...],
//   "context": {"key": value}}` with string, number, bool or array values.
// Errors name the JSON position as `source:line:col`.
Result<Request> ParseRequestJson(std::string_view text, std::string_view source);

// ---------------------------------------------------------------------------------------
// Decisions.

enum class Reason { kExplicitAllow, kExplicitDeny, kImplicitDeny };
std::string_view ReasonName(Reason r);  // "explicit-allow" | "explicit-deny" | "implicit-deny"

struct StatementRef {
  std::string policy;  // document id
  std::string sid;     // StatementName()
};

// An error while evaluating an applicable statement (a context value of the wrong type,
// an unresolvable variable in a condition). Fail closed: an erroring deny counts as
// matched; an erroring allow does not count and forces the decision to deny.
struct EvalError {
  StatementRef statement;
  std::string message;
};

// Why one statement did or did not apply, for `--explain`.
struct StatementTrace {
  StatementRef statement;
  PolicyKind kind = PolicyKind::kIdentity;
  Effect effect = Effect::kDeny;
  bool matched = false;
  std::string detail;  // e.g. "action `s3:GetObject` not in Action", "matched"
};

struct Decision {
  bool allowed = false;
  Reason reason = Reason::kImplicitDeny;
  std::vector<StatementRef> statements;  // the deciding statements
  std::vector<EvalError> errors;
  std::vector<StatementTrace> trace;  // filled only when DecideOptions::explain
};

struct DecideOptions {
  bool explain = false;
};

// A compiled, indexed, immutable set of documents. Cheap to copy (shared state).
class PolicySet {
 public:
  // An empty set: every request is denied (implicit-deny).
  PolicySet();

  // Compiles documents into an index. Fails, reporting every problem with its span, on
  // duplicate document ids and on values the evaluator cannot use: condition values that
  // do not parse for their operator (numbers, dates, booleans, base64, IP/CIDR, ARNs with
  // fewer than six components), malformed `${...}` variables, variables where none are
  // allowed. Lint() reports the same value errors with the same wording.
  static Result<PolicySet> Compile(std::vector<Document> docs);

  // Decides one request. Pure and noexcept: an internal failure is a deny with an error.
  Decision Decide(const Request& request, const DecideOptions& options = {}) const noexcept;

  size_t document_count() const;
  size_t statement_count() const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

// ---------------------------------------------------------------------------------------
// Policy tests as data (`fnjail policy test`).

struct TestCase {
  std::string name;
  SourceSpan span;
  Request request;
  bool expect_allow = false;
  std::optional<Reason> expect_reason;  // checked when given
};

struct TestSuite {
  std::string file;
  std::vector<std::string> policies;    // paths, resolved against the suite's folder
  std::vector<std::string> boundaries;  // loaded as kBoundary documents
  std::vector<TestCase> cases;
};

// Parses a test suite (TOML; docs/policy-language.md, "Testing policies").
Result<TestSuite> ParseTestSuite(std::string_view text, std::string_view file);

}  // namespace fnjail::policy
