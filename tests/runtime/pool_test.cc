// Unit tests of runtime/pool.cc with fake environments and an injected clock: warm reuse,
// cold starts, the bounded queue, destroy-never-reuse, recycling, scale to zero,
// per-principal isolation, pre-warm and metering.
#include "runtime/pool.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/result_matchers.h"

namespace fnjail::runtime {
namespace {

using ::fnjail::testing::HasError;
using ::fnjail::testing::IsOk;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

class FakeClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() const override {
    return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(ns_.load()));
  }
  void Advance(std::chrono::nanoseconds d) { ns_ += d.count(); }

 private:
  std::atomic<int64_t> ns_{1'000'000'000};
};

// A gate the test opens to let blocked fake invocations finish.
class Gate {
 public:
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock lock(mu_);
    ++waiting_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
  }
  // Waits until `n` invocations are blocked in Wait().
  bool AwaitWaiters(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 5s, [&] { return waiting_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  int waiting_ = 0;
};

// Shared state of every fake environment of one factory.
struct FakeWorld {
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>();
  Gate gate;
  std::atomic<int> started{0};
  std::atomic<int> alive{0};
  std::atomic<int> destroyed{0};
  std::atomic<bool> fail_start{false};
  std::chrono::nanoseconds start_cost = 3ms;
};

// Behaviour is chosen by the event: "ok", "sleep" (advances the clock 2.5 ms and uses
// 7 ms of CPU), "block" (waits for the gate), "timeout", "seccomp", "taint",
// "handled-error", "invalid", "remember" (answers with the principal it saw before and
// remembers the current one: state carried between invocations).
class FakeEnvironment final : public Environment {
 public:
  FakeEnvironment(FakeWorld& world, int id) : world_(world), id_(id) { ++world_.alive; }
  ~FakeEnvironment() override {
    --world_.alive;
    ++world_.destroyed;
  }

  Result<Response> Invoke(const Invocation& inv, std::chrono::milliseconds budget) override {
    last_budget_ms = budget.count();
    last_deadline_ms = inv.deadline_ms;
    Response r;
    r.body = "env" + std::to_string(id_);
    const std::string& e = inv.event;
    if (e == "sleep") {
      world_.clock->Advance(2500us);
      usage_.cpu_ms += 7;
      usage_.peak_memory_kb = 4096;
    } else if (e == "block") {
      world_.gate.Wait();
    } else if (e == "timeout") {
      world_.clock->Advance(budget);
      broken_ = true;
      return Fail("timeout", "no response within " + std::to_string(budget.count()) + " ms");
    } else if (e == "seccomp") {
      broken_ = true;
      violation_ = "ptrace";
      return Fail("seccomp", "killed: forbidden syscall `ptrace`");
    } else if (e == "invalid") {
      return Fail("invalid", "request id too long");
    } else if (e == "runtime-timeout") {
      world_.clock->Advance(std::chrono::milliseconds(inv.deadline_ms));
      r = Response{};
      r.kind = Response::Kind::kUnhandledError;
      r.error_type = "timeout";
      r.error_message = "the handler ran past its deadline of " +
                        std::to_string(inv.deadline_ms) + " ms";
      r.tainted = true;
    } else if (e == "taint") {
      r.kind = Response::Kind::kUnhandledError;
      r.tainted = true;
    } else if (e == "handled-error") {
      r.kind = Response::Kind::kHandledError;
      r.status = 400;
    } else if (e == "remember") {
      r.body = remembered_;
      remembered_ = inv.principal_id;
    }
    return r;
  }
  ResourceSample SampleUsage() const override { return usage_; }
  bool Reusable() const override { return !broken_; }
  std::string Violation() const override { return violation_; }

  void Break() { broken_ = true; }
  int64_t last_budget_ms = 0;
  uint64_t last_deadline_ms = 0;

 private:
  FakeWorld& world_;
  const int id_;
  ResourceSample usage_;
  std::string remembered_;
  std::string violation_;
  std::atomic<bool> broken_{false};
};

class FakeFactory final : public EnvironmentFactory {
 public:
  explicit FakeFactory(FakeWorld& world) : world_(world) {}
  Result<std::unique_ptr<Environment>> Start() override {
    if (world_.fail_start) return Fail("jail", "step clone: Operation not permitted");
    world_.clock->Advance(world_.start_cost);
    auto env = std::make_unique<FakeEnvironment>(world_, ++world_.started);
    std::lock_guard lock(mu_);
    made_.push_back(env.get());
    return env;
  }
  FakeEnvironment* made(size_t i) {
    std::lock_guard lock(mu_);
    return made_.at(i);
  }

 private:
  FakeWorld& world_;
  std::mutex mu_;
  std::vector<FakeEnvironment*> made_;
};

Invocation Event(std::string event, std::string principal = "alice") {
  Invocation inv;
  inv.request_id = "req-1";
  inv.function = "fn";
  inv.principal_id = std::move(principal);
  inv.event = std::move(event);
  return inv;
}

class PoolTest : public ::testing::Test {
 protected:
  std::unique_ptr<Pool> MakePool(PoolOptions options) {
    factory_ = std::make_shared<FakeFactory>(world_);
    auto pool = Pool::Create("fn", options, factory_, world_.clock);
    EXPECT_THAT(pool, IsOk());
    return pool ? std::move(*pool) : nullptr;
  }

  FakeWorld world_;
  std::shared_ptr<FakeFactory> factory_;
};

TEST_F(PoolTest, ColdStartThenWarmReuse) {
  auto pool = MakePool({});
  auto first = pool->Invoke(Event("ok"));
  ASSERT_THAT(first, IsOk());
  EXPECT_TRUE(first->metering.cold);
  EXPECT_EQ(first->metering.init_ms, 3u);
  EXPECT_EQ(first->response.body, "env1");
  auto second = pool->Invoke(Event("ok"));
  ASSERT_THAT(second, IsOk());
  EXPECT_FALSE(second->metering.cold);
  EXPECT_EQ(second->metering.init_ms, 0u);
  EXPECT_EQ(second->response.body, "env1");
  const Pool::Stats s = pool->GetStats();
  EXPECT_EQ(s.cold_starts, 1u);
  EXPECT_EQ(s.warm_starts, 1u);
  EXPECT_EQ(s.idle, 1u);
  EXPECT_EQ(s.busy, 0u);
}

TEST_F(PoolTest, MeteringCountsDurationCpuAndPeakMemory) {
  auto pool = MakePool({});
  Metering out;
  auto r = pool->Invoke(Event("sleep"), &out);
  ASSERT_THAT(r, IsOk());
  const Metering& m = r->metering;
  EXPECT_EQ(m.duration_us, 2500u);
  EXPECT_EQ(m.billed_ms, 3u);  // 2.5 ms rounded up
  EXPECT_EQ(m.cpu_ms, 7u);
  EXPECT_EQ(m.peak_memory_kb, 4096u);
  EXPECT_EQ(m.outcome, "ok");
  EXPECT_EQ(out.billed_ms, 3u);
  // The CPU of the next invocation is its own, not the running total.
  auto again = pool->Invoke(Event("sleep"));
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->metering.cpu_ms, 7u);
  // An instant invocation still bills one millisecond.
  auto quick = pool->Invoke(Event("ok"));
  ASSERT_THAT(quick, IsOk());
  EXPECT_EQ(quick->metering.duration_us, 0u);
  EXPECT_EQ(quick->metering.billed_ms, 1u);
  EXPECT_EQ(quick->metering.cpu_ms, 0u);
}

TEST_F(PoolTest, FunctionErrorsAreResponsesAndKeepTheEnvironment) {
  auto pool = MakePool({});
  auto r = pool->Invoke(Event("handled-error"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->response.kind, Response::Kind::kHandledError);
  EXPECT_EQ(r->metering.outcome, "function-error");
  EXPECT_EQ(pool->GetStats().idle, 1u);
  EXPECT_EQ(world_.destroyed, 0);
}

TEST_F(PoolTest, TimeoutDestroysTheEnvironmentAndTheNextCallStartsCold) {
  PoolOptions o;
  o.timeout = 250ms;
  auto pool = MakePool(o);
  ASSERT_THAT(pool->Invoke(Event("ok")), IsOk());
  Metering m;
  auto r = pool->Invoke(Event("timeout"), &m);
  EXPECT_THAT(r, HasError("timeout"));
  EXPECT_EQ(m.outcome, "timeout");
  EXPECT_EQ(m.billed_ms, 275u);  // the deadline and its grace
  EXPECT_EQ(world_.destroyed, 1);
  EXPECT_EQ(pool->GetStats().idle, 0u);
  auto next = pool->Invoke(Event("ok"));
  ASSERT_THAT(next, IsOk());
  EXPECT_TRUE(next->metering.cold);
  EXPECT_EQ(next->response.body, "env2");
  EXPECT_EQ(pool->GetStats().destroyed, 1u);
}

TEST_F(PoolTest, RuntimeReportedTimeoutIsATimeoutAndReplacesTheEnvironment) {
  PoolOptions o;
  o.timeout = 300ms;
  auto pool = MakePool(o);
  Metering m;
  auto r = pool->Invoke(Event("runtime-timeout"), &m);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "timeout");
  EXPECT_THAT(r.error().message, HasSubstr("deadline of 300 ms"));
  EXPECT_EQ(m.outcome, "timeout");
  EXPECT_EQ(m.billed_ms, 300u);
  EXPECT_EQ(world_.alive, 0);
  EXPECT_EQ(pool->Invoke(Event("ok"))->response.body, "env2");
}

TEST_F(PoolTest, SeccompViolationIsAJailErrorAndNeverReused) {
  auto pool = MakePool({});
  Metering m;
  auto r = pool->Invoke(Event("seccomp"), &m);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "jail");
  EXPECT_THAT(r.error().message, HasSubstr("ptrace"));
  EXPECT_THAT(r.error().message, HasSubstr("function `fn`"));
  EXPECT_EQ(m.outcome, "seccomp");
  EXPECT_EQ(m.violation, "ptrace");
  EXPECT_EQ(world_.alive, 0);
  auto next = pool->Invoke(Event("ok"));
  ASSERT_THAT(next, IsOk());
  EXPECT_EQ(next->response.body, "env2");
}

