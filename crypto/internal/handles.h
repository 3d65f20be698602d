// RAII handles for OpenSSL objects: every owned pointer is a unique_ptr with FnDeleter.
#pragma once

#include <memory>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/bio.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/params.h>

namespace fnjail::crypto::internal {

// A deleter calling the free function `Fn`; the house style's single pattern for C handles.
template <auto Fn>
struct FnDeleter {
  template <class T>
  void operator()(T* p) const noexcept {
    Fn(p);
  }
};

template <class T, auto Fn>
using Handle = std::unique_ptr<T, FnDeleter<Fn>>;

using CipherCtxPtr = Handle<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>;
using MacPtr = Handle<EVP_MAC, EVP_MAC_free>;
using MacCtxPtr = Handle<EVP_MAC_CTX, EVP_MAC_CTX_free>;
using KdfPtr = Handle<EVP_KDF, EVP_KDF_free>;
using KdfCtxPtr = Handle<EVP_KDF_CTX, EVP_KDF_CTX_free>;
using PkeyPtr = Handle<EVP_PKEY, EVP_PKEY_free>;
using PkeyCtxPtr = Handle<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using MdCtxPtr = Handle<EVP_MD_CTX, EVP_MD_CTX_free>;
using BioPtr = Handle<BIO, BIO_free_all>;
using BignumPtr = Handle<BIGNUM, BN_free>;
using EcdsaSigPtr = Handle<ECDSA_SIG, ECDSA_SIG_free>;
using ParamBldPtr = Handle<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>;
using ParamsPtr = Handle<OSSL_PARAM, OSSL_PARAM_free>;

// OPENSSL_free takes a file and line through a macro; this adapter fits FnDeleter.
void FreeOpenSslBuffer(void* p) noexcept;
using OpenSslBufferPtr = Handle<unsigned char, FreeOpenSslBuffer>;

}  // namespace fnjail::crypto::internal
