"""A review-domain opinion lexicon induced from labelled Yelp sentences, for the words general lexicons lack.

General-purpose lexicons (Hu & Liu, Pattern) were built from product reviews and adjectives at large: they know
"delicious" and "rude" but not "tasty", "soggy", "overcooked", "watery" or "forgot", the words restaurant reviews
carry their verdict in. This module learns those words' polarity from human-written Yelp review sentences (the
``yelp`` train split, Shen et al. 2017, sentence-level labels), so that a judge of text about restaurants can read
them without being trained on the corpus it judges.

Induction, once, deterministic. An opinion word here is an adjective (or an ``-ed`` participle used as one) whose
use in Yelp is one-sided:

- only the word right after a linking verb counts (``was soggy``, ``is tasty``, ``tastes watery``, ``were
  overcooked``; intensifiers such as ``very`` or ``a bit`` in between are skipped), the position where a sentence
  says what something is like; a negation there (``was not good``) leaves the word out, as it says the opposite;
- the word must be able to be an adjective (lemminflect) or end in ``-ed``, and at least ``MIN_PREDICATIVE`` of
  its uses outside negation must be in that position, so that narrative verbs ("was told", "were waiting") and
  topic words do not become opinions;
- its share of positive use is its rate in positive sentences over the sum of its two rates (the classes' sizes
  cancel out); it enters the lexicon with at least ``min_count`` such uses and a share of at least ``min_share``
  one way or the other;
- the rules and thresholds were set from the induced word list, before it judged any generated sentence; they are
  part of the judge's description.

>>> lex = induce_lexicon([("the fries were soggy .", "negative")] * 40 + [("the fries were tasty .", "positive")] * 40)
>>> lex["soggy"], lex["tasty"], "fries" in lex
(-1, 1, False)
"""
from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from ..errors import SentaeError
from .lexicon_sentiment import DATA_DIR_ENV, INTENSIFIERS, NEGATION_WINDOW, NEGATORS, SCOPE_END, tokens

__all__ = ["MIN_COUNT", "MIN_PREDICATIVE", "MIN_SHARE", "induce_lexicon", "yelp_lexicon"]

MIN_COUNT = 20  # uses after a linking verb a word needs in the labelled corpus
MIN_SHARE = 0.85  # share of those uses (class sizes normalised) in one sentiment that makes it an opinion word
MIN_PREDICATIVE = 0.25  # share of a word's uses outside negation that must be after a linking verb
LINKING_VERBS = frozenset("is are was were be been am 's 're 'm seem seems seemed look looks looked taste tastes "
                          "tasted smell smells smelled feel feels felt sound sounds sounded become becomes became "
                          "remain remains remained stay stays stayed".split())
# Words between the linking verb and the predicate that only say how much: "was a bit salty", "is way too dry".
DEGREE_WORDS = INTENSIFIERS | frozenset("a bit little kind sort of quite rather fairly extra way slightly somewhat "
                                        "overly".split())
YELP_TRAIN = Path("yelp") / "train.jsonl"


def _unnegated(toks: list[str]) -> Iterable[str]:
    """The tokens outside every negation scope."""
    reach = 0
    for t in toks:
        if t in SCOPE_END:
            reach = 0
        if t in NEGATORS:
            reach = NEGATION_WINDOW + 1
        elif reach == 0:
            yield t
        reach = max(reach - 1, 0)


def _predicates(toks: list[str]) -> Iterable[str]:
    """The word after each linking verb (past intensifiers), unless a negator stands between them."""
    for i, t in enumerate(toks):
        if t not in LINKING_VERBS:
            continue
        j, negated = i + 1, False
        while j < len(toks) and (toks[j] in DEGREE_WORDS or toks[j] in NEGATORS):
            negated |= toks[j] in NEGATORS
            j += 1
        if j < len(toks) and not negated and toks[j].isalpha():
            yield toks[j]


def _can_be_opinion(word: str) -> bool:
    from lemminflect import getAllLemmas  # lazy: the lexicon costs 0.3 s to load

    return "ADJ" in getAllLemmas(word) or word.endswith("ed")


def induce_lexicon(examples: Iterable[tuple[str, str]], min_count: int = MIN_COUNT,
                   min_share: float = MIN_SHARE) -> dict[str, int]:
    """word -> +1 / -1 from ``(text, "positive" | "negative")`` pairs (rules in the module docstring)."""
    counts = {"positive": Counter(), "negative": Counter()}
    uses: Counter = Counter()  # every use outside negation, for the predicative share
    for text, label in examples:
        if label not in counts:
            raise SentaeError(f"domain lexicon: label {label!r} is neither 'positive' nor 'negative'")
        toks = tokens(text)
        counts[label].update(_predicates(toks))
        uses.update(_unnegated(toks))
    totals = {k: sum(c.values()) for k, c in counts.items()}
    if min(totals.values()) == 0:
        raise SentaeError("domain lexicon: both sentiments need labelled sentences with a linking verb")
    out: dict[str, int] = {}
    for word in set(counts["positive"]) | set(counts["negative"]):
        pos, neg = counts["positive"][word], counts["negative"][word]
        if pos + neg < min_count or (pos + neg) < MIN_PREDICATIVE * uses[word] or not _can_be_opinion(word):
            continue
        rate_pos, rate_neg = pos / totals["positive"], neg / totals["negative"]
        share = rate_pos / (rate_pos + rate_neg)
        if share >= min_share or share <= 1 - min_share:
            out[word] = 1 if share >= min_share else -1
    return out


def yelp_lexicon(data_dir: str | Path | None = None, min_count: int = MIN_COUNT,
                 min_share: float = MIN_SHARE) -> dict[str, int]:
    """The lexicon induced from ``$SENTAE_DATA_DIR/yelp/train.jsonl`` (167k labelled review sentences)."""
    if data_dir is None:
        data_dir = os.environ.get(DATA_DIR_ENV)
        if not data_dir:
            raise SentaeError(f"domain lexicon: set ${DATA_DIR_ENV} to the folder holding {YELP_TRAIN}")
    path = Path(data_dir) / YELP_TRAIN
    if not path.is_file():
        raise SentaeError(f"domain lexicon: Yelp train split not found: {path}")

    def rows() -> Iterable[tuple[str, str]]:
        with path.open(encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                try:
                    row = json.loads(line)
                    yield row["text"], row["sentiment"]
                except (json.JSONDecodeError, KeyError, TypeError):
                    raise SentaeError(f"{path}:{n}: not a {{\"text\", \"sentiment\"}} JSON line") from None

    return induce_lexicon(rows(), min_count, min_share)
