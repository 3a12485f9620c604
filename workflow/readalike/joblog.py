"""Logging for workflow jobs: everything a job says goes to its Snakemake log file."""

from __future__ import annotations

import logging
import os
import sys


def send_to_log(path: str | os.PathLike) -> None:
    """Send stderr, warnings and the package's logging of this process to ``path``."""
    stream = open(path, "w", encoding="utf-8", buffering=1)  # noqa: SIM115 - lives with the job
    sys.stderr = stream
    logging.basicConfig(
        stream=stream,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    logging.captureWarnings(True)
