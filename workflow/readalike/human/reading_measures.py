"""Word-level reading measures of eye-tracking corpora, per reader, as a reading source.

The source: the per-reader word files of Hollenstein & Beinborn's *Relative Importance in
Sentence Processing* (beinborn/relative_importance at ``eea825c``): GECO (English novel),
ZuCo 1.0 normal reading (NR) and sentiment reading (SR), ZuCo 2.0 NR, PoTeC (German
textbook texts) and the Russian Sentence Corpus (RSC). The flow is :func:`unpack_corpora`
(verified extraction of what the configured corpora need), :func:`load_reading_corpus`
(one corpus: read, align, check) into a :class:`~readalike.core.formats.ReadingCorpus`,
written as ``readalike.reading_measures/1`` HDF5
(:func:`~readalike.core.formats.write_reading_measures`), and
:func:`reading_measures_table` (group means per word) for the tables.

The relfix layout
-----------------
One CSV per reader, ``<id>-relfix-feats.csv``: a leading unnamed index column, then
``sentence_id, word_id, word, TRT, relFix`` (GECO adds ``word_id_orig``). A sentence is a
run of rows with one ``sentence_id``, words in row order (ZuCo's punctuation tokens share
the ``word_id`` of the next word, so ``word_id`` does not order them). ``TRT`` is the word's
total reading time in ms, ``relFix`` TRT over the sentence's total. Words are read as text
(GECO has the word ``null``); TRT and relFix cells that are empty or ``nan`` are NaN.

Empty words
    A word cell that is empty after stripping whitespace is an *empty word*: the readers
    saw a word there (it has an interest area and a TRT) but the source lost its text.
    GECO has two per reader (``WORD_ID`` 2-96-31 and 3-74-22, both four-letter pronouns,
    presumably *none* read as missing upstream: the stimulus table is empty there too).
    The word keeps its position and measures, its text is ``""`` in the corpus and the
    tables, and each is a row of the checks table. Its text is not guessed; a consumer
    that must tokenise a sentence skips sentences holding ``""``.

GECO's words as shown
    GECO's reader files hold the words lower-cased. With ``material``
    (``EnglishMaterial_corrected.csv``), each row's word is replaced by the stimulus word
    joined on ``word_id_orig`` = ``WORD_ID``, taken as the table has it. That restores case
    (``The Styles Case``); the table in this release holds no sentence punctuation either
    (only word-internal apostrophes and hyphens, as the reader files do: ``don't``), so
    commas and full stops are not restored. A row that does not join keeps its own word
    and is reported, as is a join whose stimulus word, lower-cased and stripped of non-word
    characters, differs from the row's word.

Aligning sentences across readers
---------------------------------
``sentence_id`` counts within a reader's file, and readers of ZuCo and RSC lack some
sentences, so sentences are aligned by their words, never by id or position. The rule: the
sentence lists of the readers are merged into one corpus list, in file order, by an
order-preserving alignment of whole sentences (``difflib.SequenceMatcher`` over word
tuples, no junk heuristic), starting from the reader with the most sentences. Each
sentence of the corpus list takes at most one sentence of each reader, so identical
sentences (GECO's "yes" 56 times) stay apart: the k-th occurrence of a word sequence goes
to the occurrence that keeps the reader's order, which is the k-th of the corpus list
unless the reader lacks an earlier one. A sentence a reader has and the list lacks is
inserted where the reader's order puts it. Within a replaced stretch, sentences of equal
length of which more than half the words agree are the same sentence with disagreeing
words (checked below); the corpus takes the word sequence most of its readers have. No
sentence is dropped, the last of each file included.

Per-reader vectors
------------------
A reader has a *vector* for a sentence when their file has it, every TRT is a number
``>= 0`` and their TRT sums to more than 0 over it. Then ``trt`` holds the TRT (ms) and
``relfix`` TRT over that total (recomputed: the file's ``relFix`` is only checked against
it). Otherwise the reader's row is NaN over the sentence (no fixation on the sentence is
*no vector*, not a zero one) and the reader is left out of that sentence's means.

Groups
------
All readers (``all``) unless the config names groups. A group spec is ``{}`` (all
readers), ``{readers: [ids]}``, or ``{column: <reader table column>, equals: <value>}``.
PoTeC's table at DiLi-Lab/PoTeC ``b6a1c9d`` names the columns ``level_of_studies``
(graduate, undergraduate) and ``reader_discipline`` (biology, physics); PoTeC's later
releases call them ``expert_status`` (expert = graduate, beginner = undergraduate: its
participants README) and ``reader_domain``. A group on a column the table lacks is derived
from the older column (:data:`DERIVED_COLUMNS`), with a row in the checks table. ZuCo's NR
and SR tasks are separate corpus entries (their readers read different sentences).

Texts
-----
``texts[s]`` is the text sentence ``s`` belongs to, used to hold out by text; which rule is
the entry's ``texts`` (:data:`TEXT_RULES`):

``none`` (ZuCo, RSC)
    0 for every sentence: isolated sentences, no text structure.
``word_id_orig`` (GECO)
    The first field of the sentence's first ``word_id_orig`` (``WORD_ID``), 1-4: the part
    of the novel read in one session (each holds several chapters; chapters themselves are
    not in ``WORD_ID``).
``potec`` (PoTeC)
    0-11 for PoTeC's texts b0-b5, p0-p5 (:data:`POTEC_TEXTS`), each found by the opening
    words of its first sentence, in corpus order; a text that is not found is an error.

Checks
------
Every data fault is one logged warning and one row of the checks table (columns
:data:`CHECK_COLUMNS`; ``sentence`` is the corpus sentence, -1 where the fault is not one
sentence's); :data:`CHECKS` lists them. Structural faults (a missing column, a
non-numeric cell, a sentence id in two runs of rows, a file or reader twice) raise one
``ValueError`` naming the file.

What the checks find in the ``eea825c`` files: the last sentence of each GECO and ZuCo
file has relFix 0 for every word although the reader fixated it (upstream normalised
every sentence but the last), so ``relfix_mismatch`` once per file whose reader fixated
it, and relfix is recomputed from TRT; GECO's two empty words per reader; ZuCo's
split-off punctuation (``,`` ``.`` as words of their own, TRT 0 with few exceptions,
sharing the next word's ``word_id``: ``word_id_repeated``), which the README does not
mention; the readers with fewer sentences of ZuCo and RSC; PoTeC's older column names.
The files' ``sentence_id`` turn out to agree across readers for every aligned sentence
(they are the task's sentence numbers, with gaps where a reader lacks one), but the
alignment does not rely on it.

Corpus entries (config)
-----------------------
A mapping with ``name``, ``layout`` (``relfix``), ``language``, ``path`` (a folder holding
the upstream paths, or the archive), ``members`` (the corpus' folder inside it, e.g.
``extract_human_fixations/data/geco/``), and optional ``manifest`` (``SHA256SUMS.members``:
verifies the files; required for an archive), ``sums`` (``SHA256SUMS``: verifies the
archive and the reader table), ``material`` (GECO's stimulus table, inside ``path``),
``reader_table`` (a TSV with ``reader_id``), ``texts`` and ``groups``.

With ``download: true`` (a network needed), ``path`` is a folder that
:func:`download_corpus` fills from the pinned commits: the files the entry reads, from
:data:`CORPUS_REPOSITORY` at :data:`CORPUS_COMMIT`, each checked against ``manifest``
(required then) on arrival, and ``reader_table`` from PoTeC's repository at
:data:`POTEC_COMMIT`, checked against :data:`POTEC_TABLE_SHA256`. The loader then reads
the folder and checks every file again.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import lzma
import os
import re
import shutil
import tarfile
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from readalike.core.checksums import (
    download_files,
    is_archive,
    read_manifest,
    sha256_file,
    verify_files,
)
from readalike.core.formats import ReadingCorpus
from readalike.core.tables import columns as table_columns

logger = logging.getLogger(__name__)

LAYOUTS = ("relfix",)
#: the columns of a relfix file after its unnamed index column; GECO adds ``word_id_orig``
RELFIX_COLUMNS = ("sentence_id", "word_id", "word", "TRT", "relFix")
#: reader file name -> reader id: ``pp21``, ``ZAB``, ``reader12`` -> ``12``, ``3.edf`` -> ``3``
READER_FILE = re.compile(r"(?:reader)?(?P<reader>.+?)(?:\.edf)?-relfix-feats\.csv")
#: a file's relFix may differ from TRT / sentence total by this much (float64 rounding is 1e-16)
RELFIX_TOLERANCE = 1e-6
#: default caps on unpacking: the largest member is 3.3 MB, all 234 sum to 59 MB
MAX_MEMBER_BYTES = 64 << 20
MAX_TOTAL_BYTES = 1 << 30

ENTRY_KEYS = frozenset(
    {
        "name",
        "layout",
        "language",
        "path",
        "members",
        "manifest",
        "sums",
        "material",
        "reader_table",
        "texts",
        "groups",
        "download",
    }
)
#: the reader files' upstream repository and the commit they are pinned to
CORPUS_REPOSITORY = "beinborn/relative_importance"
CORPUS_COMMIT = "eea825c9ba864c699e47f6b7f113d9d2034d612a"
#: a raw file of that repository (``str.format`` with ``commit`` and the repository ``path``)
CORPUS_RAW_URL = f"https://raw.githubusercontent.com/{CORPUS_REPOSITORY}/{{commit}}/{{path}}"
#: PoTeC's reader table: repository, pinned commit, path in it and the SHA-256 of its bytes
#: there (the same bytes as ``potec_participant_data.tsv`` of ``SHA256SUMS``)
POTEC_REPOSITORY = "DiLi-Lab/PoTeC"
POTEC_COMMIT = "b6a1c9dac1636c19e54ec74c61d5d6add6dad832"
POTEC_TABLE_PATH = "participants/participant_data.tsv"
POTEC_TABLE_SHA256 = "7eeecfbd42a29eea977ca903bd7d68465de98303bac2baf6352b9232ddeb9803"
READER_TABLE_URL = f"https://raw.githubusercontent.com/{POTEC_REPOSITORY}/{{commit}}/{{path}}"
TEXT_RULES = ("none", "word_id_orig", "potec")

#: PoTeC's twelve texts in the order the reader files hold them (sentences 1-10 are b0, ...,
#: 95-101 p5), each with the first words of its first sentence (DiLi-Lab/PoTeC
#: ``stimuli/stimuli/stimuli.tsv``); the relfix files carry no text id of their own
POTEC_TEXTS: tuple[tuple[str, str], ...] = (
    ("b0", "Um das Vorhandensein der Polymerasekettenreaktion-Produkte"),
    ("b1", "In der homologen Rekombinationsreparatur"),
    ("b2", "Wurzeln entziehen dem Boden Wasser"),
    ("b3", "Motormoleküle sind Enzyme"),
    ("b4", "Eine chlorophyllhaltige Parenchymzelle"),
    ("b5", "Ein Prion ist ein infektiöses Protein"),
    ("p0", "Ein Zyklotron besteht aus"),
    ("p1", "Wenn ein ruhendes Atom ein Photon absorbiert"),
    ("p2", "Photonische Kristalle sind"),
    ("p3", "Der entscheidende Durchbruch zur Aufstellung"),
    ("p4", "Das Ziel der holografischen Interferometrie"),
    ("p5", "Durch Einführen der effektiven Masse"),
)

#: reader-table column a group may name -> (older column it is derived from, value map or None)
DERIVED_COLUMNS: dict[str, tuple[str, dict[str, str] | None]] = {
    "expert_status": ("level_of_studies", {"graduate": "expert", "undergraduate": "beginner"}),
    "reader_domain": ("reader_discipline", None),
}

CHECK_COLUMNS = table_columns("reading_checks")
#: check name -> what it reports
CHECKS: dict[str, str] = {
    "sentence_count": "the reader's file lacks sentences of the corpus",
    "relfix_nan": "NaN relFix on a sentence the reader fixated",
    "trt_nan": "NaN TRT: the reader has no vector for the sentence",
    "trt_negative": "negative TRT: the reader has no vector for the sentence",
    "relfix_mismatch": "relFix differs from TRT / sentence total beyond RELFIX_TOLERANCE",
    "word_mismatch": "the reader's words differ from most readers' for an aligned sentence",
    "empty_word": "an empty word cell: a word the readers saw whose text the source lost",
    "word_id_repeated": "rows sharing their sentence's word_id (split-off punctuation)",
    "material_unjoined": "GECO rows whose word_id_orig is not a WORD_ID of the stimulus table",
    "material_mismatch": "the stimulus word joined on WORD_ID is not the row's word",
    "reader_without_file": "a reader of the reader table has no file",
    "file_without_reader": "a reader file has no row in the reader table",
    "reader_table_column": "a group column derived from an older column of the reader table",
}


# --------------------------------------------------------------------------- unpacking


def needed_members(entries: Iterable[Mapping]) -> list[str]:
    """The archive paths (folder prefixes and files) that the corpus entries read, sorted."""
    wanted = set()
    for entry in entries:
        wanted.add(_prefix(entry["members"]))
        if entry.get("material"):
            wanted.add(str(entry["material"]))
    return sorted(wanted)


def manifest_reader_files(manifest: Mapping[str, str], members: str) -> list[str]:
    """The reader files a manifest lists directly under the corpus folder ``members``.

    The manifest says which files exist, so a stray file in the folder is never read, and a
    download fetches exactly the files the loader goes on to read.
    """
    prefix = _prefix(members)
    return [
        rel
        for rel in manifest
        if rel.startswith(prefix)
        and "/" not in rel[len(prefix) :]
        and READER_FILE.fullmatch(rel[len(prefix) :])
    ]


def _prefix(members: str) -> str:
    members = str(members).removeprefix("./")
    return members if members.endswith("/") else members + "/"


def _wanted(name: str, prefixes: Sequence[str]) -> bool:
    return any(name == p or (p.endswith("/") and name.startswith(p)) for p in prefixes)


def unpack_corpora(
    archive: str | os.PathLike,
    members_manifest: str | os.PathLike,
    target_dir: str | os.PathLike,
    wanted_prefixes: Sequence[str],
    archive_sums: str | os.PathLike | None = None,
    max_member_bytes: int = MAX_MEMBER_BYTES,
    max_total_bytes: int = MAX_TOTAL_BYTES,
) -> list[str]:
    """Extract the wanted members of a corpus archive, each verified, into ``target_dir``.

    Nothing is trusted before it is checked: the archive's SHA-256 against ``archive_sums``
    (when given); then, before any byte is extracted, every archive member under a wanted
    prefix must be a regular file (or a folder) listed in ``members_manifest``, at most
    ``max_member_bytes`` by its header, and every listed file under the prefixes must be in
    the archive. The wanted files are then streamed into a temporary folder inside
    ``target_dir`` and hashed on the way; only once all match the manifest are they moved
    into place (``os.replace``, file by file), so ``target_dir`` never holds an unverified
    or half-written file. Files already in place with their manifest hash are kept.

    Parameters
    ----------
    archive
        A tar archive, compressed or not (``.tar.xz`` upstream).
    members_manifest
        ``sha256sum`` lines for the members (``SHA256SUMS.members``), paths as in the archive.
    target_dir
        Where the members land, under their archive paths.
    wanted_prefixes
        Folder prefixes (ending in ``/``) or exact member paths: :func:`needed_members`.
    archive_sums
        ``sha256sum`` lines listing the archive by its file name (``SHA256SUMS``).
    max_member_bytes, max_total_bytes
        Caps (bytes) on one wanted member and on all members of the archive together (each
        header is read, so every byte is decompressed once to check them all), so that a
        small archive cannot unpack gigabytes.

    Returns
    -------
    list of str
        The member paths now in ``target_dir``, sorted.

    Raises
    ------
    ValueError
        One line naming the archive (and member) on any fault; nothing is left behind.
    """
    archive, target_dir = Path(archive), Path(target_dir)
    prefixes = [str(p).removeprefix("./") for p in wanted_prefixes]
    if archive_sums is not None:
        sums = read_manifest(archive_sums)
        expected = sums.get(archive.name)
        if expected is None:
            raise ValueError(f"{archive}: not listed in {archive_sums}; cannot be verified")
        found = sha256_file(archive)
        if found != expected:
            raise ValueError(
                f"{archive}: SHA-256 {found} differs from {archive_sums}'s {expected}; the "
                "archive is corrupted or altered, nothing unpacked"
            )
    manifest = read_manifest(members_manifest)
    listed = sorted(rel for rel in manifest if _wanted(rel, prefixes))
    if not listed:
        raise ValueError(f"{members_manifest}: lists no member under {prefixes} of {archive}")
    if all(
        (target_dir / rel).is_file() and sha256_file(target_dir / rel) == manifest[rel]
        for rel in listed
    ):
        logger.info("%d members of %s already in %s, verified", len(listed), archive, target_dir)
        return listed
    target_dir.mkdir(parents=True, exist_ok=True)
    # a rerun of the same extraction first removes what a killed earlier one left behind
    key = hashlib.sha1("\n".join(sorted(prefixes)).encode()).hexdigest()[:12]
    for stale in target_dir.glob(f".unpack-{key}.*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".unpack-{key}.", dir=target_dir))
    current = "(header)"
    try:
        with tarfile.open(archive, "r:*") as tar:
            chosen = _check_members(
                tar,
                archive,
                members_manifest,
                manifest,
                listed,
                prefixes,
                max_member_bytes,
                max_total_bytes,
            )
            for member in chosen:
                current = member.name.removeprefix("./")
                _extract_verified(
                    tar, member, tmp / current, manifest[current], archive, members_manifest
                )
        for rel in listed:
            (target_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp / rel, target_dir / rel)
    except (tarfile.TarError, EOFError, lzma.LZMAError, zlib.error, OSError) as err:
        raise ValueError(f"{archive}: member {current}: unreadable archive ({err})") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    logger.info("unpacked %d verified members of %s into %s", len(listed), archive, target_dir)
    return listed


def _check_members(
    tar: tarfile.TarFile,
    archive: Path,
    manifest_path: str | os.PathLike,
    manifest: Mapping[str, str],
    listed: Sequence[str],
    prefixes: Sequence[str],
    max_member_bytes: int,
    max_total_bytes: int,
) -> list[tarfile.TarInfo]:
    """The wanted members, in archive order, once every header has passed the checks."""
    chosen: dict[str, tarfile.TarInfo] = {}
    remaining, total = set(listed), 0
    # iterating reads one header at a time, so the caps stop a bomb before it is inflated
    # (never break early: a member the manifest lacks may come after the last listed one)
    for member in tar:
        name = member.name.removeprefix("./")
        total += member.size
        if total > max_total_bytes:
            raise ValueError(
                f"{archive}: member {name}: members up to it sum to {total} bytes, over the "
                f"cap of {max_total_bytes}; refused"
            )
        if not _wanted(name, prefixes) or member.isdir():
            continue
        if not member.isfile():
            raise ValueError(
                f"{archive}: member {name} is not a regular file (a link or device); refused"
            )
        if name not in manifest:
            raise ValueError(f"{archive}: member {name} is not listed in {manifest_path}; refused")
        if name in chosen:
            raise ValueError(f"{archive}: member {name} appears twice; refused")
        if member.size > max_member_bytes:
            raise ValueError(
                f"{archive}: member {name} is {member.size} bytes, over the cap of "
                f"{max_member_bytes}; refused"
            )
        chosen[name] = member
        remaining.discard(name)
    if remaining:
        raise ValueError(
            f"{archive}: lacks {len(remaining)} members that {manifest_path} lists, e.g. "
            f"{sorted(remaining)[0]}"
        )
    return list(chosen.values())


def _extract_verified(
    tar: tarfile.TarFile,
    member: tarfile.TarInfo,
    dest: Path,
    expected: str,
    archive: Path,
    manifest_path: str | os.PathLike,
) -> None:
    """Stream one member to ``dest``, hashing on the way; refuse it unless the hash matches."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest, written = hashlib.sha256(), 0
    source = tar.extractfile(member)
    with source, open(dest, "wb") as out:
        while chunk := source.read(1 << 20):
            written += len(chunk)
            digest.update(chunk)
            out.write(chunk)
    name = member.name.removeprefix("./")
    if written != member.size:
        raise ValueError(f"{archive}: member {name}: {written} of {member.size} bytes; truncated")
    if digest.hexdigest() != expected:
        raise ValueError(
            f"{archive}: member {name}: SHA-256 {digest.hexdigest()} differs from "
            f"{manifest_path}'s {expected}; corrupted or altered, nothing unpacked"
        )


