#!/usr/bin/env bash
# Writer restarts: one reader process with eos-on-writer-exit=false keeps
# running while four writer processes run one after another.
#   reader:  gst-launch-1.0 -e zerosrc buffer-name=X eos-on-writer-exit=false ! checksumsink
#   writer i: gst-launch-1.0 -e videotestsrc num-buffers=10 pattern=ball
#             foreground-color=Ci ! CAPS ! zerosink buffer-name=X    (i = 1..4)
# Each writer draws the ball in its own colour, so its frames differ from the
# others'. The reader must receive all 40 frames in order (checksums equal to
# the four reference streams, concatenated), stay alive across the three
# restarts, and exit 0 when SIGINT turns into EOS (-e). Ring gone afterwards.
ZB_PREFIX="zbgst-restart-$$-"
. "$(dirname "${BASH_SOURCE[0]}")/lib_process.sh"

CAPS='video/x-raw,format=RGB,width=320,height=240,framerate=30/1'
COLORS="0xffff0000 0xff00ff00 0xff0000ff 0xffffff00"
N=10
name="${ZB_PREFIX}x"

: >"$tmp/ref.sha"
for c in $COLORS; do
  fg_launch "$tmp/ref.log" -- videotestsrc num-buffers=$N pattern=ball \
    foreground-color=$c ! "$CAPS" ! checksumsink ||
    { cat "$tmp/ref.log"; exit 1; }
  checksums "$tmp/ref.log" >>"$tmp/ref.sha"
done
total=$(wc -l <"$tmp/ref.sha")
[ "$total" -eq $((4 * N)) ] || { echo "reference: $total buffers"; exit 1; }
[ "$(sort -u "$tmp/ref.sha" | wc -l)" -eq "$total" ] ||
  echo "note: the reference has repeated frames"

bg_launch "$tmp/reader.log" -- -e zerosrc buffer-name="$name" \
  eos-on-writer-exit=false announce=true ! checksumsink
reader=$BG_PID
wait_for_ring "$tmp/reader.log" "$name" ||
  { fail "zerosrc did not announce the ring"; cat "$tmp/reader.log"; }

i=0
for c in $COLORS; do
  i=$((i + 1))
  fg_launch "$tmp/writer$i.log" -- -e videotestsrc num-buffers=$N pattern=ball \
    foreground-color=$c ! "$CAPS" ! zerosink buffer-name="$name"
  w=$?
  [ $w -eq 0 ] || { fail "writer $i exited $w"; cat "$tmp/writer$i.log"; }
  # The reader took the whole stream of this writer before the next starts
  # (not required by the protocol, but it makes a failure easier to read).
  wait_for_buffers "$tmp/reader.log" $((i * N)) 10 ||
    fail "after writer $i the reader has $(checksums "$tmp/reader.log" | wc -l) buffers"
  kill -0 "$reader" 2>/dev/null || { fail "the reader ended after writer $i"; break; }
done

# SIGINT to gst-launch-1.0 -e: EOS, exit 0.
if victim=$(child_of "$reader"); then
  t0=$(now_ns)
  kill -INT "$victim"
  wait_status "$reader"
  r=$?
  elapsed=$(ms_since "$t0")
else
  wait_status "$reader"
  r=$?
  elapsed=-1
fi
echo "reader exited $r, $elapsed ms after SIGINT"
[ $r -eq 0 ] || { fail "the reader exited $r"; cat "$tmp/reader.log"; }
[ "$elapsed" -ge 0 ] && [ "$elapsed" -lt 5000 ] ||
  fail "the reader took $elapsed ms to stop after SIGINT"
grep -q 'Got EOS from element' "$tmp/reader.log" ||
  fail "the reader did not stop on EOS"

checksums "$tmp/reader.log" >"$tmp/got.sha"
if ! cmp -s "$tmp/ref.sha" "$tmp/got.sha"; then
  fail "the reader's buffers differ from the four writers' streams"
  diff "$tmp/ref.sha" "$tmp/got.sha" | head
fi
echo "4 writers x $N buffers: the reader got $(wc -l <"$tmp/got.sha") in order"
check_ring_gone "$name" "restart"

finish
