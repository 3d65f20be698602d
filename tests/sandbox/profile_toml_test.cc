// Unit tests of sandbox/profile_toml.cc: every section, and file:line:col errors.
#include <string>
#include <utility>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sandbox/sandbox.h"
#include "tests/testing/result_matchers.h"

namespace fnjail::sandbox {
namespace {

using ::fnjail::testing::HasError;
using ::fnjail::testing::IsOk;
using ::testing::Contains;
using ::testing::HasSubstr;

TEST(ProfileTomlTest, ReadsEverySection) {
  constexpr const char* kText = R"([limits]
memory_mb = 128
pids = 16
cpu_shares = 512
cpu_quota_percent = 50
timeout_ms = 2000
cpu_ms = 1500
file_size_mb = 8
open_files = 64
tmpfs_mb = 4
output_limit_kb = 256

[filesystem]
ro_binds = ["/usr/share:/share"]
rw_binds = ["/tmp:/scratch"]

[network]
mode = "loopback"

[environment]
vars = { LANG = "C", PATH = "/usr/bin" }
cwd = "/share"
uid = 2000
gid = 3000
hostname = "fn-hello"

[syscalls]
preset = "python"
allow = ["sched_setattr"]
deny = ["getppid"]
)";
  auto p = ParseProfileToml(kText, "hello.toml");
  ASSERT_THAT(p, IsOk());
  const SandboxSpec& s = p->spec;
  EXPECT_EQ(s.limits.memory_bytes, 128u << 20);
  EXPECT_EQ(s.limits.pids, 16u);
  EXPECT_EQ(s.limits.cpu_shares, 512u);
  EXPECT_EQ(s.limits.cpu_quota_percent, 50u);
  EXPECT_EQ(s.limits.timeout_ms, 2000u);
  EXPECT_EQ(s.limits.cpu_ms, 1500u);
  EXPECT_EQ(s.limits.file_size_bytes, 8u << 20);
  EXPECT_EQ(s.limits.open_files, 64u);
  EXPECT_EQ(s.limits.tmpfs_bytes, 4u << 20);
  EXPECT_EQ(s.limits.output_bytes, 256u << 10);
  EXPECT_EQ(s.network, NetworkMode::kLoopback);
  EXPECT_THAT(s.env, Contains("LANG=C"));
  EXPECT_THAT(s.env, Contains("PATH=/usr/bin"));
  EXPECT_EQ(s.cwd, "/share");
  EXPECT_EQ(s.uid, 2000u);
  EXPECT_EQ(s.gid, 3000u);
  EXPECT_EQ(s.hostname, "fn-hello");
  EXPECT_EQ(s.syscalls.preset, "python");
  EXPECT_EQ(s.syscalls.add, std::vector<std::string>{"sched_setattr"});
  EXPECT_EQ(s.syscalls.remove, std::vector<std::string>{"getppid"});
  // System binds come first, then the profile's own.
  ASSERT_GE(s.binds.size(), 2u);
  const Bind& ro = s.binds[s.binds.size() - 2];
  EXPECT_EQ(ro.source, "/usr/share");
  EXPECT_EQ(ro.target, "/share");
  EXPECT_FALSE(ro.writable);
  EXPECT_TRUE(s.binds.back().writable);
  EXPECT_FALSE(p->host_network);
}

TEST(ProfileTomlTest, EmptyProfileIsTheStrictDefault) {
  auto p = ParseProfileToml("", "empty.toml");
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->spec.network, NetworkMode::kNone);
  EXPECT_EQ(p->spec.cgroup, CgroupMode::kRequired);
  EXPECT_EQ(p->spec.limits.memory_bytes, 256u << 20);
  EXPECT_EQ(p->spec.limits.pids, 64u);
  EXPECT_EQ(p->spec.limits.timeout_ms, 30'000u);
  EXPECT_EQ(p->spec.limits.output_bytes, 1u << 20);
  EXPECT_TRUE(p->spec.env.empty());
  EXPECT_EQ(p->spec.binds.size(), DefaultSystemBinds().size());
}

TEST(ProfileTomlTest, SystemBindsCanBeTurnedOff) {
  auto p = ParseProfileToml("[filesystem]\nsystem_binds = false\n", "p.toml");
  ASSERT_THAT(p, IsOk());
  EXPECT_TRUE(p->spec.binds.empty());
}

TEST(ProfileTomlTest, ProfileTableOfAFunctionDefinition) {
  auto p = ParseProfileToml("[profile.limits]\npids = 3\n", "fn.toml");
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->spec.limits.pids, 3u);
}

TEST(ProfileTomlTest, DangerousSwitchesAreReportedNotApplied) {
  auto p = ParseProfileToml("[dangerous]\nhost_network = true\nallow_syscalls = [\"ptrace\"]\n",
                            "d.toml");
  ASSERT_THAT(p, IsOk());
  EXPECT_TRUE(p->host_network);
  EXPECT_EQ(p->dangerous_syscalls, std::vector<std::string>{"ptrace"});
  EXPECT_EQ(p->spec.network, NetworkMode::kNone);
  EXPECT_TRUE(p->spec.syscalls.dangerous_allow.empty());
}

