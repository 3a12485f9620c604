"""Instruction focus (arXiv 2310.00492): how much a response rests on the instruction.

The statistics of Study B's input-attribution analysis, on attribution records of any
source (the demo zoo, real checkpoints, the authors' released matrices converted by
:mod:`readalike.release.study_b`), all read from the project's attribution format
(:func:`readalike.core.formats.read_attribution`):

1. Each column of an importance matrix is discretised, ``S = ceil(L * max(I, 0) / max_n
   max(I, 0))`` with levels at or below ``b`` zeroed (:func:`discretise`); the density of a
   prompt token is the ``L1 / L4`` ratio of its row, scaled by the prompt's largest
   (:func:`importance_density`).
2. The instruction score sums the densities of the instruction tokens with a ``log2``
   length discount (:func:`instruction_score`; the tokens come from
   :func:`readalike.study_b.instruction_tokens.instruction_token_mask`), one row per prompt in
   :func:`attribution_scores_table`.
3. Base and tuned models are compared with a one-sided Welch t-test (:func:`welch_one_sided`)
   per prompt source and pooled (:func:`instruction_focus_table`), and a model's followed
   responses against its unfollowed ones (:func:`following_comparison`).

**Source names** come from the prompt ID's prefix (:data:`SOURCES`, :func:`source_of`):
``Self-Instruct``, ``LIMA``, ``MT-Bench``, and ``All`` (:data:`ALL_SOURCES`) for the pooled
row, so the demo and the released tables read the same.

**Columns whose maximum is 0** (no prompt token raises the probability) discretise to all
zeros; the authors divide by ``max + 1e-7`` instead, which also damps columns whose maximum
is below about 1e-6 -- we do not damp them.

Needs no torch: scoring and tests run in the table-only environment.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from readalike.core.formats import PromptAttribution
from readalike.core.tables import columns as table_columns
from readalike.study_a import inference

#: ID prefix -> prompt source, in the order tables list them.
SOURCES = {"user_oriented_task_": "Self-Instruct", "lima_author_": "LIMA", "mtbench_": "MT-Bench"}
#: The source of the pooled row of every per-source table.
ALL_SOURCES = "All"
#: The paper's discretisation: ``L`` levels, levels at or below ``b`` zeroed.
N_LEVELS, LEVEL_THRESHOLD = 10, 7
#: The paper leaves responses shorter than this many tokens out of followed vs unfollowed.
MIN_RESPONSE_TOKENS = 5

#: Columns of :func:`attribution_scores_table` (one row per prompt and model).
ATTRIBUTION_SCORE_COLUMNS = table_columns("attribution_scores")
#: Columns of :func:`instruction_focus` and :func:`instruction_focus_table`.
FOCUS_COLUMNS = table_columns("instruction_focus")
#: Columns of :func:`following_comparison`.
FOLLOWING_COLUMNS = table_columns("instruction_following")
#: Columns of :func:`instruction_scores_table`.
SCORE_SUMMARY_COLUMNS = table_columns("instruction_scores")


def source_of(prompt_id: str) -> str:
    """Prompt source from its ID prefix; ``ValueError`` for an unknown prefix."""
    for prefix, source in SOURCES.items():
        if prompt_id.startswith(prefix):
            return source
    raise ValueError(f"{prompt_id}: unknown prompt source (expected one of {sorted(SOURCES)})")


# --------------------------------------------------------------------------- scores


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


def attribution_scores_table(
    records: Sequence[PromptAttribution],
    model_name: str,
    b: int = LEVEL_THRESHOLD,
    L: int = N_LEVELS,  # noqa: N803
) -> pd.DataFrame:
    """Instruction score of every record (discretise with ``L``, ``b``; density; score).

    The defaults are the paper's (:data:`N_LEVELS`, :data:`LEVEL_THRESHOLD`).

    Parameters
    ----------
    records
        One model's :class:`~readalike.core.formats.PromptAttribution` records, each with
        ``importance`` ``(n_prompt, n_response)`` and ``instruction_mask`` ``(n_prompt,)``.
    model_name
        Written into the ``model`` column.

    Returns
    -------
    pandas.DataFrame
        :data:`ATTRIBUTION_SCORE_COLUMNS`, one row per record, in the records' order.
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
    return pd.DataFrame(rows, columns=ATTRIBUTION_SCORE_COLUMNS)


# --------------------------------------------------------------------------- tests


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
    # the one Welch test of the project (vectorised, Study A's across readers)
    result = inference.welch_one_sided(a, b)
    return float(result.statistic[0]), float(result.p[0])


def compare_means(base: np.ndarray, tuned: np.ndarray) -> tuple[float, float, float, float]:
    """``(mean_base, mean_tuned, t, p)`` of the one-sided Welch test ``tuned > base``.

    Means are NaN for an empty group; ``t`` and ``p`` are NaN where a group has fewer than
    two values (:func:`welch_one_sided`).
    """
    means = tuple(float(x.mean()) if x.size else math.nan for x in (base, tuned))
    if min(tuned.size, base.size) < 2:
        return (*means, math.nan, math.nan)
    return (*means, *welch_one_sided(tuned, base))


