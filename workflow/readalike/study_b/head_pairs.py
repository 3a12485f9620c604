"""Word pairs that self-attention heads relate, read from the weights alone.

After the self-attention analysis of arXiv 2310.00492: for one head, the bilinear
form ``x_q^T W_q^T W_k x_k`` splits over the head's dimensions ``r``; a dimension links
the words whose embeddings project strongly on row ``r`` of ``W_q`` with those that
project strongly on row ``r`` of ``W_k``. Pairs of such words that are also related in
meaning, and that recur in more than one dimension of the head, describe what the head
relates. Counting the pairs that hold a verb, before and after instruction tuning, tests
whether tuning made heads relate more instruction verbs ("write", "explain") than other
verbs.

Choices, with the authors' code as reference:

* The pre-attention norm is folded into ``W_q`` and ``W_k`` (RMSNorm gain, Gemma's
  ``1 + weight``, LayerNorm gain with centring and bias, OLMo-2's q/k norms; the maths per
  kind and the per-family parameter names are in :mod:`readalike.models.architectures`); the
  norm's positive per-word denominator (``rms(x)`` or the standard deviation) is left out,
  as the authors did. It changes no sign, but words with larger embeddings rank higher in
  a dimension than they would after the norm. Grouped-query key heads are repeated so that
  head ``h`` reads key/value head ``h // (n_heads / n_kv_heads)``, as the model does. The
  weights are read from the checkpoint one layer at a time, never the whole model.
* The activation filter keeps a pair (q, k) of dimension ``r`` when
  ``Hq[q, r] * Hk[k, r] > 0``: the per-dimension product, as the authors' code does;
  ``sign="head"`` uses the full head dot product ``Hq[q] . Hk[k] > 0`` instead.
* Similarity is the cosine of static word vectors: GloVe when a GloVe-format file is
  given (:func:`read_glove`; the authors used GloVe 840B), otherwise the model's own
  input-embedding word vectors. The fallback is a deviation forced by having no
  download here: it measures relatedness in the space of the model being analysed,
  so the similarity filter is no longer independent of the weights it filters.
* A pair must exceed each word's own threshold, ``mean + 1.96 std`` of the word's
  similarity to the ``n_frequent`` most frequent words (default 1000; the authors used
  3000), and be positive.
* Pairs are unordered by default, as the authors' analysis sorts each pair; a pair is
  kept if it occurs in at least ``min_dims`` (default 2) *distinct* dimensions of the
  head. The authors counted occurrences, so one dimension holding both (a, b) and
  (b, a) counted twice; counting dimensions follows the paper's wording.
* The verb lists and the base-versus-tuned comparison live in
  :mod:`readalike.study_b.verb_relations`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from readalike.models.architectures import ModelWeights, QueryKeyMaps

logger = logging.getLogger(__name__)


def fold_norm_gain(weight: torch.Tensor, gain: torch.Tensor) -> torch.Tensor:
    """Fold an RMSNorm gain into the projection that reads the normed input.

    ``W (g * x_hat) = (W * g) x_hat``: scaling column ``j`` of ``W`` by ``g_j``.

    Parameters
    ----------
    weight
        ``(out_features, hidden)`` (``nn.Linear`` layout).
    gain
        ``(hidden,)`` the norm's weight.

    Returns
    -------
    torch.Tensor
        ``(out_features, hidden)`` float32.
    """
    return weight.float() * gain.float()[None, :]


def kv_head_of(n_heads: int, n_kv_heads: int) -> np.ndarray:
    """Key/value head read by each query head: ``h // (n_heads / n_kv_heads)``.

    Returns
    -------
    numpy.ndarray
        ``(n_heads,)`` int64.
    """
    if n_heads % n_kv_heads:
        raise ValueError(f"{n_heads} heads are not a multiple of {n_kv_heads} kv heads")
    return np.arange(n_heads) // (n_heads // n_kv_heads)


def _split_heads(
    hq: torch.Tensor, hk: torch.Tensor, n_heads: int, n_kv_heads: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(n_words, heads * head_dim)`` -> ``(n_words, n_heads, head_dim)``, keys repeated."""
    head_dim = hq.shape[1] // n_heads
    hq = hq.reshape(-1, n_heads, head_dim)
    hk = hk.reshape(-1, n_kv_heads, head_dim)
    if n_kv_heads != n_heads:
        hk = hk[:, torch.from_numpy(kv_head_of(n_heads, n_kv_heads)).to(hk.device)]
    return hq, hk


