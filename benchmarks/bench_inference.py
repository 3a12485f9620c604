"""Benchmark: the statistics across readers, at the size of the released data.

Times, on synthetic inputs with the shapes of the release (seeded; no file is read):

1. ``inference.l2_vs_l1_tests`` for 4 measures: ~50 readers (24 L1, 26 L2) x 60 layers,
   Welch, Student and 10,000 label permutations each;
2. the same permutation test as a straightforward loop (one label permutation and two
   means at a time, per layer), on ``--loop-measures`` measures, against the vectorised
   function on the same columns: both times, their ratio, and the largest p difference in
   units of its Monte Carlo standard error (different random draws, same test);
3. ``noise_ceiling.noise_ceiling_table`` for 2 groups x 4 measures (readers x pairs with
   missing sentences, 1,000 bootstrap draws, 1,000 splits);
4. ``inference.bootstrap_r2_interval``: 1,000 draws over 148 sentences in 8 articles x 60
   layers x 52 heads, 8 targets (2 groups x 4 measures), with a check of a few draws
   against one ``numpy.linalg.lstsq`` fit per draw and layer.

Target: the statistics in well under 30 s on 2 cores.

Usage:
    python benchmarks/bench_inference.py [--permutations 10000] [--draws 1000] [--loop-measures 1]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

from readalike.study_a import inference, noise_ceiling  # noqa: E402

MEASURES = ["num", "dur", "fmri_a", "fmri_b"]


def loop_permutation_p(a: np.ndarray, b: np.ndarray, n_permutations: int, seed: int) -> np.ndarray:
    """One-sided permutation p per column, the straightforward way."""
    rng = np.random.default_rng(seed)
    p = np.empty(a.shape[1])
    for j in range(a.shape[1]):
        values = np.concatenate([a[:, j], b[:, j]])
        observed = a[:, j].mean() - b[:, j].mean()
        hits = 0
        for _ in range(n_permutations):
            shuffled = rng.permutation(values)
            hits += shuffled[: a.shape[0]].mean() - shuffled[a.shape[0] :].mean() >= observed
        p[j] = (1 + hits) / (1 + n_permutations)
    return p


def per_reader_r2(rng, n_readers: int, n_layers: int, shift: float) -> np.ndarray:
    r2 = np.clip(rng.normal(0.2 + shift, 0.05, (n_readers, n_layers)), 0, 1)
    r2[rng.random(r2.shape) < 0.01] = np.nan  # a few readers without a value at a layer
    return r2


def corpus(rng, n_sentences: int = 148, n_articles: int = 8):
    lengths = rng.integers(5, 18, n_sentences)
    sentence = np.repeat(np.arange(n_sentences), lengths * (lengths + 1) // 2)
    article = np.arange(n_sentences) * n_articles // n_sentences
    return sentence, article


def lstsq_r2(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """R^2 of OLS with intercept of every column of y (n, T) on x (n, K): (T,)."""
    design = np.column_stack([np.ones(len(y)), x])
    beta = np.linalg.lstsq(design, y, rcond=None)[0]
    residual = y - design @ beta
    return 1 - (residual**2).sum(axis=0) / ((y - y.mean(axis=0)) ** 2).sum(axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--permutations", type=int, default=10_000)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--layers", type=int, default=60)
    parser.add_argument("--heads", type=int, default=52)
    parser.add_argument("--loop-measures", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n_layers = args.layers
    layers = np.arange(n_layers)
    l1 = {m: per_reader_r2(rng, 24, n_layers, 0.0) for m in MEASURES}
    l2 = {m: per_reader_r2(rng, 26, n_layers, 0.02) for m in MEASURES}

    start = time.perf_counter()
    tables = [
        inference.l2_vs_l1_tests(
            l2[m], l1[m], layers, model="m", measure=m, n_permutations=args.permutations
        )
        for m in MEASURES
    ]
    t_tests = time.perf_counter() - start
    print(
        f"tests L2 > L1 (4 measures x {n_layers} layers, {args.permutations} permutations): "
        f"{t_tests:.2f} s, {sum(map(len, tables))} rows"
    )

    loop_measures = MEASURES[: args.loop_measures]
    start = time.perf_counter()
    vec = [
        inference.permutation_test_mean_difference(
            np.nan_to_num(l2[m], nan=0.2), np.nan_to_num(l1[m], nan=0.2), args.permutations
        ).p
        for m in loop_measures
    ]
    t_vec = time.perf_counter() - start
    start = time.perf_counter()
    loop = [
        loop_permutation_p(
            np.nan_to_num(l2[m], nan=0.2), np.nan_to_num(l1[m], nan=0.2), args.permutations, 0
        )
        for m in loop_measures
    ]
    t_loop = time.perf_counter() - start
    vec, loop = np.concatenate(vec), np.concatenate(loop)
    se = np.sqrt(2 * np.maximum(vec * (1 - vec), 1 / args.permutations) / args.permutations)
    print(
        f"permutation test, {len(loop_measures)} measure(s) x {n_layers} layers: "
        f"vectorised {t_vec:.3f} s, loop {t_loop:.2f} s, ratio {t_loop / t_vec:.0f}x; "
        f"largest p difference {np.max(np.abs(vec - loop) / se):.1f} Monte Carlo SE"
    )

    sentence, article = corpus(rng)
    n_pairs = sentence.size
    signal = rng.random(n_pairs)
    start = time.perf_counter()
    for group, n_readers in (("L1", 24), ("L2", 26)):
        for measure in MEASURES:
            y = signal + rng.normal(0, 0.5, (n_readers, n_pairs))
            gaps = rng.random((n_readers, sentence.max() + 1)) < 0.05  # unread sentences
            y[gaps[:, sentence]] = np.nan
            noise_ceiling.noise_ceiling_table(y, group, measure)
    t_ceiling = time.perf_counter() - start
    print(f"noise ceilings (2 groups x 4 measures, {n_pairs} pairs): {t_ceiling:.2f} s")

    x = rng.random((n_layers, n_pairs, args.heads)).astype(np.float32)
    y = x[:, :, :3].mean(axis=(0, 2)) + rng.normal(0, 0.3, (8, n_pairs))
    start = time.perf_counter()
    boot = inference.bootstrap_r2_interval(x, y, sentence, article, n_draws=args.draws)
    t_boot = time.perf_counter() - start
    print(
        f"bootstrap ({args.draws} draws, {sentence.max() + 1} sentences, {n_layers} layers x "
        f"{args.heads} heads, 8 targets): {t_boot:.2f} s"
    )
    # reference: one numpy lstsq per draw and layer (all 8 targets as columns of one solve)
    counts = inference.sentence_counts(article, args.draws)
    start = time.perf_counter()
    worst = 0.0
    checked = [(d, layer) for d in range(3) for layer in (0, n_layers // 2, n_layers - 1)]
    for d, layer in checked:
        rows = np.concatenate(
            [
                np.flatnonzero(sentence == s)
                for s in np.repeat(np.arange(counts.shape[1]), counts[d])
            ]
        )
        ref = lstsq_r2(x[layer, rows].astype(np.float64), y[:, rows].T)
        worst = max(worst, np.abs(ref - boot.draws[d, layer]).max())
    t_one = (time.perf_counter() - start) / len(checked)
    t_loop = t_one * args.draws * n_layers
    print(
        f"  reference, lstsq per draw and layer: {t_one * 1e3:.0f} ms each, "
        f"{t_loop:.0f} s for all (extrapolated from {len(checked)}), ratio {t_loop / t_boot:.0f}x; "
        f"largest R^2 difference: {worst:.1e}"
    )
    total = t_tests + t_ceiling + t_boot
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load = os.getloadavg()[0]
    print(
        f"statistics in all: {total:.1f} s (target < 30 s); peak RSS {peak:.0f} MB; "
        f"load average {load:.1f} on {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
