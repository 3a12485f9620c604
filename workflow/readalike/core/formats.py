"""The project's HDF5 formats, shared by every data source.

Everything downstream of these files is the same code whatever produced them: the demo
zoo, real checkpoints on a cluster, or a converter of released data.

Attention (one file per model and prompt condition)
    root attributes: ``format`` = ``"readalike.attention/1"``, ``model``, ``condition``,
    ``n_layers``, ``n_heads``, ``source`` (free text: how it was made).
    one dataset per sentence at ``article_{a:03d}/sentence_{s:03d}``:
    ``(n_layers, n_heads, n_words, n_words)`` float16 (float32 where the source was float32:
    released GPT-2 large), row ``i`` = query word ``i``, column ``j`` = key word ``j``;
    causal, so entries with ``j > i`` are zero. No padding.

Saccades (one file per reader group)
    root attributes: ``format`` = ``"readalike.saccades/1"``, ``group``, ``n_readers``,
    ``source``, ``synthetic`` (bool: simulated readers).
    one dataset per measure and sentence at ``{measure}/article_{a:03d}/sentence_{s:03d}``:
    ``(n_words, n_words)`` float64, ``m[i, j]`` = saccades from word ``i`` to word ``j``
    (``num``: mean count per reader, ``dur``: the same weighted by fixation duration in ms),
    with attributes ``group``, ``n_readers`` (readers who read that sentence) and ``source``.

    Per-reader matrices (optional: a file without them, such as the release's group means,
    reads exactly as before and its :class:`SaccadeSet` has ``reader_ids = None``):
    root attribute ``reader_ids``, every reader of the group (unique, non-empty strings,
    ``n_readers`` of them); one dataset per measure and sentence at
    ``readers/{measure}/article_{a:03d}/sentence_{s:03d}``: ``(n_present, n_words,
    n_words)`` float64, the same quantity as the group mean for each reader who read that
    sentence, with attribute ``reader_ids`` (those ``n_present`` readers, in the order of
    the root list). A reader who did not read a sentence has no matrix there, never a zero
    one; every reader has a matrix in at least one sentence. ``readers`` is therefore not
    a measure name. Every per-reader measure also has its group-mean datasets.

Attribution (Study B; one file per model: :func:`write_attribution`)
    root attributes: ``format`` = ``"readalike.attribution/1"``, ``model``, ``source``.
    one group per prompt at ``prompt/<ID>``, in run order: ``importance``
    ``(n_prompt_tokens, n_response_tokens)`` float32, ``prompt_tokens``,
    ``response_tokens`` (UTF-8), ``instruction_mask`` ``(n_prompt_tokens,)`` bool; attributes
    ``source``, ``prompt_text``, ``response_text``.

Reading measures (one file per eye-tracking corpus: :func:`write_reading_measures`)
    root attributes: ``format`` = ``"readalike.reading_measures/1"``, ``corpus``,
    ``language``, ``source``, ``n_readers``, ``n_sentences``, ``n_words``; the words of all
    sentences end to end (``words``, UTF-8, split by ``offsets``), each sentence's ``texts``
    id, ``reader_ids``, per-reader ``trt`` (ms) and ``relfix`` ``(n_readers, n_words)``
    float64, NaN over a sentence a reader has no vector for, and ``groups/<name>``.

Feed-forward components (Study B; one file per model: :func:`write_components`)
    root attributes: ``format`` = ``"readalike.ffn_components/1"``, ``model``; dataset
    ``components`` ``(n_layers, R, hidden)`` float32.

Word importance (one file per model: :func:`write_word_importance`)
    root attributes: ``format`` = ``"readalike.word_importance/1"``, ``model``,
    ``n_layers``, ``n_heads``, ``source``, plus the producer's (``bos``, ``bos_id``).
    one group per sentence at ``article_{a:03d}/sentence_{s:03d}`` holding ``words``
    ``(n_words,)`` UTF-8, ``tokens_per_word`` ``(n_words,)`` int64 and one float32 dataset
    per measure of :data:`WORD_IMPORTANCE_MEASURES`: ``attention`` ``(n_layers, n_heads,
    n_words)``, ``rollout`` and ``norm`` ``(n_layers, n_words)``, the others ``(n_words,)``;
    ``norm`` may be absent (models with fused value maps). Only ``surprisal[0]`` may be NaN
    (a model without BOS cannot predict the first token). Definitions:
    :mod:`readalike.models.word_importance`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from readalike.core.outputs import atomic_path

ATTENTION_FORMAT = "readalike.attention/1"
SACCADES_FORMAT = "readalike.saccades/1"

#: per article, per sentence: one array
Ragged = list[list[np.ndarray]]


def sentence_key(article: int, sentence: int) -> str:
    """HDF5 path of one sentence inside a file (or inside a measure group)."""
    return f"article_{article:03d}/sentence_{sentence:03d}"


@dataclass
class AttentionSet:
    """Word-level attention of one model under one prompt condition.

    ``sentences[a][s]`` is ``(n_layers, n_heads, n_words, n_words)`` float16, or float32
    for released float32 attention (stored as such, :func:`write_attention`).
    """

    model: str
    condition: str
    sentences: Ragged
    source: str = ""
    attrs: dict = field(default_factory=dict)

    @property
    def n_layers(self) -> int:
        return int(self.sentences[0][0].shape[0])

    @property
    def n_heads(self) -> int:
        return int(self.sentences[0][0].shape[1])

    def lengths(self) -> list[list[int]]:
        return [[int(m.shape[-1]) for m in article] for article in self.sentences]


#: HDF5 group of a saccade file holding the per-reader matrices (so never a measure name).
READERS_GROUP = "readers"


@dataclass
class ReaderMatrices:
    """One measure's per-reader matrices of one reader group.

    ``matrices[a][s]`` is ``(n_present, n_words, n_words)`` float64: one matrix per reader who
    read that sentence; ``readers[a][s]`` is ``(n_present,)`` int64, those readers' positions
    in :attr:`SaccadeSet.reader_ids`, strictly increasing. A reader absent from a sentence
    has no matrix there (not a zero one).
    """

    matrices: Ragged
    readers: list[list[np.ndarray]]

    def present(self, n_readers: int) -> np.ndarray:
        """``(n_readers, n_sentences)`` bool: reader ``r`` has a matrix for flat sentence ``s``.

        Sentences are numbered over all articles, article 0's first (pair-index order).
        """
        flat = [np.asarray(idx, dtype=np.int64) for article in self.readers for idx in article]
        mask = np.zeros((n_readers, len(flat)), dtype=bool)
        rows = np.concatenate(flat) if flat else np.zeros(0, dtype=np.int64)
        mask[rows, np.repeat(np.arange(len(flat)), [idx.size for idx in flat])] = True
        return mask


@dataclass
class SaccadeSet:
    """Saccade matrices of one reader group.

    ``measures[name][a][s]`` is the group mean, ``(n, n)``; ``readers_per_sentence[a][s]`` the
    readers it averages. Where the source has per-reader data, ``reader_ids`` lists every
    reader of the group (``n_readers`` of them) and ``reader_measures[name]`` holds their
    matrices (:class:`ReaderMatrices`); both are None for group means alone (the release).
    """

    group: str
    n_readers: int
    source: str
    synthetic: bool
    measures: dict[str, Ragged]
    readers_per_sentence: list[list[int]] | None = None
    reader_ids: list[str] | None = None
    reader_measures: dict[str, ReaderMatrices] | None = None

    def lengths(self) -> list[list[int]]:
        first = next(iter(self.measures.values()))
        return [[int(m.shape[-1]) for m in article] for article in first]


def _iter_sentences(ragged: Ragged) -> Iterable[tuple[int, int, np.ndarray]]:
    for a, article in enumerate(ragged):
        for s, matrix in enumerate(article):
            yield a, s, matrix


#: HDF5 bytes per dataset beyond its data (object header, links, attributes), measured at
#: 0.4 to 1.7 KiB on this project's files; an estimate for the free-space check before writing
_H5_OVERHEAD = 2048


#: Build the file in memory and write it to disk on closing: on a full disk HDF5's default
#: driver fails while freeing objects, where h5py can only ignore the error and later
#: segfaults; the core driver's one write at close raises, and the file is at most as
#: large as the arrays the caller already holds in memory.
_WRITE_IN_MEMORY = {"driver": "core", "backing_store": True}


def _h5_bytes(data_bytes: int, ragged: Ragged) -> int:
    """Expected size of an HDF5 file holding ``data_bytes`` in one dataset per sentence."""
    return data_bytes + _H5_OVERHEAD * sum(len(article) for article in ragged)


def _stored_dtype(matrix: np.ndarray) -> type:
    # float32 attention (released data produced in float32) keeps its precision on disk;
    # everything else is stored in float16, the precision extraction produces
    return np.float32 if matrix.dtype == np.float32 else np.float16


def write_attention(
    target: str | os.PathLike, attention: AttentionSet, consume: bool = False
) -> None:
    """Write an :class:`AttentionSet` atomically; checks shapes and finiteness first.

    The file is built in memory (see ``_WRITE_IN_MEMORY``), so while it is written the
    process holds the set and the file's image. With ``consume``, each sentence is dropped
    from ``attention.sentences`` (set to ``None``) once it is in the image, so that about
    one copy is held, not two: for a caller that converts and forgets the set (the release
    conversion of LLaMA-30B's 60 layers: its peak fell from 305 to 251 MiB, now set by the
    loading before the write). The set is unusable afterwards.
    """
    n_layers, n_heads = attention.n_layers, attention.n_heads
    for a, s, m in _iter_sentences(attention.sentences):
        if m.ndim != 4 or m.shape[:2] != (n_layers, n_heads) or m.shape[2] != m.shape[3]:
            raise ValueError(
                f"{target}: article {a} sentence {s}: attention of shape {m.shape}, expected "
                f"({n_layers}, {n_heads}, n_words, n_words)"
            )
        if not np.isfinite(m).all():
            raise ValueError(
                f"{target}: article {a} sentence {s}: attention of model {attention.model!r} "
                f"({attention.condition}) holds NaN or inf"
            )
    size = sum(
        m.size * np.dtype(_stored_dtype(m)).itemsize
        for _, _, m in _iter_sentences(attention.sentences)
    )
    with (
        atomic_path(target, expected_bytes=_h5_bytes(size, attention.sentences)) as tmp,
        h5py.File(tmp, "w", **_WRITE_IN_MEMORY) as f,
    ):
        f.attrs.update(attention.attrs)
        f.attrs.update(
            format=ATTENTION_FORMAT,
            model=attention.model,
            condition=attention.condition,
            n_layers=n_layers,
            n_heads=n_heads,
            source=attention.source,
            n_articles=len(attention.sentences),
        )
        for a, article in enumerate(attention.sentences):
            for s, m in enumerate(article):
                f.create_dataset(sentence_key(a, s), data=np.asarray(m, dtype=_stored_dtype(m)))
                if consume:
                    article[s] = m = None
            f[f"article_{a:03d}"].attrs["n_sentences"] = len(article)


def open_h5(path: str | os.PathLike) -> h5py.File:
    """Open an HDF5 file to read. A file HDF5 cannot open (truncated by a killed copy, not
    HDF5 at all) is one ``ValueError`` naming it, where h5py says only "Unable to
    synchronously open file (truncated file: ...)"; a missing file stays FileNotFoundError."""
    try:
        return h5py.File(path, "r")
    except FileNotFoundError:
        raise
    except OSError as err:
        raise ValueError(f"{path}: not a readable HDF5 file ({err})") from None


