"""Anomaly scores: one number per input, higher = less like the data the model was trained on.

Images (any image autoencoder): the reconstruction error of the input decoded from its code (``sse``, ``bce``);
variational models (``encode_stats`` + ``image_nll``) also the negative ELBO and the importance-weighted NLL;
adversarial models (a latent discriminator) also the discriminator's view of the code. Sentences: the
reconstruction NLL from the posterior mean (a language model: its NLL), for VAEs the negative ELBO and IW-NLL, for
AAEs the discriminator. Every score is a number per input with its unit in ``SCORES``.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import SentaeError
from ..evaluation.text import gaussian_log_density
from .inputs import batches, read_image_inputs, read_sentences

SCORES = {
    "sse": "image: squared reconstruction error, summed over pixels in [0, 1]",
    "bce": "image: reconstruction cross-entropy, nats per image",
    "rec_nll": "sentence: -log p(x | z = posterior mean), nats per sentence (language model: -log p(x))",
    "neg_elbo": "-ELBO with one posterior sample, nats per image or sentence",
    "iw_nll": "importance-weighted -log p(x) with K posterior samples, nats per image or sentence",
    "disc": "minus the latent discriminator's logit of the code (high: the code is unlike the prior)",
}
MAX_IW_SAMPLES = 10_000


def _stochastic_image(model) -> bool:
    return bool(getattr(model, "stochastic", False)) and hasattr(model, "encode_stats") and hasattr(model, "image_nll")


def _disc_logit(model, z: torch.Tensor) -> torch.Tensor:
    if hasattr(model, "disc_logit"):
        return model.disc_logit(z)
    return model.discriminator(z).squeeze(-1)


def _has_disc(model) -> bool:
    return hasattr(model, "disc_logit") or isinstance(getattr(model, "discriminator", None), torch.nn.Module)


def available_scores(model) -> list[str]:
    """The scores ``model`` gives, in the order ``score`` reports them."""
    if model.data_info.modality == "image":
        names = ["sse", "bce"] + (["neg_elbo", "iw_nll"] if _stochastic_image(model) else [])
    else:
        from ..model import has_latent, is_controllable

        names = ["rec_nll"]
        if not has_latent(model):
            names.append("iw_nll")  # exact for a language model
        elif getattr(model, "stochastic", True) and not is_controllable(model):
            names += ["neg_elbo", "iw_nll"]
    return names + (["disc"] if _has_disc(model) else [])


def default_scores(model) -> list[str]:
    """What ``score`` gives without ``scores``: every available score but the IW-NLL (K decodes per input)."""
    names = [s for s in available_scores(model) if s != "iw_nll"]
    return names


def _check(model, scores: Sequence[str] | None, iw_samples: int) -> list[str]:
    have = available_scores(model)
    wanted = list(dict.fromkeys(scores)) if scores else default_scores(model)
    for s in wanted:
        if s not in SCORES:
            raise SentaeError(f"unknown score '{s}' (scores: {', '.join(SCORES)})")
        if s not in have:
            raise SentaeError(f"model '{model.name}' gives no '{s}' score (it gives: {', '.join(have)})")
    if not 1 <= iw_samples <= MAX_IW_SAMPLES:
        raise SentaeError(f"iw_samples must be in 1..{MAX_IW_SAMPLES:,}, got {iw_samples}")
    return wanted


@torch.no_grad()
def image_scores(model, images: torch.Tensor, scores: Sequence[str], iw_samples: int = 100, batch_size: int = 256,
                 generator: torch.Generator | None = None) -> dict[str, np.ndarray]:
    """Each of ``scores`` for every image of ``images`` ``(N, C, H, W)`` (in eval mode, on the model's device)."""
    model.eval()
    device = next(model.parameters()).device
    out: dict[str, list[torch.Tensor]] = {s: [] for s in scores}
    for sl in batches(len(images), batch_size):
        x = images[sl].to(device)
        # a model fed a transformed input (input_transform, e.g. grayscale) encodes that; the target stays x
        x_in = model.model_input(x) if hasattr(model, "model_input") else x
        code = model.encode(x_in)
        if "sse" in out or "bce" in out:
            logits = model.decode_logits(code)
            if "sse" in out:
                out["sse"].append((torch.sigmoid(logits) - x).pow(2).flatten(1).sum(1))
            if "bce" in out:
                out["bce"].append(F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1))
        if "neg_elbo" in out or "iw_nll" in out:
            mu, logvar = model.encode_stats(x_in)
            if "neg_elbo" in out:
                z = mu + torch.randn(mu.shape, generator=generator, device=device) * (0.5 * logvar).exp()
                kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1)
                out["neg_elbo"].append(model.image_nll(x, z) + kl)
            if "iw_nll" in out:
                out["iw_nll"].append(-_image_iw_log_likelihood(model, x, mu, logvar, iw_samples, generator))
        if "disc" in out:
            out["disc"].append(-_disc_logit(model, code))
    return {k: torch.cat(v).double().cpu().numpy() for k, v in out.items()}


