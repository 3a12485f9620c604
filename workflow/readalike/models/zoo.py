"""The demo model zoo: a tiny SentencePiece tokenizer and tiny LLaMA models trained offline.

The zoo stands in for real checkpoints so that the whole workflow runs on a laptop in a few
minutes, with no download. Every model is saved as a complete Hugging Face checkpoint
(``config.json``, weights, tokenizer files) so that the extraction code loads it with
``AutoModelForCausalLM.from_pretrained`` / ``AutoTokenizer.from_pretrained`` exactly like a
real LLaMA checkpoint: nothing downstream knows it is a toy.

The zoo mirrors the two contrasts of the study: *scaling* (models of increasing width, depth
and head count) and *instruction tuning* (a model further trained on instruction/response
pairs, :func:`instruction_tune`). The sizes, steps and learning rates are the config's
(``models[].zoo`` of ``config/config.yaml``; defaults in ``readalike.core.config``). The models
are far too small to be faithful replicas of LLaMA; their attention is merely non-trivial
(trained, with a loss that clearly falls), which is what the analyses need to be exercised.
Every table built on them is stamped SYNTHETIC by the callers.

What the workflow rules do (``workflow/rules/models.smk``; about a minute on one CPU
thread)::

    # zoo_tokenizer: one tokenizer for the whole zoo, from config zoo.training_text
    texts = [line for path in training_text for line in read_texts(path)]
    train_tokenizer(texts, zoo / "tokenizer", vocab_size=1000, seed=0)
    # zoo_model, once per model trained from scratch (tiny-s, tiny-m, tiny-l in the demo)
    build_model(zoo / "tokenizer", zoo / "tiny-s", hidden_size=32, n_layers=4, n_heads=2,
                intermediate_size=64, seed=0, steps=200, lr=3e-3, texts=texts,
                batch_size=16, max_len=64)
    # zoo_instruct, once per model with tune_from (tiny-s-instruct in the demo)
    pairs = read_instruction_pairs("resources/demo/instruction_pairs.tsv")
    instruction_tune(zoo / "tiny-s", zoo / "tiny-s-instruct", pairs, steps=100, lr=1.5e-3,
                     seed=0, batch_size=8, max_len=256)

The base models are trained on the stimuli themselves (the demo has no other corpus), so
the larger ones nearly memorise them; that is fine for exercising the pipeline, and is one
more reason the results are SYNTHETIC.

Reproducibility: each function seeds torch and turns on deterministic algorithms while it
runs, so a rerun on the same machine with the same thread count gives the same weights
(float reductions may differ with another thread count or CPU).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import os
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import torch

from readalike.core.outputs import atomic_dir
from readalike.models.tokenizer import load_tokenizer

logger = logging.getLogger(__name__)

#: The separator between an instruction and its response, see :func:`format_instruction`.
RESPONSE_MARKER = "\n\nResponse: "

# Special token ids of the SentencePiece model, the LLaMA convention plus a padding piece.
_UNK, _BOS, _EOS, _PAD = 0, 1, 2, 3
_SPECIAL_TOKENS = {
    "unk_token": "<unk>",
    "bos_token": "<s>",
    "eos_token": "</s>",
    "pad_token": "<pad>",
}


# --------------------------------------------------------------------------------------------
# Reading the shipped text
# --------------------------------------------------------------------------------------------


def read_texts(path: str | os.PathLike) -> list[str]:
    """Read a plain UTF-8 text file into its non-empty lines (one training text per line).

    The format is that of the stimuli (one sentence per line, blank lines between
    paragraphs); blank lines are dropped.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    lines = [line.strip() for line in text.splitlines()]
    texts = [line for line in lines if line]
    if not texts:
        raise ValueError(f"{path}: no text found")
    return texts


