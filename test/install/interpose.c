/* A zb_* of another library in the process's global scope, as an
 * application's libzerobuffer.so.0 (of this build or another) puts there.
 * Preloaded ahead of the GStreamer plugin (test/install/exports.sh) and the
 * Node addon (test/node/exports.test.ts): both must call the core compiled
 * into them; a call that reaches this one says so and aborts. The core calls
 * zb_validate_name for every ring it creates or connects to. */
#include <stdio.h>
#include <stdlib.h>

int zb_validate_name(const char *name);

int zb_validate_name(const char *name) {
  fprintf(stderr, "INTERPOSED: zb_validate_name(%s) of another library ran, not the caller's own core\n",
          name != NULL ? name : "(null)");
  abort();
}
