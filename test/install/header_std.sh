#!/usr/bin/env bash
# zerobuffer.h in strict compiles (-fsyntax-only): C99 and C11, C++11, with
# -pedantic -Wall -Wextra -Werror and the warnings careful users add (C89 is
# not promised: the API's bool and uint64_t are C99's).
# Arguments: the include directory, the C file. Environment: CC (the build's
# C compiler, words), CXX (a C++ compiler, empty when there is none: then
# exit 77 after the C checks).
set -u
inc=$1 src=$2
failed=0
check() { # name, compiler words..., flags...
  local name=$1 out
  shift
  if out=$("$@" -I"$inc" -fsyntax-only "$src" 2>&1) && [ -z "$out" ]; then
    echo "ok   $name"
  else
    echo "FAIL $name: $*"; echo "$out"; failed=1
  fi
}
strict=(-pedantic -Wall -Wextra -Werror -Wshadow -Wundef -Wconversion -Wsign-conversion -Wcast-qual -Wredundant-decls)
# shellcheck disable=SC2086 # CC is a command line (e.g. "ccache cc")
{
  for std in c99 c11; do
    check "C $std" $CC -x c -std="$std" "${strict[@]}" -Wstrict-prototypes
  done
}
if [ -z "${CXX:-}" ]; then
  echo "no C++ compiler: C++11 not checked"
  [ "$failed" = 0 ] && exit 77
else
  check 'C++11' "$CXX" -x c++ -std=c++11 "${strict[@]}" -Wold-style-cast -Wzero-as-null-pointer-constant
fi
exit $failed
