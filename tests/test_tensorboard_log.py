"""TensorBoard of a text run: `<split>/<metric>` tags, the projector embedding of posterior means with sentence and
attribute metadata, text samples and reconstructions, hparams; a failure of the summaries never stops training."""
import json
import random
import warnings

import pytest

pytest.importorskip("tensorboard")  # an optional extra (sentae[tensorboard]); the test extra installs it
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

import sentae  # noqa: E402
from sentae.run import EVENTS  # noqa: E402
from sentae.training import tensorboard_log  # noqa: E402
from sentae.training.tensorboard_log import EMBED_NAME, forget_projector_after, tag, write_projector  # noqa: E402

VERB = {"past": "was", "present": "is", "future": "will be"}


def _recipe(root, model, steps=20):
    rng = random.Random(1)
    rows = []
    for i in range(300):
        s, t = rng.choice(["negative", "positive"]), rng.choice(list(VERB))
        rows.append({"text": f"the {rng.choice(['food', 'staff', 'room'])} {VERB[t]} "
                             f"{'good' if s == 'positive' else 'bad'}\tand\tfine .", "sentiment": s,
                     "tense": None if i % 6 == 0 else t})
    corpus = root / "c.jsonl"
    corpus.write_text("\n".join(json.dumps(r) for r in rows))
    return {
        "name": "tb", "model": model,
        "data": {"source": "text", "path": str(corpus), "val_fraction": 0.2, "test_fraction": 0.1,
                 "options": {"attributes": {"sentiment": ["negative", "positive"],
                                            "tense": ["past", "present", "future"]}}},
        "train": {"max_steps": steps, "batch_size": 16, "lr": 0.01, "eval_every": steps // 2, "ckpt_every": steps,
                  "log_every": 5, "progress": "none", "threads": 1},
    }


CTRL = {"type": "ctrl_vae", "embedding_size": 11, "hidden_size": 13, "latent_size": 7, "classifier_embedding": 9,
        "classifier_filters": 10, "control_start_step": 10, "generated_length": 8}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("tb")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # the summaries must not have failed
        return sentae.train(_recipe(root, CTRL), out=root / "run").path


def _events(run):
    acc = EventAccumulator(str(run / EVENTS), size_guidance={"tensors": 0, "scalars": 0})
    acc.Reload()
    return acc


def test_tags_follow_one_scheme(run):
    scalars = set(_events(run).Tags()["scalars"])
    # two optimizers: their losses sit under train/ beside the model's metrics, validation under val/
    assert {"train/loss/main", "train/loss/disc", "train/rec", "train/kl", "train/lr", "val/loss", "val/kl"} <= scalars
    assert all(t.split("/", 1)[0] in ("train", "val") for t in scalars), scalars
    assert tag("train", "loss/main") == "train/loss/main" and tag("val", "val/kl_dim/3") == "val/kl_dim/3"
    # metrics.jsonl keeps its keys
    first = json.loads((run / "metrics.jsonl").read_text().splitlines()[0])
    assert "loss/main" in first and "train/loss/main" not in first


def test_projector_embedding_with_metadata(run):
    events = run / EVENTS
    config = (events / "projector_config.pbtxt").read_text()
    assert config.count("embeddings {") == 2  # one per validation (steps 10 and 20)
    assert f'tensor_name: "{EMBED_NAME}:10"' in config and f'tensor_name: "{EMBED_NAME}:20"' in config
    folder = events / "projector" / "00000020"
    assert 'tensor_path: "projector/00000020/tensors.tsv"' in config
    meta = (folder / "metadata.tsv").read_text().splitlines()
    tensors = (folder / "tensors.tsv").read_text().splitlines()
    assert meta[0] == "sentence\tsentiment\ttense"
    assert len(meta) - 1 == len(tensors) == 60  # every validation sentence (the split has 60, under the bound)
    assert all(len(line.split("\t")) == 3 for line in meta)  # tabs inside sentences do not add columns
    assert all(len(line.split("\t")) == 7 for line in tensors)  # latent_size
    assert {line.split("\t")[1] for line in meta[1:]} == {"negative", "positive"}
    assert "?" in {line.split("\t")[2] for line in meta[1:]}  # a sentence without a tense label


