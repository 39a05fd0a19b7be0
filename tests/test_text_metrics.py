"""Text-VAE metrics on cases whose answers are known by hand."""
import math

import pytest
import torch

from sentae.model import LatentTextModel
from sentae.evaluation.text import (active_units, corpus_bleu, distinct_n, iw_log_likelihood, mutual_information,
                                    uniqueness)

D = 5


class PriorPosterior(LatentTextModel):
    """q(z|x) = p(z) = N(0, I); -log p(x|z) = |z + offset(x)|^2, so the decoder does depend on z. It declares the
    latent-text-model contract (the metrics read a model only through it)."""

    latent_size = D

    def encode_stats(self, tokens, lengths):
        return torch.zeros(len(tokens), D), torch.zeros(len(tokens), D)

    def sentence_nll(self, tokens, lengths, z):
        offset = tokens.float().mean(1, keepdim=True)
        return (z + offset).pow(2).sum(1)


def test_iw_nll_with_posterior_equal_to_prior_is_the_decoder_nll_under_prior_samples():
    model = PriorPosterior()
    tokens, lengths = torch.tensor([[1, 4, 2], [1, 5, 2]]), torch.tensor([3, 3])
    k = 64
    got = iw_log_likelihood(model, tokens, lengths, samples=k, chunk=16, generator=torch.Generator().manual_seed(3))
    # the same prior draws, by hand: log (1/K) sum_k p(x | z_k), z_k ~ N(0, I)
    g = torch.Generator().manual_seed(3)
    draws = torch.cat([torch.randn((16, 2, D), generator=g) for _ in range(k // 16)])
    log_px = torch.stack([-model.sentence_nll(tokens, lengths, z) for z in draws])
    expected = torch.logsumexp(log_px, 0) - math.log(k)
    assert torch.allclose(got, expected, atol=1e-4)


def test_iw_nll_of_a_model_without_latent_is_exact():
    class LM:
        latent_size = 0

        def sentence_nll(self, tokens, lengths, z):
            assert z is None
            return lengths.float() * 2.5

    got = iw_log_likelihood(LM(), torch.zeros(3, 4, dtype=torch.long), torch.tensor([3, 4, 2]), samples=500)
    assert got.tolist() == [-7.5, -10.0, -5.0]


def test_collapsed_encoder_has_no_active_units_and_no_information():
    mu = torch.zeros(2000, D) + 0.3  # the same posterior for every sentence
    logvar = torch.zeros(2000, D)
    au, var = active_units(mu)
    assert au == 0 and float(var.max()) == 0.0
    mi = mutual_information(mu, logvar, generator=torch.Generator().manual_seed(0))
    assert abs(float(mi)) < 0.05


def test_informative_encoder_reaches_log_of_the_number_of_clusters():
    # 4 well-separated, narrow posteriors: z identifies the cluster exactly, I(x; z) = log 4
    centers = torch.eye(4, D) * 20
    mu = centers.repeat(500, 1)
    logvar = torch.full_like(mu, -6.0)
    mi = mutual_information(mu, logvar, generator=torch.Generator().manual_seed(0))
    assert float(mi) == pytest.approx(math.log(4), abs=0.02)
    assert active_units(mu)[0] == 4


def test_active_units_threshold():
    mu = torch.zeros(100, 4)
    mu[:, 0] = torch.linspace(-1, 1, 100)  # variance about 0.34
    mu[:, 1] = torch.linspace(-0.1, 0.1, 100)  # variance about 0.0034 < 0.01
    assert active_units(mu)[0] == 1
    assert active_units(mu, delta=0.001)[0] == 2


def test_distinct_and_uniqueness_by_hand():
    sents = [["a", "b", "a", "b"], ["a", "b", "c"]]
    assert distinct_n(sents, 1) == pytest.approx(3 / 7)
    assert distinct_n(sents, 2) == pytest.approx(3 / 5)  # ab, ba, ab | ab, bc
    assert uniqueness(["x y", "x y", "z"]) == pytest.approx(2 / 3)


def test_bleu_identity_and_disjoint():
    refs = ["the food was great", "service was slow ."]
    assert corpus_bleu(refs, refs) == pytest.approx(100.0)
    assert corpus_bleu(["q r s t", "u v w x"], refs) == pytest.approx(0.0)


def _small_vae():
    from sentae.model import DataInfo
    from sentae.registry import REGISTRY

    info = DataInfo(modality="text", vocab_size=23, pad_id=0, bos_id=1, eos_id=2, unk_id=3, max_length=12)
    torch.manual_seed(0)
    return REGISTRY.create("rnn_vae", info, embedding_size=8, hidden_size=12, latent_size=4).eval()


def _padded(lengths: list[int], width: int) -> torch.Tensor:
    rows = [[1] + [4 + (3 * i + j) % 19 for j in range(n - 2)] + [2] + [0] * (width - n) for i, n in enumerate(lengths)]
    return torch.tensor(rows)


def test_iw_nll_does_not_depend_on_how_the_decoding_is_grouped(monkeypatch):
    """Sentences of similar length are decoded together and cut to their own length; the estimate is the one of
    the plain arrangement (every copy of the batch in one call, in batch order, padded to the longest)."""
    import sentae.evaluation.text as text

    model = _small_vae()
    lengths = torch.tensor([3, 12, 5, 9, 4, 12, 7])
    tokens = _padded(lengths.tolist(), 14)  # two columns of padding more than the longest needs
    k, chunk = 12, 5
    g = torch.Generator().manual_seed(7)
    with torch.no_grad():
        mu, logvar = model.encode_stats(tokens, lengths)
        terms = []
        for start in range(0, k, chunk):
            n = min(chunk, k - start)
            z = mu + torch.randn((n, *mu.shape), generator=g) * (0.5 * logvar).exp()
            log_px = -model.sentence_nll(tokens.repeat(n, 1), lengths.repeat(n), z.reshape(n * 7, -1)).view(n, 7)
            terms.append(log_px + text.gaussian_log_density(z, torch.zeros_like(z), torch.zeros_like(z))
                         - text.gaussian_log_density(z, mu, logvar))
        expected = torch.logsumexp(torch.cat(terms), 0) - math.log(k)
    monkeypatch.setattr(text, "IW_POSITIONS_PER_CALL", 60)  # several groups per chunk
    shares = []
    got = iw_log_likelihood(model, tokens, lengths, samples=k, chunk=chunk, generator=torch.Generator().manual_seed(7),
                            on_chunk=shares.append)
    assert torch.allclose(got, expected, atol=1e-5)
    assert shares == [5 / 12, 5 / 12, 2 / 12]


def test_length_groups_cover_the_batch_once_longest_first_within_the_budget():
    from sentae.evaluation.text import length_groups

    lengths = torch.tensor([3, 30, 5, 9, 4, 30, 7, 2])
    groups = length_groups(lengths, copies=10, positions=700)
    flat = torch.cat(groups).tolist()
    assert sorted(flat) == list(range(8))
    assert [int(lengths[i]) for i in flat] == sorted(lengths.tolist(), reverse=True)
    assert all(10 * len(g) * int(lengths[g].max()) <= 700 or len(g) == 1 for g in groups)
    assert len(length_groups(lengths, copies=1000, positions=10)) == 8  # over budget: one sentence a group
