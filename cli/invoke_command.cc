// `fnjail invoke`: not registered yet; the command lands with its library.
#include "cli/commands.h"

namespace fnjail::cli {

void RegisterInvokeCommands(CLI::App& /*app*/, Runner* /*run*/) {}

}  // namespace fnjail::cli
