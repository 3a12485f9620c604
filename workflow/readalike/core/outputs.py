"""Writing outputs so that a killed job never leaves a file that looks finished.

Every table, figure and HDF5 file of the workflow goes through :func:`atomic_path`: the
content is written to a temporary file beside the target and moved into place with
``os.replace`` only once it is complete. A job killed by the scheduler cannot clean up
after itself, so the next write of the same target first removes the temporary siblings
such a job left (only those of that target: a job is the one writer of its outputs).

A full disk is an error of one line naming the file and the space it needed and had
(:class:`NoSpaceError`): checked before writing where the caller knows the size
(``expected_bytes``), and caught while writing (``ENOSPC``), since HDF5 may otherwise
fail far less clearly.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from readalike.core.tables import check_header

log = logging.getLogger(__name__)

#: Value of the ``provenance`` column of every table built on simulated readers or the demo zoo.
SYNTHETIC = "SYNTHETIC"
#: Value of the ``provenance`` column of every table built on real reading data and models.
REAL = "real"
#: Value of the ``provenance`` column of every table built on a copy of a known release that
#: differs from its pinned manifest (config ``release_modified: true``).
MODIFIED = "modified"
#: The stamps, weakest first: a table resting on several sources takes the strongest.
PROVENANCES = (REAL, MODIFIED, SYNTHETIC)


class NoSpaceError(OSError):
    """Not enough disk space for an output; the message is one line naming file and sizes."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.errno = errno.ENOSPC


