// Fuzzer of the HMAC request-signing canonicaliser and Authorization parser.
//
// The input is split at NUL bytes into: method, path, query, body, one header per
// remaining part (`name:value`), and is also parsed as an Authorization header.
// Invariants: whenever a request can be canonicalised and signed, the verifier accepts
// exactly that request once (then refuses the replay); a one-byte change to the body
// makes it fail; a parsed Authorization header renders back to one that parses equally.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "crypto/crypto.h"

namespace {

namespace crypto = fnjail::crypto;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "crypto_request_signing_fuzzer: invariant violated: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);

  if (auto sig = crypto::ParseRequestSignature(input)) {
    std::string names;
    for (size_t i = 0; i < sig->signed_headers.size(); ++i) {
      names += (i > 0 ? ";" : "") + sig->signed_headers[i];
    }
    std::string again = std::string(crypto::kHmacScheme) + " KeyId=" + sig->key_id +
                        ", Timestamp=" + std::to_string(sig->timestamp) +
                        ", SignedHeaders=" + names + ", Signature=" + sig->signature;
    auto reparsed = crypto::ParseRequestSignature(again);
    Check(reparsed.has_value() && reparsed->key_id == sig->key_id &&
              reparsed->timestamp == sig->timestamp &&
              reparsed->signed_headers == sig->signed_headers &&
              reparsed->signature == sig->signature,
          "a parsed header does not round-trip");
  }

  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t nul = input.find('\0', start);
    parts.push_back(input.substr(start, nul == std::string::npos ? nul : nul - start));
    if (nul == std::string::npos) break;
    start = nul + 1;
  }
  if (parts.size() < 5) return 0;
  crypto::HttpRequestView request;
  request.method = parts[0];
  request.path = parts[1];
  request.query = parts[2];
  request.body = parts[3];
  std::vector<std::string> signed_names;
  for (size_t i = 4; i < parts.size(); ++i) {
    size_t colon = parts[i].find(':');
    if (colon == std::string::npos) continue;
    request.headers.emplace_back(parts[i].substr(0, colon), parts[i].substr(colon + 1));
    signed_names.push_back(parts[i].substr(0, colon));
  }
  const crypto::Bytes key(32, 0x4b);
  const int64_t now = 1800000000;
  auto header = crypto::SignRequest(key, "fuzz", request, signed_names, now);
  if (!header) return 0;
  crypto::HmacRequestVerifier verifier(
      [&key](std::string_view id) {
        return id == "fuzz" ? std::optional<crypto::Bytes>(key) : std::nullopt;
      },
      300, 16);
  Check(verifier.Verify(request, *header, now).has_value(), "a signed request was refused");
  Check(!verifier.Verify(request, *header, now).has_value(), "a replay was accepted");
  std::string body(request.body);
  body.push_back('x');
  crypto::HttpRequestView changed = request;
  changed.body = body;
  crypto::HmacRequestVerifier fresh(
      [&key](std::string_view) { return std::optional<crypto::Bytes>(key); }, 300, 16);
  Check(!fresh.Verify(changed, *header, now).has_value(), "a changed body was accepted");
  return 0;
}
