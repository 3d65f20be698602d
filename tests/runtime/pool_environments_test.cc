// Unit tests of runtime/pool_environments.cc with fake environments: deploy and pre-warm,
// scale to zero by the maintenance thread without any invocation, redeploy, undeploy,
// unknown functions, pool settings from the function file and the gateway's defaults.
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/function.h"
#include "runtime/pool.h"
#include "tests/testing/result_matchers.h"

namespace fnjail::runtime {
namespace {

using ::fnjail::testing::HasError;
using ::fnjail::testing::IsOk;
using namespace std::chrono_literals;

struct Counters {
  std::atomic<int> started{0};
  std::atomic<int> alive{0};
};

class CountingEnvironment final : public Environment {
 public:
  CountingEnvironment(Counters& c, std::string tag) : c_(c), tag_(std::move(tag)) { ++c_.alive; }
  ~CountingEnvironment() override { --c_.alive; }
  Result<Response> Invoke(const Invocation&, std::chrono::milliseconds) override {
    Response r;
    r.body = tag_;
    return r;
  }
  ResourceSample SampleUsage() const override { return {}; }
  bool Reusable() const override { return true; }

 private:
  Counters& c_;
  std::string tag_;
};

class CountingFactory final : public EnvironmentFactory {
 public:
  CountingFactory(Counters& c, std::string tag, bool fail) : c_(c), tag_(std::move(tag)), fail_(fail) {}
  Result<std::unique_ptr<Environment>> Start() override {
    if (fail_) return Fail("jail", "step exec: No such file or directory");
    ++c_.started;
    return std::unique_ptr<Environment>(new CountingEnvironment(c_, tag_));
  }

 private:
  Counters& c_;
  std::string tag_;
  bool fail_;
};

FunctionSpec Function(std::string name, std::string handler = "v1") {
  FunctionSpec fn;
  fn.name = std::move(name);
  fn.handler = std::move(handler);
  fn.timeout_ms = 1000;
  return fn;
}

Invocation Call(const std::string& function) {
  Invocation inv;
  inv.request_id = "req-1";
  inv.function = function;
  inv.principal_id = "alice";
  inv.event = "{}";
  return inv;
}

class EnvironmentsTest : public ::testing::Test {
 protected:
  std::unique_ptr<Environments> Make(std::chrono::milliseconds interval = 10ms) {
    EnvironmentsOptions o;
    o.maintenance_interval = interval;
    o.pool_defaults.idle_ttl = 50ms;
    // The factory's tag is the handler, so a redeploy is visible in the responses; a
    // handler named "broken" cannot start.
    o.factory = [this](const FunctionSpec& fn) -> Result<std::shared_ptr<EnvironmentFactory>> {
      return std::make_shared<CountingFactory>(counters_, fn.handler, fn.handler == "broken");
    };
    auto envs = Environments::Create(std::move(o));
    EXPECT_THAT(envs, IsOk());
    return envs ? std::move(*envs) : nullptr;
  }

