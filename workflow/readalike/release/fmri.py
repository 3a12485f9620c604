"""Converting the released per-reader fMRI activations of arXiv 2310.19084.

Release layout (paths relative to the repository root)
    ``golden_attention/reading_brain/roi_activations/L{1,2}/activations_{region}_p{1,2}.pkl``
        one file per reader group and left-hemisphere language region (:data:`FMRI_REGIONS`):
        a pickled ``list`` over readers (52 L1, 55 L2) of ``list``\\ s over the 5 articles of
        ``list``\\ s over sentences of ``n_words`` rows of ``n_words`` cells. A cell is the
        ``int`` 0 where the reader made no saccade from word ``i`` to word ``j``, else a NumPy
        float64 scalar: the region's activation tied to that saccade. The pickles name only
        ``numpy.core.multiarray.scalar`` and ``numpy.dtype`` (:data:`FMRI_GLOBALS`).

:func:`load_release_fmri` turns every file into per-reader float64 matrices, measure
``fmri_<region>`` (:func:`fmri_measure`), reader ids ``L1-07`` (:func:`reader_id`: group and
0-based index in the file). Nothing in the files stops the conversion: a fault excludes the
reader from that region and becomes a row of the checks table (columns
:data:`FMRI_CHECK_COLUMNS`, :data:`readalike.release.study_a.CHECK_COLUMNS` plus ``group``,
``region`` and ``reader``). Reader faults (``check`` names):

``fmri_not_a_list``
    the reader's entry, an article or a sentence is not a list;
``fmri_no_articles`` / ``fmri_missing_articles``
    the reader holds no article, or fewer (or more) than the human matrices;
``fmri_sentence_count``
    an article with another number of sentences than the human matrices;
``fmri_list_cells``
    cells that are lists (empty, or of several values) instead of numbers;
``fmri_not_numeric``
    cells of another type (strings, None, booleans);
``fmri_not_square``
    rows of different lengths, or not ``n_words`` of them;
``fmri_nonfinite``
    NaN or inf;
``fmri_length_mismatch``
    a sentence of another word count than most readers of the file give it.

Sentence rule. Where most readers of a file hold a sentence with another word count than
the human group-mean saccade matrices, the readers' count is kept
(``fmri_sentence_length_differs``, one row per file and sentence): in the release, article
2 sentence 15 has 13 words in every fMRI file and in the attention of both released models,
10 in the saccade matrices, which are the odd one out; in L2 also article 0 sentence 20, 12
words in the fMRI files against 10 in the saccade matrices and the attention. Which source
is the odd one out is decided where the attention is read for the fMRI analysis
(:func:`readalike.release.study_a.fmri_length_checks`); the per-reader files carry the
fMRI's own lengths (:func:`fmri_lengths`). Should the regions of one group disagree on a
sentence's length, the regions that differ from the saccade matrices have no matrix for it
(``fmri_region_length_mismatch``).

A sentence in which a reader made no saccade (every cell 0) has no matrix for that reader
(``None``): the per-reader format keeps "did not read" apart from a zero matrix. The
authors' regression counts such a sentence as zeros (``np.zeros((n, n))``), and so do the
``authors`` rows of ``reader_resemblance.tsv``; there is one such sentence in the release
(L2 reader 39, article 2 sentence 27).

Readers the authors left out on purpose come from configuration (``exclude_readers``,
:func:`parse_exclude_readers`), never from code; they appear as
``fmri_excluded_by_config`` rows.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from readalike.core.checksums import read_verified
from readalike.core.formats import ReaderMatrices, SaccadeSet
from readalike.core.safe_pickle import loads_pickle
from readalike.release.study_a import (
    CHECK_COLUMNS,
    HUMAN_DIR,
    HUMAN_MEASURES,
    READING_BRAIN_GROUPS,
    load_release_saccades,
)

logger = logging.getLogger(__name__)

FMRI_DIR = f"{HUMAN_DIR}/roi_activations"
#: left-hemisphere language regions of the release (file names ``activations_{region}_*``)
FMRI_REGIONS = ("angular", "anterior", "inferior", "middle", "superior")
#: the only globals an fMRI pickle may name (NumPy 1 and NumPy 2 module paths): float64
#: scalars are rebuilt from a dtype and raw bytes; nothing may build an array
FMRI_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    {
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "dtype"),
    }
)
#: the checks table: the release checks' columns plus who the row is about ("" for rows
#: about a whole file or group)
FMRI_CHECK_COLUMNS = [*CHECK_COLUMNS, "group", "region", "reader"]
#: keys of one ``exclude_readers`` entry; ``region`` absent = every region
EXCLUDE_KEYS = ("group", "reader", "region", "why")

#: per reader id: per article, per sentence, ``(n, n)`` float64 or None (no matrix)
ReaderRagged = dict[str, list[list[np.ndarray | None]]]


def fmri_relpath(group_suffix: str, region: str, group_dir: str | None = None) -> str:
    """Release path of one group's and region's fMRI pickle, e.g. ``("p1", "angular")``."""
    folder = READING_BRAIN_GROUPS[group_suffix] if group_dir is None else group_dir
    return f"{FMRI_DIR}/{folder}/activations_{region}_{group_suffix}.pkl"


def fmri_measure(region: str) -> str:
    """Measure name of a region in the human data: ``fmri_<region>``."""
    return f"fmri_{region}"


def reader_id(group: str, index: int) -> str:
    """Reader id from the group and the reader's 0-based index in the release: ``L1-07``."""
    return f"{group}-{int(index):02d}"


