#!/usr/bin/env bash
# Runs a leak-check program under valgrind memcheck: any invalid access or
# leak of the given kinds fails the test, with valgrind's report in the log.
#   run.sh SUPPRESSIONS LEAK_KINDS PROGRAM [ARGS...]
# In a sanitized build (ZB_SANITIZED=1) valgrind cannot run the program; it
# runs as is, and ASan/LeakSanitizer (ASAN_OPTIONS) do the checking.
# Exit status 77 (skipped) when valgrind is not installed.
set -uo pipefail
supp=$1 kinds=$2
shift 2

if [ "${ZB_SANITIZED:-0}" = 1 ]; then
  echo "sanitized build: running $(basename "$1") without valgrind (ASan/LSan check it)"
  exec "$@"
fi
if ! command -v valgrind >/dev/null; then
  echo "SKIP: valgrind not found (scripts/bootstrap.sh installs it)"
  exit 77
fi
exec valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds="$kinds" \
  --show-leak-kinds="$kinds" --suppressions="$supp" --num-callers=30 "$@"
