"""Registry tests against real distributions: ``NAME-VERSION.dist-info`` folders written to a temp dir and put on
``sys.path``, which ``importlib.metadata`` reads exactly like installed packages. Every test uses its own
``Registry()`` so that nothing leaks into the process-wide ``REGISTRY``. The CLI over the registry is tested in
test_cli.py.
"""
from __future__ import annotations

import dataclasses
import sys

import pytest
import torch

import sentae
from fake_plugins import good_plugin, tiny_model_source
from sentae import SentaeModel, StepOutput
from sentae.errors import ConfigError, PluginError, SentaeError, UnknownModelError
from sentae.model import DataInfo
from sentae.registry import AUTOLOAD_ENV, PLUGIN_API_VERSION, Registry

# --------------------------------------------------------------------------------------------------------------
# fixtures (the fake distributions: fake_plugins.py, with the `fake` fixture in conftest.py)


@pytest.fixture(autouse=True)
def _autoload_on(monkeypatch):
    monkeypatch.delenv(AUTOLOAD_ENV, raising=False)


# --------------------------------------------------------------------------------------------------------------
# discovery


def test_fake_distribution_is_listed_without_importing_it(fake):
    mod = good_plugin(fake)
    fake.activate()
    reg = Registry()
    assert mod not in sys.modules
    entries = {e.name: e for e in reg.entries()}
    assert "tiny_ae" in entries
    entry = entries["tiny_ae"]
    assert entry.distribution == "sentae-fake-good"
    assert entry.version == "1.2.3"
    assert entry.origin == "sentae-fake-good 1.2.3"
    assert entry.target == f"{mod}:Tiny"
    assert entry.status == "not loaded"
    assert entry.cls is None
    assert mod not in sys.modules, "listing must read metadata only, not import the plugin"
    assert "tiny_ae" in reg.names()


def test_get_imports_the_plugin_and_returns_its_class(fake):
    mod = good_plugin(fake)
    fake.activate()
    reg = Registry()
    cls = reg.get("tiny_ae")
    assert mod in sys.modules
    assert cls is sys.modules[mod].Tiny
    assert issubclass(cls, SentaeModel)
    assert reg.entry("tiny_ae").status == "ok"
    assert reg.get("tiny_ae") is cls  # cached


def test_create_applies_overrides(fake):
    good_plugin(fake)
    fake.activate()
    reg = Registry()
    model = reg.create("tiny_ae", hidden_size=11)
    assert model.config.hidden_size == 11
    assert model.config.latent_size == 7  # default kept
    assert model.enc.out_features == 11
    assert model.code.out_features == 7
    assert model.data_info == DataInfo(modality="image", image_shape=(1, 1, 5))
    batch = model.example_batch(3, torch.Generator().manual_seed(0))
    out = model.training_step(batch, sentae.StepContext())
    assert out.loss.ndim == 0 and torch.isfinite(out.loss)


def test_create_with_explicit_data_info(fake):
    good_plugin(fake)
    fake.activate()
    info = DataInfo(modality="image", image_shape=(1, 1, 5), num_classes=3)
    model = Registry().create("tiny_ae", data_info=info)
    assert model.data_info is info


def test_create_unknown_override_names_key_and_suggests(fake):
    good_plugin(fake)
    fake.activate()
    with pytest.raises(ConfigError) as exc:
        Registry().create("tiny_ae", hiden_size=3)
    msg = str(exc.value)
    assert "'hiden_size'" in msg
    assert "did you mean 'hidden_size'?" in msg
    assert "tiny_ae" in msg


def test_create_wrong_override_type(fake):
    good_plugin(fake)
    fake.activate()
    with pytest.raises(ConfigError) as exc:
        Registry().create("tiny_ae", latent_size="seven")
    assert "'latent_size' must be an integer, got 'seven' (str)" in str(exc.value)


