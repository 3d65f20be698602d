// The only definition of MintDangerousToken(); linked through fnjail::sandbox_dangerous.
#include "sandbox/sandbox.h"

namespace fnjail::sandbox {

DangerousToken MintDangerousToken() { return DangerousToken(); }

}  // namespace fnjail::sandbox