  static bool Eventually(const std::function<bool()>& done) {
    for (int i = 0; i < 500; ++i) {
      if (done()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return done();
  }

  Counters counters_;
};

TEST_F(EnvironmentsTest, InvokesADeployedFunction) {
  auto envs = Make();
  ASSERT_THAT(envs->Deploy(Function("hello")), IsOk());
  auto r = envs->Invoke("hello", Call("hello"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->response.body, "v1");
  EXPECT_TRUE(r->metering.cold);
  EXPECT_EQ(r->metering.outcome, "ok");
}

TEST_F(EnvironmentsTest, UnknownFunctionIsRefused) {
  auto envs = Make();
  Metering m;
  EXPECT_THAT(envs->Invoke("nope", Call("nope"), &m), HasError("unknown-function"));
  EXPECT_EQ(m.outcome, "unknown-function");
}

TEST_F(EnvironmentsTest, IdleEnvironmentsScaleToZeroWithoutAnInvocation) {
  auto envs = Make();
  ASSERT_THAT(envs->Deploy(Function("hello")), IsOk());
  ASSERT_THAT(envs->Invoke("hello", Call("hello")), IsOk());
  ASSERT_EQ(counters_.alive, 1);
  // Nothing else is invoked: the maintenance thread alone reaps it past the 50 ms TTL.
  EXPECT_TRUE(Eventually([&] { return counters_.alive == 0; }));
  const auto stats = envs->Stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].function, "hello");
  EXPECT_EQ(stats[0].idle, 0u);
  EXPECT_EQ(stats[0].detail.expired, 1u);
}

TEST_F(EnvironmentsTest, DeployPrewarmsAndMaintenanceKeepsMinIdle) {
  auto envs = Make();
  FunctionSpec fn = Function("warm");
  fn.pool.min_idle = 2;
  fn.pool.max_concurrency = 4;
  ASSERT_THAT(envs->Deploy(fn), IsOk());
  EXPECT_EQ(counters_.started, 2);  // before Deploy returned
  auto r = envs->Invoke("warm", Call("warm"));
  ASSERT_THAT(r, IsOk());
  EXPECT_FALSE(r->metering.cold);
  // Long past the TTL, min_idle environments stay.
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(counters_.alive, 2);
  EXPECT_EQ(envs->Stats()[0].cold_starts, 2u);
}

TEST_F(EnvironmentsTest, FailingPrewarmFailsTheDeployAndKeepsTheOldVersion) {
  auto envs = Make();
  FunctionSpec v1 = Function("fn", "v1");
  ASSERT_THAT(envs->Deploy(v1), IsOk());
  FunctionSpec broken = Function("fn", "broken");
  broken.pool.prewarm = 1;
  EXPECT_THAT(envs->Deploy(broken), HasError("cannot start an environment"));
  auto r = envs->Invoke("fn", Call("fn"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->response.body, "v1");
}

TEST_F(EnvironmentsTest, RedeployReplacesThePoolAndUndeployRemovesIt) {
  auto envs = Make(1000ms);
  ASSERT_THAT(envs->Deploy(Function("fn", "v1")), IsOk());
  ASSERT_EQ(envs->Invoke("fn", Call("fn"))->response.body, "v1");
  ASSERT_THAT(envs->Deploy(Function("fn", "v2")), IsOk());
  EXPECT_EQ(counters_.alive, 0);  // the old version's idle environment is gone
  EXPECT_EQ(envs->Invoke("fn", Call("fn"))->response.body, "v2");
  envs->Undeploy("fn");
  EXPECT_EQ(counters_.alive, 0);
  EXPECT_THAT(envs->Invoke("fn", Call("fn")), HasError("unknown-function"));
  EXPECT_TRUE(envs->Stats().empty());
}

TEST_F(EnvironmentsTest, InvalidPoolSettingsFailTheDeploy) {
  auto envs = Make();
  FunctionSpec fn = Function("fn");
  fn.pool.min_idle = 5;
  fn.pool.max_concurrency = 2;
  EXPECT_THAT(envs->Deploy(fn), HasError("min_idle (5) is above max_concurrency (2)"));
}

TEST(PoolOptionsForTest, FunctionSettingsOverrideTheDefaults) {
  PoolOptions defaults;
  defaults.max_concurrency = 8;
  defaults.idle_ttl = 60s;
  defaults.queue_timeout = 2s;
  defaults.max_waiting = 5;
  FunctionSpec fn = Function("fn");
  fn.timeout_ms = 500;
  PoolOptions o = PoolOptionsFor(fn, defaults);
  EXPECT_EQ(o.max_concurrency, 8u);
  EXPECT_EQ(o.idle_ttl, 60s);
  EXPECT_EQ(o.timeout, 500ms);
  EXPECT_EQ(o.queue_timeout, 500ms);  // never longer than the function's own deadline
  EXPECT_EQ(o.max_waiting, 5u);
  fn.concurrency = 3;
  EXPECT_EQ(PoolOptionsFor(fn, defaults).max_concurrency, 3u);
  fn.pool.max_concurrency = 2;
  fn.pool.min_idle = 1;
  fn.pool.idle_ttl_ms = 250;
  fn.pool.per_principal = true;
  fn.pool.max_invocations = 100;
  o = PoolOptionsFor(fn, defaults);
  EXPECT_EQ(o.max_concurrency, 2u);
  EXPECT_EQ(o.min_idle, 1u);
  EXPECT_EQ(o.prewarm, 1u);  // at least min_idle
  EXPECT_EQ(o.idle_ttl, 250ms);
  EXPECT_TRUE(o.per_principal);
  EXPECT_EQ(o.max_invocations, 100u);
}

}  // namespace
}  // namespace fnjail::runtime
