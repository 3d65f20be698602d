// `fnjail policy`: check, evaluate, test and import IAM-style policies.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "policy/policy.h"

namespace fnjail::cli {
namespace {

namespace policy = ::fnjail::policy;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitBadInput = 2;

void PrintDiagnostics(const policy::Diagnostics& diags) {
  for (const auto& d : diags) std::cerr << d.ToString() << '\n';
}

// Loads every document under `paths`; `force_kind` overrides the kind (for --boundary).
// Prints every problem and returns false when any path failed.
bool LoadDocuments(const std::vector<std::string>& paths, const policy::PolicyKind* force_kind,
                   std::vector<policy::Document>* out) {
  auto files = policy::ExpandPaths(paths);
  if (!files) {
    PrintDiagnostics(files.error());
    return false;
  }
  bool ok = true;
  for (const auto& file : *files) {
    auto doc = policy::LoadFile(file);
    if (!doc) {
      PrintDiagnostics(doc.error());
      ok = false;
      continue;
    }
    if (force_kind != nullptr) doc->kind = *force_kind;
    out->push_back(std::move(*doc));
  }
  return ok;
}

nlohmann::json StatementRefJson(const policy::StatementRef& ref) {
  return {{"policy", ref.policy}, {"sid", ref.sid}};
}

nlohmann::json DecisionJson(const policy::Decision& d, bool explain) {
  nlohmann::json out;
  out["decision"] = d.allowed ? "allow" : "deny";
  out["reason"] = std::string(policy::ReasonName(d.reason));
  out["statements"] = nlohmann::json::array();
  for (const auto& ref : d.statements) out["statements"].push_back(StatementRefJson(ref));
  if (!d.errors.empty()) {
    auto& errors = out["errors"] = nlohmann::json::array();
    for (const auto& e : d.errors) {
      auto entry = StatementRefJson(e.statement);
      entry["message"] = e.message;
      errors.push_back(std::move(entry));
    }
  }
  if (explain) {
    auto& trace = out["explain"] = nlohmann::json::array();
    for (const auto& t : d.trace) {
      auto entry = StatementRefJson(t.statement);
      entry["kind"] = std::string(policy::PolicyKindName(t.kind));
      entry["effect"] = std::string(policy::EffectName(t.effect));
      entry["matched"] = t.matched;
      entry["detail"] = t.detail;
      trace.push_back(std::move(entry));
    }
  }
  return out;
}

// ---- policy check ---------------------------------------------------------------------

struct CheckOptions {
  std::vector<std::string> paths;
};

int RunCheck(const CheckOptions& opts) {
  auto files = policy::ExpandPaths(opts.paths);
  if (!files) {
    PrintDiagnostics(files.error());
    return kExitFailed;
  }
  size_t errors = 0;
  size_t warnings = 0;
  // Lint and Compile judge some values with the same parsers and word the finding the
  // same way; each distinct line is reported once per file.
  std::set<std::string> seen;
  auto report = [&](const policy::Diagnostics& diags) {
    for (const auto& d : diags) {
      std::string line = d.ToString();
      if (!seen.insert(line).second) continue;
      std::cerr << line << '\n';
      (d.severity == policy::Severity::kError ? errors : warnings) += 1;
    }
  };
  for (const auto& file : *files) {
    seen.clear();
    auto doc = policy::LoadFile(file);
    if (!doc) {
      report(doc.error());
      continue;
    }
    report(policy::Lint(*doc));
    // Compiling catches what only the evaluator can judge (e.g. values it cannot parse).
    std::vector<policy::Document> one;
    one.push_back(std::move(*doc));
    auto compiled = policy::PolicySet::Compile(std::move(one));
    if (!compiled) report(compiled.error());
  }
  std::cerr << files->size() << (files->size() == 1 ? " file" : " files") << " checked, "
            << errors << (errors == 1 ? " error" : " errors") << ", " << warnings
            << (warnings == 1 ? " warning" : " warnings") << '\n';
  return errors == 0 ? kExitOk : kExitFailed;
}

// ---- policy eval ----------------------------------------------------------------------

struct EvalOptions {
  std::vector<std::string> policies;
  std::vector<std::string> boundaries;
  std::string request_file;
  std::string requests_file;
  bool explain = false;
};

bool ReadAll(const std::string& path, std::string* out) {
  if (path == "-") {
    out->assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    return true;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

int RunEval(const EvalOptions& opts) {
  std::vector<policy::Document> docs;
  bool ok = LoadDocuments(opts.policies, nullptr, &docs);
  const policy::PolicyKind boundary = policy::PolicyKind::kBoundary;
  if (!opts.boundaries.empty()) ok = LoadDocuments(opts.boundaries, &boundary, &docs) && ok;
  if (!ok) return kExitBadInput;
  auto set = policy::PolicySet::Compile(std::move(docs));
  if (!set) {
    PrintDiagnostics(set.error());
    return kExitBadInput;
  }
  policy::DecideOptions decide_options;
  decide_options.explain = opts.explain;

  const bool single = !opts.request_file.empty();
  const std::string& source = single ? opts.request_file : opts.requests_file;
  std::string text;
  if (!ReadAll(source, &text)) {
    std::cerr << source << ": error: cannot read file\n";
    return kExitBadInput;
  }
  auto decide_one = [&](std::string_view json, const std::string& name) {
    auto request = policy::ParseRequestJson(json, name);
    if (!request) {
      PrintDiagnostics(request.error());
      // Keep output lines aligned with input lines.
      std::cout << nlohmann::json{{"error", request.error().entries().front().message}}.dump()
                << '\n';
      return false;
    }
    std::cout << DecisionJson(set->Decide(*request, decide_options), opts.explain).dump()
              << '\n';
    return true;
  };
  if (single) return decide_one(text, source) ? kExitOk : kExitBadInput;

  bool all_ok = true;
  std::istringstream lines(text);
  std::string line;
  for (size_t number = 1; std::getline(lines, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    all_ok = decide_one(line, source + ":" + std::to_string(number)) && all_ok;
  }
  return all_ok ? kExitOk : kExitBadInput;
}

// ---- policy test ----------------------------------------------------------------------

struct TestOptions {
  std::vector<std::string> paths;
};

std::string Describe(bool allowed, const std::optional<policy::Reason>& reason) {
  std::string out = allowed ? "allow" : "deny";
  if (reason) out += " (" + std::string(policy::ReasonName(*reason)) + ")";
  return out;
}

// Runs one suite; adds to the counters. Returns false on bad input.
bool RunSuite(const std::string& file, size_t* passed, size_t* failed) {
  std::string text;
  if (!ReadAll(file, &text)) {
    std::cerr << file << ": error: cannot read file\n";
    return false;
  }
  auto suite = policy::ParseTestSuite(text, file);
  if (!suite) {
    PrintDiagnostics(suite.error());
    return false;
  }
  std::vector<policy::Document> docs;
  bool ok = LoadDocuments(suite->policies, nullptr, &docs);
  const policy::PolicyKind boundary = policy::PolicyKind::kBoundary;
  if (!suite->boundaries.empty()) ok = LoadDocuments(suite->boundaries, &boundary, &docs) && ok;
  if (!ok) return false;
  auto set = policy::PolicySet::Compile(std::move(docs));
  if (!set) {
    PrintDiagnostics(set.error());
    return false;
  }
  for (const auto& test : suite->cases) {
    policy::Decision d = set->Decide(test.request);
    bool pass = d.allowed == test.expect_allow &&
                (!test.expect_reason || *test.expect_reason == d.reason);
    if (pass) {
      ++*passed;
      continue;
    }
    ++*failed;
    std::cout << test.span.file << ':' << test.span.line << ':' << test.span.column
              << ": FAIL `" << test.name << "`: expected "
              << Describe(test.expect_allow, test.expect_reason) << ", got "
              << Describe(d.allowed, d.reason) << '\n';
    for (const auto& ref : d.statements) {
      std::cout << "  decided by " << ref.policy << '/' << ref.sid << '\n';
    }
    for (const auto& e : d.errors) {
      std::cout << "  error in " << e.statement.policy << '/' << e.statement.sid << ": "
                << e.message << '\n';
    }
  }
  return true;
}

int RunTest(const TestOptions& opts) {
  std::vector<std::string> suites;
  for (const auto& path : opts.paths) {
    std::error_code ec;
    if (!std::filesystem::is_directory(path, ec)) {
      suites.push_back(path);
      continue;
    }
    std::vector<std::string> found;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(path, ec)) {
      const std::string name = entry.path().filename().string();
      if (entry.is_regular_file() && name.ends_with(".test.toml")) {
        found.push_back(entry.path().string());
      }
    }
    if (ec || found.empty()) {
      std::cerr << path << ": error: no `*.test.toml` suites found\n";
      return kExitBadInput;
    }
    std::sort(found.begin(), found.end());
    suites.insert(suites.end(), found.begin(), found.end());
  }
  size_t passed = 0;
  size_t failed = 0;
  bool ok = true;
  for (const auto& suite : suites) ok = RunSuite(suite, &passed, &failed) && ok;
  std::cout << passed << " passed, " << failed << " failed\n";
  if (!ok) return kExitBadInput;
  return failed == 0 ? kExitOk : kExitFailed;
}

// ---- policy import-iam ----------------------------------------------------------------

struct ImportOptions {
  std::string file;
};

int RunImport(const ImportOptions& opts) {
  auto doc = policy::LoadFile(opts.file);
  if (!doc) {
    PrintDiagnostics(doc.error());
    return kExitFailed;
  }
  std::cout << policy::ToToml(*doc);
  return kExitOk;
}

}  // namespace

void RegisterPolicyCommands(CLI::App& app, Runner* run) {
  auto* group = app.add_subcommand(
      "policy", "Check, evaluate, test and import IAM-style policies");
  group->require_subcommand(1);
  group->footer(
      "Policies are TOML (docs/policy-language.md) or AWS IAM JSON documents.\n"
      "Evaluation follows AWS IAM's documented logic (docs/policy-evaluation.md).");

  // check
  auto check = std::make_shared<CheckOptions>();
  auto* check_cmd = group->add_subcommand(
      "check",
      "Validate and lint policy files.\n\n"
      "Loads every PATH (a `.toml` or IAM `.json` file, or a folder searched recursively\n"
      "for both), reports every problem on stderr as `path:line:col: error: message` and\n"
      "every lint finding as `path:line:col: warning: message`, then a summary line.\n"
      "Lint findings: allow of `*` on `*`, NotAction/NotResource in an allow, statements\n"
      "that can never match or are shadowed, duplicate sids, conditions that never hold.");
  check_cmd->add_option("PATH", check->paths, "Policy files or folders")->required();
  check_cmd->footer(
      "Exit status: 0 when every file is valid (warnings allowed), 1 otherwise.\n"
      "Example: fnjail policy check examples/policies");
  check_cmd->callback([run, check] { *run = [check] { return RunCheck(*check); }; });

  // eval
  auto eval = std::make_shared<EvalOptions>();
  auto* eval_cmd = group->add_subcommand(
      "eval",
      "Decide requests against a policy set.\n\n"
      "A request is JSON: {\"principal\": \"alice\", \"action\": \"function:Invoke\",\n"
      "\"resource\": \"fn:hello\", \"groups\": [\"ops\"], \"context\": {\"aws:SourceIp\":\n"
      "\"10.0.0.1\"}}; context values are strings, numbers, booleans or arrays of these.\n"
      "Prints one JSON object per request per line:\n"
      "{\"decision\":\"allow\"|\"deny\",\"reason\":\"explicit-allow\"|\"explicit-deny\"|"
      "\"implicit-deny\",\n \"statements\":[{\"policy\":\"<id>\",\"sid\":\"<sid or index>\"}]}\n"
      "listing the deciding statements, plus \"errors\" when a statement could not be\n"
      "evaluated (fail closed: such errors only ever lead to deny).");
  eval_cmd->add_option("--policies", eval->policies,
                       "Policy file or folder (identity and resource policies); repeatable")
      ->required();
  eval_cmd->add_option("--boundary", eval->boundaries,
                       "Permission boundary file or folder; repeatable");
  auto* req = eval_cmd->add_option("--request", eval->request_file,
                                   "File with one JSON request (`-` for stdin)");
  auto* reqs = eval_cmd->add_option("--requests", eval->requests_file,
                                    "JSON Lines file, one request per line (`-` for stdin)");
  req->excludes(reqs);
  reqs->excludes(req);
  eval_cmd->add_flag("--explain", eval->explain,
                     "Add \"explain\": for every statement, whether it matched and, if not, "
                     "which element or condition key did not");
  eval_cmd->footer(
      "Exit status: 0 when every request was evaluated, 2 on bad input (a policy or\n"
      "request that does not parse; bad request lines print {\"error\": ...}).\n"
      "Example: fnjail policy eval --policies examples/policies \\\n"
      "           --request examples/requests/alice-invokes-hello.json --explain");
  eval_cmd->callback([run, eval] {
    if (eval->request_file.empty() && eval->requests_file.empty()) {
      throw CLI::RequiredError("--request or --requests");
    }
    *run = [eval] { return RunEval(*eval); };
  });

  // test
  auto test = std::make_shared<TestOptions>();
  auto* test_cmd = group->add_subcommand(
      "test",
      "Run policy test suites.\n\n"
      "PATH is a suite file or a folder searched for `*.test.toml` suites. A suite lists\n"
      "policies and cases with an expected decision and optionally a reason\n"
      "(docs/policy-language.md, \"Testing policies\"). Prints each failure with expected\n"
      "and actual decision, then a last line `N passed, N failed`.");
  test_cmd->add_option("PATH", test->paths, "Suite files or folders")->required();
  test_cmd->footer(
      "Exit status: 0 when all cases pass, 1 when any fails, 2 on bad input.\n"
      "Example: fnjail policy test examples/policy-tests");
  test_cmd->callback([run, test] { *run = [test] { return RunTest(*test); }; });

  // import-iam
  auto import = std::make_shared<ImportOptions>();
  auto* import_cmd = group->add_subcommand(
      "import-iam",
      "Convert an AWS IAM JSON policy to fnjail's TOML form.\n\n"
      "Accepts a bare policy document or one wrapped as AWS returns it\n"
      "({\"PolicyVersion\": {\"Document\": ...}}). The TOML printed on stdout has exactly\n"
      "the same meaning; errors go to stderr as `path:line:col: error: message`.");
  import_cmd->add_option("FILE", import->file, "IAM JSON policy file")
      ->required()
      ->check(CLI::ExistingFile);
  import_cmd->footer(
      "Exit status: 0 on success, 1 when the file is not a valid policy.\n"
      "Example: fnjail policy import-iam policy.json > policy.toml");
  import_cmd->callback([run, import] { *run = [import] { return RunImport(*import); }; });
}

}  // namespace fnjail::cli
