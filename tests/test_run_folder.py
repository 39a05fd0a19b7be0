"""sentae.run owns the run folder; sentae.io writes files atomically; sentae.evaluate is the Python `sentae eval`."""
from __future__ import annotations

import json

import pytest

import sentae
from sentae.errors import CheckpointError, PluginError, SentaeError
from sentae.io import atomic_copy, atomic_write_text
from sentae.registry import AUTOLOAD_ENV, REGISTRY, autoload_disabled
from sentae.run import CHECKPOINTS, RunFolder


def _recipe(**train):
    base = {"max_steps": 12, "batch_size": 16, "eval_every": 6, "ckpt_every": 6, "log_every": 6, "progress": "none"}
    base.update(train)
    return {"name": "r", "model": {"type": "mlp_vae", "hidden_size": 13, "latent_size": 7},
            "data": {"source": "digits", "limit": 200}, "train": base}


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    return sentae.train(_recipe(), out=tmp_path_factory.mktemp("img") / "run")


def test_atomic_write_replaces_whole_files_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "f.txt"
    atomic_write_text(target, "old")
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_a_failed_atomic_write_keeps_the_old_file(tmp_path):
    from sentae.io import atomic_write_with

    target = tmp_path / "f.txt"
    atomic_write_text(target, "kept")

    def fails(tmp):
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write_with(target, fails)
    assert target.read_text() == "kept"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]  # the temporary file went too


def test_atomic_copy(tmp_path):
    (tmp_path / "a").write_bytes(b"\x00\x01")
    atomic_copy(tmp_path / "a", tmp_path / "b")
    assert (tmp_path / "b").read_bytes() == b"\x00\x01"


def test_only_exact_step_names_are_checkpoints_in_step_order(tmp_path):
    root = tmp_path / CHECKPOINTS
    for name in ["step-00000100", "step-00000020", "step-zzz", "step-00000100.bak", ".step-00000300.tmp-12"]:
        (root / name).mkdir(parents=True)
    assert [p.name for p in RunFolder(tmp_path).checkpoints()] == ["step-00000020", "step-00000100"]


def test_run_folder_reads_what_training_wrote(image_run):
    run = RunFolder(image_run.path)
    assert run.modality() == "image"
    assert run.read_config()["model"]["latent_size"] == 7
    assert run.read_spec()["type"] == "mlp_vae"
    assert [p.name for p in run.checkpoints()] == ["step-00000006", "step-00000012"]
    model = run.load_model()
    assert not model.training and model.data_info.image_shape == (1, 8, 8)
    data = run.rebuild_data()
    assert data.info.image_shape == (1, 8, 8) and data.split_size("train") > 0