TEST_F(PoolTest, TaintedRuntimeIsReplaced) {
  auto pool = MakePool({});
  auto r = pool->Invoke(Event("taint"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->response.kind, Response::Kind::kUnhandledError);
  EXPECT_EQ(world_.alive, 0);
  EXPECT_EQ(pool->Invoke(Event("ok"))->response.body, "env2");
}

TEST_F(PoolTest, InvalidInvocationKeepsTheEnvironment) {
  auto pool = MakePool({});
  Metering m;
  auto r = pool->Invoke(Event("invalid"), &m);
  EXPECT_THAT(r, HasError("invalid"));
  EXPECT_EQ(m.billed_ms, 0u);
  EXPECT_EQ(pool->GetStats().idle, 1u);
}

TEST_F(PoolTest, EnvironmentThatEndedWhileIdleIsNotHandedOut) {
  auto pool = MakePool({});
  ASSERT_THAT(pool->Invoke(Event("ok")), IsOk());
  factory_->made(0)->Break();
  auto r = pool->Invoke(Event("ok"));
  ASSERT_THAT(r, IsOk());
  EXPECT_TRUE(r->metering.cold);
  EXPECT_EQ(r->response.body, "env2");
}

TEST_F(PoolTest, MaxInvocationsRecyclesTheEnvironment) {
  PoolOptions o;
  o.max_invocations = 2;
  auto pool = MakePool(o);
  EXPECT_EQ(pool->Invoke(Event("ok"))->response.body, "env1");
  EXPECT_EQ(pool->Invoke(Event("ok"))->response.body, "env1");
  EXPECT_EQ(pool->Invoke(Event("ok"))->response.body, "env2");
  EXPECT_EQ(pool->GetStats().recycled, 1u);
}

TEST_F(PoolTest, BudgetIsTheSmallerOfTimeoutAndTheInvocationDeadline) {
  PoolOptions o;
  o.timeout = 900ms;
  auto pool = MakePool(o);
  ASSERT_THAT(pool->Invoke(Event("ok")), IsOk());
  EXPECT_EQ(factory_->made(0)->last_budget_ms, 990);  // plus a tenth as grace
  EXPECT_EQ(factory_->made(0)->last_deadline_ms, 900u);
  Invocation inv = Event("ok");
  inv.deadline_ms = 40;
  ASSERT_THAT(pool->Invoke(inv), IsOk());
  EXPECT_EQ(factory_->made(0)->last_budget_ms, 60);  // at least 20 ms of grace
  EXPECT_EQ(factory_->made(0)->last_deadline_ms, 40u);
  inv.deadline_ms = 5000;
  ASSERT_THAT(pool->Invoke(inv), IsOk());
  EXPECT_EQ(factory_->made(0)->last_deadline_ms, 900u);
}

TEST_F(PoolTest, ScalesToZeroAfterTheIdleTtl) {
  PoolOptions o;
  o.idle_ttl = 1000ms;
  auto pool = MakePool(o);
  ASSERT_THAT(pool->Invoke(Event("ok")), IsOk());
  world_.clock->Advance(999ms);
  pool->Maintain();
  EXPECT_EQ(pool->GetStats().idle, 1u);
  world_.clock->Advance(1ms);
  pool->Maintain();
  EXPECT_EQ(pool->GetStats().idle, 0u);
  EXPECT_EQ(pool->GetStats().expired, 1u);
  EXPECT_EQ(world_.alive, 0);
}

TEST_F(PoolTest, MinIdleIsKeptWarmPastTheTtl) {
  PoolOptions o;
  o.min_idle = 2;
  o.idle_ttl = 100ms;
  auto pool = MakePool(o);
  pool->Maintain();  // tops up to min_idle
  EXPECT_EQ(pool->GetStats().idle, 2u);
  EXPECT_EQ(world_.started, 2);
  // A burst of three uses a third environment; once idle past the TTL, only it goes.
  Gate& gate = world_.gate;
  std::vector<std::future<Result<InvokeResult>>> calls;
  for (int i = 0; i < 3; ++i) {
    calls.push_back(std::async(std::launch::async, [&] { return pool->Invoke(Event("block")); }));
  }
  ASSERT_TRUE(gate.AwaitWaiters(3));
  gate.Open();
  for (auto& c : calls) ASSERT_THAT(c.get(), IsOk());
  EXPECT_EQ(pool->GetStats().idle, 3u);
  world_.clock->Advance(100ms);
  pool->Maintain();
  EXPECT_EQ(pool->GetStats().idle, 2u);
  EXPECT_EQ(world_.alive, 2);
}

TEST_F(PoolTest, MaintainReplacesEnvironmentsThatEnded) {
  PoolOptions o;
  o.min_idle = 1;
  auto pool = MakePool(o);
  pool->Maintain();
  ASSERT_EQ(world_.started, 1);
  factory_->made(0)->Break();
  pool->Maintain();
  EXPECT_EQ(world_.started, 2);
  EXPECT_EQ(pool->GetStats().idle, 1u);
  EXPECT_EQ(world_.alive, 1);
}

TEST_F(PoolTest, PrewarmStartsEnvironmentsAndReportsStartErrors) {
  PoolOptions o;
  o.max_concurrency = 4;
  auto pool = MakePool(o);
  ASSERT_THAT(pool->Prewarm(3), IsOk());
  EXPECT_EQ(pool->GetStats().idle, 3u);
  auto r = pool->Invoke(Event("ok"));
  ASSERT_THAT(r, IsOk());
  EXPECT_FALSE(r->metering.cold);
  world_.fail_start = true;
  EXPECT_THAT(pool->Prewarm(4), HasError("step clone"));
  EXPECT_EQ(pool->GetStats().starting, 0u);
  EXPECT_EQ(pool->GetStats().start_failures, 1u);
}

TEST_F(PoolTest, ColdStartFailureIsAJailErrorAndFreesTheSlot) {
  PoolOptions o;
  o.max_concurrency = 1;
  auto pool = MakePool(o);
  world_.fail_start = true;
  Metering m;
  auto r = pool->Invoke(Event("ok"), &m);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "jail");
  EXPECT_THAT(r.error().message, HasSubstr("cannot start an environment"));
  EXPECT_EQ(m.outcome, "start-failed");
  world_.fail_start = false;
  EXPECT_THAT(pool->Invoke(Event("ok")), IsOk());
}

