// Tests for crypto/api_keys.cc: key format, peppered storage, revocation, pepper file checks.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "crypto/crypto.h"
#include "tests/crypto/audit_test_util.h"
#include "tests/testing/result_matchers.h"

namespace fnjail::crypto {
namespace {

using ::fnjail::testing::HasError;
using ::fnjail::testing::IsOk;
using testing::TempDir;

const Bytes kPepper(32, 0x70);

TEST(ApiKeysTest, CreatedKeyAuthenticatesAndIsStoredOnlyHashed) {
  TempDir dir;
  std::string path = dir.File("keys.json");
  auto store = ApiKeyStore::Load(path);
  ASSERT_THAT(store, IsOk());
  EXPECT_TRUE(store->keys().empty());
  auto created = store->Create(kPepper, "ci deploy", 1800000000);
  ASSERT_THAT(created, IsOk());
  EXPECT_EQ(created->key.rfind("fnjk_" + created->info.id + "_", 0), 0u);
  EXPECT_EQ(created->key.size(), 5u + 12u + 1u + 43u);
  ASSERT_THAT(store->Save(path), IsOk());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string text = *ReadFileLimited(path, 1 << 20);
  std::string secret_part = created->key.substr(18);
  EXPECT_EQ(text.find(secret_part), std::string::npos) << "the secret must not be stored";
  EXPECT_NE(text.find("ci deploy"), std::string::npos);

  auto loaded = ApiKeyStore::Load(path);
  ASSERT_THAT(loaded, IsOk());
  auto who = loaded->Authenticate(created->key, kPepper);
  ASSERT_THAT(who, IsOk());
  EXPECT_EQ(who->name, "ci deploy");
  EXPECT_EQ(who->created_at, 1800000000);
}

TEST(ApiKeysTest, WrongSecretPepperOrFormatFails) {
  ApiKeyStore store;
  auto created = store.Create(kPepper, "k", 1);
  ASSERT_THAT(created, IsOk());
  std::string wrong = created->key;
  wrong.back() = wrong.back() == 'A' ? 'E' : 'A';
  EXPECT_THAT(store.Authenticate(wrong, kPepper), HasError("invalid API key"));
  EXPECT_THAT(store.Authenticate(created->key, Bytes(32, 0x71)), HasError("invalid API key"));
  EXPECT_THAT(store.Authenticate("fnjk_nothex", kPepper), HasError("invalid API key"));
  EXPECT_THAT(store.Authenticate("", kPepper), HasError("invalid API key"));
  EXPECT_THAT(store.Create(Bytes(16, 1), "short pepper", 1), HasError("at least 32 bytes"));
  EXPECT_THAT(ApiKeyId(created->key), IsOk());
  EXPECT_THAT(ApiKeyId("fnjk_" + std::string(12, 'g') + "_" + std::string(43, 'A')),
              HasError("not an fnjail API key"));
}

TEST(ApiKeysTest, RevokedKeysFail) {
  ApiKeyStore store;
  auto a = store.Create(kPepper, "a", 1);
  auto b = store.Create(kPepper, "b", 2);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_NE(a->info.id, b->info.id);
  ASSERT_THAT(store.Revoke(a->info.id), IsOk());
  EXPECT_THAT(store.Authenticate(a->key, kPepper), HasError("invalid API key"));
  EXPECT_THAT(store.Authenticate(b->key, kPepper), IsOk());
  EXPECT_THAT(store.Revoke("000000000000"), HasError("no key"));
}

TEST(ApiKeysTest, PepperFileMustBePrivate) {
  TempDir dir;
  std::string path = dir.File("pepper");
  {
    std::ofstream out(path, std::ios::binary);
    out << std::string(32, 'p');
  }
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  EXPECT_THAT(LoadPepperFile(path), HasError("accessible by group or others"));
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  auto pepper = LoadPepperFile(path);
  ASSERT_THAT(pepper, IsOk());
  EXPECT_EQ(pepper->size(), 32u);
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << "short";
  }
  EXPECT_THAT(LoadPepperFile(path), HasError("32 to 4096 bytes"));
  EXPECT_THAT(LoadPepperFile(dir.File("missing")), HasError("cannot open"));
}

TEST(ApiKeysTest, MalformedStoreIsRefused) {
  TempDir dir;
  std::string path = dir.File("keys.json");
  std::ofstream(path) << R"({"keys":[{"id":"abc"}]})";
  EXPECT_THAT(ApiKeyStore::Load(path), HasError("lacks id, name, hash"));
  std::ofstream(path) << R"({"keys":[], "keys":[]})";
  EXPECT_THAT(ApiKeyStore::Load(path), HasError("duplicate JSON key"));
}

}  // namespace
}  // namespace fnjail::crypto
