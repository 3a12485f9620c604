"""Study B model runs: what instruction tuning changes inside a model (arXiv 2310.00492).

The jobs that load a checkpoint (torch and transformers), one per model, which the
workflow's thin scripts call; what they write is compared by table-only modules that need
no torch:

* input-output attribution: :func:`attribution_run` answers every prompt with one model
  (:mod:`readalike.study_b.attribution`) and returns the records that
  :func:`readalike.core.formats.write_attribution` stores; they are scored by
  :mod:`readalike.study_b.instruction_focus`, as the authors' released matrices are after
  :mod:`readalike.release.study_b` converts them;
* feed-forward concepts: :func:`ffn_concepts_run` (:mod:`readalike.study_b.ffn_concepts`,
  labels by :mod:`readalike.study_b.concept_labels`), compared by
  :func:`readalike.study_b.concept_labels.concept_shift_table` and
  :func:`readalike.study_b.subspaces.subspace_similarity_table`;
* attention-head word pairs: :func:`head_pairs_run` (:mod:`readalike.study_b.head_pairs`), compared
  by :func:`readalike.study_b.verb_relations.verb_relations_table`;
* :func:`check_same_tokenizer` and the word vocabulary (:func:`study_b_vocabulary`).

Decisions:

* **Prompt text.** The ``Prompt`` column of the authors' ``FinalDataset.tsv`` is already the
  model's input: their Self-Instruct prompts read ``"<instruction>\\n\\nInput: <context>\\n\\n
  Output:"`` with the context written in, and the text after ``&&&`` in ``Instruct&Context``
  only marks which part is context (the released ``Input`` tokens spell the ``Prompt``
  column byte for byte). So the context is never inserted a second time:
  :func:`prompt_for_model` keeps a prompt that already ends with ``Output:`` as it is, and
  writes any other (the LIMA and MT-Bench prompts, which the authors fed raw) in the
  paper's template with :func:`~readalike.study_b.attribution.format_prompt`; ``template=False``
  feeds every prompt verbatim, as the authors did.
* **Instruction tokens** are located by the character offsets of the model's own
  tokenizer (:func:`locate_instruction`), so any fast tokenizer works; a prompt that
  cannot be located is skipped and reported (``faults``), never fatal for the job.
* **Chat template** (the model's ``chat_template: true``): the ``Prompt`` cell is written,
  verbatim, as one user turn of the tokenizer's own chat template with the generation prompt
  (:func:`chat_prompt`; SmolLM2-Instruct's adds its default system turn), and the
  instruction is located only inside that turn, never in the template's text
  (:func:`locate_instruction`'s ``content``).
* **BOS** follows the one rule of both studies (:mod:`readalike.models.bos`, config key ``bos``).
* **Weights for the internals analyses** are read from the checkpoint's safetensors one
  tensor at a time through the family table of :mod:`readalike.models.architectures`; the model
  is never built, so memory holds one layer.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from readalike.core.formats import PromptAttribution
from readalike.core.tables import columns as table_columns
from readalike.models.architectures import open_checkpoint
from readalike.models.bos import input_pad_id, resolve_bos
from readalike.models.extraction import load_causal_lm
from readalike.models.gguf import describe, provenance_attrs
from readalike.models.tokenizer import fast_tokenizer
from readalike.models.tokenizer import load_tokenizer as checkpoint_tokenizer
from readalike.models.vocabulary import (
    read_vocabulary,
    vocabulary_from_text,
    word_token_ids,
    word_vectors,
)
from readalike.models.zoo import read_texts
from readalike.study_b.attribution import (
    NO_BOS,
    attribution_matrix,
    format_prompt,
    generate_responses,
)
from readalike.study_b.ffn_concepts import concept_table, ffn_components
from readalike.study_b.head_pairs import model_word_pairs, read_glove, verb_pair_counts
from readalike.study_b.instruction_tokens import instruction_mask_from_offsets
from readalike.study_b.prompts import read_prompts, select_prompts
from readalike.study_b.verb_relations import default_verb_lists

logger = logging.getLogger(__name__)

#: The last sentence of a prompt written in the paper's template.
OUTPUT_MARKER = "Output:"
#: Columns of :func:`ffn_concepts_run`'s concept table.
CONCEPT_COLUMNS = table_columns("ffn_concepts")
#: Columns of :func:`head_pairs_run`'s table.
HEAD_PAIR_COLUMNS = table_columns("head_pairs")
FAULT_COLUMNS = table_columns("attribution_faults")

#: Texts whose token ids two tokenizers must agree on (besides the whole vocabulary).
PROBE_STRINGS = (
    "Honey bees live in colonies.",
    "Rewrite the given text.\n\nInput: x\n\nOutput:",
    "  1234 \u00e9\u00e8 \u4e2d\u6587 \U0001f41d",
)


# --------------------------------------------------------------------------- loading


def load_tokenizer(model_location: str | os.PathLike):
    """The checkpoint's tokenizer; a fast one (character offsets locate the instruction)."""
    return fast_tokenizer(model_location, "locating the instruction")


