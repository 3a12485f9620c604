"""Model-side importance of every word of a sentence, for word-level reading measures.

The relative-importance comparison of Hollenstein & Beinborn (2021, "Relative Importance in
Sentence Processing", code ``beinborn/relative_importance``) set one attention measure and
one saliency measure of a model against readers' fixations. Here every measure comes from
**one forward and one backward pass per batch of sentences** (the peers ran one forward
pass per sentence and measure, and one backward pass per token), reduced to the words the
readers saw by character offsets exactly as :mod:`readalike.models.extraction` does.

Input and the BOS token
    A sentence is read as ``BOS + " ".join(words)``, the BOS token chosen by
    :func:`readalike.models.bos.resolve_bos` (none for Qwen-style tokenizers), tokenised by
    :func:`~readalike.models.extraction.word_token_spans`. BOS belongs to no word. In the
    attention graphs it is kept as a *context node* (row and column 0 of the word-level
    matrices, empty for a model without BOS): a word's row then still sums to 1, and the
    attention a word gives to BOS (the attention sink, often most of it) is neither
    dropped from the row sums of rollout and flow nor redistributed over the words. BOS
    receives attention only from words and passes none on to them, so it never adds to a
    word's importance; its own column is discarded.

Word-level attention
    ``W = (M / counts) @ A @ M.T`` per layer and head, by
    :func:`~readalike.models.extraction.reduce_to_words` (query tokens of a word averaged,
    key tokens summed), with ``M`` the ``(1 + n_words, n_tokens)`` assignment of BOS and the
    words. Computed in a forward hook on each layer's attention module and reduced at once;
    the token-level attention of a layer is never kept past its hook.

Measures (``n`` words; ``received`` always means a column sum over the attending words)
    ``attention`` ``(layers, heads, n)``
        Column sums of ``W`` over the word rows: the total attention a word receives. A
        sum, not a mean: it is the quantity the peers compare (their column sum), and a
        mean over attenders would make the last word's value its self-attention alone.
        Divide by :attr:`~readalike.core.formats.WordImportance.attenders` (``n - j``) for
        the mean.
    ``attention_peers`` ``(n,)``
        **The peers' definition** (their ``calculate_relative_attention``): last layer,
        mean over heads, column sum, softmax over the sentence's words; here on word-level
        attention (they used word pieces and dropped the CLS/SEP rows).
    ``rollout`` ``(layers, n)``
        Abnar & Zuidema (2020): per layer ``R_l = 0.5 W_l + 0.5 I`` on the head-mean word
        matrix (BOS node included), rows renormalised; ``R_{<=l} = R_l @ ... @ R_1``; the
        importance at layer ``l`` is the column sum of ``R_{<=l}`` over the **word rows**
        (the BOS row is ``e_0``, it would add nothing to a word's column). Row ``-1`` is
        the usual whole-model rollout.
    ``flow`` ``(n,)``
        Attention flow (Abnar & Zuidema 2020) on the layered graph with nodes ``(l, p)``
        (layers ``0..L``, positions BOS + words) and edges ``(l-1, j) -> (l, i)`` of capacity
        ``R_l[i, j]`` (the residual-adjusted attention above). **One maximum-flow problem per
        input word** ``j``: source ``(0, j)``, sink a super-sink joined with unbounded
        capacity to every last-layer word node. The paper solves one problem per *pair*
        (input ``j``, output ``i``), ``F[i, j]``, and renormalises each output's row. The
        two agree where only one output is reachable from ``j`` (the last word: a causal
        model's word ``j`` reaches outputs ``i >= j`` only) and for one layer (both are the
        column sum of ``R_1``); in general ``max_i F[i, j] <= flow[j] <= sum_i F[i, j]``:
        ours is the flow the word can push to the whole last layer *at once*, so capacity
        shared by several outputs is counted once, where the per-pair column sum counts it
        once per output. Solved by :func:`scipy.sparse.csgraph.maximum_flow` on integer
        capacities ``round(S * R)``, see :func:`flow_scale` and :func:`flow_rounding_bound`.
    ``norm`` ``(layers, n)``
        Norm-based attention (Kobayashi et al. 2020): ``||alpha_ij f(x_j)||`` with
        ``f(x) = W_O^h (W_V^h x + b_V^h)`` per head (the value-and-output map; grouped-query
        models map each query head to its key/value head as ``repeat_kv`` does). The vector
        word ``j`` sends word ``i`` is ``v_ij = sum_h mean_{s in i} sum_{t in j} alpha^h_st
        f^h(x_t)``: the token vectors of a word are **summed before the norm** (that sum is
        the word's additive share of the attention output at ``i``; summing token norms
        would count cancelling pieces as importance), query tokens averaged as in ``W``,
        and heads summed (the layer's output, Kobayashi's ``||sum alpha f(x)||``). Received:
        ``sum_{i >= j} ||v_ij||``. The values are those the model computes, taken from a
        hook on the value projection; the output projection's bias belongs to no word and
        is left out. Models with fused q/k/v maps (GPT-2, GPT-NeoX, Falcon, Phi-3) are
        refused unless ``norm=False``.
    ``saliency`` and ``grad_x_input`` ``(n,)``
        Gradients of the sentence's LM loss, the mean next-token NLL over the sentence's
        tokens (the first one predicted from BOS), w.r.t. the input embedding rows ``e_t``:
        ``saliency = sum_{t in word} ||g_t||_2`` (the norm per token, then summed over the
        word's tokens) and ``grad_x_input = sum_{t in word} g_t . e_t``, **signed**
        (``g . e ~ L(e) - L(0)``, the first-order change of the loss that the word's
        embeddings make: negative where the word helps prediction; take the absolute value
        downstream if wanted, the reverse is impossible). One backward pass per batch: the
        sentences of a batch do not interact, so the gradient of the sum of their losses is
        each sentence's own.
        The peers differentiated one masked token's logit at a time w.r.t. one-hot inputs.
    ``surprisal`` ``(n,)``
        Bits, ``-log2 p(token | preceding)`` summed over a word's tokens; the first
        token is predicted from BOS. Without BOS the first token cannot be predicted, and
        ``surprisal[0]`` is NaN (not a partial sum), the one NaN the file format allows.

What each word can see (causal models)
    Word ``j`` receives attention from words ``j..n-1`` only (``n - j`` of them,
    :attr:`~readalike.core.formats.WordImportance.attenders`): the last word from itself
    alone, so its attention, rollout, flow and norm measure self-attention. Its last token
    predicts nothing in the loss, so that token's gradient is exactly zero (a one-token
    last word has saliency 0). The first word is attended to by every word but sits next
    to BOS, the attention sink. :attr:`~readalike.core.formats.WordImportance.interior`
    masks both ends.

Batches are sorted by length and right-padded with an attention mask (causal, so padding
after a sentence changes none of its positions); a batched run equals one sentence at a
time to float32 rounding (tested).

Memory and precision
    The hooks keep word-level results only; the largest transient is the norm measure's
    per-head transformed values of one layer, ``B x heads x tokens x hidden`` float32
    (335 MB for 16 sentences of 40 tokens at LLaMA-7B's width). The autograd graph holds
    each layer's token attention until the backward pass, as any gradient needs. Measured
    on an H200 with a random LLaMA of TinyLlama-1.1B's shape, 148 sentences in batches of
    16: peak 5.8 GiB over 4.1 GiB of float32 weights. Attention is reduced in float32 and
    gradients accumulated in float32 whatever the model's dtype, but a bfloat16 model's
    own activations keep about three digits: there ``grad_x_input`` (a signed sum with
    cancellation) differed from the per-token loop by up to 12% of its largest value,
    against 1e-5 in float32, so run the gradient measures in float32.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.special
import torch
from scipy import sparse
from scipy.sparse.csgraph import maximum_flow
from tqdm.auto import tqdm

from readalike.core.formats import WordImportance, WordImportanceSet
from readalike.core.stimuli import Stimuli
from readalike.models.bos import input_pad_id, resolve_bos
from readalike.models.extraction import (
    EncodedSentence,
    _model_name,
    assignment_matrix,
    decoder_attention_modules,
    flat_sentences,
    frozen_weights,
    reduce_to_words,
    word_token_spans,
)

logger = logging.getLogger(__name__)

#: int32 holds scipy's capacities and flows (an int64 graph is cast and silently wraps)
_INT32_MAX = 2**31 - 1
#: output projections after the value map, by attribute name
_OUTPUT_MAPS = ("o_proj", "out_proj", "dense")


# --------------------------------------------------------------------------- graphs


def received_attention(attention):
    """Attention received: ``(..., n_words, n_words)`` rows = queries -> ``(..., n_words)``.

    The column sum over the attending (query) words; numpy arrays or torch tensors.
    """
    return attention.sum(-2)


def peers_attention(attention: np.ndarray) -> np.ndarray:
    """The peers' relative attention: mean over heads, column sum, softmax over words.

    Parameters
    ----------
    attention
        ``(n_heads, n_words, n_words)`` last-layer word-level attention, BOS removed.

    Returns
    -------
    ndarray
        ``(n_words,)`` float64, sums to 1.
    """
    received = received_attention(np.asarray(attention, dtype=np.float64).mean(axis=0))
    return scipy.special.softmax(received)


def residual_attention(attention: np.ndarray) -> np.ndarray:
    """``0.5 A + 0.5 I`` with rows renormalised: ``(..., N, N)`` float64.

    A zero row (the context node of a model without BOS, padding) becomes the identity row.
    """
    attention = np.asarray(attention, dtype=np.float64)
    mixed = 0.5 * attention + 0.5 * np.eye(attention.shape[-1])
    return mixed / mixed.sum(axis=-1, keepdims=True)


def attention_rollout(attention: np.ndarray, rows=None) -> np.ndarray:
    """Attention rollout received per layer (Abnar & Zuidema 2020).

    Parameters
    ----------
    attention
        ``(..., n_layers, N, N)`` head-mean attention, rows = queries (raw: the residual
        mixing is done here).
    rows
        Index or slice of the rows of the rolled-out matrix to sum (the words); default
        all.

    Returns
    -------
    ndarray
        ``(..., n_layers, N)`` float64: layer ``l`` holds the column sums over ``rows`` of
        ``R_l @ ... @ R_0``, ``R = 0.5 A + 0.5 I`` with rows renormalised.
    """
    mixed = residual_attention(attention)
    rolled = np.empty_like(mixed)
    rolled[..., 0, :, :] = mixed[..., 0, :, :]
    # a running product: each layer needs the one below (batched over leading axes)
    for layer in range(1, mixed.shape[-3]):
        rolled[..., layer, :, :] = mixed[..., layer, :, :] @ rolled[..., layer - 1, :, :]
    if rows is not None:
        rolled = rolled[..., rows, :]
    return rolled.sum(axis=-2)


def flow_scale(n_positions: int) -> int:
    """Integer units per unit of capacity for a graph of ``n_positions`` per layer.

    ``(2**31 - 1) // (4 (N + 1))``: a source's outflow is at most a column sum of a
    row-stochastic matrix (``N`` units) and the sink edges carry ``2 S``, so every capacity
    and flow stays below a quarter of int32's range (scipy computes in int32). For 31
    positions ``S`` is 1.7e7, i.e. capacities to 3e-8.
    """
    return _INT32_MAX // (4 * (n_positions + 1))


def flow_rounding_bound(attention: np.ndarray, scale: int | None = None) -> float:
    """Bound on ``|flow - exact max flow|`` from rounding capacities to ``1 / scale``.

    Every cut's capacity moves by at most half a unit per edge, so the minimum cut, hence
    the maximum flow, moves by at most ``0.5 * n_edges / scale`` (``n_edges``: the
    non-zero capacities). A worst case: the errors of a real cut mostly cancel.
    """
    mixed = residual_attention(attention)
    scale = flow_scale(mixed.shape[-1]) if scale is None else scale
    return 0.5 * np.count_nonzero(mixed) / scale


def flow_graph(
    attention: np.ndarray, sinks: Sequence[int], scale: int | None = None
) -> tuple[sparse.csr_array, int]:
    """The layered flow graph with integer capacities and a super-sink.

    Parameters
    ----------
    attention
        ``(n_layers, N, N)`` head-mean attention (raw).
    sinks
        Positions whose last-layer nodes join the super-sink.
    scale
        Integer units per unit of capacity (default :func:`flow_scale`).

    Returns
    -------
    graph : scipy.sparse.csr_array
        ``((n_layers + 1) N + 1)`` square int32 capacities; node ``l N + p`` is position
        ``p`` at layer ``l`` (0: the input), the last node the super-sink.
    sink : int
        The super-sink's node.
    """
    mixed = residual_attention(attention)
    n_layers, n = mixed.shape[0], mixed.shape[-1]
    scale = flow_scale(n) if scale is None else scale
    capacity = np.rint(mixed * scale).astype(np.int64)
    layer, upper, lower = np.nonzero(capacity)
    sink = (n_layers + 1) * n
    top = n_layers * n + np.asarray(sinks, dtype=np.int64)
    # a last-layer node receives at most its row's units (< 2 S), so 2 S is unbounded here
    rows = np.concatenate([layer * n + lower, top])
    cols = np.concatenate([(layer + 1) * n + upper, np.full(top.size, sink)])
    data = np.concatenate([capacity[layer, upper, lower], np.full(top.size, 2 * scale)])
    if data.max(initial=0) > _INT32_MAX // 2:
        raise ValueError(f"flow scale {scale} too large for int32 capacities")
    graph = sparse.csr_array(
        (data.astype(np.int32), (rows, cols)), shape=(sink + 1, sink + 1), dtype=np.int32
    )
    graph.sort_indices()
    return graph, sink


def attention_flow(
    attention: np.ndarray,
    sources: Sequence[int] | None = None,
    sinks: Sequence[int] | None = None,
    scale: int | None = None,
) -> np.ndarray:
    """Attention flow from each source position to the last layer (one problem per source).

    Parameters
    ----------
    attention
        ``(n_layers, N, N)`` head-mean attention (raw; mixed with the identity here).
    sources, sinks
        Input positions to solve for, and the last-layer positions joined to the
        super-sink; default all positions for both.
    scale
        Integer units per unit of capacity (default :func:`flow_scale`); the error is at
        most :func:`flow_rounding_bound`.

    Returns
    -------
    ndarray
        ``(len(sources),)`` float64 maximum flow from ``(0, source)`` to the super-sink.
    """
    n = np.shape(attention)[-1]
    sources = range(n) if sources is None else sources
    sinks = range(n) if sinks is None else sinks
    scale = flow_scale(n) if scale is None else scale
    graph, sink = flow_graph(attention, sinks, scale)
    values = [maximum_flow(graph, int(s), sink).flow_value for s in sources]
    return np.asarray(values, dtype=np.float64) / scale


# --------------------------------------------------------------------------- model side


@dataclass(frozen=True)
class _ValueMaps:
    """One layer's value projection module and per-head output map ``(hidden, heads, d)``."""

    values: torch.nn.Module
    output: torch.Tensor
    groups: int


