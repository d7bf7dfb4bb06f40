# Helpers for the real-process gst-launch-1.0 tests (sourced, not run).
#
# Every process runs under `timeout -k`, every wait is bounded, the started
# processes are tracked and killed (by pid) on exit if still there, and the
# rings this run created (names start with $ZB_PREFIX) are checked for and
# removed at the end. A gst-launch-1.0 that lost the quit of an error during
# preroll is interrupted, and with -e killed if that is not enough
# (rescue_lost_quit).
#
# A sanitized plugin needs the sanitizer runtimes, which the uninstrumented
# gst-launch-1.0 does not load: meson passes their paths in
# ZB_SANITIZER_PRELOAD and they are preloaded into gst-launch-1.0 (only: some
# tools hang with the ASan runtime preloaded, pgrep for one); without them:
# exit 77 (skip).
set -uo pipefail

GST_PRELOAD=${LD_PRELOAD:-}
if [ "${ZB_SANITIZED:-0}" = 1 ]; then
  if [ -z "${ZB_SANITIZER_PRELOAD:-}" ]; then
    echo "SKIP: sanitized build and no sanitizer runtime to preload"
    exit 77
  fi
  GST_PRELOAD="$ZB_SANITIZER_PRELOAD${LD_PRELOAD:+ $LD_PRELOAD}"
  echo "sanitized build: gst-launch-1.0 runs with LD_PRELOAD=$GST_PRELOAD"
fi
if [ -z "${GST_PLUGIN_PATH:-}" ]; then
  echo "GST_PLUGIN_PATH must point at the built plugin" >&2
  exit 1
fi
export GST_DEBUG_NO_COLOR=1

LIMIT=${LIMIT:-30}   # seconds any one process may run
# ZB_PREFIX (set by the test before sourcing) names this run's rings.
ZB_PREFIX=${ZB_PREFIX:-zbgst-proc-$$-}
tmp=$(mktemp -d)
failures=0
ZB_PIDS=()           # `timeout` processes started in the background
ZB_WATCHERS=()       # bg_launch's rescue_lost_quit processes
FG_PID=              # fg_launch's `timeout` while it runs,
FG_WATCHER=          # and its rescue_lost_quit
T_START=$(date +%s%N)

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

