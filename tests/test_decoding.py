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


@pytest.mark.parametrize("bad", [{"strategy": "nucleus"}, {"top_p": 0.0}, {"temperature": 0.0}, {"beam": 0},
                                 {"precision": "fp16"}])
def test_bad_decoding_settings(bad):
    with pytest.raises(SentaeError):
        DecodeConfig(**bad)


# -- batched beam search, checked against the per-candidate search it replaced and against exhaustive search --------

from sentae.generation.decoding import _nucleus_by_sort, nucleus_floor, sample_tokens  # noqa: E402
from sentae.nn.attention import AttentionDecoder  # noqa: E402
from sentae.nn.rnn import RNNDecoder  # noqa: E402

TINY_PAD, TINY_BOS, TINY_EOS = 0, 1, 2


@torch.no_grad()
def _reference_beam_search(model, z, batch_size, bos_id, eos_id, pad_id, config):
    """The beam search sentae had before it was batched: a Python loop over inputs and candidates."""
    k = config.beam
    z_rep = z.repeat_interleave(k, 0) if z is not None else None
    state = model.start_state(z_rep, batch_size * k)
    tokens = torch.full((batch_size * k,), bos_id, dtype=torch.long)
    scores = torch.full((batch_size, k), float("-inf"))
    scores[:, 0] = 0.0
    history = torch.zeros(batch_size * k, 0, dtype=torch.long)
    best = [None] * batch_size
    best_score = torch.full((batch_size,), float("-inf"))
    for t in range(config.max_length):
        logits, state = model.decode_step(tokens, state)
        logp = logits.float().log_softmax(-1).view(batch_size, k, -1)
        vocab = logp.shape[-1]
        cand = (scores.unsqueeze(-1) + logp).view(batch_size, -1)
        top_scores, top_idx = cand.topk(2 * k, dim=-1)
        beam_idx, token_idx = top_idx // vocab, top_idx % vocab
        new_scores = torch.full((batch_size, k), float("-inf"))
        new_src = torch.zeros(batch_size, k, dtype=torch.long)
        new_tok = torch.full((batch_size, k), pad_id, dtype=torch.long)
        length = t + 1
        for b in range(batch_size):
            filled = 0
            for j in range(2 * k):
                score = float(top_scores[b, j])
                if score == float("-inf"):
                    break
                src = b * k + int(beam_idx[b, j])
                tok = int(token_idx[b, j])
                if tok == eos_id or length == config.max_length:
                    normed = score / (length ** config.length_penalty)
                    if normed > best_score[b]:
                        best_score[b] = normed
                        best[b] = torch.cat([history[src], torch.tensor([tok])])
                    if tok == eos_id:
                        continue
                if filled < k:
                    new_scores[b, filled], new_src[b, filled], new_tok[b, filled] = score, src, tok
                    filled += 1
        src_flat = new_src.view(-1)
        history = torch.cat([history.index_select(0, src_flat), new_tok.view(-1, 1)], 1)
        state = {name: v.index_select(0, src_flat) for name, v in state.items()}
        tokens = new_tok.view(-1)
        scores = new_scores
        bound = scores.max(-1).values / (config.max_length ** max(config.length_penalty, 0.0))
        if bool((best_score >= bound).all()):
            break
    width = max(len(s) for s in best if s is not None)
    out = torch.full((batch_size, width), pad_id, dtype=torch.long)
    for b, seq in enumerate(best):
        out[b, : len(seq)] = seq
    return out


class MemoryStep:
    """The attention decoder behind the decoder-step interface (as the rewriter puts it): the code is a memory of
    3 rows of 5 numbers (the last row zero: masked) and a conditioning vector of 2."""

    def __init__(self, vocab: int, seed: int, eos_bias: float) -> None:
        torch.manual_seed(seed)
        self.decoder = AttentionDecoder(vocab, 6, 9, memory_size=5, cond_size=2).eval()
        _sharpen(self.decoder.output, eos_bias)

    def start_state(self, code, batch_size):
        memory = code[:, :15].reshape(-1, 3, 5).clone()
        memory[:, 2] = 0.0
        return self.decoder.start_state(memory, memory.abs().sum(-1) > 0, code[:, 15:])

    def decode_step(self, tokens, state):
        return self.decoder.decode_step(tokens, state)