# ------------------------------------------------------------------------ exclude_readers


@dataclass(frozen=True)
class ReaderExclusion:
    """One reader the configuration leaves out (``region`` None: every region)."""

    group: str
    reader: int
    region: str | None
    why: str


def parse_exclude_readers(
    entries: Iterable[Mapping[str, Any]] | None,
    n_readers: Mapping[tuple[str, str], int],
    key: str = "exclude_readers",
) -> list[ReaderExclusion]:
    """Check the ``exclude_readers`` configuration against the readers in the files.

    Parameters
    ----------
    entries
        Mappings with ``group`` (a group name, e.g. ``"L1"``), ``reader`` (the 0-based
        index in the release, or a reader id such as ``"L1-07"``), optional ``region``
        (one of :data:`FMRI_REGIONS`; absent = every region) and optional ``why`` (free
        text for the checks table).
    n_readers
        ``(group, region)`` -> readers in that file, for every file loaded.
    key
        Configuration key named in errors.

    Raises
    ------
    ValueError
        One line naming ``key[i].field`` and the value: an unknown field, group or region,
        or a reader who does not exist in the group (in the named region, or in any loaded
        region when none is named).
    """
    groups = sorted({g for g, _ in n_readers})
    out = []
    for i, entry in enumerate(entries or ()):
        where = f"{key}[{i}]"
        if not isinstance(entry, Mapping):
            raise ValueError(f"{where}: expected a mapping with group and reader, found {entry!r}")
        unknown = sorted(set(entry) - set(EXCLUDE_KEYS))
        if unknown:
            raise ValueError(f"{where}: unknown key {unknown[0]!r}; known: {list(EXCLUDE_KEYS)}")
        for field in ("group", "reader"):
            if field not in entry:
                raise ValueError(f"{where}: missing key {field!r}")
        group = entry["group"]
        if group not in groups:
            raise ValueError(f"{where}.group: unknown group {group!r}; groups: {groups}")
        region = entry.get("region")
        if region is not None and region not in FMRI_REGIONS:
            raise ValueError(
                f"{where}.region: unknown region {region!r}; regions: {list(FMRI_REGIONS)}"
            )
        index = _reader_index(entry["reader"], group, f"{where}.reader")
        sizes = {r: n for (g, r), n in n_readers.items() if g == group}
        checked = {region: sizes[region]} if region in sizes else sizes
        if region is not None and region not in sizes:
            checked = {}  # region not loaded in this run: nothing to exclude from
        for r, n in checked.items():
            if index >= n:
                raise ValueError(
                    f"{where}.reader: reader {entry['reader']!r} does not exist in group {group} "
                    f"(region {r} holds readers 0 to {n - 1}, ids {reader_id(group, 0)} to "
                    f"{reader_id(group, n - 1)})"
                )
        why = str(entry.get("why", "") or "")
        out.append(ReaderExclusion(group, index, region, why))
    return out