def load_for_attribution(
    model_location: str | os.PathLike,
    *,
    model_name: str,
    dtype: str = "float32",
    device: str = "cpu",
    bos: str = "auto",
):
    """Model, tokenizer and BOS id of an attribution run.

    BOS follows :func:`readalike.models.bos.resolve_bos` (logged with how it was chosen;
    ``None`` becomes :data:`readalike.study_b.attribution.NO_BOS`). A pad id outside the model's
    embedding is replaced by one inside (:func:`readalike.models.bos.input_pad_id`): padded
    positions are masked, and an id past the embedding (GPT-NeoX ``<|padding|>`` on a
    small checkpoint) would crash the lookup.

    Returns
    -------
    model, tokenizer, bos_token_id
    """
    model, tokenizer = load_causal_lm(model_location, dtype=dtype, device=device)
    bos_id, how = resolve_bos(tokenizer, model.config, bos, model_name)
    vocab_size = model.get_input_embeddings().weight.shape[0]
    pad = input_pad_id(tokenizer, vocab_size)
    if tokenizer.pad_token_id != pad:
        logger.info(
            "%s: pad id %s lies outside the embedding (%d rows); padding with id %d",
            model_name,
            tokenizer.pad_token_id,
            vocab_size,
            pad,
        )
        tokenizer.pad_token = tokenizer.convert_ids_to_tokens(pad)
    logger.info("%s: BOS %s (%s)", model_name, bos_id, how)
    return model, tokenizer, NO_BOS if bos_id is None else bos_id


# --------------------------------------------------------------------------- attribution run


def prompt_for_model(prompt: str, template: bool = True) -> str:
    """The text a model reads for a ``Prompt`` cell (see the module notes).

    A prompt already in the paper's template (last sentence ``Output:``, the context written
    in) or ``template=False`` -> unchanged; otherwise
    :func:`~readalike.study_b.attribution.format_prompt` of the whole prompt, without context.
    """
    if not template or prompt.rstrip().endswith(OUTPUT_MARKER):
        return prompt
    return format_prompt(prompt)


#: Stands for the prompt while a chat template is rendered (a character no prompt holds).
_CONTENT = "\x00"


def chat_prompt(tokenizer, prompt: str) -> tuple[str, tuple[int, int]]:
    """``prompt`` as one user turn of the tokenizer's chat template, and where it lies.

    The template is rendered once around a placeholder, so the prompt's characters are
    found exactly (a template may hold text that also occurs in a prompt).

    Returns
    -------
    text : str
        The whole chat text, generation prompt included.
    content : (int, int)
        ``[start, end)`` characters of ``prompt`` in ``text``.

    Raises
    ------
    ValueError
        The tokenizer has no chat template.
    """
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError(
            f"tokenizer {type(tokenizer).__name__} has no chat template (chat_template: true)"
        )
    rendered = tokenizer.apply_chat_template(
        [{"role": "user", "content": _CONTENT}], tokenize=False, add_generation_prompt=True
    )
    before, found, after = rendered.partition(_CONTENT)
    if not found or _CONTENT in after:
        raise ValueError("the chat template does not write the user's message once, verbatim")
    return before + prompt + after, (len(before), len(before) + len(prompt))


