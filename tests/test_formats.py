import h5py
import numpy as np
import pytest

from readalike.formats import (
    ATTENTION_FORMAT,
    AttentionSet,
    SaccadeSet,
    attention_shape,
    check_same_lengths,
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
