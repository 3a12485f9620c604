"""Study A tables: from the HDF5 files to tidy data frames.

Each function reads the project's HDF5 formats (whatever produced them: the demo zoo,
real checkpoints, or released data), checks that attention and human matrices describe
the same sentences, and runs the vectorised metrics of :mod:`resemblance`,
:mod:`trivial` and :mod:`divergence` one block of layers at a time, so a model's layers
are never all held in float64.
"""

from __future__ import annotations

import collections
import itertools
import logging
import os
import warnings
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from readalike.core import formats
from readalike.core.memory import check_memory
from readalike.core.pairs import (
    LAYER_BLOCK,
    PairIndex,
    layer_blocks,
    pair_index,
    shuffle_sentences_of_equal_length,
    stack_pair_stream,
    stack_pairs,
)
from readalike.core.tables import columns as table_columns
from readalike.study_a import divergence, inference, noise_ceiling, resemblance, trivial

log = logging.getLogger(__name__)

#: a file path as the functions here accept it (not pathlib.Path: strings work too)
PathLike = str | os.PathLike


class AttentionLayout(NamedTuple):
    """What the analyses need of an attention file besides its pairs."""

    n_layers: int
    n_heads: int


def load_attention_pairs(path: PathLike) -> tuple[AttentionLayout, np.ndarray, PairIndex]:
    """Read an attention file and stack its pairs: ``(L, H, P)`` float16 (float32 for a float32
    file) and their index.

    The file is read one sentence at a time into the pairs (``formats.iter_attention``,
    ``pairs.stack_pair_stream``): the whole set is never held beside them, which was the
    peak of the Study A analyses (LLaMA-30B, 60 layers: 110 MB of matrices next to 56 MB
    of pairs).
    """
    n_layers, n_heads = formats.attention_shape(path)
    lengths = formats.attention_lengths(path)
    matrices = (matrix for _, _, matrix in formats.iter_attention(path))
    first = next(matrices)
    # float32 attention (released GPT-2 large) keeps its precision: in float16 its
    # per-reader R^2 moved by up to 6e-6
    dtype = np.float32 if first.dtype == np.float32 else np.float16
    try:
        pairs = stack_pair_stream(
            itertools.chain([first], matrices), lengths, (n_layers, n_heads), dtype
        )
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None
    return AttentionLayout(n_layers, n_heads), pairs, pair_index(lengths)


def load_human_pairs(
    human_paths: Mapping[str, PathLike],
    measures: Sequence[str],
    index: PairIndex,
    attention_path: PathLike,
) -> tuple[dict[tuple[str, str], np.ndarray], bool]:
    """Stack every group's and measure's human matrices over the pairs of ``index``.

    Raises a ValueError naming both files, the article and the sentence when a human matrix's
    word count differs from the attention's, and one naming the file, group and measure when
    a measure holds one value throughout: it has no variance to explain, so every R^2 of it
    would be NaN (blank cells, "exceeds at 0 layers", a failing control) instead of a reason.
    """
    out: dict[tuple[str, str], np.ndarray] = {}
    synthetic = False
    for group, path in human_paths.items():
        saccades = formats.read_saccades(path, measures)
        synthetic |= saccades.synthetic
        formats.check_same_lengths(
            [list(a) for a in index.lengths], saccades.lengths(), str(attention_path), str(path)
        )
        for measure in measures:
            y = stack_pairs(saccades.measures[measure], np.float64)
            if y.size and y.min() == y.max():
                raise ValueError(
                    f"{path}: group {group} measure {measure}: every entry is {y[0]:g}, so "
                    "nothing varies for attention to explain (fixation durations of zero?)"
                )
            out[group, measure] = y
    return out, synthetic


def resemblance_table(
    attention_path: PathLike,
    human_paths: Mapping[str, PathLike],
    measures: Sequence[str],
    model: str,
    block_size: int = LAYER_BLOCK,
    residual: bool = True,
) -> pd.DataFrame:
    """Per layer, group and measure: in-sample and held-out R^2 of heads -> human matrix.

    With ``residual``, also the resemblance of the attention left after the trivial-pattern
    fit, under measure ``<measure>_residual``.

    Returns
    -------
    DataFrame with columns model, group, measure, layer, r2, r2_heldout.
    """
    attention, pairs, index = load_attention_pairs(attention_path)
    n_layers = attention.n_layers
    del attention  # the ragged set is not needed once its pairs are stacked
    humans, _ = load_human_pairs(human_paths, measures, index, attention_path)
    patterns = trivial.trivial_patterns(index)
    rows = []
    for block in layer_blocks(n_layers, block_size):
        block_pairs = pairs[block]
        variants = {"": block_pairs}
        if residual:
            variants["_residual"] = trivial.trivial_fit(block_pairs, patterns)[1]
        layers = np.arange(block.start, block.stop)
        keys = list(humans)
        targets = np.stack([humans[key] for key in keys])
        for suffix, x in variants.items():
            # every group and measure against one design: Gram matrices computed once
            r2, r2_out = resemblance.layer_resemblance(x, targets, index)
            for t, (group, measure) in enumerate(keys):
                rows.append(
                    pd.DataFrame(
                        {
                            "model": model,
                            "group": group,
                            "measure": measure + suffix,
                            "layer": layers,
                            "r2": r2[:, t],
                            "r2_heldout": r2_out[:, t],
                        }
                    )
                )
    table = pd.concat(rows, ignore_index=True)
    return table.sort_values(["group", "measure", "layer"], kind="stable").reset_index(drop=True)


