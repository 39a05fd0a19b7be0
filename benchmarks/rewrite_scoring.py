"""Scoring of sentence rewrites on Yelp test, shared by ``benchmarks/yelp_rewrite.py`` and its tests: the published
systems' files (Li et al. 2018's repository), the rewriting tasks, the judging of one task's rewrites, the target
table and the choice of the control knob's value. Nothing here loads a model; judges come in as functions."""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

Judge = Callable[[Sequence[str]], Sequence[str | None]]  # sentences -> value per sentence (None: no verdict)
Ask = dict[str, str]  # the attribute values one sentence is asked to take

FLIP = {"negative": "positive", "positive": "negative"}
SIDES = {"0": "negative", "1": "positive"}  # Li et al.'s file suffixes: x.0 negative, x.1 positive

# The tense asked for with a sentiment flip in the "both at once" task, from the tense the labeller reads.
COMBINED_TENSE = {"past": "present", "present": "past", "future": "past"}

# How each file name of evaluation/outputs/yelp/ maps to a system: every one of the 1,000 outputs of each file is
# identical, line by line, to the file of luofuli/DualRL (Luo et al. 2019, who re-published these outputs under
# system names) at outputs/yelp/<dir>/test.{0,1}.tsf, commit f412d903de683cf00ca471a1e413f916911a811c; "human"
# is identical to Li et al.'s own data/yelp/reference.{0,1}.
SYSTEMS: dict[str, dict[str, str]] = {
    "mit": {"name": "CrossAligned", "paper": "Shen et al. 2017", "dualrl": "CrossAlignment_Shen"},
    "fader": {"name": "StyleEmbedding", "paper": "Fu et al. 2018", "dualrl": "StyleEmbedding_Fu"},
    "multi_decoder": {"name": "MultiDecoder", "paper": "Fu et al. 2018", "dualrl": "Multidecoder_Fu"},
    "rule_base": {"name": "TemplateBased", "paper": "Li et al. 2018", "dualrl": "TemplateBase_Li"},
    "retrieval": {"name": "RetrieveOnly", "paper": "Li et al. 2018", "dualrl": "RetrieveOnly_Li"},
    "label": {"name": "DeleteOnly", "paper": "Li et al. 2018", "dualrl": "DeleteOnly_Li"},
    "orgin": {"name": "DeleteAndRetrieve", "paper": "Li et al. 2018", "dualrl": "DeleteRetrieve_Li"},
    "human": {"name": "human references", "paper": "Li et al. 2018", "dualrl": ""},
}
IDENTIFIED_BY = ("each file's 1,000 outputs are identical line by line to luofuli/DualRL outputs/yelp/<dir>/"
                 "test.{0,1}.tsf (commit f412d903), where Luo et al. 2019 name the systems; 'human' is identical to "
                 "data/yelp/reference.{0,1}")


# -- reading Li et al.'s files ----------------------------------------------------------------------------------
def read_pairs(path: Path) -> list[tuple[str, str]]:
    """(source, rewrite) pairs of a file with one ``source<TAB>rewrite[<TAB>label]`` line per sentence."""
    pairs = []
    for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2:
            raise ValueError(f"{path}, line {n}: expected 'source<TAB>rewrite', found no tab")
        pairs.append((fields[0].strip(), fields[1].strip()))
    return pairs


def read_published(folder: Path) -> dict[str, dict[str, list[tuple[str, str]]]]:
    """Every system of ``folder/evaluation/outputs/yelp/sentiment.test.{0,1}.<system>``: system -> source sentiment
    (negative for .0, positive for .1) -> (source, rewrite) pairs. A system needs both files."""
    base = Path(folder) / "evaluation" / "outputs" / "yelp"
    if not base.is_dir():
        raise FileNotFoundError(f"{base}: not found (expected a copy of lijuncen/Sentiment-and-Style-Transfer)")
    systems: dict[str, dict[str, list[tuple[str, str]]]] = {}
    for path in sorted(base.glob("sentiment.test.[01].*")):
        side, system = path.name.split(".", 3)[2:]
        systems.setdefault(system, {})[SIDES[side]] = read_pairs(path)
    missing = [s for s, sides in systems.items() if len(sides) != 2]
    if missing:
        raise FileNotFoundError(f"{base}: {', '.join(missing)} lack one of sentiment.test.0 / sentiment.test.1")
    return systems


