#!/usr/bin/env bash
# Bring up a single-node SLURM cluster (munged + slurmctld + slurmd) with two fake GPUs, for
# tests/cluster/run.sh. Needs root and Debian's apt (slurm-wlm, munge); no systemd, cgroups or
# slurmdbd. Idempotent: daemons still running from an earlier call are kept.
# Env: SLURM_STATE_DIR (default /tmp/mlpcompare-slurm), SLURM_UP_TIMEOUT (default 60 s).
set -euo pipefail
STATE="${SLURM_STATE_DIR:-/tmp/mlpcompare-slurm}"
TIMEOUT="${SLURM_UP_TIMEOUT:-60}"
# The clients' compiled-in default: the jobstep plugin deletes SLURM_CONF (with every SLURM_*
# variable) before its inner srun, so the config cannot live anywhere else.
CONF=/etc/slurm/slurm.conf
HOST="$(hostname -s)" # slurmd finds its node entry by the short host name
T0=$(date +%s%N)
die() { echo "slurm-up: ERROR: $*" >&2; exit 1; }
running() { # NAME: the PID recorded for NAME is alive, not a zombie, and is NAME
  local p
  p="$(cat "$STATE/$1.pid" 2>/dev/null)" || return 1
  [[ "$(cat "/proc/$p/stat" 2>/dev/null)" == "$p ($1) "[!Z]* ]]
}
start() { # NAME CMD...: a daemon in foreground mode, detached by setsid, so its PID is the daemon's
  local name=$1
  shift
  running "$name" && return 0
  setsid "$@" </dev/null >"$STATE/log/$name.log" 2>&1 &
  echo $! >"$STATE/$name.pid"
}
munge_ok() { munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; }

# 1. packages (apt-get update only when the install fails without it)
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
  || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  inst=(timeout 300 apt-get install -y -q --no-install-recommends slurm-wlm munge)
  "${inst[@]}" >/dev/null 2>&1 \
    || { timeout 300 apt-get update -q >/dev/null && "${inst[@]}" >/dev/null; } \
    || die "apt-get could not install slurm-wlm munge"
fi

# 2. state dirs and two fake GPU device files (char major 195 = NVIDIA): SLURM schedules them and
#    sets CUDA_VISIBLE_DEVICES, but there is no CUDA behind them.
mkdir -p "$STATE"/{ctld,spool,log,run,dev} /etc/slurm
for i in 0 1; do
  [[ -c $STATE/dev/nvidia$i ]] || mknod -m 666 "$STATE/dev/nvidia$i" c 195 "$i"
done

# 3. Evidence for run.sh: every task (batch script and the srun step that runs the rule) prints
#    its job, step and GPU variables into the job's log before it starts.
cat >"$STATE/task-prolog.sh" <<'PROLOG'
#!/bin/sh
echo "print task-env: SLURM_JOB_ID=${SLURM_JOB_ID:-} SLURM_STEP_ID=${SLURM_STEP_ID:-} CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES-<unset>}"
PROLOG
chmod 755 "$STATE/task-prolog.sh"

# 4. config, rewritten only while slurmctld is down. Two partitions on the one node, as on a
#    site with CPU and GPU partitions: cpu (default) and gpu.
if ! running slurmctld; then
  # e.g. "CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=24105"
  hw="$(slurmd -C | head -1 | sed 's/^NodeName=[^ ]* //')"
  # DefMemPerCPU: a job without --mem would otherwise take the whole node. MinJobAge: finished
  # jobs stay visible to squeue (the status command without slurmdbd) for 10 minutes.
  cat >"$CONF" <<CONF
# Single-node test cluster, written by mlpcompare tests/cluster/slurm-up.sh
ClusterName=mlpcompare
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/run/slurmctld.pidfile
SlurmdPidFile=$STATE/run/slurmd.pidfile
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1024
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
TaskProlog=$STATE/task-prolog.sh
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
MinJobAge=600
ReturnToService=2
GresTypes=gpu
NodeName=$HOST NodeAddr=127.0.0.1 $hw Gres=gpu:2 State=UNKNOWN
PartitionName=cpu Nodes=ALL Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=ALL MaxTime=INFINITE State=UP
CONF
  echo "NodeName=$HOST Name=gpu File=$STATE/dev/nvidia[0-1]" >/etc/slurm/gres.conf
fi

# 5. munge: reuse a working munged (ours or the system's), else start one
if ! munge_ok; then
  [[ -s /etc/munge/munge.key ]] || mungekey --create --keyfile /etc/munge/munge.key
  chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
  install -d -o munge -g munge -m 0755 /run/munge
  start munged setpriv --reuid munge --regid munge --init-groups munged --foreground
  for _ in $(seq 50); do
    munge_ok && break
    sleep 0.2
  done
  munge_ok || die "munged not working; see $STATE/log/munged.log"
fi

# 6. SLURM daemons in the foreground (-D) so the recorded PID is theirs; -c: no jobs from before
start slurmctld slurmctld -D -c -f "$CONF"
start slurmd slurmd -D -f "$CONF"

# 7. wait until the node takes jobs
deadline=$(($(date +%s) + TIMEOUT))
while :; do
  # one line per partition the node is in; the state is the node's
  st="$(timeout 10 sinfo -h -N -n "$HOST" -o %T 2>/dev/null | sort -u || true)"
  [[ $st =~ ^(idle|mixed|allocated|completing)$ ]] && break
  for d in slurmctld slurmd; do running "$d" || die "$d exited; see $STATE/log/$d.log"; done
  if [[ $st =~ ^(drain|inval) ]] || (($(date +%s) >= deadline)); then
    die "node $HOST is '${st:-not known}' ($(sinfo -h -N -n "$HOST" -o %E 2>/dev/null | sort -u || true)); see $STATE/log/"
  fi
  sleep 0.5
done
sinfo -N -o '%N %P %T %c %m %G'
echo "slurm-up: ready in $((($(date +%s%N) - T0) / 1000000)) ms (state: $STATE)"
