#!/usr/bin/env bash
# Drop policy with a slow consumer.
#   reader: gst-launch-1.0 -e zerosrc buffer-name=X payload-size=P (2 frames)
#             ! identity sleep-time=20000 ! checksumsink           (50 frames/s)
#   writer: GST_DEBUG=zerosink:4 gst-launch-1.0 -e videotestsrc num-buffers=60
#             pattern=ball ! CAPS (120 frames/s) ! zerosink policy=drop
# zerosink logs its counters when it stops ("stopped: W frames, B bytes
# written[ (Z zero-copy, C copied)], D dropped"). Then: D > 0, W + D == 60, B == W * frame size, the
# reader received exactly W frames, and each of them is a frame of the
# unthrottled stream (its checksum), in increasing order: none corrupted,
# none repeated, none reordered. Both exit 0 (EOS), ring gone afterwards.
ZB_PREFIX="zbgst-drop-$$-"
. "$(dirname "${BASH_SOURCE[0]}")/lib_process.sh"

N=60
W=320 H=240
CAPS="video/x-raw,format=RGB,width=$W,height=$H,framerate=120/1"
FRAME=$((W * H * 3))                  # RGB, rows already 4-byte aligned
PAYLOAD=$(((2 * (FRAME + 16) + 63) / 64 * 64))
name="${ZB_PREFIX}x"

fg_launch "$tmp/ref.log" -- videotestsrc num-buffers=$N pattern=ball ! "$CAPS" ! \
  checksumsink || { cat "$tmp/ref.log"; exit 1; }
checksums "$tmp/ref.log" >"$tmp/ref.sha"
[ "$(wc -l <"$tmp/ref.sha")" -eq $N ] || { cat "$tmp/ref.log"; exit 1; }

bg_launch "$tmp/reader.log" -- -e zerosrc buffer-name="$name" payload-size=$PAYLOAD \
  announce=true ! identity sleep-time=20000 ! checksumsink
reader=$BG_PID
wait_for_ring "$tmp/reader.log" "$name" ||
  { fail "zerosrc did not announce the ring"; cat "$tmp/reader.log"; }
fg_launch "$tmp/writer.log" GST_DEBUG=zerosink:4 -- -e videotestsrc \
  num-buffers=$N pattern=ball ! "$CAPS" ! zerosink buffer-name="$name" policy=drop
w=$?
wait_status $reader
r=$?
[ $w -eq 0 ] || { fail "the writer exited $w"; cat "$tmp/writer.log"; }
[ $r -eq 0 ] || { fail "the reader exited $r"; cat "$tmp/reader.log"; }

line=$(grep 'stopped: [0-9]* frames' "$tmp/writer.log" | tail -n1)
field() { echo "$line" | sed -n "s/.*[ (]\([0-9][0-9]*\) $1.*/\1/p"; }
written=$(field frames) bytes=$(field 'bytes written') dropped=$(field dropped)
counters=$written$bytes$dropped
[ -n "$written" ] && [ -n "$bytes" ] && [ -n "$dropped" ] || counters=
checksums "$tmp/reader.log" >"$tmp/got.sha"
got=$(wc -l <"$tmp/got.sha")
echo "writer: $written written ($bytes bytes), $dropped dropped; reader: $got received"
if [ -z "$counters" ]; then
  fail "no 'stopped:' counters in the writer's log"
  tail -n 20 "$tmp/writer.log"
else
  [ "$dropped" -gt 0 ] || fail "nothing was dropped (the consumer was not slow?)"
  [ $((written + dropped)) -eq $N ] || fail "written $written + dropped $dropped != $N"
  [ "$bytes" -eq $((written * FRAME)) ] || fail "$bytes bytes for $written frames"
  [ "$got" -eq "$written" ] || fail "the reader got $got frames, the writer wrote $written"
fi

# Every received frame is a frame of the stream, in increasing order.
if ! awk 'NR == FNR { ref[++n] = $1; next }
          { found = 0; while (i < n) if (ref[++i] == $1) { found = 1; break }
            if (!found) { bad = FNR; exit } }
          END { if (bad) { print "frame " bad " of the reader is not in order in the stream"; exit 1 } }' \
    "$tmp/ref.sha" "$tmp/got.sha"; then
  fail "the received frames are not an ordered subset of the stream"
fi
positions=$(awk 'NR == FNR { if (!($1 in at)) at[$1] = FNR; next } { printf "%s ", at[$1] }' \
  "$tmp/ref.sha" "$tmp/got.sha")
echo "received stream frames: $positions"
check_ring_gone "$name" "drop"

finish