def _sharpen(output: torch.nn.Linear, eos_bias: float = 1.5) -> None:
    # Random initial weights give nearly flat distributions; sharper ones make eos, and early stops, happen.
    with torch.no_grad():
        output.weight.mul_(6.0)
        output.bias[TINY_EOS] += eos_bias


def _tiny_decoder(kind: str, vocab: int, seed: int, eos_bias: float = 1.5):
    """A random small decoder of the given kind and the width of the codes it reads."""
    if kind == "memory":
        return MemoryStep(vocab, seed, eos_bias), 17
    torch.manual_seed(seed)
    cell, every_step = {"lstm": ("lstm", False), "lstm_z_every_step": ("lstm", True), "gru": ("gru", False)}[kind]
    decoder = RNNDecoder(vocab, 5, 11, num_layers=2 if kind == "gru" else 1, cell=cell, latent_size=7,
                         z_every_step=every_step).eval()
    _sharpen(decoder.output, eos_bias)
    return decoder, 7


@pytest.mark.parametrize("kind", ["lstm", "lstm_z_every_step", "gru", "memory"])
@pytest.mark.parametrize("beam,penalty", [(2, 0.0), (3, 1.0), (5, 0.6), (4, -0.5), (3, 2.0)])
def test_batched_beam_search_returns_what_the_per_candidate_search_returned(kind, beam, penalty):
    model, code = _tiny_decoder(kind, vocab=9, seed=beam * 10 + int(penalty * 10), eos_bias=0.0)
    z = torch.randn(6, code, generator=torch.Generator().manual_seed(beam))
    cfg = DecodeConfig("beam", beam=beam, length_penalty=penalty, max_length=7)
    expected = _reference_beam_search(model, z, 6, TINY_BOS, TINY_EOS, TINY_PAD, cfg)
    got = decode(model, z, 6, TINY_BOS, TINY_EOS, TINY_PAD, cfg)
    assert got.tolist() == expected.tolist()


@torch.no_grad()
def _exhaustive_best(model, code, eos_id, max_length, penalty):
    """The highest-scoring hypothesis (eos at its end, or max_length tokens) over every token sequence."""
    prefixes, scores = [()], torch.zeros(1)
    state = model.start_state(code.unsqueeze(0), 1)
    tokens = torch.full((1,), TINY_BOS, dtype=torch.long)
    best, best_score = None, float("-inf")
    for length in range(1, max_length + 1):
        logits, state = model.decode_step(tokens, state)
        logp = scores.unsqueeze(1) + logits.float().log_softmax(-1)
        rows, keep = [], []
        for i, prefix in enumerate(prefixes):
            for tok in range(logp.shape[1]):
                score = float(logp[i, tok])
                if tok == eos_id or length == max_length:
                    if score / length ** penalty > best_score:
                        best, best_score = prefix + (tok,), score / length ** penalty
                else:
                    rows.append(i)
                    keep.append((prefix + (tok,), score))
        if length == max_length:
            break
        index = torch.tensor(rows)
        state = {name: v.index_select(0, index) for name, v in state.items()}
        prefixes, scores = [p for p, _ in keep], torch.tensor([s for _, s in keep])
        tokens = torch.tensor([p[-1] for p in prefixes])
    return list(best)


@pytest.mark.parametrize("kind", ["lstm", "memory"])
@pytest.mark.parametrize("penalty", [0.0, 0.5, 1.0, 1.5])
def test_wide_beam_finds_the_exhaustive_best(kind, penalty):
    # 5 tokens, 4 steps: at most 4**3 = 64 unfinished prefixes, so a beam of 64 keeps every one of them and must
    # return the best hypothesis of all, early stopping included.
    model, code = _tiny_decoder(kind, vocab=5, seed=3, eos_bias=0.0)
    z = torch.randn(5, code, generator=torch.Generator().manual_seed(int(penalty * 10)))
    got = decode(model, z, 5, TINY_BOS, TINY_EOS, TINY_PAD, DecodeConfig("beam", beam=64, length_penalty=penalty,
                                                                          max_length=4))
    for b in range(5):
        row = [t for t in got[b].tolist()]
        best = _exhaustive_best(model, z[b], TINY_EOS, 4, penalty)
        assert row[: len(best)] == best and all(t == TINY_PAD for t in row[len(best):])


