// Tests of runtime/protocol.h: the message codecs and the gateway's Session, against a
// scripted peer on the other end of a socketpair.
#include "runtime/protocol.h"

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "crypto/crypto.h"
#include "runtime/internal/wire.h"
#include "tests/runtime/runtime_testing.h"
#include "tests/testing/result_matchers.h"

namespace fnjail::runtime {
namespace {

using ::fnjail::testing::HasError;
using ::fnjail::testing::IsOk;
using testing::MakeInvocation;
using namespace std::chrono_literals;

Response SampleResponse() {
  Response r;
  r.status = 201;
  r.headers = {{"content-type", "application/json"}, {"x-trace", "a b\tc"}};
  r.body = std::string("{\"ok\":true}\0bin", 15);
  r.logs = {"first", "second line"};
  return r;
}

TEST(ProtocolCodecTest, InvocationRoundTrips) {
  Invocation inv = MakeInvocation(std::string("{\"a\":1}\0\xff", 9));
  auto bytes = EncodeInvocation(inv);
  ASSERT_THAT(bytes, IsOk());
  auto back = DecodeInvocation(*bytes);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->request_id, inv.request_id);
  EXPECT_EQ(back->function, inv.function);
  EXPECT_EQ(back->deadline_ms, inv.deadline_ms);
  EXPECT_EQ(back->principal_id, inv.principal_id);
  EXPECT_EQ(back->principal_groups, inv.principal_groups);
  EXPECT_EQ(back->event, inv.event);
}

TEST(ProtocolCodecTest, ResponseRoundTrips) {
  Response r = SampleResponse();
  r.tainted = true;
  auto bytes = EncodeResponse(r);
  ASSERT_THAT(bytes, IsOk());
  auto back = DecodeResponse(*bytes);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->kind, Response::Kind::kOk);
  EXPECT_EQ(back->status, 201);
  EXPECT_EQ(back->headers, r.headers);
  EXPECT_EQ(back->body, r.body);
  EXPECT_EQ(back->logs, r.logs);
  EXPECT_TRUE(back->tainted);

  Response e;
  e.kind = Response::Kind::kHandledError;
  e.status = 400;
  e.error_type = "ValidationError";
  e.error_message = "name is required\nsecond line";
  auto eb = EncodeResponse(e);
  ASSERT_THAT(eb, IsOk());
  auto eback = DecodeResponse(*eb);
  ASSERT_THAT(eback, IsOk());
  EXPECT_EQ(eback->kind, Response::Kind::kHandledError);
  EXPECT_EQ(eback->error_type, "ValidationError");
  EXPECT_EQ(eback->error_message, e.error_message);
}

TEST(ProtocolCodecTest, EncoderRefusesValuesOutOfBounds) {
  Invocation inv = MakeInvocation("{}");
  inv.request_id = "has space";
  EXPECT_THAT(EncodeInvocation(inv), HasError("invalid: request id"));
  inv = MakeInvocation("{}");
  inv.request_id = std::string(kMaxRequestIdBytes + 1, 'a');
  EXPECT_THAT(EncodeInvocation(inv), HasError("request id"));
  inv = MakeInvocation("{}");
  inv.deadline_ms = 0;
  EXPECT_THAT(EncodeInvocation(inv), HasError("deadline"));
  inv = MakeInvocation("{}");
  inv.principal_groups.assign(kMaxPrincipalGroups + 1, "g");
  EXPECT_THAT(EncodeInvocation(inv), HasError("groups"));
  inv = MakeInvocation("{}");
  inv.principal_id = "bad\nid";
  EXPECT_THAT(EncodeInvocation(inv), HasError("principal id"));
  inv = MakeInvocation(std::string(kMaxEventBytes + 1, 'x'));
  EXPECT_THAT(EncodeInvocation(inv), HasError("event larger"));

  Response r;
  r.status = 99;
  EXPECT_THAT(EncodeResponse(r), HasError("status"));
  r = Response();
  r.headers = {{"bad name", "v"}};
  EXPECT_THAT(EncodeResponse(r), HasError("header name"));
  r.headers = {{"x-split", "a\r\nset-cookie: x"}};
  EXPECT_THAT(EncodeResponse(r), HasError("invalid value of header"));
  r = Response();
  r.error_type = "oops";
  EXPECT_THAT(EncodeResponse(r), HasError("error type"));
  r = Response();
  r.kind = Response::Kind::kUnhandledError;
  EXPECT_THAT(EncodeResponse(r), HasError("error type"));
}

