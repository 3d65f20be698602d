// Policy files from disk: reading with a size cap, choosing the front end, expanding folders.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "policy/policy.h"

namespace fnjail::policy {
namespace {

// Closes the descriptor when the read is over, whichever way it ends.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string ErrnoText(int error) {
  return std::error_code(error, std::generic_category()).message();
}

tl::unexpected<Diagnostics> CannotRead(const std::string& path, int error) {
  return Fail(SourceSpan{path, 0, 0}, "cannot read file: " + ErrnoText(error));
}

bool HasPolicyExtension(const std::filesystem::path& path) {
  const std::string extension = path.extension().string();
  return extension == ".toml" || extension == ".json";
}

// Reads a whole regular file of at most kMaxPolicyFileBytes.
Result<std::string> ReadPolicyFile(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not hang; it is refused below as not a regular file.
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) return CannotRead(path, errno);
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) return CannotRead(path, errno);
  if (S_ISDIR(info.st_mode)) return CannotRead(path, EISDIR);
  if (!S_ISREG(info.st_mode)) {
    return Fail(SourceSpan{path, 0, 0}, "cannot read file: not a regular file");
  }
  const auto too_large = [&path] {
    return Fail(SourceSpan{path, 0, 0},
                "policy file is larger than " + std::to_string(kMaxPolicyFileBytes) + " bytes");
  };
  if (static_cast<uint64_t>(info.st_size) > kMaxPolicyFileBytes) return too_large();
  // Reads to the end rather than trusting st_size (the file may change meanwhile), and
  // stops as soon as it is past the cap.
  std::string text;
  text.reserve(static_cast<size_t>(info.st_size));
  char chunk[64 * 1024];
  while (text.size() <= kMaxPolicyFileBytes) {
    const ssize_t n = ::read(fd.get(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return CannotRead(path, errno);
    if (n == 0) break;
    text.append(chunk, static_cast<size_t>(n));
  }
  if (text.size() > kMaxPolicyFileBytes) return too_large();
  return text;
}

}  // namespace

Result<Document> LoadFile(const std::string& path) {
  const std::string extension = std::filesystem::path(path).extension().string();
  if (extension != ".toml" && extension != ".json") {
    return Fail(SourceSpan{path, 0, 0}, "unknown policy file type `" + extension + "`",
                "policy files end in `.toml` (native) or `.json` (AWS IAM)");
  }
  auto text = ReadPolicyFile(path);
  if (!text) return Fail(std::move(text.error()));
  return extension == ".toml" ? ParseToml(*text, path) : ParseIamJson(*text, path);
}

Result<std::vector<std::string>> ExpandPaths(const std::vector<std::string>& paths) {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  Diagnostics diagnostics;
  for (const std::string& path : paths) {
    std::error_code error;
    const fs::file_status status = fs::status(path, error);
    if (error || !fs::exists(status)) {
      diagnostics.Error(SourceSpan{path, 0, 0},
                        "cannot read file: " + (error ? error.message() : ErrnoText(ENOENT)));
      continue;
    }
    if (!fs::is_directory(status)) {
      // A file named explicitly is kept whatever its extension: LoadFile says why it
      // cannot load it, rather than the file being skipped without a word.
      out.push_back(path);
      continue;
    }
    std::vector<std::string> found;
    fs::recursive_directory_iterator it(path, fs::directory_options::none, error);
    for (; !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
      const fs::path& entry = it->path();
      std::error_code entry_error;
      const bool is_directory = it->is_directory(entry_error);
      // Hidden files and folders (`.git`, editor lock files) are not policies.
      if (entry.filename().string().starts_with(".")) {
        if (is_directory) it.disable_recursion_pending();
        continue;
      }
      // A dangling link with a policy name is kept, so LoadFile reports it.
      if (!is_directory && HasPolicyExtension(entry)) found.push_back(entry.string());
    }
    if (error) {
      diagnostics.Error(SourceSpan{path, 0, 0}, "cannot read folder: " + error.message());
      continue;
    }
    std::sort(found.begin(), found.end());
    out.insert(out.end(), found.begin(), found.end());
  }
  if (!diagnostics.empty()) return Fail(std::move(diagnostics));
  return out;
}

}  // namespace fnjail::policy
