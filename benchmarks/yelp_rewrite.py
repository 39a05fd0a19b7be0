"""Yelp: rewrite a user's sentence (change its sentiment, its tense, or both, and keep everything else), scored on
the whole target table, beside the published systems' own outputs on the same test sentences.

Data: $SENTAE_DATA_DIR/yelp. Test = the 1,000 sentences of Li et al. 2018 (500 negative, then 500 positive, in the
order of their sentiment.test.0 and .1). The control knob (the ``scale`` of ``TextSampler.transfer``: the offset's
multiple for latent arithmetic, how far toward the asked value for attribute codes) is chosen per task on valid, never on test: the first ``--valid`` / 2 sentences of each sentiment
of valid.jsonl (default 250 + 250); of the scales ``--scales`` whose valid accuracy meets the task's target, the
one with the highest self-BLEU (else the one that falls least short). Test is reported at that scale, and the whole
accuracy / self-BLEU curve over every scale on test. Rewrites are greedy; latent arithmetic uses 2,000 training
sentences per value (a fixed choice, seed 0), with sentae's default ``keep_matching``.

Tasks on test (sentiment from the corpus label, tense read by the labeller): sentiment negative -> positive (the
500 negatives) and positive -> negative; tense past -> present, present -> past, past or present -> future; both at
once (the other sentiment and past -> present, present -> past, future -> past); unchanged (each sentence asked for
the sentiment it has and the tense the labeller reads), read at the largest scale chosen for any task. Measures:
accuracy, self-BLEU to the source (sacrebleu on the corpus tokens), BLEU against Li et al.'s human rewrites
(sentiment tasks; their data/yelp/reference.{0,1}, put in the corpus's tokenisation), the share returned
identical, fluency (per-word perplexity under the Yelp rnn_lm; the target is 1.5 x that of the real test
sentences); reconstruction BLEU of test (greedy from the code).

Judges: the CNN sentiment classifier (its own test accuracy is printed and written beside), the rule-based tense
labeller (sentae.data.tense; 'none' counts as wrong) and the Yelp LM. ``--published`` scores the published
systems' outputs (Li et al.'s evaluation/outputs/yelp, file names mapped to systems in rewrite_scoring.SYSTEMS)
with the same judges. One torch thread on the CPU unless ``--device`` says otherwise.

    SENTAE_DATA_DIR=../shared/data python benchmarks/yelp_rewrite.py --published ../lijuncen     # systems only
    SENTAE_DATA_DIR=../shared/data python benchmarks/yelp_rewrite.py --run "DAE-128=runs/yelp_dae_rewrite" \\
        --published ../lijuncen --examples docs/rewrite_examples.md
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from rewrite_scoring import (
    ACCURACY_TARGETS,
    BOTH,
    FLIP,
    IDENTIFIED_BY,
    SYSTEMS,
    TASKS,
    TRANSFER_TASKS,
    build_tasks,
    choose_scale,
    judge_task,
    markdown_tables,
    normalize,
    pooled_ppl,
    read_published,
    read_references,
    target_table,
)
from yelp_tradeoff import ensure_classifier, ensure_lm, read_yelp

SCALES = [0.5, 1.0, 1.5, 2.0, 3.0]
BATCH = 256  # sentences rewritten at once


class Judges:
    """The judges, each loaded once: sentiment classifier, tense labeller, fluency LM; and a second sentiment judge
    of another kind, not trained on Yelp (the opinion lexicon with negation scope), reported beside the first."""

    def __init__(self, classifier: Path, lm: Path, device: str) -> None:
        from sentae.evaluation.classifier import AttributeClassifier
        from sentae.evaluation.control import tense_judge
        from sentae.evaluation.lexicon_sentiment import LexiconSentimentJudge

        self.clf = AttributeClassifier(classifier, device)
        self.tense, self.tense_desc = tense_judge()
        self.lm, self.device = lm, device
        self.by_attribute = {"sentiment": self.clf.predict, "tense": self.tense}
        self.lexicon = LexiconSentimentJudge.from_data_dir()
        self.second = {"sentiment": self.lexicon.predict}

    def fluency(self, texts: list[str]) -> dict:
        from sentae.evaluation.fluency import lm_perplexity

        r = lm_perplexity(self.lm, [t if t.strip() else "." for t in texts], device=self.device)  # blank = its eos
        return {k: r[k] for k in ("ppl_per_word", "nats_per_word", "tokens", "sentences", "unk_rate")}

    def describe(self) -> dict:
        return {"sentiment": self.clf.describe(), "tense": self.tense_desc, "fluency": f"rnn_lm run {self.lm}",
                "sentiment_second (acc2_sentiment)": self.lexicon.describe()}


def first_of_each(texts: list[str], labels: list[str], n: int | None) -> tuple[list[str], list[str]]:
    """The first ``n`` sentences of each sentiment, in file order (all of them when ``n`` is None)."""
    seen = {"negative": 0, "positive": 0}
    keep = []
    for i, v in enumerate(labels):
        if n is None or seen[v] < n:
            keep.append(i)
            seen[v] += 1
    return [texts[i] for i in keep], [labels[i] for i in keep]


def labelled_train(folder: Path) -> Path:
    """Yelp train with a sentiment and a tense column (tense from the labeller; null without a finite verb), for
    latent arithmetic along an attribute the model's own training data does not label."""
    from sentae.data.tense import label_tenses

    texts, labels = read_yelp("train")
    path = folder / "yelp_train_sentiment_tense.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps({"text": text, "sentiment": s, "tense": None if t == "none" else t}) + "\n"
                      for text, s, t in zip(texts, labels, label_tenses(texts)))
    return path


