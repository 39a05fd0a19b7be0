"""The command line itself: parsing, output, exit codes and one-line errors, in process (click's CliRunner) and as
a real ``python -m sentae`` process. What a command does is tested with the API it calls (test_registry.py,
test_config.py, test_trainer.py, ...); models come from the template plugin (``mlp_vae``) and the image plugin.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import sentae
import sentae.registry as registry_mod
from fake_plugins import good_plugin, tiny_model_source
from sentae.cli import main
from sentae.registry import AUTOLOAD_ENV, PLUGIN_API_VERSION, Registry

ROOT = Path(__file__).resolve().parents[1]

# Only catches a hang: starting Python and importing torch can take many seconds on a busy machine.
TIMEOUT_S = 600


@pytest.fixture(autouse=True)
def _autoload_on(monkeypatch):
    monkeypatch.delenv(AUTOLOAD_ENV, raising=False)


@pytest.fixture
def cli_registry(monkeypatch):
    """A fresh registry behind the CLI (which reads ``sentae.registry.REGISTRY`` at call time)."""
    reg = Registry()
    monkeypatch.setattr(registry_mod, "REGISTRY", reg)
    return reg


# --------------------------------------------------------------------------------------------------------------
# CLI in process (click's CliRunner)


def test_cli_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"sentae {sentae.__version__} (plugin API {PLUGIN_API_VERSION})"


def test_cli_info_misspelled_model(cli_registry):
    result = CliRunner().invoke(main, ["info", "mlp_vea"])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == "error: unknown model 'mlp_vea'; did you mean 'mlp_vae'?"
    assert "sentae-plugin-template 0.1.0" in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_cli_list(cli_registry):
    result = CliRunner().invoke(main, ["list"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "DISTRIBUTION", "VERSION"]
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert rows["mlp_vae"] == ["mlp_vae", "sentae-plugin-template", "0.1.0"]
    assert rows["conv_ae"] == ["conv_ae", "sentae-image", "0.1.0"]
    assert list(rows) == sorted(rows)
    assert "STATUS" not in result.stdout


def test_cli_list_check(cli_registry):
    result = CliRunner().invoke(main, ["list", "--check"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "DISTRIBUTION", "VERSION", "MODALITY", "STATUS"]
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert rows["mlp_vae"] == ["mlp_vae", "sentae-plugin-template", "0.1.0", "image", "ok"]
    assert rows["conv_ae"] == ["conv_ae", "sentae-image", "0.1.0", "image", "ok"]


def test_cli_list_modality(cli_registry):
    image = CliRunner().invoke(main, ["list", "--modality", "image"])
    assert image.exit_code == 0, image.output
    names = [line.split()[0] for line in image.stdout.splitlines()[2:]]
    assert "mlp_vae" in names and "conv_ae" in names
    text = CliRunner().invoke(main, ["list", "--modality", "text", "conv*"])
    assert text.exit_code == 0, text.output
    assert "conv_ae" not in text.stdout
    assert "(no models match)" in text.stdout
    bad = CliRunner().invoke(main, ["list", "--modality", "audio"])
    assert bad.exit_code == 2
    assert "audio" in bad.output


def test_cli_list_pattern(cli_registry):
    result = CliRunner().invoke(main, ["list", "mlp"])
    assert result.exit_code == 0, result.output
    names = [line.split()[0] for line in result.stdout.splitlines()[2:]]
    assert names == ["mlp_vae"]
    glob = CliRunner().invoke(main, ["list", "*_ae"])
    assert "conv_ae" in glob.stdout and "mlp_vae" not in glob.stdout
    none = CliRunner().invoke(main, ["list", "zzz_nothing"])
    assert none.exit_code == 0
    assert "(no models match)" in none.stdout


def test_cli_info_shows_fields_defaults_help_paper_and_distribution(cli_registry):
    result = CliRunner().invoke(main, ["info", "mlp_vae"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.splitlines()[0] == "mlp_vae  (sentae-plugin-template 0.1.0; sentae_plugin_template.mlp_vae:MLPVAE)"
    assert "modality: image" in out
    assert "paper: Kingma & Welling 2014, Auto-Encoding Variational Bayes, arXiv:1312.6114" in out
    rows = {line.split()[0]: line for line in out.splitlines() if line.split()}
    assert rows["hidden_size"].split()[:3] == ["hidden_size", "int", "128"]
    assert rows["hidden_size"].endswith("units of the encoder's and decoder's hidden layer")
    assert rows["latent_size"].split()[:3] == ["latent_size", "int", "8"]
    assert rows["latent_size"].endswith("dimensions of the Gaussian code")
    assert rows["beta"].split()[:3] == ["beta", "float", "1.0"]
    assert rows["beta"].endswith("weight of the KL term (1 = the ELBO)")


def test_cli_info_broken_and_conflicting_fake_plugins(fake, cli_registry):
    bad_mod = fake.module("bad", "raise ImportError('needs nonexistent_dep_xyz')\n")
    fake.dist("sentae-fake-broken", "0.0.1", {"bad_ae": f"{bad_mod}:Model"})
    mod_a = fake.module("dup_a", tiny_model_source("dup_ae"))
    fake.dist("sentae-fake-alpha", "1.0", {"dup_ae": f"{mod_a}:Tiny"})
    fake.dist("sentae-fake-beta", "2.0", {"dup_ae": f"{mod_a}:Tiny"})
    fake.activate()
    runner = CliRunner()
    broken = runner.invoke(main, ["info", "bad_ae"])
    assert broken.exit_code == 1
    assert "error: model 'bad_ae' from sentae-fake-broken 0.0.1 is broken: ImportError: needs nonexistent_dep_xyz" in broken.stderr
    listing = runner.invoke(main, ["list"])
    assert listing.exit_code == 0
    assert "conflict: 'dup_ae' is registered by" in listing.stderr
    assert "sentae-fake-alpha 1.0" in listing.stderr and "sentae-fake-beta 2.0" in listing.stderr
    check = runner.invoke(main, ["list", "--check"])
    assert check.exit_code == 0
    rows = {line.split()[0]: line for line in check.stdout.splitlines()[2:]}
    assert "broken: ImportError: needs nonexistent_dep_xyz" in rows["bad_ae"]
    assert "conflict: also" in rows["dup_ae"]
    assert rows["mlp_vae"].split()[-1] == "ok"


# --------------------------------------------------------------------------------------------------------------
# config show


def test_config_show_rejects_an_options_typo():
    result = CliRunner().invoke(main, ["config", "show", str(ROOT / "recipes" / "quickstart.yaml"),
                                       "--set", "data.options.tokeniser=bpe"])
    assert result.exit_code != 0
    assert "unknown key 'data.options.tokeniser'; did you mean 'data.options.tokenizer'?" in result.output
    assert "quickstart.yaml" in result.output


def test_config_show_prints_options_with_defaults():
    result = CliRunner().invoke(main, ["config", "show", str(ROOT / "recipes" / "yelp_ctrl_vae.yaml")])
    assert result.exit_code == 0, result.output
    options = yaml.safe_load(result.output)["data"]["options"]
    # given in the recipe
    assert options["vocab_size"] == 10000 and options["balance_max_repeat"] == 5 and options["require_labels"] == ["tense"]
    # filled in
    assert options["tokenizer"] == "word" and options["max_length"] == 50 and options["length_policy"] == "truncate"
    quick = yaml.safe_load(CliRunner().invoke(main, ["config", "show", str(ROOT / "recipes" / "quickstart.yaml")]).output)
    assert quick["data"]["options"]["size"] == 24_000 and quick["data"]["options"]["seed"] == 0


# --------------------------------------------------------------------------------------------------------------
# CLI as a real process


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop(AUTOLOAD_ENV, None)
    env.update(extra)
    return env


def sentae_run(*args: str) -> subprocess.CompletedProcess:
    """``python -m sentae ARGS`` with one intra-op thread, as users on a shared machine would run it."""
    env = {**_env(), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "sentae", *args], capture_output=True, text=True, env=env,
                          timeout=TIMEOUT_S)


def test_subprocess_help_and_misspelled_info():
    help_run = subprocess.run([sys.executable, "-m", "sentae", "--help"], capture_output=True, text=True,
                              env=_env(), timeout=TIMEOUT_S)
    assert help_run.returncode == 0, help_run.stderr
    for command in ("list", "info", "train", "config"):
        assert command in help_run.stdout

    info_run = subprocess.run([sys.executable, "-m", "sentae", "info", "mlp_vea"], capture_output=True, text=True,
                              env=_env(), timeout=TIMEOUT_S)
    assert info_run.returncode == 1
    assert info_run.stderr.splitlines()[0] == "error: unknown model 'mlp_vea'; did you mean 'mlp_vae'?"
    assert "Traceback" not in info_run.stderr
    assert info_run.stdout == ""


def test_subprocess_list_check_with_a_broken_fake_plugin(fake):
    good_plugin(fake)
    bad_mod = fake.module("bad", "raise ImportError('needs nonexistent_dep_xyz')\n")
    fake.dist("sentae-fake-broken", "0.0.1", {"bad_ae": f"{bad_mod}:Model"})
    site = fake.tmp_path / "site"
    existing = os.environ.get("PYTHONPATH")
    pythonpath = str(site) + (os.pathsep + existing if existing else "")
    run = subprocess.run([sys.executable, "-m", "sentae", "list", "--check"], capture_output=True, text=True,
                         env=_env(PYTHONPATH=pythonpath), timeout=TIMEOUT_S)
    assert run.returncode == 0, run.stderr
    rows = {line.split()[0]: line for line in run.stdout.splitlines()[2:]}
    assert "sentae-fake-broken" in rows["bad_ae"]
    assert "broken: ImportError: needs nonexistent_dep_xyz" in rows["bad_ae"]
    assert rows["tiny_ae"].split()[-1] == "ok"
    assert rows["mlp_vae"].split()[-1] == "ok"
    assert rows["conv_ae"].split()[-1] == "ok"


def test_cli_errors_are_one_clear_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: {type: mlp_vae}\ntrain: {max_step: 10}\n")
    res = sentae_run("train", str(bad), "--out", str(tmp_path / "x"))
    assert res.returncode == 1
    assert res.stderr.strip() == f"error: {bad}: unknown key 'train.max_step'; did you mean 'train.max_steps'?"
    assert not (tmp_path / "x").exists()


def test_module_help_and_version():
    res = sentae_run("--help")
    assert res.returncode == 0 and "train" in res.stdout and "list" in res.stdout
    res = sentae_run("--version")
    assert res.returncode == 0 and res.stdout.startswith("sentae 0.1.0")
    for sub in (["list"], ["info"], ["train"], ["config", "show"]):
        res = sentae_run(*sub, "--help")
        assert res.returncode == 0 and "Usage:" in res.stdout, sub
