// Fixture: a public header exposing a third-party type.
#pragma once

#include <openssl/evp.h>