class Rewriter:
    """A run's sampler and where its offsets come from: its own training data for the attributes it labels, the
    labelled Yelp train file for the others (a controllable model sets its codes and needs neither)."""

    def __init__(self, run: Path, device: str, tmp: Path) -> None:
        import sentae

        self.sampler = sentae.load(run, device)
        self.tmp, self._file = tmp, None

    def labelled(self, attributes: set[str]) -> str | None:
        if self.sampler.controlled or attributes <= set(self.sampler.info.attributes):
            return None
        if self._file is None:
            self._file = str(labelled_train(self.tmp))
        return self._file

    def rewrite(self, texts: list[str], asks: list[dict[str, str]], scale: float) -> list[str]:
        """Each text rewritten toward its ask: one ``transfer`` call per distinct ask, ``BATCH`` sentences at a time.
        Every output is put in the corpus's tokenisation (``normalize``), as the published systems' are: a word-level
        model's text comes back as it is, a subword model's ("it's", "good.") is split as the corpus splits it."""
        out = [""] * len(texts)
        groups: dict[tuple, list[int]] = {}
        for i, ask in enumerate(asks):
            groups.setdefault(tuple(sorted(ask.items())), []).append(i)
        for key, idx in groups.items():
            ask = dict(key)
            for j in range(0, len(idx), BATCH):
                chunk = idx[j : j + BATCH]
                moved = self.sampler.transfer([texts[i] for i in chunk], ask, scale=scale, strategy="greedy",
                                              labelled=self.labelled(set(ask)))
                for i, r in zip(chunk, moved):
                    out[i] = normalize(r)
        return out

    def reconstruct(self, texts: list[str]) -> list[str]:
        """Greedy reconstructions, ``BATCH`` sentences at a time."""
        out = []
        for i in range(0, len(texts), BATCH):
            out += [normalize(r) for r in self.sampler.reconstruct(texts[i : i + BATCH], strategy="greedy")]
        return out


def run_tasks(rw: Rewriter, texts: list[str], tasks: dict, names: tuple[str, ...], scale: float, judges: Judges,
              references: list[str] | None = None, fluency: bool = True) -> dict[str, dict]:
    """Scores of tasks ``names`` at one scale, with 3 examples each, and the two sentiment flips pooled (``BOTH``).
    ``references`` (human sentiment flips, aligned with ``texts``) score the sentiment flips' BLEU to them."""
    report, flips = {}, []
    for name in names:
        if not tasks[name]:
            continue
        src = [texts[i] for i, _ in tasks[name]]
        asks = [a for _, a in tasks[name]]
        out = rw.rewrite(src, asks, scale)
        is_flip = name in ("sentiment negative->positive", "sentiment positive->negative")
        refs = [references[i] for i, _ in tasks[name]] if references is not None and is_flip else None
        r = judge_task(out, src, asks, judges.by_attribute, refs, judges.second)
        if fluency:
            r["fluency"] = judges.fluency(out)
        r["examples"] = list(zip(src[:3], out[:3]))
        report[name] = r
        if is_flip:
            flips.append((out, src, asks, refs))
    if len(flips) == 2:
        (o1, s1, a1, r1), (o2, s2, a2, r2) = flips
        report[BOTH] = judge_task(o1 + o2, s1 + s2, a1 + a2, judges.by_attribute,
                                  None if r1 is None else r1 + r2, judges.second)
    return report