@contextlib.contextmanager
def _torch_threads(n_threads: int | None) -> Iterator[None]:
    if n_threads is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def attribution_run(
    model_location: str | os.PathLike,
    prompts_path: str | os.PathLike,
    *,
    model_name: str,
    max_new_tokens: int,
    chunk_size: int,
    dtype: str = "float32",
    device: str = "cpu",
    n_threads: int | None = None,
    progress: bool = True,
    template: bool = True,
    bos: str = "auto",
    faults: list | None = None,
    chat_template: bool = False,
    n_prompts: int | None = None,
    checkpoint_facts: Mapping[str, object] | None = None,
    attrs: dict | None = None,
) -> list[PromptAttribution]:
    """Answer every prompt greedily with one model and attribute each response to the prompt.

    The model is loaded once (:func:`~readalike.models.extraction.load_causal_lm`); per prompt:
    :func:`prompt_for_model`, :func:`~readalike.study_b.attribution.generate_responses` (batched),
    :func:`~readalike.study_b.attribution.attribution_matrix` and
    :func:`~readalike.study_b.attribution.instruction_token_mask` with the model's tokenizer.

    Parameters
    ----------
    model_location
        Checkpoint folder or hub id.
    prompts_path
        A ``FinalDataset.tsv``-style file (:func:`readalike.study_b.prompts.read_prompts`).
    model_name
        Stored in the records.
    max_new_tokens
        Longest response in tokens.
    chunk_size
        Response tokens per batched backward pass (memory grows with it).
    dtype, device
        As in :func:`~readalike.models.extraction.load_causal_lm`; float32 is the one to use for
        scores (see :mod:`readalike.study_b.attribution`).
    n_threads
        ``torch.set_num_threads`` for the run, restored afterwards; ``None`` keeps torch's.
    progress
        Show a tqdm bar over the prompts.
    template
        See :func:`prompt_for_model`.
    bos
        The model's ``bos`` choice (:func:`readalike.models.bos.resolve_bos`).
    faults
        If given, one row per skipped prompt is appended,
        :data:`FAULT_COLUMNS` (``model, prompt_id, kind, fatal,
        detail``; kind ``not_located``, or ``empty_response`` where the model answered
        nothing), for :func:`attribution_faults_table`.
    chat_template
        Write each prompt as one user turn of the tokenizer's chat template
        (:func:`chat_prompt`) instead of :func:`prompt_for_model`.
    n_prompts
        Answer only this many, spread over the sources
        (:func:`readalike.study_b.prompts.select_prompts`); ``None``: all.
    checkpoint_facts
        What the workflow verified about a GGUF checkpoint
        (:func:`readalike.models.gguf.verify_gguf`), logged.
    attrs
        If given, filled with the HDF5 attributes that say what the weights were
        (:func:`readalike.models.gguf.provenance_attrs`: quantisation, dequantised dtype),
        for :func:`readalike.core.formats.write_attribution`.

    Returns
    -------
    list of PromptAttribution
        One per prompt, in file order; ``importance`` is ``(n_prompt, n_response)``.

    Raises
    ------
    ValueError
        If a response is empty and no ``faults`` list is given, naming the prompt ID. With
        ``faults``, a prompt whose instruction cannot be located
        (:func:`locate_instruction`) or whose response is empty is skipped, logged and
        added to it.
    """
    prompts = read_prompts(prompts_path)
    if n_prompts is not None:
        prompts = select_prompts(prompts, n_prompts)
    model, tokenizer, bos = load_for_attribution(
        model_location, model_name=model_name, dtype=dtype, device=device, bos=bos
    )
    weights = provenance_attrs(checkpoint_facts or {}, model.dtype)
    if weights:
        logger.info("%s: %s", model_name, describe(checkpoint_facts, model.dtype))
    if attrs is not None:
        attrs.update(weights)
    records = []
    located = []
    for row in prompts.itertuples(index=False):
        content = None
        if chat_template:
            text, content = chat_prompt(tokenizer, row.prompt)
        else:
            text = prompt_for_model(row.prompt, template)
        try:
            ids, mask = locate_instruction(
                tokenizer, text, row.fragments, row.prompt_id, content=content
            )
        except ValueError as err:
            # one prompt the offsets cannot place must not cost the model's whole job
            logger.warning("%s: skipped: %s", model_name, err)
            if faults is not None:
                faults.append((model_name, row.prompt_id, "not_located", True, str(err)))
            continue
        located.append((row, text, ids, mask))
    with _torch_threads(n_threads):
        # all answers in batches first: one decoding step serves a whole batch
        generations = generate_responses(
            model,
            tokenizer,
            [text for _, text, _, _ in located],
            max_new_tokens,
            prompt_ids=[row.prompt_id for row, _, _, _ in located],
            bos_token_id=bos,
            allow_empty=faults is not None,
        )
        for (row, text, ids, mask), generation in tqdm(
            zip(located, generations, strict=True),
            total=len(located),
            desc=f"attribution {model_name}",
            unit="prompt",
            disable=not progress,
        ):
            if generation.prompt_ids != ids:  # both encode the same text the same way
                raise AssertionError(f"{row.prompt_id}: prompt ids differ between encodings")
            if not generation.response_ids:
                # nothing to attribute: said in the faults table, as the release's empty output
                message = f"{row.prompt_id}: the model generated an empty response"
                logger.warning("%s: skipped: %s", model_name, message)
                faults.append((model_name, row.prompt_id, "empty_response", True, message))
                continue
            importance = attribution_matrix(
                model,
                generation.prompt_ids,
                generation.response_ids,
                chunk_size=chunk_size,
                bos_token_id=bos,
            )
            prompt_tokens = tokenizer.convert_ids_to_tokens(generation.prompt_ids)
            records.append(
                PromptAttribution(
                    model=model_name,
                    prompt_id=row.prompt_id,
                    source=row.source,
                    prompt_text=text,
                    response_text=generation.response_text,
                    prompt_tokens=list(prompt_tokens),
                    response_tokens=list(tokenizer.convert_ids_to_tokens(generation.response_ids)),
                    importance=importance,
                    instruction_mask=mask,
                )
            )
    logger.info("%s: attributed %d prompts from %s", model_name, len(records), prompts_path)
    return records


