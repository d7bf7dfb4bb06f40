#!/usr/bin/env bash
# `npm start`: builds what is missing, then runs `zerobuffer run` (the demo
# pipeline unless arguments are given: `npm start -- "<pipeline>" --frames 100`).
# On a terminal the demo runs until Ctrl-C; otherwise it stops after 150
# frames (5 s), so CI and scripts can run it unattended.
set -euo pipefail
cd "$(dirname "$0")/.."

need_build=0
for f in dist/cli/bin.js build/Release/zerobuffer.node builddir/gst-plugin/libgstzerobuffer.so; do
  [ -e "$f" ] || need_build=1
done
if [ "$need_build" = 1 ]; then
  echo "npm start: building first (bash scripts/build.sh)" >&2
  bash scripts/build.sh
elif [ -n "$(find src -name '*.ts' -newer dist/cli/bin.js -print -quit)" ]; then
  npx tsc -p tsconfig.json
fi
exec node dist/cli/bin.js run "$@"
