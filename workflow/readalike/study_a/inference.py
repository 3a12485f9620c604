"""Statistics across readers: the tests, corrections and intervals of Study A.

Plain functions of arrays, vectorised over a column axis (layers, or depth quarters): a
sample is ``(n_readers, m)``, one column per layer, and every function returns one value
per column. A reader whose value is NaN at a column is left out of that column's sample
only. Nothing here knows of files or Snakemake; the workflow builds the arrays from
``reader_resemblance.tsv`` and writes the tables.

Tables
------
:func:`l2_vs_l1_tests` returns the rows of ``resemblance_tests.tsv`` for one model and
measure, with columns, in this order:

``model, measure, layer``
    what was tested (``layer`` is the 0-based layer index).
``test``
    ``welch_t_one_sided`` (Welch's t, unequal variances, H1: mean_a > mean_b),
    ``permutation_mean_difference`` (label permutations of the same mean difference,
    one-sided) or ``student_t_one_sided_authors`` (pooled-variance Student's t, the
    authors' test, one-sided).
``group_a, group_b, n_a, n_b, mean_a, mean_b``
    the two groups (H1: ``group_a`` resembles more), readers with a value at that layer,
    and their mean per-reader R^2.
``statistic, p``
    t (Welch, Student) or the observed mean difference ``mean_a - mean_b`` (permutation);
    the one-sided p before correction.
``correction, p_corrected``
    ``holm`` over the layers of the call (one model and measure) for Welch and the
    permutation test; ``bonferroni_authors`` for the authors' Student's t.
``holds``
    ``p_corrected < alpha`` (0.05); False where p is NaN.
``note``
    empty, or why the row is NaN (too few readers, no variance).

:func:`paired_model_tests` returns the rows comparing two models on the same readers,
columns ``model, model_b, measure, group, depth_quarter, test, n, mean_a, mean_b,
statistic, p, correction, p_corrected, holds, note``: ``depth_quarter`` is
``floor(4 * layer / n_layers)`` of each model's own depth (0..3), per-reader R^2 averaged
over the layers of the quarter before testing; ``test`` is ``paired_t_two_sided`` (t of
the mean paired difference a - b) or ``wilcoxon_signed_rank_two_sided`` (statistic: the
smaller of the two rank sums, as scipy); ``correction`` is ``holm`` over the quarters of
the call; ``holds`` says that the two models differ (either direction: the sign is in
``mean_a - mean_b``). Comparisons of scaling and tuning are two-sided because either
direction is a finding.

:func:`bootstrap_r2_interval` gives the percentile interval of the group-mean R^2 under
resampling of sentences within articles; :func:`bootstrap_interval_rows` turns it into rows of
``resemblance_ci.tsv``, columns ``model, group, measure, layer, r2, ci_low, ci_high,
confidence, n_draws`` (:data:`CI_COLUMNS`).

:func:`resemblance_tests_table` and :func:`paired_model_tests_table` build the two test
tables from the rows of ``reader_resemblance.tsv`` (columns ``model, group, measure, layer,
reader`` and the R^2 column), calling the array functions per model and measure (and per
comparison and group); readers are matched by id.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

# scipy.special, not scipy.stats, at import: the t tail is what most callers need, and
# scipy.stats cost every Study B job 0.5 s of imports (release_b -> instruction_focus -> here)
from scipy.special import stdtr
from threadpoolctl import threadpool_limits

from readalike.core.depth import N_QUARTERS, depth_quarter
from readalike.core.tables import columns as table_columns
from readalike.study_a.resemblance import gram_pinv


def _t_sf(t, df):
    """Upper tail ``P(T_df >= t)`` of Student's t (``scipy.stats.t.sf``, which calls this)."""
    return stdtr(df, -np.asarray(t, dtype=np.float64))


logger = logging.getLogger(__name__)

#: Fewest readers per group for a test across readers (a test needs them).
MIN_READERS = 3

TEST_COLUMNS = table_columns("resemblance_tests")
#: the paired tests of one model pair: ``model_comparisons.tsv`` less the comparison kind,
#: which :func:`readalike.study_a.tables.model_comparisons_table` puts first
PAIRED_COLUMNS = table_columns("model_comparisons")[1:]


@dataclass(frozen=True)
class TestResult:
    """One test per column.

    Attributes
    ----------
    statistic, p : (m,) float, NaN where the test could not be made.
    n_a, n_b : (m,) int, values used per sample (paired tests: pairs, in both).
    mean_a, mean_b : (m,) float, sample means over the values used.
    note : (m,) object, ``""`` or why the column is NaN.
    """

    __test__ = False  # not a pytest test class despite the name

    statistic: np.ndarray
    p: np.ndarray
    n_a: np.ndarray
    n_b: np.ndarray
    mean_a: np.ndarray
    mean_b: np.ndarray
    note: np.ndarray


# --------------------------------------------------------------------------- helpers


def _columns(x: np.ndarray | Sequence[float], name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"sample {name} must be (n_readers,) or (n_readers, m), got {x.shape}")
    return x


