"""rnn_vae specifics: KL weight, word dropout, free bits, AE pre-training with decoder reset, presets."""
import pytest
import torch

import sentae
from sentae import StepContext
from sentae.registry import REGISTRY
from sentae.testing import CHECKS
from sentae_text.common import default_info, word_dropout

TINY = REGISTRY.get("rnn_vae").tiny_config


@pytest.mark.parametrize("cell,bidirectional,z_init,z_every_step", [
    ("gru", False, True, False), ("lstm", True, False, True), ("gru", True, True, True)])
def test_architecture_options_conform(cell, bidirectional, z_init, z_every_step):
    overrides = {**TINY, "cell": cell, "bidirectional": bidirectional, "z_init": z_init, "z_every_step": z_every_step}
    for check in CHECKS:
        check("rnn_vae", overrides)


def test_presets_differ_only_in_size():
    small, base = sentae.create_model("rnn_vae_small"), sentae.create_model("rnn_vae_base")
    assert (small.config.hidden_size, small.config.latent_size) == (256, 16)
    assert (base.config.hidden_size, base.config.latent_size) == (512, 32)


def test_word_dropout_keeps_bos_and_pad_and_uses_unk():
    info = default_info()
    inputs = torch.tensor([[1, 5, 6, 7, 8, 0, 0]] * 200)
    torch.manual_seed(0)
    out = word_dropout(inputs, 0.5, info)
    assert (out[:, 0] == 1).all() and (out[:, 5:] == 0).all()
    changed = out[:, 1:5] != inputs[:, 1:5]
    assert (out[:, 1:5][changed] == info.unk_id).all()
    assert abs(float(changed.float().mean()) - 0.5) < 0.05
    assert torch.equal(word_dropout(inputs, 0.0, info), inputs)


def test_kl_weight_follows_schedule_after_pretraining():
    model = sentae.create_model("rnn_vae", **TINY, ae_pretrain_steps=100, kl={"kind": "linear", "warmup_steps": 50})
    weights = [model.kl_weight(StepContext(step=s, total_steps=1000)) for s in (0, 99, 100, 125, 150, 900)]
    assert weights == [0.0, 0.0, 0.0, 0.5, 1.0, 1.0]


def test_free_bits_per_dimension_and_total():
    kl = torch.tensor([[0.1, 2.0, 0.0], [0.3, 2.0, 0.0]])  # batch means: 0.2, 2.0, 0.0
    per_dim = sentae.create_model("rnn_vae", **TINY, free_bits=0.5)
    assert float(per_dim.kl_penalty(kl)) == pytest.approx(0.5 + 2.0 + 0.5)
    total = sentae.create_model("rnn_vae", **TINY, free_bits=3.0, free_bits_mode="total")
    assert float(total.kl_penalty(kl)) == pytest.approx(3.0)  # sum 2.2 < 3: clamped
    off = sentae.create_model("rnn_vae", **TINY)
    assert float(off.kl_penalty(kl)) == pytest.approx(2.2)


def test_free_bits_gives_no_gradient_below_the_threshold():
    model = sentae.create_model("rnn_vae", **TINY, free_bits=10.0)
    mu = torch.zeros(4, 7, requires_grad=True)
    from sentae.nn import gaussian_kl

    model.kl_penalty(gaussian_kl(mu + 0.01, torch.zeros(4, 7))).backward()
    assert float(mu.grad.abs().sum()) == 0.0


