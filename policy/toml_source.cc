// The native TOML front end (policies, test suites): the only file that includes toml++.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policy/internal/front_end.h"
#include "policy/policy.h"

namespace fnjail::policy {
namespace {

// toml++ 3.3.0 assertions that fire on bad input although the code after them handles
// that input: each is a precondition of a parser step that the caller did not check, and
// the step itself then reports an ordinary parse error. Carrying on past exactly these
// checks (named by function and expression) turns a crash into a diagnostic.
struct RecoverableTomlAssertion {
  const char* function;
  const char* expr;
};
constexpr RecoverableTomlAssertion kRecoverableTomlAssertions[] = {
    // A table header such as `[=` or `[[[` (the design brief's first crash input): the
    // key parser goes on to "expected bare key starting character or string delimiter".
    // Upstream fixed it by checking before the call (tomlplusplus#301).
    {"parse_key", "is_bare_key_character(*cp) || is_string_delimiter(*cp)"},
    // A value that starts with `]`, `}`, `,`, `#` or white space, e.g. `a = [\n}`: no
    // value parser claims the character and parse_value reports "could not determine
    // value type" (control characters, tab and newline included, stop even earlier).
    {"parse_value", "!is_value_terminator(*cp)"},
    // A date-time whose time part does not start with a digit, e.g. `a = 2026-01-01T:00`:
    // parse_time's first step reads two digits and reports "expected 2-digit hour".
    {"parse_time", "is_decimal_digit(*cp)"},
    // A local date, a space and one digit, e.g. `a = 1979-05-27 0`: parse_value's
    // look-ahead (the lambda `scan`, the only `operator()` with this check) is asked to
    // scan on from the terminator after the digit. Let through, it records at most
    // max_history_length characters (its loop bound, which also sizes its buffer); the
    // value then fails as a date-time with "expected 2-digit hour", or with "could not
    // determine value type".
    {"operator()", "!is_value_terminator(*cp)"},
};

// Handler behind TOML_ASSERT. Any other failed toml++ assertion is an invariant violation
// inside the library: continuing could read out of bounds, so it aborts with a message
// (the fuzzer turns such an input into a regression seed and an entry or a pre-check
// here).
void OnTomlAssertion(const char* expr, const char* function, const char* file, int line) noexcept {
  for (const RecoverableTomlAssertion& known : kRecoverableTomlAssertions) {
    if (std::strcmp(function, known.function) == 0 && std::strcmp(expr, known.expr) == 0) return;
  }
  std::fprintf(stderr, "fnjail: toml++ assertion `%s` failed in %s (%s:%d)\n", expr, function, file,
               line);
  std::abort();
}

}  // namespace
}  // namespace fnjail::policy

#define TOML_ASSERT(expr)                                                                          \
  ((expr) ? static_cast<void>(0)                                                                   \
          : ::fnjail::policy::OnTomlAssertion(#expr, static_cast<const char*>(__func__), __FILE__, \
                                              __LINE__))
#include <toml++/toml.h>

namespace fnjail::policy {
namespace {

using internal::SuggestSpelling;

// ---------------------------------------------------------------------------------------
// Bytes before toml++: size, NUL, control characters and non-ASCII are refused here.
// toml++ 3.3.0 has undefined behaviour on some non-ASCII input (tomlplusplus#295), so no
// byte outside printable ASCII, tab, CR and LF ever reaches it; other characters can be
// written as `\u` escapes inside strings.
std::optional<Diagnostic> CheckBytes(std::string_view text, std::string_view file) {
  const std::string name(file);
  if (text.size() > kMaxPolicyFileBytes) {
    return Diagnostic{
        Severity::kError,
        SourceSpan{name, 0, 0},
        "policy file is larger than " + std::to_string(kMaxPolicyFileBytes) + " bytes",
        {}};
  }
  uint32_t line = 1;
  uint32_t column = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte == '\n') {
      ++line;
      column = 1;
      continue;
    }
    const bool printable = byte >= 0x20 && byte < 0x7f;
    if (printable || byte == '\t' || byte == '\r') {
      ++column;
      continue;
    }
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", static_cast<unsigned>(byte));
    SourceSpan span{name, line, column};
    if (byte == 0) {
      return Diagnostic{Severity::kError, span, "NUL byte in policy file", {}};
    }
    if (byte < 0x80) {
      return Diagnostic{Severity::kError,
                        span,
                        std::string("control character `") + hex + "` in policy file",
                        {}};
    }
    std::string help = "write other characters as `\\uXXXX` escapes inside strings";
    if (i == 0 && text.substr(0, 3) == "\xef\xbb\xbf") {
      help = "remove the UTF-8 byte order mark at the start of the file";
    }
    return Diagnostic{Severity::kError, span,
                      std::string("non-ASCII byte `") + hex + "`; policy files must be ASCII",
                      std::move(help)};
  }
  return std::nullopt;
}