def test_narrow_beam_never_beats_the_exhaustive_best_and_sometimes_misses_it():
    model, code = _tiny_decoder("gru", vocab=5, seed=4)
    z = torch.randn(40, code, generator=torch.Generator().manual_seed(0))
    got = decode(model, z, 40, TINY_BOS, TINY_EOS, TINY_PAD, DecodeConfig("beam", beam=2, length_penalty=1.0,
                                                                           max_length=4))
    wide = decode(model, z, 40, TINY_BOS, TINY_EOS, TINY_PAD, DecodeConfig("beam", beam=64, length_penalty=1.0,
                                                                            max_length=4))
    scores = {name: _scores(model, z, out, 1.0) for name, out in (("narrow", got), ("wide", wide))}
    assert (scores["narrow"] <= scores["wide"] + 1e-6).all()
    assert (scores["narrow"] < scores["wide"] - 1e-6).any()  # a width of 2 is a search, not an exhaustive one


@torch.no_grad()
def _scores(model, z, out, penalty):
    """score / length**penalty of each decoded hypothesis, recomputed step by step."""
    state = model.start_state(z, len(z))
    tokens = torch.full((len(z),), TINY_BOS, dtype=torch.long)
    total = torch.zeros(len(z))
    lengths = ((out != TINY_PAD).sum(1)).float()
    for t in range(out.shape[1]):
        logits, state = model.decode_step(tokens, state)
        tokens = out[:, t]
        real = tokens != TINY_PAD
        total += torch.where(real, logits.float().log_softmax(-1).gather(1, tokens.clamp(min=0).unsqueeze(1))[:, 0], 0.0)
    return total / lengths ** penalty


# -- greedy and sampled decoding with finished sequences leaving the batch -----------------------------------------

@torch.no_grad()
def _reference_greedy(model, z, n, max_length):
    """Greedy decoding that keeps finished sequences in the batch (masked), as sentae did before."""
    state = model.start_state(z, n)
    tokens = torch.full((n,), TINY_BOS, dtype=torch.long)
    done = torch.zeros(n, dtype=torch.bool)
    out = []
    for _ in range(max_length):
        logits, state = model.decode_step(tokens, state)
        tokens = logits.float().argmax(-1).masked_fill(done, TINY_PAD)
        out.append(tokens)
        done |= tokens == TINY_EOS
        if bool(done.all()):
            break
    return torch.stack(out, 1)


@pytest.mark.parametrize("kind", ["lstm", "gru", "memory"])
def test_greedy_with_finished_sequences_leaving_the_batch_is_unchanged(kind):
    model, code = _tiny_decoder(kind, vocab=9, seed=7, eos_bias=0.0)
    z = torch.randn(30, code, generator=torch.Generator().manual_seed(1))
    got = decode(model, z, 30, TINY_BOS, TINY_EOS, TINY_PAD, DecodeConfig("greedy", max_length=12))
    expected = _reference_greedy(model, z, 30, 12)
    lengths = (got != TINY_PAD).sum(1)
    assert lengths.min() < lengths.max()  # sequences end at different steps: some leave the batch early
    assert got.tolist() == expected.tolist()


def test_a_sampled_sequence_does_not_depend_on_when_the_others_end():
    model, code = _tiny_decoder("lstm", vocab=9, seed=7, eos_bias=0.0)
    z = torch.randn(12, code, generator=torch.Generator().manual_seed(2))
    cfg = DecodeConfig("sample", max_length=12, top_p=0.9)
    first = decode(model, z[:6], 6, TINY_BOS, TINY_EOS, TINY_PAD, cfg, torch.Generator().manual_seed(5))
    other = torch.cat([z[:1], z[6:11]])  # the same first code among different company
    second = decode(model, other, 6, TINY_BOS, TINY_EOS, TINY_PAD, cfg, torch.Generator().manual_seed(5))
    assert (first != TINY_PAD).sum(1).tolist() != (second != TINY_PAD).sum(1).tolist()
    row = first[0][first[0] != TINY_PAD].tolist()
    assert second[0][: len(row)].tolist() == row


def test_sample_tokens_never_draws_a_token_without_probability():
    logits = torch.tensor([[float("-inf"), 0.0, float("-inf"), 1.0, float("-inf")]] * 3)
    extremes = torch.tensor([0.0, 0.5, 1.0 - 2 ** -24])
    assert sample_tokens(logits, extremes).tolist() == [1, 3, 3]
    peaked = torch.tensor([[0.0, 30.0, -30.0]])  # the last token's probability underflows the running sum
    assert sample_tokens(peaked, torch.tensor([1.0 - 2 ** -24])).tolist() == [1]