# --------------------------------------------------------------------------- reader files


@dataclass
class ReaderFile:
    """One reader's relfix file, rows in file order.

    Attributes
    ----------
    reader
        The reader id (:data:`READER_FILE`).
    path
        The file.
    sentence_ids
        ``(n_sentences,)`` int64, the file's ``sentence_id`` of each run of rows.
    starts
        ``(n_sentences + 1,)`` int64: sentence ``k`` is rows ``[starts[k], starts[k + 1])``.
    words
        ``n_rows`` words (text, possibly ``""``).
    trt, relfix
        ``(n_rows,)`` float64: TRT in ms and the file's relFix, NaN where the cell was empty.
    word_id_orig
        ``n_rows`` GECO word ids (``1-5-1``), or None where the file has no such column.
    repeated_word_ids
        Rows whose ``(sentence_id, word_id)`` an earlier row of the file already had.
    """

    reader: str
    path: Path
    sentence_ids: np.ndarray
    starts: np.ndarray
    words: list[str]
    trt: np.ndarray
    relfix: np.ndarray
    word_id_orig: list[str] | None
    repeated_word_ids: int = 0

    def sentences(self) -> list[tuple[str, ...]]:
        """The file's sentences as word tuples, in file order."""
        w, s = self.words, self.starts
        return [tuple(w[a:b]) for a, b in zip(s[:-1].tolist(), s[1:].tolist(), strict=True)]


