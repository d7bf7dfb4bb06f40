#!/usr/bin/env bash
# zerofilter answered in place (our extension, docs/PROTOCOL.md §9.4) by
# zb-duplex-server --in-place 1, between real processes:
# - echo: frame-exact (every buffer's checksum and timestamp equal the
#   stream's) for RGB 1920x1080 drawn into the request ring through the pool
#   and I420 321x241 recorded (copied into the ring); every answer in place;
# - invert in place equals invert by copy (the same server without
#   --in-place), and differs from the stream;
# - downstream keeps more buffers than the request ring has room for (a
#   queue that lets nothing out before it has 50; filesink gathering 64 KiB
#   of small frames): no stall, frame-exact, held answers copied out of the
#   ring (in-place-copied > 0);
# - the server killed with answers held downstream: an error naming it soon;
# - in-place=false: the server copies (responses-in-place=0);
# - an in-place answer while the server declares caps other than the
#   input's: EPROTO; with on-error=pass the refused request passes, then
#   the rest (counts add up); from a server
#   that connects after zerofilter's setup wait: EPROTO too.
ZB_PREFIX="zbgst-ip-$$-"
. "$(dirname "${BASH_SOURCE[0]}")/lib_process.sh"

need_elements rawvideoparse filesrc filesink checksumsink queue

# Runs SOURCE through zerofilter (PROPS) against a server (SERVER_OPTS) and
# SINK; checks against the reference log REF: checksums, timestamps, count.
# Usage: round_trip label ref_log "server opts" "filter props" source... -- sink...
round_trip() {
  local label=$1 ref=$2 sopts=$3 fprops=$4 ch="${ZB_PREFIX}$1" src=() sink=() w s
  shift 4
  while [ "$1" != -- ]; do src+=("$1"); shift; done
  shift
  sink=("$@")
  # shellcheck disable=SC2086
  bg_server "$tmp/$label.srv" "$ch" $sopts
  # shellcheck disable=SC2086
  fg_launch "$tmp/$label.log" -- -v "${src[@]}" ! zerofilter channel="$ch" $fprops ! "${sink[@]}"
  w=$?
  wait_status $SV_PID
  s=$?
  [ $w -eq 0 ] || { fail "$label: gst-launch exited $w"; grep -i -m3 'error\|warn' "$tmp/$label.log"; }
  [ $s -eq 0 ] || fail "$label: server exited $s: $(cat "$tmp/$label.srv")"
  if [ -n "$ref" ]; then
    cmp -s <(checksums "$ref") <(checksums "$tmp/$label.log") ||
      fail "$label: the buffers differ from the reference ($(checksums "$tmp/$label.log" | wc -l) of $(checksums "$ref" | wc -l))"
    cmp -s <(timestamps "$ref") <(timestamps "$tmp/$label.log") || fail "$label: timestamps differ"
  fi
  check_ring_gone "${ch}_request" "$label"
  check_ring_gone "${ch}_response" "$label"
}

in_place_of() { stats_of "$tmp/$1.log" responses-in-place; }

# Echo, frame-exact: 1080p RGB through the pool, I420 of odd size copied.
N=20
RGB_HD="video/x-raw,format=RGB,width=1920,height=1080,framerate=30/1"
fg_launch "$tmp/ref-hd.log" -- -v videotestsrc num-buffers=$N pattern=ball ! "$RGB_HD" ! checksumsink ||
  fail "rgb-1080p: reference failed"
round_trip rgb-1080p "$tmp/ref-hd.log" "--mode echo --in-place 1" "" \
  videotestsrc num-buffers=$N pattern=ball ! "$RGB_HD" -- checksumsink
[ "$(in_place_of rgb-1080p)" = $N ] && grep -q "^in-place $N$" "$tmp/rgb-1080p.srv" ||
  fail "rgb-1080p: $(grep -o 'zerofilter-stats.*' "$tmp/rgb-1080p.log"); server: $(cat "$tmp/rgb-1080p.srv")"
[ "$(stats_of "$tmp/rgb-1080p.log" requests-zero-copy)" = $N ] || fail "rgb-1080p: requests not drawn in the ring"
echo "rgb-1080p: $N of $N answered in place, frame-exact"

N=30
I420="video/x-raw,format=I420,width=321,height=241,framerate=30/1"
fg_launch "$tmp/record.log" -- -q videotestsrc num-buffers=$N pattern=ball ! "$I420" ! \
  filesink location="$tmp/i420.raw" || fail "i420-odd: recording"
