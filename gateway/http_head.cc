// Request head checks (gateway/http_head.h): the smuggling shapes refused before any parser
// with its own opinions sees the bytes.
#include "gateway/http_head.h"

#include <string>
#include <utility>

namespace fnjail::gateway {
namespace {

tl::unexpected<HeadError> Refuse(std::string code, std::string message, int status = 400) {
  return tl::unexpected(HeadError{status, std::move(code), std::move(message)});
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

// RFC 9110 section 5.6.2 tchar.
bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

// A field value may hold visible ASCII, SP, HTAB and obs-text (0x80-0xFF). Every other
// control character, NUL, CR and LF above all, is refused: a CR or LF would end the line for
// a proxy that splits lines differently, and a NUL truncates the value for C-string readers.
bool IsValueChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7f);
}

// Origin-form (RFC 9112 section 3.2.1): starts with '/', then visible ASCII only. Absolute
// and authority forms are for proxies, which this server is not.
bool IsOriginForm(std::string_view target) {
  if (target.empty() || target.front() != '/') return false;
  for (char c : target) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
  }
  return true;
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Digits only, no sign, no list, at most 2^63 - 1.
std::optional<uint64_t> ParseContentLength(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (value > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  return value;
}

// True when the comma-separated `list` holds `token` (case-insensitive).
bool ListHas(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    std::string_view item = TrimOws(list.substr(0, comma));
    if (EqualsIgnoreCase(item, token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

tl::expected<std::optional<size_t>, HeadError> FindHeadEnd(std::string_view data,
                                                           size_t scanned) {
  // The last three bytes seen may begin the blank line or hold a CR whose follower is new.
  const size_t start = scanned > 3 ? scanned - 3 : 0;
  for (size_t i = start; i < data.size(); ++i) {
    const char c = data[i];
    if (c == '\n') {
      if (i == 0 || data[i - 1] != '\r') return Refuse("bad-request", "bare LF in request head");
      // A blank line ends the head: the CRLF just before this line's CRLF.
      if (i >= 3 && data[i - 2] == '\n' && data[i - 3] == '\r') return i + 1;
      // Leading empty lines before the request line are tolerated by RFC 9112 2.2 but
      // nothing legitimate sends them: refuse rather than skip.
      if (i == 1) return Refuse("bad-request", "empty line before the request line");
    } else if (c == '\r') {
      if (i + 1 < data.size() && data[i + 1] != '\n') {
        return Refuse("bad-request", "bare CR in request head");
      }
    }
  }
  return std::optional<size_t>();
}

tl::expected<RequestHead, HeadError> ParseRequestHead(std::string_view block, size_t max_fields) {
  if (block.size() < 4 || block.substr(block.size() - 4) != "\r\n\r\n") {
    return Refuse("bad-request", "incomplete request head");
  }
  RequestHead head;

  // Request line: METHOD SP target SP HTTP/1.x CRLF, single spaces only.
  size_t eol = block.find("\r\n");
  const std::string_view line = block.substr(0, eol);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos ||
      line.find(' ', sp2 + 1) != std::string_view::npos) {
    return Refuse("bad-request", "malformed request line");
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(method)) return Refuse("bad-request", "malformed request method");
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9') {
    return Refuse("bad-request", "malformed HTTP version");
  }
  if (version == "HTTP/1.1") {
    head.version = 11;
  } else if (version == "HTTP/1.0") {
    head.version = 10;
  } else {
    return Refuse("version-not-supported", "only HTTP/1.0 and HTTP/1.1 are served", 505);
  }
  if (!(IsOriginForm(target) || (target == "*" && method == "OPTIONS"))) {
    return Refuse("bad-request", "request target must be an absolute path");
  }
  head.method = std::string(method);
  head.target = std::string(target);

  // Header fields, one per line. The final CRLF CRLF leaves one empty line at the end.
  const std::string_view fields = block.substr(eol + 2, block.size() - 2 - (eol + 2));
  size_t pos = 0;
  int host_count = 0;
  int te_count = 0;
  bool connection_close = false;
  bool connection_keep_alive = false;
  size_t field_count = 0;
  while (pos < fields.size()) {
    eol = fields.find("\r\n", pos);
    if (eol == std::string_view::npos) return Refuse("bad-request", "malformed header line");
    const std::string_view field = fields.substr(pos, eol - pos);
    pos = eol + 2;
    if (field.empty()) return Refuse("bad-request", "malformed header line");
    if (++field_count > max_fields) {
      return Refuse("header-too-large", "too many header fields", 431);
    }
    if (field.front() == ' ' || field.front() == '\t') {
      return Refuse("bad-request", "obsolete line folding in a header");
    }
    const size_t colon = field.find(':');
    if (colon == std::string_view::npos) return Refuse("bad-request", "header line without a colon");
    const std::string_view name = field.substr(0, colon);
    if (name.empty()) return Refuse("bad-request", "empty header name");
    for (char c : name) {
      if (c == ' ' || c == '\t') return Refuse("bad-request", "whitespace in a header name");
      if (!IsTokenChar(c)) return Refuse("bad-request", "invalid character in a header name");
    }
    const std::string_view raw_value = field.substr(colon + 1);
    for (char c : raw_value) {
      if (!IsValueChar(c)) return Refuse("bad-request", "control character in a header value");
    }
    const std::string_view value = TrimOws(raw_value);

    if (EqualsIgnoreCase(name, "content-length")) {
      if (head.content_length) return Refuse("bad-request", "duplicate Content-Length");
      head.content_length = ParseContentLength(value);
      if (!head.content_length) return Refuse("bad-request", "malformed Content-Length");
    } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
      ++te_count;
      if (te_count > 1) return Refuse("bad-request", "duplicate Transfer-Encoding");
      if (value != "chunked") {
        return Refuse("bad-request", "Transfer-Encoding other than `chunked`");
      }
      head.chunked = true;
    } else if (EqualsIgnoreCase(name, "host")) {
      ++host_count;
    } else if (EqualsIgnoreCase(name, "connection")) {
      connection_close = connection_close || ListHas(value, "close");
      connection_keep_alive = connection_keep_alive || ListHas(value, "keep-alive");
    } else if (EqualsIgnoreCase(name, "expect")) {
      if (!EqualsIgnoreCase(value, "100-continue")) {
        return Refuse("expectation-failed", "only `Expect: 100-continue` is understood", 417);
      }
      head.expect_continue = true;
    }
    head.headers.emplace_back(std::string(name), std::string(value));
  }

  if (head.content_length && head.chunked) {
    return Refuse("bad-request", "both Content-Length and Transfer-Encoding");
  }
  if (head.chunked && head.version == 10) {
    return Refuse("bad-request", "Transfer-Encoding in an HTTP/1.0 request");
  }
  if (head.version == 11 && host_count != 1) {
    return Refuse("bad-request", host_count == 0 ? "missing Host header" : "duplicate Host header");
  }
  if (host_count > 1) return Refuse("bad-request", "duplicate Host header");
  head.keep_alive = head.version == 11 ? !connection_close
                                       : (connection_keep_alive && !connection_close);
  return head;
}

}  // namespace fnjail::gateway
