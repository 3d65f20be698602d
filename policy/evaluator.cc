// The evaluator: compiles documents into an indexed PolicySet and decides requests with
// AWS IAM's evaluation logic, failing closed (docs/policy-evaluation.md).
#include <array>
#include <cstdint>
#include <exception>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "policy/internal/conditions.h"
#include "policy/internal/glob.h"
#include "policy/internal/index.h"
#include "policy/internal/variables.h"
#include "policy/policy.h"

namespace fnjail::policy {
namespace {

using internal::ActionIndex;
using internal::CompiledCondition;
using internal::ContextView;
using internal::Glob;
using internal::Template;

constexpr std::string_view kGroupPrefix = "group:";

struct ResourcePattern {
  Glob glob;          // static patterns; for dynamic ones the Template::Skeleton()
  Template tmpl;      // patterns with policy variables
  bool dynamic = false;
};

struct CompiledStatement {
  uint32_t doc = 0;
  bool doc_attach_all = false;  // copied from the document: spares a lookup per candidate
  StatementRef ref;
  Effect effect = Effect::kDeny;
  PolicyKind kind = PolicyKind::kIdentity;

  bool has_principal = false;
  bool principal_negated = false;
  bool principal_star = false;
  std::vector<std::string> principals;

  bool action_negated = false;
  std::vector<Glob> actions;  // lower-cased patterns; moved into action_matcher once indexed
  internal::ActionMatcher action_matcher;

  bool has_resource = false;
  bool resource_negated = false;
  bool resource_star = false;  // a static `*` in the list
  std::vector<ResourcePattern> resources;

  std::vector<CompiledCondition> conditions;
  // ContextView::KeyBit of the keys some condition needs present (RequiresKey()).
  std::vector<uint16_t> required_key_bits;
};

struct CompiledDocument {
  std::string id;
  PolicyKind kind = PolicyKind::kIdentity;
  bool attach_all = false;
  std::vector<std::string> attach_principals;  // identity and boundary documents
  std::vector<std::string> attach_groups;      // `group:NAME` entries, without the prefix
  std::vector<Glob> attach_resources;          // resource documents
};

enum class Match { kNo, kYes, kError };

// What the caller knows about a statement's action before matching it.
enum class ActionHint {
  kUnknown,    // nothing: match every pattern
  kMatches,    // the index found the action among the statement's exact patterns
  kNotExact,   // the index did not: none of its exact patterns is the action
};

// A lower-cased copy of the request's action, on the stack when it fits.
class LowerAction {
 public:
  explicit LowerAction(std::string_view action) {
    char* out = inline_;
    if (action.size() > sizeof(inline_)) {
      heap_.resize(action.size());
      out = heap_.data();
    }
    for (size_t i = 0; i < action.size(); ++i) out[i] = internal::LowerAsciiChar(action[i]);
    view_ = std::string_view(out, action.size());
  }
  LowerAction(const LowerAction&) = delete;
  LowerAction& operator=(const LowerAction&) = delete;
  std::string_view view() const { return view_; }

 private:
  char inline_[128];
  std::string heap_;
  std::string_view view_;
};

// Built by appending: GCC 12 at -O3 warns falsely (-Wrestrict) on `"`" + std::string(s)`.
ActionHint Hint(bool known) { return known ? ActionHint::kMatches : ActionHint::kNotExact; }

std::string Quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '`';
  out += s;
  out += '`';
  return out;
}

}  // namespace

// The index's lists (one per pass of a decision) and partitions (by attachment).
constexpr size_t kDenyList = 0;      // deny statements of every kind
constexpr size_t kGrantList = 1;     // allow statements of identity and resource documents
constexpr size_t kBoundaryList = 2;  // allow statements of boundary documents
static_assert(ActionIndex::kLists == 3);
// Documents attached to everyone, and all resource documents.
constexpr uint32_t kEveryonePartition = 0;

struct PolicySet::Impl {
  std::vector<CompiledDocument> docs;
  std::vector<CompiledStatement> statements;
  // Per statement, the few bytes the candidate loop reads first, packed so that the
  // prefilter of thousands of candidates stays in cache (statements themselves are large
  // and a cold one costs a memory round trip).
  struct HotStatement {
    static constexpr size_t kInlineKeys = 3;
    std::array<uint16_t, kInlineKeys> key_bits{};  // ContextView::KeyBit of required keys
    uint8_t key_count = 0;                          // capped at kInlineKeys
  };
  std::vector<HotStatement> hot;

