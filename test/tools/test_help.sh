#!/usr/bin/env bash
# The checkout's tools (zb-demo, zb-health): --help prints the usage on
# stdout and exits 0; bad usage (an unknown option, a number zb-demo cannot
# use) prints it or what is wrong on stderr and exits 2.
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
# Numbers: digits only, > 0, no overflow (strtoull alone took -1 for 2^64 - 1
# frames); the message names the option. All refused before any ring exists.
for bad in '--frames -1' '--frames abc' '--frames 10x' '--frames 0' '--frames +5' \
    '--width -5' '--height 0' '--ring-frames -1' '--frames 99999999999999999999999'; do
  # shellcheck disable=SC2086 # split into option and value on purpose
  check "zb-demo $bad" 2 '' "^zb-demo: ${bad%% *} '" "$demo" $bad
done
check 'zb-demo --width 4294967296' 2 '' "^zb-demo: --width '4294967296': too large" "$demo" --width 4294967296
check 'zb-demo (frame size overflows)' 2 '' 'too large' "$demo" --width 4294967295 --height 4294967295
check 'zb-demo (ring size overflows)' 2 '' 'too large' "$demo" --ring-frames 18446744073709551615
check 'zb-demo --frames (no value)' 2 '' 'usage: zb-demo' "$demo" --frames
check 'zb-demo extra' 2 '' "^zb-demo: unexpected argument 'extra'" "$demo" extra
check 'zb-demo --frames 2 --width 16 --height 8 --ring-frames 2' 0 'content check: OK' '' "$demo" --frames 2 --width 16 --height 8 --ring-frames 2
check 'zb-health --help' 0 '^usage: zb-health NAME' '' "$health" --help
check 'zb-health -h' 0 '^usage: zb-health NAME' '' "$health" -h
check 'zb-health (no name)' 2 '' '^usage: zb-health NAME' "$health"
check 'zb-health (no such ring)' 1 '' 'ENOENT' "$health" "zb-tools-help-none-$$"
exit $failed
