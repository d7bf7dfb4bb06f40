#!/usr/bin/env bash
# Frame-exact round trips zerosink -> zerosrc between two gst-launch-1.0
# processes, per format: RGB, BGRx, I420 with odd width and height, GRAY16_LE,
# GRAY16_BE and variable-size image/jpeg (jpegenc).
#
# file mode: the stream (videotestsrc num-buffers=30 pattern=ball) is recorded
# once into a file and played back with filesrc ! rawvideoparse [! jpegenc];
# zerosink copies these buffers into the ring. (videotestsrc does not
# initialise the row padding of odd-sized I420, so two runs of it differ in
# those bytes; the recording makes every run byte-identical.)
# pool mode (even sizes): videotestsrc itself, rendering straight into ring
# memory through zerosink's zero-copy pool.
#   reference: gst-launch-1.0 -v STREAM ! identity silent=false ! checksumsink
#   reader:    gst-launch-1.0 -e -v zerosrc buffer-name=X payload-size=P ! checksumsink
#   writer:    gst-launch-1.0 -e STREAM ! zerosink buffer-name=X sync=false
# The reader must see the reference's checksums (same count, same order), the
# same caps at checksumsink with none typed after zerosrc, EOS (both exit 0),
# the frames must have taken the intended path (zerosink's zero-copy/copied
# counters, logged at stop), and the ring must be gone afterwards. The ring
# holds three of the stream's largest frames (sizes measured in the reference
# run), so with sync=false the writer runs into back-pressure and the ring
# wraps many times.
ZB_PREFIX="zbgst-rt-$$-"
. "$(dirname "${BASH_SOURCE[0]}")/lib_process.sh"

need_elements rawvideoparse jpegenc identity filesrc filesink
N=30

