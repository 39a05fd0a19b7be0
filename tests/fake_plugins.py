"""Fake plugin distributions for registry and CLI tests: ``NAME-VERSION.dist-info`` folders and plugin modules
written to a temp dir and put on ``sys.path``, which ``importlib.metadata`` reads exactly like installed packages.
The ``fake`` fixture (conftest.py) hands out a ``FakeDists``."""
from __future__ import annotations

import importlib
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

TINY_MODEL = '''
from dataclasses import dataclass

import torch
from torch import nn

from sentae import DataInfo, SentaeModel, StepOutput


@dataclass
class TinyConfig:
    hidden_size: int = 13  # hidden units of the one layer
    latent_size: int = 7  # dimensions of the code


class Tiny(SentaeModel):
    """A tiny fake model for registry tests."""

    name = "{name}"
    modality = "{modality}"
    config_class = TinyConfig
    paper = "Nobody 2024, A Tiny Model"
    {api_line}

    def __init__(self, config, data_info):
        super().__init__(config, data_info)
        self.enc = nn.Linear(5, config.hidden_size)
        self.code = nn.Linear(config.hidden_size, config.latent_size)

    @classmethod
    def default_data_info(cls):
        return DataInfo(modality="image", image_shape=(1, 1, 5))

    def example_batch(self, batch_size, generator):
        return {{"image": torch.rand(batch_size, 1, 1, 5, generator=generator)}}

    def training_step(self, batch, ctx):
        return StepOutput(self.code(self.enc(batch["image"].flatten(1))).pow(2).mean())
'''


def tiny_model_source(name: str, api: int | None = 1, modality: str = "image") -> str:
    api_line = f"sentae_api = {api}" if api is not None else "# no sentae_api on purpose"
    return TINY_MODEL.format(name=name, api_line=api_line, modality=modality)


class FakeDists:
    """Writes fake distributions (dist-info + plugin modules) and puts their folders on sys.path."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.tmp_path = tmp_path
        self.monkeypatch = monkeypatch
        self.prefix = f"sentae_fake_{uuid.uuid4().hex[:8]}_"
        self.modules: list[str] = []
        self.roots: set[Path] = set()

    def module(self, stem: str, source: str, root: str = "site") -> str:
        """Write a plugin module and return its (unique) import name."""
        mod = self.prefix + stem
        folder = self._root(root)
        (folder / f"{mod}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        self.modules.append(mod)
        return mod

    def dist(self, name: str, version: str, entry_points: dict[str, str], root: str = "site") -> Path:
        """Write ``name-version.dist-info`` with METADATA and a ``[sentae.models]`` entry_points.txt."""
        folder = self._root(root)
        info = folder / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
        )
        lines = ["[sentae.models]"] + [f"{k} = {v}" for k, v in entry_points.items()]
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        return info

    def _root(self, root: str) -> Path:
        folder = self.tmp_path / root
        folder.mkdir(exist_ok=True)
        return folder

    def activate(self) -> list[Path]:
        """Prepend every written folder to sys.path (call after writing everything)."""
        for folder in sorted(self.roots | {p for p in self.tmp_path.iterdir() if p.is_dir()}):
            self.monkeypatch.syspath_prepend(str(folder))
        importlib.invalidate_caches()
        return sorted(p for p in self.tmp_path.iterdir() if p.is_dir())

    def cleanup(self) -> None:
        for mod in self.modules:
            sys.modules.pop(mod, None)


def good_plugin(fake: FakeDists, model: str = "tiny_ae", dist: str = "sentae-fake-good", version: str = "1.2.3",
                stem: str = "good") -> str:
    """Write a working one-model distribution; return its module name."""
    mod = fake.module(stem, tiny_model_source(model))
    fake.dist(dist, version, {model: f"{mod}:Tiny"})
    return mod