def _check_format(f: h5py.File, path: Path, expected: str) -> None:
    found = f.attrs.get("format")
    if found != expected:
        raise ValueError(f"{path}: not a {expected} file (format attribute: {found!r})")


def _ragged_datasets(group: h5py.Group, path: Path) -> list[list[h5py.Dataset]]:
    """The sentence datasets of a file, ``[a][s]``, numbering checked; nothing read."""
    articles = sorted(k for k in group.keys() if k.startswith("article_"))
    ragged = []
    for a, name in enumerate(articles):
        if name != f"article_{a:03d}":
            raise ValueError(f"{path}: article groups are not numbered 0..n-1 (found {name})")
        art = group[name]
        n_sentences = int(art.attrs.get("n_sentences", len(art)))
        sentences = []
        for s in range(n_sentences):
            key = f"sentence_{s:03d}"
            if key not in art:
                raise ValueError(f"{path}: article {a} sentence {s} is missing ({art.name}/{key})")
            sentences.append(art[key])
        ragged.append(sentences)
    return ragged


def _read_ragged(group: h5py.Group, path: Path, layers: slice | None = None) -> Ragged:
    return [
        [dset[layers] if layers is not None else dset[()] for dset in article]
        for article in _ragged_datasets(group, path)
    ]


def read_attention(path: str | os.PathLike, layers: slice | None = None) -> AttentionSet:
    """Read an attention file; ``layers`` reads only a block of layers (saves memory)."""
    path = Path(path)
    with open_h5(path) as f:
        _check_format(f, path, ATTENTION_FORMAT)
        sentences = _read_ragged(f, path, layers)
        attrs = dict(f.attrs)
    for a, s, m in _iter_sentences(sentences):
        _check_finite_attention(m, path, a, s)
    return AttentionSet(
        model=str(attrs["model"]),
        condition=str(attrs["condition"]),
        sentences=sentences,
        source=str(attrs.get("source", "")),
        attrs=attrs,
    )


