"""Rule-based tense of an English sentence: past, present, future, or none (no finite verb).

The tense of the sentence's first finite verb or auxiliary decides; the labeller is built for PTB-like
tokenisation (``do n't``, ``it 's``, ``i 'll``, ``wo n't``, ``ca n't``, ``_num_``) in lower or mixed case, and
also splits unsplit contractions (``didn't``, ``it's``, ``cannot``). Open-class verb forms come from lemminflect's
lexicon (is a word a past form, a 3rd-person present, a base form, a noun?); the rest are closed-class rules:

- modals: will / shall / 'll / wo -> future; could / would / 'd -> past; can / may / must / might / should /
  ought -> present.
- auxiliaries: is / are / am / 's / 're / 'm / has / have / 've / does / do -> present; was / were / had / did ->
  past; a present *be* + ``going to`` / ``gonna`` + verb -> future.
- ``'s`` after a noun is a possessive unless what follows reads as a predicate (``not``, ``a``, ``so`` ...).
- an open-class word is a finite verb only right after a subject (a subject pronoun or a noun, adverbs between)
  and when its form agrees with it (``he works``, ``they work``; ``this place`` is a noun phrase), and never after
  a determiner, an adjective or a preposition; after a noun it stays a noun when a surer verb follows
  (``interest rates rose``); an -ed form before a preposition and a later auxiliary is a participle
  (``the dish served with rice was cold``); a subject before an appositive still counts after it
  (``the manager , a nice guy , fixed it``).
- a base form that opens a clause before an object is an imperative (present); a past or 3rd-person form with no
  subject (``loved the pizza !``) gives its own tense.

>>> label_tense("we will return .")
'future'
>>> label_tenses(["the food was great", "i love it", "great food !"])
['past', 'present', 'none']

See docs/text/tense.md for the full precedence, the measured agreement and known failure modes.
"""
from __future__ import annotations

from typing import Iterable

from .attributes import TENSES
from .tense_words import (
    ADVERBS,
    AFTER_IS,
    AUX,
    BASE_AUX,
    CLOSED,
    CLOSED_FINITE,
    COMMAS,
    DEMONSTRATIVES,
    DET,
    GOING_NOT_FUTURE,
    MODALS,
    OBJ,
    OBJECT_STARTERS,
    OPENERS,
    PARTICLES,
    PREP,
    PRESENT_BE,
    PUNCT_BOUNDARY,
    SAY,
    SUBJ,
    VERB_FIRST,
    Word,
    _NUMBER,
    _split,
    _word,
)

__all__ = ["TENSES", "label_tense", "label_tenses"]

NONE = "none"

def _is_adverb(w: str) -> bool:
    if w in ADVERBS:
        return True
    if w in CLOSED or not w.isalpha():
        return False
    info = _word(w)
    return info.adv and not (info.noun or info.adj or info.past or info.pres3 or info.base)


def _skip_adverbs(words: list[str], j: int) -> int:
    while j < len(words) and _is_adverb(words[j]):
        j += 1
    return j


def _verb_at(words: list[str], j: int) -> bool:
    """A base-form verb starts at ``j`` (adverbs skipped): the verb after ``going to``."""
    j = _skip_adverbs(words, j)
    if j >= len(words):
        return False
    w = words[j]
    if w in ("be", "have", "do", "get", "go"):
        return True
    if w in GOING_NOT_FUTURE or w in CLOSED or _NUMBER.match(w):
        return False
    return _word(w).base


def _going_to(words: list[str], i: int) -> bool:
    """A present *be* at ``i`` followed by ``going to`` / ``gonna`` + verb; in a question the subject comes
    between (``are you going to ...``), so a few words may sit in between."""
    for j in range(i + 1, min(i + 7, len(words))):
        w = words[j]
        if w == "gonna":
            return _verb_at(words, j + 1)
        if w == "going" and j + 1 < len(words) and words[j + 1] == "to":
            return _verb_at(words, j + 2)
        if w in PUNCT_BOUNDARY or w in CLOSED_FINITE or w in OPENERS:
            return False
    return False


def _s_is_verb(words: list[str], i: int) -> bool:
    """``'s`` after a noun: *is/has* when a predicate follows, else a possessive (``john 's car``)."""
    nxt = words[i + 1] if i + 1 < len(words) else ""
    after = words[i + 2] if i + 2 < len(words) else ""
    if not nxt or nxt in AFTER_IS or nxt in PUNCT_BOUNDARY:
        return True
    if nxt in DET or _NUMBER.match(nxt) or nxt in CLOSED:
        return False
    info = _word(nxt)
    if (info.past or info.ing) and not info.noun:  # ``the place 's closed now`` / ``the nation 's accumulated debt``
        return (info.participle or info.ing) and (not after or after in PUNCT_BOUNDARY or after in CLOSED
                                                  or _is_adverb(after) or not _word(after).noun)
    return info.adj and (not after or after in PUNCT_BOUNDARY or after in OPENERS)


