"""score and encode on sentences: a tiny sentence VAE and AAE trained through the real Trainer on the embedded
review corpus."""
import random

import numpy as np
import pytest
from click.testing import CliRunner

import sentae
from sentae.cli import main

TRAIN = {"max_steps": 150, "batch_size": 32, "lr": 0.01, "eval_every": 0, "ckpt_every": 0, "progress": "none",
         "threads": 1}
DATA = {"source": "reviews", "limit": 400, "options": {"tokenizer": "word"}}
SIZES = {"embedding_size": 11, "hidden_size": 13, "latent_size": 7}


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "vae"
    sentae.train({"name": "vae", "model": {"type": "rnn_vae", **SIZES}, "data": DATA, "train": TRAIN}, out=out)
    return out


def _training_sentences(run, n=40):
    from sentae.run import RunFolder

    folder = RunFolder(run)
    data = folder.rebuild_data(folder.read_data_info())
    tok = folder.load_tokenizer()
    batch = data.get_batch("train", list(range(n)))
    return [tok.decode(row.tolist()) for row in batch["tokens"]]


def test_shuffled_sentences_score_above_the_sentences_the_model_learnt(vae_run):
    texts = _training_sentences(vae_run)
    rng = random.Random(0)
    shuffled = []
    for t in texts:
        words = t.split()
        rng.shuffle(words)
        shuffled.append(" ".join(words))
    result = sentae.score(vae_run, texts + shuffled, ["rec_nll", "neg_elbo", "iw_nll"], iw_samples=20)
    s = result["scores"]
    n = len(texts)
    assert all(v.shape == (2 * n,) for v in s.values())
    assert s["rec_nll"][n:].mean() > s["rec_nll"][:n].mean()
    assert s["iw_nll"][n:].mean() > s["iw_nll"][:n].mean()
    assert s["iw_nll"].mean() < s["neg_elbo"].mean()  # the IW bound is the tighter one


def test_cli_encode_writes_posterior_means_of_sentences(vae_run, tmp_path):
    texts = _training_sentences(vae_run, 9)
    inputs = tmp_path / "sentences.txt"
    inputs.write_text("\n".join(texts) + "\n\n", encoding="utf-8")  # a blank line is skipped
    out = tmp_path / "codes.npy"
    res = CliRunner().invoke(main, ["encode", str(vae_run), str(inputs), "-o", str(out), "--names",
                                    str(tmp_path / "names.txt")])
    assert res.exit_code == 0, res.output
    codes = np.load(out)
    assert codes.shape == (9, 7)
    assert np.allclose(codes, sentae.load(vae_run).encode(texts).numpy(), atol=1e-5)
    assert (tmp_path / "names.txt").read_text(encoding="utf-8").splitlines() == texts
    res = CliRunner().invoke(main, ["encode", str(vae_run), str(inputs), "-o", str(tmp_path / "codes.csv")])
    assert res.exit_code == 1 and "give a name ending in .npy" in res.output


def test_cli_score_reads_sentences_from_standard_input(vae_run):
    res = CliRunner().invoke(main, ["score", str(vae_run), "-", "--score", "rec_nll"],
                             input="the food was great .\n\nthe service was slow .\n")
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].startswith("# rec_nll: sentence:") and lines[1] == "input\trec_nll"
    assert [line.split("\t")[0] for line in lines[2:]] == ["the food was great .", "the service was slow ."]
    res = CliRunner().invoke(main, ["score", str(vae_run), "-", "--score", "disc"], input="a b\n")
    assert res.exit_code == 1 and "gives no 'disc' score" in res.output


def test_text_models_declare_the_scores_they_give():
    from sentae.applications.score import available_scores
    from sentae.registry import REGISTRY

    def scores(name):
        return available_scores(sentae.create_model(name, **REGISTRY.get(name).tiny_config))

    assert scores("aae") == ["rec_nll", "disc"]  # a point code: no ELBO, but its discriminator's view
    assert scores("rnn_vae") == ["rec_nll", "neg_elbo", "iw_nll"]
    assert scores("rnn_lm") == ["rec_nll", "iw_nll"]  # exact NLL: no latent


def test_an_aae_scores_sentences_by_its_latent_discriminator(tmp_path):
    out = tmp_path / "aae"
    sentae.train({"name": "aae", "model": {"type": "aae", **SIZES, "disc_hidden": 5}, "data": DATA,
                  "train": {**TRAIN, "max_steps": 20}}, out=out)
    texts = _training_sentences(out, 6)
    result = sentae.score(out, texts)
    assert list(result["scores"]) == ["rec_nll", "disc"]
    disc = result["scores"]["disc"]
    assert disc.shape == (6,) and np.all(np.isfinite(disc))
    model = sentae.load_model(out)
    sampler = sentae.load(out)
    b = sampler.batch(texts)
    mu, _ = model.encode_stats(b["tokens"], b["lengths"])
    assert np.allclose(disc, -model.discriminator(mu).squeeze(-1).detach().numpy(), atol=1e-5)