def test_pattern_filters_entries(fake):
    mod = fake.module("many", tiny_model_source("tiny_ae") + "\nclass Other(Tiny):\n    name = 'tiny_vae'\n")
    fake.dist("sentae-fake-many", "0.1", {"tiny_ae": f"{mod}:Tiny", "tiny_vae": f"{mod}:Other", "zz_dae": f"{mod}:Tiny"})
    fake.activate()
    reg = Registry()
    assert [e.name for e in reg.entries("tiny")] == ["tiny_ae", "tiny_vae"]  # substring
    assert [e.name for e in reg.entries("*vae")] == [e.name for e in reg.entries() if e.name.endswith("vae")]
    assert "tiny_vae" in [e.name for e in reg.entries("*vae")]
    assert [e.name for e in reg.entries("tiny_?e")] == ["tiny_ae"]
    assert reg.entries("no_such_thing") == []
    assert mod not in sys.modules


# --------------------------------------------------------------------------------------------------------------
# the real installed plugins


def test_real_plugins_visible_through_global_registry():
    entries = {e.name: e for e in sentae.REGISTRY.entries()}
    assert entries["mlp_vae"].distribution == "sentae-plugin-template"
    assert entries["mlp_vae"].target == "sentae_plugin_template.mlp_vae:MLPVAE"
    assert entries["conv_ae"].distribution == "sentae-image"
    assert entries["conv_ae"].target == "sentae_image.conv_ae:ConvAE"
    assert sentae.REGISTRY.get("mlp_vae").__name__ == "MLPVAE"
    assert sentae.REGISTRY.get("conv_ae").__name__ == "ConvAE"
    assert [e.name for e in sentae.list_models("mlp*")] == ["mlp_vae"]


def test_real_plugin_create_with_overrides():
    model = sentae.create_model("mlp_vae", hidden_size=13, latent_size=7)
    assert model.config.hidden_size == 13 and model.config.latent_size == 7
    assert model.config.beta == 1.0


# --------------------------------------------------------------------------------------------------------------
# did-you-mean


def test_unknown_model_did_you_mean(fake):
    good_plugin(fake, model="rnn_vae", dist="sentae-fake-text", version="0.3.0")
    fake.activate()
    reg = Registry()
    with pytest.raises(UnknownModelError) as exc:
        reg.get("rnn_vea")
    msg = str(exc.value)
    lines = msg.splitlines()
    assert lines[0] == "unknown model 'rnn_vea'; did you mean 'rnn_vae'?"
    assert lines[1].startswith("installed plugin distributions: ")
    assert "sentae-fake-text 0.3.0" in lines[1]
    assert "sentae-plugin-template 0.1.0" in lines[1]
    assert "sentae-image 0.1.0" in lines[1]
    assert "sentae list" in msg
    # it is a SentaeError (the CLI prints it) and a KeyError (dict-like lookups), without KeyError's quoting
    assert isinstance(exc.value, SentaeError) and isinstance(exc.value, KeyError)
    assert not msg.startswith('"')


def test_unknown_model_without_close_match_has_no_suggestion(fake):
    good_plugin(fake)
    fake.activate()
    with pytest.raises(UnknownModelError) as exc:
        Registry().entry("qqqq_xyz")
    first = str(exc.value).splitlines()[0]
    assert first == "unknown model 'qqqq_xyz'"


# --------------------------------------------------------------------------------------------------------------
# broken plugins are isolated

BROKEN_SOURCES = {
    "import_error": ("raise ImportError(\"needs the package 'nonexistent_dep_xyz'\\nsecond line of detail\")\n",
                     "ImportError: needs the package 'nonexistent_dep_xyz'"),
    "syntax_error": ("def broken(:\n    pass\n", "SyntaxError: "),
    "runtime_error": ("raise RuntimeError('CUDA kernel table missing')\n", "RuntimeError: CUDA kernel table missing"),
    "missing_attribute": ("X = 1\n", "AttributeError: "),
}


