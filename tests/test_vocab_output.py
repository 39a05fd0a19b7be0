"""The decoder's output layer: the adaptive softmax is a normalised distribution, its per-token NLL agrees with its
full table of log-probabilities, and the decoder's teacher-forced NLL agrees with step-by-step decoding."""
import pytest
import torch
import torch.nn.functional as F

from sentae.nn import AdaptiveSoftmax, FullSoftmax, RNNDecoder, SoftmaxConfig
from sentae.nn.vocab_output import make_vocab_output

HIDDEN, VOCAB, CUTOFFS = 13, 41, [9, 23]  # short list 0..8, tails 9..22 and 23..40


def _adaptive(seed: int = 0) -> AdaptiveSoftmax:
    torch.manual_seed(seed)
    return AdaptiveSoftmax(HIDDEN, VOCAB, CUTOFFS, div_value=2.0)


def test_adaptive_scores_are_a_normalised_distribution():
    out = _adaptive()
    scores = out.scores(torch.randn(17, HIDDEN) * 3)
    assert scores.shape == (17, VOCAB)
    assert torch.allclose(scores.logsumexp(-1), torch.zeros(17), atol=1e-5)
    assert (scores < 0).all()


def test_adaptive_nll_matches_its_table_in_every_cluster():
    out = _adaptive()
    hidden = torch.randn(40, HIDDEN)
    targets = torch.arange(40) % VOCAB  # words from the short list and from both tails
    expected = -out.scores(hidden).gather(1, targets.unsqueeze(1)).squeeze(1)
    assert torch.allclose(out.nll(hidden, targets), expected, atol=1e-5)


def test_adaptive_tail_sizes_and_projection_widths():
    out = _adaptive()
    assert out.head.out_features == CUTOFFS[0] + 2  # the short list and one entry per tail cluster
    widths = [tail[0].out_features for tail in out.tails]
    sizes = [tail[1].out_features for tail in out.tails]
    assert widths == [6, 3] and sizes == [14, 18]  # 13 // 2, 13 // 4; 23 - 9, 41 - 23


def test_only_tails_with_targets_get_gradients():
    out = _adaptive()
    loss = out.nll(torch.randn(5, HIDDEN), torch.tensor([0, 3, 10, 12, 8])).sum()  # short list and first tail
    loss.backward()
    assert out.head.weight.grad.abs().sum() > 0
    assert out.tails[0][1].weight.grad.abs().sum() > 0
    assert out.tails[1][1].weight.grad is None


def test_adaptive_softmax_under_bf16_autocast_stays_close_and_float32():
    out = _adaptive()
    hidden, targets = torch.randn(30, HIDDEN), torch.arange(30) % VOCAB
    exact = out.nll(hidden, targets)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = out.nll(hidden, targets)
    assert low.dtype == torch.float32
    assert torch.allclose(low, exact, atol=0.1, rtol=0.05)


@pytest.mark.parametrize("cutoffs", [[], [0, 5], [9, 9], [23, 9], [9, 41], [50]])
def test_bad_cutoffs_are_refused_with_the_vocabulary_size(cutoffs):
    with pytest.raises(ValueError, match=r"softmax.cutoffs .* 41"):
        AdaptiveSoftmax(HIDDEN, VOCAB, cutoffs)


def test_softmax_config_checks_its_fields():
    with pytest.raises(ValueError, match="softmax.kind"):
        SoftmaxConfig(kind="hierarchical")
    with pytest.raises(ValueError, match="div_value"):
        SoftmaxConfig(kind="adaptive", div_value=0.5)


def test_full_softmax_is_cross_entropy_and_keeps_linear_weight_names():
    torch.manual_seed(0)
    out = make_vocab_output(HIDDEN, VOCAB)
    assert isinstance(out, FullSoftmax) and sorted(out.state_dict()) == ["bias", "weight"]
    hidden, targets = torch.randn(8, HIDDEN), torch.arange(8) * 5
    assert torch.allclose(out.nll(hidden, targets), F.cross_entropy(out(hidden), targets, reduction="none"))


@pytest.mark.parametrize("kind", ["full", "adaptive"])
def test_teacher_forced_nll_equals_step_by_step_decoding(kind):
    torch.manual_seed(3)
    dec = RNNDecoder(VOCAB, 11, HIDDEN, cell="lstm", latent_size=7, z_init=True, z_every_step=True,
                     softmax=SoftmaxConfig(kind=kind, cutoffs=CUTOFFS)).eval()
    tokens = torch.tensor([[1, 5, 12, 30, 2, 0], [1, 40, 2, 0, 0, 0]])
    z = torch.randn(2, 7)
    nll = dec.sentence_nll(tokens, z, pad_id=0)
    state, by_steps = dec.start_state(z, 2), torch.zeros(2)
    for t in range(tokens.shape[1] - 1):
        scores, state = dec.decode_step(tokens[:, t], state)
        logp = F.log_softmax(scores.float(), -1).gather(1, tokens[:, t + 1 : t + 2]).squeeze(1)
        by_steps -= torch.where(tokens[:, t + 1] != 0, logp, torch.zeros(2))
    assert torch.allclose(nll, by_steps, atol=1e-4)


@pytest.mark.parametrize("kind", ["full", "adaptive"])
def test_nll_without_gradient_is_scored_in_chunks_with_the_same_numbers(kind, monkeypatch):
    import sentae.nn.vocab_output as vocab_output

    torch.manual_seed(4)
    out = make_vocab_output(HIDDEN, VOCAB, SoftmaxConfig(kind=kind, cutoffs=CUTOFFS))
    hidden, targets = torch.randn(50, HIDDEN), torch.randint(0, VOCAB, (50,))
    whole = out.nll(hidden, targets)
    calls = []
    inner = out._nll
    monkeypatch.setattr(out, "_nll", lambda h, t: calls.append(len(h)) or inner(h, t))
    monkeypatch.setattr(vocab_output, "NO_GRAD_CHUNK_VALUES", 77)  # a few rows per chunk
    with torch.no_grad():
        chunked = out.nll(hidden, targets)
    assert len(calls) > 2 and sum(calls) == 50
    assert torch.allclose(chunked, whole, atol=1e-6)
    calls.clear()
    with_grad = out.nll(hidden.requires_grad_(), targets)  # training keeps one call: the graph holds it all anyway
    assert calls == [50] and with_grad.requires_grad
    assert torch.allclose(with_grad.detach(), whole, atol=1e-6)
