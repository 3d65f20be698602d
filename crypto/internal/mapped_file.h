// A read-only memory map of a whole file, unmapped on destruction.
#pragma once

#include <sys/mman.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "crypto/crypto.h"

namespace fnjail::crypto::internal {

class MappedFile {
 public:
  // Maps the first `size` bytes of `fd` (an empty mapping for size 0).
  static Result<MappedFile> Map(int fd, size_t size, const std::string& path) {
    MappedFile m;
    if (size == 0) return m;
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      return Fail("map file", "cannot map `" + path + "`: " + std::strerror(errno));
    }
    m.data_ = static_cast<const uint8_t*>(p);
    m.size_ = size;
    return m;
  }
  MappedFile() = default;
  MappedFile(MappedFile&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  MappedFile& operator=(MappedFile&& o) noexcept {
    if (this != &o) {
      Unmap();
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() { Unmap(); }

  ByteView view() const noexcept { return {data_, size_}; }

 private:
  void Unmap() noexcept {
    if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
    data_ = nullptr;
  }
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace fnjail::crypto::internal
