"""Latent directions on codes whose answers are known: two clusters, two attributes."""
import pytest
import torch

from sentae.errors import SentaeError
from sentae.generation.latent_arithmetic import direction, move

# codes are the sentences' own coordinates: "x,y" -> [x, y]
def encode(texts):
    return torch.tensor([[float(v) for v in t.split(",")] for t in texts])


# sentiment lives on the first coordinate (negative near -2, positive near +2), tense on the second
PAIRS_SENTIMENT = [(f"{-2 + 0.1 * i},{0.3 * (i % 3)}", "negative") for i in range(10)] + \
                  [(f"{2 + 0.1 * i},{0.3 * (i % 3)}", "positive") for i in range(10)]
PAIRS_TENSE = [(f"{0.2 * (i % 4)},{-3 + 0.1 * i}", "past") for i in range(10)] + \
              [(f"{0.2 * (i % 4)},{3 + 0.1 * i}", "future") for i in range(10)]


def test_the_offset_is_the_difference_of_mean_codes_and_the_reading_separates_them():
    d = direction(encode, PAIRS_SENTIMENT, "sentiment", "positive", None, count=100, seed=0)
    z_pos = encode([t for t, v in PAIRS_SENTIMENT if v == "positive"])
    z_neg = encode([t for t, v in PAIRS_SENTIMENT if v == "negative"])
    assert torch.allclose(d.offset, z_pos.mean(0) - z_neg.mean(0))
    assert d.has_value(z_pos).all() and not d.has_value(z_neg).any()
    assert (d.probability(z_pos) > 0.9).all() and (d.probability(z_neg) < 0.1).all()
    between = torch.tensor([[0.0, 0.3]])  # halfway: the reading is unsure, so the code is not taken as positive
    assert not d.has_value(between).any()


def test_moves_compose_and_skip_codes_already_at_the_value():
    pos = direction(encode, PAIRS_SENTIMENT, "sentiment", "positive", None, count=100, seed=0)
    fut = direction(encode, PAIRS_TENSE, "tense", "future", None, count=100, seed=0)
    z = torch.tensor([[-2.0, -3.0],   # negative, past: moves along both
                      [2.0, -3.0],    # already positive: moves along tense only
                      [2.0, 3.0]])    # already both: stays
    out = move(z, [pos, fut], scale=1.0)
    assert torch.allclose(out[0], z[0] + pos.offset + fut.offset)
    assert torch.allclose(out[1], z[1] + fut.offset)
    assert torch.equal(out[2], z[2])
    assert torch.allclose(move(z, [pos, fut], 1.0, keep_matching=False), z + pos.offset + fut.offset)


def test_values_the_labels_do_not_have_are_refused():
    with pytest.raises(SentaeError, match="'neutral' of attribute 'sentiment' is not among .*negative, positive"):
        direction(encode, PAIRS_SENTIMENT, "sentiment", "neutral", None, count=100, seed=0)
    with pytest.raises(SentaeError, match="no labelled sentence has a 'sentiment' value other than 'positive'"):
        direction(encode, [p for p in PAIRS_SENTIMENT if p[1] == "positive"], "sentiment", "positive", None, 100, 0)
