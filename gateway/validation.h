// Input validation: body size, content type, strict JSON and the function's JSON Schema.
//
// Untrusted-input posture: the body is attacker-controlled bytes. JSON is parsed strictly
// (RFC 8259, valid UTF-8) with a nesting limit and duplicate keys refused, since two
// parsers that pick different duplicates see different requests. Before a schema runs,
// every string in the body is bounded, because valijson matches `pattern` and `format`
// with std::regex, whose backtracking recursion grows with the input; schema patterns
// that can backtrack exponentially are refused when the schema is compiled.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "gateway/errors.h"
#include "gateway/http.h"

namespace fnjail::gateway {

struct JsonLimits {
  size_t max_depth = 32;            // nesting of arrays and objects
  size_t max_string_bytes = 0;      // each string and key; 0: no bound of its own
};

// Why input was refused: the error to answer with (kInvalidBody, kSchemaViolation,
// kPayloadTooLarge or kUnsupportedMediaType) and a message naming the failing location
// as a JSON Pointer (`/items/3/name`; empty for the whole body).
struct InputError {
  ErrorCode code = ErrorCode::kInvalidBody;
  std::string message;
  std::string path;
};

// Parses `body` strictly under `limits` and throws the result away: valid or an error.
tl::expected<void, InputError> CheckJson(std::string_view body, const JsonLimits& limits);

// A compiled JSON Schema (draft 7 as valijson implements it). Immutable; Validate is
// thread-safe (valijson's regex cache is per validator, and validators are pooled).
class SchemaValidator {
 public:
  // Default bound on strings validated against a schema (see file comment).
  static constexpr size_t kDefaultMaxStringBytes = 4096;

  // Compiles `schema_json`. Errors: not JSON, not a schema valijson accepts, a `$ref` to
  // another document, a `pattern` or `patternProperties` regex that does not compile or
  // that nests repetition or alternation inside repetition, or uses a backreference.
  // `limits.max_string_bytes` 0 means kDefaultMaxStringBytes.
  static tl::expected<std::shared_ptr<const SchemaValidator>, std::string> Compile(
      std::string_view schema_json, JsonLimits limits = {});
  ~SchemaValidator();

  // Parses `body` strictly and validates it. Errors: kInvalidBody (not JSON, too deep, a
  // duplicate key, a string over the bound), kSchemaViolation (the schema's first most
  // specific complaint and its path).
  tl::expected<void, InputError> Validate(std::string_view body) const;

 private:
  struct Impl;
  explicit SchemaValidator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

enum class BodyKind {
  kJson,  // Content-Type application/json (charset utf-8 at most); strict JSON
  kRaw,   // any bytes, any content type
};

// What one function accepts.
struct InputRules {
  BodyKind kind = BodyKind::kJson;
  size_t max_body_bytes = size_t{1} << 20;
  JsonLimits json;  // used without a schema
  std::shared_ptr<const SchemaValidator> schema;  // may be null
};

// Checks a request body against `rules`: size (413), content type (415), JSON and schema
// (400). An empty body of a JSON function stands for `null` and needs no content type.
tl::expected<void, InputError> ValidateInput(const HttpRequest& request,
                                             const InputRules& rules);

// True when `content_type` is `application/json`, optionally with `charset=utf-8`
// (names and values case-insensitive, spaces allowed around `;` and `=`).
bool IsJsonContentType(std::string_view content_type) noexcept;

// Checks a regex the way Compile checks schema patterns; an error says what is wrong.
tl::expected<void, std::string> CheckSchemaPattern(std::string_view pattern);

}  // namespace fnjail::gateway
