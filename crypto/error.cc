// crypto::Error rendering and the OpenSSL error-queue drain.
#include <ostream>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "crypto/crypto.h"
#include "crypto/internal/error.h"
#include "crypto/internal/handles.h"

namespace fnjail::crypto {

std::string Error::ToString() const {
  std::string out = operation_ + ": " + message_;
  if (!openssl_.empty()) {
    out += " (openssl: ";
    for (size_t i = 0; i < openssl_.size(); ++i) {
      if (i > 0) out += "; ";
      out += openssl_[i];
    }
    out += ")";
  }
  return out;
}

std::ostream& operator<<(std::ostream& os, const Error& e) { return os << e.ToString(); }

namespace internal {

void FreeOpenSslBuffer(void* p) noexcept { OPENSSL_free(p); }

std::vector<std::string> DrainOpenSslErrors() {
  std::vector<std::string> out;
  // Bounded: the queue holds at most ERR_NUM_ERRORS entries, but never trust a loop
  // over external state to end by itself.
  for (int i = 0; i < 64; ++i) {
    const char* data = nullptr;
    int flags = 0;
    unsigned long code = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags);
    if (code == 0) break;
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    std::string entry(buf);
    if (data != nullptr && (flags & ERR_TXT_STRING) != 0 && *data != '\0') {
      entry += " [";
      entry += data;
      entry += "]";
    }
    out.push_back(std::move(entry));
  }
  ERR_clear_error();
  return out;
}

Error OpenSslError(std::string operation, std::string message) {
  return Error(std::move(operation), std::move(message), DrainOpenSslErrors());
}

}  // namespace internal
}  // namespace fnjail::crypto
