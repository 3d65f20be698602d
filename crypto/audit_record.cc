// JSON forms of audit records and exported checkpoints.
#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "crypto/internal/json.h"

namespace fnjail::crypto {

std::string AuditRecord::ToJson() const {
  // nlohmann::ordered_json keeps the documented key order (OCSF API Activity names).
  nlohmann::ordered_json j;
  j["time"] = time_ms;
  j["request_id"] = request_id;
  j["actor"] = {{"user", {{"uid", principal}}}, {"auth", auth_method}};
  j["api"] = {{"operation", operation}};
  j["resources"] = nlohmann::ordered_json::array({{{"type", "function"}, {"name", function}}});
  j["src_endpoint"] = {{"ip", source_ip}};
  j["http_status"] = http_status;
  j["status"] = http_status >= 200 && http_status < 400 ? "success" : "failure";
  j["decision"] = {{"allowed", allowed}, {"reason", decision_reason}, {"statements", statements}};
  j["input_sha256"] = input_sha256;
  j["metering"] = {{"duration_ms", duration_ms},
                   {"billed_duration_ms", billed_duration_ms},
                   {"cpu_ms", cpu_ms},
                   {"peak_memory_bytes", peak_memory_bytes},
                   {"outcome", outcome}};
  if (!violation.empty()) j["violation"] = violation;
  // Invalid UTF-8 from a request is replaced, never allowed to fail the audit write.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
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
