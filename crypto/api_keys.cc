// API keys: generation, the peppered hash store and authentication.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "crypto/internal/json.h"
#include "crypto/internal/private_file.h"

namespace fnjail::crypto {
namespace {

constexpr const char* kOp = "api keys";
constexpr std::string_view kPrefix = "fnjk_";
constexpr size_t kIdHexSize = 12;
constexpr size_t kSecretBytes = 32;
constexpr size_t kMaxStoreBytes = 16 << 20;

Result<std::string> KeyHash(ByteView pepper, std::string_view key) {
  if (pepper.size() < 32) return Fail(kOp, "the pepper must be at least 32 bytes");
  auto mac = HmacSha256(pepper, AsBytes(key));
  if (!mac) return tl::unexpected(mac.error());
  return ToHex(*mac);
}

}  // namespace

Result<SecretBytes> LoadPepperFile(const std::string& path) {
  return internal::ReadPrivateFile(path, 32, 4096, kOp);
}

Result<std::string> ApiKeyId(std::string_view key) {
  if (key.substr(0, kPrefix.size()) != kPrefix) return Fail(kOp, "not an fnjail API key");
  std::string_view rest = key.substr(kPrefix.size());
  if (rest.size() != kIdHexSize + 1 + 43 || rest[kIdHexSize] != '_') {
    return Fail(kOp, "not an fnjail API key");
  }
  std::string id(rest.substr(0, kIdHexSize));
  if (!FromHex(id) || ToHex(*FromHex(id)) != id) return Fail(kOp, "not an fnjail API key");
  auto secret = Base64UrlDecode(rest.substr(kIdHexSize + 1));
  if (!secret || secret->size() != kSecretBytes) return Fail(kOp, "not an fnjail API key");
  return id;
}

Result<ApiKeyStore> ApiKeyStore::Load(const std::string& path) {
  ApiKeyStore store;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) return store;
  auto text = ReadFileLimited(path, kMaxStoreBytes);
  if (!text) return tl::unexpected(text.error());
  auto doc = internal::ParseStrictJson(*text, 4, kOp);
  if (!doc) return Fail(kOp, "`" + path + "`: " + doc.error().message());
  auto keys = doc->find("keys");
  if (!doc->is_object() || keys == doc->end() || !keys->is_array()) {
    return Fail(kOp, "`" + path + "`: no `keys` array");
  }
  for (const auto& k : *keys) {
    ApiKeyInfo info;
    if (!k.is_object() || !k.contains("id") || !k["id"].is_string() || !k.contains("hash") ||
        !k["hash"].is_string() || !k.contains("name") || !k["name"].is_string() ||
        !k.contains("created") || !k["created"].is_number_integer() || !k.contains("revoked") ||
        !k["revoked"].is_boolean()) {
      return Fail(kOp, "`" + path + "`: a key entry lacks id, name, hash, created or revoked");
    }
    info.id = k["id"];
    info.name = k["name"];
    info.hash = k["hash"];
    info.created_at = k["created"];
    info.revoked = k["revoked"];
    store.keys_.push_back(std::move(info));
  }
  return store;
}

Result<void> ApiKeyStore::Save(const std::string& path) const {
  nlohmann::ordered_json doc;
  doc["keys"] = nlohmann::ordered_json::array();
  for (const auto& k : keys_) {
    doc["keys"].push_back({{"id", k.id},
                           {"name", k.name},
                           {"created", k.created_at},
                           {"revoked", k.revoked},
                           {"hash", k.hash}});
  }
  std::string text = doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  text += '\n';
  return internal::WriteFileAtomically(path, text, kOp);
}

Result<NewApiKey> ApiKeyStore::Create(ByteView pepper, const std::string& name,
                                      int64_t now_unix) {
  NewApiKey out;
  // Ids are random too: retry on the (unlikely) collision with an existing one.
  for (int attempt = 0; attempt < 8 && out.info.id.empty(); ++attempt) {
    auto id = RandomBytes(kIdHexSize / 2);
    if (!id) return tl::unexpected(id.error());
    std::string hex = ToHex(*id);
    bool taken = std::any_of(keys_.begin(), keys_.end(),
                             [&](const ApiKeyInfo& k) { return k.id == hex; });
    if (!taken) out.info.id = hex;
  }
  if (out.info.id.empty()) return Fail(kOp, "cannot find a free key id");
  SecretBytes secret(kSecretBytes);
  auto filled = FillRandom(secret.span());
  if (!filled) return tl::unexpected(filled.error());
  out.key = std::string(kPrefix) + out.info.id + "_" + Base64UrlEncode(secret.view());
  auto hash = KeyHash(pepper, out.key);
  if (!hash) return tl::unexpected(hash.error());
  out.info.name = name;
  out.info.created_at = now_unix;
  out.info.hash = *hash;
  keys_.push_back(out.info);
  return out;
}

Result<void> ApiKeyStore::Revoke(const std::string& id) {
  for (auto& k : keys_) {
    if (k.id == id) {
      k.revoked = true;
      return {};
    }
  }
  return Fail(kOp, "no key `" + id + "`");
}

Result<ApiKeyInfo> ApiKeyStore::Authenticate(std::string_view key, ByteView pepper) const {
  auto id = ApiKeyId(key);
  if (!id) return Fail(kOp, "invalid API key");
  auto hash = KeyHash(pepper, key);
  if (!hash) return tl::unexpected(hash.error());
  for (const auto& k : keys_) {
    if (k.id != *id) continue;
    if (!ConstantTimeEqual(AsBytes(k.hash), AsBytes(*hash)) || k.revoked) break;
    return k;
  }
  return Fail(kOp, "invalid API key");
}

}  // namespace fnjail::crypto