def locate_instruction(
    tokenizer, text: str, fragments, prompt_id: str, content: tuple[int, int] | None = None
) -> tuple[list[int], np.ndarray]:
    """Prompt token ids (as :func:`~readalike.study_b.attribution.encode_prompt`) and their mask.

    The instruction sentences are found by the tokens' character offsets
    (:func:`~readalike.study_b.instruction_tokens.instruction_mask_from_offsets`), whatever the
    tokenizer's kind. With ``content`` (``[start, end)`` characters of the prompt inside a
    chat text, :func:`chat_prompt`), only that part is searched, and tokens outside it are
    never instruction tokens.

    Returns
    -------
    ids : list of int
        ``(n_prompt,)`` without BOS.
    mask : numpy.ndarray
        ``(n_prompt,)`` bool.

    Raises
    ------
    ValueError
        If the instruction cannot be located, naming ``prompt_id``.
    """
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = list(enc["input_ids"]), list(enc["offset_mapping"])
    if ids and tokenizer.bos_token_id is not None and ids[0] == tokenizer.bos_token_id:
        ids, offsets = ids[1:], offsets[1:]  # a chat template's own BOS, as encode_prompt
    if content is None:
        return ids, instruction_mask_from_offsets(offsets, text, fragments, prompt_id)
    start, end = content
    spans = np.asarray(offsets, dtype=np.int64).reshape(-1, 2) - start
    # template tokens become empty spans, which are never instruction tokens
    spans[(spans[:, 0] < 0) | (spans[:, 1] > end - start)] = 0
    return ids, instruction_mask_from_offsets(spans, text[start:end], fragments, prompt_id)


def attribution_faults_table(faults: Sequence[tuple]) -> pd.DataFrame:
    """The prompts an attribution run skipped, :data:`FAULT_COLUMNS`."""
    return pd.DataFrame(list(faults), columns=FAULT_COLUMNS)


