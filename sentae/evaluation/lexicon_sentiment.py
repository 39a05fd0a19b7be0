"""A rule-based sentiment judge built from public opinion lexicons, with negation scope.

It knows nothing of any sentae corpus: its words come from Hu & Liu's opinion lexicon (``opinion_lexicon.zip``,
2,006 positive and 4,783 negative words, KDD 2004; the 3 in both lists, "envious" and kin, count as negative)
and, for words that lexicon lacks, Pattern's adjective polarities (``pattern-en-sentiment.xml``, De Smedt &
Daelemans 2012), both read from ``$SENTAE_DATA_DIR/sentiment_lexicons``; optionally VADER's human-rated words
(Hutto & Gilbert 2014, the file the ``vaderSentiment`` package ships) and a domain lexicon (for restaurants:
``sentae.evaluation.domain_lexicon``, adjectives induced from Yelp), each only for the words the lexicons before it
lack. So it can judge the sentences of a model trained on sentae's generated review corpus without sharing that
corpus's word lists (``sentae.data.review_rules``).

Rules, in order:

- text is lower-cased and split PTB-style (``did n't``, ``it 's``, punctuation apart), the tokenisation of the
  Yelp corpora and of sentae's review corpus;
- each opinion word scores +1 or -1; a word the lexicons lack takes its lemma's score (lemminflect: ``adores`` ->
  ``adore``), an -ly adverb its adjective's (``rudely`` -> ``rude``);
- some words are not opinions in some positions: ``like`` after a linking verb (``tastes like``) is a preposition,
  ``well`` opening a sentence or before a comma is a discourse marker, an intensifier (``pretty``, ``super``,
  ``incredibly`` ...) before another word only says how much, ``a few`` is a quantity;
- two review idioms are scored as phrases, as neither word carries their sense alone: ``take/wait forever`` (-1)
  and ``be/come/go back`` (+1);
- a negator (``not``, ``n't``, ``no``, ``never``, ``nothing``, ``without``, ``hardly`` ...) flips the first opinion
  word after it, up to the next punctuation mark or clause word (``and``, ``but``, ``because`` ...) and at most
  ``NEGATION_WINDOW`` tokens on; a second negator in the same scope flips back;
- words before the last ``but`` count half and those after it 1.5 times (as in VADER: the contrast carries the
  verdict); the sign of the sum decides; a sum of 0 with opinion words goes to the last one; a sentence without
  any opinion word has no verdict (``None``, counted in ``undecided``), which a control report counts as wrong.

>>> judge = LexiconSentimentJudge.from_data_dir()  # doctest: +SKIP
>>> judge.predict(["no issues at all .", "the service was not good ."])  # doctest: +SKIP
['positive', 'negative']
"""
from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

from ..errors import SentaeError

__all__ = ["NEGATION_WINDOW", "NEGATORS", "LexiconSentimentJudge", "lexicon_sentiment_judge", "tokens"]

DATA_DIR_ENV = "SENTAE_DATA_DIR"  # the same variable as sentae.data.base.DATA_DIR_ENV
LEXICON_DIR = "sentiment_lexicons"
OPINION_ZIP = "opinion_lexicon.zip"
PATTERN_XML = "pattern-en-sentiment.xml"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


NEGATORS = _words("not n't no never nothing none nobody neither nor without hardly barely scarcely cannot")
NEGATION_WINDOW = 5  # tokens after a negator it can reach: "not going to be amazing" is 4
# Where a negation stops: punctuation and the words that start a new clause.
SCOPE_END = _words('. , ! ? ; : ( ) " and but or because since although though while whereas yet however which who')
LINKING = _words("look looks looked looking taste tastes tasted tasting smell smells smelled smelling sound sounds "
                 "sounded sounding feel feels felt feeling seem seems seemed seeming")
# Words the lexicons score that, before another word, only say how much: "pretty bad", "incredibly rubbery".
INTENSIFIERS = _words("pretty super very really so too truly incredibly extremely absolutely totally remarkably "
                      "amazingly awfully terribly insanely ridiculously")
