"""Rule-based labels of feed-forward concepts, and their shares by depth.

A deterministic stand-in for the ChatGPT annotation of arXiv 2310.00492: each concept (a
principal component of a layer's value vectors, :mod:`readalike.study_b.ffn_concepts`) is read by
its top words and labelled with a task (writing, math, coding, translation, none) and a
linguistic level (phonology, morphology, syntax, semantics, cannot tell) by
:func:`label_component`, with the keyword lexicons shipped here. Being deterministic, it
has no run-to-run spread: :func:`concept_shift` reports shares and their differences, not
the authors' t-test across labelling runs. Shares are taken among *explainable*
components only (task other than ``none`` or level other than ``cannot tell``); the
authors divided by all components.

Needs no torch: the labels and the base-versus-tuned tables are plain Python and pandas.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import pandas as pd

from readalike.core.depth import depth_quarter

#: Task categories, in the order that breaks ties.
TASKS = ("writing", "math", "coding", "translation", "none")
#: Linguistic levels, in the order the labeller tests them (first rule that fires wins).
LINGUISTIC_LEVELS = ("syntax", "morphology", "phonology", "semantics", "cannot tell")

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
        ``task`` in :data:`TASKS`, ``level`` in :data:`LINGUISTIC_LEVELS`.
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


def is_explainable(labels_df: pd.DataFrame) -> pd.Series:
    """A component is explainable if it has a task or a linguistic level."""
    return (labels_df["task"] != "none") | (labels_df["level"] != "cannot tell")


def concept_shares(labels_df: pd.DataFrame, n_layers: int) -> pd.DataFrame:
    """Share of each task and level among the explainable components of each depth quarter.

    Parameters
    ----------
    labels_df
        One model's labels, columns ``layer``, ``task``, ``level`` (:func:`label_component`
        of every component: :func:`readalike.study_b.ffn_concepts.concept_table`).
    n_layers
        The model's depth; layers are grouped by :func:`readalike.core.depth.depth_quarter`.

    Returns
    -------
    pandas.DataFrame
        One row per (depth_quarter, dimension, category) of a quarter that holds layers,
        every category of :data:`TASKS` (dimension ``task``) and :data:`LINGUISTIC_LEVELS`
        (dimension ``level``) present, zero counts included: ``depth_quarter``,
        ``dimension``, ``category``, ``count``, ``n_explainable``, ``n_components``,
        ``share`` (= count / n_explainable; NaN where a quarter has no explainable
        component). Within a quarter and dimension the shares sum to 1.
    """
    quarters = depth_quarter(labels_df["layer"].to_numpy(), n_layers)
    table = labels_df.assign(depth_quarter=quarters, explainable=is_explainable(labels_df))
    rows = []
    for group, part in table.groupby("depth_quarter", sort=True):
        explained = part[part["explainable"]]
        for dimension, categories in (("task", TASKS), ("level", LINGUISTIC_LEVELS)):
            counts = explained[dimension].value_counts()
            for category in categories:
                count = int(counts.get(category, 0))
                rows.append(
                    {
                        "depth_quarter": group,
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
    """How instruction tuning shifted the concept shares, quarter by quarter.

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
        ``depth_quarter``, ``dimension``, ``category``, ``share_base``, ``share_tuned``,
        ``difference`` (tuned - base), one row per key of either input.
    """
    keys = ["depth_quarter", "dimension", "category"]
    merged = pd.merge(
        base_df[[*keys, "share"]].rename(columns={"share": "share_base"}),
        tuned_df[[*keys, "share"]].rename(columns={"share": "share_tuned"}),
        on=keys,
        how="outer",
        sort=False,
    )
    merged["difference"] = merged["share_tuned"] - merged["share_base"]
    # Tasks before levels, categories in the order of TASKS and LINGUISTIC_LEVELS.
    order = {name: i for i, name in enumerate(("task", "level", *TASKS, *LINGUISTIC_LEVELS))}
    merged = merged.sort_values(
        keys, key=lambda col: col if col.name == "depth_quarter" else col.map(order)
    )
    return merged.reset_index(drop=True)


def concept_shift_table(
    concepts_base: pd.DataFrame,
    concepts_tuned: pd.DataFrame,
    model_base: str,
    model_tuned: str,
    n_layers: int | None = None,
) -> pd.DataFrame:
    """Shares of tasks and levels per depth quarter, base versus tuned.

    Parameters
    ----------
    concepts_base, concepts_tuned
        Per-model concept tables (columns ``layer``, ``task``, ``level``).
    model_base, model_tuned
        Names written into the table.
    n_layers
        The models' depth; ``None``: the largest layer index + 1 (both must agree).

    Returns
    -------
    pandas.DataFrame
        ``model_base``, ``model_tuned``, then :func:`concept_shift`'s ``depth_quarter``,
        ``dimension``, ``category``, ``share_base``, ``share_tuned``, ``difference``.
    """
    if n_layers is None:
        n_layers = int(concepts_base["layer"].max()) + 1
        n_tuned = int(concepts_tuned["layer"].max()) + 1
        if n_tuned != n_layers:
            raise ValueError(
                f"{model_base!r} has {n_layers} layers, {model_tuned!r} {n_tuned}: compare "
                "models of one architecture"
            )
    shift = concept_shift(
        concept_shares(concepts_base, n_layers), concept_shares(concepts_tuned, n_layers)
    )
    shift.insert(0, "model_tuned", model_tuned)
    shift.insert(0, "model_base", model_base)
    return shift
