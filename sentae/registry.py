"""Model registry: entry-point discovery, did-you-mean, plugin API checks and broken-plugin isolation.

Variants are found through the ``sentae.models`` entry-point group. Listing reads only distribution metadata,
so it imports no plugin; a variant's module is imported the first time it is needed (``get``/``create``/
``info``), and a plugin that fails to import is recorded as broken without affecting any other model.
"""
from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import os
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from .errors import ConfigError, PluginError, UnknownModelError

ENTRY_POINT_GROUP = "sentae.models"
# Plugin API versions this sentae provides. A plugin declares the one it targets (``sentae_api`` on its class).
PLUGIN_API_VERSION = 1
SUPPORTED_PLUGIN_APIS = frozenset({1})
AUTOLOAD_ENV = "SENTAE_DISABLE_PLUGIN_AUTOLOAD"


def autoload_disabled() -> bool:
    """Whether entry-point discovery is switched off: ``SENTAE_DISABLE_PLUGIN_AUTOLOAD`` set to 1, true or yes
    (any case). The one place that reads the variable, so every message agrees with what discovery did."""
    return os.environ.get(AUTOLOAD_ENV, "").strip().lower() in {"1", "true", "yes"}


@dataclass
class ModelEntry:
    """One registered model: where it comes from and, once imported, its class."""

    name: str
    target: str  # "module:attribute"
    distribution: str  # distribution name, or "<local>" for in-process registration
    version: str
    cls: type | None = None
    error: str | None = None  # first line of the import error, when the plugin is broken
    conflicts: list[ModelEntry] = field(default_factory=list)  # other distributions claiming the name

    @property
    def status(self) -> str:
        if self.conflicts:
            return "conflict"
        if self.error:
            return "broken"
        return "ok" if self.cls is not None else "not loaded"

    @property
    def origin(self) -> str:
        return f"{self.distribution} {self.version}".strip()


def _first_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text.splitlines()[0] if text else type(exc).__name__


