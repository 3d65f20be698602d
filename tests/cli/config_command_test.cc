// Contract tests of `fnjail config check`: exit codes, messages with positions, the summary
// line, and the quick start's configuration passing it (issue 6).
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/run_binary.h"

namespace fnjail {
namespace {

namespace fs = std::filesystem;
using ::fnjail::testing::RunBinary;
using ::fnjail::testing::RunResult;
using ::testing::HasSubstr;

const std::string kSource = FNJAIL_SOURCE_DIR;

RunResult Fnjail(const std::vector<std::string>& args) { return RunBinary(FNJAIL_BINARY, args); }

class ConfigCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("fnjail-config-cli-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    const fs::path path = dir_ / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
    return path.string();
  }

  // A copy of examples/quickstart as a clean clone has it: what setup.sh makes (state/,
  // the printed API keys) left out.
  fs::path CopyQuickstart() {
    const fs::path from = fs::path(kSource) / "examples/quickstart";
    const fs::path to = dir_ / "quickstart";
    for (const auto& entry : fs::recursive_directory_iterator(from)) {
      const fs::path rel = fs::relative(entry.path(), from);
      const std::string first = rel.begin()->string();
      if (first == "state" || first == "demo-api-key" || first == "intern-api-key") continue;
      if (entry.is_directory()) {
        fs::create_directories(to / rel);
      } else {
        fs::create_directories((to / rel).parent_path());
        fs::copy_file(entry.path(), to / rel);
      }
    }
    return to;
  }

  fs::path dir_;
};

TEST_F(ConfigCommandTest, HelpIsAManualPage) {
  RunResult r = Fnjail({"config", "check", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("Exit status: 0 when the configuration is valid"));
  EXPECT_THAT(r.out, HasSubstr("Example: fnjail config check --config "
                               "examples/quickstart/fnjail.toml"));
  EXPECT_THAT(r.out, HasSubstr("file:line:col: error: message"));
}

TEST_F(ConfigCommandTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Fnjail({"config", "check"}).exit_code, 2);
  EXPECT_EQ(Fnjail({"config"}).exit_code, 2);
  EXPECT_EQ(Fnjail({"config", "check", "--config", "a", "--bogus"}).exit_code, 2);
}

TEST_F(ConfigCommandTest, EveryProblemIsPrintedWithItsPositionThenASummary) {
  fs::create_directories(dir_ / "functions");
  const std::string file = Write("fnjail.toml",
                                 "[server]\n"
                                 "lisen = \"127.0.0.1:8080\"\n"
                                 "[limits]\n"
                                 "max_body_bytes = -1\n");
  RunResult r = Fnjail({"config", "check", "--config", file});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, file + ":2:1: error: unknown key `lisen` in [server]\n"
                          "  help: did you mean `listen`?\n" +
                       file + ":4:18: error: `max_body_bytes` must be within [0, 1073741824], "
                              "found -1\n" +
                       file + ":1:1: error: missing [audit] section\n"
                              "  help: add `[audit]` with `path` (the log file) and "
                              "`signing_key` (an Ed25519 key)\n" +
                       file + ": 3 errors, 0 warnings\n");
}

TEST_F(ConfigCommandTest, AMissingFileIsReported) {
  RunResult r = Fnjail({"config", "check", "--config", (dir_ / "nope.toml").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("nope.toml: error: config file does not exist\n"));
}

TEST_F(ConfigCommandTest, TheQuickStartNeedsItsSetupFirst) {
  const fs::path qs = CopyQuickstart();
  RunResult r = Fnjail({"config", "check", "--config", (qs / "fnjail.toml").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr((qs / "state/pepper").string() + "` does not exist"));
  EXPECT_THAT(r.err, HasSubstr((qs / "state/audit-signing-key.pem").string() +
                               "` does not exist"));
}

TEST_F(ConfigCommandTest, TheQuickStartPassesAfterItsSetup) {
  const fs::path qs = CopyQuickstart();
  ASSERT_EQ(::setenv("FNJAIL", FNJAIL_BINARY, 1), 0);
  RunResult setup = RunBinary("/bin/sh", {(qs / "setup.sh").string()});
  ASSERT_EQ(setup.exit_code, 0) << setup.err;
  EXPECT_THAT(setup.out, HasSubstr("demo API key (principal demo):     fnjk_"));
  EXPECT_THAT(setup.out, HasSubstr("curl -s -X POST http://127.0.0.1:8080/v1/functions/hello/"
                                   "invoke -H \"X-Api-Key: $(cat " +
                                   (qs / "demo-api-key").string() + ")\""));
  struct stat st {};
  ASSERT_EQ(::stat((qs / "demo-api-key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((qs / "state/pepper").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  RunResult r = Fnjail({"config", "check", "--config", (qs / "fnjail.toml").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr(" 0 errors, "));
  EXPECT_THAT(r.err, HasSubstr("4 policy files, 3 authentication providers checked"));

  // A second run keeps the keys it made (the printed key stays valid).
  std::ifstream key_file(qs / "demo-api-key");
  std::string key;
  std::getline(key_file, key);
  ASSERT_EQ(RunBinary("/bin/sh", {(qs / "setup.sh").string()}).exit_code, 0);
  std::ifstream again_file(qs / "demo-api-key");
  std::string again;
  std::getline(again_file, again);
  EXPECT_EQ(key, again);

  // Git does not keep modes: a key file left readable by others is refused by the check,
  // and setup.sh puts the mode right again.
  ASSERT_EQ(::chmod((qs / "state/hmac-ci.key").c_str(), 0644), 0);
  RunResult loose = Fnjail({"config", "check", "--config", (qs / "fnjail.toml").string()});
  EXPECT_EQ(loose.exit_code, 1);
  EXPECT_THAT(loose.err, HasSubstr("fnjail.toml:20:6: error: `" +
                                   (qs / "state/hmac-ci.key").string() +
                                   "` is accessible by group or others (mode 0644)"));
  ASSERT_EQ(RunBinary("/bin/sh", {(qs / "setup.sh").string()}).exit_code, 0);
  EXPECT_EQ(Fnjail({"config", "check", "--config", (qs / "fnjail.toml").string()}).exit_code, 0);
}

}  // namespace
}  // namespace fnjail
