"""Decoding strategies on a hand-made bigram decoder whose answers can be checked by hand."""
import math

import pytest
import torch

from sentae.errors import SentaeError
from sentae.generation.decoding import DecodeConfig, decode, filter_logits

PAD, BOS, EOS, A, B, C = range(6)


class Bigram:
    """p(next | previous) from a fixed table; the state is the previous token (batch-first, as required)."""

    def __init__(self):
        table = torch.full((6, 6), 1e-9)
        table[BOS, A], table[BOS, B] = 0.6, 0.4  # greedy takes A ...
        table[A, EOS], table[A, C] = 0.55, 0.45
        table[B, EOS] = 1.0  # ... but "B eos" (0.4) beats "A eos" (0.33): beam search must find it
        table[C, EOS] = 1.0
        table[EOS, EOS] = table[PAD, EOS] = 1.0
        self.logits = table.log()
        self.steps = 0

    def start_state(self, z, batch_size):
        return {"prev": torch.full((batch_size, 1), BOS)}

    def decode_step(self, tokens, state):
        self.steps += 1
        return self.logits[tokens], {"prev": tokens.unsqueeze(1)}


def run(cfg, n=3, gen=None):
    return decode(Bigram(), None, n, BOS, EOS, PAD, cfg, gen)


def test_greedy_takes_the_locally_best_word():
    assert run(DecodeConfig("greedy")).tolist() == [[A, EOS]] * 3


@pytest.mark.parametrize("beam", [2, 3])
def test_beam_finds_the_more_probable_sentence(beam):
    out = run(DecodeConfig("beam", beam=beam, length_penalty=0.0))
    assert out.tolist() == [[B, EOS]] * 3


def test_beam_with_length_normalisation():
    # per-token log-probability: "A C eos" log(.6*.45)/3 = -0.436 beats "B eos" log(.4)/2 = -0.458
    assert math.log(0.6 * 0.45) / 3 > math.log(0.4) / 2 > math.log(0.6 * 0.55) / 2
    out = run(DecodeConfig("beam", beam=2, length_penalty=1.0))
    assert out.tolist() == [[A, C, EOS]] * 3


def test_beam_stops_early_once_nothing_can_beat_the_best():
    model = Bigram()
    decode(model, None, 2, BOS, EOS, PAD, DecodeConfig("beam", beam=2, max_length=30, length_penalty=0.0))
    assert model.steps < 30


def test_top_k_one_sampling_is_greedy():
    g = torch.Generator().manual_seed(0)
    assert run(DecodeConfig("sample", top_k=1), n=20, gen=g).tolist() == [[A, EOS]] * 20


def test_sampling_frequencies_follow_the_model():
    g = torch.Generator().manual_seed(0)
    out = run(DecodeConfig("sample"), n=4000, gen=g)
    share_b = float((out[:, 0] == B).float().mean())
    assert abs(share_b - 0.4) < 0.03
    # finished rows are padded after eos
    rows_a = out[out[:, 0] == A]
    assert ((rows_a[:, 1] == EOS) | (rows_a[:, 1] == C)).all()


def test_low_temperature_is_nearly_greedy():
    g = torch.Generator().manual_seed(0)
    out = run(DecodeConfig("sample", temperature=0.05), n=500, gen=g)
    assert float((out[:, 0] == A).float().mean()) > 0.99


def test_filter_top_p_by_hand():
    logits = torch.tensor([[0.5, 0.3, 0.15, 0.05]]).log()
    kept = torch.isfinite(filter_logits(logits, top_p=0.7))
    assert kept.tolist() == [[True, True, False, False]]
    kept = torch.isfinite(filter_logits(logits, top_p=0.5))
    assert kept.tolist() == [[True, False, False, False]]
    kept = torch.isfinite(filter_logits(logits, top_p=0.81))
    assert kept.tolist() == [[True, True, True, False]]


def test_filter_top_p_respects_original_order():
    logits = torch.tensor([[0.05, 0.15, 0.5, 0.3]]).log()
    assert torch.isfinite(filter_logits(logits, top_p=0.7)).tolist() == [[False, False, True, True]]


def test_filter_top_k_by_hand():
    logits = torch.tensor([[1.0, 4.0, 3.0, 2.0]])
    assert torch.isfinite(filter_logits(logits, top_k=2)).tolist() == [[False, True, True, False]]


@pytest.mark.parametrize("bad", [{"strategy": "nucleus"}, {"top_p": 0.0}, {"temperature": 0.0}, {"beam": 0}])
def test_bad_decoding_settings(bad):
    with pytest.raises(SentaeError):
        DecodeConfig(**bad)
