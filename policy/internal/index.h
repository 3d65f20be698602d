// The action index of a compiled policy set: finds the statements whose Action may match
// a request's action without scanning every statement.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "policy/internal/glob.h"

namespace fnjail::policy::internal {

// The action patterns of one statement, arranged so that matching an action costs a hash-free
// binary search plus the few wildcard patterns of the action's own service, however long
// the list (NotAction lists of several hundred entries exist in AWS's managed policies).
//
// Thread-safety: immutable after Build; Matches may run concurrently.
class ActionMatcher {
 public:
  // Takes lower-cased patterns.
  static ActionMatcher Build(std::vector<Glob> lower_patterns);

  // True when `lower_action` matches one of the patterns. Never allocates.
  bool Matches(std::string_view lower_action) const noexcept;
  // Matches against the wildcard patterns only, for callers that already know no exact
  // pattern equals the action (the ActionIndex did not list the statement as exact).
  bool MatchesWildcards(std::string_view lower_action) const noexcept;

 private:
  struct ServicePattern {
    std::string service;  // the literal text before the first `:`
    Glob glob;
  };
  std::vector<std::string> exact_;       // sorted, patterns without wildcards
  std::vector<ServicePattern> service_;  // sorted by service
  std::vector<Glob> other_;              // wildcards before the first `:`
};

// Statements are bucketed by their lower-cased action patterns:
// - a pattern without wildcards (`s3:getobject`) goes to the exact bucket of that action:
//   a request for that action matches it without running the matcher;
// - a pattern whose wildcards all come after the service's colon (`s3:get*`) goes to the
//   bucket of its service (`s3`);
// - everything else (`*`, `*:get*`, `s3*:x`) and every NotAction statement goes to the
//   small always-check list.
// A decision visits the exact bucket of its action, the bucket of its service and the
// always list, merged in statement order, each statement once.
//
// Thread-safety: build single-threaded; after Finish() const methods may run concurrently.
class ActionIndex {
 public:
  // Adds statement `id` with its lower-cased action patterns. REQUIRES: ids are added in
  // increasing order.
  void Add(uint32_t id, const std::vector<Glob>& lower_patterns, bool not_action);

  // Calls fn(id, action_known_to_match) for every candidate statement of `lower_action`,
  // in increasing id order, once per statement. When action_known_to_match is false the
  // caller must still match the statement's patterns. Never allocates.
  template <class Fn>
  void ForEachCandidate(std::string_view lower_action, Fn&& fn) const;

  size_t exact_bucket_count() const { return exact_.size(); }
  size_t service_bucket_count() const { return service_.size(); }
  size_t always_count() const { return always_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>()(s);
    }
  };
  using Buckets = std::unordered_map<std::string, std::vector<uint32_t>, Hash, std::equal_to<>>;

  static void PushUnique(std::vector<uint32_t>* ids, uint32_t id);
  static const std::vector<uint32_t>* Find(const Buckets& buckets, std::string_view key);

  Buckets exact_;
  Buckets service_;
  std::vector<uint32_t> always_;
};

template <class Fn>
void ActionIndex::ForEachCandidate(std::string_view lower_action, Fn&& fn) const {
  const std::vector<uint32_t>* exact = Find(exact_, lower_action);
  const std::vector<uint32_t>* service = nullptr;
  if (size_t colon = lower_action.find(':'); colon != std::string_view::npos) {
    service = Find(service_, lower_action.substr(0, colon));
  }
  const uint32_t* e = exact != nullptr ? exact->data() : nullptr;
  const size_t e_size = exact != nullptr ? exact->size() : 0;
  const uint32_t* s = service != nullptr ? service->data() : nullptr;
  const size_t s_size = service != nullptr ? service->size() : 0;
  const uint32_t* a = always_.data();
  const size_t a_size = always_.size();
  size_t i = 0;
  size_t j = 0;
  size_t k = 0;
  constexpr uint32_t kEnd = UINT32_MAX;
  // Three-way merge of sorted lists; a statement in several lists is visited once.
  while (true) {
    const uint32_t ei = i < e_size ? e[i] : kEnd;
    const uint32_t sj = j < s_size ? s[j] : kEnd;
    const uint32_t ak = k < a_size ? a[k] : kEnd;
    const uint32_t id = std::min(ei, std::min(sj, ak));
    if (id == kEnd) break;
    const bool known = ei == id;
    if (ei == id) ++i;
    if (sj == id) ++j;
    if (ak == id) ++k;
    fn(id, known);
  }
}

}  // namespace fnjail::policy::internal
