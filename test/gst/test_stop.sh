#!/usr/bin/env bash
# Stopping gst-launch-1.0 processes that are waiting on the other side.
# (a) A zerosrc waiting for a writer that never comes:
#       gst-launch-1.0 -e zerosrc buffer-name=X ! checksumsink
#     SIGINT after 1 s (-e: EOS) -> exit 0 within 5 s, ring removed.
# (b) A zerosink waiting for a reader that never comes (connect-timeout=-1):
#       gst-launch-1.0 videotestsrc ! zerosink buffer-name=Y connect-timeout=-1
#     SIGINT after 1 s -> gst-launch-1.0 sets the pipeline to NULL, the wait
#     is broken (unlock) -> exit 0 within 5 s.
# (b2) The same with -e: gst-launch-1.0 sends EOS into videotestsrc, whose
#     streaming thread waits in the acquire of zerosink's zero-copy pool,
#     which the EOS interrupts -> EOS reaches zerosink -> exit 0 within 5 s.
#     (Upstream that does not use the pool, e.g. identity drop-allocation=true,
#     waits inside zerosink's render instead, where the EOS cannot reach it:
#     with -e only connect-timeout ends that wait.)
# (d) A stream that ends before its first frame, with no reader, -e (its EOS
#     comes while the pipeline prerolls):
#       gst-launch-1.0 -e videotestsrc num-buffers=0 ! CAPS ! zerosink buffer-name=D connect-timeout=-1
#     The EOS does not wait for a reader -> exit 0 by itself within 4 s, and
#     the log says no reader was there. (zerosink used to wait for one at
#     that EOS, in PAUSED, for connect-timeout; Ctrl-C then hung gst-launch
#     for good: the EOS -e sends waits in videotestsrc for the streaming
#     thread, which after connect-timeout waited in the preroll for a
#     PLAYING that never came.) Still running after 4 s: SIGINT, and fail.
# (e) A source that never produces, with no reader, -e:
#       gst-launch-1.0 -e appsrc caps=CAPS ! zerosink buffer-name=E connect-timeout=-1
#     SIGINT after 1 s -> EOS -> exit 0 within 5 s (zerosink used to wait
#     connect-timeout for a reader at that EOS: here for ever).
# (f) on-reader-lost=wait, no reader ever, -e, frames copied (identity
#     drop-allocation=true makes upstream ignore the pool, as an encoder's
#     output is copied):
#       gst-launch-1.0 -e videotestsrc is-live=true ! CAPS ! identity drop-allocation=true ! zerosink buffer-name=F on-reader-lost=wait
#     zerosink drops the frames without waiting for a reader (it said so)
#     -> SIGINT after 1 s -> EOS -> exit 0 within 5 s, no ERROR. (It used
#     to wait connect-timeout in render, where the EOS cannot reach it: 9 s
#     and the ENOENT error.)
# (c) A zerosink blocked on a full ring (policy=block, timeout=-1) because its
#     reader is stopped (SIGSTOP), once with upstream writing into the
#     zero-copy pool, once copying: SIGINT to the writer -> NULL state -> exit 0
#     within 5 s, and it had stopped writing (counters from its log). Then the reader continues (SIGCONT), sees the writer's
#     detach as end of stream and exits 0; ring removed.
ZB_PREFIX="zbgst-stop-$$-"
. "$(dirname "${BASH_SOURCE[0]}")/lib_process.sh"

BOUND=5000 # ms from SIGINT to exit
CAPS='video/x-raw,format=RGB,width=320,height=240,framerate=30/1'

interrupt() { # timeout-pid label -> $status $elapsed
  local victim
  status=-1 elapsed=-1
  if ! victim=$(child_of "$1"); then
    wait_status "$1"
    status=$?
    fail "$2: gst-launch-1.0 ended before the SIGINT (status $status)"
    return
  fi
  local t0=$(now_ns)
  kill -INT "$victim"
  wait_status "$1"
  status=$?
  elapsed=$(ms_since "$t0")
  echo "$2: exited $status, $elapsed ms after SIGINT"
  [ "$status" -eq 0 ] || fail "$2: exited $status"
  [ "$elapsed" -lt $BOUND ] || fail "$2: took $elapsed ms (bound $BOUND)"
}

# (a) zerosrc without a writer.
name="${ZB_PREFIX}a"
bg_launch "$tmp/a.log" -- -e zerosrc buffer-name="$name" announce=true ! checksumsink
pid=$BG_PID
wait_for_ring "$tmp/a.log" "$name" || fail "(a) zerosrc did not announce the ring"
sleep 1
interrupt $pid "(a) zerosrc, no writer"
[ "$status" -eq 0 ] || cat "$tmp/a.log"
grep -q 'Got EOS from element' "$tmp/a.log" || fail "(a) zerosrc did not stop on EOS"
check_ring_gone "$name" "(a)"

# (b) zerosink without a reader.
name="${ZB_PREFIX}b"
bg_launch "$tmp/b.log" GST_DEBUG=zerosink:4 -- videotestsrc ! "$CAPS" ! \
  zerosink buffer-name="$name" connect-timeout=-1
pid=$BG_PID
wait_for_line "$tmp/b.log" "waiting .* for a reader" 10 ||
  fail "(b) zerosink is not waiting for a reader"
sleep 1
interrupt $pid "(b) zerosink, no reader"
[ "$status" -eq 0 ] || cat "$tmp/b.log"
check_ring_gone "$name" "(b)"

# (b2) zerosink without a reader, -e.
name="${ZB_PREFIX}b2"
bg_launch "$tmp/b2.log" GST_DEBUG=zerosink:4 -- -e videotestsrc ! "$CAPS" ! \
  zerosink buffer-name="$name" connect-timeout=-1
