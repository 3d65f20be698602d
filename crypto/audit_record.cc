// JSON forms of audit records and exported checkpoints.
#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "crypto/internal/json.h"

namespace fnjail::crypto {

namespace {

// Appends `s` as a JSON string. Invalid UTF-8 from a request becomes U+FFFD: it must
// never fail the audit write, and the stored record must stay valid JSON.
void AppendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          if (c < 0x20) {
            out += "\\u00";
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0xf]);
          } else {
            out.push_back(static_cast<char>(c));
          }
      }
      ++i;
      continue;
    }
    // A well-formed UTF-8 sequence (RFC 3629: no overlongs, no surrogates, <= U+10FFFF)
    // is copied; anything else is replaced one byte at a time.
    size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    bool ok = len > 0 && c <= 0xf4 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) {
      ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
    }
    if (ok && len >= 3) {
      auto c1 = static_cast<unsigned char>(s[i + 1]);
      if (c == 0xe0 && c1 < 0xa0) ok = false;   // overlong
      if (c == 0xed && c1 >= 0xa0) ok = false;  // surrogate
      if (c == 0xf0 && c1 < 0x90) ok = false;   // overlong
      if (c == 0xf4 && c1 >= 0x90) ok = false;  // above U+10FFFF
    }
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += "\xef\xbf\xbd";
      ++i;
    }
  }
  out.push_back('"');
}

void Key(std::string& out, const char* key) {
  out.push_back('"');
  out += key;
  out += "\":";
}

}  // namespace

// Written by hand rather than through a JSON DOM: this runs once per invocation on the
// request path, and the field set is fixed. Key order is part of the documented format.
std::string AuditRecord::ToJson() const {
  std::string out;
  out.reserve(512);
  out += "{";
  Key(out, "time");
  out += std::to_string(time_ms);
  out += ",";
  Key(out, "request_id");
  AppendJsonString(out, request_id);
  out += ",\"actor\":{\"user\":{\"uid\":";
  AppendJsonString(out, principal);
  out += "},\"auth\":";
  AppendJsonString(out, auth_method);
  out += "},\"api\":{\"operation\":";
  AppendJsonString(out, operation);
  out += "},\"resources\":[{\"type\":\"function\",\"name\":";
  AppendJsonString(out, function);
  out += "}],\"src_endpoint\":{\"ip\":";
  AppendJsonString(out, source_ip);
  out += "},";
  Key(out, "http_status");
  out += std::to_string(http_status);
  out += ",";
  Key(out, "status");
  out += http_status >= 200 && http_status < 400 ? "\"success\"" : "\"failure\"";
  out += ",\"decision\":{\"allowed\":";
  out += allowed ? "true" : "false";
  out += ",\"reason\":";
  AppendJsonString(out, decision_reason);
  out += ",\"statements\":[";
  for (size_t i = 0; i < statements.size(); ++i) {
    if (i > 0) out += ",";
    AppendJsonString(out, statements[i]);
  }
  out += "]},";
  Key(out, "input_sha256");
  AppendJsonString(out, input_sha256);
  out += ",\"metering\":{\"duration_ms\":";
  out += std::to_string(duration_ms);
  out += ",\"billed_duration_ms\":";
  out += std::to_string(billed_duration_ms);
  out += ",\"cpu_ms\":";
  out += std::to_string(cpu_ms);
  out += ",\"peak_memory_bytes\":";
  out += std::to_string(peak_memory_bytes);
  out += ",\"outcome\":";
  AppendJsonString(out, outcome);
  out += "}";
  if (!violation.empty()) {
    out += ",";
    Key(out, "violation");
    AppendJsonString(out, violation);
  }
  out += "}";
  return out;
}

std::string AuditCheckpoint::ToJson() const {
  nlohmann::ordered_json j;
  j["log_id"] = log_id;
  j["seq"] = seq;
  j["head"] = head;
  j["time"] = time_ms;
  j["signature"] = signature;
  return j.dump();
}

Result<AuditCheckpoint> AuditCheckpoint::FromJson(std::string_view json) {
  const std::string op = "audit checkpoint";
  auto j = internal::ParseStrictJson(json, 2, op);
  if (!j) return tl::unexpected(j.error());
  if (!j->is_object()) return Fail(op, "not a JSON object");
  AuditCheckpoint cp;
  auto str = [&](const char* name, size_t hex_len, std::string* out) -> bool {
    auto it = j->find(name);
    if (it == j->end() || !it->is_string()) return false;
    *out = it->get<std::string>();
    return out->size() == hex_len && FromHex(*out).has_value();
  };
  if (!str("log_id", 32, &cp.log_id) || !str("head", 64, &cp.head) ||
      !str("signature", 128, &cp.signature)) {
    return Fail(op, "needs hex `log_id`, `head` and `signature`");
  }
  auto seq = j->find("seq");
  auto time = j->find("time");
  if (seq == j->end() || !seq->is_number_unsigned() || time == j->end() ||
      !time->is_number_integer()) {
    return Fail(op, "needs integer `seq` and `time`");
  }
  // Hex is compared as text later: normalise to the lower case the log reports.
  cp.log_id = ToHex(*FromHex(cp.log_id));
  cp.head = ToHex(*FromHex(cp.head));
  cp.signature = ToHex(*FromHex(cp.signature));
  cp.seq = seq->get<uint64_t>();
  cp.time_ms = time->get<int64_t>();
  return cp;
}

}  // namespace fnjail::crypto
