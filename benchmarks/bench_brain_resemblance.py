"""Benchmark: per-reader fMRI resemblance of GPT-2 large, batched against one fit per reader.

On the released data (``../shared/release/scaling_finetuning``): GPT-2 large's word-level
attention (36 layers x 20 heads, plain) against the per-reader fMRI activation of all five
regions of both reader groups (about 500 reader x region targets), in-sample R^2 of the
heads plus an intercept over the pairs ``j <= i`` of every sentence at the fMRI files'
lengths, an unread one as zeros, as the authors' ``heads_vs_fmri.py`` fits them (the
table's ``authors`` rows).

Both sides start from the project's HDF5 files (converted once, timed apart): the batched
side is :func:`readalike.study_a.tables.reader_resemblance_table` (in-sample, held out by article
and the within-sentence shuffle, i.e. three fits per target); the reference is the
straightforward loop of one ``np.linalg.lstsq`` per reader, region and layer (in-sample
only), timed on every ``--loop-every``-th target and scaled to all (its cost is the same for
every target). R^2 of both are compared on those targets. Peak RSS is the process's.

Usage:
    python benchmarks/bench_brain_resemblance.py [--release ../shared/release/scaling_finetuning]
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

from readalike.core import formats  # noqa: E402
from readalike.core.pairs import pair_index, stack_pairs  # noqa: E402
from readalike.release.fmri import (  # noqa: E402
    FMRI_REGIONS,
    fmri_measure,
    fmri_saccade_set,
    load_release_fmri,
)
from readalike.release.study_a import (  # noqa: E402
    GPT2_LARGE_DIR,
    HUMAN_MEASURES,
    load_release_attention,
    load_release_saccades,
    longest_lengths,
)
from readalike.study_a.tables import (  # noqa: E402
    load_reader_pairs,
    reader_resemblance_table,  # noqa: E402
)

GROUPS = {"L1": "p1", "L2": "p2"}
EXCLUDE = [
    {"group": "L1", "reader": 0},
    {"group": "L1", "reader": 31, "region": "anterior"},
    {"group": "L2", "reader": 41, "region": "middle"},
]


def convert(release: Path, work: Path) -> tuple[dict[str, Path], list[list[int]]]:
    lengths = load_release_saccades(release, "p1", "L1", {"num": HUMAN_MEASURES["num"]}).lengths()
    readers, _ = load_release_fmri(
        release, GROUPS, {g: lengths for g in GROUPS}, exclude_readers=EXCLUDE
    )
    paths, fmri_lengths = {}, {}
    for group in GROUPS:
        paths[group] = work / f"{group}_fmri.h5"
        saccades = fmri_saccade_set(readers[group], lengths, group, "release")
        fmri_lengths[group] = saccades.lengths()
        formats.write_saccades(paths[group], saccades)
    # the attention at the fMRI files' lengths, as the workflow converts it for them
    return paths, longest_lengths(fmri_lengths.values())


def convert_all(release: Path, work: Path) -> dict[str, Path]:
    human, lengths = convert(release, work)
    attention, _ = load_release_attention(
        release, GPT2_LARGE_DIR, "rb_p1", lengths, "gpt2-large", "plain"
    )
    formats.write_attention(work / "gpt2.h5", attention)
    return human


def loop_reference(
    attention_path: Path, human: dict[str, Path], measures: list[str], every: int
) -> tuple[list, np.ndarray]:
    """One lstsq per target and layer, on every ``every``-th target (NaN for the others):
    every sentence of the group at its own lengths, an unread one as zeros."""
    attention = formats.read_attention(attention_path)
    keys, r2 = [], []
    for group, path in human.items():
        lengths = formats.read_saccades(path, measures[:1]).lengths()
        sliced = [
            [m[..., :n, :n] for m, n in zip(article, ns, strict=True)]
            for article, ns in zip(attention.sentences, lengths, strict=True)
        ]
        pairs, index = stack_pairs(sliced, np.float64), pair_index(lengths)
        group_keys, targets, present = load_reader_pairs({group: path}, measures, index, path)
        out = np.full((pairs.shape[0], len(group_keys)), np.nan)
        for t in range(0, len(group_keys), every):  # the reference: one fit per target and layer
            if not present[t].any():
                continue  # a reader excluded from this region: no target
            y = targets[t]
            tss = ((y - y.mean()) ** 2).sum()
            for layer in range(pairs.shape[0]):
                x = np.column_stack([np.ones(y.size), pairs[layer].T])
                beta, *_ = np.linalg.lstsq(x, y, rcond=None)
                out[layer, t] = 1 - ((y - x @ beta) ** 2).sum() / tss
        keys += group_keys
        r2.append(out)
    return keys, np.concatenate(r2, axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--release", type=Path, default=ROOT.parent / "shared/release/scaling_finetuning"
    )
    parser.add_argument("--loop-every", type=int, default=8, help="loop over every k-th target")
    args = parser.parse_args()
    measures = [fmri_measure(r) for r in FMRI_REGIONS]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        start = time.perf_counter()
        # converted in a child process, so that this process's peak memory is the analysis's
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            human = pool.submit(convert_all, args.release, work).result()
        converted = time.perf_counter() - start

        start = time.perf_counter()
        table = reader_resemblance_table(work / "gpt2.h5", human, measures, "gpt2-large")
        fast = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        start = time.perf_counter()
        keys, ref = loop_reference(work / "gpt2.h5", human, measures, args.loop_every)
        timed = time.perf_counter() - start
        looped = int((~np.isnan(ref)).any(axis=0).sum())

    table = table[table["definition"] == "authors"]
    got = table.pivot_table(
        index="layer", columns=["group", "measure", "reader"], values="r2", dropna=False
    )
    got = got.reindex(columns=pd.MultiIndex.from_tuples(keys)).to_numpy()
    both = ~np.isnan(ref)
    n_targets = int(table[["group", "measure", "reader"]].drop_duplicates().shape[0])
    slow = timed * n_targets / looped  # the loop's cost is the same for every target
    print(f"targets: {n_targets} reader x region fits per layer, {ref.shape[0]} layers")
    print(f"conversion (pickles and .npy -> HDF5, once): {converted:.1f} s")
    print(f"batched reader_resemblance_table (in-sample, held out, shuffled): {fast:.2f} s")
    print(
        f"loop of np.linalg.lstsq per reader, region and layer (in-sample only): {slow:.1f} s "
        f"(timed on {looped} of {n_targets} targets, every {args.loop_every}th: {timed:.1f} s, "
        "scaled)"
    )
    print(f"ratio: {slow / fast:.1f}x")
    print(f"max |R2 difference| on the looped targets: {np.abs(got[both] - ref[both]).max():.2e}")
    print(f"peak RSS of the batched analysis (conversion in a child process): {peak:.0f} MiB")


if __name__ == "__main__":
    main()
