"""The quickstart's control, at the README's decoding, judged by judges not trained on (nor written for) its corpus.

Model: ctrl_vae trained by recipes/quickstart.yaml (``--set`` overrides allowed) on sentae's generated review corpus,
or an existing run folder given by ``--run``. Training runs as the README's command runs it (the recipe's
``train.max_time_s`` budget and one thread included); its wall time and steps are recorded.

Samples: ``--per-cell`` (default 200) per sentiment x tense cell from the prior at top-p 0.9 (temperature 1), the
decoding of ``sentae sample --grid --top-p 0.9``, cell i drawn with seeds ``seed + 1000 i + j`` (seed 0); the same
z with greedy decoding for comparison.

Judges:
- sentiment: ``sentae.evaluation.lexicon_sentiment`` (Hu & Liu's opinion lexicon + Pattern's adjectives, negation
  scope; no verdict without an opinion word, counted as wrong and reported as ``undecided``), read with VADER's
  rated words and the restaurant adjectives those general lexicons lack, induced from the human-written Yelp train
  split (``sentae.evaluation.domain_lexicon``): ``lexicon_wide``, the judge of the target; and with Hu & Liu and
  Pattern alone (``lexicon``), the judge of the first measurement;
- tense: the rule-based tense labeller ``sentae.data.tense`` (lemminflect's lexicon and closed-class rules; "none"
  counted as wrong);
- for comparison only: the corpus's own rules ``sentae.data.review_rules.judge`` (the rules the corpus was made
  with, so not independent of it).
Reference rows: the same judges on the real sentences of the reviews *test* split (200 per cell), against their
construction labels: what a perfect generator would score, the judges' ceiling. Rewrites: the first 300 test
sentences, each moved to the opposite sentiment and to the next tense (past -> present -> future -> past) with
``TextSampler.transfer`` (greedy), judged the same way.

    SENTAE_DATA_DIR=../shared/data OMP_NUM_THREADS=1 python benchmarks/quickstart_control.py
    SENTAE_DATA_DIR=../shared/data OMP_NUM_THREADS=1 python benchmarks/quickstart_control.py --run runs/quickstart
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sentae
from sentae.data.reviews import (
    SENTIMENTS,
    TENSES,
    generate_reviews,
    judge,
    split_reviews,
)
from sentae.data.tense import label_tenses
from sentae.evaluation.domain_lexicon import MIN_COUNT, MIN_PREDICATIVE, MIN_SHARE, yelp_lexicon
from sentae.evaluation.lexicon_sentiment import LexiconSentimentJudge
from sentae.run import RunFolder

YELP_WORDS = "Yelp-induced adjectives (sentae.evaluation.domain_lexicon, Yelp train split)"
CELLS = [(s, t) for s in SENTIMENTS for t in TENSES]
PRIMARY = "lexicon_wide"  # the judge of the target: three general lexicons + adjectives induced from Yelp


def train(recipe: Path, out: Path, overrides: list[str]) -> dict:
    start = time.time()
    run = sentae.train(recipe, ["train.progress=log", *overrides], out=out)
    return {"run": str(run.path), "recipe": str(recipe.relative_to(ROOT)), "overrides": overrides,
            "steps": run.result.steps, "out_of_time": run.result.out_of_time,
            "train_wall_s": round(time.time() - start, 1),
            "val": {k: round(v, 4) for k, v in run.result.val_metrics.items()}}


def describe_run(run: Path) -> dict:
    """Steps and training wall time of an existing run, from its metrics.jsonl (the last logged train line)."""
    steps = elapsed = None
    for line in (run / "metrics.jsonl").read_text().splitlines():
        row = json.loads(line)
        steps = row.get("step", steps)
        elapsed = row.get("elapsed_s", elapsed)
    return {"run": str(run), "steps": steps, "train_wall_s_at_last_log": elapsed}


def judge_cell(texts: list[str], sentiment: str, tense: str, lexicons: dict[str, LexiconSentimentJudge]) -> dict:
    n = len(texts)
    lab = label_tenses(texts)
    rules = [judge(t) for t in texts]
    row = {"sentiment": sentiment, "tense": tense, "n": n}
    for name, lexicon in lexicons.items():
        lex = lexicon.predict(texts)
        decided = sum(v is not None for v in lex)
        row |= {f"{name}_sentiment": sum(v == sentiment for v in lex) / n,
                f"{name}_undecided": n - decided,
                f"{name}_sentiment_of_decided": sum(v == sentiment for v in lex) / max(1, decided)}
        if name == PRIMARY:
            row["labeller_both"] = sum(a == sentiment and b == tense for a, b in zip(lex, lab)) / n
    return row | {"labeller_tense": sum(v == tense for v in lab) / n,
                  "rules_sentiment": sum(r["sentiment"] == sentiment for r in rules) / n,
                  "rules_tense": sum(r["tense"] == tense for r in rules) / n}


def grid(sampler, per_cell: int, seed: int, lexicons: dict[str, LexiconSentimentJudge], **decoding) -> tuple[list[dict], dict]:
    cells, examples = [], {}
    for want, texts in sampler.sample_grid(per_cell, seed=seed, batch_size=200, cell_seed_stride=1000, **decoding):
        cells.append(judge_cell(texts, want["sentiment"], want["tense"], lexicons))
        examples[f"{want['sentiment']}/{want['tense']}"] = texts[:5]
    return cells, examples


def reference(per_cell: int, lexicons: dict[str, LexiconSentimentJudge]) -> tuple[list[dict], float]:
    """The judges on real test sentences, per cell; and the tense labeller's agreement over the whole test split."""
    test = split_reviews(generate_reviews(24_000, 0))["test"]
    agree = sum(a == r["tense"] for a, r in zip(label_tenses([r["text"] for r in test]), test)) / len(test)
    cells = []
    for s, t in CELLS:
        texts = [r["text"] for r in test if (r["sentiment"], r["tense"]) == (s, t)][:per_cell]
        cells.append(judge_cell(texts, s, t, lexicons))
    return cells, agree


