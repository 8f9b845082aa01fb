#!/usr/bin/env bash
# `make test-cluster`: the digits workflow through a real single-node SLURM (slurm-up.sh), with
# `--profile profiles/slurm` and the torch and jax jobs GPU-tagged (gpu_jobs). Checks that
#   - every output of the workflow exists and Snakemake has nothing left to do;
#   - a training job SLURM kills while it runs (scancel) is reported with its log and submitted
#     again, and the run completes;
#   - every other non-local job ran as a COMPLETED SLURM job;
#   - the GPU-tagged jobs got a GPU: CUDA_VISIBLE_DEVICES set inside the job step, a GPU in
#     `scontrol show job` (TresPerJob/TresPerNode) and the gpu partition; all others none;
#   - training and evaluation give the same numbers as a local run of the same config.
# The cluster is torn down on exit, failure included. Needs root and apt (Debian packages).
# Env: SNAKEMAKE (default .venv/bin/snakemake), CLUSTER_WORKDIR (/tmp/mlpcompare-cluster),
#      CLUSTER_TIMEOUT (seconds per Snakemake run, 420), SLURM_STATE_DIR (for slurm-up/down.sh).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$REPO/tests/cluster"
SNAKEMAKE="${SNAKEMAKE:-$REPO/.venv/bin/snakemake}"
SNAKEMAKE="$(cd "$(dirname "$SNAKEMAKE")" && pwd)/$(basename "$SNAKEMAKE")" # jobs run elsewhere
PYTHON="$(dirname "$SNAKEMAKE")/python"
WORK="${CLUSTER_WORKDIR:-/tmp/mlpcompare-cluster}"
TIMEOUT="${CLUSTER_TIMEOUT:-600}"
export SLURM_STATE_DIR="${SLURM_STATE_DIR:-/tmp/mlpcompare-slurm}"
T0=$SECONDS
say() { echo "test-cluster: [$((SECONDS - T0)) s] $*"; }
fail() {
  echo "test-cluster: FAIL: $*" >&2
  exit 1
}

# Small but complete: one seed, every framework, few epochs, short timings. One thread per job,
# so the two cores run two jobs at once.
CONFIG='seeds: [0]
threads: 1
gpu_jobs: [torch, jax]
training: {epochs: 5}
bench: {batch_sizes: [32], full_test_set: false, warmup_calls: 5, min_repeats: 5,
        min_seconds: 0.05, rounds: 1}'
GPU_RULE='^(train|train_idiomatic|evaluate)_(torch|jax)$' # the rules gpu_jobs: [torch, jax] tags
FRAMEWORK_RULE='^(train|train_idiomatic|evaluate)_'       # threads: 1 -> --cpus-per-task=1

copy_repo() { # DEST: the working tree as git sees it (tracked and untracked, not ignored)
  rm -rf "$1" && mkdir -p "$1"
  git -C "$REPO" ls-files -z -co --exclude-standard \
    | while IFS= read -r -d '' f; do if [[ -e $REPO/$f ]]; then printf '%s\0' "$f"; fi; done \
    | (cd "$REPO" && xargs -0 cp --parents -t "$1")
  printf '%s\n' "$CONFIG" >"$1/cluster-test.yaml"
}

# 1. the cluster, and its teardown whatever happens next: failure, Ctrl-C or kill. Snakemake runs
#    in the background, as bash defers traps while a foreground command runs (and timeout puts
#    it in a process group of its own, out of reach of Ctrl-C): the trap hands the interrupt on
#    (timeout kills Snakemake 10 s later if it has not ended), then slurm-down.sh cancels what
#    is left and stops the cluster.
child=
stop() {
  if [[ -n $child ]]; then
    kill -INT "$child" 2>/dev/null || true
    wait "$child" || true
  fi
  exit 130
}
trap 'bash "$HERE/slurm-down.sh"' EXIT
trap stop INT TERM
in_background() { # LOG CMD...: CMD with its output to LOG; its exit status
  "${@:2}" >"$1" 2>&1 &
  child=$!
  local rc=0
  wait "$child" || rc=$?
  child=
  return "$rc"
}
bash "$HERE/slurm-up.sh"
say "cluster up"

# 2. the workflow through SLURM, in a scratch copy. SLURM kills the first training job it runs
#    (scancel, as an operator, a preemption or a time limit would: the plugin treats CANCELLED
#    and TIMEOUT alike): Snakemake reports it with the job's SLURM log, the profile's
#    restart-times submits it again, and the run completes.
copy_repo "$WORK/slurm"
cd "$WORK/slurm"
timeout -k 10 "$TIMEOUT" "$SNAKEMAKE" --profile profiles/slurm --workflow-profile none \
  --configfile cluster-test.yaml >snakemake.log 2>&1 &
child=$!
killed=
while [[ -z $killed ]] && kill -0 "$child" 2>/dev/null; do
  killed="$(squeue -h -t RUNNING -o '%i|%k' | grep -m1 '|rule_train_' | cut -d'|' -f1 || true)"
  [[ -n $killed ]] || sleep 0.5
done
if [[ -n $killed ]]; then scancel "$killed" && say "scancel $killed (a training job, running)"; fi
rc=0
wait "$child" || rc=$?
child=
((rc == 0)) || {
  tail -n 60 snakemake.log
  fail "snakemake through SLURM exited $rc (log: $PWD/snakemake.log)"
}
[[ -n $killed ]] || fail "no training job was seen running, so none was killed"
grep -q "SLURM-job '$killed' failed, SLURM status is: 'CANCELLED'" snakemake.log \
  || fail "the killed job $killed is not reported in snakemake.log"
