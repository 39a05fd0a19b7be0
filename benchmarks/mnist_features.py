"""One-hidden-layer features on MNIST: plain, sparse, denoising and contractive autoencoders (784-500-784, sigmoid
hidden units), compared by linear-probe accuracy of the 500 hidden activations and by reconstruction error.

Data: the 10,000 MNIST test images in ../shared/data/mnist split 8,000 train / 2,000 test (split_seed 0). Each row
trains through the real Trainer on one thread for the same 15,000 steps (batch 100), then is scored on the 2,000 test
images. The probe is a logistic regression on standardised features fitted on the 8,000 training images. For
comparison on every row: the mean activation, Hoyer sparsity and the encoder's Jacobian norm ‖J‖²_F (closed form,
all four encoders are one sigmoid layer). References: raw pixels and PCA-500 in the same probe.
Writes benchmarks/results/mnist_features.json, a markdown table and filter figures in docs/figures/.

    python benchmarks/mnist_features.py
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

import image_bench as ib

ROWS = {
    "autoencoder": "plain_ae_mnist",
    "sparse (KL, ρ=0.05, β=1)": "sparse_ae_mnist",
    "denoising (25% masking)": "denoising_ae_mnist",
    "contractive (λ=3)": "contractive_ae_mnist",
}


@torch.no_grad()
def encoder_statistics(model, images: torch.Tensor) -> dict[str, float]:
    """Mean activation, Hoyer sparsity and closed-form ‖J‖²_F of a one-sigmoid-layer encoder on ``images``."""
    from sentae_image.contractive_ae import sigmoid_jacobian_frob2
    from sentae_image.sparse_ae import hoyer_sparsity

    model.eval()
    h = model.encode(images)
    weight = model.filters()
    return {"mean_activation": float(h.mean()), "hoyer_sparsity": float(hoyer_sparsity(h)),
            "jacobian_frob2": float(sigmoid_jacobian_frob2(h, weight).mean())}


def main() -> None:
    args, runs, figs, steps, result = ib.start(__doc__, "benchmarks/results/mnist_features.json")
    from sentae.evaluation.image_figures import filter_grid

    files = []
    for label, recipe in ROWS.items():
        run_dir = runs / recipe
        if args.skip_training:
            meta = json.loads((run_dir / "bench_train.json").read_text())
        else:
            meta = ib.train(recipe, run_dir, steps)
            (run_dir / "bench_train.json").write_text(json.dumps(meta))
        report, arrays, model = ib.evaluate(run_dir)
        m = report["metrics"]
        result["rows"][label] = {**meta, "test_sse_per_image": m["sse_per_image"], "test_bce_per_image": m["bce_per_image"],
                                 "probe_accuracy": m["probe_accuracy"], **encoder_statistics(model, arrays["images"]),
                                 "pca500_sse_per_image": m["pca_sse_per_image"], "pca500_probe_accuracy": m["pca_probe_accuracy"]}
        files.append(filter_grid(model.filters().numpy(), (1, 28, 28), figs / f"mnist_filters_{recipe.removesuffix('_mnist')}.png",
                                 n=36, title=f"{label}: 36 of 500 filters"))

    # References: the same probe on raw pixels; PCA-500 (the same size as the hidden layer) from the last report
    from sentae.evaluation.images import linear_probe, split_tensors, rebuild_image_data

    data = rebuild_image_data(runs / next(iter(ROWS.values())), (1, 28, 28))
    x_train, y_train = split_tensors(data, "train")
    x_test, y_test = split_tensors(data, "test")
    raw = linear_probe(x_train.flatten(1).numpy(), y_train.numpy(), x_test.flatten(1).numpy(), y_test.numpy())
    last = result["rows"][label]
    result["references"] = {"raw pixels (784)": {"probe_accuracy": raw["accuracy"], "test_sse_per_image": 0.0},
                            "PCA-500": {"probe_accuracy": last["pca500_probe_accuracy"],
                                        "test_sse_per_image": last["pca500_sse_per_image"]}}
    result["figures"] = [str(f) for f in files]
    ib.write_json(Path(args.out), result)

    table = [[label, r["steps"], r["probe_accuracy"], r["test_sse_per_image"], r["test_bce_per_image"],
              r["mean_activation"], r["hoyer_sparsity"], r["jacobian_frob2"]] for label, r in result["rows"].items()]
    table += [[label, "-", r["probe_accuracy"], r["test_sse_per_image"], "-", "-", "-", "-"]
              for label, r in result["references"].items()]
    print(json.dumps(result, indent=2))
    print()
    print(ib.markdown(table, ["features (500 sigmoid units)", "steps", "linear-probe accuracy", "test SSE per image",
                              "test BCE per image (nats)", "mean activation", "Hoyer sparsity", "‖J‖²_F per image"]))


if __name__ == "__main__":
    main()