TEST(ProfileTomlTest, ErrorsCarryFileLineAndColumn) {
  auto p = ParseProfileToml("[limits]\npids = \"many\"\n", "bad.toml");
  EXPECT_THAT(p, HasError("bad.toml:2:8: error: `pids` must be an integer"));
}

TEST(ProfileTomlTest, FloatsAreNotIntegersHoweverLarge) {
  // An out-of-range float must be refused by type, never converted.
  auto p = ParseProfileToml("[limits]\ncpu_ms = 1.5e300\npids = 16.0\n", "f.toml");
  ASSERT_FALSE(p);
  EXPECT_THAT(p.error().detail, HasSubstr("f.toml:2:10: error: `cpu_ms` must be an integer"));
  EXPECT_THAT(p.error().detail, HasSubstr("f.toml:3:8: error: `pids` must be an integer"));
}

TEST(ProfileTomlTest, EveryErrorIsReported) {
  auto p = ParseProfileToml("[limits]\npids = 0\nbogus = 1\n[network]\nmode = \"host\"\n",
                            "bad.toml");
  ASSERT_FALSE(p);
  const std::string text = p.error().detail;
  EXPECT_THAT(text, HasSubstr("bad.toml:2:8: error: `pids` must be within [1, 4194304]"));
  EXPECT_THAT(text, HasSubstr("bad.toml:3:1: error: unknown key `bogus` in [limits]"));
  EXPECT_THAT(text, HasSubstr("bad.toml:5:8: error: network mode `host` is not `none` or `loopback`"));
  EXPECT_THAT(text, HasSubstr("help: the host network is only shared through [dangerous]"));
}

TEST(ProfileTomlTest, UnknownSectionIsAnError) {
  EXPECT_THAT(ParseProfileToml("[limit]\npids = 1\n", "p.toml"),
              HasError("p.toml:1:2: error: unknown section `limit`"));
}

TEST(ProfileTomlTest, SyntaxErrorsHaveAPosition) {
  EXPECT_THAT(ParseProfileToml("[limits\n", "p.toml"), HasError("p.toml:1:"));
}

// toml++ quotes what it saw, and what it saw may end in a newline: the message stays on one
// line (one diagnostic per line), the newline written as `\n`.
TEST(ProfileTomlTest, SyntaxErrorQuotingANewlineStaysOneLine) {
  const std::pair<const char*, const char*> cases[] = {
      {"[limits]\npids = t\n\n[filesystem]\n", "saw 't\\n'"},
      {"[limits]\npids = tr\r\n", "saw 'tr\\r'"}};
  for (const auto& [text, quoted] : cases) {
    auto p = ParseProfileToml(text, "p.toml");
    ASSERT_FALSE(p.has_value()) << text;
    const std::string& message = p.error().detail;
    EXPECT_THAT(message, HasSubstr("p.toml:2:"));
    EXPECT_THAT(message, HasSubstr(quoted));
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_EQ(message.find('\r'), std::string::npos) << message;
  }
}

TEST(ProfileTomlTest, NonAsciiIsRefusedBeforeParsing) {
  EXPECT_THAT(ParseProfileToml("[environment]\nhostname = \"caf\xc3\xa9\"\n", "p.toml"),
              HasError("p.toml:2:16: error: byte 0xc3 is not printable ASCII"));
  // Escapes are the way to say it.
  EXPECT_THAT(ParseProfileToml("[environment]\nvars = { A = \"caf\\u00e9\" }\n", "p.toml"),
              IsOk());
}

TEST(ProfileTomlTest, OversizedInputIsRefused) {
  const std::string big(kMaxProfileBytes + 1, '#');
  EXPECT_THAT(ParseProfileToml(big, "p.toml"), HasError("larger than"));
}

TEST(ProfileTomlTest, KnownToml3_3CrashersAreRefusedCleanly) {
  // Seeds from the design brief: a toml++ 3.3.0 key-parsing assertion and non-ASCII UB.
  EXPECT_FALSE(ParseProfileToml("a = 1\n[=\nbt ]\"x\" \n", "seed1.toml"));
  EXPECT_FALSE(ParseProfileToml("\xef\xbb\xb7" "a = .1\n\x01", "seed2.toml"));
}

TEST(ProfileTomlTest, BadBindIsAnError) {
  EXPECT_THAT(ParseProfileToml("[filesystem]\nro_binds = [\"relative\"]\n", "p.toml"),
              HasError("bind `relative` must be /source or /source:/target"));
}

TEST(ProfileTomlTest, LoadProfileReadsAFile) {
  EXPECT_THAT(LoadProfile("/nonexistent/profile.toml"), HasError("cannot be read"));
}

}  // namespace
}  // namespace fnjail::sandbox
