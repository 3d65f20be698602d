// Tests gateway/http_server.cc over loopback with raw sockets: framing, limits, deadlines,
// keep-alive, the connection cap, the handler pool, TLS and the graceful drain.
#include "gateway/http_server.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/wait.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/gateway/http_test_client.h"

namespace fnjail::gateway {
namespace {

using fnjail::testing::TestConnection;
using namespace std::chrono_literals;

// Echoes the request as JSON; `/sleep/<ms>` sleeps first; `/throw` throws; `/inject` returns
// a header carrying CR LF; `/wait` blocks until Release().
class EchoHandler : public Handler {
 public:
  HttpResponse Handle(const HttpRequest& request) override {
    calls_.fetch_add(1);
    if (request.target.rfind("/sleep/", 0) == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(request.target.substr(7))));
    } else if (request.target == "/throw") {
      throw std::runtime_error("boom");
    } else if (request.target == "/wait") {
      std::unique_lock lock(mu_);
      waiting_++;
      cv_.notify_all();
      cv_.wait(lock, [this] { return released_; });
    }
    HttpResponse response;
    response.headers.emplace_back("Content-Type", "application/json");
    if (request.target == "/inject") {
      response.headers.emplace_back("X-Evil", "a\r\nSet-Cookie: pwned=1");
      response.headers.emplace_back("Content-Length", "9999");
    }
    nlohmann::json headers = nlohmann::json::array();
    for (const auto& [k, v] : request.headers) headers.push_back(nlohmann::json::array({k, v}));
    response.body = nlohmann::json{{"method", request.method},
                                   {"target", request.target},
                                   {"body", request.body},
                                   {"headers", headers},
                                   {"remote_ip", request.remote_ip},
                                   {"tls", request.tls}}
                        .dump();
    return response;
  }
  int calls() const { return calls_.load(); }
  void WaitForBlocked(int n) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, 5s, [&] { return waiting_ >= n; });
  }
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::atomic<int> calls_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  int waiting_ = 0;
  bool released_ = false;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(HttpServerOptions options = {}) {
    options.listen = {HttpListen{"127.0.0.1", 0}};
    if (options.io_threads == 0) options.io_threads = 2;
    if (options.handler_threads == 0) options.handler_threads = 4;
    auto server = HttpServer::Start(std::move(options), handler_,
                                    [this](std::string_view event, const auto& fields) {
                                      if (std::getenv("HTTP_TEST_LOG")) {
                                        std::string line(event);
                                        for (const auto& [k, v] : fields) line += " " + k + "=" + v;
                                        std::fprintf(stderr, "%s\n", line.c_str());
                                      }
                                      std::lock_guard lock(log_mu_);
                                      events_.emplace_back(event);
                                    });
    ASSERT_TRUE(server.has_value()) << server.error().message;
    server_ = std::move(*server);
    port_ = server_->ports().at(0);
  }
  void TearDown() override {
    if (handler_) handler_->Release();
    server_.reset();
  }

  // Sends `request` on a new connection and expects `status` and then the close.
  void ExpectRejectedAndClosed(const std::string& request, int status,
                               const std::string& code = "") {
    TestConnection c(port_);
    ASSERT_TRUE(c.ok());
    c.Send(request);
    auto response = c.ReadResponse();
    ASSERT_TRUE(response.has_value()) << request;
    EXPECT_EQ(response->status, status) << request;
    EXPECT_EQ(response->Header("Connection"), "close");
    EXPECT_EQ(response->Header("Content-Type"), "application/json");
    auto body = nlohmann::json::parse(response->body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << response->body;
    EXPECT_EQ(body["error"]["request_id"], response->Header("X-Request-Id"));
    EXPECT_FALSE(response->Header("X-Request-Id").empty());
    if (!code.empty()) {
      EXPECT_EQ(body["error"]["code"], code);
    }
    EXPECT_TRUE(c.WaitClosed()) << "connection left open after " << status;
  }

  // Polls `pred` for up to two seconds: the server updates counters after the client
  // already saw the effect.
  template <class Pred>
  static bool Eventually(Pred pred) {
    for (int i = 0; i < 200; ++i) {
      if (pred()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return pred();
  }

  bool SawEvent(std::string_view name) {
    std::lock_guard lock(log_mu_);
    for (const auto& e : events_) {
      if (e == name) return true;
    }
    return false;
  }

  std::shared_ptr<EchoHandler> handler_ = std::make_shared<EchoHandler>();
  std::unique_ptr<HttpServer> server_;
  uint16_t port_ = 0;
  std::mutex log_mu_;
  std::vector<std::string> events_;
};

TEST_F(HttpServerTest, AnswersAndKeepsTheConnectionAlive) {
  StartServer();
  TestConnection c(port_);
  ASSERT_TRUE(c.ok());
  for (int i = 0; i < 3; ++i) {
    c.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    auto r = c.ReadResponse();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
    auto body = nlohmann::json::parse(r->body);
    EXPECT_EQ(body["body"], "hello");
    EXPECT_EQ(body["method"], "POST");
    EXPECT_EQ(body["remote_ip"], "127.0.0.1");
    EXPECT_EQ(body["tls"], false);
    EXPECT_EQ(r->Header("Connection"), "");
    EXPECT_FALSE(r->Header("Date").empty());
  }
  EXPECT_EQ(handler_->calls(), 3);
  EXPECT_EQ(server_->Stats().connections_total, 1u);
}

TEST_F(HttpServerTest, MaxKeepaliveRequestsClosesAfterTheLast) {
  HttpServerOptions options;
  options.max_keepalive_requests = 2;
  StartServer(options);
  TestConnection c(port_);
  ASSERT_TRUE(c.ok());
  c.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  auto first = c.ReadResponse();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->Header("Connection"), "");
  c.Send("GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
  auto second = c.ReadResponse();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(second->Header("Connection"), "close");
  EXPECT_TRUE(c.WaitClosed());
  EXPECT_EQ(handler_->calls(), 2);
}

TEST_F(HttpServerTest, MoreHeaderFieldsThanMaxHeadersIs431) {
  HttpServerOptions options;
  options.max_headers = 3;
  StartServer(options);
  ExpectRejectedAndClosed("GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 431,
                          "header-too-large");
  TestConnection c(port_);
  c.Send("GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\n\r\n");
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  StartServer();
  TestConnection c(port_);
  c.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n");
  auto a = c.ReadResponse();
  auto b = c.ReadResponse();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(nlohmann::json::parse(a->body)["target"], "/a");
  EXPECT_EQ(nlohmann::json::parse(b->body)["target"], "/b");
}

TEST_F(HttpServerTest, ConnectionCloseIsHonoured) {
  StartServer();
  TestConnection c(port_);
  c.Send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->Header("Connection"), "close");
  EXPECT_TRUE(c.WaitClosed());
}

TEST_F(HttpServerTest, DecodesChunkedBodies) {
  StartServer();
  TestConnection c(port_);
  c.Send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
         "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n");
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(nlohmann::json::parse(r->body)["body"], "hello world");
}

