#!/usr/bin/env bash
# Slurm in CI: the cluster path, run for real on a single-node Slurm (Debian's slurm-wlm).
#
#  1. install slurm-wlm and munge from Debian (skipped when slurmctld is already there);
#  2. write /etc/slurm/slurm.conf for this machine (CPUs from nproc, memory from free),
#     partitions `cpu` and `gpu`, two fake GPUs in gres.conf (AutoDetect=off; slurmd
#     wants character devices, /dev/null and /dev/zero do), no accounting; a fresh munge
#     key with a private socket. The default path, not SLURM_CONF: the jobstep plugin
#     (0.6.1) drops SLURM_* variables, SLURM_CONF included, before its nested srun, which
#     then finds no config. Both files are removed at the end; an existing slurm.conf not
#     written by this script stops the check;
#  3. start munged, slurmctld and slurmd in the foreground as children of this script,
#     PIDs recorded; a trap stops exactly those PIDs at the end, also on failure;
#  4. run .test/config/slurm.yaml through workflow/profiles/slurm-noacct (timeout -s INT),
#     and the same config locally beside it; both leave out the figure rules (CPU rules
#     like the others, whose PNG/PDF bytes differ between any two runs) to stay in time;
#  5. while it runs: cancel one running extraction job (scancel) and check that its retry
#     finishes; afterwards check from scontrol that the extraction and attribution jobs
#     ran in `gpu` with gres/gpu:1 and saw a CUDA_VISIBLE_DEVICES (their logs), that every
#     other job ran in `cpu` with no GPU, and that every TSV is byte-identical to the local
#     run and every HDF5 file holds the same datasets and attributes.
#
# Needs root (apt, daemons). Environment: SLURM_CHECK_TIMEOUT (s, default 420) bounds each
# Snakemake run (about 5 min on 2 busy cores); SLURM_CHECK_KEEP=1 keeps the work folder.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
CONFIG=.test/config/slurm.yaml
RUN=slurm  # the config's `run`
TIMEOUT=${SLURM_CHECK_TIMEOUT:-420}
START=$SECONDS
say() { printf '[slurm-check %4ds] %s\n' $((SECONDS - START)) "$*"; }
fail() {
    say "FAILED: $*"
    exit 1
}

if [[ -z ${VIRTUAL_ENV:-} && -f .venv/bin/activate ]]; then
    . .venv/bin/activate
fi

if ! command -v slurmctld > /dev/null; then
    say "installing slurm-wlm and munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq slurm-wlm munge > /dev/null
fi

