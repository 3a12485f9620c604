"""Tests of the demo model zoo: tokenizer, tiny LLaMA training, instruction tuning."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import sentencepiece as spm
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from readalike.models import zoo

DEMO = Path(__file__).resolve().parents[2] / "resources" / "demo"
#: a word of an answer: two letters or more
WORD = re.compile(r"[A-Za-z]{2,}")


def _architecture(checkpoint: Path) -> dict:
    """The build_model arguments of a saved zoo checkpoint."""
    config = json.loads((checkpoint / "config.json").read_text())
    return {
        "hidden_size": config["hidden_size"],
        "n_layers": config["num_hidden_layers"],
        "n_heads": config["num_attention_heads"],
        "intermediate_size": config["intermediate_size"],
    }


#: tiny models run faster on one torch thread (see conftest._torch_threads)
TORCH_THREADS = 1


# ------------------------------------------------------------------------------ tokenizer


def test_tokenizer_is_deterministic(tmp_path, zoo_texts, tiny_tokenizer_dir):
    again = tmp_path / "again"
    zoo.train_tokenizer(zoo_texts, again, vocab_size=400, seed=0)
    for name in ("tokenizer.model", "tokenizer.json", "tokenizer_config.json"):
        assert (again / name).read_bytes() == (tiny_tokenizer_dir / name).read_bytes(), name


def test_autotokenizer_loads_a_llama_tokenizer(tiny_tokenizer_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_tokenizer_dir)
    assert type(tokenizer).__name__ == "LlamaTokenizer"
    assert tokenizer.is_fast  # character offsets are needed by the extraction
    assert (tokenizer.unk_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id) == (0, 1, 2)
    assert tokenizer.pad_token_id == 3
    assert len(tokenizer) == 400


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Honey bees live in colonies of many thousands of workers.", id="stimulus"),
        pytest.param("Zebras graze near Øresund, 1987!", id="unseen-chars-and-digits"),
        pytest.param("Please translate:\n\nResponse: Die Königin legt Eier.", id="newlines-umlaut"),
    ],
)
def test_hugging_face_ids_equal_sentencepiece_ids(tiny_tokenizer_dir, text):
    # the converted tokenizer.json must tokenise exactly like the SentencePiece model it came from
    tokenizer = AutoTokenizer.from_pretrained(tiny_tokenizer_dir)
    sp = spm.SentencePieceProcessor(model_file=str(tiny_tokenizer_dir / "tokenizer.model"))
    assert tokenizer(text, add_special_tokens=False).input_ids == sp.encode(text)
    assert 0 not in sp.encode(text)  # byte fallback: never <unk>


def test_default_encoding_prepends_bos_exactly_once(tiny_tokenizer_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_tokenizer_dir)
    plain = tokenizer("Bees dance.", add_special_tokens=False).input_ids
    assert tokenizer("Bees dance.").input_ids == [tokenizer.bos_token_id, *plain]
    assert tokenizer.bos_token_id not in plain
    assert tokenizer.decode(plain) == "Bees dance."


# ------------------------------------------------------------------------------ text files


def test_shipped_instruction_pairs():
    pairs = zoo.read_instruction_pairs(DEMO / "instruction_pairs.tsv")
    assert 30 <= len(pairs) <= 40
    german = [r for i, r in pairs if i.startswith("Please translate this sentence into German:")]
    assert len(german) >= 5
    assert all(i and r and "\t" not in i + r for i, r in pairs)


@pytest.mark.parametrize(
    ("content", "line"),
    [
        pytest.param("instr\tresp\na\tb\n", 1, id="bad-header"),
        pytest.param("instruction\tresponse\na\tb\nno tab here\n", 3, id="missing-tab"),
        pytest.param("instruction\tresponse\na\tb\tc\n", 2, id="three-fields"),
        pytest.param("instruction\tresponse\n\t b\n", 2, id="empty-instruction"),
    ],
)
def test_malformed_instruction_pairs_name_file_and_line(tmp_path, content, line):
    path = tmp_path / "pairs.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=rf"pairs\.tsv: line {line}:"):
        zoo.read_instruction_pairs(path)


def test_read_texts_drops_blank_lines(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("One line.\n\n  Two line.  \n", encoding="utf-8")
    assert zoo.read_texts(path) == ["One line.", "Two line."]


# ------------------------------------------------------------------------------ models


def test_training_lowers_the_loss(tiny_model):
    _, stats = tiny_model
    # the initial loss is about ln(vocab): an untrained model guesses uniformly
    assert stats["initial_loss"] == pytest.approx(np.log(400), abs=0.3)
    assert stats["final_loss"] < stats["initial_loss"] - 1.0
    assert stats["steps"] == 40


def test_checkpoint_loads_back_like_a_real_one(tiny_model):
    path, stats = tiny_model
    model = AutoModelForCausalLM.from_pretrained(path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    assert type(model).__name__ == "LlamaForCausalLM"
    assert (model.config.num_hidden_layers, model.config.num_attention_heads) == (3, 2)
    assert model.config.vocab_size == len(tokenizer)
    assert json.loads((path / "training.json").read_text())["final_loss"] == stats["final_loss"]
    ids = tokenizer("The heart is a muscle.", return_tensors="pt").input_ids
    with torch.no_grad():
        loss = model(input_ids=ids, labels=ids).loss
    assert float(loss) < np.log(400)  # it learned something about the demo text


def test_training_is_deterministic(tmp_path, tiny_tokenizer_dir, zoo_texts, tiny_model):
    path, stats = tiny_model
    again = zoo.build_model(
        tiny_tokenizer_dir,
        tmp_path / "again",
        **_architecture(path),
        seed=0,
        steps=40,
        lr=5e-3,
        texts=zoo_texts,
        batch_size=8,
        max_len=48,
        n_threads=1,
    )
    assert again["final_loss"] == stats["final_loss"]
    first = AutoModelForCausalLM.from_pretrained(path).state_dict()
    second = AutoModelForCausalLM.from_pretrained(tmp_path / "again").state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_build_model_rejects_heads_that_do_not_divide_the_width(tmp_path, tiny_tokenizer_dir):
    with pytest.raises(ValueError, match="not divisible by n_heads 3"):
        zoo.build_model(
            tiny_tokenizer_dir,
            tmp_path / "bad",
            hidden_size=32,
            n_layers=1,
            n_heads=3,
            intermediate_size=32,
            seed=0,
            steps=1,
            lr=1e-3,
            texts=["a"],
            batch_size=1,
            max_len=8,
        )
    assert not (tmp_path / "bad").exists()


def test_instruction_labels_cover_the_response_only(tiny_tokenizer_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_tokenizer_dir)
    ids, labels = zoo._instruction_example(tokenizer, "Explain bees.", "Bees dance.", max_len=64)
    assert ids[0] == tokenizer.bos_token_id and ids[-1] == tokenizer.eos_token_id
    target = [label for label in labels if label != -100]
    assert target[-1] == tokenizer.eos_token_id
    assert tokenizer.decode(target[:-1]).strip() == "Bees dance."
    assert zoo.format_instruction("Explain bees.", "Bees dance.") == (
        "Explain bees.\n\nResponse: Bees dance."
    )


def test_instruction_tuning_lowers_the_response_loss(tmp_path, tiny_model):
    base, _ = tiny_model
    pairs = zoo.read_instruction_pairs(DEMO / "instruction_pairs.tsv")[:12]
    stats = zoo.instruction_tune(
        base,
        tmp_path / "instruct",
        pairs,
        steps=15,
        lr=5e-3,
        seed=0,
        batch_size=8,
        max_len=256,
        n_threads=1,
    )
    assert stats["final_loss"] < stats["initial_loss"] - 0.5
    tuned = AutoModelForCausalLM.from_pretrained(tmp_path / "instruct")
    original = AutoModelForCausalLM.from_pretrained(base)
    assert tuned.config.to_dict()["num_hidden_layers"] == original.config.num_hidden_layers
    assert not torch.equal(tuned.lm_head.weight, original.lm_head.weight)
    assert AutoTokenizer.from_pretrained(tmp_path / "instruct").bos_token_id == 1


@pytest.mark.parametrize(
    ("architecture", "class_name", "with_bos"),
    [
        pytest.param("gpt2", "GPT2LMHeadModel", True, id="gpt2"),
        pytest.param("qwen2", "Qwen2ForCausalLM", False, id="qwen2-no-bos"),
    ],
)
def test_zoo_trains_other_architectures(
    tmp_path, tiny_tokenizer_dir, zoo_texts, architecture, class_name, with_bos
):
    stats = zoo.build_model(
        tiny_tokenizer_dir,
        tmp_path / architecture,
        hidden_size=32,
        n_layers=2,
        n_heads=2,
        intermediate_size=64,
        seed=0,
        steps=20,
        lr=5e-3,
        texts=zoo_texts[:64],
        batch_size=8,
        max_len=32,
        architecture=architecture,
    )
    assert stats["final_loss"] < stats["initial_loss"] - 0.5
    model = AutoModelForCausalLM.from_pretrained(tmp_path / architecture)
    assert type(model).__name__ == class_name
    assert (model.config.bos_token_id is not None) is with_bos
    assert model.get_output_embeddings().weight is model.get_input_embeddings().weight
    # the tuned model is trained as its base was: with BOS, or (qwen2) without
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / architecture)
    ids, labels = zoo._instruction_example(tokenizer, "Explain bees.", "Bees.", 64, with_bos)
    assert (ids[0] == tokenizer.bos_token_id) is with_bos and len(ids) == len(labels)
    tuned = zoo.instruction_tune(
        tmp_path / architecture,
        tmp_path / f"{architecture}-it",
        zoo.read_instruction_pairs(DEMO / "instruction_pairs.tsv")[:4],
        steps=2,
        lr=1e-3,
        seed=0,
        batch_size=4,
        max_len=256,
    )
    assert tuned["n_texts"] == 4


def test_zoo_refuses_an_unknown_architecture(tmp_path, tiny_tokenizer_dir):
    with pytest.raises(ValueError, match=r"zoo architecture 'mamba' is not one of"):
        zoo.build_model(
            tiny_tokenizer_dir,
            tmp_path / "m",
            hidden_size=32,
            n_layers=1,
            n_heads=2,
            intermediate_size=32,
            seed=0,
            steps=1,
            lr=1e-3,
            texts=["a"],
            batch_size=1,
            max_len=8,
            architecture="mamba",
        )


# ------------------------------------------------------------------- training documents


def test_training_documents_are_windows_of_consecutive_lines():
    lines = ["a.", "b.", "c.", "d."]
    assert zoo.training_documents(lines, 3) == ["a.\nb.\nc.", "b.\nc.\nd.", "c.\nd.", "d."]
    assert zoo.training_documents(lines, 1) == lines
    assert zoo.training_documents(["a."], 5) == ["a."]


def test_training_documents_refuse_an_empty_window():
    with pytest.raises(ValueError, match="lines_per_sequence must be positive, got 0"):
        zoo.training_documents(["a."], 0)


def _demo_base_answers(tmp_path: Path) -> tuple[list[str], set[str]]:
    """Greedy answers of the demo's Study B base model to the demo prompts, and its words.

    Tokenizer and model are trained as the workflow trains them from ``config/config.yaml``
    (:func:`readalike.models.zoo.train_zoo_tokenizer`,
    :func:`readalike.models.zoo.train_zoo_model`);
    the answers are made as the attribution job makes them.
    """
    import yaml

    from readalike.core.config import with_defaults
    from readalike.study_b.attribution import generate_responses
    from readalike.study_b.prompts import read_prompts
    from readalike.study_b.runs import load_for_attribution, prompt_for_model

    root = DEMO.parents[1]
    config = with_defaults(yaml.safe_load((root / "config" / "config.yaml").read_text()))
    base = config["study_b"]["pairs"][0][0]
    spec = next(m for m in config["models"] if m["name"] == base)["zoo"]
    texts = [root / path for path in config["zoo"]["training_text"]]
    zoo.train_zoo_tokenizer(texts, tmp_path / "tokenizer", config["zoo"])
    model_dir = tmp_path / base
    zoo.train_zoo_model(
        tmp_path / "tokenizer", model_dir, spec, config["zoo"], texts, n_threads=TORCH_THREADS
    )
    prompts = read_prompts(root / config["study_b"]["prompts"])
    model, tok, bos = load_for_attribution(model_dir, model_name=base, bos="auto")
    answers = generate_responses(
        model,
        tok,
        [prompt_for_model(p) for p in prompts.prompt],
        config["study_b"]["max_new_tokens"],
        bos_token_id=bos,
        allow_empty=True,
    )
    corpus = {
        w.lower() for path in texts for line in zoo.read_texts(path) for w in WORD.findall(line)
    }
    return [a.response_text for a in answers], corpus


def _distinct_words(text: str, corpus: set[str]) -> int:
    """Distinct words of two letters or more in ``text`` that the training text holds."""
    return len({w.lower() for w in WORD.findall(text)} & corpus)


def test_demo_base_model_answers_every_study_b_prompt_in_words(tmp_path):
    # the base model of the demo's Study B pair must answer in words, or its
    # base-vs-tuned instruction focus is computed on byte pieces
    answers, corpus = _demo_base_answers(tmp_path)
    words = [_distinct_words(a, corpus) for a in answers]
    assert len(answers) == 24
    assert min(words) >= 3, list(zip(words, answers, strict=True))
