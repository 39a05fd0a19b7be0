"""An autoencoder as an image codec, against PNG and JPEG (Pillow) on the 2,000 held-out MNIST test images.

The conv autoencoder of recipes/mnist_compress.yaml (code of 32 numbers) is trained on the 8,000 training images.
Its codes are quantised to b bits per number (sentae.applications.compress.UniformQuantizer: each dimension's
range on the *training* codes cut into 2**b levels) and decoded; rows per b:
  fixed bits/image      32 * b, every number written in b bits
  entropy bits/image    what an entropy coder would approach: the cross-entropy of the test symbols under one
                        probability table per dimension counted on the training symbols (add-one smoothing)
  PSNR                  of the decoded 8-bit image (the decoder's output rounded to 0..255, as a codec delivers
                        it) against the original, 10 log10(1 / MSE) per image, mean over the 2,000
Codecs on the same 8-bit grayscale images (Pillow, mode 'L'): PNG (lossless, optimize=True) and JPEG at the
lowest quality 1..95 whose mean PSNR reaches the autoencoder row's (optimize=True). JPEG bits are given for the
whole file and for the entropy-coded scan alone (the file less its headers and tables, which a collection of
images could share), PNG for the whole file. The decoder's weights, which a receiver needs once, are not counted
per image; their size is in the JSON. Writes benchmarks/results/compression.json and a markdown table.

    python benchmarks/compression.py     # ~6 minutes on one thread
"""
from __future__ import annotations

import argparse
import io
import json
import time
from pathlib import Path

import numpy as np

import image_bench as ib

RECIPE = "mnist_compress"
BITS = (2, 3, 4, 5, 6, 8)


def to_uint8(x: np.ndarray) -> np.ndarray:
    return (np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)


def scan_bytes(jpeg: bytes) -> int:
    """Bytes of a baseline JPEG's entropy-coded scan: from after the SOS segment to before the EOI marker."""
    sos = jpeg.index(b"\xff\xda")
    header = int.from_bytes(jpeg[sos + 2:sos + 4], "big")
    return len(jpeg) - (sos + 2 + header) - 2


