// A raw-socket HTTP/1.1 client for gateway tests: sends exact bytes (malformed on purpose
// when a test wants), reads one response, and tells whether the server closed the connection.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fnjail::testing {

// A connected loopback socket; closes on destruction.
class TestConnection {
 public:
  explicit TestConnection(uint16_t port, const char* host = "127.0.0.1") {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    ::inet_pton(AF_INET, host, &addr.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
    int one = 1;
    if (fd_ >= 0) ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  ~TestConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  TestConnection(const TestConnection&) = delete;
  TestConnection& operator=(const TestConnection&) = delete;

  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  // Sends every byte; false when the peer is gone.
  bool Send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads whatever arrives until `pred(buffer_)` holds, EOF, or the timeout. Returns
  // false on timeout.
  template <class Pred>
  bool ReadUntil(Pred pred, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred(buffer_)) {
      if (eof_) return true;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      const int r = ::poll(&p, 1, static_cast<int>(left.count()));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      char chunk[16384];
      const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        eof_ = true;  // EOF or reset: the server closed
        continue;
      }
      buffer_.append(chunk, static_cast<size_t>(n));
    }
    return true;
  }

  struct Response {
    int status = 0;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::string Header(std::string_view name) const {
      for (const auto& [k, v] : headers) {
        if (k.size() != name.size()) continue;
        bool same = true;
        for (size_t i = 0; i < k.size(); ++i) {
          same = same && std::tolower(static_cast<unsigned char>(k[i])) ==
                             std::tolower(static_cast<unsigned char>(name[i]));
        }
        if (same) return v;
      }
      return {};
    }
  };

  // Reads one complete response (Content-Length framed); nullopt on timeout or EOF first.
  std::optional<Response> ReadResponse(
      std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    size_t head_end = std::string::npos;
    size_t total = std::string::npos;
    auto complete = [&](const std::string& b) {
      head_end = b.find("\r\n\r\n");
      if (head_end == std::string::npos) return false;
      size_t length = 0;
      const std::string head = b.substr(0, head_end);
      size_t pos = 0;
      std::string lower;
      for (char c : head) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
      if ((pos = lower.find("\r\ncontent-length:")) != std::string::npos) {
        length = std::stoul(head.substr(pos + 17));
      }
      total = head_end + 4 + length;
      return b.size() >= total;
    };
    if (!ReadUntil(complete, timeout) || total == std::string::npos || buffer_.size() < total) {
      return std::nullopt;
    }
    Response r;
    const std::string head = buffer_.substr(0, head_end);
    r.body = buffer_.substr(head_end + 4, total - head_end - 4);
    buffer_.erase(0, total);
    size_t eol = head.find("\r\n");
    const std::string status_line = head.substr(0, eol);
    if (status_line.size() >= 12) r.status = std::stoi(status_line.substr(9, 3));
    while (eol != std::string::npos) {
      const size_t next = head.find("\r\n", eol + 2);
      const std::string line = head.substr(eol + 2, next == std::string::npos ? std::string::npos
                                                                              : next - eol - 2);
      const size_t colon = line.find(':');
      if (colon != std::string::npos) {
        size_t v = colon + 1;
        while (v < line.size() && line[v] == ' ') ++v;
        r.headers.emplace_back(line.substr(0, colon), line.substr(v));
      }
      eol = next;
    }
    return r;
  }

  // True when the server closes the connection (EOF or reset) within `timeout`, after
  // discarding anything it still sends.
  bool WaitClosed(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    ReadUntil([](const std::string&) { return false; }, timeout);
    return eof_;
  }

  bool eof() const { return eof_; }
  const std::string& pending() const { return buffer_; }

 private:
  int fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
};

}  // namespace fnjail::testing
