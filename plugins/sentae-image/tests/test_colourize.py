"""Paired transforms (input_transform: grayscale), the photo_patches source and colourization: the luminance
transform's values, the (gray -> colour) training pairs, a split by photo region that is fixed and disjoint, and
a tiny colourizer trained through the real Trainer that beats its own gray input on held-out patches."""
import numpy as np
import pytest
import torch
from click.testing import CliRunner

import sentae
from sentae import DataInfo, StepContext
from sentae.applications.colourize import LUMA, keep_luminance, luminance
from sentae.cli import main
from sentae.data.config import DataConfig
from sentae.data.patches import cut_patches
from sentae.data.sources import get_source
from sentae.errors import SentaeError
from sentae.evaluation.images import rebuild_image_data, split_tensors
from sentae_image.noise import LUMA as PLUGIN_LUMA
from sentae_image.noise import grayscale, transform_input

RGB = DataInfo(modality="image", image_shape=(3, 8, 12), num_classes=None)


def test_grayscale_is_luminance_on_every_channel():
    x = torch.zeros(2, 3, 5, 7)
    x[0, 0], x[0, 1], x[0, 2] = 1.0, 0.5, 0.25  # one RGB colour everywhere in image 0
    x[1] = torch.rand(3, 5, 7, generator=torch.Generator().manual_seed(0))
    g = grayscale(x)
    assert g.shape == x.shape
    assert torch.allclose(g[0], torch.full((3, 5, 7), 0.299 + 0.587 * 0.5 + 0.114 * 0.25))
    expected = 0.299 * x[1, 0] + 0.587 * x[1, 1] + 0.114 * x[1, 2]
    for c in range(3):
        assert torch.allclose(g[1, c], expected)
    assert torch.allclose(grayscale(g), g)  # a gray image is left as it is
    assert torch.equal(grayscale(x[:, :1]), x[:, :1])  # one channel: already gray
    assert torch.equal(transform_input(x, "none"), x)
    with pytest.raises(ValueError, match="unknown input_transform"):
        transform_input(x, "sepia")
    assert LUMA == PLUGIN_LUMA  # the core's luminance and the model's transform agree
    assert np.allclose(luminance(x)[:, 0], g[:, 0].numpy())


def test_training_pairs_are_gray_input_and_colour_target():
    model = sentae.create_model("conv_ae", RGB, channels=[5, 11], code_size=7, input_transform="grayscale")
    seen = {}
    encode = model.encode

    def recording_encode(x):
        seen["input"] = x
        return encode(x)

    model.encode = recording_encode
    x = torch.rand(4, 3, 8, 12, generator=torch.Generator().manual_seed(1))
    model.train()
    out = model.training_step({"image": x}, StepContext(step=0, total_steps=1))
    assert torch.allclose(seen["input"], grayscale(x))  # the model is fed the luminance ...
    logits = model.decode_logits(encode(grayscale(x)))
    bce, _ = model.reconstruction_terms(logits, x)
    assert torch.allclose(out.loss, bce)  # ... and scored against the colour original
    seen.clear()
    model.eval()
    model.reconstruct(x)
    assert torch.allclose(seen["input"], grayscale(x))  # the transform holds outside training too


def test_grayscale_transform_needs_rgb_and_a_known_name():
    with pytest.raises(Exception, match="3 channels"):
        sentae.create_model("conv_ae", DataInfo(modality="image", image_shape=(1, 8, 12)), input_transform="grayscale")
    with pytest.raises(Exception, match="input_transform"):
        sentae.create_model("conv_ae", RGB, input_transform="sepia")


def _patches(**kw):
    cfg = dict(source="photo_patches", val_fraction=0.1, test_fraction=0.2, options={"patch": 16, "train_stride": 8})
    cfg.update(kw)
    return get_source("photo_patches").build(DataConfig(**cfg))


def test_photo_patch_split_is_by_region_fixed_and_disjoint():
    corners = cut_patches(np.zeros((3, 427, 640), np.uint8), 32, 0.1, 0.2, 16)
    bands = {s: (min(x for _, x in c), max(x for _, x in c) + 32) for s, c in corners.items()}
    assert bands["train"][1] <= bands["val"][0] and bands["val"][1] <= bands["test"][0]  # no pixel shared
    assert bands["test"][1] <= 640 and len(corners["test"]) == 13 * 4 and len(corners["val"]) == 13 * 2
    assert len({c for c in corners["test"]}) == len(corners["test"])
    a, b = _patches(), _patches(split_seed=7)  # the split depends on the photos and fractions only
    assert a.images.shape[1:] == (3, 16, 16) and a.info.image_shape == (3, 16, 16)
    for split in ("train", "val", "test"):
        assert torch.equal(a.index[split], b.index[split])
        assert torch.equal(a.get_batch(split, [0, 1])["image"], b.get_batch(split, [0, 1])["image"])
    sets = [set(a.index[s].tolist()) for s in ("train", "val", "test")]
    assert all(sets) and not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])


