"""Writing outputs so that a killed job never leaves a file that looks finished.

Every table, figure and HDF5 file of the workflow goes through :func:`atomic_path`: the
content is written to a temporary file beside the target and moved into place with
``os.replace`` only once it is complete.
"""

from __future__ import annotations

import contextlib
import os
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
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


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
