// Strict JSON parsing through nlohmann's callback interface.
#include "crypto/internal/json.h"

#include <set>
#include <string>
#include <vector>

namespace fnjail::crypto::internal {

Result<nlohmann::json> ParseStrictJson(std::string_view text, size_t max_depth,
                                       const std::string& operation) {
  std::vector<std::set<std::string>> keys_seen;  // one set per open object
  size_t depth = 0;
  bool too_deep = false;
  std::string duplicate;
  auto callback = [&](int /*depth*/, nlohmann::json::parse_event_t event,
                      nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    switch (event) {
      case Event::object_start:
        keys_seen.emplace_back();
        if (++depth > max_depth) too_deep = true;
        break;
      case Event::array_start:
        if (++depth > max_depth) too_deep = true;
        break;
      case Event::object_end:
        if (!keys_seen.empty()) keys_seen.pop_back();
        --depth;
        break;
      case Event::array_end:
        --depth;
        break;
      case Event::key:
        if (!keys_seen.empty() && parsed.is_string() &&
            !keys_seen.back().insert(parsed.get<std::string>()).second && duplicate.empty()) {
          duplicate = parsed.get<std::string>();
        }
        break;
      case Event::value:
        break;
    }
    return true;
  };
  nlohmann::json value = nlohmann::json::parse(text.begin(), text.end(), callback,
                                               /*allow_exceptions=*/false);
  if (value.is_discarded()) return Fail(operation, "invalid JSON");
  if (too_deep) {
    return Fail(operation, "JSON nested deeper than " + std::to_string(max_depth) + " levels");
  }
  if (!duplicate.empty()) {
    return Fail(operation, "duplicate JSON key `" + duplicate + "`");
  }
  return value;
}

}  // namespace fnjail::crypto::internal
