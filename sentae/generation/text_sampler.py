"""TextSampler: sample, reconstruct, encode and interpolate sentences with any trained text model."""
from __future__ import annotations

from pathlib import Path
from typing import Literal, Sequence

import torch

from ..errors import SentaeError
from ..model import SentaeModel
from .decoding import DecodeConfig
from .sampler import Sampler


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation (White 2016); falls back to linear when a and b are (nearly) parallel."""
    cos = torch.nn.functional.cosine_similarity(a, b, dim=-1).clamp(-1, 1)
    omega = torch.acos(cos)
    if float(omega) < 1e-4:
        return (1 - t) * a + t * b
    so = torch.sin(omega)
    return torch.sin((1 - t) * omega) / so * a + torch.sin(t * omega) / so * b


class TextSampler(Sampler):
    """A trained text model with its tokenizer.

    >>> sampler = sentae.load("runs/ptb_vae")                          # doctest: +SKIP
    >>> sampler.sample(3, seed=0)                                     # doctest: +SKIP
    >>> sampler.reconstruct(["the company said N shares"], strategy="beam", beam=5)  # doctest: +SKIP
    >>> sampler.interpolate("a b c", "d e f", steps=5, method="slerp")  # doctest: +SKIP
    """

    def __init__(self, model: SentaeModel, run_dir: Path | None, tokenizer) -> None:
        super().__init__(model, run_dir)
        self.tokenizer = tokenizer
        self.info = model.data_info

    # -- helpers ---------------------------------------------------------------------------------------------
    @property
    def has_latent(self) -> bool:
        return getattr(self.model, "latent_size", 0) > 0

    def _require_latent(self, what: str) -> None:
        if not self.has_latent:
            raise SentaeError(f"model '{self.model.name}' has no latent code, so it cannot {what}")

    def decode_config(self, **kw) -> DecodeConfig:
        kw = {k: v for k, v in kw.items() if v is not None}
        # data max_length counts bos and eos; a generated sentence counts its eos only
        kw.setdefault("max_length", (self.info.max_length or 31) - 1)
        return DecodeConfig(**kw)

    def batch(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        """Tokenise sentences into a model batch (bos + ids + eos, padded; truncated to the model's max length)."""
        if not texts:
            raise SentaeError("no input sentences")
        limit = (self.info.max_length or 10**9) - 2
        from ..data.text import frame

        return frame([self.tokenizer.encode(t)[:limit] for t in texts], self.info, self.device)

    def to_text(self, ids: torch.Tensor) -> list[str]:
        return [self.tokenizer.decode(row.tolist()) for row in ids]

    def _generate(self, z: torch.Tensor | None, n: int, cfg: DecodeConfig, seed: int | None) -> list[str]:
        ids = self.model.generate(z, n, cfg, self._generator(seed))
        return self.to_text(ids)

    # -- what users call -------------------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None, **decoding) -> list[str]:
        """``n`` sentences from the prior (z ~ N(0, I)); language models sample from p(x) directly."""
        cfg = self.decode_config(**{"strategy": "sample", **decoding})
        g = self._generator(seed)
        z = torch.randn(n, self.model.latent_size, generator=g, device=self.device) if self.has_latent else None
        return self.to_text(self.model.generate(z, n, cfg, g))

    @torch.no_grad()
    def encode(self, texts: Sequence[str], sample: bool = False, seed: int | None = None) -> torch.Tensor:
        """Codes ``[N, latent]``: the posterior mean, or a sample from q(z|x) with ``sample=True``."""
        self._require_latent("encode")
        b = self.batch(texts)
        mu, logvar = self.model.encode_stats(b["tokens"], b["lengths"])
        if not sample:
            return mu
        eps = torch.randn(mu.shape, generator=self._generator(seed), device=mu.device)
        return mu + eps * (0.5 * logvar).exp()

    @torch.no_grad()
    def reconstruct(self, texts: Sequence[str], seed: int | None = None, **decoding) -> list[str]:
        """Decode the posterior mean of each sentence (greedy unless ``strategy`` says otherwise)."""
        z = self.encode(texts)
        return self._generate(z, len(texts), self.decode_config(**decoding), seed)

    @torch.no_grad()
    def interpolate(self, a: str, b: str, steps: int = 5, method: Literal["linear", "slerp"] = "linear",
                    seed: int | None = None, **decoding) -> list[str]:
        """Sentences decoded along the path between the codes of ``a`` and ``b`` (both ends included)."""
        if steps < 2:
            raise SentaeError(f"interpolate needs steps >= 2, got {steps}")
        if method not in ("linear", "slerp"):
            raise SentaeError(f"unknown interpolation '{method}' (linear, slerp)")
        za, zb = self.encode([a, b])
        ts = torch.linspace(0, 1, steps).tolist()
        path = [(1 - t) * za + t * zb if method == "linear" else slerp(za, zb, t) for t in ts]
        return self._generate(torch.stack(path), steps, self.decode_config(**decoding), seed)
