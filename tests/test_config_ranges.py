"""Every numeric field of every config declares its range, and a value just outside it is refused.

The fields are found by walking the configs (every registered model's, nested settings included, the train and
data sections, every data source's options and the decoding options), so a new field is covered without new test
code, and a new number without a declared range fails here.
"""
from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass
from typing import Annotated, Any

import pytest

import sentae
from sentae.config import load_recipe
from sentae.data.config import DataConfig
from sentae.data.sources import get_source, source_names
from sentae.errors import ConfigError, SentaeError
from sentae.generation.decoding import DecodeConfig
from sentae.registry import REGISTRY
from sentae.schema import ANY_VALUE, Range, check_declared_ranges, declared_ranges, from_dict, is_numeric
from sentae.training.config import TrainConfig


@dataclass(frozen=True)
class Case:
    """One numeric field reached from a recipe: where it is, how to write a recipe that holds it, its range."""

    path: str  # key path in a recipe, e.g. model.kl.cycles (decoding options: the option's name)
    owner: type  # the dataclass that declares the field
    name: str
    hint: Any  # the field's type, Annotated included
    default: Any
    base: dict | None  # the recipe the value is set in (None: DecodeConfig, which no recipe holds)

    @property
    def declared(self) -> Range | None:
        return declared_ranges(self.owner)[self.name]

    @property
    def is_float(self) -> bool:
        return float in _leaves(self.hint)

    @property
    def is_list(self) -> bool:
        return any(typing.get_origin(a) in (list, tuple) for a in (_bare(self.hint), *typing.get_args(_bare(self.hint))))

    def __str__(self) -> str:
        return self.path if self.base is None or not self.path.startswith("model.") else \
            f"{self.base['model']['type']}:{self.path}"


def _bare(hint: Any) -> Any:
    return typing.get_args(hint)[0] if typing.get_origin(hint) is Annotated else hint


def _leaves(hint: Any) -> set:
    hint = _bare(hint)
    args = typing.get_args(hint)
    return {hint} if not args else set().union(*(_leaves(a) for a in args if a is not Ellipsis))


def _default(f: dataclasses.Field) -> Any:
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def walk(cls: type, prefix: str, base: dict | None) -> list[Case]:
    hints = typing.get_type_hints(cls, include_extras=True)
    cases = []
    for f in dataclasses.fields(cls):
        if dataclasses.is_dataclass(_bare(hints[f.name])):
            cases += walk(_bare(hints[f.name]), f"{prefix}{f.name}.", base)
        elif is_numeric(hints[f.name]):
            cases.append(Case(prefix + f.name, cls, f.name, hints[f.name], _default(f), base))
    return cases


def all_cases() -> list[Case]:
    image = {"model": {"type": "mlp_vae"}}
    cases = []
    for name in MODELS:
        cases += walk(REGISTRY.get(name).config_class, "model.", {"model": {"type": name}})
    # early_stop_patience needs a metric to watch; giving one changes no other field's range
    cases += walk(TrainConfig, "train.", {**image, "train": {"early_stop_metric": "val/loss"}})
    cases += walk(DataConfig, "data.", image)
    seen: set[type] = set()
    for source in source_names():
        options = get_source(source).options
        if options is None or options in seen:
            continue
        seen.add(options)
        required = {"hf_dataset": "json"} if source == "hf" else {}  # the hf source needs a dataset to load a recipe
        cases += walk(options, "data.options.", {**image, "data": {"source": source, "options": required}})
    cases += walk(DecodeConfig, "", None)
    return cases


MODELS = [entry.name for entry in sentae.list_models()]
CASES = all_cases()


def outside(case: Case) -> list[Any]:
    """Values just outside the declared range: at or past each bound, and NaN and infinities for a float."""
    r = case.declared
    values: list[Any] = []
    if r.low is not None:
        values.append(r.low if r.low_open else (math.nextafter(r.low, -math.inf) if case.is_float else r.low - 1))
    if r.high is not None:
        values.append(r.high if r.high_open else (math.nextafter(r.high, math.inf) if case.is_float else r.high + 1))
    if case.is_float:
        values += [math.nan, math.inf, -math.inf]
    elif r.low is None or r.high is None:
        values.append(2**64 if r.high is None else -(2**64))  # beyond what torch and numpy can hold
    return values


