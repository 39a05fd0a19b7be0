"""Text noise of the denoising autoencoders: hand-checked outputs under fixed seeds.

The batch: sentence 0 = bos 10 11 12 13 14 eos, sentence 1 = bos 20 21 eos pad pad pad. With seed 0 the uniforms
drawn for a [2, 7] batch are (rounded)
    row 0: .496 .768 .089 .132 .307 .634 .490
    row 1: .896 .456 .632 .349 .402 .022 .169
and only word positions (1..5 in row 0, 1..2 in row 1) may be touched.
"""
import pytest
import torch

from sentae.nn.noise import (TextNoiseConfig, add_noise, blank_words, drop_words, shuffle_words, substitute_words,
                             word_mask)

TOK = torch.tensor([[1, 10, 11, 12, 13, 14, 2], [1, 20, 21, 2, 0, 0, 0]])
LEN = torch.tensor([7, 4])


def g(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_word_mask_excludes_bos_eos_pad():
    assert word_mask(TOK, LEN).int().tolist() == [[0, 1, 1, 1, 1, 1, 0], [0, 1, 1, 0, 0, 0, 0]]


def test_drop_hand_checked():
    # p = 0.3: row 0 words at positions 2 (.089) and 3 (.132) fall below 0.3; row 1 keeps both (.456, .632).
    out, lengths = drop_words(TOK, LEN, 0.3, pad_id=0, generator=g(0))
    assert out.tolist() == [[1, 10, 13, 14, 2], [1, 20, 21, 2, 0]]
    assert lengths.tolist() == [5, 4]


def test_drop_everything_leaves_bos_eos():
    out, lengths = drop_words(TOK, LEN, 1.0, pad_id=0, generator=g(0))
    assert out.tolist() == [[1, 2], [1, 2]] and lengths.tolist() == [2, 2]


def test_blank_hand_checked():
    out = blank_words(TOK, LEN, 0.3, blank_id=3, generator=g(0))
    assert out.tolist() == [[1, 10, 3, 3, 13, 14, 2], [1, 20, 21, 2, 0, 0, 0]]


def test_substitute_hand_checked():
    # p = 0.5 hits row 0 positions 2, 3, 4 and row 1 position 1; replacement ids are 4 + floor(u * 36) from the
    # second [2, 7] draw of seed 0: row 0 -> 29, 32, 9; row 1 -> 18.
    out = substitute_words(TOK, LEN, 0.5, vocab_size=40, first_word_id=4, generator=g(0))
    assert out.tolist() == [[1, 10, 29, 32, 9, 14, 2], [1, 18, 21, 2, 0, 0, 0]]


def test_substitute_never_draws_specials():
    out = substitute_words(TOK.repeat(50, 1), LEN.repeat(50), 1.0, vocab_size=6, first_word_id=4, generator=g(3))
    words = out[word_mask(out, LEN.repeat(50))]
    assert set(words.tolist()) <= {4, 5} and len(set(words.tolist())) == 2


def test_shuffle_hand_checked():
    # seed 1, k = 2: sort keys position + 3u: 10 -> 3.20, 11 -> 2.09, 12 -> 5.40, 13 -> 5.19, 14 -> 7.26.
    assert shuffle_words(TOK, LEN, 1.0, 2, g(1)).tolist()[0] == [1, 11, 10, 13, 12, 14, 2]
    # seed 5: 10 -> 3.46, 11 -> 4.76, 12 -> 3.35, 13 -> 4.49, 14 -> 7.21.
    assert shuffle_words(TOK, LEN, 1.0, 2, g(5)).tolist()[0] == [1, 12, 10, 13, 11, 14, 2]


def test_shuffle_moves_no_word_further_than_k():
    tokens = torch.cat([torch.tensor([1]), torch.arange(100, 130), torch.tensor([2])]).repeat(40, 1)
    lengths = torch.full((40,), 32)
    for k in (1, 3):
        out = shuffle_words(tokens, lengths, 1.0, k, g(7))
        assert (out[:, 0] == 1).all() and (out[:, -1] == 2).all()
        moved = (out[:, 1:-1] - torch.arange(100, 130)).abs()
        assert int(moved.max()) <= k and int(moved.max()) > 0
        assert (out.sort(1).values == tokens.sort(1).values).all()


def test_shuffle_probability_chooses_sentences():
    tokens = torch.cat([torch.tensor([1]), torch.arange(100, 120), torch.tensor([2])]).repeat(400, 1)
    out = shuffle_words(tokens, torch.full((400,), 22), 0.25, 3, g(0))
    changed = (out != tokens).any(1).float().mean()
    assert 0.18 < float(changed) < 0.32


def test_zero_probabilities_are_identity():
    cfg = TextNoiseConfig()
    assert not cfg.active
    out, lengths = add_noise(TOK, LEN, cfg, 40, 0, 3, 4, g(0))
    assert torch.equal(out, TOK) and torch.equal(lengths, LEN)


def test_add_noise_combines_in_order():
    cfg = TextNoiseConfig(drop=0.3, blank=0.2, substitute=0.1, shuffle=0.5, shuffle_distance=2)
    tokens = TOK.repeat(30, 1)
    out, lengths = add_noise(tokens, LEN.repeat(30), cfg, 40, 0, 3, 4, g(2))
    assert (out[:, 0] == 1).all()
    assert (out.gather(1, (lengths - 1).unsqueeze(1)) == 2).all()
    assert ((out == 0) == (torch.arange(out.shape[1]) >= lengths.unsqueeze(1))).all()
    assert int(lengths.max()) <= 7 and int(lengths.min()) >= 2


@pytest.mark.parametrize("field,value", [("drop", 1.5), ("blank", -0.1), ("shuffle_distance", 0)])
def test_config_rejects_bad_values(field, value):
    with pytest.raises(ValueError, match=field):
        TextNoiseConfig(**{field: value})
