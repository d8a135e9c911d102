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
$ MRL_TEST_TIMEOUT=1 TMPDIR=$PWD "$ROOT/tests/run.sh" -- slow.t fast.t
> FAIL slow.t: timed out after 1 s
> PASS fast: quick
> 1 passed, 1 failed, 0 skipped
? 1

## ... and leaves no temp dir (the stopped case's stayed in TMPDIR), nor a "Terminated" line; a
## case that ignores the TERM and outlives its file neither
$ printf '## sleeps\n$ sleep 30\n' > slow.t; printf '## deaf\n$ trap "" TERM; sleep 3\n' > deaf.t; mkdir t
$ MRL_TEST_TIMEOUT=1 TMPDIR=$PWD/t "$ROOT/tests/run.sh" -- slow.t deaf.t; ls -A t
> FAIL slow.t: timed out after 1 s
> FAIL deaf.t: timed out after 1 s
> 0 passed, 2 failed, 0 skipped
2>

## without MRL_TEST_TIMEOUT a slow binary runs to its end
$ printf '#!/bin/sh\nsleep 2; echo "PASS slow"\n' > slow; chmod +x slow
$ "$ROOT/tests/run.sh" "$PWD/slow" --
> PASS slow
> 1 passed, 0 failed, 0 skipped

## MRL_REQUIRE_GPU=1 (make test-gpu, run-packed-gpu.sh): a case whose '% requires' is missing fails instead of skipping, as a GPU test binary does; without it the case skips
$ printf '## needs a file\n%% requires $SHARED/not-there\n$ true\n' > req.t
$ env -u MRL_REQUIRE_GPU "$ROOT/tests/run.sh" -- req.t | sed "s|$SHARED|SHARED|"
$ MRL_REQUIRE_GPU=1 "$ROOT/tests/run.sh" -- req.t | sed "s|$SHARED|SHARED|"
> SKIP req: needs a file: needs SHARED/not-there
> 0 passed, 0 failed, 1 skipped
> FAIL req: needs a file: needs SHARED/not-there (MRL_REQUIRE_GPU is set)
> 0 passed, 1 failed, 0 skipped

## SHARED from the environment names the shared folder (run-packed-gpu.sh points it at the packed copy: the GPU machine has no shared/ beside the tree)
$ mkdir -p s/data && echo hi > s/data/f
$ printf '## reads shared\n%% requires $SHARED/data/f\n$ cat "$SHARED/data/f"\n> hi\n' > sh.t
$ SHARED=$PWD/s MRL_REQUIRE_GPU=1 "$ROOT/tests/run.sh" -- sh.t
> PASS sh: reads shared
> 1 passed, 0 failed, 0 skipped

## '% requires root' runs the case when the runner is root in a tree that user nobody can reach
## (the cases switch to it), and skips it otherwise (under /root, mode 700, they failed)
$ printf '## as root\n%% requires root\n$ id -u\n> 0\n' > root.t
$ want="0 passed, 0 failed, 1 skipped"; [ "$(id -u)" = 0 ] && setpriv --reuid=65534 --regid=65534 --clear-groups test -r "$ROOT/tests/run.sh" 2>/dev/null && want="1 passed, 0 failed, 0 skipped"
$ [ "$("$ROOT/tests/run.sh" -- root.t | tail -1)" = "$want" ] && echo ok
> ok

## ... and where setpriv, which the cases switch users with, is missing the skip says so (it said
## user nobody could not reach the tree)
$ printf '## as root\n%% requires root\n$ id -u\n> 0\n' > root.t; mkdir p && ln -sf /bin/* /usr/bin/* p/ && rm -f p/setpriv
$ why="no setpriv (util-linux) to switch users with"; [ "$(id -u)" = 0 ] || why="needs root"
$ [ "$(PATH=$PWD/p "$ROOT/tests/run.sh" -- root.t | head -1)" = "SKIP root: as root: $why" ] && echo ok
> ok

## ... and skips it for another user (a case that switches users with setpriv checks nothing as one)
% requires root
% requires /usr/bin/setpriv
$ printf '## as root\n%% requires root\n$ id -u\n> 0\n' > root.t; chmod 755 .; chmod 644 root.t; mkdir -m 1777 t
$ setpriv --reuid=65534 --regid=65534 --clear-groups env TMPDIR="$PWD/t" "$ROOT/tests/run.sh" -- root.t
> SKIP root: as root: needs root
> 0 passed, 0 failed, 1 skipped

## '% requires unsanitized' skips the case when the tools are built with a sanitizer (make test-asan)
$ printf '## memory\n%% requires unsanitized\n$ echo ran\n> ran\n' > m.t
$ want="1 passed, 0 failed, 0 skipped"; ldd "$MRL_BIN/mfilter" | grep -q 'lib[a-z]*san' && want="0 passed, 0 failed, 1 skipped"
$ [ "$("$ROOT/tests/run.sh" -- m.t | tail -1)" = "$want" ] && echo ok
> ok

## a test binary that dies before its verdict line (a crash), or ends at 0 with no verdict line, is
## counted failed; a verdict line without a final newline is counted (a FAIL printed just before
## an exit without one was dropped, and the binary counted passed)
$ printf '#!/bin/sh\nkill -SEGV $$\n' > crash; printf '#!/bin/sh\nexit 0\n' > silent; printf '#!/bin/sh\nprintf "PASS a\\nFAIL b"\n' > nonl; chmod +x crash silent nonl
$ "$ROOT/tests/run.sh" "$PWD/crash" "$PWD/silent" "$PWD/nonl" -- 2> /dev/null
> FAIL crash: exited with status 139
> FAIL silent: printed no PASS, FAIL or SKIP line
> PASS a
> FAIL b
> 1 passed, 3 failed, 0 skipped
? 1

## case files that check nothing are counted failed: a case with no $ command (its title was run on
## into the next case's, with its expected output), a case line before the first title (never run),
## a file with no case, a file that is not there; a pattern that matched no file is no file
$ printf '## no command\n> x\n## runs\n$ echo x\n> x\n' > a.t; printf '$ echo hi\n> bye\n' > b.t; printf '# a comment\n' > c.t
$ "$ROOT/tests/run.sh" -- a.t b.t c.t d.t 'none/*.t'
> FAIL a: no command: no $ command (the case runs nothing)
> PASS a: runs
> FAIL b: a case line before the first '## ' title: $ echo hi
> FAIL b: a case line before the first '## ' title: > bye
> FAIL c.t: no case ran
> FAIL d.t: no such case file
> 1 passed, 5 failed, 0 skipped
? 1
