"""Which prompt tokens are the instruction: annotated fragments aligned to a model's tokens.

Part of the input-attribution analysis of arXiv 2310.00492 (:mod:`readalike.study_b.attribution`
takes the gradients, :mod:`readalike.study_b.instruction_focus` scores them). The instruction
tokens are the prompt sentences that contain the annotated instruction fragments
found in one of two ways:

* a live model's prompt (any fast tokenizer: byte-level BPE, SentencePiece/Unigram,
  WordPiece): by **character offsets** (:func:`instruction_mask_from_offsets`): a token is
  an instruction token when its character span overlaps an instruction sentence's, as the
  word mapping of Study A does. Nothing depends on how the tokenizer spells a space or a
  newline, or on what it merges (Qwen-style pre-tokenisation makes ``.\n\n`` one token,
  which then counts for the sentence whose full stop it holds);
* the released pickles, which hold only SentencePiece token strings and no tokenizer:
  by the tokens' surface bytes (:func:`instruction_token_mask`, :func:`piece_bytes`).

Decisions (the authors' code: JacksonWuxs/Interpret_Instruction_Tuning_LLMs,
``src/analysis_*.py``):

* **Sentence widening** follows the authors' rule (sentences end at newlines and after
  ``.``, ``!``, ``?`` or ``:`` followed by whitespace), but a fragment is widened to every
  sentence its first occurrence overlaps, located by character position; the authors match
  each fragment sentence to the first prompt sentence containing it as a substring, so an
  empty piece (e.g. the trailing space of ``"Input: "``) matched the first sentence of the
  prompt. The template markers ``Input:`` and ``Output:`` are never instruction sentences
  (the authors strip ``Input:`` too). Empty fragments are ignored.

Needs no torch: the released matrices are aligned here too.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

#: Sentences that the prompt template adds; they are never instruction sentences.
TEMPLATE_MARKERS = frozenset({"Input:", "Output:"})

#: A sentence ends at a newline, or after ``.``, ``!``, ``?`` or ``:`` followed by whitespace.
_SENTENCE_BOUNDARY = re.compile(r"\n|(?<=[.!?:])\s+")
#: SentencePiece's byte-fallback pieces, e.g. ``<0x0A>`` for a newline.
_BYTE_PIECE = re.compile(r"<0x([0-9A-Fa-f]{2})>")
#: SentencePiece's word-boundary marker (U+2581), standing for a space before the piece.
WORD_BOUNDARY = "\u2581"


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans ``[start, end)`` of the sentences of ``text``, whitespace trimmed.

    Sentences end at newlines and after ``.``, ``!``, ``?`` or ``:`` followed by whitespace;
    empty sentences are dropped.
    """
    spans = []
    start = 0
    bounds = [(m.start(), m.end()) for m in _SENTENCE_BOUNDARY.finditer(text)]
    for stop, next_start in [*bounds, (len(text), len(text))]:
        piece = text[start:stop]
        stripped = piece.strip()
        if stripped:
            lead = len(piece) - len(piece.lstrip())
            spans.append((start + lead, start + lead + len(stripped)))
        start = next_start
    return spans


def instruction_sentences(
    prompt_text: str, fragments: Sequence[str], prompt_id: str
) -> list[tuple[int, int]]:
    """Widen annotated fragments to the prompt sentences they overlap.

    Parameters
    ----------
    prompt_text
        The prompt as the model saw it (decoded, with real newlines).
    fragments
        Annotated instruction fragments; each is located at its first occurrence in
        ``prompt_text`` (surrounding whitespace ignored; empty fragments skipped).
    prompt_id
        Names the prompt in errors.

    Returns
    -------
    list of (int, int)
        Sorted, distinct character spans of the instruction sentences; the template markers
        ``Input:`` / ``Output:`` are left out.

    Raises
    ------
    ValueError
        If a fragment does not occur in the prompt, naming ``prompt_id`` and the fragment.
    """
    spans = sentence_spans(prompt_text)
    starts = np.array([s for s, _ in spans], dtype=np.int64)
    ends = np.array([e for _, e in spans], dtype=np.int64)
    chosen: set[int] = set()
    for fragment in fragments:
        fragment = fragment.strip()
        if not fragment:
            continue
        at = prompt_text.find(fragment)
        if at < 0:
            raise ValueError(
                f"{prompt_id}: instruction fragment {fragment!r} does not occur in the prompt"
            )
        overlap = np.flatnonzero((starts < at + len(fragment)) & (ends > at))
        chosen.update(int(i) for i in overlap)
    return [
        spans[i] for i in sorted(chosen) if prompt_text[slice(*spans[i])] not in TEMPLATE_MARKERS
    ]


