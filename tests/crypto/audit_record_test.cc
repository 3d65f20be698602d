// Tests for crypto/audit_record.cc: the stored JSON shape and checkpoint export format.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "tests/crypto/audit_test_util.h"
#include "tests/testing/result_matchers.h"

namespace fnjail::crypto {
namespace {

using ::fnjail::testing::HasError;
using ::fnjail::testing::IsOk;
using nlohmann::json;

TEST(AuditRecordTest, JsonFollowsOcsfApiActivityShape) {
  AuditRecord r = testing::SampleRecord(7);
  r.violation = "ptrace";
  json j = json::parse(r.ToJson());
  EXPECT_EQ(j["time"], r.time_ms);
  EXPECT_EQ(j["request_id"], "req-7");
  EXPECT_EQ(j["actor"]["user"]["uid"], "alice");
  EXPECT_EQ(j["actor"]["auth"], "jwt");
  EXPECT_EQ(j["api"]["operation"], "function:Invoke");
  EXPECT_EQ(j["resources"][0]["name"], "fn:hello");
  EXPECT_EQ(j["src_endpoint"]["ip"], "10.0.0.7");
  EXPECT_EQ(j["status"], "success");
  EXPECT_EQ(j["decision"]["allowed"], true);
  EXPECT_EQ(j["decision"]["statements"][0], "ops#AllowInvoke");
  EXPECT_EQ(j["metering"]["billed_duration_ms"], 13);
  EXPECT_EQ(j["metering"]["peak_memory_bytes"], 1 << 20);
  EXPECT_EQ(j["violation"], "ptrace");
  // The stored form starts with the time and request id, in a fixed order.
  EXPECT_EQ(r.ToJson().rfind("{\"time\":", 0), 0u);
}

TEST(AuditRecordTest, FailureStatusAndInvalidUtf8AreStored) {
  AuditRecord r = testing::SampleRecord(1);
  r.http_status = 403;
  r.principal = std::string("bad\xff", 4);
  json j = json::parse(r.ToJson());
  EXPECT_EQ(j["status"], "failure");
  EXPECT_FALSE(j.contains("violation"));
  EXPECT_EQ(j["actor"]["user"]["uid"], "bad\xEF\xBF\xBD");
}

TEST(AuditRecordTest, StringsAreEscapedAndUtf8Checked) {
  AuditRecord r = testing::SampleRecord(1);
  const std::string cases[] = {
      "quote\" backslash\\ newline\n tab\t nul" + std::string(1, '\0') + "\x1f end",
      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",       // valid 2, 3 and 4 byte sequences
      "\xc0\xaf overlong, \xed\xa0\x80 surrogate, \xf4\x90\x80\x80 too big, \xe2\x82 cut",
  };
  for (const auto& text : cases) {
    r.request_id = text;
    json j = json::parse(r.ToJson());  // must always be valid JSON
    std::string back = j["request_id"];
    if (text.find("overlong") == std::string::npos) {
      EXPECT_EQ(back, text);
    } else {
      EXPECT_EQ(back.find("\xc0"), std::string::npos);
      EXPECT_NE(back.find("\xef\xbf\xbd overlong"), std::string::npos) << back;
    }
  }
}

TEST(AuditRecordTest, CheckpointJsonRoundTrip) {
  AuditCheckpoint cp;
  cp.log_id = std::string(32, 'a');
  cp.seq = 42;
  cp.head = std::string(64, 'b');
  cp.time_ms = 1234;
  cp.signature = std::string(128, 'c');
  auto back = AuditCheckpoint::FromJson(cp.ToJson());
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->ToJson(), cp.ToJson());
  AuditCheckpoint upper = cp;
  upper.log_id = std::string(32, 'A');
  auto normalised = AuditCheckpoint::FromJson(upper.ToJson());
  ASSERT_THAT(normalised, IsOk());
  EXPECT_EQ(normalised->log_id, cp.log_id);
  EXPECT_THAT(AuditCheckpoint::FromJson(R"({"seq":1})"), HasError("needs hex"));
  EXPECT_THAT(AuditCheckpoint::FromJson("nope"), HasError("invalid JSON"));
}

}  // namespace
}  // namespace fnjail::crypto
