// Reading `fnjail.toml` into a Config: the gateway's only toml++ translation unit.
//
// Built like policy/toml_source.cc (gateway/CMakeLists.txt): header-only toml++ with
// exceptions off and NDEBUG undefined, its assertions routed to OnTomlAssertion below.
// The text is checked before toml++ sees a byte: size-capped, printable ASCII only (toml++
// 3.3.0 has undefined behaviour on some non-ASCII input, tomlplusplus#295), and no
// unquoted run long enough to overrun toml++'s look-ahead buffer.
#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "gateway/config.h"

namespace fnjail::gateway {
namespace {

// toml++ 3.3.0 assertions that fire on bad input although the code after them reports an
// ordinary parse error for that input (the same list as policy/toml_source.cc, which
// explains each). Any other failed assertion is a broken library invariant: carrying on
// could read out of bounds, so it aborts with a message (fail-stop, never fail-open).
struct RecoverableTomlAssertion {
  const char* function;
  const char* expr;
};
constexpr RecoverableTomlAssertion kRecoverableTomlAssertions[] = {
    {"parse_key", "is_bare_key_character(*cp) || is_string_delimiter(*cp)"},
    {"parse_value", "!is_value_terminator(*cp)"},
    {"parse_time", "is_decimal_digit(*cp)"},
    {"operator()", "!is_value_terminator(*cp)"},
};

void OnTomlAssertion(const char* expr, const char* function, const char* file, int line) noexcept {
  for (const RecoverableTomlAssertion& known : kRecoverableTomlAssertions) {
    if (std::strcmp(function, known.function) == 0 && std::strcmp(expr, known.expr) == 0) return;
  }
  std::fprintf(stderr, "fnjail: toml++ assertion `%s` failed in %s (%s:%d)\n", expr, function, file,
               line);
  std::abort();
}

}  // namespace
}  // namespace fnjail::gateway

#define TOML_ASSERT(expr)                                                                  \
  ((expr) ? static_cast<void>(0)                                                           \
          : ::fnjail::gateway::OnTomlAssertion(#expr, static_cast<const char*>(__func__), \
                                               __FILE__, __LINE__))
#include <toml++/toml.h>

namespace fnjail::gateway {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------
// Bytes before toml++.

std::string Hex2(unsigned char byte) {
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02x", static_cast<unsigned>(byte));
  return hex;
}

// Refuses oversize text, NUL, control characters and non-ASCII bytes, at their position.
bool CheckBytes(std::string_view text, const std::string& file, Diagnostics& diags) {
  if (text.size() > kMaxConfigFileBytes) {
    diags.Error(SourceSpan{file, 1, 1}, "config file is larger than " +
                                            std::to_string(kMaxConfigFileBytes) + " bytes");
    return false;
  }
  uint32_t line = 1;
  uint32_t column = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte == '\n') {
      ++line;
      column = 1;
      continue;
    }
    if ((byte >= 0x20 && byte < 0x7f) || byte == '\t' || byte == '\r') {
      ++column;
      continue;
    }
    const SourceSpan span{file, line, column};
    if (byte == 0) {
      diags.Error(span, "NUL byte in config file");
    } else if (byte < 0x80 || byte == 0x7f) {
      diags.Error(span, "control character `" + Hex2(byte) + "` in config file");
    } else {
      diags.Error(span, "non-ASCII byte `" + Hex2(byte) + "`; config files must be ASCII",
                  i == 0 && text.substr(0, 3) == "\xef\xbb\xbf"
                      ? "remove the UTF-8 byte order mark at the start of the file"
                      : "write other characters as `\\uXXXX` escapes inside strings");
    }
    return false;
  }
  return true;
}

// The longest unquoted key or value accepted. toml++ 3.3.0 scans ahead over a token that
// starts with a digit or sign in a 128-character ring buffer and can step back further
// than it holds on a longer one (policy/toml_source.cc has the details). Nothing real in
// a config comes near this length.
constexpr size_t kMaxUnquotedRun = 100;

bool IsUnquotedRunChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '+' || c == '.' || c == ':';
}

bool IsValueTerminator(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ']' || c == '}' || c == ',' ||
         c == '#';
}

bool IsOverlongLookAhead(std::string_view text, size_t start) {
  size_t end = start;
  while (end < text.size() && end - start <= kMaxUnquotedRun && !IsValueTerminator(text[end])) {
    ++end;
  }
  return end - start > kMaxUnquotedRun;
}

