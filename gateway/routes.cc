// Route matching with strict path checks.
#include "gateway/routes.h"

#include <algorithm>
#include <set>

namespace fnjail::gateway {

namespace {

constexpr size_t kMaxSegments = 32;
constexpr std::string_view kInvokePrefix = "/v1/functions/";

bool IsHex(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
int HexValue(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

// RFC 3986 pchar minus `%` (checked separately): unreserved, sub-delims, `:` and `@`.
bool IsPcharByte(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '-': case '.': case '_': case '~':
    case '!': case '$': case '&': case '\'': case '(': case ')':
    case '*': case '+': case ',': case ';': case '=':
    case ':': case '@':
      return true;
    default:
      return false;
  }
}

bool IsTokenChar(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool IsParamName(std::string_view s) noexcept {
  if (s.empty() || s.size() > 64) return false;
  if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_')) {
    return false;
  }
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '_')) {
      return false;
    }
  }
  return true;
}

// Splits `path` (starting with `/`) into segments, calling `fn(segment)` for each; stops
// early when fn returns false. "/" has one empty segment.
template <class Fn>
void ForEachSegment(std::string_view path, Fn&& fn) {
  size_t pos = 1;
  while (true) {
    size_t end = path.find('/', pos);
    std::string_view seg = path.substr(pos, end == std::string_view::npos ? end : end - pos);
    if (!fn(seg)) return;
    if (end == std::string_view::npos) return;
    pos = end + 1;
  }
}

// Checks the path rules; returns an empty string when the path is acceptable.
std::string_view CheckPath(std::string_view path, size_t* segments) {
  if (path.empty() || path[0] != '/') return "the request target must be a path starting with `/`";
  for (size_t i = 0; i < path.size(); ++i) {
    char c = path[i];
    if (c == '/') {
      if (i + 1 < path.size() && path[i + 1] == '/') return "the path has an empty segment";
      continue;
    }
    if (c == '%') {
      if (i + 2 >= path.size() || !IsHex(path[i + 1]) || !IsHex(path[i + 2])) {
        return "the path has a malformed percent-escape";
      }
      int v = HexValue(path[i + 1]) * 16 + HexValue(path[i + 2]);
      // SECURITY: an encoded separator, backslash, NUL or control character is how
      // traversal and smuggling past path-based rules is attempted; never accept one.
      if (v == '/' || v == '\\' || v < 0x20 || v == 0x7f) {
        return "the path has an encoded separator or control character";
      }
      i += 2;
      continue;
    }
    if (!IsPcharByte(c)) return "the path has a character that must be percent-encoded";
  }
  std::string_view problem;
  size_t count = 0;
  ForEachSegment(path, [&](std::string_view seg) {
    ++count;
    // Dot segments, also written as escapes (`%2e`), are refused rather than resolved:
    // a proxy in front and the gateway must never disagree on which path this is.
    bool dots = !seg.empty();
    size_t dot_count = 0;
    for (size_t i = 0; i < seg.size() && dots; ++i) {
      if (seg[i] == '.') {
        ++dot_count;
      } else if (seg[i] == '%' && i + 2 < seg.size() && seg[i + 1] == '2' &&
                 (seg[i + 2] == 'e' || seg[i + 2] == 'E')) {
        ++dot_count;
        i += 2;
      } else {
        dots = false;
      }
    }
    if (dots && dot_count <= 2) {
      problem = "the path has a `.` or `..` segment";
      return false;
    }
    return true;
  });
  *segments = count;
  if (!problem.empty()) return problem;
  if (count > kMaxSegments) return "the path has too many segments";
  return {};
}

bool CheckQuery(std::string_view query) {
  for (char c : query) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '#') return false;
  }
  return true;
}

}  // namespace

std::string_view RouteKindName(RouteKind kind) noexcept {
  switch (kind) {
    case RouteKind::kInvoke:
      return "invoke";
    case RouteKind::kFunctionRoute:
      return "function-route";
    case RouteKind::kHealth:
      return "healthz";
    case RouteKind::kReady:
      return "readyz";
    case RouteKind::kMetrics:
      return "metrics";
  }
  return "invoke";
}

bool IsValidFunctionName(std::string_view name) noexcept {
  if (name.empty() || name.size() > 64) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '-' && c != '_'))) return false;
  }
  return true;
}

