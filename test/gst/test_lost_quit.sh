#!/usr/bin/env bash
# lib_process.sh's rescue_lost_quit, on real gst-launch-1.0 processes whose
# zerofilter (no server, connect-timeout=0) fails at its first caps, during
# preroll, with -q (nothing printed as it leaves its loop):
#  - its main loop entered 2 s late (late-main-loop.c, preloaded): the quit
#    of the error is lost; the rescue's SIGINT ends it, status 1, and the
#    error is timed to its line (check_server_error), not to the exit;
#  - the same with -e (not -q): the SIGINT forces an EOS that the failed
#    pipeline never delivers, and gst-launch stops catching SIGINT; the
#    rescue's second SIGINT kills it 5 s on, status 130 (before: it waited
#    out LIMIT, 124);
#  - its quit not lost but its teardown ending 9 s after the error
#    (slow-exit.c: past its SIGINT handler): not interrupted, status 1 (the
#    rescue's SIGINT killed it before: 130).
ZB_PREFIX="zbgst-lostquit-$$-"
. "$(dirname "${BASH_SOURCE[0]}")/lib_process.sh"

fixtures="$(dirname "${BASH_SOURCE[0]}")/../node/fixtures"
for f in late-main-loop slow-exit; do
  cc -shared -fPIC -o "$tmp/$f.so" "$fixtures/$f.c" -ldl || { echo "cc could not build $f.c"; exit 1; }
done
SOURCE="videotestsrc num-buffers=5 ! video/x-raw,format=RGB,width=64,height=48"
ERROR="No duplex server on the channel"

t0=$(now_ns)
bg_launch "$tmp/late.log" LD_PRELOAD="$GST_PRELOAD${GST_PRELOAD:+ }$tmp/late-main-loop.so" LATE_MAIN_LOOP_MS=2000 -- \
  -q $SOURCE ! zerofilter channel="${ZB_PREFIX}late" connect-timeout=0 ! fakesink
late=$BG_PID
check_server_error "lost quit" $late "$t0" "$tmp/late.log" "$ERROR"
ms=$(ms_since "$t0")
[ "$ms" -ge 5000 ] || fail "lost quit: gst-launch exited after $ms ms: the quit was not lost"
grep -q "doesn't want to preroll" "$tmp/late.log" || fail "lost quit: $(cat "$tmp/late.log")"
echo "lost quit: gst-launch exited after $ms ms"

t0=$(now_ns)
fg_launch "$tmp/late-eos.log" LD_PRELOAD="$GST_PRELOAD${GST_PRELOAD:+ }$tmp/late-main-loop.so" LATE_MAIN_LOOP_MS=2000 -- \
  -e $SOURCE ! zerofilter channel="${ZB_PREFIX}lateeos" connect-timeout=0 ! fakesink
w=$?
ms=$(ms_since "$t0")
[ $w -eq 130 ] || fail "lost quit, -e: gst-launch exited $w after $ms ms: $(tail -n5 "$tmp/late-eos.log")"
[ "$ms" -ge 10000 ] || fail "lost quit, -e: gst-launch exited after $ms ms: the quit was not lost, or the EOS came"
grep -q "$ERROR" "$tmp/late-eos.log" && grep -q "doesn't want to preroll" "$tmp/late-eos.log" &&
  grep -q "^EOS on shutdown enabled -- Forcing EOS on the pipeline" "$tmp/late-eos.log" ||
  fail "lost quit, -e: $(cat "$tmp/late-eos.log")"
echo "lost quit, -e: gst-launch exited $w after $ms ms"

t0=$(now_ns)
fg_launch "$tmp/slow.log" LD_PRELOAD="$GST_PRELOAD${GST_PRELOAD:+ }$tmp/slow-exit.so" SLOW_EXIT_MS=9000 -- \
  -q $SOURCE ! zerofilter channel="${ZB_PREFIX}slow" connect-timeout=0 ! fakesink
w=$?
ms=$(ms_since "$t0")
[ $w -eq 1 ] || fail "slow teardown: gst-launch exited $w after $ms ms: $(head -n3 "$tmp/slow.log")"
[ "$ms" -ge 9000 ] || fail "slow teardown: gst-launch exited after $ms ms: its teardown was not slow"
echo "slow teardown: gst-launch exited $w after $ms ms"
finish
