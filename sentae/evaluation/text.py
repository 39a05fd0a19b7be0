"""Text-VAE metrics that tell the truth about posterior collapse.

All log-likelihoods are in nats. Per-sentence numbers sum over the predicted tokens of a sentence (its words and
eos); per-word numbers divide the corpus total by the count of those tokens, as Bowman et al. and He et al. do.
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Callable, Iterable, Sequence

import torch

from ..model import has_latent
from ..nn.precision import products_in

LOG_2PI = math.log(2 * math.pi)


def active_units(mu: torch.Tensor, delta: float = 0.01) -> tuple[int, torch.Tensor]:
    """Dimensions d with Cov_x(E_q[z_d | x]) > delta (Burda et al. 2016). ``mu``: posterior means ``[N, D]``."""
    if mu.shape[0] < 2:
        return 0, torch.zeros(mu.shape[1])
    var = mu.float().var(0, unbiased=True)
    return int((var > delta).sum()), var


def gaussian_log_density(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag(exp(logvar))) summed over the last dimension."""
    return -0.5 * (LOG_2PI + logvar + (z - mu).pow(2) / logvar.exp()).sum(-1)


def mutual_information(mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None,
                       samples_per_x: int = 10) -> torch.Tensor:
    """I_q(x; z) = E_x E_q(z|x)[log q(z|x)] - E_q(z)[log q(z)], with the aggregate posterior q(z) approximated
    by the mixture of the given posteriors (Hoffman & Johnson 2016; the estimator of He et al. 2019).

    ``samples_per_x`` draws per posterior lower the Monte Carlo noise of the second term (its standard deviation
    is about sqrt(D / (2 N S)) nats for a collapsed encoder), which matters for small N."""
    mu, logvar = mu.float(), logvar.float()
    n, d = mu.shape
    neg_entropy = (-0.5 * d * LOG_2PI - 0.5 * (1 + logvar).sum(-1)).mean()
    eps = torch.randn((samples_per_x, n, d), generator=generator, device=mu.device)
    z = (mu + eps * (0.5 * logvar).exp()).reshape(-1, d)  # S samples per posterior
    log_qz = []
    for chunk in z.split(1024):
        # log q(z_i | x_j) for every pair: [chunk, N posteriors]
        log_dens = gaussian_log_density(chunk.unsqueeze(1), mu.unsqueeze(0), logvar.unsqueeze(0))
        log_qz.append(torch.logsumexp(log_dens, dim=1) - math.log(n))
    return neg_entropy - torch.cat(log_qz).mean()


# Positions (rows x time steps) per decoder call of the IW-NLL: big enough that the products stay efficient,
# small enough that sentences of similar length share a call and little of it is padding.
IW_POSITIONS_PER_CALL = 32_768


def length_groups(lengths: torch.Tensor, copies: int, positions: int = IW_POSITIONS_PER_CALL) -> list[torch.Tensor]:
    """Indices of a batch's sentences in groups of similar length, longest first, each group holding at most
    ``positions`` padded positions once every sentence is repeated ``copies`` times (a group has at least one)."""
    order = torch.argsort(lengths.cpu(), descending=True, stable=True)
    groups, start = [], 0
    sorted_lengths = lengths.cpu()[order].tolist()
    while start < len(order):
        longest = max(1, int(sorted_lengths[start]))
        size = max(1, positions // (copies * longest))
        groups.append(order[start : start + size].to(lengths.device))
        start += size
    return groups


@torch.no_grad()
def iw_log_likelihood(model, tokens: torch.Tensor, lengths: torch.Tensor, samples: int, chunk: int = 50,
                      generator: torch.Generator | None = None,
                      on_chunk: Callable[[float], None] | None = None, precision: str = "fp32") -> torch.Tensor:
    """Importance-weighted estimate of log p(x) per sentence (Burda et al. 2016), with q(z|x) as proposal:
    log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x). With K = 1 it is the ELBO's sample; it tightens as K grows.

    ``model`` provides ``encode_stats(tokens, lengths)`` and ``sentence_nll(tokens, lengths, z)``; a model
    without a latent (not a ``LatentTextModel``, or ``latent_size == 0``) gets its exact log-likelihood.

    The codes are drawn ``chunk`` per sentence at a time, in the order of the batch, so the estimate for a given
    generator does not depend on how the decoding is arranged: that runs the K copies of sentences of similar
    length together, each group cut to its own longest sentence (padding after a sentence changes no model's
    likelihood of it). ``on_chunk(share)`` is called after each chunk with the share of the batch's work done.
    ``precision="bf16"`` decodes the copies under bf16 autocast; the encoder, the codes and their densities stay
    float32 (they are a K-th of the work), so only the decoder's log-likelihoods carry bf16's rounding."""
    if not has_latent(model):
        return -model.sentence_nll(tokens, lengths, None)
    mu, logvar = model.encode_stats(tokens, lengths)
    b = tokens.shape[0]
    terms = []
    for start in range(0, samples, chunk):
        k = min(chunk, samples - start)
        eps = torch.randn((k, *mu.shape), generator=generator, device=mu.device)
        z = mu.unsqueeze(0) + eps * (0.5 * logvar).exp().unsqueeze(0)  # [k, B, D]
        log_px_z = torch.empty((k, b), device=mu.device)
        for group in length_groups(lengths, k):
            longest = int(lengths[group].max())
            n = len(group)
            rep_tokens = tokens[group, :longest].repeat(k, 1)
            rep_lengths = lengths[group].repeat(k)
            with products_in(precision, mu.device):
                nll = model.sentence_nll(rep_tokens, rep_lengths, z[:, group].reshape(k * n, -1))
            log_px_z[:, group] = -nll.float().view(k, n)
        log_pz = gaussian_log_density(z, torch.zeros_like(z), torch.zeros_like(z))
        log_qz = gaussian_log_density(z, mu.unsqueeze(0), logvar.unsqueeze(0))
        terms.append(log_px_z + log_pz - log_qz)
        if on_chunk is not None:
            on_chunk(k / samples)
    return torch.logsumexp(torch.cat(terms, 0), 0) - math.log(samples)


def distinct_n(sentences: Sequence[Sequence[str]], n: int) -> float:
    """Distinct n-grams / total n-grams over all sentences (Li et al. 2016)."""
    grams: Counter = Counter()
    for toks in sentences:
        grams.update(tuple(toks[i : i + n]) for i in range(len(toks) - n + 1))
    total = sum(grams.values())
    return len(grams) / total if total else 0.0


def uniqueness(sentences: Iterable[str]) -> float:
    """Share of distinct sentences."""
    items = list(sentences)
    return len(set(items)) / len(items) if items else 0.0


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus BLEU (sacrebleu, 0..100) on already tokenised text: no further tokenisation is applied."""
    import sacrebleu

    return float(sacrebleu.corpus_bleu(list(hypotheses), [list(references)], tokenize="none").score)
