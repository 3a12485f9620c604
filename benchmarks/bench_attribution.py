"""Benchmark: batched gradient x input attribution, and the released-matrix analysis.

Part 1 times, in one run, on a tiny random LlamaForCausalLM (default hidden 64, 4 layers,
4 heads, seed 0) with a ~40-token prompt and a ~40-token response:

* ``attribution_matrix`` -- batched vector-Jacobian products, ``--chunk-size`` response
  tokens per backward (default: all of them);
* ``attribution_loop`` -- the reference, one backward pass per response token;

and prints both times (best of ``--repeats`` after one warm-up), their ratio (target: at
least 5x) and the largest difference between the two matrices relative to the largest entry
(target: at most 1e-5).

Part 2, when the shared tarball exists, unpacks the released LLaMA-7B / Vicuna-7B matrices of
arXiv 2310.00492 (checksums verified) and times the whole released analysis
(``release_b.analyse_release``: 1,264 pickles loaded safely, checked, scored; both t-tests),
target under 10 s on 2 cores; unpacking is timed separately.

Usage:
    python benchmarks/bench_attribution.py [--threads N] [--chunk-size C] [--attn sdpa|eager]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from transformers import LlamaConfig, LlamaForCausalLM

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

from readalike import release_b  # noqa: E402
from readalike.attribution import attribution_loop, attribution_matrix  # noqa: E402

SHARED = ROOT.parent / "shared" / "release"


def timed(fn, repeats: int) -> tuple[float, float, object]:
    """Best and median wall time of ``fn`` over ``repeats`` runs after one warm-up."""
    result = fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), result


def bench_gradients(args: argparse.Namespace) -> None:
    torch.manual_seed(args.seed)
    config = LlamaConfig(
        vocab_size=args.vocab,
        hidden_size=args.hidden,
        intermediate_size=args.hidden * 4,
        num_hidden_layers=args.layers,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=512,
        bos_token_id=1,
        attn_implementation=args.attn,
    )
    model = LlamaForCausalLM(config).eval()
    gen = torch.Generator().manual_seed(args.seed + 1)
    prompt = torch.randint(3, args.vocab, (args.prompt_len,), generator=gen).tolist()
    response = torch.randint(3, args.vocab, (args.response_len,), generator=gen).tolist()
    chunk = args.chunk_size or len(response)

    loop_best, loop_med, loop = timed(
        lambda: attribution_loop(model, prompt, response), args.repeats
    )
    batch_best, batch_med, batched = timed(
        lambda: attribution_matrix(model, prompt, response, chunk_size=chunk), args.repeats
    )
    rel = float(np.abs(batched - loop).max() / np.abs(loop).max())
    print(
        f"gradients: tiny LLaMA hidden {args.hidden}, {args.layers} layers, {args.attn} "
        f"attention, prompt {len(prompt)} + response {len(response)} tokens, "
        f"{torch.get_num_threads()} threads, chunk {chunk}"
    )
    print(f"  per-token loop (reference): best {loop_best:.4f} s, median {loop_med:.4f} s")
    print(f"  batched VJP               : best {batch_best:.4f} s, median {batch_med:.4f} s")
    print(
        f"  speed-up {loop_best / batch_best:.2f}x best-to-best, {loop_med / batch_med:.2f}x "
        "median-to-median (target >= 5x)"
    )
    print(f"  max |batched - loop| / max |loop| = {rel:.2e} (target <= 1e-5)")


def bench_release(tarball: Path, checksums: Path) -> None:
    if not tarball.is_file():
        print(f"release: {tarball} not found, skipped")
        return
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        root = release_b.unpack_release_b(tarball, Path(tmp) / "release", checksums=checksums)
        unpack = time.perf_counter() - start
        start = time.perf_counter()
        result = release_b.analyse_release(root)
        analysis = time.perf_counter() - start
    n_fatal = int(result.faults["fatal"].sum())
    print("release: 2310.00492 attribution matrices (LLaMA-7B, Vicuna-7B)")
    print(f"  unpack + verify checksums: {unpack:.2f} s")
    print(
        f"  analysis: {analysis:.2f} s for {len(result.scores)} scored matrices, {n_fatal} "
        f"left out, {len(result.faults) - n_fatal} non-fatal faults (target < 10 s)"
    )
    print(f"  total: {unpack + analysis:.2f} s")
    print(result.focus.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    print(result.following.to_string(index=False, float_format=lambda x: f"{x:.4g}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--vocab", type=int, default=256)
    parser.add_argument("--prompt-len", type=int, default=40)
    parser.add_argument("--response-len", type=int, default=40)
    parser.add_argument("--chunk-size", type=int, default=0, help="0: all response tokens")
    parser.add_argument("--attn", default="sdpa", choices=["sdpa", "eager"])
    parser.add_argument("--threads", type=int, default=0, help="0: torch's default")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--tarball", type=Path, default=SHARED / "interpret_instruction_tuning.tar.xz"
    )
    parser.add_argument(
        "--checksums", type=Path, default=SHARED / "SHA256SUMS.interpret_instruction_tuning"
    )
    parser.add_argument("--skip-release", action="store_true")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    bench_gradients(args)
    if not args.skip_release:
        bench_release(args.tarball, args.checksums)


if __name__ == "__main__":
    main()