def evaluate_run(name: str, run: Path, valid: tuple, test: tuple, refs: list[str] | None, judges: Judges,
                 scales: list[float], real_ppl: float, device: str, tmp: Path) -> tuple[dict, Rewriter]:
    from sentae.data.tense import label_tenses
    from sentae.evaluation.text import corpus_bleu

    rw = Rewriter(run, device, tmp)
    (vt, vl), (tt, tl) = valid, test
    vtasks, ttasks = build_tasks(vl, label_tenses(vt)), build_tasks(tl, label_tenses(tt))
    t0 = time.time()
    vcurve = {k: run_tasks(rw, vt, vtasks, TRANSFER_TASKS, k, judges, fluency=False) for k in scales}
    chosen = {}
    for task, need in ACCURACY_TARGETS.items():
        if task in vcurve[scales[0]]:
            k, met = choose_scale({k: vcurve[k][task] for k in scales}, need)
            chosen[task] = {"scale": k, "valid_meets_accuracy": met,
                            **{m: vcurve[k][task][m] for m in (*need, "self_bleu")}}
    recon = rw.reconstruct(tt)
    curve = {k: run_tasks(rw, tt, ttasks, TASKS, k, judges, refs) for k in scales}
    unchanged_scale = max(c["scale"] for c in chosen.values())
    measured: dict[str, float] = {"recon_bleu": corpus_bleu(recon, tt)}
    for task, c in chosen.items():
        for m in ("accuracy", "acc_sentiment", "acc_tense", "self_bleu"):
            if m in curve[c["scale"]][task]:
                measured[f"{task}/{m}"] = curve[c["scale"]][task][m]
    measured["unchanged/self_bleu"] = curve[unchanged_scale]["unchanged"]["self_bleu"]
    measured["fluency_ppl"] = pooled_ppl([curve[c["scale"]][t]["fluency"] for t, c in chosen.items()])
    result = {
        "name": name, "run": str(run), "model": rw.sampler.model.name,
        "controllable": bool(rw.sampler.controlled),
        "offsets_from": ("none: the model sets its attribute codes (scale blends its reading with the asked value)"
                         if rw.sampler.controlled else
                         {a: "the run's training data" if a in rw.sampler.info.attributes else
                          "Yelp train, tense from the labeller" for a in ("sentiment", "tense")}),
        "scale_choice": chosen, "unchanged_scale": unchanged_scale,
        "measured": measured, "targets": target_table(measured, real_ppl),
        "recon_examples": list(zip(tt[:3], recon[:3])),
        "valid_curve": {str(k): {t: {m: v for m, v in r.items() if m != "examples"} for t, r in c.items()}
                        for k, c in vcurve.items()},
        "test_curve": {str(k): c for k, c in curve.items()},
        "seconds": round(time.time() - t0),
    }
    return result, rw


def score_published(folder: Path, test: tuple, judges: Judges, real_ppl: float) -> dict:
    """Every published system's outputs judged as a run's rewrites are (sentiment flips each way and pooled)."""
    refs = read_references(folder)
    systems = {}
    found = read_published(folder)
    order = [s for s in SYSTEMS if s in found] + sorted(set(found) - set(SYSTEMS))  # SYSTEMS' order, then others
    for system in order:
        sides = found[system]
        row: dict = {**SYSTEMS.get(system, {"name": system, "paper": "unknown"}), "file": system}
        pooled = ([], [], [], [])
        for side, pairs in sides.items():
            src = [normalize(s) for s, _ in pairs]
            out = [normalize(o) for _, o in pairs]
            ref = [normalize(o) for _, o in refs[side]]
            expected = [t for t, v in zip(*test) if v == side]
            if src != expected or [normalize(s) for s, _ in refs[side]] != expected:
                raise ValueError(f"{folder}: the {side} sources of '{system}' or of the references are not Yelp "
                                 f"test's {side} sentences in order")
            asks = [{"sentiment": FLIP[side]}] * len(src)
            r = judge_task(out, src, asks, judges.by_attribute, ref, judges.second)
            r["fluency"] = judges.fluency(out)
            row[f"sentiment {side}->{FLIP[side]}"] = r
            for acc, part in zip(pooled, (out, src, asks, ref)):
                acc += part
        both = judge_task(pooled[0], pooled[1], pooled[2], judges.by_attribute, pooled[3], judges.second)
        both["fluency"] = judges.fluency(pooled[0])
        row[BOTH] = both
        measured = {f"{t}/{m}": row[t][m] for t in ("sentiment negative->positive", "sentiment positive->negative")
                    for m in ("accuracy", "self_bleu")}
        measured["fluency_ppl"] = both["fluency"]["ppl_per_word"]
        row["targets"] = [r for r in target_table(measured, real_ppl) if r["met"] is not None]
        row["examples"] = [(s, o) for s, o in sides["negative"][:2] + sides["positive"][:2]]
        systems[system] = row
    return systems


