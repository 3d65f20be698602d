// Tests for crypto/error.cc: rendering and draining the OpenSSL error queue.
#include <openssl/err.h>
#include <openssl/evp.h>

#include <sstream>

#include <gtest/gtest.h>

#include "crypto/crypto.h"
#include "crypto/internal/error.h"

namespace fnjail::crypto {
namespace {

TEST(ErrorTest, RendersOperationAndMessage) {
  Error e("aead open", "authentication failed");
  EXPECT_EQ(e.ToString(), "aead open: authentication failed");
  std::ostringstream os;
  os << e;
  EXPECT_EQ(os.str(), e.ToString());
}

TEST(ErrorTest, RendersOpenSslEntries) {
  Error e("op", "msg", {"first", "second"});
  EXPECT_EQ(e.ToString(), "op: msg (openssl: first; second)");
}

TEST(ErrorTest, OpenSslErrorDrainsTheQueue) {
  // Provoke a real OpenSSL failure: fetching an algorithm that does not exist.
  EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "no-such-cipher", nullptr);
  ASSERT_EQ(c, nullptr);
  ASSERT_NE(ERR_peek_error(), 0u);
  Error e = internal::OpenSslError("fetch", "no cipher");
  EXPECT_FALSE(e.openssl_errors().empty());
  EXPECT_NE(e.ToString().find("(openssl: "), std::string::npos);
  EXPECT_EQ(ERR_peek_error(), 0u) << "the queue must be empty after draining";
}

}  // namespace
}  // namespace fnjail::crypto
