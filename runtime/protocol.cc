// The gateway's end of the runtime protocol: Session.
#include "runtime/protocol.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "crypto/crypto.h"
#include "runtime/internal/wire.h"

namespace fnjail::runtime {
namespace {

using Clock = std::chrono::steady_clock;

Error FromCrypto(const crypto::Error& e) { return Error{"protocol", e.ToString()}; }

// Milliseconds left until `deadline` for poll(), rounded up so we never spin at 0.
int PollTimeout(Clock::time_point deadline) {
  auto left = deadline - Clock::now();
  if (left <= Clock::duration::zero()) return 0;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return ms > 1'000'000 ? 1'000'000 : static_cast<int>(ms);
}

// Waits for `events` on `fd` until `deadline`. Errors: "timeout", "io".
Result<short> WaitFor(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    int timeout = PollTimeout(deadline);
    if (timeout == 0 && Clock::now() >= deadline) {
      return Fail("timeout", "the runtime did not answer within the time budget");
    }
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail("io", std::string("poll: ") + std::strerror(errno));
    }
    if (n > 0) return p.revents;
  }
}

// Writes all of `bytes` before `deadline` without ever blocking in send().
Result<void> WriteAll(int fd, std::string_view bytes, Clock::time_point deadline) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EPIPE || errno == ECONNRESET) {
      return Fail("closed", "the runtime closed the channel");
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      return Fail("io", std::string("send: ") + std::strerror(errno));
    }
    auto ready = WaitFor(fd, POLLOUT, deadline);
    if (!ready) return tl::unexpected(ready.error());
    if ((*ready & (POLLERR | POLLNVAL)) != 0 && (*ready & POLLOUT) == 0) {
      return Fail("closed", "the runtime closed the channel");
    }
  }
  return {};
}

}  // namespace

Session::Session(int fd, std::string secret) : fd_(fd), secret_(std::move(secret)) {}

Session::Session(Session&& other) noexcept
    : fd_(other.fd_),
      secret_(std::move(other.secret_)),
      next_counter_(other.next_counter_),
      completed_(other.completed_),
      broken_(other.broken_) {
  other.fd_ = -1;
  other.broken_ = true;
}

Session& Session::operator=(Session&& other) noexcept {
  if (this != &other) {
    std::fill(secret_.begin(), secret_.end(), '\0');
    fd_ = other.fd_;
    secret_ = std::move(other.secret_);
    next_counter_ = other.next_counter_;
    completed_ = other.completed_;
    broken_ = other.broken_;
    other.fd_ = -1;
    other.broken_ = true;
  }
  return *this;
}

Session::~Session() {
  // The secret opens every invocation of this environment: do not leave it in freed memory.
  volatile char* p = secret_.data();
  for (size_t i = 0; i < secret_.size(); ++i) p[i] = 0;
}

Result<Session> Session::Create(int host_fd) {
  if (host_fd < 0) return Fail("invalid", "no channel descriptor");
  std::string secret(wire::kSecretBytes, '\0');
  auto filled = crypto::FillRandom(
      std::span<uint8_t>(reinterpret_cast<uint8_t*>(secret.data()), secret.size()));
  if (!filled) return Fail("io", filled.error().ToString());
  std::string launch = wire::EncodeLaunch(secret);
  // The socket buffer is empty at launch, so the few bytes fit without waiting long.
  auto sent = WriteAll(host_fd, launch, Clock::now() + std::chrono::seconds(5));
  std::fill(launch.begin(), launch.end(), '\0');
  if (!sent) return tl::unexpected(sent.error());
  return Session(host_fd, std::move(secret));
}

Result<Response> Session::Invoke(const Invocation& invocation,
                                 std::chrono::milliseconds budget) {
  if (broken_) return Fail("broken", "the session failed before and cannot be reused");
  auto message = EncodeInvocation(invocation);
  if (!message) return tl::unexpected(message.error());
  const Clock::time_point deadline = Clock::now() + budget;

  // From here on a failure leaves the channel in an unknown state.
  broken_ = true;
  const uint64_t counter = next_counter_++;
  const std::string id = wire::ChannelInvocationId(counter, invocation.request_id);
  const crypto::ByteView secret = crypto::AsBytes(secret_);
  auto sealer = crypto::RecordSealer::Create(secret, crypto::AsBytes(id),
                                             crypto::ChannelRole::kGateway);
  if (!sealer) return tl::unexpected(FromCrypto(sealer.error()));
  auto opener = crypto::RecordOpener::Create(secret, crypto::AsBytes(id),
                                             crypto::ChannelRole::kRuntime);
  if (!opener) return tl::unexpected(FromCrypto(opener.error()));

  // The clear header names the invocation; the records carry it, sealed under its keys.
  std::string header = wire::EncodeInvocationHeader(counter, invocation.request_id);
  crypto::Bytes out(header.begin(), header.end());
  out.reserve(out.size() + message->size() +
              (message->size() / crypto::kChannelMaxPayload + 2) *
                  (crypto::kChannelHeaderSize + 16));
  std::string_view rest = *message;
  while (!rest.empty()) {
    std::string_view chunk = rest.substr(0, crypto::kChannelMaxPayload);
    auto sealed = sealer->Seal(crypto::AsBytes(chunk), out);
    if (!sealed) return tl::unexpected(FromCrypto(sealed.error()));
    rest.remove_prefix(chunk.size());
  }
  if (auto sealed = sealer->SealFinal(out); !sealed) {
    return tl::unexpected(FromCrypto(sealed.error()));
  }
  auto written = WriteAll(fd_, crypto::AsChars(out), deadline);
  if (!written) return tl::unexpected(written.error());

  // Read records until the final one, within the same deadline.
  crypto::Bytes in;
  size_t in_start = 0;
  std::string reply;
  crypto::Bytes payload;
  for (;;) {
    bool final = false;
    auto used = opener->Open(crypto::ByteView(in).subspan(in_start), &payload, &final);
    if (!used) return tl::unexpected(FromCrypto(used.error()));
    if (*used > 0) {
      in_start += *used;
      if (final) break;
      if (reply.size() + payload.size() > wire::kMaxMessageBytes) {
        return Fail("protocol", "the response is larger than the protocol allows");
      }
      reply.append(crypto::AsChars(payload));
      continue;
    }
    if (in_start > 0) {
      in.erase(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(in_start));
      in_start = 0;
    }
    auto ready = WaitFor(fd_, POLLIN, deadline);
    if (!ready) return tl::unexpected(ready.error());
    // Received on the stack and appended: growing `in` by the read size first would
    // allocate and zero 64 KiB per invocation for a reply of a few hundred bytes.
    std::array<uint8_t, 64 * 1024> chunk;
    ssize_t n = ::recv(fd_, chunk.data(), chunk.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      if (errno == ECONNRESET) return Fail("closed", "the runtime closed the channel");
      return Fail("io", std::string("recv: ") + std::strerror(errno));
    }
    in.insert(in.end(), chunk.begin(), chunk.begin() + n);
    if (n == 0) return Fail("closed", "the runtime closed the channel before it answered");
  }
  if (in_start != in.size()) {
    return Fail("protocol", "the runtime sent bytes after its response");
  }
  auto response = DecodeResponse(reply);
  if (!response) return tl::unexpected(response.error());
  broken_ = false;
  ++completed_;
  return response;
}

}  // namespace fnjail::runtime
