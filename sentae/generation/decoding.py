"""Decoding for every text model through one small decoder-step interface.

A text model that generates implements::

    start_state(z: Tensor | None, batch_size: int) -> dict[str, Tensor]   # every tensor batch-first
    decode_step(tokens: LongTensor[B], state) -> (logits [B, V], state)

and sentae decodes it greedily, by batched beam search, or by sampling with temperature / top-k / top-p. Because
state tensors are batch-first, beam search reorders them generically with ``index_select(0, ...)``.
"""
from __future__ import annotations

from typing import Protocol

import torch

from ..nn.precision import products_in


class StepDecoder(Protocol):
    def start_state(self, z: torch.Tensor | None, batch_size: int) -> dict[str, torch.Tensor]: ...

    def decode_step(self, tokens: torch.Tensor, state: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]: ...


# The options live in a torch-free module (the CLI reads them for --help); importable from here as before.
from .decode_config import DECODING_OPTIONS, DecodeConfig, check_decoding, split_decoding  # noqa: E402,F401


# Below this many tokens a full sort per row is cheap; above it, the nucleus is found from a histogram of the row's
# probability mass and only the tokens of the one bucket where the mass reaches top_p are sorted.
_SORT_BELOW = 1024
_BUCKETS = 4096  # histogram buckets per row, each 1/128 nat of logit wide ...
_SPAN = 32.0  # ... over the 32 nats below the row's best logit; everything lower shares the last bucket
# Finished sequences (beam search: finished inputs) leave the batch once they are a quarter of it, so the decoder and
# its vocabulary projection stop paying for them. Not at every step: each new batch size costs the CPU's RNN and
# matrix kernels a new plan, and dropping one or two rows at a time made greedy decoding slower, not faster.
_COMPACT_AT = 0.75


