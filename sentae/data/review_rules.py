"""The lexicon of the embedded review corpus and ``judge``, its labelling rules applied to any sentence.

The grammar in ``sentae.data.reviews`` builds sentences from these word lists; ``judge`` reads the sentiment and
tense back from the words alone, so it agrees with the construction labels on every generated sentence and can
score text that a model wrote.
"""
from __future__ import annotations

import re
from collections import Counter

from .attributes import SENTIMENTS, TENSES

__all__ = ["judge", "SENTIMENTS", "TENSES", "POLARITY"]


def word_tuple(s: str) -> tuple[str, ...]:
    return tuple(s.split())


# -- lexicon ---------------------------------------------------------------------------------------------------
# Polar adjectives by what they describe, as (negative, positive): index 1 = positive, like SENTIMENTS.
ADJ = {
    "food": (word_tuple("bland stale soggy greasy salty dry burnt overcooked undercooked cold tasteless disgusting inedible "
                "mediocre terrible awful bad gross rubbery mushy chewy oily lukewarm"),
             word_tuple("delicious tasty fresh flavorful juicy tender perfect amazing excellent great good fantastic "
                "outstanding superb yummy incredible special crispy savory authentic creamy heavenly")),
    "drink": (word_tuple("watery weak flat bitter sour stale terrible awful bad gross flavorless"),
              word_tuple("delicious fresh refreshing smooth perfect great good excellent tasty amazing crisp")),
    "staff": (word_tuple("rude unfriendly careless unprofessional lazy inattentive clueless useless terrible awful horrible "
                 "dismissive condescending grumpy pushy"),
              word_tuple("friendly attentive helpful polite professional welcoming patient knowledgeable great wonderful "
                 "amazing lovely awesome nice courteous cheerful accommodating")),
    "service": (word_tuple("slow terrible awful horrible bad poor sloppy rude disorganized inconsistent spotty"),
                word_tuple("fast quick prompt friendly attentive efficient excellent great amazing outstanding good flawless "
                   "impeccable speedy")),
    "place": (word_tuple("dirty filthy cramped noisy loud dingy smelly depressing terrible awful tacky gross sticky gloomy "
                 "shabby stuffy"),
              word_tuple("clean cozy beautiful charming comfortable spacious relaxing lovely gorgeous great amazing perfect "
                 "nice inviting stylish elegant peaceful")),
    "price": (word_tuple("expensive overpriced outrageous ridiculous insane steep absurd"),
              word_tuple("reasonable fair affordable great unbeatable")),
    "person": (word_tuple("disappointed upset annoyed unhappy frustrated angry furious disgusted irritated miserable"),
               word_tuple("happy pleased impressed satisfied thrilled delighted glad grateful excited")),
    "general": (word_tuple("terrible awful horrible bad disappointing mediocre poor horrendous atrocious lousy pathetic "
                   "dreadful"),
                word_tuple("great amazing good excellent perfect wonderful fantastic awesome outstanding fine superb terrific "
                   "phenomenal incredible")),
    "event": (word_tuple("terrible awful horrible bad miserable disappointing frustrating unpleasant stressful awkward"),
              word_tuple("great wonderful amazing fantastic lovely excellent good nice awesome perfect pleasant memorable "
                 "relaxing fun")),
}
# Noun heads: domain -> (singular, plural); none of them is a polar word or a verb form.
NOUN = {
    "food": (word_tuple("food pasta pizza soup steak burger salad sandwich chicken fish sushi bread dessert rice curry pie "
                "cake omelette breakfast brunch lunch dinner meal salmon lasagna ramen burrito brisket bagel croissant "
                "cheesecake risotto quesadilla"),
             word_tuple("fries tacos wings noodles ribs pancakes waffles appetizers dumplings desserts meatballs oysters "
                "fajitas enchiladas")),
    "drink": (word_tuple("coffee tea beer wine latte margarita cocktail smoothie lemonade espresso sangria mimosa cider "
                 "milkshake chai"),
              word_tuple("drinks cocktails margaritas beers mimosas")),
    "staff": (word_tuple("waiter waitress server bartender manager owner chef host hostess staff cashier barista "
                 "receptionist valet"),
              word_tuple("servers waiters bartenders employees owners chefs baristas hosts")),
    "service": (word_tuple("service"), ()),
    "place": (word_tuple("place restaurant bar cafe hotel diner bakery pub bistro brewery lounge spa patio room bathroom "
                 "lobby pool atmosphere decor music"),
              word_tuple("rooms bathrooms tables booths")),
    "price": (word_tuple("price bill"), word_tuple("prices")),
    "person": (word_tuple("sister brother husband wife friend mom dad boyfriend girlfriend son daughter boss cousin aunt "
                  "uncle roommate grandma"),
               word_tuple("kids parents friends coworkers roommates cousins")),
}
# Verb inflections: lemma 3sg past participle -ing.
_VERB_TABLE = """
love loves loved loved loving|like likes liked liked liking|enjoy enjoys enjoyed enjoyed enjoying
recommend recommends recommended recommended recommending|adore adores adored adored adoring
appreciate appreciates appreciated appreciated appreciating|hate hates hated hated hating
dislike dislikes disliked disliked disliking|avoid avoids avoided avoided avoiding
forget forgets forgot forgotten forgetting|ignore ignores ignored ignored ignoring|have has had had having
do does did done doing|take takes took taken taking|come comes came come coming|go goes went gone going
keep keeps kept kept keeping|wait waits waited waited waiting|taste tastes tasted tasted tasting
look looks looked looked looking|smell smells smelled smelled smelling|seem seems seemed seemed seeming
feel feels felt felt feeling|sound sounds sounded sounded sounding|treat treats treated treated treating
serve serves served served serving|greet greets greeted greeted greeting|seat seats seated seated seating
cook cooks cooked cooked cooking|make makes made made making|get gets got gotten getting
order orders ordered ordered ordering|try tries tried tried trying|eat eats ate eaten eating
leave leaves left left leaving|visit visits visited visited visiting
complain complains complained complained complaining"""
VERB = {row[0]: tuple(row[1:]) for row in (r.split() for r in _VERB_TABLE.replace("\n", "|").split("|")) if row}
POLAR_VERB = (word_tuple("hate dislike avoid"), word_tuple("love like enjoy recommend adore appreciate"))
STAFF_VERB = (word_tuple("ignore forget"), ())  # negative verbs whose subject is the staff
OTHER_VERB = (word_tuple("complain"), ())  # known to judge ("i ca n't complain"), not used by the grammar
POLAR_ADV = (word_tuple("poorly badly rudely slowly terribly horribly"),
             word_tuple("perfectly beautifully nicely warmly promptly quickly"))