def _pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = _columns(a, "a"), _columns(b, "b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"samples have {a.shape[1]} and {b.shape[1]} columns; they must agree")
    return a, b


def _moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NaN-aware count, mean and sample variance (ddof 1) of every column."""
    valid = ~np.isnan(x)
    n = valid.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(valid, x, 0.0).sum(axis=0) / n
        var = (np.where(valid, x - mean, 0.0) ** 2).sum(axis=0) / (n - 1)
    return n, mean, np.where(n >= 2, var, np.nan)


def _notes(m: int) -> np.ndarray:
    return np.full(m, "", dtype=object)


def _too_few(note: np.ndarray, n_a: np.ndarray, n_b: np.ndarray, minimum: int) -> np.ndarray:
    """Mark columns with fewer than ``minimum`` values in a sample; return the mask."""
    few = (n_a < minimum) | (n_b < minimum)
    for j in np.flatnonzero(few):  # only the failing columns, to write their note
        note[j] = (
            f"too few values for the test: {int(n_a[j])} and {int(n_b[j])}, "
            f"at least {minimum} per sample needed"
        )
    return few


# --------------------------------------------------------------------------- two-sample tests


def welch_one_sided(a, b) -> TestResult:
    """Welch's t-test of ``mean(a) > mean(b)`` (unequal variances), one-sided, per column.

    Parameters
    ----------
    a : (n_a,) or (n_a, m) float, e.g. per-reader R^2 of L2 readers at m layers; NaN = no value.
    b : (n_b,) or (n_b, m) float, the other group at the same columns.

    Returns
    -------
    TestResult
        ``t = (mean_a - mean_b) / sqrt(s_a^2/n_a + s_b^2/n_b)``, Welch-Satterthwaite
        degrees of freedom, ``p = P(T_df >= t)``; equal to
        ``scipy.stats.ttest_ind(a, b, equal_var=False, alternative="greater")`` per column.
        NaN with a note where a sample has fewer than 2 values or both have no variance.

    Notes
    -----
    Study B's scalar ``readalike.study_b.instruction_focus.welch_one_sided`` (tuned vs base) calls
    this one, after refusing samples of fewer than two values.
    """
    a, b = _pair(a, b)
    n_a, mean_a, var_a = _moments(a)
    n_b, mean_b, var_b = _moments(b)
    note = _notes(a.shape[1])
    few = _too_few(note, n_a, n_b, 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        va, vb = var_a / n_a, var_b / n_b
        t = (mean_a - mean_b) / np.sqrt(va + vb)
        df = (va + vb) ** 2 / (va**2 / (n_a - 1) + vb**2 / (n_b - 1))
    flat = ~few & (va + vb == 0)
    note[flat] = "both samples have no variance"
    bad = few | flat
    t = np.where(bad, np.nan, t)
    p = np.where(bad, np.nan, _t_sf(t, np.where(bad, 1.0, df)))
    return TestResult(t, p, n_a, n_b, mean_a, mean_b, note)


def student_t_one_sided(a, b) -> TestResult:
    """Student's t-test of ``mean(a) > mean(b)`` with pooled variance, one-sided, per column.

    The authors' test: ``s_p^2 = ((n_a-1) s_a^2 + (n_b-1) s_b^2) / (n_a+n_b-2)``,
    ``t = (mean_a - mean_b) / sqrt(s_p^2 (1/n_a + 1/n_b))``, ``df = n_a + n_b - 2``; equal to
    ``scipy.stats.ttest_ind(a, b, alternative="greater")``. Shapes and NaN rules as
    :func:`welch_one_sided`.
    """
    a, b = _pair(a, b)
    n_a, mean_a, var_a = _moments(a)
    n_b, mean_b, var_b = _moments(b)
    note = _notes(a.shape[1])
    few = _too_few(note, n_a, n_b, 2)
    df = n_a + n_b - 2
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = ((n_a - 1) * var_a + (n_b - 1) * var_b) / df
        t = (mean_a - mean_b) / np.sqrt(pooled * (1.0 / n_a + 1.0 / n_b))
    flat = ~few & (pooled == 0)
    note[flat] = "both samples have no variance"
    bad = few | flat
    t = np.where(bad, np.nan, t)
    p = np.where(bad, np.nan, _t_sf(t, np.where(bad, 1, df)))
    return TestResult(t, p, n_a, n_b, mean_a, mean_b, note)


def _permutation_counts(
    values: np.ndarray, n_a: int, n_permutations: int, seed: int, chunk_size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observed mean differences and how many permuted ones lie at or above / below them.

    ``values`` (n, m) complete; the first ``n_a`` rows are group a. One set of label
    permutations serves every column: each permutation is an indicator row of the readers
    it puts in group a, and a matrix product gives the group sums of all columns at once.
    """
    n, m = values.shape
    n_b = n - n_a
    total = values.sum(axis=0)
    sum_a = values[:n_a].sum(axis=0)
    observed = sum_a / n_a - (total - sum_a) / n_b
    # scipy.stats.permutation_test's tolerance: differences within rounding count as ties
    gamma = np.abs(observed) * np.finfo(np.float64).eps * 100
    at_or_above = np.zeros(m, dtype=np.int64)
    at_or_below = np.zeros(m, dtype=np.int64)
    rng = np.random.default_rng(seed)
    base = np.arange(n)
    # (chunk, readers) x (readers, columns) is small: OpenBLAS threads only spin against
    # each other (3-5x slower on a loaded 2-core machine), so one thread
    with threadpool_limits(limits=1, user_api="blas"):
        for start in range(0, n_permutations, chunk_size):
            size = min(chunk_size, n_permutations - start)
            order = rng.permuted(np.tile(base, (size, 1)), axis=1)  # (size, n) permutations
            in_a = np.zeros((size, n))
            np.put_along_axis(in_a, order[:, :n_a], 1.0, axis=1)
            perm_sum_a = in_a @ values
            null = perm_sum_a / n_a - (total - perm_sum_a) / n_b
            at_or_above += (null >= observed - gamma).sum(axis=0)
            at_or_below += (null <= observed + gamma).sum(axis=0)
    return observed, at_or_above, at_or_below


def permutation_test_mean_difference(
    a,
    b,
    n_permutations: int = 10_000,
    seed: int = 0,
    alternative: str = "greater",
    chunk_size: int = 2048,
) -> TestResult:
    """Permutation test of the difference of means ``mean(a) - mean(b)``, per column.

    Group labels are permuted at random (``n_permutations`` draws, seeded; the observed
    labelling is not among them), and

    * ``greater``: ``p = (1 + #{null >= observed}) / (1 + n_permutations)``,
    * ``less``: ``p = (1 + #{null <= observed}) / (1 + n_permutations)``,
    * ``two-sided``: ``min(1, 2 * min(p_greater, p_less))``,

    as ``scipy.stats.permutation_test`` with ``permutation_type="independent"`` does for
    random permutations (the +1 counts the observed labelling, so p is never 0).

    Parameters
    ----------
    a : (n_a,) or (n_a, m) float; NaN = no value.
    b : (n_b,) or (n_b, m) float.
    n_permutations : random label permutations, shared by every column that has the same
        readers; generated ``chunk_size`` at a time, so memory is
        ``O(chunk_size * (n_a + n_b + m))``.

    Returns
    -------
    TestResult
        ``statistic`` is the observed mean difference. A column's permutations run over the
        readers with a value in that column (columns with the same missing readers share
        them; with no NaN, all columns share one set). NaN with a note where a sample has
        fewer than 2 values.
    """
    if alternative not in ("greater", "less", "two-sided"):
        raise ValueError(f"alternative must be greater, less or two-sided, got {alternative!r}")
    if n_permutations < 1:
        raise ValueError(f"n_permutations must be positive, got {int(n_permutations)}")
    a, b = _pair(a, b)
    values = np.concatenate([a, b], axis=0)
    valid = ~np.isnan(values)
    m = values.shape[1]
    n_a_all = a.shape[0]
    n_a, mean_a, _ = _moments(a)
    n_b, mean_b, _ = _moments(b)
    note = _notes(m)
    few = _too_few(note, n_a, n_b, 2)
    statistic = np.full(m, np.nan)
    p = np.full(m, np.nan)
    # columns missing the same readers are one exact problem; usually there is one pattern
    patterns, which = np.unique(valid.T, axis=0, return_inverse=True)
    for k, pattern in enumerate(patterns):
        cols = np.flatnonzero((which.ravel() == k) & ~few)
        if cols.size == 0:
            continue
        sample = values[np.ix_(pattern, cols)]
        observed, above, below = _permutation_counts(
            sample, int(pattern[:n_a_all].sum()), n_permutations, seed, chunk_size
        )
        p_greater = (1 + above) / (1 + n_permutations)
        p_less = (1 + below) / (1 + n_permutations)
        statistic[cols] = observed
        p[cols] = {
            "greater": p_greater,
            "less": p_less,
            "two-sided": np.minimum(1.0, 2 * np.minimum(p_greater, p_less)),
        }[alternative]
    return TestResult(statistic, p, n_a, n_b, mean_a, mean_b, note)


# --------------------------------------------------------------------------- corrections


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values along the last axis.

    For the sorted p-values ``p_(1) <= ... <= p_(m)`` of the m non-NaN ones,
    ``p~_(i) = max_{j <= i} min(1, (m - j + 1) p_(j))``: monotone in the order of the raw
    p-values and capped at 1. NaN entries stay NaN and are not counted in m.

    Parameters
    ----------
    pvalues : (..., m) float.

    Returns
    -------
    (..., m) float, the adjusted p-values in the input order.
    """
    p = np.asarray(pvalues, dtype=np.float64)
    order = np.argsort(p, axis=-1, kind="stable")  # NaN sorts last
    ranked = np.take_along_axis(p, order, axis=-1)
    m = (~np.isnan(p)).sum(axis=-1, keepdims=True)
    factor = m - np.arange(p.shape[-1])
    adjusted = np.minimum(1.0, ranked * factor)
    adjusted = np.where(np.isnan(ranked), 0.0, adjusted)  # keep NaN out of the running max
    adjusted = np.maximum.accumulate(adjusted, axis=-1)
    adjusted = np.where(np.isnan(ranked), np.nan, adjusted)
    out = np.empty_like(adjusted)
    np.put_along_axis(out, order, adjusted, axis=-1)
    return out


def bonferroni(pvalues) -> np.ndarray:
    """Bonferroni-adjusted p-values along the last axis: ``min(1, m p)``, m non-NaN count."""
    p = np.asarray(pvalues, dtype=np.float64)
    m = (~np.isnan(p)).sum(axis=-1, keepdims=True)
    return np.minimum(1.0, p * m)


# --------------------------------------------------------------------------- paired tests


def paired_tests(x, y) -> dict[str, TestResult]:
    """Paired tests of the same readers under two models, per column, two-sided.

    Parameters
    ----------
    x, y : (n,) or (n, m) float, row r is the same reader in both; a reader with NaN in
        either at a column is left out of that column.

    Returns
    -------
    dict
        ``paired_t_two_sided``: ``t = mean(d) / (sd(d) / sqrt(n))`` of ``d = x - y``,
        ``df = n - 1``, ``p = 2 P(T_df >= |t|)`` (= ``scipy.stats.ttest_rel``);
        ``wilcoxon_signed_rank_two_sided``: ``scipy.stats.wilcoxon(x, y)`` with its defaults
        (zero differences dropped, exact distribution for small n without ties), statistic
        the smaller rank sum. Two-sided because a model comparison (scaling, tuning) is a
        finding in either direction. NaN with a note below 2 pairs, or when every
        difference is 0.
    """
    x, y = _pair(x, y)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"paired samples need the same readers, got {x.shape[0]} and {y.shape[0]}")
    both = ~np.isnan(x) & ~np.isnan(y)
    xm, ym = np.where(both, x, np.nan), np.where(both, y, np.nan)
    n, mean_d, var_d = _moments(xm - ym)
    _, mean_x, _ = _moments(xm)
    _, mean_y, _ = _moments(ym)
    m = x.shape[1]
    note_t, note_w = _notes(m), _notes(m)
    few = n < 2
    for j in np.flatnonzero(few):  # only the failing columns, to write their note
        note_t[j] = note_w[j] = f"{int(n[j])} readers with both values; at least 2 needed"
    with np.errstate(invalid="ignore", divide="ignore"):
        t = mean_d / np.sqrt(var_d / n)
    flat = ~few & (var_d == 0)
    note_t[flat] = "the paired differences have no variance"
    bad = few | flat
    t = np.where(bad, np.nan, t)
    p_t = np.where(bad, np.nan, 2 * _t_sf(np.abs(t), np.where(bad, 1, n - 1)))

    from scipy import stats  # here, not at import (see the imports)

    w = np.full(m, np.nan)
    p_w = np.full(m, np.nan)
    for j in np.flatnonzero(~few):  # scipy's wilcoxon is per sample; columns are <= 4 quarters
        d = xm[both[:, j], j] - ym[both[:, j], j]
        if not np.any(d != 0):
            note_w[j] = "every paired difference is 0"
            continue
        res = stats.wilcoxon(d)
        w[j], p_w[j] = res.statistic, res.pvalue
    return {
        "paired_t_two_sided": TestResult(t, p_t, n, n, mean_x, mean_y, note_t),
        "wilcoxon_signed_rank_two_sided": TestResult(w, p_w, n, n, mean_x, mean_y, note_w),
    }


# --------------------------------------------------------------------------- tables


def _enforce_min_readers(result: TestResult, minimum: int, what: tuple[str, str]) -> TestResult:
    """NaN (with a note naming the group) where a group has fewer than ``minimum`` readers."""
    statistic, p, note = result.statistic.copy(), result.p.copy(), result.note.copy()
    counts = (result.n_a, result.n_b)
    for j in np.flatnonzero((counts[0] < minimum) | (counts[1] < minimum)):  # failing ones
        short = [f"{name} has {int(n[j])} readers" for name, n in zip(what, counts, strict=True)]
        short = [s for s, n in zip(short, counts, strict=True) if n[j] < minimum]
        statistic[j] = p[j] = np.nan
        note[j] = f"{' and '.join(dict.fromkeys(short))}; the test needs at least {minimum}"
    return TestResult(statistic, p, result.n_a, result.n_b, result.mean_a, result.mean_b, note)


def _test_rows(
    result: TestResult,
    *,
    model: str,
    measure: str,
    layers: np.ndarray,
    test: str,
    group_a: str,
    group_b: str,
    correction: str,
    p_corrected: np.ndarray,
    alpha: float,
) -> pd.DataFrame:
    """Rows of :data:`TEST_COLUMNS`, one per layer, from one test's per-layer results."""
    return pd.DataFrame(
        {
            "model": model,
            "measure": measure,
            "layer": layers,
            "test": test,
            "group_a": group_a,
            "group_b": group_b,
            "n_a": result.n_a.astype(np.int64),
            "n_b": result.n_b.astype(np.int64),
            "mean_a": result.mean_a,
            "mean_b": result.mean_b,
            "statistic": result.statistic,
            "p": result.p,
            "correction": correction,
            "p_corrected": p_corrected,
            "holds": np.nan_to_num(p_corrected, nan=1.0) < alpha,
            "note": result.note.astype(str),
        }
    )


def l2_vs_l1_tests(
    r2_a,
    r2_b,
    layers: Sequence[int],
    *,
    model: str,
    measure: str,
    group_a: str = "L2",
    group_b: str = "L1",
    n_permutations: int = 10_000,
    seed: int = 0,
    alpha: float = 0.05,
    min_readers: int = MIN_READERS,
) -> pd.DataFrame:
    """Rows of ``resemblance_tests.tsv``: does ``group_a`` resemble the model more, per layer?

    Parameters
    ----------
    r2_a : (n_a, n_layers) float, per-reader R^2 of the readers of ``group_a`` (NaN: none).
    r2_b : (n_b, n_layers) float, the same for ``group_b``.
    layers : (n_layers,) int, the layer index of each column (the family Holm corrects over).

    Returns
    -------
    pandas.DataFrame
        ``3 * n_layers`` rows with the columns of :data:`TEST_COLUMNS` (module docstring):
        Welch and permutation tests with Holm over the layers, the authors' Student's t with
        Bonferroni. A layer where a group has fewer than ``min_readers`` readers is NaN
        with a note, and does not count in the corrections.
    """
    a, b = _pair(r2_a, r2_b)
    layers = np.asarray(layers, dtype=np.int64)
    if layers.shape != (a.shape[1],):
        raise ValueError(f"{layers.size} layer indices for {a.shape[1]} columns of R^2")
    names = (group_a, group_b)
    tests = {
        "welch_t_one_sided": (welch_one_sided(a, b), "holm", holm),
        "permutation_mean_difference": (
            permutation_test_mean_difference(a, b, n_permutations, seed),
            "holm",
            holm,
        ),
        "student_t_one_sided_authors": (
            student_t_one_sided(a, b),
            "bonferroni_authors",
            bonferroni,
        ),
    }
    frames = []
    for test, (result, correction, correct) in tests.items():
        result = _enforce_min_readers(result, min_readers, names)
        frames.append(
            _test_rows(
                result,
                model=model,
                measure=measure,
                layers=layers,
                test=test,
                group_a=group_a,
                group_b=group_b,
                correction=correction,
                p_corrected=correct(result.p),
                alpha=alpha,
            )
        )
    return pd.concat(frames, ignore_index=True)[TEST_COLUMNS]


def quarter_means(r2, layers, n_layers: int) -> np.ndarray:
    """Per-reader mean R^2 over the layers of each depth quarter.

    Parameters
    ----------
    r2 : (n_readers, len(layers)) float, NaN = no value (left out of the mean).
    layers : layer index of each column; n_layers: the model's depth.

    Returns
    -------
    (n_readers, 4) float, NaN for a quarter with no value (no layer present).
    """
    r2 = _columns(r2, "r2")
    quarter = depth_quarter(layers, n_layers, N_QUARTERS)
    member = (quarter[:, None] == np.arange(N_QUARTERS)[None, :]).astype(np.float64)  # (layers, 4)
    valid = ~np.isnan(r2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (np.where(valid, r2, 0.0) @ member) / (valid @ member)


def paired_model_tests(
    r2_a,
    r2_b,
    layers_a: Sequence[int],
    layers_b: Sequence[int],
    n_layers_a: int,
    n_layers_b: int,
    *,
    model: str,
    model_b: str,
    measure: str,
    group: str,
    alpha: float = 0.05,
    min_readers: int = MIN_READERS,
) -> pd.DataFrame:
    """Rows comparing two models on the same readers, per quarter of depth.

    Parameters
    ----------
    r2_a : (n_readers, len(layers_a)) float, per-reader R^2 under ``model``.
    r2_b : (n_readers, len(layers_b)) float, the same readers (same row order) under ``model_b``.
    layers_a, layers_b : the layer index of each column; n_layers_a, n_layers_b: each model's
        depth (a release may hold fewer layers than the model has).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`PAIRED_COLUMNS`, a paired t and a Wilcoxon row per quarter that both
        models have layers in, Holm-corrected over those quarters per test.
    """
    qa = quarter_means(r2_a, layers_a, n_layers_a)
    qb = quarter_means(r2_b, layers_b, n_layers_b)
    if qa.shape[0] != qb.shape[0]:
        raise ValueError(
            f"{model} has {qa.shape[0]} readers and {model_b} {qb.shape[0]}; they must be the same"
        )
    present = np.flatnonzero(~np.all(np.isnan(qa), axis=0) & ~np.all(np.isnan(qb), axis=0))
    results = paired_tests(qa[:, present], qb[:, present])
    frames = []
    for test, result in results.items():
        result = _enforce_min_readers(result, min_readers, (group, group))
        p_corrected = holm(result.p)
        frames.append(
            pd.DataFrame(
                {
                    "model": model,
                    "model_b": model_b,
                    "measure": measure,
                    "group": group,
                    "depth_quarter": present.astype(np.int64),
                    "test": test,
                    "n": result.n_a.astype(np.int64),
                    "mean_a": result.mean_a,
                    "mean_b": result.mean_b,
                    "statistic": result.statistic,
                    "p": result.p,
                    "correction": "holm",
                    "p_corrected": p_corrected,
                    "holds": np.nan_to_num(p_corrected, nan=1.0) < alpha,
                    "note": result.note.astype(str),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)[PAIRED_COLUMNS]


# --------------------------------------------------------------------------- bootstrap


def _check_pairs(x: np.ndarray, y: np.ndarray, sentence_of_pair: np.ndarray, n_sentences: int):
    n_pairs = x.shape[1]
    if y.shape[-1] != n_pairs or sentence_of_pair.shape != (n_pairs,):
        raise ValueError(
            f"bootstrap inputs disagree: {n_pairs} pairs in X, {y.shape[-1]} in y, "
            f"{sentence_of_pair.size} in sentence_of_pair"
        )
    if n_pairs and (sentence_of_pair.min() < 0 or sentence_of_pair.max() >= n_sentences):
        raise ValueError(f"sentence_of_pair must lie in 0..{n_sentences - 1}")
    for name, arr, axis in (("y", y, 0), ("X", x, (0, 2))):
        finite = np.isfinite(arr).all(axis=axis)
        if not finite.all():
            pair = int(np.flatnonzero(~finite)[0])
            raise ValueError(
                f"{name} is not finite at pair {pair} (sentence {int(sentence_of_pair[pair])})"
            )


@dataclass(frozen=True)
class SentenceBlocks:
    """Per-sentence sufficient statistics of OLS with intercept, for a block of layers.

    The design of each layer is whitened once on all pairs (``Z = [1, X] T`` with
    ``T = V diag(w^-1/2)`` over the eigen-directions of ``[1, X]'[1, X]`` above a relative
    cut-off of 1e-12; directions below it, from collinear heads, are dropped), so that the
    systems of every draw are well conditioned and can be solved with a plain batched
    ``solve`` instead of an eigen-decomposition per draw; fitted values, and so R^2, are
    those of the original design.

    Attributes
    ----------
    gram_tri : (S, B, Q) upper triangle (``numpy.triu_indices(K)``) of ``Z_s' Z_s``.
    cross : (S, B, T, K) ``Z_s' y_s`` of every target.
    yy, sy : (S, T) ``y_s' y_s`` and ``sum y_s``.
    n : (S,) pairs per sentence.
    dropped : (B, K) bool, directions dropped by the cut-off (identity put there when solving).
    """

    gram_tri: np.ndarray
    cross: np.ndarray
    yy: np.ndarray
    sy: np.ndarray
    n: np.ndarray
    dropped: np.ndarray

    def r2(self, counts: np.ndarray) -> np.ndarray:
        """In-sample R^2 of the fit on sentences taken ``counts`` times each.

        Parameters
        ----------
        counts : (D, S) float or int, multiplicity of every sentence in each of D draws.

        Returns
        -------
        (D, B, T) float, ``1 - SSE / SST`` of each draw, layer and target; NaN where SST is 0.
        """
        counts = np.asarray(counts, dtype=np.float64)
        n_sentences, n_blocks, _ = self.gram_tri.shape
        k = self.dropped.shape[1]
        n_draws = counts.shape[0]
        # one GEMM for all layers of the block: (D, S) x (S, B * Q)
        gram_tri = (counts @ self.gram_tri.reshape(n_sentences, -1)).reshape(n_draws, n_blocks, -1)
        # unpack the triangle with one gather (a scatter into both halves was 25x slower)
        gram = np.take(gram_tri, _unpack_triangle(k), axis=-1).reshape(n_draws, n_blocks, k, k)
        gram += np.eye(k) * self.dropped[None, :, :, None]  # dropped: coefficient 0
        cross = (counts @ self.cross.reshape(n_sentences, -1)).reshape(n_draws, n_blocks, -1, k)
        yy, sy, n = counts @ self.yy, counts @ self.sy, counts @ self.n
        yy = yy[:, None, :]  # (D, 1, T)
        sst = yy - sy[:, None, :] ** 2 / n[:, None, None]
        rhs = np.swapaxes(cross, -1, -2)  # (D, B, K, T)
        # tiny systems: see resemblance.gram_pinv
        with threadpool_limits(limits=1, user_api="blas"):
            try:
                beta = np.linalg.solve(gram, rhs)
                exact = True
            except np.linalg.LinAlgError:
                # a draw lost a direction (a head non-zero only in sentences not drawn)
                beta = np.matmul(gram_pinv(gram), rhs)
                exact = False
        # at the solution of G b = c the fitted sum of squares b'G b equals b'c
        explained = np.einsum("dbkt,dbkt->dbt", beta, rhs)
        if not exact:  # a pseudo-inverse solution: the full form stays exact
            explained = 2 * explained - np.einsum("dbkt,dbkl,dblt->dbt", beta, gram, beta)
        sse = yy - explained
        with np.errstate(invalid="ignore", divide="ignore"):
            return 1.0 - sse / np.where(sst > 0, sst, np.nan)


@cache
def _unpack_triangle(k: int) -> np.ndarray:
    """(k*k,) position in the ``triu_indices(k)`` list of every entry of a symmetric k x k."""
    upper = np.triu_indices(k)
    index = np.empty((k, k), dtype=np.int64)
    index[upper] = np.arange(upper[0].size)
    index[upper[1], upper[0]] = np.arange(upper[0].size)
    return index.ravel()


def sentence_blocks(x, y, sentence_of_pair, n_sentences: int) -> SentenceBlocks:
    """Per-sentence sufficient statistics of regressing ``y`` on ``[1, x]`` for each layer.

    Parameters
    ----------
    x : (B, P, K0) float, K0 regressors (heads) of B layers over P pairs (any order).
    y : (T, P) float, targets.
    sentence_of_pair : (P,) int in ``0..n_sentences-1``.

    Returns
    -------
    SentenceBlocks
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n_blocks, n_pairs, _ = x.shape
    design = np.concatenate([np.ones((n_blocks, n_pairs, 1)), x], axis=2)
    k = design.shape[2]
    full = np.matmul(np.swapaxes(design, 1, 2), design)
    with threadpool_limits(limits=1, user_api="blas"):
        w, v = np.linalg.eigh(full)
    keep = w > np.abs(w).max(axis=-1, keepdims=True) * 1e-12
    scale = np.where(keep, 1.0 / np.sqrt(np.where(keep, w, 1.0)), 0.0)
    z = np.matmul(design, v * scale[:, None, :])  # (B, P, K) whitened, dropped columns 0

    # pad every sentence to the longest so per-sentence Gram matrices are one batched GEMM;
    # the padded layout gathers from the pairs (a gather is several times faster than a
    # scatter), padding slots read pair 0 and are zeroed
    n = np.bincount(sentence_of_pair, minlength=n_sentences)
    width = int(n.max()) if n_pairs else 0
    order = np.argsort(sentence_of_pair, kind="stable")
    start = np.concatenate([[0], np.cumsum(n)[:-1]])
    slot = np.arange(width)
    filled = slot[None, :] < n[:, None]  # (S, W)
    source = np.where(filled, order[np.minimum(start[:, None] + slot, n_pairs - 1)], 0)
    padded = np.take(z, source.ravel(), axis=1).reshape(n_blocks, n_sentences, width, k)
    padded *= filled[None, :, :, None]
    y_padded = np.take(y, source.ravel(), axis=1).reshape(-1, n_sentences, width) * filled
    gram = np.matmul(np.swapaxes(padded, 2, 3), padded)  # (B, S, K, K)
    upper = np.triu_indices(k)
    cross = np.matmul(np.swapaxes(y_padded, 0, 1)[None], padded)  # (B, S, T, K)
    # sentences first: a draw is then one product of the counts with all layers at once
    return SentenceBlocks(
        gram_tri=np.ascontiguousarray(np.swapaxes(gram[..., upper[0], upper[1]], 0, 1)),
        cross=np.ascontiguousarray(np.swapaxes(cross, 0, 1)),
        yy=(y_padded**2).sum(axis=2).T,
        sy=y_padded.sum(axis=2).T,
        n=n.astype(np.float64),
        dropped=~keep,
    )


def sentence_counts(article_of_sentence, n_draws: int, seed: int = 0) -> np.ndarray:
    """Multiplicities of a bootstrap over sentences within articles.

    Each draw takes, in every article, as many sentences as it has, uniformly with
    replacement among that article's sentences, so every article keeps its size.

    Parameters
    ----------
    article_of_sentence : (S,) int, the article of each sentence.

    Returns
    -------
    (n_draws, S) int, how many times each sentence is drawn; row sums per article equal the
    article's number of sentences.
    """
    article_of_sentence = np.asarray(article_of_sentence)
    rng = np.random.default_rng(seed)
    counts = np.zeros((n_draws, article_of_sentence.size), dtype=np.int64)
    for article in np.unique(article_of_sentence):  # a handful of articles
        members = np.flatnonzero(article_of_sentence == article)
        counts[:, members] = rng.multinomial(
            members.size, np.full(members.size, 1.0 / members.size), size=n_draws
        )
    return counts


@dataclass(frozen=True)
class BootstrapInterval:
    """Bootstrap of in-sample R^2 over sentences within articles.

    Attributes
    ----------
    r2 : (L,) or (L, T) the point estimate (all sentences once).
    low, high : same shape, the percentile interval (2.5 and 97.5 % for 95 %).
    draws : (n_draws, L) or (n_draws, L, T) R^2 of every draw.
    """

    r2: np.ndarray
    low: np.ndarray
    high: np.ndarray
    draws: np.ndarray


def bootstrap_r2_interval(
    x,
    y,
    sentence_of_pair,
    article_of_sentence,
    n_draws: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    memory_mb: float = 64.0,
) -> BootstrapInterval:
    """Percentile interval of the group-mean R^2 of every layer, bootstrapping sentences.

    One draw resamples sentences with replacement within each article
    (:func:`sentence_counts`) and refits OLS with intercept of ``y`` on a layer's heads over
    the pairs of the drawn sentences (a sentence drawn twice counts twice). The fit of a
    draw is a count-weighted sum of per-sentence Gram blocks (:func:`sentence_blocks`), so
    all draws of a block of layers are a matrix product and a batched solve.

    Parameters
    ----------
    x : (L, P, K) float, or (P, K) for one layer: K regressors (heads) of every pair.
    y : (P,) or (T, P) float, target entries (e.g. the group-mean saccade matrix).
    sentence_of_pair : (P,) int, sentence of each pair (``PairIndex.sentence``).
    article_of_sentence : (S,) int, article of each sentence.
    n_draws : bootstrap draws (at least 1,000 for the workflow's tables).
    memory_mb : rough bound on the size of the largest temporary array.

    Returns
    -------
    BootstrapInterval

    Notes
    -----
    In-sample R^2 with many regressors is inflated by roughly ``K / n_pairs`` over its
    population value, and a draw repeats sentences, so it has fewer distinct pairs and more
    inflation: with weak signal and ~50 heads the draws' R^2 sits above the point estimate
    (on pure noise with 52 heads and ~9,400 pairs, the point was 0.004 and the interval
    0.006-0.014). The interval describes how much the estimate moves with the sentences
    drawn; compare intervals between layers or models of similar size, and read the
    held-out R^2 for the level.
    """
    x = np.asarray(x)  # float32 stays float32: each layer block is widened on its own
    if x.ndim == 2:
        x = x[None]
    y = np.asarray(y, dtype=np.float64)
    single = y.ndim == 1
    y = np.atleast_2d(y)
    sentence_of_pair = np.asarray(sentence_of_pair, dtype=np.int64)
    article_of_sentence = np.asarray(article_of_sentence, dtype=np.int64)
    n_sentences = article_of_sentence.size
    if x.ndim != 3:
        raise ValueError(f"X must be (layers, pairs, regressors), got shape {x.shape}")
    _check_pairs(x, y, sentence_of_pair, n_sentences)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")

    n_layers, _, k0 = x.shape
    k = k0 + 1
    budget = memory_mb * 2**20 / 8
    width = int(np.bincount(sentence_of_pair, minlength=n_sentences).max())
    layer_block = max(1, min(n_layers, int(budget // (n_sentences * max(width, k) * k))))
    draw_chunk = max(1, min(n_draws, int(budget // (layer_block * k * k))))

    counts = sentence_counts(article_of_sentence, n_draws, seed)
    ones = np.ones((1, n_sentences))
    point = np.empty((n_layers, y.shape[0]))
    draws = np.empty((n_draws, n_layers, y.shape[0]))
    # one BLAS thread: measured 2x faster than two on a loaded 2-core machine (OpenBLAS
    # threads spin against each other) and no slower on an idle one
    with threadpool_limits(limits=1, user_api="blas"):
        for first in range(0, n_layers, layer_block):  # blocks of layers bound memory
            layers = slice(first, min(n_layers, first + layer_block))
            blocks = sentence_blocks(x[layers], y, sentence_of_pair, n_sentences)
            point[layers] = blocks.r2(ones)[0]
            for d in range(0, n_draws, draw_chunk):
                draws[d : d + draw_chunk, layers] = blocks.r2(counts[d : d + draw_chunk])
    tail = 100 * (1 - confidence) / 2
    low, high = np.nanpercentile(draws, [tail, 100 - tail], axis=0)
    if single:
        return BootstrapInterval(point[:, 0], low[:, 0], high[:, 0], draws[..., 0])
    return BootstrapInterval(point, low, high, draws)


# --------------------------------------------------------------------------- long tables


def _reader_matrix(rows: pd.DataFrame, value: str) -> pd.DataFrame:
    """Readers x layers of one model, group and measure (NaN where a layer is missing)."""
    return rows.pivot(index="reader", columns="layer", values=value)


def resemblance_tests_table(
    readers: pd.DataFrame,
    value: str = "r2",
    group_a: str = "L2",
    group_b: str = "L1",
    n_permutations: int = 10_000,
    seed: int = 0,
    alpha: float = 0.05,
    min_readers: int = MIN_READERS,
) -> pd.DataFrame:
    """``resemblance_tests.tsv`` from ``reader_resemblance.tsv``: :func:`l2_vs_l1_tests` per
    model and measure.

    Parameters
    ----------
    readers : one row per model, group, measure, layer and reader, with columns ``model,
        group, measure, layer, reader`` and ``value`` (the per-reader R^2).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TEST_COLUMNS`; Holm runs over the layers of one model and measure.
        A model and measure where a group has no reader at all gets rows with NaN and a note.
    """
    frames = []
    for (model, measure), rows in readers.groupby(["model", "measure"], sort=True):
        in_a = set(rows.loc[rows["group"] == group_a, "reader"])
        both = sorted(in_a & set(rows.loc[rows["group"] == group_b, "reader"]), key=str)
        if both:
            raise ValueError(
                f"reader {both[0]} is in both groups {group_a} and {group_b} "
                f"(model {model}, measure {measure})"
            )
        layers = np.sort(rows["layer"].unique())
        samples = []
        for group in (group_a, group_b):
            matrix = _reader_matrix(rows[rows["group"] == group], value)
            samples.append(matrix.reindex(columns=layers).to_numpy(dtype=np.float64))
        frames.append(
            l2_vs_l1_tests(
                samples[0],
                samples[1],
                layers,
                model=str(model),
                measure=str(measure),
                group_a=group_a,
                group_b=group_b,
                n_permutations=n_permutations,
                seed=seed,
                alpha=alpha,
                min_readers=min_readers,
            )
        )
    if not frames:
        return pd.DataFrame(columns=TEST_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def paired_model_tests_table(
    readers: pd.DataFrame,
    comparisons: Sequence[Sequence[str]],
    n_layers: dict[str, int],
    value: str = "r2",
    alpha: float = 0.05,
    min_readers: int = MIN_READERS,
) -> pd.DataFrame:
    """Paired model comparisons from ``reader_resemblance.tsv``: :func:`paired_model_tests`
    for every pair ``(model, model_b)`` of ``comparisons``, measure and group.

    Parameters
    ----------
    readers : as for :func:`resemblance_tests_table`.
    comparisons : pairs of model names in config order (``mean_a`` is the first model's).
    n_layers : each model's depth (the quarters are of the model's own depth).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`PAIRED_COLUMNS`. Only readers that both models have are paired.
    """
    frames = []
    for model, model_b in comparisons:
        for (measure, group), rows in readers[readers["model"].isin([model, model_b])].groupby(
            ["measure", "group"], sort=True
        ):
            a = _reader_matrix(rows[rows["model"] == model], value)
            b = _reader_matrix(rows[rows["model"] == model_b], value)
            shared = a.index.intersection(b.index)
            if a.empty or b.empty:
                continue  # a model without this measure: nothing to compare
            frames.append(
                paired_model_tests(
                    a.loc[shared].to_numpy(dtype=np.float64),
                    b.loc[shared].to_numpy(dtype=np.float64),
                    a.columns.to_numpy(),
                    b.columns.to_numpy(),
                    n_layers[model],
                    n_layers[model_b],
                    model=model,
                    model_b=model_b,
                    measure=str(measure),
                    group=str(group),
                    alpha=alpha,
                    min_readers=min_readers,
                )
            )
    if not frames:
        return pd.DataFrame(columns=PAIRED_COLUMNS)
    return pd.concat(frames, ignore_index=True)


CI_COLUMNS = table_columns("resemblance_ci")


def bootstrap_interval_rows(
    result: BootstrapInterval,
    model: str,
    layers: Sequence[int],
    targets: Sequence[tuple[str, str]],
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Rows of ``resemblance_ci.tsv`` from a :func:`bootstrap_r2_interval` result.

    Parameters
    ----------
    result : its ``r2``, ``low``, ``high`` of shape (L, T) (or (L,) for one target).
    layers : (L,) layer index of each row of ``result``.
    targets : T pairs ``(group, measure)`` in the order of ``y``'s rows.

    Returns
    -------
    pandas.DataFrame
        ``L * T`` rows, columns :data:`CI_COLUMNS` (``r2`` is the point estimate on all
        sentences, ``ci_low``/``ci_high`` the percentile interval).
    """
    r2, low, high = (
        np.asarray(v).reshape(len(layers), -1) for v in (result.r2, result.low, result.high)
    )
    if r2.shape[1] != len(targets):
        raise ValueError(f"{len(targets)} targets named for {r2.shape[1]} bootstrapped targets")
    groups = np.array([g for g, _ in targets], dtype=object)
    measures = np.array([m for _, m in targets], dtype=object)
    return pd.DataFrame(
        {
            "model": model,
            "group": np.tile(groups, len(layers)),
            "measure": np.tile(measures, len(layers)),
            "layer": np.repeat(np.asarray(layers, dtype=np.int64), len(targets)),
            "r2": r2.ravel(),
            "ci_low": low.ravel(),
            "ci_high": high.ravel(),
            "confidence": confidence,
            "n_draws": result.draws.shape[0],
        },
        columns=CI_COLUMNS,
    )


def shuffled_control_tests_table(
    readers: pd.DataFrame, alpha: float = 0.05, min_readers: int = MIN_READERS
) -> pd.DataFrame:
    """Does each reader's R^2 beat its own within-sentence shuffle? Rows of the tests table.

    Per model, measure, group and layer: a one-sided paired t-test across the readers of
    ``r2 > r2_shuffled`` (``reader_resemblance.tsv``; the shuffle permutes a reader's values
    within each sentence, so it keeps everything but the word-pair alignment with the
    attention), Holm over the layers of one model, measure and group. ``group_a`` is the
    group, ``group_b`` the same group shuffled, so the rows share :data:`TEST_COLUMNS`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TEST_COLUMNS`, ``test`` = ``paired_t_one_sided_above_shuffled``.
    """
    frames = []
    for (model, measure, group), rows in readers.groupby(["model", "measure", "group"], sort=True):
        observed = _reader_matrix(rows, "r2")
        shuffled = _reader_matrix(rows, "r2_shuffled").reindex_like(observed)
        layers = observed.columns.to_numpy(dtype=np.int64)
        paired = paired_tests(observed.to_numpy(np.float64), shuffled.to_numpy(np.float64))
        result = paired["paired_t_two_sided"]
        # one-sided from the same t: H1 is r2 > r2_shuffled
        with np.errstate(invalid="ignore"):
            p = _t_sf(result.statistic, np.maximum(result.n_a - 1, 1))
        result = TestResult(
            result.statistic,
            np.where(np.isnan(result.statistic), np.nan, p),
            result.n_a,
            result.n_b,
            result.mean_a,
            result.mean_b,
            result.note,
        )
        result = _enforce_min_readers(result, min_readers, (str(group), f"{group} shuffled"))
        frames.append(
            _test_rows(
                result,
                model=model,
                measure=measure,
                layers=layers,
                test="paired_t_one_sided_above_shuffled",
                group_a=group,
                group_b=f"{group} shuffled within sentences",
                correction="holm",
                p_corrected=holm(result.p),
                alpha=alpha,
            )
        )
    if not frames:
        return pd.DataFrame(columns=TEST_COLUMNS)
    return pd.concat(frames, ignore_index=True)[TEST_COLUMNS]
