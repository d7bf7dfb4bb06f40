#!/usr/bin/env bash
# All tests: the C suites, the same suites under ASan+UBSan, the core's suites
# under ThreadSanitizer, a bounded fuzz run, a type-check of src and the tests,
# and jest.
# Every part runs even when an earlier one fails; the last line is the totals,
# "N passed, M failed[, K skipped]", and the exit status is non-zero if anything failed.
# Usage: scripts/test.sh [--no-asan]    (--no-asan: quicker local runs, without
# the ASan and TSan builds)
set -uo pipefail # no -e: a failing part must not stop the others
cd "$(dirname "$0")/.."

asan=1
case "${1:-}" in
  '') ;;
  --no-asan) asan=0 ;;
  *) echo "usage: $0 [--no-asan]" >&2; exit 2 ;;
esac

passed=0 failed=0 skipped=0 status=0

# Prints "passed failed skipped" from meson's testlog.json (one JSON object per
# test) or jest's --json output; "0 0 0" when the file is missing or empty.
# node, since python may not be installed.
count() {
  node -e '
    const fs = require("fs");
    const [kind, file] = process.argv.slice(1);
    let p = 0, f = 0, s = 0;
    if (fs.existsSync(file) && fs.statSync(file).size > 0) {
      const text = fs.readFileSync(file, "utf8");
      if (kind === "jest") {
        const r = JSON.parse(text);
        [p, f, s] = [r.numPassedTests, r.numFailedTests, r.numPendingTests + r.numTodoTests];
      } else {
        for (const line of text.split("\n").filter((l) => l.trim())) {
          const result = JSON.parse(line).result;
          if (result === "OK" || result === "EXPECTEDFAIL") p++;
          else if (result === "SKIP") s++;
          else f++; // FAIL, TIMEOUT, UNEXPECTEDPASS, ERROR
        }
      }
    }
    console.log(p, f, s);
  ' "$1" "$2"
}

# Adds one part's counts to the totals. A part that exited non-zero without a
# failed test (build error, crash of the runner) counts as one failure, so the
# totals never hide it.
record() { # name exit-status "passed failed skipped"
  local p f s
  read -r p f s <<<"$3"
  if [ "$2" -ne 0 ]; then
    status=1
    if [ "$f" -eq 0 ]; then
      f=1
      echo "$1: exited with status $2 before any test failed (see above)"
    fi
  fi
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

# Stale results from an earlier run must not be counted if a build fails now.
rm -f builddir/meson-logs/testlog.json builddir-asan/meson-logs/testlog.json \
  builddir-tsan/meson-logs/testlog.json

echo "== C tests (builddir/)"
bash scripts/build.sh && meson test -C builddir --print-errorlogs
record "C tests" $? "$(count meson builddir/meson-logs/testlog.json)"

if [ "$asan" = 1 ]; then
  echo "== C tests under ASan+UBSan (builddir-asan/)"
  # b_lundef=false: sanitizer runtimes leave symbols undefined at link time.
  # The timeout multiplier gives room for the sanitizers' slowdown.
  { [ -f builddir-asan/build.ninja ] ||
      meson setup builddir-asan -Dtests=enabled -Db_sanitize=address,undefined -Db_lundef=false; } &&
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    meson test -C builddir-asan --print-errorlogs --timeout-multiplier 3
  record "ASan+UBSan tests" $? "$(count meson builddir-asan/meson-logs/testlog.json)"

  # ThreadSanitizer over the core's suites (about 2 minutes on 2 cores):
  # data races between the threads of one process. Not the addon suite: its
  # pixel conversion has one thread, and its exhaustive SIMD-against-scalar
  # comparison takes minutes under TSan's instrumentation (4 s plain, 22 s
  # under ASan). Not the gst suites: GLib's GMutex and GStreamer's
  # refcounts are futexes and inline atomics that an uninstrumented GLib
  # hides from TSan, so every buffer handed between threads is reported.
  # Races through shared memory with another process are invisible to it.
  # A report makes the test exit 66 (a failure). No suppressions: the core
  # suites report none.
  echo "== core tests under ThreadSanitizer (builddir-tsan/)"
  { [ -f builddir-tsan/build.ninja ] ||
      meson setup builddir-tsan -Dtests=enabled -Db_sanitize=thread -Db_lundef=false; } &&
    TSAN_OPTIONS=second_deadlock_stack=1 \
    meson test -C builddir-tsan --suite core --print-errorlogs \
      --timeout-multiplier 3
  record "TSan tests" $? "$(count meson builddir-tsan/meson-logs/testlog.json)"
fi

# libFuzzer over a segment's contents, for a bounded time (ZB_FUZZ_SECONDS,
# default 60, 0 skips it), seeded with the golden dumps and test/fuzz/corpus;
# needs clang with libFuzzer (bootstrap.sh installs it where apt can). A
# skipped fuzz run counts as one skipped test, with the reason.
fuzz_seconds=${ZB_FUZZ_SECONDS:-60}
have_libfuzzer() {
  command -v clang >/dev/null &&
    echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' |
      clang -x c -fsanitize=fuzzer,address -o /dev/null - 2>/dev/null
}
if [ "$fuzz_seconds" -eq 0 ]; then
  echo "== fuzzing skipped: ZB_FUZZ_SECONDS=0"
  record "fuzz" 0 "0 0 1"
elif ! have_libfuzzer; then
  echo "== fuzzing skipped: clang with libFuzzer not found (scripts/bootstrap.sh installs clang and libclang-rt-14-dev)"
  record "fuzz" 0 "0 0 1"
else
  echo "== fuzzing the reader's view of a segment for ${fuzz_seconds} s (builddir-fuzz/)"
  corpus=builddir-fuzz/corpus
  { [ -f builddir-fuzz/build.ninja ] ||
      CC=clang meson setup builddir-fuzz -Dtests=enabled -Dfuzzing=true \
        -Db_sanitize=address,undefined -Db_lundef=false; } &&
    meson compile -C builddir-fuzz test/fuzz-segment && mkdir -p "$corpus" &&
    builddir-fuzz/test/fuzz-segment -max_total_time="$fuzz_seconds" -timeout=10 \
      -artifact_prefix=builddir-fuzz/ "$corpus" test/fuzz/corpus test/vectors 2>&1 |
      tail -n 5
  rc=${PIPESTATUS[0]}
  if [ "$rc" -eq 0 ]; then record "fuzz" 0 "1 0 0"; else record "fuzz" "$rc" "0 1 0"; fi
fi

# ts-jest only transpiles the tests (isolatedModules): their type errors are
# found here, as one test.
echo "== type-check of src and tests"
if npx tsc -p tsconfig.test.json; then record "type-check" 0 "1 0 0"; else record "type-check" $? "0 1 0"; fi

if [ -n "$(find test -name '*.test.ts' -print -quit 2>/dev/null)" ]; then
  echo "== jest"
  jest_json=$(mktemp)
  # --forceExit: a failing test may leave a handle open (a server it never
  # closed), and jest would then wait for it for ever after its summary.
  # With it jest prints "Force exiting Jest: ..." after every run, handles
  # or not: to find one, run a file alone with --detectOpenHandles instead.
  NODE_OPTIONS=--experimental-vm-modules npx jest --forceExit --json --outputFile="$jest_json"
  record "jest" $? "$(count jest "$jest_json")"
  rm -f "$jest_json"
fi

if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
exit "$status"
