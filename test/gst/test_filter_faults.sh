#!/usr/bin/env bash
# zerofilter against a faulty zb-duplex-server, between real processes: a
# response that does not pair with its request (--out-of-turn K: sequence 1
# where K was next, as from a server that restarted mid-stream), one with
# sequence K + 1 (--skip K: response K lost; the ring's reader refuses it),
# an in-place answer with an invalid per-frame header (--bad-header K), a
# response one byte short of an RGB frame (--short K) and an in-place
# answer that wrote over its request's frame header (--clobber-header K,
# frame-header=true), each at request K of N:
# - default on-error: an element error that names the fault (ESEQUENCE /
#   EPROTO and its text), gst-launch exits non-zero well within its limit;
# - on-error=pass: a warning; the K-1 answers before it (inverted), then
#   buffer K with the input's bytes (its request, held in the request
#   ring), then the rest of the stream unprocessed (those waiting behind K
#   are dropped), each buffer's checksum and timestamp as the stream's;
#   frames-in = responses + frames-passed + frames-dropped; after
#   --clobber-header buffer K cannot pass (where its frame starts is
#   unknown): dropped, never its header's bytes as a frame.
# A server that answers one request twice (--twice K, and the last one): an
# ESEQUENCE error, or with on-error=pass a warning, never an answer pushed
# with another request's timestamp (below).
# And a peer-like echo server that does not read the per-frame header
# (frame-header=true): every answer is 48 bytes longer than an RGB frame,
# an EPROTO at request 1 that says to set frame-header=false. Last, a
# response one byte short of whole sample frames of planar raw audio: an
# EPROTO naming the sizes.
ZB_PREFIX="zbgst-ff-$$-"
. "$(dirname "${BASH_SOURCE[0]}")/lib_process.sh"

N=30
K=10
STREAM=(videotestsrc num-buffers=$N pattern=ball
  ! video/x-raw,format=RGB,width=160,height=120,framerate=30/1)
fg_launch "$tmp/ref.log" -- -v "${STREAM[@]}" ! checksumsink ||
  fail "reference: gst-launch failed"
# "PTS HASH" of every buffer, one a line
buffers() { awk 'NF == 2 && $1 ~ /^[0-9]+:/' "$1"; }
buffers "$tmp/ref.log" >"$tmp/ref.lines"
[ "$(wc -l <"$tmp/ref.lines")" -eq $N ] || fail "reference: $(wc -l <"$tmp/ref.lines") buffers"
[ "$(cut -d' ' -f2 "$tmp/ref.lines" | sort -u | wc -l)" -eq $N ] ||
  fail "reference: frames are not all distinct"
pts_k=$(sed -n "${K}p" "$tmp/ref.lines" | cut -d' ' -f1)

# Default on-error: an error naming the fault. Usage: fault_error label
# "server opts" "error regex" ["zerofilter properties"]
fault_error() {
  local label=$1 sopts=$2 regex=$3 fopts=${4:-} ch="${ZB_PREFIX}$1-err" w t0 ms
  # shellcheck disable=SC2086
  bg_server "$tmp/$label-err.srv" "$ch" $sopts
  t0=$(now_ns)
  # shellcheck disable=SC2086
  bg_launch "$tmp/$label-err.log" -- "${STREAM[@]}" ! zerofilter channel="$ch" $fopts ! fakesink
  # timed to the error, not to the exit, which a lost quit delays by 5 s
  # (lib_process.sh)
  wait_for_line "$tmp/$label-err.log" "^ERROR: from element .*zerofilter0" 10
  ms=$(ms_since "$t0")
  wait_status $BG_PID
  w=$?
  wait_status $SV_PID
  [ $w -ne 0 ] && [ $w -ne 124 ] && [ $w -ne 137 ] || fail "$label: gst-launch exited $w"
  [ "$ms" -lt 10000 ] || fail "$label: the error took $ms ms"
  grep -A6 "^ERROR: from element .*zerofilter0" "$tmp/$label-err.log" | grep -qE -- "$regex" ||
    fail "$label: no error naming the fault: $(grep -A2 -m1 '^ERROR' "$tmp/$label-err.log")"
  check_ring_gone "${ch}_request" "$label"
  check_ring_gone "${ch}_response" "$label"
  echo "$label: error in $ms ms: $(sed -n 's/^ERROR: from element .*zerofilter0: //p' "$tmp/$label-err.log" | head -n1)"
}

