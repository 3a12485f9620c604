"""Gradient x input attribution of prompt tokens: the model side of Study B's first analysis.

Implements the input-attribution analysis of arXiv 2310.00492 (Wu et al., "From Language
Modeling to Instruction Following", NAACL 2024) as specified for this project:

1. The prompt is written raw, ``"<instruction>\\n\\nInput: <context>\\n\\nOutput:"``
   (:func:`format_prompt`), and the model answers greedily (:func:`generate_response`).
2. One teacher-forced forward pass over ``BOS + prompt + response`` with ``inputs_embeds``
   gives, for every response token ``m`` and prompt token ``n``,
   ``I[n, m] = (d p(y_m | y_<m, prompt) / d e_n) . e_n``: the gradient of the softmax
   *probability* of the token the model actually produced with respect to the input
   embedding row ``e_n``, dotted with that row, sign kept (:func:`attribution_matrix`).
3. The matrices are scored (discretised, densities, instruction score) and base and tuned
   models compared by :mod:`readalike.study_b.instruction_focus`, with the instruction tokens
   located by :mod:`readalike.study_b.instruction_tokens`; neither needs torch.

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
* **Empty responses** raise ``ValueError``; the authors scored them 0.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from readalike.models.extraction import frozen_weights

logger = logging.getLogger(__name__)


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


#: ``bos_token_id=NO_BOS``: prepend nothing (a model trained without BOS, see readalike.models.bos).
NO_BOS = -1


def _bos_id(model, bos_token_id: int | None) -> list[int]:
    """``[BOS]`` to prepend, or ``[]`` for :data:`NO_BOS`."""
    if bos_token_id == NO_BOS:
        return []
    bos = model.config.bos_token_id if bos_token_id is None else bos_token_id
    if bos is None:
        raise ValueError("the model config has no bos_token_id; pass bos_token_id explicitly")
    return [int(bos)]


def _eos_ids(model, tokenizer) -> set[int]:
    eos = model.generation_config.eos_token_id
    if eos is None:
        eos = tokenizer.eos_token_id
    if eos is None:
        return set()
    return {int(e) for e in (eos if isinstance(eos, list | tuple) else [eos])}


class _FiniteScores:
    """A ``generate`` logits processor that stops on non-finite scores, naming the prompts.

    Greedy decoding takes the argmax of NaN scores as token 0 and goes on: a broken forward
    pass would answer with a run of ``<unk>`` and exit 0. Checked at every step (no scores
    are kept).
    """

    def __init__(self, names: Sequence[str]):
        self.names = list(names)

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        bad = ~torch.isfinite(scores).all(dim=-1)
        if bool(bad.any()):
            which = [self.names[i] for i in torch.nonzero(bad).flatten().tolist()]
            raise ValueError(
                f"{', '.join(which)}: the model's next-token scores hold NaN or inf at response "
                f"token {input_ids.shape[1]} of the sequence; nothing was generated"
            )
        return scores


def _finite_scores(names: Sequence[str]):
    from transformers import LogitsProcessorList

    return LogitsProcessorList([_FiniteScores(names)])


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
        Overrides ``model.config.bos_token_id``; :data:`NO_BOS` prepends nothing.

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
    # a batch of one: no padding, so this is the unbatched reference the batched answers
    # are tested against
    (generation,) = generate_responses(
        model,
        tokenizer,
        [prompt],
        max_new_tokens,
        prompt_ids=[prompt_id],
        bos_token_id=bos_token_id,
        batch_size=1,
    )
    return generation


def generate_responses(
    model,
    tokenizer,
    prompts: Sequence[str],
    max_new_tokens: int,
    prompt_ids: Sequence[str] | None = None,
    bos_token_id: int | None = None,
    batch_size: int = 8,
    allow_empty: bool = False,
) -> list[Generation]:
    """Answer many prompts greedily in batches: :func:`generate_response` for each, batched.

    The prompts of a batch are padded on the left, with an attention mask, so that every
    prompt ends where generation starts; ``transformers`` derives position ids from the
    mask, so a padded prompt sees the positions it sees alone. One decoding step serves the
    whole batch, which on a CPU costs little more than one prompt's step: the per-step
    overhead of ``generate`` and of the model's Python code is paid once per batch instead
    of once per prompt. A finished answer is padded until the batch ends; everything from
    its first EOS on is dropped, as in :func:`generate_response`. Padding changes the shapes
    of the matrix products, so logits can differ from the one-prompt run in the last bits;
    a greedy choice flips only where two tokens tie to that precision (tested equal on
    small models, and checked by ``benchmarks/bench_attribution.py``).

    Parameters
    ----------
    prompts
        Prompt texts, e.g. from :func:`format_prompt`.
    max_new_tokens
        Upper bound on each response's length in tokens.
    prompt_ids
        Names of the prompts, for errors; default their positions.
    bos_token_id
        As in :func:`generate_response`.
    batch_size
        Prompts per ``generate`` call. The key-value cache grows with it: for a 7B LLaMA
        in float32, 8 prompts of 600 tokens hold about 5 GB (estimate: 2 x 32 layers x
        4,096 x 4 bytes per token); on the CPU demo, 8 already makes the per-step overhead
        small.

    Returns
    -------
    list of Generation
        One per prompt, in order, equal to :func:`generate_response`'s.

    allow_empty
        Return an empty response (no ids) instead of raising, for the caller to report.

    Raises
    ------
    ValueError
        If a response is empty and ``allow_empty`` is false, naming its prompt.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    names = [f"<prompt {i}>" for i in range(len(prompts))] if prompt_ids is None else prompt_ids
    if model.get_input_embeddings().weight.dtype == torch.float64:
        # transformers' eager attention turns a left-padded row into NaN in float64 (its
        # fully masked padding rows give NaN values, and 0 x NaN reaches the real tokens),
        # measured with transformers 5 on LLaMA: such models answer one prompt at a time
        batch_size = 1
    device = model.get_input_embeddings().weight.device
    bos = _bos_id(model, bos_token_id)
    eos = _eos_ids(model, tokenizer)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else next(iter(eos), 0)
    encoded = [encode_prompt(tokenizer, prompt) for prompt in prompts]
    model.eval()
    out: list[Generation] = []
    for start in range(0, len(encoded), batch_size):
        batch = [bos + ids for ids in encoded[start : start + batch_size]]
        width = max(len(ids) for ids in batch)
        input_ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, ids in enumerate(batch):
            input_ids[row, width - len(ids) :] = torch.tensor(ids)
            mask[row, width - len(ids) :] = 1
        with torch.inference_mode():
            generated = model.generate(
                input_ids.to(device),
                attention_mask=mask.to(device),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                num_beams=1,
                eos_token_id=sorted(eos) or None,
                pad_token_id=pad,
                logits_processor=_finite_scores(names[start : start + batch_size]),
            )
        for row, response in enumerate(generated[:, width:].tolist()):
            i = start + row
            cut = next((k for k, tok in enumerate(response) if tok in eos), len(response))
            if cut == 0 and not allow_empty:
                raise ValueError(f"{names[i]}: the model generated an empty response")
            response = response[:cut]
            text = tokenizer.decode(response, skip_special_tokens=True)
            out.append(Generation(prompt_ids=encoded[i], response_ids=response, response_text=text))
    logger.debug("generated %d responses in batches of %d", len(out), batch_size)
    return out


