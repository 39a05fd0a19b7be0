"""Generated word corpora and a private token-id cache, shared by the token-cache and streaming tests."""
from __future__ import annotations

import random
from pathlib import Path
from types import ModuleType

import pytest

from sentae.data import token_cache

WORDS = "the a cat dog sat ran on under mat rug quickly slowly big small red green will was is".split()


def sentences(n: int, seed: int = 0) -> list[str]:
    """``n`` sentences of 1-14 words drawn from WORDS, the same for the same seed."""
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 14))) for _ in range(n)]


def private_token_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunked: ModuleType, chunk: int) -> Path:
    """Point the token cache at ``tmp_path`` (switched on) and make ``chunked.CHUNK`` small, so that a few hundred
    sentences already span several chunks and the seams between them are exercised; the folder entries go to."""
    monkeypatch.setenv(token_cache.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(token_cache.SWITCH_ENV, raising=False)
    monkeypatch.setattr(chunked, "CHUNK", chunk)
    return tmp_path / "cache" / "tokens"
