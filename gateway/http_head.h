// The strict first look at a request: the request line and header block, checked as raw
// bytes before anything else reads them. Pure functions: no sockets, no allocation beyond
// the result, safe on any input (fuzz/http_request_fuzzer.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "gateway/http.h"

namespace fnjail::gateway {

// The parsed head of a request that passed every check below.
struct RequestHead {
  std::string method;
  std::string target;
  int version = 11;  // 10 or 11
  HeaderList headers;
  std::optional<uint64_t> content_length;  // the one Content-Length, when present
  bool chunked = false;                    // Transfer-Encoding: chunked
  bool keep_alive = true;                  // HTTP/1.1 unless `Connection: close`; 1.0 opt-in
  bool expect_continue = false;            // `Expect: 100-continue`
};

// Why a head was refused: the HTTP status to answer (400, 417, 505), a stable code for the
// JSON error body and a lower-case message with no user input echoed verbatim.
struct HeadError {
  int status = 400;
  std::string code;
  std::string message;
};

// Where the head ends in `data` (the bytes received so far on a connection): the offset just
// past the blank line, std::nullopt when the head is not complete yet, or a HeadError when the
// bytes already break the framing (a bare LF or a bare CR: line endings are CRLF only, since
// peers that also accept a lone LF would split the request differently). `scanned` is how
// many bytes an earlier call already looked at without finding the end, so feeding a head one
// byte at a time stays linear.
tl::expected<std::optional<size_t>, HeadError> FindHeadEnd(std::string_view data,
                                                           size_t scanned = 0);

// Parses and checks one complete head (`block` ends with the blank line's CRLF CRLF).
// Refused with 400, because each lets two parsers disagree on where a request ends (request
// smuggling) or hides bytes from later checks:
//   - both Content-Length and Transfer-Encoding;
//   - a Transfer-Encoding other than exactly `chunked` (one field, one coding, lower case),
//     and any Transfer-Encoding in an HTTP/1.0 request;
//   - a Content-Length that is repeated (even with the same value), empty, a list, signed,
//     not all digits, or larger than 2^63 - 1;
//   - NUL, CR or LF (or any other control character but HTAB) in a header name or value;
//     an empty header name; a name that is not an RFC 9110 token; whitespace before the colon;
//   - obsolete line folding (a header line starting with space or tab);
//   - a request line that is not `METHOD SP origin-form SP HTTP/1.x` (`*` only for OPTIONS);
//   - an HTTP/1.1 request without exactly one Host header (RFC 9112 section 3.2).
// An `Expect` other than `100-continue` is 417; a version other than 1.0 or 1.1 is 505;
// more than `max_fields` header fields is 431 (header-too-large).
tl::expected<RequestHead, HeadError> ParseRequestHead(std::string_view block,
                                                      size_t max_fields = SIZE_MAX);

}  // namespace fnjail::gateway
