#!/usr/bin/env bash
# zerofilter against zb-duplex-server (a server that behaves like the
# peers': it creates CHANNEL_request, looks for CHANNEL_response every
# 100 ms, answers in order), between real processes:
# - echo: frame-exact for RGB (videotestsrc drawing into the request ring
#   through the pool), I420 of odd size and variable-size JPEG (recorded,
#   copied); checksums, caps and timestamps equal the stream's without the
#   filter;
# - invert twice (two filters, two servers) is the stream again, invert once
#   is not;
# - RGB in, GRAY8 out (the server declares the caps in the response ring),
#   also from a server that connects after zerofilter's setup wait (its
#   caps before its first response; unusable caps: the setup's error or
#   bypass); caps downstream refuses: an error, also after the last buffer;
# - caps from downstream: an unconstrained source takes the sink's format;
# - the server killed mid-stream: an error naming it within the timeout, or
#   with on-error=pass every frame arrives (after a GRAY8 server, under the
#   input caps again); killed before it took the response ring: an error
#   naming it, long before the timeout;
# - a live source: each response leaves at once, not with the next input;
# - a slow downstream: the round trip is not its waits (request commit to
#   the response's arrival); with a slower server, the server's time;
# - a slow server: policy=block processes every frame; policy=drop passes
#   (or drops) what it cannot send, and counts it (behind a GRAY8 server
#   skipped=pass drops, with one warning); a server later than the
#   timeout: ETIMEDOUT naming the request, with a hint that does not offer
#   policy=drop, nor when the server keeps its requests; a request ring
#   too small: EMSGSIZE naming the server's payload size;
# - caps that grow beyond the response ring (answers by copy): EMSGSIZE at
#   the change naming payload-size and the size needed; with it, exact;
# - no server: an error after connect-timeout, or pass-through.
ZB_PREFIX="zbgst-fl-$$-"
. "$(dirname "${BASH_SOURCE[0]}")/lib_process.sh"

need_elements rawvideoparse jpegenc identity filesrc filesink checksumsink
N=30

