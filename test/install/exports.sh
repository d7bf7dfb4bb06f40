#!/usr/bin/env bash
# What the built libraries export, and who their zb_* calls reach.
#  - The plugin exports only what GStreamer loads it by
#    (gst_plugin_zerobuffer_*): none of the core compiled into it, whose
#    calls then bind inside it. An application that also loads
#    libzerobuffer.so.0 (of this build or another 0.x) must not make the
#    plugin run that library's code on the plugin's structures.
#  - libzerobuffer.so.0 exports exactly the functions zerobuffer.h declares.
#  - A round trip through the plugin (zerosrc and zerosink in one
#    gst-launch-1.0) with another zb_validate_name preloaded
#    (test/install/interpose.c, which aborts when called) exits 0.
# Arguments: the plugin, libzerobuffer.so.0, zerobuffer.h, the interposer.
# Environment: that of the gst-launch tests (GST_PLUGIN_PATH, a registry,
# ZB_SANITIZED and ZB_SANITIZER_PRELOAD).
set -uo pipefail
plugin=$1 lib=$2 header=$3 interposer=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# Names of the defined dynamic symbols (no version suffix, no version nodes).
exported() { nm -D --defined-only "$1" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' | sort -u; }

others=$(exported "$plugin" | grep -v '^gst_plugin_zerobuffer_')
[ -z "$others" ] || fail "the plugin exports more than gst_plugin_zerobuffer_*: $(echo "$others" | head -n 5 | tr '\n' ' ')($(echo "$others" | wc -l) symbols)"
exported "$plugin" | grep -qx gst_plugin_zerobuffer_get_desc ||
  fail "the plugin does not export gst_plugin_zerobuffer_get_desc: GStreamer cannot load it"

# (one line per declaration's name: zerobuffer.h puts each on the line of its type)
declared=$(grep -oE '^[A-Za-z_][^(]*\bzb_[a-z0-9_]+\(' "$header" | grep -oE 'zb_[a-z0-9_]+\($' | tr -d '(' | sort -u)
[ -n "$declared" ] || fail "no function found in $header"
diff=$(diff <(echo "$declared") <(exported "$lib"))
[ -z "$diff" ] || fail "libzerobuffer.so.0 does not export exactly the functions of zerobuffer.h (< only declared, > only exported):
$diff"

preload=$interposer
if [ "${ZB_SANITIZED:-0}" = 1 ]; then
  if [ -z "${ZB_SANITIZER_PRELOAD:-}" ]; then
    echo "SKIP (the round trip): sanitized build and no sanitizer runtime to preload"
    [ "$failures" = 0 ] && exit 77
    exit 1
  fi
  preload="$ZB_SANITIZER_PRELOAD $interposer"
fi
name="zbgst-exports-$$"
LD_PRELOAD=$preload timeout 60 gst-launch-1.0 -e zerosrc buffer-name="$name" num-buffers=3 ! \
  fakesink >"$tmp/reader.log" 2>&1 &
reader=$!
LD_PRELOAD=$preload timeout 60 gst-launch-1.0 -e videotestsrc num-buffers=3 ! \
  video/x-raw,width=64,height=48 ! zerosink buffer-name="$name" >"$tmp/writer.log" 2>&1
writer_rc=$?
wait "$reader"
reader_rc=$?
if [ "$writer_rc" != 0 ] || [ "$reader_rc" != 0 ] || grep -q INTERPOSED "$tmp/reader.log" "$tmp/writer.log"; then
  fail "zerosrc ! fakesink and videotestsrc ! zerosink with another zb_validate_name preloaded: exit $reader_rc and $writer_rc"
  cat "$tmp/reader.log" "$tmp/writer.log"
fi
# (a reader aborted leaves its ring)
rm -f "/dev/shm/$name" "/dev/shm/sem.sem-r-$name" "/dev/shm/sem.sem-w-$name" "/tmp/zerobuffer/$name.lock"

[ "$failures" = 0 ] && echo "ok: the plugin exports only gst_plugin_zerobuffer_*, libzerobuffer.so.0 zerobuffer.h's functions; the plugin calls its own core"
[ "$failures" = 0 ]
