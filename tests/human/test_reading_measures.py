"""Tests of :mod:`readalike.human.reading_measures` and its HDF5 format.

Small reader files are written in ``tmp_path`` in the exact relfix layout (leading unnamed
index column, ``sentence_id, word_id, word, TRT, relFix``, GECO's ``word_id_orig``); the
test marked ``release`` loads the shared copy of the real corpora and is skipped without it.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from readalike.core.formats import (
    READING_MEASURES_FORMAT,
    ReadingCorpus,
    read_reading_measures,
    write_reading_measures,
)
from readalike.human import reading_measures as rm

CORPORA = Path(__file__).resolve().parents[2].parent / "shared" / "corpora"
DATA = "extract_human_fixations/data/"


# --------------------------------------------------------------------------- writing files


def _relfix_rows(sentences, geco=False):
    """CSV text of one reader file; ``sentences`` is a list of ``(sentence_id, words, trt)``
    with optional 4th item ``relfix`` (list, None for an empty cell) and 5th ``orig`` ids.
    relFix defaults to TRT / total, empty where the total is 0."""
    head = ",sentence_id,word_id," + ("word_id_orig," if geco else "") + "word,TRT,relFix\n"
    lines, row = [head], 0
    for item in sentences:
        sid, words, trt = item[:3]
        total = sum(t for t in trt if t is not None)
        rel = item[3] if len(item) > 3 and item[3] is not None else None
        orig = item[4] if len(item) > 4 else [f"1-1-{sid * 100 + i}" for i in range(len(words))]
        for i, (word, t) in enumerate(zip(words, trt, strict=True)):
            r = rel[i] if rel is not None else (t / total if total else None)
            cells = [str(row), str(sid), str(i)]
            cells += [orig[i]] if geco else []
            word_cell = f'"{word}"' if "," in word else word
            cells += [word_cell, "" if t is None else repr(float(t)), "" if r is None else repr(r)]
            lines.append(",".join(cells) + "\n")
            row += 1
    return "".join(lines)


def _write_corpus(folder: Path, readers: dict, geco=False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for reader, sentences in readers.items():
        (folder / f"{reader}-relfix-feats.csv").write_text(
            _relfix_rows(sentences, geco), encoding="utf-8"
        )
    return folder


def _entry(root: Path, members="corpus/", **extra) -> dict:
    return dict(
        name="toy", layout="relfix", language="en", path=str(root), members=members, **extra
    )


S1 = ("the", "cat", "sat")
S2 = ("a", "dog", "ran", "off")
S3 = ("it", "rained")
S4 = ("the", "end")


def _full(trt_scale=1.0):
    return [
        (0, S1, [100 * trt_scale, 200, 100]),
        (1, S2, [50, 50, 100, 0]),
        (2, S3, [300, 100]),
        (3, S4, [120, 80]),
    ]


def _load(tmp_path, readers, geco=False, **extra):
    _write_corpus(tmp_path / "corpus", readers, geco)
    return rm.load_reading_corpus(_entry(tmp_path, **extra))


# --------------------------------------------------------------------------- unpacking


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _archive(tmp_path, members: dict, extra_manifest=None, symlink=None):
    """A tar.xz with ``members`` {name: bytes}; the manifest lists their hashes."""
    archive = tmp_path / "corpora.tar.xz"
    with tarfile.open(archive, "w:xz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if symlink:
            info = tarfile.TarInfo(symlink)
            info.type = tarfile.SYMTYPE
            info.linkname = "/etc/passwd"
            tar.addfile(info)
    listed = {name: _sha(data) for name, data in members.items()}
    listed.update(extra_manifest or {})
    manifest = tmp_path / "SHA256SUMS.members"
    manifest.write_text("".join(f"{h}  {n}\n" for n, h in listed.items()))
    sums = tmp_path / "SHA256SUMS"
    sums.write_text(f"{_sha(archive.read_bytes())}  {archive.name}\n")
    return archive, manifest, sums


MEMBERS = {
    "data/geco/pp1-relfix-feats.csv": _relfix_rows([(0, S1, [1, 2, 3])]).encode(),
    "data/geco/pp2-relfix-feats.csv": _relfix_rows([(0, S1, [3, 2, 1])]).encode(),
    "data/zuco/ZAB-relfix-feats.csv": _relfix_rows([(0, S2, [1, 1, 1, 1])]).encode(),
}


def test_unpack_extracts_only_the_wanted_members_and_keeps_verified_ones(tmp_path):
    archive, manifest, sums = _archive(tmp_path, MEMBERS)
    target = tmp_path / "out"
    got = rm.unpack_corpora(archive, manifest, target, ["data/geco/"], archive_sums=sums)
    assert got == ["data/geco/pp1-relfix-feats.csv", "data/geco/pp2-relfix-feats.csv"]
    assert not (target / "data/zuco").exists()
    assert (target / got[0]).read_bytes() == MEMBERS[got[0]]
    assert [p.name for p in target.iterdir()] == ["data"]  # no temporary folder left
    mtime = (target / got[0]).stat().st_mtime_ns
    rm.unpack_corpora(archive, manifest, target, ["data/geco/"])
    assert (target / got[0]).stat().st_mtime_ns == mtime


@pytest.mark.parametrize(
    "fault, message",
    [
        pytest.param("bad-hash", "pp2-relfix-feats.csv: SHA-256", id="bad-member-hash"),
        pytest.param("unlisted", "pp2-relfix-feats.csv is not listed", id="member-not-in-manifest"),
        pytest.param("oversized", "over the cap of 100", id="oversized-member"),
        pytest.param("total", "over the cap of", id="total-over-cap"),
        pytest.param("symlink", "not a regular file", id="symlink-member"),
        pytest.param("archive-hash", "differs from", id="archive-hash"),
        pytest.param("missing", "lacks 1 members", id="listed-member-missing"),
    ],
)
def test_unpack_refuses_a_bad_archive_and_leaves_nothing(tmp_path, fault, message):
    members = dict(MEMBERS)
    extra, symlink = {}, None
    big = "data/geco/pp2-relfix-feats.csv"
    if fault == "bad-hash":
        extra = {big: "0" * 64}
    if fault == "missing":
        extra = {"data/geco/pp9-relfix-feats.csv": "1" * 64}
    if fault == "symlink":
        symlink = "data/geco/link-relfix-feats.csv"
    archive, manifest, sums = _archive(tmp_path, members, extra, symlink)
    if fault == "unlisted":
        lines = manifest.read_text().splitlines()
        manifest.write_text("\n".join(line for line in lines if big not in line) + "\n")
    if fault == "archive-hash":
        sums.write_text(f"{'f' * 64}  {archive.name}\n")
    caps = {"max_member_bytes": 100} if fault == "oversized" else {}
    caps |= {"max_total_bytes": 150} if fault == "total" else {}
    target = tmp_path / "out"
    with pytest.raises(ValueError, match=message) as err:
        rm.unpack_corpora(archive, manifest, target, ["data/geco/"], archive_sums=sums, **caps)
    assert str(archive) in str(err.value) and "\n" not in str(err.value)
    assert not target.exists() or not any(target.rglob("*"))


def test_load_from_the_archive_unpacks_and_reads(tmp_path):
    archive, manifest, sums = _archive(tmp_path, MEMBERS)
    entry = dict(_entry(archive, members="data/geco/"), manifest=str(manifest), sums=str(sums))
    corpus, _ = rm.load_reading_corpus(entry, unpack_dir=tmp_path / "unpacked")
    assert corpus.reader_ids == ["pp1", "pp2"] and corpus.sentences == [S1]
    assert not (tmp_path / "unpacked" / "data" / "zuco").exists()


# --------------------------------------------------------------------------- reading


def test_words_are_text_and_empty_cells_of_numbers_are_nan(tmp_path):
    path = tmp_path / "pp1-relfix-feats.csv"
    path.write_text(
        ",sentence_id,word_id,word,TRT,relFix\n0,0,0,null,10.0,\n1,0,1,NA,0.0,\n2,0,2,,5.0,0.5\n"
    )
    rf = rm.read_relfix_file(path)
    assert rf.reader == "pp1" and rf.words == ["null", "NA", ""]
    np.testing.assert_array_equal(np.isnan(rf.relfix), [True, True, False])


@pytest.mark.parametrize(
    "name, reader",
    [
        pytest.param("pp21-relfix-feats.csv", "pp21", id="geco"),
        pytest.param("reader12-relfix-feats.csv", "12", id="potec"),
        pytest.param("3.edf-relfix-feats.csv", "3", id="rsc"),
        pytest.param("ZAB-relfix-feats.csv", "ZAB", id="zuco"),
    ],
)
def test_reader_ids_from_file_names(name, reader):
    assert rm.reader_id(name) == reader


@pytest.mark.parametrize(
    "text, message",
    [
        pytest.param(",sentence_id,word_id,word,TRT\n0,0,0,a,1\n", "lacks the relfix", id="column"),
        pytest.param(
            ",sentence_id,word_id,word,TRT,relFix\n0,0,0,a,x,1\n", "not a relfix", id="number"
        ),
        pytest.param(
            ",sentence_id,word_id,word,TRT,relFix\n0,0,0,a,1,1\n1,1,0,b,1,1\n2,0,1,c,1,1\n",
            "two separate runs",
            id="split-sentence",
        ),
    ],
)
def test_structural_faults_name_the_file(tmp_path, text, message):
    path = tmp_path / "pp1-relfix-feats.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as err:
        rm.read_relfix_file(path)
    assert str(path) in str(err.value)


# --------------------------------------------------------------------------- alignment


def test_a_reader_missing_a_sentence_is_aligned_by_words(tmp_path):
    full = _full()
    lacking = [(0, S1, [10, 10, 10]), (1, S3, [5, 15]), (2, S4, [1, 1])]  # ids count on
    corpus, checks = _load(tmp_path, {"r1": full, "r2": lacking})
    assert corpus.sentences == [S1, S2, S3, S4]
    has = corpus.has_vector()
    np.testing.assert_array_equal(has[1], [True, False, True, True])
    np.testing.assert_allclose(corpus.trt[1, corpus.offsets()[2] : corpus.offsets()[3]], [5, 15])
    row = checks[checks["check"] == "sentence_count"]
    assert (
        row["reader"].tolist() == ["r2"] and "lacks corpus sentences [1]" in row["detail"].iloc[0]
    )


def test_identical_sentences_stay_apart_in_order_of_occurrence(tmp_path):
    yes = ("yes",)
    r1 = [
        (0, yes, [100]),
        (1, S1, [1, 1, 1]),
        (2, yes, [200]),
        (3, S2, [1, 1, 1, 1]),
        (4, yes, [300]),
    ]
    r2 = [(0, yes, [10]), (1, S1, [1, 1, 1]), (2, yes, [20]), (3, S2, [1, 1, 1, 1]), (4, yes, [30])]
    r3 = [(0, S1, [1, 1, 1]), (1, yes, [2]), (2, S2, [1, 1, 1, 1]), (3, yes, [3])]  # lacks the 1st
    corpus, _ = _load(tmp_path, {"r1": r1, "r2": r2, "r3": r3})
    assert corpus.sentences == [yes, S1, yes, S2, yes]
    first = corpus.offsets()[[0, 2, 4]]
    np.testing.assert_array_equal(
        corpus.trt[:, first], [[100, 200, 300], [10, 20, 30], [np.nan, 2, 3]]
    )


def test_the_last_sentence_of_each_file_is_kept(tmp_path):
    corpus, _ = _load(tmp_path, {"r1": _full(), "r2": _full(2.0)})
    assert corpus.sentences[-1] == S4
    np.testing.assert_allclose(corpus.trt[:, -2:], [[120, 80], [120, 80]])
    np.testing.assert_allclose(corpus.relfix[:, -2:], [[0.6, 0.4], [0.6, 0.4]])


def test_an_unfixated_sentence_has_no_vector_not_zeros(tmp_path):
    readers = {"r1": _full(), "r2": [(0, S1, [0, 0, 0])] + _full()[1:]}
    corpus, checks = _load(tmp_path, readers)
    assert np.isnan(corpus.trt[1, :3]).all() and np.isnan(corpus.relfix[1, :3]).all()
    mean_trt, mean_rel, readers_n = rm.group_means(corpus, "all")
    np.testing.assert_array_equal(readers_n[:3], [1, 1, 1])
    np.testing.assert_allclose(mean_trt[:3], [100, 200, 100])
    assert checks.empty  # no fixation on a sentence is no fault


def test_group_mean_equals_the_hand_computed_mean_of_three_readers(tmp_path):
    s = ("ab", "cd")
    readers = {
        "r1": [(0, s, [100, 300])],  # relfix 0.25 0.75
        "r2": [(0, s, [200, 200])],  # 0.5 0.5
        "r3": [(0, s, [600, 0])],  # 1 0
        "r4": [(0, s, [0, 0])],  # no vector: left out of the mean
    }
    corpus, _ = _load(tmp_path, readers)
    table = rm.reading_measures_table(corpus)
    assert table.columns.tolist() == [
        "corpus", "group", "text", "sentence", "word_index", "word", "readers", "mean_trt",
        "mean_relfix",
    ]  # fmt: skip
    np.testing.assert_allclose(table["mean_trt"], [300, 500 / 3])
    np.testing.assert_allclose(table["mean_relfix"], [1.75 / 3, 1.25 / 3])
    assert table["readers"].tolist() == [3, 3] and table["word"].tolist() == ["ab", "cd"]


# --------------------------------------------------------------------------- GECO's words


def test_geco_join_restores_case_and_punctuation_and_reports_unjoined_rows(tmp_path):
    s = ("the", "styles", "case")
    readers = {
        "pp1": [(0, s, [1, 2, 3], None, ["1-5-1", "1-5-2", "1-5-3"])],
        "pp2": [(0, s, [3, 2, 1], None, ["1-5-1", "1-5-2", "9-9-9"])],
    }
    _write_corpus(tmp_path / "corpus", readers, geco=True)
    (tmp_path / "corpus" / "material.csv").write_text(
        'WORD_ID,SENTENCE_ID,WORD\n1-5-1,1-1,The\n1-5-2,1-1,"Styles,"\n1-5-3,1-1,Case.\n'
    )
    entry = _entry(tmp_path, material="corpus/material.csv", texts="word_id_orig")
    corpus, checks = rm.load_reading_corpus(entry)
    # pp2's unjoined last word keeps 'case'; of two readers, the first one's words win
    assert corpus.sentences == [("The", "Styles,", "Case.")]
    assert corpus.texts.tolist() == [1]
    unjoined = checks[checks["check"] == "material_unjoined"]
    assert unjoined["reader"].tolist() == ["pp2"] and "9-9-9" in unjoined["detail"].iloc[0]
    assert checks["check"].tolist().count("word_mismatch") == 1


# --------------------------------------------------------------------------- checks


def _fault(kind: str):
    """Readers with one fault of ``kind`` in corpus sentence 1, and the readers it is in."""
    full = _full()
    bad = list(_full())
    if kind == "sentence_count":
        bad = [full[0], full[2], full[3]]
    elif kind == "relfix_nan":
        bad[1] = (1, S2, [50, 50, 100, 0], [0.25, None, 0.5, 0.0])
    elif kind == "trt_nan":
        bad[1] = (1, S2, [50, None, 100, 0], [0.3, 0.0, 0.6, 0.0])
    elif kind == "trt_negative":
        bad[1] = (1, S2, [50, -5, 100, 0], [0.3, 0.0, 0.6, 0.0])
    elif kind == "relfix_mismatch":
        bad[1] = (1, S2, [50, 50, 100, 0], [0.0, 0.0, 0.0, 0.0])
    elif kind == "word_mismatch":
        bad[1] = (1, ("a", "cat", "ran", "off"), [50, 50, 100, 0])
    elif kind == "empty_word":
        bad[1] = (1, ("a", "", "ran", "off"), [50, 50, 100, 0])
        return {"r1": bad, "r3": bad, "r2": bad}, {"r1", "r2", "r3"}
    return {"r1": full, "r3": full, "r2": bad}, {"r2"}


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param("sentence_count", id="fewer-sentences"),
        pytest.param("relfix_nan", id="nan-relfix-on-fixated-sentence"),
        pytest.param("trt_nan", id="nan-trt"),
        pytest.param("trt_negative", id="negative-trt"),
        pytest.param("relfix_mismatch", id="relfix-disagrees-with-trt"),
        pytest.param("word_mismatch", id="words-disagree-across-readers"),
        pytest.param("empty_word", id="empty-word"),
    ],
)
def test_each_fault_is_a_row_of_the_checks_table_and_a_log_line(tmp_path, caplog, kind):
    readers, who = _fault(kind)
    with caplog.at_level("WARNING", logger=rm.__name__):
        corpus, checks = _load(tmp_path, readers)
    rows = checks[checks["check"] == kind]
    assert len(rows) == len(who) and set(rows["reader"]) == who, checks
    assert set(checks["check"]) == {kind}
    assert checks.columns.tolist() == rm.CHECK_COLUMNS
    if kind != "sentence_count":
        assert set(rows["sentence"]) == {1}
    assert sum(kind in rec.getMessage() for rec in caplog.records) == len(checks)
    r = corpus.reader_ids.index("r2")
    no_vector = kind in ("trt_nan", "trt_negative", "sentence_count")
    assert np.isnan(corpus.trt[r, 3:7]).all() == no_vector
    if kind == "word_mismatch":
        assert corpus.sentences[1] == S2  # two of three readers have S2


def test_relfix_is_recomputed_from_trt_where_the_file_disagrees(tmp_path):
    corpus, checks = _load(tmp_path, _fault("relfix_mismatch")[0])
    r = corpus.reader_ids.index("r2")
    np.testing.assert_allclose(corpus.relfix[r, 3:7], [0.25, 0.25, 0.5, 0])
    assert "recomputed" in checks["detail"].iloc[0]


def test_repeated_word_ids_are_reported_and_kept_in_file_order(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    text = ',sentence_id,word_id,word,TRT,relFix\n0,0,0,cars,10.0,0.5\n1,0,1,",",0.0,0.0\n'
    text += "2,0,1,he,10.0,0.5\n"
    (folder / "ZAB-relfix-feats.csv").write_text(text)
    corpus, checks = rm.load_reading_corpus(_entry(tmp_path))
    assert corpus.sentences == [("cars", ",", "he")]
    assert checks["check"].tolist() == ["word_id_repeated"]


def test_reader_table_checks_and_groups_from_its_columns(tmp_path):
    _write_corpus(
        tmp_path / "corpus", {"reader0": _full(), "reader1": _full(2), "reader5": _full()}
    )
    table = tmp_path / "participants.tsv"
    table.write_text(
        "reader_id\treader_discipline\tlevel_of_studies\n"
        "0\tphysics\tgraduate\n1\tbiology\tundergraduate\n2\tbiology\tgraduate\n"
    )
    groups = {
        "all": {},
        "experts": {"column": "expert_status", "equals": "expert"},
        "beginners": {"column": "expert_status", "equals": "beginner"},
        "biology": {"column": "reader_domain", "equals": "biology"},
        "chosen": {"readers": ["5", "0"]},
    }
    entry = _entry(tmp_path, reader_table=str(table), groups=groups)
    corpus, checks = rm.load_reading_corpus(entry)
    assert corpus.groups == {
        "all": ["0", "1", "5"],
        "experts": ["0"],
        "beginners": ["1"],
        "biology": ["1"],
        "chosen": ["0", "5"],
    }
    got = sorted(zip(checks["check"], checks["reader"], strict=True))
    assert got == [
        ("file_without_reader", "5"),
        ("reader_table_column", ""),
        ("reader_table_column", ""),
        ("reader_without_file", "2"),
    ]
    table_out = rm.reading_measures_table(corpus)
    assert table_out["group"].unique().tolist() == list(groups)


def test_potec_texts_are_found_by_their_opening_words(tmp_path):
    sentences = []
    for t, (_, opening) in enumerate(rm.POTEC_TEXTS):
        words = opening.split()
        sentences.append((2 * t + 1, tuple(words), [100] * len(words)))
        sentences.append((2 * t + 2, ("und", "so", "weiter"), [100, 100, 100]))
    corpus, _ = _load(tmp_path, {"reader0": sentences}, texts="potec")
    assert corpus.texts.tolist() == [t for t in range(12) for _ in (0, 1)]


@pytest.mark.parametrize(
    "change, message",
    [
        pytest.param({"layout": "other"}, "layout", id="layout"),
        pytest.param({"colour": "red"}, "unknown keys", id="unknown-key"),
        pytest.param({"texts": "chapters"}, "texts", id="text-rule"),
        pytest.param({"groups": {"g": {"readers": ["zz"]}}}, "have no file", id="unknown-reader"),
    ],
)
def test_bad_entries_are_one_line_errors(tmp_path, change, message):
    _write_corpus(tmp_path / "corpus", {"r1": _full()})
    with pytest.raises(ValueError, match=message):
        rm.load_reading_corpus(_entry(tmp_path) | change)


# --------------------------------------------------------------------------- HDF5


def _small_corpus() -> ReadingCorpus:
    nan = np.nan
    trt = np.array([[100.0, 0.0, 300.0, nan, nan], [nan, nan, nan, 50.0, 150.0]])
    relfix = np.array([[0.25, 0.0, 0.75, nan, nan], [nan, nan, nan, 0.25, 0.75]])
    return ReadingCorpus(
        corpus="rsc",
        language="ru",
        sentences=[("на", "", "болотах"), ("Möglichkeit", "für")],
        texts=np.array([0, 3]),
        reader_ids=["1", "10"],
        groups={"all": ["1", "10"], "few": ["10"]},
        trt=trt,
        relfix=relfix,
        source="test",
    )


def test_reading_measures_round_trip_is_exact(tmp_path):
    corpus = _small_corpus()
    path = tmp_path / "rsc.h5"
    write_reading_measures(path, corpus)
    back = read_reading_measures(path)
    assert back.sentences == corpus.sentences and back.reader_ids == corpus.reader_ids
    assert back.groups == corpus.groups and list(back.groups) == ["all", "few"]
    assert (back.corpus, back.language, back.source) == ("rsc", "ru", "test")
    np.testing.assert_array_equal(back.texts, corpus.texts)
    np.testing.assert_array_equal(back.trt, corpus.trt)
    np.testing.assert_array_equal(back.relfix, corpus.relfix)
    with h5py.File(path) as f:
        assert f.attrs["format"] == READING_MEASURES_FORMAT
        assert h5py.check_string_dtype(f["words"].dtype).encoding == "utf-8"


def test_a_loaded_corpus_round_trips(tmp_path):
    corpus, _ = _load(tmp_path, {"r1": _full(), "r2": [(0, S1, [0, 0, 0])] + _full()[1:]})
    write_reading_measures(tmp_path / "toy.h5", corpus)
    back = read_reading_measures(tmp_path / "toy.h5")
    np.testing.assert_array_equal(back.trt, corpus.trt)
    assert back.sentences == corpus.sentences


@pytest.mark.parametrize("fault", ["format", "truncated"])
def test_reading_a_bad_file_is_one_error_naming_it(tmp_path, fault):
    path = tmp_path / "c.h5"
    write_reading_measures(path, _small_corpus())
    if fault == "format":
        with h5py.File(path, "a") as f:
            f.attrs["format"] = "readalike.saccades/1"
    else:
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="c.h5") as err:
        read_reading_measures(path)
    assert "\n" not in str(err.value)


def test_a_partial_vector_is_refused_on_writing(tmp_path):
    corpus = _small_corpus()
    corpus.trt[0, 1] = np.nan  # half a vector
    with pytest.raises(ValueError, match="reader 1 sentence 0"):
        write_reading_measures(tmp_path / "c.h5", corpus)
    assert not (tmp_path / "c.h5").exists()


# --------------------------------------------------------------------------- the real corpora

_ARCHIVE = CORPORA / "relative_importance-eea825c.tar.xz"


def _real_entries() -> list[dict]:
    base = dict(
        layout="relfix",
        path=str(_ARCHIVE),
        manifest=str(CORPORA / "SHA256SUMS.members"),
        sums=str(CORPORA / "SHA256SUMS"),
    )
    potec_groups = {
        "all": {},
        "experts": {"column": "expert_status", "equals": "expert"},
        "beginners": {"column": "expert_status", "equals": "beginner"},
        "biology": {"column": "reader_domain", "equals": "biology"},
        "physics": {"column": "reader_domain", "equals": "physics"},
    }
    return [
        base | dict(name="geco", language="en", members=DATA + "geco/", texts="word_id_orig",
                    material=DATA + "geco/EnglishMaterial_corrected.csv"),
        base | dict(name="zuco1_nr", language="en", members=DATA + "zuco/zuco1_NR/"),
        base | dict(name="zuco1_sr", language="en", members=DATA + "zuco/zuco1_SR/"),
        base | dict(name="zuco2_nr", language="en", members=DATA + "zuco/zuco2_NR/"),
        base | dict(name="potec", language="de", members=DATA + "potsdam/relfix/",
                    texts="potec", reader_table=str(CORPORA / "potec_participant_data.tsv"),
                    groups=potec_groups),
        base | dict(name="rsc", language="ru", members=DATA + "russsent/relfix/"),
    ]  # fmt: skip


@pytest.mark.release
@pytest.mark.skipif(not _ARCHIVE.is_file(), reason=f"the shared corpora are missing ({CORPORA})")
def test_the_real_corpora_hold_what_their_readme_says(tmp_path, capsys):
    loaded, report = {}, []
    for entry in _real_entries():
        began = time.perf_counter()
        corpus, checks = rm.load_reading_corpus(entry, unpack_dir=tmp_path)
        seconds = time.perf_counter() - began
        loaded[entry["name"]] = (corpus, checks)
        report.append(
            f"{entry['name']}: {len(corpus.reader_ids)} readers, {len(corpus.sentences)} "
            f"sentences, {corpus.n_words} words, {seconds:.1f} s, checks "
            f"{checks['check'].value_counts().to_dict()}"
        )
    with capsys.disabled():
        print("\n" + "\n".join(report))

    geco, geco_checks = loaded["geco"]
    assert len(geco.reader_ids) == 14 and "pp24" not in geco.reader_ids
    assert len(geco.sentences) == 5285 and geco.n_words == 54362
    lower = [tuple(w.lower() for w in s) for s in geco.sentences]
    assert len(set(lower)) == 5002 and lower.count(("yes",)) == 56
    assert sum(len(s) == 1 for s in geco.sentences) == 284
    assert (geco_checks["check"] == "empty_word").sum() == 28
    assert sorted(set(geco.texts.tolist())) == [1, 2, 3, 4]
    assert geco.sentences[0][:3] == ("The", "intense", "interest")

    def counts(name):
        corpus, checks = loaded[name]
        short = checks[checks["check"] == "sentence_count"]
        return (
            len(corpus.reader_ids),
            len(corpus.sentences),
            sorted(int(d.split(" of ")[0]) for d in short["detail"]),
        )

    assert counts("zuco1_nr") == (12, 295, [246, 247])
    assert counts("zuco1_sr") == (12, 367, [276])
    assert counts("zuco2_nr") == (18, 342, [246, 293, 293])
    potec, potec_checks = loaded["potec"]
    assert (len(potec.reader_ids), len(potec.sentences), potec.n_words) == (75, 101, 1895)
    assert {g: len(m) for g, m in potec.groups.items()} == {
        "all": 75, "experts": 47, "beginners": 28, "biology": 43, "physics": 32,
    }  # fmt: skip
    assert np.bincount(potec.texts).tolist() == [10, 10, 10, 12, 10, 9, 6, 8, 7, 6, 6, 7]
    assert not potec_checks["check"].isin(["reader_without_file", "file_without_reader"]).any()
    rsc_n, rsc_sentences, short = counts("rsc")
    assert (rsc_n, rsc_sentences) == (102, 144) and min(short) == 138
    for corpus, _ in loaded.values():
        table = rm.reading_measures_table(corpus)
        assert table.columns.tolist() == rm.TABLE_COLUMNS
        assert len(table) == corpus.n_words * len(corpus.groups)
        assert isinstance(table, pd.DataFrame)
