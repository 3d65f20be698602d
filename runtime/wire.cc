// The message codecs of the runtime protocol, shared by the gateway and fnjail-runtime.
//
// Every message is one byte string decrypted from the channel: a type byte, a version
// byte, then fixed-order fields, integers little-endian, strings as u32 length + bytes.
// Decoders check every length against its limit before touching the bytes, accept exactly
// one message and nothing after it.
#include <cstring>

#include "runtime/internal/wire.h"
#include "runtime/protocol.h"

namespace fnjail::runtime {
namespace {

constexpr uint8_t kTypeInvocation = 1;
constexpr uint8_t kTypeResponse = 2;
constexpr uint8_t kFlagTainted = 1;

void PutU16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>(v >> 8));
}
void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutString(std::string& out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

uint64_t LoadLe(std::string_view bytes, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= uint64_t{static_cast<uint8_t>(bytes[i])} << (8 * i);
  return v;
}

// A bounds-checked cursor over a message. Any short read or bound failure sets `error`;
// later reads then return zero values, so decoders check once per field group.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : rest_(bytes) {}

  uint64_t Int(size_t n, const char* what) {
    if (failed()) return 0;
    if (rest_.size() < n) return Fault(std::string("truncated ") + what), 0;
    uint64_t v = LoadLe(rest_, n);
    rest_.remove_prefix(n);
    return v;
  }
  // A string of at most `max` bytes.
  std::string_view String(size_t max, const char* what) {
    uint64_t n = Int(4, what);
    if (failed()) return {};
    if (n > max) return Fault(std::string(what) + " longer than " + std::to_string(max)), "";
    if (n > rest_.size()) return Fault(std::string("truncated ") + what), "";
    std::string_view s = rest_.substr(0, n);
    rest_.remove_prefix(n);
    return s;
  }
  void Fault(std::string message) {
    if (!failed()) error_ = std::move(message);
  }
  bool failed() const { return !error_.empty(); }
  bool done() const { return rest_.empty(); }
  const std::string& error() const { return error_; }

 private:
  std::string_view rest_;
  std::string error_;
};

// What CleanText admits besides printable text.
enum class Allow : uint8_t { kNothing, kTab, kTabAndNewline };

