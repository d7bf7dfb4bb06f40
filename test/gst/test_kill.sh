#!/usr/bin/env bash
# SIGKILL on either side of a ring between two gst-launch-1.0 processes.
#   reader: gst-launch-1.0 -e zerosrc buffer-name=X ! checksumsink
#   writer: gst-launch-1.0 -e videotestsrc is-live=true ! CAPS ! zerosink buffer-name=X
# (a) The reader is killed while the writer writes: the writer posts "The
#     reader of ring X is gone" (classified: "zerobuffer-error=EREADERGONE
#     (transient)", after its frame count) and exits non-zero within its
#     timeout. The
#     killed reader left its ring behind; the next zerosrc with the same name
#     sweeps it and a full round trip over it works.
# (b) The writer is killed: the reader (eos-on-writer-exit=true, the default)
#     posts "The writer of ring X died" (EWRITERDEAD, transient) and exits
#     non-zero within a bound.
# (c) The reader is killed while a writer with on-reader-lost=wait writes:
#     the writer warns ("dropping frames until a reader creates the ring
#     again") and keeps running; the next zerosrc of the name sweeps the
#     stale ring and receives frames (10, then its EOS); the writer says it
#     writes into the new ring, and exits 0 on SIGINT.
# Nothing hangs: every process runs under timeout and must end well before it.
ZB_PREFIX="zbgst-kill-$$-"
. "$(dirname "${BASH_SOURCE[0]}")/lib_process.sh"

CAPS='video/x-raw,format=RGB,width=320,height=240,framerate=30/1'
WRITER_TIMEOUT=3000 # ms, zerosink's timeout for a full ring
BOUND=$((WRITER_TIMEOUT + 2000)) # ms from the kill to the survivor's exit

start_pair() { # name [zerosink properties] -> $reader $writer (timeout pids)
  bg_launch "$tmp/reader.log" -- -e zerosrc buffer-name="$1" announce=true ! \
    checksumsink
  reader=$BG_PID
  wait_for_ring "$tmp/reader.log" "$1" || fail "$1: zerosrc did not announce the ring"
  bg_launch "$tmp/writer.log" -- -e videotestsrc is-live=true num-buffers=100000 ! \
    "$CAPS" ! zerosink buffer-name="$1" timeout=$WRITER_TIMEOUT ${2:-}
  writer=$BG_PID
  # Streaming for real: the reader has received some frames.
  wait_for_buffers "$tmp/reader.log" 5 10 ||
    fail "$1: no frames arrived before the kill"
}

# (a) Kill the reader.
name="${ZB_PREFIX}a"
start_pair "$name"
victim=$(child_of $reader)
t0=$(now_ns)
kill -KILL "$victim"
wait_status $writer
w=$?
elapsed=$(ms_since "$t0")
wait_status $reader
r=$?
echo "reader killed: writer exited $w after $elapsed ms (reader $r)"
[ $w -ne 0 ] && [ $w -ne 124 ] && [ $w -ne 137 ] ||
  { fail "(a) the writer exited $w"; cat "$tmp/writer.log"; }
[ "$elapsed" -lt $BOUND ] || fail "(a) the writer took $elapsed ms (bound $BOUND)"
grep -qF "The reader of ring $name is gone" "$tmp/writer.log" ||
  { fail "(a) no 'reader is gone' error"; cat "$tmp/writer.log"; }
# What a supervisor reads: the kind of error, and the frames that got through.
grep -qx "zerobuffer-error=EREADERGONE (transient)" "$tmp/writer.log" ||
  { fail "(a) no classified error line"; cat "$tmp/writer.log"; }
grep -qE "^zerobuffer-stats frames-written=[1-9][0-9]* " "$tmp/writer.log" ||
  { fail "(a) no frame count before the error"; cat "$tmp/writer.log"; }