TEST_F(HttpServerTest, MalformedChunkedFramingIs400) {
  StartServer();
  ExpectRejectedAndClosed(
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
      400, "bad-request");
}

// Each request-smuggling shape is 400 and the connection is closed, before the handler runs.
TEST_F(HttpServerTest, RefusesEverySmugglingShape) {
  StartServer();
  const std::string kShapes[] = {
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
      "0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\nhello",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello",
      std::string("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n", 37),
      "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\nb\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\n: empty\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n folded\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\nContent-Length : 0\r\n\r\n",
      "GET / HTTP/1.1\nHost: x\n\n",
  };
  for (const auto& shape : kShapes) {
    SCOPED_TRACE(shape);
    ExpectRejectedAndClosed(shape, 400, "bad-request");
  }
  EXPECT_EQ(handler_->calls(), 0);
  EXPECT_GE(server_->Stats().requests_rejected, std::size(kShapes));
}

TEST_F(HttpServerTest, OversizeHeadIs431) {
  HttpServerOptions options;
  options.max_header_bytes = 1024;
  StartServer(options);
  ExpectRejectedAndClosed(
      "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n", 431,
      "header-too-large");
  // A head under the limit still works.
  TestConnection c(port_);
  c.Send("GET / HTTP/1.1\r\nHost: x\r\nX-Ok: " + std::string(800, 'a') + "\r\n\r\n");
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
}

TEST_F(HttpServerTest, OversizeBodyIs413) {
  HttpServerOptions options;
  options.max_body_bytes = 100;
  StartServer(options);
  // Announced: refused before a byte of the body is read.
  ExpectRejectedAndClosed("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n", 413,
                          "payload-too-large");
  // Chunked: refused once the decoded size passes the limit.
  ExpectRejectedAndClosed("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "40\r\n" + std::string(64, 'a') + "\r\n40\r\n" + std::string(64, 'b') +
                              "\r\n0\r\n\r\n",
                          413, "payload-too-large");
  EXPECT_EQ(handler_->calls(), 0);
}

