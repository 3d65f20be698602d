// The gateway's HTTP vocabulary: one parsed request, one response, and the Handler the
// server hands each request to. Plain data, no Beast or Asio types.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fnjail::gateway {

// Header fields in the order received, names spelled as received (compare them without
// regard to case: FindHeader does).
using HeaderList = std::vector<std::pair<std::string, std::string>>;

// One complete request as the server accepted it. The server has already enforced its size
// limits and rejected the request-smuggling shapes (see ValidateHeaderBlock in
// gateway/http_server.h), so at most one Content-Length and no Transfer-Encoding other
// than `chunked` reached here, and `body` is the decoded body.
struct HttpRequest {
  std::string method;  // e.g. "POST", as received (methods are case-sensitive)
  std::string target;  // path plus optional "?query", as received
  HeaderList headers;
  std::string body;
  std::string remote_ip;  // peer address in text form ("127.0.0.1", "::1")
  uint16_t remote_port = 0;
  bool tls = false;  // arrived over TLS
};

// The answer. The server adds Content-Length, Date, Server and Connection itself; a handler
// that sets them is overridden. When `headers` lacks X-Request-Id the server adds the id it
// assigned to the request.
struct HttpResponse {
  int status = 200;
  HeaderList headers;
  std::string body;
};

// The filter chain (or any request consumer). Implementations are thread-safe: the server
// calls Handle concurrently from its handler pool, never from an I/O thread, so Handle may
// block (e.g. on a jail) up to the function's deadline. Handle must not throw; if it does
// anyway, the server answers 500 with a JSON error body.
class Handler {
 public:
  virtual ~Handler() = default;
  virtual HttpResponse Handle(const HttpRequest& request) = 0;
};

// The value of the first header named `name` (ASCII case-insensitive), or nullptr.
inline const std::string* FindHeader(const HeaderList& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (key.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < key.size() && same; ++i) {
      char a = key[i], b = name[i];
      if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
      if (b >= 'A' && b <= 'Z') b = static_cast<char>(b - 'A' + 'a');
      same = a == b;
    }
    if (same) return &value;
  }
  return nullptr;
}

}  // namespace fnjail::gateway
