#!/usr/bin/env bash
# Stop the cluster started by slurm-up.sh: cancel every job, then stop only the daemons whose
# PIDs slurm-up.sh recorded (a system munged it reused is left alone). Safe to call twice.
# Env: SLURM_STATE_DIR (default /tmp/mlpcompare-slurm).
set -euo pipefail
STATE="${SLURM_STATE_DIR:-/tmp/mlpcompare-slurm}"
is() { [[ "$(cat "/proc/$1/stat" 2>/dev/null)" == "$1 ($2) "[!Z]* ]]; } # PID NAME: alive

if [[ -s $STATE/slurmctld.pid ]] && is "$(cat "$STATE/slurmctld.pid")" slurmctld; then
  jobs="$(squeue -h -o %i 2>/dev/null || true)"
  if [[ -n $jobs ]]; then
    # shellcheck disable=SC2086
    scancel $jobs 2>/dev/null || true
    for _ in $(seq 20); do # up to 10 s for the cancelled jobs to end
      [[ -z "$(squeue -h -t PD,R,CG,S -o %i 2>/dev/null)" ]] && break
      sleep 0.5
    done
  fi
fi

for name in slurmd slurmctld munged; do
  f="$STATE/$name.pid"
  pid="$(cat "$f" 2>/dev/null || true)"
  if [[ -n $pid ]] && is "$pid" "$name"; then
    kill -TERM "$pid"
    for _ in $(seq 50); do
      is "$pid" "$name" || break
      sleep 0.2
    done
    if is "$pid" "$name"; then kill -KILL "$pid"; fi
    echo "slurm-down: stopped $name (pid $pid)"
  fi
  rm -f "$f"
done
