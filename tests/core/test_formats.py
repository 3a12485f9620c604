import h5py
import numpy as np
import pytest

from readalike.core.formats import (
    ATTENTION_FORMAT,
    AttentionSet,
    ReaderMatrices,
    SaccadeSet,
    attention_lengths,
    attention_shape,
    check_distinct_readers,
    check_reader_lengths,
    check_same_lengths,
    iter_attention,
    read_attention,
    read_saccades,
    sentence_key,
    write_attention,
    write_saccades,
)

LENGTHS = [[2, 3], [4]]


def _attention(lengths=LENGTHS, layers=3, heads=2, seed=0) -> AttentionSet:
    rng = np.random.default_rng(seed)
    sentences = [
        [rng.random((layers, heads, n, n)).astype(np.float16) for n in article]
        for article in lengths
    ]
    return AttentionSet("m", "plain", sentences, source="test", attrs={"extra": 7})


def _saccades(lengths=LENGTHS, seed=1) -> SaccadeSet:
    rng = np.random.default_rng(seed)
    measures = {
        measure: [[rng.random((n, n)) * scale for n in article] for article in lengths]
        for measure, scale in (("num", 1.0), ("dur", 250.0))
    }
    return SaccadeSet(
        group="L2",
        n_readers=24,
        source="simulated",
        synthetic=True,
        measures=measures,
        readers_per_sentence=[[24, 23], [22]],
    )


def _files(tmp_path) -> list[str]:
    return sorted(p.name for p in tmp_path.iterdir())


def test_sentence_key():
    assert sentence_key(3, 12) == "article_003/sentence_012"


def test_attention_round_trip_is_exact(tmp_path):
    att = _attention()
    write_attention(tmp_path / "a.h5", att)
    back = read_attention(tmp_path / "a.h5")
    assert (back.model, back.condition, back.source) == ("m", "plain", "test")
    assert (back.n_layers, back.n_heads) == (3, 2)
    assert back.lengths() == LENGTHS
    assert back.attrs["format"] == ATTENTION_FORMAT
    assert back.attrs["extra"] == 7
    for article, article_back in zip(att.sentences, back.sentences, strict=True):
        for m, m_back in zip(article, article_back, strict=True):
            assert m_back.dtype == np.float16
            np.testing.assert_array_equal(m_back, m)
    assert attention_shape(tmp_path / "a.h5") == (3, 2)
    assert _files(tmp_path) == ["a.h5"]


def test_consuming_write_empties_the_set_and_writes_the_same_file(tmp_path):
    kept, consumed = _attention(), _attention()
    write_attention(tmp_path / "kept.h5", kept)
    write_attention(tmp_path / "consumed.h5", consumed, consume=True)
    # every sentence dropped from the set once written: the caller holds one copy, not two
    assert consumed.sentences == [[None, None], [None]]
    a, b = read_attention(tmp_path / "kept.h5"), read_attention(tmp_path / "consumed.h5")
    assert b.lengths() == LENGTHS and b.attrs["extra"] == 7
    for m, m_back in zip(_sentences(a), _sentences(b), strict=True):
        np.testing.assert_array_equal(m_back, m)


def _sentences(attention: AttentionSet) -> list[np.ndarray]:
    return [m for article in attention.sentences for m in article]


def test_attention_read_one_sentence_at_a_time(tmp_path):
    att = _attention()
    write_attention(tmp_path / "a.h5", att)
    assert attention_lengths(tmp_path / "a.h5") == LENGTHS
    got = list(iter_attention(tmp_path / "a.h5"))
    assert [(a, s) for a, s, _ in got] == [(0, 0), (0, 1), (1, 0)]
    for (_, _, m_back), m in zip(got, _sentences(att), strict=True):
        np.testing.assert_array_equal(m_back, m)


def test_attention_read_one_sentence_at_a_time_refuses_nan(tmp_path):
    write_attention(tmp_path / "a.h5", _attention())
    with h5py.File(tmp_path / "a.h5", "r+") as f:
        f[sentence_key(0, 1)][0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"a\.h5: article 0 sentence 1: attention holds NaN"):
        list(iter_attention(tmp_path / "a.h5"))


def test_attention_reads_a_block_of_layers(tmp_path):
    att = _attention()
    write_attention(tmp_path / "a.h5", att)
    back = read_attention(tmp_path / "a.h5", layers=slice(1, 3))
    np.testing.assert_array_equal(back.sentences[1][0], att.sentences[1][0][1:3])


