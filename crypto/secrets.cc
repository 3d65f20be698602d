// Function secrets encrypted at rest with AES-256-GCM, names bound as associated data.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "crypto/internal/json.h"
#include "crypto/internal/private_file.h"

namespace fnjail::crypto {
namespace {

constexpr const char* kOp = "secrets";
constexpr size_t kMaxNameBytes = 128;

Result<void> CheckName(const std::string& what, const std::string& value) {
  if (value.empty() || value.size() > kMaxNameBytes ||
      value.find('\0') != std::string::npos) {
    return Fail(kOp, what + " must be 1 to 128 bytes without NUL");
  }
  return {};
}

// "fnjail-secret-v1" NUL function NUL name: unambiguous since names hold no NUL.
Bytes AssociatedData(const std::string& function, const std::string& name) {
  std::string aad = "fnjail-secret-v1";
  aad.push_back('\0');
  aad += function;
  aad.push_back('\0');
  aad += name;
  return Bytes(aad.begin(), aad.end());
}

}  // namespace

Result<SecretBytes> LoadMasterKeyFile(const std::string& path) {
  return internal::ReadPrivateFile(path, Aead::kKeySize, Aead::kKeySize, "master key");
}

Result<SecretStore> SecretStore::Load(const std::string& path) {
  SecretStore store;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) return store;
  auto text = ReadFileLimited(path, 64 << 20);
  if (!text) return tl::unexpected(text.error());
  auto doc = internal::ParseStrictJson(*text, 4, kOp);
  if (!doc) return Fail(kOp, "`" + path + "`: " + doc.error().message());
  auto list = doc->find("secrets");
  if (!doc->is_object() || list == doc->end() || !list->is_array()) {
    return Fail(kOp, "`" + path + "`: no `secrets` array");
  }
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& e : *list) {
    auto str = [&](const char* key) -> std::optional<std::string> {
      if (!e.is_object() || !e.contains(key) || !e[key].is_string()) return std::nullopt;
      return e[key].get<std::string>();
    };
    auto function = str("function");
    auto name = str("name");
    auto nonce = str("nonce");
    auto sealed = str("ciphertext");
    auto nonce_bytes = nonce ? Base64UrlDecode(*nonce) : Result<Bytes>(Fail(kOp, ""));
    auto sealed_bytes = sealed ? Base64UrlDecode(*sealed) : Result<Bytes>(Fail(kOp, ""));
    if (!function || !name || !nonce_bytes || !sealed_bytes ||
        nonce_bytes->size() != Aead::kNonceSize || sealed_bytes->size() < Aead::kTagSize) {
      return Fail(kOp, "`" + path + "`: a malformed entry");
    }
    if (!seen.emplace(*function, *name).second) {
      return Fail(kOp, "`" + path + "`: secret `" + *name + "` of `" + *function +
                           "` appears twice");
    }
    store.entries_.push_back({*function, *name, std::move(*nonce_bytes), std::move(*sealed_bytes)});
  }
  return store;
}

Result<void> SecretStore::Save(const std::string& path) const {
  nlohmann::ordered_json doc;
  doc["secrets"] = nlohmann::ordered_json::array();
  for (const auto& e : entries_) {
    doc["secrets"].push_back({{"function", e.function},
                              {"name", e.name},
                              {"nonce", Base64UrlEncode(e.nonce)},
                              {"ciphertext", Base64UrlEncode(e.sealed)}});
  }
  std::string text = doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  text += '\n';
  return internal::WriteFileAtomically(path, text, kOp);
}

Result<void> SecretStore::Set(ByteView master_key, const std::string& function,
                              const std::string& name, ByteView value) {
  for (auto check : {CheckName("the function name", function), CheckName("the secret name", name)}) {
    if (!check) return check;
  }
  if (value.size() > kMaxValueBytes) return Fail(kOp, "secret values are at most 64 KiB");
  auto aead = Aead::Create(AeadAlgorithm::kAes256Gcm, master_key);
  if (!aead) return tl::unexpected(aead.error());
  // A random 96-bit nonce per encryption: far below the 2^32 encryptions per key at
  // which random GCM nonces would need a counter instead.
  auto nonce = RandomBytes(Aead::kNonceSize);
  if (!nonce) return tl::unexpected(nonce.error());
  Bytes sealed(value.size() + Aead::kTagSize);
  auto ok = aead->Seal(*nonce, AssociatedData(function, name), value, sealed);
  if (!ok) return ok;
  (void)Remove(function, name);
  entries_.push_back({function, name, std::move(*nonce), std::move(sealed)});
  return {};
}

Result<SecretBytes> SecretStore::Get(ByteView master_key, const std::string& function,
                                     const std::string& name) const {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) {
    return e.function == function && e.name == name;
  });
  if (it == entries_.end()) return Fail(kOp, "no secret `" + name + "` for `" + function + "`");
  auto aead = Aead::Create(AeadAlgorithm::kAes256Gcm, master_key);
  if (!aead) return tl::unexpected(aead.error());
  SecretBytes value(it->sealed.size() - Aead::kTagSize);
  auto opened = aead->Open(it->nonce, AssociatedData(function, name), it->sealed, value.span());
  if (!opened) {
    return Fail(kOp, "secret `" + name + "` for `" + function +
                         "` does not decrypt (wrong master key, or the entry was altered)");
  }
  return value;
}

Result<void> SecretStore::Remove(const std::string& function, const std::string& name) {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) {
    return e.function == function && e.name == name;
  });
  if (it == entries_.end()) return Fail(kOp, "no secret `" + name + "` for `" + function + "`");
  entries_.erase(it);
  return {};
}

std::vector<std::pair<std::string, std::string>> SecretStore::List() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& e : entries_) out.emplace_back(e.function, e.name);
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<std::pair<std::string, SecretBytes>>> SecretStore::Reveal(
    ByteView master_key, const std::string& function) const {
  std::vector<std::string> names;
  for (const auto& e : entries_) {
    if (e.function == function) names.push_back(e.name);
  }
  std::sort(names.begin(), names.end());
  return Reveal(master_key, function, names);
}

Result<std::vector<std::pair<std::string, SecretBytes>>> SecretStore::Reveal(
    ByteView master_key, const std::string& function,
    const std::vector<std::string>& names) const {
  std::vector<std::pair<std::string, SecretBytes>> out;
  out.reserve(names.size());
  for (const auto& name : names) {
    auto value = Get(master_key, function, name);
    if (!value) return tl::unexpected(value.error());  // `out` wipes what it holds
    out.emplace_back(name, std::move(*value));
  }
  return out;
}

Result<void> SecretStore::CheckMasterKey(ByteView master_key) const {
  for (const auto& e : entries_) {
    auto value = Get(master_key, e.function, e.name);
    if (!value) {
      return Fail(kOp, "the master key does not decrypt secret `" + e.name + "` of `" +
                           e.function + "`: a different key, or an altered store");
    }
  }
  return {};
}

}  // namespace fnjail::crypto