// The longest unquoted key or value accepted. toml++ 3.3.0 looks ahead over a value that
// starts with a digit or sign (a number or date) in a ring buffer of 128 characters, up
// to the next value terminator and whatever lies between (quotes included); a date padded
// with `_` to fill it and followed by ` 0` makes parse_value step back further than the
// buffer holds (its `negative_offset_ + count <= history_.count` check, an out-of-bounds
// read with assertions off). No real key, number or date comes near this length.
constexpr size_t kMaxUnquotedRun = 100;

bool IsUnquotedRunChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '+' || c == '.' || c == ':';
}

// What ends toml++'s look-ahead over a value (its is_value_terminator).
bool IsValueTerminator(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ']' || c == '}' || c == ',' ||
         c == '#';
}

// True when the token toml++ would scan from `start` (to the next value terminator,
// whatever lies between) is longer than kMaxUnquotedRun. Stops counting past the limit.
bool IsOverlongLookAhead(std::string_view text, size_t start) {
  size_t end = start;
  while (end < text.size() && end - start <= kMaxUnquotedRun && !IsValueTerminator(text[end])) {
    ++end;
  }
  return end - start > kMaxUnquotedRun;
}

// Finds the first overlong run of unquoted characters: a bare run longer than
// kMaxUnquotedRun, or a token starting with a digit or sign (where toml++ starts its
// look-ahead) whose look-ahead is. Strings (basic, literal and their multi-line forms)
// and comments are skipped as TOML defines them; toml++ agrees up to the first error it
// reports, and the look-ahead is measured as toml++ measures it, through quotes. Returns
// the offset. REQUIRES: `text` passed CheckBytes.
std::optional<size_t> FindOverlongUnquotedRun(std::string_view text) {
  size_t run_start = std::string_view::npos;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    const bool starts_token = i == 0 || !IsUnquotedRunChar(text[i - 1]);
    if (starts_token && ((c >= '0' && c <= '9') || c == '+' || c == '-') &&
        IsOverlongLookAhead(text, i)) {
      return i;
    }
    if (IsUnquotedRunChar(c)) {
      if (run_start == std::string_view::npos) run_start = i;
      if (i - run_start + 1 > kMaxUnquotedRun) return run_start;
      ++i;
      continue;
    }
    run_start = std::string_view::npos;
    if (c == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
      continue;
    }
    if (c != '"' && c != '\'') {
      ++i;
      continue;
    }
    const std::string delimiter(text.substr(i, 3) == std::string(3, c) ? 3 : 1, c);
    const bool multi_line = delimiter.size() == 3;
    i += delimiter.size();
    while (i < text.size()) {
      if (c == '"' && text[i] == '\\') {
        i += 2;  // an escape: the next character does not end the string
        continue;
      }
      if (!multi_line && text[i] == '\n') break;  // unterminated; toml++ reports it
      if (text.compare(i, delimiter.size(), delimiter) == 0) {
        i += delimiter.size();
        // `""""` ends a multi-line string whose text ends in up to two quotes.
        for (int extra = 0; multi_line && extra < 2 && i < text.size() && text[i] == c; ++extra) {
          ++i;
        }
        break;
      }
      ++i;
    }
  }
  return std::nullopt;
}

