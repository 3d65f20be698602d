// Tests for cli/crypto_commands.cc: `fnjail token verify` and `fnjail audit`.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "tests/cli/inprocess/cli_test_util.h"

namespace fnjail::cli {
namespace {

using nlohmann::json;
using testing::RunCommand;
namespace crypto = ::fnjail::crypto;

constexpr int64_t kNow = 1'800'000'000;

class TokenVerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("fnjail_cli_token_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    auto key = crypto::Ed25519SigningKey::Generate();
    ASSERT_TRUE(key.has_value());
    key_ = std::make_unique<crypto::Ed25519SigningKey>(std::move(*key));
    json jwks = {{"keys",
                  json::array({{{"kty", "OKP"},
                                {"crv", "Ed25519"},
                                {"kid", "ops"},
                                {"x", crypto::Base64UrlEncode(key_->public_key().raw())}}})}};
    jwks_ = (dir_ / "jwks.json").string();
    std::ofstream(jwks_) << jwks.dump();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Sign(const json& claims) {
    std::string input =
        crypto::Base64UrlEncode(crypto::AsBytes(json{{"alg", "EdDSA"}, {"kid", "ops"}}.dump())) +
        "." + crypto::Base64UrlEncode(crypto::AsBytes(claims.dump()));
    return input + "." + crypto::Base64UrlEncode(*key_->Sign(crypto::AsBytes(input)));
  }

  std::vector<std::string> Args(const std::string& token) {
    return {"token", "verify", "--jwks", jwks_, "--issuer", "idp", "--audience", "fnjail",
            "--now", std::to_string(kNow), token};
  }

  std::filesystem::path dir_;
  std::string jwks_;
  std::unique_ptr<crypto::Ed25519SigningKey> key_;
};

TEST_F(TokenVerifyTest, ValidTokenPrintsClaimsAndExitsZero) {
  json claims = {{"iss", "idp"}, {"aud", "fnjail"}, {"sub", "alice"}, {"exp", kNow + 60}};
  auto r = RunCommand(RegisterTokenCommands, Args(Sign(claims)));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out), claims);
  EXPECT_NE(r.err.find("alg EdDSA, key `ops`"), std::string::npos) << r.err;
}

TEST_F(TokenVerifyTest, TokenFromStdin) {
  json claims = {{"iss", "idp"}, {"aud", "fnjail"}, {"exp", kNow + 60}};
  auto r = RunCommand(RegisterTokenCommands, Args("-"), Sign(claims) + "\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(TokenVerifyTest, RejectionSaysWhyAndExitsOne) {
  json expired = {{"iss", "idp"}, {"aud", "fnjail"}, {"exp", kNow - 3600}};
  auto r = RunCommand(RegisterTokenCommands, Args(Sign(expired)));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.out.empty());
  EXPECT_NE(r.err.find("fnjail: token rejected: token expired at"), std::string::npos) << r.err;

  json wrong_aud = {{"iss", "idp"}, {"aud", "other"}, {"exp", kNow + 60}};
  r = RunCommand(RegisterTokenCommands, Args(Sign(wrong_aud)));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no accepted audience"), std::string::npos) << r.err;

  std::string none = crypto::Base64UrlEncode(crypto::AsBytes(R"({"alg":"none"})")) + ".e30.";
  r = RunCommand(RegisterTokenCommands, Args(none));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("alg `none` is not accepted"), std::string::npos) << r.err;
}