class Registry:
    """Names to model classes. ``sentae.registry.REGISTRY`` is the process-wide instance."""

    def __init__(self, group: str = ENTRY_POINT_GROUP) -> None:
        self.group = group
        self._entries: dict[str, ModelEntry] = {}
        self._discovered = False

    # -- discovery -------------------------------------------------------------------------------------------
    def discover(self, force: bool = False) -> None:
        """Read the entry-point group once (imports nothing). ``force`` re-reads it, e.g. after an install."""
        if self._discovered and not force:
            return
        self._discovered = True
        if force:
            self._entries = {k: v for k, v in self._entries.items() if v.distribution == "<local>"}
        if autoload_disabled():
            return
        seen: set[tuple[str, str, str]] = set()
        for dist in metadata.distributions():
            dist_name = dist.metadata["Name"] or "?"
            for ep in dist.entry_points:
                if ep.group != self.group:
                    continue
                key = (ep.name, dist_name, ep.value)
                # The same distribution can be visible twice on sys.path (e.g. editable + build dir).
                if key in seen:
                    continue
                seen.add(key)
                self._add(ModelEntry(ep.name, ep.value, dist_name, dist.version or ""))

    def _add(self, entry: ModelEntry) -> None:
        existing = self._entries.get(entry.name)
        if existing is None:
            self._entries[entry.name] = entry
        elif existing.distribution != entry.distribution or existing.target != entry.target:
            existing.conflicts.append(entry)

    def register(self, cls: type | None = None, *, name: str | None = None):
        """Register a model class in-process (tests, notebooks). Usable as a decorator."""

        def deco(c: type) -> type:
            reg_name = name or getattr(c, "name", "") or c.__name__
            self.discover()
            entry = ModelEntry(reg_name, f"{c.__module__}:{c.__qualname__}", "<local>", "")
            existing = self._entries.get(reg_name)
            if existing is not None and existing.cls is not c:
                raise PluginError(
                    f"model name '{reg_name}' is already registered by {existing.origin} ({existing.target}); "
                    f"cannot register {entry.target} under the same name"
                )
            if isinstance(c, type) and not getattr(c, "name", ""):
                c.name = reg_name  # a class without a name takes the one it is registered under
            _check_model_class(c, entry)
            entry.cls = c
            self._entries[reg_name] = entry
            return c

        return deco(cls) if cls is not None else deco

    def unregister(self, name: str) -> None:
        self._entries.pop(name, None)

    # -- queries ---------------------------------------------------------------------------------------------
    def entries(self, pattern: str | None = None, modality: str | None = None) -> list[ModelEntry]:
        """Entries whose name matches the glob ``pattern`` (or contains it), sorted by name. Imports nothing,
        unless ``modality`` ("text" or "image") asks for it: then every plugin is imported to read it, and broken
        ones are left out."""
        self.discover()
        if modality is not None:
            self.load_all()
        out = list(self._entries.values())
        if pattern:
            glob = pattern if any(ch in pattern for ch in "*?[") else f"*{pattern}*"
            out = [e for e in out if fnmatch.fnmatch(e.name, glob)]
        if modality is not None:
            out = [e for e in out if e.cls is not None and e.cls.modality == modality]
        return sorted(out, key=lambda e: e.name)

    def for_role(self, role: str) -> str:
        """The name of the installed model that declares ``role`` (see ``SentaeModel.roles``); an error when none
        or several do. Imports the plugins."""
        found = [e.name for e in self.load_all() if e.cls is not None and role in getattr(e.cls, "roles", ())]
        if not found:
            raise PluginError(f"no installed model serves as '{role}' (a model declares it in its `roles`); "
                              f"install a plugin that provides one, e.g. sentae-text")
        if len(found) > 1:
            raise PluginError(f"several installed models serve as '{role}': {', '.join(found)}; name one explicitly")
        return found[0]

    def describe(self, name: str) -> dict[str, Any]:
        """Everything ``sentae info`` shows about model ``name``, as plain data: origin, modality, summary, paper
        and one row per config field (nested settings flattened to ``a.b``) with type, default, declared range
        (``"at least 1"``; empty for a field that holds no number) and help."""
        import typing

        from .schema import declared_ranges
        from .utils import field_help, type_name

        cls = self.get(name)
        entry = self.entry(name)
        rows: list[dict[str, Any]] = []

        def add_rows(config_class: type, prefix: str) -> None:
            helps = field_help(config_class)
            hints = typing.get_type_hints(config_class)
            ranges = declared_ranges(config_class)
            for f in dataclasses.fields(config_class):
                hint = hints.get(f.name, f.type)
                if dataclasses.is_dataclass(hint):  # nested settings (e.g. the KL schedule) get one row per field
                    add_rows(hint, f"{prefix}{f.name}.")
                    continue
                if f.default is not dataclasses.MISSING:
                    default: Any = f.default
                elif f.default_factory is not dataclasses.MISSING:
                    default = f.default_factory()
                else:
                    default = "(required)"
                valid = str(ranges[f.name]) if ranges.get(f.name) is not None else ""
                if valid and {list, tuple} & {typing.get_origin(a) for a in (hint, *typing.get_args(hint))}:
                    valid = f"each {valid}"  # a range on a list bounds its items
                rows.append({"field": prefix + f.name, "type": type_name(hint), "default": default, "range": valid,
                             "help": helps.get(f.name, "")})

        add_rows(cls.config_class, "")
        doc = (cls.__doc__ or "").strip().splitlines()
        return {"name": name, "origin": entry.origin, "target": entry.target, "distribution": entry.distribution,
                "version": entry.version, "modality": cls.modality, "summary": doc[0] if doc else "",
                "paper": cls.paper, "roles": list(getattr(cls, "roles", ())), "fields": rows}

    def names(self) -> list[str]:
        return [e.name for e in self.entries()]

    def load_all(self) -> list[ModelEntry]:
        """Import every plugin (isolating failures) and return all entries with status filled in."""
        for entry in self.entries():
            if not entry.conflicts:
                self._load(entry, raise_errors=False)
        return self.entries()

    def broken(self) -> list[ModelEntry]:
        return [e for e in self.load_all() if e.status == "broken"]

    def entry(self, name: str) -> ModelEntry:
        self.discover()
        entry = self._entries.get(name)
        if entry is None:
            raise UnknownModelError(self._unknown_message(name))
        return entry

    def get(self, name: str) -> type:
        """The model class registered as ``name``, importing its plugin if needed."""
        entry = self.entry(name)
        if entry.conflicts:
            claims = ", ".join(f"{e.origin} ({e.target})" for e in [entry, *entry.conflicts])
            raise PluginError(
                f"model name '{name}' is registered by more than one plugin: {claims}; uninstall one of them"
            )
        cls = self._load(entry, raise_errors=True)
        assert cls is not None
        return cls

    def create(self, name: str, data_info: Any = None, **overrides: Any):
        """Build model ``name`` with its default config updated by ``overrides`` (validated)."""
        from .schema import from_dict

        cls = self.get(name)
        cfg = from_dict(cls.config_class, overrides, f"model '{name}'")
        info = data_info if data_info is not None else cls.default_data_info()
        try:
            return cls(cfg, info)
        except ValueError as exc:  # a config that is valid field by field but does not fit the data (or itself)
            raise ConfigError(f"model '{name}': {exc}") from None

    # -- internals -------------------------------------------------------------------------------------------
    def _load(self, entry: ModelEntry, raise_errors: bool) -> type | None:
        if entry.cls is not None:
            return entry.cls
        if entry.error is None:
            try:
                module_name, _, attr = entry.target.partition(":")
                import importlib

                obj: Any = importlib.import_module(module_name)
                for part in filter(None, attr.split(".")):
                    obj = getattr(obj, part)
                _check_model_class(obj, entry)
                entry.cls = obj
            except PluginError as exc:
                entry.error = str(exc)
            except (Exception, SystemExit) as exc:  # a broken plugin must not take the others down
                entry.error = _first_line(exc)
        if entry.error is not None:
            if raise_errors:
                raise PluginError(
                    f"model '{entry.name}' from {entry.origin} is broken: {entry.error} (entry point {entry.target})"
                )
            return None
        return entry.cls

    def _unknown_message(self, name: str) -> str:
        names = self.names()
        msg = f"unknown model '{name}'"
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
        if close:
            msg += f"; did you mean '{close[0]}'?"
        dists = sorted({e.origin for e in self._entries.values() if e.distribution != "<local>"})
        if dists:
            msg += f"\ninstalled plugin distributions: {', '.join(dists)}"
        else:
            msg += "\nno model plugins are installed"
            if autoload_disabled():
                msg += f" (discovery is off: {AUTOLOAD_ENV} is set)"
        msg += "\n(`sentae list` shows every model)"
        return msg


