# bench: the scripts behind BENCHMARKS.md as BENCHMARKS.md and `make bench` run them (no speed is
# asserted: the smallest sizes, only that a script finds its tools and prints its table).

## bench-mfilter.sh takes mfilter from BIN, as `make bench BIN=DIR` passes it (it took bin/mfilter
## whatever BIN said: without bin/ it stopped with "bin/mfilter not built", with one it timed that)
$ mkdir b && printf '#!/bin/sh\ntouch %s/used\nexec %s/mfilter "$@"\n' "$PWD" "$MRL_BIN" > b/mfilter && chmod +x b/mfilter
$ BIN=$PWD/b REPS=1 bash "$ROOT/bench/bench-mfilter.sh" 20 | grep -c '^| mfilter'; ls used
> 3
> used

## every bench/ file BENCHMARKS.md names is there, every bench/*.sh is executable (BENCHMARKS.md
## runs some as `bench/X.sh`; bench-contention.sh was not), and each VAR= a command there sets
## before `bench/X.sh` is one that script reads (CUDA= is make's, which the scripts run); and the
## patterns find such names and commands at all (else every loop ran zero times and said "checked")
$ cd "$ROOT"
$ n=0; for p in $(grep -oE 'bench/[A-Za-z0-9_.-]+\.(sh|py|c|json)' BENCHMARKS.md | sort -u); do
$   n=$((n + 1)); [ -e "$p" ] || echo "BENCHMARKS.md names $p: no such file"
$ done
$ for s in bench/*.sh; do [ -x "$s" ] || echo "$s is not executable"; done
$ grep -oE '([A-Z][A-Z0-9_]*=("[^"]*"|[^ `"]*) +)+(bash +)?bench/[a-z-]+\.sh' BENCHMARKS.md | while read -r l; do
$   s=$(grep -oE 'bench/[a-z-]+\.sh' <<<"$l")
$   for v in $(grep -oE '(^| )[A-Z][A-Z0-9_]*=' <<<"$l" | tr -d ' ='); do
$     [ "$v" = CUDA ] || grep -qw "$v" "$s" || echo "BENCHMARKS.md: $v= for $s, which does not read it"
$   done
$ done
$ v=$(grep -oE '([A-Z][A-Z0-9_]*=("[^"]*"|[^ `"]*) +)+(bash +)?bench/[a-z-]+\.sh' BENCHMARKS.md | wc -l)
$ [ "$n" -ge 10 ] && [ "$v" -ge 5 ] && echo checked
> checked
