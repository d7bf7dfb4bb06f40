#!/usr/bin/env bash
# The checkout's tools (zb-demo, zb-health): --help prints the usage on
# stdout and exits 0; bad usage prints it on stderr and exits 2.
# Arguments: the zb-demo and zb-health executables.
set -u
demo=$1 health=$2
failed=0
errfile=$(mktemp)
trap 'rm -f "$errfile"' EXIT
check() { # name, expected status, expected stdout pattern ('' = empty), expected stderr pattern ('' = empty), command...
  local name=$1 want=$2 out_re=$3 err_re=$4
  shift 4
  local out err rc
  out=$("$@" 2>"$errfile"); rc=$?
  err=$(<"$errfile")
  if [ "$rc" != "$want" ] ||
     { [ -z "$out_re" ] && [ -n "$out" ]; } || { [ -n "$out_re" ] && ! grep -q -- "$out_re" <<<"$out"; } ||
     { [ -z "$err_re" ] && [ -n "$err" ]; } || { [ -n "$err_re" ] && ! grep -q -- "$err_re" <<<"$err"; }; then
    echo "FAIL $name: exit $rc (want $want)"; echo "  stdout: $out"; echo "  stderr: $err"; failed=1
  else
    echo "ok   $name"
  fi
}
check 'zb-demo --help' 0 '^usage: zb-demo' '' "$demo" --help
check 'zb-demo --bogus' 2 '' '^usage: zb-demo' "$demo" --bogus
check 'zb-health --help' 0 '^usage: zb-health NAME' '' "$health" --help
check 'zb-health -h' 0 '^usage: zb-health NAME' '' "$health" -h
check 'zb-health (no name)' 2 '' '^usage: zb-health NAME' "$health"
check 'zb-health (no such ring)' 1 '' 'ENOENT' "$health" "zb-tools-help-none-$$"
exit $failed
