"""Benchmark: per-reader resemblance, batched against one least-squares fit per reader.

A synthetic problem of the release's size (``scaling_finetuning``'s Reading Brain stimuli
and LLaMA-30B): 148 sentences of 6-16 words in 5 articles (31, 31, 28, 28, 30 sentences),
52 readers who each miss about 10 % of the sentences, and 60 layers x 52 heads of causal
attention (float16, rows summing to 1). Every reader is a target of
:func:`readalike.study_a.resemblance.reader_r2`, in-sample and held out by article, one block of
layers at a time as :func:`readalike.study_a.tables.reader_resemblance_table` runs it.

The reference is the straightforward loop: per reader and layer one ``np.linalg.lstsq`` on
the reader's pairs (in-sample) and one per article left out (held out). It is timed on
``--loop-layers`` layers (default 1) and scaled to all layers (the cost is the same for
every layer); the printout says so. Both sides' R^2 are compared on those layers.

Usage:
    python benchmarks/bench_reader_resemblance.py [--layers 60] [--heads 52] [--readers 52]
        [--loop-layers 3] [--block 8] [--measures 1]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

from readalike.core.pairs import layer_blocks, pair_index  # noqa: E402
from readalike.study_a.resemblance import reader_r2  # noqa: E402

SENTENCES_PER_ARTICLE = (31, 31, 28, 28, 30)


def problem(args: argparse.Namespace):
    rng = np.random.default_rng(0)
    lengths = [[int(n) for n in rng.integers(6, 17, size=k)] for k in SENTENCES_PER_ARTICLE]
    index = pair_index(lengths)
    # Causal attention rows that sum to 1, drawn per pair; float16 on "disk" as in the files.
    raw = rng.random((args.layers, args.heads, index.n_pairs), dtype=np.float32) + 0.05
    row_of_pair = np.repeat(
        np.arange(index.row_start.size), np.diff(np.r_[index.row_start, index.n_pairs])
    )
    sums = np.add.reduceat(raw, index.row_start, axis=-1)
    pairs = (raw / sums[..., row_of_pair]).astype(np.float16)
    n_sentences = sum(SENTENCES_PER_ARTICLE)
    n_targets = args.readers * args.measures
    present = rng.random((args.readers, n_sentences)) >= 0.10
    present = np.tile(present, (args.measures, 1))  # a reader's measures share the mask
    signal = pairs[0, : args.heads // 4].astype(np.float64).sum(axis=0)
    targets = rng.gamma(0.5, 1.0, size=(n_targets, index.n_pairs)) + signal
    return pairs, targets, present, index


def batched(pairs, targets, present, index, block):
    r2, out = [], []
    for b in layer_blocks(pairs.shape[0], block):
        block_r2, block_out, _ = reader_r2(pairs[b], targets, present, index)
        r2.append(block_r2)
        out.append(block_out)
    return np.concatenate(r2), np.concatenate(out)


def loop(pairs, targets, present, index, layers):
    r2 = np.full((layers, targets.shape[0]), np.nan)
    out = np.full_like(r2, np.nan)
    for t in range(targets.shape[0]):
        keep = present[t][index.sentence]
        y, articles = targets[t, keep], index.article[keep]
        sst = ((y - y.mean()) ** 2).sum()
        for layer in range(layers):
            x = np.c_[np.ones(keep.sum()), pairs[layer][:, keep].T.astype(np.float64)]
            beta = np.linalg.lstsq(x, y, rcond=None)[0]
            r2[layer, t] = 1 - ((y - x @ beta) ** 2).sum() / sst
            sse = 0.0
            for a in np.unique(articles):
                test = articles == a
                beta_a = np.linalg.lstsq(x[~test], y[~test], rcond=None)[0]
                sse += ((y[test] - x[test] @ beta_a) ** 2).sum()
            out[layer, t] = 1 - sse / sst
    return r2, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--layers", type=int, default=60)
    parser.add_argument("--heads", type=int, default=52)
    parser.add_argument("--readers", type=int, default=52)
    parser.add_argument("--measures", type=int, default=1)
    parser.add_argument("--loop-layers", type=int, default=1)
    parser.add_argument("--block", type=int, default=8)
    args = parser.parse_args()

    pairs, targets, present, index = problem(args)
    print(
        f"problem: {index.n_pairs} pairs in {present.shape[1]} sentences, {args.readers} readers "
        f"x {args.measures} measure(s), {present.mean():.1%} of reader-sentences present, "
        f"{args.layers} layers x {args.heads} heads"
    )
    start = time.perf_counter()
    r2, r2_out = batched(pairs, targets, present, index, args.block)
    t_batched = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"batched: {t_batched:.2f} s for all {args.layers} layers (peak RSS {peak:.0f} MiB)")

    n = min(args.loop_layers, args.layers)
    start = time.perf_counter()
    ref, ref_out = loop(pairs, targets, present, index, n)
    t_part = time.perf_counter() - start
    t_loop = t_part * args.layers / n
    print(
        f"loop:    {t_part:.2f} s for {n} layers, scaled to {args.layers} layers: {t_loop:.1f} s "
        f"(lstsq per reader and layer, and per article left out)"
    )
    print(f"ratio:   {t_loop / t_batched:.1f}x")
    diff = max(np.nanmax(np.abs(r2[:n] - ref)), np.nanmax(np.abs(r2_out[:n] - ref_out)))
    same_nan = np.array_equal(np.isnan(r2[:n]), np.isnan(ref))
    print(
        f"max |R2 difference| on the looped layers (in-sample and held out): {diff:.2e}"
        f" (NaN in the same places: {same_nan})"
    )


if __name__ == "__main__":
    main()