TEST_F(PoolTest, ConcurrencyLimitQueuesThenRefusesAtTheDeadline) {
  PoolOptions o;
  o.max_concurrency = 2;
  o.max_waiting = 4;
  o.queue_timeout = 50ms;
  auto pool = MakePool(o);
  std::vector<std::future<Result<InvokeResult>>> busy;
  for (int i = 0; i < 2; ++i) {
    busy.push_back(std::async(std::launch::async, [&] { return pool->Invoke(Event("block")); }));
  }
  ASSERT_TRUE(world_.gate.AwaitWaiters(2));
  const auto start = std::chrono::steady_clock::now();
  Metering m;
  auto refused = pool->Invoke(Event("ok"), &m);
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "over-capacity");
  EXPECT_THAT(refused.error().message, HasSubstr("concurrency limit (2)"));
  EXPECT_EQ(m.outcome, "over-capacity");
  EXPECT_GE(waited, 50ms);
  EXPECT_LT(waited, 5s);
  EXPECT_EQ(world_.started, 2);
  world_.gate.Open();
  for (auto& b : busy) EXPECT_THAT(b.get(), IsOk());
  EXPECT_EQ(pool->GetStats().over_capacity, 1u);
}

TEST_F(PoolTest, QueuedInvocationRunsWhenAnEnvironmentFrees) {
  PoolOptions o;
  o.max_concurrency = 1;
  o.queue_timeout = 10s;
  auto pool = MakePool(o);
  auto first = std::async(std::launch::async, [&] { return pool->Invoke(Event("block")); });
  ASSERT_TRUE(world_.gate.AwaitWaiters(1));
  auto queued = std::async(std::launch::async, [&] { return pool->Invoke(Event("ok")); });
  for (int i = 0; i < 500 && pool->GetStats().waiting == 0; ++i) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(pool->GetStats().waiting, 1u);
  world_.gate.Open();
  ASSERT_THAT(first.get(), IsOk());
  auto r = queued.get();
  ASSERT_THAT(r, IsOk());
  EXPECT_FALSE(r->metering.cold);  // it got the environment the first one released
  EXPECT_EQ(world_.started, 1);
}