POLAR_NOUN = (word_tuple("disaster nightmare mess joke waste disappointment letdown ripoff complaint complaints problem "
                 "problems issue issues"), word_tuple("gem delight pleasure winner bargain favorite"))
POLAR_OPENER = (word_tuple("sadly unfortunately"), word_tuple("luckily thankfully fortunately"))
POLAR_OTHER = (word_tuple("forever"), word_tuple("worth"))  # "took forever", "worth the price"
NEGATORS = frozenset(word_tuple("not n't never no nothing hardly"))
def _forms(lemma: str) -> tuple[str, ...]:
    return (lemma, *VERB[lemma])


def _polar_words() -> dict[str, int]:
    verbs = tuple(tuple(f for lemma in a + b + c for f in _forms(lemma))
                  for a, b, c in zip(POLAR_VERB, STAFF_VERB, OTHER_VERB))
    lex: dict[str, int] = {}
    for neg, pos in [*ADJ.values(), POLAR_ADV, POLAR_NOUN, POLAR_OPENER, POLAR_OTHER, verbs]:
        lex.update(dict.fromkeys(neg, -1))
        lex.update(dict.fromkeys(pos, 1))
    return lex


POLARITY = _polar_words()  # word -> +1 / -1


# -- judge -----------------------------------------------------------------------------------------------------
LINKING = frozenset(f for lemma in word_tuple("taste look smell seem feel sound") for f in _forms(lemma))
BACK_PREV = frozenset(_forms("come") + _forms("go") + word_tuple("be been being is are am was were 'm 're 's"))
BOUNDARIES = frozenset(word_tuple(". ! ? , ; : and but because although though while"))
# Tense: forms that are always finite, forms finite only after a subject, and forms inside a verb group.
FINITE = {**{forms[0]: "present" for forms in VERB.values()}, **{forms[1]: "past" for forms in VERB.values()},
          "is": "present", "are": "present", "am": "present", "'m": "present", "'re": "present", "'ve": "present",
          "can": "present", "ca": "present", "was": "past", "were": "past", "will": "future", "'ll": "future",
          "wo": "future", "shall": "future"}
BASE = frozenset(VERB) | {"be"}
BE_FINITE = frozenset(word_tuple("is are am 'm 're 's was were"))
IN_GROUP = frozenset(f for forms in VERB.values() for f in forms[2:]) | frozenset(word_tuple("been being"))
MODAL = frozenset(word_tuple("could would should might must may 'd"))
GROUP_ADVERBS = NEGATORS | frozenset(word_tuple("really also just always still definitely absolutely usually often even "
                                       "totally truly highly probably certainly sometimes already ever actually"))
S_PRONOUNS = frozenset(word_tuple("it that he she there here what everything this who everyone nothing something"))
SUBJECTS = frozenset(word_tuple("i we you they people guys folks")) | frozenset(
    w for _, plur in NOUN.values() for w in plur)
TIME_NOUNS = frozenset(word_tuple("night week weekend time month year visit"))
_SPLIT = [(re.compile(r"[\u2018\u2019`]"), "'"), (re.compile(r"(\w)n't\b"), r"\1 n't"),
          (re.compile(r"(\w)'(s|re|ve|ll|m|d)\b"), r"\1 '\2"), (re.compile(r"([.,!?;:()\"])"), r" \1 ")]


def _tokens(text: str) -> list[str]:
    text = text.lower()
    for pattern, repl in _SPLIT:
        text = pattern.sub(repl, text)
    return text.split()


