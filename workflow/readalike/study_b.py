"""Study B drivers: what instruction tuning changes inside a model (arXiv 2310.00492).

Plain functions that the workflow's thin scripts call, one per table or per model, on top
of the building blocks:

* input-output attribution (:mod:`readalike.attribution`): :func:`attribution_run` answers
  every prompt with one model and stores the raw gradient x input matrices in the HDF5
  format :data:`ATTRIBUTION_FORMAT` (:func:`write_attribution` / :func:`read_attribution`);
  :func:`attribution_scores_table` and :func:`instruction_focus_table` turn them into the
  instruction scores and the base-versus-tuned Welch tests. The released matrices of the
  authors go through :func:`release_b_tables` (:mod:`readalike.release_b`) into the same
  tables;
* feed-forward concepts (:mod:`readalike.ffn_concepts`): :func:`ffn_concepts_run` per model,
  components stored in :data:`COMPONENTS_FORMAT`, compared by :func:`concept_shift_table`
  and :func:`subspace_similarity_table`;
* attention-head word pairs (:mod:`readalike.head_pairs`): :func:`head_pairs_run` per model,
  compared by :func:`verb_relations_table`.

Decisions:

* **Prompt text.** The ``Prompt`` column of the authors' ``FinalDataset.tsv`` is already the
  model's input: their Self-Instruct prompts read ``"<instruction>\\n\\nInput: <context>\\n\\n
  Output:"`` with the context written in, and the text after ``&&&`` in ``Instruct&Context``
  only marks which part is context (the released ``Input`` tokens spell the ``Prompt``
  column byte for byte). So the context is never inserted a second time:
  :func:`prompt_for_model` keeps a prompt that already ends with ``Output:`` as it is, and
  writes any other (the LIMA and MT-Bench prompts, which the authors fed raw) in the
  paper's template with :func:`~readalike.attribution.format_prompt`; ``template=False``
  feeds every prompt verbatim, as the authors did.
* **Instruction tokens** are located with the model's own tokenizer
  (``instruction_token_mask(..., tokenize=tokenizer.tokenize)``).
* **Source names** follow :mod:`readalike.release_b`: ``Self-Instruct``, ``LIMA``,
  ``MT-Bench`` from the ID prefix, and ``All`` (:data:`readalike.release_b.ALL_SOURCES`)
  for the pooled row, so the demo and the released tables read the same.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from . import release_b
from .attribution import (
    attribution_matrix,
    discretise,
    format_prompt,
    generate_response,
    importance_density,
    instruction_score,
    instruction_token_mask,
)
from .extraction import load_causal_lm
from .ffn_concepts import (
    concept_shares,
    concept_shift,
    concept_table,
    depth_groups,
    ffn_components,
    subspace_similarity,
)
from .head_pairs import (
    default_verb_lists,
    model_word_pairs,
    read_glove,
    read_verb_list,
    verb_pair_counts,
    verb_relation_fractions,
)
from .outputs import atomic_path
from .vocabulary import (
    modules_of,
    read_vocabulary,
    vocabulary_from_text,
    word_token_ids,
    word_vectors,
)
from .zoo import read_texts

logger = logging.getLogger(__name__)

ATTRIBUTION_FORMAT = "readalike.attribution/1"
COMPONENTS_FORMAT = "readalike.ffn_components/1"
#: The last sentence of a prompt written in the paper's template.
OUTPUT_MARKER = "Output:"

SCORE_COLUMNS = [
    "model",
    "prompt_id",
    "source",
    "score",
    "n_instruction_tokens",
    "n_response_tokens",
]
FOCUS_COLUMNS = [
    "source",
    "model_base",
    "model_tuned",
    "mean_base",
    "mean_tuned",
    "t",
    "p_one_sided",
]
FOLLOWING_COLUMNS = [
    "source",
    "model",
    "mean_followed",
    "mean_unfollowed",
    "n_followed",
    "n_unfollowed",
    "t",
    "p_one_sided",
]
CONCEPT_COLUMNS = [
    "model",
    "layer",
    "component",
    "explained_variance",
    "top_words",
    "task",
    "level",
]
SUBSPACE_COLUMNS = ["model_base", "model_tuned", "layer", "mean_cosine_principal_angles"]
HEAD_PAIR_COLUMNS = ["model", "layer", "head", "verb", "n_pairs"]
VERB_COLUMNS = [
    "model_base",
    "model_tuned",
    "depth_quarter",
    "verb_list",
    "fraction_gained",
    "n_verbs",
    "t",
    "p",
]

#: Texts whose token ids two tokenizers must agree on (besides the whole vocabulary).
PROBE_STRINGS = (
    "Honey bees live in colonies.",
    "Rewrite the given text.\n\nInput: x\n\nOutput:",
    "  1234 \u00e9\u00e8 \u4e2d\u6587 \U0001f41d",
)


# --------------------------------------------------------------------------- attribution format


@dataclass(frozen=True)
class PromptAttribution:
    """One prompt answered by one model, with the attribution of its response.

    Attributes
    ----------
    model
        The model's name (the file's root attribute ``model``).
    prompt_id, source
        ID from the prompts file and its source (``Self-Instruct``, ``LIMA``, ``MT-Bench``).
    prompt_text, response_text
        The prompt as the model read it, and the decoded greedy response.
    prompt_tokens
        ``n_prompt`` token strings of the prompt, without BOS.
    response_tokens
        ``n_response`` token strings of the response, without EOS.
    importance
        ``(n_prompt, n_response)`` float32: raw gradient x input, sign kept
        (:func:`~readalike.attribution.attribution_matrix`).
    instruction_mask
        ``(n_prompt,)`` bool, True on the tokens of the instruction sentences.
    """

    model: str
    prompt_id: str
    source: str
    prompt_text: str
    response_text: str
    prompt_tokens: list[str]
    response_tokens: list[str]
    importance: np.ndarray
    instruction_mask: np.ndarray

    def check(self, where: str) -> None:
        """Raise ``ValueError`` (naming ``where`` and the prompt) if the parts disagree."""
        shape = (len(self.prompt_tokens), len(self.response_tokens))
        name = f"{where}: {self.prompt_id}"
        if "/" in self.prompt_id or not self.prompt_id.strip():
            raise ValueError(f"{name}: a prompt ID must be non-empty and hold no '/'")
        if self.importance.shape != shape:
            raise ValueError(
                f"{name}: importance of shape {self.importance.shape}, expected "
                f"(n_prompt_tokens, n_response_tokens) = {shape}"
            )
        if self.instruction_mask.shape != (shape[0],) or self.instruction_mask.dtype != bool:
            raise ValueError(f"{name}: instruction_mask must be bool of shape ({shape[0]},)")
        if 0 in shape:
            raise ValueError(f"{name}: empty prompt or response")
        if not np.isfinite(self.importance).all():
            raise ValueError(f"{name}: importance holds NaN or inf")


def write_attribution(
    path: str | os.PathLike, records: Sequence[PromptAttribution], provenance: str = ""
) -> None:
    """Write one model's attribution records as :data:`ATTRIBUTION_FORMAT` HDF5, atomically.

    Layout: root attributes ``format``, ``model``, ``source`` (free text: how the file was
    made); one group ``prompt/<ID>`` per prompt, in the records' order, with datasets
    ``importance`` ``(n_prompt_tokens, n_response_tokens)`` float32, ``prompt_tokens`` and
    ``response_tokens`` (UTF-8 strings), ``instruction_mask`` ``(n_prompt_tokens,)`` bool,
    and attributes ``source``, ``prompt_text``, ``response_text``.

    Parameters
    ----------
    path
        The ``.h5`` file to write.
    records
        At least one record, all of the same model, distinct prompt IDs.
    provenance
        Stored as the root attribute ``source``.

    Raises
    ------
    ValueError
        No record, several models, a repeated ID, or a record whose parts disagree.
    """
    path = Path(path)
    if not records:
        raise ValueError(f"{path}: no attribution record to write")
    models = sorted({r.model for r in records})
    if len(models) != 1:
        raise ValueError(f"{path}: records of several models {models}; one file per model")
    seen: set[str] = set()
    for record in records:
        record.check(str(path))
        if record.prompt_id in seen:
            raise ValueError(f"{path}: prompt {record.prompt_id!r} appears twice")
        seen.add(record.prompt_id)
    strings = h5py.string_dtype("utf-8")
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs.update(format=ATTRIBUTION_FORMAT, model=models[0], source=provenance)
        # track_order keeps the prompts in the order they were run, not sorted by name
        prompts = f.create_group("prompt", track_order=True)
        for r in records:
            group = prompts.create_group(r.prompt_id)
            group.create_dataset("importance", data=np.asarray(r.importance, dtype=np.float32))
            group.create_dataset("prompt_tokens", data=list(r.prompt_tokens), dtype=strings)
            group.create_dataset("response_tokens", data=list(r.response_tokens), dtype=strings)
            group.create_dataset("instruction_mask", data=np.asarray(r.instruction_mask, bool))
            group.attrs.update(
                source=r.source, prompt_text=r.prompt_text, response_text=r.response_text
            )
    logger.info("wrote %d attribution records of %s to %s", len(records), models[0], path)


def read_attribution(path: str | os.PathLike) -> list[PromptAttribution]:
    """Read an :data:`ATTRIBUTION_FORMAT` file written by :func:`write_attribution`.

    Returns
    -------
    list of PromptAttribution
        In the order they were written.

    Raises
    ------
    ValueError
        Naming the file (and prompt): another format, or a record whose parts disagree.
    """
    path = Path(path)
    records = []
    with h5py.File(path, "r") as f:
        found = f.attrs.get("format")
        if found != ATTRIBUTION_FORMAT:
            raise ValueError(
                f"{path}: not a {ATTRIBUTION_FORMAT} file (format attribute: {found!r})"
            )
        model = str(f.attrs["model"])
        for prompt_id, group in f["prompt"].items():
            try:
                record = PromptAttribution(
                    model=model,
                    prompt_id=prompt_id,
                    source=str(group.attrs["source"]),
                    prompt_text=str(group.attrs["prompt_text"]),
                    response_text=str(group.attrs["response_text"]),
                    prompt_tokens=list(group["prompt_tokens"].asstr()[()]),
                    response_tokens=list(group["response_tokens"].asstr()[()]),
                    importance=group["importance"][()].astype(np.float32, copy=False),
                    instruction_mask=group["instruction_mask"][()].astype(bool, copy=False),
                )
            except KeyError as err:
                raise ValueError(f"{path}: {prompt_id}: missing {err}") from None
            record.check(str(path))
            records.append(record)
    if not records:
        raise ValueError(f"{path}: holds no prompt")
    return records


# --------------------------------------------------------------------------- attribution run


def prompt_for_model(prompt: str, template: bool = True) -> str:
    """The text a model reads for a ``Prompt`` cell (see the module notes).

    A prompt already in the paper's template (last sentence ``Output:``, the context written
    in) or ``template=False`` -> unchanged; otherwise
    :func:`~readalike.attribution.format_prompt` of the whole prompt, without context.
    """
    if not template or prompt.rstrip().endswith(OUTPUT_MARKER):
        return prompt
    return format_prompt(prompt)


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
    max_new_tokens: int = 32,
    chunk_size: int = 16,
    dtype: str = "float32",
    device: str = "cpu",
    n_threads: int | None = None,
    progress: bool = True,
    template: bool = True,
) -> list[PromptAttribution]:
    """Answer every prompt greedily with one model and attribute each response to the prompt.

    The model is loaded once (:func:`~readalike.extraction.load_causal_lm`); per prompt:
    :func:`prompt_for_model`, :func:`~readalike.attribution.generate_response`,
    :func:`~readalike.attribution.attribution_matrix` and
    :func:`~readalike.attribution.instruction_token_mask` with the model's tokenizer.

    Parameters
    ----------
    model_location
        Checkpoint folder or hub id.
    prompts_path
        A ``FinalDataset.tsv``-style file (:func:`readalike.release_b.read_prompts`).
    model_name
        Stored in the records.
    max_new_tokens
        Longest response in tokens.
    chunk_size
        Response tokens per batched backward pass (memory grows with it).
    dtype, device
        As in :func:`~readalike.extraction.load_causal_lm`; float32 is the one to use for
        scores (see :mod:`readalike.attribution`).
    n_threads
        ``torch.set_num_threads`` for the run, restored afterwards; ``None`` keeps torch's.
    progress
        Show a tqdm bar over the prompts.
    template
        See :func:`prompt_for_model`.

    Returns
    -------
    list of PromptAttribution
        One per prompt, in file order; ``importance`` is ``(n_prompt, n_response)``.

    Raises
    ------
    ValueError
        If a response is empty, or an instruction sentence is not found in the tokens;
        the message names the prompt ID.
    """
    prompts = release_b.read_prompts(prompts_path)
    model, tokenizer = load_causal_lm(model_location, dtype=dtype, device=device)
    records = []
    with _torch_threads(n_threads):
        for row in tqdm(
            prompts.itertuples(index=False),
            total=len(prompts),
            desc=f"attribution {model_name}",
            unit="prompt",
            disable=not progress,
        ):
            text = prompt_for_model(row.prompt, template)
            generation = generate_response(model, tokenizer, text, max_new_tokens, row.prompt_id)
            importance = attribution_matrix(
                model, generation.prompt_ids, generation.response_ids, chunk_size=chunk_size
            )
            prompt_tokens = tokenizer.convert_ids_to_tokens(generation.prompt_ids)
            mask = instruction_token_mask(
                prompt_tokens, text, row.fragments, row.prompt_id, tokenize=tokenizer.tokenize
            )
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


def attribution_scores_table(
    records: Sequence[PromptAttribution],
    model_name: str,
    b: int = 7,
    L: int = 10,  # noqa: N803
) -> pd.DataFrame:
    """Instruction score of every record (discretise with ``L``, ``b``; density; score).

    The defaults are the paper's (:data:`readalike.release_b.LEVELS`, ``THRESHOLD``).

    Returns
    -------
    pandas.DataFrame
        :data:`SCORE_COLUMNS`, one row per record.
    """
    rows = []
    for r in records:
        density = importance_density(discretise(r.importance, L=L, b=b))
        rows.append(
            (
                model_name,
                r.prompt_id,
                r.source,
                instruction_score(density, r.instruction_mask),
                int(r.instruction_mask.sum()),
                len(r.response_tokens),
            )
        )
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


def instruction_focus_table(scores: pd.DataFrame, pairs: Sequence[tuple[str, str]]) -> pd.DataFrame:
    """Does tuning raise the instruction score? One-sided Welch per source and pooled.

    Parameters
    ----------
    scores
        Concatenated :func:`attribution_scores_table` tables (or the release's).
    pairs
        ``(base, tuned)`` model names to compare.

    Returns
    -------
    pandas.DataFrame
        :data:`FOCUS_COLUMNS`; per pair one row per source and one with source ``All``
        (:func:`readalike.release_b.instruction_focus`; H1: mean tuned > mean base; NaN
        where a group has fewer than two scores).
    """
    known = set(scores["model"])
    tables = []
    for base, tuned in pairs:
        missing = [m for m in (base, tuned) if m not in known]
        if missing:
            raise ValueError(f"no instruction scores of model(s) {missing}; have {sorted(known)}")
        tables.append(release_b.instruction_focus(scores, base, tuned)[FOCUS_COLUMNS])
    return pd.concat(tables, ignore_index=True)


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
    from transformers import AutoTokenizer

    tok_a = AutoTokenizer.from_pretrained(location_a)
    tok_b = AutoTokenizer.from_pretrained(location_b)
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
    n_top_words: int = 50,
    seed: int = 0,
    dtype: str = "float32",
) -> tuple[pd.DataFrame, np.ndarray]:
    """Principal components of every feed-forward layer, their top words and labels.

    Word vectors are the normalised means of the words' sub-token *output* embedding rows,
    as in the paper (:func:`~readalike.vocabulary.word_vectors`).

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
    n_top_words, seed, dtype
        Words per component, the PCA's seed, the model's dtype.

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
        Unknown architecture (:func:`~readalike.vocabulary.modules_of`), too many
        components, or a word without tokens.
    """
    model, tokenizer = load_causal_lm(model_location, dtype=dtype)
    modules = modules_of(model, model_name)
    intermediate = modules.layers[0].down_proj.weight.shape[1]
    largest = min(modules.hidden_size, intermediate)
    if not 0 < n_components <= largest:
        raise ValueError(
            f"model {model_name!r}: n_components={n_components} must lie in 1..{largest} "
            f"(hidden {modules.hidden_size}, intermediate {intermediate})"
        )
    with torch.no_grad():
        components, evr = ffn_components(modules, R=n_components, seed=seed)
        ids = word_token_ids(tokenizer, words)
        vectors = word_vectors(modules.output_embeddings, ids, normalize=True)
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


def write_components(path: str | os.PathLike, components: np.ndarray, model_name: str) -> None:
    """Write ``(n_layers, R, hidden)`` components as :data:`COMPONENTS_FORMAT` HDF5, atomically.

    Root attributes ``format``, ``model``; dataset ``components`` float32.
    """
    components = np.asarray(components, dtype=np.float32)
    if components.ndim != 3 or not np.isfinite(components).all():
        raise ValueError(
            f"{path}: components must be finite (n_layers, R, hidden), got {components.shape}"
        )
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs.update(format=COMPONENTS_FORMAT, model=model_name)
        f.create_dataset("components", data=components)


def read_components(path: str | os.PathLike, expected_model: str | None = None) -> np.ndarray:
    """Read :func:`write_components`' file: ``(n_layers, R, hidden)`` float32.

    ``expected_model``, when given, must equal the file's ``model`` attribute.
    """
    path = Path(path)
    with h5py.File(path, "r") as f:
        found = f.attrs.get("format")
        if found != COMPONENTS_FORMAT:
            raise ValueError(
                f"{path}: not a {COMPONENTS_FORMAT} file (format attribute: {found!r})"
            )
        model = str(f.attrs["model"])
        components = f["components"][()]
    if expected_model is not None and model != expected_model:
        raise ValueError(f"{path}: components of model {model!r}, expected {expected_model!r}")
    if components.ndim != 3 or not np.isfinite(components).all():
        raise ValueError(f"{path}: components must be finite (n_layers, R, hidden)")
    return components.astype(np.float32, copy=False)


def _depth(concepts: pd.DataFrame) -> int:
    return int(concepts["layer"].max()) + 1


def concept_shift_table(
    concepts_base: pd.DataFrame,
    concepts_tuned: pd.DataFrame,
    model_base: str,
    model_tuned: str,
    *,
    n_layers: int | None = None,
    n_groups: int = 4,
) -> pd.DataFrame:
    """Shares of tasks and levels per depth group, base versus tuned.

    Parameters
    ----------
    concepts_base, concepts_tuned
        :func:`ffn_concepts_run` tables (columns ``layer``, ``task``, ``level``).
    model_base, model_tuned
        Names written into the table.
    n_layers
        The models' depth; default: the largest layer index + 1 (both must agree).
    n_groups
        Depth groups (:func:`~readalike.ffn_concepts.depth_groups`; 4: quarters).

    Returns
    -------
    pandas.DataFrame
        ``model_base``, ``model_tuned``, then :func:`~readalike.ffn_concepts.concept_shift`'s
        ``layer_group``, ``dimension``, ``category``, ``share_base``, ``share_tuned``,
        ``difference``.
    """
    if n_layers is None:
        n_layers = _depth(concepts_base)
        if _depth(concepts_tuned) != n_layers:
            raise ValueError(
                f"{model_base!r} has {n_layers} layers, {model_tuned!r} "
                f"{_depth(concepts_tuned)}: compare models of one architecture"
            )
    groups = depth_groups(np.arange(n_layers), n_layers, n_groups)
    shift = concept_shift(
        concept_shares(concepts_base, groups), concept_shares(concepts_tuned, groups)
    )
    shift.insert(0, "model_tuned", model_tuned)
    shift.insert(0, "model_base", model_base)
    return shift


def subspace_similarity_table(
    components_base: np.ndarray,
    components_tuned: np.ndarray,
    model_base: str,
    model_tuned: str,
) -> pd.DataFrame:
    """Mean cosine of the principal angles between each layer's component subspaces.

    Parameters
    ----------
    components_base, components_tuned
        ``(n_layers, R, hidden)`` (:func:`ffn_concepts_run`); all layers in one batched call.

    Returns
    -------
    pandas.DataFrame
        :data:`SUBSPACE_COLUMNS`, one row per layer; 1 = the same subspace.
    """
    a, b = np.asarray(components_base), np.asarray(components_tuned)
    if a.ndim != 3 or a.shape[0] != b.shape[0] or a.shape[2] != b.shape[2]:
        raise ValueError(
            f"components of {model_base!r} {a.shape} and {model_tuned!r} {b.shape} do not "
            "match in layers and hidden size"
        )
    similarity = np.atleast_1d(subspace_similarity(a, b))
    return pd.DataFrame(
        {
            "model_base": model_base,
            "model_tuned": model_tuned,
            "layer": np.arange(a.shape[0]),
            "mean_cosine_principal_angles": similarity,
        }
    )[SUBSPACE_COLUMNS]


# --------------------------------------------------------------------------- head word pairs


def model_depth(model_location: str | os.PathLike) -> int:
    """Number of decoder layers of a checkpoint, from its config (no weights loaded)."""
    from transformers import AutoConfig

    return int(AutoConfig.from_pretrained(model_location).num_hidden_layers)


def head_pairs_run(
    model_location: str | os.PathLike,
    words: Sequence[str],
    frequencies: Sequence[float] | np.ndarray,
    *,
    model_name: str,
    top_k: int = 100,
    n_frequent: int = 1000,
    glove_path: str | os.PathLike | None = None,
    verbs: Sequence[str] | None = None,
    dtype: str = "float32",
) -> tuple[pd.DataFrame, int]:
    """Count, per head, the related word pairs that hold each verb.

    Words are sorted by frequency (most frequent first: the similarity thresholds use the
    ``n_frequent`` most frequent words); word vectors are the means of the sub-token
    *input* embedding rows; similarity comes from GloVe if ``glove_path`` is given, else
    from those vectors (:func:`~readalike.head_pairs.model_word_pairs`).

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
    dtype
        The model's dtype.

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
    model, tokenizer = load_causal_lm(model_location, dtype=dtype)
    modules = modules_of(model, model_name)
    with torch.no_grad():
        embeddings = word_vectors(modules.input_embeddings, word_token_ids(tokenizer, words))
    sim_vectors = None
    if glove_path is not None:
        sim_vectors, found = read_glove(glove_path, words)
        logger.info("%s: %d of %d words have GloVe vectors", model_name, found.sum(), len(words))
    pairs = model_word_pairs(modules, embeddings, sim_vectors, n_frequent=n_frequent, k=top_k)
    counts = verb_pair_counts(pairs, words, verbs).rename(columns={"count": "n_pairs"})
    counts = counts.assign(model=model_name)[HEAD_PAIR_COLUMNS]
    counts.attrs["n_layers"] = modules.n_layers
    logger.info(
        "%s: %d word pairs, %d (layer, head, verb) with a verb", model_name, len(pairs), len(counts)
    )
    return counts, modules.n_layers


def verb_relations_table(
    counts_base: pd.DataFrame,
    counts_tuned: pd.DataFrame,
    n_layers: int,
    model_base: str,
    model_tuned: str,
    instruction_verbs: Sequence[str],
    general_verbs: Sequence[str],
) -> pd.DataFrame:
    """Per depth quarter and verb list: the mean fraction of changed heads that gained pairs.

    Parameters
    ----------
    counts_base, counts_tuned
        :func:`head_pairs_run` tables (``layer``, ``head``, ``verb``, ``n_pairs``).
    n_layers
        The models' depth.
    model_base, model_tuned
        Names written into the table.
    instruction_verbs, general_verbs
        Disjoint verb lists.

    Returns
    -------
    pandas.DataFrame
        :data:`VERB_COLUMNS` (:func:`~readalike.head_pairs.verb_relation_fractions`; ``t``,
        ``p``: two-sided Welch of instruction against general verbs, NaN with fewer than
        two verbs per list).
    """
    keys = ["layer", "head", "verb"]
    base = counts_base[[*keys, "n_pairs"]].rename(columns={"n_pairs": "count"})
    tuned = counts_tuned[[*keys, "n_pairs"]].rename(columns={"n_pairs": "count"})
    table = verb_relation_fractions(base, tuned, n_layers, instruction_verbs, general_verbs)
    table = table.assign(model_base=model_base, model_tuned=model_tuned)
    return table[VERB_COLUMNS]


def demo_vocabulary(
    texts: Sequence[str], tokenizer, min_count: int = 1
) -> tuple[list[str], np.ndarray]:
    """The demo's vocabulary: the words of the shipped texts, as the model's tokenizer sees them.

    Words are counted by :func:`~readalike.vocabulary.vocabulary_from_text`. A word that the
    tokenizer can only write with its unknown token carries no meaning of its own and is
    dropped (logged); a word with no token at all is a bad input and raises, as for a
    user-supplied vocabulary (:func:`~readalike.vocabulary.word_token_ids`).

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
    model_location: str | os.PathLike, inputs: Sequence[str], study_b: Mapping
) -> tuple[list[str], np.ndarray]:
    """The word vocabulary of a Study B run: the configured file, else the demo's text.

    Parameters
    ----------
    model_location : checkpoint whose tokenizer writes the words (demo vocabulary only).
    inputs : the rule's vocabulary inputs: ``[study_b["vocabulary"]]``, or the run's text
        files (stimuli, prompts, the demo zoo's training text).
    study_b : the config's ``study_b`` section.
    """
    if "vocabulary" in study_b:
        vocabulary = read_vocabulary(inputs[0])
        return list(vocabulary.words), vocabulary.frequency
    from transformers import AutoTokenizer

    texts = [line for path in inputs for line in read_texts(path)]
    return demo_vocabulary(texts, AutoTokenizer.from_pretrained(model_location))


def verb_lists(study_b: Mapping) -> tuple[list[str], list[str]]:
    """Instruction and general verbs: the configured files, else the shipped lists."""
    instruction, general = default_verb_lists()
    if "instruction_verbs" in study_b:
        instruction = read_verb_list(study_b["instruction_verbs"])
    if "general_verbs" in study_b:
        general = read_verb_list(study_b["general_verbs"])
    return instruction, general


# --------------------------------------------------------------------------- released data


def release_b_tables(
    tar_path: str | os.PathLike,
    work_dir: str | os.PathLike,
    checksums: str | os.PathLike | None = None,
) -> dict[str, pd.DataFrame]:
    """All Study B tables of the authors' released attribution matrices.

    The tarball is unpacked into ``work_dir/<RELEASE_ROOT>`` unless that folder exists:
    safely and atomically (:func:`readalike.release_b.unpack_release_b` into a temporary
    folder inside ``work_dir``, then one rename), so an interrupted unpack is never reused.

    Parameters
    ----------
    tar_path
        ``interpret_instruction_tuning.tar.xz``.
    work_dir
        Folder for the unpacked release (created if needed).
    checksums
        Optional ``sha256sum`` manifest, checked while unpacking.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``attribution_scores`` (:data:`SCORE_COLUMNS`), ``instruction_focus``
        (:data:`FOCUS_COLUMNS`, ``llama_7b`` vs ``vicuna_7b``), ``following``
        (:data:`FOLLOWING_COLUMNS`, Vicuna's followed vs unfollowed responses) and
        ``faults`` (:data:`readalike.release_b.FAULT_COLUMNS`).
    """
    work_dir = Path(work_dir)
    release_dir = work_dir / release_b.RELEASE_ROOT
    if not release_dir.is_dir():
        work_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".unpack.", suffix=".tmp", dir=work_dir))
        try:
            unpacked = release_b.unpack_release_b(tar_path, staging / "release", checksums)
            os.replace(unpacked, release_dir)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    else:
        logger.info("reusing the unpacked release in %s", release_dir)
    analysis = release_b.analyse_release(release_dir)
    return {
        "attribution_scores": analysis.scores[SCORE_COLUMNS],
        "instruction_focus": analysis.focus[FOCUS_COLUMNS],
        "following": analysis.following[FOLLOWING_COLUMNS],
        "faults": analysis.faults,
    }