def training_documents(lines: Sequence[str], lines_per_sequence: int) -> list[str]:
    """Training sequences of a from-scratch zoo model: windows of consecutive lines.

    Window ``i`` joins lines ``i .. i + lines_per_sequence - 1`` with newlines (stride one,
    so every line starts a window and is seen at a sequence's start, as extraction shows a
    sentence, and inside one, after a line break); the last windows are shorter. A model
    trained on single lines never sees text go on past a line's end, and Study B's prompts
    end ``...\\n\\nOutput:``. Measured on the demo's base model (``config/config.yaml``),
    prompts of 24 answered with at least three distinct words of the training text: 18 on
    single lines, 24 on windows of two (fewest words in an answer: 3), 24 on windows of
    three (fewest: 5; ``tests/test_zoo.py`` checks it). ``1`` gives one line per sequence.
    """
    if lines_per_sequence < 1:
        raise ValueError(f"lines_per_sequence must be positive, got {lines_per_sequence}")
    return ["\n".join(lines[i : i + lines_per_sequence]) for i in range(len(lines))]


def read_instruction_pairs(path: str | os.PathLike) -> list[tuple[str, str]]:
    """Read instruction/response pairs from a TSV file with header ``instruction\\tresponse``.

    Returns
    -------
    list of (instruction, response)
        In file order; both fields stripped and non-empty.

    Raises
    ------
    ValueError
        If the header is wrong, a line has not exactly two tab-separated fields, or a field
        is empty; the message names the file and the 1-based line number.
    """
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0].rstrip("\r") != "instruction\tresponse":
        found = lines[0] if lines else "an empty file"
        raise ValueError(
            f"{path}: line 1: expected the header 'instruction<TAB>response', found {found!r}"
        )
    pairs = []
    for number, line in enumerate(lines[1:], start=2):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 2:
            raise ValueError(
                f"{path}: line {number}: expected 2 tab-separated fields (instruction, response), "
                f"found {len(fields)}"
            )
        instruction, response = (f.strip() for f in fields)
        if not instruction or not response:
            raise ValueError(f"{path}: line {number}: empty instruction or response")
        pairs.append((instruction, response))
    if not pairs:
        raise ValueError(f"{path}: no instruction/response pair below the header")
    return pairs


def format_instruction(instruction: str, response: str = "") -> str:
    """The prompt format of the instruction-tuned demo model: ``instruction\\n\\nResponse: ...``."""
    return f"{instruction}{RESPONSE_MARKER}{response}"


# --------------------------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------------------------


def train_tokenizer(
    texts: Sequence[str], out_dir: str | os.PathLike, vocab_size: int, seed: int
) -> None:
    """Train a LLaMA-style SentencePiece BPE tokenizer on ``texts`` and save it to ``out_dir``.

    The settings follow LLaMA's tokenizer: BPE, byte fallback (any text tokenizes, unseen
    characters become byte pieces), digits split, no normalisation, ``<unk>``=0, ``<s>``=1,
    ``</s>``=2, plus ``<pad>``=3. The folder holds the SentencePiece ``tokenizer.model`` and
    its conversion to a Hugging Face ``LlamaTokenizer`` (``tokenizer.json``), so that
    ``AutoTokenizer.from_pretrained(out_dir)`` loads it and prepends BOS by default, like
    LLaMA's.

    Parameters
    ----------
    texts
        Training texts, e.g. one sentence per item; only these are used.
    out_dir
        Folder to create (replaced atomically if it exists).
    vocab_size
        Upper bound of the vocabulary, including 256 byte pieces and 4 special tokens; a
        smaller vocabulary results when the text has fewer distinct merges.
    seed
        Seed of SentencePiece's random generator; training is single-threaded, so the same
        texts and seed give byte-identical files.
    """
    import sentencepiece as spm
    from transformers import LlamaTokenizer

    texts = [t for t in texts if t.strip()]
    if not texts:
        raise ValueError("train_tokenizer: no non-empty training text")
    spm.set_random_generator_seed(seed)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts),
        model_writer=model,
        model_type="bpe",
        vocab_size=vocab_size,
        # the vocabulary is an upper bound: a small corpus may not support that many merges
        hard_vocab_limit=False,
        byte_fallback=True,
        character_coverage=1.0,
        split_digits=True,
        # identity + keeping whitespace makes SentencePiece and the converted Hugging Face
        # tokenizer (which has no normaliser) agree on every text, newlines included
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        unk_id=_UNK,
        bos_id=_BOS,
        eos_id=_EOS,
        pad_id=_PAD,
        num_threads=1,
        minloglevel=2,
    )
    with atomic_dir(out_dir) as tmp:
        (tmp / "tokenizer.model").write_bytes(model.getvalue())
        # LlamaTokenizer(vocab_file=...) is broken on this stack; from_pretrained(folder) converts
        # the SentencePiece model properly. add_bos_token is passed so the saved post-processor
        # prepends BOS like LLaMA's (the converter's default does not).
        tokenizer = LlamaTokenizer.from_pretrained(tmp, add_bos_token=True, **_SPECIAL_TOKENS)
        tokenizer.save_pretrained(tmp)
    logger.info("tokenizer: %d pieces from %d texts -> %s", len(tokenizer), len(texts), out_dir)


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


