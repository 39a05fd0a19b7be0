"""LoRA adapters through peft: only the adapters of an adapted part train, a step changes them, a saved model loads
back to the identical likelihood, decoding through the key/value cache still gives the full pass's likelihood, and
the conformance kit passes with adapters on."""
import sys

import pytest
import torch

import sentae
from sentae import StepContext
from sentae.errors import ConfigError
from sentae.registry import REGISTRY
from sentae.run import RunFolder
from sentae.testing import CHECKS, check_backward

pytest.importorskip("peft")

LATENT = 7
LORA = ("latent.", "to_memory.", "to_embedding.")


def tiny(**adapters):
    return {**REGISTRY.get("transformer_vae").tiny_config, "adapters": {"r": 3, "alpha": 6.0, **adapters}}


def pretrained(hub, **adapters):
    return {"encoder": str(hub["bert"]), "decoder": str(hub["gpt2"]), "latent_size": LATENT,
            "adapters": {"r": 2, "alpha": 4.0, **adapters}}


def _perturb_adapters(model, seed=0):
    """LoRA starts as the identity (B = 0): give every adapter weight a value, so that the adapters matter."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".lora_" in name:
                p.add_(0.3 * torch.randn(p.shape, generator=g))


@pytest.mark.parametrize("target", ["encoder", "decoder", "both"])
def test_only_the_adapters_of_an_adapted_part_train(hub, target):
    model = sentae.create_model("transformer_vae", **pretrained(hub, target=target))
    trained = {n for n, p in model.named_parameters() if p.requires_grad}
    for part in ("encoder", "decoder"):
        mine = {n for n in trained if n.startswith(part + ".")}
        if part == target or target == "both":
            assert mine and all(".lora_A." in n or ".lora_B." in n for n in mine), sorted(mine)[:4]
        else:  # the other part trains whole, as without adapters
            assert not any(".lora_" in n for n, _ in model.named_parameters() if n.startswith(part + "."))
            assert mine == {n for n, _ in model.named_parameters() if n.startswith(part + ".")}
    assert {n for n in trained if n.startswith(LORA)} == {n for n, _ in model.named_parameters() if n.startswith(LORA)}
    params = {id(p) for g in model.optimizers(1e-3, 0.0)["main"].param_groups for p in g["params"]}
    assert params == {id(p) for p in model.parameters() if p.requires_grad}


def test_the_default_layers_are_peft_s_and_trainable_patterns_still_apply(hub):
    model = sentae.create_model("transformer_vae", **pretrained(hub, target="both"),
                                trainable=["decoder.transformer.ln_f.*"])
    names = [n for n, _ in model.named_parameters()]
    assert any(n.endswith("attn.c_attn.lora_A.default.weight") for n in names)  # GPT-2: c_attn
    assert any(n.endswith("self.query.lora_B.default.weight") for n in names)  # BERT: query and value
    assert any(n.endswith("self.value.lora_B.default.weight") for n in names)
    assert not any(".key.lora_" in n for n in names)
    trained = {n for n, p in model.named_parameters() if p.requires_grad}
    assert {"decoder.transformer.ln_f.weight", "decoder.transformer.ln_f.bias"} <= trained


def test_a_training_step_changes_the_adapters_and_nothing_fixed(hub):
    torch.manual_seed(0)
    model = sentae.create_model("transformer_vae", **pretrained(hub, target="both", dropout=0.1))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = model.optimizers(1e-2, 0.0)["main"]
    batch = model.example_batch(5, torch.Generator().manual_seed(0))
    for step in range(2):  # B starts at 0, so A's gradient is 0 until B has moved: two steps move both
        opt.zero_grad(set_to_none=True)
        model.training_step(batch, StepContext(step=step, total_steps=2)).loss.backward()
        opt.step()
    for n, p in model.named_parameters():
        changed = not torch.equal(before[n], p.detach())
        assert changed == p.requires_grad, (n, changed)
        if ".lora_" in n:
            assert changed


def test_a_saved_model_loads_back_to_the_identical_likelihood(hub, tmp_path):
    model = sentae.create_model("transformer_vae", **pretrained(hub, target="both"))
    _perturb_adapters(model)
    model.eval()
    RunFolder(tmp_path).save_model(model)
    loaded = sentae.load_model(tmp_path)
    a, b = model.state_dict(), loaded.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert any(k.endswith("c_attn.base_layer.weight") for k in a)  # kept unmerged, under peft's names
    assert {n for n, p in loaded.named_parameters() if p.requires_grad} == \
        {n for n, p in model.named_parameters() if p.requires_grad}
    batch = model.example_batch(6, torch.Generator().manual_seed(2))
    z = torch.randn(6, LATENT, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        mine = model.sentence_nll(batch["tokens"], batch["lengths"], z)
        theirs = loaded.sentence_nll(batch["tokens"], batch["lengths"], z)
    assert torch.equal(mine, theirs)


def test_the_adapters_change_the_likelihood_and_decoding_steps_agree_with_the_full_pass(hub, stepped_nll):
    model = sentae.create_model("transformer_vae", **pretrained(hub, target="both"), memory_length=2)
    model.eval()
    batch = model.example_batch(5, torch.Generator().manual_seed(0))
    tokens, lengths = batch["tokens"], batch["lengths"]
    z = torch.randn(5, LATENT, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        identity = model.sentence_nll(tokens, lengths, z)
        _perturb_adapters(model)
        full = model.sentence_nll(tokens, lengths, z)
        assert not torch.allclose(identity, full)  # the adapters are on the path of the likelihood
        stepped = stepped_nll(model, tokens, lengths, z, memory_length=2)
    assert torch.allclose(full, stepped, atol=1e-3), (full, stepped)


# check_backward asks every trainable parameter for a non-zero gradient at initialisation, which LoRA's A cannot
# have (its gradient is B^T times the output's, and B starts at zero); it is run after one step below.
KIT = [c for c in CHECKS if c is not check_backward]


@pytest.mark.parametrize("target", ["decoder", "both"])
@pytest.mark.parametrize("check", KIT, ids=lambda c: c.__name__)
def test_conforms_with_adapters(check, target):
    check("transformer_vae", tiny(target=target))


def test_conforms_with_adapters_on_pretrained_folders(hub):
    for check in KIT:
        check("transformer_vae", pretrained(hub, target="both"))


def test_every_trainable_parameter_gets_a_gradient_once_the_adapters_have_moved(monkeypatch):
    from sentae_transformers.model import TransformerVAE

    original = TransformerVAE.__init__

    def moved(self, *args, **kwargs):  # as after a first step: B is no longer 0
        original(self, *args, **kwargs)
        _perturb_adapters(self)

    monkeypatch.setattr(TransformerVAE, "__init__", moved)
    check_backward("transformer_vae", tiny(target="both"))


def test_bad_adapter_settings_are_one_clear_error(hub, monkeypatch):
    with pytest.raises(ConfigError, match=r"'adapters\.r' must be at least 1"):
        sentae.create_model("transformer_vae", **tiny(target="decoder", r=0))
    with pytest.raises(ConfigError, match=r"'adapters\.target' must be one of .*did you mean 'both'"):
        sentae.create_model("transformer_vae", **tiny(target="bth"))
    with pytest.raises(ConfigError, match=r"adapters\.target_modules \['q_proj'\] match no layer of the decoder "
                                          r"\(GPT2LMHeadModel\); its layers are named .*'c_attn'"):
        sentae.create_model("transformer_vae", **tiny(target="decoder", target_modules=["q_proj"]))
    monkeypatch.setitem(sys.modules, "peft", None)  # as if peft were not installed
    with pytest.raises(ConfigError, match=r"pip install \"sentae-transformers\[peft\]\""):
        sentae.create_model("transformer_vae", **tiny(target="decoder"))
    sentae.create_model("transformer_vae", **tiny(target="none"))  # no adapters: peft is not needed


def test_an_exported_folder_with_adapters_loads_back_and_its_tokenizer_is_standard(hub, tmp_path):
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    from sentae.data.pretrained_tokenizer import PretrainedTokenizer

    model = sentae.create_model("transformer_vae", **pretrained(hub, target="decoder"))
    _perturb_adapters(model)
    tok = PretrainedTokenizer.from_pretrained(str(hub["gpt2"]))
    folder = sentae.save_pretrained(model, tmp_path / "export", tokenizer=tok)
    sampler = sentae.load(folder)
    text = ["the food was great .", "our waiter was rude and cold ."]
    ids = [tok.encode(t) for t in text]
    assert [Tokenizer.from_file(str(folder / "tokenizer.json")).encode(t).ids for t in text] == ids
    assert AutoTokenizer.from_pretrained(str(folder))(text, add_special_tokens=False)["input_ids"] == ids
    batch = sentae.data.text.frame(ids, model.data_info)
    z = torch.randn(2, LATENT, generator=torch.Generator().manual_seed(4))
    model.eval()
    with torch.no_grad():
        assert torch.equal(model.sentence_nll(batch["tokens"], batch["lengths"], z),
                           sampler.model.sentence_nll(batch["tokens"], batch["lengths"], z))
