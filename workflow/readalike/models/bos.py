"""One rule for the beginning-of-sequence token, shared by Study A and Study B.

Models were trained with or without a BOS token in front of every text, and a model
reads text differently without the one it was trained with, so both studies prepend the
same token, chosen here. The config key ``bos`` of a model picks it:

* ``auto`` (the default): the tokenizer's BOS token; else the model config's
  ``bos_token_id``; else none. Real Qwen2/Qwen3 tokenizers have no BOS, and their
  configs none either (or one the model was not trained to see first), so they get none;
  LLaMA-style tokenizers give ``<s>``.
* ``none``: no BOS token, whatever the tokenizer or config say.
* any other text: that token of the tokenizer's vocabulary (e.g. ``<|endoftext|>``, which
  GPT-2 was trained to see between documents).

:func:`resolve_bos` returns the id and *how* it was chosen (``tokenizer``, ``config``,
``none`` or ``config:<text>``), which the tables record next to the model.
"""

from __future__ import annotations

#: Values of ``how`` besides ``config:<text>``.
BOS_SOURCES = ("tokenizer", "config", "none")


def resolve_bos(
    tokenizer, model_config, choice: str = "auto", model_name: str = "model"
) -> tuple[int | None, str]:
    """The BOS token id to prepend (or ``None``), and how it was chosen.

    Parameters
    ----------
    tokenizer
        A Hugging Face tokenizer (``bos_token_id``, ``get_vocab``).
    model_config
        The model's config (``bos_token_id``, ``vocab_size``), or ``None``.
    choice
        ``"auto"``, ``"none"`` or a token's text (see the module notes).
    model_name
        Named in errors.

    Returns
    -------
    bos_token_id : int or None
    how : str
        ``"tokenizer"``, ``"config"``, ``"none"`` or ``"config:<text>"``.

    Raises
    ------
    ValueError
        If ``choice`` names no single token of the vocabulary, or the chosen id lies
        outside the model's embedding (``vocab_size``); names the model.
    """
    if choice == "none":
        return None, "none"
    if choice == "auto":
        if tokenizer.bos_token_id is not None:
            bos, how = int(tokenizer.bos_token_id), "tokenizer"
        elif getattr(model_config, "bos_token_id", None) is not None:
            bos, how = int(model_config.bos_token_id), "config"
        else:
            return None, "none"
    else:
        vocab = tokenizer.get_vocab()
        if choice not in vocab:
            raise ValueError(
                f"model {model_name!r}: bos {choice!r} is not a token of the tokenizer's "
                "vocabulary (use auto, none or a token's exact text)"
            )
        bos, how = int(vocab[choice]), f"config:{choice}"
    size = getattr(model_config, "vocab_size", None)
    if size is not None and not 0 <= bos < int(size):
        raise ValueError(
            f"model {model_name!r}: BOS id {bos} ({how}) lies outside the model's "
            f"embedding of {int(size)} rows; set bos: none or a token's text in the config"
        )
    return bos, how


def input_pad_id(tokenizer, vocab_size: int) -> int:
    """A padding id that the model's embedding can look up.

    Padded positions are masked, so any id inside the embedding serves; the tokenizer's
    own pad id is used when it lies inside, else its EOS, else 0. GPT-NeoX tokenizers add
    ``<|padding|>`` past the vocabulary of small checkpoints, which would otherwise crash
    the embedding lookup with a bare ``IndexError``.

    Parameters
    ----------
    tokenizer
        A Hugging Face tokenizer.
    vocab_size
        Rows of the model's input embedding.
    """
    for candidate in (tokenizer.pad_token_id, tokenizer.eos_token_id):
        if candidate is not None and 0 <= int(candidate) < vocab_size:
            return int(candidate)
    return 0
