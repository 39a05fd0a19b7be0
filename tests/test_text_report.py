"""`sentae eval` on a text run writes report/: the latent map, KL per dimension, training curves, the interpolation,
reconstruction and attribute-grid tables, index.md and an escaped index.html; the numbers do not need matplotlib."""
import builtins
import json
import random

import pytest
import torch
from click.testing import CliRunner

import sentae
from sentae.cli import main
from sentae.evaluation.report_pages import Section, render_html, render_markdown
from sentae.evaluation.text_report import GRID_PER_CELL, INTERP_T, NO_PLOTS, RECON_ROWS

SUBJECTS = ["the food", "the service", "our waiter", "the pasta"]
GOOD, BAD = ["great", "friendly"], ["awful", "cold"]
VERB = {"past": "was", "present": "is", "future": "will be"}
SCRIPT = "<script>alert(1)</script>"


def _corpus(path, n=400):
    rng = random.Random(0)
    rows = []
    for i in range(n):
        s, t = rng.choice(["negative", "positive"]), rng.choice(list(VERB))
        subject = SCRIPT if i % 4 == 0 else rng.choice(SUBJECTS)  # a quarter of the sentences carry markup
        row = {"text": f"{subject} {VERB[t]} {rng.choice(GOOD if s == 'positive' else BAD)} | .", "sentiment": s,
               "tense": t}
        if i % 7 == 0:
            row["tense"] = None  # unlabelled sentences are drawn grey, not dropped
        rows.append(row)
    path.write_text("\n".join(json.dumps(r) for r in rows))
    return path


def _train(root, model, steps=40):
    corpus = _corpus(root / "reviews.jsonl")
    recipe = {
        "name": "tiny_report",
        "model": model,
        "data": {"source": "text", "path": str(corpus), "val_fraction": 0.15, "test_fraction": 0.15,
                 "options": {"attributes": {"sentiment": ["negative", "positive"],
                                            "tense": ["past", "present", "future"]}}},
        "train": {"max_steps": steps, "batch_size": 16, "lr": 0.01, "eval_every": steps // 2, "ckpt_every": steps,
                  "progress": "none", "threads": 1},
    }
    return sentae.train(recipe, out=root / "run").path


@pytest.fixture(scope="module")
def ctrl_run(tmp_path_factory):
    return _train(tmp_path_factory.mktemp("ctrl"), {
        "type": "ctrl_vae", "embedding_size": 11, "hidden_size": 13, "latent_size": 7, "classifier_embedding": 9,
        "classifier_filters": 10, "control_start_step": 20, "generated_length": 8})


def _eval(run, **kw):
    return sentae.evaluate(run, iw_samples=2, max_sentences=40, prior_samples=8, batch_size=20, **kw)


def _table(md: str, title: str) -> list[str]:
    """The table rows (header and separator excluded) of section ``title`` in index.md."""
    part = md.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in part.splitlines() if line.startswith("|")]
    return rows[2:]


def test_eval_writes_the_text_report(ctrl_run):
    report = _eval(ctrl_run)
    folder = ctrl_run / "report"
    names = {p.name for p in folder.iterdir()}
    assert {"index.md", "index.html", "latent_map.png", "kl_per_dimension.png", "training.png",
            "text_report.json"} <= names
    assert all(p.stat().st_size > 1000 for p in folder.glob("*.png"))
    assert {str(folder / n) for n in ("index.md", "index.html", "latent_map.png")} <= set(report["report_files"])
    assert "report_note" not in report
    md = (folder / "index.md").read_text()
    for name in ("latent_map.png", "kl_per_dimension.png", "training.png"):
        assert f"]({name})" in md
    assert "coloured by sentiment, tense" in md
    # one row per latent dimension, with its KL and the active flag
    dims = _table(md, "KL per dimension")
    assert len(dims) == 7 and all(r.split("|")[4].strip() in ("yes", "no") for r in dims)
    # the interpolation: both ends, then t = 0 .. 1
    interp = _table(md, "Interpolation")
    assert [r.split("|")[1].strip() for r in interp] == ["a", "b", *(f"{t:g}" for t in INTERP_T)]
    recon = _table(md, "Reconstructions")
    assert len(recon) == RECON_ROWS and all(0 <= float(r.split("|")[-2]) <= 100 for r in recon)
    grid = _table(md, "Attribute grid")
    assert len(grid) == 6 and "sentiment=negative, tense=past" in grid[0]
    assert all(len(r.strip("|").split(" | ")) == 1 + GRID_PER_CELL for r in grid)
    over = _table(md, "Over training")
    assert [r.split("|")[1].strip() for r in over] == ["20", "40"]  # the two validations of metrics.jsonl
    payload = json.loads((folder / "text_report.json").read_text())
    assert len(payload["kl_per_dimension"]) == 7 and payload["sentences"] == 40
    assert len(payload["reconstructions"]) == RECON_ROWS
    assert report["metrics"]["active_units"] >= 0  # the report's numbers are those of the evaluation


