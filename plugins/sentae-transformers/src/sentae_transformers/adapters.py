"""LoRA adapters on the encoder and/or decoder, through ``peft`` (the ``sentae-transformers[peft]`` extra).

The adapters are injected into the Hugging Face modules in place (``peft.inject_adapter_in_model``), not wrapped in
a ``PeftModel``: the decoder keeps its class and its ``forward``, so the decode step and its key/value cache
(``hf.CacheBridge``) work unchanged, and every parameter keeps a name under ``encoder.`` / ``decoder.``. An
adapted layer's weights move to ``<layer>.base_layer.*`` beside ``<layer>.lora_A.default.weight`` and
``<layer>.lora_B.default.weight`` (peft's names), and model.safetensors holds them unmerged: a run folder rebuilds
the same modules from its config, loads them by name, and can go on training.

``peft`` is imported inside these functions only, and only when a config asks for adapters.
"""
from __future__ import annotations

from typing import Any

from torch import nn

from .config import AdapterConfig

EXTRA = "sentae-transformers[peft]"
PARTS = {"encoder": ("encoder",), "decoder": ("decoder",), "both": ("encoder", "decoder"), "none": ()}


def adapted_parts(cfg: AdapterConfig) -> tuple[str, ...]:
    """The attribute names of the parts that get adapters (``encoder``, ``decoder``)."""
    return PARTS[cfg.target]


def is_adapter_parameter(name: str) -> bool:
    """Whether a parameter name is one of peft's LoRA weights (``...lora_A.default.weight`` and the like)."""
    return ".lora_" in name


def _peft() -> Any:
    try:
        import peft
    except ImportError:
        # a ValueError: the registry reports it as a config problem, with the fix, and no traceback
        raise ValueError(f"adapters (target: LoRA through peft) need the 'peft' package: "
                         f"pip install \"{EXTRA}\"") from None
    return peft


def _matches(name: str, targets: list[str]) -> bool:
    # peft's rule for a list of names: the whole module name or its last dotted parts
    return any(name == t or name.endswith("." + t) for t in targets)


def _adaptable_names(module: nn.Module) -> list[str]:
    """The distinct last names of the layers LoRA can adapt (linear, Conv1D, embedding): what an error lists."""
    kinds = (nn.Linear, nn.Embedding, nn.Conv1d, nn.Conv2d)
    names = {n.rsplit(".", 1)[-1] for n, m in module.named_modules()
             if n and (isinstance(m, kinds) or type(m).__name__ == "Conv1D")}
    return sorted(names)


def _targets(part: str, module: nn.Module, cfg: AdapterConfig) -> list[str]:
    if cfg.target_modules:
        return list(cfg.target_modules)
    from peft.utils import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as DEFAULTS

    model_type = getattr(getattr(module, "config", None), "model_type", None)
    names = DEFAULTS.get(model_type)
    if not names:
        raise ValueError(f"adapters.target_modules: peft has no default layers to adapt for the {part}'s model "
                         f"type {model_type!r}; name them, e.g. from {_adaptable_names(module)[:12]}")
    return list(names)


def add_adapters(model: nn.Module, cfg: AdapterConfig) -> list[str]:
    """Inject LoRA adapters into ``model.encoder`` and/or ``model.decoder`` as ``cfg`` says; returns the parts
    adapted. peft leaves only the adapters of an adapted part trainable; the caller's freezing rules run after."""
    parts = adapted_parts(cfg)
    if not parts:
        return []
    peft = _peft()
    for part in parts:
        module = getattr(model, part)
        targets = _targets(part, module, cfg)
        matched = [m for n, m in module.named_modules() if n and _matches(n, targets)]
        if not matched:
            raise ValueError(f"adapters.target_modules {targets} match no layer of the {part} "
                             f"({type(module).__name__}); its layers are named {_adaptable_names(module)[:16]}")
        # GPT-2's attention is a Conv1D, whose weight is stored transposed: peft must be told (else it warns and
        # guesses); a part mixing both kinds under the chosen names is not something peft can take in one config
        conv1d = {type(m).__name__ == "Conv1D" for m in matched}
        if len(conv1d) > 1:
            raise ValueError(f"adapters.target_modules {targets} name both Conv1D and Linear layers of the {part}; "
                             f"name layers of one kind")
        config = peft.LoraConfig(r=cfg.r, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout, target_modules=targets,
                                 fan_in_fan_out=conv1d.pop(), bias="none")
        try:
            peft.inject_adapter_in_model(config, module)
        except (ValueError, TypeError) as exc:  # a layer kind LoRA cannot adapt, a name peft refuses
            raise ValueError(f"adapters on the {part}: peft refused {targets} ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    return list(parts)
