"""The model card: the ``README.md`` of a run folder that the Hugging Face Hub shows as the model's page.

YAML front matter (``library_name: sentae``, tags, datasets, license), then what the model is, the recipe it was
trained with, the ``sentae eval`` numbers with their units, how to load it, and the versions of sentae and of the
plugin. sentae writes a card only where no README.md is, or over one it wrote itself (the marker line below the
front matter says so); a README.md of yours is never overwritten.

>>> text = model_card("runs/quickstart", repo_id="me/quickstart")  # doctest: +SKIP
>>> write_model_card("runs/quickstart")                             # doctest: +SKIP
PosixPath('runs/quickstart/README.md')
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import SentaeError
from ..run import CARD, CARD_MARK, CONFIG, REPORT, RunFolder

EVAL_REPORT = f"{REPORT}/eval.json"  # where a card looks for a report of `sentae eval --json` by default
# Data sources that name a Hub dataset (``data.options.hf_dataset``) unless it is a local file format.
LOCAL_FORMATS = {"json", "csv", "text", "parquet", "arrow", "pandas"}


def model_card(run_dir: str | Path, eval_report: dict[str, Any] | str | Path | None = None,
               repo_id: str | None = None, license: str | None = None) -> str:
    """The card's text for the run (or ``save_pretrained``) folder ``run_dir``. ``eval_report``: a report from
    ``sentae.evaluate`` or the JSON file ``sentae eval --json`` wrote (default: ``RUN/report/eval.json`` when there
    is one); ``repo_id``: the repository the snippets load from; ``license``: the card's license field (default
    ``unknown``: the weights' license depends on the data they were trained on)."""
    from ..version import __version__

    run = RunFolder(run_dir)
    spec = run.read_spec()
    recipe = run.read_config() if run.file(CONFIG).is_file() else {}
    report = _report(run, eval_report)
    name, modality = spec["type"], spec["data_info"].get("modality") or "unknown"
    about = _about(name)
    versions = dict(recipe.get("versions") or {})
    versions.setdefault("sentae", __version__)
    if about.get("distribution") and about["distribution"] not in versions:
        versions[about["distribution"]] = about.get("version", "?")
    front = {"library_name": "sentae", "license": license or "unknown",
             "tags": ["sentae", "autoencoder", modality, name], **_datasets(recipe)}
    lines = ["---", _yaml(front).rstrip(), "---",
             f"{CARD_MARK} v1: written by sentae {__version__}; sentae rewrites this file on `sentae push` and "
             f"`save_pretrained` while this line is here: delete the line to keep your own edits -->", "",
             f"# {recipe.get('name') or Path(run.path).resolve().name}", "",
             *_what(spec, about, run), "", "## Recipe", ""]
    shown = {k: v for k, v in recipe.items() if k != "versions"}
    lines += (["The resolved recipe (`config.yaml`), every default filled in:", "", "```yaml", _yaml(shown).rstrip(),
               "```"] if shown else ["No recipe recorded (`config.yaml` is absent: an exported model)."])
    lines += ["", "## Evaluation", "", *_evaluation(report), "", "## How to load", "", *_loading(repo_id, run, modality),
              "", "## Versions", "", "| package | version |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in versions.items()]
    return "\n".join(lines) + "\n"


def write_model_card(run_dir: str | Path, eval_report: dict[str, Any] | str | Path | None = None,
                     repo_id: str | None = None, license: str | None = None) -> Path | None:
    """Write ``README.md`` in ``run_dir`` (atomically) unless a README.md that sentae did not write is there, which
    is left as it is (None is returned)."""
    from ..io import atomic_write_text

    run = RunFolder(run_dir)
    if run.file(CARD).exists() and not run.wrote(CARD):
        return None
    return atomic_write_text(run.file(CARD), model_card(run_dir, eval_report, repo_id, license))


def _report(run: RunFolder, given: dict[str, Any] | str | Path | None) -> dict[str, Any] | None:
    if isinstance(given, dict):
        return given
    path = Path(given) if given is not None else run.file(EVAL_REPORT)
    if given is None and not path.is_file():
        return None
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SentaeError(f"{path}: cannot read the evaluation report ({exc})") from None
    if not isinstance(report, dict) or not isinstance(report.get("metrics"), dict):
        raise SentaeError(f"{path}: not a report of `sentae eval --json` (no 'metrics' mapping)")
    return report


def _about(name: str) -> dict[str, Any]:
    """What the registry says about the model; a plugin that is not installed here leaves it empty."""
    from ..registry import REGISTRY

    try:
        return REGISTRY.describe(name)
    except SentaeError:
        return {}


def _datasets(recipe: dict[str, Any]) -> dict[str, list[str]]:
    data = recipe.get("data") or {}
    name = (data.get("options") or {}).get("hf_dataset") if data.get("source") == "hf" else None
    return {"datasets": [name]} if isinstance(name, str) and name not in LOCAL_FORMATS else {}


def _what(spec: dict[str, Any], about: dict[str, Any], run: RunFolder) -> list[str]:
    info, name = spec["data_info"], spec["type"]
    origin = f" from `{about['distribution']}` {about.get('version', '')}".rstrip() if about.get("distribution") else ""
    out = [f"`{name}`{origin}, a model trained with sentae (autoencoders, sentences first)"
           f"{': ' + about['summary'] if about.get('summary') else '.'}"]
    if about.get("paper"):
        out.append(f"Paper: {about['paper']}.")
    if info.get("modality") == "text":
        tok = spec.get("tokenizer") or {}
        kind = _tokenizer_kind(run)
        out += ["", f"Text: vocabulary of {info.get('vocab_size')} tokens ({kind} tokenizer, {tok.get('file', 'tokenizer.json')}: "
                    f"a standard `tokenizers` file), sentences up to {info.get('max_length')} tokens with bos and eos."]
        if info.get("attributes"):
            out.append("Attributes: " + "; ".join(f"{a} ({', '.join(v)})" for a, v in info["attributes"].items()) + ".")
    elif info.get("image_shape"):
        out += ["", f"Images of shape {tuple(info['image_shape'])} (channels, height, width)."]
    config = ", ".join(f"{k}={v}" for k, v in spec["config"].items() if not isinstance(v, (dict, list)))
    return out + ["", f"Model config: {config}." if config else "Model config: the defaults."]


def _tokenizer_kind(run: RunFolder) -> str:
    try:
        return run.load_tokenizer(check=False).kind
    except SentaeError:
        return "unknown"


def _evaluation(report: dict[str, Any] | None) -> list[str]:
    if report is None:
        return ["Not evaluated yet. Run `sentae eval RUN --json RUN/report/eval.json` and push again to show the "
                "held-out numbers here."]
    from .runs import format_run_report

    try:
        table = format_run_report(report)
    except (KeyError, TypeError, ValueError):  # a report of another version: its metrics as they are
        table = "\n".join(f"{k}: {v}" for k, v in report["metrics"].items())
    return ["`sentae eval` on the held-out split (every row names its metric and unit):", "", "```text", table, "```"]


def _loading(repo_id: str | None, run: RunFolder, modality: str) -> list[str]:
    where = repo_id or str(run.path)
    use = ("sampler.sample(5, seed=0)                 # five sentences from the prior" if modality == "text"
           else "sampler.sample(4, seed=0).shape          # four images from the prior")
    out = ["```python", "import sentae", "", f"sampler = sentae.load({where!r})  # a Sampler, on the CPU", use, "```"]
    if repo_id:
        out += ["", f"`sentae.load(\"hf://{repo_id}@REVISION\")` pins a revision; with `HF_HUB_OFFLINE=1` it reads the "
                    f"local Hugging Face cache only. `hf download {repo_id} --local-dir DIR` gives a folder "
                    f"that the `sentae` commands take as RUN."]
    return out


def _yaml(data: Any) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True)
