"""The project's HDF5 formats, shared by every data source.

Everything downstream of these files is the same code whatever produced them: the demo
zoo, real checkpoints on a cluster, or a converter of released data.

Attention (one file per model and prompt condition)
    root attributes: ``format`` = ``"readalike.attention/1"``, ``model``, ``condition``,
    ``n_layers``, ``n_heads``, ``source`` (free text: how it was made).
    one dataset per sentence at ``article_{a:03d}/sentence_{s:03d}``:
    ``(n_layers, n_heads, n_words, n_words)`` float16, row ``i`` = query word ``i``,
    column ``j`` = key word ``j``; causal, so entries with ``j > i`` are zero. No padding.

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

Feed-forward components (Study B; one file per model: :func:`write_components`)
    root attributes: ``format`` = ``"readalike.ffn_components/1"``, ``model``; dataset
    ``components`` ``(n_layers, R, hidden)`` float32.
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

    ``sentences[a][s]`` is ``(n_layers, n_heads, n_words, n_words)`` float16.
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
    size = sum(m.size for _, _, m in _iter_sentences(attention.sentences)) * 2  # float16
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
                f.create_dataset(sentence_key(a, s), data=np.asarray(m, dtype=np.float16))
                if consume:
                    article[s] = m = None
            f[f"article_{a:03d}"].attrs["n_sentences"] = len(article)


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
    with h5py.File(path, "r") as f:
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
    with h5py.File(path, "r") as f:
        _check_format(f, path, ATTENTION_FORMAT)
        return [[int(d.shape[-1]) for d in article] for article in _ragged_datasets(f, path)]


def iter_attention(path: str | os.PathLike) -> Iterator[tuple[int, int, np.ndarray]]:
    """``(article, sentence, matrix)`` of an attention file, read one sentence at a time.

    The checks of :func:`read_attention` (format, numbering, finiteness), sentence by
    sentence: a reader that reduces each sentence as it comes (``pairs.stack_pair_stream``)
    never holds the whole file.
    """
    path = Path(path)
    with h5py.File(path, "r") as f:
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
    with h5py.File(path, "r") as f:
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
    with h5py.File(path, "r") as f:
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
    path: str | os.PathLike, records: Sequence[PromptAttribution], provenance: str = ""
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
    with h5py.File(path, "r") as f:
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
    with h5py.File(path, "r") as f:
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
        with h5py.File(path, "r") as f:
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
