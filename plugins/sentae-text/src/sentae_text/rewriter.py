"""A sentence rewriter: a denoising autoencoder whose code is one vector per token (attention) and whose decoder
also reads the sentence's attribute values, trained so that changing the values changes the attributes and
nothing else.

Lample et al. 2019 ("Multiple-Attribute Text Rewriting") showed that no disentangled code is needed to rewrite a
sentence: a denoising autoencoder that attends to its input and reads attribute embeddings, plus a back-translation
loss, is enough. Dai et al. 2019 (Style Transformer) made the attribute change explicit with a classifier on the
differentiable rewrite. This variant combines both with RNNs, sized for a CPU:

* ``main`` (encoder + decoder + attribute embeddings), per step:
  - reconstruction: the encoder reads a noisy copy of x (words dropped), the decoder writes x from that memory and
    x's own attribute values (labels; the model's classifiers' reading where a label is missing);
  - once ``transfer_start_step`` is reached, on ``transfer_batch`` of the sentences: a rewrite y' of clean x with
    random target values c' (each attribute drawn uniformly, so some keep their value), differentiable in the
    decoder: one-hot words whose gradient is the softmax's (straight-through), or with ``straight_through: false``
    the softmax distributions themselves fed back as mixtures of embeddings (Hu et al. 2017);
    the style loss asks the classifiers to read c' in y'; the cycle loss asks the decoder to write x back from the
    encoder's memory of y' and x's own values, so the rewrite must keep what x says.
* ``disc`` (one small CNN classifier per attribute): cross-entropy on labelled real sentences only; they read the
  source's values at rewrite time and judge the soft rewrites while training.

The code (``encode_stats``) is the memory, flattened: ``max_length`` rows of ``memory_size`` numbers, zero rows past
the sentence's end (see ``sentae.nn.attention``). A ``ControllableTextModel``: ``full_code(z, c)`` appends the
attribute values, so the sampler's ``transfer`` and ``reconstruct`` work on it as on ctrl_vae, and a sentence
already at the asked value is decoded from its own values.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Iterable

import torch
import torch.nn.functional as F
from torch import nn

from sentae import DataInfo, SentaeModel, StepContext, StepOutput
from sentae.generation.decoding import DecodeConfig, decode
from sentae.model import ControllableTextModel, adamw
from sentae.nn import SoftmaxConfig
from sentae.nn.attention import AttentionDecoder, MemoryEncoder, flatten_memory, unflatten_memory
from sentae.nn.cnn import TextCNN
from sentae.nn.noise import TextNoiseConfig
from sentae.nn.params import split_parameters
from sentae.nn.soft_decode import soft_decode
from sentae.schema import Range, check_declared_ranges

from .attribute_codes import AttributeCodes
from .common import noisy_copy


def _light_noise() -> TextNoiseConfig:
    return TextNoiseConfig(drop=0.1)


@dataclass
class RewriterConfig:
    embedding_size: Annotated[int, Range(1)] = 128  # word embedding dimensions (encoder and decoder each)
    encoder_size: Annotated[int, Range(1)] = 192  # GRU state dimensions per direction of the encoder
    memory_size: Annotated[int, Range(1)] = 128  # numbers per token in the code (the memory the decoder attends to)
    hidden_size: Annotated[int, Range(1)] = 256  # decoder GRU state dimensions
    attribute_embedding: Annotated[int, Range(1)] = 32  # dimensions of each attribute's value embedding
    attributes: list[str] = field(default_factory=lambda: ["sentiment", "tense"])  # data attributes the decoder reads
    noise: TextNoiseConfig = field(default_factory=_light_noise)  # corruption of the encoder's input in the reconstruction loss
    dropout: Annotated[float, Range(0, 1, high_open=True)] = 0.1  # dropout on embeddings and decoder outputs
    classifier_embedding: Annotated[int, Range(1)] = 64  # classifiers' own word embedding size
    classifier_filters: Annotated[int, Range(1)] = 64  # convolution filters per width in each classifier
    transfer_start_step: Annotated[int, Range(0)] = 1000  # steps of reconstruction + classifier training before the style and cycle losses
    transfer_batch: Annotated[int, Range(0)] = 32  # sentences rewritten per step for those losses (0: the batch size)
    style_weight: Annotated[float, Range(0)] = 1.0  # weight of the classifiers' cross-entropy on soft rewrites
    cycle_weight: Annotated[float, Range(0)] = 0.5  # weight of writing x back from its soft rewrite
    tau: Annotated[float, Range(0, low_open=True)] = 0.5  # softmax temperature of the soft rewrites
    straight_through: bool = True  # rewrites are one-hot words forward, softmax gradients backward (else mixtures)
    softmax: SoftmaxConfig = field(default_factory=SoftmaxConfig)  # output layer: full or adaptive

    def __post_init__(self) -> None:
        check_declared_ranges(self)
        if not self.attributes:
            raise ValueError("attributes must name at least one data attribute for the decoder to read")
        if len(set(self.attributes)) != len(self.attributes):
            raise ValueError(f"attributes lists a name twice: {self.attributes}")


class Rewriter(AttributeCodes, SentaeModel, ControllableTextModel):
    """Memory encoder (bidirectional GRU) -> per-token code -> attention GRU decoder reading attribute embeddings;
    one CNN classifier per attribute."""

    name = "rewriter"
    modality = "text"
    config_class = RewriterConfig
    paper = ("Lample et al. 2019, Multiple-Attribute Text Rewriting; Dai et al. 2019, Style Transformer: Unpaired "
             "Text Style Transfer without Disentangled Latent Representation")
    sentae_api = 1
    # sizes apart from each other and from the default data's (vocabulary 37, max length 14, code c 5) and batch (6)
    tiny_config = {"embedding_size": 11, "encoder_size": 13, "memory_size": 7, "hidden_size": 15,
                   "attribute_embedding": 8, "classifier_embedding": 9, "classifier_filters": 10,
                   "transfer_start_step": 0, "transfer_batch": 3}
    stochastic = False  # the code is a point: no KL, no importance-weighted likelihood

    def __init__(self, config: RewriterConfig, data_info: DataInfo) -> None:
        super().__init__(config, data_info)
        if data_info.vocab_size is None or data_info.max_length is None:
            raise ValueError(f"{self.name} needs text data (data_info.vocab_size and max_length)")
        missing = [a for a in config.attributes if a not in data_info.attributes]
        if missing:
            have = ", ".join(f"{k} ({'/'.join(v)})" for k, v in data_info.attributes.items()) or "none"
            raise ValueError(f"{self.name} reads attribute(s) {', '.join(missing)} but the data has none of that name "
                             f"(data attributes: {have}); set model.attributes or label the data")
        c, v, pad = config, data_info.vocab_size, data_info.pad_id
        self.controlled = {a: list(data_info.attributes[a]) for a in c.attributes}
        self.positions = data_info.max_length  # rows of the code: the longest framed sentence
        self.latent_size = self.positions * c.memory_size
        self.encoder = MemoryEncoder(v, c.embedding_size, c.encoder_size, c.memory_size, pad, c.dropout)
        self.attribute_tables = nn.ModuleDict({a: nn.Linear(len(vals), c.attribute_embedding, bias=False)
                                               for a, vals in self.controlled.items()})
        cond = c.attribute_embedding * len(self.controlled)
        self.decoder = AttentionDecoder(v, c.embedding_size, c.hidden_size, c.memory_size, cond, pad, c.dropout,
                                        c.softmax)
        self.classifiers = nn.ModuleDict({
            a: TextCNN(v, c.classifier_embedding, len(vals), c.classifier_filters, pad_id=pad)
            for a, vals in self.controlled.items()
        })
        self.code_size = sum(len(vals) for vals in self.controlled.values())

    @classmethod
    def default_data_info(cls) -> DataInfo:
        return DataInfo(modality="text", vocab_size=37, pad_id=0, bos_id=1, eos_id=2, unk_id=3, max_length=14,
                        attributes={"sentiment": ["negative", "positive"], "tense": ["past", "present", "future"]})

    # -- codes ---------------------------------------------------------------------------------------------------
    def encode_stats(self, tokens: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, None]:
        """The flattened memory ``[B, max_length * memory_size]``, and ``None`` where a VAE has log-variances."""
        return flatten_memory(self.encoder(tokens[:, : self.positions], lengths.clamp(max=self.positions)),
                              self.positions), None

    def _split(self, code: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Memory, its mask and the decoder's conditioning vector (the attribute embeddings) from a full code."""
        memory, mask = unflatten_memory(code[:, : self.latent_size], self.config.memory_size)
        cond, start = [], self.latent_size
        for a, vals in self.controlled.items():
            cond.append(self.attribute_tables[a](code[:, start : start + len(vals)]))
            start += len(vals)
        return memory, mask, torch.cat(cond, 1)

    # -- the decoder-step interface over full codes (what sentae.generation decodes) ------------------------------
    @property
    def embedding(self) -> nn.Embedding:
        return self.decoder.embedding

    def start_state(self, code: torch.Tensor, batch_size: int) -> dict[str, torch.Tensor]:
        return self.decoder.start_state(*self._split(code))

    def decode_step(self, tokens: torch.Tensor, state: dict[str, torch.Tensor]):
        return self.decoder.decode_step(tokens, state)

    def decode_step_embedded(self, emb: torch.Tensor, state: dict[str, torch.Tensor]):
        return self.decoder.decode_step_embedded(emb, state)

    def generate(self, code: torch.Tensor, n: int, config: DecodeConfig | None = None,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Token ids from full codes ``[n, latent_size + code_size]``; a code without values gets random ones."""
        if code.shape[1] == self.latent_size:
            code = self.full_code(code, self.random_attributes(n, code.device, generator))
        info, config = self.data_info, config if config is not None else DecodeConfig()
        return decode(self, code, n, info.bos_id, info.eos_id, info.pad_id, config, generator)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Greedy sentences from random codes. The memory follows no prior, so these are not sentences of the data:
        the rewriter is for rewriting given sentences (``reconstruct``/``transfer``), not for sampling."""
        z = torch.randn(n, self.latent_size, generator=generator, device=self.decoder.device)
        return self.generate(z, n, DecodeConfig(strategy="greedy", max_length=self.positions), generator)

    # -- likelihood ---------------------------------------------------------------------------------------------
    def _nll(self, tokens: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        memory, mask, cond = self._split(code)
        return self.decoder.sentence_nll(tokens, memory, mask, cond, self.data_info.pad_id)

    def sentence_nll(self, tokens: torch.Tensor, lengths: torch.Tensor, z: torch.Tensor | None) -> torch.Tensor:
        """-log p(x | memory z, c(x)) per sentence, in nats, with c(x) the classifiers' most likely values."""
        return self._nll(tokens, self.full_code(z, self.predict_attributes(tokens, lengths)))

    # -- training ------------------------------------------------------------------------------------------------
    def noisy(self, tokens: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return noisy_copy(tokens, lengths, self.config.noise, self.data_info) if self.training else (tokens, lengths)

    def training_step(self, batch, ctx: StepContext) -> StepOutput:
        if ctx.optimizer == "disc":
            return self._classifier_step(batch)
        tokens, lengths = batch["tokens"], batch["lengths"]
        with torch.no_grad():
            own = self.real_codes(batch, self.classify(tokens, lengths))
        z, _ = self.encode_stats(*self.noisy(tokens, lengths))
        rec = self._nll(tokens, self.full_code(z, own))
        loss = rec.mean()
        metrics: dict[str, float | torch.Tensor] = {"rec": rec.mean().detach()}
        if ctx.training and ctx.step >= self.config.transfer_start_step:
            style, cycle, accs = self._transfer_losses(tokens, lengths, own)
            loss = loss + self.config.style_weight * style + self.config.cycle_weight * cycle
            metrics.update({"style": style.detach(), "cycle": cycle.detach(), **accs})
        return StepOutput(loss, metrics)

    def _transfer_losses(self, tokens: torch.Tensor, lengths: torch.Tensor, own: dict[str, torch.Tensor]
                         ) -> tuple[torch.Tensor, torch.Tensor, dict[str, float]]:
        """Soft rewrites of clean sentences toward random values: the classifiers should read those values in
        them (style), and the sentence should come back from them under its own values (cycle)."""
        n = min(self.config.transfer_batch or len(tokens), len(tokens))
        tokens, lengths = tokens[:n], lengths[:n]
        own = {a: v[:n] for a, v in own.items()}
        target = self.random_attributes(n, tokens.device)
        z, _ = self.encode_stats(tokens, lengths)
        info = self.data_info
        # a rewrite may be a little longer than its source ("was" -> "will be"); the budget is the longest source + 2
        steps = min(int(lengths.max()) + 1, self.positions - 1)
        soft = soft_decode(self, self.full_code(z, target), steps, info.bos_id, info.eos_id, info.pad_id, self.config.tau,
                           straight_through=self.config.straight_through)
        style = torch.zeros((), device=tokens.device)
        accs = {}
        for a, clf in self.classifiers.items():
            logits = clf.forward_embedded(soft.embed(clf.embedding), soft.mask)
            style = style + F.cross_entropy(logits, target[a])
            accs[f"rewrite_acc_self/{a}"] = float((logits.argmax(1) == target[a]).float().mean())
        memory = self.encoder.encode_embedded(soft.embed(self.encoder.embedding), soft.lengths)
        back = self._nll(tokens, self.full_code(flatten_memory(memory, self.positions), own))
        return style, back.mean(), accs

    def _classifier_step(self, batch) -> StepOutput:
        loss, metrics = self.labelled_classifier_loss(batch)
        return StepOutput(loss, {"clf": loss.detach(), **metrics})

    def optimizer_names(self) -> list[str]:
        return ["main", "disc"]

    def optimizers(self, lr: float, weight_decay: float) -> dict[str, torch.optim.Optimizer]:
        rest, clf = split_parameters(self, self.classifiers)
        return {"main": adamw(rest, lr, weight_decay), "disc": adamw(clf, lr, weight_decay)}

    # -- evaluation ---------------------------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, batches: Iterable[dict[str, torch.Tensor]]) -> dict[str, float]:
        """Held-out reconstruction of clean input under its own values (nats per sentence and per word), greedy
        exact-match rate, and the classifiers' accuracy on labelled sentences."""
        rec = words = n = exact = 0.0
        right = {a: 0 for a in self.controlled}
        seen = {a: 0 for a in self.controlled}
        info = self.data_info
        for batch in batches:
            tokens, lengths = batch["tokens"], batch["lengths"]
            logits = self.classify(tokens, lengths)
            code = self.full_code(self.encode_stats(tokens, lengths)[0], self.real_codes(batch, logits))
            rec += float(self._nll(tokens, code).sum())
            words += float((lengths - 1).sum())
            n += len(lengths)
            out = self.generate(code, len(tokens), DecodeConfig(max_length=self.positions - 1))
            target = tokens[:, 1:]
            width = max(out.shape[1], target.shape[1])
            out = F.pad(out, (0, width - out.shape[1]), value=info.pad_id)
            target = F.pad(target, (0, width - target.shape[1]), value=info.pad_id)
            exact += float((out == target).all(1).sum())
            for a in self.controlled:
                labels = batch.get(f"attr_{a}")
                if labels is not None:
                    known = labels >= 0
                    right[a] += int((logits[a].argmax(1)[known] == labels[known]).sum())
                    seen[a] += int(known.sum())
        result = {"loss": rec / n, "rec": rec / n, "rec_per_word": rec / words, "exact_match_greedy": exact / n}
        for a in self.controlled:
            if seen[a]:
                result[f"clf_acc/{a}"] = right[a] / seen[a]
        return result

    def example_batch(self, batch_size: int, generator: torch.Generator):
        return self.labelled_example_batch(batch_size, generator)