def rewrites(sampler, lexicons: dict[str, LexiconSentimentJudge], count: int = 300) -> dict:
    test = split_reviews(generate_reviews(24_000, 0))["test"][:count]
    texts = [r["text"] for r in test]
    flip = {s: SENTIMENTS[1 - SENTIMENTS.index(s)] for s in SENTIMENTS}
    nxt = {t: TENSES[(TENSES.index(t) + 1) % len(TENSES)] for t in TENSES}
    out = {}
    for attr, target in (("sentiment", flip), ("tense", nxt)):
        goals = [target[r[attr]] for r in test]
        moved: list[str] = []
        for goal in sorted(set(goals)):  # one transfer call per target value, then back in input order
            idx = [i for i, g in enumerate(goals) if g == goal]
            moved_part = sampler.transfer([texts[i] for i in idx], {attr: goal})
            moved += list(zip(idx, moved_part))
        moved_texts = [m for _, m in sorted(moved)]
        other = "tense" if attr == "sentiment" else "sentiment"
        keep = [r[other] for r in test]
        sj = lexicons[PRIMARY].predict(moved_texts)
        tj = label_tenses(moved_texts)
        got, kept = (sj, tj) if attr == "sentiment" else (tj, sj)
        out[attr] = {"n": count, "accuracy": sum(g == w for g, w in zip(got, goals)) / count,
                     f"{other}_kept": sum(k == w for k, w in zip(kept, keep)) / count,
                     "unchanged_copies": sum(a == b for a, b in zip(texts, moved_texts)),
                     "examples": list(zip(texts[:3], moved_texts[:3]))}
    return out


