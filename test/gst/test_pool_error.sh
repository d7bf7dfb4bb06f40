#!/usr/bin/env bash
# Issue 12, part 3: an error met by zerosink's zero-copy pool during preroll
# must end gst-launch-1.0 promptly, every time. The case:
#   reader: gst-launch-1.0 zerosrc buffer-name=X payload-size=1048576 ! fakesink
#   writer: gst-launch-1.0 videotestsrc num-buffers=5
#             ! video/x-raw,format=RGB,width=3840,height=2160 ! zerosink buffer-name=X
# A 4K frame can never fit the 1 MiB ring. The writer must exit 1 with
# zerosink's "can never fit" error within LIMIT seconds (it used to hang in
# about 1 of 5 runs under load: the pool posted the error from upstream's
# thread before the sink had prerolled). 50 runs, 3 at a time, next to two
# busy loops, so that the threads' timing varies as under real load.
ZB_PREFIX="zbgst-poolerr-$$-"
LIMIT=20
. "$(dirname "${BASH_SOURCE[0]}")/lib_process.sh"

RUNS=${RUNS:-50}
CAPS="video/x-raw,format=RGB,width=3840,height=2160"

one_run() { # i
  local name="${ZB_PREFIX}$1" reader w start
  bg_launch "$tmp/reader-$1.log" -- zerosrc buffer-name="$name" \
    payload-size=1048576 announce=true ! fakesink
  reader=$BG_PID
  wait_for_ring "$tmp/reader-$1.log" "$name" ||
    { echo "FAIL: run $1: zerosrc did not announce the ring"; interrupt_launch $reader; return; }
  start=$(now_ns)
  fg_launch "$tmp/writer-$1.log" -- videotestsrc num-buffers=5 ! "$CAPS" ! \
    zerosink buffer-name="$name"
  w=$?
  echo "run $1: writer exited $w after $(ms_since "$start") ms"
  if [ $w -eq 124 ] || [ $w -eq 137 ]; then
    echo "FAIL: run $1: gst-launch-1.0 hung after the error"
    tail -n 20 "$tmp/writer-$1.log"
  elif [ $w -ne 1 ]; then
    echo "FAIL: run $1: expected exit 1, got $w"
    cat "$tmp/writer-$1.log"
  elif ! grep -q "zerosink0: A frame of 24883200 bytes can never fit" "$tmp/writer-$1.log"; then
    echo "FAIL: run $1: zerosink's error is missing"
    cat "$tmp/writer-$1.log"
  elif ! grep -q "^zerobuffer-error=EMSGSIZE (permanent)" "$tmp/writer-$1.log"; then
    echo "FAIL: run $1: zerosink's error is not classified as permanent"
    cat "$tmp/writer-$1.log"
  fi
  interrupt_launch $reader
  wait_status $reader
}

busy=()
for _ in 1 2; do
  timeout -k 5 300 sh -c 'while :; do :; done' &
  busy+=($!)
done
for ((i = 1; i <= RUNS; i += 3)); do
  for ((j = i; j < i + 3 && j <= RUNS; j++)); do
    one_run $j >"$tmp/run-$j.out" 2>&1 &
  done
  wait $(jobs -p | grep -vxF -e "${busy[0]}" -e "${busy[1]}")
done
kill "${busy[@]}" 2>/dev/null
wait "${busy[@]}" 2>/dev/null

cat "$tmp"/run-*.out | grep -v '^run ' | head -n 60
failures=$(cat "$tmp"/run-*.out | grep -c '^FAIL')
echo "$RUNS runs, $failures failed; slowest: $(cat "$tmp"/run-*.out | sed -n 's/.* after \([0-9]*\) ms/\1/p' | sort -n | tail -n1) ms"
for ((i = 1; i <= RUNS; i++)); do check_ring_gone "${ZB_PREFIX}$i" "run $i"; done
finish
