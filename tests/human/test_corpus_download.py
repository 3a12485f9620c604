"""Tests of the corpus download (:func:`readalike.human.reading_measures.download_corpus`).

The upstream repository is a local mirror built in ``tmp_path`` (tiny relfix files under
their repository paths, below a folder named after the pinned commit) and reached through
``file://`` URL templates; nothing here needs a network. The test marked ``release``
mirrors PoTeC from the shared copy of the real corpora and is skipped without it.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from readalike.core.checksums import read_manifest
from readalike.human import reading_measures as rm
from tests.human.test_reading_measures import S1, S2, _full, _relfix_rows

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "resources" / "corpora"
CORPORA = ROOT.parent / "shared" / "corpora"
GECO = "extract_human_fixations/data/geco/"
MATERIAL = GECO + "EnglishMaterial_corrected.csv"

#: what the mirror holds; the manifest lists all but the stray file
UPSTREAM = {
    GECO + "pp1-relfix-feats.csv": _relfix_rows(_full(), geco=True),
    GECO + "pp2-relfix-feats.csv": _relfix_rows(_full(2), geco=True),
    MATERIAL: "WORD_ID,SENTENCE_ID,WORD\n1-1-0,1-1,The\n",
    GECO + "sub/pp3-relfix-feats.csv": _relfix_rows([(0, S1, [1, 2, 3])]),  # not a reader file
    "extract_human_fixations/data/zuco/zuco1_NR/ZAB-relfix-feats.csv": _relfix_rows(
        [(0, S2, [1, 1, 1, 1])]
    ),
}
STRAY = GECO + "pp9-relfix-feats.csv"  # in the mirror, not in the manifest: never fetched
READER_FILES = [GECO + "pp1-relfix-feats.csv", GECO + "pp2-relfix-feats.csv"]
TABLE = "reader_id\tlevel_of_studies\n1\tgraduate\n2\tundergraduate\n"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def mirror(tmp_path):
    """(mirror root, manifest path, reader-file URL template, reader-table URL template)."""
    root = tmp_path / "mirror"
    files = root / rm.CORPUS_COMMIT
    for rel, text in {**UPSTREAM, STRAY: _relfix_rows(_full())}.items():
        (files / rel).parent.mkdir(parents=True, exist_ok=True)
        (files / rel).write_text(text, encoding="utf-8")
    table = root / "potec" / rm.POTEC_COMMIT / rm.POTEC_TABLE_PATH
    table.parent.mkdir(parents=True)
    table.write_text(TABLE, encoding="utf-8")
    manifest = tmp_path / "SHA256SUMS.members"
    manifest.write_text("".join(f"{_sha(t.encode())}  {rel}\n" for rel, t in UPSTREAM.items()))
    return (
        root,
        manifest,
        root.as_uri() + "/{commit}/{path}",
        root.as_uri() + "/potec/{commit}/{path}",
    )


def _entry(tmp_path, manifest, **extra) -> dict:
    return dict(
        name="toy",
        layout="relfix",
        language="en",
        path=str(tmp_path / "corpora"),
        members=GECO,
        manifest=str(manifest),
        download=True,
        **extra,
    )


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_download_fetches_exactly_the_needed_files_then_the_loader_reads_them(tmp_path, mirror):
    root, manifest, url, _ = mirror
    entry = _entry(tmp_path, manifest, material=MATERIAL)
    expected = [str(tmp_path / "corpora" / rel) for rel in [*READER_FILES, MATERIAL]]
    assert rm.corpus_download_paths(entry) == expected
    got = rm.download_corpus(entry, base_url=url)
    assert got == expected
    # no stray file, no nested file, no other corpus, no temporary file
    assert _files(tmp_path / "corpora") == sorted([*READER_FILES, MATERIAL])
    for rel in [*READER_FILES, MATERIAL]:
        assert (tmp_path / "corpora" / rel).read_text() == UPSTREAM[rel]
    corpus, _ = rm.load_reading_corpus(entry)
    assert corpus.reader_ids == ["pp1", "pp2"] and len(corpus.sentences) == 4
    # all present and verified: a second download does not touch the (now broken) URL
    assert rm.download_corpus(entry, base_url="file:///nonexistent/{path}") == expected


def test_a_file_whose_bytes_differ_from_the_manifest_is_refused_and_not_kept(tmp_path, mirror):
    root, manifest, url, _ = mirror
    bad = root / rm.CORPUS_COMMIT / READER_FILES[1]
    bad.write_text(bad.read_text() + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="corrupted or altered, not kept") as err:
        rm.download_corpus(_entry(tmp_path, manifest), base_url=url)
    message = str(err.value)
    assert "\n" not in message and message.startswith("corpus toy: ")
    assert READER_FILES[1] in message and bad.as_uri() in message
    assert not (tmp_path / "corpora" / READER_FILES[1]).exists()
    assert _files(tmp_path / "corpora") == [READER_FILES[0]]  # verified, no temporary file


def test_a_file_missing_upstream_names_the_file_and_the_url(tmp_path, mirror):
    root, manifest, url, _ = mirror
    (root / rm.CORPUS_COMMIT / READER_FILES[0]).unlink()
    with pytest.raises(OSError, match="download from file://") as err:
        rm.download_corpus(_entry(tmp_path, manifest), base_url=url)
    message = str(err.value)
    assert "\n" not in message and message.startswith("corpus toy: ")
    assert READER_FILES[0] in message
    assert (root / rm.CORPUS_COMMIT / READER_FILES[0]).as_uri() in message
    assert not (tmp_path / "corpora" / READER_FILES[0]).exists()


def test_the_url_template_carries_the_pinned_commit(tmp_path, mirror):
    root, manifest, _, _ = mirror
    shutil.move(root / rm.CORPUS_COMMIT, root / "other")
    with pytest.raises(OSError, match=rm.CORPUS_COMMIT):
        rm.download_corpus(_entry(tmp_path, manifest), base_url=root.as_uri() + "/{commit}/{path}")


def test_the_reader_table_is_fetched_and_checked_against_its_pinned_hash(tmp_path, mirror):
    _, manifest, url, table_url = mirror
    table = tmp_path / "tables" / "potec_participant_data.tsv"
    entry = _entry(tmp_path, manifest, reader_table=str(table))
    got = rm.download_corpus(
        entry, base_url=url, reader_table_url=table_url, reader_table_sha256=_sha(TABLE.encode())
    )
    assert got[-1] == str(table) and table.read_text() == TABLE
    assert rm.corpus_download_paths(entry) == got
    table.unlink()
    with pytest.raises(ValueError, match="corrupted or altered, not kept") as err:
        rm.download_corpus(
            entry, base_url=url, reader_table_url=table_url, reader_table_sha256="0" * 64
        )
    assert "\n" not in str(err.value) and table.name in str(err.value)
    assert rm.POTEC_TABLE_PATH in str(err.value) and rm.POTEC_COMMIT in str(err.value)
    assert not table.exists()
    assert not [p for p in table.parent.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(
    "change, message",
    [
        pytest.param({"manifest": None}, "download needs a manifest", id="no-manifest"),
        pytest.param({"path": "corpora.tar.xz"}, "is an archive", id="archive-name"),
        pytest.param({"path": "ARCHIVE"}, "is an archive", id="archive-file"),
        pytest.param({"download": "yes"}, "download must be true or false", id="not-bool"),
        pytest.param({"download": False}, "download is not set", id="not-set"),
        pytest.param({"members": "nothing/"}, "lists no reader file", id="no-files"),
    ],
)
def test_bad_download_entries_are_one_line_errors(tmp_path, mirror, change, message):
    _, manifest, url, _ = mirror
    archive = tmp_path / "corpora.bin"  # a file, whatever its name
    archive.write_bytes(b"not really")
    entry = _entry(tmp_path, manifest)
    for key, value in change.items():
        if value is None:
            del entry[key]
        else:
            entry[key] = str(archive) if value == "ARCHIVE" else value
    for call in (rm.download_corpus, rm.corpus_download_paths):
        with pytest.raises(ValueError, match=message) as err:
            call(entry) if call is rm.corpus_download_paths else call(entry, base_url=url)
        assert "\n" not in str(err.value) and "corpus toy" in str(err.value)
    assert not (tmp_path / "corpora").exists()


def test_the_loader_refuses_a_download_entry_with_an_archive_path(tmp_path, mirror):
    _, manifest, _, _ = mirror
    archive = tmp_path / "corpora.tar.xz"
    archive.write_bytes(b"")
    entry = _entry(tmp_path, manifest) | {"path": str(archive)}
    with pytest.raises(ValueError, match="corpus toy: download fetches files into a folder"):
        rm.load_reading_corpus(entry, unpack_dir=tmp_path / "unpacked")


# --------------------------------------------------------------------------- the shipped lists


def test_the_shipped_manifests_pin_the_reader_table_and_list_the_corpora():
    sums = read_manifest(SHIPPED / "SHA256SUMS")
    assert sums["potec_participant_data.tsv"] == rm.POTEC_TABLE_SHA256
    entry = dict(
        name="potec",
        layout="relfix",
        language="de",
        path="data/corpora",
        members="extract_human_fixations/data/potsdam/relfix/",
        manifest=str(SHIPPED / "SHA256SUMS.members"),
        reader_table="data/corpora/potec_participant_data.tsv",
        download=True,
    )
    paths = rm.corpus_download_paths(entry)
    assert len(paths) == 76 and paths[-1] == entry["reader_table"]
    geco = entry | {"name": "geco", "members": GECO, "material": MATERIAL}
    del geco["reader_table"]
    paths = rm.corpus_download_paths(geco)
    assert len(paths) == 15 and paths[-1] == f"data/corpora/{MATERIAL}"


@pytest.mark.skipif(not CORPORA.is_dir(), reason=f"the shared corpora are missing ({CORPORA})")
def test_the_shipped_manifests_are_those_of_the_shared_copy():
    for name in ("SHA256SUMS", "SHA256SUMS.members"):
        assert (SHIPPED / name).read_bytes() == (CORPORA / name).read_bytes()
    assert _sha((CORPORA / "potec_participant_data.tsv").read_bytes()) == rm.POTEC_TABLE_SHA256


@pytest.mark.release
@pytest.mark.skipif(not CORPORA.is_dir(), reason=f"the shared corpora are missing ({CORPORA})")
def test_download_of_potec_from_a_mirror_of_the_shared_copy(tmp_path):
    """PoTeC from the real files as a file:// mirror, against the shipped manifests."""
    members = "extract_human_fixations/data/potsdam/relfix/"
    mirror = tmp_path / "mirror"
    rm.unpack_corpora(
        CORPORA / "relative_importance-eea825c.tar.xz",
        SHIPPED / "SHA256SUMS.members",
        mirror / rm.CORPUS_COMMIT,
        [members],
    )
    table = mirror / "potec" / rm.POTEC_COMMIT / rm.POTEC_TABLE_PATH
    table.parent.mkdir(parents=True)
    shutil.copyfile(CORPORA / "potec_participant_data.tsv", table)
    entry = dict(
        name="potec",
        layout="relfix",
        language="de",
        path=str(tmp_path / "corpora"),
        members=members,
        manifest=str(SHIPPED / "SHA256SUMS.members"),
        sums=str(SHIPPED / "SHA256SUMS"),
        reader_table=str(tmp_path / "corpora" / "potec_participant_data.tsv"),
        texts="potec",
        download=True,
    )
    paths = rm.download_corpus(
        entry,
        base_url=mirror.as_uri() + "/{commit}/{path}",
        reader_table_url=mirror.as_uri() + "/potec/{commit}/{path}",
    )
    assert len(paths) == 76
    corpus, _ = rm.load_reading_corpus(entry)
    assert len(corpus.reader_ids) == 75 and len(corpus.sentences) == 101
