"""The shared RNN encoder is exact on padded batches: padding never changes a sentence's code."""
import torch

from sentae.nn import RNNEncoder
from sentae.nn.rnn import reverse_within_length


def test_reverse_within_length():
    x = torch.tensor([[1, 2, 3, 0], [4, 5, 0, 0]])
    assert reverse_within_length(x, torch.tensor([3, 2])).tolist() == [[3, 2, 1, 0], [5, 4, 0, 0]]
    emb = torch.arange(16.0).view(2, 4, 2)
    assert reverse_within_length(emb, torch.tensor([4, 1]))[1].tolist() == emb[1].tolist()


def test_encoder_ignores_padding_in_both_directions():
    torch.manual_seed(0)
    for cell in ("lstm", "gru"):
        enc = RNNEncoder(20, 5, 7, num_layers=2, cell=cell, bidirectional=True).eval()
        alone = enc(torch.tensor([[1, 8, 9, 2]]), torch.tensor([4]))
        padded = enc(torch.tensor([[1, 8, 9, 2, 0, 0, 0], [1, 4, 5, 6, 7, 8, 2]]), torch.tensor([4, 7]))
        assert alone.shape == (1, 14)
        assert torch.allclose(alone[0], padded[0], atol=1e-6)
        # the backward half really is the reversed sentence: it differs from the forward half
        assert not torch.allclose(alone[0, :7], alone[0, 7:])
