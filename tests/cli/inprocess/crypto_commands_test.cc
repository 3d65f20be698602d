// Tests for cli/crypto_commands.cc: `fnjail token verify` exit codes and messages.
#include <unistd.h>

#include <filesystem>
#include <fstream>

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

}  // namespace
}  // namespace fnjail::cli