def test_text_and_hparams_summaries(run):
    acc = _events(run)
    assert {"val/samples/text_summary", "val/reconstructions/text_summary"} <= set(acc.Tags()["tensors"])
    text = acc.Tensors("val/reconstructions/text_summary")
    assert [e.step for e in text] == [10, 20]
    table = text[-1].tensor_proto.string_val[0].decode()
    assert "| input | reconstruction |" in table and table.count("\n| the ") >= 1
    hp = acc.PluginTagToContent("hparams")
    assert "_hparams_/experiment" in hp and "_hparams_/session_start_info" in hp
    from tensorboard.plugins.hparams import plugin_data_pb2

    start = plugin_data_pb2.HParamsPluginData.FromString(hp["_hparams_/session_start_info"]).session_start_info
    assert start.hparams["model.type"].string_value == "ctrl_vae"
    assert start.hparams["train.lr"].number_value == pytest.approx(0.01)
    assert start.hparams["model.latent_size"].number_value == 7
    experiment = plugin_data_pb2.HParamsPluginData.FromString(hp["_hparams_/experiment"]).experiment
    assert "val/loss" in {m.name.tag for m in experiment.metric_infos}


def test_a_failing_summary_warns_once_and_training_goes_on(tmp_path, monkeypatch):
    def broken(*args, **kw):
        raise ValueError("no payload")

    monkeypatch.setattr(tensorboard_log, "text_payload", broken)
    recipe = _recipe(tmp_path, {"type": "rnn_vae", "embedding_size": 11, "hidden_size": 13, "latent_size": 5})
    recipe["train"]["eval_every"] = 4  # five validations
    with pytest.warns(RuntimeWarning, match="TensorBoard validation summaries failed") as caught:
        result = sentae.train(recipe, out=tmp_path / "run").result
    assert result.steps == 20 and "val/elbo" in result.val_metrics
    assert len([w for w in caught if "summaries failed" in str(w.message)]) == 1
    assert not (tmp_path / "run" / EVENTS / "projector").exists()


def test_a_resumed_run_forgets_later_embeddings(tmp_path):
    import torch

    for step in (10, 20, 30):
        write_projector(tmp_path, step, torch.zeros(2, 3), [["a"], ["b"]], ["sentence"])
    (tmp_path / "projector" / "00000030" / "mine.txt").write_text("a user's file")
    forget_projector_after(tmp_path, 15)
    config = (tmp_path / "projector_config.pbtxt").read_text()
    assert config.count("embeddings {") == 1 and f"{EMBED_NAME}:10" in config
    assert not (tmp_path / "projector" / "00000020").exists()
    # only sentae's files go: a folder holding another file stays, with that file
    assert sorted(p.name for p in (tmp_path / "projector" / "00000030").iterdir()) == ["mine.txt"]
    assert (tmp_path / "projector" / "00000010" / "metadata.tsv").read_text() == "a\nb\n"  # one column: no header


def test_a_failed_start_with_projector_files_is_replaced(tmp_path):
    from sentae.run import RunFolder

    d = tmp_path / "run"
    d.mkdir()
    RunFolder(d).write_marker()
    (d / "config.yaml").write_text("from a run that failed before its first checkpoint\n")
    events = d / EVENTS
    (events / "projector" / "00000005").mkdir(parents=True)
    (events / "events.out.tfevents.1.host").write_bytes(b"x")
    (events / "projector_config.pbtxt").write_text("")
    (events / "projector" / "00000005" / "tensors.tsv").write_text("0\n")
    recipe = _recipe(tmp_path, {"type": "rnn_vae", "embedding_size": 11, "hidden_size": 13, "latent_size": 5}, 4)
    sentae.train(recipe, out=d)  # only sentae's files were there: the new run takes the folder
    assert "tb" in (d / "config.yaml").read_text()
    assert not (events / "projector" / "00000005").exists()