def test_saccades_round_trip_is_exact(tmp_path):
    sac = _saccades()
    write_saccades(tmp_path / "s.h5", sac)
    back = read_saccades(tmp_path / "s.h5")
    assert (back.group, back.n_readers, back.source, back.synthetic) == (
        "L2",
        24,
        "simulated",
        True,
    )
    assert back.readers_per_sentence == [[24, 23], [22]]
    assert set(back.measures) == {"num", "dur"}
    for measure in ("num", "dur"):
        for article, article_back in zip(
            sac.measures[measure], back.measures[measure], strict=True
        ):
            for m, m_back in zip(article, article_back, strict=True):
                assert m_back.dtype == np.float64
                np.testing.assert_array_equal(m_back, m)
    with h5py.File(tmp_path / "s.h5") as f:
        dset = f["dur/" + sentence_key(0, 1)]
        assert (dset.attrs["group"], dset.attrs["n_readers"]) == ("L2", 23)


def test_saccades_without_readers_per_sentence_use_n_readers(tmp_path):
    sac = _saccades()
    sac.readers_per_sentence = None
    sac.synthetic = False
    write_saccades(tmp_path / "s.h5", sac)
    back = read_saccades(tmp_path / "s.h5", ["num"])
    assert back.readers_per_sentence == [[24, 24], [24]]
    assert back.synthetic is False
    assert list(back.measures) == ["num"]


def test_unknown_measure_is_named(tmp_path):
    write_saccades(tmp_path / "s.h5", _saccades())
    with pytest.raises(ValueError, match=r"s\.h5: no measure 'fix'"):
        read_saccades(tmp_path / "s.h5", ["fix"])


def test_nan_in_attention_names_article_and_sentence(tmp_path):
    att = _attention()
    att.sentences[1][0][2, 1, 3, 0] = np.nan
    with pytest.raises(ValueError, match=r"a\.h5: article 1 sentence 0: .*'m'.*NaN"):
        write_attention(tmp_path / "a.h5", att)
    assert _files(tmp_path) == []


def test_nan_in_saccades_names_group_measure_article_sentence(tmp_path):
    sac = _saccades()
    sac.measures["dur"][0][1][2, 2] = np.inf
    with pytest.raises(ValueError, match="group L2 measure dur article 0 sentence 1"):
        write_saccades(tmp_path / "s.h5", sac)
    assert _files(tmp_path) == []


def test_nan_on_disk_is_found_by_the_reader(tmp_path):
    write_attention(tmp_path / "a.h5", _attention())
    with h5py.File(tmp_path / "a.h5", "r+") as f:
        dset = f[sentence_key(0, 1)]
        values = dset[()]
        values[0, 0, 1, 1] = np.nan
        dset[...] = values
    with pytest.raises(ValueError, match=r"a\.h5: article 0 sentence 1: .*NaN"):
        read_attention(tmp_path / "a.h5")


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(np.zeros((2, 3, 3), np.float16), id="three-axes"),
        pytest.param(np.zeros((3, 1, 3, 3), np.float16), id="other-head-count"),
        pytest.param(np.zeros((3, 2, 3, 2), np.float16), id="not-square"),
    ],
)
def test_wrong_attention_shape_is_refused(tmp_path, bad):
    att = _attention()
    att.sentences[0][1] = bad
    with pytest.raises(ValueError, match=r"article 0 sentence 1: attention of shape"):
        write_attention(tmp_path / "a.h5", att)
    assert _files(tmp_path) == []


def test_wrong_saccade_shape_is_refused(tmp_path):
    sac = _saccades()
    sac.measures["dur"][1][0] = np.zeros((3, 3))
    with pytest.raises(ValueError, match=r"measure dur article 1 sentence 0: .*expected \(4, 4\)"):
        write_saccades(tmp_path / "s.h5", sac)


def test_reading_the_other_format_names_the_file(tmp_path):
    write_attention(tmp_path / "a.h5", _attention())
    write_saccades(tmp_path / "s.h5", _saccades())
    with pytest.raises(ValueError, match=r"a\.h5: not a readalike\.saccades/1 file"):
        read_saccades(tmp_path / "a.h5")
    with pytest.raises(ValueError, match=r"s\.h5: not a readalike\.attention/1 file"):
        read_attention(tmp_path / "s.h5")
    with pytest.raises(ValueError, match=r"s\.h5: not a readalike\.attention/1 file"):
        attention_shape(tmp_path / "s.h5")


def test_missing_sentence_is_named(tmp_path):
    write_attention(tmp_path / "a.h5", _attention())
    with h5py.File(tmp_path / "a.h5", "r+") as f:
        del f[sentence_key(0, 1)]
    with pytest.raises(ValueError, match="article 0 sentence 1 is missing"):
        read_attention(tmp_path / "a.h5")


