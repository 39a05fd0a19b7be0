"""``report/`` of a text run, written by ``sentae eval``: a latent map of test sentences coloured by attribute, KL and
active units per dimension and over training, an interpolation, reconstructions, the attribute grid of a
controllable model and prior samples, tied together by ``index.md`` and a static ``index.html``.

Every number and table is computed without matplotlib; only the PNG figures need it (``pip install
'sentae[plots]'``), and without it the report says so in one line.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..io import atomic_write_text
from ..model import has_latent, is_controllable
from ..run import METRICS, REPORT, RunFolder
from . import text_figures as figs
from .report_pages import Section, render_html, render_markdown
from .subsets import subset_indices

MAP_SENTENCES = 2000  # at most this many sentences are encoded for the map and the per-dimension statistics
RECON_ROWS = 10  # reconstruction table rows
GRID_PER_CELL = 3  # greedy samples per cell of the attribute grid
INTERP_T = (0.0, 0.25, 0.5, 0.75, 1.0)
TRAINING_ROWS = 30  # validations shown in the table of metrics over training (evenly spaced, the last included)
DELTA = 0.01  # the active-unit threshold, as sentae eval uses it
UMAP_MIN = 20  # fewer sentences give UMAP too few neighbours to mean anything
NO_PLOTS = "figures skipped: matplotlib is not installed (pip install 'sentae[plots]' to draw them)"


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The records of a run's ``metrics.jsonl`` (lines that are not JSON objects with a step are skipped)."""
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and isinstance(record.get("step"), int):
            records.append(record)
    return records


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _fmt(value: float) -> str:
    return f"{value:.4g}"


@torch.no_grad()
def _encode_split(sampler, data, split: str, indices: list[int], batch_size: int) -> dict[str, Any]:
    """Posterior means (and log-variances), the sentences as the model sees them, and each attribute's labels."""
    model, device = sampler.model, sampler.device
    attrs = data.info.attributes
    mus, logvars, texts = [], [], []
    labels: dict[str, list[str]] = {a: [] for a in attrs}
    for start in range(0, len(indices), batch_size):
        batch = {k: v.to(device) for k, v in data.get_batch(split, indices[start : start + batch_size]).items()}
        texts += sampler.to_text(batch["tokens"][:, 1:])
        for name, values in attrs.items():
            ids = batch.get(f"attr_{name}")
            labels[name] += [figs.UNLABELLED if ids is None or int(i) < 0 else values[int(i)]
                             for i in (ids.tolist() if ids is not None else [-1] * len(batch["tokens"]))]
        if has_latent(model):
            mu, logvar = model.encode_stats(batch["tokens"], batch["lengths"])
            mus.append(mu.float().cpu())
            if logvar is not None:
                logvars.append(logvar.float().cpu())
    out: dict[str, Any] = {"texts": texts, "labels": {a: v for a, v in labels.items() if set(v) != {figs.UNLABELLED}}}
    if mus:
        out["mu"] = torch.cat(mus).numpy()
        out["logvar"] = torch.cat(logvars).numpy() if logvars else None
    return out


def _pick_pair(texts: list[str], labels: dict[str, list[str]]) -> tuple[int, int] | None:
    """Two different sentences to interpolate between; with labels, preferably of different values of the first
    attribute (the path then crosses it)."""
    others = [j for j in range(1, len(texts)) if texts[j] != texts[0]]
    if not others:
        return None
    if labels:
        first = next(iter(labels.values()))
        crossing = [j for j in others if figs.UNLABELLED not in (first[0], first[j]) and first[j] != first[0]]
        if crossing:
            return 0, crossing[0]
    return 0, others[0]


