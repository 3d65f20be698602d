// Integration tests of sandbox/jail_host.cc: warm-started jails handed work later through
// their channel, from several threads, and every way a live jail can end.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sandbox/sandbox.h"
#include "tests/sandbox/jail_testing.h"
#include "tests/testing/result_matchers.h"

namespace fnjail::sandbox {
namespace {

using ::fnjail::sandbox::testing::KernelRefused;
using ::fnjail::sandbox::testing::LeftoverJailCgroups;
using ::fnjail::testing::IsOk;
using ::testing::HasSubstr;
using Kind = Outcome::Kind;
using std::chrono::milliseconds;

constexpr milliseconds kWait{20'000};

// A jail running the channel worker (tests/sandbox/testcases/channel_worker.cc).
SandboxBuilder WorkerJail() {
  const std::string worker = FNJAIL_CHANNEL_WORKER;
  SandboxBuilder b;
  b.DefaultSystemBinds()
      .ReadOnlyBind(std::filesystem::path(worker).parent_path().string())
      .Command({worker})
      .Timeout(20'000);
  return b;
}

// One end of a socketpair held by the test; the other goes to the jail as fd 3.
struct Channel {
  Channel() {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0) {
      host.reset(fds[0]);
      jail.reset(fds[1]);
    }
  }
  // Sends `line` and returns the answer line ("" on timeout or EOF).
  std::string Ask(const std::string& line) const {
    const std::string msg = line + "\n";
    if (write(host.get(), msg.data(), msg.size()) != static_cast<ssize_t>(msg.size())) return "";
    return ReadLine();
  }
  std::string ReadLine() const {
    std::string got;
    char c;
    for (;;) {
      pollfd p{host.get(), POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(kWait.count())) <= 0) return got;
      if (read(host.get(), &c, 1) != 1) return got;
      if (c == '\n') return got;
      got.push_back(c);
    }
  }
  UniqueFd host;
  UniqueFd jail;
};

class JailHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto host = JailHost::Create();
    ASSERT_THAT(host, IsOk());
    host_ = std::move(*host);
  }

  // Prepares `builder`'s spec, or fails the test.
  std::unique_ptr<PreparedJail> Prepare(const SandboxBuilder& builder) {
    auto spec = builder.TryBuild();
    EXPECT_THAT(spec, IsOk());
    if (!spec) return nullptr;
    auto prepared = PreparedJail::Prepare(*spec);
    if (!prepared) {
      refused_ = KernelRefused(prepared.error());
      if (!refused_) ADD_FAILURE() << prepared.error().ToString();
      return nullptr;
    }
    return std::make_unique<PreparedJail>(std::move(*prepared));
  }

  // Starts a worker jail with `channel`; nullptr when the kernel refused (refused_ set).
  std::shared_ptr<LiveJail> StartWorker(const PreparedJail& prepared, Channel& channel,
                                        StartOptions options = {}) {
    options.channel_fd = channel.jail.get();
    auto jail = host_->Start(prepared, options);
    channel.jail.reset();  // the jail has its own copy now
    if (!jail) {
      refused_ = KernelRefused(jail.error());
      if (!refused_) ADD_FAILURE() << jail.error().ToString();
      return nullptr;
    }
    return *jail;
  }

  std::unique_ptr<JailHost> host_;
  bool refused_ = false;
};

#define SKIP_IF_REFUSED()                                        \
  if (refused_) GTEST_SKIP() << "kernel refused namespaces or cgroups"