grep -Eq "slurm_logs/.*/$killed\.log" snakemake.log \
  || fail "the report of the killed job $killed does not name its SLURM log"
say "workflow done through SLURM, the killed job $killed reported with its log and rerun"

# 3. every output exists, is not empty and is up to date
again() { # the workflow as the SLURM run saw it, asked again locally
  timeout -k 10 120 "$SNAKEMAKE" --workflow-profile none --configfile cluster-test.yaml "$@"
}
again --summary 2>/dev/null >summary-full.tsv
tail -n +2 summary-full.tsv | cut -f1,5 >summary.tsv # output file, status
[[ -s summary.tsv ]] || fail "snakemake --summary listed no outputs"
while IFS=$'\t' read -r file status; do
  [[ -s $file ]] || fail "$file: missing or empty"
  [[ $status == ok ]] || fail "$file: $status"
done <summary.tsv
again -n >dry-run.log 2>&1
grep -q "Nothing to be done" dry-run.log || fail "a second run would still have jobs to do"
say "$(wc -l <summary.tsv) outputs present and up to date"

# 4. the SLURM side: one COMPLETED job per non-local job, GPUs where asked for and only there
run_id="$(grep -m1 -o 'SLURM run ID: [-0-9a-f]*' snakemake.log || true)"
run_id="${run_id##* }"
[[ -n $run_id ]] || fail "no SLURM run ID in snakemake.log"
squeue -h -t all --name "$run_id" -o '%i|%k|%T' >jobs.txt
seen_gpu=0
while IFS='|' read -r id comment state; do
  rule="${comment#rule_}"
  rule="${rule%%_wildcards_*}"
  info="$(scontrol show job "$id")"
  partition="$(grep -o 'Partition=[^ ]*' <<<"$info")"
  cpus="$(grep -o 'CPUs/Task=[^ ]*' <<<"$info")"
  tres="$(grep -Eo 'TresPer(Job|Node)=[^ ]*gpu[^ ]*' <<<"$info" || true)"
  # the task prolog's line from the job step that ran the rule (step 0, started by srun)
  env_line="$(grep -rh "task-env: SLURM_JOB_ID=$id SLURM_STEP_ID=0 " .snakemake/slurm_logs || true)"
  gpus="$(sed -n 's/.*CUDA_VISIBLE_DEVICES=//p' <<<"$env_line")"
  echo "job $id $rule $state $partition $cpus ${tres:-no-gpu-tres} CUDA_VISIBLE_DEVICES=${gpus:-?}"
  if [[ $id == "$killed" ]]; then # step 2's: its rerun is another job, checked as the others
    [[ $state == CANCELLED ]] || fail "job $id ($rule), killed, is $state"
    continue
  fi
  [[ $state == COMPLETED ]] || fail "job $id ($rule) is $state"
  [[ ! $rule =~ $FRAMEWORK_RULE || $cpus == CPUs/Task=1 ]] || fail "job $id ($rule): $cpus"
  [[ -n $env_line ]] || fail "job $id ($rule): no task-env line in its SLURM log"
  if [[ $rule =~ $GPU_RULE ]]; then
    [[ $gpus =~ ^[0-9]+$ ]] || fail "job $id ($rule): CUDA_VISIBLE_DEVICES not set in the job"
    [[ -n $tres ]] || fail "job $id ($rule): SLURM did not record a GPU request"
    [[ $partition == Partition=gpu ]] || fail "job $id ($rule): $partition, not gpu"
    seen_gpu=$((seen_gpu + 1))
  else
    [[ $gpus == "<unset>" ]] || fail "job $id ($rule): got GPU $gpus"
    [[ -z $tres ]] || fail "job $id ($rule): GPU request $tres"
    [[ $partition == Partition=cpu ]] || fail "job $id ($rule): $partition, not cpu"
  fi
done <jobs.txt
# every framework of the registry trained on the cluster
mapfile -t names < <(cd "$REPO/src" && "$PYTHON" -c 'from mlpcompare import frameworks; print(*frameworks.NAMES, sep="\n")')
for name in "${names[@]}"; do
  grep -q "|rule_train_${name}_wildcards_" jobs.txt || fail "no SLURM job ran train_$name"
done
((seen_gpu > 0)) || fail "no GPU-tagged job ran"
say "$(wc -l <jobs.txt) SLURM jobs checked, $seen_gpu with a GPU"

# 5. the same training and evaluation locally: the numbers must not depend on where jobs ran.
#    NumPy (a CPU job) and PyTorch (a GPU-tagged one) stand for both kinds of job: all four
#    frameworks took CI 2 more minutes, for the same check.
copy_repo "$WORK/local"
cd "$WORK/local"
mapfile -t targets < <(cut -f1 "$WORK/slurm/summary.tsv" \
  | grep -E '/(numpy|torch)/(idiomatic/)?seed[0-9]+/(train|metrics)\.json$')
((${#targets[@]} >= 4)) || fail "no NumPy and PyTorch train.json/metrics.json among the outputs"
# (targets first: --configfile would take them as more config files)
in_background snakemake.log timeout -k 10 "$TIMEOUT" "$SNAKEMAKE" "${targets[@]}" --cores 2 \
  --configfile cluster-test.yaml || {
  rc=$?
  tail -n 60 snakemake.log
  fail "local snakemake exited $rc (log: $PWD/snakemake.log)"
}
"$PYTHON" "$HERE/same_results.py" "$WORK/slurm" "$WORK/local" "${targets[@]}" \
  || fail "SLURM and local results differ"
say "OK"
