"""Verifying, fetching and converting the released data of arXiv 2310.19084.

The authors released their data in the repository ``RiverGao/scaling_finetuning``
(pinned here to :data:`RELEASE_COMMIT`). This module is the converter from that release
to the project's HDF5 formats (:mod:`readalike.core.formats`); nothing downstream knows the
data came from a release.

Release layout (paths relative to the repository root)
    ``golden_attention/reading_brain/mean_saccade_{num,dur}_p{1,2}.pkl``
        pickled ``list`` (articles) of ``list`` (sentences) of ``(n_words, n_words)``
        float64 arrays: group-mean saccades from word ``i`` to word ``j``. ``p1`` = L1
        (native English) readers, ``p2`` = L2 (Chinese-English bilingual) readers.
    ``golden_attention/reading_brain/label_{self,prev,start}.pkl``
        the trivial patterns as nested lists of 0/1 ints, same nesting.
    ``model_attention/<family>/<size>/{rb,instr_rb}_p1_layer{L}.npy``
        one file per layer: ``(articles, max_sentences, heads, max_words, max_words)``
        word-level attention, zero-padded past each sentence's real length; dtype, heads,
        depth and padding differ between models and are read from the files (LLaMA-30B:
        float16, 52 heads, 60 layers, 16 words; GPT-2 large: float32, 20 heads, 36 layers,
        17 words, plain condition only);
        ``rb`` = sentence read alone (plain), ``instr_rb`` = after an instruction prefix.

The flow is: :func:`needed_files` lists what a run needs,
:func:`readalike.core.checksums.download_files` fetches it (or a local copy is used),
:func:`readalike.core.checksums.verify_files` checks every byte against the SHA-256 manifest,
then :func:`load_release_saccades` and :func:`load_release_attention` read it into
:class:`~readalike.core.formats.SaccadeSet` / :class:`~readalike.core.formats.AttentionSet`.
Given the manifest's ``hashes``, every loader hashes the very bytes it parses
(:func:`readalike.core.checksums.read_verified`): a file replaced after the run's check is
refused by the job that reads it, not trusted because an earlier job passed. Pickles are
read only through :func:`readalike.core.safe_pickle.loads_pickle`; ``.npy`` files with
``allow_pickle=False``.

Data faults in the attention files (padding, causality, row sums, range) are reported as
rows of a tidy checks table, never silently dropped or repaired; only NaN/inf and
structural faults (shapes, truncated files) stop the conversion.
"""

from __future__ import annotations

import io
import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from readalike.core.checksums import (
    check_against_pinned,
    read_manifest,
    read_verified,
    verify_files,
)
from readalike.core.formats import AttentionSet, Ragged, SaccadeSet, check_same_lengths
from readalike.core.safe_pickle import loads_pickle

logger = logging.getLogger(__name__)

RELEASE_REPO = "RiverGao/scaling_finetuning"
RELEASE_COMMIT = "c7ca37a3d1dc591eb2d39234400ac52957fd0d53"
#: ``str.format`` template with ``{commit}`` and ``{path}``; unused fields are allowed, so a
#: ``file://`` mirror without a commit in its path works as well.
RAW_URL = "https://raw.githubusercontent.com/RiverGao/scaling_finetuning/{commit}/{path}"

HUMAN_DIR = "golden_attention/reading_brain"
#: measure name in the saccade HDF5 file -> file stem in the release
HUMAN_MEASURES: dict[str, str] = {"num": "mean_saccade_num", "dur": "mean_saccade_dur"}
#: group suffix in the release -> reader group
READING_BRAIN_GROUPS: dict[str, str] = {"p1": "L1", "p2": "L2"}
#: prompt condition -> file prefix of the per-layer attention files
CONDITION_PREFIXES: dict[str, str] = {"plain": "rb_p1", "instruction": "instr_rb_p1"}
TRIVIAL_PATTERNS = ("self", "prev", "start")
LLAMA_30B_DIR = "model_attention/llama/30B"
GPT2_LARGE_DIR = "model_attention/gpt2/large"
#: The manifest of :data:`RELEASE_COMMIT` shipped with the project, relative to the
#: repository root: the authority on what the release holds (a configured manifest that
#: differs from it describes a modified copy: :func:`~readalike.core.checksums.
#: check_against_pinned`).
PINNED_MANIFEST = "resources/release/SHA256SUMS.upstream"

#: ``n_readers`` stored for release data. The release holds group means only, with no
#: reader count, so the count is recorded as unknown rather than guessed. (Observation,
#: not used: every ``mean_saccade_num_p1`` sentence is an exact multiple of 1/51 and every
#: ``p2`` sentence of 1/54, which suggests means over 51 and 54 readers.)
UNKNOWN_READERS = -1

#: tolerance on a row sum above 1: float16 rounding moves each entry by at most 2**-12 of
#: its value, so a row of a softmax subset cannot sum above 1 + 2.5e-4 by rounding alone.
ROW_SUM_TOLERANCE = 1e-3

CHECK_COLUMNS = ["check", "model", "condition", "layer", "value", "passed", "severity", "detail"]


# --------------------------------------------------------------------------- file lists


def human_relpath(stem: str, group_suffix: str) -> str:
    """Release path of a human-data pickle, e.g. ``("mean_saccade_num", "p1")``."""
    return f"{HUMAN_DIR}/{stem}_{group_suffix}.pkl"


def label_relpath(pattern: str) -> str:
    """Release path of a trivial-pattern pickle (``self``, ``prev`` or ``start``)."""
    return f"{HUMAN_DIR}/label_{pattern}.pkl"


def attention_relpath(model_rel_dir: str, file_prefix: str, layer: int) -> str:
    """Release path of one layer's attention file."""
    return f"{model_rel_dir.rstrip('/')}/{file_prefix}_layer{layer}.npy"


