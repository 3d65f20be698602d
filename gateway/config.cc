// Loading and checking the gateway configuration.
#include "gateway/config.h"
