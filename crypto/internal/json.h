// Strict JSON parsing for untrusted input: no duplicate keys, bounded nesting.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "crypto/crypto.h"

namespace fnjail::crypto::internal {

// Parses `text` as one JSON value. Refuses invalid JSON and invalid UTF-8 (nlohmann's
// lexer checks it), duplicate keys in any object (two readers could otherwise disagree on
// a claim) and nesting deeper than `max_depth`. Errors carry `operation`.
Result<nlohmann::json> ParseStrictJson(std::string_view text, size_t max_depth,
                                       const std::string& operation);

}  // namespace fnjail::crypto::internal
