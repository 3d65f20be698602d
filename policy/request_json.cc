// The request JSON of `fnjail policy eval`: principal, action, resource, groups, context.
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "policy/internal/front_end.h"
#include "policy/internal/json_reader.h"
#include "policy/policy.h"

namespace fnjail::policy {
namespace {

using internal::JsonKindName;
using internal::JsonMember;
using internal::JsonValue;

// The text of a context scalar: IAM passes numbers and booleans as strings too.
bool IsScalar(const JsonValue& value) {
  return value.kind == JsonValue::Kind::kString || value.kind == JsonValue::Kind::kNumber ||
         value.kind == JsonValue::Kind::kBool;
}

class RequestReader {
 public:
  explicit RequestReader(std::string_view source) : source_(source) {}

  Result<Request> Read(const JsonValue& root) {
    if (!root.is_object()) {
      return Fail(Span(root),
                  "a request must be a JSON object, found " + std::string(JsonKindName(root.kind)));
    }
    Request request;
    bool has_principal = false;
    bool has_action = false;
    bool has_resource = false;
    for (const JsonMember& member : root.members) {
      if (member.key == "principal") {
        has_principal = true;
        RequiredString(member, request.principal);
      } else if (member.key == "action") {
        has_action = true;
        RequiredString(member, request.action);
      } else if (member.key == "resource") {
        has_resource = true;
        RequiredString(member, request.resource);
      } else if (member.key == "groups") {
        ReadGroups(member, request);
      } else if (member.key == "context") {
        ReadContext(member, request);
      } else {
        diagnostics_.Error(Span(member), "unknown key `" + member.key + "` in request",
                           internal::SuggestSpelling(member.key, {"principal", "action", "resource",
                                                                  "groups", "context"}));
      }
    }
    for (const auto& [present, name] :
         {std::pair(has_principal, "principal"), std::pair(has_action, "action"),
          std::pair(has_resource, "resource")}) {
      if (!present)
        diagnostics_.Error(Span(root), "request is missing `" + std::string(name) + "`");
    }
    if (!diagnostics_.empty()) return Fail(std::move(diagnostics_));
    return request;
  }

 private:
  SourceSpan Span(const JsonValue& value) const {
    return SourceSpan{source_, value.line, value.column};
  }
  SourceSpan Span(const JsonMember& member) const {
    return SourceSpan{source_, member.line, member.column};
  }

  void WrongType(const JsonMember& member, std::string_view expected) {
    diagnostics_.Error(Span(member.value), "`" + member.key + "` must be " + std::string(expected) +
                                               ", found " +
                                               std::string(JsonKindName(member.value.kind)));
  }

  void RequiredString(const JsonMember& member, std::string& out) {
    if (!member.value.is_string()) {
      WrongType(member, "a string");
    } else if (member.value.text.empty()) {
      diagnostics_.Error(Span(member.value), "`" + member.key + "` must not be empty");
    } else {
      out = member.value.text;
    }
  }

  void ReadGroups(const JsonMember& member, Request& request) {
    if (!member.value.is_array()) {
      WrongType(member, "an array of strings");
      return;
    }
    for (const JsonValue& group : member.value.items) {
      if (group.is_string()) {
        request.groups.push_back(group.text);
      } else {
        diagnostics_.Error(Span(group), "elements of `groups` must be strings, found " +
                                            std::string(JsonKindName(group.kind)));
      }
    }
  }

  void ReadContext(const JsonMember& member, Request& request) {
    if (!member.value.is_object()) {
      WrongType(member, "an object");
      return;
    }
    std::set<std::string> seen;
    for (const JsonMember& entry : member.value.members) {
      // Keys compare case-insensitively, so two spellings of one key are ambiguous.
      if (!seen.insert(internal::AsciiLower(entry.key)).second) {
        diagnostics_.Error(Span(entry), "duplicate context key `" + entry.key + "`",
                           "context keys are case-insensitive");
        continue;
      }
      ContextValue value;
      if (entry.value.is_array()) {
        value.multi = true;
        for (const JsonValue& item : entry.value.items) {
          if (IsScalar(item)) {
            value.values.push_back(item.text);
          } else {
            diagnostics_.Error(Span(item), "elements of context key `" + entry.key +
                                               "` must be strings, numbers or booleans, found " +
                                               std::string(JsonKindName(item.kind)));
          }
        }
      } else if (IsScalar(entry.value)) {
        value.values.push_back(entry.value.text);
      } else {
        diagnostics_.Error(Span(entry.value),
                           "context key `" + entry.key +
                               "` must be a string, number, boolean or array, found " +
                               std::string(JsonKindName(entry.value.kind)));
      }
      request.context.emplace(entry.key, std::move(value));
    }
  }

  std::string source_;
  Diagnostics diagnostics_;
};

}  // namespace

Result<Request> ParseRequestJson(std::string_view text, std::string_view source) {
  auto json = internal::ReadJson(text, source);
  if (!json) return Fail(std::move(json.error()));
  RequestReader reader(source);
  return reader.Read(*json);
}

}  // namespace fnjail::policy
