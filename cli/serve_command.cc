// `fnjail serve`: not registered yet; the command lands with its library.
#include "cli/commands.h"

namespace fnjail::cli {

void RegisterServeCommand(CLI::App& /*app*/, Runner* /*run*/) {}

}  // namespace fnjail::cli
