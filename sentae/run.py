"""The run folder: its layout and every read and write of it. Everything else asks this module.

A run folder is what ``sentae train`` writes and what ``load``, ``eval``, ``sample`` and the benchmarks read::

    config.yaml         the resolved recipe, with the versions it was trained with
    data_info.json      the data shape the model was built for
    model.json          the model description: registered name, config, data shape
    config.json         what Hugging Face Hub tooling reads: model_type, architectures, sentae's description
    model.safetensors   the final (or best) weights
    tokenizer.json      text runs: the tokenizer, a standard `tokenizers` file (sentae.data.tokenizer_files), with
                        sentae_tokenizer.json, tokenizer_config.json and, for unigram, spiece.model beside it
    README.md           the model card (sentae.evaluation.model_card), written by `push` and `save_pretrained`
    trainer_state.pt    the trainer state of the last checkpoint (weights-only torch file)
    best.safetensors    with early stopping: the best weights so far
    checkpoints/step-NNNNNNNN/   model.safetensors + trainer_state.pt
    metrics.jsonl  events/       training logs (JSON lines, TensorBoard)
    report/             what `sentae eval` writes
    .sentae-run         the marker: this folder was made by sentae (what it wrote, it may delete)
    .sentae-lock        held (flock) by the one process writing the run

A folder written by ``save_pretrained`` holds the loadable part of this layout (model.json, config.json, weights,
the tokenizer files, the model card); what a push uploads is ``sentae.evaluation.publish.shareable_files``.
"""
from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .data.examples import EXAMPLES_FILE  # train(data=...)'s corpus, written into the run
from .data.tokenizer_files import TOKENIZER_FILES
from .errors import CheckpointError, SentaeError
from .io import TMP_MARK, atomic_write_text
from .model import DataInfo, SentaeModel
from .run_lock import RunLock
from .weights import load_weights, resolve_device, save_weights

CONFIG = "config.yaml"
DATA_INFO = "data_info.json"
MODEL_SPEC = "model.json"
HUB_CONFIG = "config.json"
CARD = "README.md"
WEIGHTS = "model.safetensors"
BEST_WEIGHTS = "best.safetensors"
TRAINER_STATE = "trainer_state.pt"
TOKENIZER = "tokenizer.json"
CHECKPOINTS = "checkpoints"
METRICS = "metrics.jsonl"
EVENTS = "events"
REPORT = "report"
MARKER = ".sentae-run"
LOCK = ".sentae-lock"

# Only exact names are checkpoints: a user's `step-00000100.bak` or `step-zzz` is neither listed nor deleted.
CHECKPOINT_NAME = re.compile(r"step-(\d{8})")

# What a run writes before its first checkpoint. A folder holding only these is a run that failed while starting
# (no weights were saved), and a new run may take its place.
SETUP_FILES = frozenset({CONFIG, DATA_INFO, MODEL_SPEC, HUB_CONFIG, *TOKENIZER_FILES, METRICS, EVENTS,
                         EXAMPLES_FILE})
TENSORBOARD_FILE = re.compile(r"events\.out\.tfevents\..+")  # what TensorBoard's writer names its files
PROJECTOR_CONFIG, PROJECTOR_DIR = "projector_config.pbtxt", "projector"  # the embedding projector's, in events/


CARD_MARK = "<!-- sentae:model-card"  # the line that marks a README.md as sentae's (it rewrites only those)


def hub_config(spec: dict[str, Any]) -> dict[str, Any]:
    """config.json's content for a model.json ``spec``: the keys Hub tooling reads, sentae's version and the
    distribution and version of the plugin that provides the model."""
    from .registry import REGISTRY
    from .version import __version__

    try:
        entry = REGISTRY.entry(spec["type"])
        plugin = {"distribution": entry.distribution, "distribution_version": entry.version}
    except SentaeError:  # not installed here: the config is still written, without the plugin's name
        plugin = {}
    return {"model_type": spec["type"], "architectures": [spec["type"]], "library_name": "sentae",
            "sentae": {"version": __version__, **plugin, "spec_file": MODEL_SPEC, "weights": WEIGHTS, **spec}}


def checkpoint_name(step: int) -> str:
    """The folder name of the checkpoint after ``step`` optimizer steps."""
    return f"step-{step:08d}"


