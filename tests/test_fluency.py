"""Fluency measures: perplexity under a trained rnn_lm run, and reverse perplexity trained on generated text."""
import json
import math
import random

import pytest

import sentae
from sentae.errors import SentaeError
from sentae.evaluation.fluency import lm_perplexity, reverse_perplexity

pytest.importorskip("sentae_text")

SUBJECTS = ["the cat", "a dog", "my friend", "the teacher"]
VERBS = ["likes", "sees", "finds"]
OBJECTS = ["the ball", "a red box", "fresh bread", "green tea"]


def grammar(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}" for _ in range(n)]


def shuffled(texts: list[str], seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for t in texts:
        words = t.split()
        while " ".join(words) == t:
            rng.shuffle(words)
        out.append(" ".join(words))
    return out


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("lm")
    (root / "corpus.txt").write_text("\n".join(grammar(400, 0)) + "\n")
    recipe = {
        "name": "tiny_lm",
        "model": {"type": "rnn_lm", "embedding_size": 12, "hidden_size": 19},
        "data": {"source": "text", "path": str(root / "corpus.txt"), "val_fraction": 0.1, "test_fraction": 0.1},
        "train": {"max_steps": 150, "batch_size": 32, "lr": 0.01, "eval_every": 0, "ckpt_every": 0, "progress": "none"},
    }
    return sentae.train(recipe, out=root / "run").path


def test_in_distribution_sentences_have_lower_perplexity(lm_run):
    real = grammar(50, 1)
    good = lm_perplexity(lm_run, real)
    bad = lm_perplexity(lm_run, shuffled(real, 2))
    assert good["sentences"] == bad["sentences"] == 50
    assert good["unk_tokens"] == bad["unk_tokens"] == 0
    # the 4 x 3 x 4 grammar holds log(48) = 3.87 nats of choice per sentence, about 6.3 predicted tokens: the best
    # possible per-word perplexity is about exp(3.87 / 6.3) = 1.85; word salad costs far more
    assert 3.5 < good["nats_per_sentence"] < 4.5 and good["ppl_per_word"] < 2.0
    assert bad["ppl_per_word"] > 10 * good["ppl_per_word"]
    assert good["nats_per_word"] == pytest.approx(math.log(good["ppl_per_word"]))
    # per-word divides by words + eos: 4 or 5 words per sentence here
    assert good["nats_per_sentence"] / good["nats_per_word"] == pytest.approx((good["tokens"] + 50) / 50)


def test_perplexity_matches_the_models_own_evaluation(lm_run):
    """The same numbers as the rnn_lm's evaluate() on its test split, whatever the batching."""
    from sentae.run import RunFolder

    data = RunFolder(lm_run).rebuild_data()
    model = sentae.load_model(lm_run)
    idx = list(range(data.split_size("test")))
    expected = model.evaluate(data.get_batch("test", idx[i : i + 7]) for i in range(0, len(idx), 7))
    tok = sentae.load(lm_run).tokenizer
    texts = [tok.decode(row.tolist()[1:]) for row in data.get_batch("test", idx)["tokens"]]
    got = lm_perplexity(lm_run, texts, batch_size=16)
    assert got["nats_per_word"] == pytest.approx(expected["nll_per_word"], rel=1e-5)
    assert got["nats_per_sentence"] == pytest.approx(expected["loss"], rel=1e-5)


def test_unknown_words_are_counted(lm_run):
    rep = lm_perplexity(lm_run, ["the zebra likes fresh quinoa", "", "a dog sees the ball"])
    assert rep["sentences"] == 2 and rep["words"] == 10  # the blank text is skipped
    assert rep["unk_tokens"] == 2 and rep["unk_rate"] == pytest.approx(0.2)


def test_lm_perplexity_refuses_what_it_cannot_score(lm_run, tmp_path):
    with pytest.raises(SentaeError, match="all blank"):
        lm_perplexity(lm_run, ["", "   "])
    vae = sentae.create_model("rnn_vae", embedding_size=5, hidden_size=6, latent_size=3)
    sentae.save_pretrained(vae, tmp_path / "vae", tokenizer=sentae.load(lm_run).tokenizer)
    with pytest.raises(SentaeError, match="latent code"):
        lm_perplexity(tmp_path / "vae", ["a b"])


def test_reverse_perplexity_end_to_end(tmp_path):
    real = grammar(40, 5)
    kw = dict(lm_config={"embedding_size": 10, "hidden_size": 14}, max_steps=80, batch_size=16, lr=0.01)
    fluent = reverse_perplexity(grammar(300, 3), real, out=tmp_path / "fluent", **kw)
    salad = reverse_perplexity(shuffled(grammar(300, 3), 4), real, **kw)
    assert fluent["real_sentences"] == 40 and fluent["generated_sentences"] == 300
    assert fluent["lm_steps"] == 80 and fluent["unk_tokens"] == 0
    assert fluent["lm_vocab_size"] == 4 + 17  # the specials and the grammar's 17 words
    # an LM trained on fluent samples explains real text better than one trained on word salad
    assert fluent["reverse_ppl_per_word"] < 0.6 * salad["reverse_ppl_per_word"]
    saved = json.loads((tmp_path / "fluent" / "reverse_ppl.json").read_text())
    assert saved["reverse_ppl_per_word"] == fluent["reverse_ppl_per_word"]
    assert salad["lm_run"] is None  # kept only when `out` is given
    # a generator that never says "green tea" leaves real words unknown to the LM, and the report says so
    no_tea = [s for s in grammar(300, 3) if "tea" not in s.split()]
    narrow = reverse_perplexity(no_tea, real, **{**kw, "max_steps": 20})
    assert narrow["unk_tokens"] == 2 * sum(s.split().count("tea") for s in real) == 12
    with pytest.raises(SentaeError, match="at least 2"):
        reverse_perplexity(["only one"], real, **kw)
