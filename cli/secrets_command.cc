// `fnjail secrets set|list|rm`: function secrets at rest, over crypto::SecretStore.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "crypto/crypto.h"

namespace fnjail::cli {
namespace {

namespace crypto = ::fnjail::crypto;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitBadInput = 2;

struct SecretsOptions {
  std::string config;
  std::string store;
  std::string master_key;
  std::string function;
  std::string name;
  std::string from_file;
  bool trim_newline = false;
};

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

// Reads `store` and `master_key` from the `[secrets]` section of the gateway
// configuration (docs/secrets.md), resolved against the file's folder. Like the `[audit]`
// reader of `fnjail audit`: one `key = "string"` per line, `#` comments, other sections
// and other keys skipped. Returns an error message (`file:line: error: ...`) or "".
std::string ReadSecretsConfig(const std::string& file, std::string* store,
                              std::string* master_key) {
  auto text = crypto::ReadFileLimited(file, 1 << 20);
  if (!text) return text.error().message();
  const std::filesystem::path base = std::filesystem::path(file).parent_path();
  std::istringstream lines(*text);
  std::string raw;
  bool in_section = false;
  int line_no = 0;
  while (std::getline(lines, raw)) {
    ++line_no;
    bool quoted = false;
    size_t cut = raw.size();
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '"') quoted = !quoted;
      if (raw[i] == '#' && !quoted) {
        cut = i;
        break;
      }
    }
    std::string line = Trim(std::string_view(raw).substr(0, cut));
    if (line.empty()) continue;
    if (line.front() == '[') {
      in_section = line == "[secrets]";
      continue;
    }
    if (!in_section) continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) {
      return file + ":" + std::to_string(line_no) + ": error: expected `key = value` in [secrets]";
    }
    std::string key = Trim(std::string_view(line).substr(0, eq));
    if (key != "store" && key != "master_key") continue;
    std::string value = Trim(std::string_view(line).substr(eq + 1));
    if (value.size() < 2 || value.front() != '"' || value.back() != '"' ||
        value.find('"', 1) != value.size() - 1 || value.find('\\') != std::string::npos) {
      return file + ":" + std::to_string(line_no) + ": error: `" + key +
             "` takes a double-quoted string without escapes";
    }
    std::filesystem::path path(value.substr(1, value.size() - 2));
    std::string resolved = path.is_absolute() ? path.string() : (base / path).lexically_normal().string();
    (key == "store" ? *store : *master_key) = resolved;
  }
  return {};
}

// Fills in the store and master key paths from --config where the flags left them empty.
// Prints the problem and returns false when they cannot be had.
bool ResolvePaths(SecretsOptions& opts, bool need_master_key) {
  if (!opts.config.empty()) {
    std::string store, master_key;
    std::string error = ReadSecretsConfig(opts.config, &store, &master_key);
    if (!error.empty()) {
      std::cerr << "fnjail: " << error << '\n';
      return false;
    }
    if (opts.store.empty()) opts.store = store;
    if (opts.master_key.empty()) opts.master_key = master_key;
  }
  if (opts.store.empty()) {
    std::cerr << "fnjail: no secret store: give --store, or --config with `store` in [secrets]\n";
    return false;
  }
  if (need_master_key && opts.master_key.empty()) {
    std::cerr << "fnjail: no master key: give --master-key, or --config with `master_key` in "
                 "[secrets]\n";
    return false;
  }
  return true;
}

// An exclusive lock on `<store>.lock` for a load-modify-save, so two concurrent commands
// cannot lose each other's change (the store itself is replaced by rename, so it cannot
// carry the lock).
class StoreLock {
 public:
  bool Acquire(const std::string& store) {
    std::string path = store + ".lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd_ < 0) {
      std::cerr << "fnjail: cannot open `" << path << "`: " << std::strerror(errno) << '\n';
      return false;
    }
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) {
        std::cerr << "fnjail: cannot lock `" << path << "`: " << std::strerror(errno) << '\n';
        return false;
      }
    }
    return true;
  }
  ~StoreLock() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  int fd_ = -1;
};

