import numpy as np
import pandas as pd
import pytest

from readalike.study_a.replication import replication_summary

#          layer:    0      1      2
R2 = {"L1": [0.10, 0.30, 0.20], "L2": [0.20, 0.25, 0.40]}
HELDOUT = {"L1": [0.05, 0.10, -0.10], "L2": [0.06, 0.20, 0.00]}


@pytest.fixture
def table() -> pd.DataFrame:
    rows = [
        {
            "model": "m",
            "group": group,
            "measure": "num",
            "layer": layer,
            "r2": R2[group][layer],
            "r2_heldout": HELDOUT[group][layer],
        }
        for group in ("L1", "L2")
        for layer in range(3)
    ]
    # rows out of order: the summary must not rely on the table's order
    return pd.DataFrame(rows).iloc[[4, 0, 5, 2, 1, 3]].reset_index(drop=True)


EXPECTED = [
    # group, fit, mean, max, layer_of_max, layers_above, every_layer
    # in-sample: L1 (0.1+0.3+0.2)/3 = 0.2, best 0.3 at layer 1; L2 0.85/3, best 0.4 at layer 2;
    # L2 > L1 at layers 0 and 2, not 1
    pytest.param("L1", "in_sample", 0.2, 0.3, 1, None, "", id="L1-in-sample"),
    pytest.param("L2", "in_sample", 0.85 / 3, 0.4, 2, 2, False, id="L2-in-sample"),
    # held out: L1 0.05/3, best 0.1 at layer 1; L2 0.26/3, best 0.2 at layer 1; L2 above at all
    pytest.param("L1", "heldout", 0.05 / 3, 0.1, 1, None, "", id="L1-heldout"),
    pytest.param("L2", "heldout", 0.26 / 3, 0.2, 1, 3, True, id="L2-heldout"),
]


@pytest.mark.parametrize(("group", "fit", "mean", "best", "layer", "above", "every"), EXPECTED)
def test_summary_by_hand(table, group, fit, mean, best, layer, above, every):
    summary = replication_summary(table, "L1")
    assert list(summary.columns) == [
        "model",
        "measure",
        "group",
        "fit",
        "n_layers",
        "mean_r2",
        "max_r2",
        "layer_of_max",
        "reference_group",
        "layers_above_reference",
        "exceeds_reference_every_layer",
    ]
    assert len(summary) == 4
    row = summary[(summary["group"] == group) & (summary["fit"] == fit)].iloc[0]
    assert (row["model"], row["measure"], row["reference_group"]) == ("m", "num", "L1")
    assert row["n_layers"] == 3
    assert row["mean_r2"] == pytest.approx(mean, abs=1e-12)
    assert row["max_r2"] == pytest.approx(best, abs=1e-12)
    assert row["layer_of_max"] == layer
    if above is None:
        assert np.isnan(row["layers_above_reference"])
    else:
        assert row["layers_above_reference"] == above
    assert row["exceeds_reference_every_layer"] == every


def test_layer_of_max_is_the_layer_label(table):
    table["layer"] += 10  # a table that starts at layer 10 reports layer 11, not position 1
    summary = replication_summary(table, "L1")
    assert summary.set_index(["group", "fit"]).loc[("L1", "in_sample"), "layer_of_max"] == 11


def test_other_reference_group(table):
    summary = replication_summary(table, "L2")
    row = summary.set_index(["group", "fit"]).loc[("L1", "in_sample")]
    # L1 > L2 only at layer 1
    assert row["layers_above_reference"] == 1
    assert row["exceeds_reference_every_layer"] is False


def test_unknown_reference_group(table):
    with pytest.raises(ValueError, match=r"reference group 'native' not in .*\['L1', 'L2'\]"):
        replication_summary(table, "native")