def _contiguous_layers(layers: Iterable[int], where: str, file_prefix: str) -> int:
    found = sorted(set(layers))
    if not found:
        raise ValueError(f"{where}: no {file_prefix}_layer*.npy files")
    missing = sorted(set(range(found[-1] + 1)) - set(found))
    if missing:
        raise ValueError(
            f"{where}: layer files are not contiguous from 0: {file_prefix}_layer{missing[0]}.npy "
            f"is missing (missing layers {missing}; found {len(found)} up to layer {found[-1]})"
        )
    return len(found)


def layers_in_dir(release_dir: str | os.PathLike, model_rel_dir: str, file_prefix: str) -> int:
    """Number of layers of a local copy: files ``{file_prefix}_layer{0..L-1}.npy``.

    Raises
    ------
    ValueError
        No layer file, or a gap in the numbering (naming the first missing layer).
    """
    folder = Path(release_dir) / model_rel_dir
    pattern = re.compile(rf"^{re.escape(file_prefix)}_layer(\d+)\.npy$")
    layers = [int(m.group(1)) for p in folder.glob("*.npy") if (m := pattern.match(p.name))]
    return _contiguous_layers(layers, str(folder), file_prefix)


def layers_in_manifest(manifest: Mapping[str, str], model_rel_dir: str, file_prefix: str) -> int:
    """Number of layers the manifest lists for a model and condition (for downloads)."""
    prefix = model_rel_dir.rstrip("/") + "/"
    pattern = re.compile(rf"^{re.escape(prefix + file_prefix)}_layer(\d+)\.npy$")
    layers = [int(m.group(1)) for rel in manifest if (m := pattern.match(rel))]
    return _contiguous_layers(layers, f"manifest under {prefix}", file_prefix)


def _layer_numbers(names: Iterable[str], prefix: str) -> set[int]:
    pattern = re.compile(rf"^{re.escape(prefix)}_layer(\d+)\.npy$")
    return {int(m.group(1)) for name in names if (m := pattern.match(name))}


def _spans(layers: Iterable[int]) -> str:
    """``[0, 1, 2, 5, 7, 8]`` -> ``"0-2, 5, 7-8"``."""
    out: list[list[int]] = []
    for k in sorted(layers):
        if out and k == out[-1][1] + 1:
            out[-1][1] = k
        else:
            out.append([k, k])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in out)


def check_release_layers(
    release_dir: str | os.PathLike | None,
    manifest: Mapping[str, str],
    model_rel_dir: str,
    prefixes: Mapping[str, str],
    model: str = "",
    n_layers: int | None = None,
) -> int:
    """The one layer count of a released model, the same for every condition and the manifest.

    A partial copy (one layer file missing in one condition) would otherwise be read with
    fewer layers in that condition, and every table comparing conditions would fail with a
    raw broadcast error or, worse, use the shorter list.

    Parameters
    ----------
    release_dir
        Root of the local copy, or None where the files are yet to be downloaded (then only
        the manifest is checked).
    manifest
        Release path -> SHA-256 (:func:`readalike.core.checksums.read_manifest`).
    model_rel_dir
        The model's folder in the release, e.g. :data:`LLAMA_30B_DIR`.
    prefixes
        Condition -> file prefix, e.g. ``{"plain": "rb_p1", "instruction": "instr_rb_p1"}``.
    model
        Model name, for errors.
    n_layers
        Layers ``0..n_layers-1`` the run uses, for a copy that holds only the first layers
        on purpose (this project's shared copy holds 30 of LLaMA-30B's 60); default: every
        layer the manifest lists.

    Returns
    -------
    int
        The number of layers to read in every condition.

    Raises
    ------
    ValueError
        One line naming the model, the condition(s) and the missing layers: a condition the
        manifest lists no layer for, manifest layers that are not contiguous from 0 or differ
        between conditions, ``n_layers`` beyond the manifest, or layer files missing from
        the local copy.
    """
    label = f"model {model or model_rel_dir}"
    if not prefixes:
        raise ValueError(f"{label}: no condition to check")
    prefix_dir = model_rel_dir.rstrip("/") + "/"
    listed = {
        condition: _layer_numbers(
            (rel[len(prefix_dir) :] for rel in manifest if rel.startswith(prefix_dir)), prefix
        )
        for condition, prefix in prefixes.items()
    }
    union = set().union(*listed.values())
    problems = []
    for condition, layers in listed.items():
        prefix = prefixes[condition]
        if not layers:
            problems.append(f"condition {condition}: the manifest lists no {prefix}_layer*.npy")
            continue
        missing = (set(range(max(union) + 1)) - layers) if union else set()
        if missing:
            problems.append(
                f"condition {condition}: the manifest lacks {prefix}_layer*.npy for layers "
                f"{_spans(missing)}"
            )
    if problems:
        raise ValueError(f"{label} under {prefix_dir}: " + "; ".join(problems))
    in_manifest = max(union) + 1
    if n_layers is None:
        n_layers = in_manifest
    elif not 1 <= n_layers <= in_manifest:
        raise ValueError(
            f"{label}: n_layers {int(n_layers)} is outside 1 to {in_manifest}, the layers the "
            f"manifest lists under {prefix_dir}"
        )
    if release_dir is None:
        return int(n_layers)
    folder = Path(release_dir) / model_rel_dir
    names = [p.name for p in folder.glob("*.npy")] if folder.is_dir() else []
    expected = set(range(n_layers))
    for condition, prefix in prefixes.items():
        missing = expected - _layer_numbers(names, prefix)
        if missing:
            problems.append(
                f"condition {condition}: {prefix}_layer*.npy missing for layers {_spans(missing)}"
            )
    if problems:
        raise ValueError(
            f"{label}: {folder} does not hold layers 0-{n_layers - 1} of every condition ("
            f"{in_manifest} in the manifest): " + "; ".join(problems)
        )
    return int(n_layers)


