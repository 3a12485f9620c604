"""One model against one reading corpus: the sentences compared, the model side, the table.

The flow of the relative-importance comparison (workflow/rules/corpora.smk):
:func:`comparable_corpus` picks the sentences of a loaded
:class:`~readalike.core.formats.ReadingCorpus` that a model can read (no empty word, at
least :data:`~readalike.relative_importance.statistics.MIN_WORDS` words; optionally a
seeded subset), :func:`corpus_importance` runs
:func:`~readalike.models.word_importance.word_importance` on them (one model load), and
:func:`importance_measures` / :func:`comparison_table` / :func:`reference_table` turn both
into the rows of :mod:`readalike.relative_importance.tables`. Only
:func:`corpus_importance` needs torch, and imports it where it runs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from readalike.core.formats import ReadingCorpus, WordImportanceSet
from readalike.relative_importance import statistics as st
from readalike.relative_importance import tables as rt

logger = logging.getLogger(__name__)

#: the human value compared: relative fixation (TRT over the sentence's total), as the peers
HUMAN_MEASURE = "relfix"


def comparable_corpus(
    corpus: ReadingCorpus, max_sentences: int | None = None, seed: int = 0
) -> ReadingCorpus:
    """The sentences a model can be compared on, optionally a seeded subset.

    A sentence holding an empty word (GECO's lost words) cannot be shown to a model, and
    one of fewer than ``MIN_WORDS`` words has no rank correlation: both are dropped. With
    ``max_sentences``, that many of the rest are drawn without replacement (seeded) and
    kept in corpus order.
    """
    keep = np.array([len(s) >= st.MIN_WORDS and "" not in s for s in corpus.sentences], dtype=bool)
    logger.info(
        "%s: %d of %d sentences comparable (no empty word, >= %d words)",
        corpus.corpus,
        keep.sum(),
        len(keep),
        st.MIN_WORDS,
    )
    chosen = np.flatnonzero(keep)
    if max_sentences is not None and len(chosen) > max_sentences:
        rng = np.random.default_rng(seed)
        chosen = np.sort(rng.choice(chosen, size=max_sentences, replace=False))
    offsets = corpus.offsets()
    columns = np.concatenate([np.arange(offsets[s], offsets[s + 1]) for s in chosen])
    return replace(
        corpus,
        sentences=[corpus.sentences[s] for s in chosen],
        texts=np.asarray(corpus.texts)[chosen],
        trt=corpus.trt[:, columns],
        relfix=corpus.relfix[:, columns],
    )


def corpus_importance(
    location: str,
    corpus: ReadingCorpus,
    *,
    model_name: str,
    dtype: str = "float32",
    device: str = "cpu",
    batch_size: int = 8,
    bos: str = "auto",
    norm: bool = True,
    n_threads: int | None = None,
    shard: tuple[int, int] = (0, 1),
    max_tokens: int | None = None,
) -> WordImportanceSet:
    """Every word-importance measure of the corpus' sentences under one model (one load).

    ``location`` is what :func:`readalike.models.extraction.load_causal_lm` takes (a
    folder, a hub id or a ``.gguf`` file). The set holds one "article" with the corpus'
    sentences in order. ``shard = (i, n)`` computes only the sentences
    :func:`shard_indices` gives shard ``i`` of ``n`` (attrs ``shard``, ``n_shards``), for
    :func:`join_shards`: the sentences are independent, so ``n`` jobs share a corpus.
    ``batch_size`` and ``max_tokens`` bound each pass (sentences, padded token positions;
    :func:`readalike.models.word_importance.length_batches`).
    """
    import torch

    from readalike.models.bos import resolve_bos
    from readalike.models.extraction import load_causal_lm
    from readalike.models.word_importance import word_importance

    indices = shard_indices(len(corpus.sentences), *shard)
    if n_threads:
        torch.set_num_threads(n_threads)
    model, tokenizer = load_causal_lm(location, dtype=dtype, device=device)
    sentences = [list(corpus.sentences[i]) for i in indices]
    records = word_importance(
        model,
        tokenizer,
        sentences,
        batch_size=batch_size,
        max_tokens=max_tokens,
        bos=bos,
        norm=norm,
        names=[
            f"{corpus.corpus} sentence {i} {' '.join(s)!r}"
            for i, s in zip(indices, sentences, strict=True)
        ],
    )
    bos_id, how = resolve_bos(tokenizer, model.config, bos, model_name)
    return WordImportanceSet(
        model=model_name,
        sentences=[records],
        source=f"{location} on {corpus.corpus}",
        attrs={
            "bos": how,
            "bos_id": -1 if bos_id is None else bos_id,
            "shard": shard[0],
            "n_shards": shard[1],
        },
    )


def shard_indices(n_sentences: int, shard: int, n_shards: int) -> np.ndarray:
    """The sentences of shard ``shard`` of ``n_shards``: every ``n_shards``-th from ``shard``.

    Interleaved rather than in blocks, so that every shard gets sentences from all over
    the corpus (texts differ in sentence length, and a job's time grows with it).

    Raises
    ------
    ValueError
        If ``shard`` is not in ``[0, n_shards)``, or the shard would hold no sentence.
    """
    if not 0 <= shard < n_shards:
        raise ValueError(f"shard {shard} is not one of 0..{n_shards - 1}")
    if shard >= n_sentences:
        raise ValueError(
            f"shard {shard} of {n_shards} holds no sentence: the corpus has {n_sentences}; "
            "configure fewer shards"
        )
    return np.arange(shard, n_sentences, n_shards)


def join_shards(parts: Sequence[WordImportanceSet], where: str = "") -> WordImportanceSet:
    """One set of the whole corpus from the sets of its shards, sentences back in order.

    ``parts[i]`` must be shard ``i`` of ``len(parts)`` of one model, as
    :func:`corpus_importance` writes them (attrs ``shard``, ``n_shards``).

    Raises
    ------
    ValueError
        Naming ``where``: a part of another model, shard, shard count or BOS choice, or a
        part with the wrong number of sentences for its shard.
    """
    n = len(parts)
    if n == 0:
        raise ValueError(f"{where}: no shard to join")
    first = parts[0]
    for i, part in enumerate(parts):
        found = (part.model, int(part.attrs.get("shard", -1)), int(part.attrs.get("n_shards", -1)))
        if found != (first.model, i, n):
            raise ValueError(
                f"{where}: part {i} is shard {found[1]} of {found[2]} of model {found[0]!r}; "
                f"expected shard {i} of {n} of model {first.model!r}"
            )
        if (part.attrs.get("bos"), part.attrs.get("bos_id")) != (
            first.attrs.get("bos"),
            first.attrs.get("bos_id"),
        ):
            raise ValueError(f"{where}: part {i} chose another BOS than part 0")
    sizes = [sum(len(a) for a in part.sentences) for part in parts]
    total = sum(sizes)
    for i, size in enumerate(sizes):
        if size != len(shard_indices(total, i, n)):
            raise ValueError(f"{where}: shard {i} of {n} holds {size} sentences of {total}")
    records: list = [None] * total
    for i, part in enumerate(parts):
        flat = [r for article in part.sentences for r in article]
        for k, record in zip(shard_indices(total, i, n), flat, strict=True):
            records[k] = record
    attrs = {k: v for k, v in first.attrs.items() if k not in ("shard", "n_shards")}
    return WordImportanceSet(
        model=first.model, sentences=[records], source=first.source, attrs=attrs
    )


def importance_measures(
    importance: WordImportanceSet, corpus: ReadingCorpus, heads: bool = False
) -> dict[str, np.ndarray]:
    """name -> ``(*units, n_words)`` float64 over the corpus' words end to end.

    ``attention_mean`` is the attention a word receives averaged over heads,
    ``(layers, n_words)``; ``attention`` (every head, ``(layers, heads, n_words)``) only
    with ``heads``. ``norm`` is left out where the model run had none.
    """
    records = [r for article in importance.sentences for r in article]
    if [tuple(r.words) for r in records] != [tuple(s) for s in corpus.sentences]:
        raise ValueError(
            f"word importance of {importance.model} does not hold the sentences of corpus "
            f"{corpus.corpus}"
        )

    def joined(get) -> np.ndarray:
        return np.concatenate([np.asarray(get(r), dtype=np.float64) for r in records], axis=-1)

    measures = {
        "attention_mean": joined(lambda r: r.attention.astype(np.float64).mean(axis=1)),
        "attention_peers": joined(lambda r: r.attention_peers),
        "rollout": joined(lambda r: r.rollout),
        "flow": joined(lambda r: r.flow),
        "saliency": joined(lambda r: r.saliency),
        "grad_x_input": joined(lambda r: r.grad_x_input),
    }
    surprisal = joined(lambda r: r.surprisal)
    if np.isfinite(surprisal).all():
        measures["surprisal"] = surprisal
    else:
        # only the first words can be NaN (the file format refuses any other)
        logger.warning(
            "%s on %s: surprisal left out: the model read no BOS token (bos: none), so no "
            "sentence's first word has a surprisal, and a rank correlation needs every word",
            importance.model,
            corpus.corpus,
        )
    if heads:
        measures["attention"] = joined(lambda r: r.attention)
    if all(r.norm is not None for r in records):
        measures["norm"] = joined(lambda r: r.norm)
    return measures


def _options(settings: Mapping) -> dict:
    return {
        "n_permutations": settings["n_permutations"],
        "n_boot": settings["n_boot"],
        "seed": settings["seed"],
        "kendall": settings["kendall"],
        "mutual_information": settings["mutual_information"],
    }


def comparison_table(
    corpus: ReadingCorpus,
    importance: WordImportanceSet,
    *,
    model: str,
    settings: Mapping,
    group_pairs: Sequence[Sequence[str]] = (),
    synthetic: bool = False,
) -> pd.DataFrame:
    """Every statistic of one model on one corpus: each group, then each pair of groups.

    ``settings`` is the config's ``corpora`` section (``n_permutations``, ``n_boot``,
    ``seed``, ``kendall``, ``mutual_information``, ``mixedlm``, ``mixedlm_max_sentences``,
    ``heads``).
    """
    measures = importance_measures(importance, corpus, heads=True)
    # every statistic per head only when asked; the per-head regression always
    head_attention = None if settings["heads"] else measures.pop("attention")
    offsets = corpus.offsets()
    words = [w for s in corpus.sentences for w in s]
    length = st.word_lengths(words).astype(np.float64)
    zipf = st.zipf_frequencies(words, corpus.language)
    rows = {r: i for i, r in enumerate(corpus.reader_ids)}
    frames = []
    for group, readers in corpus.groups.items():
        human = corpus.relfix[[rows[r] for r in readers]]
        frames.append(
            rt.model_rows(
                human,
                measures,
                offsets,
                corpus.texts,
                model=model,
                corpus=corpus.corpus,
                group=group,
                word_length=length,
                zipf_frequency=zipf,
                synthetic=synthetic,
                mixedlm=settings["mixedlm"],
                mixedlm_max_sentences=settings["mixedlm_max_sentences"],
                **_options(settings),
            )
        )
        if head_attention is not None:
            frames.append(
                rt.head_regression_rows(
                    human,
                    head_attention,
                    offsets,
                    corpus.texts,
                    model=model,
                    corpus=corpus.corpus,
                    group=group,
                    synthetic=synthetic,
                )
            )
    for a, b in group_pairs:
        frames.append(
            rt.group_comparison_rows(
                corpus.relfix[[rows[r] for r in corpus.groups[a]]],
                corpus.relfix[[rows[r] for r in corpus.groups[b]]],
                measures,
                offsets,
                model=model,
                corpus=corpus.corpus,
                group_a=a,
                group_b=b,
                synthetic=synthetic,
                n_permutations=settings["n_permutations"],
                seed=settings["seed"],
            )
        )
    return pd.concat(frames, ignore_index=True)[rt.COLUMNS]


def reference_table(
    corpus: ReadingCorpus, *, settings: Mapping, synthetic: bool = False
) -> pd.DataFrame:
    """What every model is read against, per group: the word-length and word-rarity
    baselines (model ``baseline``) and the readers' noise ceiling (model ``human``)."""
    offsets = corpus.offsets()
    words = [w for s in corpus.sentences for w in s]
    rows = {r: i for i, r in enumerate(corpus.reader_ids)}
    frames = []
    for group, readers in corpus.groups.items():
        human = corpus.relfix[[rows[r] for r in readers]]
        frames.append(
            rt.baseline_rows(
                human,
                offsets,
                corpus.texts,
                words,
                corpus.language,
                corpus=corpus.corpus,
                group=group,
                synthetic=synthetic,
                **_options(settings),
            )
        )
        frames.append(
            rt.noise_ceiling_rows(
                human,
                offsets,
                corpus=corpus.corpus,
                group=group,
                human_measure=HUMAN_MEASURE,
                synthetic=synthetic,
                n_boot=settings["n_boot"],
                seed=settings["seed"],
            )
        )
    return pd.concat(frames, ignore_index=True)[rt.COLUMNS]
