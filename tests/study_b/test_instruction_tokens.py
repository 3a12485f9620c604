"""Tests of readalike.study_b.instruction_tokens: instruction tokens located by character
offsets.
"""

from __future__ import annotations

import numpy as np
import pytest

from readalike.study_b.instruction_tokens import instruction_mask_from_offsets

PROMPT = "Rewrite it. Keep it short.\n\nInput: Bees fly.\n\nOutput:"
#         0         1         2          3         4           5
#         0123456789012345678901234567 8 901234567890123456 7 8901234


def _offsets(pieces: list[str], text: str) -> list[tuple[int, int]]:
    """Offsets of consecutive pieces that spell ``text``."""
    assert "".join(pieces) == text
    ends = np.cumsum([len(p) for p in pieces])
    return list(zip((ends - [len(p) for p in pieces]).tolist(), ends.tolist(), strict=True))


@pytest.mark.parametrize(
    ("pieces", "expected"),
    [
        # GPT-2 style: the space travels with the next word ("ĠKeep")
        pytest.param(
            [
                "Rewrite",
                " it",
                ".",
                " Keep",
                " it",
                " short",
                ".",
                "\n\n",
                "Input",
                ":",
                " Bees",
                " fly",
                ".",
                "\n\n",
                "Output",
                ":",
            ],
            [1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            id="gpt2-space-prefix",
        ),
        # Qwen style: ".\n\n" is one token; it holds the sentence's full stop, so it counts
        pytest.param(
            [
                "Rewrite",
                " it",
                ".",
                " Keep",
                " it",
                " short",
                ".\n\n",
                "Input",
                ":",
                " Bees",
                " fly",
                ".\n\n",
                "Output",
                ":",
            ],
            [1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0],
            id="qwen-merged-newlines",
        ),
    ],
)
def test_instruction_mask_from_offsets_by_hand(pieces, expected):
    mask = instruction_mask_from_offsets(
        _offsets(pieces, PROMPT), PROMPT, ["Rewrite it.", "Keep it short."], "p"
    )
    assert mask.astype(int).tolist() == expected


def test_offsets_with_gaps_and_special_tokens():
    # WordPiece-style offsets skip whitespace; an empty span (a special token) never counts
    offsets = [(0, 0), (0, 7), (8, 10), (10, 11), (12, 16), (28, 33), (33, 34)]
    mask = instruction_mask_from_offsets(offsets, PROMPT, ["Rewrite"], "p")
    assert mask.tolist() == [False, True, True, True, False, False, False]


def test_fragment_only_widens_to_its_sentence():
    pieces = ["Rewrite it.", " Keep it short.", "\n\nInput: Bees fly.\n\nOutput:"]
    offsets = _offsets(pieces, PROMPT)
    mask = instruction_mask_from_offsets(offsets, PROMPT, ["short"], "p")
    assert mask.tolist() == [False, True, False]


def test_unlocatable_sentence_names_the_prompt():
    with pytest.raises(ValueError, match=r"q7: no token overlaps instruction sentence 'Keep it"):
        instruction_mask_from_offsets([(0, 11)], PROMPT, ["Keep it short."], "q7")
    with pytest.raises(ValueError, match=r"q7: instruction fragment 'absent' does not occur"):
        instruction_mask_from_offsets([(0, 11)], PROMPT, ["absent"], "q7")
