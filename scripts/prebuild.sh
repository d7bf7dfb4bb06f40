#!/usr/bin/env bash
# `npm pack` / `npm publish` (the prepack script): builds what the package
# ships besides sources, for this platform (linux-x64 glibc on the machines
# we release from):
#   dist/                                         tsc, rebuilt from scratch, without source
#                                                 maps: they would point at src/, which
#                                                 is not shipped (and a .js naming a .map
#                                                 that is not there makes bundlers warn)
#   prebuilds/<platform>-<arch>/zerobuffer.glibc.node
#                                                 the addon (prebuildify, N-API 8: any Node >= 20.19)
#   prebuilds/<platform>-<arch>/gstreamer-1.0/libgstzerobuffer.so
#                                                 the plugin, release build in build-prebuild/,
#                                                 checked to need nothing newer than GStreamer 1.20
# Both prebuilt files are checked to need no glibc newer than 2.34, and the
# addon no libstdc++ newer than GCC 11's (GLIBCXX_3.4.29, CXXABI_1.3.13: the
# one of the glibc 2.34 distributions, RHEL 9, Amazon Linux 2023).
# Nothing here is committed (.gitignore); node-gyp-build loads the addon,
# `zerobuffer plugin-path` prints the plugin's directory.
set -euo pipefail
cd "$(dirname "$0")/.."

platform=$(node -p 'process.platform + "-" + process.arch')
plugin_dir=prebuilds/$platform/gstreamer-1.0

echo "prebuild: dist/ (tsc, no source maps)"
rm -rf dist
npx tsc -p tsconfig.json --sourceMap false

echo "prebuild: the addon for $platform (prebuildify)"
rm -rf prebuilds
# The running Node's headers (N-API: the version does not matter), so that
# node-gyp needs no download when nodedir is configured.
npx prebuildify --napi --strip --tag-libc --target "node@$(node -p process.versions.node)"
# prebuildify moved the checkout's build/Release/zerobuffer.node away; put it
# back (the objects are current: this only copies).
npm run --silent build:addon >/dev/null

echo "prebuild: the GStreamer plugin for $platform (meson, build-prebuild/)"
# -Dtests=disabled: only the plugin is built here, so packing needs no test dependency.
[ -f build-prebuild/build.ninja ] || meson setup build-prebuild --buildtype=release -Dtests=disabled
meson compile -C build-prebuild gst-plugin/gstzerobuffer
mkdir -p "$plugin_dir"
strip --strip-unneeded -o "$plugin_dir/libgstzerobuffer.so" build-prebuild/gst-plugin/libgstzerobuffer.so
gst_min_minor=$(sed -n 's/^gst_min_minor = \([0-9]*\)$/\1/p' gst-plugin/meson.build)
node scripts/check-gst-api.mjs "$plugin_dir/libgstzerobuffer.so" "1.${gst_min_minor:?not found in gst-plugin/meson.build}"

# What the prebuilt files promise: glibc 2.34 and GCC 11's libstdc++
# (Debian 12, Ubuntu 22.04, RHEL 9, Amazon Linux 2023) are enough. Building
# on a newer distribution must not raise that silently.
# at_most FILE PREFIX LIMIT: no symbol version PREFIX<n> newer than LIMIT.
at_most() {
  local newest
  newest=$(objdump -T "$1" | { grep -o "(${2//./\\.}[0-9.]*)" || true; } | tr -d '()' | sort -uV | tail -n 1)
  if [ -n "$newest" ] && [ "$(printf '%s\n' "$newest" "$3" | sort -V | tail -n 1)" != "$3" ]; then
    echo "prebuild: $1 needs $newest; the package promises $3 (build on an older distribution, or avoid what needs it)" >&2
    exit 1
  fi
}
for f in "prebuilds/$platform/zerobuffer.glibc.node" "$plugin_dir/libgstzerobuffer.so"; do
  at_most "$f" GLIBC_2. GLIBC_2.34
  at_most "$f" GLIBCXX_3.4. GLIBCXX_3.4.29
  at_most "$f" CXXABI_1.3. CXXABI_1.3.13
done

ls -l "prebuilds/$platform" "$plugin_dir"
