"""Word vocabularies, word vectors from a model's embeddings, and the modules to read.

Both analyses of arXiv 2310.00492 that look inside the weights (feed-forward concepts,
:mod:`readalike.study_b.ffn_concepts`; self-attention word pairs,
:mod:`readalike.study_b.head_pairs`)
describe a direction of the model by the words of a vocabulary it points to. This module
gives them their three inputs:

* a vocabulary: the released ``SingleShareGPT_Vocab.tsv`` (:func:`read_vocabulary`) or,
  offline, the words of text shipped with the project (:func:`vocabulary_from_text`);
* one vector per word: the mean of the embedding rows of the word's sub-tokens
  (:func:`word_token_ids`, :func:`word_vectors`);
* the weights to read, found by attribute rather than by a guessed parameter name
  (:func:`modules_of`).
"""

from __future__ import annotations

import collections
import logging
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

logger = logging.getLogger(__name__)

#: Pieces a tokenizer uses for "a space starts here". Encoding ``" " + word`` with a
#: SentencePiece (``▁``) or byte-level BPE (``Ġ``) tokenizer may yield such a piece on its
#: own before the word's pieces; it carries no meaning of the word and is dropped.
SPACE_MARKERS = ("\u2581", "\u0120")

#: A word of running text: letters or digits, with inner apostrophes or hyphens kept
#: ("don't", "well-known"), so that stripping punctuation never splits a word.
_WORD = re.compile(r"[^\W_]+(?:['\u2019\-][^\W_]+)*")


@dataclass(frozen=True)
class Vocabulary:
    """Words with their frequencies, most frequent first.

    Attributes
    ----------
    words : list of str
        ``n_words`` distinct words.
    frequency : numpy.ndarray
        ``(n_words,)`` float64, non-increasing: a relative frequency (the released file)
        or a count (:func:`vocabulary_from_text`).
    """

    words: list[str]
    frequency: np.ndarray

    def __len__(self) -> int:
        return len(self.words)

    def most_frequent(self, n: int) -> list[str]:
        """The ``n`` most frequent words (all of them if there are fewer)."""
        return self.words[:n]


def _sorted_vocabulary(counts: dict[str, float]) -> Vocabulary:
    # Stable sort: ties keep first-seen order, so the order is reproducible from the input.
    items = sorted(counts.items(), key=lambda item: -item[1])
    return Vocabulary(
        words=[word for word, _ in items],
        frequency=np.array([freq for _, freq in items], dtype=np.float64),
    )


def read_vocabulary(path: str | os.PathLike, merge_case: bool = True) -> Vocabulary:
    """Read a word-frequency table such as the released ``SingleShareGPT_Vocab.tsv``.

    Format: UTF-8 text, one word per line, ``word<TAB>frequency``, no header; blank
    lines are skipped (the released file ends with one).

    Parameters
    ----------
    path
        The TSV file.
    merge_case
        Merge case variants of a word ("The", "THE", "the") into the form seen first,
        summing their frequencies, as the authors' loader does: their analyses compare
        words lowercased, so unmerged variants would count one word twice.

    Returns
    -------
    Vocabulary
        Words sorted by (merged) frequency, most frequent first. The authors kept the
        order of first appearance after merging; sorting again only moves words whose
        merged frequency overtakes a neighbour's, and makes "the n most frequent words"
        literally true.

    Raises
    ------
    ValueError
        If a line has not exactly two tab-separated fields, an empty word or one with
        whitespace inside, a frequency that is not a finite non-negative number, or
        repeats a word exactly; or if the file holds no word. The message names the file
        and the line.
    """
    path = Path(path)
    counts: dict[str, float] = {}
    seen_at: dict[str, int] = {}
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) != 2:
                raise ValueError(
                    f"{path}, line {line_no}: expected 'word<TAB>frequency', "
                    f"found {len(fields)} tab-separated fields"
                )
            word, raw = fields[0].strip(), fields[1].strip()
            if not word:
                raise ValueError(f"{path}, line {line_no}: empty word")
            if any(char.isspace() for char in word):
                # Words are later encoded as " " + word and joined by spaces in tables.
                raise ValueError(f"{path}, line {line_no}: word {word!r} contains whitespace")
            try:
                freq = float(raw)
            except ValueError:
                raise ValueError(
                    f"{path}, line {line_no}: frequency {raw!r} of {word!r} is not a number"
                ) from None
            if not math.isfinite(freq) or freq < 0:
                raise ValueError(
                    f"{path}, line {line_no}: frequency {raw!r} of {word!r} is not a finite "
                    "non-negative number"
                )
            if word in seen_at:
                raise ValueError(
                    f"{path}, line {line_no}: word {word!r} repeats line {seen_at[word]}"
                )
            seen_at[word] = line_no
            if merge_case:
                for variant in (word.lower(), word.upper(), word.capitalize()):
                    if variant in counts:
                        word = variant
                        break
            counts[word] = counts.get(word, 0.0) + freq
    if not counts:
        raise ValueError(f"{path}: no word found; expected 'word<TAB>frequency' lines")
    vocabulary = _sorted_vocabulary(counts)
    logger.info("read %d words from %s", len(vocabulary), path)
    return vocabulary