def read_references(folder: Path) -> dict[str, list[tuple[str, str]]]:
    """Li et al.'s human rewrites, ``folder/data/yelp/reference.{0,1}``: source sentiment -> (source, rewrite)."""
    base = Path(folder) / "data" / "yelp"
    return {SIDES[s]: read_pairs(base / f"reference.{s}") for s in SIDES}


# The Yelp corpus is lower-cased and tokenised (``it 's``, ``did n't``, ``_num_``); the human rewrites are not
# ("It didn't taste watered down at all."). Judges and BLEU see them in the corpus's form, or every contraction
# would be an unknown word to the classifier and the LM and a missed n-gram to BLEU.
_CONTRACTION = re.compile(r"^([a-z]+?)(n't|'s|'re|'ve|'ll|'d|'m)$")
_SPECIAL = {"can't": ["ca", "n't"], "won't": ["wo", "n't"], "cannot": ["can", "not"]}
_KEEP = {"``", "''", "...", "--", "n't", "'s", "'re", "'ve", "'ll", "'d", "'m"}  # already corpus tokens
_LEAD = "(\"`$#"
_TRAIL = ".,!?;:)\""
_NUMBER = re.compile(r"^\d+([.,]\d+)*$")  # the corpus keeps 8:30, 1/2, 2nd and 10-15 as they are
_ABBREVIATIONS = {"dr.", "mr.", "mrs.", "ms.", "st.", "jr.", "vs.", "etc."}


def _split_token(tok: str) -> list[str]:
    if tok in _KEEP or tok in _ABBREVIATIONS:
        return [tok]
    lead: list[str] = []
    while len(tok) > 1 and tok[0] in _LEAD:
        lead.append(tok[0])
        tok = tok[1:]
    trail: list[str] = []
    while len(tok) > 1:
        if tok.endswith("...") and len(tok) > 3:
            trail.insert(0, "...")
            tok = tok[:-3]
        elif tok[-1] in _TRAIL:
            trail.insert(0, tok[-1])
            tok = tok[:-1]
        else:
            break
    if tok in _SPECIAL:
        core = list(_SPECIAL[tok])
    elif m := _CONTRACTION.match(tok):
        core = [m.group(1), m.group(2)]
    else:
        core = ["_num_" if _NUMBER.match(tok) else tok]
    return lead + core + trail


