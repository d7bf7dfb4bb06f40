#!/usr/bin/env bash
# Two real gst-launch-1.0 processes over a ring, in both start orders:
#   gst-launch-1.0 -e videotestsrc num-buffers=N ! video/x-raw,... ! zerosink buffer-name=X
#   gst-launch-1.0 -e zerosrc buffer-name=X ! checksumsink
# Both exit 0, the reader sees the same buffers (checksums) as the same source
# without the ring, the caps arrive without being typed, and the ring is gone
# afterwards. Also: a stream that ends before its first frame, caps with
# stream headers, and metadata that does not fit the reader's block, or
# frames that do not fit its ring (both sides fail, naming the size
# needed), and a second reader of a ring or a ring name refused (one
# error, the element's own). Every process runs through lib_process.sh
# (under `timeout`, a lost quit of an error during preroll rescued).
ZB_PREFIX="zbgst-launch-$$-"
. "$(dirname "${BASH_SOURCE[0]}")/lib_process.sh"

N=30
CAPS='video/x-raw,format=RGB,width=320,height=240,framerate=30/1'

# Hashes of the reference stream (no ring), one per line.
fg_launch "$tmp/ref.log" -- -q videotestsrc num-buffers=$N ! "$CAPS" ! \
  checksumsink || { cat "$tmp/ref.log"; exit 1; }
awk 'NF == 2 { print $2 }' "$tmp/ref.log" >"$tmp/ref.sha"
[ "$(wc -l <"$tmp/ref.sha")" -eq $N ] || { cat "$tmp/ref.log"; exit 1; }

run_writer() { # name
  fg_launch "$tmp/writer.log" -- -e videotestsrc num-buffers=$N ! "$CAPS" ! \
    zerosink buffer-name="$1"
}
run_reader() { # name
  fg_launch "$tmp/reader.log" -- -e zerosrc buffer-name="$1" announce=true ! \
    checksumsink
}

check() { # order name writer-status reader-status
  local order=$1 name=$2
  if [ "$3" -ne 0 ]; then fail "$order: writer exited $3"; cat "$tmp/writer.log"; fi
  if [ "$4" -ne 0 ]; then fail "$order: reader exited $4"; cat "$tmp/reader.log"; fi
  awk 'NF == 2 && $1 ~ /^[0-9]+:/ { print $2 }' "$tmp/reader.log" >"$tmp/got.sha"
  if ! cmp -s "$tmp/ref.sha" "$tmp/got.sha"; then
    fail "$order: the reader's buffers differ from the reference"
    diff "$tmp/ref.sha" "$tmp/got.sha" | head
  fi
  if ! grep -qF "> {\"jsonrpc\":\"2.0\",\"method\":\"start-stream\",\"params\":[\"$name\",65536,18662592]}" "$tmp/reader.log"; then
    fail "$order: no announcement line"
  fi
  if [ -e "/dev/shm/$name" ] || [ -e "/tmp/zerobuffer/$name.lock" ]; then
    fail "$order: ring $name still exists"
  fi
  echo "$order: writer $3, reader $4, $(wc -l <"$tmp/got.sha") buffers"
}

# Reader first: the ring exists when the writer connects.
name="${ZB_PREFIX}a"
bg_launch "$tmp/reader.log" -- -e zerosrc buffer-name="$name" announce=true ! checksumsink
reader_pid=$BG_PID
sleep 0.3
run_writer "$name"
w=$?
wait_status $reader_pid
check "reader first" "$name" $w $?

# Writer first: zerosink waits for the ring (connect-timeout).
name="${ZB_PREFIX}b"
bg_launch "$tmp/writer.log" -- -e videotestsrc num-buffers=$N ! "$CAPS" ! zerosink buffer-name="$name"
writer_pid=$BG_PID
sleep 1
run_reader "$name"
r=$?
wait_status $writer_pid
check "writer first" "$name" $? $r

