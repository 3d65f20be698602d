// Contract tests of `fnjail secrets set|list|rm`, running the real binary: exit codes,
// values only from stdin or a file, names only in listings, master key permissions.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/testing/run_binary.h"

namespace fnjail {
namespace {

using ::fnjail::testing::RunBinary;
using ::fnjail::testing::RunResult;
using ::testing::HasSubstr;
using ::testing::Not;

RunResult Fnjail(const std::vector<std::string>& args, const std::string& stdin_text = {}) {
  return RunBinary(FNJAIL_BINARY, args, stdin_text);
}

class SecretsCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("fnjail-secrets-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    store_ = (dir_ / "secrets.json").string();
    master_ = Write("master.key", std::string(32, 'k'), 0600);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text, mode_t mode = 0644) {
    std::filesystem::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << text;
    ::chmod(p.c_str(), mode);
    return p.string();
  }

  std::vector<std::string> Set(const std::string& function, const std::string& name) {
    return {"secrets", "set", "--store", store_, "--master-key", master_, "--function",
            function, name};
  }

  std::filesystem::path dir_;
  std::string store_;
  std::string master_;
};

std::vector<nlohmann::json> JsonLines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

TEST_F(SecretsCommandTest, SetListRemove) {
  RunResult set = Fnjail(Set("resize", "DB_PASSWORD"), "hunter2");
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_THAT(set.err, HasSubstr("stored secret `DB_PASSWORD` of `resize` (7 bytes)"));
  EXPECT_EQ(set.out, "");
  ASSERT_EQ(Fnjail(Set("resize", "API_TOKEN"), "t0k3n").exit_code, 0);
  ASSERT_EQ(Fnjail(Set("billing", "API_TOKEN"), "other").exit_code, 0);

  struct stat st {};
  ASSERT_EQ(::stat(store_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(store_);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_THAT(text, Not(HasSubstr("hunter2")));

  RunResult list = Fnjail({"secrets", "list", "--store", store_});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, Not(HasSubstr("hunter2")));
  auto lines = JsonLines(list.out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], (nlohmann::json{{"function", "billing"}, {"name", "API_TOKEN"}}));
  EXPECT_EQ(lines[1], (nlohmann::json{{"function", "resize"}, {"name", "API_TOKEN"}}));
  EXPECT_EQ(lines[2], (nlohmann::json{{"function", "resize"}, {"name", "DB_PASSWORD"}}));

  RunResult only = Fnjail({"secrets", "list", "--store", store_, "--function", "billing"});
  EXPECT_EQ(JsonLines(only.out).size(), 1u);

  RunResult rm = Fnjail({"secrets", "rm", "--store", store_, "--function", "resize",
                         "API_TOKEN"});
  ASSERT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_EQ(JsonLines(Fnjail({"secrets", "list", "--store", store_}).out).size(), 2u);
  RunResult again = Fnjail({"secrets", "rm", "--store", store_, "--function", "resize",
                            "API_TOKEN"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.err, HasSubstr("no secret `API_TOKEN` for `resize`"));
}

TEST_F(SecretsCommandTest, ValueFromFileAndNewlineTrimming) {
  std::string file = Write("value.txt", "from-file\n", 0600);
  auto args = Set("f", "A");
  args.insert(args.end(), {"--from-file", file});
  RunResult set = Fnjail(args);
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_THAT(set.err, HasSubstr("(10 bytes)"));  // stored exactly as read
  auto trimmed = Set("f", "B");
  trimmed.push_back("--trim-newline");
  RunResult set2 = Fnjail(trimmed, "line\r\n");
  ASSERT_EQ(set2.exit_code, 0) << set2.err;
  EXPECT_THAT(set2.err, HasSubstr("(4 bytes)"));
}

TEST_F(SecretsCommandTest, ValueIsNeverTakenFromTheCommandLine) {
  // There is no option for it: an extra argument is a usage error.
  auto args = Set("f", "A");
  args.push_back("hunter2");
  RunResult r = Fnjail(args, "x");
  EXPECT_EQ(r.exit_code, 2);
  auto with_value = Set("f", "A");
  with_value.insert(with_value.end(), {"--value", "hunter2"});
  EXPECT_EQ(Fnjail(with_value, "x").exit_code, 2);
}

TEST_F(SecretsCommandTest, EmptyAndOversizedValuesAreRefused) {
  RunResult empty = Fnjail(Set("f", "A"), "");
  EXPECT_EQ(empty.exit_code, 2);
  EXPECT_THAT(empty.err, HasSubstr("the value is empty"));
  auto trimmed = Set("f", "A");
  trimmed.push_back("--trim-newline");
  EXPECT_EQ(Fnjail(trimmed, "\n").exit_code, 2);
  std::string big = Write("big", std::string(64 * 1024 + 1, 'x'), 0600);
  auto args = Set("f", "A");
  args.insert(args.end(), {"--from-file", big});
  RunResult r = Fnjail(args);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("larger than 64 KiB"));
  EXPECT_FALSE(std::filesystem::exists(store_));
}

TEST_F(SecretsCommandTest, MasterKeyWithLoosePermissionsIsRefused) {
  for (mode_t mode : {0640, 0604, 0644, 0660}) {
    ::chmod(master_.c_str(), mode);
    RunResult r = Fnjail(Set("f", "A"), "v");
    EXPECT_EQ(r.exit_code, 2) << std::oct << mode;
    EXPECT_THAT(r.err, HasSubstr("accessible by group or others")) << std::oct << mode;
  }
  ::chmod(master_.c_str(), 0400);
  EXPECT_EQ(Fnjail(Set("f", "A"), "v").exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "secrets.json.tmp"));
}