// toml++ says "Error while parsing table header: expected ']', saw '='"; the house style
// wants "invalid TOML in table header: expected `]`, saw `=`".
std::string TomlErrorMessage(std::string_view description) {
  constexpr std::string_view kPrefix = "Error while parsing ";
  std::string out;
  if (description.starts_with(kPrefix)) {
    description.remove_prefix(kPrefix.size());
    out = "invalid TOML in ";
  } else {
    out = "invalid TOML: ";
  }
  for (char c : description) out += c == '\'' ? '`' : c;
  while (!out.empty() && (out.back() == '.' || out.back() == ' ')) out.pop_back();
  return out;
}

std::string_view TypeName(toml::node_type type) {
  switch (type) {
    case toml::node_type::none:
      return "nothing";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
  }
  return "a value";
}

// Reads toml++ nodes into AST pieces, collecting every error with its span.
class TomlReader {
 public:
  TomlReader(std::string_view text, std::string_view file) : text_(text), file_(file) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') line_starts_.push_back(i + 1);
    }
  }

  SourceSpan Span(const toml::source_region& region) const {
    return SourceSpan{file_, region.begin.line, region.begin.column};
  }
  SourceSpan Span(const toml::node& node) const { return Span(node.source()); }
  SourceSpan Span(const toml::key& key) const { return Span(key.source()); }

  void Error(SourceSpan span, std::string message, std::string help = {}) {
    diagnostics_.Error(std::move(span), std::move(message), std::move(help));
  }

  void UnknownKey(const toml::key& key, std::string_view where,
                  std::initializer_list<std::string_view> known) {
    Error(Span(key), "unknown key `" + std::string(key.str()) + "` in " + std::string(where),
          SuggestSpelling(key.str(), known));
  }

  void WrongType(const toml::key& key, const toml::node& node, std::string_view expected) {
    Error(Span(node), "`" + std::string(key.str()) + "` must be " + std::string(expected) +
                          ", found " + std::string(TypeName(node.type())));
  }

  // Numbers and booleans in condition values and request contexts are kept as their
  // text, as IAM passes every value as a string. Integers are written in decimal; floats
  // keep the digits as written (toml++ does not keep them), without `_` separators.
  std::optional<std::string> ScalarText(const toml::node& node) const {
    if (const auto* s = node.as_string()) return s->get();
    if (const auto* i = node.as_integer()) return std::to_string(i->get());
    if (const auto* b = node.as_boolean()) return b->get() ? "true" : "false";
    if (node.is_floating_point()) return FloatText(node.source());
    return std::nullopt;
  }

  // A string value.
  // A string value. Unless it is `free_text` (a description), it may not hold control
  // characters (written as escapes): a deny on `"fn:admin\u0000"` reads like one on
  // `fn:admin` but would never match it.
  std::optional<Literal> String(const toml::key& key, const toml::node& node,
                                bool free_text = false) {
    const auto* s = node.as_string();
    if (s == nullptr) {
      WrongType(key, node, "a string");
      return std::nullopt;
    }
    if (!free_text &&
        !internal::CheckNoControlCharacters(s->get(), key.str(), Span(node), diagnostics_)) {
      return std::nullopt;
    }
    return Literal{s->get(), Span(node)};
  }

  // A string or an array of strings (or, with `scalars`, of numbers and booleans kept as
  // text). Empty arrays are an error unless `allow_empty`. Strings hold no control
  // characters unless `scalars` (condition values, which compare with request data).
  std::optional<std::vector<Literal>> Strings(const toml::key& key, const toml::node& node,
                                              bool scalars, bool allow_empty) {
    const std::string_view expected = scalars ? "a string, number or boolean, or an array of them"
                                              : "a string or an array of strings";
    auto text_of = [this, scalars](const toml::node& n) -> std::optional<std::string> {
      if (scalars) return ScalarText(n);
      if (const auto* s = n.as_string()) return s->get();
      return std::nullopt;
    };
    std::vector<Literal> out;
    const auto* array = node.as_array();
    if (array == nullptr) {
      auto text = text_of(node);
      if (!text) {
        WrongType(key, node, expected);
        return std::nullopt;
      }
      if (!scalars &&
          !internal::CheckNoControlCharacters(*text, key.str(), Span(node), diagnostics_)) {
        return std::nullopt;
      }
      out.push_back(Literal{std::move(*text), Span(node)});
      return out;
    }
    if (array->empty() && !allow_empty) {
      Error(Span(node), "`" + std::string(key.str()) + "` must not be empty");
      return std::nullopt;
    }
    bool ok = true;
    for (const toml::node& element : *array) {
      auto text = text_of(element);
      if (!text) {
        Error(Span(element), "elements of `" + std::string(key.str()) + "` must be " +
                                 std::string(scalars ? "strings, numbers or booleans" : "strings") +
                                 ", found " + std::string(TypeName(element.type())));
        ok = false;
        continue;
      }
      if (!scalars &&
          !internal::CheckNoControlCharacters(*text, key.str(), Span(element), diagnostics_)) {
        ok = false;
        continue;
      }
      out.push_back(Literal{std::move(*text), Span(element)});
    }
    if (!ok) return std::nullopt;
    return out;
  }

  // The tables of an array of tables (`[[name]]`); a single table is refused with help.
  // `header` is the table's full name (`statement.condition`), for the help text.
  std::vector<const toml::table*> Tables(const toml::key& key, const toml::node& node,
                                         std::string_view header) {
    std::vector<const toml::table*> out;
    const auto* array = node.as_array();
    if (array == nullptr) {
      Error(Span(node),
            "`" + std::string(key.str()) + "` must be an array of tables, found " +
                std::string(TypeName(node.type())),
            "write each one under its own `[[" + std::string(header) + "]]` header");
      return out;
    }
    for (const toml::node& element : *array) {
      if (const auto* table = element.as_table()) {
        out.push_back(table);
      } else {
        Error(Span(element), "elements of `" + std::string(key.str()) + "` must be tables, found " +
                                 std::string(TypeName(element.type())));
      }
    }
    return out;
  }

  // A request context: `{ key = value }` with string, number, boolean or array values.
  std::map<std::string, ContextValue> Context(const toml::key& key, const toml::node& node) {
    std::map<std::string, ContextValue> out;
    const auto* table = node.as_table();
    if (table == nullptr) {
      WrongType(key, node, "a table");
      return out;
    }
    std::set<std::string> seen;
    for (auto&& [name, value] : *table) {
      std::string text(name.str());
      // Keys compare case-insensitively, so two spellings of one key are ambiguous.
      if (!seen.insert(internal::AsciiLower(text)).second) {
        Error(Span(name), "duplicate context key `" + text + "`",
              "context keys are case-insensitive");
        continue;
      }
      ContextValue context_value;
      if (const auto* array = value.as_array()) {
        context_value.multi = true;
        for (const toml::node& element : *array) {
          if (auto scalar = ScalarText(element)) {
            context_value.values.push_back(std::move(*scalar));
          } else {
            Error(Span(element), "elements of context key `" + text +
                                     "` must be strings, numbers or booleans, found " +
                                     std::string(TypeName(element.type())));
          }
        }
      } else if (auto scalar = ScalarText(value)) {
        context_value.values.push_back(std::move(*scalar));
      } else {
        Error(Span(value), "context key `" + text +
                               "` must be a string, number, boolean or array, found " +
                               std::string(TypeName(value.type())));
      }
      out.emplace(std::move(text), std::move(context_value));
    }
    return out;
  }

  std::optional<Effect> EffectValue(const toml::key& key, const toml::node& node) {
    auto text = String(key, node);
    if (!text) return std::nullopt;
    if (text->text == "allow") return Effect::kAllow;
    if (text->text == "deny") return Effect::kDeny;
    Error(text->span, "unknown effect `" + text->text + "`", "use `allow` or `deny`");
    return std::nullopt;
  }

  Result<Document> ReadDocument(const toml::table& root);
  Result<TestSuite> ReadTestSuite(const toml::table& root);

 private:
  std::optional<Statement> ReadStatement(const toml::table& table, size_t index, PolicyKind kind);
  std::optional<Condition> ReadCondition(const toml::table& table);
  std::optional<TestCase> ReadCase(const toml::table& table);

  // Returns the diagnostics sorted by position (toml++ tables iterate by key name).
  Diagnostics TakeDiagnostics() {
    std::vector<Diagnostic> entries = diagnostics_.entries();
    std::stable_sort(entries.begin(), entries.end(), [](const Diagnostic& a, const Diagnostic& b) {
      return std::pair(a.span.line, a.span.column) < std::pair(b.span.line, b.span.column);
    });
    diagnostics_ = Diagnostics();
    return Diagnostics(std::move(entries));
  }

  // The float token at `region` as written. INVARIANT: toml++ accepted the token, so
  // it runs from its first column to the next delimiter on that line.
  std::string FloatText(const toml::source_region& region) const {
    const size_t line = region.begin.line;
    if (line == 0 || line > line_starts_.size() || region.begin.column == 0) return "0";
    size_t offset = line_starts_[line - 1] + region.begin.column - 1;
    std::string out;
    for (; offset < text_.size(); ++offset) {
      const char c = text_[offset];
      if (c == ',' || c == ']' || c == '}' || c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
          c == '#') {
        break;
      }
      if (c != '_') out += c;
    }
    return out;
  }

  std::string_view text_;
  std::string file_;
  std::vector<size_t> line_starts_;
  Diagnostics diagnostics_;
};

