// The result of one child-side step: {step, errno}, written to the report pipe on failure.
#pragma once

#include <cerrno>
#include <cstdint>

#include "sandbox/sandbox.h"

namespace fnjail::sandbox::internal {

// Plain bytes on the wire between the child and the parent. `index` says which entry of a
// plan failed (e.g. the n-th mount operation) so the parent can name the path.
struct ChildStatus {
  Step step = Step::kNone;
  uint8_t pad[3] = {};
  int32_t err = 0;
  uint32_t index = 0;

  bool ok() const noexcept { return step == Step::kNone; }
};

inline ChildStatus ChildOk() noexcept { return ChildStatus{}; }

// Captures errno right after a failed call.
inline ChildStatus ChildFail(Step step, uint32_t index = 0) noexcept {
  ChildStatus s;
  s.step = step;
  s.err = errno != 0 ? errno : EIO;
  s.index = index;
  return s;
}

}  // namespace fnjail::sandbox::internal