def format_bytes(n: int) -> str:
    """``n`` bytes in the largest binary unit that keeps it at least 1: ``'1.5 GiB'``."""
    n = int(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


# tempfile's random part: 8 characters from this set (tempfile._RandomNameSequence)
_RANDOM = "[a-z0-9_]{8}"


def _temp_pattern(target: Path, tail: str) -> re.Pattern[str]:
    """Names of the temporary siblings :func:`tempfile.mkstemp` makes for ``target``."""
    return re.compile(rf"\.{re.escape(target.name)}\.{_RANDOM}{re.escape(tail)}")


def _remove_stale_temps(target: Path, tail: str) -> None:
    """Remove temporary siblings of ``target`` left by a killed earlier write of it."""
    pattern = _temp_pattern(target, tail)
    for stale in target.parent.iterdir():
        if not pattern.fullmatch(stale.name):
            continue
        log.info("removing %s, left by an earlier write of %s that did not finish", stale, target)
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()


def _free_bytes(folder: Path) -> int:
    return int(shutil.disk_usage(folder).free)


def _check_space(target: Path, expected_bytes: int) -> None:
    free = _free_bytes(target.parent)
    if free < expected_bytes:
        raise NoSpaceError(
            f"{target}: not enough disk space: it needs about {format_bytes(expected_bytes)}, "
            f"{format_bytes(free)} free in {target.parent}"
        )


def _is_no_space(err: BaseException | None) -> bool:
    # h5py reports a full disk as OSError(28, ...) or, when its core driver writes the file
    # on closing, as a RuntimeError whose text holds "errno = 28"; a library may also wrap
    # the error in its own exception, so the chain is searched too
    for _ in range(10):
        if err is None:
            return False
        if isinstance(err, OSError) and err.errno == errno.ENOSPC:
            return True
        text = str(err)
        if "No space left on device" in text or "errno = 28" in text:
            return True
        err = err.__cause__ or err.__context__
    return False


def _no_space_while_writing(
    target: Path, written: int | None, expected_bytes: int | None
) -> NoSpaceError:
    done = f" after writing {format_bytes(written)} of it" if written is not None else ""
    needed = f", about {format_bytes(expected_bytes)} needed" if expected_bytes else ""
    return NoSpaceError(
        f"{target}: disk full{done}; {format_bytes(_free_bytes(target.parent))} free in "
        f"{target.parent}{needed}"
    )


@contextlib.contextmanager
def atomic_path(
    target: str | os.PathLike, suffix: str | None = None, expected_bytes: int | None = None
) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; move it onto ``target`` on success.

    On any exception the temporary file is removed and ``target`` is left untouched, so
    a rerun never trusts a half-written file. Temporary siblings of ``target`` left by an
    earlier write that was killed are removed first.

    Parameters
    ----------
    target
        The file to write.
    suffix
        Ending of the temporary file's name (default: that of ``target``), for writers
        that choose the format from it.
    expected_bytes
        Size the file will have, where the caller knows it (bytes): the write is refused
        before it starts if the disk has less free space.

    Raises
    ------
    NoSpaceError
        Less free space than ``expected_bytes``, or the disk filled up while writing.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = target.suffix if suffix is None else suffix
    _remove_stale_temps(target, f".tmp{suffix}")
    if expected_bytes is not None:
        _check_space(target, expected_bytes)
    tmp_path: Path | None = None
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=f".tmp{suffix}", dir=target.parent
        )
        os.close(fd)
        tmp_path = Path(tmp)
        yield tmp_path
        # mkstemp creates files readable by their owner alone; give the result the
        # permissions any other new file would get (0666 less the umask)
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, target)
    except BaseException as err:
        written = 0
        if tmp_path is not None:
            with contextlib.suppress(OSError):
                written = tmp_path.stat().st_size
            with contextlib.suppress(FileNotFoundError):
                tmp_path.unlink()
        if _is_no_space(err):
            raise _no_space_while_writing(target, written, expected_bytes) from err
        raise


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; move it onto ``target`` on success.

    The folder counterpart of :func:`atomic_path` (model checkpoints): a killed job never
    leaves a folder that looks complete. An existing ``target`` is replaced; temporary
    folders left by an earlier killed write of ``target`` are removed first.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(target, ".tmp")
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private to its owner
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException as err:
        shutil.rmtree(tmp, ignore_errors=True)
        if _is_no_space(err):
            raise _no_space_while_writing(target, None, None) from err
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def provenance(synthetic: bool | str) -> str:
    """The provenance stamp for a run: ``SYNTHETIC`` for simulated readers or toy models.

    ``synthetic`` is the run's flag, or a stamp of :data:`PROVENANCES` itself (a run on a
    modified release passes :data:`MODIFIED`).
    """
    if isinstance(synthetic, str):
        if synthetic not in PROVENANCES:
            raise ValueError(f"unknown provenance {synthetic!r}; known: {list(PROVENANCES)}")
        return synthetic
    return SYNTHETIC if synthetic else REAL


def table_provenance(*tables: pd.DataFrame) -> str:
    """The strongest stamp in the ``provenance`` columns of ``tables`` (for a table or figure
    made from them): SYNTHETIC over modified over real."""
    found = {str(v) for t in tables for v in t["provenance"].unique()}
    return max((p for p in PROVENANCES if p in found), key=PROVENANCES.index, default=REAL)


def write_tsv(table: pd.DataFrame, target: str | os.PathLike, synthetic: bool | str) -> None:
    """Write a tidy table as TSV, with a ``provenance`` column stamping SYNTHETIC data.

    The stamp is a column rather than a comment line so that it survives concatenation of
    tables and any TSV reader sees it. A table of the registry (:mod:`readalike.core.tables`)
    must have its registered columns, in order, or nothing is written.
    """
    check_header([str(c) for c in table.columns], target)
    table = table.copy()
    table["provenance"] = provenance(synthetic)
    with atomic_path(target) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.10g")


def write_text(text: str, target: str | os.PathLike) -> None:
    """Write a UTF-8 text file atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def read_tsv(path: str | os.PathLike) -> pd.DataFrame:
    """Read a table written by :func:`write_tsv` (reader ids stay strings: ``007`` is not 7)."""
    return pd.read_csv(path, sep="\t", dtype={"reader": str})