WORK=$(mktemp -d /tmp/slurm_check.XXXXXX)
chmod 700 "$WORK"
PIDS=()
cleanup() {
    local rc=$?
    set +e
    if ((${#PIDS[@]})); then
        # jobs first (slurmstepd outlives slurmd), then the daemons, newest first
        squeue -h -o %i 2> /dev/null | xargs -r scancel 2> /dev/null
        for _ in $(seq 20); do
            [[ -z $(squeue -h -o %i 2> /dev/null) ]] && break
            sleep 0.5
        done
        for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
            kill "${PIDS[i]}" 2> /dev/null
            wait "${PIDS[i]}" 2> /dev/null
        done
    fi
    if [[ -n ${WROTE_ETC:-} ]]; then
        rm -f "$ETC/slurm.conf" "$ETC/gres.conf"
    fi
    if ((rc != 0)); then
        for f in "$WORK"/log/*.log; do
            [[ -f $f ]] && { echo "--- $f (last 30 lines)"; tail -n 30 "$f"; }
        done
    fi
    if [[ ${SLURM_CHECK_KEEP:-0} == 1 || $rc != 0 ]]; then
        echo "slurm check: work folder kept at $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$WORK"/{munge,state,spool,log}
ETC=/etc/slurm
MARK="# written by readalike .ci/slurm_check.sh"
if [[ -f $ETC/slurm.conf ]] && ! grep -qx "$MARK" "$ETC/slurm.conf"; then
    fail "$ETC/slurm.conf exists: this check sets up its own Slurm, run it on a CI machine"
fi
mkdir -p "$ETC"
WROTE_ETC=1

# --- configuration, sized from this machine ---
HOST=$(hostname -s)
NCPU=$(nproc)
MEM_MB=$(free -m | awk '/^Mem:/ {print int($2 * 0.9)}')
# the profile's default request (mem_mb: 8000) must fit the node, or jobs pend for ever
((MEM_MB >= 8000)) || fail "node memory ${MEM_MB} MB is below the profile's 8000 MB default"
cat > "$ETC/gres.conf" << EOF
$MARK
AutoDetect=off
Name=gpu File=/dev/null
Name=gpu File=/dev/zero
EOF
cat > "$ETC/slurm.conf" << EOF
$MARK
ClusterName=ci
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmctldPort=${SLURM_CHECK_PORT:-6817}
SlurmdPort=$((${SLURM_CHECK_PORT:-6817} + 1))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$WORK/munge/munge.socket
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/log/slurmctld.log
SlurmdLogFile=$WORK/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
ReturnToService=2
# finished jobs stay in scontrol for the checks after the run
MinJobAge=3600
KillWait=5
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$NCPU RealMemory=$MEM_MB Gres=gpu:2 State=UNKNOWN
PartitionName=cpu Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$HOST MaxTime=INFINITE State=UP
EOF
say "slurm.conf: node $HOST, $NCPU CPUs, $MEM_MB MB, 2 fake GPUs"

# --- daemons, children of this script ---
mungekey --create --keyfile="$WORK/munge/munge.key" 2> /dev/null ||
    dd if=/dev/urandom of="$WORK/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$WORK/munge/munge.key"
munged --foreground --force --socket="$WORK/munge/munge.socket" \
    --key-file="$WORK/munge/munge.key" --pid-file="$WORK/munge/munged.pid" \
    --seed-file="$WORK/munge/munged.seed" --log-file="$WORK/log/munged.log" \
    2> "$WORK/log/munged.out" &
PIDS+=($!)
for _ in $(seq 50); do [[ -S $WORK/munge/munge.socket ]] && break; sleep 0.1; done
[[ -S $WORK/munge/munge.socket ]] || fail "munged did not start"
slurmctld -D -i > "$WORK/log/slurmctld.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do scontrol ping 2> /dev/null | grep -q UP && break; sleep 0.2; done
scontrol ping | grep -q UP || fail "slurmctld did not answer"
slurmd -D > "$WORK/log/slurmd.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
    [[ $(sinfo -h -p cpu -o %t 2> /dev/null) == idle ]] && break
    sleep 0.2
done
[[ $(sinfo -h -p cpu -o %t) == idle ]] || fail "node not idle: $(sinfo -h -o '%t %E')"
say "munged ${PIDS[0]}, slurmctld ${PIDS[1]}, slurmd ${PIDS[2]}: node idle"

# --- two copies of the checkout: one runs locally, one through Slurm ---
for dir in local cluster; do
    mkdir -p "$WORK/$dir"
    git ls-files -z -c -o --exclude-standard | xargs -0 tar -cf - | tar -xf - -C "$WORK/$dir"
done

say "local run"
# exec: the PID is timeout's, which passes the trap's TERM on to Snakemake
(cd "$WORK/local" && exec timeout -s INT "$TIMEOUT" snakemake --cores 1 --configfile "$CONFIG" \
    --omit-from figure figure_b attribution_heatmap \
    > "$WORK/log/local_snakemake.log" 2>&1) &
LOCAL=$!
PIDS+=("$LOCAL")

# watcher: record every job's rule, partition, GRES and state; cancel one running
# extraction job once
(
    cancelled=
    while :; do
        squeue -h -t all -o '%i|%k|%P|%b|%T' >> "$WORK/log/squeue.txt" 2> /dev/null || true
        if [[ -z $cancelled ]]; then
            job=$(squeue -h -t RUNNING -o '%i %k' | awk '$2 ~ /^rule_extract_attention/ {print $1; exit}')
            if [[ -n $job ]]; then
                scancel "$job" && cancelled=$job && echo "$job" > "$WORK/cancelled"
            fi
        fi
        sleep 0.5
    done
) &
WATCH=$!
PIDS+=("$WATCH")

say "cluster run: workflow/profiles/slurm-noacct"
cluster_rc=0
(cd "$WORK/cluster" && timeout -s INT "$TIMEOUT" snakemake \
    --workflow-profile workflow/profiles/slurm-noacct --configfile "$CONFIG" \
    --slurm-init-seconds-before-status-checks 2 --latency-wait 5 \
    --omit-from figure figure_b attribution_heatmap \
    > "$WORK/log/cluster_snakemake.log" 2>&1) || cluster_rc=$?
kill "$WATCH" && wait "$WATCH" 2> /dev/null || true
unset 'PIDS[-1]'
local_rc=0
wait "$LOCAL" || local_rc=$?
unset 'PIDS[-1]'
((local_rc == 0)) || { tail -n 40 "$WORK/log/local_snakemake.log"; fail "local run (rc $local_rc)"; }
((cluster_rc == 0)) || { tail -n 40 "$WORK/log/cluster_snakemake.log"; fail "cluster run (rc $cluster_rc)"; }
grep -q "100%) done" "$WORK/log/cluster_snakemake.log" || fail "cluster run did not finish every job"
say "both runs finished: $(grep -o '[0-9]* of [0-9]* steps (100%) done' "$WORK/log/cluster_snakemake.log")"

# --- what the scheduler saw (scontrol keeps finished jobs for MinJobAge) ---
scontrol -o show job > "$WORK/log/jobs.txt"
python - "$WORK" "$RUN" << 'EOF'
import re
import sys
from pathlib import Path

work, run = Path(sys.argv[1]), sys.argv[2]
jobs = []
for line in (work / "log" / "jobs.txt").read_text().splitlines():
    fields = dict(re.findall(r"(\w+)=(\S*)", line))
    rule = re.match(r"rule_(.+?)(_wildcards_|$)", fields.get("Comment", ""))
    if rule:
        jobs.append({**fields, "rule": rule.group(1)})
problems = []
cancelled = (work / "cancelled").read_text().split() if (work / "cancelled").exists() else []
if not cancelled:
    problems.append("no extraction job was caught running to cancel")
gpu_rules = {"extract_attention", "attribution"}
for rule in sorted(gpu_rules):
    if not any(j["rule"] == rule and j["JobState"] == "COMPLETED" for j in jobs):
        problems.append(f"no completed {rule} job")
for j in jobs:
    gres = j.get("TresPerJob", "") + j.get("TresPerNode", "")
    if j["rule"] in gpu_rules:
        if j["Partition"] != "gpu" or "gpu:1" not in gres:
            problems.append(f"job {j['JobId']} ({j['rule']}): {j['Partition']}, tres '{gres}'")
    elif j["Partition"] != "cpu" or "gpu" in gres:
        problems.append(f"job {j['JobId']} ({j['rule']}): {j['Partition']}, tres '{gres}'")
for job_id in cancelled:
    job = next((j for j in jobs if j["JobId"] == job_id), None)
    if job is None or job["JobState"] != "CANCELLED":
        problems.append(f"cancelled job {job_id}: {job and job['JobState']}")
        continue
    retried = [
        j for j in jobs
        if j["Comment"] == job["Comment"] and int(j["JobId"]) > int(job_id)
        and j["JobState"] == "COMPLETED"
    ]
    if not retried:
        problems.append(f"cancelled job {job_id} ({job['Comment']}) was not retried to completion")
    else:
        print(f"cancelled job {job_id}, retried as job {retried[0]['JobId']}: COMPLETED")
logs = work / "cluster" / "logs" / run
for pattern in ("extract_attention_*.log", "attribution_*.log"):
    found = [p for p in sorted(logs.glob(pattern)) if "_scores_" not in p.name]
    seen = [p.name for p in found if re.search(r"CUDA_VISIBLE_DEVICES=\d", p.read_text())]
    if not found or len(seen) != len(found):
        problems.append(f"{pattern}: CUDA_VISIBLE_DEVICES in {len(seen)} of {len(found)} logs")
states = {}
for j in jobs:
    states[j["JobState"]] = states.get(j["JobState"], 0) + 1
print(f"{len(jobs)} Slurm jobs: {states}")
if problems:
    sys.exit("slurm check:\n  " + "\n  ".join(problems))
print("GPU rules in gpu with gres/gpu:1 and a CUDA_VISIBLE_DEVICES; the rest in cpu")
EOF

# --- outputs: TSVs byte-identical, HDF5 files the same datasets and attributes ---
python - "$WORK/local/results/$RUN" "$WORK/cluster/results/$RUN" << 'EOF'
import sys
from pathlib import Path

import h5py
import numpy as np

local, cluster = Path(sys.argv[1]), Path(sys.argv[2])
problems = []


def h5_items(path):
    items = {}
    with h5py.File(path, "r") as f:
        items["/"] = dict(f.attrs)
        def visit(name, obj):
            items[name] = (
                (obj[()], dict(obj.attrs)) if isinstance(obj, h5py.Dataset) else dict(obj.attrs)
            )
        f.visititems(visit)
    return items


def same(a, b):
    if isinstance(a, tuple):
        return same(a[0], b[0]) and same(a[1], b[1])
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return np.array_equal(np.asarray(a), np.asarray(b))


counts = {}
for ext in ("tsv", "h5"):
    mine = sorted(p.relative_to(local) for p in local.rglob(f"*.{ext}"))
    theirs = sorted(p.relative_to(cluster) for p in cluster.rglob(f"*.{ext}"))
    if mine != theirs:
        problems.append(f"*.{ext}: local has {len(mine)}, cluster {len(theirs)}")
    for rel in set(mine) & set(theirs):
        if ext == "tsv":
            ok = (local / rel).read_bytes() == (cluster / rel).read_bytes()
        else:
            a, b = h5_items(local / rel), h5_items(cluster / rel)
            ok = a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        if not ok:
            problems.append(f"{rel} differs")
    counts[ext] = len(mine)
if not counts["tsv"] or not counts["h5"]:
    problems.append(f"nothing to compare: {counts}")
if problems:
    sys.exit("slurm check: outputs differ from the local run:\n  " + "\n  ".join(problems))
print(f"{counts['tsv']} TSV files byte-identical, {counts['h5']} HDF5 files equal")
EOF
say "passed"
