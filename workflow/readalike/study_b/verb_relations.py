"""Did tuning make attention heads relate instruction verbs more? (Study B, arXiv 2310.00492)

The base-versus-tuned side of the head word-pair analysis: the verb lists
(:func:`read_verb_list`, :func:`default_verb_lists`, :func:`verb_lists`), and per depth
quarter the fraction of changed heads that gained pairs with each verb
(:func:`per_verb_fractions`), averaged per verb list and compared with a Welch test
(:func:`verb_relation_fractions`, :func:`verb_relations_table`). The per-model counts come
from :mod:`readalike.study_b.head_pairs`. Needs no torch.

The general verbs are a shipped list of frequent English verbs (about as many as the
instruction verbs); the authors sampled the 3000 most frequent WordNet verbs, which needs
NLTK and wordfreq data that cannot be downloaded here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from readalike.core.depth import N_QUARTERS, depth_quarter
from readalike.core.tables import columns as table_columns

#: Names of the two verb lists in result tables.
INSTRUCTION, GENERAL = "instruction", "general"
#: Columns of :func:`verb_relations_table`.
VERB_COLUMNS = table_columns("verb_relations")


def read_verb_list(path: str | os.PathLike) -> list[str]:
    """Read a verb list: one lowercase verb per line, ``#`` comments and blank lines skipped.

    Raises
    ------
    ValueError
        If a line holds more than one word or repeats a verb, or the list is empty;
        names the file and the line.
    """
    path = Path(path)
    verbs: dict[str, int] = {}
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.split("#", 1)[0].strip().lower()
        if not text:
            continue
        if len(text.split()) != 1:
            raise ValueError(f"{path}, line {line_no}: expected one verb, found {text!r}")
        if text in verbs:
            raise ValueError(f"{path}, line {line_no}: {text!r} repeats line {verbs[text]}")
        verbs[text] = line_no
    if not verbs:
        raise ValueError(f"{path}: no verb found")
    return list(verbs)


def default_verb_lists() -> tuple[list[str], list[str]]:
    """The shipped instruction and general verb lists (``readalike/data/*_verbs.txt``).

    The instruction verbs are those the authors' analysis lists; the general verbs are
    frequent English verbs outside that list (see the module notes).
    """
    data = resources.files("readalike") / "data"
    with resources.as_file(data / "instruction_verbs.txt") as path:
        instruction = read_verb_list(path)
    with resources.as_file(data / "general_verbs.txt") as path:
        general = read_verb_list(path)
    return instruction, general


def verb_lists(
    instruction_path: str | os.PathLike | None, general_path: str | os.PathLike | None
) -> tuple[list[str], list[str]]:
    """Instruction and general verbs: the given files, the shipped list where ``None``."""
    instruction, general = default_verb_lists()
    if instruction_path is not None:
        instruction = read_verb_list(instruction_path)
    if general_path is not None:
        general = read_verb_list(general_path)
    return instruction, general


def per_verb_fractions(
    counts_base: pd.DataFrame,
    counts_tuned: pd.DataFrame,
    n_layers: int,
    verbs: Sequence[str],
    n_quarters: int = N_QUARTERS,
) -> pd.DataFrame:
    """For each verb and depth quarter: of the heads whose count of pairs with the verb
    changed under tuning, the fraction where the tuned model has more.

    Parameters
    ----------
    counts_base, counts_tuned
        :func:`verb_pair_counts` of the two models (absent rows are zeros).
    n_layers
        The models' depth; layers are grouped by :func:`readalike.core.depth.depth_quarter`.
    verbs
        Verbs to report.
    n_quarters
        Equal parts of the depth (4: quarters).

    Returns
    -------
    pandas.DataFrame
        ``depth_quarter``, ``verb``, ``n_changed`` (heads), ``n_gained``,
        ``fraction_gained`` (NaN where no head changed); one row per group and verb.
    """
    keys = ["layer", "head", "verb"]
    merged = pd.merge(
        counts_base[[*keys, "count"]].rename(columns={"count": "base"}),
        counts_tuned[[*keys, "count"]].rename(columns={"count": "tuned"}),
        on=keys,
        how="outer",
    ).fillna({"base": 0, "tuned": 0})
    verbs = [verb.lower() for verb in verbs]
    merged = merged[merged["verb"].isin(verbs)]
    changed = merged[merged["base"] != merged["tuned"]]
    changed = changed.assign(
        depth_quarter=depth_quarter(changed["layer"].to_numpy(), n_layers, n_quarters),
        gained=(changed["tuned"] > changed["base"]).astype(np.int64),
    )
    stats_ = changed.groupby(["depth_quarter", "verb"])["gained"].agg(["size", "sum"])
    grid = pd.MultiIndex.from_product([range(n_quarters), verbs], names=["depth_quarter", "verb"])
    stats_ = stats_.reindex(grid, fill_value=0)
    table = pd.DataFrame(
        {
            "n_changed": stats_["size"].to_numpy(np.int64),
            "n_gained": stats_["sum"].to_numpy(np.int64),
        },
        index=grid,
    ).reset_index()
    with np.errstate(invalid="ignore", divide="ignore"):
        table["fraction_gained"] = np.where(
            table["n_changed"] > 0, table["n_gained"] / table["n_changed"], np.nan
        )
    return table


def verb_relation_fractions(
    counts_base: pd.DataFrame,
    counts_tuned: pd.DataFrame,
    n_layers: int,
    verbs_instruction: Sequence[str],
    verbs_general: Sequence[str],
    n_quarters: int = N_QUARTERS,
) -> pd.DataFrame:
    """Did tuning make heads relate instruction verbs more than general verbs?

    Per depth quarter and verb list: the mean over verbs of :func:`per_verb_fractions`
    (verbs with no changed head are left out), and a Welch t-test of the instruction
    verbs' fractions against the general verbs' (the same ``t``, ``p`` on both rows of a
    quarter; NaN where either list has fewer than two verbs with a fraction).

    Parameters
    ----------
    counts_base, counts_tuned
        :func:`verb_pair_counts` of the pre-trained and the tuned model.
    n_layers
        The models' depth.
    verbs_instruction, verbs_general
        Disjoint verb lists.
    n_quarters
        Equal parts of the depth (4: quarters).

    Returns
    -------
    pandas.DataFrame
        ``depth_quarter``, ``verb_list`` (``instruction``/``general``),
        ``fraction_gained``, ``n_verbs``, ``t``, ``p``.
    """
    instruction = [verb.lower() for verb in verbs_instruction]
    general = [verb.lower() for verb in verbs_general]
    overlap = sorted(set(instruction) & set(general))
    if overlap:
        raise ValueError(f"verbs in both lists: {', '.join(overlap)}")
    fractions = per_verb_fractions(
        counts_base, counts_tuned, n_layers, [*instruction, *general], n_quarters
    )
    fractions["verb_list"] = np.where(fractions["verb"].isin(instruction), INSTRUCTION, GENERAL)
    # here, not at import: study_b imports this module, and scipy.stats costs 0.5 s a job
    from scipy import stats

    rows = []
    for group in range(n_quarters):
        part = fractions[(fractions["depth_quarter"] == group) & fractions["n_changed"].gt(0)]
        values = {
            name: part.loc[part["verb_list"] == name, "fraction_gained"].to_numpy()
            for name in (INSTRUCTION, GENERAL)
        }
        if min(len(v) for v in values.values()) >= 2:
            with np.errstate(invalid="ignore", divide="ignore"):
                test = stats.ttest_ind(values[INSTRUCTION], values[GENERAL], equal_var=False)
            t, p = float(test.statistic), float(test.pvalue)
        else:
            t = p = np.nan
        for name in (INSTRUCTION, GENERAL):
            rows.append(
                {
                    "depth_quarter": group,
                    "verb_list": name,
                    "fraction_gained": values[name].mean() if len(values[name]) else np.nan,
                    "n_verbs": len(values[name]),
                    "t": t,
                    "p": p,
                }
            )
    return pd.DataFrame(rows)


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
        Per-model head word-pair tables (``layer``, ``head``, ``verb``, ``n_pairs``:
        :func:`readalike.study_b.runs.head_pairs_run`).
    n_layers
        The models' depth.
    model_base, model_tuned
        Names written into the table.
    instruction_verbs, general_verbs
        Disjoint verb lists.

    Returns
    -------
    pandas.DataFrame
        :data:`VERB_COLUMNS` (:func:`verb_relation_fractions`; ``t``, ``p``: two-sided
        Welch of instruction against general verbs, NaN with fewer than two verbs per list).
    """
    keys = ["layer", "head", "verb"]
    base = counts_base[[*keys, "n_pairs"]].rename(columns={"n_pairs": "count"})
    tuned = counts_tuned[[*keys, "n_pairs"]].rename(columns={"n_pairs": "count"})
    table = verb_relation_fractions(base, tuned, n_layers, instruction_verbs, general_verbs)
    table = table.assign(model_base=model_base, model_tuned=model_tuned)
    return table[VERB_COLUMNS]