pid=$BG_PID
wait_for_line "$tmp/b2.log" "waiting .* for a reader" 10 ||
  fail "(b2) zerosink is not waiting for a reader"
sleep 1
interrupt $pid "(b2) zerosink -e, no reader"
[ "$status" -eq 0 ] || cat "$tmp/b2.log"
check_ring_gone "$name" "(b2)"

# (d) An empty stream, no reader, -e.
name="${ZB_PREFIX}d"
t0=$(now_ns)
bg_launch "$tmp/d.log" GST_DEBUG=zerosink:4 -- -e videotestsrc num-buffers=0 ! \
  "$CAPS" ! zerosink buffer-name="$name" connect-timeout=-1
pid=$BG_PID
if wait_exit $pid 4; then
  wait_status $pid
  status=$?
  echo "(d) zerosink -e, empty stream, no reader: exited $status by itself, $(ms_since "$t0") ms after start"
  [ "$status" -eq 0 ] || { fail "(d) exited $status"; cat "$tmp/d.log"; }
else
  fail "(d) zerosink -e, empty stream, no reader: still running 4 s after start"
  interrupt $pid "(d) zerosink -e, empty stream, no reader"
fi
grep -q "no reader was there to hear of it" "$tmp/d.log" ||
  fail "(d) zerosink did not say that no reader was there"
check_ring_gone "$name" "(d)"

# (e) A source that never produces, no reader, -e.
name="${ZB_PREFIX}e"
bg_launch "$tmp/e.log" GST_DEBUG=zerosink:4 -- -e appsrc caps="$CAPS" ! \
  zerosink buffer-name="$name" connect-timeout=-1
pid=$BG_PID
sleep 1
interrupt $pid "(e) zerosink -e, a source without buffers, no reader"
[ "$status" -eq 0 ] || cat "$tmp/e.log"
check_ring_gone "$name" "(e)"

# (f) on-reader-lost=wait, no reader, -e, frames copied.
name="${ZB_PREFIX}f"
bg_launch "$tmp/f.log" GST_DEBUG=zerosink:4 -- -e videotestsrc is-live=true ! \
  "$CAPS" ! identity drop-allocation=true ! zerosink buffer-name="$name" \
  on-reader-lost=wait
pid=$BG_PID
wait_for_line "$tmp/f.log" "no reader has created the ring yet: dropping" 10 ||
  fail "(f) zerosink does not say that it drops frames without a reader"
sleep 1
interrupt $pid "(f) zerosink -e on-reader-lost=wait, no reader"
[ "$status" -eq 0 ] || cat "$tmp/f.log"
! grep -q "^ERROR" "$tmp/f.log" || fail "(f) an ERROR was posted"
check_ring_gone "$name" "(f)"

# (c) zerosink blocked on a full ring, upstream in the zero-copy pool's
# acquire (c-pool) or zerosink waiting in render (c-copy: identity
# drop-allocation=true makes upstream ignore the pool, so frames are copied).
blocked() { # label [element before zerosink]
  local label=$1 extra=()
  [ $# -gt 1 ] && extra=(! $2)
  local name="$ZB_PREFIX$label" FRAME=$((320 * 240 * 3))
  bg_launch "$tmp/$label-reader.log" -- -e zerosrc buffer-name="$name" announce=true \
    payload-size=$((3 * (FRAME + 16))) ! checksumsink
  local reader=$BG_PID
  wait_for_ring "$tmp/$label-reader.log" "$name" ||
    fail "($label) zerosrc did not announce the ring"
  bg_launch "$tmp/$label-writer.log" GST_DEBUG=zerosink:4 -- videotestsrc is-live=true ! \
    "$CAPS" "${extra[@]}" ! zerosink buffer-name="$name" timeout=-1
  local writer=$BG_PID
  wait_for_buffers "$tmp/$label-reader.log" 3 10 || fail "($label) no frames arrived"
  local reader_proc
  reader_proc=$(child_of "$reader")
  kill -STOP "$reader_proc"
  sleep 1 # 30 frames/s into a ring of 3 frames: full after 0.1 s
  interrupt $writer "($label) zerosink, blocked on a full ring"
  [ "$status" -eq 0 ] || cat "$tmp/$label-writer.log"
  local line written got n r
  line=$(grep 'stopped: [0-9]* frames' "$tmp/$label-writer.log" | tail -n1)
  written=$(echo "$line" | sed -n 's/.*stopped: \([0-9]*\) frames.*/\1/p')
  got=$(checksums "$tmp/$label-reader.log" | wc -l)
  echo "($label) ${line#*stopped: }; the reader had taken $got"
  # Blocked for real: it wrote at most the frames the reader printed, the
  # ring's three and a few in flight (unblocked it would have written ~30).
  [ -n "$written" ] && [ "$written" -le $((got + 6)) ] ||
    fail "($label) the writer was not blocked (wrote ${written:-?}, reader took $got)"
  kill -CONT "$reader_proc"
  wait_status $reader
  r=$?
  [ $r -eq 0 ] ||
    { fail "($label) the reader exited $r after the writer stopped"; cat "$tmp/$label-reader.log"; }
  n=$(checksums "$tmp/$label-reader.log" | wc -l)
  [ "$n" -eq "${written:--1}" ] ||
    fail "($label) the reader got $n frames, the writer wrote ${written:-?}"
  echo "($label) the reader exited $r with $n frames"
  check_ring_gone "$name" "($label)"
}
blocked c-pool
blocked c-copy "identity drop-allocation=true"

finish
