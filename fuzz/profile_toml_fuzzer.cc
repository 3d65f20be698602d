// Fuzz harness for the function profile parser (sandbox/profile_toml.cc).
//
// Properties: never crashes; every refusal is a Step::kProfile error whose text starts with
// the file name and a line:col; an accepted profile's spec validates or fails validation
// cleanly (binds may name paths absent on this host) but never aborts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sandbox/sandbox.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto profile = fnjail::sandbox::ParseProfileToml(text, "fuzz.toml");
  if (!profile) {
    if (profile.error().step != fnjail::sandbox::Step::kProfile) std::abort();
    if (std::string_view(profile.error().detail).substr(0, 10) != "fuzz.toml:") std::abort();
    return 0;
  }
  profile->spec.argv = {"/bin/true"};
  (void)fnjail::sandbox::ValidateSpec(profile->spec);
  return 0;
}
