// Builds policy documents and requests in code for evaluator tests (no front end needed).
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "policy/ast.h"
#include "policy/policy.h"

namespace fnjail::policy::testing {

// Every literal gets its own line in a fictitious file, so spans are distinct.
inline SourceSpan NextSpan(const std::string& file = "test.toml") {
  static thread_local uint32_t line = 0;
  return SourceSpan{file, ++line, 1};
}

inline Literal Lit(std::string text) { return Literal{std::move(text), NextSpan()}; }

inline std::vector<Literal> Lits(const std::vector<std::string>& texts) {
  std::vector<Literal> out;
  for (const auto& t : texts) out.push_back(Lit(t));
  return out;
}

inline Element Elem(const std::vector<std::string>& values, bool negated = false) {
  return Element{negated, Lits(values), NextSpan()};
}

// A condition from IAM spelling: Cond("ForAnyValue:StringLike", "aws:TagKeys", {"a*"}).
inline Condition Cond(const std::string& op, const std::string& key,
                      const std::vector<std::string>& values) {
  Condition c;
  std::optional<OperatorSpec> spec = ParseOperator(op);
  EXPECT_TRUE(spec.has_value()) << "unknown operator " << op;
  if (spec) c.spec = *spec;
  c.operator_text = Lit(op);
  c.key = Lit(key);
  c.values = Lits(values);
  c.span = NextSpan();
  return c;
}

// Fluent statement builder: Stmt(Effect::kAllow).Sid("x").Action({"s3:Get*"}).Resource({"*"}).
class Stmt {
 public:
  explicit Stmt(Effect effect) {
    s_.effect = effect;
    s_.span = NextSpan();
  }
  Stmt& Sid(std::string sid) {
    s_.sid = std::move(sid);
    return *this;
  }
  Stmt& Action(const std::vector<std::string>& v) {
    s_.action = Elem(v);
    return *this;
  }
  Stmt& NotAction(const std::vector<std::string>& v) {
    s_.action = Elem(v, true);
    return *this;
  }
  Stmt& Resource(const std::vector<std::string>& v) {
    s_.resource = Elem(v);
    return *this;
  }
  Stmt& NotResource(const std::vector<std::string>& v) {
    s_.resource = Elem(v, true);
    return *this;
  }
  Stmt& Principal(const std::vector<std::string>& v) {
    s_.principal = Elem(v);
    return *this;
  }
  Stmt& NotPrincipal(const std::vector<std::string>& v) {
    s_.principal = Elem(v, true);
    return *this;
  }
  Stmt& When(Condition c) {
    s_.conditions.push_back(std::move(c));
    return *this;
  }
  Statement Build() const { return s_; }
  operator Statement() const { return s_; }  // NOLINT: implicit on purpose, reads well

 private:
  Statement s_;
};

// A document of `kind` with statements indexed in order.
inline Document Doc(std::string id, std::vector<Statement> statements,
                    PolicyKind kind = PolicyKind::kIdentity,
                    const std::vector<std::string>& attach = {}) {
  Document d;
  d.id = std::move(id);
  d.file = d.id + ".toml";
  d.kind = kind;
  d.attach = Lits(attach);
  d.span = SourceSpan{d.file, 0, 0};
  for (size_t i = 0; i < statements.size(); ++i) {
    statements[i].index = i;
    d.statements.push_back(std::move(statements[i]));
  }
  return d;
}

// A request; context values given as single strings or lists (multivalued).
inline Request Req(std::string principal, std::string action, std::string resource,
                   std::vector<std::pair<std::string, ContextValue>> context = {},
                   std::vector<std::string> groups = {}) {
  Request r;
  r.principal = std::move(principal);
  r.action = std::move(action);
  r.resource = std::move(resource);
  r.groups = std::move(groups);
  for (auto& [k, v] : context) r.context[k] = std::move(v);
  return r;
}

inline ContextValue V(std::string value) { return ContextValue{{std::move(value)}, false}; }
inline ContextValue Multi(std::vector<std::string> values) {
  return ContextValue{std::move(values), true};
}

}  // namespace fnjail::policy::testing
