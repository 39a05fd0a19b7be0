"""Controllable sentence VAE (Hu et al. 2017, "Toward Controlled Generation of Text").

A sentence is generated from an unstructured Gaussian code z and a structured code c: one one-hot block per
controlled attribute (e.g. sentiment: 2 values, tense: 3). Training alternates, through the Trainer's two
optimizers, between

* ``main`` (encoder + generator): the VAE loss with c set to the sentence's labels (the classifiers' prediction
  where a label is missing), plus, once ``control_start_step`` is reached, the generator's attribute loss (the
  classifiers must recognise c in sentences generated from random (z, c)) and the independence loss (the encoder
  must recover z from them). Generated sentences are soft: each token is a softmax with temperature ``tau``
  fed back as a mixture of embeddings, so both losses are differentiable in the generator's parameters.
* ``disc`` (one classifier per attribute): cross-entropy on labelled real sentences, plus, once control has
  started, on hard generated sentences labelled with the code they were generated from (weight
  ``generated_weight``, with a minimum-entropy term): the wake-sleep step of Hu et al.

Semi-supervised: a missing label (-1) is skipped by the classifier loss and replaced by the classifier's
prediction in the VAE loss.
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
from sentae.nn import GaussianLatent, gaussian_kl
from sentae.nn.cnn import TextCNN
from sentae.nn.params import split_parameters
from sentae.nn.soft_decode import soft_decode
from sentae.schema import Range
from sentae.training.kl_schedules import KLSchedule

from .attribute_codes import AttributeCodes
from .common import DecodesFromCode, encoder_head_generator, word_dropout
from .rnn_config import RNNAutoencoderConfig


def _kl_default() -> KLSchedule:
    return KLSchedule(kind="linear", beta=1.0, warmup_steps=1000)


@dataclass
class CtrlVAEConfig(RNNAutoencoderConfig):
    embedding_size: Annotated[int, Range(1)] = 128  # word embedding dimensions (encoder and generator each)
    hidden_size: Annotated[int, Range(1)] = 256  # RNN state dimensions (per direction in the encoder)
    latent_size: Annotated[int, Range(1)] = 16  # dimensions of the unstructured Gaussian code z
    attributes: list[str] = field(default_factory=lambda: ["sentiment", "tense"])  # data attributes controlled by c
    word_dropout: Annotated[float, Range(0, 1, high_open=True)] = 0.3  # generator inputs replaced by <unk> while training, so it must use z and c
    kl: KLSchedule = field(default_factory=_kl_default)  # weight of the KL term over training
    classifier_embedding: Annotated[int, Range(1)] = 64  # classifiers' own word embedding size
    classifier_filters: Annotated[int, Range(1)] = 64  # convolution filters per width in each classifier
    control_start_step: Annotated[int, Range(0)] = 500  # steps of plain VAE + classifier training before the control losses start
    attribute_weight: Annotated[float, Range(0)] = 0.5  # lambda_c: generator's loss when classifiers miss c in its sentences
    independence_weight: Annotated[float, Range(0)] = 0.5  # lambda_z: squared error of the encoder's z recovered from generated sentences
    generated_weight: Annotated[float, Range(0)] = 0.1  # lambda_u: weight of generated sentences in the classifiers' loss
    entropy_weight: Annotated[float, Range(0)] = 0.1  # beta: minimum-entropy term on classifier predictions of generated sentences
    tau: Annotated[float, Range(0, low_open=True)] = 0.5  # softmax temperature of soft generation (lower: closer to one-hot)
    generated_length: Annotated[int, Range(0)] = 0  # tokens generated for the control losses (0: the data's max length)
    generated_batch: Annotated[int, Range(0)] = 0  # sentences generated per step for the control losses (0: the batch size)

    def __post_init__(self) -> None:
        super().__post_init__()  # the declared ranges, of these fields too
        if not self.attributes:
            raise ValueError("attributes must name at least one data attribute to control")
        if len(set(self.attributes)) != len(self.attributes):
            raise ValueError(f"attributes lists a name twice: {self.attributes}")


class CtrlVAE(DecodesFromCode, AttributeCodes, SentaeModel, ControllableTextModel):
    """Encoder -> z; generator p(x | z, c); one CNN classifier per controlled attribute."""

    name = "ctrl_vae"
    modality = "text"
    config_class = CtrlVAEConfig
    paper = "Hu et al. 2017, Toward Controlled Generation of Text"
    sentae_api = 1
    # sizes apart from each other and from the default data's (vocabulary 37, code c 2 + 3 = 5) and batch (6)
    tiny_config = {"embedding_size": 11, "hidden_size": 13, "latent_size": 7, "classifier_embedding": 9,
                   "classifier_filters": 10, "control_start_step": 0, "generated_length": 8}

    def __init__(self, config: CtrlVAEConfig, data_info: DataInfo) -> None:
        super().__init__(config, data_info)
        missing = [a for a in config.attributes if a not in data_info.attributes]
        if missing:
            have = ", ".join(f"{k} ({'/'.join(v)})" for k, v in data_info.attributes.items()) or "none"
            raise ValueError(f"{self.name} controls attribute(s) {', '.join(missing)} but the data has none of "
                             f"that name (data attributes: {have}); set model.attributes or label the data")
        c = config
        self.controlled = {a: list(data_info.attributes[a]) for a in c.attributes}
        self.code_size = sum(len(vals) for vals in self.controlled.values())
        self.latent_size = c.latent_size
        self.encoder, self.latent, self.decoder = encoder_head_generator(c, data_info, self.name, GaussianLatent,
                                                                         extra_code_size=self.code_size)
        self.classifiers = nn.ModuleDict({
            a: TextCNN(data_info.vocab_size, c.classifier_embedding, len(vals), c.classifier_filters,
                       pad_id=data_info.pad_id)
            for a, vals in self.controlled.items()
        })

    @classmethod
    def default_data_info(cls) -> DataInfo:
        return DataInfo(modality="text", vocab_size=37, pad_id=0, bos_id=1, eos_id=2, unk_id=3, max_length=14,
                        attributes={"sentiment": ["negative", "positive"], "tense": ["past", "present", "future"]})

    # -- likelihood pieces (evaluation, sampler) -------------------------------------------------------------------
    def encode_stats(self, tokens: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.latent(self.encoder(tokens, lengths))

    def sentence_nll(self, tokens: torch.Tensor, lengths: torch.Tensor, z: torch.Tensor | None) -> torch.Tensor:
        """-log p(x | z, c(x)) per sentence, in nats, with c(x) the classifiers' most likely values."""
        code = self.full_code(z, self.predict_attributes(tokens, lengths))
        return self.decoder.sentence_nll(tokens, code, self.data_info.pad_id)

    # -- training ------------------------------------------------------------------------------------------------
    def _generation_steps(self) -> int:
        return self.config.generated_length or max((self.data_info.max_length or 20) - 1, 2)

    def _control_on(self, ctx: StepContext) -> bool:
        return ctx.training and ctx.step >= self.config.control_start_step

    def training_step(self, batch, ctx: StepContext) -> StepOutput:
        if ctx.optimizer == "disc":
            return self._classifier_step(batch, ctx)
        tokens, lengths = batch["tokens"], batch["lengths"]
        with torch.no_grad():
            logits = self.classify(tokens, lengths)
        mu, logvar = self.encode_stats(tokens, lengths)
        z = GaussianLatent.sample(mu, logvar)
        code = self.full_code(z, self.real_codes(batch, logits))
        inputs = word_dropout(tokens[:, :-1], self.config.word_dropout if self.training else 0.0, self.data_info)
        rec = self.decoder.sentence_nll(tokens, code, self.data_info.pad_id, inputs=inputs)
        kl = gaussian_kl(mu, logvar).sum(1)
        beta = self.config.kl.weight(ctx.step, ctx.total_steps)
        loss = rec.mean() + beta * kl.mean()
        metrics = {"rec": rec.mean().detach(), "kl": kl.mean().detach(), "beta": beta}
        if self._control_on(ctx):
            attr_loss, z_loss, accs = self._control_losses(self.config.generated_batch or len(tokens), tokens.device)
            loss = loss + self.config.attribute_weight * attr_loss + self.config.independence_weight * z_loss
            metrics.update({"attr": attr_loss.detach(), "indep": z_loss.detach(), **accs})
        return StepOutput(loss, metrics)

    def _control_losses(self, n: int, device) -> tuple[torch.Tensor, torch.Tensor, dict[str, float]]:
        """Soft sentences from random (z, c): the classifiers should find c in them, the encoder should find z."""
        z = torch.randn(n, self.latent_size, device=device)
        attrs = self.random_attributes(n, device)
        info = self.data_info
        soft = soft_decode(self.decoder, self.full_code(z, attrs), self._generation_steps(), info.bos_id, info.eos_id,
                           info.pad_id, self.config.tau)
        attr_loss = torch.zeros((), device=device)
        accs = {}
        for a, clf in self.classifiers.items():
            logits = clf.forward_embedded(soft.embed(clf.embedding), soft.mask)
            attr_loss = attr_loss + F.cross_entropy(logits, attrs[a])
            accs[f"gen_acc/{a}"] = float((logits.argmax(1) == attrs[a]).float().mean())
        mu, _ = self.latent(self.encoder.encode_embedded(soft.embed(self.encoder.embedding), soft.lengths))
        z_loss = (mu - z).pow(2).sum(1).mean()
        return attr_loss, z_loss, accs

    def _classifier_step(self, batch, ctx: StepContext) -> StepOutput:
        tokens = batch["tokens"]
        loss, metrics = self.labelled_classifier_loss(batch)
        if self._control_on(ctx) and self.config.generated_weight > 0:
            with torch.no_grad():
                n = self.config.generated_batch or len(tokens)
                attrs = self.random_attributes(n, tokens.device)
                info = self.data_info
                gen = soft_decode(self.decoder, self.full_code(torch.randn(n, self.latent_size, device=tokens.device), attrs),
                                  self._generation_steps(), info.bos_id, info.eos_id, info.pad_id, self.config.tau)
            for a, clf in self.classifiers.items():
                logits = clf(gen.tokens, gen.lengths)
                probs = logits.softmax(1)
                entropy = -(probs * logits.log_softmax(1)).sum(1).mean()
                loss = loss + self.config.generated_weight * (F.cross_entropy(logits, attrs[a]) + self.config.entropy_weight * entropy)
        return StepOutput(loss, {"clf": loss.detach(), **metrics})

    def optimizer_names(self) -> list[str]:
        return ["main", "disc"]

    def optimizers(self, lr: float, weight_decay: float) -> dict[str, torch.optim.Optimizer]:
        rest, clf = split_parameters(self, self.classifiers)
        return {"main": adamw(rest, lr, weight_decay), "disc": adamw(clf, lr, weight_decay)}

    # -- evaluation ---------------------------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, batches: Iterable[dict[str, torch.Tensor]]) -> dict[str, float]:
        """Held-out ELBO terms (c from labels), the classifiers' accuracy on labelled real sentences, and control
        accuracy of greedy sentences from random (z, c) as judged by those same classifiers (self-judged: an
        independent classifier gives the honest number)."""
        from sentae.evaluation.text import active_units

        rec_sum = kl_sum = words = n = 0.0
        right = {a: 0 for a in self.controlled}
        seen = {a: 0 for a in self.controlled}
        mus = []
        for batch in batches:
            tokens, lengths = batch["tokens"], batch["lengths"]
            logits = self.classify(tokens, lengths)
            mu, logvar = self.encode_stats(tokens, lengths)
            code = self.full_code(GaussianLatent.sample(mu, logvar), self.real_codes(batch, logits))
            rec_sum += float(self.decoder.sentence_nll(tokens, code, self.data_info.pad_id).sum())
            kl_sum += float(gaussian_kl(mu, logvar).sum())
            words += float((lengths - 1).sum())
            n += len(lengths)
            mus.append(mu.float())
            for a in self.controlled:
                labels = batch.get(f"attr_{a}")
                if labels is not None:
                    known = labels >= 0
                    right[a] += int((logits[a].argmax(1)[known] == labels[known]).sum())
                    seen[a] += int(known.sum())
        au, _ = active_units(torch.cat(mus))
        out = {"loss": (rec_sum + kl_sum) / n, "rec": rec_sum / n, "kl": kl_sum / n,
               "nll_bound_per_word": (rec_sum + kl_sum) / words, "active_units": float(au)}
        for a in self.controlled:
            if seen[a]:
                out[f"clf_acc/{a}"] = right[a] / seen[a]
        g = torch.Generator(device=self.decoder.device).manual_seed(0)
        m = 200
        attrs = self.random_attributes(m, self.decoder.device, g)
        z = torch.randn(m, self.latent_size, generator=g, device=self.decoder.device)
        ids = self.generate(self.full_code(z, attrs), m, DecodeConfig(max_length=self._generation_steps()))
        framed = torch.cat([torch.full((m, 1), self.data_info.bos_id, device=ids.device), ids], 1)
        lens = 1 + torch.where((ids == self.data_info.eos_id).any(1), (ids == self.data_info.eos_id).float().argmax(1) + 1,
                               torch.full((m,), ids.shape[1], device=ids.device))
        for a, logits in self.classify(framed, lens).items():
            out[f"ctrl_acc_self/{a}"] = float((logits.argmax(1) == attrs[a]).float().mean())
        return out

    # -- generation ---------------------------------------------------------------------------------------------
    def example_batch(self, batch_size: int, generator: torch.Generator):
        return self.labelled_example_batch(batch_size, generator)

    def generate(self, code: torch.Tensor, n: int, config: DecodeConfig | None = None,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Token ids from full codes ``[n, latent_size + code_size]``; a code of only z gets random attributes."""
        if code.shape[1] == self.latent_size:
            code = self.full_code(code, self.random_attributes(n, code.device, generator))
        info, config = self.data_info, config if config is not None else DecodeConfig()
        return decode(self.decoder, code, n, info.bos_id, info.eos_id, info.pad_id, config, generator)