def codec(images: np.ndarray, fmt: str, **kw) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(decoded images in [0, 1], file bytes, scan bytes) per 8-bit image ``(N, H, W)`` through Pillow."""
    from PIL import Image

    decoded, sizes, scans = [], [], []
    for img in images:
        buf = io.BytesIO()
        Image.fromarray(img, mode="L").save(buf, format=fmt, optimize=True, **kw)
        raw = buf.getvalue()
        sizes.append(len(raw))
        scans.append(scan_bytes(raw) if fmt == "JPEG" else len(raw))
        decoded.append(np.asarray(Image.open(io.BytesIO(raw)), dtype=np.float32) / 255.0)
    return np.stack(decoded), np.asarray(sizes), np.asarray(scans)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=None, help="optimizer steps (default: the recipe's)")
    ap.add_argument("--runs", default="runs/bench_compression")
    ap.add_argument("--out", default="benchmarks/results/compression.json")
    ap.add_argument("--skip-training", action="store_true", help="evaluate the existing run folder in --runs")
    args = ap.parse_args()
    ib.setup()
    import torch
    from sentae import load_model
    from sentae.applications.compress import UniformQuantizer, entropy_bits
    from sentae.evaluation.images import rebuild_image_data, split_tensors

    t0 = time.perf_counter()
    run = Path(args.runs) / "conv_ae"
    train = ib.train_or_reuse(RECIPE, run, [f"train.max_steps={args.steps}"] if args.steps else [],
                              reuse=args.skip_training)
    model = load_model(run).eval()
    data = rebuild_image_data(run, model.data_info.image_shape)
    test_t, _ = split_tensors(data, "test")
    train_t, _ = split_tensors(data, "train")
    # the codec's input is the 8-bit image, for every method alike (MNIST pixels are 8-bit already)
    test8 = to_uint8(test_t.numpy()[:, 0])
    clean = test8.astype(np.float32) / 255.0

    @torch.no_grad()
    def codes_of(x: torch.Tensor) -> np.ndarray:
        return torch.cat([model.encode(x[i:i + 500]) for i in range(0, len(x), 500)]).numpy()

    @torch.no_grad()
    def decode(z: np.ndarray) -> np.ndarray:
        t = torch.from_numpy(z)
        out = torch.cat([torch.sigmoid(model.decode_logits(t[i:i + 500])) for i in range(0, len(t), 500)])
        return to_uint8(out.numpy()[:, 0]).astype(np.float32) / 255.0

    train_codes = codes_of(train_t)
    test_codes = codes_of(torch.from_numpy(clean[:, None]))
    dims = test_codes.shape[1]
    decoder_params = sum(p.numel() for n, p in model.named_parameters() if n.startswith(("expand", "decoder")))

    # JPEG at every quality once; each autoencoder row picks the lowest quality that reaches its PSNR
    jpeg = {}
    for q in range(1, 96):
        dec, sizes, scans = codec(test8, "JPEG", quality=q)
        jpeg[q] = {"psnr_db": float(ib.psnr(dec, clean).mean()), "file_bits": float(8 * sizes.mean()),
                   "scan_bits": float(8 * scans.mean())}
    png_dec, png_sizes, _ = codec(test8, "PNG")
    assert np.array_equal(png_dec, clean), "PNG is lossless"

    rows = []
    ae_rows = {"float32 (no quantisation)": (32 * dims, None, float(ib.psnr(decode(test_codes), clean).mean()))}
    for b in BITS:
        qz = UniformQuantizer.fit(train_codes, b)
        sym = qz.encode(test_codes)
        ae_rows[f"{b} bits per number"] = (qz.fixed_bits(), entropy_bits(sym, qz.encode(train_codes), qz.levels),
                                           float(ib.psnr(decode(qz.decode(sym)), clean).mean()))
    for label, (fixed, ent, p) in ae_rows.items():
        reach = [q for q in jpeg if jpeg[q]["psnr_db"] >= p]
        q = min(reach) if reach else None
        rows.append({"method": f"conv AE, {label}", "fixed_bits": fixed, "entropy_bits": ent, "psnr_db": p,
                     "jpeg_quality": q, "jpeg_psnr_db": jpeg[q]["psnr_db"] if q else None,
                     "jpeg_file_bits": jpeg[q]["file_bits"] if q else None,
                     "jpeg_scan_bits": jpeg[q]["scan_bits"] if q else None})
    result = {"data": ib.DATA, "recipe": f"recipes/{RECIPE}.yaml", "train": train, "code_size": dims,
              "decoder_parameters": decoder_params, "decoder_bits_float32": 32 * decoder_params,
              "metric": "bits per image (mean over the 2,000 test images) and PSNR in dB of the decoded 8-bit image, "
                        "10 log10(1 / MSE) per image, mean",
              "png": {"file_bits": float(8 * png_sizes.mean()), "psnr_db": "lossless (infinite)"},
              "raw_bits": 8 * test8[0].size, "jpeg_by_quality": jpeg, "rows": rows, "environment": ib.environment()}
    result["total_seconds"] = round(time.perf_counter() - t0, 1)
    ib.write_json(Path(args.out), result)

    def bits(v):
        return "—" if v is None else f"{v:,.0f}"

    table_rows = [[r["method"], bits(r["fixed_bits"]), bits(r["entropy_bits"]), f"{r['psnr_db']:.2f}",
                   r["jpeg_quality"] or "—", bits(r["jpeg_file_bits"]), bits(r["jpeg_scan_bits"])] for r in rows]
    table_rows.append(["PNG (lossless)", bits(result["png"]["file_bits"]), "—", "∞", "—", "—", "—"])
    table_rows.append(["raw 8-bit pixels", bits(result["raw_bits"]), "—", "∞", "—", "—", "—"])
    table = ib.markdown(table_rows, ["method (2,000 test images)", "bits/image, fixed", "bits/image, entropy",
                                     "PSNR dB", "JPEG quality at equal PSNR", "JPEG bits/image, file",
                                     "JPEG bits/image, scan only"])
    Path(args.out).with_suffix(".md").write_text(table + "\n", encoding="utf-8")
    print(table)
    print(json.dumps({k: v for k, v in result.items() if k not in ("jpeg_by_quality", "environment")}, indent=2))


if __name__ == "__main__":
    main()