  // False when the request lacks a key the statement's conditions need (so it cannot
  // apply); true when it may apply. Reads only `hot`.
  bool MayApply(uint32_t id, const ContextView& context) const {
    const HotStatement& h = hot[id];
    for (uint8_t i = 0; i < h.key_count; ++i) {
      if (!context.MayHave(h.key_bits[i])) return false;
    }
    return true;
  }
  // One action index, partitioned: a decision collects the partitions of everyone, of its
  // principal and of its groups, so documents attached to other principals are never
  // visited.
  ActionIndex index;
  std::unordered_map<std::string, uint32_t, internal::StringHash, std::equal_to<>> principals;
  std::unordered_map<std::string, uint32_t, internal::StringHash, std::equal_to<>> groups;
  uint32_t partition_count = 1;
  std::vector<uint32_t> boundary_docs;

  // The partitions that apply to a request (everyone first), without allocating for a
  // principal in up to kInline - 2 groups.
  class PartitionList {
   public:
    void Push(uint32_t p) {
      if (size_ < kInline) {
        inline_[size_++] = p;
      } else {
        overflow_.push_back(p);
      }
    }
    // Contiguous view (copies into the overflow vector once it is in use).
    const uint32_t* data() {
      if (overflow_.empty()) return inline_.data();
      if (!merged_) {
        overflow_.insert(overflow_.begin(), inline_.begin(), inline_.begin() + size_);
        merged_ = true;
      }
      return overflow_.data();
    }
    size_t size() const { return merged_ ? overflow_.size() : size_ + overflow_.size(); }

   private:
    static constexpr size_t kInline = 8;
    std::array<uint32_t, kInline> inline_;  // only the first size_ are read
    size_t size_ = 0;
    bool merged_ = false;
    std::vector<uint32_t> overflow_;
  };
  void PartitionsOf(const Request& request, PartitionList* out) const;
  uint32_t PartitionFor(std::unordered_map<std::string, uint32_t, internal::StringHash,
                                           std::equal_to<>>* map,
                        const std::string& key);

  // True when `doc` applies to the request; otherwise `why` (when not null) says why not.
  bool DocumentApplies(const CompiledDocument& doc, const Request& request,
                       std::string* why) const;
  // Evaluates one statement; `hint` is what the index already proved about its action.
  // On kError `error` holds the message; `detail` (when not null) explains the outcome.
  // `use_key_bits` lets a statement whose conditions need an absent key be ruled out
  // before anything else is matched (ContextView::MayHave). `from_partition`: the statement was found
  // through the partitions of this request, so an identity or boundary document is known
  // to be attached.
  Match EvaluateStatement(const CompiledStatement& s, const Request& request,
                          std::string_view lower_action, ActionHint hint,
                          const ContextView& context, bool use_key_bits,
                          bool from_partition, std::string* error, std::string* detail) const;
  Decision Decide(const Request& request) const;
  Decision Explain(const Request& request) const;
};

namespace {

Diagnostics CompileStatement(const Document& doc, const Statement& st, uint32_t doc_index,
                             CompiledStatement* out) {
  Diagnostics diags;
  out->doc = doc_index;
  out->ref = StatementRef{doc.id, StatementName(st)};
  out->effect = st.effect;
  out->kind = doc.kind;
  const std::string name = Quote(out->ref.sid) + " of policy " + Quote(doc.id);

  auto require_values = [&](const std::optional<Element>& e, std::string_view element) {
    if (e && e->values.empty()) {
      // An empty NotAction / NotResource would match everything: refuse rather than guess.
      diags.Error(e->span, "statement " + name + " has an empty `" + std::string(element) + "`");
      return false;
    }
    return e.has_value();
  };

  if (require_values(st.principal, st.principal && st.principal->negated ? "not_principal"
                                                                          : "principal")) {
    out->has_principal = true;
    out->principal_negated = st.principal->negated;
    for (const Literal& v : st.principal->values) {
      if (v.text == "*") {
        out->principal_star = true;
      } else {
        out->principals.push_back(v.text);
      }
    }
  }

  if (!st.action) {
    diags.Error(st.span, "statement " + name + " has neither `action` nor `not_action`",
                "IAM requires one of them; write `action = [\"*\"]` to mean every action");
  } else if (require_values(st.action, st.action->negated ? "not_action" : "action")) {
    out->action_negated = st.action->negated;
    for (const Literal& v : st.action->values) {
      out->actions.push_back(Glob::Compile(internal::ToLowerAscii(v.text)));
    }
  }

  if (require_values(st.resource, st.resource && st.resource->negated ? "not_resource"
                                                                       : "resource")) {
    out->has_resource = true;
    out->resource_negated = st.resource->negated;
    for (const Literal& v : st.resource->values) {
      auto tmpl = Template::Parse(v.text);
      if (!tmpl) {
        diags.Error(v.span, tmpl.error());
        continue;
      }
      ResourcePattern p;
      p.dynamic = tmpl->HasVariables();
      if (p.dynamic) {
        p.glob = tmpl->Skeleton();
      } else {
        p.glob = tmpl->StaticGlob();
        if (p.glob.MatchesEverything()) out->resource_star = true;
      }
      p.tmpl = std::move(*tmpl);
      out->resources.push_back(std::move(p));
    }
  }

  for (const Condition& c : st.conditions) {
    auto compiled = CompiledCondition::Compile(c);
    if (!compiled) {
      diags.Append(compiled.error());
      continue;
    }
    if (compiled->RequiresKey()) {
      out->required_key_bits.push_back(ContextView::KeyBit(compiled->lower_key()));
    }
    out->conditions.push_back(std::move(*compiled));
  }
  return diags;
}

}  // namespace

