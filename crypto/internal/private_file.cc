// Private files: permission-checked reads and atomic writes.
#include "crypto/internal/private_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "crypto/internal/unique_fd.h"

namespace fnjail::crypto::internal {

Result<SecretBytes> ReadPrivateFile(const std::string& path, size_t min_bytes,
                                    size_t max_bytes, const std::string& operation) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return Fail(operation, "cannot open `" + path + "`: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Fail(operation, "`" + path + "` is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    return Fail(operation, "`" + path + "` is accessible by group or others (chmod 600)");
  }
  if (st.st_size < 0 || static_cast<size_t>(st.st_size) < min_bytes ||
      static_cast<size_t>(st.st_size) > max_bytes) {
    std::string size = min_bytes == max_bytes
                           ? "exactly " + std::to_string(min_bytes)
                           : std::to_string(min_bytes) + " to " + std::to_string(max_bytes);
    return Fail(operation, "`" + path + "` must hold " + size + " bytes");
  }
  SecretBytes out(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::read(fd.get(), out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Fail(operation, "cannot read `" + path + "`");
    done += static_cast<size_t>(n);
  }
  return out;
}

Result<void> WriteFileAtomically(const std::string& path, std::string_view text,
                                 const std::string& operation) {
  std::string tmp = path + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    return Fail(operation, "cannot write `" + tmp + "`: " + std::strerror(errno));
  }
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Fail(operation, "cannot write `" + tmp + "`: " + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return Fail(operation, "cannot sync `" + tmp + "`");
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return Fail(operation, "cannot replace `" + path + "`: " + std::strerror(errno));
  }
  return {};
}

}  // namespace fnjail::crypto::internal