def _strong_verb(words: list[str], j: int) -> bool:
    """The word at ``j`` (adverbs skipped) is almost surely a finite verb: the word before it is then a noun."""
    j = _skip_adverbs(words, j)
    if j >= len(words):
        return False
    w = words[j]
    if w in CLOSED_FINITE and w not in ("'s", "'d"):
        return True
    if w in CLOSED or w in PUNCT_BOUNDARY or _NUMBER.match(w):
        return False
    info = _word(w)
    return (info.past and (not info.noun or info.irregular_past)) or (info.pres3 and not info.noun)


def _later_finite(words: list[str], i: int, strong: bool = False) -> bool:
    """An auxiliary or modal (with ``strong``, also an irregular past such as ``sank``) follows later in the same
    clause: what comes before it is still the subject."""
    for w in words[i + 1 :]:
        if w in PUNCT_BOUNDARY or w in OPENERS:
            return False
        if w in CLOSED_FINITE and w not in ("'s", "'d"):
            return True
        if strong and w not in CLOSED and w.isalpha():
            info = _word(w)
            if info.past and info.irregular_past and not info.participle and not info.noun:
                return True
    return False


def _finite(info: Word, w: str, agree: set[str], words: list[str], i: int, after_noun: bool) -> str | None:
    """Tense of an open-class word that follows a subject, or None when it is not a finite verb there."""
    nxt = words[i + 1] if i + 1 < len(words) else ""
    if after_noun and info.noun and w not in VERB_FIRST:
        # a noun-noun compound (``interest rates rose``, ``chicken wings .``), a list (``trucks and vans``), the
        # head of a relative clause
        if (_strong_verb(words, i + 1) or not nxt or nxt in PUNCT_BOUNDARY
                or nxt in ("and", "or", "who", "which", "whose", "where")):
            return None
        if nxt in PREP and _later_finite(words, i, strong=True):
            return None  # ``barge rates on the river sank``
    if after_noun and info.participle and (
            ((nxt in PREP or nxt in ("by", "to") or _is_adverb(nxt)) and _later_finite(words, i))
            or _strong_verb(words, i + 1)):
        return None  # a reduced relative: ``the factors involved in it are ...``, ``the people involved include``
    if info.past and not (nxt == "by" and info.participle):  # ``the dish served by ...`` is a participle
        return "past"
    if info.pres3 and (agree & {"sg", "any"} or w in VERB_FIRST):  # ``the restaurants looks old``
        return "present"
    if info.base and agree & {"pl", "any"}:
        return "present"
    return None


def _after_comma(info: Word, w: str, held: str | None, commas: int, words: list[str], i: int) -> str | None:
    """A verb right after a comma belongs to the subject before an appositive (``X , a lawyer , said``); right
    after the first comma it is more often a participle (``X , based in Y , makes``)."""
    nxt = words[i + 1] if i + 1 < len(words) else ""
    if w in SAY and nxt not in PREP:
        return "past" if info.past else "present"
    if held is None or nxt in ("and", "or", "by"):
        return None
    closing = commas % 2 == 0  # the comma that ends an appositive or a participle phrase
    if info.past and (not info.noun or info.irregular_past):
        if info.participle and not closing and (nxt in PREP or nxt in PUNCT_BOUNDARY or nxt == "to"
                                                or _later_finite(words, i)):
            return None
        return "past"
    if not closing or nxt in PUNCT_BOUNDARY:
        return None
    plain = not info.noun or w in VERB_FIRST or nxt in DET or nxt in OBJ or nxt in PREP or _is_adverb(nxt)
    if info.pres3 and held in ("sg", "any") and plain:
        return "present"
    if info.base and not info.past and held in ("pl", "any") and plain:
        return "present"
    return None


def _imperative(info: Word, words: list[str], i: int) -> bool:
    """A base form opening a clause is an imperative when an object or a particle follows (``try the soup``)."""
    nxt = words[i + 1] if i + 1 < len(words) else ""
    if nxt in CLOSED_FINITE:
        return False
    if not info.noun:
        return True
    if nxt in PREP and nxt not in PARTICLES:  # ``word for word``, ``service with a smile``
        return False
    return nxt in OBJECT_STARTERS or bool(_NUMBER.match(nxt))