TEST(ProtocolCodecTest, DecoderRefusesEveryTruncationAndTrailingBytes) {
  auto bytes = EncodeInvocation(MakeInvocation("{\"k\":\"v\"}"));
  ASSERT_THAT(bytes, IsOk());
  for (size_t n = 0; n < bytes->size(); ++n) {
    EXPECT_THAT(DecodeInvocation(std::string_view(*bytes).substr(0, n)), HasError("protocol"))
        << n;
  }
  EXPECT_THAT(DecodeInvocation(*bytes + "x"), HasError("bytes after"));
  auto rbytes = EncodeResponse(SampleResponse());
  ASSERT_THAT(rbytes, IsOk());
  for (size_t n = 0; n < rbytes->size(); ++n) {
    EXPECT_THAT(DecodeResponse(std::string_view(*rbytes).substr(0, n)), HasError("protocol"))
        << n;
  }
  EXPECT_THAT(DecodeResponse(*rbytes + "x"), HasError("bytes after"));
  EXPECT_THAT(DecodeResponse(*bytes), HasError("not a response"));
  EXPECT_THAT(DecodeInvocation(*rbytes), HasError("not an invocation"));
}

TEST(ProtocolCodecTest, DecoderRefusesLengthsPastTheirLimitBeforeReading) {
  // A request id claiming 4 GiB: refused from its length alone.
  std::string msg = {1, 1, '\xff', '\xff', '\xff', '\xff'};
  EXPECT_THAT(DecodeInvocation(msg), HasError("request id longer than"));
  std::string version = {1, 2};
  EXPECT_THAT(DecodeInvocation(version), HasError("unsupported protocol version"));
  auto r = EncodeResponse(SampleResponse());
  ASSERT_THAT(r, IsOk());
  std::string flags = *r;
  flags[3] = 4;  // an unknown flag bit
  EXPECT_THAT(DecodeResponse(flags), HasError("unknown flags"));
  std::string kind = *r;
  kind[2] = 3;
  EXPECT_THAT(DecodeResponse(kind), HasError("unknown kind"));
}

TEST(ProtocolCodecTest, ClampResponseMakesAnyHandlerOutputEncodable) {
  Response r;
  r.logs.assign(kMaxLogLines + 10, std::string(kMaxLogLineBytes + 100, 'x'));
  r.logs[0] = "tab\there, bell \a, bad utf8 \xc3\x28";
  ClampResponse(r);
  ASSERT_THAT(EncodeResponse(r), IsOk());
  EXPECT_EQ(r.logs.size(), kMaxLogLines);
  EXPECT_EQ(r.logs[0], "tab\there, bell  , bad utf8 ?(");
  EXPECT_EQ(r.logs.back(), "(11 more log lines dropped)");

  Response big;
  big.body.assign(kMaxBodyBytes + 1, 'b');
  ClampResponse(big);
  EXPECT_EQ(big.kind, Response::Kind::kUnhandledError);
  EXPECT_EQ(big.error_type, "response-too-large");
  EXPECT_TRUE(big.body.empty());

  Response bad_header;
  bad_header.headers = {{"x", "a\nb"}};
  ClampResponse(bad_header);
  EXPECT_EQ(bad_header.error_type, "invalid-response");
  ASSERT_THAT(EncodeResponse(bad_header), IsOk());
}

