// The gateway's metrics in Prometheus text exposition format (version 0.0.4): requests by
// function, status and decision; latency histograms; jail outcomes; pool sizes; audit
// commit lag. Recording is lock-free (relaxed atomics in fixed arrays); only registering a
// new function and rendering take a lock.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace fnjail::gateway {

// A fixed-bucket latency histogram in seconds.
class Histogram {
 public:
  // Upper bounds in seconds (the +Inf bucket is implicit).
  static constexpr std::array<double, 14> kBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                     0.005,  0.01,    0.025,  0.05,  0.1,
                                                     0.25,   1,       2.5,    10};
  void Observe(uint64_t micros) noexcept;
  // Appends the _bucket, _sum and _count lines of `name` with `labels` (`k="v",...` or "").
  void Render(std::string& out, std::string_view name, std::string_view labels) const;
  uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> buckets_{};
  std::atomic<uint64_t> sum_us_{0};
  std::atomic<uint64_t> count_{0};
};

enum class DecisionLabel { kNone, kAllow, kDeny };  // "none", "allow", "deny"

// The jail and pool outcomes counted per function (runtime::Metering::outcome); anything
// else is counted as "other".
inline constexpr std::array<std::string_view, 14> kJailOutcomes = {
    "ok",        "function-error", "timeout",      "seccomp",          "oom",
    "pids",      "output-limit",   "crashed",      "protocol",         "invalid",
    "over-capacity", "start-failed", "unknown-function", "other"};

// The counters of one function. Stable address for the registry's lifetime.
class FunctionMetrics {
 public:
  explicit FunctionMetrics(std::string name) : name_(std::move(name)) {}
  void RecordRequest(int status, DecisionLabel decision, uint64_t micros) noexcept;
  void RecordOutcome(std::string_view outcome) noexcept;
  const std::string& name() const noexcept { return name_; }
  uint64_t requests(int status, DecisionLabel decision) const noexcept;

 private:
  friend class Metrics;
  static constexpr int kMinStatus = 100;
  static constexpr int kMaxStatus = 599;
  std::string name_;
  std::array<std::atomic<uint64_t>, (kMaxStatus - kMinStatus + 1) * 3> requests_{};
  std::array<std::atomic<uint64_t>, kJailOutcomes.size()> outcomes_{};
  Histogram latency_;
};

// Pool sizes, read from runtime::Environments::Stats() at scrape time.
struct PoolGauge {
  std::string function;
  uint64_t idle = 0, busy = 0, waiting = 0, cold_starts = 0;
};

// The registry. Thread-safe. Outlives chains, so counters survive a configuration reload.
class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // The counters of `function` (created on first use). "" is the slot of requests that
  // name no deployed function: attacker-chosen names never become label values.
  // REQUIRES: `function` is a deployed function's name or "".
  FunctionMetrics* ForFunction(std::string_view function);

  void RecordAuditCommit(uint64_t micros) noexcept { audit_commit_.Observe(micros); }
  void RecordAuditFailure() noexcept { audit_failures_.fetch_add(1, std::memory_order_relaxed); }

  // Called at each Render() for pool gauges; may be empty. Set before serving.
  void SetPoolSource(std::function<std::vector<PoolGauge>()> source);

  // The whole exposition, `# HELP`/`# TYPE` lines included, ending with a newline.
  std::string Render() const;

  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  mutable std::mutex mu_;
  std::deque<FunctionMetrics> functions_;  // deque: stable addresses
  std::function<std::vector<PoolGauge>()> pool_source_;
  Histogram audit_commit_;
  std::atomic<uint64_t> audit_failures_{0};
};

// Appends `value` escaped as a Prometheus label value (`\`, `"` and newline).
void AppendLabelValue(std::string& out, std::string_view value);

}  // namespace fnjail::gateway
