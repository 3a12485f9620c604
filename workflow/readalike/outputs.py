"""Writing outputs so that a killed job never leaves a file that looks finished.

Every table, figure and HDF5 file of the workflow goes through :func:`atomic_path`: the
content is written to a temporary file beside the target and moved into place with
``os.replace`` only once it is complete.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

#: Value of the ``provenance`` column of every table built on simulated readers or the demo zoo.
SYNTHETIC = "SYNTHETIC"
#: Value of the ``provenance`` column of every table built on real reading data and models.
REAL = "real"


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; move it onto ``target`` on success.

    On any exception the temporary file is removed and ``target`` is left untouched, so
    a rerun never trusts a half-written file.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = target.suffix if suffix is None else suffix
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{suffix}", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates files readable by their owner alone; give the result the
        # permissions any other new file would get (0666 less the umask)
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; move it onto ``target`` on success.

    The folder counterpart of :func:`atomic_path` (model checkpoints): a killed job never
    leaves a folder that looks complete. An existing ``target`` is replaced.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private to its owner
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def provenance(synthetic: bool) -> str:
    """The provenance stamp for a run: ``SYNTHETIC`` for simulated readers or toy models."""
    return SYNTHETIC if synthetic else REAL


def write_tsv(table: pd.DataFrame, target: str | os.PathLike, synthetic: bool) -> None:
    """Write a tidy table as TSV, with a ``provenance`` column stamping SYNTHETIC data.

    The stamp is a column rather than a comment line so that it survives concatenation of
    tables and any TSV reader sees it.
    """
    table = table.copy()
    table["provenance"] = provenance(synthetic)
    with atomic_path(target) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.10g")


def write_text(text: str, target: str | os.PathLike) -> None:
    """Write a UTF-8 text file atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