# --------------------------------------------------------------------------- attribution


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
    ids = torch.tensor([[*_bos_id(model, bos_token_id), *prompt_ids, *response_ids]], device=device)
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


def _grad_times_input(
    grads: torch.Tensor, embeds: torch.Tensor, n_prompt: int, n_resp: int
) -> torch.Tensor:
    """(chunk, 1, seq, hidden) gradients -> (n_prompt, chunk) dot products with the rows."""
    acc = _accumulation_dtype(embeds.dtype)
    first = embeds.shape[1] - n_prompt - n_resp  # 1 after a BOS, 0 without
    rows = embeds[0, first : first + n_prompt].detach().to(acc)
    return torch.einsum("cnh,nh->nc", grads[:, 0, first : first + n_prompt].to(acc), rows)


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
        Overrides ``model.config.bos_token_id``; :data:`NO_BOS` prepends nothing.

    Returns
    -------
    np.ndarray
        (n_prompt, n_response) float32: ``I[n, m] = (d p(y_m) / d e_n) . e_n``, sign kept.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    model.eval()
    n_prompt, n_resp = len(prompt_ids), len(response_ids)
    with frozen_weights(model):
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
            out[:, start:stop] = _grad_times_input(grads, embeds, n_prompt, n_resp).cpu()
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
    with frozen_weights(model):
        embeds, _, probs = _response_probabilities(model, prompt_ids, response_ids, bos_token_id)
        out = torch.empty(n_prompt, n_resp, dtype=_accumulation_dtype(embeds.dtype))
        for m in range(n_resp):
            (grad,) = torch.autograd.grad(probs[m], embeds, retain_graph=m < n_resp - 1)
            out[:, m] = _grad_times_input(grad[None], embeds, n_prompt, n_resp)[:, 0].cpu()
    return out.numpy().astype(np.float32)