I420_SRC=(filesrc location="$tmp/i420.raw" ! rawvideoparse width=321 height=241 format=i420 framerate=30/1)
fg_launch "$tmp/ref-i420.log" -- -v "${I420_SRC[@]}" ! checksumsink || fail "i420-odd: reference failed"
round_trip i420-odd "$tmp/ref-i420.log" "--mode echo --in-place 1" "" "${I420_SRC[@]}" -- checksumsink
[ "$(in_place_of i420-odd)" = $N ] || fail "i420-odd: $(grep -o 'zerofilter-stats.*' "$tmp/i420-odd.log")"
[ "$(stats_of "$tmp/i420-odd.log" requests-zero-copy)" = 0 ] || fail "i420-odd: requests were not copied"
echo "i420-odd: $N of $N copied requests answered in place, frame-exact"

# Invert in place = invert by copy, and not the stream.
RGB="video/x-raw,format=RGB,width=320,height=240,framerate=30/1"
STREAM=(videotestsrc num-buffers=$N pattern=ball ! "$RGB")
fg_launch "$tmp/ref-rgb.log" -- -v "${STREAM[@]}" ! checksumsink || fail "invert: reference failed"
round_trip invert-copy "" "--mode invert" "" "${STREAM[@]}" -- checksumsink
round_trip invert-in-place "$tmp/invert-copy.log" "--mode invert --in-place 1" "" "${STREAM[@]}" -- checksumsink
[ "$(in_place_of invert-copy)" = 0 ] && [ "$(in_place_of invert-in-place)" = $N ] ||
  fail "invert: in place $(in_place_of invert-copy) and $(in_place_of invert-in-place)"
[ -z "$(comm -12 <(checksums "$tmp/ref-rgb.log" | sort) <(checksums "$tmp/invert-in-place.log" | sort))" ] ||
  fail "invert: some inverted buffers equal the stream's"
echo "invert: in place equals by copy ($N buffers), none equals the stream"

# in-place=false: the server sees no declaration and copies.
round_trip not-in-place "$tmp/ref-rgb.log" "--mode echo --in-place 1" "in-place=false" \
  "${STREAM[@]}" -- checksumsink
[ "$(in_place_of not-in-place)" = 0 ] && grep -q "^in-place 0$" "$tmp/not-in-place.srv" ||
  fail "in-place=false: $(grep -o 'zerofilter-stats.*' "$tmp/not-in-place.log"); $(cat "$tmp/not-in-place.srv")"
echo "in-place=false: the server copied all $N answers"

# Downstream keeps 50 buffers, the request ring has room for 12: held
# answers are copied out of it, all arrive intact.
round_trip queue-held "$tmp/ref-rgb.log" "--mode echo --in-place 1 --payload-size $((12 * 230464))" \
  "timeout=3000" "${STREAM[@]}" -- \
  queue min-threshold-buffers=50 max-size-buffers=0 max-size-bytes=0 max-size-time=0 ! checksumsink
moved=$(stats_of "$tmp/queue-held.log" in-place-copied)
[ "$(in_place_of queue-held)" = $N ] && [ "${moved:-0}" -gt 0 ] ||
  fail "queue-held: $(grep -o 'zerofilter-stats.*' "$tmp/queue-held.log")"
echo "queue-held: $N answers in place, $moved copied out while the queue held them"

# filesink gathers 64 KiB before it writes: 768-byte frames, a ring of ~26.
SMALL="video/x-raw,format=RGB,width=16,height=16,framerate=30/1"
fg_launch "$tmp/ref-small.log" -- -q videotestsrc num-buffers=200 pattern=ball ! "$SMALL" ! \
  filesink location="$tmp/small-ref.raw" || fail "filesink: reference failed"
round_trip filesink "" "--mode echo --in-place 1 --payload-size 20480" "timeout=3000" \
  videotestsrc num-buffers=200 pattern=ball ! "$SMALL" -- filesink location="$tmp/small.raw"
moved=$(stats_of "$tmp/filesink.log" in-place-copied)
cmp -s "$tmp/small-ref.raw" "$tmp/small.raw" || fail "filesink: the file differs from the stream's"
[ "$(in_place_of filesink)" = 200 ] && [ "${moved:-0}" -gt 0 ] ||
  fail "filesink: $(grep -o 'zerofilter-stats.*' "$tmp/filesink.log")"
echo "filesink: 200 answers in place, $moved copied out while filesink gathered them, file exact"

# The server killed (no detach) with answers held downstream: zerofilter
# finds it dead, or its request ring's reader gone when it writes first.
bg_server "$tmp/die.srv" "${ZB_PREFIX}die" --mode echo --in-place 1 --die-after 10
t0=$(now_ns)
bg_launch "$tmp/die.log" -- videotestsrc num-buffers=300 ! "$RGB" ! \
  zerofilter channel="${ZB_PREFIX}die" timeout=3000 ! \
  queue min-threshold-buffers=50 max-size-buffers=0 max-size-bytes=0 max-size-time=0 ! fakesink
