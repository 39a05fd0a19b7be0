"""Typed recipe configs: YAML (data only) -> validated dataclasses, with ``--set a.b=c`` overrides.

A recipe has four sections: ``model`` (``type`` plus the variant's own fields), ``data``, ``train`` and a
``name``. Unknown keys, wrong types and missing required fields raise ``ConfigError`` naming the file, the key
path and the closest valid key.
"""
from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from .errors import ConfigError, SentaeError

MISSING = dataclasses.MISSING


class RecipeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` (tags that would construct Python objects are refused, never run) that also reads
    ``1e-3`` as a number, as YAML 1.2 does, and refuses a key given twice in one mapping."""

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key '{key}' appears twice (line {key_node.start_mark.line + 1})", key_node.start_mark)
            seen[key] = True
        return super().construct_mapping(node, deep=deep)


RecipeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def parse_yaml(text: str) -> Any:
    return yaml.load(text, Loader=RecipeLoader)  # noqa: S506 -- RecipeLoader is a SafeLoader


@dataclass
class DataConfig:
    source: str = "digits"  # a registered data source: digits, mnist, image_folder, text, ptb, yelp, rt_polarity, reviews, hf
    path: str | None = None  # file or folder for sources read from disk; relative to $SENTAE_DATA_DIR if set
    val_fraction: float = 0.1  # share of the training pool held out for validation, in [0, 1)
    test_fraction: float = 0.1  # share held out as the test split, in [0, 1); ignored where a source has one
    split_seed: int = 0  # seed of the fixed random split
    limit: int | None = None  # keep only the first N examples (quick runs)
    options: dict[str, Any] = field(default_factory=dict)  # source-specific settings, validated by the source


@dataclass
class TrainConfig:
    max_steps: int = 1000  # optimizer steps in total
    max_time_s: float | None = None  # wall-clock budget of this process's training loop, in seconds (null: none)
    batch_size: int = 32  # examples per micro-batch (per process under torchrun)
    lr: float = 1e-3  # learning rate of every optimizer
    weight_decay: float = 0.0
    warmup_steps: int = 0  # linear learning-rate warm-up, in steps
    lr_decay: Literal["none", "cosine", "linear"] = "none"  # after warm-up, lr falls to lr * lr_final by max_steps
    lr_final: float = 0.0  # the decay's end point, as a fraction of lr, in [0, 1]
    grad_accum: int = 1  # micro-batches per optimizer step
    clip_norm: float | None = 1.0  # max global gradient norm per optimizer; null turns clipping off
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    device: str = "auto"  # auto (cuda if available, else cpu), cpu, cuda, cuda:1, ...
    seed: int = 0
    log_every: int = 10  # steps between train-metric lines
    eval_every: int = 200  # steps between validations (0: only at the end)
    ckpt_every: int = 200  # steps between checkpoints (0: only at the end)
    keep_last: int = 2  # checkpoints kept on disk
    early_stop_metric: str | None = None  # a validation metric, e.g. "val/loss"
    early_stop_mode: Literal["min", "max"] = "min"
    early_stop_patience: int | None = None  # validations without improvement before stopping
    max_nonfinite: int = 5  # non-finite losses in a row before training stops
    progress: Literal["auto", "bar", "log", "none"] = "auto"  # auto: a bar on a terminal, log lines otherwise
    threads: int | None = None  # CPU threads for torch ops (null: torch's default, one per core); 1 suits small models


@dataclass
class ModelSection:
    type: str
    config: Any = None  # the variant's config dataclass, resolved through the registry


@dataclass
class Recipe:
    name: str
    model: ModelSection
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    source: str = "<dict>"  # where the recipe came from (for messages)

    def to_dict(self) -> dict[str, Any]:
        model = {"type": self.model.type, **dataclasses.asdict(self.model.config)}
        return {
            "name": self.name,
            "model": model,
            "data": dataclasses.asdict(self.data),
            "train": dataclasses.asdict(self.train),
        }


# --------------------------------------------------------------------------------------------------------------
# loading


def load_recipe(
    source: str | Path | dict[str, Any], overrides: typing.Sequence[str] = (), *, registry=None
) -> Recipe:
    """Read a recipe (path or dict), apply ``a.b=c`` overrides and validate everything.

    >>> recipe = load_recipe("recipes/mlp_vae_digits.yaml", ["train.max_steps=10"])  # doctest: +SKIP
    """
    if isinstance(source, dict):
        raw, where = _deep_copy(source), "<dict>"
    else:
        path = Path(source)
        where = str(path)
        if not path.is_file():
            raise ConfigError(f"recipe file not found: {where}")
        try:
            raw = parse_yaml(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{where}: not valid YAML data: {exc}") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{where}: not UTF-8 text ({exc})") from None
        if raw is None:
            raise ConfigError(f"{where}: the recipe is empty")
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: a recipe must be a mapping of sections, got {type(raw).__name__}")
    for item in overrides:
        apply_override(raw, item, where)
    return recipe_from_dict(raw, where, registry=registry)


def apply_override(raw: dict[str, Any], item: str, where: str = "<overrides>") -> None:
    """Apply one ``a.b.c=value`` override in place; the value is parsed as YAML (``3``, ``null``, ``[1, 2]``)."""
    key, sep, value = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"override '{item}' must look like section.key=value")
    try:
        parsed = parse_yaml(value) if value.strip() else ""
    except yaml.YAMLError:
        parsed = value
    node = raw
    parts = key.split(".")
    for i, part in enumerate(parts[:-1]):
        nxt = node.get(part)
        if nxt is None:
            nxt = node[part] = {}
        if not isinstance(nxt, dict):
            raise ConfigError(f"override '{item}': '{'.'.join(parts[: i + 1])}' is not a section")
        node = nxt
    node[parts[-1]] = parsed


def recipe_from_dict(raw: dict[str, Any], where: str = "<dict>", *, registry=None) -> Recipe:
    from .registry import REGISTRY

    registry = registry or REGISTRY
    allowed = {"name", "model", "data", "train"}
    _reject_unknown(raw, allowed, where, "")
    if "model" not in raw:
        raise ConfigError(f"{where}: missing required section 'model'")
    model_raw = raw["model"]
    if not isinstance(model_raw, dict):
        raise ConfigError(f"{where}: 'model' must be a mapping")
    if "type" not in model_raw:
        raise ConfigError(f"{where}: missing required key 'model.type' (the registered model name)")
    model_type = model_raw["type"]
    if not isinstance(model_type, str):
        raise ConfigError(f"{where}: 'model.type' must be a string")
    try:
        cls = registry.get(model_type)
    except SentaeError as exc:
        raise type(exc)(f"{where}: 'model.type': {exc}") from None
    fields = {k: v for k, v in model_raw.items() if k != "type"}
    model_cfg = build_model_config(cls, fields, where=where, prefix="model.")
    name = raw.get("name")
    if name is None:
        name = Path(where).stem if where != "<dict>" else model_type
    if not isinstance(name, str):
        raise ConfigError(f"{where}: 'name' must be a string")
    # Only an absent or null section means "all defaults"; [] or 0 is a type error that from_dict reports.
    data = from_dict(DataConfig, {} if raw.get("data") is None else raw["data"], where, "data.")
    train = from_dict(TrainConfig, {} if raw.get("train") is None else raw["train"], where, "train.")
    _check_train(train, where)
    from .data import source_names

    if data.source not in source_names():
        close = difflib.get_close_matches(data.source, source_names(), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f" (known: {', '.join(source_names())})"
        raise ConfigError(f"{where}: unknown data source 'data.source: {data.source}'{hint}")
    return Recipe(name=name, model=ModelSection(model_type, model_cfg), data=data, train=train, source=where)


def build_model_config(cls: type, fields: dict[str, Any], where: str, prefix: str = "") -> Any:
    return from_dict(cls.config_class, fields, where, prefix)


def from_dict(cls: type, raw: Any, where: str, prefix: str = "") -> Any:
    """Build dataclass ``cls`` from ``raw``, checking keys and types; errors name ``where`` and the key path."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: '{prefix.rstrip('.') or 'recipe'}' must be a mapping, got {_tname(raw)}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    _reject_unknown(raw, set(fields), where, prefix)
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, f in fields.items():
        if name in raw:
            kwargs[name] = _coerce(raw[name], hints[name], where, prefix + name)
        elif f.default is MISSING and f.default_factory is MISSING:
            raise ConfigError(f"{where}: missing required key '{prefix}{name}'")
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as exc:  # range checks in the dataclass's __post_init__
        raise ConfigError(f"{where}: '{prefix.rstrip('.') or 'recipe'}': {exc}") from None


def _reject_unknown(raw: dict[str, Any], allowed: set[str], where: str, prefix: str) -> None:
    for key in raw:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), sorted(allowed), n=1, cutoff=0.5)
            hint = f"; did you mean '{prefix}{close[0]}'?" if close else f"; valid keys: {', '.join(sorted(allowed))}"
            raise ConfigError(f"{where}: unknown key '{prefix}{key}'{hint}")


def _tname(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _coerce(value: Any, hint: Any, where: str, path: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    bad = ConfigError(f"{where}: '{path}' must be {_describe(hint)}, got {value!r} ({_tname(value)})")
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where, path)
            except ConfigError:
                continue
        raise bad
    if origin is Literal:
        if value in args:
            return value
        close = difflib.get_close_matches(str(value), [str(a) for a in args], n=1)
        extra = f"; did you mean '{close[0]}'?" if close else ""
        raise ConfigError(f"{where}: '{path}' must be one of {', '.join(map(str, args))}, got {value!r}{extra}")
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise bad
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise bad
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise bad
    if hint is str:
        if isinstance(value, str):
            return value
        raise bad
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise bad
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise bad
            return tuple(_coerce(v, a, where, f"{path}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
        item = args[0] if args else Any
        items = [_coerce(v, item, where, f"{path}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise bad
        val_t = args[1] if len(args) == 2 else Any
        return {str(k): _coerce(v, val_t, where, f"{path}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, where, path + ".")
    raise ConfigError(f"{where}: '{path}' has an unsupported type {hint}")


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in args)
    if hint is type(None):
        return "null"
    if origin is list:
        return f"a list of {_describe(args[0]) if args else 'values'}"
    if origin is dict:
        return "a mapping"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(hint, str(hint))


def _check_train(t: TrainConfig, where: str) -> None:
    positive = ["max_steps", "batch_size", "grad_accum", "log_every", "keep_last", "max_nonfinite"]
    for name in positive:
        if getattr(t, name) < 1:
            raise ConfigError(f"{where}: 'train.{name}' must be at least 1, got {getattr(t, name)}")
    for name in ["eval_every", "ckpt_every", "warmup_steps"]:
        if getattr(t, name) < 0:
            raise ConfigError(f"{where}: 'train.{name}' must be 0 or more, got {getattr(t, name)}")
    if t.lr <= 0:
        raise ConfigError(f"{where}: 'train.lr' must be positive, got {t.lr}")
    if not 0 <= t.lr_final <= 1:
        raise ConfigError(f"{where}: 'train.lr_final' must be in [0, 1], got {t.lr_final}")
    if t.threads is not None and t.threads < 1:
        raise ConfigError(f"{where}: 'train.threads' must be at least 1 (or null), got {t.threads}")
    if t.early_stop_patience is not None and t.early_stop_metric is None:
        raise ConfigError(f"{where}: 'train.early_stop_patience' needs 'train.early_stop_metric'")


def _deep_copy(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _deep_copy(v) for k, v in d.items()}
    if isinstance(d, list):
        return [_deep_copy(v) for v in d]
    return d


def dump_yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