TEST_F(JailHostTest, SeveralJailsServeWorkHandedFromSeveralThreads) {
  auto prepared = Prepare(WorkerJail());
  SKIP_IF_REFUSED();
  ASSERT_NE(prepared, nullptr);
  constexpr int kJails = 4;
  constexpr int kRounds = 25;
  std::vector<Channel> channels(kJails);
  std::vector<std::shared_ptr<LiveJail>> jails;
  for (int i = 0; i < kJails; ++i) {
    jails.push_back(StartWorker(*prepared, channels[static_cast<size_t>(i)]));
    SKIP_IF_REFUSED();
    ASSERT_NE(jails.back(), nullptr);
    EXPECT_GT(jails.back()->pid(), 0);
    EXPECT_FALSE(jails.back()->ended());
  }
  EXPECT_EQ(host_->live_jails(), static_cast<size_t>(kJails));
  // Each thread works through every jail, so jails see work from several threads.
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  std::vector<std::mutex> locks(kJails);
  for (int t = 0; t < kJails; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRounds; ++r) {
        const size_t j = static_cast<size_t>((t + r) % kJails);
        std::lock_guard lock(locks[j]);
        const std::string word = "w" + std::to_string(t) + "-" + std::to_string(r);
        if (channels[j].Ask("echo " + word) != word) ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  // Closing the channel ends a worker normally.
  for (int i = 0; i < kJails; ++i) {
    channels[static_cast<size_t>(i)].host.reset();
    auto outcome = jails[static_cast<size_t>(i)]->WaitFor(kWait);
    ASSERT_TRUE(outcome.has_value());
    EXPECT_EQ(outcome->kind, Kind::kExited);
    EXPECT_EQ(outcome->exit_code, 0);
    EXPECT_TRUE(jails[static_cast<size_t>(i)]->ended());
  }
  EXPECT_EQ(host_->live_jails(), 0u);
  EXPECT_TRUE(LeftoverJailCgroups().empty());
}

// Regression: the child of a start is a raw clone of one thread of a process with many.
// Any libc call in it that coordinates with "all threads" (glibc's setxid broadcast behind
// setresuid and friends) could find a lock another thread held at clone time and hang
// until the setup deadline. Threads being created and joined all the time hold such locks
// often; every start must still be quick.
TEST_F(JailHostTest, StartsStayQuickWhileOtherThreadsComeAndGo) {
  auto prepared = Prepare(WorkerJail());
  SKIP_IF_REFUSED();
  ASSERT_NE(prepared, nullptr);
  std::atomic<bool> stop{false};
  std::vector<std::thread> churners;
  for (int i = 0; i < 2; ++i) {
    churners.emplace_back([&stop] {
      while (!stop.load()) std::thread([] {}).join();
    });
  }
  constexpr int kStarts = 30;
  int slow = 0;
  for (int i = 0; i < kStarts; ++i) {
    Channel channel;
    const auto begin = std::chrono::steady_clock::now();
    auto jail = StartWorker(*prepared, channel);
    if (refused_ || jail == nullptr) break;
    // A hung child shows up as a start that takes the whole setup deadline (20 s).
    if (std::chrono::steady_clock::now() - begin > std::chrono::seconds(5)) ++slow;
    EXPECT_EQ(channel.Ask("echo hi"), "hi");
    channel.host.reset();
    auto outcome = jail->WaitFor(kWait);
    ASSERT_TRUE(outcome.has_value());
    EXPECT_EQ(outcome->kind, Kind::kExited);
  }
  stop = true;
  for (auto& t : churners) t.join();
  SKIP_IF_REFUSED();
  EXPECT_EQ(slow, 0);
}

TEST_F(JailHostTest, KillGivesTheReasonAsOutcome) {
  auto prepared = Prepare(WorkerJail());
  SKIP_IF_REFUSED();
  Channel channel;
  auto jail = StartWorker(*prepared, channel);
  SKIP_IF_REFUSED();
  ASSERT_EQ(channel.Ask("echo up"), "up");
  EXPECT_FALSE(jail->WaitFor(milliseconds(50)).has_value());
  jail->Kill(Kind::kTimeout);
  jail->Kill(Kind::kOutputLimit);  // idempotent: the first reason stays
  auto outcome = jail->WaitFor(kWait);
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->kind, Kind::kTimeout);
  EXPECT_EQ(outcome->ShellStatus(), 128 + SIGKILL);
  jail->Kill(Kind::kTimeout);  // after the end: no effect
  EXPECT_EQ(jail->WaitFor(milliseconds(0))->kind, Kind::kTimeout);
  EXPECT_TRUE(LeftoverJailCgroups().empty());
}

TEST_F(JailHostTest, JailThatEndsByItselfKeepsItsOutcomeDespiteALaterKill) {
  auto prepared = Prepare(WorkerJail());
  SKIP_IF_REFUSED();
  Channel channel;
  auto jail = StartWorker(*prepared, channel);
  SKIP_IF_REFUSED();
  ASSERT_EQ(write(channel.host.get(), "exit 9\n", 7), 7);
  auto outcome = jail->WaitFor(kWait);
  ASSERT_TRUE(outcome.has_value());
  jail->Kill(Kind::kTimeout);
  EXPECT_EQ(outcome->kind, Kind::kExited);
  EXPECT_EQ(outcome->exit_code, 9);
  EXPECT_EQ(jail->WaitFor(kWait)->exit_code, 9);
}

TEST_F(JailHostTest, SeccompViolationWhileLiveIsReportedByName) {
  auto prepared = Prepare(WorkerJail());
  SKIP_IF_REFUSED();
  Channel channel;
  auto jail = StartWorker(*prepared, channel);
  SKIP_IF_REFUSED();
  ASSERT_EQ(channel.Ask("echo ready"), "ready");
  EXPECT_EQ(channel.Ask("violate"), "");  // killed, never answers
  auto outcome = jail->WaitFor(kWait);
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->kind, Kind::kSeccompViolation);
  EXPECT_EQ(outcome->syscall, "io_uring_setup");
  EXPECT_TRUE(LeftoverJailCgroups().empty());
}

