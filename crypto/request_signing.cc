// HMAC-SHA256 request signing: canonical requests, the Authorization header, replay window.
#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include "crypto/crypto.h"

namespace fnjail::crypto {
namespace {

constexpr const char* kOp = "request signature";
constexpr size_t kMaxSignedHeaders = 32;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// An HTTP field name is a token (RFC 9110 section 5.6.2). Anything else could not appear in
// a real request, and `,` or `=` would break the SignedHeaders parameter.
bool IsToken(std::string_view s) {
  static constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           kExtra.find(c) != std::string_view::npos;
  });
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool HasControl(std::string_view s, bool allow_tab = false) {
  return std::any_of(s.begin(), s.end(), [allow_tab](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && !(allow_tab && c == '\t')) || u == 0x7f;
  });
}

// Query parameters as sent, sorted bytewise by name then value, each as `name=value`.
std::string CanonicalQuery(std::string_view query) {
  std::vector<std::pair<std::string_view, std::string_view>> params;
  size_t start = 0;
  while (start <= query.size()) {
    size_t amp = query.find('&', start);
    std::string_view part = query.substr(start, amp == std::string_view::npos ? amp : amp - start);
    if (!part.empty()) {
      size_t eq = part.find('=');
      params.emplace_back(part.substr(0, eq),
                          eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    start = amp + 1;
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (size_t i = 0; i < params.size(); ++i) {
    if (i > 0) out += '&';
    out.append(params[i].first);
    out += '=';
    out.append(params[i].second);
  }
  return out;
}

}  // namespace

Result<std::string> CanonicalRequest(const HttpRequestView& request,
                                     const std::vector<std::string>& signed_headers,
                                     int64_t timestamp) {
  if (request.method.empty() || HasControl(request.method) ||
      request.method.find(' ') != std::string_view::npos) {
    return Fail(kOp, "bad method");
  }
  if (request.path.empty() || request.path.front() != '/' || HasControl(request.path)) {
    return Fail(kOp, "the path must start with `/`");
  }
  if (HasControl(request.query)) return Fail(kOp, "control character in the query");
  if (signed_headers.empty() || signed_headers.size() > kMaxSignedHeaders) {
    return Fail(kOp, "sign between 1 and 32 headers");
  }
  std::vector<std::string> names;
  for (const auto& h : signed_headers) names.push_back(Lower(h));
  std::sort(names.begin(), names.end());
  if (std::adjacent_find(names.begin(), names.end()) != names.end()) {
    return Fail(kOp, "a header is listed twice in SignedHeaders");
  }
  if (!std::binary_search(names.begin(), names.end(), std::string("host"))) {
    return Fail(kOp, "`host` must be signed");
  }
  std::string headers_block;
  for (const auto& name : names) {
    if (!IsToken(name)) {
      return Fail(kOp, "bad header name `" + name + "`");
    }
    const std::string* value = nullptr;
    for (const auto& [n, v] : request.headers) {
      if (Lower(n) != name) continue;
      // Two values for a signed header would let a proxy and the server read different
      // ones: refuse instead of choosing.
      if (value != nullptr) return Fail(kOp, "signed header `" + name + "` appears twice");
      value = &v;
    }
    if (value == nullptr) return Fail(kOp, "signed header `" + name + "` is missing");
    // HTTP allows tabs in field values (RFC 9110 section 5.5); nothing else below 0x20.
    if (HasControl(*value, /*allow_tab=*/true)) {
      return Fail(kOp, "control character in header `" + name + "`");
    }
    headers_block += name;
    headers_block += ':';
    headers_block.append(TrimSpaces(*value));
    headers_block += '\n';
  }
  std::string joined;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) joined += ';';
    joined += names[i];
  }
  auto body_hash = Sha256(AsBytes(request.body));
  if (!body_hash) return tl::unexpected(body_hash.error());

  std::string out(kHmacScheme);
  out += '\n';
  out += std::to_string(timestamp);
  out += '\n';
  std::string method(request.method);
  for (char& c : method) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  out += method;
  out += '\n';
  out.append(request.path);
  out += '\n';
  out += CanonicalQuery(request.query);
  out += '\n';
  out += headers_block;
  out += joined;
  out += '\n';
  out += ToHex(*body_hash);
  return out;
}

Result<std::string> SignRequest(ByteView key, std::string_view key_id,
                                const HttpRequestView& request,
                                const std::vector<std::string>& signed_headers,
                                int64_t timestamp) {
  if (key_id.empty() || key_id.find_first_of(", =\t") != std::string_view::npos ||
      HasControl(key_id)) {
    return Fail(kOp, "bad key id");
  }
  auto canonical = CanonicalRequest(request, signed_headers, timestamp);
  if (!canonical) return tl::unexpected(canonical.error());
  auto mac = HmacSha256(key, AsBytes(*canonical));
  if (!mac) return tl::unexpected(mac.error());
  std::vector<std::string> names;
  for (const auto& h : signed_headers) names.push_back(Lower(h));
  std::sort(names.begin(), names.end());
  std::string joined;
  for (size_t i = 0; i < names.size(); ++i) joined += (i > 0 ? ";" : "") + names[i];
  return std::string(kHmacScheme) + " KeyId=" + std::string(key_id) +
         ", Timestamp=" + std::to_string(timestamp) + ", SignedHeaders=" + joined +
         ", Signature=" + ToHex(*mac);
}

