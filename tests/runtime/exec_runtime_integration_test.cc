// fnjail-runtime's exec runtime, run directly (no jail) over a socketpair: simple mode
// (one process per invocation) and persistent mode (the Python example's frame loop).
#include <sys/stat.h>

#include <chrono>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/protocol.h"
#include "tests/runtime/runtime_testing.h"
#include "tests/testing/result_matchers.h"

namespace fnjail::runtime {
namespace {

using ::fnjail::testing::IsOk;
using ::testing::HasSubstr;
using testing::MakeInvocation;
using testing::RuntimeProcess;
using testing::TempDir;
using namespace std::chrono_literals;

class ExecEnv {
 public:
  ExecEnv(const std::string& mode, std::vector<std::string> command) {
    std::vector<std::string> args = {"exec", "--mode", mode, "--"};
    args.insert(args.end(), command.begin(), command.end());
    process_ = std::make_unique<RuntimeProcess>(args);
    auto s = Session::Create(process_->fd());
    EXPECT_THAT(s, IsOk());
    if (s) session_.emplace(std::move(*s));
  }
  Result<Response> Invoke(const std::string& event, uint64_t deadline_ms = 5000) {
    return session_->Invoke(MakeInvocation(event, "req-" + std::to_string(++n_), deadline_ms),
                            std::chrono::milliseconds(deadline_ms + 5000));
  }
  RuntimeProcess& process() { return *process_; }

 private:
  std::unique_ptr<RuntimeProcess> process_;
  std::optional<Session> session_;
  int n_ = 0;
};

std::string Script(const TempDir& dir, const std::string& name, const std::string& body) {
  std::string path = dir.Write(name, "#!/bin/sh\n" + body);
  ::chmod(path.c_str(), 0755);
  return path;
}

TEST(ExecSimpleTest, EventOnStdinBodyOnStdout) {
  TempDir dir;
  ExecEnv env("simple", {Script(dir, "echo.sh",
                                "echo \"log: $FNJAIL_REQUEST_ID $FNJAIL_FUNCTION_NAME\" >&2\n"
                                "printf 'got:'; cat\n")});
  for (int i = 1; i <= 3; ++i) {
    auto r = env.Invoke("{\"n\":" + std::to_string(i) + "}");
    ASSERT_THAT(r, IsOk());
    EXPECT_EQ(r->kind, Response::Kind::kOk);
    EXPECT_EQ(r->body, "got:{\"n\":" + std::to_string(i) + "}");
    EXPECT_EQ(r->logs, (std::vector<std::string>{"log: req-" + std::to_string(i) + " hello"}));
  }
}

TEST(ExecSimpleTest, ContextIsInTheEnvironment) {
  TempDir dir;
  ExecEnv env("simple", {Script(dir, "ctx.sh", "printf '%s' \"$FNJAIL_CONTEXT\"\n")});
  auto r = env.Invoke("{}", 3000);
  ASSERT_THAT(r, IsOk());
  auto ctx = nlohmann::json::parse(r->body);
  EXPECT_EQ(ctx["request_id"], "req-1");
  EXPECT_EQ(ctx["function_name"], "hello");
  EXPECT_EQ(ctx["principal"]["id"], "alice");
  EXPECT_EQ(ctx["principal"]["groups"], nlohmann::json::parse(R"(["admins","dev"])"));
  EXPECT_GT(ctx["deadline_ms"].get<int64_t>(), 2000);
}

TEST(ExecSimpleTest, NonZeroExitIsAnUnhandledErrorWithTheStderrTail) {
  TempDir dir;
  ExecEnv env("simple", {Script(dir, "fail.sh", "echo 'something broke' >&2\nexit 3\n")});
  auto r = env.Invoke("{}");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->kind, Response::Kind::kUnhandledError);
  EXPECT_EQ(r->error_type, "exit");
  EXPECT_EQ(r->error_message, "the handler exited with status 3: something broke");
  EXPECT_FALSE(r->tainted);
  EXPECT_THAT(env.Invoke("{}"), IsOk());  // the environment still serves
}

TEST(ExecSimpleTest, DeadlineKillsTheHandlerAndItsChildren) {
  TempDir dir;
  std::string marker = dir.path() + "/survivor";
  ExecEnv env("simple", {Script(dir, "slow.sh",
                                "(sleep 1; touch " + marker + ") &\nsleep 30\n")});
  auto start = std::chrono::steady_clock::now();
  auto r = env.Invoke("{}", 200);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->error_type, "timeout");
  EXPECT_TRUE(r->tainted);
  std::this_thread::sleep_for(1500ms);
  EXPECT_FALSE(std::filesystem::exists(marker)) << "a child of the handler outlived it";
}