tl::expected<std::string, std::string> DecodePathSegment(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c != '%') {
      out.push_back(c);
      continue;
    }
    if (i + 2 >= in.size() || !IsHex(in[i + 1]) || !IsHex(in[i + 2])) {
      return tl::unexpected(std::string("malformed percent-escape"));
    }
    int v = HexValue(in[i + 1]) * 16 + HexValue(in[i + 2]);
    if (v == '/' || v == '\\' || v < 0x20 || v == 0x7f) {
      return tl::unexpected(std::string("encoded separator or control character"));
    }
    out.push_back(static_cast<char>(v));
    i += 2;
  }
  return out;
}

tl::expected<Router, std::string> Router::Build(std::vector<DeclaredRoute> routes,
                                                RouterOptions options) {
  Router router;
  router.options_ = options;
  std::string errors;
  auto error = [&](const DeclaredRoute& r, std::string_view what) {
    if (!errors.empty()) errors += '\n';
    errors += "function `" + r.function + "`: route `" + r.method + " " + r.path + "`: ";
    errors += what;
  };
  for (auto& r : routes) {
    bool method_ok = !r.method.empty() && r.method.size() <= 16;
    for (char c : r.method) method_ok = method_ok && IsTokenChar(c) && !(c >= 'a' && c <= 'z');
    if (!method_ok) {
      error(r, "the method must be an upper-case HTTP method such as `GET`");
      continue;
    }
    if (!IsValidFunctionName(r.function)) {
      error(r, "the function name is not valid");
      continue;
    }
    if (r.path.find('%') != std::string::npos) {
      error(r, "a route pattern may not contain percent-escapes");
      continue;
    }
    if (r.path.empty() || r.path[0] != '/') {
      error(r, "the path must start with `/`");
      continue;
    }
    Compiled compiled{r.function, r.method, r.path, {}};
    bool bad = false;
    std::set<std::string, std::less<>> names;
    ForEachSegment(r.path, [&](std::string_view seg) {
      if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
        std::string_view name = seg.substr(1, seg.size() - 2);
        if (!IsParamName(name)) {
          error(r, "a parameter name must be a letter or `_` followed by letters, digits "
                   "or `_`");
          bad = true;
          return false;
        }
        if (!names.emplace(name).second) {
          error(r, "parameter `" + std::string(name) + "` appears twice");
          bad = true;
          return false;
        }
        compiled.segments.push_back({true, std::string(name)});
        return true;
      }
      bool ok = !seg.empty() && seg != "." && seg != "..";
      for (char c : seg) ok = ok && IsPcharByte(c);
      if (!ok) {
        error(r, "the path has an empty, dot or malformed segment (a literal segment holds "
                 "letters, digits and `-._~!$&'()*+,;=:@` only)");
        bad = true;
        return false;
      }
      compiled.segments.push_back({false, std::string(seg)});
      return true;
    });
    if (bad) continue;
    if (compiled.segments.size() > kMaxSegments) {
      error(r, "the path has more than 32 segments");
      continue;
    }
    const auto& first = compiled.segments.front();
    if (!first.param && (first.text == "healthz" || first.text == "readyz" ||
                         first.text == "metrics" ||
                         (first.text == "v1" && compiled.segments.size() >= 2 &&
                          !compiled.segments[1].param && compiled.segments[1].text == "functions"))) {
      error(r, "the path is reserved for the gateway's own routes");
      continue;
    }
    if (first.param && compiled.segments.size() == 1) {
      error(r, "a route of one parameter segment would shadow the gateway's own routes");
      continue;
    }
    router.routes_.push_back(std::move(compiled));
  }
  // Same method and same shape (literal or parameter at each position, same literals):
  // ambiguous, refused.
  auto shape = [](const Compiled& c) {
    std::string s = c.method;
    for (const auto& seg : c.segments) s += seg.param ? std::string("/{}") : "/" + seg.text;
    return s;
  };
  std::vector<std::pair<std::string, size_t>> shapes;
  for (size_t i = 0; i < router.routes_.size(); ++i) shapes.emplace_back(shape(router.routes_[i]), i);
  std::sort(shapes.begin(), shapes.end());
  for (size_t i = 1; i < shapes.size(); ++i) {
    if (shapes[i].first == shapes[i - 1].first) {
      const auto& a = router.routes_[shapes[i - 1].second];
      const auto& b = router.routes_[shapes[i].second];
      if (!errors.empty()) errors += '\n';
      errors += "route `" + b.method + " " + b.pattern + "` of function `" + b.function +
                "` is the same as `" + a.method + " " + a.pattern + "` of function `" +
                a.function + "`";
    }
  }
  if (!errors.empty()) return tl::unexpected(std::move(errors));
  // Most specific first: at the first position where two patterns differ, a literal
  // beats a parameter; then fewer segments first (only equal lengths can both match).
  std::stable_sort(router.routes_.begin(), router.routes_.end(),
                   [](const Compiled& a, const Compiled& b) {
                     size_t n = std::min(a.segments.size(), b.segments.size());
                     for (size_t i = 0; i < n; ++i) {
                       if (a.segments[i].param != b.segments[i].param) return !a.segments[i].param;
                     }
                     return a.segments.size() < b.segments.size();
                   });
  return router;
}

