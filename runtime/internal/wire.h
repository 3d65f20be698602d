// Framing shared by both ends of the runtime protocol: the launch message and the clear
// invocation header that precede the encrypted records (docs/runtimes.md, "Framing").
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/protocol.h"

namespace fnjail::runtime::wire {

inline constexpr size_t kSecretBytes = 32;
// "FJL" + version + secret length, then the secret.
inline constexpr size_t kLaunchBytes = 5 + kSecretBytes;
// "FJI" + version, u16 id length, u16 reserved, u64 counter; then the request id.
inline constexpr size_t kInvocationHeaderBytes = 16;
inline constexpr uint8_t kVersion = 1;
// The largest decrypted message either side accepts: every bounded field at its maximum.
inline constexpr size_t kMaxMessageBytes = kMaxEventBytes + (size_t{1} << 20);

std::string EncodeLaunch(std::string_view secret);
// The secret, or "protocol" when `bytes` (exactly kLaunchBytes) is not a launch message.
Result<std::string> DecodeLaunch(std::string_view bytes);

struct InvocationHeader {
  uint64_t counter = 0;
  size_t request_id_bytes = 0;
};
std::string EncodeInvocationHeader(uint64_t counter, std::string_view request_id);
// Parses the fixed part (exactly kInvocationHeaderBytes); the request id follows it.
Result<InvocationHeader> DecodeInvocationHeader(std::string_view bytes);

// The channel's invocation id for one invocation: u64 little-endian counter || request id.
// The counter makes keys unique per session even if a request id repeats.
std::string ChannelInvocationId(uint64_t counter, std::string_view request_id);

// Whether `id` is a valid request id: 1..kMaxRequestIdBytes of printable ASCII, no space.
bool ValidRequestId(std::string_view id) noexcept;

// Length of the valid UTF-8 sequence at s[i] (i < s.size()), or 0 when there is none:
// overlong forms, surrogates and code points past U+10FFFF are invalid.
size_t Utf8SequenceLength(std::string_view s, size_t i) noexcept;

}  // namespace fnjail::runtime::wire