TEST_F(PoolTest, FullQueueRefusesAtOnce) {
  PoolOptions o;
  o.max_concurrency = 1;
  o.max_waiting = 1;
  o.queue_timeout = 10s;
  auto pool = MakePool(o);
  auto first = std::async(std::launch::async, [&] { return pool->Invoke(Event("block")); });
  ASSERT_TRUE(world_.gate.AwaitWaiters(1));
  auto queued = std::async(std::launch::async, [&] { return pool->Invoke(Event("ok")); });
  for (int i = 0; i < 500 && pool->GetStats().waiting == 0; ++i) std::this_thread::sleep_for(1ms);
  ASSERT_EQ(pool->GetStats().waiting, 1u);
  const auto start = std::chrono::steady_clock::now();
  auto refused = pool->Invoke(Event("ok"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "over-capacity");
  EXPECT_THAT(refused.error().message, HasSubstr("1 invocations are already waiting"));
  world_.gate.Open();
  EXPECT_THAT(first.get(), IsOk());
  EXPECT_THAT(queued.get(), IsOk());
}

TEST_F(PoolTest, ManyThreadsNeverExceedTheConcurrencyLimit) {
  PoolOptions o;
  o.max_concurrency = 3;
  o.max_waiting = 64;
  o.queue_timeout = 30s;
  auto pool = MakePool(o);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        if (pool->Invoke(Event(i % 50 == 7 ? "taint" : "ok"))) ++ok;
        EXPECT_LE(world_.alive.load(), 3);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, 1600);
  const Pool::Stats s = pool->GetStats();
  EXPECT_EQ(s.busy, 0u);
  EXPECT_EQ(s.waiting, 0u);
  EXPECT_EQ(s.starting, 0u);
  EXPECT_LE(s.idle, 3u);
  EXPECT_EQ(s.cold_starts + s.warm_starts, 1600u);
}

