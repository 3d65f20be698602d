// Fuzzer of the audit record reader (AuditRecord::FromJson), which every reader of the log
// (`fnjail usage`, reports) runs on each record.
//
// Invariants: any input gives a record or an error, never a crash; and a record that
// parses survives its own round trip: FromJson(ToJson(r)) == r, and ToJson is then stable.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "crypto/crypto.h"

namespace {

namespace crypto = fnjail::crypto;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "audit_record_fuzzer: invariant violated: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (1 << 20)) return 0;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto record = crypto::AuditRecord::FromJson(text);
  if (!record) {
    Check(!record.error().message().empty(), "an error without a message");
    return 0;
  }
  std::string json = record->ToJson();
  auto back = crypto::AuditRecord::FromJson(json);
  Check(back.has_value(), "a record's own JSON does not parse");
  Check(*back == *record, "a record changed in its round trip");
  Check(back->ToJson() == json, "the stored form is not stable");
  return 0;
}