roundtrip() { # mode label format width height [encoder]
  local mode=$1 label=$2 format=$3 width=$4 height=$5 enc=()
  [ $# -gt 5 ] && enc=(! "$6")
  local name="$ZB_PREFIX$label" raw="$tmp/$label.raw" t0 w r max payload
  local ref_caps got_caps stream caps line zc copied

  caps="video/x-raw,format=$format,width=$width,height=$height,framerate=30/1"
  if [ "$mode" = pool ]; then
    stream=(videotestsrc num-buffers=$N pattern=ball ! "$caps" "${enc[@]}")
  elif ! fg_launch "$tmp/record.log" -- -q videotestsrc num-buffers=$N pattern=ball ! \
      "$caps" ! filesink location="$raw"; then
    fail "$label: recording failed"; cat "$tmp/record.log"; return
  else
    stream=(filesrc location="$raw" ! rawvideoparse width=$width height=$height
      format="$(echo "$format" | tr 'A-Z_' 'a-z-')" framerate=30/1 "${enc[@]}")
  fi

  # Reference: hashes, sizes and caps of the stream without the ring.
  if ! fg_launch "$tmp/ref.log" -- -v "${stream[@]}" ! identity silent=false ! \
      checksumsink; then
    fail "$label: reference pipeline failed"; cat "$tmp/ref.log"; return
  fi
  checksums "$tmp/ref.log" >"$tmp/ref.sha"
  max=$(sed -n 's/.*last-message = chain .*(\([0-9]*\) bytes,.*/\1/p' "$tmp/ref.log" |
    sort -n | tail -n1)
  if [ "$(wc -l <"$tmp/ref.sha")" -ne $N ] || [ -z "$max" ]; then
    fail "$label: reference has $(wc -l <"$tmp/ref.sha") buffers, largest '$max'"
    return
  fi
  ref_caps=$(sink_caps "$tmp/ref.log")
  cp "$tmp/ref.log" "$tmp/$label.ref.log"
  # Three frames of the largest size, each with its 16-byte header, rounded
  # up to 64 as zerosrc does.
  payload=$(((3 * (max + 16) + 63) / 64 * 64))

  t0=$(now_ns)
  bg_launch "$tmp/reader.log" -- -e -v zerosrc buffer-name="$name" \
    payload-size=$payload announce=true ! checksumsink
  local reader=$BG_PID
  if ! wait_for_ring "$tmp/reader.log" "$name"; then
    fail "$label: zerosrc did not announce the ring"; cat "$tmp/reader.log"
  fi
  fg_launch "$tmp/writer.log" GST_DEBUG=zerosink:4 -- -e "${stream[@]}" ! \
    zerosink buffer-name="$name" sync=false
  w=$?
  wait_status $reader
  r=$?

  [ $w -eq 0 ] || { fail "$label: writer exited $w"; cat "$tmp/writer.log"; }
  [ $r -eq 0 ] || { fail "$label: reader exited $r"; cat "$tmp/reader.log"; }
  grep -q 'Got EOS from element' "$tmp/reader.log" ||
    fail "$label: the reader did not end on EOS"
  checksums "$tmp/reader.log" >"$tmp/got.sha"
  if ! cmp -s "$tmp/ref.sha" "$tmp/got.sha"; then
    fail "$label: the reader's buffers differ from the reference"
    diff "$tmp/ref.sha" "$tmp/got.sha" | head
  fi
  got_caps=$(sink_caps "$tmp/reader.log")
  if [ -z "$ref_caps" ] || [ "$ref_caps" != "$got_caps" ]; then
    fail "$label: caps differ: reference '$ref_caps', through the ring '$got_caps'"
  fi
  # The path the frames took (zerosink's counters at stop): copied from
  # rawvideoparse's and jpegenc's buffers, written in place by videotestsrc
  # through zerosink's pool.
  line=$(grep 'stopped: [0-9]* frames' "$tmp/writer.log" | tail -n1)
  zc=$(echo "$line" | sed -n 's/.*[ (]\([0-9][0-9]*\) zero-copy.*/\1/p')
  copied=$(echo "$line" | sed -n 's/.*[ (]\([0-9][0-9]*\) copied.*/\1/p')
  if [ -z "$zc" ] || [ -z "$copied" ]; then
    fail "$label: no zero-copy/copied counters in zerosink's log: '$line'"
  elif [ "$mode" = pool ] && [ "${#enc[@]}" -eq 0 ]; then
    [ "$zc" -eq $N ] || fail "$label: $zc of $N frames zero-copy ($copied copied)"
  else
    [ "$copied" -eq $N ] || fail "$label: $copied of $N frames copied ($zc zero-copy)"
  fi
  check_ring_gone "$name" "$label"
  echo "$label: writer $w, reader $r, $(wc -l <"$tmp/got.sha")/$N buffers ($zc zero-copy, $copied copied)," \
    "largest frame $max B, payload-size $payload, $(ms_since "$t0") ms; caps: $got_caps"
}

# Recorded stream, copied into the ring.
roundtrip file rgb RGB 320 240
roundtrip file bgrx BGRx 320 240
roundtrip file i420-odd I420 321 241
roundtrip file gray16le GRAY16_LE 320 240
roundtrip file gray16be GRAY16_BE 320 240
roundtrip file jpeg I420 320 240 jpegenc
# videotestsrc rendering straight into the ring (zerosink's zero-copy pool).
# Even sizes only: no row padding, so the reference run is byte-identical.
roundtrip pool rgb-zc RGB 320 240
roundtrip pool bgrx-zc BGRx 320 240
roundtrip pool i420-zc I420 320 240
roundtrip pool gray16le-zc GRAY16_LE 320 240
roundtrip pool gray16be-zc GRAY16_BE 320 240

# The JPEG frames must really vary in size (the ring carries variable sizes).
sizes=$(sed -n 's/.*last-message = chain .*(\([0-9]*\) bytes,.*/\1/p' "$tmp/jpeg.ref.log" |
  sort -u | wc -l)
[ "$sizes" -gt 1 ] || fail "jpeg: all frames have the same size"
echo "jpeg: $sizes distinct frame sizes"

finish
