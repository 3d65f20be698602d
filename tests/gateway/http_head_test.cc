// Tests gateway/http_head.cc: every request-smuggling shape is refused before any parser
// with its own opinions sees it, and well-formed heads parse as sent.
#include "gateway/http_head.h"

#include <string>

#include <gtest/gtest.h>

namespace fnjail::gateway {
namespace {

using namespace std::string_literals;

tl::expected<RequestHead, HeadError> Parse(const std::string& head) {
  return ParseRequestHead(head);
}

// Expects `head` refused with `status`, and the message to contain `why`.
void ExpectRefused(const std::string& head, const std::string& why, int status = 400) {
  auto parsed = Parse(head);
  ASSERT_FALSE(parsed.has_value()) << head;
  EXPECT_EQ(parsed.error().status, status) << head;
  EXPECT_NE(parsed.error().message.find(why), std::string::npos)
      << "message `" << parsed.error().message << "` lacks `" << why << "`";
}

TEST(HttpHeadTest, MoreHeaderFieldsThanTheLimitAre431) {
  std::string head = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 4; ++i) head += "X-F" + std::to_string(i) + ": v\r\n";
  head += "\r\n";
  ASSERT_TRUE(ParseRequestHead(head, 5).has_value());  // Host and four more: at the limit
  auto over = ParseRequestHead(head, 4);
  ASSERT_FALSE(over.has_value());
  EXPECT_EQ(over.error().status, 431);
  EXPECT_EQ(over.error().code, "header-too-large");
  EXPECT_EQ(over.error().message, "too many header fields");
}

TEST(HttpHeadTest, ParsesAWellFormedPost) {
  auto head = Parse(
      "POST /v1/functions/hello/invoke?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n"
      "X-Api-Key:   k1  \r\n\r\n");
  ASSERT_TRUE(head.has_value()) << head.error().message;
  EXPECT_EQ(head->method, "POST");
  EXPECT_EQ(head->target, "/v1/functions/hello/invoke?x=1");
  EXPECT_EQ(head->version, 11);
  EXPECT_EQ(head->content_length, 12u);
  EXPECT_FALSE(head->chunked);
  EXPECT_TRUE(head->keep_alive);
  ASSERT_EQ(head->headers.size(), 3u);
  EXPECT_EQ(head->headers[2].first, "X-Api-Key");
  EXPECT_EQ(head->headers[2].second, "k1");  // optional whitespace trimmed
}

TEST(HttpHeadTest, ChunkedAlone) {
  auto head = Parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
  ASSERT_TRUE(head.has_value());
  EXPECT_TRUE(head->chunked);
  EXPECT_FALSE(head->content_length.has_value());
}

TEST(HttpHeadTest, KeepAliveRules) {
  EXPECT_FALSE(Parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")->keep_alive);
  EXPECT_FALSE(Parse("GET / HTTP/1.0\r\n\r\n")->keep_alive);
  EXPECT_TRUE(Parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")->keep_alive);
  EXPECT_FALSE(Parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: te, close\r\n\r\n")->keep_alive);
}

TEST(HttpHeadTest, RefusesContentLengthWithTransferEncoding) {
  ExpectRefused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
                "both Content-Length and Transfer-Encoding");
  ExpectRefused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
                "both Content-Length and Transfer-Encoding");
}

TEST(HttpHeadTest, RefusesAnyTransferEncodingButExactlyChunked) {
  for (const char* te : {"gzip", "gzip, chunked", "chunked, gzip", "Chunked", "CHUNKED",
                         "chunked;q=1", "identity", "\"chunked\"", "xchunked", ""}) {
    ExpectRefused(std::string("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ") + te +
                      "\r\n\r\n",
                  "Transfer-Encoding other than `chunked`");
  }
  ExpectRefused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                "Transfer-Encoding: chunked\r\n\r\n",
                "duplicate Transfer-Encoding");
  ExpectRefused("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", "HTTP/1.0");
}

TEST(HttpHeadTest, RefusesDuplicateOrMalformedContentLength) {
  ExpectRefused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
                "duplicate Content-Length");
  ExpectRefused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\ncontent-length: 6\r\n\r\n",
                "duplicate Content-Length");
  for (const char* cl : {"", "+5", "-1", "5,5", "5 5", "0x10", "1e3", "5.0",
                         "99999999999999999999", "9223372036854775808"}) {
    ExpectRefused(std::string("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ") + cl + "\r\n\r\n",
                  "malformed Content-Length");
  }
  EXPECT_TRUE(Parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775807\r\n\r\n")
                  .has_value());
}

