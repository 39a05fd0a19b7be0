"""The image applications on tiny models trained through the real Trainer on the bundled 8x8 digits: anomaly
scores rank corrupted images above clean ones, denoising lowers the error of noised digits, encode writes codes of
the right shape, and the CLI refuses bad input and existing files."""
import numpy as np
import pytest
import torch
from click.testing import CliRunner

import sentae
from sentae.cli import main
from sentae.evaluation.images import rebuild_image_data, split_tensors

TRAIN = {"max_steps": 250, "batch_size": 32, "lr": 0.01, "eval_every": 0, "ckpt_every": 0, "progress": "none",
         "threads": 1}
DATA = {"source": "digits", "limit": 600, "val_fraction": 0.0, "test_fraction": 0.2, "split_seed": 0}


def _train(tmp_path_factory, name, model):
    out = tmp_path_factory.mktemp("runs") / name
    sentae.train({"name": name, "model": model, "data": DATA, "train": TRAIN}, out=out)
    return out


@pytest.fixture(scope="module")
def dae_run(tmp_path_factory):
    """A denoising conv autoencoder (25% masking while training)."""
    return _train(tmp_path_factory, "dae", {"type": "conv_ae", "channels": [6, 10], "code_size": 9, "mask_prob": 0.25})


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory):
    return _train(tmp_path_factory, "vae", {"type": "conv_vae", "channels": [6, 10], "latent_size": 5,
                                            "kl": {"kind": "linear", "warmup_steps": 100}})


@pytest.fixture(scope="module")
def test_images(dae_run):
    images, _ = split_tensors(rebuild_image_data(dae_run), "test")
    return images


def _corrupted(images: torch.Tensor) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.rand(images.shape, generator=g)  # uniform noise: nothing like a digit


def test_anomaly_score_ranks_corrupted_images_above_clean_ones(dae_run, test_images):
    from sklearn.metrics import roc_auc_score

    clean, noise = test_images[:60], _corrupted(test_images[:60])
    result = sentae.score(dae_run, torch.cat([clean, noise]))
    assert list(result["scores"]) == ["sse", "bce"] and len(result["inputs"]) == 120
    labels = np.r_[np.zeros(60), np.ones(60)]
    for name, values in result["scores"].items():
        assert values.shape == (120,)
        assert roc_auc_score(labels, values) > 0.99, name


def test_vae_scores_include_elbo_and_a_tighter_iw_bound(vae_run, test_images):
    result = sentae.score(vae_run, test_images[:40], ["neg_elbo", "iw_nll", "sse"], iw_samples=64)
    s = result["scores"]
    assert result["units"]["iw_nll"].endswith("(K = 64)")
    # log p(x) >= IW bound >= ELBO in expectation: the IW-NLL sits below the one-sample -ELBO on average
    assert s["iw_nll"].mean() < s["neg_elbo"].mean()
    assert np.all(np.isfinite(s["iw_nll"])) and np.all(s["iw_nll"] > 0)
    noisy = sentae.score(vae_run, _corrupted(test_images[:40]), ["neg_elbo"])["scores"]["neg_elbo"]
    assert noisy.min() > np.median(s["neg_elbo"])


def test_vae_samples_and_interpolates_images_of_the_data_shape(vae_run, test_images):
    sampler = sentae.load(vae_run)
    samples = sampler.sample(5, seed=0)
    assert samples.shape == (5, 1, 8, 8) and float(samples.min()) >= 0 and float(samples.max()) <= 1
    assert torch.equal(samples, sampler.sample(5, seed=0))
    from sentae.applications.generate import interpolate_images

    path = interpolate_images(sampler.model, test_images[0], test_images[1], steps=6)
    assert path.shape == (6, 1, 8, 8)
    ends = sampler.model.reconstruct(test_images[:2])
    assert torch.allclose(path[0], ends[0], atol=1e-5) and torch.allclose(path[-1], ends[1], atol=1e-5)