def markdown(result: dict) -> str:
    head = ("| cell | sentiment, wide lexicon (top-p 0.9) | undecided / of decided | Hu & Liu + Pattern only | "
            "labeller tense (top-p 0.9) | both | corpus rules sent. / tense | wide lexicon / labeller, greedy | "
            "judges on real test sentences (wide / Hu & Liu + Pattern / labeller) |")
    lines = [head, "|" + "---|" * 9]
    for s, g, r in zip(result["top_p_0.9"], result["greedy"], result["reference"]):
        lines.append(f"| {s['sentiment']} {s['tense']} | {s['lexicon_wide_sentiment']:.3f} | "
                     f"{s['lexicon_wide_undecided']} / {s['lexicon_wide_sentiment_of_decided']:.3f} | "
                     f"{s['lexicon_sentiment']:.3f} | {s['labeller_tense']:.3f} | {s['labeller_both']:.3f} | "
                     f"{s['rules_sentiment']:.3f} / {s['rules_tense']:.3f} | "
                     f"{g['lexicon_wide_sentiment']:.3f} / {g['labeller_tense']:.3f} | "
                     f"{r['lexicon_wide_sentiment']:.3f} / {r['lexicon_sentiment']:.3f} / {r['labeller_tense']:.3f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", type=Path, default=None, help="an existing quickstart run folder (default: train one)")
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "quickstart_control", help="where to train")
    ap.add_argument("--set", dest="overrides", action="append", default=[], help="recipe override (repeatable)")
    ap.add_argument("--per-cell", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "quickstart_control.json")
    args = ap.parse_args()
    os.environ.setdefault("SENTAE_DATA_DIR", str(ROOT.parent / "shared" / "data"))

    training = describe_run(args.run) if args.run else train(ROOT / "recipes" / "quickstart.yaml", args.out,
                                                            args.overrides)
    sampler = sentae.load(training["run"])
    lexicons = {"lexicon_wide": LexiconSentimentJudge.from_data_dir(vader=True, domain=yelp_lexicon(),
                                                                    domain_name=YELP_WORDS),
                "lexicon": LexiconSentimentJudge.from_data_dir()}
    sampled, examples = grid(sampler, args.per_cell, args.seed, lexicons, strategy="sample", top_p=0.9)
    greedy, _ = grid(sampler, args.per_cell, args.seed, lexicons, strategy="greedy")
    ref, tense_agreement = reference(args.per_cell, lexicons)
    import torch

    result = {
        "what": "ctrl_vae quickstart: control accuracy per sentiment x tense cell; sentiment by the lexicon judge "
                "with VADER and Yelp-induced adjectives (lexicon_wide, the target's judge) and without them (lexicon), tense by the "
                "rule-based labeller, the corpus rules for comparison",
        "judges": {"sentiment (lexicon_wide)": lexicons["lexicon_wide"].describe(),
                   "sentiment (lexicon)": lexicons["lexicon"].describe(),
                   "yelp words": f"sentae.evaluation.domain_lexicon.yelp_lexicon(): adjectives (or -ed participles) "
                                 f"of the Yelp train split with >= {MIN_COUNT} un-negated uses after a linking verb, "
                                 f">= {MIN_PREDICATIVE:.0%} of their uses there, and >= {MIN_SHARE:.0%} of those "
                                 f"in one sentiment (class sizes normalised)",
                   "tense": "rule-based tense labeller (sentae.data.tense)",
                   "comparison": "reviews construction rules (sentae.data.review_rules.judge)"},
        "training": training, "per_cell": args.per_cell, "seed": args.seed,
        "decoding": {"top_p_0.9": "strategy sample, top_p 0.9, temperature 1", "greedy": "strategy greedy"},
        "recipe_used": {k: v for k, v in RunFolder(training["run"]).read_config().items() if k in ("model", "train")},
        "min_cell": {k: min(c[k] for c in sampled) for k in (
            "lexicon_wide_sentiment", "lexicon_wide_sentiment_of_decided", "lexicon_sentiment",
            "lexicon_sentiment_of_decided", "labeller_tense", "rules_sentiment", "rules_tense")},
        "top_p_0.9": sampled, "greedy": greedy, "reference": ref,
        "tense_labeller_agreement_reviews_test": tense_agreement,
        "rewrites_test_first_300": rewrites(sampler, lexicons),
        "examples_top_p_0.9": examples,
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                    "torch": torch.__version__, "threads": torch.get_num_threads()},
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(markdown(result))
    print(f"min over cells at top-p 0.9: sentiment {result['min_cell']['lexicon_wide_sentiment']:.3f} (wide "
          f"lexicon; of decided {result['min_cell']['lexicon_wide_sentiment_of_decided']:.3f}; Hu & Liu "
          f"+ Pattern only {result['min_cell']['lexicon_sentiment']:.3f}), "
          f"tense {result['min_cell']['labeller_tense']:.3f}; tense labeller agreement with the construction labels "
          f"on reviews test: {tense_agreement:.4f}")
    for attr, r in result["rewrites_test_first_300"].items():
        print(f"rewrites ({attr}, first 300 test sentences, greedy): accuracy {r['accuracy']:.3f}, "
              + ", ".join(f"{k} {v:.3f}" for k, v in r.items() if k.endswith("_kept")))
    if "train_wall_s" in training:
        print(f"training: {training['steps']} steps in {training['train_wall_s']} s (out of time: "
              f"{training['out_of_time']})")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
