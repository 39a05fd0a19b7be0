"""Image metrics, the same for every image model: reconstruction error per image, the PCA baseline with the same
code size fitted on the same training split, and a linear probe of the codes.

Units: ``sse`` is the sum of squared errors over the pixels of one image (pixels in [0, 1]), averaged over images,
as Hinton & Salakhutdinov (2006) report it; ``bce`` is the Bernoulli cross-entropy in nats per image. The probe is a
logistic regression on standardised codes, fitted on the training split and scored (accuracy) on the evaluated split.
"""
from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import DataError, SentaeError
from ..run import REPORT, RunFolder

EPS = 1e-7  # probabilities are clipped to [EPS, 1 - EPS] before logs


def split_tensors(data, split: str, indices: list[int] | None = None, chunk: int = 2000) -> tuple[torch.Tensor, torch.Tensor]:
    """Images ``(N, C, H, W)`` and labels ``(N,)`` of a split of an image DataModule (all of it by default)."""
    if indices is None:
        indices = list(range(data.split_size(split)))
    images, labels = [], []
    for start in range(0, len(indices), chunk):
        batch = data.get_batch(split, indices[start : start + chunk])
        images.append(batch["image"])
        labels.append(batch.get("label", torch.full((len(batch["image"]),), -1, dtype=torch.long)))
    return torch.cat(images), torch.cat(labels)


