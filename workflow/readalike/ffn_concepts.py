"""Concepts of the feed-forward layers: principal components of their value vectors.

After the feed-forward analysis of arXiv 2310.00492: the rows of ``down_proj.weight.T``
are the value vectors a layer writes into the residual stream, one per neuron. Their top
principal components are read as "concepts" by the vocabulary words whose output
embeddings they point to most, and each concept is labelled with a task (writing, math,
coding, translation, none) and a linguistic level (phonology, morphology, syntax,
semantics, cannot tell). Comparing the labels of a pre-trained and an instruction-tuned
model by depth shows what tuning shifted.

Differences from the paper and the authors' code, on purpose:

* PCA uses randomised subspace iteration on the Gram matrix of the centred value
  vectors (:func:`principal_components`) instead of a full SVD; the explained-variance
  ratios keep the full total variance (the squared Frobenius norm) as denominator, so
  they equal the full SVD's to the iteration's accuracy.
* Components are labelled by a deterministic rule-based labeller
  (:func:`label_component`, keyword lexicons shipped here) instead of ChatGPT runs
  with five seeds, so no online service is needed. Being deterministic, it has no
  run-to-run spread: :func:`concept_shift` reports shares and their differences, not
  the authors' t-test across labelling runs.
* Shares are taken among *explainable* components only (task other than ``none`` or
  level other than ``cannot tell``); the authors divided by all components.
* :func:`subspace_similarity` (principal angles between the component subspaces of two
  models) is an addition, not in the paper.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from .vocabulary import ModelModules

logger = logging.getLogger(__name__)

#: Task categories, in the order that breaks ties.
TASKS = ("writing", "math", "coding", "translation", "none")
#: Linguistic levels, in the order the labeller tests them (first rule that fires wins).
LEVELS = ("syntax", "morphology", "phonology", "semantics", "cannot tell")

#: Keyword lexicons of the tasks (lowercase). A top word counts for a task if it is in
#: the lexicon or matches the task's surface pattern (:data:`TASK_PATTERNS`).
TASK_LEXICONS: dict[str, frozenset[str]] = {
    "writing": frozenset(
        """write writing written wrote writer essay essays story stories poem poems poetry
        poet novel novels paragraph paragraphs sentence sentences chapter article articles
        letter draft author narrative fiction plot character characters verse prose tone
        style title headline blog summary summarize rewrite edit paraphrase describe
        description compose email review speech lyrics rhyme metaphor tale diary memoir
        journal slogan caption outline""".split()
    ),
    "math": frozenset(
        """math mathematics mathematical number numbers sum add plus minus subtract multiply
        divide division equation equations equal equals integral derivative algebra
        geometry calculus theorem proof formula fraction percent percentage ratio average
        median probability matrix vector angle triangle square root calculate calculation
        compute solve digit digits integer decimal prime factor exponent logarithm
        infinity polynomial radius diameter""".split()
    ),
    "coding": frozenset(
        """code coding program programming python java javascript html css sql function def
        return class import int float string str bool boolean array dict loop var let
        const null none true false self print printf console api json http url server
        database query select debug compile compiler method object struct async await
        lambda github git npm pip module library typescript php ruby rust golang bash
        linux""".split()
    ),
    "translation": frozenset(
        """translate translation translator translated language languages english french
        spanish german chinese japanese korean italian portuguese russian arabic hindi
        dutch latin greek bilingual multilingual foreign dialect le la les et est der die
        das und ist el los las y es que il per sont nicht""".split()
    ),
}

#: Surface patterns that count for a task without a lexicon entry: numbers and operators
#: for math, identifiers (snake_case, camelCase, dotted, called) for coding, non-ASCII
#: letters (another script or accented spelling) for translation.
TASK_PATTERNS: dict[str, re.Pattern] = {
    "math": re.compile(r"^(?:[+\-*/=^<>%]+|[+\-]?\d+(?:[.,]\d+)*%?)$"),
    "coding": re.compile(
        r"^(?:[a-z]+_[a-z0-9_]+|_+\w+|[a-z]+[A-Z]\w*|\w+\.\w+|\w+\(\)?|[{}\[\];]+|[=!<>]=)$"
    ),
    "translation": re.compile(r"[^\x00-\x7f]"),
}

#: Function words: closed-class words whose concepts are syntactic.
FUNCTION_WORDS = frozenset(
    """the a an and or but nor if of to in on at by for with from as is are was were be been
    being am it its this that these those he she they we you i me him her them us my your
    his their our not no so than then there here which who whom whose what when where why
    how do does did have has had will would shall should can could may might must about
    into over under after before between through during without within upon all any some
    each every both either neither such very also just only too""".split()
)

#: Semantic fields beyond the task lexicons: a list of words drawn mostly from one field is
#: semantically coherent.
SEMANTIC_FIELDS: dict[str, frozenset[str]] = {
    "colour": frozenset(
        "red blue green yellow purple orange pink brown black white grey gray violet".split()
    ),
    "time": frozenset(
        """day days week weeks month months year years hour hours minute minutes second
        morning evening night today tomorrow yesterday monday tuesday wednesday thursday
        friday saturday sunday january february march april may june july august
        september october november december""".split()
    ),
    "family": frozenset(
        """mother father mom dad parent parents sister brother son daughter child children
        wife husband family uncle aunt cousin grandmother grandfather baby""".split()
    ),
    "body": frozenset(
        """head hand hands arm arms leg legs foot feet eye eyes ear ears mouth nose face
        heart skin hair finger fingers neck shoulder knee stomach brain blood""".split()
    ),
    "food": frozenset(
        """food eat bread rice meat fish chicken beef pork apple banana fruit vegetable
        vegetables cheese milk egg eggs cake sugar salt soup coffee tea pizza dinner lunch
        breakfast cook cooking recipe""".split()
    ),
    "animal": frozenset(
        """animal animals dog dogs cat cats horse cow bird birds fish lion tiger bear wolf
        mouse rabbit snake sheep pig duck monkey elephant insect""".split()
    ),
    "emotion": frozenset(
        """happy sad angry fear afraid joy love hate anxious anxiety calm excited proud
        shame guilt lonely grief hope worried upset glad emotion emotions feeling""".split()
    ),
    "place": frozenset(
        """city cities country countries town village state nation capital street road
        river mountain ocean sea island continent europe asia africa america london paris
        china india""".split()
    ),
    "money": frozenset(
        """money price prices cost costs pay paid dollar dollars euro bank market stock
        stocks invest investment budget tax taxes income profit loan credit""".split()
    ),
    "health": frozenset(
        """health disease diseases doctor doctors patient patients hospital medicine drug
        drugs symptom symptoms treatment therapy cancer virus infection pain nurse""".split()
    ),
}

#: English derivational and inflectional affixes (longest first, so "ies" wins over "s").
SUFFIXES = (
    "ation", "tion", "sion", "ness", "ment", "able", "ible", "less", "ship", "ing", "ful",
    "ous", "ive", "ize", "ise", "ity", "ism", "ist", "ies", "est", "ed", "ly", "er", "al",
    "es", "s",
)  # fmt: skip
PREFIXES = (
    "inter", "under", "over", "anti", "dis", "mis", "non", "pre", "sub", "un", "re", "im",
    "in",
)  # fmt: skip


def value_vectors(down_proj_weight: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Value vectors of a feed-forward layer, one row per neuron.

    Parameters
    ----------
    down_proj_weight
        ``(hidden, intermediate)``: ``nn.Linear`` stores ``(out_features, in_features)``.

    Returns
    -------
    torch.Tensor
        ``(intermediate, hidden)`` float32: row ``j`` is what neuron ``j`` adds to the
        residual stream per unit of activation.
    """
    return torch.as_tensor(down_proj_weight).detach().float().T


