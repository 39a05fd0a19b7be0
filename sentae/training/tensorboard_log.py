"""TensorBoard beyond scalars, written at each validation: the posterior means of validation sentences for the
embedding projector (with sentence and attribute metadata), a few prior samples and reconstructions as text, and
the run's hyperparameters once.

The payload is built from the text-model contract in ``sentae.model`` (``encode_stats``, ``generate``, ``sample``,
and for controllable models ``predict_attributes``/``full_code``): no model is named. Counts are bounded and the
work happens only at validation. A failure here never stops training: it is reported once as a warning and the
summaries are off for the rest of the run.

Tags follow one scheme, ``<split>/<metric>`` (``train/loss``, ``train/loss/main``, ``val/loss``, ``val/kl_dim/3``);
``metrics.jsonl`` keeps its keys (validation keys already carry ``val/``).
"""
from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path
from typing import Any, Mapping

import torch

from ..io import atomic_write_text
from ..model import has_latent, is_controllable, is_sentence_model
from ..run import PROJECTOR_CONFIG, PROJECTOR_DIR
from .devices import to_device

EMBED_SENTENCES = 500  # validation sentences in the projector (the first ones of the split, the same every time)
TEXT_EXAMPLES = 4  # prior samples and reconstructions shown as text
# PROJECTOR_CONFIG: what TensorBoard's projector reads in the log folder; PROJECTOR_DIR: one sub-folder per
# validation step holding tensors.tsv and metadata.tsv
PROJECTOR_FILES = ("tensors.tsv", "metadata.tsv")
EMBED_NAME = "val/posterior_mean"


def tag(split: str, key: str) -> str:
    """The TensorBoard tag of metric ``key`` logged for ``split``: always ``<split>/<key>``."""
    return key if key.startswith(f"{split}/") else f"{split}/{key}"


def flat_hparams(model, train_config: Mapping[str, Any]) -> dict[str, Any]:
    """The run's hyperparameters as flat ``section.field`` -> bool/int/float/str (what the HParams plugin takes)."""
    out: dict[str, Any] = {"model.type": getattr(model, "name", type(model).__name__)}

    def add(prefix: str, value: Any) -> None:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            value = dataclasses.asdict(value)
        if isinstance(value, Mapping):
            for k, v in value.items():
                add(f"{prefix}.{k}", v)
        elif isinstance(value, (bool, int, float, str)):
            out[prefix] = value
        else:  # None, lists: shown as text
            out[prefix] = str(value)

    add("model", getattr(model, "config", None) or {})
    add("train", dict(train_config))
    return out


def _clean(text: str) -> str:
    """One line without tabs: a projector metadata cell."""
    return " ".join(str(text).split()) or "(empty)"


def _md(text: str) -> str:
    """A markdown table cell for TensorBoard's text plugin."""
    return _clean(text).replace("|", "\\|")


@torch.no_grad()
def text_payload(model, data, sentences: int = EMBED_SENTENCES, examples: int = TEXT_EXAMPLES,
                 seed: int = 0) -> dict[str, Any]:
    """What the validation summaries show of a text model: posterior means of the first ``sentences`` validation
    sentences with their metadata (sentence, each attribute), ``examples`` greedy prior samples and reconstructions.
    Empty for a model that does not generate sentences or data without a tokenizer."""
    tokenizer = getattr(data, "tokenizer", None)
    if not is_sentence_model(model) or tokenizer is None or data.split_size("val") == 0:
        return {}
    device = next(model.parameters()).device
    g = torch.Generator(device=device).manual_seed(seed)
    attrs = dict(model.data_info.attributes)
    latent = has_latent(model)
    texts: list[str] = []
    labels: dict[str, list[str]] = {a: [] for a in attrs}
    mus, first = [], None
    indices = list(range(min(sentences, data.split_size("val"))))
    for start in range(0, len(indices), 256):
        batch = to_device(data.get_batch("val", indices[start : start + 256]), device)
        first = first or batch
        texts += [tokenizer.decode(row.tolist()) for row in batch["tokens"][:, 1:]]
        for name, values in attrs.items():
            ids = batch.get(f"attr_{name}")
            labels[name] += ["?" if ids is None or int(i) < 0 else values[int(i)]
                             for i in (ids.tolist() if ids is not None else [-1] * len(batch["tokens"]))]
        if latent:
            mus.append(model.encode_stats(batch["tokens"], batch["lengths"])[0].float().cpu())
    payload: dict[str, Any] = {"samples": [tokenizer.decode(row.tolist()) for row in model.sample(examples, g)]}
    if latent and mus:
        payload["embedding"] = torch.cat(mus)
        payload["metadata"] = [[_clean(t), *(labels[a][i] for a in attrs)] for i, t in enumerate(texts)]
        payload["metadata_header"] = ["sentence", *attrs]
        tokens, lengths = first["tokens"][:examples], first["lengths"][:examples]
        codes = model.encode_stats(tokens, lengths)[0]
        if is_controllable(model):
            codes = model.full_code(codes, model.predict_attributes(tokens, lengths))
        recon = model.generate(codes, len(codes), None, g)  # the contract's default decoding: greedy
        payload["reconstructions"] = list(zip(texts[: len(codes)], (tokenizer.decode(r.tolist()) for r in recon)))
    return payload


