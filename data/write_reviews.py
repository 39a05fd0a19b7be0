"""Write the embedded review corpus to ``train.jsonl``, ``valid.jsonl`` and ``test.jsonl`` in a folder.

    python data/write_reviews.py corpora/reviews                 # the default corpus: 24,000 sentences, seed 0
    python data/write_reviews.py corpora/reviews --size 60000 --seed 3

Each line is ``{"text": ..., "sentiment": "negative" | "positive", "tense": "past" | "present" | "future"}``; the
splits are the ones the ``reviews`` data source uses (90/5/5 % of each sentiment x tense cell). The folder can be
read back with ``data.source: text`` and ``options: {attributes: {sentiment: [negative, positive],
tense: [past, present, future]}}``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sentae.data.reviews import generate_reviews, split_reviews

FILES = {"train": "train.jsonl", "val": "valid.jsonl", "test": "test.jsonl"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, help="where to write the three files (created if missing)")
    parser.add_argument("--size", type=int, default=24_000, help="sentences in all (default 24000)")
    parser.add_argument("--seed", type=int, default=0, help="grammar seed (default 0, the default corpus)")
    parser.add_argument("--force", action="store_true", help="overwrite existing files")
    args = parser.parse_args(argv)

    paths = {split: args.folder / name for split, name in FILES.items()}
    existing = [str(p) for p in paths.values() if p.exists()]
    if existing and not args.force:
        print(f"error: {', '.join(existing)} already exist(s); pass --force to overwrite", file=sys.stderr)
        return 1
    args.folder.mkdir(parents=True, exist_ok=True)
    for split, rows in split_reviews(generate_reviews(args.size, args.seed)).items():
        text = "".join(json.dumps(r) + "\n" for r in rows)
        tmp = paths[split].with_suffix(".jsonl.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(paths[split])  # never leave a half-written split behind
        print(f"{paths[split]}: {len(rows):,} sentences")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