def by_source(table: pd.DataFrame) -> Iterable[tuple[str, pd.DataFrame]]:
    """``(source, rows)`` for every source of :data:`SOURCES`, then ``All`` rows."""
    for source in SOURCES.values():
        yield source, table[table["source"] == source]
    yield ALL_SOURCES, table


def instruction_scores_table(scores: pd.DataFrame) -> pd.DataFrame:
    """Each model's instruction scores per prompt source and over all: the one-model table.

    What :func:`instruction_focus` compares between a base and a tuned model, for a model
    on its own (a run without a pair, or to read beside the paper's LLaMA-7B and Vicuna-7B
    means).

    Parameters
    ----------
    scores
        :func:`attribution_scores_table` rows of one or more models.

    Returns
    -------
    pandas.DataFrame
        :data:`SCORE_SUMMARY_COLUMNS`: ``model``, ``source`` (:data:`SOURCES` and ``All``),
        ``n_prompts``, ``mean``, ``sd`` (ddof 1; NaN under two prompts), ``se``
        (``sd / sqrt(n)``) and ``median``; a source without prompts has ``n_prompts`` 0
        and NaN statistics.
    """
    rows = []
    for model in dict.fromkeys(scores["model"]):
        for source, part in by_source(scores[scores["model"] == model]):
            values = part["score"].to_numpy(dtype=np.float64)
            n = values.size
            sd = float(values.std(ddof=1)) if n > 1 else math.nan
            rows.append(
                (
                    model,
                    source,
                    n,
                    float(values.mean()) if n else math.nan,
                    sd,
                    sd / math.sqrt(n) if n > 1 else math.nan,
                    float(np.median(values)) if n else math.nan,
                )
            )
    return pd.DataFrame(rows, columns=SCORE_SUMMARY_COLUMNS)


def instruction_focus(scores: pd.DataFrame, base: str, tuned: str) -> pd.DataFrame:
    """Does instruction tuning raise the instruction score? Welch, one-sided, per source.

    Parameters
    ----------
    scores
        Concatenated :func:`attribution_scores_table` tables of both models.
    base, tuned
        Model names, e.g. ``llama_7b`` and ``vicuna_7b``.

    Returns
    -------
    pd.DataFrame
        :data:`FOCUS_COLUMNS`, one row per source and ``All`` (H1: mean tuned > mean
        base). Unpaired, as in the paper, over each model's scored prompts; NaN where a
        group has fewer than two scores.
    """
    rows = []
    for source, part in by_source(scores):
        base_scores = part.loc[part["model"] == base, "score"].to_numpy()
        tuned_scores = part.loc[part["model"] == tuned, "score"].to_numpy()
        rows.append((source, base, tuned, *compare_means(base_scores, tuned_scores)))
    return pd.DataFrame(rows, columns=FOCUS_COLUMNS)


def instruction_focus_table(
    scores: pd.DataFrame, model_pairs: Sequence[tuple[str, str]]
) -> pd.DataFrame:
    """:func:`instruction_focus` of every ``(base, tuned)`` model pair, concatenated.

    Raises
    ------
    ValueError
        If ``scores`` holds no row of a model named in ``model_pairs``.
    """
    known = set(scores["model"])
    tables = []
    for base, tuned in model_pairs:
        missing = [m for m in (base, tuned) if m not in known]
        if missing:
            raise ValueError(f"no instruction scores of model(s) {missing}; have {sorted(known)}")
        tables.append(instruction_focus(scores, base, tuned))
    return pd.concat(tables, ignore_index=True)


def following_comparison(
    scores: pd.DataFrame, annotations: pd.DataFrame, model: str
) -> pd.DataFrame:
    """Do followed responses score higher than unfollowed ones? Welch, one-sided, per source.

    Joins ``model``'s scores with its ratings (:func:`readalike.release.study_b.read_annotations`:
    ``prompt_id``, ``model``, ``followed``), drops responses shorter than
    :data:`MIN_RESPONSE_TOKENS` tokens, and compares rating 1 (unfollowed) with ratings 2-4
    (followed).

    Returns
    -------
    pd.DataFrame
        :data:`FOLLOWING_COLUMNS`, one row per source and ``All`` (H1: followed >
        unfollowed); NaN where a group has fewer than two scores.
    """
    rated = annotations.loc[annotations["model"] == model, ["prompt_id", "followed"]]
    mine = scores.loc[scores["model"] == model]
    joined = mine.merge(rated, on="prompt_id", how="inner", validate="one_to_one")
    joined = joined[joined["n_response_tokens"] >= MIN_RESPONSE_TOKENS]
    rows = []
    for source, part in by_source(joined):
        followed = part.loc[part["followed"], "score"].to_numpy()
        unfollowed = part.loc[~part["followed"], "score"].to_numpy()
        mean_unfollowed, mean_followed, t, p = compare_means(unfollowed, followed)
        rows.append(
            (source, model, mean_followed, mean_unfollowed, len(followed), len(unfollowed), t, p)
        )
    return pd.DataFrame(rows, columns=FOLLOWING_COLUMNS)
