import pytest

from readalike.core.stimuli import read_stimuli, sentence_lengths


def _write(tmp_path, content: str | bytes, name="stimuli.txt"):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("One sentence.\n", [[["One", "sentence."]]], id="one-sentence"),
        pytest.param(
            "The cat sat.\nIt purred, loudly.\n\nDogs  bark\ttoo.\n",
            [[["The", "cat", "sat."], ["It", "purred,", "loudly."]], [["Dogs", "bark", "too."]]],
            id="two-articles-punctuation-kept",
        ),
        pytest.param("\n\na b\n\nc\n\n\n", [[["a", "b"]], [["c"]]], id="blank-lines-at-the-ends"),
        pytest.param("a b\r\nc\r\n\r\nd\r\n", [[["a", "b"], ["c"]], [["d"]]], id="crlf"),
        pytest.param("naïve café\n", [[["naïve", "café"]]], id="non-ascii"),
        # the BOM of an editor's "UTF-8 with BOM" reached the model as part of the first word
        pytest.param("\ufeffThe cat.\nA dog.\n", [[["The", "cat."], ["A", "dog."]]], id="bom"),
        # e + combining acute is the one character é that other text (and tokenizers) hold
        pytest.param("cafe\u0301 ok\n", [[["caf\u00e9", "ok"]]], id="nfc"),
        # zero-width characters inside a visible word may belong to it: kept
        pytest.param("a\u200db c\n", [[["a\u200db", "c"]]], id="zero-width-inside-a-word"),
        pytest.param("no newline at the end", [[["no", "newline", "at", "the", "end"]]], id="eof"),
    ],
)
def test_parses_articles_sentences_words(tmp_path, text, expected):
    assert read_stimuli(_write(tmp_path, text)) == expected


def test_sentence_lengths():
    stimuli = [[["a", "b"], ["c"]], [["d", "e", "f"]]]
    assert sentence_lengths(stimuli) == [[2, 1], [3]]


def test_demo_stimuli_parse():
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "resources" / "demo" / "stimuli.txt"
    stimuli = read_stimuli(path)
    assert len(stimuli) >= 2
    assert all(len(article) > 0 for article in stimuli)
    assert all(len(words) > 0 for article in stimuli for words in article)


def test_not_utf8_names_file_and_line(tmp_path):
    path = _write(tmp_path, "fine line\nsecond\ncaf\xe9 latin-1\n".encode("latin-1"))
    with pytest.raises(ValueError) as err:
        read_stimuli(path)
    message = str(err.value)
    assert str(path) in message
    assert "not UTF-8" in message
    assert "line 3" in message
    assert "offset 20" in message  # "fine line\n" 10 + "second\n" 7 + "caf" 3


def test_empty_article_is_named(tmp_path):
    path = _write(tmp_path, "a b\nc\n\n\nd e\n")
    with pytest.raises(ValueError) as err:
        read_stimuli(path)
    # articles are numbered from 0, as everywhere else: the empty one follows article 0
    assert str(err.value) == (
        f"{path}: article 1 is empty (two blank lines in a row after article 0; "
        "articles are numbered from 0)"
    )


@pytest.mark.parametrize(
    "content",
    [
        pytest.param("", id="empty"),
        pytest.param("\n\n", id="only-newlines"),
    ],
)
def test_file_without_sentences_is_refused(tmp_path, content):
    path = _write(tmp_path, content)
    with pytest.raises(ValueError, match="no sentence found"):
        read_stimuli(path)


@pytest.mark.parametrize(
    ("content", "line"),
    [
        # the case: with this line taken as a separator, 2 articles became 3
        pytest.param("a b\nc\n \nd\n\ne f\n", 3, id="spaces-inside-an-article"),
        pytest.param("a b\n\t\nc\n", 2, id="tab"),
        pytest.param("a\n\n  \t \nb\n", 3, id="next-to-an-empty-line"),
        pytest.param("a b\n   \n", 2, id="trailing"),
        pytest.param("  \na b\n", 1, id="leading"),
        pytest.param("a\r\n \r\nb\r\n", 2, id="crlf"),
        pytest.param("a\n\u00a0\nb\n", 2, id="no-break-space"),
    ],
)
def test_whitespace_only_line_is_refused(tmp_path, content, line):
    path = _write(tmp_path, content)
    with pytest.raises(ValueError) as err:
        read_stimuli(path)
    assert str(err.value) == (
        f"{path}: line {line} holds only whitespace (spaces or tabs); articles are separated "
        "by an empty line, and a sentence needs words"
    )


def test_trailing_spaces_after_words_are_fine(tmp_path):
    assert read_stimuli(_write(tmp_path, "a b  \n\nc\t\n")) == [[["a", "b"]], [["c"]]]
