// Function profiles in TOML (docs/function-profile.md): the sandbox's only toml++ TU.
//
// Built like policy/toml_source.cc: header-only toml++ with exceptions off and NDEBUG
// undefined, and toml++'s internal assertions routed to RecordTomlAssert() below, which
// turns a failed library invariant into a refused profile (fail closed) instead of an
// abort. Input is size-capped and must be ASCII before toml++ sees a byte: Debian's 3.3.0
// has undefined behaviour on some non-ASCII input.
#include <cerrno>
#include <cstdint>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include "sandbox/sandbox.h"

namespace fnjail::sandbox::internal {
namespace {
// Set when a toml++ invariant failed during the current parse on this thread.
thread_local bool toml_assert_failed = false;
}  // namespace
inline void RecordTomlAssert() { toml_assert_failed = true; }
}  // namespace fnjail::sandbox::internal

#define TOML_ASSERT(expr)                                             \
  do {                                                                \
    if (!(expr)) ::fnjail::sandbox::internal::RecordTomlAssert();     \
  } while (0)
#include <toml++/toml.h>

namespace fnjail::sandbox {
namespace {

// Collects `file:line:col: error: message` lines.
class Diagnostics {
 public:
  explicit Diagnostics(std::string_view file) : file_(file) {}

  void Add(const toml::source_region& where, const std::string& message,
           const std::string& help = {}) {
    Add(where.begin.line, where.begin.column, message, help);
  }
  void Add(uint32_t line, uint32_t column, const std::string& message,
           const std::string& help = {}) {
    if (!text_.empty()) text_ += '\n';
    text_ += file_ + ":" + std::to_string(line) + ":" + std::to_string(column) +
             ": error: " + message;
    if (!help.empty()) text_ += "\n  help: " + help;
  }
  bool empty() const { return text_.empty(); }
  const std::string& text() const { return text_; }

 private:
  std::string file_;
  std::string text_;
};

class ProfileReader {
 public:
  ProfileReader(Profile* out, Diagnostics* diags) : out_(out), diags_(diags) {}

  // Reads a profile document, or with `function_file` the [profile] table of a function
  // definition (its other top-level keys belong to the function and are not looked at).
  void Read(const toml::table& root, bool function_file) {
    const toml::table* top = &root;
    const toml::table empty;
    if (function_file) {
      const toml::node* p = root.get("profile");
      if (p != nullptr && !p->is_table()) {
        diags_->Add(p->source(), "`profile` must be a table");
        return;
      }
      top = p != nullptr ? p->as_table() : &empty;
    } else if (const toml::node* p = root.get("profile"); p != nullptr && p->is_table()) {
      // A function definition given as a profile: only its [profile] table may be there.
      for (auto&& [key, node] : root) {
        if (key.str() != "profile") diags_->Add(key.source(), "unknown key `" + std::string(key.str()) + "` beside [profile]");
      }
      top = p->as_table();
    }
    for (auto&& [key, node] : *top) {
      const std::string k(key.str());
      const toml::table* t = node.as_table();
      if (t == nullptr) {
        diags_->Add(node.source(), "`" + k + "` must be a table");
        continue;
      }
      if (k == "limits") Limits(*t);
      else if (k == "filesystem") Filesystem(*t);
      else if (k == "network") Network(*t);
      else if (k == "environment") Environment(*t);
      else if (k == "syscalls") Syscalls(*t);
      else if (k == "dangerous") Dangerous(*t);
      else diags_->Add(key.source(), "unknown section `" + k + "`");
    }
    if (system_binds_) {
      auto binds = DefaultSystemBinds();
      binds.insert(binds.end(), out_->spec.binds.begin(), out_->spec.binds.end());
      out_->spec.binds = std::move(binds);
    }
  }

 private:
  // An integer within [min, max], or an error at the value.
  bool Int(const toml::node& node, const std::string& key, int64_t min, int64_t max,
           uint64_t* out) {
    // Type first: toml++'s value<int64_t>() converts a float by a cast that is undefined
    // behaviour when the float is out of range.
    const auto* integer = node.as_integer();
    if (integer == nullptr) {
      diags_->Add(node.source(), "`" + key + "` must be an integer");
      return false;
    }
    const int64_t v = integer->get();
    if (v < min || v > max) {
      diags_->Add(node.source(), "`" + key + "` must be within [" + std::to_string(min) + ", " +
                                     std::to_string(max) + "]");
      return false;
    }
    *out = static_cast<uint64_t>(v);
    return true;
  }

  bool Bool(const toml::node& node, const std::string& key, bool* out) {
    if (!node.is_boolean()) {
      diags_->Add(node.source(), "`" + key + "` must be true or false");
      return false;
    }
    *out = node.value<bool>().value_or(false);
    return true;
  }

