// Contract tests of `fnjail run` (cli/run_command.cc) on the real binary: exit statuses,
// the JSON report, profiles and flags.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

using ::testing::HasSubstr;

class RunCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/fnjail-run-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs `fnjail ARGS` through the shell; returns the exit status, fills out_/err_.
  int Fnjail(const std::string& args, const std::string& stdin_text = "") {
    const std::string in = dir_ + "/stdin", out = dir_ + "/stdout", err = dir_ + "/stderr";
    std::ofstream(in) << stdin_text;
    const std::string cmd = std::string(FNJAIL_BINARY) + " " + args + " <" + in + " >" + out +
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

  nlohmann::json Report() { return nlohmann::json::parse(Read(dir_ + "/report.json")); }

  // Skips when the kernel refuses namespaces here (the jail then cannot be built at all).
  void SkipIfNoJails() {
    if (Fnjail("run -- /bin/true") == 125 &&
        err_.find("step clone") != std::string::npos) {
      GTEST_SKIP() << "kernel refused: " << err_;
    }
  }

  std::string dir_;
  std::string out_;
  std::string err_;
};

TEST_F(RunCommandTest, StdioAndExitStatusPassThrough) {
  SkipIfNoJails();
  EXPECT_EQ(Fnjail("run -- /bin/cat", "piped in\n"), 0) << err_;
  EXPECT_EQ(out_, "piped in\n");
  EXPECT_EQ(Fnjail("run -- /bin/sh -c 'echo out; echo err >&2; exit 3'"), 3);
  EXPECT_EQ(out_, "out\n");
  EXPECT_EQ(err_, "err\n");
}

TEST_F(RunCommandTest, ReportDescribesAnExit) {
  SkipIfNoJails();
  ASSERT_EQ(Fnjail("run --report " + dir_ + "/report.json -- /bin/true"), 0) << err_;
  const nlohmann::json r = Report();
  EXPECT_EQ(r["outcome"], "exited");
  EXPECT_EQ(r["exit_code"], 0);
  for (const char* key : {"signal", "syscall", "wall_ms", "cpu_ms", "max_rss_kb"}) {
    EXPECT_TRUE(r.contains(key)) << key;
  }
}

TEST_F(RunCommandTest, TimeoutIs128PlusSigkill) {
  SkipIfNoJails();
  EXPECT_EQ(Fnjail("run --timeout-ms 200 --report " + dir_ +
                   "/report.json -- /bin/sh -c 'while :; do :; done'"),
            128 + 9);
  EXPECT_EQ(Report()["outcome"], "timeout");
  EXPECT_THAT(err_, HasSubstr("deadline of 200 ms"));
}

TEST_F(RunCommandTest, SeccompViolationNamesTheSyscall) {
  SkipIfNoJails();
  // The minimal preset has no execve: the exec itself is the violation.
  EXPECT_EQ(Fnjail("run --preset minimal --report " + dir_ + "/report.json -- /bin/true"),
            128 + 31);
  EXPECT_EQ(Report()["outcome"], "seccomp");
  EXPECT_EQ(Report()["syscall"], "execve");
  EXPECT_THAT(err_, HasSubstr("forbidden syscall `execve`"));
}

TEST_F(RunCommandTest, OutputIsCapped) {
  SkipIfNoJails();
  EXPECT_EQ(Fnjail("run --output-limit-kb 4 --report " + dir_ + "/report.json -- /usr/bin/yes"),
            128 + 9);
  EXPECT_EQ(out_.size(), 4096u);
  EXPECT_EQ(Report()["outcome"], "output-limit");
}

TEST_F(RunCommandTest, SetupFailureIs125WithAClearMessage) {
  SkipIfNoJails();
  EXPECT_EQ(Fnjail("run --report " + dir_ + "/report.json -- /no/such/command"), 125);
  EXPECT_THAT(err_, HasSubstr("fnjail: setup failed: step find-command"));
  EXPECT_EQ(Report()["outcome"], "setup-failure");
  EXPECT_EQ(Report()["step"], "find-command");
}

TEST_F(RunCommandTest, EnvironmentIsOnlyWhatIsListed) {
  SkipIfNoJails();
  ASSERT_EQ(Fnjail("run --env A=1 --env B=two -- /usr/bin/env"), 0) << err_;
  EXPECT_EQ(out_, "A=1\nB=two\n");
}

TEST_F(RunCommandTest, BindsAndNetworkFlags) {
  SkipIfNoJails();
  std::ofstream(dir_ + "/data.txt") << "bound\n";
  std::filesystem::permissions(dir_, std::filesystem::perms::all);
  ASSERT_EQ(Fnjail("run --ro-bind " + dir_ + ":/data -- /bin/cat /data/data.txt"), 0) << err_;
  EXPECT_EQ(out_, "bound\n");
  EXPECT_NE(Fnjail("run --ro-bind " + dir_ + ":/data -- /bin/sh -c 'echo x > /data/new'"), 0);
  EXPECT_NE(Fnjail("run --net bogus -- /bin/true"), 0);
}

TEST_F(RunCommandTest, ProfileIsAppliedAndFlagsOverrideIt) {
  SkipIfNoJails();
  std::ofstream(dir_ + "/p.toml") << "[environment]\nvars = { FROM = \"profile\" }\n"
                                     "[limits]\ntimeout_ms = 100\n";
  EXPECT_EQ(Fnjail("run --profile " + dir_ + "/p.toml -- /usr/bin/env"), 0) << err_;
  EXPECT_EQ(out_, "FROM=profile\n");
  EXPECT_EQ(Fnjail("run --profile " + dir_ + "/p.toml --timeout-ms 5000 -- /bin/sleep 0.3"), 0)
      << err_;
}

TEST_F(RunCommandTest, BadProfileIsReportedWithItsPosition) {
  std::ofstream(dir_ + "/bad.toml") << "[limits]\npids = \"x\"\n";
  EXPECT_EQ(Fnjail("run --profile " + dir_ + "/bad.toml -- /bin/true"), 2);
  EXPECT_THAT(err_, HasSubstr("bad.toml:2:8: error: `pids` must be an integer"));
}

TEST_F(RunCommandTest, HelpIsAManual) {
  EXPECT_EQ(Fnjail("run --help"), 0);
  EXPECT_THAT(out_, HasSubstr("Exit status"));
  EXPECT_THAT(out_, HasSubstr("--report"));
  EXPECT_THAT(out_, HasSubstr("--output-limit-kb"));
}

TEST_F(RunCommandTest, MissingCommandIsAUsageError) {
  EXPECT_NE(Fnjail("run"), 0);
}

}  // namespace
