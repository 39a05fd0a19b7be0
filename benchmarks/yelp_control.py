"""Yelp: controllable generation with sentiment and tense codes (ctrl_vae, Hu et al. 2017) against an unconditioned
rnn_vae of the same size steered by latent vector arithmetic.

Data: $SENTAE_DATA_DIR/yelp with tense labels from sentae's rule-based labeller (``tense_labels: true``; sentences
without a finite verb have no tense label). For each of the 6 sentiment x tense cells, ``--per-cell`` samples
(default 1,000) are judged by an independent sentiment classifier (its test accuracy is printed beside) and by
the tense labeller; fluency is the perplexity under an rnn_lm trained on Yelp train, compared with real Yelp test
sentences under the same LM. A reference row scores 1,000 random real Yelp train sentences per cell with the same
judges and metrics. Then the transfer task on Yelp test: change tense (past -> present, present -> past) and
sentiment (flip), with accuracy and self-BLEU. Samples use top-p 0.9 at ``--temperature`` (default 1.0).

    SENTAE_DATA_DIR=../shared/data python benchmarks/yelp_control.py --classifier runs/yelp_sentiment_cnn --lm runs/yelp_lm
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from yelp_tradeoff import ensure_classifier, ensure_lm, read_test, read_yelp, run_cli  # noqa: E402

CELLS = list(itertools.product(["negative", "positive"], ["past", "present", "future"]))


def train_if_missing(recipe: str, run: Path) -> None:
    if not (run / "model.safetensors").is_file():
        run_cli(["train", str(ROOT / "recipes" / f"{recipe}.yaml"), "--out", str(run), "--set", "train.progress=log"],
                run.with_suffix(".log"))


def data_options(run: Path) -> dict:
    """The data options the run was trained with, from its saved config."""
    import yaml

    return yaml.safe_load((run / "config.yaml").read_text())["data"].get("options", {})


def summarise(name: str, by_cell: dict, judges: dict, lm: Path) -> dict:
    from sentae.evaluation.fluency import lm_perplexity
    from sentae.evaluation.text import distinct_n, uniqueness

    sentences = [s for out in by_cell.values() for s in out]
    cells, right_s, right_t, joint = [], 0, 0, 0
    for (sent, tense), out in by_cell.items():
        vs, vt = judges["sentiment"](out), judges["tense"](out)
        ok_s = [v == sent for v in vs]
        ok_t = [v == tense for v in vt]
        both = [a and b for a, b in zip(ok_s, ok_t)]
        cells.append({"sentiment": sent, "tense": tense, "acc_sentiment": sum(ok_s) / len(out),
                      "acc_tense": sum(ok_t) / len(out), "acc_joint": sum(both) / len(out),
                      "distinct_2": distinct_n([x.split() for x in out], 2), "examples": out[:3]})
        right_s, right_t, joint = right_s + sum(ok_s), right_t + sum(ok_t), joint + sum(both)
    n = len(sentences)
    return {
        "model": name, "sentences": n,
        "acc_sentiment": right_s / n, "acc_tense": right_t / n, "acc_joint": joint / n,
        "acc_future": next(0.5 * (c["acc_tense"] + d["acc_tense"]) for c in cells for d in cells
                           if c["tense"] == d["tense"] == "future" and c["sentiment"] < d["sentiment"]),
        "fluency_ppl": lm_perplexity(lm, [s if s.strip() else "." for s in sentences])["ppl_per_word"],
        "distinct_1": distinct_n([s.split() for s in sentences], 1),
        "distinct_2": distinct_n([s.split() for s in sentences], 2),  # pooled over all cells' sentences
        # within one cell (the per_cell sentences of one attribute combination), averaged over cells
        "distinct_2_per_cell": sum(c["distinct_2"] for c in cells) / len(cells),
        "uniqueness": uniqueness(sentences),
        "cells": cells,
    }


def real_sentences(per_cell: int, seed: int = 0) -> dict:
    """``per_cell`` random Yelp *train* sentences of each cell (sentiment from the corpus, tense from the labeller):
    the same judges and metrics on real text show what the numbers of a perfect generator would be."""
    import random

    from sentae.data.tense import label_tenses

    texts, labels = read_yelp("train")
    by_cell: dict = {cell: [] for cell in CELLS}
    for text, sentiment, tense in zip(texts, labels, label_tenses(texts)):
        if (sentiment, tense) in by_cell:
            by_cell[(sentiment, tense)].append(text)
    rng = random.Random(seed)
    return {cell: rng.sample(pool, min(per_cell, len(pool))) for cell, pool in by_cell.items()}


def ctrl_samples(sampler, per_cell: int, decoding: dict) -> dict:
    out = {}
    for i, (s, t) in enumerate(CELLS):
        sents = []
        for j in range(0, per_cell, 250):
            sents += sampler.sample(min(250, per_cell - j), seed=1000 * i + j, attributes={"sentiment": s, "tense": t},
                                    **decoding)
        out[(s, t)] = sents
    return out


def steered_samples(sampler, per_cell: int, scale: float, decoding: dict) -> dict:
    """Prior samples moved by scale x (sentiment offset + tense offset) toward the cell's values."""
    import torch

    out = {}
    for i, (s, t) in enumerate(CELLS):
        offset = sampler.attribute_offset("sentiment", s) + sampler.attribute_offset("tense", t)
        sents = []
        for j in range(0, per_cell, 250):
            k = min(250, per_cell - j)
            g = torch.Generator().manual_seed(1000 * i + j)
            z = torch.randn(k, sampler.model.latent_size, generator=g) + scale * offset
            sents += sampler.decode(z, seed=1000 * i + j, **decoding)
        out[(s, t)] = sents
    return out


