// The error responses the HTTP server answers itself (gateway/http_server.h), in the
// gateway's one JSON error shape (gateway/errors.h).
#include <string>

#include "gateway/errors.h"
#include "gateway/http_server.h"

namespace fnjail::gateway {

HttpResponse ErrorResponse(int status, std::string_view code, std::string_view message,
                           std::string_view request_id) {
  HttpResponse response;
  response.status = status;
  response.headers.emplace_back("Content-Type", "application/json");
  response.headers.emplace_back("Cache-Control", "no-store");
  response.headers.emplace_back("X-Request-Id", std::string(request_id));
  response.body = RenderErrorBody(code, message, request_id);
  return response;
}

}  // namespace fnjail::gateway
