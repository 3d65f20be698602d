// JSON into a positioned tree through nlohmann-json's SAX interface, with duplicate-key
// and depth checks nlohmann does not make itself.
#include "policy/internal/json_reader.h"

#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "policy/policy.h"

namespace fnjail::policy::internal {
namespace {

// Objects with more keys than this get a hash set for the duplicate check; smaller ones
// (nearly all of them) are scanned.
constexpr size_t kLinearKeyScanLimit = 16;

// nlohmann's SAX callbacks carry no positions. The parser only calls back once it has
// read a whole token, and tokens arrive in document order, so this cursor walks the
// same text in lockstep: at each callback it skips what lies between tokens (white
// space, `,` and `:`, which raise no callback) and steps over the token that was just
// reported. INVARIANT: nlohmann has already accepted every token the cursor steps over.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {
    // nlohmann skips a UTF-8 byte order mark at the start; so must the cursor.
    if (text_.starts_with("\xef\xbb\xbf")) position_ = 3;
    line_start_ = position_;
  }

  enum class Token { kString, kNumber, kLiteral, kPunctuation };

  // Moves to the next token, records its position, and steps past it.
  void Step(Token token) {
    SkipSeparators();
    line_ = current_line_;
    column_ = static_cast<uint32_t>(position_ - line_start_ + 1);
    token_begin_ = position_;
    switch (token) {
      case Token::kString:
        ++position_;  // opening quote
        while (position_ < text_.size() && text_[position_] != '"') {
          position_ += text_[position_] == '\\' ? 2 : 1;
        }
        ++position_;  // closing quote
        break;
      case Token::kNumber:
        while (position_ < text_.size() && IsNumberChar(text_[position_])) ++position_;
        break;
      case Token::kLiteral:
        while (position_ < text_.size() && text_[position_] >= 'a' && text_[position_] <= 'z') {
          ++position_;
        }
        break;
      case Token::kPunctuation:
        ++position_;
        break;
    }
    if (position_ > text_.size()) position_ = text_.size();
  }

  uint32_t line() const { return line_; }
  uint32_t column() const { return column_; }
  std::string_view token_text() const {
    return text_.substr(token_begin_, position_ - token_begin_);
  }

 private:
  static bool IsNumberChar(char c) {
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
  }

  void SkipSeparators() {
    while (position_ < text_.size()) {
      const char c = text_[position_];
      if (c == '\n') {
        ++current_line_;
        line_start_ = position_ + 1;
      } else if (c != ' ' && c != '\t' && c != '\r' && c != ',' && c != ':') {
        return;
      }
      ++position_;
    }
  }

  std::string_view text_;
  size_t position_ = 0;
  size_t line_start_ = 0;
  uint32_t current_line_ = 1;
  size_t token_begin_ = 0;
  uint32_t line_ = 1;
  uint32_t column_ = 1;
};

// 1-based line and byte column of `offset` in `text`.
std::pair<uint32_t, uint32_t> LineColumn(std::string_view text, size_t offset) {
  uint32_t line = 1;
  size_t line_start = 0;
  offset = std::min(offset, text.size());
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return {line, static_cast<uint32_t>(offset - line_start + 1)};
}

// nlohmann's message is "[json.exception.parse_error.101] parse error at line 1, column 6:
// syntax error while parsing value - invalid literal; last read: '...'; expected ...".
// Keeps the part after the position, drops the echo of the input (it can be long) and
// quotes the rest in backticks.
std::string SyntaxErrorMessage(std::string_view what) {
  constexpr std::string_view kColumn = ", column ";
  if (const size_t at = what.find(kColumn); at != std::string_view::npos) {
    if (const size_t colon = what.find(": ", at); colon != std::string_view::npos) {
      what.remove_prefix(colon + 2);
    }
  }
  std::string body(what);
  constexpr std::string_view kLastRead = "; last read: '";
  if (const size_t start = body.find(kLastRead); start != std::string::npos) {
    const size_t end = body.find("'; ", start + kLastRead.size());
    body.erase(start, end == std::string::npos ? std::string::npos : end + 1 - start);
  }
  for (char& c : body) {
    if (c == '\'') c = '`';
  }
  return "invalid JSON: " + body;
}

class TreeBuilder {
 public:
  using json = nlohmann::json;

  TreeBuilder(std::string_view text, std::string_view source)
      : text_(text), source_(source), cursor_(text) {}

  bool null() { return AddScalar(JsonValue::Kind::kNull, Cursor::Token::kLiteral, "null"); }
  bool boolean(bool value) {
    return AddScalar(JsonValue::Kind::kBool, Cursor::Token::kLiteral, value ? "true" : "false");
  }
  bool number_integer(json::number_integer_t /*value*/) { return AddNumber(); }
  bool number_unsigned(json::number_unsigned_t /*value*/) { return AddNumber(); }
  bool number_float(json::number_float_t /*value*/, const std::string& /*raw*/) {
    return AddNumber();
  }
  bool string(std::string& value) {
    return AddScalar(JsonValue::Kind::kString, Cursor::Token::kString, std::move(value));
  }
  bool binary(json::binary_t& /*value*/) { return false; }  // never produced by JSON text

