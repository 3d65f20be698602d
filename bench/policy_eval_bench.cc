// Policy decision benchmarks: latency and throughput of PolicySet::Decide on generated sets
// of 10 to 10,000 statements and on the 1,523 AWS managed policies, and the time to load
// and compile that corpus.
//
// Goals (issue 2, part D): p50 <= 1 us and p99 <= 5 us at 100 statements; p50 <= 5 us with
// the whole corpus loaded; loading and compiling the corpus <= 250 ms. Each decision is
// timed on its own, so the reported time is per decision and p50_us / p99_us are real
// percentiles. Smoke run: `policy_eval_bench --benchmark_min_time=0.01`.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bench/policy_workload.h"
#include "policy/policy.h"

namespace {

namespace policy = fnjail::policy;
namespace bench = fnjail::bench;

constexpr size_t kRequests = 4096;

std::string CorpusDir() { return FNJAIL_SOURCE_DIR "/../shared/corpus/aws-managed-policies"; }

// A compiled set and its requests, built on first use (only if the benchmark runs).
struct DecideFixture {
  size_t statements = 0;
  std::optional<policy::PolicySet> set;
  std::vector<policy::Request> requests;

  void Build() {
    if (set) return;
    const bench::Workload w =
        bench::GenerateWorkload({.statements = statements, .requests = kRequests});
    set = bench::CompileWorkload(w);
    requests = bench::WorkloadRequests(w);
  }
};

// Reads, parses and returns every policy file under `dir` (as `fnjail policy check` does).
policy::Result<std::vector<policy::Document>> LoadDocuments(const std::string& dir) {
  auto paths = policy::ExpandPaths({dir});
  if (!paths) return policy::Fail(paths.error());
  std::vector<policy::Document> docs;
  docs.reserve(paths->size());
  for (const auto& path : *paths) {
    auto doc = policy::LoadFile(path);
    if (!doc) return policy::Fail(doc.error());
    docs.push_back(std::move(*doc));
  }
  return docs;
}

policy::Request CorpusRequest(std::string action, std::string resource) {
  policy::Request r;
  r.principal = "arn:aws:iam::123456789012:user/alice";
  r.groups = {"developers"};
  r.action = std::move(action);
  r.resource = std::move(resource);
  r.context["aws:username"] = {{"alice"}, false};
  r.context["aws:SourceIp"] = {{"10.20.30.40"}, false};
  r.context["aws:CurrentTime"] = {{"2026-03-01T12:00:00Z"}, false};
  r.context["aws:SecureTransport"] = {{"true"}, false};
  r.context["aws:RequestedRegion"] = {{"eu-west-1"}, false};
  r.context["aws:PrincipalTag/team"] = {{"payments"}, false};
  r.context["aws:MultiFactorAuthPresent"] = {{"true"}, false};
  return r;
}

// What an AWS account's callers ask all day: object reads and writes, describes, table
// reads, invocations, log writes, key use, role assumption, and some IAM changes.
std::vector<policy::Request> CorpusRequests() {
  const std::string acct = ":123456789012:";
  return {
      CorpusRequest("s3:GetObject", "arn:aws:s3:::bucket/key"),
      CorpusRequest("s3:PutObject", "arn:aws:s3:::uploads/alice/photo.jpg"),
      CorpusRequest("s3:ListBucket", "arn:aws:s3:::bucket"),
      CorpusRequest("ec2:DescribeInstances", "*"),
      CorpusRequest("ec2:TerminateInstances", "arn:aws:ec2:eu-west-1" + acct + "instance/i-0abc"),
      CorpusRequest("dynamodb:GetItem", "arn:aws:dynamodb:eu-west-1" + acct + "table/orders"),
      CorpusRequest("lambda:InvokeFunction", "arn:aws:lambda:eu-west-1" + acct + "function:resize"),
      CorpusRequest("logs:PutLogEvents",
                    "arn:aws:logs:eu-west-1" + acct + "log-group:/aws/lambda/resize:*"),
      CorpusRequest("kms:Decrypt", "arn:aws:kms:eu-west-1" + acct + "key/1234abcd-12ab"),
      CorpusRequest("sts:AssumeRole", "arn:aws:iam" + acct + "role/deploy"),
      CorpusRequest("iam:CreateUser", "arn:aws:iam" + acct + "user/bob"),
      CorpusRequest("iam:PassRole", "arn:aws:iam" + acct + "role/service-role/etl"),
      CorpusRequest("cloudwatch:PutMetricData", "*"),
      CorpusRequest("secretsmanager:GetSecretValue",
                    "arn:aws:secretsmanager:eu-west-1" + acct + "secret:db-AbCdEf"),
      CorpusRequest("sqs:SendMessage", "arn:aws:sqs:eu-west-1" + acct + "jobs"),
      CorpusRequest("function:Invoke", "fn:hello"),
  };
}

struct CorpusFixture {
  // Keep only the allow statements. The corpus holds denies of almost everything (AWSDenyAll,
  // the quarantine policies, NotAction denies in the root-credential policies), so with
  // all of it loaded every request ends in an explicit deny; without them, decisions take
  // the allow path through the whole set.
  bool allows_only = false;
  bool loaded = false;
  std::string error;  // why the corpus is unusable, when it is
  std::optional<policy::PolicySet> set;
  std::vector<policy::Request> requests;