def test_html_and_markdown_escape_sentences(ctrl_run):
    _eval(ctrl_run)
    page = (ctrl_run / "report" / "index.html").read_text()
    md = (ctrl_run / "report" / "index.md").read_text()
    assert page.startswith("<!DOCTYPE html>") and '<img src="latent_map.png"' in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the corpus sentences are in the tables, escaped
    assert "<script" not in page.lower() and "<script" not in md.lower()
    # a markdown cell cannot open a new column or raw HTML
    md_page = render_markdown("t", [], [Section("S", "x", header=["a"], rows=[[f"{SCRIPT} | b"]])])
    assert "&lt;script&gt;alert(1)&lt;/script&gt; \\| b" in md_page
    html_page = render_html("t", [], [Section("S", "x", header=["a"], rows=[[SCRIPT]])])
    assert SCRIPT not in html_page and "&lt;script&gt;" in html_page


def test_without_matplotlib_the_numbers_and_tables_remain(ctrl_run, monkeypatch):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kw):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kw)

    for png in (ctrl_run / "report").glob("*.png"):
        png.unlink()
    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    report = _eval(ctrl_run)
    assert report["report_note"] == NO_PLOTS and "sentae[plots]" in NO_PLOTS
    assert report["metrics"]["kl_nats_per_sentence"] >= 0 and "iw_nll_nats_per_sentence" in report["metrics"]
    assert not list((ctrl_run / "report").glob("*.png"))
    md = (ctrl_run / "report" / "index.md").read_text()
    assert NO_PLOTS in md and ".png" not in md
    assert len(_table(md, "Reconstructions")) == RECON_ROWS and len(_table(md, "KL per dimension")) == 7
    res = CliRunner().invoke(main, ["eval", str(ctrl_run), "--iw-samples", "2", "--max-sentences", "20",
                                    "--prior-samples", "4"])
    assert res.exit_code == 0, res.output
    assert "IW-NLL, nats/sentence (K=2)" in res.output
    assert res.output.strip().splitlines()[-1] == NO_PLOTS


def test_no_report_flag_and_a_model_without_latent(tmp_path):
    run = _train(tmp_path, {"type": "rnn_lm", "embedding_size": 11, "hidden_size": 13}, steps=20)
    res = CliRunner().invoke(main, ["eval", str(run), "--max-sentences", "20", "--prior-samples", "4", "--no-report"])
    assert res.exit_code == 0, res.output
    assert not (run / "report").exists()
    report = _eval(run)
    md = (run / "report" / "index.md").read_text()
    assert "has no latent code" in md and "latent_map.png" not in md
    assert "Interpolation" not in md and "Attribute grid" not in md
    assert len(_table(md, "Prior samples")) == 5
    assert "val/nll\\_per\\_word" in md  # what the run logged is in the table over training
    assert "<th>val/nll_per_word</th>" in (run / "report" / "index.html").read_text()
    assert str(run / "report" / "index.md") in report["report_files"]


def test_umap_is_drawn_when_umap_learn_is_importable(ctrl_run, monkeypatch):
    import sys
    import types

    calls = []

    class UMAP:
        def __init__(self, n_components, n_neighbors, random_state):
            calls.append((n_components, n_neighbors, random_state))

        def fit_transform(self, x):
            return x[:, :2] * 2

    monkeypatch.setitem(sys.modules, "umap", types.SimpleNamespace(UMAP=UMAP))
    report = _eval(ctrl_run)
    assert calls == [(2, 15, 0)]
    assert str(ctrl_run / "report" / "latent_map_umap.png") in report["report_files"]
    assert "](latent_map_umap.png)" in (ctrl_run / "report" / "index.md").read_text()


def test_a_map_without_attributes_is_one_uncoloured_panel(tmp_path):
    import numpy as np

    from sentae.evaluation import text_figures as figs

    xy, share = figs.pca_2d(np.random.default_rng(0).normal(size=(30, 5)) * [3, 2, 1, 1, 1])
    assert xy.shape == (30, 2) and share[0] >= share[1] > 0 and sum(share) <= 1
    path = figs.latent_map(xy, {}, tmp_path / "m.png", ["PC1", "PC2"], "t")
    assert path.stat().st_size > 1000
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # written through a temporary name


