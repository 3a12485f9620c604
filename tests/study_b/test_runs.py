"""Tests of readalike.study_b.runs (Study B drivers) and readalike.figures.study_b.

The model-driven tests reuse the session's tiny LLaMA checkpoint (tests/conftest.py); the
one marked ``release`` reads the real shared tarball and is skipped when it is absent.
"""

from __future__ import annotations

import math
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from readalike.core.formats import (
    ATTRIBUTION_FORMAT,
    PromptAttribution,
    read_attribution,
    read_components,
    write_attribution,
    write_components,
)
from readalike.figures import study_b as figures_b
from readalike.figures.study_a import save_figure
from readalike.release import study_b as release_b
from readalike.study_b import runs as sb
from readalike.study_b.concept_labels import concept_shift_table
from readalike.study_b.instruction_focus import (
    ATTRIBUTION_SCORE_COLUMNS,
    FOCUS_COLUMNS,
    attribution_scores_table,
    instruction_focus_table,
    source_of,
)
from readalike.study_b.subspaces import SUBSPACE_COLUMNS, subspace_similarity_table
from readalike.study_b.verb_relations import VERB_COLUMNS, verb_relations_table

REPO = Path(__file__).resolve().parents[2]
PROMPTS = REPO / "resources" / "demo" / "study_b_prompts.tsv"


def _record(prompt_id: str, model: str = "base", seed: int = 0) -> PromptAttribution:
    rng = np.random.default_rng(seed)
    prompt_tokens = ["▁Write", "▁a", "▁poem", ".", "<0x0A>", "<0x0A>", "Output", ":", "▁é"]
    response_tokens = ["▁Bees", "▁hum", "", "</s>x"]
    return PromptAttribution(
        model=model,
        prompt_id=prompt_id,
        source=source_of(prompt_id),
        prompt_text="Write a poem.\n\nOutput: é",
        response_text="Bees hum",
        prompt_tokens=prompt_tokens,
        response_tokens=response_tokens,
        importance=rng.normal(size=(9, 4)).astype(np.float32),
        instruction_mask=np.array([1, 1, 1, 1, 0, 0, 0, 0, 0], dtype=bool),
    )


def _assert_same(a: PromptAttribution, b: PromptAttribution) -> None:
    for field in ("model", "prompt_id", "source", "prompt_text", "response_text"):
        assert getattr(a, field) == getattr(b, field)
    assert a.prompt_tokens == b.prompt_tokens
    assert a.response_tokens == b.response_tokens
    assert a.importance.dtype == b.importance.dtype == np.float32
    np.testing.assert_array_equal(a.importance, b.importance)
    assert b.instruction_mask.dtype == bool
    np.testing.assert_array_equal(a.instruction_mask, b.instruction_mask)


# --------------------------------------------------------------------------- prompts file


def test_demo_prompts_parse_with_every_source():
    prompts = release_b.read_prompts(PROMPTS)
    assert len(prompts) == 24
    assert prompts["source"].value_counts().to_dict() == {
        "Self-Instruct": 8,
        "LIMA": 8,
        "MT-Bench": 8,
    }
    # the context after &&& is already part of the prompt, as in the authors' file
    for row in prompts.itertuples():
        assert row.context.strip() in row.prompt


@pytest.mark.parametrize(
    ("prompt", "template", "expected"),
    [
        pytest.param(
            "Do it.\n\nInput: x\n\nOutput:", True, "Do it.\n\nInput: x\n\nOutput:", id="kept"
        ),
        pytest.param("Explain bees.", True, "Explain bees.\n\nOutput:", id="templated"),
        pytest.param("Explain bees.", False, "Explain bees.", id="verbatim"),
    ],
)
def test_prompt_for_model(prompt, template, expected):
    assert sb.prompt_for_model(prompt, template) == expected


# --------------------------------------------------------------------------- HDF5 format


def test_attribution_round_trip_is_exact(tmp_path):
    # not in alphabetical order: the file keeps the order of the run
    records = [_record("user_oriented_task_3", seed=1), _record("lima_author_0", seed=2)]
    path = tmp_path / "attr.h5"
    write_attribution(path, records, provenance="test")
    back = read_attribution(path)
    assert [r.prompt_id for r in back] == ["user_oriented_task_3", "lima_author_0"]
    for a, b in zip(records, back, strict=True):
        _assert_same(a, b)
    with h5py.File(path) as f:
        assert f.attrs["format"] == ATTRIBUTION_FORMAT
        assert f.attrs["model"] == "base"
        assert f["prompt/lima_author_0"].attrs["source"] == "LIMA"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["attr.h5"]  # no temporary left


