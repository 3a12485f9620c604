"""Tests of readalike.relative_importance.comparison: sentences compared, measures, tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from readalike.core.formats import ReadingCorpus, WordImportance, WordImportanceSet
from readalike.relative_importance import comparison as cp
from readalike.relative_importance import tables as tb

SETTINGS = {
    "n_permutations": 50,
    "n_boot": 50,
    "seed": 0,
    "kendall": False,
    "mutual_information": False,
    "mixedlm": False,
    "mixedlm_max_sentences": None,
    "heads": False,
}


def _corpus(sentences, relfix, groups=None, texts=None) -> ReadingCorpus:
    relfix = np.asarray(relfix, dtype=np.float64)
    readers = [f"r{i}" for i in range(relfix.shape[0])]
    return ReadingCorpus(
        corpus="toy",
        language="en",
        sentences=[tuple(s) for s in sentences],
        texts=np.asarray(texts if texts is not None else range(len(sentences)), dtype=np.int64),
        reader_ids=readers,
        groups=groups or {"all": readers},
        trt=relfix * 1000.0,
        relfix=relfix,
    )


# four sentences: kept, empty word, two words, kept
MIXED = [("a", "b", "c"), ("x", "", "y", "z"), ("p", "q"), ("d", "e", "f", "g")]


def test_comparable_corpus_drops_empty_words_and_short_sentences():
    n_words = sum(map(len, MIXED))
    relfix = np.arange(2 * n_words, dtype=float).reshape(2, n_words)
    kept = cp.comparable_corpus(_corpus(MIXED, relfix, texts=[7, 7, 8, 9]))
    assert kept.sentences == [("a", "b", "c"), ("d", "e", "f", "g")]
    np.testing.assert_array_equal(kept.texts, [7, 9])
    # columns 0-2 (sentence 0) and 9-12 (sentence 3: after 3 + 4 + 2 words)
    columns = [0, 1, 2, 9, 10, 11, 12]
    np.testing.assert_array_equal(kept.relfix, relfix[:, columns])
    np.testing.assert_array_equal(kept.trt, relfix[:, columns] * 1000.0)
    np.testing.assert_array_equal(kept.offsets(), [0, 3, 7])


def test_comparable_corpus_seeded_subset_keeps_corpus_order():
    sentences = [tuple(f"w{s}_{i}" for i in range(3)) for s in range(10)]
    corpus = _corpus(sentences, np.ones((2, 30)) / 3)
    a = cp.comparable_corpus(corpus, max_sentences=4, seed=3)
    b = cp.comparable_corpus(corpus, max_sentences=4, seed=3)
    assert a.sentences == b.sentences and len(a.sentences) == 4
    order = [sentences.index(s) for s in a.sentences]
    assert order == sorted(order)
    assert cp.comparable_corpus(corpus, max_sentences=50).sentences == sentences


def _record(words, surprisal, n_layers=2, n_heads=2) -> WordImportance:
    n = len(words)
    ramp = np.arange(1, n + 1, dtype=np.float32)
    attention = np.stack([np.stack([ramp * (h + 1 + 2 * layer) for h in range(n_heads)])
                          for layer in range(n_layers)])  # fmt: skip
    return WordImportance(
        words=list(words),
        tokens_per_word=np.ones(n, dtype=np.int64),
        attention=attention,
        attention_peers=ramp / ramp.sum(),
        rollout=np.stack([ramp] * n_layers),
        flow=ramp[::-1].copy(),
        norm=None,
        saliency=ramp,
        grad_x_input=-ramp,
        surprisal=np.asarray(surprisal, dtype=np.float32),
    )


def _importance(corpus: ReadingCorpus, surprisals) -> WordImportanceSet:
    records = [_record(s, x) for s, x in zip(corpus.sentences, surprisals, strict=True)]
    return WordImportanceSet(model="stub", sentences=[records])


def test_importance_measures_join_sentences_and_average_heads():
    corpus = _corpus([("a", "b", "c"), ("d", "e", "f", "g")], np.full((1, 7), 0.25))
    measures = cp.importance_measures(_importance(corpus, [[1, 2, 3], [4, 3, 2, 1]]), corpus)
    assert set(measures) == {
        "attention_mean",
        "attention_peers",
        "rollout",
        "flow",
        "saliency",
        "grad_x_input",
        "surprisal",
    }  # no norm: the run had none
    np.testing.assert_array_equal(measures["surprisal"], [1, 2, 3, 4, 3, 2, 1])
    # heads (h + 1 + 2 layer) * ramp: mean over 2 heads = (1.5 + 2 layer) * ramp
    ramp = np.array([1, 2, 3, 1, 2, 3, 4], dtype=float)
    np.testing.assert_allclose(measures["attention_mean"], [1.5 * ramp, 3.5 * ramp])
    assert measures["rollout"].shape == (2, 7)
    with_heads = cp.importance_measures(
        _importance(corpus, [[1, 2, 3], [4, 3, 2, 1]]), corpus, heads=True
    )
    assert with_heads["attention"].shape == (2, 2, 7)


def test_importance_measures_refuse_other_sentences():
    corpus = _corpus([("a", "b", "c")], np.full((1, 3), 1 / 3))
    other = _corpus([("a", "b", "x")], np.full((1, 3), 1 / 3))
    with pytest.raises(ValueError, match="does not hold the sentences of corpus toy"):
        cp.importance_measures(_importance(other, [[1, 2, 3]]), corpus)


@pytest.fixture(scope="module")
def grouped():
    # 6 readers, 4 sentences of 4 words; readers 0-2 ("a") read in surprisal order, readers
    # 3-5 ("b") in reverse order: a's spearman against surprisal is +1 in every sentence
    sentences = [tuple(f"s{s}w{i}" for i in range(4)) for s in range(4)]
    up = np.array([1.0, 2.0, 3.0, 4.0]) / 10
    a_rows = np.tile(up, 4)
    b_rows = np.tile(up[::-1], 4)
    relfix = np.vstack([a_rows + 0.001 * k for k in range(3)] + [b_rows] * 3)
    readers = [f"r{i}" for i in range(6)]
    groups = {"all": readers, "a": readers[:3], "b": readers[3:]}
    corpus = _corpus(sentences, relfix, groups=groups, texts=[0, 0, 1, 1])
    importance = _importance(corpus, [[1, 2, 3, 4]] * 4)
    return corpus, importance


def test_comparison_table_groups_and_hand_checked_values(grouped):
    corpus, importance = grouped
    table = cp.comparison_table(
        corpus,
        importance,
        model="stub",
        settings=SETTINGS,
        group_pairs=[("a", "b")],
        synthetic=True,
    )
    assert list(table.columns) == tb.COLUMNS
    assert set(table["group"]) == {"all", "a", "b", "a vs b"}
    assert set(table["provenance"]) == {"SYNTHETIC"}

    def value(group, statistic, measure="surprisal"):
        rows = table.query("group == @group and statistic == @statistic and measure == @measure")
        return rows["value"].item()

    assert value("a", "spearman_mean") == pytest.approx(1.0)
    assert value("b", "spearman_mean") == pytest.approx(-1.0)
    assert value("a", "spearman_reader_mean") == pytest.approx(1.0)
    # group a agrees (+1 per reader), group b disagrees (-1): the difference is 2
    assert value("a vs b", "group_difference") == pytest.approx(2.0)
    # saliency is the same ramp as surprisal; flow its reverse
    assert value("a", "spearman_mean", "saliency") == pytest.approx(1.0)
    assert value("a", "spearman_mean", "flow") == pytest.approx(-1.0)
    # heads not compared: attention's only rows are the per-head regression, per layer
    heads = table[table["measure"] == "attention"]
    assert set(heads["statistic"]) == {"ols_r2_in_sample", "ols_r2_heldout"}
    assert len(heads) == 2 * 2 * 3  # statistics x layers x groups (not the pair "a vs b")


def test_reference_table_baselines_and_ceilings(grouped):
    corpus, _ = grouped
    table = cp.reference_table(corpus, settings=SETTINGS, synthetic=False)
    assert set(table["provenance"]) == {"real"}
    assert set(table["model"]) == {"baseline", "human"}
    ceilings = table[table["model"] == "human"]
    for group in ("all", "a", "b"):
        statistics = set(ceilings[ceilings["group"] == group]["statistic"])
        assert statistics == {"noise_ceiling", "split_half_reliability", "split_half_ceiling"}
    # within group a the readers agree perfectly in rank: every ceiling is 1
    a = ceilings[ceilings["group"] == "a"].set_index("statistic")["value"]
    assert a.to_dict() == pytest.approx(
        {"noise_ceiling": 1.0, "split_half_reliability": 1.0, "split_half_ceiling": 1.0}
    )
    # the words' names all have 4 characters: length is tied in every sentence (no value)
    length = table.query("measure == 'word_length' and statistic == 'spearman_mean'")
    assert length["value"].isna().all() and (length["sentences"] == 0).all()
    assert pd.api.types.is_integer_dtype(table["readers"])


def test_corpus_importance_with_the_tiny_model(tiny_model):
    pytest.importorskip("torch")
    checkpoint, _ = tiny_model
    corpus = _corpus([("the", "cat", "sat"), ("a", "dog", "ran", "home")], np.full((2, 7), 0.25))
    importance = cp.corpus_importance(str(checkpoint), corpus, model_name="tiny", batch_size=2)
    assert importance.model == "tiny" and len(importance.sentences) == 1
    assert [r.words for r in importance.sentences[0]] == [["the", "cat", "sat"],
                                                          ["a", "dog", "ran", "home"]]  # fmt: skip
    assert importance.attrs["bos_id"] >= 0
    measures = cp.importance_measures(importance, corpus)
    assert all(v.shape[-1] == 7 for v in measures.values())
    assert all(np.isfinite(v).all() for v in measures.values())


def test_shard_indices_interleave_and_cover_every_sentence_once():
    shards = [cp.shard_indices(7, i, 3) for i in range(3)]
    assert [s.tolist() for s in shards] == [[0, 3, 6], [1, 4], [2, 5]]
    assert sorted(np.concatenate(shards).tolist()) == list(range(7))
    assert cp.shard_indices(5, 0, 1).tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="shard 3 is not one of 0..2"):
        cp.shard_indices(7, 3, 3)
    with pytest.raises(ValueError, match="shard 2 of 3 holds no sentence: the corpus has 2"):
        cp.shard_indices(2, 2, 3)


def _sharded(records, n, model="stub"):
    return [
        WordImportanceSet(
            model=model,
            sentences=[[records[k] for k in cp.shard_indices(len(records), i, n)]],
            attrs={"bos": "added", "bos_id": 1, "shard": i, "n_shards": n},
        )
        for i in range(n)
    ]


def test_join_shards_puts_sentences_back_in_corpus_order():
    words = [(f"s{k}", "b", "c") for k in range(7)]
    records = [_record(w, [k, 1, 2]) for k, w in enumerate(words)]
    joined = cp.join_shards(_sharded(records, 3), where="x.h5")
    assert [tuple(r.words) for r in joined.sentences[0]] == words
    assert [float(r.surprisal[0]) for r in joined.sentences[0]] == list(range(7))
    assert joined.attrs == {"bos": "added", "bos_id": 1}
    assert cp.join_shards(_sharded(records, 1)).sentences[0] == records


def test_join_shards_refuses_parts_that_do_not_fit():
    records = [_record((f"a{k}", "b", "c"), [1, 2, 3]) for k in range(5)]
    parts = _sharded(records, 2)
    with pytest.raises(ValueError, match="x.h5: part 0 is shard 1 of 2"):
        cp.join_shards(parts[::-1], where="x.h5")
    with pytest.raises(ValueError, match="x.h5: part 1 is shard 1 of 2 of model 'other'"):
        cp.join_shards([parts[0], _sharded(records, 2, model="other")[1]], where="x.h5")
    short = WordImportanceSet("stub", [parts[1].sentences[0][:1]], attrs=parts[1].attrs)
    with pytest.raises(ValueError, match="x.h5: shard 0 of 2 holds 3 sentences of 4"):
        cp.join_shards([parts[0], short], where="x.h5")
    other_bos = WordImportanceSet(
        "stub", parts[1].sentences, attrs={**parts[1].attrs, "bos": "none"}
    )
    with pytest.raises(ValueError, match="x.h5: part 1 chose another BOS"):
        cp.join_shards([parts[0], other_bos], where="x.h5")
    with pytest.raises(ValueError, match="x.h5: no shard to join"):
        cp.join_shards([], where="x.h5")


def test_corpus_importance_shards_join_to_the_whole_run(tiny_model):
    pytest.importorskip("torch")
    checkpoint, _ = tiny_model
    sentences = [("the", "cat", "sat"), ("a", "dog", "ran", "home"), ("it", "was", "late")]
    corpus = _corpus(sentences, np.full((1, 10), 0.25))
    whole = cp.corpus_importance(str(checkpoint), corpus, model_name="tiny", batch_size=1)
    parts = [
        cp.corpus_importance(str(checkpoint), corpus, model_name="tiny", batch_size=1, shard=(i, 2))
        for i in range(2)
    ]
    assert [len(p.sentences[0]) for p in parts] == [2, 1]
    joined = cp.join_shards(parts)
    for a, b in zip(whole.sentences[0], joined.sentences[0], strict=True):
        assert a.words == b.words
        np.testing.assert_allclose(a.attention, b.attention, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(a.saliency, b.saliency, rtol=1e-4, atol=1e-7)
        np.testing.assert_allclose(a.flow, b.flow, rtol=1e-5, atol=1e-7)


def test_importance_measures_leave_out_surprisal_without_bos(caplog):
    corpus = _corpus([("a", "b", "c"), ("d", "e", "f", "g")], np.full((1, 7), 0.25))
    importance = _importance(corpus, [[np.nan, 2, 3], [np.nan, 3, 2, 1]])
    measures = cp.importance_measures(importance, corpus)
    assert "surprisal" not in measures and "saliency" in measures
    assert "surprisal left out: the model read no BOS token" in caplog.text
    with_bos = cp.importance_measures(_importance(corpus, [[1, 2, 3], [4, 3, 2, 1]]), corpus)
    np.testing.assert_array_equal(with_bos["surprisal"], [1, 2, 3, 4, 3, 2, 1])