def test_a_corrupt_model_json_is_named(tmp_path):
    (tmp_path / "model.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="model.json: corrupt JSON"):
        RunFolder(tmp_path).load_model()
    assert RunFolder(tmp_path).modality() is None
    with pytest.raises(CheckpointError, match="is not a run folder: model.json is missing"):
        RunFolder(tmp_path / "nothing").read_spec()


def test_evaluate_is_the_python_eval_for_image_runs(image_run):
    report = sentae.evaluate(image_run.path, max_images=12, figures=False)
    assert report["modality"] == "image" and report["images"] == 12
    assert report["metrics"]["sse_per_image"] > 0
    text = sentae.format_report(report)
    assert "reconstruction SSE per image" in text


def test_bf16_evaluation_of_an_image_run_is_an_error_that_says_so(image_run):
    with pytest.raises(SentaeError, match="applies to text runs"):
        sentae.evaluate(image_run.path, max_images=12, figures=False, precision="bf16")


def test_evaluate_names_what_is_wrong_with_a_folder(tmp_path):
    with pytest.raises(SentaeError, match="model.json is missing"):
        sentae.evaluate(tmp_path)


def test_cli_eval_writes_the_json_report(image_run, tmp_path):
    from click.testing import CliRunner

    from sentae.cli import main

    out = tmp_path / "report.json"
    res = CliRunner().invoke(main, ["eval", str(image_run.path), "--max-sentences", "15", "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "reconstruction SSE per image" in res.output
    assert json.loads(out.read_text())["images"] == 15


def test_model_info_lists_fields_with_help():
    about = sentae.model_info("mlp_vae")
    assert about["modality"] == "image" and about["distribution"] == "sentae-plugin-template"
    fields = {f["field"]: f for f in about["fields"]}
    assert fields["latent_size"]["type"] == "int" and fields["latent_size"]["help"]


@pytest.mark.parametrize("value, off", [("1", True), ("true", True), ("YES", True), ("0", False), ("", False),
                                        ("no", False)])
def test_one_reading_of_the_autoload_switch(monkeypatch, value, off):
    monkeypatch.setenv(AUTOLOAD_ENV, value)
    assert autoload_disabled() is off


def test_roles_find_the_model_that_serves_them():
    assert REGISTRY.for_role("language_model") == "rnn_lm"
    assert REGISTRY.for_role("attribute_classifier") == "text_classifier"
    with pytest.raises(PluginError, match="no installed model serves as 'oracle'"):
        REGISTRY.for_role("oracle")


def test_a_model_that_does_not_fit_its_data_is_a_config_error(tmp_path):
    from sentae.errors import ConfigError

    bad = _recipe()
    bad["model"] = {"type": "rnn_lm", "softmax": {"kind": "adaptive", "cutoffs": [50000]}}
    bad["data"] = {"source": "reviews", "limit": 300}
    with pytest.raises(ConfigError, match="model 'rnn_lm'"):
        sentae.train(bad, out=tmp_path / "run")
    assert not (tmp_path / "run" / "model.safetensors").exists()


@pytest.mark.parametrize("spec, message", [
    ({"type": 3, "config": {}, "data_info": {}}, "'type' must be a string"),
    ({"type": "mlp_vae", "config": [], "data_info": {}}, "'config' must be a mapping"),
    ({"type": "mlp_vae", "config": {}, "data_info": "image"}, "'data_info' must be a mapping"),
    ({"type": "mlp_vae", "config": {"hidden_sise": 3}, "data_info": {}}, "model.json: .*hidden_sise"),
])
def test_a_broken_model_json_is_one_line_naming_it(tmp_path, spec, message):
    (tmp_path / "model.json").write_text(json.dumps(spec))
    with pytest.raises(CheckpointError, match=message) as err:
        RunFolder(tmp_path).load_model()
    assert "\n" not in str(err.value).strip()


def test_a_broken_config_yaml_is_one_line_naming_it(tmp_path):
    (tmp_path / "config.yaml").write_text("model: [unclosed\n  data: 3\n")
    with pytest.raises(CheckpointError, match="config.yaml: not valid YAML") as err:
        RunFolder(tmp_path).read_config()
    assert "\n" not in str(err.value)


def test_a_run_folder_that_cannot_be_made_is_one_error():
    with pytest.raises(SentaeError, match="cannot write the run folder /proc/sentae-test-run"):
        sentae.train(_recipe(), out="/proc/sentae-test-run")


def test_an_unreadable_corpus_is_one_data_error(tmp_path, monkeypatch):
    from pathlib import Path

    from sentae.errors import DataError

    corpus = tmp_path / "c.txt"
    corpus.write_text("a b c\n" * 50)

    def refuse(self, *a, **kw):
        raise PermissionError(13, "Permission denied", str(self))

    from sentae.data import build_data
    from sentae.data.config import DataConfig

    monkeypatch.setattr(Path, "read_bytes", refuse)  # what chmod 000 does to anyone but root
    with pytest.raises(DataError, match=r"c.txt: cannot be read \(Permission denied\)"):
        build_data(DataConfig(source="text", path=str(corpus)))