// The offset of the first overlong unquoted run, skipping strings and comments as TOML
// defines them. REQUIRES: `text` passed CheckBytes.
std::optional<size_t> FindOverlongUnquotedRun(std::string_view text) {
  size_t run_start = std::string_view::npos;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    const bool starts_token = i == 0 || !IsUnquotedRunChar(text[i - 1]);
    if (starts_token && ((c >= '0' && c <= '9') || c == '+' || c == '-') &&
        IsOverlongLookAhead(text, i)) {
      return i;
    }
    if (IsUnquotedRunChar(c)) {
      if (run_start == std::string_view::npos) run_start = i;
      if (i - run_start + 1 > kMaxUnquotedRun) return run_start;
      ++i;
      continue;
    }
    run_start = std::string_view::npos;
    if (c == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
      continue;
    }
    if (c != '"' && c != '\'') {
      ++i;
      continue;
    }
    const size_t quotes = text.substr(i, 3) == std::string(3, c) ? 3 : 1;
    const std::string delimiter(quotes, c);
    i += quotes;
    while (i < text.size()) {
      if (c == '"' && text[i] == '\\') {
        i += 2;
        continue;
      }
      if (quotes == 1 && text[i] == '\n') break;
      if (text.compare(i, quotes, delimiter) == 0) {
        i += quotes;
        for (int extra = 0; quotes == 3 && extra < 2 && i < text.size() && text[i] == c; ++extra) {
          ++i;
        }
        break;
      }
      ++i;
    }
  }
  return std::nullopt;
}

SourceSpan SpanAt(std::string_view text, size_t offset, const std::string& file) {
  uint32_t line = 1;
  uint32_t column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return SourceSpan{file, line, column};
}

// toml++ says "Error while parsing table header: expected ']', saw '='"; the house style
// wants "invalid TOML in table header: expected `]`, saw `=`".
std::string TomlErrorMessage(std::string_view description) {
  constexpr std::string_view kPrefix = "Error while parsing ";
  std::string out;
  if (description.starts_with(kPrefix)) {
    description.remove_prefix(kPrefix.size());
    out = "invalid TOML in ";
  } else {
    out = "invalid TOML: ";
  }
  // toml++ quotes the offending character as is, a newline included: every message stays
  // one line, with control characters written as escapes.
  for (char c : description) {
    if (c == '\'') {
      out += '`';
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out += c;
    }
  }
  while (!out.empty() && (out.back() == '.' || out.back() == ' ')) out.pop_back();
  return out;
}

std::string_view TypeName(toml::node_type type) {
  switch (type) {
    case toml::node_type::none:
      return "nothing";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
  }
  return "a value";
}

// Levenshtein distance, for `did you mean` suggestions on short keys.
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string Suggest(std::string_view unknown, std::initializer_list<std::string_view> known) {
  if (unknown.size() > 64) return {};
  std::string_view best;
  size_t best_distance = std::numeric_limits<size_t>::max();
  for (std::string_view k : known) {
    const size_t d = EditDistance(unknown, k);
    if (d < best_distance) {
      best_distance = d;
      best = k;
    }
  }
  if (best.empty() || best_distance > std::max<size_t>(2, best.size() / 3)) return {};
  return "did you mean `" + std::string(best) + "`?";
}

