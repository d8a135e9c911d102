#!/usr/bin/env bash
# bench-contention.sh — mgrpo and msample while BUSY other processes (default 1; each `yes`,
# one core's worth) keep CPUs busy, with the thread governor (default) and without it
# (MRL_THREADS_ADAPT=0: all --threads every op), next to the same runs on the idle machine and
# next to PyTorch doing mgrpo's step under the same load (bench/mgrpo_torch.py, its bf16
# autocast peer). An OpenMP op waits at its barrier for its slowest thread, so a thread that
# the scheduler parks behind another process stalls every op (kernels/cpu/threads.c).
#   mgrpo:   `minit small`, --dtype bf16, one 512-token sequence (256 prompt + 256 completion)
#            per step, 8 steps; the median tokens/s of steps 3..8.
#   msample: `minit small` bf16, 8 problems x 8 samples x 256 tokens at --batch 64; generated
#            tokens / wall seconds.
# CGROUP=DIR (a cgroup with a CPU quota that you made, e.g. as root on cgroup v1:
#   mkdir /sys/fs/cgroup/cpu/q && echo 100000 > /sys/fs/cgroup/cpu/q/cpu.cfs_quota_us   (1 CPU))
# adds the same mgrpo and msample rows run inside it, with and without the governor.
# Usage: bash bench/bench-contention.sh   (BIN=bin; THREADS default nproc; BUSY=1; TORCH=0 skips PyTorch)
set -u -o pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin}; THREADS=${THREADS:-$(nproc)}; BUSY=${BUSY:-1}; TORCH=${TORCH:-1}
export THREADS   # mgrpo_torch.py takes its thread count from it
[ -x "$BIN/mgrpo" ] && [ -x "$BIN/msample" ] && [ -x "$BIN/minit" ] || { echo "$BIN/mgrpo, msample or minit not built (make)"; exit 1; }
command -v jq >/dev/null || { echo "needs jq"; exit 1; }
dir=$(mktemp -d); pids=()
stop_busy() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; pids=(); }
trap 'stop_busy; rm -rf "$dir"' EXIT
start_busy() { for _ in $(seq 1 "$BUSY"); do yes > /dev/null & pids+=($!); done; sleep 0.5; }

"$BIN/minit" small -o "$dir/f32" --dtype fp32 -q && "$BIN/minit" small -o "$dir/b16" --dtype bf16 -q || exit 1
V=$(jq .vocab_size "$dir/f32/config.json")
awk -v V="$V" 'BEGIN { srand(7); for (r = 0; r < 8; r++) {
    printf "{\"id\":\"b%d\",\"prompt_ids\":[", r; for (i = 0; i < 256; i++) printf "%s%d", (i ? "," : ""), 3 + int(rand() * (V - 3));
    printf "],\"completion_ids\":["; for (i = 0; i < 256; i++) printf "%s%d", (i ? "," : ""), 3 + int(rand() * (V - 3));
    printf "]}\n" } }' > "$dir/train.jsonl"
for i in $(seq 1 8); do echo "{\"id\":\"p$i\",\"problem\":\"Problem $i: what is $i times $((i + 3))?\"}"; done > "$dir/probs.jsonl"

mgrpo_tps() {   # ADAPT: the median tokens/s of steps 3..8
  rm -rf "$dir/run"
  MRL_THREADS_ADAPT=$1 "$BIN/mgrpo" -Z -q --threads "$THREADS" --device cpu --model "$dir/f32" --out "$dir/run" --loss sft \
    --micro-batch 1 --groups 1 --steps 8 --no-checkpoint --dtype bf16 "$dir/train.jsonl" |
    jq -s '[.[2:][] | .tokens_per_s] | sort | .[length / 2 | floor]'
}
msample_tps() {   # ADAPT: generated tokens / wall s
  local t0 t1 n
  t0=$(date +%s.%N)
  n=$(MRL_THREADS_ADAPT=$1 "$BIN/msample" --device cpu --model "$dir/b16" --threads "$THREADS" -n 8 --batch 64 --max-tokens 256 \
      --seed 1 -Z -q "$dir/probs.jsonl" | jq -s 'map(.completion_ids | length) | add') || return 1
  t1=$(date +%s.%N)
  awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }'
}
torch_tps() {   # the PyTorch step (bf16 autocast), tokens/s
  python3 bench/mgrpo_torch.py "$dir/f32" 256 256 --autocast-bf16 2>/dev/null | grep -o '"tokens_per_s": *[0-9.]*' | sed 's/.*: *//'
}
have_torch=0
[ "$TORCH" = 1 ] && python3 -c 'import torch, transformers' 2>/dev/null && have_torch=1

echo "threads: $THREADS of $(nproc) CPUs; busy processes: $BUSY; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| run | idle machine | $BUSY busy process(es) | busy / idle |"
echo "|---|---|---|---|"
# a run that fails stops the script (its rows read 0 before, and the script exited 0)
failed() { echo "bench-contention: $1: failed" >&2; exit 1; }
row() {   # name, command...
  local name=$1; shift
  local a b
  a=$("$@") || failed "$name"; start_busy; b=$("$@") || failed "$name (busy)"; stop_busy
  awk -v n="$name" -v a="$a" -v b="$b" 'BEGIN { printf "| %s | %.0f | %.0f | %.2f |\n", n, a, b, (a > 0 ? b / a : 0) }'
}
row "mgrpo tokens/s, governor (default)" mgrpo_tps 1
row "mgrpo tokens/s, MRL_THREADS_ADAPT=0" mgrpo_tps 0
row "msample tokens/s, governor (default)" msample_tps 1
row "msample tokens/s, MRL_THREADS_ADAPT=0" msample_tps 0
[ $have_torch = 1 ] && row "PyTorch step tokens/s (bf16 autocast, $THREADS threads)" torch_tps
if [ -n "${CGROUP:-}" ]; then
  q=$(cat "$CGROUP/cpu.max" 2>/dev/null || echo "$(cat "$CGROUP/cpu.cfs_quota_us") $(cat "$CGROUP/cpu.cfs_period_us")")
  echo
  echo "In $CGROUP (CPU quota, quota period in us: $q):"
  echo
  echo "| run | idle machine | in the cgroup | cgroup / idle |"
  echo "|---|---|---|---|"
  in_cg() { ( echo "$BASHPID" > "$CGROUP/cgroup.procs" && "$@" ); }
  qrow() {
    local name=$1; shift
    local a b
    a=$("$@") || failed "$name"; b=$(in_cg "$@") || failed "$name (in $CGROUP)"
    awk -v n="$name" -v a="$a" -v b="$b" 'BEGIN { printf "| %s | %.0f | %.0f | %.2f |\n", n, a, b, (a > 0 ? b / a : 0) }'
  }
  qrow "mgrpo tokens/s, governor (default)" mgrpo_tps 1
  qrow "mgrpo tokens/s, MRL_THREADS_ADAPT=0" mgrpo_tps 0
  qrow "msample tokens/s, governor (default)" msample_tps 1
  qrow "msample tokens/s, MRL_THREADS_ADAPT=0" msample_tps 0
fi
exit 0