def _image_iw_log_likelihood(model, x, mu, logvar, samples: int, generator, chunk: int = 50) -> torch.Tensor:
    """log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x) per image (Burda et al. 2016), q(z|x) as proposal."""
    b = len(x)
    terms = []
    for start in range(0, samples, chunk):
        k = min(chunk, samples - start)
        eps = torch.randn((k, *mu.shape), generator=generator, device=mu.device)
        z = mu.unsqueeze(0) + eps * (0.5 * logvar).exp().unsqueeze(0)  # [k, B, D]
        log_px_z = -model.image_nll(x.repeat(k, *([1] * (x.dim() - 1))), z.reshape(k * b, -1)).view(k, b)
        log_pz = gaussian_log_density(z, torch.zeros_like(z), torch.zeros_like(z))
        log_qz = gaussian_log_density(z, mu.unsqueeze(0), logvar.unsqueeze(0))
        terms.append(log_px_z + log_pz - log_qz)
    return torch.logsumexp(torch.cat(terms, 0), 0) - math.log(samples)


@torch.no_grad()
def sentence_scores(sampler, texts: Sequence[str], scores: Sequence[str], iw_samples: int = 100,
                    batch_size: int = 128, generator: torch.Generator | None = None) -> dict[str, np.ndarray]:
    """Each of ``scores`` for every sentence, from a ``TextSampler``."""
    from ..evaluation.text import iw_log_likelihood
    from ..model import has_latent

    model = sampler.model
    model.eval()
    out: dict[str, list[torch.Tensor]] = {s: [] for s in scores}
    for sl in batches(len(texts), batch_size):
        chunk = list(texts[sl])
        b = sampler.batch(chunk)
        tokens, lengths = b["tokens"], b["lengths"]
        latent = has_latent(model)
        if "rec_nll" in out:
            # the posterior mean, as `sentae eval` scores reconstructions: sentence_nll takes the latent z (a
            # controllable model reads its attribute code c from the sentence itself)
            code = model.encode_stats(tokens, lengths)[0] if latent else None
            out["rec_nll"].append(model.sentence_nll(tokens, lengths, code))
        if latent and ("neg_elbo" in out or "disc" in out):
            mu, logvar = model.encode_stats(tokens, lengths)
            if "neg_elbo" in out:
                z = mu + torch.randn(mu.shape, generator=generator, device=mu.device) * (0.5 * logvar).exp()
                kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1)
                out["neg_elbo"].append(model.sentence_nll(tokens, lengths, z) + kl)
            if "disc" in out:
                out["disc"].append(-_disc_logit(model, mu))
        if "iw_nll" in out:
            out["iw_nll"].append(-iw_log_likelihood(model, tokens, lengths, iw_samples, generator=generator))
    return {k: torch.cat(v).double().cpu().numpy() for k, v in out.items()}


def score(run: str | Path | Any, inputs: Any, scores: Sequence[str] | None = None, *, iw_samples: int = 100,
          batch_size: int = 256, seed: int = 0, device: str | torch.device = "cpu") -> dict[str, Any]:
    """Anomaly scores of ``inputs`` under the model of ``run`` (a run folder, or a Sampler from ``sentae.load``).

    ``inputs``: for an image model an array/tensor of images, a ``.npy``/idx/PNG/JPEG file or a folder of images;
    for a text model a list of sentences or a text file (one per line). ``scores``: names from ``SCORES`` (default:
    every score the model gives except ``iw_nll``); ``iw_samples``: K of the IW-NLL. Returns ``{"inputs": names or
    sentences, "scores": {name: array (N,)}, "units": {name: meaning}, "model": ..., "seed": ...}``.

    >>> result = sentae.score("runs/mnist_anomaly", "digits.npy")   # doctest: +SKIP
    >>> result["scores"]["sse"].argsort()[::-1][:10]                 # the ten least normal  # doctest: +SKIP
    """
    sampler = _sampler(run, device)
    model = sampler.model
    wanted = _check(model, scores, iw_samples)
    generator = torch.Generator(device=sampler.device).manual_seed(seed)
    if model.data_info.modality == "image":
        images, names = read_image_inputs(inputs, model.data_info.image_shape)
        values = image_scores(model, images, wanted, iw_samples, batch_size, generator)
    else:
        names = read_sentences(inputs)
        values = sentence_scores(sampler, names, wanted, iw_samples, min(batch_size, 128), generator)
    units = {k: SCORES[k] + (f" (K = {iw_samples})" if k == "iw_nll" else "") for k in wanted}
    return {"model": model.name, "inputs": names, "scores": values, "units": units, "seed": seed,
            "iw_samples": iw_samples if "iw_nll" in wanted else None}


def _sampler(run: Any, device: str | torch.device):
    """A Sampler for a run folder (or the Sampler given)."""
    if hasattr(run, "model"):
        return run
    from ..generation.loading import load_sampler

    return load_sampler(run, device)
