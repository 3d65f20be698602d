// The HTTP(S) server (gateway/http_server.h): the gateway's only Boost.Beast/Asio
// translation unit, so the heavy headers are compiled once.
//
// Per connection, one strand runs a small state machine: [TLS handshake] -> read head (raw
// bytes, checked by ParseRequestHead) -> read body (Beast's parser, which decodes chunked
// framing, fed only after the head passed) -> hand the request to the handler pool -> write
// the response on the strand -> next request or close. Every read and write has a deadline;
// a Beast tcp_stream closes the socket when one passes.
#include "gateway/http_server.h"

#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <mutex>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "gateway/errors.h"
#include "gateway/http_head.h"

namespace fnjail::gateway {

namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Fields = std::vector<std::pair<std::string, std::string>>;

constexpr size_t kReadChunk = 16 << 10;
// After an error response the server stops sending, then reads and discards what the client
// still sends for a moment, so the kernel does not answer it with a reset that destroys the
// response before the client read it.
constexpr auto kLingerTime = std::chrono::milliseconds(500);
constexpr size_t kLingerBytes = 64 << 10;

// Modern TLS 1.2 suites: forward secret key exchange, AEAD ciphers.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* kTls13Suites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool IsSafeHeaderValue(std::string_view v) {
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (u != '\t' && (u < 0x20 || u == 0x7f)) return false;
  }
  return true;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// Headers the server owns: a handler's copy is dropped.
bool IsServerOwnedHeader(std::string_view name) {
  return EqualsIgnoreCase(name, "content-length") || EqualsIgnoreCase(name, "transfer-encoding") ||
         EqualsIgnoreCase(name, "connection") || EqualsIgnoreCase(name, "date") ||
         EqualsIgnoreCase(name, "server") || EqualsIgnoreCase(name, "keep-alive") ||
         EqualsIgnoreCase(name, "upgrade");
}

std::string_view ReasonPhrase(int status) {
  const std::string_view reason = http::obsolete_reason(static_cast<http::status>(status));
  if (reason.empty() || reason.front() == '<') return "Status";
  return reason;
}

// The RFC 9110 IMF-fixdate of the current second, cached per thread.
const std::string& HttpDate() {
  thread_local std::time_t cached_second = 0;
  thread_local std::string cached;
  const std::time_t now = std::time(nullptr);
  if (now != cached_second || cached.empty()) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    char text[64];
    const size_t n = std::strftime(text, sizeof(text), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached.assign(text, n);
    cached_second = now;
  }
  return cached;
}

// A fixed-size pool of threads running Handler::Handle, fed by a bounded queue.
class HandlerPool {
 public:
  using Task = std::function<void()>;

  HandlerPool(unsigned threads, size_t max_queued) : max_queued_(max_queued) {
    for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
  }
  ~HandlerPool() { Stop(); }

  // False when the queue is full or the pool stopped: the caller answers 503.
  bool TryPost(Task task) {
    {
      std::lock_guard lock(mu_);
      if (stopping_ || queue_.size() >= max_queued_) return false;
      queue_.push_back(std::move(task));
    }
    cv_.notify_one();
    return true;
  }

  size_t queued() const {
    std::lock_guard lock(mu_);
    return queue_.size();
  }

  // Lets running tasks finish, drops queued ones, joins. Idempotent.
  void Stop() {
    std::deque<Task> dropped;
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      dropped.swap(queue_);
    }
    cv_.notify_all();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    threads_.clear();
  }

 private:
  void Loop() {
    for (;;) {
      Task task;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();
    }
  }

  const size_t max_queued_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

class SessionBase : public std::enable_shared_from_this<SessionBase> {
 public:
  virtual ~SessionBase() = default;
  virtual void Start() = 0;
  // Runs on the session's strand when the server drains: an idle connection closes now.
  virtual void OnDrain() = 0;
  // Closes the socket at once, cancelling whatever is pending.
  virtual void CloseNow() = 0;
  // The two above, posted to the session's strand from any thread.
  virtual void PostDrain() = 0;
  virtual void PostClose() = 0;
};

