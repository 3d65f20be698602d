// The message codecs of the runtime protocol, shared by the gateway and fnjail-runtime.
#include "runtime/protocol.h"

namespace fnjail::runtime {

std::string Error::ToString() const { return code + ": " + message; }

std::string_view ResponseKindName(Response::Kind kind) noexcept {
  switch (kind) {
    case Response::Kind::kOk:
      return "ok";
    case Response::Kind::kHandledError:
      return "handled-error";
    case Response::Kind::kUnhandledError:
      return "unhandled-error";
  }
  return "unknown";
}

}  // namespace fnjail::runtime