// Element keys of a statement: `action` / `not_action` and the like.
struct ElementSlot {
  std::optional<Element> element;
  std::string key;  // the spelling that set it, for the "not both" message
};

Result<Document> TomlReader::ReadDocument(const toml::table& root) {
  Document doc;
  doc.file = file_;
  doc.id = internal::DocumentIdFromFile(file_);
  doc.span = SourceSpan{file_, 1, 1};

  // Kind first: whether a statement must name principals depends on it.
  if (const toml::node* kind_node = root.get("kind")) {
    const toml::key& kind_key = root.find("kind")->first;
    if (auto kind = String(kind_key, *kind_node)) {
      if (kind->text == "identity") {
        doc.kind = PolicyKind::kIdentity;
      } else if (kind->text == "resource") {
        doc.kind = PolicyKind::kResource;
      } else if (kind->text == "boundary") {
        doc.kind = PolicyKind::kBoundary;
      } else {
        Error(kind->span, "unknown policy kind `" + kind->text + "`",
              "use `identity`, `resource` or `boundary`");
      }
    }
  }

  // Counts `[[statement]]` tables; stays 1 when `statement` is malformed (reported there).
  size_t statement_tables = 0;
  for (auto&& [key, node] : root) {
    const std::string_view name = key.str();
    if (name == "id") {
      if (auto id = String(key, node)) {
        if (id->text.empty()) {
          Error(id->span, "`id` must not be empty");
        } else {
          doc.id = std::move(id->text);
        }
      }
    } else if (name == "description") {
      if (auto description = String(key, node, /*free_text=*/true)) {
        doc.description = std::move(description->text);
      }
    } else if (name == "kind") {
      // Read above.
    } else if (name == "attach") {
      if (auto attach = Strings(key, node, /*scalars=*/false, /*allow_empty=*/true)) {
        doc.attach = std::move(*attach);
      }
    } else if (name == "statement") {
      const size_t errors_before = diagnostics_.size();
      const std::vector<const toml::table*> tables = Tables(key, node, "statement");
      statement_tables = diagnostics_.size() != errors_before ? 1 : tables.size();
      for (size_t i = 0; i < tables.size(); ++i) {
        if (auto statement = ReadStatement(*tables[i], i, doc.kind)) {
          doc.statements.push_back(std::move(*statement));
        }
      }
    } else {
      UnknownKey(key, "policy", {"id", "description", "kind", "attach", "statement"});
    }
  }
  // `statement = []` too: a policy that says nothing is more likely a mistake than intent.
  if (statement_tables == 0) {
    Error(doc.span, "policy has no statements", "add one or more `[[statement]]` tables");
  }
  if (!diagnostics_.empty()) return Fail(TakeDiagnostics());
  return doc;
}

