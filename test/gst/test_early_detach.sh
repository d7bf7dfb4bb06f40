#!/usr/bin/env bash
# A writer that connects and leaves before its first frame ends the stream.
#   reader: gst-launch-1.0 zerosrc buffer-name=X payload-size=64 ! fakesink
#   writer: gst-launch-1.0 audiotestsrc num-buffers=5
#             ! audio/x-raw,format=S16LE,rate=48000,channels=2 ! zerosink buffer-name=X
# The writer writes its metadata, finds that a frame (4096 bytes) can never
# fit the 64-byte ring and detaches, within a few ms. Raw audio: its
# buffers have no fixed size, so zerosrc cannot tell from the caps that
# none fits (for raw video it fails at once, test_launch.sh). zerosrc (eos-on-writer-exit=true,
# timeout=-1, the defaults) must push EOS and exit 0, as for any writer that
# detached: the metadata tells it a writer was there even when it never saw
# writer_pid set (it used to wait for ever, in most runs). RUNS runs.
ZB_PREFIX="zbgst-early-$$-"
LIMIT=20
. "$(dirname "${BASH_SOURCE[0]}")/lib_process.sh"

RUNS=${RUNS:-5}
CAPS="audio/x-raw,format=S16LE,rate=48000,channels=2"

for ((i = 1; i <= RUNS; i++)); do
  name="${ZB_PREFIX}$i"
  bg_launch "$tmp/reader-$i.log" -- zerosrc buffer-name="$name" \
    payload-size=64 announce=true ! fakesink
  reader=$BG_PID
  wait_for_ring "$tmp/reader-$i.log" "$name" ||
    { fail "run $i: zerosrc did not announce the ring"; interrupt_launch $reader; wait_status $reader; continue; }
  fg_launch "$tmp/writer-$i.log" -- audiotestsrc num-buffers=5 ! "$CAPS" ! \
    zerosink buffer-name="$name"
  w=$?
  grep -q "can never fit" "$tmp/writer-$i.log" ||
    { fail "run $i: the writer exited $w without the can-never-fit error"; cat "$tmp/writer-$i.log"; }
  t0=$(now_ns)
  if ! wait_exit $reader 5; then
    fail "run $i: zerosrc still waits 5 s after its writer left"
    interrupt_launch $reader
    wait_status $reader
    continue
  fi
  wait_status $reader
  r=$?
  echo "run $i: writer exited $w; zerosrc exited $r, $(ms_since "$t0") ms later"
  [ $r -eq 0 ] && grep -q "Got EOS from element" "$tmp/reader-$i.log" ||
    { fail "run $i: zerosrc exited $r, not at EOS"; cat "$tmp/reader-$i.log"; }
  check_ring_gone "$name" "run $i"
done
finish