def filter_logits(logits: torch.Tensor, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """Set to -inf every logit outside the top-k and outside the top-p nucleus (Holtzman et al. 2020): the nucleus is
    the smallest set of most probable tokens whose probability reaches ``top_p`` (tokens tied with the last one in
    it may be kept too)."""
    if top_k > 0 and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        flat = logits.reshape(-1, logits.shape[-1])
        if flat.shape[-1] < _SORT_BELOW:
            return _nucleus_by_sort(flat, top_p).view_as(logits)
        logits = flat.masked_fill(flat < nucleus_floor(flat, top_p), float("-inf")).view_as(logits)
    return logits


def _nucleus_by_sort(logits: torch.Tensor, top_p: float) -> torch.Tensor:
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    probs = sorted_logits.softmax(-1)
    # Drop a token when the tokens before it already reach top_p; the most probable token always stays.
    drop_sorted = (probs.cumsum(-1) - probs) >= top_p
    drop = drop_sorted.scatter(-1, order, drop_sorted)
    return logits.masked_fill(drop, float("-inf"))


def nucleus_floor(logits: torch.Tensor, top_p: float, probs: torch.Tensor | None = None) -> torch.Tensor:
    """The lowest logit inside each row's top-p nucleus, ``[B, 1]`` for logits ``[B, V]`` (``probs``: their
    softmax, when the caller has it), without sorting the rows.

    A full sort of a 10,000-word row costs far more than the decoder step that produced it (on one CPU core, 0.7 ms
    a row). Instead each row's probability mass goes into buckets by distance from the row's best logit; the
    running mass over the buckets says which bucket holds the nucleus's last token: every token above it is in,
    every token below it out, and only that bucket's tokens are sorted to find the exact last one.
    """
    b, v = logits.shape
    probs = logits.softmax(-1) if probs is None else probs
    bucket = (logits.amax(-1, keepdim=True) - logits).mul_(_BUCKETS / _SPAN).clamp_(max=_BUCKETS - 1)
    bucket = bucket.to(torch.long)  # -inf logits land in the last bucket
    cum = probs.new_zeros(b, _BUCKETS).scatter_add_(1, bucket, probs).cumsum_(-1)
    cross = (cum < top_p).sum(-1, keepdim=True).clamp_(max=_BUCKETS - 1)  # first bucket whose running mass reaches top_p
    before = torch.where(cross > 0, cum.gather(1, (cross - 1).clamp(min=0)), 0.0)  # the mass of the buckets above it
    rows, cols = (bucket == cross).nonzero(as_tuple=True)  # row-major: each row's members are contiguous
    counts = torch.bincount(rows, minlength=b)
    width = int(counts.max())
    if width > _SORT_BELOW:  # a bucket this full (ties, or top_p within float error of 1): sort the rows after all
        kept = torch.isfinite(_nucleus_by_sort(logits, top_p))
        return logits.masked_fill(~kept, float("inf")).amin(-1, keepdim=True)
    # The members of each row's crossing bucket as a padded [B, width] block, sorted by logit.
    flat = rows * v + cols
    slot = rows * width + torch.arange(rows.numel(), device=logits.device) - (counts.cumsum(0) - counts)[rows]
    member_logits = logits.new_full((b * width,), float("-inf")).index_copy_(0, slot, logits.reshape(-1)[flat])
    member_probs = probs.new_zeros(b * width).index_copy_(0, slot, probs.reshape(-1)[flat])
    member_logits, order = member_logits.view(b, width).sort(-1, descending=True)
    member_probs = member_probs.view(b, width).gather(1, order)
    ahead = before + member_probs.cumsum(-1) - member_probs  # mass of every token ranked above each member
    inside = ((ahead < top_p) & torch.isfinite(member_logits)).sum(-1, keepdim=True).clamp_(min=1)
    return member_logits.gather(1, inside - 1)


def sample_tokens(logits: torch.Tensor, uniform: torch.Tensor, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """One token per row of ``logits [B, V]``, drawn from softmax(logits) restricted to the top-k and the top-p
    nucleus (as :func:`filter_logits` leaves them), by inverting the cumulative distribution at ``uniform [B]``
    (draws in [0, 1)).

    ``torch.multinomial`` draws one exponential variate per vocabulary entry (10,000 per row here), which on a CPU
    costs more than the decoder step itself; one uniform per row draws from the same distribution.
    """
    v = logits.shape[-1]
    probs = logits.softmax(-1)
    if (0 < top_k < v) or top_p < 1.0:
        if top_p < 1.0 and v < _SORT_BELOW:
            keep = torch.isfinite(filter_logits(logits, top_k, top_p))
        else:
            if 0 < top_k < v:
                # the nucleus of the renormalised top-k distribution: its floor is at or above the k-th logit
                logits = filter_logits(logits, top_k)
            floor = nucleus_floor(logits, top_p) if top_p < 1.0 else logits.topk(top_k, dim=-1).values[:, -1:]
            keep = logits >= floor
        probs.mul_(keep)  # a multiply by the mask is several times faster than masked_fill on a CPU
    cdf = probs.cumsum_(-1)
    total = cdf[:, -1:]
    # Kept below the total, the point falls where the cdf rises: on a token whose probability is above zero.
    point = torch.minimum(uniform.to(cdf.dtype).unsqueeze(1) * total, total.nextafter(torch.zeros_like(total)))
    return torch.searchsorted(cdf, point, right=True).squeeze(1)


@torch.no_grad()
def decode(
    model: StepDecoder,
    z: torch.Tensor | None,
    batch_size: int,
    bos_id: int,
    eos_id: int,
    pad_id: int,
    config: DecodeConfig | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Generate ``batch_size`` sequences; returns token ids ``[B, L]`` without bos, cut after eos, pad-filled.

    Sampling draws one uniform number per sequence and step from ``generator``, for every sequence at every step
    until all have ended, so a sequence's draws do not depend on when the others end.
    """
    config = config or DecodeConfig()
    # bf16: autocast, not a bf16 copy of the model; the logits are compared in float32 as in fp32 decoding.
    with products_in(config.precision, _device_of(model, z)):
        return _decode(model, z, batch_size, bos_id, eos_id, pad_id, config, generator)


def _device_of(model: StepDecoder, z: torch.Tensor | None) -> torch.device:
    if z is not None:
        return z.device
    device = getattr(model, "device", None)
    if isinstance(device, torch.device):
        return device
    params = getattr(model, "parameters", None)
    first = next(iter(params()), None) if callable(params) else None
    return first.device if first is not None else torch.device("cpu")


def _decode(model: StepDecoder, z: torch.Tensor | None, batch_size: int, bos_id: int, eos_id: int, pad_id: int,
            config: DecodeConfig, generator: torch.Generator | None) -> torch.Tensor:
    if config.strategy == "beam" and config.beam > 1:
        return _beam_search(model, z, batch_size, bos_id, eos_id, pad_id, config)
    state = model.start_state(z, batch_size)
    device = next(iter(state.values())).device
    tokens = torch.full((batch_size,), bos_id, dtype=torch.long, device=device)
    out = torch.full((config.max_length, batch_size), pad_id, dtype=torch.long, device=device)
    live = torch.arange(batch_size, device=device)  # the rows of the batch, in batch order
    done = torch.zeros(batch_size, dtype=torch.bool, device=device)  # rows that have written eos
    steps = 0
    for t in range(config.max_length):
        logits, state = model.decode_step(tokens, state)
        logits = logits.float()
        if config.strategy == "sample":
            uniform = torch.rand(batch_size, generator=generator, device=device)
            if config.temperature != 1.0:
                logits = logits / config.temperature
            tokens = sample_tokens(logits, uniform if live.numel() == batch_size else uniform[live], config.top_k,
                                   config.top_p)
        else:
            tokens = logits.argmax(-1)
        tokens = tokens.masked_fill(done, pad_id)
        out[t].index_copy_(0, live, tokens)
        steps = t + 1
        done |= tokens == eos_id
        remaining = live.numel() - int(done.sum())  # the step's one host sync: stop, or drop the ended sequences
        if remaining == 0:
            break
        if remaining <= live.numel() * _COMPACT_AT:
            keep = (~done).nonzero().squeeze(1)
            live, tokens, done = live[keep], tokens[keep], done[keep]
            state = {name: v.index_select(0, keep) for name, v in state.items()}
    return out[:steps].t().contiguous()


def _beam_search(model: StepDecoder, z: torch.Tensor | None, batch_size: int, bos_id: int, eos_id: int, pad_id: int,
                 config: DecodeConfig) -> torch.Tensor:
    """Batched beam search with length normalisation; returns the best finished hypothesis per input.

    Every step is tensor work over [inputs, beams, vocabulary]: the 2k best continuations of each input, the finished
    ones (eos, or max_length reached) scored score / length**length_penalty against the input's best so far, and the
    first k unfinished ones as the next beams. An input is done once none of its live beams can beat its best
    finished hypothesis; done inputs leave the batch, and the search ends when every input is done.
    """
    k, max_length, penalty = config.beam, config.max_length, config.length_penalty
    # At the start every beam of an input would hold the same state and only the first is live (so the k beams do
    # not all repeat the same word): one row per input until the first step has chosen k different words.
    state = model.start_state(z, batch_size)
    device = next(iter(state.values())).device
    tokens = torch.full((batch_size,), bos_id, dtype=torch.long, device=device)
    scores = torch.zeros(batch_size, 1, device=device)  # [inputs, beams]: log-probability of each live beam
    history = torch.zeros(batch_size, 0, dtype=torch.long, device=device)  # [inputs * beams, t]
    live = torch.arange(batch_size, device=device)  # the inputs still searching
    best_score = torch.full((batch_size,), float("-inf"), device=device)
    best = torch.full((batch_size, max_length), pad_id, dtype=torch.long, device=device)
    best_length = torch.zeros(batch_size, dtype=torch.long, device=device)
    bound_divisor = max_length ** max(penalty, 0.0)
    for t in range(max_length):
        length = t + 1
        logits, state = model.decode_step(tokens, state)
        n, width = scores.shape
        logp = logits.float().log_softmax(-1).view(n, width, -1)
        vocab = logp.shape[-1]
        cand = (scores.unsqueeze(-1) + logp).view(n, -1)
        # 2k, so that k stay alive after removing finished ones (each beam has one eos continuation)
        top_scores, top_idx = cand.topk(min(2 * k, cand.shape[1]), dim=-1)
        src = top_idx // vocab + torch.arange(n, device=device).unsqueeze(1) * width  # state row of each candidate
        top_tokens = top_idx % vocab
        valid = top_scores > float("-inf")
        is_eos = top_tokens == eos_id

        # Finished candidates: the best (the first of equals, in score order) replaces the input's best if higher.
        # The division runs in float64 and rounds once to float32, as a Python-float division would.
        finishing = valid & (is_eos | (length == max_length))
        normed = torch.where(finishing, (top_scores.double() / (length ** penalty)).float(), float("-inf"))
        cand_best, j = normed.max(-1)
        improve = cand_best > best_score.index_select(0, live)
        best_src = src.gather(1, j.unsqueeze(1)).squeeze(1)
        row = torch.cat([history.index_select(0, best_src), top_tokens.gather(1, j.unsqueeze(1)),
                         torch.full((n, max_length - length), pad_id, dtype=torch.long, device=device)], 1)
        best.index_copy_(0, live, torch.where(improve.unsqueeze(1), row, best.index_select(0, live)))
        best_score.index_copy_(0, live, torch.where(improve, cand_best, best_score.index_select(0, live)))
        best_length.index_copy_(0, live, torch.where(improve, length, best_length.index_select(0, live)))
        if length == max_length:
            break

        # The next beams: the first k live candidates in score order (a stable sort puts them first, in order).
        alive = valid & ~is_eos
        pick = torch.sort((~alive).to(torch.uint8), dim=-1, stable=True).indices[:, :k]
        alive = alive.gather(1, pick)
        scores = torch.where(alive, top_scores.gather(1, pick), float("-inf"))
        src = src.gather(1, pick)
        step_tokens = torch.where(alive, top_tokens.gather(1, pick), pad_id)

        # A live beam's log-probability only falls, so its best possible normalised score is reached at
        # max_length; an input is done once no live beam can beat its best finished hypothesis.
        bound = scores.max(-1).values / bound_divisor
        going = best_score.index_select(0, live) < bound
        remaining = int(going.sum())  # the step's one host sync
        if remaining == 0:
            break
        if remaining <= n * _COMPACT_AT:  # the inputs left behind keep searching; nothing they find can win
            keep = going.nonzero().squeeze(1)
            live, scores, src, step_tokens = live[keep], scores[keep], src[keep], step_tokens[keep]
        rows = src.reshape(-1)
        history = torch.cat([history.index_select(0, rows), step_tokens.reshape(-1, 1)], 1)
        state = {name: v.index_select(0, rows) for name, v in state.items()}
        tokens = step_tokens.reshape(-1)
    return best[:, : max(int(best_length.max()), 1)]
