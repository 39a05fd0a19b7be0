"""Evaluating a run folder, whatever it holds: the one entry point behind ``sentae.evaluate`` and ``sentae eval``."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import SentaeError
from ..run import RunFolder


def evaluate_run(run_dir: str | Path, split: str = "test", *, iw_samples: int = 500, max_sentences: int | None = None,
                 max_images: int | None = None, subset_seed: int = 0, prior_samples: int = 1000,
                 batch_size: int = 50, seed: int = 0, device: str = "cpu", figures: bool = True,
                 precision: str = "fp32") -> dict[str, Any]:
    """Evaluate a text or image run on ``split``; the report's ``modality`` says which metrics it holds.

    Text: ``iw_samples`` importance samples per sentence, ``max_sentences`` a fixed subset (``subset_seed``),
    ``prior_samples`` for distinct-n. Image: ``max_images`` a fixed subset. ``figures``: write ``RUN/report/``
    (figures, tables, for text runs ``index.md`` and ``index.html``). ``batch_size``: examples per forward pass.
    ``precision``: ``bf16`` decodes a text model's importance samples under bf16 autocast (faster where the
    hardware has bf16; the IW-NLL moves by about 1e-4 of its value, everything else is fp32's)."""
    from ..data.base import canonical_split
    from ..weights import resolve_device
    from .run_eval import check_eval_arguments

    split = canonical_split(split)  # "dev" and "validation" are the val split
    device = str(resolve_device(device))  # "auto": cuda where there is one
    check_eval_arguments(iw_samples=iw_samples, max_sentences=max_sentences, max_images=max_images,
                         prior_samples=prior_samples, batch_size=batch_size, subset_seed=subset_seed, seed=seed,
                         precision=precision)
    run = RunFolder(run_dir)
    modality = run.modality()
    if modality is None:
        run.read_spec()  # raises the error that says what is wrong with the folder
        raise SentaeError(f"{run.path}: model.json does not say whether the model is a text or an image model")
    if modality == "image":
        from .images import evaluate_image_run

        if precision != "fp32":
            raise SentaeError(f"{run.path}: precision '{precision}' applies to text runs; image runs are evaluated "
                              f"in fp32")

        subset = max_images if max_images is not None else max_sentences
        report = evaluate_image_run(run.path, split=split, max_images=subset, subset_seed=subset_seed,
                                    batch_size=batch_size, device=device, figures=figures)
    else:
        from .run_eval import evaluate_text_run

        report = evaluate_text_run(run.path, split=split, iw_samples=iw_samples, max_sentences=max_sentences,
                                   subset_seed=subset_seed, prior_samples=prior_samples, batch_size=batch_size,
                                   seed=seed, device=device, figures=figures, precision=precision)
    report["modality"] = modality
    return report


def format_run_report(report: dict[str, Any]) -> str:
    """The readable table of a report from ``evaluate_run``."""
    report_dir = Path(report.get("run", ".")) / "report"
    if report.get("modality") == "image":
        from .images import format_image_report

        text, where = format_image_report(report), f"figures and summary: {report_dir}"
    else:
        from .run_eval import format_report

        text, where = format_report(report), f"report: {report_dir / 'index.md'} (and index.html)"
    if report.get("report_files"):
        text += f"\n{where}"
    if report.get("report_note"):  # e.g. figures skipped without matplotlib
        text += f"\n{report['report_note']}"
    return text
