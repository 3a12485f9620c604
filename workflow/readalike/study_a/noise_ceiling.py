"""Noise ceilings: how much of the human signal any model could explain.

For one group and measure, the readers' matrices are stacked over the word pairs:
``Y`` (n_readers, n_pairs) float, NaN where a reader has no matrix for a sentence. Three
ceilings, each a row of ``noise_ceiling.tsv`` (columns :data:`CEILING_COLUMNS`: ``group,
measure, kind, value, interval_low, interval_high, n_readers, note``):

``leave_one_reader_out``
    For each reader, R^2 of OLS with intercept predicting that reader's entries from the
    mean of the *other* readers (on the pairs where the reader has a value and at least one
    other reader does); value = mean over readers, interval = 95 % percentile bootstrap over
    readers. The ceiling for a per-reader R^2 (``reader_resemblance.tsv``): the others'
    mean is the best prediction of a reader that the group offers. It is itself noisy (a
    finite group), so the true ceiling is somewhat higher; the honest one of the two.
``authors_inclusive``
    The same with the mean *including* the reader (as the authors computed it), on the same
    pairs: the reader's own noise is then in the predictor, which inflates the value
    (with 2 readers it explains half the reader's noise by construction).
``split_half_spearman_brown``
    The ceiling of a group-mean R^2 (``resemblance.tsv``). Readers are split at random
    into two halves (sizes ``n // 2`` and ``n - n // 2``); ``r`` is the Pearson correlation
    of the two half-means over the pairs both halves have; the Spearman-Brown correction
    ``rho = 2 r / (1 + r)`` estimates the correlation between two independent groups of the
    full size, which is the reliability of the group mean: the share of its variance that
    is signal shared by readers. A model that predicts that signal exactly reaches
    ``R^2 = rho`` on the group mean, so ``rho`` itself (not ``rho^2``) is reported as the R^2
    ceiling; ``rho^2`` would be the R^2 of one noisy group mean predicting another, which
    understates what a noise-free model can reach. Value = mean of ``rho`` over random
    splits, interval = its 2.5 and 97.5 percentiles over the splits (the spread due to
    the choice of split, not a sampling interval).

A group with fewer than :data:`MIN_READERS` readers gets NaN with a note instead of a
number. Everything is vectorised over readers (sums, counts and matrix products); the
workflow adds provenance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from readalike.core.tables import columns as table_columns

#: Fewest readers a ceiling needs (leave-one-out and split halves of at least one reader).
MIN_READERS = 3

CEILING_COLUMNS = table_columns("noise_ceiling")


@dataclass(frozen=True)
class Ceiling:
    """One noise ceiling.

    Attributes
    ----------
    kind : ``leave_one_reader_out``, ``authors_inclusive`` or ``split_half_spearman_brown``.
    value, interval_low, interval_high : float, NaN when it could not be computed.
    n_readers : readers with at least one value.
    samples : (n_readers,) per-reader R^2 (NaN for a reader with too few pairs or no
        variance), or (n_splits,) Spearman-Brown reliabilities of the splits.
    note : ``""`` or why the value is NaN / what was left out.
    """

    kind: str
    value: float
    interval_low: float
    interval_high: float
    n_readers: int
    samples: np.ndarray
    note: str


def _readers(y) -> tuple[np.ndarray, np.ndarray, str]:
    """(readers with data, P) matrix, its validity mask and a note on readers left out."""
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 2:
        raise ValueError(f"Y must be (n_readers, n_pairs), got shape {y.shape}")
    if np.isinf(y).any():
        reader, pair = (int(i[0]) for i in np.nonzero(np.isinf(y)))
        raise ValueError(f"Y is infinite for reader {reader} at pair {pair}")
    valid = ~np.isnan(y)
    has_data = valid.any(axis=1)
    note = ""
    if not has_data.all():
        empty = ", ".join(str(int(r)) for r in np.flatnonzero(~has_data))
        note = f"readers without any value left out: {empty}"
    return y[has_data], valid[has_data], note


def _join(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


def _too_few(n_readers: int) -> str:
    return f"{n_readers} readers; a noise ceiling needs at least {MIN_READERS}"


def _correlation(a: np.ndarray, b: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Row-wise Pearson correlation of a and b over the valid entries (last axis).

    Its square is the R^2 of OLS with intercept of ``a`` on ``b`` (one regressor). NaN for a
    row with fewer than 3 valid entries (2 points always fit exactly) or no variance.
    """
    n = np.count_nonzero(valid, axis=-1)[..., None]
    a = np.where(valid, a, 0.0)  # NaN or inf outside the valid entries must not leak
    b = np.where(valid, b, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        # centre first (two passes) so sums of squares do not cancel catastrophically;
        # in place, because temporaries of (splits, pairs) cost more than the arithmetic
        a -= a.sum(axis=-1, keepdims=True) / n
        a *= valid
        b -= b.sum(axis=-1, keepdims=True) / n
        b *= valid
        r = (a * b).sum(axis=-1) / np.sqrt((a * a).sum(axis=-1) * (b * b).sum(axis=-1))
    return np.where(n[..., 0] >= 3, r, np.nan)


def _per_reader_r2(y: np.ndarray, valid: np.ndarray, include_self: bool) -> np.ndarray:
    """R^2 of each reader on the group mean without (or with) that reader, all at once."""
    total = np.where(valid, y, 0.0).sum(axis=0)  # (P,)
    count = valid.sum(axis=0)
    own = np.where(valid, y, 0.0)
    usable = valid & (count >= 2)[None, :]  # the reader and at least one other
    with np.errstate(invalid="ignore", divide="ignore"):
        if include_self:
            predictor = np.broadcast_to(total / count, y.shape)
        else:
            predictor = (total[None, :] - own) / (count[None, :] - 1)
    return _correlation(y, predictor, usable) ** 2


def bootstrap_mean(values: np.ndarray, n_boot: int, seed: int, confidence: float):
    """Mean of ``values`` and the percentile interval of bootstrap means (resampling them)."""
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, (n_boot, values.size))].mean(axis=1)
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(values.mean()), float(low), float(high)