# on-error=pass: K-1 answers, buffer K as it came in, the rest unprocessed.
# Usage: fault_pass label "server opts" ["zerofilter properties"]
fault_pass() {
  local label=$1 sopts=$2 fopts=${3:-} ch="${ZB_PREFIX}$1-pass" w n
  # shellcheck disable=SC2086
  bg_server "$tmp/$label-pass.srv" "$ch" $sopts
  # shellcheck disable=SC2086
  fg_launch "$tmp/$label-pass.log" -- -v "${STREAM[@]}" ! zerofilter channel="$ch" on-error=pass $fopts ! checksumsink
  w=$?
  wait_status $SV_PID
  [ $w -eq 0 ] || fail "$label, on-error=pass: gst-launch exited $w: $(grep -i -m3 error "$tmp/$label-pass.log")"
  grep -q "passing buffers through" "$tmp/$label-pass.log" || fail "$label, on-error=pass: no warning"
  buffers "$tmp/$label-pass.log" >"$tmp/$label.lines"
  n=$(wc -l <"$tmp/$label.lines")
  # the first K-1: answered (inverted), at the stream's timestamps
  cmp -s <(head -n $((K - 1)) "$tmp/$label.lines" | cut -d' ' -f1) <(head -n $((K - 1)) "$tmp/ref.lines" | cut -d' ' -f1) ||
    fail "$label, on-error=pass: the first $((K - 1)) timestamps are not the stream's"
  [ -z "$(comm -12 <(head -n $((K - 1)) "$tmp/$label.lines" | sort) <(sort "$tmp/ref.lines"))" ] ||
    fail "$label, on-error=pass: an answer before request $K is the stream's own frame"
  # buffer K: the input's bytes and timestamp
  [ "$(sed -n "${K}p" "$tmp/$label.lines")" = "$(sed -n "${K}p" "$tmp/ref.lines")" ] ||
    fail "$label, on-error=pass: buffer $K is '$(sed -n "${K}p" "$tmp/$label.lines")', the stream's '$(sed -n "${K}p" "$tmp/ref.lines")'"
  # after it: the stream's buffers (pts and bytes), in order
  [ -z "$(tail -n +$((K + 1)) "$tmp/$label.lines" | grep -vxFf "$tmp/ref.lines")" ] ||
    fail "$label, on-error=pass: buffers after $K that are not the stream's"
  [ "$(tail -n +$((K + 1)) "$tmp/$label.lines" | cut -d' ' -f1 | sort -c 2>&1)" = "" ] ||
    fail "$label, on-error=pass: buffers after $K out of order"
  [ "$n" -ge $((N - 2)) ] || fail "$label, on-error=pass: $n of $N buffers"
  check_counts "$label, on-error=pass" "$tmp/$label-pass.log" $N
  [ "$(stats_of "$tmp/$label-pass.log" responses)" = $((K - 1)) ] ||
    fail "$label, on-error=pass: $(grep -o 'zerofilter-stats.*' "$tmp/$label-pass.log")"
  check_ring_gone "${ch}_request" "$label, on-error=pass"
  check_ring_gone "${ch}_response" "$label, on-error=pass"
  echo "$label, on-error=pass: $((K - 1)) answers, buffer $K (pts $pts_k) as it came in, $((n - K)) of $((N - K)) after it unprocessed"
}

fault_error out-of-turn "--mode invert --out-of-turn $K" \
  "ESEQUENCE|response sequence 1 where request $K was next|do not pair"
grep -q "do not pair with the requests" "$tmp/out-of-turn-err.log" &&
  grep -q "response sequence 1 where request $K was next" "$tmp/out-of-turn-err.log" &&
  grep -q "zerobuffer-error=ESEQUENCE" "$tmp/out-of-turn-err.log" ||
  fail "out-of-turn: the error does not say what went wrong: $(grep -A2 -m1 '^ERROR' "$tmp/out-of-turn-err.log")"
fault_pass out-of-turn "--mode invert --out-of-turn $K"

fault_error skip "--mode invert --skip $K" "ESEQUENCE"
grep -q "do not pair with the requests" "$tmp/skip-err.log" &&
  grep -q "expected frame $K, got $((K + 1))" "$tmp/skip-err.log" ||
  fail "skip: the error does not say what went wrong: $(grep -A3 -m1 '^ERROR' "$tmp/skip-err.log")"
fault_pass skip "--mode invert --skip $K"

fault_error bad-header "--mode invert --in-place 1 --bad-header $K" \
  "no valid frame header|frame header invalid"
