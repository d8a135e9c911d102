# mgrpo's data parallel, as far as a machine without several GPUs can check it: the rank
# environment of each launcher is read and checked, a CPU run refuses world > 1 clearly, and
# --gpus 1 is the plain run. (The NCCL all-reduce itself needs GPUs: make test-gpu.)

## MRL_RANK/MRL_WORLD make a rank; data parallel needs CUDA
$ minit tiny -o m -q
$ for i in 1 2; do echo "{\"id\":\"p$i\",\"prompt_ids\":[1,2,3],\"completion_ids\":[4,5,6],\"reward\":$i}"; echo "{\"id\":\"p$i\",\"prompt_ids\":[1,2,3],\"completion_ids\":[7,8],\"reward\":0}"; done > r.jsonl
$ MRL_JOB=t MRL_RANK=0 MRL_WORLD=2 mgrpo --model m --out run --device cpu --threads 1 -Z r.jsonl
? 2
2~ ^mgrpo: data parallel \(world 2\) needs (--device cuda|a CUDA build)

## a rank needs a job key shared by all ranks
$ minit tiny -o m -q
$ echo '{"id":"p","prompt_ids":[1],"completion_ids":[2],"reward":1}' > r.jsonl
$ env -u SLURM_JOB_ID MRL_RANK=1 MRL_WORLD=2 mgrpo --model m --out run --device cpu -Z r.jsonl
? 2
2> mgrpo: rank 1 of 2: set MRL_JOB to the same value in every rank (srun and mpirun set their own job ids)
2> Try 'mgrpo --help'.

## srun's variables are read too (and the job id keys the NCCL id file)
$ minit tiny -o m -q
$ echo '{"id":"p","prompt_ids":[1],"completion_ids":[2],"reward":1}' > r.jsonl
$ SLURM_JOB_ID=77 SLURM_PROCID=0 SLURM_NTASKS=2 SLURM_LOCALID=0 mgrpo --model m --out run --device cpu -Z r.jsonl
? 2
2~ ^mgrpo: data parallel \(world 2\) needs (--device cuda|a CUDA build)

## inconsistent rank numbers are refused
$ MRL_RANK=2 MRL_WORLD=2 mgrpo --out run -Z /dev/null
? 2
2> mgrpo: MRL_RANK=2 is not below MRL_WORLD=2
2> Try 'mgrpo --help'.

## --gpus 1 is the plain run (same loss, same weights step)
$ minit tiny -o m -q
$ for i in 1 2; do echo "{\"id\":\"p$i\",\"prompt_ids\":[1,2,3],\"completion_ids\":[4,5,6],\"reward\":$i}"; echo "{\"id\":\"p$i\",\"prompt_ids\":[1,2,3],\"completion_ids\":[7,8],\"reward\":0}"; done > r.jsonl
$ mgrpo --model m --out a --device cpu --threads 1 --lr 1e-3 -Z r.jsonl | grep -o '"loss":[^,]*' > a.txt
$ mgrpo --model m --out b --device cpu --threads 1 --lr 1e-3 --gpus 1 -Z < r.jsonl | grep -o '"loss":[^,]*' > b.txt
$ test -s a.txt && cmp a.txt b.txt && cmp a/latest/model.safetensors b/latest/model.safetensors && echo same
> same

## --gpus N where the GPUs are not there (none visible): one clear message before any rank starts
## (each rank said it: N messages)
$ minit tiny -o m -q
$ echo '{"id":"p","prompt_ids":[1],"completion_ids":[2],"reward":1}' > r.jsonl
$ CUDA_VISIBLE_DEVICES= mgrpo --model m --out run --gpus 2 -Z r.jsonl 2> err; echo $?; grep -c '^mgrpo: ' err; test -e run || echo none
$ grep -Ec '^mgrpo: --gpus 2: (this machine has 0 CUDA devices visible \(CUDA_VISIBLE_DEVICES\)|data parallel needs a CUDA build \(make CUDA=1\))$' err
> 2
> 1
> none
> 1

## half of mgrpo's own pair is refused (MRL_WORLD alone was a silent single process)
$ MRL_WORLD=2 mgrpo --out run -Z /dev/null; echo $?; test -e run || echo none
> 2
> none
2> mgrpo: MRL_WORLD is set but MRL_RANK is not (set both, or neither)
2> Try 'mgrpo --help'.

## a local rank past the world is refused (it chose a GPU no rank of the node has)
$ MRL_RANK=0 MRL_WORLD=2 MRL_LOCAL_RANK=2 mgrpo --out run -Z /dev/null
? 2
2> mgrpo: MRL_LOCAL_RANK=2 is not below MRL_WORLD=2
2> Try 'mgrpo --help'.