def needed_files(
    model_rel_dir: str,
    n_layers: int,
    conditions: Iterable[str] = tuple(CONDITION_PREFIXES),
    groups: Iterable[str] = tuple(READING_BRAIN_GROUPS),
    measures: Iterable[str] = tuple(HUMAN_MEASURES),
    patterns: Iterable[str] = TRIVIAL_PATTERNS,
) -> list[str]:
    """Release paths a run needs: human saccades, trivial-pattern labels, attention layers.

    Parameters
    ----------
    conditions
        Keys of :data:`CONDITION_PREFIXES` (``plain``, ``instruction``).
    groups
        Release group suffixes (``p1``, ``p2``).
    measures
        Keys of :data:`HUMAN_MEASURES` (``num``, ``dur``).
    patterns
        Trivial patterns whose labels :func:`release_label_checks` compares; ``()`` for none.
    """
    files = [human_relpath(HUMAN_MEASURES[m], g) for g in groups for m in measures]
    files += [label_relpath(p) for p in patterns]
    for condition in conditions:
        if condition not in CONDITION_PREFIXES:
            raise ValueError(f"unknown condition {condition!r}; known: {list(CONDITION_PREFIXES)}")
        prefix = CONDITION_PREFIXES[condition]
        files += [attention_relpath(model_rel_dir, prefix, layer) for layer in range(n_layers)]
    return files


def release_hashes(
    manifest_path: str | os.PathLike,
    pinned_path: str | os.PathLike,
    relpaths: Iterable[str],
    modified: bool = False,
) -> dict[str, str]:
    """The SHA-256 each of a run's release files must have, the pinned manifest the authority.

    Parameters
    ----------
    manifest_path
        The configured manifest (config ``release_manifest``).
    pinned_path
        :data:`PINNED_MANIFEST`, the manifest of :data:`RELEASE_COMMIT` shipped with the project.
    relpaths
        The files the run reads.
    modified
        Config ``release_modified``: a configured manifest that differs from the pinned one
        is accepted (a modified copy; its tables say ``modified``).

    Raises
    ------
    ValueError
        One line, where the manifests differ on a file of ``relpaths`` and ``modified`` is
        false (:func:`readalike.core.checksums.check_against_pinned`).
    """
    return check_against_pinned(
        read_manifest(manifest_path),
        read_manifest(pinned_path),
        relpaths,
        modified,
        manifest_path,
        pinned_path,
    )


def release_source(relpaths: Sequence[str], commit: str = RELEASE_COMMIT) -> str:
    """Provenance string ``release:<repo>@<commit>:<path>[,<path>...]``."""
    return f"release:{RELEASE_REPO}@{commit}:{','.join(relpaths)}"


# --------------------------------------------------------------------------- human data


def _validate_ragged_matrices(obj: Any, path: Path, allow_negative: bool) -> Ragged:
    if not isinstance(obj, list):
        raise ValueError(f"{path}: expected a list of articles, found {type(obj).__name__}")
    ragged: Ragged = []
    for a, article in enumerate(obj):
        if not isinstance(article, list):
            raise ValueError(
                f"{path}: article {a}: expected a list of sentences, found {type(article).__name__}"
            )
        sentences = []
        for s, m in enumerate(article):
            where = f"{path}: article {a} sentence {s}"
            if not isinstance(m, np.ndarray) or m.dtype.kind != "f":
                kind = m.dtype if isinstance(m, np.ndarray) else type(m).__name__
                raise ValueError(f"{where}: expected a float array, found {kind}")
            if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] < 1:
                raise ValueError(f"{where}: expected a square (n_words, n_words) matrix, {m.shape}")
            if not np.isfinite(m).all():
                i, j = np.argwhere(~np.isfinite(m))[0]
                raise ValueError(f"{where}: NaN or inf at row {i} column {j}")
            if not allow_negative and (m < 0).any():
                i, j = np.argwhere(m < 0)[0]
                raise ValueError(f"{where}: negative mean saccade value {m[i, j]} at ({i}, {j})")
            sentences.append(np.array(m, dtype=np.float64, order="C"))
        ragged.append(sentences)
    if not ragged:
        raise ValueError(f"{path}: holds no article")
    return ragged


def load_release_saccades(
    release_dir: str | os.PathLike,
    group_suffix: str,
    group_name: str | None = None,
    measures: Mapping[str, str] | None = None,
    commit: str = RELEASE_COMMIT,
    allow_negative: bool = False,
    hashes: Mapping[str, str] | None = None,
) -> SaccadeSet:
    """Read one reader group's released saccade matrices into a :class:`SaccadeSet`.

    Parameters
    ----------
    release_dir
        Root of a (verified) copy of the release.
    group_suffix
        ``"p1"`` (L1 readers) or ``"p2"`` (L2 readers).
    group_name
        Group stored in the file; default from :data:`READING_BRAIN_GROUPS`.
    measures
        Measure name -> release file stem; default :data:`HUMAN_MEASURES`
        (``num``, ``dur``).
    commit
        The release commit the copy was verified against (recorded in ``source``).
    allow_negative
        Accept negative entries (the authors' ``residue_*`` matrices are differences and
        may be negative; mean saccade counts and durations may not).
    hashes
        Release path -> SHA-256: each pickle is hashed as it is read and refused
        (:class:`~readalike.core.checksums.ChecksumMismatch`) unless it matches; None reads
        unchecked.

    Returns
    -------
    SaccadeSet
        ``measures[name][a][s]``: ``(n_words, n_words)`` float64. ``n_readers`` is
        :data:`UNKNOWN_READERS` (-1): the release holds group means only, without a reader
        count. ``synthetic`` is False.

    Raises
    ------
    ValueError
        A pickle that names any global beyond NumPy arrays (``UnsafePickleError``), or a
        structure that is not articles of sentences of finite square float matrices, or
        measures whose sentence counts or word counts differ; the message names the file,
        article and sentence.
    """
    release_dir = Path(release_dir)
    if group_suffix not in READING_BRAIN_GROUPS:
        raise ValueError(
            f"unknown group suffix {group_suffix!r}; known: {list(READING_BRAIN_GROUPS)}"
        )
    measures = dict(HUMAN_MEASURES if measures is None else measures)
    if not measures:
        raise ValueError("no measure to load")
    group = READING_BRAIN_GROUPS[group_suffix] if group_name is None else group_name
    data: dict[str, Ragged] = {}
    relpaths = []
    first: tuple[str, list[list[int]]] | None = None
    for name, stem in measures.items():
        rel = human_relpath(stem, group_suffix)
        path = release_dir / rel
        obj = loads_pickle(read_verified(release_dir, rel, hashes), str(path))
        ragged = _validate_ragged_matrices(obj, path, allow_negative)
        lengths = [[m.shape[0] for m in article] for article in ragged]
        if first is None:
            first = (str(path), lengths)
        else:
            check_same_lengths(first[1], lengths, first[0], str(path))
        data[name] = ragged
        relpaths.append(rel)
    n_sentences = sum(len(article) for article in next(iter(data.values())))
    logger.info(
        "loaded release saccades of group %s (%s): %d measures, %d sentences",
        group,
        group_suffix,
        len(data),
        n_sentences,
    )
    return SaccadeSet(
        group=group,
        n_readers=UNKNOWN_READERS,
        source=release_source(relpaths, commit),
        synthetic=False,
        measures=data,
    )