// Everything the sessions share, owned by HttpServer.
struct ServerCore {
  HttpServerOptions options;
  std::shared_ptr<Handler> handler;
  HttpLogFn log;
  std::string id_prefix;  // random per server start, so ids of two runs never collide
  std::atomic<uint64_t> id_counter{0};

  std::atomic<bool> draining{false};
  std::atomic<uint64_t> connections_active{0};
  std::atomic<uint64_t> connections_total{0};
  std::atomic<uint64_t> connections_refused{0};
  std::atomic<uint64_t> requests_total{0};
  std::atomic<uint64_t> requests_rejected{0};
  std::atomic<uint64_t> timeouts{0};

  std::mutex sessions_mu;
  std::condition_variable sessions_cv;
  std::unordered_map<SessionBase*, std::weak_ptr<SessionBase>> sessions;

  std::mutex drain_mu;
  bool stopped = false;

  std::unique_ptr<HandlerPool> pool;
  // Declared after everything sessions touch: destroying the io_context destroys pending
  // handlers and with them the last sessions, whose destructors use the members above.
  std::optional<ssl::context> tls;
  net::io_context ioc;
  // Keeps the I/O threads running while no operation is pending (e.g. every connection
  // waits for its handler during a drain); released last.
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::vector<std::unique_ptr<net::steady_timer>> accept_retry;
  std::vector<uint16_t> ports;
  std::vector<std::thread> io_threads;

  explicit ServerCore(unsigned io_thread_count) : ioc(static_cast<int>(io_thread_count)) {}

  void Log(std::string_view event, Fields fields) const {
    if (log) log(event, fields);
  }

  std::string NextRequestId() {
    char suffix[17];
    std::snprintf(suffix, sizeof(suffix), "%016llx",
                  static_cast<unsigned long long>(id_counter.fetch_add(1) + 1));
    return id_prefix + suffix;
  }

  void Register(const std::shared_ptr<SessionBase>& session) {
    std::lock_guard lock(sessions_mu);
    sessions.emplace(session.get(), session);
  }
  void Unregister(SessionBase* session) {
    {
      std::lock_guard lock(sessions_mu);
      sessions.erase(session);
      connections_active.fetch_sub(1);
    }
    sessions_cv.notify_all();
  }
  std::vector<std::shared_ptr<SessionBase>> LiveSessions() {
    std::vector<std::shared_ptr<SessionBase>> live;
    std::lock_guard lock(sessions_mu);
    for (auto& [ptr, weak] : sessions) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
    return live;
  }

  void Accept(size_t index);
  void OnAccept(size_t index, beast::error_code ec, tcp::socket socket);
  void RefuseOverCapacity(tcp::socket& socket);
};


template <class Stream>
class Session final : public SessionBase {
 public:
  Session(ServerCore& server, tcp::socket&& socket) : server_(server), stream_(MakeStream(server, std::move(socket))) {
    buffer_max_ = server_.options.max_header_bytes + server_.options.max_body_bytes / 4 +
                  2 * kReadChunk;
    beast::error_code ec;
    const auto remote = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    if (!ec) {
      remote_ip_ = remote.address().to_string();
      remote_port_ = remote.port();
    }
  }
  ~Session() override { server_.Unregister(this); }

  void Start() override {
    net::dispatch(stream_.get_executor(), [self = Self()] { self->Begin(); });
  }

  void OnDrain() override {
    if (phase_ == Phase::kIdle || phase_ == Phase::kHandshake) CloseNow();
  }

  void CloseNow() override {
    phase_ = Phase::kClosed;
    beast::get_lowest_layer(stream_).close();
  }

  void PostDrain() override {
    net::post(stream_.get_executor(), [self = Self()] { self->OnDrain(); });
  }
  void PostClose() override {
    net::post(stream_.get_executor(), [self = Self()] { self->CloseNow(); });
  }

