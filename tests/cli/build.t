# The Makefile itself: what a build directory keeps and when it rebuilds.

## switching CUDA in a build directory rebuilds it (the configuration stamp's promise): with
## every file secondary (a bare .SECONDARY:) a missing stamp or CUDA object was never remade,
## so make CUDA=1 after a CPU-only build said "Nothing to be done" and linked no CUDA. A CPU-only
## build is stood in for by touching what it would make, in order (stamp, objects, library,
## programs, all dated after the sources); make -n then says what CUDA=0 and CUDA=1 would do
## (CUDA=1 lists the .cu compiles whether or not nvcc is here); make's status is checked: a make
## that stopped with an error printed nothing either, which read as "nothing to be done"
$ m() { make -s -C "$ROOT" -n B="$PWD/b" BIN="$PWD/bin" "$@" all 2> /dev/null; }
$ m CUDA=0 | grep -o -- '-o [^ ]*' | cut -c4- > made; mkdir -p b bin; touch -d '+1 min' b/.config-cuda0
$ while read -r f; do mkdir -p "$(dirname "$f")"; touch -d '+2 min' "$f"; done < made
$ touch -d '+3 min' b/libmrl.a; touch -d '+4 min' bin/*; grep -c . made | awk '{ print ($1 > 20) }'
$ m CUDA=0 > n0; echo "rc $?"; grep -c . n0; m CUDA=1 | grep -c '[.]cu -o' | awk '{ print ($1 > 0) }'
> 1
> rc 0
> 0
> 1

## make test, test-unit, test-cli and test-gpu from a tree under a path with a space: MRL_BIN is
## one word (it was split: "/bin/bash: line 1: x/bin: No such file or directory", no test run)
$ mkdir -p "t x/tests/cli"; cp "$ROOT/Makefile" "$ROOT/tests/run.sh" "$ROOT/tests/clitest.sh" "t x/tests/"; mv "t x/tests/Makefile" "t x/"
$ printf '## bin\n$ case "$(readlink "$MRL_BIN" || echo "$MRL_BIN")" in */t\\ x/bin) echo ok ;; esac\n> ok\n' > "t x/tests/cli/a.t"
$ make -s -C "t x" CUDA=0 B=build BIN=bin test-cli 2>&1
> PASS a: bin
> 1 passed, 0 failed, 0 skipped

## make test-asan ends with the test runner's "N passed, N failed, N skipped" line, as make test
## does (its sub-make printed "make[1]: Leaving directory ..." after it)
$ cd "$ROOT" && make -n CUDA=0 test-asan 2>/dev/null | tail -n 1 | grep -o 'tests/run.sh\|Leaving directory'
> tests/run.sh

## make help lists the targets README describes (it was "No rule to make target 'help'")
$ make -s -C "$ROOT" help | grep -o '^make [a-z0-9|-]*' | tr '\n' ' '; echo
> make  make test make demo make exp1|exp2|exp3 make data-exp2 make eval make plot make bench 

## the -march is the compiler's target's, not the build machine's: a cross compiler for aarch64
## on x86-64 (CC=aarch64-linux-gnu-gcc) was given -march=x86-64-v2 from uname -m and built
## nothing ("unknown value 'x86-64-v2' for '-march'"). A stand-in compiler that names its
## target (-dumpmachine) and compiles nothing; x86-64's own build keeps x86-64-v2.
$ for t in aarch64-linux-gnu x86_64-linux-gnu; do printf '#!/bin/sh\n[ "$1" = -dumpmachine ] && echo %s\n' $t > cc-$t; chmod +x cc-$t; done
$ m() { make -s -C "$ROOT" -n B="$PWD/b" BIN="$PWD/bin" CUDA=0 CC="$PWD/cc-$1" all 2> /dev/null | grep -c -- '-march=x86-64-v2'; }
$ m aarch64-linux-gnu; m x86_64-linux-gnu | awk '{ print ($1 > 20) }'
> 0
> 1

## the C sources compile for aarch64, where GCC (before 14) has no __builtin_cpu_supports and
## there is no immintrin.h: matmul.c's register tiles, the backend's CPU check and two unit
## tests' were x86's unguarded, and an arm64 build stopped there. Checked where Debian's cross
## compiler is installed (gcc-aarch64-linux-gnu and libc6-dev-arm64-cross, which .ci/run installs;
## its own libc, the host's other headers after). While CI did not install it (until 2026-12-07),
## attention.c's getenv without <stdlib.h>, which x86's immintrin.h had brought, went unseen
% requires /usr/bin/aarch64-linux-gnu-gcc
$ cd "$ROOT" && for f in libcore/*.c kernels/*.c kernels/cpu/*.c tools/*.c tests/unit/*.c bench/*.c testdata/*.c; do
$   aarch64-linux-gnu-gcc -std=c11 -fopenmp -D_GNU_SOURCE -DMRL_VERSION='"0"' -DMRL_OPENBLAS_SO='"libopenblas.so.0"' -Ilibcore -Ikernels $(pkg-config --cflags-only-I openblas 2>/dev/null) \
$     -idirafter /usr/include -Wall -Wextra -Werror -fsyntax-only "$f" 2>&1 | head -n 3
$ done; echo end
> end

## ... and wherever the x86 code is compiled out, with this machine's compiler: a header that
## includes the system headers, then undefines __x86_64__ (so every "x86-64 with GCC 10+" guard
## is off, as on arm64 or an older GCC), is included first. The one-pass attention backward
## called small_panels and used ldp outside the guards that define them (f551a06, b2f8b08): every
## non-x86 build stopped there. Makefile's defines, as the build passes them (test_ops needs
## MRL_OPENBLAS_SO, which the aarch64 case above did not give)
$ printf '%s\n' '#include <math.h>' '#include <string.h>' '#include <stdlib.h>' '#include <stdint.h>' '#include <stdio.h>' \
$   '#include <omp.h>' '#include <pthread.h>' '#include <sched.h>' '#undef __x86_64__' > $PWD/nox86.h
$ cd "$ROOT" && for f in libcore/*.c kernels/*.c kernels/cpu/*.c tools/*.c tests/unit/*.c bench/*.c testdata/*.c; do
$   cc -std=c11 -fopenmp -D_GNU_SOURCE -DMRL_VERSION='"0"' -DMRL_OPENBLAS_SO='"libopenblas.so.0"' -Ilibcore -Ikernels $(pkg-config --cflags-only-I openblas 2>/dev/null) \
$     -include "$OLDPWD/nox86.h" -Wall -Wextra -Werror -fsyntax-only "$f" 2>&1 | head -n 3
$ done; echo end
> end
