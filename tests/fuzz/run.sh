#!/usr/bin/env bash
# make fuzz: builds every tests/fuzz/fuzz_*.c as a libFuzzer target (clang, ASan + UBSan) against
# the library sources and runs each for FUZZ_SECONDS (default 60). Seeds: tests/fuzz/seeds/NAME/;
# dictionary: tests/fuzz/NAME.dict; leak suppressions: tests/fuzz/NAME.lsan.supp, else
# tests/fuzz/lsan.supp. Work and crash files go to build-fuzz/ (corpus/, crashes/).
# FUZZ_ONLY=NAME runs one target; FUZZ_JOBS=N runs N workers each. Exit 1 if any target crashed.
set -u
cd "$(dirname "$0")/../.."
SECS=${FUZZ_SECONDS:-60} OUT=${FUZZ_OUT:-build-fuzz} CC=${FUZZ_CC:-clang}
command -v "$CC" >/dev/null || { echo "fuzz: needs clang"; exit 1; }
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
# (-Wno-pass-failed: at -O1 clang cannot vectorise the #pragma omp simd loops, and said so 7 times)
CFLAGS="-std=c11 -ffp-contract=off -O1 -g -Wno-pass-failed -fopenmp -D_GNU_SOURCE -DMRL_VERSION=\"fuzz\" -Ilibcore -Ikernels $(pkg-config --cflags-only-I openblas 2>/dev/null)"
LIBS="-lzstd -lpcre2-8 -ljq -lonig -lutf8proc -lm -lpthread -ldl"
mkdir -p "$OUT/obj" "$OUT/corpus" "$OUT/crashes"

# The library once, instrumented for coverage (fuzzer-no-link) and sanitizers; CUDA stays out.
objs=()
for src in libcore/*.c kernels/*.c kernels/cpu/*.c; do
  [ -f "$src" ] || continue
  o="$OUT/obj/$(echo "${src%.c}" | tr / _).o"
  if [ ! "$o" -nt "$src" ] || [ -n "$(find libcore kernels -name '*.h' -newer "$o" 2>/dev/null | head -1)" ]; then
    $CC $CFLAGS $SAN -fsanitize=fuzzer-no-link -c "$src" -o "$o" || { echo "fuzz: $src does not build"; exit 1; }
  fi
  objs+=("$o")
done
rm -f "$OUT/libfuzz.a" && ar rcs "$OUT/libfuzz.a" "${objs[@]}"

rc=0
for t in tests/fuzz/fuzz_*.c; do
  [ -f "$t" ] || continue
  name=$(basename "$t" .c)
  [ -n "${FUZZ_ONLY:-}" ] && [ "$FUZZ_ONLY" != "$name" ] && continue
  $CC $CFLAGS $SAN -fsanitize=fuzzer "$t" "$OUT/libfuzz.a" $LIBS -o "$OUT/$name" || { echo "fuzz: $name does not build"; rc=1; continue; }
  corpus="$OUT/corpus/$name"; mkdir -p "$corpus"
  [ -d "tests/fuzz/seeds/$name" ] && cp -n "tests/fuzz/seeds/$name"/* "$corpus"/ 2>/dev/null
  dict=(); [ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
  echo "== $name: ${SECS}s"
  log="$OUT/$name.log"
  supp=tests/fuzz/lsan.supp; [ -f "tests/fuzz/$name.lsan.supp" ] && supp="tests/fuzz/$name.lsan.supp"
  ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$supp "$OUT/$name" "$corpus" "${dict[@]+"${dict[@]}"}" -max_total_time="$SECS" \
    -timeout=10 -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$OUT/crashes/$name-" ${FUZZ_JOBS:+-jobs=$FUZZ_JOBS -workers=$FUZZ_JOBS} >"$log" 2>&1
  status=$?
  grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$log" | sed 's/^/   /'
  echo "   corpus: $(ls "$corpus" | wc -l) inputs"
  if [ $status -ne 0 ]; then
    echo "   FAILED (status $status): see $log and $OUT/crashes/"; grep -m5 -E 'ERROR|SUMMARY' "$log" | sed 's/^/   /'
    rc=1
  fi
done
exit $rc
