#!/usr/bin/env bash
# Builds, then runs the C demo: a writer and a reader process moving frames
# through a ring. Arguments go to zb-demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
exec builddir/native/core/zb-demo "$@"
