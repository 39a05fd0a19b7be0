"""Decoding for every text model through one small decoder-step interface.

A text model that generates implements::

    start_state(z: Tensor | None, batch_size: int) -> dict[str, Tensor]   # every tensor batch-first
    decode_step(tokens: LongTensor[B], state) -> (logits [B, V], state)

and sentae decodes it greedily, by batched beam search, or by sampling with temperature / top-k / top-p. Because
state tensors are batch-first, beam search reorders them generically with ``index_select(0, ...)``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol

import torch

from ..schema import ANY_VALUE, Range, check_declared_ranges


class StepDecoder(Protocol):
    def start_state(self, z: torch.Tensor | None, batch_size: int) -> dict[str, torch.Tensor]: ...

    def decode_step(self, tokens: torch.Tensor, state: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]: ...


@dataclass
class DecodeConfig:
    strategy: Literal["greedy", "beam", "sample"] = "greedy"  # greedy, beam search or sampling
    max_length: Annotated[int, Range(1)] = 30  # tokens generated at most, eos included
    beam: Annotated[int, Range(1)] = 5  # beam width (strategy "beam")
    # Any finite value is meaningful: above 0 favours longer beams, 0 ranks by raw log-probability, below 0 shorter.
    length_penalty: Annotated[float, ANY_VALUE] = 1.0  # beam: score / length**length_penalty (0 = raw log-probability)
    temperature: Annotated[float, Range(0, low_open=True)] = 1.0  # sample: logits / temperature
    top_k: Annotated[int, Range(0)] = 0  # sample: keep the k most probable tokens (0 = all)
    top_p: Annotated[float, Range(0, 1, low_open=True)] = 1.0  # sample: keep the smallest set whose probability reaches p (1 = all)

    def __post_init__(self) -> None:
        # Decoding options come from the command line and the Python API, not from a recipe: a SentaeError,
        # which the CLI prints as one line.
        from ..errors import SentaeError

        if self.strategy not in ("greedy", "beam", "sample"):
            raise SentaeError(f"unknown decoding strategy '{self.strategy}' (greedy, beam, sample)")
        try:
            check_declared_ranges(self)
        except ValueError as exc:
            name, _, problem = str(exc).partition(" ")
            raise SentaeError(f"decoding option '{name}' {problem}") from None


DECODING_OPTIONS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(DecodeConfig))


def split_decoding(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``options`` split into decoding options (``DecodeConfig`` fields) and the rest."""
    decoding = {k: v for k, v in options.items() if k in DECODING_OPTIONS}
    return decoding, {k: v for k, v in options.items() if k not in DECODING_OPTIONS}