echo_roundtrip() { # label caps [encoder] (recorded unless label ends in -zc)
  local label=$1 caps=$2 ch="${ZB_PREFIX}$1" stream enc=() w s
  [ $# -gt 2 ] && enc=(! "$3")
  if [[ $label == *-zc ]]; then
    stream=(videotestsrc num-buffers=$N pattern=ball ! "$caps" "${enc[@]}")
  else
    local width height format
    width=$(echo "$caps" | sed -n 's/.*width=\([0-9]*\).*/\1/p')
    height=$(echo "$caps" | sed -n 's/.*height=\([0-9]*\).*/\1/p')
    format=$(echo "$caps" | sed -n 's/.*format=\([A-Za-z0-9_]*\).*/\1/p')
    fg_launch "$tmp/record.log" -- -q videotestsrc num-buffers=$N pattern=ball ! \
      "$caps" ! filesink location="$tmp/$label.raw" || { fail "$label: recording"; return; }
    stream=(filesrc location="$tmp/$label.raw" ! rawvideoparse width=$width
      height=$height format="$(echo "$format" | tr 'A-Z_' 'a-z-')" framerate=30/1 "${enc[@]}")
  fi
  fg_launch "$tmp/ref.log" -- -v "${stream[@]}" ! checksumsink ||
    { fail "$label: reference failed"; return; }
  bg_server "$tmp/server.log" "$ch" --mode echo
  fg_launch "$tmp/got.log" -- -v "${stream[@]}" ! zerofilter channel="$ch" ! checksumsink
  w=$?
  wait_status $SV_PID
  s=$?
  [ $w -eq 0 ] || { fail "$label: gst-launch exited $w"; tail -5 "$tmp/got.log"; }
  [ $s -eq 0 ] || { fail "$label: server exited $s"; cat "$tmp/server.log"; }
  grep -q "^served $N " "$tmp/server.log" || fail "$label: server: $(cat "$tmp/server.log")"
  cmp -s <(checksums "$tmp/ref.log") <(checksums "$tmp/got.log") ||
    fail "$label: the filtered buffers differ from the stream"
  cmp -s <(timestamps "$tmp/ref.log") <(timestamps "$tmp/got.log") ||
    fail "$label: timestamps differ"
  [ "$(sink_caps "$tmp/ref.log")" = "$(sink_caps "$tmp/got.log")" ] ||
    fail "$label: caps differ: $(sink_caps "$tmp/got.log")"
  [ "$(checksums "$tmp/got.log" | wc -l)" -eq $N ] || fail "$label: $(checksums "$tmp/got.log" | wc -l) buffers"
  check_ring_gone "${ch}_request" "$label"
  check_ring_gone "${ch}_response" "$label"
  echo "$label: $N frames echoed exactly ($(grep -c . <(checksums "$tmp/got.log" | sort -u)) distinct)"
  cp "$tmp/got.log" "$tmp/$label.got.log"
}

echo_roundtrip rgb-zc "video/x-raw,format=RGB,width=320,height=240,framerate=30/1"
echo_roundtrip i420-odd "video/x-raw,format=I420,width=321,height=241,framerate=30/1"
echo_roundtrip jpeg "video/x-raw,format=I420,width=320,height=240,framerate=30/1" jpegenc
# the request pool: videotestsrc drew every RGB frame into the request ring
zc=$(stats_of "$tmp/rgb-zc.got.log" requests-zero-copy)
[ "${zc:-0}" -eq $N ] || fail "rgb-zc: $zc of $N requests zero-copy"

# Invert twice = the stream; invert once differs from it.
RGB="video/x-raw,format=RGB,width=320,height=240,framerate=30/1"
fg_launch "$tmp/ref.log" -- -v videotestsrc num-buffers=$N pattern=ball ! "$RGB" ! checksumsink
cp "$tmp/ref.log" "$tmp/ref-rgb.log"
bg_server "$tmp/inv1.log" "${ZB_PREFIX}inv1" --mode invert
s1=$SV_PID
bg_server "$tmp/inv2.log" "${ZB_PREFIX}inv2" --mode invert
s2=$SV_PID
fg_launch "$tmp/got.log" -- -v videotestsrc num-buffers=$N pattern=ball ! "$RGB" ! \
  zerofilter channel="${ZB_PREFIX}inv1" ! tee name=t ! queue ! checksumsink name=once \
  t. ! queue ! zerofilter channel="${ZB_PREFIX}inv2" ! checksumsink name=twice ||
  fail "invert: gst-launch failed: $(tail -3 "$tmp/got.log")"
wait_status $s1; wait_status $s2
twice=$(awk '/^[0-9]+:/ && NF == 2' "$tmp/got.log" | wc -l)
[ "$twice" -eq $((2 * N)) ] || fail "invert: $twice buffers at the two sinks"
# checksumsink prints without its name: the inverted-once hashes are those
# not in the reference, the twice-inverted ones are exactly the reference's
ref=$(checksums "$tmp/ref.log" | sort)
inter=$(comm -12 <(echo "$ref") <(checksums "$tmp/got.log" | sort) | wc -l)
[ "$inter" -eq $N ] || fail "invert: $inter of $N hashes equal the stream's (want $N: invert twice)"
echo "invert: twice is the stream ($inter/$N), once differs"

# RGB in, GRAY8 out: the server declares its caps.
GRAY="video/x-raw, format=(string)GRAY8, width=(int)320, height=(int)240, framerate=(fraction)30/1"
bg_server "$tmp/gray.log" "${ZB_PREFIX}gray" --mode gray --caps "$GRAY"
fg_launch "$tmp/got.log" -- -v videotestsrc num-buffers=$N ! "$RGB" ! \
  zerofilter channel="${ZB_PREFIX}gray" ! identity silent=false ! checksumsink ||
  fail "gray: gst-launch failed: $(tail -3 "$tmp/got.log")"
wait_status $SV_PID
sink_caps "$tmp/got.log" | grep -q 'format=(string)GRAY8' ||
  fail "gray: caps at the sink: $(sink_caps "$tmp/got.log")"
grep -q "chain .*(76800 bytes" "$tmp/got.log" || fail "gray: buffers are not 320x240 bytes"
[ "$(checksums "$tmp/got.log" | wc -l)" -eq $N ] || fail "gray: $(checksums "$tmp/got.log" | wc -l) buffers"
echo "gray: RGB in, GRAY8 out ($(sink_caps "$tmp/got.log" | cut -c1-40)...)"
cp "$tmp/got.log" "$tmp/gray.got.log"

# "FORMAT:bytes" for each buffer identity saw, FORMAT that of the caps in
# force.
format_sizes() { # log
  awk '/identity0: last-message = event .*type: caps/ {
         gsub(/\\/, ""); match($0, /format=\(string\)[A-Za-z0-9_]+/); f = substr($0, RSTART + 15, RLENGTH - 15) }
       /identity0: last-message = chain/ { match($0, /\([0-9]+ bytes/); print f ":" substr($0, RSTART + 1, RLENGTH - 7) }' "$1"
}
# The format of the caps in force at each buffer identity saw.
buffer_formats() { format_sizes "$1" | cut -d: -f1; }

# The same server connecting late (as one loading a model): only once
# zerofilter, its 300 ms setup wait over, has pushed caps without it (a
# fixed 2.5 s from the response ring's creation was not always later than
# that on a loaded host). The input caps go out first, then the server's,
# before its first response; every buffer is GRAY8 and its bytes are the
# in-time run's.
bg_server "$tmp/gray-late.log" "${ZB_PREFIX}gray-late" --mode gray --caps "$GRAY" \
  --connect-after-file "$tmp/gray-late.go" --connect-timeout 20000
bg_launch "$tmp/got.log" -- -v videotestsrc num-buffers=$N ! "$RGB" ! \
  zerofilter channel="${ZB_PREFIX}gray-late" ! identity silent=false ! checksumsink
release_late_server "gray, late" "$tmp/got.log" "$tmp/gray-late.go"
wait_status $BG_PID || fail "gray, late: gst-launch failed: $(grep -i -m3 error "$tmp/got.log")"
wait_status $SV_PID || fail "gray, late: server: $(cat "$tmp/gray-late.log")"
check_input_caps_first "gray, late" "$tmp/got.log" RGB
[ "$(buffer_formats "$tmp/got.log" | sort | uniq -c | awk '{ print $1 " " $2 }')" = "$N GRAY8" ] ||
  fail "gray, late: buffers under the caps: $(buffer_formats "$tmp/got.log" | uniq -c | tr '\n' ' ')"
sink_caps "$tmp/got.log" | grep -q 'format=(string)GRAY8' ||
  fail "gray, late: caps at the sink: $(sink_caps "$tmp/got.log")"
cmp -s <(checksums "$tmp/gray.got.log") <(checksums "$tmp/got.log") ||
  fail "gray, late: $(checksums "$tmp/got.log" | wc -l) buffers whose bytes differ from the in-time run's"
echo "gray, late: the server's GRAY8 before its first response, $N of $N buffers as in time"

# A late server (connecting once zerofilter has pushed the input caps, as
# above) whose caps cannot be used: the error of the setup, or with
# on-error=pass a warning and the stream unprocessed (the requests in
# flight lost).
BAD="video/x-raw, width=(int)wide"
bg_server "$tmp/bad-late.log" "${ZB_PREFIX}bad-late" --mode gray --caps "$BAD" \
  --connect-after-file "$tmp/bad-late.go" --connect-timeout 20000
bg_launch "$tmp/got.log" -- -v videotestsrc num-buffers=$N ! "$RGB" ! \
  zerofilter channel="${ZB_PREFIX}bad-late" ! fakesink
release_late_server "bad caps, late" "$tmp/got.log" "$tmp/bad-late.go"
wait_status $BG_PID
w=$?
wait_status $SV_PID
[ $w -ne 0 ] && [ $w -ne 124 ] || fail "bad caps, late: gst-launch exited $w"
grep -q "Cannot use the caps the duplex server declares: GStreamer cannot parse" "$tmp/got.log" &&
  grep -q "zerobuffer-error=EMETADATA" "$tmp/got.log" ||
  fail "bad caps, late: $(grep -i -m3 error "$tmp/got.log")"
# (in time, the setup fails before zerofilter pushes caps)
check_input_caps_first "bad caps, late" "$tmp/got.log" RGB
# (with in-place=false too: with on-error=pass a request is held all the same)
for inplace in true false; do
  label="bad caps, late, on-error=pass, in-place=$inplace"
  bg_server "$tmp/bad-late.log" "${ZB_PREFIX}bad-late-pass-$inplace" --mode gray --caps "$BAD" \
    --connect-after-file "$tmp/bad-late-pass-$inplace.go" --connect-timeout 20000
  bg_launch "$tmp/got.log" -- -v videotestsrc num-buffers=$N pattern=ball ! "$RGB" ! \
    zerofilter channel="${ZB_PREFIX}bad-late-pass-$inplace" on-error=pass in-place=$inplace ! checksumsink
  release_late_server "$label" "$tmp/got.log" "$tmp/bad-late-pass-$inplace.go"
  wait_status $BG_PID || fail "$label: gst-launch failed: $(grep -i -m3 error "$tmp/got.log")"
  wait_status $SV_PID
  # (in time, the setup's failure sends no request: every buffer passes)
  [ "$(stats_of "$tmp/got.log" requests)" -ge 1 ] 2>/dev/null ||
    fail "$label: no request before the server's caps (it was not late): $(grep -o 'zerofilter-stats.*' "$tmp/got.log")"
  n=$(checksums "$tmp/got.log" | wc -l)
  grep -q "Cannot use the caps the duplex server declares.*passing buffers through" "$tmp/got.log" ||
    fail "$label: no warning"
  [ "$n" -ge $((N - 2)) ] && [ -z "$(comm -13 <(checksums "$tmp/ref-rgb.log" | sort) <(checksums "$tmp/got.log" | sort))" ] ||
    fail "$label: $n buffers, or not the stream's"
  sink_caps "$tmp/got.log" | grep -q 'format=(string)RGB' ||
    fail "$label: caps at the sink: $(sink_caps "$tmp/got.log")"
  # the request the first response answered passes first (its bytes held in
  # the request ring); those waiting behind it are dropped, and counted
  check_counts "$label" "$tmp/got.log" $N
  [ "$(stats_of "$tmp/got.log" frames-passed)" = "$n" ] ||
    fail "$label: $n buffers, $(grep -o 'zerofilter-stats.*' "$tmp/got.log")"
  [ "$(first_buffer "$tmp/got.log")" = "$(first_buffer "$tmp/ref-rgb.log")" ] ||
    fail "$label: the request answered with the unusable caps did not pass first"
  echo "$label: EMETADATA; $n of $N buffers pass unprocessed, the answered one first"
done

# The server's caps refused downstream, in time or late, while upstream
# has sent its last buffer already: an error, not an EOS without buffers.
# The late server connects once upstream's EOS has passed identity into
# zerofilter (after zerofilter pushed the input caps, the buffers sent).
refused_error() { # label gst-launch-status
  [ "$2" -ne 0 ] && [ "$2" -ne 124 ] || fail "$1: gst-launch exited $2"
  grep -A3 "^ERROR: from element .*zerofilter0" "$tmp/got.log" | grep -q "reason not-negotiated" ||
    fail "$1: $(grep -i -m3 error "$tmp/got.log")"
}
bg_server "$tmp/refused.log" "${ZB_PREFIX}refused" --mode gray --caps "$GRAY"
fg_launch "$tmp/got.log" -- videotestsrc num-buffers=2 ! "$RGB" ! \
  zerofilter channel="${ZB_PREFIX}refused" ! "$RGB" ! fakesink
w=$?
wait_status $SV_PID
refused_error "refused, in time" $w
bg_server "$tmp/refused.log" "${ZB_PREFIX}refused-late" --mode gray --caps "$GRAY" \
  --connect-after-file "$tmp/refused-late.go" --connect-timeout 20000
bg_launch "$tmp/got.log" -- -v videotestsrc num-buffers=2 ! "$RGB" ! identity silent=false ! \
  zerofilter channel="${ZB_PREFIX}refused-late" ! "$RGB" ! fakesink
release_late_server "refused, late" "$tmp/got.log" "$tmp/refused-late.go" "identity0: last-message = event .*type: eos"
wait_status $BG_PID
w=$?
wait_status $SV_PID
refused_error "refused, late" $w
check_input_caps_first "refused, late" "$tmp/got.log" RGB
echo "refused: downstream's refusal of the server's caps is an error, in time and late"

# Caps from downstream: videotestsrc, with no caps of its own, negotiates
# the RGB the caps filter after zerofilter wants (the server declares none;
# before the fix it picked a format of its own: not-negotiated).
bg_server "$tmp/neg.log" "${ZB_PREFIX}neg" --mode echo
fg_launch "$tmp/got.log" -- -v videotestsrc num-buffers=$N ! zerofilter channel="${ZB_PREFIX}neg" ! \
  video/x-raw,format=RGB,width=160,height=120 ! checksumsink ||
  fail "negotiate: gst-launch failed: $(grep -m1 -i 'error\|not-negotiated' "$tmp/got.log")"
wait_status $SV_PID
sink_caps "$tmp/got.log" | grep -q 'format=(string)RGB, width=(int)160' ||
  fail "negotiate: caps at the sink: $(sink_caps "$tmp/got.log")"
[ "$(checksums "$tmp/got.log" | wc -l)" -eq $N ] || fail "negotiate: $(checksums "$tmp/got.log" | wc -l) buffers"
echo "negotiate: videotestsrc took RGB 160x120 from downstream through zerofilter"

# Server killed mid-stream (no detach): an error naming it, soon.
bg_server "$tmp/die.log" "${ZB_PREFIX}die" --die-after 10
t0=$(now_ns)
bg_launch "$tmp/got.log" -- videotestsrc num-buffers=300 ! "$RGB" ! \
  zerofilter channel="${ZB_PREFIX}die" timeout=3000 ! fakesink
check_server_error killed $BG_PID "$t0" "$tmp/got.log" \
  "duplex server (died|stopped answering)|zerobuffer-error=E(WRITERDEAD|READERGONE)"
remove_ring "${ZB_PREFIX}die_request"

# Server killed before it took the response ring (it waits to connect):
# the requests sent meanwhile never get an answer, and the response ring
# never ends (no writer ever came); the request ring's dead reader says it,
# well before the timeout (it took all 20 s before).
bg_server "$tmp/die0.log" "${ZB_PREFIX}die0" --connect-delay 60000
sv=$(child_of $SV_PID) || fail "killed before connecting: no server process"
bg_launch "$tmp/got.log" -- videotestsrc num-buffers=300 ! "$RGB" ! \
  zerofilter channel="${ZB_PREFIX}die0" timeout=20000 ! fakesink
gl=$BG_PID
for _ in $(seq 250); do [ -e "/dev/shm/${ZB_PREFIX}die0_response" ] && break; sleep 0.02; done
sleep 1 # its caps wait (300 ms), then requests up to max-buffers
kill -KILL "$sv"
t0=$(now_ns)
check_server_error "killed before connecting" $gl "$t0" "$tmp/got.log" \
  "duplex server died with [0-9]+ requests? waiting, before it answered|reader of ring [^ ]* is gone"
wait_status $SV_PID
remove_ring "${ZB_PREFIX}die0_request"

bg_server "$tmp/die.log" "${ZB_PREFIX}die2" --die-after 10
fg_launch "$tmp/got.log" -- -v videotestsrc num-buffers=60 ! "$RGB" ! \
  zerofilter channel="${ZB_PREFIX}die2" timeout=3000 on-error=pass ! checksumsink
w=$?
n=$(checksums "$tmp/got.log" | wc -l)
[ $w -eq 0 ] || fail "killed, on-error=pass: gst-launch exited $w"
[ "$n" -ge 55 ] || fail "killed, on-error=pass: only $n of 60 buffers"
grep -q "passing buffers through" "$tmp/got.log" || fail "killed, on-error=pass: no warning"
check_counts "killed, on-error=pass" "$tmp/got.log" 60
echo "killed, on-error=pass: $n of 60 buffers (those in flight lost), a warning"
remove_ring "${ZB_PREFIX}die2_request"

# A server whose caps are not the input's (RGB in, GRAY8 out) killed, with
# on-error=pass: the input caps go out again before the first buffer that
# passes, so the GRAY8 responses are followed by the stream's own RGB
# buffers, never RGB bytes under GRAY8; downstream that takes GRAY8 only
# fails with not-negotiated.
bg_server "$tmp/die.log" "${ZB_PREFIX}die-gray" --mode gray --caps "$GRAY" --die-after 10
fg_launch "$tmp/got.log" -- -v videotestsrc num-buffers=$N pattern=ball ! "$RGB" ! \
  zerofilter channel="${ZB_PREFIX}die-gray" timeout=3000 on-error=pass ! identity silent=false ! checksumsink
w=$?
resp=$(stats_of "$tmp/got.log" responses)
passed=$(stats_of "$tmp/got.log" frames-passed)
[ $w -eq 0 ] || fail "killed, gray, on-error=pass: gst-launch exited $w: $(grep -i -m2 error "$tmp/got.log")"
check_counts "killed, gray, on-error=pass" "$tmp/got.log" $N
[ "$(format_sizes "$tmp/got.log" | uniq -c | awk '{ printf "%s %s ", $1, $2 }')" = \
  "$resp GRAY8:76800 $passed RGB:230400 " ] ||
  fail "killed, gray, on-error=pass: buffers under the caps: $(format_sizes "$tmp/got.log" | uniq -c | tr '\n' ' ')($resp responses, $passed passed)"
[ "$(checksums "$tmp/got.log" | grep -cFx -f <(checksums "$tmp/ref-rgb.log"))" = "$passed" ] ||
  fail "killed, gray, on-error=pass: the $passed buffers passed are not the stream's"
echo "killed, gray, on-error=pass: $resp GRAY8 responses, then the RGB caps and $passed RGB buffers of the stream"
remove_ring "${ZB_PREFIX}die-gray_request"
bg_server "$tmp/die.log" "${ZB_PREFIX}die-gray2" --mode gray --caps "$GRAY" --die-after 10
fg_launch "$tmp/got.log" -- -v videotestsrc num-buffers=$N pattern=ball ! "$RGB" ! \
  zerofilter channel="${ZB_PREFIX}die-gray2" timeout=3000 on-error=pass ! video/x-raw,format=GRAY8 ! \
  identity silent=false ! fakesink
w=$?
[ $w -ne 0 ] && [ $w -ne 124 ] || fail "killed, gray, GRAY8 downstream: gst-launch exited $w"
grep -q "not-negotiated" "$tmp/got.log" || fail "killed, gray, GRAY8 downstream: $(grep -i -m3 error "$tmp/got.log")"
[ "$(format_sizes "$tmp/got.log" | sort -u)" = "GRAY8:76800" ] ||
  fail "killed, gray, GRAY8 downstream: buffers under the caps: $(format_sizes "$tmp/got.log" | uniq -c | tr '\n' ' ')"
echo "killed, gray, GRAY8 downstream: not-negotiated after $(format_sizes "$tmp/got.log" | wc -l) GRAY8 buffers"
remove_ring "${ZB_PREFIX}die-gray2_request"

# The input caps change mid-stream (concat: 320x240 then 160x120 RGB) and
# the server declares no caps: the output caps follow, each response labelled
# with the caps of its own request (identity sees every buffer's size under
# the caps in force), bytes and order as without the filter.
caps_sizes() { # log: "WxH:bytes" per buffer identity saw, under the caps before it
  awk 'function num(re) { match($0, re); v = substr($0, RSTART, RLENGTH); gsub(/[^0-9]/, "", v); return v }
       /identity0: last-message = event .*type: caps/ { w = num("width[^0-9]*[0-9]+"); h = num("height[^0-9]*[0-9]+") }
       /identity0: last-message = chain/ { print w "x" h ":" num("[0-9]+ bytes") }' "$1"
}
sizes_through() { # log WxH WxH element [properties]: N RGB buffers of each size in turn through the element
  local log=$1 first=$2 second=$3
  shift 3
  fg_launch "$log" -- -v concat name=c ! "$@" ! identity silent=false ! checksumsink \
    videotestsrc num-buffers=$N pattern=ball ! "video/x-raw,format=RGB,width=${first%x*},height=${first#*x},framerate=30/1" ! c. \
    videotestsrc num-buffers=$N pattern=ball ! "video/x-raw,format=RGB,width=${second%x*},height=${second#*x},framerate=30/1" ! c.
}
two_sizes() { sizes_through "$1" 320x240 160x120 "${@:2}"; }
two_sizes "$tmp/recaps-ref.log" queue || fail "recaps: reference failed: $(tail -3 "$tmp/recaps-ref.log")"
bg_server "$tmp/recaps.log" "${ZB_PREFIX}recaps" --mode echo
two_sizes "$tmp/got.log" zerofilter channel="${ZB_PREFIX}recaps"
w=$?
wait_status $SV_PID
want=$(for i in $(seq $N); do echo 320x240:230400; done; for i in $(seq $N); do echo 160x120:57600; done)
[ $w -eq 0 ] || fail "recaps: gst-launch exited $w: $(grep -i -m2 error "$tmp/got.log")"
[ "$(caps_sizes "$tmp/got.log")" = "$want" ] ||
  fail "recaps: buffers under the wrong caps: $(caps_sizes "$tmp/got.log" | uniq -c | tr '\n' ' ')"
[ "$(caps_sizes "$tmp/recaps-ref.log")" = "$want" ] || fail "recaps: the reference is $(caps_sizes "$tmp/recaps-ref.log" | uniq -c)"
cmp -s <(checksums "$tmp/recaps-ref.log") <(checksums "$tmp/got.log") || fail "recaps: bytes differ from the stream"
echo "recaps: $N buffers as 320x240, then $N as 160x120, each under its request's caps"

# The input caps grow mid-stream (concat: 160x120, then 1920x1080 RGB), the
# server answering by copy: the response ring zerofilter made for 160x120
# (about 1 MB; the server stays on it for the session) cannot hold one
# 1080p answer. The caps change is an EMSGSIZE error naming payload-size
# and the size needed, after the N small answers (before: the server could
# not reserve the first 1080p answer, and zerofilter failed with "The
# duplex server stopped answering", EOF). With that payload-size every
# buffer is echoed exactly under its request's caps.
grow_sizes() { sizes_through "$1" 160x120 1920x1080 "${@:2}"; }
grow_sizes "$tmp/grow-ref.log" queue || fail "grow: reference failed: $(tail -3 "$tmp/grow-ref.log")"
small=$(for i in $(seq $N); do echo 160x120:57600; done)
want=$(echo "$small"; for i in $(seq $N); do echo 1920x1080:6220800; done)
[ "$(caps_sizes "$tmp/grow-ref.log")" = "$want" ] || fail "grow: the reference is $(caps_sizes "$tmp/grow-ref.log" | uniq -c)"
bg_server "$tmp/grow.log" "${ZB_PREFIX}grow" --mode echo
grow_sizes "$tmp/got.log" zerofilter channel="${ZB_PREFIX}grow"
w=$?
wait_status $SV_PID
[ $w -ne 0 ] && [ $w -ne 124 ] || fail "grow: gst-launch exited $w"
grep -q "zerobuffer-error=EMSGSIZE" "$tmp/got.log" &&
  grep -q "^ERROR: .*zerofilter0: The response ring cannot hold an answer to the new caps' frames: RGB 1920x1080 frames of 6220800 bytes need payload-size=6220864 or more, this zerofilter's response ring has [0-9]* bytes (payload-size=0 sized it for the first caps)" "$tmp/got.log" ||
  fail "grow: $(grep -m1 -A3 '^ERROR' "$tmp/got.log")"
# What went downstream before the error is what checksumsink printed (from
# the streaming thread) and the counts in the error, not identity's lines:
# gst-launch -v prints those property notifications from its main loop,
# but prints an error from the posting thread and quits that loop there,
# so notifications still queued on the bus (the last small answers, on a
# loaded host) are never printed. Those printed are checked for their caps.
[ "$(stats_of "$tmp/got.log" responses)" = $N ] ||
  fail "grow: $(stats_of "$tmp/got.log" responses) responses before the error (want $N)"
[ -z "$(caps_sizes "$tmp/got.log" | grep -vFx 160x120:57600)" ] ||
  fail "grow: before the error: $(caps_sizes "$tmp/got.log" | uniq -c | tr '\n' ' ')"
cmp -s <(checksums "$tmp/grow-ref.log" | head -n $N) <(checksums "$tmp/got.log") ||
  fail "grow: the small answers differ from the stream ($(checksums "$tmp/got.log" | wc -l) buffers)"
check_ring_gone "${ZB_PREFIX}grow_request" grow
check_ring_gone "${ZB_PREFIX}grow_response" grow
echo "grow: $N answers at 160x120, then $(sed -n 's/^ERROR: from element .*zerofilter0: //p' "$tmp/got.log" | head -n1)"
bg_server "$tmp/grow.log" "${ZB_PREFIX}grow" --mode echo
grow_sizes "$tmp/got.log" zerofilter channel="${ZB_PREFIX}grow" payload-size=6220864
w=$?
wait_status $SV_PID
[ $w -eq 0 ] || fail "grow, payload-size=6220864: gst-launch exited $w: $(grep -m1 -A3 '^ERROR' "$tmp/got.log")"
grep -q "^served $((2 * N)) " "$tmp/grow.log" || fail "grow, payload-size=6220864: server: $(cat "$tmp/grow.log")"
[ "$(caps_sizes "$tmp/got.log")" = "$want" ] ||
  fail "grow, payload-size=6220864: buffers under the wrong caps: $(caps_sizes "$tmp/got.log" | uniq -c | tr '\n' ' ')"
cmp -s <(checksums "$tmp/grow-ref.log") <(checksums "$tmp/got.log") || fail "grow, payload-size=6220864: bytes differ from the stream"
echo "grow, payload-size=6220864: $N buffers as 160x120, then $N as 1920x1080, echoed exactly"

# Downstream holds more responses than the response ring has room for (a
# queue that lets nothing out before it has 12 buffers; the ring holds
# depth + 3 = 5): zerofilter copies held responses out of the ring so that
# the server can answer on, and they keep their bytes.
bg_server "$tmp/held.log" "${ZB_PREFIX}held" --mode echo --timeout 3000
fg_launch "$tmp/got.log" -- -v videotestsrc num-buffers=$N pattern=ball ! "$RGB" ! \
  zerofilter channel="${ZB_PREFIX}held" timeout=2000 ! \
  queue min-threshold-buffers=12 max-size-buffers=0 max-size-bytes=0 max-size-time=0 ! checksumsink
w=$?
wait_status $SV_PID
s=$?
[ $w -eq 0 ] || fail "held: gst-launch exited $w: $(grep -i -m2 error "$tmp/got.log")"
[ $s -eq 0 ] || fail "held: server exited $s: $(cat "$tmp/held.log")"
cmp -s <(checksums "$tmp/ref.log") <(checksums "$tmp/got.log") ||
  fail "held: the held responses differ from the stream ($(checksums "$tmp/got.log" | wc -l) buffers)"
echo "held: 12 responses held downstream, $N of $N arrive intact"

# The response ring is 0600 unless mode says otherwise (a server of another
# user): its segment, semaphores and lock file, whatever the umask.
for mode in 600 666; do
  ch="${ZB_PREFIX}mode$mode"
  bg_server "$tmp/mode.log" "$ch" --delay-ms 50
  prop=()
  [ $mode = 600 ] || prop=(mode=0$mode)
  umask_was=$(umask)
  umask 022
  bg_launch "$tmp/got.log" -- videotestsrc num-buffers=20 ! "$RGB" ! \
    zerofilter channel="$ch" "${prop[@]}" ! fakesink
  umask "$umask_was"
  for i in $(seq 100); do [ "$(ring_files "${ch}_response" | wc -l)" -eq 4 ] && break; sleep 0.05; done
  got=$(stat -c %a $(ring_files "${ch}_response") | sort -u | tr '\n' ' ')
  [ "$got" = "$mode " ] && [ "$(ring_files "${ch}_response" | wc -l)" -eq 4 ] ||
    fail "mode $mode: the response ring's files have modes $got"
  wait_status $BG_PID || fail "mode $mode: gst-launch failed: $(tail -3 "$tmp/got.log")"
  wait_status $SV_PID
  echo "mode $mode: the response ring's segment, semaphores and lock file are $got"
done
# What it is for: a server running as another user answers with mode=0666,
# and cannot connect to a 0600 response ring (needs root to switch users).
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && id nobody >/dev/null 2>&1; then
  for mode in 666 600; do
    ch="${ZB_PREFIX}user$mode"
    timeout -k 5 "$LIMIT" setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups \
      "$ZB_DUPLEX_SERVER" "$ch" --connect-timeout 1500 >"$tmp/user.log" 2>&1 &
    SV_PID=$!
    ZB_PIDS+=("$SV_PID")
    wait_for_line "$tmp/user.log" "^ready " 10 || fail "user: server did not start: $(cat "$tmp/user.log")"
    fg_launch "$tmp/got.log" -- videotestsrc num-buffers=10 ! "$RGB" ! \
      zerofilter channel="$ch" mode=0$mode timeout=3000 ! fakesink
    w=$?
    wait_status $SV_PID
    s=$?
    if [ $mode = 666 ]; then
      [ $w -eq 0 ] && [ $s -eq 0 ] || fail "user, mode 666: gst-launch $w, server $s: $(cat "$tmp/user.log")"
    else
      [ $w -ne 0 ] && [ $s -eq 4 ] || fail "user, mode 600: gst-launch $w, server $s (want a failure, 4)"
    fi
  done
  echo "another user's server: answers with mode=0666, cannot connect with 0600"
else
  echo "another user's server: not tried (needs root, setpriv and the user nobody)"
fi

# A live source (10 fps, depth 2): each response leaves as soon as it comes
# (zerofilter's task), not with the next input 100 ms later. The round
# trip (request commit to response pushed) is ~the server's time (< 1 ms);
# 50 ms leaves room for a loaded machine (before the fix: 100 ms).
bg_server "$tmp/live.log" "${ZB_PREFIX}live" --mode echo
fg_launch "$tmp/got.log" -- -v videotestsrc num-buffers=10 is-live=true ! \
  video/x-raw,format=RGB,width=320,height=240,framerate=10/1 ! \
  zerofilter channel="${ZB_PREFIX}live" depth=2 ! checksumsink ||
  fail "live: gst-launch failed: $(tail -3 "$tmp/got.log")"
wait_status $SV_PID
p50=$(stats_of "$tmp/got.log" round-trip-p50-us)
[ "$(stats_of "$tmp/got.log" responses)" = 10 ] || fail "live: $(grep zerofilter-stats "$tmp/got.log")"
[ -n "$p50" ] && [ "$p50" -lt 50000 ] || fail "live: round trip p50 $p50 us at 10 fps (want < 50000)"
echo "live, 10 fps: round trip p50 $p50 us"

# A slow downstream (identity sleeps 20 ms a buffer) behind a fast echo
# server: the round trip is request commit to the response's arrival, not
# the time a response waited in the ring while the task pushed the ones
# before it (before: p50 ~40 ms, depth x 20 ms). A response that arrived
# while the task was downstream is not timed (round-trip-samples); the
# first ones are (answered in place, all are: the header's commit time).
# A server slower than downstream (30 ms a frame): every
# arrival is seen, the round trip is at least the server's 30 ms.
# behind_slow_sink WHAT CHANNEL FRAMES SERVER-ARGS...: FRAMES through
# zerofilter and a 20 ms identity, against a C server; sets p50 and samples.
behind_slow_sink() {
  local what=$1 channel=$2 frames=$3
  shift 3
  bg_server "$tmp/$channel.log" "${ZB_PREFIX}$channel" "$@"
  fg_launch "$tmp/got.log" -- -v videotestsrc num-buffers="$frames" ! \
    video/x-raw,format=RGB,width=160,height=120,framerate=30/1 ! \
    zerofilter channel="${ZB_PREFIX}$channel" ! identity sleep-time=20000 ! fakesink ||
    fail "$what: gst-launch failed: $(tail -3 "$tmp/got.log")"
  wait_status $SV_PID
  p50=$(stats_of "$tmp/got.log" round-trip-p50-us)
  samples=$(stats_of "$tmp/got.log" round-trip-samples)
}
# A run times few responses (often only the first), and one timing on a
# loaded machine can pass 10 ms (10.9 ms in CI once): the lowest p50 of
# three runs is judged. Before the fix every run's was ~40 ms.
p50s=() best=
for run in 1 2 3; do
  behind_slow_sink "slow sink, run $run" slowsink$run 30 --mode echo
  [ "$(stats_of "$tmp/got.log" responses)" = 30 ] || fail "slow sink, run $run: $(grep -o 'zerofilter-stats.*' "$tmp/got.log")"
  [ "${samples:-0}" -ge 1 ] && [ -n "$p50" ] ||
    fail "slow sink, run $run: round trip p50 ${p50:-none} us over ${samples:-no} samples (want at least 1 sample)"
  p50s+=("${p50:-none}/${samples:-0}")
  [ -n "$p50" ] && { [ -z "$best" ] || [ "$p50" -lt "$best" ]; } && best=$p50
done
[ -n "$best" ] && [ "$best" -lt 10000 ] ||
  fail "slow sink: round trip p50 (us/samples) ${p50s[*]} in 3 runs behind a 20 ms sink (want one < 10000 us)"
echo "slow sink (20 ms a buffer): round trip p50 (us/samples) ${p50s[*]} in 3 runs"
# Answered in place, every response carries the server's commit time in its
# frame header: all are timed, also those that waited behind the push.
behind_slow_sink "slow sink, in place" slowsinkip 30 --mode echo --in-place 1
[ "$(stats_of "$tmp/got.log" responses-in-place)" = 30 ] || fail "slow sink, in place: $(grep -o 'zerofilter-stats.*' "$tmp/got.log")"
# The request's time is taken before its commit: never after the answer's
# (a 0 us p50 in CI when it was taken after).
[ "${samples:-0}" = 30 ] && [ -n "$p50" ] && [ "$p50" -gt 0 ] && [ "$p50" -lt 10000 ] ||
  fail "slow sink, in place: round trip p50 ${p50:-none} us over ${samples:-no} samples (want 1 to 9999 us over all 30: the headers' commit times)"
echo "slow sink, answers in place: round trip p50 $p50 us over $samples samples"
behind_slow_sink "slow server and sink" slowboth 20 --mode echo --delay-ms 30
[ "${samples:-0}" -ge 15 ] && [ -n "$p50" ] && [ "$p50" -ge 30000 ] ||
  fail "slow server and sink: round trip p50 ${p50:-none} us over ${samples:-no} samples (want >= 30000 us, the server's delay, over at least 15 of 20)"
echo "slow server (30 ms) and sink (20 ms): round trip p50 $p50 us over $samples samples"

# A slow server (40 ms a frame) behind a live 100 fps source.
LIVE="videotestsrc num-buffers=60 is-live=true"
RGB100="video/x-raw,format=RGB,width=160,height=120,framerate=100/1"
bg_server "$tmp/slow.log" "${ZB_PREFIX}slow" --delay-ms 40
fg_launch "$tmp/got.log" -- -v $LIVE ! "$RGB100" ! zerofilter channel="${ZB_PREFIX}slow" ! \
  checksumsink
w=$?
wait_status $SV_PID
[ $w -eq 0 ] && [ "$(checksums "$tmp/got.log" | wc -l)" -eq 60 ] ||
  fail "slow, block: exit $w, $(checksums "$tmp/got.log" | wc -l) buffers"
[ "$(stats_of "$tmp/got.log" responses)" = 60 ] || fail "slow, block: $(grep zerofilter-stats "$tmp/got.log")"
echo "slow, policy=block: 60 of 60 processed"

for skipped in pass drop; do
  bg_server "$tmp/slow.log" "${ZB_PREFIX}slow-$skipped" --delay-ms 40
  fg_launch "$tmp/got.log" -- -v $LIVE ! "$RGB100" ! \
    zerofilter channel="${ZB_PREFIX}slow-$skipped" policy=drop skipped=$skipped ! checksumsink
  w=$?
  wait_status $SV_PID
  resp=$(stats_of "$tmp/got.log" responses)
  passed=$(stats_of "$tmp/got.log" frames-passed)
  dropped=$(stats_of "$tmp/got.log" frames-dropped)
  n=$(checksums "$tmp/got.log" | wc -l)
  [ $w -eq 0 ] || fail "slow, drop/$skipped: exit $w"
  [ "${resp:-0}" -lt 60 ] && [ $((resp + passed + dropped)) -eq 60 ] && [ "$n" -eq $((resp + passed)) ] ||
    fail "slow, drop/$skipped: responses $resp passed $passed dropped $dropped, $n buffers"
  if [ $skipped = pass ]; then [ "$passed" -gt 0 ] || fail "slow, drop/pass: nothing passed"
  else [ "$dropped" -gt 0 ] && [ "$passed" -eq 0 ] || fail "slow, drop/drop: passed $passed dropped $dropped"; fi
  cmp -s <(timestamps "$tmp/got.log") <(timestamps "$tmp/got.log" | sort) ||
    fail "slow, drop/$skipped: timestamps out of order"
  echo "slow, policy=drop skipped=$skipped: $resp processed, $passed passed, $dropped dropped"
done

# The same behind a slow server whose caps are not the input's (RGB in,
# GRAY8 out): a skipped RGB buffer cannot go out under GRAY8, so
# skipped=pass drops it (frames-dropped), with one warning; every buffer
# downstream is GRAY8 of GRAY8's size.
GRAY100="video/x-raw, format=(string)GRAY8, width=(int)160, height=(int)120, framerate=(fraction)100/1"
bg_server "$tmp/slow.log" "${ZB_PREFIX}slow-gray" --mode gray --caps "$GRAY100" --delay-ms 40
fg_launch "$tmp/got.log" -- -v $LIVE ! "$RGB100" ! \
  zerofilter channel="${ZB_PREFIX}slow-gray" policy=drop skipped=pass ! identity silent=false ! checksumsink
w=$?
wait_status $SV_PID
resp=$(stats_of "$tmp/got.log" responses)
dropped=$(stats_of "$tmp/got.log" frames-dropped)
[ $w -eq 0 ] || fail "slow, gray, drop/pass: exit $w: $(grep -i -m2 error "$tmp/got.log")"
check_counts "slow, gray, drop/pass" "$tmp/got.log" 60
[ "$(stats_of "$tmp/got.log" frames-passed)" = 0 ] && [ "${dropped:-0}" -gt 0 ] ||
  fail "slow, gray, drop/pass: $(grep -o 'zerofilter-stats.*' "$tmp/got.log")"
[ "$(format_sizes "$tmp/got.log" | sort | uniq -c | awk '{ print $1 " " $2 }')" = "$resp GRAY8:19200" ] ||
  fail "slow, gray, drop/pass: buffers under the caps: $(format_sizes "$tmp/got.log" | uniq -c | tr '\n' ' ')"
[ "$(grep -c "skipped buffers cannot pass" "$tmp/got.log")" = 1 ] ||
  fail "slow, gray, drop/pass: $(grep -c "skipped buffers cannot pass" "$tmp/got.log") warnings (want 1)"
echo "slow, gray, policy=drop skipped=pass: $resp GRAY8 responses, $dropped skipped RGB buffers dropped, one warning"

# A server that answers 3 requests, then none, and with policy=drop one
# later than the timeout (1.5 s a frame, timeout=500): ETIMEDOUT soon, naming
# the request it waited for (4, 1); the hint offers a longer timeout and
# on-error=pass, not policy=drop, which skips buffers while depth requests
# wait but does not lift the timeout (it offered it), and with policy=drop
# says so.
for policy in block drop; do
  # (policy=drop may skip all after the first 3: a muted server would then
  # owe nothing)
  if [ $policy = block ]; then sopts=(--mute-after 3) oldest=4; else sopts=(--delay-ms 1500) oldest=1; fi
  bg_server "$tmp/late.log" "${ZB_PREFIX}late-$policy" "${sopts[@]}"
  t0=$(now_ns)
  bg_launch "$tmp/got.log" -- videotestsrc num-buffers=10 ! "$RGB" ! \
    zerofilter channel="${ZB_PREFIX}late-$policy" timeout=500 policy=$policy ! fakesink
  # timed to the error, not to gst-launch's exit: one that lost the quit
  # (policy=drop's error comes during preroll) exits 5 s later (lib_process.sh)
  wait_for_line "$tmp/got.log" "^zerobuffer-error=" 5
  ms=$(ms_since "$t0")
  wait_status $BG_PID
  w=$?
  [ $w -ne 0 ] && [ $w -ne 124 ] || fail "late, policy=$policy: gst-launch exited $w"
  grep -q "zerobuffer-error=ETIMEDOUT" "$tmp/got.log" || fail "late, policy=$policy: $(grep -i error "$tmp/got.log" | head -3)"
  [ "$ms" -lt 5000 ] || fail "late, policy=$policy: the error took $ms ms"
  grep -q "The duplex server did not answer request $oldest within 500 ms" "$tmp/got.log" &&
    grep -q "raise timeout (-1 waits forever), or use on-error=pass" "$tmp/got.log" &&
    ! grep -q "use policy=drop" "$tmp/got.log" ||
    fail "late, policy=$policy: $(grep -A3 -m1 '^ERROR' "$tmp/got.log")"
  [ $policy = block ] || grep -q "policy=drop does not lift the timeout" "$tmp/got.log" ||
    fail "late, policy=drop: the hint does not say policy=drop cannot help: $(grep -A3 -m1 '^ERROR' "$tmp/got.log")"
  echo "late, policy=$policy: ETIMEDOUT after $ms ms: $(sed -n 's/^ERROR: from element .*zerofilter0: //p' "$tmp/got.log" | head -n1)"
  wait_status $SV_PID
done

# A server that never releases its requests (--keep-requests 1, a request
# ring of 4 frames): the request ring stays full, ETIMEDOUT that says the
# server holds them; the hint does not offer policy=drop, which skips by
# depth and never at a full request ring (it offered it).
bg_server "$tmp/keep.log" "${ZB_PREFIX}keep" --keep-requests 1 --payload-size $((4 * 230464))
fg_launch "$tmp/got.log" -- videotestsrc num-buffers=20 ! "$RGB" ! \
  zerofilter channel="${ZB_PREFIX}keep" timeout=500 ! fakesink
w=$?
[ $w -ne 0 ] && [ $w -ne 124 ] || fail "requests kept: gst-launch exited $w"
grep -q "zerobuffer-error=ETIMEDOUT" "$tmp/got.log" &&
  grep -q "Ring ${ZB_PREFIX}keep_request stayed full for 500 ms: its reader has read the [0-9]* frames in it and given the room of none back" "$tmp/got.log" &&
  grep -q "raise timeout (-1 waits forever), or use on-error=pass" "$tmp/got.log" &&
  ! grep -q "policy=drop" "$tmp/got.log" ||
  fail "requests kept: $(grep -A3 -m1 '^ERROR' "$tmp/got.log")"
echo "requests kept: $(sed -n 's/^ERROR: from element .*zerofilter0: //p' "$tmp/got.log" | head -n1)"
wait_status $SV_PID

# A server whose request ring can never hold a request (4096 bytes, RGB
# 320x240 frames of 230400): EMSGSIZE, naming the server's payload size as
# what sets it (it said only "the reader must create it ...").
bg_server "$tmp/small.log" "${ZB_PREFIX}small" --payload-size 4096
fg_launch "$tmp/got.log" -- videotestsrc num-buffers=10 ! "$RGB" ! \
  zerofilter channel="${ZB_PREFIX}small" ! fakesink
w=$?
[ $w -ne 0 ] && [ $w -ne 124 ] || fail "small request ring: gst-launch exited $w"
grep -q "zerobuffer-error=EMSGSIZE" "$tmp/got.log" &&
  grep -q "Could not send a request: A frame of 230400 bytes can never fit ring ${ZB_PREFIX}small_request .*; the duplex server created this request ring: its payload size sets its size (ZeroBufferDuplexServer: payloadSize; zerobuffer filter: --payload-size N)" "$tmp/got.log" ||
  fail "small request ring: $(grep -A3 -m1 '^ERROR' "$tmp/got.log")"
echo "small request ring: $(sed -n 's/^ERROR: from element .*zerofilter0: //p' "$tmp/got.log" | head -n1)"
wait_status $SV_PID

# No server at all.
t0=$(now_ns)
fg_launch "$tmp/got.log" -- videotestsrc num-buffers=10 ! "$RGB" ! \
  zerofilter channel="${ZB_PREFIX}none" connect-timeout=500 ! fakesink
w=$?
ms=$(ms_since "$t0")
[ $w -ne 0 ] && [ $w -ne 124 ] || fail "missing: gst-launch exited $w"
grep -q "zerobuffer-error=ENOENT" "$tmp/got.log" || fail "missing: $(grep -i error "$tmp/got.log" | head -3)"
# the hint names who creates the request ring: the server, not a zerosrc
grep -q "the duplex server creates the request ring" "$tmp/got.log" && ! grep -q "zerosrc" "$tmp/got.log" ||
  fail "missing: the hint is not about the server: $(grep -iA3 error "$tmp/got.log" | head -6)"
echo "missing: error after $ms ms"
fg_launch "$tmp/got.log" -- -v videotestsrc num-buffers=10 ! "$RGB" ! \
  zerofilter channel="${ZB_PREFIX}none" connect-timeout=200 on-error=pass ! checksumsink
w=$?
[ $w -eq 0 ] && [ "$(checksums "$tmp/got.log" | wc -l)" -eq 10 ] ||
  fail "missing, on-error=pass: exit $w, $(checksums "$tmp/got.log" | wc -l) buffers"
echo "missing, on-error=pass: 10 of 10 passed"

# A second client while the server serves one: the server is busy (EBUSY),
# not missing.
ch="${ZB_PREFIX}busy"
bg_server "$tmp/busy-server.log" "$ch" --mode echo
bg_launch "$tmp/busy1.log" -- -v videotestsrc is-live=true ! "$RGB" ! \
  zerofilter channel="$ch" ! checksumsink
first=$BG_PID
wait_for_buffers "$tmp/busy1.log" 1 10 || fail "busy: the first client got no answer"
fg_launch "$tmp/busy2.log" -- videotestsrc num-buffers=5 ! "$RGB" ! \
  zerofilter channel="$ch" connect-timeout=300 ! fakesink
w=$?
interrupt_launch $first
wait_status $first
wait_status $SV_PID
[ $w -ne 0 ] && [ $w -ne 124 ] && grep -q "zerobuffer-error=EBUSY" "$tmp/busy2.log" &&
  grep -q "The duplex server serves another client" "$tmp/busy2.log" ||
  fail "busy: exit $w: $(grep -iA2 error "$tmp/busy2.log" | head -4)"
echo "busy: the second client is told the server serves another"

finish
