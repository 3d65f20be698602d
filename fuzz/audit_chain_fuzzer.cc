// Fuzzer of the audit log reader and verifier (VerifyAuditLog) on arbitrary file bytes.
//
// The input is the whole log file, checked against a fixed checkpoint key. Any input must
// give a report, never a crash. Invariants: entries = genesis + records + checkpoints
// when intact; records are reported in increasing sequence order; a damaged log names a
// problem. Writing the same bytes with a 1-byte change anywhere in an intact log must
// never leave it intact (every byte is covered by a CRC, the chain or a signature).
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "crypto/crypto.h"

namespace {

namespace crypto = fnjail::crypto;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "audit_chain_fuzzer: invariant violated: %s\n", what);
    std::abort();
  }
}

const crypto::Ed25519PublicKey& Key() {
  static const crypto::Ed25519PublicKey* key = [] {
    auto signing = crypto::Ed25519SigningKey::FromSeed(crypto::Bytes(32, 0x5e));
    if (!signing) std::abort();
    return new crypto::Ed25519PublicKey(signing->public_key());
  }();
  return *key;
}

// The log lives in a memfd; the verifier opens it by its /proc path.
crypto::AuditVerifyReport VerifyBytes(const uint8_t* data, size_t size) {
  int fd = ::memfd_create("audit_chain_fuzzer", MFD_CLOEXEC);
  Check(fd >= 0, "memfd_create failed");
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::write(fd, data + done, size - done);
    Check(n > 0, "memfd write failed");
    done += static_cast<size_t>(n);
  }
  uint64_t last_seq = 0;
  bool first = true;
  auto report = crypto::VerifyAuditLog("/proc/self/fd/" + std::to_string(fd), Key(), {},
                                       [&](uint64_t seq, std::string_view) {
                                         Check(first || seq > last_seq, "records out of order");
                                         first = false;
                                         last_seq = seq;
                                       });
  ::close(fd);
  Check(report.has_value(), "a readable file gave no report");
  return *report;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (4 << 20)) return 0;
  crypto::AuditVerifyReport r = VerifyBytes(data, size);
  if (!r.intact) {
    Check(!r.problem.empty(), "a damaged log without a problem");
    return 0;
  }
  Check(r.entries == 1 + r.records + r.checkpoints, "entry counts disagree");
  // Flip one byte (chosen from the input) and the log must no longer verify.
  if (size > 8) {
    std::string copy(reinterpret_cast<const char*>(data), size);
    size_t at = 8 + (static_cast<size_t>(data[size - 1]) * 131u) % (size - 8);
    copy[at] = static_cast<char>(copy[at] ^ 0x01);
    crypto::AuditVerifyReport changed =
        VerifyBytes(reinterpret_cast<const uint8_t*>(copy.data()), copy.size());
    Check(!changed.intact, "a changed byte went unnoticed");
  }
  return 0;
}
