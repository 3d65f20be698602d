// Error codes, JSON error bodies and request ids.
#include "gateway/errors.h"

#include <array>
#include <chrono>

#include "crypto/crypto.h"

namespace fnjail::gateway {

int ErrorStatus(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kBadRequest:
    case ErrorCode::kAmbiguousCredentials:
    case ErrorCode::kInvalidBody:
    case ErrorCode::kSchemaViolation:
      return 400;
    case ErrorCode::kUnauthenticated:
    case ErrorCode::kInvalidCredentials:
      return 401;
    case ErrorCode::kForbidden:
      return 403;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kMethodNotAllowed:
      return 405;
    case ErrorCode::kPayloadTooLarge:
      return 413;
    case ErrorCode::kUnsupportedMediaType:
      return 415;
    case ErrorCode::kRateLimited:
    case ErrorCode::kConcurrencyLimited:
      return 429;
    case ErrorCode::kFunctionError:
    case ErrorCode::kInternal:
      return 500;
    case ErrorCode::kBadGateway:
      return 502;
    case ErrorCode::kOverCapacity:
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kGatewayTimeout:
      return 504;
  }
  return 500;
}

std::string_view ErrorCodeName(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kBadRequest:
      return "bad-request";
    case ErrorCode::kAmbiguousCredentials:
      return "ambiguous-credentials";
    case ErrorCode::kInvalidBody:
      return "invalid-body";
    case ErrorCode::kSchemaViolation:
      return "schema-violation";
    case ErrorCode::kUnauthenticated:
      return "unauthenticated";
    case ErrorCode::kInvalidCredentials:
      return "invalid-credentials";
    case ErrorCode::kForbidden:
      return "forbidden";
    case ErrorCode::kNotFound:
      return "not-found";
    case ErrorCode::kMethodNotAllowed:
      return "method-not-allowed";
    case ErrorCode::kPayloadTooLarge:
      return "payload-too-large";
    case ErrorCode::kUnsupportedMediaType:
      return "unsupported-media-type";
    case ErrorCode::kRateLimited:
      return "rate-limited";
    case ErrorCode::kConcurrencyLimited:
      return "concurrency-limited";
    case ErrorCode::kFunctionError:
      return "function-error";
    case ErrorCode::kInternal:
      return "internal";
    case ErrorCode::kBadGateway:
      return "bad-gateway";
    case ErrorCode::kOverCapacity:
      return "over-capacity";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kGatewayTimeout:
      return "function-timeout";
  }
  return "internal";
}

void AppendJsonEscaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c == '"' || c == '\\') {
        out.push_back('\\');
        out.push_back(static_cast<char>(c));
      } else if (c < 0x20 || c == 0x7f) {
        out += "\\u00";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xf]);
      } else {
        out.push_back(static_cast<char>(c));
      }
      ++i;
      continue;
    }
    // Copy a well-formed UTF-8 sequence (RFC 3629: no overlongs, no surrogates, at most
    // U+10FFFF); replace anything else one byte at a time.
    size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    bool ok = len > 0 && c <= 0xf4 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) {
      ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
    }
    if (ok && len >= 3) {
      auto c1 = static_cast<unsigned char>(s[i + 1]);
      if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 >= 0xa0) || (c == 0xf0 && c1 < 0x90) ||
          (c == 0xf4 && c1 >= 0x90)) {
        ok = false;
      }
    }
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += "\xef\xbf\xbd";
      ++i;
    }
  }
}

std::string RenderErrorBody(std::string_view code, std::string_view message,
                      std::string_view request_id) {
  std::string body;
  body.reserve(48 + code.size() + message.size() + request_id.size());
  body += R"({"error":{"code":")";
  AppendJsonEscaped(body, code);
  body += R"(","message":")";
  AppendJsonEscaped(body, message);
  body += R"(","request_id":")";
  AppendJsonEscaped(body, request_id);
  body += "\"}}";
  return body;
}

HttpResponse ErrorReply(ErrorCode code, std::string_view message,
                           std::string_view request_id) {
  HttpResponse response;
  response.status = ErrorStatus(code);
  response.headers.reserve(4);
  response.headers.emplace_back("Content-Type", "application/json");
  response.headers.emplace_back("Cache-Control", "no-store");
  response.headers.emplace_back("X-Request-Id", std::string(request_id));
  response.body = RenderErrorBody(ErrorCodeName(code), message, request_id);
  return response;
}

RequestIdGenerator::RequestIdGenerator() : prefix_(0) {
  std::array<uint8_t, 8> bytes{};
  if (crypto::FillRandom(bytes)) {
    for (uint8_t b : bytes) prefix_ = (prefix_ << 8) | b;
  } else {
    // INVARIANT: ids only need to be unique, not secret; the counter guarantees that
    // within the process, this mix makes a clash across restarts unlikely.
    prefix_ = static_cast<uint64_t>(
                  std::chrono::system_clock::now().time_since_epoch().count()) ^
              reinterpret_cast<uintptr_t>(this);
  }
}

std::string RequestIdGenerator::Next() {
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t n = counter_.fetch_add(1, std::memory_order_relaxed);
  std::string id(kLength, '0');
  for (int i = 15; i >= 0; --i) {
    id[static_cast<size_t>(i)] = kHex[(prefix_ >> (4 * (15 - i))) & 0xf];
    id[static_cast<size_t>(16 + i)] = kHex[(n >> (4 * (15 - i))) & 0xf];
  }
  return id;
}

}  // namespace fnjail::gateway