@functools.lru_cache(maxsize=1 << 16)
def piece_bytes(token: str) -> bytes:
    """The UTF-8 bytes a SentencePiece token stands for: ``▁`` -> space, ``<0xNN>`` -> byte."""
    match = _BYTE_PIECE.fullmatch(token)
    if match:
        return bytes([int(match.group(1), 16)])
    return token.replace(WORD_BOUNDARY, " ").encode("utf-8")


@dataclass(frozen=True)
class _Surface:
    """The tokens' joined surface bytes and which byte offsets are token edges."""

    joined: bytes
    start_at: dict[int, int]  # byte offset -> index of the token a run may start at
    end_at: dict[int, int]  # byte offset -> index one past the token ending there


def _surface(tokens: Sequence[str]) -> _Surface:
    surfaces = [piece_bytes(t) for t in tokens]
    lengths = np.fromiter((len(s) for s in surfaces), dtype=np.int64, count=len(surfaces))
    ends = np.cumsum(lengths)
    starts = ends - lengths
    start_at = {int(s): i for i, s in enumerate(starts) if lengths[i]}
    # '▁Word' covers ' Word': a sentence starting at 'Word' starts at that token
    for i, surface in enumerate(surfaces):
        if surface.startswith(b" ") and len(surface) > 1:
            start_at.setdefault(int(starts[i]) + 1, i)
    end_at = {int(e): i + 1 for i, e in enumerate(ends) if lengths[i]}
    return _Surface(b"".join(surfaces), start_at, end_at)


def _find_surface_run(surface: _Surface, sentence: str) -> tuple[int, int] | None:
    """First run of tokens whose joined surface is ``sentence``, boundaries on token edges.

    A token's leading word-boundary marker stands for the space before the word, so a run
    may start one byte into a token whose surface begins with a space.
    """
    pattern = sentence.encode("utf-8")
    at = surface.joined.find(pattern)
    while at >= 0:
        first, stop = surface.start_at.get(at), surface.end_at.get(at + len(pattern))
        if first is not None and stop is not None and stop > first:
            return first, stop
        at = surface.joined.find(pattern, at + 1)
    return None


def _trim_markers(pieces: list[str]) -> list[str]:
    """Drop lone ``▁`` and newline pieces at both ends (tokenising in isolation adds them)."""
    lone = {WORD_BOUNDARY, "<0x0A>", "\n"}
    lo, hi = 0, len(pieces)
    while lo < hi and pieces[lo] in lone:
        lo += 1
    while hi > lo and pieces[hi - 1] in lone:
        hi -= 1
    return pieces[lo:hi]


def _find_token_run(tokens: Sequence[str], pattern: Sequence[str]) -> tuple[int, int] | None:
    """First exact occurrence of ``pattern`` in ``tokens``, the first piece's ``▁`` optional.

    Tokenising a sentence on its own prefixes its first piece with the word-boundary marker,
    which the same word lacks in context after a newline; both sides drop it for the
    first piece only.
    """
    pattern = _trim_markers(list(pattern))
    if not pattern:
        return None
    head, rest, k = pattern[0].removeprefix(WORD_BOUNDARY), list(pattern[1:]), len(pattern)
    for i in range(len(tokens) - k + 1):
        if tokens[i].removeprefix(WORD_BOUNDARY) == head and list(tokens[i + 1 : i + k]) == rest:
            return i, i + k
    return None


