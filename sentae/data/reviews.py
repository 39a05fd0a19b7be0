"""The embedded default corpus: short review-like sentences whose sentiment and tense are known by construction.

Every sentence comes from a small grammar written for sentae (no sentence is copied from anywhere), in lower case
with PTB-like tokens as in the Yelp corpus (``do n't``, ``it 's``, ``wo n't``, a final `` .`` or `` !``).
``judge`` (from ``review_rules``, where the lexicon lives) applies the same rules to any sentence, so it can score
the sentiment and tense of generated text. The data source ``reviews`` serves the corpus with fixed splits.

>>> rows = generate_reviews(6, seed=1)
>>> sorted({(r["sentiment"], r["tense"]) for r in rows}) == sorted(
...     (s, t) for s in SENTIMENTS for t in TENSES)
True
>>> judge("the soup was n't very good .")
{'sentiment': 'negative', 'tense': 'past'}
>>> judge("we 'll be back !")
{'sentiment': 'positive', 'tense': 'future'}
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Annotated, Sequence, TypeVar

from ..errors import DataError
from ..schema import SEED, Range
from .attributes import SENTIMENTS, TENSES
from .config import DataConfig
from .options import TextOptions
from .review_rules import ADJ, NOUN, POLAR_NOUN, POLAR_OPENER, POLAR_VERB, POLARITY, STAFF_VERB, VERB, word_tuple, judge
from .readers import TextSplit
from .sources import register_source, source_options
from .text import TextData, assemble

__all__ = ["generate_reviews", "split_reviews", "judge", "reviews_source", "ReviewsOptions", "SENTIMENTS", "TENSES",
           "ATTRIBUTES", "POLARITY"]

MIN_TOKENS, MAX_TOKENS = 4, 15
T = TypeVar("T")
Subject = tuple[list[str], str, str | None]  # words, agreement (1s | 3s | pl), the pronoun (for contractions)

# Word lists only the grammar uses (no polarity, no tense): the judge ignores them.

MODIFIER = {"food": word_tuple("grilled fried spicy homemade vegan chicken beef pork shrimp veggie"),
            "drink": word_tuple("iced house mango frozen")}
PLAIN = word_tuple("food breakfast brunch lunch dinner meal dessert desserts cake pie cheesecake croissant bagel pancakes "
           "waffles")  # no "grilled" or "shrimp" in front of these
MEATS = word_tuple("chicken fish steak salmon brisket meatballs oysters sushi")  # only the first four modifiers
THIS_PLACES = word_tuple("place restaurant bar cafe hotel diner bakery pub bistro brewery lounge spa")
INTENS = word_tuple("very really so extremely super pretty quite incredibly truly absolutely")
NEG_INTENS = ("too", "way too", "a bit", "a little")
TAILS = {"past": ("yesterday", "last night", "last week", "last weekend", "last time", "last month",
                  "two weeks ago", "a few days ago", "a month ago", "on our last visit"),
         "present": ("now", "these days", "every time", "every weekend", "nowadays"),
         "future": ("tomorrow", "next time", "next week", "next weekend", "soon", "on our next visit")}
FRONT_TAILS = {"past": ("yesterday", "last night", "last week"), "present": ("these days", "now", "nowadays"),
               "future": ("tomorrow", "next time", "next week")}
OPENERS = ("honestly", "overall", "well", "also")


# -- generator -------------------------------------------------------------------------------------------------
class _Grammar:
    """One sentence per call of ``sentence(sentiment, tense)``. A clause carries exactly one polar unit when
    ``single`` is set (both halves of a "but" sentence); otherwise every polar unit has the clause's polarity."""

    def __init__(self, rng: random.Random) -> None:
        self.r = rng
        self.templates = [(self.copula, 26), (self.linking, 8), (self.transitive, 15), (self.back, 8),
                          (self.forever, 5), (self.event, 8), (self.verdict, 8), (self.complaints, 5), (self.staff, 7)]
        self.weights = [w for _, w in self.templates]

    def pick(self, seq: Sequence[T]) -> T:
        return self.r.choice(seq)

    def maybe(self, p: float) -> bool:
        return self.r.random() < p

    def noun_phrase(self, domain: str, plural: bool | None = None) -> Subject:
        sing, plur = NOUN[domain]
        plural = (bool(plur) and self.maybe(0.3)) if plural is None else plural
        head = self.pick(plur if plural else sing)
        det = {"food": ("the", "the", "my", "our"), "drink": ("the", "my", "our"), "staff": ("the", "our"),
               "person": ("my",)}.get(domain, ("the",))
        if domain == "place" and head in THIS_PLACES:
            det = ("the", "this")
        words = [self.pick(det)]
        if domain in MODIFIER and head not in PLAIN and self.maybe(0.25):
            words.append(self.pick(MODIFIER[domain][:4] if head in MEATS else MODIFIER[domain]))
        words.append(head)
        if domain in ("food", "staff", "service", "price") and self.maybe(0.1):
            words.append(self.pick(("here", "there")))
        return words, "pl" if plural else "3s", None

    def pronoun(self, choices: str = "i we they he she") -> Subject:
        p = self.pick(choices.split())
        return [p], {"i": "1s", "he": "3s", "she": "3s", "it": "3s", "that": "3s"}.get(p, "pl"), p

    def person(self, tense: str) -> Subject:
        if self.maybe(0.3):
            return self.noun_phrase("person")
        return self.pronoun("i we they he she" + (" you" if tense != "past" else ""))

    def finite(self, subj: Subject, tense: str, lemma: str, neg: bool, adv: str | None = None) -> list[str]:
        """Subject + verb group of ``lemma`` in ``tense``; ``neg`` puts a negator into the group."""
        words, agr, pron = subj
        third = agr == "3s"
        be_now = {"1s": "am", "3s": "is", "pl": "are"}[agr]
        short = {"i": "'m", "we": "'re", "you": "'re", "they": "'re", "he": "'s", "she": "'s", "it": "'s", "that": "'s"}
        if pron and self.maybe(0.4):
            be_now = short[pron]
        contracted = be_now.startswith("'")
        adv_ = [adv] if adv else []
        if tense == "future":
            inner = [lemma]
            ways = [["will"], ["will"], ["'ll"]] if pron else [["will"], ["will"]]
            if neg:
                ways = [["will", "not"], ["wo", "n't"], ["will", "never"], [be_now, "not", "going", "to"]]
                return words + self.pick(ways) + inner
            return words + self.pick(ways + [[be_now, "going", "to"]]) + adv_ + inner
        if lemma == "be":
            aux = ("was" if agr != "pl" else "were") if tense == "past" else be_now
            if neg:
                nots = ("not", "never") if contracted or aux == "am" else ("not", "n't", "never")
                return words + [aux, self.pick(nots)]
            return words + [aux] + adv_
        base, s3, past = lemma, VERB[lemma][0], VERB[lemma][1]
        if tense == "past":
            if neg:
                return words + self.pick((["did", "n't", base], ["did", "not", base], ["never", past]))
            return words + adv_ + [past]
        if neg:
            do = "does" if third else "do"
            return words + self.pick(([do, "n't", base], [do, "not", base], ["never", s3 if third else base]))
        return words + adv_ + [s3 if third else base]

    def adj(self, domain: str, pol: int, intens: float = 0.35, mild: bool = True) -> list[str]:
        """A polar adjective of ``pol`` (0 negative, 1 positive), sometimes after an intensifier."""
        out = []
        if self.maybe(intens):
            out = self.pick(INTENS + NEG_INTENS if pol == 0 and mild else INTENS).split()
        return out + [self.pick(ADJ[domain][pol])]

    def article(self, nxt: str) -> str:
        return "an" if nxt[0] in "aeiou" else "a"

    # -- clause templates: (tense, pol 0/1, single) -> tokens
    def copula(self, tense: str, pol: int, single: bool) -> list[str]:
        domain = self.pick(("food", "food", "drink", "staff", "service", "place", "price", "person", "general"))
        if domain == "person":
            subj = self.person(tense)
        elif domain == "general":
            subj = self.pronoun("it that") if self.maybe(0.6) else (["everything"], "3s", None)
        else:
            subj = self.noun_phrase(domain)
        neg = self.maybe(0.3)
        word_pol = pol ^ neg
        adv = self.pick(("always", "usually", "still")) if tense == "present" and self.maybe(0.15) else None
        out = self.finite(subj, tense, "be", neg, adv) + self.adj(domain, word_pol, mild=not neg)
        if not single and not neg and self.maybe(0.25):
            second = self.pick(ADJ[domain][pol])
            if second != out[-1]:
                out += ["and", second]
        return out

    def linking(self, tense: str, pol: int, single: bool) -> list[str]:
        domain = self.pick(("food", "drink", "place", "staff", "person", "price"))
        verbs = {"food": "taste smell look", "drink": "taste look", "place": "look smell feel seem",
                 "staff": "seem", "person": "seem look feel", "price": "seem"}[domain].split()
        subj = self.person(tense) if domain == "person" else self.noun_phrase(domain)
        neg = self.maybe(0.2)
        return self.finite(subj, tense, self.pick(verbs), neg) + self.adj(domain, pol ^ neg)

    def transitive(self, tense: str, pol: int, single: bool) -> list[str]:
        neg = self.maybe(0.3)
        verb = self.pick(POLAR_VERB[pol ^ neg])
        adv = None
        if not neg and self.maybe(0.25):
            adv = "highly" if verb == "recommend" else self.pick(("really", "definitely", "absolutely", "truly"))
        out = self.finite(self.person(tense), tense, verb, neg, adv)
        domain = self.pick(("food", "food", "drink", "place") if verb == "recommend" else
                           ("food", "food", "drink", "place", "staff", "service"))
        if self.maybe(0.15):
            return out + self.pick((["it"], ["everything"], ["this", "place"]))
        obj = self.noun_phrase(domain)[0]
        if not single and self.maybe(0.25) and domain != "service":
            obj.insert(1, self.pick(ADJ[domain][pol]))  # a polar adjective agreeing with the clause
        out += obj
        if verb == "recommend" and self.maybe(0.3):
            out += self.pick((["to", "everyone"], ["to", "anyone"], ["to", "my", "family"]))
        return out

    def back(self, tense: str, pol: int, single: bool) -> list[str]:
        subj, neg = self.person(tense), pol == 0  # "back" is positive: negative clauses negate it
        if tense == "present" and pol == 1 and self.maybe(0.3):
            return self.finite(subj, tense, "keep", False) + ["coming", "back"]
        lemma = self.pick(("come", "go", "be") if tense == "future" else ("come", "go"))
        adv = self.pick(("definitely", "always", None, None)) if not neg else None
        if adv == "always" and tense != "present":
            adv = None
        out = self.finite(subj, tense, lemma, neg, adv) + ["back"]
        return out + (self.pick((["again"], ["for", "more"])) if not single and self.maybe(0.25) and not neg else [])

    def forever(self, tense: str, pol: int, single: bool) -> list[str]:
        neg = pol == 1  # "forever" is negative: positive clauses negate it
        if self.maybe(0.3):
            return self.finite(self.pronoun("i we"), tense, "wait", neg) + ["forever"]
        if self.maybe(0.3):
            subj = (self.pick((["our", "order"], ["our", "food"], ["the", "check"], ["the", "wait"])), "3s", None)
        else:
            subj = self.noun_phrase(self.pick(("food", "drink")))
        tail = self.pick((["to", "arrive"], ["to", "come", "out"])) if self.maybe(0.25) else []
        return self.finite(subj, tense, "take", neg) + ["forever"] + tail

    def event(self, tense: str, pol: int, single: bool) -> list[str]:
        neg = self.maybe(0.25)
        words = self.adj("event", pol ^ neg, 0.2, mild=False)
        noun = self.pick(word_tuple("time experience meal visit evening night stay"))
        adv = "always" if tense == "present" and not neg and self.maybe(0.5) else None
        out = self.finite(self.person(tense), tense, "have", neg, adv) + [self.article(words[0])] + words + [noun]
        tail = self.pick((["here"], ["there"], ["with", "my", "family"], ["with", "friends"]))
        return out + (tail if self.maybe(0.3) else [])

    def verdict(self, tense: str, pol: int, single: bool) -> list[str]:
        subj = self.pronoun("it that") if self.maybe(0.3) else self.noun_phrase(self.pick(("food", "place")), False)
        if self.maybe(0.4):  # "worth": a negated one is negative
            neg = pol == 0
            what = self.pick((["the", "price"], ["every", "penny"], ["the", "wait"], ["the", "money"], ["it"],
                              ["the", "trip"], ["the", "drive"]))
            return self.finite(subj, tense, "be", neg) + ["worth"] + what
        out = self.finite(subj, tense, "be", False)
        if pol == 1 and self.maybe(0.2):
            return out + ["my"] + (["new"] if self.maybe(0.5) else []) + ["favorite"]
        noun = self.pick(POLAR_NOUN[0][:8] if pol == 0 else POLAR_NOUN[1][:5])
        mods = ("total", "complete", "real", "absolute") if pol == 0 else ("real", "true", "absolute")
        words = ([self.pick(mods)] if self.maybe(0.4) else []) + [noun]
        if noun == "gem" and self.maybe(0.4):
            words = ["hidden", "gem"]
        tail = ["of", self.pick(("money", "time"))] if noun == "waste" else []
        return out + [self.article(words[0])] + words + tail

    def complaints(self, tense: str, pol: int, single: bool) -> list[str]:
        subj, noun = self.person(tense), self.pick(word_tuple("complaints problems issues"))
        if pol == 0:
            out = self.finite(subj, tense, "have", False) + self.pick(("a few", "some", "a lot of", "so many")).split()
            out.append(noun)
        elif self.maybe(0.5):
            out = self.finite(subj, tense, "have", False) + ["no", noun]
        else:
            out = self.finite(subj, tense, "have", True) + ["any", noun]
        return out + (["with", "the", self.pick(("food", "service", "staff", "room"))] if self.maybe(0.3) else [])

    def staff(self, tense: str, pol: int, single: bool) -> list[str]:
        if self.maybe(0.35):  # ignore / forget: negative verbs, a negated one is positive
            neg = pol == 1
            subj = self.noun_phrase("staff")
            verb = self.pick(STAFF_VERB[0])
            obj = self.pick((["us"], ["our", "table"]) if verb == "ignore" else
                            (["our", "order"], ["our", "drinks"], ["our", "appetizers"], ["the", "bread"]))
            return self.finite(subj, tense, verb, neg) + obj
        neg = self.maybe(0.15)
        word_pol = pol ^ neg
        if self.maybe(0.35):
            subj = ([self.pick(("the", "our")), "chef"], "3s", None)
            adv = ("poorly", "badly", "terribly") if word_pol == 0 else ("perfectly", "beautifully")
            out = self.finite(subj, tense, self.pick(("cook", "make")), neg)
            return out + self.noun_phrase("food")[0] + [self.pick(adv)]
        verb = self.pick(("treat", "greet", "serve", "seat"))
        adv = {"treat": ("nicely warmly perfectly", "rudely poorly badly terribly horribly"),
               "greet": ("warmly nicely promptly quickly", "rudely slowly"),
               "serve": ("promptly quickly perfectly", "slowly poorly rudely"),
               "seat": ("promptly quickly", "slowly rudely")}[verb][1 - word_pol].split()
        return self.finite(self.noun_phrase("staff"), tense, verb, neg) + ["us", self.pick(adv)]

    def clause(self, tense: str, pol: int, single: bool) -> list[str]:
        fn = self.r.choices(self.templates, self.weights)[0][0]
        return fn(tense, pol, single)

    def sentence(self, pol: int, tense: str) -> list[str]:
        shape = self.r.random()
        if shape < 0.10:  # contrast: the verdict is the second clause
            out = self.clause(tense, 1 - pol, True) + ([","] if self.maybe(0.3) else []) + ["but"]
            out += self.clause(tense, pol, True)
        elif shape < 0.24:
            out = self.clause(tense, pol, True) + ([","] if self.maybe(0.3) else []) + ["and"]
            out += self.clause(tense, pol, True)
        else:
            out = self.clause(tense, pol, False)
        front = self.r.random()
        if front < 0.08:
            out = [self.pick(OPENERS), ","] + out
        elif front < 0.14 and shape >= 0.10:
            out = [self.pick(POLAR_OPENER[pol]), ","] + out
        elif front < 0.22:
            out = self.pick(FRONT_TAILS[tense]).split() + [","] + out
        elif front < 0.45:
            out += self.pick(TAILS[tense]).split()
        return out + ["!" if self.maybe(0.1 + 0.1 * pol) else "."]


