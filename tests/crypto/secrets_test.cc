// Tests for crypto/secrets.cc: encryption at rest, names bound as associated data,
// master key file checks.
#include <sys/stat.h>

#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "tests/crypto/audit_test_util.h"
#include "tests/testing/result_matchers.h"

namespace fnjail::crypto {
namespace {

using ::fnjail::testing::HasError;
using ::fnjail::testing::IsOk;
using testing::TempDir;

const Bytes kMaster(32, 0x4d);

TEST(SecretsTest, SetSaveLoadGet) {
  TempDir dir;
  std::string path = dir.File("secrets.json");
  auto store = SecretStore::Load(path);
  ASSERT_THAT(store, IsOk());
  ASSERT_THAT(store->Set(kMaster, "resize", "DB_PASSWORD", AsBytes("hunter2")), IsOk());
  ASSERT_THAT(store->Set(kMaster, "resize", "API_TOKEN", AsBytes("t0k3n")), IsOk());
  ASSERT_THAT(store->Save(path), IsOk());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string text = *ReadFileLimited(path, 1 << 20);
  EXPECT_EQ(text.find("hunter2"), std::string::npos) << "stored in clear";
  auto loaded = SecretStore::Load(path);
  ASSERT_THAT(loaded, IsOk());
  auto value = loaded->Get(kMaster, "resize", "DB_PASSWORD");
  ASSERT_THAT(value, IsOk());
  EXPECT_EQ(AsChars(value->view()), "hunter2");
  EXPECT_EQ(loaded->List(), (std::vector<std::pair<std::string, std::string>>{
                                {"resize", "API_TOKEN"}, {"resize", "DB_PASSWORD"}}));
}

TEST(SecretsTest, SetReplacesAndUsesFreshNonces) {
  SecretStore store;
  ASSERT_THAT(store.Set(kMaster, "f", "s", AsBytes("one")), IsOk());
  ASSERT_THAT(store.Set(kMaster, "f", "s", AsBytes("two")), IsOk());
  EXPECT_EQ(store.List().size(), 1u);
  EXPECT_EQ(AsChars(store.Get(kMaster, "f", "s")->view()), "two");
  ASSERT_THAT(store.Remove("f", "s"), IsOk());
  EXPECT_THAT(store.Get(kMaster, "f", "s"), HasError("no secret `s` for `f`"));
  EXPECT_THAT(store.Remove("f", "s"), HasError("no secret"));
}

// A ciphertext copied to another function or name (or the names swapped in the file)
// must not decrypt: the names are the associated data.
TEST(SecretsTest, NamesAreBoundAndTamperingFails) {
  TempDir dir;
  std::string path = dir.File("secrets.json");
  SecretStore store;
  ASSERT_THAT(store.Set(kMaster, "billing", "KEY", AsBytes("billing-only")), IsOk());
  ASSERT_THAT(store.Set(kMaster, "public", "KEY", AsBytes("public")), IsOk());
  ASSERT_THAT(store.Save(path), IsOk());
  auto doc = nlohmann::json::parse(*ReadFileLimited(path, 1 << 20));
  std::swap(doc["secrets"][0]["ciphertext"], doc["secrets"][1]["ciphertext"]);
  std::swap(doc["secrets"][0]["nonce"], doc["secrets"][1]["nonce"]);
  std::ofstream(path) << doc.dump();
  auto moved = SecretStore::Load(path);
  ASSERT_THAT(moved, IsOk());
  EXPECT_THAT(moved->Get(kMaster, "public", "KEY"), HasError("does not decrypt"));
  EXPECT_THAT(moved->Get(kMaster, "billing", "KEY"), HasError("does not decrypt"));
  EXPECT_THAT(store.Get(Bytes(32, 0x4e), "billing", "KEY"), HasError("does not decrypt"));
}

TEST(SecretsTest, InputLimits) {
  SecretStore store;
  EXPECT_THAT(store.Set(kMaster, "", "s", AsBytes("v")), HasError("function name"));
  EXPECT_THAT(store.Set(kMaster, "f", std::string("a\0b", 3), AsBytes("v")),
              HasError("secret name"));
  EXPECT_THAT(store.Set(kMaster, "f", "s", Bytes(SecretStore::kMaxValueBytes + 1, 0)),
              HasError("64 KiB"));
  EXPECT_THAT(store.Set(Bytes(16, 1), "f", "s", AsBytes("v")), HasError("32 bytes"));
}

TEST(SecretsTest, MasterKeyFileMustBePrivateAnd32Bytes) {
  TempDir dir;
  std::string path = dir.File("master.key");
  {
    std::ofstream out(path, std::ios::binary);
    out << std::string(32, 'm');
  }
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  EXPECT_THAT(LoadMasterKeyFile(path), HasError("chmod 600"));
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  auto key = LoadMasterKeyFile(path);
  ASSERT_THAT(key, IsOk());
  EXPECT_EQ(key->size(), 32u);
  {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << "x";
  }
  EXPECT_THAT(LoadMasterKeyFile(path), HasError("must hold exactly 32 bytes"));
}

TEST(SecretsTest, RevealHandsOneFunctionItsSecretsOnly) {
  SecretStore store;
  ASSERT_THAT(store.Set(kMaster, "resize", "DB_PASSWORD", AsBytes("hunter2")), IsOk());
  ASSERT_THAT(store.Set(kMaster, "resize", "API_TOKEN", AsBytes("t0k3n")), IsOk());
  ASSERT_THAT(store.Set(kMaster, "billing", "DB_PASSWORD", AsBytes("other")), IsOk());
  auto all = store.Reveal(kMaster, "resize");
  ASSERT_THAT(all, IsOk());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].first, "API_TOKEN");
  EXPECT_EQ(AsChars((*all)[0].second.view()), "t0k3n");
  EXPECT_EQ((*all)[1].first, "DB_PASSWORD");
  EXPECT_EQ(AsChars((*all)[1].second.view()), "hunter2");