FOREVER_VERBS = _words("take takes took taken taking wait waits waited waiting")
# "we 'll be back", "i keep coming back": the review idiom of a returning customer, a verdict no single word carries.
BACK_VERBS = _words("be been 'll come comes came coming go goes went going gone")
PATTERN_MIN = 0.1  # |mean polarity| a Pattern adjective needs to count as an opinion word
VADER_FILE = "vader_lexicon.txt"
VADER_MIN = 0.5  # |mean valence| (of -4..4) a VADER word needs to count as an opinion word
PATTERN_ADVERB_MIN = 0.3  # ... and to lend it to its -ly adverb: "usual" (-0.25) is mildly negative, "usually" is not
_PUNCT = frozenset(".,!?;:()\"")

_SPLIT = [(re.compile(r"[\u2018\u2019`]"), "'"), (re.compile(r"(\w)n't\b"), r"\1 n't"),
          (re.compile(r"\bcannot\b"), "can not"),
          (re.compile(r"(\w)'(s|re|ve|ll|m|d)\b"), r"\1 '\2"), (re.compile(r"([.,!?;:()\"])"), r" \1 ")]


def tokens(text: str) -> list[str]:
    """Lower-cased PTB-like tokens: ``didn't`` -> ``did n't``, punctuation split off."""
    text = text.lower()
    for pattern, repl in _SPLIT:
        text = pattern.sub(repl, text)
    return text.split()


def _read_opinion_lexicon(path: Path) -> dict[str, int]:
    """Hu & Liu: word -> +1/-1 from the zip's two word lists (latin-1, ';' lines are comments)."""
    lex: dict[str, int] = {}
    with zipfile.ZipFile(path) as zf:
        for member, sign in (("opinion_lexicon/positive-words.txt", 1), ("opinion_lexicon/negative-words.txt", -1)):
            try:
                raw = zf.read(member)
            except KeyError:
                raise SentaeError(f"{path}: no member {member} (is it the NLTK opinion_lexicon.zip?)") from None
            for line in io.TextIOWrapper(io.BytesIO(raw), encoding="latin-1"):
                word = line.strip()
                if word and not word.startswith(";"):
                    lex[word] = sign
    return lex


def _vader_lexicon_file() -> Path:
    """``vader_lexicon.txt`` as the ``vaderSentiment`` package ships it, found without importing the package (its
    module imports ``requests`` for a feature sentae does not use)."""
    import importlib.util

    spec = importlib.util.find_spec("vaderSentiment")
    if spec is None or not spec.submodule_search_locations:
        raise SentaeError("lexicon sentiment judge: VADER's lexicon needs the vaderSentiment package: "
                          "pip install 'vaderSentiment>=3.3.2' (or pass vader=False)")
    path = Path(next(iter(spec.submodule_search_locations))) / VADER_FILE
    if not path.is_file():
        raise SentaeError(f"lexicon sentiment judge: {path} not found in the installed vaderSentiment package")
    return path


def _read_vader(path: Path) -> dict[str, float]:
    """VADER: word -> mean valence (-4..4) of its ten human ratings; alphabetic entries only (no emoticons) and
    only those at least ``VADER_MIN`` from neutral."""
    out = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split("\t")
        try:
            word, mean = parts[0], float(parts[1])
        except (IndexError, ValueError):
            raise SentaeError(f"{path}:{n}: not a VADER lexicon line (token, mean, sd, ratings)") from None
        if word.isalpha() and abs(mean) >= VADER_MIN:
            out[word.lower()] = mean
    return out


def _read_pattern(path: Path) -> dict[str, float]:
    """Pattern: adjective -> its polarity averaged over its senses, for adjectives clearly one way and
    never nouns (lemminflect): Pattern's adverbs are intensity modifiers ("very", "really"), and a noun sense
    ("chicken", cowardly) would score the food."""
    from lemminflect import getAllLemmas  # lazy: the lexicon costs 0.3 s to load

    senses: dict[str, list[float]] = {}
    try:
        root = ElementTree.parse(path).getroot()
    except ElementTree.ParseError as exc:
        raise SentaeError(f"{path}: not a readable Pattern sentiment XML ({exc})") from None
    for w in root.iter("word"):
        form, pol = w.get("form"), w.get("polarity")
        if form and pol is not None and w.get("pos") == "JJ" and form.isalpha():
            senses.setdefault(form.lower(), []).append(float(pol))
    out = {}
    for form, pols in senses.items():
        mean = sum(pols) / len(pols)
        lemmas = getAllLemmas(form)
        if abs(mean) >= PATTERN_MIN and ("ADJ" in lemmas or "NOUN" not in lemmas):
            out[form] = mean
    return out