def attention_lengths(path: str | os.PathLike) -> list[list[int]]:
    """``lengths[a][s]``, the words of each sentence of an attention file, from the shapes of
    its datasets (no array is read); the numbering is checked as :func:`read_attention` does.
    """
    path = Path(path)
    with open_h5(path) as f:
        _check_format(f, path, ATTENTION_FORMAT)
        return [[int(d.shape[-1]) for d in article] for article in _ragged_datasets(f, path)]


def iter_attention(path: str | os.PathLike) -> Iterator[tuple[int, int, np.ndarray]]:
    """``(article, sentence, matrix)`` of an attention file, read one sentence at a time.

    The checks of :func:`read_attention` (format, numbering, finiteness), sentence by
    sentence: a reader that reduces each sentence as it comes (``pairs.stack_pair_stream``)
    never holds the whole file.
    """
    path = Path(path)
    with open_h5(path) as f:
        _check_format(f, path, ATTENTION_FORMAT)
        for a, article in enumerate(_ragged_datasets(f, path)):
            for s, dset in enumerate(article):
                matrix = dset[()]
                _check_finite_attention(matrix, path, a, s)
                yield a, s, matrix


def _check_finite_attention(matrix: np.ndarray, path: Path, article: int, sentence: int) -> None:
    if not np.isfinite(matrix).all():
        raise ValueError(
            f"{path}: article {article} sentence {sentence}: attention holds NaN or inf"
        )


def attention_shape(path: str | os.PathLike) -> tuple[int, int]:
    """``(n_layers, n_heads)`` of an attention file, without reading the arrays."""
    path = Path(path)
    with open_h5(path) as f:
        _check_format(f, path, ATTENTION_FORMAT)
        return int(f.attrs["n_layers"]), int(f.attrs["n_heads"])


def _check_reader_matrices(
    target: str | os.PathLike, saccades: SaccadeSet, lengths: list[list[int]]
) -> None:
    """Refuse per-reader data that a reader of the file could not trust (one line each)."""
    where = f"{target}: group {saccades.group}"
    if READERS_GROUP in saccades.measures:
        raise ValueError(f"{where}: {READERS_GROUP!r} is reserved and cannot name a measure")
    if (saccades.reader_ids is None) != (saccades.reader_measures is None):
        raise ValueError(f"{where}: reader_ids and reader_measures must be given together")
    if saccades.reader_ids is None:
        return
    ids = list(saccades.reader_ids)
    if any(not isinstance(r, str) or not r for r in ids):
        raise ValueError(f"{where}: reader ids must be non-empty strings, got {ids!r}")
    if len(set(ids)) != len(ids):
        twice = next(r for r in ids if ids.count(r) > 1)
        raise ValueError(f"{where}: reader {twice} is listed twice")
    if len(ids) != saccades.n_readers:
        raise ValueError(f"{where}: {len(ids)} reader ids but n_readers = {saccades.n_readers}")
    seen = np.zeros(len(ids), dtype=bool)
    for measure, per_reader in saccades.reader_measures.items():
        if measure not in saccades.measures:
            raise ValueError(f"{where}: per-reader measure {measure} has no group mean")
        if [len(a) for a in per_reader.matrices] != [len(a) for a in lengths] or [
            len(a) for a in per_reader.readers
        ] != [len(a) for a in lengths]:
            raise ValueError(
                f"{where} measure {measure}: per-reader matrices and reader lists must have "
                f"the group mean's articles and sentences"
            )
        for a, s, m in _iter_sentences(per_reader.matrices):
            idx = np.asarray(per_reader.readers[a][s])
            here = f"{where} measure {measure} article {a} sentence {s}"
            if idx.ndim != 1 or (idx.size and (idx.min() < 0 or idx.max() >= len(ids))):
                raise ValueError(f"{here}: reader positions {idx.tolist()} outside the reader ids")
            if np.any(np.diff(idx) <= 0):
                raise ValueError(f"{here}: reader positions {idx.tolist()} not increasing")
            n = lengths[a][s]
            if m.shape != (idx.size, n, n):
                raise ValueError(
                    f"{here}: per-reader matrices of shape {m.shape}, expected "
                    f"({idx.size}, {n}, {n})"
                )
            bad = np.flatnonzero(~np.isfinite(m).all(axis=(1, 2)))
            if bad.size:
                raise ValueError(f"{here} reader {ids[int(idx[bad[0]])]}: matrix holds NaN or inf")
            seen[idx] = True
    if not seen.all():
        raise ValueError(
            f"{where}: reader {ids[int(np.flatnonzero(~seen)[0])]} has no matrix in any sentence"
        )


def _write_reader_matrices(f: h5py.File, saccades: SaccadeSet) -> None:
    """Write the per-reader datasets of :func:`write_saccades` (layout in the module doc)."""
    ids = np.asarray(saccades.reader_ids, dtype=object)
    f.attrs.create("reader_ids", ids, dtype=h5py.string_dtype())
    root = f.create_group(READERS_GROUP)
    for measure, per_reader in saccades.reader_measures.items():
        grp = root.create_group(measure)
        for a, s, m in _iter_sentences(per_reader.matrices):
            dset = grp.create_dataset(sentence_key(a, s), data=np.asarray(m, np.float64))
            present = ids[np.asarray(per_reader.readers[a][s], dtype=np.int64)]
            dset.attrs.create("reader_ids", present, dtype=h5py.string_dtype())
        for a, article in enumerate(per_reader.matrices):
            grp[f"article_{a:03d}"].attrs["n_sentences"] = len(article)


