// Body size, content type, strict JSON parsing and JSON Schema validation (valijson).
#include "gateway/validation.h"

#include <mutex>
#include <regex>
#include <vector>

#include <nlohmann/json.hpp>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

namespace fnjail::gateway {

namespace {

using Json = nlohmann::json;

void AppendPointerToken(std::string& out, std::string_view token) {
  out.push_back('/');
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out.push_back(c);
    }
  }
}

// A SAX handler that builds the document while enforcing the limits: nesting depth,
// string and key length, and no duplicate keys. On a violation it records the error and
// stops the parse.
class StrictDomBuilder {
 public:
  StrictDomBuilder(const JsonLimits& limits, bool keep) : limits_(limits), keep_(keep) {}

  bool null() { return Value(Json(nullptr)); }
  bool boolean(bool v) { return Value(Json(v)); }
  bool number_integer(Json::number_integer_t v) { return Value(Json(v)); }
  bool number_unsigned(Json::number_unsigned_t v) { return Value(Json(v)); }
  bool number_float(Json::number_float_t v, const Json::string_t&) { return Value(Json(v)); }
  bool string(Json::string_t& v) {
    if (limits_.max_string_bytes != 0 && v.size() > limits_.max_string_bytes) {
      return Fail("a string is longer than " + std::to_string(limits_.max_string_bytes) +
                  " bytes");
    }
    return Value(Json(std::move(v)));
  }
  bool binary(Json::binary_t&) { return Fail("binary values are not JSON"); }
  bool start_object(std::size_t) { return Open(Json::object()); }
  bool key(Json::string_t& k) {
    Frame& f = frames_.back();
    if (limits_.max_string_bytes != 0 && k.size() > limits_.max_string_bytes) {
      return Fail("a key is longer than " + std::to_string(limits_.max_string_bytes) +
                  " bytes");
    }
    // SECURITY: duplicate keys are refused, not resolved: the function, its schema and
    // any other reader must all see the same object.
    if (f.keys.contains(k)) {
      f.key = k;
      return Fail("duplicate key `" + Truncated(k) + "`");
    }
    f.keys[k] = nullptr;
    f.key = std::move(k);
    return true;
  }
  bool end_object() { return Close(); }
  bool start_array(std::size_t) { return Open(Json::array()); }
  bool end_array() { return Close(); }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception&) {
    if (message_.empty()) {
      message_ = "the body is not valid JSON (at byte " + std::to_string(position) + ")";
      path_.clear();
      frames_.clear();
    }
    return false;
  }

  const std::string& message() const { return message_; }
  const std::string& path() const { return path_; }
  Json& root() { return root_; }

 private:
  struct Frame {
    Json* node = nullptr;  // null when not keeping the document
    bool object = false;
    size_t index = 0;      // arrays: the next element's index
    std::string key;       // objects: the key being filled
    Json keys = Json::object();  // objects without a kept node: the keys seen
  };

  static std::string Truncated(const std::string& s) {
    return s.size() <= 64 ? s : s.substr(0, 64) + "...";
  }

  std::string CurrentPath() const {
    std::string p;
    for (const auto& f : frames_) {
      if (f.object) {
        AppendPointerToken(p, f.key);
      } else {
        AppendPointerToken(p, std::to_string(f.index));
      }
    }
    return p;
  }

  bool Fail(std::string message) {
    message_ = std::move(message);
    path_ = CurrentPath();
    return false;
  }

  Json* Place(Json&& v) {
    if (frames_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Frame& f = frames_.back();
    if (f.object) {
      if (!keep_) return nullptr;
      Json& slot = (*f.node)[f.key];
      slot = std::move(v);
      return &slot;
    }
    ++f.index;
    if (!keep_) return nullptr;
    f.node->push_back(std::move(v));
    return &f.node->back();
  }

  bool Value(Json&& v) {
    Place(std::move(v));
    return true;
  }

  bool Open(Json&& container) {
    if (frames_.size() >= limits_.max_depth) {
      return Fail("the body nests deeper than " + std::to_string(limits_.max_depth) +
                  " levels");
    }
    bool object = container.is_object();
    Json* node = Place(std::move(container));
    if (!frames_.empty() && !frames_.back().object) {
      // Place already advanced the index; the error path of a child names its own index.
      --frames_.back().index;
      frames_.push_back({node, object, 0, {}, Json::object()});
      return true;
    }
    frames_.push_back({node, object, 0, {}, Json::object()});
    return true;
  }

  bool Close() {
    frames_.pop_back();
    if (!frames_.empty() && !frames_.back().object) ++frames_.back().index;
    return true;
  }

  JsonLimits limits_;
  bool keep_;
  Json root_;
  std::vector<Frame> frames_;
  std::string message_;
  std::string path_;
};

