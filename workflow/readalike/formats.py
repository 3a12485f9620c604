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
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from .outputs import atomic_path

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


@dataclass
class SaccadeSet:
    """Group-mean saccade matrices of one reader group: ``measures[name][a][s]`` (n, n)."""

    group: str
    n_readers: int
    source: str
    synthetic: bool
    measures: dict[str, Ragged]
    readers_per_sentence: list[list[int]] | None = None

    def lengths(self) -> list[list[int]]:
        first = next(iter(self.measures.values()))
        return [[int(m.shape[-1]) for m in article] for article in first]


def _iter_sentences(ragged: Ragged) -> Iterable[tuple[int, int, np.ndarray]]:
    for a, article in enumerate(ragged):
        for s, matrix in enumerate(article):
            yield a, s, matrix


def write_attention(target: str | os.PathLike, attention: AttentionSet) -> None:
    """Write an :class:`AttentionSet` atomically; checks shapes and finiteness first."""
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
    with atomic_path(target) as tmp, h5py.File(tmp, "w") as f:
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
        for a, s, m in _iter_sentences(attention.sentences):
            f.create_dataset(sentence_key(a, s), data=np.asarray(m, dtype=np.float16))
        for a, article in enumerate(attention.sentences):
            f[f"article_{a:03d}"].attrs["n_sentences"] = len(article)


def _check_format(f: h5py.File, path: Path, expected: str) -> None:
    found = f.attrs.get("format")
    if found != expected:
        raise ValueError(f"{path}: not a {expected} file (format attribute: {found!r})")


def _read_ragged(group: h5py.Group, path: Path, layers: slice | None = None) -> Ragged:
    articles = sorted(k for k in group.keys() if k.startswith("article_"))
    ragged: Ragged = []
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
            dset = art[key]
            sentences.append(dset[layers] if layers is not None else dset[()])
        ragged.append(sentences)
    return ragged


def read_attention(path: str | os.PathLike, layers: slice | None = None) -> AttentionSet:
    """Read an attention file; ``layers`` reads only a block of layers (saves memory)."""
    path = Path(path)
    with h5py.File(path, "r") as f:
        _check_format(f, path, ATTENTION_FORMAT)
        sentences = _read_ragged(f, path, layers)
        attrs = dict(f.attrs)
    for a, s, m in _iter_sentences(sentences):
        if not np.isfinite(m).all():
            raise ValueError(f"{path}: article {a} sentence {s}: attention holds NaN or inf")
    return AttentionSet(
        model=str(attrs["model"]),
        condition=str(attrs["condition"]),
        sentences=sentences,
        source=str(attrs.get("source", "")),
        attrs=attrs,
    )


def attention_shape(path: str | os.PathLike) -> tuple[int, int]:
    """``(n_layers, n_heads)`` of an attention file, without reading the arrays."""
    path = Path(path)
    with h5py.File(path, "r") as f:
        _check_format(f, path, ATTENTION_FORMAT)
        return int(f.attrs["n_layers"]), int(f.attrs["n_heads"])


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
    with atomic_path(target) as tmp, h5py.File(tmp, "w") as f:
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


def read_saccades(path: str | os.PathLike, measures: Sequence[str] | None = None) -> SaccadeSet:
    """Read a saccade file (all measures, or the named ones)."""
    path = Path(path)
    with h5py.File(path, "r") as f:
        _check_format(f, path, SACCADES_FORMAT)
        available = list(f.keys())
        wanted = available if measures is None else list(measures)
        for m in wanted:
            if m not in f:
                raise ValueError(f"{path}: no measure {m!r} (has {available})")
        data = {m: _read_ragged(f[m], path) for m in wanted}
        first = f[wanted[0]]
        readers = [
            [int(first[sentence_key(a, s)].attrs["n_readers"]) for s in range(len(article))]
            for a, article in enumerate(data[wanted[0]])
        ]
        return SaccadeSet(
            group=str(f.attrs["group"]),
            n_readers=int(f.attrs["n_readers"]),
            source=str(f.attrs["source"]),
            synthetic=bool(f.attrs["synthetic"]),
            measures=data,
            readers_per_sentence=readers,
        )


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