@pytest.mark.parametrize(
    ("found", "message"),
    [
        pytest.param(
            [[2, 3], [5]], "found.h5: article 1 sentence 0 has 5 words, exp.h5 has 4", id="words"
        ),
        pytest.param(
            [[2, 3, 4], [4]], "found.h5: article 0 has 3 sentences, exp.h5 has 2", id="sentences"
        ),
        pytest.param([[2, 3]], "found.h5 has 1 articles, exp.h5 has 2", id="articles"),
    ],
)
def test_check_same_lengths_names_both_files(found, message):
    with pytest.raises(ValueError) as err:
        check_same_lengths(LENGTHS, found, "exp.h5", "found.h5")
    assert str(err.value) == message


def test_check_same_lengths_accepts_equal():
    check_same_lengths(LENGTHS, [[2, 3], [4]], "a", "b")


def test_failed_write_leaves_no_file(tmp_path):
    att = _attention()
    att.attrs = {"unstorable": object()}  # h5py fails inside the write, after the checks
    with pytest.raises(TypeError):
        write_attention(tmp_path / "a.h5", att)
    assert _files(tmp_path) == []


def test_failed_write_keeps_the_old_file(tmp_path):
    write_attention(tmp_path / "a.h5", _attention(seed=0))
    before = (tmp_path / "a.h5").read_bytes()
    att = _attention(seed=5)
    att.attrs = {"unstorable": object()}
    with pytest.raises(TypeError):
        write_attention(tmp_path / "a.h5", att)
    assert _files(tmp_path) == ["a.h5"]
    assert (tmp_path / "a.h5").read_bytes() == before


# --- per-reader matrices -------------------------------------------------------------


def _with_readers(seed=2) -> SaccadeSet:
    """Three readers r1, r2, r3; r2 did not read article 0 sentence 1, r3 read only 1/0."""
    rng = np.random.default_rng(seed)
    present = [[[0, 1, 2], [0]], [[0, 1, 2]]]
    sac = _saccades()
    sac.n_readers = 3
    sac.reader_ids = ["r1", "r2", "r3"]
    sac.readers_per_sentence = [[3, 1], [3]]
    sac.reader_measures = {}
    for measure in ("num", "dur"):
        matrices = [
            [rng.random((len(idx), n, n)) for idx, n in zip(pa, la, strict=True)]
            for pa, la in zip(present, LENGTHS, strict=True)
        ]
        readers = [[np.array(idx, dtype=np.int64) for idx in pa] for pa in present]
        sac.reader_measures[measure] = ReaderMatrices(matrices, readers)
    return sac


def test_per_reader_round_trip_is_exact(tmp_path):
    sac = _with_readers()
    write_saccades(tmp_path / "s.h5", sac)
    back = read_saccades(tmp_path / "s.h5")
    assert set(back.measures) == {"num", "dur"}  # the readers group is not a measure
    assert back.reader_ids == ["r1", "r2", "r3"]
    for measure in ("num", "dur"):
        got, want = back.reader_measures[measure], sac.reader_measures[measure]
        for a, article in enumerate(want.matrices):
            for s, m in enumerate(article):
                np.testing.assert_array_equal(got.matrices[a][s], m)
                assert got.readers[a][s].tolist() == want.readers[a][s].tolist()
        np.testing.assert_array_equal(
            got.present(3), [[True, True, True], [True, False, True], [True, False, True]]
        )
    with h5py.File(tmp_path / "s.h5") as f:
        assert f["readers/num/" + sentence_key(0, 1)].attrs["reader_ids"].tolist() == ["r1"]
        assert f["readers/num/" + sentence_key(0, 1)].shape == (1, 3, 3)
    only = read_saccades(tmp_path / "s.h5", ["dur"])
    assert list(only.reader_measures) == ["dur"]


def test_group_means_alone_read_without_readers(tmp_path):
    write_saccades(tmp_path / "s.h5", _saccades())
    back = read_saccades(tmp_path / "s.h5")
    assert back.reader_ids is None and back.reader_measures is None


def _put(path, key, index, value):
    with h5py.File(path, "r+") as f:
        values = f[key][()]
        values[index] = value
        f[key][...] = values


@pytest.mark.parametrize("value", [np.nan, np.inf], ids=["nan", "inf"])
def test_non_finite_group_mean_on_disk_is_named(tmp_path, value):
    write_saccades(tmp_path / "s.h5", _saccades())
    _put(tmp_path / "s.h5", "dur/" + sentence_key(1, 0), (2, 1), value)
    with pytest.raises(ValueError) as err:
        read_saccades(tmp_path / "s.h5")
    assert str(err.value) == (
        f"{tmp_path / 's.h5'}: group L2 measure dur article 1 sentence 0: matrix holds NaN or inf"
    )


def test_non_finite_reader_matrix_on_disk_names_the_reader(tmp_path):
    write_saccades(tmp_path / "s.h5", _with_readers())
    _put(tmp_path / "s.h5", "readers/num/" + sentence_key(0, 0), (1, 0, 0), np.nan)
    with pytest.raises(
        ValueError, match=r"s\.h5: group L2 measure num article 0 sentence 0 reader r2: .*NaN"
    ):
        read_saccades(tmp_path / "s.h5")


