"""transformer_vae on pretrained folders (tiny BERT and GPT-2 written by tiny_hub, each with its own tokenizer):
the conformance kit, that the pretrained weights are what is built, the id mapping at the models' boundary, and
that decoding step by step through the key/value cache gives the likelihood of the full pass."""
import pytest
import torch

import sentae
from sentae.data.pretrained_tokenizer import OFFSET, PretrainedTokenizer
from sentae.testing import CHECKS

LATENT = 7


def pretrained(hub):  # encoder and decoder pretrained, each with its own tokenizer: the encoder re-tokenises
    return {"encoder": str(hub["bert"]), "decoder": str(hub["gpt2"]), "latent_size": LATENT}


def shared(hub):  # a pretrained encoder; the decoder built from a config over the encoder's tokenizer
    return {"encoder": str(hub["bert"]), "latent_size": LATENT,
            "decoder_config": {"model_type": "gpt2", "n_embd": 36, "n_layer": 2, "n_head": 3, "n_positions": 40}}


SETUPS = {"pretrained_decoder": pretrained, "decoder_from_config": shared}


@pytest.mark.parametrize("setup", SETUPS)
def test_pretrained_folders_conform(hub, setup):
    overrides = SETUPS[setup](hub)
    for check in CHECKS:
        check("transformer_vae", overrides)


def test_the_pretrained_weights_are_built(hub):
    from transformers import BertModel, GPT2LMHeadModel

    model = sentae.create_model("transformer_vae", **pretrained(hub))
    for ours, theirs in ((model.decoder, GPT2LMHeadModel.from_pretrained(hub["gpt2"])),
                         (model.encoder, BertModel.from_pretrained(hub["bert"]))):
        reference = theirs.state_dict()
        mine = ours.state_dict()
        assert mine and set(mine) <= set(reference)
        assert all(torch.equal(mine[k], reference[k]) for k in mine)
    # what was read is recorded, so that the run folder rebuilds the model without the folders
    assert model.config.decoder_config["n_embd"] == 44 and model.config.encoder_config["hidden_size"] == 20
    assert model.config.tokenizer_json and model.config.encoder_tokenizer_json  # two different tokenizers


def test_ids_are_the_pretrained_ones_shifted(hub):
    tok = PretrainedTokenizer.from_pretrained(str(hub["gpt2"]))
    ids = tok.encode("the food was great .")
    assert min(ids) >= OFFSET and tok.decode(ids + [2, 0]) == "the food was great ."
    assert [i - OFFSET for i in ids] == tok.hf.encode("the food was great .", add_special_tokens=False).ids
    bert = PretrainedTokenizer.from_pretrained(str(hub["bert"]))
    assert 3 in bert.encode("the food was zqxw")  # its [UNK] is sentae's <unk>
    model = sentae.create_model("transformer_vae", **pretrained(hub))
    assert model.data_info.vocab_size == tok.vocab_size
    eos = model.decoder.config.eos_token_id
    assert model.ids.to_lm[2] == eos and model.ids.to_lm[1] == eos  # GPT-2 starts and ends with <|endoftext|>
    # the encoder reads its own framing of the same sentence, re-tokenised by its own tokenizer
    batch = sentae.data.text.frame([ids], model.data_info)
    enc_ids, mask = model.encoder_ids(batch["tokens"], batch["lengths"])
    assert enc_ids[0].tolist() == bert.hf.encode("the food was great .").ids and bool(mask.all())


@pytest.mark.parametrize("setup", SETUPS)
def test_cached_steps_give_the_full_pass_likelihood(hub, setup, stepped_nll):
    model = sentae.create_model("transformer_vae", **SETUPS[setup](hub), memory_length=2)
    model.eval()
    batch = model.example_batch(5, torch.Generator().manual_seed(0))
    tokens, lengths = batch["tokens"], batch["lengths"]
    z = torch.randn(5, LATENT, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        full = model.sentence_nll(tokens, lengths, z)
        stepped = stepped_nll(model, tokens, lengths, z, memory_length=2)
        assert torch.allclose(full, stepped, atol=1e-3), (full, stepped)
        # beam search reorders the state batch-first; a reordered state decodes the rows it picked
        state = model.start_state(z, 5)
        _, state = model.decode_step(tokens[:, 0], state)
        order = torch.tensor([3, 3, 0])
        picked = {k: v.index_select(0, order) for k, v in state.items()}
        a, _ = model.decode_step(tokens[order, 1], picked)
        b, _ = model.decode_step(tokens[:, 1], state)
        assert torch.allclose(a, b[order], atol=1e-5)


def test_data_of_another_tokenizer_is_refused_with_the_fix(hub):
    from sentae import DataInfo
    from sentae.errors import ConfigError

    info = DataInfo(modality="text", vocab_size=37, pad_id=0, bos_id=1, eos_id=2, unk_id=3, max_length=14)
    with pytest.raises(ConfigError, match="pretrained_tokenizer"):
        sentae.create_model("transformer_vae", info, **pretrained(hub))
    with pytest.raises(ConfigError, match="z_memory and/or z_embedding"):
        sentae.create_model("transformer_vae", **pretrained(hub), z_memory=False, z_embedding=False)


def test_frozen_layers_stay_fixed_and_the_latent_maps_train(hub):
    model = sentae.create_model("transformer_vae", **pretrained(hub), frozen=["encoder.*", "decoder.*"],
                                trainable=["decoder.transformer.h.1.*"])
    trained = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trained and all(n.startswith(("decoder.transformer.h.1.", "latent.", "to_memory.", "to_embedding."))
                           for n in trained)
    assert any(n.startswith("to_memory.") for n in trained) and any(n.startswith("latent.") for n in trained)
    params = {id(p) for g in model.optimizers(1e-3, 0.0)["main"].param_groups for p in g["params"]}
    assert params == {id(p) for p in model.parameters() if p.requires_grad}


def test_import_sentae_does_not_import_transformers():
    import subprocess
    import sys

    code = ("import sys, sentae; sentae.list_models(); import sentae.data.tokenizers; "
            "assert 'transformers' not in sys.modules, 'transformers imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_pretrained_tokenizer_saves_whole_and_loads_offline(hub, tmp_path):
    from sentae.data.tokenizers import load_tokenizer, train_tokenizer

    tok = train_tokenizer("pretrained", [], None, 1, str(hub["gpt2"]))
    path = tok.save(tmp_path)
    back = load_tokenizer(path)  # the pretrained folder is not read again: the file holds the whole tokenizer
    assert back.kind == "pretrained" and back.fingerprint() == tok.fingerprint()
    text = "my burger was <unk> and cold ."
    assert back.encode(text) == tok.encode(text) and 3 not in tok.encode(text)  # byte-level: no unknown token
    assert back.decode(back.encode(text)) == text


@pytest.mark.parametrize("name", ["gpt2", "bert"])
def test_batch_encoding_gives_the_ids_of_encode(hub, name):
    tok = PretrainedTokenizer.from_pretrained(str(hub[name]))
    texts = ["the food was great .", "", "  my   burger was <unk> and cold .", "our waiter was zqxw ."]
    assert tok.encode_batch(texts) == [tok.encode(t) for t in texts]