def trivial_reliance_table(
    attention_path: PathLike, model: str, block_size: int = LAYER_BLOCK
) -> pd.DataFrame:
    """Per layer: mean over heads of the R^2 of each head's attention on the trivial patterns.

    Returns
    -------
    DataFrame with columns model, layer, r2, n_constant_heads (heads constant over all
    pairs, whose R^2 is undefined and left out of the mean).
    """
    attention, pairs, index = load_attention_pairs(attention_path)
    n_layers = attention.n_layers
    del attention  # the ragged set is not needed once its pairs are stacked
    patterns = trivial.trivial_patterns(index)
    blocks = layer_blocks(n_layers, block_size)
    r2_heads = np.concatenate([trivial.trivial_fit(pairs[b], patterns)[0] for b in blocks])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a layer of constant heads gives NaN
        mean = np.nanmean(r2_heads, axis=1)
    return pd.DataFrame(
        {
            "model": model,
            "layer": np.arange(n_layers),
            "r2": mean,
            "n_constant_heads": np.isnan(r2_heads).sum(axis=1),
        }
    )


def head_mean_pairs(path: PathLike) -> tuple[np.ndarray, PairIndex, AttentionLayout]:
    """Head-averaged attention of every layer over the pairs: ``(L, P)`` float64."""
    attention, pairs, index = load_attention_pairs(path)
    return head_means(pairs), index, attention


def head_means(pairs: np.ndarray, block_size: int = LAYER_BLOCK) -> np.ndarray:
    """Mean over heads of ``(L, H, P)`` pairs, ``(L, P)`` float64, a block of layers at a time."""
    blocks = layer_blocks(pairs.shape[0], block_size)
    return np.concatenate([pairs[b].astype(np.float64).mean(axis=1) for b in blocks])


def _same_sentences(index_a: PairIndex, index_b: PairIndex, name_a: str, name_b: str) -> None:
    formats.check_same_lengths(
        [list(a) for a in index_a.lengths], [list(b) for b in index_b.lengths], name_a, name_b
    )