 private:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;
  enum class Phase { kHandshake, kIdle, kHead, kBody, kHandling, kWriting, kClosing, kClosed };

  static Stream MakeStream(ServerCore& server, tcp::socket&& socket) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *server.tls);
    } else {
      return Stream(std::move(socket));
    }
  }

  std::shared_ptr<Session> Self() {
    return std::static_pointer_cast<Session>(shared_from_this());
  }
  auto& Lowest() { return beast::get_lowest_layer(stream_); }

  void Begin() {
    if constexpr (kTls) {
      phase_ = Phase::kHandshake;
      Lowest().expires_after(server_.options.header_timeout);
      stream_.async_handshake(ssl::stream_base::server,
                              [self = Self()](beast::error_code ec) { self->OnHandshake(ec); });
    } else {
      head_deadline_ = Clock::now() + server_.options.header_timeout;
      phase_ = Phase::kHead;  // the first request's clock starts at accept
      first_request_ = true;
      ReadHead();
    }
  }

  void OnHandshake(beast::error_code ec) {
    if (ec) {
      if (ec == beast::error::timeout) server_.timeouts.fetch_add(1);
      server_.Log("http.tls_handshake_failed",
                  {{"remote", remote_ip_}, {"reason", ec.message()}});
      return CloseNow();
    }
    head_deadline_ = Clock::now() + server_.options.header_timeout;
    phase_ = Phase::kHead;
    first_request_ = true;
    ReadHead();
  }

  // Waits for a complete head in buffer_, reading as needed.
  void ReadHead() {
    if (phase_ == Phase::kClosed) return;
    if (buffer_.size() == 0 && !first_request_) {
      if (server_.draining.load()) return CloseNow();
      phase_ = Phase::kIdle;
    } else if (phase_ == Phase::kIdle) {
      phase_ = Phase::kHead;
      head_deadline_ = Clock::now() + server_.options.header_timeout;
    }
    if (buffer_.size() > 0) {
      const std::string_view data(static_cast<const char*>(buffer_.data().data()),
                                  buffer_.size());
      auto end = FindHeadEnd(data, scanned_);
      if (!end) return Reject(end.error().status, end.error().code, end.error().message);
      if (*end && **end > server_.options.max_header_bytes) {
        return Reject(431, "header-too-large", "request head exceeds the size limit");
      }
      if (*end) return OnHead(**end);
      scanned_ = data.size();
      if (data.size() >= server_.options.max_header_bytes) {
        return Reject(431, "header-too-large", "request head exceeds the size limit");
      }
    }
    if (phase_ == Phase::kIdle) {
      Lowest().expires_after(server_.options.idle_timeout);
    } else {
      Lowest().expires_at(head_deadline_);
    }
    const size_t room = std::min(kReadChunk, buffer_max_ - buffer_.size());
    stream_.async_read_some(buffer_.prepare(room),
                            [self = Self()](beast::error_code ec, size_t n) {
                              self->OnHeadRead(ec, n);
                            });
  }

  void OnHeadRead(beast::error_code ec, size_t n) {
    if (phase_ == Phase::kClosed) return;
    buffer_.commit(n);
    if (ec) {
      if (ec == beast::error::timeout) {
        if (phase_ != Phase::kIdle) {
          server_.timeouts.fetch_add(1);
          server_.Log("http.timeout", {{"remote", remote_ip_},
                                       {"remote_port", std::to_string(remote_port_)},
                                       {"phase", "header"}});
        }
      }
      return CloseNow();
    }
    ReadHead();
  }

  void OnHead(size_t head_size) {
    const std::string_view block(static_cast<const char*>(buffer_.data().data()), head_size);
    auto parsed = ParseRequestHead(block, server_.options.max_headers);
    if (!parsed) return Reject(parsed.error().status, parsed.error().code, parsed.error().message);
    head_ = std::move(*parsed);
    head_size_ = head_size;
    first_request_ = false;
    scanned_ = 0;
    AssignRequestId();

    const auto& opt = server_.options;
    if (head_.content_length && *head_.content_length > opt.max_body_bytes) {
      return Reject(413, "payload-too-large", "request body exceeds the size limit");
    }
    if (!head_.content_length && !head_.chunked) {
      buffer_.consume(head_size);
      return Dispatch(std::string());
    }
    if (head_.content_length && *head_.content_length == 0) {
      buffer_.consume(head_size);
      return Dispatch(std::string());
    }

    parser_.emplace();
    parser_->eager(true);
    parser_->header_limit(static_cast<std::uint32_t>(head_size + 1));
    parser_->body_limit(opt.max_body_bytes);
    beast::error_code ec;
    const size_t used = parser_->put(net::buffer(block), ec);
    if (ec || used != head_size || !parser_->is_header_done()) {
      // The head passed the stricter check above, so this is a disagreement: refuse it.
      return Reject(400, "bad-request", "malformed request head");
    }
    buffer_.consume(head_size);
    body_start_ = Clock::now();
    body_deadline_ = body_start_ + opt.body_timeout;
    body_received_ = buffer_.size();
    phase_ = Phase::kBody;
    if (head_.expect_continue && buffer_.size() == 0) {
      // The client waits for this before sending the body it announced.
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      Lowest().expires_after(opt.write_timeout);
      return net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                              [self = Self()](beast::error_code wec, size_t) {
                                if (wec) return self->CloseNow();
                                self->ContinueBody();
                              });
    }
    ContinueBody();
  }

  void ContinueBody() {
    if (phase_ == Phase::kClosed) return;
    while (buffer_.size() > 0 && !parser_->is_done()) {
      beast::error_code ec;
      const size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == http::error::need_more) break;
      if (ec == http::error::body_limit) {
        return Reject(413, "payload-too-large", "request body exceeds the size limit");
      }
      if (ec) return Reject(400, "bad-request", "malformed request body framing");
      if (used == 0) break;
    }
    if (parser_->is_done()) {
      std::string body = std::move(parser_->get().body());
      parser_.reset();
      return Dispatch(std::move(body));
    }
    if (buffer_.size() >= buffer_max_ - 1) {
      return Reject(400, "bad-request", "malformed request body framing");
    }
    // The client must keep up min_body_rate after the grace period: the next bytes are due
    // when the bytes so far no longer cover the elapsed time at that rate.
    const auto& opt = server_.options;
    auto due = body_deadline_;
    if (opt.min_body_rate > 0) {
      const auto covered = std::chrono::milliseconds(body_received_ * 1000 / opt.min_body_rate);
      due = std::min(due, body_start_ + opt.body_rate_grace + covered);
    }
    Lowest().expires_at(due);
    const size_t room = std::min(kReadChunk, buffer_max_ - buffer_.size());
    stream_.async_read_some(buffer_.prepare(room),
                            [self = Self()](beast::error_code ec, size_t n) {
                              self->OnBodyRead(ec, n);
                            });
  }

  void OnBodyRead(beast::error_code ec, size_t n) {
    if (phase_ == Phase::kClosed) return;
    buffer_.commit(n);
    body_received_ += n;
    if (ec) {
      if (ec == beast::error::timeout) {
        server_.timeouts.fetch_add(1);
        server_.Log("http.timeout", {{"remote", remote_ip_},
                                     {"remote_port", std::to_string(remote_port_)},
                                     {"phase", "body"},
                                     {"request_id", request_id_},
                                     {"received", std::to_string(body_received_)}});
      }
      return CloseNow();
    }
    ContinueBody();
  }

  void AssignRequestId() {
    request_id_.clear();
    for (auto it = head_.headers.begin(); it != head_.headers.end();) {
      if (EqualsIgnoreCase(it->first, "x-request-id")) {
        if (request_id_.empty() && server_.options.accept_client_request_id &&
            IsValidRequestId(it->second)) {
          request_id_ = it->second;
        }
        it = head_.headers.erase(it);
      } else {
        ++it;
      }
    }
    if (request_id_.empty()) request_id_ = server_.NextRequestId();
    head_.headers.emplace_back("X-Request-Id", request_id_);
  }

  void Dispatch(std::string body) {
    if (phase_ == Phase::kClosed) return;
    phase_ = Phase::kHandling;
    Lowest().expires_never();
    HttpRequest request;
    request.method = std::move(head_.method);
    request.target = std::move(head_.target);
    request.headers = std::move(head_.headers);
    request.body = std::move(body);
    request.remote_ip = remote_ip_;
    request.remote_port = remote_port_;
    request.tls = kTls;
    head_request_ = request.method == "HEAD";
    server_.requests_total.fetch_add(1);
    auto task = [self = Self(), req = std::make_shared<HttpRequest>(std::move(request))] {
      self->RunHandler(*req);
    };
    if (!server_.pool->TryPost(std::move(task))) {
      server_.Log("http.over_capacity", {{"remote", remote_ip_}, {"request_id", request_id_}});
      return Reject(503, "over-capacity", "the server is at its request limit; retry later");
    }
  }

  // On a handler thread.
  void RunHandler(const HttpRequest& request) {
    HttpResponse response;
    try {
      response = server_.handler->Handle(request);
    } catch (const std::exception& e) {
      server_.Log("http.handler_exception", {{"request_id", request_id_}, {"what", e.what()}});
      response = ErrorResponse(500, "internal", "internal error", request_id_);
    } catch (...) {
      server_.Log("http.handler_exception", {{"request_id", request_id_}});
      response = ErrorResponse(500, "internal", "internal error", request_id_);
    }
    net::post(stream_.get_executor(),
              [self = Self(), res = std::make_shared<HttpResponse>(std::move(response))] {
                self->WriteResponse(std::move(*res), false);
              });
  }

  void Reject(int status, std::string_view code, std::string_view message) {
    server_.requests_rejected.fetch_add(1);
    // Before the head parsed there is no id yet; after it, the request keeps its own.
    if (request_id_.empty()) request_id_ = server_.NextRequestId();
    server_.Log("http.rejected", {{"remote", remote_ip_},
                                  {"remote_port", std::to_string(remote_port_)},
                                  {"status", std::to_string(status)},
                                  {"code", std::string(code)},
                                  {"message", std::string(message)},
                                  {"request_id", request_id_}});
    head_request_ = false;
    WriteResponse(ErrorResponse(status, code, message, request_id_), true);
  }

  void WriteResponse(HttpResponse response, bool close) {
    if (phase_ == Phase::kClosed) return;
    ++responses_;
    close_after_write_ = close || !head_.keep_alive || server_.draining.load() ||
                         responses_ >= server_.options.max_keepalive_requests;
    phase_ = Phase::kWriting;
    const int status = (response.status >= 100 && response.status <= 999) ? response.status : 500;
    const bool no_body = status == 204 || status == 304 || status < 200;

    std::string& out = write_head_;
    out.clear();
    out.reserve(256);
    out.append("HTTP/1.1 ").append(std::to_string(status)).append(" ");
    out.append(ReasonPhrase(status)).append("\r\n");
    bool has_request_id = false;
    for (const auto& [name, value] : response.headers) {
      if (IsServerOwnedHeader(name)) continue;
      bool name_ok = !name.empty();
      for (char c : name) name_ok = name_ok && IsTokenChar(c);
      if (!name_ok || !IsSafeHeaderValue(value)) {
        // A CR or LF from a handler would let a function inject headers or a response.
        server_.Log("http.unsafe_response_header", {{"request_id", request_id_}});
        continue;
      }
      has_request_id = has_request_id || EqualsIgnoreCase(name, "x-request-id");
      out.append(name).append(": ").append(value).append("\r\n");
    }
    if (!has_request_id) out.append("X-Request-Id: ").append(request_id_).append("\r\n");
    out.append("Date: ").append(HttpDate()).append("\r\n");
    if (!no_body) {
      out.append("Content-Length: ").append(std::to_string(response.body.size())).append("\r\n");
    }
    if (close_after_write_) {
      out.append("Connection: close\r\n");
    } else if (head_.version == 10) {
      out.append("Connection: keep-alive\r\n");
    }
    out.append("\r\n");
    write_body_ = (no_body || head_request_) ? std::string() : std::move(response.body);

    Lowest().expires_after(server_.options.write_timeout);
    const std::array<net::const_buffer, 2> buffers = {net::buffer(write_head_),
                                                      net::buffer(write_body_)};
    net::async_write(stream_, buffers, [self = Self()](beast::error_code ec, size_t) {
      self->OnWrite(ec);
    });
  }

  void OnWrite(beast::error_code ec) {
    if (phase_ == Phase::kClosed) return;
    write_body_.clear();
    if (ec) {
      if (ec == beast::error::timeout) server_.timeouts.fetch_add(1);
      return CloseNow();
    }
    if (close_after_write_) return GracefulClose();
    head_ = RequestHead{};
    request_id_.clear();
    phase_ = Phase::kIdle;
    ReadHead();
  }

  // Sends our end of the stream (TLS close_notify, then TCP FIN), discards what the client
  // still sends for a moment, then closes.
  void GracefulClose() {
    phase_ = Phase::kClosing;
    Lowest().expires_after(kLingerTime);
    if constexpr (kTls) {
      stream_.async_shutdown([self = Self()](beast::error_code) { self->CloseNow(); });
    } else {
      beast::error_code ignored;
      Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      buffer_.consume(buffer_.size());
      Linger(0);
    }
  }

  void Linger(size_t discarded) {
    if (discarded >= kLingerBytes) return CloseNow();
    stream_.async_read_some(buffer_.prepare(kReadChunk),
                            [self = Self(), discarded](beast::error_code ec, size_t n) {
                              // The bytes stay uncommitted: prepare() reuses the space.
                              if (ec || self->phase_ == Phase::kClosed) return self->CloseNow();
                              self->Linger(discarded + n);
                            });
  }

  ServerCore& server_;
  Stream stream_;
  beast::flat_buffer buffer_;
  size_t buffer_max_ = 0;
  size_t scanned_ = 0;
  std::string remote_ip_;
  uint16_t remote_port_ = 0;

  Phase phase_ = Phase::kHandshake;
  bool first_request_ = true;
  Clock::time_point head_deadline_;
  RequestHead head_;
  size_t head_size_ = 0;
  std::string request_id_;
  bool head_request_ = false;

  std::optional<http::request_parser<http::string_body>> parser_;
  Clock::time_point body_start_;
  Clock::time_point body_deadline_;
  size_t body_received_ = 0;

  bool close_after_write_ = false;
  size_t responses_ = 0;  // written on this connection (max_keepalive_requests)
  std::string write_head_;
  std::string write_body_;
};

}  // namespace