def write_saccades(target: str | os.PathLike, saccades: SaccadeSet) -> None:
    """Write a :class:`SaccadeSet` atomically; checks shapes and finiteness first."""
    lengths = saccades.lengths()
    for measure, ragged in saccades.measures.items():
        for a, s, m in _iter_sentences(ragged):
            n = lengths[a][s]
            if m.shape != (n, n):
                raise ValueError(
                    f"{target}: group {saccades.group} measure {measure} article {a} sentence "
                    f"{s}: matrix of shape {m.shape}, expected ({n}, {n})"
                )
            if not np.isfinite(m).all():
                raise ValueError(
                    f"{target}: group {saccades.group} measure {measure} article {a} "
                    f"sentence {s}: matrix holds NaN or inf"
                )
    _check_reader_matrices(target, saccades, lengths)
    size = sum(m.size for r in saccades.measures.values() for _, _, m in _iter_sentences(r)) * 8
    n_datasets = len(saccades.measures) * sum(len(article) for article in lengths)
    for per_reader in (saccades.reader_measures or {}).values():
        size += sum(m.size for _, _, m in _iter_sentences(per_reader.matrices)) * 8
        n_datasets += sum(len(article) for article in lengths)
    with (
        atomic_path(target, expected_bytes=size + _H5_OVERHEAD * n_datasets) as tmp,
        h5py.File(tmp, "w", **_WRITE_IN_MEMORY) as f,
    ):
        f.attrs.update(
            format=SACCADES_FORMAT,
            group=saccades.group,
            n_readers=saccades.n_readers,
            source=saccades.source,
            synthetic=bool(saccades.synthetic),
        )
        for measure, ragged in saccades.measures.items():
            grp = f.create_group(measure)
            for a, s, m in _iter_sentences(ragged):
                dset = grp.create_dataset(sentence_key(a, s), data=np.asarray(m, np.float64))
                readers = (
                    saccades.readers_per_sentence[a][s]
                    if saccades.readers_per_sentence is not None
                    else saccades.n_readers
                )
                dset.attrs.update(group=saccades.group, n_readers=readers, source=saccades.source)
            for a, article in enumerate(ragged):
                grp[f"article_{a:03d}"].attrs["n_sentences"] = len(article)
        if saccades.reader_ids is not None:
            _write_reader_matrices(f, saccades)


def read_saccades(path: str | os.PathLike, measures: Sequence[str] | None = None) -> SaccadeSet:
    """Read a saccade file (all measures, or the named ones), with its per-reader matrices.

    Raises one ValueError naming the file, group, measure, article and sentence (and the
    reader, for per-reader data) when a matrix holds NaN or inf or does not match the group
    mean's shape, or when a sentence names a reader the file does not list.
    """
    path = Path(path)
    with open_h5(path) as f:
        _check_format(f, path, SACCADES_FORMAT)
        group = str(f.attrs["group"])
        available = [k for k in f.keys() if k != READERS_GROUP]
        wanted = available if measures is None else list(measures)
        for m in wanted:
            if m not in available:
                raise ValueError(f"{path}: no measure {m!r} (has {available})")
        data = {m: _read_ragged(f[m], path) for m in wanted}
        for measure, ragged in data.items():
            for a, s, m in _iter_sentences(ragged):
                if not np.isfinite(m).all():
                    raise ValueError(
                        f"{path}: group {group} measure {measure} article {a} sentence {s}: "
                        f"matrix holds NaN or inf"
                    )
        first = f[wanted[0]]
        readers = [
            [int(first[sentence_key(a, s)].attrs["n_readers"]) for s in range(len(article))]
            for a, article in enumerate(data[wanted[0]])
        ]
        reader_ids, reader_measures = None, None
        if "reader_ids" in f.attrs:
            reader_ids = [str(r) for r in f.attrs["reader_ids"]]
            root = f.get(READERS_GROUP)
            reader_measures = {
                m: _read_reader_matrices(root[m], path, group, m, reader_ids, data[m])
                for m in wanted
                if root is not None and m in root
            }
        return SaccadeSet(
            group=group,
            n_readers=int(f.attrs["n_readers"]),
            source=str(f.attrs["source"]),
            synthetic=bool(f.attrs["synthetic"]),
            measures=data,
            readers_per_sentence=readers,
            reader_ids=reader_ids,
            reader_measures=reader_measures,
        )


def _read_reader_matrices(
    grp: h5py.Group, path: Path, group: str, measure: str, reader_ids: list[str], means: Ragged
) -> ReaderMatrices:
    """One measure's per-reader matrices, checked against the file's reader list and means."""
    matrices = _read_ragged(grp, path)
    if [len(a) for a in matrices] != [len(a) for a in means]:
        raise ValueError(
            f"{path}: group {group} measure {measure}: per-reader matrices have "
            f"{[len(a) for a in matrices]} sentences per article, the group mean "
            f"{[len(a) for a in means]}"
        )
    position = {r: k for k, r in enumerate(reader_ids)}
    readers: list[list[np.ndarray]] = []
    for a, article in enumerate(matrices):
        readers.append([])
        for s, m in enumerate(article):
            here = f"{path}: group {group} measure {measure} article {a} sentence {s}"
            names = [str(r) for r in grp[sentence_key(a, s)].attrs["reader_ids"]]
            unknown = [r for r in names if r not in position]
            if unknown:
                raise ValueError(f"{here}: reader {unknown[0]} is not in the file's reader_ids")
            idx = np.array([position[r] for r in names], dtype=np.int64)
            if np.any(np.diff(idx) <= 0):
                raise ValueError(f"{here}: reader ids {names} not in the file's reader order")
            n = means[a][s].shape[-1]
            if m.shape != (idx.size, n, n):
                who = f" reader {names[0]}" if names else ""
                raise ValueError(
                    f"{here}{who}: per-reader matrices of shape {m.shape}, expected "
                    f"({idx.size}, {n}, {n}) (the group mean has {n} words)"
                )
            bad = ~np.isfinite(m).all(axis=(1, 2))
            if bad.any():
                raise ValueError(
                    f"{here} reader {names[int(np.flatnonzero(bad)[0])]}: matrix holds NaN or inf"
                )
            readers[a].append(idx)
    return ReaderMatrices(matrices=matrices, readers=readers)


def check_same_lengths(
    expected: list[list[int]], found: list[list[int]], expected_name: str, found_name: str
) -> None:
    """Raise one ValueError naming the first article/sentence whose word counts differ."""
    if len(expected) != len(found):
        raise ValueError(
            f"{found_name} has {len(found)} articles, {expected_name} has {len(expected)}"
        )
    for a, (exp, got) in enumerate(zip(expected, found, strict=True)):
        if len(exp) != len(got):
            raise ValueError(
                f"{found_name}: article {a} has {len(got)} sentences, {expected_name} has "
                f"{len(exp)}"
            )
        for s, (n_exp, n_got) in enumerate(zip(exp, got, strict=True)):
            if n_exp != n_got:
                raise ValueError(
                    f"{found_name}: article {a} sentence {s} has {n_got} words, "
                    f"{expected_name} has {n_exp}"
                )


# --------------------------------------------------------------------------- Study B

ATTRIBUTION_FORMAT = "readalike.attribution/1"
COMPONENTS_FORMAT = "readalike.ffn_components/1"


