// Locates ../shared/corpus beside the checkout; tests that need it skip when it is absent.
#pragma once

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace fnjail::testing {

// The corpus folder, e.g. SharedCorpus("aws-managed-policies"); empty when not present.
inline std::filesystem::path SharedCorpus(const std::string& name) {
  std::filesystem::path p = std::filesystem::path(FNJAIL_SHARED_DIR) / "corpus" / name;
  std::error_code ec;
  return std::filesystem::is_directory(p, ec) ? p : std::filesystem::path();
}

}  // namespace fnjail::testing

// Skips the current test when the shared corpus folder is missing (a user's clone).
#define FNJAIL_REQUIRE_SHARED_CORPUS(var, name)                                         \
  const std::filesystem::path var = ::fnjail::testing::SharedCorpus(name);              \
  if (var.empty()) {                                                                    \
    GTEST_SKIP() << "../shared/corpus/" << (name) << " not found beside the checkout; " \
                 << "this test needs it and is skipped";                                \
  }