def plot(runs: list[dict], published: dict, sentences: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5))
    ax.add_patch(plt.Rectangle((45, 0.85), 55, 0.15, color="tab:green", alpha=0.08,
                               label="target: accuracy ≥ 0.85, self-BLEU ≥ 45"))
    for r in runs:
        pts = [(float(k), c[BOTH]) for k, c in r["test_curve"].items() if BOTH in c]
        ax.plot([p["self_bleu"] for _, p in pts], [p["accuracy"] for _, p in pts], marker="o", label=r["name"])
        for k, p in pts:
            ax.annotate(f"k={k:g}", (p["self_bleu"], p["accuracy"]), fontsize=7, xytext=(3, -9),
                        textcoords="offset points")
    for row in published.values():
        p = row[BOTH]
        human = row["file"] == "human"
        ax.scatter(p["self_bleu"], p["accuracy"], marker="*" if human else "s", s=120 if human else 30,
                   color="black" if human else "tab:gray", zorder=3)
        ax.annotate(row["name"], (p["self_bleu"], p["accuracy"]), fontsize=7, xytext=(4, -11 if human else 3),
                    textcoords="offset points")
    ax.set_xlabel("self-BLEU to the source (content kept)")
    ax.set_ylabel("sentiment accuracy (independent classifier)")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 1.02)
    ax.set_title(f"Yelp test, sentiment flipped both ways ({sentences:,} sentences)")
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def examples_page(rw: Rewriter, test: tuple, scales: dict[str, float], command: str, name: str, path: Path) -> None:
    """The first 10 negative and first 10 positive test sentences, each with its rewrites: sentiment flipped and
    each tense, at the scales chosen on valid."""
    from sentae.data.tense import label_tenses

    texts, labels = first_of_each(*test, 10)
    tenses = label_tenses(texts)
    wanted = {"sentiment flipped": lambda s: {"sentiment": FLIP[s]}, "past": lambda s: {"tense": "past"},
              "present": lambda s: {"tense": "present"}, "future": lambda s: {"tense": "future"}}
    scale_of = {"sentiment flipped": None, "past": "tense present->past", "present": "tense past->present",
                "future": "tense past/present->future"}
    rows = {}
    for col, ask in wanted.items():
        out = [""] * len(texts)
        for side in FLIP:
            idx = [i for i, v in enumerate(labels) if v == side]
            task = scale_of[col] or f"sentiment {side}->{FLIP[side]}"
            moved = rw.rewrite([texts[i] for i in idx], [ask(side)] * len(idx), scales.get(task, 1.0))
            for i, m in zip(idx, moved):
                out[i] = m
        rows[col] = out
    lines = [f"# Rewriting examples: {name}", "", "Generated by", "", "```bash", command, "```", "",
             "The first 10 negative and the first 10 positive sentences of Yelp test (`yelp/test.jsonl`, Li et al. "
             "2018's test set), in file order, not chosen. Each is rewritten greedily with its sentiment flipped and "
             "asked for each tense; the source's tense is the labeller's reading. Scales (chosen on valid): "
             + ", ".join(f"{t} {k:g}" for t, k in scales.items()) + ".", ""]
    for n, (src, s, t) in enumerate(zip(texts, labels, tenses), 1):
        lines += [f"**{n}.** ({s}, {t}) {src}", ""]
        lines += [f"- {col}{' → ' + FLIP[s] if col == 'sentiment flipped' else ''}: {rows[col][n - 1]}"
                  for col in wanted]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", action="append", default=[], metavar="NAME=PATH",
                    help="a text run folder with an encoder, with its display name (repeatable)")
    ap.add_argument("--scales", type=float, nargs="+", default=SCALES, help="values of the control knob")
    ap.add_argument("--valid", type=int, default=500, help="valid sentences the scale is chosen on (half per sentiment)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N test sentences of each sentiment (checks)")
    ap.add_argument("--published", type=Path, default=None,
                    help="a copy of lijuncen/Sentiment-and-Style-Transfer: score its systems, BLEU to its references")
    ap.add_argument("--examples", type=Path, default=None, help="write the examples page of the first --run here")
    ap.add_argument("--classifier", type=Path, default=Path("runs/yelp_sentiment_cnn"))
    ap.add_argument("--lm", type=Path, default=Path("runs/yelp_lm"))
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/yelp_rewrite.json"))
    ap.add_argument("--published-out", type=Path, default=Path("benchmarks/results/yelp_published.json"))
    ap.add_argument("--figure", type=Path, default=Path("docs/figures/yelp_rewrite_curve.png"))
    args = ap.parse_args()
    if not args.run and args.published is None:
        ap.error("give --run NAME=PATH, --published DIR, or both")
    import logging

    import torch

    torch.set_num_threads(1)
    # sacrebleu warns on every call that the text looks tokenised: it is, on purpose (the corpus's tokens)
    logging.getLogger("sacrebleu").setLevel(logging.ERROR)
    t0 = time.time()
    command = "SENTAE_DATA_DIR=../shared/data python benchmarks/yelp_rewrite.py " + shlex.join(sys.argv[1:])
    ensure_classifier(args.classifier, 4.0)
    ensure_lm(args.lm, 4.0)
    judges = Judges(args.classifier, args.lm, args.device)
    test = first_of_each(*read_yelp("test"), args.limit)
    valid = first_of_each(*read_yelp("valid"), min(args.valid // 2, args.limit or args.valid))
    real_ppl = judges.fluency(test[0])["ppl_per_word"]
    subset = f", the first {args.limit} of each sentiment" if args.limit else ""
    meta = {"data": f"yelp test: {len(test[0]):,} sentences (Li et al. 2018{subset})",
            "judges": judges.describe(), "real_test_fluency_ppl": real_ppl,
            "machine": f"{platform.machine()} CPU, {os.cpu_count()} cores; torch threads 1; device {args.device}",
            "command": command}
    published: dict = {}
    refs = None
    if args.published is not None:
        ref_of = {normalize(s): normalize(o) for side in read_references(args.published).values() for s, o in side}
        refs = [ref_of[t] for t in test[0]]
        if args.limit is None:  # the systems' files cover the whole test set
            published = score_published(args.published, test, judges, real_ppl)
            report = {"benchmark": "yelp_published", **meta, "systems_identified_by": IDENTIFIED_BY,
                      "references": "Li et al. data/yelp/reference.{0,1}, one human rewrite per sentence, put in the "
                                    "corpus's tokenisation (rewrite_scoring.normalize) like every output scored",
                      "systems": published, "seconds": round(time.time() - t0)}
            args.published_out.parent.mkdir(parents=True, exist_ok=True)
            args.published_out.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    if not published and args.published_out.is_file():
        published = json.loads(args.published_out.read_text())["systems"]  # the figure's points
    runs = []
    with tempfile.TemporaryDirectory(prefix="yelp_rewrite_") as tmp:
        for i, spec in enumerate(args.run):
            name, _, path = spec.partition("=") if "=" in spec else (Path(spec).name, "", spec)
            result, rw = evaluate_run(name, Path(path), valid, test, refs, judges, args.scales, real_ppl,
                                      args.device, Path(tmp))
            runs.append(result)
            if i == 0 and args.examples is not None:
                examples_page(rw, test, {t: c["scale"] for t, c in result["scale_choice"].items()}, command, name,
                              args.examples)
    if runs:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        meta["data"] += f"; scales chosen on the first {len(valid[0]) // 2} sentences of each sentiment of yelp valid"
        args.out.write_text(json.dumps({"benchmark": "yelp_rewrite", **meta, "scales": args.scales, "runs": runs,
                                        "seconds": round(time.time() - t0)}, indent=2, ensure_ascii=False))
    if runs or published:
        plot(runs, published, len(test[0]), args.figure)
    print(f"judges: {'; '.join(judges.describe().values())}; real test fluency PPL {real_ppl:.1f}")
    print(markdown_tables(runs, published, args.scales))


if __name__ == "__main__":
    main()