bool HasControlCharacter(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// An HTTP header name (RFC 9110 token).
bool IsHeaderToken(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

// Names used as principal ids, key ids and issuer names: printable, no spaces or commas
// (they appear in Authorization headers and in policies).
bool IsSimpleName(std::string_view name, bool allow_colon) {
  if (name.empty() || name.size() > 128) return false;
  return std::all_of(name.begin(), name.end(), [allow_colon](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.' || c == '@' || (allow_colon && c == ':');
  });
}

// ---------------------------------------------------------------------------------------
// The reader.

class ConfigReader {
 public:
  ConfigReader(std::string file, std::string folder, Diagnostics* diags)
      : file_(std::move(file)), folder_(std::move(folder)), diags_(diags) {}

  void Read(const toml::table& root, Config* config) {
    Keys(root, "the config file",
         {"server", "limits", "auth", "principals", "policies", "functions", "secrets", "audit",
          "metrics", "admission"});
    ReadServer(root, config);
    ReadLimits(root, config);
    ReadAuth(root, config);
    ReadPrincipals(root, config);
    ReadPolicies(root, config);
    ReadFunctions(root, config);
    ReadSecrets(root, config);
    ReadAudit(root, config);
    ReadMetrics(root, config);
    ReadAdmission(root, config);
  }

 private:
  // ---- positions and errors

  SourceSpan Span(const toml::source_region& region) const {
    if (region.begin.line == 0) return SourceSpan{file_, 1, 1};
    return SourceSpan{file_, region.begin.line, region.begin.column};
  }
  SourceSpan Span(const toml::node& node) const { return Span(node.source()); }

  void Error(SourceSpan span, std::string message, std::string help = {}) {
    diags_->Error(std::move(span), std::move(message), std::move(help));
  }

  // Reports every key of `table` not in `known`, at the key.
  void Keys(const toml::table& table, std::string_view where,
            std::initializer_list<std::string_view> known) {
    for (auto&& [key, node] : table) {
      (void)node;
      if (std::find(known.begin(), known.end(), key.str()) != known.end()) continue;
      Error(Span(key.source()), "unknown key `" + std::string(key.str()) + "` in " +
                                    std::string(where),
            Suggest(key.str(), known));
    }
  }

  void WrongType(std::string_view name, const toml::node& node, std::string_view expected) {
    Error(Span(node), "`" + std::string(name) + "` must be " + std::string(expected) +
                          ", found " + std::string(TypeName(node.type())));
  }

  // ---- typed values (absent keys leave *out unchanged and return false)

  // The sub-table `key` of `parent`, or nullptr (absent, or an error when not a table).
  const toml::table* Table(const toml::table& parent, std::string_view key) {
    const toml::node* node = parent.get(key);
    if (node == nullptr) return nullptr;
    if (!node->is_table()) {
      WrongType(key, *node, "a table");
      return nullptr;
    }
    return node->as_table();
  }

  bool String(const toml::table& t, std::string_view key, std::string* out,
              SourceSpan* span = nullptr) {
    const toml::node* node = t.get(key);
    if (node == nullptr) return false;
    const auto* s = node->as_string();
    if (s == nullptr) {
      WrongType(key, *node, "a string");
      return false;
    }
    if (HasControlCharacter(s->get())) {
      Error(Span(*node), "`" + std::string(key) + "` holds a control character");
      return false;
    }
    *out = s->get();
    if (span != nullptr) *span = Span(*node);
    return true;
  }

  // A required string: an error at the table when absent.
  bool RequiredString(const toml::table& t, std::string_view key, std::string_view where,
                      std::string* out, SourceSpan* span = nullptr) {
    if (t.get(key) == nullptr) {
      Error(Span(t), "missing `" + std::string(key) + "` in " + std::string(where));
      return false;
    }
    if (!String(t, key, out, span)) return false;
    if (out->empty()) {
      Error(Span(*t.get(key)), "`" + std::string(key) + "` must not be empty");
      return false;
    }
    return true;
  }

  template <class T>
  bool Integer(const toml::table& t, std::string_view key, int64_t min, int64_t max, T* out) {
    const toml::node* node = t.get(key);
    if (node == nullptr) return false;
    // Type first: toml++'s value<int64_t>() converts a float by a cast that is undefined
    // behaviour when the float is out of range.
    const auto* integer = node->as_integer();
    if (integer == nullptr) {
      WrongType(key, *node, "an integer");
      return false;
    }
    const int64_t v = integer->get();
    if (v < min || v > max) {
      Error(Span(*node), "`" + std::string(key) + "` must be within [" + std::to_string(min) +
                             ", " + std::to_string(max) + "], found " + std::to_string(v));
      return false;
    }
    *out = static_cast<T>(v);
    return true;
  }

  // A positive number (integer or float), at most `max`.
  bool Number(const toml::table& t, std::string_view key, double max, double* out) {
    const toml::node* node = t.get(key);
    if (node == nullptr) return false;
    double v = 0;
    if (const auto* i = node->as_integer()) {
      v = static_cast<double>(i->get());
    } else if (const auto* f = node->as_floating_point()) {
      v = f->get();
    } else {
      WrongType(key, *node, "a number");
      return false;
    }
    if (!std::isfinite(v) || v <= 0 || v > max) {
      Error(Span(*node), "`" + std::string(key) + "` must be a number above 0 and at most " +
                             std::to_string(static_cast<int64_t>(max)));
      return false;
    }
    *out = v;
    return true;
  }

  bool Bool(const toml::table& t, std::string_view key, bool* out) {
    const toml::node* node = t.get(key);
    if (node == nullptr) return false;
    const auto* b = node->as_boolean();
    if (b == nullptr) {
      WrongType(key, *node, "true or false");
      return false;
    }
    *out = b->get();
    return true;
  }

  // A string or an array of strings, each non-empty and without control characters.
  bool Strings(const toml::table& t, std::string_view key, std::vector<std::string>* out,
               std::vector<SourceSpan>* spans = nullptr) {
    const toml::node* node = t.get(key);
    if (node == nullptr) return false;
    std::vector<const toml::node*> items;
    if (const auto* array = node->as_array()) {
      for (const toml::node& item : *array) items.push_back(&item);
    } else {
      items.push_back(node);
    }
    bool ok = true;
    out->clear();
    if (spans != nullptr) spans->clear();
    for (const toml::node* item : items) {
      const auto* s = item->as_string();
      if (s == nullptr) {
        WrongType(key, *item, "a string or an array of strings");
        ok = false;
        continue;
      }
      if (s->get().empty() || HasControlCharacter(s->get())) {
        Error(Span(*item), "`" + std::string(key) +
                               "` entries must be non-empty and hold no control characters");
        ok = false;
        continue;
      }
      out->push_back(s->get());
      if (spans != nullptr) spans->push_back(Span(*item));
    }
    return ok;
  }

  // A path, resolved against the config file's folder.
  std::string Resolve(const std::string& path) const {
    const fs::path p(path);
    if (p.is_absolute()) return p.lexically_normal().string();
    return (fs::path(folder_) / p).lexically_normal().string();
  }

  bool Path(const toml::table& t, std::string_view key, std::string* out, SourceSpan* span) {
    std::string raw;
    if (!String(t, key, &raw, span)) return false;
    if (raw.empty()) {
      Error(Span(*t.get(key)), "`" + std::string(key) + "` must not be empty");
      return false;
    }
    *out = Resolve(raw);
    return true;
  }

  bool RequiredPath(const toml::table& t, std::string_view key, std::string_view where,
                    std::string* out, SourceSpan* span) {
    if (t.get(key) == nullptr) {
      Error(Span(t), "missing `" + std::string(key) + "` in " + std::string(where));
      return false;
    }
    return Path(t, key, out, span);
  }

  std::optional<ListenAddress> Address(const toml::node& node, std::string_view key) {
    const auto* s = node.as_string();
    if (s == nullptr) {
      WrongType(key, node, "a `host:port` string");
      return std::nullopt;
    }
    auto parsed = ParseListenAddress(s->get());
    if (!parsed) {
      Error(Span(node), parsed.error(),
            "write an IP address and a port, e.g. `127.0.0.1:8080` or `[::1]:8080`");
      return std::nullopt;
    }
    parsed->span = Span(node);
    return *parsed;
  }

  // ---- sections

  void ReadServer(const toml::table& root, Config* config) {
    ServerConfig& server = config->server;
    server.listen = {ListenAddress{}};
    const toml::table* t = Table(root, "server");
    if (t != nullptr) {
      Keys(*t, "[server]", {"listen", "worker_threads", "tls"});
      if (const toml::node* node = t->get("listen")) {
        std::vector<const toml::node*> items;
        if (const auto* array = node->as_array()) {
          for (const toml::node& item : *array) items.push_back(&item);
          if (items.empty()) Error(Span(*node), "`listen` must name at least one address");
        } else {
          items.push_back(node);
        }
        server.listen.clear();
        std::set<std::string> seen;
        for (const toml::node* item : items) {
          auto address = Address(*item, "listen");
          if (!address) continue;
          if (address->port != 0 && !seen.insert(address->ToString()).second) {
            Error(address->span, "`" + address->ToString() + "` is listed twice");
            continue;
          }
          server.listen.push_back(std::move(*address));
        }
      }
      size_t threads = 0;
      Integer(*t, "worker_threads", 0, 1024, &threads);
      server.worker_threads = threads;
      if (const toml::table* tls = Table(*t, "tls")) ReadTls(*tls, &server.tls);
    }
    if (server.worker_threads == 0) {
      server.worker_threads = std::max<size_t>(1, std::thread::hardware_concurrency());
    }
  }

  void ReadTls(const toml::table& t, TlsConfig* tls) {
    Keys(t, "[server.tls]", {"certificate", "key", "min_version"});
    tls->enabled = true;
    RequiredPath(t, "certificate", "[server.tls]", &tls->certificate, &tls->certificate_span);
    RequiredPath(t, "key", "[server.tls]", &tls->key, &tls->key_span);
    std::string version;
    if (String(t, "min_version", &version)) {
      if (version == "1.2") {
        tls->min_version = TlsVersion::kTls12;
      } else if (version == "1.3") {
        tls->min_version = TlsVersion::kTls13;
      } else {
        Error(Span(*t.get("min_version")), "unknown TLS version `" + version + "`",
              "write \"1.2\" or \"1.3\"; older versions are not offered");
      }
    }
  }

  void ReadLimits(const toml::table& root, Config* config) {
    const toml::table* t = Table(root, "limits");
    if (t == nullptr) return;
    LimitsConfig& l = config->limits;
    Keys(*t, "[limits]",
         {"max_connections", "max_header_bytes", "max_headers", "max_body_bytes",
          "max_json_depth", "max_string_bytes", "header_timeout_ms", "body_timeout_ms",
          "idle_timeout_ms", "write_timeout_ms", "max_keepalive_requests"});
    constexpr int64_t kHour = 3600 * 1000;
    Integer(*t, "max_connections", 1, 1'000'000, &l.max_connections);
    Integer(*t, "max_header_bytes", 1024, 1 << 20, &l.max_header_bytes);
    Integer(*t, "max_headers", 1, 1000, &l.max_headers);
    Integer(*t, "max_body_bytes", 0, int64_t{1} << 30, &l.max_body_bytes);
    Integer(*t, "max_json_depth", 1, 1000, &l.max_json_depth);
    Integer(*t, "max_string_bytes", 1, int64_t{1} << 30, &l.max_string_bytes);
    Integer(*t, "header_timeout_ms", 1, kHour, &l.header_timeout_ms);
    Integer(*t, "body_timeout_ms", 1, kHour, &l.body_timeout_ms);
    Integer(*t, "idle_timeout_ms", 1, kHour, &l.idle_timeout_ms);
    Integer(*t, "write_timeout_ms", 1, kHour, &l.write_timeout_ms);
    Integer(*t, "max_keepalive_requests", 1, 1'000'000, &l.max_keepalive_requests);
  }

  void ReadAuth(const toml::table& root, Config* config) {
    const toml::table* t = Table(root, "auth");
    if (t == nullptr) return;
    Keys(*t, "[auth]", {"api_keys", "hmac", "jwt"});
    if (const toml::table* keys = Table(*t, "api_keys")) {
      ApiKeysConfig& a = config->auth.api_keys;
      Keys(*keys, "[auth.api_keys]", {"store", "pepper", "header"});
      a.enabled = true;
      RequiredPath(*keys, "store", "[auth.api_keys]", &a.store, &a.store_span);
      RequiredPath(*keys, "pepper", "[auth.api_keys]", &a.pepper, &a.pepper_span);
      if (String(*keys, "header", &a.header)) {
        std::string lower = a.header;
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (!IsHeaderToken(a.header)) {
          Error(Span(*keys->get("header")), "`header` must be an HTTP header name");
        } else if (lower == "authorization") {
          // `Authorization` carries the other schemes (and `ApiKey`): a second meaning for it
          // would make one request carry two credentials.
          Error(Span(*keys->get("header")), "`header` cannot be `Authorization`");
        }
      }
    }
    if (const toml::table* hmac = Table(*t, "hmac")) ReadHmac(*hmac, &config->auth.hmac);
    if (const toml::node* jwt = t->get("jwt")) {
      const auto* array = jwt->as_array();
      if (array == nullptr || !array->is_array_of_tables()) {
        WrongType("jwt", *jwt, "an array of tables (`[[auth.jwt]]`)");
      } else {
        std::set<std::string> names;
        std::set<std::string> issuers;
        for (const toml::node& item : *array) {
          JwtIssuerConfig issuer;
          ReadJwtIssuer(*item.as_table(), &issuer);
          if (!issuer.name.empty() && !names.insert(issuer.name).second) {
            Error(issuer.span, "a JWT issuer named `" + issuer.name + "` is already configured");
            continue;
          }
          if (!issuer.issuer.empty() && !issuers.insert(issuer.issuer).second) {
            Error(issuer.span, "issuer `" + issuer.issuer + "` is already configured",
                  "one entry per issuer: put all its keys in one JWKS file");
            continue;
          }
          config->auth.jwt.push_back(std::move(issuer));
        }
      }
    }
  }

  void ReadHmac(const toml::table& t, HmacConfig* hmac) {
    Keys(t, "[auth.hmac]", {"keys", "window_seconds", "replay_capacity"});
    hmac->enabled = true;
    Integer(t, "window_seconds", 1, 3600, &hmac->window_seconds);
    Integer(t, "replay_capacity", 1, 100'000'000, &hmac->replay_capacity);
    const toml::table* keys = Table(t, "keys");
    if (keys == nullptr) {
      if (t.get("keys") == nullptr) {
        Error(Span(t), "missing `keys` in [auth.hmac]",
              "add an [auth.hmac.keys] table: `KEY-ID = \"path/of/secret\"`");
      }
      return;
    }
    for (auto&& [key, node] : *keys) {
      const std::string id(key.str());
      if (!IsSimpleName(id, false)) {
        Error(Span(key.source()), "HMAC key id `" + id + "` must be 1 to 128 letters, digits, "
                                                         "`-`, `_`, `.` or `@`");
        continue;
      }
      const auto* s = node.as_string();
      if (s == nullptr) {
        WrongType(id, node, "the path of the key's secret file");
        continue;
      }
      if (s->get().empty() || HasControlCharacter(s->get())) {
        Error(Span(node), "`" + id + "` must be the path of the key's secret file");
        continue;
      }
      hmac->keys.push_back(HmacKeyConfig{id, Resolve(s->get()), Span(node)});
    }
    if (hmac->keys.empty() && keys->empty()) {
      Error(Span(*keys), "[auth.hmac.keys] names no key");
    }
  }

  void ReadJwtIssuer(const toml::table& t, JwtIssuerConfig* out) {
    Keys(t, "[[auth.jwt]]",
         {"name", "issuer", "jwks", "audience", "max_lifetime_seconds", "clock_skew_seconds",
          "principal_claim", "principal_prefix", "groups_claim"});
    out->span = Span(t);
    if (RequiredString(t, "name", "[[auth.jwt]]", &out->name) &&
        !IsSimpleName(out->name, false)) {
      Error(Span(*t.get("name")),
            "`name` must be 1 to 128 letters, digits, `-`, `_`, `.` or `@`");
    }
    RequiredString(t, "issuer", "[[auth.jwt]]", &out->issuer);
    RequiredPath(t, "jwks", "[[auth.jwt]]", &out->jwks, &out->jwks_span);
    // An audience is required: without it a token minted by the same issuer for another
    // service would be accepted here.
    if (t.get("audience") == nullptr) {
      Error(Span(t), "missing `audience` in [[auth.jwt]]",
            "name the audience tokens for this gateway carry, e.g. `audience = \"fnjail\"`");
    } else {
      Strings(t, "audience", &out->audiences);
      if (out->audiences.empty() && t.get("audience")->is_array()) {
        Error(Span(*t.get("audience")), "`audience` must name at least one audience");
      }
    }
    Integer(t, "max_lifetime_seconds", 1, 7 * 24 * 3600, &out->max_lifetime_seconds);
    Integer(t, "clock_skew_seconds", 0, 600, &out->clock_skew_seconds);
    if (String(t, "principal_claim", &out->principal_claim) && out->principal_claim.empty()) {
      Error(Span(*t.get("principal_claim")), "`principal_claim` must not be empty");
    }
    out->principal_prefix = out->name + ":";
    if (String(t, "principal_prefix", &out->principal_prefix) &&
        !out->principal_prefix.empty() && !IsSimpleName(out->principal_prefix, true)) {
      Error(Span(*t.get("principal_prefix")),
            "`principal_prefix` may hold letters, digits, `-`, `_`, `.`, `@` and `:` only");
    }
    String(t, "groups_claim", &out->groups_claim);
  }

  void ReadPrincipals(const toml::table& root, Config* config) {
    const toml::table* t = Table(root, "principals");
    if (t == nullptr) return;
    for (auto&& [key, node] : *t) {
      const std::string id(key.str());
      const toml::table* p = node.as_table();
      if (p == nullptr) {
        WrongType(id, node, "a table (`[principals.\"" + id + "\"]`)");
        continue;
      }
      if (id.empty() || HasControlCharacter(id)) {
        Error(Span(key.source()), "principal ids must be non-empty and hold no control "
                                  "characters");
        continue;
      }
      PrincipalConfig principal;
      principal.id = id;
      principal.span = Span(key.source());
      Keys(*p, "[principals." + id + "]", {"groups", "tags"});
      std::vector<SourceSpan> spans;
      Strings(*p, "groups", &principal.groups, &spans);
      for (size_t i = 0; i < principal.groups.size(); ++i) {
        if (principal.groups[i].starts_with("group:")) {
          Error(spans[i], "group `" + principal.groups[i] + "` is written with its prefix",
                "write the plain name (`" + principal.groups[i].substr(6) +
                    "`); policies attach to it as `group:NAME`");
        }
      }
      if (const toml::table* tags = Table(*p, "tags")) {
        for (auto&& [tag, value] : *tags) {
          const auto* s = value.as_string();
          if (s == nullptr) {
            WrongType(tag.str(), value, "a string");
            continue;
          }
          if (tag.str().empty() || HasControlCharacter(tag.str()) ||
              HasControlCharacter(s->get())) {
            Error(Span(tag.source()), "tag names must be non-empty, and tags hold no control "
                                      "characters");
            continue;
          }
          principal.tags[std::string(tag.str())] = s->get();
        }
      }
      config->principals.push_back(std::move(principal));
    }
  }

  void ReadPolicyPaths(const toml::table& t, PolicyPathsConfig* out) {
    Strings(t, "paths", &out->paths, &out->path_spans);
    Strings(t, "boundaries", &out->boundaries, &out->boundary_spans);
    for (std::string& p : out->paths) p = Resolve(p);
    for (std::string& p : out->boundaries) p = Resolve(p);
  }

  void ReadPolicies(const toml::table& root, Config* config) {
    const toml::table* t = Table(root, "policies");
    if (t == nullptr) return;
    Keys(*t, "[policies]", {"paths", "boundaries", "shadow"});
    ReadPolicyPaths(*t, &config->policies.enforced);
    const toml::node* shadow = t->get("shadow");
    if (shadow == nullptr) return;
    const auto* array = shadow->as_array();
    if (array == nullptr || !array->is_array_of_tables()) {
      WrongType("shadow", *shadow, "an array of tables (`[[policies.shadow]]`)");
      return;
    }
    std::set<std::string> names;
    for (const toml::node& item : *array) {
      const toml::table& s = *item.as_table();
      ShadowPolicyConfig set;
      set.span = Span(s);
      Keys(s, "[[policies.shadow]]", {"name", "paths", "boundaries"});
      if (!RequiredString(s, "name", "[[policies.shadow]]", &set.name)) continue;
      if (!IsSimpleName(set.name, false)) {
        Error(Span(*s.get("name")), "`name` must be 1 to 128 letters, digits, `-`, `_`, `.` or "
                                    "`@`");
        continue;
      }
      if (!names.insert(set.name).second) {
        Error(Span(*s.get("name")), "a shadow policy set named `" + set.name +
                                        "` is already configured");
        continue;
      }
      if (s.get("paths") == nullptr) {
        Error(set.span, "missing `paths` in [[policies.shadow]]");
        continue;
      }
      ReadPolicyPaths(s, &set.policies);
      config->policies.shadow.push_back(std::move(set));
    }
  }

  void ReadFunctions(const toml::table& root, Config* config) {
    config->functions.folder = Resolve("functions");
    config->functions.span = SourceSpan{file_, 1, 1};
    const toml::table* t = Table(root, "functions");
    if (t == nullptr) return;
    Keys(*t, "[functions]", {"folder"});
    Path(*t, "folder", &config->functions.folder, &config->functions.span);
  }

  void ReadSecrets(const toml::table& root, Config* config) {
    const toml::table* t = Table(root, "secrets");
    if (t == nullptr) return;
    SecretsConfig& s = config->secrets;
    Keys(*t, "[secrets]", {"store", "master_key"});
    s.enabled = true;
    RequiredPath(*t, "store", "[secrets]", &s.store, &s.store_span);
    RequiredPath(*t, "master_key", "[secrets]", &s.master_key, &s.master_key_span);
  }

  void ReadAudit(const toml::table& root, Config* config) {
    const toml::node* node = root.get("audit");
    if (node == nullptr) {
      // Every request is audited: a gateway without an audit log does not start.
      Error(SourceSpan{file_, 1, 1}, "missing [audit] section",
            "add `[audit]` with `path` (the log file) and `signing_key` (an Ed25519 key)");
      return;
    }
    const toml::table* t = Table(root, "audit");
    if (t == nullptr) return;
    AuditConfig& a = config->audit;
    Keys(*t, "[audit]",
         {"path", "signing_key", "public_key", "sync", "max_batch_delay_ms",
          "checkpoint_every_records", "checkpoint_interval_ms"});
    RequiredPath(*t, "path", "[audit]", &a.path, &a.path_span);
    RequiredPath(*t, "signing_key", "[audit]", &a.signing_key, &a.signing_key_span);
    std::string sync;
    if (String(*t, "sync", &sync)) {
      if (sync == "strict") {
        a.sync = AuditSyncMode::kStrict;
      } else if (sync == "every-record") {
        a.sync = AuditSyncMode::kEveryRecord;
      } else if (sync == "batched") {
        a.sync = AuditSyncMode::kBatched;
      } else {
        const std::string suggestion = Suggest(sync, {"strict", "every-record", "batched"});
        Error(Span(*t->get("sync")), "unknown audit sync mode `" + sync + "`",
              suggestion.empty() ? "write \"strict\", \"every-record\" or \"batched\""
                                 : suggestion);
      }
    }
    Path(*t, "public_key", &a.public_key, &a.public_key_span);
    Integer(*t, "max_batch_delay_ms", 0, 1000, &a.max_batch_delay_ms);
    Integer(*t, "checkpoint_every_records", 1, 100'000'000, &a.checkpoint_every_records);
    Integer(*t, "checkpoint_interval_ms", 1, 24 * 3600 * 1000, &a.checkpoint_interval_ms);
  }

  void ReadMetrics(const toml::table& root, Config* config) {
    const toml::table* t = Table(root, "metrics");
    if (t == nullptr) return;
    Keys(*t, "[metrics]", {"enabled", "listen"});
    Bool(*t, "enabled", &config->metrics.enabled);
    if (const toml::node* listen = t->get("listen")) {
      config->metrics.listen = Address(*listen, "listen");
      if (config->metrics.listen && config->metrics.listen->port != 0) {
        for (const ListenAddress& main : config->server.listen) {
          if (main.ToString() == config->metrics.listen->ToString()) {
            Error(config->metrics.listen->span,
                  "the metrics listener `" + main.ToString() + "` is also a [server] listener");
          }
        }
      }
    }
  }

  void ReadRate(const toml::table& t, RateLimitConfig* rate) {
    Number(t, "rate", 1e9, &rate->rate_per_second);
    if (Number(t, "burst", 1e9, &rate->burst) && rate->burst < 1) {
      Error(Span(*t.get("burst")), "`burst` must be at least 1", "a bucket smaller than one "
                                                                 "request admits nothing");
    }
  }

  void ReadAdmission(const toml::table& root, Config* config) {
    const toml::table* t = Table(root, "admission");
    if (t == nullptr) return;
    AdmissionConfig& a = config->admission;
    Keys(*t, "[admission]",
         {"rate", "burst", "max_concurrency_per_function", "queue_timeout_ms", "principals"});
    ReadRate(*t, &a.default_rate);
    Integer(*t, "max_concurrency_per_function", 1, 100'000, &a.max_concurrency_per_function);
    Integer(*t, "queue_timeout_ms", 0, 60'000, &a.queue_timeout_ms);
    const toml::table* principals = Table(*t, "principals");
    if (principals == nullptr) return;
    for (auto&& [key, node] : *principals) {
      const std::string id(key.str());
      const toml::table* p = node.as_table();
      if (p == nullptr) {
        WrongType(id, node, "a table with `rate` and `burst`");
        continue;
      }
      Keys(*p, "[admission.principals." + id + "]", {"rate", "burst"});
      RateLimitConfig rate = a.default_rate;
      ReadRate(*p, &rate);
      a.principal_rates[id] = rate;
    }
  }

  std::string file_;
  std::string folder_;
  Diagnostics* diags_;
};

}  // namespace

bool ReadConfig(std::string_view text, std::string_view file, Config* config,
                Diagnostics* diags) {
  const std::string name(file);
  if (!CheckBytes(text, name, *diags)) return false;
  if (auto offset = FindOverlongUnquotedRun(text)) {
    diags->Error(SpanAt(text, *offset, name),
                 "unquoted value or key longer than " + std::to_string(kMaxUnquotedRun) +
                     " characters",
                 "quote long keys and values");
    return false;
  }
  toml::parse_result parsed = toml::parse(text, file);
  if (!parsed) {
    const auto& error = parsed.error();
    // toml++ positions every error it reports; 1:1 stands in should one ever lack it.
    const auto& begin = error.source().begin;
    diags->Error(begin.line == 0 ? SourceSpan{name, 1, 1}
                                 : SourceSpan{name, begin.line, std::max<uint32_t>(begin.column, 1)},
                 TomlErrorMessage(error.description()));
    return false;
  }
  *config = Config{};
  config->file = name;
  std::error_code ec;
  fs::path folder = fs::path(name).parent_path();
  if (folder.empty()) folder = ".";
  const fs::path absolute = fs::absolute(folder, ec);
  config->folder = (ec ? folder : absolute).lexically_normal().string();
  while (config->folder.size() > 1 && config->folder.back() == '/') config->folder.pop_back();
  ConfigReader reader(name, config->folder, diags);
  reader.Read(parsed.table(), config);
  return true;
}

ConfigResult<Config> ParseConfig(std::string_view text, std::string_view file) {
  Config config;
  Diagnostics diags;
  ReadConfig(text, file, &config, &diags);
  if (diags.HasErrors()) return tl::unexpected(std::move(diags));
  return config;
}

}  // namespace fnjail::gateway