def _reader_ceiling(y, include_self: bool, n_boot: int, seed: int, confidence: float) -> Ceiling:
    kind = "authors_inclusive" if include_self else "leave_one_reader_out"
    y, valid, note = _readers(y)
    n_readers = y.shape[0]
    if n_readers < MIN_READERS:
        samples = np.full(n_readers, np.nan)
        return Ceiling(
            kind, np.nan, np.nan, np.nan, n_readers, samples, _join(note, _too_few(n_readers))
        )
    r2 = _per_reader_r2(y, valid, include_self)
    finite = r2[np.isfinite(r2)]
    if finite.size < n_readers:
        note = _join(
            note, f"{n_readers - finite.size} readers without 3 shared pairs or variance left out"
        )
    if finite.size < MIN_READERS:
        return Ceiling(
            kind, np.nan, np.nan, np.nan, n_readers, r2, _join(note, _too_few(finite.size))
        )
    value, low, high = bootstrap_mean(finite, n_boot, seed, confidence)
    return Ceiling(kind, value, low, high, n_readers, r2, note)


def leave_one_out_ceiling(
    y, n_boot: int = 1000, seed: int = 0, confidence: float = 0.95
) -> Ceiling:
    """Leave-one-reader-out ceiling: each reader predicted from the others' mean.

    Parameters
    ----------
    y : (n_readers, n_pairs) float, the readers' matrix entries over the group's pairs;
        NaN where a reader has no matrix for the sentence.
    n_boot, seed, confidence : bootstrap over readers for the interval of the mean.

    Returns
    -------
    Ceiling
        ``samples`` are the per-reader R^2 (OLS with intercept of the reader's entries on
        ``(sum - own) / (count - 1)`` over the pairs where the reader and at least one other
        reader have a value).
    """
    return _reader_ceiling(y, False, n_boot, seed, confidence)


def inclusive_ceiling(y, n_boot: int = 1000, seed: int = 0, confidence: float = 0.95) -> Ceiling:
    """The authors' ceiling: each reader predicted from the group mean that includes them.

    As :func:`leave_one_out_ceiling` (same pairs) with the predictor ``sum / count``; the
    reader's own noise is in the predictor, so this overstates the ceiling.
    """
    return _reader_ceiling(y, True, n_boot, seed, confidence)


