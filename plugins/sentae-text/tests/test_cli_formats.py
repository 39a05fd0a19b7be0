"""--format json|jsonl|tsv on the commands that print results: the same records in every format, the text format
unchanged, written to -o atomically or to standard output."""
import csv
import io
import json
import random

import pytest
from click.testing import CliRunner

import sentae
from sentae.cli import main

WORDS = [["the cat", "a dog", "my friend", "our neighbour"], ["likes", "sees", "wants"],
         ["fresh bread", "the ball", "green tea", "a red box"]]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    rng = random.Random(1)
    root = tmp_path_factory.mktemp("formats")
    corpus = root / "corpus.txt"
    corpus.write_text("\n".join(" ".join(rng.choice(w) for w in WORDS) for _ in range(300)))
    recipe = {"name": "tiny", "model": {"type": "rnn_vae", "embedding_size": 9, "hidden_size": 14, "latent_size": 5},
              "data": {"source": "text", "path": str(corpus)},
              "train": {"max_steps": 30, "batch_size": 16, "progress": "none", "eval_every": 30, "ckpt_every": 30}}
    return str(sentae.train(recipe, out=root / "run").path)


def _run(args, input=None):
    res = CliRunner().invoke(main, args, input=input)
    assert res.exit_code == 0, res.output
    return res.output


def _tsv(text):
    return list(csv.DictReader(io.StringIO(text), delimiter="\t"))


def test_sample_in_every_format_gives_the_same_sentences(run_dir):
    args = ["sample", run_dir, "-n", "4", "--seed", "3", "--strategy", "sample"]
    plain = _run(args).splitlines()
    assert len(plain) == 4
    assert [json.loads(line)["text"] for line in _run([*args, "--format", "jsonl"]).splitlines()] == plain
    assert [r["text"] for r in json.loads(_run([*args, "--format", "json"]))] == plain
    assert [r["text"] for r in _tsv(_run([*args, "--format", "tsv"]))] == plain
    assert _run([*args, "--format", "text"]).splitlines() == plain


def test_reconstruct_transfer_interpolate_neighbours_records(run_dir, tmp_path):
    inputs = "the cat likes fresh bread\na dog sees the ball\n"
    rows = [json.loads(x) for x in _run(["reconstruct", run_dir, "--format", "jsonl"], input=inputs).splitlines()]
    assert [r["input"] for r in rows] == inputs.split("\n")[:2]
    assert [r["output"] for r in rows] == _run(["reconstruct", run_dir], input=inputs).splitlines()
    path = json.loads(_run(["interpolate", run_dir, "the cat likes fresh bread", "a dog sees the ball",
                            "--steps", "3", "--format", "json"]))
    assert [p["t"] for p in path] == [0.0, 0.5, 1.0] and all(p["text"] for p in path)
    found = json.loads(_run(["neighbours", run_dir, "the cat likes fresh bread", "-n", "3", "--format", "json"]))
    assert len(found) == 3 and found == sorted(found, key=lambda r: r["distance"])
    assert {r["metric"] for r in found} == {"euclidean"}
    out = tmp_path / "n.tsv"
    _run(["neighbours", run_dir, "the cat likes fresh bread", "-n", "2", "--format", "tsv", "-o", str(out)])
    assert [r["text"] for r in _tsv(out.read_text())] == [r["text"] for r in found[:2]]


def test_empty_json_list_and_a_tab_inside_a_value(run_dir):
    from sentae.cli.formats import render

    assert list(render([], "json", list)) == [["[]"]]
    lines = [x for chunk in render([[{"a": "x\ty", "b": 1.5}]], "tsv", list) for x in chunk]
    assert lines == ["a\tb", "x y\t1.5"]


def test_list_and_info_speak_json(run_dir):
    models = [json.loads(x) for x in _run(["list", "--format", "jsonl"]).splitlines()]
    assert {"rnn_vae", "ctrl_vae"} <= {m["name"] for m in models}
    about = json.loads(_run(["info", "rnn_vae", "--format", "json"]))
    assert about["modality"] == "text" and any(f["field"] == "latent_size" for f in about["fields"])
    fields = _tsv(_run(["info", "rnn_vae", "--format", "tsv"]))
    assert any(f["field"] == "latent_size" for f in fields)