# zerosrc READER and WRITER ! zerosink over ring NAME (READER and WRITER are
# words split on spaces): both must exit 0.
both_exit_0() { # label name reader writer
  local label=$1 name=$2 w r
  # shellcheck disable=SC2086 # the words of the pipelines
  bg_launch "$tmp/reader.log" -- -e zerosrc buffer-name="$name" $3
  reader_pid=$BG_PID
  # WAIT_FOR_RING=1 (the reader has announce=true): the writer starts once
  # the ring exists (bounded: 10 s)
  [ "${WAIT_FOR_RING:-0}" = 1 ] && wait_for_ring "$tmp/reader.log" "$name"
  # shellcheck disable=SC2086
  fg_launch "$tmp/writer.log" -- -e $4 ! zerosink buffer-name="$name"
  w=$?
  wait_status $reader_pid
  r=$?
  if [ $w -ne 0 ] || [ $r -ne 0 ]; then
    fail "$label: writer $w, reader $r"
    cat "$tmp/writer.log" "$tmp/reader.log"
  else
    echo "$label: writer $w, reader $r"
  fi
}

# The README's pipelines: default caps, videoconvert after zerosrc.
both_exit_0 videoconvert "${ZB_PREFIX}c" "! videoconvert ! fakesink" \
  "videotestsrc num-buffers=10"

# A stream that ends before its first frame ends the reader's that is there
# (the writer starts once the reader announced its ring: the EOS does not
# wait for a reader).
WAIT_FOR_RING=1 both_exit_0 empty "${ZB_PREFIX}e" "announce=true ! fakesink" \
  "videotestsrc num-buffers=0"
# ... and with no reader at all it is no error, and ends at once, not after
# connect-timeout (60 s here, over LIMIT).
t0=$(now_ns)
if fg_launch "$tmp/writer.log" -- -e videotestsrc num-buffers=0 ! \
  zerosink buffer-name="${ZB_PREFIX}f" connect-timeout=60000; then
  ms=$(ms_since "$t0")
  echo "empty, no reader: writer 0 after $ms ms"
  [ "$ms" -lt 5000 ] || fail "empty, no reader: took $ms ms"
else
  fail "empty, no reader: writer $?"
  cat "$tmp/writer.log"
fi

# Caps with stream headers (vorbis: about 7 KiB of metadata) fit the
# default metadata block; the stream decodes after the ring.
if timeout 30 env LD_PRELOAD="$GST_PRELOAD" gst-inspect-1.0 vorbisenc >/dev/null 2>&1; then
  both_exit_0 vorbis "${ZB_PREFIX}d" "! vorbisdec ! fakesink" \
    "audiotestsrc num-buffers=20 ! vorbisenc"
fi

# zerosrc over ring NAME with the properties READER (announcing it, for at
# most 10 s), then, once the ring exists, 3 frames of caps WRITER_CAPS
# (default $CAPS) into it through zerosink with the properties WRITER
# (READER and WRITER are words split on spaces): the statuses in w and r,
# the logs in $tmp/writer.log and $tmp/reader.log.
too_big_run() { # name reader writer [writer_caps]
  local name=$1 reader_pid
  # shellcheck disable=SC2086 # the words of the properties
  LIMIT=10 bg_launch "$tmp/reader.log" -- -e zerosrc buffer-name="$name" $2 \
    announce=true ! fakesink
  reader_pid=$BG_PID
  wait_for_ring "$tmp/reader.log" "$name"
  # shellcheck disable=SC2086
  fg_launch "$tmp/writer.log" -- -e videotestsrc num-buffers=3 ! \
    "${4:-$CAPS}" ! zerosink buffer-name="$name" $3
  w=$?
  wait_status $reader_pid
  r=$?
}

# Metadata that does not fit the reader's block (64 bytes): the writer
# fails with the size needed, at its first render (so after its preroll:
# no quit lost there, status 1), and the reader, told by the writer's note
# in the block, fails with the same size instead of waiting for ever (it
# did: 10 s here, then killed).
name="${ZB_PREFIX}g"
too_big_run "$name" metadata-size=64 ""
needed=$(grep -o 'metadata size of at least [0-9]*' "$tmp/writer.log" | grep -o '[0-9]*$')
if [ $w -ne 1 ] || [ $r -ne 1 ] || [ -z "$needed" ] ||
  ! grep -q "gave up: its metadata needs a metadata block of $needed bytes, this ring's is 64" "$tmp/reader.log" ||
  ! grep -q 'zerobuffer-error=EMSGSIZE (permanent)' "$tmp/reader.log"; then
  fail "metadata too big: writer $w, reader $r, needed '$needed'"
  cat "$tmp/writer.log" "$tmp/reader.log"
