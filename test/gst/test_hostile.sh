#!/usr/bin/env bash
# Hostile metadata between real processes: zb-peer writes the caps string of
# issue 12 — 32,000 nested '{' in a 64 KiB metadata block — into the ring of
# a gst-launch-1.0 zerosrc. zerosrc used to overflow its stack inside
# gst_caps_from_string (SIGSEGV, exit 139) and leave the ring's files behind.
# Now: an element error that says why and names the writer's pid, exit
# status 1, well within the bound, and nothing of the ring left.
ZB_PREFIX="zbgst-hostile-$$-"
. "$(dirname "${BASH_SOURCE[0]}")/lib_process.sh"

[ -x "${ZB_PEER:-}" ] || { echo "ZB_PEER must point at the built zb-peer"; exit 1; }

name="${ZB_PREFIX}caps"
bg_launch "$tmp/reader.log" -- zerosrc buffer-name="$name" metadata-size=65536 \
  announce=true ! fakesink
reader=$BG_PID
wait_for_ring "$tmp/reader.log" "$name" || fail "zerosrc did not announce the ring"

open=$(printf '%*s' 32000 '' | tr ' ' '{')
close=$(printf '%*s' 32000 '' | tr ' ' '}')
meta="{\"caps\":\"video/x-raw, a=(int)${open}1${close}\"}"
# More frames than the ring holds: the writer is still attached (blocked on
# the full ring) when zerosrc reads its metadata, and leaves once the reader
# is gone.
"$ZB_PEER" write "$name" --frames 100000 --timeout 5000 --metadata "$meta" \
  >"$tmp/peer.log" 2>&1 &
peer=$!
ZB_PIDS+=("$peer")
t0=$(now_ns)
wait_status $reader
r=$?
elapsed=$(ms_since "$t0")
wait "$peer" 2>/dev/null
echo "zerosrc exited $r after $elapsed ms"
[ $r -eq 1 ] || { fail "zerosrc exited $r, expected 1 (139: SIGSEGV, 124: timeout)"; cat "$tmp/reader.log"; }
[ "$elapsed" -lt 10000 ] || fail "zerosrc took $elapsed ms to fail"
grep -qF "nests more than 32 levels" "$tmp/reader.log" ||
  { fail "no error saying the caps nest too deep"; head -c 2000 "$tmp/reader.log"; }
grep -qF "its writer (pid $peer)" "$tmp/reader.log" ||
  { fail "the error does not name the writer's pid $peer"; head -c 2000 "$tmp/reader.log"; }
[ "$(wc -c <"$tmp/reader.log")" -lt 4000 ] ||
  fail "zerosrc printed $(wc -c <"$tmp/reader.log") bytes: the writer's bytes are not cut short"
check_ring_gone "$name" "after zerosrc failed"
finish