def _split_rho(
    y: np.ndarray, valid: np.ndarray, n_splits: int, seed: int, chunk_size: int
) -> np.ndarray:
    """Spearman-Brown corrected split-half correlation of each random split, (n_splits,)."""
    n_readers = y.shape[0]
    rng = np.random.default_rng(seed)
    complete = bool(valid.all())
    if complete:
        # every reader has every pair: the half-means are fixed weightings of the readers,
        # so their correlation over pairs follows from the readers' covariance matrix
        # (R x R, once) and each split costs O(R^2) instead of O(pairs)
        centred = y - y.mean(axis=1, keepdims=True)
        covariance = centred @ centred.T
    else:
        # sums and reader counts per pair side by side: one product gives both for half a,
        # and half b is the total minus half a
        stacked = np.concatenate([np.where(valid, y, 0.0), valid.astype(np.float64)], axis=1)
        total = stacked.sum(axis=0)
        n_pairs = y.shape[1]
    rho = np.empty(n_splits)
    half = n_readers // 2
    for start in range(0, n_splits, chunk_size):
        size = min(chunk_size, n_splits - start)
        order = rng.permuted(np.tile(np.arange(n_readers), (size, 1)), axis=1)
        in_a = np.zeros((size, n_readers))
        np.put_along_axis(in_a, order[:, :half], 1.0, axis=1)
        if complete:
            in_b = 1.0 - in_a
            cov_a = in_a @ covariance
            with np.errstate(invalid="ignore", divide="ignore"):
                r = np.einsum("sr,sr->s", cov_a, in_b) / np.sqrt(
                    np.einsum("sr,sr->s", cov_a, in_a)
                    * np.einsum("sr,sr->s", in_b @ covariance, in_b)
                )
            if y.shape[1] < 3:
                r[:] = np.nan
        else:
            part_a = in_a @ stacked
            part_b = total - part_a
            count_a, count_b = part_a[:, n_pairs:], part_b[:, n_pairs:]  # (size, P) readers
            both = (count_a > 0.5) & (count_b > 0.5)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean_a, mean_b = part_a[:, :n_pairs] / count_a, part_b[:, :n_pairs] / count_b
            r = _correlation(mean_a, mean_b, both)
        with np.errstate(invalid="ignore", divide="ignore"):
            rho[start : start + size] = 2 * r / (1 + r)
    return rho


def split_half_ceiling(y, n_splits: int = 1000, seed: int = 0, chunk_size: int = 100) -> Ceiling:
    """Split-half reliability of the group mean, Spearman-Brown corrected (module docstring).

    Parameters
    ----------
    y : (n_readers, n_pairs) float, NaN = no value.
    n_splits : random splits of the readers into halves (seeded).

    Returns
    -------
    Ceiling
        ``value`` the mean of ``rho = 2 r / (1 + r)`` over splits, interval its 2.5 and 97.5
        percentiles, ``samples`` the ``rho`` of every split. Memory
        ``O(chunk_size * n_pairs)``.
    """
    kind = "split_half_spearman_brown"
    y, valid, note = _readers(y)
    n_readers = y.shape[0]
    if n_readers < MIN_READERS:
        return Ceiling(
            kind,
            np.nan,
            np.nan,
            np.nan,
            n_readers,
            np.full(0, np.nan),
            _join(note, _too_few(n_readers)),
        )
    # small products: OpenBLAS threads only spin against each other here (3-5x slower on a
    # loaded 2-core machine), so the loop runs single-threaded
    with threadpool_limits(limits=1, user_api="blas"):
        rho = _split_rho(y, valid, n_splits, seed, chunk_size)
    finite = rho[np.isfinite(rho)]
    if finite.size == 0:
        return Ceiling(
            kind, np.nan, np.nan, np.nan, n_readers, rho, _join(note, "no split had variance")
        )
    low, high = np.percentile(finite, [2.5, 97.5])
    return Ceiling(kind, float(finite.mean()), float(low), float(high), n_readers, rho, note)


def noise_ceiling_table(
    y,
    group: str,
    measure: str,
    n_boot: int = 1000,
    n_splits: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """The three ceilings of one group and measure as rows of ``noise_ceiling.tsv``.

    Parameters
    ----------
    y : (n_readers, n_pairs) float, NaN = no value (see :func:`leave_one_out_ceiling`).

    Returns
    -------
    pandas.DataFrame
        Three rows, columns :data:`CEILING_COLUMNS`.
    """
    ceilings = [
        leave_one_out_ceiling(y, n_boot=n_boot, seed=seed),
        inclusive_ceiling(y, n_boot=n_boot, seed=seed),
        split_half_ceiling(y, n_splits=n_splits, seed=seed),
    ]
    return pd.DataFrame(
        [
            {
                "group": group,
                "measure": measure,
                "kind": c.kind,
                "value": c.value,
                "interval_low": c.interval_low,
                "interval_high": c.interval_high,
                "n_readers": c.n_readers,
                "note": c.note,
            }
            for c in ceilings
        ],
        columns=CEILING_COLUMNS,
    )