def test_reader_matrix_of_other_length_on_disk_is_named(tmp_path):
    write_saccades(tmp_path / "s.h5", _with_readers())
    with h5py.File(tmp_path / "s.h5", "r+") as f:
        key = "readers/dur/" + sentence_key(1, 0)
        ids = f[key].attrs["reader_ids"]
        del f[key]
        f.create_dataset(key, data=np.zeros((3, 5, 5)))
        f[key].attrs["reader_ids"] = ids
    with pytest.raises(
        ValueError, match=r"measure dur article 1 sentence 0 reader r1: .*\(3, 5, 5\), expected"
    ):
        read_saccades(tmp_path / "s.h5")


def test_unknown_reader_on_disk_is_named(tmp_path):
    write_saccades(tmp_path / "s.h5", _with_readers())
    with h5py.File(tmp_path / "s.h5", "r+") as f:
        f["readers/num/" + sentence_key(0, 1)].attrs["reader_ids"] = ["r9"]
    with pytest.raises(ValueError, match="article 0 sentence 1: reader r9 is not in"):
        read_saccades(tmp_path / "s.h5")


def _drop_reader_2(sac):
    for per_reader in sac.reader_measures.values():
        for a, s in ((0, 0), (1, 0)):
            per_reader.matrices[a][s] = per_reader.matrices[a][s][[0, 2]]
            per_reader.readers[a][s] = np.array([0, 2])


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        pytest.param(
            _drop_reader_2, "group L2: reader r2 has no matrix in any sentence", id="no-matrix"
        ),
        pytest.param(
            lambda sac: setattr(sac, "reader_ids", ["r1", "r1", "r3"]),
            "group L2: reader r1 is listed twice",
            id="duplicate-id",
        ),
        pytest.param(
            lambda sac: setattr(sac, "n_readers", 4),
            "group L2: 3 reader ids but n_readers = 4",
            id="count",
        ),
        pytest.param(
            lambda sac: sac.reader_measures["dur"].matrices[0].__setitem__(1, np.zeros((2, 3, 3))),
            r"measure dur article 0 sentence 1: per-reader matrices of shape \(2, 3, 3\), "
            r"expected \(1, 3, 3\)",
            id="shape",
        ),
        pytest.param(
            lambda sac: sac.reader_measures["num"].matrices[1][0].__setitem__((2, 0, 0), np.nan),
            "measure num article 1 sentence 0 reader r3: matrix holds NaN or inf",
            id="nan",
        ),
        pytest.param(
            lambda sac: setattr(sac, "reader_measures", None),
            "reader_ids and reader_measures must be given together",
            id="half",
        ),
    ],
)
def test_bad_reader_data_is_refused_on_write(tmp_path, spoil, message):
    sac = _with_readers()
    spoil(sac)
    with pytest.raises(ValueError, match=message):
        write_saccades(tmp_path / "s.h5", sac)
    assert _files(tmp_path) == []


def test_reader_in_two_groups_is_named(tmp_path):
    write_saccades(tmp_path / "L1.h5", _with_readers())
    other = _with_readers()
    other.group, other.reader_ids = "L1", ["q1", "r3", "q2"]
    write_saccades(tmp_path / "L2.h5", other)
    with pytest.raises(ValueError) as err:
        check_distinct_readers({"L2": tmp_path / "L1.h5", "L1": tmp_path / "L2.h5"})
    assert str(err.value) == (
        f"reader r3 is in group L2 ({tmp_path / 'L1.h5'}) and in group L1 "
        f"({tmp_path / 'L2.h5'}); a reader belongs to one group"
    )
    other.reader_ids = ["q1", "q2", "q3"]
    write_saccades(tmp_path / "L2.h5", other)
    check_distinct_readers({"L2": tmp_path / "L1.h5", "L1": tmp_path / "L2.h5"})


def test_reader_lengths_against_stimuli_name_group_and_reader():
    sac = _with_readers()
    with pytest.raises(ValueError) as err:
        check_reader_lengths([[2, 4], [4]], sac, "stimuli.txt", "L2.h5")
    assert str(err.value) == (
        "L2.h5: group L2 reader r1 article 0 sentence 1 has 3 words, stimuli.txt has 4"
    )
    with pytest.raises(ValueError, match="L2.h5: article 0 has 2 sentences, stimuli.txt has 3"):
        check_reader_lengths([[2, 3, 1], [4]], sac, "stimuli.txt", "L2.h5")
    check_reader_lengths(LENGTHS, sac, "stimuli.txt", "L2.h5")
