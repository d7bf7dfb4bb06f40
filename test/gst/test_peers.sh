#!/usr/bin/env bash
# zerosrc under writers that behave like the other implementations'
# (zb-peer write-cpp / write-python, docs/PROTOCOL.md §7, "Peer quirks"): they
# wait for room only on sem-r, and the Python one counts wraps it never
# wrote. Each writes 20000 frames of 1..2032 bytes into a 4096-byte ring
# (thousands of laps; sizes chosen to end frames exactly at the end of the
# ring, leave small tails and wrap) while
#   gst-launch-1.0 zerosrc buffer-name=X payload-size=4096 ! SINK
# reads them, SINK being filesink (which holds 64 KiB of buffers before it
# writes any: zerosrc must move them out of the ring for the writer to go
# on) and fakesink. The writer must finish (no "buffer is full"), hit exact
# ends, small tails and markers (and phantom counts for the Python one),
# gst-launch must end with EOS (exit 0), and filesink's file must hash to
# what the writer wrote.
ZB_PREFIX="zbgst-peers-$$-"
. "$(dirname "${BASH_SOURCE[0]}")/lib_process.sh"

need_elements filesink fakesink
[ -x "${ZB_PEER:-}" ] || { echo "ZB_PEER must point at the built zb-peer"; exit 1; }
FRAMES=20000

run() { # writer-mode sink-label sink...
  local mode=$1 label=$2 name="$ZB_PREFIX$1-$2" out="$tmp/$1-$2.bin" w r line want got
  shift 2
  local sink=("$@")
  [ "$label" = filesink ] && sink+=(location="$out")
  bg_launch "$tmp/reader.log" -- -e zerosrc buffer-name="$name" payload-size=4096 \
    metadata-size=1024 announce=true ! "${sink[@]}"
  r=$BG_PID
  if ! wait_for_ring "$tmp/reader.log" "$name"; then
    fail "$mode/$label: zerosrc did not announce the ring"; cat "$tmp/reader.log"; return
  fi
  timeout -k 5 "$LIMIT" "$ZB_PEER" "$mode" "$name" --frames $FRAMES --seed 7 \
    --min 1 --max 2032 --sizes edge --timeout 5000 \
    --metadata '{"caps":"application/octet-stream"}' >"$tmp/writer.log" 2>&1
  w=$?
  wait_status $r
  r=$?
  line=$(grep '^wrote ' "$tmp/writer.log")
  echo "$mode into zerosrc ! $label: $line"
  [ $w -eq 0 ] || { fail "$mode/$label: the writer exited $w"; cat "$tmp/writer.log"; }
  [ $r -eq 0 ] || { fail "$mode/$label: gst-launch exited $r"; tail -n 20 "$tmp/reader.log"; }
  for kind in markers small_tails exact_ends; do
    echo "$line" | grep -qE " $kind=[1-9]" || fail "$mode/$label: no $kind in this run"
  done
  if [ "$mode" = write-python ]; then
    echo "$line" | grep -qE " phantoms=[1-9]" || fail "$mode/$label: no phantom counts"
  fi
  if [ "$label" = filesink ]; then
    want=$(echo "$line" | sed -n 's/.* fnv1a=\([0-9a-f]*\).*/\1/p')
    got=$("$ZB_PEER" fnv "$out" | sed -n 's/fnv1a=//p')
    [ -n "$want" ] && [ "$got" = "$want" ] ||
      fail "$mode/$label: the file hashes to '$got', the writer wrote '$want'"
  fi
  check_ring_gone "$name" "$mode/$label"
}

for mode in write-cpp write-python; do
  run "$mode" filesink filesink
  run "$mode" fakesink fakesink
done
finish