  auto declared = store.Reveal(kMaster, "resize", {"DB_PASSWORD"});
  ASSERT_THAT(declared, IsOk());
  ASSERT_EQ(declared->size(), 1u);
  EXPECT_EQ(AsChars((*declared)[0].second.view()), "hunter2");

  auto none = store.Reveal(kMaster, "unknown");
  ASSERT_THAT(none, IsOk());
  EXPECT_TRUE(none->empty());
  // A declared secret that was never set fails the whole reveal, naming it.
  EXPECT_THAT(store.Reveal(kMaster, "resize", {"DB_PASSWORD", "MISSING"}),
              HasError("no secret `MISSING` for `resize`"));
  // One entry that does not decrypt fails the whole reveal: no partial secrets.
  EXPECT_THAT(store.Reveal(Bytes(32, 0x4e), "resize"), HasError("does not decrypt"));
}

TEST(SecretsTest, CheckMasterKeyRefusesAnotherKey) {
  SecretStore store;
  EXPECT_THAT(store.CheckMasterKey(kMaster), IsOk());
  ASSERT_THAT(store.Set(kMaster, "f", "s", AsBytes("v")), IsOk());
  EXPECT_THAT(store.CheckMasterKey(kMaster), IsOk());
  EXPECT_THAT(store.CheckMasterKey(Bytes(32, 0x4e)),
              HasError("the master key does not decrypt secret `s` of `f`"));
}

TEST(SecretsTest, MalformedStoreIsRefused) {
  TempDir dir;
  std::string path = dir.File("secrets.json");
  std::ofstream(path) << R"({"secrets":[{"function":"f","name":"n","nonce":"AA","ciphertext":"AA"}]})";
  EXPECT_THAT(SecretStore::Load(path), HasError("malformed entry"));
  std::ofstream(path) << "[]";
  EXPECT_THAT(SecretStore::Load(path), HasError("no `secrets` array"));
  SecretStore store;
  ASSERT_THAT(store.Set(kMaster, "f", "n", AsBytes("v")), IsOk());
  ASSERT_THAT(store.Save(path), IsOk());
  auto doc = nlohmann::json::parse(*ReadFileLimited(path, 1 << 20));
  doc["secrets"].push_back(doc["secrets"][0]);
  std::ofstream(path) << doc.dump();
  EXPECT_THAT(SecretStore::Load(path), HasError("secret `n` of `f` appears twice"));
}

}  // namespace
}  // namespace fnjail::crypto