// Valid UTF-8 without control characters, except those `allow` admits.
bool CleanText(std::string_view s, Allow allow = Allow::kNothing) {
  for (size_t i = 0; i < s.size();) {
    uint8_t c = static_cast<uint8_t>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      bool ok = (c == '\t' && allow != Allow::kNothing) ||
                (c == '\n' && allow == Allow::kTabAndNewline);
      if (!ok) return false;
    }
    size_t n = wire::Utf8SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

// RFC 9110 token characters.
bool ValidHeaderName(std::string_view s) {
  if (s.empty() || s.size() > kMaxHeaderNameBytes) return false;
  for (char ch : s) {
    uint8_t c = static_cast<uint8_t>(ch);
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
    if (!ok || c == 0) return false;
  }
  return true;
}

// Visible characters, space, tab and obs-text; no CR, LF or NUL (no response splitting).
bool ValidHeaderValue(std::string_view s) {
  if (s.size() > kMaxHeaderValueBytes) return false;
  for (char ch : s) {
    uint8_t c = static_cast<uint8_t>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

// The first problem of an invocation, or empty.
std::string CheckInvocation(const Invocation& inv) {
  if (!wire::ValidRequestId(inv.request_id)) {
    return "request id must be 1 to " + std::to_string(kMaxRequestIdBytes) +
           " printable ASCII characters without spaces";
  }
  if (inv.function.empty() || inv.function.size() > kMaxFunctionNameBytes ||
      !CleanText(inv.function)) {
    return "function name must be 1 to " + std::to_string(kMaxFunctionNameBytes) +
           " bytes of text";
  }
  if (inv.deadline_ms == 0 || inv.deadline_ms > kMaxDeadlineMs) {
    return "deadline must be 1 to " + std::to_string(kMaxDeadlineMs) + " ms";
  }
  if (inv.principal_id.size() > kMaxPrincipalIdBytes || !CleanText(inv.principal_id)) {
    return "principal id must be at most " + std::to_string(kMaxPrincipalIdBytes) +
           " bytes of text";
  }
  if (inv.principal_groups.size() > kMaxPrincipalGroups) {
    return "more than " + std::to_string(kMaxPrincipalGroups) + " principal groups";
  }
  for (const auto& g : inv.principal_groups) {
    if (g.empty() || g.size() > kMaxGroupBytes || !CleanText(g)) {
      return "a principal group must be 1 to " + std::to_string(kMaxGroupBytes) +
             " bytes of text";
    }
  }
  if (inv.event.size() > kMaxEventBytes) {
    return "event larger than " + std::to_string(kMaxEventBytes) + " bytes";
  }
  return {};
}

std::string CheckResponse(const Response& r) {
  if (r.status < 100 || r.status > 599) return "status must be 100 to 599";
  if (r.headers.size() > kMaxHeaders) {
    return "more than " + std::to_string(kMaxHeaders) + " headers";
  }
  for (const auto& [name, value] : r.headers) {
    if (!ValidHeaderName(name)) return "invalid header name";
    if (!ValidHeaderValue(value)) return "invalid value of header `" + name + "`";
  }
  if (r.body.size() > kMaxBodyBytes) {
    return "body larger than " + std::to_string(kMaxBodyBytes) + " bytes";
  }
  bool is_error = r.kind != Response::Kind::kOk;
  if (is_error != !r.error_type.empty()) {
    return "an error response, and only one, names an error type";
  }
  if (!is_error && !r.error_message.empty()) return "an ok response has no error message";
  if (r.error_type.size() > kMaxErrorTypeBytes || !CleanText(r.error_type)) {
    return "error type must be at most " + std::to_string(kMaxErrorTypeBytes) +
           " bytes of text";
  }
  if (r.error_message.size() > kMaxErrorMessageBytes ||
      !CleanText(r.error_message, Allow::kTabAndNewline)) {
    return "error message must be at most " + std::to_string(kMaxErrorMessageBytes) +
           " bytes of text";
  }
  if (r.logs.size() > kMaxLogLines) {
    return "more than " + std::to_string(kMaxLogLines) + " log lines";
  }
  for (const auto& line : r.logs) {
    if (line.size() > kMaxLogLineBytes || !CleanText(line, Allow::kTab)) {
      return "a log line must be at most " + std::to_string(kMaxLogLineBytes) +
             " bytes of text";
    }
  }
  return {};
}

// `s` as clean text of at most `max` bytes: invalid bytes become '?', control characters
// a space (those `allow` admits are kept), cut at a character boundary.
std::string Sanitize(std::string_view s, size_t max, Allow allow = Allow::kNothing) {
  std::string out;
  out.reserve(std::min(s.size(), max));
  for (size_t i = 0; i < s.size();) {
    size_t n = wire::Utf8SequenceLength(s, i);
    std::string_view piece = n == 0 ? std::string_view("?") : s.substr(i, n);
    if (n == 1 && !CleanText(piece, allow)) piece = " ";
    if (out.size() + piece.size() > max) break;
    out.append(piece);
    i += n == 0 ? 1 : n;
  }
  return out;
}

void MakeInvalid(Response& r, std::string type, std::string message) {
  r.kind = Response::Kind::kUnhandledError;
  r.status = 500;
  r.headers.clear();
  r.body.clear();
  r.error_type = std::move(type);
  r.error_message = Sanitize(message, kMaxErrorMessageBytes, Allow::kTabAndNewline);
}

}  // namespace

std::string Error::ToString() const { return code + ": " + message; }

std::string_view ResponseKindName(Response::Kind kind) noexcept {
  switch (kind) {
    case Response::Kind::kOk:
      return "ok";
    case Response::Kind::kHandledError:
      return "handled-error";
    case Response::Kind::kUnhandledError:
      return "unhandled-error";
  }
  return "unknown";
}

Result<std::string> EncodeInvocation(const Invocation& inv) {
  if (std::string problem = CheckInvocation(inv); !problem.empty()) {
    return Fail("invalid", problem);
  }
  std::string out;
  out.reserve(64 + inv.request_id.size() + inv.function.size() + inv.principal_id.size() +
              inv.event.size());
  out.push_back(static_cast<char>(kTypeInvocation));
  out.push_back(static_cast<char>(wire::kVersion));
  PutString(out, inv.request_id);
  PutString(out, inv.function);
  PutU64(out, inv.deadline_ms);
  PutString(out, inv.principal_id);
  PutU32(out, static_cast<uint32_t>(inv.principal_groups.size()));
  for (const auto& g : inv.principal_groups) PutString(out, g);
  PutString(out, inv.event);
  return out;
}

Result<Invocation> DecodeInvocation(std::string_view bytes) {
  Reader in(bytes);
  if (in.Int(1, "message type") != kTypeInvocation) in.Fault("not an invocation message");
  if (in.Int(1, "version") != wire::kVersion) in.Fault("unsupported protocol version");
  Invocation inv;
  inv.request_id = in.String(kMaxRequestIdBytes, "request id");
  inv.function = in.String(kMaxFunctionNameBytes, "function name");
  inv.deadline_ms = in.Int(8, "deadline");
  inv.principal_id = in.String(kMaxPrincipalIdBytes, "principal id");
  uint64_t groups = in.Int(4, "group count");
  if (groups > kMaxPrincipalGroups) in.Fault("too many principal groups");
  for (uint64_t i = 0; i < groups && !in.failed(); ++i) {
    inv.principal_groups.emplace_back(in.String(kMaxGroupBytes, "principal group"));
  }
  inv.event = in.String(kMaxEventBytes, "event");
  if (!in.failed() && !in.done()) in.Fault("bytes after the invocation");
  if (in.failed()) return Fail("protocol", in.error());
  if (std::string problem = CheckInvocation(inv); !problem.empty()) {
    return Fail("protocol", problem);
  }
  return inv;
}

Result<std::string> EncodeResponse(const Response& r) {
  if (std::string problem = CheckResponse(r); !problem.empty()) {
    return Fail("invalid", problem);
  }
  std::string out;
  out.reserve(64 + r.body.size());
  out.push_back(static_cast<char>(kTypeResponse));
  out.push_back(static_cast<char>(wire::kVersion));
  out.push_back(static_cast<char>(r.kind));
  out.push_back(static_cast<char>(r.tainted ? kFlagTainted : 0));
  PutU16(out, static_cast<uint16_t>(r.status));
  PutU32(out, static_cast<uint32_t>(r.headers.size()));
  for (const auto& [name, value] : r.headers) {
    PutString(out, name);
    PutString(out, value);
  }
  PutString(out, r.body);
  PutString(out, r.error_type);
  PutString(out, r.error_message);
  PutU32(out, static_cast<uint32_t>(r.logs.size()));
  for (const auto& line : r.logs) PutString(out, line);
  return out;
}

Result<Response> DecodeResponse(std::string_view bytes) {
  Reader in(bytes);
  if (in.Int(1, "message type") != kTypeResponse) in.Fault("not a response message");
  if (in.Int(1, "version") != wire::kVersion) in.Fault("unsupported protocol version");
  Response r;
  uint64_t kind = in.Int(1, "kind");
  if (kind > static_cast<uint8_t>(Response::Kind::kUnhandledError)) in.Fault("unknown kind");
  r.kind = static_cast<Response::Kind>(kind);
  uint64_t flags = in.Int(1, "flags");
  if ((flags & ~uint64_t{kFlagTainted}) != 0) in.Fault("unknown flags");
  r.tainted = (flags & kFlagTainted) != 0;
  r.status = static_cast<int>(in.Int(2, "status"));
  uint64_t headers = in.Int(4, "header count");
  if (headers > kMaxHeaders) in.Fault("too many headers");
  for (uint64_t i = 0; i < headers && !in.failed(); ++i) {
    std::string_view name = in.String(kMaxHeaderNameBytes, "header name");
    std::string_view value = in.String(kMaxHeaderValueBytes, "header value");
    r.headers.emplace_back(std::string(name), std::string(value));
  }
  r.body = in.String(kMaxBodyBytes, "body");
  r.error_type = in.String(kMaxErrorTypeBytes, "error type");
  r.error_message = in.String(kMaxErrorMessageBytes, "error message");
  uint64_t logs = in.Int(4, "log count");
  if (logs > kMaxLogLines) in.Fault("too many log lines");
  for (uint64_t i = 0; i < logs && !in.failed(); ++i) {
    r.logs.emplace_back(in.String(kMaxLogLineBytes, "log line"));
  }
  if (!in.failed() && !in.done()) in.Fault("bytes after the response");
  if (in.failed()) return Fail("protocol", in.error());
  if (std::string problem = CheckResponse(r); !problem.empty()) {
    return Fail("protocol", problem);
  }
  return r;
}

void ClampResponse(Response& r) {
  if (r.logs.size() > kMaxLogLines) {
    size_t dropped = r.logs.size() - (kMaxLogLines - 1);
    r.logs.resize(kMaxLogLines - 1);
    r.logs.push_back("(" + std::to_string(dropped) + " more log lines dropped)");
  }
  for (auto& line : r.logs) line = Sanitize(line, kMaxLogLineBytes, Allow::kTab);
  if (r.kind != Response::Kind::kOk) {
    if (r.error_type.empty()) r.error_type = "error";
    r.error_type = Sanitize(r.error_type, kMaxErrorTypeBytes);
    r.error_message = Sanitize(r.error_message, kMaxErrorMessageBytes, Allow::kTabAndNewline);
  } else {
    r.error_type.clear();
    r.error_message.clear();
  }
  if (r.body.size() > kMaxBodyBytes) {
    MakeInvalid(r, "response-too-large",
                "the response body is larger than " + std::to_string(kMaxBodyBytes) + " bytes");
    return;
  }
  if (std::string problem = CheckResponse(r); !problem.empty()) {
    MakeInvalid(r, "invalid-response", "the handler returned an invalid response: " + problem);
  }
}

namespace wire {

// Length of the valid UTF-8 sequence at s[i], or 0 (overlong forms, surrogates and code
// points past U+10FFFF are invalid).
size_t Utf8SequenceLength(std::string_view s, size_t i) noexcept {
  auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  uint8_t c = b(i);
  if (c < 0x80) return 1;
  size_t n = 0;
  uint32_t cp = 0;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2, cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3, cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4, cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3f);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
      (cp >= 0xd800 && cp <= 0xdfff)) {
    return 0;
  }
  return n;
}

std::string EncodeLaunch(std::string_view secret) {
  std::string out = "FJL";
  out.push_back(static_cast<char>(kVersion));
  out.push_back(static_cast<char>(secret.size()));
  out.append(secret);
  return out;
}

Result<std::string> DecodeLaunch(std::string_view bytes) {
  if (bytes.size() != kLaunchBytes || bytes.substr(0, 3) != "FJL") {
    return Fail("protocol", "not a launch message");
  }
  if (static_cast<uint8_t>(bytes[3]) != kVersion) {
    return Fail("protocol", "unsupported protocol version");
  }
  if (static_cast<uint8_t>(bytes[4]) != kSecretBytes) {
    return Fail("protocol", "unexpected secret length");
  }
  return std::string(bytes.substr(5));
}

std::string EncodeInvocationHeader(uint64_t counter, std::string_view request_id) {
  std::string out = "FJI";
  out.push_back(static_cast<char>(kVersion));
  PutU16(out, static_cast<uint16_t>(request_id.size()));
  PutU16(out, 0);
  PutU64(out, counter);
  out.append(request_id);
  return out;
}

Result<InvocationHeader> DecodeInvocationHeader(std::string_view bytes) {
  if (bytes.size() != kInvocationHeaderBytes || bytes.substr(0, 3) != "FJI") {
    return Fail("protocol", "not an invocation header");
  }
  if (static_cast<uint8_t>(bytes[3]) != kVersion) {
    return Fail("protocol", "unsupported protocol version");
  }
  InvocationHeader h;
  h.request_id_bytes = LoadLe(bytes.substr(4), 2);
  if (LoadLe(bytes.substr(6), 2) != 0) return Fail("protocol", "reserved bits set");
  h.counter = LoadLe(bytes.substr(8), 8);
  if (h.request_id_bytes == 0 || h.request_id_bytes > kMaxRequestIdBytes) {
    return Fail("protocol", "request id length out of bounds");
  }
  if (h.counter == 0) return Fail("protocol", "invocation counter starts at 1");
  return h;
}

std::string ChannelInvocationId(uint64_t counter, std::string_view request_id) {
  std::string out;
  PutU64(out, counter);
  out.append(request_id);
  return out;
}

bool ValidRequestId(std::string_view id) noexcept {
  if (id.empty() || id.size() > kMaxRequestIdBytes) return false;
  for (char c : id) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

}  // namespace wire
}  // namespace fnjail::runtime
