// Fuzz harness for the runtime protocol's message decoders (runtime/wire.cc).
//
// The first byte picks the decoder (even: invocation, odd: response); the rest is the
// message. Properties: never crashes; a refusal is a "protocol" error; an accepted message
// is canonical (re-encoding gives the same bytes back); ClampResponse leaves any decoded
// response encodable and unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "runtime/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool response = (data[0] & 1) != 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  using fnjail::runtime::DecodeInvocation;
  using fnjail::runtime::DecodeResponse;
  if (!response) {
    auto inv = DecodeInvocation(bytes);
    if (!inv) {
      if (inv.error().code != "protocol") std::abort();
      return 0;
    }
    auto again = fnjail::runtime::EncodeInvocation(*inv);
    if (!again || *again != bytes) std::abort();
    return 0;
  }
  auto r = DecodeResponse(bytes);
  if (!r) {
    if (r.error().code != "protocol") std::abort();
    return 0;
  }
  auto again = fnjail::runtime::EncodeResponse(*r);
  if (!again || *again != bytes) std::abort();
  fnjail::runtime::Response clamped = *r;
  fnjail::runtime::ClampResponse(clamped);
  auto clamped_bytes = fnjail::runtime::EncodeResponse(clamped);
  if (!clamped_bytes || *clamped_bytes != bytes) std::abort();
  return 0;
}