def test_scores_a_model_does_not_give_are_refused(dae_run, test_images):
    with pytest.raises(sentae.SentaeError, match="gives no 'neg_elbo' score"):
        sentae.score(dae_run, test_images[:3], ["neg_elbo"])
    with pytest.raises(sentae.SentaeError, match="unknown score 'auroc'"):
        sentae.score(dae_run, test_images[:3], ["auroc"])


def test_denoising_lowers_the_error_of_noised_digits(dae_run, test_images):
    g = torch.Generator().manual_seed(1)
    clean = test_images[:100]
    noisy = clean * (torch.rand(clean.shape, generator=g) >= 0.25)  # the masking noise the model trained with
    denoised, names = sentae.denoise(dae_run, noisy)
    assert denoised.shape == tuple(clean.shape) and len(names) == 100
    err_noisy = ((noisy - clean) ** 2).flatten(1).sum(1).mean()
    err_denoised = ((torch.from_numpy(denoised) - clean) ** 2).flatten(1).sum(1).mean()
    assert err_denoised < 0.8 * err_noisy


def test_cli_score_denoise_and_encode(dae_run, vae_run, test_images, tmp_path):
    inputs = tmp_path / "digits.npy"
    np.save(inputs, test_images[:7].numpy())
    runner = CliRunner()
    scores = tmp_path / "scores.tsv"
    res = runner.invoke(main, ["score", str(dae_run), str(inputs), "--score", "sse", "-o", str(scores)])
    assert res.exit_code == 0, res.output
    lines = scores.read_text().splitlines()
    assert lines[0].startswith("# sse: image: squared reconstruction error") and lines[1] == "input\tsse"
    assert len(lines) == 2 + 7 and lines[2].split("\t")[0] == "0"
    res = runner.invoke(main, ["score", str(dae_run), str(inputs), "-o", str(scores)])
    assert res.exit_code != 0 and "already exists" in res.output and "--force" in res.output
    assert runner.invoke(main, ["score", str(dae_run), str(inputs), "-o", str(scores), "--force"]).exit_code == 0
    res = runner.invoke(main, ["score", str(dae_run), str(inputs), "--format", "jsonl"])
    records = [__import__("json").loads(line) for line in res.output.splitlines()]
    assert res.exit_code == 0 and [r["input"] for r in records] == [str(i) for i in range(7)]
    assert np.allclose([r["sse"] for r in records], sentae.score(dae_run, test_images[:7])["scores"]["sse"])

    codes = tmp_path / "codes.npy"
    res = runner.invoke(main, ["encode", str(vae_run), str(inputs), "-o", str(codes)])
    assert res.exit_code == 0, res.output
    arr = np.load(codes)
    assert arr.shape == (7, 5) and arr.dtype == np.float32  # latent_size 5: posterior means
    assert np.allclose(arr, sentae.load_model(vae_run).encode(test_images[:7]).detach().numpy(), atol=1e-5)

    out_dir = tmp_path / "clean"
    res = runner.invoke(main, ["denoise", str(dae_run), str(inputs), "-o", str(out_dir)])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out_dir.iterdir()) == [f"{i:05d}.png" for i in range(7)]
    res = runner.invoke(main, ["denoise", str(dae_run), str(out_dir), "-o", str(tmp_path / "again.npy")])
    assert res.exit_code == 0, res.output  # a folder of PNGs is an input too
    assert np.load(tmp_path / "again.npy").shape == (7, 1, 8, 8)
    res = runner.invoke(main, ["denoise", str(dae_run), str(inputs), "-o", str(out_dir)])
    assert res.exit_code != 0 and "00000.png: already exists" in res.output