void PolicySet::Impl::PartitionsOf(const Request& request, PartitionList* out) const {
  out->Push(kEveryonePartition);
  if (!principals.empty()) {
    if (auto it = principals.find(request.principal); it != principals.end()) {
      out->Push(it->second);
    }
  }
  if (!groups.empty()) {
    for (size_t i = 0; i < request.groups.size(); ++i) {
      const std::string& g = request.groups[i];
      // A group listed twice would visit its statements twice in one list; skip repeats.
      bool repeat = false;
      for (size_t j = 0; j < i && !repeat; ++j) repeat = request.groups[j] == g;
      if (repeat) continue;
      if (auto it = groups.find(g); it != groups.end()) out->Push(it->second);
    }
  }
}

uint32_t PolicySet::Impl::PartitionFor(
    std::unordered_map<std::string, uint32_t, internal::StringHash, std::equal_to<>>* map,
    const std::string& key) {
  auto [it, inserted] = map->emplace(key, partition_count);
  if (inserted) ++partition_count;
  return it->second;
}

bool PolicySet::Impl::DocumentApplies(const CompiledDocument& doc, const Request& request,
                                      std::string* why) const {
  if (doc.attach_all) return true;
  if (doc.kind == PolicyKind::kResource) {
    for (const Glob& g : doc.attach_resources) {
      if (g.Matches(request.resource)) return true;
    }
    if (why != nullptr) {
      *why = "resource policy " + Quote(doc.id) + " is not attached to resource " +
             Quote(request.resource);
    }
    return false;
  }
  for (const std::string& p : doc.attach_principals) {
    if (p == request.principal) return true;
  }
  for (const std::string& g : doc.attach_groups) {
    for (const std::string& rg : request.groups) {
      if (g == rg) return true;
    }
  }
  if (why != nullptr) {
    *why = std::string(PolicyKindName(doc.kind)) + " policy " + Quote(doc.id) +
           " is not attached to principal " + Quote(request.principal) + " or its groups";
  }
  return false;
}

