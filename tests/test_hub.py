"""Run folders and the Hugging Face Hub, offline: a tiny run pushed (the upload function replaced by one that fills
a local Hub cache as `snapshot_download` leaves it) and pulled back with `sentae.load("user/repo")`; what is and is
not uploaded; config.json and the model card; references, revisions and offline mode. Nothing touches the network."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import sentae
import sentae.data.hub as hub
from sentae.cli import main
from sentae.data.hub import parse_ref
from sentae.errors import SentaeError
from sentae.run import CARD_MARK, RunFolder
from sentae.run_start import prepare_fresh


class FakeHub:
    """Stands in for ``huggingface_hub.HfApi``: a commit lands in ``cache`` the way ``snapshot_download`` leaves a
    repository there (blobs by content hash, snapshots/<commit>/ of relative symlinks, refs/<branch>)."""

    def __init__(self, cache: Path) -> None:
        self.cache, self.calls = cache, []

    def create_repo(self, repo_id, private=None, exist_ok=False):
        self.calls.append(("create_repo", repo_id, private))

    def create_branch(self, repo_id, branch, exist_ok=False):
        self.calls.append(("create_branch", repo_id, branch))

    def create_commit(self, repo_id, operations, commit_message, revision=None):
        root = self.cache / f"models--{repo_id.replace('/', '--')}"
        branch = revision or "main"
        ref = root / "refs" / branch
        parent = root / "snapshots" / ref.read_text() if ref.is_file() else None
        contents = {}
        if parent is not None:  # a commit adds to what the branch holds
            contents = {p.relative_to(parent).as_posix(): p.read_bytes() for p in parent.rglob("*") if p.is_file()}
        for op in operations:
            contents[op.path_in_repo] = Path(op.path_or_fileobj).read_bytes()
        commit = hashlib.sha1(json.dumps(sorted((k, hashlib.sha256(v).hexdigest()) for k, v in contents.items()))
                              .encode()).hexdigest()
        snap = root / "snapshots" / commit
        for name, data in contents.items():
            blob = root / "blobs" / hashlib.sha256(data).hexdigest()
            blob.parent.mkdir(parents=True, exist_ok=True)
            blob.write_bytes(data)
            link = snap / name
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.exists():
                link.symlink_to(os.path.relpath(blob, link.parent))
        ref.parent.mkdir(parents=True, exist_ok=True)
        ref.write_text(commit)
        self.calls.append(("create_commit", repo_id, branch, [op.path_in_repo for op in operations], commit_message))

        class Info:
            commit_url = f"https://huggingface.co/{repo_id}/commit/{commit}"
            oid = commit

        return Info()


@pytest.fixture
def fake_hub(tmp_path, monkeypatch):
    cache = tmp_path / "hub-cache"
    fake = FakeHub(cache)
    monkeypatch.setattr(hub, "hf_api", lambda token=None: fake)
    monkeypatch.delenv(hub.OFFLINE_ENV, raising=False)
    monkeypatch.delenv(hub.CACHE_ENV, raising=False)
    return fake


def _recipe(tokenizer: str = "word") -> dict:
    options = {"tokenizer": tokenizer} if tokenizer == "word" else {"tokenizer": tokenizer, "vocab_size": 150}
    return {"name": "hub_tiny", "model": {"type": "rnn_vae", "embedding_size": 11, "hidden_size": 13, "latent_size": 7},
            "data": {"source": "reviews", "limit": 300, "options": options},
            "train": {"max_steps": 6, "batch_size": 16, "eval_every": 0, "ckpt_every": 3, "progress": "none"}}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A quickstart-like text run (the quickstart's corpus, a controllable-size VAE), trained for a few steps."""
    out = tmp_path_factory.mktemp("runs") / "tiny"
    sentae.train(_recipe(), out=out)
    return out


def _copy(run: Path, target: Path) -> Path:
    import shutil

    shutil.copytree(run, target, ignore=shutil.ignore_patterns(".sentae-lock"))
    return target


def test_a_run_pushed_to_the_hub_loads_back_from_the_cache(tiny_run, tmp_path, fake_hub):
    run = _copy(tiny_run, tmp_path / "run")
    (run / ".env").write_text("HF_TOKEN=hf_secret\n")  # a user's file: never uploaded
    (run / "notes.txt").write_text("mine")
    result = sentae.push_to_hub(run, "me/tiny-vae", private=True)
    assert ("create_repo", "me/tiny-vae", True) in fake_hub.calls
    uploaded = [c for c in fake_hub.calls if c[0] == "create_commit"][0][3]
    assert uploaded == result.files
    assert {"model.json", "config.json", "model.safetensors", "tokenizer.json", "sentae_tokenizer.json",
            "tokenizer_config.json", "config.yaml", "data_info.json", "README.md", "metrics.jsonl"} <= set(uploaded)
    assert not [f for f in uploaded if f.startswith((".", "checkpoints/")) or f in {"notes.txt", "trainer_state.pt"}]
    assert result.commit.startswith("https://huggingface.co/me/tiny-vae/commit/")

    cache = fake_hub.cache
    pulled = sentae.load("me/tiny-vae", cache_dir=cache, local_files_only=True)
    local = sentae.load(run)
    assert pulled.tokenizer.fingerprint() == local.tokenizer.fingerprint()
    assert pulled.sample(3, seed=4) == local.sample(3, seed=4)
    assert pulled.run_dir.parent.name == "snapshots" and cache in pulled.run_dir.parents
    model = sentae.load_model("hf://me/tiny-vae", cache_dir=cache, local_files_only=True)
    for (name, a), b in zip(model.state_dict().items(), local.model.state_dict().values()):
        assert torch.equal(a, b), name
    from tokenizers import Tokenizer as HFTokenizer

    hf = HFTokenizer.from_file(str(pulled.run_dir / "tokenizer.json"))
    assert hf.encode("the food was great").ids == local.tokenizer.encode("the food was great")


