// The gateway's end of the runtime protocol: Session.
#include "runtime/protocol.h"

namespace fnjail::runtime {}  // namespace fnjail::runtime
