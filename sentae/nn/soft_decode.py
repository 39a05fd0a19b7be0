"""Soft (differentiable) decoding: the generator writes a sentence as a sequence of probability vectors instead of
token ids, each fed back as the probability-weighted mixture of embeddings (Hu et al. 2017). Classifiers and the
encoder read the same mixtures, so their losses send gradients back into the generator that wrote the sentence."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class SoftSentences:
    probs: torch.Tensor  # [B, T, V]: bos one-hot, then the generated distributions; zero rows after eos
    tokens: torch.Tensor  # [B, T]: the same sentences as hard ids (argmax), bos first, pad after eos
    lengths: torch.Tensor  # [B]: bos + words + eos (no eos within the budget: every position counts)
    mask: torch.Tensor  # [B, T]: True at real positions

    def embed(self, embedding: torch.nn.Embedding) -> torch.Tensor:
        """Mixtures of ``embedding``'s rows, ``[B, T, E]``; zero where the sentence has ended (as a pad row)."""
        return self.probs.to(embedding.weight.dtype) @ embedding.weight


def soft_decode(decoder, code: torch.Tensor, steps: int, bos_id: int, eos_id: int, pad_id: int, tau: float = 1.0,
                gumbel: bool = False, straight_through: bool = False) -> SoftSentences:
    """Run ``decoder`` (an ``RNNDecoder``: ``start_state``, ``decode_step_embedded``, ``embedding``) for ``steps``
    steps from ``code``, feeding back softmax(logits / tau) (plus Gumbel noise with ``gumbel``) as soft tokens.

    With ``straight_through`` each token is the one-hot of its argmax in the forward pass and the softmax in the
    backward pass (Bengio et al. 2013): readers see real words, so a classifier cannot be satisfied by a mixture
    of embeddings that no sentence has, while gradients still reach the generator."""
    b = code.shape[0]
    vocab = decoder.embedding.num_embeddings
    state = decoder.start_state(code, b)
    bos = F.one_hot(torch.full((b,), bos_id, device=code.device), vocab).to(code.dtype)
    current, dists = bos, [bos]
    for _ in range(steps):
        logits, state = decoder.decode_step_embedded(current @ decoder.embedding.weight, state)
        logits = logits.float()
        if gumbel:
            logits = logits - torch.empty_like(logits).exponential_().log()  # + Gumbel(0, 1) noise
        current = (logits / tau).softmax(-1)
        if straight_through:
            current = F.one_hot(current.argmax(-1), vocab).to(current.dtype) + current - current.detach()
        dists.append(current)
    probs = torch.stack(dists, 1)
    hard = probs.argmax(-1)
    is_eos = hard == eos_id
    is_eos[:, 0] = False
    first_eos = torch.where(is_eos.any(1), is_eos.float().argmax(1), torch.full((b,), steps, device=code.device))
    lengths = first_eos + 1
    positions = torch.arange(steps + 1, device=code.device).unsqueeze(0)
    mask = positions < lengths.unsqueeze(1)
    # The cut is a hard decision (no gradient), like the eos a sampler would stop at.
    probs = probs * mask.unsqueeze(-1).to(probs.dtype)
    hard = hard.masked_fill(~mask, pad_id)
    return SoftSentences(probs, hard, lengths, mask)
