"""Reading the stimulus text: articles of sentences of whitespace-separated words.

Format: plain UTF-8 text, one sentence per line, articles separated by one empty line.
Words are whitespace tokens, exactly as they were shown to readers; punctuation stays
attached to its word, as in eye-tracking interest areas. A line of only spaces or tabs is
refused wherever it stands: it looks empty but is easily typed by accident, and taking it
as a separator would shift the index of every later article.
"""

from __future__ import annotations

import os
from pathlib import Path

#: articles -> sentences -> words
Stimuli = list[list[list[str]]]


def read_stimuli(path: str | os.PathLike) -> Stimuli:
    """Read a stimulus file into ``articles[a][s] -> list of words``.

    Raises
    ------
    ValueError
        If the file is not UTF-8, holds no sentence, a line holds only whitespace, or an
        article is empty (two empty lines in a row); the message names the file and the
        line or article.
    """
    path = Path(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise ValueError(
            f"{path}: not UTF-8 text (invalid byte at offset {err.start}, line {line})"
        ) from None
    raw_lines = text.splitlines()
    for number, line in enumerate(raw_lines, start=1):
        if line and not line.split():
            raise ValueError(
                f"{path}: line {number} holds only whitespace (spaces or tabs); articles are "
                "separated by an empty line, and a sentence needs words"
            )
    lines = [line.split() for line in raw_lines]
    # empty lines before the first and after the last sentence are not article separators
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    articles: Stimuli = [[]]
    blank_run = 0
    for words in lines:
        if not words:
            blank_run += 1
            if blank_run == 2:
                raise ValueError(
                    f"{path}: article {len(articles) - 1} is empty (two blank lines in a row "
                    f"after article {len(articles) - 2}; articles are numbered from 0)"
                )
            articles.append([])
            continue
        blank_run = 0
        articles[-1].append(words)
    if not articles[0]:
        raise ValueError(f"{path}: no sentence found; expected one sentence per line")
    return articles


def sentence_lengths(stimuli: Stimuli) -> list[list[int]]:
    """Number of words of every sentence, ``lengths[a][s]``."""
    return [[len(words) for words in article] for article in stimuli]