def test_attribution_write_refuses_bad_records(tmp_path):
    good = _record("lima_author_0")
    bad = PromptAttribution(**{**good.__dict__, "importance": good.importance[:, :2]})
    with pytest.raises(ValueError, match="lima_author_0.*shape"):
        write_attribution(tmp_path / "a.h5", [bad])
    with pytest.raises(ValueError, match="several models"):
        write_attribution(tmp_path / "a.h5", [good, _record("mtbench_1", model="tuned")])
    with pytest.raises(ValueError, match="twice"):
        write_attribution(tmp_path / "a.h5", [good, good])
    assert not list(tmp_path.iterdir())


def test_read_attribution_checks_format(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "readalike.attention/1"
    with pytest.raises(ValueError, match="not a readalike.attribution/1 file"):
        read_attribution(path)


# --------------------------------------------------------------------------- attribution run


@pytest.fixture(scope="module")
def two_prompts(tmp_path_factory) -> Path:
    lines = PROMPTS.read_text(encoding="utf-8").splitlines()
    chosen = [
        lines[0],
        *(line for line in lines if line.startswith(("user_oriented_task_0\t", "lima_author_2\t"))),
    ]
    path = tmp_path_factory.mktemp("prompts") / "two.tsv"
    path.write_text("\n".join(chosen) + "\n", encoding="utf-8")
    return path


def test_attribution_run_shapes_and_masks(tiny_model, two_prompts, tmp_path):
    from transformers import AutoTokenizer

    model_dir, _ = tiny_model
    records = sb.attribution_run(
        model_dir,
        two_prompts,
        model_name="tiny",
        max_new_tokens=5,
        chunk_size=16,
        n_threads=1,
        progress=False,
    )
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    assert [r.prompt_id for r in records] == ["user_oriented_task_0", "lima_author_2"]
    assert [r.source for r in records] == ["Self-Instruct", "LIMA"]
    row_sentences = {
        "user_oriented_task_0": ["Summarise the given paragraph in one sentence."],
        "lima_author_2": ["What does the heart do?", "Answer in two sentences."],
    }
    # the LIMA prompt was written in the paper's template
    assert records[1].prompt_text == "What does the heart do? Answer in two sentences.\n\nOutput:"
    for r in records:
        ids = tokenizer(r.prompt_text, add_special_tokens=False)["input_ids"]
        assert r.prompt_tokens == tokenizer.convert_ids_to_tokens(ids)
        assert 1 <= len(r.response_tokens) <= 5
        assert r.importance.shape == (len(r.prompt_tokens), len(r.response_tokens))
        assert r.importance.dtype == np.float32 and np.isfinite(r.importance).all()
        # instruction tokens spell the instruction sentences; Input:/Output: never count
        marked = tokenizer.convert_tokens_to_string(
            [t for t, m in zip(r.prompt_tokens, r.instruction_mask, strict=True) if m]
        )
        assert "Output" not in marked and "Input" not in marked
        assert marked.strip() == " ".join(s for s in row_sentences[r.prompt_id])
    path = tmp_path / "tiny.h5"
    write_attribution(path, records)
    for a, b in zip(records, read_attribution(path), strict=True):
        _assert_same(a, b)

    scores = attribution_scores_table(records, "tiny")
    assert list(scores.columns) == ATTRIBUTION_SCORE_COLUMNS
    assert list(scores["n_response_tokens"]) == [len(r.response_tokens) for r in records]
    assert (scores["score"] >= 0).all()


def test_attribution_scores_by_hand():
    record = _record("mtbench_writing_1")
    importance = np.zeros((9, 4), dtype=np.float32)
    importance[0, :] = 1.0
    importance[1, 0] = 0.75
    record = PromptAttribution(**{**record.__dict__, "importance": importance})
    scores = attribution_scores_table([record], "m")
    # levels: row 0 is 10 in every column, row 1 is ceil(7.5) = 8 in column 0, rest 0;
    # L1/L4 densities: row 0 = 40 / (4 * 10^4)^(1/4), row 1 = 8 / 8 = 1; divided by row 0's
    row0 = 40 / 40000**0.25
    expected = (1 + 1 / row0) / math.log2(2 + 4)  # four instruction tokens
    assert scores.loc[0, "score"] == pytest.approx(expected)
    assert scores.loc[0, "n_instruction_tokens"] == 4


# --------------------------------------------------------------------------- statistics


def test_instruction_focus_table_by_hand():
    base = [0.1, 0.2, 0.3]
    tuned = [0.4, 0.6, 0.8]
    rows = [("base", f"lima_author_{i}", "LIMA", s) for i, s in enumerate(base)]
    rows += [("tuned", f"lima_author_{i}", "LIMA", s) for i, s in enumerate(tuned)]
    rows += [("base", "mtbench_1", "MT-Bench", 0.5), ("tuned", "mtbench_1", "MT-Bench", 0.5)]
    scores = pd.DataFrame(rows, columns=["model", "prompt_id", "source", "score"])
    table = instruction_focus_table(scores, [("base", "tuned")])
    assert list(table.columns) == FOCUS_COLUMNS
    assert list(table["source"]) == ["Self-Instruct", "LIMA", "MT-Bench", "All"]
    lima = table.set_index("source").loc["LIMA"]
    assert lima["mean_base"] == pytest.approx(0.2)
    assert lima["mean_tuned"] == pytest.approx(0.6)
    # Welch: s_base^2 = 0.01, s_tuned^2 = 0.04, n = 3 each
    assert lima["t"] == pytest.approx(0.4 / math.sqrt(0.01 / 3 + 0.04 / 3))
    assert 0 < lima["p_one_sided"] < 0.05
    # one score per model: no test
    assert np.isnan(table.set_index("source").loc["MT-Bench", "t"])
    pooled = table.set_index("source").loc["All"]
    assert pooled["mean_base"] == pytest.approx(0.275)
    assert pooled["mean_tuned"] == pytest.approx(0.575)
    with pytest.raises(ValueError, match="other"):
        instruction_focus_table(scores, [("base", "other")])


def test_different_tokenizers_are_refused(tiny_model, tiny_tokenizer_dir, zoo_texts, tmp_path):
    from readalike.models.zoo import train_tokenizer

    model_dir, _ = tiny_model
    sb.check_same_tokenizer(tiny_tokenizer_dir, model_dir, ("base", "tuned"))
    other = tmp_path / "other_tokenizer"
    train_tokenizer(zoo_texts, other, vocab_size=320, seed=0)
    with pytest.raises(ValueError, match=r"'llama_base'.*'llama_tuned'.*different tokenizers"):
        sb.check_same_tokenizer(model_dir, other, ("llama_base", "llama_tuned"))


# --------------------------------------------------------------------------- FFN concepts


def test_ffn_concepts_run_and_components(tiny_model, zoo_texts, tmp_path):
    from transformers import AutoTokenizer

    model_dir, _ = tiny_model
    words, _ = sb.demo_vocabulary(zoo_texts, AutoTokenizer.from_pretrained(model_dir))
    concepts, components = sb.ffn_concepts_run(
        model_dir, words, model_name="tiny", n_components=4, n_top_words=10
    )
    assert list(concepts.columns) == sb.CONCEPT_COLUMNS
    assert components.shape == (3, 4, 32) and components.dtype == np.float32
    assert len(concepts) == 3 * 4
    assert concepts["top_words"].str.split().map(len).eq(10).all()
    assert concepts["explained_variance"].between(0, 1).all()

    path = tmp_path / "components.h5"
    write_components(path, components, "tiny")
    back = read_components(path, expected_model="tiny")
    np.testing.assert_array_equal(back, components)
    with pytest.raises(ValueError, match="'other'"):
        read_components(path, expected_model="other")

    same = subspace_similarity_table(components, back, "tiny", "tiny")
    assert list(same.columns) == SUBSPACE_COLUMNS
    assert list(same["layer"]) == [0, 1, 2]
    np.testing.assert_allclose(same["mean_cosine_principal_angles"], 1.0, atol=1e-6)

    shift = concept_shift_table(concepts, concepts, "tiny", "tiny")
    assert list(shift.columns[:2]) == ["model_base", "model_tuned"]
    assert (shift["difference"].fillna(0) == 0).all()
    with pytest.raises(ValueError, match="n_components=99"):
        sb.ffn_concepts_run(model_dir, words, model_name="tiny", n_components=99, n_top_words=10)


def test_ffn_concepts_run_names_refused_architecture(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import BloomConfig, BloomForCausalLM, PreTrainedTokenizerFast

    config = BloomConfig(hidden_size=16, n_layer=1, n_head=2, vocab_size=8)
    BloomForCausalLM(config).save_pretrained(tmp_path)
    backend = Tokenizer(models.WordLevel({f"w{i}": i for i in range(8)}, unk_token="w0"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="w0").save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="'bloomy'.*'bloom' is refused"):
        sb.ffn_concepts_run(tmp_path, ["w1"], model_name="bloomy", n_components=2, n_top_words=1)


# --------------------------------------------------------------------------- head pairs


def test_head_pairs_run(tiny_model, zoo_texts):
    from transformers import AutoTokenizer

    model_dir, _ = tiny_model
    words, freqs = sb.demo_vocabulary(zoo_texts, AutoTokenizer.from_pretrained(model_dir))
    # every word counts as a "verb" here and each head dimension ranks the whole
    # vocabulary, so the tiny model's heads hold pairs and the table cannot pass empty
    verbs = list(words)
    counts, n_layers = sb.head_pairs_run(
        model_dir, words, freqs, model_name="tiny", top_k=len(words), n_frequent=50, verbs=verbs
    )
    assert n_layers == 3 == counts.attrs["n_layers"]
    assert list(counts.columns) == sb.HEAD_PAIR_COLUMNS
    # the documented table: only (layer, head, verb) that hold pairs, and some do
    assert len(counts) > 0
    assert (counts["n_pairs"] > 0).all()
    assert counts["layer"].between(0, 2).all() and counts["head"].between(0, 1).all()
    assert set(counts["verb"]) <= set(verbs)
    assert (counts["model"] == "tiny").all()


def test_verb_relations_table_by_hand():
    # 8 layers -> quarters of two layers. Quarter 0, heads whose count changed:
    # write: gained in (0, 0), lost in (1, 0) -> 0.5; explain: gained -> 1.0;
    # go: lost -> 0.0; see: gained in (0, 1), lost in (1, 1) -> 0.5.
    columns = ["layer", "head", "verb", "n_pairs"]
    base = pd.DataFrame(
        [(0, 0, "write", 1), (1, 0, "write", 2), (0, 1, "explain", 1), (1, 0, "go", 3)]
        + [(1, 1, "see", 2), (6, 0, "see", 1)],  # (6, 0) unchanged: not counted
        columns=columns,
    )
    tuned = pd.DataFrame(
        [(0, 0, "write", 2), (0, 1, "explain", 4), (1, 0, "go", 1), (0, 1, "see", 1)]
        + [(6, 0, "see", 1)],
        columns=columns,
    )
    table = verb_relations_table(base, tuned, 8, "b", "t", ["write", "explain"], ["go", "see"])
    assert list(table.columns) == VERB_COLUMNS
    assert sorted(table["depth_quarter"].unique()) == [0, 1, 2, 3]
    assert (table["model_base"] == "b").all() and (table["model_tuned"] == "t").all()
    q0 = table[table["depth_quarter"] == 0].set_index("verb_list")
    assert q0.loc["instruction", "fraction_gained"] == pytest.approx(0.75)
    assert q0.loc["general", "fraction_gained"] == pytest.approx(0.25)
    assert q0.loc["instruction", "n_verbs"] == 2
    # Welch: both variances (ddof 1) are 0.125, two verbs each
    assert q0.loc["instruction", "t"] == pytest.approx(0.5 / math.sqrt(0.125 / 2 + 0.125 / 2))
    later = table[table["depth_quarter"] > 0]
    assert later["fraction_gained"].isna().all() and (later["n_verbs"] == 0).all()


def test_demo_vocabulary(tiny_model):
    from transformers import AutoTokenizer

    model_dir, _ = tiny_model
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    words, freqs = sb.demo_vocabulary(["Bees, bees and glaciers.", "Bees!"], tokenizer)
    assert words == ["bees", "and", "glaciers"]
    np.testing.assert_array_equal(freqs, [3.0, 1.0, 1.0])


# --------------------------------------------------------------------------- figures


def _saved(fig, tmp_path: Path, name: str) -> None:
    targets = [tmp_path / f"{name}.png", tmp_path / f"{name}.pdf"]
    save_figure(fig, targets, synthetic=True)
    for target in targets:
        assert target.stat().st_size > 1000


def test_figures(tmp_path):
    import matplotlib.pyplot as plt

    base, tuned = _record("lima_author_0", "base", 1), _record("lima_author_0", "tuned", 2)
    fig = figures_b.attribution_heatmap_figure(base, tuned)
    assert isinstance(fig, plt.Figure)
    _saved(fig, tmp_path, "heatmap")
    with pytest.raises(ValueError, match="two prompts"):
        figures_b.attribution_heatmap_figure(base, _record("lima_author_1"))

    rng = np.random.default_rng(0)
    scores = pd.DataFrame(
        {
            "model": np.repeat(["base", "tuned"], 12),
            "source": np.tile(np.repeat(["Self-Instruct", "LIMA", "MT-Bench"], 4), 2),
            "score": rng.uniform(0, 1, 24),
        }
    )
    _saved(figures_b.instruction_scores_figure(scores), tmp_path, "scores")

    labels = pd.DataFrame(
        {
            "layer": np.repeat(np.arange(4), 3),
            "task": ["writing", "none", "math"] * 4,
            "level": ["semantics", "cannot tell", "syntax"] * 4,
        }
    )
    shift = concept_shift_table(labels, labels.iloc[::-1].reset_index(drop=True), "b", "t")
    _saved(figures_b.concept_shares_figure(shift), tmp_path, "concepts")
    # several model pairs (paper.yaml has three): one row of panels per pair
    second = concept_shift_table(labels, labels, "b2", "t2")
    two = figures_b.concept_shares_figure(pd.concat([shift, second], ignore_index=True))
    assert len(two.axes) == 2 * 2
    assert "b2" in two.axes[2].get_title() and "b (left)" in two.axes[0].get_title()
    _saved(two, tmp_path, "concepts_two_pairs")

    verbs = verb_relations_table(
        pd.DataFrame([(0, 0, "write", 1), (5, 1, "go", 2)], columns=sb.HEAD_PAIR_COLUMNS[1:]),
        pd.DataFrame([(0, 0, "write", 3), (5, 1, "go", 1)], columns=sb.HEAD_PAIR_COLUMNS[1:]),
        8,
        "b",
        "t",
        ["write", "explain"],
        ["go", "see"],
    )
    _saved(figures_b.verb_relations_figure(verbs), tmp_path, "verbs")


# --------------------------------------------------------------------------- one model, real

#: A chat template of the ChatML kind SmolLM2-Instruct uses, with a default system turn
#: whose words ("helpful", "assistant") could also occur in a prompt.
CHAT_TEMPLATE = (
    "{% for m in messages %}{% if loop.first and m['role'] != 'system' %}"
    "<s>system\nYou are a helpful assistant. Summarise the given paragraph.\n{% endif %}"
    "<s>{{ m['role'] }}\n{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<s>assistant\n{% endif %}"
)


@pytest.fixture(scope="module")
def chat_model(tiny_model, tmp_path_factory) -> Path:
    """The tiny model, its tokenizer given a chat template (its BOS opens every turn)."""
    import shutil

    from transformers import AutoTokenizer

    folder = tmp_path_factory.mktemp("chat") / "tiny-chat"
    shutil.copytree(tiny_model[0], folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(folder)
    return folder


def test_chat_prompt_finds_the_prompt_in_the_template(chat_model):
    tokenizer = sb.load_tokenizer(chat_model)
    prompt = "Summarise the given paragraph in one sentence.\n\nOutput:"
    text, (start, end) = sb.chat_prompt(tokenizer, prompt)
    assert text[start:end] == prompt
    assert text.startswith("<s>system\n") and text.endswith("<s>assistant\n")
    # the system turn holds the instruction's words too: only the user's turn is searched
    ids, mask = sb.locate_instruction(
        tokenizer, text, ["Summarise the given paragraph"], "p", content=(start, end)
    )
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    offsets = np.asarray(enc["offset_mapping"])[1:]  # the leading BOS is dropped, as ids
    assert len(ids) == len(offsets) == mask.size
    assert mask.any()
    assert (offsets[mask, 0] >= start).all() and (offsets[mask, 1] <= end).all()
    marked = tokenizer.decode([i for i, m in zip(ids, mask, strict=True) if m])
    assert marked.strip() == "Summarise the given paragraph in one sentence."
    plain = sb.load_tokenizer(chat_model)
    plain.chat_template = None
    with pytest.raises(ValueError, match="has no chat template"):
        sb.chat_prompt(plain, prompt)


def test_attribution_run_in_the_chat_template_records_the_weights(chat_model, two_prompts):
    facts = {"file": "/x/m.Q4_1.gguf", "sha256": "ab" * 32, "quantization": "Q4_1"}
    attrs: dict = {}
    records = sb.attribution_run(
        chat_model,
        two_prompts,
        model_name="tiny",
        max_new_tokens=3,
        chunk_size=16,
        n_threads=1,
        progress=False,
        chat_template=True,
        n_prompts=1,
        checkpoint_facts=facts,
        attrs=attrs,
    )
    # one prompt of two: the first source's, as select_prompts spreads them
    assert [r.prompt_id for r in records] == ["user_oriented_task_0"]
    assert records[0].prompt_text.startswith("<s>system\n")
    assert attrs["quantization"] == "Q4_1" and attrs["dequantized_dtype"] == "float32"
    assert attrs["weights"] == "real" and attrs["gguf_file"] == "m.Q4_1.gguf"


def test_write_attribution_keeps_extra_attributes(tmp_path):
    path = tmp_path / "m.h5"
    write_attribution(path, [_record("lima_author_1")], attrs={"quantization": "Q4_1"})
    with h5py.File(path) as f:
        assert f.attrs["quantization"] == "Q4_1"
        assert f.attrs["format"] == "readalike.attribution/1"


@pytest.mark.parametrize(
    ("sizes", "n", "expected"),
    [
        # 632 = 252 + 300 + 80: exact shares 15.95, 18.99, 5.06 -> 15, 18, 5 and the two
        # largest remainders (LIMA .99, Self-Instruct .95) get the two left over
        pytest.param((252, 300, 80), 40, (16, 19, 5), id="release-40"),
        # shares 1.20, 1.42, 0.38: the one left over goes to LIMA (.42 > .38 > .20)
        pytest.param((252, 300, 80), 3, (1, 2, 0), id="largest-remainder"),
        pytest.param((4, 4, 2), 5, (2, 2, 1), id="exact"),
        pytest.param((2, 1, 1), 10, (2, 1, 1), id="all"),
    ],
)
def test_select_prompts_by_source(sizes, n, expected):
    from readalike.study_b.prompts import select_prompts

    sources = ["Self-Instruct", "LIMA", "MT-Bench"]
    prompts = pd.DataFrame(
        {
            "prompt_id": [
                f"{s}_{i}" for s, k in zip(sources, sizes, strict=True) for i in range(k)
            ],
            "source": [s for s, k in zip(sources, sizes, strict=True) for _ in range(k)],
        }
    )
    chosen = select_prompts(prompts, n)
    assert tuple(chosen["source"].value_counts().reindex(sources, fill_value=0)) == expected
    # file order kept, spread within a source: of 4 take positions floor((i + .5) * 4 / 2)
    assert list(chosen.index) == list(range(len(chosen)))
    if sizes == (4, 4, 2):
        assert list(chosen["prompt_id"]) == [
            "Self-Instruct_1",
            "Self-Instruct_3",
            "LIMA_1",
            "LIMA_3",
            "MT-Bench_1",
        ]


def test_instruction_scores_table_by_hand():
    from readalike.study_b.instruction_focus import SCORE_SUMMARY_COLUMNS, instruction_scores_table

    rows = [("m", f"lima_author_{i}", "LIMA", s) for i, s in enumerate([0.1, 0.2, 0.6])]
    rows += [("m", "mtbench_1", "MT-Bench", 0.5)]
    scores = pd.DataFrame(rows, columns=["model", "prompt_id", "source", "score"])
    table = instruction_scores_table(scores)
    assert list(table.columns) == SCORE_SUMMARY_COLUMNS
    table = table.set_index("source")
    assert list(table.index) == ["Self-Instruct", "LIMA", "MT-Bench", "All"]
    assert table.loc["Self-Instruct", "n_prompts"] == 0
    assert np.isnan(table.loc["Self-Instruct", "mean"])
    lima = table.loc["LIMA"]
    assert lima["mean"] == pytest.approx(0.3) and lima["median"] == pytest.approx(0.2)
    # sample variance: ((-0.2)^2 + (-0.1)^2 + 0.3^2) / 2 = 0.07
    assert lima["sd"] == pytest.approx(math.sqrt(0.07))
    assert lima["se"] == pytest.approx(math.sqrt(0.07 / 3))
    assert np.isnan(table.loc["MT-Bench", "sd"])  # one prompt: no spread
    assert table.loc["All", "n_prompts"] == 4
    assert table.loc["All", "mean"] == pytest.approx(0.35)