grep -q "no valid frame header although the response metadata declares one" "$tmp/bad-header-err.log" &&
  grep -q "zerobuffer-error=EPROTO" "$tmp/bad-header-err.log" ||
  fail "bad-header: the error does not say what went wrong: $(grep -A2 -m1 '^ERROR' "$tmp/bad-header-err.log")"
fault_pass bad-header "--mode invert --in-place 1 --bad-header $K"
[ "$(stats_of "$tmp/bad-header-pass.log" responses-in-place)" = $((K - 1)) ] ||
  fail "bad-header, on-error=pass: not answered in place: $(grep -o 'zerofilter-stats.*' "$tmp/bad-header-pass.log")"

# A response of another size than the output caps' frames (before: pushed,
# a short buffer under RGB caps, no error).
fault_error short "--mode invert --short $K" "EPROTO"
grep -q "The duplex server answered request $K with 57599 bytes, but RGB 160x120 frames (the output caps) have 57600 bytes" "$tmp/short-err.log" &&
  grep -q 'output caps "video/x-raw, format=(string)RGB, width=(int)160, height=(int)120.*" (the input.s)' "$tmp/short-err.log" ||
  fail "short: the error does not name the sizes and caps: $(grep -A3 -m1 '^ERROR' "$tmp/short-err.log")"
fault_pass short "--mode invert --short $K"

# A server that does not read the per-frame header echoes it with the frame
# (before: 57648-byte buffers under RGB 160x120 caps, no error).
fault_error unread-header "--mode echo" "EPROTO" "frame-header=true"
grep -q "answered request 1 with 57648 bytes, but RGB 160x120 frames (the output caps) have 57600 bytes: its answer is the request's per-frame header and frame.*set frame-header=false" "$tmp/unread-header-err.log" ||
  fail "unread-header: the error does not say why: $(grep -A3 -m1 '^ERROR' "$tmp/unread-header-err.log")"

# An in-place answer that wrote over its request's frame header (before:
# the header's bytes and the frame pushed as buffer K, no error). With
# on-error=pass buffer K is dropped: its frame's start is unknown.
fault_error clobber "--mode invert --in-place 1 --clobber-header $K" \
  "wrote over its per-frame header" "frame-header=true"
grep -q "answered request $K in place, but wrote over its per-frame header" "$tmp/clobber-err.log" &&
  grep -q "zerobuffer-error=EPROTO" "$tmp/clobber-err.log" ||
  fail "clobber: the error does not say what went wrong: $(grep -A2 -m1 '^ERROR' "$tmp/clobber-err.log")"
ch="${ZB_PREFIX}clobber-pass"
bg_server "$tmp/clobber-pass.srv" "$ch" --mode invert --in-place 1 --clobber-header $K
fg_launch "$tmp/clobber-pass.log" -- -v "${STREAM[@]}" ! zerofilter channel="$ch" frame-header=true on-error=pass ! checksumsink
w=$?
wait_status $SV_PID
buffers "$tmp/clobber-pass.log" >"$tmp/clobber.lines"
[ $w -eq 0 ] && grep -q "passing buffers through" "$tmp/clobber-pass.log" ||
  fail "clobber, on-error=pass: exit $w, $(grep -i -m2 'warn\|error' "$tmp/clobber-pass.log")"
[ "$(stats_of "$tmp/clobber-pass.log" responses-in-place)" = $((K - 1)) ] ||
  fail "clobber, on-error=pass: $(grep -o 'zerofilter-stats.*' "$tmp/clobber-pass.log")"
! cut -d' ' -f1 "$tmp/clobber.lines" | grep -qxF "$pts_k" ||
  fail "clobber, on-error=pass: buffer $K (pts $pts_k) went out: $(grep -F "$pts_k" "$tmp/clobber.lines")"
[ -z "$(tail -n +$K "$tmp/clobber.lines" | grep -vxFf "$tmp/ref.lines")" ] ||
  fail "clobber, on-error=pass: buffers after $K that are not the stream's"
check_counts "clobber, on-error=pass" "$tmp/clobber-pass.log" $N
check_ring_gone "${ch}_request" "clobber, on-error=pass"
check_ring_gone "${ch}_response" "clobber, on-error=pass"
echo "clobber, on-error=pass: $((K - 1)) answers in place, buffer $K dropped, $(($(wc -l <"$tmp/clobber.lines") - K + 1)) after it unprocessed"