// Reads the secret value from `fd` into wiped memory: at most kMaxValueBytes.
bool ReadValue(int fd, const std::string& what, crypto::SecretBytes* out) {
  crypto::SecretBytes buffer(crypto::SecretStore::kMaxValueBytes + 1);
  size_t done = 0;
  while (done < buffer.size()) {
    ssize_t n = ::read(fd, buffer.data() + done, buffer.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::cerr << "fnjail: cannot read the value from " << what << ": " << std::strerror(errno)
                << '\n';
      return false;
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  if (done > crypto::SecretStore::kMaxValueBytes) {
    std::cerr << "fnjail: the value from " << what << " is larger than 64 KiB\n";
    return false;
  }
  *out = crypto::SecretBytes(buffer.view().first(done));
  return true;
}

int RunSecretsSet(SecretsOptions opts) {
  if (!ResolvePaths(opts, /*need_master_key=*/true)) return kExitBadInput;
  auto master = crypto::LoadMasterKeyFile(opts.master_key);
  if (!master) {
    std::cerr << "fnjail: " << master.error().message() << '\n';
    return kExitBadInput;
  }
  crypto::SecretBytes value;
  if (!opts.from_file.empty()) {
    int fd = ::open(opts.from_file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      std::cerr << "fnjail: cannot open `" << opts.from_file << "`: " << std::strerror(errno)
                << '\n';
      return kExitBadInput;
    }
    bool ok = ReadValue(fd, "`" + opts.from_file + "`", &value);
    ::close(fd);
    if (!ok) return kExitBadInput;
  } else {
    if (::isatty(STDIN_FILENO) == 1) {
      std::cerr << "fnjail: reading the value of `" << opts.name
                << "` from the terminal; end it with Ctrl-D\n";
    }
    if (!ReadValue(STDIN_FILENO, "stdin", &value)) return kExitBadInput;
  }
  size_t size = value.size();
  if (opts.trim_newline && size > 0 && value.data()[size - 1] == '\n') {
    --size;
    if (size > 0 && value.data()[size - 1] == '\r') --size;
  }
  if (size == 0) {
    std::cerr << "fnjail: the value is empty; nothing was stored\n";
    return kExitBadInput;
  }

  StoreLock lock;
  if (!lock.Acquire(opts.store)) return kExitFailed;
  auto store = crypto::SecretStore::Load(opts.store);
  if (!store) {
    std::cerr << "fnjail: " << store.error().message() << '\n';
    return kExitBadInput;
  }
  // Security: one store, one master key. A typo'd key file would otherwise leave entries
  // that the gateway cannot decrypt next to ones it can.
  auto matches = store->CheckMasterKey(master->view());
  if (!matches) {
    std::cerr << "fnjail: " << matches.error().message() << '\n';
    return kExitFailed;
  }
  auto set = store->Set(master->view(), opts.function, opts.name, value.view().first(size));
  if (!set) {
    std::cerr << "fnjail: " << set.error().message() << '\n';
    return kExitBadInput;
  }
  auto saved = store->Save(opts.store);
  if (!saved) {
    std::cerr << "fnjail: " << saved.error().message() << '\n';
    return kExitFailed;
  }
  std::cerr << "fnjail: stored secret `" << opts.name << "` of `" << opts.function << "` ("
            << size << " bytes)\n";
  return kExitOk;
}

int RunSecretsList(SecretsOptions opts) {
  if (!ResolvePaths(opts, /*need_master_key=*/false)) return kExitBadInput;
  auto store = crypto::SecretStore::Load(opts.store);
  if (!store) {
    std::cerr << "fnjail: " << store.error().message() << '\n';
    return kExitBadInput;
  }
  for (const auto& [function, name] : store->List()) {
    if (!opts.function.empty() && function != opts.function) continue;
    nlohmann::ordered_json line;
    line["function"] = function;
    line["name"] = name;
    std::cout << line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace)
              << '\n';
  }
  return kExitOk;
}

int RunSecretsRemove(SecretsOptions opts) {
  if (!ResolvePaths(opts, /*need_master_key=*/false)) return kExitBadInput;
  StoreLock lock;
  if (!lock.Acquire(opts.store)) return kExitFailed;
  auto store = crypto::SecretStore::Load(opts.store);
  if (!store) {
    std::cerr << "fnjail: " << store.error().message() << '\n';
    return kExitBadInput;
  }
  auto removed = store->Remove(opts.function, opts.name);
  if (!removed) {
    std::cerr << "fnjail: " << removed.error().message() << '\n';
    return kExitFailed;
  }
  auto saved = store->Save(opts.store);
  if (!saved) {
    std::cerr << "fnjail: " << saved.error().message() << '\n';
    return kExitFailed;
  }
  std::cerr << "fnjail: removed secret `" << opts.name << "` of `" << opts.function << "`\n";
  return kExitOk;
}

void AddStoreOptions(CLI::App* cmd, SecretsOptions* opts) {
  cmd->add_option("--config", opts->config,
                  "Gateway configuration; its [secrets] section names the store and master key");
  cmd->add_option("--store", opts->store,
                  "The secret store file (overrides [secrets] store; created when missing)");
}

}  // namespace

