// Fuzzer of the gateway configuration reader (gateway::ParseConfig, text only: no file
// named in the config is looked at).
//
// Any input must come back as a Config or as diagnostics, never a crash. A refusal carries
// at least one error, and every error has a position (line and column from 1) and a
// one-line message. An accepted config is complete: an audit log and key, at least one
// listen address whose text parses back to itself, a worker count of at least one. The
// same input always gives the same answer. A failure there aborts.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gateway/config.h"

namespace {

namespace gateway = fnjail::gateway;

[[noreturn]] void Violation(const char* what) {
  std::fprintf(stderr, "config_toml_fuzzer: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = gateway::ParseConfig(text, "/fuzz/fnjail.toml");
  auto again = gateway::ParseConfig(text, "/fuzz/fnjail.toml");
  if (config.has_value() != again.has_value()) Violation("the same input was judged twice");
  if (!config) {
    if (!config.error().HasErrors()) Violation("a refused config carries no error");
    if (config.error().ToString() != again.error().ToString()) {
      Violation("the same input gave different diagnostics");
    }
    for (const gateway::Diagnostic& d : config.error()) {
      if (d.message.find('\n') != std::string::npos) {
        std::fprintf(stderr, "%s\n", d.ToString().c_str());
        Violation("a diagnostic message of more than one line");
      }
      if (d.span.line == 0 || d.span.column == 0) {
        std::fprintf(stderr, "%s\n", d.ToString().c_str());
        Violation("a diagnostic without a position");
      }
    }
    return 0;
  }
  if (config->audit.path.empty() || config->audit.signing_key.empty()) {
    Violation("an accepted config without an audit log or key");
  }
  if (config->server.listen.empty()) Violation("an accepted config listens nowhere");
  if (config->server.worker_threads == 0) Violation("an accepted config has no worker");
  for (const gateway::ListenAddress& address : config->server.listen) {
    auto parsed = gateway::ParseListenAddress(address.ToString());
    if (!parsed || parsed->ToString() != address.ToString()) {
      Violation("a listen address does not parse back to itself");
    }
  }
  return 0;
}