check_server_error "killed with 10 answers held" $BG_PID "$t0" "$tmp/die.log" \
  "duplex server (died|stopped answering)[a-z0-9 ]*|zerobuffer-error=EREADERGONE"
remove_ring "${ZB_PREFIX}die_request"

# In place under other caps than the input's: a protocol error, or with
# on-error=pass the stream unprocessed.
GRAY="video/x-raw, format=(string)GRAY8, width=(int)320, height=(int)240, framerate=(fraction)30/1"
bg_server "$tmp/caps.srv" "${ZB_PREFIX}caps" --mode echo --in-place 1 --caps "$GRAY"
fg_launch "$tmp/caps.log" -- "${STREAM[@]}" ! zerofilter channel="${ZB_PREFIX}caps" ! fakesink
w=$?
wait_status $SV_PID
[ $w -ne 0 ] && [ $w -ne 124 ] || fail "caps: gst-launch exited $w"
grep -q "zerobuffer-error=EPROTO" "$tmp/caps.log" && grep -q "declares output caps other" "$tmp/caps.log" ||
  fail "caps: $(grep -i -m3 error "$tmp/caps.log")"
# (the server may fail too: zerofilter closes the response ring at once)
bg_server "$tmp/caps-pass.srv" "${ZB_PREFIX}caps-pass" --mode echo --in-place 1 --caps "$GRAY"
fg_launch "$tmp/caps-pass.log" -- -v "${STREAM[@]}" ! zerofilter channel="${ZB_PREFIX}caps-pass" on-error=pass ! checksumsink ||
  fail "caps, on-error=pass: gst-launch failed: $(grep -i -m3 error "$tmp/caps-pass.log")"
wait_status $SV_PID
n=$(checksums "$tmp/caps-pass.log" | wc -l)
grep -q "passing buffers through" "$tmp/caps-pass.log" || fail "caps, on-error=pass: no warning"
# the request answered in place passes (its bytes, held in the request
# ring), first; those waiting behind it (depth 2) are lost and counted as
# dropped; the rest pass
[ "$n" -ge $((N - 2)) ] || fail "caps, on-error=pass: $n of $N buffers"
[ -z "$(comm -13 <(checksums "$tmp/ref-rgb.log" | sort) <(checksums "$tmp/caps-pass.log" | sort))" ] ||
  fail "caps, on-error=pass: buffers that are not the stream's"
check_counts "caps, on-error=pass" "$tmp/caps-pass.log" $N
[ "$(stats_of "$tmp/caps-pass.log" responses)" = 0 ] && [ "$(stats_of "$tmp/caps-pass.log" frames-passed)" = "$n" ] ||
  fail "caps, on-error=pass: $(grep -o 'zerofilter-stats.*' "$tmp/caps-pass.log"), $n buffers"
[ "$(first_buffer "$tmp/caps-pass.log")" = "$(first_buffer "$tmp/ref-rgb.log")" ] ||
  fail "caps, on-error=pass: the request answered in place did not pass first: $(first_buffer "$tmp/caps-pass.log")"
echo "caps: in place under other caps is EPROTO; with on-error=pass $n of $N buffers pass unprocessed, the refused one first"

# The same from a server that connects after zerofilter's setup wait (only
# once zerofilter has pushed the input caps without it): its caps, read
# before its first answer, still forbid answers in place.
bg_server "$tmp/caps-late.srv" "${ZB_PREFIX}caps-late" --mode echo --in-place 1 --caps "$GRAY" \
  --connect-after-file "$tmp/caps-late.go" --connect-timeout 20000
bg_launch "$tmp/caps-late.log" -- -v "${STREAM[@]}" ! zerofilter channel="${ZB_PREFIX}caps-late" ! fakesink
release_late_server "caps, late" "$tmp/caps-late.log" "$tmp/caps-late.go"
wait_status $BG_PID
w=$?
wait_status $SV_PID
[ $w -ne 0 ] && [ $w -ne 124 ] || fail "caps, late: gst-launch exited $w"
grep -q "zerobuffer-error=EPROTO" "$tmp/caps-late.log" && grep -q "declares output caps other" "$tmp/caps-late.log" ||
  fail "caps, late: $(grep -i -m3 error "$tmp/caps-late.log")"
check_input_caps_first "caps, late" "$tmp/caps-late.log" RGB
echo "caps, late: in place under the late server's other caps is EPROTO too"

finish