TEST_F(HttpServerTest, Expect100ContinueGetsTheGoAhead) {
  StartServer();
  TestConnection c(port_);
  c.Send("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
  ASSERT_TRUE(c.ReadUntil([](const std::string& b) { return b.find("\r\n\r\n") != b.npos; },
                          2s));
  EXPECT_EQ(c.pending().rfind("HTTP/1.1 100 Continue\r\n\r\n", 0), 0u);
  // Drop the interim response, then send the body.
  auto interim = c.ReadResponse();
  ASSERT_TRUE(interim.has_value());
  EXPECT_EQ(interim->status, 100);
  c.Send("abc");
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(nlohmann::json::parse(r->body)["body"], "abc");
}

TEST_F(HttpServerTest, SlowlorisHeadIsCutOff) {
  HttpServerOptions options;
  options.header_timeout = 300ms;
  StartServer(options);
  TestConnection c(port_);
  const auto start = std::chrono::steady_clock::now();
  // A byte every 100 ms would keep a per-read timeout alive forever; the head deadline not.
  const std::string head = "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaa";
  bool closed = false;
  for (char ch : head) {
    if (!c.Send(std::string(1, ch))) break;
    if (c.ReadUntil([](const std::string&) { return false; }, 100ms), c.eof()) {
      closed = true;
      break;
    }
  }
  closed = closed || c.WaitClosed(2s);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(closed);
  EXPECT_LT(elapsed, 1500ms);
  EXPECT_EQ(handler_->calls(), 0);
  EXPECT_TRUE(Eventually([&] { return server_->Stats().timeouts >= 1; }));
}

TEST_F(HttpServerTest, SlowBodyIsCutOffByTheMinimumRate) {
  HttpServerOptions options;
  options.body_timeout = 30s;
  options.min_body_rate = 1000;
  options.body_rate_grace = 200ms;
  StartServer(options);
  TestConnection c(port_);
  c.Send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n");
  const auto start = std::chrono::steady_clock::now();
  bool closed = false;
  for (int i = 0; i < 40 && !closed; ++i) {
    if (!c.Send("0123456789")) break;  // 10 bytes per 100 ms: 100 B/s, under 1000 B/s
    c.ReadUntil([](const std::string&) { return false; }, 100ms);
    closed = c.eof();
  }
  closed = closed || c.WaitClosed(2s);
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_EQ(handler_->calls(), 0);
}

TEST_F(HttpServerTest, BodyDeadlineHolds) {
  HttpServerOptions options;
  options.body_timeout = 300ms;
  options.min_body_rate = 0;
  StartServer(options);
  TestConnection c(port_);
  c.Send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.WaitClosed(3s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_EQ(handler_->calls(), 0);
}

TEST_F(HttpServerTest, IdleKeepAliveConnectionIsClosed) {
  HttpServerOptions options;
  options.idle_timeout = 200ms;
  StartServer(options);
  TestConnection c(port_);
  c.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(c.ReadResponse().has_value());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.WaitClosed(3s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST_F(HttpServerTest, ConnectionCapRefusesWith503) {
  HttpServerOptions options;
  options.max_connections = 2;
  StartServer(options);
  std::optional<TestConnection> a(std::in_place, port_);
  TestConnection b(port_);
  for (auto* c : {&*a, &b}) {
    c->Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(c->ReadResponse().has_value());
  }
  TestConnection third(port_);
  third.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = third.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(nlohmann::json::parse(r->body)["error"]["code"], "over-capacity");
  EXPECT_EQ(r->Header("Retry-After"), "1");
  EXPECT_TRUE(third.WaitClosed());
  EXPECT_EQ(server_->Stats().connections_refused, 1u);
  EXPECT_TRUE(SawEvent("http.connection_limit"));
  // Closing one frees its slot.
  a.reset();
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) {
    TestConnection d(port_);
    d.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    auto rd = d.ReadResponse();
    served = rd && rd->status == 200;
    if (!served) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(served);
}

TEST_F(HttpServerTest, FullHandlerQueueIs503) {
  HttpServerOptions options;
  options.handler_threads = 1;
  options.max_queued_requests = 1;
  StartServer(options);
  TestConnection busy(port_), queued(port_), refused(port_);
  busy.Send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n");
  handler_->WaitForBlocked(1);
  queued.Send("GET /queued HTTP/1.1\r\nHost: x\r\n\r\n");
  for (int i = 0; i < 100 && server_->Stats().queued_requests < 1; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  refused.Send("GET /refused HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = refused.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 503);
  handler_->Release();
  auto b = busy.ReadResponse();
  auto q = queued.ReadResponse();
  ASSERT_TRUE(b && q);
  EXPECT_EQ(b->status, 200);
  EXPECT_EQ(q->status, 200);
}

TEST_F(HttpServerTest, RequestIdsAreAssignedOrKept) {
  StartServer();
  TestConnection c(port_);
  c.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  auto generated = c.ReadResponse();
  ASSERT_TRUE(generated.has_value());
  const std::string id = generated->Header("X-Request-Id");
  EXPECT_EQ(id.size(), 32u);
  // The handler saw the same id.
  bool seen = false;
  const auto echoed = nlohmann::json::parse(generated->body);
  for (const auto& h : echoed["headers"]) {
    seen = seen || (h[0] == "X-Request-Id" && h[1] == id);
  }
  EXPECT_TRUE(seen);

  c.Send("GET / HTTP/1.1\r\nHost: x\r\nX-Request-Id: client-id.1\r\n\r\n");
  auto kept = c.ReadResponse();
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(kept->Header("X-Request-Id"), "client-id.1");

  c.Send("GET / HTTP/1.1\r\nHost: x\r\nX-Request-Id: bad id<script>\r\n\r\n");
  auto replaced = c.ReadResponse();
  ASSERT_TRUE(replaced.has_value());
  EXPECT_EQ(replaced->Header("X-Request-Id").size(), 32u);
  EXPECT_NE(replaced->Header("X-Request-Id"), id);
}

TEST_F(HttpServerTest, HandlerExceptionIs500WithJson) {
  StartServer();
  TestConnection c(port_);
  c.Send("GET /throw HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 500);
  auto body = nlohmann::json::parse(r->body);
  EXPECT_EQ(body["error"]["code"], "internal");
  EXPECT_EQ(body["error"]["request_id"], r->Header("X-Request-Id"));
  EXPECT_EQ(body["error"]["message"], "internal error");  // never the exception text
  EXPECT_TRUE(SawEvent("http.handler_exception"));
}

TEST_F(HttpServerTest, HandlerCannotInjectHeadersOrFraming) {
  StartServer();
  TestConnection c(port_);
  c.Send("GET /inject HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("Set-Cookie"), "");
  EXPECT_EQ(r->Header("X-Evil"), "");
  EXPECT_EQ(r->Header("Content-Length"), std::to_string(r->body.size()));
  // The connection is still in sync.
  c.Send("GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
  auto after = c.ReadResponse();
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(nlohmann::json::parse(after->body)["target"], "/after");
}

TEST_F(HttpServerTest, HeadResponsesCarryNoBody) {
  StartServer();
  TestConnection c(port_);
  c.Send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n");
  // Both responses, the HEAD one with Content-Length but no body: the second starts
  // right after the first's blank line.
  ASSERT_TRUE(c.ReadUntil(
      [](const std::string& b) { return b.find("\r\n\r\n", b.find("\r\n\r\n") + 4) != b.npos; },
      2s));
  const size_t end = c.pending().find("\r\n\r\n") + 4;
  EXPECT_EQ(c.pending().substr(end, 9), "HTTP/1.1 ");
  EXPECT_NE(c.pending().find("Content-Length: "), std::string::npos);
}

TEST_F(HttpServerTest, DrainFinishesInFlightRequestsAndClosesIdleOnes) {
  StartServer();
  TestConnection idle(port_), busy(port_);
  idle.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(idle.ReadResponse().has_value());
  busy.Send("GET /sleep/400 HTTP/1.1\r\nHost: x\r\n\r\n");
  std::this_thread::sleep_for(100ms);  // the request reaches the handler
  auto drained = std::async(std::launch::async, [&] { return server_->Drain(5s); });
  EXPECT_TRUE(idle.WaitClosed(2s));
  auto r = busy.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("Connection"), "close");
  EXPECT_TRUE(busy.WaitClosed(2s));
  EXPECT_TRUE(drained.get());
  // No longer accepting.
  TestConnection late(port_);
  EXPECT_TRUE(!late.ok() || late.WaitClosed(2s));
}

TEST_F(HttpServerTest, DrainDeadlineCutsOffStragglers) {
  StartServer();
  TestConnection stuck(port_);
  stuck.Send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n");
  handler_->WaitForBlocked(1);
  const auto start = std::chrono::steady_clock::now();
  std::thread release([&] {
    std::this_thread::sleep_for(300ms);
    handler_->Release();  // the handler returns after the drain gave up on it
  });
  EXPECT_FALSE(server_->Drain(100ms));
  release.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_TRUE(stuck.WaitClosed(2s));
}

// ---------------------------------------------------------------------------------------
// TLS.

class HttpsServerTest : public HttpServerTest {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("fnjail-https-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    const std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
        "-subj /CN=localhost -keyout '" + (dir_ / "key.pem").string() + "' -out '" +
        (dir_ / "cert.pem").string() + "' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) GTEST_SKIP() << "openssl command not available";
  }
  void TearDown() override {
    HttpServerTest::TearDown();
    std::filesystem::remove_all(dir_);
  }
  void StartTls(HttpServerOptions options = {}, bool tls13_only = false) {
    options.tls = HttpTlsOptions{(dir_ / "cert.pem").string(), (dir_ / "key.pem").string(),
                                 tls13_only};
    StartServer(std::move(options));
  }

  struct TlsResult {
    bool handshake = false;
    std::string version, cipher, response;
  };
  // Connects with OpenSSL, optionally pinned to `max_version` and `ciphers`, sends one
  // request and reads until the server closes.
  TlsResult TlsRequest(int max_version = 0, const char* ciphers = nullptr) {
    TlsResult result;
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    if (max_version) SSL_CTX_set_max_proto_version(ctx, max_version);
    if (ciphers) SSL_CTX_set_cipher_list(ctx, ciphers);
    SSL_CTX_set_security_level(ctx, 0);  // let the client offer what the server must refuse
    TestConnection c(port_);
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, c.fd());
    if (SSL_connect(ssl) == 1) {
      result.handshake = true;
      result.version = SSL_get_version(ssl);
      result.cipher = SSL_get_cipher_name(ssl);
      const std::string req = "GET /tls HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
      SSL_write(ssl, req.data(), static_cast<int>(req.size()));
      char buf[4096];
      int n;
      while ((n = SSL_read(ssl, buf, sizeof(buf))) > 0) result.response.append(buf, n);
    }
    ERR_clear_error();
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    return result;
  }

  std::filesystem::path dir_;
};

TEST_F(HttpsServerTest, ServesOverTls13) {
  StartTls();
  auto r = TlsRequest();
  ASSERT_TRUE(r.handshake);
  EXPECT_EQ(r.version, "TLSv1.3");
  EXPECT_EQ(r.response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r.response;
  EXPECT_NE(r.response.find("\"tls\":true"), std::string::npos);
}

TEST_F(HttpsServerTest, Tls12UsesForwardSecretAead) {
  StartTls();
  auto r = TlsRequest(TLS1_2_VERSION);
  ASSERT_TRUE(r.handshake);
  EXPECT_EQ(r.version, "TLSv1.2");
  EXPECT_EQ(r.cipher.rfind("ECDHE-", 0), 0u) << r.cipher;
  EXPECT_NE(r.cipher.find("GCM"), std::string::npos) << r.cipher;
}

TEST_F(HttpsServerTest, Tls13OnlyRefusesTls12) {
  StartTls({}, true);
  EXPECT_FALSE(TlsRequest(TLS1_2_VERSION).handshake);
  auto r = TlsRequest();
  ASSERT_TRUE(r.handshake);
  EXPECT_EQ(r.version, "TLSv1.3");
  EXPECT_EQ(r.response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r.response;
}

TEST_F(HttpsServerTest, RefusesOldProtocolsAndWeakSuites) {
  StartTls();
  EXPECT_FALSE(TlsRequest(TLS1_1_VERSION).handshake);
  EXPECT_FALSE(TlsRequest(TLS1_2_VERSION, "AES128-SHA:AES256-SHA256").handshake);
  EXPECT_FALSE(TlsRequest(TLS1_2_VERSION, "ECDHE-RSA-AES128-SHA").handshake);
}

TEST_F(HttpsServerTest, PlainHttpOnTheTlsPortGoesNowhere) {
  StartTls();
  TestConnection c(port_);
  c.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(c.WaitClosed(3s));
  EXPECT_EQ(c.pending().find("HTTP/1.1 200"), std::string::npos);
  EXPECT_EQ(handler_->calls(), 0);
}

TEST_F(HttpsServerTest, BadKeyMaterialIsAClearError) {
  HttpServerOptions options;
  options.tls = HttpTlsOptions{(dir_ / "cert.pem").string(), (dir_ / "missing.pem").string()};
  auto server = HttpServer::Start(options, handler_);
  ASSERT_FALSE(server.has_value());
  EXPECT_NE(server.error().message.find("missing.pem"), std::string::npos);
}

TEST(HttpServerStartTest, BadAddressIsAClearError) {
  HttpServerOptions options;
  options.listen = {HttpListen{"not-an-ip", 0}};
  auto server = HttpServer::Start(options, std::make_shared<EchoHandler>());
  ASSERT_FALSE(server.has_value());
  EXPECT_NE(server.error().message.find("not-an-ip"), std::string::npos);
}

}  // namespace
}  // namespace fnjail::gateway
