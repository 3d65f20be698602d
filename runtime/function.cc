// Function files (docs/runtimes.md, "Function files") and the jail spec of a function.
//
// The runtime's only toml++ translation unit, built like sandbox/profile_toml.cc:
// header-only, exceptions off, NDEBUG undefined and toml++'s assertions routed to
// RecordTomlAssert() (a failed invariant refuses the file instead of aborting); input is
// size-capped and ASCII-only before toml++ sees a byte (design brief, "Known pitfalls").
#include "runtime/function.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

namespace fnjail::runtime::internal {
namespace {
thread_local bool toml_assert_failed = false;
}  // namespace
inline void RecordTomlAssert() { toml_assert_failed = true; }
}  // namespace fnjail::runtime::internal

#define TOML_ASSERT(expr)                                             \
  do {                                                                \
    if (!(expr)) ::fnjail::runtime::internal::RecordTomlAssert();     \
  } while (0)
#include <toml++/toml.h>

namespace fnjail::runtime {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxArgs = 64;
constexpr size_t kMaxArgBytes = 4096;
constexpr size_t kMaxSecrets = 64;
constexpr size_t kMaxRoutes = 64;
constexpr size_t kMaxSecretNameBytes = 128;
constexpr size_t kMaxRoutePathBytes = 1024;
constexpr uint64_t kMaxTimeoutMs = 15 * 60 * 1000;

// Collects `file:line:col: error: message` lines.
class Diagnostics {
 public:
  explicit Diagnostics(std::string_view file) : file_(file.empty() ? "<function>" : file) {}

  void Add(const toml::source_region& where, const std::string& message) {
    Add(where.begin.line, where.begin.column, message);
  }
  void Add(const toml::node& node, const std::string& message) { Add(node.source(), message); }
  void Add(uint32_t line, uint32_t column, const std::string& message) {
    if (!text_.empty()) text_ += '\n';
    text_ += file_ + ":" + std::to_string(line) + ":" + std::to_string(column) +
             ": error: " + message;
  }
  // Lines already in the `file:line:col: error:` form (from the profile parser).
  void AddFormatted(const std::string& lines) {
    if (lines.empty()) return;
    if (!text_.empty()) text_ += '\n';
    text_ += lines;
  }
  bool empty() const { return text_.empty(); }
  const std::string& text() const { return text_; }

 private:
  std::string file_;
  std::string text_;
};

bool ValidName(std::string_view s) {
  if (s.empty() || s.size() > kMaxFunctionNameBytes) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              (i > 0 && (c == '-' || c == '_'));
    if (!ok) return false;
  }
  return true;
}

bool ValidSecretName(std::string_view s) {
  if (s.empty() || s.size() > kMaxSecretNameBytes) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
              (i > 0 && (c >= '0' && c <= '9'));
    if (!ok) return false;
  }
  return true;
}

bool ValidMethod(std::string_view s) {
  if (s == "*") return true;
  if (s.empty() || s.size() > 16) return false;
  for (char c : s) {
    if (c < 'A' || c > 'Z') return false;
  }
  return true;
}

// An absolute path of visible characters; `{name}` segments are parameters.
bool ValidRoutePath(std::string_view s) {
  if (s.empty() || s[0] != '/' || s.size() > kMaxRoutePathBytes) return false;
  for (char c : s) {
    if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#') return false;
  }
  return s.find("//") == std::string_view::npos;
}

