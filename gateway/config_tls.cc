// The TLS part of checking a configuration: the certificate and key load and match.
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "gateway/config.h"

namespace fnjail::gateway {
namespace {

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};

// The oldest queued OpenSSL error as text, and the queue cleared.
std::string TakeOpenSslError() {
  const unsigned long code = ERR_peek_error();
  char text[256] = "unknown error";
  if (code != 0) ERR_error_string_n(code, text, sizeof text);
  ERR_clear_error();
  return text;
}

// An encrypted key would make OpenSSL prompt on the terminal: refuse instead.
int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*userdata*/) { return -1; }

}  // namespace

tl::expected<void, std::string> CheckTlsKeyPair(const std::string& certificate,
                                                const std::string& key) {
  ERR_clear_error();
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return tl::unexpected("cannot create a TLS context: " + TakeOpenSslError());
  SSL_CTX_set_default_passwd_cb(ctx.get(), NoPassphrase);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), certificate.c_str()) != 1) {
    return tl::unexpected("TLS certificate `" + certificate +
                          "` does not load: " + TakeOpenSslError());
  }
  std::unique_ptr<BIO, BioFree> bio(BIO_new_file(key.c_str(), "r"));
  std::unique_ptr<EVP_PKEY, PkeyFree> pkey(
      bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr) : nullptr);
  if (!pkey) {
    return tl::unexpected("TLS key `" + key +
                          "` does not load (an unencrypted PEM key is needed): " +
                          TakeOpenSslError());
  }
  if (SSL_CTX_use_PrivateKey(ctx.get(), pkey.get()) != 1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1) {
    ERR_clear_error();
    return tl::unexpected("TLS key `" + key + "` does not belong to certificate `" +
                          certificate + "`");
  }
  return {};
}

}  // namespace fnjail::gateway
