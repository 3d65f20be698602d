// Parsing and substitution of `${...}` policy variables.
#include "policy/internal/variables.h"

#include <utility>

namespace fnjail::policy::internal {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

}  // namespace

ContextView::ContextView(const std::map<std::string, ContextValue>& context)
    : context_(context) {
  // One pass over the tree: the flat copy (when small) and the key bits.
  flat_ok_ = context.size() <= kFlatEntries;
  for (const auto& [key, value] : context) {
    if (flat_ok_) flat_[flat_size_++] = Entry{key, &value};
    // Every key given sets its bit, even with no values: a key given twice in different
    // case is an error the statement must see, and the prefilter must not hide it.
    const uint16_t bit = KeyBit(key);
    key_words_[bit >> 6] |= uint64_t{1} << (bit & 63);
  }
}

ContextView::Lookup ContextView::Find(std::string_view lower_key) const noexcept {
  Lookup result;
  auto visit = [&](std::string_view key, const ContextValue& value) {
    if (key.size() != lower_key.size()) return true;
    for (size_t i = 0; i < key.size(); ++i) {
      if (LowerAsciiChar(key[i]) != lower_key[i]) return true;
    }
    if (result.value != nullptr) {
      // SECURITY: `aws:SourceIp` and `AWS:SOURCEIP` are the same key; two spellings
      // with possibly different values must not let a caller pick the convenient one.
      result.ambiguous = true;
      return false;
    }
    result.value = &value;
    return true;
  };
  if (flat_ok_) {
    for (size_t i = 0; i < flat_size_; ++i) {
      if (!visit(flat_[i].key, *flat_[i].value)) break;
    }
  } else {
    for (const auto& [key, value] : context_) {
      if (!visit(key, value)) break;
    }
  }
  return result;
}

tl::expected<Template, std::string> Template::Parse(std::string_view text) {
  Template t;
  std::string pending;
  auto flush = [&] {
    if (!pending.empty()) {
      t.parts_.push_back({PartKind::kText, std::move(pending), {}, std::nullopt});
      pending.clear();
    }
  };
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '$' || i + 1 >= text.size() || text[i + 1] != '{') {
      pending += text[i++];
      continue;
    }
    // `${` ... `}`
    size_t j = i + 2;
    while (j < text.size() && IsSpace(text[j])) ++j;
    size_t name_begin = j;
    while (j < text.size() && !IsSpace(text[j]) && text[j] != ',' && text[j] != '}' &&
           text[j] != '\'') {
      ++j;
    }
    std::string_view name = text.substr(name_begin, j - name_begin);
    while (j < text.size() && IsSpace(text[j])) ++j;
    std::optional<std::string> default_value;
    if (j < text.size() && text[j] == ',') {
      ++j;
      while (j < text.size() && IsSpace(text[j])) ++j;
      if (j >= text.size() || text[j] != '\'') {
        return tl::unexpected(std::string("default value of policy variable `${") +
                              std::string(name) + "}` must be in single quotes");
      }
      ++j;
      std::string value;
      bool closed = false;
      while (j < text.size()) {
        if (text[j] == '\'') {
          if (j + 1 < text.size() && text[j + 1] == '\'') {
            value += '\'';
            j += 2;
            continue;
          }
          ++j;
          closed = true;
          break;
        }
        value += text[j++];
      }
      if (!closed) {
        return tl::unexpected(std::string("unterminated default value in policy variable `${") +
                              std::string(name) + "`");
      }
      while (j < text.size() && IsSpace(text[j])) ++j;
      default_value = std::move(value);
    }
    if (j >= text.size() || text[j] != '}') {
      return tl::unexpected(std::string("unterminated policy variable `") +
                            std::string(text.substr(i)) + "`");
    }
    if (name.empty()) return tl::unexpected(std::string("empty policy variable `${}`"));
    flush();
    if (!default_value && (name == "*" || name == "?" || name == "$")) {
      t.parts_.push_back({PartKind::kEscape, std::string(name), {}, std::nullopt});
    } else {
      t.parts_.push_back(
          {PartKind::kVariable, ToLowerAscii(name), std::string(name), std::move(default_value)});
      t.has_variables_ = true;
    }
    i = j + 1;
  }
  flush();
  return t;
}

std::string Template::StaticString() const {
  std::string out;
  for (const Part& p : parts_) out += p.text;
  return out;
}

Glob Template::StaticGlob() const {
  Glob g;
  for (const Part& p : parts_) {
    if (p.kind == PartKind::kText) {
      g.AppendPattern(p.text);
    } else {
      g.AppendLiteral(p.text);
    }
  }
  return g;
}

Glob Template::Skeleton() const {
  Glob g;
  for (const Part& p : parts_) {
    switch (p.kind) {
      case PartKind::kText:
        g.AppendPattern(p.text);
        break;
      case PartKind::kEscape:
        g.AppendLiteral(p.text);
        break;
      case PartKind::kVariable:
        g.AppendPattern("*");
        break;
    }
  }
  return g;
}

std::optional<std::string_view> Template::Value(const Part& part, const ContextView& context) {
  ContextView::Lookup found = context.Find(part.text);
  if (found.value != nullptr && !found.ambiguous && !found.value->multi &&
      found.value->values.size() == 1) {
    return std::string_view(found.value->values.front());
  }
  if (part.default_value) return std::string_view(*part.default_value);
  return std::nullopt;
}

bool Template::ResolveString(const ContextView& context, std::string* out,
                             std::string* missing) const {
  out->clear();
  for (const Part& p : parts_) {
    if (p.kind != PartKind::kVariable) {
      *out += p.text;
      continue;
    }
    std::optional<std::string_view> value = Value(p, context);
    if (!value) {
      *missing = p.key;
      return false;
    }
    *out += *value;
  }
  return true;
}

bool Template::ResolveGlob(const ContextView& context, Glob* out, std::string* missing) const {
  *out = Glob();
  for (const Part& p : parts_) {
    switch (p.kind) {
      case PartKind::kText:
        out->AppendPattern(p.text);
        break;
      case PartKind::kEscape:
        out->AppendLiteral(p.text);
        break;
      case PartKind::kVariable: {
        std::optional<std::string_view> value = Value(p, context);
        if (!value) {
          *missing = p.key;
          return false;
        }
        out->AppendLiteral(*value);
        break;
      }
    }
  }
  return true;
}

}  // namespace fnjail::policy::internal