def _latent_sections(sampler, enc: dict[str, Any], out: Path, draw: bool, split: str, seed: int,
                     payload: dict[str, Any]) -> list[Section]:
    model = sampler.model
    mu, logvar, labels, n = enc["mu"], enc["logvar"], enc["labels"], len(enc["texts"])
    where = f"{n} {split} sentences"
    sections = []
    xy, share = figs.pca_2d(mu)
    axis = [f"PC{i + 1} ({100 * s:.0f}% of the variance)" for i, s in enumerate(share)]
    coloured = ", ".join(labels) or "nothing (the data has no attribute labels)"
    about = (f"PCA of the posterior means of {where} ({mu.shape[1]}-d), one panel per attribute; coloured by "
             f"{coloured}.")
    names = []
    if draw:
        orders = model.data_info.attributes
        names.append(figs.latent_map(xy, labels, out / "latent_map.png", axis, f"{model.name}: posterior means, "
                                     f"{where}", orders).name)
    note = "" if figs.have_umap() else "UMAP is drawn too when umap-learn is installed (pip install umap-learn)."
    if draw and figs.have_umap():
        if n < UMAP_MIN:
            note = f"no UMAP: it needs at least {UMAP_MIN} sentences"
        else:
            try:
                xy_umap = figs.umap_2d(mu, seed)
            except Exception as exc:  # an optional view: its failure leaves the PCA map and every number
                note = f"UMAP failed ({type(exc).__name__}: {exc}); the PCA map is complete"
            else:
                names.append(figs.latent_map(xy_umap, labels, out / "latent_map_umap.png", ["UMAP 1", "UMAP 2"],
                                             f"{model.name}: UMAP of the posterior means", orders).name)
    sections.append(Section("Latent map", about, names, note=note if draw else ""))
    payload["pca_variance_share"] = share

    var = mu.var(0, ddof=1) if n > 1 else np.zeros(mu.shape[1])
    kl = None if logvar is None else (0.5 * (mu ** 2 + np.exp(logvar) - 1 - logvar)).mean(0)
    active = int((var > DELTA).sum())
    header = ["dimension", *(["KL, nats per sentence"] if kl is not None else []), "Var of the posterior mean",
              f"active (Var > {DELTA:g})"]
    rows = [[str(d), *([_fmt(kl[d])] if kl is not None else []), _fmt(var[d]), "yes" if var[d] > DELTA else "no"]
            for d in range(mu.shape[1])]
    about = (("KL(q(z_d|x) || N(0, 1)) and " if kl is not None else "")
             + f"the variance over sentences of each dimension's posterior mean, over {where}: {active} of "
             f"{mu.shape[1]} dimensions active.")
    names = [figs.kl_per_dimension(kl, var, DELTA, out / "kl_per_dimension.png", f"{model.name}, {where}").name] \
        if draw else []
    sections.append(Section("KL per dimension", about, names, header, rows,
                            note="" if kl is not None else "a deterministic encoder: no KL, only the code's variance"))
    payload.update(kl_per_dimension=None if kl is None else [float(v) for v in kl],
                   variance_of_mean=[float(v) for v in var], active_units=active)
    return sections


def _training_section(run: RunFolder, out: Path, draw: bool, model_name: str) -> Section:
    records = read_metrics(run.file(METRICS))
    val = [r for r in records if r.get("split") == "val"]
    series: dict[str, tuple[list[int], list[float]]] = {}
    for name, split in (("kl", "train"), ("val/kl", "val"), ("val/mi", "val"), ("val/active_units", "val")):
        points = [(r["step"], _number(r.get(name))) for r in records if r.get("split") == split]
        points = [(s, v) for s, v in points if v is not None]
        if points:
            series[name if split == "val" else "train/kl"] = ([s for s, _ in points], [v for _, v in points])
    dims = sorted({int(k.rsplit("/", 1)[1]) for r in val for k in r if k.startswith("val/kl_dim/")
                   and k.rsplit("/", 1)[1].isdigit()})
    kl_dims = None
    if dims:
        with_dims = [r for r in val if f"val/kl_dim/{dims[0]}" in r]
        grid = np.array([[_number(r.get(f"val/kl_dim/{d}")) or 0.0 for d in dims] for r in with_dims])
        kl_dims = ([r["step"] for r in with_dims], grid)
    keys = [k for k in dict.fromkeys(k for r in val for k in r) if k.startswith("val/") and k.count("/") == 1]
    shown = val if len(val) <= TRAINING_ROWS else [val[round(i * (len(val) - 1) / (TRAINING_ROWS - 1))]
                                                   for i in range(TRAINING_ROWS)]
    rows = [[str(r["step"]), *(_fmt(v) if (v := _number(r.get(k))) is not None else "-" for k in keys)]
            for r in shown]
    about = (f"validation metrics from {METRICS} ({len(val)} validations"
             + (f", {len(shown)} shown" if len(shown) < len(val) else "") + "); the figure: KL and active units "
             "against the optimizer step (a KL that falls to 0 with no active unit left is posterior collapse).")
    names = []
    if draw and (series or kl_dims):
        path = figs.training_curves(series, kl_dims, out / "training.png", f"{model_name}: collapse diagnostics")
        names = [path.name] if path else []
    note = "" if val else f"{METRICS} holds no validation records"
    return Section("Over training", about, names, ["step", *keys], rows, note=note)


