// Fixture: a leaf library reaching up into the gateway.
#pragma once

#include "gateway/gateway.h"
