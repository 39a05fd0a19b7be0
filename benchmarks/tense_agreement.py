"""Agreement of the rule-based tense labeller (``sentae.data.tense``) with a gold tense derived from gold POS tags.

Corpora (read from the NLTK zips in $SENTAE_DATA_DIR/pos_tagged_corpora with the standard library):
the Penn Treebank 10% sample (``treebank.zip``, WSJ, ``combined/*.mrg``; trace leaves tagged ``-NONE-`` dropped) and
the Brown corpus (``brown.zip``, one ``word/tag`` sentence a line). The labeller sees the words only, never the tags.
Brown's last 20% of files (sorted by name) are reported separately as a held-out part.

Gold rule: the first finite verb of the sentence, by its tag, decides.
- PTB: VBD -> past; VBZ/VBP -> present; MD -> the modal table below; a VB that opens the sentence (imperative) ->
  present. A present form of *be* followed by ``going to`` + VB (or ``gon na`` + VB) -> future.
- Brown: vbd, bed, bedz, dod, hvd -> past; vbz, bez, ber, bem, doz, hvz -> present; vb, hv, do (Brown has no VBP:
  its vb is also the non-3rd-person present) -> present unless ``to`` comes before them (skipping adverbs), and
  ``be`` only as an opening imperative; md -> the modal table. Tag suffixes ``-hl``/``-tl``/``-nc`` and the
  negation mark ``*`` are removed; a contraction tag like ``ppss+md`` is read part by part; ``fw-`` (foreign)
  tags are not verbs.
- Modals: will/shall/'ll/wo/wilt -> future; could/would/'d -> past; can/ca/may/must/might/should/ought/need/dare
  -> present (the same convention as the labeller, see docs/text/tense.md).
- No finite verb -> none.

Also printed: the evidence for the modal convention (for sentences opening with a modal, the tense of the next
finite verb by the gold tags) and the tense distribution of Yelp train ($SENTAE_DATA_DIR/yelp/train.jsonl).

    SENTAE_DATA_DIR=../shared/data python benchmarks/tense_agreement.py
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import zipfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sentae.data.tense import label_tenses  # noqa: E402

CLASSES = ("past", "present", "future", "none")
FUTURE = {"will", "shall", "'ll", "wo", "sha", "wilt", "ll"}
PAST_MODALS = {"could", "would", "'d", "couldst", "wouldst", "coulda", "woulda"}
PRESENT_BE = {"is", "are", "am", "'s", "'re", "'m", "ai"}
OPENERS = {"``", "''", "'", '"', "-LRB-", "-LCB-", "(", "--", ",", ":", "...", ";"}


def modal_tense(word: str) -> str:
    w = re.sub(r"(n't|not)$", "", word.lower().rstrip("*"))  # Brown keeps ``won't``, ``couldn't``, ``cannot`` whole
    if w in FUTURE or w.endswith("'ll"):
        return "future"
    if w in PAST_MODALS or w.endswith("'d") or w.startswith(("could", "would")):
        return "past"
    return "present"


# --------------------------------------------------------------------------------------------------------------
# readers


def read_treebank(path: Path) -> list[tuple[str, list[tuple[str, str]]]]:
    """(file, [(word, tag), ...]) per sentence of ``combined/*.mrg``: one top-level bracket per sentence."""
    out = []
    leaf = re.compile(r"\(([^\s()]+) ([^\s()]+)\)")
    with zipfile.ZipFile(path) as z:
        for name in sorted(n for n in z.namelist() if n.endswith(".mrg")):
            text = z.read(name).decode("utf-8")
            depth, start = 0, None
            for i, ch in enumerate(text):
                if ch == "(":
                    if depth == 0:
                        start = i
                    depth += 1
                elif ch == ")":
                    depth -= 1
                    if depth == 0 and start is not None:
                        pairs = [(w, t) for t, w in leaf.findall(text[start : i + 1]) if t != "-NONE-"]
                        if pairs:
                            out.append((name.rsplit("/", 1)[-1], pairs))
    return out


def read_brown(path: Path) -> list[tuple[str, list[tuple[str, str]]]]:
    """(file, [(word, tag), ...]) per sentence: Brown has one tagged sentence a line."""
    out = []
    with zipfile.ZipFile(path) as z:
        for name in sorted(n for n in z.namelist() if re.fullmatch(r"brown/c[a-r]\d\d", n)):
            for line in z.read(name).decode("utf-8").split("\n"):
                pairs = [tuple(tok.rsplit("/", 1)) for tok in line.split() if "/" in tok]
                if pairs:
                    out.append((name.rsplit("/", 1)[-1], pairs))
    return out


# --------------------------------------------------------------------------------------------------------------
# gold tense from tags


def _going_to(words: list[str], tags: list[str], j: int, adverb: set[str], to: set[str], base: set[str]) -> bool:
    """``going to`` + base verb (or ``gon na`` / ``gonna`` + base verb) starting at position ``j``."""
    n = len(words)
    while j < n and tags[j] in adverb:
        j += 1
    if j < n and words[j] == "gonna":
        while j < n and words[j] == "gonna":  # Brown repeats the word for each part of its tag (vbg+to)
            j += 1
    elif j + 1 < n and words[j] in ("going", "gon") and tags[j + 1] in to:
        j += 2
    else:
        return False
    while j < n and tags[j] in adverb:
        j += 1
    return j < n and tags[j] in base


def gold_ptb(pairs: list[tuple[str, str]]) -> str:
    words = [w.lower() for w, _ in pairs]
    tags = [t for _, t in pairs]
    opening = True  # only punctuation, conjunctions, interjections and adverbs so far: a VB here is an imperative
    for i, (w, t) in enumerate(zip(words, tags)):
        if t == "MD":
            return modal_tense(w)
        if t == "VBD":
            return "past"
        if t in ("VBZ", "VBP"):
            if w in PRESENT_BE and _going_to(words, tags, i + 1, {"RB"}, {"TO"}, {"VB"}):
                return "future"
            return "present"
        if t == "VB" and opening:
            return "present"
        opening = opening and (w in OPENERS or t in ("CC", "UH", "RB", ",", ":", "``", "''", "-LRB-"))
    return "none"


PAST_TAGS = {"vbd", "bed", "bedz", "dod", "hvd"}
PRESENT_TAGS = {"vbz", "bez", "ber", "bem", "doz", "hvz"}
BASE_TAGS = {"vb", "hv", "do"}  # Brown's vb is also the non-3rd-person present


def brown_tag_parts(tag: str) -> list[str]:
    """``ppss+md`` -> [ppss, md]; ``vbd-hl`` -> [vbd]; ``bez*`` -> [bez]; ``fw-vb`` -> [fw] (foreign: no verb)."""
    tag = tag.lower()
    if tag.startswith("fw-"):
        return ["fw"]
    tag = re.sub(r"(-(hl|tl|nc|n|t))+$", "", tag)
    return [p.rstrip("*") or "*" for p in tag.split("+")]


def gold_brown(pairs: list[tuple[str, str]]) -> str:
    words: list[str] = []
    tags: list[str] = []
    for w, t in pairs:  # one row per tag part; the word is repeated for the parts of a contraction
        for p in brown_tag_parts(t):
            words.append(w.lower())
            tags.append(p)
    opening, after_to = True, False
    for i, (w, t) in enumerate(zip(words, tags)):
        if t == "md":
            return modal_tense(w)
        if t in PAST_TAGS:
            return "past"
        if t in PRESENT_TAGS:
            if t != "vbz" and _going_to(words, tags, i + 1, {"rb", "*"}, {"to"}, {"vb", "be", "hv", "do"}):
                return "future"
            return "present"
        if (t in BASE_TAGS and not after_to) or (t == "be" and opening):
            return "present"
        if t not in ("rb", "*"):
            after_to = t == "to"
        opening = opening and (t in ("cc", "uh", "rb", "*", ",", ":", "``", "''", "(", "--"))
    return "none"


def finite_ptb(tag: str) -> str | None:
    return "modal" if tag == "MD" else "past" if tag == "VBD" else "present" if tag in ("VBZ", "VBP") else None


def finite_brown(tag: str) -> str | None:
    part = brown_tag_parts(tag)[-1]
    return "modal" if part == "md" else "past" if part in PAST_TAGS else "present" if part in PRESENT_TAGS else None


def modal_context(sents: list[tuple[str, list[tuple[str, str]]]], finite) -> dict:
    """Evidence for the modal convention: for sentences whose first finite verb is a modal, the tense of the next
    past/present finite verb in the same sentence (by the gold tags)."""
    out: dict[str, Counter] = {}
    for _, pairs in sents:
        kinds = [finite(t) for _, t in pairs]
        first = next((i for i, k in enumerate(kinds) if k), None)
        if first is None or kinds[first] != "modal":
            continue
        modal = pairs[first][0].lower()
        nxt = next((k for k in kinds[first + 1 :] if k in ("past", "present")), None)
        if modal in MODAL_WORDS and nxt:
            out.setdefault(modal, Counter())[nxt] += 1
    return {m: {"past": out[m]["past"], "present": out[m]["present"], "labelled": modal_tense(m)}
            for m in MODAL_WORDS if m in out}


MODAL_WORDS = ("could", "would", "might", "should", "can", "may", "must", "will")


# --------------------------------------------------------------------------------------------------------------
# measurement


def score(gold: list[str], pred: list[str]) -> dict:
    """Agreement overall; per gold class: recall (share of that class labelled the same) and precision; the
    confusion matrix as rows = gold, columns = labeller."""
    n = len(gold)
    confusion = {g: {p: 0 for p in CLASSES} for g in CLASSES}
    for g, p in zip(gold, pred):
        confusion[g][p] += 1
    per_class = {}
    for c in CLASSES:
        support = sum(confusion[c].values())
        predicted = sum(confusion[g][c] for g in CLASSES)
        per_class[c] = {"gold": support, "recall": round(confusion[c][c] / support, 4) if support else None,
                        "precision": round(confusion[c][c] / predicted, 4) if predicted else None}
    agree = sum(confusion[c][c] for c in CLASSES)
    return {"sentences": n, "agreement": round(agree / n, 4), "per_class": per_class, "confusion": confusion}


def evaluate(name: str, sents: list[tuple[str, list[tuple[str, str]]]], gold_fn, errors: int) -> dict:
    gold = [gold_fn(p) for _, p in sents]
    t0 = time.perf_counter()
    pred = label_tenses([[w for w, _ in p] for _, p in sents])
    seconds = time.perf_counter() - t0
    out = score(gold, pred)
    out["seconds"] = round(seconds, 2)
    if errors:
        wrong = [(g, p, s) for g, p, (_, s) in zip(gold, pred, sents) if g != p]
        for g, p, s in wrong[:errors]:
            print(f"[{name}] gold={g} labeller={p}: " + " ".join(f"{w}/{t}" for w, t in s), file=sys.stderr)
    return out


def yelp_distribution(path: Path) -> dict:
    texts = [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    t0 = time.perf_counter()
    labels = label_tenses(texts)
    seconds = time.perf_counter() - t0
    counts = Counter(labels)
    return {"file": "yelp/train.jsonl", "sentences": len(texts), "seconds": round(seconds, 2),
            "sentences_per_s": round(len(texts) / seconds),
            "distribution": {c: {"count": counts[c], "share": round(counts[c] / len(texts), 4)} for c in CLASSES}}


def table(results: dict) -> str:
    pct = lambda v: "–" if v is None else f"{100 * v:.1f}"  # noqa: E731
    lines = ["| corpus | sentences | agreement % | past R/P % | present R/P % | future R/P % | none R/P % |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, r in results["corpora"].items():
        cells = [f"{pct(r['per_class'][c]['recall'])} / {pct(r['per_class'][c]['precision'])}" for c in CLASSES]
        lines.append(f"| {name} | {r['sentences']:,} | {pct(r['agreement'])} | " + " | ".join(cells) + " |")
    for name, r in results["corpora"].items():
        lines += ["", f"Confusion, {name} (rows: gold, columns: labeller)", "",
                  "| gold \\ labeller | " + " | ".join(CLASSES) + " |", "|---|" + "---:|" * len(CLASSES)]
        for g in CLASSES:
            lines.append(f"| {g} | " + " | ".join(f"{r['confusion'][g][p]:,}" for p in CLASSES) + " |")
    lines += ["", "Modal context (sentences opening with a modal: tense of the next past/present finite verb, gold tags)",
              "", "| modal | labelled | PTB past / present | Brown past / present |", "|---|---|---:|---:|"]
    ctx = results["modal_context"]
    for m in MODAL_WORDS:
        p, b = ctx["PTB"].get(m), ctx["Brown"].get(m)
        cell = lambda c: f"{c['past']} / {c['present']}" if c else "–"  # noqa: E731
        lines.append(f"| {m} | {(p or b)['labelled']} | {cell(p)} | {cell(b)} |")
    if "yelp_train" in results:
        y = results["yelp_train"]
        lines += ["", f"Yelp train ({y['sentences']:,} sentences, labelled in {y['seconds']} s)", "",
                  "| " + " | ".join(CLASSES) + " |", "|" + "---:|" * len(CLASSES),
                  "| " + " | ".join(f"{y['distribution'][c]['count']:,} ({100 * y['distribution'][c]['share']:.1f}%)"
                                    for c in CLASSES) + " |"]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", default=os.environ.get("SENTAE_DATA_DIR", str(ROOT.parent / "shared" / "data")))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "tense_agreement.json"))
    ap.add_argument("--errors", type=int, default=0, help="print this many disagreements per corpus to stderr")
    ap.add_argument("--no-yelp", action="store_true", help="skip the Yelp train distribution")
    args = ap.parse_args()
    data = Path(args.data_dir)
    tagged = data / "pos_tagged_corpora"
    ptb = read_treebank(tagged / "treebank.zip")
    brown = read_brown(tagged / "brown.zip")
    files = sorted({f for f, _ in brown})
    held = set(files[int(0.8 * len(files)):])  # Brown's last 20% of files: not looked at while writing the rules
    corpora = {
        "PTB sample (WSJ)": (ptb, gold_ptb),
        "Brown, all files": (brown, gold_brown),
        f"Brown, first 80% of files ({files[0]}-{files[int(0.8 * len(files)) - 1]})":
            ([s for s in brown if s[0] not in held], gold_brown),
        f"Brown, last 20% held out ({min(held)}-{max(held)})": ([s for s in brown if s[0] in held], gold_brown),
    }
    results: dict = {"command": "SENTAE_DATA_DIR=../shared/data python benchmarks/tense_agreement.py",
                     "held_out_brown_files": f"{min(held)}-{max(held)} ({len(held)} of {len(files)})",
                     "corpora": {}}
    for name, (sents, fn) in corpora.items():
        results["corpora"][name] = evaluate(name, sents, fn, args.errors if "held" not in name else 0)
    results["modal_context"] = {"PTB": modal_context(ptb, finite_ptb), "Brown": modal_context(brown, finite_brown)}
    if not args.no_yelp:
        results["yelp_train"] = yelp_distribution(data / "yelp" / "train.jsonl")
    print(json.dumps(results, indent=1))
    print(table(results))
    if not args.no_yelp:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
