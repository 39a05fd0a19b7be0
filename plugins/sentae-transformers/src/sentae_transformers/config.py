"""The configuration of ``transformer_vae``: where the encoder and decoder come from, how z reaches the decoder,
the VAE's training options, and what the model records about itself so that a run loads with no network."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from sentae.schema import Range, check_declared_ranges
from sentae.training.kl_schedules import KLSchedule


@dataclass
class AdapterConfig:
    """LoRA adapters (through ``peft``) on the encoder and/or the decoder: an adapted part's own weights stay fixed
    and only its low-rank updates train (``trainable`` patterns may still train chosen base weights)."""

    target: Literal["none", "encoder", "decoder", "both"] = "none"  # the parts that get adapters; none: no adapters
    r: Annotated[int, Range(1)] = 8  # rank of each low-rank update B A
    alpha: Annotated[float, Range(0, low_open=True)] = 16.0  # the update is scaled by alpha / r
    dropout: Annotated[float, Range(0, 1, high_open=True)] = 0.0  # dropout on the adapters' input (training only)
    # Module names matched as name suffixes in each adapted part (e.g. [query, value] in BERT, [c_attn] in GPT-2,
    # [q_proj, v_proj] in Llama); a name need not exist in both parts. Empty: peft's defaults for each model type.
    target_modules: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        check_declared_ranges(self, "adapters.")
        bad = [m for m in self.target_modules if not isinstance(m, str) or not m.strip()]
        if bad:
            raise ValueError(f"adapters.target_modules must be module names (e.g. c_attn, q_proj), got {bad!r}")


@dataclass
class TransformerVAEConfig:
    # -- where the parts come from (read once, when the model is first built) --------------------------------------
    encoder: str | None = None  # pretrained encoder (AutoModel): a from_pretrained folder or Hub name; null: random, from encoder_config
    decoder: str | None = None  # pretrained causal LM (AutoModelForCausalLM): a folder or Hub name; null: random, from decoder_config
    decoder_gguf: str | None = None  # a GGUF file inside the decoder folder to load (de-quantised) instead of its weights
    tokenizer: str | None = None  # the data's pretrained tokenizer (data.options.pretrained_tokenizer); null: the decoder's, else the encoder's
    # -- the architecture: filled in from the pretrained parts when first built, recorded in model.json ----------
    # A Hugging Face config as a mapping with its model_type (e.g. {model_type: gpt2, n_embd: 256, n_layer: 4}).
    # Set, it is what is built, and the weights of `encoder`/`decoder` are not read (a run's come from its own file).
    encoder_config: dict[str, Any] | None = None  # HF config of the encoder
    decoder_config: dict[str, Any] | None = None  # HF config of the decoder
    tokenizer_json: str | None = None  # the data tokenizer's tokenizer.json text, recorded (null: sentae's own ids)
    encoder_tokenizer_json: str | None = None  # the encoder's tokenizer.json text, recorded when it is not the data's
    # -- the latent and how it enters the decoder ------------------------------------------------------------------
    latent_size: Annotated[int, Range(1)] = 32  # dimensions of the Gaussian code z
    pooling: Literal["mean", "first"] = "mean"  # encoder states -> one vector: masked mean, or the first ([CLS]) token
    z_memory: bool = True  # z -> keys and values of memory_length prefix positions in every decoder layer (Optimus)
    memory_length: Annotated[int, Range(1)] = 1  # prefix positions z is mapped to (z_memory)
    z_embedding: bool = True  # z -> a vector added to every decoder input embedding (Optimus' second scheme)
    # -- training ------------------------------------------------------------------------------------------------
    word_dropout: Annotated[float, Range(0, 1, high_open=True)] = 0.0  # probability of replacing a decoder input token by <unk>
    kl: KLSchedule = field(default_factory=KLSchedule)  # weight of the KL term over training
    free_bits: Annotated[float, Range(0)] = 0.0  # nats: KL below this is not penalised (0 = off; Optimus: 0.5 per dimension)
    free_bits_mode: Literal["per_dim", "total"] = "per_dim"  # per_dim: lambda per dimension (Kingma 2016); total: on the sum
    # Parameter names are the model's: encoder.*, decoder.* (the HF modules, e.g. decoder.transformer.h.3.*),
    # latent.*, to_memory.*, to_embedding.*; the latent maps are always trained.
    frozen: list[str] = field(default_factory=list)  # fnmatch patterns of parameters kept fixed, e.g. ["encoder.*"]
    trainable: list[str] = field(default_factory=list)  # patterns trained although frozen names them ("all but these layers")
    adapters: AdapterConfig = field(default_factory=AdapterConfig)  # LoRA through peft (target: none = off)

    def __post_init__(self) -> None:
        check_declared_ranges(self)
        if not (self.z_memory or self.z_embedding):
            raise ValueError("z reaches the decoder through nothing: set z_memory and/or z_embedding to true")
        for name in ("encoder_config", "decoder_config"):
            value = getattr(self, name)
            if value is not None and not isinstance(value.get("model_type"), str):
                raise ValueError(f"{name} needs its model_type (e.g. bert, gpt2, llama), got keys {sorted(value)}")
