"""The closed-class words and token rules of the tense labeller (``sentae.data.tense``): modals, auxiliaries,
subjects, determiners, prepositions, contractions, and how a token is read (a lemminflect lexicon lookup)."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable, NamedTuple

# -- closed classes ---------------------------------------------------------------------------------------------


def _words(text: str) -> set[str]:
    return set(text.split())


def _tag(text: str, tense: str) -> dict[str, str]:
    return dict.fromkeys(text.split(), tense)


MODALS = {**_tag("will 'll shall wo sha wilt", "future"), **_tag("could would 'd", "past"),
          **_tag("can ca may must might should ought", "present")}
AUX = {**_tag("is are am 're 'm ai has 've does", "present"), **_tag("was were had did", "past")}
BASE_AUX = _tag("have do", "present")  # finite unless after ``to``
PRESENT_BE = _words("is are am 're 'm 's ai")
SUBJ = {**_tag("i you we they these those u ya", "pl"), **_tag("that there here who which what none", "any"),
        **_tag("he she it this everyone everybody everything someone somebody something anyone anybody anything "
               "nobody nothing one each either neither", "sg")}
OBJ = _words("me him us them myself yourself himself herself itself ourselves yourselves themselves 'em")
DET = _words("the a an my your his her its our their some any no every another such whose several many few much "
             "more most less least all both half own other 's")
PREP = _words("in on at for with from of by about into onto under through during without within between among "
              "against toward towards upon across behind beyond via per despite except throughout amid than "
              "including around over off out inside outside near like unlike along below above beside besides "
              "regarding concerning amongst")
OPENERS = _words("and but or because if when while although though since as after before until till unless whether "
                 "where why how yet nor plus whenever wherever whereas cause 'cause cuz whatever whoever")
ADVERBS = _words("not n't never really always just also still even only already often usually sometimes ever too "
                 "very so definitely probably actually absolutely totally certainly finally recently honestly "
                 "literally seriously simply truly basically personally generally typically immediately quickly "
                 "rarely seldom pretty again now then all both almost nearly hardly barely quite rather once first "
                 "later soon sure kinda kind sort sorta def prob maybe perhaps sadly unfortunately luckily "
                 "thankfully apparently obviously clearly initially originally previously currently mostly largely "
                 "please however meanwhile instead therefore thus indeed moreover furthermore nevertheless "
                 "nonetheless otherwise consequently hence accordingly likewise similarly overall anyway anyways "
                 "besides well oh ok okay yes wow yeah hey lol alas today tonight yesterday here there ago either")
PLURAL_NOUNS = _words("people police children men women folks cattle feet teeth mice geese data")
COLLECTIVE_NOUNS = _words("staff crew team family management couple group majority rest government company public "
                          "board none lot bunch number series")
OBJECT_STARTERS = DET | OBJ | PREP | _words("it this that these those you yourself here there away back up down in "
                                            "out on off by to elsewhere somewhere anywhere again now early home 's "
                                            "us _num_ what whatever everything something anything nothing everyone "
                                            "someone n't not ahead sure yourselves over around inside outside "
                                            "twice once ahold each")
PARTICLES = _words("in out up down back off on away over around by inside outside")
GOING_NOT_FUTURE = _words("bed school church work town class dinner lunch breakfast jail court college market war "
                          "hell heaven sleep brunch")
AFTER_IS = _words("not n't been got gotten a an the so very too really always just also still never going gonna "
                  "gon no all only pretty definitely probably actually here there back over about quite like gone "
                  "done become more most better worse best worst one my your our their his her its this that what "
                  "now nothing something everything because where how why when in on at for with from by to if")
COMMAS = {",", "--", "(", ")", "-lrb-", "-rrb-"}
SAY = _words("said says say added adds noted notes asked asks explained explains recalled recalls argued argues "
             "wrote writes continued continues replied")
PUNCT_BOUNDARY = {",", ";", ":", "--", "-", "(", ")", "-lrb-", "-rrb-", "-lcb-", "-rcb-", "[", "]", "...", ".",
                  "!", "?", "/", "&"}
QUOTES = {"``", "''", '"', "'", "`", "*", "**"}
_EDGE = re.compile(r"^([(\[]*)(.*?)([)\],!?;:]*)$")
_ABBREVIATIONS = _words("etc inc ltd corp bros dept univ mrs st dr mr ms jr sr vs")  # keep their final period
_CONTRACTION = re.compile(r"^(.+?)(n't|'s|'re|'ve|'ll|'d|'m)$")
_SPECIAL = {"can't": ["ca", "n't"], "won't": ["wo", "n't"], "ain't": ["ai", "n't"], "shan't": ["sha", "n't"],
            "cannot": ["can", "not"], "gon": ["gonna"], "let's": ["let", "'s"]}


class Word(NamedTuple):
    """What lemminflect's lexicon says a lower-cased word can be: ``number`` is the verb agreement of its noun
    reading (sg / pl / any); ``past`` a VBD form, ``pres3`` a VBZ form, ``base`` a VB/VBP form, ``ing`` a VBG form;
    ``irregular_past`` a past form without the regular -ed (rose, saw); ``participle`` can also be a VBN."""

    known: bool
    noun: bool
    number: str
    adj: bool
    adv: bool
    past: bool
    pres3: bool
    base: bool
    ing: bool
    irregular_past: bool
    participle: bool


@lru_cache(maxsize=None)
def _word(w: str) -> Word:
    from lemminflect import getAllInflections, getAllLemmas  # lazy: the lexicon costs 0.3 s to load

    lemmas = getAllLemmas(w)
    if not lemmas and w[:1].isalpha():
        lemmas = getAllLemmas(w.capitalize())
    past = pres3 = base = ing = irregular = participle = False
    for lemma in lemmas.get("VERB", ()):
        forms = getAllInflections(lemma, "VERB")
        vbn = forms.get("VBN", ())
        participle = participle or w in vbn
        if w in forms.get("VBD", ()):
            past = True
            irregular = irregular or not w.endswith("ed")
            participle = participle or not vbn  # lemminflect lists VBN only where it differs from VBD
        pres3 = pres3 or w in forms.get("VBZ", ())
        base = base or w in forms.get("VB", ()) or w in forms.get("VBP", ())
        ing = ing or w in forms.get("VBG", ())
    nouns = lemmas.get("NOUN", ()) + lemmas.get("PROPN", ())
    number = "any" if w in COLLECTIVE_NOUNS else "pl" if w in PLURAL_NOUNS or any(n != w for n in nouns) else "sg"
    return Word(bool(lemmas), bool(nouns), number, "ADJ" in lemmas, "ADV" in lemmas, past, pres3, base, ing,
                irregular, participle)


def _split(tokens: Iterable[str]) -> tuple[list[str], list[bool]]:
    """Lower-case, straighten apostrophes, drop quotes, split unsplit contractions, join ``gon na``. Also returns
    which words are proper-noun-like: capitalised inside a sentence of mixed-case input."""
    toks = list(tokens)
    cased = any(t[:1].isupper() and t != "I" for t in toks[1:])
    out: list[str] = []
    proper: list[bool] = []
    for tok in toks:
        t = tok.lower().replace("\u2019", "'").replace("\u2018", "'").strip('"\u201c\u201d')
        if not t or t in QUOTES:
            continue
        m = _EDGE.match(t)  # untokenised text: ``(great!`` -> ``(``, ``great``, ``!``
        lead, t, tail = (m.group(1), m.group(2), m.group(3)) if m and m.group(2) else ("", t, "")
        if t.endswith(".") and t[:-1].isalpha() and len(t) > 3 and t[:-1] not in _ABBREVIATIONS and not tail:
            t, tail = t[:-1], "."
        c = _CONTRACTION.match(t) if "'" in t[1:] else None
        if t in _SPECIAL:
            parts = list(_SPECIAL[t])
        elif c and c.group(1).isalpha():
            parts = [c.group(1), c.group(2)]
        elif t == "na" and out and out[-1] == "gonna":
            continue
        else:
            parts = [t]
        cap = cased and tok[:1].isupper() and bool(out) and out[-1] not in (".", "!", "?", ":", ";", "--")
        parts = list(lead) + parts + list(tail)
        out.extend(parts)
        proper.extend([False] * len(lead) + [cap] + [False] * (len(parts) - len(lead) - 1))
    return out, proper


_NUMBER = re.compile(r"^(_num_|[$#]?[\d][\d.,:/%-]*|one|two|three|four|five|six|seven|eight|nine|ten|hundred|"
                     r"thousand|million|billion|dozen|twenty|thirty|forty|fifty)$")
CLOSED_FINITE = set(MODALS) | set(AUX) | {"'s", "'d"}
DEMONSTRATIVES = {"this", "that", "these", "those"}
CLOSED = CLOSED_FINITE | set(SUBJ) | OBJ | DET | PREP | set(BASE_AUX) | {"to", "be", "been", "being"}
# common verbs whose plural-noun reading is rare, so ``the place looks`` is read as a verb
VERB_FIRST = _words("goes looks comes makes takes works tastes serves closes opens gives knows feels needs offers "
                    "seems says gets wants sits runs keeps holds shows plans expects owns remains sells buys pays "
                    "calls rocks sucks rules")
