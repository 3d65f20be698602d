// Contract tests of `fnjail invoke` and `fnjail usage` (cli/invoke_command.cc) on the real
// binary: exit statuses, stdout as the response body, the JSON report, every example
// function of examples/functions/, and usage sums from a real audit log.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "crypto/crypto.h"

namespace {

using ::testing::HasSubstr;

const std::string kExamples = std::string(FNJAIL_SOURCE_DIR) + "/examples/functions";

class InvokeCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/fnjail-invoke-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    // The jail's unprivileged uid reads handlers written here.
    std::filesystem::permissions(dir_, std::filesystem::perms::owner_all |
                                           std::filesystem::perms::group_read |
                                           std::filesystem::perms::group_exec |
                                           std::filesystem::perms::others_read |
                                           std::filesystem::perms::others_exec);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs `fnjail ARGS` through the shell; returns the exit status, fills out_/err_.
  int Fnjail(const std::string& args, const std::string& stdin_text = "") {
    const std::string in = dir_ + "/stdin", out = dir_ + "/stdout", err = dir_ + "/stderr";
    std::ofstream(in) << stdin_text;
    const std::string cmd = std::string(FNJAIL_BINARY) + " " + args + " <" + in + " >" + out +
                            " 2>" + err;
    const int status = std::system(cmd.c_str());
    out_ = Read(out);
    err_ = Read(err);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  static std::string Read(const std::string& path) {
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }

  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  nlohmann::json Report() { return nlohmann::json::parse(Read(dir_ + "/report.json")); }

  // Skips when the kernel refuses namespaces here (no jail can be built at all).
  void SkipIfNoJails() {
    if (Fnjail("run -- /bin/true") == 125 && err_.find("step clone") != std::string::npos) {
      GTEST_SKIP() << "kernel refused: " << err_;
    }
  }

  // Invokes an example function with its own event file.
  int Example(const std::string& name, const std::string& extra = "") {
    return Fnjail("invoke --function " + kExamples + "/" + name + "/function.toml --event " +
                  kExamples + "/" + name + "/event.json " + extra);
  }

  std::string dir_;
  std::string out_;
  std::string err_;
};

TEST_F(InvokeCommandTest, HelpStatesTheContract) {
  ASSERT_EQ(Fnjail("invoke --help"), 0);
  for (const char* s : {"Exit status", "--repeat", "--report", "--event", "--memory-mb",
                        "--ro-bind", "warm_p50_ms", "Example"}) {
    EXPECT_THAT(out_, HasSubstr(s));
  }
  ASSERT_EQ(Fnjail("usage --help"), 0);
  EXPECT_THAT(out_, HasSubstr("Exit status"));
}

TEST_F(InvokeCommandTest, NeedsAFunctionOrARuntimeAndHandler) {
  EXPECT_EQ(Fnjail("invoke"), 2);
  EXPECT_THAT(err_, HasSubstr("--function FILE.toml, or --runtime lua|exec and --handler"));
  EXPECT_EQ(Fnjail("invoke --runtime lua --handler " + dir_ + "/missing.lua"), 2);
  EXPECT_THAT(err_, HasSubstr("missing.lua"));
  EXPECT_EQ(Fnjail("invoke --runtime lua --handler x.lua --mode persistent"), 2);
  EXPECT_THAT(err_, HasSubstr("--runtime exec"));
  EXPECT_EQ(Fnjail("invoke --function " + dir_ + "/none.toml"), 2);
  EXPECT_EQ(Fnjail("invoke --function " + kExamples + "/lua-hello/function.toml --runtime lua"),
            2);
  EXPECT_THAT(err_, HasSubstr("drop --runtime"));
}

TEST_F(InvokeCommandTest, LuaHandlerWithTheEventOnStdin) {
  SkipIfNoJails();
  ASSERT_EQ(Fnjail("invoke --runtime lua --handler " + kExamples + "/lua-hello/handler.lua "
                   "--event -",
                   R"({"name": "world"})"),
            0)
      << err_;
  EXPECT_EQ(nlohmann::json::parse(out_)["message"], "hello, world!");
  EXPECT_THAT(err_, HasSubstr("greeting world"));  // the function's log line
}

TEST_F(InvokeCommandTest, LuaExamplesAnswer) {
  SkipIfNoJails();
  ASSERT_EQ(Example("lua-hello", "--principal ops"), 0) << err_;
  EXPECT_EQ(nlohmann::json::parse(out_)["message"], "hello, world!");
  ASSERT_EQ(Example("lua-echo", "--principal ops"), 0) << err_;
  const nlohmann::json echo = nlohmann::json::parse(out_);
  EXPECT_EQ(echo["event"]["numbers"], nlohmann::json({1, 2, 3}));
  EXPECT_EQ(echo["event"]["text"], "caf\u00e9");
  EXPECT_EQ(echo["function_name"], "lua-echo");
  EXPECT_EQ(echo["principal"], "ops");
}

TEST_F(InvokeCommandTest, PythonTemplateRendersEscapedHtml) {
  SkipIfNoJails();
  ASSERT_EQ(Example("python-template"), 0) << err_;
  EXPECT_THAT(out_, HasSubstr("<title>Order 42</title>"));
  EXPECT_THAT(out_, HasSubstr("Hello, &lt;alice&gt;."));
  EXPECT_THAT(out_, HasSubstr("<td>scones &amp; jam</td><td>4.25</td>"));
  EXPECT_THAT(out_, HasSubstr("Total: 7.75"));
}

TEST_F(InvokeCommandTest, PythonThumbnailShrinksTheImage) {
  SkipIfNoJails();
  ASSERT_EQ(Example("python-thumbnail"), 0) << err_;
  const nlohmann::json r = nlohmann::json::parse(out_);
  EXPECT_EQ(r["source"]["width"], 320);
  EXPECT_EQ(r["source"]["height"], 200);
  EXPECT_EQ(r["thumbnail"]["width"], 64);
  EXPECT_EQ(r["thumbnail"]["height"], 40);
  EXPECT_EQ(r["thumbnail"]["format"], "PNG");
  EXPECT_THAT(r["thumbnail"]["data"].get<std::string>(), ::testing::StartsWith("iVBORw0KGgo"));
}

TEST_F(InvokeCommandTest, PythonZipCompressesTheFolderWithinTheJail) {
  SkipIfNoJails();
  ASSERT_EQ(Example("python-zip"), 0) << err_;
  const nlohmann::json r = nlohmann::json::parse(out_);
  EXPECT_TRUE(r["verified"].get<bool>());
  ASSERT_EQ(r["files"].size(), 3u);
  EXPECT_EQ(r["bytes_in"], 34678);
  EXPECT_LT(r["bytes_out"].get<int>(), 34678 / 2);
  // Only the function's own folder is reachable.
  ASSERT_EQ(Fnjail("invoke --function " + kExamples + "/python-zip/function.toml --event -",
                   R"({"folder": "../../.."})"),
            1);
  EXPECT_THAT(err_, HasSubstr("is not a folder of this function"));
}

TEST_F(InvokeCommandTest, PythonGraphBfsAndPageRank) {
  SkipIfNoJails();
  ASSERT_EQ(Example("python-graph"), 0) << err_;
  const nlohmann::json r = nlohmann::json::parse(out_);
  EXPECT_EQ(r["vertices"], 2000);
  EXPECT_EQ(r["edges"], 5994);
  EXPECT_EQ(r["bfs"]["reached"], 2000);
  EXPECT_EQ(r["pagerank"]["top"].size(), 3u);
  EXPECT_EQ(r["pagerank"]["top"][0][0], 0);  // the oldest vertex of a preferential graph
  EXPECT_DOUBLE_EQ(r["pagerank"]["sum"].get<double>(), 1.0);
}

TEST_F(InvokeCommandTest, RepeatRunsWarmAndReportsLatencies) {
  SkipIfNoJails();
  ASSERT_EQ(Example("lua-echo", "--repeat 5 --report " + dir_ + "/report.json"), 0) << err_;
  const nlohmann::json r = Report();
  EXPECT_EQ(r["outcome"], "ok");
  EXPECT_EQ(r["status"], 200);
  EXPECT_EQ(r["invocations"], 6);
  EXPECT_GT(r["cold_ms"].get<double>(), 0.0);
  EXPECT_GT(r["warm_p50_ms"].get<double>(), 0.0);
  EXPECT_GE(r["warm_p99_ms"].get<double>(), r["warm_p50_ms"].get<double>());
  // A warm invocation costs less than starting the environment.
  EXPECT_LT(r["warm_p50_ms"].get<double>(), r["cold_ms"].get<double>());
  EXPECT_GE(r["billed_ms"].get<uint64_t>(), 6u);  // at least 1 ms each
  EXPECT_GT(r["max_rss_kb"].get<uint64_t>(), 0u);
  for (const char* key : {"wall_ms", "cpu_ms", "init_ms", "syscall", "error"}) {
    EXPECT_TRUE(r.contains(key)) << key;
  }
}

TEST_F(InvokeCommandTest, FunctionErrorExitsOne) {
  SkipIfNoJails();
  const std::string handler =
      Write("fail.lua", "function handler(event, ctx) error('no such order') end\n");
  EXPECT_EQ(Fnjail("invoke --runtime lua --handler " + handler + " --report " + dir_ +
                   "/report.json"),
            1);
  EXPECT_THAT(err_, HasSubstr("no such order"));
  EXPECT_EQ(Report()["outcome"], "function-error");
}

TEST_F(InvokeCommandTest, TimeoutIsAPlatformErrorAndNamed) {
  SkipIfNoJails();
  const std::string handler = Write("spin.lua", "function handler(event, ctx) while true do end end\n");
  EXPECT_EQ(Fnjail("invoke --runtime lua --handler " + handler + " --timeout-ms 200 --report " +
                   dir_ + "/report.json"),
            2);
  EXPECT_THAT(err_, HasSubstr("timeout"));
  EXPECT_EQ(Report()["outcome"], "timeout");
}

TEST_F(InvokeCommandTest, SeccompViolationNamesTheSyscall) {
  SkipIfNoJails();
  const std::string handler = Write(
      "ptrace.py", "import ctypes\nctypes.CDLL(None).syscall(101, 16, 1, 0, 0)\n");
  EXPECT_EQ(Fnjail("invoke --runtime exec --handler /usr/bin/python3 --arg " + handler +
                   " --ro-bind " + dir_ + " --preset python --report " + dir_ + "/report.json"),
            2);
  EXPECT_THAT(err_, HasSubstr("ptrace"));
  const nlohmann::json r = Report();
  EXPECT_EQ(r["outcome"], "seccomp");
  EXPECT_EQ(r["syscall"], "ptrace");
}

TEST_F(InvokeCommandTest, JailSetupFailureIsReported) {
  SkipIfNoJails();
  EXPECT_EQ(Fnjail("invoke --runtime lua --handler " + kExamples +
                   "/lua-hello/handler.lua --ro-bind /nonexistent-fnjail-dir --report " + dir_ +
                   "/report.json"),
            2);
  EXPECT_THAT(err_, HasSubstr("nonexistent-fnjail-dir"));
  EXPECT_EQ(Report()["outcome"], "setup-failure");
}

// ---- usage ----------------------------------------------------------------------------

class UsageCommandTest : public InvokeCommandTest {
 protected:
  // Writes an audit log of `records` (JSON objects as the gateway writes them) and the
  // public key file; returns the log's path.
  std::string WriteLog(const std::vector<fnjail::crypto::AuditRecord>& records) {
    auto key = fnjail::crypto::Ed25519SigningKey::Generate();
    EXPECT_TRUE(key);
    std::ofstream(dir_ + "/audit.pub") << key->public_key().ToPem();
    fnjail::crypto::AuditOptions options;
    options.path = dir_ + "/audit.log";
    auto writer = fnjail::crypto::AuditWriter::Open(options, std::move(*key));
    EXPECT_TRUE(writer);
    for (const auto& r : records) EXPECT_TRUE((*writer)->AppendDurable(r));
    EXPECT_TRUE((*writer)->Close());
    return options.path;
  }

