# bench: the scripts behind BENCHMARKS.md as BENCHMARKS.md and `make bench` run them (no speed is
# asserted: the smallest sizes, only that a script finds its tools and prints its table).

## bench-mfilter.sh takes mfilter from BIN, as `make bench BIN=DIR` passes it (it took bin/mfilter
## whatever BIN said: without bin/ it stopped with "bin/mfilter not built", with one it timed that)
$ mkdir b && printf '#!/bin/sh\ntouch %s/used\nexec %s/mfilter "$@"\n' "$PWD" "$MRL_BIN" > b/mfilter && chmod +x b/mfilter
$ BIN=$PWD/b REPS=1 bash "$ROOT/bench/bench-mfilter.sh" 20 | grep -c '^| mfilter'; ls used
> 3
> used
