// Tests for LoadFile and ExpandPaths, on files in a private temporary folder.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "policy/policy.h"
#include "tests/testing/result_matchers.h"

namespace fnjail::policy {
namespace {

namespace fs = std::filesystem;
using ::fnjail::testing::IsOk;
using ::testing::ElementsAre;

template <class T>
std::string ErrorsOf(const Result<T>& result) {
  if (result.has_value()) return "<no error>";
  return result.error().ToString();
}

constexpr std::string_view kTomlPolicy =
    "[[statement]]\neffect = \"allow\"\naction = \"function:Invoke\"\nresource = \"fn:hello\"\n";
constexpr std::string_view kJsonPolicy =
    R"({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]})";

class LoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "fnjail-loader-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }

  std::string Write(const std::string& relative, std::string_view text) {
    const fs::path path = root_ / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
    return path.string();
  }

  fs::path root_;
};

TEST_F(LoaderTest, PicksTheFrontEndByExtension) {
  auto toml = LoadFile(Write("invoke.toml", kTomlPolicy));
  ASSERT_THAT(toml, IsOk());
  EXPECT_EQ(toml->id, "invoke");
  EXPECT_EQ(toml->statements.at(0).effect, Effect::kAllow);
  EXPECT_EQ(toml->file, (root_ / "invoke.toml").string());

  auto json = LoadFile(Write("deny-all.json", kJsonPolicy));
  ASSERT_THAT(json, IsOk());
  EXPECT_EQ(json->id, "deny-all");
  EXPECT_EQ(json->statements.at(0).effect, Effect::kDeny);
}

TEST_F(LoaderTest, ErrorsNameThePath) {
  const std::string bad = Write("bad.toml", "[[statement]]\neffect = \"maybe\"\n");
  EXPECT_THAT(LoadFile(bad),
              ::fnjail::testing::HasError(bad + ":2:10: error: unknown effect `maybe`"));

  const std::string missing = (root_ / "missing.toml").string();
  EXPECT_EQ(ErrorsOf(LoadFile(missing)),
            missing + ": error: cannot read file: No such file or directory\n");

  fs::create_directories(root_ / "folder.toml");
  EXPECT_EQ(ErrorsOf(LoadFile((root_ / "folder.toml").string())),
            (root_ / "folder.toml").string() + ": error: cannot read file: Is a directory\n");

  const std::string yaml = Write("policy.yaml", "x: 1\n");
  EXPECT_EQ(ErrorsOf(LoadFile(yaml)),
            yaml +
                ": error: unknown policy file type `.yaml`\n"
                "  help: policy files end in `.toml` (native) or `.json` (AWS IAM)\n");
}

TEST_F(LoaderTest, RefusesUnreadableAndSpecialFiles) {
  const std::string fifo = (root_ / "pipe.toml").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(ErrorsOf(LoadFile(fifo)), fifo + ": error: cannot read file: not a regular file\n");

  if (::geteuid() != 0) {  // root reads files whatever their mode
    const std::string locked = Write("locked.toml", kTomlPolicy);
    fs::permissions(locked, fs::perms::none);
    EXPECT_EQ(ErrorsOf(LoadFile(locked)),
              locked + ": error: cannot read file: Permission denied\n");
  }
}

TEST_F(LoaderTest, RefusesFilesOverTheSizeCap) {
  const std::string big = Write("big.json", std::string(kMaxPolicyFileBytes + 1, ' '));
  EXPECT_EQ(ErrorsOf(LoadFile(big)), big + ": error: policy file is larger than 1048576 bytes\n");
  // Exactly at the cap is read (and then judged on its content).
  const std::string at_cap =
      Write("at-cap.toml",
            std::string(kTomlPolicy) + std::string(kMaxPolicyFileBytes - kTomlPolicy.size(), '\n'));
  EXPECT_THAT(LoadFile(at_cap), IsOk());
}

TEST_F(LoaderTest, ExpandsFoldersRecursivelyAndSorted) {
  const std::string b = Write("dir/b.toml", kTomlPolicy);
  const std::string a = Write("dir/a.json", kJsonPolicy);
  const std::string nested = Write("dir/sub/c.toml", kTomlPolicy);
  Write("dir/notes.md", "not a policy");
  Write("dir/.hidden.toml", kTomlPolicy);
  Write("dir/.git/config.toml", kTomlPolicy);
  const std::string single = Write("single.txt", "named explicitly");

  auto paths = ExpandPaths({(root_ / "dir").string(), single});
  ASSERT_THAT(paths, IsOk());
  EXPECT_THAT(*paths, ElementsAre(a, b, nested, single));
}

TEST_F(LoaderTest, NonexistentPathsAreErrors) {
  const std::string gone = (root_ / "gone").string();
  const std::string also_gone = (root_ / "also-gone.toml").string();
  EXPECT_EQ(ErrorsOf(ExpandPaths({gone, Write("ok.toml", kTomlPolicy), also_gone})),
            gone + ": error: cannot read file: No such file or directory\n" + also_gone +
                ": error: cannot read file: No such file or directory\n");
}

}  // namespace
}  // namespace fnjail::policy
