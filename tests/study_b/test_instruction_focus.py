"""Tests of readalike.study_b.instruction_focus: scores' statistics, source names, Welch tests."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from readalike.study_b.instruction_focus import (
    ALL_SOURCES,
    FOCUS_COLUMNS,
    FOLLOWING_COLUMNS,
    compare_means,
    following_comparison,
    instruction_focus,
    instruction_focus_table,
    source_of,
)


@pytest.mark.parametrize(
    ("prompt_id", "source"),
    [
        pytest.param("user_oriented_task_3", "Self-Instruct", id="self-instruct"),
        pytest.param("lima_author_12", "LIMA", id="lima"),
        pytest.param("mtbench_writing_81", "MT-Bench", id="mt-bench"),
    ],
)
def test_source_of(prompt_id, source):
    assert source_of(prompt_id) == source


def test_source_of_unknown_prefix():
    with pytest.raises(ValueError, match="alpaca_1: unknown prompt source"):
        source_of("alpaca_1")


def test_compare_means_returns_base_then_tuned():
    base, tuned = np.array([1.0, 2.0, 3.0]), np.array([4.0, 6.0])
    mean_base, mean_tuned, t, p = compare_means(base, tuned)
    assert (mean_base, mean_tuned) == (2.0, 5.0)
    ref = stats.ttest_ind(tuned, base, equal_var=False, alternative="greater")
    assert t == pytest.approx(ref.statistic, rel=1e-12) and t > 0
    assert p == pytest.approx(ref.pvalue, rel=1e-10)
    one = compare_means(np.array([1.0]), tuned)
    assert one[:2] == (1.0, 5.0) and math.isnan(one[2]) and math.isnan(one[3])


def _scores(model: str, source: str, values) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model": model,
            "prompt_id": [f"{source}_{i}" for i in range(len(values))],
            "source": source,
            "score": values,
            "n_response_tokens": 10,
        }
    )


def test_instruction_focus_matches_scipy():
    base = [1.0, 1.2, 0.8, 1.1, 0.9]
    tuned = [1.5, 1.1, 1.7, 1.3]
    table = pd.concat(
        [
            _scores("llama_7b", "LIMA", base),
            _scores("vicuna_7b", "LIMA", tuned),
            _scores("llama_7b", "MT-Bench", [1.0, 2.0]),
            _scores("vicuna_7b", "MT-Bench", [1.0, 3.0]),
            _scores("llama_7b", "Self-Instruct", [0.5, 0.7, 0.6]),
            _scores("vicuna_7b", "Self-Instruct", [0.4, 0.9]),
        ]
    )
    focus = instruction_focus(table, "llama_7b", "vicuna_7b").set_index("source")
    assert focus.index.tolist() == ["Self-Instruct", "LIMA", "MT-Bench", "All"]
    ref = stats.ttest_ind(tuned, base, equal_var=False, alternative="greater")
    assert focus.loc["LIMA", "t"] == pytest.approx(ref.statistic, rel=1e-12)
    assert focus.loc["LIMA", "p_one_sided"] == pytest.approx(ref.pvalue, rel=1e-10)
    assert focus.loc["LIMA", "mean_base"] == pytest.approx(1.0)
    assert focus.loc["LIMA", "mean_tuned"] == pytest.approx(1.4)
    assert focus.reset_index().columns.tolist() == FOCUS_COLUMNS
    assert focus.loc["All", "mean_base"] == pytest.approx(
        np.mean([1.0, 1.2, 0.8, 1.1, 0.9, 1, 2, 0.5, 0.7, 0.6])
    )


def test_following_comparison():
    scores = _scores("vicuna_7b", "LIMA", [0.2, 0.4, 1.0, 1.4, 1.2, 9.0])
    scores.loc[5, "n_response_tokens"] = 4  # too short: left out
    rated = pd.DataFrame(
        {
            "prompt_id": scores["prompt_id"],
            "model": "vicuna_7b",
            "followed": [False, False, True, True, True, True],
        }
    )
    table = following_comparison(scores, rated, "vicuna_7b").set_index("source")
    ref = stats.ttest_ind([1.0, 1.4, 1.2], [0.2, 0.4], equal_var=False, alternative="greater")
    assert table.loc["LIMA", "n_followed"] == 3 and table.loc["LIMA", "n_unfollowed"] == 2
    assert table.loc["LIMA", "t"] == pytest.approx(ref.statistic, rel=1e-12)
    assert table.loc["LIMA", "p_one_sided"] == pytest.approx(ref.pvalue, rel=1e-10)
    assert table.loc["All", "mean_followed"] == pytest.approx(1.2)


def test_instruction_focus_table_names_a_missing_model():
    scores = _scores("llama_7b", "LIMA", [1.0, 2.0])
    with pytest.raises(ValueError, match=r"no instruction scores of model\(s\) \['vicuna_7b'\]"):
        instruction_focus_table(scores, [("llama_7b", "vicuna_7b")])
    table = instruction_focus_table(
        pd.concat([scores, _scores("vicuna_7b", "LIMA", [2.0, 3.0])]), [("llama_7b", "vicuna_7b")]
    )
    assert table.columns.tolist() == FOCUS_COLUMNS
    assert table["source"].iloc[-1] == ALL_SOURCES


def test_following_columns():
    scores = _scores("vicuna_7b", "LIMA", [0.2, 0.4, 1.0])
    rated = pd.DataFrame(
        {"prompt_id": scores["prompt_id"], "model": "vicuna_7b", "followed": [False, True, True]}
    )
    assert following_comparison(scores, rated, "vicuna_7b").columns.tolist() == FOLLOWING_COLUMNS