def inside(case: Case) -> list[Any]:
    """Values just inside each end of the declared range."""
    r = case.declared
    if r == ANY_VALUE:
        return [-2.5, 0.0, 2.5] if case.is_float else [-3, 0]
    values = []
    if r.low is not None:
        values.append(math.nextafter(r.low, math.inf) if r.low_open and case.is_float else r.low + r.low_open)
    if r.high is not None:
        values.append(math.nextafter(r.high, -math.inf) if r.high_open and case.is_float else r.high - r.high_open)
    return values


def as_field_value(case: Case, value: Any) -> Any:
    if not case.is_list:
        return value
    items = list(case.default) if case.default else [inside(case)[0]] * 2  # [height, width]-like lists need two
    return [value, *items[1:]]


def yaml_text(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(map(yaml_text, value)) + "]"
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
    return repr(value)  # repr round-trips a float exactly, so "just outside" stays outside


def load(case: Case, value: Any):
    """``value`` set as the user would: a ``--set`` override on a recipe (decoding options: in Python)."""
    if case.base is None:
        return DecodeConfig(**{case.name: as_field_value(case, value)})
    return load_recipe(case.base, [f"{case.path}={yaml_text(as_field_value(case, value))}"])


def _with_range(cases: list[Case], values) -> list:
    return [pytest.param(c, v, id=f"{c}={yaml_text(v)}") for c in cases if c.declared is not None for v in values(c)]


def test_the_walk_reaches_every_kind_of_config():
    paths = {str(c) for c in CASES}
    assert {"train.clip_norm", "train.seed", "data.limit", "data.options.size", "data.options.vocab_size",
            "mlp_vae:model.latent_size", "rnn_vae:model.kl.cycles", "rnn_vae:model.softmax.cutoffs",
            "dae:model.noise.drop", "conv_ae:model.channels", "top_p", "length_penalty"} <= paths
    assert {c.base["model"]["type"] for c in CASES if c.path.startswith("model.")} == set(MODELS)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_every_numeric_field_declares_a_range(case):
    assert case.declared is not None, (
        f"{case.owner.__name__}.{case.name} holds a number but declares no range: give it "
        f"Annotated[{case.hint}, Range(low, high)] (or ANY_VALUE, with a comment saying why every value is meaningful)")


@pytest.mark.parametrize("case, value", _with_range(CASES, outside))
def test_a_value_outside_the_range_is_refused_naming_the_field(case, value):
    expected = ConfigError if case.base is not None else SentaeError
    with pytest.raises(expected) as err:
        load(case, value)
    msg = str(err.value)
    if case.base is None:
        assert f"'{case.name}'" in msg, msg
    else:
        item = "[0]" if case.is_list else ""
        assert msg.startswith(f"<dict>: '{case.path}{item}' must be "), msg


@pytest.mark.parametrize("case, value", _with_range(CASES, inside))
def test_a_value_inside_the_range_passes(case, value):
    loaded = load(case, value)
    if case.base is not None:  # the value reached the resolved recipe unchanged
        node: Any = loaded.to_dict()
        for part in case.path.split("."):
            node = node[part]
        assert node == as_field_value(case, value)


@pytest.mark.parametrize("case, value", _with_range([c for c in CASES if c.default is not None], outside))
def test_a_config_built_in_python_is_checked_too(case, value):
    with pytest.raises((ValueError, SentaeError), match=rf"\b{case.name}\b"):
        case.owner(**{case.name: as_field_value(case, value)})


# --------------------------------------------------------------------------------------------------------------
# the schema pieces, on configs of their own


def test_a_number_without_a_declaration_is_found_and_still_must_be_finite():
    @dataclass
    class Loose:
        rate: float = 0.5
        steps: Annotated[int, Range(1)] = 3
        name: str = "x"

    assert declared_ranges(Loose) == {"rate": None, "steps": Range(1)}  # name holds no number
    with pytest.raises(ConfigError, match=r"^f.yaml: 'loose.rate' must be a finite number, got nan$"):
        from_dict(Loose, {"rate": math.nan}, "f.yaml", "loose.")
    assert from_dict(Loose, {"rate": -7.0}, "f.yaml", "loose.").rate == -7.0


def test_range_checks_name_the_file_and_key_and_say_null_is_allowed():
    @dataclass
    class Clip:
        norm: Annotated[float | None, Range(0, low_open=True)] = 1.0
        sizes: Annotated[list[int], Range(1, 9)] = dataclasses.field(default_factory=list)

        def __post_init__(self) -> None:
            check_declared_ranges(self, "clip.")

    with pytest.raises(ConfigError, match=r"^x.yaml: 'clip.norm' must be above 0 \(or null\), got -1$"):
        from_dict(Clip, {"norm": -1}, "x.yaml", "clip.")
    with pytest.raises(ConfigError, match=r"^x.yaml: 'clip.norm' must be a finite number, got inf$"):
        from_dict(Clip, {"norm": math.inf}, "x.yaml", "clip.")
    with pytest.raises(ConfigError, match=r"^x.yaml: 'clip.sizes\[1\]' must be in \[1, 9\], got 10$"):
        from_dict(Clip, {"sizes": [3, 10]}, "x.yaml", "clip.")
    with pytest.raises(ValueError, match=r"^clip.norm must be above 0 \(or null\), got 0$"):
        Clip(norm=0)
    assert from_dict(Clip, {"norm": None, "sizes": [1, 9]}, "x.yaml", "clip.") == Clip(None, [1, 9])


@pytest.mark.parametrize("override, expected", [
    ("train.clip_norm=-1", "'train.clip_norm' must be above 0 (or null), got -1"),
    ("train.clip_norm=.nan", "'train.clip_norm' must be a finite number, got nan"),
    ("train.lr=.inf", "'train.lr' must be a finite number, got inf"),
    ("train.lr=1e400", "'train.lr' must be a finite number, got inf"),  # YAML reads it as infinity
    ("train.weight_decay=-0.5", "'train.weight_decay' must be at least 0, got -0.5"),
    ("train.max_time_s=-1", "'train.max_time_s' must be above 0 (or null), got -1"),
    ("data.limit=-1", "'data.limit' must be at least 1 (or null), got -1"),
    ("train.seed=4294967296", "'train.seed' must be in [0, 4294967295], got 4294967296"),
    ("model.latent_size=-3", "'model.latent_size' must be at least 1, got -3"),
    ("model.hidden_size=0", "'model.hidden_size' must be at least 1, got 0"),
    ("train.device=tpu", "'train.device' must be one of auto, cpu, cuda, cuda:N"),
    ("train.device=cuda:x", "'train.device' must be one of auto, cpu, cuda, cuda:N"),
])
def test_values_users_gave_are_refused_with_the_recipe_and_key(override, expected):
    with pytest.raises(ConfigError) as err:
        load_recipe("recipes/mlp_vae_digits.yaml", [override])
    assert str(err.value).startswith(f"recipes/mlp_vae_digits.yaml: {expected}"), str(err.value)


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:0", "cuda:12"])
def test_device_forms_that_load(device):
    assert load_recipe({"model": {"type": "mlp_vae"}, "train": {"device": device}}).train.device == device


def test_info_shows_each_range():
    rows = {r["field"]: r for r in sentae.model_info("rnn_vae")["fields"]}
    assert rows["latent_size"]["range"] == "at least 1" and "at least" not in rows["latent_size"]["help"]
    assert rows["dropout"]["range"] == "in [0, 1)" and rows["kl.ramp_ratio"]["range"] == "in (0, 1]"
    assert rows["softmax.cutoffs"]["range"] == "each at least 1"
    assert rows["cell"]["range"] == "" and rows["cell"]["help"] == "recurrent cell of encoder and decoder"
    from click.testing import CliRunner

    from sentae.cli import main

    out = CliRunner().invoke(main, ["info", "rnn_vae"]).output
    header = next(line for line in out.splitlines() if line.startswith("FIELD"))
    assert header.split() == ["FIELD", "TYPE", "DEFAULT", "RANGE", "HELP"]
    latent = next(line for line in out.splitlines() if line.startswith("latent_size "))
    assert "at least 1" in latent