struct HttpServer::Impl : ServerCore {
  using ServerCore::ServerCore;
};

void ServerCore::Accept(size_t index) {
  acceptors[index]->async_accept(
      net::make_strand(ioc), [this, index](beast::error_code ec, tcp::socket socket) {
        OnAccept(index, ec, std::move(socket));
      });
}

void ServerCore::RefuseOverCapacity(tcp::socket& socket) {
  connections_refused.fetch_add(1);
  Log("http.connection_limit", {{"limit", std::to_string(options.max_connections)}});
  if (!tls) {
    // One non-blocking send of a complete answer; whatever does not fit is dropped.
    const std::string id = NextRequestId();
    const std::string body =
        RenderErrorBody("over-capacity", "the server is at its connection limit; retry later", id);
    const std::string text = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json"
                             "\r\nX-Request-Id: " + id + "\r\nRetry-After: 1\r\nContent-Length: " +
                             std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    beast::error_code ec;
    socket.non_blocking(true, ec);
    socket.send(net::buffer(text), 0, ec);
    socket.shutdown(tcp::socket::shutdown_send, ec);
  }
  beast::error_code ignored;
  socket.close(ignored);
}

void ServerCore::OnAccept(size_t index, beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || draining.load()) return;
  if (ec) {
    // E.g. EMFILE: back off briefly instead of spinning on the error.
    Log("http.accept_failed", {{"reason", ec.message()}});
    accept_retry[index]->expires_after(std::chrono::milliseconds(50));
    accept_retry[index]->async_wait([this, index](beast::error_code wec) {
      if (!wec && !draining.load()) Accept(index);
    });
    return;
  }
  connections_total.fetch_add(1);
  {
    std::lock_guard lock(sessions_mu);
    if (connections_active.load() >= options.max_connections) {
      RefuseOverCapacity(socket);
      Accept(index);
      return;
    }
    connections_active.fetch_add(1);
  }
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  std::shared_ptr<SessionBase> session;
  if (tls) {
    session = std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(*this,
                                                                                std::move(socket));
  } else {
    session = std::make_shared<Session<beast::tcp_stream>>(*this, std::move(socket));
  }
  Register(session);
  session->Start();
  Accept(index);
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Drain(std::chrono::milliseconds(0)); }