// Parses strictly; fills `out` when given.
tl::expected<void, InputError> ParseStrict(std::string_view body, const JsonLimits& limits,
                                           Json* out) {
  StrictDomBuilder builder(limits, out != nullptr);
  bool ok = false;
  try {
    ok = Json::sax_parse(body.begin(), body.end(), &builder, nlohmann::json::input_format_t::json,
                         /*strict=*/true);
  } catch (const std::exception&) {
    ok = false;
  }
  if (!ok) {
    std::string message = builder.message().empty() ? "the body is not valid JSON"
                                                    : builder.message();
    return tl::unexpected(InputError{ErrorCode::kInvalidBody, std::move(message), builder.path()});
  }
  if (out != nullptr) *out = std::move(builder.root());
  return {};
}

bool IsRepeatQuantifierAt(std::string_view p, size_t i) {
  if (i >= p.size()) return false;
  if (p[i] == '*' || p[i] == '+') return true;
  if (p[i] != '{') return false;
  // {n}, {n,}, {n,m}: repetition unless it is {0}, {1}, {0,1} or {1,1}.
  size_t close = p.find('}', i);
  if (close == std::string_view::npos) return false;
  std::string_view body = p.substr(i + 1, close - i - 1);
  return !(body == "0" || body == "1" || body == "0,1" || body == "1,1");
}

// Walks the schema and checks every `pattern` string and `patternProperties` key.
void CheckPatterns(const Json& node, std::string& errors, std::string& path) {
  auto complain = [&](std::string_view pattern, std::string_view where, const std::string& why) {
    if (!errors.empty()) errors += '\n';
    errors += "schema pattern `" + std::string(pattern.substr(0, 80)) + "` at `" +
              std::string(where) + "`: " + why;
  };
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if (key == "pattern" && value.is_string()) {
        auto ok = CheckSchemaPattern(value.get_ref<const std::string&>());
        if (!ok) complain(value.get_ref<const std::string&>(), path + "/pattern", ok.error());
      }
      if (key == "patternProperties" && value.is_object()) {
        for (const auto& [pattern, unused] : value.items()) {
          auto ok = CheckSchemaPattern(pattern);
          std::string where = path + "/patternProperties";
          AppendPointerToken(where, pattern);
          if (!ok) complain(pattern, where, ok.error());
        }
      }
      size_t len = path.size();
      AppendPointerToken(path, key);
      CheckPatterns(value, errors, path);
      path.resize(len);
    }
  } else if (node.is_array()) {
    for (size_t i = 0; i < node.size(); ++i) {
      size_t len = path.size();
      AppendPointerToken(path, std::to_string(i));
      CheckPatterns(node[i], errors, path);
      path.resize(len);
    }
  }
}

// `[root]`, `[items]`, `[3]` context entries of valijson as a JSON Pointer.
std::string ContextToPointer(const std::vector<std::string>& context) {
  std::string p;
  for (const auto& c : context) {
    if (c == "<root>") continue;
    std::string_view token = c;
    if (token.size() >= 2 && token.front() == '[' && token.back() == ']') {
      token = token.substr(1, token.size() - 2);
    }
    if (token.size() >= 2 && token.front() == '"' && token.back() == '"') {
      token = token.substr(1, token.size() - 2);
    }
    AppendPointerToken(p, token);
  }
  return p;
}

char Lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool IEquals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

tl::expected<void, std::string> CheckSchemaPattern(std::string_view pattern) {
  if (pattern.size() > 1024) return tl::unexpected(std::string("the pattern is longer than 1024 bytes"));
  // Group stack: does the open group contain repetition or alternation?
  std::vector<bool> risky{false};
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\') {
      if (i + 1 < pattern.size() && pattern[i + 1] >= '1' && pattern[i + 1] <= '9') {
        return tl::unexpected(std::string("backreferences are not allowed"));
      }
      ++i;
      continue;
    }
    if (c == '[') {
      size_t j = i + 1;
      if (j < pattern.size() && pattern[j] == '^') ++j;
      if (j < pattern.size() && pattern[j] == ']') ++j;
      while (j < pattern.size() && pattern[j] != ']') {
        if (pattern[j] == '\\') ++j;
        ++j;
      }
      i = j;
      continue;
    }
    if (c == '(') {
      risky.push_back(false);
      continue;
    }
    if (c == '|') {
      risky.back() = true;
      continue;
    }
    if (c == ')') {
      if (risky.size() < 2) return tl::unexpected(std::string("unbalanced parentheses"));
      bool inner = risky.back();
      risky.pop_back();
      if (inner && IsRepeatQuantifierAt(pattern, i + 1)) {
        return tl::unexpected(std::string(
            "repetition of a group that itself repeats or alternates can take exponential "
            "time (help: use a character class, e.g. `[a-z0-9]+`)"));
      }
      // A repeated group makes its enclosing group risky as well.
      if (inner || IsRepeatQuantifierAt(pattern, i + 1)) risky.back() = true;
      continue;
    }
    if (IsRepeatQuantifierAt(pattern, i)) risky.back() = true;
  }
  if (risky.size() != 1) return tl::unexpected(std::string("unbalanced parentheses"));
  try {
    std::regex re{std::string(pattern)};
    (void)re;
  } catch (const std::regex_error& e) {
    return tl::unexpected(std::string("does not compile as an ECMAScript regex"));
  }
  return {};
}

struct SchemaValidator::Impl {
  JsonLimits limits;
  Json schema_doc;
  valijson::Schema schema;
  // valijson::Validator caches compiled regexes in itself, so one is never shared between
  // threads at once: a free list hands each call its own.
  mutable std::mutex mu;
  mutable std::vector<std::unique_ptr<valijson::Validator>> free;
};

SchemaValidator::SchemaValidator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SchemaValidator::~SchemaValidator() = default;

tl::expected<std::shared_ptr<const SchemaValidator>, std::string> SchemaValidator::Compile(
    std::string_view schema_json, JsonLimits limits) {
  auto impl = std::make_unique<Impl>();
  if (limits.max_string_bytes == 0) limits.max_string_bytes = kDefaultMaxStringBytes;
  impl->limits = limits;
  JsonLimits schema_limits;
  schema_limits.max_depth = 64;
  auto parsed = ParseStrict(schema_json, schema_limits, &impl->schema_doc);
  if (!parsed) {
    return tl::unexpected("the schema is not valid JSON: " + parsed.error().message +
                          (parsed.error().path.empty() ? "" : " at `" + parsed.error().path + "`"));
  }
  if (!impl->schema_doc.is_object() && !impl->schema_doc.is_boolean()) {
    return tl::unexpected(std::string("the schema must be a JSON object"));
  }
  std::string errors;
  std::string path;
  CheckPatterns(impl->schema_doc, errors, path);
  if (!errors.empty()) return tl::unexpected(std::move(errors));
  try {
    valijson::SchemaParser parser;
    valijson::adapters::NlohmannJsonAdapter adapter(impl->schema_doc);
    // No fetch function: a `$ref` to another document fails instead of being fetched.
    parser.populateSchema(adapter, impl->schema);
  } catch (const std::exception& e) {
    return tl::unexpected("the schema is not valid: " + std::string(e.what()));
  }
  return std::shared_ptr<const SchemaValidator>(new SchemaValidator(std::move(impl)));
}

