"""A sentence as a sequence of memory vectors, and a decoder that attends to them (Bahdanau et al. 2015; Luong et
al. 2015's "general" score).

A code that must carry a whole sentence is far easier to learn as one vector per token than as one vector per
sentence: the decoder looks up what it needs, and a few thousand steps on a CPU reconstruct what a single-vector
autoencoder cannot after hours. The memory is a fixed-size code: ``max_positions`` rows of ``memory_size``
numbers, flattened, with all-zero rows where the sentence has ended. Zero rows are padding by definition (a row the
encoder writes is never exactly zero), so codes can be added, interpolated and stored like any other code.

The decoder implements sentae's decoder-step interface (``start_state``/``decode_step``) with every state tensor
batch-first (the memory included), so greedy, beam and sampled decoding come from ``sentae.generation``.
"""
from __future__ import annotations

import torch
from torch import nn

from .rnn import make_rnn, reverse_within_length
from .vocab_output import SoftmaxConfig, make_vocab_output


class MemoryEncoder(nn.Module):
    """Bidirectional GRU over the embedded sentence; each position's two directions are mapped to ``memory_size``
    numbers. The backward direction reads each sentence reversed within its own length, so padding never enters
    either direction."""

    def __init__(self, vocab_size: int, embedding_size: int, hidden_size: int, memory_size: int, pad_id: int = 0,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_size, padding_idx=pad_id)
        self.forward_rnn = make_rnn("gru", embedding_size, hidden_size, 1)
        self.backward_rnn = make_rnn("gru", embedding_size, hidden_size, 1)
        self.project = nn.Linear(2 * hidden_size, memory_size)
        self.dropout = nn.Dropout(dropout)
        self.memory_size = memory_size

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.encode_embedded(self.embedding(tokens), lengths)

    def encode_embedded(self, emb: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Memory ``[B, T, memory_size]`` from input embeddings ``[B, T, E]`` (token or soft embeddings), zero at
        positions past each sentence's length."""
        emb = self.dropout(emb)
        fwd, _ = self.forward_rnn(emb)
        bwd, _ = self.backward_rnn(reverse_within_length(emb, lengths))
        states = torch.cat([fwd, reverse_within_length(bwd, lengths)], -1)
        memory = torch.tanh(self.project(states))
        valid = torch.arange(emb.shape[1], device=emb.device).unsqueeze(0) < lengths.to(emb.device).unsqueeze(1)
        return memory * valid.unsqueeze(-1).to(memory.dtype)


def flatten_memory(memory: torch.Tensor, positions: int) -> torch.Tensor:
    """``[B, T, D]`` memory as a code ``[B, positions * D]``: zero rows appended (or rows past ``positions`` cut)."""
    b, t, d = memory.shape
    if t < positions:
        memory = torch.cat([memory, memory.new_zeros(b, positions - t, d)], 1)
    return memory[:, :positions].reshape(b, positions * d)


def unflatten_memory(code: torch.Tensor, memory_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A code ``[B, positions * D]`` back to memory ``[B, positions, D]`` and its mask ``[B, positions]`` (True at
    rows that are not all zero)."""
    memory = code.reshape(code.shape[0], -1, memory_size)
    return memory, memory.abs().sum(-1) > 0


class AttentionDecoder(nn.Module):
    """GRU language model conditioned on a memory (attention at every step) and on a conditioning vector ``cond``
    (attribute embeddings: concatenated to every input and read by the initial state).

    Without input feeding the recurrent part runs over the whole sentence in one call while training, and only the
    attention and the output layer see each position: about as fast as a plain RNN decoder."""

    def __init__(self, vocab_size: int, embedding_size: int, hidden_size: int, memory_size: int, cond_size: int,
                 pad_id: int = 0, dropout: float = 0.0, softmax: SoftmaxConfig | None = None) -> None:
        super().__init__()
        self.hidden_size, self.memory_size, self.cond_size = hidden_size, memory_size, cond_size
        self.embedding = nn.Embedding(vocab_size, embedding_size, padding_idx=pad_id)
        self.rnn = make_rnn("gru", embedding_size + cond_size, hidden_size, 1)
        self.init_proj = nn.Linear(memory_size + cond_size, hidden_size)
        self.score = nn.Linear(hidden_size, memory_size, bias=False)
        self.combine = nn.Linear(hidden_size + memory_size, hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.output = make_vocab_output(hidden_size, vocab_size, softmax)

    @property
    def device(self) -> torch.device:
        return self.embedding.weight.device

    def initial_hidden(self, memory: torch.Tensor, mask: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """``[B, H]`` from the mean of the memory's rows and the conditioning vector."""
        m = mask.unsqueeze(-1).to(memory.dtype)
        pooled = (memory * m).sum(1) / m.sum(1).clamp(min=1.0)
        return torch.tanh(self.init_proj(torch.cat([pooled, cond.to(memory.dtype)], -1)))

    def attend(self, hidden: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Attentional states ``[B, T', H]`` for decoder states ``[B, T', H]``."""
        scores = self.score(hidden) @ memory.transpose(1, 2)  # [B, T', T]
        scores = scores.float().masked_fill(~mask.unsqueeze(1), float("-inf"))
        # a memory with no row at all (an empty code) attends to nothing instead of producing NaN
        weights = torch.nan_to_num(scores.softmax(-1), nan=0.0).to(memory.dtype)
        context = weights @ memory
        return torch.tanh(self.combine(torch.cat([hidden, context], -1)))

    # -- teacher forcing ---------------------------------------------------------------------------------------
    def sentence_nll(self, tokens: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor, cond: torch.Tensor,
                     pad_id: int) -> torch.Tensor:
        """-log p(tokens | memory, cond) per sentence ``[B]``, in nats (eos included)."""
        inputs, targets = tokens[:, :-1], tokens[:, 1:]
        emb = self.dropout(self.embedding(inputs))
        emb = torch.cat([emb, cond.to(emb.dtype).unsqueeze(1).expand(-1, emb.shape[1], -1)], -1)
        h0 = self.initial_hidden(memory, mask, cond).unsqueeze(0).contiguous()
        hidden, _ = self.rnn(emb, h0)
        out = self.dropout(self.attend(hidden, memory, mask))
        keep = targets != pad_id
        nll = self.output.nll(out[keep], targets[keep])
        rows = torch.arange(tokens.shape[0], device=tokens.device).unsqueeze(1).expand_as(targets)[keep]
        return torch.zeros(tokens.shape[0], device=tokens.device, dtype=nll.dtype).index_add_(0, rows, nll)

    # -- the decoder-step interface --------------------------------------------------------------------------
    def start_state(self, memory: torch.Tensor, mask: torch.Tensor, cond: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"h": self.initial_hidden(memory, mask, cond), "memory": memory, "mask": mask, "cond": cond}

    def decode_step(self, tokens: torch.Tensor, state: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return self.decode_step_embedded(self.embedding(tokens), state)

    def decode_step_embedded(self, emb: torch.Tensor, state: dict[str, torch.Tensor]
                             ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """One step from an input embedding ``[B, E]`` (a token's, or a soft mixture of them)."""
        x = torch.cat([emb, state["cond"].to(emb.dtype)], -1).unsqueeze(1)
        out, h = self.rnn(x, state["h"].unsqueeze(0).contiguous())
        att = self.attend(out, state["memory"], state["mask"])[:, 0]
        return self.output.scores(att), {**state, "h": h[0]}