now_ns() { date +%s%N; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# The process `timeout` runs (gst-launch-1.0), by parent pid; waits up to 2 s
# for the fork to have happened.
child_of() { # timeout-pid
  local i c
  for i in $(seq 40); do
    c=$(timeout 5 pgrep -P "$1" | head -n1)
    [ -n "$c" ] && { echo "$c"; return 0; }
    kill -0 "$1" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# Whether PID is still PARENT's child: not ended, and not a pid recycled
# since (read from /proc by the shell itself: no fork, cheap to poll).
child_alive() { # pid parent
  local st
  read -r -a st 2>/dev/null <"/proc/$1/stat" && [ "${st[3]}" = "$2" ]
}

# Whether PID has a handler for signal number SIG (its bit in SigCgt in
# its status).
catches() { # pid sig
  local mask
  mask=$(sed -n 's/^SigCgt:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null)
  [ -n "$mask" ] && (((16#$mask >> ($2 - 1)) & 1))
}

# Whether gst-launch-1.0 PID runs with -e (--eos-on-shutdown, or -e among
# other short options).
eos_on_shutdown() { # pid
  local args a
  mapfile -d '' -t args 2>/dev/null <"/proc/$1/cmdline" || return 1
  for a in "${args[@]:1}"; do
    [[ $a == --eos-on-shutdown || $a =~ ^-[a-zA-Z]*e[a-zA-Z]*$ ]] && return 0
  done
  return 1
}

# gst-launch 1.22 quits its main loop from the thread that posts an
# element's error; one posted during preroll before the main thread has
# entered the loop (a loaded host) is lost: gst-launch prints the error and
# "doesn't want to preroll", then waits for ever, and the test sees 124
# after LIMIT (the jest helpers' LOST_QUIT_MS, gst-launch-rescue.mjs). A
# gst-launch still running 5 s after that line, not yet "Setting pipeline
# to NULL" (a slow teardown is not a lost quit) and still catching SIGINT,
# gets SIGINT, to it alone (interrupt_launch says why): in its loop by then,
# it tears the pipeline down and exits 1 as it would have. With -q it does
# not print that line: its SIGINT handler (from before its loop until its
# teardown has set the pipeline to NULL; a SIGINT meanwhile is dropped)
# tells instead, as past it a SIGINT kills it (exit 130).
# With -e it answers that SIGINT by forcing an EOS onto the pipeline
# instead, and stops catching SIGINT; a pipeline that failed in preroll
# never delivers that EOS, and it waits for ever again (FORCED_EOS_MS). One
# still in its loop 5 s later (not "Setting pipeline to NULL", and still
# catching SIGHUP, which it stops catching once its teardown has set the
# pipeline to NULL) gets SIGINT again, which kills it: the test sees 130 (it
# has no way left to exit 1 by itself; its error is in its log).
# Runs beside each launch and ends with its gst-launch (within 0.1 s).
rescue_lost_quit() { # log timeout-pid
  local gst
  gst=$(child_of "$2") || return 0
  until grep -q "doesn't want to preroll" "$1" 2>/dev/null; do
    child_alive "$gst" "$2" || return 0
    sleep 0.1
  done
  in_loop_after_5_s "$1" "$gst" "$2" && catches "$gst" 2 || return 0
  echo "lost quit: gst-launch-1.0 ($1) still running 5 s after \"doesn't want to preroll\": SIGINT"
  kill -INT "$gst"
  eos_on_shutdown "$gst" || return 0
  in_loop_after_5_s "$1" "$gst" "$2" && ! catches "$gst" 2 && catches "$gst" 1 || return 0
  echo "lost quit: gst-launch-1.0 -e ($1) still waiting, 5 s on, for the EOS that SIGINT forced: SIGINT again (exit 130)"
  kill -INT "$gst"
}

# Whether gst-launch GST (TIMEOUT-PID's child) still runs 5 s on, and has
# not said "Setting pipeline to NULL" in LOG (it left its loop).
in_loop_after_5_s() { # log gst timeout-pid
  local i
  for i in $(seq 50); do
    child_alive "$2" "$3" || return 1
    sleep 0.1
  done
  ! grep -q "^Setting pipeline to NULL" "$1" && child_alive "$2" "$3"
}

# gst-launch-1.0 in the background under timeout; its pid in $BG_PID.
# Usage: bg_launch LOG [VAR=value...] -- gst-launch-1.0 arguments
bg_launch() {
  local log=$1
  shift
  local envs=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  timeout -k 5 "$LIMIT" env LD_PRELOAD="$GST_PRELOAD" "${envs[@]}" \
    gst-launch-1.0 "$@" >"$log" 2>&1 &
  BG_PID=$!
  ZB_PIDS+=("$BG_PID")
  rescue_lost_quit "$log" "$BG_PID" &
  ZB_WATCHERS+=("$!")
}

# The same in the foreground; returns gst-launch's status (124: timed out).
# (Run in the background and waited for: its lost-quit watcher runs beside it.)
fg_launch() {
  local log=$1 status
  shift
  local envs=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  timeout -k 5 "$LIMIT" env LD_PRELOAD="$GST_PRELOAD" "${envs[@]}" \
    gst-launch-1.0 "$@" >"$log" 2>&1 &
  FG_PID=$!
  rescue_lost_quit "$log" "$FG_PID" &
  FG_WATCHER=$!
  wait "$FG_PID"
  status=$?
  wait "$FG_WATCHER"
  FG_PID= FG_WATCHER=
  return $status
}

# Fails the test at once when an element it uses is not installed
# (bootstrap.sh installs gst-plugins-base, -good and -bad).
need_elements() {
  local e
  for e in "$@"; do
    timeout 30 env LD_PRELOAD="$GST_PRELOAD" gst-inspect-1.0 "$e" >/dev/null 2>&1 ||
      { echo "element $e not found (GST_PLUGIN_PATH=$GST_PLUGIN_PATH; bootstrap.sh installs gst-plugins-base/-good/-bad)"; exit 1; }
  done
}

# Waits (bounded) until FILE has a line matching the extended regex.
wait_for_line() { # file regex seconds
  local deadline=$(($(date +%s%N) + $3 * 1000000000))
  while [ "$(date +%s%N)" -lt $deadline ]; do
    grep -qE -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.02
  done
  return 1
}

# Waits (bounded) until FILE has at least N checksumsink lines.
wait_for_buffers() { # file n seconds
  local deadline=$(($(date +%s%N) + $3 * 1000000000))
  while [ "$(date +%s%N)" -lt $deadline ]; do
    [ "$(checksums "$1" | wc -l)" -ge "$2" ] && return 0
    sleep 0.02
  done
  return 1
}

# A zerosrc ready to be written to: its announce line is out.
wait_for_ring() { # log name
  wait_for_line "$1" "\"start-stream\",\"params\":\[\"$2\"" 10
}

# The checksums checksumsink printed ("H:MM:SS.nnnnnnnnn HASH"), one a line.
checksums() {
  awk 'NF == 2 && $1 ~ /^[0-9]+:[0-9][0-9]:[0-9][0-9]\.[0-9]+$/ { print $2 }' "$1"
}

# The caps that reached checksumsink's sink pad (gst-launch-1.0 -v).
sink_caps() {
  sed -n 's/^.*GstChecksumSink:[^ ]*\.GstPad:sink: caps = //p' "$1" | tail -n1
}

# Waits (bounded) until the background launch PID has ended by itself.
wait_exit() { # pid seconds
  local deadline=$(($(date +%s%N) + $2 * 1000000000))
  while kill -0 "$1" 2>/dev/null; do
    [ "$(date +%s%N)" -lt $deadline ] || return 1
    sleep 0.02
  done
}

# Status of a background launch, bounded by its own timeout.
# SIGINT to the gst-launch-1.0 that bg_launch started, and to it alone: a
# signalled timeout(1) passes the signal to its child and again to its
# process group, so gst-launch-1.0 got two; it handles the first and stops
# listening, and the second killed it mid-shutdown (exit 130; now and then
# before zerosrc had unlinked its ring).
interrupt_launch() { # pid (bg_launch's BG_PID)
  local c
  if c=$(child_of "$1"); then kill -INT "$c" 2>/dev/null; else kill -INT "$1" 2>/dev/null; fi
}

wait_status() { # pid
  wait "$1" 2>/dev/null
}

# zb-duplex-server in the background (bounded like gst-launch); $SV_PID.
bg_server() { # log channel [options]
  local log=$1
  shift
  timeout -k 5 "$LIMIT" "$ZB_DUPLEX_SERVER" "$@" >"$log" 2>&1 &
  SV_PID=$!
  ZB_PIDS+=("$SV_PID")
  wait_for_line "$log" "^ready " 10 || fail "server $2 did not start: $(cat "$log")"
}

# A launch (bg_launch's PID, timed from T0 in now_ns) that has to fail soon
# with an error about the server, matching REGEX in LOG: the error within
# 8 s, timed to its line, not to the exit, which a lost quit of an error
# during preroll delays by 5 s and more (rescue_lost_quit); prints it.
check_server_error() { # label pid t0 log regex
  local ms status
  wait_for_line "$4" "$5" 8
  ms=$(ms_since "$3")
  wait_status "$2"
  status=$?
  [ $status -ne 0 ] && [ $status -ne 124 ] || fail "$1: gst-launch exited $status"
  grep -Eq -- "$5" "$4" || fail "$1: no error about the server: $(grep -i -m3 error "$4")"
  [ "$ms" -lt 8000 ] || fail "$1: the error took $ms ms"
  echo "$1: error after $ms ms: $(grep -m1 -oE -- "$5" "$4")"
}

# PTS of the buffers checksumsink saw, one a line.
timestamps() { awk 'NF == 2 && $1 ~ /^[0-9]+:/ { print $1 }' "$1"; }

# A field of the last zerofilter-stats line (gst-launch -v or -m).
stats_of() { # log field
  sed -n "s/.*zerofilter-stats.* $2=\([0-9]*\).*/\1/p" "$1" | tail -n1
}

# zerofilter's counts at EOS: N buffers came in and each is counted once,
# as a response, passed or dropped.
check_counts() { # label log n
  local fin resp passed dropped
  fin=$(stats_of "$2" frames-in)
  resp=$(stats_of "$2" responses)
  passed=$(stats_of "$2" frames-passed)
  dropped=$(stats_of "$2" frames-dropped)
  [ "${fin:-none}" = "$3" ] && [ $((${resp:-0} + ${passed:-0} + ${dropped:-0})) -eq "$3" ] ||
    fail "$1: frames-in ${fin:-none}, responses ${resp:-none} + frames-passed ${passed:-none} + frames-dropped ${dropped:-none} (want $3 both)"
}

# The caps zerofilter0's src pad had, in order (gst-launch -v).
filter_caps() { sed -n 's/^.*GstZeroFilter:zerofilter0\.GstPad:src: caps = //p' "$1"; }

# Lets a late server (bg_server ... --connect-after-file FILE, with a
# --connect-timeout that leaves room for the wait) connect: makes FILE once
# LOG (bg_launch -v) has a line matching REGEX, by default zerofilter0's src
# caps, which it pushes without the server once its setup wait is over. So
# the server is late whatever the load; a fixed --connect-delay from the
# response ring's creation is not (a stalled gst-launch can take longer
# than that to get to its setup wait).
release_late_server() { # label log file [regex]
  local regex="${4:-GstZeroFilter:zerofilter0\.GstPad:src: caps = }"
  wait_for_line "$2" "$regex" 10 ||
    fail "$1: no line matching '$regex' in 10 s while the server stayed away"
  touch "$3"
}

# Fails LABEL unless the first caps zerofilter0 pushed (LOG, gst-launch -v)
# were the input's, of FORMAT: the server came after them.
check_input_caps_first() { # label log format
  filter_caps "$2" | head -n1 | grep -q "format=(string)$3," ||
    fail "$1: the first output caps are not the input's (the server came after them): $(filter_caps "$2" | head -n1)"
}

# The first buffer checksumsink saw: "PTS HASH".
first_buffer() { awk 'NF == 2 && $1 ~ /^[0-9]+:/ { print; exit }' "$1"; }

# The files a ring NAME is made of, if any are left.
ring_files() { # name
  ls -d "/dev/shm/$1" "/dev/shm/sem.sem-r-$1" "/dev/shm/sem.sem-w-$1" \
    "/tmp/zerobuffer/$1.lock" 2>/dev/null
}

# Removes what a killed reader left of ring NAME (it could not unlink it).
remove_ring() { # name
  local files
  files=$(ring_files "$1")
  [ -z "$files" ] || rm -f $files
}

check_ring_gone() { # name what
  local left
  left=$(ring_files "$1")
  [ -z "$left" ] || fail "$2: ring $1 is still there: $left"
}

# End of test: nothing of this run may be left (processes, rings).
finish() {
  local pid left
  for pid in "${ZB_PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      fail "process $pid ($(ps -o args= -p "$pid" | cut -c1-80)) is still running"
    fi
  done
  left=$(ls /dev/shm /tmp/zerobuffer 2>/dev/null | grep -F -- "$ZB_PREFIX")
  [ -z "$left" ] || fail "rings of this run left over: $(echo $left)"
  echo "elapsed: $(ms_since "$T_START") ms"
  if [ $failures -eq 0 ]; then
    echo "PASS"
    exit 0
  fi
  echo "$failures failure(s)"
  exit 1
}

cleanup() {
  local pid c
  for pid in "${ZB_PIDS[@]}" $FG_PID; do
    kill -0 "$pid" 2>/dev/null || continue
    for c in $(timeout 5 pgrep -P "$pid"); do kill -CONT "$c"; kill -KILL "$c"; done 2>/dev/null
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  # Their gst-launch gone, the watchers end within 0.1 s: waited for, not
  # killed by a pid that may have been recycled since.
  [ ${#ZB_WATCHERS[@]} -eq 0 ] && [ -z "$FG_WATCHER" ] ||
    wait "${ZB_WATCHERS[@]}" $FG_WATCHER 2>/dev/null
  # Rings of this run only (the names carry our pid).
  rm -f /dev/shm/"$ZB_PREFIX"* /dev/shm/sem.sem-[rw]-"$ZB_PREFIX"* \
    /tmp/zerobuffer/"$ZB_PREFIX"*.lock 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
need_elements zerosrc zerosink checksumsink
trap 'exit 143' TERM
trap 'exit 130' INT