def divergence_table(
    comparisons: Sequence[tuple[str, str, str]],
    attention_paths: Mapping[tuple[str, str], PathLike],
) -> pd.DataFrame:
    """JS divergence between two models' head-averaged attention, by quarter of the depth.

    Parameters
    ----------
    comparisons : (kind, model_a, model_b) triples, kind e.g. ``scaling`` or ``tuning``.
    attention_paths : ``(model, condition) -> attention file``; every condition present for
        both models of a comparison is compared.

    Returns
    -------
    DataFrame with columns comparison, model_a, model_b, condition, depth_quarter, js,
    n_rows. Models of different depth are compared quarter by quarter (layers averaged
    within a quarter, :func:`readalike.core.depth.depth_quarter`).
    """
    cache: dict[tuple[str, str], tuple[np.ndarray, np.ndarray, PairIndex]] = {}

    def quarters_of(model: str, condition: str):
        if (model, condition) not in cache:
            means, index, _ = head_mean_pairs(attention_paths[model, condition])
            cache[model, condition] = (*divergence.depth_quarter_means(means), index)
        return cache[model, condition]

    rows = []
    for kind, model_a, model_b in comparisons:
        conditions = sorted(
            {c for m, c in attention_paths if m == model_a}
            & {c for m, c in attention_paths if m == model_b}
        )
        if not conditions:
            raise ValueError(f"comparison {kind} {model_a} vs {model_b}: no common condition")
        for condition in conditions:
            quarters_a, values_a, index_a = quarters_of(model_a, condition)
            quarters_b, values_b, index_b = quarters_of(model_b, condition)
            _same_sentences(
                index_a,
                index_b,
                str(attention_paths[model_a, condition]),
                str(attention_paths[model_b, condition]),
            )
            common, ia, ib = np.intersect1d(quarters_a, quarters_b, return_indices=True)
            js, n_rows = divergence.mean_js(values_a[ia], values_b[ib], index_a)
            rows.append(
                pd.DataFrame(
                    {
                        "comparison": kind,
                        "model_a": model_a,
                        "model_b": model_b,
                        "condition": condition,
                        "depth_quarter": common,
                        "js": js,
                        "n_rows": n_rows,
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)


def instruction_sensitivity_table(
    model: str, attention_paths: Mapping[str, PathLike]
) -> pd.DataFrame:
    """Per layer: JS between the instruction and plain conditions, and control vs plain.

    A condition the model lacks (the released LLaMA-30B has no control run) gives NaN in
    its column and a note saying so; nothing is invented.

    Returns
    -------
    DataFrame with columns model, layer, js_instruction, js_control, note.
    """
    if "plain" not in attention_paths:
        raise ValueError(f"model {model}: instruction sensitivity needs the plain condition")
    plain, index, attention = head_mean_pairs(attention_paths["plain"])
    table = pd.DataFrame({"model": model, "layer": np.arange(attention.n_layers)})
    notes = []
    for condition in ("instruction", "control"):
        column = f"js_{condition}"
        if condition not in attention_paths:
            table[column] = np.nan
            notes.append(f"no {condition} condition for this model")
            continue
        other, index_other, _ = head_mean_pairs(attention_paths[condition])
        _same_sentences(
            index, index_other, str(attention_paths["plain"]), str(attention_paths[condition])
        )
        table[column] = divergence.mean_js(other, plain, index)[0]
    table["note"] = "; ".join(notes)
    return table


#: Columns of :func:`controls_table`.
CONTROL_COLUMNS = tuple(table_columns("controls"))

#: What each control can catch. ``sanity`` checks hold on any data unless the code is
#: wrong; ``chance`` controls (null models; not called "null", which table readers such as
#: pandas read as a missing value) must fall to chance on real data, and a failure means the
#: resemblance comes from something other than the sentence's words; ``claim`` rows test a
#: comparison the paper's reading rests on, where a failure is a finding about the data.
CONTROLS = {
    "js_self": (
        "sanity",
        "a broken JS divergence (a model against itself must give 0)",
    ),
    "shuffled_resemblance": (
        "chance",
        "leakage of the target into the fit, or a held-out R2 that does not hold out: human "
        "entries permuted within each sentence keep no link to the attention",
    ),
    "shuffled_attention_across_sentences": (
        "chance",
        "resemblance carried by word positions and sentence length rather than by the "
        "sentence read, or model and human files whose sentences are misaligned",
    ),
    "heads_beat_trivial_patterns": (
        "claim",
        "human resemblance that three fixed patterns (self, previous, first word) explain "
        "as well as the model's heads do",
    ),
    "human_not_attention": (
        "chance",
        "a human file that is (a linear map of) model attention: a wrong input path or a "
        "copied matrix; real readers never match a layer exactly",
    ),
    "trivial_self_r2": (
        "sanity",
        "a broken trivial-pattern regression (the patterns regressed on themselves give 1)",
    ),
}


def controls_table(
    plain_paths: Mapping[str, PathLike],
    human_paths: Mapping[str, PathLike],
    measures: Sequence[str],
    seed: int = 0,
    block_size: int = LAYER_BLOCK,
    shuffled_heldout_max: float = 0.01,
    copy_r2_max: float = 0.999,
) -> pd.DataFrame:
    """Controls a careful reader wants before trusting the tables (:data:`CONTROLS`).

    Two rows per model are sanity checks that cannot fail on any data unless the code is
    wrong: ``js_self`` (a model's attention against itself gives JS 0, largest quarter
    value) and ``trivial_self_r2`` (the trivial patterns regressed on themselves give R^2 1).

    Per model, group and measure, the rows that can fail on real data:

    - ``shuffled_resemblance`` (chance): with the human entries permuted within each sentence,
      the best layer's held-out R^2 falls to chance (at most ``shuffled_heldout_max``); the
      detail gives the in-sample R^2 next to the chance level K / (P - 1) of K random
      regressors and to the unshuffled value.
    - ``shuffled_attention_across_sentences`` (chance): each sentence's attention replaced by
      that of another sentence of the same length
      (:func:`readalike.core.pairs.shuffle_sentences_of_equal_length`; sentences of a length no
      other shares are left out); the best layer's held-out R^2 must fall to chance (at most
      ``shuffled_heldout_max``). Word positions and the causal mask are kept, so resemblance
      that only reflects them survives this shuffle and the row fails.
    - ``heads_beat_trivial_patterns`` (claim): the best layer's held-out R^2 must exceed the
      held-out R^2 of the three trivial patterns (self, previous, first word) regressed on
      the same human matrix. The paper reads the resemblance of attention to saccades as
      language perception beyond these positional regularities (it reports the models'
      reliance on them, and that scaling lowers it); it does not report this baseline. The
      comparison is held out by article because the heads have H regressors and the
      patterns 3, so in-sample R^2 would favour the heads by construction.
    - ``human_not_attention`` (chance): the best layer's in-sample R^2 stays below
      ``copy_r2_max``; a human matrix that a layer's heads reproduce exactly is attention.

    Returns
    -------
    DataFrame with columns :data:`CONTROL_COLUMNS`: ``kind`` is sanity, chance or claim,
    ``catches`` what a failure would reveal, ``detail`` how the value was computed.
    """
    rows = []
    rng = np.random.default_rng(seed)
    # a stream of its own, so the within-sentence shuffles do not depend on this one
    rng_across = np.random.default_rng([seed, 1])

    def row(check, model, group, measure, value, threshold, passed, detail):
        kind, catches = CONTROLS[check]
        rows.append(
            (check, kind, model, group, measure, value, threshold, bool(passed), catches, detail)
        )

    for model, path in plain_paths.items():
        attention, pairs, index = load_attention_pairs(path)
        _, quarter_values = divergence.depth_quarter_means(head_means(pairs))
        js_self = float(np.nanmax(divergence.mean_js(quarter_values, quarter_values, index)[0]))
        row("js_self", model, "", "", js_self, 1e-12, js_self <= 1e-12, "max over quarters")

        humans, _ = load_human_pairs(human_paths, measures, index, path)
        chance = attention.n_heads / (index.n_pairs - 1)
        patterns = trivial.trivial_patterns(index)
        kept, source, kept_index = shuffle_sentences_of_equal_length(index, rng_across)
        n_sentences = sum(len(a) for a in index.lengths)
        n_kept = sum(len(a) for a in kept_index.lengths)
        for (group, measure), y in humans.items():
            shuffled = resemblance.shuffle_within_sentences(y, index, rng)
            real, real_out, fake, fake_out, across_out = _control_fits(
                pairs, y, shuffled, index, (kept, source, kept_index), block_size
            )
            value = float(np.nanmax(fake_out))
            row(
                "shuffled_resemblance",
                model,
                group,
                measure,
                value,
                shuffled_heldout_max,
                value <= shuffled_heldout_max,
                f"max held-out R2 over layers, human entries shuffled within sentences; "
                f"in-sample R2 mean {np.nanmean(fake):.4g} (chance K/(P-1) = {chance:.4g}) "
                f"vs unshuffled {np.nanmean(real):.4g}",
            )
            across = float(np.nanmax(across_out)) if np.isfinite(across_out).any() else np.nan
            row(
                "shuffled_attention_across_sentences",
                model,
                group,
                measure,
                across,
                shuffled_heldout_max,
                across <= shuffled_heldout_max,
                f"max held-out R2 over layers, each sentence's attention from another sentence "
                f"of the same length ({n_kept} of {n_sentences} sentences have one); "
                f"unshuffled max held-out R2 {np.nanmax(real_out):.4g}",
            )
            _, trivial_out = resemblance.regression_r2(patterns[None], y, index.article_start)
            best = float(np.nanmax(real_out))
            baseline = float(trivial_out[0])
            row(
                "heads_beat_trivial_patterns",
                model,
                group,
                measure,
                best,
                baseline,
                best > baseline,
                f"max held-out R2 over layers of the heads vs held-out R2 of the "
                f"{', '.join(trivial.PATTERNS)} patterns (threshold); best layer "
                f"{int(np.nanargmax(real_out))}",
            )
            copy_r2 = float(np.nanmax(real))
            row(
                "human_not_attention",
                model,
                group,
                measure,
                copy_r2,
                copy_r2_max,
                copy_r2 < copy_r2_max,
                "max in-sample R2 over layers of the heads on the human matrix",
            )
        self_r2 = float(np.min(trivial.trivial_fit(patterns.T, patterns)[0]))
        row(
            "trivial_self_r2",
            model,
            "",
            "",
            self_r2,
            1 - 1e-9,
            self_r2 >= 1 - 1e-9,
            "min over the three patterns regressed on the patterns",
        )
    return pd.DataFrame(rows, columns=list(CONTROL_COLUMNS))


def _control_fits(pairs, y, shuffled, index, across, block_size):
    """R^2 per layer for the controls, one block of layers at a time.

    Returns in-sample and held-out R^2 of the heads on ``y``, the same on the human values
    ``shuffled`` within sentences, and held-out R^2 with each sentence's attention taken
    from another sentence of its length (``across`` = ``(kept pairs, source pairs, kept
    index)`` of :func:`readalike.core.pairs.shuffle_sentences_of_equal_length`); each
    ``(n_layers,)``.
    """
    kept, source, kept_index = across
    fits = []
    for block in layer_blocks(pairs.shape[0], block_size):
        r2, r2_out = resemblance.layer_resemblance(pairs[block], y, index)
        r2_fake, r2_fake_out = resemblance.layer_resemblance(pairs[block], shuffled, index)
        _, r2_across_out = resemblance.layer_resemblance(
            pairs[block][..., source], y[kept], kept_index
        )
        fits.append((r2, r2_out, r2_fake, r2_fake_out, r2_across_out))
    return tuple(np.concatenate(column) for column in zip(*fits, strict=True))


#: Columns of :func:`reader_resemblance_table` (the writer adds ``provenance``).
READER_RESEMBLANCE_COLUMNS = tuple(table_columns("reader_resemblance"))
#: Values of ``definition`` in ``reader_resemblance.tsv``, the project's first: the tables
#: and figures made from it read the project's rows (:func:`project_rows`).
READER_DEFINITIONS = ("project", "authors")


def project_rows(readers: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``reader_resemblance.tsv`` under the project's definition (all rows of a
    table without a ``definition`` column)."""
    if "definition" not in readers.columns:
        return readers
    return readers[readers["definition"] == READER_DEFINITIONS[0]].drop(columns="definition")


def load_reader_pairs(
    human_paths: Mapping[str, PathLike],
    measures: Sequence[str],
    index: PairIndex,
    attention_path: PathLike,
) -> tuple[list[tuple[str, str, str]], np.ndarray, np.ndarray]:
    """Every reader's matrices of every group and measure over the pairs of ``index``.

    Returns
    -------
    keys : (group, measure, reader id) of each target, groups and measures in the order
        given, readers in the file's order.
    targets : (N, P) float64, each target's entries (0 where the reader is absent).
    present : (N, S) bool, whether the reader has a matrix for sentence ``s``.

    Raises one ValueError naming the reader and both groups when a reader is in two groups,
    the file when it has no per-reader matrices, and the group, reader, article and sentence
    when a sentence's word count differs from the attention's.
    """
    formats.check_distinct_readers(human_paths)
    lengths = [list(a) for a in index.lengths]
    pairs_per_sentence = np.array([n * (n + 1) // 2 for a in lengths for n in a], dtype=np.int64)
    first_pair = np.concatenate([[0], np.cumsum(pairs_per_sentence)[:-1]])
    keys: list[tuple[str, str, str]] = []
    targets, present = [], []
    for group, path in human_paths.items():
        saccades = formats.read_saccades(path, measures)
        if saccades.reader_ids is None:
            raise ValueError(
                f"{path}: group {group} holds group means only, no per-reader matrices "
                f"(per-reader resemblance needs fixation data)"
            )
        formats.check_reader_lengths(lengths, saccades, str(attention_path), str(path))
        if saccades.n_readers < 3:
            log.warning(
                "group %s has %d reader(s): too few for statistics across readers",
                group,
                saccades.n_readers,
            )
        for measure in measures:
            per_reader = saccades.reader_measures.get(measure)
            if per_reader is None:
                raise ValueError(f"{path}: group {group} has no per-reader matrices of {measure}")
            mask = per_reader.present(saccades.n_readers)
            y = np.zeros((saccades.n_readers, index.n_pairs))
            flat = [
                (m, r)
                for a, b in zip(per_reader.matrices, per_reader.readers, strict=True)
                for m, r in zip(a, b, strict=True)
            ]
            for s, (stack, readers) in enumerate(flat):  # the loader's sentence loop
                rows, cols = np.tril_indices(stack.shape[-1])
                y[readers, first_pair[s] : first_pair[s] + rows.size] = stack[:, rows, cols]
            keys += [(group, measure, reader) for reader in saccades.reader_ids]
            targets.append(y)
            present.append(mask)
    return keys, np.concatenate(targets), np.concatenate(present)


def _attention_words(pairs: np.ndarray, index: PairIndex) -> np.ndarray:
    """``(S,)`` words of each sentence the attention holds: one past its last row that is not
    zero in every layer and head (softmax attention gives every word it read some weight;
    rows past it are the zero padding of a longer file block)."""
    used = np.zeros(index.n_pairs, dtype=bool)
    for layer in range(pairs.shape[0]):  # one layer at a time: no (L, H, P) bool temporary
        used |= (pairs[layer] != 0).any(axis=0)
    rows = np.where(used, index.row + 1, 0)
    first = np.flatnonzero(np.r_[True, index.sentence[1:] != index.sentence[:-1]])
    return np.maximum.reduceat(rows, first)


def _group_pairs(
    index: PairIndex,
    words: np.ndarray,
    lengths: list[list[int]],
    path: PathLike,
    attention_path: PathLike,
) -> np.ndarray | None:
    """The pairs of ``index`` that a group's sentences of ``lengths`` words cover (None: all).

    A group's sentence may be shorter than the attention's only where the attention's rows
    past it are zero padding (``words``): the per-reader fMRI files of one group may hold
    fewer words than another group's (the release: L2 gives article 0 sentence 20 12 words,
    L1 10), and the attention is stored at the longest. Pairs are ordered row by row, so the
    first ``m (m + 1) / 2`` pairs of a sentence are those of its top-left ``m`` words.
    """
    stored = [n for article in index.lengths for n in article]
    flat = [n for article in lengths for n in article]
    if [len(a) for a in lengths] != [len(a) for a in index.lengths]:
        formats.check_same_lengths(
            [[0] * len(a) for a in index.lengths],
            [[0] * len(a) for a in lengths],
            str(attention_path),
            str(path),
        )
    if flat == stored:
        return None
    allowed = [
        n == m or (n < m and held <= n)
        for n, m, held in zip(flat, stored, words.tolist(), strict=True)
    ]
    if not all(allowed):
        # any other difference is the error it always was, naming the first reader of it
        expected = iter(n if ok else m for n, m, ok in zip(flat, stored, allowed, strict=True))
        formats.check_reader_lengths(
            [[next(expected) for _ in article] for article in lengths],
            formats.read_saccades(path),
            str(attention_path),
            str(path),
        )
    starts = np.concatenate([[0], np.cumsum([n * (n + 1) // 2 for n in stored])[:-1]])
    return np.concatenate(
        [start + np.arange(n * (n + 1) // 2) for start, n in zip(starts, flat, strict=True)]
    )


def _reader_fits(
    pairs: np.ndarray,
    targets: np.ndarray,
    present: np.ndarray,
    index: PairIndex,
    block_size: int,
    shuffle_seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``r2``, ``r2_heldout``, ``r2_shuffled`` (each ``(L, N)``) and ``n_pairs`` ``(N,)``."""
    n_targets = targets.shape[0]
    # The control: each reader's values permuted within every sentence (one seeded permutation
    # shared by all readers), fitted as extra targets of the same solve. It keeps a reader's
    # distribution and sentences and breaks only the word-pair alignment with the attention.
    order = resemblance.shuffle_within_sentences(
        np.arange(index.n_pairs), index, np.random.default_rng(shuffle_seed)
    )
    targets = np.concatenate([targets, targets[:, order]])
    present = np.concatenate([present, present])
    r2, r2_out, n_pairs = [], [], None
    for block in layer_blocks(pairs.shape[0], block_size):
        block_r2, block_out, n_pairs = resemblance.reader_r2(pairs[block], targets, present, index)
        r2.append(block_r2)
        r2_out.append(block_out)
    r2, r2_out = np.concatenate(r2), np.concatenate(r2_out)  # (L, 2N)
    return r2[:, :n_targets], r2_out[:, :n_targets], r2[:, n_targets:], n_pairs[:n_targets]


def reader_resemblance_table(
    attention_path: PathLike,
    human_paths: Mapping[str, PathLike],
    measures: Sequence[str],
    model: str,
    block_size: int = LAYER_BLOCK,
    shuffle_seed: int = 0,
) -> pd.DataFrame:
    """Per layer, group, measure and reader: R^2 of the layer's heads -> the reader's matrix.

    The per-reader counterpart of :func:`resemblance_table`: each reader's entries over the
    pairs ``j <= i`` of the sentences, OLS on the heads plus an intercept, in-sample (the
    authors' measure) and held out by article (:func:`readalike.study_a.resemblance.reader_r2`).
    Every reader of every group and measure is a target of one batched solve per block of
    layers (groups whose sentences differ in length are solved apart).

    Two definitions of a reader's data, both written (column ``definition``):

    ``project``
        the sentences the reader has a matrix of (a sentence without a saccade is "not
        read") whose words the attention holds: a sentence of the per-reader files that is
        longer than the attention's words (its rows past them zero padding) is left out.
    ``authors``
        every sentence, one without a matrix counted as zeros, the attention sliced to the
        reader's word count whatever it holds there: the authors'
        ``utils/regression/heads_vs_fmri.py``, whose per-reader in-sample R^2 these rows
        equal (to 1e-15 on the release's GPT-2 large).

    Returns
    -------
    DataFrame with columns :data:`READER_RESEMBLANCE_COLUMNS`: the ``project`` rows, then the
    ``authors`` rows, each sorted by group, measure, layer and reader; ``r2_shuffled`` is the
    in-sample R^2 of the same fit after the reader's values were permuted within each
    sentence (seeded by ``shuffle_seed``): the chance level that ``r2`` must beat; a group's
    number of readers is its number of distinct ``reader``s (a group with fewer than 3
    readers is kept, with a logged warning).

    Raises
    ------
    ValueError
        Naming the file, group, article and sentence where a group's sentence is longer than
        the attention's, or shorter than the words the attention holds.
    """
    attention, pairs, index = load_attention_pairs(attention_path)
    del attention  # the ragged set is not needed once its pairs are stacked
    formats.check_distinct_readers(human_paths)
    words = _attention_words(pairs, index)
    # groups whose sentences have the same lengths share one solve
    shared: dict[tuple, list[str]] = {}
    for group, path in human_paths.items():
        lengths = formats.read_saccades(path, measures[:1]).lengths()
        shared.setdefault(tuple(map(tuple, lengths)), []).append(group)
    frames: dict[str, list[pd.DataFrame]] = {d: [] for d in READER_DEFINITIONS}
    for lengths, groups in shared.items():
        paths = {g: human_paths[g] for g in groups}
        take = _group_pairs(
            index, words, [list(a) for a in lengths], paths[groups[0]], attention_path
        )
        group_index = index if take is None else pair_index([list(a) for a in lengths])
        group_pairs = pairs if take is None else pairs[..., take]
        keys, targets, present = load_reader_pairs(paths, measures, group_index, attention_path)
        # the project leaves out a sentence with words the attention does not hold
        held = np.array([n for a in lengths for n in a]) <= words
        definitions = {
            "project": present & held,
            "authors": np.broadcast_to(present.any(axis=1, keepdims=True), present.shape),
        }
        for definition, mask in definitions.items():
            fits = _reader_fits(group_pairs, targets, mask, group_index, block_size, shuffle_seed)
            frames[definition].append(_reader_frame(model, definition, keys, *fits))
    columns = ["group", "measure", "layer", "reader"]
    return pd.concat(
        [
            pd.concat(frames[d], ignore_index=True).sort_values(columns, kind="stable")
            for d in READER_DEFINITIONS
        ],
        ignore_index=True,
    )


def _reader_frame(
    model: str,
    definition: str,
    keys: list[tuple[str, str, str]],
    r2: np.ndarray,
    r2_out: np.ndarray,
    r2_shuffled: np.ndarray,
    n_pairs: np.ndarray,
) -> pd.DataFrame:
    """Rows of :data:`READER_RESEMBLANCE_COLUMNS` of one solve, targets with pairs only."""
    n_layers, n_targets = r2.shape
    group, measure, reader = (np.array(column, dtype=object) for column in zip(*keys, strict=True))
    table = pd.DataFrame(
        {
            "model": model,
            "definition": definition,
            "group": np.tile(group, n_layers),
            "measure": np.tile(measure, n_layers),
            "layer": np.repeat(np.arange(n_layers), n_targets),
            "reader": np.tile(reader, n_layers),
            "n_pairs": np.tile(n_pairs, n_layers),
            "r2": r2.reshape(-1),
            "r2_heldout": r2_out.reshape(-1),
            "r2_shuffled": r2_shuffled.reshape(-1),
        }
    )
    # a reader of the group with no matrix of this measure (an fMRI region that excludes
    # them) is no target: no row rather than a row of NaN
    return table[table["n_pairs"] > 0]


def reader_noise_ceiling_table(
    human_paths: Mapping[str, PathLike],
    measures: Sequence[str],
    n_boot: int,
    n_splits: int,
    seed: int,
) -> pd.DataFrame:
    """``noise_ceiling.tsv``: the ceilings of :mod:`readalike.study_a.noise_ceiling` per group and
    measure.

    Every reader's matrices are stacked over the pairs ``j <= i`` of the group's sentences,
    NaN where the reader did not read the sentence (the project's definition).

    Returns
    -------
    DataFrame with columns :data:`readalike.study_a.noise_ceiling.CEILING_COLUMNS`, three rows per
    group and measure.
    """
    formats.check_distinct_readers(human_paths)
    group_measure: list[tuple[str, str]] = []
    values: dict[tuple[str, str], np.ndarray] = {}
    for group, path in human_paths.items():
        # each group over its own sentences: two groups' per-reader fMRI files may give a
        # sentence different word counts (the release's article 0 sentence 20)
        index = pair_index(formats.read_saccades(path, measures[:1]).lengths())
        keys, targets, present = load_reader_pairs({group: path}, measures, index, path)
        y = np.where(present[:, index.sentence], targets, np.nan)
        mine = [(g, m) for g, m, _ in keys]
        group_measure += mine
        for key in dict.fromkeys(mine):
            values[key] = y[np.array([k == key for k in mine])]
    # a bootstrap over readers holds its draws' reader indices and the values they pick
    most = max(collections.Counter(group_measure).values())
    check_memory(
        n_boot * most * 16, f"analysis.statistics.n_bootstrap: {n_boot} draws ({most} readers)"
    )
    rows = []
    for key, y in values.items():
        rows.append(
            noise_ceiling.noise_ceiling_table(y, *key, n_boot=n_boot, n_splits=n_splits, seed=seed)
        )
    return pd.concat(rows, ignore_index=True)


def resemblance_ci_table(
    attention_path: PathLike,
    human_paths: Mapping[str, PathLike],
    measures: Sequence[str],
    model: str,
    n_draws: int,
    seed: int,
    confidence: float = 0.95,
    block_size: int = LAYER_BLOCK,
) -> pd.DataFrame:
    """``resemblance_ci.tsv``: the group-mean R^2 of every layer with a bootstrap interval.

    Sentences are resampled with replacement within each article
    (:func:`readalike.study_a.inference.bootstrap_r2_interval`); the same seeded draws serve every
    block of layers, group and measure, so intervals of different layers are comparable.

    Returns
    -------
    DataFrame with columns :data:`readalike.study_a.inference.CI_COLUMNS`.
    """
    attention, pairs, index = load_attention_pairs(attention_path)
    n_layers = attention.n_layers
    del attention  # the ragged set is not needed once its pairs are stacked
    humans, _ = load_human_pairs(human_paths, measures, index, attention_path)
    targets = list(humans)
    y = np.stack([humans[t] for t in targets])
    article_of_sentence = np.array(
        [a for a, article in enumerate(index.lengths) for _ in article], dtype=np.int64
    )
    # per block of layers: the draws' sentence counts, their R^2 and the percentiles' copies
    widest = min(block_size, n_layers)
    check_memory(
        n_draws * (article_of_sentence.size + 3 * widest * len(targets)) * 8,
        f"analysis.statistics.n_bootstrap: {n_draws} draws ({article_of_sentence.size} "
        f"sentences, {widest} layers at a time, {len(targets)} targets)",
    )
    rows = []
    for block in layer_blocks(n_layers, block_size):
        x = np.swapaxes(pairs[block], 1, 2)  # (B, P, H): regressors last
        result = inference.bootstrap_r2_interval(
            x, y, index.sentence, article_of_sentence, n_draws, seed, confidence
        )
        rows.append(
            inference.bootstrap_interval_rows(
                result, model, np.arange(block.start, block.stop), targets, confidence
            )
        )
    table = pd.concat(rows, ignore_index=True)
    return table.sort_values(["group", "measure", "layer"], kind="stable").reset_index(drop=True)


def reader_tests_table(
    readers: pd.DataFrame, groups: Sequence[str], statistics: Mapping[str, float]
) -> pd.DataFrame:
    """``resemblance_tests.tsv``: tests across readers of ``reader_resemblance.tsv``'s project
    rows (:func:`project_rows`).

    Every group after the first (the reference, L1 in the papers' configs) against the
    reference, per model, measure and layer
    (:func:`readalike.study_a.inference.resemblance_tests_table`:
    Welch and permutation tests with Holm, the authors' Student's t with Bonferroni), and
    every group against its own within-sentence shuffle
    (:func:`readalike.study_a.inference.shuffled_control_tests_table`).

    Parameters
    ----------
    statistics : the config's ``analysis.statistics``: ``n_permutations``, ``seed``,
        ``alpha``, ``min_readers``.

    Raises
    ------
    ValueError
        Naming model, group and measure where no reader has an R^2 in any layer: the
        tests would report a group of 0 readers, where the cause is the data.
    """
    readers = project_rows(readers)
    finite = pd.Series(np.isfinite(readers["r2"].to_numpy(dtype=np.float64)))
    keys = [readers[c].to_numpy() for c in ("model", "group", "measure")]
    for (model, group, measure), usable in finite.groupby(keys).any().items():
        if not usable:
            raise ValueError(
                f"reader_resemblance.tsv: model {model} group {group} measure {measure}: no "
                "reader has an R^2 in any layer (their values do not vary); no test is made"
            )
    reference, *others = groups
    frames = [
        inference.resemblance_tests_table(
            readers[readers["group"].isin([group, reference])],
            group_a=group,
            group_b=reference,
            n_permutations=int(statistics["n_permutations"]),
            seed=int(statistics["seed"]),
            alpha=float(statistics["alpha"]),
            min_readers=int(statistics["min_readers"]),
        )
        for group in others
    ]
    frames.append(
        inference.shuffled_control_tests_table(
            readers, float(statistics["alpha"]), int(statistics["min_readers"])
        )
    )
    return pd.concat(frames, ignore_index=True)


def model_comparisons_table(
    readers: pd.DataFrame,
    comparisons: Sequence[tuple[str, str, str]],
    attention_paths: Mapping[str, PathLike],
    statistics: Mapping[str, float],
) -> pd.DataFrame:
    """``model_comparisons.tsv``: paired tests across readers for each compared pair (the
    project rows of ``reader_resemblance.tsv``, :func:`project_rows`).

    Parameters
    ----------
    comparisons : ``(kind, model_a, model_b)`` of the config's ``comparisons`` (scaling,
        tuning); ``kind`` becomes the first column.
    attention_paths : each model's plain attention file, for its depth (quarters are of a
        model's own depth).
    """
    readers = project_rows(readers)
    n_layers = {m: formats.attention_shape(p)[0] for m, p in attention_paths.items()}
    frames = []
    for kind, model_a, model_b in comparisons:
        table = inference.paired_model_tests_table(
            readers,
            [(model_a, model_b)],
            n_layers,
            alpha=float(statistics["alpha"]),
            min_readers=int(statistics["min_readers"]),
        )
        frames.append(table.assign(comparison=kind)[["comparison", *table.columns]])
    return pd.concat(frames, ignore_index=True)
