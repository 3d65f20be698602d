// The JSON error responses the gateway answers itself (gateway/http_server.h).
#include <string>

#include <nlohmann/json.hpp>

#include "gateway/http_server.h"

namespace fnjail::gateway {

std::string ErrorBody(std::string_view code, std::string_view message,
                      std::string_view request_id) {
  nlohmann::json error = {{"code", code}, {"message", message}, {"request_id", request_id}};
  // Replace, never throw, on invalid UTF-8: messages are ours but stay safe either way.
  return nlohmann::json{{"error", std::move(error)}}.dump(-1, ' ', false,
                                                          nlohmann::json::error_handler_t::replace);
}

HttpResponse ErrorResponse(int status, std::string_view code, std::string_view message,
                           std::string_view request_id) {
  HttpResponse response;
  response.status = status;
  response.headers.emplace_back("Content-Type", "application/json");
  response.headers.emplace_back("X-Request-Id", std::string(request_id));
  response.body = ErrorBody(code, message, request_id);
  return response;
}

}  // namespace fnjail::gateway