def test_sample_tokens_frequencies_follow_the_filtered_distribution():
    probs = torch.tensor([0.5, 0.25, 0.15, 0.07, 0.03])
    logits = probs.log().expand(20000, -1)
    uniform = torch.rand(20000, generator=torch.Generator().manual_seed(0))
    counts = torch.bincount(sample_tokens(logits, uniform, top_p=0.85), minlength=5).float() / 20000
    expected = torch.tensor([0.5, 0.25, 0.15, 0.0, 0.0]) / 0.9
    assert (counts - expected).abs().max() < 0.015
    counts = torch.bincount(sample_tokens(logits, uniform, top_k=2), minlength=5).float() / 20000
    assert (counts - torch.tensor([2 / 3, 1 / 3, 0, 0, 0])).abs().max() < 0.015


# -- the nucleus without sorting -----------------------------------------------------------------------------------

@pytest.mark.parametrize("scale", [0.3, 2.0, 8.0])
@pytest.mark.parametrize("top_p", [0.05, 0.5, 0.9, 0.99])
def test_nucleus_floor_keeps_what_sorting_keeps(scale, top_p):
    logits = torch.randn(40, 3000, generator=torch.Generator().manual_seed(int(scale * 10))) * scale
    logits[:5, ::3] = float("-inf")  # tokens a top-k filter removed
    kept = logits >= nucleus_floor(logits, top_p)
    assert kept.tolist() == torch.isfinite(_nucleus_by_sort(logits, top_p)).tolist()
    assert kept.tolist() == torch.isfinite(filter_logits(logits, top_p=top_p)).tolist()


def test_nucleus_floor_with_a_crowded_bucket_falls_back_to_sorting():
    # 3,000 distinct logits within 0.005 nats of each other share one histogram bucket
    logits = -torch.linspace(0, 0.005, 3000).repeat(3, 1)
    logits = logits[:, torch.randperm(3000, generator=torch.Generator().manual_seed(0))]
    kept = logits >= nucleus_floor(logits, 0.4)
    assert kept.tolist() == torch.isfinite(_nucleus_by_sort(logits, 0.4)).tolist()
    assert 1150 < int(kept[0].sum()) < 1250


def test_sampling_with_top_k_and_top_p_keeps_only_their_intersection():
    logits = torch.randn(64, 2000, generator=torch.Generator().manual_seed(3)) * 3
    allowed = torch.isfinite(filter_logits(logits, top_k=50, top_p=0.7))
    for seed in range(5):
        uniform = torch.rand(64, generator=torch.Generator().manual_seed(seed))
        drawn = sample_tokens(logits, uniform, top_k=50, top_p=0.7)
        assert allowed.gather(1, drawn.unsqueeze(1)).all()


class ProductDtype(Bigram):
    """The bigram decoder that also records the dtype its matrix products come out in at each step."""

    def __init__(self):
        super().__init__()
        self.dtypes = []

    def decode_step(self, tokens, state):
        self.dtypes.append((torch.ones(2, 2) @ torch.ones(2, 2)).dtype)
        return super().decode_step(tokens, state)


@pytest.mark.parametrize("strategy", ["greedy", "beam", "sample"])
def test_bf16_precision_runs_every_decoder_step_under_bf16_autocast(strategy):
    for precision, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        model = ProductDtype()
        cfg = DecodeConfig(strategy, beam=2, precision=precision)
        out = decode(model, None, 3, BOS, EOS, PAD, cfg, torch.Generator().manual_seed(0))
        assert model.dtypes and set(model.dtypes) == {dtype}
        if strategy != "sample":  # the bigram's margins are far above bf16's rounding: the same sentences
            assert out.tolist() == run(DecodeConfig(strategy, beam=2)).tolist()


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_bf16_decoding_of_an_rnn_decoder_gives_sentences_of_its_vocabulary(kind):
    model, code = _tiny_decoder(kind, vocab=9, seed=7, eos_bias=0.0)
    z = torch.randn(12, code, generator=torch.Generator().manual_seed(1))
    for strategy in ("greedy", "beam", "sample"):
        out = decode(model, z, 12, TINY_BOS, TINY_EOS, TINY_PAD, DecodeConfig(strategy, max_length=10, beam=3,
                     precision="bf16"), torch.Generator().manual_seed(0))
        assert out.dtype == torch.long and out.shape[0] == 12 and 1 <= out.shape[1] <= 10
        assert int(out.min()) >= 0 and int(out.max()) < 9