TEST_F(PoolTest, PerPrincipalIsolationNeverCarriesStateAcross) {
  PoolOptions o;
  o.per_principal = true;
  o.max_concurrency = 2;
  auto pool = MakePool(o);
  EXPECT_EQ(pool->Invoke(Event("remember", "alice"))->response.body, "");
  // Bob never sees Alice's environment, and Alice gets hers back.
  EXPECT_EQ(pool->Invoke(Event("remember", "bob"))->response.body, "");
  EXPECT_EQ(pool->Invoke(Event("remember", "alice"))->response.body, "alice");
  EXPECT_EQ(pool->Invoke(Event("remember", "bob"))->response.body, "bob");
  // At the limit, a third principal evicts an idle environment rather than sharing one.
  auto carol = pool->Invoke(Event("remember", "carol"));
  ASSERT_THAT(carol, IsOk());
  EXPECT_EQ(carol->response.body, "");
  EXPECT_TRUE(carol->metering.cold);
  EXPECT_EQ(pool->GetStats().evicted, 1u);
  EXPECT_LE(world_.alive, 2);
}

TEST_F(PoolTest, WithoutIsolationPrincipalsShareWarmEnvironments) {
  auto pool = MakePool({});
  EXPECT_EQ(pool->Invoke(Event("remember", "alice"))->response.body, "");
  EXPECT_EQ(pool->Invoke(Event("remember", "bob"))->response.body, "alice");
}