def test_the_map_of_one_sentence_or_a_one_number_code_still_has_two_axes(tmp_path):
    # `sentae eval -n 1` projects a single posterior mean: one component at most, the second is zeros
    import numpy as np

    from sentae.evaluation import text_figures as figs

    one, share = figs.pca_2d(np.ones((1, 8)))
    assert one.shape == (1, 2) and share == [0.0, 0.0]
    line, share = figs.pca_2d(np.arange(6.0).reshape(6, 1))
    assert line.shape == (6, 2) and not line[:, 1].any() and share == [1.0, 0.0]
    assert figs.latent_map(one, {"sentiment": ["positive"]}, tmp_path / "m.png", ["PC1", "PC2"], "t").is_file()


def test_eval_progress_moves_while_the_importance_samples_are_decoded(ctrl_run, monkeypatch):
    import sentae.evaluation.run_eval as run_eval

    seen = []

    class Recorder:
        def __init__(self, total, desc, unit=""):
            seen.append(("total", total, desc))

        def update(self, n=1):
            seen.append(n)

        def close(self):
            seen.append("closed")

    monkeypatch.setattr(run_eval, "Progress", Recorder)
    # K = 120 is decoded 50, 50, 20 codes per sentence at a time: three moves of the bar per batch of 20
    sentae.evaluate(ctrl_run, iw_samples=120, max_sentences=40, prior_samples=4, batch_size=20, figures=False)
    assert seen[0] == ("total", 40, "eval test (K = 120)") and seen[-1] == "closed"
    moves = [n for n in seen[1:-1]]
    assert sum(moves) == 40 and moves[:3] == [8, 8, 4]  # 20 * 50/120 = 8.3, 16.7, then the rest


def test_prior_codes_decoded_in_one_batch_are_the_greedy_samples_drawn_chunk_by_chunk(ctrl_run):
    from sentae.generation.loading import load_sampler

    sampler = load_sampler(ctrl_run, "cpu")
    fixed = {"tense": "past"}
    by_chunk = []
    for start in range(0, 40, 7):
        by_chunk += sampler.sample(min(7, 40 - start), seed=3 + start, attributes=fixed, strategy="greedy")
    codes = sampler.prior_codes(40, seed=3, batch_size=7, attributes=fixed)
    assert codes.shape[0] == 40
    assert sampler.decode(codes, strategy="greedy") == by_chunk
    assert not torch.equal(codes, sampler.prior_codes(40, seed=3, batch_size=8, attributes=fixed))


def test_prior_codes_of_a_model_without_latent_is_an_error(tmp_path):
    from sentae.errors import SentaeError
    from sentae.generation.loading import load_sampler

    run = _train(tmp_path, {"type": "rnn_lm", "embedding_size": 11, "hidden_size": 13}, steps=4)
    with pytest.raises(SentaeError, match="no latent code"):
        load_sampler(run, "cpu").prior_codes(5, seed=0)


def test_eval_in_bf16_decodes_only_the_importance_samples_in_bf16_and_says_so(ctrl_run):
    from sentae.errors import SentaeError
    from sentae.generation.loading import load_sampler

    seen = []
    real_load = load_sampler

    def load_and_watch(run, device):
        sampler = real_load(run, device)
        sampler.model.decoder.output.register_forward_hook(lambda module, args, out: seen.append(out.dtype))
        return sampler

    import sentae.evaluation.run_eval as run_eval

    reports, dtypes = {}, {}
    for precision in ("fp32", "bf16"):
        seen.clear()
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(run_eval, "load_sampler", load_and_watch)
            reports[precision] = _eval(ctrl_run, figures=False, precision=precision)
        dtypes[precision] = set(seen)
    assert dtypes["fp32"] == {torch.float32}
    assert dtypes["bf16"] == {torch.bfloat16, torch.float32}  # the K copies in bf16; the ELBO and decoding in fp32
    fp32, bf16 = reports["fp32"], reports["bf16"]
    assert fp32["precision"] == "fp32" and "bf16" not in fp32["where"]
    assert bf16["precision"] == "bf16" and "IW-NLL decoded in bf16 (autocast)" in bf16["where"]
    assert "bf16" in sentae.format_report(bf16)
    for name in ("iw_nll_nats_per_sentence", "ppl_per_word"):
        assert bf16["metrics"][name] == pytest.approx(fp32["metrics"][name], rel=0.01), name
    assert bf16["metrics"]["iw_nll_nats_per_sentence"] != fp32["metrics"]["iw_nll_nats_per_sentence"]
    # the same random draws in the same order: everything but the IW estimate is fp32's to the last bit
    for name, value in fp32["metrics"].items():
        if name not in ("iw_nll_nats_per_sentence", "ppl_per_word"):
            assert bf16["metrics"][name] == value, name
    assert bf16["examples"] == fp32["examples"]
    with pytest.raises(SentaeError, match="evaluation precision 'fp16'"):
        _eval(ctrl_run, figures=False, precision="fp16")
    res = CliRunner().invoke(main, ["eval", str(ctrl_run), "--precision", "fp16", "--no-report"])
    assert res.exit_code != 0 and "fp16" in res.output
