#!/usr/bin/env bash
# A writer started before its reader: the buffers a live source produced
# while zerosink waited for the ring are dropped, so the reader plays the
# stream on time; a non-live writer's are all written.
#   writer: gst-launch-1.0 -e audiotestsrc [is-live=true] num-buffers=300
#             samplesperbuffer=480 freq=100.3 ! CAPS (10 ms a buffer)
#             ! zerosink frame-header=true
#   reader, 2 s later: gst-launch-1.0 -e zerosrc ! checksumsink sync=true
# Live: the reader ends within 1 s of the writer (zerosrc sees the detach
# within the core's 50 ms wait slice, the sink takes the EOS at the last
# frame's end plus zerosrc's 15 ms latency: 55-85 ms measured; the rest is
# room for a sanitized build's teardown on a loaded host; before the fix it
# ran the whole 2 s late: the 200 buffers owed were written back to back
# and zerosrc kept their spacing), zerosink counts W written and D dropped,
# D >= 100, W + D == 300, bytes == W * 1920, and the reader got exactly the
# last W buffers of the stream, in order. Non-live: all 300, none dropped,
# the stream's checksums and the writer's spacing (2.99 s from first PTS
# to last; up to 50 ms more: a writer that stalls past zerosrc's 15 ms
# slack on a loaded host moves the time base, as it should). All exit 0,
# rings gone afterwards.
ZB_PREFIX="zbgst-live-start-$$-"
. "$(dirname "${BASH_SOURCE[0]}")/lib_process.sh"

N=300
FRAME=1920                             # 480 samples, S16LE, 2 channels
CAPS='audio/x-raw,format=S16LE,rate=48000,channels=2,layout=interleaved'
# 1.003 cycles a buffer: no two buffers of the stream are alike
SRC="audiotestsrc num-buffers=$N samplesperbuffer=480 freq=100.3"

need_elements audiotestsrc checksumsink

fg_launch "$tmp/ref.log" -- $SRC ! "$CAPS" ! checksumsink ||
  { cat "$tmp/ref.log"; exit 1; }
checksums "$tmp/ref.log" >"$tmp/ref.sha"
[ "$(wc -l <"$tmp/ref.sha")" -eq $N ] || { cat "$tmp/ref.log"; exit 1; }
[ "$(sort -u "$tmp/ref.sha" | wc -l)" -eq $N ] ||
  { echo "the reference has repeated buffers"; exit 1; }

# A field of the zerobuffer-stats line zerosink posts before its EOS.
sink_stat() { # log field
  sed -n "s/^.*zerobuffer-stats .*\\b$2=\\([0-9]*\\).*$/\\1/p" "$1" | tail -n1
}

# Writer first, reader 2 s later; sets LAG_MS (reader's end after the
# writer's), W, D, B (zerosink's counts) and leaves the reader's log.
writer_first() { # label live(true|false)
  local name="${ZB_PREFIX}$1" writer reader w r t_w
  bg_launch "$tmp/$1-writer.log" -- -e $SRC is-live=$2 ! "$CAPS" ! \
    zerosink buffer-name="$name" frame-header=true
  writer=$BG_PID
  sleep 2
  bg_launch "$tmp/$1-reader.log" -- -e zerosrc buffer-name="$name" ! \
    checksumsink sync=true
  reader=$BG_PID
  wait_status "$writer"
  w=$?
  t_w=$(now_ns)
  wait_status "$reader"
  r=$?
  LAG_MS=$(ms_since "$t_w")
  [ $w -eq 0 ] || { fail "$1: the writer exited $w"; cat "$tmp/$1-writer.log"; }
  [ $r -eq 0 ] || { fail "$1: the reader exited $r"; cat "$tmp/$1-reader.log"; }
  W=$(sink_stat "$tmp/$1-writer.log" frames-written)
  D=$(sink_stat "$tmp/$1-writer.log" frames-dropped)
  B=$(sink_stat "$tmp/$1-writer.log" bytes-written)
  checksums "$tmp/$1-reader.log" >"$tmp/$1.sha"
  echo "$1: written $W, dropped $D, bytes $B; the reader ended $LAG_MS ms" \
    "after the writer"
  check_ring_gone "$name" "$1"
}

writer_first live true
if [ -z "$W" ] || [ -z "$D" ] || [ -z "$B" ]; then
  fail "live: no zerobuffer-stats line"; cat "$tmp/live-writer.log"
else
  [ "$LAG_MS" -le 1000 ] ||
    fail "live: the reader ended $LAG_MS ms after the writer, not within 1000"
  [ "$D" -ge 100 ] || fail "live: $D buffers dropped, not the ~200 owed"
  [ $((W + D)) -eq $N ] || fail "live: $W written + $D dropped != $N"
  [ "$B" -eq $((W * FRAME)) ] || fail "live: $B bytes for $W frames"
  tail -n "$W" "$tmp/ref.sha" | cmp -s - "$tmp/live.sha" ||
    fail "live: the reader did not get the last $W buffers of the stream" \
      "($(wc -l <"$tmp/live.sha") received)"
fi

writer_first non-live false
[ "$W" = $N ] && [ "$D" = 0 ] && [ "$B" = $((N * FRAME)) ] ||
  fail "non-live: written '$W', dropped '$D', bytes '$B', not $N, 0, $((N * FRAME))"
cmp -s "$tmp/ref.sha" "$tmp/non-live.sha" ||
  fail "non-live: the reader did not get the $N buffers of the stream"
span=$(timestamps "$tmp/non-live-reader.log" | awk -F: '
  { t = $1 * 3600 + $2 * 60 + $3 } NR == 1 { first = t } END { printf "%d", (t - first) * 1000 + 0.5 }')
[ "$span" -ge 2990 ] && [ "$span" -le 3040 ] ||
  fail "non-live: $span ms from first PTS to last, not 2990 (to 3040)"

finish