else
  echo "metadata too big: writer $w, reader $r, both naming $needed bytes"
fi
[ -e "/dev/shm/$name" ] && fail "metadata too big: /dev/shm/$name left"

# Frames that can never fit the reader's ring (payload-size 64 KiB, frames
# of 230400 bytes): the writer fails with the payload size needed at its
# first frame, and the reader, which knows the frames' size from the caps
# (the metadata's, or its caps property) and whether the metadata declares
# the per-frame header, fails with the same size instead of ending cleanly
# without a frame (it did: EOS, status 0). With the caps property, a ring
# that holds a frame only without the header (RGB 322x244: 236192 bytes,
# 236208 at most in a ring of 236224; 48 more with the header).
for how in metadata "caps property"; do
  name="${ZB_PREFIX}h"
  if [ "$how" = metadata ]; then
    reader_opts="payload-size=65536" writer_opts="" writer_caps=$CAPS
    bytes=230400 largest=65520 whose="the metadata"
  else
    writer_caps='video/x-raw,format=RGB,width=322,height=244,framerate=30/1'
    reader_opts="payload-size=236224 caps=$writer_caps"
    writer_opts=frame-header=true bytes=236240 largest=236208
    whose="the caps property), and the per-frame header"
  fi
  too_big_run "$name" "$reader_opts" "$writer_opts" "$writer_caps"
  needed=$(grep -m1 -o 'payload size of at least [0-9]*' "$tmp/writer.log" | grep -o '[0-9]*$')
  if [ $w -ne 1 ] || [ $r -ne 1 ] || [ -z "$needed" ] ||
    ! grep -q "Frames of $bytes bytes can never fit ring $name (largest frame: $largest bytes): set payload-size to at least $needed bytes" "$tmp/reader.log" ||
    ! grep -qF "($whose" "$tmp/reader.log" ||
    ! grep -q 'zerobuffer-error=EMSGSIZE (permanent)' "$tmp/reader.log"; then
    fail "frames too big ($how): writer $w, reader $r, needed '$needed'"
    cat "$tmp/writer.log" "$tmp/reader.log"
  else
    echo "frames too big ($how): writer $w, reader $r, both naming $needed bytes"
  fi
done

# Whether LOG, of a gst-launch-1.0 that exited STATUS, tells one failure,
# the element's own: a status neither 0 nor the timeout's 124, one error
# (their count in `errors`) naming TEXT and zerobuffer-error=KIND, and not
# also its base class's generic one after it ("state change failed and
# some element failed to post a proper error message").
one_own_error() { # log status text kind
  errors=$(grep -c '^ERROR: from element' "$1")
  [ "$2" -ne 0 ] && [ "$2" -ne 124 ] && [ "$errors" -eq 1 ] &&
    grep -qF "$3" "$1" && grep -qF "zerobuffer-error=$4" "$1" &&
    ! grep -q 'failed to post a proper error message' "$1"
}

# A caps property whose frames, even without the header, the ring cannot
# hold: zerosrc fails at its start, one error naming the size needed (as
# a failed start: no generic error after it, a status that is not 0),
# without a ring left (it waited for the writer's metadata: a peer writer
# writes none, and leaves no trace when its frame is refused).
name="${ZB_PREFIX}k"
fg_launch "$tmp/reader.log" -- -e zerosrc buffer-name="$name" \
  payload-size=65536 caps="$CAPS" ! fakesink
r=$?
if ! one_own_error "$tmp/reader.log" $r "Frames of 230400 bytes can never fit ring $name (largest frame: 65520 bytes): set payload-size to at least 230464 bytes" \
  "EMSGSIZE (permanent)" ||
  ! grep -qF "(the caps property);" "$tmp/reader.log"; then
  fail "frames too big for the caps property: status $r, $errors errors"
  cat "$tmp/reader.log"