RouteMatch Router::Match(std::string_view method, std::string_view target) const {
  RouteMatch m;
  size_t qpos = target.find('?');
  m.path = target.substr(0, qpos);
  if (qpos != std::string_view::npos) m.query = target.substr(qpos + 1);
  size_t count = 0;
  std::string_view problem = CheckPath(m.path, &count);
  if (problem.empty() && !CheckQuery(m.query)) {
    problem = "the query has a space, control or non-ASCII character";
  }
  if (!problem.empty()) {
    m.status = RouteMatch::Status::kBadRequest;
    m.message = std::string(problem);
    return m;
  }

  auto builtin = [&](RouteKind kind, std::string_view want_method) {
    m.kind = kind;
    if (method == want_method) {
      m.status = RouteMatch::Status::kMatched;
    } else {
      m.status = RouteMatch::Status::kMethodNotAllowed;
      m.allow = std::string(want_method);
    }
    return m;
  };
  if (options_.serve_probes && m.path == "/healthz") return builtin(RouteKind::kHealth, "GET");
  if (options_.serve_probes && m.path == "/readyz") return builtin(RouteKind::kReady, "GET");
  if (options_.serve_metrics && m.path == "/metrics") return builtin(RouteKind::kMetrics, "GET");

  if (m.path.starts_with(kInvokePrefix)) {
    std::string_view rest = m.path.substr(kInvokePrefix.size());
    size_t slash = rest.find('/');
    if (slash != std::string_view::npos && rest.substr(slash) == "/invoke") {
      std::string_view name = rest.substr(0, slash);
      if (!IsValidFunctionName(name)) {
        m.status = RouteMatch::Status::kBadRequest;
        m.message = "the function name must be 1 to 64 letters, digits, `-` or `_`";
        return m;
      }
      m.kind = RouteKind::kInvoke;
      if (method != "POST") {
        m.status = RouteMatch::Status::kMethodNotAllowed;
        m.allow = "POST";
        return m;
      }
      m.status = RouteMatch::Status::kMatched;
      m.function = std::string(name);
      return m;
    }
    m.status = RouteMatch::Status::kNotFound;
    return m;
  }

  // Declared routes, most specific first. Split the path once.
  std::string_view segs[kMaxSegments];
  size_t n = 0;
  ForEachSegment(m.path, [&](std::string_view seg) {
    segs[n++] = seg;
    return n < kMaxSegments;
  });
  const Compiled* path_owner = nullptr;
  std::vector<std::string_view> allowed;
  for (const auto& route : routes_) {
    if (route.segments.size() != n) continue;
    bool ok = true;
    for (size_t i = 0; i < n && ok; ++i) {
      const auto& seg = route.segments[i];
      ok = seg.param ? !segs[i].empty() : seg.text == segs[i];
    }
    if (!ok) continue;
    if (route.method != method) {
      if (path_owner == nullptr) path_owner = &route;
      if (std::find(allowed.begin(), allowed.end(), route.method) == allowed.end()) {
        allowed.push_back(route.method);
      }
      continue;
    }
    // Parameters were checked by CheckPath already; decoding cannot fail here.
    for (size_t i = 0; i < n; ++i) {
      if (!route.segments[i].param) continue;
      auto value = DecodePathSegment(segs[i]);
      if (!value) {
        m.status = RouteMatch::Status::kBadRequest;
        m.message = "the path has a malformed parameter";
        m.params.clear();
        return m;
      }
      m.params.emplace_back(route.segments[i].text, std::move(*value));
    }
    m.status = RouteMatch::Status::kMatched;
    m.kind = RouteKind::kFunctionRoute;
    m.function = route.function;
    return m;
  }
  if (path_owner != nullptr) {
    std::sort(allowed.begin(), allowed.end());
    m.status = RouteMatch::Status::kMethodNotAllowed;
    m.kind = RouteKind::kFunctionRoute;
    m.function = path_owner->function;
    for (auto a : allowed) {
      if (!m.allow.empty()) m.allow += ", ";
      m.allow += a;
    }
    return m;
  }
  m.status = RouteMatch::Status::kNotFound;
  return m;
}

}  // namespace fnjail::gateway