def _reader_index(value: Any, group: str, where: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{where}: expected a reader index or id, found {value!r}")
    if isinstance(value, int | np.integer):
        if value < 0:
            raise ValueError(f"{where}: reader index {int(value)} is negative")
        return int(value)
    if isinstance(value, str):
        prefix = f"{group}-"
        tail = value[len(prefix) :]
        if value.startswith(prefix) and tail.isdigit():
            return int(tail)
        raise ValueError(f"{where}: reader id {value!r} is not of the form {prefix}NN")
    raise ValueError(f"{where}: expected a reader index or id, found {value!r}")


# ----------------------------------------------------------------------------- conversion


def _list_cells(rows: list) -> tuple[int, tuple[int, int, Any] | None, int]:
    """Count list cells and other non-numbers of a faulty sentence (a slow path)."""
    n_list, first, n_other = 0, None, 0
    for i, row in enumerate(rows):
        cells = row if isinstance(row, list) else [row]
        for j, cell in enumerate(cells):
            if isinstance(cell, list | tuple):
                n_list += 1
                if first is None:
                    first = (i, j, cell)
            elif isinstance(cell, bool) or not isinstance(cell, int | float | np.floating):
                n_other += 1
    return n_list, first, n_other


def _sentence_matrix(rows: Any, where: str) -> tuple[np.ndarray | None, tuple[str, str] | None]:
    """One sentence as ``(n, n)`` float64, or a fault ``(check, detail)``."""
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        return None, ("fmri_not_a_list", f"{where}: not a list of rows")
    try:
        m = np.array(rows)
    except (ValueError, TypeError):
        m = None  # ragged rows or list cells: diagnosed below
    if m is None or m.dtype.kind not in "iuf" or m.ndim != 2:
        n_list, first, n_other = _list_cells(rows)
        if n_list:
            i, j, cell = first
            return None, (
                "fmri_list_cells",
                f"{where}: {n_list} cells are lists instead of numbers (first at row {i} "
                f"column {j}: {[v.item() if isinstance(v, np.generic) else v for v in cell]})",
            )
        if n_other or (m is not None and m.dtype.kind not in "iuf"):
            return None, ("fmri_not_numeric", f"{where}: cells that are not numbers")
        widths = sorted({len(row) for row in rows})
        return None, ("fmri_not_square", f"{where}: {len(rows)} rows of lengths {widths}")
    if m.shape[0] != m.shape[1]:
        return None, ("fmri_not_square", f"{where}: {m.shape[0]} rows of {m.shape[1]} cells")
    m = m.astype(np.float64, copy=False)
    if not np.isfinite(m).all():
        i, j = np.argwhere(~np.isfinite(m))[0]
        return None, ("fmri_nonfinite", f"{where}: NaN or inf at row {int(i)} column {int(j)}")
    return m, None


def convert_fmri_readers(
    obj: Any,
    lengths: list[list[int]],
    group: str,
    region: str,
    source: str,
    excluded: Mapping[int, str] | None = None,
) -> tuple[dict[int, list[list[np.ndarray | None]]], list[dict]]:
    """Convert one unpickled fMRI file (one group and region) into per-reader matrices.

    Parameters
    ----------
    obj
        The unpickled file: list over readers of lists over articles of lists over
        sentences of ``n_words`` rows of ``n_words`` cells (int 0 or float).
    lengths
        ``lengths[a][s]`` = words of sentence ``s`` of article ``a`` in the human matrices.
    group, region
        Named in the checks rows.
    source
        The file, named in details and in errors.
    excluded
        Reader index -> reason, for readers the configuration leaves out (they are still
        scanned, so their faults are reported too).

    Returns
    -------
    readers
        Reader index -> ``[a][s]``: ``(n, n)`` float64 (``n`` the word count most readers
        of the file give the sentence), or None where the reader made no saccade in the
        sentence; only readers kept (no fault, not excluded by configuration).
    rows
        Check rows (:data:`FMRI_CHECK_COLUMNS`): one per fault kind of each faulty reader,
        one per reader excluded by configuration, one per sentence whose length differs
        from the human matrices', and per file
        ``fmri_readers_kept``, ``fmri_empty_sentences`` and the share of activation mass
        (sum of absolute values over kept readers) above, on and below the diagonal.

    Raises
    ------
    ValueError
        ``obj`` is not a list of readers (a broken file, not a reader's fault).
    """
    if not isinstance(obj, list):
        raise ValueError(f"{source}: expected a list of readers, found {type(obj).__name__}")
    excluded = dict(excluded or {})

    def row(check, value, passed, severity, detail, reader=""):
        return _check_row(group, region, check, value, passed, severity, detail, reader)

    parsed, faults = _parse_readers(obj, lengths, group)
    rows = _agree_on_lengths(parsed, faults, lengths, group, source, row)
    rows += _reader_rows(faults, excluded, group, row)
    kept, empty, mass, cells = _kept_readers(parsed, excluded)
    rows += _file_rows(len(obj), kept, excluded, faults, empty, mass, cells, group, source, row)
    return kept, rows


def _check_row(group, region, check, value, passed, severity, detail, reader="") -> dict:
    """One row of :data:`FMRI_CHECK_COLUMNS`."""
    return dict(
        check=check,
        model="release",
        condition="fmri",
        layer="all",
        value=float(value),
        passed=bool(passed),
        severity=severity,
        detail=detail,
        group=group,
        region=region,
        reader=reader,
    )


def _parse_readers(obj: list, lengths: list[list[int]], group: str):
    """Pass 1: every reader's matrices (reader -> [a][s]) or faults (reader -> [(check,
    detail)]); a reader with any fault has no matrices."""
    n_articles = len(lengths)
    parsed: dict[int, list[list[np.ndarray | None]]] = {}
    faults: dict[int, list[tuple[str, str]]] = {}
    for r, reader in enumerate(obj):
        rid = reader_id(group, r)
        found: list[tuple[str, str]] = []
        if not isinstance(reader, list):
            found.append(("fmri_not_a_list", f"{rid}: not a list of articles"))
        elif not reader:
            found.append(("fmri_no_articles", f"{rid}: holds no article"))
        elif len(reader) != n_articles:
            found.append(
                (
                    "fmri_missing_articles",
                    f"{rid}: holds {len(reader)} articles, the human matrices {n_articles}",
                )
            )
        else:
            matrices: list[list[np.ndarray | None]] = []
            for a, article in enumerate(reader):
                if not isinstance(article, list):
                    found.append(("fmri_not_a_list", f"{rid}: article {a} is not a list"))
                    continue
                if len(article) != len(lengths[a]):
                    found.append(
                        (
                            "fmri_sentence_count",
                            f"{rid}: article {a} holds {len(article)} sentences, the human "
                            f"matrices {len(lengths[a])}",
                        )
                    )
                    continue
                sentences = []
                for s, sentence in enumerate(article):
                    m, fault = _sentence_matrix(sentence, f"{rid} article {a} sentence {s}")
                    if fault:
                        found.append(fault)
                    sentences.append(m)
                matrices.append(sentences)
            if not found:
                parsed[r] = matrices
        if found:
            faults[r] = found
    return parsed, faults


def _agree_on_lengths(parsed, faults, lengths, group, source, row) -> list[dict]:
    """Pass 2: a sentence most readers give another word count than the human matrices
    keeps the readers' count (the analysis decides against the attention which source is
    the odd one out); a reader who disagrees with the file's count is the faulty one and
    moves from ``parsed`` to ``faults``."""
    rows = []
    counts = [list(article) for article in lengths]
    for a, article in enumerate(lengths):
        for s, n in enumerate(article):
            sizes = Counter(m[a][s].shape[0] for m in parsed.values())
            if not sizes:
                continue
            size, count = sizes.most_common(1)[0]
            if size != n and 2 * count > sum(sizes.values()):
                counts[a][s] = size
                rows.append(
                    row(
                        "fmri_sentence_length_differs",
                        count,
                        False,
                        "warning",
                        f"{source}: article {a} sentence {s} has {size} words in {count} of "
                        f"{sum(sizes.values())} readers, {n} in the saccade matrices: kept "
                        f"at {size} (fmri_length_odd_one_out says which source is the odd one "
                        "out)",
                    )
                )
    for r, matrices in list(parsed.items()):
        rid = reader_id(group, r)
        bad = [
            f"article {a} sentence {s} has {m.shape[0]} words, the file's other readers {n}"
            for a, article in enumerate(counts)
            for s, n in enumerate(article)
            if (m := matrices[a][s]).shape[0] != n
        ]
        if bad:
            more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
            faults[r] = [("fmri_length_mismatch", f"{rid}: {bad[0]}{more}")]
            del parsed[r]
    return rows


def _reader_rows(faults, excluded, group, row) -> list[dict]:
    """Config exclusions first, then every fault kind of a reader with its first detail."""
    rows = []
    for r in sorted(set(faults) | set(excluded)):
        rid = reader_id(group, r)
        if r in excluded:
            why = excluded[r]
            rows.append(
                row(
                    "fmri_excluded_by_config",
                    1,
                    True,
                    "info",
                    f"{rid} excluded by config (exclude_readers)" + (f": {why}" if why else ""),
                    rid,
                )
            )
        by_kind: dict[str, list[str]] = {}
        for check, detail in faults.get(r, []):
            by_kind.setdefault(check, []).append(detail)
        for check, details in by_kind.items():
            more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
            also = "; also excluded by config" if r in excluded else ""
            rows.append(
                row(check, len(details), False, "warning", f"{details[0]}{more}{also}", rid)
            )
    return rows


def _kept_readers(parsed, excluded):
    """The readers kept, with sentences without saccades as None, the count of those, and
    the activation mass and non-zero cells below, on and above the diagonal."""
    kept: dict[int, list[list[np.ndarray | None]]] = {}
    empty = 0
    mass = np.zeros(3)  # |values| below, on, above the diagonal
    cells = np.zeros(3)  # non-zero cells below, on, above
    for r, matrices in parsed.items():
        if r in excluded:
            continue
        out = []
        for article in matrices:
            sentences = []
            for m in article:
                if not m.any():
                    empty += 1
                    sentences.append(None)
                    continue
                # np.sign(j - i) + 1 = 0 below, 1 on, 2 above the diagonal
                n = m.shape[0]
                part = (np.sign(np.arange(n)[None, :] - np.arange(n)[:, None]) + 1).ravel()
                mass += np.bincount(part, weights=np.abs(m).ravel(), minlength=3)
                cells += np.bincount(part, weights=(m != 0).ravel(), minlength=3)
                sentences.append(np.ascontiguousarray(m))
            out.append(sentences)
        kept[r] = out
    return kept, empty, mass, cells


def _file_rows(n_total, kept, excluded, faults, empty, mass, cells, group, source, row):
    """The file's summary rows: readers kept, empty sentences, mass by diagonal side."""
    excluded_config = sorted(r for r in excluded if r < n_total)
    excluded_faults = sorted(r for r in faults if r not in excluded)
    ids = ", ".join
    rows = [
        row(
            "fmri_readers_kept",
            len(kept),
            len(kept) >= 3,
            "info" if len(kept) >= 3 else "warning",
            f"{source}: {len(kept)} of {n_total} readers kept; excluded by config: "
            f"[{ids(reader_id(group, r) for r in excluded_config)}]; excluded for faults: "
            f"[{ids(reader_id(group, r) for r in excluded_faults)}]",
        ),
        row(
            "fmri_empty_sentences",
            empty,
            True,
            "info",
            "sentences of kept readers with no saccade (every cell 0): no matrix",
        ),
    ]
    share = mass / mass.sum() if mass.sum() > 0 else np.full(3, np.nan)
    cell_share = cells / cells.sum() if cells.sum() > 0 else np.full(3, np.nan)
    for k, where in enumerate(("below", "on", "above")):
        rows.append(
            row(
                f"fmri_mass_{where}_diagonal",
                share[k],
                True,
                "info",
                f"share of sum |activation| over kept readers with j {'<=>'[k]} i "
                f"({'regressions' if k == 0 else 'refixations' if k == 1 else 'forward saccades'}"
                f"); share of non-zero cells {cell_share[k]:.4f}",
            )
        )
    return rows


# ----------------------------------------------------------------------------- the loader


def load_release_fmri(
    release_dir: str | os.PathLike,
    groups: Mapping[str, str] | None = None,
    lengths: Mapping[str, list[list[int]]] | None = None,
    regions: Sequence[str] = FMRI_REGIONS,
    exclude_readers: Iterable[Mapping[str, Any]] | None = None,
    hashes: Mapping[str, str] | None = None,
) -> tuple[dict[str, dict[str, ReaderRagged]], pd.DataFrame]:
    """Read the released fMRI activations of every group and region into per-reader matrices.

    Parameters
    ----------
    release_dir
        Root of a (verified) copy of the release.
    groups
        Group name -> release suffix, e.g. ``{"L1": "p1", "L2": "p2"}`` (the default, from
        :data:`readalike.release.study_a.READING_BRAIN_GROUPS`). Files are read from the release's
        own ``L1`` / ``L2`` folders whatever the group is called.
    lengths
        Group name -> ``lengths[a][s]``, the human matrices' word counts; default read
        from the group's ``mean_saccade_num`` file.
    regions
        Regions to read (:data:`FMRI_REGIONS`).
    exclude_readers
        Readers left out by configuration (:func:`parse_exclude_readers`).
    hashes
        Release path -> SHA-256: each pickle is hashed from the bytes that are unpickled
        and refused (:class:`~readalike.core.checksums.ChecksumMismatch`) unless it
        matches; None reads unchecked.

    Returns
    -------
    readers
        ``readers[group][fmri_measure(region)][reader_id]``: per article, per sentence, an
        ``(n_words, n_words)`` float64 matrix (``m[i, j]``: activation tied to the saccade
        from word ``i`` to word ``j``, 0 where none; ``n_words`` the fMRI files' own count,
        :func:`fmri_lengths`), or None where the reader has no matrix for the sentence.
        Only readers kept in that region.
    checks
        Tidy table, columns :data:`FMRI_CHECK_COLUMNS` (see :func:`convert_fmri_readers`).

    Raises
    ------
    ValueError
        A pickle naming any global but :data:`FMRI_GLOBALS` (``UnsafePickleError``), a
        file that is not a list of readers, an unknown group or region, or a bad
        ``exclude_readers`` entry (naming the entry, the field and the value).
    """
    release_dir = Path(release_dir)
    if groups is None:
        groups = {name: suffix for suffix, name in READING_BRAIN_GROUPS.items()}
    unknown = [r for r in regions if r not in FMRI_REGIONS]
    if unknown:
        raise ValueError(f"unknown fMRI region {unknown[0]!r}; regions: {list(FMRI_REGIONS)}")
    for group, suffix in groups.items():
        if suffix not in READING_BRAIN_GROUPS:
            raise ValueError(
                f"group {group}: unknown release suffix {suffix!r}; known: "
                f"{list(READING_BRAIN_GROUPS)}"
            )
    if lengths is None:
        lengths = {
            group: load_release_saccades(
                release_dir, suffix, group, {"num": HUMAN_MEASURES["num"]}, hashes=hashes
            ).lengths()
            for group, suffix in groups.items()
        }
    loaded: dict[tuple[str, str], tuple[Any, Path]] = {}
    for group, suffix in groups.items():
        for region in regions:
            rel = fmri_relpath(suffix, region)
            path = release_dir / rel
            obj = loads_pickle(read_verified(release_dir, rel, hashes), str(path), FMRI_GLOBALS)
            if not isinstance(obj, list):
                raise ValueError(f"{path}: expected a list of readers, found {type(obj).__name__}")
            loaded[group, region] = (obj, path)
    exclusions = parse_exclude_readers(
        exclude_readers, {key: len(obj) for key, (obj, _) in loaded.items()}
    )

    readers: dict[str, dict[str, ReaderRagged]] = {group: {} for group in groups}
    rows: list[dict] = []
    for (group, region), (obj, path) in loaded.items():
        excluded = {
            e.reader: e.why for e in exclusions if e.group == group and e.region in (None, region)
        }
        kept, file_rows = convert_fmri_readers(
            obj, lengths[group], group, region, str(path), excluded
        )
        readers[group][fmri_measure(region)] = {
            reader_id(group, r): matrices for r, matrices in kept.items()
        }
        rows += file_rows
        logger.info("fMRI %s %s: %d of %d readers kept", group, region, len(kept), len(obj))
        del obj
    for group in groups:
        rows += _one_length_per_sentence(readers[group], lengths[group], group)
    return readers, fmri_checks_table(rows)


def _sentence_lengths(by_reader: ReaderRagged, a: int, s: int) -> set[int]:
    return {m[a][s].shape[0] for m in by_reader.values() if m[a][s] is not None}


def _one_length_per_sentence(
    readers: dict[str, ReaderRagged], lengths: list[list[int]], group: str
) -> list[dict]:
    """Where the regions of a group give a sentence different lengths, keep the regions that
    agree with the saccade matrices (one file format holds one length per sentence)."""
    rows = []
    for a, article in enumerate(lengths):
        for s, n in enumerate(article):
            found = {m: _sentence_lengths(by, a, s) for m, by in readers.items()}
            if len(set().union(*found.values())) < 2:
                continue
            for measure, sizes in found.items():
                if sizes and sizes != {n}:
                    for matrices in readers[measure].values():
                        matrices[a][s] = None
                    rows.append(
                        dict(
                            check="fmri_region_length_mismatch",
                            model="release",
                            condition="fmri",
                            layer="all",
                            value=float(len(readers[measure])),
                            passed=False,
                            severity="warning",
                            detail=f"article {a} sentence {s}: {sorted(sizes)} words in "
                            f"{measure}, other regions of {group} differ; {n} in the saccade "
                            "matrices: no matrix in this region",
                            group=group,
                            region=measure.removeprefix("fmri_"),
                            reader="",
                        )
                    )
    return rows


def fmri_lengths(
    readers: Mapping[str, Mapping[str, list[list[np.ndarray | None]]]], lengths: list[list[int]]
) -> list[list[int]]:
    """Words per sentence of one group's fMRI matrices: the readers' own count, the saccade
    matrices' (``lengths``) where no reader has a matrix.

    Raises
    ------
    ValueError
        Matrices of one sentence with different lengths (:func:`load_release_fmri` keeps
        one per sentence).
    """
    out = []
    for a, article in enumerate(lengths):
        out.append([])
        for s, n in enumerate(article):
            sizes = set().union(*(_sentence_lengths(by, a, s) for by in readers.values()))
            if len(sizes) > 1:
                raise ValueError(f"article {a} sentence {s}: fMRI matrices of {sorted(sizes)}")
            out[a].append(sizes.pop() if sizes else n)
    return out


def fmri_checks_table(rows: Iterable[dict]) -> pd.DataFrame:
    """Tidy table of fMRI check rows (:data:`FMRI_CHECK_COLUMNS`, ``layer`` as object)."""
    table = pd.DataFrame(list(rows), columns=FMRI_CHECK_COLUMNS)
    table["layer"] = table["layer"].astype(object)
    return table


def fmri_saccade_set(
    readers: Mapping[str, Mapping[str, list[list[np.ndarray | None]]]],
    lengths: list[list[int]],
    group: str,
    source: str,
) -> SaccadeSet:
    """One group's fMRI measures as a :class:`~readalike.core.formats.SaccadeSet` with readers.

    Parameters
    ----------
    readers
        ``readers[measure][reader_id][a][s]``: ``(n, n)`` float64 or None, as one group of
        :func:`load_release_fmri` returns it.
    lengths
        Words per sentence of the human group-mean matrices, for sentences no reader has a
        matrix of; elsewhere the readers' matrices give it (:func:`fmri_lengths`).
    group, source
        Stored as the file's attributes.

    Returns
    -------
    SaccadeSet
        ``reader_ids``: every reader kept in at least one region, sorted; per measure, the
        matrices of the readers kept in that region, and as the group mean the mean over
        the readers present in the sentence (a zero matrix where none is: the analyses read
        the per-reader matrices, the mean only completes the format).
        ``readers_per_sentence`` counts the readers present in any region.
    """
    lengths = fmri_lengths(readers, lengths)
    ids = sorted({r for per_measure in readers.values() for r in per_measure})
    position = {r: i for i, r in enumerate(ids)}
    means: dict[str, list[list[np.ndarray]]] = {}
    per_reader: dict[str, ReaderMatrices] = {}
    any_present = [[np.zeros(len(ids), dtype=bool) for _ in article] for article in lengths]
    for measure, by_reader in readers.items():
        mats: list[list[np.ndarray]] = []
        idx: list[list[np.ndarray]] = []
        mean: list[list[np.ndarray]] = []
        for a, article in enumerate(lengths):
            mats.append([])
            idx.append([])
            mean.append([])
            for s, n in enumerate(article):
                here = [r for r in ids if r in by_reader and by_reader[r][a][s] is not None]
                stack = (
                    np.stack([by_reader[r][a][s] for r in here]) if here else np.zeros((0, n, n))
                )
                positions = np.array([position[r] for r in here], dtype=np.int64)
                any_present[a][s][positions] = True
                mats[a].append(stack)
                idx[a].append(positions)
                mean[a].append(stack.mean(axis=0) if here else np.zeros((n, n)))
        per_reader[measure] = ReaderMatrices(mats, idx)
        means[measure] = mean
    return SaccadeSet(
        group=group,
        n_readers=len(ids),
        source=source,
        synthetic=False,
        measures=means,
        readers_per_sentence=[[int(m.sum()) for m in article] for article in any_present],
        reader_ids=ids,
        reader_measures=per_reader,
    )