@dataclass(frozen=True)
class PromptAttribution:
    """One prompt answered by one model, with the attribution of its response.

    Attributes
    ----------
    model
        The model's name (the file's root attribute ``model``).
    prompt_id, source
        ID from the prompts file and its source (``Self-Instruct``, ``LIMA``, ``MT-Bench``).
    prompt_text, response_text
        The prompt as the model read it, and the decoded greedy response.
    prompt_tokens
        ``n_prompt`` token strings of the prompt, without BOS.
    response_tokens
        ``n_response`` token strings of the response, without EOS.
    importance
        ``(n_prompt, n_response)`` float32: gradient x input, sign kept (or, for the
        authors' release, their stored heat-map levels 0-10).
    instruction_mask
        ``(n_prompt,)`` bool, True on the tokens of the instruction sentences.
    """

    model: str
    prompt_id: str
    source: str
    prompt_text: str
    response_text: str
    prompt_tokens: list[str]
    response_tokens: list[str]
    importance: np.ndarray
    instruction_mask: np.ndarray

    def check(self, where: str) -> None:
        """Raise ``ValueError`` (naming ``where`` and the prompt) if the parts disagree."""
        shape = (len(self.prompt_tokens), len(self.response_tokens))
        name = f"{where}: {self.prompt_id}"
        if "/" in self.prompt_id or not self.prompt_id.strip():
            raise ValueError(f"{name}: a prompt ID must be non-empty and hold no '/'")
        if self.importance.shape != shape:
            raise ValueError(
                f"{name}: importance of shape {self.importance.shape}, expected "
                f"(n_prompt_tokens, n_response_tokens) = {shape}"
            )
        if self.instruction_mask.shape != (shape[0],) or self.instruction_mask.dtype != bool:
            raise ValueError(f"{name}: instruction_mask must be bool of shape ({shape[0]},)")
        if 0 in shape:
            raise ValueError(f"{name}: empty prompt or response")
        if not np.isfinite(self.importance).all():
            raise ValueError(f"{name}: importance holds NaN or inf")


def write_attribution(
    path: str | os.PathLike,
    records: Sequence[PromptAttribution],
    provenance: str = "",
    attrs: Mapping[str, str] | None = None,
) -> None:
    """Write one model's attribution records as :data:`ATTRIBUTION_FORMAT` HDF5, atomically.

    Layout: root attributes ``format``, ``model``, ``source`` (free text: how the file was
    made); one group ``prompt/<ID>`` per prompt, in the records' order, with datasets
    ``importance`` ``(n_prompt_tokens, n_response_tokens)`` float32, ``prompt_tokens`` and
    ``response_tokens`` (UTF-8 strings), ``instruction_mask`` ``(n_prompt_tokens,)`` bool,
    and attributes ``source``, ``prompt_text``, ``response_text``.

    Parameters
    ----------
    path
        The ``.h5`` file to write.
    records
        At least one record, all of the same model, distinct prompt IDs.
    provenance
        Stored as the root attribute ``source``.
    attrs
        More root attributes, e.g. what the weights were (a quantised GGUF checkpoint:
        :func:`readalike.models.gguf.provenance_attrs`).

    Raises
    ------
    ValueError
        No record, several models, a repeated ID, or a record whose parts disagree.
    """
    path = Path(path)
    if not records:
        raise ValueError(f"{path}: no attribution record to write")
    models = sorted({r.model for r in records})
    if len(models) != 1:
        raise ValueError(f"{path}: records of several models {models}; one file per model")
    seen: set[str] = set()
    for record in records:
        record.check(str(path))
        if record.prompt_id in seen:
            raise ValueError(f"{path}: prompt {record.prompt_id!r} appears twice")
        seen.add(record.prompt_id)
    strings = h5py.string_dtype("utf-8")
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs.update(attrs or {})
        f.attrs.update(format=ATTRIBUTION_FORMAT, model=models[0], source=provenance)
        # track_order keeps the prompts in the order they were run, not sorted by name
        prompts = f.create_group("prompt", track_order=True)
        for r in records:
            group = prompts.create_group(r.prompt_id)
            group.create_dataset("importance", data=np.asarray(r.importance, dtype=np.float32))
            group.create_dataset("prompt_tokens", data=list(r.prompt_tokens), dtype=strings)
            group.create_dataset("response_tokens", data=list(r.response_tokens), dtype=strings)
            group.create_dataset("instruction_mask", data=np.asarray(r.instruction_mask, bool))
            group.attrs.update(
                source=r.source, prompt_text=r.prompt_text, response_text=r.response_text
            )


def read_attribution(path: str | os.PathLike) -> list[PromptAttribution]:
    """Read an :data:`ATTRIBUTION_FORMAT` file written by :func:`write_attribution`.

    Returns
    -------
    list of PromptAttribution
        In the order they were written.

    Raises
    ------
    ValueError
        Naming the file (and prompt): another format, or a record whose parts disagree.
    """
    path = Path(path)
    records = []
    with open_h5(path) as f:
        _check_format(f, path, ATTRIBUTION_FORMAT)
        model = str(f.attrs["model"])
        for prompt_id, group in f["prompt"].items():
            try:
                record = PromptAttribution(
                    model=model,
                    prompt_id=prompt_id,
                    source=str(group.attrs["source"]),
                    prompt_text=str(group.attrs["prompt_text"]),
                    response_text=str(group.attrs["response_text"]),
                    prompt_tokens=list(group["prompt_tokens"].asstr()[()]),
                    response_tokens=list(group["response_tokens"].asstr()[()]),
                    importance=group["importance"][()].astype(np.float32, copy=False),
                    instruction_mask=group["instruction_mask"][()].astype(bool, copy=False),
                )
            except KeyError as err:
                raise ValueError(f"{path}: {prompt_id}: missing {err}") from None
            record.check(str(path))
            records.append(record)
    if not records:
        raise ValueError(f"{path}: holds no prompt")
    return records


def write_components(path: str | os.PathLike, components: np.ndarray, model_name: str) -> None:
    """Write ``(n_layers, R, hidden)`` components as :data:`COMPONENTS_FORMAT` HDF5, atomically.

    Root attributes ``format``, ``model``; dataset ``components`` float32.
    """
    components = np.asarray(components, dtype=np.float32)
    if components.ndim != 3 or not np.isfinite(components).all():
        raise ValueError(
            f"{path}: components must be finite (n_layers, R, hidden), got {components.shape}"
        )
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs.update(format=COMPONENTS_FORMAT, model=model_name)
        f.create_dataset("components", data=components)


