// The AWS IAM JSON front end: policy documents as AWS writes them, into the policy AST.
#include <algorithm>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policy/internal/front_end.h"
#include "policy/internal/json_reader.h"
#include "policy/policy.h"

namespace fnjail::policy {
namespace {

using internal::JsonKindName;
using internal::JsonMember;
using internal::JsonValue;

constexpr std::string_view kVersion2012 = "2012-10-17";
constexpr std::string_view kVersion2008 = "2008-10-17";

bool IsAccountId(std::string_view text) {
  return text.size() == 12 &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

class IamReader {
 public:
  explicit IamReader(std::string_view file) : file_(file) {}

  Result<Document> Read(const JsonValue& root);

 private:
  SourceSpan Span(uint32_t line, uint32_t column) const { return {file_, line, column}; }
  SourceSpan Span(const JsonValue& value) const { return Span(value.line, value.column); }
  SourceSpan Span(const JsonMember& member) const { return Span(member.line, member.column); }

  void Error(SourceSpan span, std::string message, std::string help = {}) {
    diagnostics_.Error(std::move(span), std::move(message), std::move(help));
  }

  void WrongType(const JsonMember& member, std::string_view expected) {
    Error(Span(member.value), "`" + member.key + "` must be " + std::string(expected) + ", found " +
                                  std::string(JsonKindName(member.value.kind)));
  }

  void UnknownElement(const JsonMember& member, std::string_view where,
                      std::initializer_list<std::string_view> known) {
    Error(Span(member), "unknown element `" + member.key + "` in " + std::string(where),
          internal::SuggestSpelling(member.key, known));
  }

  // A string value without control characters (internal::CheckNoControlCharacters).
  std::optional<Literal> String(const JsonMember& member) {
    if (!member.value.is_string()) {
      WrongType(member, "a string");
      return std::nullopt;
    }
    if (!internal::CheckNoControlCharacters(member.value.text, member.key, Span(member.value),
                                            diagnostics_)) {
      return std::nullopt;
    }
    return Literal{member.value.text, Span(member.value)};
  }

  // A string or a non-empty array of strings; with `scalars`, numbers and booleans are
  // accepted too and kept as their text (condition values). Strings hold no control
  // characters unless `scalars`: condition values compare with request data.
  std::optional<std::vector<Literal>> Strings(const JsonMember& member, bool scalars);

  std::optional<Element> ReadPrincipal(const JsonMember& member, bool negated);
  void ReadConditions(const JsonMember& member, std::vector<Condition>& out);
  std::optional<Statement> ReadStatement(const JsonValue& value, size_t index);

  std::string file_;
  Diagnostics diagnostics_;
};

std::optional<std::vector<Literal>> IamReader::Strings(const JsonMember& member, bool scalars) {
  auto accepts = [scalars](const JsonValue& v) {
    return v.kind == JsonValue::Kind::kString ||
           (scalars && (v.kind == JsonValue::Kind::kNumber || v.kind == JsonValue::Kind::kBool));
  };
  std::vector<Literal> out;
  if (!member.value.is_array()) {
    if (!accepts(member.value)) {
      WrongType(member, scalars ? "a string, number or boolean, or an array of them"
                                : "a string or an array of strings");
      return std::nullopt;
    }
    if (!scalars && !internal::CheckNoControlCharacters(member.value.text, member.key,
                                                        Span(member.value), diagnostics_)) {
      return std::nullopt;
    }
    out.push_back(Literal{member.value.text, Span(member.value)});
    return out;
  }
  if (member.value.items.empty()) {
    Error(Span(member.value), "`" + member.key + "` must not be empty");
    return std::nullopt;
  }
  bool ok = true;
  for (const JsonValue& item : member.value.items) {
    if (!accepts(item)) {
      Error(Span(item), "elements of `" + member.key + "` must be " +
                            std::string(scalars ? "strings, numbers or booleans" : "strings") +
                            ", found " + std::string(JsonKindName(item.kind)));
      ok = false;
      continue;
    }
    if (!scalars &&
        !internal::CheckNoControlCharacters(item.text, member.key, Span(item), diagnostics_)) {
      ok = false;
      continue;
    }
    out.push_back(Literal{item.text, Span(item)});
  }
  if (!ok) return std::nullopt;
  return out;
}

// IAM's typed principals become plain identifiers (ast.h, Element): `*` for anyone, an
// ARN for `AWS` (a bare account id is IAM's shorthand for the account root), and
// `service:`, `federated:` or `canonical-user:` prefixed names for the other types.
std::optional<Element> IamReader::ReadPrincipal(const JsonMember& member, bool negated) {
  Element element{negated, {}, Span(member)};
  if (member.value.is_string()) {
    if (member.value.text != "*") {
      Error(Span(member.value),
            "`" + member.key + "` must be `\"*\"` or an object such as `{\"AWS\": \"...\"}`");
      return std::nullopt;
    }
    element.values.push_back(Literal{"*", Span(member.value)});
    return element;
  }
  if (!member.value.is_object()) {
    WrongType(member, "`\"*\"` or an object");
    return std::nullopt;
  }
  if (member.value.members.empty()) {
    Error(Span(member.value), "`" + member.key + "` must name at least one principal");
    return std::nullopt;
  }
  bool ok = true;
  for (const JsonMember& typed : member.value.members) {
    std::string_view prefix;
    if (typed.key == "AWS") {
      prefix = "";
    } else if (typed.key == "Service") {
      prefix = "service:";
    } else if (typed.key == "Federated") {
      prefix = "federated:";
    } else if (typed.key == "CanonicalUser") {
      prefix = "canonical-user:";
    } else {
      Error(Span(typed), "unknown principal type `" + typed.key + "`",
            internal::SuggestSpelling(typed.key, {"AWS", "Service", "Federated", "CanonicalUser"}));
      ok = false;
      continue;
    }
    auto names = Strings(typed, /*scalars=*/false);
    if (!names) {
      ok = false;
      continue;
    }
    for (Literal& name : *names) {
      if (typed.key == "AWS") {
        if (IsAccountId(name.text)) name.text = "arn:aws:iam::" + name.text + ":root";
      } else {
        name.text = std::string(prefix) + name.text;
      }
      element.values.push_back(std::move(name));
    }
  }
  if (!ok) return std::nullopt;
  return element;
}

// `{"StringEquals": {"aws:username": ["alice"]}, ...}`: one Condition per operator and key.
void IamReader::ReadConditions(const JsonMember& member, std::vector<Condition>& out) {
  if (!member.value.is_object()) {
    WrongType(member, "an object");
    return;
  }
  for (const JsonMember& op : member.value.members) {
    const Literal operator_text{op.key, Span(op)};
    const std::optional<OperatorSpec> spec = ParseOperator(op.key);
    if (!spec) {
      Error(Span(op), "unknown condition operator `" + op.key + "`",
            internal::SuggestOperator(op.key));
    }
    if (!op.value.is_object()) {
      WrongType(op, "an object of condition keys");
      continue;
    }
    if (op.value.members.empty()) {
      Error(Span(op.value), "`" + op.key + "` must name at least one condition key");
      continue;
    }
    for (const JsonMember& key : op.value.members) {
      auto values = Strings(key, /*scalars=*/true);
      if (key.key.empty()) Error(Span(key), "empty condition key");
      if (!internal::CheckNoControlCharacters(key.key, "Condition", Span(key), diagnostics_)) {
        continue;
      }
      if (!spec || !values || key.key.empty()) continue;
      Condition condition;
      condition.spec = *spec;
      condition.operator_text = operator_text;
      condition.key = Literal{key.key, Span(key)};
      condition.values = std::move(*values);
      condition.span = Span(key);
      out.push_back(std::move(condition));
    }
  }
}

std::optional<Statement> IamReader::ReadStatement(const JsonValue& value, size_t index) {
  if (!value.is_object()) {
    Error(Span(value),
          "a statement must be an object, found " + std::string(JsonKindName(value.kind)));
    return std::nullopt;
  }
  Statement statement;
  statement.index = index;
  statement.span = Span(value);
  const size_t errors_before = diagnostics_.size();
  bool has_effect = false;

  auto read_element = [&](std::optional<Element>& slot, const JsonMember& member, bool negated,
                          std::string_view plain, std::string_view negative) {
    if (slot) {
      Error(Span(member), "a statement takes `" + std::string(plain) + "` or `" +
                              std::string(negative) + "`, not both");
      return;
    }
    auto values = Strings(member, /*scalars=*/false);
    // An element that failed to read still counts as present for the checks below.
    slot = Element{negated, values ? std::move(*values) : std::vector<Literal>(), Span(member)};
  };

  for (const JsonMember& member : value.members) {
    const std::string_view name = member.key;
    if (name == "Sid") {
      if (auto sid = String(member)) statement.sid = std::move(sid->text);
    } else if (name == "Effect") {
      has_effect = true;
      auto effect = String(member);
      if (!effect) continue;
      if (effect->text == "Allow") {
        statement.effect = Effect::kAllow;
      } else if (effect->text == "Deny") {
        statement.effect = Effect::kDeny;
      } else {
        Error(effect->span, "unknown effect `" + effect->text + "`", "use `Allow` or `Deny`");
      }
    } else if (name == "Action" || name == "NotAction") {
      read_element(statement.action, member, name == "NotAction", "Action", "NotAction");
    } else if (name == "Resource" || name == "NotResource") {
      read_element(statement.resource, member, name == "NotResource", "Resource", "NotResource");
    } else if (name == "Principal" || name == "NotPrincipal") {
      if (statement.principal) {
        Error(Span(member), "a statement takes `Principal` or `NotPrincipal`, not both");
        continue;
      }
      auto principal = ReadPrincipal(member, name == "NotPrincipal");
      statement.principal =
          principal ? std::move(*principal) : Element{name == "NotPrincipal", {}, Span(member)};
    } else if (name == "Condition") {
      ReadConditions(member, statement.conditions);
    } else {
      UnknownElement(member, "statement",
                     {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource",
                      "Principal", "NotPrincipal", "Condition"});
    }
  }
  if (!has_effect) Error(statement.span, "statement is missing `Effect`");
  if (!statement.action) Error(statement.span, "statement is missing `Action` (or `NotAction`)");
  if (!statement.resource) {
    Error(statement.span, "statement is missing `Resource` (or `NotResource`)");
  }
  internal::CheckPolicyVariables(statement, diagnostics_);
  if (diagnostics_.size() != errors_before) return std::nullopt;
  return statement;
}

// A `${...}` in a policy whose version predates variables: IAM reads it literally, and
// the evaluator would expand it, so the two would disagree about what the policy means.
bool HasVariable(const std::vector<Literal>& values) {
  return std::any_of(values.begin(), values.end(),
                     [](const Literal& v) { return v.text.find("${") != std::string::npos; });
}

Result<Document> IamReader::Read(const JsonValue& root) {
  const JsonValue* body = &root;
  if (!root.is_object()) {
    return Fail(Span(root), "an IAM policy must be a JSON object, found " +
                                std::string(JsonKindName(root.kind)));
  }
  // AWS returns stored policies as {"PolicyVersion": {"Document": {...}, "VersionId": ...}}.
  if (std::any_of(root.members.begin(), root.members.end(),
                  [](const JsonMember& m) { return m.key == "PolicyVersion"; })) {
    const JsonValue* document = nullptr;
    for (const JsonMember& member : root.members) {
      if (member.key != "PolicyVersion") {
        UnknownElement(member, "a wrapped policy", {"PolicyVersion"});
        continue;
      }
      if (!member.value.is_object()) {
        WrongType(member, "an object");
        continue;
      }
      for (const JsonMember& field : member.value.members) {
        if (field.key == "Document") {
          if (field.value.is_object()) {
            document = &field.value;
          } else {
            WrongType(field, "an object");
          }
        } else if (field.key != "VersionId" && field.key != "IsDefaultVersion" &&
                   field.key != "CreateDate") {
          // Metadata AWS returns beside the document is ignored; anything else is not
          // understood, so it is refused rather than guessed at.
          UnknownElement(field, "`PolicyVersion`",
                         {"Document", "VersionId", "IsDefaultVersion", "CreateDate"});
        }
      }
      if (document == nullptr && member.value.is_object()) {
        Error(Span(member.value), "`PolicyVersion` is missing `Document`");
      }
    }
    if (document == nullptr) return Fail(std::move(diagnostics_));
    body = document;
  }

  Document doc;
  doc.file = file_;
  doc.id = internal::DocumentIdFromFile(file_);
  doc.span = Span(*body);
  std::optional<Literal> version;
  bool has_statement = false;
  for (const JsonMember& member : body->members) {
    if (member.key == "Version") {
      version = String(member);
      if (version && version->text != kVersion2012 && version->text != kVersion2008) {
        Error(version->span, "unknown policy language version `" + version->text + "`",
              "use `2012-10-17`");
      }
    } else if (member.key == "Id") {
      if (auto id = String(member)) {
        if (id->text.empty()) {
          Error(id->span, "`Id` must not be empty");
        } else {
          doc.id = std::move(id->text);
        }
      }
    } else if (member.key == "Statement") {
      has_statement = true;
      if (member.value.is_object()) {
        if (auto statement = ReadStatement(member.value, 0)) {
          doc.statements.push_back(std::move(*statement));
        }
      } else if (member.value.is_array()) {
        if (member.value.items.empty()) Error(Span(member.value), "`Statement` must not be empty");
        for (size_t i = 0; i < member.value.items.size(); ++i) {
          if (auto statement = ReadStatement(member.value.items[i], i)) {
            doc.statements.push_back(std::move(*statement));
          }
        }
      } else {
        WrongType(member, "an object or an array of objects");
      }
    } else {
      UnknownElement(member, "policy", {"Version", "Id", "Statement"});
    }
  }
  if (!has_statement) Error(doc.span, "policy has no `Statement`");

  // Without a Version element IAM assumes 2008-10-17, which has no policy variables.
  if (!version || version->text == kVersion2008) {
    for (const Statement& statement : doc.statements) {
      bool uses_variables = statement.resource && HasVariable(statement.resource->values);
      for (const Condition& condition : statement.conditions) {
        uses_variables = uses_variables || HasVariable(condition.values);
      }
      if (uses_variables) {
        Error(statement.span,
              "policy variables need `\"Version\": \"2012-10-17\"`; under " +
                  std::string(version ? "`2008-10-17`" : "the default version `2008-10-17`") +
                  " IAM reads `${...}` literally",
              "add `\"Version\": \"2012-10-17\"` at the top of the policy");
      }
    }
  }

  // A resource-based policy names principals in every statement, an identity-based one in
  // none; IAM refuses a mix, and so does this reader rather than guess what was meant.
  const size_t with_principal = static_cast<size_t>(
      std::count_if(doc.statements.begin(), doc.statements.end(),
                    [](const Statement& s) { return s.principal.has_value(); }));
  if (with_principal > 0) {
    doc.kind = PolicyKind::kResource;
    for (const Statement& statement : doc.statements) {
      if (!statement.principal) {
        Error(statement.span,
              "statement has no `Principal`, but other statements of this policy name one",
              "a resource-based policy names principals in every statement");
      }
    }
  }

  if (!diagnostics_.empty()) return Fail(std::move(diagnostics_));
  return doc;
}

}  // namespace

Result<Document> ParseIamJson(std::string_view text, std::string_view file) {
  auto json = internal::ReadJson(text, file);
  if (!json) return Fail(std::move(json.error()));
  IamReader reader(file);
  return reader.Read(*json);
}

}  // namespace fnjail::policy
