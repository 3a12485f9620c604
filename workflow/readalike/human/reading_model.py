"""A seeded stochastic model of readers' eye movements, producing fixation tables.

Simulated readers stand in for eye-tracking data where none is at hand (the demo, tests).
They produce fixations in the very format of real data (see :mod:`readalike.human.saccades`),
so they go through the same :func:`readalike.human.saccades.saccade_matrices` path; every file
made from them is marked ``synthetic``.

The model is deliberately simple and makes no claim to predict human data: a reader moves
through a sentence word by word; each word to the right may be skipped, each fixated word
may be refixated, and each word reached for the first time may launch a regression 1-3
words back, after which reading goes on forward from where it landed. Word length and
corpus frequency drive skipping, refixations and fixation durations in the directions
long established in eye-movement research (reviewed by Rayner, 1998, *Psychological
Bulletin*): short and frequent words are skipped more often, long words are refixated
more often, and fixations are longer on long and rare words.

Two profiles are provided. Readers in a second language (L2) show, compared with native
(L1) readers of the same text, more and longer fixations, fewer skipped words, more
regressions and more refixations, and larger word-frequency effects; this pattern is
consistent across eye-tracking comparisons of L1 and L2 reading, for instance the
bilingual and monolingual readers of the same novel in the GECO corpus (Cop, Drieghe &
Duyck, 2015, *PLoS ONE*). The default parameters reproduce those directions with
magnitudes of the usual order (L1: about a third of words skipped, 10-15% of saccades
regressive, mean fixations of 200-250 ms); they are not fitted to any data set.

Word properties
---------------
*Length* is the number of characters left after lowercasing and stripping punctuation
(at least 1). *Frequency* is the word's count in the stimulus corpus itself (same
normalisation), used as the z-score of its log count over the corpus's tokens: the
stimuli are the only text at hand, and standardising keeps the slopes' meaning the same
on a 30-sentence demo and on a full corpus.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import math
import os
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from readalike.core.outputs import atomic_path
from readalike.core.stimuli import Stimuli
from readalike.human.saccades import FIXATION_COLUMNS

log = logging.getLogger(__name__)

#: Word length (characters) at which the ``*_base`` parameters of a profile apply: close
#: to the mean length of English words in running text.
REFERENCE_LENGTH = 5

_NOT_WORD = re.compile(r"[^\w]+")


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass(frozen=True)
class ReaderProfile:
    """Parameters of one simulated reader population.

    Probabilities called ``*_base`` hold for a word of :data:`REFERENCE_LENGTH`
    characters and average corpus log frequency (z-score 0); slopes act on the logit of
    the probability so that it stays in (0, 1) for any word.

    Parameters
    ----------
    skip_base
        Probability of skipping a reference word on the way forward. Skipping is the main
        source of forward saccades longer than one word.
    skip_length_slope
        Increase of the skip logit per character *shorter* than the reference: short words
        are identified in parafoveal vision and skipped more.
    skip_frequency_slope
        Increase of the skip logit per standard deviation of log corpus frequency:
        frequent words are identified faster and skipped more.
    max_skip
        Most words skipped in a row; the word after is fixated. Forward saccades beyond
        three words are rare in reading, as acuity limits what can be identified ahead.
    regression_prob
        Probability that a word fixated for the first time (and not the sentence's first)
        launches a regression, i.e. a saccade back to an earlier word.
    regression_distance
        Probabilities of a regression going back 1, 2 or 3 words (clipped at the first
        word); short regressions dominate, as most repair a local misreading.
    refixation_base
        Probability of a second fixation on a reference word during one visit.
    refixation_length_slope
        Increase of the refixation logit per character *longer* than the reference: a
        long word does not fit into the area seen sharply in one fixation.
    duration_mean
        Mean fixation duration in ms on a reference word.
    duration_length_slope
        Increase of the mean duration in ms per character longer than the reference.
    duration_frequency_slope
        Decrease of the mean duration in ms per standard deviation of log corpus
        frequency (the word-frequency effect on lexical access time).
    duration_shape
        Shape ``k`` of the gamma distribution of durations around the mean: coefficient
        of variation ``1 / sqrt(k)``, right-skewed like real fixation durations.
    duration_min
        Shortest duration in ms, both for a word's mean and for a drawn fixation: eye
        trackers' preprocessing usually drops or merges fixations shorter than this.
    """

    skip_base: float
    skip_length_slope: float
    skip_frequency_slope: float
    max_skip: int
    regression_prob: float
    regression_distance: tuple[float, float, float]
    refixation_base: float
    refixation_length_slope: float
    duration_mean: float
    duration_length_slope: float
    duration_frequency_slope: float
    duration_shape: float
    duration_min: float

    def __post_init__(self) -> None:
        for name in ("skip_base", "refixation_base"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise ValueError(f"ReaderProfile.{name} must lie in (0, 1)")
        if not 0.0 <= self.regression_prob < 1.0:
            raise ValueError("ReaderProfile.regression_prob must lie in [0, 1)")
        if self.max_skip < 0:
            raise ValueError("ReaderProfile.max_skip must be >= 0")
        if len(self.regression_distance) != 3 or min(self.regression_distance) < 0:
            raise ValueError("ReaderProfile.regression_distance: three probabilities >= 0")
        if not math.isclose(sum(self.regression_distance), 1.0, abs_tol=1e-9):
            raise ValueError("ReaderProfile.regression_distance must sum to 1")
        if self.duration_shape <= 0 or self.duration_min <= 0 or self.duration_mean <= 0:
            raise ValueError("ReaderProfile: duration parameters must be positive")

    def skip_probability(self, length: np.ndarray, frequency_z: np.ndarray) -> np.ndarray:
        """Probability of skipping each word, ``(n,)`` from ``(n,)`` lengths and z-scores."""
        logit = (
            _logit(self.skip_base)
            + self.skip_length_slope * (REFERENCE_LENGTH - length)
            + self.skip_frequency_slope * frequency_z
        )
        return _sigmoid(logit)

    def refixation_probability(self, length: np.ndarray) -> np.ndarray:
        """Probability of refixating each word during a visit, ``(n,)`` from ``(n,)``."""
        logit = _logit(self.refixation_base) + self.refixation_length_slope * (
            length - REFERENCE_LENGTH
        )
        return _sigmoid(logit)

    def mean_duration(self, length: np.ndarray, frequency_z: np.ndarray) -> np.ndarray:
        """Mean fixation duration in ms on each word, ``(n,)``, at least ``duration_min``."""
        mean = (
            self.duration_mean
            + self.duration_length_slope * (length - REFERENCE_LENGTH)
            - self.duration_frequency_slope * frequency_z
        )
        return np.maximum(mean, self.duration_min)


#: Default populations: ``native`` (L1) and ``nonnative`` (L2) readers of English.
PROFILES: dict[str, ReaderProfile] = {
    "native": ReaderProfile(
        skip_base=0.25,
        skip_length_slope=0.45,
        skip_frequency_slope=0.60,
        max_skip=2,
        regression_prob=0.14,
        regression_distance=(0.6, 0.3, 0.1),
        refixation_base=0.10,
        refixation_length_slope=0.25,
        duration_mean=215.0,
        duration_length_slope=8.0,
        duration_frequency_slope=12.0,
        duration_shape=6.0,
        duration_min=60.0,
    ),
    # L2: fewer skips, more regressions and refixations, longer fixations, and stronger
    # length and frequency effects on duration (less practised word recognition).
    "nonnative": ReaderProfile(
        skip_base=0.12,
        skip_length_slope=0.45,
        skip_frequency_slope=0.60,
        max_skip=2,
        regression_prob=0.26,
        regression_distance=(0.5, 0.35, 0.15),
        refixation_base=0.20,
        refixation_length_slope=0.30,
        duration_mean=255.0,
        duration_length_slope=12.0,
        duration_frequency_slope=20.0,
        duration_shape=5.0,
        duration_min=60.0,
    ),
}


def normalise_word(word: str) -> str:
    """Lowercase a word and strip punctuation, for counting frequencies and length."""
    return _NOT_WORD.sub("", word.lower())


def word_table(stimuli: Stimuli) -> pd.DataFrame:
    """Length and corpus frequency of every word of the stimuli.

    Returns
    -------
    pandas.DataFrame
        One row per word token in stimulus order, columns ``article``, ``sentence``,
        ``word`` (0-based indices), ``text`` (as shown), ``length`` (characters after
        :func:`normalise_word`, at least 1), ``count`` (occurrences of the normalised word
        in the stimuli) and ``frequency_z`` (z-score of ``log(count)`` over all tokens; 0
        where every token has the same count).
    """
    rows = [
        (a, s, w, text)
        for a, article in enumerate(stimuli)
        for s, words in enumerate(article)
        for w, text in enumerate(words)
    ]
    table = pd.DataFrame(rows, columns=["article", "sentence", "word", "text"])
    normalised = table["text"].map(normalise_word)
    counts = Counter(normalised)
    table["length"] = np.maximum(normalised.str.len().to_numpy(), 1)
    table["count"] = normalised.map(counts).to_numpy(dtype=np.int64)
    log_count = np.log(table["count"].to_numpy(dtype=np.float64))
    spread = log_count.std()
    table["frequency_z"] = (log_count - log_count.mean()) / spread if spread > 0 else 0.0
    return table


def _read_sentence(
    p_skip: list[float],
    p_refix: list[float],
    profile: ReaderProfile,
    cumulative_distance: list[float],
    random,
) -> list[int]:
    """The fixated words, in order, of one reader's pass through one sentence."""
    n = len(p_skip)

    def forward(pos: int) -> int:
        target, skipped = pos + 1, 0
        while target < n and skipped < profile.max_skip and random() < p_skip[target]:
            target += 1
            skipped += 1
        return target

    fixations: list[int] = []
    # Landing on a new line skips words like any forward saccade, but a sentence always
    # receives at least one fixation (every reader reads every sentence).
    pos = min(forward(-1), n - 1)
    frontier = -1
    while pos < n:
        fixations.append(pos)
        if random() < p_refix[pos]:
            fixations.append(pos)
        # Regressions are launched only from words reached for the first time: most leave
        # the right-most word read so far, and this bounds the length of a pass.
        first_visit = pos > frontier
        frontier = max(frontier, pos)
        if first_visit and pos > 0 and random() < profile.regression_prob:
            back = 1 + bisect.bisect_right(cumulative_distance, random())
            pos = max(pos - min(back, 3), 0)
            continue
        pos = forward(pos)
    return fixations


def simulate_fixations(
    stimuli: Stimuli,
    group: str,
    profile: ReaderProfile,
    n_readers: int,
    seed: int,
    subject_offset: int = 0,
) -> pd.DataFrame:
    """Simulate ``n_readers`` readers of one group reading every sentence of the stimuli.

    Parameters
    ----------
    stimuli
        ``articles[a][s] -> words`` (:func:`readalike.core.stimuli.read_stimuli`); word
        frequencies are counted in these stimuli.
    group
        Value of the ``group`` column, e.g. ``"native"``.
    profile
        The reader population, e.g. ``PROFILES["native"]``.
    n_readers
        Number of simulated readers, >= 1.
    seed
        Seed, >= 0. Reader ``k`` draws from ``numpy.random.default_rng([seed, k])`` with
        ``k = subject_offset + r``, so the same seed gives the same table and adding
        readers leaves the earlier ones unchanged.
    subject_offset
        First subject number; give groups disjoint ranges so that their subjects differ
        and do not share random streams.

    Returns
    -------
    pandas.DataFrame
        The fixation table of :mod:`readalike.human.saccades` (columns
        :data:`readalike.human.saccades.FIXATION_COLUMNS`): subjects ``sim000``, ``sim001``, ...,
        reading order within each subject and sentence, durations in whole ms (float64).
    """
    if n_readers < 1:
        raise ValueError(f"n_readers must be >= 1, got {n_readers}")
    if seed < 0 or subject_offset < 0:
        raise ValueError(f"seed and subject_offset must be >= 0, got {seed}, {subject_offset}")
    words = word_table(stimuli)
    length = words["length"].to_numpy(dtype=np.float64)
    frequency_z = words["frequency_z"].to_numpy(dtype=np.float64)
    # Per-word quantities are computed once, vectorised, and turned into Python lists:
    # the scan below indexes them one scalar at a time, where lists are fastest.
    p_skip = profile.skip_probability(length, frequency_z)
    p_refix = profile.refixation_probability(length)
    mean = profile.mean_duration(length, frequency_z)
    cumulative_distance = list(itertools.accumulate(profile.regression_distance))[:-1]
    sentences = []
    start = 0
    for a, article in enumerate(stimuli):
        for s, sentence_words in enumerate(article):
            stop = start + len(sentence_words)
            sentences.append(
                (a, s, p_skip[start:stop].tolist(), p_refix[start:stop].tolist(), mean[start:stop])
            )
            start = stop

    columns: dict[str, list[np.ndarray]] = {c: [] for c in ("reader", "a", "s", "w", "d")}
    for r in range(n_readers):
        rng = np.random.default_rng([seed, subject_offset + r])
        for a, s, skip, refix, mean_s in sentences:
            fixated = np.array(
                _read_sentence(skip, refix, profile, cumulative_distance, rng.random)
            )
            scale = mean_s[fixated] / profile.duration_shape
            duration = np.maximum(
                np.rint(rng.gamma(profile.duration_shape, scale)), profile.duration_min
            )
            columns["reader"].append(np.full(fixated.size, subject_offset + r))
            columns["a"].append(np.full(fixated.size, a))
            columns["s"].append(np.full(fixated.size, s))
            columns["w"].append(fixated)
            columns["d"].append(duration)
    reader = np.concatenate(columns["reader"])
    table = pd.DataFrame(
        {
            "subject": pd.Series([f"sim{k:03d}" for k in reader], dtype=str),
            "group": pd.Series([group] * reader.size, dtype=str),
            "article": np.concatenate(columns["a"]).astype(np.int64),
            "sentence": np.concatenate(columns["s"]).astype(np.int64),
            "word": np.concatenate(columns["w"]).astype(np.int64),
            "duration": np.concatenate(columns["d"]).astype(np.float64),
        }
    )
    log.info(
        "simulated %d %s readers: %d fixations over %d sentences",
        n_readers,
        group,
        len(table),
        len(sentences),
    )
    return table


def word_skip_rates(fixations: pd.DataFrame, stimuli: Stimuli) -> pd.DataFrame:
    """First-pass skipping rate of every word, per reader group.

    A word is skipped in first pass by a reader who fixates a word to its right before
    fixating it (or who never fixates it): the usual eye-tracking definition, which does
    not count as read a word first reached by a regression.

    Parameters
    ----------
    fixations
        A fixation table (format of :mod:`readalike.human.saccades`), indices within the
        stimuli.
    stimuli
        The stimuli the fixations refer to.

    Returns
    -------
    pandas.DataFrame
        One row per group and word: the columns of :func:`word_table` plus ``group``,
        ``readers`` (readers of the group with a fixation in the sentence) and
        ``skip_rate`` (share of them who skipped the word in first pass; NaN where no
        reader read the sentence).
    """
    keys = ["subject", "article", "sentence"]
    # The frontier is the right-most word fixated so far in a reader's pass; a fixation
    # beyond it is the first-pass fixation of its word (at most one per reader and word).
    frontier = fixations.groupby(keys, sort=False)["word"].cummax()
    before = frontier.groupby([fixations[k] for k in keys], sort=False).shift(1, fill_value=-1)
    first_pass = fixations.loc[fixations["word"].to_numpy() > before.to_numpy()]
    read = first_pass.groupby(["group", "article", "sentence", "word"]).size().rename("first_pass")
    readers = (
        fixations.groupby(["group", "article", "sentence"])["subject"].nunique().rename("readers")
    )
    words = word_table(stimuli)
    groups = pd.DataFrame({"group": sorted(pd.unique(fixations["group"].astype(str)))})
    table = groups.merge(words, how="cross")
    table = table.merge(readers.reset_index(), how="left", on=["group", "article", "sentence"])
    table = table.merge(read.reset_index(), how="left", on=["group", "article", "sentence", "word"])
    table["readers"] = table["readers"].fillna(0).astype(np.int64)
    fixated = table["first_pass"].fillna(0).to_numpy(dtype=np.float64)
    n = table["readers"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        table["skip_rate"] = np.where(n > 0, 1.0 - fixated / n, np.nan)
    return table.drop(columns="first_pass")


def reading_rates(fixations: pd.DataFrame, stimuli: Stimuli) -> pd.DataFrame:
    """Summary eye-movement rates per reader group, to compare simulated and real readers.

    Returns
    -------
    pandas.DataFrame
        One row per group, columns ``group``, ``readers``, ``fixations``, ``saccades``
        (between consecutive fixations of a reader within a sentence),
        ``regression_share`` (share of saccades to an earlier word),
        ``refixation_share`` (share of saccades to the same word), ``skip_rate``
        (first-pass skipping over all word tokens read, see :func:`word_skip_rates`) and
        ``mean_duration`` (ms per fixation).
    """
    keys = ["subject", "article", "sentence"]
    previous = fixations.groupby(keys, sort=False)["word"].shift(1)
    step = (fixations["word"] - previous).to_numpy(dtype=np.float64)
    per_fixation = pd.DataFrame(
        {
            "group": fixations["group"].to_numpy(),
            "saccade": ~np.isnan(step),
            "regression": step < 0,
            "refixation": step == 0,
            "duration": fixations["duration"].to_numpy(dtype=np.float64),
        }
    )
    rates = per_fixation.groupby("group").agg(
        fixations=("saccade", "size"),
        saccades=("saccade", "sum"),
        regressions=("regression", "sum"),
        refixations=("refixation", "sum"),
        mean_duration=("duration", "mean"),
    )
    rates["readers"] = fixations.groupby("group")["subject"].nunique()
    rates["regression_share"] = rates["regressions"] / rates["saccades"]
    rates["refixation_share"] = rates["refixations"] / rates["saccades"]
    skips = word_skip_rates(fixations, stimuli)
    skipped = (skips["skip_rate"] * skips["readers"]).groupby(skips["group"]).sum()
    rates["skip_rate"] = skipped / skips.groupby("group")["readers"].sum()
    columns = [
        "readers",
        "fixations",
        "saccades",
        "regression_share",
        "refixation_share",
        "skip_rate",
        "mean_duration",
    ]
    return rates[columns].reset_index()


def write_fixations(fixations: pd.DataFrame, target: str | os.PathLike) -> None:
    """Write a fixation table as CSV (format of :mod:`readalike.human.saccades`), atomically.

    Only the columns :data:`readalike.human.saccades.FIXATION_COLUMNS` are written, in that
    order; durations are written without a trailing ``.0`` when they are whole ms.
    """
    missing = [c for c in FIXATION_COLUMNS if c not in fixations.columns]
    if missing:
        raise ValueError(f"{target}: fixation table lacks column(s) {', '.join(missing)}")
    with atomic_path(target) as tmp:
        fixations.loc[:, list(FIXATION_COLUMNS)].to_csv(tmp, index=False, float_format="%.10g")
