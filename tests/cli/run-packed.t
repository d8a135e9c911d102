# bench/run-packed-gpu.sh's steps before the GPU is needed, in a scratch tree (the script replaces
# its tree's bin/ and build/tests, so never the checkout's): stubs stand in for nvidia-smi and
# tests/run.sh, which here prints what a test would see.

## OUT's log.txt holds the run's last line when the script returns: the device tool collects OUT (and ends what is left running) as soon as the command returns, and the tee writing the log was not waited for
$ mkdir -p t/bench t/tests t/.dev/bin t/.dev/tests t/.dev/bench t/.dev/lib stub && cp "$ROOT/bench/run-packed-gpu.sh" t/bench/
$ printf '#!/bin/sh\necho "stub GPU"\n' > stub/nvidia-smi; printf '#!/bin/sh\nsleep 1; exec %s "$@"\n' "$(command -v tee)" > stub/tee; chmod +x stub/*
$ printf '#!/bin/sh\necho "run.sh $*"\n' > t/tests/run.sh; chmod +x t/tests/run.sh
$ PATH=$PWD/stub:$PATH OUT=$PWD/o bash t/bench/run-packed-gpu.sh .dev test >/dev/null; cat o/log.txt
> stub GPU
> run.sh -- tests/gpu/*.t
> run.sh build/tests/test_* --

## an absolute DIR: LD_LIBRARY_PATH, PATH and SHARED name DIR itself (they were $PWD/DIR: no packed library loaded)
$ mkdir -p t/bench t/tests d/bin d/tests d/bench d/lib d/shared stub && cp "$ROOT/bench/run-packed-gpu.sh" t/bench/
$ printf '#!/bin/sh\necho "stub GPU"\n' > stub/nvidia-smi; chmod +x stub/*
$ printf '#!/bin/sh\necho "$LD_LIBRARY_PATH" | cut -d: -f1; echo "$PATH" | cut -d: -f1; echo "$SHARED"; exit 0\n' > t/tests/run.sh; chmod +x t/tests/run.sh
$ PATH=$PWD/stub:$PATH LD_LIBRARY_PATH= bash t/bench/run-packed-gpu.sh "$PWD/d" test | sort -u | sed "s|$PWD|.|"
> ./d/fake
> ./d/lib
> ./d/shared
> stub GPU
