"""The registry of output tables: each table's name, columns in order, and what it says.

One place for the schema of every TSV the workflow writes. :func:`readalike.core.outputs.
write_tsv` refuses a registered table whose columns differ, the figures take their
required columns from here, ``docs/outputs.md`` is generated from it
(:func:`outputs_markdown`), and the end-to-end tests check every table a run wrote
against it. ``provenance`` is not listed: :func:`~readalike.core.outputs.write_tsv` appends
it to every table.

A table is found from its path by :func:`table_for_path`: per-model parts
(``tables/<name>/<model>.tsv``) and the Study B per-model tables share their table's schema.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import PurePath

import pandas as pd


@dataclass(frozen=True)
class Table:
    """One output table.

    Attributes
    ----------
    name : the file stem under ``results/<run>/``.
    columns : the columns in order, ``provenance`` excluded.
    description : one line: what a row says.
    study : the part of the workflow that writes it (a heading of ``docs/outputs.md``).
    paths : glob patterns, relative to ``results/<run>/``, of the files with this schema.
    optional : trailing columns that some runs add (for example the fMRI checks' reader
        columns); a table has either none or all of them.
    """

    name: str
    columns: tuple[str, ...]
    description: str
    study: str
    paths: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()

    @property
    def patterns(self) -> tuple[str, ...]:
        return self.paths or (f"{self.name}.tsv",)

    def allowed_headers(self) -> list[tuple[str, ...]]:
        """The headers this table may have, ``provenance`` excluded."""
        headers = [self.columns]
        if self.optional:
            headers.append(self.columns + self.optional)
        return headers


MODELS = "Models: where the weights come from"
STUDY_A = "Study A: model attention against human saccades"
STUDY_B = "Study B: inside instruction tuning"
READERS = "Study A across readers: per-reader statistics and ceilings"
RELEASE = "Released data: what the conversion checked"
CORPORA = "Relative importance: model word importance against reading corpora"

_TEST_COLUMNS = (
    "model",
    "measure",
    "layer",
    "test",
    "group_a",
    "group_b",
    "n_a",
    "n_b",
    "mean_a",
    "mean_b",
    "statistic",
    "p",
    "correction",
    "p_corrected",
    "holds",
    "note",
)
_FAULT_COLUMNS = ("model", "prompt_id", "kind", "fatal", "detail")
_CHECK_COLUMNS = ("check", "model", "condition", "layer", "value", "passed", "severity", "detail")
_CONCEPT_COLUMNS = (
    "model",
    "layer",
    "component",
    "explained_variance",
    "top_words",
    "task",
    "level",
)

_TABLES = (
    # ---------------------------------------------------------------- models
    Table(
        "models",
        (
            "model",
            "family",
            "params_b",
            "instruction_tuned",
            "source",
            "checkpoint",
            "quantization",
            "dequantized_dtype",
            "sha256",
        ),
        "Every configured model: where its weights come from (zoo, path, hub_id, gguf, "
        "release) and, for a quantised GGUF file, its quantisation type (from the file's "
        "header), the dtype its weights are dequantised to and the SHA-256 it was checked "
        "against.",
        MODELS,
    ),
    # ---------------------------------------------------------------- Study A
    Table(
        "human_resemblance",
        ("model", "group", "measure", "layer", "r2", "r2_heldout"),
        "R² of OLS predicting the human saccade matrix entries (pairs j ≤ i of every sentence) "
        "from the layer's heads plus an intercept; `r2_heldout`: leave-one-article-out, squared "
        "errors pooled over folds against the grand mean. Measures `num` (saccade counts), "
        "`dur` (duration-weighted), `num_residual` / `dur_residual` (attention after removing "
        "its trivial-pattern fit).",
        STUDY_A,
        ("human_resemblance.tsv", "tables/human_resemblance/*.tsv"),
    ),
    Table(
        "trivial_reliance",
        ("model", "layer", "r2", "n_constant_heads"),
        "Mean over heads of the R² of each head's attention on three patterns: self, previous "
        "word, first word.",
        STUDY_A,
        ("trivial_reliance.tsv", "tables/trivial_reliance/*.tsv"),
    ),
    Table(
        "divergence",
        ("comparison", "model_a", "model_b", "condition", "depth_quarter", "js", "n_rows"),
        "Mean row-wise JS divergence (nats) of head-averaged attention, rows renormalised over "
        "words 0..i, i ≥ 1, by quarter of the depth, for the config's pairs; `comparison` says "
        "which kind: `scaling`, `tuning` or `across_families` (models of different families, "
        "which differ in much more than size).",
        STUDY_A,
    ),
    Table(
        "instruction_sensitivity",
        ("model", "layer", "js_instruction", "js_control", "note"),
        "JS per layer between the instruction and plain conditions and between a control "
        "prefix and plain; a condition the data lack is NaN with a note.",
        STUDY_A,
        ("instruction_sensitivity.tsv", "tables/instruction_sensitivity/*.tsv"),
    ),
    Table(
        "controls",
        (
            "check",
            "kind",
            "model",
            "group",
            "measure",
            "value",
            "threshold",
            "passed",
            "catches",
            "detail",
        ),
        "What each check can catch: **sanity** checks cannot fail on any data; **chance** "
        "checks can (shuffled human matrices, attention of another sentence, no perfect fit); "
        "the **claim** check asks whether the best layer's held-out R² beats the trivial "
        "patterns' own.",
        STUDY_A,
    ),
    Table(
        "replication_summary",
        (
            "model",
            "measure",
            "group",
            "fit",
            "n_layers",
            "mean_r2",
            "max_r2",
            "layer_of_max",
            "reference_group",
            "layers_above_reference",
            "exceeds_reference_every_layer",
        ),
        "The paper's headline comparison: does L2 resemblance exceed L1 at every layer? "
        "In-sample and held-out side by side.",
        STUDY_A,
    ),
    # ---------------------------------------------------------------- readers
    Table(
        "reader_resemblance",
        (
            "model",
            "definition",
            "group",
            "measure",
            "layer",
            "reader",
            "n_pairs",
            "r2",
            "r2_heldout",
            "r2_shuffled",
        ),
        "Each reader's own matrix entries regressed on the layer's heads plus an intercept, "
        "in-sample (the authors' measure) and held out by article; `r2_shuffled`: the same "
        "fit after the reader's values were permuted within each sentence (the chance level). "
        "`definition` `project`: the sentences the reader read whose words the attention "
        "holds (every other table and figure uses these rows); `authors`: every sentence, "
        "unread ones as zeros, as the authors' heads_vs_fmri computes it.",
        READERS,
        ("reader_resemblance.tsv", "tables/reader_resemblance/*.tsv"),
    ),
    Table(
        "resemblance_tests",
        _TEST_COLUMNS,
        "Per layer, L2 > L1 across readers by a one-sided Welch t-test and a permutation test "
        "(Holm over the layers of a model); the authors' Student's t with Bonferroni, labelled; "
        "each group above its own within-sentence shuffle (one-sided paired t, Holm).",
        READERS,
    ),
    Table(
        "model_comparisons",
        (
            "comparison",
            "model",
            "model_b",
            "measure",
            "group",
            "depth_quarter",
            "test",
            "n",
            "mean_a",
            "mean_b",
            "statistic",
            "p",
            "correction",
            "p_corrected",
            "holds",
            "note",
        ),
        "The scaling and tuning pairs on the same readers: per-reader R² averaged within each "
        "quarter of a model's depth, paired t and Wilcoxon signed-rank (two-sided), Holm over "
        "quarters.",
        READERS,
    ),
    Table(
        "resemblance_ci",
        ("model", "group", "measure", "layer", "r2", "ci_low", "ci_high", "confidence", "n_draws"),
        "The group-mean R² (the paper's number) with a percentile interval from bootstrap "
        "draws of sentences within articles.",
        READERS,
        ("resemblance_ci.tsv", "tables/resemblance_ci/*.tsv"),
    ),
    Table(
        "noise_ceiling",
        ("group", "measure", "kind", "value", "interval_low", "interval_high", "n_readers", "note"),
        "How much of a reader's matrix the other readers explain: `leave_one_reader_out`, "
        "`authors_inclusive` (labelled: the mean includes the reader), and "
        "`split_half_spearman_brown`, the reliability of the group mean.",
        READERS,
    ),
    # ---------------------------------------------------------------- Study B
    Table(
        "attribution_scores",
        ("model", "prompt_id", "source", "score", "n_instruction_tokens", "n_response_tokens"),
        "Study B instruction score of each prompt (importance density on the instruction).",
        STUDY_B,
        ("attribution_scores.tsv", "tables/attribution_scores/*.tsv"),
    ),
    Table(
        "instruction_scores",
        ("model", "source", "n_prompts", "mean", "sd", "se", "median"),
        "Each model's instruction scores per prompt source and over all (mean, standard "
        "deviation, standard error, median): the table of a model without a pair.",
        STUDY_B,
    ),
    Table(
        "instruction_focus",
        ("source", "model_base", "model_tuned", "mean_base", "mean_tuned", "t", "p_one_sided"),
        "Welch test, tuned > base, per prompt source and over all.",
        STUDY_B,
    ),
    Table(
        "instruction_following",
        (
            "source",
            "model",
            "mean_followed",
            "mean_unfollowed",
            "n_followed",
            "n_unfollowed",
            "t",
            "p_one_sided",
        ),
        "(released data) instruction scores of followed against unfollowed responses, Welch "
        "one-sided.",
        STUDY_B,
    ),
    Table(
        "attribution_faults",
        _FAULT_COLUMNS,
        "Prompts a Study B model job skipped: `not_located` (the instruction's characters fall "
        "on no token) or `empty_response`.",
        STUDY_B,
        ("attribution_faults.tsv", "tables/attribution_faults/*.tsv", "release_b_faults.tsv"),
    ),
    Table(
        "ffn_concepts",
        _CONCEPT_COLUMNS,
        "Principal components of each layer's feed-forward value vectors, their top vocabulary "
        "words and concept label.",
        STUDY_B,
        ("ffn_concepts.tsv", "study_b/ffn/*.tsv"),
    ),
    Table(
        "head_pairs",
        ("model", "layer", "head", "verb", "n_pairs"),
        "Per model, the word pairs each attention head relates, counted per verb.",
        STUDY_B,
        ("head_pairs.tsv", "study_b/head_pairs/*.tsv"),
    ),
    Table(
        "concept_shift",
        (
            "model_base",
            "model_tuned",
            "depth_quarter",
            "dimension",
            "category",
            "share_base",
            "share_tuned",
            "difference",
        ),
        "Shares of concept categories per quarter of depth, base against tuned.",
        STUDY_B,
    ),
    Table(
        "subspace_similarity",
        ("model_base", "model_tuned", "layer", "mean_cosine_principal_angles"),
        "Mean cosine of the principal angles between base and tuned FFN subspaces per layer "
        "(1 = the same subspace).",
        STUDY_B,
    ),
    Table(
        "verb_relations",
        (
            "model_base",
            "model_tuned",
            "depth_quarter",
            "verb_list",
            "fraction_gained",
            "n_verbs",
            "t",
            "p",
        ),
        "Fraction of instruction or general verbs whose head word pairs the tuned model gains.",
        STUDY_B,
    ),
    Table(
        "tokenizers_checked",
        ("model_base", "model_tuned", "same_tokenizer"),
        "Base and tuned models of each Study B pair share one tokenizer.",
        STUDY_B,
        ("study_b/tokenizers_checked.tsv",),
    ),
    # ---------------------------------------------------------------- reading corpora
    Table(
        "reading_measures",
        (
            "corpus",
            "group",
            "text",
            "sentence",
            "word_index",
            "word",
            "readers",
            "mean_trt",
            "mean_relfix",
        ),
        "Per word of the compared sentences of each corpus and group: the readers with a "
        "value, their mean total reading time (ms) and mean relative fixation "
        "(readalike.human.reading_measures.reading_measures_table). Read words with "
        "keep_default_na=False (GECO has the word `null`).",
        CORPORA,
        ("reading_measures.tsv", "reading/measures_*.tsv"),
    ),
    Table(
        "reading_checks",
        ("corpus", "reader", "sentence", "check", "detail"),
        "Every data fault the corpus loader found (readalike.human.reading_measures.CHECKS); "
        "`sentence` -1 where the fault is not one sentence's.",
        CORPORA,
        ("reading_checks.tsv", "reading/checks_*.tsv"),
    ),
    Table(
        "relative_importance",
        (
            "model",
            "corpus",
            "group",
            "measure",
            "layer",
            "statistic",
            "value",
            "interval_low",
            "interval_high",
            "sentences",
            "readers",
        ),
        "One long table: every statistic of each model measure against the readers' "
        "relative fixation per corpus and group, the word-length and word-rarity baselines "
        "(model `baseline`), the readers' ceilings (model `human`: `noise_ceiling`, leave one "
        "reader out, the ceiling of `spearman_reader_mean`; `split_half_ceiling`, the square "
        "root of the split-half Spearman-Brown `split_half_reliability`, the ceiling of "
        "`spearman_mean`) and group comparisons "
        "(readalike.relative_importance.tables; docs/corpora.md).",
        CORPORA,
        ("relative_importance.tsv", "tables/relative_importance/*.tsv"),
    ),
    # ---------------------------------------------------------------- released data
    Table(
        "release_checks",
        _CHECK_COLUMNS,
        "What the conversion found in the released files (with group, region and reader for "
        "fMRI rows).",
        RELEASE,
        ("release_checks.tsv", "release/checks_*.tsv"),
        optional=("group", "region", "reader"),
    ),
    Table(
        "verified",
        ("file", "sha256", "verified"),
        "Every release file the run read, with the SHA-256 it matched.",
        RELEASE,
        ("release/verified.tsv",),
    ),
)

#: name -> :class:`Table`, in the order of ``docs/outputs.md``.
TABLES: dict[str, Table] = {t.name: t for t in _TABLES}


def columns(name: str) -> list[str]:
    """The registered columns of table ``name``, ``provenance`` excluded."""
    return list(TABLES[name].columns)


def table_for_path(path: str | os.PathLike) -> Table | None:
    """The registered table a TSV path holds, or None (patterns with folders match first)."""
    p = PurePath(path)
    by_depth = sorted(
        ((pattern, t) for t in TABLES.values() for pattern in t.patterns),
        key=lambda item: -item[0].count("/"),
    )
    for pattern, table in by_depth:
        if p.match(pattern):
            return table
    return None


def check_header(header: list[str], path: str | os.PathLike) -> None:
    """Refuse, in one line naming the file, a header that its registered table does not allow.

    ``header`` excludes ``provenance``. Paths of no registered table pass.
    """
    table = table_for_path(path)
    if table is None:
        return
    if tuple(header) not in table.allowed_headers():
        expected = ", ".join(table.columns + tuple(f"[{c}]" for c in table.optional))
        raise ValueError(
            f"{path}: columns {', '.join(header)} differ from the registered table "
            f"{table.name!r} ({expected}); update readalike.core.tables with the change"
        )


def registry_frame() -> pd.DataFrame:
    """The registry as a table (name, column position, column): what the snapshot test pins."""
    rows = [
        (t.name, i, c)
        for t in TABLES.values()
        for i, c in enumerate((*t.columns, *t.optional, "provenance"))
    ]
    return pd.DataFrame(rows, columns=["table", "position", "column"])


def outputs_markdown() -> str:
    """``docs/outputs.md``: every registered table by study, generated from the registry."""
    lines = [
        "# Outputs",
        "",
        "<!-- generated by `python -m readalike.core.tables > docs/outputs.md`; edit the "
        "registry in workflow/readalike/core/tables.py, not this file -->",
        "",
        "Everything lands in `results/<run>/` (`run` is set in the config), logs in "
        "`logs/<run>/`. Every table is a tidy TSV whose last column, `provenance`, says "
        "`SYNTHETIC` (simulated readers or toy models), `real`, or `modified` (a released "
        "file the config declares as changed).",
    ]
    for study in dict.fromkeys(t.study for t in TABLES.values()):
        lines += ["", f"## {study}", "", "| table | columns | what it says |"]
        lines.append("| --- | --- | --- |")
        for t in (t for t in TABLES.values() if t.study == study):
            cols = ", ".join((*t.columns, *(f"[{c}]" for c in t.optional)))
            files = ", ".join(f"`{p}`" for p in t.patterns)
            lines.append(f"| {files} | {cols} | {t.description} |")
    lines += ["", _FIGURES_AND_FORMATS]
    return "\n".join(lines) + "\n"


_FIGURES_AND_FORMATS = """## Figures

