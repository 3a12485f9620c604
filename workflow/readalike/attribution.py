"""Gradient x input attribution of prompt tokens and the instruction score.

Implements the input-attribution analysis of arXiv 2310.00492 (Wu et al., "From Language
Modeling to Instruction Following", NAACL 2024) as specified for this project:

1. The prompt is written raw, ``"<instruction>\\n\\nInput: <context>\\n\\nOutput:"``
   (:func:`format_prompt`), and the model answers greedily (:func:`generate_response`).
2. One teacher-forced forward pass over ``BOS + prompt + response`` with ``inputs_embeds``
   gives, for every response token ``m`` and prompt token ``n``,
   ``I[n, m] = (d p(y_m | y_<m, prompt) / d e_n) . e_n``: the gradient of the softmax
   *probability* of the token the model actually produced with respect to the input
   embedding row ``e_n``, dotted with that row, sign kept (:func:`attribution_matrix`).
3. Each column is discretised, ``S = ceil(L * max(I, 0) / max_n max(I, 0))`` with levels at
   or below ``b`` zeroed (:func:`discretise`); the density of a prompt token is the
   ``L1 / L4`` ratio of its row, scaled by the prompt's largest (:func:`importance_density`).
4. The instruction score sums the densities of the instruction tokens with a ``log2``
   length discount (:func:`instruction_score`); instruction tokens are the prompt sentences
   that contain the annotated fragments (:func:`instruction_token_mask`).
5. Base and tuned models are compared with a one-sided Welch t-test
   (:func:`welch_one_sided`).

Decisions and deviations from the authors' code (JacksonWuxs/Interpret_Instruction_Tuning_LLMs,
``src/generator.py``, ``src/utils.py``, ``src/analysis_*.py``):

* **BOS.** The forward pass sees ``BOS + prompt + response`` (LLaMA models were trained
  with a BOS and behave differently without one), but the BOS row is never attributed: the
  rows of ``I`` are exactly the prompt tokens after BOS, so ``"BOS excluded from the
  inputs"`` means excluded from the attributed inputs. This is also what the authors do
  (they slice the gradient from row 1). BOS is added explicitly from
  ``model.config.bos_token_id``; prompts are tokenised with ``add_special_tokens=False``.
* **Response tokens.** We attribute the generated token ids as they came out of
  :func:`generate_response` (EOS and anything after it removed). The authors decode the
  response to text and re-tokenise ``prompt.strip() + " " + response.strip()``, which can
  change the first response token; we keep the ids the model scored.
* **Batched gradients.** The gradient is taken in two steps over one retained graph. First
  one ordinary backward pass from ``sum_m p(y_m)`` to the input ``h`` of the LM head (the
  output-embedding module, found through ``get_output_embeddings`` and a forward hook, so no
  layer names are assumed): the head and the softmax work position by position, so row
  ``m`` of that gradient is ``d p(y_m) / d h_m`` alone. Then batched vector-Jacobian
  products (``torch.autograd.grad(..., is_grads_batched=True)``) from ``h`` to the input
  embeddings, one cotangent per response token in chunks of ``chunk_size``, each that row
  and zeros elsewhere. The vocabulary-sized part of the backward thus runs once instead of
  once per token. The authors run one backward per response token, kept here as
  :func:`attribution_loop`, the reference; both give the same matrix to float32 rounding.
  What batching saves is the per-operation overhead of the autograd engine, which dominates
  for small models (and per kernel launch on GPUs); once the batched tensors no longer fit
  in cache, the CPU is bound by memory traffic, because the batched backward does the same
  arithmetic as the loop. ``benchmarks/bench_attribution.py`` measures it on the demo model.
  Operations without a batching rule in torch 2.13 (``silu_backward``,
  ``_softmax_backward_data``, the CPU flash-attention backward) are looped over the chunk
  by torch; composing them from batchable operations was measured and gave no speed-up on
  the demo model, and it changed the rounding, so the model runs as loaded.
* **Precision.** :func:`attribution_matrix` computes in the model's own dtype and device
  placement (for ``device_map="auto"`` the inputs go to the input embedding's device; not
  tested here, where there is no GPU), takes
  the softmax in float32 and accumulates the dot products ``g_n . e_n`` in float32 (float64
  for a float64 model). Parameters are frozen during the computation so that the graph
  keeps no activations for weight gradients. What a 7B LLaMA needs (estimates, not
  measured here): the authors cast it to float32 and spread it over two 48 GB GPUs; float32
  weights are 27 GB, the retained graph of one ~500-token sequence roughly 5 GB, and each
  batched backward adds ``chunk_size`` copies of one layer's activation gradients (about
  2 GB at ``chunk_size=16``), so float32 also fits one 80 GB GPU. bfloat16 weights with
  ``device_map="auto"`` halve the weights to 13.5 GB, but bfloat16 activations keep about
  three significant digits: on tiny random LLaMAs the attribution differed from float32
  with the same weights by 3-12% of its largest entry and 4-25% of the heat-map levels
  changed, so float32 (the authors' choice) is the one to use for scores.
* **Columns whose maximum is 0** (no prompt token raises the probability) discretise to all
  zeros; the authors divide by ``max + 1e-7`` instead, which also damps columns whose
  maximum is below about 1e-6 -- we do not damp them.
* **Sentence widening** follows the authors' rule (sentences end at newlines and after
  ``.``, ``!``, ``?`` or ``:`` followed by whitespace), but a fragment is widened to every
  sentence its first occurrence overlaps, located by character position; the authors match
  each fragment sentence to the first prompt sentence containing it as a substring, so an
  empty piece (e.g. the trailing space of ``"Input: "``) matched the first sentence of the
  prompt. The template markers ``Input:`` and ``Output:`` are never instruction sentences
  (the authors strip ``Input:`` too). Empty fragments are ignored.
* **Empty responses** raise ``ValueError``; the authors scored them 0.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats

logger = logging.getLogger(__name__)

#: Sentences that the prompt template adds; they are never instruction sentences.
TEMPLATE_MARKERS = frozenset({"Input:", "Output:"})

#: A sentence ends at a newline, or after ``.``, ``!``, ``?`` or ``:`` followed by whitespace.
_SENTENCE_BOUNDARY = re.compile(r"\n|(?<=[.!?:])\s+")
#: SentencePiece's byte-fallback pieces, e.g. ``<0x0A>`` for a newline.
_BYTE_PIECE = re.compile(r"<0x([0-9A-Fa-f]{2})>")
#: SentencePiece's word-boundary marker (U+2581), standing for a space before the piece.
WORD_BOUNDARY = "\u2581"


# --------------------------------------------------------------------------- prompting


def format_prompt(instruction: str, context: str | None = None, chat_tokenizer=None) -> str:
    """Write an instruction (and optional context) as the raw prompt of the paper.

    Parameters
    ----------
    instruction
        The task, e.g. ``"Rewrite the given text and correct grammar."``.
    context
        The task's input, written after ``Input:``; ``None`` or empty leaves it out.
    chat_tokenizer
        Only when configured: a tokenizer whose chat template wraps the raw prompt as one
        user turn (with the generation prompt). ``None`` (the default, as in the paper)
        returns the raw prompt.

    Returns
    -------
    str
        ``"<instruction>\\n\\nInput: <context>\\n\\nOutput:"`` or, without context,
        ``"<instruction>\\n\\nOutput:"``.
    """
    parts = [instruction.strip()]
    if context is not None and context.strip():
        parts.append(f"Input: {context.strip()}")
    parts.append("Output:")
    prompt = "\n\n".join(parts)
    if chat_tokenizer is not None:
        prompt = chat_tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
        )
    return prompt


@dataclass(frozen=True)
class Generation:
    """A prompt and the model's greedy response, as token ids without BOS or EOS."""

    prompt_ids: list[int]
    response_ids: list[int]
    response_text: str