def vocabulary_from_text(texts: Iterable[str], min_count: int = 1) -> Vocabulary:
    """Count the words of running text: the offline stand-in for the released vocabulary.

    Words are lowercased; punctuation is stripped (a word is a run of letters or digits,
    inner apostrophes and hyphens kept), so "Write," and "write" are one word.

    Parameters
    ----------
    texts
        Any strings (sentences, documents).
    min_count
        Keep words seen at least this often.

    Returns
    -------
    Vocabulary
        ``frequency`` holds counts; most frequent first, ties in first-seen order.

    Raises
    ------
    ValueError
        If no word reaches ``min_count``.
    """
    counter: collections.Counter[str] = collections.Counter()
    for text in texts:
        counter.update(_WORD.findall(text.lower()))
    counts = {word: float(count) for word, count in counter.items() if count >= min_count}
    if not counts:
        raise ValueError(f"no word occurs at least min_count={min_count} times in the texts")
    return _sorted_vocabulary(counts)


def word_token_ids(tokenizer, words: Sequence[str]) -> list[list[int]]:
    """Token ids of each word as it appears inside running text.

    Each word is encoded as ``" " + word`` without special tokens, so that it gets the
    word-initial pieces it has mid-sentence (``▁write``, not ``write``). A lone leading
    space piece (``▁`` or ``Ġ``), which some tokenizers emit before the word, is dropped,
    as the authors do.

    Parameters
    ----------
    tokenizer
        A Hugging Face tokenizer (called on a list of strings).
    words
        ``n_words`` words.

    Returns
    -------
    list of list of int
        ``n_words`` ragged id lists, none empty.

    Raises
    ------
    ValueError
        If a word yields no token (e.g. it is empty or only whitespace); names the word.
    """
    encoded = tokenizer([" " + word for word in words], add_special_tokens=False)["input_ids"]
    vocab = tokenizer.get_vocab()
    markers = {vocab[piece] for piece in SPACE_MARKERS if piece in vocab}
    ids_per_word: list[list[int]] = []
    for word, ids in zip(words, encoded, strict=True):
        ids = list(ids)
        if ids and ids[0] in markers:
            ids = ids[1:]
        if not word.strip() or not ids:
            raise ValueError(f"word {word!r} has no token of its own in the tokenizer")
        ids_per_word.append(ids)
    return ids_per_word


def word_vectors(
    embedding_matrix: torch.Tensor | np.ndarray,
    token_ids: Sequence[Sequence[int]],
    normalize: bool = False,
) -> torch.Tensor:
    """Mean of each word's sub-token embedding rows.

    Parameters
    ----------
    embedding_matrix
        ``(vocab_size, hidden)`` input or output embedding weights, any float dtype.
    token_ids
        ``n_words`` non-empty id lists (from :func:`word_token_ids`).
    normalize
        Scale every word vector to unit L2 norm (a zero vector stays zero).

    Returns
    -------
    torch.Tensor
        ``(n_words, hidden)`` float32, on the embedding's device.
    """
    weight = torch.as_tensor(embedding_matrix)
    lengths = torch.tensor([len(ids) for ids in token_ids], dtype=torch.long)
    flat = torch.tensor([i for ids in token_ids for i in ids], dtype=torch.long)
    offsets = torch.cumsum(lengths, 0) - lengths
    # embedding_bag sums and divides inside one kernel, so the (n_tokens, hidden) block
    # of gathered rows (850 MB for 26k words of a 7B model) is never materialised.
    vectors = torch.nn.functional.embedding_bag(
        flat.to(weight.device),
        weight.float(),
        offsets.to(weight.device),
        mode="mean",
    )
    if normalize:
        vectors = torch.nn.functional.normalize(vectors, dim=-1)
    return vectors


@dataclass(frozen=True)
class LayerModules:
    """The modules of one decoder layer that the weight analyses read."""

    down_proj: torch.nn.Module
    q_proj: torch.nn.Module
    k_proj: torch.nn.Module
    input_layernorm: torch.nn.Module