def test_ae_pretraining_uses_the_mean_and_resets_the_decoder_once():
    model = sentae.create_model("rnn_vae", **TINY, ae_pretrain_steps=3)
    batch = model.example_batch(5, torch.Generator().manual_seed(0))
    out = model.training_step(batch, StepContext(step=0, total_steps=10))
    assert out.metrics["beta"] == 0.0
    # deterministic during pre-training: z = mu
    again = model.training_step(batch, StepContext(step=1, total_steps=10)).loss.detach()
    assert float(again) == pytest.approx(float(out.loss.detach()))
    encoder_before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    decoder_before = {k: v.clone() for k, v in model.decoder.state_dict().items()}
    model.training_step(batch, StepContext(step=3, total_steps=10))
    assert int(model.decoder_was_reset) == 1
    assert all(torch.equal(v, model.encoder.state_dict()[k]) for k, v in encoder_before.items())
    assert any(not torch.equal(v, model.decoder.state_dict()[k]) for k, v in decoder_before.items())
    after_reset = {k: v.clone() for k, v in model.decoder.state_dict().items()}
    model.training_step(batch, StepContext(step=4, total_steps=10))  # not reset a second time
    assert all(torch.equal(v, model.decoder.state_dict()[k]) for k, v in after_reset.items())


def test_padding_does_not_change_the_likelihood():
    model = sentae.create_model("rnn_vae", **TINY)
    model.eval()
    tokens = torch.tensor([[1, 5, 6, 2]])
    padded = torch.tensor([[1, 5, 6, 2, 0, 0, 0]])
    lengths = torch.tensor([4])
    mu1, _ = model.encode_stats(tokens, lengths)
    mu2, _ = model.encode_stats(padded, lengths)
    assert torch.allclose(mu1, mu2, atol=1e-6)
    assert torch.allclose(model.sentence_nll(tokens, lengths, mu1), model.sentence_nll(padded, lengths, mu1), atol=1e-5)


@pytest.mark.parametrize("bad, message", [
    ({"word_dropout": 1.5}, "'word_dropout' must be in \\[0, 1\\), got 1.5"),
    ({"free_bits": -1.0}, "'free_bits' must be at least 0, got -1"),
    ({"kl": {"kind": "cyclical", "cycles": 0}}, "'kl.cycles' must be at least 1, got 0"),
    ({"latent_size": 0}, "'latent_size' must be at least 1, got 0"),
])
def test_out_of_range_settings_are_config_errors(bad, message):
    from sentae.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        sentae.create_model("rnn_vae", **bad)


def test_inherited_fields_keep_their_help():
    from sentae.utils import field_help
    from sentae_text.rnn_vae import RNNVAESmallConfig

    helps = field_help(RNNVAESmallConfig)
    assert helps["hidden_size"].startswith("RNN state dimensions")
    assert "Li et al. 2019" in helps["ae_pretrain_steps"]


def _shares_the_rnn_config(name: str) -> bool:
    from sentae_text.rnn_config import RNNAutoencoderConfig

    return issubclass(REGISTRY.get(name).config_class, RNNAutoencoderConfig)


SHARED_RNN_CONFIG = [e.name for e in sentae.list_models() if e.distribution == "sentae-text" and _shares_the_rnn_config(e.name)]


def test_the_rnn_autoencoders_extend_one_config():
    assert {"rnn_vae", "rnn_vae_small", "dae", "aae", "daae", "ctrl_vae"} <= set(SHARED_RNN_CONFIG)


@pytest.mark.parametrize("name", SHARED_RNN_CONFIG)
def test_shared_rnn_fields_have_help_in_every_variant(name):
    import dataclasses

    from sentae.utils import field_help

    fields = [f.name for f in dataclasses.fields(REGISTRY.get(name).config_class)]
    helps = field_help(REGISTRY.get(name).config_class)
    assert [f for f in fields if not helps.get(f)] == []
    assert helps["dropout"] == "dropout on embeddings and RNN outputs"
    # the variant's own comment on a field it redefines wins over the shared one
    gaussian = "Gaussian" in helps["latent_size"]
    assert gaussian == (name not in ("dae", "aae", "daae")), helps["latent_size"]


def test_adaptive_cutoffs_beyond_the_vocabulary_are_a_config_error():
    from sentae.errors import ConfigError

    with pytest.raises(ConfigError, match=r"model 'rnn_vae': softmax.cutoffs .* vocabulary size 37 .*\[2000, 6000\]"):
        sentae.create_model("rnn_vae", **TINY, softmax={"kind": "adaptive"})
