// The fnjail side of the Cedar comparison (bench/cedar_compare.sh): writes the generated
// workload in both languages, and times fnjail's decisions over the written files.
//
// Modes:
//   policy_workload_bench --emit=DIR [--statements=100] [--requests=1000] [--seed=1]
//       writes DIR/fnjail/policies/*.toml, DIR/fnjail/requests.jsonl,
//       DIR/cedar/policies.cedar and DIR/cedar/requests.jsonl, then exits;
//   policy_workload_bench --workload=DIR [benchmark flags]
//       loads DIR/fnjail through the public front ends (as `fnjail policy eval` does),
//       writes each request's decision to DIR/fnjail/decisions.txt (`allow` or `deny`, one
//       per line, in request order) and runs BM_WorkloadDecide over the requests;
//   policy_workload_bench [benchmark flags]
//       the same benchmark over the workload generated in memory (the CI smoke run:
//       `--benchmark_min_time=0.01`).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bench/policy_workload.h"
#include "policy/policy.h"

namespace {

namespace fs = std::filesystem;
namespace policy = fnjail::policy;
namespace bench = fnjail::bench;

struct Flags {
  std::string emit;
  std::string workload;
  bench::WorkloadOptions options{
      .statements = 100, .requests = 1000, .seed = 1, .variables = false};
};

bool ParseSize(std::string_view text, size_t* out) {
  if (text.empty() || text.size() > 9) return false;
  size_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<size_t>(c - '0');
  }
  *out = v;
  return true;
}

std::optional<Flags> ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const size_t eq = arg.find('=');
    const std::string_view name = arg.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? "" : arg.substr(eq + 1);
    size_t seed = 0;
    if (name == "--emit" && !value.empty()) {
      f.emit = value;
    } else if (name == "--workload" && !value.empty()) {
      f.workload = value;
    } else if (name == "--statements" && ParseSize(value, &f.options.statements) &&
               f.options.statements > 0) {
    } else if (name == "--requests" && ParseSize(value, &f.options.requests) &&
               f.options.requests > 0) {
    } else if (name == "--seed" && ParseSize(value, &seed)) {
      f.options.seed = seed;
    } else {
      std::fprintf(stderr, "policy_workload_bench: bad argument `%s`\n", argv[i]);
      return std::nullopt;
    }
  }
  return f;
}

bool WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) std::fprintf(stderr, "policy_workload_bench: cannot write %s\n", path.c_str());
  return static_cast<bool>(out);
}

int Emit(const Flags& flags) {
  const bench::Workload w = bench::GenerateWorkload(flags.options);
  const fs::path root(flags.emit);
  std::error_code ec;
  fs::create_directories(root / "fnjail" / "policies", ec);
  fs::create_directories(root / "cedar", ec);
  if (ec) {
    std::fprintf(stderr, "policy_workload_bench: cannot create %s\n", root.c_str());
    return 1;
  }
  for (const auto& p : w.policies) {
    if (!WriteFile(root / "fnjail" / "policies" / (p.id + ".toml"), bench::ToFnjailToml(p))) {
      return 1;
    }
  }
  std::string fnjail_requests;
  std::string cedar_requests;
  for (const auto& r : w.requests) {
    fnjail_requests += bench::ToRequestJson(r) + "\n";
    cedar_requests += bench::ToCedarRequestJson(r) + "\n";
  }
  const bool ok = WriteFile(root / "fnjail" / "requests.jsonl", fnjail_requests) &&
                  WriteFile(root / "cedar" / "requests.jsonl", cedar_requests) &&
                  WriteFile(root / "cedar" / "policies.cedar", bench::ToCedar(w));
  return ok ? 0 : 1;
}

// The workload as fnjail reads it from disk.
struct LoadedWorkload {
  policy::PolicySet set;
  std::vector<policy::Request> requests;
};

std::optional<LoadedWorkload> Load(const fs::path& root) {
  auto paths = policy::ExpandPaths({(root / "fnjail" / "policies").string()});
  if (!paths) {
    std::fprintf(stderr, "%s", paths.error().ToString().c_str());
    return std::nullopt;
  }
  std::vector<policy::Document> docs;
  for (const auto& path : *paths) {
    auto doc = policy::LoadFile(path);
    if (!doc) {
      std::fprintf(stderr, "%s", doc.error().ToString().c_str());
      return std::nullopt;
    }
    docs.push_back(std::move(*doc));
  }
  auto set = policy::PolicySet::Compile(std::move(docs));
  if (!set) {
    std::fprintf(stderr, "%s", set.error().ToString().c_str());
    return std::nullopt;
  }
  LoadedWorkload out{std::move(*set), {}};
  const fs::path requests = root / "fnjail" / "requests.jsonl";
  std::ifstream in(requests);
  if (!in) {
    std::fprintf(stderr, "policy_workload_bench: cannot read %s\n", requests.c_str());
    return std::nullopt;
  }
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    auto request = policy::ParseRequestJson(line, requests.string() + ":" + std::to_string(number));
    if (!request) {
      std::fprintf(stderr, "%s", request.error().ToString().c_str());
      return std::nullopt;
    }
    out.requests.push_back(std::move(*request));
  }
  if (out.requests.empty()) {
    std::fprintf(stderr, "policy_workload_bench: no requests in %s\n", requests.c_str());
    return std::nullopt;
  }
  return out;
}

bool WriteDecisions(const fs::path& root, const LoadedWorkload& w) {
  std::string text;
  for (const auto& r : w.requests) text += w.set.Decide(r).allowed ? "allow\n" : "deny\n";
  return WriteFile(root / "fnjail" / "decisions.txt", text);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  const std::optional<Flags> flags = ParseFlags(argc, argv);
  if (!flags) return 2;
  if (!flags->emit.empty()) return Emit(*flags);

  std::optional<LoadedWorkload> workload;
  if (!flags->workload.empty()) {
    workload = Load(flags->workload);
    if (!workload || !WriteDecisions(flags->workload, *workload)) return 1;
  } else {
    const bench::Workload w = bench::GenerateWorkload(flags->options);
    workload = LoadedWorkload{bench::CompileWorkload(w), bench::WorkloadRequests(w)};
  }
  const std::string name = "BM_WorkloadDecide/" + std::to_string(workload->set.statement_count());
  benchmark::RegisterBenchmark(name.c_str(),
                               [&workload](benchmark::State& state) {
                                 bench::TimeDecisions(state, workload->set, workload->requests);
                               })
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