  void Build() {
    if (loaded) return;
    loaded = true;
    std::error_code ec;
    if (!std::filesystem::is_directory(CorpusDir(), ec)) {
      error = "../shared/corpus/aws-managed-policies not found beside the checkout";
      return;
    }
    auto docs = LoadDocuments(CorpusDir());
    if (!docs) {
      error = "corpus does not load: " + docs.error().entries().front().ToString();
      return;
    }
    if (allows_only) {
      for (auto& doc : *docs) {
        std::erase_if(doc.statements,
                      [](const policy::Statement& s) { return s.effect == policy::Effect::kDeny; });
      }
      std::erase_if(*docs, [](const policy::Document& d) { return d.statements.empty(); });
    }
    auto compiled = policy::PolicySet::Compile(std::move(*docs));
    if (!compiled) {
      error = "corpus does not compile: " + compiled.error().entries().front().ToString();
      return;
    }
    set = std::move(*compiled);
    requests = CorpusRequests();
  }
};

void BM_Decide(benchmark::State& state, DecideFixture& fixture) {
  fixture.Build();
  bench::TimeDecisions(state, *fixture.set, fixture.requests);
}

void BM_DecideAwsCorpus(benchmark::State& state, CorpusFixture& fixture) {
  fixture.Build();
  if (!fixture.error.empty()) {
    state.SkipWithError(fixture.error.c_str());
    return;
  }
  bench::TimeDecisions(state, *fixture.set, fixture.requests);
}

// Everything `fnjail policy check` or a gateway start does with the corpus: list the
// folder, read and parse 1,523 JSON files, compile them into one set.
void BM_LoadAndCompileAwsCorpus(benchmark::State& state) {
  std::error_code ec;
  if (!std::filesystem::is_directory(CorpusDir(), ec)) {
    state.SkipWithError("../shared/corpus/aws-managed-policies not found beside the checkout");
    return;
  }
  size_t statements = 0;
  for (auto _ : state) {
    auto docs = LoadDocuments(CorpusDir());
    if (!docs) {
      state.SkipWithError("the corpus does not load");
      return;
    }
    auto set = policy::PolicySet::Compile(std::move(*docs));
    if (!set) {
      state.SkipWithError("the corpus does not compile");
      return;
    }
    statements = set->statement_count();
    benchmark::DoNotOptimize(statements);
  }
  state.counters["statements"] = static_cast<double>(statements);
}

// Compiling alone, from parsed documents: the share of the above that is ours to index.
void BM_CompileAwsCorpus(benchmark::State& state) {
  std::error_code ec;
  if (!std::filesystem::is_directory(CorpusDir(), ec)) {
    state.SkipWithError("../shared/corpus/aws-managed-policies not found beside the checkout");
    return;
  }
  auto docs = LoadDocuments(CorpusDir());
  if (!docs) {
    state.SkipWithError("the corpus does not load");
    return;
  }
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<policy::Document> copy = *docs;
    state.ResumeTiming();
    auto set = policy::PolicySet::Compile(std::move(copy));
    benchmark::DoNotOptimize(set);
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  // Fixtures live here, for the whole run, and are built lazily by the benchmark that
  // needs them, so a --benchmark_filter run pays only for what it selects.
  std::vector<std::unique_ptr<DecideFixture>> decide;
  for (size_t n : {10, 100, 1000, 10000}) {
    decide.push_back(std::make_unique<DecideFixture>());
    decide.back()->statements = n;
    DecideFixture& fixture = *decide.back();
    benchmark::RegisterBenchmark(("BM_Decide/" + std::to_string(n)).c_str(),
                                 [&fixture](benchmark::State& s) { BM_Decide(s, fixture); })
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
  }
  CorpusFixture corpus;
  benchmark::RegisterBenchmark("BM_DecideAwsCorpus",
                               [&corpus](benchmark::State& s) { BM_DecideAwsCorpus(s, corpus); })
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
  CorpusFixture corpus_allowing;
  corpus_allowing.allows_only = true;
  benchmark::RegisterBenchmark(
      "BM_DecideAwsCorpusAllowsOnly",
      [&corpus_allowing](benchmark::State& s) { BM_DecideAwsCorpus(s, corpus_allowing); })
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("BM_LoadAndCompileAwsCorpus", BM_LoadAndCompileAwsCorpus)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_CompileAwsCorpus", BM_CompileAwsCorpus)
      ->Unit(benchmark::kMillisecond);

  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
