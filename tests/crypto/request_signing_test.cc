// Tests for crypto/request_signing.cc: the docs/auth.md worked example, canonicalisation
// rules, and every rejection (tampering, unknown key, clock window, replay).
#include <gtest/gtest.h>

#include "crypto/crypto.h"
#include "tests/testing/result_matchers.h"

namespace fnjail::crypto {
namespace {

using ::fnjail::testing::HasError;
using ::fnjail::testing::IsOk;

constexpr int64_t kTs = 1800000000;

Bytes ExampleKey() {
  return *FromHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
}

HttpRequestView ExampleRequest() {
  HttpRequestView r;
  r.method = "POST";
  r.path = "/v1/functions/hello/invoke";
  r.query = "b=2&a=1";
  r.headers = {{"Host", "api.example.com"}, {"Content-Type", "application/json"},
               {"X-Other", "not signed"}};
  r.body = R"({"name":"world"})";
  return r;
}

// The worked example of docs/auth.md; the signature was also computed independently with
// `openssl dgst -sha256 -mac HMAC` over the canonical request.
TEST(RequestSigningTest, DocumentedWorkedExample) {
  auto canonical = CanonicalRequest(ExampleRequest(), {"host", "content-type"}, kTs);
  ASSERT_THAT(canonical, IsOk());
  EXPECT_EQ(*canonical,
            "FNJ1-HMAC-SHA256\n"
            "1800000000\n"
            "POST\n"
            "/v1/functions/hello/invoke\n"
            "a=1&b=2\n"
            "content-type:application/json\n"
            "host:api.example.com\n"
            "content-type;host\n"
            "c05f3d430e01e24c936243d1e2525b8077c5649863eba0384ca2d860922b24e3");
  auto header = SignRequest(ExampleKey(), "ops-ci", ExampleRequest(), {"Host", "Content-Type"},
                            kTs);
  ASSERT_THAT(header, IsOk());
  EXPECT_EQ(*header,
            "FNJ1-HMAC-SHA256 KeyId=ops-ci, Timestamp=1800000000, "
            "SignedHeaders=content-type;host, "
            "Signature=6c523c38039e6e730464b7eda7dc4a4901c48f7b60083a14a7a80a2b8b0cb637");
}

TEST(RequestSigningTest, CanonicalisationRules) {
  HttpRequestView r = ExampleRequest();
  r.method = "post";
  r.query = "z=&b=2&a=1&&a=0";
  r.headers = {{"HOST", "  api.example.com \t"}};
  auto c = CanonicalRequest(r, {"Host"}, kTs);
  ASSERT_THAT(c, IsOk());
  EXPECT_NE(c->find("\nPOST\n"), std::string::npos);
  EXPECT_NE(c->find("\na=0&a=1&b=2&z=\n"), std::string::npos) << *c;
  EXPECT_NE(c->find("\nhost:api.example.com\nhost\n"), std::string::npos) << *c;
}

TEST(RequestSigningTest, CanonicalRequestRefusesAmbiguity) {
  HttpRequestView r = ExampleRequest();
  EXPECT_THAT(CanonicalRequest(r, {"content-type"}, kTs), HasError("`host` must be signed"));
  EXPECT_THAT(CanonicalRequest(r, {"host", "x-missing"}, kTs),
              HasError("`x-missing` is missing"));
  EXPECT_THAT(CanonicalRequest(r, {"host", "Host"}, kTs), HasError("listed twice"));
  r.headers.push_back({"host", "evil.example"});
  EXPECT_THAT(CanonicalRequest(r, {"host"}, kTs), HasError("`host` appears twice"));
  r = ExampleRequest();
  r.headers[0].second = "api.example.com\r\nX-Injected: 1";
  EXPECT_THAT(CanonicalRequest(r, {"host"}, kTs), HasError("control character"));
  // Header names are HTTP tokens: a `,` would also break the SignedHeaders parameter.
  r = ExampleRequest();
  r.headers.push_back({"x,y", "1"});
  EXPECT_THAT(CanonicalRequest(r, {"host", "x,y"}, kTs), HasError("bad header name `x,y`"));
  r = ExampleRequest();
  r.path = "v1/no-slash";
  EXPECT_THAT(CanonicalRequest(r, {"host"}, kTs), HasError("must start with `/`"));
}

TEST(RequestSigningTest, ParsesTheHeaderStrictly) {
  auto sig = ParseRequestSignature(
      "FNJ1-HMAC-SHA256 KeyId=k1, Timestamp=5, SignedHeaders=host;x-a, Signature=" +
      std::string(64, 'A'));
  ASSERT_THAT(sig, IsOk());
  EXPECT_EQ(sig->key_id, "k1");
  EXPECT_EQ(sig->timestamp, 5);
  EXPECT_EQ(sig->signed_headers, (std::vector<std::string>{"host", "x-a"}));
  EXPECT_EQ(sig->signature, std::string(64, 'a'));
  const std::string s64(64, '0');
  EXPECT_THAT(ParseRequestSignature("Bearer abc"), HasError("not a FNJ1-HMAC-SHA256"));
  EXPECT_THAT(ParseRequestSignature("FNJ1-HMAC-SHA256 KeyId=k, Timestamp=1, SignedHeaders=host"),
              HasError("missing `Signature`"));
  EXPECT_THAT(ParseRequestSignature("FNJ1-HMAC-SHA256 KeyId=k, KeyId=j, Timestamp=1, "
                                    "SignedHeaders=host, Signature=" + s64),
              HasError("given twice"));
  EXPECT_THAT(ParseRequestSignature("FNJ1-HMAC-SHA256 KeyId=k, Timestamp=-1, "
                                    "SignedHeaders=host, Signature=" + s64),
              HasError("whole seconds"));
  EXPECT_THAT(ParseRequestSignature("FNJ1-HMAC-SHA256 KeyId=k, Timestamp=1, "
                                    "SignedHeaders=host, Signature=abc"),
              HasError("64 hex digits"));
  EXPECT_THAT(ParseRequestSignature("FNJ1-HMAC-SHA256 KeyId=k, Timestamp=1, Extra=1, "
                                    "SignedHeaders=host, Signature=" + s64),
              HasError("unknown parameter"));
}

class VerifierTest : public ::testing::Test {
 protected:
  VerifierTest()
      : verifier_([](std::string_view id) -> std::optional<Bytes> {
          if (id == "ops-ci") return ExampleKey();
          return std::nullopt;
        }) {}

