"""The one sentence CNN (sentae.nn.cnn) behind text_classifier and ctrl_vae's classifiers: a sentence's features
depend on its own tokens only, not on its batch's padding, nor on what the pad positions hold."""
import pytest
import torch

import sentae
from sentae.nn.cnn import SentenceCNN, TextCNN
from sentae.registry import REGISTRY

PAD = 0


def build(kind: str) -> SentenceCNN:
    torch.manual_seed(0)
    if kind == "features":
        return SentenceCNN(23, 11, filters=5, widths=(2, 3, 5), pad_id=PAD).eval()
    return TextCNN(23, 11, num_classes=3, filters=5, widths=(2, 3, 5), pad_id=PAD).eval()


def padded(sentences: list[list[int]], width: int) -> tuple[torch.Tensor, torch.Tensor]:
    tokens = torch.full((len(sentences), width), PAD, dtype=torch.long)
    for i, s in enumerate(sentences):
        tokens[i, : len(s)] = torch.tensor(s)
    return tokens, torch.tensor([len(s) for s in sentences])


@pytest.mark.parametrize("kind", ["features", "classifier"])
@torch.no_grad()
def test_a_sentence_shorter_than_the_widest_filter_ignores_its_batch_padding(kind):
    cnn = build(kind)
    short, long = [1, 7, 2], [1, 5, 9, 11, 4, 6, 8, 2]  # 3 tokens against a widest filter of 5
    alone = cnn(*padded([short], 3))  # a tensor narrower than the widest filter
    for width in (5, 9):
        assert torch.allclose(cnn(*padded([short], width)), alone, atol=1e-6), width
    together = cnn(*padded([short, long], 12))
    assert torch.allclose(together[0], alone[0], atol=1e-6)
    assert torch.allclose(together[1], cnn(*padded([long], 8))[0], atol=1e-6)


@torch.no_grad()
def test_windows_reaching_past_the_sentence_end_are_not_pooled():
    cnn = build("features")
    tokens, lengths = padded([[1, 7, 9, 2]], 10)
    features = cnn(tokens, lengths)
    # by hand for the width-2 filters: the max over the 3 windows inside the 4 tokens, none over padding
    conv = cnn.convs[0]
    emb = cnn.embedding(tokens[:, :4]).transpose(1, 2)
    expected = torch.relu(conv(emb)).amax(2)
    assert torch.allclose(features[:, :5], expected, atol=1e-6)


@torch.no_grad()
def test_what_pad_positions_hold_does_not_change_the_features():
    cnn = build("classifier")
    tokens, lengths = padded([[1, 7, 2], [1, 5, 9, 11, 4, 2]], 8)
    before = cnn(tokens, lengths)
    cnn.embedding.weight[PAD] = torch.randn(11)  # a pad row that is not zero (e.g. weights from elsewhere)
    assert torch.allclose(cnn(tokens, lengths), before, atol=1e-6)
    emb = cnn.embedding(tokens)
    mask = torch.arange(8).unsqueeze(0) < lengths.unsqueeze(1)
    garbage = torch.where(mask.unsqueeze(2), emb, torch.randn_like(emb))  # e.g. a soft sentence's tail
    assert torch.allclose(cnn.forward_embedded(garbage, mask), before, atol=1e-6)


@torch.no_grad()
def test_soft_one_hot_sentences_score_like_their_token_ids():
    cnn = build("classifier")
    tokens, lengths = padded([[1, 7, 2], [1, 5, 9, 11, 4, 2]], 7)
    one_hot = torch.nn.functional.one_hot(tokens, 23).float()
    mask = torch.arange(7).unsqueeze(0) < lengths.unsqueeze(1)
    assert torch.allclose(cnn.forward_embedded(one_hot @ cnn.embedding.weight, mask), cnn(tokens, lengths), atol=1e-6)


def test_both_callers_use_it_under_the_weight_names_of_their_run_folders():
    clf = sentae.create_model("text_classifier", **REGISTRY.get("text_classifier").tiny_config)
    assert type(clf.encoder) is SentenceCNN
    assert {"encoder.embedding.weight", "encoder.convs.0.weight", "encoder.convs.1.bias", "head.weight"} <= set(clf.state_dict())
    ctrl = sentae.create_model("ctrl_vae", **REGISTRY.get("ctrl_vae").tiny_config)
    assert all(type(c) is TextCNN for c in ctrl.classifiers.values())
    assert {"classifiers.tense.embedding.weight", "classifiers.tense.convs.2.weight",
            "classifiers.sentiment.out.weight"} <= set(ctrl.state_dict())
