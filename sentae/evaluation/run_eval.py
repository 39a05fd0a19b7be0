"""``sentae eval``: every text-VAE number for a run folder, each labelled with its unit, split and sample count."""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import torch

from ..errors import SentaeError
from ..generation.loading import load_sampler
from ..generation.text_sampler import SAMPLE_BATCH, check_count
from ..model import has_latent, is_controllable, is_sentence_model
from ..nn.latent import gaussian_kl
from ..nn.precision import check_product_precision
from ..run import RunFolder
from ..utils import Progress
from .subsets import subset_indices
from .text import active_units, corpus_bleu, distinct_n, iw_log_likelihood, mutual_information, uniqueness


def check_eval_arguments(*, iw_samples: int = 1, max_sentences: int | None = None, max_images: int | None = None,
                         prior_samples: int = 1, batch_size: int = 1, subset_seed: int = 0, seed: int = 0,
                         precision: str = "fp32") -> None:
    """One ``SentaeError`` for the first argument that makes no sense (a zero or negative subset would silently
    evaluate nothing or a slice; zero importance samples, no bound at all)."""
    check_product_precision(precision, "evaluation precision")
    check_count("iw_samples", iw_samples)
    check_count("prior_samples", prior_samples)
    check_count("batch_size", batch_size)
    for name, value in (("max_sentences", max_sentences), ("max_images", max_images)):
        if value is not None:
            check_count(name, value)
    check_count("subset_seed", subset_seed, 0)
    check_count("seed", seed, 0)


@torch.no_grad()
def evaluate_text_run(run_dir: str | Path, split: str = "test", iw_samples: int = 500, max_sentences: int | None = None,
                      subset_seed: int = 0, prior_samples: int = 1000, batch_size: int = 50, seed: int = 0,
                      device: str = "cpu", data=None, figures: bool = False, precision: str = "fp32") -> dict[str, Any]:
    """Evaluate a trained text model on a held-out split; returns a JSON-ready report. ``figures``: also write
    ``RUN/report/`` (``sentae.evaluation.text_report``; its files under ``report_files``). ``precision``: ``bf16``
    decodes the importance samples (K per sentence, nearly all of the work) under bf16 autocast, faster where the
    CPU or GPU has bf16; everything else runs in fp32, so only the IW-NLL and the perplexity can move, by about
    1e-4 of their value."""
    check_eval_arguments(iw_samples=iw_samples, max_sentences=max_sentences, prior_samples=prior_samples,
                         batch_size=batch_size, subset_seed=subset_seed, seed=seed, precision=precision)
    run_dir = Path(run_dir)
    sampler = load_sampler(run_dir, device)
    model = sampler.model
    if model.data_info.modality != "text":
        raise SentaeError(f"{run_dir}: `sentae eval` reports text metrics; model '{model.name}' is an image model")
    if not is_sentence_model(model):
        raise SentaeError(f"{run_dir}: model '{model.name}' does not model sentences (no likelihood to evaluate); "
                          f"a classifier run is scored by `sentae classifier predict`")
    data = data or RunFolder(run_dir).rebuild_data(model.data_info)
    if data.split_size(split) == 0:
        raise SentaeError(f"{run_dir}: the data has no '{split}' split (has: {', '.join(data.split_names())})")
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    g = torch.Generator(device=device).manual_seed(seed)
    idx = subset_indices(data.split_size(split), max_sentences, subset_seed)
    latent = has_latent(model)
    # Deterministic autoencoders (dae, aae) define no likelihood p(x): no IW-NLL, KL or MI, only -log p(x|z).
    stochastic = model.stochastic if latent else True
    logp_sum = tokens_sum = rec_sum = kl_sum = 0.0
    mus, logvars, refs, hyps = [], [], [], []
    bar = Progress(len(idx), f"eval {split} (K = {iw_samples})" if stochastic and latent else f"eval {split}",
                   "sentences")
    done = 0.0  # sentences' worth of work, fractional while the K samples of a batch are decoded

    def advance(sentences: float) -> None:
        nonlocal done
        before, done = int(done), done + sentences
        bar.update(int(done) - before)

    for start in range(0, len(idx), batch_size):
        size = min(batch_size, len(idx) - start)
        batch = {k: v.to(device) for k, v in data.get_batch(split, idx[start : start + batch_size]).items()}
        tokens, lengths = batch["tokens"], batch["lengths"]
        if stochastic:
            logp_sum += float(iw_log_likelihood(model, tokens, lengths, iw_samples, generator=g, precision=precision,
                                                on_chunk=lambda share: advance(share * size)).sum())
        tokens_sum += float((lengths - 1).sum())  # predicted tokens: words + eos
        if latent:
            mu, logvar = model.encode_stats(tokens, lengths)
            z = mu if logvar is None else mu + torch.randn(mu.shape, generator=g, device=device) * (0.5 * logvar).exp()
            rec_sum += float(model.sentence_nll(tokens, lengths, z).sum())
            if logvar is not None:
                kl_sum += float(gaussian_kl(mu, logvar).sum())
                logvars.append(logvar.float().cpu())
            mus.append(mu.float().cpu())
            refs += sampler.to_text(tokens[:, 1:])
            hyps += sampler.decode(mu, strategy="greedy")
        advance(start + size - done)  # the rest of the batch (all of it for a model with no K samples)
    bar.close()
    n = len(idx)
    where = f"{split} split, {n} sentences" + (f" (subset seed {subset_seed})" if n < data.split_size(split) else "")
    if precision != "fp32":
        where += f"; IW-NLL decoded in {precision} (autocast)"
    if is_controllable(model):
        # The likelihood of a controllable model is conditional: c is read from each sentence by its classifiers.
        where += "; likelihoods are p(x | c) with c from the model's own classifiers"
    metrics: dict[str, float] = {}
    if stochastic:
        metrics.update({
            "iw_nll_nats_per_sentence": -logp_sum / n,
            "ppl_per_word": math.exp(-logp_sum / tokens_sum),
        })
    if latent and stochastic:
        mu, logvar = torch.cat(mus), torch.cat(logvars)
        au, _ = active_units(mu)
        metrics.update({
            "elbo_nats_per_sentence": -(rec_sum + kl_sum) / n,
            "rec_nats_per_sentence": rec_sum / n,
            "kl_nats_per_sentence": kl_sum / n,
            "mi_nats": float(mutual_information(mu, logvar, generator=torch.Generator().manual_seed(seed))),
            "active_units": float(au),
            "recon_bleu_greedy_from_mean": corpus_bleu(hyps, refs),
        })
    elif latent:
        au, _ = active_units(torch.cat(mus))
        metrics.update({
            "rec_nats_per_sentence_at_code": rec_sum / n,
            "rec_nats_per_word_at_code": rec_sum / tokens_sum,
            "active_units": float(au),
            "recon_bleu_greedy_from_mean": corpus_bleu(hyps, refs),
        })
    strategy = "greedy" if latent else "sample"
    samples = []
    if latent:
        # the codes are drawn batch_size at a time (seed + j for the chunk starting at sentence j), as they always
        # were; greedy decoding does not depend on the batch, so they are decoded in the sampler's larger batches
        codes = sampler.prior_codes(prior_samples, seed, batch_size)
        for chunk in codes.split(SAMPLE_BATCH):
            samples += sampler.decode(chunk, strategy=strategy)
    else:
        for start in range(0, prior_samples, batch_size):
            samples += sampler.sample(min(batch_size, prior_samples - start), seed=seed + start, strategy=strategy)
    toks = [s.split() for s in samples]
    metrics.update({
        "prior_distinct_1": distinct_n(toks, 1),
        "prior_distinct_2": distinct_n(toks, 2),
        "prior_uniqueness": uniqueness(samples),
    })
    result = {
        "run": str(run_dir),
        "model": model.name,
        "split": split,
        "sentences": n,
        "subset_seed": subset_seed if n < data.split_size(split) else None,
        "iw_samples": iw_samples if latent and stochastic else None,
        "latent_size": model.latent_size if latent else 0,
        "active_unit_threshold": 0.01,
        "prior_samples": prior_samples,
        "prior_decoding": strategy,
        "precision": precision,
        "where": where,
        "metrics": metrics,
        "examples": {"prior_samples": samples[:5], "reconstructions": list(zip(refs[:5], hyps[:5]))},
        "seconds": round(time.perf_counter() - t0, 1),
    }
    if figures:
        from .text_report import write_text_report

        written = write_text_report(run_dir, sampler, data, result, format_report(result), split=split,
                                    max_sentences=max_sentences, subset_seed=subset_seed, batch_size=batch_size,
                                    seed=seed)
        result["report_files"] = written["files"]
        if written["note"]:
            result["report_note"] = written["note"]
    return result