def write_projector(log_dir: Path, step: int, embedding: torch.Tensor, metadata: list[list[str]],
                    header: list[str]) -> None:
    """The embedding of ``step`` as TSV files under ``projector/<step>/`` and ``projector_config.pbtxt`` listing
    every step there, so the projector shows each validation (a resumed run keeps the earlier ones)."""
    folder = log_dir / PROJECTOR_DIR / f"{step:08d}"
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / "tensors.tsv", "".join("\t".join(f"{x:.6g}" for x in row) + "\n"
                                                       for row in embedding.tolist()))
    rows = [header, *metadata] if len(header) > 1 else [[r[0]] for r in metadata]  # one column: no header row
    atomic_write_text(folder / "metadata.tsv", "".join("\t".join(r) + "\n" for r in rows))
    write_projector_config(log_dir)


def write_projector_config(log_dir: Path) -> None:
    root = log_dir / PROJECTOR_DIR
    steps = sorted(p.name for p in root.iterdir() if p.is_dir() and p.name.isdigit()
                   and all((p / f).is_file() for f in PROJECTOR_FILES)) if root.is_dir() else []
    entries = [f'embeddings {{\n  tensor_name: "{EMBED_NAME}:{int(s)}"\n'
               f'  tensor_path: "{PROJECTOR_DIR}/{s}/tensors.tsv"\n'
               f'  metadata_path: "{PROJECTOR_DIR}/{s}/metadata.tsv"\n}}\n' for s in steps]
    if entries or (log_dir / PROJECTOR_CONFIG).exists():
        atomic_write_text(log_dir / PROJECTOR_CONFIG, "".join(entries))


def forget_projector_after(log_dir: Path, step: int) -> None:
    """Remove the embeddings of steps after ``step`` (a resumed run validates them again): only the files written
    here, and their folder when that leaves it empty."""
    root = log_dir / PROJECTOR_DIR
    if not root.is_dir():
        return
    for folder in root.iterdir():
        if folder.is_dir() and folder.name.isdigit() and int(folder.name) > step:
            for name in PROJECTOR_FILES:
                (folder / name).unlink(missing_ok=True)
            if not any(folder.iterdir()):
                folder.rmdir()
    write_projector_config(log_dir)


class ValidationSummaries:
    """Called with each validation's metrics; writes the projector embedding, text and (once) hparams."""

    def __init__(self, writer, log_dir: Path, model, data, hparams: Mapping[str, Any], seed: int = 0) -> None:
        self.writer, self.log_dir, self.model, self.data = writer, Path(log_dir), model, data
        self.hparams, self.seed = dict(hparams), seed
        self.hparams_written = False
        self.failed = False

    def __call__(self, step: int, metrics: Mapping[str, float]) -> None:
        if self.failed:
            return
        try:
            self._write(step, metrics)
        except Exception as exc:  # summaries are a view of training, never a reason to stop it
            self.failed = True
            warnings.warn(f"TensorBoard validation summaries failed at step {step} and are off for the rest of this "
                          f"run ({type(exc).__name__}: {exc}); metrics.jsonl and the scalars are unaffected",
                          RuntimeWarning, stacklevel=2)

    def _write(self, step: int, metrics: Mapping[str, float]) -> None:
        if not self.hparams_written:
            self._write_hparams(metrics)
        model = self.model
        was_training = model.training
        model.eval()
        device = next(model.parameters()).device
        try:
            # a fixed seed inside fork_rng: the training RNG stream is untouched, the samples comparable over steps
            with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
                torch.manual_seed(self.seed)
                payload = text_payload(model, self.data, seed=self.seed)
        finally:
            model.train(was_training)
        if "embedding" in payload:
            write_projector(self.log_dir, step, payload["embedding"], payload["metadata"], payload["metadata_header"])
        if payload.get("samples"):
            rows = "\n".join(f"| {i + 1} | {_md(s)} |" for i, s in enumerate(payload["samples"]))
            self.writer.add_text("val/samples", f"greedy from the prior\n\n| # | sample |\n|---|---|\n{rows}", step)
        if payload.get("reconstructions"):
            rows = "\n".join(f"| {_md(a)} | {_md(b)} |" for a, b in payload["reconstructions"])
            self.writer.add_text("val/reconstructions",
                                 f"greedy from the posterior mean\n\n| input | reconstruction |\n|---|---|\n{rows}", step)

    def _write_hparams(self, metrics: Mapping[str, float]) -> None:
        from torch.utils.tensorboard.summary import hparams

        shown = {k: float(v) for k, v in metrics.items() if k.count("/") == 1}  # per-dimension values stay out
        for summary in hparams(self.hparams, shown):
            self.writer.file_writer.add_summary(summary)
        self.hparams_written = True
