"""End to end, offline: train transformer_vae from the tiny pretrained folders on a labelled corpus, then load the
run folder with the folders gone (sample, reconstruct, interpolate, transfer, neighbours) and evaluate it."""
import json
import shutil

import pytest
from click.testing import CliRunner

import sentae
from sentae.cli import main
from sentae.evaluation.run_eval import evaluate_text_run


@pytest.fixture(scope="module")
def trained(hub, labelled_reviews, tmp_path_factory):
    root = tmp_path_factory.mktemp("tvae_run")
    hub_copy = {k: shutil.copytree(v, root / "hub" / k) for k, v in hub.items()}  # this test moves them away
    corpus = root / "corpus"
    corpus.mkdir()
    for split, (n, seed) in {"train": (300, 0), "valid": (30, 1), "test": (30, 2)}.items():
        rows = [json.dumps({"text": t, "sentiment": s}) for t, s in labelled_reviews(n, seed)]
        (corpus / f"{split}.jsonl").write_text("\n".join(rows) + "\n")
    recipe = {
        "name": "tiny_transformer_vae",
        "model": {"type": "transformer_vae", "encoder": str(hub_copy["bert"]), "decoder": str(hub_copy["gpt2"]),
                  "latent_size": 6, "kl": {"kind": "constant", "beta": 0.2}, "word_dropout": 0.1,
                  "frozen": ["encoder.embeddings.*"]},
        "data": {"source": "text", "path": str(corpus),
                 "options": {"tokenizer": "pretrained", "pretrained_tokenizer": str(hub_copy["gpt2"]),
                             "attributes": {"sentiment": ["negative", "positive"]}, "max_length": 20}},
        "train": {"max_steps": 30, "batch_size": 16, "lr": 0.003, "eval_every": 15, "ckpt_every": 15,
                  "progress": "none"},
    }
    run = sentae.train(recipe, out=root / "run").path
    return run, hub_copy, root


def test_a_run_loads_and_generates_with_the_pretrained_folders_gone(trained):
    run, hub_copy, root = trained
    away = root / "away"
    away.mkdir()
    for k, v in hub_copy.items():
        shutil.move(str(v), str(away / k))
    try:
        sampler = sentae.load(run)
        assert sampler.tokenizer.kind == "pretrained"
        samples = sampler.sample(4, seed=0, strategy="sample", top_p=0.9)
        assert len(samples) == 4 and samples == sampler.sample(4, seed=0, strategy="sample", top_p=0.9)
        inputs = ["the food was great .", "our waiter was rude and cold ."]
        assert len(sampler.reconstruct(inputs, strategy="beam", beam=3)) == 2
        assert len(sampler.interpolate(inputs[0], inputs[1], steps=3)) == 3
        labelled = [("the food was great .", "positive"), ("the staff is lovely .", "positive"),
                    ("the pasta was bland .", "negative"), ("this place is dirty .", "negative")]
        moved = sampler.transfer(inputs, {"sentiment": "positive"}, labelled=labelled, scale=2)
        assert len(moved) == 2 and all(isinstance(s, str) for s in moved)
        assert sampler.encode(inputs).shape == (2, 6)
    finally:
        for k, v in hub_copy.items():
            shutil.move(str(away / k), str(v))


def test_the_run_learnt_and_is_evaluated(trained):
    run = trained[0]
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    rec = [m["val/rec"] for m in metrics if "val/rec" in m]
    assert len(rec) >= 2 and rec[-1] < rec[0]
    report = evaluate_text_run(run, split="test", iw_samples=4, max_sentences=12, prior_samples=6)
    m = report["metrics"]
    assert report["iw_samples"] == 4 and m["iw_nll_nats_per_sentence"] > 0 and 0 <= m["active_units"] <= 6
    assert 0 <= m["recon_bleu_greedy_from_mean"] <= 100 and 0 <= m["prior_distinct_2"] <= 1
    # the training data's own labels give the direction; neighbours search the training sentences
    sampler = sentae.load(run)
    assert len(sampler.transfer(["the coffee was cold ."], {"sentiment": "positive"})) == 1
    res = CliRunner().invoke(main, ["neighbours", str(run), "the food was great .", "-n", "3"])
    assert res.exit_code == 0, res.output
    assert len(res.output.strip().splitlines()) >= 3