  bool String(const toml::node& node, const std::string& key, std::string* out) {
    if (!node.is_string()) {
      diags_->Add(node.source(), "`" + key + "` must be a string");
      return false;
    }
    *out = node.value<std::string>().value_or("");
    return true;
  }

  std::vector<std::string> Strings(const toml::node& node, const std::string& key) {
    std::vector<std::string> out;
    const toml::array* a = node.as_array();
    if (a == nullptr) {
      diags_->Add(node.source(), "`" + key + "` must be an array of strings");
      return out;
    }
    for (const toml::node& e : *a) {
      std::string s;
      if (String(e, key + "[]", &s)) out.push_back(std::move(s));
    }
    return out;
  }

  void Limits(const toml::table& t) {
    sandbox::Limits& l = out_->spec.limits;
    constexpr int64_t kMax32 = std::numeric_limits<uint32_t>::max();
    constexpr int64_t kBig = int64_t{1} << 40;
    for (auto&& [key, node] : t) {
      const std::string k(key.str());
      uint64_t v = 0;
      if (k == "memory_mb") {
        if (Int(node, k, 1, 1 << 20, &v)) l.memory_bytes = v << 20;
      } else if (k == "pids") {
        if (Int(node, k, 1, 1 << 22, &v)) l.pids = static_cast<uint32_t>(v);
      } else if (k == "cpu_shares") {
        if (Int(node, k, 2, 262144, &v)) l.cpu_shares = static_cast<uint32_t>(v);
      } else if (k == "cpu_quota_percent") {
        if (Int(node, k, 1, 102400, &v)) l.cpu_quota_percent = static_cast<uint32_t>(v);
      } else if (k == "timeout_ms") {
        if (Int(node, k, 1, kBig, &v)) l.timeout_ms = v;
      } else if (k == "cpu_ms") {
        if (Int(node, k, 0, kBig, &v)) l.cpu_ms = v;
      } else if (k == "file_size_mb") {
        if (Int(node, k, 0, 1 << 24, &v)) l.file_size_bytes = v << 20;
      } else if (k == "open_files") {
        if (Int(node, k, 4, 1 << 20, &v)) l.open_files = static_cast<uint32_t>(v);
      } else if (k == "tmpfs_mb") {
        if (Int(node, k, 0, 1 << 20, &v)) l.tmpfs_bytes = v << 20;
      } else if (k == "output_limit_kb") {
        if (Int(node, k, 1, kMax32, &v)) l.output_bytes = v << 10;
      } else if (k == "rlimits_only") {
        bool b = false;
        if (Bool(node, k, &b)) {
          out_->spec.cgroup = b ? CgroupMode::kRlimitsOnly : CgroupMode::kRequired;
        }
      } else {
        diags_->Add(key.source(), "unknown key `" + k + "` in [limits]");
      }
    }
  }

  void AddBinds(const toml::node& node, const std::string& key, bool writable) {
    for (const std::string& spec : Strings(node, key)) {
      const size_t colon = spec.find(':');
      Bind b;
      b.source = spec.substr(0, colon);
      b.target = colon == std::string::npos ? b.source : spec.substr(colon + 1);
      b.writable = writable;
      if (b.source.empty() || b.source[0] != '/' || b.target.empty() || b.target[0] != '/') {
        diags_->Add(node.source(), "bind `" + spec + "` must be /source or /source:/target");
        continue;
      }
      out_->spec.binds.push_back(std::move(b));
    }
  }

  void Filesystem(const toml::table& t) {
    for (auto&& [key, node] : t) {
      const std::string k(key.str());
      if (k == "system_binds") {
        Bool(node, k, &system_binds_);
      } else if (k == "ro_binds") {
        AddBinds(node, k, false);
      } else if (k == "rw_binds") {
        AddBinds(node, k, true);
      } else {
        diags_->Add(key.source(), "unknown key `" + k + "` in [filesystem]");
      }
    }
  }

  void Network(const toml::table& t) {
    for (auto&& [key, node] : t) {
      const std::string k(key.str());
      std::string mode;
      if (k != "mode") {
        diags_->Add(key.source(), "unknown key `" + k + "` in [network]");
      } else if (String(node, k, &mode)) {
        if (mode == "none") {
          out_->spec.network = NetworkMode::kNone;
        } else if (mode == "loopback") {
          out_->spec.network = NetworkMode::kLoopback;
        } else {
          diags_->Add(node.source(), "network mode `" + mode + "` is not `none` or `loopback`",
                      "the host network is only shared through [dangerous] host_network");
        }
      }
    }
  }

