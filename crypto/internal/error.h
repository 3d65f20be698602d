// Building crypto::Error values from the OpenSSL error queue.
#pragma once

#include <string>
#include <vector>

#include "crypto/crypto.h"

namespace fnjail::crypto::internal {

// Drains the calling thread's OpenSSL error queue, oldest first, as readable strings.
std::vector<std::string> DrainOpenSslErrors();

// An error for a failed OpenSSL call: the queue is drained into it, so a later failure on
// this thread never reports a stale entry.
Error OpenSslError(std::string operation, std::string message);
inline tl::unexpected<Error> FailOpenSsl(std::string operation, std::string message) {
  return tl::unexpected(OpenSslError(std::move(operation), std::move(message)));
}

}  // namespace fnjail::crypto::internal
