"""Recipe loading and validation: ``load_recipe`` / ``recipe_from_dict`` / ``apply_override``.

Recipes use the real ``mlp_vae`` model of the installed ``sentae-plugin-template`` distribution.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from sentae.config import (
    DataConfig,
    Recipe,
    TrainConfig,
    apply_override,
    dump_yaml,
    load_recipe,
    recipe_from_dict,
)
from sentae.data import DataConfig as DataConfigHere
from sentae.data import build_data, register_source, unregister_source
from sentae.errors import ConfigError, DataError, SentaeError, UnknownModelError
from sentae.training.config import TrainConfig as TrainConfigHere

REPO = Path(__file__).resolve().parents[1]

BASE = """\
name: tiny
model:
  type: mlp_vae
  hidden_size: 13
  latent_size: 7
data:
  source: digits
  limit: 50
train:
  max_steps: 5
  batch_size: 4
  lr: 0.002
"""


def write(tmp_path: Path, text: str, name: str = "recipe.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(source, overrides=()) -> str:
    with pytest.raises(ConfigError) as exc:
        load_recipe(source, overrides)
    return str(exc.value)


# --------------------------------------------------------------------------------------------------------------
# a valid recipe, defaults


def test_valid_recipe_is_loaded_with_types(tmp_path):
    path = write(tmp_path, BASE)
    recipe = load_recipe(path)
    assert isinstance(recipe, Recipe)
    assert recipe.name == "tiny"
    assert recipe.source == str(path)
    assert recipe.model.type == "mlp_vae"
    assert type(recipe.model.config).__name__ == "MLPVAEConfig"
    assert (recipe.model.config.hidden_size, recipe.model.config.latent_size, recipe.model.config.beta) == (13, 7, 1.0)
    assert recipe.data.limit == 50
    assert recipe.train.max_steps == 5 and recipe.train.batch_size == 4
    assert recipe.train.lr == 0.002 and isinstance(recipe.train.lr, float)


def test_defaults_filled_in(tmp_path):
    path = write(tmp_path, "model:\n  type: mlp_vae\n", name="only_model.yaml")
    recipe = load_recipe(path)
    assert recipe.name == "only_model"  # the file's stem when the recipe has no name
    assert recipe.data == DataConfig()
    assert recipe.train == TrainConfig()
    assert dataclasses.asdict(recipe.model.config) == {"hidden_size": 128, "latent_size": 8, "beta": 1.0}


def test_defaults_from_dict_and_null_sections():
    recipe = load_recipe({"model": {"type": "mlp_vae"}, "data": None, "train": None})
    assert recipe.name == "mlp_vae"  # a dict recipe without a name is named after its model
    assert recipe.source == "<dict>"
    assert recipe.data == DataConfig() and recipe.train == TrainConfig()


def test_int_is_accepted_for_a_float_field():
    recipe = load_recipe({"model": {"type": "mlp_vae", "beta": 2}, "train": {"lr": 1}})
    assert recipe.model.config.beta == 2.0 and isinstance(recipe.model.config.beta, float)
    assert recipe.train.lr == 1.0 and isinstance(recipe.train.lr, float)


def test_quickstart_recipe_of_the_repo_loads():
    recipe = load_recipe(REPO / "recipes" / "quickstart.yaml")
    assert recipe.model.type == "ctrl_vae" and recipe.data.source == "reviews"
    assert recipe.name == "quickstart"
    digits = load_recipe(REPO / "recipes" / "mlp_vae_digits.yaml")
    assert digits.model.type == "mlp_vae" and digits.name == "mlp_vae_digits"


# --------------------------------------------------------------------------------------------------------------
# unknown keys: the file, the full key path and the closest valid key


@pytest.mark.parametrize(
    "text, key, suggestion",
    [
        (BASE + "trian:\n  max_steps: 3\n", "trian", "train"),
        (BASE.replace("  limit: 50\n", "  limit: 50\n  val_fractoin: 0.2\n"), "data.val_fractoin", "data.val_fraction"),
        (BASE.replace("  max_steps: 5\n", "  max_step: 5\n"), "train.max_step", "train.max_steps"),
        (BASE.replace("  hidden_size: 13\n", "  hiden_size: 13\n"), "model.hiden_size", "model.hidden_size"),
    ],
    ids=["top", "data", "train", "model"],
)
def test_unknown_key_names_file_key_and_closest(tmp_path, text, key, suggestion):
    path = write(tmp_path, text)
    msg = error_of(path)
    assert msg == f"{path}: unknown key '{key}'; did you mean '{suggestion}'?"


def test_unknown_key_without_close_match_lists_valid_keys(tmp_path):
    path = write(tmp_path, BASE + "zzzzzz: 1\n")
    assert error_of(path) == f"{path}: unknown key 'zzzzzz'; valid keys: data, model, name, train"


def test_unknown_key_in_dict_recipe_names_dict():
    msg = error_of({"model": {"type": "mlp_vae"}, "train": {"batchsize": 3}})
    assert msg == "<dict>: unknown key 'train.batchsize'; did you mean 'train.batch_size'?"


# --------------------------------------------------------------------------------------------------------------
# wrong types


@pytest.mark.parametrize(
    "section, line, expected",
    [
        ("train", "lr: fast", "'train.lr' must be a number, got 'fast' (str)"),
        ("train", "lr: true", "'train.lr' must be a number, got True (bool)"),
        ("train", "max_steps: true", "'train.max_steps' must be an integer, got True (bool)"),
        ("train", "max_steps: 10.5", "'train.max_steps' must be an integer, got 10.5 (float)"),
        ("train", "batch_size: 8.0", "'train.batch_size' must be an integer, got 8.0 (float)"),
        ("train", "max_steps: '10'", "'train.max_steps' must be an integer, got '10' (str)"),
        ("train", "precision: fp64", "'train.precision' must be one of fp32, bf16, fp16, got 'fp64'; did you mean 'fp16'?"),
        ("train", "clip_norm: off", "'train.clip_norm' must be a number or null, got False (bool)"),
        ("train", "device: 0", "'train.device' must be a string, got 0 (int)"),
        ("data", "limit: ten", "'data.limit' must be an integer or null, got 'ten' (str)"),
        ("data", "options: [1, 2]", "'data.options' must be a mapping, got [1, 2] (list)"),
        ("model", "latent_size: [7]", "'model.latent_size' must be an integer, got [7] (list)"),
    ],
)
def test_wrong_types(tmp_path, section, line, expected):
    sections = {"model": "  type: mlp_vae\n", "data": "", "train": ""}
    sections[section] += f"  {line}\n"
    path = write(tmp_path, "".join(f"{k}:\n{v}" for k, v in sections.items()))
    assert error_of(path) == f"{path}: {expected}"


@pytest.mark.parametrize("value", [5, "fast", [1, 2]])
def test_section_that_is_not_a_mapping(value):
    msg = error_of({"model": {"type": "mlp_vae"}, "train": value})
    assert msg.startswith("<dict>: 'train' must be a mapping, got ")


def test_falsy_non_mapping_section_is_rejected():
    # `train: []` (or `train: 0`) is not "no section": it is a wrong type and must not silently mean defaults.
    msg = error_of({"model": {"type": "mlp_vae"}, "train": []})
    assert "'train' must be a mapping" in msg


def test_name_must_be_a_string():
    assert error_of({"name": ["a"], "model": {"type": "mlp_vae"}}) == "<dict>: 'name' must be a string"


def test_scientific_notation_learning_rate_in_yaml(tmp_path):
    # PyYAML (YAML 1.1) reads `1e-3` as the *string* '1e-3'; users write learning rates this way all the time.
    path = write(tmp_path, BASE.replace("lr: 0.002", "lr: 1e-3"))
    assert load_recipe(path).train.lr == pytest.approx(1e-3)


def test_scientific_notation_learning_rate_in_override(tmp_path):
    path = write(tmp_path, BASE)
    assert load_recipe(path, ["train.lr=3e-4"]).train.lr == pytest.approx(3e-4)


# --------------------------------------------------------------------------------------------------------------
# the model section


def test_missing_model_section(tmp_path):
    path = write(tmp_path, "name: x\ntrain:\n  max_steps: 3\n")
    assert error_of(path) == f"{path}: missing required section 'model'"


def test_missing_model_type(tmp_path):
    path = write(tmp_path, "model:\n  hidden_size: 13\n")
    assert error_of(path) == f"{path}: missing required key 'model.type' (the registered model name)"


def test_model_not_a_mapping_and_type_not_a_string():
    assert error_of({"model": "mlp_vae"}) == "<dict>: 'model' must be a mapping"
    assert error_of({"model": {"type": 3}}) == "<dict>: 'model.type' must be a string"


def test_unknown_model_type_did_you_mean(tmp_path):
    path = write(tmp_path, BASE.replace("type: mlp_vae", "type: mlp_vea"))
    with pytest.raises(UnknownModelError) as exc:
        load_recipe(path)
    assert isinstance(exc.value, SentaeError)
    assert str(exc.value).splitlines()[0].endswith("'model.type': unknown model 'mlp_vea'; did you mean 'mlp_vae'?")


def test_unknown_model_type_names_the_recipe_file(tmp_path):
    # DESIGN.md: a bad input (... unknown model ...) gets one message naming what *and where*.
    path = write(tmp_path, BASE.replace("type: mlp_vae", "type: mlp_vea"))
    with pytest.raises(SentaeError) as exc:
        load_recipe(path)
    assert str(path) in str(exc.value)
    assert "model.type" in str(exc.value)


# --------------------------------------------------------------------------------------------------------------
# --set overrides


def test_overrides_nested_and_yaml_parsed(tmp_path):
    path = write(tmp_path, BASE)
    recipe = load_recipe(
        path,
        [
            "train.max_steps=10",
            "data.limit=null",
            "model.latent_size=3",
            "train.clip_norm=null",
            "train.early_stop_metric=val/loss",
            "train.early_stop_patience=2",
            "train.device=cuda:1",
            "data.source=reviews",
            "data.options.require_labels=[tense]",
            "data.options.size=240",
            "name=my_run",
        ],
    )
    assert recipe.train.max_steps == 10
    assert recipe.data.limit is None
    assert recipe.model.config.latent_size == 3 and recipe.model.config.hidden_size == 13
    assert recipe.train.clip_norm is None
    assert recipe.train.early_stop_metric == "val/loss" and recipe.train.early_stop_patience == 2
    assert recipe.train.device == "cuda:1"
    assert recipe.data.options["require_labels"] == ["tense"] and recipe.data.options["size"] == 240
    assert recipe.name == "my_run"


def test_override_creates_missing_and_null_sections(tmp_path):
    path = write(tmp_path, "model:\n  type: mlp_vae\ndata: null\n")
    recipe = load_recipe(path, ["data.limit=7", "train.batch_size=3"])
    assert recipe.data.limit == 7
    assert recipe.train.batch_size == 3


def test_last_override_wins(tmp_path):
    path = write(tmp_path, BASE)
    assert load_recipe(path, ["train.max_steps=10", "train.max_steps=20"]).train.max_steps == 20


def test_override_value_that_is_not_yaml_stays_a_string():
    raw: dict = {}
    apply_override(raw, "name=[unclosed")
    assert raw == {"name": "[unclosed"}


def test_apply_override_in_place_and_empty_value():
    raw = {"train": {"lr": 0.1}}
    apply_override(raw, " train.lr = 0.5")
    apply_override(raw, "train.device=")
    assert raw == {"train": {"lr": 0.5, "device": ""}}


def test_overrides_do_not_mutate_a_dict_source():
    source = {"model": {"type": "mlp_vae"}, "train": {"max_steps": 5}}
    recipe = load_recipe(source, ["train.max_steps=9", "model.beta=0.5"])
    assert recipe.train.max_steps == 9 and recipe.model.config.beta == 0.5
    assert source == {"model": {"type": "mlp_vae"}, "train": {"max_steps": 5}}


@pytest.mark.parametrize("item", ["train.max_steps", "=5", " =5", ""])
def test_bad_override_without_key_value(item):
    with pytest.raises(ConfigError) as exc:
        apply_override({}, item)
    assert str(exc.value) == f"override '{item}' must look like section.key=value"


def test_bad_override_through_load_recipe(tmp_path):
    path = write(tmp_path, BASE)
    assert error_of(path, ["train.max_steps"]) == "override 'train.max_steps' must look like section.key=value"


def test_override_into_a_non_section(tmp_path):
    path = write(tmp_path, BASE)
    assert error_of(path, ["name.sub=1"]) == "override 'name.sub=1': 'name' is not a section"
    assert error_of(path, ["train.max_steps.x=1"]) == "override 'train.max_steps.x=1': 'train.max_steps' is not a section"


def test_override_with_unknown_key_names_file_and_closest(tmp_path):
    path = write(tmp_path, BASE)
    assert error_of(path, ["train.max_step=10"]) == f"{path}: unknown key 'train.max_step'; did you mean 'train.max_steps'?"


def test_override_with_wrong_type(tmp_path):
    path = write(tmp_path, BASE)
    assert error_of(path, ["train.max_steps=ten"]) == f"{path}: 'train.max_steps' must be an integer, got 'ten' (str)"


# --------------------------------------------------------------------------------------------------------------
# YAML safety and malformed files


@pytest.mark.parametrize(
    "tag",
    [
        '!!python/object/apply:os.system ["touch {marker}"]',
        "!!python/object/apply:subprocess.check_call [[touch, '{marker}']]",
        "!!python/name:os.system",
    ],
)
def test_yaml_python_objects_are_refused_and_never_run(tmp_path, tag):
    marker = tmp_path / "pwned"
    path = write(tmp_path, BASE.replace("name: tiny", "name: " + tag.format(marker=marker)))
    msg = error_of(path)
    assert msg.startswith(f"{path}: not valid YAML data: ")
    assert not marker.exists()


def test_yaml_object_in_override_is_not_run(tmp_path):
    marker = tmp_path / "pwned"
    path = write(tmp_path, BASE)
    # The value is parsed with safe_load; a python tag cannot construct anything, it ends up a plain string.
    with pytest.raises(ConfigError):
        load_recipe(path, [f'train.max_steps=!!python/object/apply:os.system ["touch {marker}"]'])
    assert not marker.exists()


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_file(tmp_path, text):
    path = write(tmp_path, text)
    assert error_of(path) == f"{path}: the recipe is empty"


@pytest.mark.parametrize("text, tname", [("- a\n- b\n", "list"), ("just a string\n", "str"), ("42\n", "int")])
def test_non_mapping_file(tmp_path, text, tname):
    path = write(tmp_path, text)
    assert error_of(path) == f"{path}: a recipe must be a mapping of sections, got {tname}"


def test_invalid_yaml(tmp_path):
    path = write(tmp_path, "model: [mlp_vae\n")
    assert error_of(path).startswith(f"{path}: not valid YAML data: ")


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\nmodel:\n  type: mlp_vae\n".encode("latin-1"))
    assert error_of(path).startswith(f"{path}: not UTF-8 text")


def test_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    assert error_of(path) == f"recipe file not found: {path}"
    assert error_of(tmp_path) == f"recipe file not found: {tmp_path}"  # a folder is not a recipe


# --------------------------------------------------------------------------------------------------------------
# round trip


def test_to_dict_round_trip_through_load_recipe(tmp_path):
    path = write(tmp_path, BASE)
    recipe = load_recipe(
        path,
        ["train.clip_norm=null", "train.precision=bf16", "train.lr=0.00001", "data.source=image_folder",
         "data.options.grayscale=false", "model.beta=0.25"],
    )
    first = recipe.to_dict()
    assert first["model"] == {"type": "mlp_vae", "hidden_size": 13, "latent_size": 7, "beta": 0.25}
    assert set(first) == {"name", "model", "data", "train"}
    assert first["data"]["options"] == {"grayscale": False, "size": None}
    resolved = write(tmp_path, dump_yaml(first), name="resolved.yaml")
    second = load_recipe(resolved)
    assert second.to_dict() == first
    assert second.train == recipe.train and second.data == recipe.data and second.model.config == recipe.model.config
    # and through recipe_from_dict with the plain dict
    assert recipe_from_dict(yaml.safe_load(dump_yaml(first))).to_dict() == first


def test_round_trip_with_a_list_field(tmp_path):
    recipe = load_recipe({"name": "conv", "model": {"type": "conv_ae", "channels": [5, 11], "code_size": 7}})
    first = recipe.to_dict()
    assert first["model"]["channels"] == [5, 11]
    second = load_recipe(write(tmp_path, dump_yaml(first)))
    assert second.to_dict() == first


# --------------------------------------------------------------------------------------------------------------
# train validation


@pytest.mark.parametrize(
    "override, expected",
    [
        ("train.max_steps=0", "'train.max_steps' must be at least 1, got 0"),
        ("train.batch_size=-2", "'train.batch_size' must be at least 1, got -2"),
        ("train.grad_accum=0", "'train.grad_accum' must be at least 1, got 0"),
        ("train.lr=0", "'train.lr' must be above 0, got 0"),
        ("train.lr=-0.1", "'train.lr' must be above 0, got -0.1"),
        ("train.eval_every=-1", "'train.eval_every' must be at least 0, got -1"),
        ("train.lr_final=2", "'train.lr_final' must be in [0, 1], got 2"),
        ("train.weight_decay=-1", "'train.weight_decay' must be at least 0, got -1"),
        ("train.early_stop_patience=3", "'train.early_stop_patience' needs 'train.early_stop_metric'"),
    ],
)
def test_train_validation(tmp_path, override, expected):
    path = write(tmp_path, BASE)
    assert error_of(path, [override]) == f"{path}: {expected}"


def test_train_validation_accepts_edges(tmp_path):
    path = write(tmp_path, BASE)
    recipe = load_recipe(
        path,
        ["train.max_steps=1", "train.eval_every=0", "train.ckpt_every=0",
         "train.early_stop_patience=3", "train.early_stop_metric=val/loss", "train.early_stop_mode=max"],
    )
    assert recipe.train.max_steps == 1 and recipe.train.eval_every == 0
    assert recipe.train.early_stop_patience == 3 and recipe.train.early_stop_mode == "max"


def test_unknown_data_source_is_caught_when_the_recipe_loads(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("model: {type: mlp_vae}\ndata: {source: digit}\n")
    with pytest.raises(ConfigError, match=r"r.yaml: unknown data source 'data.source: digit'; did you mean 'digits'\?"):
        load_recipe(path)


def test_train_threads_must_be_positive(tmp_path):
    with pytest.raises(ConfigError, match=r"'train.threads' must be at least 1"):
        load_recipe({"model": {"type": "mlp_vae"}, "train": {"threads": 0}})
    assert load_recipe({"model": {"type": "mlp_vae"}, "train": {"threads": 1}}).train.threads == 1


def test_train_config_checks_ranges_when_built_in_python():
    with pytest.raises(ValueError, match=r"train.batch_size must be at least 1, got 0"):
        TrainConfigHere(batch_size=0)
    assert TrainConfig is TrainConfigHere and DataConfig is DataConfigHere  # the recipe layer re-exports them


# --------------------------------------------------------------------------------------------------------------
# data.options: typed per source


def test_data_options_typo_is_caught_when_the_recipe_loads(tmp_path):
    path = write(tmp_path, "model: {type: mlp_vae}\ndata: {source: reviews}\n")
    assert error_of(path, ["data.options.tokeniser=bpe"]) == (
        f"{path}: unknown key 'data.options.tokeniser'; did you mean 'data.options.tokenizer'?")


@pytest.mark.parametrize(
    "source, option, expected",
    [
        ("reviews", "size=many", "'data.options.size' must be an integer, got 'many' (str)"),
        ("reviews", "size=60", "'data.options.size' must be at least 120, got 60"),
        ("yelp", "tense_labels=maybe", "'data.options.tense_labels' must be true or false, got 'maybe' (str)"),
        ("yelp", "tokenizer=wordpiece", "'data.options.tokenizer' must be one of word, bpe, unigram, pretrained, got 'wordpiece'"),
        ("text", "format=xml", "'data.options.format' must be one of text, jsonl, csv, tsv or null, got 'xml' (str)"),
        ("ptb", "max_length=0", "'data.options.max_length' must be at least 1, got 0"),
        ("image_folder", "size=[4]", "'data.options.size' must be [height, width] in pixels, got [4]"),
        ("image_folder", "size=[4, 0]", "'data.options.size[1]' must be at least 1, got 0"),
        ("hf", "streaming=true", "'data.options.hf_dataset' is required"),
    ],
)
def test_data_options_of_the_wrong_type_name_the_file_and_key(tmp_path, source, option, expected):
    path = write(tmp_path, f"model: {{type: mlp_vae}}\ndata: {{source: {source}}}\n")
    msg = error_of(path, [f"data.options.{option}"])
    assert msg.startswith(f"{path}: {expected}"), msg


def test_source_without_options_rejects_any(tmp_path):
    path = write(tmp_path, "model: {type: mlp_vae}\ndata: {source: digits, options: {size: 3}}\n")
    assert error_of(path) == f"{path}: data source 'digits' takes no 'data.options' (got size)"


def test_partial_options_of_an_old_run_still_build():
    # run folders written before the options were typed hold only the options the recipe gave
    data = build_data(DataConfig(source="reviews", limit=30, options={"size": 240}))
    assert data.split_size("train") == 30 and data.info.max_length == 52


@dataclass
class _LinesOptions:
    lowercase: bool = False  # lower-case every line


@pytest.fixture
def third_party_sources():
    built = []

    @register_source("test_typed_lines", options=_LinesOptions)
    def typed(cfg):
        built.append(cfg)
        raise DataError("not built in this test")

    @register_source("test_untyped_lines")
    def untyped(cfg):
        built.append(cfg)
        raise DataError("not built in this test")

    yield built
    unregister_source("test_typed_lines")
    unregister_source("test_untyped_lines")


def test_third_party_source_with_an_options_class(third_party_sources):
    recipe = load_recipe({"model": {"type": "mlp_vae"}, "data": {"source": "test_typed_lines"}})
    assert recipe.data.options == {"lowercase": False}
    assert error_of({"model": {"type": "mlp_vae"}, "data": {"source": "test_typed_lines", "options": {"lowercas": 1}}}) \
        == "<dict>: unknown key 'data.options.lowercas'; did you mean 'data.options.lowercase'?"


def test_third_party_source_without_an_options_class_gets_a_plain_dict(third_party_sources):
    options = {"anything": [1, 2], "nested": {"deep": "yes"}}
    recipe = load_recipe({"model": {"type": "mlp_vae"}, "data": {"source": "test_untyped_lines", "options": options}})
    assert recipe.data.options == options
    with pytest.raises(DataError, match="not built in this test"):
        build_data(recipe.data)
    assert third_party_sources[-1].options == options


def test_register_source_refuses_an_options_class_that_is_not_a_dataclass():
    with pytest.raises(TypeError, match="must be a dataclass"):
        register_source("test_bad_options", options=dict)
