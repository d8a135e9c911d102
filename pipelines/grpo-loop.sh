#!/usr/bin/env bash
# grpo-loop.sh — the GRPO training loop as a step driver: each step samples the next slice of a
# shuffled problem file with the run's latest policy, rewards it and takes one mgrpo step.
#
# Settings come from the environment (the make fragments in pipelines/ set them):
#   RUN         run directory (required); the step is read from RUN/latest, so a stopped loop
#               continues where it stopped when started again; one loop at a time (flock on RUN;
#               without flock(1), as on macOS, no lock)
#   MODEL       starting policy (required until RUN/latest exists)
#   DATA        problem records, plain or zstd (required); shuffled once into RUN/problems.jsonl,
#               taken PROMPTS at a time in that order (RUN/slices: which ones each batch took);
#               a restart with a DATA of other records stops with an error
#   STEPS       total optimizer steps (required; with mgrpo --iterations K in MGRPO_ARGS each batch
#               is K of them, and the next batch takes the next slice: the steps left must then
#               be a multiple of K, or the loop stops before the first stage)
#   PROMPTS G   problems per step and samples per problem (12, 6)
#   TEMP TOP_P  sampling temperature and nucleus (0.7, 1); with mgrpo --iterations K > 1 also
#               mgrpo's --temperature (its old policy is the sampler's log-probs), unless given
#   MAX_TOKENS  completion limit, a number, or a schedule LIMIT@STEP,... (the limit from each STEP on)
#               e.g. 3584@0,4096@100 (3584 from step 0, 4096 from step 100)
#   TEMPLATE    msample/mtok chat template (r1); SYSTEM the system prompt (unset: msample's default,
#               the study's; set and empty: none)
#   REWARD      the reward stage, any shell command reading and writing records (BIN/mreward),
#               run by bash -o pipefail: a failing command anywhere in it fails the step
#   MGRPO_ARGS  further mgrpo options (learning rate, schedule, beta, ...); MSAMPLE_ARGS msample's;
#               split into words as the shell splits a command line: '...' and "..." quote, \
#               escapes (MSAMPLE_ARGS="--stop 'The answer'" is one argument The answer), but
#               nothing is expanded or run: $ and ` outside '...', an unquoted ; & | < > ( ) and
#               an unclosed quote are usage errors (~, * and {a,b} are plain characters); mgrpo's
#               options (make's LR=, LOSS=, ... among them) are checked by mgrpo before a step samples
#   SAVE_EVERY  step directories kept: multiples of this, latest, best (50; 0: none but those)
#   EVAL_EVERY  validate every N steps (0 = never) on EVAL_DATA: EVAL_N samples per problem at
#               EVAL_TEMP (0.6) and top-p EVAL_TOP_P (0.95) with EVAL_MAX_TOKENS (the step's
#               MAX_TOKENS), scored as make eval scores (mreward --lighteval: the answer read
#               as the study's evaluation read it);
#               results in RUN/evals/ and RUN/val.jsonl, RUN/best -> the best checkpoint so far;
#               EVAL_TEMPLATE and EVAL_SYSTEM (when set) replace TEMPLATE and SYSTEM there
#   EARLY_STOP  drop=D,kl=K: stop when validation pass@1 falls D below the best, or a step's KL
#               exceeds K (RUN/stopped says why; a stopped run stays stopped)
#   DEVICE NGPU device for both tools; with NGPU > 1 sampling runs as NGPU shards (--shard K/N,
#               one process per GPU, --device cuda:K; with DEVICE=cpu, NGPU CPU processes) whose
#               outputs are concatenated, and the
#               update runs as mgrpo --gpus NGPU where mgrpo has that option
#   THREADS     CPU threads per tool; SEED (42); BIN directory of the tools (else PATH)
#   PERSIST     1: one mgrpo for the whole loop (mgrpo --batches-from, fed each step's batch) that
#               hands each new policy to the sampler as RUN/policy (--policy-every 1: the model
#               files alone) instead of writing a checkpoint with the optimizer state every step
#               and loading it again: checkpoints every SAVE_EVERY steps and at the end, so a crash
#               loses the steps since the last one (a restart takes them again, the same way).
#               The same steps as the default, bit for bit. Not with mgrpo --gpus (NGPU > 1 on GPUs)
# A count or number above that is not one (STEPS=2O, EVAL_EVERY=1x, TEMP=hot) is a usage error
# (status 2) before anything is done.
set -euo pipefail
# Ctrl-C ends the loop (130) once the command in hand has ended, whatever its status: without a
# trap bash goes on when that command ends with 0 (it takes the SIGINT as one the command
# handled), so a Ctrl-C that came as an awk or date of the loop had just exited was lost and the
# loop ran to its last step; PERSIST's mgrpo, stopped by the same Ctrl-C, checkpointed meanwhile
trap 'exit 130' INT
# numbers as the tools write them: under a locale with a decimal comma (de_DE) bash's printf
# refused the first step's "0.500" (the loop died after every step) and awk read 0.5 as 0
export LC_ALL=C