Match PolicySet::Impl::EvaluateStatement(const CompiledStatement& s, const Request& request,
                                         std::string_view lower_action, ActionHint hint,
                                         const ContextView& context, bool use_key_bits,
                                         bool from_partition, std::string* error,
                                         std::string* detail) const {
  // `why` builds the explanation only when one was asked for: the fast path must not
  // allocate for every statement that does not apply.
  auto no = [&](auto&& why) {
    if (detail != nullptr) *detail = why();
    return Match::kNo;
  };
  // A condition that is false on an absent key makes the statement not apply, whatever
  // its other elements and conditions say (a false condition outweighs errors), so this
  // shortcut gives the same answer as the full evaluation below.
  if (use_key_bits) {
    for (uint16_t bit : s.required_key_bits) {
      if (!context.MayHave(bit)) return Match::kNo;
    }
  }
  const bool attachment_known =
      s.doc_attach_all || (from_partition && s.kind != PolicyKind::kResource);
  if (!attachment_known && !DocumentApplies(docs[s.doc], request, detail)) return Match::kNo;

  // Principal.
  if (!s.has_principal) {
    if (s.kind == PolicyKind::kResource) {
      // IAM requires a principal in a resource policy; without one nobody is named.
      return no([] { return std::string("resource policy statement names no `principal`"); });
    }
  } else {
    bool listed = s.principal_star;
    for (size_t i = 0; !listed && i < s.principals.size(); ++i) {
      listed = s.principals[i] == request.principal;
    }
    if (listed == s.principal_negated) {
      return no([&] {
        return "principal " + Quote(request.principal) +
               (s.principal_negated ? " is in `not_principal`" : " not in `principal`");
      });
    }
  }

  // Action.
  if (hint != ActionHint::kMatches) {
    // A NotAction statement is never in an exact bucket, so kNotExact says nothing for it.
    const bool listed = hint == ActionHint::kNotExact && !s.action_negated
                            ? s.action_matcher.MatchesWildcards(lower_action)
                            : s.action_matcher.Matches(lower_action);
    if (listed == s.action_negated) {
      return no([&] {
        return "action " + Quote(request.action) +
               (s.action_negated ? " is in `not_action`" : " not in `action`");
      });
    }
  }

  // Resource.
  std::string pending_error;  // an error that holds unless a later element is false
  if (s.has_resource && !(s.resource_star && !s.resource_negated)) {
    bool listed = s.resource_star;
    for (size_t i = 0; !listed && i < s.resources.size(); ++i) {
      const ResourcePattern& p = s.resources[i];
      // For a dynamic pattern `glob` is its skeleton: no skeleton match, no match,
      // whatever the variables hold (so nothing to resolve and no error to report).
      if (!p.glob.Matches(request.resource)) continue;
      if (!p.dynamic) {
        listed = true;
        continue;
      }
      Glob resolved;
      std::string missing;
      if (p.tmpl.ResolveGlob(context, &resolved, &missing)) {
        listed = resolved.Matches(request.resource);
      } else if (s.resource_negated && pending_error.empty()) {
        // An unresolved variable matches nothing. In `resource` that only narrows the
        // statement; in `not_resource` it would widen it, so it is an error instead.
        pending_error = "policy variable `${" + missing + "}` in `not_resource` has no value";
      }
    }
    if (listed == s.resource_negated) {
      return no([&] {
        return "resource " + Quote(request.resource) +
               (s.resource_negated ? " is in `not_resource`" : " not in `resource`");
      });
    }
  }

  // Conditions: all must hold. A false condition decides (the statement cannot match
  // whatever an erroring one would have said); otherwise an error is an error.
  for (const CompiledCondition& c : s.conditions) {
    std::string cond_error;
    std::string note;
    CompiledCondition::Outcome o =
        c.Evaluate(context, &cond_error, detail != nullptr ? &note : nullptr);
    if (o == CompiledCondition::Outcome::kFalse) {
      return no([&] {
        return "condition " + c.Describe() + " is false" +
               (note.empty() ? std::string() : " (" + note + ")");
      });
    }
    if (o == CompiledCondition::Outcome::kError && pending_error.empty()) {
      pending_error = std::move(cond_error);
    }
  }
  if (!pending_error.empty()) {
    if (detail != nullptr) *detail = "error: " + pending_error;
    *error = std::move(pending_error);
    return Match::kError;
  }
  if (detail != nullptr) *detail = "matched";
  return Match::kYes;
}