def normalize(text: str) -> str:
    """``text`` in the Yelp corpus's form: lower case, punctuation and contractions split off (``did n't``,
    ``it 's``), numbers as ``_num_``, straight double quotes as `````` and ``''``. Corpus text comes back as it was."""
    text = text.lower().translate(str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'}))
    out, opened = [], False
    for tok in text.split():
        for t in _split_token(tok):
            if t == '"':  # a straight double quote opens or closes, as the corpus's `` and ''
                t, opened = ("''" if opened else "``"), not opened
            out.append(t)
    return " ".join(out)


# -- the tasks --------------------------------------------------------------------------------------------------
TASKS = ("sentiment negative->positive", "sentiment positive->negative", "tense past->present",
         "tense present->past", "tense past/present->future", "sentiment and tense", "unchanged")
TRANSFER_TASKS = TASKS[:-1]  # the tasks that ask for a change (the fluency target pools their rewrites)
BOTH = "sentiment (both directions)"  # both flips pooled: accuracy averaged, self-BLEU over all their sentences


def build_tasks(sentiments: Sequence[str], tenses: Sequence[str]) -> dict[str, list[tuple[int, Ask]]]:
    """Each task's sentences (indices into the corpus) and what each is asked, from the sentences' sentiment (the
    corpus label) and tense (the labeller's reading; ``none`` when it finds no finite verb):

    - sentiment each way: every sentence of that sentiment, asked for the other one;
    - tense past -> present, present -> past, and past or present -> future;
    - sentiment and tense at once: every sentence with a tense, asked for the other sentiment and for
      ``COMBINED_TENSE`` of its tense (past -> present, present -> past, future -> past);
    - unchanged: every sentence asked for the sentiment it has and (when it has one) the tense it has.
    """
    if len(sentiments) != len(tenses):
        raise ValueError(f"{len(sentiments)} sentiments but {len(tenses)} tenses")
    tasks: dict[str, list[tuple[int, Ask]]] = {name: [] for name in TASKS}
    for i, (s, t) in enumerate(zip(sentiments, tenses)):
        tasks[f"sentiment {s}->{FLIP[s]}"].append((i, {"sentiment": FLIP[s]}))
        if t == "past":
            tasks["tense past->present"].append((i, {"tense": "present"}))
        if t == "present":
            tasks["tense present->past"].append((i, {"tense": "past"}))
        if t in ("past", "present"):
            tasks["tense past/present->future"].append((i, {"tense": "future"}))
        if t in COMBINED_TENSE:
            tasks["sentiment and tense"].append((i, {"sentiment": FLIP[s], "tense": COMBINED_TENSE[t]}))
        tasks["unchanged"].append((i, {"sentiment": s, **({"tense": t} if t in COMBINED_TENSE else {})}))
    return tasks


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """sentae's corpus BLEU (sacrebleu, 0..100, no further tokenisation)."""
    from sentae.evaluation.text import corpus_bleu as bleu

    return bleu(hypotheses, references)


def judge_task(rewrites: Sequence[str], sources: Sequence[str], asks: Sequence[Ask], judges: dict[str, Judge],
               references: Sequence[str] | None = None,
               second_judges: dict[str, Judge] | None = None) -> dict[str, float | int]:
    """Scores of one task's rewrites: for each asked attribute, the share the judge reads at the asked value
    (``acc_<attribute>``; no verdict counts as wrong), ``accuracy`` (all asked attributes right at once),
    ``self_bleu`` to the sources, the share ``identical`` to the source, and with ``references`` (human rewrites of
    the same sentences) ``ref_bleu``. ``second_judges`` (attribute -> another judge) add ``acc2_<attribute>``: the
    same share by a judge of another kind, reported beside the first, never mixed into ``accuracy``."""
    n = len(rewrites)
    if not n or len(sources) != n or len(asks) != n:
        raise ValueError(f"judge_task: {n} rewrites, {len(sources)} sources, {len(asks)} asks (equal and > 0)")
    attributes = sorted({a for ask in asks for a in ask})
    ok = [True] * n
    out: dict[str, float | int] = {"sentences": n}
    for a in attributes:
        idx = [i for i, ask in enumerate(asks) if a in ask]
        verdict = list(judges[a]([rewrites[i] for i in idx]))
        right = [v == asks[i][a] for i, v in zip(idx, verdict)]
        out[f"acc_{a}"] = sum(right) / len(idx)
        for i, r in zip(idx, right):
            ok[i] = ok[i] and r
        if second_judges and a in second_judges:
            verdict2 = list(second_judges[a]([rewrites[i] for i in idx]))
            out[f"acc2_{a}"] = sum(v == asks[i][a] for i, v in zip(idx, verdict2)) / len(idx)
    out["accuracy"] = sum(ok) / n
    out["self_bleu"] = corpus_bleu(rewrites, sources)
    out["identical"] = sum(" ".join(r.split()) == " ".join(s.split()) for r, s in zip(rewrites, sources)) / n
    if references is not None:
        out["ref_bleu"] = corpus_bleu(rewrites, references)
    return out


def pooled_ppl(reports: Sequence[dict]) -> float:
    """Per-word perplexity over the sentences of several ``lm_perplexity`` reports, as if scored together."""
    nats = sum(r["nats_per_word"] * (r["tokens"] + r["sentences"]) for r in reports)
    predicted = sum(r["tokens"] + r["sentences"] for r in reports)
    return math.exp(nats / predicted)


# -- the targets ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """One row of the issue's target table: ``checks`` are (metric key, ``>=`` or ``<=``, bound); a bound of
    ``None`` is filled in from ``bounds`` when the table is read (the fluency bound depends on the real test)."""

    measure: str
    target: str
    checks: tuple[tuple[str, str, float | str], ...]

    def met(self, measured: dict[str, float], bounds: dict[str, float] | None = None) -> bool | None:
        """Whether every check holds; None when a measured key is missing (not measured)."""
        result = True
        for key, op, bound in self.checks:
            if key not in measured:
                return None
            limit = (bounds or {})[bound] if isinstance(bound, str) else bound
            value = measured[key]
            result = result and (value >= limit if op == ">=" else value <= limit)
        return result


SENTIMENT_TARGET = {"accuracy": 0.85}
TENSE_TARGET = {"accuracy": 0.90}
COMBINED_TARGET = {"acc_sentiment": 0.80, "acc_tense": 0.80}
ACCURACY_TARGETS = {  # what the scale of each task must reach (chosen on valid)
    "sentiment negative->positive": SENTIMENT_TARGET, "sentiment positive->negative": SENTIMENT_TARGET,
    "tense past->present": TENSE_TARGET, "tense present->past": TENSE_TARGET,
    "tense past/present->future": TENSE_TARGET, "sentiment and tense": COMBINED_TARGET,
}


def _task_target(task: str, target: str, acc: dict[str, float], bleu: float) -> Target:
    checks = tuple((f"{task}/{k}", ">=", v) for k, v in acc.items()) + ((f"{task}/self_bleu", ">=", bleu),)
    return Target(task, target, checks)


TARGETS: tuple[Target, ...] = (
    Target("reconstruction BLEU of test (greedy)", "≥ 60", (("recon_bleu", ">=", 60.0),)),
    *(_task_target(t, "accuracy ≥ 0.85, self-BLEU ≥ 45", SENTIMENT_TARGET, 45.0)
      for t in ("sentiment negative->positive", "sentiment positive->negative")),
    *(_task_target(t, "accuracy ≥ 0.90, self-BLEU ≥ 50", TENSE_TARGET, 50.0)
      for t in ("tense past->present", "tense present->past", "tense past/present->future")),
    _task_target("sentiment and tense", "both accuracies ≥ 0.80, self-BLEU ≥ 35", COMBINED_TARGET, 35.0),
    Target("fluency PPL of the rewrites (Yelp LM)", "≤ 1.5 × real test", (("fluency_ppl", "<=", "fluency"),)),
    Target("unchanged attribute: self-BLEU", "≥ 80", (("unchanged/self_bleu", ">=", 80.0),)),
)


def target_table(measured: dict[str, float], real_ppl: float) -> list[dict]:
    """The target table: each row's measure, target, the measured values it reads and whether it is met (None:
    not measured). ``measured`` keys: ``recon_bleu``, ``fluency_ppl``, ``<task>/<metric>``."""
    bounds = {"fluency": 1.5 * real_ppl}
    rows = []
    for t in TARGETS:
        target = t.target.replace("1.5 × real test", f"{bounds['fluency']:.1f} (1.5 × real test {real_ppl:.1f})")
        rows.append({"measure": t.measure, "target": target,
                     "measured": {k: measured[k] for k, _, _ in t.checks if k in measured},
                     "met": t.met(measured, bounds)})
    return rows


def choose_scale(curve: dict[float, dict[str, float]], requirement: dict[str, float]) -> tuple[float, bool]:
    """The knob value to use for a task, from its curve (scale -> scores): among the scales whose scores meet every
    bound of ``requirement``, the one with the highest self-BLEU (the smaller scale on a tie); when none does, the
    one that falls least short of its worst bound. Returns (scale, whether the requirement is met)."""
    if not curve:
        raise ValueError("choose_scale: empty curve")

    def shortfall(scores: dict[str, float]) -> float:
        return max(bound - scores[k] for k, bound in requirement.items())

    meeting = [k for k, s in curve.items() if shortfall(s) <= 0]
    if meeting:
        return min(meeting, key=lambda k: (-curve[k]["self_bleu"], k)), True
    return min(curve, key=lambda k: (shortfall(curve[k]), k)), False


# -- reporting --------------------------------------------------------------------------------------------------
def _fmt(v: float, m: str) -> str:
    return f"{v:.1f}" if "bleu" in m or "ppl" in m else f"{v:.3f}"


def markdown_tables(runs: list[dict], published: dict, scales: list[float]) -> str:
    """The results as markdown: per run its target table and its curve on test, then the published systems."""
    lines: list[str] = []
    for r in runs:
        lines.append(f"\n### {r['name']} ({r['run']}): target table (test, each task at its scale chosen on valid)\n")
        lines.append("| measure | target | measured | scale | met |\n|---|---|---|---|---|")
        for row in r["targets"]:
            task = row["measure"]
            k = r["scale_choice"].get(task, {}).get("scale", r["unchanged_scale"] if task.startswith("unchanged") else "")
            got = ", ".join(f"{key.split('/')[-1]} {_fmt(v, key)}" for key, v in row["measured"].items())
            met = {True: "yes", False: "no", None: "not measured"}[row["met"]]
            lines.append(f"| {task} | {row['target']} | {got} | {k} | {met} |")
        lines.append("\nCurve on test: accuracy / self-BLEU (/ BLEU to the human rewrites for the sentiment flips) / "
                     "sentiment accuracy by the lexicon judge / fluency PPL\n")
        lines.append("| task | " + " | ".join(f"k={k:g}" for k in scales) + " |\n|---|" + "---|" * len(scales))
        for task in (*TASKS, BOTH):
            cells = []
            for k in scales:
                c = r["test_curve"][str(k)].get(task)
                if c is None:
                    cells.append("–")
                    continue
                extra = f" / ref {c['ref_bleu']:.1f}" if "ref_bleu" in c else ""
                extra += f" / lexicon {c['acc2_sentiment']:.2f}" if "acc2_sentiment" in c else ""
                extra += f" / PPL {c['fluency']['ppl_per_word']:.0f}" if "fluency" in c else ""
                cells.append(f"{c['accuracy']:.2f} / {c['self_bleu']:.1f}{extra}")
            lines.append(f"| {task} | " + " | ".join(cells) + " |")
    if published:
        lines.append("\n### Published systems on the same test, same judges\n")
        lines.append("| system | neg→pos acc | pos→neg acc | accuracy | lexicon accuracy | self-BLEU | ref BLEU | fluency PPL |")
        lines.append("|---|---|---|---|---|---|---|---|")
        for row in published.values():
            b = row[BOTH]
            lexicon = f"{b['acc2_sentiment']:.3f}" if "acc2_sentiment" in b else "–"
            lines.append(f"| {row['name']} ({row['paper']}) | {row['sentiment negative->positive']['accuracy']:.3f} | "
                         f"{row['sentiment positive->negative']['accuracy']:.3f} | {b['accuracy']:.3f} | {lexicon} | "
                         f"{b['self_bleu']:.1f} | {b['ref_bleu']:.1f} | {b['fluency']['ppl_per_word']:.1f} |")
    return "\n".join(lines)