std::optional<Statement> TomlReader::ReadStatement(const toml::table& table, size_t index,
                                                   PolicyKind kind) {
  Statement statement;
  statement.index = index;
  statement.span = Span(table);
  const size_t errors_before = diagnostics_.size();
  bool has_effect = false;
  ElementSlot principal;
  ElementSlot action;
  ElementSlot resource;

  auto read_element = [&](ElementSlot& slot, const toml::key& key, const toml::node& node,
                          bool negated, std::string_view plain, std::string_view negative) {
    auto values = Strings(key, node, /*scalars=*/false, /*allow_empty=*/false);
    if (!values) return;
    if (slot.element) {
      // toml++ iterates keys by name, so report on whichever of the two comes later.
      const SourceSpan span = Span(key);
      const bool later = std::pair(span.line, span.column) >
                         std::pair(slot.element->span.line, slot.element->span.column);
      Error(later ? span : slot.element->span, "a statement takes `" + std::string(plain) +
                                                   "` or `" + std::string(negative) +
                                                   "`, not both");
      return;
    }
    slot.element = Element{negated, std::move(*values), Span(key)};
    slot.key = std::string(key.str());
  };

  for (auto&& [key, node] : table) {
    const std::string_view name = key.str();
    if (name == "sid") {
      if (auto sid = String(key, node)) statement.sid = std::move(sid->text);
    } else if (name == "effect") {
      has_effect = true;
      if (auto effect = EffectValue(key, node)) statement.effect = *effect;
    } else if (name == "action" || name == "not_action") {
      read_element(action, key, node, name == "not_action", "action", "not_action");
    } else if (name == "resource" || name == "not_resource") {
      read_element(resource, key, node, name == "not_resource", "resource", "not_resource");
    } else if (name == "principal" || name == "not_principal") {
      read_element(principal, key, node, name == "not_principal", "principal", "not_principal");
    } else if (name == "condition") {
      for (const toml::table* condition_table : Tables(key, node, "statement.condition")) {
        if (auto condition = ReadCondition(*condition_table)) {
          statement.conditions.push_back(std::move(*condition));
        }
      }
    } else {
      UnknownKey(key, "statement",
                 {"sid", "effect", "action", "not_action", "resource", "not_resource", "principal",
                  "not_principal", "condition"});
    }
  }
  if (!has_effect) {
    Error(statement.span, "statement is missing `effect`",
          "add `effect = \"allow\"` or `effect = \"deny\"`");
  }
  if (!table.contains("action") && !table.contains("not_action")) {
    Error(statement.span, "statement is missing `action` (or `not_action`)");
  }
  if (!table.contains("resource") && !table.contains("not_resource")) {
    Error(statement.span, "statement is missing `resource` (or `not_resource`)");
  }
  // IAM requires a resource-based policy to say whom each statement is about; an absent
  // principal must not silently mean "anyone".
  if (kind == PolicyKind::kResource && !table.contains("principal") &&
      !table.contains("not_principal")) {
    Error(statement.span,
          "statement of a resource policy is missing `principal` (or `not_principal`)",
          "use `principal = \"*\"` to mean anyone");
  }
  statement.principal = std::move(principal.element);
  statement.action = std::move(action.element);
  statement.resource = std::move(resource.element);
  internal::CheckPolicyVariables(statement, diagnostics_);
  if (diagnostics_.size() != errors_before) return std::nullopt;
  return statement;
}

