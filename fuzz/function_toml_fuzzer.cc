// Fuzz harness for function files (runtime/function.cc and the [profile] table through
// sandbox/profile_toml.cc).
//
// Properties: never crashes; every refusal is a "parse" error, each line of which starts
// with the file name and a line:col; an accepted function has a name, a handler path in
// the jail, and a jail spec that builds or is refused cleanly.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "runtime/function.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto fn = fnjail::runtime::ParseFunctionToml(text, "fuzz.toml");
  if (!fn) {
    if (fn.error().code != "parse") std::abort();
    const std::string& m = fn.error().message;
    size_t start = 0;
    while (start <= m.size()) {
      size_t end = m.find('\n', start);
      std::string_view line = std::string_view(m).substr(start, end - start);
      if (line.substr(0, 10) != "fuzz.toml:" && line.substr(0, 8) != "  help: ") std::abort();
      if (end == std::string::npos) break;
      start = end + 1;
    }
    return 0;
  }
  if (fn->name.empty() || fn->handler_in_jail.empty()) std::abort();
  fnjail::runtime::JailOptions options;
  options.runtime_binary = "/bin/true";
  auto spec = fnjail::runtime::JailSpecFor(*fn, options);
  if (!spec && spec.error().code != "jail") std::abort();
  return 0;
}