TEST(WireTest, LaunchAndHeaderFraming) {
  std::string secret(wire::kSecretBytes, 's');
  std::string launch = wire::EncodeLaunch(secret);
  ASSERT_EQ(launch.size(), wire::kLaunchBytes);
  auto back = wire::DecodeLaunch(launch);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(*back, secret);
  launch[3] = 9;
  EXPECT_THAT(wire::DecodeLaunch(launch), HasError("version"));

  std::string header = wire::EncodeInvocationHeader(7, "req-7");
  ASSERT_EQ(header.size(), wire::kInvocationHeaderBytes + 5);
  auto h = wire::DecodeInvocationHeader(header.substr(0, wire::kInvocationHeaderBytes));
  ASSERT_THAT(h, IsOk());
  EXPECT_EQ(h->counter, 7u);
  EXPECT_EQ(h->request_id_bytes, 5u);
  EXPECT_THAT(wire::DecodeInvocationHeader(
                  wire::EncodeInvocationHeader(0, "r").substr(0, wire::kInvocationHeaderBytes)),
              HasError("counter"));
  EXPECT_NE(wire::ChannelInvocationId(1, "a"), wire::ChannelInvocationId(2, "a"));
}

// ---------------------------------------------------------------------------------------
// Session against a scripted runtime.

class SocketPair {
 public:
  SocketPair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds_), 0); }
  ~SocketPair() {
    for (int fd : fds_) {
      if (fd >= 0) ::close(fd);
    }
  }
  int host() const { return fds_[0]; }
  int jail() const { return fds_[1]; }
  void CloseJail() {
    ::close(fds_[1]);
    fds_[1] = -1;
  }

 private:
  int fds_[2] = {-1, -1};
};

std::string ReadN(int fd, size_t n) {
  std::string s(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, s.data() + got, n - got);
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  s.resize(got);
  return s;
}

// Plays the runtime for one invocation with `answer` deciding what to send back.
template <class Answer>
std::thread ScriptedRuntime(int fd, Answer answer) {
  return std::thread([fd, answer] {
    auto secret = wire::DecodeLaunch(ReadN(fd, wire::kLaunchBytes));
    if (!secret) return;
    auto h = wire::DecodeInvocationHeader(ReadN(fd, wire::kInvocationHeaderBytes));
    if (!h) return;
    std::string rid = ReadN(fd, h->request_id_bytes);
    std::string id = wire::ChannelInvocationId(h->counter, rid);
    auto ep = crypto::ChannelEndpoint::Create(fd, crypto::AsBytes(*secret), crypto::AsBytes(id),
                                              crypto::ChannelRole::kRuntime);
    if (!ep) return;
    std::string message;
    for (;;) {
      auto rec = ep->Receive();
      if (!rec || !rec->has_value()) break;
      message.append(crypto::AsChars(**rec));
    }
    answer(fd, *ep, *secret, id, message);
  });
}

TEST(SessionTest, InvokesAndDecodesTheAnswer) {
  SocketPair sp;
  auto runtime = ScriptedRuntime(
      sp.jail(), [](int, crypto::ChannelEndpoint& ep, const std::string&, const std::string&,
                    const std::string& message) {
        auto inv = DecodeInvocation(message);
        Response r;
        r.body = inv ? "echo:" + inv->event : "bad";
        auto bytes = EncodeResponse(r);
        (void)ep.Send(crypto::AsBytes(*bytes));
        (void)ep.Close();
      });
  auto session = Session::Create(sp.host());
  ASSERT_THAT(session, IsOk());
  auto r = session->Invoke(MakeInvocation("ping"), 5s);
  runtime.join();
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->body, "echo:ping");
  EXPECT_EQ(session->invocations(), 1u);
  EXPECT_FALSE(session->broken());
}

