"""Recipes: YAML (data only) -> validated sections, with ``--set a.b=c`` overrides.

A recipe has four sections: ``model`` (``type`` plus the variant's own fields), ``data`` (``DataConfig``, whose
``options`` are checked against the data source's options class), ``train`` (``TrainConfig``) and a ``name``.
Unknown keys, wrong types and missing required fields raise ``ConfigError`` naming the file, the key path and the
closest valid key. The validator itself is ``sentae.schema``; ``DataConfig`` and ``TrainConfig`` live beside the
data and training code (and are importable from here too).
"""
from __future__ import annotations

import dataclasses
import difflib
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .data import resolve_options, source_names
from .data.config import DataConfig
from .errors import ConfigError, SentaeError
from .schema import from_dict, reject_unknown
from .training.config import TrainConfig

__all__ = ["DataConfig", "ModelSection", "Recipe", "RecipeLoader", "TrainConfig", "apply_override",
           "build_model_config", "dump_yaml", "load_recipe", "parse_yaml", "recipe_from_dict"]


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
    reject_unknown(raw, allowed, where, "")
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
    if data.source not in source_names():
        close = difflib.get_close_matches(data.source, source_names(), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f" (known: {', '.join(source_names())})"
        raise ConfigError(f"{where}: unknown data source 'data.source: {data.source}'{hint}")
    # checked against the source's options class and written back with every default, as config show prints it
    data.options = resolve_options(data.source, data.options, where)
    return Recipe(name=name, model=ModelSection(model_type, model_cfg), data=data, train=train, source=where)


def build_model_config(cls: type, fields: dict[str, Any], where: str, prefix: str = "") -> Any:
    return from_dict(cls.config_class, fields, where, prefix)


def _deep_copy(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _deep_copy(v) for k, v in d.items()}
    if isinstance(d, list):
        return [_deep_copy(v) for v in d]
    return d


def dump_yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