die() { echo "grpo-loop: $*" >&2; exit 2; }
[ -n "${RUN:-}" ] || die "RUN= is required (the run directory)"
[ -n "${DATA:-}" ] || die "DATA= is required (problem records)"
[ -n "${STEPS:-}" ] || die "STEPS= is required (total optimizer steps)"
[ -e "$DATA" ] || die "$DATA: no such file"

T=${BIN:+$BIN/}
PROMPTS=${PROMPTS:-12} G=${G:-6} TEMP=${TEMP:-0.7} TOP_P=${TOP_P:-1}
MAX_TOKENS=${MAX_TOKENS:-3584} TEMPLATE=${TEMPLATE:-r1} SEED=${SEED:-42}
REWARD=${REWARD:-$(printf %q "${T}mreward")} SAVE_EVERY=${SAVE_EVERY:-50}
EVAL_EVERY=${EVAL_EVERY:-0} EVAL_N=${EVAL_N:-4} EVAL_TEMP=${EVAL_TEMP:-0.6}
NGPU=${NGPU:-1} DEVICE=${DEVICE:-} THREADS=${THREADS:-} PERSIST=${PERSIST:-0}
export BIN

# The numbers the loop reads: a word that is not one failed in the middle of the loop or not at
# all (STEPS=2O: "[: 2O: integer expression expected", then status 0 and no step; EVAL_EVERY=1x
# turned validation off). Counts are made decimal (STEPS=08 is 8 in $(( )), not an octal error).
whole() {   # NAME [MIN]: a whole number, at least MIN (0), of at most 18 digits (past 2^63 $(( )) wraps)
    local v=${!1}
    [[ $v =~ ^0*[0-9]{19,}$ ]] && die "$1=$v: too large"
    [[ $v =~ ^0*[0-9]{1,18}$ ]] && (( 10#$v >= ${2:-0} )) ||
        die "$1=$v: not a whole number${2:+ above $(( $2 - 1 ))}"
    printf -v "$1" %d "$((10#$v))"
}
whole STEPS; whole PROMPTS 1; whole G 1; whole SEED; whole SAVE_EVERY; whole EVAL_EVERY; whole EVAL_N 1
whole NGPU 1; [ -z "$THREADS" ] || whole THREADS 1; [ -z "${EVAL_MAX_TOKENS:-}" ] || whole EVAL_MAX_TOKENS 1
isnum() { [[ $1 =~ ^([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$ ]]; }
for v in TEMP TOP_P EVAL_TEMP ${EVAL_TOP_P:+EVAL_TOP_P}; do isnum "${!v}" || die "$v=${!v}: not a number"; done
IFS=, read -ra ents <<<"${EARLY_STOP:-}"
for e in "${ents[@]}"; do
    [[ $e =~ ^(drop|kl)=(.*)$ ]] && isnum "${BASH_REMATCH[2]}" || die "EARLY_STOP=$EARLY_STOP: '$e' is not drop=NUMBER or kl=NUMBER"
done
case $PERSIST in 0|1) ;; *) die "PERSIST=$PERSIST: 0 or 1" ;; esac

# The words of the variable named $1 into the array words: split and unquoted as the shell splits
# a command line ('...', "...", \), with nothing expanded or run (read -ra split --stop 'The
# answer' into 'The and answer'; eval would run a $(...) or ; in it).
split_words() {
    local v=${!1:-} w="" c n q="" inw="" i
    words=()
    for ((i = 0; i < ${#v}; i++)); do
        c=${v:i:1}
        if [ "$q" = "'" ]; then
            if [ "$c" = "'" ]; then q=""; else w+=$c; fi
            continue
        fi
        case $c in
            '$'|'`') die "$1=$v: $c is not expanded here (the words are split and unquoted as the shell does, nothing is expanded or run): expand it before, or quote it with '...'" ;;
        esac
        if [ "$q" = '"' ]; then
            case $c in
                '"') q="" ;;
                '\') n=${v:i+1:1}
                     case $n in '"'|'\'|'$'|'`') w+=$n; i=$((i + 1)) ;; $'\n') i=$((i + 1)) ;; *) w+=$c ;; esac ;;
                *) w+=$c ;;
            esac
            continue
        fi
        case $c in
            ' '|$'\t'|$'\n') [ -z "$inw" ] || words+=("$w"); w="" inw=""; continue ;;
            "'"|'"') q=$c ;;
            '\') i=$((i + 1)); n=${v:i:1}
                 if [ "$n" = $'\n' ]; then continue; fi
                 w+=$n ;;
            ';'|'&'|'|'|'<'|'>'|'('|')') die "$1=$v: $c is a shell operator here: quote it" ;;
            *) w+=$c ;;
        esac
        inw=1
    done
    [ -z "$q" ] || die "$1=$v: an unclosed $q"
    [ -z "$inw" ] || words+=("$w")
}
split_words MSAMPLE_ARGS; msample_extra=("${words[@]}")
split_words MGRPO_ARGS; mgrpo_extra=("${words[@]}")

mkdir -p "$RUN"
# one loop per run: two at once took the same steps twice (metrics.jsonl had each step twice)
# and collided in mgrpo's checkpoints; the lock is on the directory (fd 9, which mgrpo and the
# other stages inherit: PERSIST's mgrpo holds it until its last checkpoint is written)
if command -v flock >/dev/null; then
    exec 9<"$RUN"
    # a few seconds' wait: the stages of a loop killed a moment ago hold the lock until they have
    # finished dying (a SIGKILLed mgrpo with many threads takes a second or more)
    flock -w 5 9 || die "$RUN: another loop is running on it"
fi
# the temp files (-o's NAME.tmp.PID) of the shuffle's mfilter and validation's mreward and meval
# that a killed loop was writing: each such kill left one for good (one loop at a time: none is
# a live one's)
rm -f "$RUN"/problems.jsonl.tmp.* "$RUN"/evals/*.tmp.*
[ -e "$RUN/stopped" ] && { echo "grpo-loop: $RUN stopped early: $(cat "$RUN/stopped")" >&2; exit 0; }

step_of() { local s; s=$(readlink "$1" 2>/dev/null) || { echo 0; return; }; s=${s##*step-}; echo $((10#$s)); }
# The completion limit at step $1 from a schedule "A@0,B@100" (or a plain number, as from 0): the
# entry of the latest STEP at or before $1, in whatever order the entries come.
max_tokens_at() {
    local v="" at=-1 e s
    IFS=, read -ra ents <<<"$MAX_TOKENS"
    for e in "${ents[@]}"; do
        [[ $e =~ ^[0-9]+(@[0-9]+)?$ ]] || die "MAX_TOKENS=$MAX_TOKENS: '$e' is not LIMIT or LIMIT@STEP"
        s=0; [[ $e == *@* ]] && s=$((10#${e#*@}))
        if (( $1 >= s && s >= at )); then v=${e%@*} at=$s; fi
    done
    [ -n "$v" ] || die "MAX_TOKENS=$MAX_TOKENS has no entry for step $1"
    echo "$v"
}
# JSON number of a top-level field (the tools write flat numbers).
jnum() { sed -n "s/.*\"$1\":\(-\{0,1\}[0-9.eE+-]*\).*/\1/p" | head -n 1; }
dev_args() { [ -n "$DEVICE" ] && printf -- '--device\n%s\n' "$1"; [ -n "$THREADS" ] && printf -- '--threads\n%s\n' "$THREADS"; true; }

sys_args=(); [ -n "${SYSTEM+set}" ] && sys_args=(--system "$SYSTEM")
tmpl=$TEMPLATE
# data-parallel update over NGPU GPUs where this mgrpo has it (--gpus: one process per GPU)
if [ "$NGPU" -gt 1 ] && [ "$DEVICE" != cpu ] && "${T}mgrpo" --help 2>&1 | grep -q -- '--gpus'; then mgrpo_extra+=(--gpus "$NGPU"); fi
[ "$PERSIST" = 1 ] && [[ " ${mgrpo_extra[*]} " == *" --gpus "* ]] && die "PERSIST=1 is not for mgrpo --gpus (NGPU=$NGPU): its ranks read a whole input first"

# Samples the problems in $1 ($7 each, limit $2, seed $3) with policy $4, at temperature $5, top-p $6.
sample() {
    local in=$1 mt=$2 seed=$3 pol=$4 temp=$5 topp=$6 n=$7 d; shift 7
    local common=(--model "$pol" -n "$n" --temperature "$temp" --top-p "$topp" --max-tokens "$mt"
                  --template "$tmpl" --seed "$seed" -q "${sys_args[@]}" "${msample_extra[@]}" "$@")
    if [ "$NGPU" -le 1 ]; then
        mapfile -t d < <(dev_args "$DEVICE")
        "${T}msample" "${common[@]}" "${d[@]}" "$in"
    else
        local k pids=()
        for ((k = 0; k < NGPU; k++)); do
            if [ "$DEVICE" = cpu ]; then mapfile -t d < <(dev_args cpu)     # CPU shards: tests, many-core hosts
            else mapfile -t d < <(DEVICE=cuda dev_args "cuda:$k"); fi
            "${T}msample" "${common[@]}" "${d[@]}" --shard "$k/$NGPU" -o "$RUN/.shard-$k.jsonl.zst" "$in" & pids+=($!)
        done
        for k in "${pids[@]}"; do wait "$k" || die "a sampling shard failed"; done
        for ((k = 0; k < NGPU; k++)); do cat "$RUN/.shard-$k.jsonl.zst"; rm -f "$RUN/.shard-$k.jsonl.zst"; done
    fi
}

# Validation of the policy $2 as step $1: RUN/evals/step-N.jsonl.zst, a line in RUN/val.jsonl,
# RUN/best, and the early stop on a drop.
validate() {
    local s=$1 pol=$2 f p best bs
    f=$(printf '%s/evals/step-%06d' "$RUN" "$s")
    [ -e "$f.json" ] && return 0
    mkdir -p "$RUN/evals"
    local sys_saved=("${sys_args[@]}")
    tmpl=${EVAL_TEMPLATE:-$TEMPLATE}
    [ -n "${EVAL_SYSTEM+set}" ] && sys_args=(--system "$EVAL_SYSTEM")
    sample "$EVAL_DATA" "${EVAL_MAX_TOKENS:-$(max_tokens_at "$s")}" "$SEED" "$pol" "$EVAL_TEMP" "${EVAL_TOP_P:-0.95}" \
        "$EVAL_N" | "${T}mreward" -q --lighteval -o "$f.jsonl.zst"
    sys_args=("${sys_saved[@]}"); tmpl=$TEMPLATE
    # $f.json last, after RUN/best and the drop check: it marks the step validated, so an
    # interruption before it repeats the validation (a repeated val.jsonl line is harmless)
    # instead of losing it, or the best link, or the early stop
    "${T}meval" -q --by '"val"' -Z "$f.jsonl.zst" -o "$f.json.tmp"
    p=$(jnum 'pass@1' <"$f.json.tmp")
    sed "s/^{/{\"step\":$s,/" "$f.json.tmp" >>"$RUN/val.jsonl"
    # best so far (the earliest of equals)
    read -r bs best < <(awk '{ s = $0; sub(/.*"step":/, "", s); s += 0; p = $0; sub(/.*"pass@1":/, "", p); p += 0;
                               if (NR == 1 || p > b) { b = p; bs = s } } END { print bs, b }' "$RUN/val.jsonl")
    echo "grpo-loop: step $s validation pass@1 $p (best $best at step $bs)" >&2
    if [ "$bs" = "$s" ]; then
        local b; b=$(printf 'step-%06d' "$s")
        if [ "$s" -eq 0 ]; then b=$(cd "$pol" && pwd -P)
        elif [ ! -d "$RUN/$b" ]; then   # PERSIST: a snapshot, which the next step replaces
            b=$(printf 'best-%06d' "$s"); rm -rf "$RUN/$b"
            # no hard links there: a copy, into no half-made directory (cp would copy into it)
            cp -al "$pol/" "$RUN/$b" 2>/dev/null || { rm -rf "$RUN/$b"; cp -a "$pol/" "$RUN/$b"; }
        fi
        ln -sfn "$b" "$RUN/.best.tmp"
        mv -T "$RUN/.best.tmp" "$RUN/best"
        for d in "$RUN"/best-*; do [ -d "$d" ] && [ "${d##*/}" != "$b" ] && rm -rf "$d"; done
    fi
    if [[ ${EARLY_STOP:-} == *drop=* ]]; then
        local drop=${EARLY_STOP#*drop=}; drop=${drop%%,*}
        if awk -v p="$p" -v b="$best" -v d="$drop" 'BEGIN { exit !(p < b - d) }'; then
            echo "validation pass@1 $p at step $s is more than $drop below the best $best (step $bs)" >"$RUN/stopped"
        fi
    fi
    mv "$f.json.tmp" "$f.json"
}

# Removes step directories that are not kept (multiples of SAVE_EVERY, latest, best, the last).
# Only those before latest: one after it is a checkpoint mgrpo is putting in place (PERSIST's
# mgrpo, stopped by a signal, checkpoints its last step while the loop prunes: read as no
# multiple and not latest between its rename and latest's move, it was removed and latest then
# named a missing directory, which every later run refused) or a crash's orphan, which mgrpo's
# next save of that step takes over.
prune() {
    local d n keep_l keep_b top
    keep_l=$(readlink "$RUN/latest" 2>/dev/null || true); keep_b=$(readlink "$RUN/best" 2>/dev/null || true)
    [[ $keep_l =~ ^step-0*([0-9]+)$ ]] || return 0
    top=$((10#${BASH_REMATCH[1]}))
    for d in "$RUN"/step-*; do
        [ -d "$d" ] || continue
        n=${d##*step-}; n=$((10#$n))
        (( n < top )) || continue
        [ "${d##*/}" = "$keep_b" ] && continue
        (( (SAVE_EVERY > 0 && n % SAVE_EVERY == 0) || n == STEPS )) && continue
        rm -rf "$d"
    done
}

if [ ! -s "$RUN/problems.jsonl" ]; then
    "${T}mfilter" --shuffle --seed "$SEED" -Z -q "$DATA" -o "$RUN/problems.jsonl"
# a run continues on the problems it began with: another DATA is an error, not ignored for them
elif ! cmp -s <(sort "$RUN/problems.jsonl") <("${T}mfilter" -Z -q "$DATA" | sort); then
    die "DATA=$DATA holds other problems than $RUN/problems.jsonl, shuffled from the DATA the run began with: give that one, another RUN=, or remove $RUN/problems.jsonl to go on with these"
fi
N=$(wc -l <"$RUN/problems.jsonl")
[ "$N" -ge "$PROMPTS" ] || die "$DATA has $N problems, fewer than PROMPTS=$PROMPTS"

step=$(step_of "$RUN/latest")
# EARLY_STOP's kl=: RUN/stopped when step $1's KL $2 is above the limit
kl_stop() {
    local klmax
    [[ ${EARLY_STOP:-} == *kl=* ]] && [ -n "$2" ] || return 0
    klmax=${EARLY_STOP#*kl=}; klmax=${klmax%%,*}
    if awk -v k="$2" -v m="$klmax" 'BEGIN { exit !(k > m) }'; then
        echo "KL $2 at step $1 is above $klmax" >"$RUN/stopped"
    fi
}
# ... and for latest's step, from its metrics line: a loop stopped between mgrpo's checkpoint and
# that check (Ctrl-C in mgrpo's step, which finishes and checkpoints the step, then the loop exits
# 130) took further steps when run again, past the step where a loop never stopped stops
if [ "$step" -gt 0 ] && [ -e "$RUN/metrics.jsonl" ]; then
    kl_stop "$step" "$(grep "^{\"step\":$step," "$RUN/metrics.jsonl" | tail -n 1 | jnum kl)"
fi
# mgrpo --iterations K takes K optimizer steps on each batch: the problem slices follow the
# batches (a slice per step skipped K - 1 slices a batch). Where the next slice begins is read
# from RUN/slices, a line "STEP OFFSET COUNT" per batch (taken from step STEP's policy, problems
# OFFSET.. of the shuffled file, COUNT of them), written before the batch is sampled: the
# batch that led to latest is the last line of a step before it (a line of a batch not taken,
# or of steps a crash lost under PERSIST, has a step at or after latest). From the steps and K
# alone, a K changed between restarts moved every later slice (step 6 of K = 2 then K = 1 was
# read as batch 6 of K = 1, not 4). A run from before RUN/slices: the step over the run's K.
iters=$(sed -n 's/.*"iterations": *\([0-9][0-9]*\).*/\1/p' "$RUN/latest/trainer_state.json" 2>/dev/null | head -n 1 || true)
off=$(awk -v s="$step" '$1 < s { o = $2 + $3; f = 1 } END { if (f) print o }' "$RUN/slices" 2>/dev/null || true)
[ -n "$off" ] || off=$(( step / ${iters:-1} * PROMPTS ))
# the K of the coming batches: the last --iterations of MGRPO_ARGS, else the run's (mgrpo keeps
# it), else 1; a batch is never split, so the steps left must be a multiple of it (STEPS=3 with
# K = 2 ended at step 4)
k=${iters:-1}
for ((i = 0; i < ${#mgrpo_extra[@]}; i++)); do
    case ${mgrpo_extra[i]} in
        --iterations) k=${mgrpo_extra[i + 1]:-} ;;
        --iterations=*) k=${mgrpo_extra[i]#*=} ;;
    esac
done
if [[ $k =~ ^[0-9]+$ ]] && (( 10#$k > 1 && step < STEPS && (STEPS - step) % 10#$k != 0 )); then
    die "STEPS=$STEPS: mgrpo --iterations $k takes $k optimizer steps per batch, so from step $step the run would end at step $(( step + (STEPS - step + 10#$k - 1) / 10#$k * 10#$k )), past STEPS (STEPS - $step must be a multiple of $k)"
fi
# with K > 1 mgrpo takes the records' logprobs, drawn at TEMP, for the old policy: its own must be
# of logits / TEMP too, or the first update's ratio is pi_1 / pi_TEMP, not 1 (mgrpo's default is 1,
# as the TRL commit Open-RS pinned, for K = 1); a --temperature in MGRPO_ARGS still decides
if [[ $k =~ ^[0-9]+$ ]] && (( 10#$k > 1 )) && [[ " ${mgrpo_extra[*]} " != *" --temperature"* ]]; then
    mgrpo_extra=(--temperature "$TEMP" "${mgrpo_extra[@]}")
fi
# mgrpo's options checked before a step samples (LR=abc, LOSS=bogus or a typo in MGRPO_ARGS was
# refused only after the first step's sampling): its parser stops at the first bad one (exit 2)
# before it reaches --help
merr=$("${T}mgrpo" "${mgrpo_extra[@]}" --help 2>&1 >/dev/null) || {
    mrc=$?
    [ "$mrc" = 2 ] && die "MGRPO_ARGS (make's LR=, LOSS=, SCHEDULE=, ...): ${merr%%$'\n'*}"
    die "${T}mgrpo --help failed (status $mrc): ${merr%%$'\n'*}"
}
max_tokens_at "$step" >/dev/null   # a bad schedule stops here, not in a validation's msample
if [ "$step" -eq 0 ]; then
    [ -n "${MODEL:-}" ] || die "MODEL= is required (the starting policy)"
    [ -e "$MODEL/config.json" ] || die "$MODEL/config.json: no such file (MODEL= must be a model directory)"
fi
if [ "$EVAL_EVERY" -gt 0 ]; then
    [ -n "${EVAL_DATA:-}" ] || die "EVAL_EVERY needs EVAL_DATA= (validation problems)"
    # here, not in the first validation after a restart, which comes after a step's sampling and update
    [ -e "$EVAL_DATA" ] || die "EVAL_DATA=$EVAL_DATA: no such file"
    if [ "$step" -eq 0 ]; then validate 0 "$MODEL"
    else
        # a validation the last run owed: latest reached or passed a multiple m of EVAL_EVERY and
        # no step from m on was validated (the loop stopped before or during it); with mgrpo
        # --iterations K that step need not be a multiple (K = 2, EVAL_EVERY=3: step 4)
        m=$(( step - step % EVAL_EVERY )) v=0
        for ((i = m; i <= step; i++)); do [ -e "$(printf '%s/evals/step-%06d.json' "$RUN" "$i")" ] && v=1; done
        (( m == 0 || v )) || validate "$step" "$RUN/latest"
    fi
fi

# PERSIST=1: mgrpo as a coprocess reading the names of batch files; after each batch it writes
# RUN/policy and any checkpoint due, then the step's metrics line (one per update: --iterations K
# gives K), so prune and validate below never race it
mg_pid=
pol=$MODEL; [ -e "$RUN/latest" ] && pol=$RUN/latest
mapfile -t d < <(dev_args "${DEVICE:-}")
mgrpo_args=(--out "$RUN" ${MODEL:+--model "$MODEL"} --seed "$SEED" --save-every "$SAVE_EVERY" "${d[@]}" "${mgrpo_extra[@]}")
if [ "$PERSIST" = 1 ] && [ "$step" -lt "$STEPS" ] && [ ! -e "$RUN/stopped" ]; then
    # --batches-from and --policy-every after MGRPO_ARGS: the last one counts, and the loop waits
    # for each step's policy (an N > 1 there left it waiting on mgrpo, and mgrpo on it)
    coproc MG { exec "${T}mgrpo" "${mgrpo_args[@]}" --batches-from - --policy-every 1 -Z -q; }
    mg_pid=$MG_PID mg_in=${MG[1]} mg_out=${MG[0]}
    # a loop that stops on an error or a signal still lets mgrpo checkpoint the steps it took
    trap mg_close EXIT
fi
# The last metrics line of the batch just handed over: lines until RUN/policy is that step's.
mg_step() {
    local line s
    while IFS= read -r line <&"$mg_out"; do
        metrics=$line
        s=$(jnum step <<<"$line")
        [ "$(readlink "$RUN/policy" 2>/dev/null)" = "$(printf 'policy-%06d' "$s")" ] && return 0
    done
    mg_end; die "mgrpo ended before the step was taken"
}
# Ends the coprocess: its input closed, it checkpoints its last step and exits (status: mg_rc).
mg_close() {
    mg_rc=0
    [ -n "$mg_pid" ] || return 0
    eval "exec $mg_in>&-"
    wait "$mg_pid" || mg_rc=$?
    mg_pid=
    case $mg_rc in 129|130|143) echo "grpo-loop: interrupted; mgrpo checkpointed the steps it took (run the loop again to go on)" >&2 ;; esac
}
mg_end() {
    mg_close
    case $mg_rc in 0) ;; 129|130|143) exit "$mg_rc" ;; *) die "mgrpo failed (status $mg_rc)" ;; esac
}

while [ "$step" -lt "$STEPS" ] && [ ! -e "$RUN/stopped" ]; do
    prev=$step
    mt=$(max_tokens_at "$step")
    # the batch's problems: PROMPTS lines from offset off of the shuffled file, wrapping
    printf '%d %d %d\n' "$step" "$off" "$PROMPTS" >>"$RUN/slices"
    awk -v s=$(( off % N )) -v p="$PROMPTS" -v n="$N" '(NR - 1 - s + n) % n < p' \
        "$RUN/problems.jsonl" >"$RUN/.slice.jsonl"
    t0=$(date +%s.%N)
    # the rewarded batch whole before mgrpo reads it: a sampler or reward stage that dies part way
    # (an OOM kill, a bad record) stops the loop here (set -e, pipefail) instead of letting mgrpo
    # commit a step on the groups that got through; pipefail inside the stage too, whose last
    # command (REWARD='mreward | jq ...') would hide a reward stage that died before it
    # a stage's own message names <stdin>: say which step's rollouts those were (the exit status,
    # 130 for Ctrl-C among them, is the stage's)
    sample "$RUN/.slice.jsonl" "$mt" $((SEED + step)) "$pol" "$TEMP" "$TOP_P" "$G" |
        bash -o pipefail -c "$REWARD" >"$RUN/.batch" || {
        rc=$?
        (( rc == 129 || rc == 130 || rc == 143 )) ||
            echo "grpo-loop: step $((step + 1)): sampling or the reward stage failed (exit $rc): <stdin> above is this step's rollouts, of the problems in $RUN/.slice.jsonl" >&2
        exit "$rc"
    }
    if [ -n "$mg_pid" ]; then
        { printf '%s\n' "$RUN/.batch" >&"$mg_in"; } 2>/dev/null || { mg_end; die "mgrpo stopped before step $((step + 1))"; }
        mg_step
        step=$(jnum step <<<"$metrics") pol=$RUN/policy
    else
        metrics=$("${T}mgrpo" --steps 1 "${mgrpo_args[@]}" -Z -q <"$RUN/.batch")
        step=$(step_of "$RUN/latest") pol=$RUN/latest
    fi
    rm -f "$RUN/.batch"
    off=$((off + PROMPTS))
    m=$(printf '%s\n' "$metrics" | tail -n 1)
    kl=$(jnum kl <<<"$m")
    acc=$(sed -n 's/.*"accuracy":\([0-9.eE+-]*\).*/\1/p' <<<"$m")
    printf 'step %d  reward %.3f  accuracy %s  len %.1f  kl %s  %.1fs\n' "$step" "$(jnum reward_mean <<<"$m")" \
        "$(if [ -n "$acc" ]; then printf '%.3f' "$acc"; else echo -; fi)" "$(jnum completion_len_mean <<<"$m")" \
        "$(if [ -n "$kl" ]; then printf '%.4f' "$kl"; else echo -; fi)" \
        "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')"
    kl_stop "$step" "$kl"
    # every EVAL_EVERY steps: the step that reaches or passes a multiple (--iterations K moves K)
    if [ "$EVAL_EVERY" -gt 0 ] && (( step / EVAL_EVERY > prev / EVAL_EVERY )); then validate "$step" "$pol"; fi
    prune
done
mg_end
# again once mgrpo has written its last checkpoint and moved latest: PERSIST's checkpoint of a
# run that stopped part way (step-000003 of SAVE_EVERY=50) goes now that latest has moved on
prune
rm -f "$RUN/.slice.jsonl" "$RUN/.batch"
[ -e "$RUN/stopped" ] && echo "grpo-loop: stopped early: $(cat "$RUN/stopped")" >&2
exit 0