TEST_F(JailHostTest, CrashWhileLiveIsReportedAsItsSignal) {
  auto prepared = Prepare(WorkerJail());
  SKIP_IF_REFUSED();
  Channel channel;
  auto jail = StartWorker(*prepared, channel);
  SKIP_IF_REFUSED();
  ASSERT_EQ(write(channel.host.get(), "segv\n", 5), 5);
  auto outcome = jail->WaitFor(kWait);
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->kind, Kind::kSignaled);
  EXPECT_EQ(outcome->signal, SIGSEGV);
}

TEST_F(JailHostTest, MemoryLimitWhileLiveEndsInOom) {
  auto prepared = Prepare(WorkerJail().MemoryLimit(32 << 20));
  SKIP_IF_REFUSED();
  Channel channel;
  auto jail = StartWorker(*prepared, channel);
  SKIP_IF_REFUSED();
  const Usage before = jail->SampleUsage();
  EXPECT_GT(before.memory_kb, 0u);
  EXPECT_LT(before.memory_kb, 32u << 10);
  ASSERT_EQ(write(channel.host.get(), "alloc\n", 6), 6);
  auto outcome = jail->WaitFor(kWait);
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->kind, Kind::kOomKilled) << OutcomeKindName(outcome->kind);
  EXPECT_TRUE(LeftoverJailCgroups().empty());
}

TEST_F(JailHostTest, LifetimeEndsTheJailWithTimeout) {
  auto prepared = Prepare(WorkerJail());
  SKIP_IF_REFUSED();
  Channel channel;
  StartOptions options;
  options.lifetime_ms = 300;
  auto jail = StartWorker(*prepared, channel, options);
  SKIP_IF_REFUSED();
  auto outcome = jail->WaitFor(kWait);
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->kind, Kind::kTimeout);
  EXPECT_GE(outcome->wall_ms, 300u);
}

TEST_F(JailHostTest, OutputIsCollectedAndTakenOnce) {
  auto prepared = Prepare(WorkerJail());
  SKIP_IF_REFUSED();
  Channel channel;
  auto jail = StartWorker(*prepared, channel);
  SKIP_IF_REFUSED();
  ASSERT_EQ(channel.Ask("print hello"), "printed");
  // The launcher thread copies output as it comes: give it a moment.
  std::string out;
  for (int i = 0; i < 200 && out.find("hello\n") == std::string::npos; ++i) {
    out += jail->TakeOutput();
    if (out.find("hello\n") == std::string::npos) std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_EQ(out, "hello\n");
  EXPECT_EQ(jail->TakeOutput(), "");
}

TEST_F(JailHostTest, OutputKeepsOnlyTheMostRecentBytes) {
  auto prepared = Prepare(WorkerJail().OutputLimit(1 << 20));
  SKIP_IF_REFUSED();
  Channel channel;
  StartOptions options;
  options.output_keep_bytes = 4;
  auto jail = StartWorker(*prepared, channel, options);
  SKIP_IF_REFUSED();
  ASSERT_EQ(channel.Ask("print abcdefgh"), "printed");
  ASSERT_EQ(channel.Ask("exit 0"), "");
  ASSERT_TRUE(jail->WaitFor(kWait).has_value());
  EXPECT_EQ(jail->TakeOutput(), "fgh\n");
}

TEST_F(JailHostTest, OutputBeyondTheCapKills) {
  auto prepared = Prepare(WorkerJail().OutputLimit(64 << 10));
  SKIP_IF_REFUSED();
  Channel channel;
  StartOptions options;
  options.output_keep_bytes = 1 << 20;
  auto jail = StartWorker(*prepared, channel, options);
  SKIP_IF_REFUSED();
  ASSERT_EQ(write(channel.host.get(), "flood\n", 6), 6);
  auto outcome = jail->WaitFor(kWait);
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->kind, Kind::kOutputLimit);
  EXPECT_EQ(jail->TakeOutput().size(), 64u << 10);
}

TEST_F(JailHostTest, OnlyStdioAndTheChannelReachTheJail) {
  auto prepared = Prepare(WorkerJail());
  SKIP_IF_REFUSED();
  // A careless embedder's descriptor without close-on-exec.
  UniqueFd leaked(open("/etc/hostname", O_RDONLY));
  ASSERT_TRUE(leaked);
  Channel channel;
  auto jail = StartWorker(*prepared, channel);
  SKIP_IF_REFUSED();
  EXPECT_EQ(channel.Ask("fds"), "0 1 2 3");
  jail->Kill(Kind::kTimeout);
  ASSERT_TRUE(jail->WaitFor(kWait).has_value());
}

