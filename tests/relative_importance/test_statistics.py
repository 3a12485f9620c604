"""Tests of readalike.relative_importance.statistics: rank correlations, baselines, MI,
regressions, mixed models, the noise ceiling and group tests."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from readalike.relative_importance import statistics as st
from readalike.study_a import inference
from readalike.study_a.noise_ceiling import bootstrap_mean


def _one(human, model):
    """One sentence: (n_readers, n) human rows and (n,) model -> flat layout."""
    human = np.atleast_2d(np.asarray(human, dtype=float))
    return human, np.asarray(model, dtype=float), np.array([0, human.shape[1]])


# --------------------------------------------------------------------------- hand-worked
#
# no_ties: human [1, 2, 3, 4], model [10, 30, 20, 40]: model ranks [1, 3, 2, 4], d = [0, -1,
#   1, 0], sum d^2 = 2, rho = 1 - 6 * 2 / (4 * 15) = 0.8. Pairs (i < j): all human signs +;
#   model (1,2)+ (1,3)+ (1,4)+ (2,3)- (2,4)+ (3,4)+: 5 concordant, 1 discordant, tau = 4/6.
# reversed_three: human [3, 1, 2], model [1, 2, 3]: d = [2, -1, -1], sum d^2 = 6,
#   rho = 1 - 36 / 24 = -0.5; pairs (1,2) - vs +, (1,3) - vs +, (2,3) + vs +: tau = -1/3.
# human_tie: human [1, 1, 2] (average ranks [1.5, 1.5, 3], centred [-0.5, -0.5, 1]), model
#   [1, 2, 3] (centred [-1, 0, 1]): rho = 1.5 / sqrt(1.5 * 2) = sqrt(3) / 2. Pairs: (1,2) tied
#   in human, (1,3) and (2,3) concordant: tau_b = 2 / sqrt((3 - 1) * 3) = 2 / sqrt(6).
HAND = [
    pytest.param([1, 2, 3, 4], [10, 30, 20, 40], 0.8, 4 / 6, id="no_ties"),
    pytest.param([3, 1, 2], [1, 2, 3], -0.5, -1 / 3, id="reversed_three"),
    pytest.param([1, 1, 2], [1, 2, 3], math.sqrt(3) / 2, 2 / math.sqrt(6), id="human_tie"),
]


@pytest.mark.parametrize(("human", "model", "rho", "tau"), HAND)
def test_rank_correlations_hand_worked(human, model, rho, tau):
    h, m, offsets = _one(human, model)
    spearman = st.sentence_correlation(h, m, offsets, "spearman")
    kendall = st.sentence_correlation(h, m, offsets, "kendall")
    assert spearman.values.shape == (1, 1)
    assert spearman.values[0, 0] == pytest.approx(rho)
    assert kendall.values[0, 0] == pytest.approx(tau)


def test_mean_over_sentences_hand_worked():
    # sentences: rho 0.8, rho -0.5, two words (left out), a tied model (left out)
    human, offsets = st.pack_sentences(
        [
            np.array([[1.0, 2, 3, 4]]),
            np.array([[3.0, 1, 2]]),
            np.array([[1.0, 2]]),
            np.array([[1.0, 2, 3]]),
        ]  # fmt: skip
    )
    model, _ = st.pack_sentences(
        [
            np.array([10.0, 30, 20, 40]),
            np.array([1.0, 2, 3]),
            np.array([2.0, 1]),
            np.array([5.0, 5, 5]),
        ]  # fmt: skip
    )
    corr = st.sentence_correlation(human, model, offsets)
    np.testing.assert_allclose(corr.values[0], [0.8, -0.5, np.nan, np.nan])
    assert corr.mean()[0] == pytest.approx(0.15)
    assert corr.count()[0] == 2
    np.testing.assert_array_equal(corr.short, [False, False, True, False])
    np.testing.assert_array_equal(corr.constant_model, [False, False, False, True])


UNDEFINED = [
    pytest.param([[1, 2]], [1, 2], "short", id="two_words"),
    pytest.param([[1, 2, 3]], [4, 4, 4], "constant_model", id="constant_model"),
    pytest.param([[2, 2, 2]], [1, 2, 3], "constant_human", id="constant_human"),
    pytest.param([[np.nan] * 3], [1, 2, 3], "unread", id="unread"),
    pytest.param([[1, np.nan, 3]], [1, 2, 3], "unread", id="partially_read"),
]


@pytest.mark.parametrize(("human", "model", "reason"), UNDEFINED)
@pytest.mark.parametrize("method", ["spearman", "kendall"])
def test_undefined_sentences_are_nan_and_counted(human, model, reason, method):
    h, m, offsets = _one(human, model)
    corr = st.sentence_correlation(h, m, offsets, method)
    assert np.isnan(corr.values[0, 0])
    assert corr.count()[0] == 0 and np.isnan(corr.mean()[0])
    flags = {
        "short": corr.short[0],
        "unread": corr.unread[0, 0],
        "constant_human": corr.constant_human[0, 0],
        "constant_model": corr.constant_model[0],
    }
    assert flags[reason]
    assert sum(flags.values()) == 1


def _ragged(rng, n_sentences=25, n_readers=4, units=(3, 2), ties=True):
    lengths = rng.integers(3, 13, n_sentences)
    lengths[:3] = [0, 1, 2]  # empty, one and two words
    draw = (lambda shape: rng.integers(0, 4, shape).astype(float)) if ties else rng.random
    human = [draw((n_readers, n)) for n in lengths]
    model = [draw((*units, n)) for n in lengths]
    human[5][1] = np.nan  # reader 1 did not read sentence 5
    human[6][2, 0] = np.nan  # reader 2 lost a word of sentence 6
    if lengths[7] >= 3:
        model[7][1, 0] = 2.0  # a tied model unit
    h, offsets = st.pack_sentences(human)
    m, _ = st.pack_sentences(model)
    return human, model, h, m, offsets


@pytest.mark.parametrize(
    ("method", "reference"),
    [
        pytest.param("spearman", stats.spearmanr, id="spearman"),
        pytest.param("kendall", stats.kendalltau, id="kendall_tau_b"),
    ],
)
@pytest.mark.parametrize("ties", [True, False], ids=["ties", "no_ties"])
def test_against_scipy_per_sentence(method, reference, ties):
    rng = np.random.default_rng(3)
    human, model, h, m, offsets = _ragged(rng, ties=ties)
    corr = st.sentence_correlation(h, m, offsets, method, chunk_elements=300)  # many chunks
    assert corr.values.shape == (4, len(human), 3, 2)
    expected = np.full(corr.values.shape, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns on constant input and returns NaN
        for s, (hs, ms) in enumerate(zip(human, model, strict=True)):
            if hs.shape[1] < st.MIN_WORDS:
                continue
            for r in range(hs.shape[0]):
                if np.isnan(hs[r]).any():
                    continue
                for layer in range(3):
                    for head in range(2):
                        expected[r, s, layer, head] = reference(hs[r], ms[layer, head])[0]
    np.testing.assert_allclose(corr.values, expected, atol=1e-12)
    whole = st.sentence_correlation(h, m, offsets, method)  # one chunk
    np.testing.assert_allclose(whole.values, corr.values, atol=1e-12)


def test_unit_shapes_are_kept():
    rng = np.random.default_rng(0)
    _, _, h, m, offsets = _ragged(rng)
    full = st.sentence_correlation(h, m, offsets).values
    by_layer = st.sentence_correlation(h, m[:, 0], offsets).values
    single = st.sentence_correlation(h[0], m[1, 1], offsets).values
    np.testing.assert_array_equal(by_layer, full[..., 0])
    np.testing.assert_array_equal(single, full[:1, :, 1, 1])


def test_model_values_must_be_finite():
    h, m, offsets = _one([[1, 2, 3]], [1, np.nan, 3])
    with pytest.raises(ValueError, match="not finite at word 1"):
        st.sentence_correlation(h, m, offsets)


def test_offsets_are_checked():
    with pytest.raises(ValueError, match="offsets"):
        st.sentence_correlation(np.ones((1, 3)), np.ones(3), [0, 2])


# --------------------------------------------------------------------------- layout helpers


def test_pack_group_mean_and_read_mask():
    # reader 2 read only sentence 1; reader 1 lost a word of sentence 0
    human, offsets = st.pack_sentences(
        [
            np.array([[1.0, 2, 3], [3, np.nan, 1], [np.nan] * 3]),
            np.array([[1.0, 3], [3, 1], [2, 2]]),
        ]  # fmt: skip
    )
    np.testing.assert_array_equal(offsets, [0, 3, 5])
    np.testing.assert_array_equal(st.read_mask(human, offsets), [[1, 1], [0, 1], [0, 1]])
    np.testing.assert_allclose(st.group_mean(human, offsets), [1, 2, 3, 2, 2])
    np.testing.assert_array_equal(st.sentence_of_word(offsets), [0, 0, 0, 1, 1])


# --------------------------------------------------------------------------- permutation


def test_permutation_single_sentence_by_hand():
    # h = m = [1, 2, 3]: observed rho 1; the 6 orders give rho 1, 0.5, 0.5, -0.5, -0.5, -1,
    # so P(null >= 1) = 1/6 and p = (1 + #{null >= 1}) / (1 + n)
    h, m, offsets = _one([[1, 2, 3]], [1, 2, 3])
    result = st.permutation_baseline(h[0], m, offsets, n_permutations=3000, seed=1)
    assert result.observed == pytest.approx(1.0)
    assert set(np.round(result.null, 12)) <= {1.0, 0.5, -0.5, -1.0}
    hits = np.sum(result.null >= 1.0 - 1e-12)
    assert result.p == pytest.approx((1 + hits) / 3001)
    assert result.p == pytest.approx(1 / 6, abs=0.03)
    assert result.null.mean() == pytest.approx(0.0, abs=0.05)
    assert result.n_sentences == 1


def test_permutation_null_is_model_shuffled_within_sentences():
    rng = np.random.default_rng(5)
    _, _, h, m, offsets = _ragged(rng)
    mean = st.group_mean(h, offsets)
    n_perm = 5
    result = st.permutation_baseline(mean, m, offsets, n_permutations=n_perm, seed=9)
    observed = st.sentence_correlation(mean, m, offsets)
    np.testing.assert_allclose(result.observed, observed.mean()[0], atol=1e-12)
    np.testing.assert_array_equal(result.n_sentences, observed.count()[0])
    # the same shuffles, drawn again: the human side permuted equals the model side
    # permuted by the inverse
    order = st.within_sentence_permutations(offsets, n_perm, np.random.default_rng(9))
    for k in range(n_perm):
        inverse = np.argsort(order[k])
        by_model = st.sentence_correlation(mean, m[..., inverse], offsets).mean()[0]
        by_human = st.sentence_correlation(mean[order[k]], m, offsets).mean()[0]
        np.testing.assert_allclose(result.null[k], by_model, atol=1e-12)
        np.testing.assert_allclose(result.null[k], by_human, atol=1e-12)
    again = st.permutation_baseline(mean, m, offsets, n_permutations=n_perm, seed=9)
    np.testing.assert_array_equal(again.null, result.null)


def test_permutations_stay_within_sentences():
    offsets = np.array([0, 3, 3, 7, 8])
    order = st.within_sentence_permutations(offsets, 50, np.random.default_rng(0))
    sentence = st.sentence_of_word(offsets)
    assert (sentence[order] == sentence[None, :]).all()
    assert (np.sort(order, axis=1) == np.arange(8)).all()


def test_permutation_p_is_small_for_a_real_relation():
    rng = np.random.default_rng(2)
    signal = [rng.random(8) for _ in range(30)]
    h, offsets = st.pack_sentences(signal)
    m, _ = st.pack_sentences([s + rng.normal(0, 0.1, 8) for s in signal])
    result = st.permutation_baseline(h, m, offsets, n_permutations=200, seed=0)
    assert result.p == pytest.approx(1 / 201)


# --------------------------------------------------------------------------- word baselines


@pytest.mark.parametrize(
    ("word", "length"),
    [
        pytest.param("house", 5, id="plain"),
        pytest.param("said,", 4, id="trailing_comma"),
        pytest.param("don't", 4, id="apostrophe"),
        pytest.param("Straße", 6, id="german"),
        pytest.param("дом.", 3, id="russian"),
        pytest.param("—", 1, id="punctuation_only"),
    ],
)
def test_word_lengths(word, length):
    assert st.word_lengths([word])[0] == length


@pytest.mark.parametrize(
    ("frequent", "rare", "lang"),
    [
        pytest.param("the", "aardvark", "en", id="en"),
        pytest.param("und", "Erdferkel", "de", id="de"),
        pytest.param("и", "трубкозуб", "ru", id="ru"),
    ],
)
def test_zipf_and_frequency_baseline_sign(frequent, rare, lang):
    import wordfreq

    zipf = st.zipf_frequencies([frequent, rare, frequent], lang)
    assert zipf[0] == wordfreq.zipf_frequency(frequent, lang) == zipf[2]
    assert zipf[0] > zipf[1]
    rarity = st.frequency_baseline([frequent, rare], lang)
    np.testing.assert_array_equal(rarity, -zipf[:2])
    assert rarity[1] > rarity[0]  # the rare word gets the higher baseline value


def test_unknown_language_is_refused():
    with pytest.raises(ValueError, match="lang"):
        st.zipf_frequencies(["huis"], "xx")


# --------------------------------------------------------------------------- mutual information


LABEL_MI = [
    # every value distinct: each word its own class, MI = H = log n whatever the relation
    pytest.param([0.1, 0.2, 0.3, 0.4], [5.0, 6.0, 7.0, 8.0], math.log(4), id="distinct_log_n"),
    pytest.param([0.1, 0.2, 0.3, 0.4], [8.0, 5.0, 7.0, 6.0], math.log(4), id="shuffled_same"),
    # two classes each, independent: the 2 x 2 table is all ones
    pytest.param([1.0, 1.0, 2.0, 2.0], [3.0, 4.0, 3.0, 4.0], 0.0, id="independent_classes"),
    # two classes each, identical: MI = H = log 2
    pytest.param([1.0, 1.0, 2.0, 2.0], [7.0, 7.0, 9.0, 9.0], math.log(2), id="same_classes"),
]


@pytest.mark.parametrize(("human", "model", "expected"), LABEL_MI)
def test_label_mi_hand_worked(human, model, expected):
    got = st.mutual_information_labels_peers(np.array(human), np.array(model))
    assert got == pytest.approx(expected, abs=1e-12)


@pytest.mark.filterwarnings("ignore:Clustering metrics expects discrete values")
def test_label_mi_equals_sklearn_per_unit():
    from sklearn.metrics import mutual_info_score

    rng = np.random.default_rng(1)
    human = np.round(rng.random(300), 1)
    model = np.round(rng.random((4, 3, 300)) + human, 1)
    human[:5] = np.nan  # unread words are left out
    got = st.mutual_information_labels_peers(human, model)
    keep = np.isfinite(human)
    expected = np.array(
        [[mutual_info_score(human[keep], model[i, j, keep]) for j in range(3)] for i in range(4)]
    )
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_knn_mi_equals_sklearn_and_the_gaussian_value():
    from sklearn.feature_selection import mutual_info_regression

    rng = np.random.default_rng(0)
    rho = 0.8
    x = rng.normal(size=2000)
    y = rho * x + math.sqrt(1 - rho**2) * rng.normal(size=2000)
    model = np.stack([x, rng.normal(size=2000)])  # related, independent
    got = st.mutual_information_knn(y, model, seed=4)
    direct = mutual_info_regression(model.T, y, n_neighbors=3, random_state=4)
    np.testing.assert_allclose(got, direct)
    assert got[0] == pytest.approx(-0.5 * math.log(1 - rho**2), abs=0.05)
    assert got[1] == pytest.approx(0.0, abs=0.03)
    # the label score cannot tell them apart: every value is distinct on both sides
    peers = st.mutual_information_labels_peers(y, model)
    np.testing.assert_allclose(peers, math.log(2000))


# --------------------------------------------------------------------------- regression


def test_ols_hand_worked():
    # x [0, 1, 2, 3], y [1, 3, 2, 4]: Sxy = 4, Sxx = Syy = 5, R^2 = 16 / 25 = 0.64.
    # Text A (x 0, 1) gives y = 1 + 2x, predicting text B [5, 7] for [2, 4]: SSE 18; text B
    # gives y = -2 + 2x, predicting A [-2, 0] for [1, 3]: SSE 18. Held out: 1 - 36 / 5.
    y = np.array([1.0, 3, 2, 4])
    x = np.array([0.0, 1, 2, 3])
    offsets = np.array([0, 2, 4])
    r2, heldout = st.ols_r2(y, x, offsets, ["A", "B"])
    assert r2 == pytest.approx(0.64)
    assert heldout == pytest.approx(1 - 36 / 5)


def _lstsq_r2(x, y):
    design = np.column_stack([np.ones(len(y)), x])
    beta = np.linalg.lstsq(design, y, rcond=None)[0]
    return 1 - ((y - design @ beta) ** 2).sum() / ((y - y.mean()) ** 2).sum()


@pytest.mark.parametrize("n_folds", [None, 2], ids=["leave_one_text_out", "two_folds"])
def test_ols_against_lstsq(n_folds):
    rng = np.random.default_rng(7)
    lengths = rng.integers(3, 9, 12)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    n = offsets[-1]
    model = rng.random((3, 4, n))  # layers x heads
    y = model[1].T @ np.array([1.0, -0.5, 0.2, 0.0]) + rng.normal(0, 0.3, n)
    y[offsets[4] : offsets[5]] = np.nan  # a sentence nobody read
    text = np.array(["c", "a", "b", "c", "a", "b", "d", "d", "a", "b", "c", "d"])
    r2, heldout = st.ols_r2(y, model, offsets, text, n_folds=n_folds)
    keep = np.isfinite(y)
    text_code = np.unique(text, return_inverse=True)[1]
    fold = text_code if n_folds is None else text_code % n_folds
    fold_of_word = fold[st.sentence_of_word(offsets)]
    for layer in range(3):
        x, yy, f = model[layer].T[keep], y[keep], fold_of_word[keep]
        assert r2[layer] == pytest.approx(_lstsq_r2(x, yy))
        sse = 0.0
        for k in np.unique(f):
            train, test = f != k, f == k
            design = np.column_stack([np.ones(train.sum()), x[train]])
            beta = np.linalg.lstsq(design, yy[train], rcond=None)[0]
            sse += ((yy[test] - np.column_stack([np.ones(test.sum()), x[test]]) @ beta) ** 2).sum()
        assert heldout[layer] == pytest.approx(1 - sse / ((yy - yy.mean()) ** 2).sum())


def test_ols_one_value_per_layer_and_single_text():
    rng = np.random.default_rng(1)
    offsets = np.array([0, 5, 10])
    model = rng.random((2, 10))
    y = rng.random(10)
    r2, heldout = st.ols_r2(y, model, offsets, ["a", "a"])
    assert r2.shape == (2,) and np.isnan(heldout).all()
    assert r2[1] == pytest.approx(stats.pearsonr(model[1], y)[0] ** 2)


# --------------------------------------------------------------------------- mixed model


def _reading_data(seed=0, effect=0.4, n_readers=6, n_sentences=15, n_words=5):
    rng = np.random.default_rng(seed)
    n = n_sentences * n_words
    offsets = np.arange(0, n + 1, n_words)
    measure = rng.normal(size=n)
    length = rng.integers(1, 12, n).astype(float)
    frequency = rng.normal(5, 1, n)
    sentence_effect = np.repeat(rng.normal(0, 0.5, n_sentences), n_words)
    reader_effect = rng.normal(0, 0.7, (n_readers, 1))
    rt = (
        effect * measure + 0.1 * length - 0.2 * frequency + sentence_effect + reader_effect
        + rng.normal(0, 1, (n_readers, n))
    )  # fmt: skip
    rt[2, offsets[3] : offsets[4]] = np.nan  # a sentence reader 2 did not read
    return rt, measure, length, frequency, offsets


def test_mixedlm_against_statsmodels_directly():
    from statsmodels.regression.mixed_linear_model import MixedLM

    rt, measure, length, frequency, offsets = _reading_data()
    result = st.mixedlm_measure_test(rt, measure, length, frequency, offsets)

    # the same model written out by hand: long format, z-scored predictors, one group
    reader, word = np.nonzero(np.isfinite(rt))
    frame = pd.DataFrame(
        {
            "y": rt[reader, word],
            "measure": measure[word],
            "length": length[word],
            "frequency": frequency[word],
            "reader": reader,
            "sentence": word // 5,
            "one": 1,
        }
    )
    for c in ("measure", "length", "frequency"):
        frame[c] = (frame[c] - frame[c].mean()) / frame[c].std()
    vc = {"reader": "0 + C(reader)", "sentence": "0 + C(sentence)"}
    fits = {}
    for name, formula in [("full", "y ~ measure + length + frequency"),
                          ("base", "y ~ length + frequency")]:  # fmt: skip
        model = MixedLM.from_formula(
            formula, data=frame, groups="one", re_formula="0", vc_formula=vc
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fits[name] = model.fit(reml=False, method="powell")
    full, base = fits["full"], fits["base"]
    assert result.n_obs == len(frame) == 6 * 75 - 5
    assert (result.n_readers, result.n_sentences) == (6, 15)
    assert result.coef == pytest.approx(full.fe_params["measure"], rel=1e-5)
    assert result.se == pytest.approx(full.bse_fe["measure"], rel=1e-4)
    assert result.llf_full == pytest.approx(full.llf, abs=1e-6)
    assert result.llf_baseline == pytest.approx(base.llf, abs=1e-6)
    assert result.lr == pytest.approx(2 * (full.llf - base.llf), abs=1e-5)
    assert result.p == pytest.approx(stats.chi2.sf(result.lr, 1))
    assert result.converged
    # the measure (0.4 per unit, sd 1) is found
    assert result.coef == pytest.approx(0.4, abs=0.15) and result.p < 1e-6


def test_mixedlm_without_effect_is_not_significant():
    rt, measure, length, frequency, offsets = _reading_data(seed=3, effect=0.0)
    result = st.mixedlm_measure_test(rt, measure, length, frequency, offsets)
    assert result.p > 0.01
    assert abs(result.coef) < 3 * result.se


def test_mixedlm_frame_standardises_and_subsamples():
    rt, measure, length, frequency, offsets = _reading_data()
    frame = st.mixedlm_frame(rt, measure, length, frequency, offsets, max_sentences=4, seed=1)
    assert frame["sentence"].nunique() == 4
    np.testing.assert_allclose(frame[["measure", "length", "frequency"]].mean(), 0, atol=1e-12)
    np.testing.assert_allclose(frame[["measure", "length", "frequency"]].std(), 1)
    again = st.mixedlm_frame(rt, measure, length, frequency, offsets, max_sentences=4, seed=1)
    pd.testing.assert_frame_equal(frame, again)


# --------------------------------------------------------------------------- noise ceiling

# Sentence 0 (3 words): R0 [1, 2, 3], R1 [1, 3, 2], R2 [3, 2, 1].
#   R0 vs (R1 + R2) / 2 = [2, 2.5, 1.5] (ranks [2, 3, 1]): rho = -0.5.
#   R1 vs (R0 + R2) / 2 = [2, 2, 2]: tied, NaN.
#   R2 vs (R0 + R1) / 2 = [1, 2.5, 2.5] (centred ranks [-1, .5, .5]) against R2's centred
#   [1, 0, -1]: -1.5 / sqrt(1.5 * 2) = -sqrt(3) / 2.
# Sentence 1 (4 words): R0 [1, 2, 3, 4], R1 [2, 1, 3, 4], R2 [1, 2, 4, 3].
#   R0 vs [1.5, 1.5, 3.5, 3.5]: centred [-1.5, -.5, .5, 1.5] . [-1, -1, 1, 1] = 4, norms^2 5
#   and 4: 4 / sqrt(20).
#   R1 vs [1, 2, 3.5, 3.5] (centred [-1.5, -.5, 1, 1]) and R1 centred [-.5, -1.5, .5, 1.5]:
#   3.5 / sqrt(5 * 4.5); R2 vs [1.5, 1.5, 3, 4] likewise 3.5 / sqrt(22.5).
CEILING_HUMAN = [
    np.array([[1.0, 2, 3], [1, 3, 2], [3, 2, 1]]),
    np.array([[1.0, 2, 3, 4], [2, 1, 3, 4], [1, 2, 4, 3]]),
]
CEILING_RHO = np.array(
    [
        [-0.5, 4 / math.sqrt(20)],
        [np.nan, 3.5 / math.sqrt(22.5)],
        [-math.sqrt(3) / 2, 3.5 / math.sqrt(22.5)],
    ]  # fmt: skip
)


def test_leave_one_reader_out_hand_worked():
    human, offsets = st.pack_sentences(CEILING_HUMAN)
    np.testing.assert_allclose(st.leave_one_reader_out_spearman(human, offsets), CEILING_RHO)
    ceiling = st.noise_ceiling(human, offsets, n_boot=500, seed=2)
    per_reader = np.nanmean(CEILING_RHO, axis=1)
    np.testing.assert_allclose(ceiling.samples, per_reader)
    assert ceiling.value == pytest.approx(per_reader.mean())
    _, low, high = bootstrap_mean(per_reader, 500, 2, 0.95)
    assert (ceiling.interval_low, ceiling.interval_high) == pytest.approx((low, high))
    assert ceiling.kind == "leave_one_reader_out_spearman" and ceiling.n_readers == 3


def test_leave_one_reader_out_against_scipy():
    rng = np.random.default_rng(4)
    human, _, h, _, offsets = _ragged(rng, n_readers=5)
    got = st.leave_one_reader_out_spearman(h, offsets)
    read = st.read_mask(h, offsets)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for s, hs in enumerate(human):
            for r in range(5):
                others = [o for o in range(5) if o != r and read[o, s]]
                if hs.shape[1] < 3 or not read[r, s] or not others:
                    assert np.isnan(got[r, s])
                    continue
                expected = stats.spearmanr(hs[r], hs[others].mean(axis=0))[0]
                np.testing.assert_allclose(got[r, s], expected, atol=1e-12)


def test_split_half_reliability_hand_worked():
    # four readers; readers 0, 1 rank the words 1 < 2 < 3 < 4, readers 2, 3 the reverse
    # in sentence 1 and the same in sentence 0. Every split into two pairs: either {0,1} vs
    # {2,3} (sentence 0: rho 1; sentence 1: rho -1; r = 0, rho_SB = 0) or mixed pairs,
    # whose means are ties in sentence 1 (NaN, left out) and identical in sentence 0
    # (r = 1, rho_SB = 1).
    up, down = [1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0]
    sentences = [np.array([up, up, up, up]), np.array([up, up, down, down])]
    human, offsets = st.pack_sentences(sentences)
    split = st.split_half_reliability(human, offsets, n_splits=60, seed=1)
    assert set(np.round(split.samples, 12)) <= {0.0, 1.0}
    assert split.value == pytest.approx(split.samples.mean())
    assert split.kind == "split_half_spearman_brown" and split.n_readers == 4
    # identical readers: every split agrees perfectly
    same, offsets = st.pack_sentences([np.array([up] * 4), np.array([[2.0, 1.0, 3.0]] * 4)])
    assert st.split_half_reliability(same, offsets, n_splits=5).value == pytest.approx(1.0)


def test_split_half_needs_three_readers():
    human, offsets = st.pack_sentences([c[:2] for c in CEILING_HUMAN])
    split = st.split_half_reliability(human, offsets)
    assert np.isnan(split.value) and "at least 3" in split.note


def test_ceiling_needs_three_readers():
    human, offsets = st.pack_sentences([c[:2] for c in CEILING_HUMAN])
    ceiling = st.noise_ceiling(human, offsets)
    assert np.isnan(ceiling.value) and "at least 3" in ceiling.note


# --------------------------------------------------------------------------- intervals


def test_reader_bootstrap_equals_study_a_draws():
    values = np.array([0.1, 0.4, 0.35, 0.2, 0.5])
    mean, low, high, n = st.bootstrap_reader_mean(values[:, None], n_boot=400, seed=3)
    expected = bootstrap_mean(values, 400, 3, 0.95)
    np.testing.assert_allclose([mean[0], low[0], high[0]], expected)
    assert n[0] == 5


def test_reader_bootstrap_leaves_out_missing_readers():
    values = np.array([[0.1, 0.1], [0.3, np.nan], [0.5, 0.5]])
    mean, low, high, n = st.bootstrap_reader_mean(values, n_boot=300, seed=0)
    np.testing.assert_allclose(mean, [0.3, 0.3])
    np.testing.assert_array_equal(n, [3, 2])
    assert 0.1 <= low[1] <= high[1] <= 0.5


def test_sentence_bootstrap_against_a_loop():
    rng = np.random.default_rng(0)
    values = rng.random((12, 2))
    values[3, 1] = np.nan
    text = np.repeat(["x", "y", "z"], 4)
    low, high = st.bootstrap_sentence_interval(values, text, n_boot=200, seed=5)
    counts = inference.sentence_counts(np.repeat([0, 1, 2], 4), 200, 5)
    means = np.array(
        [
            [np.nansum(c * values[:, u]) / np.sum(c * np.isfinite(values[:, u])) for u in range(2)]
            for c in counts
        ]  # fmt: skip
    )
    np.testing.assert_allclose(low, np.percentile(means, 2.5, axis=0))
    np.testing.assert_allclose(high, np.percentile(means, 97.5, axis=0))


# --------------------------------------------------------------------------- groups


def test_group_comparison_against_scipy_and_holm():
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(8)
    a = rng.normal(0.3, 0.05, (7, 4)) + np.array([0.0, 0.02, 0.05, 0.1])
    b = rng.normal(0.3, 0.07, (9, 4))
    result = st.group_comparison(a, b, n_permutations=2000, seed=1)
    welch = stats.ttest_ind(a, b, equal_var=False)
    np.testing.assert_allclose(result.welch_t, welch.statistic)
    np.testing.assert_allclose(result.welch_p, welch.pvalue)
    np.testing.assert_allclose(result.welch_p_holm, multipletests(welch.pvalue, method="holm")[1])
    perm = inference.permutation_test_mean_difference(a, b, 2000, 1, alternative="two-sided")
    np.testing.assert_array_equal(result.permutation_p, perm.p)
    np.testing.assert_allclose(result.permutation_p_holm, multipletests(perm.p, method="holm")[1])
    np.testing.assert_allclose(result.mean_a - result.mean_b, result.permutation_difference)
    one_sided = st.group_comparison(a, b, n_permutations=200, alternative="greater")
    greater = stats.ttest_ind(a, b, equal_var=False, alternative="greater")
    np.testing.assert_allclose(one_sided.welch_p, greater.pvalue)
    np.testing.assert_array_equal(result.n_a, 7)