PNG and PDF in `results/<run>/figures/`: `resemblance_by_layer` (L1 and L2 side by side, one
row per measure, solid in-sample, dashed held-out), `trivial_reliance_by_layer`,
`instruction_sensitivity_by_layer`, `divergence_by_depth_quarter`, `replication_by_group`;
for readers `resemblance_ci_by_layer` (group-mean R² with its bootstrap band and the
split-half ceiling), `reader_resemblance_l2_vs_l1` (mean per-reader R² ± 1 SE, the
leave-one-out ceiling, stars where the Holm-corrected Welch test holds) and, on released
data, `brain_resemblance_by_layer` (mean per-reader fMRI R² by relative depth beside its
held-out R², the same fit on values shuffled within sentences, and the ceiling); for Study
B `instruction_scores_by_source`, `attribution_heatmap`, `concept_shares_by_layer_group`,
`verb_relations_by_quarter`.
`snakemake --report report.html` (after a run, same `--configfile`) puts every figure and
table with its caption on one HTML page.

## Intermediate HDF5 formats

One set of formats whatever produced the data (`workflow/readalike/core/formats.py`):
attention per model and prompt condition (`results/<run>/attention/<model>/<condition>.h5`,
one `(layers, heads, words, words)` array per sentence, no padding, at the precision it was
produced in) and human matrices per reader group (`results/<run>/human/<group>.h5`, one
group-mean dataset per measure and sentence, with group, reader count and source as
attributes, and every reader's matrices under `readers/<measure>/...` with the reader ids; a
reader who did not read a sentence has no matrix there, not a zero one). The released fMRI
data of a group go to `results/<run>/human/<group>_fmri.h5` in the same format, measures
`fmri_<region>`, at the fMRI files' own sentence lengths; a released model's plain attention
at those lengths, which the per-reader fMRI analyses read, to
`results/<run>/attention_fmri/<model>.h5`."""


if __name__ == "__main__":
    print(outputs_markdown(), end="")