def test_photo_patches_from_a_users_folder(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (40, 100, 3), dtype=np.uint8)).save(tmp_path / "mine.png")
    data = _patches(path=str(tmp_path), val_fraction=0.0, options={"patch": 20})
    assert {s: data.split_size(s) for s in ("train", "test")} == {"train": 8, "test": 2}  # 2 rows x 5 columns
    first_test = data.get_batch("test", [0])["image"][0]
    photo = np.asarray(Image.open(tmp_path / "mine.png"), dtype=np.float32).transpose(2, 0, 1) / 255
    assert np.allclose(first_test.numpy(), photo[:, :20, 80:100])  # the rightmost column is the test band


def test_keep_luminance_takes_the_inputs_luminance():
    rng = np.random.default_rng(2)
    out = rng.uniform(0.3, 0.7, (3, 3, 4, 5)).astype(np.float32)
    gray = np.repeat(rng.uniform(0.35, 0.65, (3, 1, 4, 5)).astype(np.float32), 3, 1)
    mixed = keep_luminance(out, gray)
    assert np.allclose(luminance(mixed), gray[:, :1], atol=1e-5)  # no clipping in this range
    assert np.allclose(mixed - luminance(mixed), out - luminance(out), atol=1e-5)  # the model's colour stays


@pytest.fixture(scope="module")
def colour_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "colourize"
    sentae.train({"name": "colourize", "model": {"type": "conv_ae", "channels": [8, 16], "code_size": 24,
                                                  "input_transform": "grayscale"},
                  "data": {"source": "photo_patches", "val_fraction": 0.0, "test_fraction": 0.2,
                           "options": {"patch": 8, "train_stride": 8}},
                  "train": {"max_steps": 300, "batch_size": 32, "lr": 0.01, "eval_every": 0, "ckpt_every": 0,
                            "progress": "none", "threads": 1}}, out=out)
    return out


def test_a_trained_colourizer_beats_its_gray_input_on_held_out_patches(colour_run, tmp_path):
    clean, _ = split_tensors(rebuild_image_data(colour_run), "test")
    gray = grayscale(clean)
    colour, names = sentae.applications.colourize(colour_run, gray)
    assert colour.shape == tuple(clean.shape) and len(names) == len(clean)

    def offset_error(x):  # error in colour, whatever the luminance
        return float(((x - luminance(x) - (clean.numpy() - luminance(clean))) ** 2).mean())

    assert offset_error(colour) < 0.8 * offset_error(gray.numpy())
    assert ((colour - clean.numpy()) ** 2).mean() < ((gray.numpy() - clean.numpy()) ** 2).mean()
    # the command line: gray PNG files in, colour PNG files out
    from PIL import Image

    folder = tmp_path / "gray"
    folder.mkdir()
    for i in range(3):
        Image.fromarray((gray[i, 0].numpy() * 255).astype(np.uint8), mode="L").save(folder / f"{i}.png")
    res = CliRunner().invoke(main, ["denoise", str(colour_run), str(folder), "-o", str(tmp_path / "out"),
                                    "--keep-luminance"])
    assert res.exit_code == 0, res.output
    assert "3 colourized images" in res.output
    assert np.asarray(Image.open(tmp_path / "out" / "00000.png")).shape == (8, 8, 3)


def test_colourize_refuses_a_model_not_trained_for_it(tmp_path):
    out = tmp_path / "plain"
    sentae.train({"name": "plain", "model": {"type": "conv_ae", "channels": [4], "code_size": 5},
                  "data": {"source": "photo_patches", "val_fraction": 0.0, "test_fraction": 0.2, "limit": 50,
                           "options": {"patch": 8}},
                  "train": {"max_steps": 2, "batch_size": 8, "eval_every": 0, "ckpt_every": 0, "progress": "none",
                            "threads": 1}}, out=out)
    with pytest.raises(SentaeError, match="input_transform"):
        sentae.applications.colourize(out, np.zeros((1, 3, 8, 8), np.float32))