def release_label_checks(
    release_dir: str | os.PathLike,
    lengths: list[list[int]],
    patterns: Iterable[str] = TRIVIAL_PATTERNS,
    hashes: Mapping[str, str] | None = None,
) -> list[dict]:
    """Compare the released trivial-pattern labels with the patterns computed from lengths.

    ``self``: ``i == j``; ``prev``: ``j == i - 1`` (row 0 empty); ``start``: ``j == 0``.

    Parameters
    ----------
    lengths
        ``lengths[a][s]`` = words of sentence ``s`` of article ``a`` (from the saccades).
    hashes
        Release path -> SHA-256 each label file must have (hashed as read); None: unchecked.

    Returns
    -------
    list of dict
        One check row per pattern (columns :data:`CHECK_COLUMNS`), ``value`` = number of
        sentences whose label differs from the computed pattern or has another shape.
    """
    release_dir = Path(release_dir)
    rows = []
    for pattern in patterns:
        rel = label_relpath(pattern)
        path = release_dir / rel
        labels = loads_pickle(read_verified(release_dir, rel, hashes), str(path))
        bad = []
        if not isinstance(labels, list) or len(labels) != len(lengths):
            found = len(labels) if isinstance(labels, list) else type(labels).__name__
            bad.append(f"{len(lengths)} articles expected, found {found}")
        else:
            for a, (article, article_lengths) in enumerate(zip(labels, lengths, strict=True)):
                if not isinstance(article, list) or len(article) != len(article_lengths):
                    bad.append(f"article {a}: {len(article_lengths)} sentences expected")
                    continue
                for s, (label, n) in enumerate(zip(article, article_lengths, strict=True)):
                    found = np.asarray(label)
                    expected = _trivial_pattern(pattern, n)
                    if found.shape != expected.shape:
                        bad.append(
                            f"article {a} sentence {s}: shape {found.shape}, expected {(n, n)}"
                        )
                    elif not np.array_equal(found, expected):
                        i, j = np.argwhere(found != expected)[0]
                        bad.append(f"article {a} sentence {s}: differs first at ({i}, {j})")
        detail = _join(bad)
        detail = detail or f"{rel} equals the {pattern} pattern computed from the lengths"
        check = f"label_{pattern}_matches_lengths"
        rows.append(_row(("release", "labels"), check, "all", len(bad), not bad, "warning", detail))
    return rows


def _trivial_pattern(pattern: str, n: int) -> np.ndarray:
    if pattern == "self":
        return np.eye(n, dtype=np.int64)
    if pattern == "prev":
        return np.eye(n, k=-1, dtype=np.int64)
    if pattern == "start":
        out = np.zeros((n, n), dtype=np.int64)
        out[:, 0] = 1
        return out
    raise ValueError(f"unknown trivial pattern {pattern!r}; known: {list(TRIVIAL_PATTERNS)}")


# --------------------------------------------------------------------------- attention


def _describe(obj: Any) -> str:
    if isinstance(obj, np.ndarray):
        return f"{obj.dtype} array of shape {obj.shape}"
    return type(obj).__name__


def _open_layer(path: Path) -> np.ndarray:
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise ValueError(f"{path}: missing layer file") from None
    except (ValueError, OSError, EOFError) as err:
        # a truncated file fails in the header parser or in mmap ("mmap length is greater
        # than file size"); either way one error naming the file
        raise ValueError(
            f"{path}: not a readable .npy file, truncated or corrupted ({err})"
        ) from None
    if not isinstance(array, np.ndarray) or array.ndim != 5 or array.dtype.kind != "f":
        raise ValueError(
            f"{path}: expected a float array (articles, max_sentences, heads, max_words, "
            f"max_words), found {_describe(array)}"
        )
    if array.shape[3] != array.shape[4]:
        raise ValueError(f"{path}: word axes differ in size, shape {array.shape}")
    return array


def _read_layer(
    release_dir: Path, relpath: str, hashes: Mapping[str, str] | None, shape: tuple[int, ...]
) -> np.ndarray:
    """One layer file read into memory from the very bytes whose hash was checked."""
    path = release_dir / relpath
    data = read_verified(release_dir, relpath, hashes)
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise ValueError(
            f"{path}: not a readable .npy file, truncated or corrupted ({err})"
        ) from None
    if array.shape != shape or array.dtype.kind != "f":
        raise ValueError(f"{path}: {_describe(array)} differs from the first layer's {shape}")
    return array


#: Stored dtype of each released dtype: the files' own precision (GPT-2 large's float32 in
#: float16 moved its per-reader R^2 by up to 6e-6); anything wider is kept as float32.
STORED_DTYPE = {np.dtype(np.float16): np.float16, np.dtype(np.float32): np.float32}