def reader_id(path: str | os.PathLike) -> str:
    """The reader id of a relfix file name; ``ValueError`` if the name does not fit."""
    match = READER_FILE.fullmatch(Path(path).name)
    if match is None:
        raise ValueError(f"{path}: not a reader file name (<id>-relfix-feats.csv)")
    return match["reader"]


def read_relfix_file(path: str | os.PathLike, reader: str | None = None) -> ReaderFile:
    """Read one reader's relfix CSV (layout in the module doc).

    Raises
    ------
    ValueError
        Naming the file: a missing column, a non-numeric cell (other than empty or ``nan``
        in TRT and relFix), no rows, or a ``sentence_id`` in two separate runs of rows.
    """
    path = Path(path)
    numeric_na = ["", "nan", "NaN"]
    try:
        frame = pd.read_csv(
            path,
            index_col=0,
            keep_default_na=False,
            na_values={"TRT": numeric_na, "relFix": numeric_na},
            dtype={
                "sentence_id": np.int64,
                "word_id": np.int64,
                "word": str,
                "word_id_orig": str,
                "TRT": np.float64,
                "relFix": np.float64,
            },
        )
    except (ValueError, TypeError, pd.errors.ParserError) as err:
        raise ValueError(f"{path}: not a relfix CSV ({' '.join(str(err).split())})") from None
    missing = [c for c in RELFIX_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: lacks the relfix columns {missing} (has {list(frame.columns)})")
    if frame.empty:
        raise ValueError(f"{path}: holds no rows")
    ids = frame["sentence_id"].to_numpy(np.int64)
    starts = np.concatenate(([0], np.flatnonzero(np.diff(ids)) + 1, [len(ids)])).astype(np.int64)
    run_ids = ids[starts[:-1]]
    if len(np.unique(run_ids)) != len(run_ids):
        twice = pd.Series(run_ids).duplicated(keep=False)
        rows = starts[:-1][twice.to_numpy()][:2].tolist()
        raise ValueError(
            f"{path}: sentence_id {run_ids[twice.to_numpy()][0]} occurs in two separate runs "
            f"of rows (from rows {rows}); cannot tell the sentences apart"
        )
    orig = frame["word_id_orig"].tolist() if "word_id_orig" in frame.columns else None
    return ReaderFile(
        reader=reader if reader is not None else reader_id(path),
        path=path,
        sentence_ids=run_ids,
        starts=starts,
        words=[w.strip() for w in frame["word"].tolist()],
        trt=frame["TRT"].to_numpy(np.float64),
        relfix=frame["relFix"].to_numpy(np.float64),
        word_id_orig=orig,
        repeated_word_ids=int(frame.duplicated(["sentence_id", "word_id"]).sum()),
    )


def _natural_key(reader: str) -> list:
    """Sort key putting ``reader2`` before ``reader10``."""
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", reader)]


def read_material(path: str | os.PathLike) -> dict[str, str]:
    """GECO's stimulus table (``EnglishMaterial_corrected.csv``) as ``{WORD_ID: WORD}``.

    Raises
    ------
    ValueError
        Naming the file: no ``WORD_ID`` or ``WORD`` column, or a ``WORD_ID`` twice.
    """
    path = Path(path)
    table = pd.read_csv(path, keep_default_na=False, dtype=str)
    if not {"WORD_ID", "WORD"} <= set(table.columns):
        raise ValueError(f"{path}: lacks WORD_ID or WORD (has {list(table.columns)})")
    if not table["WORD_ID"].is_unique:
        raise ValueError(
            f"{path}: WORD_ID {table['WORD_ID'][table['WORD_ID'].duplicated()].iloc[0]}"
            " appears twice"
        )
    return dict(
        zip(table["WORD_ID"].tolist(), (w.strip() for w in table["WORD"].tolist()), strict=True)
    )


def _fold(word: str) -> str:
    return re.sub(r"[\W_]+", "", word.lower())


# --------------------------------------------------------------------------- checks


class _Checks:
    """Collects faults: each is one logged warning and one row of the checks table."""

    def __init__(self, corpus: str) -> None:
        self.corpus = corpus
        self.rows: list[dict] = []

    def add(self, check: str, detail: str, reader: str = "", sentence: int = -1) -> None:
        where = self.corpus + (f" reader {reader}" if reader else "")
        where += f" sentence {sentence}" if sentence >= 0 else ""
        logger.warning("%s: %s: %s", where, check, detail)
        self.rows.append(
            dict(
                corpus=self.corpus,
                reader=reader,
                sentence=int(sentence),
                check=check,
                detail=detail,
            )
        )

    def table(self) -> pd.DataFrame:
        return checks_table(self.rows)


def checks_table(rows: Iterable[dict]) -> pd.DataFrame:
    """Tidy table of check rows (:data:`CHECK_COLUMNS`); ``sentence`` is int, -1 for none."""
    table = pd.DataFrame(list(rows), columns=CHECK_COLUMNS)
    return table.astype(
        {"corpus": str, "reader": str, "sentence": np.int64, "check": str, "detail": str}
    )


# --------------------------------------------------------------------------- GECO's words


def restore_words(
    files: Sequence[ReaderFile], material: Mapping[str, str], checks: _Checks
) -> list[ReaderFile]:
    """Replace each row's word by the stimulus word joined on ``word_id_orig`` = ``WORD_ID``.

    Rows that do not join keep their word; they, and joins whose stimulus word does not fold
    (lower case, no non-word characters) to the row's word, are reported per reader.
    """
    restored = []
    for rf in files:
        if rf.word_id_orig is None:
            raise ValueError(f"{rf.path}: has no word_id_orig column to join the material on")
        words = rf.words.copy()
        unjoined, differ = [], []
        for k, wid in enumerate(rf.word_id_orig):
            shown = material.get(wid)
            if shown is None:
                unjoined.append(wid)
                continue
            # folding only where lower-casing does not already match: 1.5 M words in GECO
            if shown.lower() != words[k] and _fold(shown) != _fold(words[k]):
                differ.append(f"row {k} {wid}: {words[k]!r} vs {shown!r}")
            words[k] = shown
        if unjoined:
            checks.add(
                "material_unjoined",
                f"{len(unjoined)} rows do not join, e.g. "
                f"word_id_orig {unjoined[:3]}; they keep their lower-cased word",
                rf.reader,
            )
        if differ:
            checks.add(
                "material_mismatch",
                f"{len(differ)} joined words differ from the row's: " + "; ".join(differ[:3]),
                rf.reader,
            )
        restored.append(replace(rf, words=words))
    return restored


# --------------------------------------------------------------------------- alignment


def _similar(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Same length and more than half of the words agree: one sentence, a few words differ."""
    return len(a) == len(b) and 2 * sum(x == y for x, y in zip(a, b, strict=True)) > len(a)


def _merge(
    ref: list[tuple[str, ...]], sents: list[tuple[str, ...]]
) -> tuple[list[tuple[str, ...]], np.ndarray, np.ndarray]:
    """Merge one reader's sentences into the corpus list so far (rule in the module doc).

    Returns the merged list, the new position of each sentence of ``ref`` and the position
    of each of ``sents``, both int64.
    """
    merged: list[tuple[str, ...]] = []
    old_to_new = np.empty(len(ref), dtype=np.int64)
    pos = np.empty(len(sents), dtype=np.int64)
    matcher = difflib.SequenceMatcher(None, ref, sents, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        for k in range(max(i2 - i1, j2 - j1)):
            i = i1 + k if i1 + k < i2 else None
            j = j1 + k if j1 + k < j2 else None
            shared = i is not None and j is not None
            if shared and (tag == "equal" or _similar(ref[i], sents[j])):
                old_to_new[i] = pos[j] = len(merged)
                merged.append(ref[i])
                continue
            if i is not None:
                old_to_new[i] = len(merged)
                merged.append(ref[i])
            if j is not None:
                pos[j] = len(merged)
                merged.append(sents[j])
    return merged, old_to_new, pos


def align_sentences(
    per_reader: Sequence[Sequence[tuple[str, ...]]],
) -> tuple[list[tuple[str, ...]], list[np.ndarray]]:
    """Merge the readers' sentence lists into one corpus list (rule in the module doc).

    Parameters
    ----------
    per_reader
        For each reader, their sentences as word tuples in file order.

    Returns
    -------
    sentences
        The corpus' sentences; where aligned readers disagree on words, the tuple most of
        them have (ties: the earliest reader's).
    positions
        For each reader, ``(n_reader_sentences,)`` int64: the corpus sentence each of their
        sentences is, strictly increasing (so no two share one).
    """
    order = sorted(range(len(per_reader)), key=lambda r: -len(per_reader[r]))
    ref = list(per_reader[order[0]])
    positions: dict[int, np.ndarray] = {order[0]: np.arange(len(ref), dtype=np.int64)}
    for r in order[1:]:
        sents = list(per_reader[r])
        if sents == ref:
            positions[r] = np.arange(len(ref), dtype=np.int64)
            continue
        ref, old_to_new, pos = _merge(ref, sents)
        for q in positions:
            positions[q] = old_to_new[positions[q]]
        positions[r] = pos
    votes: list[Counter] = [Counter() for _ in ref]
    for r in range(len(per_reader)):
        for sentence, c in zip(per_reader[r], positions[r].tolist(), strict=True):
            votes[c][sentence] += 1
    # Counter.most_common keeps first-seen order among ties: the earliest reader's tuple
    sentences = [v.most_common(1)[0][0] for v in votes]
    return sentences, [positions[r] for r in range(len(per_reader))]


# --------------------------------------------------------------------------- the corpus


def _text_ids(
    rule: str, sentences: Sequence[tuple[str, ...]], first_orig: Sequence[str | None], name: str
) -> np.ndarray:
    """``(n_sentences,)`` int64 text ids by ``rule`` (:data:`TEXT_RULES`)."""
    if rule == "none":
        return np.zeros(len(sentences), dtype=np.int64)
    if rule == "word_id_orig":
        parts = [str(o).split("-")[0] if o is not None else "" for o in first_orig]
        bad = next((p for p in parts if not p.isdigit()), None)
        if bad is not None:
            raise ValueError(f"corpus {name}: a sentence's word_id_orig {bad!r} has no part")
        return np.array([int(p) for p in parts], dtype=np.int64)
    texts = np.full(len(sentences), -1, dtype=np.int64)
    start = 0
    for t, (text, opening) in enumerate(POTEC_TEXTS):
        head = tuple(opening.split())
        found = next(
            (s for s in range(start, len(sentences)) if sentences[s][: len(head)] == head), None
        )
        if found is None or (t == 0 and found != 0):
            raise ValueError(
                f"corpus {name}: PoTeC text {text} ('{opening} ...') is not where expected "
                "among the sentences; cannot assign texts"
            )
        texts[found:] = t
        start = found + 1
    return texts


def _read_reader_table(path: Path) -> pd.DataFrame:
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    if "reader_id" not in table.columns:
        raise ValueError(f"{path}: lacks a reader_id column (has {list(table.columns)})")
    table["reader_id"] = table["reader_id"].str.strip()
    if not table["reader_id"].is_unique:
        raise ValueError(
            f"{path}: reader_id {table['reader_id'][table['reader_id'].duplicated()].iloc[0]} twice"
        )
    return table.set_index("reader_id")


def _groups(
    name: str,
    specs: Mapping | None,
    reader_ids: Sequence[str],
    table: pd.DataFrame | None,
    table_path: Path | None,
    checks: _Checks,
) -> dict[str, list[str]]:
    """Group name -> readers (in ``reader_ids`` order), from the entry's ``groups``."""
    if not specs:
        return {"all": list(reader_ids)}
    groups = {}
    for group, spec in specs.items():
        spec = dict(spec or {})
        if not spec:
            members = list(reader_ids)
        elif set(spec) == {"readers"}:
            wanted = {str(r) for r in spec["readers"]}
            unknown = sorted(wanted - set(reader_ids))
            if unknown:
                raise ValueError(f"corpus {name} group {group}: readers {unknown[:5]} have no file")
            members = [r for r in reader_ids if r in wanted]
        elif set(spec) == {"column", "equals"}:
            if table is None:
                raise ValueError(f"corpus {name} group {group}: a column needs a reader_table")
            column = str(spec["column"])
            if column not in table.columns and column in DERIVED_COLUMNS:
                source, mapping = DERIVED_COLUMNS[column]
                if source in table.columns:
                    values = table[source].str.strip()
                    table[column] = values.map(mapping).fillna("") if mapping else values
                    rule = f" ({mapping})" if mapping else ""
                    checks.add(
                        "reader_table_column",
                        f"{table_path} has no {column}; derived from {source}{rule}",
                    )
            if column not in table.columns:
                raise ValueError(f"{table_path}: corpus {name} group {group}: no column {column}")
            values = table[column].reindex(list(reader_ids)).fillna("").str.strip()
            members = [
                r for r, v in zip(reader_ids, values, strict=True) if v == str(spec["equals"])
            ]
        else:
            raise ValueError(
                f"corpus {name} group {group}: a group is {{}}, {{readers: [...]}} or "
                f"{{column: ..., equals: ...}}, got {sorted(spec)}"
            )
        if not members:
            raise ValueError(f"corpus {name} group {group}: no reader")
        groups[str(group)] = members
    return groups


def build_corpus(
    name: str,
    language: str,
    files: Sequence[ReaderFile],
    checks: _Checks,
    texts: str = "none",
    source: str = "",
) -> ReadingCorpus:
    """Align the reader files, check their values and build the per-reader arrays.

    The corpus has the single group ``all``; :func:`load_reading_corpus` sets the groups.
    """
    per_reader = [rf.sentences() for rf in files]
    sentences, positions = align_sentences(per_reader)
    lengths = np.array([len(s) for s in sentences], dtype=np.int64)
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    n_words = int(offsets[-1])
    trt = np.full((len(files), n_words), np.nan)
    relfix = np.full((len(files), n_words), np.nan)
    first_orig: list[str | None] = [None] * len(sentences)
    for r, (rf, pos, mine) in enumerate(zip(files, positions, per_reader, strict=True)):
        if len(pos) != len(sentences):
            missing = np.setdiff1d(np.arange(len(sentences)), pos)
            checks.add(
                "sentence_count",
                f"{len(pos)} of {len(sentences)} sentences; lacks "
                f"corpus sentences {missing[:8].tolist()}" + (" ..." if missing.size > 8 else ""),
                rf.reader,
            )
        if rf.repeated_word_ids:
            checks.add(
                "word_id_repeated",
                f"{rf.repeated_word_ids} rows share their sentence's "
                "word_id with another row; kept as words in file order",
                rf.reader,
            )
        for k, c in enumerate(pos.tolist()):
            if mine[k] != sentences[c]:
                diff = [
                    f"word {i}: {a!r} where most readers have {b!r}"
                    for i, (a, b) in enumerate(zip(mine[k], sentences[c], strict=True))
                    if a != b
                ]
                checks.add(
                    "word_mismatch",
                    f"file sentence_id {rf.sentence_ids[k]}: " + "; ".join(diff[:3]),
                    rf.reader,
                    c,
                )
            if first_orig[c] is None and rf.word_id_orig is not None:
                first_orig[c] = rf.word_id_orig[rf.starts[k]]
        _place(rf, pos, offsets, trt[r], relfix[r], checks)
    corpus = ReadingCorpus(
        corpus=name,
        language=language,
        sentences=sentences,
        texts=_text_ids(texts, sentences, first_orig, name),
        reader_ids=[rf.reader for rf in files],
        groups={"all": [rf.reader for rf in files]},
        trt=trt,
        relfix=relfix,
        source=source,
    )
    return corpus


def _place(
    rf: ReaderFile,
    pos: np.ndarray,
    offsets: np.ndarray,
    trt_row: np.ndarray,
    relfix_row: np.ndarray,
    checks: _Checks,
) -> None:
    """Check one reader's values sentence by sentence and write their vectors into the rows."""
    starts, lengths = rf.starts[:-1], np.diff(rf.starts)
    trt, rel = rf.trt, rf.relfix
    nan_trt = np.add.reduceat(np.isnan(trt), starts)
    negative = np.add.reduceat(trt < 0, starts)
    total = np.add.reduceat(np.nan_to_num(trt), starts)
    vector = (nan_trt == 0) & (negative == 0) & (total > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = trt / np.repeat(total, lengths)
    nan_rel = np.add.reduceat(np.isnan(rel), starts)
    off = np.where(np.isnan(rel), 0.0, np.abs(rel - np.where(vector.repeat(lengths), expected, 0)))
    worst = np.maximum.reduceat(off, starts)
    clean = (nan_trt == 0) & (negative == 0)
    empty = np.array([w == "" for w in rf.words])
    for k in np.flatnonzero(
        (nan_trt > 0)
        | (negative > 0)
        | (vector & (nan_rel > 0))
        | (clean & (worst > RELFIX_TOLERANCE))
        | (np.add.reduceat(empty, starts) > 0)
    ):
        c, sid = int(pos[k]), rf.sentence_ids[k]
        rows = slice(rf.starts[k], rf.starts[k + 1])
        if nan_trt[k]:
            checks.add(
                "trt_nan",
                f"file sentence_id {sid}: {nan_trt[k]} of {lengths[k]} words "
                "have no TRT; no vector",
                rf.reader,
                c,
            )
        if negative[k]:
            checks.add(
                "trt_negative",
                f"file sentence_id {sid}: TRT {trt[rows].min():g} ms; no vector",
                rf.reader,
                c,
            )
        if vector[k] and nan_rel[k]:
            checks.add(
                "relfix_nan",
                f"file sentence_id {sid}: {nan_rel[k]} of {lengths[k]} "
                f"relFix cells empty on a fixated sentence (TRT total {total[k]:g} ms)",
                rf.reader,
                c,
            )
        if clean[k] and worst[k] > RELFIX_TOLERANCE:
            what = "TRT / sentence total" if vector[k] else "NaN (no fixation on the sentence)"
            checks.add(
                "relfix_mismatch",
                f"file sentence_id {sid}: relFix off {what} by up to {worst[k]:.3g} (the "
                f"file's relFix sums to {np.nansum(rel[rows]):.3g}, TRT to {total[k]:g} ms); "
                "relfix is recomputed from TRT",
                rf.reader,
                c,
            )
        for i in np.flatnonzero(empty[rows]).tolist():
            orig = f" (word_id_orig {rf.word_id_orig[rows][i]})" if rf.word_id_orig else ""
            checks.add(
                "empty_word",
                f"file sentence_id {sid} word {i}{orig}: empty word cell, "
                f"TRT {trt[rows][i]:g} ms; kept as the word ''",
                rf.reader,
                c,
            )
    rows = np.repeat(vector, lengths)
    columns = np.repeat(offsets[pos], lengths) + (np.arange(len(trt)) - np.repeat(starts, lengths))
    trt_row[columns[rows]] = trt[rows]
    relfix_row[columns[rows]] = expected[rows]


def _check_entry(entry: Mapping) -> None:
    name = entry.get("name", "?")
    unknown = sorted(set(entry) - ENTRY_KEYS)
    if unknown:
        raise ValueError(f"corpus {name}: unknown keys {unknown} (known: {sorted(ENTRY_KEYS)})")
    for key in ("name", "layout", "path", "members"):
        if not entry.get(key):
            raise ValueError(f"corpus {name}: {key} is required")
    if entry["layout"] not in LAYOUTS:
        raise ValueError(f"corpus {name}: layout {entry['layout']!r} is not one of {LAYOUTS}")
    if not isinstance(entry.get("groups") or {}, Mapping):
        raise ValueError(f"corpus {name}: groups must map group names to specs")
    if entry.get("texts", "none") not in TEXT_RULES:
        raise ValueError(f"corpus {name}: texts {entry['texts']!r} is not one of {TEXT_RULES}")
    download = entry.get("download", False)
    if not isinstance(download, bool):
        raise ValueError(f"corpus {name}: download must be true or false, not {download!r}")
    if download and not entry.get("manifest"):
        raise ValueError(
            f"corpus {name}: download needs a manifest (SHA256SUMS.members) to check the "
            "fetched files against"
        )
    if download and is_archive(entry["path"]):
        raise ValueError(
            f"corpus {name}: download fetches files into a folder; path {entry['path']} is an "
            "archive (give a folder path, or drop download to read the archive)"
        )


# --------------------------------------------------------------------------- downloading


def download_members(entry: Mapping) -> list[str]:
    """The repository paths a ``download: true`` entry fetches, in manifest order.

    The reader files its ``manifest`` lists under ``members`` (:func:`manifest_reader_files`,
    the files :func:`load_reading_corpus` reads and verifies) and ``material`` when set.

    Raises
    ------
    ValueError
        One line naming the corpus: a bad entry, or a manifest without a reader file there.
    """
    return _download_plan(entry)[1]


def _download_plan(entry: Mapping) -> tuple[dict[str, str], list[str]]:
    """The entry's manifest and the repository paths it fetches (:func:`download_members`)."""
    _check_entry(entry)
    name = entry["name"]
    if not entry.get("download", False):
        raise ValueError(f"corpus {name}: download is not set; nothing to fetch")
    manifest = read_manifest(entry["manifest"])
    files = manifest_reader_files(manifest, entry["members"])
    if not files:
        raise ValueError(
            f"corpus {name}: {entry['manifest']} lists no reader file under {entry['members']}"
        )
    return manifest, files + ([str(entry["material"])] if entry.get("material") else [])


def _local_paths(entry: Mapping, relpaths: Sequence[str]) -> list[str]:
    """Where the fetched ``relpaths`` and the reader table land (:func:`corpus_download_paths`)."""
    paths = [str(Path(entry["path"]) / rel) for rel in relpaths]
    if entry.get("reader_table"):
        paths.append(str(Path(entry["reader_table"])))
    return paths


def corpus_download_paths(entry: Mapping) -> list[str]:
    """The local paths :func:`download_corpus` writes for ``entry`` (known before it runs).

    Each member of :func:`download_members` under the folder ``path``, then
    ``reader_table`` when set: the outputs of the workflow's ``download_corpus`` job.
    """
    return _local_paths(entry, download_members(entry))


def download_corpus(
    entry: Mapping,
    base_url: str = CORPUS_RAW_URL,
    reader_table_url: str = READER_TABLE_URL,
    reader_table_sha256: str = POTEC_TABLE_SHA256,
    timeout: float = 60.0,
) -> list[str]:
    """Fetch the files a ``download: true`` corpus entry reads, each verified on arrival.

    The members of :func:`download_members` land in the folder ``path`` under their
    repository paths, fetched from :data:`CORPUS_COMMIT` and checked against ``manifest``;
    ``reader_table``, when set, is PoTeC's table (:data:`POTEC_TABLE_PATH` at
    :data:`POTEC_COMMIT`), checked against ``reader_table_sha256``. Each file is streamed
    to a temporary file and kept only if its SHA-256 matches
    (:func:`~readalike.core.checksums.download_files`); a file already in place with its
    hash is not fetched again. :func:`load_reading_corpus` checks every file once more.

    Parameters
    ----------
    entry
        The corpus' config mapping, with ``download: true``, a folder ``path`` and
        ``manifest``.
    base_url
        ``str.format`` template of a reader file's URL, with ``{commit}`` and ``{path}`` (the
        repository path); ``"file:///mirror/{path}"`` for a local mirror.
    reader_table_url
        The same for the reader table (``{path}`` is :data:`POTEC_TABLE_PATH`).
    reader_table_sha256
        The SHA-256 the reader table must have.
    timeout
        Seconds to wait on each connection.

    Returns
    -------
    list of str
        The local paths now in place, verified: :func:`corpus_download_paths`.

    Raises
    ------
    ValueError
        One line naming the corpus: a bad entry (no manifest, an archive ``path``), or a
        fetched file whose bytes differ from its hash (naming the file and URL; not kept).
    OSError
        One line naming the corpus, the file and the URL: the fetch failed (no network,
        a file missing upstream).
    """
    manifest, relpaths = _download_plan(entry)
    name, root = entry["name"], Path(entry["path"])
    table = Path(entry["reader_table"]) if entry.get("reader_table") else None
    table_url = reader_table_url.format(commit=POTEC_COMMIT, path=POTEC_TABLE_PATH)
    try:
        download_files(relpaths, root, manifest, CORPUS_COMMIT, base_url, timeout)
        if table is not None:
            download_files(
                [table.name],
                table.parent,
                {table.name: reader_table_sha256},
                POTEC_COMMIT,
                # already formatted: download_files' own format must leave it as it is
                table_url.replace("{", "{{").replace("}", "}}"),
                timeout,
            )
    except ValueError as err:
        raise ValueError(f"corpus {name}: {err}") from None
    except OSError as err:
        raise OSError(f"corpus {name}: {err}") from None
    paths = _local_paths(entry, relpaths)
    logger.info("corpus %s: %d files in place, verified", name, len(paths))
    return paths


def load_reading_corpus(
    entry: Mapping,
    unpack_dir: str | os.PathLike | None = None,
    max_member_bytes: int = MAX_MEMBER_BYTES,
    max_total_bytes: int = MAX_TOTAL_BYTES,
) -> tuple[ReadingCorpus, pd.DataFrame]:
    """Load one configured corpus: verify, read, align, check (see the module doc).

    Parameters
    ----------
    entry
        The corpus' config mapping (keys in the module doc).
    unpack_dir
        Where an archive ``path`` is unpacked (:func:`unpack_corpora`); required then.
    max_member_bytes, max_total_bytes
        Caps passed to :func:`unpack_corpora`.

    Returns
    -------
    corpus
        The :class:`~readalike.core.formats.ReadingCorpus`, groups as configured.
    checks
        One row per data fault (:data:`CHECK_COLUMNS`).

    Raises
    ------
    ValueError
        One line naming the corpus or file: a bad entry, a file failing its hash, a
        structural fault of a file, a reader id twice, a group without readers.
    """
    began = time.perf_counter()
    _check_entry(entry)
    name, path, prefix = str(entry["name"]), Path(entry["path"]), _prefix(entry["members"])
    checks = _Checks(name)
    manifest = read_manifest(entry["manifest"]) if entry.get("manifest") else None
    if path.is_file():
        if manifest is None or unpack_dir is None:
            raise ValueError(f"corpus {name}: archive {path} needs a manifest and an unpack_dir")
        unpack_corpora(
            path,
            entry["manifest"],
            unpack_dir,
            needed_members([entry]),
            entry.get("sums"),
            max_member_bytes,
            max_total_bytes,
        )
        root = Path(unpack_dir)
    elif path.is_dir():
        root = path
    else:
        raise ValueError(f"corpus {name}: {path} is neither a folder nor an archive")
    if manifest is not None:
        names = manifest_reader_files(manifest, prefix)
        if not path.is_file():  # unpack_corpora has verified what it unpacked
            extra = [str(entry["material"])] if entry.get("material") else []
            verify_files(root, manifest, names + extra)
        paths = [root / rel for rel in names]
    else:
        paths = [
            p for p in (root / prefix).glob("*-relfix-feats.csv") if READER_FILE.fullmatch(p.name)
        ]
    if not paths:
        raise ValueError(f"corpus {name}: no reader file under {root / prefix}")
    by_reader: dict[str, Path] = {}
    for p in paths:
        rid = reader_id(p)
        if rid in by_reader:
            raise ValueError(f"corpus {name}: reader {rid} has two files: {by_reader[rid]}, {p}")
        by_reader[rid] = p
    readers = sorted(by_reader, key=_natural_key)
    files = [read_relfix_file(by_reader[r], r) for r in readers]
    if entry.get("material"):
        files = restore_words(files, read_material(root / str(entry["material"])), checks)
    corpus = build_corpus(
        name,
        str(entry.get("language", "")),
        files,
        checks,
        texts=str(entry.get("texts", "none")),
        source=_source(entry),
    )
    table = table_path = None
    if entry.get("reader_table"):
        table_path = Path(entry["reader_table"])
        if entry.get("sums"):
            verify_files(table_path.parent, read_manifest(entry["sums"]), [table_path.name])
        table = _read_reader_table(table_path)
        for rid in sorted(set(table.index) - set(readers), key=_natural_key):
            checks.add("reader_without_file", f"{table_path} lists reader {rid}; no file", rid)
        for rid in sorted(set(readers) - set(table.index), key=_natural_key):
            checks.add(
                "file_without_reader", f"{by_reader[rid].name} has no row in {table_path}", rid
            )
    corpus.groups = _groups(name, entry.get("groups"), readers, table, table_path, checks)
    corpus.check(f"corpus {name}")
    vectors = corpus.has_vector()
    logger.info(
        "loaded %s: %d readers, %d sentences, %d words, %d of %d reader-sentences with a vector, "
        "%d check rows, in %.1f s",
        name,
        len(readers),
        len(corpus.sentences),
        corpus.n_words,
        int(vectors.sum()),
        vectors.size,
        len(checks.rows),
        time.perf_counter() - began,
    )
    return corpus, checks.table()


def _source(entry: Mapping) -> str:
    return f"{entry['path']}:{_prefix(entry['members'])} ({entry['layout']} layout)"


# --------------------------------------------------------------------------- tables


def group_means(corpus: ReadingCorpus, group: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean TRT and relfix per word over the group's readers who have a vector there.

    Returns
    -------
    mean_trt, mean_relfix
        ``(n_words,)`` float64 (ms, and a fraction of the sentence), NaN where no reader of
        the group has a vector for the sentence.
    readers
        ``(n_words,)`` int64, the readers each mean is over.
    """
    members = set(corpus.groups[group])
    rows = np.array([k for k, r in enumerate(corpus.reader_ids) if r in members], dtype=np.int64)
    trt, rel = corpus.trt[rows], corpus.relfix[rows]
    readers = (~np.isnan(trt)).sum(axis=0).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_trt = np.where(readers > 0, np.nansum(trt, axis=0) / readers, np.nan)
        mean_rel = np.where(readers > 0, np.nansum(rel, axis=0) / readers, np.nan)
    return mean_trt, mean_rel, readers


TABLE_COLUMNS = table_columns("reading_measures")


def reading_measures_table(corpus: ReadingCorpus) -> pd.DataFrame:
    """Tidy table of the group means: one row per group and word (:data:`TABLE_COLUMNS`).

    ``text`` is the sentence's text id (module doc), ``sentence`` the corpus sentence,
    ``word_index`` the word's position in it, ``readers`` the readers the means are over
    (0, with NaN means, where no reader of the group has a vector for the sentence);
    ``mean_trt`` in ms.
    """
    offsets = corpus.offsets()
    lengths = np.diff(offsets)
    sentence = np.repeat(np.arange(len(corpus.sentences), dtype=np.int64), lengths)
    word_index = np.arange(corpus.n_words, dtype=np.int64) - np.repeat(offsets[:-1], lengths)
    words = [w for s in corpus.sentences for w in s]
    blocks = []
    for group in corpus.groups:
        mean_trt, mean_rel, readers = group_means(corpus, group)
        blocks.append(
            pd.DataFrame(
                {
                    "corpus": corpus.corpus,
                    "group": group,
                    "text": np.asarray(corpus.texts, dtype=np.int64)[sentence],
                    "sentence": sentence,
                    "word_index": word_index,
                    "word": words,
                    "readers": readers,
                    "mean_trt": mean_trt,
                    "mean_relfix": mean_rel,
                }
            )
        )
    return pd.concat(blocks, ignore_index=True)[TABLE_COLUMNS]