HttpResult<std::unique_ptr<HttpServer>> HttpServer::Start(HttpServerOptions options,
                                                          std::shared_ptr<Handler> handler,
                                                          HttpLogFn log) {
  auto fail = [](std::string message) {
    return tl::unexpected(HttpServerError{std::move(message)});
  };
  if (!handler) return fail("no request handler");
  if (options.listen.empty()) return fail("no listen address");
  if (options.max_connections == 0) return fail("max_connections must be at least 1");
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const unsigned io_threads = options.io_threads ? options.io_threads : cores;
  const unsigned handler_threads =
      options.handler_threads ? options.handler_threads : std::max(4u, 4 * cores);

  auto impl = std::make_unique<Impl>(io_threads);
  impl->options = std::move(options);
  impl->handler = std::move(handler);
  impl->log = std::move(log);

  unsigned char random[8];
  if (RAND_bytes(random, sizeof(random)) != 1) return fail("no randomness for request ids");
  char hex[17];
  for (size_t i = 0; i < sizeof(random); ++i) {
    std::snprintf(hex + 2 * i, 3, "%02x", random[i]);
  }
  impl->id_prefix.assign(hex, 16);

  if (impl->options.tls) {
    const auto& t = *impl->options.tls;
    impl->tls.emplace(ssl::context::tls_server);
    auto& ctx = *impl->tls;
    SSL_CTX* native = ctx.native_handle();
    beast::error_code ec;
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                        ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                        ssl::context::no_tlsv1_1 | ssl::context::no_compression |
                        ssl::context::single_dh_use,
                    ec);
    if (ec) return fail("tls: " + ec.message());
    SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                    SSL_OP_NO_TICKET);
    const int min_version = t.tls13_only ? TLS1_3_VERSION : TLS1_2_VERSION;
    if (SSL_CTX_set_min_proto_version(native, min_version) != 1 ||
        SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1 ||
        SSL_CTX_set_ciphersuites(native, kTls13Suites) != 1) {
      return fail("tls: cannot restrict protocol versions and cipher suites");
    }
    ctx.use_certificate_chain_file(t.certificate_chain_file, ec);
    if (ec) return fail("tls certificate `" + t.certificate_chain_file + "`: " + ec.message());
    ctx.use_private_key_file(t.private_key_file, ssl::context::pem, ec);
    if (ec) return fail("tls private key `" + t.private_key_file + "`: " + ec.message());
    if (SSL_CTX_check_private_key(native) != 1) {
      return fail("tls private key `" + t.private_key_file + "` does not match the certificate");
    }
  }

  for (const auto& listen : impl->options.listen) {
    const std::string where = listen.host + ":" + std::to_string(listen.port);
    beast::error_code ec;
    const auto address = net::ip::make_address(listen.host, ec);
    if (ec) return fail("listen address `" + listen.host + "` is not an IP address");
    const tcp::endpoint endpoint(address, listen.port);
    auto acceptor = std::make_unique<tcp::acceptor>(net::make_strand(impl->ioc));
    acceptor->open(endpoint.protocol(), ec);
    if (!ec) acceptor->set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor->bind(endpoint, ec);
    if (!ec) acceptor->listen(net::socket_base::max_listen_connections, ec);
    if (ec) return fail("listen on " + where + ": " + ec.message());
    impl->ports.push_back(acceptor->local_endpoint(ec).port());
    impl->acceptors.push_back(std::move(acceptor));
    impl->accept_retry.push_back(std::make_unique<net::steady_timer>(impl->ioc));
  }

  impl->pool = std::make_unique<HandlerPool>(handler_threads, impl->options.max_queued_requests);
  for (size_t i = 0; i < impl->acceptors.size(); ++i) impl->Accept(i);
  impl->work.emplace(impl->ioc.get_executor());
  Impl* raw = impl.get();
  for (unsigned i = 0; i < io_threads; ++i) {
    impl->io_threads.emplace_back([raw] {
      for (;;) {
        try {
          raw->ioc.run();
          return;
        } catch (const std::exception& e) {
          // Nothing here is meant to throw; keep serving the other connections.
          raw->Log("http.io_exception", {{"what", e.what()}});
        }
      }
    });
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

std::vector<uint16_t> HttpServer::ports() const { return impl_->ports; }

bool HttpServer::Drain(std::chrono::milliseconds deadline) {
  std::lock_guard drain_lock(impl_->drain_mu);
  if (impl_->stopped) return true;
  Impl& s = *impl_;
  s.draining.store(true);
  for (size_t i = 0; i < s.acceptors.size(); ++i) {
    net::post(s.acceptors[i]->get_executor(), [&s, i] {
      beast::error_code ignored;
      s.acceptors[i]->close(ignored);
      s.accept_retry[i]->cancel();
    });
  }
  // Through each session's own strand: its state is only touched there.
  for (auto& session : s.LiveSessions()) session->PostDrain();
  bool clean;
  {
    std::unique_lock lock(s.sessions_mu);
    clean = s.sessions_cv.wait_for(lock, deadline, [&s] { return s.sessions.empty(); });
  }
  if (!clean) {
    for (auto& session : s.LiveSessions()) session->PostClose();
    std::unique_lock lock(s.sessions_mu);
    s.sessions_cv.wait_for(lock, std::chrono::seconds(2), [&s] { return s.sessions.empty(); });
  }
  s.pool->Stop();
  s.work.reset();
  s.ioc.stop();
  for (auto& t : s.io_threads) {
    if (t.joinable()) t.join();
  }
  s.io_threads.clear();
  s.stopped = true;
  s.Log("http.drained", {{"clean", clean ? "true" : "false"}});
  return clean;
}

HttpServerStats HttpServer::Stats() const {
  HttpServerStats stats;
  stats.connections_active = impl_->connections_active.load();
  stats.connections_total = impl_->connections_total.load();
  stats.connections_refused = impl_->connections_refused.load();
  stats.requests_total = impl_->requests_total.load();
  stats.requests_rejected = impl_->requests_rejected.load();
  stats.timeouts = impl_->timeouts.load();
  stats.queued_requests = impl_->pool ? impl_->pool->queued() : 0;
  return stats;
}

}  // namespace fnjail::gateway
