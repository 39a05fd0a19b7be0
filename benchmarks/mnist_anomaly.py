"""One-class anomaly detection on MNIST: for each digit k, a model trained only on the images of k in the
8,000-image training split scores the 2,000 held-out test images of all ten digits; AUROC of "not k" (the
anomalies, positive class) against k by scikit-learn's roc_auc_score, per digit and the mean over digits.

Rows: the small conv autoencoder of recipes/mnist_anomaly.yaml (score: reconstruction SSE), the conv VAE of
recipes/mnist_anomaly_vae.yaml (scores: SSE of the posterior-mean reconstruction, -ELBO, IW-NLL with K = 50), and
the baseline: PCA with as many components as the autoencoder's code (16), fitted on the same training images of k,
scored by its reconstruction SSE. Every model trains through the real Trainer (registry, recipe, run folder) on one
CPU thread and is scored through ``sentae.score``, the API behind ``sentae score``. Reference: Ruff et al. 2018
(Deep SVDD) report a mean AUROC of about 0.90 for a deep conv autoencoder on MNIST (trained on the full 60,000-image
training set; here 8,000 images in all, about 800 per digit).
Writes benchmarks/results/mnist_anomaly.json and prints a markdown table.

    python benchmarks/mnist_anomaly.py                   # both models, ~15 minutes on one busy thread
    python benchmarks/mnist_anomaly.py --models conv_ae  # the autoencoder row and the PCA baseline only
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

import image_bench as ib

MODELS = {"conv_ae": ("mnist_anomaly", ["sse"]), "conv_vae": ("mnist_anomaly_vae", ["sse", "neg_elbo", "iw_nll"])}
IW_SAMPLES = 50
PCA_COMPONENTS = 16  # the autoencoder's code size


def pca_scores(train: torch.Tensor, test: torch.Tensor, k: int) -> np.ndarray:
    """Reconstruction SSE per test image of a PCA-k fitted on ``train``."""
    from sklearn.decomposition import PCA

    pca = PCA(n_components=k, svd_solver="full").fit(train.flatten(1).double().numpy())
    t = test.flatten(1).double().numpy()
    return ((pca.inverse_transform(pca.transform(t)) - t) ** 2).sum(1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--digits", nargs="+", type=int, default=list(range(10)))
    ap.add_argument("--steps", type=int, default=None, help="optimizer steps per model (default: the recipe's)")
    ap.add_argument("--runs", default="runs/bench_mnist_anomaly")
    ap.add_argument("--out", default="benchmarks/results/mnist_anomaly.json")
    args = ap.parse_args()
    ib.setup()
    import sentae
    from sentae.evaluation.images import rebuild_image_data, split_tensors
    from sklearn.metrics import roc_auc_score

    t_start = time.perf_counter()
    result = {"data": ib.DATA + " (all ten digits); training: the images of one digit of the 8,000",
              "metric": "AUROC, anomalies (test images of the other nine digits) = positive class, higher score = more anomalous",
              "iw_samples": IW_SAMPLES, "pca_components": PCA_COMPONENTS, "environment": ib.environment(),
              "recipes": {m: f"recipes/{MODELS[m][0]}.yaml" for m in args.models}, "per_digit": {}}
    rows: dict[str, dict[int, float]] = {}
    for digit in args.digits:
        entry: dict[str, float | dict] = {}
        data = None
        for model in args.models:
            recipe, score_names = MODELS[model]
            run_dir = Path(args.runs) / f"{model}_{digit}"
            overrides = [f"data.options.normal=[{digit}]"] + ([f"train.max_steps={args.steps}"] if args.steps else [])
            meta = ib.train(recipe, run_dir, overrides)
            data = data or rebuild_image_data(run_dir)
            images, labels = split_tensors(data, "test")
            anomalous = (labels != digit).numpy()
            scored = sentae.score(run_dir, images, score_names, iw_samples=IW_SAMPLES, seed=0)
            for name in score_names:
                key = f"{model} {name}"
                entry[key] = float(roc_auc_score(anomalous, scored["scores"][name]))
                rows.setdefault(key, {})[digit] = entry[key]
            entry[f"{model} train"] = meta
        train_images, train_labels = split_tensors(data, "train")
        assert bool((train_labels == digit).all()), "the one_class source kept another digit in training"
        entry["train_images"] = len(train_images)
        entry[f"pca{PCA_COMPONENTS} sse"] = float(roc_auc_score((labels != digit).numpy(),
                                                                pca_scores(train_images, images, PCA_COMPONENTS)))
        rows.setdefault(f"pca{PCA_COMPONENTS} sse", {})[digit] = entry[f"pca{PCA_COMPONENTS} sse"]
        result["per_digit"][str(digit)] = entry
        print(f"digit {digit}: " + ", ".join(f"{k} {v:.4f}" for k, v in entry.items() if isinstance(v, float)), flush=True)
    result["mean_auroc"] = {k: float(np.mean(list(v.values()))) for k, v in rows.items()}
    result["total_seconds"] = round(time.perf_counter() - t_start, 1)
    ib.write_json(Path(args.out), result)
    header = ["model / score", *(str(d) for d in args.digits), "mean"]
    table = [[k, *(v[d] for d in args.digits), result["mean_auroc"][k]] for k, v in rows.items()]
    print(ib.markdown(table, header))
    print(json.dumps(result["mean_auroc"], indent=2))


if __name__ == "__main__":
    main()
