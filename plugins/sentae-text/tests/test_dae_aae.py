"""dae / aae / daae: the discriminator step, denoising at training time only, and latent arithmetic (transfer,
neighbours) on a tiny model trained on a corpus whose sentiment is decided by its adjective."""
import json
import random

import pytest
import torch
from click.testing import CliRunner

import sentae
from sentae import StepContext
from sentae.cli import main
from sentae.evaluation.run_eval import evaluate_text_run
from sentae.registry import REGISTRY

SUBJECTS = ["the food", "the service", "our waiter", "the pasta", "this place", "the staff", "the pizza", "my steak"]
POSITIVE = ["great", "delicious", "friendly", "amazing", "wonderful"]
NEGATIVE = ["awful", "rude", "terrible", "cold", "horrible"]
TINY = REGISTRY.get("dae").tiny_config


def _adjective(sentence: str) -> str | None:
    words = sentence.split()
    return "positive" if any(w in POSITIVE for w in words) else "negative" if any(w in NEGATIVE for w in words) else None


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    rng = random.Random(0)
    root = tmp_path_factory.mktemp("sentiment")
    rows = []
    for _ in range(900):
        label = rng.choice(["positive", "negative"])
        adj = rng.choice(POSITIVE if label == "positive" else NEGATIVE)
        rows.append({"text": f"{rng.choice(SUBJECTS)} was {adj} .", "sentiment": label})
    path = root / "reviews.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    return path


@pytest.fixture(scope="module")
def run_dir(corpus, tmp_path_factory):
    recipe = {
        "name": "tiny_daae",
        "model": {"type": "daae", "embedding_size": 16, "hidden_size": 32, "latent_size": 8, "disc_hidden": 16,
                  "adversarial_weight": 0.3, "noise": {"drop": 0.1}},
        "data": {"source": "text", "path": str(corpus), "val_fraction": 0.1, "test_fraction": 0.1,
                 "options": {"attributes": {"sentiment": ["negative", "positive"]}}},
        # lr 0.002 for 2,000 steps with a light adversarial term: at lr 0.005 and weight 1 the tiny model's
        # codes depended on the seed and on the machine's kernels (reconstruction 10% to 99% exact)
        "train": {"max_steps": 2000, "batch_size": 32, "lr": 0.002, "eval_every": 500, "ckpt_every": 1000,
                  "progress": "none", "threads": 1},
    }
    return sentae.train(recipe, out=tmp_path_factory.mktemp("runs") / "daae").path


def test_disc_step_changes_only_the_discriminator():
    torch.manual_seed(0)
    model = sentae.create_model("aae", **REGISTRY.get("aae").tiny_config)
    batch = model.example_batch(6, torch.Generator().manual_seed(1))
    opts = model.optimizers(0.1, 0.0)
    assert list(opts) == ["main", "disc"]
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    model.zero_grad()
    model.training_step(batch, StepContext(optimizer="disc")).loss.backward()
    opts["disc"].step()
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert changed and all(n.startswith("discriminator.") for n in changed), changed
    assert {n for n in before if n.startswith("discriminator.")} == changed


def test_main_step_gradient_reaches_encoder_through_discriminator():
    torch.manual_seed(0)
    model = sentae.create_model("aae", **REGISTRY.get("aae").tiny_config)
    batch = model.example_batch(6, torch.Generator().manual_seed(1))
    with_adv = model.training_step(batch, StepContext(optimizer="main")).loss
    model.config.adversarial_weight = 0.0
    without = model.training_step(batch, StepContext(optimizer="main")).loss
    assert float(with_adv.detach()) > float(without.detach())  # the fooling term is positive
    model.config.adversarial_weight = 10.0
    model.zero_grad()
    z = model.encode(batch["tokens"], batch["lengths"])
    logits = model.discriminator(z)
    torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.ones_like(logits)).backward()
    assert model.encoder.embedding.weight.grad.abs().sum() > 0


def test_noise_only_while_training():
    torch.manual_seed(0)
    model = sentae.create_model("dae", **TINY, noise={"drop": 0.9})
    batch = model.example_batch(6, torch.Generator().manual_seed(1))
    model.train()
    noisy, lengths = model.noisy(batch["tokens"], batch["lengths"])
    assert int(lengths.sum()) < int(batch["lengths"].sum())
    model.eval()
    clean, same = model.noisy(batch["tokens"], batch["lengths"])
    assert torch.equal(clean, batch["tokens"]) and torch.equal(same, batch["lengths"])


def test_daae_preset_is_denoising_and_aae_is_not():
    assert sentae.create_model("daae", **TINY).config.noise.drop == 0.3
    assert not sentae.create_model("aae", **TINY).config.noise.active
    assert sentae.create_model("dae", **TINY).config.noise.drop == 0.3


def test_reconstructs_and_codes_fill_the_prior(run_dir):
    sampler = sentae.load(run_dir)
    inputs = ["the food was great .", "the staff was rude .", "my steak was cold .", "this place was amazing ."]
    # every sentence the corpus can hold: a rate over 80 does not hinge on which adjective of the same sentiment
    # one machine's kernels happen to confuse in a tiny model
    every = [f"{s} was {a} ." for s in SUBJECTS for a in POSITIVE + NEGATIVE]
    rebuilt = sampler.reconstruct(every)
    assert sum(a == b for a, b in zip(rebuilt, every)) >= 0.6 * len(every)
    assert sum(_adjective(a) == _adjective(b) for a, b in zip(rebuilt, every)) >= 0.9 * len(every)
    codes = sampler.encode(inputs)
    assert torch.equal(codes, sampler.encode(inputs, sample=True, seed=3))  # a point code: nothing to sample
    samples = sampler.sample(20, seed=0, strategy="greedy")
    assert sum(_adjective(s) is not None for s in samples) >= 14, samples  # prior samples decode to sentences


