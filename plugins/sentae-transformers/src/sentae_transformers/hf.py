"""Everything that touches ``transformers``: building the encoder and the causal LM (pretrained or from a config),
recording their configs, and moving a decoder's key/value cache to and from sentae's batch-first decoder state.

``transformers`` is imported inside these functions only, so that listing or describing models stays cheap.
"""
from __future__ import annotations

import inspect
import json
from typing import Any

import torch
from torch import nn

from sentae import DataInfo

from .config import TransformerVAEConfig


def hf_config(recorded: dict[str, Any]) -> Any:
    """A ``PretrainedConfig`` from a mapping with its ``model_type`` (what :func:`record` gives)."""
    from transformers import AutoConfig

    fields = dict(recorded)
    model_type = fields.pop("model_type")
    fields.pop("transformers_version", None)
    return AutoConfig.for_model(model_type, **fields)


def record(config: Any) -> dict[str, Any]:
    """A config as plain JSON data, without where it was read from (a path of this machine)."""
    fields = json.loads(json.dumps(config.to_dict(), default=str))
    for key in ("_name_or_path", "transformers_version"):
        fields.pop(key, None)
    return fields


def build_encoder(cfg: TransformerVAEConfig, info: DataInfo) -> tuple[nn.Module, dict[str, Any]]:
    """The encoder (``AutoModel``) and its recorded config. From ``encoder_config`` when it is set (random
    weights: a reloaded run's come from its own weights file), else pretrained from ``encoder``. Built from a
    config without a pretrained source, it reads sentae's ids: its vocabulary is the data's."""
    from transformers import AutoModel

    if cfg.encoder_config is not None:
        config = hf_config(cfg.encoder_config)
        if cfg.encoder is None:
            config.vocab_size, config.pad_token_id = info.vocab_size, info.pad_id
        model = AutoModel.from_config(config, attn_implementation="sdpa")
    else:
        model = AutoModel.from_pretrained(cfg.encoder, attn_implementation="sdpa")
    if getattr(model, "pooler", None) is not None:
        model.pooler = None  # BERT's [CLS] pooler is not used (sentae pools itself) and would get no gradient
    return (model if model.dtype == torch.float32 else model.float()), record(model.config)


def build_decoder(cfg: TransformerVAEConfig, info: DataInfo) -> tuple[nn.Module, dict[str, Any]]:
    """The causal LM (``AutoModelForCausalLM``) and its recorded config, as :func:`build_encoder` does; a GGUF
    file is de-quantised to float weights by transformers (it needs the ``gguf`` and ``accelerate`` packages).
    Built from a config without a pretrained source, it reads and writes sentae's ids and specials."""
    from transformers import AutoModelForCausalLM

    if cfg.decoder_config is not None:
        config = hf_config(cfg.decoder_config)
        if cfg.decoder is None:
            config.vocab_size = info.vocab_size
            config.bos_token_id, config.eos_token_id, config.pad_token_id = info.bos_id, info.eos_id, info.pad_id
        model = AutoModelForCausalLM.from_config(config, attn_implementation="sdpa")
    else:
        extra = {"gguf_file": cfg.decoder_gguf} if cfg.decoder_gguf else {}
        model = AutoModelForCausalLM.from_pretrained(cfg.decoder, attn_implementation="sdpa", **extra)
    recorded = record(model.config)
    if cfg.decoder_gguf:
        recorded.pop("quantization_config", None)  # the GGUF weights are de-quantised: a reload is a float model
    # a de-quantised GGUF model is float32 already, and transformers refuses .float() on it
    return (model if model.dtype == torch.float32 else model.float()), recorded


def kv_layout(config: Any) -> tuple[int, int, int]:
    """(layers, key/value heads, head dimensions) of a decoder's attention: the shape of the memory z becomes."""
    heads = config.num_attention_heads
    kv_heads = getattr(config, "num_key_value_heads", None) or heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
    return config.num_hidden_layers, kv_heads, head_dim


def first_id(value: Any) -> int | None:
    """A config's token id, where some configs give a list (several eos tokens): the first."""
    if isinstance(value, (list, tuple)):
        return int(value[0]) if value else None
    return None if value is None else int(value)


class CacheBridge:
    """A transformers key/value cache <-> sentae's decoder state ``{"k0": [B, heads, S, D], "v0": ..., ...}``.

    sentae's decoding keeps every state tensor batch-first so that beam search reorders and shrinks them with
    ``index_select(0, ...)``; transformers keeps them in a ``DynamicCache`` object. Each step wraps the state's
    tensors in a cache (no copy), and reads the grown tensors back.
    """

    def __init__(self, lm: nn.Module, layers: int) -> None:
        self.layers = layers
        # transformers 5.x renamed the forward argument past_key_values to cache
        self.argument = "cache" if "cache" in inspect.signature(lm.forward).parameters else "past_key_values"

    def to_cache(self, state: dict[str, torch.Tensor]) -> Any:
        from transformers import DynamicCache

        if "k0" not in state:
            return DynamicCache()
        return DynamicCache(ddp_cache_data=[(state[f"k{i}"], state[f"v{i}"]) for i in range(self.layers)])

    def to_state(self, cache: Any) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        for i, layer in enumerate(cache.layers):
            out[f"k{i}"], out[f"v{i}"] = layer.keys, layer.values
        return out

    def cache_of(self, output: Any) -> Any:
        cache = output.get("cache")
        return cache if cache is not None else output.get("past_key_values")