@dataclass
class LexiconSentimentJudge:
    """Sentence -> "positive" / "negative" (or ``None``: no opinion word) from a word -> ±1 lexicon."""

    lexicon: dict[str, int]
    sources: tuple[str, ...] = ()
    undecided: int = 0  # sentences without a verdict over every predict() call so far
    adverb_bases: frozenset[str] = frozenset()  # words whose -ly adverb takes their score
    _derived: dict[str, int] = field(default_factory=dict, repr=False)  # memo of _derive

    @classmethod
    def from_data_dir(cls, path: str | Path | None = None, pattern: bool = True,
                      vader: bool = False, domain: Mapping[str, int] | None = None,
                      domain_name: str = "") -> LexiconSentimentJudge:
        """Read the lexicons from ``path`` (default ``$SENTAE_DATA_DIR/sentiment_lexicons``); ``pattern`` adds
        Pattern's adjectives for the words Hu & Liu do not list (Hu & Liu win where both have a word); ``vader`` adds
        VADER's rated words (Hutto & Gilbert 2014, from the ``vaderSentiment`` package) that neither lists; ``domain``
        (word -> ±1, e.g. ``sentae.evaluation.domain_lexicon.yelp_lexicon()``) adds the words neither lists,
        described in ``describe()`` as ``domain_name``."""
        if path is None:
            root = os.environ.get(DATA_DIR_ENV)
            if not root:
                raise SentaeError(f"lexicon sentiment judge: set ${DATA_DIR_ENV} to the folder holding "
                                  f"{LEXICON_DIR}/{OPINION_ZIP}, or pass its path")
            path = Path(root) / LEXICON_DIR
        path = Path(path)
        opinion = path / OPINION_ZIP
        if not opinion.is_file():
            raise SentaeError(f"lexicon sentiment judge: Hu & Liu opinion lexicon not found: {opinion}")
        lexicon = _read_opinion_lexicon(opinion)
        hu_liu = bases = frozenset(lexicon)
        n_pos = sum(v > 0 for v in lexicon.values())
        sources = [f"Hu & Liu opinion lexicon ({n_pos:,} positive, {len(lexicon) - n_pos:,} negative words)"]
        if pattern:
            pxml = path / PATTERN_XML
            if not pxml.is_file():
                raise SentaeError(f"lexicon sentiment judge: Pattern sentiment lexicon not found: {pxml} "
                                  f"(or pass pattern=False)")
            means = {w: m for w, m in _read_pattern(pxml).items() if w not in lexicon}
            extra = {w: 1 if m > 0 else -1 for w, m in means.items()}
            lexicon.update(extra)
            bases = hu_liu | {w for w, m in means.items() if abs(m) >= PATTERN_ADVERB_MIN}
            sources.append(f"{len(extra):,} Pattern adjectives")
        if vader:
            means = {w: m for w, m in _read_vader(_vader_lexicon_file()).items() if w not in lexicon}
            lexicon.update({w: 1 if m > 0 else -1 for w, m in means.items()})
            bases = bases | frozenset(means)
            sources.append(f"{len(means):,} VADER words")
        if domain:
            extra = {w: (1 if v > 0 else -1) for w, v in domain.items() if w not in lexicon and v}
            lexicon.update(extra)
            bases = bases | frozenset(extra)
            sources.append(f"{len(extra):,} words of {domain_name or 'a domain lexicon'}")
        return cls(lexicon, tuple(sources), adverb_bases=bases)

    def word_scores(self, toks: Sequence[str]) -> list[float]:
        """The score of each token in its sentence: ±1 for an opinion word (after negation), 0 otherwise; words
        before a "but" count half and words after it 1.5 times (the contrast carries the verdict, as in VADER)."""
        scores = [0.0] * len(toks)
        negated, reach = False, 0
        for i, t in enumerate(toks):
            if t in SCOPE_END or reach == 0:
                negated = False
            if t in NEGATORS:
                negated, reach = not negated, NEGATION_WINDOW + 1
            elif s := self._polarity(toks, i):
                scores[i] = -s if negated else s
                # the negator attaches to its nearest opinion word: in "do n't love the careless waitress" the
                # waitress stays careless
                negated = False
            reach = max(reach - 1, 0)
        if "but" in toks:
            k = len(toks) - 1 - toks[::-1].index("but")
            scores = [s * (0.5 if i < k else 1.5) for i, s in enumerate(scores)]
        return scores

    def _polarity(self, toks: Sequence[str], i: int) -> int:
        t = toks[i]
        prev = toks[i - 1] if i else ""
        nxt = toks[i + 1] if i + 1 < len(toks) else ""
        if t == "forever" and prev in FOREVER_VERBS:
            return -1  # "took forever": the wait, not the word, is the complaint
        if t == "back" and prev in BACK_VERBS:
            return 1  # "we 'll be back": the returning customer
        if t in ("like", "likes") and prev in LINKING:
            return 0  # "tastes like": a preposition, not the verb
        if t == "well" and (i == 0 or nxt == ","):
            return 0  # "well , ...": a discourse marker
        if t in INTENSIFIERS and nxt and nxt not in _PUNCT:
            return 0  # "pretty bad": the next word carries the opinion
        if t == "few" and prev == "a":
            return 0  # "a few days": a quantity
        return self._lookup(t)

    def _lookup(self, word: str) -> int:
        """The word's score, else its lemma's (lemminflect: "adores" -> "adore"), else for an -ly adverb its
        adjective's ("rudely" -> "rude", "terribly" -> "terrible", "happily" -> "happy")."""
        if word in self.lexicon:
            return self.lexicon[word]
        if word not in self._derived:
            self._derived[word] = self._derive(word)
        return self._derived[word]

    def _derive(self, word: str) -> int:
        if not word.isalpha():
            return 0
        from lemminflect import getAllLemmas  # lazy: the lexicon costs 0.3 s to load

        for lemmas in getAllLemmas(word).values():
            for lemma in lemmas:
                if lemma in self.lexicon:
                    return self.lexicon[lemma]
        if word.endswith("ly") and len(word) > 4:
            for adj in (word[:-2], word[:-1] + "e", word[:-3] + "y"):
                if adj in self.adverb_bases:
                    return self.lexicon[adj]
        return 0

    def score(self, text: str) -> tuple[float, float]:
        """(sum of the word scores, the last nonzero word score or 0)."""
        scores = [s for s in self.word_scores(tokens(text)) if s]
        return sum(scores), (scores[-1] if scores else 0)

    def predict_one(self, text: str) -> str | None:
        total, last = self.score(text)
        decided = total or last
        return None if decided == 0 else ("positive" if decided > 0 else "negative")

    def predict(self, texts: Sequence[str]) -> list[str | None]:
        """ "positive" / "negative" per sentence; ``None`` where it has no opinion word (counted in ``undecided``)."""
        out = [self.predict_one(t) for t in texts]
        self.undecided += sum(v is None for v in out)
        return out

    def describe(self) -> str:
        return (f"lexicon sentiment judge: {' + '.join(self.sources)}; negation ({', '.join(sorted(NEGATORS))}) "
                f"flips the first opinion word up to {NEGATION_WINDOW} tokens on, within the clause; words after "
                f"'but' weigh 3x those before; a tie goes to the last opinion word; no opinion word: no verdict")


def lexicon_sentiment_judge(path: str | Path | None = None,
                            pattern: bool = True) -> tuple[Callable[[Sequence[str]], list[str | None]], str]:
    """The judge as ``sentae.evaluation.control``'s (judge, description) pair, for ``control_report``."""
    j = LexiconSentimentJudge.from_data_dir(path, pattern)
    return j.predict, j.describe()