def _value_maps(modules: Sequence[torch.nn.Module], model, model_name: str) -> list[_ValueMaps]:
    """Per layer, the value projection and the output map split by head.

    Raises
    ------
    ValueError
        If a layer has no separate ``v_proj`` and output projection (fused q/k/v), or
        normalises its values (``v_norm``), naming the model.
    """
    n_heads = model.config.get_text_config().num_attention_heads
    maps = []
    for module in modules:
        found = None
        for sub in module.modules():  # GPT-Neo wraps the projections one level down
            out = next((getattr(sub, n) for n in _OUTPUT_MAPS if hasattr(sub, n)), None)
            if isinstance(getattr(sub, "v_proj", None), torch.nn.Linear) and out is not None:
                found = (sub, sub.v_proj, out)
                break
        if found is None or hasattr(found[0], "v_norm"):
            raise ValueError(
                f"{model_name} ({type(module).__name__}): norm-based attention needs separate "
                f"value and output projections (v_proj and one of {', '.join(_OUTPUT_MAPS)}) "
                "and no norm on the values; pass norm=False for this model"
            )
        sub, values, out = found
        head_dim = int(getattr(sub, "head_dim", out.weight.shape[1] // n_heads))
        w_o = out.weight.detach().float().reshape(out.weight.shape[0], n_heads, head_dim)
        maps.append(
            _ValueMaps(
                values=values, output=w_o, groups=n_heads // (values.out_features // head_dim)
            )
        )
    return maps


def _norm_received(
    weights: torch.Tensor, values: torch.Tensor, assignment: torch.Tensor, maps: _ValueMaps
) -> torch.Tensor:
    """Norm-based attention received by each word of a batch, one layer.

    Parameters
    ----------
    weights
        ``(B, H, T, T)`` token attention.
    values
        ``(B, T, H_kv * d)`` output of the value projection.
    assignment
        ``(B, 1, N, T)`` 0/1 assignment, row 0 the context node.
    maps
        The layer's output map and grouping.

    Returns
    -------
    torch.Tensor
        ``(B, N - 1)`` float32, ``sum_{i word} ||v_ij||`` for each word ``j``.
    """
    batch, n_heads, n_tokens, _ = weights.shape
    head_dim = maps.output.shape[-1]
    value = values.float().reshape(batch, n_tokens, -1, head_dim)
    value = value.repeat_interleave(maps.groups, dim=2)  # key/value head k -> k*g .. k*g+g-1
    transformed = torch.einsum("bthd,Dhd->bhtD", value, maps.output.to(value.device))
    member = assignment[:, 0].float()  # (B, N, T)
    query = member / member.sum(-1, keepdim=True).clamp(min=1.0)
    mixed = torch.einsum("bis,bhst->bhit", query, weights.float())  # query tokens averaged
    per_token = torch.einsum("bhit,bhtD->bitD", mixed, transformed)  # heads summed
    vectors = torch.einsum("bjt,bitD->bijD", member, per_token)  # key tokens summed
    return vectors.norm(dim=-1)[:, 1:, 1:].sum(dim=1)


def _batch_inputs(items: Sequence[EncodedSentence], pad: int):
    """Right-padded ids, mask and ``(B, 1 + max_words, T)`` assignment (row 0: BOS)."""
    length = max(len(e.input_ids) for e in items)
    n_nodes = 1 + max(e.n_words for e in items)
    input_ids = torch.full((len(items), length), pad, dtype=torch.long)
    mask = torch.zeros((len(items), length), dtype=torch.long)
    assignment = np.zeros((len(items), n_nodes, length), dtype=np.float32)
    for b, e in enumerate(items):
        input_ids[b, : len(e.input_ids)] = torch.from_numpy(e.input_ids)
        mask[b, : len(e.input_ids)] = 1
        # BOS (word -1) becomes node 0, word w node w + 1; padding columns stay zero
        assignment[b, : e.n_words + 1] = assignment_matrix(e.token_word + 1, e.n_words + 1, length)
    return input_ids, mask, torch.from_numpy(assignment)


def _loss_and_surprisal(
    logits: torch.Tensor, input_ids: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum over the batch of each sentence's mean next-token NLL, and token surprisal.

    Returns
    -------
    loss : torch.Tensor
        Scalar, differentiable.
    surprisal : torch.Tensor
        ``(B, T)`` float32 bits, detached; 0 at position 0 (predicted by nothing) and at
        padding.
    """
    log_probs = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    nll = -log_probs.gather(-1, input_ids[:, 1:, None])[..., 0]
    predicted = mask[:, 1:].to(nll.dtype)
    nll = nll * predicted
    loss = (nll.sum(1) / predicted.sum(1).clamp(min=1.0)).sum()
    surprisal = torch.zeros(input_ids.shape, dtype=torch.float32)
    surprisal[:, 1:] = nll.detach().cpu() / math.log(2.0)
    return loss, surprisal


def word_importance(
    model,
    tokenizer,
    sentences: Sequence[Sequence[str]],
    *,
    batch_size: int = 8,
    bos: str = "auto",
    norm: bool = True,
    names: Sequence[str] | None = None,
    progress: bool = True,
    max_tokens: int | None = None,
) -> list[WordImportance]:
    """Every word-importance measure of every sentence (definitions in the module notes).

    One forward pass with hooks and one backward pass per batch. The hooks reduce each
    layer's attention to words at once and keep only word-level results: ``(B, H, n)``
    received attention, the ``(B, 1 + n, 1 + n)`` head mean (for rollout and flow) and
    ``(B, n)`` norm-based attention. The autograd graph holds what the backward pass
    needs (as any gradient does) until that pass frees it.

    Parameters
    ----------
    model, tokenizer
        From :func:`readalike.models.extraction.load_causal_lm` (eager attention).
    sentences
        Each a list of whitespace words, as shown to readers.
    batch_size
        Sentences per pass, at most.
    bos
        The model's ``bos`` choice, see :func:`readalike.models.bos.resolve_bos`.
    norm
        Compute norm-based attention (``False`` for models with fused q/k/v maps).
    names
        Names of the sentences for errors (default: index and text).
    progress
        Show a tqdm bar over batches.
    max_tokens
        At most this many token positions per pass, padding included (``None``: no
        limit): what a pass holds for its backward pass grows with them, the vocabulary-wide
        logits most of all (:func:`length_batches`).

    Returns
    -------
    list of WordImportance
        One per sentence, in input order (float32 arrays; ``norm`` None when not asked).

    Raises
    ------
    RuntimeError
        If not every layer returned attention weights (the model does not run eager
        attention).
    ValueError
        If a word gets no token, the model has no separate value maps and ``norm`` is set,
        or a measure of a sentence holds NaN or inf.
    """
    if names is None:
        names = [f"sentence {i} {' '.join(words)!r}" for i, words in enumerate(sentences)]
    model.eval()  # dropout would make the gradients random
    model_name = _model_name(model)
    bos_id, _ = resolve_bos(tokenizer, model.config, bos, model_name)
    encoded = [
        word_token_spans(tokenizer, words, "", name=name, bos_id=bos_id)
        for words, name in zip(sentences, names, strict=True)
    ]
    modules = decoder_attention_modules(model, model_name)
    n_layers = len(modules)
    maps = _value_maps(modules, model, model_name) if norm else None
    embedding = model.get_input_embeddings()
    device = embedding.weight.device
    pad = input_pad_id(tokenizer, embedding.weight.shape[0])

    # this batch's assignment per device, and per layer its word-level results
    current: dict = {}
    received: list = [None] * n_layers  # (B, H, n) float32
    head_mean: list = [None] * n_layers  # (B, 1 + n, 1 + n) float64
    norms: list = [None] * n_layers  # (B, n) float32
    values: dict[int, torch.Tensor] = {}

    def attention_hook(layer: int):
        def hook(module, args, output):
            weights = output[1] if isinstance(output, tuple) and len(output) > 1 else None
            if not (isinstance(weights, torch.Tensor) and weights.ndim == 4):
                return
            with torch.no_grad():
                weights = weights.detach()
                if weights.device not in current:
                    current[weights.device] = current["cpu"].to(weights.device)
                assignment = current[weights.device]
                words = reduce_to_words(weights, assignment)  # (B, H, N, N) float32
                received[layer] = received_attention(words[:, :, 1:, 1:]).cpu()
                head_mean[layer] = words.mean(dim=1).double().cpu()
                if maps is not None:
                    value = values.pop(layer)
                    norms[layer] = _norm_received(weights, value, assignment, maps[layer]).cpu()

        return hook

    def value_hook(layer: int):
        def hook(module, args, output):
            values[layer] = output.detach()

        return hook

    handles = [m.register_forward_hook(attention_hook(i)) for i, m in enumerate(modules)]
    if maps is not None:
        handles += [m.values.register_forward_hook(value_hook(i)) for i, m in enumerate(maps)]
    batches = length_batches([len(e.input_ids) for e in encoded], batch_size, max_tokens)
    results: list[WordImportance | None] = [None] * len(encoded)
    try:
        with frozen_weights(model), torch.enable_grad():
            for batch in tqdm(batches, desc=f"word importance {model_name}", disable=not progress):
                items = [encoded[i] for i in batch]
                input_ids, mask, assignment = _batch_inputs(items, pad)
                current.clear()
                current["cpu"] = assignment[:, None]
                received[:] = head_mean[:] = norms[:] = [None] * n_layers
                values.clear()
                embeds = embedding(input_ids.to(device)).detach().requires_grad_(True)
                logits = model(
                    inputs_embeds=embeds, attention_mask=mask.to(device), use_cache=False
                ).logits
                if any(r is None for r in received):
                    impl = getattr(model.config, "_attn_implementation", "unknown")
                    raise RuntimeError(
                        f"{model_name}: got attention weights from "
                        f"{sum(r is not None for r in received)} of {n_layers} layers "
                        f"(attention implementation {impl!r}); load the model with "
                        "attn_implementation='eager' (load_causal_lm does)"
                    )
                loss, surprisal = _loss_and_surprisal(
                    logits, input_ids.to(logits.device), mask.to(logits.device)
                )
                del logits
                (grad,) = torch.autograd.grad(loss, embeds)
                with torch.no_grad():
                    grad, embeds = grad.float().cpu(), embeds.detach().float().cpu()
                    tokens = torch.stack(
                        [grad.norm(dim=-1), (grad * embeds).sum(-1), surprisal], dim=-1
                    )  # (B, T, 3)
                    per_word = (assignment[:, 1:] @ tokens).numpy()  # (B, max_words, 3)
                layers = (
                    torch.stack(received, 1).numpy(),
                    torch.stack(head_mean, 1).numpy(),
                    torch.stack(norms, 1).numpy() if maps is not None else None,
                )
                for b, i in enumerate(batch):
                    results[i] = _sentence_result(
                        sentences[i], encoded[i], bos_id is not None, per_word[b], b, *layers
                    )
                    results[i].check(f"{model_name}: {names[i]}", n_layers, received[0].shape[1])
    finally:
        for handle in handles:
            handle.remove()
        current.clear()
        values.clear()
    return results


def length_batches(
    lengths: Sequence[int], batch_size: int, max_tokens: int | None = None
) -> list[list[int]]:
    """Batches of sentence indices, longest sentences first, each padded to its first.

    A batch takes at most ``batch_size`` sentences, and with ``max_tokens`` at most that
    many padded token positions (sentences x the batch's longest); a sentence longer than
    ``max_tokens`` goes alone. Sorting by length keeps the padding small.
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    for i in order:
        if batches and len(batches[-1]) < batch_size:
            width = lengths[batches[-1][0]]  # the longest of the batch: sorted descending
            if max_tokens is None or (len(batches[-1]) + 1) * width <= max_tokens:
                batches[-1].append(i)
                continue
        batches.append([i])
    return batches


def _sentence_result(
    words: Sequence[str],
    encoded: EncodedSentence,
    has_bos: bool,
    per_word: np.ndarray,
    b: int,
    received: np.ndarray,
    head_mean: np.ndarray,
    norms: np.ndarray | None,
) -> WordImportance:
    """One sentence's record from row ``b`` of the batch's word-level arrays."""
    n = encoded.n_words
    graph = head_mean[b, :, : n + 1, : n + 1]  # (L, 1 + n, 1 + n), node 0 = BOS
    word_nodes = np.arange(1, n + 1)
    surprisal = per_word[:n, 2].copy()
    if not has_bos:
        surprisal[0] = np.nan  # the first token is predicted from nothing
    return WordImportance(
        words=list(words),
        tokens_per_word=np.bincount(encoded.token_word[encoded.token_word >= 0], minlength=n),
        attention=received[b, :, :, :n].astype(np.float32),
        # the head mean as a single head: mean over heads commutes with the column sum
        attention_peers=peers_attention(graph[-1:, 1:, 1:]).astype(np.float32),
        rollout=attention_rollout(graph, rows=slice(1, None))[:, 1:].astype(np.float32),
        flow=attention_flow(graph, word_nodes, word_nodes).astype(np.float32),
        norm=None if norms is None else norms[b, :, :n].astype(np.float32),
        saliency=per_word[:n, 0].astype(np.float32),
        grad_x_input=per_word[:n, 1].astype(np.float32),
        surprisal=surprisal.astype(np.float32),
    )


def word_importance_set(
    model,
    tokenizer,
    stimuli: Stimuli,
    *,
    model_name: str,
    batch_size: int = 8,
    bos: str = "auto",
    norm: bool = True,
    progress: bool = True,
    source: str = "",
) -> WordImportanceSet:
    """:func:`word_importance` of every stimulus sentence, grouped per article.

    Returns
    -------
    WordImportanceSet
        ``sentences[a][s]``; attrs ``bos`` (how the BOS token was chosen) and ``bos_id``
        (``-1`` for none). Write it with :func:`readalike.core.formats.write_word_importance`.
    """
    flat, names = flat_sentences(stimuli)
    records = word_importance(
        model,
        tokenizer,
        flat,
        batch_size=batch_size,
        bos=bos,
        norm=norm,
        names=names,
        progress=progress,
    )
    bos_id, how = resolve_bos(tokenizer, model.config, bos, model_name)
    grouped, start = [], 0
    for article in stimuli:
        grouped.append(records[start : start + len(article)])
        start += len(article)
    return WordImportanceSet(
        model=model_name,
        sentences=grouped,
        source=source,
        attrs={"bos": how, "bos_id": -1 if bos_id is None else bos_id},
    )


def saliency_loop(
    model, tokenizer, words: Sequence[str], *, bos: str = "auto"
) -> tuple[np.ndarray, np.ndarray]:
    """Reference for the gradient measures: one backward pass per predicted token.

    The loss gradient is assembled as the mean of each token's NLL gradient, one
    ``autograd.grad`` per token (the peers' per-token loop), on one sentence without padding.

    Returns
    -------
    saliency, grad_x_input
        ``(n_words,)`` float64 each, as :func:`word_importance` defines them.
    """
    bos_id, _ = resolve_bos(tokenizer, model.config, bos, _model_name(model))
    encoded = word_token_spans(tokenizer, words, "", bos_id=bos_id)
    embedding = model.get_input_embeddings()
    ids = torch.from_numpy(encoded.input_ids)[None].to(embedding.weight.device)
    with frozen_weights(model), torch.enable_grad():
        embeds = embedding(ids).detach().requires_grad_(True)
        logits = model(inputs_embeds=embeds, use_cache=False).logits[0]
        log_probs = torch.log_softmax(logits[:-1].float(), dim=-1)
        n_pred = ids.shape[1] - 1
        grad = torch.zeros(embeds.shape[1:], dtype=torch.float64)
        for k in range(n_pred):
            (g,) = torch.autograd.grad(-log_probs[k, ids[0, k + 1]], embeds, retain_graph=True)
            grad += g[0].double().cpu() / n_pred
    rows = embeds[0].detach().double().cpu()
    member = torch.from_numpy(encoded.assignment()).double()
    return (
        (member @ grad.norm(dim=-1)).numpy(),
        (member @ (grad * rows).sum(-1)).numpy(),
    )