else
  echo "frames too big for the caps property: status $r at its start, one error"
fi
check_ring_gone "$name" "frames too big for the caps property"

# ... but frames that carry their own caps (frame-header=true) may fit
# from a next writer, whose caps changed, which eos-on-writer-exit=false
# waits for: that reader waits on (until Ctrl-C, status 0).
name="${ZB_PREFIX}i"
LIMIT=10 bg_launch "$tmp/reader.log" -- -e zerosrc buffer-name="$name" \
  payload-size=65536 eos-on-writer-exit=false announce=true ! fakesink
reader_pid=$BG_PID
wait_for_ring "$tmp/reader.log" "$name"
fg_launch "$tmp/writer.log" -- -e videotestsrc num-buffers=3 ! "$CAPS" ! \
  zerosink buffer-name="$name" frame-header=true
w=$?
sleep 0.5
if kill -0 $reader_pid 2>/dev/null; then alive=1; else alive=0; fi
interrupt_launch $reader_pid
wait_status $reader_pid
r=$?
if [ $w -ne 1 ] || [ $alive -ne 1 ] || [ $r -ne 0 ]; then
  fail "frames too big, next writer awaited: writer $w, reader alive $alive, reader $r"
  cat "$tmp/writer.log" "$tmp/reader.log"
else
  echo "frames too big, next writer awaited: writer $w, reader waited, then $r"
fi

# A second zerosrc on a ring that has a live reader: one error, zerosrc's
# (EEXIST, naming the ring), not also basesrc's generic one after it
# ("state change failed and some element failed to post a proper error
# message", which a start() that fails brings: the ring is now created
# before basesrc starts), and a status that is not 0; the first reader
# goes on, its ring still there, and ends at Ctrl-C with status 0.
name="${ZB_PREFIX}j"
LIMIT=10 bg_launch "$tmp/reader.log" -- -e zerosrc buffer-name="$name" \
  announce=true ! fakesink
reader_pid=$BG_PID
wait_for_ring "$tmp/reader.log" "$name"
fg_launch "$tmp/second.log" -- zerosrc buffer-name="$name" ! fakesink
s=$?
if [ -e "/dev/shm/$name" ]; then kept=1; else kept=0; fi
interrupt_launch $reader_pid
wait_status $reader_pid
r=$?
if ! one_own_error "$tmp/second.log" $s "Ring $name already has a live reader" \
  "EEXIST (transient)" || [ $kept -ne 1 ] || [ $r -ne 0 ]; then
  fail "second reader: status $s, $errors errors, first reader's ring kept $kept, first reader $r"
  cat "$tmp/second.log" "$tmp/reader.log"
else
  echo "second reader: status $s, one error (EEXIST); first reader went on, then $r"
fi

# A name refused at the start: one error, the element's own (ENAME, with
# TEXT), not also its base class's generic one after it (basesink's for a
# start() that fails: zerosink's link is now opened before basesink's
# part), and a status that is not 0.
one_name_error() { # label text gst-launch arguments...
  local label=$1 text=$2 s errors
  shift 2
  fg_launch "$tmp/refused.log" -- "$@"
  s=$?
  if ! one_own_error "$tmp/refused.log" $s "$text" "ENAME (permanent)"; then
    fail "$label: status $s, $errors errors"
    cat "$tmp/refused.log"
  else
    echo "$label: status $s, one error (ENAME)"
  fi
}
one_name_error "zerosink, bad name" 'Invalid ring name "bad/name"' \
  fakesrc ! zerosink buffer-name=bad/name
one_name_error "zerosink, no name" 'No ring name given' fakesrc ! zerosink
one_name_error "zerosrc, bad name" 'Invalid ring name "..bad"' \
  zerosrc buffer-name=..bad ! fakesink
one_name_error "zerofilter, bad channel" 'Invalid duplex channel name' \
  fakesrc ! zerofilter channel=bad/name ! fakesink
finish
