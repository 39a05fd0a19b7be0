"""Hostile or careless input gets bounded work and one true line: recipes that expand without end, counts that make
no sense, weights of another model, missing devices, outputs that cannot be written."""
from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import sentae
from sentae.cli import main
from sentae.config import MAX_DEPTH, apply_override, load_recipe, parse_yaml
from sentae.errors import CheckpointError, ConfigError, SentaeError, WriteError
from sentae.io import atomic_write_text
from sentae.run import RunFolder
from sentae.training.checkpoint import load_state
from sentae.weights import load_weights, resolve_device, save_weights

ROOT = Path(__file__).resolve().parents[1]
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0  # root reads and writes through any permission bits

RECIPE = """\
name: tiny
model:
  type: mlp_vae
  hidden_size: 13
  latent_size: 7
data:
  source: digits
  limit: 50
"""


def laughs(levels: int = 9) -> str:
    """The "billion laughs" document: each level is nine aliases of the one before (9**levels strings)."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def one_line_error(result, code: int = 1) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def text_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    words = ["the cat", "a dog", "my friend"], ["likes", "sees"], ["the ball", "green tea", "a red box"]
    corpus = root / "corpus.txt"
    corpus.write_text("\n".join(f"{a} {b} {c}" for a in words[0] for b in words[1] for c in words[2]) * 4)
    recipe = {
        "name": "hostile",
        "model": {"type": "rnn_vae", "embedding_size": 11, "hidden_size": 13, "latent_size": 7},
        "data": {"source": "text", "path": str(corpus), "val_fraction": 0.1, "test_fraction": 0.1},
        "train": {"max_steps": 4, "batch_size": 8, "eval_every": 4, "ckpt_every": 4, "progress": "none"},
    }
    return sentae.train(recipe, out=root / "run").path


# -- 1. recipes: bounded expansion, bounded messages ----------------------------------------------------------
def test_billion_laughs_is_refused_at_once(tmp_path):
    path = tmp_path / "laughs.yaml"
    path.write_text(RECIPE + laughs())
    assert path.stat().st_size < 1000
    started = time.perf_counter()
    with pytest.raises(ConfigError, match=r"laughs\.yaml: line \d+: the aliases expand to more than 100,000 values"):
        load_recipe(path)
    assert time.perf_counter() - started < 5
    line = one_line_error(CliRunner().invoke(main, ["config", "show", str(path)]))
    assert len(line) < 200


def test_billion_laughs_in_an_override_is_refused():
    flow = "[&a [x, x, x, x, x, x, x, x, x]" + "".join(
        f", &{b} [{', '.join([f'*{a}'] * 9)}]" for a, b in zip("abcdefghi", "bcdefghij")) + "]"
    with pytest.raises(ConfigError, match=r"override 'model.hidden_size': line 1: the aliases expand"):
        apply_override({}, f"model.hidden_size={flow}")


def test_deep_nesting_is_one_line_not_a_recursion_error(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text(RECIPE.replace("hidden_size: 13", "hidden_size: " + "[" * 400 + "]" * 400))
    line = one_line_error(CliRunner().invoke(main, ["config", "show", str(path)]))
    assert line == f"error: {path}: line 4: nested deeper than {MAX_DEPTH} levels; a recipe may nest at most {MAX_DEPTH}"
    deep: dict = {}
    for _ in range(400):
        deep = {"a": deep}
    with pytest.raises(ConfigError, match=rf"<dict>: the recipe nests deeper than {MAX_DEPTH} levels"):
        load_recipe({"model": {"type": "mlp_vae"}, "data": deep})


def test_aliases_that_contain_themselves_or_nest_too_deep_are_refused():
    with pytest.raises(ConfigError, match="line 1: an alias refers to a mapping or list that contains it"):
        parse_yaml("model: &a {type: mlp_vae, again: *a}\n")
    # each line is shallow, but the aliases nest them 40 deep
    text = "l0: &l0 [1]\n" + "".join(f"l{i}: &l{i} [*l{i - 1}]\n" for i in range(1, 40))
    with pytest.raises(ConfigError, match=f"the aliases expand to more than {MAX_DEPTH} nested levels"):
        parse_yaml(text)
    many = "a: &a 1\nb: [" + ", ".join(["*a"] * 300) + "]\n"
    with pytest.raises(ConfigError, match="more than 256 aliases"):
        parse_yaml(many)


def test_a_huge_value_is_named_by_a_short_view(tmp_path):
    path = tmp_path / "long.yaml"
    path.write_text(RECIPE.replace("hidden_size: 13", "hidden_size: [" + ", ".join(["12345"] * 50_000) + "]"))
    with pytest.raises(ConfigError) as exc:
        load_recipe(path)
    msg = str(exc.value)
    assert msg.startswith(f"{path}: 'model.hidden_size' must be") and "[12345, 12345, 12345, 12345, ...]" in msg
    assert len(msg) < 300


def test_merge_keys_merge_and_the_keys_beside_them_win(tmp_path):
    assert parse_yaml("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n")["m"] == {"x": 1, "y": 3}
    path = tmp_path / "merge.yaml"
    path.write_text(RECIPE + "train:\n  <<: {max_steps: 5, batch_size: 4}\n  batch_size: 8\n")
    recipe = load_recipe(path)
    assert (recipe.train.max_steps, recipe.train.batch_size) == (5, 8)
    path.write_text(RECIPE + "train:\n  <<: 3\n")
    line = one_line_error(CliRunner().invoke(main, ["config", "show", str(path)]))
    assert "expected a mapping or list of mappings for merging" in line and "(line 10, column 7)" in line


def test_yaml_errors_are_one_line_with_line_and_column(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("train:\n  lr: [1\nmodel: {type: mlp_vae}\n")
    line = one_line_error(CliRunner().invoke(main, ["config", "show", str(path)]))
    assert line == (f"error: {path}: not valid YAML data: while parsing a flow sequence (line 2, column 7): "
                    f"expected ',' or ']', but got ':' (line 3, column 6)")
    path.write_text(RECIPE + "train: {lr: 0.1, lr: 0.2}\n")
    assert str(pytest.raises(ConfigError, load_recipe, path).value) == (
        f"{path}: not valid YAML data: key 'lr' appears twice (line 9, column 18)")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_is_not_a_recipe(tmp_path):
    fifo = tmp_path / "recipe.yaml"
    os.mkfifo(fifo)
    line = one_line_error(CliRunner().invoke(main, ["config", "show", str(fifo)]))
    assert line == f"error: {fifo} is not a regular file (a named pipe); a recipe is a YAML file"


def test_a_recipe_larger_than_the_bound_is_not_read(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text(RECIPE + "#" * (1 << 20))
    with pytest.raises(ConfigError, match=r"big\.yaml: the file is larger than 1024 KiB"):
        load_recipe(path)


# -- 2. counts that make no sense, bounded generation -----------------------------------------------------------
@pytest.mark.parametrize("args, option", [
    (["sample", "{run}", "-n", "0"], "'-n' / '--num'"),
    (["sample", "{run}", "-n", "-5"], "'-n' / '--num'"),
    (["eval", "{run}", "--iw-samples", "0"], "'--iw-samples'"),
    (["eval", "{run}", "--batch-size", "0"], "'--batch-size'"),
    (["eval", "{run}", "--max-sentences", "0"], "'-n' / '--max-sentences'"),
    (["eval", "{run}", "-n", "-3"], "'-n' / '--max-sentences'"),
    (["eval", "{run}", "--prior-samples", "-1"], "'--prior-samples'"),
    (["interpolate", "{run}", "a", "b", "--steps", "1"], "'-n' / '--steps'"),
    (["interpolate", "{run}", "a", "b", "-n", "1"], "'-n' / '--steps'"),
    (["neighbours", "{run}", "a", "-n", "0"], "'-n' / '--num'"),
    (["transfer", "{run}", "-", "--attribute", "x", "--to", "y", "--count", "0"], "'--count'"),
])
def test_cli_refuses_counts_as_usage_errors(tmp_path, args, option):
    result = CliRunner().invoke(main, [a.format(run=tmp_path) for a in args], input="a b\n")
    assert result.exit_code == 2 and f"Invalid value for {option}" in result.output


@pytest.mark.parametrize("args, message", [
    (["--temperature", "nan"], "error: decoding: temperature must be a finite number, got nan"),
    (["--strategy", "sample", "--top-p", "2"], "top_p"),
])
def test_cli_refuses_decoding_values_in_one_line(text_run, args, message):
    assert message in one_line_error(CliRunner().invoke(main, ["sample", str(text_run), *args]))


def test_the_api_refuses_the_same_counts(text_run):
    sampler = sentae.load(text_run)
    for bad in (0, -5, True, 2.5):
        with pytest.raises(SentaeError, match="sample: n must be"):
            sampler.sample(bad)
    with pytest.raises(SentaeError, match="temperature must be a finite number"):
        sampler.sample(2, temperature=float("nan"))
    with pytest.raises(SentaeError, match="interpolate: steps must be at least 2, got 1"):
        sampler.interpolate("a", "b", steps=1)
    with pytest.raises(SentaeError, match="neighbours: n must be at least 1"):
        sampler.neighbours("a", n=0)
    with pytest.raises(SentaeError, match="transfer: count must be at least 1"):
        sampler.transfer(["a"], {"sentiment": "positive"}, count=0)
    for options, name in (({"iw_samples": 0}, "iw_samples"), ({"max_sentences": -1}, "max_sentences"),
                          ({"batch_size": 0}, "batch_size"), ({"prior_samples": -1}, "prior_samples")):
        with pytest.raises(SentaeError, match=f"{name} must be at least 1"):
            sentae.evaluate(text_run, **options)


def test_samples_are_made_and_written_in_bounded_batches(text_run, tmp_path, monkeypatch):
    sampler = sentae.load(text_run)
    sizes = [len(batch) for batch in sampler.iter_samples(600, seed=0)]
    assert sizes == [256, 256, 88]
    assert next(iter(sampler.iter_samples(5, seed=3))) == sampler.sample(5, seed=3)
    # the CLI asks the model for at most a batch at a time, whatever -n is
    from sentae_text.rnn_vae import RNNVAE

    asked: list[int] = []
    generate = RNNVAE.generate
    monkeypatch.setattr(RNNVAE, "generate", lambda self, z, n, *a: asked.append(n) or generate(self, z, n, *a))
    out = tmp_path / "samples.txt"
    result = CliRunner().invoke(main, ["sample", str(text_run), "-n", "700", "-o", str(out), "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert asked == [256, 256, 188] and len(out.read_text().splitlines()) == 700
    assert result.stderr == ""  # no progress bar when stderr is not a terminal


def test_a_progress_bar_only_on_a_terminal(monkeypatch):
    from sentae.cli.common import _progress_bar

    assert _progress_bar(10, "out.txt") is None  # pytest's stderr is no terminal
    pytest.importorskip("tqdm")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    bar = _progress_bar(10, "out.txt")
    assert bar is not None and bar.total == 10
    bar.close()


def test_a_reader_that_goes_away_ends_the_stream_quietly(text_run):
    proc = subprocess.Popen([sys.executable, "-m", "sentae", "sample", str(text_run), "-n", "1000000000", "--seed", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # a line has arrived (a barely trained model may write an empty sentence: "\n" is still a line)
        assert proc.stdout.readline().endswith("\n")
        proc.stdout.close()
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert "Traceback" not in err and proc.returncode == 1


# -- 3. messages that say what is wrong ---------------------------------------------------------------------------
def test_weights_of_another_architecture_name_the_tensor_and_both_shapes(tmp_path):
    path = tmp_path / "w.safetensors"
    save_weights(torch.nn.Linear(64, 541), path)
    with pytest.raises(CheckpointError) as exc:
        load_weights(torch.nn.Linear(64, 540), path)
    assert str(exc.value) == (f"{path}: the weights are for another architecture: bias has shape [541] in the file, "
                              f"[540] in the model (and 1 more tensor(s) differ)")
    with pytest.raises(CheckpointError) as exc:
        load_weights(torch.nn.Sequential(torch.nn.Linear(64, 541)), path)
    assert str(exc.value) == (f"{path}: the weights are for another architecture: 2 tensor(s) of the model are not "
                              f"in the file (0.bias, 0.weight); 2 tensor(s) in the file are not in the model "
                              f"(bias, weight)")
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(CheckpointError, match="the file is truncated or corrupt"):
        load_weights(torch.nn.Linear(64, 541), path)


def test_a_device_that_is_not_there_is_named(text_run):
    with pytest.raises(SentaeError, match="^device 'banana' is not a device name"):
        RunFolder(text_run).load_model("banana")
    line = one_line_error(CliRunner().invoke(main, ["sample", str(text_run), "--device", "banana"]))
    assert line == "error: device 'banana' is not a device name (cpu, cuda, cuda:1, mps, auto)"
    if torch.cuda.is_available():
        with pytest.raises(SentaeError, match="device 'cuda:99' does not exist: this machine has"):
            resolve_device("cuda:99")
    else:
        with pytest.raises(SentaeError, match="^device is 'cuda' but CUDA is not available on this machine"):
            RunFolder(text_run).load_model("cuda")


def test_an_unloadable_trainer_state_never_suggests_the_unsafe_load(tmp_path):
    path = tmp_path / "trainer_state.pt"
    torch.save({"step": 3, "obj": Path("x")}, path)
    with pytest.raises(CheckpointError) as exc:
        load_state(path)
    msg = str(exc.value)
    assert "weights_only" not in msg and "\n" not in msg
    assert msg == (f"{path}: cannot read trainer state: the file is corrupt or not a sentae trainer state (it holds "
                   f"a Python object, pathlib.PosixPath, that a safe load refuses)")
    path.write_bytes(b"not a torch file")
    assert "not a sentae trainer state" in str(pytest.raises(CheckpointError, load_state, path).value)


# -- 4. outputs that cannot be written: one line naming the path ----------------------------------------------------
@pytest.mark.parametrize("command", [
    ["sample", "{run}"],
    ["reconstruct", "{run}", "-"],
    ["interpolate", "{run}", "a b", "c d"],
    ["transfer", "{run}", "-", "--attribute", "sentiment", "--to", "positive"],
])
def test_output_into_a_folder_or_a_missing_folder(text_run, tmp_path, command):
    args = [a.format(run=text_run) for a in command]
    line = one_line_error(CliRunner().invoke(main, [*args, "-o", str(tmp_path)], input="a b\n"))
    assert line == f"error: -o {tmp_path}: is a folder; give the name of a file to write"
    target = tmp_path / "missing" / "out.txt"
    line = one_line_error(CliRunner().invoke(main, [*args, "-o", str(target)], input="a b\n"))
    assert line == f"error: -o {target}: the folder {target.parent} does not exist"


def test_eval_json_into_a_missing_folder_fails_before_evaluating(text_run, tmp_path, monkeypatch):
    monkeypatch.setattr(sentae.api, "evaluate", lambda *a, **k: pytest.fail("evaluated before checking --json"))
    target = tmp_path / "missing" / "report.json"
    line = one_line_error(CliRunner().invoke(main, ["eval", str(text_run), "--json", str(target)]))
    assert line == f"error: --json {target}: the folder {target.parent} does not exist"


def test_a_full_disk_is_one_line_and_the_old_file_stays(tmp_path, monkeypatch):
    target = tmp_path / "f.txt"
    target.write_text("old")

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("sentae.io.os.fsync", full)
    with pytest.raises(WriteError) as exc:
        atomic_write_text(target, "new")
    assert str(exc.value) == f"cannot write {target}: No space left on device"
    assert isinstance(exc.value, OSError) and isinstance(exc.value, SentaeError)
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["f.txt"]


def test_a_write_into_a_missing_folder_names_the_folder(tmp_path):
    target = tmp_path / "no" / "f.txt"
    with pytest.raises(WriteError) as exc:
        atomic_write_text(target, "x")
    assert str(exc.value) == f"cannot write {target}: the folder {target.parent} does not exist"


def test_a_full_disk_while_sampling_to_a_file(text_run, tmp_path, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("sentae.io.os.fsync", full)
    out = tmp_path / "s.txt"
    line = one_line_error(CliRunner().invoke(main, ["sample", str(text_run), "-n", "3", "-o", str(out)]))
    assert line == f"error: cannot write {out}: No space left on device"
    assert not out.exists() and os.listdir(tmp_path) == []


@pytest.mark.parametrize("out", ["/proc/sentae-run", "/sys/sentae-run"])
def test_train_into_a_folder_nobody_may_write(out):
    if not Path(out).parent.is_dir():
        pytest.skip(f"no {Path(out).parent} here")
    recipe = str(ROOT / "recipes" / "mlp_vae_digits.yaml")
    line = one_line_error(CliRunner().invoke(main, ["train", recipe, "--set", "train.max_steps=1", "--out", out]))
    assert line.startswith(f"error: --out {out}: cannot write in {Path(out).parent} (")


@pytest.mark.skipif(AS_ROOT, reason="root writes into a read-only folder")
def test_train_into_a_read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o555)
    recipe = str(ROOT / "recipes" / "mlp_vae_digits.yaml")
    line = one_line_error(CliRunner().invoke(main, ["train", recipe, "--out", str(folder / "run")]))
    assert line == f"error: --out {folder / 'run'}: cannot write in {folder} (Permission denied)"


def _text_recipe(tmp_path: Path, corpus: Path) -> Path:
    path = tmp_path / "text.yaml"
    path.write_text(f"model: {{type: rnn_vae, embedding_size: 11, hidden_size: 13, latent_size: 7}}\n"
                    f"data: {{source: text, path: '{corpus}'}}\ntrain: {{max_steps: 1, progress: none}}\n")
    return path


@pytest.mark.skipif(AS_ROOT, reason="root reads files whatever their mode")
@pytest.mark.parametrize("kind", ["file", "folder"])
def test_an_unreadable_corpus_is_one_line(tmp_path, kind):
    corpus = tmp_path / "corpus"
    if kind == "folder":
        corpus.mkdir()
        (corpus / "train.txt").write_text("a b c\n")
    else:
        corpus.write_text("a b c\n")
    corpus.chmod(0)
    try:
        result = CliRunner().invoke(main, ["train", str(_text_recipe(tmp_path, corpus)), "--out", str(tmp_path / "r")])
    finally:
        corpus.chmod(0o755)
    assert str(corpus) in one_line_error(result)


def test_an_os_error_reaching_the_cli_is_one_line_naming_the_file(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("a b c\n" * 20)
    real = Path.read_bytes

    def denied(self: Path) -> bytes:
        if self == corpus:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    result = CliRunner().invoke(main, ["train", str(_text_recipe(tmp_path, corpus)), "--out", str(tmp_path / "r")])
    assert one_line_error(result) == f"error: {corpus}: cannot be read (Permission denied)"
