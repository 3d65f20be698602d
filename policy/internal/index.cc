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

void ActionIndex::PushUnique(std::vector<uint32_t>* ids, uint32_t id) {
  if (ids->empty() || ids->back() != id) ids->push_back(id);
}

const std::vector<uint32_t>* ActionIndex::Find(const Buckets& buckets, std::string_view key) {
  auto it = buckets.find(key);
  return it == buckets.end() ? nullptr : &it->second;
}

void ActionIndex::CollectCandidates(std::string_view lower_action, CandidateLists* out) const {
  out->Push(Find(exact_, lower_action), true);
  if (size_t colon = lower_action.find(':'); colon != std::string_view::npos) {
    out->Push(Find(service_, lower_action.substr(0, colon)), false);
  }
  out->Push(&always_, false);
}

void ActionIndex::Add(uint32_t id, const std::vector<Glob>& lower_patterns, bool not_action) {
  if (not_action) {
    // NotAction applies to every action it does not list: always a candidate.
    PushUnique(&always_, id);
    return;
  }
  for (const Glob& pattern : lower_patterns) {
    if (pattern.IsLiteral()) {
      PushUnique(&exact_[std::string(pattern.LiteralPrefix())], id);
      continue;
    }
    std::string_view prefix = pattern.LiteralPrefix();
    size_t colon = prefix.find(':');
    if (colon == std::string_view::npos) {
      PushUnique(&always_, id);
    } else {
      PushUnique(&service_[std::string(prefix.substr(0, colon))], id);
    }
  }
}

}  // namespace fnjail::policy::internal