std::optional<Condition> TomlReader::ReadCondition(const toml::table& table) {
  Condition condition;
  condition.span = Span(table);
  const size_t errors_before = diagnostics_.size();
  bool has_operator = false;
  bool has_key = false;
  bool has_values = false;
  for (auto&& [key, node] : table) {
    const std::string_view name = key.str();
    if (name == "operator") {
      has_operator = true;
      auto text = String(key, node);
      if (!text) continue;
      if (auto spec = ParseOperator(text->text)) {
        condition.spec = *spec;
      } else {
        Error(text->span, "unknown condition operator `" + text->text + "`",
              internal::SuggestOperator(text->text));
      }
      condition.operator_text = std::move(*text);
    } else if (name == "key") {
      has_key = true;
      if (auto text = String(key, node)) {
        if (text->text.empty()) {
          Error(text->span, "condition `key` must not be empty");
        }
        condition.key = std::move(*text);
      }
    } else if (name == "values") {
      has_values = true;
      if (auto values = Strings(key, node, /*scalars=*/true, /*allow_empty=*/false)) {
        condition.values = std::move(*values);
      }
    } else {
      UnknownKey(key, "condition", {"operator", "key", "values"});
    }
  }
  if (!has_operator) Error(condition.span, "condition is missing `operator`");
  if (!has_key) Error(condition.span, "condition is missing `key`");
  if (!has_values) Error(condition.span, "condition is missing `values`");
  if (diagnostics_.size() != errors_before) return std::nullopt;
  return condition;
}

