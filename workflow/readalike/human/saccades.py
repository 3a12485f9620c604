"""Fixation sequences to group-mean saccade matrices.

Real eye-tracking data and simulated readers (:mod:`readalike.human.reading_model`) both arrive
as a fixation table in the format below and go through the same :func:`saccade_matrices`,
so nothing downstream can tell which source made a matrix except the ``synthetic`` flag.

Fixation CSV format
-------------------
A comma-separated file with a header row and one row per fixation:

``subject``
    Reader identifier, read as text (so ``007`` stays ``007``).
``group``
    Reader group, e.g. ``native`` (L1) or ``nonnative`` (L2); one saccade file is made
    per group.
``article``, ``sentence``, ``word``
    0-based indices into the stimuli (:func:`readalike.core.stimuli.read_stimuli`): the
    ``word``-th whitespace word of sentence ``sentence`` of article ``article``.
``duration``
    Fixation duration in milliseconds: positive, at most :data:`MAX_FIXATION_MS` (a
    minute). A zero duration leaves a ``dur`` matrix of zeros, whose R^2 is undefined; a
    larger one is not a fixation (durations in microseconds, or corrupt values, whose
    squares overflow in the fits).

Rows are in reading order within each (``subject``, ``article``, ``sentence``); rows of
different readers or sentences may be interleaved in any way. Other columns are ignored.
Fixations off the text (blinks, fixations on the margin) must be dropped beforehand: a
saccade is counted between every two consecutive rows of a reader in one sentence, so a
reader's visits to a sentence that are split by reading another sentence are joined.

Every row belongs to a group the run analyses (:func:`read_fixations`' ``groups``): a row
of another group (``L3`` for ``L2``) would otherwise be left out without a word. A reader
whose rows are one block written twice, fixation for fixation and duration for duration
(a reader's file appended twice), is refused: no re-reading repeats every fixation.

Saccade matrices
----------------
For one sentence of ``n`` words and one reader group, ``num[i, j]`` is the mean over the
group's readers who read that sentence of the number of saccades from word ``i`` to word
``j``, and ``dur[i, j]`` is the same mean with every saccade weighted by a duration (ms).
Three choices make the rule (:data:`SACCADE_RULES`, config ``reading.saccades``):

``duration``
    ``both`` (the default): the summed duration of the two fixations a saccade joins, the
    fixation left and the fixation landed on; ``left``: the fixation left; ``landed``: the
    fixation landed on. ``both`` makes ``dur / num`` about two fixations per saccade; the
    released group means of arXiv 2310.19084 hold about one (232 ms L1, 245 ms L2, see
    :func:`readalike.release.study_a.saccade_duration_checks`), which a single-fixation rule gives.
``refixations``
    ``diagonal`` (the default): consecutive fixations on one word are a saccade ``i -> i``
    on the diagonal; ``merged``: they are first merged into one fixation (durations
    summed), so no saccade stays within a word. The released means have a diagonal.
``pairs``
    ``lower_with_diagonal`` (the default): every saccade is counted (the analyses read the
    pairs ``j <= i``); ``strict_lower``: saccades within a word (``i -> i``) are dropped
    after the refixation rule, so the diagonal is zero, as with the strict lower triangle
    ``j < i`` of the authors' later scripts.

The defaults reproduce the matrices this project made before the choices existed.

Each reader's own matrices (the same counts and weights, not divided) are kept beside
the means: ``reader_measures[measure].matrices[a][s]`` holds one ``(n, n)`` matrix per
reader who read the sentence, and the mean is their sum divided by their number.

Who read a sentence
-------------------
A reader read a sentence when they made at least one saccade in it, i.e. had at least
two fixations there (counted before refixations are merged or the diagonal dropped, so
that the denominators do not depend on the saccade rule; such a reader may then hold a
zero matrix). A reader with a single fixation in a sentence made no saccade
there: they have no matrix for it and are not in that sentence's denominator (counting
them would add a zero matrix and dilute the mean towards zero for no observed
behaviour). A reader with no saccade in any sentence is refused.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from readalike.core.formats import ReaderMatrices, SaccadeSet

log = logging.getLogger(__name__)

#: The columns of a fixation table, in the order they are written.
FIXATION_COLUMNS = ("subject", "group", "article", "sentence", "word", "duration")
#: The measures of a saccade set made by :func:`saccade_matrices`.
MEASURES = ("num", "dur")
#: The saccade rule's choices (module docstring), the first of each the default.
SACCADE_RULES = {
    "duration": ("both", "left", "landed"),
    "refixations": ("diagonal", "merged"),
    "pairs": ("lower_with_diagonal", "strict_lower"),
}

_INDEX_COLUMNS = ("article", "sentence", "word")
#: Longest fixation accepted, in ms (module docstring).
MAX_FIXATION_MS = 60_000


def _line(index: int) -> int:
    """File line of a data row: the header is line 1 and the index counts data rows."""
    return int(index) + 2


def _plain(value: object) -> object:
    """A NumPy scalar as the Python value it holds, so that messages print ``-50``."""
    return value.item() if isinstance(value, np.generic) else value


def read_fixations(path: str | os.PathLike, groups: Sequence[str] | None = None) -> pd.DataFrame:
    """Read and validate a fixation CSV (format in the module docstring).

    Parameters
    ----------
    path
        The CSV file.
    groups
        The reader groups the run analyses; a row of any other group is refused. None
        accepts every group.

    Returns
    -------
    pandas.DataFrame
        Columns ``subject`` (str), ``group`` (str), ``article``, ``sentence``, ``word``
        (int64, 0-based) and ``duration`` (float64, ms), in file order. The index is the
        0-based data row, so row ``k`` is line ``k + 2`` of the file; blank lines are
        dropped without renumbering. ``attrs["path"]`` holds the file name, which
        :func:`saccade_matrices` uses in its error messages.

    Raises
    ------
    ValueError
        If the file is empty, lacks a column, or a row holds an empty or NaN value, a
        non-integer or negative index, a duration that is not a positive number of at most
        :data:`MAX_FIXATION_MS`, or a group not in ``groups``; or if a reader's rows are one
        block written twice. The message names the file and, for a bad value, the line and
        column (and the reader and sentence of a bad duration).
    """
    path = Path(path)
    try:
        # Blank lines are kept (as all-NaN rows) and dropped below, so that the index
        # still counts file lines and error messages can name the right one.
        raw = pd.read_csv(
            path,
            dtype={"subject": str, "group": str},
            skipinitialspace=True,
            skip_blank_lines=False,
        )
    except pd.errors.EmptyDataError:
        raise ValueError(
            f"{path}: empty file; expected a header {','.join(FIXATION_COLUMNS)}"
        ) from None
    except pd.errors.ParserError as err:
        raise ValueError(f"{path}: not a readable CSV file ({err})") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    for column in FIXATION_COLUMNS:
        if column not in raw.columns:
            raise ValueError(
                f"{path}: missing column {column!r} (found columns: {', '.join(raw.columns)})"
            )
    table = raw.loc[:, list(FIXATION_COLUMNS)]
    table = table.loc[~table.isna().all(axis=1)]
    missing = table.isna().to_numpy()
    if missing.any():
        row, col = np.argwhere(missing)[0]
        raise ValueError(
            f"{path}: line {_line(table.index[row])}: empty or NaN {FIXATION_COLUMNS[col]!r}"
        )

    out = pd.DataFrame(
        {
            "subject": table["subject"].astype(str).str.strip(),
            "group": table["group"].astype(str).str.strip(),
        },
        index=table.index,
    )
    for column in (*_INDEX_COLUMNS, "duration"):
        values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values)
        if column in _INDEX_COLUMNS:
            bad |= (values < 0) | (values != np.floor(values))
            expected = "a non-negative integer index"
        else:
            bad |= (values <= 0) | (values > MAX_FIXATION_MS)
            expected = f"a positive duration in ms, at most {MAX_FIXATION_MS}"
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            who = ""
            if column == "duration":  # the indices are checked by now
                who = (
                    f" (subject {out['subject'].iloc[row]!r} article {out['article'].iloc[row]} "
                    f"sentence {out['sentence'].iloc[row]})"
                )
            raise ValueError(
                f"{path}: line {_line(table.index[row])}: {column} is "
                f"{_plain(table[column].iloc[row])!r}, expected {expected}{who}"
            )
        out[column] = values.astype(np.int64) if column in _INDEX_COLUMNS else values
    if groups is not None:
        unknown = ~out["group"].isin(list(groups)).to_numpy()
        if unknown.any():
            row = int(np.flatnonzero(unknown)[0])
            raise ValueError(
                f"{path}: line {_line(out.index[row])}: group {out['group'].iloc[row]!r} is not "
                f"a configured reader group ({', '.join(groups)}); its rows would be left out"
            )
    _check_doubled_readers(out, path)
    out.attrs["path"] = str(path)
    return out


def _check_doubled_readers(table: pd.DataFrame, path: Path) -> None:
    """Refuse a reader whose rows, in file order, are one block of 2+ fixations written twice.

    Vectorised over readers: each reader's rows in the first half of their rows are compared
    with the rows half a reader's count later.
    """
    if table.empty:
        return
    reader, _ = pd.factorize(table["subject"])
    order = np.argsort(reader, kind="stable")  # each reader's rows together, in file order
    counts = np.bincount(reader)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    of_row = reader[order]
    rank = np.arange(order.size) - start[of_row]
    half = counts // 2
    candidate = (counts % 2 == 0) & (counts >= 4)
    first = np.flatnonzero(candidate[of_row] & (rank < half[of_row]))
    if first.size == 0:
        return
    a, b = order[first], order[first + half[of_row[first]]]
    same = np.ones(first.size, dtype=bool)
    for column in ("group", *_INDEX_COLUMNS, "duration"):
        values = table[column].to_numpy()
        same &= values[a] == values[b]
    differ = np.bincount(of_row[first], weights=~same, minlength=counts.size)
    doubled = np.flatnonzero(candidate & (differ == 0))
    if doubled.size:
        k = int(doubled[0])
        rows = order[start[k] : start[k] + counts[k]]
        n = int(half[k])
        raise ValueError(
            f"{path}: reader {table['subject'].iloc[rows[0]]!r}: their last {n} rows (from line "
            f"{_line(table.index[rows[n]])}) repeat their first {n} (from line "
            f"{_line(table.index[rows[0]])}) fixation for fixation; the reader's block appended "
            "twice? A re-reading never repeats every fixation and duration"
        )


def _where(fixations: pd.DataFrame, row: int) -> str:
    """Name the file and line (or the data frame row) of a fixation, for error messages."""
    path = fixations.attrs.get("path")
    label = fixations.index[row]
    if path is None:
        return f"fixations row {label}"
    return f"{path}: line {_line(label)}"


def _flat_sentences(
    fixations: pd.DataFrame, lengths: list[list[int]]
) -> tuple[np.ndarray, np.ndarray]:
    """Check every fixation against the stimuli; return its flat sentence and word counts.

    Returns
    -------
    flat : (n_fixations,) int64
        Sentence number counted over all articles (article 0's sentences first).
    n_words : (n_sentences_total,) int64
        Words of every sentence in the same flat order.
    """
    n_sentences = np.array([len(article) for article in lengths], dtype=np.int64)
    n_words = np.array([n for article in lengths for n in article], dtype=np.int64)
    if n_words.size == 0:
        raise ValueError("the stimuli hold no sentence (lengths is empty)")
    first_sentence = np.concatenate([[0], np.cumsum(n_sentences)[:-1]])

    article = fixations["article"].to_numpy(dtype=np.int64)
    sentence = fixations["sentence"].to_numpy(dtype=np.int64)
    word = fixations["word"].to_numpy(dtype=np.int64)
    # Each check indexes with placeholders where an earlier check failed, so that the
    # look-ups stay in bounds and the first failing check is the one reported.
    ok_article = (article >= 0) & (article < n_sentences.size)
    safe_article = np.where(ok_article, article, 0)
    ok_sentence = ok_article & (sentence >= 0) & (sentence < n_sentences[safe_article])
    flat = np.where(ok_sentence, first_sentence[safe_article] + sentence, 0)
    ok_word = ok_sentence & (word >= 0) & (word < n_words[flat])
    if not ok_word.all():
        row = int(np.flatnonzero(~ok_word)[0])
        a, s, w = int(article[row]), int(sentence[row]), int(word[row])
        if not ok_article[row]:
            why = f"the stimuli have {n_sentences.size} articles"
        elif not ok_sentence[row]:
            why = f"article {a} has {n_sentences[a]} sentences"
        else:
            why = f"article {a} sentence {s} has {n_words[flat[row]]} words"
        raise ValueError(
            f"{_where(fixations, row)}: subject {_plain(fixations['subject'].iloc[row])!r} "
            f"article {a} sentence {s} word {w} is outside the stimuli ({why})"
        )
    return flat, n_words


def saccade_matrices(
    fixations: pd.DataFrame,
    lengths: list[list[int]],
    group: str,
    source: str,
    synthetic: bool,
    *,
    duration: str = "both",
    refixations: str = "diagonal",
    pairs: str = "lower_with_diagonal",
) -> SaccadeSet:
    """Group-mean and per-reader saccade matrices ``num`` and ``dur`` of one reader group.

    Parameters
    ----------
    fixations
        Fixation table as returned by :func:`read_fixations` (or
        :func:`readalike.human.reading_model.simulate_fixations`): rows in reading order
        within each (subject, article, sentence). Every group's rows are checked against
        the stimuli, not only the requested group's.
    lengths
        Words per sentence, ``lengths[a][s]``, from
        :func:`readalike.core.stimuli.sentence_lengths`.
    group
        The reader group to aggregate, one of the values of the ``group`` column.
    source
        Free text stored with the set: where the fixations came from.
    synthetic
        Whether the readers were simulated.
    duration, refixations, pairs
        The saccade rule (module docstring, :data:`SACCADE_RULES`); the defaults sum both
        fixations' durations, put refixations on the diagonal and keep every saccade.

    Returns
    -------
    SaccadeSet
        ``measures["num"][a][s]`` and ``measures["dur"][a][s]``: ``(n_words, n_words)``
        float64; ``num[i, j]`` = mean saccades from word ``i`` to word ``j`` per reader of
        that sentence, ``dur[i, j]`` = the same with each saccade weighted by its duration
        in ms (the ``duration`` rule).
        ``readers_per_sentence[a][s]`` = readers of the group who read that sentence (two
        fixations or more there, see the module docstring; a sentence nobody read holds
        zeros and 0, with a logged warning); ``n_readers`` = readers of the group;
        ``reader_ids`` = their subject ids, sorted; ``reader_measures[m].matrices[a][s]``
        = ``(readers_per_sentence[a][s], n, n)`` float64, each reader's own counts (sums,
        not means), readers in ``reader_ids`` order, with their positions in
        ``reader_measures[m].readers[a][s]``.

    Raises
    ------
    ValueError
        If a rule choice is unknown, ``group`` is not in the data (the message lists the
        groups found), a subject also appears in another group, a reader of the group made
        no saccade in any sentence, or a fixation lies outside the stimuli (the message
        names the file and line, the subject, article, sentence and word).
    """
    _check_rule(duration, refixations, pairs)
    where = fixations.attrs.get("path", "fixations")
    flat, subject, subjects, word, durations, n_words = _group_fixations(fixations, lengths, group)
    saccades = _saccades(flat, subject, word, durations, duration, refixations, pairs)
    cells = n_words**2

    # A reader read a sentence when they made a saccade in it (module docstring); readers
    # are ranked by sorted id so that per-reader stacks follow reader_ids.
    reader_ids = sorted(str(s) for s in subjects)
    rank = np.argsort(np.argsort(np.asarray([str(s) for s in subjects]), kind="stable"))
    read = np.unique(saccades.read_sentence * len(subjects) + rank[saccades.read_subject])
    read_sentence, read_reader = read // len(subjects), read % len(subjects)
    readers = np.bincount(read_sentence, minlength=n_words.size)
    silent = np.setdiff1d(np.arange(len(subjects)), read_reader)
    if silent.size:
        raise ValueError(
            f"{where}: group {group}: reader {reader_ids[int(silent[0])]} made no saccade in "
            f"any sentence (fewer than 2 fixations in each); drop the reader or check the data"
        )
    num, dur = _mean_matrices(saccades, n_words, readers)
    slot = np.searchsorted(read, saccades.sentence * len(subjects) + rank[saccades.subject])
    num_r, dur_r = _reader_matrices(saccades, n_words, read_sentence, slot)
    _warn_unread(readers, lengths, group)

    n_sentences = [len(article) for article in lengths]
    first_sentence = np.concatenate([[0], np.cumsum(n_sentences)[:-1]]).astype(np.int64)

    def per_article(items: list) -> list[list]:
        return [items[f : f + k] for f, k in zip(first_sentence, n_sentences, strict=True)]

    def ragged(flat_values: np.ndarray) -> list[list[np.ndarray]]:
        blocks = np.split(flat_values, np.cumsum(cells)[:-1])
        return per_article([b.reshape(n, n) for b, n in zip(blocks, n_words, strict=True)])

    def ragged_readers(flat_values: np.ndarray) -> list[list[np.ndarray]]:
        blocks = np.split(flat_values, np.cumsum(readers * cells)[:-1])
        return per_article([b.reshape(-1, n, n) for b, n in zip(blocks, n_words, strict=True)])

    positions = per_article(np.split(read_reader.astype(np.int64), np.cumsum(readers)[:-1]))
    log.info(
        "group %s: %d readers, %d saccades over %d sentences",
        group,
        len(subjects),
        saccades.sentence.size,
        n_words.size,
    )
    return SaccadeSet(
        group=group,
        n_readers=len(subjects),
        source=source,
        synthetic=synthetic,
        measures={"num": ragged(num), "dur": ragged(dur)},
        readers_per_sentence=per_article(readers.tolist()),
        reader_ids=reader_ids,
        reader_measures={
            "num": ReaderMatrices(ragged_readers(num_r), positions),
            "dur": ReaderMatrices(ragged_readers(dur_r), positions),
        },
    )


def _check_rule(duration: str, refixations: str, pairs: str) -> None:
    for key, value in (("duration", duration), ("refixations", refixations), ("pairs", pairs)):
        if value not in SACCADE_RULES[key]:
            raise ValueError(
                f"reading.saccades.{key}: {value!r} is not one of {', '.join(SACCADE_RULES[key])}"
            )


def _group_fixations(fixations: pd.DataFrame, lengths: list[list[int]], group: str):
    """One group's fixations, each reader's of a sentence together, in reading order.

    Returns ``(flat sentence, subject code, subject ids, word, duration ms, words per
    sentence)``; every group's rows are checked against the stimuli first (so a fault in
    any group is found), and a reader in two groups is refused.
    """
    found = sorted(pd.unique(fixations["group"].astype(str)))
    if group not in found:
        raise ValueError(
            f"no reader group {group!r} in {fixations.attrs.get('path', 'the fixations')} "
            f"(groups found: {', '.join(found) or 'none'})"
        )
    flat_all, n_words = _flat_sentences(fixations, lengths)
    mine = (fixations["group"].astype(str) == group).to_numpy()
    all_subjects = fixations["subject"].to_numpy()
    elsewhere = np.isin(all_subjects[~mine], all_subjects[mine])
    if elsewhere.any():
        row = int(np.flatnonzero(~mine)[np.flatnonzero(elsewhere)[0]])
        raise ValueError(
            f"{_where(fixations, row)}: reader {all_subjects[row]} is in group {group} and in "
            f"group {fixations['group'].iloc[row]}; a reader belongs to one group"
        )
    flat = flat_all[mine]
    subject, subjects = pd.factorize(all_subjects[mine])
    word = fixations["word"].to_numpy(dtype=np.int64)[mine]
    durations = fixations["duration"].to_numpy(dtype=np.float64)[mine]
    # A stable sort by (subject, sentence) brings each reader's fixations of a sentence
    # together while keeping their reading order (the row position breaks ties).
    order = np.lexsort((np.arange(flat.size), flat, subject))
    return flat[order], subject[order], subjects, word[order], durations[order], n_words


class _Saccades(NamedTuple):
    """Every saccade of a group under one rule, and who read which sentence."""

    sentence: np.ndarray  # (S,) flat sentence index
    subject: np.ndarray  # (S,) subject code
    from_word: np.ndarray  # (S,)
    to_word: np.ndarray  # (S,)
    duration: np.ndarray  # (S,) ms carried by the saccade
    read_sentence: np.ndarray  # flat sentence of each consecutive fixation pair, as recorded
    read_subject: np.ndarray


def _saccades(flat, subject, word, durations, duration_rule, refixations, pairs) -> _Saccades:
    same = (subject[1:] == subject[:-1]) & (flat[1:] == flat[:-1])
    # who read which sentence: from the fixations as recorded, whatever the saccade rule
    read_sentence, read_subject = flat[:-1][same], subject[:-1][same]
    if refixations == "merged":
        # a run of fixations of one reader on one word becomes one fixation, durations summed
        starts = np.concatenate([[True], ~(same & (word[1:] == word[:-1]))])
        run = np.cumsum(starts) - 1
        durations = np.bincount(run, weights=durations, minlength=int(starts.sum()))
        subject, flat, word = subject[starts], flat[starts], word[starts]
        same = (subject[1:] == subject[:-1]) & (flat[1:] == flat[:-1])
    if pairs == "strict_lower":
        same = same & (word[1:] != word[:-1])
    left, landed = durations[:-1][same], durations[1:][same]
    return _Saccades(
        sentence=flat[:-1][same],
        subject=subject[:-1][same],
        from_word=word[:-1][same],
        to_word=word[1:][same],
        duration={"both": left + landed, "left": left, "landed": landed}[duration_rule],
        read_sentence=read_sentence,
        read_subject=read_subject,
    )


def _cell_in_sentence(saccades: _Saccades, n_words: np.ndarray) -> np.ndarray:
    return saccades.from_word * n_words[saccades.sentence] + saccades.to_word


def _mean_matrices(saccades: _Saccades, n_words: np.ndarray, readers: np.ndarray):
    """Group-mean ``num`` and ``dur`` of every sentence in one flat vector each.

    Sentence k's block starts at the cumulative cell count and cell (i, j) sits at
    ``i * n + j`` inside it, so one bincount fills every sentence; means are over the
    readers of each sentence.
    """
    cells = n_words**2
    first_cell = np.concatenate([[0], np.cumsum(cells)[:-1]])
    index = first_cell[saccades.sentence] + _cell_in_sentence(saccades, n_words)
    total = int(cells.sum())
    num = np.bincount(index, minlength=total).astype(np.float64)
    # astype: bincount of no saccades at all returns integers even with weights.
    dur = np.bincount(index, weights=saccades.duration, minlength=total).astype(np.float64)
    per_cell = np.repeat(readers, cells).astype(np.float64)
    np.divide(num, per_cell, out=num, where=per_cell > 0)
    np.divide(dur, per_cell, out=dur, where=per_cell > 0)
    return num, dur


def _reader_matrices(saccades: _Saccades, n_words, read_sentence, slot):
    """Per-reader ``num`` and ``dur`` sums in one flat vector each.

    The (sentence, reader) slots are in sorted order (so each sentence's readers are
    contiguous, in reader_ids order), each slot a block of n * n cells; ``slot`` is each
    saccade's slot.
    """
    slot_cells = (n_words**2)[read_sentence]
    slot_first = np.concatenate([[0], np.cumsum(slot_cells)[:-1]])
    slot_index = slot_first[slot] + _cell_in_sentence(saccades, n_words)
    slot_total = int(slot_cells.sum())
    num_r = np.bincount(slot_index, minlength=slot_total).astype(np.float64)
    dur_r = np.bincount(slot_index, weights=saccades.duration, minlength=slot_total)
    return num_r, dur_r.astype(np.float64)


def _warn_unread(readers: np.ndarray, lengths: list[list[int]], group: str) -> None:
    unread = np.flatnonzero(readers == 0)
    if not unread.size:
        return
    n_sentences = [len(article) for article in lengths]
    first_sentence = np.concatenate([[0], np.cumsum(n_sentences)[:-1]]).astype(np.int64)
    article_of = np.searchsorted(first_sentence, unread, side="right") - 1
    names = ", ".join(
        f"article {a} sentence {k - first_sentence[a]}"
        for a, k in zip(article_of[:10], unread[:10], strict=True)
    )
    more = f" and {unread.size - 10} more" if unread.size > 10 else ""
    log.warning(
        "group %s: %d sentence(s) read by no reader, left as zero matrices: %s%s",
        group,
        unread.size,
        names,
        more,
    )