def encode_prompt(tokenizer, prompt: str) -> list[int]:
    """Token ids of ``prompt`` without BOS (BOS is added explicitly before the forward pass).

    A chat template may write the BOS text itself; such a leading BOS is dropped so that the
    model sees exactly one.
    """
    ids = list(tokenizer(prompt, add_special_tokens=False)["input_ids"])
    if ids and tokenizer.bos_token_id is not None and ids[0] == tokenizer.bos_token_id:
        ids = ids[1:]
    return ids


def _bos_id(model, bos_token_id: int | None) -> int:
    bos = model.config.bos_token_id if bos_token_id is None else bos_token_id
    if bos is None:
        raise ValueError("the model config has no bos_token_id; pass bos_token_id explicitly")
    return int(bos)


def _eos_ids(model, tokenizer) -> set[int]:
    eos = model.generation_config.eos_token_id
    if eos is None:
        eos = tokenizer.eos_token_id
    if eos is None:
        return set()
    return {int(e) for e in (eos if isinstance(eos, list | tuple) else [eos])}


def generate_response(
    model,
    tokenizer,
    prompt: str,
    max_new_tokens: int,
    prompt_id: str = "<prompt>",
    bos_token_id: int | None = None,
) -> Generation:
    """Answer ``prompt`` greedily and return prompt and response token ids.

    Parameters
    ----------
    model
        A causal LM (``transformers`` ``*ForCausalLM``).
    tokenizer
        Its tokenizer; the prompt is encoded with ``add_special_tokens=False`` and BOS is
        prepended explicitly (see the module notes).
    prompt
        Prompt text, e.g. from :func:`format_prompt`.
    max_new_tokens
        Upper bound on the response length in tokens.
    prompt_id
        Names the prompt in errors.
    bos_token_id
        Overrides ``model.config.bos_token_id``.

    Returns
    -------
    Generation
        ``prompt_ids`` (n_prompt,) and ``response_ids`` (n_response,), both without
        BOS/EOS, and the decoded response text.

    Raises
    ------
    ValueError
        If the response is empty (the first generated token is EOS), naming ``prompt_id``.
    """
    prompt_ids = encode_prompt(tokenizer, prompt)
    device = model.get_input_embeddings().weight.device
    input_ids = torch.tensor([[_bos_id(model, bos_token_id), *prompt_ids]], device=device)
    eos = _eos_ids(model, tokenizer)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else next(iter(eos), 0)
    model.eval()
    with torch.no_grad():
        out = model.generate(
            input_ids,
            attention_mask=torch.ones_like(input_ids),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            num_beams=1,
            eos_token_id=sorted(eos) or None,
            pad_token_id=pad,
        )
    response = out[0, input_ids.shape[1] :].tolist()
    # stop at the first EOS: it and any padding after it are not part of the answer
    cut = next((i for i, tok in enumerate(response) if tok in eos), len(response))
    response = response[:cut]
    if not response:
        raise ValueError(f"{prompt_id}: the model generated an empty response")
    text = tokenizer.decode(response, skip_special_tokens=True)
    logger.debug("%s: %d prompt tokens, %d response tokens", prompt_id, len(prompt_ids), cut)
    return Generation(prompt_ids=prompt_ids, response_ids=response, response_text=text)