def check_same_tokenizer(
    location_a: str | os.PathLike, location_b: str | os.PathLike, names: tuple[str, str]
) -> None:
    """Raise ``ValueError`` unless two checkpoints tokenise identically.

    Base and tuned models are compared token by token (attribution heat maps, instruction
    tokens), which only makes sense with one tokenizer. Compared: the vocabulary (piece ->
    id), the BOS/EOS ids and the ids of :data:`PROBE_STRINGS`.

    Parameters
    ----------
    location_a, location_b
        Checkpoint folders or hub ids.
    names
        The two models' names, used in the message.
    """
    tok_a = checkpoint_tokenizer(location_a)
    tok_b = checkpoint_tokenizer(location_b)
    vocab_a, vocab_b = tok_a.get_vocab(), tok_b.get_vocab()
    problems = []
    if len(vocab_a) != len(vocab_b):
        problems.append(f"vocabulary sizes {len(vocab_a)} and {len(vocab_b)}")
    elif vocab_a != vocab_b:
        differ = sorted(p for p in vocab_a if vocab_b.get(p) != vocab_a[p])
        problems.append(f"{len(differ)} pieces with other ids (e.g. {differ[:3]})")
    for attr in ("bos_token_id", "eos_token_id"):
        if getattr(tok_a, attr) != getattr(tok_b, attr):
            problems.append(f"{attr} {getattr(tok_a, attr)} and {getattr(tok_b, attr)}")
    for probe in PROBE_STRINGS:
        ids_a = tok_a(probe, add_special_tokens=False)["input_ids"]
        ids_b = tok_b(probe, add_special_tokens=False)["input_ids"]
        if ids_a != ids_b:
            problems.append(f"different ids for {probe!r}")
    if problems:
        raise ValueError(
            f"models {names[0]!r} ({location_a}) and {names[1]!r} ({location_b}) have "
            f"different tokenizers: {'; '.join(problems)}"
        )


# --------------------------------------------------------------------------- FFN concepts


