"""Benchmark: batched gradient x input attribution, and the released-matrix analysis.

Part 1 times, in one run, on the default tiny model -- the trained demo checkpoint
``results/demo/zoo/tiny-s`` (``snakemake --cores 2`` builds it; ``--checkpoint`` names
another) answering the 24 shipped demo prompts greedily (``max_new_tokens`` from
``config/config.yaml``, or each value of ``--max-new-tokens``: the gain grows with the
response length), or, when no checkpoint has been built yet, a random LLaMA of the same
shape on random prompts of similar lengths -- for each thread count in ``--threads``:

* ``attribution_matrix`` -- batched vector-Jacobian products, ``chunk_size`` response tokens
  per backward (default: the demo config's);
* ``attribution_loop`` -- the reference, the authors' one backward pass per response token;

and prints both total times over all prompts (best of ``--repeats`` after one warm-up),
their ratio (target: at least 5x) and the largest difference between the two matrices
relative to the largest entry of the prompt's matrix (target: at most 1e-5).

Part 2, when the shared tarball exists, unpacks the released LLaMA-7B / Vicuna-7B matrices of
arXiv 2310.00492 (checksums verified) and times the whole released analysis
(``release_b.analyse_release``: 1,264 pickles loaded safely, checked, scored; both t-tests),
target under 10 s on 2 cores; unpacking is timed separately.

Usage:
    python benchmarks/bench_attribution.py [--threads 1 2] [--max-new-tokens 24 48 96]
        [--checkpoint DIR] [--skip-release]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml
from transformers import LlamaConfig, LlamaForCausalLM

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

from readalike import release_b  # noqa: E402
from readalike.attribution import (  # noqa: E402
    attribution_loop,
    attribution_matrix,
    generate_response,
)
from readalike.extraction import load_causal_lm  # noqa: E402
from readalike.study_b import prompt_for_model  # noqa: E402

SHARED = ROOT.parent / "shared" / "release"
DEMO_CONFIG = ROOT / "config" / "config.yaml"


def timed(fn, repeats: int) -> tuple[float, float, object]:
    """Best and median wall time of ``fn`` over ``repeats`` runs after one warm-up."""
    result = fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), result


def demo_settings() -> tuple[dict, dict, dict]:
    """(study_b section, zoo section, zoo shape of the first pair's base model) of the demo."""
    config = yaml.safe_load(DEMO_CONFIG.read_text())
    base = config["study_b"]["pairs"][0][0]
    shape = next(m["zoo"] for m in config["models"] if m["name"] == base)
    return config["study_b"], config["zoo"], shape


def demo_model(args: argparse.Namespace, zoo: dict, shape: dict):
    """(model, tokenizer or None, description) for the gradient benchmark."""
    if args.checkpoint.is_dir():
        model, tokenizer = load_causal_lm(args.checkpoint)
        return model, tokenizer, f"trained demo checkpoint {args.checkpoint.relative_to(ROOT)}"
    # no checkpoint built yet: a random model of the same shape
    torch.manual_seed(args.seed)
    config = LlamaConfig(
        vocab_size=zoo["vocab_size"],
        hidden_size=shape["hidden_size"],
        intermediate_size=shape["intermediate_size"],
        num_hidden_layers=shape["n_layers"],
        num_attention_heads=shape["n_heads"],
        num_key_value_heads=shape["n_heads"],
        max_position_embeddings=512,
        bos_token_id=1,
        attn_implementation="eager",
    )
    model = LlamaForCausalLM(config).eval()
    return model, None, "random weights in the shape of the demo model (no checkpoint built)"


def demo_pairs(
    model, tokenizer, prompts: pd.DataFrame, max_new_tokens: int, seed: int
) -> list[tuple[list, list]]:
    """(prompt_ids, response_ids) of the demo ``prompts`` answered greedily by ``model``; for
    a random model (no tokenizer), random ids with prompts of 20-66 tokens."""
    if tokenizer is None:
        vocab_size = model.config.vocab_size
        gen = torch.Generator().manual_seed(seed + 1)
        return [
            (
                torch.randint(3, vocab_size, (n_prompt,), generator=gen).tolist(),
                torch.randint(3, vocab_size, (max_new_tokens,), generator=gen).tolist(),
            )
            for n_prompt in range(20, 68, 2)
        ]
    pairs = []
    for row in prompts.itertuples(index=False):
        text = prompt_for_model(row.prompt)
        generation = generate_response(model, tokenizer, text, max_new_tokens, row.prompt_id)
        pairs.append((generation.prompt_ids, generation.response_ids))
    return pairs


def bench_gradients(args: argparse.Namespace) -> None:
    study_b, zoo, shape = demo_settings()
    chunk = args.chunk_size or study_b["chunk_size"]
    model, tokenizer, description = demo_model(args, zoo, shape)
    prompts = release_b.read_prompts(ROOT / study_b["prompts"])
    config = model.config
    print(
        f"gradients: {description}: hidden {config.hidden_size}, "
        f"{config.num_hidden_layers} layers, {config.num_attention_heads} heads, "
        f"{config._attn_implementation} attention; chunk {chunk}; "
        f"demo max_new_tokens {study_b['max_new_tokens']}"
    )
    before = torch.get_num_threads()
    for max_new_tokens in args.max_new_tokens or [study_b["max_new_tokens"]]:
        pairs = demo_pairs(model, tokenizer, prompts, max_new_tokens, args.seed)
        n_prompt = [len(p) for p, _ in pairs]
        n_response = [len(r) for _, r in pairs]
        print(
            f"  max_new_tokens {max_new_tokens}: {len(pairs)} prompts of {min(n_prompt)}-"
            f"{max(n_prompt)} tokens, responses of {min(n_response)}-{max(n_response)} tokens"
        )

        def loop_all(pairs=pairs):
            return [attribution_loop(model, p, r) for p, r in pairs]

        def batched_all(pairs=pairs):
            return [attribution_matrix(model, p, r, chunk_size=chunk) for p, r in pairs]

        for threads in args.threads:
            torch.set_num_threads(threads)
            loop_best, loop_med, loop = timed(loop_all, args.repeats)
            batch_best, batch_med, batched = timed(batched_all, args.repeats)
            rel = max(
                float(np.abs(b - ref).max() / max(np.abs(ref).max(), np.finfo(np.float32).tiny))
                for b, ref in zip(batched, loop, strict=True)
            )
            print(
                f"    {threads} thread(s): per-token loop (reference) best {loop_best:.3f} s "
                f"(median {loop_med:.3f}); batched best {batch_best:.3f} s (median "
                f"{batch_med:.3f}); speed-up {loop_best / batch_best:.2f}x best-to-best, "
                f"{loop_med / batch_med:.2f}x median-to-median (target >= 5x); "
                f"max |batched - loop| / max |loop| = {rel:.1e} (target <= 1e-5)"
            )
    torch.set_num_threads(before)


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
    parser.add_argument(
        "--checkpoint", type=Path, default=ROOT / "results" / "demo" / "zoo" / "tiny-s"
    )
    parser.add_argument("--chunk-size", type=int, default=0, help="0: the demo config's")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--max-new-tokens",
        type=int,
        nargs="+",
        default=[],
        help="response lengths to measure (default: the demo config's)",
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--tarball", type=Path, default=SHARED / "interpret_instruction_tuning.tar.xz"
    )
    parser.add_argument(
        "--checksums", type=Path, default=SHARED / "SHA256SUMS.interpret_instruction_tuning"
    )
    parser.add_argument("--skip-release", action="store_true")
    args = parser.parse_args()
    bench_gradients(args)
    if not args.skip_release:
        bench_release(args.tarball, args.checksums)


if __name__ == "__main__":
    main()