// Suite paths are written relative to the suite's folder; make them usable from here.
std::string ResolveAgainst(std::string_view suite_file, const std::string& path) {
  const std::filesystem::path relative(path);
  if (relative.is_absolute()) return path;
  const std::filesystem::path folder = std::filesystem::path(suite_file).parent_path();
  if (folder.empty()) return relative.lexically_normal().string();
  return (folder / relative).lexically_normal().string();
}

Result<TestSuite> TomlReader::ReadTestSuite(const toml::table& root) {
  TestSuite suite;
  suite.file = file_;
  bool has_policies = false;
  size_t case_tables = 0;  // as statement_tables in ReadDocument
  for (auto&& [key, node] : root) {
    const std::string_view name = key.str();
    if (name == "policies" || name == "boundaries") {
      has_policies = has_policies || name == "policies";
      auto paths = Strings(key, node, /*scalars=*/false, /*allow_empty=*/true);
      if (!paths) continue;
      auto& target = name == "policies" ? suite.policies : suite.boundaries;
      for (const Literal& path : *paths) {
        if (path.text.empty()) {
          Error(path.span, "empty path in `" + std::string(name) + "`");
          continue;
        }
        target.push_back(ResolveAgainst(file_, path.text));
      }
    } else if (name == "case") {
      const size_t errors_before = diagnostics_.size();
      const std::vector<const toml::table*> tables = Tables(key, node, "case");
      case_tables = diagnostics_.size() != errors_before ? 1 : tables.size();
      for (const toml::table* case_table : tables) {
        if (auto test_case = ReadCase(*case_table)) suite.cases.push_back(std::move(*test_case));
      }
    } else {
      UnknownKey(key, "test suite", {"policies", "boundaries", "case"});
    }
  }
  const SourceSpan whole_file{file_, 1, 1};
  if (!has_policies) {
    Error(whole_file, "test suite is missing `policies`",
          "list the policy files under test, e.g. `policies = [\"invoke.toml\"]`");
  }
  if (case_tables == 0) {
    Error(whole_file, "test suite has no cases", "add one or more `[[case]]` tables");
  }
  if (!diagnostics_.empty()) return Fail(TakeDiagnostics());
  return suite;
}

