"""Benchmark: simulating readers of the demo text (``reading_model.simulate_fixations``).

Times 20 readers of each reading profile (native, non-native) over the demo stimuli, the
size of one demo reader group, and prints the time next to the target (under 2 s on one
core; this was a timed assertion in ``tests/test_reading_model.py``, which promised no
timing) and their ratio. The best of ``--repeats`` runs is reported.

Usage:
    python benchmarks/bench_reading_model.py [--readers 20] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from readalike.core.stimuli import read_stimuli
from readalike.human.reading_model import PROFILES, simulate_fixations

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo" / "stimuli.txt"
TARGET_S = 2.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    stimuli = read_stimuli(DEMO)
    times, n_fixations = [], 0
    for _ in range(args.repeats):
        start = time.perf_counter()
        n_fixations = sum(
            len(simulate_fixations(stimuli, group, PROFILES[group], args.readers, 11, 100 * k))
            for k, group in enumerate(PROFILES)
        )
        times.append(time.perf_counter() - start)
    best = min(times)
    print(
        f"{args.readers} readers x {len(PROFILES)} profiles, {n_fixations} fixations: "
        f"{best:.3f} s (best of {args.repeats}) vs target {TARGET_S:.1f} s: "
        f"{best / TARGET_S:.2f} of the target, {'met' if best < TARGET_S else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