def read_components(path: str | os.PathLike, expected_model: str | None = None) -> np.ndarray:
    """Read :func:`write_components`' file: ``(n_layers, R, hidden)`` float32.

    ``expected_model``, when given, must equal the file's ``model`` attribute.
    """
    path = Path(path)
    with open_h5(path) as f:
        _check_format(f, path, COMPONENTS_FORMAT)
        model = str(f.attrs["model"])
        components = f["components"][()]
    if expected_model is not None and model != expected_model:
        raise ValueError(f"{path}: components of model {model!r}, expected {expected_model!r}")
    if components.ndim != 3 or not np.isfinite(components).all():
        raise ValueError(f"{path}: components must be finite (n_layers, R, hidden)")
    return components.astype(np.float32, copy=False)


def check_reader_lengths(
    expected: list[list[int]], saccades: SaccadeSet, expected_name: str, found_name: str
) -> None:
    """:func:`check_same_lengths` for a saccade set, naming group and reader where it can.

    The per-reader matrices of a file share the group mean's lengths (checked on read), so
    a sentence whose word count differs from ``expected`` (the stimuli or a model file) is
    reported with the group and the first reader who read it.
    """
    found = saccades.lengths()
    check_same_lengths(
        [[0] * len(a) for a in expected], [[0] * len(a) for a in found], expected_name, found_name
    )
    for a, (exp, got) in enumerate(zip(expected, found, strict=True)):
        for s, (n_exp, n_got) in enumerate(zip(exp, got, strict=True)):
            if n_exp == n_got:
                continue
            who = ""
            for per_reader in (saccades.reader_measures or {}).values():
                if per_reader.readers[a][s].size:
                    who = f" reader {saccades.reader_ids[int(per_reader.readers[a][s][0])]}"
                    break
            raise ValueError(
                f"{found_name}: group {saccades.group}{who} article {a} sentence {s} has "
                f"{n_got} words, {expected_name} has {n_exp}"
            )


def check_distinct_readers(human_paths: Mapping[str, str | os.PathLike]) -> None:
    """Refuse a reader id that appears in two groups' saccade files (one line, both groups).

    Reads only the files' root attributes; files without per-reader data are skipped.
    """
    owner: dict[str, tuple[str, str | os.PathLike]] = {}
    for group, path in human_paths.items():
        with open_h5(path) as f:
            _check_format(f, Path(path), SACCADES_FORMAT)
            ids = [str(r) for r in f.attrs.get("reader_ids", [])]
        for reader in ids:
            if reader in owner:
                first_group, first_path = owner[reader]
                raise ValueError(
                    f"reader {reader} is in group {first_group} ({first_path}) and in group "
                    f"{group} ({path}); a reader belongs to one group"
                )
            owner[reader] = (group, path)


# --------------------------------------------------------------------------- word importance

WORD_IMPORTANCE_FORMAT = "readalike.word_importance/1"

#: Measure -> the axes in front of its word axis (``"layers"``: n_layers, ``"heads"``: n_heads).
WORD_IMPORTANCE_MEASURES: dict[str, tuple[str, ...]] = {
    "attention": ("layers", "heads"),
    "attention_peers": (),
    "rollout": ("layers",),
    "flow": (),
    "norm": ("layers",),
    "saliency": (),
    "grad_x_input": (),
    "surprisal": (),
}
#: Measures a record may lack: norm-based attention needs separate value and output maps.
OPTIONAL_WORD_MEASURES = ("norm",)


@dataclass
class WordImportance:
    """Model-side importance of the words of one sentence.

    Definitions in :mod:`readalike.models.word_importance`; ``n`` is ``len(words)``.

    Attributes
    ----------
    words
        The sentence's words as shown to readers.
    tokens_per_word
        ``(n,)`` int64, tokens of each word.
    attention
        ``(n_layers, n_heads, n)`` float32, attention each word receives (summed over the
        words that attend to it).
    attention_peers
        ``(n,)`` float32, the peers' relative attention (sums to 1).
    rollout
        ``(n_layers, n)`` float32, attention rollout up to each layer, received.
    flow
        ``(n,)`` float32, attention flow from each word to the last layer's words.
    norm
        ``(n_layers, n)`` float32 norm-based attention received, or ``None``.
    saliency, grad_x_input
        ``(n,)`` float32 gradient measures of the sentence's LM loss.
    surprisal
        ``(n,)`` float32 bits; ``surprisal[0]`` is NaN for a model without BOS.
    """

    words: list[str]
    tokens_per_word: np.ndarray
    attention: np.ndarray
    attention_peers: np.ndarray
    rollout: np.ndarray
    flow: np.ndarray
    norm: np.ndarray | None
    saliency: np.ndarray
    grad_x_input: np.ndarray
    surprisal: np.ndarray

    @property
    def attenders(self) -> np.ndarray:
        """``(n,)`` int64: words that can attend to each word in a causal model (itself too)."""
        return np.arange(len(self.words), 0, -1, dtype=np.int64)

    @property
    def interior(self) -> np.ndarray:
        """``(n,)`` bool, False on the first and the last word.

        In a causal model the last word receives attention from itself alone and its last
        token feeds no prediction (zero gradient), and the first word sits at the attention
        sink next to BOS: leave both out where a measure is compared across positions.
        """
        mask = np.ones(len(self.words), dtype=bool)
        mask[[0, -1]] = False
        return mask

    def check(self, where: str, n_layers: int, n_heads: int) -> None:
        """Raise one ``ValueError`` starting with ``where`` if shapes or values are wrong."""
        n = len(self.words)
        if n == 0 or any(not isinstance(w, str) or not w for w in self.words):
            raise ValueError(f"{where}: words must be non-empty strings")
        sizes = {"layers": n_layers, "heads": n_heads}
        arrays = {"tokens_per_word": ((n,), self.tokens_per_word)}
        for measure, axes in WORD_IMPORTANCE_MEASURES.items():
            value = getattr(self, measure)
            if value is None and measure in OPTIONAL_WORD_MEASURES:
                continue
            if value is None:
                raise ValueError(f"{where}: measure {measure} is missing")
            arrays[measure] = ((*[sizes[a] for a in axes], n), value)
        for name, (shape, value) in arrays.items():
            if np.shape(value) != shape:
                raise ValueError(f"{where}: {name} of shape {np.shape(value)}, expected {shape}")
            finite = np.isfinite(value)
            if name == "surprisal":
                finite[0] = True  # NaN there: no BOS to predict the first token from
            if not finite.all():
                raise ValueError(f"{where}: {name} holds NaN or inf")
        if (np.asarray(self.tokens_per_word) < 1).any():
            raise ValueError(f"{where}: a word has no token")