def test_cli_names_bad_inputs(dae_run, tmp_path):
    runner = CliRunner()
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((3, 1, 9, 8), dtype=np.float32))
    res = runner.invoke(main, ["score", str(dae_run), str(wrong)])
    assert res.exit_code == 1 and f"{wrong}: images of shape (1, 9, 8) do not fit the model, which reads 1x8x8" in res.output
    out_of_range = tmp_path / "range.npy"
    np.save(out_of_range, np.full((2, 8, 8), 3.0))
    res = runner.invoke(main, ["encode", str(dae_run), str(out_of_range), "-o", str(tmp_path / "c.npy")])
    assert res.exit_code == 1 and "pixel values must be in [0, 1]" in res.output
    assert not (tmp_path / "c.npy").exists()
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    res = runner.invoke(main, ["score", str(dae_run), str(text)])
    assert res.exit_code == 1 and "unknown image input" in res.output
    fake = tmp_path / "fake.npy"
    fake.write_text("not an array\n")
    res = runner.invoke(main, ["score", str(dae_run), str(fake)])
    assert res.exit_code == 1 and "fake.npy: not a .npy file" in res.output
    res = runner.invoke(main, ["denoise", str(dae_run), str(wrong), "-o", str(text)])  # checked before the inputs
    assert res.exit_code == 1 and "notes.txt: is a file; give a folder" in res.output
    assert text.read_text() == "hello\n"


def test_one_class_source_keeps_one_label_in_training_and_the_whole_test_split():
    from sentae.config import load_recipe
    from sentae.data import build_data

    base = build_data(load_recipe({"model": {"type": "conv_ae"}, "data": DATA}).data)
    rec = load_recipe({"model": {"type": "conv_ae"},
                       "data": {**DATA, "source": "one_class", "options": {"base": "digits", "normal": [3]}}})
    data = build_data(rec.data)
    train_labels = data.labels[data.index["train"]]
    assert len(train_labels) > 30 and bool((train_labels == 3).all())
    assert torch.equal(data.index["test"], base.index["test"])  # the same held-out images as the base source
    assert len(torch.unique(data.labels[data.index["test"]])) == 10
    with pytest.raises(sentae.SentaeError, match=r"normal label\(s\) \[12\] do not occur"):
        build_data(load_recipe({"model": {"type": "conv_ae"},
                                "data": {**DATA, "source": "one_class", "options": {"base": "digits", "normal": [12]}}}).data)


def test_image_aae_trains_both_optimizers_and_scores_by_its_discriminator(tmp_path_factory, test_images):
    import json

    run = _train(tmp_path_factory, "aae", {"type": "image_aae", "channels": [6, 10], "latent_size": 4,
                                           "disc_hidden": 17})
    logged = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    keys = {k for row in logged for k in row}
    assert any("disc" in k for k in keys) and any("adv" in k for k in keys), keys  # the Trainer stepped both
    result = sentae.score(run, torch.cat([test_images[:30], _corrupted(test_images[:30])]))
    assert list(result["scores"]) == ["sse", "bce", "disc"]
    assert np.all(np.isfinite(result["scores"]["disc"]))
    assert result["scores"]["sse"][30:].min() > np.median(result["scores"]["sse"][:30])
    assert sentae.load(run).sample(3, seed=1).shape == (3, 1, 8, 8)


def test_image_models_declare_the_scores_they_give():
    from sentae.applications.score import available_scores
    from sentae.registry import REGISTRY

    def scores(name):
        return available_scores(sentae.create_model(name, **REGISTRY.get(name).tiny_config))

    assert scores("conv_vae") == ["sse", "bce", "neg_elbo", "iw_nll"]
    assert scores("image_aae") == ["sse", "bce", "disc"]
    assert scores("conv_ae") == scores("deep_ae") == ["sse", "bce"]


def test_cli_sample_images_draws_from_the_prior_and_interpolates(vae_run, test_images, tmp_path):
    runner = CliRunner()
    out = tmp_path / "samples.npy"
    res = runner.invoke(main, ["sample-images", str(vae_run), "-n", "5", "-o", str(out)])
    assert res.exit_code == 0, res.output
    samples = np.load(out)
    assert samples.shape == (5, 1, 8, 8)
    assert np.allclose(samples, sentae.load(vae_run).sample(5, seed=0).numpy(), atol=1e-6)
    pair = tmp_path / "pair.npy"
    np.save(pair, test_images[:2].numpy())
    res = runner.invoke(main, ["sample-images", str(vae_run), "--between", str(pair), "--steps", "4", "-o",
                               str(tmp_path / "path")])
    assert res.exit_code == 0, res.output
    assert len(list((tmp_path / "path").glob("*.png"))) == 4