@torch.no_grad()
def codes_and_reconstructions(model, images: torch.Tensor, batch_size: int = 500,
                              device: str | torch.device = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """The model's codes ``(N, D)`` and reconstructions (pixel probabilities) of ``images``, in eval mode."""
    was_training = model.training
    model.eval()
    codes, recons = [], []
    for start in range(0, len(images), batch_size):
        x = images[start : start + batch_size].to(device)
        codes.append(model.encode(x).flatten(1).float().cpu())
        recons.append(model.reconstruct(x).float().cpu())
    model.train(was_training)
    return torch.cat(codes), torch.cat(recons)


def reconstruction_errors(recon: torch.Tensor | np.ndarray, images: torch.Tensor | np.ndarray) -> dict[str, float]:
    """Mean over images of the per-image SSE and of the per-image BCE (nats); ``recon`` is clipped for the BCE only."""
    r = torch.as_tensor(np.asarray(recon), dtype=torch.float64).flatten(1)
    x = torch.as_tensor(np.asarray(images), dtype=torch.float64).flatten(1)
    sse = (r - x).pow(2).sum(1).mean()
    p = r.clamp(EPS, 1 - EPS)
    bce = -(x * p.log() + (1 - x) * (1 - p).log()).sum(1).mean()
    return {"sse": float(sse), "bce": float(bce)}


def pca_baseline(train_images: torch.Tensor, eval_images: torch.Tensor, n_components: int) -> dict[str, Any]:
    """PCA with ``n_components`` fitted on ``train_images``; errors of its reconstructions of ``eval_images``
    (unclipped for the SSE, as the usual baseline), plus its codes of both sets for the probe."""
    from sklearn.decomposition import PCA

    train = train_images.flatten(1).double().numpy()
    test = eval_images.flatten(1).double().numpy()
    k = min(n_components, *train.shape)
    pca = PCA(n_components=k, svd_solver="full").fit(train)
    codes_test = pca.transform(test)
    recon = pca.inverse_transform(codes_test)
    return {
        "components": k,
        **reconstruction_errors(recon, test),
        "explained_variance": float(pca.explained_variance_ratio_.sum()),
        "codes_train": pca.transform(train),
        "codes_eval": codes_test,
        "recon_eval": recon.reshape(eval_images.shape),
    }


def linear_probe(train_codes, train_labels, eval_codes, eval_labels, max_iter: int = 2000, c: float = 1.0) -> dict[str, Any]:
    """Accuracy of a logistic regression (on standardised codes) fitted on the training codes, on the eval codes."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y_train, y_eval = np.asarray(train_labels), np.asarray(eval_labels)
    if (y_train < 0).any() or (y_eval < 0).any() or len(np.unique(y_train)) < 2:
        raise DataError("linear probe: the data has no labels (or a single class)")
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter, C=c))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        clf.fit(np.asarray(train_codes, dtype=np.float64), y_train)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    acc = float((clf.predict(np.asarray(eval_codes, dtype=np.float64)) == y_eval).mean())
    return {"accuracy": acc, "converged": converged}


def evaluate_image_model(model, data, split: str = "test", fit_split: str = "train", max_images: int | None = None,
                         subset_seed: int = 0, batch_size: int = 500, device: str | torch.device = "cpu",
                         pca: bool = True, probe: bool = True) -> dict[str, Any]:
    """Every image number for ``model`` on ``split`` of ``data``; PCA and probe are fitted on ``fit_split``.

    Returns a JSON-ready report (``metrics``) and, under ``arrays``, what the figures need (removed before JSON).
    """
    from .subsets import subset_indices

    t0 = time.perf_counter()
    if data.split_size(split) == 0:
        raise SentaeError(f"the data has no '{split}' split (has: {', '.join(data.split_names())})")
    idx = subset_indices(data.split_size(split), max_images, subset_seed)
    images, labels = split_tensors(data, split, idx)
    codes, recons = codes_and_reconstructions(model, images, batch_size, device)
    errs = reconstruction_errors(recons, images)
    metrics: dict[str, float] = {"sse_per_image": errs["sse"], "bce_per_image": errs["bce"]}
    # The model's own statistics (mean activation, sparsity, Jacobian norm, ...), from its evaluate()
    batches = ({k: v.to(device) for k, v in data.get_batch(split, idx[s : s + batch_size]).items()}
               for s in range(0, len(idx), batch_size))
    model.eval()
    with torch.random.fork_rng():
        torch.manual_seed(0)
        own = model.evaluate(batches)
    metrics.update({k: float(v) for k, v in own.items() if k not in ("loss", "bce", "sse")})
    labelled = bool((labels >= 0).all()) and len(torch.unique(labels)) > 1
    arrays: dict[str, Any] = {"images": images, "labels": labels, "codes": codes, "recons": recons}
    report: dict[str, Any] = {"model": model.name, "split": split, "images": len(idx), "code_size": int(codes.shape[1]),
                              "subset_seed": subset_seed if len(idx) < data.split_size(split) else None}
    need_train = (pca or (probe and labelled)) and data.split_size(fit_split) > 0
    if need_train:
        train_images, train_labels = split_tensors(data, fit_split)
        report["fit_split"], report["fit_images"] = fit_split, len(train_images)
    if pca and codes.shape[1] >= images[0].numel():
        pca = False  # a code as large as the image: PCA with that many components reconstructs exactly
        report["pca_skipped"] = f"code size {codes.shape[1]} >= {images[0].numel()} pixels: PCA would be lossless"
    if pca and need_train:
        base = pca_baseline(train_images, images, codes.shape[1])
        metrics.update({"pca_sse_per_image": base["sse"], "pca_bce_per_image": base["bce"],
                        "sse_ratio_to_pca": errs["sse"] / max(base["sse"], 1e-12)})
        report["pca_components"] = base["components"]
        arrays["pca_recons"] = torch.as_tensor(base["recon_eval"], dtype=torch.float32)
    if probe and labelled and need_train:
        train_codes, _ = codes_and_reconstructions(model, train_images, batch_size, device)
        res = linear_probe(train_codes.numpy(), train_labels.numpy(), codes.numpy(), labels.numpy())
        metrics["probe_accuracy"] = res["accuracy"]
        report["probe_converged"] = res["converged"]
        if pca:
            metrics["pca_probe_accuracy"] = linear_probe(base["codes_train"], train_labels.numpy(), base["codes_eval"],
                                                         labels.numpy())["accuracy"]
    report["metrics"] = metrics
    report["seconds"] = round(time.perf_counter() - t0, 1)
    report["arrays"] = arrays
    return report


UNITS = {
    "sse_per_image": "reconstruction SSE per image (sum over pixels in [0, 1])",
    "bce_per_image": "reconstruction cross-entropy per image, nats",
    "pca_sse_per_image": "PCA-{K} reconstruction SSE per image (fitted on {fit})",
    "pca_bce_per_image": "PCA-{K} cross-entropy per image, nats (clipped)",
    "sse_ratio_to_pca": "model SSE / PCA-{K} SSE",
    "probe_accuracy": "linear-probe accuracy of the codes (fitted on {fit})",
    "pca_probe_accuracy": "linear-probe accuracy of the PCA-{K} codes",
    "mean_activation": "mean hidden activation",
    "sparsity": "Hoyer sparsity of the hidden activations (0 dense .. 1 one-hot)",
    "penalty": "sparsity penalty (before its weight)",
    "jacobian_frob2": "encoder Jacobian squared Frobenius norm per image",
    "rec_nll_per_image": "reconstruction -log p(x | z) per image, nats (one posterior sample)",
    "kl_per_image": "KL(q(z|x) || p(z)) per image, nats",
    "elbo_per_image": "ELBO per image, nats (higher is better)",
    "active_units": "active units (posterior-mean variance > 0.01)",
    "disc_accuracy": "latent discriminator accuracy, codes vs prior samples (0.5: codes fill the prior)",
}


def format_image_report(report: dict[str, Any]) -> str:
    """A readable table of an image report: every row says what the number is."""
    fill = {"K": report.get("pca_components", report["code_size"]), "fit": f"{report.get('fit_split', '-')} split"}
    rows = [(UNITS.get(k, k).format(**fill), f"{v:.4g}") for k, v in report["metrics"].items()]
    width = max(len(r[0]) for r in rows)
    head = f"{report['model']} — {report['split']} split, {report['images']} images, code size {report['code_size']}"
    return "\n".join([head] + [f"  {a:<{width}}  {b}" for a, b in rows])


def rebuild_image_data(run_dir: str | Path, image_shape: tuple[int, ...] | None = None):
    """The run's data, rebuilt from its resolved recipe; its image shape must match ``image_shape`` (default:
    the model's)."""
    from ..model import DataInfo
    run = RunFolder(run_dir)
    info = run.read_data_info() if image_shape is None else DataInfo(modality="image", image_shape=tuple(image_shape))
    return run.rebuild_data(info)


def evaluate_image_run(run_dir: str | Path, split: str = "test", max_images: int | None = None, subset_seed: int = 0,
                       batch_size: int = 500, device: str = "cpu", figures: bool = True, data=None) -> dict[str, Any]:
    """Evaluate the image model of a run folder (``sentae eval RUN``) and write ``report/`` (figures + markdown)."""
    run_dir = Path(run_dir)
    model = RunFolder(run_dir).load_model(device)
    if model.data_info.modality != "image":
        raise SentaeError(f"{run_dir}: model '{model.name}' is a {model.data_info.modality} model, not an image model")
    data = data or RunFolder(run_dir).rebuild_data(model.data_info)
    report = evaluate_image_model(model, data, split, max_images=max_images, subset_seed=subset_seed,
                                  batch_size=batch_size, device=device)
    arrays = report.pop("arrays")
    report["run"] = str(run_dir)
    if figures:
        from .image_figures import write_image_report

        report["report_files"] = write_image_report(RunFolder(run_dir).file(REPORT), model, report, arrays,
                                                    format_image_report(report))
    return report


def is_image_run(run_dir: str | Path) -> bool:
    """Whether a run (or saved-model) folder holds an image model, read from its model.json without loading it."""
    return RunFolder(run_dir).modality() == "image"
