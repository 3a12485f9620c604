"""Tests of readalike.study_b.attribution: gradient x input, discretisation, density, score, t-test.

The models are tiny random LLaMAs built from ``LlamaConfig`` (no training, no download) and
the tokenizer is a word-level ``tokenizers`` model built in memory, so the whole file runs in
seconds.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from scipy import stats
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
from transformers import (
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    MistralConfig,
    MistralForCausalLM,
    PreTrainedTokenizerFast,
)
from transformers.models.llama import modeling_llama

from readalike.study_b.attribution import (
    attribution_loop,
    attribution_matrix,
    encode_prompt,
    format_prompt,
    generate_response,
    generate_responses,
)
from readalike.study_b.instruction_focus import (
    discretise,
    importance_density,
    instruction_score,
    welch_one_sided,
)
from readalike.study_b.instruction_tokens import (
    instruction_sentences,
    instruction_token_mask,
    piece_bytes,
    sentence_spans,
)

BOS, EOS = 1, 2
W = "\u2581"  # SentencePiece's word-boundary marker

WORDS = [
    "Rewrite",
    "the",
    "text",
    "Keep",
    "it",
    "short",
    "Summarise",
    "Input",
    "Output",
    "Hello",
    "there",
    "friend",
    "a",
    "story",
]


#: tiny models run faster on one torch thread (see conftest._torch_threads)
TORCH_THREADS = 1


def tiny_model(
    vocab_size: int = 40,
    dtype=torch.float32,
    seed: int = 0,
    attn="sdpa",
    config_class=LlamaConfig,
    model_class=LlamaForCausalLM,
    **extra,
):
    """A random 2-layer LLaMA (or a LLaMA-shaped ``model_class``, e.g. Mistral, with ``extra``
    config fields); a large init range so probabilities are far from uniform."""
    torch.manual_seed(seed)
    config = config_class(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        bos_token_id=BOS,
        eos_token_id=EOS,
        pad_token_id=0,
        initializer_range=0.3,
        attn_implementation=attn,
        **extra,
    )
    return model_class(config).to(dtype).eval()


@pytest.fixture(scope="module")
def tokenizer() -> PreTrainedTokenizerFast:
    """Word-level tokenizer with LLaMA-like pieces: ``▁word`` after a space, bare after ``\\n``."""
    pieces = ["<pad>", "<s>", "</s>", "<unk>", ".", "!", ":", "\n"]
    pieces += [w for word in WORDS for w in (f"{W}{word}", word)]
    tok = Tokenizer(models.WordLevel({p: i for i, p in enumerate(pieces)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=W, prepend_scheme="first"),
            pre_tokenizers.Split(Regex(r"[.!:]|\n"), behavior="isolated"),
        ]
    )
    tok.decoder = decoders.Metaspace(replacement=W, prepend_scheme="first")
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
    )


# --------------------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    ("importance", "L", "b", "expected"),
    [
        pytest.param(
            [[1.0, -1.0], [0.5, 0.0], [0.25, 0.0]],
            10,
            0,
            [[10, 0], [5, 0], [3, 0]],
            id="ceil-and-nonpositive-column-zero",
        ),
        pytest.param(
            [[1.0, -3.0], [0.7, 2.0], [0.75, 1.5]],
            10,
            7,
            [[10, 0], [0, 10], [8, 8]],
            id="threshold-drops-level-7-keeps-8",
        ),
        pytest.param([[2.0], [-5.0], [1.0]], 4, 0, [[4], [0], [2]], id="negative-clipped-other-L"),
        pytest.param(
            [[10, 3], [7, 9], [0, 10]], 10, 0, [[10, 3], [7, 9], [0, 10]], id="levels-map-to-self"
        ),
    ],
)
def test_discretise(importance, L, b, expected):  # noqa: N803
    out = discretise(np.array(importance, dtype=np.float32), L=L, b=b)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, np.array(expected, dtype=np.float32))


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        pytest.param(
            [[10, 10, 0], [10, 0, 0], [0, 0, 0], [8, 8, 8]],
            # a = 2^(3/4), 1, 0, 3^(3/4); divided by 3^(3/4)
            [0.7377879464668811, 0.4386913376508308, 0.0, 1.0],
            id="l1-over-l4-normalised",
        ),
        pytest.param([[0, 0], [0, 0]], [0.0, 0.0], id="all-zero"),
        pytest.param([[9, 9, 9, 9]], [1.0], id="single-row"),
    ],
)
def test_importance_density(levels, expected):
    np.testing.assert_allclose(importance_density(np.array(levels)), expected, rtol=1e-12)


def test_importance_density_batched_equals_one_by_one():
    rng = np.random.default_rng(0)
    stack = discretise(rng.normal(size=(3, 6, 5)), b=7)
    each = np.stack([importance_density(s) for s in stack])
    np.testing.assert_allclose(importance_density(stack), each, rtol=1e-12)


@pytest.mark.parametrize(
    ("density", "mask", "expected"),
    [
        pytest.param([1.0, 0.5, 0.25, 0.0], [1, 1, 0, 0], 1.5 / 2.0, id="two-tokens-log2-4"),
        pytest.param([0.5] * 6 + [1.0], [1] * 6 + [0], 3.0 / 3.0, id="six-tokens-log2-8"),
        pytest.param([1.0, 1.0], [0, 0], 0.0, id="no-instruction-tokens"),
    ],
)
def test_instruction_score(density, mask, expected):
    got = instruction_score(np.array(density), np.array(mask, dtype=bool))
    assert got == pytest.approx(expected, rel=1e-12)


# --------------------------------------------------------------------------- Welch


def test_welch_one_sided_by_hand():
    # a = 2, 4, 6: mean 4, s^2 = 4; b = 1..5: mean 3, s^2 = 2.5
    # se^2 = 4/3 + 2.5/5 = 11/6, t = 1 / sqrt(11/6) = sqrt(6/11)
    # df = (11/6)^2 / ((4/3)^2 / 2 + (1/2)^2 / 4) = 484/137
    t, p = welch_one_sided([2, 4, 6], [1, 2, 3, 4, 5])
    assert t == pytest.approx(math.sqrt(6 / 11), rel=1e-12)
    assert t == pytest.approx(0.7385489458759964, rel=1e-12)
    assert p == pytest.approx(stats.t.sf(math.sqrt(6 / 11), 484 / 137), rel=1e-12)
    assert p == pytest.approx(0.25310708582642405, rel=1e-9)
    t_rev, p_rev = welch_one_sided([1, 2, 3, 4, 5], [2, 4, 6])
    assert t_rev == pytest.approx(-t) and p_rev == pytest.approx(1 - p)


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed{s}") for s in range(3)])
def test_welch_one_sided_matches_scipy(seed):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(1.2, 0.5, size=40), rng.normal(1.0, 0.9, size=25)
    ref = stats.ttest_ind(a, b, equal_var=False, alternative="greater")
    t, p = welch_one_sided(a, b)
    assert t == pytest.approx(ref.statistic, rel=1e-12)
    assert p == pytest.approx(ref.pvalue, rel=1e-10)


def test_welch_needs_two_values():
    with pytest.raises(ValueError, match="two values"):
        welch_one_sided([1.0], [1.0, 2.0])


# --------------------------------------------------------------------------- gradients


@pytest.fixture
def exact_float64_rmsnorm(monkeypatch):
    """transformers' RMSNorm computes in float32 even for a float64 model; finite differences
    need every step that depends on the embeddings in float64."""

    def forward(self, hidden):
        variance = hidden.pow(2).mean(-1, keepdim=True)
        return self.weight * (hidden * torch.rsqrt(variance + self.variance_epsilon))

    monkeypatch.setattr(modeling_llama.LlamaRMSNorm, "forward", forward)


def _probs(model, embeds, n_prompt, response):
    """p(y_m | prefix) for all response tokens, from a forward pass on given embeddings."""
    with torch.no_grad():
        logits = model(inputs_embeds=embeds).logits[0, n_prompt : n_prompt + len(response)]
        return torch.softmax(logits, -1)[torch.arange(len(response)), torch.tensor(response)]


def test_attribution_equals_finite_differences(exact_float64_rmsnorm):
    model = tiny_model(dtype=torch.float64, seed=1)
    prompt, response = [5, 9, 7, 21, 8, 30, 11], [12, 4, 33, 17, 6]
    got = attribution_matrix(model, prompt, response, chunk_size=2)
    assert got.shape == (len(prompt), len(response)) and got.dtype == np.float32

    # I[n, m] = d/de p(y_m | e_n (1 + e)) at e = 0: scale embedding row n along itself
    embeds = model.get_input_embeddings()(torch.tensor([[BOS, *prompt, *response]]))
    eps = 1e-5
    fd = np.zeros(got.shape)
    for n in range(len(prompt)):
        up, down = embeds.detach().clone(), embeds.detach().clone()
        up[0, 1 + n] *= 1 + eps  # row 0 is BOS, which is not attributed
        down[0, 1 + n] *= 1 - eps
        delta = _probs(model, up, len(prompt), response) - _probs(
            model, down, len(prompt), response
        )
        fd[n] = (delta / (2 * eps)).numpy()
    assert np.abs(fd).max() > 1e-4  # a real signal, not two sets of zeros
    np.testing.assert_allclose(got, fd, rtol=0, atol=1e-6 * np.abs(fd).max())


@pytest.mark.parametrize(
    ("dtype", "attn", "chunk_size"),
    [
        pytest.param(torch.float64, "sdpa", 1, id="f64-chunk1"),
        pytest.param(torch.float64, "eager", 3, id="f64-eager-chunk3"),
        pytest.param(torch.float32, "sdpa", 4, id="f32-chunk4"),
        pytest.param(torch.float32, "eager", 100, id="f32-one-chunk"),
    ],
)
def test_batched_equals_loop(dtype, attn, chunk_size):
    model = tiny_model(dtype=dtype, attn=attn, seed=2)
    prompt, response = [5, 9, 7, 21, 8, 30, 11, 3], [12, 4, 33, 17, 6, 2, 25]
    batched = attribution_matrix(model, prompt, response, chunk_size=chunk_size)
    loop = attribution_loop(model, prompt, response)
    scale = np.abs(loop).max()
    assert scale > 0
    np.testing.assert_allclose(batched, loop, rtol=0, atol=1e-6 * scale)


def test_bfloat16_model_close_to_float32():
    half = tiny_model(dtype=torch.bfloat16, seed=3)
    same_weights = copy.deepcopy(half).float()
    prompt, response = [5, 9, 7, 21, 8, 30], [12, 4, 33, 17]
    got = attribution_matrix(half, prompt, response)
    ref = attribution_matrix(same_weights, prompt, response)
    assert got.dtype == np.float32 and np.isfinite(got).all()
    # bfloat16 activations keep ~3 significant digits: on these tiny random models the error
    # is 3-12% of the largest entry (seeds 0-4), so only a loose bound holds
    np.testing.assert_allclose(got, ref, rtol=0, atol=0.2 * np.abs(ref).max())
    assert np.corrcoef(got.ravel(), ref.ravel())[0, 1] > 0.95


def test_attribution_keeps_parameters_trainable_and_uses_bos():
    model = tiny_model(seed=4)
    prompt, response = [5, 9, 7], [12, 4]
    with_bos = attribution_matrix(model, prompt, response)
    other_bos = attribution_matrix(model, prompt, response, bos_token_id=6)
    assert all(p.requires_grad for p in model.parameters())
    # the forward pass sees BOS (it changes the numbers) but BOS is not an attributed row
    assert with_bos.shape == other_bos.shape == (3, 2)
    assert not np.allclose(with_bos, other_bos)


@pytest.mark.parametrize("architecture", ["mistral-sliding-window", "gpt2"])
def test_batched_equals_loop_beyond_llama(architecture):
    """Mistral (grouped-query attention with a sliding-window mask) and GPT-2 (another
    attention, activation and LM head): the two-step gradient assumes no LLaMA layer names."""
    if architecture == "gpt2":
        torch.manual_seed(6)
        config = GPT2Config(vocab_size=40, n_embd=32, n_layer=2, n_head=4, bos_token_id=BOS)
        config.initializer_range, config.eos_token_id = 0.3, EOS
        model = GPT2LMHeadModel(config).eval()
    else:
        model = tiny_model(
            dtype=torch.float64,
            seed=6,
            config_class=MistralConfig,
            model_class=MistralForCausalLM,
            sliding_window=4,
        )
    prompt, response = [5, 9, 7, 21, 8, 30, 11, 3], [12, 4, 33, 17, 6, 2, 25]
    batched = attribution_matrix(model, prompt, response, chunk_size=3)
    loop = attribution_loop(model, prompt, response)
    np.testing.assert_allclose(batched, loop, rtol=0, atol=1e-6 * np.abs(loop).max())
    if architecture != "gpt2":
        # two layers of a 4-token window: the last response token cannot see the first
        # prompt tokens at all
        assert np.all(batched[:2, -1] == 0) and np.all(loop[:2, -1] == 0)


def test_attribution_needs_an_lm_head(monkeypatch):
    model = tiny_model()
    monkeypatch.setattr(model, "get_output_embeddings", lambda: None)
    with pytest.raises(ValueError, match="LlamaForCausalLM has no output embeddings"):
        attribution_matrix(model, [5, 6], [7])


def test_attribution_rejects_empty_inputs():
    with pytest.raises(ValueError, match="at least one"):
        attribution_matrix(tiny_model(), [5, 6], [])


# --------------------------------------------------------------------------- prompting


@pytest.mark.parametrize(
    ("instruction", "context", "expected"),
    [
        pytest.param(
            "Rewrite the text.",
            "Hello there.",
            "Rewrite the text.\n\nInput: Hello there.\n\nOutput:",
            id="with-context",
        ),
        pytest.param("Summarise it.", None, "Summarise it.\n\nOutput:", id="no-context"),
        pytest.param("Summarise it.", "  ", "Summarise it.\n\nOutput:", id="blank-context"),
    ],
)
def test_format_prompt(instruction, context, expected):
    assert format_prompt(instruction, context) == expected


def test_format_prompt_with_chat_template(tokenizer):
    chat = copy.deepcopy(tokenizer)
    chat.chat_template = (
        "<s>{% for m in messages %}[USER] {{ m['content'] }}{% endfor %}"
        "{% if add_generation_prompt %} [BOT]{% endif %}"
    )
    prompt = format_prompt("Summarise it.", chat_tokenizer=chat)
    assert prompt == "<s>[USER] Summarise it.\n\nOutput: [BOT]"
    # the template's BOS text is dropped: BOS is prepended once, explicitly
    ids = encode_prompt(chat, prompt)
    assert ids[0] != BOS and ids == encode_prompt(chat, prompt.removeprefix("<s>"))


def test_generate_response_is_greedy(tokenizer):
    model = tiny_model(vocab_size=len(tokenizer), seed=5)
    # any generated EOS would end the answer early; keep EOS out of reach for this test
    model.generation_config.eos_token_id = len(tokenizer) - 1
    prompt = format_prompt("Rewrite the text.", "Hello there.")
    gen = generate_response(model, tokenizer, prompt, max_new_tokens=6, prompt_id="p1")
    assert gen.prompt_ids == tokenizer(prompt, add_special_tokens=False)["input_ids"]
    assert BOS not in gen.prompt_ids and 1 <= len(gen.response_ids) <= 6
    # greedy: each response token is the argmax of the teacher-forced logits before it
    ids = torch.tensor([[BOS, *gen.prompt_ids, *gen.response_ids]])
    with torch.no_grad():
        logits = model(ids).logits[0]
    n = len(gen.prompt_ids)
    predicted = logits[n : n + len(gen.response_ids)].argmax(-1).tolist()
    assert predicted == gen.response_ids


@pytest.mark.parametrize("batch_size", [pytest.param(b, id=f"batch-{b}") for b in (2, 8)])
def test_generate_responses_equal_one_prompt_at_a_time(tokenizer, batch_size):
    # prompts of different lengths, so the batch is left-padded; EOS kept out of reach for
    # one model and reachable for another (answers that end early pad their rows)
    prompts = [
        format_prompt("Rewrite the text.", "Hello there."),
        format_prompt("Summarise it."),
        format_prompt("Keep it short!", "Hello there friend. a story."),
        "Hello",
        format_prompt("Rewrite the text. Keep it short!\nSummarise it.", "a story."),
    ]
    for seed, eos in ((5, len(tokenizer) - 1), (7, None)):
        model = tiny_model(vocab_size=len(tokenizer), seed=seed)
        if eos is not None:
            model.generation_config.eos_token_id = eos
        one = [generate_response(model, tokenizer, p, max_new_tokens=8) for p in prompts]
        batched = generate_responses(model, tokenizer, prompts, 8, batch_size=batch_size)
        assert batched == one
        assert len({len(g.prompt_ids) for g in batched}) > 1  # padding was exercised


def test_generate_responses_names_an_empty_response(tokenizer):
    model = tiny_model(vocab_size=len(tokenizer), seed=5)
    prompt = format_prompt("Summarise it.")
    ids = [BOS, *tokenizer(prompt, add_special_tokens=False)["input_ids"]]
    with torch.no_grad():
        first = int(model(torch.tensor([ids])).logits[0, -1].argmax())
    model.generation_config.eos_token_id = first
    with pytest.raises(ValueError, match="lima_author_7: the model generated an empty response"):
        generate_responses(
            model, tokenizer, ["Hello", prompt], 4, prompt_ids=["other", "lima_author_7"]
        )
    # asked to, it returns the empty answer for the caller's faults table instead
    answers = generate_responses(
        model, tokenizer, ["Hello", prompt], 4, prompt_ids=["other", "x"], allow_empty=True
    )
    assert answers[1].response_ids == [] and answers[1].response_text == ""


def test_empty_response_names_the_prompt(tokenizer):
    model = tiny_model(vocab_size=len(tokenizer), seed=5)
    prompt = format_prompt("Summarise it.")
    ids = [BOS, *tokenizer(prompt, add_special_tokens=False)["input_ids"]]
    with torch.no_grad():
        first = int(model(torch.tensor([ids])).logits[0, -1].argmax())
    model.generation_config.eos_token_id = first  # the greedy answer starts with "EOS"
    with pytest.raises(ValueError, match="lima_author_7: the model generated an empty response"):
        generate_response(model, tokenizer, prompt, max_new_tokens=4, prompt_id="lima_author_7")


# --------------------------------------------------------------------------- instruction tokens

PROMPT = "Rewrite the text. Keep it short!\nSummarise it.\n\nInput: Hello there.\n\nOutput:"
# the pieces a LLaMA tokenizer gives: '▁' before a word after a space, none after a newline
PIECES = [
    f"{W}Rew",
    "rite",
    f"{W}the",
    f"{W}text",
    ".",
    f"{W}Keep",
    f"{W}it",
    f"{W}short",
    "!",
    "<0x0A>",
    "Sum",
    "mar",
    "ise",
    f"{W}it",
    ".",
    "<0x0A>",
    "<0x0A>",
    "Input",
    ":",
    f"{W}Hello",
    f"{W}there",
    ".",
    "<0x0A>",
    "<0x0A>",
    "Output",
    ":",
]


def test_sentence_spans():
    got = [PROMPT[s:e] for s, e in sentence_spans(PROMPT)]
    assert got == [
        "Rewrite the text.",
        "Keep it short!",
        "Summarise it.",
        "Input:",
        "Hello there.",
        "Output:",
    ]
    text = "  a: b\n\nc?  "
    assert [text[s:e] for s, e in sentence_spans(text)] == ["a:", "b", "c?"]
    # a stop without whitespace after it does not end a sentence
    text = "It is 3.5 m/s. Fine"
    assert [text[s:e] for s, e in sentence_spans(text)] == ["It is 3.5 m/s.", "Fine"]


@pytest.mark.parametrize(
    ("fragments", "expected"),
    [
        pytest.param(["Keep it"], ["Keep it short!"], id="widened-to-sentence"),
        pytest.param(["text. Keep"], ["Rewrite the text.", "Keep it short!"], id="two-sentences"),
        pytest.param(["Input: "], [], id="template-marker-only"),
        pytest.param(["", "  ", "Summarise"], ["Summarise it."], id="empty-fragments-skipped"),
        pytest.param(
            ["Summarise", "Rewrite"], ["Rewrite the text.", "Summarise it."], id="sorted-distinct"
        ),
    ],
)
def test_instruction_sentences(fragments, expected):
    spans = instruction_sentences(PROMPT, fragments, "p")
    assert [PROMPT[s:e] for s, e in spans] == expected


def test_fragment_not_found_names_prompt():
    with pytest.raises(ValueError, match="user_oriented_task_3: instruction fragment 'Translate'"):
        instruction_sentences(PROMPT, ["Translate"], "user_oriented_task_3")


def test_piece_bytes():
    assert piece_bytes(f"{W}the") == b" the"
    assert piece_bytes("<0x0A>") == b"\n"
    assert b"".join(piece_bytes(p) for p in ["<0xE2>", "<0x9A>", "<0xA1>"]).decode() == "\u26a1"


@pytest.mark.parametrize(
    ("fragments", "expected_tokens"),
    [
        pytest.param(["short"], PIECES[5:9], id="mid-line-sentence"),
        pytest.param(["Summarise"], PIECES[10:15], id="after-newline-no-marker"),
        pytest.param(["Rewrite", "Keep"], PIECES[0:9], id="first-sentence-with-marker"),
        pytest.param(["Hello"], PIECES[19:22], id="context-sentence"),
    ],
)
def test_instruction_token_mask_on_pieces(fragments, expected_tokens):
    mask = instruction_token_mask(PIECES, PROMPT, fragments, "p")
    assert mask.dtype == bool and mask.shape == (len(PIECES),)
    assert [p for p, m in zip(PIECES, mask, strict=True) if m] == expected_tokens


def test_instruction_sentence_not_in_tokens_names_prompt():
    pieces = PIECES[:5] + PIECES[9:]  # "Keep it short!" missing from the tokens
    with pytest.raises(ValueError, match="mtbench_81: instruction sentence 'Keep it short!'"):
        instruction_token_mask(pieces, PROMPT, ["short"], "mtbench_81")


def test_sentence_must_start_on_a_token_edge():
    # 'Keep' glued into the piece before it: the sentence cannot start on a token edge
    pieces = [*PIECES[:4], f".{W}Keep", *PIECES[6:]]
    with pytest.raises(ValueError, match="not found in the prompt tokens"):
        instruction_token_mask(pieces, PROMPT, ["short"], "p")


def test_instruction_token_mask_with_tokenizer(tokenizer):
    prompt = "Rewrite the text. Keep it short!\nSummarise it.\n\nInput: Hello there.\n\nOutput:"
    tokens = tokenizer.tokenize(prompt)
    assert "<unk>" not in tokens and "Summarise" in tokens and f"{W}Keep" in tokens
    for fragments, expected in [
        (["short"], [f"{W}Keep", f"{W}it", f"{W}short", "!"]),
        (["Summarise"], ["Summarise", f"{W}it", "."]),  # alone it tokenises as '▁Summarise'
    ]:
        mask = instruction_token_mask(tokens, prompt, fragments, "p", tokenize=tokenizer.tokenize)
        assert [t for t, m in zip(tokens, mask, strict=True) if m] == expected
        # the surface search on the same pieces agrees
        surface = instruction_token_mask(tokens, prompt, fragments, "p")
        np.testing.assert_array_equal(mask, surface)
    with pytest.raises(ValueError, match="q9: instruction sentence"):
        instruction_token_mask(tokens[:4], prompt, ["short"], "q9", tokenize=tokenizer.tokenize)


def test_float64_models_answer_as_one_prompt_at_a_time(tokenizer):
    # left padding turned the padded rows of a float64 batch into NaN (transformers' eager
    # attention), and greedy decoding then answered <unk> forever; float64 runs unbatched
    prompts = [format_prompt("Summarise it."), "Hello", format_prompt("Keep it short!", "a.")]
    model = tiny_model(vocab_size=len(tokenizer), seed=5, dtype=torch.float64, attn="eager")
    model.generation_config.eos_token_id = len(tokenizer) - 1
    one = [generate_response(model, tokenizer, p, max_new_tokens=6) for p in prompts]
    assert generate_responses(model, tokenizer, prompts, 6, batch_size=8) == one


def test_generation_stops_on_non_finite_scores(tokenizer):
    model = tiny_model(vocab_size=len(tokenizer), seed=5)
    with torch.no_grad():
        model.get_output_embeddings().weight[4, 0] = float("nan")
    with pytest.raises(ValueError, match=r"^p7: the model's next-token scores hold NaN or inf"):
        generate_responses(model, tokenizer, ["Hello"], 4, prompt_ids=["p7"])
    with pytest.raises(ValueError, match=r"^p8: the model's next-token scores hold NaN or inf"):
        generate_response(model, tokenizer, "Hello", 4, prompt_id="p8")
