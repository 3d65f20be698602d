// Typed condition values: decimal numbers, date-times, IP addresses and CIDR blocks,
// booleans and base64. Each parser accepts the text of a policy or context value and
// rejects anything else (the caller turns that into a diagnostic or an EvalError).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fnjail::policy::internal {

// A decimal number as written: optional sign, digits, optional `.` and digits
// (`42`, `-3.5`, `+0.25`, `.5`, `7.`). No exponent, no spaces. Compared exactly, without
// rounding, so `10000000000000000001` and `10000000000000000000` differ.
// The views point into the parsed text.
struct DecimalView {
  bool negative = false;
  std::string_view integer;   // without leading zeros
  std::string_view fraction;  // without trailing zeros
};
std::optional<DecimalView> ParseDecimal(std::string_view text);
// -1, 0 or 1.
int CompareDecimal(const DecimalView& a, const DecimalView& b);

// A decimal that owns its digits (for compiled policy values).
class Decimal {
 public:
  static std::optional<Decimal> Parse(std::string_view text);
  DecimalView view() const { return {negative_, integer_, fraction_}; }

 private:
  bool negative_ = false;
  std::string integer_;
  std::string fraction_;
};

// An instant: seconds since the Unix epoch plus nanoseconds (0..999999999).
struct Instant {
  int64_t seconds = 0;
  int32_t nanos = 0;
  friend auto operator<=>(const Instant&, const Instant&) = default;
};
// Accepts ISO 8601 / RFC 3339: `YYYY-MM-DD`, optionally followed by `T` (or `t` or a
// space) and `hh:mm`, `hh:mm:ss` or `hh:mm:ss.fraction`, optionally followed by `Z` or an
// offset `+hh:mm` / `-hh:mm` / `+hhmm` (no offset means UTC); and epoch seconds as an
// integer, optionally with a fraction (`1563278400`, `1563278400.5`). Fields are range
// checked (month 1-12, day within the month, hour <= 23, minute <= 59, second <= 60).
std::optional<Instant> ParseInstant(std::string_view text);

// An IPv4 or IPv6 network. IPv4 is held as an IPv4-mapped IPv6 address (::ffff:a.b.c.d,
// prefix + 96), so `::ffff:10.0.0.1` and `10.0.0.1` are the same address: a deny on
// 10.0.0.0/8 cannot be side-stepped by writing the address the other way.
struct IpNetwork {
  std::array<uint8_t, 16> address{};
  int prefix = 128;
  // True when `ip` lies in this network.
  bool Contains(const std::array<uint8_t, 16>& ip) const;
};
// Parses `a.b.c.d`, `a.b.c.d/n` (n <= 32), an IPv6 address, or `v6/n` (n <= 128). A
// bare address is a /32 or /128. Host bits beyond the prefix are ignored.
std::optional<IpNetwork> ParseIpNetwork(std::string_view text);
// Parses a bare address (no prefix).
std::optional<std::array<uint8_t, 16>> ParseIpAddress(std::string_view text);

// `true` or `false`, ASCII case-insensitive.
std::optional<bool> ParseBool(std::string_view text);

// Standard base64 (RFC 4648 alphabet, `=` padding optional, no whitespace).
std::optional<std::string> DecodeBase64(std::string_view text);

// The six colon-separated components of an ARN (`arn:partition:service:region:account:
// resource`; the resource may itself hold colons). Nullopt with fewer than five colons.
std::optional<std::array<std::string_view, 6>> SplitArn(std::string_view text);

}  // namespace fnjail::policy::internal