TEST(HttpHeadTest, RefusesControlCharactersInHeaders) {
  ExpectRefused("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\0c\r\n\r\n"s,
                "control character in a header value");
  ExpectRefused("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x01\r\n\r\n", "control character");
  ExpectRefused("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x7f\r\n\r\n", "control character");
  ExpectRefused("GET / HTTP/1.1\r\nHost: a\r\nX\0A: b\r\n\r\n"s,
                "invalid character in a header name");
  ExpectRefused("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n", "");
  EXPECT_TRUE(Parse("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\tc \xc3\xa9\r\n\r\n").has_value());
}

TEST(HttpHeadTest, RefusesBadHeaderNames) {
  ExpectRefused("GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", "empty header name");
  ExpectRefused("GET / HTTP/1.1\r\nHost: a\r\nX-A : b\r\n\r\n", "whitespace in a header name");
  ExpectRefused("GET / HTTP/1.1\r\nHost: a\r\nX A: b\r\n\r\n", "whitespace in a header name");
  ExpectRefused("GET / HTTP/1.1\r\nHost: a\r\nX(A): b\r\n\r\n", "invalid character");
  ExpectRefused("GET / HTTP/1.1\r\nHost: a\r\nno colon\r\n\r\n", "");
}

TEST(HttpHeadTest, RefusesObsoleteLineFolding) {
  ExpectRefused("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", "obsolete line folding");
  ExpectRefused("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tc\r\n\r\n", "obsolete line folding");
  ExpectRefused("GET / HTTP/1.1\r\n Host: a\r\n\r\n", "obsolete line folding");
}

TEST(HttpHeadTest, RefusesBadRequestLines) {
  ExpectRefused("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", "malformed request line");
  ExpectRefused("GET / HTTP/1.1 x\r\nHost: a\r\n\r\n", "malformed request line");
  ExpectRefused("GET\r\nHost: a\r\n\r\n", "malformed request line");
  ExpectRefused("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", "method");
  ExpectRefused("GET http://evil/ HTTP/1.1\r\nHost: a\r\n\r\n", "absolute path");
  ExpectRefused("GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", "absolute path");
  ExpectRefused("GET / HTTP/1.x\r\nHost: a\r\n\r\n", "malformed HTTP version");
  ExpectRefused("GET / HTTP/2.0\r\nHost: a\r\n\r\n", "HTTP/1.0 and HTTP/1.1", 505);
  ExpectRefused("GET * HTTP/1.1\r\nHost: a\r\n\r\n", "absolute path");
  EXPECT_TRUE(Parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").has_value());
}

TEST(HttpHeadTest, NeedsExactlyOneHostInHttp11) {
  ExpectRefused("GET / HTTP/1.1\r\n\r\n", "missing Host");
  ExpectRefused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "duplicate Host");
  ExpectRefused("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", "duplicate Host");
}

TEST(HttpHeadTest, ExpectOtherThanContinueIs417) {
  ExpectRefused("POST / HTTP/1.1\r\nHost: a\r\nExpect: bogus\r\n\r\n", "100-continue", 417);
  EXPECT_TRUE(Parse("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n")
                  ->expect_continue);
}

TEST(HttpHeadTest, FindHeadEndNeedsCrlfCrlf) {
  EXPECT_EQ(FindHeadEnd("GET / HTTP/1.1\r\nHost: a\r\n").value(), std::nullopt);
  EXPECT_EQ(FindHeadEnd("GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY").value(), 27u);
  EXPECT_FALSE(FindHeadEnd("GET / HTTP/1.1\nHost: a\n\n").has_value());
  EXPECT_FALSE(FindHeadEnd("GET / HTTP/1.1\r\nHost: a\rX").has_value());
  EXPECT_FALSE(FindHeadEnd("\r\nGET / HTTP/1.1\r\n").has_value());
  // A CR at the very end waits for its LF.
  EXPECT_EQ(FindHeadEnd("GET / HTTP/1.1\r").value(), std::nullopt);
}

TEST(HttpHeadTest, FindHeadEndResumesWhereItStopped) {
  const std::string head = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  size_t scanned = 0;
  std::optional<size_t> end;
  for (size_t n = 1; n <= head.size() && !end; ++n) {
    auto r = FindHeadEnd(std::string_view(head).substr(0, n), scanned);
    ASSERT_TRUE(r.has_value());
    end = *r;
    scanned = n;
  }
  EXPECT_EQ(end, head.size());
  // A bare LF split across two reads is still caught.
  EXPECT_FALSE(FindHeadEnd("GET / HTTP/1.1\n", 14).has_value());
}

}  // namespace
}  // namespace fnjail::gateway