  static fnjail::crypto::AuditRecord Record(std::string function, std::string principal,
                                            bool allowed, std::string outcome,
                                            int64_t billed_ms, int64_t peak_bytes) {
    fnjail::crypto::AuditRecord r;
    r.time_ms = 1800000000000;
    r.request_id = "req";
    r.principal = std::move(principal);
    r.operation = "function:Invoke";
    r.function = std::move(function);
    r.allowed = allowed;
    r.http_status = allowed ? 200 : 403;
    r.duration_ms = billed_ms - 1;
    r.billed_duration_ms = billed_ms;
    r.cpu_ms = 2;
    r.peak_memory_bytes = peak_bytes;
    r.outcome = std::move(outcome);
    return r;
  }
};

TEST_F(UsageCommandTest, SumsPerFunctionAndPrincipal) {
  const std::string log = WriteLog({
      Record("fn:hello", "alice", true, "ok", 3, 1 << 20),
      Record("fn:hello", "alice", true, "timeout", 100, 4 << 20),
      Record("fn:hello", "bob", true, "ok", 2, 1 << 20),
      Record("fn:hello", "bob", false, "forbidden", 0, 0),
      Record("fn:graph", "alice", true, "ok", 40, 30 << 20),
  });
  ASSERT_EQ(Fnjail("usage --audit " + log + " --public-key " + dir_ + "/audit.pub --json"), 0)
      << err_;
  const nlohmann::json rows = nlohmann::json::parse(out_);
  ASSERT_EQ(rows.size(), 3u);
  // Sorted by function, then principal.
  EXPECT_EQ(rows[0]["function"], "graph");
  EXPECT_EQ(rows[1]["function"], "hello");
  EXPECT_EQ(rows[1]["principal"], "alice");
  EXPECT_EQ(rows[1]["invocations"], 2);
  EXPECT_EQ(rows[1]["failures"], 1);
  EXPECT_EQ(rows[1]["billed_ms"], 103);
  EXPECT_EQ(rows[1]["duration_ms"], 101);
  EXPECT_EQ(rows[1]["cpu_ms"], 4);
  EXPECT_EQ(rows[1]["max_peak_memory_bytes"], 4 << 20);
  EXPECT_EQ(rows[2]["principal"], "bob");
  EXPECT_EQ(rows[2]["invocations"], 1);
  EXPECT_EQ(rows[2]["denied"], 1);
  // The table view carries the same sums and a total line.
  ASSERT_EQ(Fnjail("usage --audit " + log + " --public-key " + dir_ + "/audit.pub"), 0) << err_;
  EXPECT_THAT(out_, HasSubstr("INVOCATIONS"));
  EXPECT_THAT(out_, ::testing::ContainsRegex("total +4 +1 +1 +145"));
}

TEST_F(UsageCommandTest, DamagedLogIsRefusedNotSummed) {
  const std::string log = WriteLog({Record("fn:hello", "alice", true, "ok", 3, 1 << 20),
                                    Record("fn:hello", "alice", true, "ok", 3, 1 << 20)});
  // Flip one byte inside the first record's JSON.
  std::fstream f(log, std::ios::in | std::ios::out | std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const size_t at = bytes.find("alice");
  ASSERT_NE(at, std::string::npos);
  f.seekp(static_cast<std::streamoff>(at));
  f.put('A');
  f.close();
  EXPECT_EQ(Fnjail("usage --audit " + log + " --public-key " + dir_ + "/audit.pub"), 1);
  EXPECT_THAT(err_, HasSubstr("damaged"));
  EXPECT_EQ(out_, "");
}

TEST_F(UsageCommandTest, NeedsALogAndAKey) {
  EXPECT_EQ(Fnjail("usage"), 2);
  EXPECT_THAT(err_, HasSubstr("no audit log"));
  EXPECT_EQ(Fnjail("usage --audit " + dir_ + "/audit.log"), 2);
  EXPECT_THAT(err_, HasSubstr("no checkpoint key"));
}

}  // namespace