tl::expected<void, InputError> SchemaValidator::Validate(std::string_view body) const {
  Json doc;
  std::string_view text = body.empty() ? std::string_view("null") : body;
  auto parsed = ParseStrict(text, impl_->limits, &doc);
  if (!parsed) return tl::unexpected(std::move(parsed.error()));

  std::unique_ptr<valijson::Validator> validator;
  {
    std::lock_guard lock(impl_->mu);
    if (!impl_->free.empty()) {
      validator = std::move(impl_->free.back());
      impl_->free.pop_back();
    }
  }
  if (!validator) validator = std::make_unique<valijson::Validator>();
  valijson::ValidationResults results;
  bool valid = false;
  try {
    valijson::adapters::NlohmannJsonAdapter adapter(doc);
    valid = validator->validate(impl_->schema, adapter, &results);
  } catch (const std::exception&) {
    // std::regex may throw (error_complexity, error_stack): refuse, never crash.
    {
      std::lock_guard lock(impl_->mu);
      if (impl_->free.size() < 64) impl_->free.push_back(std::move(validator));
    }
    return tl::unexpected(InputError{ErrorCode::kSchemaViolation,
                                     "the body could not be checked against the schema", ""});
  }
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->free.size() < 64) impl_->free.push_back(std::move(validator));
  }
  if (valid) return {};
  // The most specific complaint: the one with the deepest context, first of those.
  valijson::ValidationResults::Error best;
  bool have = false;
  valijson::ValidationResults::Error e;
  while (results.popError(e)) {
    if (!have || e.context.size() > best.context.size()) {
      best = e;
      have = true;
    }
  }
  InputError error{ErrorCode::kSchemaViolation, "", have ? ContextToPointer(best.context) : ""};
  std::string where = error.path.empty() ? std::string("the body") : "`" + error.path + "`";
  error.message = where + " does not match the schema: " +
                  (have ? best.description : std::string("invalid"));
  return tl::unexpected(std::move(error));
}

tl::expected<void, InputError> CheckJson(std::string_view body, const JsonLimits& limits) {
  return ParseStrict(body, limits, nullptr);
}

bool IsJsonContentType(std::string_view content_type) noexcept {
  size_t semi = content_type.find(';');
  if (!IEquals(Trim(content_type.substr(0, semi)), "application/json")) return false;
  while (semi != std::string_view::npos) {
    std::string_view rest = content_type.substr(semi + 1);
    size_t next = rest.find(';');
    std::string_view param = Trim(rest.substr(0, next));
    semi = next == std::string_view::npos ? next : semi + 1 + next;
    if (param.empty()) continue;
    size_t eq = param.find('=');
    if (eq == std::string_view::npos) return false;
    std::string_view name = Trim(param.substr(0, eq));
    std::string_view value = Trim(param.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (!IEquals(name, "charset") || !IEquals(value, "utf-8")) return false;
  }
  return true;
}

tl::expected<void, InputError> ValidateInput(const HttpRequest& request,
                                             const InputRules& rules) {
  if (request.body.size() > rules.max_body_bytes) {
    return tl::unexpected(InputError{ErrorCode::kPayloadTooLarge,
                                     "the body is larger than " +
                                         std::to_string(rules.max_body_bytes) + " bytes",
                                     ""});
  }
  if (rules.kind == BodyKind::kRaw) return {};
  if (!request.body.empty()) {
    const std::string* type = FindHeader(request.headers, "content-type");
    if (type == nullptr || !IsJsonContentType(*type)) {
      return tl::unexpected(InputError{ErrorCode::kUnsupportedMediaType,
                                       "the body must be sent as `application/json`", ""});
    }
  }
  if (rules.schema) return rules.schema->Validate(request.body);
  if (request.body.empty()) return {};
  return CheckJson(request.body, rules.json);
}

}  // namespace fnjail::gateway
