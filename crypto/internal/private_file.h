// Files holding secrets: read only when private (mode 0600 or stricter), written atomically.
#pragma once

#include <string>
#include <string_view>

#include "crypto/crypto.h"

namespace fnjail::crypto::internal {

// Reads a regular file of `min_bytes` to `max_bytes` that group and others cannot access
// (a looser mode is refused: such a secret is no longer secret). Symlinks are refused.
Result<SecretBytes> ReadPrivateFile(const std::string& path, size_t min_bytes,
                                    size_t max_bytes, const std::string& operation);

// Replaces `path` with `text` atomically: a temporary file (mode 0600) is written,
// fsynced and renamed over it.
Result<void> WriteFileAtomically(const std::string& path, std::string_view text,
                                 const std::string& operation);

}  // namespace fnjail::crypto::internal
