// Parsers for typed condition values (numbers, dates, IP networks, booleans, base64).
#include "policy/internal/values.h"

#include <arpa/inet.h>

#include <cstring>

namespace fnjail::policy::internal {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Parses exactly `width` digits at text[pos].
std::optional<int> Digits(std::string_view text, size_t pos, size_t width) {
  if (pos + width > text.size()) return std::nullopt;
  int v = 0;
  for (size_t i = 0; i < width; ++i) {
    char c = text[pos + i];
    if (!IsDigit(c)) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// Days from 1970-01-01 to the given proleptic Gregorian date.
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

// Fraction digits after a `.` as nanoseconds (extra digits beyond nine are truncated).
std::optional<int32_t> FractionNanos(std::string_view digits) {
  if (digits.empty()) return std::nullopt;
  int32_t nanos = 0;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (!IsDigit(digits[i])) return std::nullopt;
    if (i < 9) nanos = nanos * 10 + (digits[i] - '0');
  }
  for (size_t i = digits.size(); i < 9; ++i) nanos *= 10;
  return nanos;
}

std::optional<Instant> ParseEpoch(std::string_view text) {
  bool negative = false;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  size_t dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  // Bounded so the value fits comfortably in int64 (about 31 million years).
  if (whole.empty() || whole.size() > 15) return std::nullopt;
  int64_t seconds = 0;
  for (char c : whole) {
    if (!IsDigit(c)) return std::nullopt;
    seconds = seconds * 10 + (c - '0');
  }
  int32_t nanos = 0;
  if (dot != std::string_view::npos) {
    auto frac = FractionNanos(text.substr(dot + 1));
    if (!frac) return std::nullopt;
    nanos = *frac;
  }
  if (negative) {
    seconds = -seconds;
    if (nanos > 0) {
      seconds -= 1;
      nanos = 1000000000 - nanos;
    }
  }
  return Instant{seconds, nanos};
}

std::optional<Instant> ParseIso(std::string_view text) {
  auto year = Digits(text, 0, 4);
  auto month = Digits(text, 5, 2);
  auto day = Digits(text, 8, 2);
  if (!year || !month || !day || text[4] != '-' || text[7] != '-') return std::nullopt;
  if (*month < 1 || *month > 12 || *day < 1 || *day > DaysInMonth(*year, *month)) {
    return std::nullopt;
  }
  int64_t seconds = DaysFromCivil(*year, *month, *day) * 86400;
  int32_t nanos = 0;
  size_t pos = 10;
  if (pos == text.size()) return Instant{seconds, 0};
  if (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ') return std::nullopt;
  ++pos;
  auto hour = Digits(text, pos, 2);
  if (!hour || pos + 2 >= text.size() || text[pos + 2] != ':') return std::nullopt;
  auto minute = Digits(text, pos + 3, 2);
  if (!minute || *hour > 23 || *minute > 59) return std::nullopt;
  pos += 5;
  int second = 0;
  if (pos < text.size() && text[pos] == ':') {
    auto s = Digits(text, pos + 1, 2);
    if (!s || *s > 60) return std::nullopt;
    second = *s;
    pos += 3;
    if (pos < text.size() && text[pos] == '.') {
      size_t end = pos + 1;
      while (end < text.size() && IsDigit(text[end])) ++end;
      auto frac = FractionNanos(text.substr(pos + 1, end - pos - 1));
      if (!frac) return std::nullopt;
      nanos = *frac;
      pos = end;
    }
  }
  seconds += *hour * 3600 + *minute * 60 + second;
  if (pos == text.size()) return Instant{seconds, nanos};
  if ((text[pos] == 'Z' || text[pos] == 'z') && pos + 1 == text.size()) {
    return Instant{seconds, nanos};
  }
  if (text[pos] != '+' && text[pos] != '-') return std::nullopt;
  const int sign = text[pos] == '+' ? 1 : -1;
  auto off_h = Digits(text, pos + 1, 2);
  size_t mpos = pos + 3;
  if (mpos < text.size() && text[mpos] == ':') ++mpos;
  auto off_m = Digits(text, mpos, 2);
  if (!off_h || !off_m || mpos + 2 != text.size() || *off_h > 23 || *off_m > 59) {
    return std::nullopt;
  }
  // Local time minus its offset is UTC.
  seconds -= sign * (*off_h * 3600 + *off_m * 60);
  return Instant{seconds, nanos};
}

int8_t Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return static_cast<int8_t>(c - 'A');
  if (c >= 'a' && c <= 'z') return static_cast<int8_t>(c - 'a' + 26);
  if (c >= '0' && c <= '9') return static_cast<int8_t>(c - '0' + 52);
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::optional<DecimalView> ParseDecimal(std::string_view text) {
  DecimalView d;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    d.negative = text[0] == '-';
    text.remove_prefix(1);
  }
  size_t dot = text.find('.');
  std::string_view integer = text.substr(0, dot);
  std::string_view fraction =
      dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  if (integer.empty() && fraction.empty()) return std::nullopt;
  for (char c : integer) {
    if (!IsDigit(c)) return std::nullopt;
  }
  for (char c : fraction) {
    if (!IsDigit(c)) return std::nullopt;
  }
  while (!integer.empty() && integer.front() == '0') integer.remove_prefix(1);
  while (!fraction.empty() && fraction.back() == '0') fraction.remove_suffix(1);
  d.integer = integer;
  d.fraction = fraction;
  if (integer.empty() && fraction.empty()) d.negative = false;  // -0 == 0
  return d;
}

int CompareDecimal(const DecimalView& a, const DecimalView& b) {
  if (a.negative != b.negative) return a.negative ? -1 : 1;
  // Compare magnitudes, then flip for negatives.
  int mag = 0;
  if (a.integer.size() != b.integer.size()) {
    mag = a.integer.size() < b.integer.size() ? -1 : 1;
  } else if (int c = a.integer.compare(b.integer); c != 0) {
    mag = c < 0 ? -1 : 1;
  } else {
    // Fractions: compare digit by digit, a missing digit is 0.
    size_t n = std::max(a.fraction.size(), b.fraction.size());
    for (size_t i = 0; i < n && mag == 0; ++i) {
      char ca = i < a.fraction.size() ? a.fraction[i] : '0';
      char cb = i < b.fraction.size() ? b.fraction[i] : '0';
      if (ca != cb) mag = ca < cb ? -1 : 1;
    }
  }
  return a.negative ? -mag : mag;
}

std::optional<Decimal> Decimal::Parse(std::string_view text) {
  auto v = ParseDecimal(text);
  if (!v) return std::nullopt;
  Decimal d;
  d.negative_ = v->negative;
  d.integer_ = std::string(v->integer);
  d.fraction_ = std::string(v->fraction);
  return d;
}

std::optional<Instant> ParseInstant(std::string_view text) {
  if (text.size() >= 10 && text[4] == '-') return ParseIso(text);
  return ParseEpoch(text);
}

bool IpNetwork::Contains(const std::array<uint8_t, 16>& ip) const {
  int bits = prefix;
  for (size_t i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((ip[i] & mask) != (address[i] & mask)) return false;
  }
  return true;
}

std::optional<std::array<uint8_t, 16>> ParseIpAddress(std::string_view text) {
  // inet_pton needs a NUL-terminated string; the longest textual IPv6 form is 45 bytes.
  char buf[64];
  if (text.empty() || text.size() >= sizeof(buf)) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  std::array<uint8_t, 16> out{};
  if (text.find(':') == std::string_view::npos) {
    // glibc's inet_pton accepts only dotted-quad decimal (no octal, no shorthand).
    uint8_t v4[4];
    if (inet_pton(AF_INET, buf, v4) != 1) return std::nullopt;
    out[10] = 0xff;
    out[11] = 0xff;
    std::memcpy(out.data() + 12, v4, 4);
    return out;
  }
  if (inet_pton(AF_INET6, buf, out.data()) != 1) return std::nullopt;
  return out;
}

std::optional<IpNetwork> ParseIpNetwork(std::string_view text) {
  size_t slash = text.find('/');
  auto addr = ParseIpAddress(text.substr(0, slash));
  if (!addr) return std::nullopt;
  const bool v4 = text.substr(0, slash).find(':') == std::string_view::npos;
  IpNetwork net;
  net.address = *addr;
  net.prefix = 128;
  if (slash != std::string_view::npos) {
    std::string_view bits = text.substr(slash + 1);
    if (bits.empty() || bits.size() > 3) return std::nullopt;
    int n = 0;
    for (char c : bits) {
      if (!IsDigit(c)) return std::nullopt;
      n = n * 10 + (c - '0');
    }
    if (n > (v4 ? 32 : 128)) return std::nullopt;
    net.prefix = v4 ? n + 96 : n;
  }
  return net;
}

std::optional<bool> ParseBool(std::string_view text) {
  auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
  auto equals = [&](std::string_view word) {
    if (text.size() != word.size()) return false;
    for (size_t i = 0; i < word.size(); ++i) {
      if (lower(text[i]) != word[i]) return false;
    }
    return true;
  };
  if (equals("true")) return true;
  if (equals("false")) return false;
  return std::nullopt;
}

std::optional<std::string> DecodeBase64(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int8_t v = Base64Value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::optional<std::array<std::string_view, 6>> SplitArn(std::string_view text) {
  std::array<std::string_view, 6> parts;
  for (size_t i = 0; i < 5; ++i) {
    size_t colon = text.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    parts[i] = text.substr(0, colon);
    text.remove_prefix(colon + 1);
  }
  parts[5] = text;
  return parts;
}

}  // namespace fnjail::policy::internal
