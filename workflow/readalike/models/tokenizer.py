"""Loading a checkpoint's tokenizer as the checkpoint declares it.

transformers 5's ``AutoTokenizer`` maps some model types to their own tokenizer class
whatever the checkpoint's ``tokenizer_config.json`` names (``model_type: qwen2`` or
``phi3`` always get ``Qwen2Tokenizer`` / the Phi-3 one). A checkpoint that ships another
tokenizer (a Qwen2-architecture model trained on a SentencePiece vocabulary, as the demo
zoo builds) is then read with the wrong pre-tokenizer and mangles text (``" 1"`` became no
token at all). Every job that loads a tokenizer goes through :func:`load_tokenizer`, which
honours the declared class.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from readalike.models.gguf import pretrained_args

logger = logging.getLogger(__name__)


def declared_tokenizer_class(location: str | os.PathLike) -> str | None:
    """``tokenizer_class`` of a local checkpoint's ``tokenizer_config.json`` (None: not said)."""
    config = Path(location) / "tokenizer_config.json"
    if not config.is_file():
        return None
    declared = json.loads(config.read_text(encoding="utf-8")).get("tokenizer_class")
    return str(declared) if declared else None


def _base_name(name: str) -> str:
    # transformers 5 names fast tokenizers without the suffix; older checkpoints with it
    return name[: -len("Fast")] if name.endswith("Fast") else name


def load_tokenizer(location: str | os.PathLike, **kwargs):
    """The tokenizer of a checkpoint folder or hub id, of the class the checkpoint declares.

    ``AutoTokenizer`` first; where a local checkpoint declares another class than the one
    it returned, that class is loaded instead (from ``transformers``; one clear error if
    transformers has no such class). A ``.gguf`` file holds its own tokenizer, read from
    the file (:func:`readalike.models.gguf.pretrained_args`).
    """
    import transformers

    folder, gguf = pretrained_args(location)
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder, **gguf, **kwargs)
    declared = declared_tokenizer_class(location) if Path(location).is_dir() else None
    if declared is None or _base_name(type(tokenizer).__name__) == _base_name(declared):
        return tokenizer
    cls = getattr(transformers, declared, None) or getattr(transformers, f"{declared}Fast", None)
    if cls is None:
        raise ValueError(
            f"{location}: tokenizer_config.json declares tokenizer_class {declared!r}, which "
            f"this transformers ({transformers.__version__}) does not have"
        )
    logger.info(
        "%s: AutoTokenizer gave %s, the checkpoint declares %s: loading %s",
        location,
        type(tokenizer).__name__,
        declared,
        cls.__name__,
    )
    return cls.from_pretrained(location, **kwargs)


def fast_tokenizer(location: str | os.PathLike, needed_for: str):
    """:func:`load_tokenizer`'s tokenizer, refused unless it is a fast one.

    Only a fast tokenizer returns character offsets, which is how tokens are mapped to
    words (extraction) and how an instruction is found among the prompt's tokens (Study B).
    """
    tokenizer = load_tokenizer(location)
    if not tokenizer.is_fast:
        raise ValueError(
            f"{location}: tokenizer {type(tokenizer).__name__} gives no character offsets "
            f"(not a fast tokenizer); {needed_for} needs them"
        )
    return tokenizer
