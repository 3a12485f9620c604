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
