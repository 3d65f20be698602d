// Bucketing of statements by action for the compiled policy set.
#include "policy/internal/index.h"

namespace fnjail::policy::internal {

void ActionIndex::PushUnique(std::vector<uint32_t>* ids, uint32_t id) {
  if (ids->empty() || ids->back() != id) ids->push_back(id);
}

const std::vector<uint32_t>* ActionIndex::Find(const Buckets& buckets, std::string_view key) {
  auto it = buckets.find(key);
  return it == buckets.end() ? nullptr : &it->second;
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
