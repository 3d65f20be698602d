// Tests for crypto/bytes.cc: hex and base64url codecs, SecretBytes, bounded reads.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "crypto/crypto.h"
#include "tests/testing/result_matchers.h"

namespace fnjail::crypto {
namespace {

using ::fnjail::testing::HasError;
using ::fnjail::testing::IsOk;

TEST(BytesTest, HexRoundTrip) {
  Bytes b = {0x00, 0x01, 0xab, 0xff};
  EXPECT_EQ(ToHex(b), "0001abff");
  auto back = FromHex("0001ABff");
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(*back, b);
}

TEST(BytesTest, HexRejectsOddLengthAndNonDigits) {
  EXPECT_THAT(FromHex("abc"), HasError("odd number"));
  EXPECT_THAT(FromHex("zz"), HasError("not a hex digit at offset 0"));
  EXPECT_THAT(FromHex("0g"), HasError("not a hex digit at offset 1"));
}

// RFC 4648 section 10 vectors, in the unpadded url alphabet.
TEST(BytesTest, Base64UrlRfc4648Vectors) {
  const std::pair<std::string, std::string> cases[] = {
      {"", ""},         {"f", "Zg"},         {"fo", "Zm8"},         {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : cases) {
    EXPECT_EQ(Base64UrlEncode(AsBytes(plain)), encoded);
    auto decoded = Base64UrlDecode(encoded);
    ASSERT_THAT(decoded, IsOk());
    EXPECT_EQ(std::string(AsChars(*decoded)), plain);
  }
}

TEST(BytesTest, Base64UrlUsesTheUrlAlphabet) {
  Bytes b = {0xfb, 0xff};
  EXPECT_EQ(Base64UrlEncode(b), "-_8");
  auto decoded = Base64UrlDecode("-_8");
  ASSERT_THAT(decoded, IsOk());
  EXPECT_EQ(*decoded, b);
}

TEST(BytesTest, Base64UrlIsStrict) {
  EXPECT_THAT(Base64UrlDecode("Zg=="), HasError("invalid character"));
  EXPECT_THAT(Base64UrlDecode("Zm+v"), HasError("invalid character"));
  EXPECT_THAT(Base64UrlDecode("Zm/v"), HasError("invalid character"));
  EXPECT_THAT(Base64UrlDecode("Z"), HasError("impossible length"));
  // "Zh" decodes to 'f' but with non-zero trailing bits: a second spelling of "Zg".
  EXPECT_THAT(Base64UrlDecode("Zh"), HasError("trailing bits"));
  EXPECT_THAT(Base64UrlDecode("Zm9"), HasError("trailing bits"));
}

TEST(BytesTest, SecretBytesRedactsWhenStreamed) {
  SecretBytes s(AsBytes("hunter2"));
  std::ostringstream os;
  os << s;
  EXPECT_EQ(os.str(), "<secret: 7 bytes>");
  EXPECT_EQ(os.str().find("hunter2"), std::string::npos);
}

TEST(BytesTest, SecretBytesMoveLeavesSourceEmpty) {
  SecretBytes a(AsBytes("key"));
  SecretBytes b(std::move(a));
  EXPECT_EQ(b.size(), 3u);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): checked on purpose
  SecretBytes c;
  c = std::move(b);
  EXPECT_EQ(std::string(AsChars(c.view())), "key");
}

TEST(BytesTest, ReadFileLimitedReadsAndCaps) {
  auto dir = std::filesystem::temp_directory_path() /
             ("fnjail_bytes_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto path = (dir / "f").string();
  {
    std::ofstream(path) << "0123456789";
  }
  auto whole = ReadFileLimited(path, 10);
  ASSERT_THAT(whole, IsOk());
  EXPECT_EQ(*whole, "0123456789");
  EXPECT_THAT(ReadFileLimited(path, 9), HasError("larger than 9 bytes"));
  EXPECT_THAT(ReadFileLimited((dir / "missing").string(), 9), HasError("cannot open"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fnjail::crypto