@pytest.mark.parametrize("kind", sorted(BROKEN_SOURCES))
def test_broken_plugin_is_isolated(fake, kind):
    source, expected_error = BROKEN_SOURCES[kind]
    good_mod = good_plugin(fake)
    bad_mod = fake.module("bad", source)
    fake.dist("sentae-fake-broken", "0.0.1", {"bad_ae": f"{bad_mod}:Model"})
    fake.activate()
    reg = Registry()

    entries = {e.name: e for e in reg.load_all()}  # must not raise
    bad = entries["bad_ae"]
    assert bad.status == "broken"
    assert bad.distribution == "sentae-fake-broken"
    assert bad.error.startswith(expected_error)
    assert "\n" not in bad.error  # first line only
    assert "second line" not in bad.error
    assert [e.name for e in reg.broken()] == ["bad_ae"]

    # the good fake plugin and the real installed ones still work
    assert entries["tiny_ae"].status == "ok"
    assert entries["mlp_vae"].status == "ok"
    assert entries["conv_ae"].status == "ok"
    assert reg.get("tiny_ae") is sys.modules[good_mod].Tiny
    assert reg.create("tiny_ae").config.hidden_size == 13

    with pytest.raises(PluginError) as exc:
        reg.get("bad_ae")
    msg = str(exc.value)
    assert "model 'bad_ae' from sentae-fake-broken 0.0.1 is broken: " in msg
    assert bad.error in msg
    assert f"{bad_mod}:Model" in msg


def test_broken_plugin_raises_on_first_get_without_load_all(fake):
    bad_mod = fake.module("bad", "import nonexistent_dep_xyz_123\n")
    fake.dist("sentae-fake-broken", "0.0.1", {"bad_ae": f"{bad_mod}:Model"})
    fake.activate()
    reg = Registry()
    with pytest.raises(PluginError) as exc:
        reg.get("bad_ae")
    msg = str(exc.value)
    assert "sentae-fake-broken" in msg
    assert "ModuleNotFoundError: No module named 'nonexistent_dep_xyz_123'" in msg
    # the failure is remembered, and the same message comes back
    with pytest.raises(PluginError) as again:
        reg.get("bad_ae")
    assert str(again.value) == msg


# --------------------------------------------------------------------------------------------------------------
# duplicates


def test_two_distributions_claiming_one_name_conflict(fake):
    mod_a = fake.module("dup_a", tiny_model_source("dup_ae"))
    mod_b = fake.module("dup_b", tiny_model_source("dup_ae"))
    fake.dist("sentae-fake-alpha", "1.0", {"dup_ae": f"{mod_a}:Tiny"})
    fake.dist("sentae-fake-beta", "2.0", {"dup_ae": f"{mod_b}:Tiny"})
    fake.activate()
    reg = Registry()
    entries = [e for e in reg.entries() if e.name == "dup_ae"]
    assert len(entries) == 1
    entry = entries[0]
    assert entry.status == "conflict"
    assert {entry.distribution, *(c.distribution for c in entry.conflicts)} == {"sentae-fake-alpha", "sentae-fake-beta"}
    with pytest.raises(PluginError) as exc:
        reg.get("dup_ae")
    msg = str(exc.value)
    assert "model name 'dup_ae' is registered by more than one plugin" in msg
    assert "sentae-fake-alpha 1.0" in msg and "sentae-fake-beta 2.0" in msg
    assert f"{mod_a}:Tiny" in msg and f"{mod_b}:Tiny" in msg
    assert "uninstall one of them" in msg
    # load_all imports neither side of a conflict and keeps its status
    statuses = {e.name: e.status for e in reg.load_all()}
    assert statuses["dup_ae"] == "conflict"
    assert mod_a not in sys.modules and mod_b not in sys.modules


def test_same_distribution_twice_on_sys_path_is_not_a_conflict(fake):
    mod = fake.module("twice", tiny_model_source("twice_ae"), root="site1")
    fake.dist("sentae-fake-twice", "0.5", {"twice_ae": f"{mod}:Tiny"}, root="site1")
    fake.dist("sentae-fake-twice", "0.5", {"twice_ae": f"{mod}:Tiny"}, root="site2")  # e.g. editable + build dir
    fake.activate()
    reg = Registry()
    entries = [e for e in reg.entries() if e.name == "twice_ae"]
    assert len(entries) == 1
    assert entries[0].conflicts == []
    assert entries[0].status == "not loaded"
    assert reg.get("twice_ae").__name__ == "Tiny"
    assert entries[0].status == "ok"