def _length_grid(lengths: list[list[int]], shape: tuple[int, ...], path: Path) -> np.ndarray:
    """``(A, S)`` int array of real lengths, 0 for sentences or articles the data lack."""
    n_art, n_sent, _, n_words, _ = shape
    if len(lengths) > n_art:
        raise ValueError(
            f"{path}: holds {n_art} articles, the human matrices have {len(lengths)} "
            f"(article {n_art} does not fit)"
        )
    grid = np.zeros((n_art, n_sent), dtype=np.int64)
    for a, article in enumerate(lengths):
        if len(article) > n_sent:
            raise ValueError(
                f"{path}: article {a} has {len(article)} sentences in the human matrices, the "
                f"file holds at most {n_sent} (sentence {n_sent} does not fit)"
            )
        for s, n in enumerate(article):
            if not 1 <= n <= n_words:
                raise ValueError(
                    f"{path}: article {a} sentence {s} has {n} words in the human matrices, "
                    f"the file holds 1 to {n_words}"
                )
        grid[a, : len(article)] = article
    return grid


#: fault checks on attention files: value = count of faults, passed when 0
FAULT_CHECKS: dict[str, str] = {
    "length_mismatch": "sentences whose last non-zero row differs from the human word count",
    "padding_nonzero": "non-zero entries outside the real (n, n) block of each sentence",
    "causal_upper_nonzero": "non-zero entries above the diagonal (j > i) in real blocks",
    "value_outside_0_1": "entries of real blocks outside [0, 1]",
    "zero_rows": "real rows whose sum over the real columns is 0",
    "row_sum_above_1": f"real rows summing above 1 + {ROW_SUM_TOLERANCE:g}",
}
#: descriptive row-sum numbers over real rows (< 1: BOS / prefix columns dropped upstream)
ROW_SUM_STATS = ("row_sum_min", "row_sum_mean", "row_sum_max", "row0_sum_mean")


def _join(items: Iterable[str], limit: int = 5) -> str:
    items = list(items)
    more = f"; ... {len(items) - limit} more" if len(items) > limit else ""
    return "; ".join(items[:limit]) + more


def _first(mask: np.ndarray) -> str:
    # argmax of a bool array stops at the first True: the same index as argwhere(mask)[0]
    # without listing every True of a 2-million-entry layer
    where = np.unravel_index(int(np.argmax(mask)), mask.shape)
    names = ("article", "sentence", "head", "row", "column")
    return "first at " + " ".join(f"{k} {v}" for k, v in zip(names, where, strict=False))


#: float16 bit pattern -> float32 value (exact, infinities and NaNs included); numpy casts
#: float16 without SIMD, and one table look-up per entry is 4x faster than ``astype``
_FLOAT16_TO_FLOAT32 = np.arange(2**16, dtype=np.uint16).view(np.float16).astype(np.float32)


