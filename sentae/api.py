"""The Python API: everything the CLI does, callable from Python. A façade over run folders, training,
generation and evaluation; it holds no logic of its own."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import torch

from .config import Recipe
from .model import DataInfo, SentaeModel
from . import registry as _registry
from .registry import ModelEntry
from .run import RunFolder
from .training.recipe import TrainedRun, train_recipe, versions


class Run(TrainedRun):
    """What ``sentae.train`` returns: the run folder, the recipe and the Trainer's result; ``load()`` gives its
    Sampler."""

    def load(self, device: str | torch.device = "cpu"):
        return load(self.path, device)


__all__ = ["Run", "create_model", "evaluate", "format_report", "list_models", "load", "load_model", "model_info",
           "push_to_hub", "resolve_run", "save_pretrained", "train", "versions", "write_model_card"]
__all__ += ["denoise", "encode", "score"]  # the applications: anomaly scores, denoising, features

# What a load reads from a Hub repository (a pushed run's checkpoints, logs and reports are not downloaded).
LOAD_PATTERNS = ("model.json", "config.json", "model.safetensors", "config.yaml", "data_info.json", "README.md",
                 "tokenizer.json", "sentae_tokenizer.json", "tokenizer_config.json", "spiece.model")


def list_models(pattern: str | None = None, modality: str | None = None) -> list[ModelEntry]:
    """Registered models, by name. With ``modality`` the plugins are imported to read it.

    >>> [e.name for e in list_models("template*")]  # doctest: +SKIP
    ['mlp_vae']
    """
    return _registry.REGISTRY.entries(pattern, modality=modality)  # read at call time: tests swap it


def model_info(name: str) -> dict[str, Any]:
    """What ``sentae info NAME`` shows: origin, modality, summary, paper and every config field (nested
    settings flattened to ``a.b``) with its type, default and help.

    >>> [f["field"] for f in model_info("mlp_vae")["fields"]][:2]  # doctest: +SKIP
    ['latent_size', 'hidden_size']
    """
    return _registry.REGISTRY.describe(name)


def create_model(name: str, data_info: DataInfo | None = None, **overrides: Any) -> SentaeModel:
    """Build a registered model with its default config, updated by keyword overrides (validated).

    >>> model = create_model("mlp_vae", latent_size=5)  # doctest: +SKIP
    """
    return _registry.REGISTRY.create(name, data_info=data_info, **overrides)


def train(
    recipe: str | Path | dict[str, Any] | Recipe,
    overrides: Sequence[str] = (),
    out: str | Path | None = None,
    resume: bool = False,
    data: Any = None,
) -> Run:
    """Train the model a recipe describes and write a run folder; returns the ``Run``. ``data``: the corpus from
    Python instead of the recipe's ``data.source``/``data.path``: a list of sentences, a list of rows (a
    ``text`` column and attribute columns) or a ``datasets.Dataset``; it is saved in the run folder
    (``train_data.jsonl``) and the recipe's ``data`` section names it, so the run rebuilds its data later.

    >>> run = train("recipes/mlp_vae_digits.yaml", ["train.max_steps=20"], out="runs/demo")  # doctest: +SKIP
    >>> sampler = run.load()                                                               # doctest: +SKIP
    >>> rows = [{"text": "the soup was cold .", "sentiment": "negative"}, ...]              # doctest: +SKIP
    >>> train({"model": {"type": "rnn_vae"}}, out="runs/mine", data=rows)                    # doctest: +SKIP
    """
    trained = train_recipe(recipe, overrides, out=out, resume=resume, data=data)
    return Run(trained.path, trained.recipe, trained.result)


def load_model(run_dir: str | Path, device: str | torch.device = "cpu", *, revision: str | None = None,
               local_files_only: bool | None = None, cache_dir: str | Path | None = None) -> SentaeModel:
    """The trained model of a run folder (or a ``save_pretrained`` folder, or a Hub repository as ``load`` takes
    it), in eval mode."""
    return RunFolder(resolve_run(run_dir, revision, local_files_only, cache_dir)).load_model(device)


def resolve_run(run_dir: str | Path, revision: str | None = None, local_files_only: bool | None = None,
                cache_dir: str | Path | None = None) -> Path:
    """The local folder ``run_dir`` names: a local path as it is; a Hub reference (``hf://user/repo[@rev]``, or
    ``user/repo`` where no such local path exists) as its snapshot in the Hub cache, downloaded if needed."""
    from .data.hub import download, parse_ref
    from .errors import SentaeError

    ref = parse_ref(run_dir)
    if ref is None:
        if revision is not None:
            raise SentaeError(f"{run_dir}: revision={revision!r} is for Hub repositories; this is a local folder")
        return Path(run_dir)
    repo_id, pinned = ref
    if pinned and revision and pinned != revision:
        raise SentaeError(f"{run_dir}: revision {pinned!r} in the reference and revision={revision!r} differ")
    return download(repo_id, pinned or revision, local_files_only=local_files_only, cache_dir=cache_dir,
                    allow_patterns=LOAD_PATTERNS, what=str(run_dir))


def save_pretrained(model: SentaeModel | Any, folder: str | Path, tokenizer: Any = None, *,
                    license: str | None = None) -> Path:
    """Write a folder that ``load`` reads and the Hub shows: model.json, config.json, model.safetensors, for a text
    model the tokenizer files, the run's recipe (config.yaml, data_info.json) when the model comes from a run, and
    a model card (README.md). ``model`` may be a model, a Sampler from ``load`` (its tokenizer and run come with
    it) or a run folder's path. A folder that sentae did not make is refused if a file there would be
    overwritten; a README.md or config.json of yours is left as it is.

    >>> save_pretrained(sentae.load("runs/quickstart"), "exported/quickstart")  # doctest: +SKIP
    >>> save_pretrained("runs/quickstart", "exported/quickstart")               # doctest: +SKIP
    """
    from .errors import SentaeError
    from .evaluation.model_card import write_model_card as write_card
    from .io import atomic_copy
    from .run import CONFIG, DATA_INFO

    source = None
    if isinstance(model, (str, Path)):
        source = RunFolder(resolve_run(model))
        model, tokenizer = source.load_model(), tokenizer or (source.load_tokenizer() if source.has_tokenizer() else None)
    elif getattr(model, "run_dir", None) is not None:  # a Sampler from load: its run holds the recipe
        source = RunFolder(model.run_dir)
    tokenizer = tokenizer if tokenizer is not None else getattr(model, "tokenizer", None)
    model = getattr(model, "model", model)  # a Sampler holds its model
    if model.data_info.modality == "text" and tokenizer is None:
        raise SentaeError("save_pretrained: a text model needs its tokenizer (pass tokenizer=..., the Sampler that "
                          "sentae.load returned, or the run folder)")
    run = RunFolder(folder)
    copied = [n for n in (CONFIG, DATA_INFO) if source is not None and source.file(n).is_file()]
    run.check_export_target(copied)
    run.path.mkdir(parents=True, exist_ok=True)
    run.write_marker()
    run.save_model(model, tokenizer)
    for name in copied:
        if source.file(name).resolve() != run.file(name).resolve():
            atomic_copy(source.file(name), run.file(name))
    write_card(run.path, license=license)
    return run.path


def push_to_hub(run_dir: str | Path, repo_id: str, *, revision: str | None = None, private: bool | None = None,
                include_checkpoints: bool = False, dry_run: bool = False, eval_report: Any = None,
                license: str | None = None, message: str | None = None, token: str | None = None):
    """Upload a run folder to the Hugging Face Hub model repository ``repo_id`` (created if needed) on the branch
    ``revision`` (default main): the files sentae wrote there that a load and the Hub page need, with a fresh
    config.json and model card (``eval_report``: a report of ``evaluate`` or its JSON file, shown in the card).
    Checkpoints and trainer state only with ``include_checkpoints``; ``dry_run`` writes and sends nothing and lists
    the files. Returns a ``PushResult``. Authentication is huggingface_hub's (``hf auth login`` or ``HF_TOKEN``).

    >>> push_to_hub("runs/quickstart", "me/quickstart", dry_run=True).files  # doctest: +SKIP
    >>> sampler = sentae.load("me/quickstart")                                # doctest: +SKIP
    """
    from .evaluation.publish import push_run

    return push_run(run_dir, repo_id, revision=revision, private=private, checkpoints=include_checkpoints,
                    dry_run=dry_run, eval_report=eval_report, license=license, message=message, token=token)


def write_model_card(run_dir: str | Path, eval_report: Any = None, repo_id: str | None = None,
                     license: str | None = None) -> Path | None:
    """Write (or refresh) the model card README.md of a run folder; a README.md that sentae did not write is left
    as it is (None). ``eval_report``: a report of ``evaluate`` or the JSON file ``sentae eval --json`` wrote."""
    from .evaluation.model_card import write_model_card as write_card

    return write_card(run_dir, eval_report, repo_id, license)


def load(run_dir: str | Path, device: str | torch.device = "cpu", *, revision: str | None = None,
         local_files_only: bool | None = None, cache_dir: str | Path | None = None):
    """A ready Sampler for a run folder: a ``TextSampler`` (with the run's tokenizer) for text models.
    ``run_dir`` may name a Hub repository: ``hf://user/repo``, ``hf://user/repo@revision``, or ``user/repo`` when no
    such local path exists; it is read through the Hugging Face cache (``cache_dir``, else ``$HF_HUB_CACHE``), and
    ``local_files_only`` (default: ``$HF_HUB_OFFLINE``) reads that cache only, never the network.

    >>> sampler = load("runs/mlp_vae_digits")          # doctest: +SKIP
    >>> images = sampler.sample(4)                     # doctest: +SKIP
    >>> sampler = load("hf://me/quickstart@v1")        # doctest: +SKIP
    """
    from .generation.loading import load_sampler

    return load_sampler(resolve_run(run_dir, revision, local_files_only, cache_dir), device)


def evaluate(run_dir: str | Path, split: str = "test", **options: Any) -> dict[str, Any]:
    """Evaluate the model of a run folder on a held-out split, as ``sentae eval`` does; returns a JSON-ready
    report whose ``metrics`` name their units. Text runs: IW-NLL (``iw_samples`` K), perplexity, ELBO terms, KL,
    MI, active units, reconstruction BLEU, distinct-n of prior samples. Image runs: reconstruction error, the PCA
    baseline, a linear probe. Both write ``RUN/report/`` (figures and tables; for text ``index.md`` and
    ``index.html``) unless ``figures=False``; its files are listed under ``report_files``.

    >>> report = evaluate("runs/quickstart", iw_samples=50, max_sentences=200)  # doctest: +SKIP
    >>> report["metrics"]["iw_nll_nats_per_sentence"]                          # doctest: +SKIP
    >>> print(format_report(report))                                           # doctest: +SKIP
    """
    from .evaluation.runs import evaluate_run

    return evaluate_run(run_dir, split=split, **options)


def format_report(report: dict[str, Any]) -> str:
    """The readable table of a report from ``evaluate``: every row says what its number is."""
    from .evaluation.runs import format_run_report

    return format_run_report(report)


def score(run_dir: str | Path, inputs: Any, scores: Sequence[str] | None = None, *, iw_samples: int = 100,
          batch_size: int = 256, seed: int = 0, device: str | torch.device = "cpu") -> dict[str, Any]:
    """Anomaly scores (higher: less like the training data) of images or sentences under the model of a run, as
    ``sentae score`` gives them: reconstruction error, for VAEs the negative ELBO and IW-NLL, for AAEs the latent
    discriminator. See ``sentae.applications.score``.

    >>> result = score("runs/mnist_anomaly", "digits.npy")    # doctest: +SKIP
    >>> result["scores"]["sse"][:3]                           # doctest: +SKIP
    """
    from .applications import score as _score

    return _score(_local(run_dir), inputs, scores, iw_samples=iw_samples, batch_size=batch_size, seed=seed,
                  device=device)


def denoise(run_dir: str | Path, inputs: Any, *, batch_size: int = 256, device: str | torch.device = "cpu"):
    """(denoised images ``(N, C, H, W)`` in [0, 1], a name per image) of image inputs, as ``sentae denoise``.

    >>> clean, names = denoise("runs/mnist_denoise", "noisy.npy")   # doctest: +SKIP
    """
    from .applications import denoise as _denoise

    return _denoise(_local(run_dir), inputs, batch_size=batch_size, device=device)


def encode(run_dir: str | Path, inputs: Any, *, batch_size: int = 256, device: str | torch.device = "cpu"):
    """(codes ``(N, D)``, a name per input) of images or sentences (posterior means for VAEs), as ``sentae
    encode``.

    >>> codes, _ = encode("runs/conv_vae_mnist", "digits.npy")   # doctest: +SKIP
    """
    from .applications import encode as _encode

    return _encode(_local(run_dir), inputs, batch_size=batch_size, device=device)


def _local(run_dir: Any) -> Any:
    """A run folder's local path (a Hub reference downloaded into the cache); a Sampler is passed on as it is."""
    return run_dir if hasattr(run_dir, "model") else resolve_run(run_dir)