# (A zerosrc starting anywhere sweeps every stale ring at most every 10 s,
# so another test running at the same time may have removed it already.)
if [ -n "$(ring_files "$name")" ]; then
  echo "the killed reader's ring is still there (stale)"
else
  echo "note: the killed reader's ring was already swept"
fi

# The stale ring is swept by the next zerosrc with the same name.
bg_launch "$tmp/reader.log" -- -e zerosrc buffer-name="$name" announce=true ! \
  checksumsink
reader=$BG_PID
wait_for_ring "$tmp/reader.log" "$name" ||
  { fail "(a) a new zerosrc could not take over the stale ring"; cat "$tmp/reader.log"; }
fg_launch "$tmp/writer.log" -- -e videotestsrc num-buffers=10 ! "$CAPS" ! \
  zerosink buffer-name="$name"
w=$?
wait_status $reader
r=$?
n=$(checksums "$tmp/reader.log" | wc -l)
echo "after the sweep: writer $w, reader $r, $n buffers"
if [ $w -ne 0 ] || [ $r -ne 0 ] || [ "$n" -ne 10 ]; then
  fail "(a) round trip over the swept ring: writer $w, reader $r, $n buffers"
  cat "$tmp/writer.log" "$tmp/reader.log"
fi
check_ring_gone "$name" "(a)"

# (b) Kill the writer.
name="${ZB_PREFIX}b"
start_pair "$name"
victim=$(child_of $writer)
t0=$(now_ns)
kill -KILL "$victim"
wait_status $reader
r=$?
elapsed=$(ms_since "$t0")
wait_status $writer
echo "writer killed: reader exited $r after $elapsed ms"
[ $r -ne 0 ] && [ $r -ne 124 ] && [ $r -ne 137 ] ||
  { fail "(b) the reader exited $r"; cat "$tmp/reader.log"; }
[ "$elapsed" -lt $BOUND ] || fail "(b) the reader took $elapsed ms (bound $BOUND)"
grep -qF "The writer of ring $name died" "$tmp/reader.log" ||
  { fail "(b) no 'writer died' error"; cat "$tmp/reader.log"; }
grep -qx "zerobuffer-error=EWRITERDEAD (transient)" "$tmp/reader.log" ||
  { fail "(b) no classified error line"; cat "$tmp/reader.log"; }
check_ring_gone "$name" "(b)"

# (c) Kill the reader of a writer that waits for the next one.
name="${ZB_PREFIX}c"
start_pair "$name" on-reader-lost=wait
kill -KILL "$(child_of $reader)"
wait_status $reader
wait_for_line "$tmp/writer.log" "dropping frames until a reader creates" 10 ||
  { fail "(c) the writer did not warn that its reader is gone"; cat "$tmp/writer.log"; }
sleep 0.5
kill -0 $writer 2>/dev/null ||
  { fail "(c) the writer did not wait for the next reader"; cat "$tmp/writer.log"; }
fg_launch "$tmp/reader2.log" -- -e zerosrc buffer-name="$name" num-buffers=10 ! \
  checksumsink
r=$?
n=$(checksums "$tmp/reader2.log" | wc -l)
echo "reader killed, writer waits: the next reader exited $r with $n buffers"
[ $r -eq 0 ] && [ "$n" -eq 10 ] ||
  { fail "(c) the next reader: exit $r, $n buffers"; cat "$tmp/reader2.log" "$tmp/writer.log"; }
grep -qF "A reader has ring $name again" "$tmp/writer.log" ||
  { fail "(c) the writer did not say it writes into the new ring"; cat "$tmp/writer.log"; }
interrupt_launch $writer
wait_status $writer
w=$?
echo "(c) the writer exited $w on SIGINT"
[ $w -eq 0 ] || { fail "(c) the writer exited $w"; cat "$tmp/writer.log"; }
grep -q "^ERROR" "$tmp/writer.log" && { fail "(c) the writer posted an error"; cat "$tmp/writer.log"; }
check_ring_gone "$name" "(c)"

finish
