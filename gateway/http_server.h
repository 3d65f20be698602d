// The gateway's HTTP/1.1 and HTTPS server: accepts connections, reads requests under strict
// limits and hands each one to a Handler on a bounded pool of handler threads.
//
// Untrusted-input posture: everything a client sends is hostile. The head is checked as raw
// bytes first (gateway/http_head.h), sizes are capped before anything is buffered, every
// read has a deadline (header, body with a minimum rate, idle keep-alive, write), and the
// number of connections and of queued requests is bounded. The server never runs user code
// on its I/O threads: Handler::Handle runs on the handler pool.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

#include "gateway/http.h"

namespace fnjail::gateway {

struct HttpServerError {
  std::string message;  // lower-case, one line, e.g. "listen on 127.0.0.1:80: permission denied"
  const std::string& ToString() const { return message; }
};
template <class T>
using HttpResult = tl::expected<T, HttpServerError>;

// TLS 1.2 and 1.3 only; TLS 1.2 with ECDHE and AEAD suites only (AES-GCM, ChaCha20-Poly1305);
// no renegotiation, no compression.
struct HttpTlsOptions {
  std::string certificate_chain_file;  // PEM: the certificate, then intermediates
  std::string private_key_file;        // PEM
  bool tls13_only = false;             // refuse TLS 1.2 handshakes
};

struct HttpListen {
  std::string host = "127.0.0.1";  // an IP address literal
  uint16_t port = 0;               // 0: any free port (see HttpServer::ports)
};

struct HttpServerOptions {
  std::vector<HttpListen> listen = {HttpListen{}};
  std::optional<HttpTlsOptions> tls;  // when set, every listener speaks TLS only

  size_t max_header_bytes = 16 << 10;  // request line + headers; larger is 431
  size_t max_headers = 100;            // header fields per request; more is 431
  size_t max_body_bytes = 1 << 20;     // decoded body; larger is 413
  size_t max_connections = 4096;       // over it, new connections get 503 and are closed
  size_t max_queued_requests = 1024;   // waiting for a handler thread; over it, 503

  // The head must be complete this long after its first byte (or after accept / the TLS
  // handshake start): a slowloris client is cut off here.
  std::chrono::milliseconds header_timeout{10'000};
  // The whole body must arrive within this long after the head.
  std::chrono::milliseconds body_timeout{30'000};
  // And at least `min_body_rate` bytes per second after the first `body_rate_grace`:
  // a client that trickles a large body is cut off long before body_timeout.
  uint64_t min_body_rate = 4096;
  std::chrono::milliseconds body_rate_grace{2'000};
  // A keep-alive connection may wait this long for its next request.
  std::chrono::milliseconds idle_timeout{60'000};
  // Requests per connection: the response to the last one says `Connection: close`.
  size_t max_keepalive_requests = 1000;
  // A response must be written within this long (a client that does not read is cut off).
  std::chrono::milliseconds write_timeout{30'000};

  unsigned io_threads = 0;       // 0: one per core
  unsigned handler_threads = 0;  // 0: four per core, at least 4

  // When true a well-formed client `X-Request-Id` (1-128 of [A-Za-z0-9._:-]) is kept;
  // otherwise, and when it is absent or malformed, the server assigns a fresh id.
  bool accept_client_request_id = true;
};

// Structured events the server reports (e.g. "http.bad_request", "http.timeout",
// "http.connection_limit"), with string fields. Called from I/O threads: must be
// thread-safe and must not block.
using HttpLogFn = std::function<void(
    std::string_view event, const std::vector<std::pair<std::string, std::string>>& fields)>;

struct HttpServerStats {
  uint64_t connections_active = 0;
  uint64_t connections_total = 0;
  uint64_t connections_refused = 0;  // over max_connections
  uint64_t requests_total = 0;       // handed to the handler
  uint64_t requests_rejected = 0;    // answered by the server itself (4xx/5xx)
  uint64_t timeouts = 0;             // connections cut off by a deadline
  uint64_t queued_requests = 0;      // waiting for a handler thread now
};

class HttpServer {
 public:
  // Binds every listener, loads the TLS material, and starts the I/O and handler threads.
  // Errors: an address that does not parse or cannot be bound, unreadable or mismatched
  // certificate and key. `handler` is shared with the caller and must outlive nothing: the
  // server keeps it alive until it is destroyed.
  static HttpResult<std::unique_ptr<HttpServer>> Start(HttpServerOptions options,
                                                       std::shared_ptr<Handler> handler,
                                                       HttpLogFn log = {});
  ~HttpServer();  // Drain(0): closes everything still open and joins every thread
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound port of each listener, in the order of options.listen.
  std::vector<uint16_t> ports() const;

  // Graceful stop: stops accepting, closes idle keep-alive connections, lets requests in
  // flight finish (their responses say `Connection: close`) until `deadline`, then closes
  // whatever is left and joins the threads. Returns true when nothing had to be cut off.
  // Thread-safe; later calls return at once.
  bool Drain(std::chrono::milliseconds deadline);

  HttpServerStats Stats() const;

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// An error the server answers itself: the gateway's JSON error body (gateway/errors.h,
// {"error":{"code":"...","message":"...","request_id":"..."}}), `Content-Type:
// application/json`, `Cache-Control: no-store` and X-Request-Id. The codes the server uses:
// bad-request (400), expectation-failed (417), payload-too-large (413), header-too-large
// (431), version-not-supported (505), over-capacity (503), internal (500).
HttpResponse ErrorResponse(int status, std::string_view code, std::string_view message,
                           std::string_view request_id);

}  // namespace fnjail::gateway
