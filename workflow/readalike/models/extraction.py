"""Word-level self-attention of causal language models.

For every stimulus sentence, the model reads a prompt (``prefix + " " + sentence``, or the
bare sentence for the plain condition) after the BOS token that
:func:`readalike.models.bos.resolve_bos`
chooses for the model (the config key ``bos``; none for Qwen-style tokenizers, which have
none), the same rule Study B uses. Every layer's attention is captured by forward hooks on
the attention modules during one forward pass per batch and reduced at once to the
sentence's whitespace words, so the token-level attention of only one layer of one batch
exists at any time. The attention module of a layer is found per decoder layer (the
model's list of ``num_hidden_layers`` blocks, e.g. ``model.layers``, ``transformer.h``,
``gpt_neox.layers``), not by an attribute such as ``layer_idx``, which GPT-Neo lacks.

Sub-word tokens are mapped to words from the tokenizer's character offsets against the
character spans of the words in the prompt (``word_ids()`` is unreliable for Metaspace
tokenizers). A token belongs to the word holding its last character; whitespace belongs to
the word that follows it, so a SentencePiece ``▁word`` piece and a lone ``▁`` piece both go
to the next word. BOS and prefix tokens belong to no word and are dropped.

Token to word reduction, with ``M`` the ``(n_words, n_tokens)`` 0/1 assignment matrix and
``A`` one head's ``(n_tokens, n_tokens)`` attention::

    W = (M / M.sum(1)) @ A @ M.T

i.e. the query side is the mean over the word's tokens (a word's row is still a
distribution-like row), the key side is the sum over the word's tokens (the attention a word
receives is all that its pieces receive). Because BOS and prefix keys are dropped, a row sums
to 1 minus the (query-averaged) attention on BOS and prefix, not to 1; rows are not
renormalised here, so that the attention sink stays measurable downstream.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from readalike.core.formats import AttentionSet
from readalike.core.stimuli import Stimuli
from readalike.models.bos import input_pad_id, resolve_bos
from readalike.models.gguf import describe, pretrained_args, provenance_attrs
from readalike.models.tokenizer import fast_tokenizer

logger = logging.getLogger(__name__)

_DTYPES = {
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
}


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def load_causal_lm(
    path_or_hub_id: str | os.PathLike, *, dtype: str | torch.dtype = "float32", device: str = "cpu"
):
    """Load a causal LM with eager attention (the only one that returns attention weights).

    Parameters
    ----------
    path_or_hub_id
        A local checkpoint folder (e.g. a demo zoo model), a Hugging Face hub id, or a
        ``.gguf`` file (quantised weights, dequantised as they load, the tokenizer read from
        the same file), turned into ``from_pretrained``'s arguments by
        :func:`readalike.models.gguf.pretrained_args`.
    dtype
        ``"float32"``, ``"float16"``, ``"bfloat16"``, ``"auto"`` (the checkpoint's own) or a
        ``torch.dtype``. Attention is reduced in float32 whatever the model's dtype.
    device
        ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ... or ``"auto"``: spread a model too large for
        one device over all visible GPUs (and CPU) with ``device_map="auto"``; transformers
        refuses a device map without the ``accelerate`` package, a dependency of the
        project for that reason (on a machine without GPUs everything lands on the CPU).
        Hooks run on each layer's own device.

    Returns
    -------
    model, tokenizer
        The model in eval mode; the tokenizer must be a fast (Rust) tokenizer, since the
        word mapping needs character offsets.
    """
    from transformers import AutoModelForCausalLM

    if isinstance(dtype, str) and dtype != "auto":
        if dtype not in _DTYPES:
            raise ValueError(f"unknown dtype {dtype!r}; expected one of {[*_DTYPES, 'auto']}")
        dtype = _DTYPES[dtype]
    kwargs = {"attn_implementation": "eager", "dtype": dtype}
    if device == "auto":
        kwargs["device_map"] = "auto"
    location, gguf = pretrained_args(path_or_hub_id)
    model = AutoModelForCausalLM.from_pretrained(location, **gguf, **kwargs)
    if device != "auto":
        model.to(device)
    model.eval()
    tokenizer = fast_tokenizer(path_or_hub_id, "word-level extraction")
    logger.info(
        "loaded %s (%s, %s, eager attention)", path_or_hub_id, type(model).__name__, model.dtype
    )
    return model, tokenizer


# --------------------------------------------------------------------------------------------
# Tokens to words
# --------------------------------------------------------------------------------------------


def prompt_text(words: Sequence[str], prefix: str = "") -> tuple[str, np.ndarray]:
    """The prompt of a sentence and the character spans of its words in it.

    Returns
    -------
    text : str
        ``prefix + " " + " ".join(words)``, or the bare sentence when ``prefix`` is empty.
    spans : ndarray
        ``(n_words, 2)`` int64, ``[start, end)`` character offsets of each word in ``text``.
    """
    start = len(prefix) + 1 if prefix else 0
    lengths = np.array([len(w) for w in words], dtype=np.int64)
    starts = start + np.concatenate([[0], np.cumsum(lengths + 1)[:-1]]).astype(np.int64)
    text = f"{prefix} {' '.join(words)}" if prefix else " ".join(words)
    return text, np.stack([starts, starts + lengths], axis=1)


def assign_tokens(
    token_offsets: np.ndarray, word_spans: np.ndarray, sentence_start: int, *, name: str
) -> np.ndarray:
    """The word of every token, from character offsets; ``-1`` for prefix tokens.

    A token belongs to the word that holds its last character; a whitespace character belongs
    to the word after it (so ``▁word`` and a lone ``▁`` go to that word). Characters before
    ``sentence_start`` belong to the prefix. A zero-width token counts as sitting on its
    start character.

    Parameters
    ----------
    token_offsets
        ``(n_tokens, 2)`` int, ``[start, end)`` character offsets from the tokenizer
        (no special tokens).
    word_spans
        ``(n_words, 2)`` int, ``[start, end)`` of each word, increasing, as from
        :func:`prompt_text`.
    sentence_start
        First character that belongs to the sentence (the space between prefix and sentence
        included, so that its ``▁`` goes to the first word).
    name
        How to name the sentence in error messages.

    Returns
    -------
    ndarray
        ``(n_tokens,)`` int64 word index per token, ``-1`` for prefix tokens.

    Raises
    ------
    ValueError
        If a token spans two words (or the prefix and the sentence), a token lies past the
        last word, or a word gets no token.
    """
    token_offsets = np.asarray(token_offsets, dtype=np.int64).reshape(-1, 2)
    word_spans = np.asarray(word_spans, dtype=np.int64)
    n_words = len(word_spans)
    text_end = int(word_spans[-1, 1])

    def owner(chars: np.ndarray) -> np.ndarray:
        # chars inside word w or the whitespace right before it -> w; prefix chars -> -1
        words = np.searchsorted(word_spans[:, 1], chars, side="right")
        return np.where(chars < sentence_start, -1, words)

    starts, ends = token_offsets[:, 0], token_offsets[:, 1]
    last = np.clip(np.maximum(ends - 1, starts), 0, max(text_end - 1, 0))
    token_word = owner(last)
    first_owner = owner(np.minimum(starts, last))
    bad = np.flatnonzero((first_owner != token_word) | (ends > text_end))
    if bad.size:
        t = int(bad[0])
        raise ValueError(
            f"{name}: token {t} at characters {starts[t]}:{ends[t]} does not lie within one word "
            f"(it reaches from word {first_owner[t]} to word {token_word[t]}; -1 = prefix)"
        )
    counts = np.bincount(token_word[token_word >= 0], minlength=n_words)
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        raise ValueError(f"{name}: word {int(empty[0])} got no token")
    return token_word


@dataclass(frozen=True)
class EncodedSentence:
    """A sentence's prompt as the model reads it, and the word of each token.

    Attributes
    ----------
    input_ids
        ``(n_tokens,)`` int64 token ids: the BOS token first (exactly once) when the model
        has one, then the prompt.
    token_word
        ``(n_tokens,)`` int64 word index of each token, ``-1`` for BOS and prefix tokens.
    n_words
        Number of whitespace words of the sentence.
    """

    input_ids: np.ndarray
    token_word: np.ndarray
    n_words: int

    def assignment(self) -> np.ndarray:
        """``(n_words, n_tokens)`` float32 assignment matrix, see :func:`assignment_matrix`."""
        return assignment_matrix(self.token_word, self.n_words)


_TOKENIZER_BOS = object()  # word_token_spans' default: the tokenizer's BOS, if it has one


def word_token_spans(
    tokenizer,
    words: Sequence[str],
    prefix: str = "",
    *,
    name: str | None = None,
    bos_id: int | None = _TOKENIZER_BOS,
) -> EncodedSentence:
    """Tokenise a sentence's prompt and map its tokens to the sentence's words.

    The prompt is tokenised as one text without special tokens, then ``bos_id`` is prepended
    by hand (whether a tokenizer adds BOS itself depends on how it was loaded); with no BOS
    nothing is prepended. Tokens of the prefix and BOS map to ``-1``.

    Parameters
    ----------
    tokenizer
        A fast Hugging Face tokenizer.
    words
        The sentence's whitespace words, none empty or holding whitespace.
    prefix
        The condition's prefix; ``""`` for the plain condition.
    name
        How to name the sentence in error messages (default: the sentence in quotes).
    bos_id
        The token to prepend, ``None`` for none (from :func:`readalike.models.bos.resolve_bos`);
        default: the tokenizer's ``bos_token_id`` (none if it has none).

    Raises
    ------
    ValueError
        If a word gets no token or a token spans two words (see :func:`assign_tokens`).
    """
    text, spans = prompt_text(words, prefix)
    name = name if name is not None else f"sentence {' '.join(words)!r}"
    if not words or any(not w or w != "".join(w.split()) for w in words):
        raise ValueError(f"{name}: words must be non-empty and hold no whitespace")
    if bos_id is _TOKENIZER_BOS:
        bos_id = tokenizer.bos_token_id
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    sentence_start = len(prefix) if prefix else 0
    token_word = assign_tokens(enc["offset_mapping"], spans, sentence_start, name=name)
    first = [] if bos_id is None else [int(bos_id)]
    return EncodedSentence(
        input_ids=np.array([*first, *enc["input_ids"]], dtype=np.int64),
        token_word=np.concatenate([[-1] * len(first), token_word]).astype(np.int64),
        n_words=len(words),
    )


def assignment_matrix(
    token_word: np.ndarray, n_words: int, n_tokens: int | None = None
) -> np.ndarray:
    """``(n_words, n_tokens)`` float32 ``M``, ``M[w, t] = 1`` iff token ``t`` is in word ``w``.

    Tokens with word ``-1`` (BOS, prefix) have a zero column; ``n_tokens`` pads with zero
    columns (right padding of a batch).
    """
    token_word = np.asarray(token_word)
    n_tokens = len(token_word) if n_tokens is None else n_tokens
    matrix = np.zeros((n_words, n_tokens), dtype=np.float32)
    tokens = np.flatnonzero(token_word >= 0)
    matrix[token_word[tokens], tokens] = 1.0
    return matrix


def reduce_to_words(attention: torch.Tensor, assignment: torch.Tensor) -> torch.Tensor:
    """Token attention to word attention: mean over query tokens, sum over key tokens.

    Parameters
    ----------
    attention
        ``(..., n_tokens, n_tokens)`` token attention (any float dtype; computed in float32).
    assignment
        ``(..., n_words, n_tokens)`` 0/1 assignment, broadcastable against ``attention``'s
        leading dimensions (e.g. ``(batch, 1, n_words, n_tokens)`` for ``(batch, heads, ...)``).
        All-zero rows (padding words) give zero rows.

    Returns
    -------
    torch.Tensor
        ``(..., n_words, n_words)`` float32, ``(M / counts) @ A @ M.T``.
    """
    assignment = assignment.to(device=attention.device, dtype=torch.float32)
    query = assignment / assignment.sum(-1, keepdim=True).clamp(min=1.0)
    return query @ attention.float() @ assignment.transpose(-1, -2)


# --------------------------------------------------------------------------------------------
# Extraction
# --------------------------------------------------------------------------------------------


def _is_attention(module: torch.nn.Module) -> bool:
    return type(module).__name__.endswith("Attention")


def _attention_modules(model) -> list[torch.nn.Module]:
    """The self-attention module of every layer, in layer order.

    The decoder layers are the model's first ``ModuleList`` of ``num_hidden_layers`` blocks
    that each hold a module whose class name ends in ``Attention`` (``model.layers``,
    ``transformer.h``, ``gpt_neox.layers``, ``model.decoder.layers``, ...); in each, the
    outermost such module is taken (GPT-Neo's ``GPTNeoAttention`` around its
    ``GPTNeoSelfAttention``). Attributes like ``layer_idx`` are not relied on: GPT-Neo's
    modules carry ``layer_id`` instead. The modules' forward returns ``(output,
    attention_weights, ...)``, the weights being ``None`` unless eager attention runs.

    Returns
    -------
    list
        One module per decoder layer, in layer order; empty if no such list is found.
    """
    n_layers = model.config.get_text_config().num_hidden_layers
    for _, blocks in model.named_modules():
        if not isinstance(blocks, torch.nn.ModuleList) or len(blocks) != n_layers:
            continue
        found = [next((m for m in block.modules() if _is_attention(m)), None) for block in blocks]
        if all(m is not None for m in found):
            return found
    return []


def _model_name(model) -> str:
    return str(getattr(model.config, "name_or_path", "") or type(model).__name__)


def extract_attention(
    model,
    tokenizer,
    sentences: Sequence[Sequence[str]],
    prefix: str,
    *,
    batch_size: int = 8,
    progress: bool = True,
    names: Sequence[str] | None = None,
    bos: str = "auto",
) -> list[np.ndarray]:
    """Word-level attention of every sentence, read after ``prefix``.

    Sentences are sorted by length and batched (right padding with an attention mask: the
    model is causal, so padding after a sentence changes none of its positions), one forward
    pass per batch. A hook on each layer's attention module reduces that layer's weights to
    words at once (:func:`reduce_to_words`); BOS and prefix positions are dropped.

    Parameters
    ----------
    model, tokenizer
        From :func:`load_causal_lm` (eager attention).
    sentences
        Each a list of whitespace words.
    prefix
        Condition prefix, ``""`` for the plain condition.
    batch_size
        Sentences per forward pass.
    progress
        Show a tqdm bar over batches.
    names
        Names of the sentences for error messages (default: index and text).
    bos
        The model's ``bos`` choice (``auto``, ``none`` or a token's text), resolved by
        :func:`readalike.models.bos.resolve_bos` against the tokenizer and ``model.config``.

    Returns
    -------
    list of ndarray
        Per sentence, in input order, ``(n_layers, n_heads, n_words, n_words)`` float16;
        causal (zero above the diagonal); rows sum to 1 minus the attention on BOS and prefix.

    Raises
    ------
    RuntimeError
        If not every layer returned attention weights (e.g. the model runs sdpa or flash
        attention, which return none).
    ValueError
        If a word gets no token, or the attention of a sentence holds NaN or inf.
    """
    if names is None:
        names = [f"sentence {i} {' '.join(words)!r}" for i, words in enumerate(sentences)]
    model_name = _model_name(model)
    bos_id, _ = resolve_bos(tokenizer, model.config, bos, model_name)
    encoded = [
        word_token_spans(tokenizer, words, prefix, name=name, bos_id=bos_id)
        for words, name in zip(sentences, names, strict=True)
    ]
    modules = decoder_attention_modules(model, model_name)
    n_layers = len(modules)
    embedding = model.get_input_embeddings().weight
    input_device = embedding.device
    # padded positions are masked; the id only has to lie inside the embedding (a GPT-NeoX
    # tokenizer's <|padding|> lies past a small checkpoint's vocabulary)
    pad = input_pad_id(tokenizer, embedding.shape[0])
    # base_model skips the LM head: (batch, tokens, vocab) logits would be the largest tensor
    backbone = getattr(model, "base_model", model)

    order = sorted(range(len(encoded)), key=lambda i: -len(encoded[i].input_ids))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    results: list[np.ndarray | None] = [None] * len(encoded)
    # this batch's word matrices, (batch, layers, heads, W, W) float16, filled layer by
    # layer, and how many layers have come
    words: np.ndarray | None = None
    n_captured = 0
    current: dict = {}  # this batch's (batch, 1, words, tokens) assignment, per device

    def hook(module, args, output):
        nonlocal words, n_captured
        weights = output[1] if isinstance(output, tuple) and len(output) > 1 else None
        if isinstance(weights, torch.Tensor) and weights.ndim == 4:
            # reduce this layer now, on its own device (layers may sit on several GPUs), and
            # keep only its word matrices, in the float16 they are stored in: a float32 list
            # of every layer plus its stacked copy held 4x the result, growing with depth
            if weights.device not in current:
                current[weights.device] = current["cpu"].to(weights.device)
            layer = reduce_to_words(weights, current[weights.device]).cpu().numpy()
            if words is None:
                words = np.empty((layer.shape[0], n_layers, *layer.shape[1:]), dtype=np.float16)
            if n_captured < n_layers:
                words[:, n_captured] = layer
            n_captured += 1

    handles = [m.register_forward_hook(hook) for m in modules]
    try:
        with torch.inference_mode():
            for batch in tqdm(batches, desc=f"attention {model_name}", disable=not progress):
                items = [encoded[i] for i in batch]
                length = max(len(e.input_ids) for e in items)
                max_words = max(e.n_words for e in items)
                input_ids = torch.full((len(items), length), pad, dtype=torch.long)
                mask = torch.zeros((len(items), length), dtype=torch.long)
                assignment = np.zeros((len(items), 1, max_words, length), dtype=np.float32)
                for b, e in enumerate(items):
                    n = len(e.input_ids)
                    input_ids[b, :n] = torch.from_numpy(e.input_ids)
                    mask[b, :n] = 1
                    assignment[b, 0, : e.n_words] = assignment_matrix(
                        e.token_word, e.n_words, length
                    )
                current.clear()
                current["cpu"] = torch.from_numpy(assignment)
                words, n_captured = None, 0
                backbone(
                    input_ids=input_ids.to(input_device),
                    attention_mask=mask.to(input_device),
                    use_cache=False,
                )
                if n_captured != n_layers:
                    impl = getattr(model.config, "_attn_implementation", "unknown")
                    raise RuntimeError(
                        f"{model_name}: got attention weights from {n_captured} of "
                        f"{n_layers} layers (attention implementation {impl!r}); load the model "
                        "with attn_implementation='eager' (load_causal_lm does)"
                    )
                for b, i in enumerate(batch):
                    n = encoded[i].n_words
                    # a float16 cast keeps NaN and inf, and word attention (at most 1) fits
                    matrix = words[b, :, :, :n, :n]
                    if not np.isfinite(matrix).all():
                        raise ValueError(f"{model_name}: {names[i]}: attention holds NaN or inf")
                    results[i] = matrix.copy()
    finally:
        for handle in handles:
            handle.remove()
        current.clear()
    return results


def attention_set(
    model,
    tokenizer,
    stimuli: Stimuli,
    condition: str,
    prefix: str,
    *,
    model_name: str,
    batch_size: int = 8,
    progress: bool = True,
    source: str = "",
    bos: str = "auto",
) -> AttentionSet:
    """The word-level attention of every stimulus sentence under one condition, per article.

    Flattens the articles, runs :func:`extract_attention` (sentences named by article and
    sentence in its errors, ``bos`` passed on) and regroups the matrices per article.

    Returns
    -------
    AttentionSet
        ``sentences[a][s]``: ``(n_layers, n_heads, n_words, n_words)`` float16, attrs
        ``prefix``, ``bos`` (how the BOS token was chosen: ``tokenizer``, ``config``,
        ``none`` or ``config:<text>``) and ``bos_id`` (``-1`` for none); write it with
        :func:`readalike.core.formats.write_attention`.
    """
    flat, names = flat_sentences(stimuli)
    matrices = extract_attention(
        model,
        tokenizer,
        flat,
        prefix,
        batch_size=batch_size,
        progress=progress,
        names=names,
        bos=bos,
    )
    bos_id, how = resolve_bos(tokenizer, model.config, bos, _model_name(model))
    grouped, start = [], 0
    for article in stimuli:
        grouped.append(matrices[start : start + len(article)])
        start += len(article)
    return AttentionSet(
        model=model_name,
        condition=condition,
        sentences=grouped,
        source=source,
        attrs={"prefix": prefix, "bos": how, "bos_id": -1 if bos_id is None else bos_id},
    )


def extract_conditions(
    model_path: str | os.PathLike,
    stimuli: Stimuli,
    conditions: Mapping[str, str],
    *,
    model_name: str,
    batch_size: int = 8,
    dtype: str = "float32",
    device: str = "cpu",
    progress: bool = True,
    n_threads: int | None = None,
    bos: str = "auto",
    checkpoint_facts: Mapping[str, object] | None = None,
) -> dict[str, AttentionSet]:
    """Load a model once and extract the word-level attention under every condition.

    Parameters
    ----------
    model_path
        Checkpoint folder or hub id, see :func:`load_causal_lm`.
    stimuli
        ``articles[a][s]`` -> words, from :func:`readalike.core.stimuli.read_stimuli`.
    conditions
        Condition name -> prompt prefix (``""`` for the plain condition), as in the config.
    model_name
        Name stored in the files (the config's model key, not the path).
    batch_size, dtype, device, progress
        See :func:`extract_attention` and :func:`load_causal_lm`.
    n_threads
        ``torch.set_num_threads`` for a CPU run (e.g. the rule's ``threads``); ``None`` leaves
        torch's default. Left set afterwards: a workflow script runs one extraction.
    bos
        The model's ``bos`` config choice (:func:`readalike.models.bos.resolve_bos`); the sets'
        attrs record which rule applied.
    checkpoint_facts
        What the workflow verified about a GGUF checkpoint
        (:func:`readalike.models.gguf.verify_gguf`): its quantisation, file and SHA-256 go
        into the sets' attrs with the dtype it was dequantised to
        (:func:`readalike.models.gguf.provenance_attrs`) and into the log.

    Returns
    -------
    dict
        Condition name -> :class:`~readalike.core.formats.AttentionSet`, in the order of
        ``conditions``; write each with :func:`readalike.core.formats.write_attention`.
    """
    if n_threads is not None:
        torch.set_num_threads(n_threads)
    model, tokenizer = load_causal_lm(model_path, dtype=dtype, device=device)
    bos_id, how = resolve_bos(tokenizer, model.config, bos, model_name)
    bos_text = "no BOS" if bos_id is None else f"BOS {bos_id} ({how}) added by hand"
    weights = provenance_attrs(checkpoint_facts or {}, model.dtype)
    if weights:
        logger.info("%s: %s", model_name, describe(checkpoint_facts, model.dtype))
    source = (
        f"readalike.models.extraction from {model_path}: eager attention in {dtype}, {bos_text}, "
        "BOS and prefix dropped, query tokens averaged and key tokens summed per word"
    )
    if weights:
        source += f"; {describe(checkpoint_facts, model.dtype)}"
    sets = {}
    for condition, prefix in conditions.items():
        sets[condition] = attention_set(
            model,
            tokenizer,
            stimuli,
            condition,
            prefix,
            model_name=model_name,
            batch_size=batch_size,
            progress=progress,
            source=source,
            bos=bos,
        )
        sets[condition].attrs.update(model_path=str(model_path), dtype=str(dtype), **weights)
        logger.info("%s: %s condition extracted", model_name, condition)
    return sets


@contextlib.contextmanager
def frozen_weights(model) -> Iterator[None]:
    """Freeze the parameters, so the graph keeps no activations for weight gradients."""
    flags = [(p, p.requires_grad) for p in model.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


def flat_sentences(stimuli) -> tuple[list[Sequence[str]], list[str]]:
    """The sentences of ``stimuli[a][s]`` (lists of words) in one list, with the name each
    error and progress line gives them (article, sentence and text)."""
    flat = [words for article in stimuli for words in article]
    names = [
        f"article {a} sentence {s} {' '.join(words)!r}"
        for a, article in enumerate(stimuli)
        for s, words in enumerate(article)
    ]
    return flat, names


def decoder_attention_modules(model, model_name: str) -> list[torch.nn.Module]:
    """The attention module of every decoder layer, in order; one line refuses a model
    where they cannot all be found."""
    modules = _attention_modules(model)
    n_layers = model.config.get_text_config().num_hidden_layers
    if len(modules) != n_layers:
        raise RuntimeError(
            f"{model_name} ({type(model).__name__}): found no list of {n_layers} decoder "
            "layers holding an attention module; this architecture is not supported"
        )
    return modules