// Decision table (docs/policy-evaluation.md), shared by Decide and Explain:
//   1. an applicable deny that matched or errored         -> deny, explicit-deny
//   2. an applicable identity/resource allow that errored -> deny, implicit-deny
//   3. no identity/resource allow matched                 -> deny, implicit-deny
//   4. a boundary applies and none of its allows matched,
//      or a boundary allow errored                        -> deny, implicit-deny
//   5. otherwise                                          -> allow, explicit-allow
Decision PolicySet::Impl::Decide(const Request& request) const {
  Decision d;
  d.statements.reserve(8);
  LowerAction lower(request.action);
  ContextView context(request.context);
  std::string error;

  PartitionList partitions;
  PartitionsOf(request, &partitions);
  const ActionIndex::Found found = index.Find(lower.view());
  auto for_each = [&](size_t list, auto&& fn) {
    internal::CandidateLists lists;
    index.Collect(found, list, partitions.data(), partitions.size(), &lists);
    internal::MergeCandidates(lists, fn);
  };

  for_each(kDenyList, [&](uint32_t id, bool known) {
    if (!MayApply(id, context)) return;
    const CompiledStatement& s = statements[id];
    Match m = EvaluateStatement(s, request, lower.view(), Hint(known), context, true, true, &error,
                                nullptr);
    if (m == Match::kNo) return;
    d.statements.push_back(s.ref);
    if (m == Match::kError) d.errors.push_back(EvalError{s.ref, std::move(error)});
  });
  if (!d.statements.empty()) {
    d.reason = Reason::kExplicitDeny;
    return d;
  }

  // Appends the matching allows of one list to d.statements; true when one errored.
  auto collect_allows = [&](size_t list) {
    bool errored = false;
    for_each(list, [&](uint32_t id, bool known) {
      if (!MayApply(id, context)) return;
      const CompiledStatement& s = statements[id];
      Match m = EvaluateStatement(s, request, lower.view(), Hint(known), context, true, true,
                                  &error, nullptr);
      if (m == Match::kYes) {
        d.statements.push_back(s.ref);
      } else if (m == Match::kError) {
        errored = true;
        d.errors.push_back(EvalError{s.ref, std::move(error)});
      }
    });
    return errored;
  };

  const bool grant_error = collect_allows(kGrantList);
  if (grant_error || d.statements.empty()) {
    d.statements.clear();
    return d;
  }

  bool boundary_applies = false;
  for (uint32_t doc : boundary_docs) {
    if (DocumentApplies(docs[doc], request, nullptr)) {
      boundary_applies = true;
      break;
    }
  }
  if (boundary_applies) {
    const size_t grant_count = d.statements.size();
    const bool boundary_error = collect_allows(kBoundaryList);
    if (boundary_error || d.statements.size() == grant_count) {
      d.statements.clear();
      return d;
    }
  }
  d.allowed = true;
  d.reason = Reason::kExplicitAllow;
  return d;
}

Decision PolicySet::Impl::Explain(const Request& request) const {
  LowerAction lower(request.action);
  ContextView context(request.context);
  struct Result {
    const CompiledStatement* s;
    Match m;
    std::string error;
  };
  std::vector<Result> results;
  results.reserve(statements.size());
  Decision d;
  for (const CompiledStatement& s : statements) {
    StatementTrace t;
    t.statement = s.ref;
    t.kind = s.kind;
    t.effect = s.effect;
    std::string error;
    Match m = EvaluateStatement(s, request, lower.view(), ActionHint::kUnknown, context, false,
                                false, &error, &t.detail);
    t.matched = m == Match::kYes || (m == Match::kError && s.effect == Effect::kDeny);
    if (m == Match::kError) {
      t.detail += s.effect == Effect::kDeny ? " (an erroring deny counts as matched)"
                                            : " (an erroring allow forces deny)";
    }
    d.trace.push_back(std::move(t));
    results.push_back({&s, m, std::move(error)});
  }

  auto collect = [&](auto&& wanted, bool* any_error) {
    std::vector<StatementRef> matched;
    std::vector<EvalError> errors;
    for (Result& r : results) {
      if (!wanted(*r.s) || r.m == Match::kNo) continue;
      if (r.m == Match::kError) {
        *any_error = true;
        errors.push_back(EvalError{r.s->ref, r.error});
        if (r.s->effect == Effect::kDeny) matched.push_back(r.s->ref);
      } else {
        matched.push_back(r.s->ref);
      }
    }
    return std::make_pair(std::move(matched), std::move(errors));
  };

  bool deny_error = false;
  auto [denied, deny_errors] =
      collect([](const CompiledStatement& s) { return s.effect == Effect::kDeny; }, &deny_error);
  if (!denied.empty()) {
    d.reason = Reason::kExplicitDeny;
    d.statements = std::move(denied);
    d.errors = std::move(deny_errors);
    return d;
  }
  bool grant_error = false;
  auto [granted, grant_errors] = collect(
      [](const CompiledStatement& s) {
        return s.effect == Effect::kAllow && s.kind != PolicyKind::kBoundary;
      },
      &grant_error);
  if (grant_error) {
    d.errors = std::move(grant_errors);
    return d;
  }
  if (granted.empty()) return d;
  bool boundary_applies = false;
  for (uint32_t doc : boundary_docs) {
    boundary_applies = boundary_applies || DocumentApplies(docs[doc], request, nullptr);
  }
  if (boundary_applies) {
    bool boundary_error = false;
    auto [bounded, boundary_errors] = collect(
        [](const CompiledStatement& s) {
          return s.effect == Effect::kAllow && s.kind == PolicyKind::kBoundary;
        },
        &boundary_error);
    if (boundary_error || bounded.empty()) {
      d.errors = std::move(boundary_errors);
      return d;
    }
    granted.insert(granted.end(), bounded.begin(), bounded.end());
  }
  d.allowed = true;
  d.reason = Reason::kExplicitAllow;
  d.statements = std::move(granted);
  return d;
}

