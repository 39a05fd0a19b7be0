"""sentae's token ids at the boundary of the Hugging Face models.

The data's ids are either sentae's own (a word/BPE/unigram tokenizer: a model built from a config reads them as
they are) or a pretrained tokenizer's shifted past sentae's four specials (``sentae.data.pretrained_tokenizer``:
pretrained id ``j`` is sentae id ``j + 4``; ``<bos>``/``<eos>``/``<unk>`` stand for the model's own tokens). A
pretrained decoder gets its own ids back; a pretrained encoder gets its own framing ([CLS] ... [SEP]) and, when its
tokenizer is not the data's, the sentence re-tokenised from its text.
"""
from __future__ import annotations

from typing import Any

import torch

from sentae import DataInfo
from sentae.data.pretrained_tokenizer import OFFSET, PretrainedTokenizer, hf_unk_id

NEG_INF = float("-inf")


class DecoderIds:
    """sentae ids <-> a causal LM's ids, and the logit columns that no sentae id (or no HF id) may take.

    The likelihood is computed over the LM's vocabulary with ``lm_mask`` columns removed; generation reads the same
    distribution over sentae ids (``sentae_logits``): each non-masked LM id is exactly one non-masked sentae id
    (``<eos>`` is the LM's eos, ``<unk>`` its unknown token, ``j + 4`` every other ``j``).
    """

    def __init__(self, info: DataInfo, lm_vocab: int, pretrained: bool, bos: int | None, eos: int | None,
                 unk: int | None) -> None:
        v = info.vocab_size
        self.identity = not pretrained
        if self.identity:  # a decoder built for sentae's ids: the same ids, pad and bos never predicted
            self.to_lm = torch.arange(v)
            self.lm_mask = torch.zeros(lm_vocab, dtype=torch.bool)
            self.lm_mask[[info.pad_id, info.bos_id]] = True
            self.sentae_mask = self.lm_mask[:v].clone()
            return
        if eos is None:
            raise ValueError("the pretrained decoder's config names no eos_token_id; sentences could not end")
        words = v - OFFSET  # the pretrained tokenizer's size
        if words > lm_vocab:
            raise ValueError(f"the data's tokenizer has {words} tokens but the decoder only {lm_vocab}: "
                             f"data.options.pretrained_tokenizer must be the decoder's tokenizer")
        bos = eos if bos is None else bos  # GPT-2 starts a text with its one special, <|endoftext|>
        self.to_lm = torch.arange(v) - OFFSET
        self.to_lm[[info.pad_id, info.bos_id, info.eos_id, info.unk_id]] = torch.tensor(
            [eos, bos, eos, eos if unk is None else unk])
        self.lm_mask = torch.zeros(lm_vocab, dtype=torch.bool)
        self.lm_mask[words:] = True  # rows a model pads its embedding with, beyond its tokenizer
        self.sentae_mask = torch.zeros(v, dtype=torch.bool)
        self.sentae_mask[[info.pad_id, info.bos_id]] = True
        # the LM's eos and unk are <eos> and <unk>: their shifted columns would count them twice
        self.sentae_mask[eos + OFFSET] = True
        self.sentae_mask[(unk + OFFSET) if unk is not None else info.unk_id] = True

    def to(self, device: torch.device) -> DecoderIds:
        self.to_lm, self.lm_mask, self.sentae_mask = (t.to(device) for t in (self.to_lm, self.lm_mask, self.sentae_mask))
        return self

    def lm_ids(self, tokens: torch.Tensor) -> torch.Tensor:
        return tokens if self.identity else self.to_lm[tokens]

    def masked(self, lm_logits: torch.Tensor) -> torch.Tensor:
        return lm_logits.masked_fill(self.lm_mask, NEG_INF)

    def sentae_logits(self, lm_logits: torch.Tensor) -> torch.Tensor:
        """``[B, V_lm]`` decoder logits -> ``[B, V_sentae]`` over sentae ids (the same distribution)."""
        logits = self.masked(lm_logits)
        if not self.identity:
            logits = logits.index_select(-1, self.to_lm)
        return logits.masked_fill(self.sentae_mask, NEG_INF)


class EncoderIds:
    """Encoder inputs ``(ids, attention mask)`` from a sentae batch: the ids themselves (an encoder built for
    sentae's ids), the shifted ids framed as the encoder's tokenizer frames a text (it is the data's tokenizer), or
    the text re-tokenised by the encoder's own tokenizer."""

    def __init__(self, pretrained: bool, data_tokenizer: PretrainedTokenizer | None,
                 encoder_tokenizer: PretrainedTokenizer | None, max_positions: int, pad_id: int) -> None:
        self.mode = "identity" if not pretrained else ("retokenise" if encoder_tokenizer is not None else "shared")
        self.data_tokenizer, self.pad_id = data_tokenizer, pad_id
        own = encoder_tokenizer if encoder_tokenizer is not None else data_tokenizer
        if pretrained and own is None:
            raise ValueError("a pretrained encoder reads text through a tokenizer: the data must use a pretrained "
                             "tokenizer (data.options.tokenizer: pretrained) named by the model's tokenizer option")
        self.hf: Any = None
        if own is not None and pretrained:
            self.hf = own.hf
            self.hf.enable_truncation(max_positions)
            probe = self.hf.encode("a", add_special_tokens=True)
            content = [i for i, special in enumerate(probe.special_tokens_mask) if not special]
            self.prefix = probe.ids[: content[0]] if content else list(probe.ids)
            self.suffix = probe.ids[content[-1] + 1 :] if content else []
            self.unk = hf_unk_id(self.hf)
            self.room = max_positions - len(self.prefix) - len(self.suffix)

    def __call__(self, tokens: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.mode == "identity":
            mask = torch.arange(tokens.shape[1], device=tokens.device).unsqueeze(0) < lengths.unsqueeze(1)
            return tokens, mask.long()
        rows = tokens.tolist()
        if self.mode == "shared":
            seqs = []
            for row, n in zip(rows, lengths.tolist()):
                words = [i - OFFSET if i >= OFFSET else self.unk for i in row[1 : n - 1]]
                seqs.append(self.prefix + [i for i in words if i is not None][: self.room] + self.suffix)
        else:
            texts = [self.data_tokenizer.decode(row[1:]) for row in rows]
            seqs = [e.ids for e in self.hf.encode_batch(texts, add_special_tokens=True)]
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
            mask[i, : len(s)] = 1
        return ids.to(tokens.device), mask.to(tokens.device)