# --------------------------------------------------------------------------- attribution


@contextlib.contextmanager
def _frozen(model) -> Iterator[None]:
    """Freeze the parameters, so the graph keeps no activations for weight gradients."""
    flags = [(p, p.requires_grad) for p in model.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


def _accumulation_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.float64 else torch.float32


def _response_probabilities(
    model, prompt_ids: Sequence[int], response_ids: Sequence[int], bos_token_id: int | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Teacher-forced probabilities of the response tokens, differentiable in the embeddings.

    Returns
    -------
    embeds : torch.Tensor
        (1, 1 + n_prompt + n_response, hidden) in the model's dtype, ``requires_grad``;
        row 0 is BOS, rows ``1 .. n_prompt`` the prompt.
    head_input : torch.Tensor
        (1, n_response + 1, hidden): what the output-embedding module (the LM head) was
        given, the last hidden states of the positions that predict the response tokens
        (plus the final position); a node of the graph between ``embeds`` and ``probs``.
    probs : torch.Tensor
        (n_response,) float32 (float64 for a float64 model): ``p(y_m | BOS, prompt, y_<m)``.

    Raises
    ------
    ValueError
        If the prompt or the response is empty, or the model has no output embeddings or
        does not honour ``logits_to_keep``.
    """
    if len(prompt_ids) == 0 or len(response_ids) == 0:
        raise ValueError("attribution needs at least one prompt and one response token")
    embedding = model.get_input_embeddings()
    head = model.get_output_embeddings()
    if head is None:
        raise ValueError(
            f"{type(model).__name__} has no output embeddings (LM head): attribution needs "
            "a causal LM"
        )
    device = embedding.weight.device
    ids = torch.tensor([[_bos_id(model, bos_token_id), *prompt_ids, *response_ids]], device=device)
    embeds = embedding(ids).detach().requires_grad_(True)
    n_resp = len(response_ids)
    captured: list[torch.Tensor] = []
    hook = head.register_forward_hook(lambda module, args, output: captured.append(args[0]))
    try:
        # only the logits at positions n_prompt .. n_prompt + n_resp - 1 predict response
        # tokens: keep the last n_resp + 1 positions and drop the final one (it predicts
        # past the end)
        logits = model(inputs_embeds=embeds, use_cache=False, logits_to_keep=n_resp + 1).logits
    finally:
        hook.remove()
    if len(captured) != 1 or logits.shape[1] != n_resp + 1:
        raise ValueError(
            f"{type(model).__name__}: expected one call of the output embeddings on the last "
            f"{n_resp + 1} positions (logits_to_keep), got {len(captured)} call(s) and "
            f"logits for {logits.shape[1]} positions"
        )
    acc = _accumulation_dtype(embeds.dtype)
    logits = logits[0, :n_resp].to(acc)
    target = torch.tensor(list(response_ids), device=logits.device)
    # p = exp(logit_y - logsumexp) keeps no softmax tensor
    picked = logits.gather(-1, target[:, None])[:, 0]
    probs = torch.exp(picked - torch.logsumexp(logits, dim=-1))
    return embeds, captured[0], probs


def _grad_times_input(grads: torch.Tensor, embeds: torch.Tensor, n_prompt: int) -> torch.Tensor:
    """(chunk, 1, seq, hidden) gradients -> (n_prompt, chunk) dot products with the rows."""
    acc = _accumulation_dtype(embeds.dtype)
    rows = embeds[0, 1 : 1 + n_prompt].detach().to(acc)
    return torch.einsum("cnh,nh->nc", grads[:, 0, 1 : 1 + n_prompt].to(acc), rows)


def attribution_matrix(
    model,
    prompt_ids: Sequence[int],
    response_ids: Sequence[int],
    chunk_size: int = 16,
    bos_token_id: int | None = None,
) -> np.ndarray:
    """Gradient x input importance of every prompt token for every response token.

    One forward pass over ``BOS + prompt + response`` (teacher forcing), then the gradient
    in two steps (see the module notes):

    1. one ordinary backward pass from ``sum_m p(y_m)`` to the LM head's input ``h``: the
       head works position by position, so row ``m`` of that gradient is
       ``g_m = d p(y_m) / d h_m`` and nothing else;
    2. batched vector-Jacobian products from ``h`` to the input embeddings over chunks of
       ``chunk_size`` response tokens, the cotangent of token ``m`` being ``g_m`` at row
       ``m`` and zero elsewhere.

    Parameters
    ----------
    model
        A causal LM; evaluated in its own dtype and device placement (the embeddings are
        made on the input embedding's device, so a ``device_map`` placement is kept).
    prompt_ids
        (n_prompt,) token ids of the prompt, without BOS (BOS is prepended here).
    response_ids
        (n_response,) token ids of the response, without EOS.
    chunk_size
        Response tokens per batched backward; memory grows linearly with it.
    bos_token_id
        Overrides ``model.config.bos_token_id``.

    Returns
    -------
    np.ndarray
        (n_prompt, n_response) float32: ``I[n, m] = (d p(y_m) / d e_n) . e_n``, sign kept.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    model.eval()
    n_prompt, n_resp = len(prompt_ids), len(response_ids)
    with _frozen(model):
        embeds, head_input, probs = _response_probabilities(
            model, prompt_ids, response_ids, bos_token_id
        )
        # row m of head_grads is d p(y_m) / d h_m: p(y_m) depends on row m of h alone
        (head_grads,) = torch.autograd.grad(probs.sum(), head_input, retain_graph=True)
        out = torch.empty(n_prompt, n_resp, dtype=_accumulation_dtype(embeds.dtype))
        for start in range(0, n_resp, chunk_size):
            stop = min(start + chunk_size, n_resp)
            rows = torch.arange(stop - start, device=head_input.device)
            cotangents = head_input.new_zeros((stop - start, *head_input.shape))
            cotangents[rows, 0, start + rows] = head_grads[0, start:stop]
            (grads,) = torch.autograd.grad(
                head_input,
                embeds,
                grad_outputs=cotangents,
                is_grads_batched=True,
                retain_graph=stop < n_resp,
            )
            out[:, start:stop] = _grad_times_input(grads, embeds, n_prompt).cpu()
    logger.debug("attribution of %d x %d tokens in chunks of %d", n_prompt, n_resp, chunk_size)
    return out.numpy().astype(np.float32)


def attribution_loop(
    model, prompt_ids: Sequence[int], response_ids: Sequence[int], bos_token_id: int | None = None
) -> np.ndarray:
    """Reference for :func:`attribution_matrix`: one backward pass per response token.

    The authors' procedure. Same parameters and result, (n_prompt, n_response) float32.
    """
    model.eval()
    n_prompt, n_resp = len(prompt_ids), len(response_ids)
    with _frozen(model):
        embeds, _, probs = _response_probabilities(model, prompt_ids, response_ids, bos_token_id)
        out = torch.empty(n_prompt, n_resp, dtype=_accumulation_dtype(embeds.dtype))
        for m in range(n_resp):
            (grad,) = torch.autograd.grad(probs[m], embeds, retain_graph=m < n_resp - 1)
            out[:, m] = _grad_times_input(grad[None], embeds, n_prompt)[:, 0].cpu()
    return out.numpy().astype(np.float32)


# --------------------------------------------------------------------------- scoring


def discretise(importance: np.ndarray, L: int = 10, b: int = 7) -> np.ndarray:  # noqa: N803
    """Per-response-token discretisation of an attribution matrix.

    ``S = ceil(L * max(I, 0) / max_n max(I, 0))`` column by column; a column whose maximum
    is 0 becomes all zeros; levels ``S <= b`` are set to 0 (``b = 7`` for scores, ``b = 0``
    for heat maps).

    Parameters
    ----------
    importance
        (..., n_prompt, n_response) attribution ``I``.
    L
        Number of levels.
    b
        Levels at or below ``b`` are dropped.

    Returns
    -------
    np.ndarray
        Same shape, float32, integer values in ``{0} | {b+1, ..., L}``.
    """
    positive = np.maximum(np.asarray(importance, dtype=np.float64), 0.0)
    col_max = positive.max(axis=-2, keepdims=True)
    safe_max = np.where(col_max > 0, col_max, 1.0)
    # L * x first, then / max: an integer-valued matrix whose column maximum is L maps to
    # itself exactly (L * x / max with x / max first would give 7.000000000000001 for 0.7)
    levels = np.ceil(L * positive / safe_max)
    levels[levels <= b] = 0.0
    return levels.astype(np.float32)


def importance_density(levels: np.ndarray) -> np.ndarray:
    """Normalised L1/L4 density of each prompt token's discretised importance.

    ``a_n = ||S[n, :]||_1 / ||S[n, :]||_4`` (0 for an all-zero row), divided by the largest
    ``a_n`` of the prompt (all zeros if every row is zero).

    Parameters
    ----------
    levels
        (..., n_prompt, n_response) discretised importance ``S`` (:func:`discretise`).

    Returns
    -------
    np.ndarray
        (..., n_prompt) float64 in [0, 1].
    """
    levels = np.asarray(levels, dtype=np.float64)
    l1 = levels.sum(axis=-1)
    l4 = np.sqrt(np.sqrt((levels**4).sum(axis=-1)))
    density = np.divide(l1, l4, out=np.zeros_like(l1), where=l4 > 0)
    if density.shape[-1] == 0:
        return density
    top = density.max(axis=-1, keepdims=True)
    return np.divide(density, top, out=np.zeros_like(density), where=top > 0)


def instruction_score(density: np.ndarray, instruction_mask: np.ndarray) -> float:
    """Sum of the instruction tokens' densities over ``log2(2 + n_instruction_tokens)``.

    Parameters
    ----------
    density
        (n_prompt,) normalised densities (:func:`importance_density`).
    instruction_mask
        (n_prompt,) bool, True for instruction tokens.
    """
    mask = np.asarray(instruction_mask, dtype=bool)
    if mask.shape != np.shape(density):
        raise ValueError(f"mask shape {mask.shape} != density shape {np.shape(density)}")
    return float(np.asarray(density)[mask].sum() / math.log2(2 + int(mask.sum())))


# --------------------------------------------------------------------------- instruction tokens


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
    * ``tokenize`` given (e.g. ``tokenizer.tokenize`` of the model's tokenizer): the
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


# --------------------------------------------------------------------------- statistics


def welch_one_sided(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """Welch's t-test of ``mean(a) > mean(b)`` (unequal variances), one-sided.

    ``t = (mean_a - mean_b) / sqrt(s_a^2 / n_a + s_b^2 / n_b)`` with sample variances
    (ddof 1), Welch-Satterthwaite degrees of freedom, ``p = P(T_df >= t)``. Equal to
    ``scipy.stats.ttest_ind(a, b, equal_var=False, alternative="greater")``; call it as
    ``welch_one_sided(tuned, base)``.

    Returns
    -------
    (float, float)
        ``t`` and the one-sided ``p``; both NaN when both samples have zero variance.

    Raises
    ------
    ValueError
        If either sample has fewer than two values.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.size < 2 or b.size < 2:
        raise ValueError(f"Welch's test needs two values per sample, got {a.size} and {b.size}")
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    if va + vb == 0:
        return math.nan, math.nan
    t = (a.mean() - b.mean()) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    return float(t), float(stats.t.sf(t, df))
