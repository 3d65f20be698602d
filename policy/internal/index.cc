// Bucketing of statements by action for the compiled policy set.
#include "policy/internal/index.h"

#include <algorithm>
#include <utility>

namespace fnjail::policy::internal {

ActionMatcher ActionMatcher::Build(std::vector<Glob> lower_patterns) {
  ActionMatcher m;
  for (Glob& g : lower_patterns) {
    if (g.IsLiteral()) {
      m.exact_.emplace_back(g.LiteralPrefix());
      continue;
    }
    std::string_view prefix = g.LiteralPrefix();
    size_t colon = prefix.find(':');
    if (colon == std::string_view::npos) {
      m.other_.push_back(std::move(g));
    } else {
      std::string service(prefix.substr(0, colon));
      m.service_.push_back({std::move(service), std::move(g)});
    }
  }
  std::sort(m.exact_.begin(), m.exact_.end());
  std::stable_sort(m.service_.begin(), m.service_.end(),
                   [](const ServicePattern& a, const ServicePattern& b) { return a.service < b.service; });
  return m;
}

bool ActionMatcher::Matches(std::string_view lower_action) const noexcept {
  if (std::binary_search(exact_.begin(), exact_.end(), lower_action,
                         [](std::string_view a, std::string_view b) { return a < b; })) {
    return true;
  }
  return MatchesWildcards(lower_action);
}

bool ActionMatcher::MatchesWildcards(std::string_view lower_action) const noexcept {
  if (size_t colon = lower_action.find(':'); colon != std::string_view::npos && !service_.empty()) {
    const std::string_view service = lower_action.substr(0, colon);
    auto it = std::lower_bound(
        service_.begin(), service_.end(), service,
        [](const ServicePattern& p, std::string_view s) { return std::string_view(p.service) < s; });
    for (; it != service_.end() && it->service == service; ++it) {
      if (it->glob.Matches(lower_action)) return true;
    }
  }
  for (const Glob& g : other_) {
    if (g.Matches(lower_action)) return true;
  }
  return false;
}

void ActionIndex::AddTo(Bucket* bucket, uint32_t partition, size_t list, uint32_t id) {
  auto it = std::lower_bound(
      bucket->begin(), bucket->end(), partition,
      [](const PartitionIds& p, uint32_t wanted) { return p.partition < wanted; });
  if (it == bucket->end() || it->partition != partition) {
    it = bucket->insert(it, PartitionIds{});
    it->partition = partition;
  }
  std::vector<uint32_t>& ids = it->ids[list];
  if (ids.empty() || ids.back() != id) ids.push_back(id);
}

void ActionIndex::CollectFrom(const Bucket* bucket, bool exact, size_t list,
                              const uint32_t* partitions, size_t n, CandidateLists* out) {
  if (bucket == nullptr || bucket->empty()) return;
  for (size_t i = 0; i < n; ++i) {
    auto it = std::lower_bound(
        bucket->begin(), bucket->end(), partitions[i],
        [](const PartitionIds& p, uint32_t wanted) { return p.partition < wanted; });
    if (it != bucket->end() && it->partition == partitions[i]) out->Push(&it->ids[list], exact);
  }
}

ActionIndex::Found ActionIndex::Find(std::string_view lower_action) const {
  Found found;
  if (auto it = exact_.find(lower_action); it != exact_.end()) found.exact = &it->second;
  if (size_t colon = lower_action.find(':'); colon != std::string_view::npos) {
    if (auto it = service_.find(lower_action.substr(0, colon)); it != service_.end()) {
      found.service = &it->second;
    }
  }
  return found;
}

void ActionIndex::Collect(const Found& found, size_t list, const uint32_t* partitions, size_t n,
                          CandidateLists* out) const {
  CollectFrom(found.exact, true, list, partitions, n, out);
  CollectFrom(found.service, false, list, partitions, n, out);
  CollectFrom(&always_, false, list, partitions, n, out);
}

size_t ActionIndex::always_count() const {
  size_t n = 0;
  for (const PartitionIds& p : always_) {
    for (const auto& ids : p.ids) n += ids.size();
  }
  return n;
}

void ActionIndex::Add(uint32_t id, uint32_t partition, size_t list,
                      const std::vector<Glob>& lower_patterns, bool not_action) {
  if (not_action) {
    // NotAction applies to every action it does not list: always a candidate.
    AddTo(&always_, partition, list, id);
    return;
  }
  for (const Glob& pattern : lower_patterns) {
    if (pattern.IsLiteral()) {
      AddTo(&exact_[std::string(pattern.LiteralPrefix())], partition, list, id);
      continue;
    }
    std::string_view prefix = pattern.LiteralPrefix();
    size_t colon = prefix.find(':');
    if (colon == std::string_view::npos) {
      AddTo(&always_, partition, list, id);
    } else {
      AddTo(&service_[std::string(prefix.substr(0, colon))], partition, list, id);
    }
  }
}

}  // namespace fnjail::policy::internal
