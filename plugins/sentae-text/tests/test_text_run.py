"""A tiny text VAE trained end to end: sampler, CLI generation commands and `sentae eval` on its run folder."""
import json
import random

import pytest
import torch
from click.testing import CliRunner

import sentae
from sentae.cli import main
from sentae.evaluation.run_eval import evaluate_text_run

SUBJECTS = ["the cat", "a dog", "my friend", "the teacher", "our neighbour"]
VERBS = ["likes", "sees", "finds", "wants"]
OBJECTS = ["the ball", "a red box", "fresh bread", "the old car", "green tea"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    rng = random.Random(0)
    root = tmp_path_factory.mktemp("textrun")
    corpus = root / "corpus.txt"
    corpus.write_text("\n".join(f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}" for _ in range(600)))
    recipe = {
        "name": "tiny",
        "model": {"type": "rnn_vae", "embedding_size": 16, "hidden_size": 24, "latent_size": 6,
                  "kl": {"kind": "constant", "beta": 0.1}},
        "data": {"source": "text", "path": str(corpus), "val_fraction": 0.1, "test_fraction": 0.1},
        "train": {"max_steps": 250, "batch_size": 32, "lr": 0.01, "eval_every": 125, "ckpt_every": 125,
                  "progress": "none"},
    }
    return sentae.train(recipe, out=root / "run").path


def test_sampler_round_trip(run_dir):
    sampler = sentae.load(run_dir)
    samples = sampler.sample(5, seed=0)
    assert len(samples) == 5 and all(isinstance(s, str) for s in samples)
    assert sampler.sample(5, seed=0) == samples  # seeded
    codes = sampler.encode(["the cat likes fresh bread", "a dog sees the ball"])
    assert codes.shape == (2, 6)
    assert not torch.equal(sampler.encode(["a dog sees the ball"], sample=True, seed=1), codes[1:])
    inputs = ["the cat likes fresh bread", "a dog sees the ball", "my friend wants green tea", "our neighbour finds a red box"]
    recon = sampler.reconstruct(inputs)
    # with beta 0.1 the code carries the subject: most reconstructions start with it
    assert sum(r.split()[:2] == i.split()[:2] for r, i in zip(recon, inputs)) >= 3, recon
    path = sampler.interpolate("the cat likes fresh bread", "our neighbour wants the old car", steps=4, method="slerp")
    assert len(path) == 4


def test_encode_batches_itself_and_shows_progress(run_dir, capsys):
    sampler = sentae.load(run_dir)
    texts = [f"{s} {v} {o}" for s, v, o in zip(SUBJECTS * 3, VERBS * 3, OBJECTS * 3)][:11]
    whole = sampler.encode(texts)
    assert whole.shape == (11, 6)
    torch.testing.assert_close(sampler.encode(texts, batch_size=3), whole, rtol=1e-5, atol=1e-5)  # 4 batches
    a = sampler.encode(texts, sample=True, seed=4, batch_size=3)
    assert torch.equal(a, sampler.encode(texts, sample=True, seed=4, batch_size=3)) and not torch.equal(a, whole)
    capsys.readouterr()
    sampler.encode(texts, batch_size=5, show_progress=True)
    assert "11/11" in capsys.readouterr().err
    with pytest.raises(sentae.SentaeError, match="no input sentences"):
        sampler.encode([])


def test_cli_generation_commands(run_dir, tmp_path):
    runner = CliRunner()
    res = runner.invoke(main, ["sample", str(run_dir), "-n", "4", "--seed", "3", "--top-p", "0.9"])
    assert res.exit_code == 0, res.output
    assert len(res.output.strip().splitlines()) == 4
    src = tmp_path / "in.txt"
    src.write_text("the cat likes fresh bread\n\na dog sees the ball\n")
    out = tmp_path / "out.txt"
    res = runner.invoke(main, ["reconstruct", str(run_dir), str(src), "-o", str(out), "--strategy", "beam", "--beam", "3"])
    assert res.exit_code == 0, res.output
    assert len(out.read_text().strip().splitlines()) == 2  # the blank line is skipped
    res = runner.invoke(main, ["reconstruct", str(run_dir)], input="my friend wants green tea\n")
    assert res.exit_code == 0 and len(res.output.strip().splitlines()) == 1
    res = runner.invoke(main, ["interpolate", str(run_dir), "the cat likes fresh bread", "a dog sees the ball", "--steps", "3"])
    assert res.exit_code == 0 and len(res.output.strip().splitlines()) == 3
    res = runner.invoke(main, ["reconstruct", str(run_dir)], input="\n\n")
    assert res.exit_code == 1 and "no sentences" in res.output
    res = runner.invoke(main, ["sample", str(run_dir), "--strategy", "sample", "--top-p", "1.5"])
    assert res.exit_code == 1 and "top_p" in res.output


def test_eval_report_is_labelled(run_dir, tmp_path):
    report = evaluate_text_run(run_dir, split="test", iw_samples=10, max_sentences=30, prior_samples=20)
    m = report["metrics"]
    assert report["sentences"] == 30 and report["iw_samples"] == 10 and report["split"] == "test"
    assert m["iw_nll_nats_per_sentence"] > 0 and m["ppl_per_word"] > 1
    # the IW bound is at least as tight as the ELBO (up to Monte Carlo noise)
    assert m["iw_nll_nats_per_sentence"] <= -m["elbo_nats_per_sentence"] + 0.5
    assert 0 <= m["active_units"] <= 6 and 0 <= m["recon_bleu_greedy_from_mean"] <= 100
    res = CliRunner().invoke(main, ["eval", str(run_dir), "--iw-samples", "5", "--max-sentences", "20",
                                    "--prior-samples", "10", "--json", str(tmp_path / "e.json")])
    assert res.exit_code == 0, res.output
    assert "IW-NLL, nats/sentence (K=5)" in res.output and "test split, 20 sentences" in res.output
    assert json.loads((tmp_path / "e.json").read_text())["metrics"]["active_units"] >= 0


def test_image_run_is_refused_by_text_commands(tmp_path):
    run = sentae.train({"name": "img", "model": {"type": "mlp_vae", "hidden_size": 13, "latent_size": 7},
                        "data": {"source": "digits", "limit": 200}, "train": {"max_steps": 5, "progress": "none"}},
                       out=tmp_path / "img")
    res = CliRunner().invoke(main, ["sample", str(run.path)])
    assert res.exit_code == 1 and "image model" in res.output


def test_adaptive_softmax_run_trains_in_bf16_and_evaluates(tmp_path):
    """The adaptive output layer through the whole path: bf16 training, run folder, IW-NLL, decoding."""
    import math

    rng = random.Random(1)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}" for _ in range(600)))
    recipe = {
        "name": "tiny_adaptive",
        "model": {"type": "rnn_vae", "embedding_size": 16, "hidden_size": 24, "latent_size": 6,
                  "kl": {"kind": "constant", "beta": 0.1}, "softmax": {"kind": "adaptive", "cutoffs": [8, 15]}},
        "data": {"source": "text", "path": str(corpus), "val_fraction": 0.1, "test_fraction": 0.1},
        "train": {"max_steps": 250, "batch_size": 32, "lr": 0.01, "precision": "bf16", "eval_every": 0,
                  "progress": "none", "threads": 1},
    }
    run = sentae.train(recipe, out=tmp_path / "run")
    sampler = sentae.load(run.path)
    assert type(sampler.model.decoder.output).__name__ == "AdaptiveSoftmax"
    report = evaluate_text_run(run.path, split="test", iw_samples=5, prior_samples=10)
    m = report["metrics"]
    vocab = sampler.model.data_info.vocab_size
    # a uniform guess costs log(V) nats per token; the trained model must be far below that
    assert math.isfinite(m["iw_nll_nats_per_sentence"]) and m["ppl_per_word"] < vocab / 4, m
    words = {w for line in corpus.read_text().splitlines() for w in line.split()}
    recon = sampler.reconstruct(["the cat likes fresh bread", "a dog sees the ball"])
    assert all(r and set(r.split()) <= words for r in recon), recon  # ids from every cluster map back to words
    assert len(sampler.sample(4, seed=0, strategy="sample", top_p=0.9)) == 4