TEST(ExecSimpleTest, EndlessStderrDoesNotHoldOffTheDeadline) {
  TempDir dir;
  ExecEnv env("simple", {Script(dir, "spam.sh", "exec yes spam >&2\n")});
  auto start = std::chrono::steady_clock::now();
  auto r = env.Invoke("{}", 300);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->error_type, "timeout");
  EXPECT_FALSE(r->logs.empty());
  EXPECT_EQ(r->logs.back(), "spam");
}

TEST(ExecSimpleTest, OutputPastTheBodyLimitIsRefused) {
  TempDir dir;
  ExecEnv env("simple", {Script(dir, "big.sh", "head -c 7000000 /dev/zero\n")});
  auto r = env.Invoke("{}");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->error_type, "response-too-large");
}

TEST(ExecSimpleTest, MissingCommandIsReported) {
  ExecEnv env("simple", {"/nonexistent/handler"});
  auto r = env.Invoke("{}");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->error_type, "spawn");
  EXPECT_THAT(r->error_message, HasSubstr("No such file"));
}

std::string PythonExample() {
  return std::string(FNJAIL_SOURCE_DIR) + "/examples/functions/python-persistent/handler.py";
}

TEST(ExecPersistentTest, PythonExampleServesManyInvocationsInOneProcess) {
  ExecEnv env("persistent", {FNJAIL_PYTHON, PythonExample()});
  for (int i = 1; i <= 5; ++i) {
    auto r = env.Invoke(R"({"name": "ada"})");
    ASSERT_THAT(r, IsOk());
    ASSERT_EQ(r->kind, Response::Kind::kOk) << r->error_type << ": " << r->error_message;
    EXPECT_EQ(r->status, 200);
    EXPECT_THAT(r->headers, ::testing::Contains(std::pair<std::string, std::string>(
                                "content-type", "application/json")));
    auto body = nlohmann::json::parse(r->body);
    EXPECT_EQ(body["message"], "hello, ada!");
    EXPECT_EQ(body["request_id"], "req-" + std::to_string(i));
    EXPECT_EQ(body["served_by_this_process"], i);
    EXPECT_EQ(r->logs, (std::vector<std::string>{"greeting ada"}));
  }
  auto handled = env.Invoke(R"([1, 2])");
  ASSERT_THAT(handled, IsOk());
  EXPECT_EQ(handled->kind, Response::Kind::kHandledError);
  EXPECT_EQ(handled->status, 400);
  EXPECT_EQ(handled->error_type, "ValueError");
  EXPECT_FALSE(handled->tainted);
  EXPECT_EQ(env.process().CloseAndWait(), 0);
}

TEST(ExecPersistentTest, HandlerThatDiesOrMisbehavesTaintsTheEnvironment) {
  TempDir dir;
  {
    ExecEnv env("persistent", {Script(dir, "dies.sh", "echo bye >&2\nexit 4\n")});
    auto r = env.Invoke("{}");
    ASSERT_THAT(r, IsOk());
    EXPECT_EQ(r->error_type, "crashed");
    EXPECT_THAT(r->error_message, HasSubstr("exited with status 4"));
    EXPECT_TRUE(r->tainted);
    auto again = env.Invoke("{}");
    ASSERT_THAT(again, IsOk());
    EXPECT_EQ(again->error_type, "tainted");
  }
  {
    // A frame claiming 2 GiB.
    ExecEnv env("persistent", {Script(dir, "huge.sh", "printf '\\177\\377\\377\\377'\n"
                                                      "sleep 30\n")});
    auto r = env.Invoke("{}");
    ASSERT_THAT(r, IsOk());
    EXPECT_EQ(r->error_type, "crashed");
    EXPECT_THAT(r->error_message, HasSubstr("larger than 64 KiB"));
  }
  {
    ExecEnv env("persistent", {Script(dir, "hang.sh", "sleep 30\n")});
    auto r = env.Invoke("{}", 200);
    ASSERT_THAT(r, IsOk());
    EXPECT_EQ(r->error_type, "timeout");
    EXPECT_TRUE(r->tainted);
  }
  {
    // A result frame that is not JSON: an invalid response, the stream still in step.
    ExecEnv env("persistent",
                {Script(dir, "nojson.sh",
                        "printf '\\000\\000\\000\\003abc\\000\\000\\000\\000'\nsleep 30\n")});
    auto r = env.Invoke("{}");
    ASSERT_THAT(r, IsOk());
    EXPECT_EQ(r->error_type, "invalid-response");
  }
}

}  // namespace
}  // namespace fnjail::runtime