@dataclass(frozen=True)
class RunFolder:
    """One run (or ``save_pretrained``) folder.

    >>> run = RunFolder("runs/quickstart")             # doctest: +SKIP
    >>> run.modality(), run.read_config()["name"]      # doctest: +SKIP
    ('text', 'quickstart')
    >>> model = run.load_model()                       # doctest: +SKIP
    """

    path: Path

    def __init__(self, path: str | Path) -> None:
        object.__setattr__(self, "path", Path(path))

    def __fspath__(self) -> str:
        return str(self.path)

    def __str__(self) -> str:
        return str(self.path)

    def file(self, name: str) -> Path:
        return self.path / name

    # -- the resolved recipe ---------------------------------------------------------------------------------
    def read_config(self) -> dict[str, Any]:
        """The resolved recipe as plain data (``{}`` sections filled in by the recipe layer when it was written)."""
        import yaml

        cfg_file = self.file(CONFIG)
        if not cfg_file.is_file():
            raise CheckpointError(f"{self.path}: no {CONFIG}, so the recipe it was trained with is unknown")
        try:
            raw = yaml.safe_load(cfg_file.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            from .config import yaml_problem

            raise CheckpointError(f"{cfg_file}: not valid YAML ({yaml_problem(exc)})") from None
        except (UnicodeDecodeError, OSError) as exc:
            raise CheckpointError(f"{cfg_file}: cannot be read ({exc})") from None
        if not isinstance(raw, dict):
            raise CheckpointError(f"{cfg_file}: expected a mapping of recipe sections")
        return raw

    def write_config(self, resolved: dict[str, Any]) -> Path:
        import yaml

        return atomic_write_text(self.file(CONFIG), yaml.safe_dump(resolved, sort_keys=False, default_flow_style=False))

    def data_config(self):
        """The ``data`` section of the resolved recipe as a validated ``DataConfig``."""
        from .data.config import DataConfig
        from .schema import from_dict

        raw = self.read_config()
        return from_dict(DataConfig, raw.get("data") or {}, str(self.file(CONFIG)), "data.")

    # -- the model -------------------------------------------------------------------------------------------
    def read_spec(self) -> dict[str, Any]:
        """model.json: ``{"type": ..., "config": {...}, "data_info": {...}}``."""
        spec_file = self.file(MODEL_SPEC)
        if not spec_file.is_file():
            raise CheckpointError(f"{self.path} is not a run folder: {MODEL_SPEC} is missing")
        try:
            spec = json.loads(spec_file.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CheckpointError(f"{spec_file}: corrupt JSON ({exc})") from None
        if not isinstance(spec, dict) or not {"type", "config", "data_info"} <= set(spec):
            raise CheckpointError(f"{spec_file}: expected the keys type, config and data_info")
        for key, kind, what in (("type", str, "a string"), ("config", dict, "a mapping"),
                                ("data_info", dict, "a mapping")):
            if not isinstance(spec[key], kind):
                raise CheckpointError(f"{spec_file}: '{key}' must be {what}, got {type(spec[key]).__name__}")
        return spec

    def write_spec(self, model: SentaeModel) -> Path:
        """model.json: the model's description and, for a text run, which tokenizer it reads (its fingerprint
        and size), so that a tokenizer.json that does not belong to the model is refused when loaded."""
        spec = model.describe()
        if self.has_tokenizer():
            tok = self.load_tokenizer(check=False)
            spec["tokenizer"] = {"file": TOKENIZER, "sha256": tok.fingerprint(), "vocab_size": tok.vocab_size}
        path = atomic_write_text(self.file(MODEL_SPEC), json.dumps(spec, indent=2))
        self.write_hub_config(spec)
        return path

    def write_hub_config(self, spec: dict[str, Any] | None = None) -> Path | None:
        """config.json, for Hub tooling (``model_type``, ``architectures``) with sentae's description of the model
        (model.json stays what sentae reads). A config.json that sentae did not write is left as it is (None)."""
        target = self.file(HUB_CONFIG)
        if target.exists() and not self.wrote(HUB_CONFIG):
            return None
        return atomic_write_text(target, json.dumps(hub_config(spec or self.read_spec()), indent=2) + "\n")

    def wrote(self, name: str) -> bool:
        """Whether the file ``name`` here is one sentae wrote: config.json says so in its ``library_name``, the
        model card in its marker line; any other name counts as sentae's in a folder sentae made."""
        path = self.file(name)
        if not path.is_file():
            return False
        try:
            if name == HUB_CONFIG:
                doc = json.loads(path.read_text(encoding="utf-8"))
                return isinstance(doc, dict) and doc.get("library_name") == "sentae" and isinstance(doc.get("sentae"), dict)
            if name == CARD:
                return CARD_MARK in path.read_text(encoding="utf-8")[:4096]
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return False
        return self.is_sentae_run()

    def modality(self) -> str | None:
        """'text' or 'image', read from model.json without building the model; None when it cannot be read."""
        try:
            return self.read_spec()["data_info"].get("modality")
        except (SentaeError, AttributeError):
            return None

    def load_model(self, device: str | torch.device = "cpu", weights: str = WEIGHTS) -> SentaeModel:
        """The model described by model.json with the weights of ``weights`` (default: the final ones), in eval
        mode on ``device``."""
        from .registry import REGISTRY

        device = resolve_device(device)  # first: a missing GPU is named as such, not as a broken run
        spec = self.read_spec()
        try:
            info = DataInfo.from_dict(spec["data_info"])
            model = REGISTRY.create(spec["type"], info, **spec["config"])
        except (SentaeError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{self.file(MODEL_SPEC)}: {exc}") from None
        load_weights(model, self.file(weights), device)
        model.to(device)
        model.eval()
        return model

    def save_model(self, model: SentaeModel, tokenizer=None) -> None:
        """model.json, model.safetensors and (for a text model) tokenizer.json: what ``load_model`` and
        ``load_tokenizer`` read."""
        self.path.mkdir(parents=True, exist_ok=True)
        if tokenizer is not None:
            self.save_tokenizer(tokenizer)
        self.write_spec(model)
        save_weights(model, self.file(WEIGHTS))

    def check_export_target(self, extra: tuple[str, ...] | list[str] = ()) -> None:
        """Before ``save_pretrained`` writes here: a folder sentae did not make must hold none of the files it
        would write (a config.json or README.md of yours is left alone instead). Nothing is written."""
        if not self.path.exists() or self.is_sentae_run():
            return
        if not self.path.is_dir():
            raise SentaeError(f"{self.path} exists and is not a folder (nothing was written)")
        clash = [n for n in (MODEL_SPEC, WEIGHTS, *TOKENIZER_FILES, *extra) if self.file(n).exists()]
        if clash:
            raise SentaeError(f"{self.path} was not made by sentae (no {MARKER}) and holds {', '.join(clash)}: sentae "
                              f"does not overwrite files it did not write; choose another folder (nothing was written)")

    # -- data ------------------------------------------------------------------------------------------------
    def load_tokenizer(self, check: bool = True):
        """The run's tokenizer; with ``check``, refused unless it is the one the model was trained with (its
        fingerprint recorded in model.json, or at least the model's vocabulary size)."""
        from .data.tokenizers import load_tokenizer

        if not self.has_tokenizer():
            raise CheckpointError(f"{self.path}: {TOKENIZER} is missing; a text model cannot read or write text "
                                  f"without the tokenizer it was trained with")
        tok = load_tokenizer(self.file(TOKENIZER))
        if check and self.file(MODEL_SPEC).is_file():
            spec = self.read_spec()
            recorded = spec.get("tokenizer") or {}
            vocab = spec["data_info"].get("vocab_size")
            if recorded.get("sha256") and recorded["sha256"] != tok.fingerprint():
                raise CheckpointError(f"{self.file(TOKENIZER)} is not the tokenizer model.json was trained with "
                                      f"(fingerprint {tok.fingerprint()[:12]}, recorded {recorded['sha256'][:12]})")
            if vocab is not None and tok.vocab_size != vocab:
                raise CheckpointError(f"{self.file(TOKENIZER)} has {tok.vocab_size} tokens, the model was built for "
                                      f"{vocab}: it is not the run's tokenizer")
        return tok

    def has_tokenizer(self) -> bool:
        return self.file(TOKENIZER).is_file()

    def save_tokenizer(self, tokenizer) -> Path:
        target = self.file(TOKENIZER)
        tokenizer.save(target)
        return target

    def write_data_setup(self, data) -> None:
        """What the data leaves in a run: the data shape and, for text, the tokenizer."""
        atomic_write_text(self.file(DATA_INFO), json.dumps(data.info.to_dict(), indent=2))
        tokenizer = getattr(data, "tokenizer", None)  # image data has none
        if tokenizer is not None:
            self.save_tokenizer(tokenizer)

    def restore_tokenizer(self, data) -> None:
        """On resume: the tokenizer of the rebuilt data must be the run's; a deleted tokenizer.json is written
        back from it (when model.json's fingerprint confirms it)."""
        tokenizer = getattr(data, "tokenizer", None)
        if tokenizer is None:
            return
        recorded = (self.read_spec().get("tokenizer") or {}).get("sha256") if self.file(MODEL_SPEC).is_file() else None
        if self.has_tokenizer():
            saved = self.load_tokenizer(check=False)
            if saved.fingerprint() != tokenizer.fingerprint():
                raise CheckpointError(f"--resume: the data rebuilt from the recipe gives another tokenizer than "
                                      f"{self.file(TOKENIZER)} (has the corpus changed?)")
            return
        if recorded is not None and recorded != tokenizer.fingerprint():
            raise CheckpointError(f"--resume: {TOKENIZER} is missing and the data rebuilt from the recipe gives another "
                                  f"tokenizer than the one model.json records (has the corpus changed?)")
        self.save_tokenizer(tokenizer)

    def read_data_info(self) -> DataInfo:
        info_file = self.file(DATA_INFO)
        if info_file.is_file():
            try:
                return DataInfo.from_dict(json.loads(info_file.read_text(encoding="utf-8")))
            except (json.JSONDecodeError, UnicodeDecodeError, TypeError) as exc:
                raise CheckpointError(f"{info_file}: corrupt JSON ({exc})") from None
        return DataInfo.from_dict(self.read_spec()["data_info"])

    def rebuild_data(self, data_info: DataInfo | None = None):
        """The run's data, rebuilt from its resolved recipe, checked against what the model was trained on: a text
        run's tokenizer must equal the saved one, an image run's image shape the model's."""
        from .data import build_data
        from .data.token_cache import expect_tokenizer
        from .errors import DataError

        info = data_info or self.read_data_info()
        saved = self.load_tokenizer() if info.modality == "text" or self.has_tokenizer() else None
        # With the saved tokenizer expected, a token-cache entry made with it is read and no tokenizer is trained;
        # without one (cache cleared, corpus touched) the corpus is read and its tokenizer trained and compared.
        with expect_tokenizer(saved):
            data = build_data(self.data_config())
        if saved is not None:
            rebuilt = getattr(data, "tokenizer", None)
            if rebuilt is None or rebuilt.fingerprint() != saved.fingerprint():
                raise DataError(f"{self.path}: the data rebuilt from {CONFIG} gives another tokenizer than the saved "
                                f"one (has the corpus changed?)")
        elif info.image_shape is not None and tuple(data.info.image_shape or ()) != tuple(info.image_shape):
            raise DataError(f"{self.path}: the data rebuilt from {CONFIG} has images of shape {data.info.image_shape}, "
                            f"the model was trained on {tuple(info.image_shape)} (has the data changed?)")
        return data

    # -- checkpoints -----------------------------------------------------------------------------------------
    def checkpoints(self) -> list[Path]:
        """Complete checkpoints, oldest first. Temporary folders of interrupted writes and anything not named
        exactly ``step-NNNNNNNN`` are not checkpoints."""
        root = self.file(CHECKPOINTS)
        if not root.is_dir():
            return []
        found = [p for p in root.iterdir() if p.is_dir() and CHECKPOINT_NAME.fullmatch(p.name)]
        return sorted(found, key=lambda p: int(CHECKPOINT_NAME.fullmatch(p.name).group(1)))

    def checkpoint(self, step: int) -> Path:
        return self.file(CHECKPOINTS) / checkpoint_name(step)

    # -- one writer ----------------------------------------------------------------------------------------
    def lock(self) -> RunLock:
        """Take the run folder's writer lock (creating the folder if needed); a second writer is refused with the
        PID of the one that holds it. Released on ``release()``, at exit, or by the OS if the process dies."""
        return RunLock.acquire(self.path, self.file(LOCK))

    def is_sentae_run(self) -> bool:
        """Whether sentae made this folder (its marker file is there)."""
        return self.file(MARKER).is_file()

    def write_marker(self) -> None:
        if not self.is_sentae_run():
            from .version import __version__

            atomic_write_text(self.file(MARKER), json.dumps({"written_by": "sentae", "version": __version__}) + "\n")

    def remove_interrupted_writes(self) -> list[Path]:
        """Delete the temporary files and folders that interrupted atomic writes left (hidden names holding
        ``.tmp-``, in the folder and in checkpoints/); only in a folder sentae made. Returns what went."""
        if not self.is_sentae_run():
            return []
        gone = []
        for folder in (self.path, self.file(CHECKPOINTS)):
            if not folder.is_dir():
                continue
            for p in folder.iterdir():
                if p.name.startswith(".") and TMP_MARK in p.name:
                    shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
                    gone.append(p)
        return gone