TEST_F(PoolTest, PrewarmedEnvironmentGoesToItsFirstPrincipalOnly) {
  PoolOptions o;
  o.per_principal = true;
  auto pool = MakePool(o);
  ASSERT_THAT(pool->Prewarm(1), IsOk());
  auto alice = pool->Invoke(Event("remember", "alice"));
  ASSERT_THAT(alice, IsOk());
  EXPECT_FALSE(alice->metering.cold);
  auto bob = pool->Invoke(Event("remember", "bob"));
  ASSERT_THAT(bob, IsOk());
  EXPECT_TRUE(bob->metering.cold);
  EXPECT_EQ(bob->response.body, "");
}

TEST_F(PoolTest, CloseRefusesAndDestroysIdleEnvironments) {
  auto pool = MakePool({});
  ASSERT_THAT(pool->Invoke(Event("ok")), IsOk());
  pool->Close();
  EXPECT_EQ(world_.alive, 0);
  EXPECT_THAT(pool->Invoke(Event("ok")), HasError("unknown-function"));
}

TEST_F(PoolTest, CloseWakesTheQueueAndBusyEnvironmentsEndWithTheirInvocation) {
  PoolOptions o;
  o.max_concurrency = 1;
  o.queue_timeout = 30s;
  auto pool = MakePool(o);
  auto first = std::async(std::launch::async, [&] { return pool->Invoke(Event("block")); });
  ASSERT_TRUE(world_.gate.AwaitWaiters(1));
  auto queued = std::async(std::launch::async, [&] { return pool->Invoke(Event("ok")); });
  for (int i = 0; i < 500 && pool->GetStats().waiting == 0; ++i) std::this_thread::sleep_for(1ms);
  pool->Close();
  EXPECT_THAT(queued.get(), HasError("unknown-function"));
  world_.gate.Open();
  EXPECT_THAT(first.get(), IsOk());
  EXPECT_EQ(world_.alive, 0);
}

TEST(PoolOptionsTest, InvalidSettingsAreRefused) {
  PoolOptions o;
  o.max_concurrency = 0;
  EXPECT_THAT(ValidatePoolOptions(o), HasError("max_concurrency"));
  o = {};
  o.min_idle = 9;
  o.max_concurrency = 8;
  EXPECT_THAT(ValidatePoolOptions(o), HasError("min_idle (9) is above max_concurrency (8)"));
  o = {};
  o.idle_ttl = 0ms;
  EXPECT_THAT(ValidatePoolOptions(o), HasError("idle_ttl_ms"));
  o = {};
  EXPECT_THAT(ValidatePoolOptions(o), IsOk());
}

TEST(MeteringTest, RoundsUpToWholeMilliseconds) {
  EXPECT_EQ(BilledMillis(0), 1u);
  EXPECT_EQ(BilledMillis(1), 1u);
  EXPECT_EQ(BilledMillis(1000), 1u);
  EXPECT_EQ(BilledMillis(1001), 2u);
  EXPECT_EQ(CeilMillis(std::chrono::nanoseconds(-5)), 0u);
  EXPECT_EQ(CeilMillis(1ns), 1u);
  EXPECT_EQ(CeilMillis(2ms), 2u);
  ResourceSample before{10, 0, 100};
  ResourceSample after{4, 0, 200};  // a counter that went backwards counts as zero
  const auto t = std::chrono::steady_clock::time_point();
  const Metering m = MeterInvocation(t, t + 1500us, before, after);
  EXPECT_EQ(m.duration_us, 1500u);
  EXPECT_EQ(m.billed_ms, 2u);
  EXPECT_EQ(m.cpu_ms, 0u);
  EXPECT_EQ(m.peak_memory_kb, 200u);
}

}  // namespace
}  // namespace fnjail::runtime