def build_model(
    tokenizer_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    hidden_size: int,
    n_layers: int,
    n_heads: int,
    n_kv_heads: int | None = None,
    intermediate_size: int,
    seed: int,
    steps: int,
    lr: float,
    texts: Sequence[str],
    batch_size: int,
    max_len: int,
    n_threads: int | None = 1,
    architecture: str = "llama",
) -> dict:
    """Create a tiny causal LM, train it on ``texts`` and save a full checkpoint.

    Each text is one training sequence, ``<s> text </s>`` truncated to ``max_len`` tokens
    (so a model sees sentences the way extraction shows them: BOS, then the text); a
    ``qwen2`` model is trained without the BOS, as real Qwen2 models are, and its config
    has no ``bos_token_id`` (give it ``bos: none`` in the workflow config, since the shared
    tokenizer has one). Training
    is AdamW with linear warm-up and cosine decay, gradient clipping at 1, causal LM loss on
    all real tokens (padding masked out).

    Parameters
    ----------
    tokenizer_dir
        Folder written by :func:`train_tokenizer`; copied into ``out_dir``.
    out_dir
        Checkpoint folder to create (replaced atomically if it exists).
    hidden_size, n_layers, n_heads, n_kv_heads, intermediate_size
        Architecture; ``hidden_size`` must be divisible by ``n_heads``, ``n_kv_heads``
        (default ``n_heads``: no grouped-query attention) must divide ``n_heads``.
    seed, steps, lr, batch_size
        Optimisation: seeded init and batch order, number of updates, peak learning rate.
    max_len
        Longest training sequence in tokens (BOS and EOS included).
    n_threads
        ``torch.set_num_threads`` for the run (restored afterwards); ``None`` leaves torch's
        default. One thread by default: models this small gain little from more, and on busy
        shared cores torch's spinning worker threads made a 2-thread run ten times slower.
    architecture
        :data:`ARCHITECTURES`: ``llama`` (``LlamaForCausalLM``), ``gpt2``
        (``GPT2LMHeadModel``: learned positions, LayerNorm, fused Conv1D q/k/v) or ``qwen2``
        (``Qwen2ForCausalLM``: q/k/v biases, no BOS).

    Returns
    -------
    dict
        ``initial_loss`` and ``final_loss`` (mean token loss over all texts, before and after
        training, nats), ``steps``, ``seconds`` (training wall time), ``n_parameters``,
        ``n_texts``, ``n_tokens``. Also written to ``out_dir/training.json``.
    """
    from transformers import AutoModelForCausalLM

    if architecture not in ARCHITECTURES:
        raise ValueError(f"zoo architecture {architecture!r} is not one of {ARCHITECTURES}")
    if hidden_size % n_heads:
        raise ValueError(f"hidden_size {hidden_size} is not divisible by n_heads {n_heads}")
    n_kv_heads = n_heads if n_kv_heads is None else n_kv_heads
    if n_heads % n_kv_heads:
        raise ValueError(f"n_heads {n_heads} is not divisible by n_kv_heads {n_kv_heads}")
    tokenizer = load_tokenizer(tokenizer_dir)
    with_bos = architecture != "qwen2"
    examples = [_causal_example(tokenizer, t, max_len, with_bos) for t in texts if t.strip()]
    if not examples:
        raise ValueError("build_model: no non-empty training text")
    with _seeded(seed, n_threads):
        config = _model_config(
            architecture,
            vocab_size=len(tokenizer),
            hidden_size=hidden_size,
            intermediate_size=intermediate_size,
            n_layers=n_layers,
            n_heads=n_heads,
            n_kv_heads=n_kv_heads,
            max_len=max_len,
            bos_token_id=tokenizer.bos_token_id if with_bos else None,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
        model = AutoModelForCausalLM.from_config(config)
        stats = _train(model, examples, steps=steps, lr=lr, batch_size=batch_size, seed=seed)
    stats["n_texts"] = len(examples)
    _save_checkpoint(model, tokenizer_dir, out_dir, stats)
    logger.info(
        "model %s (%s): %d layers x %d heads, hidden %d, %d parameters; loss %.3f -> %.3f in "
        "%d steps (%.1f s)",
        out_dir,
        architecture,
        n_layers,
        n_heads,
        hidden_size,
        stats["n_parameters"],
        stats["initial_loss"],
        stats["final_loss"],
        steps,
        stats["seconds"],
    )
    return stats


def train_zoo_tokenizer(
    text_paths: Sequence[str | os.PathLike], out_dir: str | os.PathLike, zoo: Mapping
) -> None:
    """The zoo's tokenizer as the config's ``zoo`` section describes it: trained on every
    line of the training files, ``vocab_size`` and ``seed`` from the section."""
    texts = [line for path in text_paths for line in read_texts(path)]
    train_tokenizer(texts, out_dir, vocab_size=zoo["vocab_size"], seed=zoo["seed"])


def train_zoo_model(
    tokenizer_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    spec: Mapping,
    zoo: Mapping,
    text_paths: Sequence[str | os.PathLike],
    n_threads: int | None = 1,
) -> dict:
    """A from-scratch zoo model as the config describes it: :func:`build_model` with the
    architecture and optimisation of ``spec`` (a ``models[].zoo`` entry, defaults filled in
    by :func:`readalike.core.config.with_defaults`) and the seed and ``lines_per_sequence`` of
    the ``zoo`` section, on :func:`training_documents` of each training file (a window
    never spans two files: each file is its own run of text)."""
    return build_model(
        tokenizer_dir,
        out_dir,
        hidden_size=spec["hidden_size"],
        n_layers=spec["n_layers"],
        n_heads=spec["n_heads"],
        intermediate_size=spec["intermediate_size"],
        seed=zoo["seed"],
        steps=spec["steps"],
        lr=spec["lr"],
        texts=[
            document
            for path in text_paths
            for document in training_documents(read_texts(path), zoo["lines_per_sequence"])
        ],
        batch_size=spec["batch_size"],
        max_len=spec["max_len"],
        n_threads=n_threads,
        architecture=spec["architecture"],
    )


def instruction_tune(
    base_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    pairs: Sequence[tuple[str, str]],
    *,
    steps: int,
    lr: float,
    seed: int,
    batch_size: int,
    max_len: int,
    n_threads: int | None = 1,
) -> dict:
    """Continue training a zoo checkpoint on instruction/response pairs; save a full checkpoint.

    Each pair becomes ``<s> instruction\\n\\nResponse: response </s>``
    (:func:`format_instruction`). The loss is on the response tokens and the final EOS only,
    as in supervised instruction tuning: the model learns to answer instructions, not to
    generate them. Tokens are attributed to the response from the tokenizer's character
    offsets on the full text, so the split is exact whatever the tokenizer merges.

    Parameters
    ----------
    base_dir
        Checkpoint folder written by :func:`build_model`.
    out_dir
        Checkpoint folder to create (replaced atomically if it exists).
    pairs
        ``(instruction, response)``, e.g. from :func:`read_instruction_pairs`.
    steps, lr, seed, batch_size, n_threads
        As for :func:`build_model`.
    max_len
        Longest formatted pair in tokens; a longer pair raises ``ValueError`` rather than
        losing its response to truncation (the shipped pairs need up to 114 tokens with a
        400-piece tokenizer).

    Returns
    -------
    dict
        As for :func:`build_model`; the losses are over response tokens of all pairs.
    """
    from transformers import AutoConfig, AutoModelForCausalLM

    tokenizer = load_tokenizer(base_dir)
    # a base trained without BOS (qwen2) is tuned without it
    with_bos = AutoConfig.from_pretrained(base_dir).bos_token_id is not None
    examples = [_instruction_example(tokenizer, i, r, max_len, with_bos) for i, r in pairs]
    if not examples:
        raise ValueError("instruction_tune: no instruction/response pair")
    with _seeded(seed, n_threads):
        model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
        stats = _train(model, examples, steps=steps, lr=lr, batch_size=batch_size, seed=seed)
    stats.update(n_texts=len(examples), base=str(base_dir), loss_on="response tokens + EOS")
    _save_checkpoint(model, base_dir, out_dir, stats)
    logger.info(
        "instruction-tuned %s from %s: loss %.3f -> %.3f in %d steps (%.1f s)",
        out_dir,
        base_dir,
        stats["initial_loss"],
        stats["final_loss"],
        steps,
        stats["seconds"],
    )
    return stats


# --------------------------------------------------------------------------------------------
# Internals
# --------------------------------------------------------------------------------------------

#: one training sequence: token ids and labels (-100 where no loss), equal length
_Example = tuple[list[int], list[int]]


def _causal_example(tokenizer, text: str, max_len: int, with_bos: bool = True) -> _Example:
    # BOS and EOS added by hand: whether the tokenizer adds BOS is configuration-dependent
    first = [tokenizer.bos_token_id] if with_bos else []
    ids = [*first, *tokenizer(text, add_special_tokens=False).input_ids]
    ids = ids[: max_len - 1] + [tokenizer.eos_token_id]
    # labels are shifted inside the model: labels[0] (BOS) is never a target
    return ids, list(ids)


def _instruction_example(
    tokenizer, instruction: str, response: str, max_len: int, with_bos: bool = True
) -> _Example:
    text = format_instruction(instruction, response)
    response_start = len(text) - len(response)
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    first = [tokenizer.bos_token_id] if with_bos else []
    ids = [*first, *enc.input_ids, tokenizer.eos_token_id]
    # a token ending inside the response is a response token ("▁honey" starting on the space)
    in_response = [end > response_start for _, end in enc.offset_mapping]
    labels = [-100] * len(first)
    labels += [i if r else -100 for i, r in zip(enc.input_ids, in_response, strict=True)]
    labels.append(tokenizer.eos_token_id)
    if len(ids) > max_len:
        raise ValueError(
            f"instruction pair {instruction!r} is {len(ids)} tokens long, over max_len {max_len}"
        )
    return ids, labels


#: Model classes the zoo trains from scratch (config ``models[].zoo.architecture``).
ARCHITECTURES = ("llama", "gpt2", "qwen2")


def _model_config(
    architecture: str,
    *,
    vocab_size: int,
    hidden_size: int,
    intermediate_size: int,
    n_layers: int,
    n_heads: int,
    n_kv_heads: int,
    max_len: int,
    bos_token_id: int | None,
    eos_token_id: int,
    pad_token_id: int | None,
):
    """The transformers config of a zoo model; tied embeddings in every architecture."""
    import transformers as tr

    ids = dict(bos_token_id=bos_token_id, eos_token_id=eos_token_id, pad_token_id=pad_token_id)
    # tied embeddings keep most of a tiny model's parameters in its layers
    if architecture == "gpt2":
        return tr.GPT2Config(
            vocab_size=vocab_size,
            n_embd=hidden_size,
            n_inner=intermediate_size,
            n_layer=n_layers,
            n_head=n_heads,
            n_positions=max(512, max_len),
            tie_word_embeddings=True,
            **ids,
        )
    config_class = {"llama": tr.LlamaConfig, "qwen2": tr.Qwen2Config}[architecture]
    return config_class(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        intermediate_size=intermediate_size,
        num_hidden_layers=n_layers,
        num_attention_heads=n_heads,
        num_key_value_heads=n_kv_heads,
        max_position_embeddings=max(512, max_len),
        tie_word_embeddings=True,
        **ids,
    )


def _collate(examples: Sequence[_Example], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad a batch: ``input_ids``, ``attention_mask``, ``labels``, each (batch, length)."""
    length = max(len(ids) for ids, _ in examples)
    input_ids = torch.full((len(examples), length), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), length), -100, dtype=torch.long)
    mask = torch.zeros((len(examples), length), dtype=torch.long)
    for b, (ids, lab) in enumerate(examples):
        input_ids[b, : len(ids)] = torch.tensor(ids)
        labels[b, : len(lab)] = torch.tensor(lab)
        mask[b, : len(ids)] = 1
    return {"input_ids": input_ids, "attention_mask": mask, "labels": labels}


@torch.no_grad()
def _mean_loss(model, examples: Sequence[_Example], pad_id: int, batch_size: int) -> float:
    """Mean token loss (nats) over all labelled tokens of all examples."""
    model.eval()
    total, count = 0.0, 0
    for start in range(0, len(examples), batch_size):
        batch = _collate(examples[start : start + batch_size], pad_id)
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        targets = batch["labels"][:, 1:]
        losses = torch.nn.functional.cross_entropy(
            logits[:, :-1].flatten(0, 1), targets.flatten(), ignore_index=-100, reduction="sum"
        )
        total += float(losses)
        count += int((targets != -100).sum())
    return total / count


def _train(model, examples: Sequence[_Example], *, steps, lr, batch_size, seed) -> dict:
    pad_id = model.config.pad_token_id if model.config.pad_token_id is not None else 0
    initial = _mean_loss(model, examples, pad_id, batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.01)
    warmup = max(1, steps // 10)

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    order = _batch_order(len(examples), batch_size, steps, seed)
    model.train()
    started = time.perf_counter()
    for step, indices in enumerate(order):
        batch = _collate([examples[i] for i in indices], pad_id)
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        if step % max(1, steps // 5) == 0:
            logger.debug("step %d/%d: batch loss %.3f", step, steps, loss.detach().item())
    seconds = time.perf_counter() - started
    final = _mean_loss(model, examples, pad_id, batch_size)
    model.eval()
    return {
        "initial_loss": initial,
        "final_loss": final,
        "steps": steps,
        "seconds": seconds,
        "n_parameters": sum(p.numel() for p in model.parameters()),
        "n_tokens": sum(sum(label != -100 for label in lab) for _, lab in examples),
        "seed": seed,
        "lr": lr,
        "batch_size": batch_size,
    }


def _batch_order(n: int, batch_size: int, steps: int, seed: int) -> list[list[int]]:
    """Batches of example indices: shuffled epochs, every example once per epoch."""
    generator = torch.Generator().manual_seed(seed)
    batch_size = min(batch_size, n)
    stream: list[int] = []
    while len(stream) < steps * batch_size:
        stream.extend(torch.randperm(n, generator=generator).tolist())
    return [stream[i * batch_size : (i + 1) * batch_size] for i in range(steps)]


@contextlib.contextmanager
def _seeded(seed: int, n_threads: int | None) -> Iterator[None]:
    """Seed torch, use deterministic kernels and the given thread count; restore on exit."""
    deterministic = torch.are_deterministic_algorithms_enabled()
    threads = torch.get_num_threads()
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    if n_threads is not None:
        torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(deterministic)
        torch.set_num_threads(threads)


def _save_checkpoint(model, tokenizer_dir, out_dir, stats: dict) -> None:
    """Save model + tokenizer files into one folder, a checkpoint like a downloaded one."""
    with atomic_dir(out_dir) as tmp:
        model.save_pretrained(tmp)
        for name in ("tokenizer.model", "tokenizer.json", "tokenizer_config.json"):
            source = Path(tokenizer_dir) / name
            if source.exists():
                shutil.copy2(source, tmp / name)
        (tmp / "training.json").write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
