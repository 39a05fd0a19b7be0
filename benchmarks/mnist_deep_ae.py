"""Deep autoencoder 784-1000-500-250-30 (Hinton & Salakhutdinov 2006) vs PCA-30 on MNIST, with and without RBM
pre-training.

Data: the 10,000 MNIST test images in ../shared/data/mnist (the training images are not available here), split
8,000 train / 2,000 test with split_seed 0. Both rows train through the real Trainer on one thread for the same
number of optimizer steps (32,000, the pre-training's 4 x 2,000 CD steps included), then are scored on the 2,000 test images: reconstruction SSE per image
(pixels in [0, 1]), cross-entropy, and a logistic-regression probe of the codes; PCA-30 is fitted on the same
8,000 training images. Writes benchmarks/results/mnist_deep_ae.json, a markdown table, and figures in docs/figures/.

    python benchmarks/mnist_deep_ae.py
"""
from __future__ import annotations

import json
from pathlib import Path

import image_bench as ib

ROWS = {
    "deep_ae, RBM pre-training": ("deep_ae_mnist", []),
    "deep_ae, no pre-training": ("deep_ae_nopretrain_mnist", []),
}


def pretrained_filters(run_dir: Path, step: int):
    """First-layer weights at the end of pre-training, from the checkpoint the recipe writes at that step."""
    from sentae import create_model
    from sentae.model import DataInfo
    from sentae.training.checkpoint import WEIGHTS, load_weights

    spec = json.loads((run_dir / "model.json").read_text())
    ckpt = run_dir / "checkpoints" / f"step-{step:08d}" / WEIGHTS
    if not ckpt.is_file():
        return None
    model = create_model(spec["type"], DataInfo.from_dict(spec["data_info"]), **spec["config"])
    load_weights(model, ckpt)
    return model.encoder[0].weight.detach()


def prune_checkpoints(run_dir: Path) -> None:
    """Keep the checkpoint at the end of pre-training and the last one; drop those in between (disk space)."""
    import shutil

    spec = json.loads((run_dir / "model.json").read_text())["config"]
    keep = f"step-{spec['pretrain_steps'] * len(spec['hidden_sizes']):08d}"
    ckpts = sorted((run_dir / "checkpoints").glob("step-*"))
    for path in ckpts[:-1]:
        if path.name != keep:
            shutil.rmtree(path)


def main() -> None:
    args, runs, figs, steps, result = ib.start(__doc__, "benchmarks/results/mnist_deep_ae.json")
    arrays, models = {}, {}
    for label, (recipe, overrides) in ROWS.items():
        run_dir = runs / recipe
        if args.skip_training:
            meta = json.loads((run_dir / "bench_train.json").read_text())
        else:
            # keep every checkpoint: the one at the end of pre-training holds the RBM filters
            meta = ib.train(recipe, run_dir, ["train.keep_last=100", *steps, *overrides])
            (run_dir / "bench_train.json").write_text(json.dumps(meta))
            prune_checkpoints(run_dir)
        report, arrs, model = ib.evaluate(run_dir)
        m = report["metrics"]
        result["rows"][label] = {**meta, "pretrain_steps_per_rbm": model.config.pretrain_steps,
                                 "test_sse_per_image": m["sse_per_image"], "test_bce_per_image": m["bce_per_image"],
                                 "pca30_sse_per_image": m["pca_sse_per_image"], "pca30_bce_per_image": m["pca_bce_per_image"],
                                 "sse_ratio_to_pca30": m["sse_ratio_to_pca"], "probe_accuracy": m["probe_accuracy"],
                                 "pca30_probe_accuracy": m["pca_probe_accuracy"]}
        arrays[label], models[label] = arrs, model
    first = next(iter(result["rows"].values()))
    result["rows"]["PCA-30 (fitted on the 8,000 training images)"] = {
        "test_sse_per_image": first["pca30_sse_per_image"], "test_bce_per_image": first["pca30_bce_per_image"],
        "probe_accuracy": first["pca30_probe_accuracy"]}
    pca_sse = first["pca30_sse_per_image"]
    result["target"] = {"sse_at_most": pca_sse / 4, "met": {k: r["test_sse_per_image"] <= pca_sse / 4
                                                            for k, r in result["rows"].items() if "steps" in r}}

    from sentae.evaluation.image_figures import code_scatter, filter_grid, image_rows

    pre, nopre = list(ROWS)
    rows = {"original": arrays[pre]["images"], "pre-trained": arrays[pre]["recons"],
            "no pre-training": arrays[nopre]["recons"], "PCA-30": arrays[pre]["pca_recons"]}
    files = [image_rows(rows, figs / "mnist_deep_ae_recon.png", n=12,
                        title="MNIST test images and their reconstructions from 30 numbers")]
    files.append(code_scatter(arrays[pre]["codes"].numpy(), arrays[pre]["labels"].numpy(), figs / "mnist_deep_ae_codes.png",
                              title="deep_ae (pre-trained) 30-d codes of 2,000 test images, first 2 PCs"))
    model = models[pre]
    rbm = pretrained_filters(runs / ROWS[pre][0], model.config.pretrain_steps * len(model.config.hidden_sizes))
    if rbm is not None:
        files.append(filter_grid(rbm.numpy(), (1, 28, 28), figs / "mnist_rbm_filters.png", n=64,
                                 title="first RBM (784-1000) after CD-1 pre-training: 64 of 1000 filters"))
    files.append(filter_grid(model.filters().numpy(), (1, 28, 28), figs / "mnist_deep_ae_filters.png", n=64,
                             title="the same filters after fine-tuning"))
    result["figures"] = [str(f) for f in files]
    ib.write_json(Path(args.out), result)

    table = [[label, r.get("steps", "-"), r.get("pretrain_steps_per_rbm", "-"), r["test_sse_per_image"],
              r["test_bce_per_image"], r["probe_accuracy"]] for label, r in result["rows"].items()]
    print(json.dumps(result, indent=2))
    print()
    print(ib.markdown(table, ["model", "steps", "CD steps per RBM", "test SSE per image", "test BCE per image (nats)",
                              "linear-probe accuracy"]))
    print(f"\ntarget: SSE <= PCA-30 / 4 = {pca_sse / 4:.3f}: "
          + ", ".join(f"{k}: {'met' if v else 'not met'}" for k, v in result["target"]["met"].items()))


if __name__ == "__main__":
    main()