def test_revisions_are_pinned_and_offline_reads_the_cache_only(tiny_run, tmp_path, fake_hub, monkeypatch):
    run = _copy(tiny_run, tmp_path / "run")
    first = sentae.push_to_hub(run, "me/tiny-vae").commit.rsplit("/", 1)[1]
    sentae.push_to_hub(run, "me/tiny-vae", revision="v2", message="second")
    assert ("create_branch", "me/tiny-vae", "v2") in fake_hub.calls
    monkeypatch.setenv(hub.OFFLINE_ENV, "1")  # read when a load happens: no local_files_only needed
    monkeypatch.setenv(hub.CACHE_ENV, str(fake_hub.cache))
    for ref in ("me/tiny-vae", "hf://me/tiny-vae@v2", f"hf://me/tiny-vae@{first}"):
        assert sentae.load(ref).sample(1, seed=0)
    assert sentae.load("me/tiny-vae", revision=first).run_dir.name == first
    with pytest.raises(SentaeError, match=r"me/tiny-vae@v3 could not be read in the local Hub cache \(offline\)"):
        sentae.load("hf://me/tiny-vae@v3")
    with pytest.raises(SentaeError, match="differ"):
        sentae.load("hf://me/tiny-vae@v2", revision="main")
    with pytest.raises(SentaeError, match=r"me/absent: no such local folder, and me/absent could not be read"):
        sentae.load("me/absent")


def test_local_paths_load_as_before_and_references_parse(tiny_run, tmp_path, monkeypatch):
    monkeypatch.chdir(tiny_run.parent)
    assert sentae.load("tiny").sample(1, seed=0)  # a local folder wins over the Hub form
    assert parse_ref("hf://me/x") == ("me/x", None) and parse_ref("me/x@main") == ("me/x", "main")
    assert parse_ref(Path("me/x")) is None and parse_ref("./me/x") is None and parse_ref("a/b/c") is None
    assert parse_ref("tiny/") is None
    with pytest.raises(SentaeError, match="not a Hub reference"):
        parse_ref("hf://me")
    with pytest.raises(SentaeError, match="is for Hub repositories"):
        sentae.load(tiny_run, revision="v1")


def test_dry_run_lists_the_upload_and_writes_nothing(tiny_run, tmp_path, fake_hub):
    run = _copy(tiny_run, tmp_path / "run")
    for name in ("config.json", "README.md"):
        (run / name).unlink(missing_ok=True)  # as in a run folder of an earlier version
    before = sorted(p.name for p in run.iterdir())
    res = CliRunner().invoke(main, ["push", str(run), "me/tiny-vae", "--dry-run", "--include-checkpoints"])
    assert res.exit_code == 0, res.output
    assert "would upload" in res.output and "checkpoints/step-00000006/model.safetensors" in res.output
    assert "  README.md" in res.output and "  config.json" in res.output and "  trainer_state.pt" in res.output
    assert ".sentae" not in res.output
    assert sorted(p.name for p in run.iterdir()) == before and fake_hub.calls == []
    res = CliRunner().invoke(main, ["push", str(run), "me/tiny-vae@v1", "--dry-run"])
    assert res.exit_code == 1 and "--revision" in res.output


def test_the_cli_push_uploads_and_reports_the_commit(tiny_run, tmp_path, fake_hub):
    run = _copy(tiny_run, tmp_path / "run")
    report = tmp_path / "eval.json"
    report.write_text(json.dumps({"model": "rnn_vae", "where": "test split, 200 sentences", "iw_samples": 50,
                                  "latent_size": 7, "prior_samples": 100, "prior_decoding": "sample",
                                  "metrics": {"iw_nll_nats_per_sentence": 41.25, "kl_nats_per_sentence": 2.5}}))
    res = CliRunner().invoke(main, ["push", str(run), "me/tiny-vae", "--eval-json", str(report), "--license", "mit"])
    assert res.exit_code == 0, res.output
    assert "uploaded" in res.output and "commit: https://huggingface.co/me/tiny-vae/commit/" in res.output
    card = (run / "README.md").read_text()
    assert card.startswith("---\nlibrary_name: sentae\nlicense: mit\n") and CARD_MARK in card
    assert "41.25" in card and "nats/sentence" in card and "sentae.load('me/tiny-vae')" in card
    assert "| sentae-text |" in card and "## Recipe" in card and "embedding_size: 11" in card