def check_decoding(options: dict[str, Any], where: str) -> dict[str, Any]:
    """``options`` if every key is a decoding option; else one error naming the unknown key and the closest one."""
    import difflib

    from ..errors import SentaeError

    for key in options:
        if key not in DECODING_OPTIONS:
            close = difflib.get_close_matches(key, DECODING_OPTIONS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f" (decoding options: {', '.join(DECODING_OPTIONS)})"
            raise SentaeError(f"{where}: unknown decoding option '{key}'{hint}")
    return options


def filter_logits(logits: torch.Tensor, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """Set to -inf every logit outside the top-k and outside the top-p nucleus (Holtzman et al. 2020)."""
    if top_k > 0 and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        probs = sorted_logits.softmax(-1)
        # Drop a token when the tokens before it already reach top_p; the most probable token always stays.
        drop_sorted = (probs.cumsum(-1) - probs) >= top_p
        drop = drop_sorted.scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


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
    """Generate ``batch_size`` sequences; returns token ids ``[B, L]`` without bos, cut after eos, pad-filled."""
    config = config or DecodeConfig()
    if config.strategy == "beam" and config.beam > 1:
        return _beam_search(model, z, batch_size, bos_id, eos_id, pad_id, config)
    state = model.start_state(z, batch_size)
    device = next(iter(state.values())).device
    tokens = torch.full((batch_size,), bos_id, dtype=torch.long, device=device)
    done = torch.zeros(batch_size, dtype=torch.bool, device=device)
    out = []
    for _ in range(config.max_length):
        logits, state = model.decode_step(tokens, state)
        logits = logits.float()
        if config.strategy == "sample":
            logits = filter_logits(logits / config.temperature, config.top_k, config.top_p)
            tokens = torch.multinomial(logits.softmax(-1), 1, generator=generator).squeeze(1)
        else:
            tokens = logits.argmax(-1)
        tokens = tokens.masked_fill(done, pad_id)
        out.append(tokens)
        done |= tokens == eos_id
        if bool(done.all()):
            break
    return torch.stack(out, 1)


def _beam_search(model, z, batch_size, bos_id, eos_id, pad_id, config: DecodeConfig) -> torch.Tensor:
    """Batched beam search with length normalisation; returns the best finished hypothesis per input."""
    k = config.beam
    z_rep = z.repeat_interleave(k, 0) if z is not None else None
    state = model.start_state(z_rep, batch_size * k)
    device = next(iter(state.values())).device
    tokens = torch.full((batch_size * k,), bos_id, dtype=torch.long, device=device)
    # Only the first beam of each input is live at the start, so the k beams do not all repeat the same word.
    scores = torch.full((batch_size, k), float("-inf"), device=device)
    scores[:, 0] = 0.0
    history = torch.zeros(batch_size * k, 0, dtype=torch.long, device=device)
    best = [None] * batch_size
    best_score = torch.full((batch_size,), float("-inf"), device=device)
    for t in range(config.max_length):
        logits, state = model.decode_step(tokens, state)
        logp = logits.float().log_softmax(-1).view(batch_size, k, -1)
        vocab = logp.shape[-1]
        cand = (scores.unsqueeze(-1) + logp).view(batch_size, -1)
        top_scores, top_idx = cand.topk(2 * k, dim=-1)  # 2k so that k stay alive after removing finished ones
        beam_idx, token_idx = top_idx // vocab, top_idx % vocab
        new_scores = torch.full((batch_size, k), float("-inf"), device=device)
        new_src = torch.zeros(batch_size, k, dtype=torch.long, device=device)
        new_tok = torch.full((batch_size, k), pad_id, dtype=torch.long, device=device)
        length = t + 1
        for b in range(batch_size):
            filled = 0
            for j in range(2 * k):
                score = float(top_scores[b, j])
                if score == float("-inf"):
                    break
                src = b * k + int(beam_idx[b, j])
                tok = int(token_idx[b, j])
                if tok == eos_id or length == config.max_length:
                    normed = score / (length ** config.length_penalty)
                    if normed > best_score[b]:
                        best_score[b] = normed
                        best[b] = torch.cat([history[src], torch.tensor([tok], device=device)])
                    if tok == eos_id:
                        continue
                if filled < k:
                    new_scores[b, filled], new_src[b, filled], new_tok[b, filled] = score, src, tok
                    filled += 1
        src_flat = new_src.view(-1)
        history = torch.cat([history.index_select(0, src_flat), new_tok.view(-1, 1)], 1)
        state = {name: v.index_select(0, src_flat) for name, v in state.items()}
        tokens = new_tok.view(-1)
        scores = new_scores
        # A live beam's log-probability only falls, so its best possible normalised score is reached at
        # max_length; stop once no live beam of any input can beat that input's best finished hypothesis.
        bound = scores.max(-1).values / (config.max_length ** max(config.length_penalty, 0.0))
        if bool((best_score >= bound).all()):
            break
    width = max(len(s) for s in best if s is not None) if any(s is not None for s in best) else 1
    out = torch.full((batch_size, width), pad_id, dtype=torch.long, device=device)
    for b, seq in enumerate(best):
        if seq is None:  # cannot happen with max_length >= 1, kept for safety
            continue
        out[b, : len(seq)] = seq
    return out