def transfer_task(sampler, texts, judges, steer_scale: float | None) -> dict:
    """Tense past -> present and present -> past, sentiment flips, on Yelp test: accuracy and self-BLEU."""
    from sentae.evaluation.text import corpus_bleu

    tense_of = judges["tense"](texts)
    sent_of = judges["true_sentiment"]
    tasks = {
        "tense past->present": ([x for x, v in zip(texts, tense_of) if v == "past"], "tense", "present"),
        "tense present->past": ([x for x, v in zip(texts, tense_of) if v == "present"], "tense", "past"),
        "sentiment negative->positive": ([x for x, v in zip(texts, sent_of) if v == "negative"], "sentiment", "positive"),
        "sentiment positive->negative": ([x for x, v in zip(texts, sent_of) if v == "positive"], "sentiment", "negative"),
    }
    report = {}
    for name, (src, attr, to) in tasks.items():
        if not src:
            continue
        moved = []
        for j in range(0, len(src), 250):
            chunk = src[j : j + 250]
            if steer_scale is None:
                moved += sampler.transfer(chunk, {attr: to}, strategy="greedy")
            else:
                moved += sampler.transfer(chunk, attribute=attr, to=to, scale=steer_scale, strategy="greedy")
        verdict = judges[attr](moved)
        report[name] = {"sentences": len(src), "accuracy": sum(v == to for v in verdict) / len(src),
                        "self_bleu": corpus_bleu(moved, src), "examples": list(zip(src[:3], moved[:3]))}
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-cell", type=int, default=1000)
    ap.add_argument("--steer-scale", type=float, default=2.0, help="k for the steered rnn_vae (offsets times k)")
    ap.add_argument("--classifier", default="runs/yelp_sentiment_cnn")
    ap.add_argument("--lm", default="runs/yelp_lm")
    ap.add_argument("--runs", default="runs/bench_yelp_control")
    ap.add_argument("--out", default="benchmarks/results/yelp_control.json")
    ap.add_argument("--top-p", type=float, default=0.9, help="nucleus sampling of every generated sentence")
    ap.add_argument("--temperature", type=float, default=1.0, help="softmax temperature before top-p")
    ap.add_argument("--skip-transfer", action="store_true", help="only the generation table")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    t0 = time.time()
    runs = Path(args.runs)
    runs.mkdir(parents=True, exist_ok=True)
    ensure_classifier(Path(args.classifier), 4.0)
    ensure_lm(Path(args.lm), 4.0)
    train_if_missing("yelp_ctrl_vae", runs / "ctrl_vae")
    train_if_missing("yelp_vae_steered", runs / "vae_steered")

    import sentae
    from sentae.evaluation.classifier import AttributeClassifier
    from sentae.evaluation.control import tense_judge
    from sentae.evaluation.fluency import lm_perplexity

    clf = AttributeClassifier(args.classifier)
    tense, tense_desc = tense_judge()
    texts, labels = read_test()
    judges = {"sentiment": clf.predict, "tense": tense, "true_sentiment": labels}
    decoding = {"strategy": "sample", "top_p": args.top_p, "temperature": args.temperature}
    ctrl = sentae.load(runs / "ctrl_vae")
    steered = sentae.load(runs / "vae_steered")
    rows = [summarise("ctrl_vae (structured codes)", ctrl_samples(ctrl, args.per_cell, decoding), judges, Path(args.lm)),
            summarise(f"rnn_vae steered (k = {args.steer_scale})",
                      steered_samples(steered, args.per_cell, args.steer_scale, decoding), judges, Path(args.lm))]
    rows.append(summarise("real Yelp train sentences (reference)", real_sentences(args.per_cell), judges, Path(args.lm)))
    transfer = {} if args.skip_transfer else {
        "ctrl_vae": transfer_task(ctrl, texts, judges, None),
        f"rnn_vae steered (k = {args.steer_scale})": transfer_task(steered, texts, judges, args.steer_scale)}
    real = lm_perplexity(args.lm, texts)["ppl_per_word"]
    steps = {}
    for name in ("ctrl_vae", "vae_steered"):
        recs = [json.loads(l) for l in (runs / name / "metrics.jsonl").read_text().splitlines()]
        # elapsed_s restarts when a run is resumed: add up the last value of each segment
        seconds, last = 0.0, 0.0
        for r in recs:
            t = r.get("elapsed_s", last)
            if t < last:
                seconds += last
            last = t
        steps[name] = {"steps": max(r["step"] for r in recs), "seconds": round(seconds + last, 1)}
    report = {
        "benchmark": "yelp_control",
        "data": ("yelp train, tense labels from sentae.data.tense; data options "
                 + json.dumps(data_options(runs / "ctrl_vae")) + "; transfer on yelp test (1,000 sentences of Li et al. 2018)"),
        "decoding": decoding, "per_cell": args.per_cell,
        "judges": {"sentiment": clf.describe(), "tense": tense_desc},
        "real_test_fluency_ppl": real, "fluency_lm": args.lm,
        "machine": f"{platform.machine()} CPU, {os.cpu_count()} cores; torch threads 1",
        "training": steps, "rows": rows, "transfer": transfer, "seconds": round(time.time() - t0),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(f"sentiment judge: {clf.describe()}; tense judge: {tense_desc}")
    print(f"real Yelp test fluency perplexity: {real:.1f} (target for samples: <= {1.5 * real:.1f})\n")
    print("| model | sentiment acc | tense acc | future acc | joint acc | fluency PPL | distinct-1 | distinct-2 "
          "(all cells) | distinct-2 (per cell) | unique |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['acc_sentiment']:.3f} | {r['acc_tense']:.3f} | {r['acc_future']:.3f} | "
              f"{r['acc_joint']:.3f} | {r['fluency_ppl']:.1f} | {r['distinct_1']:.3f} | {r['distinct_2']:.3f} | "
              f"{r['distinct_2_per_cell']:.3f} | "
              f"{r['uniqueness']:.3f} |")
    print("\n| model | task | sentences | accuracy | self-BLEU |\n|---|---|---|---|---|")
    for model, tasks in transfer.items():
        for task, t in tasks.items():
            print(f"| {model} | {task} | {t['sentences']} | {t['accuracy']:.3f} | {t['self_bleu']:.1f} |")


if __name__ == "__main__":
    main()
