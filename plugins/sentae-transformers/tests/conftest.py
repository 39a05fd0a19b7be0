"""Fixtures: tiny "pretrained" models written to folders as from_pretrained expects them, with tokenizers trained on the
fly: a BERT encoder with its WordPiece tokenizer and a GPT-2 decoder with its byte-level BPE. Nothing is
downloaded. Their sizes differ from each other and from the plugin's tiny_config."""
from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import pytest

# Without transformers (this distribution not installed) there is nothing here to test.
collect_ignore_glob = [] if importlib.util.find_spec("transformers") else ["test_*.py"]

GOOD = ["great", "lovely", "friendly", "delicious", "perfect", "amazing"]
BAD = ["awful", "rude", "cold", "terrible", "bland", "dirty"]
THINGS = ["the food", "our waiter", "the pasta", "this place", "the staff", "my burger", "the coffee"]
VERBS = ["was", "is", "seemed", "looked"]


def reviews(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """(sentence, sentiment) pairs: a thing, a verb, one or two words of one polarity, a full stop."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        label = rng.choice(["positive", "negative"])
        words = rng.sample(GOOD if label == "positive" else BAD, rng.choice([1, 2]))
        out.append((f"{rng.choice(THINGS)} {rng.choice(VERBS)} {' and '.join(words)} .", label))
    return out


def gpt2_folder(path: Path, texts: list[str]) -> Path:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>"],
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                                       show_progress=False))
    eos = tok.token_to_id("<|endoftext|>")
    PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|endoftext|>").save_pretrained(path)
    config = GPT2Config(vocab_size=tok.get_vocab_size(), n_embd=44, n_layer=2, n_head=4, n_inner=31, n_positions=48,
                        bos_token_id=eos, eos_token_id=eos)
    GPT2LMHeadModel(config).save_pretrained(path)
    return path


def bert_folder(path: Path, texts: list[str]) -> Path:
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=90, special_tokens=specials,
                                                             show_progress=False))
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[("[CLS]", cls),
                                                                                                ("[SEP]", sep)])
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                            sep_token="[SEP]", mask_token="[MASK]").save_pretrained(path)
    config = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=20, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=17, max_position_embeddings=40, pad_token_id=0)
    BertModel(config).save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def labelled_reviews():
    """The function making (sentence, sentiment) pairs, for tests that write a corpus."""
    return reviews



@pytest.fixture(scope="session")
def hub(tmp_path_factory):
    """Folders of a tiny BERT and a tiny GPT-2, each with its own tokenizer, as from_pretrained reads them."""
    import torch

    root = tmp_path_factory.mktemp("hub")
    texts = [t for t, _ in reviews(400, seed=1)]
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return {"bert": bert_folder(root / "bert", texts), "gpt2": gpt2_folder(root / "gpt2", texts)}


def _stepped_nll(model, tokens, lengths, z, memory_length: int):
    """Each sentence's NLL given ``z`` computed one decode step at a time through the key/value cache, checking that
    every step appends exactly one position to every layer's cache (the prefix is never run again)."""
    import torch

    state = model.start_state(z, tokens.shape[0])
    stepped = torch.zeros(tokens.shape[0])
    for t in range(tokens.shape[1] - 1):
        logits, state = model.decode_step(tokens[:, t], state)
        assert state["k0"].shape[2] == memory_length + t + 1
        logp = logits.log_softmax(-1).gather(1, tokens[:, t + 1 : t + 2]).squeeze(1)
        stepped -= torch.where(t + 1 < lengths, logp, torch.zeros(()))
    return stepped


@pytest.fixture
def stepped_nll():
    """The cache-stepped sentence NLL (``_stepped_nll``), for comparing with the model's full pass."""
    return _stepped_nll