# --------------------------------------------------------------------------------------------------------------
# autoload switch


def test_disable_autoload_discovers_nothing_but_register_works(fake, monkeypatch):
    good_plugin(fake)
    fake.activate()
    monkeypatch.setenv(AUTOLOAD_ENV, "1")
    reg = Registry()
    assert reg.entries() == []
    with pytest.raises(UnknownModelError) as exc:
        reg.get("mlp_vae")
    assert "no model plugins are installed" in str(exc.value)
    assert AUTOLOAD_ENV in str(exc.value)

    @reg.register
    class Local(_LocalBase):
        name = "local_ae"

    assert reg.names() == ["local_ae"]
    assert reg.get("local_ae") is Local
    assert reg.entry("local_ae").distribution == "<local>"
    assert reg.entry("local_ae").status == "ok"


# --------------------------------------------------------------------------------------------------------------
# plugin API checks


@dataclasses.dataclass
class _LocalConfig:
    size: int = 3  # a size


class _LocalBase(SentaeModel):
    modality = "image"
    config_class = _LocalConfig
    sentae_api = PLUGIN_API_VERSION

    @classmethod
    def default_data_info(cls):
        return DataInfo(modality="image", image_shape=(1, 2, 2))

    def training_step(self, batch, ctx):
        return StepOutput(torch.zeros(()))


def test_plugin_targeting_newer_api_tells_to_upgrade_sentae(fake):
    mod = fake.module("future", tiny_model_source("future_ae", api=PLUGIN_API_VERSION + 1))
    fake.dist("sentae-fake-future", "9.0", {"future_ae": f"{mod}:Tiny"})
    fake.activate()
    reg = Registry()
    with pytest.raises(PluginError) as exc:
        reg.get("future_ae")
    msg = str(exc.value)
    assert f"targets sentae plugin API {PLUGIN_API_VERSION + 1}" in msg
    assert f"upgrade sentae (this is sentae {sentae.__version__}, plugin API {PLUGIN_API_VERSION})" in msg
    assert "sentae-fake-future 9.0" in msg
    assert reg.entry("future_ae").status == "broken"


def test_plugin_targeting_older_api_tells_to_upgrade_the_plugin(fake):
    mod = fake.module("past", tiny_model_source("past_ae", api=0))
    fake.dist("sentae-fake-past", "0.0.1", {"past_ae": f"{mod}:Tiny"})
    fake.activate()
    with pytest.raises(PluginError) as exc:
        Registry().get("past_ae")
    msg = str(exc.value)
    assert "targets sentae plugin API 0" in msg
    assert f"upgrade sentae-fake-past to a release written for plugin API {PLUGIN_API_VERSION}" in msg
    assert "upgrade sentae " not in msg


def test_plugin_without_sentae_api_is_refused(fake):
    mod = fake.module("noapi", tiny_model_source("noapi_ae", api=None))
    fake.dist("sentae-fake-noapi", "1.0", {"noapi_ae": f"{mod}:Tiny"})
    fake.activate()
    reg = Registry()
    with pytest.raises(PluginError) as exc:
        reg.get("noapi_ae")
    msg = str(exc.value)
    assert f"{mod}:Tiny does not declare the plugin API it targets (set `sentae_api = {PLUGIN_API_VERSION}`)" in msg
    assert "sentae-fake-noapi 1.0" in msg


