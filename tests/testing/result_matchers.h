// GoogleTest matchers for Result values: EXPECT_THAT(r, IsOk()), HasError("substring").
#pragma once

#include <sstream>
#include <string>

#include <gmock/gmock.h>

namespace fnjail::testing {

// Matches a Result (tl::expected) holding a value. On failure prints the error when it
// can be streamed or has ToString().
MATCHER(IsOk, "is ok") {
  if (arg.has_value()) return true;
  if constexpr (requires { arg.error().ToString(); }) {
    *result_listener << "error: " << arg.error().ToString();
  }
  return false;
}

// Matches a Result holding an error whose rendering contains `needle`.
MATCHER_P(HasError, needle, std::string("has an error containing `") + needle + "`") {
  if (arg.has_value()) {
    *result_listener << "holds a value";
    return false;
  }
  std::string text;
  if constexpr (requires { arg.error().ToString(); }) {
    text = arg.error().ToString();
  } else {
    std::ostringstream os;
    os << arg.error();
    text = os.str();
  }
  *result_listener << "error: " << text;
  return text.find(needle) != std::string::npos;
}

}  // namespace fnjail::testing
