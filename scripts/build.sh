#!/usr/bin/env bash
# Builds the C core, the plugin and the C tests (meson), the Node addon
# (node-gyp) and the TypeScript sources (tsc).
set -euo pipefail
cd "$(dirname "$0")/.."

# meson builds in builddir/ (node-gyp owns build/); an existing builddir
# reconfigures itself when meson.build changes. -Dtests=enabled: the C suites
# and the peers the Node tests run (builddir/test/zb-peer, zb-duplex-server)
# are always built here, and a missing gstreamer-check-1.0 fails the setup
# instead of leaving tests out; a builddir set up before the option existed
# has it at its default (auto) and is set to enabled.
# A checkout moved since: meson's build directories hold its old absolute
# paths (ninja then misses the old path's files), so they start afresh; those
# of scripts/test.sh too, which builds through here first.
for dir in builddir builddir-asan builddir-tsan builddir-fuzz; do
  [ -f "$dir/meson-info/meson-info.json" ] || continue
  # status 3 only for another path: node missing or failing wipes nothing
  status=0
  node -e 'const fs = require("fs"), { source } = require(process.argv[1]).directories;
    process.exit(fs.existsSync(source) && fs.realpathSync(source) === process.cwd() ? 0 : 3)' \
    "./$dir/meson-info/meson-info.json" || status=$?
  if [ "$status" -eq 3 ]; then echo "build: $dir was set up for another path: set up again" >&2; rm -rf "$dir"; fi
done
if [ ! -f builddir/build.ninja ]; then
  meson setup builddir -Dtests=enabled
elif ! meson configure builddir | grep -E '^\s*tests\s+enabled\s' >/dev/null; then
  meson configure builddir -Dtests=enabled
fi
meson compile -C builddir

# Through npm so that npm's bundled node-gyp runs (`npx node-gyp` fails here).
npm run --silent build:addon
npx tsc -p tsconfig.json