def test_transfer_moves_sentiment_toward_target(run_dir):
    sampler = sentae.load(run_dir)
    negative = [f"{s} was {a} ." for s in SUBJECTS[:4] for a in NEGATIVE[:3]]
    moved = sampler.transfer(negative, attribute="sentiment", to="positive", scale=2.0)
    assert len(moved) == len(negative)
    share = sum(_adjective(s) == "positive" for s in moved) / len(moved)
    kept = sum(_adjective(s) == "positive" for s in sampler.transfer(negative, {"sentiment": "positive"}, scale=0.0)) / len(moved)
    # scale 0 is a plain reconstruction: mostly still negative; scale 2 turns most sentences positive
    assert kept <= 0.4 and share >= kept + 0.4, (kept, moved)
    # the offset is the difference of the two mean codes, read from the run's training data
    offset = sampler.attribute_offset("sentiment", "positive")
    assert offset.shape == (8,) and float(offset.norm()) > 0
    back = sampler.attribute_offset("sentiment", "negative", source="positive")
    assert torch.allclose(back, -offset, atol=1e-5)


def test_a_sentence_already_at_the_value_is_left_as_reconstructed(run_dir):
    from sentae.generation.latent_arithmetic import move

    sampler = sentae.load(run_dir)
    sentences = [f"{s} was {a} ." for s in SUBJECTS for a in POSITIVE + NEGATIVE]
    d = sampler.attribute_direction("sentiment", "positive")
    z = sampler.encode(sentences)
    already = d.has_value(z).tolist()  # the codes the linear reading is sure are positive
    moved = sampler.transfer(sentences, {"sentiment": "positive"}, scale=2.0)
    rebuilt = sampler.reconstruct(sentences)
    everyone = sampler.transfer(sentences, {"sentiment": "positive"}, scale=2.0, keep_matching=False)
    # a code read as positive is decoded as reconstruct decodes it; every other one moves as plain arithmetic does
    for m, r, e, a in zip(moved, rebuilt, everyone, already):
        assert m == (r if a else e)
    assert everyone == sampler.decode(move(z, [d], 2.0, keep_matching=False)) == sampler.decode(z + 2.0 * d.offset)


def test_transfer_errors_name_the_valid_values(run_dir, tmp_path):
    sampler = sentae.load(run_dir)
    with pytest.raises(sentae.SentaeError, match="negative, positive"):
        sampler.transfer(["the food was great ."], {"sentiment": "happy"})
    with pytest.raises(sentae.SentaeError, match="attributes: sentiment"):
        sampler.transfer(["the food was great ."], {"tense": "past"})
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "a b", "mood": "x"}\n')
    with pytest.raises(sentae.SentaeError, match=r"bad.jsonl:1: no 'sentiment' column"):
        sampler.transfer(["the food was great ."], {"sentiment": "positive"}, labelled=bad)


def test_neighbours_and_cli(run_dir, corpus, tmp_path):
    sampler = sentae.load(run_dir)
    found = sampler.neighbours("the pizza was delicious .", n=3)
    assert len(found) == 3 and found[0][1] <= found[1][1] <= found[2][1]
    assert _adjective(found[0][0]) == "positive"
    runner = CliRunner()
    src = tmp_path / "in.txt"
    src.write_text("the service was awful .\nthe pasta was terrible .\n")
    res = runner.invoke(main, ["transfer", str(run_dir), str(src), "--attribute", "sentiment", "--to", "positive",
                               "--scale", "2", "--labelled", str(corpus)])
    assert res.exit_code == 0, res.output
    assert len(res.output.strip().splitlines()) == 2
    res = runner.invoke(main, ["transfer", str(run_dir), str(src), "--attribute", "sentiment", "--to", "joyful"])
    assert res.exit_code == 1 and "error:" in res.output and "negative, positive" in res.output
    res = runner.invoke(main, ["neighbours", str(run_dir), "the staff was rude .", "-n", "2"])
    assert res.exit_code == 0 and "DISTANCE (euclidean)" in res.output, res.output


def test_eval_reports_no_likelihood_for_deterministic_codes(run_dir):
    report = evaluate_text_run(run_dir, split="test", prior_samples=20)
    m = report["metrics"]
    assert "iw_nll_nats_per_sentence" not in m and "kl_nats_per_sentence" not in m
    assert report["iw_samples"] is None
    assert m["recon_bleu_greedy_from_mean"] > 50 and m["active_units"] >= 1


def test_transfer_raises_an_independent_classifiers_probability(run_dir, corpus, tmp_path):
    """Judged by a text_classifier trained separately on the same corpus (its own tokenizer and run folder)."""
    from sentae.evaluation.classifier import train_classifier

    data = {"source": "text", "path": str(corpus), "val_fraction": 0.1, "test_fraction": 0.1,
            "options": {"attributes": {"sentiment": ["negative", "positive"]}}}
    clf = train_classifier(data, "sentiment", tmp_path / "clf", max_steps=150,
                           overrides=["model.embedding_size=16", "model.num_filters=8", "train.progress=none"])
    assert clf.heldout_accuracy >= 0.9
    sampler = sentae.load(run_dir)
    negative = [f"{s} was {a} ." for s in SUBJECTS for a in NEGATIVE]
    pos = clf.values.index("positive")
    before = clf.predict_proba(sampler.transfer(negative, {"sentiment": "positive"}, scale=0.0))[:, pos].mean()
    after = clf.predict_proba(sampler.transfer(negative, {"sentiment": "positive"}, scale=2.0))[:, pos].mean()
    assert float(after) > float(before) + 0.3, (float(before), float(after))