  std::string Sign(const HttpRequestView& r, int64_t ts = kTs) {
    return *SignRequest(ExampleKey(), "ops-ci", r, {"host", "content-type"}, ts);
  }

  HmacRequestVerifier verifier_;
};

TEST_F(VerifierTest, AcceptsAGenuineRequestOnce) {
  std::string auth = Sign(ExampleRequest());
  auto ok = verifier_.Verify(ExampleRequest(), auth, kTs + 10);
  ASSERT_THAT(ok, IsOk());
  EXPECT_EQ(ok->key_id, "ops-ci");
  EXPECT_THAT(verifier_.Verify(ExampleRequest(), auth, kTs + 11), HasError("replayed request"));
}

TEST_F(VerifierTest, AnyChangeToASignedPartFails) {
  std::string auth = Sign(ExampleRequest());
  auto tamper = [&](auto edit) {
    HttpRequestView r = ExampleRequest();
    edit(r);
    return verifier_.Verify(r, auth, kTs);
  };
  EXPECT_THAT(tamper([](HttpRequestView& r) { r.method = "PUT"; }), HasError("does not match"));
  EXPECT_THAT(tamper([](HttpRequestView& r) { r.path = "/v1/functions/other/invoke"; }),
              HasError("does not match"));
  EXPECT_THAT(tamper([](HttpRequestView& r) { r.query = "a=1&b=3"; }), HasError("does not match"));
  EXPECT_THAT(tamper([](HttpRequestView& r) { r.body = R"({"name":"worle"})"; }),
              HasError("does not match"));
  EXPECT_THAT(tamper([](HttpRequestView& r) { r.headers[0].second = "evil.example"; }),
              HasError("does not match"));
  // Unsigned headers may change; query order does not matter.
  EXPECT_THAT(tamper([](HttpRequestView& r) {
                r.headers[2].second = "changed";
                r.query = "a=1&b=2";
              }),
              IsOk());
}

TEST_F(VerifierTest, WrongKeyUnknownKeyAndClockWindow) {
  std::string wrong = *SignRequest(Bytes(32, 9), "ops-ci", ExampleRequest(), {"host"}, kTs);
  EXPECT_THAT(verifier_.Verify(ExampleRequest(), wrong, kTs), HasError("does not match"));
  std::string unknown = *SignRequest(ExampleKey(), "nobody", ExampleRequest(), {"host"}, kTs);
  EXPECT_THAT(verifier_.Verify(ExampleRequest(), unknown, kTs), HasError("unknown key `nobody`"));
  std::string auth = Sign(ExampleRequest());
  EXPECT_THAT(verifier_.Verify(ExampleRequest(), auth, kTs + 301), HasError("outside now +- 300"));
  EXPECT_THAT(verifier_.Verify(ExampleRequest(), auth, kTs - 301), HasError("outside"));
  // A signature over a different timestamp than the header claims does not verify.
  std::string shifted = auth;
  shifted.replace(shifted.find("1800000000"), 10, "1800000001");
  EXPECT_THAT(verifier_.Verify(ExampleRequest(), shifted, kTs), HasError("does not match"));
}

TEST_F(VerifierTest, ReplayMemoryForgetsOnlyAfterTheWindowAndFailsClosedWhenFull) {
  HmacRequestVerifier small([](std::string_view) { return std::optional<Bytes>(ExampleKey()); },
                            300, 2);
  HttpRequestView a = ExampleRequest();
  HttpRequestView b = ExampleRequest();
  b.body = "b";
  HttpRequestView c = ExampleRequest();
  c.body = "c";
  ASSERT_THAT(small.Verify(a, Sign(a), kTs), IsOk());
  ASSERT_THAT(small.Verify(b, Sign(b), kTs), IsOk());
  EXPECT_THAT(small.Verify(c, Sign(c), kTs), HasError("replay memory full"));
  // Once the first two are older than the window they can no longer be replayed anyway
  // (the timestamp check refuses them), so they are forgotten and room is made.
  HttpRequestView d = ExampleRequest();
  d.body = "d";
  EXPECT_THAT(small.Verify(d, Sign(d, kTs + 301), kTs + 301), IsOk());
  EXPECT_THAT(small.Verify(a, Sign(a), kTs + 301), HasError("outside"));
}

}  // namespace
}  // namespace fnjail::crypto