def test_target_that_is_not_a_sentae_model_is_refused(fake):
    mod = fake.module("notamodel", "class Model:\n    sentae_api = 1\n\ndef factory():\n    return Model\n")
    fake.dist("sentae-fake-notmodel", "1.0", {"plain_ae": f"{mod}:Model", "func_ae": f"{mod}:factory"})
    fake.activate()
    reg = Registry()
    for name, attr in [("plain_ae", "Model"), ("func_ae", "factory")]:
        with pytest.raises(PluginError) as exc:
            reg.get(name)
        assert f"{mod}:{attr} is not a sentae.SentaeModel subclass" in str(exc.value)
    statuses = {e.name: e.status for e in reg.load_all()}
    assert statuses["plain_ae"] == statuses["func_ae"] == "broken"


def test_model_without_dataclass_config_is_refused():
    reg = Registry()

    class NoConfig(SentaeModel):
        sentae_api = PLUGIN_API_VERSION
        config_class = dict

    with pytest.raises(PluginError, match="has no dataclass `config_class`"):
        reg.register(NoConfig, name="noconf_ae")
    assert "noconf_ae" not in reg.names()


@pytest.mark.parametrize("api, hint", [(PLUGIN_API_VERSION + 1, "upgrade sentae"), (0, "upgrade [\\w.]+ to a release written for plugin API")])
def test_register_checks_api_too(api, hint):
    reg = Registry()
    cls = type("Versioned", (_LocalBase,), {"sentae_api": api})
    with pytest.raises(PluginError, match=hint):
        reg.register(cls, name="versioned_ae")
    assert "versioned_ae" not in reg.names()


def test_register_refuses_non_model_and_missing_api():
    reg = Registry()
    with pytest.raises(PluginError, match="is not a sentae.SentaeModel subclass"):
        reg.register(type("Plain", (), {"sentae_api": 1}), name="plain_ae")

    class NoApi(SentaeModel):
        config_class = _LocalConfig

    with pytest.raises(PluginError, match="does not declare the plugin API"):
        reg.register(NoApi, name="noapi_ae")
    assert "plain_ae" not in reg.names() and "noapi_ae" not in reg.names()


# --------------------------------------------------------------------------------------------------------------
# in-process registration


def test_register_decorator_in_process():
    reg = Registry()

    @reg.register
    class DecoratedAE(_LocalBase):
        name = "decorated_ae"

    @reg.register(name="explicit_name_ae")
    class Explicit(_LocalBase):
        pass

    assert reg.get("decorated_ae") is DecoratedAE
    assert reg.get("explicit_name_ae") is Explicit
    entry = reg.entry("decorated_ae")
    assert entry.distribution == "<local>"
    assert entry.target.endswith(":test_register_decorator_in_process.<locals>.DecoratedAE")
    model = reg.create("decorated_ae", size=5)
    assert isinstance(model, DecoratedAE) and model.config.size == 5
    # registering the very same class again is harmless
    assert reg.register(DecoratedAE) is DecoratedAE
    assert reg.get("decorated_ae") is DecoratedAE
    reg.unregister("decorated_ae")
    assert "decorated_ae" not in reg.names()


def test_register_second_class_under_existing_name_is_refused():
    reg = Registry()

    @reg.register
    class First(_LocalBase):
        name = "same_ae"

    class Second(_LocalBase):
        name = "same_ae"

    with pytest.raises(PluginError) as exc:
        reg.register(Second)
    msg = str(exc.value)
    assert "model name 'same_ae' is already registered by <local>" in msg
    assert "First" in msg and "Second" in msg
    assert reg.get("same_ae") is First


def test_register_cannot_shadow_an_installed_plugin():
    reg = Registry()

    class Shadow(_LocalBase):
        name = "mlp_vae"

    with pytest.raises(PluginError) as exc:
        reg.register(Shadow)
    assert "already registered by sentae-plugin-template 0.1.0" in str(exc.value)


def test_registered_name_must_equal_the_class_name():
    from sentae.registry import ModelEntry, _check_model_class

    cls = type("Named", (_LocalBase,), {"sentae_api": 1, "name": "alpha"})
    with pytest.raises(PluginError, match="registered as 'beta' but its `name` is 'alpha'"):
        _check_model_class(cls, ModelEntry("beta", "m:Named", "dist", "1"))