# A server that answers request K (or the last, N) twice, its ring's
# sequence numbers still rising by one: zb_duplex_pair cannot see it, and
# each answer after it went out with the next request's timestamp (before:
# answers 1..K, K, K+1, ..., gst-launch exited 0). Echo answers: a buffer
# is right when its bytes are its own frame's ("PTS HASH" as the
# stream's). The requests 20 ms apart (identity sleep-time), as from a
# live source: the surplus answer comes while no other request waits
# (with requests always in flight, one surplus answer can pass for the
# answer to a request the server has not answered yet: docs/DUPLEX.md). Default
# on-error: an error saying so, naming the response ring, only right
# answers before it; on-error=pass: a warning, every buffer still the
# stream's own, each counted once; the last answer given twice is an
# error too.
twice_check() { # label log
  [ -n "$(buffers "$2")" ] || fail "$1: no buffer went out"
  [ -z "$(buffers "$2" | grep -vxFf "$tmp/ref.lines")" ] ||
    fail "$1: buffers with another frame's answer: $(buffers "$2" | grep -vxFf "$tmp/ref.lines" | head -n3 | tr '\n' ' ')"
}
for at in $K $N; do
  ch="${ZB_PREFIX}twice$at-err"
  bg_server "$tmp/twice$at-err.srv" "$ch" --mode echo --twice $at
  fg_launch "$tmp/twice$at-err.log" -- -v "${STREAM[@]}" ! identity sleep-time=20000 ! zerofilter channel="$ch" ! checksumsink
  w=$?
  wait_status $SV_PID
  [ $w -ne 0 ] && [ $w -ne 124 ] && [ $w -ne 137 ] || fail "twice $at: gst-launch exited $w"
  grep -A3 "^ERROR: from element .*zerofilter0" "$tmp/twice$at-err.log" | grep -q "The duplex server sent more answers than requests" &&
    grep -q "ring \"${ch}_response\": .*answer.* (response sequence.*): the server answered a request more than once" "$tmp/twice$at-err.log" &&
    grep -q "zerobuffer-error=ESEQUENCE" "$tmp/twice$at-err.log" ||
    fail "twice $at: the error does not say what went wrong: $(grep -A3 -m1 '^ERROR' "$tmp/twice$at-err.log")"
  twice_check "twice $at" "$tmp/twice$at-err.log"
  check_ring_gone "${ch}_request" "twice $at"
  check_ring_gone "${ch}_response" "twice $at"
  echo "twice $at: $(buffers "$tmp/twice$at-err.log" | wc -l) right answers, then: $(grep -A3 -m1 '^ERROR' "$tmp/twice$at-err.log" | sed -n 4p)"
done
ch="${ZB_PREFIX}twice-pass"
bg_server "$tmp/twice-pass.srv" "$ch" --mode echo --twice $K
fg_launch "$tmp/twice-pass.log" -- -v "${STREAM[@]}" ! identity sleep-time=20000 ! zerofilter channel="$ch" on-error=pass ! checksumsink
w=$?
wait_status $SV_PID
[ $w -eq 0 ] && grep -q "sent more answers than requests; passing buffers through" "$tmp/twice-pass.log" ||
  fail "twice, on-error=pass: exit $w, $(grep -i -m2 'warn\|error' "$tmp/twice-pass.log")"
twice_check "twice, on-error=pass" "$tmp/twice-pass.log"
[ "$(buffers "$tmp/twice-pass.log" | wc -l)" -ge $((N - 2)) ] ||
  fail "twice, on-error=pass: $(buffers "$tmp/twice-pass.log" | wc -l) of $N buffers"
check_counts "twice, on-error=pass" "$tmp/twice-pass.log" $N
check_ring_gone "${ch}_request" "twice, on-error=pass"
check_ring_gone "${ch}_response" "twice, on-error=pass"
echo "twice, on-error=pass: $(stats_of "$tmp/twice-pass.log" responses) answers, every buffer its own frame"

# Planar raw audio a byte short of whole sample frames (before: pushed,
# its audio meta's samples rounded down, the planes at the wrong offsets).
STREAM=(audiotestsrc num-buffers=$N samplesperbuffer=480
  ! audio/x-raw,format=F32LE,rate=48000,channels=2,layout=non-interleaved)
fault_error short-audio "--mode invert --short $K" "EPROTO"
grep -q "The duplex server answered request $K with 3839 bytes, but F32LE audio of 2 channels (the output caps) comes in whole sample frames of 8 bytes" "$tmp/short-audio-err.log" &&
  grep -q "a raw audio frame holds whole sample frames" "$tmp/short-audio-err.log" ||
  fail "short-audio: the error does not name the sizes: $(grep -A3 -m1 '^ERROR' "$tmp/short-audio-err.log")"

finish
