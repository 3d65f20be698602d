// Unit tests of sandbox/cgroup.cc: the generated limit writes of both backends and the
// hierarchy detection. The v1 backend also runs live in launcher_test.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sandbox/internal/cgroup.h"
#include "tests/testing/result_matchers.h"

namespace fnjail::sandbox::internal::cgroup {
namespace {

using ::fnjail::testing::HasError;
using ::fnjail::testing::IsOk;
using ::testing::ElementsAre;

Limits SomeLimits() {
  Limits l;
  l.memory_bytes = 64 << 20;
  l.pids = 32;
  l.cpu_shares = 512;
  l.cpu_quota_percent = 50;
  return l;
}

TEST(CgroupTest, V1Writes) {
  EXPECT_THAT(PlanWrites(Version::kV1, SomeLimits()),
              ElementsAre(Write{"memory", "memory.limit_in_bytes", "67108864"},
                          Write{"memory", "memory.memsw.limit_in_bytes", "67108864", true},
                          Write{"pids", "pids.max", "32"}, Write{"cpu", "cpu.shares", "512"},
                          Write{"cpu", "cpu.cfs_period_us", "100000"},
                          Write{"cpu", "cpu.cfs_quota_us", "50000"}));
}

TEST(CgroupTest, V2Writes) {
  EXPECT_THAT(PlanWrites(Version::kV2, SomeLimits()),
              ElementsAre(Write{"", "memory.max", "67108864"},
                          Write{"", "memory.swap.max", "0", true},
                          Write{"", "memory.oom.group", "1", true}, Write{"", "pids.max", "32"},
                          Write{"", "cpu.weight", "20"}, Write{"", "cpu.max", "50000 100000"}));
}

TEST(CgroupTest, CpuLimitsAreOmittedWhenUnset) {
  Limits l = SomeLimits();
  l.cpu_shares = 0;
  l.cpu_quota_percent = 0;
  for (Version v : {Version::kV1, Version::kV2}) {
    for (const Write& w : PlanWrites(v, l)) {
      EXPECT_EQ(w.file.rfind("cpu", 0), std::string::npos) << w.file;
    }
  }
}

TEST(CgroupTest, V2WeightSpansTheShareRange) {
  Limits l = SomeLimits();
  l.cpu_quota_percent = 0;
  l.cpu_shares = 2;
  EXPECT_EQ(PlanWrites(Version::kV2, l).back().value, "1");
  l.cpu_shares = 262144;
  EXPECT_EQ(PlanWrites(Version::kV2, l).back().value, "10000");
}

constexpr const char* kHybridMountinfo =
    "25 1 8:1 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
    "30 25 0:26 / /sys/fs/cgroup/unified rw shared:7 - cgroup2 cgroup2 rw\n"
    "31 25 0:27 / /sys/fs/cgroup/memory rw shared:8 - cgroup cgroup rw,memory\n"
    "32 25 0:28 / /sys/fs/cgroup/pids rw shared:9 - cgroup cgroup rw,pids\n"
    "33 25 0:29 / /sys/fs/cgroup/cpu,cpuacct rw shared:10 - cgroup cgroup rw,cpu,cpuacct\n";
constexpr const char* kHybridSelf =
    "8:pids:/\n4:memory:/svc/a1\n2:cpu,cpuacct:/\n0::/\n";

TEST(CgroupTest, DetectsV1OnAHybridHost) {
  auto layout = ParseLayout(kHybridMountinfo, kHybridSelf, "");
  ASSERT_THAT(layout, IsOk());
  EXPECT_EQ(layout->version, Version::kV1);
  using P = std::pair<std::string, std::string>;
  EXPECT_THAT(layout->bases, ElementsAre(P{"memory", "/sys/fs/cgroup/memory/svc/a1"},
                                         P{"pids", "/sys/fs/cgroup/pids"},
                                         P{"cpu", "/sys/fs/cgroup/cpu,cpuacct"},
                                         P{"cpuacct", "/sys/fs/cgroup/cpu,cpuacct"}));
}

TEST(CgroupTest, DetectsV2WhenTheUnifiedHierarchyHasTheControllers) {
  const std::string mountinfo =
      "25 1 8:1 / / rw - ext4 /dev/vda rw\n"
      "30 25 0:26 / /sys/fs/cgroup rw shared:7 - cgroup2 cgroup2 rw,nsdelegate\n";
  auto layout = ParseLayout(mountinfo, "0::/user.slice/app\n", "cpuset cpu io memory pids\n");
  ASSERT_THAT(layout, IsOk());
  EXPECT_EQ(layout->version, Version::kV2);
  ASSERT_EQ(layout->bases.size(), 1u);
  EXPECT_EQ(layout->bases[0].second, "/sys/fs/cgroup/user.slice/app");
}

TEST(CgroupTest, V2WithoutMemoryControllerIsNotUsable) {
  const std::string mountinfo =
      "30 25 0:26 / /sys/fs/cgroup rw shared:7 - cgroup2 cgroup2 rw\n";
  EXPECT_THAT(ParseLayout(mountinfo, "0::/app\n", "cpu io\n"), HasError("memory and pids"));
}

TEST(CgroupTest, MountRootIsStrippedFromTheOwnPath) {
  // A cgroup filesystem mounted from a sub-tree (as inside a container).
  const std::string mountinfo =
      "31 25 0:27 /svc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
      "32 25 0:28 /svc /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n";
  auto layout = ParseLayout(mountinfo, "4:memory:/svc/a1\n8:pids:/svc\n", "");
  ASSERT_THAT(layout, IsOk());
  EXPECT_EQ(layout->bases[0].second, "/sys/fs/cgroup/memory/a1");
  EXPECT_EQ(layout->bases[1].second, "/sys/fs/cgroup/pids");
}

}  // namespace
}  // namespace fnjail::sandbox::internal::cgroup
