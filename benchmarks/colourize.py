"""Colourization of 32x32 photo patches: PSNR on the held-out test band of scikit-learn's two bundled colour photos
(china.jpg, flower.jpg), for the grayscale input itself, a constant-colour baseline and the conv autoencoder of
recipes/colourize_patches.yaml (fed each patch's luminance, trained to output the colour original).

Split (the photo_patches source): the rightmost 20% of each photo's 32-pixel columns is the test band, 104
non-overlapping patches; the 10% left of it the val band (52 patches, which chose the recipe's step count); the
rest the train band, 1,350 patches cut every 16 pixels. No pixel of a test patch is in any training patch. Rows, all on the 104 test patches:
  grayscale input              the luminance 0.299 R + 0.587 G + 0.114 B on all three channels
  gray + mean train colour     that luminance plus the mean colour offset (x - luminance) of the train patches
  conv AE output               the model's output for the gray input (sentae.denoise)
  conv AE colour, input luma   the model's colour with the input's own luminance (sentae.applications.colourize,
                               `sentae denoise --keep-luminance`)
PSNR = 10 log10(1 / MSE) per patch over its 3x32x32 values in [0, 1], mean over patches, dB. Colour error: RMS over
pixels and channels of the error in the colour offset x - luminance(x), in 8-bit levels (0 for a perfect colour,
whatever the luminance). Writes benchmarks/results/colourize.json, a markdown table and docs/figures/colourize_patches.png.

    python benchmarks/colourize.py     # ~3 minutes on one thread
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import image_bench as ib

RECIPE = "colourize_patches"
ROWS = ["grayscale input", "gray + mean train colour", "conv AE output", "conv AE colour, input luminance"]


def colour_error(estimate: np.ndarray, clean: np.ndarray) -> float:
    """RMS error of the colour offset ``x - luminance(x)`` over every pixel and channel, in 8-bit levels."""
    from sentae.applications.colourize import luminance

    def offset(x: np.ndarray) -> np.ndarray:
        return x.astype(np.float64) - luminance(x)

    return float(255 * np.sqrt(((offset(estimate) - offset(clean)) ** 2).mean()))


def figure(rows: dict[str, np.ndarray], path: Path, n: int = 12) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pick = np.linspace(0, len(next(iter(rows.values()))) - 1, n).round().astype(int)
    fig, axes = plt.subplots(len(rows), n, figsize=(n * 0.9, len(rows) * 1.0 + 0.3))
    for r, (label, images) in enumerate(rows.items()):
        for c, i in enumerate(pick):
            ax = axes[r, c]
            ax.imshow(np.clip(images[i].transpose(1, 2, 0), 0, 1), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    fig.suptitle("held-out test patches (right band of each photo)", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=None, help="optimizer steps (default: the recipe's)")
    ap.add_argument("--runs", default="runs/bench_colourize")
    ap.add_argument("--out", default="benchmarks/results/colourize.json")
    ap.add_argument("--figure", default="docs/figures/colourize_patches.png")
    ap.add_argument("--skip-training", action="store_true", help="evaluate the existing run folder in --runs")
    args = ap.parse_args()
    ib.setup()
    import sentae
    from sentae.applications import colourize
    from sentae.applications.colourize import luminance
    from sentae.evaluation.images import rebuild_image_data, split_tensors

    t0 = time.perf_counter()
    run = Path(args.runs) / "conv_ae"
    train = ib.train_or_reuse(RECIPE, run, [f"train.max_steps={args.steps}"] if args.steps else [],
                              reuse=args.skip_training)
    data = rebuild_image_data(run)
    clean_t, _ = split_tensors(data, "test")
    train_t, _ = split_tensors(data, "train")
    clean, train_x = clean_t.numpy(), train_t.numpy()
    gray = np.repeat(luminance(clean), 3, axis=1)
    mean_offset = (train_x - luminance(train_x)).mean(axis=(0, 2, 3), keepdims=True)  # per channel, train split only
    estimates = {
        "grayscale input": gray,
        "gray + mean train colour": np.clip(gray + mean_offset, 0, 1),
        "conv AE output": sentae.denoise(run, gray)[0],
        "conv AE colour, input luminance": colourize(run, gray)[0],
    }
    result = {"data": "scikit-learn load_sample_images (china.jpg, flower.jpg), 32x32 patches; test = rightmost 20% "
                      "of each photo's columns (104 non-overlapping patches), val = the 10% left of it (52), train = "
                      "the rest (1,350 patches, stride 16); no pixel shared",
              "metric": "PSNR in dB, 10 log10(1 / MSE) per patch (3x32x32 values in [0, 1]), mean over the 104 test "
                        "patches; colour error: RMS error of x - luminance(x), 8-bit levels",
              "recipe": f"recipes/{RECIPE}.yaml", "train": train, "environment": ib.environment(),
              "n_test": len(clean), "n_train": len(train_x), "rows": {}}
    for label in ROWS:
        result["rows"][label] = {"psnr_db": float(ib.psnr(estimates[label], clean).mean()),
                                 "colour_error_8bit": colour_error(estimates[label], clean)}
    # how much of the PSNR gap is the code losing luminance detail: the model's output, luminance alone
    result["model_luminance_psnr_db"] = float(ib.psnr(luminance(estimates["conv AE output"]), luminance(clean)).mean())
    figure({"gray input": gray, "conv AE colour\n+ input luminance": estimates["conv AE colour, input luminance"],
            "original": clean}, Path(args.figure))
    result["total_seconds"] = round(time.perf_counter() - t0, 1)
    ib.write_json(Path(args.out), result)
    table = ib.markdown([[label, r["psnr_db"], r["colour_error_8bit"]] for label, r in result["rows"].items()],
                        ["estimate (104 test patches)", "PSNR dB", "colour error (8-bit levels)"])
    Path(args.out).with_suffix(".md").write_text(table + "\n", encoding="utf-8")
    print(table)
    print(json.dumps({k: v for k, v in result.items() if k != "environment"}, indent=2))


if __name__ == "__main__":
    main()
