// Fuzzer of the gateway's request head checks (gateway/http_head.h), the server's first look
// at client bytes.
//
// The input is the bytes a client sends. The harness finds the head end in one call and
// again byte by byte (as a slow client delivers it), then parses the head.
// Invariants (a violation aborts):
//   - FindHeadEnd gives the same answer whole and incrementally;
//   - an accepted head never carries a request-smuggling shape: never both Content-Length
//     and Transfer-Encoding, at most one of each, Transfer-Encoding only exactly `chunked`,
//     no NUL/CR/LF or other control byte in a header, no empty or non-token names;
//   - the method is a token, the target an absolute path (or `*` for OPTIONS);
//   - parsing is deterministic.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gateway/http_head.h"

namespace {

using fnjail::gateway::FindHeadEnd;
using fnjail::gateway::ParseRequestHead;

void Check(bool ok, const char* law) {
  if (!ok) {
    std::fprintf(stderr, "http_request_fuzzer: broken law: %s\n", law);
    std::abort();
  }
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  const auto whole = FindHeadEnd(bytes);
  // Byte by byte, resuming where the last call stopped, until it decides.
  tl::expected<std::optional<size_t>, fnjail::gateway::HeadError> step = std::optional<size_t>();
  size_t scanned = 0;
  for (size_t n = 1; n <= size; ++n) {
    step = FindHeadEnd(bytes.substr(0, n), scanned);
    if (!step || *step) break;
    scanned = n;
  }
  if (size == 0) step = FindHeadEnd(bytes);
  Check(whole.has_value() == step.has_value(), "whole and incremental head scans disagree");
  if (whole && step) Check(*whole == *step, "whole and incremental head ends differ");

  // Parse the head when one was found, else the whole input (the parser must refuse it).
  std::string_view block = bytes;
  if (whole && *whole) block = bytes.substr(0, **whole);
  const auto head = ParseRequestHead(block);
  const auto again = ParseRequestHead(block);
  Check(head.has_value() == again.has_value(), "parsing is not deterministic");
  if (!head) {
    Check(!head.error().code.empty() && !head.error().message.empty(), "refusal without reason");
    Check(head.error().status == 400 || head.error().status == 417 || head.error().status == 505,
          "refusal with an unexpected status");
    return 0;
  }
  Check(block.size() >= 4 && block.substr(block.size() - 4) == "\r\n\r\n", "accepted no blank line");
  Check(IsToken(head->method), "accepted a method that is not a token");
  Check((!head->target.empty() && head->target[0] == '/') ||
            (head->target == "*" && head->method == "OPTIONS"),
        "accepted a target that is not an absolute path");
  Check(!(head->content_length && head->chunked), "accepted Content-Length with chunked");
  int cl = 0, te = 0, host = 0;
  for (const auto& [name, value] : head->headers) {
    Check(IsToken(name), "accepted a header name that is not a token");
    for (char c : value) {
      const auto u = static_cast<unsigned char>(c);
      Check(u == '\t' || (u >= 0x20 && u != 0x7f), "accepted a control byte in a header value");
    }
    if (IEquals(name, "content-length")) ++cl;
    if (IEquals(name, "transfer-encoding")) {
      ++te;
      Check(value == "chunked", "accepted a Transfer-Encoding other than chunked");
    }
    if (IEquals(name, "host")) ++host;
  }
  Check(cl <= 1 && te <= 1, "accepted a repeated framing header");
  Check(!(cl && te), "accepted both framing headers");
  Check((cl == 1) == head->content_length.has_value(), "Content-Length not reported");
  Check((te == 1) == head->chunked, "chunked not reported");
  Check(host <= 1, "accepted a repeated Host");
  Check(head->version == 10 || host == 1, "accepted HTTP/1.1 without Host");
  return 0;
}