def generate_reviews(n: int, seed: int = 0) -> list[dict[str, str]]:
    """``n`` distinct sentences with keys ``text``, ``sentiment`` and ``tense``; the six sentiment x tense cells
    get ``n // 6`` sentences each (the first ``n % 6`` cells one more), in a random order fixed by ``seed``.

    >>> generate_reviews(2, seed=3) == generate_reviews(2, seed=3)
    True
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise DataError(f"generate_reviews: n must be a non-negative integer, got {n!r}")
    rng = random.Random(seed)
    grammar = _Grammar(rng)
    cells = [(s, t) for s in range(2) for t in TENSES]
    plan = [cells[i % 6] for i in range(n)]
    rng.shuffle(plan)
    seen: set[str] = set()
    rows: list[dict[str, str]] = []
    budget = 30 * n + 1000  # draws allowed before giving up: the grammar has a finite number of sentences
    for pol, tense in plan:
        while True:
            budget -= 1
            if budget < 0:
                raise DataError(f"generate_reviews: could not find {n:,} distinct sentences (found {len(rows):,}); "
                                "ask for fewer")
            text = " ".join(grammar.sentence(pol, tense))
            if MIN_TOKENS <= text.count(" ") + 1 <= MAX_TOKENS and text not in seen:
                break
        seen.add(text)
        rows.append({"text": text, "sentiment": SENTIMENTS[pol], "tense": tense})
    return rows


# -- the data source -------------------------------------------------------------------------------------------
ATTRIBUTES = {"sentiment": SENTIMENTS, "tense": TENSES}
HELD_OUT = 0.05  # val and test share each, taken per cell so every split stays balanced


def split_reviews(rows: list[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    """Train/val/test = 90/5/5 % of each sentiment x tense cell, in generation order (already random)."""
    cells: dict[tuple[str, str], list[int]] = {}
    for i, row in enumerate(rows):
        cells.setdefault((row["sentiment"], row["tense"]), []).append(i)
    where = {"train": [], "val": [], "test": []}
    for idx in cells.values():
        k = round(len(idx) * HELD_OUT)
        where["test"] += idx[:k]
        where["val"] += idx[k : 2 * k]
        where["train"] += idx[2 * k :]
    return {split: [rows[i] for i in sorted(idx)] for split, idx in where.items()}


@dataclass
class ReviewsOptions(TextOptions):
    """Options of the ``reviews`` source: the text options, and how many sentences to generate from which seed."""

    # At least 20 per sentiment x tense cell, so that val and test (5 % each) get some of each.
    size: Annotated[int, Range(120)] = 24_000  # sentences generated
    seed: Annotated[int, SEED] = 0  # seed of the grammar's random choices


@register_source("reviews", options=ReviewsOptions)
def reviews_source(cfg: DataConfig) -> TextData:
    """The embedded corpus: ``size`` generated sentences (default 24,000) from grammar seed ``seed`` (default 0),
    split 90/5/5 % per cell (``val_fraction``/``test_fraction`` are not used); attributes ``sentiment`` and
    ``tense``. ``data.limit`` keeps the first N sentences of each split."""
    o = source_options(cfg, ReviewsOptions)

    def generate() -> dict[str, TextSplit]:
        splits = {}
        for split, rows in split_reviews(generate_reviews(o.size, o.seed)).items():
            rows = rows[: cfg.limit] if cfg.limit is not None else rows
            labels = {a: [values.index(r[a]) for r in rows] for a, values in ATTRIBUTES.items()}
            splits[split] = TextSplit([r["text"] for r in rows], labels)
        return splits

    # files=[]: the corpus is a function of the options (and sentae's version), so they alone key its cache entry
    return assemble(cfg, o, generate, ATTRIBUTES, files=[])
