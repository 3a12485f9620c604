"""Reading the stimulus text: articles of sentences of whitespace-separated words.

Format: plain UTF-8 text, one sentence per line, articles separated by one empty line.
Words are whitespace tokens, exactly as they were shown to readers; punctuation stays
attached to its word, as in eye-tracking interest areas. A line of only spaces or tabs is
refused wherever it stands: it looks empty but is easily typed by accident, and taking it
as a separator would shift the index of every later article.

What a reader saw is what the models read, so text that looks the same must be the same:

- a byte-order mark (U+FEFF) at the start of the file is dropped, as pandas drops it from
  the fixation CSV (it would otherwise reach the model as part of the first word); one
  anywhere else (files joined with ``cat``) is refused;
- the text is normalised to NFC, so that an accented letter typed as a letter plus a
  combining accent is the one character other text holds;
- lines end at a newline (``\n`` or ``\r\n``) only: a form feed, vertical tab, lone
  ``\r``, U+0085, U+2028 or U+2029 inside a line is refused, where ``str.splitlines``
  would silently split the sentence in two and shift every later sentence;
- a word made only of invisible characters (Unicode format characters such as a zero-width
  space U+200B or a word joiner U+2060) is refused: readers saw no word there. Such
  characters inside a visible word are kept, as they may belong to it (ZWJ, ZWNJ).
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

#: articles -> sentences -> words
Stimuli = list[list[list[str]]]

_BOM = "\ufeff"
#: What ``str.splitlines`` takes for a line end besides ``\n`` and ``\r\n``, and a BOM
#: past the start of the file: refused wherever they stand (module docstring).
_NOT_IN_A_LINE = re.compile("\r(?!\n)|[\v\f\x1c\x1d\x1e\x85\u2028\u2029\ufeff]")


#: Names of the control characters among them (unicodedata has none for controls).
_CONTROL_NAMES = {
    "\r": "CARRIAGE RETURN",
    "\v": "LINE TABULATION",
    "\f": "FORM FEED",
    "\x1c": "FILE SEPARATOR",
    "\x1d": "GROUP SEPARATOR",
    "\x1e": "RECORD SEPARATOR",
    "\x85": "NEXT LINE",
}


def _char_name(char: str) -> str:
    name = _CONTROL_NAMES.get(char) or unicodedata.name(char, "(unnamed)")
    return f"U+{ord(char):04X} {name}"


def _invisible(word: str) -> bool:
    """Whether every character of ``word`` is a format character (category Cf)."""
    return not word.isascii() and all(unicodedata.category(c) == "Cf" for c in word)


def read_stimuli(path: str | os.PathLike) -> Stimuli:
    """Read a stimulus file into ``articles[a][s] -> list of words``.

    The text is normalised first (module docstring): a leading byte-order mark dropped,
    Unicode NFC.

    Raises
    ------
    ValueError
        If the file is not UTF-8, holds no sentence, a line holds only whitespace, a line
        break other than a newline or a byte-order mark past the start, a word of only
        invisible characters, or an article is empty (two empty lines in a row); the message
        names the file and the line (and word) or article.
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
    text = unicodedata.normalize("NFC", text.removeprefix(_BOM))
    odd = _NOT_IN_A_LINE.search(text)
    if odd:
        number = text.count("\n", 0, odd.start()) + 1
        char = odd.group()
        what = (
            "a byte-order mark past the start of the file (files joined?)"
            if char == _BOM
            else "a line break inside a line; one sentence per line, lines end with a newline"
        )
        raise ValueError(f"{path}: line {number} holds {_char_name(char)}, {what}")
    raw_lines = text.split("\n")
    if raw_lines[-1] == "":
        raw_lines.pop()  # the newline that ends the last line
    raw_lines = [line.removesuffix("\r") for line in raw_lines]
    for number, line in enumerate(raw_lines, start=1):
        if line and not line.split():
            raise ValueError(
                f"{path}: line {number} holds only whitespace (spaces or tabs); articles are "
                "separated by an empty line, and a sentence needs words"
            )
    lines = [line.split() for line in raw_lines]
    for number, words in enumerate(lines, start=1):
        for k, word in enumerate(words):
            if _invisible(word):
                raise ValueError(
                    f"{path}: line {number} word {k} (from 0) is only invisible characters "
                    f"({', '.join(map(_char_name, dict.fromkeys(word)))}); readers saw no word "
                    "there"
                )
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
