"""The long table of the relative-importance comparison, and the peers' published numbers.

Every function returns rows of one long table with the columns :data:`COLUMNS`, in order:

``model``
    the model (``baseline`` for word length and frequency; ``human`` for the ceiling).
``corpus, group``
    the reading corpus and the group of readers (``all``, or e.g. ``expert`` and
    ``beginner`` in PoTeC; a comparison row names both: ``expert vs beginner``).
``measure``
    the model measure (``saliency``, ``attention``, ...). A measure with heads,
    ``(layers, heads, n_words)``, gets one row per head for the statistics of single
    values, named ``<measure>/head<h>`` (0-based); its regression rows (all heads of a
    layer together) keep the plain name, and its mixed-model rows use the mean over heads,
    ``<measure>/head_mean``. Baselines: ``word_length`` (letters and digits) and
    ``word_rarity`` (**minus** the Zipf frequency: frequent words are read faster, so
    rarity is the sign that should correlate positively). Ceiling rows name the human
    measure.
``layer``
    0-based layer, empty (NA) for a measure without layers.
``statistic``
    one of :data:`STATISTICS` (below).
``value, interval_low, interval_high``
    the number and its 95 % interval where one is defined (NaN otherwise).
``sentences``
    sentences that entered the number (module docstring of
    :mod:`readalike.relative_importance.statistics`: short, unread and tied sentences are
    left out of rank correlations).
``readers``
    readers that entered the number (for a group comparison: both groups together).
``provenance``
    ``SYNTHETIC``, ``modified`` or ``real`` (:func:`readalike.core.outputs.provenance`); in
    :func:`published_peers_table`, the publication the number comes from. The registered
    table ``relative_importance`` (:mod:`readalike.core.tables`) lists the columns without
    it, since :func:`~readalike.core.outputs.write_tsv` appends it:
    :func:`write_relative_importance` writes rows of these functions that way.

Statistics
----------
``spearman_mean``, ``kendall_mean``
    The peers' score: rho (tau-b) per sentence between the group's mean value of every
    word and the model measure, averaged over sentences. Interval: percentile bootstrap
    over sentences resampled within texts.
``spearman_reader_mean``, ``kendall_reader_mean``
    Each reader's mean over sentences of rho (tau-b) against the model, averaged over
    readers (no reader's quirks are averaged away before correlating). Interval:
    percentile bootstrap over readers; ``sentences`` counts sentences with a value for at
    least one reader.
``permutation_mean``
    mean over shuffles of ``spearman_mean`` with the model's values shuffled within every
    sentence; interval: the 2.5 and 97.5 percentiles of the shuffles.
``permutation_p``, ``permutation_p_holm``
    one-sided p of ``spearman_mean`` against those shuffles,
    ``(1 + #{null >= observed}) / (1 + n)``; Holm-adjusted over every unit (layer, head)
    of the measure in the call.
``mi_knn``
    mutual information (nats) between the group's values and the measure, pooled over
    words: the k-NN (Kraskov et al. 2004) estimator of scikit-learn, k = 3, seeded.
``mi_label_peers``
    the peers' ``mutual_info_score`` with every distinct value as a label: not a valid MI
    estimate for continuous values (close to ``log(n_words)`` whatever the relation; see
    :func:`readalike.relative_importance.statistics.mutual_information_labels_peers`).
``ols_r2_in_sample``, ``ols_r2_heldout``
    R^2 of OLS with intercept of the group's value per word on the heads of one layer,
    in sample and held out by text (leave one text out, or ``n_folds`` folds of texts).
``mixedlm_coef``, ``mixedlm_se``, ``mixedlm_lr``, ``mixedlm_lr_p``
    ``reading ~ measure + length + frequency`` with crossed random intercepts for reader
    and sentence, fitted by ML (z-scored predictors): the measure's coefficient (interval:
    Wald 95 %), its standard error, and the likelihood-ratio statistic and ``chi2(1)`` p
    against the model without the measure; NaN where a fit did not converge.
``noise_ceiling``
    each reader's mean rho against the mean of the other readers, averaged over readers;
    interval: bootstrap over readers. The ceiling of ``spearman_reader_mean`` (a model
    against single readers) and of nothing else: the group mean is less noisy than one
    reader, so ``spearman_mean`` can pass it without beating the readers.
``split_half_reliability``
    the Spearman-Brown reliability of the group mean: readers split at random into halves,
    ``r`` = mean over sentences of rho between the halves' means, ``2 r / (1 + r)``; mean
    over splits, interval: 2.5 and 97.5 percentiles over the splits
    (:func:`readalike.relative_importance.statistics.split_half_reliability`).
``split_half_ceiling``
    ``sqrt`` of ``split_half_reliability`` (and of its interval): the rho with the observed
    group mean of a model that predicts the readers' shared signal exactly. The ceiling of
    ``spearman_mean``.
``group_difference``
    ``mean_a - mean_b`` of the two groups' ``spearman_reader_mean`` samples.
``welch_t``, ``welch_p``, ``welch_p_holm``
    Welch's t of that difference, its p (two-sided unless asked otherwise), and Holm over
    the units (layers, heads) of the measure in the call.
``group_permutation_p``, ``group_permutation_p_holm``
    the label-permutation p of the same difference, and Holm over the same units.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from readalike.core.outputs import provenance, table_provenance, write_tsv
from readalike.core.tables import columns as table_columns
from readalike.relative_importance import statistics as st
from readalike.study_a.inference import holm

#: the long table as the row builders return it: the registered columns and ``provenance``
COLUMNS = [*table_columns("relative_importance"), "provenance"]

STATISTICS = (
    "spearman_mean",
    "kendall_mean",
    "spearman_reader_mean",
    "kendall_reader_mean",
    "permutation_mean",
    "permutation_p",
    "permutation_p_holm",
    "mi_knn",
    "mi_label_peers",
    "ols_r2_in_sample",
    "ols_r2_heldout",
    "mixedlm_coef",
    "mixedlm_se",
    "mixedlm_lr",
    "mixedlm_lr_p",
    "noise_ceiling",
    "split_half_reliability",
    "split_half_ceiling",
    "group_difference",
    "welch_t",
    "welch_p",
    "welch_p_holm",
    "group_permutation_p",
    "group_permutation_p_holm",
)

#: Where :func:`published_peers_table` comes from.
PEERS_SOURCE = (
    "published: Hollenstein and Beinborn (2021), Relative Importance in Sentence "
    "Processing, ACL; Spearman mean over sentences"
)

#: The peers' Spearman correlations (mean over sentences) of relative fixation with model
#: importance: corpus -> measure -> model -> rho.
PEERS = {
    "GECO": {
        "saliency": {"BERT": 0.54, "ALBERT": 0.48, "DistilBERT": 0.51},
        "attention": {"BERT": 0.18, "ALBERT": 0.26, "DistilBERT": 0.06},
    },
    "ZuCo": {
        "saliency": {"BERT": 0.68, "ALBERT": 0.62, "DistilBERT": 0.64},
        "attention": {"BERT": 0.11, "ALBERT": 0.37, "DistilBERT": 0.03},
    },
}


def unit_labels(measure: str, unit_shape: tuple[int, ...]) -> tuple[list[str], np.ndarray]:
    """The ``measure`` and ``layer`` entries of every unit, in C order of ``unit_shape``.

    Returns
    -------
    names : list of n_units str; ``<measure>/head<h>`` for ``(layers, heads)``.
    layers : (n_units,) pandas Int64 array, NA for ``()``.
    """
    if len(unit_shape) == 0:
        return [measure], pd.array([pd.NA], dtype="Int64")
    if len(unit_shape) == 1:
        return [measure] * unit_shape[0], pd.array(np.arange(unit_shape[0]), dtype="Int64")
    layers, heads = unit_shape
    names = [f"{measure}/head{h}" for _ in range(layers) for h in range(heads)]
    return names, pd.array(np.repeat(np.arange(layers), heads), dtype="Int64")


def _column(x, n: int, integer: bool = False):
    """``x`` as a column of ``n`` rows: a scalar repeats, an array is flattened."""
    if x is pd.NA:
        return pd.array([pd.NA] * n, dtype="Int64")
    values = np.asarray(x, dtype=np.int64 if integer else np.float64).ravel()
    values = np.broadcast_to(values, (n,)) if values.size == 1 else values
    return pd.array(values, dtype="Int64") if integer else values


def _frame(
    statistic: str,
    value,
    *,
    names: list[str],
    layers,
    low=np.nan,
    high=np.nan,
    sentences=pd.NA,
    readers=pd.NA,
    **labels: str,
) -> pd.DataFrame:
    """Rows of one statistic over units (:data:`COLUMNS`); labels: model, corpus, group,
    provenance."""
    n = len(names)
    return pd.DataFrame(
        {
            **{k: labels[k] for k in ("model", "corpus", "group")},
            "measure": names,
            "layer": layers,
            "statistic": statistic,
            "value": _column(value, n),
            "interval_low": _column(low, n),
            "interval_high": _column(high, n),
            "sentences": _column(sentences, n, integer=True),
            "readers": _column(readers, n, integer=True),
            "provenance": labels["provenance"],
        }
    )


def _finish(frames: list[pd.DataFrame]) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    table = pd.concat(frames, ignore_index=True)[COLUMNS]
    table["layer"] = table["layer"].astype("Int64")
    table["sentences"] = table["sentences"].astype("Int64")
    table["readers"] = table["readers"].astype("Int64")
    return table


def model_rows(
    human,
    measures: Mapping[str, np.ndarray],
    offsets,
    text_of_sentence,
    *,
    model: str,
    corpus: str,
    group: str,
    word_length=None,
    zipf_frequency=None,
    synthetic: bool | str,
    n_permutations: int = 1000,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    n_folds: int | None = None,
    kendall: bool = True,
    mutual_information: bool = True,
    mixedlm: bool = True,
    mixedlm_max_sentences: int | None = 200,
) -> pd.DataFrame:
    """Every statistic of one (model, corpus, group), for each of the model's measures.

    Parameters
    ----------
    human : (n_readers, n_words) float, the readers' word values (relative fixation),
        NaN where a reader did not read the sentence.
    measures : name -> (*units, n_words) float, units ``()``, ``(layers,)`` or
        ``(layers, heads)``; words in the layout of
        :mod:`readalike.relative_importance.statistics` (flat, sentence ``offsets``).
    offsets : (n_sentences + 1,) int.
    text_of_sentence : (n_sentences,) text of every sentence (bootstrap strata and
        held-out folds).
    word_length, zipf_frequency : (n_words,) float, covariates of the mixed model
        (:func:`~readalike.relative_importance.statistics.word_lengths`,
        :func:`~readalike.relative_importance.statistics.zipf_frequencies`); needed when
        ``mixedlm``.
    synthetic : stamps ``provenance`` (:func:`readalike.core.outputs.provenance`: the run's
        flag, or a stamp such as ``modified``).
    n_permutations, n_boot, seed, confidence : of the permutation baseline and the
        bootstrap intervals.
    n_folds : held-out regression folds of texts; ``None`` for leave one text out.
    kendall, mutual_information, mixedlm : which optional statistics to compute.
    mixedlm_max_sentences : sentences drawn (seeded) for each mixed model (its cost grows
        faster than linearly in sentences); ``None`` for all. One fit per layer.

    Returns
    -------
    pandas.DataFrame with :data:`COLUMNS` (module docstring for the statistics).

    Notes
    -----
    Cost at GECO's size (14 readers, 5,000 sentences, 54k words, 30 layers x 9 heads) on
    this 2-core machine, per measure: rank correlations 2-5 s each, 1,000 shuffles 7 s,
    label MI 6 s, OLS 0.1 s; the k-NN MI about 4 s per 9 units (~2 min for 270), and the
    mixed models about 12 s per layer at 200 sentences (two fits), ~6 min for 30 layers.
    """
    human = st._as_rows(human)
    offsets = np.asarray(offsets, dtype=np.int64)
    labels = {"model": model, "corpus": corpus, "group": group, "provenance": provenance(synthetic)}
    mean = st.group_mean(human, offsets)
    rows = np.vstack([human, mean[None, :]])
    n_readers = int(st.read_mask(human, offsets).any(axis=1).sum())
    mean_sentences = int(st.read_mask(mean[None, :], offsets)[0].sum())
    frames: list[pd.DataFrame] = []
    if mixedlm and (word_length is None or zipf_frequency is None):
        raise ValueError("the mixed model needs word_length and zipf_frequency")
    for measure, values in measures.items():
        values = np.asarray(values, dtype=np.float64)
        unit_shape = values.shape[:-1]
        names, layers = unit_labels(measure, unit_shape)
        unit = {"names": names, "layers": layers, **labels}
        methods = ["spearman", "kendall"] if kendall else ["spearman"]
        for method in methods:
            corr = st.sentence_correlation(rows, values, offsets, method)
            per_row_mean, counts = corr.mean(), corr.count()
            low, high = st.bootstrap_sentence_interval(
                corr.values[-1], text_of_sentence, n_boot, seed, confidence
            )
            frames.append(
                _frame(
                    f"{method}_mean",
                    per_row_mean[-1],
                    low=low,
                    high=high,
                    sentences=counts[-1],
                    readers=n_readers,
                    **unit,
                )
            )
            reader_mean, r_low, r_high, n = st.bootstrap_reader_mean(
                per_row_mean[:-1], n_boot, seed, confidence
            )
            any_reader = np.isfinite(corr.values[:-1]).any(axis=0).sum(axis=0)
            frames.append(
                _frame(
                    f"{method}_reader_mean",
                    reader_mean,
                    low=r_low,
                    high=r_high,
                    sentences=any_reader,
                    readers=n,
                    **unit,
                )
            )
        perm = st.permutation_baseline(mean, values, offsets, n_permutations, seed)
        null_low, null_high = np.percentile(perm.null, [2.5, 97.5], axis=0)
        common = {"sentences": perm.n_sentences, "readers": n_readers, **unit}
        frames += [
            _frame(
                "permutation_mean", perm.null.mean(axis=0), low=null_low, high=null_high, **common
            ),
            _frame("permutation_p", perm.p, **common),
            _frame("permutation_p_holm", holm(perm.p.ravel()), **common),
        ]
        pooled = {"sentences": mean_sentences, "readers": n_readers, **unit}
        if mutual_information:
            frames += [
                _frame("mi_knn", st.mutual_information_knn(mean, values, seed=seed), **pooled),
                _frame(
                    "mi_label_peers", st.mutual_information_labels_peers(mean, values), **pooled
                ),
            ]
        frames += _regression_frames(
            mean, values, offsets, text_of_sentence, n_folds, measure, pooled, labels
        )
        if mixedlm:
            frames += _mixedlm_frames(
                human,
                values,
                word_length,
                zipf_frequency,
                offsets,
                measure,
                labels,
                mixedlm_max_sentences,
                seed,
                confidence,
            )
    return _finish(frames)


def head_regression_rows(
    human,
    attention,
    offsets,
    text_of_sentence,
    *,
    model: str,
    corpus: str,
    group: str,
    synthetic: bool | str,
    n_folds: int | None = None,
) -> pd.DataFrame:
    """Study A's regression alone: the group mean on every head of a layer, per layer.

    The ``ols_r2_in_sample`` and ``ols_r2_heldout`` rows of measure ``attention`` (one per
    layer, the layer's heads as regressors) that :func:`model_rows` makes among every
    other statistic when it is given the per-head attention. Without the per-head rows of
    the other statistics (``corpora.heads: false``) the regression still costs little, so
    it is kept for every layer.

    Parameters
    ----------
    human : (n_readers, n_words) float, NaN where a reader did not read the sentence.
    attention : (layers, heads, n_words) float, the attention each word receives per head.
    offsets, text_of_sentence, n_folds : as in :func:`model_rows`.
    """
    human = st._as_rows(human)
    offsets = np.asarray(offsets, dtype=np.int64)
    attention = np.asarray(attention, dtype=np.float64)
    if attention.ndim != 3:
        raise ValueError(f"attention must be (layers, heads, n_words), got {attention.shape}")
    labels = {"model": model, "corpus": corpus, "group": group, "provenance": provenance(synthetic)}
    mean = st.group_mean(human, offsets)
    pooled = {
        "sentences": int(st.read_mask(mean[None, :], offsets)[0].sum()),
        "readers": int(st.read_mask(human, offsets).any(axis=1).sum()),
    }
    return _finish(
        _regression_frames(
            mean, attention, offsets, text_of_sentence, n_folds, "attention", pooled, labels
        )
    )


def _regression_frames(
    mean, values, offsets, text_of_sentence, n_folds, measure, pooled, labels
) -> list[pd.DataFrame]:
    """OLS rows: one per layer (all heads of the layer as regressors), or one in all."""
    r2, heldout = st.ols_r2(mean, values, offsets, text_of_sentence, n_folds)
    layer_shape = values.shape[:1] if values.ndim > 1 else ()
    names, layers = unit_labels(measure, layer_shape)
    common = {**pooled, "names": names, "layers": layers, **labels}
    return [
        _frame("ols_r2_in_sample", r2, **common),
        _frame("ols_r2_heldout", heldout, **common),
    ]


def _mixedlm_frames(
    human,
    values,
    word_length,
    zipf_frequency,
    offsets,
    measure,
    labels,
    max_sentences,
    seed,
    confidence,
) -> list[pd.DataFrame]:
    """Mixed-model rows: one fit per layer (the heads' mean for a measure with heads)."""
    from scipy.special import ndtri

    if values.ndim == 3:
        per_layer, name = values.mean(axis=1), f"{measure}/head_mean"
    else:
        per_layer, name = values.reshape(-1, values.shape[-1]), measure
    layer_shape = values.shape[:1] if values.ndim > 1 else ()
    names, layers = unit_labels(name, layer_shape)
    fits = [  # one statsmodels fit per layer: each is seconds, the loop costs nothing
        st.mixedlm_measure_test(
            human,
            layer_values,
            word_length,
            zipf_frequency,
            offsets,
            max_sentences=max_sentences,
            seed=seed,
        )
        for layer_values in per_layer
    ]
    ok = np.array([f.converged for f in fits])

    def column(attribute):
        return np.where(ok, np.array([getattr(f, attribute) for f in fits], dtype=float), np.nan)

    coef, se = column("coef"), column("se")
    z = ndtri(0.5 + confidence / 2)
    common = {
        "names": names,
        "layers": layers,
        "sentences": np.array([f.n_sentences for f in fits]),
        "readers": np.array([f.n_readers for f in fits]),
        **labels,
    }
    return [
        _frame("mixedlm_coef", coef, low=coef - z * se, high=coef + z * se, **common),
        _frame("mixedlm_se", se, **common),
        _frame("mixedlm_lr", column("lr"), **common),
        _frame("mixedlm_lr_p", column("p"), **common),
    ]


def baseline_rows(
    human,
    offsets,
    text_of_sentence,
    words,
    lang: str,
    *,
    corpus: str,
    group: str,
    synthetic: bool | str,
    **options,
) -> pd.DataFrame:
    """The word-length and word-rarity baselines, as :func:`model_rows` of model ``baseline``.

    ``word_length`` counts letters and digits; ``word_rarity`` is minus the Zipf frequency
    (``wordfreq``, ``lang`` ``en``, ``de`` or ``ru``), so that both should correlate
    positively with reading time. No mixed model: both are its covariates already.
    ``options`` are passed on to :func:`model_rows`.
    """
    measures = {
        "word_length": st.word_lengths(words).astype(np.float64),
        "word_rarity": st.frequency_baseline(words, lang),
    }
    return model_rows(
        human,
        measures,
        offsets,
        text_of_sentence,
        model="baseline",
        corpus=corpus,
        group=group,
        synthetic=synthetic,
        **{**options, "mixedlm": False},
    )


def noise_ceiling_rows(
    human,
    offsets,
    *,
    corpus: str,
    group: str,
    human_measure: str,
    synthetic: bool | str,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """The readers' ceilings (model ``human``, measure the human measure's name): one
    ``noise_ceiling`` row (leave one reader out, for ``spearman_reader_mean``), one
    ``split_half_reliability`` and one ``split_half_ceiling`` row (for ``spearman_mean``)."""
    ceiling = st.noise_ceiling(human, offsets, n_boot, seed, confidence)
    split = st.split_half_reliability(human, offsets, seed=seed, confidence=confidence)
    per_sentence = st.leave_one_reader_out_spearman(human, offsets)
    n_sentences = int(np.isfinite(per_sentence).any(axis=0).sum())
    unit = {"names": [human_measure], "layers": pd.array([pd.NA], dtype="Int64")}
    labels = {
        "model": "human",
        "corpus": corpus,
        "group": group,
        "provenance": provenance(synthetic),
    }
    return _finish(
        [
            _frame(
                "noise_ceiling",
                ceiling.value,
                low=ceiling.interval_low,
                high=ceiling.interval_high,
                sentences=n_sentences,
                readers=int(np.isfinite(ceiling.samples).sum()),
                **unit,
                **labels,
            ),
            _frame(
                "split_half_reliability",
                split.value,
                low=split.interval_low,
                high=split.interval_high,
                sentences=n_sentences,
                readers=split.n_readers,
                **unit,
                **labels,
            ),
            _frame(
                "split_half_ceiling",
                np.sqrt(np.clip(split.value, 0.0, None)),
                low=np.sqrt(np.clip(split.interval_low, 0.0, None)),
                high=np.sqrt(np.clip(split.interval_high, 0.0, None)),
                sentences=n_sentences,
                readers=split.n_readers,
                **unit,
                **labels,
            ),
        ]
    )


def group_comparison_rows(
    human_a,
    human_b,
    measures: Mapping[str, np.ndarray],
    offsets,
    *,
    model: str,
    corpus: str,
    group_a: str,
    group_b: str,
    synthetic: bool | str,
    n_permutations: int = 10_000,
    seed: int = 0,
    alternative: str = "two-sided",
) -> pd.DataFrame:
    """Do two groups of readers resemble a model differently? One row set per measure.

    Each reader's mean rho over sentences against every unit of the measure is the
    sample; Welch and permutation tests (:func:`readalike.study_a.inference`) compare the
    groups at every unit, Holm-corrected over the units of the measure (all layers, or all
    layers and heads). ``group`` is ``"<group_a> vs <group_b>"``, ``readers`` is
    ``n_a + n_b`` at that unit, and the statistic names carry the correction
    (``welch_p_holm``, ``group_permutation_p_holm``).

    Parameters
    ----------
    human_a, human_b : (n_a, n_words), (n_b, n_words) float, the two groups' readers over
        the same words; NaN = not read.
    measures : name -> (*units, n_words) float.
    """
    labels = {
        "model": model,
        "corpus": corpus,
        "group": f"{group_a} vs {group_b}",
        "provenance": provenance(synthetic),
    }
    frames = []
    for measure, values in measures.items():
        values = np.asarray(values, dtype=np.float64)
        unit_shape = values.shape[:-1]
        names, layers = unit_labels(measure, unit_shape)
        n_units = len(names)
        corr_a = st.sentence_correlation(human_a, values, offsets)
        corr_b = st.sentence_correlation(human_b, values, offsets)
        a = corr_a.mean().reshape(-1, n_units)
        b = corr_b.mean().reshape(-1, n_units)
        result = st.group_comparison(a, b, n_permutations, seed, alternative)
        sentences = (
            np.isfinite(corr_a.values).any(axis=0) | np.isfinite(corr_b.values).any(axis=0)
        ).sum(axis=0)
        common = {
            "names": names,
            "layers": layers,
            "sentences": sentences,
            "readers": result.n_a + result.n_b,
            **labels,
        }
        frames += [
            _frame("group_difference", result.mean_a - result.mean_b, **common),
            _frame("welch_t", result.welch_t, **common),
            _frame("welch_p", result.welch_p, **common),
            _frame("welch_p_holm", result.welch_p_holm, **common),
            _frame("group_permutation_p", result.permutation_p, **common),
            _frame("group_permutation_p_holm", result.permutation_p_holm, **common),
        ]
    return _finish(frames)


def published_peers_table() -> pd.DataFrame:
    """The peers' published ``spearman_mean`` values, with :data:`COLUMNS`.

    Group ``all`` (the peers averaged readers), layer NA, no interval, and the source in
    ``provenance`` (:data:`PEERS_SOURCE`), so the table can sit beside ours.
    """
    records = [
        {
            "model": model,
            "corpus": corpus,
            "group": "all",
            "measure": measure,
            "layer": pd.NA,
            "statistic": "spearman_mean",
            "value": value,
            "interval_low": np.nan,
            "interval_high": np.nan,
            "sentences": pd.NA,
            "readers": pd.NA,
            "provenance": PEERS_SOURCE,
        }
        for corpus, by_measure in PEERS.items()
        for measure, by_model in by_measure.items()
        for model, value in by_model.items()
    ]
    return _finish([pd.DataFrame(records)])


def write_relative_importance(rows: pd.DataFrame, target) -> None:
    """Write rows of this module as the registered ``relative_importance`` table.

    The ``provenance`` column is handed to :func:`readalike.core.outputs.write_tsv` as the
    strongest stamp among the rows (:func:`readalike.core.outputs.table_provenance`), which
    appends it again; the peers' table is not for this file (its provenance is a citation).
    """
    write_tsv(rows.drop(columns="provenance"), target, table_provenance(rows))
