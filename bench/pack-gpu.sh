#!/usr/bin/env bash
# pack-gpu.sh — packs what `make test-gpu` and `make bench-gpu` need into one folder (default
# .dev, git-ignored) for a GPU machine that has the CUDA driver and toolkit but none of the
# Debian -dev packages to build mrl with (the lent H100/H200 machines): the tools, the GPU test
# and bench binaries (stripped), the shared libraries they link outside the CUDA toolkit and
# libc, bench/run-packed-gpu.sh's fake `make`, and the files of the shared folder that
# tests/gpu/*.t require (`% requires $SHARED/...`: the Qwen2 tokenizer), which the GPU machine
# lacks (its copy of the tree has no ../shared). Built here with CUDA=1; on the GPU machine run
#   bash bench/run-packed-gpu.sh [DIR]        (from the repository root, DIR = this folder)
# Usage: bash bench/pack-gpu.sh [DIR]        Env: B, BIN (build dirs, default build, bin),
#   SHARED (the shared folder, default ../shared beside the tree, as tests/clitest.sh).
set -eu
cd "$(dirname "$0")/.."
B=${B:-build}; BIN=${BIN:-bin}; D=${1:-.dev}
gt=$(ls tests/gpu/test_*.c | sed "s|tests/gpu/\(.*\)\.c|$B/tests/\1|")
make -s -j"$(nproc)" CUDA=1 B="$B" BIN="$BIN" all $gt "$B/bench/gpu_bench" "$B/bench/model_bench"
rm -rf "$D"; mkdir -p "$D/bin" "$D/tests" "$D/bench" "$D/lib" "$D/fake"
cp "$BIN"/* "$D/bin/"; cp $gt "$D/tests/"; cp "$B/bench/gpu_bench" "$B/bench/model_bench" "$D/bench/"
strip "$D"/bin/* "$D"/tests/* "$D"/bench/*
# the libraries the binaries link, but libc's own and the CUDA toolkit's (the GPU machine has those)
for f in "$D"/bin/* "$D"/tests/* "$D"/bench/*; do ldd "$f"; done | awk '$3 ~ /^\// {print $3}' | sort -u |
  grep -v -E '/(libc|libm|libpthread|libdl|librt|libstdc\+\+|libgcc_s|ld-linux[^/]*)\.so|/cuda|libcu|libnccl' |
  while read -r l; do cp -L "$l" "$D/lib/"; done
printf '#!/bin/sh\nexit 0\n' > "$D/fake/make"; chmod +x "$D/fake/make"
S=${SHARED:-$PWD/../shared}
for f in $(sed -n 's|^% requires \$SHARED/||p' tests/gpu/*.t | sort -u); do
  [ -f "$S/$f" ] || { echo "pack-gpu.sh: $S/$f is missing (tests/gpu/*.t require it; set SHARED)" >&2; exit 1; }
  mkdir -p "$D/shared/$(dirname "$f")"; cp "$S/$f" "$D/shared/$f"
done
du -sh "$D"; ls "$D/lib"
