// JSON forms of audit records and exported checkpoints.
#include <cstdint>
#include <limits>

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
  out += ",\"port\":";
  out += std::to_string(source_port);
  out += "},";
  if (!http_method.empty() || !http_path.empty()) {
    out += "\"http_request\":{\"http_method\":";
    AppendJsonString(out, http_method);
    out += ",\"url\":{\"path\":";
    AppendJsonString(out, http_path);
    out += "}},";
  }
  Key(out, "http_status");
  out += std::to_string(http_status);
  out += ",";
  Key(out, "status");
  out += http_status >= 200 && http_status < 400 ? "\"success\"" : "\"failure\"";
  if (!status_detail.empty()) {
    out += ",";
    Key(out, "status_detail");
    AppendJsonString(out, status_detail);
  }
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
  out += ",\"init_duration_ms\":";
  out += std::to_string(init_duration_ms);
  out += ",\"cold_start\":";
  out += cold_start ? "true" : "false";
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

namespace {

// Reads the optional members of a stored record: a missing member keeps its default (a
// record written before that field existed); a member of the wrong type is an error.
class RecordReader {
 public:
  explicit RecordReader(const nlohmann::json& root) : root_(root) {}

  // The member at `path` (object keys), or nullptr when any step is missing.
  const nlohmann::json* Find(std::initializer_list<const char*> path) {
    const nlohmann::json* at = &root_;
    for (const char* key : path) {
      if (!at->is_object()) {
        Bad(path);
        return nullptr;
      }
      auto it = at->find(key);
      if (it == at->end()) return nullptr;
      at = &*it;
    }
    return at;
  }

  void String(std::initializer_list<const char*> path, std::string* out) {
    const nlohmann::json* v = Find(path);
    if (v == nullptr) return;
    if (!v->is_string()) return Bad(path);
    *out = v->get<std::string>();
  }

  template <class Int>
  void Integer(std::initializer_list<const char*> path, Int* out) {
    const nlohmann::json* v = Find(path);
    if (v == nullptr) return;
    if (!v->is_number_integer()) return Bad(path);
    if (v->is_number_unsigned()) {
      auto u = v->get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<Int>::max())) return Bad(path);
      *out = static_cast<Int>(u);
    } else {
      auto i = v->get<int64_t>();
      if (i < static_cast<int64_t>(std::numeric_limits<Int>::min()) ||
          (i > 0 && static_cast<uint64_t>(i) > static_cast<uint64_t>(std::numeric_limits<Int>::max()))) {
        return Bad(path);
      }
      *out = static_cast<Int>(i);
    }
  }

  void Bool(std::initializer_list<const char*> path, bool* out) {
    const nlohmann::json* v = Find(path);
    if (v == nullptr) return;
    if (!v->is_boolean()) return Bad(path);
    *out = v->get<bool>();
  }

  void Bad(std::initializer_list<const char*> path) {
    if (!problem_.empty()) return;
    std::string name;
    for (const char* key : path) name += (name.empty() ? "" : ".") + std::string(key);
    problem_ = "`" + name + "` has the wrong type";
  }

  const std::string& problem() const { return problem_; }

 private:
  const nlohmann::json& root_;
  std::string problem_;
};

}  // namespace

Result<AuditRecord> AuditRecord::FromJson(std::string_view json) {
  const std::string op = "audit record";
  auto doc = internal::ParseStrictJson(json, 8, op);
  if (!doc) return tl::unexpected(doc.error());
  if (!doc->is_object()) return Fail(op, "not a JSON object");
  AuditRecord r;
  RecordReader in(*doc);
  in.Integer({"time"}, &r.time_ms);
  in.String({"request_id"}, &r.request_id);
  in.String({"actor", "user", "uid"}, &r.principal);
  in.String({"actor", "auth"}, &r.auth_method);
  in.String({"api", "operation"}, &r.operation);
  if (const nlohmann::json* resources = in.Find({"resources"})) {
    if (!resources->is_array()) {
      in.Bad({"resources"});
    } else {
      for (const auto& res : *resources) {
        if (!res.is_object()) {
          in.Bad({"resources"});
          break;
        }
        auto type = res.find("type");
        auto name = res.find("name");
        if (type == res.end() || name == res.end() || !type->is_string() ||
            !name->is_string()) {
          in.Bad({"resources"});
          break;
        }
        if (*type == "function") r.function = name->get<std::string>();
      }
    }
  }
  in.String({"src_endpoint", "ip"}, &r.source_ip);
  in.Integer({"src_endpoint", "port"}, &r.source_port);
  in.String({"http_request", "http_method"}, &r.http_method);
  in.String({"http_request", "url", "path"}, &r.http_path);
  in.Integer({"http_status"}, &r.http_status);
  in.String({"status_detail"}, &r.status_detail);
  in.Bool({"decision", "allowed"}, &r.allowed);
  in.String({"decision", "reason"}, &r.decision_reason);
  if (const nlohmann::json* statements = in.Find({"decision", "statements"})) {
    if (!statements->is_array()) {
      in.Bad({"decision", "statements"});
    } else {
      for (const auto& st : *statements) {
        if (!st.is_string()) {
          in.Bad({"decision", "statements"});
          break;
        }
        r.statements.push_back(st.get<std::string>());
      }
    }
  }
  in.String({"input_sha256"}, &r.input_sha256);
  in.Integer({"metering", "duration_ms"}, &r.duration_ms);
  in.Integer({"metering", "billed_duration_ms"}, &r.billed_duration_ms);
  in.Integer({"metering", "init_duration_ms"}, &r.init_duration_ms);
  in.Bool({"metering", "cold_start"}, &r.cold_start);
  in.Integer({"metering", "cpu_ms"}, &r.cpu_ms);
  in.Integer({"metering", "peak_memory_bytes"}, &r.peak_memory_bytes);
  in.String({"metering", "outcome"}, &r.outcome);
  in.String({"violation"}, &r.violation);
  if (!in.problem().empty()) return Fail(op, in.problem());
  return r;
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
