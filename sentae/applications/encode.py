"""Features: the code of every input (the posterior mean for a VAE) as an ``(N, D)`` array, for scikit-learn
or any other downstream model."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import SentaeError
from .inputs import batches, read_image_inputs, read_sentences


def encode(run: str | Path | Any, inputs: Any, *, batch_size: int = 256,
           device: str | torch.device = "cpu") -> tuple[np.ndarray, list[str]]:
    """Codes ``(N, D)`` float32 of ``inputs`` under the model of ``run`` and a name per input (the image's name or
    index; for text the sentence). Images: an array/tensor, a ``.npy``/idx/PNG/JPEG file or a folder; sentences: a
    list or a text file, one per line. Variational models give their posterior means.

    >>> codes, _ = sentae.encode("runs/conv_vae_mnist", "mnist/t10k-images-idx3-ubyte.gz")   # doctest: +SKIP
    >>> LogisticRegression().fit(codes, labels)                                              # doctest: +SKIP
    """
    from .score import _sampler

    sampler = _sampler(run, device)
    model = sampler.model
    if model.data_info.modality == "image":
        images, names = read_image_inputs(inputs, model.data_info.image_shape)
        model.eval()
        prepare = getattr(model, "model_input", lambda x: x)  # the paired input transform, where the model has one
        with torch.no_grad():
            codes = [model.encode(prepare(images[sl].to(sampler.device))).flatten(1).float().cpu()
                     for sl in batches(len(images), batch_size)]
        return torch.cat(codes).numpy(), names
    from ..model import has_latent

    if not has_latent(model):
        raise SentaeError(f"model '{model.name}' has no latent code to encode sentences into")
    texts = read_sentences(inputs)
    return sampler.encode_many(texts, batch_size=min(batch_size, 256)).float().cpu().numpy(), texts
