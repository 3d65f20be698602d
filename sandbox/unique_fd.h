// UniqueFd: the sole owner of a file descriptor.
#pragma once

#include <utility>

namespace fnjail::sandbox {

// Move-only owner of a file descriptor; closes it on destruction. A negative value means
// "no descriptor". close() is called once and never retried on EINTR (on Linux the
// descriptor is released even when close reports EINTR, so a retry could close a
// descriptor another thread just opened).
// Thread-safety: like a plain int; one owner at a time.
class UniqueFd {
 public:
  UniqueFd() noexcept = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  explicit operator bool() const noexcept { return valid(); }

  // Gives up ownership and returns the descriptor (-1 when empty).
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }

  // Closes the owned descriptor (if any) and takes ownership of `fd`.
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

}  // namespace fnjail::sandbox