void RegisterSecretsCommands(CLI::App& app, Runner* run) {
  auto* group = app.add_subcommand("secrets", "Store, list and remove function secrets");
  group->require_subcommand(1);
  group->footer(
      "Secrets are encrypted at rest with AES-256-GCM under a 32-byte master key, read from\n"
      "a file that group and others cannot access (refused otherwise), with the function\n"
      "and secret names as associated data. The store (JSON, mode 0600) holds only\n"
      "ciphertexts; the gateway decrypts a function's secrets only to hand them to its\n"
      "jail. Make a master key with\n"
      "  (umask 077; head -c 32 /dev/urandom > master.key)\n"
      "See docs/secrets.md.");

  auto set = std::make_shared<SecretsOptions>();
  auto* set_cmd = group->add_subcommand(
      "set",
      "Encrypt a secret value for a function and store it.\n\n"
      "Reads the value from stdin (or --from-file), never from the command line, where\n"
      "other users could see it in the process list and it would land in shell history.\n"
      "The bytes are stored exactly as read (at most 64 KiB, not empty); --trim-newline\n"
      "drops one trailing newline. Replaces an existing value of the same name. The\n"
      "master key must decrypt every secret already in the store, so one store never\n"
      "holds two keys' entries.");
  AddStoreOptions(set_cmd, set.get());
  set_cmd->add_option("--master-key", set->master_key,
                      "Master key file: exactly 32 bytes, mode 0600 or stricter (overrides "
                      "[secrets] master_key)");
  set_cmd->add_option("--function", set->function, "The function the secret belongs to")
      ->required();
  set_cmd->add_option("--from-file", set->from_file, "Read the value from this file");
  set_cmd->add_flag("--trim-newline", set->trim_newline,
                    "Drop one trailing newline (\\n or \\r\\n) from the value");
  set_cmd->add_option("NAME", set->name, "The secret's name, as the function file lists it")
      ->required();
  set_cmd->footer(
      "Exit status: 0 when stored, 1 when the master key does not match the store or the\n"
      "store cannot be written, 2 on bad usage, a master key file with loose permissions\n"
      "or the wrong size, an unreadable store, or an empty or oversized value.\n"
      "Example: printf %s \"$DB_PASSWORD\" | fnjail secrets set --config /etc/fnjail/fnjail.toml \\\n"
      "           --function resize DB_PASSWORD");
  set_cmd->callback([run, set] { *run = [set] { return RunSecretsSet(*set); }; });

  auto list = std::make_shared<SecretsOptions>();
  auto* list_cmd = group->add_subcommand(
      "list",
      "List the stored secrets' names as JSON lines.\n\n"
      "Prints {\"function\", \"name\"} per secret, sorted. Values are never printed and no\n"
      "master key is needed.");
  AddStoreOptions(list_cmd, list.get());
  list_cmd->add_option("--function", list->function, "Only this function's secrets");
  list_cmd->footer(
      "Exit status: 0 on success, 2 on bad usage or an unreadable store.\n"
      "Example: fnjail secrets list --store /etc/fnjail/secrets.json --function resize");
  list_cmd->callback([run, list] { *run = [list] { return RunSecretsList(*list); }; });

  auto rm = std::make_shared<SecretsOptions>();
  auto* rm_cmd = group->add_subcommand(
      "rm", "Remove a function's secret from the store.\n\nNo master key is needed.");
  AddStoreOptions(rm_cmd, rm.get());
  rm_cmd->add_option("--function", rm->function, "The function the secret belongs to")
      ->required();
  rm_cmd->add_option("NAME", rm->name, "The secret's name")->required();
  rm_cmd->footer(
      "Exit status: 0 when removed, 1 when there is no such secret or the store cannot be\n"
      "written, 2 on bad usage or an unreadable store.\n"
      "Example: fnjail secrets rm --store /etc/fnjail/secrets.json --function resize "
      "DB_PASSWORD");
  rm_cmd->callback([run, rm] { *run = [rm] { return RunSecretsRemove(*rm); }; });
}

}  // namespace fnjail::cli