std::optional<TestCase> TomlReader::ReadCase(const toml::table& table) {
  TestCase test_case;
  test_case.span = Span(table);
  const size_t errors_before = diagnostics_.size();
  bool has_expect = false;
  auto required_string = [&](const toml::key& key, const toml::node& node, std::string& out) {
    if (auto text = String(key, node)) {
      if (text->text.empty()) {
        Error(text->span, "`" + std::string(key.str()) + "` must not be empty");
      }
      out = std::move(text->text);
    }
  };
  for (auto&& [key, node] : table) {
    const std::string_view name = key.str();
    if (name == "name") {
      required_string(key, node, test_case.name);
    } else if (name == "principal") {
      required_string(key, node, test_case.request.principal);
    } else if (name == "action") {
      required_string(key, node, test_case.request.action);
    } else if (name == "resource") {
      required_string(key, node, test_case.request.resource);
    } else if (name == "groups") {
      if (auto groups = Strings(key, node, /*scalars=*/false, /*allow_empty=*/true)) {
        for (Literal& group : *groups) test_case.request.groups.push_back(std::move(group.text));
      }
    } else if (name == "context") {
      test_case.request.context = Context(key, node);
    } else if (name == "expect") {
      has_expect = true;
      if (auto effect = EffectValue(key, node)) test_case.expect_allow = *effect == Effect::kAllow;
    } else if (name == "reason") {
      auto text = String(key, node);
      if (!text) continue;
      if (text->text == "explicit-allow") {
        test_case.expect_reason = Reason::kExplicitAllow;
      } else if (text->text == "explicit-deny") {
        test_case.expect_reason = Reason::kExplicitDeny;
      } else if (text->text == "implicit-deny") {
        test_case.expect_reason = Reason::kImplicitDeny;
      } else {
        Error(text->span, "unknown reason `" + text->text + "`",
              "use `explicit-allow`, `explicit-deny` or `implicit-deny`");
      }
    } else {
      UnknownKey(
          key, "test case",
          {"name", "principal", "groups", "action", "resource", "context", "expect", "reason"});
    }
  }
  for (std::string_view required : {"name", "principal", "action", "resource"}) {
    if (!table.contains(required)) {
      Error(test_case.span, "test case is missing `" + std::string(required) + "`");
    }
  }
  if (!has_expect) {
    Error(test_case.span, "test case is missing `expect`",
          "add `expect = \"allow\"` or `expect = \"deny\"`");
  }
  if (diagnostics_.size() != errors_before) return std::nullopt;
  return test_case;
}

// Checks the bytes, then parses with toml++; the table is handed to `read`.
template <class T, class Read>
Result<T> ParseWith(std::string_view text, std::string_view file, Read read) {
  if (auto bad = CheckBytes(text, file)) return Fail(Diagnostics({std::move(*bad)}));
  if (const auto offset = FindOverlongUnquotedRun(text)) {
    const size_t line_start = text.rfind('\n', *offset);
    const size_t column = line_start == std::string_view::npos ? *offset + 1 : *offset - line_start;
    const auto line = static_cast<uint32_t>(
        1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(*offset), '\n'));
    return Fail(
        SourceSpan{std::string(file), line, static_cast<uint32_t>(column)},
        "unquoted key or value longer than " + std::to_string(kMaxUnquotedRun) + " characters",
        "put long keys in quotes");
  }
  toml::parse_result parsed = toml::parse(text, std::string(file));
  if (!parsed) {
    const toml::parse_error& error = parsed.error();
    return Fail(
        SourceSpan{std::string(file), error.source().begin.line, error.source().begin.column},
        TomlErrorMessage(error.description()));
  }
  TomlReader reader(text, file);
  return read(reader, parsed.table());
}

}  // namespace

Result<Document> ParseToml(std::string_view text, std::string_view file) {
  return ParseWith<Document>(text, file, [](TomlReader& reader, const toml::table& root) {
    return reader.ReadDocument(root);
  });
}

Result<TestSuite> ParseTestSuite(std::string_view text, std::string_view file) {
  return ParseWith<TestSuite>(text, file, [](TomlReader& reader, const toml::table& root) {
    return reader.ReadTestSuite(root);
  });
}

}  // namespace fnjail::policy
