"""Benchmark: attention extraction of a 7B-shaped LLaMA on a GPU, time and peak memory.

Builds a random-initialised LLaMA of LLaMA-7B's shape (32 layers, 32 heads, hidden 4096,
intermediate 11008, vocabulary 32000) in bfloat16 directly on the GPU (no download), with a
tokenizer trained on the demo text (``readalike.models.zoo.train_tokenizer``), and extracts the
word-level attention of 148 sentences of 6-16 words (the release's count and range of
lengths; words drawn from the demo text, seeded) under the three prompt conditions of
``config/config.yaml`` with the project's extraction code (``readalike.models.extraction.
attention_set``, the same calls as ``extract_conditions`` after its load).

Prints the time after load (all three conditions) and, per GPU, the peak memory allocated
by torch against the bound the extraction is designed for: the weights plus one layer's
attention weights of one batch (``batch x heads x tokens^2`` in float32, the eager
softmax's dtype) plus a stated slack for one layer's activations and CUDA workspaces.
Hooks reduce each layer's attention to words at once and keep no ``output_attentions``
of all layers, so the peak should not grow with depth: a 65B model then fits where its
weights fit.

With two or more visible GPUs it repeats the run with the layers split over two GPUs
(``accelerate.dispatch_model``, as ``device_map="auto"`` does) and prints the same per GPU.
Without CUDA it says so and exits 0 (``--device cpu`` with a smaller ``--layers/--hidden``
runs the same code on a CPU, without the memory figures, to check the script itself).

Usage:
    python benchmarks/bench_gpu_extraction.py [--batch-size 16] [--layers 32]
        [--hidden 4096] [--heads 32] [--intermediate 11008] [--device cuda]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

from readalike.core.stimuli import read_stimuli  # noqa: E402
from readalike.models.extraction import attention_set, word_token_spans  # noqa: E402
from readalike.models.zoo import train_tokenizer  # noqa: E402

GIB = 1024**3
#: one layer's activations besides the attention weights (hidden states, q/k/v, the MLP's
#: intermediate of one batch: a few MB at these lengths) plus cuBLAS workspaces and the
#: caching allocator's rounding; the bound the benchmark checks is weights + attention +
#: this.
SLACK_BYTES = 512 * 1024**2
N_SENTENCES, MIN_WORDS, MAX_WORDS, N_ARTICLES = 148, 6, 16, 5


def release_shaped_stimuli(seed: int = 0) -> list[list[list[str]]]:
    """148 sentences of 6-16 words from the demo text's words, in 5 articles (seeded)."""
    demo = read_stimuli(ROOT / "resources" / "demo" / "stimuli.txt")
    words = [w for article in demo for sentence in article for w in sentence]
    rng = np.random.default_rng(seed)
    lengths = rng.integers(MIN_WORDS, MAX_WORDS + 1, size=N_SENTENCES)
    sentences = [list(rng.choice(words, size=n)) for n in lengths]
    bounds = np.linspace(0, N_SENTENCES, N_ARTICLES + 1).astype(int)
    return [sentences[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def build_model(args, vocab_size: int, device: str):
    """A random-initialised LLaMA of the requested shape in bfloat16, built on ``device``."""
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=max(vocab_size, 32000),
        hidden_size=args.hidden,
        intermediate_size=args.intermediate,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        num_key_value_heads=args.heads,
        max_position_embeddings=2048,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=3,
    )
    config._attn_implementation = "eager"
    with torch.device(device):
        model = LlamaForCausalLM(config).to(torch.bfloat16)
    return model.eval()


def split_over_two_gpus(model):
    """Put the first half of the layers on cuda:0 and the rest on cuda:1, like device_map."""
    from accelerate import dispatch_model

    n = model.config.num_hidden_layers
    device_map = {}
    for name, _ in model.model.named_children():  # embed_tokens, layers, norm, rotary_emb
        if name == "layers":
            device_map.update({f"model.layers.{i}": 0 if i < n // 2 else 1 for i in range(n)})
        else:
            device_map[f"model.{name}"] = 1 if name == "norm" else 0
    device_map["lm_head"] = 1
    return dispatch_model(model, device_map=device_map)


def longest_prompt(tokenizer, stimuli, conditions) -> int:
    """Tokens of the longest prompt (BOS + prefix + sentence) over all conditions."""
    return max(
        len(word_token_spans(tokenizer, words, prefix).input_ids)
        for prefix in conditions.values()
        for article in stimuli
        for words in article
    )


def run(model, tokenizer, stimuli, conditions, batch_size: int, devices: list) -> dict:
    for d in devices:
        torch.cuda.reset_peak_memory_stats(d)
        torch.cuda.synchronize(d)
    start = time.perf_counter()
    sets = {
        c: attention_set(
            model,
            tokenizer,
            stimuli,
            c,
            prefix,
            model_name="llama-7b-shaped",
            batch_size=batch_size,
            progress=False,
        )
        for c, prefix in conditions.items()
    }
    for d in devices:
        torch.cuda.synchronize(d)
    seconds = time.perf_counter() - start
    n = sum(len(s) for s in sets["plain"].sentences)
    return {
        "seconds": seconds,
        "sentences": n,
        "peak": {d: torch.cuda.max_memory_allocated(d) for d in devices},
    }


def weights_by_device(model) -> dict:
    out: dict = {}
    for p in model.parameters():
        out[p.device] = out.get(p.device, 0) + p.numel() * p.element_size()
    return out


def report(label: str, result: dict, weights: dict, attention_bytes: int) -> bool:
    print(
        f"\n{label}: {result['sentences']} sentences x 3 conditions in "
        f"{result['seconds']:.1f} s after load "
        f"({result['seconds'] / (3 * result['sentences']) * 1000:.0f} ms per sentence)"
    )
    ok = True
    for device, peak in result["peak"].items():
        w = weights.get(torch.device(device), weights.get(device, 0))
        bound = w + attention_bytes + SLACK_BYTES
        ok &= peak <= bound
        print(
            f"  {device}: peak {peak / GIB:.2f} GiB; weights {w / GIB:.2f} GiB + one layer's "
            f"attention {attention_bytes / 1024**2:.1f} MiB + slack {SLACK_BYTES / 1024**2:.0f} "
            f"MiB = bound {bound / GIB:.2f} GiB; peak - weights = "
            f"{(peak - w) / 1024**2:.0f} MiB ({(peak - w) / max(attention_bytes, 1):.1f}x one "
            f"layer's attention): {'within' if peak <= bound else 'ABOVE'} the bound"
        )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--layers", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=4096)
    parser.add_argument("--heads", type=int, default=32)
    parser.add_argument("--intermediate", type=int, default=11008)
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu (script check)")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        print("bench_gpu_extraction: no CUDA device visible; skipped (needs a GPU).")
        return 0

    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))
    conditions = config["conditions"]
    stimuli = release_shaped_stimuli()
    with tempfile.TemporaryDirectory() as tmp:
        texts = (ROOT / "resources" / "demo" / "stimuli.txt").read_text(encoding="utf-8")
        train_tokenizer(texts.splitlines(), Path(tmp) / "tok", vocab_size=1000, seed=0)
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(Path(tmp) / "tok")

    tokens = longest_prompt(tokenizer, stimuli, conditions)
    # the eager softmax runs in float32: batch x heads x tokens x tokens x 4 bytes
    attention_bytes = args.batch_size * args.heads * tokens * tokens * 4
    print(
        f"LLaMA shape: {args.layers} layers, {args.heads} heads, hidden {args.hidden}, "
        f"intermediate {args.intermediate}, bfloat16; batch {args.batch_size}, longest "
        f"prompt {tokens} tokens; conditions {list(conditions)}"
    )

    start = time.perf_counter()
    device = "cuda:0" if args.device == "cuda" else "cpu"
    model = build_model(args, len(tokenizer), device)
    n_params = sum(p.numel() for p in model.parameters())
    print(
        f"built {n_params / 1e9:.2f} B parameters on {device} in "
        f"{time.perf_counter() - start:.1f} s"
    )
    if args.device == "cpu":
        t = time.perf_counter()
        for c, prefix in conditions.items():
            attention_set(
                model,
                tokenizer,
                stimuli,
                c,
                prefix,
                model_name="cpu-check",
                batch_size=args.batch_size,
                progress=False,
            )
        print(f"cpu: 3 conditions in {time.perf_counter() - t:.1f} s (no memory figures)")
        return 0

    ok = report(
        "1 GPU",
        run(model, tokenizer, stimuli, conditions, args.batch_size, [0]),
        weights_by_device(model),
        attention_bytes,
    )
    if torch.cuda.device_count() >= 2:
        try:
            import accelerate  # noqa: F401
        except ImportError:
            print("\n2 GPUs visible but accelerate is not installed: 2-GPU variant skipped")
        else:
            model = split_over_two_gpus(model)
            result = run(model, tokenizer, stimuli, conditions, args.batch_size, [0, 1])
            ok &= report(
                "2 GPUs (layers split in half)", result, weights_by_device(model), attention_bytes
            )
    else:
        print("\none GPU visible: the 2-GPU device_map variant skipped")
    print(
        f"\nweights: {n_params * 2 / GIB:.2f} GiB in bfloat16 "
        f"({math.ceil(n_params / 1e9)} B parameters)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