TEST_F(SecretsCommandTest, MasterKeyOfTheWrongSizeIsRefused) {
  master_ = Write("short.key", std::string(16, 'k'), 0600);
  RunResult r = Fnjail(Set("f", "A"), "v");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("must hold exactly 32 bytes"));
}

TEST_F(SecretsCommandTest, AnotherMasterKeyCannotJoinTheStore) {
  ASSERT_EQ(Fnjail(Set("f", "A"), "v").exit_code, 0);
  master_ = Write("other.key", std::string(32, 'o'), 0600);
  RunResult r = Fnjail(Set("f", "B"), "w");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("master key does not decrypt secret `A` of `f`"));
  EXPECT_EQ(JsonLines(Fnjail({"secrets", "list", "--store", store_}).out).size(), 1u);
}

TEST_F(SecretsCommandTest, PathsFromTheConfigSection) {
  std::string config = Write("fnjail.toml",
                             "[server]\nlisten = \"127.0.0.1:8080\"\n"
                             "[secrets]\nstore = \"secrets.json\"  # relative to this file\n"
                             "master_key = \"master.key\"\n[audit]\npath = \"audit.log\"\n");
  RunResult set = Fnjail({"secrets", "set", "--config", config, "--function", "f", "A"}, "v");
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_TRUE(std::filesystem::exists(store_));
  RunResult list = Fnjail({"secrets", "list", "--config", config});
  EXPECT_EQ(JsonLines(list.out).size(), 1u);
  RunResult none = Fnjail({"secrets", "list"});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_THAT(none.err, HasSubstr("no secret store"));
}

TEST_F(SecretsCommandTest, DamagedStoreIsRefused) {
  Write("secrets.json", "{\"secrets\": 7}", 0600);
  RunResult r = Fnjail({"secrets", "list", "--store", store_});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("no `secrets` array"));
}

TEST_F(SecretsCommandTest, HelpIsAManPage) {
  for (const char* sub : {"set", "list", "rm"}) {
    RunResult r = Fnjail({"secrets", sub, "--help"});
    EXPECT_EQ(r.exit_code, 0) << sub;
    EXPECT_THAT(r.out, HasSubstr("Exit status:")) << sub;
    EXPECT_THAT(r.out, HasSubstr("Example:")) << sub;
  }
  EXPECT_THAT(Fnjail({"secrets", "--help"}).out, HasSubstr("docs/secrets.md"));
}

}  // namespace
}  // namespace fnjail
