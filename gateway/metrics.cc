// Prometheus text exposition of the gateway's counters.
#include "gateway/metrics.h"

#include <cstdio>

namespace fnjail::gateway {

namespace {

constexpr std::array<std::string_view, 3> kDecisionNames = {"none", "allow", "deny"};

void AppendDouble(std::string& out, double v) {
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%.9g", v);
  out.append(buf, static_cast<size_t>(n));
}

void AppendHeader(std::string& out, std::string_view name, std::string_view type,
                  std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

std::string FunctionLabel(std::string_view function) {
  std::string l = "function=\"";
  AppendLabelValue(l, function);
  l += '"';
  return l;
}

}  // namespace

void AppendLabelValue(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
}

void Histogram::Observe(uint64_t micros) noexcept {
  double seconds = static_cast<double>(micros) / 1e6;
  size_t i = 0;
  while (i < kBounds.size() && seconds > kBounds[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_us_.fetch_add(micros, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

void Histogram::Render(std::string& out, std::string_view name, std::string_view labels) const {
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= kBounds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    out += name;
    out += "_bucket{";
    out += labels;
    if (!labels.empty()) out += ',';
    out += "le=\"";
    if (i < kBounds.size()) {
      AppendDouble(out, kBounds[i]);
    } else {
      out += "+Inf";
    }
    out += "\"} ";
    out += std::to_string(cumulative);
    out += '\n';
  }
  // The count line is the +Inf bucket, so scrapers never see _count below a bucket.
  auto braced = [&](std::string_view suffix) {
    out += name;
    out += suffix;
    if (!labels.empty()) {
      out += '{';
      out += labels;
      out += '}';
    }
    out += ' ';
  };
  braced("_sum");
  AppendDouble(out, static_cast<double>(sum_us_.load(std::memory_order_relaxed)) / 1e6);
  out += '\n';
  braced("_count");
  out += std::to_string(cumulative);
  out += '\n';
}

void FunctionMetrics::RecordRequest(int status, DecisionLabel decision,
                                    uint64_t micros) noexcept {
  if (status < kMinStatus || status > kMaxStatus) status = 500;
  size_t index = static_cast<size_t>(status - kMinStatus) * 3 + static_cast<size_t>(decision);
  requests_[index].fetch_add(1, std::memory_order_relaxed);
  latency_.Observe(micros);
}

uint64_t FunctionMetrics::requests(int status, DecisionLabel decision) const noexcept {
  if (status < kMinStatus || status > kMaxStatus) return 0;
  size_t index = static_cast<size_t>(status - kMinStatus) * 3 + static_cast<size_t>(decision);
  return requests_[index].load(std::memory_order_relaxed);
}

void FunctionMetrics::RecordOutcome(std::string_view outcome) noexcept {
  size_t i = 0;
  while (i + 1 < kJailOutcomes.size() && kJailOutcomes[i] != outcome) ++i;
  outcomes_[i].fetch_add(1, std::memory_order_relaxed);
}

Metrics::Metrics() { functions_.emplace_back(""); }
Metrics::~Metrics() = default;

FunctionMetrics* Metrics::ForFunction(std::string_view function) {
  std::lock_guard lock(mu_);
  for (auto& f : functions_) {
    if (f.name() == function) return &f;
  }
  return &functions_.emplace_back(std::string(function));
}

void Metrics::SetPoolSource(std::function<std::vector<PoolGauge>()> source) {
  std::lock_guard lock(mu_);
  pool_source_ = std::move(source);
}

std::string Metrics::Render() const {
  std::string out;
  out.reserve(4096);
  std::lock_guard lock(mu_);

  AppendHeader(out, "fnjail_requests_total", "counter",
               "Requests answered, by function, HTTP status and policy decision.");
  for (const auto& f : functions_) {
    std::string fl = FunctionLabel(f.name());
    for (int status = FunctionMetrics::kMinStatus; status <= FunctionMetrics::kMaxStatus;
         ++status) {
      for (size_t d = 0; d < 3; ++d) {
        uint64_t n = f.requests(status, static_cast<DecisionLabel>(d));
        if (n == 0) continue;
        out += "fnjail_requests_total{";
        out += fl;
        out += ",status=\"";
        out += std::to_string(status);
        out += "\",decision=\"";
        out += kDecisionNames[d];
        out += "\"} ";
        out += std::to_string(n);
        out += '\n';
      }
    }
  }

  AppendHeader(out, "fnjail_request_duration_seconds", "histogram",
               "Time from receiving a request to answering it, by function.");
  for (const auto& f : functions_) {
    if (f.latency_.count() == 0) continue;
    f.latency_.Render(out, "fnjail_request_duration_seconds", FunctionLabel(f.name()));
  }

  AppendHeader(out, "fnjail_jail_outcomes_total", "counter",
               "Invocation outcomes reported by the execution environments, by function.");
  for (const auto& f : functions_) {
    for (size_t i = 0; i < kJailOutcomes.size(); ++i) {
      uint64_t n = f.outcomes_[i].load(std::memory_order_relaxed);
      if (n == 0) continue;
      out += "fnjail_jail_outcomes_total{";
      out += FunctionLabel(f.name());
      out += ",outcome=\"";
      out += kJailOutcomes[i];
      out += "\"} ";
      out += std::to_string(n);
      out += '\n';
    }
  }

  std::vector<PoolGauge> pools;
  if (pool_source_) pools = pool_source_();
  AppendHeader(out, "fnjail_pool_environments", "gauge",
               "Execution environments by function and state (waiting: queued invocations).");
  for (const auto& p : pools) {
    std::string fl = FunctionLabel(p.function);
    const std::pair<std::string_view, uint64_t> states[] = {
        {"idle", p.idle}, {"busy", p.busy}, {"waiting", p.waiting}};
    for (const auto& [state, value] : states) {
      out += "fnjail_pool_environments{";
      out += fl;
      out += ",state=\"";
      out += state;
      out += "\"} ";
      out += std::to_string(value);
      out += '\n';
    }
  }
  AppendHeader(out, "fnjail_pool_cold_starts_total", "counter",
               "Environments started for an invocation, by function.");
  for (const auto& p : pools) {
    out += "fnjail_pool_cold_starts_total{";
    out += FunctionLabel(p.function);
    out += "} ";
    out += std::to_string(p.cold_starts);
    out += '\n';
  }

  AppendHeader(out, "fnjail_audit_commit_seconds", "histogram",
               "Time from appending an audit record to it being durable on disk.");
  audit_commit_.Render(out, "fnjail_audit_commit_seconds", "");
  AppendHeader(out, "fnjail_audit_failures_total", "counter",
               "Requests refused because their audit record could not be written.");
  out += "fnjail_audit_failures_total ";
  out += std::to_string(audit_failures_.load(std::memory_order_relaxed));
  out += '\n';
  return out;
}

}  // namespace fnjail::gateway
