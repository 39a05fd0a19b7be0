"""Denoising MNIST digits: PSNR of the 2,000 held-out test images under four corruptions, for the noisy input
itself, a 3x3 median filter (scipy.ndimage.median_filter) and the denoising conv autoencoder of
recipes/mnist_denoise.yaml.

Corruptions of the test images (fixed seed): Gaussian noise of std 0.3 and 0.5 (clipped to [0, 1]), and masking
of 25% and 50% of the pixels (set to 0). Two denoisers, one per kind of noise, each trained through the real
Trainer on one CPU thread on the 8,000 training images at the stronger level (Gaussian std 0.5, clipped; masking
50%) and applied to both levels of its kind through ``sentae.denoise``, the API behind ``sentae denoise``.
PSNR = 10 log10(1 / MSE) per image (pixels in [0, 1]), averaged over the 2,000 images, in dB.
Writes benchmarks/results/mnist_denoise.json and prints a markdown table.

    python benchmarks/mnist_denoise.py     # ~8 minutes on one thread
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

import image_bench as ib

DENOISERS = {  # noise kind -> the recipe overrides of its denoiser
    "gaussian": ["model.noise_std=0.5", "model.noise_clip=true", "model.mask_prob=0.0"],
    "masking": ["model.noise_std=0.0", "model.mask_prob=0.5"],
}
CONDITIONS = {"gaussian σ=0.3": ("gaussian", 0.3), "gaussian σ=0.5": ("gaussian", 0.5),
              "masking 25%": ("masking", 0.25), "masking 50%": ("masking", 0.5)}
NOISE_SEED = 1234


def corrupt(images: torch.Tensor, kind: str, level: float, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if kind == "gaussian":
        return (images + level * torch.randn(images.shape, generator=g)).clamp(0, 1)
    return images * (torch.rand(images.shape, generator=g) >= level)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=None, help="optimizer steps per denoiser (default: the recipe's)")
    ap.add_argument("--runs", default="runs/bench_mnist_denoise")
    ap.add_argument("--out", default="benchmarks/results/mnist_denoise.json")
    ap.add_argument("--skip-training", action="store_true", help="evaluate the existing run folders in --runs")
    args = ap.parse_args()
    ib.setup()
    import sentae
    from scipy.ndimage import median_filter
    from sentae.evaluation.images import rebuild_image_data, split_tensors

    t0 = time.perf_counter()
    result = {"data": ib.DATA, "metric": "PSNR in dB, 10 log10(1 / MSE) per image, mean over the 2,000 test images",
              "recipe": "recipes/mnist_denoise.yaml", "denoisers": DENOISERS, "median_filter": "3x3",
              "noise_seed": NOISE_SEED, "environment": ib.environment(), "train": {}, "rows": {}}
    runs = {}
    for kind, overrides in DENOISERS.items():
        runs[kind] = Path(args.runs) / kind
        steps = [f"train.max_steps={args.steps}"] if args.steps else []
        result["train"][kind] = ib.train_or_reuse("mnist_denoise", runs[kind], overrides + steps,
                                                  reuse=args.skip_training)
    clean, _ = split_tensors(rebuild_image_data(runs["gaussian"]), "test")
    x = clean.numpy()
    for i, (label, (kind, level)) in enumerate(CONDITIONS.items()):
        noisy = corrupt(clean, kind, level, NOISE_SEED + i)
        denoised, _ = sentae.denoise(runs[kind], noisy)
        median = median_filter(noisy.numpy(), size=(1, 1, 3, 3))
        result["rows"][label] = {"noisy input": float(ib.psnr(noisy.numpy(), x).mean()),
                                 "median filter 3x3": float(ib.psnr(median, x).mean()),
                                 "denoising conv AE": float(ib.psnr(denoised, x).mean())}
        print(label, result["rows"][label], flush=True)
    # What the code keeps at best: each denoiser's PSNR on the clean test images themselves
    result["clean_input_psnr"] = {kind: float(ib.psnr(sentae.denoise(run, clean)[0], x).mean()) for kind, run in runs.items()}
    result["total_seconds"] = round(time.perf_counter() - t0, 1)
    ib.write_json(Path(args.out), result)
    methods = ["noisy input", "median filter 3x3", "denoising conv AE"]
    print(ib.markdown([[label, *(r[m] for m in methods)] for label, r in result["rows"].items()],
                      ["corruption (PSNR dB)", *methods]))
    print(json.dumps(result["rows"], indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
