// ToToml: renders a policy document in the native TOML form (docs/policy-language.md).
//
// The output is ASCII only, as the TOML front end requires: every string is a TOML basic
// string with quotes, backslashes and control characters escaped and any non-ASCII
// character written as `\uXXXX` or `\UXXXXXXXX`.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/policy.h"

namespace fnjail::policy {
namespace {

// Arrays longer than this, or whose one-line form would pass kMaxLineColumns, are written
// one value per line, which reads better and diffs better.
constexpr size_t kMaxInlineValues = 3;
constexpr size_t kMaxLineColumns = 100;

constexpr char32_t kReplacementCharacter = 0xFFFD;

void AppendHex(std::string* out, uint32_t value, int digits) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) {
    out->push_back(kHex[(value >> shift) & 0xF]);
  }
}

// Decodes one UTF-8 sequence at `text[*i]` and advances `*i` past it. A malformed
// sequence (bad lead or continuation byte, overlong form, surrogate, beyond U+10FFFF)
// consumes one byte and yields U+FFFD.
char32_t DecodeUtf8(std::string_view text, size_t* i) {
  const auto lead = static_cast<unsigned char>(text[*i]);
  size_t length = 0;
  char32_t code = 0;
  char32_t minimum = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    code = lead & 0x1F;
    minimum = 0x80;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    code = lead & 0x0F;
    minimum = 0x800;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    code = lead & 0x07;
    minimum = 0x10000;
  } else {
    ++*i;
    return kReplacementCharacter;
  }
  if (*i + length > text.size()) {
    ++*i;
    return kReplacementCharacter;
  }
  for (size_t k = 1; k < length; ++k) {
    const auto next = static_cast<unsigned char>(text[*i + k]);
    if ((next & 0xC0) != 0x80) {
      ++*i;
      return kReplacementCharacter;
    }
    code = (code << 6) | (next & 0x3F);
  }
  if (code < minimum || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
    ++*i;
    return kReplacementCharacter;
  }
  *i += length;
  return code;
}

// `text` as a TOML basic string, quotes included.
std::string Quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const char32_t code = DecodeUtf8(text, &i);
      if (code > 0xFFFF) {
        out += "\\U";
        AppendHex(&out, static_cast<uint32_t>(code), 8);
      } else {
        out += "\\u";
        AppendHex(&out, static_cast<uint32_t>(code), 4);
      }
      continue;
    }
    ++i;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out += "\\u";
          AppendHex(&out, c, 4);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

// Text for a `#` comment: one line of printable ASCII (a file name could hold anything,
// and a newline in it would end the comment and inject TOML).
std::string CommentText(std::string_view text) {
  std::string out;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    out += (c >= 0x20 && c < 0x7F) ? ch : '?';
  }
  return out;
}

void WriteString(std::string* out, std::string_view key, std::string_view value) {
  *out += key;
  *out += " = ";
  *out += Quote(value);
  *out += '\n';
}

void WriteArray(std::string* out, std::string_view key, const std::vector<std::string>& quoted) {
  size_t inline_width = key.size() + 5;  // `key = [` ... `]`
  for (const auto& q : quoted) inline_width += q.size() + 2;
  *out += key;
  *out += " = [";
  if (quoted.size() <= kMaxInlineValues && inline_width <= kMaxLineColumns) {
    for (size_t i = 0; i < quoted.size(); ++i) {
      if (i > 0) *out += ", ";
      *out += quoted[i];
    }
    *out += "]\n";
    return;
  }
  *out += '\n';
  for (const auto& q : quoted) {
    *out += "  ";
    *out += q;
    *out += ",\n";
  }
  *out += "]\n";
}

void WriteLiterals(std::string* out, std::string_view key, const std::vector<Literal>& values) {
  std::vector<std::string> quoted;
  quoted.reserve(values.size());
  for (const auto& v : values) quoted.push_back(Quote(v.text));
  WriteArray(out, key, quoted);
}

void WriteElement(std::string* out, const std::optional<Element>& element, std::string_view plain,
                  std::string_view negated) {
  if (!element) return;
  WriteLiterals(out, element->negated ? negated : plain, element->values);
}

void WriteStatement(std::string* out, const Statement& s) {
  *out += "\n[[statement]]\n";
  if (!s.sid.empty()) WriteString(out, "sid", s.sid);
  WriteString(out, "effect", EffectName(s.effect));
  WriteElement(out, s.principal, "principal", "not_principal");
  WriteElement(out, s.action, "action", "not_action");
  WriteElement(out, s.resource, "resource", "not_resource");
  for (const auto& c : s.conditions) {
    *out += "\n[[statement.condition]]\n";
    // The canonical spelling: the one the front ends parsed, whatever the source format.
    WriteString(out, "operator", OperatorName(c.spec));
    WriteString(out, "key", c.key.text);
    WriteLiterals(out, "values", c.values);
  }
}

}  // namespace

std::string ToToml(const Document& doc) {
  std::string out;
  if (!doc.file.empty()) out += "# imported from " + CommentText(doc.file) + '\n';
  if (!doc.id.empty()) WriteString(&out, "id", doc.id);
  if (!doc.description.empty()) WriteString(&out, "description", doc.description);
  WriteString(&out, "kind", PolicyKindName(doc.kind));
  if (!doc.attach.empty()) WriteLiterals(&out, "attach", doc.attach);
  for (const auto& s : doc.statements) WriteStatement(&out, s);
  return out;
}

}  // namespace fnjail::policy
