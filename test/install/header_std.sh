#!/usr/bin/env bash
# zerobuffer.h in strict compiles (-fsyntax-only): C99 and C11, C++11, with
# -pedantic -Wall -Wextra -Werror and the warnings careful users add; C89 too
# when the compiler is gcc (ZB_C89=1): its <stdint.h> and <stdbool.h> work
# there, while clang -std=c89 -pedantic refuses the API's bool (C99's _Bool).
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
  stds=(c99 c11)
  [ "${ZB_C89:-0}" = 1 ] && stds=(c89 "${stds[@]}")
  for std in "${stds[@]}"; do
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