@dataclass(frozen=True)
class ModelModules:
    """Where the analysed weights of a decoder-only model live, and its attention shape.

    Attributes
    ----------
    layers
        One :class:`LayerModules` per decoder layer, bottom first.
    input_embeddings, output_embeddings
        ``(vocab_size, hidden)`` weights of the token embedding and of the LM head.
    n_heads, n_kv_heads, head_dim, hidden_size
        From the model's config; ``n_kv_heads < n_heads`` is grouped-query attention.
    """

    layers: list[LayerModules]
    input_embeddings: torch.Tensor
    output_embeddings: torch.Tensor
    n_heads: int
    n_kv_heads: int
    head_dim: int
    hidden_size: int

    @property
    def n_layers(self) -> int:
        return len(self.layers)


def _module_at(root: torch.nn.Module, dotted: str, model_name: str) -> torch.nn.Module:
    module = root
    for part in dotted.split("."):
        module = getattr(module, part, None)
        if module is None:
            raise ValueError(
                f"model {model_name!r} ({type(root).__name__}) has no module {dotted!r}; "
                "the weight analyses know LLaMA-style decoders (LLaMA, Vicuna, Mistral) "
                "with model.layers[i].mlp.down_proj, self_attn.q_proj, self_attn.k_proj "
                "and input_layernorm"
            )
    return module


def modules_of(model: torch.nn.Module, model_name: str) -> ModelModules:
    """Find the feed-forward down projections, q/k projections and input norms per layer.

    The attributes are checked, not assumed: LLaMA and Mistral share the names
    ``model.layers[i].mlp.down_proj``, ``self_attn.q_proj``, ``self_attn.k_proj`` and
    ``input_layernorm``; another architecture fails here with a message rather than
    later with a wrong result.

    Parameters
    ----------
    model
        A causal LM such as ``LlamaForCausalLM``.
    model_name
        Named in error messages.

    Raises
    ------
    ValueError
        If a module is missing (the message names the model and the module), if the q/k
        projections carry a bias (the word-pair analysis reads weights only), or if the
        norm is Gemma's, whose gain is ``1 + weight`` rather than ``weight``.
    """
    config = getattr(model, "config", None)
    if config is None:
        raise ValueError(f"model {model_name!r} ({type(model).__name__}) has no config")
    model_type = str(getattr(config, "model_type", ""))
    if model_type.startswith("gemma"):
        raise ValueError(
            f"model {model_name!r}: {model_type} norms scale by 1 + weight; "
            "folding the norm gain into q/k assumes a LLaMA-style RMSNorm"
        )
    layer_list = _module_at(model, "model.layers", model_name)
    layers = []
    for index, layer in enumerate(layer_list):
        found = {}
        for key, dotted in (
            ("down_proj", "mlp.down_proj"),
            ("q_proj", "self_attn.q_proj"),
            ("k_proj", "self_attn.k_proj"),
            ("input_layernorm", "input_layernorm"),
        ):
            found[key] = _module_at(layer, dotted, f"{model_name} layer {index}")
            if getattr(found[key], "weight", None) is None:
                raise ValueError(
                    f"model {model_name!r} layer {index}: module {dotted!r} has no weight"
                )
        for key in ("q_proj", "k_proj"):
            if getattr(found[key], "bias", None) is not None:
                raise ValueError(
                    f"model {model_name!r} layer {index}: self_attn.{key} has a bias, "
                    "which the word-pair analysis (weights only) would ignore"
                )
        layers.append(LayerModules(**found))
    input_embeddings = model.get_input_embeddings()
    output_embeddings = model.get_output_embeddings()
    if input_embeddings is None or output_embeddings is None:
        raise ValueError(f"model {model_name!r} lacks input or output embeddings")
    n_heads = int(config.num_attention_heads)
    n_kv_heads = int(getattr(config, "num_key_value_heads", None) or n_heads)
    hidden_size = int(config.hidden_size)
    head_dim = int(getattr(config, "head_dim", None) or hidden_size // n_heads)
    if n_heads % n_kv_heads:
        raise ValueError(
            f"model {model_name!r}: {n_heads} attention heads are not a multiple of "
            f"{n_kv_heads} key/value heads"
        )
    return ModelModules(
        layers=layers,
        input_embeddings=input_embeddings.weight.detach(),
        output_embeddings=output_embeddings.weight.detach(),
        n_heads=n_heads,
        n_kv_heads=n_kv_heads,
        head_dim=head_dim,
        hidden_size=hidden_size,
    )