def _polarity(toks: list[str], i: int) -> int:
    t = toks[i]
    prev = toks[i - 1] if i else ""
    if t == "back":
        return 1 if prev in BACK_PREV else 0
    if t in _forms("like") and prev in LINKING:  # "tastes like": a preposition, not the verb
        return 0
    return POLARITY.get(t, 0)


def _sentiment(toks: list[str]) -> str | None:
    votes, pending = [], False
    for i, t in enumerate(toks):
        if t in BOUNDARIES:
            pending = False  # negation does not reach past its clause
        elif t in NEGATORS:
            pending = not pending
        elif (p := _polarity(toks, i)) != 0:
            votes.append(-p if pending else p)
            pending = False  # a negator flips the first polar word after it, and only that one
    if not votes:
        return None
    total = sum(votes)
    return SENTIMENTS[(total if total else votes[-1]) > 0]


def _skip_adverbs(toks: list[str], i: int) -> int:
    while i < len(toks) and toks[i] in GROUP_ADVERBS:
        i += 1
    return i


def _going_to(toks: list[str], i: int) -> bool:
    """Whether ``going to VERB`` starts at index ``i``, adverbs and negators allowed around ``going to``."""
    i = _skip_adverbs(toks, i)
    j = _skip_adverbs(toks, i + 2)
    return toks[i : i + 2] == ["going", "to"] and j < len(toks) and toks[j] in BASE


def _time_marks(toks: list[str]) -> list[str]:
    marks = []
    for i, t in enumerate(toks):
        nxt = toks[i + 1] if i + 1 < len(toks) else ""
        if t in ("yesterday", "ago") or (t == "last" and nxt in TIME_NOUNS):
            marks.append("past")
        elif t in ("tomorrow", "soon") or (t == "next" and nxt in TIME_NOUNS):
            marks.append("future")
        elif t in ("now", "nowadays", "usually", "always", "often") or (t, nxt) == ("these", "days") \
                or (t == "every" and nxt in TIME_NOUNS):
            marks.append("present")
    return marks


def _tense(toks: list[str]) -> str | None:
    votes: list[str] = []
    in_group, prev = False, ""
    for i, t in enumerate(toks):
        if t in GROUP_ADVERBS or (t in ("here", "there") and toks[i + 1 : i + 2] != ["'s"]):
            continue  # "was n't", "will never", "always have", "the prices here seem": the group stays open
        tag, verb = None, True
        if t in FINITE or (t == "'s" and i and toks[i - 1] in S_PRONOUNS):
            tag = FINITE.get(t, "present")
            if t in BE_FINITE and _going_to(toks, i + 1):
                tag = "future" if tag == "present" else "past"  # "is going to be"; "was going to" is past
        elif t == "going" and _going_to(toks, i) or t == "gon" and toks[i + 1 : i + 2] == ["na"]:
            tag = "future"
        elif t in BASE:
            # a bare verb is finite (present) only right after a subject: "we love", not "to love", "the wait"
            tag = None if in_group else ("present" if prev in SUBJECTS else None)
            verb = in_group or tag is not None
        elif t not in MODAL:
            verb = in_group and t in IN_GROUP
        if tag and not in_group:
            votes.append(tag)  # only the first verb of a group carries tense: "was cooked", "will come"
        in_group, prev = verb, t
    marks = _time_marks(toks)
    if not votes:
        votes, marks = marks, []
    if not votes:
        return None
    counts = Counter(votes)
    tied = [t for t in TENSES if counts[t] == max(counts.values())]
    if len(tied) > 1:
        by_time = Counter(m for m in marks if m in tied)
        best = [t for t in tied if by_time[t] and by_time[t] == max(by_time.values())]
        return best[0] if len(best) == 1 else next(v for v in reversed(votes) if v in tied)
    return tied[0]


def judge(text: str) -> dict[str, str | None]:
    """Sentiment and tense of any sentence by the corpus's rules, ``None`` where the sentence gives no evidence.

    Sentiment: each polar word (or "come/go/be back") votes +1 or -1; a negator (not, n't, never, no, nothing,
    hardly) flips the first polar word after it in its clause; the sign of the sum decides, a tie goes to the last
    polar word. Tense: the first verb of each verb group votes (will/'ll/wo n't and "be going to" -> future;
    was, loved, took -> past; is, loves, "we love" -> present); the majority wins, a tie goes to time words
    (yesterday, last night / now, these days / tomorrow, next time), then to the last group. Time words alone
    decide when there is no verb. Unknown words are ignored.

    >>> judge("the <unk> was cold but our waiter was great")  # one polar word each: the last one decides
    {'sentiment': 'positive', 'tense': 'past'}
    >>> judge("We didn't hate it.")  # untokenised text is split the corpus's way first
    {'sentiment': 'positive', 'tense': 'past'}
    >>> judge("the pasta")
    {'sentiment': None, 'tense': None}
    """
    toks = _tokens(text)
    return {"sentiment": _sentiment(toks), "tense": _tense(toks)}