TEST_F(JailHostTest, SetupFailureIsStartsError) {
  auto prepared = Prepare(SandboxBuilder().DefaultSystemBinds().Command({"/nonexistent"}));
  SKIP_IF_REFUSED();
  ASSERT_NE(prepared, nullptr);
  auto jail = host_->Start(*prepared);
  if (!jail && KernelRefused(jail.error()) && jail.error().step != Step::kFindCommand) {
    GTEST_SKIP() << jail.error().ToString();
  }
  ASSERT_FALSE(jail);
  EXPECT_EQ(jail.error().step, Step::kFindCommand);
  EXPECT_EQ(jail.error().err, ENOENT);
  EXPECT_EQ(host_->live_jails(), 0u);
  EXPECT_TRUE(LeftoverJailCgroups().empty());
}

TEST_F(JailHostTest, PreparedJailMayGoAwayWhileItsJailRuns) {
  auto prepared = Prepare(WorkerJail());
  SKIP_IF_REFUSED();
  Channel channel;
  auto jail = StartWorker(*prepared, channel);
  SKIP_IF_REFUSED();
  prepared.reset();
  EXPECT_EQ(channel.Ask("echo still"), "still");
  channel.host.reset();
  auto outcome = jail->WaitFor(kWait);
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->kind, Kind::kExited);
}

TEST_F(JailHostTest, DestroyingTheHostEndsLiveJailsAndRemovesTheirCgroups) {
  auto prepared = Prepare(WorkerJail());
  SKIP_IF_REFUSED();
  std::vector<Channel> channels(3);
  std::vector<std::shared_ptr<LiveJail>> jails;
  for (Channel& c : channels) {
    jails.push_back(StartWorker(*prepared, c));
    SKIP_IF_REFUSED();
    ASSERT_EQ(c.Ask("echo up"), "up");
  }
  if (geteuid() == 0) {
    EXPECT_FALSE(LeftoverJailCgroups().empty());
  }
  host_.reset();
  EXPECT_TRUE(LeftoverJailCgroups().empty());
  for (const auto& jail : jails) {
    ASSERT_TRUE(jail->ended());
    auto outcome = jail->WaitFor(milliseconds(0));
    ASSERT_TRUE(outcome.has_value());
    EXPECT_EQ(outcome->kind, Kind::kSignaled);
    EXPECT_EQ(outcome->signal, SIGKILL);
    jail->Kill(Kind::kTimeout);  // harmless after the host is gone
  }
  for (Channel& c : channels) EXPECT_EQ(c.ReadLine(), "");  // the worker is gone
}

TEST_F(JailHostTest, UsageGrowsWithWork) {
  auto prepared = Prepare(WorkerJail());
  SKIP_IF_REFUSED();
  Channel channel;
  auto jail = StartWorker(*prepared, channel);
  SKIP_IF_REFUSED();
  for (int i = 0; i < 200; ++i) ASSERT_EQ(channel.Ask("echo x"), "x");
  const Usage live = jail->SampleUsage();
  EXPECT_GT(live.peak_memory_kb, 0u);
  EXPECT_GE(live.peak_memory_kb, live.memory_kb);
  // Later samples re-read the counters from their start (the files stay open between them).
  for (int i = 0; i < 200; ++i) ASSERT_EQ(channel.Ask("echo x"), "x");
  const Usage again = jail->SampleUsage();
  EXPECT_GT(again.memory_kb, 0u);
  EXPECT_GE(again.peak_memory_kb, live.peak_memory_kb);
  EXPECT_GE(again.cpu_ms, live.cpu_ms);
  channel.host.reset();
  ASSERT_TRUE(jail->WaitFor(kWait).has_value());
  const Usage final_usage = jail->SampleUsage();
  EXPECT_GE(final_usage.cpu_ms, live.cpu_ms);
  EXPECT_EQ(final_usage.memory_kb, 0u);
}

TEST(JailHostSyncTest, SynchronousRunStillWorksNextToAHost) {
  auto host = JailHost::Create();
  ASSERT_THAT(host, IsOk());
  auto spec = testing::ProbeJail({"exit", "3"}).TryBuild();
  ASSERT_THAT(spec, IsOk());
  auto r = sandbox::Run(*spec, RunIo{-1, -1, -1});
  if (!r && KernelRefused(r.error())) GTEST_SKIP() << r.error().ToString();
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->exit_code, 3);
}

}  // namespace
}  // namespace fnjail::sandbox