  void Environment(const toml::table& t) {
    for (auto&& [key, node] : t) {
      const std::string k(key.str());
      uint64_t v = 0;
      if (k == "vars") {
        const toml::table* vars = node.as_table();
        if (vars == nullptr) {
          diags_->Add(node.source(), "`vars` must be a table of strings");
          continue;
        }
        for (auto&& [name, value] : *vars) {
          std::string s;
          const std::string n(name.str());
          if (n.empty() || n.find('=') != std::string::npos) {
            diags_->Add(name.source(), "environment name `" + n + "` is invalid");
          } else if (String(value, n, &s)) {
            out_->spec.env.push_back(n + "=" + s);
          }
        }
      } else if (k == "cwd") {
        String(node, k, &out_->spec.cwd);
      } else if (k == "hostname") {
        String(node, k, &out_->spec.hostname);
      } else if (k == "uid") {
        if (Int(node, k, 0, 65535, &v)) out_->spec.uid = static_cast<uint32_t>(v);
      } else if (k == "gid") {
        if (Int(node, k, 0, 65535, &v)) out_->spec.gid = static_cast<uint32_t>(v);
      } else {
        diags_->Add(key.source(), "unknown key `" + k + "` in [environment]");
      }
    }
  }

  void Syscalls(const toml::table& t) {
    for (auto&& [key, node] : t) {
      const std::string k(key.str());
      if (k == "preset") {
        String(node, k, &out_->spec.syscalls.preset);
      } else if (k == "allow") {
        out_->spec.syscalls.add = Strings(node, k);
      } else if (k == "deny") {
        out_->spec.syscalls.remove = Strings(node, k);
      } else {
        diags_->Add(key.source(), "unknown key `" + k + "` in [syscalls]");
      }
    }
  }

  void Dangerous(const toml::table& t) {
    for (auto&& [key, node] : t) {
      const std::string k(key.str());
      if (k == "host_network") {
        Bool(node, k, &out_->host_network);
      } else if (k == "allow_syscalls") {
        out_->dangerous_syscalls = Strings(node, k);
      } else {
        diags_->Add(key.source(), "unknown key `" + k + "` in [dangerous]");
      }
    }
  }

  Profile* out_;
  Diagnostics* diags_;
  bool system_binds_ = true;
};

// toml++ quotes the offending text as is, newlines included: one line per error, always
// (scripts and logs read a diagnostic per line).
std::string OneLine(std::string_view description) {
  std::string out;
  out.reserve(description.size());
  for (const char c : description) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      const auto u = static_cast<unsigned char>(c);
      out += (u < 0x20 || u == 0x7f) ? '?' : c;
    }
  }
  return out;
}

Result<Profile> ParseToml(std::string_view text, std::string_view file, bool function_file) {
  Diagnostics diags(file);
  if (text.size() > kMaxProfileBytes) {
    diags.Add(1, 1, "profile is larger than " + std::to_string(kMaxProfileBytes) + " bytes");
    return Fail(Step::kProfile, EINVAL, diags.text());
  }
  // ASCII only (tab, newlines and printable characters): checked before toml++ runs.
  uint32_t line = 1, column = 1;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80 || (u < 0x20 && u != '\t' && u != '\n' && u != '\r') || u == 0x7f) {
      diags.Add(line, column, "byte 0x" + [u] {
        const char* hex = "0123456789abcdef";
        return std::string{hex[u >> 4], hex[u & 15]};
      }() + " is not printable ASCII",
                "write other characters as `\\u` escapes");
      return Fail(Step::kProfile, EINVAL, diags.text());
    }
    if (c == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  internal::toml_assert_failed = false;
  toml::parse_result parsed = toml::parse(text, file);
  if (internal::toml_assert_failed) {
    diags.Add(1, 1, "the profile could not be parsed (internal consistency check failed)");
    return Fail(Step::kProfile, EINVAL, diags.text());
  }
  if (!parsed) {
    diags.Add(parsed.error().source(), OneLine(parsed.error().description()));
    return Fail(Step::kProfile, EINVAL, diags.text());
  }
  Profile profile;
  ProfileReader reader(&profile, &diags);
  reader.Read(parsed.table(), function_file);
  if (!diags.empty()) return Fail(Step::kProfile, EINVAL, diags.text());
  return profile;
}

}  // namespace

Result<Profile> ParseProfileToml(std::string_view text, std::string_view file) {
  return ParseToml(text, file, /*function_file=*/false);
}

Result<Profile> ParseFunctionProfileToml(std::string_view text, std::string_view file) {
  return ParseToml(text, file, /*function_file=*/true);
}

Result<Profile> LoadProfile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(Step::kProfile, errno != 0 ? errno : ENOENT, path + ": cannot be read");
  std::string text;
  text.resize(kMaxProfileBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  return ParseProfileToml(text, path);
}

}  // namespace fnjail::sandbox
