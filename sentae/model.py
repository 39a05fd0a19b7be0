"""The contract between sentae and every model variant.

A model owns its architecture, its loss and its per-step logic. It never writes a training loop, moves data
between devices or saves files: the Trainer calls ``training_step`` once per optimizer, in the order the model's
``optimizers`` returns them, and does every backward pass and optimizer step itself.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Iterable, Protocol, runtime_checkable

import torch
from torch import nn

if TYPE_CHECKING:  # only for annotations: generation sits above this floor
    from .generation.decoding import DecodeConfig

Batch = dict[str, torch.Tensor]


@dataclass
class DataInfo:
    """What a model needs to know about its data to build itself; saved in every run folder."""

    modality: str = "image"  # "image" or "text"
    image_shape: tuple[int, ...] | None = None  # (channels, height, width), pixels in [0, 1]
    num_classes: int | None = None  # label classes, when the data has labels
    vocab_size: int | None = None  # text: tokenizer size
    pad_id: int | None = None
    bos_id: int | None = None
    eos_id: int | None = None
    unk_id: int | None = None
    max_length: int | None = None  # text: longest sequence in tokens, special tokens included
    attributes: dict[str, list[str]] = field(default_factory=dict)  # attribute name -> its values

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        if d["image_shape"] is not None:
            d["image_shape"] = list(d["image_shape"])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DataInfo:
        known = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in d.items() if k in known}
        if kwargs.get("image_shape") is not None:
            kwargs["image_shape"] = tuple(kwargs["image_shape"])
        return cls(**kwargs)


# The step a context-free forward() reports at: past every warm-up and start step a recipe sets, so every
# schedule (KL annealing, control and transfer losses) is at its final value.
STEADY_STEP = 10**9


@dataclass
class StepContext:
    """Where training stands, handed to ``training_step``."""

    step: int = 0  # optimizer steps taken so far
    total_steps: int = 1  # planned optimizer steps (train.max_steps)
    epoch: int = 0
    optimizer: str = "main"  # name of the optimizer this call's loss is for
    training: bool = True


@dataclass
class StepOutput:
    """A step's loss (what the Trainer differentiates) and scalars to log beside it."""

    loss: torch.Tensor
    metrics: dict[str, float | torch.Tensor] = field(default_factory=dict)


def adamw(params: Iterable[nn.Parameter], lr: float, weight_decay: float = 0.0) -> torch.optim.AdamW:
    """AdamW with the fused kernel where this torch build has one (CPU and CUDA in recent releases): one pass
    over all parameters instead of a dozen small ops per tensor."""
    params = list(params)
    try:
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, foreach=True)