TEST(SessionTest, TimesOutWithinTheBudgetWhenTheRuntimeIsSilent) {
  SocketPair sp;
  auto session = Session::Create(sp.host());
  ASSERT_THAT(session, IsOk());
  auto start = std::chrono::steady_clock::now();
  auto r = session->Invoke(MakeInvocation("{}"), 150ms);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_THAT(r, HasError("timeout"));
  EXPECT_GE(took, 150ms);
  EXPECT_LT(took, 2s);
  EXPECT_TRUE(session->broken());
  EXPECT_THAT(session->Invoke(MakeInvocation("{}"), 1s), HasError("broken"));
}

TEST(SessionTest, InvalidInvocationLeavesTheSessionUsable) {
  SocketPair sp;
  auto session = Session::Create(sp.host());
  ASSERT_THAT(session, IsOk());
  Invocation inv = MakeInvocation("{}");
  inv.request_id.clear();
  EXPECT_THAT(session->Invoke(inv, 1s), HasError("invalid"));
  EXPECT_FALSE(session->broken());
}

TEST(SessionTest, ClosedRuntimeIsReported) {
  SocketPair sp;
  auto session = Session::Create(sp.host());
  ASSERT_THAT(session, IsOk());
  sp.CloseJail();
  EXPECT_THAT(session->Invoke(MakeInvocation("{}"), 1s), HasError("closed"));
}

TEST(SessionTest, ForgedOrMalformedAnswersAreProtocolErrors) {
  // Garbage instead of records.
  {
    SocketPair sp;
    auto runtime = ScriptedRuntime(sp.jail(), [](int fd, crypto::ChannelEndpoint&,
                                                 const std::string&, const std::string&,
                                                 const std::string&) {
      std::string junk(64, '\x01');
      (void)!::write(fd, junk.data(), junk.size());
    });
    auto session = Session::Create(sp.host());
    ASSERT_THAT(session, IsOk());
    EXPECT_THAT(session->Invoke(MakeInvocation("{}"), 5s), HasError("protocol"));
    runtime.join();
  }
  // Records under the wrong keys (another invocation id): the tag fails.
  {
    SocketPair sp;
    auto runtime = ScriptedRuntime(sp.jail(), [](int fd, crypto::ChannelEndpoint&,
                                                 const std::string& secret, const std::string&,
                                                 const std::string&) {
      auto other = crypto::ChannelEndpoint::Create(fd, crypto::AsBytes(secret),
                                                   crypto::AsBytes(std::string("other")),
                                                   crypto::ChannelRole::kRuntime);
      auto bytes = EncodeResponse(Response());
      (void)other->Send(crypto::AsBytes(*bytes));
      (void)other->Close();
    });
    auto session = Session::Create(sp.host());
    ASSERT_THAT(session, IsOk());
    EXPECT_THAT(session->Invoke(MakeInvocation("{}"), 5s), HasError("protocol"));
    runtime.join();
  }
  // Authentic records holding a message that does not decode.
  {
    SocketPair sp;
    auto runtime = ScriptedRuntime(sp.jail(), [](int, crypto::ChannelEndpoint& ep,
                                                 const std::string&, const std::string&,
                                                 const std::string&) {
      (void)ep.Send(crypto::AsBytes(std::string("\x02\x01\x00", 3)));
      (void)ep.Close();
    });
    auto session = Session::Create(sp.host());
    ASSERT_THAT(session, IsOk());
    EXPECT_THAT(session->Invoke(MakeInvocation("{}"), 5s), HasError("protocol: truncated"));
    runtime.join();
  }
  // Records cut short: EOF before the final record.
  {
    SocketPair sp;
    auto runtime = ScriptedRuntime(sp.jail(), [&sp](int, crypto::ChannelEndpoint& ep,
                                                    const std::string&, const std::string&,
                                                    const std::string&) {
      auto bytes = EncodeResponse(Response());
      (void)ep.Send(crypto::AsBytes(*bytes));
      sp.CloseJail();
    });
    auto session = Session::Create(sp.host());
    ASSERT_THAT(session, IsOk());
    EXPECT_THAT(session->Invoke(MakeInvocation("{}"), 5s), HasError("closed"));
    runtime.join();
  }
}

}  // namespace
}  // namespace fnjail::runtime
