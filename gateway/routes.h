// Route matching: which endpoint a request target names, after strict path checks.
//
// Untrusted-input posture: the target comes straight from the client. It is checked as
// bytes (docs/gateway-chain.md, "Paths"): no decoding tricks, no dot segments, no empty
// segments; parameters are percent-decoded only after those checks, and a decoded value
// may not hold `/`, `\`, NUL or control characters. Pure and allocation-light.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

namespace fnjail::gateway {

enum class RouteKind {
  kInvoke,         // POST /v1/functions/{name}/invoke
  kFunctionRoute,  // a route a function declares
  kHealth,         // GET /healthz
  kReady,          // GET /readyz
  kMetrics,        // GET /metrics
};
std::string_view RouteKindName(RouteKind kind) noexcept;

// A route a function declares in its file: method and path pattern, where a segment is a
// literal or `{param}` (e.g. `GET /users/{id}/orders`).
struct DeclaredRoute {
  std::string function;
  std::string method;
  std::string path;
};

struct RouterOptions {
  bool serve_probes = true;   // GET /healthz and GET /readyz on this listener
  bool serve_metrics = true;  // GET /metrics on this listener
};

// Function names: 1 to 64 of [A-Za-z0-9_-], starting with a letter or digit.
bool IsValidFunctionName(std::string_view name) noexcept;

struct RouteMatch {
  enum class Status {
    kMatched,           // kind, function and params are set
    kBadRequest,        // 400: the target breaks a path rule; message says which
    kNotFound,          // 404: no route has this path
    kMethodNotAllowed,  // 405: routes have this path, none this method; allow lists them
  };
  Status status = Status::kNotFound;
  RouteKind kind = RouteKind::kInvoke;
  // kMatched: the function invoked (for kInvoke the name in the path, which may name no
  // deployed function); kMethodNotAllowed: the function owning the most specific route of
  // this path (empty for built-in routes).
  std::string function;
  std::vector<std::pair<std::string, std::string>> params;  // declared routes, decoded
  std::string allow;    // kMethodNotAllowed: e.g. "GET, POST"
  std::string message;  // kBadRequest: lower-case reason, no user input echoed
  std::string_view path;   // the path part of the target (a view into it)
  std::string_view query;  // the query without `?` (a view into the target), may be empty
};

// The route table: built-in routes plus every declared route. Immutable once built;
// Match is thread-safe.
class Router {
 public:
  // Checks and indexes `routes`. Errors (all reported, one per line): a bad method or
  // pattern, a route under a built-in path, two routes of the same method and shape.
  static tl::expected<Router, std::string> Build(std::vector<DeclaredRoute> routes,
                                                 RouterOptions options = {});
  Router() = default;

  // Matches `method` and `target` (path plus optional `?query`, as received). The returned
  // views point into `target`, which must outlive them.
  RouteMatch Match(std::string_view method, std::string_view target) const;

  size_t declared_count() const noexcept { return routes_.size(); }

 private:
  struct Segment {
    bool param = false;
    std::string text;  // the literal, or the parameter name
  };
  struct Compiled {
    std::string function;
    std::string method;
    std::string pattern;
    std::vector<Segment> segments;
  };
  std::vector<Compiled> routes_;  // most specific first
  RouterOptions options_;
};

// Percent-decodes `in` (strictly: `%` must be followed by two hex digits). Fails on a bad
// escape and on a decoded `/`, `\`, NUL or control character.
tl::expected<std::string, std::string> DecodePathSegment(std::string_view in);

}  // namespace fnjail::gateway