def test_files_sentae_did_not_write_are_neither_overwritten_nor_uploaded(tiny_run, tmp_path, fake_hub):
    run = _copy(tiny_run, tmp_path / "run")
    (run / "README.md").write_text("# my own card\n")
    (run / "config.json").write_text('{"model_type": "bert"}')
    result = sentae.push_to_hub(run, "me/tiny-vae")
    assert (run / "README.md").read_text() == "# my own card\n"
    assert (run / "config.json").read_text() == '{"model_type": "bert"}'
    assert "README.md" not in result.files and "config.json" not in result.files
    assert any("README.md was not written by sentae" in n for n in result.notes)


def test_config_json_is_written_with_the_model_description(tiny_run):
    cfg = json.loads((tiny_run / "config.json").read_text())
    spec = json.loads((tiny_run / "model.json").read_text())
    assert cfg["model_type"] == "rnn_vae" and cfg["architectures"] == ["rnn_vae"] and cfg["library_name"] == "sentae"
    assert cfg["sentae"]["config"] == spec["config"] and cfg["sentae"]["tokenizer"] == spec["tokenizer"]
    assert cfg["sentae"]["distribution"] == "sentae-text" and cfg["sentae"]["version"] == sentae.__version__


def test_pushing_a_run_that_is_being_written_is_refused(tiny_run, tmp_path, fake_hub):
    run = _copy(tiny_run, tmp_path / "run")
    lock = RunFolder(run).lock()
    try:
        with pytest.raises(SentaeError, match="is being written by process"):
            sentae.push_to_hub(run, "me/tiny-vae")
    finally:
        lock.release()
    assert fake_hub.calls == []


@pytest.mark.parametrize("tokenizer", ["unigram"])
def test_save_pretrained_exports_everything_a_load_needs(tmp_path, tokenizer, fake_hub):
    run = tmp_path / "run"
    sentae.train(_recipe(tokenizer), out=run)
    exported = sentae.save_pretrained(sentae.load(run).model, tmp_path / "bare", tokenizer=sentae.load(run).tokenizer)
    from_path = sentae.save_pretrained(run, tmp_path / "from_path")  # the run folder itself
    for folder in (exported, from_path):
        names = {p.name for p in folder.iterdir()}
        assert {"model.json", "config.json", "model.safetensors", "tokenizer.json", "spiece.model",
                "sentae_tokenizer.json", "README.md"} <= names
        assert sentae.load(folder).sample(2, seed=1) == sentae.load(run).sample(2, seed=1)
    assert (from_path / "config.yaml").is_file() and not (exported / "config.yaml").exists()
    sentae.push_to_hub(from_path, "me/exported")
    assert sentae.load("me/exported", cache_dir=fake_hub.cache, local_files_only=True).sample(1, seed=0)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "tokenizer.json").write_text("{}")
    with pytest.raises(SentaeError, match=r"was not made by sentae .* holds tokenizer\.json"):
        sentae.save_pretrained(run, foreign)
    assert (foreign / "tokenizer.json").read_text() == "{}" and sorted(p.name for p in foreign.iterdir()) == ["tokenizer.json"]


def test_an_old_run_folder_still_loads_and_pushes(tiny_run, tmp_path, fake_hub):
    """A run written before the standard tokenizer files: tokenizer.json in the single-file format, no
    sentae_tokenizer.json, tokenizer_config.json, config.json or README.md."""
    from sentae.data.tokenizers import FORMAT, SPECIALS

    run = _copy(tiny_run, tmp_path / "old")
    tok = sentae.load(run).tokenizer
    for name in ("sentae_tokenizer.json", "tokenizer_config.json", "config.json", "README.md"):
        (run / name).unlink(missing_ok=True)
    (run / "tokenizer.json").write_text(json.dumps({"format": FORMAT, "version": 1, "type": "word",
                                                    "specials": list(SPECIALS), "words": tok.itos[4:]}))
    assert sentae.load(run).tokenizer.fingerprint() == tok.fingerprint()  # model.json's record still matches
    result = sentae.push_to_hub(run, "me/old")
    assert {"config.json", "README.md", "tokenizer.json"} <= set(result.files)
    assert sentae.load("me/old", cache_dir=fake_hub.cache, local_files_only=True).sample(1, seed=0)


def test_a_failed_start_is_replaced_but_a_config_json_of_yours_is_kept(tmp_path):
    run = tmp_path / "run"
    folder = RunFolder(run)
    run.mkdir()
    folder.write_marker()
    for name in ("config.yaml", "tokenizer.json", "sentae_tokenizer.json", "tokenizer_config.json"):
        (run / name).write_text("{}")  # what a run that failed before its first checkpoint leaves
    (run / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(SentaeError, match="already exists and is not empty"):
        prepare_fresh(folder)
    assert (run / "config.json").read_text() == '{"model_type": "bert"}' and (run / "config.yaml").is_file()
    (run / "config.json").write_text(json.dumps({"library_name": "sentae", "sentae": {}}))  # sentae's own
    prepare_fresh(folder)
    assert sorted(p.name for p in run.iterdir()) == [".sentae-run"]