@dataclass
class WordImportanceSet:
    """Word importance of one model, ``sentences[a][s]`` a :class:`WordImportance`."""

    model: str
    sentences: list[list[WordImportance]]
    source: str = ""
    attrs: dict = field(default_factory=dict)

    @property
    def n_layers(self) -> int:
        return int(self.sentences[0][0].attention.shape[0])

    @property
    def n_heads(self) -> int:
        return int(self.sentences[0][0].attention.shape[1])


def write_word_importance(target: str | os.PathLike, importance: WordImportanceSet) -> None:
    """Write a :class:`WordImportanceSet` as :data:`WORD_IMPORTANCE_FORMAT`, atomically.

    Layout in the module notes; every record is checked first (:meth:`WordImportance.check`).

    Raises
    ------
    ValueError
        Naming the file, article and sentence: no sentence, or a record of the wrong shape
        or with NaN or inf.
    """
    if not importance.sentences or not any(importance.sentences):
        raise ValueError(f"{target}: no sentence to write")
    n_layers, n_heads = importance.n_layers, importance.n_heads
    for a, s, record in _iter_sentences(importance.sentences):
        record.check(f"{target}: article {a} sentence {s}", n_layers, n_heads)
    strings = h5py.string_dtype("utf-8")
    with atomic_path(target) as tmp, h5py.File(tmp, "w", **_WRITE_IN_MEMORY) as f:
        f.attrs.update(importance.attrs)
        f.attrs.update(
            format=WORD_IMPORTANCE_FORMAT,
            model=importance.model,
            n_layers=n_layers,
            n_heads=n_heads,
            source=importance.source,
        )
        for a, s, record in _iter_sentences(importance.sentences):
            group = f.create_group(sentence_key(a, s))
            group.create_dataset("words", data=list(record.words), dtype=strings)
            group.create_dataset(
                "tokens_per_word", data=np.asarray(record.tokens_per_word, dtype=np.int64)
            )
            for measure in WORD_IMPORTANCE_MEASURES:
                value = getattr(record, measure)
                if value is not None:
                    group.create_dataset(measure, data=np.asarray(value, dtype=np.float32))
        for a, article in enumerate(importance.sentences):
            f[f"article_{a:03d}"].attrs["n_sentences"] = len(article)


def read_word_importance(path: str | os.PathLike) -> WordImportanceSet:
    """Read a :data:`WORD_IMPORTANCE_FORMAT` file written by :func:`write_word_importance`.

    Raises
    ------
    ValueError
        One, naming the file (and article and sentence): another format, a missing
        sentence or dataset, a wrong shape, NaN or inf.
    """
    path = Path(path)
    with open_h5(path) as f:
        _check_format(f, path, WORD_IMPORTANCE_FORMAT)
        attrs = dict(f.attrs)
        n_layers, n_heads = int(attrs["n_layers"]), int(attrs["n_heads"])
        sentences: list[list[WordImportance]] = []
        for a, article in enumerate(_ragged_datasets(f, path)):
            sentences.append([])
            for s, group in enumerate(article):
                where = f"{path}: article {a} sentence {s}"
                try:
                    values = {
                        m: group[m][()] if m in group or m not in OPTIONAL_WORD_MEASURES else None
                        for m in WORD_IMPORTANCE_MEASURES
                    }
                    record = WordImportance(
                        words=list(group["words"].asstr()[()]),
                        tokens_per_word=group["tokens_per_word"][()],
                        **values,
                    )
                except (KeyError, AttributeError, TypeError) as err:
                    raise ValueError(f"{where}: missing or unreadable dataset ({err})") from None
                record.check(where, n_layers, n_heads)
                sentences[a].append(record)
    if not any(sentences):
        raise ValueError(f"{path}: holds no sentence")
    return WordImportanceSet(
        model=str(attrs["model"]),
        sentences=sentences,
        source=str(attrs.get("source", "")),
        attrs=attrs,
    )


# --------------------------------------------------------------------------- reading measures

READING_MEASURES_FORMAT = "readalike.reading_measures/1"