class SentaeModel(nn.Module):
    """Base class of every registered model.

    Subclasses set the class attributes below, take ``(config, data_info)`` in ``__init__`` and implement
    ``training_step``. ``sentae_api`` is the plugin API version the variant was written against; the registry
    refuses a variant whose version this sentae does not provide.
    """

    name: ClassVar[str] = ""
    modality: ClassVar[str] = ""  # "text" or "image"
    config_class: ClassVar[type]  # a dataclass with the variant's hyper-parameters
    paper: ClassVar[str] = ""  # reference of the method, shown by `sentae info`
    # Config overrides that make the model tiny; the conformance kit uses them when it is given none.
    tiny_config: ClassVar[dict[str, Any]] = {}
    # What the model can serve as, for code that needs "a model that does X" without naming a plugin's model:
    # "language_model" (a SentenceModel without a latent, trained on {embedding_size, hidden_size} fields) and
    # "attribute_classifier" (an AttributeClassifierModel whose config has an ``attribute`` field).
    roles: ClassVar[tuple[str, ...]] = ()
    # sentae_api: ClassVar[int]  -- deliberately not defined here: each variant must declare it itself.

    def __init__(self, config: Any, data_info: DataInfo) -> None:
        super().__init__()
        self.config = config
        self.data_info = data_info

    @classmethod
    def default_data_info(cls) -> DataInfo:
        """Data shape used when the model is created without data (``create_model``, the conformance kit)."""
        raise NotImplementedError(f"{cls.__name__} must define default_data_info()")

    def training_step(self, batch: Batch, ctx: StepContext) -> StepOutput:
        raise NotImplementedError

    def forward(self, batch: Batch, ctx: StepContext | None = None) -> StepOutput:
        """``model(batch)``: the loss of the first optimizer on ``batch`` (``training_step``), so that hooks,
        ``torch.compile``, torchinfo and other trainers can call the model like any ``nn.Module``. Without ``ctx``
        the schedules stand where training ends (full KL weight, every loss switched on: the objective itself),
        and ``ctx.training`` follows ``model.train()`` / ``model.eval()``.

        >>> out = model(batch); out.loss.backward()  # doctest: +SKIP
        """
        if ctx is None:
            ctx = StepContext(step=STEADY_STEP, total_steps=STEADY_STEP, training=self.training,
                              optimizer=self.optimizer_names()[0])
        return self.training_step(batch, ctx)

    @torch.no_grad()
    def validation_step(self, batch: Batch) -> dict[str, float]:
        """Held-out metrics for one batch; by default the training loss of the first optimizer."""
        out = self.training_step(batch, StepContext(training=False, optimizer=self.optimizer_names()[0]))
        metrics = {"loss": float(out.loss)}
        metrics.update({k: float(v) for k, v in out.metrics.items()})
        return metrics

    @torch.no_grad()
    def evaluate(self, batches: Iterable[Batch]) -> dict[str, float]:
        """Metrics over a whole held-out split. By default the batch-size-weighted mean of ``validation_step``;
        variants override it for statistics that need the whole split (e.g. active units of a VAE)."""
        sums: dict[str, float] = {}
        count = 0
        for batch in batches:
            n = len(next(iter(batch.values())))
            for k, v in self.validation_step(batch).items():
                sums[k] = sums.get(k, 0.0) + float(v) * n
            count += n
        return {k: v / max(count, 1) for k, v in sums.items()}

    def optimizer_names(self) -> list[str]:
        return ["main"]

    def optimizers(self, lr: float, weight_decay: float) -> dict[str, torch.optim.Optimizer]:
        """Optimizers by name, stepped by the Trainer in this order each step. Default: one AdamW."""
        return {"main": adamw(self.parameters(), lr, weight_decay)}

    def example_batch(self, batch_size: int, generator: torch.Generator) -> Batch:
        """A synthetic batch of the model's default data shape, for the conformance kit."""
        raise NotImplementedError(f"{type(self).__name__} must define example_batch()")

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw ``n`` samples from the model (images or token ids). Variants without a prior may not."""
        raise NotImplementedError(f"model '{self.name}' cannot sample")

    def describe(self) -> dict[str, Any]:
        """What `model.json` records: the registered name, the config and the data shape."""
        return {
            "type": self.name,
            "config": dataclasses.asdict(self.config),
            "data_info": self.data_info.to_dict(),
        }


# ----------------------------------------------------------------------------------------------------------------
# The text-model contract. Generation and evaluation rely on these members and nothing else; ``isinstance`` checks
# them structurally, so a third-party model satisfies a protocol by having its members (inheriting it documents the
# intent). Token tensors are ``[B, T]`` with bos first and eos last, padded with ``data_info.pad_id``; ``lengths``
# ``[B]`` counts bos and eos. Likelihoods are in nats per sentence, summed over the predicted tokens (words + eos).


@runtime_checkable
class SentenceModel(Protocol):
    """A text model with a likelihood over sentences that can generate them: every text model that sentae samples
    from or evaluates (a language model, every text autoencoder)."""

    data_info: DataInfo
    latent_size: int  # dimensions of the code z the decoder reads; 0 for a language model

    def sentence_nll(self, tokens: torch.Tensor, lengths: torch.Tensor, z: torch.Tensor | None) -> torch.Tensor:
        """-log p(x | z) per sentence ``[B]`` (-log p(x) for a language model, which gets ``z=None``)."""
        raise NotImplementedError

    def generate(self, z: torch.Tensor | None, n: int, config: DecodeConfig | None = None,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` token sequences ``[n, T]`` (no bos; eos, then padding) decoded from codes ``z`` ``[n, latent]``
        (a language model: from nothing) through ``sentae.generation.decoding``."""
        raise NotImplementedError


@runtime_checkable
class LatentTextModel(SentenceModel, Protocol):
    """A text autoencoder: sentences map to codes and codes decode to sentences."""

    # True: q(z|x) is a Gaussian (a VAE: KL and IW-NLL are defined); False: a point code (dae, aae). A model that
    # inherits this protocol is stochastic unless it says otherwise.
    stochastic: bool = True

    def encode_stats(self, tokens: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Posterior mean ``[B, latent]`` and log-variance ``[B, latent]`` (None for a deterministic encoder)."""
        raise NotImplementedError


@runtime_checkable
class ControllableTextModel(LatentTextModel, Protocol):
    """A text autoencoder whose decoder also reads a structured code c of attribute values (Hu et al. 2017):
    it decodes from ``full_code(z, c)``, a vector wider than ``latent_size``."""

    controlled: dict[str, list[str]]  # attribute name -> its values, in code order

    def random_attributes(self, n: int, device: torch.device | str,
                          generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Value indices ``[n]`` per controlled attribute, drawn from the prior over c."""
        raise NotImplementedError

    def predict_attributes(self, tokens: torch.Tensor, lengths: torch.Tensor) -> dict[str, torch.Tensor]:
        """The model's own reading of each sentence's attributes: value indices or distributions ``[B, K]``."""
        raise NotImplementedError

    def full_code(self, z: torch.Tensor, attributes: dict[str, torch.Tensor]) -> torch.Tensor:
        """[z, c]: what ``generate`` and ``sentence_nll`` take for this model."""
        raise NotImplementedError


@runtime_checkable
class AttributeClassifierModel(Protocol):
    """A sentence classifier of one attribute: the independent judge of generated text."""

    data_info: DataInfo
    attribute: str  # the attribute it predicts
    values: list[str]  # its values, in the order of the logits

    def logits(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Unnormalised class scores ``[B, len(values)]``."""
        raise NotImplementedError


def is_sentence_model(model: Any) -> bool:
    return getattr(getattr(model, "data_info", None), "modality", None) == "text" and isinstance(model, SentenceModel)


def has_latent(model: Any) -> bool:
    """A text model with an encoder and a non-empty code."""
    return isinstance(model, LatentTextModel) and model.latent_size > 0


def is_controllable(model: Any) -> bool:
    return isinstance(model, ControllableTextModel) and bool(model.controlled)
