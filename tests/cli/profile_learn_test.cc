// Contract tests of `fnjail profile learn` (cli/profile_command.cc) on the real binary: the
// learned profile runs the command under `fnjail run --profile`, and nothing more.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class ProfileLearnTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/fnjail-learn-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    chmod(dir_.c_str(), 0755);  // the jail's unprivileged uid reads the profile's binds
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs `fnjail ARGS` through the shell; returns the exit status, fills out_/err_.
  int Fnjail(const std::string& args) {
    const std::string out = dir_ + "/stdout", err = dir_ + "/stderr";
    const std::string cmd = std::string(FNJAIL_BINARY) + " " + args + " </dev/null >" + out +
                            " 2>" + err;
    const int status = std::system(cmd.c_str());
    out_ = Read(out);
    err_ = Read(err);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  static std::string Read(const std::string& path) {
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }

  void SkipIfNoJails() {
    if (Fnjail("run -- /bin/true") == 125 && err_.find("step clone") != std::string::npos) {
      GTEST_SKIP() << "kernel refused: " << err_;
    }
  }

  std::string dir_;
  std::string out_;
  std::string err_;
};

TEST_F(ProfileLearnTest, HelpDocumentsExitStatusAndExamples) {
  ASSERT_EQ(Fnjail("profile learn --help"), 0);
  EXPECT_THAT(out_, HasSubstr("Exit status"));
  EXPECT_THAT(out_, HasSubstr("Examples"));
  EXPECT_THAT(out_, HasSubstr("fnjail profile learn -- /bin/ls /usr"));
  EXPECT_THAT(out_, HasSubstr("--output"));
  EXPECT_THAT(out_, HasSubstr("--ro-bind"));
}

TEST_F(ProfileLearnTest, UsageErrorsExit2) {
  EXPECT_EQ(Fnjail("profile learn"), 2);  // no command
  EXPECT_EQ(Fnjail("profile"), 2);        // no subcommand
  EXPECT_EQ(Fnjail("profile learn --net bogus -- /bin/true"), 2);
}

TEST_F(ProfileLearnTest, LearnedProfileRunsTheCommandAndIsMinimal) {
  SkipIfNoJails();
  ASSERT_EQ(Fnjail("profile learn -- /bin/ls /usr"), 0) << err_;
  const std::string profile = out_;
  // The command's output went to stderr; stdout is only the profile.
  EXPECT_THAT(err_, HasSubstr("share\n"));
  EXPECT_THAT(err_, HasSubstr("fnjail: learned "));
  EXPECT_THAT(profile, HasSubstr("preset = \"minimal\""));
  EXPECT_THAT(profile, HasSubstr("\"getdents64\""));
  EXPECT_THAT(profile, Not(HasSubstr("share")));
  std::ofstream(dir_ + "/ls.toml") << profile;

  ASSERT_EQ(Fnjail("run --profile " + dir_ + "/ls.toml -- /bin/ls /usr"), 0) << err_;
  EXPECT_THAT(out_, HasSubstr("share\n"));

  // Without one learned syscall the same run is killed, naming it.
  std::string without = profile;
  const std::string line = "  \"getdents64\",\n";
  const size_t at = without.find(line);
  ASSERT_NE(at, std::string::npos) << profile;
  without.erase(at, line.size());
  std::ofstream(dir_ + "/without.toml") << without;
  EXPECT_EQ(Fnjail("run --profile " + dir_ + "/without.toml -- /bin/ls /usr"), 128 + 31);
  EXPECT_THAT(err_, HasSubstr("forbidden syscall `getdents64`"));
}

TEST_F(ProfileLearnTest, OutputFileLeavesStdoutToTheCommand) {
  SkipIfNoJails();
  ASSERT_EQ(Fnjail("profile learn --output " + dir_ + "/echo.toml -- /bin/echo hello"), 0)
      << err_;
  EXPECT_EQ(out_, "hello\n");
  const std::string profile = Read(dir_ + "/echo.toml");
  EXPECT_THAT(profile, HasSubstr("[syscalls]"));
  ASSERT_EQ(Fnjail("run --profile " + dir_ + "/echo.toml -- /bin/echo again"), 0) << err_;
  EXPECT_EQ(out_, "again\n");
}

TEST_F(ProfileLearnTest, AlwaysDeniedUseIsReportedNotGranted) {
  SkipIfNoJails();
  // unshare(1) asks for a new user namespace: refused with EPERM, reported, not granted.
  const int status = Fnjail("profile learn -- /usr/bin/unshare --user /bin/true");
  EXPECT_NE(status, 0);
  EXPECT_NE(status, 125);
  EXPECT_THAT(err_, HasSubstr("refused always-denied `unshare`"));
  EXPECT_THAT(out_, HasSubstr("# Tried and refused (always denied, not granted): unshare"));
  EXPECT_THAT(out_, Not(HasSubstr("  \"unshare\",")));
  EXPECT_THAT(out_, Not(HasSubstr("[dangerous]")));
}

TEST_F(ProfileLearnTest, SetupFailureIs125) {
  SkipIfNoJails();
  EXPECT_EQ(Fnjail("profile learn -- /no/such/command"), 125);
  EXPECT_THAT(err_, HasSubstr("fnjail: setup failed: step find-command"));
  EXPECT_EQ(out_, "");
}

}  // namespace
