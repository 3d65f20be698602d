// Unit tests of sandbox/builder.cc: the fluent builder's sticky error and ValidateSpec.
#include <fcntl.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sandbox/sandbox.h"
#include "tests/testing/result_matchers.h"

namespace fnjail::sandbox {
namespace {

using ::fnjail::testing::HasError;
using ::fnjail::testing::IsOk;

TEST(BuilderTest, BuildsAValidSpec) {
  auto spec = SandboxBuilder()
                  .DefaultSystemBinds()
                  .Command({"/bin/true"})
                  .Env("PATH", "/usr/bin")
                  .MemoryLimit(64 << 20)
                  .PidsLimit(8)
                  .Timeout(1000)
                  .Network(NetworkMode::kLoopback)
                  .Preset("minimal")
                  .AllowSyscall("execve")
                  .TryBuild();
  ASSERT_THAT(spec, IsOk());
  EXPECT_EQ(spec->limits.memory_bytes, 64u << 20);
  EXPECT_EQ(spec->limits.pids, 8u);
  EXPECT_EQ(spec->network, NetworkMode::kLoopback);
  EXPECT_EQ(spec->env, std::vector<std::string>{"PATH=/usr/bin"});
  EXPECT_FALSE(spec->dangerous.has_value());
}

TEST(BuilderTest, FirstErrorSticks) {
  auto spec = SandboxBuilder()
                  .Command({"/bin/true"})
                  .Preset("no-such-preset")
                  .MemoryLimit(1)  // also invalid, but later: ignored
                  .TryBuild();
  EXPECT_THAT(spec, HasError("unknown syscall preset `no-such-preset`"));
}

TEST(BuilderTest, LaterValidCallsDoNotClearTheError) {
  SandboxBuilder b;
  b.Timeout(0).Timeout(1000).Command({"/bin/true"});
  EXPECT_THAT(b.TryBuild(), HasError("timeout must be positive"));
}

TEST(BuilderTest, EnvReplacesAnEarlierValue) {
  auto spec = SandboxBuilder().Command({"x"}).Env("A", "1").Env("A", "2").TryBuild();
  ASSERT_THAT(spec, IsOk());
  EXPECT_EQ(spec->env, std::vector<std::string>{"A=2"});
  EXPECT_THAT(SandboxBuilder().Command({"x"}).Env("A=B", "1").TryBuild(), HasError("invalid"));
}

TEST(BuilderTest, BindTargetsMustBeNormalized) {
  for (const char* bad : {"relative", "/a/../b", "/a/./b", "/a//b", "/a/", "/"}) {
    EXPECT_FALSE(SandboxBuilder().Command({"x"}).ReadOnlyBind("/usr", bad).TryBuild()) << bad;
  }
  EXPECT_THAT(SandboxBuilder().Command({"x"}).ReadOnlyBind("/usr", "/opt/usr").TryBuild(),
              IsOk());
}

TEST(BuilderTest, ReservedAndDuplicateTargetsAreRejected) {
  EXPECT_THAT(SandboxBuilder().Command({"x"}).ReadOnlyBind("/usr", "/proc/x").TryBuild(),
              HasError("/proc"));
  EXPECT_THAT(SandboxBuilder().Command({"x"}).ReadOnlyBind("/usr", "/dev").TryBuild(),
              HasError("/dev"));
  EXPECT_THAT(SandboxBuilder().Command({"x"}).ReadOnlyBind("/usr", "/tmp").TryBuild(),
              HasError("/tmp"));
  EXPECT_THAT(SandboxBuilder().Command({"x"}).TmpfsSize(0).ReadOnlyBind("/usr", "/tmp").TryBuild(),
              IsOk());
  EXPECT_THAT(
      SandboxBuilder().Command({"x"}).ReadOnlyBind("/usr", "/a").ReadOnlyBind("/lib", "/a").TryBuild(),
      HasError("twice"));
}

TEST(BuilderTest, EmbeddedNulIsRejected) {
  SandboxSpec spec;
  spec.argv = {std::string("/bin/true\0x", 11)};
  EXPECT_THAT(ValidateSpec(spec), HasError("NUL"));
}

TEST(BuilderTest, HostNetworkNeedsTheToken) {
  EXPECT_THAT(SandboxBuilder().Command({"x"}).Network(NetworkMode::kHost).TryBuild(),
              HasError("ShareHostNetwork"));
  SandboxSpec forged;
  forged.argv = {"x"};
  forged.network = NetworkMode::kHost;  // plain data set by hand: still refused
  EXPECT_THAT(ValidateSpec(forged), HasError("DangerousToken"));
  auto spec = SandboxBuilder().Command({"x"}).ShareHostNetwork(MintDangerousToken()).TryBuild();
  ASSERT_THAT(spec, IsOk());
  EXPECT_EQ(spec->network, NetworkMode::kHost);
}

TEST(BuilderTest, AlwaysDeniedSyscallsNeedTheToken) {
  EXPECT_THAT(SandboxBuilder().Command({"x"}).AllowSyscall("ptrace").TryBuild(),
              HasError("always denied"));
  SandboxSpec forged;
  forged.argv = {"x"};
  forged.syscalls.dangerous_allow = {"ptrace"};
  EXPECT_THAT(ValidateSpec(forged), HasError("DangerousToken"));
  EXPECT_THAT(SandboxBuilder()
                  .Command({"x"})
                  .AllowDangerousSyscall("ptrace", MintDangerousToken())
                  .TryBuild(),
              IsOk());
}

TEST(BuilderTest, UnknownSyscallNamesAreRejected) {
  EXPECT_THAT(SandboxBuilder().Command({"x"}).AllowSyscall("nope").TryBuild(),
              HasError("unknown syscall `nope`"));
  EXPECT_THAT(SandboxBuilder().Command({"x"}).DenySyscall("nope").TryBuild(),
              HasError("unknown syscall `nope`"));
}

TEST(BuilderTest, LimitsAreChecked) {
  EXPECT_FALSE(SandboxBuilder().Command({"x"}).MemoryLimit(1000).TryBuild());
  EXPECT_FALSE(SandboxBuilder().Command({"x"}).PidsLimit(0).TryBuild());
  EXPECT_FALSE(SandboxBuilder().Command({"x"}).OutputLimit(0).TryBuild());
  EXPECT_FALSE(SandboxBuilder().Command({"x"}).OpenFilesLimit(2).TryBuild());
  EXPECT_FALSE(SandboxBuilder().Command({"x"}).CpuShares(1).TryBuild());
  EXPECT_THAT(SandboxBuilder().Command({"x"}).CpuShares(1024).CpuQuotaPercent(150).TryBuild(),
              IsOk());
}

TEST(BuilderTest, ChannelMustBeAnOpenDescriptor) {
  EXPECT_THAT(SandboxBuilder().Command({"x"}).ChannelFd(987).TryBuild(), HasError("channel"));
  const int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  EXPECT_THAT(SandboxBuilder().Command({"x"}).ChannelFd(fd).TryBuild(), IsOk());
  close(fd);
}

TEST(BuilderTest, EmptyCommandIsRejected) {
  EXPECT_THAT(SandboxBuilder().TryBuild(), HasError("command is empty"));
  EXPECT_THAT(SandboxBuilder().Command({}).TryBuild(), HasError("command is empty"));
}

TEST(BuilderTest, DefaultSystemBindsAreReadOnlyAndExist) {
  const auto binds = DefaultSystemBinds();
  ASSERT_FALSE(binds.empty());
  for (const Bind& b : binds) {
    EXPECT_FALSE(b.writable) << b.source;
    EXPECT_EQ(access(b.source.c_str(), F_OK), 0) << b.source;
  }
}

TEST(BuilderTest, NamesAreStable) {
  EXPECT_EQ(StepName(Step::kPivotRoot), "pivot-root");
  EXPECT_EQ(OutcomeKindName(Outcome::Kind::kSeccompViolation), "seccomp");
  EXPECT_EQ(OutcomeKindName(Outcome::Kind::kOutputLimit), "output-limit");
  const Error e{Step::kBind, 2, "/x"};
  EXPECT_EQ(e.ToString(), "step bind: No such file or directory (/x)");
  EXPECT_THAT(PresetNames(), ::testing::ElementsAre("minimal", "lua", "exec-default", "python"));
}

}  // namespace
}  // namespace fnjail::sandbox
