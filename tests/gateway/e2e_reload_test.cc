// End to end: reloads (good, bad, on file change) and the graceful stop of the real service.
#include <future>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "gateway/service.h"
#include "tests/gateway/e2e_fixture.h"

namespace fnjail::gateway {
namespace {

using fnjail::testing::E2eDeployment;
using fnjail::testing::LogCapture;
using fnjail::testing::Request;
using fnjail::testing::WriteFile;
using namespace std::chrono_literals;

class E2eReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = fnjail::testing::JailsUnavailable()) {
      GTEST_SKIP() << "jails unavailable: " << *why;
    }
    ServiceOptions options;
    options.config_path = deployment_.config();
    options.drain_timeout = 5s;
    options.log = logs_.Fn();
    auto service = Service::Start(std::move(options));
    ASSERT_TRUE(service.has_value()) << service.error().ToString() << "\n" << logs_.All();
    service_ = std::move(*service);
    port_ = service_->ports().at(0);
  }

  int Status(const std::string& function, const std::string& who, const std::string& body = "{}") {
    auto r = Request(port_, "POST", "/v1/functions/" + function + "/invoke",
                     {{"X-Api-Key", deployment_.key(who)}}, body);
    return r ? r->status : -1;
  }

  E2eDeployment deployment_;
  LogCapture logs_;
  std::unique_ptr<Service> service_;
  uint16_t port_ = 0;
};

TEST_F(E2eReloadTest, GoodReloadSwapsFunctionsAndPolicies) {
  EXPECT_EQ(Status("echo", "bob"), 403);  // no policy for bob yet
  EXPECT_EQ(Status("greet", "alice"), 404);
  WriteFile(deployment_.dir() / "policies/bob.toml", R"(id = "bob"
attach = ["bob"]
[[statement]]
sid = "BobEcho"
effect = "allow"
action = "function:Invoke"
resource = "fn:echo"
)");
  WriteFile(deployment_.dir() / "functions/greet.toml", R"(name = "greet"
runtime = "lua"
handler = "greet.lua"
timeout_ms = 1000
)");
  WriteFile(deployment_.dir() / "functions/greet.lua",
            "function handler(event, ctx) return { greeting = 'hi ' .. ctx.principal.id } end\n");
  auto reloaded = service_->Reload();
  ASSERT_TRUE(reloaded.has_value()) << reloaded.error().ToString();
  EXPECT_EQ(service_->generation(), 2u);
  EXPECT_EQ(Status("echo", "bob"), 200);
  auto r = Request(port_, "POST", "/v1/functions/greet/invoke",
                   {{"X-Api-Key", deployment_.key("alice")}}, "{}");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("hi alice"), std::string::npos);
  EXPECT_EQ(logs_.Events("reload.applied").size(), 1u);
}

TEST_F(E2eReloadTest, BadReloadKeepsTheRunningVersion) {
  EXPECT_EQ(Status("echo", "alice"), 200);
  // A policy that does not parse, and a function file with an unknown key.
  WriteFile(deployment_.dir() / "policies/broken.toml", "id = \"broken\"\n[[statement]\neffect=\n");
  WriteFile(deployment_.dir() / "functions/bad.toml", "name = \"bad\"\nruntime = \"lua\"\nbogus = 1\n");
  auto reloaded = service_->Reload();
  ASSERT_FALSE(reloaded.has_value());
  const std::string errors = reloaded.error().ToString();
  EXPECT_NE(errors.find("broken.toml"), std::string::npos) << errors;
  EXPECT_EQ(service_->generation(), 1u);
  EXPECT_FALSE(logs_.Events("reload.rejected").empty());
  // Still serving the old version, unchanged.
  EXPECT_EQ(Status("echo", "alice"), 200);
  EXPECT_EQ(Status("echo", "mallory"), 403);
}

TEST_F(E2eReloadTest, FileChangeTriggersReload) {
  EXPECT_FALSE(service_->ReloadIfChanged());  // nothing changed yet
  EXPECT_EQ(Status("echo", "mallory"), 403);
  std::filesystem::remove(deployment_.dir() / "policies/deny-mallory.toml");
  EXPECT_TRUE(service_->ReloadIfChanged());
  EXPECT_EQ(service_->generation(), 2u);
  EXPECT_EQ(Status("echo", "mallory"), 200);  // the explicit deny is gone; staff allows
}

TEST_F(E2eReloadTest, ShutdownDrainsInFlightRequestsAndSealsTheLog) {
  auto in_flight = std::async(std::launch::async, [this] {
    return Request(port_, "POST", "/v1/functions/spin/invoke",
                   {{"X-Api-Key", deployment_.key("alice")}}, R"({"ms":200})");
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(service_->Shutdown());
  auto r = in_flight.get();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("Connection"), "close");
  // Nothing listens any more.
  fnjail::testing::TestConnection late(port_);
  EXPECT_TRUE(!late.ok() || late.WaitClosed(2s));
  // The log verifies and ends with a signed checkpoint that seals every record.
  crypto::AuditVerifyReport report;
  auto records = fnjail::testing::VerifiedRecords(deployment_.audit_log(),
                                                  deployment_.audit_public_key(), &report);
  EXPECT_EQ(report.unsealed_records, 0u);
  ASSERT_TRUE(report.last_checkpoint.has_value());
  bool found = false;
  for (const auto& rec : records) {
    found = found || rec.request_id == r->Header("X-Request-Id");
  }
  EXPECT_TRUE(found);
  EXPECT_FALSE(logs_.Events("serve.stopped").empty());
}

}  // namespace
}  // namespace fnjail::gateway
