# tests/run.sh itself: what bench/run-packed-gpu.sh relies on in a GPU session of limited time.

## MRL_TEST_TIMEOUT stops a test binary that hangs, counts it failed, and runs the rest
$ printf '#!/bin/sh\nexec sleep 30\n' > hang; printf '#!/bin/sh\necho "PASS quick"\n' > quick; chmod +x hang quick
$ MRL_TEST_TIMEOUT=1 "$ROOT/tests/run.sh" "$PWD/hang" "$PWD/quick" --
> FAIL hang: timed out after 1 s
> PASS quick
> 1 passed, 1 failed, 0 skipped
? 1

## MRL_TEST_TIMEOUT stops a case file that hangs
$ printf '## sleeps\n$ sleep 30\n' > slow.t; printf '## quick\n$ echo ok\n> ok\n' > fast.t
$ MRL_TEST_TIMEOUT=1 "$ROOT/tests/run.sh" -- slow.t fast.t
> FAIL slow.t: timed out after 1 s
> PASS fast: quick
> 1 passed, 1 failed, 0 skipped
? 1

## without MRL_TEST_TIMEOUT a slow binary runs to its end
$ printf '#!/bin/sh\nsleep 2; echo "PASS slow"\n' > slow; chmod +x slow
$ "$ROOT/tests/run.sh" "$PWD/slow" --
> PASS slow
> 1 passed, 0 failed, 0 skipped