  bool start_object(size_t /*elements*/) { return Open(JsonValue::Kind::kObject); }
  bool start_array(size_t /*elements*/) { return Open(JsonValue::Kind::kArray); }
  bool end_object() { return Close(); }
  bool end_array() { return Close(); }

  bool key(std::string& name) {
    cursor_.Step(Cursor::Token::kString);
    Frame& frame = open_.back();
    std::vector<JsonMember>& members = frame.value->members;
    bool duplicate = false;
    if (frame.keys) {
      duplicate = !frame.keys->insert(name).second;
    } else {
      for (const JsonMember& member : members) {
        if (member.key == name) {
          duplicate = true;
          break;
        }
      }
      if (!duplicate && members.size() >= kLinearKeyScanLimit) {
        frame.keys = std::make_unique<std::unordered_set<std::string>>();
        for (const JsonMember& member : members) frame.keys->insert(member.key);
        frame.keys->insert(name);
      }
    }
    if (duplicate) {
      // nlohmann would keep the last value silently; two readers of one policy could
      // then disagree about what it says.
      diagnostics_.Error(Span(cursor_.line(), cursor_.column()), "duplicate key `" + name + "`");
    }
    JsonMember member;
    member.key = std::move(name);
    member.line = cursor_.line();
    member.column = cursor_.column();
    members.push_back(std::move(member));
    return true;
  }

  bool parse_error(size_t position, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& error) {
    // `position` counts the characters read, the offending one included.
    const auto [line, column] = LineColumn(text_, position > 0 ? position - 1 : 0);
    diagnostics_.Error(Span(line, column), SyntaxErrorMessage(error.what()));
    return false;
  }

  Result<JsonValue> Finish(bool parsed) {
    if (!diagnostics_.empty()) return Fail(std::move(diagnostics_));
    if (!parsed) return Fail(Span(1, 1), "invalid JSON");
    return std::move(root_);
  }

 private:
  struct Frame {
    JsonValue* value;
    std::unique_ptr<std::unordered_set<std::string>> keys;
  };

  SourceSpan Span(uint32_t line, uint32_t column) const {
    return SourceSpan{std::string(source_), line, column};
  }

  // Places a new value in its container (or as the root) and returns it. INVARIANT: only
  // the innermost open container grows, so the pointers in open_ stay valid.
  JsonValue& Place(JsonValue value) {
    if (open_.empty()) {
      root_ = std::move(value);
      return root_;
    }
    JsonValue& parent = *open_.back().value;
    if (parent.kind == JsonValue::Kind::kArray) {
      parent.items.push_back(std::move(value));
      return parent.items.back();
    }
    parent.members.back().value = std::move(value);
    return parent.members.back().value;
  }

  bool AddScalar(JsonValue::Kind kind, Cursor::Token token, std::string text) {
    cursor_.Step(token);
    JsonValue value;
    value.kind = kind;
    value.text = std::move(text);
    value.line = cursor_.line();
    value.column = cursor_.column();
    Place(std::move(value));
    return true;
  }

  bool AddNumber() {
    cursor_.Step(Cursor::Token::kNumber);
    JsonValue value;
    value.kind = JsonValue::Kind::kNumber;
    value.text = std::string(cursor_.token_text());
    value.line = cursor_.line();
    value.column = cursor_.column();
    Place(std::move(value));
    return true;
  }

  bool Open(JsonValue::Kind kind) {
    cursor_.Step(Cursor::Token::kPunctuation);
    if (open_.size() >= kMaxJsonDepth) {
      diagnostics_.Error(Span(cursor_.line(), cursor_.column()),
                         "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
      return false;
    }
    JsonValue value;
    value.kind = kind;
    value.line = cursor_.line();
    value.column = cursor_.column();
    open_.push_back(Frame{&Place(std::move(value)), nullptr});
    return true;
  }

  bool Close() {
    cursor_.Step(Cursor::Token::kPunctuation);
    open_.pop_back();
    return true;
  }

  std::string_view text_;
  std::string_view source_;
  Cursor cursor_;
  JsonValue root_;
  std::vector<Frame> open_;
  Diagnostics diagnostics_;
};

}  // namespace

Result<JsonValue> ReadJson(std::string_view text, std::string_view source) {
  if (text.size() > kMaxPolicyFileBytes) {
    return Fail(SourceSpan{std::string(source), 0, 0},
                "JSON input is larger than " + std::to_string(kMaxPolicyFileBytes) + " bytes");
  }
  TreeBuilder builder(text, source);
  const bool parsed = nlohmann::json::sax_parse(text.begin(), text.end(), &builder);
  return builder.Finish(parsed);
}

std::string_view JsonKindName(JsonValue::Kind kind) {
  switch (kind) {
    case JsonValue::Kind::kNull:
      return "null";
    case JsonValue::Kind::kBool:
      return "a boolean";
    case JsonValue::Kind::kNumber:
      return "a number";
    case JsonValue::Kind::kString:
      return "a string";
    case JsonValue::Kind::kArray:
      return "an array";
    case JsonValue::Kind::kObject:
      return "an object";
  }
  return "a value";
}

}  // namespace fnjail::policy::internal