def ffn_concepts_run(
    model_location: str | os.PathLike,
    words: Sequence[str],
    *,
    model_name: str,
    n_components: int,
    n_top_words: int,
    seed: int = 0,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Principal components of every feed-forward layer, their top words and labels.

    Word vectors are the normalised means of the words' sub-token *output* embedding rows,
    as in the paper (:func:`~readalike.models.vocabulary.word_vectors`).

    Parameters
    ----------
    model_location
        Checkpoint folder or hub id.
    words
        The vocabulary; every word must have tokens.
    model_name
        Stored in the table, named in errors.
    n_components
        ``R`` per layer (the paper: 300); at most ``min(hidden, intermediate)``.
    n_top_words, seed
        Words per component and the PCA's seed. Weights are read from the checkpoint's
        safetensors one layer at a time (:func:`readalike.models.architectures.open_checkpoint`)
        and computed in float32.

    Returns
    -------
    concepts : pandas.DataFrame
        :data:`CONCEPT_COLUMNS`, one row per (layer, component); ``top_words``
        space-joined, best first.
    components : numpy.ndarray
        ``(n_layers, R, hidden)`` float32, orthonormal rows per layer.

    Raises
    ------
    ValueError
        A family the adapter refuses (:func:`~readalike.models.architectures.family_of`), too many
        components, or a word without tokens.
    """
    weights = open_checkpoint(model_location, model_name)
    intermediate, _ = weights.value_shape()
    largest = min(weights.hidden_size, intermediate)
    if not 0 < n_components <= largest:
        raise ValueError(
            f"model {model_name!r}: n_components={n_components} must lie in 1..{largest} "
            f"(hidden {weights.hidden_size}, intermediate {intermediate})"
        )
    tokenizer = load_tokenizer(model_location)
    with torch.no_grad():
        components, evr = ffn_components(weights, R=n_components, seed=seed)
        ids = word_token_ids(tokenizer, words)
        vectors = word_vectors(weights.output_embeddings(), ids, normalize=True)
    table = concept_table(components, evr, vectors, list(words), k=n_top_words)
    table = table.rename(columns={"evr": "explained_variance"}).assign(model=model_name)
    logger.info(
        "%s: %d layers x %d components over %d words",
        model_name,
        len(evr),
        n_components,
        len(words),
    )
    return table[CONCEPT_COLUMNS], components.astype(np.float32, copy=False)


def head_pairs_run(
    model_location: str | os.PathLike,
    words: Sequence[str],
    frequencies: Sequence[float] | np.ndarray,
    *,
    model_name: str,
    top_k: int,
    n_frequent: int,
    glove_path: str | os.PathLike | None = None,
    verbs: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, int]:
    """Count, per head, the related word pairs that hold each verb.

    Words are sorted by frequency (most frequent first: the similarity thresholds use the
    ``n_frequent`` most frequent words); word vectors are the means of the sub-token
    *input* embedding rows; similarity comes from GloVe if ``glove_path`` is given, else
    from those vectors (:func:`~readalike.study_b.head_pairs.model_word_pairs`).

    Parameters
    ----------
    model_location
        Checkpoint folder or hub id.
    words, frequencies
        The vocabulary and one frequency (or count) per word.
    model_name
        Stored in the table, named in errors.
    top_k
        Words per head dimension and side (the paper: 100).
    n_frequent
        Reference words of the similarity thresholds.
    glove_path
        Optional GloVe-format file.
    verbs
        Verbs to count; default: the shipped instruction and general verb lists.

    Returns
    -------
    counts : pandas.DataFrame
        :data:`HEAD_PAIR_COLUMNS`: only (layer, head, verb) with ``n_pairs > 0`` (a missing
        row means zero); ``counts.attrs["n_layers"]`` is the depth.
    n_layers : int
        The model's depth, which :func:`verb_relations_table` needs.
    """
    frequencies = np.asarray(frequencies, dtype=np.float64)
    if len(words) != len(frequencies):
        raise ValueError(f"{len(words)} words but {len(frequencies)} frequencies")
    order = np.argsort(-frequencies, kind="stable")
    words = [words[i] for i in order]
    if verbs is None:
        instruction, general = default_verb_lists()
        verbs = [*instruction, *general]
    weights = open_checkpoint(model_location, model_name)
    tokenizer = load_tokenizer(model_location)
    with torch.no_grad():
        embeddings = word_vectors(weights.input_embeddings(), word_token_ids(tokenizer, words))
    sim_vectors = None
    if glove_path is not None:
        sim_vectors, found = read_glove(glove_path, words)
        logger.info("%s: %d of %d words have GloVe vectors", model_name, found.sum(), len(words))
    pairs = model_word_pairs(weights, embeddings, sim_vectors, n_frequent=n_frequent, k=top_k)
    counts = verb_pair_counts(pairs, words, verbs).rename(columns={"count": "n_pairs"})
    counts = counts.assign(model=model_name)[HEAD_PAIR_COLUMNS]
    counts.attrs["n_layers"] = weights.n_layers
    logger.info(
        "%s: %d word pairs, %d (layer, head, verb) with a verb", model_name, len(pairs), len(counts)
    )
    return counts, weights.n_layers


def demo_vocabulary(
    texts: Sequence[str], tokenizer, min_count: int = 1
) -> tuple[list[str], np.ndarray]:
    """The demo's vocabulary: the words of the shipped texts, as the model's tokenizer sees them.

    Words are counted by :func:`~readalike.models.vocabulary.vocabulary_from_text`. A word that the
    tokenizer can only write with its unknown token carries no meaning of its own and is
    dropped (logged); a word with no token at all is a bad input and raises, as for a
    user-supplied vocabulary (:func:`~readalike.models.vocabulary.word_token_ids`).

    Returns
    -------
    words : list of str
        Most frequent first.
    frequencies : numpy.ndarray
        ``(n_words,)`` float64 counts.
    """
    vocabulary = vocabulary_from_text(texts, min_count=min_count)
    ids = word_token_ids(tokenizer, vocabulary.words)
    unk = tokenizer.unk_token_id
    keep = np.array([unk is None or unk not in word_ids for word_ids in ids], dtype=bool)
    if not keep.all():
        logger.info(
            "demo vocabulary: dropped %d words the tokenizer writes as unknown", (~keep).sum()
        )
    words = [w for w, k in zip(vocabulary.words, keep, strict=True) if k]
    if not words:
        raise ValueError("demo vocabulary: no word the tokenizer can write")
    return words, vocabulary.frequency[keep]


def study_b_vocabulary(
    model_location: str | os.PathLike, inputs: Sequence[str], from_file: bool
) -> tuple[list[str], np.ndarray]:
    """The word vocabulary of a Study B run: the configured file, else the demo's text.

    Parameters
    ----------
    model_location : checkpoint whose tokenizer writes the words (demo vocabulary only).
    inputs : the rule's vocabulary inputs: ``[study_b["vocabulary"]]``, or the run's text
        files (stimuli, prompts, the demo zoo's training text).
    from_file : True when ``inputs`` is the configured vocabulary file.
    """
    if from_file:
        vocabulary = read_vocabulary(inputs[0])
        return list(vocabulary.words), vocabulary.frequency
    texts = [line for path in inputs for line in read_texts(path)]
    return demo_vocabulary(texts, checkpoint_tokenizer(model_location))