def _check_model_class(obj: Any, entry: ModelEntry) -> None:
    from .model import SentaeModel

    if not (isinstance(obj, type) and issubclass(obj, SentaeModel)):
        raise PluginError(f"{entry.target} is not a sentae.SentaeModel subclass")
    if not dataclasses.is_dataclass(getattr(obj, "config_class", None)):
        raise PluginError(f"{entry.target} has no dataclass `config_class`")
    if getattr(obj, "name", None) != entry.name:
        # run folders record the class's name; a different registered name could not be loaded back
        raise PluginError(
            f"{entry.target} is registered as '{entry.name}' but its `name` is {getattr(obj, 'name', None)!r}; "
            f"make them equal"
        )
    api = getattr(obj, "sentae_api", None)
    if api is None:
        raise PluginError(
            f"{entry.target} does not declare the plugin API it targets (set `sentae_api = {PLUGIN_API_VERSION}`)"
        )
    if not isinstance(api, int) or isinstance(api, bool):
        raise PluginError(f"{entry.target}: `sentae_api` must be an integer such as {PLUGIN_API_VERSION}, got {api!r}")
    if api not in SUPPORTED_PLUGIN_APIS:
        from .version import __version__

        if api > PLUGIN_API_VERSION:
            hint = f"upgrade sentae (this is sentae {__version__}, plugin API {PLUGIN_API_VERSION})"
        else:
            owner = entry.target.split(":")[0] if entry.distribution == "<local>" else entry.distribution
            hint = f"upgrade {owner} to a release written for plugin API {PLUGIN_API_VERSION}"
        raise PluginError(f"targets sentae plugin API {api}, which sentae {__version__} does not provide: {hint}")


REGISTRY = Registry()
register = REGISTRY.register
