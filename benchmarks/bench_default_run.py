"""Benchmark: the default workflow from a clean results/, with the time of every rule.

Runs ``snakemake --cores N`` on ``config/config.yaml`` (or ``--configfile``) in a fresh copy
of the workflow, prints the wall time against the target (90 s on 2 cores) and
their ratio, and per rule the jobs, the summed job time (start to finish from Snakemake's
log, one-second resolution) and its share: where a user's wait goes.

Usage:
    python benchmarks/bench_default_run.py [--cores 2] [--configfile .test/config/config.yaml]
        [--target 90] [--repeats 3]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")
START = re.compile(r"^(?:local)?rule (\w+):$")
JOBID = re.compile(r"^\s+jobid: (\d+)$")
FINISHED = re.compile(r"^Finished jobid: (\d+) \(Rule: (\w+)\)$")


def job_times(log: str) -> dict[str, list[float]]:
    """Per rule, the seconds from each job's start to its finish in a Snakemake log."""
    started: dict[str, datetime] = {}
    rule_of: dict[str, str] = {}
    out: dict[str, list[float]] = defaultdict(list)
    stamp, rule = None, None
    for line in log.splitlines():
        if m := STAMP.match(line):
            stamp = datetime.strptime(m.group(1), "%a %b %d %H:%M:%S %Y")
        elif m := START.match(line):
            rule = m.group(1)
        elif (m := JOBID.match(line)) and rule is not None:
            started[m.group(1)], rule_of[m.group(1)] = stamp, rule
            rule = None
        elif m := FINISHED.match(line):
            job = m.group(1)
            if job in started:
                out[rule_of[job]].append((stamp - started[job]).total_seconds())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--configfile", default=None)
    parser.add_argument("--target", type=float, default=90.0, help="seconds")
    parser.add_argument("--repeats", type=int, default=1, help="clean runs; the best counts")
    args = parser.parse_args()
    runs = [run_once(args) for _ in range(args.repeats)]
    wall, times = min(runs, key=lambda run: run[0])
    total = sum(sum(v) for v in times.values())
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    print(
        f"default workflow, {args.cores} cores: {wall:.1f} s wall (best of {len(runs)}: "
        f"{', '.join(f'{w:.1f}' for w, _ in runs)}), target {args.target:.0f} s, ratio "
        f"{wall / args.target:.2f} (<= 1 meets it); load average after {load}"
    )
    print(f"rule times of the best run (CPU seconds summed over its jobs: {total:.0f})")
    print(f"{'rule':<26}{'jobs':>5}{'job time s':>12}{'share':>8}")
    for rule, secs in sorted(times.items(), key=lambda kv: -sum(kv[1])):
        print(f"{rule:<26}{len(secs):>5}{sum(secs):>12.0f}{sum(secs) / total:>8.0%}")


def run_once(args: argparse.Namespace) -> tuple[float, dict[str, list[float]]]:
    """One clean run in a fresh copy of the workflow: wall seconds and per-rule job times."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in ("config", "resources", "workflow", ".test"):
            shutil.copytree(ROOT / name, work / name, symlinks=True)
        command = [sys.executable, "-m", "snakemake", "--cores", str(args.cores)]
        if args.configfile:
            command += ["--configfile", args.configfile]
        start = time.perf_counter()
        done = subprocess.run(command, cwd=work, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            sys.exit(f"snakemake failed:\n{done.stderr[-3000:]}")
        return wall, job_times(done.stderr + done.stdout)


if __name__ == "__main__":
    main()