def write_text_report(run_dir: str | Path, sampler, data, report: dict[str, Any], text: str, *, split: str,
                      max_sentences: int | None, subset_seed: int, batch_size: int, seed: int,
                      figures: bool = True) -> dict[str, Any]:
    """Write ``RUN/report/`` for a text run from the report of ``evaluate_text_run`` (``text``: its printed table).
    Returns ``{"files": [...], "note": ...}``; the note says why figures are missing (else None)."""
    run = RunFolder(run_dir)
    out = run.file(REPORT)
    out.mkdir(parents=True, exist_ok=True)
    model = sampler.model
    draw = figures and figs.have_matplotlib()
    note = None if draw or not figures else NO_PLOTS
    payload: dict[str, Any] = {"model": model.name, "split": split}
    sections = [Section("Metrics", "the numbers of `sentae eval`, each with its unit, split and sample count "
                        "(the same as the printed table and `--json`).", preformatted=text)]
    size = min(MAP_SENTENCES, max_sentences or MAP_SENTENCES)
    indices = subset_indices(data.split_size(split), size, subset_seed)
    enc = _encode_split(sampler, data, split, indices, batch_size)
    texts, labels = enc["texts"], enc["labels"]
    payload["sentences"] = len(texts)
    if "mu" in enc:
        sections += _latent_sections(sampler, enc, out, draw, split, seed, payload)
    else:
        sections.append(Section("Latent map", "posterior means of test sentences in 2-d.",
                                note=f"model '{model.name}' has no latent code (a language model): no latent map, "
                                     "KL per dimension, interpolation or reconstruction applies."))
    sections.append(_training_section(run, out, draw, model.name))

    if "mu" in enc:
        pair = _pick_pair(texts, labels)
        if pair is not None:
            a, b = texts[pair[0]], texts[pair[1]]
            path = sampler.interpolate(a, b, steps=len(INTERP_T), method="linear", strategy="greedy")
            rows = [[f"{t:g}", s] for t, s in zip(INTERP_T, path)]
            sections.append(Section("Interpolation", f"greedy decodes of (1 - t) z_a + t z_b between the codes of two "
                                    f"{split} sentences; t = 0 and t = 1 reconstruct them.", header=["t", "sentence"],
                                    rows=[["a", a], ["b", b], *rows]))
            payload["interpolation"] = {"a": a, "b": b, "path": [{"t": t, "sentence": s} for t, s in zip(INTERP_T, path)]}
        import sacrebleu

        refs = texts[:RECON_ROWS]
        hyps = sampler.reconstruct(refs, strategy="greedy")
        bleu = [float(sacrebleu.sentence_bleu(h, [r], tokenize="none").score) for h, r in zip(hyps, refs)]
        sections.append(Section("Reconstructions", f"the first {len(refs)} {split} sentences (as the model reads "
                                "them) and their greedy reconstructions from the posterior mean, with sentence BLEU "
                                "(sacrebleu, 0-100, smoothed).", header=["input", "reconstruction", "BLEU"],
                                rows=[[r, h, f"{s:.1f}"] for r, h, s in zip(refs, hyps, bleu)]))
        payload["reconstructions"] = [{"input": r, "reconstruction": h, "bleu": s} for r, h, s in zip(refs, hyps, bleu)]
    if is_controllable(model):
        grid = sampler.sample_grid(GRID_PER_CELL, seed=seed, cell_seed_stride=0, strategy="greedy")
        sections.append(Section("Attribute grid", f"{GRID_PER_CELL} greedy samples per combination of attribute "
                                "values; column j uses the same z ~ N(0, I) in every row, so a column shows one "
                                "content under each attribute code.",
                                header=["attributes", *(f"z{j + 1}" for j in range(GRID_PER_CELL))],
                                rows=[[", ".join(f"{k}={v}" for k, v in cell.items()), *s] for cell, s in grid]))
        payload["attribute_grid"] = [{"attributes": cell, "samples": s} for cell, s in grid]
    prior = report.get("examples", {}).get("prior_samples", [])
    if prior:
        sections.append(Section("Prior samples", f"the first {len(prior)} of the {report['prior_samples']} prior "
                                f"samples behind distinct-n ({report['prior_decoding']} decoding).",
                                header=["sample"], rows=[[s] for s in prior]))

    title = f"Evaluation of {model.name}"
    intro = [f"Run {run.path}, {report['where']}."] + ([note] if note else [])
    written = [out / name for s in sections for name in s.figures]
    payload["figures"] = [p.name for p in written]
    written += [atomic_write_text(out / "index.md", render_markdown(title, intro, sections)),
                atomic_write_text(out / "index.html", render_html(title, intro, sections)),
                atomic_write_text(out / "text_report.json", json.dumps(payload, indent=2))]
    return {"files": [str(p) for p in written], "note": note}
