"""Study A tables: from the HDF5 files to tidy data frames.

Each function reads the project's HDF5 formats (whatever produced them: the demo zoo,
real checkpoints, or released data), checks that attention and human matrices describe
the same sentences, and runs the vectorised metrics of :mod:`resemblance`,
:mod:`trivial` and :mod:`divergence` one block of layers at a time, so a model's layers
are never all held in float64.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from . import divergence, formats, resemblance, trivial
from .pairs import PairIndex, layer_blocks, pair_index, stack_pairs

log = logging.getLogger(__name__)

Path = str | os.PathLike


def load_attention_pairs(path: Path) -> tuple[formats.AttentionSet, np.ndarray, PairIndex]:
    """Read an attention file and stack its pairs: ``(L, H, P)`` float16 and their index."""
    attention = formats.read_attention(path)
    index = pair_index(attention.lengths())
    return attention, stack_pairs(attention.sentences), index


def load_human_pairs(
    human_paths: Mapping[str, Path], measures: Sequence[str], index: PairIndex, attention_path: Path
) -> tuple[dict[tuple[str, str], np.ndarray], bool]:
    """Stack every group's and measure's human matrices over the pairs of ``index``.

    Raises a ValueError naming both files, the article and the sentence when a human matrix's
    word count differs from the attention's.
    """
    out: dict[tuple[str, str], np.ndarray] = {}
    synthetic = False
    for group, path in human_paths.items():
        saccades = formats.read_saccades(path, measures)
        synthetic |= saccades.synthetic
        formats.check_same_lengths(
            [list(a) for a in index.lengths], saccades.lengths(), str(attention_path), str(path)
        )
        for measure in measures:
            out[group, measure] = stack_pairs(saccades.measures[measure], np.float64)
    return out, synthetic


def resemblance_table(
    attention_path: Path,
    human_paths: Mapping[str, Path],
    measures: Sequence[str],
    model: str,
    block_size: int = 8,
    residual: bool = True,
) -> pd.DataFrame:
    """Per layer, group and measure: in-sample and held-out R^2 of heads -> human matrix.

    With ``residual``, also the resemblance of the attention left after the trivial-pattern
    fit, under measure ``<measure>_residual``.

    Returns
    -------
    DataFrame with columns model, group, measure, layer, r2, r2_heldout.
    """
    attention, pairs, index = load_attention_pairs(attention_path)
    humans, _ = load_human_pairs(human_paths, measures, index, attention_path)
    patterns = trivial.trivial_patterns(index)
    rows = []
    for block in layer_blocks(attention.n_layers, block_size):
        block_pairs = pairs[block]
        variants = {"": block_pairs}
        if residual:
            variants["_residual"] = trivial.trivial_fit(block_pairs, patterns)[1]
        layers = np.arange(block.start, block.stop)
        keys = list(humans)
        targets = np.stack([humans[key] for key in keys])
        for suffix, x in variants.items():
            # every group and measure against one design: Gram matrices computed once
            r2, r2_out = resemblance.layer_resemblance(x, targets, index)
            for t, (group, measure) in enumerate(keys):
                rows.append(
                    pd.DataFrame(
                        {
                            "model": model,
                            "group": group,
                            "measure": measure + suffix,
                            "layer": layers,
                            "r2": r2[:, t],
                            "r2_heldout": r2_out[:, t],
                        }
                    )
                )
    table = pd.concat(rows, ignore_index=True)
    return table.sort_values(["group", "measure", "layer"], kind="stable").reset_index(drop=True)


def trivial_reliance_table(attention_path: Path, model: str, block_size: int = 8) -> pd.DataFrame:
    """Per layer: mean over heads of the R^2 of each head's attention on the trivial patterns.

    Returns
    -------
    DataFrame with columns model, layer, r2, n_constant_heads (heads constant over all
    pairs, whose R^2 is undefined and left out of the mean).
    """
    attention, pairs, index = load_attention_pairs(attention_path)
    patterns = trivial.trivial_patterns(index)
    blocks = layer_blocks(attention.n_layers, block_size)
    r2_heads = np.concatenate([trivial.trivial_fit(pairs[b], patterns)[0] for b in blocks])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a layer of constant heads gives NaN
        mean = np.nanmean(r2_heads, axis=1)
    return pd.DataFrame(
        {
            "model": model,
            "layer": np.arange(attention.n_layers),
            "r2": mean,
            "n_constant_heads": np.isnan(r2_heads).sum(axis=1),
        }
    )


def head_mean_pairs(path: Path) -> tuple[np.ndarray, PairIndex, formats.AttentionSet]:
    """Head-averaged attention of every layer over the pairs: ``(L, P)`` float64."""
    attention, pairs, index = load_attention_pairs(path)
    return head_means(pairs), index, attention


def head_means(pairs: np.ndarray, block_size: int = 8) -> np.ndarray:
    """Mean over heads of ``(L, H, P)`` pairs, ``(L, P)`` float64, a block of layers at a time."""
    blocks = layer_blocks(pairs.shape[0], block_size)
    return np.concatenate([pairs[b].astype(np.float64).mean(axis=1) for b in blocks])


def _same_sentences(index_a: PairIndex, index_b: PairIndex, name_a: str, name_b: str) -> None:
    formats.check_same_lengths(
        [list(a) for a in index_a.lengths], [list(b) for b in index_b.lengths], name_a, name_b
    )


def divergence_table(
    comparisons: Sequence[tuple[str, str, str]],
    attention_paths: Mapping[tuple[str, str], Path],
    n_parts: int = 4,
) -> pd.DataFrame:
    """JS divergence between two models' head-averaged attention, by part of the depth.

    Parameters
    ----------
    comparisons : (kind, model_a, model_b) triples, kind e.g. ``scaling`` or ``tuning``.
    attention_paths : ``(model, condition) -> attention file``; every condition present for
        both models of a comparison is compared.

    Returns
    -------
    DataFrame with columns comparison, model_a, model_b, condition, part, js, n_rows. Models
    of different depth are compared part by part (layers averaged within a part).
    """
    cache: dict[tuple[str, str], tuple[np.ndarray, np.ndarray, PairIndex]] = {}

    def parts_of(model: str, condition: str):
        if (model, condition) not in cache:
            means, index, _ = head_mean_pairs(attention_paths[model, condition])
            parts, part_values = divergence.part_means(means, n_parts)
            cache[model, condition] = (parts, part_values, index)
        return cache[model, condition]

    rows = []
    for kind, model_a, model_b in comparisons:
        conditions = sorted(
            {c for m, c in attention_paths if m == model_a}
            & {c for m, c in attention_paths if m == model_b}
        )
        if not conditions:
            raise ValueError(f"comparison {kind} {model_a} vs {model_b}: no common condition")
        for condition in conditions:
            parts_a, values_a, index_a = parts_of(model_a, condition)
            parts_b, values_b, index_b = parts_of(model_b, condition)
            _same_sentences(
                index_a,
                index_b,
                str(attention_paths[model_a, condition]),
                str(attention_paths[model_b, condition]),
            )
            common, ia, ib = np.intersect1d(parts_a, parts_b, return_indices=True)
            js, n_rows = divergence.mean_js(values_a[ia], values_b[ib], index_a)
            rows.append(
                pd.DataFrame(
                    {
                        "comparison": kind,
                        "model_a": model_a,
                        "model_b": model_b,
                        "condition": condition,
                        "part": common,
                        "js": js,
                        "n_rows": n_rows,
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)


def instruction_sensitivity_table(model: str, attention_paths: Mapping[str, Path]) -> pd.DataFrame:
    """Per layer: JS between the instruction and plain conditions, and control vs plain.

    A condition the model lacks (the released LLaMA-30B has no control run) gives NaN in
    its column and a note saying so; nothing is invented.

    Returns
    -------
    DataFrame with columns model, layer, js_instruction, js_control, note.
    """
    if "plain" not in attention_paths:
        raise ValueError(f"model {model}: instruction sensitivity needs the plain condition")
    plain, index, attention = head_mean_pairs(attention_paths["plain"])
    table = pd.DataFrame({"model": model, "layer": np.arange(attention.n_layers)})
    notes = []
    for condition in ("instruction", "control"):
        column = f"js_{condition}"
        if condition not in attention_paths:
            table[column] = np.nan
            notes.append(f"no {condition} condition for this model")
            continue
        other, index_other, _ = head_mean_pairs(attention_paths[condition])
        _same_sentences(
            index, index_other, str(attention_paths["plain"]), str(attention_paths[condition])
        )
        table[column] = divergence.mean_js(other, plain, index)[0]
    table["note"] = "; ".join(notes)
    return table


def controls_table(
    plain_paths: Mapping[str, Path],
    human_paths: Mapping[str, Path],
    measures: Sequence[str],
    seed: int = 0,
    block_size: int = 8,
    shuffled_heldout_max: float = 0.01,
) -> pd.DataFrame:
    """Sanity checks a careful reader wants before trusting the tables.

    - ``js_self``: a model's attention against itself gives JS 0 (largest part value).
    - ``shuffled_resemblance``: with the human entries permuted within each sentence, the
      best layer's held-out R^2 falls to chance (at most ``shuffled_heldout_max``); the
      detail gives the in-sample R^2 next to the chance level K / (P - 1) of K random
      regressors and to the unshuffled value.
    - ``trivial_self_r2``: the trivial patterns regressed on themselves give R^2 1.

    Returns
    -------
    DataFrame with columns check, model, group, measure, value, threshold, passed, detail.
    """
    rows = []
    rng = np.random.default_rng(seed)
    for model, path in plain_paths.items():
        attention, pairs, index = load_attention_pairs(path)
        _, part_values = divergence.part_means(head_means(pairs))
        js_self = float(np.nanmax(divergence.mean_js(part_values, part_values, index)[0]))
        rows.append(("js_self", model, "", "", js_self, 1e-12, js_self <= 1e-12, "max over parts"))

        humans, _ = load_human_pairs(human_paths, measures, index, path)
        chance = attention.n_heads / (index.n_pairs - 1)
        for (group, measure), y in humans.items():
            shuffled = resemblance.shuffle_within_sentences(y, index, rng)
            real, fake, fake_out = [], [], []
            for block in layer_blocks(attention.n_layers, block_size):
                r2, _ = resemblance.layer_resemblance(pairs[block], y, index)
                r2_fake, r2_fake_out = resemblance.layer_resemblance(pairs[block], shuffled, index)
                real.append(r2)
                fake.append(r2_fake)
                fake_out.append(r2_fake_out)
            real, fake, fake_out = map(np.concatenate, (real, fake, fake_out))
            value = float(np.nanmax(fake_out))
            rows.append(
                (
                    "shuffled_resemblance",
                    model,
                    group,
                    measure,
                    value,
                    shuffled_heldout_max,
                    value <= shuffled_heldout_max,
                    f"max held-out R2 over layers, human entries shuffled within sentences; "
                    f"in-sample R2 mean {np.nanmean(fake):.4g} (chance K/(P-1) = {chance:.4g}) "
                    f"vs unshuffled {np.nanmean(real):.4g}",
                )
            )
        patterns = trivial.trivial_patterns(index)
        self_r2 = float(np.min(trivial.trivial_fit(patterns.T, patterns)[0]))
        rows.append(
            (
                "trivial_self_r2",
                model,
                "",
                "",
                self_r2,
                1 - 1e-9,
                self_r2 >= 1 - 1e-9,
                "min over the three patterns regressed on the patterns",
            )
        )
    return pd.DataFrame(
        rows,
        columns=["check", "model", "group", "measure", "value", "threshold", "passed", "detail"],
    )