def _as_float32(block: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """A layer in float32 for the checks: exactly ``block.astype(np.float32)``."""
    if block.dtype == np.float16:
        # every uint16 is a valid index: mode="clip" only spares numpy the buffered
        # bounds check that mode="raise" does when ``out`` is given
        return np.take(_FLOAT16_TO_FLOAT32, block.view(np.uint16), out=out, mode="clip")
    return block.astype(np.float32, copy=False)


class _Buffers:
    """Full-layer scratch arrays, allocated once per conversion and reused for every layer.

    A fresh 2-16 MB temporary costs its page faults again on every layer, which was most of
    the checks' time; writing into the same buffers (``out=``) does not.
    """

    def __init__(self, shape: tuple[int, ...], valid: np.ndarray) -> None:
        n_words = shape[-1]
        self.nonzero = np.empty(shape, dtype=bool)
        self.mask = np.empty(shape, dtype=bool)
        self.other = np.empty(shape, dtype=bool)
        self.inside = np.empty(shape, dtype=np.float32)
        self.wide = np.empty(shape, dtype=np.float64)
        # a full copy: a mask broadcast over the heads is copied through 3x slower
        self.valid = np.ascontiguousarray(np.broadcast_to(valid, shape))
        self.invalid = ~valid
        upper = np.triu(np.ones((n_words, n_words), dtype=bool), k=1)
        self.valid_upper = valid & upper


def _layer_checks(
    x: np.ndarray,
    valid: np.ndarray,
    row_ok: np.ndarray,
    grid: np.ndarray,
    path: Path,
    layer: int,
    from_float16: bool = False,
    buffers: _Buffers | None = None,
) -> tuple[dict[str, tuple[int, str]], dict[str, float], dict[tuple[int, int], int]]:
    """Data-fault checks of one layer, vectorised over all sentences and heads.

    Parameters
    ----------
    x
        ``(A, S, H, W, W)`` float32, one layer as stored.
    valid, row_ok
        ``(A, S, 1, W, W)`` mask of the real blocks and ``(A, S, 1, W)`` of the real rows.
    grid
        ``(A, S)`` real lengths (0 where the human data have no sentence).
    from_float16
        The values of ``x`` are float16 values: their float64 row sums are then exact in
        any order of summation, and a matrix-vector product computes them 3x faster than
        ``np.sum`` over the short last axis (the same numbers, bit for bit).
    buffers
        Scratch arrays of ``x``'s shape to reuse across layers; made here when None.

    Returns
    -------
    faults
        :data:`FAULT_CHECKS` name -> (count, detail).
    stats
        :data:`ROW_SUM_STATS` name -> value.
    mismatched
        ``(article, sentence)`` -> word count implied by the attention, where it differs
        from ``grid``.
    """
    ws = _Buffers(x.shape, valid) if buffers is None else buffers
    finite = np.isfinite(x, out=ws.mask)
    if not finite.all():
        a, s, h, i, j = np.argwhere(~finite)[0]
        region = "real block" if valid[a, s, 0, i, j] else "padding"
        raise ValueError(
            f"{path}: layer {layer} article {a} sentence {s}: NaN or inf (head {h} row {i} "
            f"column {j}, {region}); {int((~finite).sum())} non-finite entries in this layer"
        )
    nonzero = np.not_equal(x, 0, out=ws.nonzero)
    n_words = x.shape[-1]
    faults: dict[str, tuple[int, str]] = {}

    # the length the attention itself implies: one past its last non-zero row (every real
    # row of softmax attention keeps some weight on its own sentence); reduced over heads
    # first (a long vectorised OR), then over the columns: 9x faster than
    # any(axis=(2, 4)), the same booleans
    rows_used = nonzero.any(axis=2).any(axis=-1)  # (A, S, W)
    implied = np.where(rows_used.any(-1), n_words - np.argmax(rows_used[..., ::-1], -1), 0)
    mismatched = {(int(a), int(s)): int(implied[a, s]) for a, s in np.argwhere(implied != grid)}
    faults["length_mismatch"] = (
        len(mismatched),
        _join(
            f"article {a} sentence {s}: {grid[a, s]} words in the human data, {n} in the attention"
            for (a, s), n in mismatched.items()
        ),
    )

    pad = np.logical_and(nonzero, ws.invalid, out=ws.mask)
    n_pad = int(np.count_nonzero(pad))
    faults["padding_nonzero"] = (
        n_pad,
        f"max |value| {float(np.abs(x[pad]).max()):.4g}, {_first(pad)}" if n_pad else "",
    )

    acausal = np.logical_and(nonzero, ws.valid_upper, out=ws.mask)
    n_acausal = int(np.count_nonzero(acausal))
    faults["causal_upper_nonzero"] = (
        n_acausal,
        f"max {float(x[acausal].max()):.4g}, {_first(acausal)}" if n_acausal else "",
    )

    # np.where(valid, x, 0.0) written into the buffer (padding exactly +0.0)
    inside = ws.inside
    inside.fill(0.0)
    np.copyto(inside, x, where=ws.valid)
    # padding slots of ``inside`` are 0, so no further mask is needed
    outside = np.less(inside, 0, out=ws.mask)
    outside |= np.greater(inside, 1, out=ws.other)
    n_out = int(np.count_nonzero(outside))
    faults["value_outside_0_1"] = (
        n_out,
        f"range [{float(inside.min()):.4g}, {float(inside.max()):.4g}] in real blocks"
        + (f", {_first(outside)}" if n_out else ""),
    )

    if from_float16:  # exact either way, see above
        np.copyto(ws.wide, inside)
        sums = ws.wide @ np.ones(n_words)  # (A, S, H, W)
    else:
        sums = inside.sum(axis=-1, dtype=np.float64)  # (A, S, H, W) over the real columns
    rows_mask = np.broadcast_to(row_ok, sums.shape)
    real_sums = sums[rows_mask]
    zero = rows_mask & (sums == 0)
    above = rows_mask & (sums > 1 + ROW_SUM_TOLERANCE)
    for name, mask in (("zero_rows", zero), ("row_sum_above_1", above)):
        count = int(np.count_nonzero(mask))
        faults[name] = (
            count,
            f"{count} of {real_sums.size} rows" + (f", {_first(mask)}" if count else ""),
        )

    stats = {
        "row_sum_min": float(real_sums.min()),
        "row_sum_mean": float(real_sums.mean()),
        "row_sum_max": float(real_sums.max()),
        # row 0 can attend only to word 0, so its sum is exactly the mass that was left
        # after the BOS / prefix columns were dropped: the most direct measure of it
        "row0_sum_mean": float(sums[..., 0][rows_mask[..., 0]].mean()),
    }
    return faults, stats, mismatched


def _row(
    label: tuple[str, str],
    check: str,
    layer: int | str,
    value: float,
    passed: bool,
    severity: str,
    detail: str,
) -> dict:
    model, condition = label
    return dict(
        check=check,
        model=model,
        condition=condition,
        layer=layer,
        value=float(value),
        passed=bool(passed),
        severity=severity,
        detail=detail,
    )


def _check_rows(
    label: tuple[str, str], layer: int | str, faults: dict, stats: dict[str, float]
) -> list[dict]:
    rows = [_row(label, "nonfinite", layer, 0, True, "error", "no NaN or inf")]
    for name, (count, detail) in faults.items():
        text = FAULT_CHECKS[name] + (f": {detail}" if detail else "")
        rows.append(_row(label, name, layer, count, count == 0, "warning", text))
    for name, value in stats.items():
        rows.append(_row(label, name, layer, value, True, "info", "within-sentence row sums"))
    return rows


def _summary(
    per_layer: list[tuple[dict, dict[str, float], dict]], grid: np.ndarray
) -> tuple[dict, dict[str, float]]:
    """Faults and stats over all layers (every layer has the same real rows)."""
    faults = {}
    for name in FAULT_CHECKS:
        counts = [layer_faults[name][0] for layer_faults, _, _ in per_layer]
        bad = [layer for layer, count in enumerate(counts) if count]
        faults[name] = (sum(counts), f"in layers {bad}" if bad else "")
    implied: dict[tuple[int, int], set[int]] = {}
    for _, _, mismatched in per_layer:
        for key, n in mismatched.items():
            implied.setdefault(key, set()).add(n)
    layers_hit = faults["length_mismatch"][1]
    faults["length_mismatch"] = (
        len(implied),
        _join(
            f"article {a} sentence {s}: {grid[a, s]} words in the human data, "
            f"{sorted(ns)} in the attention"
            for (a, s), ns in sorted(implied.items())
        )
        + (f" ({layers_hit})" if implied else ""),
    )
    stats = [s for _, s, _ in per_layer]
    summary = {
        "row_sum_min": min(s["row_sum_min"] for s in stats),
        "row_sum_mean": float(np.mean([s["row_sum_mean"] for s in stats])),
        "row_sum_max": max(s["row_sum_max"] for s in stats),
        "row0_sum_mean": float(np.mean([s["row0_sum_mean"] for s in stats])),
    }
    return faults, summary


def load_release_attention(
    release_dir: str | os.PathLike,
    model_rel_dir: str,
    file_prefix: str,
    lengths: list[list[int]],
    model_name: str,
    condition: str,
    n_layers: int | None = None,
    commit: str = RELEASE_COMMIT,
    hashes: Mapping[str, str] | None = None,
) -> tuple[AttentionSet, list[dict]]:
    """Convert released per-layer attention files into an :class:`AttentionSet`.

    Layer files ``{file_prefix}_layer{L}.npy`` are memory-mapped one at a time; each holds
    ``(articles A, max_sentences S, heads H, max_words W, max_words W)`` attention,
    zero-padded. Layers, heads and padding sizes are read from the files; the real
    lengths come from the human matrices.

    Parameters
    ----------
    model_rel_dir
        Folder of the model's files relative to ``release_dir``, e.g.
        :data:`LLAMA_30B_DIR`.
    file_prefix
        ``"rb_p1"`` (plain) or ``"instr_rb_p1"`` (instruction), see
        :data:`CONDITION_PREFIXES`.
    lengths
        ``lengths[a][s]`` = words of sentence ``s`` of article ``a``
        (``SaccadeSet.lengths()``).
    n_layers
        Read layers ``0..n_layers-1``; default: every contiguous layer file found.
    hashes
        Release path -> SHA-256: every layer file is checked before any work, and each is
        hashed again from the bytes that are converted (a file replaced in between is
        refused); None reads unchecked.

    Returns
    -------
    attention : AttentionSet
        ``sentences[a][s]``: ``(n_layers, n_heads, n_words, n_words)`` in the files' own
        precision (:data:`STORED_DTYPE`: LLaMA-30B's float16, GPT-2 large's float32), the
        files' values sliced to the real length (not renormalised: LLaMA-30B's rows sum
        below 1 because the authors dropped BOS / prefix columns).
    checks : list of dict
        Tidy rows (:data:`CHECK_COLUMNS`), per layer and over ``"all"`` layers: the
        :data:`FAULT_CHECKS` (sentences whose attention implies another word count,
        non-zero padding, non-zero entries above the diagonal, values outside [0, 1], rows
        of zero sum, rows summing above 1; ``value`` = count, passed when 0) and the
        :data:`ROW_SUM_STATS` (``severity`` ``"info"``), plus ``n_layers`` and ``n_heads``.

    Raises
    ------
    ValueError
        A missing, truncated or non-float layer file; layers of different shapes; lengths
        that do not fit the files (naming file, article and sentence); NaN or inf anywhere
        (naming file, layer, article and sentence).
    """
    release_dir = Path(release_dir)
    if n_layers is None:
        n_layers = layers_in_dir(release_dir, model_rel_dir, file_prefix)
    if n_layers < 1:
        raise ValueError(f"{release_dir / model_rel_dir}: n_layers must be at least 1")
    relpaths = [attention_relpath(model_rel_dir, file_prefix, layer) for layer in range(n_layers)]
    paths = [release_dir / rel for rel in relpaths]
    label = (model_name, condition)
    if hashes is not None:  # a replaced file fails as such, before any shape check
        verify_files(release_dir, hashes, relpaths)

    # open every layer first: a bad or mismatched file fails before any work is done
    first = _open_layer(paths[0])
    shape, dtype = first.shape, first.dtype
    for path in paths[1:]:
        array = _open_layer(path)
        if array.shape != shape:
            raise ValueError(f"{path}: shape {array.shape} differs from {paths[0]}'s {shape}")
    del first
    _, _, n_heads, n_words, _ = shape
    grid = _length_grid(lengths, shape, paths[0])

    idx = np.arange(n_words)
    row_ok = (idx < grid[..., None])[:, :, None, :]  # (A, S, 1, W)
    valid = row_ok[..., :, None] & row_ok[..., None, :]  # (A, S, 1, W, W)

    stored = STORED_DTYPE.get(dtype, np.float32)
    sentences: Ragged = [
        [np.empty((n_layers, n_heads, n, n), dtype=stored) for n in article] for article in lengths
    ]
    files = f"{paths[0].parent}/{file_prefix}_layer{{0..{n_layers - 1}}}.npy"
    checks: list[dict] = [
        _row(label, "n_layers", "all", n_layers, True, "info", files),
        _row(label, "n_heads", "all", n_heads, True, "info", f"file shape {shape} {dtype}"),
    ]
    # (destination, article, sentence, words) once, not two nested loops per layer
    slots = [
        (sentences[a][s], a, s, n)
        for a, article in enumerate(lengths)
        for s, n in enumerate(article)
    ]
    from_float16 = dtype == np.float16
    buffers = _Buffers(shape, valid)
    wide = np.empty(shape, dtype=np.float32)
    per_layer = []
    for layer, path in enumerate(paths):
        # one layer in memory at a time (4 MB float16, 8 MB float32 for LLaMA-30B);
        # checks run in float32 because float16 row sums would lose precision
        block = _read_layer(release_dir, relpaths[layer], hashes, shape)
        x = _as_float32(block, out=wide if from_float16 else None)
        result = _layer_checks(x, valid, row_ok, grid, path, layer, from_float16, buffers)
        checks += _check_rows(label, layer, result[0], result[1])
        per_layer.append(result)
        block = block.astype(stored, copy=False)
        for dest, a, s, n in slots:
            dest[layer] = block[a, s, :, :n, :n]
    checks += _check_rows(label, "all", *_summary(per_layer, grid))
    failed = [r for r in checks if not r["passed"] and r["layer"] == "all"]
    for r in failed:
        logger.warning("%s %s: check %s failed: %s", model_name, condition, r["check"], r["detail"])
    logger.info(
        "converted %s (%s): %d layers x %d heads, %d sentences, %d failed checks",
        model_name,
        condition,
        n_layers,
        n_heads,
        sum(len(article) for article in lengths),
        len(failed),
    )
    attention = AttentionSet(
        model=model_name,
        condition=condition,
        sentences=sentences,
        source=release_source(
            [f"{model_rel_dir.rstrip('/')}/{file_prefix}_layer{{0..{n_layers - 1}}}.npy"], commit
        ),
        attrs={
            "release_repo": RELEASE_REPO,
            "release_commit": commit,
            "release_shape": list(shape),
        },
    )
    return attention, checks


def longest_lengths(lengths: Iterable[list[list[int]]]) -> list[list[int]]:
    """Per sentence, the most words any of several sources (the groups' fMRI files) gives it."""
    lengths = list(lengths)
    return [
        [max(counts) for counts in zip(*articles, strict=True)]
        for articles in zip(*lengths, strict=True)
    ]


def attention_words(attention: AttentionSet) -> list[list[int]]:
    """Words of each sentence that the attention holds: one past its last row that is not
    zero in every layer and head (rows past it are the zero padding of the file's block)."""
    out = []
    for article in attention.sentences:
        out.append([])
        for m in article:
            rows = np.flatnonzero((m != 0).any(axis=(0, 1, 3)))
            out[-1].append(int(rows[-1]) + 1 if rows.size else 0)
    return out


def fmri_length_checks(
    attention: AttentionSet,
    saccade_lengths: list[list[int]],
    fmri_lengths: Mapping[str, list[list[int]]],
) -> list[dict]:
    """Where the fMRI files and the saccade matrices disagree on a sentence's length, which
    source is the odd one out, judged by the words the attention holds.

    ``attention`` holds each sentence at the longest of the groups' fMRI lengths
    (:func:`longest_lengths`), sliced from the release's padded blocks. Sources that agree
    with the attention's words are right; the other one is the odd one out. The per-reader
    analyses use a group's fMRI length where the attention holds all its words (the
    project's rows) and the attention's zero padding otherwise (the authors' rows, which
    slice the padded file as ``heads_vs_fmri.py`` does).

    Returns
    -------
    list of dict
        One ``fmri_length_odd_one_out`` row (:data:`CHECK_COLUMNS`, condition ``fmri``) per
        such sentence; ``value`` is the attention's word count.
    """
    words = attention_words(attention)
    label = (attention.model, "fmri")
    rows = []
    for a, article in enumerate(saccade_lengths):
        for s, n in enumerate(article):
            fmri = {g: lengths[a][s] for g, lengths in fmri_lengths.items()}
            if all(k == n for k in fmri.values()):
                continue
            held, stored = words[a][s], attention.sentences[a][s].shape[-1]
            odd = [f"{g} fMRI files" for g, k in fmri.items() if k != held]
            if n != held:
                odd.insert(0, "saccade matrices")
            said = ", ".join(f"{g} {k}" for g, k in fmri.items())
            detail = (
                f"article {a} sentence {s}: {n} words in the saccade matrices, {said} in the "
                f"fMRI files, {held} of {stored} in the attention: the odd one out is the "
                f"{' and the '.join(odd) or 'none'}"
            )
            short = [g for g, k in fmri.items() if k > held]
            if short:
                detail += (
                    f"; for {', '.join(short)} the project's reader rows leave the sentence "
                    "out, the authors' rows count the attention's zero padding"
                )
            rows.append(
                _row(label, "fmri_length_odd_one_out", "all", held, False, "warning", detail)
            )
    return rows


def release_checks_table(checks: Iterable[dict]) -> pd.DataFrame:
    """Tidy table of check rows: one row per check, model, condition and layer.

    ``layer`` is the layer index, or ``"all"`` for a summary over layers (object column).
    """
    table = pd.DataFrame(list(checks), columns=CHECK_COLUMNS)
    table["layer"] = table["layer"].astype(object)
    return table


def saccade_duration_checks(saccades: Iterable[SaccadeSet]) -> list[dict]:
    """``dur / num`` of each reader group: how long one saccade weighs, in ms.

    A fixation lasts about 200-250 ms in reading. The summed-duration rule
    (:mod:`readalike.human.saccades`, ``duration: both``) gives about two fixations per saccade,
    a single-fixation rule (``left`` or ``landed``) about one, so this number tells which
    rule made a set of group means. The released means give 232 ms (L1) and 245 ms (L2):
    one fixation.

    Parameters
    ----------
    saccades
        One :class:`~readalike.core.formats.SaccadeSet` per group, with ``num`` and ``dur``.

    Returns
    -------
    list of dict
        Two info rows per group (columns :data:`CHECK_COLUMNS`, model ``human:<group>``,
        condition ``saccades``, layer ``all``): ``dur_per_saccade_ms`` = summed ``dur``
        over summed ``num`` (the mean weight of a saccade), and ``dur_per_cell_ms`` = the
        mean of ``dur / num`` over the cells where ``num > 0``.
    """
    rows = []
    for group in saccades:
        num = np.concatenate([m.ravel() for a in group.measures["num"] for m in a])
        dur = np.concatenate([m.ravel() for a in group.measures["dur"] for m in a])
        seen = num > 0
        total = float(num.sum())
        per_saccade = float(dur.sum()) / total if total > 0 else float("nan")
        per_cell = float(np.mean(dur[seen] / num[seen])) if seen.any() else float("nan")
        label = (f"human:{group.group}", "saccades")
        rows.append(
            _row(
                label,
                "dur_per_saccade_ms",
                "all",
                per_saccade,
                True,
                "info",
                "summed dur / summed num: ms per saccade (one fixation is about 200-250 ms; "
                "the summed-duration rule gives about two)",
            )
        )
        rows.append(
            _row(
                label,
                "dur_per_cell_ms",
                "all",
                per_cell,
                True,
                "info",
                f"mean of dur / num over the {int(seen.sum())} cells with num > 0 (ms)",
            )
        )
    return rows
