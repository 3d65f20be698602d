// Fuzzer of the record channel's decoder (RecordOpener) on arbitrary stream bytes.
//
// The input is split by its first byte into two streams fed to one opener: a prefix of
// honestly sealed records (so the decoder gets past the first tag) followed by the raw
// input. Invariants: Open never consumes more than it was given or 0 bytes on a
// complete error-free record; after an error every later call fails (sticky); a
// payload never exceeds the maximum; after the final record nothing else is accepted.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "crypto/crypto.h"

namespace {

namespace crypto = fnjail::crypto;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "channel_fuzzer: invariant violated: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const crypto::Bytes secret(32, 0x61);
  const crypto::Bytes invocation = {'f', 'u', 'z', 'z'};
  crypto::ChannelOptions options;
  options.algorithm = (data[0] & 0x80) != 0 ? crypto::AeadAlgorithm::kChaCha20Poly1305
                                            : crypto::AeadAlgorithm::kAes256Gcm;
  options.rekey_records = 1 + (data[0] & 0x03);
  auto sealer = crypto::RecordSealer::Create(secret, invocation, crypto::ChannelRole::kRuntime,
                                             options);
  auto opener = crypto::RecordOpener::Create(secret, invocation, crypto::ChannelRole::kRuntime,
                                             options);
  Check(sealer.has_value() && opener.has_value(), "setup failed");

  crypto::Bytes stream;
  size_t honest = (data[0] >> 2) & 0x07;  // 0-7 genuine records first
  for (size_t i = 0; i < honest; ++i) {
    crypto::Bytes payload(i * 300, static_cast<uint8_t>(i));
    Check(sealer->Seal(payload, stream).has_value(), "seal failed");
  }
  if ((data[0] & 0x40) != 0) Check(sealer->SealFinal(stream).has_value(), "final failed");
  stream.insert(stream.end(), data + 1, data + size);

  crypto::ByteView rest(stream);
  bool failed = false;
  bool final_seen = false;
  for (int steps = 0; steps < 10000; ++steps) {
    crypto::Bytes payload;
    bool final = false;
    auto used = opener->Open(rest, &payload, &final);
    if (!used) {
      failed = true;
      break;
    }
    Check(*used <= rest.size(), "consumed more than given");
    if (*used == 0) break;
    Check(!final_seen, "a record accepted after the final one");
    Check(payload.size() <= crypto::kChannelMaxPayload, "payload above the maximum");
    final_seen = final_seen || final;
    rest = rest.subspan(*used);
  }
  if (failed) {
    crypto::Bytes payload;
    bool final = false;
    Check(!opener->Open(stream, &payload, &final).has_value(), "failure was not sticky");
    Check(!opener->Finish().has_value(), "a failed stream finished cleanly");
  }
  Check(opener->Finish().has_value() == (!failed && final_seen), "Finish disagrees");
  return 0;
}