def label_tense(tokens: list[str] | str) -> str:
    """Tense of one sentence (a token list or a whitespace-tokenised string): past, present, future or none.

    >>> label_tense("i 'm going to try the soup")
    'future'
    >>> label_tense(["John", "'s", "car", "is", "red"])
    'present'
    """
    words, proper = _split(tokens.split() if isinstance(tokens, str) else tokens)
    # prev: role of the last content word (start, comma, subj, noun, det, num, adj, poss, prep, to, coord, obj,
    # verb); subj: agreement (sg/pl/any) of the noun or pronoun just read; head: agreement of the noun before a
    # prepositional phrase (``the materials in each set reach``); held: the subject before a comma, which a verb
    # after an appositive still belongs to (``Mr. X , a lawyer , said``); commas: commas since the clause began;
    # lead: role of the first word of the clause part since the last comma (a clause opening with a preposition
    # has no subject yet).
    prev, subj, head, held, commas, lead = "start", None, None, None, 0, None
    before: tuple | None = None  # the state before the last comma
    for i, w in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if w in COMMAS:
            if prev == "comma" and before:  # ``X , however , said``: an aside of adverbs is transparent
                (prev, subj, commas), before = before, None
                continue
            before = (prev, subj, commas)
            if held is None and lead not in ("prep", None):
                held = subj or head
            prev, subj, commas, lead = "comma", None, commas + 1, None
            continue
        if w in PUNCT_BOUNDARY or (w in OPENERS and not (w in ("and", "or") and prev in ("noun", "subj"))):
            prev, subj, head, held, commas, lead = "start", None, None, None, 0, None
            continue
        if _is_adverb(w) and w not in SUBJ and (w not in DET or (w in ("all", "both") and subj)):
            continue  # ``we all loved it``
        if prev == "noun" and (w == "than" or (w in ("more", "less") and nxt == "than")):
            continue  # ``net income more than tripled``
        if lead is None:
            lead = "prep" if w in PREP else "other"
        if w in ("and", "or", "&"):  # between noun phrases: the subject becomes plural
            prev, subj = "coord", "pl" if w != "or" else "any"
            continue
        if w in SUBJ and prev not in ("det", "adj", "poss", "num") and not (
                w in DEMONSTRATIVES and prev in ("prep", "verb", "to")):  # ``in that job``, ``to crack that barrier``
            prev, subj = "subj", SUBJ[w]
            continue
        if w == "'s":
            if prev == "subj" or (prev in ("noun", "num") and _s_is_verb(words, i)):
                return "future" if _going_to(words, i) else "present"
            prev, subj = "poss", None
            continue
        if w in MODALS:
            if prev in ("det", "adj", "poss") or proper[i]:  # ``the will``, ``in May``
                prev, subj = "noun", "sg"
                continue
            return MODALS[w]
        if w in AUX:
            return "future" if w in PRESENT_BE and _going_to(words, i) else AUX[w]
        if w in BASE_AUX or w == "be":
            if prev == "to" or (w == "be" and prev != "start"):
                prev, subj = "verb", None
                continue
            return "present"
        if w == "gonna":
            if subj or held:
                return "future"
            continue
        if w == "to":
            prev, subj = "to", None
            continue
        if w in OBJ:
            if w.endswith(("self", "selves")) and prev in ("noun", "subj"):
                continue  # ``the government itself took over``
            prev, subj = "obj", None
            continue
        if w in DET or w in DEMONSTRATIVES:
            prev, subj = "det", None
            continue
        if _NUMBER.match(w):
            prev, subj = "num", "any"
            continue
        if w in PREP and not (w == "like" and subj):
            if prev in ("noun", "subj"):
                head = subj
            prev, subj = "prep", None
            continue
        if proper[i]:
            prev, subj = "noun", "pl" if prev == "coord" else "any" if w.endswith("s") else "sg"
            continue
        info = _word(w)
        if not info.known:  # names, numbers in words, typos: noun-like
            prev, subj = "noun", ("pl" if prev == "coord" else "any" if w.endswith("s") else "sg")
            continue
        tense = None
        if prev in ("subj", "noun", "num") and subj:
            verbal = not info.noun or w in VERB_FIRST
            agree = {subj, head} if prev == "noun" and head and verbal else {subj}
            noun_phrase = (prev == "num" and info.noun and not info.irregular_past) or (  # ``_num_ stars``
                words[i - 1] in DEMONSTRATIVES and info.noun and _strong_verb(words, i + 1))  # ``this set must``
            if not noun_phrase:
                tense = _finite(info, w, agree, words, i, prev == "noun")
        elif prev == "comma":
            tense = _after_comma(info, w, held, commas, words, i)
            if not tense and held is None and info.base and _imperative(info, words, i):
                tense = "present"  # ``for dessert , try the pie``
        elif prev == "start" and info.base and _imperative(info, words, i):
            tense = "present"
        elif prev == "start" and w in SAY and nxt not in PREP:  # ``said one diner , ...``
            tense = "past" if info.past else "present"
        elif prev == "start" and not info.noun and (info.pres3 or info.past):
            # no subject (``loved the pizza !``, ``but gets the job done``); a participle phrase opens with an
            # -ed form before a preposition (``located in the mall , ...``)
            if info.pres3 or not info.participle or nxt in DET or nxt in OBJ or nxt in ("it", "this", "that"):
                tense = "present" if info.pres3 else "past"
        if tense:
            return tense
        if prev == "to" and (info.base or not info.noun):
            prev, subj = "verb", None
        elif info.ing and not info.noun and prev in ("det", "adj", "poss", "noun", "start", "num", "coord"):
            prev, subj = "noun", "sg"  # a gerund in a noun phrase: ``construction spending rose``
        elif info.noun:
            prev, subj = "noun", "pl" if prev == "coord" else info.number
        elif info.adj or info.ing or info.participle:
            prev = "adj"
        else:
            prev, subj = "verb", None
    return NONE


def label_tenses(texts: Iterable[list[str] | str]) -> list[str]:
    """``label_tense`` for many sentences (the word lookups are cached across calls)."""
    return [label_tense(t) for t in texts]