// A relative path with no `..`, empty or absolute component.
bool ContainedRelativePath(std::string_view s) {
  if (s.empty() || s[0] == '/') return false;
  size_t start = 0;
  for (;;) {
    size_t slash = s.find('/', start);
    std::string_view part = s.substr(start, slash == std::string_view::npos ? s.npos
                                                                           : slash - start);
    if (part.empty() || part == "..") return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

// Converts a TOML value to JSON (for an inline input schema written as TOML).
bool TomlToJson(const toml::node& node, nlohmann::json* out) {
  if (const auto* t = node.as_table()) {
    *out = nlohmann::json::object();
    for (auto&& [k, v] : *t) {
      nlohmann::json child;
      if (!TomlToJson(v, &child)) return false;
      (*out)[std::string(k.str())] = std::move(child);
    }
    return true;
  }
  if (const auto* a = node.as_array()) {
    *out = nlohmann::json::array();
    for (const auto& v : *a) {
      nlohmann::json child;
      if (!TomlToJson(v, &child)) return false;
      out->push_back(std::move(child));
    }
    return true;
  }
  if (const auto* s = node.as_string()) {
    *out = s->get();
    return true;
  }
  if (const auto* i = node.as_integer()) {
    *out = i->get();
    return true;
  }
  if (const auto* f = node.as_floating_point()) {
    if (!std::isfinite(f->get())) return false;
    *out = f->get();
    return true;
  }
  if (const auto* b = node.as_boolean()) {
    *out = b->get();
    return true;
  }
  return false;  // dates and times have no JSON form
}

class FunctionReader {
 public:
  FunctionReader(std::string_view file, FunctionSpec* out, Diagnostics* diags)
      : out_(out), diags_(diags) {
    out_->file = std::string(file);
    std::error_code ec;
    fs::path parent = fs::path(std::string(file)).parent_path();
    base_ = fs::absolute(parent.empty() ? fs::path(".") : parent, ec).lexically_normal();
    if (ec) base_ = parent;
  }

  void Read(const toml::table& root) {
    const toml::node* handler_node = nullptr;
    const toml::node* mode_node = nullptr;
    const toml::node* args_node = nullptr;
    const toml::node* lua_memory_node = nullptr;
    const toml::node* folder_node = nullptr;
    std::string folder;
    bool have_runtime = false;
    for (auto&& [key, node] : root) {
      const std::string k(key.str());
      if (k == "name") {
        if (String(node, k, &out_->name) && !ValidName(out_->name)) {
          diags_->Add(node, "invalid function name `" + out_->name +
                                "`: lower-case letters, digits, `-` and `_`, starting with a "
                                "letter or digit, at most " +
                                std::to_string(kMaxFunctionNameBytes) + " characters");
        }
      } else if (k == "runtime") {
        std::string v;
        if (String(node, k, &v)) {
          if (v == "lua") {
            out_->runtime = RuntimeKind::kLua;
            have_runtime = true;
          } else if (v == "exec") {
            out_->runtime = RuntimeKind::kExec;
            have_runtime = true;
          } else {
            diags_->Add(node, "unknown runtime `" + v + "`: `lua` or `exec`");
          }
        }
      } else if (k == "handler") {
        handler_node = &node;
        String(node, k, &out_->handler);
      } else if (k == "args") {
        args_node = &node;
        out_->args = Strings(node, k, kMaxArgs, kMaxArgBytes);
      } else if (k == "mode") {
        mode_node = &node;
        std::string v;
        if (String(node, k, &v)) {
          if (v == "simple") {
            out_->mode = ExecMode::kSimple;
          } else if (v == "persistent") {
            out_->mode = ExecMode::kPersistent;
          } else {
            diags_->Add(node, "unknown exec mode `" + v + "`: `simple` or `persistent`");
          }
        }
      } else if (k == "folder") {
        folder_node = &node;
        String(node, k, &folder);
      } else if (k == "lua_memory_mb") {
        lua_memory_node = &node;
        uint64_t v = 0;
        if (Int(node, k, 1, 65536, &v)) out_->lua_memory_mb = static_cast<uint32_t>(v);
      } else if (k == "timeout_ms") {
        Int(node, k, 1, kMaxTimeoutMs, &out_->timeout_ms);
      } else if (k == "concurrency") {
        uint64_t v = 0;
        if (Int(node, k, 1, 100000, &v)) out_->concurrency = static_cast<uint32_t>(v);
      } else if (k == "secrets") {
        Secrets(node);
      } else if (k == "routes") {
        Routes(node);
      } else if (k == "input") {
        Input(node);
      } else if (k == "pool") {
        Pool(node);
      } else if (k == "profile") {
        ProfileFit(node);  // the profile itself is read by sandbox::ParseFunctionProfileToml
      } else {
        diags_->Add(key.source(), "unknown key `" + k + "`");
      }
    }

    if (out_->name.empty() && root.get("name") == nullptr) {
      diags_->Add(1, 1, "missing `name`");
    }
    if (!have_runtime && root.get("runtime") == nullptr) {
      diags_->Add(1, 1, "missing `runtime` (`lua` or `exec`)");
    }
    if (handler_node == nullptr) {
      diags_->Add(1, 1, "missing `handler`");
    }
    if (!have_runtime) return;
    const bool lua = out_->runtime == RuntimeKind::kLua;
    if (lua && mode_node != nullptr) diags_->Add(*mode_node, "`mode` is for the exec runtime");
    if (lua && args_node != nullptr) diags_->Add(*args_node, "`args` is for the exec runtime");
    if (!lua && lua_memory_node != nullptr) {
      diags_->Add(*lua_memory_node, "`lua_memory_mb` is for the lua runtime");
    }
    if (lua && lua_preset_conflict_ != nullptr) {
      diags_->Add(*lua_preset_conflict_,
                  "a lua function runs under the `lua` syscall preset; add single syscalls "
                  "with `allow` instead");
    }
    if (handler_node != nullptr && !out_->handler.empty()) {
      Handler(*handler_node, lua, folder_node, folder);
    } else if (handler_node != nullptr && handler_node->is_string()) {
      diags_->Add(*handler_node, "`handler` is empty");
    }
  }

 private:
  void Handler(const toml::node& node, bool lua, const toml::node* folder_node,
               const std::string& folder) {
    const std::string& h = out_->handler;
    if (h[0] == '/') {
      if (lua) {
        diags_->Add(node, "a lua handler is a file in the function's folder (a relative path)");
        return;
      }
      out_->handler_in_jail = fs::path(h).lexically_normal().string();
      if (folder_node != nullptr) Folder(*folder_node, folder);
      return;
    }
    if (folder_node != nullptr) {
      diags_->Add(*folder_node, "`folder` is for an absolute handler; a relative handler's "
                                "folder is the one holding it");
    }
    if (!ContainedRelativePath(h)) {
      diags_->Add(node, "handler `" + h + "` must stay inside the function's folder (no `..`)");
      return;
    }
    fs::path host = (base_ / h).lexically_normal();
    struct stat info {};
    if (::stat(host.c_str(), &info) != 0) {
      diags_->Add(node, "handler `" + h + "` not found (looked for `" + host.string() + "`)");
      return;
    }
    if (!S_ISREG(info.st_mode)) {
      diags_->Add(node, "handler `" + h + "` is not a regular file");
      return;
    }
    if (!lua && ::access(host.c_str(), X_OK) != 0) {
      diags_->Add(node, "handler `" + h + "` is not executable (chmod +x, and a `#!` line "
                        "for a script)");
      return;
    }
    out_->folder = host.parent_path().string();
    out_->handler_in_jail =
        std::string(kFunctionDirInJail) + "/" + host.filename().string();
  }

  void Folder(const toml::node& node, const std::string& folder) {
    if (!ContainedRelativePath(folder) && folder != ".") {
      diags_->Add(node, "folder `" + folder + "` must stay inside the function file's folder");
      return;
    }
    fs::path host = (base_ / folder).lexically_normal();
    std::error_code ec;
    if (!fs::is_directory(host, ec)) {
      diags_->Add(node, "folder `" + folder + "` is not a directory");
      return;
    }
    out_->folder = host.string();
    if (out_->folder.size() > 1 && out_->folder.back() == '/') out_->folder.pop_back();
  }

  bool String(const toml::node& node, const std::string& key, std::string* out) {
    const auto* s = node.as_string();
    if (s == nullptr) {
      diags_->Add(node, "`" + key + "` must be a string");
      return false;
    }
    if (s->get().find('\0') != std::string::npos) {
      diags_->Add(node, "`" + key + "` must not contain NUL");
      return false;
    }
    *out = s->get();
    return true;
  }

  // Type first: toml++ converts a float by a cast that is undefined when out of range.
  bool Int(const toml::node& node, const std::string& key, int64_t min, uint64_t max,
           uint64_t* out) {
    const auto* integer = node.as_integer();
    if (integer == nullptr) {
      diags_->Add(node, "`" + key + "` must be an integer");
      return false;
    }
    const int64_t v = integer->get();
    if (v < min || static_cast<uint64_t>(v) > max) {
      diags_->Add(node, "`" + key + "` must be within [" + std::to_string(min) + ", " +
                            std::to_string(max) + "]");
      return false;
    }
    *out = static_cast<uint64_t>(v);
    return true;
  }

  bool Bool(const toml::node& node, const std::string& key, bool* out) {
    const auto* b = node.as_boolean();
    if (b == nullptr) {
      diags_->Add(node, "`" + key + "` must be true or false");
      return false;
    }
    *out = b->get();
    return true;
  }

  std::vector<std::string> Strings(const toml::node& node, const std::string& key,
                                   size_t max_items, size_t max_bytes) {
    std::vector<std::string> out;
    const auto* a = node.as_array();
    if (a == nullptr) {
      diags_->Add(node, "`" + key + "` must be an array of strings");
      return out;
    }
    if (a->size() > max_items) {
      diags_->Add(node, "`" + key + "` has more than " + std::to_string(max_items) + " items");
      return out;
    }
    for (const auto& item : *a) {
      std::string s;
      if (!String(item, key + "` item `", &s)) continue;
      if (s.size() > max_bytes) {
        diags_->Add(item, "an item of `" + key + "` is longer than " +
                              std::to_string(max_bytes) + " bytes");
        continue;
      }
      out.push_back(std::move(s));
    }
    return out;
  }

  void Secrets(const toml::node& node) {
    std::set<std::string> seen;
    const auto* a = node.as_array();
    out_->secrets = Strings(node, "secrets", kMaxSecrets, kMaxSecretNameBytes);
    if (a == nullptr || out_->secrets.size() != a->size()) return;
    for (size_t i = 0; i < out_->secrets.size(); ++i) {
      const std::string& s = out_->secrets[i];
      if (!ValidSecretName(s)) {
        diags_->Add(*a->get(i), "invalid secret name `" + s +
                                    "`: letters, digits and `_`, not starting with a digit");
      } else if (!seen.insert(s).second) {
        diags_->Add(*a->get(i), "secret `" + s + "` is listed twice");
      }
    }
  }

  void Routes(const toml::node& node) {
    const auto* a = node.as_array();
    if (a == nullptr || !a->is_array_of_tables()) {
      diags_->Add(node, "`routes` must be an array of tables (`[[routes]]`)");
      return;
    }
    if (a->size() > kMaxRoutes) {
      diags_->Add(node, "more than " + std::to_string(kMaxRoutes) + " routes");
      return;
    }
    for (const auto& item : *a) {
      const toml::table& t = *item.as_table();
      Route r;
      bool have_method = false, have_path = false;
      for (auto&& [key, v] : t) {
        const std::string k(key.str());
        if (k == "method") {
          have_method = String(v, k, &r.method);
          if (have_method && !ValidMethod(r.method)) {
            diags_->Add(v, "invalid method `" + r.method + "`: an upper-case token or `*`");
          }
        } else if (k == "path") {
          have_path = String(v, k, &r.path);
          if (have_path && !ValidRoutePath(r.path)) {
            diags_->Add(v, "invalid route path `" + r.path +
                               "`: absolute, visible ASCII, no `?`, `#` or `//`");
          }
        } else {
          diags_->Add(key.source(), "unknown key `" + k + "` in a route");
        }
      }
      if (!have_path && t.get("path") == nullptr) {
        diags_->Add(t.source(), "route without `path`");
      }
      if (t.get("method") == nullptr) r.method = "*";
      out_->routes.push_back(std::move(r));
    }
  }

  void Input(const toml::node& node) {
    const auto* t = node.as_table();
    if (t == nullptr) {
      diags_->Add(node, "`input` must be a table");
      return;
    }
    const toml::node* schema = t->get("schema");
    const toml::node* schema_file = t->get("schema_file");
    for (auto&& [key, v] : *t) {
      const std::string k(key.str());
      if (k != "schema" && k != "schema_file") {
        diags_->Add(key.source(), "unknown key `" + k + "` in [input]");
      }
    }
    if (schema != nullptr && schema_file != nullptr) {
      diags_->Add(*schema_file, "give `schema` or `schema_file`, not both");
      return;
    }
    nlohmann::json doc;
    if (schema != nullptr) {
      if (const auto* s = schema->as_string()) {
        doc = nlohmann::json::parse(s->get(), nullptr, false);
        if (doc.is_discarded()) {
          diags_->Add(*schema, "`schema` is not valid JSON");
          return;
        }
      } else if (schema->is_table()) {
        if (!TomlToJson(*schema, &doc)) {
          diags_->Add(*schema, "`schema` holds a value JSON cannot (a date or time)");
          return;
        }
      } else {
        diags_->Add(*schema, "`schema` must be JSON text or a table");
        return;
      }
    } else if (schema_file != nullptr) {
      std::string rel;
      if (!String(*schema_file, "schema_file", &rel)) return;
      if (!ContainedRelativePath(rel)) {
        diags_->Add(*schema_file, "schema file `" + rel +
                                      "` must stay inside the function file's folder");
        return;
      }
      fs::path host = (base_ / rel).lexically_normal();
      std::ifstream in(host, std::ios::binary);
      std::string text(kMaxSchemaBytes + 1, '\0');
      if (in) in.read(text.data(), static_cast<std::streamsize>(text.size()));
      if (!in && !in.eof()) {
        diags_->Add(*schema_file, "schema file `" + host.string() + "` cannot be read");
        return;
      }
      text.resize(static_cast<size_t>(in.gcount()));
      if (text.size() > kMaxSchemaBytes) {
        diags_->Add(*schema_file, "schema file is larger than 1 MiB");
        return;
      }
      doc = nlohmann::json::parse(text, nullptr, false);
      if (doc.is_discarded()) {
        diags_->Add(*schema_file, "schema file `" + rel + "` is not valid JSON");
        return;
      }
      out_->input_schema_file = host.string();
    } else {
      return;
    }
    if (!doc.is_object() && !doc.is_boolean()) {
      diags_->Add(schema != nullptr ? *schema : *schema_file,
                  "a JSON Schema is an object (or true/false)");
      return;
    }
    out_->input_schema = doc.dump();
  }

  void Pool(const toml::node& node) {
    const auto* t = node.as_table();
    if (t == nullptr) {
      diags_->Add(node, "`pool` must be a table");
      return;
    }
    FunctionPool& p = out_->pool;
    for (auto&& [key, v] : *t) {
      const std::string k(key.str());
      uint64_t n = 0;
      if (k == "min_idle") {
        if (Int(v, k, 0, 10000, &n)) p.min_idle = static_cast<uint32_t>(n);
      } else if (k == "max_concurrency") {
        if (Int(v, k, 1, 10000, &n)) p.max_concurrency = static_cast<uint32_t>(n);
      } else if (k == "prewarm") {
        if (Int(v, k, 0, 10000, &n)) p.prewarm = static_cast<uint32_t>(n);
      } else if (k == "idle_ttl_ms") {
        if (Int(v, k, 1, uint64_t{7} * 24 * 3600 * 1000, &n)) p.idle_ttl_ms = n;
      } else if (k == "max_invocations") {
        if (Int(v, k, 0, uint64_t{1} << 40, &n)) p.max_invocations = n;
      } else if (k == "per_principal") {
        bool b = false;
        if (Bool(v, k, &b)) p.per_principal = b;
      } else {
        diags_->Add(key.source(), "unknown key `" + k + "` in [pool]");
      }
    }
    if (p.max_concurrency) {
      if (p.min_idle && *p.min_idle > *p.max_concurrency) {
        diags_->Add(*t->get("min_idle"), "`min_idle` is larger than `max_concurrency`");
      }
      if (p.prewarm && *p.prewarm > *p.max_concurrency) {
        diags_->Add(*t->get("prewarm"), "`prewarm` is larger than `max_concurrency`");
      }
    }
  }

  // What the runtime needs of the profile (the profile parser checks the rest).
  void ProfileFit(const toml::node& node) {
    const auto* t = node.as_table();
    if (t == nullptr) return;  // reported by the profile parser
    if (const auto* fsys = t->get_as<toml::table>("filesystem")) {
      if (const auto* sb = fsys->get_as<bool>("system_binds"); sb != nullptr && !sb->get()) {
        diags_->Add(*sb, "the runtime is dynamically linked: a function needs `system_binds`");
      }
    }
    if (const auto* sys = t->get_as<toml::table>("syscalls")) {
      if (const auto* preset = sys->get_as<std::string>("preset");
          preset != nullptr && preset->get() != "lua") {
        lua_preset_conflict_ = preset;
      }
    }
  }

  FunctionSpec* out_;
  Diagnostics* diags_;
  fs::path base_;
  const toml::node* lua_preset_conflict_ = nullptr;
};

}  // namespace

std::string_view RuntimeKindName(RuntimeKind kind) noexcept {
  return kind == RuntimeKind::kLua ? "lua" : "exec";
}

std::string_view ExecModeName(ExecMode mode) noexcept {
  return mode == ExecMode::kSimple ? "simple" : "persistent";
}

Result<FunctionSpec> ParseFunctionToml(std::string_view text, std::string_view file) {
  Diagnostics diags(file);
  if (text.size() > kMaxFunctionFileBytes) {
    diags.Add(1, 1, "function file is larger than " + std::to_string(kMaxFunctionFileBytes) +
                        " bytes");
    return Fail("parse", diags.text());
  }
  // ASCII only (tab, newlines and printable characters): checked before toml++ runs.
  uint32_t line = 1, column = 1;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80 || (u < 0x20 && u != '\t' && u != '\n' && u != '\r') || u == 0x7f) {
      const char* hex = "0123456789abcdef";
      diags.Add(line, column, std::string("byte 0x") + hex[u >> 4] + hex[u & 15] +
                                  " is not printable ASCII (write other characters as `\\u` "
                                  "escapes)");
      return Fail("parse", diags.text());
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
    diags.Add(1, 1,
              "the function file could not be parsed (internal consistency check failed)");
    return Fail("parse", diags.text());
  }
  if (!parsed) {
    // toml++ quotes the offending text as is, newlines included: keep one line per error.
    std::string description;
    for (char c : parsed.error().description()) {
      if (c == '\n') {
        description += "\\n";
      } else if (c == '\r') {
        description += "\\r";
      } else {
        description += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
      }
    }
    diags.Add(parsed.error().source(), description);
    return Fail("parse", diags.text());
  }
  FunctionSpec spec;
  FunctionReader reader(file, &spec, &diags);
  reader.Read(parsed.table());
  auto profile = sandbox::ParseFunctionProfileToml(text, file);
  if (profile) {
    spec.profile = std::move(*profile);
  } else {
    diags.AddFormatted(profile.error().detail);
  }
  if (!diags.empty()) return Fail("parse", diags.text());
  return spec;
}

