// The action index of a compiled policy set: finds the statements whose Action may match
// a request's action without scanning every statement.
#pragma once

#include <algorithm>
#include <array>
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

// A transparent string hash, so maps keyed by std::string take string_view lookups.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>()(s); }
};

// A sorted list of statement ids to merge; `exact` when its statements are known to
// match the action (an exact bucket).
// Plain data without initializers, so an array of them costs nothing until filled.
struct CandidateList {
  const uint32_t* ids;
  size_t size;
  bool exact;
  size_t pos;  // merge cursor
};

// The lists a decision merges, contiguous, with inline room for the usual handful. Never
// allocates below kInline lists (a principal in many groups may need more).
class CandidateLists {
 public:
  void Push(const std::vector<uint32_t>* ids, bool exact) {
    if (ids == nullptr || ids->empty()) return;
    const CandidateList l{ids->data(), ids->size(), exact, 0};
    if (overflow_.empty() && size_ < kInline) {
      inline_[size_++] = l;
      return;
    }
    if (overflow_.empty()) overflow_.assign(inline_.begin(), inline_.begin() + size_);
    overflow_.push_back(l);
  }
  size_t size() const { return overflow_.empty() ? size_ : overflow_.size(); }
  CandidateList* data() { return overflow_.empty() ? inline_.data() : overflow_.data(); }

 private:
  static constexpr size_t kInline = 24;
  // Only the first size_ entries are ever read.
  std::array<CandidateList, kInline> inline_;
  size_t size_ = 0;
  std::vector<CandidateList> overflow_;
};

// Calls fn(id, known_to_match) for every id of `lists` in increasing order, once per id;
// known_to_match is true when some exact list holds the id.
template <class Fn>
void MergeCandidates(CandidateLists& candidate_lists, Fn&& fn) {
  constexpr uint32_t kEnd = UINT32_MAX;
  CandidateList* lists = candidate_lists.data();
  const size_t n = candidate_lists.size();
  while (true) {
    uint32_t id = kEnd;
    for (size_t i = 0; i < n; ++i) {
      const CandidateList& l = lists[i];
      if (l.pos < l.size && l.ids[l.pos] < id) id = l.ids[l.pos];
    }
    if (id == kEnd) return;
    bool known = false;
    for (size_t i = 0; i < n; ++i) {
      CandidateList& l = lists[i];
      if (l.pos < l.size && l.ids[l.pos] == id) {
        known = known || l.exact;
        ++l.pos;
      }
    }
    fn(id, known);
  }
}

// Statements are bucketed by their lower-cased action patterns:
// - a pattern without wildcards (`s3:getobject`) goes to the exact bucket of that action:
//   a request for that action matches it without running the matcher;
// - a pattern whose wildcards all come after the service's colon (`s3:get*`) goes to the
//   bucket of its service (`s3`);
// - everything else (`*`, `*:get*`, `s3*:x`) and every NotAction statement goes to the
//   small always-check bucket.
// Inside a bucket, statements are kept per partition (the caller's grouping, e.g. by
// attachment) and per list (the caller's passes, e.g. denies and allows), each a sorted id
// list. A decision finds its two buckets once (two hash lookups), then collects the lists
// of the partitions and pass it wants and merges them in statement order.
//
// Thread-safety: build single-threaded; after the last Add const methods may run concurrently.
class ActionIndex {
 public:
  static constexpr size_t kLists = 3;

  // Adds statement `id` of `partition` to list `list` (< kLists) with its lower-cased
  // action patterns. REQUIRES: ids are added in increasing order (the same id again is
  // ignored).
  void Add(uint32_t id, uint32_t partition, size_t list, const std::vector<Glob>& lower_patterns,
           bool not_action);

  struct PartitionIds {
    uint32_t partition = 0;
    std::array<std::vector<uint32_t>, kLists> ids;
  };
  using Bucket = std::vector<PartitionIds>;  // sorted by partition

  // The buckets of one action: found once per decision, reused for every list.
  struct Found {
    const Bucket* exact = nullptr;
    const Bucket* service = nullptr;
  };
  Found Find(std::string_view lower_action) const;

  // Adds to `out` the lists `list` of the given partitions (each at most once, in any
  // order) from the exact bucket (marked exact), the service bucket and the always bucket.
  void Collect(const Found& found, size_t list, const uint32_t* partitions, size_t n,
               CandidateLists* out) const;

  // Calls fn(id, action_known_to_match) for the candidates of `lower_action` in one list
  // and one partition, in increasing id order, once per statement.
  template <class Fn>
  void ForEachCandidate(std::string_view lower_action, Fn&& fn, size_t list = 0,
                        uint32_t partition = 0) const {
    CandidateLists lists;
    Collect(Find(lower_action), list, &partition, 1, &lists);
    MergeCandidates(lists, fn);
  }

  size_t exact_bucket_count() const { return exact_.size(); }
  size_t service_bucket_count() const { return service_.size(); }
  // Statements of every partition and list in the always bucket.
  size_t always_count() const;

 private:
  using Buckets = std::unordered_map<std::string, Bucket, StringHash, std::equal_to<>>;

  static void AddTo(Bucket* bucket, uint32_t partition, size_t list, uint32_t id);
  static void CollectFrom(const Bucket* bucket, bool exact, size_t list,
                          const uint32_t* partitions, size_t n, CandidateLists* out);

  Buckets exact_;
  Buckets service_;
  Bucket always_;
};

}  // namespace fnjail::policy::internal
