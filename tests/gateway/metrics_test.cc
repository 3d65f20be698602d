// Tests gateway/metrics.cc: the Prometheus text exposition.
#include "gateway/metrics.h"

#include <map>
#include <regex>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fnjail::gateway {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Checks the exposition line by line against the text format: HELP/TYPE comments, then
// samples `name{label="value",...} number`, each family's samples after its TYPE line.
void ExpectWellFormed(const std::string& text) {
  ASSERT_FALSE(text.empty());
  ASSERT_EQ(text.back(), '\n');
  static const std::regex kSample(
      R"re(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*",?)*\})? (-?[0-9.e+-]+|\+Inf|NaN))re");
  static const std::regex kType(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram))");
  static const std::regex kHelp(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+)");
  std::istringstream in(text);
  std::string line;
  std::string family;
  std::map<std::string, int> types;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, kHelp)) continue;
    if (std::regex_match(line, m, kType)) {
      family = m[1];
      EXPECT_EQ(types[family]++, 0) << "TYPE twice: " << family;
      continue;
    }
    ASSERT_TRUE(std::regex_match(line, m, kSample)) << "bad line: " << line;
    std::string name = m[1];
    EXPECT_TRUE(name.rfind(family, 0) == 0) << name << " outside family " << family;
  }
}

TEST(MetricsTest, EmptyRegistryRendersEveryFamily) {
  Metrics metrics;
  std::string text = metrics.Render();
  ExpectWellFormed(text);
  for (const char* family : {"fnjail_requests_total", "fnjail_request_duration_seconds",
                             "fnjail_jail_outcomes_total", "fnjail_pool_environments",
                             "fnjail_pool_cold_starts_total", "fnjail_audit_commit_seconds",
                             "fnjail_audit_failures_total"}) {
    EXPECT_THAT(text, HasSubstr(std::string("# TYPE ") + family)) << family;
  }
  EXPECT_THAT(text, HasSubstr("fnjail_audit_failures_total 0\n"));
}

TEST(MetricsTest, RequestsByFunctionStatusAndDecision) {
  Metrics metrics;
  FunctionMetrics* hello = metrics.ForFunction("hello");
  EXPECT_EQ(metrics.ForFunction("hello"), hello);
  hello->RecordRequest(200, DecisionLabel::kAllow, 1500);
  hello->RecordRequest(200, DecisionLabel::kAllow, 1500);
  hello->RecordRequest(403, DecisionLabel::kDeny, 40);
  metrics.ForFunction("")->RecordRequest(401, DecisionLabel::kNone, 10);
  std::string text = metrics.Render();
  ExpectWellFormed(text);
  EXPECT_THAT(text,
              HasSubstr("fnjail_requests_total{function=\"hello\",status=\"200\",decision=\"allow\"} 2\n"));
  EXPECT_THAT(text,
              HasSubstr("fnjail_requests_total{function=\"hello\",status=\"403\",decision=\"deny\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("fnjail_requests_total{function=\"\",status=\"401\",decision=\"none\"} 1\n"));
  EXPECT_EQ(hello->requests(200, DecisionLabel::kAllow), 2u);
}

TEST(MetricsTest, HistogramBucketsAreCumulativeAndCountMatchesInf) {
  Metrics metrics;
  FunctionMetrics* f = metrics.ForFunction("f");
  f->RecordRequest(200, DecisionLabel::kAllow, 50);       // 0.00005 s: first bucket
  f->RecordRequest(200, DecisionLabel::kAllow, 2'000);    // 0.002 s
  f->RecordRequest(200, DecisionLabel::kAllow, 60'000'000);  // 60 s: +Inf only
  std::string text = metrics.Render();
  ExpectWellFormed(text);
  EXPECT_THAT(text, HasSubstr("fnjail_request_duration_seconds_bucket{function=\"f\",le=\"0.0001\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("fnjail_request_duration_seconds_bucket{function=\"f\",le=\"0.0025\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("fnjail_request_duration_seconds_bucket{function=\"f\",le=\"10\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("fnjail_request_duration_seconds_bucket{function=\"f\",le=\"+Inf\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("fnjail_request_duration_seconds_count{function=\"f\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("fnjail_request_duration_seconds_sum{function=\"f\"} 60.00205\n"));
}

TEST(MetricsTest, JailOutcomesFoldUnknownIntoOther) {
  Metrics metrics;
  FunctionMetrics* f = metrics.ForFunction("f");
  f->RecordOutcome("ok");
  f->RecordOutcome("seccomp");
  f->RecordOutcome("something-new");
  std::string text = metrics.Render();
  EXPECT_THAT(text, HasSubstr("fnjail_jail_outcomes_total{function=\"f\",outcome=\"ok\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("fnjail_jail_outcomes_total{function=\"f\",outcome=\"seccomp\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("fnjail_jail_outcomes_total{function=\"f\",outcome=\"other\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("something-new")));
}

TEST(MetricsTest, PoolGaugesComeFromTheSource) {
  Metrics metrics;
  metrics.SetPoolSource([] {
    return std::vector<PoolGauge>{{"hello", 2, 1, 0, 7}};
  });
  std::string text = metrics.Render();
  ExpectWellFormed(text);
  EXPECT_THAT(text, HasSubstr("fnjail_pool_environments{function=\"hello\",state=\"idle\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("fnjail_pool_environments{function=\"hello\",state=\"busy\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("fnjail_pool_environments{function=\"hello\",state=\"waiting\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("fnjail_pool_cold_starts_total{function=\"hello\"} 7\n"));
}

TEST(MetricsTest, AuditCommitLagAndFailures) {
  Metrics metrics;
  metrics.RecordAuditCommit(300);
  metrics.RecordAuditFailure();
  std::string text = metrics.Render();
  ExpectWellFormed(text);
  EXPECT_THAT(text, HasSubstr("fnjail_audit_commit_seconds_bucket{le=\"0.0005\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("fnjail_audit_commit_seconds_count 1\n"));
  EXPECT_THAT(text, HasSubstr("fnjail_audit_failures_total 1\n"));
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  std::string out;
  AppendLabelValue(out, "a\"b\\c\nd");
  EXPECT_EQ(out, "a\\\"b\\\\c\\nd");
  Metrics metrics;
  metrics.SetPoolSource([] { return std::vector<PoolGauge>{{"we\"ird\n", 0, 0, 0, 0}}; });
  ExpectWellFormed(metrics.Render());
}

TEST(MetricsTest, OutOfRangeStatusCountsAs500) {
  Metrics metrics;
  FunctionMetrics* f = metrics.ForFunction("f");
  f->RecordRequest(7000, DecisionLabel::kAllow, 1);
  EXPECT_EQ(f->requests(500, DecisionLabel::kAllow), 1u);
}

}  // namespace
}  // namespace fnjail::gateway
