"""Study B on tiny random checkpoints of every supported family and four tokenizer kinds.

The model-family test matrix: attribution equals the per-token loop (with the BOS the one
rule picks, none for the Qwen2-style tokenizer), instruction tokens are found for every
demo prompt with byte-level BPE (GPT-2 and Qwen pre-tokenisation), Unigram/Metaspace and
WordPiece tokenizers, a pad id past the embedding is harmless, and the internals tables
read from safetensors equal those of the loaded model; refused families are named. The
weights against a plain computation with the model's own modules are checked per family
in ``test_architectures.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from readalike.models.architectures import FAMILIES, model_weights
from readalike.models.bos import resolve_bos
from readalike.models.vocabulary import word_token_ids, word_vectors
from readalike.study_b import runs as sb
from readalike.study_b.attribution import (
    NO_BOS,
    attribution_loop,
    attribution_matrix,
    generate_response,
)
from readalike.study_b.ffn_concepts import concept_table, ffn_components
from readalike.study_b.head_pairs import model_word_pairs, verb_pair_counts
from readalike.study_b.instruction_tokens import instruction_mask_from_offsets
from readalike.study_b.prompts import read_prompts
from tests.models.test_architectures import tiny_config, tiny_model

#: tiny models run faster on one torch thread (see conftest._torch_threads)
TORCH_THREADS = 1

ROOT = Path(__file__).resolve().parents[2]
TRAINING_TEXT = ROOT / "resources" / "demo" / "training_text.txt"
PROMPTS = ROOT / "resources" / "demo" / "study_b_prompts.tsv"
#: Qwen2's pre-tokenisation pattern: `` ?[^\s\p{L}\p{N}]+[\r\n]*`` merges ``.\n\n``
QWEN_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
TOKENIZER_KINDS = ["gpt2_bpe", "qwen_bpe", "unigram", "wordpiece"]


def _texts() -> list[str]:
    # the prompts too, so that every kind has pieces for their words
    prompts = read_prompts(PROMPTS)["prompt"].tolist()
    return [*TRAINING_TEXT.read_text(encoding="utf-8").splitlines(), *prompts]


def build_tokenizer(kind: str) -> PreTrainedTokenizerFast:
    """A small tokenizer of ``kind`` trained on the demo text, wrapped like a hub one."""
    if kind in ("gpt2_bpe", "qwen_bpe"):
        backend = Tokenizer(models.BPE())
        if kind == "gpt2_bpe":
            backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        else:
            backend.pre_tokenizer = pre_tokenizers.Sequence(
                [
                    pre_tokenizers.Split(Regex(QWEN_PATTERN), behavior="isolated"),
                    pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
                ]
            )
        backend.decoder = decoders.ByteLevel()
        special = ["<|endoftext|>", "<|padding|>"]
        trainer = trainers.BpeTrainer(
            vocab_size=400,
            special_tokens=special,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        )
        backend.train_from_iterator(_texts(), trainer)
        # Qwen-style: no BOS at all; GPT-2 style: <|endoftext|> is BOS and EOS
        bos = None if kind == "qwen_bpe" else "<|endoftext|>"
        return PreTrainedTokenizerFast(
            tokenizer_object=backend,
            bos_token=bos,
            eos_token="<|endoftext|>",
            pad_token="<|padding|>",
        )
    if kind == "unigram":
        backend = Tokenizer(models.Unigram())
        backend.normalizer = normalizers.NFKC()
        backend.pre_tokenizer = pre_tokenizers.Metaspace()
        backend.decoder = decoders.Metaspace()
        trainer = trainers.UnigramTrainer(
            vocab_size=400, special_tokens=["<unk>", "<s>", "</s>"], unk_token="<unk>"
        )
        backend.train_from_iterator(_texts(), trainer)
        return PreTrainedTokenizerFast(
            tokenizer_object=backend, bos_token="<s>", eos_token="</s>", unk_token="<unk>"
        )
    backend = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(
        vocab_size=400, special_tokens=["[UNK]", "[CLS]", "[SEP]", "[PAD]"]
    )
    backend.train_from_iterator(_texts(), trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        pad_token="[PAD]",
        eos_token="[SEP]",
    )


@pytest.fixture(scope="module")
def tokenizers_by_kind() -> dict[str, PreTrainedTokenizerFast]:
    return {kind: build_tokenizer(kind) for kind in TOKENIZER_KINDS}


# ---------------------------------------------------------------- instruction tokens


@pytest.mark.parametrize("kind", TOKENIZER_KINDS)
def test_instruction_tokens_found_for_every_demo_prompt(kind, tokenizers_by_kind):
    from readalike.study_b.instruction_tokens import instruction_sentences

    tokenizer = tokenizers_by_kind[kind]
    prompts = read_prompts(PROMPTS)
    if kind == "qwen_bpe":  # the case the issue names: full stop and newlines in one token
        ids = tokenizer("Keep it short.\n\nOutput:", add_special_tokens=False)["input_ids"]
        assert any(
            t.startswith(".") and "\u010a" in t for t in tokenizer.convert_ids_to_tokens(ids)
        )
    for row in prompts.itertuples(index=False):
        text = sb.prompt_for_model(row.prompt)
        ids, mask = sb.locate_instruction(tokenizer, text, row.fragments, row.prompt_id)
        assert ids == tokenizer(text, add_special_tokens=False)["input_ids"]
        sentences = instruction_sentences(text, row.fragments, row.prompt_id)
        assert mask.any() == bool(sentences), row.prompt_id
        offsets = np.array(
            tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        )
        # every sentence character that is not whitespace lies in a marked token ...
        covered = np.zeros(len(text), dtype=bool)
        for (a, b), m in zip(offsets, mask, strict=True):
            covered[a:b] |= m
        for a, b in sentences:
            inside = [i for i in range(a, b) if not text[i].isspace()]
            assert covered[inside].all(), (row.prompt_id, text[a:b])
        # ... and every marked token overlaps a sentence (never Input:/Output: alone)
        for (a, b), m in zip(offsets, mask, strict=True):
            if m:
                assert any(a < e and b > s for s, e in sentences), (row.prompt_id, text[a:b])


def test_unlocatable_prompt_is_skipped_and_reported(tmp_path, tokenizers_by_kind, monkeypatch):
    folder = _save(tmp_path, "gpt2", tokenizers_by_kind["gpt2_bpe"])
    lines = PROMPTS.read_text(encoding="utf-8").splitlines()
    path = tmp_path / "prompts.tsv"
    path.write_text("\n".join(lines[:3]) + "\n", encoding="utf-8")
    first, second = (line.split("\t")[0] for line in lines[1:3])
    real = sb.locate_instruction

    def offsets_lost(tokenizer, text, fragments, prompt_id, content=None):
        # as a tokenizer whose offsets are all empty would: nothing overlaps the sentence
        ids, _ = real(tokenizer, text, fragments, prompt_id, content)
        if prompt_id == second:
            instruction_mask_from_offsets([(0, 0)] * len(ids), text, fragments, prompt_id)
        return real(tokenizer, text, fragments, prompt_id, content)

    monkeypatch.setattr(sb, "locate_instruction", offsets_lost)
    faults: list = []
    records = sb.attribution_run(
        folder, path, model_name="g", max_new_tokens=2, chunk_size=4, progress=False, faults=faults
    )
    assert [r.prompt_id for r in records] == [first]
    table = sb.attribution_faults_table(faults)
    assert table[["model", "prompt_id", "kind", "fatal"]].values.tolist() == [
        ["g", second, "not_located", True]
    ]
    assert "no token overlaps instruction sentence" in table["detail"].iloc[0]


# ---------------------------------------------------------------- attribution


def _save(tmp_path: Path, family: str, tokenizer, **extra) -> Path:
    config = tiny_config(family, vocab_size=len(tokenizer), **extra)
    if family == "qwen2":
        config.bos_token_id = None
    model = tiny_model(config)
    folder = tmp_path / family
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


#: (family, tokenizer kind): every family once, each tokenizer kind several times
MATRIX = [
    ("gpt2", "gpt2_bpe"),
    ("gpt_neox", "gpt2_bpe"),
    ("gpt_neo", "gpt2_bpe"),
    ("opt", "gpt2_bpe"),
    ("qwen2", "qwen_bpe"),
    ("mistral", "unigram"),
    ("llama", "unigram"),
    ("phi", "wordpiece"),
    ("phi3", "unigram"),
    ("gemma", "unigram"),
    ("olmo2", "qwen_bpe"),
    ("falcon", "wordpiece"),
]


def test_matrix_covers_every_family():
    assert {family for family, _ in MATRIX} == set(FAMILIES)


@pytest.mark.parametrize(("family", "kind"), MATRIX, ids=[f"{f}-{k}" for f, k in MATRIX])
def test_attribution_equals_loop(family, kind, tokenizers_by_kind, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = _save(tmp_path, family, tokenizers_by_kind[kind])
    model = AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager").eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    bos, how = resolve_bos(tokenizer, model.config, "auto", family)
    if kind == "qwen_bpe" and family == "qwen2":
        assert (bos, how) == (None, "none")
    elif kind in ("gpt2_bpe", "unigram"):
        assert how == "tokenizer"
    bos = NO_BOS if bos is None else bos
    text = "Rewrite the sentence in simpler words.\n\nInput: Bees fly.\n\nOutput:"
    generation = generate_response(model, tokenizer, text, 4, "p", bos_token_id=bos)
    args = (model, generation.prompt_ids, generation.response_ids)
    batched = attribution_matrix(*args, chunk_size=3, bos_token_id=bos)
    loop = attribution_loop(*args, bos_token_id=bos)
    assert batched.shape == (len(generation.prompt_ids), len(generation.response_ids))
    np.testing.assert_allclose(batched, loop, rtol=1e-4, atol=1e-6 * np.abs(loop).max())


def test_no_bos_attributes_every_prompt_token(tokenizers_by_kind, tmp_path):
    from transformers import AutoModelForCausalLM

    folder = _save(tmp_path, "qwen2", tokenizers_by_kind["qwen_bpe"])
    model = AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager").eval()
    prompt, response = [5, 6, 7], [8, 9]
    without = attribution_loop(model, prompt, response, bos_token_id=NO_BOS)
    # by hand: the same forward pass with the embeddings of prompt + response only
    with torch.no_grad():
        rows = model.get_input_embeddings().weight[prompt + response]
    embeds = rows[None].clone().requires_grad_(True)
    logits = model(inputs_embeds=embeds).logits[0, 2:4].float()
    p = torch.softmax(logits, -1)[torch.arange(2), torch.tensor(response)]
    (grad,) = torch.autograd.grad(p[0], embeds)
    expected = (grad[0, :3] * rows[:3]).sum(-1)
    np.testing.assert_allclose(without[:, 0], expected.numpy(), rtol=1e-4, atol=1e-7)


def test_pad_id_past_the_embedding_is_harmless(tokenizers_by_kind, tmp_path):
    tokenizer = build_tokenizer("gpt2_bpe")
    tokenizer.add_special_tokens({"pad_token": "<|extra_padding|>"})
    assert tokenizer.pad_token_id == len(tokenizer) - 1
    config = tiny_config("gpt_neox", vocab_size=len(tokenizer) - 1)
    folder = tmp_path / "neox"
    tiny_model(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    model, loaded, bos = sb.load_for_attribution(folder, model_name="neox")
    assert loaded.pad_token_id == loaded.eos_token_id < config.vocab_size
    # a padded batch through the model: the old pad id would raise IndexError here
    ids = loaded(["Bees fly.", "Honey bees live in colonies."], padding=True)
    with torch.no_grad():
        model(input_ids=torch.tensor(ids["input_ids"]))
    records = sb.attribution_run(
        folder, PROMPTS, model_name="neox", max_new_tokens=2, chunk_size=4, progress=False
    )
    assert len(records) == len(read_prompts(PROMPTS))


# ---------------------------------------------------------------- internals tables


@pytest.mark.parametrize("family", ["gpt2", "falcon", "olmo2", "gemma"])
def test_internals_from_safetensors_equal_the_loaded_model(family, tokenizers_by_kind, tmp_path):
    from transformers import AutoModelForCausalLM

    tokenizer = tokenizers_by_kind["gpt2_bpe"]
    folder = _save(tmp_path, family, tokenizer)
    words, freqs = sb.demo_vocabulary(_texts(), tokenizer)
    concepts, components = sb.ffn_concepts_run(
        folder, words, model_name="m", n_components=4, n_top_words=5
    )
    # top 40 of the ~420 words: on random weights enough pairs pass the filters to compare
    counts, n_layers = sb.head_pairs_run(
        folder, words, freqs, model_name="m", top_k=40, n_frequent=30, verbs=words
    )
    # the same from the model built in memory (the path that loading from disk replaced)
    model = AutoModelForCausalLM.from_pretrained(folder)
    weights = model_weights(model, "m")
    ids = word_token_ids(tokenizer, words)
    comp, evr = ffn_components(weights, R=4)
    vectors = word_vectors(model.get_output_embeddings().weight.detach(), ids, normalize=True)
    table = concept_table(comp, evr, vectors, words, k=5)
    np.testing.assert_allclose(components, comp, atol=1e-6)
    np.testing.assert_allclose(concepts["explained_variance"], table["evr"], atol=1e-6)
    assert concepts["top_words"].tolist() == table["top_words"].tolist()
    E = word_vectors(model.get_input_embeddings().weight.detach(), ids)
    pairs = model_word_pairs(weights, E, n_frequent=30, k=40)
    assert n_layers == 2 and len(counts) > 0
    by_hand = verb_pair_counts(pairs, words, words).rename(columns={"count": "n_pairs"})
    pd.testing.assert_frame_equal(
        counts.drop(columns="model").reset_index(drop=True), by_hand.reset_index(drop=True)
    )


@pytest.mark.parametrize(
    ("family", "extra", "match"),
    [
        pytest.param("qwen3", {}, "'qwen3' is refused", id="qwen3"),
        pytest.param("opt", {"do_layer_norm_before": False}, "post-norm OPT", id="opt-350m-like"),
    ],
)
def test_refused_families_are_named(family, extra, match, tokenizers_by_kind, tmp_path):
    tokenizer = tokenizers_by_kind["unigram"]
    folder = _save(tmp_path, family, tokenizer, **extra)
    with pytest.raises(ValueError, match=match):
        sb.ffn_concepts_run(folder, ["bees"], model_name="m", n_components=2, n_top_words=1)
    with pytest.raises(ValueError, match=match):
        sb.head_pairs_run(folder, ["bees"], [1.0], model_name="m", top_k=1, n_frequent=1)
