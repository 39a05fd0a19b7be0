"""Fluency of generated sentences, judged by language models.

``lm_perplexity`` scores sentences under a trained language model (an ``rnn_lm`` run): low perplexity means the
sentences look like the LM's training corpus. ``reverse_perplexity`` goes the other way (Zhao et al. 2018): it trains
a fresh LM on the generated sentences and scores *real* held-out sentences with it, so a generator that produces
fluent but repetitive text (a collapsed mode) is penalised, which forward perplexity cannot see.

All log-likelihoods are in nats. Per-word numbers divide by the predicted tokens (words and eos), as
``sentae eval`` does. Words outside the LM's vocabulary are scored as ``<unk>``, one shared and usually probable
token, which lowers perplexity artificially: every report gives their count.
"""
from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any, Sequence

import torch

from ..errors import SentaeError
from ..io import atomic_write_text
from ..model import has_latent, is_sentence_model
from ..registry import REGISTRY
from ..run import RunFolder

ROLE = "language_model"  # the model role reverse_perplexity trains (SentaeModel.roles)


@torch.no_grad()
def lm_perplexity(lm_run: str | Path, texts: Sequence[str], batch_size: int = 64,
                  device: str | torch.device = "cpu") -> dict[str, Any]:
    """Perplexity of ``texts`` under the language model of run folder ``lm_run``, tokenised with that run's
    tokenizer; blank texts are skipped. Sentences are not truncated.

    >>> lm_perplexity("runs/yelp_lm", ["the food was great ."])["ppl_per_word"]  # doctest: +SKIP
    """
    from ..data.text import frame

    run = RunFolder(lm_run)
    model = run.load_model(device)
    if not is_sentence_model(model):
        raise SentaeError(f"{lm_run}: model '{model.name}' is not a language model (no sentence_nll)")
    if has_latent(model):
        raise SentaeError(f"{lm_run}: model '{model.name}' has a latent code, so its likelihood is only a bound; "
                          f"use an rnn_lm run (or `sentae eval` for importance-weighted bounds)")
    tok = run.load_tokenizer()
    info = model.data_info
    ids = [tok.encode(t) for t in texts if t.split()]
    if not ids:
        raise SentaeError("lm_perplexity: no sentences to score (all blank)")
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    nll = 0.0
    for start in range(0, len(order), batch_size):
        batch = frame([ids[i] for i in order[start : start + batch_size]], info, device)
        nll += float(model.sentence_nll(batch["tokens"], batch["lengths"], None).sum())
    tokens = sum(len(x) for x in ids)
    unk = sum(x.count(info.unk_id) for x in ids)
    words = sum(len(t.split()) for t in texts if t.split())
    predicted = tokens + len(ids)  # every token and each sentence's eos
    return {
        "lm_run": str(lm_run),
        "sentences": len(ids),
        "words": words,
        "tokens": tokens,
        "unk_tokens": unk,
        "unk_rate": unk / tokens if tokens else 0.0,
        "nats_per_sentence": nll / len(ids),
        "nats_per_word": nll / predicted,
        "ppl_per_word": math.exp(nll / predicted),
    }


def reverse_perplexity(samples: Sequence[str], real_test_texts: Sequence[str], *, lm_config: dict[str, Any] | None = None,
                       max_steps: int = 2000, max_time_s: float | None = None, batch_size: int = 32, lr: float = 1e-3,
                       val_fraction: float = 0.05, overrides: Sequence[str] = (), out: str | Path | None = None,
                       seed: int = 0, device: str = "cpu") -> dict[str, Any]:
    """Train a language model (the installed model serving as ``language_model``: ``rnn_lm`` of sentae-text) on
    generated ``samples`` and report the perplexity of ``real_test_texts`` under it.

    ``lm_config``: fields of that model (default: embedding 128, hidden 256). A share ``val_fraction`` of
    the samples is held out for validation. ``out``: keep the LM run there (default: a temporary folder, removed).
    The LM's vocabulary comes from the samples only, so real words the generator never produced are ``<unk>``;
    the report counts them (``unk_rate``), and reverse perplexities are comparable only between generators scored
    against the same real texts with the same LM settings and budget.

    >>> rev = reverse_perplexity(generated, real_test, max_steps=3000)  # doctest: +SKIP
    >>> rev["reverse_ppl_per_word"], rev["unk_rate"]                    # doctest: +SKIP
    """
    from ..training.recipe import train_recipe

    samples = [" ".join(s.split()) for s in samples if s.split()]
    real = [" ".join(s.split()) for s in real_test_texts if s.split()]
    if len(samples) < 2:
        raise SentaeError(f"reverse_perplexity: {len(samples)} non-blank generated sentence(s); at least 2 are needed")
    if not real:
        raise SentaeError("reverse_perplexity: no real test sentences (all blank)")
    with tempfile.TemporaryDirectory(prefix="sentae_revppl_") as tmp:
        folder = Path(tmp)
        # Plain text, one sentence a line, named by the text source's train/test options: the real sentences are
        # the run's test split, never seen by the tokenizer or the LM.
        (folder / "generated.txt").write_text("\n".join(samples) + "\n", encoding="utf-8")
        (folder / "real.txt").write_text("\n".join(real) + "\n", encoding="utf-8")
        recipe = {
            "name": "reverse_ppl_lm",
            "model": {"type": REGISTRY.for_role(ROLE), "embedding_size": 128, "hidden_size": 256, **(lm_config or {})},
            "data": {"source": "text", "path": str(folder), "val_fraction": val_fraction, "split_seed": seed,
                     "options": {"train": "generated.txt", "test": "real.txt", "format": "text"}},
            "train": {"max_steps": max_steps, "max_time_s": max_time_s, "batch_size": batch_size, "lr": lr,
                      "seed": seed, "device": device, "eval_every": 0, "ckpt_every": 0, "progress": "none"},
        }
        run_dir = Path(out) if out is not None else folder / "lm"
        run = train_recipe(recipe, overrides, out=run_dir)
        scored = lm_perplexity(run.path, real, device=device)
        report = {
            "reverse_ppl_per_word": scored["ppl_per_word"],
            "nats_per_word": scored["nats_per_word"],
            "nats_per_sentence": scored["nats_per_sentence"],
            "real_sentences": scored["sentences"],
            "generated_sentences": len(samples),
            "unk_tokens": scored["unk_tokens"],
            "unk_rate": scored["unk_rate"],
            "lm_vocab_size": _vocab_size(run.path),
            "lm_steps": run.result.steps,
            "lm_run": str(run.path) if out is not None else None,
        }
        if out is not None:
            atomic_write_text(run.path / "reverse_ppl.json", json.dumps(report, indent=2))
    return report


def _vocab_size(run_dir: Path) -> int:
    return int(RunFolder(run_dir).read_data_info().vocab_size)
