// Syscall presets and the always-denied list (docs/function-profile.md, docs/sandbox.md).
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace fnjail::sandbox::internal::presets {

// The syscall names of preset `name`, or nullopt when there is no such preset.
std::optional<std::vector<std::string_view>> Find(std::string_view name);

// Preset names in documentation order.
std::vector<std::string_view> Names();

// Syscalls killed whatever the preset says, unless lifted with a DangerousToken. clone3 is
// not here: it answers ENOSYS so libc falls back to clone, whose flags are filtered.
std::vector<std::string_view> AlwaysDenied();

}  // namespace fnjail::sandbox::internal::presets
