#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu checkout: the system packages that are missing,
# node_modules, then a build. Quick and harmless to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

# g++ and make are node-gyp's, for the addon (Debian's gcc brings neither;
# python3, its third need, comes with meson).
packages=(libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libjson-glib-dev gstreamer1.0-tools
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  meson ninja-build gcc g++ make pkg-config valgrind)
# For the fuzz run of npm test (skipped there when missing): clang's libFuzzer.
optional_packages=(clang libclang-rt-14-dev)

die() { echo "bootstrap: $*" >&2; exit 1; }

if command -v dpkg-query >/dev/null && command -v apt-get >/dev/null; then
  missing=() missing_optional=()
  installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
  for p in "${packages[@]}"; do installed "$p" || missing+=("$p"); done
  # optional ones apt does not know of (a release with another clang) are not
  # asked for again on every run; without any package list (apt-get update
  # never ran: a fresh container) nothing is known yet, and they are
  known() {
    ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null || apt-cache show "$1" >/dev/null 2>&1
  }
  for p in "${optional_packages[@]}"; do installed "$p" || ! known "$p" || missing_optional+=("$p"); done
  if [ "$(id -u)" -eq 0 ]; then sudo=()
  elif command -v sudo >/dev/null; then sudo=(sudo)
  else sudo=(false)
  fi
  apt_get() { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "$@"; }
  # noninteractive + -y: CI has no stdin to answer prompts.
  if [ ${#missing[@]} -gt 0 ]; then
    [ "${sudo[*]}" != false ] || die "need root or sudo to install: ${missing[*]}"
    echo "bootstrap: installing ${missing[*]}"
    apt_get update -q
    apt_get install -y -q "${missing[@]}"
  fi
  if [ ${#missing_optional[@]} -gt 0 ]; then
    # optional: without them npm test skips fuzzing, and nothing else stops
    echo "bootstrap: installing ${missing_optional[*]} (for fuzzing)"
    { [ ${#missing[@]} -gt 0 ] || apt_get update -q; } && apt_get install -y -q "${missing_optional[@]}" ||
      echo "bootstrap: ${missing_optional[*]} not installed; npm test will skip fuzzing"
  fi
  [ $((${#missing[@]} + ${#missing_optional[@]})) -gt 0 ] || echo "bootstrap: system packages present"
else
  echo "bootstrap: not Debian/Ubuntu; install the equivalents of these yourself: ${packages[*]}"
fi

# meson.build needs meson 1.0; Ubuntu 22.04's own is 0.61, whose error would
# come later, from the build, without saying what to do.
command -v meson >/dev/null || die "meson >= 1.0 is required (not found)"
meson_version=$(meson --version)
if [ "$(printf '%s\n' 1.0.0 "$meson_version" | sort -V | head -n1)" != 1.0.0 ]; then
  die "meson >= 1.0 is required (found $meson_version, e.g. Ubuntu 22.04's): python3 -m pip install --user 'meson>=1.0', then re-run with ~/.local/bin first on the PATH"
fi

command -v node >/dev/null || die "node >= 20.19 is required (not found)"
command -v npm >/dev/null || die "npm is required (not found)"
node -e '
  const [major, minor] = process.versions.node.split(".").map(Number);
  process.exit(major > 20 || (major === 20 && minor >= 19) ? 0 : 1);
' || die "node >= 20.19 is required (found $(node --version))"

# npm writes node_modules/.package-lock.json last, so it marks a finished install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "bootstrap: npm ci"
  npm ci
else
  echo "bootstrap: node_modules up to date"
fi

echo "bootstrap: building"
npm run --silent build