Result<RequestSignature> ParseRequestSignature(std::string_view authorization) {
  std::string_view rest = TrimSpaces(authorization);
  if (rest.substr(0, kHmacScheme.size()) != kHmacScheme ||
      rest.size() == kHmacScheme.size() || rest[kHmacScheme.size()] != ' ') {
    return Fail(kOp, "not a FNJ1-HMAC-SHA256 Authorization header");
  }
  rest.remove_prefix(kHmacScheme.size() + 1);
  std::map<std::string, std::string> params;
  size_t start = 0;
  while (start <= rest.size()) {
    size_t comma = rest.find(',', start);
    std::string_view part =
        TrimSpaces(rest.substr(start, comma == std::string_view::npos ? comma : comma - start));
    size_t eq = part.find('=');
    if (eq == std::string_view::npos || eq == 0) return Fail(kOp, "malformed parameter");
    std::string name(part.substr(0, eq));
    if (!params.emplace(name, std::string(part.substr(eq + 1))).second) {
      return Fail(kOp, "parameter `" + name + "` given twice");
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  for (const char* required : {"KeyId", "Timestamp", "SignedHeaders", "Signature"}) {
    if (params.count(required) == 0) return Fail(kOp, std::string("missing `") + required + "`");
  }
  if (params.size() != 4) return Fail(kOp, "unknown parameter");
  RequestSignature sig;
  sig.key_id = params["KeyId"];
  const std::string& ts = params["Timestamp"];
  if (ts.empty() || ts.size() > 18 || ts.find_first_not_of("0123456789") != std::string::npos) {
    return Fail(kOp, "`Timestamp` must be whole seconds since the epoch");
  }
  sig.timestamp = std::stoll(ts);
  std::string_view names = params["SignedHeaders"];
  size_t pos = 0;
  while (pos <= names.size()) {
    size_t semi = names.find(';', pos);
    sig.signed_headers.emplace_back(
        names.substr(pos, semi == std::string_view::npos ? semi : semi - pos));
    if (semi == std::string_view::npos) break;
    pos = semi + 1;
  }
  sig.signature = params["Signature"];
  auto raw = FromHex(sig.signature);
  if (!raw || raw->size() != 32) return Fail(kOp, "`Signature` must be 64 hex digits");
  sig.signature = ToHex(*raw);
  if (sig.key_id.empty()) return Fail(kOp, "empty `KeyId`");
  return sig;
}

// Signatures accepted within the window, with the time after which each may be forgotten.
struct HmacRequestVerifier::State {
  std::mutex mu;
  size_t capacity = 0;
  std::set<std::pair<int64_t, std::string>> by_expiry;
  std::set<std::string> seen;
};

HmacRequestVerifier::HmacRequestVerifier(KeyLookup lookup, int64_t window_seconds,
                                         size_t replay_capacity)
    : lookup_(std::move(lookup)), window_(window_seconds), state_(std::make_unique<State>()) {
  state_->capacity = replay_capacity;
}

HmacRequestVerifier::~HmacRequestVerifier() = default;

Result<RequestSignature> HmacRequestVerifier::Verify(const HttpRequestView& request,
                                                     std::string_view authorization,
                                                     int64_t now_unix) {
  auto sig = ParseRequestSignature(authorization);
  if (!sig) return sig;
  if (sig->timestamp < now_unix - window_ || sig->timestamp > now_unix + window_) {
    return Fail(kOp, "timestamp " + std::to_string(sig->timestamp) + " is outside now +- " +
                         std::to_string(window_) + " s");
  }
  std::optional<Bytes> key = lookup_ ? lookup_(sig->key_id) : std::nullopt;
  if (!key || key->empty()) return Fail(kOp, "unknown key `" + sig->key_id + "`");
  auto canonical = CanonicalRequest(request, sig->signed_headers, sig->timestamp);
  if (!canonical) return tl::unexpected(canonical.error());
  auto mac = HmacSha256(*key, AsBytes(*canonical));
  std::fill(key->begin(), key->end(), uint8_t{0});
  if (!mac) return tl::unexpected(mac.error());
  auto presented = FromHex(sig->signature);
  if (!presented || !ConstantTimeEqual(*mac, *presented)) {
    return Fail(kOp, "signature does not match");
  }
  // Only now, for a genuine signature, is the replay memory consulted and updated.
  std::lock_guard<std::mutex> lock(state_->mu);
  while (!state_->by_expiry.empty() && state_->by_expiry.begin()->first < now_unix) {
    state_->seen.erase(state_->by_expiry.begin()->second);
    state_->by_expiry.erase(state_->by_expiry.begin());
  }
  if (state_->seen.count(sig->signature) != 0) {
    return Fail(kOp, "replayed request (this signature was already accepted)");
  }
  if (state_->seen.size() >= state_->capacity) {
    return Fail(kOp, "replay memory full: request refused");
  }
  state_->seen.insert(sig->signature);
  state_->by_expiry.emplace(sig->timestamp + window_, sig->signature);
  return sig;
}

}  // namespace fnjail::crypto
