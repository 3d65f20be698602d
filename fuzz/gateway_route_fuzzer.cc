// Fuzzer of route matching (gateway::Router::Match): the first byte picks the method, the
// rest is the request target, as received from a client.
//
// Laws: the path and query views lie inside the target; a matched or 404/405 path has no
// empty, `.` or `..` segment (also not as `%2e`) and no encoded separator; a matched
// declared route's decoded parameters hold no `/`, `\`, NUL or control character; a refusal
// says why; the same target matches the same way twice.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gateway/routes.h"

namespace {

namespace gw = fnjail::gateway;

[[noreturn]] void Violation(const char* what) {
  std::fprintf(stderr, "gateway_route_fuzzer: %s\n", what);
  std::abort();
}

const gw::Router& TheRouter() {
  static const gw::Router router = [] {
    auto r = gw::Router::Build({{"users", "GET", "/users/{id}"},
                                {"users", "PUT", "/users/{id}"},
                                {"orders", "GET", "/users/{id}/orders/{order}"},
                                {"me", "GET", "/users/me"},
                                {"files", "POST", "/files/{name}/upload"},
                                {"any", "GET", "/{a}/{b}/c"}});
    if (!r) Violation("the fixed routes do not build");
    return std::move(*r);
  }();
  return router;
}

bool Inside(std::string_view part, std::string_view whole) {
  if (part.empty()) return true;
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static constexpr std::string_view kMethods[] = {"GET", "POST", "PUT", "DELETE", "get", ""};
  std::string_view method = kMethods[data[0] % 6];
  std::string target(reinterpret_cast<const char*>(data + 1), size - 1);
  gw::RouteMatch m = TheRouter().Match(method, target);
  if (!Inside(m.path, target) || !Inside(m.query, target)) Violation("views outside the target");
  gw::RouteMatch again = TheRouter().Match(method, target);
  if (again.status != m.status || again.function != m.function || again.params != m.params) {
    Violation("Match is not deterministic");
  }
  if (m.status == gw::RouteMatch::Status::kBadRequest) {
    if (m.message.empty()) Violation("a refusal without a message");
    return 0;
  }
  std::string path(m.path);
  if (path.empty() || path[0] != '/') Violation("accepted a path not starting with /");
  if (path.find("//") != std::string::npos) Violation("accepted an empty segment");
  std::string lowered;
  for (char c : path) lowered += (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  for (std::string_view bad : {"%2f", "%5c", "%00"}) {
    if (lowered.find(bad) != std::string::npos) Violation("accepted an encoded separator");
  }
  std::string decoded_dots;
  for (size_t i = 0; i < lowered.size(); ++i) {
    if (lowered.compare(i, 3, "%2e") == 0) {
      decoded_dots += '.';
      i += 2;
    } else {
      decoded_dots += lowered[i];
    }
  }
  decoded_dots += '/';
  if (decoded_dots.find("/./") != std::string::npos ||
      decoded_dots.find("/../") != std::string::npos) {
    Violation("accepted a dot segment");
  }
  if (m.status == gw::RouteMatch::Status::kMatched) {
    for (const auto& [name, value] : m.params) {
      for (char c : value) {
        auto u = static_cast<unsigned char>(c);
        if (c == '/' || c == '\\' || u < 0x20 || u == 0x7f) Violation("unsafe parameter value");
      }
      if (value.empty()) Violation("empty parameter");
    }
    if (m.kind == gw::RouteKind::kInvoke && !gw::IsValidFunctionName(m.function)) {
      Violation("invoke route with an invalid function name");
    }
  }
  return 0;
}