std::string_view ReasonName(Reason r) {
  switch (r) {
    case Reason::kExplicitAllow:
      return "explicit-allow";
    case Reason::kExplicitDeny:
      return "explicit-deny";
    case Reason::kImplicitDeny:
      return "implicit-deny";
  }
  return "implicit-deny";
}

PolicySet::PolicySet() : impl_(std::make_shared<const Impl>()) {}

Result<PolicySet> PolicySet::Compile(std::vector<Document> docs) {
  auto impl = std::make_shared<Impl>();
  Diagnostics diags;
  std::unordered_map<std::string, const Document*> seen;
  for (const Document& doc : docs) {
    auto [it, inserted] = seen.emplace(doc.id, &doc);
    if (!inserted) {
      diags.Error(doc.span, "duplicate policy id " + Quote(doc.id),
                  "first defined in " + Quote(it->second->file) +
                      "; give each document its own `id`");
    }
  }
  for (const Document& doc : docs) {
    const auto doc_index = static_cast<uint32_t>(impl->docs.size());
    CompiledDocument cd;
    cd.id = doc.id;
    cd.kind = doc.kind;
    cd.attach_all = doc.attach.empty();
    for (const Literal& a : doc.attach) {
      if (doc.kind == PolicyKind::kResource) {
        cd.attach_resources.push_back(Glob::Compile(a.text));
      } else if (a.text.starts_with(kGroupPrefix)) {
        cd.attach_groups.push_back(a.text.substr(kGroupPrefix.size()));
      } else {
        cd.attach_principals.push_back(a.text);
      }
    }
    impl->docs.push_back(std::move(cd));
    if (doc.kind == PolicyKind::kBoundary) impl->boundary_docs.push_back(doc_index);

    for (const Statement& st : doc.statements) {
      CompiledStatement cs;
      diags.Append(CompileStatement(doc, st, doc_index, &cs));
      cs.doc_attach_all = doc.attach.empty();
      const auto id = static_cast<uint32_t>(impl->statements.size());
      size_t list = kGrantList;
      if (cs.effect == Effect::kDeny) {
        list = kDenyList;
      } else if (cs.kind == PolicyKind::kBoundary) {
        list = kBoundaryList;
      }
      const CompiledDocument& cd_ref = impl->docs.back();
      if (cd_ref.attach_all || doc.kind == PolicyKind::kResource) {
        impl->index.Add(id, kEveryonePartition, list, cs.actions, cs.action_negated);
      } else {
        for (const std::string& p : cd_ref.attach_principals) {
          impl->index.Add(id, impl->PartitionFor(&impl->principals, p), list, cs.actions,
                          cs.action_negated);
        }
        for (const std::string& g : cd_ref.attach_groups) {
          impl->index.Add(id, impl->PartitionFor(&impl->groups, g), list, cs.actions,
                          cs.action_negated);
        }
      }
      Impl::HotStatement hot;
      for (uint16_t bit : cs.required_key_bits) {
        if (hot.key_count == Impl::HotStatement::kInlineKeys) break;
        hot.key_bits[hot.key_count++] = bit;
      }
      impl->hot.push_back(hot);
      cs.action_matcher = internal::ActionMatcher::Build(std::move(cs.actions));
      cs.actions = {};
      impl->statements.push_back(std::move(cs));
    }
  }
  if (diags.HasErrors()) return Fail(std::move(diags));
  PolicySet set;
  set.impl_ = std::move(impl);
  return set;
}

Decision PolicySet::Decide(const Request& request, const DecideOptions& options) const noexcept {
  try {
    if (impl_ == nullptr) return Decision{};
    return options.explain ? impl_->Explain(request) : impl_->Decide(request);
  } catch (const std::exception& e) {
    // Fail closed: whatever went wrong (out of memory included), the answer is deny.
    Decision d;
    d.errors.push_back(EvalError{{}, std::string("internal error: ") + e.what()});
    return d;
  } catch (...) {
    Decision d;
    d.errors.push_back(EvalError{{}, "internal error"});
    return d;
  }
}

size_t PolicySet::document_count() const { return impl_ ? impl_->docs.size() : 0; }

size_t PolicySet::statement_count() const { return impl_ ? impl_->statements.size() : 0; }

}  // namespace fnjail::policy