def head_projections(
    embeddings: torch.Tensor,
    w_q: torch.Tensor,
    w_k: torch.Tensor,
    gain: torch.Tensor,
    n_heads: int,
    n_kv_heads: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Every word's query and key vector in every head of one LLaMA-style layer.

    The RMSNorm case of :class:`readalike.models.architectures.QueryKeyMaps` without biases;
    :func:`head_projections_of` serves every family.

    Parameters
    ----------
    embeddings
        ``(n_words, hidden)`` word vectors E (mean of sub-token input-embedding rows).
    w_q
        ``(n_heads * head_dim, hidden)`` q_proj weight.
    w_k
        ``(n_kv_heads * head_dim, hidden)`` k_proj weight.
    gain
        ``(hidden,)`` the layer's input RMSNorm weight, folded into both.
    n_heads, n_kv_heads
        Query heads and key/value heads.

    Returns
    -------
    hq, hk : torch.Tensor
        ``(n_words, n_heads, head_dim)`` float32 each; ``hk`` already repeated for
        grouped-query attention.
    """
    maps = QueryKeyMaps(fold_norm_gain(w_q, gain), fold_norm_gain(w_k, gain))
    return _split_heads(*maps.project(embeddings), n_heads, n_kv_heads)


def head_projections_of(
    weights: ModelWeights, layer: int, embeddings: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Every word's query and key vector in every head of one layer of any known family.

    ``h(e) = s(e) q(e)``: the query the layer computes from the word vector, the norm's
    positive per-word denominator taken out (the folding maths per norm kind are in
    :mod:`readalike.models.architectures`).

    Parameters
    ----------
    weights
        From :func:`readalike.models.architectures.open_checkpoint` (reads this layer's tensors).
    layer
        Layer index.
    embeddings
        ``(n_words, hidden)`` word vectors.

    Returns
    -------
    hq, hk : torch.Tensor
        ``(n_words, n_heads, head_dim)`` float32 each, keys repeated to the query heads.
    """
    hq, hk = weights.query_key(layer).project(embeddings)
    return _split_heads(hq, hk, weights.n_heads, weights.n_kv_heads)


def read_glove(path: str | os.PathLike, words: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Static word vectors of ``words`` from a GloVe-format text file.

    Format: ``token v_1 ... v_D`` per line, space-separated (tokens may hold spaces, as
    in GloVe 840B: the last ``D`` fields are the vector); an optional word2vec header
    line ``count D`` is skipped. A word takes its exact entry, else its lowercase one.

    Returns
    -------
    vectors : numpy.ndarray
        ``(n_words, D)`` float32; zero rows for words not in the file (their cosine to
        anything is 0, so they never pass the similarity filter).
    found : numpy.ndarray
        ``(n_words,)`` bool.

    Raises
    ------
    ValueError
        If the file is empty or a line has a vector of another length or a value that
        is not a number; names the file and the line.
    """
    path = Path(path)
    exact_rows: dict[str, list[int]] = {}
    lower_rows: dict[str, list[int]] = {}
    for index, word in enumerate(words):
        exact_rows.setdefault(word, []).append(index)
        lower_rows.setdefault(word.lower(), []).append(index)
    vectors: np.ndarray | None = None
    exact = np.zeros(len(words), dtype=bool)
    found = np.zeros(len(words), dtype=bool)
    dim = 0
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            line = line.rstrip("\n").rstrip(" ")
            if not line:
                continue
            if vectors is None:
                fields = line.split(" ")
                if line_no == 1 and len(fields) == 2 and all(f.isdigit() for f in fields):
                    continue  # word2vec header: "count dim"
                dim = len(fields) - 1
                vectors = np.zeros((len(words), dim), dtype=np.float32)
            # Splitting from the right keeps tokens with spaces whole.
            parts = line.rsplit(" ", dim)
            if len(parts) != dim + 1 or dim == 0:
                raise ValueError(
                    f"{path}, line {line_no}: expected a token and {dim} values, "
                    f"found {len(parts) - 1}"
                )
            token = parts[0]
            rows_exact = exact_rows.get(token, [])
            rows_lower = [i for i in lower_rows.get(token, []) if not exact[i]]
            if not rows_exact and not rows_lower:
                continue
            try:
                vector = np.asarray(parts[1:], dtype=np.float32)
            except ValueError:
                raise ValueError(
                    f"{path}, line {line_no}: a value of {token!r} is not a number"
                ) from None
            # An exact entry overrides a lowercase one read earlier, never the reverse.
            vectors[rows_lower] = vector
            vectors[rows_exact] = vector
            found[rows_lower] = True
            found[rows_exact] = True
            exact[rows_exact] = True
    if vectors is None:
        raise ValueError(f"{path}: no vector found")
    logger.info("GloVe %s: %d of %d words found", path, found.sum(), len(words))
    return vectors, found


def similarity_thresholds(
    sim_vectors: torch.Tensor | np.ndarray,
    n_frequent: int = 1000,
    z: float = 1.96,
    chunk_rows: int = 4096,
) -> torch.Tensor:
    """Each word's own bar for "related": mean + z std of its cosine to frequent words.

    Parameters
    ----------
    sim_vectors
        ``(n_words, D)`` static word vectors, rows in vocabulary order (most frequent
        first); normalised here.
    n_frequent
        How many of the most frequent words form the reference set.
    z
        Standard deviations above the mean (1.96: the one-sided 97.5% point).

    Returns
    -------
    torch.Tensor
        ``(n_words,)`` float32 (population std, as ``np.std``).
    """
    U = torch.nn.functional.normalize(torch.as_tensor(sim_vectors).float(), dim=-1)
    reference = U[:n_frequent]
    thresholds = []
    for start in range(0, U.shape[0], chunk_rows):
        scores = U[start : start + chunk_rows] @ reference.T
        thresholds.append(scores.mean(dim=1) + z * scores.std(dim=1, correction=0))
    return torch.cat(thresholds)


def head_word_pairs(
    hq: torch.Tensor,
    hk: torch.Tensor,
    sim_vectors: torch.Tensor | np.ndarray,
    thresholds: torch.Tensor,
    k: int = 100,
    min_dims: int = 2,
    ordered: bool = False,
    sign: Literal["dimension", "head"] = "dimension",
    max_block_mb: float = 64.0,
) -> pd.DataFrame:
    """Word pairs each head relates, with the number of its dimensions that hold them.

    For every head dimension ``r``: the top ``k`` words by ``|Hq[:, r]|`` and the top
    ``k`` by ``|Hk[:, r]|`` give ``k x k`` candidate pairs (q, k); a pair survives if

    * its activation has the right sign: ``Hq[q, r] * Hk[k, r] > 0``
      (``sign="dimension"``, the authors' rule) or ``Hq[q] . Hk[k] > 0`` over the whole
      head (``sign="head"``);
    * q and k are different words;
    * their cosine similarity is positive and above both words' ``thresholds``.

    A pair is kept if it survives in at least ``min_dims`` distinct dimensions.

    Parameters
    ----------
    hq, hk
        ``(n_words, n_heads, head_dim)`` from :func:`head_projections`.
    sim_vectors
        ``(n_words, D)`` static word vectors for similarity (normalised here).
    thresholds
        ``(n_words,)`` from :func:`similarity_thresholds`.
    k
        Words per dimension and side (the paper: 100).
    min_dims
        Dimensions a pair must appear in (2: "more than one").
    ordered
        Keep (query word, key word) orientation; by default (a, b) and (b, a) are one
        pair, as in the authors' analysis.
    sign
        Activation filter, see above.
    max_block_mb
        Memory for the gathered similarity vectors of a block of dimensions (all heads'
        dimensions are processed in blocks; the result does not depend on the size).

    Returns
    -------
    pandas.DataFrame
        ``head``, ``word_a``, ``word_b`` (vocabulary indices; with ``ordered`` the query
        and the key word, otherwise the smaller index first), ``n_dims``; sorted by
        head, then ``n_dims`` descending, then words.
    """
    if sign not in ("dimension", "head"):
        raise ValueError(f"sign must be 'dimension' or 'head', not {sign!r}")
    n_words, n_heads, head_dim = hq.shape
    device = hq.device
    k = min(k, n_words)
    U = torch.nn.functional.normalize(torch.as_tensor(sim_vectors).float(), dim=-1).to(device)
    thresholds = torch.as_tensor(thresholds).float().to(device)
    columns = n_heads * head_dim
    # One topk over every (head, dimension) column at once: (k, columns) -> (columns, k).
    flat_q = hq.reshape(n_words, columns)
    flat_k = hk.reshape(n_words, columns)
    top_q = torch.topk(flat_q.abs(), k, dim=0).indices.T.contiguous()
    top_k = torch.topk(flat_k.abs(), k, dim=0).indices.T.contiguous()
    column_index = torch.arange(columns, device=device)
    val_q = torch.gather(flat_q, 0, top_q.T).T
    val_k = torch.gather(flat_k, 0, top_k.T).T

    # Blocks of dimensions whose gathered (block, k, D) similarity vectors fit the budget:
    # small blocks stay in cache and reuse the allocator's memory, and every dimension
    # is independent of the others, so blocks need not follow heads.
    per_column = 2 * k * max(U.shape[1], head_dim if sign == "head" else 0) * 4
    block = max(1, int(max_block_mb * 2**20 // per_column))
    found_col, found_q, found_k = [], [], []
    for first in range(0, columns, block):
        cols = slice(first, min(columns, first + block))
        iq, ik = top_q[cols], top_k[cols]
        if sign == "dimension":
            active = val_q[cols][:, :, None] * val_k[cols][:, None, :] > 0
        else:
            heads = column_index[cols] // head_dim
            vq = hq[iq, heads[:, None]]  # (block, k, head_dim)
            vk = hk[ik, heads[:, None]]
            active = torch.bmm(vq, vk.transpose(1, 2)) > 0
        similarity = torch.bmm(U[iq], U[ik].transpose(1, 2))  # (block, k, k)
        mask = (
            active
            & (iq[:, :, None] != ik[:, None, :])
            & (similarity > 0)
            & (similarity > thresholds[iq][:, :, None])
            & (similarity > thresholds[ik][:, None, :])
        )
        col, i, j = mask.nonzero(as_tuple=True)
        found_col.append(col + cols.start)
        found_q.append(iq[col, i])
        found_k.append(ik[col, j])

    col = torch.cat(found_col).cpu().numpy().astype(np.int64)
    word_q = torch.cat(found_q).cpu().numpy().astype(np.int64)
    word_k = torch.cat(found_k).cpu().numpy().astype(np.int64)
    if not ordered:
        word_q, word_k = np.minimum(word_q, word_k), np.maximum(word_q, word_k)
    head, dim = col // head_dim, col % head_dim
    pair = (head * n_words + word_q) * n_words + word_k
    # Distinct (pair, dimension) first, so a pair seen twice in one dimension counts once.
    pair_dims = np.unique(pair * head_dim + dim)
    pairs, n_dims = np.unique(pair_dims // head_dim, return_counts=True)
    keep = n_dims >= min_dims
    pairs, n_dims = pairs[keep], n_dims[keep]
    table = pd.DataFrame(
        {
            "head": pairs // (n_words * n_words),
            "word_a": (pairs // n_words) % n_words,
            "word_b": pairs % n_words,
            "n_dims": n_dims,
        }
    )
    table = table.sort_values(
        ["head", "n_dims", "word_a", "word_b"], ascending=[True, False, True, True]
    )
    return table.reset_index(drop=True)


def model_word_pairs(
    weights: ModelWeights,
    word_embeddings: torch.Tensor,
    sim_vectors: torch.Tensor | np.ndarray | None = None,
    n_frequent: int = 1000,
    k: int = 100,
    min_dims: int = 2,
    ordered: bool = False,
    sign: Literal["dimension", "head"] = "dimension",
    layers: Sequence[int] | None = None,
    device: str | torch.device | None = None,
) -> pd.DataFrame:
    """Word pairs of every head of every layer, one layer at a time.

    Parameters
    ----------
    weights
        From :func:`readalike.models.architectures.open_checkpoint` (one layer read at a time).
    word_embeddings
        ``(n_words, hidden)`` mean of sub-token *input* embedding rows, vocabulary order
        (most frequent first).
    sim_vectors
        ``(n_words, D)`` static vectors for similarity (GloVe, :func:`read_glove`);
        ``None`` uses ``word_embeddings`` (documented deviation, see the module).
    n_frequent, k, min_dims, ordered, sign
        As in :func:`similarity_thresholds` and :func:`head_word_pairs`.
    layers
        Layer indices (default: all).
    device
        Where to compute (default: the embeddings' device).

    Returns
    -------
    pandas.DataFrame
        ``layer``, ``head``, ``word_a``, ``word_b``, ``n_dims``.
    """
    E = word_embeddings.float().to(device or word_embeddings.device)
    if sim_vectors is None:
        logger.info("no GloVe vectors given: similarity from the model's input embeddings")
        sim_vectors = E
    sim = torch.as_tensor(sim_vectors).float().to(E.device)
    thresholds = similarity_thresholds(sim, n_frequent=n_frequent)
    layers = range(weights.n_layers) if layers is None else layers
    tables = []
    for layer in tqdm(layers, desc="attention word pairs", unit="layer"):
        with torch.no_grad():
            hq, hk = head_projections_of(weights, layer, E)
            table = head_word_pairs(
                hq, hk, sim, thresholds, k=k, min_dims=min_dims, ordered=ordered, sign=sign
            )
        tables.append(table.assign(layer=layer))
    columns = ["layer", "head", "word_a", "word_b", "n_dims"]
    return pd.concat(tables, ignore_index=True)[columns]


def verb_pair_counts(
    pairs: pd.DataFrame, words: Sequence[str], verbs: Sequence[str]
) -> pd.DataFrame:
    """How many of each head's pairs contain each verb.

    Words are compared lowercased; a pair whose two words are both the verb (case
    variants) counts once.

    Parameters
    ----------
    pairs
        ``layer``, ``head``, ``word_a``, ``word_b`` (indices into ``words``), as from
        :func:`model_word_pairs`.
    words
        The vocabulary.
    verbs
        Verbs to count.

    Returns
    -------
    pandas.DataFrame
        ``layer``, ``head``, ``verb``, ``count``: only (layer, head, verb) with a
        non-zero count; a missing row means zero.
    """
    verbs = [verb.lower() for verb in verbs]
    verb_index = {verb: i for i, verb in enumerate(verbs)}
    verb_of_word = np.array([verb_index.get(word.lower(), -1) for word in words], dtype=np.int64)
    layer = pairs["layer"].to_numpy()
    head = pairs["head"].to_numpy()
    va = verb_of_word[pairs["word_a"].to_numpy()]
    vb = verb_of_word[pairs["word_b"].to_numpy()]
    take_a = va >= 0
    take_b = (vb >= 0) & (vb != va)
    hits = pd.DataFrame(
        {
            "layer": np.concatenate([layer[take_a], layer[take_b]]),
            "head": np.concatenate([head[take_a], head[take_b]]),
            "verb": np.asarray(verbs, dtype=object)[np.concatenate([va[take_a], vb[take_b]])],
        }
    )
    counts = hits.groupby(["layer", "head", "verb"], sort=True).size()
    return counts.rename("count").reset_index()
