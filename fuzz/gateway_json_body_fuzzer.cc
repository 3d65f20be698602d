// Fuzzer of the gateway's body validation: strict JSON (depth limit, duplicate keys, string
// bound) and a JSON Schema with pattern, format and length keywords (valijson).
//
// Any input must come back valid or refused with a message, never a crash or a hang (the
// string bound keeps std::regex shallow). Laws: what the strict parser accepts, nlohmann's
// plain parser accepts too (strict is never looser); a refusal says why; the same input is
// judged the same way twice; a schema refusal is kInvalidBody or kSchemaViolation only.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>

#include <nlohmann/json.hpp>

#include "gateway/validation.h"

namespace {

namespace gw = fnjail::gateway;

[[noreturn]] void Violation(const char* what) {
  std::fprintf(stderr, "gateway_json_body_fuzzer: %s\n", what);
  std::abort();
}

constexpr std::string_view kSchema = R"({
  "type": "object",
  "properties": {
    "name": {"type": "string", "pattern": "^[a-z][a-z0-9-]*$", "maxLength": 32},
    "when": {"type": "string", "format": "date-time"},
    "day": {"type": "string", "format": "date"},
    "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}, "maxItems": 4},
    "n": {"type": "integer", "minimum": 0, "maximum": 10},
    "any": {"anyOf": [{"type": "null"}, {"type": "object", "additionalProperties": false}]}
  },
  "patternProperties": {"^x-[a-z]+$": {"type": "boolean"}},
  "required": ["name"]
})";

const gw::SchemaValidator& Schema() {
  static const std::shared_ptr<const gw::SchemaValidator> schema = [] {
    auto s = gw::SchemaValidator::Compile(kSchema, {8, 256});
    if (!s) Violation("the fixed schema does not compile");
    return *s;
  }();
  return *schema;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  gw::JsonLimits limits{8, 64};
  auto strict = gw::CheckJson(body, limits);
  auto again = gw::CheckJson(body, limits);
  if (strict.has_value() != again.has_value()) Violation("CheckJson is not deterministic");
  if (strict) {
    if (!nlohmann::json::accept(body)) Violation("strict parse accepted what nlohmann refuses");
  } else {
    if (strict.error().message.empty()) Violation("a refusal without a message");
    if (strict.error().code != gw::ErrorCode::kInvalidBody) Violation("unexpected error code");
  }
  auto validated = Schema().Validate(body);
  if (!validated) {
    if (validated.error().message.empty()) Violation("a schema refusal without a message");
    if (validated.error().code != gw::ErrorCode::kInvalidBody &&
        validated.error().code != gw::ErrorCode::kSchemaViolation) {
      Violation("unexpected schema error code");
    }
  } else if (!nlohmann::json::accept(body) && !body.empty()) {
    Violation("schema accepted a body that is not JSON");
  }
  auto twice = Schema().Validate(body);
  if (twice.has_value() != validated.has_value()) Violation("Validate is not deterministic");
  return 0;
}