UNITS = {
    "iw_nll_nats_per_sentence": "IW-NLL, nats/sentence (K={K})",
    "ppl_per_word": "perplexity per word (from IW-NLL)",
    "elbo_nats_per_sentence": "ELBO, nats/sentence",
    "rec_nats_per_sentence": "reconstruction, nats/sentence",
    "rec_nats_per_sentence_at_code": "-log p(x|z) at the code, nats/sentence",
    "rec_nats_per_word_at_code": "-log p(x|z) at the code, nats/word",
    "kl_nats_per_sentence": "KL, nats/sentence",
    "mi_nats": "mutual information I(x;z), nats",
    "active_units": "active units (of {D}, delta 0.01)",
    "recon_bleu_greedy_from_mean": "reconstruction BLEU (greedy from the code / posterior mean)",
    "prior_distinct_1": "distinct-1 of {S} prior samples ({dec})",
    "prior_distinct_2": "distinct-2 of {S} prior samples ({dec})",
    "prior_uniqueness": "unique share of {S} prior samples ({dec})",
}


def format_report(report: dict[str, Any]) -> str:
    """A readable table: every row says what the number is."""
    fill = {"K": report["iw_samples"] or "exact", "D": report["latent_size"], "S": report["prior_samples"],
            "dec": report["prior_decoding"]}
    rows = [(UNITS.get(k, k).format(**fill), f"{v:.4g}" if isinstance(v, float) else str(v))
            for k, v in report["metrics"].items()]
    width = max(len(r[0]) for r in rows)
    lines = [f"{report['model']} — {report['where']}"] + [f"  {a:<{width}}  {b}" for a, b in rows]
    return "\n".join(lines)
