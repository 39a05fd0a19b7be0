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
import stat
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


# Bounds on what a recipe may be and expand to. YAML aliases share one node, so a few hundred bytes of nested
# aliases ("billion laughs") stand for billions of values once anything walks, copies or prints them; a recipe is
# refused before that. Real recipes are a few kilobytes, a few levels deep and use aliases rarely.
MAX_RECIPE_BYTES = 1 << 20  # bytes of a recipe file
MAX_DEPTH = 32  # levels of nested mappings and lists, counted after aliases are expanded
MAX_ALIASES = 256  # aliases (*name) in one document
MAX_NODES = 100_000  # values (mapping keys included) after aliases are expanded
MAX_CHARS = 1_000_000  # characters of all scalars after aliases are expanded

MERGE_TAG = "tag:yaml.org,2002:merge"


class RecipeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` (tags that would construct Python objects are refused, never run) that also reads
    ``1e-3`` as a number, as YAML 1.2 does, refuses a key given twice in one mapping, merges ``<<: *base`` keys
    as YAML 1.1 defines (a key written beside the merge wins), and refuses a document beyond the bounds above
    with a ``ConfigError`` naming ``where`` and the line."""

    def __init__(self, stream: str, where: str = "<yaml>") -> None:
        super().__init__(stream)
        self.where = where
        self._depth = 0
        self._aliases = 0

    def _refuse(self, what: str, mark) -> ConfigError:
        line = f"line {mark.line + 1}: " if mark is not None else ""
        return ConfigError(f"{self.where}: {line}{what}")

    def compose_node(self, parent, index):
        # The composer recurses once per level: bounding the depth here keeps a deeply nested document from
        # overflowing the stack, before any value is built.
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise self._refuse(f"more than {MAX_ALIASES} aliases (*name); a recipe may use at most {MAX_ALIASES}",
                                   self.peek_event().start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise self._refuse(f"nested deeper than {MAX_DEPTH} levels; a recipe may nest at most {MAX_DEPTH}",
                                   self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def get_single_node(self):
        node = super().get_single_node()
        if node is not None:
            self._check_expansion(node)
        return node

    def _check_expansion(self, root) -> None:
        """Refuse a document whose aliases expand past the bounds; each node is measured once (an alias reuses
        the node it names), so this costs as little as the document is long."""
        measured: dict[int, tuple[int, int, int]] = {}  # id(node) -> (values, characters, levels) when expanded
        open_nodes: set[int] = set()

        def measure(node, depth: int) -> tuple[int, int, int]:
            key = id(node)
            if key in open_nodes:
                raise self._refuse("an alias refers to a mapping or list that contains it", node.start_mark)
            if key not in measured:
                open_nodes.add(key)
                values, chars, levels = 1, 0, 0
                if isinstance(node, yaml.ScalarNode):
                    chars = len(node.value)
                else:
                    children = node.value if isinstance(node, yaml.SequenceNode) else [n for kv in node.value for n in kv]
                    for child in children:
                        v, c, lv = measure(child, depth + 1)
                        values, chars, levels = values + v, chars + c, max(levels, lv + 1)
                        if values > MAX_NODES:
                            raise self._refuse(f"the aliases expand to more than {MAX_NODES:,} values; a recipe may "
                                               f"hold at most {MAX_NODES:,}", node.start_mark)
                        if chars > MAX_CHARS:
                            raise self._refuse(f"the aliases expand to more than {MAX_CHARS:,} characters of text; a "
                                               f"recipe may hold at most {MAX_CHARS:,}", node.start_mark)
                open_nodes.discard(key)
                measured[key] = (values, chars, levels)
            values, chars, levels = measured[key]
            if depth + levels > MAX_DEPTH:
                raise self._refuse(f"the aliases expand to more than {MAX_DEPTH} nested levels; a recipe may nest at "
                                   f"most {MAX_DEPTH}", node.start_mark)
            return measured[key]

        measure(root, 1)

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            self._refuse_repeated_keys(node, deep)
            self.flatten_mapping(node)  # `<<: *base` first, so that the keys written beside it override base's
        return super().construct_mapping(node, deep=deep)

    def _refuse_repeated_keys(self, node, deep: bool) -> None:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                repeated = key in seen
            except TypeError:  # an unhashable key: construct_mapping refuses it with its own message
                continue
            if repeated:
                raise yaml.constructor.ConstructorError(None, None, f"key '{brief(key)}' appears twice",
                                                        key_node.start_mark)
            seen.add(key)


RecipeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def parse_yaml(text: str, where: str = "<yaml>") -> Any:
    """YAML data through ``RecipeLoader``: a ``ConfigError`` naming ``where`` beyond the bounds (or for a number
    Python will not read), ``yaml.YAMLError`` for text that is not YAML (see ``yaml_problem``)."""
    loader = RecipeLoader(text, where)
    try:
        return loader.get_single_data()
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise ConfigError(f"{where}: a value cannot be read: {brief(str(exc).split(';')[0])}") from None
    finally:
        loader.dispose()


def yaml_problem(exc: yaml.YAMLError) -> str:
    """A PyYAML error on one line: what is wrong and at which line and column (PyYAML's own text spans several
    lines and quotes the document)."""
    def at(mark) -> str:
        return f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""

    if isinstance(exc, yaml.MarkedYAMLError):
        parts = [f"{text}{at(mark)}" for text, mark in ((exc.context, exc.context_mark), (exc.problem, exc.problem_mark))
                 if text]
        if parts:
            return brief(": ".join(parts), 300)
    lines = str(exc).strip().splitlines()
    return brief(lines[0] if lines else type(exc).__name__, 300)


def brief(value: Any, limit: int = 80) -> str:
    """``value`` as text of at most ``limit`` characters (``...`` marks a cut), for error messages."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
        raw, where = _deep_copy(source, "<dict>"), "<dict>"
    else:
        path = Path(source)
        where = str(path)
        try:
            raw = parse_yaml(_read_recipe_text(path), where)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{where}: not valid YAML data: {yaml_problem(exc)}") from None
        if raw is None:
            raise ConfigError(f"{where}: the recipe is empty")
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: a recipe must be a mapping of sections, got {type(raw).__name__}")
    for item in overrides:
        apply_override(raw, item, where)
    return recipe_from_dict(raw, where, registry=registry)


def _read_recipe_text(path: Path) -> str:
    """The text of a recipe file: a regular UTF-8 file of at most ``MAX_RECIPE_BYTES``."""
    where = str(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ConfigError(f"recipe file not found: {where}") from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read the recipe ({exc.strerror})") from None
    if stat.S_ISDIR(mode):
        raise ConfigError(f"recipe file not found: {where}")  # a folder, not a recipe file
    if not stat.S_ISREG(mode):
        # Reading a named pipe or a device could block forever or never end.
        kind = "a named pipe" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
        raise ConfigError(f"{where} is not a regular file ({kind}); a recipe is a YAML file")
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_RECIPE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read the recipe ({exc.strerror})") from None
    if len(data) > MAX_RECIPE_BYTES:
        raise ConfigError(f"{where}: the file is larger than {MAX_RECIPE_BYTES // 1024} KiB, the most a recipe may be")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where}: not UTF-8 text ({exc})") from None


def apply_override(raw: dict[str, Any], item: str, where: str = "<overrides>") -> None:
    """Apply one ``a.b.c=value`` override in place; the value is parsed as YAML (``3``, ``null``, ``[1, 2]``),
    within the same bounds as a recipe."""
    key, sep, value = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"override '{brief(item)}' must look like section.key=value")
    if len(item.encode("utf-8", "surrogatepass")) > MAX_RECIPE_BYTES:
        raise ConfigError(f"override '{brief(item)}' is longer than {MAX_RECIPE_BYTES // 1024} KiB")
    parts = key.split(".")
    if len(parts) > MAX_DEPTH:
        raise ConfigError(f"override '{brief(item)}': a key path of more than {MAX_DEPTH} parts")
    try:
        parsed = parse_yaml(value, f"override '{brief(key)}'") if value.strip() else ""
    except yaml.YAMLError:
        parsed = value
    node = raw
    for i, part in enumerate(parts[:-1]):
        nxt = node.get(part)
        if nxt is None:
            nxt = node[part] = {}
        if not isinstance(nxt, dict):
            raise ConfigError(f"override '{brief(item)}': '{'.'.join(parts[: i + 1])}' is not a section")
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
    check_run_name(name, where)
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


# A run name becomes the folder runs/<name>: one path component of safe characters, so that no recipe can write
# outside runs/ (``../x``, ``/abs``) or into runs/ itself (an empty name).
RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def check_run_name(name: str, where: str = "<dict>") -> str:
    if not RUN_NAME.fullmatch(name) or name in (".", ".."):
        raise ConfigError(f"{where}: 'name' must be one folder name of letters, digits, '.', '_' and '-' "
                          f"(at most 128, not starting with '.', '_' or '-'), got {name!r}")
    return name


def build_model_config(cls: type, fields: dict[str, Any], where: str, prefix: str = "") -> Any:
    return from_dict(cls.config_class, fields, where, prefix)


def _deep_copy(d: Any, where: str) -> Any:
    """A copy of a recipe given as Python data, refused past the bounds a YAML recipe has (a dict may share or
    even contain itself, as aliases do)."""
    budget = [MAX_NODES]

    def copy(value: Any, depth: int) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise ConfigError(f"{where}: the recipe holds more than {MAX_NODES:,} values, the most a recipe may")
        if depth > MAX_DEPTH and isinstance(value, (dict, list)):
            raise ConfigError(f"{where}: the recipe nests deeper than {MAX_DEPTH} levels (or contains itself)")
        if isinstance(value, dict):
            return {k: copy(v, depth + 1) for k, v in value.items()}
        if isinstance(value, list):
            return [copy(v, depth + 1) for v in value]
        return value

    return copy(d, 1)


def dump_yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