TEST_F(TokenVerifyTest, BadKeySetOrUsageExitsTwo) {
  std::ofstream(jwks_) << R"({"keys":[{"kty":"oct","kid":"x","k":"AA"}]})";
  auto r = RunCommand(RegisterTokenCommands, Args("a.b.c"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("jwks.json`: key 0 (`x`)"), std::string::npos) << r.err;
  r = RunCommand(RegisterTokenCommands, {"token", "verify", "a.b.c"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--jwks"), std::string::npos) << r.err;
}

TEST_F(TokenVerifyTest, HelpDocumentsExitStatusAndExample) {
  auto r = RunCommand(RegisterTokenCommands, {"token", "verify", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  CLI::App app{"fnjail", "fnjail"};
  Runner run;
  RegisterTokenCommands(app, &run);
  std::string help = app.get_subcommand("token")->get_subcommand("verify")->help();
  for (const char* needle : {"Exit status:", "Example:", "--jwks", "--issuer", "--audience",
                             "--max-lifetime", "--clock-skew", "--now", "jku"}) {
    EXPECT_NE(help.find(needle), std::string::npos) << needle;
  }
}

class AuditCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("fnjail_cli_audit_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "keys");
    std::filesystem::create_directories(dir_ / "audit");
    auto key = crypto::Ed25519SigningKey::Generate();
    ASSERT_TRUE(key.has_value());
    std::ofstream(dir_ / "keys" / "audit.key.pem") << *key->ToPem();
    std::ofstream(dir_ / "keys" / "audit.pub.pem") << key->public_key().ToPem();
    config_ = (dir_ / "fnjail.toml").string();
    std::ofstream(config_) << "# gateway configuration\n"
                              "[server]\nlisten = \"127.0.0.1:8080\"  # not read here\n\n"
                              "[audit]\n"
                              "path = \"audit/fnjail.log\"\n"
                              "public_key = \"keys/audit.pub.pem\"  # verifiers\n"
                              "checkpoint_every_records = 3\n";
    log_ = (dir_ / "audit" / "fnjail.log").string();
    crypto::AuditOptions options;
    options.path = log_;
    options.checkpoint_every_records = 3;
    auto writer = crypto::AuditWriter::Open(options, std::move(*key));
    ASSERT_TRUE(writer.has_value());
    for (int i = 0; i < 7; ++i) {
      crypto::AuditRecord r;
      r.request_id = "req-" + std::to_string(i);
      r.principal = "alice";
      r.http_status = 200;
      ASSERT_TRUE((*writer)->Append(r).has_value());
    }
    ASSERT_TRUE((*writer)->Close().has_value());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void FlipByteNearEnd(size_t back) {
    std::fstream f(log_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(0, std::ios::end);
    auto pos = static_cast<std::streamoff>(f.tellg()) - static_cast<std::streamoff>(back);
    f.seekg(pos);
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x01);
    f.seekp(pos);
    f.write(&c, 1);
  }

  std::filesystem::path dir_;
  std::string config_;
  std::string log_;
};

TEST_F(AuditCommandTest, VerifyIntactLogFromConfig) {
  auto r = RunCommand(RegisterAuditCommands, {"audit", "verify", "--config", config_});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("ok: 7 records, 3 checkpoints"), std::string::npos) << r.out;
}

TEST_F(AuditCommandTest, VerifyReportsTheFirstBadEntry) {
  FlipByteNearEnd(200);  // inside one of the last records, before the final checkpoint
  auto r = RunCommand(RegisterAuditCommands, {"audit", "verify", "--config", config_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is damaged at entry"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST_F(AuditCommandTest, LogAndKeyOptionsWorkWithoutConfig) {
  auto r = RunCommand(RegisterAuditCommands,
                      {"audit", "verify", "--log", log_, "--public-key",
                       (dir_ / "keys" / "audit.pub.pem").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // The public key can also be derived from the signing key named in the config.
  std::ofstream(config_) << "[audit]\npath = \"audit/fnjail.log\"\n"
                            "signing_key = \"keys/audit.key.pem\"\n";
  r = RunCommand(RegisterAuditCommands, {"audit", "verify", "--config", config_});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(AuditCommandTest, WrongKeyIsDamage) {
  auto other = crypto::Ed25519SigningKey::Generate();
  ASSERT_TRUE(other.has_value());
  std::ofstream(dir_ / "keys" / "audit.pub.pem") << other->public_key().ToPem();
  auto r = RunCommand(RegisterAuditCommands, {"audit", "verify", "--config", config_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("different checkpoint key"), std::string::npos) << r.err;
}

TEST_F(AuditCommandTest, BadConfigurationExitsTwo) {
  std::ofstream(config_) << "[audit]\npath = \"audit/fnjail.log\"\ncolour = \"blue\"\n";
  auto r = RunCommand(RegisterAuditCommands, {"audit", "verify", "--config", config_});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("fnjail.toml:3: error: unknown key `colour` in [audit]"),
            std::string::npos)
      << r.err;
  std::ofstream(config_) << "[audit]\npath = audit.log\n";
  r = RunCommand(RegisterAuditCommands, {"audit", "verify", "--config", config_});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(":2: error: `path` takes a double-quoted string"), std::string::npos);
  std::ofstream(config_) << "[audit]\npath = \"audit/fnjail.log\"\n";
  r = RunCommand(RegisterAuditCommands, {"audit", "verify", "--config", config_});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no checkpoint key"), std::string::npos) << r.err;
  r = RunCommand(RegisterAuditCommands,
                 {"audit", "verify", "--config", (dir_ / "missing.toml").string()});
  EXPECT_EQ(r.exit_code, 2);
}

TEST_F(AuditCommandTest, ShowPrintsRecordsAsJsonLines) {
  auto r = RunCommand(RegisterAuditCommands, {"audit", "show", "--config", config_});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  std::vector<json> records;
  while (std::getline(lines, line)) records.push_back(json::parse(line));
  ASSERT_EQ(records.size(), 7u);
  EXPECT_EQ(records[0]["request_id"], "req-0");
  EXPECT_EQ(records[0]["seq"], 1);
  EXPECT_EQ(records[6]["request_id"], "req-6");
  EXPECT_EQ(r.out.rfind("{\"seq\":1,", 0), 0u) << "seq comes first";
}

TEST_F(AuditCommandTest, ExportedCheckpointDetectsTruncation) {
  auto cp = RunCommand(RegisterAuditCommands, {"audit", "checkpoint", "--config", config_});
  ASSERT_EQ(cp.exit_code, 0) << cp.err;
  std::string export_file = (dir_ / "checkpoints.jsonl").string();
  std::ofstream(export_file) << cp.out;
  auto ok = RunCommand(RegisterAuditCommands, {"audit", "verify", "--config", config_,
                                               "--checkpoint", export_file});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("1 exported checkpoints found"), std::string::npos) << ok.out;
  // Cut the log back by its final checkpoint: consistent alone, caught by the export.
  auto size = std::filesystem::file_size(log_);
  std::filesystem::resize_file(log_, size - (8 + 41 + 72));
  auto alone = RunCommand(RegisterAuditCommands, {"audit", "verify", "--config", config_});
  EXPECT_EQ(alone.exit_code, 0) << alone.err;
  auto caught = RunCommand(RegisterAuditCommands, {"audit", "verify", "--config", config_,
                                                   "--checkpoint", export_file});
  EXPECT_EQ(caught.exit_code, 1);
  EXPECT_NE(caught.err.find("log truncated"), std::string::npos) << caught.err;
}

TEST_F(AuditCommandTest, HelpIsAManualPage) {
  CLI::App app{"fnjail", "fnjail"};
  Runner run;
  RegisterAuditCommands(app, &run);
  for (const char* sub : {"verify", "show", "checkpoint"}) {
    std::string help = app.get_subcommand("audit")->get_subcommand(sub)->help();
    for (const char* needle : {"Exit status:", "Example:", "--config", "--log", "--public-key"}) {
      EXPECT_NE(help.find(needle), std::string::npos) << sub << ": " << needle;
    }
  }
}

class KeysCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("fnjail_cli_keys_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    store_ = (dir_ / "keys.json").string();
    pepper_ = (dir_ / "pepper").string();
    std::ofstream(pepper_) << std::string(32, 'q');
    std::filesystem::permissions(pepper_, std::filesystem::perms::owner_read |
                                              std::filesystem::perms::owner_write);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  std::string store_;
  std::string pepper_;
};

TEST_F(KeysCommandTest, CreateListRevoke) {
  auto created = RunCommand(RegisterKeysCommands, {"keys", "create", "--store", store_,
                                                   "--pepper", pepper_, "--name", "ci"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  std::string key = created.out.substr(0, created.out.size() - 1);
  auto id = crypto::ApiKeyId(key);
  ASSERT_TRUE(id.has_value()) << key;
  EXPECT_NE(created.err.find("shown only this once"), std::string::npos);

  auto listed = RunCommand(RegisterKeysCommands, {"keys", "list", "--store", store_});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  json entry = json::parse(listed.out);
  EXPECT_EQ(entry["id"], *id);
  EXPECT_EQ(entry["name"], "ci");
  EXPECT_EQ(entry["revoked"], false);
  EXPECT_EQ(listed.out.find(key.substr(18)), std::string::npos) << "no secret in the list";

  auto pepper = crypto::LoadPepperFile(pepper_);
  ASSERT_TRUE(pepper.has_value());
  EXPECT_TRUE(crypto::ApiKeyStore::Load(store_)->Authenticate(key, pepper->view()).has_value());
  auto revoked = RunCommand(RegisterKeysCommands, {"keys", "revoke", "--store", store_, *id});
  EXPECT_EQ(revoked.exit_code, 0) << revoked.err;
  EXPECT_FALSE(crypto::ApiKeyStore::Load(store_)->Authenticate(key, pepper->view()).has_value());
  auto again = RunCommand(RegisterKeysCommands, {"keys", "revoke", "--store", store_, "abc"});
  EXPECT_EQ(again.exit_code, 1);
}

TEST_F(KeysCommandTest, LoosePepperPermissionsAreRefused) {
  std::filesystem::permissions(pepper_, std::filesystem::perms::group_read,
                               std::filesystem::perm_options::add);
  auto r = RunCommand(RegisterKeysCommands, {"keys", "create", "--store", store_, "--pepper",
                                             pepper_, "--name", "ci"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("chmod 600"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
  EXPECT_FALSE(std::filesystem::exists(store_));
}

TEST_F(KeysCommandTest, HelpIsAManualPage) {
  CLI::App app{"fnjail", "fnjail"};
  Runner run;
  RegisterKeysCommands(app, &run);
  for (const char* sub : {"create", "list", "revoke"}) {
    std::string help = app.get_subcommand("keys")->get_subcommand(sub)->help();
    for (const char* needle : {"Exit status:", "Example:", "--store"}) {
      EXPECT_NE(help.find(needle), std::string::npos) << sub << ": " << needle;
    }
  }
}

}  // namespace
}  // namespace fnjail::cli