@dataclass
class ReadingCorpus:
    """Word-level reading measures of one eye-tracking corpus, one row per reader.

    Built by :func:`readalike.human.reading_measures.load_reading_corpus`; written and read
    by :func:`write_reading_measures` / :func:`read_reading_measures`. The words of all
    sentences lie end to end on one axis (``offsets()`` marks where each sentence starts),
    so that a group mean over the whole corpus is one vectorised reduction and the file
    holds one dataset per measure, not one per sentence.

    Attributes
    ----------
    corpus, language
        The corpus' name in the config (``geco``, ``zuco1_nr``) and its language code.
    sentences
        ``n_sentences`` tuples of words as shown to the readers. ``""`` is a word the readers
        saw (it has measures) whose text the source lost; no word holds whitespace.
    texts
        ``(n_sentences,)`` int64: the text each sentence belongs to, for holding out by text
        (its meaning per corpus: :mod:`readalike.human.reading_measures`).
    reader_ids
        ``n_readers`` unique, non-empty reader ids, the rows of ``trt`` and ``relfix``.
    groups
        Group name -> its readers (a subset of ``reader_ids``, in their order), config order.
    trt
        ``(n_readers, n_words)`` float64, total reading time of each word in ms. A reader's
        row is NaN over the whole of a sentence they have no vector for (not in their file,
        or not fixated at all): never zeros, never partly NaN.
    relfix
        ``(n_readers, n_words)`` float64, ``trt`` over the reader's total on that sentence
        (each vector sums to 1); NaN exactly where ``trt`` is.
    source
        Free text: where the data came from.
    """

    corpus: str
    language: str
    sentences: list[tuple[str, ...]]
    texts: np.ndarray
    reader_ids: list[str]
    groups: dict[str, list[str]]
    trt: np.ndarray
    relfix: np.ndarray
    source: str = ""

    def offsets(self) -> np.ndarray:
        """``(n_sentences + 1,)`` int64: sentence ``s`` is word columns ``[o[s], o[s + 1])``."""
        return np.concatenate(([0], np.cumsum([len(s) for s in self.sentences]))).astype(np.int64)

    @property
    def n_words(self) -> int:
        return int(sum(len(s) for s in self.sentences))

    def has_vector(self) -> np.ndarray:
        """``(n_readers, n_sentences)`` bool: the reader has measures for that sentence."""
        return ~np.isnan(self.trt[:, self.offsets()[:-1]])

    def check(self, where: str) -> None:
        """Raise one ``ValueError`` naming ``where`` (and reader, sentence) if parts disagree."""
        n_sentences, n_readers = len(self.sentences), len(self.reader_ids)
        if n_sentences == 0 or any(len(s) == 0 for s in self.sentences):
            raise ValueError(f"{where}: corpus {self.corpus}: no sentence, or an empty sentence")
        spaced = next((w for s in self.sentences for w in s if w != "".join(w.split())), None)
        if spaced is not None:
            raise ValueError(f"{where}: corpus {self.corpus}: word {spaced!r} holds whitespace")
        if np.shape(self.texts) != (n_sentences,):
            raise ValueError(f"{where}: texts of shape {np.shape(self.texts)}, ({n_sentences},)")
        ids = list(self.reader_ids)
        if (
            not ids
            or any(not isinstance(r, str) or not r for r in ids)
            or len(set(ids)) < n_readers
        ):
            raise ValueError(f"{where}: reader ids must be unique non-empty strings: {ids[:10]}")
        for name, members in self.groups.items():
            if not name or "/" in name or not members or not set(members) <= set(ids):
                raise ValueError(
                    f"{where}: group {name!r} must be a non-empty name without '/' holding "
                    f"some of the corpus' readers, got {list(members)[:10]}"
                )
        shape = (n_readers, self.n_words)
        if self.trt.shape != shape or self.relfix.shape != shape:
            raise ValueError(
                f"{where}: trt {self.trt.shape} and relfix {self.relfix.shape} must both be "
                f"(n_readers, n_words) = {shape}"
            )
        starts = self.offsets()[:-1]
        lengths = np.diff(self.offsets())
        missing = np.add.reduceat(np.isnan(self.trt), starts, axis=1)
        totals = np.add.reduceat(np.nan_to_num(self.trt), starts, axis=1)
        sums = np.add.reduceat(np.nan_to_num(self.relfix), starts, axis=1)
        nan_differs = np.add.reduceat(np.isnan(self.relfix) != np.isnan(self.trt), starts, axis=1)
        vector = missing == 0
        bad = (
            ((missing != 0) & (missing != lengths))
            | (nan_differs != 0)
            | (vector & ((totals <= 0) | (np.abs(sums - 1) > 1e-6)))
            | (np.minimum.reduceat(np.nan_to_num(self.trt), starts, axis=1) < 0)
        )
        if bad.any():
            r, s = np.argwhere(bad)[0]
            raise ValueError(
                f"{where}: corpus {self.corpus} reader {ids[r]} sentence {s}: a vector must be "
                "all NaN or finite non-negative TRT with a positive total, relfix summing to 1 "
                "and NaN where TRT is"
            )


def write_reading_measures(target: str | os.PathLike, corpus: ReadingCorpus) -> None:
    """Write a :class:`ReadingCorpus` as :data:`READING_MEASURES_FORMAT` HDF5, atomically.

    Layout: root attributes ``format``, ``corpus``, ``language``, ``source``, ``n_readers``,
    ``n_sentences``, ``n_words``; datasets ``words`` ``(n_words,)`` UTF-8 (all sentences end
    to end), ``offsets`` ``(n_sentences + 1,)`` int64, ``texts`` ``(n_sentences,)`` int64,
    ``reader_ids`` ``(n_readers,)`` UTF-8, ``trt`` and ``relfix`` ``(n_readers, n_words)``
    float64 (NaN: no vector), and one UTF-8 dataset of reader ids per group at
    ``groups/<name>``, in the corpus' group order.

    Raises
    ------
    ValueError
        When the corpus' parts disagree (:meth:`ReadingCorpus.check`).
    """
    corpus.check(str(target))
    strings = h5py.string_dtype("utf-8")
    words = np.array([w for s in corpus.sentences for w in s], dtype=object)
    size = 2 * corpus.trt.nbytes + sum(len(w.encode()) + 16 for w in words)
    with (
        atomic_path(target, expected_bytes=size + _H5_OVERHEAD * (6 + len(corpus.groups))) as tmp,
        h5py.File(tmp, "w", **_WRITE_IN_MEMORY) as f,
    ):
        f.attrs.update(
            format=READING_MEASURES_FORMAT,
            corpus=corpus.corpus,
            language=corpus.language,
            source=corpus.source,
            n_readers=len(corpus.reader_ids),
            n_sentences=len(corpus.sentences),
            n_words=corpus.n_words,
        )
        f.create_dataset("words", data=words, dtype=strings)
        f.create_dataset("offsets", data=corpus.offsets())
        f.create_dataset("texts", data=np.asarray(corpus.texts, dtype=np.int64))
        f.create_dataset(
            "reader_ids", data=np.array(corpus.reader_ids, dtype=object), dtype=strings
        )
        for name in ("trt", "relfix"):
            data = np.asarray(getattr(corpus, name), dtype=np.float64)
            f.create_dataset(name, data=data, compression="gzip", shuffle=True)
        groups = f.create_group("groups", track_order=True)
        for name, members in corpus.groups.items():
            groups.create_dataset(name, data=np.array(members, dtype=object), dtype=strings)


def read_reading_measures(path: str | os.PathLike) -> ReadingCorpus:
    """Read a file written by :func:`write_reading_measures`, checked as it was on writing.

    Raises
    ------
    ValueError
        One line naming the file: not HDF5, truncated, another format, a dataset missing,
        or parts that disagree.
    """
    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            _check_format(f, path, READING_MEASURES_FORMAT)
            words = list(f["words"].asstr()[()])
            offsets = f["offsets"][()].astype(np.int64)
            corpus = ReadingCorpus(
                corpus=str(f.attrs["corpus"]),
                language=str(f.attrs["language"]),
                sentences=[
                    tuple(words[a:b]) for a, b in zip(offsets[:-1], offsets[1:], strict=True)
                ],
                texts=f["texts"][()].astype(np.int64),
                reader_ids=list(f["reader_ids"].asstr()[()]),
                groups={name: list(d.asstr()[()]) for name, d in f["groups"].items()},
                trt=f["trt"][()].astype(np.float64, copy=False),
                relfix=f["relfix"][()].astype(np.float64, copy=False),
                source=str(f.attrs["source"]),
            )
    except (OSError, KeyError) as err:
        # h5py reports a truncated or foreign file as OSError, a missing dataset as KeyError
        raise ValueError(f"{path}: not a readable {READING_MEASURES_FORMAT} file ({err})") from None
    if offsets[0] != 0 or offsets[-1] != len(words) or np.any(np.diff(offsets) <= 0):
        raise ValueError(f"{path}: offsets do not split the {len(words)} words into sentences")
    corpus.check(str(path))
    return corpus
