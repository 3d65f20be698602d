// UniqueFd implementation.
#include "sandbox/unique_fd.h"

#include <unistd.h>

namespace fnjail::sandbox {

void UniqueFd::reset(int fd) noexcept {
  const int old = std::exchange(fd_, fd);
  // INVARIANT: no retry on EINTR; Linux has already released the number (see header).
  if (old >= 0) ::close(old);
}

}  // namespace fnjail::sandbox
