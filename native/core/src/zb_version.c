/* zb_version.c — the version the library was built as (zerobuffer.h). */
#include "zerobuffer.h"

unsigned zb_version(void) { return ZEROBUFFER_VERSION_HEX; }

const char *zb_version_string(void) { return ZEROBUFFER_VERSION_STRING; }
