"""Benchmark: per-sentence rank correlations at the size of GECO.

Times, on a seeded random input with GECO's shape (no file is read): 5,000 sentences of
about 11 words (~54k words, lengths drawn from a gamma distribution, 1 to 80 words),
14 readers plus their group mean, and a model of 30 layers x 9 heads:

1. ``statistics.sentence_correlation`` (Spearman), every reader and the group mean
   against every layer and head, against a per-sentence scipy loop that makes one
   ``scipy.stats.spearmanr`` call per sentence on the stacked readers and units (one call
   yields the whole reader x unit block; about 0.14 s a call here, so the loop is timed on
   ``--loop-sentences`` sentences and scaled to the corpus), with the ratio and the largest
   difference on those sentences;
2. the same for Kendall's tau-b, the loop (``scipy.stats.kendalltau`` per reader and
   unit) timed on ``--kendall-loop-sentences`` sentences and scaled to the corpus;
3. ``statistics.permutation_baseline`` with ``--permutations`` shuffles.

Usage:
    python benchmarks/bench_relative_importance.py [--sentences 5000] [--permutations 1000]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

from readalike.relative_importance import statistics as st  # noqa: E402


def geco_like(rng, n_sentences: int, n_readers: int, layers: int, heads: int):
    lengths = np.clip(np.rint(rng.gamma(2.0, 5.4, n_sentences)), 1, 80).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    n_words = int(offsets[-1])
    human = rng.random((n_readers, n_words))
    skipped = rng.random((n_readers, n_sentences)) < 0.05  # sentences a reader did not read
    human[np.repeat(skipped, lengths, axis=1)] = np.nan
    model = rng.random((layers, heads, n_words))
    return human, model, offsets, lengths


def loop_spearman(rows, model, offsets, sentences):
    """One spearmanr per sentence on the stacked rows and units: (rows, S, units)."""
    n_rows = rows.shape[0]
    units = model.reshape(-1, model.shape[-1])
    out = np.full((n_rows, len(sentences), units.shape[0]), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k, s in enumerate(sentences):
            lo, hi = offsets[s], offsets[s + 1]
            if hi - lo < st.MIN_WORDS:
                continue
            h = rows[:, lo:hi]
            read = np.isfinite(h).all(axis=1)
            if not read.any():
                continue
            rho = stats.spearmanr(np.vstack([h[read], units[:, lo:hi]]), axis=1)[0]
            out[read, k] = np.atleast_2d(rho)[: read.sum(), read.sum() :]
    return out


def loop_kendall(rows, model, offsets, sentences):
    units = model.reshape(-1, model.shape[-1])
    out = np.full((rows.shape[0], len(sentences), units.shape[0]), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k, s in enumerate(sentences):
            lo, hi = offsets[s], offsets[s + 1]
            if hi - lo < st.MIN_WORDS:
                continue
            for r in range(rows.shape[0]):
                if np.isfinite(rows[r, lo:hi]).all():
                    for u in range(units.shape[0]):
                        out[r, k, u] = stats.kendalltau(rows[r, lo:hi], units[u, lo:hi])[0]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sentences", type=int, default=5000)
    parser.add_argument("--readers", type=int, default=14)
    parser.add_argument("--layers", type=int, default=30)
    parser.add_argument("--heads", type=int, default=9)
    parser.add_argument("--permutations", type=int, default=1000)
    parser.add_argument("--loop-sentences", type=int, default=500)
    parser.add_argument("--kendall-loop-sentences", type=int, default=20)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    human, model, offsets, lengths = geco_like(
        rng, args.sentences, args.readers, args.layers, args.heads
    )
    rows = np.vstack([human, st.group_mean(human, offsets)[None, :]])
    n_units = args.layers * args.heads
    print(
        f"input: {args.sentences} sentences, {offsets[-1]} words (mean {lengths.mean():.1f}, "
        f"max {lengths.max()}), {args.readers} readers + group mean, "
        f"{args.layers} x {args.heads} = {n_units} units"
    )

    start = time.perf_counter()
    fast = st.sentence_correlation(rows, model, offsets, "spearman")
    t_fast = time.perf_counter() - start
    subset = np.arange(min(args.loop_sentences, args.sentences))
    start = time.perf_counter()
    slow = loop_spearman(rows, model, offsets, subset)
    t_slow = (time.perf_counter() - start) * args.sentences / subset.size
    fast_subset = fast.values[:, subset].reshape(slow.shape)
    diff = np.nanmax(np.abs(fast_subset - slow))
    same_nan = np.array_equal(np.isnan(fast_subset), np.isnan(slow))
    print(
        f"spearman: vectorised {t_fast:.2f} s, scipy loop (one spearmanr per sentence) "
        f"~{t_slow:.0f} s scaled from {subset.size} sentences, ratio ~{t_slow / t_fast:.0f}x; "
        f"max |diff| on those {diff:.1e}, same NaN: {same_nan}"
    )

    start = time.perf_counter()
    fast_k = st.sentence_correlation(rows, model, offsets, "kendall")
    t_fast_k = time.perf_counter() - start
    subset = np.arange(args.kendall_loop_sentences)
    start = time.perf_counter()
    slow_k = loop_kendall(rows, model, offsets, subset)
    t_slow_k = (time.perf_counter() - start) * args.sentences / subset.size
    diff_k = np.nanmax(np.abs(fast_k.values[:, subset].reshape(slow_k.shape) - slow_k))
    print(
        f"kendall: vectorised {t_fast_k:.2f} s, scipy loop (one kendalltau per reader, "
        f"unit and sentence) ~{t_slow_k:.0f} s scaled from {subset.size} sentences, "
        f"ratio ~{t_slow_k / t_fast_k:.0f}x; max |diff| on those {diff_k:.1e}"
    )

    start = time.perf_counter()
    perm = st.permutation_baseline(rows[-1], model, offsets, args.permutations, seed=0)
    t_perm = time.perf_counter() - start
    print(
        f"permutation baseline: {args.permutations} shuffles x {n_units} units in "
        f"{t_perm:.2f} s (median p {np.median(perm.p):.2f} on random data)"
    )


if __name__ == "__main__":
    main()
