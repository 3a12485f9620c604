"""Logging for workflow jobs: everything a job says goes to its Snakemake log file.

Snakemake shows a failing job's stderr on the console, followed by its own
``CalledProcessError``; the log file is only named. So that the console says what went
wrong, :func:`send_to_log` also installs an exception hook: an uncaught exception writes
its full traceback to the log and then one line, the cause, to the job's original stderr
(the console), and the job exits with status 1.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import TextIO


def one_line(err: BaseException) -> str:
    """The cause of ``err`` in one line, as the console shows it.

    A ``ValueError`` is how the package refuses bad input, and its message already names
    the file, article and sentence: it stands alone. Any other exception is prefixed by
    its type (``KeyError: 'layer'``), which says more than its bare message. Only the
    first line of a longer message is kept; an empty message gives the type alone.
    """
    lines = str(err).strip().splitlines()
    message = lines[0].strip() if lines else ""
    if isinstance(err, ValueError) and message:
        return message
    name = type(err).__name__
    return f"{name}: {message}" if message else name


def _hook(
    log: TextIO, console: TextIO
) -> Callable[[type[BaseException], BaseException, TracebackType | None], None]:
    def excepthook(kind: type[BaseException], err: BaseException, tb: TracebackType | None) -> None:
        try:
            traceback.print_exception(kind, err, tb, file=log)
            log.flush()
        except Exception:  # the log is gone (disk full?): the console still gets the line
            traceback.print_exception(kind, err, tb, file=console)
        console.write(one_line(err) + "\n")
        console.flush()

    return excepthook


def send_to_log(path: str | os.PathLike) -> None:
    """Send stderr, warnings and the package's logging of this process to ``path``.

    An uncaught exception then leaves its traceback in ``path`` and its one-line cause
    (:func:`one_line`) as the last line of the process's original stderr.
    """
    stream = open(path, "w", encoding="utf-8", buffering=1)  # noqa: SIM115 - lives with the job
    console = sys.stderr
    sys.stderr = stream
    sys.excepthook = _hook(stream, console)
    logging.basicConfig(
        stream=stream,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    logging.captureWarnings(True)