def principal_components(
    W: torch.Tensor | np.ndarray,
    R: int = 300,
    seed: int = 0,
    n_oversamples: int | None = None,
    n_iter: int = 12,
    device: str | torch.device | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top principal components of the rows of ``W`` and their explained-variance ratios.

    Randomised subspace iteration on the Gram matrix of the centred rows ``Wc`` (the
    smaller of ``Wc^T Wc`` and ``Wc Wc^T``), orthonormalised by Cholesky QR, then
    Rayleigh-Ritz on the projection of ``Wc`` itself. One Gram product costs about three
    power iterations on ``Wc``, after which every iteration is a small
    ``(m, m) @ (m, R + n_oversamples)`` product, and each counts as two powers of
    ``Wc``; that buys the iterations a flat spectrum such as a random matrix's needs
    (seconds for an 11008 x 4096 layer, see ``benchmarks/bench_internals.py``). When
    ``R + n_oversamples`` reaches ``min(n, hidden)`` a full SVD is used, exact.

    Parameters
    ----------
    W
        ``(n, hidden)`` rows to decompose (value vectors: ``n`` = neurons).
    R
        Number of components, ``1 <= R <= min(n, hidden)``. The paper uses 300.
    seed
        Seed of the random starting block; the result is deterministic given it.
    n_oversamples
        Extra columns of the iterated block; default ``R``.
    n_iter
        Subspace iterations after the first product.
    device
        Where to compute (default: ``W``'s device).

    Returns
    -------
    components : numpy.ndarray
        ``(R, hidden)`` float32, orthonormal rows, largest variance first; each row's
        sign makes its largest-magnitude entry positive, so reruns agree exactly.
    evr : numpy.ndarray
        ``(R,)`` float64: variance along each component divided by the *total* variance
        of the centred rows (squared Frobenius norm), not by the top-R sum.
    """
    A = torch.as_tensor(W).detach().to(device=device, dtype=torch.float32)
    n, hidden = A.shape
    if not 0 < R <= min(n, hidden):
        raise ValueError(f"R={R} components asked of a {n} x {hidden} matrix")
    A = A - A.mean(dim=0, keepdim=True)
    total = float(torch.linalg.vector_norm(A, dtype=torch.float64) ** 2)
    block = min(n, hidden, R + (R if n_oversamples is None else n_oversamples))
    if block >= min(n, hidden):
        # The block would span everything: a full SVD is exact and no dearer.
        _, singular, vh = torch.linalg.svd(A, full_matrices=False)
        return _finish(vh[:R], singular[:R], total)
    gram_of_columns = hidden <= n
    C = A.T @ A if gram_of_columns else A @ A.T
    generator = torch.Generator(device=C.device).manual_seed(seed)
    start = torch.randn(C.shape[0], block, generator=generator, device=C.device)
    Q = _orthonormalise(C @ start)
    for _ in range(n_iter):
        Q = _orthonormalise(C @ Q)
    Q = _orthonormalise(Q)  # a second pass (CholeskyQR2) makes Q orthonormal to rounding
    # Rayleigh-Ritz on A's projection B, in float64: the block's Gram matrix is small.
    B = A @ Q if gram_of_columns else Q.T @ A
    B64 = B.double()
    eigenvalues, W = torch.linalg.eigh(B64.T @ B64 if gram_of_columns else B64 @ B64.T)
    top = torch.arange(block - 1, block - 1 - R, -1, device=W.device)
    singular = eigenvalues[top].clamp_min(0.0).sqrt()
    W = W[:, top].to(A.dtype)
    if gram_of_columns:
        components = (Q @ W).T
    else:
        # Right singular vectors are B^T w / s; normalising the rows instead of dividing
        # by s also copes with zero singular values.
        components = torch.nn.functional.normalize(W.T @ B, dim=1)
    return _finish(components, singular, total)


def _orthonormalise(Y: torch.Tensor) -> torch.Tensor:
    """An orthonormal basis of the columns of tall ``Y`` by Cholesky QR.

    ``Y^T Y = R^T R`` in float64, then ``Y R^-1``: two matrix products instead of a
    Householder QR, which is several times slower on a few CPU cores. Falls back to
    Householder QR if ``Y^T Y`` is not numerically positive definite.
    """
    Y64 = Y.double()
    R, info = torch.linalg.cholesky_ex(Y64.T @ Y64, upper=True)
    if int(info) != 0:
        return torch.linalg.qr(Y)[0]
    return torch.linalg.solve_triangular(R.to(Y.dtype), Y, upper=True, left=False)


def _finish(
    components: torch.Tensor, singular: torch.Tensor, total: float
) -> tuple[np.ndarray, np.ndarray]:
    """Fix each component's sign (largest-magnitude entry positive) and form the ratios."""
    largest = components.abs().argmax(dim=1)
    signs = torch.sign(components.gather(1, largest[:, None]))
    components = components * torch.where(signs == 0, 1.0, signs)
    variance = singular.double().cpu().numpy() ** 2
    evr = variance / total if total > 0 else np.zeros_like(variance)
    return components.contiguous().cpu().numpy(), evr


def ffn_components(
    modules: ModelModules,
    R: int = 300,
    seed: int = 0,
    layers: Sequence[int] | None = None,
    device: str | torch.device | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Principal components of every layer's value vectors, one layer at a time.

    Parameters
    ----------
    modules
        From :func:`readalike.vocabulary.modules_of`.
    R, seed, device
        As in :func:`principal_components` (the same seed for every layer).
    layers
        Layer indices (default: all).

    Returns
    -------
    components : numpy.ndarray
        ``(n_selected_layers, R, hidden)`` float32.
    evr : numpy.ndarray
        ``(n_selected_layers, R)`` float64.
    """
    layers = range(modules.n_layers) if layers is None else layers
    components, ratios = [], []
    for layer in tqdm(layers, desc="FFN principal components", unit="layer"):
        weight = modules.layers[layer].down_proj.weight
        comp, evr = principal_components(value_vectors(weight), R=R, seed=seed, device=device)
        components.append(comp)
        ratios.append(evr)
        logger.debug("layer %d: top-%d components explain %.3f", layer, R, evr.sum())
    return np.stack(components), np.stack(ratios)


def top_words(
    components: torch.Tensor | np.ndarray,
    word_vecs: torch.Tensor | np.ndarray,
    words: Sequence[str],
    k: int = 50,
    chunk_rows: int = 1024,
) -> tuple[np.ndarray, np.ndarray]:
    """The vocabulary words each component points to most, by ``|component . word|``.

    Parameters
    ----------
    components
        ``(..., R, hidden)`` unit vectors (any leading shape, e.g. layers).
    word_vecs
        ``(n_words, hidden)`` word vectors, L2-normalised (the paper: mean of the
        sub-tokens' *output* embedding rows), so the score is a cosine.
    words
        ``n_words`` words in the rows' order.
    k
        Words per component (the paper: 50).
    chunk_rows
        Components scored at once; bounds the ``(chunk_rows, n_words)`` score block.

    Returns
    -------
    top : numpy.ndarray
        ``(..., R, k)`` object array of words, best first.
    scores : numpy.ndarray
        ``(..., R, k)`` float32 absolute cosines, non-increasing along the last axis.
    """
    comps = torch.as_tensor(components).float()
    E = torch.as_tensor(word_vecs).float().to(comps.device)
    if E.shape[0] != len(words):
        raise ValueError(f"{E.shape[0]} word vectors for {len(words)} words")
    k = min(k, len(words))
    flat = comps.reshape(-1, comps.shape[-1])
    indices, scores = [], []
    for start in range(0, flat.shape[0], chunk_rows):
        block = (flat[start : start + chunk_rows] @ E.T).abs()
        best = torch.topk(block, k, dim=1)
        indices.append(best.indices.cpu())
        scores.append(best.values.cpu())
    index = torch.cat(indices).numpy()
    word_array = np.asarray(words, dtype=object)
    shape = (*comps.shape[:-1], k)
    return word_array[index].reshape(shape), torch.cat(scores).numpy().reshape(shape)


def _suffix(word: str) -> str | None:
    """The affix-table suffix a word carries on a stem of 3+ letters, if any."""
    for suffix in SUFFIXES:
        if len(word) >= len(suffix) + 3 and word.endswith(suffix):
            # Plural "s" only after a non-"s" letter: "class" is no plural.
            return None if suffix == "s" and word.endswith("ss") else suffix
    return None


def _prefix(word: str) -> str | None:
    """The affix-table prefix a word carries on a stem of 3+ letters, if any."""
    for prefix in PREFIXES:
        if len(word) >= len(prefix) + 3 and word.startswith(prefix):
            return prefix
    return None


_VOWEL_RUNS = re.compile(r"[aeiouy]+")


def _rime(word: str) -> str | None:
    """The rime: from the last vowel sound to the end ("light" -> "ight", "cake" -> "ake")."""
    # A final silent "e" after a consonant belongs to the rime of the vowel before it.
    body = word[:-1] if len(word) > 3 and word.endswith("e") and word[-2] not in "aeiouy" else word
    runs = list(_VOWEL_RUNS.finditer(body))
    if not runs:
        return None
    rime = word[runs[-1].start() :]
    return rime if len(rime) >= 2 else None


def _affix_count(alpha: list[str]) -> int:
    """Most words sharing one suffix or one prefix."""
    counts = Counter(f"-{_suffix(word)}" for word in alpha if _suffix(word))
    counts.update(f"{_prefix(word)}-" for word in alpha if _prefix(word))
    return max(counts.values(), default=0)


def _sound_count(alpha: list[str]) -> int:
    """Most words sharing a rime or a two-letter onset that no affix explains."""
    rimes = Counter(_rime(word) for word in alpha if not _suffix(word) and _rime(word))
    onsets = Counter(word[:2] for word in alpha if len(word) >= 3 and not _prefix(word))
    return max([*rimes.values(), *onsets.values()], default=0)


def label_component(
    top_words: Sequence[str],
    task_threshold: float = 0.2,
    syntax_threshold: float = 0.3,
    affix_threshold: float = 0.4,
    sound_threshold: float = 0.4,
    semantic_threshold: float = 0.2,
) -> tuple[str, str]:
    """Label a concept from its top words with a task and a linguistic level.

    A deterministic stand-in for the paper's ChatGPT annotation. Shares are fractions
    of all given words (normally 50); words are lowercased first.

    Task: the share of words in each task's lexicon (:data:`TASK_LEXICONS`) or matching
    its surface pattern (:data:`TASK_PATTERNS`: numbers and operators for math,
    identifiers for coding, non-ASCII letters for translation). The task with the
    largest share wins if that share is at least ``task_threshold`` (ties: the order of
    :data:`TASKS`); otherwise ``"none"``.

    Level, the first rule that fires, in this order:

    1. ``syntax``: function words (:data:`FUNCTION_WORDS`) and pure punctuation tokens
       make up at least ``syntax_threshold``;
    2. ``morphology``: one affix (:data:`SUFFIXES`, :data:`PREFIXES`, stem of 3+
       letters) is shared by at least ``affix_threshold`` of the words;
    3. ``phonology``: a rime (last vowel to the end: "light" -> "ight") of words
       without a suffix, or an onset (first two letters) of words without a prefix, is
       shared by at least ``sound_threshold`` (rhyme, alliteration);
    4. ``semantics``: one semantic field (a task lexicon or :data:`SEMANTIC_FIELDS`)
       holds at least ``semantic_threshold``, or the task is not ``"none"``;
    5. otherwise ``"cannot tell"``.

    Parameters
    ----------
    top_words
        The component's top words, best first (any number, at least one).

    Returns
    -------
    (task, level)
        ``task`` in :data:`TASKS`, ``level`` in :data:`LEVELS`.
    """
    pairs = [(word.strip(), word.strip().lower()) for word in top_words]
    pairs = [(original, lower) for original, lower in pairs if lower]
    if not pairs:
        raise ValueError("label_component needs at least one non-empty word")
    lowered = [lower for _, lower in pairs]
    n = len(pairs)

    task_share = {}
    for task, lexicon in TASK_LEXICONS.items():
        pattern = TASK_PATTERNS.get(task)
        # Patterns test the original spelling: camelCase needs its capitals.
        hits = sum(
            lower in lexicon or (pattern is not None and pattern.search(original) is not None)
            for original, lower in pairs
        )
        task_share[task] = hits / n
    best_task = max(TASKS[:-1], key=lambda task: task_share[task])
    task = best_task if task_share[best_task] >= task_threshold else "none"

    alpha = [word for word in lowered if word.isalpha()]
    syntactic = sum(
        word in FUNCTION_WORDS or not any(char.isalnum() for char in word) for word in lowered
    )
    if syntactic / n >= syntax_threshold:
        return task, "syntax"
    if _affix_count(alpha) / n >= affix_threshold:
        return task, "morphology"
    if _sound_count(alpha) / n >= sound_threshold:
        return task, "phonology"
    fields = [*TASK_LEXICONS.values(), *SEMANTIC_FIELDS.values()]
    field_share = max(sum(word in field for word in lowered) for field in fields) / n
    if field_share >= semantic_threshold or task != "none":
        return task, "semantics"
    return task, "cannot tell"


def concept_table(
    components: np.ndarray,
    evr: np.ndarray,
    word_vecs: torch.Tensor | np.ndarray,
    words: Sequence[str],
    k: int = 50,
    layers: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Top words and labels of every component of every layer, as a tidy table.

    Parameters
    ----------
    components
        ``(n_layers, R, hidden)`` from :func:`ffn_components`.
    evr
        ``(n_layers, R)``.
    word_vecs, words, k
        As in :func:`top_words`.
    layers
        The model layer index of each row of ``components`` (default ``0..n_layers-1``).

    Returns
    -------
    pandas.DataFrame
        One row per (layer, component): ``layer``, ``component`` (0 = largest variance),
        ``evr``, ``top_words`` (space-separated, best first; vocabulary words hold no
        whitespace), ``task``, ``level``.
    """
    n_layers, R = evr.shape
    layers = np.arange(n_layers) if layers is None else np.asarray(layers)
    top, _ = top_words(components, word_vecs, words, k=k)
    labels = [label_component(row) for row in top.reshape(-1, top.shape[-1])]
    return pd.DataFrame(
        {
            "layer": np.repeat(layers, R),
            "component": np.tile(np.arange(R), n_layers),
            "evr": evr.reshape(-1),
            "top_words": [" ".join(row) for row in top.reshape(-1, top.shape[-1])],
            "task": [task for task, _ in labels],
            "level": [level for _, level in labels],
        }
    )


def depth_groups(
    layers: np.ndarray | Sequence[int], n_layers: int, n_groups: int = 4
) -> np.ndarray:
    """Group of each layer when the depth is cut into ``n_groups`` equal parts.

    ``group = floor(n_groups * layer / n_layers)``: quarters by default, for any depth
    (32 layers: 0-7, 8-15, ...; 30 layers: 0-7, 8-14, 15-22, 23-29).

    Returns
    -------
    numpy.ndarray
        Same shape as ``layers``, int64 in ``0..n_groups-1``.
    """
    layers = np.asarray(layers, dtype=np.int64)
    if layers.size and (layers.min() < 0 or layers.max() >= n_layers):
        raise ValueError(f"layer indices must lie in 0..{n_layers - 1}")
    return (n_groups * layers) // n_layers


def is_explainable(labels_df: pd.DataFrame) -> pd.Series:
    """A component is explainable if it has a task or a linguistic level."""
    return (labels_df["task"] != "none") | (labels_df["level"] != "cannot tell")


def concept_shares(
    labels_df: pd.DataFrame, layer_groups: Mapping[int, Hashable] | Sequence[Hashable]
) -> pd.DataFrame:
    """Share of each task and level among the explainable components of groups of layers.

    Parameters
    ----------
    labels_df
        One model's labels, columns ``layer``, ``task``, ``level`` (:func:`concept_table`).
    layer_groups
        Group label of each layer: a mapping ``layer -> group`` or a sequence indexed by
        layer (e.g. :func:`depth_groups` of ``range(n_layers)``).

    Returns
    -------
    pandas.DataFrame
        One row per (layer_group, dimension, category), every category of
        :data:`TASKS` (dimension ``task``) and :data:`LEVELS` (dimension ``level``)
        present, zero counts included: ``layer_group``, ``dimension``, ``category``,
        ``count``, ``n_explainable``, ``n_components``, ``share`` (= count /
        n_explainable; NaN where a group has no explainable component). Within a group
        and dimension the shares sum to 1.
    """
    groups = labels_df["layer"].map(lambda layer: layer_groups[int(layer)])
    table = labels_df.assign(layer_group=groups.to_numpy(), explainable=is_explainable(labels_df))
    rows = []
    for group, part in table.groupby("layer_group", sort=True):
        explained = part[part["explainable"]]
        for dimension, categories in (("task", TASKS), ("level", LEVELS)):
            counts = explained[dimension].value_counts()
            for category in categories:
                count = int(counts.get(category, 0))
                rows.append(
                    {
                        "layer_group": group,
                        "dimension": dimension,
                        "category": category,
                        "count": count,
                        "n_explainable": len(explained),
                        "n_components": len(part),
                        "share": count / len(explained) if len(explained) else math.nan,
                    }
                )
    return pd.DataFrame(rows)


def concept_shift(base_df: pd.DataFrame, tuned_df: pd.DataFrame) -> pd.DataFrame:
    """How instruction tuning shifted the concept shares, group by group.

    The rule-based labeller is deterministic, so there are no labelling runs to test
    across (the paper's t-test over five ChatGPT seeds does not apply): the table gives
    the shares and their difference.

    Parameters
    ----------
    base_df, tuned_df
        :func:`concept_shares` of the pre-trained and of the tuned model.

    Returns
    -------
    pandas.DataFrame
        ``layer_group``, ``dimension``, ``category``, ``share_base``, ``share_tuned``,
        ``difference`` (tuned - base), one row per key of either input.
    """
    keys = ["layer_group", "dimension", "category"]
    merged = pd.merge(
        base_df[[*keys, "share"]].rename(columns={"share": "share_base"}),
        tuned_df[[*keys, "share"]].rename(columns={"share": "share_tuned"}),
        on=keys,
        how="outer",
        sort=False,
    )
    merged["difference"] = merged["share_tuned"] - merged["share_base"]
    # Tasks before levels, categories in the order of TASKS and LEVELS.
    order = {name: i for i, name in enumerate(("task", "level", *TASKS, *LEVELS))}
    merged = merged.sort_values(
        keys, key=lambda col: col if col.name == "layer_group" else col.map(order)
    )
    return merged.reset_index(drop=True)


def subspace_similarity(
    components_base: torch.Tensor | np.ndarray, components_tuned: torch.Tensor | np.ndarray
) -> float | np.ndarray:
    """Mean cosine of the principal angles between two component subspaces.

    Not in the paper: a single number for "how much of a layer's concept subspace
    survived tuning", independent of the order and sign of the components. 1 = the same
    subspace, 0 = orthogonal subspaces.

    Parameters
    ----------
    components_base
        ``(..., R_a, hidden)``: rows span the subspace (need not be orthonormal).
    components_tuned
        ``(..., R_b, hidden)`` with the same leading shape (e.g. layers).

    Returns
    -------
    float or numpy.ndarray
        The mean over the ``min(R_a, R_b)`` principal angles; an array of the leading
        shape when there is one.
    """
    a = torch.as_tensor(components_base).double()
    b = torch.as_tensor(components_tuned).double()
    Qa, _ = torch.linalg.qr(a.transpose(-1, -2))
    Qb, _ = torch.linalg.qr(b.transpose(-1, -2))
    # The singular values of Qa^T Qb are the cosines of the principal angles.
    cosines = torch.linalg.svdvals(Qa.transpose(-1, -2) @ Qb).clamp(0.0, 1.0)
    mean = cosines.mean(dim=-1).numpy()
    return float(mean) if mean.ndim == 0 else mean
