"""Study B prompts in the authors' format (``FinalDataset.tsv``): the demo's, a cluster's
and the released ones are read by the same reader.

The file is tab-separated with columns ``ID, Prompt, Response, Instruct&Context``; fields
escape newlines and tabs as the authors' files do (:func:`decode_field`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from readalike.study_b.instruction_focus import source_of

logger = logging.getLogger(__name__)


def decode_field(text: str) -> str:
    """Undo the release's TSV escaping: ``/n`` -> newline, ``/t`` -> tab (the authors' encode)."""
    return text.replace("/n", "\n").replace("/t", "\t")


def read_tsv_rows(
    path: Path, columns: Sequence[str], id_column: str | None
) -> list[dict[str, str]]:
    """Rows of a header-first TSV without quoting; errors name the file, line and ID."""
    lines = path.read_text(encoding="utf-8").split("\n")
    header = lines[0].rstrip("\r").split("\t")
    if header != list(columns):
        raise ValueError(f"{path}: header {header} differs from the expected {list(columns)}")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.rstrip("\r").split("\t")
        if len(fields) != len(columns):
            raise ValueError(
                f"{path}: line {number} (ID {fields[0]!r}) has {len(fields)} fields, "
                f"expected {len(columns)}"
            )
        rows.append(dict(zip(columns, fields, strict=True)))
    seen: set[str] = set()
    for row in rows if id_column else ():
        if row[id_column] in seen:
            raise ValueError(f"{path}: ID {row[id_column]!r} appears twice")
        seen.add(row[id_column])
    return rows


def read_prompts(path: str | os.PathLike) -> pd.DataFrame:
    """Read ``FinalDataset.tsv``.

    Returns
    -------
    pd.DataFrame
        One row per prompt: ``prompt_id``, ``source``, ``prompt`` (decoded text),
        ``reference`` (the dataset's reference answer), ``fragments`` (list of annotated
        instruction fragments, split on ``|||``), ``context`` (text after ``&&&``, or "").

    Raises
    ------
    ValueError
        Naming the file and ID: wrong header or field count, duplicate or unknown-source
        ID, empty prompt, several ``&&&``, no instruction fragment, or a fragment that does
        not occur in the prompt.
    """
    path = Path(path)
    rows = read_tsv_rows(path, ["ID", "Prompt", "Response", "Instruct&Context"], "ID")
    records = []
    for row in rows:
        prompt_id = row["ID"]
        where = f"{path}: {prompt_id}"
        try:
            source = source_of(prompt_id)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None
        prompt = decode_field(row["Prompt"])
        if not prompt.strip():
            raise ValueError(f"{where}: empty prompt")
        annotation = decode_field(row["Instruct&Context"])
        if annotation.count("&&&") > 1:
            raise ValueError(f"{where}: more than one '&&&' in Instruct&Context")
        instruction, _, context = annotation.partition("&&&")
        fragments = [f for f in instruction.split("|||") if f.strip()]
        if not fragments:
            raise ValueError(f"{where}: no instruction fragment annotated")
        missing = [f for f in fragments if f.strip() not in prompt]
        if missing:
            raise ValueError(f"{where}: fragment {missing[0]!r} does not occur in the prompt")
        records.append(
            {
                "prompt_id": prompt_id,
                "source": source,
                "prompt": prompt,
                "reference": decode_field(row["Response"]),
                "fragments": fragments,
                "context": context,
            }
        )
    logger.info("read %d prompts from %s", len(records), path)
    return pd.DataFrame.from_records(
        records, columns=["prompt_id", "source", "prompt", "reference", "fragments", "context"]
    )


def select_prompts(prompts: pd.DataFrame, n: int) -> pd.DataFrame:
    """``n`` prompts spread over the sources in proportion to their sizes, evenly within each.

    Each source gets ``n * size / total`` prompts rounded by largest remainder (ties to the
    source listed first); within a source of ``m`` prompts the ``k`` chosen are the ones at
    positions ``floor((i + 1/2) m / k)``, so they span the source's file order. The result
    keeps the file's order. Deterministic: a rerun answers the same prompts.

    Parameters
    ----------
    prompts
        :func:`read_prompts`' table (``source`` column).
    n
        How many to keep; all of them if ``n`` is at least their number.

    Returns
    -------
    pandas.DataFrame
        The chosen rows, index reset.
    """
    if n >= len(prompts):
        return prompts.reset_index(drop=True)
    sizes = prompts["source"].value_counts(sort=False)
    exact = n * sizes / len(prompts)
    counts = np.floor(exact).astype(int)
    left = n - int(counts.sum())
    # largest remainders first; a stable sort keeps the sources' order among equal ones
    for source in (exact - counts).sort_values(ascending=False, kind="stable").index[:left]:
        counts[source] += 1
    keep = []
    for source, k in counts.items():
        rows = np.flatnonzero(prompts["source"].to_numpy() == source)
        positions = np.floor((np.arange(k) + 0.5) * len(rows) / k).astype(int) if k else []
        keep.extend(rows[positions])
    chosen = prompts.iloc[sorted(keep)].reset_index(drop=True)
    logger.info(
        "kept %d of %d prompts: %s",
        len(chosen),
        len(prompts),
        ", ".join(f"{s} {int(c)}/{int(sizes[s])}" for s, c in counts.items()),
    )
    return chosen