def instruction_mask_from_offsets(
    offsets: Sequence[tuple[int, int]] | np.ndarray,
    prompt_text: str,
    fragments: Sequence[str],
    prompt_id: str,
) -> np.ndarray:
    """Mark the tokens whose character span overlaps an instruction sentence.

    Parameters
    ----------
    offsets
        ``(n_prompt, 2)`` character ``[start, end)`` of each prompt token in
        ``prompt_text`` (``return_offsets_mapping=True`` of a fast tokenizer, no BOS).
        Empty spans (special tokens) are never instruction tokens.
    prompt_text
        The text the offsets index.
    fragments
        Annotated instruction fragments (:func:`instruction_sentences`).
    prompt_id
        Names the prompt in errors.

    Returns
    -------
    np.ndarray
        ``(n_prompt,)`` bool.

    Raises
    ------
    ValueError
        If a fragment is not in the prompt, or no token overlaps one of its sentences
        (e.g. offsets that do not index ``prompt_text``), naming ``prompt_id``.
    """
    spans = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
    starts, ends = spans[:, 0], spans[:, 1]
    mask = np.zeros(len(spans), dtype=bool)
    for first, stop in instruction_sentences(prompt_text, fragments, prompt_id):
        hit = (starts < stop) & (ends > first) & (ends > starts)
        if not hit.any():
            raise ValueError(
                f"{prompt_id}: no token overlaps instruction sentence "
                f"{prompt_text[first:stop]!r} (characters {first}-{stop})"
            )
        mask |= hit
    return mask


def instruction_token_mask(
    prompt_tokens: Sequence[str],
    prompt_text: str,
    fragments: Sequence[str],
    prompt_id: str,
    tokenize: Callable[[str], Sequence[str]] | None = None,
) -> np.ndarray:
    """Mark the prompt tokens that belong to an instruction sentence.

    Each fragment is widened to the sentences it overlaps (:func:`instruction_sentences`),
    and each sentence is located in the token sequence by exact sub-sequence search, first
    occurrence:

    * ``tokenize=None`` (the released data, where only SentencePiece token strings exist):
      the search runs over the tokens' surface bytes (``▁`` -> space, ``<0xNN>`` -> byte),
      for a contiguous run of tokens that spells the sentence exactly, starting and ending
      on token edges (a run may start after the ``▁`` of its first token);
    * ``tokenize`` given (SentencePiece-style tokenizers only; live models use
      :func:`instruction_mask_from_offsets`, which works for every tokenizer): the
      sentence is tokenised on its own, lone ``▁`` / newline pieces at its ends are dropped,
      and the pieces are searched in ``prompt_tokens`` token by token, the first piece
      compared without its ``▁``.

    Parameters
    ----------
    prompt_tokens
        (n_prompt,) token strings of the prompt, without BOS.
    prompt_text
        The prompt text the tokens came from.
    fragments
        Annotated instruction fragments.
    prompt_id
        Names the prompt in errors.
    tokenize
        Optional tokeniser, text -> token strings.

    Returns
    -------
    np.ndarray
        (n_prompt,) bool, True on instruction tokens.

    Raises
    ------
    ValueError
        If a fragment or one of its sentences cannot be found, naming ``prompt_id``.
    """
    mask = np.zeros(len(prompt_tokens), dtype=bool)
    surface = _surface(prompt_tokens) if tokenize is None else None
    for start, stop in instruction_sentences(prompt_text, fragments, prompt_id):
        sentence = prompt_text[start:stop]
        if surface is not None:
            run = _find_surface_run(surface, sentence)
        else:
            run = _find_token_run(prompt_tokens, tokenize(sentence))
        if run is None:
            raise ValueError(
                f"{prompt_id}: instruction sentence {sentence!r} not found in the prompt tokens"
            )
        mask[run[0] : run[1]] = True
    return mask
