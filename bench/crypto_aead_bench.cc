// AEAD throughput: crypto::Aead (what the record channel seals with) against raw EVP
// AES-256-GCM doing the same work in the same run, at 64 B, 1 KiB and 16 KiB records.
#include <openssl/evp.h>

#include <cstdlib>
#include <vector>

#include <benchmark/benchmark.h>

#include "crypto/crypto.h"
#include "crypto/internal/handles.h"

namespace {

using fnjail::crypto::Aead;
using fnjail::crypto::AeadAlgorithm;
using fnjail::crypto::Bytes;

// A per-record nonce from a counter, as the channel builds it.
void CounterNonce(uint64_t counter, uint8_t nonce[12]) {
  for (int i = 0; i < 4; ++i) nonce[i] = 0;
  for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<uint8_t>(counter >> (8 * i));
}

void SealWith(benchmark::State& state, AeadAlgorithm alg) {
  const auto size = static_cast<size_t>(state.range(0));
  auto aead = Aead::Create(alg, Bytes(32, 7));
  if (!aead) {
    state.SkipWithError("cannot create the AEAD");
    return;
  }
  Bytes plaintext(size, 0x5a);
  Bytes out(size + Aead::kTagSize);
  uint8_t aad[16] = {};
  uint8_t nonce[12];
  uint64_t counter = 0;
  for (auto _ : state) {
    CounterNonce(counter++, nonce);
    auto sealed = aead->Seal(fnjail::crypto::ByteView(nonce, 12), aad, plaintext, out);
    if (!sealed) state.SkipWithError("seal failed");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}

void BM_AeadSeal(benchmark::State& state) { SealWith(state, AeadAlgorithm::kAes256Gcm); }
void BM_AeadSealChaCha(benchmark::State& state) {
  SealWith(state, AeadAlgorithm::kChaCha20Poly1305);
}

void BM_AeadOpen(benchmark::State& state) {
  const auto size = static_cast<size_t>(state.range(0));
  auto aead = Aead::Create(AeadAlgorithm::kAes256Gcm, Bytes(32, 7));
  Bytes plaintext(size, 0x5a);
  Bytes sealed(size + Aead::kTagSize);
  uint8_t aad[16] = {};
  uint8_t nonce[12];
  CounterNonce(1, nonce);
  if (!aead || !aead->Seal(fnjail::crypto::ByteView(nonce, 12), aad, plaintext, sealed)) {
    state.SkipWithError("setup failed");
    return;
  }
  Bytes out(size);
  for (auto _ : state) {
    if (!aead->Open(fnjail::crypto::ByteView(nonce, 12), aad, sealed, out)) {
      state.SkipWithError("open failed");
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}

// The baseline: EVP AES-256-GCM with a context keyed once, as `openssl speed -evp` does.
void BM_RawEvpAesGcmSeal(benchmark::State& state) {
  const auto size = static_cast<size_t>(state.range(0));
  fnjail::crypto::internal::CipherCtxPtr owned(EVP_CIPHER_CTX_new());
  EVP_CIPHER_CTX* ctx = owned.get();
  Bytes key(32, 7);
  Bytes plaintext(size, 0x5a);
  Bytes out(size + 16);
  uint8_t aad[16] = {};
  uint8_t nonce[12];
  uint64_t counter = 0;
  EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key.data(), nullptr);
  for (auto _ : state) {
    int len = 0;
    CounterNonce(counter++, nonce);
    EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce);
    EVP_EncryptUpdate(ctx, nullptr, &len, aad, sizeof(aad));
    EVP_EncryptUpdate(ctx, out.data(), &len, plaintext.data(), static_cast<int>(size));
    EVP_EncryptFinal_ex(ctx, out.data() + len, &len);
    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, out.data() + size);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}

BENCHMARK(BM_AeadSeal)->Arg(64)->Arg(1024)->Arg(16384);
BENCHMARK(BM_RawEvpAesGcmSeal)->Arg(64)->Arg(1024)->Arg(16384);
BENCHMARK(BM_AeadOpen)->Arg(64)->Arg(1024)->Arg(16384);
BENCHMARK(BM_AeadSealChaCha)->Arg(64)->Arg(1024)->Arg(16384);

}  // namespace

BENCHMARK_MAIN();