Result<FunctionSpec> LoadFunction(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Fail("parse", path + ":1:1: error: cannot read the function file: " +
                             std::strerror(errno != 0 ? errno : ENOENT));
  }
  std::string text(kMaxFunctionFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  return ParseFunctionToml(text, path);
}

std::string RuntimeBinaryPath() {
  if (const char* env = std::getenv("FNJAIL_RUNTIME"); env != nullptr && env[0] != '\0') {
    return env;
  }
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "fnjail-runtime";
  return (self.parent_path() / "fnjail-runtime").string();
}

Result<sandbox::SandboxSpec> JailSpecFor(const FunctionSpec& fn, const JailOptions& options) {
  const sandbox::Profile& profile = fn.profile;
  const bool dangerous = profile.host_network || !profile.dangerous_syscalls.empty();
  if (dangerous && options.dangerous == nullptr) {
    return Fail("jail", "the profile of `" + fn.name +
                            "` asks for dangerous switches ([dangerous]), which this caller "
                            "does not grant");
  }
  std::string runtime = options.runtime_binary.empty() ? RuntimeBinaryPath()
                                                       : options.runtime_binary;
  if (::access(runtime.c_str(), X_OK) != 0) {
    return Fail("jail", "the runtime program `" + runtime + "` is missing or not executable");
  }
  if (fn.handler_in_jail.empty()) return Fail("jail", "the function has no handler");

  sandbox::SandboxBuilder b(profile.spec);
  b.ReadOnlyBind(runtime, std::string(kRuntimeInJail));
  if (!fn.folder.empty()) {
    b.ReadOnlyBind(fn.folder, std::string(kFunctionDirInJail));
    b.WorkingDirectory(std::string(kFunctionDirInJail));
  }
  if (options.dangerous != nullptr) {
    if (profile.host_network) b.ShareHostNetwork(*options.dangerous);
    for (const auto& name : profile.dangerous_syscalls) {
      b.AllowDangerousSyscall(name, *options.dangerous);
    }
  }
  std::vector<std::string> argv = {std::string(kRuntimeInJail),
                                   std::string(RuntimeKindName(fn.runtime))};
  if (fn.runtime == RuntimeKind::kLua) {
    // The Lua heap gets 3/4 of the jail's memory unless the file says otherwise: the
    // allocator refuses first, so a greedy handler is an error, not a killed jail.
    const uint64_t memory_mb =
        fn.lua_memory_mb != 0
            ? fn.lua_memory_mb
            : std::max<uint64_t>(4, (profile.spec.limits.memory_bytes >> 20) * 3 / 4);
    const uint64_t init_ms = std::max<uint64_t>(fn.timeout_ms, 10'000);
    argv.insert(argv.end(), {"--memory-limit-mb", std::to_string(memory_mb),
                             "--init-timeout-ms", std::to_string(init_ms), fn.handler_in_jail});
    b.Preset("lua");
    // The launcher installs the filter before it executes the runtime, so execve stays in
    // the jail's filter; the runtime's first step stacks a filter of its own (the preset
    // has `seccomp`) that kills execve, execveat and new processes from then on.
    b.AllowSyscall("execve");
  } else {
    argv.insert(argv.end(), {"--mode", std::string(ExecModeName(fn.mode)), "--",
                             fn.handler_in_jail});
    argv.insert(argv.end(), fn.args.begin(), fn.args.end());
  }
  b.Command(std::move(argv));
  auto spec = b.TryBuild();
  if (!spec) return Fail("jail", spec.error().ToString());
  return std::move(*spec);
}

}  // namespace fnjail::runtime
