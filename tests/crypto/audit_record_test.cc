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

AuditRecord FullRecord() {
  AuditRecord r = testing::SampleRecord(9);
  r.source_port = 51234;
  r.http_method = "POST";
  r.http_path = "/v1/functions/hello/invoke";
  r.http_status = 504;
  r.status_detail = "timeout";
  r.statements = {"ops#AllowInvoke", "ops#AllowAll"};
  r.init_duration_ms = 41;
  r.cold_start = true;
  r.violation = "ptrace";
  return r;
}

TEST(AuditRecordTest, NewFieldsAreStoredInOcsfPlaces) {
  json j = json::parse(FullRecord().ToJson());
  EXPECT_EQ(j["src_endpoint"]["port"], 51234);
  EXPECT_EQ(j["http_request"]["http_method"], "POST");
  EXPECT_EQ(j["http_request"]["url"]["path"], "/v1/functions/hello/invoke");
  EXPECT_EQ(j["status"], "failure");
  EXPECT_EQ(j["status_detail"], "timeout");
  EXPECT_EQ(j["metering"]["init_duration_ms"], 41);
  EXPECT_EQ(j["metering"]["cold_start"], true);
  // Optional members are left out when empty.
  json plain = json::parse(testing::SampleRecord(1).ToJson());
  EXPECT_FALSE(plain.contains("http_request"));
  EXPECT_FALSE(plain.contains("status_detail"));
  EXPECT_FALSE(plain.contains("violation"));
}

TEST(AuditRecordTest, FromJsonRoundTripsEveryField) {
  for (const AuditRecord& r : {FullRecord(), testing::SampleRecord(3), AuditRecord{}}) {
    auto back = AuditRecord::FromJson(r.ToJson());
    ASSERT_THAT(back, IsOk());
    EXPECT_EQ(*back, r) << r.ToJson();
    EXPECT_EQ(back->ToJson(), r.ToJson());
  }
}

// The record shape written before ports, HTTP request, status detail and init duration
// existed: it must still read back, new fields at their defaults.
// Found by audit_record_fuzzer: a path without a method was dropped by the round trip.
TEST(AuditRecordTest, PathWithoutMethodSurvivesTheRoundTrip) {
  auto r = AuditRecord::FromJson(R"({"http_request":{"url":{"path":"/x"}}})");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->http_path, "/x");
  auto back = AuditRecord::FromJson(r->ToJson());
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(*back, *r);
}

TEST(AuditRecordTest, FromJsonReadsRecordsOfTheFirstFormat) {
  const char* old_record =
      R"({"time":1800000000000,"request_id":"req-7",)"
      R"("actor":{"user":{"uid":"alice"},"auth":"jwt"},"api":{"operation":"function:Invoke"},)"
      R"("resources":[{"type":"function","name":"fn:hello"}],"src_endpoint":{"ip":"10.0.0.7"},)"
      R"("http_status":200,"status":"success",)"
      R"("decision":{"allowed":true,"reason":"explicit-allow","statements":["ops#AllowInvoke"]},)"
      R"("input_sha256":"ab","metering":{"duration_ms":12,"billed_duration_ms":13,"cpu_ms":4,)"
      R"("peak_memory_bytes":1048576,"outcome":"exited"},"violation":"ptrace"})";
  auto r = AuditRecord::FromJson(old_record);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->time_ms, 1800000000000);
  EXPECT_EQ(r->request_id, "req-7");
  EXPECT_EQ(r->principal, "alice");
  EXPECT_EQ(r->auth_method, "jwt");
  EXPECT_EQ(r->function, "fn:hello");
  EXPECT_EQ(r->source_ip, "10.0.0.7");
  EXPECT_EQ(r->source_port, 0);
  EXPECT_EQ(r->http_method, "");
  EXPECT_TRUE(r->allowed);
  EXPECT_EQ(r->statements, std::vector<std::string>{"ops#AllowInvoke"});
  EXPECT_EQ(r->billed_duration_ms, 13);
  EXPECT_EQ(r->init_duration_ms, 0);
  EXPECT_FALSE(r->cold_start);
  EXPECT_EQ(r->peak_memory_bytes, 1048576);
  EXPECT_EQ(r->outcome, "exited");
  EXPECT_EQ(r->violation, "ptrace");
  // Unknown members (a later version's) are ignored.
  auto later = AuditRecord::FromJson(R"({"time":5,"future":{"x":[1]}})");
  ASSERT_THAT(later, IsOk());
  EXPECT_EQ(later->time_ms, 5);
}

TEST(AuditRecordTest, FromJsonRefusesWrongTypes) {
  EXPECT_THAT(AuditRecord::FromJson("[1]"), HasError("not a JSON object"));
  EXPECT_THAT(AuditRecord::FromJson("{"), HasError("audit record"));
  EXPECT_THAT(AuditRecord::FromJson(R"({"time":"now"})"), HasError("`time` has the wrong type"));
  EXPECT_THAT(AuditRecord::FromJson(R"({"actor":{"user":7}})"),
              HasError("`actor.user.uid` has the wrong type"));
  EXPECT_THAT(AuditRecord::FromJson(R"({"src_endpoint":{"port":70000}})"),
              HasError("`src_endpoint.port` has the wrong type"));
  EXPECT_THAT(AuditRecord::FromJson(R"({"http_status":-1e3})"),
              HasError("`http_status` has the wrong type"));
  EXPECT_THAT(AuditRecord::FromJson(R"({"decision":{"statements":[1]}})"),
              HasError("`decision.statements` has the wrong type"));
  EXPECT_THAT(AuditRecord::FromJson(R"({"resources":{}})"), HasError("`resources`"));
  EXPECT_THAT(AuditRecord::FromJson(R"({"metering":{"cold_start":1}})"),
              HasError("`metering.cold_start` has the wrong type"));
  EXPECT_THAT(AuditRecord::FromJson(R"({"time":1,"time":2})"), HasError("duplicate"));
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
